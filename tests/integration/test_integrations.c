/*
 * test_integrations.c - integrations against the real stack, its jobs
 * runner and a real paged JSON API on loopback (rest_source.py, three
 * pages of records behind a bearer token): a pull makes the objects, a
 * re-pull makes no duplicates and no changes, a change at the source is
 * pulled as an update; a runner SIGKILLed mid-sync leaves the sync to
 * the next attempt, which resumes at the page it had reached; the token
 * is write-only; mappings to unknown
 * properties and URLs that are not http are 400 and save nothing; another
 * tenant's integration is 404.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "peers.h"

Suite *suite_integrations(void);

/* Waits for the newest sync of integration id to end; returns it (the
 * response, freed by the caller) or fails. */
static http_resp *sync_wait(const char *key, const char *id, const char *run)
{
	for (int i = 0; i < 300; i++) {
		http_resp *r = call("GET", key, NULL, "/v1/integrations/%s/logs", id);
		assert_envelope(r, 200, NULL);
		const cJSON *last = find_by(resp_data(r), "id", run);
		const char *st = json_str(last, "status");
		if (st && (!strcmp(st, "ok") || !strcmp(st, "error")))
			return r;
		http_free(r);
		sleep_ms(100);
	}
	ck_abort_msg("sync %s did not end", run);
	return NULL;
}

/* Starts a sync and waits for it; returns the run (in *resp, freed by
 * the caller). */
static const cJSON *sync_now(const char *key, const char *id, http_resp **resp)
{
	http_resp *r = call("POST", key, NULL, "/v1/integrations/%s/sync", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "queued");
	ck_assert_ptr_nonnull(json_str(resp_data(r), "job_id"));
	char *run = strdup(json_str(resp_data(r), "run_id"));
	http_free(r);
	*resp = sync_wait(key, id, run);
	const cJSON *out = find_by(resp_data(*resp), "id", run);
	free(run);
	return out;
}

static int objects_count(const char *key, const char *type)
{
	http_resp *r = call("GET", key, NULL, "/v1/objects/%s/list?limit=100", type);
	assert_envelope(r, 200, NULL);
	int n = cJSON_GetArraySize(item(resp_data(r), "results"));
	http_free(r);
	return n;
}

START_TEST(pull_repull_and_change)
{
	struct receiver src;
	peer_start(&src, "rest_source");
	recv_plan(&src, "x", "{\"count\":7,\"token\":\"tok-secret-123456\"}");
	struct tenant t;
	tenant_make(&t);
	free(type_make(t.key, "ext_contacts"));
	prop_make(t.key, "ext_contacts", "{\"name\":\"ext_key\",\"data_type\":\"string\",\"is_unique\":true}");
	prop_make(t.key, "ext_contacts", "{\"name\":\"name\",\"data_type\":\"string\"}");
	prop_make(t.key, "ext_contacts", "{\"name\":\"rank\",\"data_type\":\"integer\"}");
	char *cfg = strf("{\"url\":\"http://127.0.0.1:%d/records\",\"records_pointer\":\"/data/items\","
			 "\"pagination\":{\"type\":\"page\",\"per_page_param\":\"per_page\",\"per_page\":3},"
			 "\"object_type\":\"ext_contacts\",\"key_property\":\"ext_key\","
			 "\"mapping\":{\"ext_id\":\"ext_key\",\"name\":\"name\",\"rank\":\"rank\"}}", src.port);

	/* bad input: nothing saved */
	char *bad = strf("{\"name\":\"src\",\"provider\":\"rest\",\"config_json\":%s}", cfg);
	char *p = strstr(bad, "\"rank\":\"rank\"");
	memcpy(p, "\"rank\":\"rnk\" ", 13);
	http_resp *r = call("POST", t.key, bad, "/v1/integrations");
	assert_invalid(r, "config_json.mapping.rank");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"src\",\"provider\":\"rest\",\"config_json\":{\"url\":\"file:///etc/passwd\"}}",
		 "/v1/integrations");
	assert_invalid(r, "config_json.url");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"src\",\"provider\":\"ftp\",\"config_json\":{\"url\":\"http://127.0.0.1:9/\"}}",
		 "/v1/integrations");
	assert_invalid(r, "provider");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/integrations");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);

	char *body = strf("{\"name\":\"src\",\"provider\":\"rest\",\"sync_direction\":\"pull\","
			  "\"auth_token\":\"tok-secret-123456\",\"config_json\":%s}", cfg);
	r = call("POST", t.key, body, "/v1/integrations");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	ck_assert_ptr_null(strstr(r->body, "tok-secret-123456"));
	ck_assert_str_eq(json_str(resp_data(r), "auth_token"), "\xe2\x80\xa6" "3456");
	http_free(r);

	/* three pages of records */
	http_resp *lr;
	const cJSON *run = sync_now(t.key, id, &lr);
	ck_assert_msg(!strcmp(json_str(run, "status"), "ok"), "%s", lr->body);
	assert_json_eq(run, "records_read", "7");
	assert_json_eq(run, "records_created", "7");
	assert_json_eq(run, "records_failed", "0");
	http_free(lr);
	ck_assert_int_eq(objects_count(t.key, "ext_contacts"), 7);
	cJSON *got = recv_got(&src, "x");
	const cJSON *req0 = cJSON_GetArrayItem(item(got, "requests"), 0);
	ck_assert_str_eq(json_str(req0, "authorization"), "Bearer tok-secret-123456");
	ck_assert_ptr_nonnull(strstr(json_str(req0, "path"), "page=1&per_page=3"));
	cJSON_Delete(got);

	/* again: no duplicates, nothing changed */
	run = sync_now(t.key, id, &lr);
	assert_json_eq(run, "records_created", "0");
	assert_json_eq(run, "records_unchanged", "7");
	http_free(lr);
	ck_assert_int_eq(objects_count(t.key, "ext_contacts"), 7);

	/* a change at the source becomes an update */
	recv_plan(&src, "x", "{\"names\":{\"3\":\"Changed\"}}");
	run = sync_now(t.key, id, &lr);
	assert_json_eq(run, "records_updated", "1");
	assert_json_eq(run, "records_unchanged", "6");
	http_free(lr);
	r = call("GET", t.key, NULL, "/v1/objects/ext_contacts/list?limit=100");
	const cJSON *o;
	int changed = 0;
	cJSON_ArrayForEach(o, item(resp_data(r), "results"))
		if (!strcmp(json_str(item(o, "properties"), "ext_key"), "r3")) {
			ck_assert_str_eq(json_str(item(o, "properties"), "name"), "Changed");
			changed++;
		}
	ck_assert_int_eq(changed, 1);
	http_free(r);

	/* paused: sync refused */
	r = call("PATCH", t.key, "{\"status\":\"paused\"}", "/v1/integrations/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/integrations/%s/sync", id);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);

	/* another tenant */
	struct tenant b;
	tenant_make(&b);
	r = call("GET", b.key, NULL, "/v1/integrations/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", b.key, NULL, "/v1/integrations/%s/sync", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", b.key, NULL, "/v1/integrations/%s/logs", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	tenant_drop(&b);

	r = call("DELETE", t.key, NULL, "/v1/integrations/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(id);
	free(body);
	free(bad);
	free(cfg);
	tenant_drop(&t);
	recv_stop(&src);
}
END_TEST

/* The run's records_read once it has read at least n (polling). */
static void run_reached(const char *key, const char *id, const char *run, int n)
{
	for (int i = 0; i < 300; i++) {
		http_resp *r = call("GET", key, NULL, "/v1/integrations/%s/logs", id);
		const cJSON *x = find_by(resp_data(r), "id", run);
		bool there = cJSON_IsNumber(item(x, "records_read")) && item(x, "records_read")->valueint >= n;
		http_free(r);
		if (there)
			return;
		sleep_ms(50);
	}
	ck_abort_msg("sync %s never read %d records", run, n);
}

START_TEST(a_runner_killed_mid_sync_resumes_where_it_was)
{
	struct receiver src;
	peer_start(&src, "rest_source");
	recv_plan(&src, "x", "{\"count\":7,\"delay_ms\":1500}");
	struct tenant t;
	tenant_make(&t);
	free(type_make(t.key, "ext_items"));
	prop_make(t.key, "ext_items", "{\"name\":\"ext_key\",\"data_type\":\"string\"}");
	char *body = strf("{\"name\":\"slow\",\"provider\":\"rest\",\"config_json\":{"
			  "\"url\":\"http://127.0.0.1:%d/records\",\"records_pointer\":\"/data/items\","
			  "\"pagination\":{\"type\":\"page\",\"per_page_param\":\"per_page\",\"per_page\":3},"
			  "\"object_type\":\"ext_items\",\"key_property\":\"ext_key\","
			  "\"mapping\":{\"ext_id\":\"ext_key\"}}}", src.port);
	http_resp *r = call("POST", t.key, body, "/v1/integrations");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);

	struct runner_swap sw;
	const char *none[] = { NULL };
	jobs_runner_swap(&sw, none);
	r = call("POST", t.key, NULL, "/v1/integrations/%s/sync", id);
	assert_envelope(r, 200, NULL);
	char *run = strdup(json_str(resp_data(r), "run_id")), *job = strdup(json_str(resp_data(r), "job_id"));
	http_free(r);
	run_reached(t.key, id, run, 3);
	kill(sw.runner, SIGKILL);
	/* Its lock would expire after the kind's visibility timeout: now. */
	char *sql = strf("UPDATE jobs SET locked_until = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND "
			 "WHERE id = '%s'", job);
	free(control_sql(sql));
	recv_plan(&src, "x", "{\"delay_ms\":0}");
	jobs_runner_restore(&sw);

	http_resp *lr = sync_wait(t.key, id, run);
	const cJSON *x = find_by(resp_data(lr), "id", run);
	ck_assert_msg(!strcmp(json_str(x, "status"), "ok"), "%s", lr->body);
	assert_json_eq(x, "records_read", "7");
	assert_json_eq(x, "records_created", "7");
	http_free(lr);
	ck_assert_int_eq(objects_count(t.key, "ext_items"), 7);
	/* the first page was not asked for again */
	cJSON *got = recv_got(&src, "x");
	int first = 0;
	const cJSON *q;
	cJSON_ArrayForEach(q, item(got, "requests"))
		first += strstr(json_str(q, "path"), "page=1&") != NULL;
	ck_assert_int_eq(first, 1);
	cJSON_Delete(got);
	free(sql);
	free(job);
	free(run);
	free(id);
	free(body);
	tenant_drop(&t);
	recv_stop(&src);
}
END_TEST

Suite *suite_integrations(void)
{
	Suite *s = suite_create("integrations");
	TCase *tc = tcase_new_slow(s, "integrations");
	tcase_add_test(tc, pull_repull_and_change);
	tcase_add_test(tc, a_runner_killed_mid_sync_resumes_where_it_was);
	return s;
}
