/*
 * test_jobs.c - the durable jobs runner (`tessera jobs`, fcgi/jobs.c)
 * against the real stack: jobs are enqueued with `tessera jobs enqueue`,
 * watched with `tessera jobs show --json`, and checked in MariaDB and Redis
 * with their command-line clients.  Some tests start a second runner of
 * their own (faster backoff and polling through TESSERA_JOBS_* variables)
 * next to the stack's, and stop it before they end.
 */
#include "peers.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* --- helpers ---------------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* A redis-cli command against the stack's Redis (malloc'd, chomped). */
static char *redis(const char *args)
{
	int rc;
	char *out = run_cmd(&rc, "redis-cli -s %s/run/redis.sock %s 2>&1", stack_dir(), args);
	ck_assert_msg(rc == 0, "redis-cli %s failed: %s", args, out);
	chomp(out);
	return out;
}

/* `tessera jobs enqueue`; returns the job id (malloc'd). */
static char *job_enqueue(const char *kind, const char *payload, int max_attempts)
{
	char opts[512] = "";
	if (payload)
		snprintf(opts, sizeof(opts), " --payload '%s'", payload);
	if (max_attempts > 0) {
		size_t n = strlen(opts);
		snprintf(opts + n, sizeof(opts) - n, " --max-attempts %d", max_attempts);
	}
	int rc;
	char *out = run_cmd(&rc, "%s jobs enqueue --kind %s%s --config %s 2>&1", bin(), kind, opts,
			    conf_path());
	chomp(out);
	ck_assert_msg(rc == 0 && strncmp(out, "job_", 4) == 0, "jobs enqueue failed (%d): %s", rc,
		      out);
	return out;
}

/* `tessera jobs show ID --json`, parsed (NULL if the command failed). */
static cJSON *job_show(const char *id, int *rc)
{
	char *out = run_cmd(rc, "%s jobs show %s --json --config %s 2>/dev/null", bin(), id, conf_path());
	cJSON *j = *rc == 0 ? cJSON_Parse(out) : NULL;
	free(out);
	return j;
}

static const char *jstr(const cJSON *j, const char *name)
{
	return json_str(j, name);
}

static int jint(const cJSON *j, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", name);
	return v->valueint;
}

/* Polls the job until its status is want (or timeout_ms passes); returns
 * the last view of it.  Fails the test on timeout. */
static cJSON *job_wait(const char *id, const char *want, long timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		int rc;
		cJSON *j = job_show(id, &rc);
		ck_assert_msg(j != NULL, "jobs show %s failed (%d)", id, rc);
		const char *st = jstr(j, "status");
		if (st && strcmp(st, want) == 0)
			return j;
		if (now_ms() > deadline) {
			char *s = cJSON_PrintUnformatted(j);
			ck_abort_msg("job %s not %s after %ld ms: %s", id, want, timeout_ms, s);
		}
		cJSON_Delete(j);
		sleep_ms(100);
	}
}

/* --- a second runner of the test's own ------------------------------------- */

/*
 * Starts `tessera jobs` with fast polling and backoff and no pid file (the
 * stack's runner owns jobs_pid_file).  It gets SIGTERM if the test process
 * dies first, so a failed assertion cannot leave it running.
 */
static pid_t runner_start(void)
{
	char *log = strf("%s/log/jobs-test.out", stack_dir());
	const char *env[] = { "TESSERA_JOBS_BACKOFF_BASE_MS=200", "TESSERA_JOBS_POLL_MS=100",
			      "TESSERA_JOBS_PID_FILE=", NULL };
	const char *argv[] = { bin(), "jobs", "--config", conf_path(), NULL };
	pid_t pid = proc_spawn(env, argv, log);
	free(log);
	sleep_ms(300);
	int status;
	ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "second runner exited at once");
	return pid;
}

/* SIGTERM, then waits up to timeout_ms: the exit status, or -1 if it had to
 * be killed. */
static int runner_stop(pid_t pid, long timeout_ms)
{
	kill(pid, SIGTERM);
	long long deadline = now_ms() + timeout_ms;
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		sleep_ms(50);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The runner id a process gets: hostname:pid. */
static void runner_id(pid_t pid, char *out, size_t outlen)
{
	char host[256];
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	snprintf(out, outlen, "%.50s:%d", host, (int)pid);
}

/* --- tests ------------------------------------------------------------------ */

START_TEST(jobs_noop_job_runs_to_done_once)
{
	char *id = job_enqueue("system.noop", NULL, 0);
	cJSON *j = job_wait(id, "done", 15000);
	ck_assert_str_eq(jstr(j, "id"), id);
	ck_assert_str_eq(jstr(j, "kind"), "system.noop");
	ck_assert_int_eq(jint(j, "attempts"), 1);
	ck_assert_int_ge(jint(j, "max_attempts"), 1);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "last_error")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "dead_letter_id")));
	ck_assert_ptr_nonnull(jstr(j, "finished_at"));
	const char *run_at = jstr(j, "run_at");
	ck_assert_msg(run_at && strlen(run_at) == 20 && run_at[19] == 'Z', "run_at %s", run_at);
	cJSON_Delete(j);
	free(id);
}
END_TEST

START_TEST(jobs_show_of_a_missing_job_exits_1)
{
	int rc;
	char *out = run_cmd(&rc, "%s jobs show job_00000000000000000000000000 --json --config %s 2>&1",
			    bin(), conf_path());
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "no job") != NULL, "message: %s", out);
	free(out);
}
END_TEST

START_TEST(jobs_failing_job_is_retried_after_backoff_then_dead_lettered)
{
	char *id = job_enqueue("system.noop", "{\"fail\":true}", 2);
	cJSON *j = job_wait(id, "dead", 20000);
	ck_assert_int_eq(jint(j, "attempts"), 2);
	ck_assert_int_eq(jint(j, "max_attempts"), 2);
	const char *err = jstr(j, "last_error");
	ck_assert_msg(err && strstr(err, "failed on request"), "last_error %s", err);
	const char *dlq = jstr(j, "dead_letter_id");
	ck_assert_msg(dlq && strncmp(dlq, "dlq_", 4) == 0, "dead_letter_id %s", dlq);

	char *row = control_sqlf("SELECT COUNT(*), MAX(id), MAX(kind), MAX(attempts), "
			"MAX(last_error LIKE '%%failed on request%%') FROM dead_letters "
			"WHERE job_id = '%s'", id);
	char want[256];
	snprintf(want, sizeof(want), "1\t%s\tsystem.noop\t2\t1", dlq);
	ck_assert_str_eq(row, want);
	free(row);

	/* The second attempt waited at least the backoff base (the stack's
	 * runner is the only one here). */
	char *base = conf_value("jobs_backoff_base_ms");
	long base_ms = base ? atol(base) : 1000;
	free(base);
	char *gap = control_sqlf("SELECT TIMESTAMPDIFF(MICROSECOND, j.created_at, d.created_at) DIV 1000 "
			"FROM jobs j JOIN dead_letters d ON d.job_id = j.id WHERE j.id = '%s'", id);
	ck_assert_msg(atol(gap) >= base_ms, "retried after %s ms, backoff base is %ld ms", gap,
		      base_ms);
	free(gap);
	cJSON_Delete(j);
	free(id);
}
END_TEST

START_TEST(jobs_unknown_kind_fails_until_dead)
{
	char *id = job_enqueue("test.no_such_kind", "{\"x\":1}", 2);
	cJSON *j = job_wait(id, "dead", 20000);
	ck_assert_int_eq(jint(j, "attempts"), 2);
	ck_assert_str_eq(jstr(j, "last_error"), "unknown job kind");
	const char *dlq = jstr(j, "dead_letter_id");
	ck_assert_msg(dlq && strncmp(dlq, "dlq_", 4) == 0, "dead_letter_id %s", dlq);
	char *row = control_sqlf("SELECT kind, JSON_EXTRACT(payload, '$.x'), attempts, last_error "
			"FROM dead_letters WHERE job_id = '%s'", id);
	ck_assert_str_eq(row, "test.no_such_kind\t1\t2\tunknown job kind");
	free(row);
	cJSON_Delete(j);
	free(id);
}
END_TEST

#define MANY 20

START_TEST(jobs_two_runners_run_each_job_exactly_once)
{
	pid_t second = runner_start();
	char *ids[MANY];
	/* 200 ms each: 4 s of work, so both runners are kept busy. */
	for (int i = 0; i < MANY; i++)
		ids[i] = job_enqueue("system.noop", "{\"sleep_ms\":200}", 3);
	char list[MANY * 40];
	size_t n = 0;
	for (int i = 0; i < MANY; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s'%s'", i ? "," : "", ids[i]);
	for (int i = 0; i < MANY; i++) {
		cJSON *j = job_wait(ids[i], "done", 30000);
		ck_assert_msg(jint(j, "attempts") == 1, "job %s ran %d times", ids[i],
			      jint(j, "attempts"));
		cJSON_Delete(j);
	}
	char *row = control_sqlf("SELECT COUNT(*), SUM(status = 'done' AND attempts = 1), "
			"COUNT(DISTINCT locked_by) FROM jobs WHERE id IN (%s)", list);
	int total = 0, once = 0, runners = 0;
	ck_assert_int_eq(sscanf(row, "%d %d %d", &total, &once, &runners), 3);
	ck_assert_msg(total == MANY && once == MANY, "done once: %s", row);
	ck_assert_msg(runners == 2, "both runners should have taken jobs: %s", row);
	free(row);
	ck_assert_int_eq(runner_stop(second, 10000), 0);
	for (int i = 0; i < MANY; i++)
		free(ids[i]);
}
END_TEST

START_TEST(jobs_sigterm_lets_the_runner_finish_the_job_in_hand)
{
	pid_t second = runner_start();
	char me[128];
	runner_id(second, me, sizeof(me));
	char *ids[3];
	for (int i = 0; i < 3; i++)
		ids[i] = job_enqueue("system.noop", "{\"sleep_ms\":3000}", 1);
	/* Wait until the second runner holds one of them. */
	char *mine = NULL;
	long long deadline = now_ms() + 15000;
	while (!mine || !*mine) {
		ck_assert_msg(now_ms() < deadline, "runner %s never claimed a job", me);
		free(mine);
		sleep_ms(100);
		mine = control_sqlf("SELECT id FROM jobs WHERE id IN ('%s','%s','%s') AND status = 'running' "
			   "AND locked_by = '%s' LIMIT 1", ids[0], ids[1], ids[2], me);
	}
	long long t0 = now_ms();
	ck_assert_int_eq(runner_stop(second, 10000), 0);
	long long took = now_ms() - t0;
	/* It finished and recorded the job before exiting. */
	int rc;
	cJSON *j = job_show(mine, &rc);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(jstr(j, "status"), "done");
	ck_assert_int_eq(jint(j, "attempts"), 1);
	ck_assert_str_eq(jstr(j, "locked_by"), me);
	ck_assert_msg(took < 9000, "runner took %lld ms to stop", took);
	cJSON_Delete(j);
	for (int i = 0; i < 3; i++) {
		cJSON_Delete(job_wait(ids[i], "done", 20000));
		free(ids[i]);
	}
	free(mine);
}
END_TEST

/* Inserts a job as a crashed runner leaves it: running, lock expired. */
static void job_insert_orphan(char *id, size_t idlen, int attempts, int max_attempts)
{
	static int seq;
	snprintf(id, idlen, "job_TESTORPHAN%06d%08d", (int)getpid() % 1000000, ++seq);
	char *out = control_sqlf("INSERT INTO jobs (id, kind, payload, status, attempts, max_attempts, "
			"run_at, locked_by, locked_until, created_at, updated_at) VALUES ('%s', "
			"'system.noop', '{}', 'running', %d, %d, UTC_TIMESTAMP(3), 'crashed-host:1', "
			"UTC_TIMESTAMP(3) - INTERVAL 1 SECOND, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
			id, attempts, max_attempts);
	free(out);
}

START_TEST(jobs_expired_lock_is_requeued_by_the_scheduler)
{
	char id[64];
	job_insert_orphan(id, sizeof(id), 1, 3);
	/* One scheduler pass (every 5 s) plus a backoff of about 1 s. */
	cJSON *j = job_wait(id, "done", 30000);
	ck_assert_int_eq(jint(j, "attempts"), 2);
	ck_assert_str_ne(jstr(j, "locked_by"), "crashed-host:1");
	cJSON_Delete(j);
}
END_TEST

START_TEST(jobs_expired_lock_on_the_last_attempt_goes_to_the_dlq)
{
	char id[64];
	job_insert_orphan(id, sizeof(id), 1, 1);
	cJSON *j = job_wait(id, "dead", 30000);
	ck_assert_int_eq(jint(j, "attempts"), 1);
	const char *err = jstr(j, "last_error");
	ck_assert_msg(err && strstr(err, "lock expired") && strstr(err, "crashed-host:1"),
		      "last_error %s", err);
	ck_assert_ptr_nonnull(jstr(j, "dead_letter_id"));
	cJSON_Delete(j);
}
END_TEST

START_TEST(jobs_scheduler_enqueues_the_hourly_cleanup_once)
{
	char key[64] = "";
	char *count = NULL;
	long long deadline = now_ms() + 20000;
	for (;;) {
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(key, sizeof(key), "system.cleanup:%Y%m%d%H", &tm);
		free(count);
		count = control_sqlf("SELECT COUNT(*) FROM jobs WHERE dedupe_key = '%s'", key);
		if (strcmp(count, "0") != 0 || now_ms() > deadline)
			break;
		sleep_ms(250);
	}
	ck_assert_msg(strcmp(count, "1") == 0, "%s jobs with dedupe_key %s", count, key);
	free(count);
	char *id = control_sqlf("SELECT id FROM jobs WHERE dedupe_key = '%s'", key);
	cJSON *j = job_wait(id, "done", 15000);
	ck_assert_str_eq(jstr(j, "kind"), "system.cleanup");
	cJSON_Delete(j);
	free(id);
}
END_TEST

START_TEST(jobs_scheduler_lease_is_only_renewed_by_its_holder)
{
	char *holder = NULL;
	long long deadline = now_ms() + 20000;
	do {
		free(holder);
		sleep_ms(200);
		holder = redis("GET lease:scheduler");
		ck_assert_msg(now_ms() < deadline, "nobody holds the scheduler lease");
	} while (!*holder);
	ck_assert_msg(strchr(holder, ':') != NULL, "lease value %s is not host:pid", holder);

	/* Someone else takes it over: the old holder must not extend or
	 * overwrite it (its renewals run every 5 s, so 5.5 s covers one). */
	char *ok = redis("SET lease:scheduler intruder:1 PX 6000");
	ck_assert_str_eq(ok, "OK");
	free(ok);
	sleep_ms(5500);
	char *now = redis("GET lease:scheduler");
	ck_assert_str_eq(now, "intruder:1");
	free(now);

	/* Once it lapses a real runner takes the lease again. */
	deadline = now_ms() + 15000;
	for (;;) {
		now = redis("GET lease:scheduler");
		if (*now && strcmp(now, "intruder:1") != 0)
			break;
		ck_assert_msg(now_ms() < deadline, "lease not taken back: '%s'", now);
		free(now);
		sleep_ms(200);
	}
	ck_assert_msg(strchr(now, ':') != NULL, "lease value %s", now);
	free(now);
	free(holder);
}
END_TEST

Suite *suite_jobs(void)
{
	Suite *s = suite_create("jobs");
	TCase *tc = tcase_new_slow(s, "runner");
	tcase_add_test(tc, jobs_noop_job_runs_to_done_once);
	tcase_add_test(tc, jobs_show_of_a_missing_job_exits_1);
	tcase_add_test(tc, jobs_failing_job_is_retried_after_backoff_then_dead_lettered);
	tcase_add_test(tc, jobs_unknown_kind_fails_until_dead);
	tcase_add_test(tc, jobs_two_runners_run_each_job_exactly_once);
	tcase_add_test(tc, jobs_sigterm_lets_the_runner_finish_the_job_in_hand);
	tcase_add_test(tc, jobs_expired_lock_is_requeued_by_the_scheduler);
	tcase_add_test(tc, jobs_expired_lock_on_the_last_attempt_goes_to_the_dlq);
	tcase_add_test(tc, jobs_scheduler_enqueues_the_hourly_cleanup_once);
	tcase_add_test(tc, jobs_scheduler_lease_is_only_renewed_by_its_holder);
	return s;
}
