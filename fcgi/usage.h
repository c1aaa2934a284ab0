/*
 * usage.h - the per-request API usage counter and its Redis layout.
 *
 * The pipeline counts every request that names a tenant with one
 * HINCRBY, sent without waiting for its reply (cache_send: no round trip
 * on the request's path), into the tenant's hash of not-yet-rolled counts.
 * The runner's analytics.rollup job (handlers/analytics.c) moves those
 * counts into the control DB's usage_requests hourly; GET /v1/analytics
 * adds the rolled rows and what is still in Redis.
 *
 * Keys carry the tenant in a hash tag, so that the rollup's script (which
 * touches a tenant's keys together) also works on a Redis Cluster:
 *   usage:{<tenant>}:req    counts not rolled yet
 *   usage:{<tenant>}:roll   a roll in progress (its id in member _roll)
 *   usage:{<tenant>}:done   the last finished roll, kept USAGE_DONE_TTL_S
 * Members are "<YYYYMMDDHH>|<route group>|<status class>" (UTC hour,
 * classes 1xx..5xx); _roll is the roll's id.
 */
#ifndef TESSERA_USAGE_H
#define TESSERA_USAGE_H

#include "../common/cache.h"

#define USAGE_KEY_REQ "usage:{%s}:req"
#define USAGE_KEY_ROLL "usage:{%s}:roll"
#define USAGE_KEY_DONE "usage:{%s}:done"
#define USAGE_ROLL_ID "_roll"
/* How long a finished roll stays readable (see analytics.c). */
#define USAGE_DONE_TTL_S 900
/* Group of a request no route matched. */
#define USAGE_GROUP_NONE "-"

/* Counts one request of tenant_id (group: the route's, NULL for none)
 * answered with status.  Never waits, never fails the request: a Redis
 * that is down loses the count (logged by the cache layer). */
void usage_count_request(cache_t *c, const char *tenant_id, const char *group, int status);

#endif
