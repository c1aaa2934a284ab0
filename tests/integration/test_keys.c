/*
 * test_keys.c - API keys end to end: the five key endpoints, what a key's
 * settings (scopes, IP allowlist, expiry, rate limit) do to the requests
 * made with it, tenant isolation, the audit trail the changes leave, usage,
 * and tenant suspension.  Each test makes its own tenant(s).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* ------------------------------------------------------------ helpers */

/* RFC 3339 UTC time `secs` from now. */
static void time_from_now(char *buf, size_t len, long secs)
{
	time_t t = time(NULL) + secs;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Asserts arr is exactly the strings in want (NULL-terminated), in order. */
static void assert_strings(const cJSON *arr, const char *const *want, const char *what)
{
	ck_assert_msg(cJSON_IsArray(arr), "%s is not an array", what);
	int n = 0;
	for (const char *const *w = want; *w; w++, n++) {
		const cJSON *it = cJSON_GetArrayItem(arr, n);
		ck_assert_msg(cJSON_IsString(it) && strcmp(it->valuestring, *w) == 0,
			      "%s[%d]: want %s", what, n, *w);
	}
	ck_assert_msg(cJSON_GetArraySize(arr) == n, "%s has %d items, want %d", what,
		      cJSON_GetArraySize(arr), n);
}

static void assert_usage_ok(const char *token, const char *tenant_id)
{
	http_resp *r = http_get("/v1/usage", token);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "tenant_id"), tenant_id);
	http_free(r);
}

static void assert_usage_fails(const char *token, long status, const char *code)
{
	http_resp *r = http_get("/v1/usage", token);
	assert_envelope(r, status, code);
	ck_assert_ptr_null(resp_data(r));
	http_free(r);
}

static cJSON *keys_list(const char *admin, const char *query)
{
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys%s", query ? query : "");
	http_resp *r = http_get(path, admin);
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsArray(resp_data(r)), "list is not an array: %s", r->body);
	cJSON *list = cJSON_Duplicate(resp_data(r), 1);
	http_free(r);
	return list;
}

/* ------------------------------------------------------------ create */

START_TEST(create_returns_key_and_token_once)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char exp[40], body[512];
	time_from_now(exp, sizeof(exp), 86400);
	snprintf(body, sizeof(body),
		 "{\"label\":\"ci deploy\",\"scopes\":[\"read\",\"write\"],\"ip_allowlist\":[\"127.0.0.1/32\"],"
		 "\"expires_at\":\"%s\",\"rate_limit\":100}", exp);
	http_resp *r = http_json("POST", "/v1/keys", t.key, body);
	assert_envelope(r, 201, NULL);
	const cJSON *d = resp_data(r);
	const char *token = json_str(d, "token");
	ck_assert_msg(token && strncmp(token, "tsk_", 4) == 0 && strlen(token) > 30, "token: %s", r->body);
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(d, "key");
	const char *id = json_str(k, "id");
	ck_assert_msg(id && strncmp(id, "key_", 4) == 0, "key.id: %s", r->body);
	ck_assert_str_eq(json_str(k, "label"), "ci deploy");
	const char *prefix = json_str(k, "prefix");
	ck_assert_msg(prefix && strlen(prefix) >= 8 && strncmp(token, prefix, strlen(prefix)) == 0 &&
		      strlen(prefix) < strlen(token), "prefix %s of %s", prefix, token);
	assert_strings(cJSON_GetObjectItemCaseSensitive(k, "scopes"), (const char *[]){ "read", "write", NULL },
		       "scopes");
	assert_strings(cJSON_GetObjectItemCaseSensitive(k, "ip_allowlist"),
		       (const char *[]){ "127.0.0.1/32", NULL }, "ip_allowlist");
	ck_assert_str_eq(json_str(k, "expires_at"), exp);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(k, "rate_limit")->valueint, 100);
	ck_assert_str_eq(json_str(k, "status"), "active");
	ck_assert_msg(!cJSON_GetObjectItemCaseSensitive(k, "token") && !strstr(r->body, "hash"),
		      "key object exposes secrets: %s", r->body);
	char *tok = strdup(token), *kid = strdup(id), *pfx = strdup(prefix);
	http_free(r);

	/* The token works at once, for the tenant that made it. */
	assert_usage_ok(tok, t.id);

	/* ...and is never shown again. */
	r = http_get("/v1/keys", t.key);
	assert_envelope(r, 200, NULL);
	const cJSON *listed = find_by(resp_data(r), "id", kid);
	ck_assert_msg(listed != NULL, "new key not listed: %s", r->body);
	ck_assert_str_eq(json_str(listed, "label"), "ci deploy");
	ck_assert_str_eq(json_str(listed, "prefix"), pfx);
	ck_assert_msg(!strstr(r->body, tok) && !strstr(r->body, "\"token\"") && !strstr(r->body, "hash"),
		      "token or hash in list: %s", r->body);
	http_free(r);
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", kid);
	r = http_json("PATCH", path, t.key, "{\"label\":\"ci\"}");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(!strstr(r->body, tok) && !strstr(r->body, "\"token\""), "token in PATCH: %s", r->body);
	http_free(r);
	free(tok);
	free(kid);
	free(pfx);
	tenant_drop(&t);
}
END_TEST

START_TEST(create_defaults)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	http_resp *r = http_json("POST", "/v1/keys", t.key, "{}");
	assert_envelope(r, 201, NULL);
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(resp_data(r), "key");
	const char *label = json_str(k, "label");
	ck_assert_msg(label && *label, "default label: %s", r->body);
	/* Least privilege when no scopes are given. */
	assert_strings(cJSON_GetObjectItemCaseSensitive(k, "scopes"), (const char *[]){ "read", NULL }, "scopes");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(k, "ip_allowlist")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(k, "expires_at")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(k, "rate_limit")));
	ck_assert_str_eq(json_str(k, "status"), "active");
	http_free(r);

	/* "name" is accepted as the label's other spelling. */
	r = http_json("POST", "/v1/keys", t.key, "{\"name\":\"by name\"}");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(cJSON_GetObjectItemCaseSensitive(resp_data(r), "key"), "label"), "by name");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(create_accepts_each_known_scope)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	const char *scopes[] = { "read", "write", "schema", "files", "auth", "ai", "*", NULL };
	for (const char **s = scopes; *s; s++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"label\":\"%s\",\"scopes\":[\"%s\"]}", *s, *s);
		http_resp *r = http_json("POST", "/v1/keys", t.key, body);
		assert_envelope(r, 201, NULL);
		assert_strings(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(resp_data(r), "key"),
								 "scopes"),
			       (const char *[]){ *s, NULL }, *s);
		http_free(r);
	}
	http_resp *r = http_json("POST", "/v1/keys", t.key,
				 "{\"scopes\":[\"read\",\"write\",\"schema\",\"files\",\"auth\",\"ai\"]}");
	assert_envelope(r, 201, NULL);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(create_rejects_bad_scopes)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	const char *bodies[] = {
		"{\"scopes\":[\"admin\"]}",
		"{\"scopes\":[\"read\",\"READ\"]}",
		"{\"scopes\":[\"read\",\"read\"]}",
		"{\"scopes\":[\"\"]}",
		"{\"scopes\":[]}",
		"{\"scopes\":\"read\"}",
		"{\"scopes\":[1]}",
		NULL,
	};
	for (const char **b = bodies; *b; b++) {
		http_resp *r = http_json("POST", "/v1/keys", t.key, *b);
		assert_invalid(r, "scopes");
		http_free(r);
	}
	http_resp *r = http_json("POST", "/v1/keys", t.key, "{\"scopes\":[\"admin\"]}");
	ck_assert_msg(strstr(error_message(r), "admin"), "message does not name the scope: %s", r->body);
	http_free(r);
	/* Nothing was created. */
	cJSON *list = keys_list(t.key, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(list), 1);
	cJSON_Delete(list);
	tenant_drop(&t);
}
END_TEST

START_TEST(non_admin_key_cannot_manage_keys)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *read = key_new(t.key, "{\"scopes\":[\"read\"]}", NULL);
	char *most = key_new(t.key, "{\"scopes\":[\"read\",\"write\",\"schema\",\"files\",\"auth\",\"ai\"]}", NULL);
	const char *tokens[] = { read, most, NULL };
	for (const char **tok = tokens; *tok; tok++) {
		http_resp *r = http_get("/v1/keys", *tok);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		/* So it cannot mint a key with more than it has. */
		r = http_json("POST", "/v1/keys", *tok, "{\"scopes\":[\"*\"]}");
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		r = http_json("POST", "/v1/keys", *tok, "{\"scopes\":[\"read\"]}");
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		r = http_json("PATCH", "/v1/keys/key_x", *tok, "{\"scopes\":[\"*\"]}");
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		r = http_get("/v1/audit-logs", *tok);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		/* What its scope covers still works. */
		assert_usage_ok(*tok, t.id);
	}
	/* Nor can an end user's token, whatever its role. */
	char *jwt = jwt_mint(t.id, "usr_admin", "admin", 300, NULL);
	http_resp *r = http_get("/v1/keys", jwt);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	r = http_json("POST", "/v1/keys", jwt, "{\"scopes\":[\"*\"]}");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	free(jwt);
	cJSON *list = keys_list(t.key, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(list), 3);
	cJSON_Delete(list);
	free(read);
	free(most);
	tenant_drop(&t);
}
END_TEST

START_TEST(key_quota_follows_plan)
{
	struct tenant t;
	tenant_make_keyed(&t, "free");
	/* The free plan allows 10 active keys; the admin key is one. */
	char *last_id = NULL;
	for (int i = 0; i < 9; i++) {
		free(last_id);
		char *tok = key_new(t.key, "{\"scopes\":[\"read\"]}", &last_id);
		free(tok);
	}
	http_resp *r = http_json("POST", "/v1/keys", t.key, "{\"scopes\":[\"read\"]}");
	assert_envelope(r, 403, "QUOTA_EXCEEDED");
	http_free(r);
	/* Revoking one frees its slot. */
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", last_id);
	r = http_req("DELETE", path, t.key, NULL, NULL, 0, NULL);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_json("POST", "/v1/keys", t.key, "{\"scopes\":[\"read\"]}");
	assert_envelope(r, 201, NULL);
	http_free(r);
	free(last_id);
	tenant_drop(&t);
}
END_TEST

START_TEST(label_length_counts_characters)
{
	/* 100 characters is the limit, however many bytes they take. */
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char label[256], body[320];
	for (int i = 0; i < 100; i++)
		memcpy(label + 2 * i, "\xc3\xa9", 2); /* é */
	label[200] = '\0';
	snprintf(body, sizeof(body), "{\"label\":\"%s\"}", label);
	http_resp *r = http_json("POST", "/v1/keys", t.key, body);
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(cJSON_GetObjectItemCaseSensitive(resp_data(r), "key"), "label"), label);
	http_free(r);
	snprintf(body, sizeof(body), "{\"label\":\"%s\xc3\xa9\"}", label);
	r = http_json("POST", "/v1/keys", t.key, body);
	assert_invalid(r, "label");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(invalid_utf8_is_rejected)
{
	/* JSON text is UTF-8 (RFC 8259): a client error, not a 500. */
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	http_resp *r = http_json("POST", "/v1/keys", t.key, "{\"label\":\"bad \xff\xfe\"}");
	ck_assert_msg(r->status == 400, "want 400, got %ld: %s", r->status, r->body);
	const char *code = resp_error_code(r);
	ck_assert_msg(code && (!strcmp(code, "INVALID_JSON") || !strcmp(code, "VALIDATION_ERROR")),
		      "code: %s", r->body);
	assert_envelope(r, 400, code);
	http_free(r);
	cJSON *list = keys_list(t.key, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(list), 1);
	cJSON_Delete(list);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ key settings */

START_TEST(ip_allowlist_restricts_client_address)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *ten = key_new(t.key, "{\"scopes\":[\"read\"],\"ip_allowlist\":[\"10.0.0.0/8\"]}", NULL);
	assert_usage_fails(ten, 403, "FORBIDDEN");
	char *exact = key_new(t.key, "{\"scopes\":[\"read\"],\"ip_allowlist\":[\"127.0.0.1/32\"]}", NULL);
	assert_usage_ok(exact, t.id);
	char *mixed = key_new(t.key, "{\"scopes\":[\"read\"],\"ip_allowlist\":[\"::1\",\"127.0.0.0/8\"]}", NULL);
	assert_usage_ok(mixed, t.id);
	char *plain = key_new(t.key, "{\"scopes\":[\"read\"],\"ip_allowlist\":[\"127.0.0.1\"]}", NULL);
	assert_usage_ok(plain, t.id);

	/* From another loopback address: only the /8 block still admits it. */
	char *ip = loopback_addr_random();
	http_source_addr(ip);
	assert_usage_fails(exact, 403, "FORBIDDEN");
	assert_usage_fails(plain, 403, "FORBIDDEN");
	assert_usage_ok(mixed, t.id);
	http_source_addr(NULL);
	free(ip);

	/* An empty list means no restriction. */
	char *open = key_new(t.key, "{\"scopes\":[\"read\"],\"ip_allowlist\":[]}", NULL);
	assert_usage_ok(open, t.id);
	free(ten);
	free(exact);
	free(mixed);
	free(plain);
	free(open);
	tenant_drop(&t);
}
END_TEST

START_TEST(ip_allowlist_rejects_invalid_entries)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	const char *bad[] = { "10.0.0.0/33", "not-an-ip", "300.1.1.1", "::1/129", "10.0.0.0/", "", NULL };
	for (const char **b = bad; *b; b++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"ip_allowlist\":[\"127.0.0.1\",\"%s\"]}", *b);
		http_resp *r = http_json("POST", "/v1/keys", t.key, body);
		assert_invalid(r, "ip_allowlist");
		http_free(r);
	}
	http_resp *r = http_json("POST", "/v1/keys", t.key, "{\"ip_allowlist\":\"127.0.0.1\"}");
	assert_invalid(r, "ip_allowlist");
	http_free(r);
	cJSON *list = keys_list(t.key, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(list), 1);
	cJSON_Delete(list);
	tenant_drop(&t);
}
END_TEST

START_TEST(expires_at_is_validated)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char past[40], body[256];
	time_from_now(past, sizeof(past), -60);
	const char *values[] = { past, "2000-01-01T00:00:00Z", "tomorrow", "2099-13-01T00:00:00Z",
				 "2099-01-01", NULL };
	for (const char **v = values; *v; v++) {
		snprintf(body, sizeof(body), "{\"expires_at\":\"%s\"}", *v);
		http_resp *r = http_json("POST", "/v1/keys", t.key, body);
		assert_invalid(r, "expires_at");
		http_free(r);
	}
	/* An offset is converted to UTC. */
	http_resp *r = http_json("POST", "/v1/keys", t.key, "{\"expires_at\":\"2099-01-01T02:30:00+02:00\"}");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(cJSON_GetObjectItemCaseSensitive(resp_data(r), "key"), "expires_at"),
			 "2099-01-01T00:30:00Z");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(expired_key_stops_working)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char exp[40], body[256], *id;
	time_from_now(exp, sizeof(exp), 2);
	snprintf(body, sizeof(body), "{\"scopes\":[\"read\"],\"expires_at\":\"%s\"}", exp);
	char *tok = key_new(t.key, body, &id);
	assert_usage_ok(tok, t.id);
	sleep(3);
	assert_usage_fails(tok, 401, "UNAUTHORIZED");
	cJSON *list = keys_list(t.key, NULL);
	const cJSON *k = find_by(list, "id", id);
	ck_assert_msg(k != NULL, "expired key not listed");
	ck_assert_str_eq(json_str(k, "status"), "expired");
	cJSON_Delete(list);
	free(tok);
	free(id);
	tenant_drop(&t);
}
END_TEST

static long header_long(const http_resp *r, const char *name)
{
	char *v = resp_header(r, name);
	ck_assert_msg(v != NULL, "%s missing", name);
	long n = atol(v);
	free(v);
	return n;
}

START_TEST(per_key_rate_limit)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *tok = key_new(t.key, "{\"scopes\":[\"read\"],\"rate_limit\":3}", NULL);
	wait_for_fresh_minute();
	for (int i = 1; i <= 3; i++) {
		http_resp *r = http_get("/v1/usage", tok);
		assert_envelope(r, 200, NULL);
		ck_assert_int_eq(header_long(r, "X-RateLimit-Limit"), 3);
		ck_assert_int_eq(header_long(r, "X-RateLimit-Remaining"), 3 - i);
		http_free(r);
	}
	http_resp *r = http_get("/v1/usage", tok);
	assert_envelope(r, 429, "RATE_LIMITED");
	long now = (long)time(NULL);
	long retry = header_long(r, "Retry-After");
	ck_assert_msg(retry >= 1 && retry <= 60, "Retry-After %ld", retry);
	ck_assert_int_eq(header_long(r, "X-RateLimit-Limit"), 3);
	ck_assert_int_eq(header_long(r, "X-RateLimit-Remaining"), 0);
	long reset = header_long(r, "X-RateLimit-Reset");
	ck_assert_msg(reset > now - 1 && reset <= now + 61, "X-RateLimit-Reset %ld (now %ld)", reset, now);
	http_free(r);

	/* The limit is the key's own: the admin key is unaffected. */
	assert_usage_ok(t.key, t.id);
	/* Out-of-range limits are refused. */
	const char *bad[] = { "{\"rate_limit\":0}", "{\"rate_limit\":-5}", "{\"rate_limit\":\"10\"}",
			      "{\"rate_limit\":1.5}", NULL };
	for (const char **b = bad; *b; b++) {
		r = http_json("POST", "/v1/keys", t.key, *b);
		assert_invalid(r, "rate_limit");
		http_free(r);
	}
	free(tok);
	tenant_drop(&t);
}
END_TEST

START_TEST(key_rate_limit_cannot_exceed_plan)
{
	/* The plan's limit applies per key; a key may only be slower. */
	struct tenant t;
	tenant_make_keyed(&t, "free");
	http_resp *r = http_get("/v1/usage", t.key);
	assert_envelope(r, 200, NULL);
	int plan = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(resp_data(r), "plan_limits"),
						    "rate_limit_per_minute")->valueint;
	http_free(r);
	char body[128];
	snprintf(body, sizeof(body), "{\"rate_limit\":%d}", plan + 1);
	r = http_json("POST", "/v1/keys", t.key, body);
	assert_invalid(r, "rate_limit");
	http_free(r);
	snprintf(body, sizeof(body), "{\"rate_limit\":%d}", plan);
	char *id;
	char *tok = key_new(t.key, body, &id);
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", id);
	snprintf(body, sizeof(body), "{\"rate_limit\":%d}", plan * 10);
	r = http_json("PATCH", path, t.key, body);
	assert_invalid(r, "rate_limit");
	http_free(r);
	free(tok);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(last_used_at_records_use)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *id;
	char *tok = key_new(t.key, "{\"scopes\":[\"read\"]}", &id);
	cJSON *list = keys_list(t.key, NULL);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(find_by(list, "id", id), "last_used_at")));
	cJSON_Delete(list);
	assert_usage_ok(tok, t.id);
	/* Allow for a write-behind of a few seconds. */
	const char *used = NULL;
	for (int i = 0; i < 30 && !used; i++) {
		list = keys_list(t.key, NULL);
		used = json_str(find_by(list, "id", id), "last_used_at");
		if (used)
			ck_assert_msg(strlen(used) >= 20 && used[strlen(used) - 1] == 'Z', "last_used_at %s", used);
		cJSON_Delete(list);
		if (!used)
			usleep(100000);
	}
	ck_assert_msg(used != NULL, "last_used_at still null after the key was used");
	free(tok);
	free(id);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ update */

START_TEST(patch_updates_fields_and_takes_effect)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *id;
	char *tok = key_new(t.key, "{\"label\":\"before\",\"scopes\":[\"read\"]}", &id);
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", id);

	http_resp *r = http_json("PATCH", path, t.key,
				 "{\"label\":\"after\",\"scopes\":[\"read\",\"files\"],"
				 "\"ip_allowlist\":[\"10.0.0.0/8\"],\"rate_limit\":2}");
	assert_envelope(r, 200, NULL);
	const cJSON *k = resp_data(r);
	ck_assert_str_eq(json_str(k, "id"), id);
	ck_assert_str_eq(json_str(k, "label"), "after");
	assert_strings(cJSON_GetObjectItemCaseSensitive(k, "scopes"), (const char *[]){ "read", "files", NULL },
		       "scopes");
	assert_strings(cJSON_GetObjectItemCaseSensitive(k, "ip_allowlist"), (const char *[]){ "10.0.0.0/8", NULL },
		       "ip_allowlist");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(k, "rate_limit")->valueint, 2);
	http_free(r);

	/* The list shows the same. */
	cJSON *list = keys_list(t.key, NULL);
	const cJSON *l = find_by(list, "id", id);
	ck_assert_str_eq(json_str(l, "label"), "after");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(l, "rate_limit")->valueint, 2);
	cJSON_Delete(list);

	/* The allowlist applies to the next request... */
	assert_usage_fails(tok, 403, "FORBIDDEN");
	/* ...and clearing it (null) lifts it; the new rate limit applies. */
	r = http_json("PATCH", path, t.key, "{\"ip_allowlist\":null}");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(resp_data(r), "ip_allowlist")));
	ck_assert_str_eq(json_str(resp_data(r), "label"), "after");
	http_free(r);
	/* The refused request never reached the rate limiter, so the fresh
	 * limit of 2 admits exactly two. */
	wait_for_fresh_minute();
	for (int i = 1; i <= 3; i++) {
		r = http_get("/v1/usage", tok);
		if (i <= 2) {
			assert_envelope(r, 200, NULL);
			ck_assert_int_eq(header_long(r, "X-RateLimit-Limit"), 2);
		} else {
			assert_envelope(r, 429, "RATE_LIMITED");
		}
		http_free(r);
	}
	free(tok);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(patch_scopes_change_what_key_can_do)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *id;
	char *tok = key_new(t.key, "{\"scopes\":[\"read\"]}", &id);
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", id);
	http_resp *r = http_get("/v1/keys", tok);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	r = http_json("PATCH", path, t.key, "{\"scopes\":[\"*\"]}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get("/v1/keys", tok);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_json("PATCH", path, t.key, "{\"scopes\":[\"files\"]}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* /v1/usage needs read, which the key no longer has. */
	assert_usage_fails(tok, 403, "INSUFFICIENT_SCOPE");
	free(tok);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(patch_rejects_unknown_and_invalid_fields)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *id;
	char *tok = key_new(t.key, "{\"label\":\"keep\"}", &id);
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", id);
	static const struct {
		const char *body, *field;
	} cases[] = {
		{ "{\"label\":\"x\",\"bogus\":1}", "bogus" },
		{ "{\"status\":\"revoked\"}", "status" },
		{ "{\"prefix\":\"tsk_\"}", "prefix" },
		{ "{\"scopes\":[\"root\"]}", "scopes" },
		{ "{\"scopes\":[]}", "scopes" },
		{ "{\"ip_allowlist\":[\"1.2.3.4/40\"]}", "ip_allowlist" },
		{ "{\"expires_at\":\"2001-01-01T00:00:00Z\"}", "expires_at" },
		{ "{\"rate_limit\":0}", "rate_limit" },
		{ "{\"label\":\"\"}", "label" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		http_resp *r = http_json("PATCH", path, t.key, cases[i].body);
		assert_invalid(r, cases[i].field);
		http_free(r);
	}
	http_resp *r = http_json("PATCH", path, t.key, "{\"label\":\"x\",\"bogus\":1}");
	ck_assert_msg(strstr(error_message(r), "bogus"), "message does not name the field: %s", r->body);
	http_free(r);
	r = http_req("PATCH", path, t.key, NULL, "{\"label\":", 9, NULL);
	assert_envelope(r, 400, "INVALID_JSON");
	http_free(r);
	r = http_req("PATCH", path, t.key, "text/plain", "{\"label\":\"x\"}", 13, NULL);
	assert_envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE");
	http_free(r);
	/* Nothing changed. */
	cJSON *list = keys_list(t.key, NULL);
	ck_assert_str_eq(json_str(find_by(list, "id", id), "label"), "keep");
	cJSON_Delete(list);
	free(tok);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(patch_missing_or_revoked_key_is_404)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	http_resp *r = http_json("PATCH", "/v1/keys/key_00000000000000000000000000", t.key, "{\"label\":\"x\"}");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	char *id;
	char *tok = key_new(t.key, "{}", &id);
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", id);
	r = http_req("DELETE", path, t.key, NULL, NULL, 0, NULL);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_json("PATCH", path, t.key, "{\"label\":\"x\"}");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(tok);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(patch_without_changes_writes_nothing)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *id;
	char *tok = key_new(t.key, "{\"label\":\"same\"}", &id);
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", id);
	http_resp *r = http_json("PATCH", path, t.key, "{}");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	ck_assert_str_eq(json_str(resp_data(r), "label"), "same");
	http_free(r);
	r = http_get("/v1/audit-logs?action=api_key.updated", t.key);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(resp_data(r), "total")->valueint, 0);
	http_free(r);
	free(tok);
	free(id);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ rotate */

START_TEST(rotate_replaces_token_and_keeps_settings)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *id;
	char *old_tok = key_new(t.key, "{\"label\":\"svc\",\"scopes\":[\"read\",\"ai\"],"
				       "\"ip_allowlist\":[\"127.0.0.0/8\"],\"rate_limit\":50,"
				       "\"expires_at\":\"2099-06-01T00:00:00Z\"}", &id);
	assert_usage_ok(old_tok, t.id);
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s/rotate", id);
	http_resp *r = http_json("POST", path, t.key, NULL);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(d, "old_key");
	const cJSON *nk = cJSON_GetObjectItemCaseSensitive(d, "new_key");
	const char *new_tok = json_str(d, "token");
	ck_assert_msg(new_tok && strncmp(new_tok, "tsk_", 4) == 0 && strcmp(new_tok, old_tok) != 0,
		      "token: %s", r->body);
	ck_assert_str_eq(json_str(ok, "id"), id);
	ck_assert_str_eq(json_str(ok, "status"), "revoked");
	ck_assert_msg(json_str(ok, "revoked_at") != NULL, "old_key.revoked_at: %s", r->body);
	const char *new_id = json_str(nk, "id");
	ck_assert_msg(new_id && strncmp(new_id, "key_", 4) == 0 && strcmp(new_id, id) != 0, "new_key.id: %s", r->body);
	ck_assert_str_eq(json_str(nk, "status"), "active");
	ck_assert_str_eq(json_str(nk, "label"), "svc");
	assert_strings(cJSON_GetObjectItemCaseSensitive(nk, "scopes"), (const char *[]){ "read", "ai", NULL }, "scopes");
	assert_strings(cJSON_GetObjectItemCaseSensitive(nk, "ip_allowlist"), (const char *[]){ "127.0.0.0/8", NULL },
		       "ip_allowlist");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(nk, "rate_limit")->valueint, 50);
	ck_assert_str_eq(json_str(nk, "expires_at"), "2099-06-01T00:00:00Z");
	const char *prefix = json_str(nk, "prefix");
	ck_assert_msg(prefix && strncmp(new_tok, prefix, strlen(prefix)) == 0, "new prefix %s", prefix);
	char *ntok = strdup(new_tok), *nid = strdup(new_id);
	http_free(r);

	/* The old token stops at once; the new one works. */
	assert_usage_fails(old_tok, 401, "UNAUTHORIZED");
	assert_usage_ok(ntok, t.id);
	cJSON *list = keys_list(t.key, NULL);
	ck_assert_ptr_null(find_by(list, "id", id));
	ck_assert_ptr_nonnull(find_by(list, "id", nid));
	cJSON_Delete(list);

	/* A rotated key cannot be rotated again. */
	r = http_json("POST", path, t.key, "{}");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* Rotation may relabel and narrow the scopes. */
	snprintf(path, sizeof(path), "/v1/keys/%s/rotate", nid);
	r = http_json("POST", path, t.key, "{\"label\":\"svc v3\",\"scopes\":[\"read\"]}");
	assert_envelope(r, 200, NULL);
	nk = cJSON_GetObjectItemCaseSensitive(resp_data(r), "new_key");
	ck_assert_str_eq(json_str(nk, "label"), "svc v3");
	assert_strings(cJSON_GetObjectItemCaseSensitive(nk, "scopes"), (const char *[]){ "read", NULL }, "scopes");
	http_free(r);
	assert_usage_fails(ntok, 401, "UNAUTHORIZED");

	r = http_json("POST", path, t.key, "{\"ip_allowlist\":[]}");
	assert_invalid(r, "ip_allowlist");
	http_free(r);
	free(ntok);
	free(nid);
	free(old_tok);
	free(id);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ revoke */

START_TEST(revoke_stops_token_and_hides_key)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *id;
	char *tok = key_new(t.key, "{\"label\":\"gone\",\"scopes\":[\"read\"]}", &id);
	assert_usage_ok(tok, t.id);
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", id);
	http_resp *r = http_req("DELETE", path, t.key, NULL, NULL, 0, NULL);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "revoked");
	http_free(r);

	assert_usage_fails(tok, 401, "UNAUTHORIZED");
	cJSON *list = keys_list(t.key, NULL);
	ck_assert_ptr_null(find_by(list, "id", id));
	ck_assert_int_eq(cJSON_GetArraySize(list), 1);
	cJSON_Delete(list);
	list = keys_list(t.key, "?include_revoked=true");
	const cJSON *k = find_by(list, "id", id);
	ck_assert_ptr_nonnull(k);
	ck_assert_str_eq(json_str(k, "status"), "revoked");
	cJSON_Delete(list);

	r = http_req("DELETE", path, t.key, NULL, NULL, 0, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(tok);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(revoking_own_key_locks_it_out)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *admin2 = key_new(t.key, "{\"scopes\":[\"*\"]}", NULL);
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", t.key_id);
	http_resp *r = http_req("DELETE", path, t.key, NULL, NULL, 0, NULL);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get("/v1/keys", t.key);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = http_get("/v1/keys", admin2);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	free(admin2);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ isolation */

START_TEST(other_tenant_cannot_touch_keys)
{
	struct tenant a, b;
	tenant_make_keyed(&a, "pro");
	tenant_make_keyed(&b, "pro");
	char *id;
	char *tok = key_new(a.key, "{\"label\":\"a-only\",\"scopes\":[\"read\"]}", &id);
	char path[128];

	/* B's list never shows A's keys. */
	cJSON *list = keys_list(b.key, "?include_revoked=true");
	ck_assert_ptr_null(find_by(list, "id", id));
	ck_assert_ptr_null(find_by(list, "id", a.key_id));
	ck_assert_int_eq(cJSON_GetArraySize(list), 1);
	cJSON_Delete(list);

	snprintf(path, sizeof(path), "/v1/keys/%s", id);
	http_resp *r = http_json("PATCH", path, b.key, "{\"label\":\"stolen\",\"ip_allowlist\":[\"10.0.0.0/8\"]}");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = http_req("DELETE", path, b.key, NULL, NULL, 0, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	snprintf(path, sizeof(path), "/v1/keys/%s/rotate", id);
	r = http_json("POST", path, b.key, "{}");
	assert_envelope(r, 404, "NOT_FOUND");
	ck_assert_msg(!strstr(r->body, "tsk_"), "token in 404: %s", r->body);
	http_free(r);
	/* Also A's admin key itself. */
	snprintf(path, sizeof(path), "/v1/keys/%s", a.key_id);
	r = http_req("DELETE", path, b.key, NULL, NULL, 0, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* A's key is untouched and still works, for A. */
	assert_usage_ok(tok, a.id);
	assert_usage_ok(a.key, a.id);
	list = keys_list(a.key, NULL);
	const cJSON *k = find_by(list, "id", id);
	ck_assert_ptr_nonnull(k);
	ck_assert_str_eq(json_str(k, "label"), "a-only");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(k, "ip_allowlist")));
	cJSON_Delete(list);

	/* B's failed attempts left nothing in A's audit trail. */
	r = http_get("/v1/audit-logs", a.key);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(resp_data(r), "total")->valueint, 1);
	http_free(r);
	free(tok);
	free(id);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/* ------------------------------------------------------------ audit */

/* Runs one key change and returns its request_id (malloc'd). */
static char *change(const char *method, const char *path, const char *admin, const char *body, long status)
{
	http_resp *r = http_json(method, path, admin, body);
	assert_envelope(r, status, NULL);
	char *rid = strdup(json_str(r->json, "request_id"));
	http_free(r);
	return rid;
}

START_TEST(audit_logs_record_key_changes)
{
	struct tenant a, b;
	tenant_make_keyed(&a, "pro");
	tenant_make_keyed(&b, "pro");
	/* Noise in another tenant. */
	char *btok = key_new(b.key, "{\"label\":\"b\"}", NULL);

	http_resp *r = http_json("POST", "/v1/keys", a.key, "{\"label\":\"audited\",\"scopes\":[\"read\"]}");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(cJSON_GetObjectItemCaseSensitive(resp_data(r), "key"), "id"));
	char *rid_create = strdup(json_str(r->json, "request_id"));
	http_free(r);
	char path[128];
	snprintf(path, sizeof(path), "/v1/keys/%s", id);
	char *rid_update = change("PATCH", path, a.key, "{\"label\":\"audited 2\"}", 200);
	snprintf(path, sizeof(path), "/v1/keys/%s/rotate", id);
	r = http_json("POST", path, a.key, "{}");
	assert_envelope(r, 200, NULL);
	char *new_id = strdup(json_str(cJSON_GetObjectItemCaseSensitive(resp_data(r), "new_key"), "id"));
	char *rid_rotate = strdup(json_str(r->json, "request_id"));
	http_free(r);
	snprintf(path, sizeof(path), "/v1/keys/%s", new_id);
	char *rid_revoke = change("DELETE", path, a.key, NULL, 200);

	struct audit_page p;
	audit_get(&p, a.key, NULL);
	ck_assert_msg(p.total == 4 && cJSON_GetArraySize(p.logs) == 4, "want 4 entries: %s", p.r->body);
	static const char *actions[] = { "api_key.created", "api_key.updated", "api_key.rotated", "api_key.revoked" };
	const char *rids[] = { rid_create, rid_update, rid_rotate, rid_revoke };
	const char *res_ids[] = { id, id, id, new_id };
	for (int i = 0; i < 4; i++) {
		const cJSON *e = audit_find(p.logs, actions[i], res_ids[i]);
		ck_assert_msg(e != NULL, "no %s for %s: %s", actions[i], res_ids[i], p.r->body);
		ck_assert_msg(strncmp(json_str(e, "id"), "aud_", 4) == 0, "id: %s", json_str(e, "id"));
		ck_assert_str_eq(json_str(e, "resource_type"), "api_key");
		ck_assert_str_eq(json_str(e, "actor_type"), "api_key");
		ck_assert_str_eq(json_str(e, "actor_id"), a.key_id);
		ck_assert_str_eq(json_str(e, "request_id"), rids[i]);
		ck_assert_str_eq(json_str(e, "ip_address"), "127.0.0.1");
		const char *at = json_str(e, "created_at");
		ck_assert_msg(at && strlen(at) >= 20 && at[10] == 'T' && at[strlen(at) - 1] == 'Z', "created_at %s", at);
	}
	/* What each entry says about the change. */
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(audit_find(p.logs, "api_key.created", id), "details");
	ck_assert_str_eq(json_str(det, "label"), "audited");
	det = cJSON_GetObjectItemCaseSensitive(audit_find(p.logs, "api_key.updated", id), "details");
	assert_strings(cJSON_GetObjectItemCaseSensitive(det, "fields"), (const char *[]){ "label", NULL }, "fields");
	det = cJSON_GetObjectItemCaseSensitive(audit_find(p.logs, "api_key.rotated", id), "details");
	ck_assert_str_eq(json_str(det, "new_key_id"), new_id);
	ck_assert_msg(!strstr(p.r->body, btok) && !strstr(p.r->body, b.key_id), "B's entries in A's log");
	ck_assert_msg(!strstr(p.r->body, "tsk_"), "a token in the audit log: %s", p.r->body);
	/* Newest first. */
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(p.logs, 0), "action"), "api_key.revoked");
	http_free(p.r);

	/* Filters. */
	audit_get(&p, a.key, "?action=api_key.created");
	ck_assert_int_eq(p.total, 1);
	ck_assert_int_eq(cJSON_GetArraySize(p.logs), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(p.logs, 0), "resource_id"), id);
	http_free(p.r);
	audit_get(&p, a.key, "?resource_type=api_key");
	ck_assert_int_eq(p.total, 4);
	http_free(p.r);
	audit_get(&p, a.key, "?resource_type=webhook");
	ck_assert_int_eq(p.total, 0);
	ck_assert_int_eq(cJSON_GetArraySize(p.logs), 0);
	http_free(p.r);
	audit_get(&p, a.key, "?action=api_key.rotated&resource_type=api_key");
	ck_assert_int_eq(p.total, 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(p.logs, 0), "action"), "api_key.rotated");
	http_free(p.r);

	/* Paging: limit/offset walk the same order; total stays the full count. */
	char seen[4][64];
	for (int i = 0; i < 4; i++) {
		char q[64];
		snprintf(q, sizeof(q), "?limit=1&offset=%d", i);
		audit_get(&p, a.key, q);
		ck_assert_int_eq(p.total, 4);
		ck_assert_int_eq(cJSON_GetArraySize(p.logs), 1);
		snprintf(seen[i], sizeof(seen[i]), "%s", json_str(cJSON_GetArrayItem(p.logs, 0), "id"));
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(seen[i], seen[j]);
		ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(resp_data(p.r), "limit")->valueint, 1);
		ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(resp_data(p.r), "offset")->valueint, i);
		http_free(p.r);
	}
	audit_get(&p, a.key, "?limit=2&offset=3");
	ck_assert_int_eq(cJSON_GetArraySize(p.logs), 1);
	http_free(p.r);
	audit_get(&p, a.key, "?offset=10");
	ck_assert_int_eq(p.total, 4);
	ck_assert_int_eq(cJSON_GetArraySize(p.logs), 0);
	http_free(p.r);

	/* B sees only its own entry. */
	audit_get(&p, b.key, NULL);
	ck_assert_int_eq(p.total, 1);
	ck_assert_msg(!strstr(p.r->body, id) && !strstr(p.r->body, new_id), "A's entries in B's log: %s", p.r->body);
	http_free(p.r);

	free(rid_create);
	free(rid_update);
	free(rid_rotate);
	free(rid_revoke);
	free(id);
	free(new_id);
	free(btok);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

START_TEST(audit_logs_reject_bad_paging)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	static const struct {
		const char *query, *field;
	} cases[] = {
		{ "?limit=0", "limit" },   { "?limit=101", "limit" }, { "?limit=x", "limit" },
		{ "?limit=-1", "limit" },  { "?limit=", "limit" },    { "?limit=5x", "limit" },
		{ "?offset=-1", "offset" }, { "?offset=y", "offset" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[128];
		snprintf(path, sizeof(path), "/v1/audit-logs%s", cases[i].query);
		http_resp *r = http_get(path, t.key);
		assert_invalid(r, cases[i].field);
		http_free(r);
	}
	struct audit_page p;
	audit_get(&p, t.key, "?limit=100");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(resp_data(p.r), "limit")->valueint, 100);
	http_free(p.r);
	audit_get(&p, t.key, NULL);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(resp_data(p.r), "limit")->valueint, 20);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(resp_data(p.r), "offset")->valueint, 0);
	http_free(p.r);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ usage */

START_TEST(usage_reports_plan_and_limits)
{
	struct tenant t;
	tenant_make_keyed(&t, "free");
	http_resp *r = http_get("/v1/usage", t.key);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_str_eq(json_str(d, "tenant_id"), t.id);
	const cJSON *tier = cJSON_GetObjectItemCaseSensitive(d, "plan_tier");
	ck_assert_msg(cJSON_IsObject(tier), "plan_tier: %s", r->body);
	ck_assert_str_eq(json_str(tier, "id"), "free");
	const cJSON *used = cJSON_GetObjectItemCaseSensitive(d, "used_storage_bytes");
	ck_assert_msg(cJSON_IsNumber(used) && used->valuedouble == 0, "used_storage_bytes: %s", r->body);
	const cJSON *lim = cJSON_GetObjectItemCaseSensitive(d, "plan_limits");
	ck_assert_msg(cJSON_IsObject(lim), "plan_limits: %s", r->body);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(lim, "max_api_keys")->valueint, 10);
	const char *numeric[] = { "rate_limit_per_minute", "max_storage_bytes", "max_file_size_bytes",
				  "max_objects", "max_users", NULL };
	for (const char **n = numeric; *n; n++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(lim, *n);
		ck_assert_msg(cJSON_IsNumber(v) && v->valuedouble > 0, "plan_limits.%s: %s", *n, r->body);
	}
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "usage"),
							  "api_keys")->valueint, 1);
	http_free(r);

	/* A new key shows in the count; a pro tenant reports pro limits. */
	char *tok = key_new(t.key, "{}", NULL);
	r = http_get("/v1/usage", tok);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(resp_data(r), "usage"),
							  "api_keys")->valueint, 2);
	http_free(r);
	struct tenant p;
	tenant_make_keyed(&p, "pro");
	r = http_get("/v1/usage", p.key);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(cJSON_GetObjectItemCaseSensitive(resp_data(r), "plan_tier"), "id"), "pro");
	ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(resp_data(r), "plan_limits"),
							  "max_api_keys")->valueint, 100);
	http_free(r);
	free(tok);
	tenant_drop(&t);
	tenant_drop(&p);
}
END_TEST

START_TEST(bearer_credentials_are_required)
{
	assert_usage_fails(NULL, 401, "UNAUTHORIZED");
	assert_usage_fails("tsk_no_such_key_0000000000000000000000000", 401, "UNAUTHORIZED");
	const char *basic[] = { "Authorization: Basic dXNlcjpwYXNz", NULL };
	http_resp *r = http_req("GET", "/v1/usage", NULL, NULL, NULL, 0, basic);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = http_get("/v1/keys", NULL);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
}
END_TEST

START_TEST(suspended_tenant_is_refused_until_resumed)
{
	struct tenant t, other;
	tenant_make_keyed(&t, "pro");
	tenant_make_keyed(&other, "pro");
	char *read = key_new(t.key, "{\"scopes\":[\"read\"]}", NULL);
	ck_assert_int_eq(tenant_set_status(t.id, "suspend"), 0);

	assert_usage_fails(t.key, 403, "TENANT_SUSPENDED");
	assert_usage_fails(read, 403, "TENANT_SUSPENDED");
	http_resp *r = http_get("/v1/keys", t.key);
	assert_envelope(r, 403, "TENANT_SUSPENDED");
	http_free(r);
	r = http_json("POST", "/v1/keys", t.key, "{}");
	assert_envelope(r, 403, "TENANT_SUSPENDED");
	http_free(r);
	r = http_get("/v1/audit-logs", t.key);
	assert_envelope(r, 403, "TENANT_SUSPENDED");
	http_free(r);
	/* Other tenants are not affected. */
	assert_usage_ok(other.key, other.id);

	ck_assert_int_eq(tenant_set_status(t.id, "resume"), 0);
	assert_usage_ok(t.key, t.id);
	assert_usage_ok(read, t.id);
	r = http_get("/v1/keys", t.key);
	assert_envelope(r, 200, NULL);
	/* Nothing was created while suspended. */
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 2);
	http_free(r);
	free(read);
	tenant_drop(&t);
	tenant_drop(&other);
}
END_TEST

Suite *suite_keys(void)
{
	Suite *s = suite_create("keys");
	TCase *tc = tcase_new_slow(s, "create");
	tcase_add_test(tc, create_returns_key_and_token_once);
	tcase_add_test(tc, create_defaults);
	tcase_add_test(tc, create_accepts_each_known_scope);
	tcase_add_test(tc, create_rejects_bad_scopes);
	tcase_add_test(tc, non_admin_key_cannot_manage_keys);
	tcase_add_test(tc, key_quota_follows_plan);
	tcase_add_test(tc, label_length_counts_characters);
	tcase_add_test(tc, invalid_utf8_is_rejected);

	tc = tcase_new_slow(s, "settings");
	tcase_add_test(tc, ip_allowlist_restricts_client_address);
	tcase_add_test(tc, ip_allowlist_rejects_invalid_entries);
	tcase_add_test(tc, expires_at_is_validated);
	tcase_add_test(tc, expired_key_stops_working);
	tcase_add_test(tc, per_key_rate_limit);
	tcase_add_test(tc, key_rate_limit_cannot_exceed_plan);
	tcase_add_test(tc, last_used_at_records_use);

	tc = tcase_new_slow(s, "update");
	tcase_add_test(tc, patch_updates_fields_and_takes_effect);
	tcase_add_test(tc, patch_scopes_change_what_key_can_do);
	tcase_add_test(tc, patch_rejects_unknown_and_invalid_fields);
	tcase_add_test(tc, patch_missing_or_revoked_key_is_404);
	tcase_add_test(tc, patch_without_changes_writes_nothing);

	tc = tcase_new_slow(s, "rotate-revoke");
	tcase_add_test(tc, rotate_replaces_token_and_keeps_settings);
	tcase_add_test(tc, revoke_stops_token_and_hides_key);
	tcase_add_test(tc, revoking_own_key_locks_it_out);

	tc = tcase_new_slow(s, "isolation");
	tcase_add_test(tc, other_tenant_cannot_touch_keys);

	tc = tcase_new_slow(s, "audit");
	tcase_add_test(tc, audit_logs_record_key_changes);
	tcase_add_test(tc, audit_logs_reject_bad_paging);

	tc = tcase_new_slow(s, "usage");
	tcase_add_test(tc, usage_reports_plan_and_limits);
	tcase_add_test(tc, bearer_credentials_are_required);
	tcase_add_test(tc, suspended_tenant_is_refused_until_resumed);
	return s;
}
