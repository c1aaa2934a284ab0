/*
 * test_realtime.c - realtime through nginx's nchan module with real
 * clients (tests/integration/ws_client.py: python3-websockets and an SSE
 * reader): delivery per tenant, SSE resume with Last-Event-ID, the
 * handshake's refusals (426, 401, 400, 403/404), connection stats, and the
 * whole path object.created → outbox → fan-out → WebSocket.
 *
 * Events are published with `tessera realtime publish`, which calls the
 * same channels_publish_event() as the outbox fan-out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peers.h"

Suite *suite_realtime(void);

/* --- publishing ------------------------------------------------------------ */

/* Publishes an event of tenant as the outbox fan-out would. */
static void publish(const char *tenant, const char *id, const char *event, const char *resource_id,
		    const char *data)
{
	int rc;
	char *out = run_cmd(&rc, "%s realtime publish --config %s --tenant %s --event "
			    "'{\"id\":\"%s\",\"event\":\"%s\",\"resource_type\":\"%s\",\"resource_id\":\"%s\","
			    "\"data\":%s,\"created_at\":\"2026-01-02T03:04:05.000Z\"}' 2>&1",
			    bin(), conf_path(), tenant, id, event, strncmp(event, "file.", 5) ? "object" : "file",
			    resource_id, data);
	ck_assert_msg(rc == 0, "realtime publish: %s", out);
	free(out);
}

static void publish_object(const char *tenant, const char *id, const char *type_id)
{
	char *data = strf("{\"object_type_id\":\"%s\",\"object_type\":\"items\",\"object_id\":\"obj_%s\"}",
			  type_id, id);
	char *rid = strf("obj_%s", id);
	publish(tenant, id, "object.created", rid, data);
	free(rid);
	free(data);
}

static void publish_file(const char *tenant, const char *id, const char *folder)
{
	char *data = strf("{\"file_id\":\"file_%s\",\"folder\":\"%s\"}", id, folder);
	char *rid = strf("file_%s", id);
	publish(tenant, id, "file.created", rid, data);
	free(rid);
	free(data);
}

/* --- handshake requests -------------------------------------------------- */

static const char *const upgrade_headers[] = { "Connection: Upgrade", "Upgrade: websocket",
					       "Sec-WebSocket-Version: 13",
					       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", NULL };

/* GET /v1/realtime?query as a WebSocket handshake (only its refusals are
 * answered as plain HTTP); frees query. */
static http_resp *handshake(char *query)
{
	char *path = strf("/v1/realtime?%s", query);
	http_resp *r = http_req("GET", path, NULL, NULL, NULL, 0, upgrade_headers);
	free(path);
	free(query);
	return r;
}

/* Asserts the next two SSE messages are events first and second. */
static void sse_expect_ids(FILE *f, const char *first, const char *second)
{
	cJSON *m = client_message(f, "sse");
	ck_assert_str_eq(json_str(m, "id"), first);
	cJSON_Delete(m);
	m = client_message(f, "sse");
	ck_assert_str_eq(json_str(m, "id"), second);
	cJSON_Delete(m);
}

/* --- tests ------------------------------------------------------------------ */

START_TEST(websocket_gets_its_tenants_events_and_nothing_of_another_tenant)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	free(type_make(a.key, "items"));
	char *ta = type_id_of(a.key, "items");
	char *q = strf("/v1/realtime?token=%s&tenant_id=%s&channels=objects:items,files", a.key, a.id);
	FILE *f = client_start("ws", q, 3, 10, NULL);
	client_expect(f, "OPEN");

	/* Tenant B publishes on channels of the very same names first. */
	publish_object(b.id, "evt_b1", ta);
	publish_file(b.id, "evt_b2", "");
	publish_object(a.id, "evt_a1", ta);
	publish_file(a.id, "evt_a2", "docs/2026");

	cJSON *m = client_message(f, "ws");
	ck_assert_str_eq(json_str(m, "id"), "evt_a1");
	ck_assert_str_eq(json_str(m, "event"), "object.created");
	char *chan = strf("objects:%s", ta);
	ck_assert_str_eq(json_str(m, "channel"), chan);
	ck_assert_str_eq(json_str(m, "resource_type"), "object");
	ck_assert_str_eq(json_str(m, "resource_id"), "obj_evt_a1");
	ck_assert_str_eq(json_str(item(m, "data"), "object_type_id"), ta);
	ck_assert_str_eq(json_str(m, "timestamp"), "2026-01-02T03:04:05.000Z");
	cJSON_Delete(m);
	/* A file event goes to files and files:<folder>; this client hears the
	 * files one only, and nothing of tenant B. */
	m = client_message(f, "ws");
	ck_assert_str_eq(json_str(m, "id"), "evt_a2");
	ck_assert_str_eq(json_str(m, "channel"), "files");
	ck_assert_str_eq(json_str(item(m, "data"), "folder"), "docs/2026");
	cJSON_Delete(m);
	client_expect(f, "TIMEOUT");
	client_end(f);
	free(chan);
	free(q);
	free(ta);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

START_TEST(folder_channel_gets_only_its_folder)
{
	struct tenant a;
	tenant_make(&a);
	char *q = strf("/v1/realtime?token=%s&tenant_id=%s&channels=files:docs/2026", a.key, a.id);
	FILE *f = client_start("ws", q, 1, 10, NULL);
	client_expect(f, "OPEN");
	publish_file(a.id, "evt_f1", "other");
	publish_file(a.id, "evt_f2", "/docs/2026/");
	cJSON *m = client_message(f, "ws");
	ck_assert_str_eq(json_str(m, "id"), "evt_f2");
	ck_assert_str_eq(json_str(m, "channel"), "files:docs/2026");
	cJSON_Delete(m);
	client_end(f);
	free(q);
	tenant_drop(&a);
}
END_TEST

START_TEST(sse_gets_events_and_resumes_after_last_event_id)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	free(type_make(a.key, "items"));
	char *ta = type_id_of(a.key, "items");
	/* Token in the query, as a browser's EventSource sends it. */
	char *q = strf("/events/stream?token=%s&channels=objects:%s", a.key, ta);
	FILE *f = client_start("sse", q, 1, 10, NULL);
	client_expect(f, "OPEN");
	publish_object(b.id, "evt_x0", ta);
	publish_object(a.id, "evt_s1", ta);
	cJSON *m = client_message(f, "sse");
	ck_assert_str_eq(json_str(m, "id"), "evt_s1");
	ck_assert_str_eq(json_str(m, "_sse_event"), "object.created");
	char *last = strdup(json_str(m, "_sse_id"));
	ck_assert(*last);
	cJSON_Delete(m);
	client_end(f);

	/* Two events while nobody listens; a reconnect with Last-Event-ID
	 * (and the token in the Authorization header) gets both, in order. */
	publish_object(a.id, "evt_s2", ta);
	publish_object(a.id, "evt_s3", ta);
	char *path = strf("/events/stream?channels=objects:%s", ta);
	char *extra = strf("--auth %s --last-event-id '%s'", a.key, last);
	f = client_start("sse", path, 2, 10, extra);
	client_expect(f, "OPEN");
	sse_expect_ids(f, "evt_s2", "evt_s3");
	client_end(f);

	/* Without Last-Event-ID a new subscriber starts with what comes next. */
	f = client_start("sse", path, 1, 2, NULL); /* and with no token at all: 401 */
	client_expect(f, "STATUS 401");
	client_end(f);
	char *auth = strf("--auth %s", a.key);
	f = client_start("sse", path, 1, 2, auth);
	client_expect(f, "OPEN");
	client_expect(f, "TIMEOUT");
	client_end(f);
	free(auth);
	free(extra);
	free(path);
	free(last);
	free(q);
	free(ta);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/* s percent-encoded for a query value (malloc'd). */
static char *query_escape(const char *s)
{
	char *out = malloc(strlen(s) * 3 + 1), *p = out;
	for (; *s; s++) {
		if ((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    strchr("-_.~", *s))
			*p++ = *s;
		else
			p += sprintf(p, "%%%02X", (unsigned char)*s);
	}
	*p = '\0';
	return out;
}

START_TEST(sse_resumes_after_last_event_id_query_parameter)
{
	struct tenant a;
	tenant_make(&a);
	char *path = strf("/events/stream?token=%s&channels=events,files", a.key);
	FILE *f = client_start("sse", path, 1, 10, NULL);
	client_expect(f, "OPEN");
	publish_file(a.id, "evt_q1", "");
	cJSON *m = client_message(f, "sse");
	ck_assert_str_eq(json_str(m, "id"), "evt_q1");
	char *last = query_escape(json_str(m, "_sse_id"));
	cJSON_Delete(m);
	client_end(f);

	/* Two events while nobody listens; ?last_event_id= (what a client
	 * that cannot set headers sends) resumes with exactly those two. */
	publish_file(a.id, "evt_q2", "");
	publish_file(a.id, "evt_q3", "");
	char *resume = strf("%s&last_event_id=%s", path, last);
	f = client_start("sse", resume, 3, 3, NULL);
	client_expect(f, "OPEN");
	sse_expect_ids(f, "evt_q2", "evt_q3");
	client_expect(f, "TIMEOUT");
	client_end(f);

	/* Ids that are not nchan's are 400 naming the parameter or header. */
	static const char *const bad[] = { "x", "12", "12:", ":0", "12:a", "12:0,1", "12:[0],[1]", "12:0]",
					   "12:%0A0", "12:[0],0,0,0,0,0" };
	const char *sse[] = { "Accept: text/event-stream", NULL, NULL };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp *r = call_h("GET", a.key, NULL, sse, "/events/stream?channels=files&last_event_id=%s",
				      bad[i]);
		ck_assert_msg(r->status == 400, "last_event_id=%s: %ld %s", bad[i], r->status, r->body);
		assert_fail_field(r, 400, "VALIDATION_ERROR", "last_event_id");
		http_free(r);
	}
	sse[1] = "Last-Event-ID: 12:[0],0,0,0,0,0";
	http_resp *r = call_h("GET", a.key, NULL, sse, "/events/stream?channels=files");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "Last-Event-ID");
	http_free(r);
	free(resume);
	free(last);
	free(path);
	tenant_drop(&a);
}
END_TEST

START_TEST(plain_get_is_426_and_sse_without_accept_is_406)
{
	struct tenant a;
	tenant_make(&a);
	http_resp *r = call("GET", NULL, NULL, "/v1/realtime?token=%s&tenant_id=%s&channels=files", a.key, a.id);
	assert_envelope(r, 426, "UPGRADE_REQUIRED");
	char *up = resp_header(r, "Upgrade");
	ck_assert_str_eq(up, "websocket");
	free(up);
	http_free(r);
	r = call("GET", a.key, NULL, "/events/stream?channels=files");
	assert_envelope(r, 406, "NOT_ACCEPTABLE");
	http_free(r);
	tenant_drop(&a);
}
END_TEST

START_TEST(missing_bad_or_foreign_tokens_are_refused)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	http_resp *r = handshake(strf("tenant_id=%s&channels=files", a.id));
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = handshake(strf("token=tsk_nope&tenant_id=%s&channels=files", a.id));
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	/* A's key with B's tenant id, and B's end user with A's. */
	r = handshake(strf("token=%s&tenant_id=%s&channels=files", a.key, b.id));
	assert_fail_field(r, 403, "FORBIDDEN", "tenant_id");
	http_free(r);
	char *jwt = jwt_mint(b.id, "usr_rt1", "authenticated", 600, NULL);
	r = handshake(strf("token=%s&tenant_id=%s&channels=files", jwt, a.id));
	assert_fail_field(r, 403, "FORBIDDEN", "tenant_id");
	http_free(r);
	r = handshake(strf("token=%s&channels=files", a.key));
	assert_fail_field(r, 400, "VALIDATION_ERROR", "tenant_id");
	http_free(r);
	/* A real client is refused at the handshake, too. */
	FILE *f = client_start("ws", "/v1/realtime?token=bad&tenant_id=x&channels=files", 1, 5, NULL);
	client_expect(f, "STATUS 401");
	client_end(f);
	f = client_start("sse", "/events/stream?token=bad", 1, 5, NULL);
	client_expect(f, "STATUS 401");
	client_end(f);
	free(jwt);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

START_TEST(malformed_channel_names_are_400)
{
	struct tenant a;
	tenant_make(&a);
	static const char *const bad[] = {
		"", ",", "files,", ",files", "files,,events", "nope", "objects", "objects:", "objects:a%20b",
		"files:", "files:..", "files:a/../b", "files:/abs", "files:a//b", "files:a%2Cb",
		"events:x", "FILES", "objects:%00", "files:%0Ax",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp *r = handshake(strf("token=%s&tenant_id=%s&channels=%s", a.key, a.id, bad[i]));
		ck_assert_msg(r->status == 400, "channels=%s: %ld %s", bad[i], r->status, r->body);
		assert_fail_field(r, 400, "VALIDATION_ERROR", "channels");
		http_free(r);
	}
	/* More channels than one connection may hold. */
	char *many = strdup("files");
	for (int i = 0; i < 100; i++) {
		char *n = strf("%s,files:f%d", many, i);
		free(many);
		many = n;
	}
	http_resp *r = handshake(strf("token=%s&tenant_id=%s&channels=%s", a.key, a.id, many));
	assert_fail_field(r, 400, "VALIDATION_ERROR", "channels");
	http_free(r);
	free(many);
	tenant_drop(&a);
}
END_TEST

START_TEST(channels_the_caller_may_not_read_are_refused)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	free(type_make(a.key, "items"));
	free(type_make(b.key, "secrets"));
	char *tb = type_id_of(b.key, "secrets");
	/* Another tenant's type, by id or name, does not exist here. */
	http_resp *r = handshake(strf("token=%s&tenant_id=%s&channels=objects:%s", a.key, a.id, tb));
	assert_fail_field(r, 404, "NOT_FOUND", "channels");
	http_free(r);
	r = handshake(strf("token=%s&tenant_id=%s&channels=objects:secrets", a.key, a.id));
	assert_fail_field(r, 404, "NOT_FOUND", "channels");
	http_free(r);
	/* Scopes: objects need read, files need files. */
	char *files_key = key_new(a.key, "{\"label\":\"files only\",\"scopes\":[\"files\"]}", NULL);
	char *read_key = key_new(a.key, "{\"label\":\"read only\",\"scopes\":[\"read\"]}", NULL);
	r = handshake(strf("token=%s&tenant_id=%s&channels=objects:items", files_key, a.id));
	assert_fail_field(r, 403, "INSUFFICIENT_SCOPE", "channels");
	http_free(r);
	r = handshake(strf("token=%s&tenant_id=%s&channels=files", read_key, a.id));
	assert_fail_field(r, 403, "INSUFFICIENT_SCOPE", "channels");
	http_free(r);
	FILE *f = client_start("ws", strf("/v1/realtime?token=%s&tenant_id=%s&channels=files:x", files_key, a.id),
			       1, 1, NULL);
	client_expect(f, "OPEN");
	client_end(f);

	/* End users: only types whose select policies show them every row. */
	char *jwt = jwt_mint(a.id, "usr_rt2", "member", 600, NULL);
	r = handshake(strf("token=%s&tenant_id=%s&channels=objects:items", jwt, a.id));
	assert_fail_field(r, 403, "FORBIDDEN", "channels");
	http_free(r);
	r = call("POST", a.key, "{\"name\":\"own\",\"action\":\"select\",\"condition_json\":"
		 "{\"property\":\"created_by\",\"operator\":\"eq\",\"value\":{\"auth\":\"uid\"}}}",
		 "/v1/object-types/items/policies");
	assert_envelope(r, 201, NULL);
	http_free(r);
	r = handshake(strf("token=%s&tenant_id=%s&channels=objects:items", jwt, a.id));
	assert_fail_field(r, 403, "FORBIDDEN", "channels");
	http_free(r);
	r = handshake(strf("token=%s&tenant_id=%s&channels=files", jwt, a.id));
	assert_fail_field(r, 403, "FORBIDDEN", "channels");
	http_free(r);
	r = call("POST", a.key, "{\"name\":\"members read all\",\"action\":\"select\",\"role\":\"member\","
		 "\"condition_json\":{\"or\":[{\"property\":\"id\",\"operator\":\"is_null\"},true]}}",
		 "/v1/object-types/items/policies");
	assert_envelope(r, 201, NULL);
	http_free(r);
	char *ta = type_id_of(a.key, "items");
	f = client_start("ws", strf("/v1/realtime?token=%s&tenant_id=%s&channels=objects:items", jwt, a.id),
			 1, 10, NULL);
	client_expect(f, "OPEN");
	publish_object(a.id, "evt_u1", ta);
	cJSON *m = client_message(f, "ws");
	ck_assert_str_eq(json_str(m, "id"), "evt_u1");
	cJSON_Delete(m);
	client_end(f);
	free(ta);
	free(jwt);
	free(files_key);
	free(read_key);
	free(tb);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/* GET /v1/realtime/stats of key, asserting 200. */
static cJSON *stats(const char *key)
{
	http_resp *r = call("GET", key, NULL, "/v1/realtime/stats");
	assert_envelope(r, 200, NULL);
	cJSON *d = cJSON_Duplicate(resp_data(r), true);
	http_free(r);
	return d;
}

static int num(const cJSON *o, const char *name)
{
	const cJSON *v = item(o, name);
	return cJSON_IsNumber(v) ? (int)v->valuedouble : -1;
}

/* Polls the stats until total_connections is want (nchan reports a
 * connection asynchronously); returns the last stats. */
static cJSON *stats_until(const char *key, int want)
{
	cJSON *s = NULL;
	for (int i = 0; i < 100; i++) {
		cJSON_Delete(s);
		s = stats(key);
		if (num(s, "total_connections") == want)
			break;
		usleep(100000);
	}
	return s;
}

START_TEST(stats_count_connections_while_they_are_open)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	free(type_make(a.key, "items"));
	char *ta = type_id_of(a.key, "items");
	cJSON *s = stats(a.key);
	ck_assert_int_eq(num(s, "total_connections"), 0);
	ck_assert_int_eq(num(s, "channel_count"), 0);
	ck_assert(cJSON_IsObject(item(s, "channels")));
	cJSON_Delete(s);

	FILE *f1 = client_start("ws", strf("/v1/realtime?token=%s&tenant_id=%s&channels=objects:items,files",
					   a.key, a.id), 1, 30, NULL);
	client_expect(f1, "OPEN");
	FILE *f2 = client_start("sse", strf("/events/stream?token=%s&channels=files", a.key), 1, 30, NULL);
	client_expect(f2, "OPEN");
	s = stats_until(a.key, 2);
	ck_assert_int_eq(num(s, "total_connections"), 2);
	ck_assert_int_eq(num(s, "channel_count"), 2);
	ck_assert_int_eq(num(item(s, "channels"), "files"), 2);
	char *chan = strf("objects:%s", ta);
	ck_assert_int_eq(num(item(s, "channels"), chan), 1);
	cJSON_Delete(s);
	/* Another tenant's stats know nothing of them. */
	s = stats(b.key);
	ck_assert_int_eq(num(s, "total_connections"), 0);
	cJSON_Delete(s);

	/* One message each and the clients leave; the counts go down. */
	publish_file(a.id, "evt_st1", "");
	cJSON_Delete(client_message(f1, "ws"));
	cJSON_Delete(client_message(f2, "sse"));
	client_end(f1);
	client_end(f2);
	s = stats_until(a.key, 0);
	ck_assert_int_eq(num(s, "total_connections"), 0);
	ck_assert_int_eq(num(s, "channel_count"), 0);
	cJSON_Delete(s);
	free(chan);
	free(ta);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/* --- revocation closes open connections ------------------------------------ */

/* A WebSocket and an SSE stream of token on channels, both open. */
static void streams_open(FILE **ws, FILE **sse, const char *tenant_id, const char *token, const char *channels)
{
	*ws = client_start("ws", strf("/v1/realtime?token=%s&tenant_id=%s&channels=%s", token, tenant_id,
				      channels), 1, 30, NULL);
	client_expect(*ws, "OPEN");
	*sse = client_start("sse", strf("/events/stream?token=%s&channels=%s", token, channels), 1, 30, NULL);
	client_expect(*sse, "OPEN");
}

/* Both streams end well before their 30 s of waiting would. */
static void streams_closed(FILE *ws, FILE *sse, const char *why)
{
	double t0 = now_s();
	char *l = client_line(ws);
	ck_assert_msg(l && !strcmp(l, "CLOSED"), "%s: the WebSocket got %s", why, l ? l : "(end)");
	free(l);
	l = client_line(sse);
	ck_assert_msg(l && !strcmp(l, "CLOSED"), "%s: the SSE stream got %s", why, l ? l : "(end)");
	free(l);
	ck_assert_msg(now_s() - t0 < 10, "%s: closing took %.1f s", why, now_s() - t0);
	client_end(ws);
	client_end(sse);
}

/* A connection on files of tenant_id that should be unaffected gets the
 * file event evt, and ends. */
static void still_open(FILE *f, const char *mode, const char *tenant_id, const char *evt)
{
	publish_file(tenant_id, evt, "");
	cJSON *m = client_message(f, mode);
	ck_assert_str_eq(json_str(m, "id"), evt);
	cJSON_Delete(m);
	client_end(f);
}

START_TEST(revoking_a_key_closes_its_connections_and_no_others)
{
	struct tenant a;
	tenant_make(&a);
	char *id = NULL;
	char *key = key_new(a.key, "{\"label\":\"streams\",\"scopes\":[\"read\",\"files\"]}", &id);
	FILE *ws, *sse, *other;
	streams_open(&ws, &sse, a.id, key, "files");
	other = client_start("ws", strf("/v1/realtime?token=%s&tenant_id=%s&channels=files", a.key, a.id),
			     1, 10, NULL);
	client_expect(other, "OPEN");
	http_resp *r = call("DELETE", a.key, NULL, "/v1/keys/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	streams_closed(ws, sse, "key revoked");
	/* The admin key's connection stays and still gets events; the revoked
	 * key cannot reconnect. */
	still_open(other, "ws", a.id, "evt_k1");
	FILE *f = client_start("sse", strf("/events/stream?token=%s&channels=files", key), 1, 5, NULL);
	client_expect(f, "STATUS 401");
	client_end(f);
	free(key);
	free(id);
	tenant_drop(&a);
}
END_TEST

/* Signs up and logs in email; the access token, its user id into *uid. */
static char *user_login(const char *key, const char *email, char **uid)
{
	char *body = strf("{\"email\":\"%s\",\"password\":\"Correct-Horse-9\"}", email);
	http_resp *r = call("POST", key, body, "/v1/auth/signup");
	assert_envelope(r, 201, NULL);
	http_free(r);
	r = call("POST", key, body, "/v1/auth/login");
	assert_envelope(r, 200, NULL);
	char *tok = strdup(json_str(resp_data(r), "access_token"));
	*uid = strdup(json_str(item(resp_data(r), "user"), "id"));
	http_free(r);
	free(body);
	return tok;
}

START_TEST(logout_and_ban_close_the_end_users_connections)
{
	struct tenant a;
	tenant_make(&a);
	free(type_make(a.key, "items"));
	http_resp *r = call("POST", a.key, "{\"name\":\"all\",\"action\":\"select\",\"condition_json\":"
			    "{\"or\":[{\"property\":\"id\",\"operator\":\"is_null\"},true]}}",
			    "/v1/object-types/items/policies");
	assert_envelope(r, 201, NULL);
	http_free(r);
	char *uid, *uid2;
	char *tok = user_login(a.key, "rt-logout@example.com", &uid);
	FILE *ws, *sse;
	streams_open(&ws, &sse, a.id, tok, "objects:items");
	r = call("POST", tok, "{}", "/v1/auth/logout");
	assert_envelope(r, 200, NULL);
	http_free(r);
	streams_closed(ws, sse, "session revoked");

	/* A ban closes every connection of the user. */
	char *tok2 = user_login(a.key, "rt-ban@example.com", &uid2);
	streams_open(&ws, &sse, a.id, tok2, "objects:items");
	r = call("PATCH", a.key, "{\"banned\":true}", "/v1/users/%s", uid2);
	assert_envelope(r, 200, NULL);
	http_free(r);
	streams_closed(ws, sse, "user banned");
	free(tok2);
	free(uid2);
	free(tok);
	free(uid);
	tenant_drop(&a);
}
END_TEST

START_TEST(suspending_the_tenant_closes_its_connections_and_no_others)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	FILE *ws, *sse, *other;
	streams_open(&ws, &sse, a.id, a.key, "files");
	other = client_start("sse", strf("/events/stream?token=%s&channels=files", b.key), 1, 10, NULL);
	client_expect(other, "OPEN");
	ck_assert_int_eq(tenant_set_status(a.id, "suspend"), 0);
	streams_closed(ws, sse, "tenant suspended");
	still_open(other, "sse", b.id, "evt_t1");
	ck_assert_int_eq(tenant_set_status(a.id, "resume"), 0);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/*
 * The whole path: creating an object writes an outbox row, the runner's
 * fan-out publishes it, the subscriber gets object.created.
 */
START_TEST(object_created_reaches_a_websocket_subscriber)
{
	struct tenant a;
	tenant_make(&a);
	free(type_make(a.key, "items"));
	char *ta = type_id_of(a.key, "items");
	FILE *f = client_start("ws", strf("/v1/realtime?token=%s&tenant_id=%s&channels=objects:items",
					  a.key, a.id), 1, 15, NULL);
	client_expect(f, "OPEN");
	char *id = obj_make(a.key, "items", "{}");
	char *l = client_line(f);
	ck_assert_msg(l && strcmp(l, "TIMEOUT"), "object.created never reached the subscriber (%s)",
		      l ? l : "client ended");
	cJSON *m = cJSON_Parse(l);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(json_str(m, "event"), "object.created");
	ck_assert_str_eq(json_str(m, "resource_id"), id);
	ck_assert_str_eq(json_str(item(m, "data"), "object_type_id"), ta);
	ck_assert(strncmp(json_str(m, "id"), "evt_", 4) == 0);
	cJSON_Delete(m);
	free(l);
	client_end(f);
	free(id);
	free(ta);
	tenant_drop(&a);
}
END_TEST

Suite *suite_realtime(void)
{
	Suite *s = suite_create("realtime");
	TCase *tc = tcase_new_slow(s, "realtime");
	tcase_add_test(tc, websocket_gets_its_tenants_events_and_nothing_of_another_tenant);
	tcase_add_test(tc, folder_channel_gets_only_its_folder);
	tcase_add_test(tc, sse_gets_events_and_resumes_after_last_event_id);
	tcase_add_test(tc, sse_resumes_after_last_event_id_query_parameter);
	tcase_add_test(tc, plain_get_is_426_and_sse_without_accept_is_406);
	tcase_add_test(tc, missing_bad_or_foreign_tokens_are_refused);
	tcase_add_test(tc, malformed_channel_names_are_400);
	tcase_add_test(tc, channels_the_caller_may_not_read_are_refused);
	tcase_add_test(tc, stats_count_connections_while_they_are_open);
	tcase_add_test(tc, object_created_reaches_a_websocket_subscriber);
	tcase_add_test(tc, revoking_a_key_closes_its_connections_and_no_others);
	tcase_add_test(tc, logout_and_ban_close_the_end_users_connections);
	tcase_add_test(tc, suspending_the_tenant_closes_its_connections_and_no_others);
	return s;
}
