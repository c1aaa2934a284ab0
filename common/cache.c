/*
 * cache.c - hiredis wrapper (see cache.h).
 */
#include "cache.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "log.h"

struct cache {
	const config_t *cfg;
	redisContext *ctx;
	int unread;     /* replies of cache_send() not read yet */
};

cache_t *cache_new(const config_t *cfg)
{
	cache_t *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->cfg = cfg;
	return c;
}

static void drop(cache_t *c)
{
	if (c->ctx)
		redisFree(c->ctx);
	c->ctx = NULL;
	c->unread = 0;
}

void cache_free(cache_t *c)
{
	if (!c)
		return;
	drop(c);
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
		if (((redisReply *)r)->type == REDIS_REPLY_ERROR)
			log_warn("redis: %s", ((redisReply *)r)->str);
		freeReplyObject(r);
		c->unread--;
	}
}

/* Connects if not connected; replies of cache_send() stay unread. */
static enum cache_status connected(cache_t *c)
{
	if (c->ctx)
		return CACHE_OK;
	struct timeval tv = { 1, 0 };
	redisContext *ctx;
	if (c->cfg->redis_socket && *c->cfg->redis_socket)
		ctx = redisConnectUnixWithTimeout(c->cfg->redis_socket, tv);
	else
		ctx = redisConnectWithTimeout(c->cfg->redis_host, c->cfg->redis_port, tv);
	if (!ctx || ctx->err) {
		if (ctx) {
			log_warn("redis: %s", ctx->errstr);
			redisFree(ctx);
		}
		return CACHE_UNAVAILABLE;
	}
	struct timeval rw = { 2, 0 };
	redisSetTimeout(ctx, rw);
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
		return CACHE_ERROR;
	}
	return CACHE_OK;
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
		enum cache_status st = check_reply(c, a, r, reply);
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
		enum cache_status st = check_reply(c, a, r, reply);
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
		if (st > worst)
			worst = st;
	}
	return worst;
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
