/*
 * test_scheduled_jobs.c - scheduled jobs through the real stack: next runs
 * computed in the job's time zone, bad schedules and actions refused with
 * the field named, `execute` running a job now, a job whose occurrences
 * were missed (runner down) running once, not once per occurrence, a
 * one-time job running once, and a one-minute cron job firing exactly
 * once for its occurrence with a second jobs runner working the same
 * queue.
 */
#include "peers.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static char *sjob_make(const char *key, const char *body)
{
	http_resp *r = call("POST", key, body, "/v1/scheduled-jobs");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

/* GET of job id (the response; the caller frees). */
static http_resp *sjob_get(const char *key, const char *id)
{
	http_resp *r = call("GET", key, NULL, "/v1/scheduled-jobs/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsArray(item(resp_data(r), "runs")));
	return r;
}

/* The job's finished runs of trigger kind (NULL: any). */
static int finished_runs(const cJSON *job, const char *trigger)
{
	int n = 0;
	const cJSON *run;
	cJSON_ArrayForEach(run, item(job, "runs")) {
		const char *st = json_str(run, "status");
		if (strcmp(st, "queued") && strcmp(st, "running") &&
		    (!trigger || !strcmp(json_str(run, "trigger"), trigger)))
			n++;
	}
	return n;
}

/* Waits up to timeout_s until job id has n finished runs of trigger. */
static http_resp *sjob_wait(const char *key, const char *id, const char *trigger, int n,
			    double timeout_s)
{
	double deadline = now_s() + timeout_s;
	for (;;) {
		http_resp *r = sjob_get(key, id);
		if (finished_runs(resp_data(r), trigger) >= n)
			return r;
		ck_assert_msg(now_s() < deadline, "job %s: fewer than %d runs: %s", id, n, r->body);
		http_free(r);
		sleep_ms(250);
	}
}

#define PUBLISH "\"action_type\":\"publish_event\",\"action_config\":{\"event_type\":\"tick\"," \
	"\"data\":{\"for\":\"{{data.scheduled_for}}\"}}"

START_TEST(scheduled_job_shows_next_run_in_its_time_zone)
{
	struct tenant t, other;
	tenant_make(&t);
	tenant_make(&other);
	http_resp *r = call("POST", t.key, "{\"name\":\"morning\",\"cron_expression\":\"30 9 * * *\","
			    "\"timezone\":\"Asia/Kolkata\"," PUBLISH "}", "/v1/scheduled-jobs");
	assert_envelope(r, 201, NULL);
	const cJSON *j = resp_data(r);
	char *id = strdup(json_str(j, "id"));
	ck_assert(strncmp(id, "sjob_", 5) == 0);
	assert_rfc3339(j, "next_run_at");
	/* 09:30 in Kolkata is 04:00 UTC. */
	ck_assert_msg(strstr(json_str(j, "next_run_at"), "T04:00:00") != NULL, "%s", r->body);
	ck_assert(cJSON_IsNull(item(j, "last_run_at")));
	ck_assert(cJSON_IsNull(item(j, "run_at")));
	ck_assert_pstr_eq(json_str(j, "timezone"), "Asia/Kolkata");
	http_free(r);
	/* Switching to a one-time run drops the cron expression. */
	time_t at = time(NULL) + 3600;
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&at));
	char *body = strf("{\"run_at\":\"%s\"}", when);
	r = call("PATCH", t.key, body, "/v1/scheduled-jobs/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsNull(item(resp_data(r), "cron_expression")));
	ck_assert_pstr_eq(json_str(resp_data(r), "next_run_at"), when);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/scheduled-jobs");
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_nonnull(find_by(resp_data(r), "id", id));
	http_free(r);
	r = call("GET", other.key, NULL, "/v1/scheduled-jobs/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", other.key, NULL, "/v1/scheduled-jobs/%s/execute", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/scheduled-jobs/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_pstr_eq(json_str(resp_data(r), "id"), id);
	http_free(r);
	free(body);
	free(id);
	tenant_drop(&t);
	tenant_drop(&other);
}
END_TEST

static const struct {
	const char *body, *field;
} bad_cases[] = {
	{ "{\"name\":\"x\",\"cron_expression\":\"61 * * * *\"," PUBLISH "}", "cron_expression" },
	{ "{\"name\":\"x\",\"cron_expression\":\"* * *\"," PUBLISH "}", "cron_expression" },
	{ "{\"name\":\"x\",\"cron_expression\":\"0 0 30 2 *\"," PUBLISH "}", "cron_expression" },
	{ "{\"name\":\"x\"," PUBLISH "}", "cron_expression" },
	{ "{\"name\":\"x\",\"cron_expression\":\"@daily\",\"run_at\":\"2099-01-01T00:00:00Z\","
	  PUBLISH "}", "cron_expression" },
	{ "{\"name\":\"x\",\"run_at\":\"2001-01-01T00:00:00Z\"," PUBLISH "}", "run_at" },
	{ "{\"name\":\"x\",\"run_at\":\"tomorrow\"," PUBLISH "}", "run_at" },
	{ "{\"name\":\"x\",\"cron_expression\":\"@daily\",\"timezone\":\"Mars/Olympus\"," PUBLISH "}",
	  "timezone" },
	{ "{\"name\":\"x\",\"cron_expression\":\"@daily\",\"action_type\":\"teleport\","
	  "\"action_config\":{}}", "action_type" },
	{ "{\"name\":\"x\",\"cron_expression\":\"@daily\",\"action_type\":\"call_webhook\","
	  "\"action_config\":{}}", "action_config.url" },
	{ "{\"name\":\"x\",\"cron_expression\":\"@daily\",\"action_type\":\"publish_event\","
	  "\"action_config\":{\"event_type\":\"has space\"}}", "action_config.event_type" },
};

START_TEST(scheduled_job_bad_input_is_refused_and_nothing_saved)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = call("POST", t.key, bad_cases[_i].body, "/v1/scheduled-jobs");
	assert_fail_field(r, 400, "VALIDATION_ERROR", bad_cases[_i].field);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/scheduled-jobs");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(scheduled_job_execute_runs_it_now)
{
	struct tenant t;
	tenant_make(&t);
	char *id = sjob_make(t.key, "{\"name\":\"nightly\",\"cron_expression\":\"0 3 * * *\"," PUBLISH "}");
	http_resp *r = call("POST", t.key, NULL, "/v1/scheduled-jobs/%s/execute", id);
	assert_envelope(r, 200, NULL);
	char *run_id = strdup(json_str(resp_data(r), "run_id"));
	http_free(r);
	r = sjob_wait(t.key, id, "manual", 1, 30);
	const cJSON *j = resp_data(r);
	const cJSON *run = find_by(item(j, "runs"), "id", run_id);
	ck_assert_ptr_nonnull(run);
	ck_assert_pstr_eq(json_str(run, "status"), "succeeded");
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(item(run, "steps"), 0), "type"), "publish_event");
	http_free(r);
	/* last_status is written when the run ends. */
	double deadline = now_s() + 10;
	for (;;) {
		r = sjob_get(t.key, id);
		if (json_str(resp_data(r), "last_status"))
			break;
		ck_assert(now_s() < deadline);
		http_free(r);
		sleep_ms(100);
	}
	ck_assert_pstr_eq(json_str(resp_data(r), "last_status"), "succeeded");
	assert_rfc3339(resp_data(r), "last_run_at");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/events/list?type=custom.tick");
	assert_envelope(r, 200, NULL);
	ck_assert_int_ge(cJSON_GetArraySize(item(resp_data(r), "results")) +
			 cJSON_GetArraySize(item(resp_data(r), "events")), 1);
	http_free(r);
	free(run_id);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(scheduled_job_missed_occurrences_run_once)
{
	struct tenant t;
	tenant_make(&t);
	char *id = sjob_make(t.key, "{\"name\":\"minutely\",\"cron_expression\":\"* * * * *\"," PUBLISH "}");
	/* Ten occurrences missed while no runner was scheduling. */
	char *q = strf("UPDATE scheduled_jobs SET next_run_at = UTC_TIMESTAMP(3) - INTERVAL 10 MINUTE "
		       "WHERE id = '%s'", id);
	free(control_sql(q));
	http_resp *r = sjob_wait(t.key, id, "schedule", 1, 20);
	ck_assert_int_eq(finished_runs(resp_data(r), "schedule"), 1);
	const char *next = json_str(resp_data(r), "next_run_at");
	time_t now = time(NULL);
	char nowtxt[32];
	strftime(nowtxt, sizeof(nowtxt), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	ck_assert_msg(strcmp(next, nowtxt) > 0, "next_run_at %s is not after %s", next, nowtxt);
	http_free(r);
	free(q);
	q = strf("SELECT COUNT(*) FROM action_runs WHERE source_id = '%s' AND occurrence < "
		 "UTC_TIMESTAMP(3) - INTERVAL 5 MINUTE", id);
	char *n = control_sql(q);
	ck_assert_str_eq(n, "1");
	free(n);
	free(q);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(scheduled_job_one_time_runs_once)
{
	struct tenant t;
	tenant_make(&t);
	time_t at = time(NULL) + 2;
	char when[32];
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&at));
	char *body = strf("{\"name\":\"once\",\"run_at\":\"%s\"," PUBLISH "}", when);
	char *id = sjob_make(t.key, body);
	http_resp *r = sjob_wait(t.key, id, "schedule", 1, 20);
	http_free(r);
	sleep_ms(6000);   /* a scheduler pass or more later */
	r = sjob_get(t.key, id);
	ck_assert_int_eq(finished_runs(resp_data(r), NULL), 1);
	ck_assert(cJSON_IsNull(item(resp_data(r), "next_run_at")));
	http_free(r);
	free(body);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(scheduled_job_minute_cron_fires_once_with_two_runners)
{
	struct tenant t;
	tenant_make(&t);
	char *log = strf("%s/log/jobs-sched-test.out", stack_dir());
	const char *env[] = { "TESSERA_JOBS_POLL_MS=100", "TESSERA_JOBS_PID_FILE=", NULL };
	const char *argv[] = { bin(), "jobs", "--config", conf_path(), NULL };
	pid_t second = proc_spawn(env, argv, log);
	char *id = sjob_make(t.key, "{\"name\":\"every minute\",\"cron_expression\":\"* * * * *\","
			     PUBLISH "}");
	http_resp *r = sjob_wait(t.key, id, "schedule", 1, 75);
	http_free(r);
	r = call("PATCH", t.key, "{\"enabled\":false}", "/v1/scheduled-jobs/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	sleep_ms(6000);
	r = sjob_get(t.key, id);
	const cJSON *runs = item(resp_data(r), "runs");
	ck_assert_msg(cJSON_GetArraySize(runs) == 1, "%s", r->body);
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(runs, 0), "status"), "succeeded");
	http_free(r);
	/* One run, one job for it, whichever runner held the lease. */
	char *q = strf("SELECT COUNT(*) FROM jobs WHERE kind = 'scheduled_job.run' AND tenant_id = '%s'",
		       t.id);
	char *n = control_sql(q);
	ck_assert_str_eq(n, "1");
	free(n);
	free(q);
	proc_stop(second);
	free(log);
	free(id);
	tenant_drop(&t);
}
END_TEST

Suite *suite_scheduled_jobs(void)
{
	Suite *s = suite_create("scheduled_jobs");
	TCase *tc = tcase_new_slow(s, "scheduled_jobs");
	tcase_add_test(tc, scheduled_job_shows_next_run_in_its_time_zone);
	tcase_add_loop_test(tc, scheduled_job_bad_input_is_refused_and_nothing_saved, 0,
			    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, scheduled_job_execute_runs_it_now);
	tcase_add_test(tc, scheduled_job_missed_occurrences_run_once);
	tcase_add_test(tc, scheduled_job_one_time_runs_once);
	tcase_add_test(tc, scheduled_job_minute_cron_fires_once_with_two_runners);
	return s;
}
