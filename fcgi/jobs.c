/*
 * jobs.c - the durable job runner (`tessera jobs`), see jobs.h.
 *
 * One loop: renew (or try to take) the scheduler lease every few seconds
 * and, while holding it, run the scheduler pass; claim the next due job,
 * run it, record the outcome; sleep jobs_poll_ms when the queue is empty.
 * MariaDB and Redis are reached through db_t and cache_t, which reconnect
 * lazily, so a restart of either is survived: while MariaDB is down the
 * runner logs once and backs off; while Redis is down it keeps running
 * jobs but gives up the lease (nobody schedules until Redis is back).
 *
 * SIGTERM and SIGINT only set a flag and wake the sleep, so the job in hand
 * always finishes and its result is recorded before the runner exits.
 */
#include "jobs.h"
#include "webhook_send.h"
#include "fanout.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
	{ "system.noop", job_noop, 0, false },
	{ "system.cleanup", job_cleanup, 0, false },
	{ "webhook.deliver", wh_deliver_job, 30, false },
	{ FANOUT_DLQ_KIND, fanout_requeue_job, 0, false },
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
	db_param prm[] = { db_str(id), db_str(tenant_id), db_str(kind), db_str(p),
			   db_int(max_attempts > 0 ? max_attempts : g_config.jobs_max_attempts),
			   db_int(delay_ms > 0 ? delay_ms : 0), db_str(dedupe_key) };
	return db_exec(db, a, "INSERT INTO jobs (id, tenant_id, kind, payload, max_attempts, run_at, "
		       "dedupe_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, "
		       "UTC_TIMESTAMP(3) + INTERVAL ? * 1000 MICROSECOND, ?, UTC_TIMESTAMP(3), "
		       "UTC_TIMESTAMP(3))", prm, 7, NULL);
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

struct runner {
	db_t *db;
	cache_t *cache;
	arena_t *a;
	char id[64];            /* hostname:pid, the locked_by and lease value */
	bool db_down;           /* an outage is logged once, not per attempt */
	bool redis_down;
	bool lease_held;
	long down_backoff_ms;
	long long next_lease_ms;
	char cleanup_key[64];   /* the last hourly key enqueued (or found) */
};

/* A claimed job: strings live in the runner's arena until the next reset. */
struct claimed {
	struct job_ref ref;
	const char *tenant_id;
	const char *kind;
	const char *payload;
};

/* Claims the next due job.  1: claimed, 0: none due, -1: database trouble. */
static int job_claim(struct runner *r, struct claimed *j)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return -1;
	db_result *res;
	st = db_exec(r->db, r->a,
		     "SELECT id, tenant_id, kind, payload, attempts, max_attempts FROM jobs "
		     "WHERE status = 'queued' AND run_at <= UTC_TIMESTAMP(3) "
		     "ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED", NULL, 0, &res);
	if (st || res->nrows == 0)
		goto out_rollback;
	j->ref.id = db_get(res, 0, "id");
	j->ref.locked_by = r->id;
	j->ref.attempts = (int)db_get_int(res, 0, "attempts", 0) + 1;
	j->ref.max_attempts = (int)db_get_int(res, 0, "max_attempts", 1);
	j->tenant_id = db_get(res, 0, "tenant_id");
	j->kind = db_get(res, 0, "kind");
	j->payload = db_get(res, 0, "payload");
	const job_kind_t *k = jobs_kind_find(j->kind);
	int timeout = k && k->timeout_s > 0 ? k->timeout_s : JOBS_VISIBILITY_S;
	db_param p[] = { db_str(r->id), db_int(timeout), db_str(j->ref.id) };
	st = db_exec(r->db, r->a,
		     "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = ?, "
		     "locked_until = UTC_TIMESTAMP(3) + INTERVAL ? SECOND, "
		     "updated_at = UTC_TIMESTAMP(3) WHERE id = ?", p, 3, NULL);
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

/* Runs a claimed job's handler.  Returns 0 or -1 with a message in err. */
static int job_execute(struct runner *r, const struct claimed *j, char *err, size_t errlen)
{
	err[0] = '\0';
	const job_kind_t *k = jobs_kind_find(j->kind);
	if (!k) {
		snprintf(err, errlen, "unknown job kind");
		return -1;
	}
	cJSON *payload = j->payload ? cJSON_Parse(j->payload) : NULL;
	if (payload)
		arena_defer(r->a, json_cleanup, payload);
	cur_attempt = j->ref.attempts;
	cur_retry_ms = -1;
	int rc = k->run(r->db, r->cache, r->a, j->tenant_id, payload, err, errlen);
	if (db_in_transaction(r->db)) {
		log_error("jobs: %s (%s) left a transaction open; rolled back", j->ref.id, j->kind);
		db_rollback(r->db);
	}
	if (rc != 0 && !err[0])
		snprintf(err, errlen, "job failed");
	return rc == 0 ? 0 : -1;
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

/* Claims and runs one job.  1: ran one, 0: queue empty, -1: database down. */
static int runner_step(struct runner *r)
{
	struct claimed j;
	int got = job_claim(r, &j);
	if (got <= 0)
		return got;
	char err[ERR_LEN];
	long long t0 = time_now_ms();
	int rc = job_execute(r, &j, err, sizeof(err));
	if (rc == 0)
		log_debug("jobs: %s (%s) done in %lld ms, attempt %d", j.ref.id, j.kind,
			  time_now_ms() - t0, j.ref.attempts);
	else
		log_warn("jobs: %s (%s) failed, attempt %d of %d: %s", j.ref.id, j.kind,
			 j.ref.attempts, j.ref.max_attempts, err);
	job_settle(r, &j, rc, err);
	cur_attempt = 0;
	cur_retry_ms = -1;
	return 1;
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

static void sched_pass(struct runner *r)
{
	sched_requeue_expired(r);
	sched_enqueue_cleanup(r);
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

static void runner_init(struct runner *r)
{
	memset(r, 0, sizeof(*r));
	char host[256];
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	/* locked_by is VARCHAR(64): keep room for ":pid". */
	snprintf(r->id, sizeof(r->id), "%.50s:%d", host, (int)getpid());
	r->db = db_new(&g_config);
	r->cache = cache_new(&g_config);
	r->a = arena_new(64 * 1024);
}

static void runner_release(struct runner *r)
{
	arena_free(r->a);
	cache_free(r->cache);
	db_free(r->db);
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

int jobs_run(void)
{
	got_term = 0;
	if (make_pipe() != 0) {
		log_error("jobs: pipe: %s", strerror(errno));
		return 1;
	}
	sig_handle(SIGTERM, on_signal);
	sig_handle(SIGINT, on_signal);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	struct runner r;
	runner_init(&r);
	pid_file_write(g_config.jobs_pid_file);
	log_info("jobs: runner %s started (poll %d ms, backoff base %d ms)", r.id,
		 g_config.jobs_poll_ms, g_config.jobs_backoff_base_ms);
	if (g_config.jobs_concurrency > 1)
		log_warn("jobs: jobs_concurrency = %d is not supported yet; running one job at "
			 "a time (start more runners instead)", g_config.jobs_concurrency);

	while (!got_term) {
		if (time_now_ms() >= r.next_lease_ms) {
			lease_tick(&r);
			if (r.lease_held)
				sched_pass(&r);
			arena_reset(r.a);
			r.next_lease_ms = time_now_ms() + LEASE_RENEW_MS;
		}
		int fanned = fanout_pass(r.db, r.a);
		arena_reset(r.a);
		int got = runner_step(&r);
		arena_reset(r.a);
		long wait = runner_after_step(&r, got);
		if (fanned > 0)
			wait = 0;
		long long until_lease = r.next_lease_ms - time_now_ms();
		if (until_lease < wait)
			wait = (long)until_lease;
		if (!fanout_wait(r.cache, r.a, wait))
			wait_ms(wait);
		arena_reset(r.a);
	}

	lease_release(&r);
	runner_release(&r);
	pid_file_remove(g_config.jobs_pid_file);
	log_info("jobs: runner stopped");
	close(wake_pipe[0]);
	close(wake_pipe[1]);
	wake_pipe[0] = wake_pipe[1] = -1;
	return 0;
}
