/*
 * test_hostile.c - what an outside sweep with hostile input found: an
 * event the fan-out cannot process must not hold up anyone else's, JSON
 * nested past the documented limit is a 400 naming the field (never a 500
 * from the database), requests answered before their body is read never
 * turn into nginx 502s, and /v1/sql keeps nothing of one request's session
 * (named locks, variables) for the next; bytes that are not UTF-8 in a
 * query or path are refused and never echoed into an answer (cJSON would
 * print them, and the JSON would not parse for any strict client).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "peers.h"

Suite *suite_hostile(void);

/* {"a":{"a":…1…}} with levels objects (malloc'd). */
static char *nested(int levels)
{
	size_t n = (size_t)levels * 6 + 2;
	char *s = malloc(n), *p = s;
	for (int i = 0; i < levels; i++)
		p += sprintf(p, "{\"a\":");
	*p++ = '1';
	for (int i = 0; i < levels; i++)
		*p++ = '}';
	*p = '\0';
	return s;
}

START_TEST(poison_event_is_set_aside_and_never_blocks_other_tenants)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant x, y;
	tenant_make(&x);
	tenant_make(&y);
	char *ux = hook_url(&rv, "x"), *uy = hook_url(&rv, "y"), *sx, *sy;
	free(hook_make(x.key, ux, "[\"*\"]", NULL, &sx));
	free(hook_make(y.key, uy, "[\"*\"]", NULL, &sy));
	box_setup(&rv, "x", sx, NULL);
	box_setup(&rv, "y", sy, NULL);

	/* An event of x nested 31 levels: the outbox takes it, but wrapped in
	 * a delivery job it passes MariaDB's 32 levels.  No request can write
	 * it any more (the API refuses such data), so it goes in directly,
	 * with an id that sorts before every other pending event. */
	char *poison = strf("evt_0000000000%05d", getpid() % 100000);
	char *sql = strf("INSERT INTO outbox (id, tenant_id, event, resource_type, resource_id, "
			 "payload, created_at) VALUES ('%s', '%s', 'custom.poison', 'event', 'p', "
			 "CONCAT(REPEAT('{\\\"a\\\":', 31), '1', REPEAT('}', 31)), UTC_TIMESTAMP(3))",
			 poison, x.id);
	free(control_sql(sql));
	free(sql);

	/* y's event is delivered while x's stays undeliverable. */
	http_resp *r = call("POST", y.key, "{\"event_type\":\"after.poison\",\"data\":{\"n\":1}}",
			    "/v1/events");
	assert_envelope(r, 200, NULL);
	http_free(r);
	cJSON *got = recv_wait(&rv, "y", 1, 20);
	ck_assert_str_eq(json_str(item(received(got, 0), "body"), "type"), "custom.after.poison");
	cJSON_Delete(got);

	/* After its attempts, x's event is in x's DLQ with the error, marked
	 * processed, and delivered to nobody. */
	const cJSON *m = NULL;
	cJSON *list = NULL;
	for (int i = 0; i < 200 && !m; i++) {
		cJSON_Delete(list);
		list = NULL;
		r = call("GET", x.key, NULL, "/v1/dlq");
		assert_envelope(r, 200, NULL);
		list = cJSON_Duplicate(resp_data(r), true);
		http_free(r);
		m = find_by(item(list, "messages"), "job_id", poison);
		if (!m)
			usleep(100000);
	}
	ck_assert_msg(m, "the poison event never reached x's DLQ");
	ck_assert_str_eq(json_str(m, "kind"), "outbox.fanout");
	ck_assert_int_eq((int)item(m, "attempts")->valuedouble, 3);
	ck_assert_ptr_nonnull(json_str(m, "last_error"));
	ck_assert_str_eq(json_str(item(m, "payload"), "event_id"), poison);
	cJSON_Delete(list);
	sql = strf("SELECT processed_at IS NOT NULL, attempts FROM outbox WHERE id = '%s'", poison);
	char *row = control_sql(sql);
	ck_assert_str_eq(row, "1\t3");
	free(row);
	free(sql);
	ck_assert_int_eq(recv_count(&rv, "x"), 0);

	/* y's DLQ holds nothing of it. */
	r = call("GET", y.key, NULL, "/v1/dlq");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble, 0);
	http_free(r);
	free(poison);
	recv_stop(&rv);
}
END_TEST

START_TEST(json_nested_past_16_levels_is_400_naming_the_field)
{
	struct tenant t;
	tenant_make(&t);
	char *ok = nested(16), *deep = nested(17), *very = nested(31);

	char *body = strf("{\"event_type\":\"deep\",\"data\":%s}", ok);
	http_resp *r = call("POST", t.key, body, "/v1/events");
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(body);
	long long before = outbox_count(t.id);
	const char *deeps[] = { deep, very };
	for (int i = 0; i < 2; i++) {
		body = strf("{\"event_type\":\"deep\",\"data\":%s}", deeps[i]);
		r = call("POST", t.key, body, "/v1/events");
		assert_fail_field(r, 400, "VALIDATION_ERROR", "data");
		http_free(r);
		free(body);
		body = strf("{\"email\":\"deep%d@example.com\",\"password\":\"correct horse 9\","
			    "\"user_metadata\":%s}", i, deeps[i]);
		r = call("POST", t.key, body, "/v1/users");
		assert_fail_field(r, 400, "VALIDATION_ERROR", "user_metadata");
		http_free(r);
		free(body);
		body = strf("{\"message\":\"m\",\"metadata\":%s}", deeps[i]);
		r = call("POST", t.key, body, "/v1/errors/report");
		assert_fail_field(r, 400, "VALIDATION_ERROR", "metadata");
		http_free(r);
		free(body);
	}
	ck_assert_int_eq(outbox_count(t.id), before);
	r = call("GET", t.key, NULL, "/v1/users");
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_null(strstr(r->body, "deep0@example.com"));
	ck_assert_ptr_null(strstr(r->body, "deep1@example.com"));
	http_free(r);
	free(ok);
	free(deep);
	free(very);
}
END_TEST

START_TEST(query_and_path_bytes_that_are_not_utf8_are_refused_naming_the_parameter)
{
	struct tenant t;
	tenant_make(&t);
	/* A lone continuation byte, an overlong '/', a surrogate, a NUL. */
	const char *const bad[] = { "%FF", "%C0%AF", "%ED%A0%80", "x%00y" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* r->json is NULL for a body that is not UTF-8 (harness.c). */
		http_resp *r = call("GET", t.key, NULL, "/v1/object-types?sort=%s", bad[i]);
		assert_fail_field(r, 400, "VALIDATION_ERROR", "sort");
		http_free(r);
		r = call("GET", t.key, NULL, "/v1/object-types?limit=5&%s=1", bad[i]);
		assert_envelope(r, 400, "VALIDATION_ERROR");
		http_free(r);
		if (strstr(bad[i], "%00"))
			continue; /* nginx refuses a NUL in a path itself (400) */
		r = call("GET", t.key, NULL, "/v1/object-types/%s", bad[i]);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("DELETE", t.key, NULL, "/v1/keys/%s", bad[i]);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	/* Text parts of an upload form, and a part's name. */
	const char *const parts[][2] = { { "meta", "{\"a\":\"\xff\"}" }, { "folder", "d\xc0\xaf" },
					 { "\xff\xfe", "x" } };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		char *body = strf("--zz\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
				  "--zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
				  "Content-Type: text/plain\r\n\r\nhello\r\n--zz--\r\n", parts[i][0], parts[i][1]);
		http_resp *r = http_req("POST", "/v1/files/upload", t.key, "multipart/form-data; boundary=zz",
					body, strlen(body), NULL);
		assert_envelope(r, 400, "VALIDATION_ERROR");
		ck_assert_msg(i == 2 || !strcmp(detail_field(r), parts[i][0]), "%s", r->body);
		http_free(r);
		free(body);
	}
	http_resp *f = call("POST", t.key, "{}", "/v1/files/search");
	assert_envelope(f, 200, NULL);
	ck_assert(cJSON_IsArray(item(resp_data(f), "results")));
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(f), "results")), 0);
	http_free(f);
	/* Credentials are still asked first. */
	http_resp *r = call("GET", NULL, NULL, "/v1/object-types?sort=%%FF");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	/* Good UTF-8 passes through to the handler, which names the sort. */
	r = call("GET", t.key, NULL, "/v1/object-types?sort=%%C3%%A9t%%C3%%A9");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "sort");
	ck_assert_msg(strstr(error_message(r), "\"été\"") != NULL, "%s", r->body);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

/* A member named twice means the first to cJSON and the last to
 * JavaScript and Python: refused, and nothing is made. */
START_TEST(a_body_naming_a_member_twice_is_refused)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = call("POST", t.key, "{\"name\":\"first\",\"name\":\"second\"}", "/v1/object-types");
	assert_envelope(r, 400, "INVALID_JSON");
	ck_assert_msg(strstr(error_message(r), "\"name\"") != NULL, "%s", r->body);
	http_free(r);
	r = call("POST", t.key, "{\"event_type\":\"x\",\"data\":{\"a\":[{\"k\":1,\"k\":2}]}}", "/v1/events");
	assert_envelope(r, 400, "INVALID_JSON");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/object-types");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(bodies_answered_before_they_are_read_never_give_502)
{
	/* Answers that come before the body is read: a route that takes
	 * none, a wrong method, no credentials, no such path. */
	const char *const reqs[][2] = { { "GET", "/health" }, { "POST", "/health" },
					{ "POST", "/v1/keys" }, { "PUT", "/v1/no-such-thing" } };
	const size_t sizes[] = { 0, 1024, 12 * 1024, 64 * 1024, 1024 * 1024 };
	char *buf = malloc(sizes[4]);
	memset(buf, 'x', sizes[4]);
	int bad = 0, total = 0;
	for (int k = 0; k < 2000; k++) {
		const char *const *rq = reqs[k % 4];
		size_t len = sizes[(k / 4) % 5];
		http_resp *r = http_req(rq[0], rq[1], NULL, "application/json", len ? buf : NULL, len,
					NULL);
		total++;
		if (r->status >= 500 || !r->json) {
			if (bad++ < 3)
				fprintf(stderr, "%s %s with %zu bytes: %ld %.200s\n", rq[0], rq[1], len,
					r->status, r->body);
		}
		http_free(r);
	}
	free(buf);
	ck_assert_msg(bad == 0, "%d of %d requests failed", bad, total);
}
END_TEST

START_TEST(sql_sessions_keep_nothing_between_requests)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	const char *locks[] = { "SELECT GET_LOCK('n', 0)", "SELECT IS_USED_LOCK('n')",
				"SELECT RELEASE_ALL_LOCKS()", "select is_free_lock ('n')",
				"SELECT BENCHMARK(100000000, MD5('x'))",
				"SELECT 1 FROM DUAL WHERE get_lock/**/('n', 0)" };
	for (size_t i = 0; i < sizeof(locks) / sizeof(locks[0]); i++) {
		char *body = strf("{\"sql\":\"%s\"}", locks[i]);
		http_resp *r = call("POST", a.key, body, "/v1/sql");
		assert_fail_field(r, 400, "VALIDATION_ERROR", "sql");
		http_free(r);
		free(body);
	}
	/* Quoted text that merely names a function is data. */
	http_resp *r = call("POST", a.key, "{\"sql\":\"SELECT 'GET_LOCK(1)' AS s\"}", "/v1/sql");
	assert_envelope(r, 200, NULL);
	http_free(r);

	/* A user variable set by one request is gone in the next (the
	 * connection is reset), however many times we ask. */
	r = call("POST", a.key, "{\"sql\":\"SELECT @v := 42 AS v\"}", "/v1/sql");
	assert_envelope(r, 200, NULL);
	http_free(r);
	for (int i = 0; i < 5; i++) {
		r = call("POST", a.key, "{\"sql\":\"SELECT @v IS NULL AS gone\"}", "/v1/sql");
		assert_envelope(r, 200, NULL);
		const cJSON *row = cJSON_GetArrayItem(item(resp_data(r), "rows"), 0);
		const cJSON *gone = cJSON_IsArray(row) ? cJSON_GetArrayItem(row, 0) : item(row, "gone");
		ck_assert_msg(gone && ((cJSON_IsNumber(gone) && gone->valuedouble == 1) || cJSON_IsTrue(gone)),
			      "@v survived the request: %s", r->body);
		http_free(r);
	}
}
END_TEST

Suite *suite_hostile(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_new_slow(s, "hostile");
	tcase_add_test(tc, poison_event_is_set_aside_and_never_blocks_other_tenants);
	tcase_add_test(tc, json_nested_past_16_levels_is_400_naming_the_field);
	tcase_add_test(tc, sql_sessions_keep_nothing_between_requests);
	tcase_add_test(tc, query_and_path_bytes_that_are_not_utf8_are_refused_naming_the_parameter);
	tcase_add_test(tc, a_body_naming_a_member_twice_is_refused);
	tc = tcase_new_slow(s, "early answers");
	tcase_add_test(tc, bodies_answered_before_they_are_read_never_give_502);
	return s;
}
