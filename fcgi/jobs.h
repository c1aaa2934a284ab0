/*
 * jobs.h - the background job runner (`tessera jobs`) and the enqueue call
 * the rest of the code uses.
 *
 * Jobs are rows in the control DB's `jobs` table, claimed with
 * SELECT … FOR UPDATE SKIP LOCKED so several runners can share the queue.
 * A failed job is retried with exponential backoff until max_attempts, then
 * moved to `dead_letters`.  One runner at a time holds the scheduler lease
 * (Redis) and enqueues periodic work.  Job kinds register a handler in the
 * registry (jobs.c); later issues add theirs there.
 */
#ifndef TESSERA_JOBS_H
#define TESSERA_JOBS_H

#include <stddef.h>

#include <cJSON.h>

#include "../common/arena.h"
#include "../common/cache.h"
#include "../common/db.h"

/* A job handler: returns 0 on success, or -1 with a message in err. */
typedef int (*job_fn)(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		      const cJSON *payload, char *err, size_t errlen);

typedef struct job_kind {
	const char *name;
	job_fn run;
} job_kind_t;

/* Enqueues a job to run after delay_ms; id (size >= 40) receives its id.
 * max_attempts <= 0 uses the configured default.  Returns a db_status. */
enum db_status jobs_enqueue(db_t *db, arena_t *a, const char *tenant_id, const char *kind,
			    const cJSON *payload, int max_attempts, long delay_ms, char *id);

/* Backoff before attempt n+1 after n failed attempts: base * 2^(n-1),
 * capped at one hour, with up to 20% jitter when jitter is non-zero. */
long jobs_backoff_ms(int attempts, long base_ms, int jitter);

/* Runs the runner loop until SIGTERM/SIGINT.  Returns the exit status. */
int jobs_run(void);

#endif
