/*
 * test_public.c - the endpoints anyone may call: health and readiness, the
 * pages nginx serves (landing, Swagger UI, openapi.json), public tenant
 * config, tenant lookup by email with its validation and per-address rate
 * limit, and the TLS listener.
 *
 * Lookup is limited per client address (10 a minute), so each lookup test
 * sends from its own random 127.x.y.z address: tests stay independent of
 * each other and of earlier runs against the same stack.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ------------------------------------------------------------ helpers */

static bool is_rfc3339_utc_recent(const char *s)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end)
		return false;
	if (*end == '.') {
		end++;
		while (*end >= '0' && *end <= '9')
			end++;
	}
	if (strcmp(end, "Z") != 0)
		return false;
	time_t t = timegm(&tm);
	return labs((long)(t - time(NULL))) < 300;
}

static char *unique_email(const char *tag)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s-%ld-%d-%d@example.com", tag, (long)time(NULL), getpid(), rand() % 100000);
	return strdup(buf);
}

/* Sends this test's requests from an address of its own (see above). */
static void own_client_address(void)
{
	char *ip = loopback_addr_random();
	http_source_addr(ip);
	free(ip);
}

static http_resp *lookup(const char *body)
{
	return http_json("POST", "/v1/tenants/lookup", NULL, body);
}

/* ------------------------------------------------------------ health */

START_TEST(health_reports_ok_with_checks)
{
	http_resp *r = http_get("/health", NULL);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_str_eq(json_str(d, "status"), "ok");
	ck_assert_str_eq(json_str(d, "service"), "tessera");
	const char *v = json_str(d, "version");
	ck_assert_msg(v && *v, "version missing: %s", r->body);
	ck_assert_msg(is_rfc3339_utc_recent(json_str(d, "timestamp")), "timestamp: %s", r->body);
	const char *region = json_str(d, "region");
	ck_assert_msg(region && *region, "region missing: %s", r->body);
	const cJSON *up = cJSON_GetObjectItemCaseSensitive(d, "uptime");
	ck_assert_msg(cJSON_IsNumber(up) && up->valuedouble >= 0, "uptime: %s", r->body);
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(d, "checks");
	ck_assert_str_eq(json_str(checks, "database"), "ok");
	ck_assert_str_eq(json_str(checks, "redis"), "ok");
	char *cc = resp_header(r, "Cache-Control");
	ck_assert_msg(cc && strstr(cc, "no-store"), "Cache-Control %s", cc ? cc : "(none)");
	free(cc);
	http_free(r);
}
END_TEST

START_TEST(ready_reports_ready)
{
	http_resp *r = http_get("/ready", NULL);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_str_eq(json_str(d, "status"), "ready");
	ck_assert_str_eq(json_str(d, "service"), "tessera");
	ck_assert_msg(is_rfc3339_utc_recent(json_str(d, "timestamp")), "timestamp: %s", r->body);
	http_free(r);
}
END_TEST

/* ------------------------------------------------------------ static */

static void assert_security_headers(const http_resp *r)
{
	static const struct {
		const char *name, *want;
	} h[] = {
		{ "X-Content-Type-Options", "nosniff" },
		{ "X-Frame-Options", NULL },
		{ "Referrer-Policy", NULL },
	};
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++) {
		char *v = resp_header(r, h[i].name);
		ck_assert_msg(v && *v, "%s missing", h[i].name);
		if (h[i].want)
			ck_assert_msg(strcasecmp(v, h[i].want) == 0, "%s: %s", h[i].name, v);
		free(v);
	}
}

START_TEST(landing_page_is_html_with_security_headers)
{
	http_resp *r = http_get("/", NULL);
	ck_assert_int_eq(r->status, 200);
	char *ct = resp_header(r, "Content-Type");
	ck_assert_msg(ct && strncmp(ct, "text/html", 9) == 0, "Content-Type %s", ct ? ct : "(none)");
	free(ct);
	ck_assert_msg(strcasestr(r->body, "<html"), "not HTML: %.200s", r->body);
	assert_security_headers(r);
	/* No HSTS over plain HTTP. */
	char *hsts = resp_header(r, "Strict-Transport-Security");
	ck_assert_msg(!hsts || !*hsts, "HSTS over HTTP: %s", hsts);
	free(hsts);
	http_free(r);

	/* API responses carry the same headers. */
	r = http_get("/health", NULL);
	assert_security_headers(r);
	http_free(r);
}
END_TEST

START_TEST(docs_is_swagger_ui)
{
	http_resp *r = http_get("/docs", NULL);
	ck_assert_int_eq(r->status, 200);
	char *ct = resp_header(r, "Content-Type");
	ck_assert_msg(ct && strncmp(ct, "text/html", 9) == 0, "Content-Type %s", ct ? ct : "(none)");
	free(ct);
	ck_assert_msg(strcasestr(r->body, "swagger-ui"), "not the Swagger UI page: %.300s", r->body);
	assert_security_headers(r);
	http_free(r);
}
END_TEST

/* "/v1/files/:file_id" -> "/v1/files/{file_id}" */
static char *openapi_path(const char *pattern)
{
	size_t cap = strlen(pattern) * 2 + 1, o = 0;
	char *out = malloc(cap);
	ck_assert(out != NULL);
	bool in_param = false;
	for (const char *p = pattern; *p; p++) {
		if (*p == ':' && (p == pattern || p[-1] == '/')) {
			out[o++] = '{';
			in_param = true;
			continue;
		}
		if (*p == '/' && in_param) {
			out[o++] = '}';
			in_param = false;
		}
		out[o++] = *p;
	}
	if (in_param)
		out[o++] = '}';
	out[o] = '\0';
	return out;
}

START_TEST(openapi_lists_every_route)
{
	http_resp *r = http_get("/docs/openapi.json", NULL);
	ck_assert_int_eq(r->status, 200);
	char *ct = resp_header(r, "Content-Type");
	ck_assert_msg(ct && strncmp(ct, "application/json", 16) == 0, "Content-Type %s", ct ? ct : "(none)");
	free(ct);
	ck_assert_msg(r->json != NULL, "openapi.json does not parse");
	const char *ver = json_str(r->json, "openapi");
	ck_assert_msg(ver && strncmp(ver, "3.1", 3) == 0, "openapi version %s", ver ? ver : "(none)");
	const cJSON *paths = cJSON_GetObjectItemCaseSensitive(r->json, "paths");
	ck_assert_msg(cJSON_IsObject(paths), "no paths object");

	int rc;
	char *out = run_cmd(&rc, "%s routes --json 2>&1", env_or("TESSERA_TEST_BIN", "build/tessera"));
	cJSON *routes = cJSON_Parse(out);
	ck_assert_msg(rc == 0 && cJSON_IsArray(routes), "tessera routes --json: %.300s", out);
	free(out);
	int n = 0;
	const cJSON *rt;
	cJSON_ArrayForEach(rt, routes) {
		char *p = openapi_path(json_str(rt, "path"));
		char method[16];
		snprintf(method, sizeof(method), "%s", json_str(rt, "method"));
		for (char *m = method; *m; m++)
			*m = (char)(*m - 'A' + 'a');
		const cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, p);
		ck_assert_msg(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(item, method)),
			      "openapi.json lacks %s %s", method, p);
		free(p);
		n++;
	}
	ck_assert_int_gt(n, 0);
	cJSON_Delete(routes);
	http_free(r);
}
END_TEST

/* ------------------------------------------------------------ tenant config */

static void assert_tenant_config(const http_resp *r, const char *tenant_id)
{
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_str_eq(json_str(d, "tenant_id"), tenant_id);
	const char *name = json_str(d, "name");
	ck_assert_msg(name && strncmp(name, "Test tenant", 11) == 0, "name: %s", r->body);
	ck_assert_msg(json_str(d, "brand_name") != NULL, "brand_name: %s", r->body);
	ck_assert_msg(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(d, "branding")), "branding: %s", r->body);
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(d, "auth");
	ck_assert_msg(cJSON_IsObject(auth), "auth: %s", r->body);
	ck_assert_msg(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(auth, "providers")),
		      "auth.providers: %s", r->body);
	/* Nothing secret in the public view. */
	ck_assert_msg(!strstr(r->body, "jwt_secret") && !strstr(r->body, "password_enc") &&
		      !strstr(r->body, "owner_email") && !strstr(r->body, "tsk_"),
		      "secret leaked: %s", r->body);
}

START_TEST(tenant_config_by_query_and_header)
{
	char *tid, *key;
	ck_assert_int_eq(tenant_new("pro", &tid, &key), 0);
	char path[256];
	snprintf(path, sizeof(path), "/v1/tenant-config?tenant_id=%s", tid);
	http_resp *r = http_get(path, NULL);
	assert_tenant_config(r, tid);
	http_free(r);

	char hdr[128];
	snprintf(hdr, sizeof(hdr), "X-Tenant-ID: %s", tid);
	const char *hdrs[] = { hdr, NULL };
	r = http_req("GET", "/v1/tenant-config", NULL, NULL, NULL, 0, hdrs);
	assert_tenant_config(r, tid);
	const cJSON *prov = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(resp_data(r), "auth"),
							     "providers");
	ck_assert_int_eq(cJSON_GetArraySize(prov), 5);  /* every sign-in method by default */
	ck_assert_str_eq(cJSON_GetArrayItem(prov, 4)->valuestring, "passkey");
	http_free(r);

	/* The public view follows the auth config, and shows none of its
	 * private parts (redirect allowlist, templates). */
	r = http_json("POST", "/v1/auth-config", key,
		      "{\"providers\":{\"anonymous\":false,\"phone_otp\":false},"
		      "\"branding\":{\"site_name\":\"Acme Portal\"},"
		      "\"redirect_urls\":[\"https://private-allowlist.example.com\"],"
		      "\"email_templates\":{\"recovery\":{\"subject\":\"Secret subject\"}},"
		      "\"oauth\":{\"oidc\":{\"enabled\":true,\"client_id\":\"app\","
		      "\"issuer\":\"https://idp.example.com\",\"client_secret\":\"oidc-secret-value\"}}}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get(path, NULL);
	assert_tenant_config(r, tid);
	const cJSON *auth = cJSON_GetObjectItemCaseSensitive(resp_data(r), "auth");
	prov = cJSON_GetObjectItemCaseSensitive(auth, "providers");
	ck_assert_int_eq(cJSON_GetArraySize(prov), 4);
	ck_assert_str_eq(cJSON_GetArrayItem(prov, 0)->valuestring, "email");
	ck_assert_str_eq(cJSON_GetArrayItem(prov, 1)->valuestring, "magic_link");
	ck_assert_str_eq(cJSON_GetArrayItem(prov, 2)->valuestring, "passkey");
	ck_assert_str_eq(cJSON_GetArrayItem(prov, 3)->valuestring, "oidc");
	ck_assert_int_eq((int)cJSON_GetObjectItemCaseSensitive(auth, "password_min_length")->valuedouble, 8);
	ck_assert_str_eq(json_str(cJSON_GetObjectItemCaseSensitive(resp_data(r), "branding"), "site_name"),
			 "Acme Portal");
	ck_assert_msg(!strstr(r->body, "private-allowlist") && !strstr(r->body, "Secret subject") &&
		      !strstr(r->body, "oidc-secret-value"),
		      "private auth config leaked: %s", r->body);
	http_free(r);
	free(tid);
	free(key);
}
END_TEST

START_TEST(tenant_config_unknown_tenant_is_404)
{
	http_resp *r = http_get("/v1/tenant-config?tenant_id=tn_00000000000000000000000000", NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	const char *hdrs[] = { "X-Tenant-ID: tn_nope", NULL };
	r = http_req("GET", "/v1/tenant-config", NULL, NULL, NULL, 0, hdrs);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
}
END_TEST

START_TEST(tenant_config_without_tenant_is_400)
{
	http_resp *r = http_get("/v1/tenant-config", NULL);
	assert_envelope(r, 400, "VALIDATION_ERROR");
	http_free(r);
	r = http_get("/v1/tenant-config?tenant_id=", NULL);
	assert_envelope(r, 400, "VALIDATION_ERROR");
	http_free(r);
}
END_TEST

/* A tenant on its own domain is found by the Host its users' browsers
 * send, suspended ones too (the page says so instead of failing). */
START_TEST(tenant_config_by_custom_domain_any_status)
{
	char *tid, *key;
	ck_assert_int_eq(tenant_new("pro", &tid, &key), 0);
	char *domain = strf("portal-%s.example.test", tid + 3);
	for (char *p = domain; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	free(control_sql(strf("UPDATE tenants SET domain = '%s' WHERE id = '%s'", domain, tid)));
	char *host = strf("Host: %s", domain);
	const char *hdrs[] = { host, NULL };
	http_resp *r = http_req("GET", "/v1/tenant-config", NULL, NULL, NULL, 0, hdrs);
	assert_tenant_config(r, tid);
	http_free(r);
	ck_assert_int_eq(tenant_set_status(tid, "suspend"), 0);
	r = http_req("GET", "/v1/tenant-config", NULL, NULL, NULL, 0, hdrs);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "status", "\"suspended\"");
	http_free(r);
	/* a Host no tenant owns names no tenant */
	const char *other[] = { "Host: nobody.example.test", NULL };
	r = http_req("GET", "/v1/tenant-config", NULL, NULL, NULL, 0, other);
	assert_envelope(r, 400, "VALIDATION_ERROR");
	http_free(r);
	free(host);
	free(domain);
	free(tid);
	free(key);
}
END_TEST

/* Offline (no npm registry, no Swagger UI installed), the docs build still
 * succeeds, with a plain page of every endpoint from the route table. */
START_TEST(docs_build_works_offline_with_a_plain_page)
{
	char dir[] = "/tmp/tessera-docs-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	int rc;
	char *out = run_cmd(&rc, "cd %s && TESSERA_NPM_DIR=%s/npm npm_config_registry=http://127.0.0.1:9/ "
			    "timeout 120 tools/build-docs %s %s/docs 2>&1",
			    env_or("TESSERA_TEST_REPO", "."), dir, bin(), dir);
	ck_assert_msg(rc == 0, "build-docs failed offline: %s", out);
	ck_assert_msg(strstr(out, "plain endpoint list") != NULL, "%s", out);
	free(out);
	out = run_cmd(&rc, "cat %s/docs/index.html", dir);
	ck_assert_msg(strstr(out, "/v1/objects/:object_type_id") && strstr(out, "openapi.json") &&
		      strstr(out, "make docs"), "plain page: %.300s", out);
	free(out);
	out = run_cmd(&rc, "python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))[\"paths\"]))' "
		      "%s/docs/openapi.json && rm -rf %s", dir, dir);
	ck_assert_msg(rc == 0 && atoi(out) > 200, "openapi.json: %s", out);
	free(out);
}
END_TEST

/* A stack started as root does not run nginx's workers as root. */
START_TEST(nginx_workers_do_not_run_as_root)
{
	if (geteuid() != 0)
		return;  /* the workers are this same unprivileged user */
	int rc;
	char *out = run_cmd(&rc, "ps -o user= --ppid \"$(cat %s/run/nginx.pid)\" | sort -u", stack_dir());
	ck_assert_msg(rc == 0 && out[0] && !strstr(out, "root"), "nginx workers run as: %s", out);
	free(out);
	/* and they still serve the landing page, the docs and signed files */
	http_resp *r = http_get("/", NULL);
	ck_assert_int_eq(r->status, 200);
	http_free(r);
	r = http_get("/docs/openapi.json", NULL);
	ck_assert_int_eq(r->status, 200);
	http_free(r);
}
END_TEST

/* ------------------------------------------------------------ lookup */

START_TEST(lookup_finds_tenant_by_owner_email)
{
	own_client_address();
	char *email = unique_email("owner");
	char *tid, *key;
	ck_assert_int_eq(tenant_new_email("pro", email, &tid, &key), 0);
	char body[300];
	snprintf(body, sizeof(body), "{\"email\":\"%s\"}", email);
	http_resp *r = lookup(body);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_msg(cJSON_IsArray(d) && cJSON_GetArraySize(d) == 1, "want one tenant: %s", r->body);
	const cJSON *t = cJSON_GetArrayItem(d, 0);
	ck_assert_str_eq(json_str(t, "tenant_id"), tid);
	const char *brand = json_str(t, "brand_name");
	ck_assert_msg(brand && *brand, "brand_name: %s", r->body);
	ck_assert_msg(!strstr(r->body, "tsk_"), "key leaked: %s", r->body);
	http_free(r);

	/* Email addresses are matched without regard to case. */
	char upper[300];
	snprintf(upper, sizeof(upper), "{\"email\":\"%s\"}", email);
	for (char *c = upper + 10; *c; c++)
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	r = lookup(upper);
	ck_assert_msg(r->status == 200 && cJSON_GetArraySize(resp_data(r)) == 1, "%s: %s", upper, r->body);
	http_free(r);

	/* A second tenant of the same owner is listed too. */
	char *tid2, *key2;
	ck_assert_int_eq(tenant_new_email("free", email, &tid2, &key2), 0);
	r = lookup(body);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 2);
	ck_assert_msg(strstr(r->body, tid) && strstr(r->body, tid2), "both tenants: %s", r->body);
	http_free(r);
	free(tid2);
	free(key2);
	free(tid);
	free(key);
	free(email);
	http_source_addr(NULL);
}
END_TEST

START_TEST(lookup_unknown_email_is_empty_list)
{
	own_client_address();
	char *email = unique_email("nobody");
	char body[300];
	snprintf(body, sizeof(body), "{\"email\":\"%s\"}", email);
	http_resp *r = lookup(body);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_msg(cJSON_IsArray(d) && cJSON_GetArraySize(d) == 0, "want []: %s", r->body);
	http_free(r);
	free(email);
	http_source_addr(NULL);
}
END_TEST

START_TEST(lookup_skips_suspended_tenants)
{
	own_client_address();
	char *email = unique_email("suspended");
	char *tid, *key;
	ck_assert_int_eq(tenant_new_email("pro", email, &tid, &key), 0);
	ck_assert_int_eq(tenant_set_status(tid, "suspend"), 0);
	char body[300];
	snprintf(body, sizeof(body), "{\"email\":\"%s\"}", email);
	http_resp *r = lookup(body);
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_GetArraySize(resp_data(r)) == 0, "suspended tenant listed: %s", r->body);
	http_free(r);
	free(tid);
	free(key);
	free(email);
	http_source_addr(NULL);
}
END_TEST

START_TEST(lookup_rejects_bad_requests)
{
	own_client_address();
	static const struct {
		const char *body, *field;
	} cases[] = {
		{ "{\"email\":\"not-an-email\"}", "email" },
		{ "{\"email\":\"a@b\"}", "email" },
		{ "{\"email\":\"@example.com\"}", "email" },
		{ "{\"email\":\"a@@example.com\"}", "email" },
		{ "{}", "email" },
		{ "{\"email\":42}", "email" },
		{ "{\"email\":\"a@example.com\",\"extra\":1}", "extra" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		http_resp *r = lookup(cases[i].body);
		assert_envelope(r, 400, "VALIDATION_ERROR");
		const char *f = detail_field(r);
		ck_assert_msg(f && strcmp(f, cases[i].field) == 0, "%s: want field %s: %s",
			      cases[i].body, cases[i].field, r->body);
		http_free(r);
	}
	/* No body at all: email is required. */
	http_resp *r = http_req("POST", "/v1/tenants/lookup", NULL, NULL, NULL, 0, NULL);
	assert_envelope(r, 400, "VALIDATION_ERROR");
	http_free(r);
	http_source_addr(NULL);
}
END_TEST

START_TEST(lookup_rejects_non_json_content_type)
{
	own_client_address();
	const char *body = "email=a@example.com";
	http_resp *r = http_req("POST", "/v1/tenants/lookup", NULL, "application/x-www-form-urlencoded",
				body, strlen(body), NULL);
	assert_envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE");
	http_free(r);
	body = "{\"email\":\"a@example.com\"}";
	r = http_req("POST", "/v1/tenants/lookup", NULL, "text/plain", body, strlen(body), NULL);
	assert_envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE");
	http_free(r);
	http_source_addr(NULL);
}
END_TEST

START_TEST(lookup_rejects_malformed_json)
{
	own_client_address();
	const char *bodies[] = { "{\"email\":", "{email: \"a@example.com\"}", "{\"email\":\"a@example.com\"} x",
				 "[", NULL };
	for (const char **b = bodies; *b; b++) {
		http_resp *r = lookup(*b);
		assert_envelope(r, 400, "INVALID_JSON");
		http_free(r);
	}
	/* Valid JSON that is not an object is a validation error. */
	http_resp *r = lookup("[\"a@example.com\"]");
	assert_envelope(r, 400, "VALIDATION_ERROR");
	http_free(r);
	http_source_addr(NULL);
}
END_TEST

START_TEST(lookup_is_rate_limited_per_address)
{
	enum { LIMIT = 30 }; /* lookup_rate_limit's default */
	own_client_address();
	wait_for_fresh_minute();
	char *email = unique_email("burst");
	char body[300];
	snprintf(body, sizeof(body), "{\"email\":\"%s\"}", email);
	for (int i = 1; i <= LIMIT; i++) {
		http_resp *r = lookup(body);
		assert_envelope(r, 200, NULL);
		char *rem = resp_header(r, "X-RateLimit-Remaining");
		ck_assert_msg(rem && atoi(rem) == LIMIT - i, "request %d: remaining %s", i, rem ? rem : "(none)");
		free(rem);
		http_free(r);
	}
	http_resp *r = lookup(body);
	assert_envelope(r, 429, "RATE_LIMITED");
	char *ra = resp_header(r, "Retry-After");
	ck_assert_msg(ra && atoi(ra) >= 1 && atoi(ra) <= 60, "Retry-After %s", ra ? ra : "(none)");
	free(ra);
	char *lim = resp_header(r, "X-RateLimit-Limit");
	ck_assert_msg(lim && atoi(lim) == LIMIT, "X-RateLimit-Limit %s", lim ? lim : "(none)");
	free(lim);
	http_free(r);

	/* Another client address is not affected. */
	own_client_address();
	r = lookup(body);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(email);
	http_source_addr(NULL);
}
END_TEST

/* ------------------------------------------------------------ TLS */

START_TEST(tls_health_has_hsts)
{
	const char *base = env_or("TESSERA_TEST_TLS_URL", NULL);
	if (!base) {
		fprintf(stderr, "tls_health_has_hsts: TESSERA_TEST_TLS_URL not set, skipped\n");
		return;
	}
	char url[512];
	snprintf(url, sizeof(url), "%s/health", base);
	http_resp *r = http_req_url(url, 0);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "ok");
	char *hsts = resp_header(r, "Strict-Transport-Security");
	ck_assert_msg(hsts && strstr(hsts, "max-age="), "Strict-Transport-Security %s", hsts ? hsts : "(none)");
	long age = atol(strstr(hsts, "max-age=") + 8);
	ck_assert_msg(age >= 31536000, "HSTS max-age %ld is under a year", age);
	free(hsts);
	assert_security_headers(r);
	http_free(r);

	/* Certificate checking stays on by default: self-signed is refused. */
	r = http_req_url(url, 1);
	ck_assert_msg(r->status == -1, "self-signed certificate accepted: %ld", r->status);
	http_free(r);
}
END_TEST

Suite *suite_public(void)
{
	Suite *s = suite_create("public");
	TCase *tc = tcase_new_slow(s, "health");
	tcase_add_test(tc, health_reports_ok_with_checks);
	tcase_add_test(tc, ready_reports_ready);

	tc = tcase_new_slow(s, "static");
	tcase_add_test(tc, landing_page_is_html_with_security_headers);
	tcase_add_test(tc, docs_is_swagger_ui);
	tcase_add_test(tc, openapi_lists_every_route);

	tc = tcase_new_slow(s, "tenant-config");
	tcase_add_test(tc, tenant_config_by_query_and_header);
	tcase_add_test(tc, tenant_config_unknown_tenant_is_404);
	tcase_add_test(tc, tenant_config_without_tenant_is_400);
	tcase_add_test(tc, tenant_config_by_custom_domain_any_status);
	tcase_add_test(tc, nginx_workers_do_not_run_as_root);
	tcase_add_test(tc, docs_build_works_offline_with_a_plain_page);

	tc = tcase_new_slow(s, "lookup");
	tcase_add_test(tc, lookup_finds_tenant_by_owner_email);
	tcase_add_test(tc, lookup_unknown_email_is_empty_list);
	tcase_add_test(tc, lookup_skips_suspended_tenants);
	tcase_add_test(tc, lookup_rejects_bad_requests);
	tcase_add_test(tc, lookup_rejects_non_json_content_type);
	tcase_add_test(tc, lookup_rejects_malformed_json);
	tcase_add_test(tc, lookup_is_rate_limited_per_address);

	tc = tcase_new_slow(s, "tls");
	tcase_add_test(tc, tls_health_has_hsts);
	return s;
}
