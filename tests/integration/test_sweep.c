/*
 * test_sweep.c - every implemented route of `tessera routes --json`,
 * driven from the route table so a route added later is covered without a
 * test of its own: hostile path parameters, query strings and bodies never
 * get a 5xx (nginx's 502 included) and always get the JSON envelope when
 * refused; no worker dies; a key lacking a route's scope and an end-user
 * token on a route not open to end users are refused with 403, unless the
 * user's roles grant `admin` (then the same hostile sweep runs as them).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

Suite *suite_sweep(void);

static cJSON *routes_implemented(void)
{
	int rc;
	char *out = run_cmd(&rc, "%s routes --json --config %s 2>/dev/null", bin(), conf_path());
	ck_assert_msg(rc == 0, "tessera routes --json failed");
	cJSON *all = cJSON_Parse(out);
	free(out);
	ck_assert_msg(cJSON_IsArray(all), "routes --json is not an array");
	cJSON *impl = cJSON_CreateArray();
	const cJSON *r;
	cJSON_ArrayForEach(r, all)
		if (cJSON_IsTrue(item(r, "implemented")))
			cJSON_AddItemToArray(impl, cJSON_Duplicate(r, true));
	cJSON_Delete(all);
	return impl;
}

/* The id of a resource created in the test's tenant, per path parameter. */
struct owned {
	const char *param;
	char *id;
};

/* POSTs body to path with key, asserting 201; the new id (malloc'd). */
static char *created(const char *key, const char *path, const char *body)
{
	http_resp *r = call("POST", key, body, "%s", path);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

/* path with each :param replaced by the id o (n entries, may be NULL) holds
 * for that name, or else by value (malloc'd). */
static char *path_fill(const char *pattern, const char *value, const struct owned *o, size_t n)
{
	size_t cap = strlen(pattern) * 2 + (strlen(value) + 64) * 8 + 1;
	char *out = malloc(cap), *w = out;
	for (const char *p = pattern; *p;) {
		if (*p != ':' || p[-1] != '/') {
			*w++ = *p++;
			continue;
		}
		size_t len = strcspn(p, "/");
		const char *val = value;
		for (size_t i = 0; i < n; i++)
			if (strlen(o[i].param) == len && !strncmp(o[i].param, p, len))
				val = o[i].id;
		w += sprintf(w, "%s", val);
		p += len;
	}
	*w = '\0';
	return out;
}

static bool has_body(const char *method)
{
	return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH");
}

static int live_workers(void)
{
	int rc;
	char *out = run_cmd(&rc, "pgrep -P $(cat %s/run/tessera.pid) | wc -l", stack_dir());
	int n = atoi(out);
	free(out);
	return n;
}

/* A body with every declared property of the wrong type (malloc'd). */
static char *wrong_types(const cJSON *route)
{
	cJSON *b = cJSON_CreateObject();
	const cJSON *p;
	int i = 0;
	cJSON_ArrayForEach(p, item(item(route, "request_schema"), "properties")) {
		const char *t = json_str(p, "type");
		switch (i++ % 3) {
		case 0:
			cJSON_AddItemToObject(b, p->string, t && !strcmp(t, "string") ?
					      cJSON_CreateNumber(1e308) : cJSON_CreateString("\xe2\x80\xae'; --"));
			break;
		case 1:
			cJSON_AddItemToObject(b, p->string, cJSON_CreateArray());
			break;
		default:
			cJSON_AddItemToObject(b, p->string, cJSON_CreateObject());
		}
	}
	char *s = cJSON_PrintUnformatted(b);
	cJSON_Delete(b);
	return s;
}

static int failures;

static void check(const char *what, const char *method, const char *path, const http_resp *r)
{
	bool bad = r->status >= 500 || r->status == 0;
	if (!bad && r->status >= 400)
		bad = !r->json || !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r->json, "success"));
	if (!bad && r->body_len && !r->json) { /* a JSON answer that does not parse (or is not UTF-8) */
		char *ct = resp_header(r, "Content-Type");
		bad = ct && strstr(ct, "json");
		free(ct);
	}
	if (bad && failures++ < 10)
		fprintf(stderr, "sweep: %s %s (%s): %ld %.300s\n", method, path, what, r->status,
			r->body ? r->body : "");
}

static void probe(const char *what, const char *method, const char *path, const char *token,
		 const char *ctype, const char *body, size_t len)
{
	http_resp *r = http_req(method, path, token, ctype, body, len, NULL);
	check(what, method, path, r);
	http_free(r);
}

/* Drives every implemented route with hostile input as token: path
 * parameters, query strings and bodies; asserts that none got a 5xx or
 * lost its envelope and that no worker died. */
static void sweep_hostile(const char *token)
{
	cJSON *routes = routes_implemented();
	int before = live_workers();
	const char *params[] = { "..%2F..%2Fetc%2Fpasswd", "'%20OR%20'1'%3D'1", "%00",
				 "%FF%FE", "obj_01ZZZZZZZZZZZZZZZZZZZZZZZZ",
				 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
				 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	/* Values that decode, for the handlers to refuse, then bytes that do
	 * not (the pipeline refuses those before any handler). */
	const char *queries[] = { "?limit=-1&offset=99999999999999999999999&cursor=%27x&sort=%3BDROP"
				  "&order=sideways&filter=%7B%7B&q=%27%22&page=-5&since=yesterday",
				  "?cursor=%FF%00x&sort=%FF%FE&q=%C0%AF&%ED%A0%80=1" };
	size_t big = 300 * 1024;
	char *huge = malloc(big + 16);
	memcpy(huge, "{\"name\":\"", 9);
	memset(huge + 9, 'x', big);
	memcpy(huge + 9 + big, "\"}", 3);
	char *deep = malloc(40 * 6 + 8), *d = deep;
	for (int i = 0; i < 40; i++)
		d += sprintf(d, "[");
	for (int i = 0; i < 40; i++)
		*d++ = ']';
	*d = '\0';
	const char *bodies[] = { "{", "[]", "null", "\"s\"", "{\"a\":\"\\u0000\"}", deep,
				 "{\"limit\":1e400,\"id\":-0}" };
	const cJSON *r;
	int n = 0;
	cJSON_ArrayForEach(r, routes) {
		const char *m = json_str(r, "method"), *pat = json_str(r, "path");
		if (!strcmp(pat, "/v1/auth/logout") || strstr(pat, "/realtime"))
			continue; /* would end the sweep's own session or hold a stream open */
		for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
			if (!strchr(pat, ':') && i > 0)
				break;
			char *p = path_fill(pat, params[i], NULL, 0);
			for (size_t k = 0; k < (i == 0 ? 2 : 1); k++, n++) {
				char *pq = strf("%s%s", p, queries[k]);
				probe("path+query", m, pq, token, NULL, has_body(m) ? "{}" : NULL,
				     has_body(m) ? 2 : 0);
				free(pq);
			}
			free(p);
		}
		if (!has_body(m))
			continue;
		char *p = path_fill(pat, "x_1", NULL, 0);
		for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++, n++)
			probe("body", m, p, token, NULL, bodies[i], strlen(bodies[i]));
		probe("utf8", m, p, token, NULL, "{\"name\":\"\xff\xfe\"}", 12);
		probe("huge", m, p, token, NULL, huge, strlen(huge));
		char *w = wrong_types(r);
		probe("types", m, p, token, NULL, w, strlen(w));
		free(w);
		n += 3;
		free(p);
	}
	free(huge);
	free(deep);
	cJSON_Delete(routes);
	ck_assert_msg(n > 1000, "only %d hostile requests: the route table came back short", n);
	ck_assert_int_eq(live_workers(), before);
	ck_assert_msg(failures == 0, "%d of %d hostile requests got a 5xx or no envelope", failures, n);
}

START_TEST(hostile_input_on_every_route_never_gets_a_5xx)
{
	struct tenant t;
	tenant_make(&t);
	sweep_hostile(t.key);
	tenant_drop(&t);
}
END_TEST

/* An end user holding a role with the `admin` permission (the role their
 * token's role claim names) as the sweep's caller: key-scoped handlers
 * see an end user where they only saw keys before. */
static char *admin_jwt(const struct tenant *t)
{
	http_resp *r = call("POST", t->key, "{\"name\":\"sweep_admin\",\"permissions\":[\"admin\"]}",
			    "/v1/roles");
	assert_envelope(r, 201, NULL);
	http_free(r);
	char *jwt = jwt_mint(t->id, "usr_sweepadmin", "sweep_admin", 3600, NULL);
	ck_assert_ptr_nonnull(jwt);
	return jwt;
}

START_TEST(hostile_input_from_an_admin_user_never_gets_a_5xx)
{
	struct tenant t;
	tenant_make(&t);
	char *jwt = admin_jwt(&t);
	sweep_hostile(jwt);
	free(jwt);
	tenant_drop(&t);
}
END_TEST

START_TEST(scopes_and_end_user_tokens_are_refused_on_every_route)
{
	struct tenant t;
	tenant_make(&t);
	char *ai = key_new(t.key, "{\"scopes\":[\"ai\"]}", NULL);
	char *rd = key_new(t.key, "{\"scopes\":[\"read\"]}", NULL);
	char *jwt = jwt_mint(t.id, "usr_sweep", "authenticated", 3600, NULL);
	/* A role granting `*` does not make an administrator: refused alike. */
	http_resp *made = call("POST", t.key, "{\"name\":\"sweep_all\",\"permissions\":[\"*\"]}", "/v1/roles");
	assert_envelope(made, 201, NULL);
	http_free(made);
	char *star = jwt_mint(t.id, "usr_sweepstar", "sweep_all", 3600, NULL);
	char *admin = admin_jwt(&t);
	cJSON *routes = routes_implemented();
	const cJSON *r;
	int bad = 0, n = 0;
	cJSON_ArrayForEach(r, routes) {
		const char *m = json_str(r, "method"), *pat = json_str(r, "path");
		const char *scope = json_str(r, "scope");
		if (strcmp(json_str(r, "auth"), "bearer") != 0)
			continue;
		char *p = path_fill(pat, "x_1", NULL, 0);
		const char *body = has_body(m) ? "{}" : NULL;
		if (scope && *scope) {
			const char *key = !strcmp(scope, "ai") ? rd : ai;
			http_resp *resp = http_req(m, p, key, NULL, body, body ? 2 : 0, NULL);
			n++;
			if (resp->status != 403 && bad++ < 10)
				fprintf(stderr, "scope: %s %s (needs %s): %ld %.200s\n", m, p, scope,
					resp->status, resp->body);
			http_free(resp);
		}
		for (int u = 0; u < 2 && !cJSON_IsTrue(item(r, "end_user")); u++) {
			http_resp *resp = http_req(m, p, u ? star : jwt, NULL, body, body ? 2 : 0, NULL);
			n++;
			const char *code = resp_error_code(resp);
			if ((resp->status != 403 || !code || strcmp(code, "INSUFFICIENT_SCOPE")) && bad++ < 10)
				fprintf(stderr, "end user: %s %s: %ld %.200s\n", m, p, resp->status,
					resp->body);
			http_free(resp);
		}
		http_resp *resp = http_req(m, p, admin, NULL, body, body ? 2 : 0, NULL);
		n++;
		const char *code = resp_error_code(resp);
		if (resp->status == 403 && code && !strcmp(code, "INSUFFICIENT_SCOPE") && bad++ < 10)
			fprintf(stderr, "admin user: %s %s: %ld %.200s\n", m, p, resp->status, resp->body);
		http_free(resp);
		free(p);
	}
	cJSON_Delete(routes);
	free(admin);
	free(star);
	free(ai);
	free(rd);
	free(jwt);
	ck_assert_msg(n > 150, "only %d probes: the route table came back short", n);
	ck_assert_msg(bad == 0, "%d of %d probes were not refused with 403 (or, for the admin, were)", bad, n);
}
END_TEST


START_TEST(another_tenants_ids_answer_404_on_every_route_and_change_nothing)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	char *key_id = NULL;
	free(key_new(a.key, "{\"scopes\":[\"read\"]}", &key_id));
	char *ty = type_make(a.key, "sweepnotes");
	char *prop = prop_new(a.key, "sweepnotes",
			      "{\"name\":\"owner\",\"data_type\":\"string\",\"is_indexed\":true}");
	char *obj = obj_make(a.key, "sweepnotes", "{\"owner\":\"a\"}");
	char *p = strf("/v1/object-types/%s/views", ty);
	char *view = created(a.key, p, "{\"name\":\"Everything\"}");
	free(p);
	p = strf("/v1/object-types/%s/policies", ty);
	char *policy = created(a.key, p, "{\"name\":\"own rows\",\"action\":\"all\",\"condition_json\":"
			       "{\"property\":\"owner\",\"operator\":\"eq\",\"value\":{\"auth\":\"uid\"}}}");
	free(p);
	char *role = created(a.key, "/v1/roles", "{\"name\":\"sweeper\",\"permissions\":"
			     "[\"objects:sweepnotes:read\"]}");
	char *user = created(a.key, "/v1/users", "{\"email\":\"sweep@example.com\","
			     "\"password\":\"correct horse 9\"}");
	char *hook = created(a.key, "/v1/webhooks", "{\"url\":\"http://127.0.0.1:9/h\","
			     "\"events\":[\"custom.none\"]}");
	char *file = file_upload_text(a.key, "sweep.txt", "mine");
	const struct owned own[] = {
		{ ":key_id", key_id }, { ":object_type_id", ty }, { ":type", ty },
		{ ":from_type", ty }, { ":to_type", ty }, { ":property_id", prop },
		{ ":object_id", obj }, { ":id", obj }, { ":from_id", obj }, { ":to_id", obj },
		{ ":view_id", view }, { ":policy_id", policy },
		{ ":role_id", role }, { ":user_id", user }, { ":webhook_id", hook },
		{ ":file_id", file },
	};
	size_t n_own = sizeof(own) / sizeof(own[0]);

	cJSON *routes = routes_implemented();
	const cJSON *r;
	int bad = 0, n = 0;
	cJSON_ArrayForEach(r, routes) {
		const char *m = json_str(r, "method"), *pat = json_str(r, "path");
		if (!strchr(pat, ':') || strcmp(json_str(r, "auth"), "bearer") != 0)
			continue;
		char *path = path_fill(pat, "x_01ZZZZZZZZZZZZZZZZZZZZZZZZ", own, n_own);
		const char *body = has_body(m) ? "{}" : NULL;
		http_resp *resp = http_req(m, path, b.key, NULL, body, body ? 2 : 0, NULL);
		n++;
		/* Refused in any way but never found: no 2xx, no 409 over A's
		 * rows, no 5xx. */
		if ((resp->status < 400 || resp->status == 409 || resp->status >= 500) && bad++ < 10)
			fprintf(stderr, "cross-tenant: %s %s: %ld %.200s\n", m, path, resp->status,
				resp->body);
		http_free(resp);
		free(path);
	}
	cJSON_Delete(routes);
	ck_assert_msg(n > 50, "only %d routes with ids", n);
	ck_assert_msg(bad == 0, "%d of %d calls with another tenant's ids were not refused", bad, n);

	/* Everything of A's is still there, unchanged. */
	const char *gets[] = { "/v1/object-types/%s", "/v1/objects/sweepnotes/%s", "/v1/roles/%s",
			       "/v1/users/%s", "/v1/files/%s" };
	const char *ids[] = { ty, obj, role, user, file };
	for (size_t i = 0; i < 5; i++) {
		char *path = strf(gets[i], ids[i]);
		http_resp *resp = call("GET", a.key, NULL, "%s", path);
		assert_envelope(resp, 200, NULL);
		http_free(resp);
		free(path);
	}
	http_resp *resp = call("GET", a.key, NULL, "/v1/keys");
	ck_assert_ptr_nonnull(strstr(resp->body, key_id));
	http_free(resp);
	resp = call("GET", a.key, NULL, "/v1/webhooks");
	ck_assert_ptr_nonnull(strstr(resp->body, hook));
	http_free(resp);
}
END_TEST

/* Every Redis key that holds a tenant's state carries the tenant in a hash
 * tag ({tn_...}), so a Redis Cluster keeps it in the tenant's slot: driven
 * through the API (every list route, objects, roles, an end user's reads,
 * a passkey challenge, an account export), then read back with SCAN. */
START_TEST(every_redis_key_of_a_tenant_carries_it_in_a_hash_tag)
{
	struct tenant t;
	tenant_make(&t);
	type_make(t.key, "tagnotes");
	free(obj_make(t.key, "tagnotes", "{}"));
	free(created(t.key, "/v1/roles", "{\"name\":\"tagger\",\"permissions\":[\"objects:read\"]}"));
	char *user = created(t.key, "/v1/users", "{\"email\":\"tag@example.com\","
			     "\"password\":\"correct horse 9\"}");
	char *jwt = jwt_mint(t.id, user, "authenticated", 600, NULL);
	const char *as_user[][2] = { { "GET", "/v1/auth/me" }, { "GET", "/v1/auth/me/export" },
				     { "POST", "/v1/auth/passkeys/register/begin" } };
	for (size_t i = 0; i < sizeof(as_user) / sizeof(as_user[0]); i++)
		http_free(call(as_user[i][0], jwt, as_user[i][0][0] == 'P' ? "{}" : NULL, "%s",
			       as_user[i][1]));
	cJSON *routes = routes_implemented();
	const cJSON *r;
	cJSON_ArrayForEach(r, routes) {
		const char *pat = json_str(r, "path");
		if (strcmp(json_str(r, "method"), "GET") == 0 && !strchr(pat, ':') &&
		    strcmp(json_str(r, "auth"), "bearer") == 0)
			http_free(call("GET", t.key, NULL, "%s", pat));
	}
	cJSON_Delete(routes);
	http_free(call("GET", t.key, NULL, "/v1/objects/tagnotes/list?limit=5"));

	int rc;
	char *keys = run_cmd(&rc, "redis-cli -s %s/run/redis.sock --scan --pattern '*%s*' 2>&1",
			     stack_dir(), t.id);
	ck_assert_msg(rc == 0, "redis-cli --scan failed: %s", keys);
	char *tag = strf("{%s}", t.id);
	int n = 0, untagged = 0;
	for (char *line = strtok(keys, "\n"); line; line = strtok(NULL, "\n")) {
		n++;
		if (!strstr(line, tag) && untagged++ < 10)
			fprintf(stderr, "untagged Redis key: %s\n", line);
	}
	ck_assert_msg(n >= 5, "only %d Redis keys name the tenant: the calls above made none?", n);
	ck_assert_msg(untagged == 0, "%d of %d Redis keys name tenant %s outside a hash tag",
		      untagged, n, t.id);
	free(tag);
	free(keys);
	free(jwt);
	free(user);
}
END_TEST

Suite *suite_sweep(void)
{
	Suite *s = suite_create("sweep");
	TCase *tc = tcase_new_slow(s, "sweep");
	tcase_add_test(tc, hostile_input_on_every_route_never_gets_a_5xx);
	tcase_add_test(tc, hostile_input_from_an_admin_user_never_gets_a_5xx);
	tcase_add_test(tc, scopes_and_end_user_tokens_are_refused_on_every_route);
	tcase_add_test(tc, another_tenants_ids_answer_404_on_every_route_and_change_nothing);
	tcase_add_test(tc, every_redis_key_of_a_tenant_carries_it_in_a_hash_tag);
	return s;
}
