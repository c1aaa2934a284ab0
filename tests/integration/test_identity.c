/*
 * test_identity.c - identity administration against the real stack: auth
 * config and governance (validation, the shared password minimum, the IP
 * allowlist answering 403 to addresses outside it), roles (CRUD, cycles,
 * inheritance, assignment, secure delete) and their enforcement on
 * end-user tokens, notifications and channel preferences, and delivery:
 * POST /v1/email/send through the file driver (.eml read back with
 * Python's email parser) and through a real SMTP server (aiosmtpd on
 * loopback, with a runner of the test's own pointed at it), SMS through the
 * file driver, and audit retention applied by system.cleanup.
 *
 * End users are rows the test writes into the tenant's _users table (the
 * Users API belongs to the auth flows); their tokens come from
 * `tessera token mint`.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peers.h"

/* ------------------------------------------------------------ helpers */

static char *tenant_db(const char *tid)
{
	char *sql = strf("SELECT db_name FROM tenants WHERE id='%s'", tid);
	char *db = control_sql(sql);
	free(sql);
	return db;
}

/* A unique string for ids and addresses. */
static char *uniq(const char *prefix)
{
	static int n;
	return strf("%s%ld%d%d", prefix, (long)time(NULL), (int)getpid(), ++n);
}

/* Inserts an end user (email/phone may be NULL); returns the id (malloc'd). */
static char *user_make(const char *tid, const char *email, const char *phone)
{
	char *id = uniq("usr_t");
	char *db = tenant_db(tid);
	char *em = email ? strf("'%s'", email) : strdup("NULL");
	char *ph = phone ? strf("'%s'", phone) : strdup("NULL");
	tenant_table_make(db, "_users");
	char *sql = strf("INSERT INTO %s._users (id, email, phone, created_at, updated_at) "
			 "VALUES ('%s', %s, %s, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", db, id, em, ph);
	free(control_sql(sql));
	free(sql);
	free(db);
	free(em);
	free(ph);
	return id;
}

static char *user_jwt(const char *tid, const char *uid)
{
	char *t = jwt_mint(tid, uid, "authenticated", 3600, NULL);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* Creates a role (json body), asserting 201; returns its id (malloc'd). */
static char *role_make(const char *key, const char *json)
{
	http_resp *r = http_json("POST", "/v1/roles", key, json);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

static void role_assign(const char *key, const char *uid, const char *rid)
{
	char *body = strf("{\"user_id\":\"%s\",\"role_id\":\"%s\"}", uid, rid);
	http_resp *r = http_json("POST", "/v1/roles/assign", key, body);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(body);
}

static bool array_has(const cJSON *arr, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
		if (cJSON_IsString(it) && !strcmp(it->valuestring, s))
			return true;
	return false;
}

struct bad_body {
	const char *body, *field;
};

/* Each body sent to path answers 400 VALIDATION_ERROR naming its field. */
static void assert_bad_bodies(const char *method, const char *path, const char *key,
			      const struct bad_body *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		http_resp *r = http_json(method, path, key, cases[i].body);
		assert_fail_field(r, 400, "VALIDATION_ERROR", cases[i].field);
		http_free(r);
	}
}

static void wait_for_job_kind_done(const char *tid, const char *kind)
{
	for (int i = 0; i < 200; i++) {
		char *sql = strf("SELECT COUNT(*) FROM jobs WHERE tenant_id='%s' AND kind='%s' AND status<>'done'",
				 tid, kind);
		char *n = control_sql(sql);
		free(sql);
		bool done = !strcmp(n, "0");
		free(n);
		if (done)
			return;
		sleep_ms(100);
	}
	ck_abort_msg("%s jobs of %s did not finish", kind, tid);
}

/* ------------------------------------------------------------ auth config */

START_TEST(identity_auth_config_has_defaults_and_merges_partial_updates)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = http_get("/v1/auth-config", t.key);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert(cJSON_IsTrue(item(item(d, "providers"), "email_password")));
	ck_assert(cJSON_IsTrue(item(item(d, "providers"), "anonymous")));
	ck_assert(cJSON_IsFalse(item(d, "require_email_verification")));
	ck_assert_int_eq(item(item(d, "password_policy"), "min_length")->valueint, 8);
	const char *names[] = { "confirm_signup", "recovery", "magic_link", "email_change", "invite", "mfa_notice" };
	for (int i = 0; i < 6; i++) {
		const cJSON *tpl = item(item(d, "email_templates"), names[i]);
		ck_assert_msg(json_str(tpl, "subject") && json_str(tpl, "body"), "template %s", names[i]);
	}
	ck_assert_ptr_nonnull(strstr(json_str(item(item(d, "email_templates"), "magic_link"), "body"), "{{link}}"));
	http_free(r);

	r = http_json("POST", "/v1/auth-config", t.key,
		      "{\"providers\":{\"anonymous\":false},\"require_email_verification\":true,"
		      "\"password_policy\":{\"require_digit\":true},"
		      "\"redirect_urls\":[\"https://app.example.com\"],\"site_url\":\"https://app.example.com\","
		      "\"branding\":{\"site_name\":\"Acme\",\"primary_color\":\"#ff0000\"},"
		      "\"email_templates\":{\"magic_link\":{\"subject\":\"Log in to {{site_name}}\"}}}");
	assert_envelope(r, 200, NULL);
	d = resp_data(r);
	ck_assert(cJSON_IsFalse(item(item(d, "providers"), "anonymous")));
	ck_assert(cJSON_IsTrue(item(item(d, "providers"), "magic_link")));
	ck_assert(cJSON_IsTrue(item(d, "require_email_verification")));
	ck_assert(cJSON_IsTrue(item(item(d, "password_policy"), "require_digit")));
	ck_assert_str_eq(json_str(item(d, "branding"), "site_name"), "Acme");
	ck_assert_str_eq(json_str(item(item(d, "email_templates"), "magic_link"), "subject"), "Log in to {{site_name}}");
	/* The body kept its default. */
	ck_assert_ptr_nonnull(strstr(json_str(item(item(d, "email_templates"), "magic_link"), "body"), "{{link}}"));
	http_free(r);

	/* A second update keeps the first; null resets a template (and a
	 * whole section, never set before, stays at its defaults). */
	r = http_json("POST", "/v1/auth-config", t.key,
		      "{\"email_templates\":{\"magic_link\":null},\"providers\":null,\"site_url\":null}");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(item(resp_data(r), "branding"), "site_name"), "Acme");
	ck_assert_str_eq(json_str(item(item(resp_data(r), "email_templates"), "magic_link"), "subject"),
			 "Your sign-in link for {{site_name}}");
	ck_assert(cJSON_IsTrue(item(item(resp_data(r), "providers"), "anonymous")));
	ck_assert(cJSON_IsNull(item(resp_data(r), "site_url")));
	http_free(r);
	r = http_json("POST", "/v1/auth-config", t.key, "{\"password_policy\":null}");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsFalse(item(item(resp_data(r), "password_policy"), "require_digit")));
	http_free(r);

	struct audit_page p;
	audit_get(&p, t.key, "?action=auth_config.updated");
	ck_assert_int_ge(p.total, 2);
	http_free(p.r);
	tenant_drop(&t);
}
END_TEST

START_TEST(identity_auth_config_rejects_bad_fields_and_changes_nothing)
{
	struct tenant t;
	tenant_make(&t);
	static const struct bad_body cases[] = {
		{ "{\"bogus\":1}", "bogus" },
		{ "{\"providers\":{\"fax\":true}}", "providers.fax" },
		{ "{\"providers\":{\"magic_link\":\"yes\"}}", "providers.magic_link" },
		{ "{\"redirect_urls\":[\"https://ok.example\",\"javascript:alert(1)\"]}", "redirect_urls[1]" },
		{ "{\"branding\":{\"primary_color\":\"red\"}}", "branding.primary_color" },
		{ "{\"branding\":{\"logo_url\":\"ftp://x/y.png\"}}", "branding.logo_url" },
		{ "{\"password_policy\":{\"min_length\":3}}", "password_policy.min_length" },
		{ "{\"email_templates\":{\"recovery\":{\"subject\":\"\"}}}", "email_templates.recovery.subject" },
		{ "{\"email_templates\":{\"welcome\":{\"subject\":\"x\"}}}", "email_templates.welcome" },
		{ "{\"site_url\":42}", "site_url" },
	};
	http_resp *before = http_get("/v1/auth-config", t.key);
	char *b = cJSON_PrintUnformatted(resp_data(before));
	assert_bad_bodies("POST", "/v1/auth-config", t.key, cases, sizeof(cases) / sizeof(cases[0]));
	http_resp *after = http_get("/v1/auth-config", t.key);
	char *a = cJSON_PrintUnformatted(resp_data(after));
	ck_assert_str_eq(a, b);
	/* Tenant administration: a key without * may not read or change it. */
	char *reader = key_new(t.key, "{\"scopes\":[\"read\",\"auth\"]}", NULL);
	http_resp *r = http_get("/v1/auth-config", reader);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	free(a);
	free(b);
	free(reader);
	http_free(before);
	http_free(after);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ governance */

START_TEST(identity_governance_updates_and_shares_the_password_minimum)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = http_get("/v1/governance", t.key);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "audit_retention_days")->valueint, 90);
	ck_assert_int_eq(item(resp_data(r), "session_duration_secs")->valueint, 604800);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "ip_allowlist")), 0);
	http_free(r);
	r = http_json("PATCH", "/v1/governance", t.key,
		      "{\"audit_retention_days\":30,\"session_duration_secs\":3600,\"password_min_length\":12}");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "audit_retention_days")->valueint, 30);
	ck_assert_int_eq(item(resp_data(r), "password_min_length")->valueint, 12);
	http_free(r);
	r = http_get("/v1/auth-config", t.key);
	ck_assert_int_eq(item(item(resp_data(r), "password_policy"), "min_length")->valueint, 12);
	http_free(r);
	/* And the other way round. */
	r = http_json("POST", "/v1/auth-config", t.key, "{\"password_policy\":{\"min_length\":10}}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get("/v1/governance", t.key);
	ck_assert_int_eq(item(resp_data(r), "password_min_length")->valueint, 10);
	ck_assert_int_eq(item(resp_data(r), "session_duration_secs")->valueint, 3600);
	http_free(r);

	static const struct bad_body cases[] = {
		{ "{\"ip_allowlist\":[\"10.0.0.0/8\",\"nope\"]}", "ip_allowlist[1]" },
		{ "{\"session_duration_secs\":10}", "session_duration_secs" },
		{ "{\"audit_retention_days\":0}", "audit_retention_days" },
		{ "{\"password_min_length\":\"12\"}", "password_min_length" },
		{ "{\"mfa\":true}", "mfa" },
	};
	assert_bad_bodies("PATCH", "/v1/governance", t.key, cases, sizeof(cases) / sizeof(cases[0]));
	tenant_drop(&t);
}
END_TEST

START_TEST(identity_governance_ip_allowlist_refuses_keys_and_users_from_outside)
{
	struct tenant t, other;
	tenant_make(&t);
	tenant_make(&other);
	char *uid = user_make(t.id, NULL, NULL);
	char *jwt = user_jwt(t.id, uid);
	char *outside = loopback_addr_random();

	http_resp *r = http_json("PATCH", "/v1/governance", t.key, "{\"ip_allowlist\":[\"127.0.0.1/32\"]}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* From the allowed address everything works. */
	r = http_get("/v1/usage", t.key);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get("/v1/auth/notifications/count", jwt);
	assert_envelope(r, 200, NULL);
	http_free(r);

	http_source_addr(outside);
	r = http_get("/v1/usage", t.key);
	assert_envelope(r, 403, "FORBIDDEN");
	ck_assert_ptr_nonnull(strstr(error_message(r), "IP allowlist"));
	http_free(r);
	r = http_get("/v1/auth/notifications/count", jwt);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	/* Another tenant is not affected. */
	r = http_get("/v1/usage", other.key);
	assert_envelope(r, 200, NULL);
	http_free(r);

	/* Lifting the list takes effect at once (no stale worker cache). */
	http_source_addr(NULL);
	r = http_json("PATCH", "/v1/governance", t.key, "{\"ip_allowlist\":[]}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	http_source_addr(outside);
	for (int i = 0; i < 6; i++) {   /* several requests: several workers */
		r = http_get("/v1/usage", t.key);
		assert_envelope(r, 200, NULL);
		http_free(r);
	}
	http_source_addr(NULL);
	free(outside);
	free(uid);
	free(jwt);
	tenant_drop(&t);
	tenant_drop(&other);
}
END_TEST

/* ------------------------------------------------------------ roles */

START_TEST(identity_roles_crud_validates_and_answers_404_across_tenants)
{
	struct tenant t, other;
	tenant_make(&t);
	tenant_make(&other);
	http_resp *r = http_json("POST", "/v1/roles", t.key,
				 "{\"name\":\"editor\",\"description\":\"Edits\",\"permissions\":[\"objects:read\"]}");
	assert_envelope(r, 201, NULL);
	const cJSON *d = resp_data(r);
	char *id = strdup(json_str(d, "id"));
	ck_assert(strncmp(id, "role_", 5) == 0);
	ck_assert_str_eq(json_str(d, "name"), "editor");
	ck_assert(cJSON_IsNull(item(d, "parent_role_id")));
	ck_assert(array_has(item(d, "permissions"), "objects:read"));
	assert_rfc3339(d, "created_at");
	http_free(r);

	r = http_json("POST", "/v1/roles", t.key, "{\"name\":\"editor\"}");
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	static const struct bad_body cases[] = {
		{ "{\"name\":\"has space\"}", "name" },
		{ "{\"description\":\"no name\"}", "name" },
		{ "{\"name\":\"x\",\"permissions\":[\"objects:frobnicate\"]}", "permissions[0]" },
		{ "{\"name\":\"x\",\"permissions\":[\"*\",\"files:read:extra\"]}", "permissions[1]" },
		{ "{\"name\":\"x\",\"permissions\":\"objects:read\"}", "permissions" },
	};
	assert_bad_bodies("POST", "/v1/roles", t.key, cases, sizeof(cases) / sizeof(cases[0]));

	r = call("PATCH", t.key, "{\"description\":\"Edits content\"}", "/v1/roles/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "description"), "Edits content");
	http_free(r);
	r = call("PUT", t.key, "{\"permissions\":[\"objects:contacts:write\",\"files:read\",\"comments:write\","
		 "\"events:publish\",\"objects:*:read\"]}", "/v1/roles/%s/permissions", id);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "permissions")), 5);
	ck_assert(!array_has(item(resp_data(r), "permissions"), "objects:read"));
	http_free(r);
	r = call("PUT", t.key, "{\"permissions\":[\"files:read\",\"files:delete\"]}", "/v1/roles/%s/permissions", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "permissions[1]");
	http_free(r);

	r = http_get("/v1/roles", t.key);
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_nonnull(find_by(resp_data(r), "id", id));
	http_free(r);
	/* Another tenant sees nothing of it. */
	r = call("GET", other.key, NULL, "/v1/roles/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", other.key, NULL, "/v1/roles/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* Roles need the auth scope. */
	char *reader = key_new(t.key, "{\"scopes\":[\"read\"]}", NULL);
	r = http_get("/v1/roles", reader);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);

	r = call("DELETE", t.key, NULL, "/v1/roles/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "deleted")));
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/roles/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(reader);
	free(id);
	tenant_drop(&t);
	tenant_drop(&other);
}
END_TEST

START_TEST(identity_roles_inherit_from_parents_and_refuse_cycles)
{
	struct tenant t;
	tenant_make(&t);
	char *viewer = role_make(t.key, "{\"name\":\"viewer\",\"permissions\":[\"objects:read\"]}");
	char *body = strf("{\"name\":\"editor\",\"parent_role_id\":\"%s\",\"permissions\":[\"objects:write\"]}", viewer);
	char *editor = role_make(t.key, body);
	free(body);
	body = strf("{\"name\":\"admin\",\"parent_role_id\":\"%s\",\"permissions\":[\"files:write\"]}", editor);
	char *admin = role_make(t.key, body);
	free(body);
	http_resp *r = call("GET", t.key, NULL, "/v1/roles/%s", admin);
	assert_envelope(r, 200, NULL);
	const cJSON *eff = item(resp_data(r), "effective_permissions");
	ck_assert(array_has(eff, "files:write") && array_has(eff, "objects:write") && array_has(eff, "objects:read"));
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "permissions")), 1);
	http_free(r);

	/* viewer under admin would close a cycle; a role under itself too. */
	body = strf("{\"parent_role_id\":\"%s\"}", admin);
	r = call("PATCH", t.key, body, "/v1/roles/%s", viewer);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "parent_role_id");
	http_free(r);
	free(body);
	body = strf("{\"parent_role_id\":\"%s\"}", viewer);
	r = call("PATCH", t.key, body, "/v1/roles/%s", viewer);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "parent_role_id");
	http_free(r);
	free(body);
	r = http_json("POST", "/v1/roles", t.key, "{\"name\":\"orphan\",\"parent_role_id\":\"role_missing\"}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "parent_role_id");
	http_free(r);
	/* Nothing changed. */
	r = call("GET", t.key, NULL, "/v1/roles/%s", viewer);
	ck_assert(cJSON_IsNull(item(resp_data(r), "parent_role_id")));
	http_free(r);
	/* Detaching works (null). */
	r = call("PATCH", t.key, "{\"parent_role_id\":null}", "/v1/roles/%s", admin);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "effective_permissions")), 1);
	http_free(r);
	free(viewer);
	free(editor);
	free(admin);
	tenant_drop(&t);
}
END_TEST

START_TEST(identity_roles_assign_list_remove_and_secure_delete)
{
	struct tenant t, other;
	tenant_make(&t);
	tenant_make(&other);
	char *uid = user_make(t.id, NULL, NULL);
	char *rid = role_make(t.key, "{\"name\":\"support\",\"permissions\":[\"objects:read\"]}");
	char *body = strf("{\"user_id\":\"%s\",\"role_id\":\"%s\"}", uid, rid);
	http_resp *r = http_json("POST", "/v1/roles/assign", t.key, body);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "assigned")));
	http_free(r);
	/* Again: still 200, nothing doubled. */
	r = http_json("POST", "/v1/roles/assign", t.key, body);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "already_assigned")));
	http_free(r);
	/* The other tenant knows neither the user nor the role. */
	r = http_json("POST", "/v1/roles/assign", other.key, body);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(body);
	body = strf("{\"user_id\":\"usr_nobody\",\"role_id\":\"%s\"}", rid);
	r = http_json("POST", "/v1/roles/assign", t.key, body);
	assert_fail_field(r, 404, "NOT_FOUND", "user_id");
	http_free(r);
	free(body);
	body = strf("{\"user_id\":\"%s\",\"role_id\":\"role_nope\"}", uid);
	r = http_json("POST", "/v1/roles/assign", t.key, body);
	assert_fail_field(r, 404, "NOT_FOUND", "role_id");
	http_free(r);
	free(body);

	r = call("GET", t.key, NULL, "/v1/users/%s/roles", uid);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(resp_data(r), 0), "name"), "support");
	assert_rfc3339(cJSON_GetArrayItem(resp_data(r), 0), "assigned_at");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/users/%s/roles", "usr_nobody");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* A role with users: 409 with a confirm token, then forced. */
	r = call("DELETE", t.key, NULL, "/v1/roles/%s", rid);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	const cJSON *err = item(r->json, "error");
	char *token = strdup(json_str(err, "confirm_token"));
	ck_assert_int_eq(item(cJSON_GetArrayItem(item(err, "dependencies"), 0), "count")->valueint, 1);
	http_free(r);
	/* Removing and re-adding through the API works meanwhile. */
	r = call("DELETE", t.key, NULL, "/v1/roles/%s/users/%s", rid, uid);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "removed")));
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/roles/%s/users/%s", rid, uid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	role_assign(t.key, uid, rid);
	r = call("DELETE", t.key, NULL, "/v1/roles/%s?force=true&confirm_token=%s", rid, token);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/users/%s/roles", uid);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	free(token);
	free(uid);
	free(rid);
	tenant_drop(&t);
	tenant_drop(&other);
}
END_TEST

START_TEST(identity_role_permissions_gate_end_users_once_roles_exist)
{
	struct tenant t;
	tenant_make(&t);
	char *contacts_id = type_make(t.key, "contacts");
	free(type_make(t.key, "deals"));
	const char *types[] = { "contacts", "deals" };
	for (int i = 0; i < 2; i++) {
		http_resp *r = call("POST", t.key, "{\"name\":\"open\",\"action\":\"all\",\"condition_json\":true}",
				    "/v1/object-types/%s/policies", types[i]);
		assert_envelope(r, 201, NULL);
		http_free(r);
	}
	char *uid = user_make(t.id, NULL, NULL), *uid2 = user_make(t.id, NULL, NULL);
	char *jwt = user_jwt(t.id, uid), *jwt2 = user_jwt(t.id, uid2);

	/* No roles defined: policies alone decide, as before. */
	http_resp *r = http_get("/v1/objects/contacts/list", jwt);
	assert_envelope(r, 200, NULL);
	http_free(r);

	char *reader = role_make(t.key, "{\"name\":\"reader\",\"permissions\":[\"objects:contacts:read\"]}");
	/* Roles exist now: a user without one is refused. */
	r = http_get("/v1/objects/contacts/list", jwt);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	role_assign(t.key, uid, reader);
	r = http_get("/v1/objects/contacts/list", jwt);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get("/v1/objects/deals/list", jwt);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = http_json("POST", "/v1/objects/contacts", jwt, "{\"properties\":{}}");
	assert_envelope(r, 403, "FORBIDDEN");
	ck_assert_ptr_nonnull(strstr(error_message(r), "objects:contacts:write"));
	http_free(r);
	/* Granting write takes effect on the next request. */
	r = call("PUT", t.key, "{\"permissions\":[\"objects:contacts:*\"]}", "/v1/roles/%s/permissions", reader);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_json("POST", "/v1/objects/contacts", jwt, "{\"properties\":{}}");
	assert_envelope(r, 201, NULL);
	char *obj = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	/* By type id too. */
	r = call("GET", jwt, NULL, "/v1/objects/%s/%s", contacts_id, obj);
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* API keys are not subject to roles. */
	r = http_get("/v1/objects/deals/list", t.key);
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* A role named after the token's role claim applies to every holder. */
	r = http_get("/v1/objects/deals/list", jwt2);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	free(role_make(t.key, "{\"name\":\"authenticated\",\"permissions\":[\"objects:deals:read\"]}"));
	r = http_get("/v1/objects/deals/list", jwt2);
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* Removing the role takes the permission away at once. */
	r = call("DELETE", t.key, NULL, "/v1/roles/%s/users/%s", reader, uid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get("/v1/objects/contacts/list", jwt);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	free(obj);
	free(contacts_id);
	free(reader);
	free(uid);
	free(uid2);
	free(jwt);
	free(jwt2);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ notifications */

START_TEST(identity_notifications_list_count_and_mark_read)
{
	struct tenant t;
	tenant_make(&t);
	char *uid = user_make(t.id, NULL, NULL), *other = user_make(t.id, NULL, NULL);
	char *jwt = user_jwt(t.id, uid), *jwt_other = user_jwt(t.id, other);
	/* Each role assignment notifies the user (category "account"). */
	const char *names[] = { "alpha", "beta", "gamma" };
	for (int i = 0; i < 3; i++) {
		char *body = strf("{\"name\":\"%s\"}", names[i]);
		char *rid = role_make(t.key, body);
		role_assign(t.key, uid, rid);
		free(body);
		free(rid);
	}
	http_resp *r = http_get("/v1/auth/notifications/count", jwt);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "count")->valueint, 3);
	http_free(r);

	r = http_get("/v1/auth/notifications?limit=2", jwt);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_int_eq(cJSON_GetArraySize(item(d, "results")), 2);
	ck_assert_int_eq(item(d, "total")->valueint, 3);
	const cJSON *n0 = cJSON_GetArrayItem(item(d, "results"), 0);
	ck_assert_str_eq(json_str(n0, "type"), "account");
	ck_assert_str_eq(json_str(n0, "user_id"), uid);
	ck_assert_ptr_nonnull(strstr(json_str(n0, "title"), "gamma"));   /* newest first */
	ck_assert(cJSON_IsFalse(item(n0, "is_read")));
	ck_assert_str_eq(json_str(item(n0, "metadata"), "role"), "gamma");
	assert_rfc3339(n0, "created_at");
	char *first = strdup(json_str(n0, "id"));
	char *cursor = strdup(json_str(d, "next_cursor"));
	http_free(r);
	r = call("GET", jwt, NULL, "/v1/auth/notifications?limit=2&cursor=%s", cursor);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 1);
	ck_assert(cJSON_IsNull(item(resp_data(r), "next_cursor")));
	http_free(r);
	r = http_get("/v1/auth/notifications?cursor=garbage!", jwt);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "cursor");
	http_free(r);

	/* Someone else's notification is not found; one's own is marked. */
	r = call("PATCH", jwt_other, NULL, "/v1/auth/notifications/%s/read", first);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", jwt, NULL, "/v1/auth/notifications/%s/read", first);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "read")));
	http_free(r);
	r = http_get("/v1/auth/notifications/count", jwt);
	ck_assert_int_eq(item(resp_data(r), "count")->valueint, 2);
	http_free(r);
	r = http_get("/v1/auth/notifications?unread_only=true", jwt);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 2);
	http_free(r);
	r = http_json("POST", "/v1/auth/notifications/read-all", jwt, NULL);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "updated")->valueint, 2);
	http_free(r);
	r = http_get("/v1/auth/notifications/count", jwt);
	ck_assert_int_eq(item(resp_data(r), "count")->valueint, 0);
	http_free(r);
	r = http_get("/v1/auth/notifications/count", jwt_other);
	ck_assert_int_eq(item(resp_data(r), "count")->valueint, 0);
	http_free(r);

	/* Keys act for a user with the auth scope and ?user_id=. */
	r = call("GET", t.key, NULL, "/v1/auth/notifications?user_id=%s", uid);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 3);
	http_free(r);
	r = http_get("/v1/auth/notifications", t.key);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "user_id");
	http_free(r);
	char *reader = key_new(t.key, "{\"scopes\":[\"read\"]}", NULL);
	r = call("GET", reader, NULL, "/v1/auth/notifications?user_id=%s", uid);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	/* An end user cannot name someone else. */
	r = call("GET", jwt_other, NULL, "/v1/auth/notifications?user_id=%s", uid);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	free(reader);
	free(first);
	free(cursor);
	free(uid);
	free(other);
	free(jwt);
	free(jwt_other);
	tenant_drop(&t);
}
END_TEST

START_TEST(identity_notification_preferences_default_update_and_delete)
{
	struct tenant t;
	tenant_make(&t);
	char *uid = user_make(t.id, NULL, NULL);
	char *jwt = user_jwt(t.id, uid);
	http_resp *r = http_get("/v1/auth/notifications/preferences", jwt);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 4);
	const cJSON *email = find_by(resp_data(r), "channel", "email");
	ck_assert(cJSON_IsTrue(item(email, "enabled")));
	ck_assert(array_has(item(email, "categories"), "security"));
	ck_assert(cJSON_IsFalse(item(find_by(resp_data(r), "channel", "sms"), "enabled")));
	http_free(r);

	r = http_json("PUT", "/v1/auth/notifications/preferences", jwt,
		      "{\"channel\":\"push\",\"enabled\":true,\"categories\":[\"account\",\"billing\"]}");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "updated")));
	http_free(r);
	r = http_get("/v1/auth/notifications/preferences", jwt);
	const cJSON *push = find_by(resp_data(r), "channel", "push");
	ck_assert(cJSON_IsTrue(item(push, "enabled")));
	ck_assert(array_has(item(push, "categories"), "billing"));
	http_free(r);

	r = http_json("PUT", "/v1/auth/notifications/preferences", jwt, "{\"channel\":\"fax\",\"enabled\":true}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "channel");
	http_free(r);
	r = http_json("PUT", "/v1/auth/notifications/preferences", jwt,
		      "{\"channel\":\"email\",\"categories\":[\"Bad Category\"]}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "categories[0]");
	http_free(r);
	r = http_json("PUT", "/v1/auth/notifications/preferences", jwt, "{\"enabled\":true}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "channel");
	http_free(r);

	r = http_req("DELETE", "/v1/auth/notifications/preferences/push", jwt, NULL, NULL, 0, NULL);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "deleted")));
	http_free(r);
	r = http_req("DELETE", "/v1/auth/notifications/preferences/push", jwt, NULL, NULL, 0, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = http_req("DELETE", "/v1/auth/notifications/preferences/fax", jwt, NULL, NULL, 0, NULL);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "channel");
	http_free(r);
	r = http_get("/v1/auth/notifications/preferences", jwt);
	ck_assert(cJSON_IsFalse(item(find_by(resp_data(r), "channel", "push"), "enabled")));
	http_free(r);
	/* A token of a user that does not exist gets 404, not a half write. */
	char *ghost = user_jwt(t.id, "usr_ghost");
	r = http_json("PUT", "/v1/auth/notifications/preferences", ghost, "{\"channel\":\"sms\",\"enabled\":true}");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(ghost);
	free(uid);
	free(jwt);
	tenant_drop(&t);
}
END_TEST

/* Preferences decide the channels: email and SMS copies of a notification
 * land in the file drivers' directories; a number that is not E.164 gets
 * no SMS. */
START_TEST(identity_notification_copies_follow_channel_preferences)
{
	struct tenant t;
	tenant_make(&t);
	char *addr = uniq("pref"), *email = strf("%s@example.com", addr);
	char *phone = strf("+1415%07d", (int)(getpid() % 10000000));
	char *uid = user_make(t.id, email, phone), *jwt = user_jwt(t.id, uid);
	char *bad_phone_user = user_make(t.id, NULL, "0415 555 0100");
	http_resp *r = http_json("PUT", "/v1/auth/notifications/preferences", jwt,
				 "{\"channel\":\"email\",\"enabled\":true,\"categories\":[\"account\"]}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_json("PUT", "/v1/auth/notifications/preferences", jwt, "{\"channel\":\"sms\",\"enabled\":true}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *rid = role_make(t.key, "{\"name\":\"pilot\"}");
	role_assign(t.key, uid, rid);
	role_assign(t.key, bad_phone_user, rid);

	char *maildir = strf("%s/mail", stack_dir()), *smsdir = strf("%s/sms", stack_dir());
	char *path = file_with(maildir, email, 20000);
	ck_assert_msg(path != NULL, "no email for %s in %s", email, maildir);
	cJSON *m = mail_parse(path);
	ck_assert_str_eq(json_str(m, "subject"), "You now have the role pilot");
	ck_assert_ptr_nonnull(strstr(json_str(m, "to"), email));
	ck_assert_ptr_nonnull(strstr(json_str(m, "text"), "pilot"));
	cJSON_Delete(m);
	free(path);
	char *sms = file_with(smsdir, phone, 20000);
	ck_assert_msg(sms != NULL, "no SMS for %s in %s", phone, smsdir);
	FILE *f = fopen(sms, "r");
	char buf[4096];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cJSON *sj = cJSON_Parse(buf);
	ck_assert_str_eq(json_str(sj, "to"), phone);
	ck_assert_ptr_nonnull(strstr(json_str(sj, "body"), "pilot"));
	cJSON_Delete(sj);
	free(sms);
	wait_for_job_kind_done(t.id, "sms.send");
	char *sql = strf("SELECT COUNT(*) FROM jobs WHERE tenant_id='%s' AND kind='sms.send'", t.id);
	char *count = control_sql(sql);
	ck_assert_str_eq(count, "1");   /* none for the number that is not E.164 */
	free(sql);
	free(count);
	free(maildir);
	free(smsdir);
	free(rid);
	free(addr);
	free(email);
	free(phone);
	free(uid);
	free(jwt);
	free(bad_phone_user);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ email */

START_TEST(identity_email_send_validates_input_and_scope)
{
	struct tenant t;
	tenant_make(&t);
	static const struct bad_body cases[] = {
		{ "{\"to\":\"not-an-address\",\"subject\":\"s\",\"text\":\"t\"}", "to" },
		{ "{\"to\":[\"a@example.com\",\"b@\"],\"subject\":\"s\",\"text\":\"t\"}", "to[1]" },
		{ "{\"to\":[],\"subject\":\"s\",\"text\":\"t\"}", "to" },
		{ "{\"to\":\"a@example.com\",\"subject\":\"s\"}", "text" },
		{ "{\"to\":\"a@example.com\",\"subject\":\"a\\r\\nBcc: x@evil.test\",\"text\":\"t\"}", "subject" },
		{ "{\"to\":\"a@example.com\",\"subject\":\"s\",\"text\":\"t\",\"from\":\"ceo@bank.example\"}", "from" },
		{ "{\"to\":\"a@example.com\",\"subject\":\"s\",\"text\":\"t\",\"reply_to\":\"x y@z\"}", "reply_to" },
		{ "{\"subject\":\"s\",\"text\":\"t\"}", "to" },
		{ "{\"to\":\"a@example.com\",\"subject\":\"s\",\"text\":\"t\",\"cc\":\"b@example.com\"}", "cc" },
	};
	assert_bad_bodies("POST", "/v1/email/send", t.key, cases, sizeof(cases) / sizeof(cases[0]));
	char *sql = strf("SELECT COUNT(*) FROM jobs WHERE tenant_id='%s' AND kind='email.send'", t.id);
	char *count = control_sql(sql);
	ck_assert_str_eq(count, "0");
	char *writer = key_new(t.key, "{\"scopes\":[\"read\",\"write\"]}", NULL);
	http_resp *r = http_json("POST", "/v1/email/send", writer,
				 "{\"to\":\"a@example.com\",\"subject\":\"s\",\"text\":\"t\"}");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	free(writer);
	free(sql);
	free(count);
	tenant_drop(&t);
}
END_TEST

START_TEST(identity_email_file_driver_writes_an_rfc5322_eml)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = http_json("POST", "/v1/auth-config", t.key,
				 "{\"branding\":{\"sender_name\":\"Acme Café\"}}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *to = uniq("eml");
	char *body = strf("{\"to\":\"%s@example.com\",\"subject\":\"Héllo ✓ from Acme\","
			  "\"text\":\"Line one\\n.hidden dot line\\nhttps://example.com/a?b=c&d=e\","
			  "\"html\":\"<p>Hello <b>there</b></p>\",\"reply_to\":\"help@example.com\"}", to);
	r = http_json("POST", "/v1/email/send", t.key, body);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "sent")));
	const char *mid = json_str(resp_data(r), "message_id");
	ck_assert(mid && mid[0] == '<' && strchr(mid, '@'));
	char *name = strndup(mid + 1, strcspn(mid + 1, "@"));
	char *path = strf("%s/mail/%s.eml", stack_dir(), name);
	struct stat st;
	for (int i = 0; i < 200 && stat(path, &st) != 0; i++)
		sleep_ms(100);
	ck_assert_msg(stat(path, &st) == 0, "%s was not written", path);
	cJSON *m = mail_parse(path);
	ck_assert_str_eq(json_str(m, "subject"), "Héllo ✓ from Acme");
	ck_assert(cJSON_IsTrue(item(m, "raw_subject_ascii")));   /* RFC 2047 on the wire */
	ck_assert(cJSON_IsTrue(item(m, "crlf")));
	ck_assert(cJSON_IsTrue(item(m, "date_ok")));
	ck_assert_int_eq(item(m, "defects")->valueint, 0);
	ck_assert_str_eq(json_str(m, "message_id"), mid);
	ck_assert_str_eq(json_str(m, "mime_version"), "1.0");
	ck_assert_str_eq(json_str(m, "content_type"), "multipart/alternative");
	ck_assert_ptr_nonnull(strstr(json_str(m, "from"), "Acme Café"));
	ck_assert_ptr_nonnull(strstr(json_str(m, "to"), to));
	ck_assert_str_eq(json_str(m, "reply_to"), "help@example.com");
	ck_assert_ptr_nonnull(strstr(json_str(m, "text"), ".hidden dot line"));
	ck_assert_ptr_nonnull(strstr(json_str(m, "text"), "https://example.com/a?b=c&d=e"));
	ck_assert_ptr_nonnull(strstr(json_str(m, "html"), "<b>there</b>"));
	cJSON_Delete(m);
	wait_for_job_kind_done(t.id, "email.send");
	http_free(r);
	free(name);
	free(path);
	free(body);
	free(to);
	tenant_drop(&t);
}
END_TEST

/* --- a real SMTP server ---------------------------------------------------- */

/* The test's runner is pointed at aiosmtpd on loopback (TESSERA_SMTP_URL). */
START_TEST(identity_email_is_delivered_through_a_real_smtp_server)
{
	struct tenant t;
	tenant_make(&t);
	struct smtp_sink sink;
	smtp_sink_start(&sink);
	const char *env[] = { sink.env, "TESSERA_SMTP_FROM=mailer@tessera.test", NULL };
	struct runner_swap sw;
	jobs_runner_swap(&sw, env);

	char *to = uniq("smtp");
	char *body = strf("{\"to\":[\"%s@example.com\",\"second@example.com\"],\"subject\":\"Über SMTP\","
			  "\"text\":\"Hello through SMTP\\n.leading dot\",\"html\":\"<p>Hello <i>SMTP</i></p>\"}", to);
	http_resp *r = http_json("POST", "/v1/email/send", t.key, body);
	assert_envelope(r, 200, NULL);
	char *mid = strdup(json_str(resp_data(r), "message_id"));
	http_free(r);
	char *path = file_with(sink.newdir, to, 30000);
	jobs_runner_restore(&sw);
	ck_assert_msg(path != NULL, "the SMTP sink received nothing (see %s)", sw.log);
	cJSON *m = mail_parse(path);
	ck_assert_str_eq(json_str(m, "subject"), "Über SMTP");
	ck_assert_str_eq(json_str(m, "message_id"), mid);
	ck_assert_ptr_nonnull(strstr(json_str(m, "to"), "second@example.com"));
	/* The server's smtp_from (TESSERA_SMTP_FROM) is the sender address. */
	ck_assert_ptr_nonnull(strstr(json_str(m, "from"), "mailer@tessera.test"));
	ck_assert_ptr_nonnull(strstr(json_str(m, "text"), "\n.leading dot"));
	ck_assert_ptr_nonnull(strstr(json_str(m, "html"), "<i>SMTP</i>"));
	ck_assert(cJSON_IsTrue(item(m, "date_ok")));
	cJSON_Delete(m);
	char *sql = strf("SELECT status FROM jobs WHERE tenant_id='%s' AND kind='email.send'", t.id);
	char *status = control_sql(sql);
	ck_assert_str_eq(status, "done");
	smtp_sink_stop(&sink);
	free(sw.log);
	free(sql);
	free(status);
	free(path);
	free(mid);
	free(body);
	free(to);
	tenant_drop(&t);
}
END_TEST


/* SMS through a Twilio-compatible HTTP endpoint (a small Python server):
 * form fields To, From, Body with basic auth of the account SID and token;
 * the first attempt gets a 500 and the job is retried. */
START_TEST(identity_sms_goes_to_the_http_provider_and_is_retried)
{
	struct tenant t;
	tenant_make(&t);
	int port = free_port();
	char *dir = strf("%s/tmp/sms-%d", stack_dir(), port);
	char *log = strf("%s/log/identity-sms.out", stack_dir());
	char *portarg = strf("%d", port), *script = strf("%s/tests/integration/sms_sink.py",
							  env_or("TESSERA_TEST_REPO", "."));
	const char *argv[] = { "/usr/bin/python3", script, portarg, dir, NULL };
	pid_t sink = proc_spawn(NULL, argv, log);
	for (int i = 0; i < 100 && !port_open(port); i++)
		sleep_ms(100);
	ck_assert_msg(port_open(port), "sms_sink did not start (see %s)", log);
	char *url = strf("TESSERA_SMS_URL=http://127.0.0.1:%d/2010-04-01/Accounts/AC123/Messages.json", port);
	const char *env[] = { url, "TESSERA_SMS_ACCOUNT_SID=AC123", "TESSERA_SMS_AUTH_TOKEN=tok456",
			      "TESSERA_SMS_FROM=+15550001111", NULL };
	struct runner_swap sw;
	jobs_runner_swap(&sw, env);

	char *phone = strf("+4420%08d", (int)(getpid() % 100000000));
	char *uid = user_make(t.id, NULL, phone), *jwt = user_jwt(t.id, uid);
	http_resp *r = http_json("PUT", "/v1/auth/notifications/preferences", jwt,
				 "{\"channel\":\"sms\",\"enabled\":true,\"categories\":[\"account\"]}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *rid = role_make(t.key, "{\"name\":\"texted\"}");
	role_assign(t.key, uid, rid);
	char *second = strf("%s/2.json", dir);
	char *path = file_with(dir, "\"n\": 2", 30000);
	jobs_runner_restore(&sw);
	ck_assert_msg(path != NULL, "the SMS provider got no retry (see %s)", sw.log);
	FILE *f = fopen(second, "r");
	ck_assert_ptr_nonnull(f);
	char buf[8192];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	cJSON *rec = cJSON_Parse(buf);
	ck_assert_str_eq(json_str(rec, "path"), "/2010-04-01/Accounts/AC123/Messages.json");
	ck_assert_str_eq(json_str(item(rec, "form"), "To"), phone);
	ck_assert_str_eq(json_str(item(rec, "form"), "From"), "+15550001111");
	ck_assert_ptr_nonnull(strstr(json_str(item(rec, "form"), "Body"), "texted"));
	ck_assert_str_eq(json_str(rec, "authorization"), "Basic QUMxMjM6dG9rNDU2");   /* AC123:tok456 */
	ck_assert_ptr_nonnull(strstr(json_str(rec, "content_type"), "application/x-www-form-urlencoded"));
	cJSON_Delete(rec);
	char *sql = strf("SELECT CONCAT(status, ' ', attempts) FROM jobs WHERE tenant_id='%s' AND kind='sms.send'", t.id);
	char *status = control_sql(sql);
	ck_assert_str_eq(status, "done 2");
	proc_stop(sink);
	free(sql);
	free(status);
	free(path);
	free(second);
	free(rid);
	free(uid);
	free(jwt);
	free(phone);
	free(sw.log);
	free(url);
	free(script);
	free(portarg);
	free(log);
	free(dir);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ audit retention */

START_TEST(identity_cleanup_prunes_audit_logs_events_and_deliveries_past_the_retention)
{
	struct tenant t, keep;
	tenant_make(&t);
	tenant_make(&keep);
	http_resp *r = http_json("PATCH", "/v1/governance", t.key, "{\"audit_retention_days\":5}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	const struct tenant *ts[] = { &t, &keep };
	for (int i = 0; i < 2; i++) {
		char *sql = strf("INSERT INTO audit_logs (id, tenant_id, actor_type, action, resource_type, created_at) "
				 "VALUES ('aud_old%d%d', '%s', 'system', 'test.old', 'test', UTC_TIMESTAMP(3) - INTERVAL 10 DAY),"
				 "('aud_new%d%d', '%s', 'system', 'test.new', 'test', UTC_TIMESTAMP(3) - INTERVAL 1 DAY)",
				 (int)getpid(), i, ts[i]->id, (int)getpid(), i, ts[i]->id);
		free(control_sql(sql));
		free(sql);
		/* custom events follow the same retention; delivery records 30 days */
		sql = strf("SELECT db_name FROM tenants WHERE id='%s'", ts[i]->id);
		char *dbn = control_sql(sql);
		free(sql);
		sql = strf("INSERT INTO %s._events (id, event_type, data, actor_type, created_at) VALUES "
			   "('cev_old', 'test.old', '{}', 'api_key', UTC_TIMESTAMP(3) - INTERVAL 10 DAY),"
			   "('cev_new', 'test.new', '{}', 'api_key', UTC_TIMESTAMP(3) - INTERVAL 1 DAY)", dbn);
		free(control_sql(sql));
		free(sql);
		tenant_table_make(dbn, "_webhook_deliveries");
		sql = strf("INSERT INTO %s._webhook_deliveries (id, webhook_id, event_id, event_type, \\`trigger\\`, "
			   "attempt, status, duration_ms, payload, created_at) VALUES "
			   "('whd_old', 'wh_x', 'evt_x', 'test.old', 'event', 1, 'succeeded', 1, '{}', "
			   "UTC_TIMESTAMP(3) - INTERVAL 40 DAY), ('whd_new', 'wh_x', 'evt_x', 'test.new', 'event', 1, "
			   "'succeeded', 1, '{}', UTC_TIMESTAMP(3) - INTERVAL 10 DAY)", dbn);
		free(control_sql(sql));
		free(sql);
		free(dbn);
	}
	int rc;
	char *out = run_cmd(&rc, "%s jobs enqueue --kind system.cleanup --config %s 2>&1", bin(), conf_path());
	ck_assert_msg(rc == 0, "enqueue failed: %s", out);
	out[strcspn(out, "\n")] = '\0';
	char *sql = strf("SELECT status FROM jobs WHERE id='%s'", out);
	char *status = NULL;
	for (int i = 0; i < 300; i++) {
		free(status);
		status = control_sql(sql);
		if (!strcmp(status, "done"))
			break;
		sleep_ms(100);
	}
	ck_assert_str_eq(status, "done");
	free(sql);
	sql = strf("SELECT GROUP_CONCAT(action ORDER BY action) FROM audit_logs WHERE tenant_id='%s' "
		   "AND action LIKE 'test.%%'", t.id);
	char *left = control_sql(sql);
	ck_assert_str_eq(left, "test.new");      /* 5 days: the 10-day-old entry is gone */
	free(sql);
	free(left);
	sql = strf("SELECT GROUP_CONCAT(action ORDER BY action) FROM audit_logs WHERE tenant_id='%s' "
		   "AND action LIKE 'test.%%'", keep.id);
	left = control_sql(sql);
	ck_assert_str_eq(left, "test.new,test.old");   /* default 90 days keeps both */
	free(sql);
	free(left);
	/* custom events: 5 days drops the old one, 90 keeps both; delivery
	 * records: 30 days for every tenant */
	for (int i = 0; i < 2; i++) {
		sql = strf("SELECT db_name FROM tenants WHERE id='%s'", ts[i]->id);
		char *dbn = control_sql(sql);
		free(sql);
		sql = strf("SELECT GROUP_CONCAT(event_type ORDER BY event_type) FROM %s._events", dbn);
		left = control_sql(sql);
		ck_assert_str_eq(left, i == 0 ? "test.new" : "test.new,test.old");
		free(sql);
		free(left);
		sql = strf("SELECT GROUP_CONCAT(event_type ORDER BY event_type) FROM %s._webhook_deliveries", dbn);
		left = control_sql(sql);
		ck_assert_str_eq(left, "test.new");
		free(sql);
		free(left);
		free(dbn);
	}
	free(status);
	free(out);
	tenant_drop(&t);
	tenant_drop(&keep);
}
END_TEST

Suite *suite_identity(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_new_slow(s, "identity");
	tcase_add_test(tc, identity_auth_config_has_defaults_and_merges_partial_updates);
	tcase_add_test(tc, identity_auth_config_rejects_bad_fields_and_changes_nothing);
	tcase_add_test(tc, identity_governance_updates_and_shares_the_password_minimum);
	tcase_add_test(tc, identity_governance_ip_allowlist_refuses_keys_and_users_from_outside);
	tcase_add_test(tc, identity_roles_crud_validates_and_answers_404_across_tenants);
	tcase_add_test(tc, identity_roles_inherit_from_parents_and_refuse_cycles);
	tcase_add_test(tc, identity_roles_assign_list_remove_and_secure_delete);
	tcase_add_test(tc, identity_role_permissions_gate_end_users_once_roles_exist);
	tcase_add_test(tc, identity_notifications_list_count_and_mark_read);
	tcase_add_test(tc, identity_notification_preferences_default_update_and_delete);
	tcase_add_test(tc, identity_notification_copies_follow_channel_preferences);
	tcase_add_test(tc, identity_email_send_validates_input_and_scope);
	tcase_add_test(tc, identity_email_file_driver_writes_an_rfc5322_eml);
	tcase_add_test(tc, identity_email_is_delivered_through_a_real_smtp_server);
	tcase_add_test(tc, identity_sms_goes_to_the_http_provider_and_is_retried);
	tcase_add_test(tc, identity_cleanup_prunes_audit_logs_events_and_deliveries_past_the_retention);
	return s;
}
