/*
 * test_console.c - the admin console (nginx/console/, served at /console)
 * and the OpenAPI document clients are generated from, each with the tools
 * their users have: npm's OpenAPI 3.1 validator, openapi-typescript and tsc
 * (openapi_client.mjs), and Debian's Chromium driven by puppeteer-core
 * (console_browser.mjs) through the console's pages against this stack.
 * The npm packages come from tools/test-npm (skipped, saying why, when the
 * registry is unreachable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "peers.h"

/* build/test-npm/node_modules, or NULL (the test is skipped) when npm or
 * its registry is unreachable. */
static char *npm_modules(void)
{
	int rc;
	char *mods = run_cmd(&rc, "%s/tools/test-npm/install 2>&1", env_or("TESSERA_TEST_REPO", "."));
	if (rc == 2 << 8 || rc == 2) {
		fprintf(stderr, "console test skipped: %s", mods);
		free(mods);
		return NULL;
	}
	ck_assert_msg(rc == 0, "tools/test-npm/install: %s", mods);
	mods[strcspn(mods, "\n")] = '\0';
	return mods;
}

/* Runs a node script of this directory with args; its JSON answer (the
 * last line), asserted {"ok": true}. */
static cJSON *node_script(const char *mods, const char *script, const char *args)
{
	int rc;
	char *out = run_cmd(&rc, "NODE_PATH=%s node %s/tests/integration/%s %s 2>&1", mods,
			    env_or("TESSERA_TEST_REPO", "."), script, args);
	char *last = out + strlen(out);
	while (last > out && last[-1] == '\n')
		*--last = '\0';
	while (last > out && last[-1] != '\n')
		last--;
	cJSON *j = cJSON_Parse(last);
	ck_assert_msg(rc == 0 && j && cJSON_IsTrue(item(j, "ok")), "%s: %s", script, out);
	free(out);
	return j;
}

/* The document validates as OpenAPI 3.1, documents every parameter, body
 * example and 4xx a generator needs, and openapi-typescript's types accept
 * a program that creates a type, an object with {"properties": {"title":
 * "x"}} and lists objects with filter (and refuse a function as a value). */
START_TEST(openapi_generates_a_typescript_client_that_type_checks)
{
	char *mods = npm_modules();
	if (!mods)
		return;
	struct tenant t;
	tenant_make(&t);
	char *work = strf("%s/openapi-client", env_or("TESSERA_TEST_DIR", "/tmp"));
	char *args = strf("%s %s %s", getenv("TESSERA_TEST_URL"), t.key, work);
	cJSON *j = node_script(mods, "openapi_client.mjs", args);
	ck_assert_str_eq(json_str(j, "version"), "3.1");
	ck_assert_int_ge((int)item(j, "operations")->valuedouble, 337);
	ck_assert(cJSON_IsTrue(item(j, "typed")));
	ck_assert_int_ge((int)item(j, "enums_checked")->valuedouble, 20);
	cJSON_Delete(j);
	free(args);
	free(work);
	free(mods);
	tenant_drop(&t);
}
END_TEST

/* What the document says of the list parameters is what the server does:
 * filter and view_id narrow the list, webhook deliveries filter by status,
 * and a bad value names the parameter. */
START_TEST(documented_list_parameters_work)
{
	struct tenant t;
	tenant_make(&t);
	char *type = type_make(t.key, "notes");
	free(prop_new(t.key, type, "{\"name\":\"title\",\"data_type\":\"string\",\"is_indexed\":true}"));
	for (int i = 0; i < 3; i++) {
		http_resp *r = call("POST", t.key, i ? "{\"properties\":{\"title\":\"b\"}}"
						    : "{\"properties\":{\"title\":\"a\"}}",
				    "/v1/objects/%s", type);
		assert_envelope(r, 201, NULL);
		http_free(r);
	}
	http_resp *r = call("GET", t.key, NULL, "/v1/objects/%s/list?filter=%%5B%%7B%%22property%%22%%3A%%22title%%22%%2C%%22operator%%22%%3A%%22eq%%22%%2C%%22value%%22%%3A%%22b%%22%%7D%%5D", type);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 2);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/%s/list?view_id=view_nope", type);
	ck_assert_int_ge(r->status, 400);
	ck_assert_int_lt(r->status, 500);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/webhook-deliveries?status=failed&event_type=object.created");
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(type);
	tenant_drop(&t);
}
END_TEST

/* The console in Chromium (puppeteer-core): sign in with a key (a wrong
 * one refused on its field), a type and properties, an object added and
 * edited inline (the API's validation error on the field), the filter
 * builder, a live event after an object is created, a webhook delivery
 * replayed, an image uploaded and previewed, a key rotated (the new secret
 * works, the old one is refused), a setting refused then saved, an end
 * user's reduced view, and a user with the admin permission signed in by
 * email and password adding an object on the Data page (their token
 * refreshed ahead of its expiry).  Small
 * and fast: under 300 KB gzipped, the sign-in form on screen within 1 s.
 * Screenshots go to the test directory on failure. */
START_TEST(console_in_a_real_browser)
{
	char *mods = npm_modules();
	if (!mods)
		return;
	if (access("/usr/bin/chromium", X_OK) != 0) {
		fprintf(stderr, "console browser test skipped: /usr/bin/chromium is missing (tools/deps)\n");
		free(mods);
		return;
	}
	struct tenant t;
	tenant_make(&t);
	char *args = strf("%s %s %s", getenv("TESSERA_TEST_URL"), t.key, env_or("TESSERA_TEST_DIR", "/tmp"));
	cJSON *j = node_script(mods, "console_browser.mjs", args);
	ck_assert_int_eq(cJSON_GetArraySize(item(j, "steps")), 14);
	ck_assert_str_eq(json_str(j, "field_error"), "priority must be an integer");
	ck_assert_int_gt((int)item(j, "preview_width")->valuedouble, 0);
	ck_assert_int_lt((int)item(j, "gzip_bytes")->valuedouble, 300 * 1024);
	ck_assert_int_lt((int)item(j, "ready_ms")->valuedouble, 1000);
	cJSON_Delete(j);
	free(args);
	free(mods);
	tenant_drop(&t);
}
END_TEST

/* nginx serves the console: the page, its modules as JavaScript, with the
 * security headers; no credential in it. */
START_TEST(nginx_serves_the_console)
{
	http_resp *r = http_get("/console", NULL);
	ck_assert_int_eq(r->status, 200);
	ck_assert_ptr_nonnull(strstr(r->body, "<script type=\"module\" src=\"/console/app.js\">"));
	char *csp = resp_header(r, "Content-Security-Policy");
	ck_assert_ptr_nonnull(csp);
	ck_assert_ptr_nonnull(strstr(csp, "script-src 'self'"));
	free(csp);
	http_free(r);
	const char *files[] = { "app.js", "api.js", "ui.js", "data.js", "events.js", "users.js", "files.js",
				"settings.js", "style.css" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *p = strf("/console/%s", files[i]);
		r = http_get(p, NULL);
		ck_assert_msg(r->status == 200, "%s: %ld", p, r->status);
		char *ct = resp_header(r, "Content-Type");
		ck_assert_str_eq(ct, strstr(p, ".css") ? "text/css" : "text/javascript");
		free(ct);
		http_free(r);
		free(p);
	}
	r = http_get("/console/nope.js", NULL);
	ck_assert_int_eq(r->status, 404);
	http_free(r);
}
END_TEST

/* The README's "first ten minutes" block, run as written against a fresh
 * tenant: each step prints what the comment says it does. */
START_TEST(readme_quick_start_runs)
{
	const char *repo = env_or("TESSERA_TEST_REPO", ".");
	const char *url = getenv("TESSERA_TEST_URL");
	const char *port = strrchr(url, ':') + 1;
	struct tenant t;
	tenant_make(&t);
	char *dir = strf("%s/quickstart", env_or("TESSERA_TEST_DIR", "/tmp"));
	char *script = strf("%s/quickstart.sh", dir);
	int rc;
	char *out = run_cmd(&rc, "mkdir -p %s && sed -n '/<!-- quickstart:begin -->/,/<!-- quickstart:end -->/p' "
			    "%s/README.md | grep -v -e '^<!--' -e '^```' > %s && test -s %s 2>&1", dir, repo,
			    script, script);
	ck_assert_msg(rc == 0, "no quick start block in README.md: %s", out);
	free(out);
	/* xdg-open, which has no desktop here, says what it would open. */
	out = run_cmd(&rc, "cd %s && mkdir -p bin && printf '#!/bin/sh\\necho \"open $1\"\\n' > bin/xdg-open && "
		      "chmod +x bin/xdg-open && PATH=%s/bin:$PATH PORT=%s API_KEY=%s bash -euo pipefail %s 2>&1",
		      dir, dir, port, t.key, script);
	ck_assert_msg(rc == 0, "the README's quick start failed: %s", out);
	char *want = strf("Ship it\n0\n2\nHello, Tessera\nwhsec_");
	ck_assert_msg(strncmp(out, want, strlen(want)) == 0, "quick start printed: %s", out);
	char *open = strf("open http://127.0.0.1:%s/console\n", port);
	ck_assert_msg(strstr(out, open) != NULL, "quick start printed: %s", out);
	free(open);
	free(want);
	free(out);
	free(script);
	free(dir);
	tenant_drop(&t);
}
END_TEST

/* Polls the tenant's inbox until it holds n messages (10 s); its data. */
static cJSON *inbox_wait(const char *key, int n)
{
	for (int i = 0; i < 100; i++) {
		http_resp *r = call("GET", key, NULL, "/v1/dev/mail");
		assert_envelope(r, 200, NULL);
		if ((int)item(resp_data(r), "total")->valuedouble >= n) {
			cJSON *d = cJSON_Duplicate(resp_data(r), true);
			http_free(r);
			return d;
		}
		http_free(r);
		sleep_ms(100);
	}
	ck_abort_msg("the inbox never held %d messages", n);
	return NULL;
}

/* The development mail inbox (on in the stacks tools/stack starts): a
 * tenant sees the messages the file driver wrote for it, never another
 * tenant's, with the file driver's tenant header left out. */
START_TEST(dev_mail_inbox_shows_a_tenant_its_own_mail)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	http_resp *r = call("POST", a.key, "{\"to\":[\"ada@example.com\"],\"subject\":\"Inbox check\","
			    "\"text\":\"Hello from A\"}", "/v1/email/send");
	ck_assert_msg(r->status == 200 || r->status == 202, "%s", r->body);
	http_free(r);
	cJSON *d = inbox_wait(a.key, 1);
	const cJSON *m = cJSON_GetArrayItem(item(d, "messages"), 0);
	ck_assert_str_eq(json_str(m, "subject"), "Inbox check");
	ck_assert_str_eq(json_str(m, "to"), "ada@example.com");
	char *id = strdup(json_str(m, "id"));
	cJSON_Delete(d);
	r = call("GET", a.key, NULL, "/v1/dev/mail/%s", id);
	assert_envelope(r, 200, NULL);
	const char *raw = json_str(resp_data(r), "raw");
	ck_assert_ptr_nonnull(strstr(raw, "Hello from A"));
	ck_assert_ptr_null(strstr(raw, "X-Tessera-Tenant"));
	http_free(r);
	/* Tenant B: an empty inbox, and A's message is not found. */
	r = call("GET", b.key, NULL, "/v1/dev/mail");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble, 0);
	http_free(r);
	r = call("GET", b.key, NULL, "/v1/dev/mail/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", a.key, NULL, "/v1/dev/mail/..%%2F..%%2Fetc%%2Fpasswd");
	assert_envelope(r, 400, "VALIDATION_ERROR");
	http_free(r);
	r = call("GET", a.key, NULL, "/v1/dev/mail?limit=0");
	assert_envelope(r, 400, "VALIDATION_ERROR");
	http_free(r);
	free(id);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

Suite *suite_console(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("console");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, openapi_generates_a_typescript_client_that_type_checks);
	tcase_add_test(tc, documented_list_parameters_work);
	tcase_add_test(tc, nginx_serves_the_console);
	tcase_add_test(tc, readme_quick_start_runs);
	tcase_add_test(tc, dev_mail_inbox_shows_a_tenant_its_own_mail);
	tcase_add_test(tc, console_in_a_real_browser);
	suite_add_tcase(s, tc);
	return s;
}
