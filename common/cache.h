/*
 * cache.h - the Redis connection (hiredis) for ephemeral state: rate limits,
 * session revocation, confirm tokens, leases, short caches.
 *
 * Like the database handle it connects lazily and reconnects after a failure;
 * a call that cannot reach Redis returns CACHE_UNAVAILABLE and the caller
 * answers 503 rather than skipping the check.
 */
#ifndef TESSERA_CACHE_H
#define TESSERA_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis.h>

#include "arena.h"
#include "config.h"

typedef struct cache cache_t;

enum cache_status { CACHE_OK = 0, CACHE_UNAVAILABLE, CACHE_ERROR };

cache_t *cache_new(const config_t *cfg);
void cache_free(cache_t *c);

/*
 * Runs one command given as argv (binary-safe lengths may be NULL for C
 * strings).  The reply is freed when the arena is reset.
 */
enum cache_status cache_cmd(cache_t *c, arena_t *a, redisReply **reply,
			    int argc, const char **argv);
/*
 * Sends one command whose reply nobody waits for (a wake-up, dropping a
 * cached value): it is written now and its reply read, and thrown away,
 * by the next command on the connection that waits for its own reply
 * (sent commands queue up behind each other); a failure is logged there.
 * Saves the request a round trip.  CACHE_UNAVAILABLE if it could not be
 * sent.
 */
enum cache_status cache_send(cache_t *c, int argc, const char **argv);
/* printf-style convenience (hiredis format: %s, %b, %d …). */
enum cache_status cache_cmdf(cache_t *c, arena_t *a, redisReply **reply,
			     const char *fmt, ...);
/*
 * Pipelines n commands in one round trip; replies[i] answers argvs[i].
 */
enum cache_status cache_pipeline(cache_t *c, arena_t *a, int n,
				 const int *argcs, const char ***argvs,
				 redisReply **replies);

/*
 * Fixed-window counter: INCR key and EXPIRE key window NX in one round trip.
 * Sets *count to the new count and *ttl to seconds left in the window.
 */
enum cache_status cache_incr_window(cache_t *c, arena_t *a, const char *key,
				    int window_s, long long *count, long long *ttl);

enum cache_status cache_ping(cache_t *c);

/*
 * Calls each(key, ud) for every key matching the SCAN pattern match: on
 * the one server, or on every node of a Redis Cluster.  A key may come
 * twice (SCAN's promise); the keys live until the arena is reset.
 */
enum cache_status cache_scan(cache_t *c, arena_t *a, const char *match,
			     void (*each)(const char *key, void *ud), void *ud);

/* The Redis Cluster hash slot of a key (its {hash tag} if it has one). */
uint16_t cache_key_slot(const char *key, size_t len);

/*
 * The key of one tenant's state: "<kind>:{<tenant>}:<rest>" (rest from fmt),
 * the tenant in a hash tag so that a Redis Cluster keeps all of a tenant's
 * keys in one slot (and a script may touch several of them).  kind is a
 * constant; what follows the tag may be anything.
 */
char *cache_tkey(arena_t *a, const char *kind, const char *tenant, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
