/*
 * test_dlq.c - the dead-letter queue API over jobs that really failed in
 * the runner: list (per tenant), retry as a new job, discard.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

Suite *suite_dlq(void);

/* Enqueues a job for tenant that fails at once and waits until the runner
 * has dead-lettered it; returns the job id (malloc'd). */
static char *dead_job(const char *tenant)
{
	int rc;
	char *out = run_cmd(&rc, "%s jobs enqueue --config %s --tenant %s --kind system.noop "
			    "--payload '{\"fail\":true,\"n\":9007199254740991}' --max-attempts 1 2>&1",
			    bin(), conf_path(), tenant);
	ck_assert_msg(rc == 0, "enqueue: %s", out);
	out[strcspn(out, "\r\n")] = '\0';
	for (int i = 0; i < 150; i++) {
		char *show = run_cmd(&rc, "%s jobs show %s --json --config %s 2>&1", bin(), out, conf_path());
		cJSON *j = cJSON_Parse(show);
		bool dead = j && json_str(j, "status") && !strcmp(json_str(j, "status"), "dead");
		cJSON_Delete(j);
		free(show);
		if (dead)
			return out;
		usleep(100000);
	}
	ck_abort_msg("job %s never reached the dead-letter queue", out);
	return NULL;
}

static cJSON *dlq_list(const char *key)
{
	http_resp *r = call("GET", key, NULL, "/v1/dlq");
	assert_envelope(r, 200, NULL);
	cJSON *d = cJSON_Duplicate(resp_data(r), true);
	http_free(r);
	return d;
}

START_TEST(dead_jobs_are_listed_retried_and_discarded_per_tenant)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	char *j1 = dead_job(a.id);
	char *j2 = dead_job(a.id);

	cJSON *l = dlq_list(a.key);
	ck_assert_int_eq((int)item(l, "total")->valuedouble, 2);
	const cJSON *m1 = find_by(item(l, "messages"), "job_id", j1);
	ck_assert_ptr_nonnull(m1);
	ck_assert_str_eq(json_str(m1, "kind"), "system.noop");
	ck_assert_int_eq((int)item(m1, "attempts")->valuedouble, 1);
	ck_assert_ptr_nonnull(json_str(m1, "last_error"));
	ck_assert(cJSON_IsTrue(item(item(m1, "payload"), "fail")));
	/* Every digit of the payload survives (checked on the raw body: a
	 * client parsing into doubles would round it). */
	http_resp *raw = call("GET", a.key, NULL, "/v1/dlq");
	ck_assert_ptr_nonnull(strstr(raw->body, "\"n\":9007199254740991"));
	http_free(raw);
	char *id1 = strdup(json_str(m1, "id"));
	char *id2 = strdup(json_str(find_by(item(l, "messages"), "job_id", j2), "id"));
	cJSON_Delete(l);

	/* Tenant B sees none of them and cannot touch them. */
	l = dlq_list(b.key);
	ck_assert_int_eq((int)item(l, "total")->valuedouble, 0);
	cJSON_Delete(l);
	http_resp *r = call("POST", b.key, NULL, "/v1/dlq/%s/retry", id1);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", b.key, NULL, "/v1/dlq/%s", id1);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* Retry: a new queued job with the same kind and payload. */
	r = call("POST", a.key, NULL, "/v1/dlq/%s/retry", id1);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "retried")));
	const char *job = json_str(resp_data(r), "job_id");
	ck_assert_msg(job && strcmp(job, j1), "new job id %s", job ? job : "(none)");
	char *sql = strf("SELECT kind, tenant_id FROM jobs WHERE id = '%s'", job);
	char *row = control_sql(sql);
	char *want = strf("system.noop\t%s", a.id);
	ck_assert_str_eq(row, want);
	free(want);
	free(row);
	free(sql);
	http_free(r);
	/* Retried messages leave the queue; a second retry is 404. */
	r = call("POST", a.key, NULL, "/v1/dlq/%s/retry", id1);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* Discard. */
	r = call("DELETE", a.key, NULL, "/v1/dlq/%s", id2);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "discarded")));
	http_free(r);
	r = call("DELETE", a.key, NULL, "/v1/dlq/%s", id2);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* What is left: the retried job, which fails again and comes back. */
	l = dlq_list(a.key);
	ck_assert_int_le((int)item(l, "total")->valuedouble, 1);
	cJSON_Delete(l);

	/* The queue is admin-only. */
	char *reader = key_new(a.key, "{\"label\":\"r\",\"scopes\":[\"read\"]}", NULL);
	r = call("GET", reader, NULL, "/v1/dlq");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	r = call("GET", a.key, NULL, "/v1/dlq?limit=0");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "limit");
	http_free(r);
	free(reader);
	free(id1);
	free(id2);
	free(j1);
	free(j2);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

Suite *suite_dlq(void)
{
	Suite *s = suite_create("dlq");
	TCase *tc = tcase_new_slow(s, "dlq");
	tcase_add_test(tc, dead_jobs_are_listed_retried_and_discarded_per_tenant);
	return s;
}
