/*
 * test_errors.c - POST /v1/errors/report: client apps and end users report
 * errors; they are stored for the tenant, validated, and rate-limited per
 * client address.
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

Suite *suite_errors(void)
{
	Suite *s = suite_create("errors");
	TCase *tc = tcase_new_slow(s, "report");
	tcase_add_test(tc, reported_errors_are_stored_for_the_tenant);
	tcase_add_test(tc, bad_reports_are_400_and_store_nothing);
	tcase_add_test(tc, reports_are_rate_limited_per_client);
	return s;
}
