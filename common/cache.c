/*
 * cache.c - hiredis wrapper (see cache.h).
 */
#include "cache.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "log.h"

/* Most sentinels asked for the master. */
#define SENTINELS_MAX 16
/* Redis Cluster: its hash slots, the most nodes known, the most
 * redirections one command follows. */
#define CLUSTER_SLOTS 16384
#define NODES_MAX 64
#define REDIRECTS_MAX 5

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
	/* Redis Cluster (redis_cluster set): a connection per node, opened
	 * when first needed; nodes[0..] start with the seeds. */
	bool cluster;
	bool refresh;   /* re-read the slot map before the next command */
	int map_from;   /* the node that answered CLUSTER SLOTS last: asked first */
	int nnodes;
	struct node {
		char host[256];
		int port;
		redisContext *ctx;
	} nodes[NODES_MAX];
	uint8_t slot_node[CLUSTER_SLOTS]; /* node index + 1; 0: not known */
};

static int cluster_node(cache_t *c, const char *host, size_t hostlen, int port);

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
	for (const char *p = cfg->redis_cluster; p && *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char host[256];
		int port;
		if (!config_redis_addr(p, len, host, sizeof(host), &port) && port)
			cluster_node(c, host, strlen(host), port);
		if (!comma)
			break;
		p = comma + 1;
	}
	c->cluster = c->nnodes > 0;
	c->refresh = c->cluster;
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
	for (int i = 0; i < c->nnodes; i++)
		if (c->nodes[i].ctx)
			redisFree(c->nodes[i].ctx);
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

/* --- Redis Cluster ------------------------------------------------------------- */
/*
 * With redis_cluster set, each command goes to the node that serves its
 * key's hash slot (a map read with CLUSTER SLOTS, from any node that
 * answers).  A MOVED reply updates the map and the command follows it; an
 * ASK reply (a slot being migrated) sends ASKING and the command to the
 * node named, once; TRYAGAIN waits a moment.  A node that cannot be reached
 * is dropped and the map read again, so a failover costs the requests of a
 * few seconds a 503, as with Sentinel.  Commands are not queued behind each
 * other here (cache_send waits for its reply): a redirected reply must be
 * followed, not thrown away.
 */

uint16_t cache_key_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len);
	if (open) {
		const char *close = memchr(open + 1, '}', len - (size_t)(open + 1 - key));
		if (close && close > open + 1) {
			key = open + 1;
			len = (size_t)(close - key);
		}
	}
	uint16_t crc = 0; /* CRC16-CCITT (XMODEM), as Redis Cluster hashes keys */
	for (size_t i = 0; i < len; i++) {
		crc ^= (uint16_t)((unsigned char)key[i] << 8);
		for (int b = 0; b < 8; b++)
			crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
	}
	return crc % CLUSTER_SLOTS;
}

/* The index of node host:port, added if new; -1 if there is no room. */
static int cluster_node(cache_t *c, const char *host, size_t hostlen, int port)
{
	for (int i = 0; i < c->nnodes; i++)
		if (c->nodes[i].port == port && strlen(c->nodes[i].host) == hostlen &&
		    !memcmp(c->nodes[i].host, host, hostlen))
			return i;
	if (c->nnodes == NODES_MAX || hostlen >= sizeof(c->nodes[0].host)) {
		log_warn("redis cluster: no room for node %.*s:%d", (int)hostlen, host, port);
		return -1;
	}
	struct node *n = &c->nodes[c->nnodes];
	memcpy(n->host, host, hostlen);
	n->host[hostlen] = '\0';
	n->port = port;
	n->ctx = NULL;
	return c->nnodes++;
}

static redisContext *node_ctx(cache_t *c, int i)
{
	struct node *n = &c->nodes[i];
	if (!n->ctx) {
		n->ctx = open_addr(n->host, n->port, 1000, 2000);
		if (n->ctx && !auth(&n->ctx, c->cfg->redis_password, "cluster node"))
			n->ctx = NULL;
	}
	return n->ctx;
}

/* A node's connection failed: closed, and the map read again. */
static void node_drop(cache_t *c, int i)
{
	struct node *n = &c->nodes[i];
	if (n->ctx) {
		log_warn("redis cluster: %s:%d: %s", n->host, n->port,
			 n->ctx->err ? n->ctx->errstr : "no reply");
		redisFree(n->ctx);
	}
	n->ctx = NULL;
	c->refresh = true;
}

/* One slot range of a CLUSTER SLOTS reply into the map (asked of node
 * from, whose host stands in for an endpoint the node does not know). */
static void slots_range(cache_t *c, const redisReply *e, int from)
{
	if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
	    e->element[0]->type != REDIS_REPLY_INTEGER || e->element[1]->type != REDIS_REPLY_INTEGER ||
	    e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2)
		return;
	const redisReply *h = e->element[2]->element[0], *p = e->element[2]->element[1];
	if (h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_INTEGER || p->integer < 1 ||
	    p->integer > 65535)
		return;
	const char *host = h->str;
	size_t hostlen = h->len;
	if (!hostlen || !strcmp(host, "?")) {
		host = c->nodes[from].host;
		hostlen = strlen(host);
	}
	int n = cluster_node(c, host, hostlen, (int)p->integer);
	if (n < 0)
		return;
	long long lo = e->element[0]->integer, hi = e->element[1]->integer;
	for (long long s = lo < 0 ? 0 : lo; s <= hi && s < CLUSTER_SLOTS; s++)
		c->slot_node[s] = (uint8_t)(n + 1);
}

/* Reads the slot map from the first node that answers CLUSTER SLOTS,
 * starting with the one that answered last (a seed that went away is not
 * waited for on every refresh). */
static bool cluster_refresh(cache_t *c)
{
	for (int k = 0; k < c->nnodes; k++) {
		int i = (c->map_from + k) % c->nnodes;
		redisContext *ctx = node_ctx(c, i);
		if (!ctx)
			continue;
		redisReply *r = redisCommand(ctx, "CLUSTER SLOTS");
		if (!r) {
			node_drop(c, i);
			continue;
		}
		bool ok = r->type == REDIS_REPLY_ARRAY && r->elements > 0;
		if (ok) {
			memset(c->slot_node, 0, sizeof(c->slot_node));
			for (size_t e = 0; e < r->elements; e++)
				slots_range(c, r->element[e], i);
			c->refresh = false;
			c->map_from = i;
		} else {
			log_warn("redis cluster: %s:%d has no slot map: %s", c->nodes[i].host,
				 c->nodes[i].port, r->type == REDIS_REPLY_ERROR ? r->str : "empty");
		}
		freeReplyObject(r);
		if (ok)
			return true;
	}
	log_warn("redis cluster: no node answered CLUSTER SLOTS");
	return false;
}

/* The slot of a command's key (the first key of EVAL/EVALSHA); -1 if it
 * has none. */
static int command_slot(int argc, const char **argv, const size_t *lens)
{
	int at = 1;
	if (argc > 2 && (!strcasecmp(argv[0], "EVAL") || !strcasecmp(argv[0], "EVALSHA")))
		at = atoi(argv[2]) > 0 ? 3 : -1;
	if (at < 0 || at >= argc)
		return -1;
	return cache_key_slot(argv[at], lens ? lens[at] : strlen(argv[at]));
}

static bool reply_is(const redisReply *r, const char *word)
{
	size_t n = strlen(word);
	return r->type == REDIS_REPLY_ERROR && !strncmp(r->str, word, n) &&
	       (r->str[n] == ' ' || r->str[n] == '\0');
}

/* The node a MOVED or ASK reply names ("MOVED 3999 127.0.0.1:7001"; an
 * empty host is the host of node from); -1 if unreadable. */
static int redirect_node(cache_t *c, const char *msg, int from, int *slot)
{
	const char *sp = strchr(msg, ' ');
	const char *addr = sp ? strchr(sp + 1, ' ') : NULL;
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	if (!colon)
		return -1;
	*slot = atoi(sp + 1);
	int port = atoi(colon + 1);
	if (*slot < 0 || *slot >= CLUSTER_SLOTS || port < 1 || port > 65535)
		return -1;
	const char *host = addr + 1;
	size_t hostlen = (size_t)(colon - host);
	if (!hostlen) {
		host = c->nodes[from].host;
		hostlen = strlen(host);
	}
	return cluster_node(c, host, hostlen, port);
}

/* The node for slot (any node for -1); -1 if the map has none. */
static int slot_owner(cache_t *c, int slot)
{
	if (c->refresh || (slot >= 0 && !c->slot_node[slot]))
		cluster_refresh(c);
	if (slot < 0)
		return c->slot_node[0] ? c->slot_node[0] - 1 : 0;
	return c->slot_node[slot] - 1;
}

/* What a reply read from the cluster comes to; a redirection or
 * TRYAGAIN is not a final reply (the caller follows it). */
static enum cache_status cluster_final(arena_t *a, redisReply *r, redisReply **out)
{
	if (a)
		arena_defer(a, reply_cleanup, r);
	if (out)
		*out = r;
	enum cache_status st = CACHE_OK;
	if (r->type == REDIS_REPLY_ERROR) {
		log_warn("redis cluster: %s", r->str);
		st = reply_is(r, "CLUSTERDOWN") ? CACHE_UNAVAILABLE : CACHE_ERROR;
	}
	if (!a)
		freeReplyObject(r);
	return st;
}

/* Runs one command on the node of its key's slot, following redirections.
 * With a NULL arena the reply is freed at once (out must be NULL). */
static enum cache_status cluster_exec(cache_t *c, arena_t *a, redisReply **out, int argc,
				      const char **argv, const size_t *lens)
{
	int slot = command_slot(argc, argv, lens), ask = -1, failures = 0;
	for (int hop = 0; hop < REDIRECTS_MAX; hop++) {
		int n = ask >= 0 ? ask : slot_owner(c, slot);
		if (n < 0) {
			log_warn("redis cluster: no node serves slot %d", slot);
			return CACHE_UNAVAILABLE;
		}
		redisContext *ctx = node_ctx(c, n);
		void *r = NULL;
		bool sent = ctx && (ask < 0 || redisAppendCommand(ctx, "ASKING") == REDIS_OK) &&
			    redisAppendCommandArgv(ctx, argc, argv, lens) == REDIS_OK;
		if (sent && ask >= 0) { /* ASKING's +OK */
			sent = redisGetReply(ctx, &r) == REDIS_OK;
			if (r)
				freeReplyObject(r);
			r = NULL;
		}
		if (!sent || redisGetReply(ctx, &r) != REDIS_OK) {
			node_drop(c, n);
			ask = -1;
			if (++failures > 1)
				return CACHE_UNAVAILABLE;
			continue;
		}
		redisReply *rep = r;
		int s = -1;
		if (reply_is(rep, "MOVED")) {
			int to = redirect_node(c, rep->str, n, &s);
			if (to >= 0)
				c->slot_node[s] = (uint8_t)(to + 1);
			c->refresh = true;
			ask = -1;
		} else if (reply_is(rep, "ASK")) {
			ask = redirect_node(c, rep->str, n, &s);
		} else if (reply_is(rep, "TRYAGAIN")) {
			struct timespec ts = { 0, 20 * 1000000 };
			nanosleep(&ts, NULL);
		} else {
			if (reply_is(rep, "CLUSTERDOWN")) /* the map may change */
				c->refresh = true;
			return cluster_final(a, rep, out);
		}
		freeReplyObject(rep);
	}
	log_warn("redis cluster: slot %d: more than %d redirections", slot, REDIRECTS_MAX);
	return CACHE_UNAVAILABLE;
}

/* Pipelined on one node when every command's key is in one slot (a
 * tenant's keys are: they share its hash tag); else one by one.  A
 * command redirected is run again on its own once all replies are read. */
static enum cache_status cluster_pipeline(cache_t *c, arena_t *a, int n, const int *argcs,
					  const char ***argvs, redisReply **replies)
{
	int slot = n ? command_slot(argcs[0], argvs[0], NULL) : -1;
	for (int i = 1; i < n && slot >= 0; i++)
		if (command_slot(argcs[i], argvs[i], NULL) != slot)
			slot = -1;
	int node = slot >= 0 ? slot_owner(c, slot) : -1;
	redisContext *ctx = node >= 0 ? node_ctx(c, node) : NULL;
	for (int i = 0; ctx && i < n; i++)
		if (redisAppendCommandArgv(ctx, argcs[i], argvs[i], NULL) != REDIS_OK) {
			node_drop(c, node); /* nothing was written yet */
			ctx = NULL;
		}
	bool *redo = arena_calloc(a, (size_t)(n ? n : 1), sizeof(*redo));
	for (int i = 0; i < n; i++) {
		redo[i] = !ctx;
		if (!ctx)
			continue;
		void *r = NULL;
		if (redisGetReply(ctx, &r) != REDIS_OK) {
			node_drop(c, node);
			if (i > 0) /* some ran: not repeated */
				return CACHE_UNAVAILABLE;
			ctx = NULL;
			redo[i] = true;
			continue;
		}
		redisReply *rep = r;
		if (reply_is(rep, "MOVED") || reply_is(rep, "ASK") || reply_is(rep, "TRYAGAIN")) {
			if (reply_is(rep, "MOVED"))
				c->refresh = true;
			freeReplyObject(rep);
			redo[i] = true;
		} else {
			arena_defer(a, reply_cleanup, rep);
			replies[i] = rep;
		}
	}
	enum cache_status worst = CACHE_OK;
	for (int i = 0; i < n; i++) {
		enum cache_status st = CACHE_OK;
		if (redo[i])
			st = cluster_exec(c, a, &replies[i], argcs[i], argvs[i], NULL);
		else if (replies[i]->type == REDIS_REPLY_ERROR) {
			log_warn("redis cluster: %s", replies[i]->str);
			st = CACHE_ERROR;
		}
		if (st == CACHE_UNAVAILABLE || (st > worst && worst != CACHE_UNAVAILABLE))
			worst = st;
	}
	return worst;
}

/* A command formatted by hiredis ("*N\r\n$L\r\n…\r\n" …) back into
 * arguments (copies in the arena), for cluster_exec to find its key. */
static enum cache_status cluster_formatted(cache_t *c, arena_t *a, redisReply **out,
					   const char *cmd, int len)
{
	const char *p = cmd, *end = cmd + len;
	int argc = p < end && *p == '*' ? atoi(p + 1) : 0;
	if (argc < 1 || argc > 64)
		return CACHE_ERROR;
	const char **argv = arena_alloc(a, sizeof(*argv) * (size_t)argc);
	size_t *lens = arena_alloc(a, sizeof(*lens) * (size_t)argc);
	for (int i = 0; i < argc; i++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p || ++p >= end || *p != '$')
			return CACHE_ERROR;
		long n = atol(p + 1);
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p || n < 0 || n > end - ++p)
			return CACHE_ERROR;
		argv[i] = arena_strndup(a, p, (size_t)n);
		lens[i] = (size_t)n;
		p += n;
	}
	return cluster_exec(c, a, out, argc, argv, lens);
}

enum cache_status cache_cmd(cache_t *c, arena_t *a, redisReply **reply,
			    int argc, const char **argv)
{
	if (c->cluster)
		return cluster_exec(c, a, reply, argc, argv, NULL);
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
	if (c->cluster)
		return cluster_exec(c, NULL, NULL, argc, argv, NULL);
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
	if (c->cluster) {
		char *cmd;
		va_list ap;
		va_start(ap, fmt);
		int len = redisvFormatCommand(&cmd, fmt, ap);
		va_end(ap);
		if (len < 0)
			return CACHE_ERROR;
		enum cache_status st = cluster_formatted(c, a, reply, cmd, len);
		redisFreeCommand(cmd);
		return st;
	}
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
	if (c->cluster)
		return cluster_pipeline(c, a, n, argcs, argvs, replies);
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
	if (c->cluster) {
		const char *argv[] = { "PING" };
		return cluster_exec(c, NULL, NULL, 1, argv, NULL);
	}
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

enum cache_status cache_scan(cache_t *c, arena_t *a, const char *match,
			     void (*each)(const char *key, void *ud), void *ud)
{
	/* The nodes to scan: the one server, or each node that serves slots. */
	int nodes[NODES_MAX], n = 0;
	if (c->cluster) {
		if (c->refresh && !cluster_refresh(c))
			return CACHE_UNAVAILABLE;
		bool seen[NODES_MAX] = { false };
		for (int s = 0; s < CLUSTER_SLOTS; s++)
			if (c->slot_node[s] && !seen[c->slot_node[s] - 1]) {
				seen[c->slot_node[s] - 1] = true;
				nodes[n++] = c->slot_node[s] - 1;
			}
	} else {
		nodes[n++] = -1;
	}
	for (int k = 0; k < n; k++) {
		char cursor[32] = "0";
		do {
			const char *argv[] = { "SCAN", cursor, "MATCH", match, "COUNT", "1000" };
			redisReply *rep = NULL;
			if (nodes[k] < 0) {
				if (cache_cmd(c, a, &rep, 6, argv) != CACHE_OK)
					return CACHE_UNAVAILABLE;
			} else {
				redisContext *ctx = node_ctx(c, nodes[k]);
				rep = ctx ? redisCommandArgv(ctx, 6, argv, NULL) : NULL;
				if (!rep) {
					node_drop(c, nodes[k]);
					return CACHE_UNAVAILABLE;
				}
				arena_defer(a, reply_cleanup, rep);
			}
			if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
			    rep->element[0]->type != REDIS_REPLY_STRING ||
			    rep->element[1]->type != REDIS_REPLY_ARRAY)
				return CACHE_ERROR;
			snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
			for (size_t i = 0; i < rep->element[1]->elements; i++)
				if (rep->element[1]->element[i]->type == REDIS_REPLY_STRING)
					each(rep->element[1]->element[i]->str, ud);
		} while (strcmp(cursor, "0"));
	}
	return CACHE_OK;
}
