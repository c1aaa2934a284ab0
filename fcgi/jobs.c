/*
 * jobs.c - the durable job runner (`tessera jobs`), see jobs.h.
 *
 * Three kinds of process (jobs_run): the main one renews (or tries to
 * take) the scheduler lease every few seconds and, while holding it, runs
 * the scheduler pass; it runs the fan-out, and restarts its children.  The
 * HTTP process keeps up to jobs_http_concurrency requests of HTTP kinds in
 * flight (libcurl multi), at most jobs_http_per_endpoint per endpoint.
 * Each worker claims the next due job of another kind, runs it, records
 * the outcome, and sleeps jobs_poll_ms when the queue is empty.
 * MariaDB and Redis are reached through db_t and cache_t, which reconnect
 * lazily, so a restart of either is survived: while MariaDB is down the
 * runner logs once and backs off; while Redis is down it keeps running
 * jobs but gives up the lease (nobody schedules until Redis is back).
 *
 * SIGTERM and SIGINT only set a flag and wake the sleep, so the jobs in
 * hand always finish and their results are recorded before the runner
 * exits (the main process passes the signal on and waits for its
 * children).
 */
#include "jobs.h"
#include "webhook_send.h"
#include "fanout.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../common/config.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/sig.h"
#include "../common/rowjson.h"
#include "../common/timefmt.h"

#define LEASE_TTL_MS 15000
#define LEASE_RENEW_MS 5000        /* also the scheduler pass interval */
#define DOWN_BACKOFF_MIN_MS 250
#define DOWN_BACKOFF_MAX_MS 5000
#define SETTLE_TRIES 5             /* recording a result: 250 ms … 2 s apart */
#define REQUEUE_BATCH 100
#define CLEANUP_BATCH 1000
#define CLEANUP_MAX_BATCHES 1000
#define NOOP_MAX_SLEEP_MS 30000
#define ERR_LEN 1024

static volatile sig_atomic_t got_term;
static int wake_pipe[2] = { -1, -1 };
/* The job in hand: its attempt, and the delay a handler asked for. */
static int cur_attempt;
static long cur_retry_ms = -1;

int jobs_current_attempt(void)
{
	return cur_attempt;
}

void jobs_retry_after(long delay_ms)
{
	cur_retry_ms = delay_ms < 0 ? 0 : delay_ms;
}

/* --- registry ------------------------------------------------------------ */

static void sleep_ms_uninterrupted(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * system.noop: succeeds.  Payload {"fail": true} makes it fail and
 * {"sleep_ms": N} (at most 30 s) makes it take a while; both are harmless,
 * so tests of retries, the DLQ and graceful shutdown can use them anywhere.
 */
static int job_noop(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		    const cJSON *payload, char *err, size_t errlen)
{
	(void)db;
	(void)cache;
	(void)a;
	(void)tenant_id;
	const cJSON *sleep = cJSON_GetObjectItemCaseSensitive(payload, "sleep_ms");
	if (cJSON_IsNumber(sleep) && sleep->valuedouble > 0) {
		double ms = sleep->valuedouble;
		sleep_ms_uninterrupted(ms > NOOP_MAX_SLEEP_MS ? NOOP_MAX_SLEEP_MS : (long)ms);
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(payload, "fail"))) {
		snprintf(err, errlen, "failed on request (payload \"fail\": true)");
		return -1;
	}
	return 0;
}

/* What system.cleanup deletes, oldest first, in batches. */
static const struct {
	const char *what;
	const char *sql;
} cleanup_steps[] = {
	{ "done jobs older than 7 days",
	  "DELETE FROM jobs WHERE status = 'done' AND finished_at < UTC_TIMESTAMP(3) - INTERVAL 7 DAY "
	  "ORDER BY finished_at LIMIT 1000" },
	{ "dead letters older than 30 days",
	  "DELETE FROM dead_letters WHERE created_at < UTC_TIMESTAMP(3) - INTERVAL 30 DAY "
	  "ORDER BY created_at LIMIT 1000" },
	/* Their dead letters are gone too by now: nothing refers to them. */
	{ "dead jobs older than 30 days",
	  "DELETE FROM jobs WHERE status = 'dead' AND finished_at < UTC_TIMESTAMP(3) - INTERVAL 30 DAY "
	  "ORDER BY finished_at LIMIT 1000" },
};

/* system.cleanup: prunes finished work (enqueued hourly by the scheduler). */
static int job_cleanup(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		       const cJSON *payload, char *err, size_t errlen)
{
	(void)tenant_id;
	(void)payload;
	for (size_t i = 0; i < sizeof(cleanup_steps) / sizeof(cleanup_steps[0]); i++) {
		unsigned long long total = 0;
		for (int batch = 0; batch < CLEANUP_MAX_BATCHES && !got_term; batch++) {
			db_result *res;
			if (db_exec(db, a, cleanup_steps[i].sql, NULL, 0, &res) != DB_OK) {
				snprintf(err, errlen, "deleting %s: %s", cleanup_steps[i].what,
					 db_last_error(db));
				return -1;
			}
			total += res->affected;
			if (res->affected < CLEANUP_BATCH)
				break;
		}
		if (total)
			log_info("jobs: cleanup deleted %llu %s", total, cleanup_steps[i].what);
	}
	/* The handlers' own housekeeping (audit retention, …). */
	for (const job_kind_t *k = handler_job_kinds; k && k->name; k++)
		if (k->cleanup && k->run(db, cache, a, NULL, NULL, err, errlen) != 0)
			return -1;
	return 0;
}

/* The runner's own kinds; the handlers' come from handler_job_kinds. */
static const job_kind_t job_kinds[] = {
	{ .name = "system.noop", .run = job_noop },
	{ .name = "system.cleanup", .run = job_cleanup },
	{ .name = "webhook.deliver", .timeout_s = WEBHOOK_TIMEOUT_S + JOBS_HTTP_LOCK_MARGIN_S,
	  .http_start = wh_deliver_start, .http_finish = wh_deliver_finish,
	  .endpoint_field = "webhook_id", .max_attempts = &g_config.webhook_max_attempts },
	{ .name = FANOUT_DLQ_KIND, .run = fanout_requeue_job },
};

const job_kind_t *jobs_kind_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof(job_kinds) / sizeof(job_kinds[0]); i++)
		if (strcmp(job_kinds[i].name, name) == 0)
			return &job_kinds[i];
	for (const job_kind_t *k = handler_job_kinds; name && k && k->name; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* --- enqueue, backoff, describe ------------------------------------------ */

enum db_status jobs_enqueue_unique(db_t *db, arena_t *a, const char *tenant_id,
				   const char *kind, const cJSON *payload, int max_attempts,
				   long delay_ms, const char *dedupe_key, char *id)
{
	id_new(id, 40, "job_");
	/* Numbers keep every digit (see common/jsonx.h). */
	cJSON *exact = payload ? cJSON_Duplicate(payload, true) : NULL;
	json_exact_numbers(exact);
	char *pj = exact ? cJSON_PrintUnformatted(exact) : NULL;
	char *p = arena_strdup(a, pj ? pj : "{}");
	cJSON_free(pj);
	cJSON_Delete(exact);
	const job_kind_t *k = jobs_kind_find(kind);
	const char *endpoint = k && k->endpoint_field ? json_str_of(payload, k->endpoint_field)
						      : NULL;
	db_param prm[] = { db_str(id), db_str(tenant_id), db_str(kind), db_str(p),
			   db_int(max_attempts > 0 ? max_attempts
				  : k && k->max_attempts ? *k->max_attempts : g_config.jobs_max_attempts),
			   db_int(delay_ms > 0 ? delay_ms : 0), db_str(dedupe_key),
			   endpoint && strlen(endpoint) < 64 ? db_str(endpoint) : db_null() };
	return db_exec(db, a, "INSERT INTO jobs (id, tenant_id, kind, payload, max_attempts, run_at, "
		       "dedupe_key, endpoint, created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
		       "UTC_TIMESTAMP(3) + INTERVAL ? * 1000 MICROSECOND, ?, ?, UTC_TIMESTAMP(3), "
		       "UTC_TIMESTAMP(3))", prm, 8, NULL);
}

enum db_status jobs_enqueue(db_t *db, arena_t *a, const char *tenant_id, const char *kind,
			    const cJSON *payload, int max_attempts, long delay_ms, char *id)
{
	return jobs_enqueue_unique(db, a, tenant_id, kind, payload, max_attempts, delay_ms,
				   NULL, id);
}

long jobs_backoff_ms(int attempts, long base_ms, int jitter)
{
	if (base_ms <= 0)
		return 0;
	long d = base_ms > JOBS_BACKOFF_CAP_MS ? JOBS_BACKOFF_CAP_MS : base_ms;
	for (int i = 1; i < attempts && d < JOBS_BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > JOBS_BACKOFF_CAP_MS)
		d = JOBS_BACKOFF_CAP_MS;
	if (jitter)
		d += (long)randombytes_uniform((uint32_t)(d / 5) + 1);
	return d;
}

static const col_t job_cols[] = {
	{ "id", COL_STR, 0 },
	{ "tenant_id", COL_STR, 0 },
	{ "kind", COL_STR, 0 },
	{ "status", COL_STR, 0 },
	{ "attempts", COL_INT, 0 },
	{ "max_attempts", COL_INT, 0 },
	{ "last_error", COL_STR, 0 },
	{ "run_at", COL_TIME, 0 },
	{ "locked_by", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ "finished_at", COL_TIME, 0 },
	{ "dead_letter_id", COL_STR, 0 },
	{ "payload", COL_JSON, 0 },
	{ NULL, 0, 0 },
};

cJSON *jobs_describe(db_t *db, arena_t *a, const char *id, enum db_status *st)
{
	db_param p[] = { db_str(id) };
	db_result *res;
	*st = db_exec(db, a,
		      "SELECT j.id, j.tenant_id, j.kind, j.status, j.attempts, j.max_attempts, "
		      "j.last_error, j.run_at, j.locked_by, j.created_at, j.finished_at, "
		      "(SELECT d.id FROM dead_letters d WHERE d.job_id = j.id "
		      " ORDER BY d.created_at DESC, d.id DESC LIMIT 1) AS dead_letter_id, j.payload "
		      "FROM jobs j WHERE j.id = ?", p, 1, &res);
	if (*st != DB_OK || res->nrows == 0)
		return NULL;
	return row_to_json(job_cols, res, 0);
}

/* --- recording outcomes ---------------------------------------------------- */

/* Every transition out of `running` is guarded by who holds the job and at
 * which attempt, so a runner whose lock expired (and was taken over) cannot
 * overwrite the new holder's outcome: its update matches no row. */
#define HELD_BY " WHERE id = ? AND status = 'running' AND locked_by = ? AND attempts = ?"

struct job_ref {
	const char *id;
	const char *locked_by;
	int attempts;
	int max_attempts;
};

static enum db_status job_mark_done(db_t *db, arena_t *a, const struct job_ref *j,
				    unsigned long long *affected)
{
	db_param p[] = { db_str(j->id), db_str(j->locked_by), db_int(j->attempts) };
	db_result *res;
	enum db_status st = db_exec(db, a,
		"UPDATE jobs SET status = 'done', finished_at = UTC_TIMESTAMP(3), "
		"locked_until = NULL, last_error = NULL, updated_at = UTC_TIMESTAMP(3)" HELD_BY,
		p, 3, &res);
	*affected = st == DB_OK ? res->affected : 0;
	return st;
}

static enum db_status job_mark_retry(db_t *db, arena_t *a, const struct job_ref *j,
				     const char *err, unsigned long long *affected)
{
	long delay = cur_retry_ms >= 0 ? cur_retry_ms
				       : jobs_backoff_ms(j->attempts, g_config.jobs_backoff_base_ms, 1);
	db_param p[] = { db_int(delay), db_str(err), db_str(j->id), db_str(j->locked_by),
			 db_int(j->attempts) };
	db_result *res;
	enum db_status st = db_exec(db, a,
		"UPDATE jobs SET status = 'queued', "
		"run_at = UTC_TIMESTAMP(3) + INTERVAL ? * 1000 MICROSECOND, last_error = ?, "
		"locked_by = NULL, locked_until = NULL, updated_at = UTC_TIMESTAMP(3)" HELD_BY,
		p, 5, &res);
	*affected = st == DB_OK ? res->affected : 0;
	return st;
}

/* Marks the job dead and copies it to dead_letters, in one transaction. */
static enum db_status job_mark_dead(db_t *db, arena_t *a, const struct job_ref *j,
				    const char *err, unsigned long long *affected)
{
	*affected = 0;
	enum db_status st = db_begin(db);
	if (st)
		return st;
	db_param p[] = { db_str(err), db_str(j->id), db_str(j->locked_by), db_int(j->attempts) };
	db_result *res;
	st = db_exec(db, a,
		"UPDATE jobs SET status = 'dead', finished_at = UTC_TIMESTAMP(3), last_error = ?, "
		"locked_until = NULL, updated_at = UTC_TIMESTAMP(3)" HELD_BY, p, 4, &res);
	if (st || res->affected == 0)
		goto out_rollback;
	char dlq_id[40];
	id_new(dlq_id, sizeof(dlq_id), "dlq_");
	db_param q[] = { db_str(dlq_id), db_str(j->id) };
	st = db_exec(db, a,
		"INSERT INTO dead_letters (id, job_id, tenant_id, kind, payload, attempts, "
		"last_error, created_at) SELECT ?, id, tenant_id, kind, payload, attempts, "
		"last_error, UTC_TIMESTAMP(3) FROM jobs WHERE id = ?", q, 2, NULL);
	if (st)
		goto out_rollback;
	st = db_commit(db);
	if (st == DB_OK) {
		*affected = 1;
		log_warn("jobs: %s dead after %d attempts, moved to the DLQ as %s: %s",
			 j->id, j->attempts, dlq_id, err);
	}
	return st;
out_rollback:
	db_rollback(db);
	return st;
}

static enum db_status job_mark_failed(db_t *db, arena_t *a, const struct job_ref *j,
				      const char *err, unsigned long long *affected)
{
	if (j->attempts < j->max_attempts)
		return job_mark_retry(db, a, j, err, affected);
	return job_mark_dead(db, a, j, err, affected);
}

/* --- the runner ------------------------------------------------------------ */

/* What a process of the runner does (see jobs_run). */
enum role {
	ROLE_MAIN,      /* scheduler lease and pass, fan-out, supervising the others */
	ROLE_HTTP,      /* the HTTP kinds, concurrently */
	ROLE_WORKER,    /* the other kinds, one at a time */
};

#define HTTP_KINDS_MAX 32

struct runner {
	db_t *db;
	cache_t *cache;
	arena_t *a;
	char id[64];            /* hostname:pid, the locked_by and lease value */
	enum role role;
	bool db_down;           /* an outage is logged once, not per attempt */
	bool redis_down;
	bool lease_held;
	long down_backoff_ms;
	long long next_lease_ms;
	char cleanup_key[64];   /* the last hourly key enqueued (or found) */
	const char *http_kinds[HTTP_KINDS_MAX];
	int n_http;
};

/* A claimed job: strings live in the arena it was claimed into. */
struct claimed {
	struct job_ref ref;
	const char *tenant_id;
	const char *kind;
	const char *payload;
	const char *endpoint;
	long long t0;
};

/*
 * Claims the next due job of r's role into a: an HTTP kind for ROLE_HTTP,
 * skipping the endpoints in busy; any other kind for ROLE_WORKER.
 * 1: claimed, 0: none due, -1: database trouble.
 */
static int job_claim(struct runner *r, arena_t *a, const char *const *busy, int nbusy,
		     struct claimed *j)
{
	int np = r->n_http + nbusy;
	db_param *p = arena_alloc(a, sizeof(*p) * (size_t)(np + 1));
	for (int i = 0; i < r->n_http; i++)
		p[i] = db_str(r->http_kinds[i]);
	for (int i = 0; i < nbusy; i++)
		p[r->n_http + i] = db_str(busy[i]);
	const char *sql = arena_printf(a,
		"SELECT id, tenant_id, kind, payload, attempts, max_attempts, endpoint FROM jobs "
		"WHERE status = 'queued' AND run_at <= UTC_TIMESTAMP(3) AND kind %s (%s)%s%s%s "
		"ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED",
		r->role == ROLE_HTTP ? "IN" : "NOT IN", db_placeholders(a, r->n_http),
		nbusy ? " AND (endpoint IS NULL OR endpoint NOT IN (" : "",
		nbusy ? db_placeholders(a, nbusy) : "", nbusy ? "))" : "");
	enum db_status st = db_begin(r->db);
	if (st)
		return -1;
	db_result *res;
	st = db_exec(r->db, a, sql, p, np, &res);
	if (st || res->nrows == 0)
		goto out_rollback;
	j->ref.id = db_get(res, 0, "id");
	j->ref.locked_by = r->id;
	j->ref.attempts = (int)db_get_int(res, 0, "attempts", 0) + 1;
	j->ref.max_attempts = (int)db_get_int(res, 0, "max_attempts", 1);
	j->tenant_id = db_get(res, 0, "tenant_id");
	j->kind = db_get(res, 0, "kind");
	j->payload = db_get(res, 0, "payload");
	j->endpoint = db_get(res, 0, "endpoint");
	j->t0 = time_now_ms();
	const job_kind_t *k = jobs_kind_find(j->kind);
	int timeout = k && k->timeout_s > 0 ? k->timeout_s : JOBS_VISIBILITY_S;
	db_param q[] = { db_str(r->id), db_int(timeout), db_str(j->ref.id) };
	st = db_exec(r->db, a,
		     "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = ?, "
		     "locked_until = UTC_TIMESTAMP(3) + INTERVAL ? SECOND, "
		     "updated_at = UTC_TIMESTAMP(3) WHERE id = ?", q, 3, NULL);
	if (st)
		goto out_rollback;
	return db_commit(r->db) == DB_OK ? 1 : -1;
out_rollback:
	db_rollback(r->db);
	return st == DB_OK || st == DB_DEADLOCK ? 0 : -1;
}

static void json_cleanup(void *p)
{
	cJSON_Delete(p);
}

/* The payload of j as JSON (NULL when it has none), freed with a. */
static cJSON *job_payload(arena_t *a, const struct claimed *j)
{
	cJSON *payload = j->payload ? cJSON_Parse(j->payload) : NULL;
	if (payload)
		arena_defer(a, json_cleanup, payload);
	return payload;
}

/* Runs a claimed job's handler.  Returns 0 or -1 with a message in err. */
static int job_execute(struct runner *r, const struct claimed *j, char *err, size_t errlen)
{
	err[0] = '\0';
	const job_kind_t *k = jobs_kind_find(j->kind);
	if (!k || !k->run) {
		snprintf(err, errlen, "unknown job kind");
		return -1;
	}
	cJSON *payload = job_payload(r->a, j);
	cur_attempt = j->ref.attempts;
	cur_retry_ms = -1;
	return k->run(r->db, r->cache, r->a, j->tenant_id, payload, err, errlen);
}

/*
 * Records the outcome, retrying a little while MariaDB is unreachable.  If
 * that fails the job stays `running` and reruns once its lock expires.
 */
static void job_settle(struct runner *r, const struct claimed *j, int rc, const char *err)
{
	enum db_status st = DB_OK;
	for (int i = 0; i < SETTLE_TRIES; i++) {
		if (i)
			sleep_ms_uninterrupted(DOWN_BACKOFF_MIN_MS << (i - 1));
		unsigned long long affected = 0;
		st = rc == 0 ? job_mark_done(r->db, r->a, &j->ref, &affected)
			     : job_mark_failed(r->db, r->a, &j->ref, err, &affected);
		if (st == DB_OK) {
			if (affected == 0)
				log_warn("jobs: %s (%s): lock expired and the job was taken over; "
					 "this run's outcome is dropped", j->ref.id, j->kind);
			return;
		}
		if (st != DB_UNAVAILABLE && st != DB_DEADLOCK)
			break;
	}
	log_error("jobs: %s (%s): cannot record the outcome (%s); it reruns when its lock expires",
		  j->ref.id, j->kind, db_last_error(r->db));
}

/* Puts back a job its HTTP kind deferred (JOB_DEFER), to run after the
 * delay it asked for; the attempt it was claimed for is not counted.  If
 * that cannot be written the job reruns once its lock expires. */
static void job_defer(struct runner *r, arena_t *a, const struct claimed *j)
{
	long delay = cur_retry_ms >= 0 ? cur_retry_ms : 1000;
	db_param p[] = { db_int(delay), db_str(j->ref.id), db_str(j->ref.locked_by),
			 db_int(j->ref.attempts) };
	if (db_exec(r->db, a,
		    "UPDATE jobs SET status = 'queued', attempts = attempts - 1, "
		    "run_at = UTC_TIMESTAMP(3) + INTERVAL ? * 1000 MICROSECOND, locked_by = NULL, "
		    "locked_until = NULL, updated_at = UTC_TIMESTAMP(3)" HELD_BY, p, 4, NULL) != DB_OK)
		log_error("jobs: %s (%s): cannot defer it (%s); it reruns when its lock expires",
			  j->ref.id, j->kind, db_last_error(r->db));
	cur_attempt = 0;
	cur_retry_ms = -1;
}

/* Ends a job its handler returned rc for: logs and records the outcome. */
static void job_end(struct runner *r, const struct claimed *j, int rc, char *err, size_t errlen)
{
	if (db_in_transaction(r->db)) {
		log_error("jobs: %s (%s) left a transaction open; rolled back", j->ref.id, j->kind);
		db_rollback(r->db);
	}
	if (rc != 0 && !err[0])
		snprintf(err, errlen, "job failed");
	if (rc == 0)
		log_debug("jobs: %s (%s) done in %lld ms, attempt %d", j->ref.id, j->kind,
			  time_now_ms() - j->t0, j->ref.attempts);
	else
		log_warn("jobs: %s (%s) failed, attempt %d of %d: %s", j->ref.id, j->kind,
			 j->ref.attempts, j->ref.max_attempts, err);
	job_settle(r, j, rc == 0 ? 0 : -1, err);
	cur_attempt = 0;
	cur_retry_ms = -1;
}

/* ROLE_WORKER: claims and runs one job.  1: ran one, 0: queue empty, -1:
 * database down. */
static int runner_step(struct runner *r)
{
	struct claimed j;
	int got = job_claim(r, r->a, NULL, 0, &j);
	if (got <= 0)
		return got;
	char err[ERR_LEN];
	int rc = job_execute(r, &j, err, sizeof(err));
	job_end(r, &j, rc, err, sizeof(err));
	return 1;
}

/* --- ROLE_HTTP: outgoing requests in flight together ----------------------- */

struct flight {
	struct runner *r;
	bool used;
	arena_t *a;                 /* the job's, until it ends */
	struct claimed j;
	const job_kind_t *k;
	cJSON *payload;
	job_http_t req;
};

/* Ends the job of f with the answer res and frees the slot. */
static void flight_done(void *user, const outhttp_result_t *res)
{
	struct flight *f = user;
	char err[ERR_LEN] = "";
	cur_attempt = f->j.ref.attempts;
	cur_retry_ms = -1;
	int rc = f->k->http_finish(f->r->db, f->r->cache, f->a, f->j.tenant_id, f->payload, &f->req,
				   res, err, sizeof(err));
	job_end(f->r, &f->j, rc, err, sizeof(err));
	arena_free(f->a);
	f->a = NULL;
	f->used = false;
}

/* The endpoints with jobs_http_per_endpoint requests in flight (in a). */
static int busy_endpoints(arena_t *a, const struct flight *fl, int n, const char ***out)
{
	const char **busy = arena_alloc(a, sizeof(*busy) * (size_t)(n + 1));
	int nbusy = 0;
	for (int i = 0; i < n; i++) {
		if (!fl[i].used || !fl[i].j.endpoint)
			continue;
		int count = 0;
		bool seen = false;
		for (int k = 0; k < n && !seen; k++) {
			if (!fl[k].used || !fl[k].j.endpoint || strcmp(fl[k].j.endpoint, fl[i].j.endpoint))
				continue;
			seen = k < i;    /* counted at its first flight */
			count++;
		}
		if (!seen && count >= g_config.jobs_http_per_endpoint)
			busy[nbusy++] = fl[i].j.endpoint;
	}
	*out = busy;
	return nbusy;
}

/* Claims one HTTP job into a free slot and starts its request.  1: one
 * claimed, 0: none due, -1: database down. */
static int flight_start(struct runner *r, outhttp_multi_t *m, struct flight *fl, int n)
{
	struct flight *f = NULL;
	for (int i = 0; i < n && !f; i++)
		if (!fl[i].used)
			f = &fl[i];
	if (!f)
		return 0;
	const char **busy;
	int nbusy = busy_endpoints(r->a, fl, n, &busy);
	arena_t *a = arena_new(16 * 1024);
	int got = job_claim(r, a, busy, nbusy, &f->j);
	if (got <= 0) {
		arena_free(a);
		return got;
	}
	*f = (struct flight){ .r = r, .used = true, .a = a, .j = f->j,
			      .k = jobs_kind_find(f->j.kind) };
	f->payload = job_payload(a, &f->j);
	char err[ERR_LEN] = "";
	cur_attempt = f->j.ref.attempts;
	cur_retry_ms = -1;
	int rc = f->k && f->k->http_start
		? f->k->http_start(r->db, r->cache, a, f->j.tenant_id, f->payload, &f->req, err,
				   sizeof(err))
		: (snprintf(err, sizeof(err), "unknown job kind"), -1);
	if (rc != 1) {
		if (rc == JOB_DEFER)
			job_defer(r, a, &f->j);
		else
			job_end(r, &f->j, rc, err, sizeof(err));
		arena_free(a);
		f->a = NULL;
		f->used = false;
		return 1;
	}
	if (f->req.skip) {
		outhttp_result_t none = { 0 };
		flight_done(f, &none);
		return 1;
	}
	outhttp_multi_add(m, f->req.method, f->req.url, f->req.headers, f->req.body,
			  f->req.body_len, f->req.timeout_s, g_config.http_allow_private,
			  flight_done, f);
	return 1;
}

/* Whether the runner's main process is stopped (SIGSTOP, a debugger): its
 * children then claim nothing either, as a stopped runner would not. */
static bool parent_stopped(void)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)getppid());
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *end = strrchr(buf, ')');
	return end && (end[2] == 'T' || end[2] == 't');
}

static long runner_after_step(struct runner *r, int got);

/* Until SIGTERM, then until what is in flight has ended. */
static void http_loop(struct runner *r, int wake_fd)
{
	int n = g_config.jobs_http_concurrency;
	struct flight *fl = calloc((size_t)n, sizeof(*fl));
	outhttp_multi_t *m = outhttp_multi_new();
	if (!fl || !m) {
		log_error("jobs: out of memory for %d requests in flight", n);
		free(fl);
		outhttp_multi_free(m);
		return;
	}
	while (!got_term || outhttp_multi_inflight(m) > 0) {
		int got = 0;
		bool paused = parent_stopped();
		while (!got_term && !paused && outhttp_multi_inflight(m) < n &&
		       (got = flight_start(r, m, fl, n)) > 0)
			;
		long wait = runner_after_step(r, got);
		if (wait == 0 || outhttp_multi_inflight(m) >= n)
			wait = g_config.jobs_poll_ms;    /* a slot frees up, or the queue was read */
		if (got_term)
			wait = 100;
		outhttp_multi_run(m, (int)wait, wake_fd);
		char buf[64];
		while (read(wake_fd, buf, sizeof(buf)) > 0)
			;
		arena_reset(r->a);
	}
	outhttp_multi_free(m);
	free(fl);
}

/* --- scheduler lease and pass ---------------------------------------------- */

/* Renews only if we still hold it: another runner may have taken it over
 * after our lease lapsed (a long job kept us from renewing). */
static const char lease_renew_lua[] =
	"if redis.call('get', KEYS[1]) == ARGV[1] then "
	"return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
static const char lease_release_lua[] =
	"if redis.call('get', KEYS[1]) == ARGV[1] then "
	"return redis.call('del', KEYS[1]) else return 0 end";

static void lease_tick(struct runner *r)
{
	char ttl[16];
	snprintf(ttl, sizeof(ttl), "%d", LEASE_TTL_MS);
	redisReply *rep = NULL;
	enum cache_status st;
	bool held;
	if (r->lease_held) {
		const char *argv[] = { "EVAL", lease_renew_lua, "1", JOBS_LEASE_KEY, r->id, ttl };
		st = cache_cmd(r->cache, r->a, &rep, 6, argv);
		held = st == CACHE_OK && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	} else {
		const char *argv[] = { "SET", JOBS_LEASE_KEY, r->id, "NX", "PX", ttl };
		st = cache_cmd(r->cache, r->a, &rep, 6, argv);
		held = st == CACHE_OK && rep->type == REDIS_REPLY_STATUS;
	}
	if (st == CACHE_UNAVAILABLE && !r->redis_down)
		log_warn("jobs: Redis unavailable: not scheduling until it is back");
	else if (st != CACHE_UNAVAILABLE && r->redis_down)
		log_info("jobs: Redis is back");
	r->redis_down = st == CACHE_UNAVAILABLE;
	if (held != r->lease_held)
		log_info("jobs: %s %s the scheduler lease", r->id, held ? "took" : "lost");
	r->lease_held = held;
}

static void lease_release(struct runner *r)
{
	if (!r->lease_held)
		return;
	const char *argv[] = { "EVAL", lease_release_lua, "1", JOBS_LEASE_KEY, r->id };
	redisReply *rep;
	if (cache_cmd(r->cache, r->a, &rep, 5, argv) == CACHE_OK)
		log_info("jobs: %s released the scheduler lease", r->id);
	r->lease_held = false;
}

/* Jobs whose runner died (or hangs) past locked_until count as a failed
 * attempt: retried with backoff, or dead once out of attempts, so a job that
 * kills its runner cannot take down runner after runner forever. */
static void sched_requeue_expired(struct runner *r)
{
	db_result *res;
	if (db_exec(r->db, r->a,
		    "SELECT id, kind, locked_by, attempts, max_attempts FROM jobs "
		    "WHERE status = 'running' AND locked_until < UTC_TIMESTAMP(3) "
		    "ORDER BY locked_until LIMIT 100", NULL, 0, &res) != DB_OK)
		return;
	for (int i = 0; i < res->nrows; i++) {
		struct job_ref j = {
			.id = db_get(res, i, "id"),
			.locked_by = db_get(res, i, "locked_by"),
			.attempts = (int)db_get_int(res, i, "attempts", 0),
			.max_attempts = (int)db_get_int(res, i, "max_attempts", 1),
		};
		if (!j.locked_by)
			j.locked_by = "";
		char *err = arena_printf(r->a, "lock expired: runner %s did not finish attempt %d",
					 j.locked_by, j.attempts);
		unsigned long long affected = 0;
		/* (job_mark_dead logs the other outcome) */
		if (job_mark_failed(r->db, r->a, &j, err, &affected) == DB_OK && affected &&
		    j.attempts < j.max_attempts)
			log_warn("jobs: %s (%s): %s; requeued", j.id, db_get(res, i, "kind"), err);
	}
}

/* Hourly cleanup; the dedupe key makes a second scheduler's insert a no-op. */
static void sched_enqueue_cleanup(struct runner *r)
{
	char key[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(key, sizeof(key), "system.cleanup:%Y%m%d%H", &tm);
	if (strcmp(key, r->cleanup_key) == 0)
		return;
	char id[40];
	enum db_status st = jobs_enqueue_unique(r->db, r->a, NULL, "system.cleanup", NULL, 0, 0,
						key, id);
	if (st == DB_OK)
		log_info("jobs: scheduler enqueued %s (%s)", id, key);
	if (st == DB_OK || st == DB_DUPLICATE)
		snprintf(r->cleanup_key, sizeof(r->cleanup_key), "%s", key);
}

static void sched_lane(struct runner *r)
{
	sched_requeue_expired(r);
	sched_enqueue_cleanup(r);
	for (const job_kind_t *k = handler_job_kinds; k && k->name; k++)
		if (k->schedule)
			k->schedule(r->db, r->cache, r->a);
}

/* --- process plumbing ------------------------------------------------------ */

static void on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	if (wake_pipe[1] >= 0) {
		ssize_t w = write(wake_pipe[1], "x", 1);
		(void)w;
	}
	errno = saved;
}

static int make_pipe(void)
{
	if (pipe(wake_pipe) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		fcntl(wake_pipe[i], F_SETFL, fcntl(wake_pipe[i], F_GETFL) | O_NONBLOCK);
		fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
	}
	return 0;
}

/* Sleeps up to ms, waking early on SIGTERM/SIGINT. */
static void wait_ms(long ms)
{
	if (ms <= 0 || got_term)
		return;
	struct pollfd pfd = { .fd = wake_pipe[0], .events = POLLIN };
	poll(&pfd, 1, ms > 60000 ? 60000 : (int)ms);
	char buf[64];
	while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
}

static void pid_file_write(const char *path)
{
	if (!path || !*path)
		return;
	FILE *f = fopen(path, "w");
	if (!f) {
		log_warn("jobs: cannot write %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

/* Removes the pid file only if it is still ours: a second runner started
 * with the same configuration may have written its own pid there since. */
static void pid_file_remove(const char *path)
{
	if (!path || !*path)
		return;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	int pid = 0;
	int n = fscanf(f, "%d", &pid);
	fclose(f);
	if (n == 1 && pid == (int)getpid())
		unlink(path);
}

/* Every process of a runner claims as the runner (locked_by is its id):
 * jobs show which runner holds them, and a runner that dies is known by
 * its pid. */
static void runner_init(struct runner *r, enum role role, const char *id)
{
	memset(r, 0, sizeof(*r));
	r->role = role;
	if (id) {
		snprintf(r->id, sizeof(r->id), "%s", id);
	} else {
		char host[256];
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		/* locked_by is VARCHAR(64): keep room for ":pid". */
		snprintf(r->id, sizeof(r->id), "%.50s:%d", host, (int)getpid());
	}
	r->db = db_new(&g_config);
	r->cache = cache_new(&g_config);
	r->a = arena_new(64 * 1024);
	for (size_t i = 0; i < sizeof(job_kinds) / sizeof(job_kinds[0]); i++)
		if (job_kinds[i].http_start && r->n_http < HTTP_KINDS_MAX)
			r->http_kinds[r->n_http++] = job_kinds[i].name;
	for (const job_kind_t *k = handler_job_kinds; k && k->name; k++)
		if (k->http_start && r->n_http < HTTP_KINDS_MAX)
			r->http_kinds[r->n_http++] = k->name;
}

static void runner_release(struct runner *r)
{
	arena_free(r->a);
	cache_free(r->cache);
	db_free(db_control(r->db)); /* with the other servers' handles */
}

/* The data servers (README "Scaling"): the primary first.  Each has its
 * jobs and outbox tables; the runner runs its processes and passes once
 * per server ("lane"), with r->db on that server. */
#define LANES_MAX 16
static char *lane_names[LANES_MAX];
static int nlanes;

/* Runs fn(r) once per server with r->db on it. */
static void lanes_each(struct runner *r, void (*fn)(struct runner *r))
{
	db_t *primary = db_control(r->db);
	for (int l = 0; l < nlanes; l++) {
		db_t *d = db_for_server(primary, lane_names[l]);
		if (!d)
			continue;
		r->db = d;
		fn(r);
		arena_reset(r->a);
	}
	r->db = primary;
}

/* Tracks MariaDB outages: returns how long to wait after a step. */
static long runner_after_step(struct runner *r, int got)
{
	if (got >= 0) {
		if (r->db_down)
			log_info("jobs: database is back");
		r->db_down = false;
		r->down_backoff_ms = 0;
		return got > 0 ? 0 : g_config.jobs_poll_ms;
	}
	r->down_backoff_ms = r->down_backoff_ms ? r->down_backoff_ms * 2 : DOWN_BACKOFF_MIN_MS;
	if (r->down_backoff_ms > DOWN_BACKOFF_MAX_MS)
		r->down_backoff_ms = DOWN_BACKOFF_MAX_MS;
	if (!r->db_down)
		log_warn("jobs: database unavailable (%s); retrying every %d s at most",
			 db_last_error(r->db), DOWN_BACKOFF_MAX_MS / 1000);
	r->db_down = true;
	return r->down_backoff_ms;
}

/* --- what a dead process of this host left behind -------------------------- */

/* Whether holder ("host:pid") names a process of this host that is gone. */
static bool holder_dead(const struct runner *r, const char *holder)
{
	const char *colon = strrchr(r->id, ':');
	size_t hl = (size_t)(colon - r->id) + 1;
	if (!holder || strncmp(holder, r->id, hl) != 0)
		return false;
	char *end;
	long pid = strtol(holder + hl, &end, 10);
	return *end == '\0' && pid > 1 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/*
 * Jobs held by runners of this host that no longer exist (one that was
 * killed, or stopped by a crash) run again now rather than when their
 * locks expire: the attempt counts, as an expired lock's does.  The scheduler lease of a dead holder is freed the same way.
 */
static void recover_dead_holders(struct runner *r)
{
	const char *colon = strrchr(r->id, ':');
	char *prefix = arena_printf(r->a, "%.*s:%%", (int)(colon - r->id), r->id);
	db_param p[] = { db_str(prefix) };
	db_result *res;
	if (db_exec(r->db, r->a,
		    "SELECT id, kind, locked_by, attempts, max_attempts FROM jobs "
		    "WHERE status = 'running' AND locked_by LIKE ? LIMIT 1000", p, 1, &res) == DB_OK) {
		for (int i = 0; i < res->nrows; i++) {
			struct job_ref j = {
				.id = db_get(res, i, "id"),
				.locked_by = db_get(res, i, "locked_by"),
				.attempts = (int)db_get_int(res, i, "attempts", 0),
				.max_attempts = (int)db_get_int(res, i, "max_attempts", 1),
			};
			if (!holder_dead(r, j.locked_by))
				continue;
			char *err = arena_printf(r->a, "runner %s died during attempt %d", j.locked_by,
						 j.attempts);
			unsigned long long affected = 0;
			cur_retry_ms = 0;
			if (job_mark_failed(r->db, r->a, &j, err, &affected) == DB_OK && affected &&
			    j.attempts < j.max_attempts)
				log_warn("jobs: %s (%s): %s; runs again now", j.id,
					 db_get(res, i, "kind"), err);
			cur_retry_ms = -1;
		}
	}
	redisReply *rep;
	const char *get[] = { "GET", JOBS_LEASE_KEY };
	if (cache_cmd(r->cache, r->a, &rep, 2, get) == CACHE_OK && rep->type == REDIS_REPLY_STRING &&
	    holder_dead(r, rep->str)) {
		const char *del[] = { "EVAL", lease_release_lua, "1", JOBS_LEASE_KEY, rep->str };
		if (cache_cmd(r->cache, r->a, &rep, 5, del) == CACHE_OK)
			log_info("jobs: freed the scheduler lease of a runner that is gone");
	}
}

/* --- the processes of a runner --------------------------------------------- */

#define CHILD_BACKOFF_MIN_MS 500
#define CHILD_BACKOFF_MAX_MS 30000
#define CHILD_STABLE_MS 60000

struct child {
	enum role role;
	int lane;               /* the server it works on (lane_names) */
	pid_t pid;              /* 0: not running */
	long long started_ms, restart_ms;
	long backoff_ms;
};

static const char *const role_names[] = { "main", "http", "worker" };

/* The body of a child process: never returns. */
static void child_main(enum role role, int lane, const char *id, pid_t parent, int notify_rd,
		       int notify_wr)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	log_set_pid();
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	if (role == ROLE_HTTP) {
		wake_pipe[0] = notify_rd;    /* signals and the fan-out both wake it */
		wake_pipe[1] = notify_wr;
	} else {
		close(notify_rd);
		close(notify_wr);
		if (make_pipe() != 0)
			_exit(1);
	}
	struct runner r;
	runner_init(&r, role, id);
	if (!(r.db = db_for_server(r.db, lane_names[lane])))
		_exit(1);
	if (role == ROLE_HTTP) {
		http_loop(&r, wake_pipe[0]);
	} else {
		while (!got_term) {
			if (parent_stopped()) {
				wait_ms(100);
				continue;
			}
			int got = runner_step(&r);
			arena_reset(r.a);
			wait_ms(runner_after_step(&r, got));
		}
	}
	runner_release(&r);
	_exit(0);
}

static void child_start(const struct runner *r, struct child *c, int notify[2])
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		child_main(c->role, c->lane, r->id, parent, notify[0], notify[1]);
	if (pid < 0) {
		log_error("jobs: cannot start the %s process: %s", role_names[c->role], strerror(errno));
		c->restart_ms = time_now_ms() + CHILD_BACKOFF_MAX_MS;
		return;
	}
	c->pid = pid;
	c->started_ms = time_now_ms();
}

/* Reaps the children that ended and restarts them (with a backoff when
 * they keep ending).  What a crashed child held runs again when its lock
 * expires (the lock names the runner, which lives on). */
static void children_tend(const struct runner *r, struct child *ch, int n, int notify[2])
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < n; i++) {
			if (ch[i].pid != pid)
				continue;
			struct child *c = &ch[i];
			c->pid = 0;
			long long now = time_now_ms();
			if (now - c->started_ms > CHILD_STABLE_MS)
				c->backoff_ms = 0;
			c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : CHILD_BACKOFF_MIN_MS;
			if (c->backoff_ms > CHILD_BACKOFF_MAX_MS)
				c->backoff_ms = CHILD_BACKOFF_MAX_MS;
			c->restart_ms = now + c->backoff_ms;
			log_error("jobs: the %s process %d %s %d; restarting it in %ld ms",
				  role_names[c->role], (int)pid,
				  WIFSIGNALED(status) ? "was killed by signal" : "exited with",
				  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
				  c->backoff_ms);
		}
	}
	for (int i = 0; i < n && !got_term; i++)
		if (!ch[i].pid && time_now_ms() >= ch[i].restart_ms)
			child_start(r, &ch[i], notify);
}

/* Wakes the workers that sleep between polls of an empty queue (SIGUSR1
 * ends their wait; SA_RESTART keeps any other call going), so a job the
 * fan-out enqueued (an automation run) starts now, not after jobs_poll_ms. */
static void workers_wake(const struct child *ch, int n)
{
	for (int i = 0; i < n; i++)
		if (ch[i].role == ROLE_WORKER && ch[i].pid > 0)
			kill(ch[i].pid, SIGUSR1);
}

/* Stops the children: SIGTERM (each finishes what it has in hand), then
 * waits for them. */
static void children_stop(struct child *ch, int n)
{
	for (int i = 0; i < n; i++)
		if (ch[i].pid)
			kill(ch[i].pid, SIGTERM);
	for (int i = 0; i < n; i++) {
		if (!ch[i].pid)
			continue;
		while (waitpid(ch[i].pid, NULL, 0) < 0 && errno == EINTR)
			;
		ch[i].pid = 0;
	}
}

/*
 * The runner: this process holds the scheduler lease and runs the fan-out
 * (so realtime and webhook enqueueing never wait behind a job), and
 * supervises one HTTP process (the webhook deliveries and other outgoing
 * requests, jobs_http_concurrency at once) and jobs_concurrency worker
 * processes (the other kinds, one job at a time each).  A child that ends
 * is restarted with a backoff.
 */
int jobs_run(void)
{
	got_term = 0;
	/* Told apart from the pool's workers in ps and /proc (comm). */
	prctl(PR_SET_NAME, "tessera-jobs");
	int notify[2];
	if (make_pipe() != 0 || pipe(notify) != 0) {
		log_error("jobs: pipe: %s", strerror(errno));
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(notify[i], F_SETFL, fcntl(notify[i], F_GETFL) | O_NONBLOCK);
		fcntl(notify[i], F_SETFD, FD_CLOEXEC);
	}
	sig_handle(SIGTERM, on_signal);
	sig_handle(SIGINT, on_signal);
	/* Only wakes a sleeping worker (see workers_wake). */
	sig_handle(SIGUSR1, on_signal);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	nlanes = db_server_names(&g_config, lane_names, LANES_MAX);
	struct runner r;
	runner_init(&r, ROLE_MAIN, NULL);
	pid_file_write(g_config.jobs_pid_file);
	log_info("jobs: runner %s started (poll %d ms, backoff base %d ms, %d worker%s, "
		 "%d requests in flight, %d per endpoint)", r.id, g_config.jobs_poll_ms,
		 g_config.jobs_backoff_base_ms, g_config.jobs_concurrency,
		 g_config.jobs_concurrency == 1 ? "" : "s", g_config.jobs_http_concurrency,
		 g_config.jobs_http_per_endpoint);
	lanes_each(&r, recover_dead_holders);

	/* One HTTP process and jobs_concurrency workers per server. */
	int per = 1 + g_config.jobs_concurrency, n = per * nlanes;
	struct child *ch = calloc((size_t)n, sizeof(*ch));
	if (!ch) {
		runner_release(&r);
		return 1;
	}
	for (int i = 0; i < n; i++) {
		ch[i].role = i % per ? ROLE_WORKER : ROLE_HTTP;
		ch[i].lane = i / per;
	}
	/* The children open their own connections. */
	for (int i = 0; i < n; i++)
		child_start(&r, &ch[i], notify);

	while (!got_term) {
		if (time_now_ms() >= r.next_lease_ms) {
			lease_tick(&r);
			if (r.lease_held)
				lanes_each(&r, sched_lane);
			arena_reset(r.a);
			r.next_lease_ms = time_now_ms() + LEASE_RENEW_MS;
		}
		bool more = false, enqueued = false;
		int fanned = 0;
		if (nlanes > 1 && fanout_forward(r.db, r.a) < 0)
			log_warn("fanout: forwarding to other servers: %s", db_last_error(r.db));
		for (int l = 0; l < nlanes; l++) {
			bool m = false, e = false;
			db_t *d = db_for_server(r.db, lane_names[l]);
			int f = d ? fanout_pass(d, r.a, &m, &e) : -1;
			arena_reset(r.a);
			fanned = f < 0 ? (fanned > 0 ? fanned : f) : fanned + f;
			more = more || m;
			enqueued = enqueued || e;
		}
		/* Only a pass that enqueued jobs has work for the children: waking
		 * them for every event costs each a poll of the queue. */
		if (fanned > 0 && enqueued) {
			/* deliveries may be due: one wake-up per HTTP process */
			ssize_t w = write(notify[1], "xxxxxxxxxxxxxxxx", (size_t)nlanes);
			(void)w;
			workers_wake(ch, n);                    /* and automation runs */
		}
		children_tend(&r, ch, n, notify);
		arena_reset(r.a);
		/* A batch that was not full: what came since woke us already. */
		long wait = runner_after_step(&r, fanned < 0 ? fanned : more);
		long long until_lease = r.next_lease_ms - time_now_ms();
		if (until_lease < wait)
			wait = (long)until_lease;
		if (!fanout_wait(r.cache, r.a, wait))
			wait_ms(wait);
		arena_reset(r.a);
	}

	children_stop(ch, n);
	free(ch);
	lease_release(&r);
	runner_release(&r);
	pid_file_remove(g_config.jobs_pid_file);
	for (int l = 0; l < nlanes; l++)
		free(lane_names[l]);
	nlanes = 0;
	log_info("jobs: runner stopped");
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	close(notify[0]);
	close(notify[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
	return 0;
}
