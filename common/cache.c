/*
 * cache.c - hiredis wrapper (see cache.h).
 */
#include "cache.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

/* Most sentinels asked for the master. */
#define SENTINELS_MAX 16

struct sentinel {
	char host[256]; /* or a unix socket path (port 0) */
	int port;
};

struct cache {
	const config_t *cfg;
	redisContext *ctx;
	int unread;     /* replies of cache_send() not read yet */
	bool stale;     /* a READONLY reply: the master moved; reconnect */
	struct sentinel sentinels[SENTINELS_MAX];
	int nsentinels; /* 0: redis_socket or redis_host:redis_port */
	int first;      /* the sentinel that answered last is asked first */
	redisContext *sctx; /* open to sentinels[first] */
	char master[256];   /* the master ctx is connected to */
	int master_port;
	long long checked_ms; /* when a sentinel last confirmed it */
};

cache_t *cache_new(const config_t *cfg)
{
	cache_t *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->cfg = cfg;
	for (const char *p = cfg->redis_sentinels; p && *p && c->nsentinels < SENTINELS_MAX;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		struct sentinel *s = &c->sentinels[c->nsentinels];
		if (!config_redis_addr(p, len, s->host, sizeof(s->host), &s->port))
			c->nsentinels++;
		if (!comma)
			break;
		p = comma + 1;
	}
	return c;
}

static void drop(cache_t *c)
{
	if (c->ctx)
		redisFree(c->ctx);
	c->ctx = NULL;
	c->unread = 0;
	c->stale = false;
}

void cache_free(cache_t *c)
{
	if (!c)
		return;
	drop(c);
	if (c->sctx)
		redisFree(c->sctx);
	free(c);
}

/* Reads (and discards) the replies of earlier cache_send() calls, so that
 * the next reply read is the next command's. */
static void drain(cache_t *c)
{
	while (c->unread > 0) {
		void *r = NULL;
		if (redisGetReply(c->ctx, &r) != REDIS_OK) {
			log_warn("redis: %s", c->ctx->errstr);
			drop(c);
			return;
		}
		if (((redisReply *)r)->type == REDIS_REPLY_ERROR) {
			log_warn("redis: %s", ((redisReply *)r)->str);
			if (!strncmp(((redisReply *)r)->str, "READONLY", 8) ||
			    !strncmp(((redisReply *)r)->str, "NOREPLICAS", 10))
				c->stale = true;
		}
		freeReplyObject(r);
		c->unread--;
	}
	if (c->stale)
		drop(c);
}

/* Connection timeouts with sentinels: a request during a failover fails
 * fast (503) rather than waiting on an address that is gone. */
#define SENTINEL_CONNECT_MS 300
#define SENTINEL_CMD_MS 500
#define MASTER_CMD_MS 1000
/* How often a connection's master is checked with a sentinel. */
#define MASTER_RECHECK_MS 1000

/* "host:port", or the socket path, for messages. */
static const char *addr_str(char *buf, size_t n, const char *host, int port)
{
	if (port)
		snprintf(buf, n, "%s:%d", host, port);
	else
		snprintf(buf, n, "%s", host);
	return buf;
}

static redisContext *open_addr(const char *host, int port, int connect_ms, int cmd_ms)
{
	struct timeval tv = { connect_ms / 1000, (connect_ms % 1000) * 1000 };
	redisContext *ctx = port ? redisConnectWithTimeout(host, port, tv)
				 : redisConnectUnixWithTimeout(host, tv);
	if (!ctx || ctx->err) {
		if (ctx) {
			char b[300];
			log_warn("redis: %s: %s", addr_str(b, sizeof(b), host, port), ctx->errstr);
			redisFree(ctx);
		}
		return NULL;
	}
	struct timeval rw = { cmd_ms / 1000, (cmd_ms % 1000) * 1000 };
	redisSetTimeout(ctx, rw);
	return ctx;
}

/* AUTH with password when one is set (the password itself is never
 * logged); false, with ctx freed, if refused. */
static bool auth(redisContext **ctx, const char *password, const char *what)
{
	if (!password || !*password)
		return true;
	const char *argv[] = { "AUTH", password };
	redisReply *r = redisCommandArgv(*ctx, 2, argv, NULL);
	bool ok = r && r->type == REDIS_REPLY_STATUS;
	if (!ok)
		log_warn("redis: AUTH to the %s refused: %s", what,
			 r && r->type == REDIS_REPLY_ERROR ? r->str : (*ctx)->errstr);
	if (r)
		freeReplyObject(r);
	if (!ok) {
		redisFree(*ctx);
		*ctx = NULL;
	}
	return ok;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Asks sentinel at (over the open connection when it is that one) for the
 * master's address: into host and *port. */
static bool ask_sentinel(cache_t *c, int at, char *host, size_t hostlen, int *port)
{
	const struct sentinel *s = &c->sentinels[at];
	if (c->sctx && at != c->first) {
		redisFree(c->sctx);
		c->sctx = NULL;
	}
	if (!c->sctx) {
		c->sctx = open_addr(s->host, s->port, SENTINEL_CONNECT_MS, SENTINEL_CMD_MS);
		if (!c->sctx || !auth(&c->sctx, c->cfg->redis_sentinel_password, "sentinel"))
			return false;
		c->first = at;
	}
	const char *argv[] = { "SENTINEL", "get-master-addr-by-name", c->cfg->redis_master_name };
	redisReply *r = redisCommandArgv(c->sctx, 3, argv, NULL);
	bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
		  r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING;
	if (ok) {
		snprintf(host, hostlen, "%s", r->element[0]->str);
		*port = atoi(r->element[1]->str);
		ok = *port > 0 && *port <= 65535;
	} else {
		char b[300];
		log_warn("redis: sentinel %s does not know master %s: %s",
			 addr_str(b, sizeof(b), s->host, s->port), c->cfg->redis_master_name,
			 !r ? c->sctx->errstr : r->type == REDIS_REPLY_ERROR ? r->str : "no address");
	}
	if (r)
		freeReplyObject(r);
	if (!ok) {
		redisFree(c->sctx);
		c->sctx = NULL;
	}
	return ok;
}

/* True if ctx's server says ROLE master (a sentinel may name a master
 * that has just been demoted). */
static bool is_master(redisContext *ctx)
{
	redisReply *r = redisCommand(ctx, "ROLE");
	bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
		  r->element[0]->type == REDIS_REPLY_STRING && !strcmp(r->element[0]->str, "master");
	if (r)
		freeReplyObject(r);
	return ok;
}

/* Asks the sentinels in turn for the master, connects and checks it is
 * one. */
static redisContext *connect_via_sentinels(cache_t *c)
{
	int first = c->first;
	for (int i = 0; i < c->nsentinels; i++) {
		int at = (first + i) % c->nsentinels;
		char host[256];
		int port;
		if (!ask_sentinel(c, at, host, sizeof(host), &port))
			continue;
		redisContext *ctx = open_addr(host, port, SENTINEL_CONNECT_MS, MASTER_CMD_MS);
		if (!ctx || !auth(&ctx, c->cfg->redis_password, "master"))
			continue;
		if (!is_master(ctx)) {
			log_warn("redis: %s:%d, named by a sentinel, is not a master (yet)", host, port);
			redisFree(ctx);
			continue;
		}
		snprintf(c->master, sizeof(c->master), "%s", host);
		c->master_port = port;
		c->checked_ms = now_ms();
		return ctx;
	}
	return NULL;
}

/* Connected to a master a sentinel named: at most once a second, asks the
 * sentinel again and drops the connection when it names another (a
 * failover: the old master keeps taking writes until the sentinels demote
 * it, and those would be lost).  A sentinel that does not answer leaves
 * the connection as it is. */
static void recheck_master(cache_t *c)
{
	long long now = now_ms();
	if (!c->nsentinels || now - c->checked_ms < MASTER_RECHECK_MS)
		return;
	c->checked_ms = now;
	char host[256];
	int port;
	for (int i = 0; i < c->nsentinels; i++)
		if (ask_sentinel(c, (c->first + i) % c->nsentinels, host, sizeof(host), &port)) {
			if (port != c->master_port || strcmp(host, c->master)) {
				log_info("redis: the sentinels name a new master, %s:%d (was %s:%d)",
					 host, port, c->master, c->master_port);
				drop(c);
			}
			return;
		}
}

/* Connects if not connected; replies of cache_send() stay unread. */
static enum cache_status connected(cache_t *c)
{
	if (c->ctx)
		recheck_master(c);
	if (c->ctx)
		return CACHE_OK;
	redisContext *ctx;
	if (c->nsentinels)
		ctx = connect_via_sentinels(c);
	else if (c->cfg->redis_socket && *c->cfg->redis_socket)
		ctx = open_addr(c->cfg->redis_socket, 0, 1000, 2000);
	else
		ctx = open_addr(c->cfg->redis_host, c->cfg->redis_port, 1000, 2000);
	if (ctx && !c->nsentinels && !auth(&ctx, c->cfg->redis_password, "server"))
		ctx = NULL;
	if (!ctx)
		return CACHE_UNAVAILABLE;
	c->ctx = ctx;
	return CACHE_OK;
}

/* Connected, with no reply of cache_send() in the way of the next one. */
static enum cache_status ensure(cache_t *c)
{
	if (c->ctx && c->unread)
		drain(c);
	return connected(c);
}

/* Most replies cache_send() leaves unread before it reads them itself. */
#define SEND_UNREAD_MAX 32

static void reply_cleanup(void *p)
{
	freeReplyObject(p);
}

static enum cache_status check_reply(cache_t *c, arena_t *a, redisReply *r,
				     redisReply **out)
{
	if (!r) {
		log_warn("redis: %s", c->ctx ? c->ctx->errstr : "no connection");
		drop(c);
		return CACHE_UNAVAILABLE;
	}
	arena_defer(a, reply_cleanup, r);
	if (out)
		*out = r;
	if (r->type == REDIS_REPLY_ERROR) {
		log_warn("redis: %s", r->str);
		/* Written to a master that was demoted: not applied; the call
		 * is retried on the new master. */
		if (!strncmp(r->str, "READONLY", 8) || !strncmp(r->str, "NOREPLICAS", 10)) {
			c->stale = true;
			return CACHE_UNAVAILABLE;
		}
		return CACHE_ERROR;
	}
	return CACHE_OK;
}

/* After a call's replies were read: a stale connection is dropped. */
static enum cache_status settle(cache_t *c, enum cache_status st)
{
	if (c->stale)
		drop(c);
	return st;
}

/* After the command(s) of this call were appended: reads the replies of
 * earlier cache_send() calls first.  The first read flushes the new
 * command too, so the old replies and the new one come back in one round
 * trip instead of two.  False if the connection broke (dropped). */
static bool drain_behind(cache_t *c)
{
	if (c->unread)
		drain(c);
	return c->ctx != NULL;
}

enum cache_status cache_cmd(cache_t *c, arena_t *a, redisReply **reply,
			    int argc, const char **argv)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (connected(c))
			return CACHE_UNAVAILABLE;
		void *r = NULL;
		if (redisAppendCommandArgv(c->ctx, argc, argv, NULL) != REDIS_OK || !drain_behind(c) ||
		    redisGetReply(c->ctx, &r) != REDIS_OK)
			r = NULL;
		enum cache_status st = settle(c, check_reply(c, a, r, reply));
		if (st != CACHE_UNAVAILABLE)
			return st;
	}
	return CACHE_UNAVAILABLE;
}

enum cache_status cache_send(cache_t *c, int argc, const char **argv)
{
	/* Sent commands queue up behind each other: their replies are read
	 * by the next command that waits for its own (or past the bound). */
	if (c->ctx && c->unread >= SEND_UNREAD_MAX)
		drain(c);
	if (connected(c))
		return CACHE_UNAVAILABLE;
	int done = 0;
	if (redisAppendCommandArgv(c->ctx, argc, argv, NULL) != REDIS_OK)
		goto fail;
	while (!done)
		if (redisBufferWrite(c->ctx, &done) != REDIS_OK)
			goto fail;
	c->unread++;
	return CACHE_OK;
fail:
	log_warn("redis: %s", c->ctx->errstr);
	drop(c);
	return CACHE_UNAVAILABLE;
}

enum cache_status cache_cmdf(cache_t *c, arena_t *a, redisReply **reply,
			     const char *fmt, ...)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (ensure(c))
			return CACHE_UNAVAILABLE;
		va_list ap;
		va_start(ap, fmt);
		redisReply *r = redisvCommand(c->ctx, fmt, ap);
		va_end(ap);
		enum cache_status st = settle(c, check_reply(c, a, r, reply));
		if (st != CACHE_UNAVAILABLE)
			return st;
	}
	return CACHE_UNAVAILABLE;
}

static enum cache_status pipeline_once(cache_t *c, arena_t *a, int n,
				       const int *argcs, const char ***argvs,
				       redisReply **replies)
{
	if (connected(c))
		return CACHE_UNAVAILABLE;
	for (int i = 0; i < n; i++)
		if (redisAppendCommandArgv(c->ctx, argcs[i], argvs[i], NULL) != REDIS_OK) {
			drop(c);
			return CACHE_UNAVAILABLE;
		}
	if (!drain_behind(c))
		return CACHE_UNAVAILABLE;
	enum cache_status worst = CACHE_OK;
	for (int i = 0; i < n; i++) {
		void *r = NULL;
		if (redisGetReply(c->ctx, &r) != REDIS_OK) {
			drop(c);
			return CACHE_UNAVAILABLE;
		}
		enum cache_status st = check_reply(c, a, r, &replies[i]);
		if (st == CACHE_UNAVAILABLE || (st > worst && worst != CACHE_UNAVAILABLE))
			worst = st;
	}
	return settle(c, worst);
}

enum cache_status cache_pipeline(cache_t *c, arena_t *a, int n,
				 const int *argcs, const char ***argvs,
				 redisReply **replies)
{
	enum cache_status st = pipeline_once(c, a, n, argcs, argvs, replies);
	if (st == CACHE_UNAVAILABLE)
		st = pipeline_once(c, a, n, argcs, argvs, replies);
	return st;
}

enum cache_status cache_incr_window(cache_t *c, arena_t *a, const char *key,
				    int window_s, long long *count, long long *ttl)
{
	char win[16];
	snprintf(win, sizeof(win), "%d", window_s);
	const char *incr[] = { "INCR", key };
	const char *expire[] = { "EXPIRE", key, win, "NX" };
	const char *pttl[] = { "TTL", key };
	const char **argvs[] = { incr, expire, pttl };
	int argcs[] = { 2, 4, 2 };
	redisReply *rep[3] = { 0 };
	enum cache_status st = cache_pipeline(c, a, 3, argcs, argvs, rep);
	if (st)
		return st;
	*count = rep[0]->type == REDIS_REPLY_INTEGER ? rep[0]->integer : 0;
	*ttl = (rep[2]->type == REDIS_REPLY_INTEGER && rep[2]->integer > 0) ? rep[2]->integer : window_s;
	return CACHE_OK;
}

char *cache_tkey(arena_t *a, const char *kind, const char *tenant, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *rest = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return arena_printf(a, "%s:{%s}%s%s", kind, tenant, *rest ? ":" : "", rest);
}

enum cache_status cache_ping(cache_t *c)
{
	if (ensure(c))
		return CACHE_UNAVAILABLE;
	redisReply *r = redisCommand(c->ctx, "PING");
	if (!r) {
		drop(c);
		if (ensure(c))
			return CACHE_UNAVAILABLE;
		r = redisCommand(c->ctx, "PING");
		if (!r) {
			drop(c);
			return CACHE_UNAVAILABLE;
		}
	}
	freeReplyObject(r);
	return CACHE_OK;
}
