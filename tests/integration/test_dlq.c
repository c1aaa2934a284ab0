/*
 * test_dlq.c - the dead-letter queue API over jobs that really failed in
 * the runner: list (per tenant), retry as a new job (one, or in bulk by
 * time, kind or webhook), discard.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

Suite *suite_dlq(void);

/* Enqueues a job of kind with payload (JSON) for tenant, with one attempt,
 * and waits until the runner has dead-lettered it; returns the job id
 * (malloc'd). */
static char *dead_job_of(const char *tenant, const char *kind, const char *payload)
{
	int rc;
	char *out = run_cmd(&rc, "%s jobs enqueue --config %s --tenant %s --kind %s "
			    "--payload '%s' --max-attempts 1 2>&1", bin(), conf_path(), tenant, kind,
			    payload);
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

/* A job for tenant that fails at once, dead-lettered. */
static char *dead_job(const char *tenant)
{
	return dead_job_of(tenant, "system.noop", "{\"fail\":true,\"n\":9007199254740991}");
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

/* A webhook.deliver job for webhook wid of tenant (its receiver refuses
 * connections), dead-lettered. */
static char *dead_delivery(const char *tenant, const char *wid)
{
	char *payload = strf("{\"webhook_id\":\"%s\",\"event\":{\"id\":\"evt_01JD00000000000000000000AA\","
			     "\"type\":\"custom.ping\",\"data\":{}}}", wid);
	char *job = dead_job_of(tenant, "webhook.deliver", payload);
	free(payload);
	return job;
}

/* POST /v1/dlq/retry with body; asserts 200 and returns "queued". */
static int bulk_retry(const char *key, const char *body)
{
	http_resp *r = call("POST", key, body, "/v1/dlq/retry");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsFalse(item(resp_data(r), "more")));
	int n = item(resp_data(r), "queued")->valueint;
	http_free(r);
	return n;
}

/* Queued jobs of tenant of kind made by a retry (not the dead ones). */
static int queued_jobs(const char *tenant, const char *kind)
{
	char *q = strf("SELECT COUNT(*) FROM jobs WHERE tenant_id = '%s' AND kind = '%s' AND "
		       "status <> 'dead'", tenant, kind);
	char *n = control_sql(q);
	int c = atoi(n);
	free(n);
	free(q);
	return c;
}

START_TEST(bulk_retry_sends_back_the_matching_messages_of_the_tenant_only)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	http_resp *r = call("POST", a.key, "{\"url\":\"http://127.0.0.1:9/down\",\"events\":[\"*\"]}",
			    "/v1/webhooks");
	assert_envelope(r, 201, NULL);
	char *wid = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	r = call("POST", b.key, "{\"url\":\"http://127.0.0.1:9/down\",\"events\":[\"*\"]}",
		 "/v1/webhooks");
	assert_envelope(r, 201, NULL);
	char *bwid = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	free(dead_job(a.id));
	free(dead_job(a.id));
	free(dead_delivery(a.id, wid));
	free(dead_job(b.id));
	cJSON *l = dlq_list(a.key);
	ck_assert_int_eq((int)item(l, "total")->valuedouble, 3);
	cJSON_Delete(l);

	/* Bad filters: 400 (or 404 for a webhook that is not the tenant's)
	 * naming the field, and nothing is sent back. */
	char *other = strf("{\"webhook_id\":\"%s\"}", bwid);
	struct { const char *body, *field; long status; } bad[] = {
		{ "{\"created_after\":\"yesterday\"}", "created_after", 400 },
		{ "{\"created_before\":\"2026-02-30T25:00:00Z\"}", "created_before", 400 },
		{ "{\"created_after\":17}", "created_after", 400 },
		{ "{\"kind\":\"no.such.kind\"}", "kind", 400 },
		{ "{\"webhook_id\":\"obj_123\"}", "webhook_id", 400 },
		{ "{\"webhook_id\":\"wh_01JD0000000000000000000000\"}", "webhook_id", 404 },
		{ other, "webhook_id", 404 },
		{ "{\"since\":\"2026-01-01T00:00:00Z\"}", "since", 400 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("POST", a.key, bad[i].body, "/v1/dlq/retry");
		assert_fail_field(r, bad[i].status, bad[i].status == 400 ? "VALIDATION_ERROR" : "NOT_FOUND",
				  bad[i].field);
		http_free(r);
	}
	free(other);
	l = dlq_list(a.key);
	ck_assert_int_eq((int)item(l, "total")->valuedouble, 3);
	cJSON_Delete(l);

	/* Nothing after a time to come; then one webhook's deliveries. */
	char future[32];
	time_t later = time(NULL) + 3600;
	strftime(future, sizeof(future), "%Y-%m-%dT%H:%M:%SZ", gmtime(&later));
	char *body = strf("{\"created_after\":\"%s\"}", future);
	ck_assert_int_eq(bulk_retry(a.key, body), 0);
	free(body);
	int before = queued_jobs(a.id, "webhook.deliver");
	body = strf("{\"webhook_id\":\"%s\"}", wid);
	ck_assert_int_eq(bulk_retry(a.key, body), 1);
	free(body);
	ck_assert_int_eq(queued_jobs(a.id, "webhook.deliver"), before + 1);
	/* The rest: every message of the tenant, B's untouched. */
	ck_assert_int_eq(bulk_retry(a.key, "{\"kind\":\"system.noop\"}"), 2);
	ck_assert_int_eq(bulk_retry(a.key, "{}"), 0);
	l = dlq_list(b.key);
	ck_assert_int_eq((int)item(l, "total")->valuedouble, 1);
	cJSON_Delete(l);
	struct audit_page ap;
	audit_get(&ap, a.key, "?action=dlq.bulk_retried");
	int audited = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, ap.logs)
		audited += json_str(e, "action") && !strcmp(json_str(e, "action"), "dlq.bulk_retried");
	ck_assert_int_eq(audited, 4);
	http_free(ap.r);
	ck_assert_int_eq(bulk_retry(b.key, NULL), 1);

	/* The single-message routes still answer beside it. */
	r = call("DELETE", a.key, NULL, "/v1/dlq/retry");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", a.key, NULL, "/v1/dlq/retry/retry");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	char *reader = key_new(a.key, "{\"label\":\"r\",\"scopes\":[\"read\",\"write\"]}", NULL);
	r = call("POST", reader, "{}", "/v1/dlq/retry");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	free(reader);
	free(wid);
	free(bwid);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

Suite *suite_dlq(void)
{
	Suite *s = suite_create("dlq");
	TCase *tc = tcase_new_slow(s, "dlq");
	tcase_add_test(tc, dead_jobs_are_listed_retried_and_discarded_per_tenant);
	tcase_add_test(tc, bulk_retry_sends_back_the_matching_messages_of_the_tenant_only);
	return s;
}
