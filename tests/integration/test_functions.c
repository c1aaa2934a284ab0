/*
 * test_functions.c - custom functions against the real stack: CRUD with
 * code compiled on save, execute with its result and logs, the run log,
 * a runaway loop and a memory bomb stopped with the pool still serving,
 * unsafe libraries absent, objects written by a function obeying the
 * objects API's validation, secrets that reach the code but never a
 * response, tessera.http.fetch to a real server on loopback, and another
 * tenant's functions out of reach.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "peers.h"

Suite *suite_functions(void);

/* Creates a function from its fields (JSON members without braces),
 * asserting 201; returns its id (malloc'd). */
static char *fn_make(const char *key, const char *members)
{
	char *body = strf("{%s}", members);
	http_resp *r = call("POST", key, body, "/v1/functions");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	free(body);
	return id;
}

/* A Lua source as a JSON string member "code". */
static char *code_member(const char *lua)
{
	cJSON *s = cJSON_CreateString(lua);
	char *text = cJSON_PrintUnformatted(s);
	char *out = strf("\"code\":%s", text);
	cJSON_Delete(s);
	free(text);
	return out;
}

static char *fn_make_code(const char *key, const char *name, const char *extra, const char *lua)
{
	char *code = code_member(lua);
	char *members = strf("\"name\":\"%s\",%s%s%s", name, code, extra ? "," : "", extra ? extra : "");
	char *id = fn_make(key, members);
	free(members);
	free(code);
	return id;
}

static http_resp *execute(const char *key, const char *id, const char *input)
{
	char *body = strf("{\"input\":%s}", input ? input : "null");
	http_resp *r = call("POST", key, body, "/v1/functions/%s/execute", id);
	free(body);
	return r;
}

START_TEST(crud_and_execute_return_the_result_and_logs)
{
	struct tenant t;
	tenant_make(&t);
	char *id = fn_make_code(t.key, "greet", "\"description\":\"says hello\",\"env\":{\"TOKEN\":\"s3cret-value\"}",
				"tessera.log('info', 'greeting', tessera.input.name)\n"
				"return { hello = tessera.input.name, token_len = #tessera.env.TOKEN }");
	http_resp *r = call("GET", t.key, NULL, "/v1/functions/%s", id);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_str_eq(json_str(d, "name"), "greet");
	ck_assert_str_eq(json_str(d, "runtime"), "lua");
	ck_assert_str_eq(json_str(d, "trigger_type"), "http");
	assert_json_eq(d, "enabled", "true");
	assert_json_eq(d, "timeout_s", "10");
	assert_json_eq(d, "memory_mb", "64");
	assert_json_eq(d, "env_keys", "[\"TOKEN\"]");
	assert_json_eq(d, "scopes", "[\"read\",\"write\"]");
	ck_assert_ptr_null(item(d, "env"));
	ck_assert_ptr_null(strstr(r->body, "s3cret-value"));
	http_free(r);

	r = execute(t.key, id, "{\"name\":\"Ada\"}");
	assert_envelope(r, 200, NULL);
	d = resp_data(r);
	assert_json_eq(item(d, "result"), "hello", "\"Ada\"");
	assert_json_eq(item(d, "result"), "token_len", "12");
	ck_assert_str_eq(json_str(d, "status"), "ok");
	ck_assert(cJSON_IsNumber(item(d, "duration_ms")));
	const cJSON *log0 = cJSON_GetArrayItem(item(d, "logs"), 0);
	ck_assert_str_eq(json_str(log0, "message"), "greeting Ada");
	ck_assert_str_eq(json_str(log0, "level"), "info");
	char *run_id = strdup(json_str(d, "run_id"));
	ck_assert_ptr_null(strstr(r->body, "s3cret-value"));
	http_free(r);

	r = call("GET", t.key, NULL, "/v1/functions/%s/logs", id);
	assert_envelope(r, 200, NULL);
	const cJSON *run = cJSON_GetArrayItem(resp_data(r), 0);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	ck_assert_str_eq(json_str(run, "id"), run_id);
	ck_assert_str_eq(json_str(run, "status"), "ok");
	ck_assert_str_eq(json_str(run, "trigger"), "http");
	assert_rfc3339(run, "created_at");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(run, "logs"), 0), "message"), "greeting Ada");
	http_free(r);

	r = call("GET", t.key, NULL, "/v1/functions");
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_nonnull(find_by(resp_data(r), "id", id));
	http_free(r);

	/* disabled: execution refused, nothing run */
	r = call("PATCH", t.key, "{\"enabled\":false}", "/v1/functions/%s", id);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "enabled", "false");
	http_free(r);
	r = execute(t.key, id, NULL);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);

	/* new code is compiled and used */
	char *code = code_member("return 'v2'");
	char *patch = strf("{%s,\"enabled\":true}", code);
	r = call("PATCH", t.key, patch, "/v1/functions/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = execute(t.key, id, NULL);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "result", "\"v2\"");
	http_free(r);

	r = call("DELETE", t.key, NULL, "/v1/functions/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = execute(t.key, id, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/functions/%s/logs", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(patch);
	free(code);
	free(run_id);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(bad_code_and_fields_are_400_and_save_nothing)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = call("POST", t.key, "{\"name\":\"bad\",\"code\":\"local x = = 1\\nreturn x\"}",
			    "/v1/functions");
	assert_invalid(r, "code");
	ck_assert_ptr_nonnull(strstr(error_message(r), "line 1"));
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"bad\",\"code\":\"return 1\",\"runtime\":\"python\"}",
		 "/v1/functions");
	assert_invalid(r, "runtime");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"bad\",\"code\":\"return 1\",\"timeout_s\":61}", "/v1/functions");
	assert_invalid(r, "timeout_s");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"bad\",\"code\":\"return 1\",\"trigger_type\":\"cron\"}",
		 "/v1/functions");
	assert_invalid(r, "trigger_type");
	http_free(r);
	/* over 256 KB of code */
	size_t n = 256 * 1024 + 10;
	char *big = malloc(n + 1);
	memset(big, '-', n);
	big[n] = '\0';
	char *lua = strf("return 1 %s", big);
	char *code = code_member(lua);
	char *body = strf("{\"name\":\"big\",%s}", code);
	r = call("POST", t.key, body, "/v1/functions");
	assert_invalid(r, "code");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/functions");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	/* a compiled function: a runtime error names its line */
	char *id = fn_make_code(t.key, "fails", NULL, "local a = 1\nerror('no good')\n");
	r = execute(t.key, id, NULL);
	assert_envelope(r, 422, "FUNCTION_ERROR");
	ck_assert_ptr_nonnull(strstr(error_message(r), "no good"));
	assert_json_eq(item(r->json, "error"), "line", "2");
	http_free(r);
	free(id);
	free(body);
	free(code);
	free(lua);
	free(big);
	tenant_drop(&t);
}
END_TEST

START_TEST(runaway_loop_and_memory_bomb_stop_and_the_pool_serves)
{
	struct tenant t;
	tenant_make(&t);
	char *loop = fn_make_code(t.key, "loop", "\"timeout_s\":1", "while true do end");
	char *bomb = fn_make_code(t.key, "bomb", "\"memory_mb\":8",
				  "local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end");
	double t0 = now_s();
	http_resp *r = execute(t.key, loop, NULL);
	assert_envelope(r, 504, "FUNCTION_TIMEOUT");
	ck_assert_str_eq(json_str(item(r->json, "error"), "status"), "timeout");
	ck_assert(now_s() - t0 < 5);
	http_free(r);
	r = execute(t.key, bomb, NULL);
	assert_envelope(r, 507, "FUNCTION_MEMORY");
	http_free(r);
	/* the pool still serves, again and again */
	for (int i = 0; i < 4; i++) {
		r = call("GET", t.key, NULL, "/v1/functions/%s", loop);
		assert_envelope(r, 200, NULL);
		http_free(r);
	}
	r = call("GET", t.key, NULL, "/v1/functions/%s/logs?status=timeout", loop);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/functions/%s/logs", bomb);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(resp_data(r), 0), "status"), "memory");
	http_free(r);
	free(loop);
	free(bomb);
	tenant_drop(&t);
}
END_TEST

START_TEST(forbidden_libraries_are_absent)
{
	struct tenant t;
	tenant_make(&t);
	char *id = fn_make_code(t.key, "probe", NULL,
				"return { io = type(io), execute = type(os.execute), require = type(require),\n"
				"  dofile = type(dofile), load = type(load), debug = type(debug),\n"
				"  dump = type(string.dump), time = type(os.time) }");
	http_resp *r = execute(t.key, id, NULL);
	assert_envelope(r, 200, NULL);
	const cJSON *res = item(resp_data(r), "result");
	static const char *const absent[] = { "io", "execute", "require", "dofile", "load", "debug",
					      "dump", NULL };
	for (const char *const *a = absent; *a; a++)
		ck_assert_str_eq(json_str(res, *a), "nil");
	ck_assert_str_eq(json_str(res, "time"), "function");
	http_free(r);
	/* calling one is an error of the function, not of the server */
	char *io = fn_make_code(t.key, "io", NULL, "return io.open('/etc/passwd')");
	r = execute(t.key, io, NULL);
	assert_envelope(r, 422, "FUNCTION_ERROR");
	http_free(r);
	free(io);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(objects_written_by_a_function_obey_validation)
{
	struct tenant t;
	tenant_make(&t);
	free(type_make(t.key, "leads"));
	prop_make(t.key, "leads", "{\"name\":\"email\",\"data_type\":\"string\",\"is_required\":true}");
	prop_make(t.key, "leads", "{\"name\":\"score\",\"data_type\":\"integer\"}");
	char *id = fn_make_code(t.key, "leadgen", NULL,
				"local o = tessera.objects.create('leads', { email = tessera.input.email, score = 1 })\n"
				"local u = tessera.objects.update('leads', o.id, { score = 5 })\n"
				"local g = tessera.objects.get('leads', o.id)\n"
				"local l = tessera.objects.list('leads', { limit = 10 })\n"
				"return { id = o.id, score = g.properties.score, version = u.version, listed = #l.results }");
	http_resp *r = execute(t.key, id, "{\"email\":\"a@example.com\"}");
	assert_envelope(r, 200, NULL);
	const cJSON *res = item(resp_data(r), "result");
	char *obj = strdup(json_str(res, "id"));
	assert_json_eq(res, "score", "5");
	assert_json_eq(res, "listed", "1");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/leads/%s", obj);
	assert_envelope(r, 200, NULL);
	assert_json_eq(item(resp_data(r), "properties"), "email", "\"a@example.com\"");
	ck_assert_str_eq(json_str(resp_data(r), "created_by"), id);
	http_free(r);
	/* the required property missing: the objects API's own 400, as the
	 * function's error; nothing written */
	r = execute(t.key, id, "{}");
	assert_envelope(r, 422, "FUNCTION_ERROR");
	ck_assert_ptr_nonnull(strstr(error_message(r), "VALIDATION_ERROR"));
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/leads/list");
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 1);
	http_free(r);
	/* a function with read scope alone cannot write */
	char *ro = fn_make_code(t.key, "reader", "\"scopes\":[\"read\"]",
				"return tessera.objects.create('leads', { email = 'b@example.com' })");
	r = execute(t.key, ro, NULL);
	assert_envelope(r, 422, "FUNCTION_ERROR");
	ck_assert_ptr_nonnull(strstr(error_message(r), "INSUFFICIENT_SCOPE"));
	http_free(r);
	free(ro);
	free(obj);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(fetch_reaches_a_loopback_server)
{
	struct receiver rv;
	recv_start(&rv);
	box_setup(&rv, "fn", "whsec_dW51c2Vk", NULL);
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "fn");
	char *lua = strf("local r = tessera.http.fetch('%s', { method = 'POST', "
			 "headers = { ['Content-Type'] = 'application/json' }, body = '{\"n\":7}' })\n"
			 "return { status = r.status }", url);
	char *id = fn_make_code(t.key, "fetcher", NULL, lua);
	http_resp *r = execute(t.key, id, NULL);
	assert_envelope(r, 200, NULL);
	assert_json_eq(item(resp_data(r), "result"), "status", "200");
	http_free(r);
	cJSON *got = recv_wait(&rv, "fn", 1, 10);
	assert_json_eq(item(received(got, 0), "body"), "n", "7");
	ck_assert_str_eq(hdr(received(got, 0), "content-type"), "application/json");
	cJSON_Delete(got);
	/* a URL that is not http(s) is refused before anything is sent */
	char *bad = fn_make_code(t.key, "badurl", NULL, "return tessera.http.fetch('file:///etc/passwd')");
	r = execute(t.key, bad, NULL);
	assert_envelope(r, 422, "FUNCTION_ERROR");
	ck_assert_ptr_nonnull(strstr(error_message(r), "VALIDATION_ERROR"));
	http_free(r);
	free(bad);
	free(id);
	free(lua);
	free(url);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

START_TEST(another_tenants_functions_are_404)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	char *id = fn_make_code(a.key, "mine", NULL, "return 1");
	http_resp *r = execute(b.key, id, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", b.key, NULL, "/v1/functions/%s/logs", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", b.key, NULL, "/v1/functions/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* a key without the * scope cannot execute */
	char *ro = key_new(a.key, "{\"label\":\"ro\",\"scopes\":[\"read\",\"write\"]}", NULL);
	r = execute(ro, id, NULL);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	free(ro);
	free(id);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

Suite *suite_functions(void)
{
	Suite *s = suite_create("functions");
	TCase *tc = tcase_new_slow(s, "functions");
	tcase_add_test(tc, crud_and_execute_return_the_result_and_logs);
	tcase_add_test(tc, bad_code_and_fields_are_400_and_save_nothing);
	tcase_add_test(tc, runaway_loop_and_memory_bomb_stop_and_the_pool_serves);
	tcase_add_test(tc, forbidden_libraries_are_absent);
	tcase_add_test(tc, objects_written_by_a_function_obey_validation);
	tcase_add_test(tc, fetch_reaches_a_loopback_server);
	tcase_add_test(tc, another_tenants_functions_are_404);
	return s;
}
