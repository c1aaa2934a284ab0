/*
 * jobs.h - the background job runner (`tessera jobs`) and the enqueue call
 * the rest of the code uses.
 *
 * Jobs are rows in the control DB's `jobs` table, claimed with
 * SELECT … FOR UPDATE SKIP LOCKED so several runners can share the queue.
 * A claimed job is `running` with `locked_by` (the runner's hostname:pid)
 * and `locked_until` (now + the kind's visibility timeout); a runner that
 * dies leaves it there, and the scheduler pass puts it back in the queue
 * once the lock has expired.  Delivery is therefore at least once: handlers
 * must be idempotent.  A failed job is retried with exponential backoff
 * until max_attempts, then moved to `dead_letters` and marked `dead`.
 *
 * One runner at a time holds the scheduler lease (Redis key
 * lease:scheduler, 15 s, renewed every 5 s with a compare-and-set) and runs
 * the scheduler pass: requeue expired locks, enqueue periodic work (each
 * with a dedupe_key, so two schedulers can never enqueue it twice).
 *
 * Job kinds register a handler in the registry (jobs.c); later issues add
 * theirs there.  Each runner process runs one job at a time
 * (jobs_concurrency > 1 is not implemented yet: start more runners, on one
 * machine or several, to work the queue in parallel).
 */
#ifndef TESSERA_JOBS_H
#define TESSERA_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "../common/arena.h"
#include "../common/cache.h"
#include "../common/db.h"

/* Visibility timeout of a claimed job unless its kind sets its own. */
#define JOBS_VISIBILITY_S 300
/* Retry delays never exceed this (before jitter). */
#define JOBS_BACKOFF_CAP_MS 3600000L
/* The Redis key of the scheduler lease; its value is the holder's id. */
#define JOBS_LEASE_KEY "lease:scheduler"

/*
 * A job handler: returns 0 on success, or -1 with a message in err (stored
 * as the job's last_error).  payload may be NULL.  Everything allocated in a
 * is released after the job.  A handler must not leave a transaction open.
 */
typedef int (*job_fn)(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		      const cJSON *payload, char *err, size_t errlen);

typedef struct job_kind {
	const char *name;
	job_fn run;
	int timeout_s;   /* visibility timeout; 0 means JOBS_VISIBILITY_S */
	bool cleanup;    /* also run by every system.cleanup pass (payload NULL) */
} job_kind_t;

/* The kinds the handlers register (handlers/routes.c assembles them from
 * every file's table, as it does the routes): the runner reaches handler
 * code only through this table.  Ends with { NULL }. */
extern const job_kind_t *handler_job_kinds;

/* The registered kind called name, or NULL. */
const job_kind_t *jobs_kind_find(const char *name);

/* Enqueues a job to run after delay_ms; id (size >= 40) receives its id.
 * max_attempts <= 0 uses the configured default.  Returns a db_status. */
enum db_status jobs_enqueue(db_t *db, arena_t *a, const char *tenant_id, const char *kind,
			    const cJSON *payload, int max_attempts, long delay_ms, char *id);

/* Same, with a dedupe_key (may be NULL): returns DB_DUPLICATE, enqueueing
 * nothing, if a job with that key exists (until cleanup deletes it). */
enum db_status jobs_enqueue_unique(db_t *db, arena_t *a, const char *tenant_id,
				   const char *kind, const cJSON *payload, int max_attempts,
				   long delay_ms, const char *dedupe_key, char *id);

/* Backoff before attempt n+1 after n failed attempts: base * 2^(n-1)
 * (n < 1 counts as 1), capped at JOBS_BACKOFF_CAP_MS, plus up to 20% of
 * that when jitter is non-zero. */
long jobs_backoff_ms(int attempts, long base_ms, int jitter);

/*
 * One job as JSON: id, tenant_id, kind, status, attempts, max_attempts,
 * last_error, run_at, locked_by, created_at, finished_at, dead_letter_id
 * (null unless it went to the DLQ) and payload.  Returns a tree the caller
 * frees with cJSON_Delete, or NULL with *st set (DB_OK: no such job).
 */
cJSON *jobs_describe(db_t *db, arena_t *a, const char *id, enum db_status *st);

/* Inside a job handler: the attempt being run (1 for the first); 0
 * outside a job. */
int jobs_current_attempt(void);
/* Inside a job handler that is about to fail: run the next attempt after
 * delay_ms instead of the default backoff (kinds with their own retry
 * schedule).  Forgotten after the job. */
void jobs_retry_after(long delay_ms);

/* Runs the runner loop until SIGTERM/SIGINT (the job in hand is finished
 * first).  Returns the exit status. */
int jobs_run(void);

#endif
