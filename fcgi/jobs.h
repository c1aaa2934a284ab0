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
 * Job kinds register a handler in the registry (jobs.c, and the handlers'
 * table).  A runner is a small family of processes (see jobs.c): one does
 * the fan-out and the scheduler, one sends the outgoing HTTP of HTTP kinds
 * (webhook deliveries) concurrently, and jobs_concurrency processes run the
 * other kinds one job at a time each.  More runners, on one machine or
 * several, share the queue.
 */
#ifndef TESSERA_JOBS_H
#define TESSERA_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "../common/arena.h"
#include "../common/cache.h"
#include "../common/db.h"
#include "../common/outhttp.h"

/* Visibility timeout of a claimed job unless its kind sets its own. */
#define JOBS_VISIBILITY_S 300
/* An HTTP job's lock outlasts its request timeout by this much. */
#define JOBS_HTTP_LOCK_MARGIN_S 5
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

/*
 * An outgoing HTTP request a job hands to the runner, which sends it
 * alongside the other jobs' (libcurl's multi interface) and then calls the
 * kind's finish with the answer.  Strings live in the job's arena.
 */
typedef struct job_http {
	const char *method, *url;
	const char *const *headers;   /* "Name: value", NULL-ended */
	const char *body;
	size_t body_len;
	int timeout_s;
	bool skip;                    /* send nothing: finish gets an empty answer */
	void *state;                  /* the kind's own */
} job_http_t;

/* Starts a job of an HTTP kind: 1 with *req to send, or 0 / -1 (with err)
 * as a job_fn returns when the job is over without a request, or
 * JOB_DEFER: not now (a rate limit); the job goes back to the queue after
 * the delay given to jobs_retry_after (1 s without one), the attempt not
 * counted. */
#define JOB_DEFER 2
typedef int (*job_http_start_fn)(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
				 const cJSON *payload, job_http_t *req, char *err, size_t errlen);
/* Ends it with the answer (res->status 0: none came, res->error says why). */
typedef int (*job_http_finish_fn)(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
				  const cJSON *payload, const job_http_t *req,
				  const outhttp_result_t *res, char *err, size_t errlen);

/* An outbox event as the fan-out hands it to a kind's fan_out hook
 * (strings and data live in the fan-out's arena). */
typedef struct job_event {
	const char *id, *tenant_id, *db_name, *type, *resource_type, *resource_id, *created_at;
	const cJSON *data;
	int chain_depth;        /* see req_t.chain_depth */
	unsigned long pass;     /* the fan-out pass handing it: a hook may keep what it
				 * read for the pass's next events (its arena lives as long) */
} job_event_t;

typedef struct job_kind {
	const char *name;
	job_fn run;      /* NULL for an HTTP kind */
	int timeout_s;   /* visibility timeout; 0 means JOBS_VISIBILITY_S */
	bool cleanup;    /* also run by every system.cleanup pass (payload NULL) */
	/* HTTP kinds: run by the runner's HTTP process, at most
	 * jobs_http_per_endpoint at once per value of the payload's
	 * endpoint_field (a string member), jobs_http_concurrency in all. */
	job_http_start_fn http_start;
	job_http_finish_fn http_finish;
	const char *endpoint_field;
	/* Kinds that follow outbox events: for each event whose fan-out
	 * follows(db, a, the tenant's database, event type, event data)
	 * approves, the fan-out enqueues a job of this kind, payload {event,
	 * data}, in the transaction that marks the event processed.  NULL:
	 * none.  It runs once per event: keep it to one indexed query. */
	bool (*follows)(db_t *db, arena_t *a, const char *db_name, const char *event,
			const cJSON *data);
	/* Kinds that decide per event what to enqueue (one job per matching
	 * automation): called for every event the fan-out processes, in its
	 * transaction; before its first write it calls fanout_savepoint(db,
	 * wrote) (fanout.h).  Returns a db_status.  NULL: none. */
	enum db_status (*fan_out)(db_t *db, arena_t *a, const job_event_t *ev, bool *wrote);
	/* Run by every scheduler pass of the runner holding the lease (cron
	 * work of the tenants); errors are its own to log.  NULL: none. */
	void (*schedule)(db_t *db, cache_t *cache, arena_t *a);
	/* Attempts of a job enqueued without its own count (a DLQ retry, …);
	 * NULL: jobs_max_attempts. */
	const int *max_attempts;
} job_kind_t;

/* The kinds the handlers register (handlers/routes.c assembles them from
 * every file's table, as it does the routes): the runner reaches handler
 * code only through this table.  Ends with { NULL }. */
extern const job_kind_t *handler_job_kinds;

/* The registered kind called name, or NULL. */
const job_kind_t *jobs_kind_find(const char *name);

/* Enqueues a job to run after delay_ms; id (size >= 40) receives its id.
 * max_attempts <= 0 uses the kind's default (its max_attempts setting, else
 * jobs_max_attempts).  Returns a db_status. */
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
