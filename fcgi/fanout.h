/*
 * fanout.h - the outbox fan-out: turns each event a change wrote into the
 * `outbox` table (in the change's own transaction) into realtime messages
 * and one `webhook.deliver` job per subscribed webhook of the tenant.
 *
 * The jobs runner calls fanout_pass() every cycle.  A pass claims pending
 * outbox rows with SELECT … FOR UPDATE SKIP LOCKED (so several runners
 * share the work), publishes each to realtime, enqueues its webhook jobs
 * and marks it processed, all in one transaction: a process killed at any
 * moment leaves the row pending and a later pass does it again (delivery
 * is at least once, never zero times).
 *
 * To keep the latency from a change to its subscribers low, a request that
 * committed an outbox row pushes the Redis list FANOUT_WAKE_KEY
 * (fanout_wake); an idle runner waits on it with BLPOP (fanout_wait)
 * instead of sleeping its whole poll interval.
 *
 * Also here: the event vocabulary webhooks subscribe to.
 */
#ifndef TESSERA_FANOUT_H
#define TESSERA_FANOUT_H

#include <stdbool.h>

#include <cJSON.h>

#include "../common/arena.h"
#include "../common/cache.h"
#include "../common/db.h"

#define FANOUT_WAKE_KEY "jobs:wake"
/* Custom events are fanned out as "custom.<event_type>". */
#define EVENT_CUSTOM_PREFIX "custom."
#define EVENT_CUSTOM_NAME_MAX 50

/* The event types a webhook may subscribe to, in the order GET /events/types
 * lists them (NULL-terminated).  Ends with "custom.*" and "*". */
extern const char *const event_types[];

/* True if name is a valid custom event type: a letter, then letters,
 * digits and _ . : - up to EVENT_CUSTOM_NAME_MAX characters. */
bool event_custom_name_valid(const char *name);
/* True if entry may appear in a webhook's events: one of event_types or
 * "custom.<valid name>". */
bool event_subscription_valid(const char *entry);
/* True if a webhook subscribed to events (a JSON array of strings) gets an
 * event of this type: an exact entry, "custom.*" for custom events, "*"
 * for all. */
bool event_subscribed(const cJSON *events, const char *type);

/*
 * An event as webhooks receive it (the delivery body):
 *   {"id", "type", "timestamp", "tenant_id", "resource_type", "resource_id",
 *    "data"}
 * data is copied (NULL gives {}).  The caller frees the tree.
 */
cJSON *event_json(const char *id, const char *type, const char *timestamp, const char *tenant_id,
		  const char *resource_type, const char *resource_id, const cJSON *data);

/* The data DB of tenant_id (server-made name, safe to splice), or NULL in
 * *db_name when there is no such tenant. */
enum db_status tenant_db_of(db_t *db, arena_t *a, const char *tenant_id, const char **db_name);
/* SELECT cols FROM tenants WHERE cond, on the primary, of the tenants whose
 * data DB is on db's server (the jobs runner's passes run per server). */
enum db_status tenants_here(db_t *db, arena_t *a, const char *cols, const char *cond,
			    db_result **res);
/* On the primary, moves the outbox and audit rows written there for
 * tenants on other servers (API key changes: README "Scaling") to their
 * server.  Returns how many it moved, or -1. */
int fanout_forward(db_t *primary, arena_t *a);
/* The handle of tenant_id's data server (db's primary's), or NULL when the
 * tenant is gone, its server unknown or the primary unreachable. */
db_t *tenant_server_db(db_t *db, arena_t *a, const char *tenant_id);

/*
 * One pass over pending outbox rows (at most FANOUT_BATCH).  Returns how
 * many events it processed, 0 when there was nothing to do or realtime
 * could not be reached, -1 when MariaDB failed; *more says whether the
 * batch was full (more may wait: pass again at once); *enqueued whether
 * it wrote anything besides the marks (jobs: wake their runners).  Events committed
 * during a pass pushed a wake-up, so a runner that waits after a batch
 * that was not full wakes for them at once.
 */
int fanout_pass(db_t *db, arena_t *a, bool *more, bool *enqueued);
#define FANOUT_BATCH 100

/* An event whose fan-out the database refuses is retried in this many
 * passes, then marked processed and copied to the DLQ as FANOUT_DLQ_KIND
 * with a reference to it ({event_id, event, resource_type, resource_id}). */
#define FANOUT_MAX_ATTEMPTS 3
#define FANOUT_DLQ_KIND "outbox.fanout"

/* The job a retried DLQ entry of FANOUT_DLQ_KIND becomes: puts the event
 * back in the outbox queue (attempts from 0).  A job_fn (jobs.h). */
int fanout_requeue_job(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		       const cJSON *payload, char *err, size_t errlen);

/* Before the first write of an event's fan-out (a fan_out hook's, see
 * jobs.h): sets the savepoint that undoes that event's work alone if the
 * database refuses it, once (*wrote says it is set). */
enum db_status fanout_savepoint(db_t *db, bool *wrote);

/* Wakes one idle runner (after a commit that wrote outbox rows).  Errors
 * are ignored: the runner polls anyway. */
void fanout_wake(cache_t *cache);

/* Waits up to ms (at most 1.5 s: the caller's loop comes back for the
 * rest) for a wake-up.  Returns false when Redis is unavailable: the
 * caller sleeps instead. */
bool fanout_wait(cache_t *cache, arena_t *a, long ms);

#endif
