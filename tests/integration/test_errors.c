/*
 * test_errors.c - POST /v1/errors/report: client apps and end users report
 * errors; they are stored for the tenant, validated, and rate-limited per
 * client address.  GET /v1/errors and /v1/errors/summary read them back,
 * for the tenant's administrators only.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

Suite *suite_errors(void);

/* Sends the following requests from a fresh loopback address, so that the
 * per-client limit starts at zero. */
static void new_client(void)
{
	char *ip = loopback_addr_random();
	http_source_addr(ip);
	free(ip);
}

START_TEST(reported_errors_are_stored_for_the_tenant)
{
	struct tenant t;
	tenant_make(&t);
	new_client();
	http_resp *r = call("POST", t.key,
		"{\"message\":\"TypeError: x is undefined\",\"stack\":\"at f (app.js:1:2)\","
		"\"source\":\"web\",\"level\":\"warning\",\"path\":\"/checkout\","
		"\"metadata\":{\"build\":9007199254740991,\"browser\":\"firefox\"}}", "/v1/errors/report");
	assert_envelope(r, 200, NULL);
	const char *id = json_str(resp_data(r), "error_id");
	ck_assert_msg(id && !strncmp(id, "err_", 4), "error_id %s", id ? id : "(none)");
	char *sql = strf("SELECT tenant_id, level, message, path, JSON_VALUE(metadata, '$.build') "
			 "FROM client_errors WHERE id = '%s'", id);
	char *row = control_sql(sql);
	char *want = strf("%s\twarning\tTypeError: x is undefined\t/checkout\t9007199254740991", t.id);
	ck_assert_str_eq(row, want);
	free(want);
	free(row);
	free(sql);
	http_free(r);

	/* An end user may report too; the level defaults to error. */
	char *jwt = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	r = call("POST", jwt, "{\"message\":\"boom\"}", "/v1/errors/report");
	assert_envelope(r, 200, NULL);
	sql = strf("SELECT level, reporter_type, reporter_id FROM client_errors WHERE id = '%s'",
		   json_str(resp_data(r), "error_id"));
	row = control_sql(sql);
	ck_assert_str_eq(row, "error\tuser\tusr_alice");
	free(row);
	free(sql);
	http_free(r);
	free(jwt);
	http_source_addr(NULL);
	tenant_drop(&t);
}
END_TEST

START_TEST(bad_reports_are_400_and_store_nothing)
{
	struct tenant t;
	tenant_make(&t);
	new_client();
	static const struct {
		const char *body, *field;
	} bad[] = {
		{ "{}", "message" },
		{ "{\"message\":\"\"}", "message" },
		{ "{\"message\":\"x\",\"level\":\"panic\"}", "level" },
		{ "{\"message\":\"x\",\"metadata\":[1]}", "metadata" },
		{ "{\"message\":\"x\",\"user\":\"me\"}", "user" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp *r = call("POST", t.key, bad[i].body, "/v1/errors/report");
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	char *sql = strf("SELECT COUNT(*) FROM client_errors WHERE tenant_id = '%s'", t.id);
	char *n = control_sql(sql);
	ck_assert_str_eq(n, "0");
	free(n);
	free(sql);
	/* Without credentials: 401. */
	http_resp *r = call("POST", NULL, "{\"message\":\"x\"}", "/v1/errors/report");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	http_source_addr(NULL);
	tenant_drop(&t);
}
END_TEST

START_TEST(reports_are_rate_limited_per_client)
{
	struct tenant t;
	tenant_make(&t);
	wait_for_fresh_minute();
	new_client();
	long last = 0;
	int ok = 0;
	for (int i = 0; i < 61; i++) {
		http_resp *r = call("POST", t.key, "{\"message\":\"loop\"}", "/v1/errors/report");
		last = r->status;
		ok += r->status == 200;
		if (i == 60) {
			assert_envelope(r, 429, "RATE_LIMITED");
			char *ra = resp_header(r, "Retry-After");
			ck_assert_ptr_nonnull(ra);
			free(ra);
		}
		http_free(r);
	}
	ck_assert_int_eq(ok, 60);
	ck_assert_int_eq(last, 429);
	/* Another client address is not affected. */
	new_client();
	http_resp *r = call("POST", t.key, "{\"message\":\"other client\"}", "/v1/errors/report");
	assert_envelope(r, 200, NULL);
	http_free(r);
	http_source_addr(NULL);
	tenant_drop(&t);
}
END_TEST

/* Reports message at level from source; asserts 200. */
static void report(const char *key, const char *message, const char *level, const char *source)
{
	char *body = strf("{\"message\":\"%s\",\"level\":\"%s\",\"source\":\"%s\"}", message,
			  level, source);
	http_resp *r = call("POST", key, body, "/v1/errors/report");
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(body);
}

static int listed_total(const char *key, const char *query)
{
	http_resp *r = call("GET", key, NULL, "/v1/errors%s", query);
	assert_envelope(r, 200, NULL);
	int n = item(resp_data(r), "total")->valueint;
	http_free(r);
	return n;
}

START_TEST(reports_are_listed_filtered_and_paged_for_their_tenant_only)
{
	struct tenant t, b;
	tenant_make(&t);
	tenant_make(&b);
	new_client();
	report(t.key, "first", "warning", "web");
	report(t.key, "second", "error", "ios");
	report(t.key, "third", "error", "web");
	report(b.key, "b only", "error", "web");

	http_resp *r = call("GET", t.key, NULL, "/v1/errors");
	assert_envelope(r, 200, NULL);
	const cJSON *list = item(resp_data(r), "results");
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 3);
	ck_assert_int_eq(cJSON_GetArraySize(list), 3);
	const cJSON *top = cJSON_GetArrayItem(list, 0);
	ck_assert_str_eq(json_str(top, "message"), "third");
	ck_assert_str_eq(json_str(top, "level"), "error");
	ck_assert_str_eq(json_str(top, "source"), "web");
	ck_assert_str_eq(json_str(top, "reporter_type"), "api_key");
	assert_rfc3339(top, "created_at");
	ck_assert_ptr_null(find_by(list, "message", "b only"));
	ck_assert(cJSON_IsNull(item(resp_data(r), "next_cursor")));
	http_free(r);

	ck_assert_int_eq(listed_total(t.key, "?level=warning"), 1);
	ck_assert_int_eq(listed_total(t.key, "?source=ios"), 1);
	ck_assert_int_eq(listed_total(t.key, "?level=error&source=web"), 1);
	ck_assert_int_eq(listed_total(t.key, "?created_before=2000-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(listed_total(t.key, "?created_after=2000-01-01T00:00:00Z"), 3);
	ck_assert_int_eq(listed_total(b.key, ""), 1);

	/* Two pages of two: the cursor resumes after the last one shown. */
	r = call("GET", t.key, NULL, "/v1/errors?limit=2");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 2);
	char *cursor = strdup(json_str(resp_data(r), "next_cursor"));
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/errors?limit=2&cursor=%s", cursor);
	assert_envelope(r, 200, NULL);
	list = item(resp_data(r), "results");
	ck_assert_int_eq(cJSON_GetArraySize(list), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(list, 0), "message"), "first");
	http_free(r);
	/* Another tenant's key gets nothing of t's with t's cursor. */
	r = call("GET", b.key, NULL, "/v1/errors?limit=2&cursor=%s", cursor);
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_null(find_by(item(resp_data(r), "results"), "message", "first"));
	http_free(r);
	free(cursor);

	static const char *const bad[][2] = {
		{ "?level=panic", "level" }, { "?created_after=now", "created_after" },
		{ "?cursor=zzz", "cursor" }, { "?limit=1000", "limit" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("GET", t.key, NULL, "/v1/errors%s", bad[i][0]);
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i][1]);
		http_free(r);
		r = call("GET", t.key, NULL, "/v1/errors/summary%s", bad[i][0]);
		if (strcmp(bad[i][1], "cursor"))
			assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i][1]);
		http_free(r);
	}

	/* Administrators only: a read key and an end user are refused. */
	char *reader = key_new(t.key, "{\"label\":\"r\",\"scopes\":[\"read\",\"write\"]}", NULL);
	char *jwt = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	const char *paths[] = { "/v1/errors", "/v1/errors/summary" };
	for (size_t i = 0; i < 2; i++) {
		r = call("GET", reader, NULL, "%s", paths[i]);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		r = call("GET", jwt, NULL, "%s", paths[i]);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
	}
	free(reader);
	free(jwt);
	http_source_addr(NULL);
	tenant_drop(&t);
	tenant_drop(&b);
}
END_TEST

START_TEST(summary_counts_reports_per_message)
{
	struct tenant t, b;
	tenant_make(&t);
	tenant_make(&b);
	new_client();
	report(t.key, "TypeError: x is undefined", "error", "web");
	report(t.key, "TypeError: x is undefined", "fatal", "web");
	report(t.key, "TypeError: x is undefined", "error", "ios");
	report(t.key, "NetworkError", "warning", "web");
	report(b.key, "NetworkError", "error", "web");

	http_resp *r = call("GET", t.key, NULL, "/v1/errors/summary");
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_int_eq(item(d, "total_reports")->valueint, 4);
	ck_assert_int_eq(item(d, "total_groups")->valueint, 2);
	const cJSON *g = cJSON_GetArrayItem(item(d, "groups"), 0);
	ck_assert_str_eq(json_str(g, "message"), "TypeError: x is undefined");
	ck_assert_int_eq(item(g, "count")->valueint, 3);
	ck_assert_int_eq(item(item(g, "levels"), "error")->valueint, 2);
	ck_assert_int_eq(item(item(g, "levels"), "fatal")->valueint, 1);
	ck_assert_int_eq(item(item(g, "levels"), "debug")->valueint, 0);
	assert_rfc3339(g, "first_seen");
	assert_rfc3339(g, "last_seen");
	g = cJSON_GetArrayItem(item(d, "groups"), 1);
	ck_assert_str_eq(json_str(g, "message"), "NetworkError");
	ck_assert_int_eq(item(g, "count")->valueint, 1);
	http_free(r);

	r = call("GET", t.key, NULL, "/v1/errors/summary?source=web&level=error&limit=1");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total_reports")->valueint, 1);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "groups")), 1);
	http_free(r);
	http_source_addr(NULL);
	tenant_drop(&t);
	tenant_drop(&b);
}
END_TEST

START_TEST(openapi_marks_the_reads_as_extensions)
{
	http_resp *r = http_get("/docs/openapi.json", NULL);
	ck_assert_int_eq(r->status, 200);
	const cJSON *paths = item(r->json, "paths");
	const char *ext[] = { "/v1/errors", "/v1/errors/summary" };
	for (size_t i = 0; i < 2; i++) {
		const cJSON *op = item(item(paths, ext[i]), "get");
		ck_assert_msg(cJSON_IsTrue(item(op, "x-tessera-extension")), "%s is not marked", ext[i]);
	}
	ck_assert_ptr_null(item(item(item(paths, "/v1/errors/report"), "post"), "x-tessera-extension"));
	http_free(r);
}
END_TEST

Suite *suite_errors(void)
{
	Suite *s = suite_create("errors");
	TCase *tc = tcase_new_slow(s, "report");
	tcase_add_test(tc, reported_errors_are_stored_for_the_tenant);
	tcase_add_test(tc, bad_reports_are_400_and_store_nothing);
	tcase_add_test(tc, reports_are_rate_limited_per_client);
	tcase_add_test(tc, reports_are_listed_filtered_and_paged_for_their_tenant_only);
	tcase_add_test(tc, summary_counts_reports_per_message);
	tcase_add_test(tc, openapi_marks_the_reads_as_extensions);
	return s;
}
