/*
 * test_admin_users.c - end users whose roles grant the `admin` permission
 * (fcgi/gate.c): they call the key-scoped administration routes as a `*`
 * key would, the audit log names them, their objects are theirs, and
 * taking the role away refuses them again on the very next request.
 * Users without it keep the 403 INSUFFICIENT_SCOPE end users always got.
 * Users sign up and sign in through the real auth endpoints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "peers.h"

#define PW "Correct-horse-9"
#define REFUSED "End-user tokens cannot call this endpoint"

/* An end user signed up and signed in with a password. */
struct member {
	char *id, *token;
};

static void member_make(struct member *m, const char *key, const char *name)
{
	char *email = strf("%s.%ld.%d@example.com", name, (long)time(NULL), (int)getpid());
	char *body = strf("{\"email\":\"%s\",\"password\":\"%s\"}", email, PW);
	http_resp *r = call("POST", key, body, "/v1/auth/signup");
	assert_envelope(r, 201, NULL);
	m->id = strdup(json_str(item(resp_data(r), "user"), "id"));
	http_free(r);
	r = call("POST", key, body, "/v1/auth/login");
	assert_envelope(r, 200, NULL);
	m->token = strdup(json_str(resp_data(r), "access_token"));
	http_free(r);
	free(body);
	free(email);
}

static void member_drop(struct member *m)
{
	free(m->id);
	free(m->token);
}

/* Creates a role with permissions perms (a JSON array); its id. */
static char *role_with(const char *key, const char *name, const char *perms)
{
	char *body = strf("{\"name\":\"%s\",\"permissions\":%s}", name, perms);
	http_resp *r = call("POST", key, body, "/v1/roles");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	free(body);
	return id;
}

static void role_give(const char *key, const char *uid, const char *rid)
{
	char *body = strf("{\"user_id\":\"%s\",\"role_id\":\"%s\"}", uid, rid);
	http_resp *r = call("POST", key, body, "/v1/roles/assign");
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(body);
}

/* GET /v1/keys and POST /v1/object-types answer 403 INSUFFICIENT_SCOPE
 * with the end users' message, and create nothing. */
static void assert_refused(const char *tenant_key, const char *token, const char *type_name)
{
	http_resp *r = call("GET", token, NULL, "/v1/keys");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	ck_assert_str_eq(error_message(r), REFUSED);
	http_free(r);
	char *body = strf("{\"name\":\"%s\"}", type_name);
	r = call("POST", token, body, "/v1/object-types");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	ck_assert_str_eq(error_message(r), REFUSED);
	http_free(r);
	free(body);
	r = call("GET", tenant_key, NULL, "/v1/object-types/%s", type_name);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
}

/* Without roles, with a role that grants `*` but not `admin`, and with
 * `admin` assigned: refused, refused, then 200 on GET /v1/keys and 201 on
 * POST /v1/object-types, both audited with the user as the actor; taking
 * the role away refuses the next request. */
START_TEST(admin_permission_opens_key_routes_until_the_role_is_removed)
{
	struct tenant t;
	tenant_make(&t);
	struct member m;
	member_make(&m, t.key, "boss");
	assert_refused(t.key, m.token, "ledger");

	char *star = role_with(t.key, "everything", "[\"*\"]");
	role_give(t.key, m.id, star);
	assert_refused(t.key, m.token, "ledger");

	char *admin = role_with(t.key, "admin", "[\"admin\"]");
	role_give(t.key, m.id, admin);
	http_resp *r = call("GET", m.token, NULL, "/v1/keys");
	assert_envelope(r, 200, NULL);
	ck_assert_int_ge(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	r = call("POST", m.token, "{\"name\":\"ledger\"}", "/v1/object-types");
	assert_envelope(r, 201, NULL);
	char *type_id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	r = call("POST", m.token, "{\"name\":\"console\",\"scopes\":[\"read\"]}", "/v1/keys");
	assert_envelope(r, 201, NULL);
	char *key_id = strdup(json_str(item(resp_data(r), "key"), "id"));
	http_free(r);

	struct audit_page p;
	audit_get(&p, t.key, "?limit=100");
	const cJSON *e = audit_find(p.logs, "object_type.created", type_id);
	ck_assert_msg(e != NULL, "no object_type.created in %s", p.r->body);
	ck_assert_str_eq(json_str(e, "actor_type"), "user");
	ck_assert_str_eq(json_str(e, "actor_id"), m.id);
	e = audit_find(p.logs, "api_key.created", key_id);
	ck_assert_msg(e != NULL, "no api_key.created in %s", p.r->body);
	ck_assert_str_eq(json_str(e, "actor_type"), "user");
	ck_assert_str_eq(json_str(e, "actor_id"), m.id);
	http_free(p.r);

	r = call("DELETE", t.key, NULL, "/v1/roles/%s/users/%s", admin, m.id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	assert_refused(t.key, m.token, "ledger2");

	/* Given again, then the permission taken off the role itself. */
	role_give(t.key, m.id, admin);
	r = call("GET", m.token, NULL, "/v1/keys");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("PUT", t.key, "{\"permissions\":[\"objects:read\"]}", "/v1/roles/%s/permissions", admin);
	assert_envelope(r, 200, NULL);
	http_free(r);
	assert_refused(t.key, m.token, "ledger3");

	free(key_id);
	free(type_id);
	free(admin);
	free(star);
	member_drop(&m);
	tenant_drop(&t);
}
END_TEST

/* An admin user's data requests are not narrowed by row-level policies
 * (a `*` key's are not either), and what they create is theirs
 * (created_by); a user with objects:read sees no rows without a policy.
 * Files a user uploaded are theirs alone, but the admin sees them. */
START_TEST(admin_user_reaches_every_row_and_owns_what_they_create)
{
	struct tenant t;
	tenant_make(&t);
	free(type_make(t.key, "notes"));
	prop_make(t.key, "notes", "{\"name\":\"title\",\"data_type\":\"string\"}");
	free(obj_make(t.key, "notes", "{\"title\":\"by the key\"}"));
	struct member boss, reader;
	member_make(&boss, t.key, "boss");
	member_make(&reader, t.key, "reader");
	char *admin = role_with(t.key, "admin", "[\"admin\"]");
	char *read = role_with(t.key, "readers", "[\"objects:read\"]");
	role_give(t.key, boss.id, admin);
	role_give(t.key, reader.id, read);

	http_resp *r = call("GET", reader.token, NULL, "/v1/objects/notes/list");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 0);
	http_free(r);
	r = call("GET", reader.token, NULL, "/v1/keys");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);

	r = obj_create(boss.token, "notes", "{\"title\":\"by the boss\"}");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "created_by"), boss.id);
	http_free(r);
	r = call("GET", boss.token, NULL, "/v1/objects/notes/list");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 2);
	http_free(r);

	/* Files: the reader's own are theirs alone, except to the admin. */
	char *files = role_with(t.key, "filers", "[\"files:*\"]");
	role_give(t.key, reader.id, files);
	char *fid = file_upload_text(reader.token, "mine.txt", "the reader's");
	r = call("GET", boss.token, NULL, "/v1/files/%s", fid);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), fid);
	http_free(r);
	struct member other;
	member_make(&other, t.key, "other");
	role_give(t.key, other.id, files);
	r = call("GET", other.token, NULL, "/v1/files/%s", fid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	member_drop(&other);
	free(fid);
	free(files);

	free(read);
	free(admin);
	member_drop(&reader);
	member_drop(&boss);
	tenant_drop(&t);
}
END_TEST

static long remaining(const char *token)
{
	http_resp *r = call("GET", token, NULL, "/v1/keys");
	assert_envelope(r, 200, NULL);
	char *h = resp_header(r, "X-RateLimit-Remaining");
	ck_assert_ptr_nonnull(h);
	long n = atol(h);
	free(h);
	http_free(r);
	return n;
}

/* GET /v1/auth/sessions + query as token lists sessions, all of uid. */
static void assert_sessions_of(const char *token, const char *query, const char *uid)
{
	http_resp *r = call("GET", token, NULL, "/v1/auth/sessions%s", query);
	assert_envelope(r, 200, NULL);
	ck_assert_int_ge(cJSON_GetArraySize(resp_data(r)), 1);
	const cJSON *it;
	cJSON_ArrayForEach(it, resp_data(r))
		ck_assert_str_eq(json_str(it, "user_id"), uid);
	http_free(r);
}

/* A tenant with two users: boss, given a role "admin" granting the admin
 * permission, and other, without. */
struct pair {
	struct tenant t;
	struct member boss, other;
	char *admin; /* the role's id */
};

static void pair_make(struct pair *p)
{
	tenant_make(&p->t);
	member_make(&p->boss, p->t.key, "boss");
	member_make(&p->other, p->t.key, "other");
	p->admin = role_with(p->t.key, "admin", "[\"admin\"]");
	role_give(p->t.key, p->boss.id, p->admin);
}

static void pair_drop(struct pair *p)
{
	free(p->admin);
	member_drop(&p->other);
	member_drop(&p->boss);
	tenant_drop(&p->t);
}

/* The request stays the user's: their own rate-limit counter (the key's
 * requests do not count against it), their own sessions without
 * ?user_id= and another user's with it, as a key with the auth scope. */
START_TEST(admin_user_keeps_their_rate_limit_and_acts_for_others_when_asked)
{
	struct pair p;
	pair_make(&p);

	wait_for_fresh_minute();
	long first = remaining(p.boss.token);
	for (int i = 0; i < 3; i++)
		remaining(p.t.key);
	ck_assert_int_eq(remaining(p.boss.token), first - 1);

	assert_sessions_of(p.boss.token, "", p.boss.id);
	char *q = strf("?user_id=%s", p.other.id);
	assert_sessions_of(p.boss.token, q, p.other.id);
	free(q);
	/* A user without admin asking for another's sessions gets their own. */
	q = strf("?user_id=%s", p.boss.id);
	assert_sessions_of(p.other.token, q, p.other.id);
	free(q);

	pair_drop(&p);
}
END_TEST

/* `admin` is a permission of the vocabulary; look-alikes are refused on
 * their field and create no role. */
START_TEST(admin_is_a_permission_and_look_alikes_are_refused)
{
	struct tenant t;
	tenant_make(&t);
	const char *bad[] = { "admins", "admin:*", "Admin", "objects:admin" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *body = strf("{\"name\":\"r%zu\",\"permissions\":[\"%s\"]}", i, bad[i]);
		http_resp *r = call("POST", t.key, body, "/v1/roles");
		assert_fail_field(r, 400, "VALIDATION_ERROR", "permissions[0]");
		http_free(r);
		free(body);
	}
	http_resp *r = call("GET", t.key, NULL, "/v1/roles");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	char *id = role_with(t.key, "admin", "[\"admin\"]");
	r = call("GET", t.key, NULL, "/v1/roles/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(cJSON_GetArrayItem(item(resp_data(r), "effective_permissions"), 0)->valuestring,
			 "admin");
	http_free(r);
	free(id);
	tenant_drop(&t);
}
END_TEST

/* The titles of the notifications token sees with query (one string,
 * "|"-joined, malloc'd), asserting 200. */
static char *titles(const char *token, const char *query)
{
	http_resp *r = call("GET", token, NULL, "/v1/auth/notifications%s", query);
	assert_envelope(r, 200, NULL);
	char *out = strdup("");
	const cJSON *n;
	cJSON_ArrayForEach(n, item(resp_data(r), "results")) {
		char *more = strf("%s|%s", out, json_str(n, "title"));
		free(out);
		out = more;
	}
	http_free(r);
	return out;
}

/* An admin reads and marks another user's notifications with ?user_id=;
 * a user without admin asking for another's is refused. */
START_TEST(admin_user_reads_another_users_notifications_when_asked)
{
	struct pair p;
	pair_make(&p); /* each user is told of a new role */
	char *reader = role_with(p.t.key, "reader", "[\"objects:read\"]");
	role_give(p.t.key, p.other.id, reader);

	char *mine = titles(p.boss.token, ""), *q = strf("?user_id=%s", p.other.id);
	char *theirs = titles(p.boss.token, q);
	ck_assert_msg(strstr(mine, "role admin") && !strstr(mine, "role reader"), "%s", mine);
	ck_assert_msg(strstr(theirs, "role reader") && !strstr(theirs, "role admin"), "%s", theirs);
	http_resp *r = call("GET", p.boss.token, NULL, "/v1/auth/notifications/count%s", q);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "count")->valueint, 1);
	http_free(r);
	r = call("POST", p.boss.token, "{}", "/v1/auth/notifications/read-all%s", q);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get("/v1/auth/notifications/count", p.other.token);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "count")->valueint, 0);
	http_free(r);
	r = http_get("/v1/auth/notifications/count", p.boss.token);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "count")->valueint, 1);
	http_free(r);

	/* Without admin: another's notifications are refused, not shown. */
	char *q2 = strf("?user_id=%s", p.boss.id);
	r = call("GET", p.other.token, NULL, "/v1/auth/notifications%s", q2);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	/* An admin naming a user the tenant does not have: 404. */
	r = call("GET", p.boss.token, NULL, "/v1/auth/notifications?user_id=usr_01M0000000000000000000000Z");
	ck_assert_msg(r->status == 404, "status %ld: %s", r->status, r->body);
	http_free(r);

	free(mine), free(theirs), free(q), free(q2), free(reader);
	pair_drop(&p);
}
END_TEST

/* The tenant-wide realtime channels (files, events) are for keys and
 * admins: an admin's WebSocket gets a custom event; a user without admin
 * is refused at the handshake. */
START_TEST(admin_user_streams_the_tenant_wide_channels)
{
	struct pair p;
	pair_make(&p);

	char *path = strf("/v1/realtime?token=%s&tenant_id=%s&channels=events,files", p.other.token, p.t.id);
	FILE *f = client_start("ws", path, 1, 10, NULL);
	client_expect(f, "STATUS 403");
	client_end(f);
	free(path);

	path = strf("/v1/realtime?token=%s&tenant_id=%s&channels=events,files", p.boss.token, p.t.id);
	f = client_start("ws", path, 1, 10, NULL);
	client_expect(f, "OPEN");
	http_resp *r = call("POST", p.t.key, "{\"event_type\":\"audit_me\",\"data\":{\"n\":1}}",
			    "/v1/events");
	assert_envelope(r, 200, NULL);
	http_free(r);
	cJSON *m = client_message(f, "ws");
	ck_assert_str_eq(json_str(m, "channel"), "events");
	ck_assert_str_eq(json_str(m, "event"), "custom.audit_me");
	cJSON_Delete(m);
	client_end(f);
	free(path);

	pair_drop(&p);
}
END_TEST

Suite *suite_admin_users(void)
{
	Suite *s = suite_create("admin_users");
	TCase *tc = tcase_create("admin_users");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, admin_permission_opens_key_routes_until_the_role_is_removed);
	tcase_add_test(tc, admin_user_reaches_every_row_and_owns_what_they_create);
	tcase_add_test(tc, admin_user_keeps_their_rate_limit_and_acts_for_others_when_asked);
	tcase_add_test(tc, admin_is_a_permission_and_look_alikes_are_refused);
	tcase_add_test(tc, admin_user_reads_another_users_notifications_when_asked);
	tcase_add_test(tc, admin_user_streams_the_tenant_wide_channels);
	suite_add_tcase(s, tc);
	return s;
}
