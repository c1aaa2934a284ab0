/*
 * test_router.c - routing as a client sees it through nginx: 404 and 405
 * envelopes, every route of the reference built (none answers 501),
 * literal segments winning over parameters, errors nginx writes itself, HEAD
 * and over-long URLs.  The route list comes from `tessera routes --json`,
 * so a new route is covered without touching this file.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------ helpers */

/* The route table of the binary under test (caller frees with cJSON_Delete). */
static cJSON *routes_load(void)
{
	int rc;
	char *out = run_cmd(&rc, "%s routes --json 2>&1", env_or("TESSERA_TEST_BIN", "build/tessera"));
	cJSON *j = cJSON_Parse(out);
	ck_assert_msg(rc == 0 && cJSON_IsArray(j) && cJSON_GetArraySize(j) > 0,
		      "tessera routes --json failed (rc %d): %.300s", rc, out);
	free(out);
	return j;
}

static bool route_implemented(const cJSON *rt)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rt, "implemented"));
}

/* The route's pattern with each :param replaced by a dummy value that no
 * literal segment uses ("/v1/files/:file_id" -> "/v1/files/zz_file_id"). */
static char *path_concrete(const char *pattern)
{
	size_t cap = strlen(pattern) * 2 + 1, o = 0;
	char *out = malloc(cap);
	ck_assert(out != NULL);
	for (const char *p = pattern; *p; p++) {
		if (*p == ':' && (p == pattern || p[-1] == '/')) {
			out[o++] = 'z';
			out[o++] = 'z';
			out[o++] = '_';
			continue;
		}
		out[o++] = *p;
	}
	out[o] = '\0';
	return out;
}

static int path_segments(const char *path, char segs[][64], int max)
{
	int n = 0;
	const char *p = path;
	while (*p == '/')
		p++;
	while (*p && n < max) {
		size_t len = strcspn(p, "/");
		snprintf(segs[n++], 64, "%.*s", (int)len, p);
		p += len;
		while (*p == '/')
			p++;
	}
	return n;
}

/*
 * True when the concrete path of literal route `lit` would also match the
 * pattern of route `par` (same method), because `par` has a parameter where
 * `lit` has a literal: the router must pick `lit`.
 */
static bool shadows(const char *lit, const char *par)
{
	char a[32][64], b[32][64];
	int na = path_segments(lit, a, 32), nb = path_segments(par, b, 32);
	if (na != nb || strcmp(lit, par) == 0)
		return false;
	bool differs = false;
	for (int i = 0; i < na; i++) {
		bool pa = a[i][0] == ':', pb = b[i][0] == ':';
		if (pa && !pb)
			return false;
		if (!pa && !pb && strcmp(a[i], b[i]) != 0)
			return false;
		if (!pa && pb)
			differs = true;
	}
	return differs;
}

/* Asserts r is the 501 of exactly this route: the message names it. */
static void assert_501_for(const http_resp *r, const char *method, const char *pattern)
{
	assert_envelope(r, 501, "NOT_IMPLEMENTED");
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->json, "error");
	const char *msg = json_str(e, "message");
	char want[512];
	snprintf(want, sizeof(want), "%s %s ", method, pattern);
	ck_assert_msg(msg && strstr(msg, want), "501 for %snames another route: %s", want,
		      msg ? msg : "(none)");
}

/* ------------------------------------------------------------ tests */

START_TEST(unknown_path_is_404_envelope)
{
	const char *paths[] = { "/nope", "/v1/does-not-exist", "/v1/keys/abc/def/ghi", "/v2/keys", NULL };
	for (const char **p = paths; *p; p++) {
		http_resp *r = http_get(*p, NULL);
		assert_envelope(r, 404, "NOT_FOUND");
		ck_assert_ptr_null(resp_data(r));
		http_free(r);
	}
}
END_TEST

START_TEST(request_ids_are_unique_and_match_header)
{
	http_resp *a = http_get("/health", NULL), *b = http_get("/health", NULL);
	assert_envelope(a, 200, NULL);
	assert_envelope(b, 200, NULL);
	const char *ia = json_str(a->json, "request_id"), *ib = json_str(b->json, "request_id");
	ck_assert_str_ne(ia, ib);
	ck_assert_msg(strlen(ia) > 8 && strspn(ia + 4, "0123456789abcdefABCDEFGHJKMNPQRSTVWXYZ") == strlen(ia) - 4,
		      "request_id has an odd form: %s", ia);
	http_free(a);
	http_free(b);
}
END_TEST

START_TEST(wrong_method_is_405_with_allow)
{
	static const struct {
		const char *method, *path, *allow;
	} cases[] = {
		{ "DELETE", "/health", "GET, HEAD" },
		{ "PUT", "/v1/keys", "GET, HEAD, POST" },
		{ "GET", "/v1/keys/key_x/rotate", "POST" },
		{ "POST", "/v1/keys/key_x", "PATCH, DELETE" },
		{ "GET", "/v1/tenants/lookup", "POST" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		http_resp *r = http_req(cases[i].method, cases[i].path, NULL, NULL, NULL, 0, NULL);
		assert_envelope(r, 405, "METHOD_NOT_ALLOWED");
		char *allow = resp_header(r, "Allow");
		ck_assert_msg(allow && strcmp(allow, cases[i].allow) == 0, "%s %s: Allow %s, want %s",
			      cases[i].method, cases[i].path, allow ? allow : "(none)", cases[i].allow);
		free(allow);
		http_free(r);
	}
}
END_TEST

START_TEST(static_page_wrong_method_is_405_json)
{
	/* nginx answers for its static locations; still the envelope. */
	const char *paths[] = { "/", "/docs", "/docs/openapi.json", NULL };
	for (const char **p = paths; *p; p++) {
		http_resp *r = http_json("POST", *p, NULL, "{}");
		assert_envelope(r, 405, "METHOD_NOT_ALLOWED");
		char *allow = resp_header(r, "Allow");
		ck_assert_msg(allow && strstr(allow, "GET"), "POST %s: Allow %s", *p, allow ? allow : "(none)");
		free(allow);
		http_free(r);
	}
}
END_TEST

/* Every endpoint of the reference is in the table, and built: a route
 * that is not (a NULL handler, answering 501) would be listed here. */
START_TEST(every_reference_route_is_built)
{
	cJSON *routes = routes_load();
	int n = 0;
	const cJSON *rt;
	cJSON_ArrayForEach(rt, routes) {
		ck_assert_msg(route_implemented(rt), "%s %s is not built", json_str(rt, "method"),
			      json_str(rt, "path"));
		n++;
	}
	ck_assert_int_ge(n, 337);
	cJSON_Delete(routes);
}
END_TEST

START_TEST(no_implemented_route_is_501)
{
	cJSON *routes = routes_load();
	int checked = 0;
	const cJSON *rt;
	cJSON_ArrayForEach(rt, routes) {
		if (!route_implemented(rt))
			continue;
		const char *method = json_str(rt, "method"), *pattern = json_str(rt, "path");
		char *path = path_concrete(pattern);
		/* No credentials and no body: a 2xx, 400 or 401, never 501. */
		http_resp *r = http_req(method, path, NULL, NULL, NULL, 0, NULL);
		ck_assert_msg(r->status >= 200 && r->status < 500,
			      "%s %s answered %ld: %s", method, path, r->status, r->body);
		const char *code = resp_error_code(r);
		ck_assert_msg(!code || strcmp(code, "NOT_IMPLEMENTED") != 0, "%s %s: %s", method, path, r->body);
		if (cJSON_GetObjectItemCaseSensitive(r->json, "success"))
			assert_envelope(r, r->status, code);
		http_free(r);
		free(path);
		checked++;
	}
	ck_assert_msg(checked >= 10, "only %d implemented routes listed", checked);
	cJSON_Delete(routes);
}
END_TEST

START_TEST(literal_segment_wins_over_parameter)
{
	/* For every pair where a literal route's path also fits a parameter
	 * route of the same method (GET /v1/files/stats and
	 * GET /v1/files/:file_id), the literal route must answer. */
	cJSON *routes = routes_load();
	int pairs = 0;
	const cJSON *lit, *par;
	cJSON_ArrayForEach(lit, routes) {
		cJSON_ArrayForEach(par, routes) {
			const char *m = json_str(lit, "method");
			if (strcmp(m, json_str(par, "method")) != 0 ||
			    !shadows(json_str(lit, "path"), json_str(par, "path")))
				continue;
			char *path = path_concrete(json_str(lit, "path"));
			http_resp *r = http_req(m, path, NULL, NULL, NULL, 0, NULL);
			if (!route_implemented(lit))
				assert_501_for(r, m, json_str(lit, "path"));
			else
				ck_assert_msg(r->status != 501, "%s %s reached %s: %s", m, path,
					      json_str(par, "path"), r->body);
			http_free(r);
			/* ...while any other value still reaches the parameter. */
			char *other = path_concrete(json_str(par, "path"));
			r = http_req(m, other, NULL, NULL, NULL, 0, NULL);
			if (!route_implemented(par))
				assert_501_for(r, m, json_str(par, "path"));
			else
				ck_assert_msg(r->status != 501, "%s %s: %s", m, other, r->body);
			http_free(r);
			free(other);
			free(path);
			pairs++;
		}
	}
	cJSON_Delete(routes);
	ck_assert_msg(pairs > 0, "the route table has no literal/parameter pair to check");
}
END_TEST

START_TEST(trailing_slash_reaches_same_route)
{
	http_resp *r = http_get("/health/", NULL);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "ok");
	http_free(r);
	r = http_get("/v1/keys/", NULL);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
}
END_TEST

START_TEST(nginx_413_is_json)
{
	size_t len = 26u * 1024 * 1024;
	char *body = malloc(len + 1);
	ck_assert(body != NULL);
	memset(body, ' ', len);
	body[0] = '{';
	body[len - 1] = '}';
	body[len] = '\0';
	http_resp *r = http_req("POST", "/v1/keys", NULL, "application/json", body, len, NULL);
	free(body);
	assert_envelope(r, 413, "PAYLOAD_TOO_LARGE");
	char *ct = resp_header(r, "Content-Type");
	ck_assert_msg(ct && strncmp(ct, "application/json", 16) == 0, "Content-Type %s", ct ? ct : "(none)");
	free(ct);
	http_free(r);
}
END_TEST

/* A route without a credential takes small bodies only (its row's limit):
 * a sign-in form never needs 64 KB, and an anonymous client must not make
 * a worker buffer megabytes.  A credential route still takes them. */
START_TEST(rows_without_credential_refuse_large_bodies)
{
	size_t len = 70u * 1024;
	char *body = malloc(len + 64);
	ck_assert(body != NULL);
	int n = snprintf(body, 64, "{\"email\":\"a@example.com\",\"password\":\"");
	memset(body + n, 'x', len);
	strcpy(body + n + len, "\"}");
	http_resp *r = http_req("POST", "/v1/auth/portal-login", NULL, "application/json", body,
				strlen(body), NULL);
	assert_envelope(r, 413, "PAYLOAD_TOO_LARGE");
	ck_assert_msg(strstr(error_message(r), "65536") != NULL, "message: %s", error_message(r));
	http_free(r);
	struct tenant t;
	tenant_make(&t);
	r = http_req("POST", "/v1/keys", t.key, "application/json", body, strlen(body), NULL);
	ck_assert_msg(r->status != 413, "a credential route refused a 70 KB body");
	http_free(r);
	free(body);
	tenant_drop(&t);
	/* The table says so, with where each row's tenant comes from. */
	cJSON *routes = routes_load();
	const cJSON *rt;
	int named = 0;
	cJSON_ArrayForEach(rt, routes) {
		const char *path = json_str(rt, "path"), *tenant = json_str(rt, "tenant");
		ck_assert_msg(tenant != NULL, "%s names no tenant source", path);
		const cJSON *max = item(rt, "body_max");
		if (!strcmp(json_str(rt, "auth"), "bearer"))
			ck_assert_msg(cJSON_IsNull(max), "%s: body_max %g", path, max->valuedouble);
		if (!strncmp(path, "/v1/auth/portal-", 16) && strcmp(path, "/v1/auth/portal-identify")) {
			ck_assert_str_eq(tenant, "tenant_id");
			ck_assert_int_eq((int)max->valuedouble, 65536);
			named++;
		}
	}
	ck_assert_int_eq(named, 9);
	cJSON_Delete(routes);
}
END_TEST

START_TEST(nginx_404_for_missing_docs_file_is_json)
{
	const char *paths[] = { "/docs/no-such-file.js", "/docs/x/y.css", NULL };
	for (const char **p = paths; *p; p++) {
		http_resp *r = http_get(*p, NULL);
		assert_envelope(r, 404, "NOT_FOUND");
		ck_assert_msg(!strstr(r->body, "<html"), "HTML error page: %s", r->body);
		char *ct = resp_header(r, "Content-Type");
		ck_assert_msg(ct && strncmp(ct, "application/json", 16) == 0, "Content-Type %s", ct ? ct : "(none)");
		free(ct);
		http_free(r);
	}
}
END_TEST

START_TEST(head_answers_without_body)
{
	http_resp *r = http_req("HEAD", "/health", NULL, NULL, NULL, 0, NULL);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, 0);
	char *rid = resp_header(r, "X-Request-Id");
	ck_assert_msg(rid && strncmp(rid, "req_", 4) == 0, "X-Request-Id %s", rid ? rid : "(none)");
	free(rid);
	char *ct = resp_header(r, "Content-Type");
	ck_assert_msg(ct && strncmp(ct, "application/json", 16) == 0, "Content-Type %s", ct ? ct : "(none)");
	free(ct);
	http_free(r);

	/* HEAD follows GET's routing: unknown path 404, static page 200. */
	r = http_req("HEAD", "/nope", NULL, NULL, NULL, 0, NULL);
	ck_assert_int_eq(r->status, 404);
	ck_assert_uint_eq(r->body_len, 0);
	http_free(r);
	r = http_req("HEAD", "/", NULL, NULL, NULL, 0, NULL);
	ck_assert_int_eq(r->status, 200);
	http_free(r);
	r = http_req("HEAD", "/v1/usage", NULL, NULL, NULL, 0, NULL);
	ck_assert_int_eq(r->status, 401);
	http_free(r);
}
END_TEST

START_TEST(long_url_is_json_error)
{
	/* Above nginx's 8 KB request-line buffers: nginx's own 414, as JSON. */
	size_t n = 9000;
	char *path = malloc(n + 8);
	ck_assert(path != NULL);
	memcpy(path, "/v1/", 4);
	memset(path + 4, 'a', n);
	path[n + 4] = '\0';
	http_resp *r = http_get(path, NULL);
	assert_envelope(r, 414, "URI_TOO_LONG");
	http_free(r);

	/* A long query string on a real route is the same. */
	snprintf(path, n + 8, "/health?x=");
	memset(path + 10, 'b', n - 10);
	path[n] = '\0';
	r = http_get(path, NULL);
	assert_envelope(r, 414, "URI_TOO_LONG");
	http_free(r);

	/* Below the limit the app answers, still JSON. */
	memcpy(path, "/v1/", 4);
	memset(path + 4, 'c', 4000);
	path[4004] = '\0';
	r = http_get(path, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(path);
}
END_TEST

START_TEST(nginx_400_for_oversized_headers_is_json)
{
	size_t n = 9000;
	char *hdr = malloc(n + 16);
	ck_assert(hdr != NULL);
	memcpy(hdr, "X-Big: ", 7);
	memset(hdr + 7, 'h', n);
	hdr[n + 7] = '\0';
	const char *hdrs[] = { hdr, NULL };
	http_resp *r = http_req("GET", "/health", NULL, NULL, NULL, 0, hdrs);
	assert_envelope(r, 400, "BAD_REQUEST");
	http_free(r);
	free(hdr);
}
END_TEST

START_TEST(cors_preflight_and_headers_let_browsers_call_the_api)
{
	static const char *const pre[] = { "Origin: https://app.example",
					   "Access-Control-Request-Method: POST",
					   "Access-Control-Request-Headers: authorization, content-type", NULL };
	http_resp *r = http_req("OPTIONS", "/v1/keys", NULL, NULL, NULL, 0, pre);
	ck_assert_int_eq(r->status, 204);
	char *origin = resp_header(r, "Access-Control-Allow-Origin");
	char *methods = resp_header(r, "Access-Control-Allow-Methods");
	char *headers = resp_header(r, "Access-Control-Allow-Headers");
	ck_assert_msg(origin && strcmp(origin, "*") == 0, "origin %s", origin ? origin : "(none)");
	ck_assert_msg(methods && strstr(methods, "POST") && strstr(methods, "PATCH"), "methods %s",
		      methods ? methods : "(none)");
	ck_assert_msg(headers && strstr(headers, "Authorization") && strstr(headers, "Content-Type"),
		      "headers %s", headers ? headers : "(none)");
	free(origin);
	free(methods);
	free(headers);
	http_free(r);

	/* Actual responses, errors included, carry the CORS headers too. */
	static const char *const simple[] = { "Origin: https://app.example", NULL };
	r = http_req("GET", "/v1/keys", NULL, NULL, NULL, 0, simple);
	assert_envelope(r, 401, "UNAUTHORIZED");
	origin = resp_header(r, "Access-Control-Allow-Origin");
	char *expose = resp_header(r, "Access-Control-Expose-Headers");
	ck_assert_msg(origin && strcmp(origin, "*") == 0, "origin %s", origin ? origin : "(none)");
	ck_assert_msg(expose && strstr(expose, "X-Request-Id") && strstr(expose, "Retry-After"),
		      "expose %s", expose ? expose : "(none)");
	free(origin);
	free(expose);
	http_free(r);
}
END_TEST

Suite *suite_router(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_new_slow(s, "errors");
	tcase_add_test(tc, unknown_path_is_404_envelope);
	tcase_add_test(tc, request_ids_are_unique_and_match_header);
	tcase_add_test(tc, wrong_method_is_405_with_allow);
	tcase_add_test(tc, static_page_wrong_method_is_405_json);
	tcase_add_test(tc, every_reference_route_is_built);
	tcase_add_test(tc, trailing_slash_reaches_same_route);
	tcase_add_test(tc, head_answers_without_body);
	tcase_add_test(tc, cors_preflight_and_headers_let_browsers_call_the_api);

	tc = tcase_new_slow(s, "table");
	tcase_add_test(tc, no_implemented_route_is_501);
	tcase_add_test(tc, literal_segment_wins_over_parameter);

	tc = tcase_new_slow(s, "nginx");
	tcase_add_test(tc, nginx_413_is_json);
	tcase_add_test(tc, rows_without_credential_refuse_large_bodies);
	tcase_add_test(tc, nginx_404_for_missing_docs_file_is_json);
	tcase_add_test(tc, long_url_is_json_error);
	tcase_add_test(tc, nginx_400_for_oversized_headers_is_json);
	return s;
}
