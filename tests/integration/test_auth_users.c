/*
 * test_auth_users.c - end-user auth through the real stack (suite
 * "endusers"): sign-up and log-in, refresh rotation and reuse detection,
 * log-out and session revocation on the next request, banned users,
 * anonymous users upgraded, email verification, password reset, magic
 * links and SMS codes, TOTP MFA with codes from oathtool (an independent
 * implementation), lockout and recovery codes, GDPR export, the portal
 * routes, rate limits and the users admin API.
 *
 * Mail and SMS delivery belong to another part of the system; the flows
 * store only hashes of the tokens they send.  To exercise the verify
 * endpoints the tests insert a token row of their own (its SHA-256 computed
 * by MariaDB) through the control DB client, the way an email would carry
 * it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"

#define PW "Correct-Horse-9"

/* Every test runs from its own client address, so that the per-address
 * limits of one test never meet another's. */
static void fresh_client(void)
{
	char *ip = loopback_addr_random();
	http_source_addr(ip);
	free(ip);
}

static char *email_new(const char *tag)
{
	static int n;
	return strf("%s%d.%ld.%d@example.com", tag, getpid(), (long)time(NULL), n++);
}

/* A JWT's payload as JSON (caller frees). */
static cJSON *jwt_claims(const char *tok)
{
	const char *a = strchr(tok, '.'), *b = a ? strchr(a + 1, '.') : NULL;
	ck_assert(a && b);
	unsigned char buf[4096];
	size_t len = 0;
	ck_assert_int_eq(sodium_base642bin(buf, sizeof(buf) - 1, a + 1, (size_t)(b - a - 1), NULL, &len,
					   NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	buf[len] = '\0';
	cJSON *j = cJSON_Parse((char *)buf);
	ck_assert(j != NULL);
	return j;
}

static char *dstr(const http_resp *r, const char *name)
{
	const char *s = json_str(resp_data(r), name);
	ck_assert_msg(s != NULL, "no %s in %s", name, r->body);
	return strdup(s);
}

/* Signs up email; returns the response (201 asserted). */
static http_resp *signup(const char *key, const char *email)
{
	char *body = strf("{\"email\":\"%s\",\"password\":\"%s\",\"user_metadata\":{\"name\":\"Jane\"}}",
			  email, PW);
	http_resp *r = call("POST", key, body, "/v1/auth/signup");
	free(body);
	assert_envelope(r, 201, NULL);
	return r;
}

static http_resp *login(const char *key, const char *email, const char *pw)
{
	char *body = strf("{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
	http_resp *r = call("POST", key, body, "/v1/auth/login");
	free(body);
	return r;
}

static http_resp *refresh(const char *key, const char *rt)
{
	char *body = strf("{\"refresh_token\":\"%s\"}", rt);
	http_resp *r = call("POST", key, body, "/v1/auth/refresh");
	free(body);
	return r;
}

static long status_of(http_resp *r)
{
	long s = r->status;
	http_free(r);
	return s;
}

/* The user id of an auth response's data.user. */
static char *user_id_of(const http_resp *r)
{
	return strdup(json_str(item(resp_data(r), "user"), "id"));
}

static char *tenant_db(const char *tenant_id)
{
	char *sql = strf("SELECT db_name FROM tenants WHERE id='%s'", tenant_id);
	char *db = control_sql(sql);
	free(sql);
	return db;
}

/* Inserts a live one-time token of kind for user (as an email carries it). */
static void token_put(const char *tenant_id, const char *kind, const char *user_id,
		      const char *target, const char *token, int ttl)
{
	char *db = tenant_db(tenant_id);
	char *sql = strf("INSERT INTO %s._auth_tokens (id, kind, user_id, target, token_hash, created_at, "
			 "expires_at) VALUES ('otk_t%ld%d', '%s', '%s', '%s', SHA2('%s', 256), UTC_TIMESTAMP(3), "
			 "UTC_TIMESTAMP(3) + INTERVAL %d SECOND)", db, (long)time(NULL), rand(), kind, user_id,
			 target, token, ttl);
	free(control_sql(sql));
	free(sql);
	free(db);
}

static long long count_sql(const char *fmt, const char *tenant_id, const char *arg)
{
	char *db = tenant_db(tenant_id);
	char *sql = strf(fmt, db, arg);
	char *out = control_sql(sql);
	long long n = strtoll(out, NULL, 10);
	free(out);
	free(sql);
	free(db);
	return n;
}

/* A TOTP code from oathtool for secret, offset seconds from now. */
static char *totp_code(const char *secret, int offset)
{
	int rc;
	char *out = run_cmd(&rc, "oathtool --totp -b --now \"$(date -u -d '@%ld' '+%%Y-%%m-%%d %%H:%%M:%%S UTC')\" %s",
			    (long)time(NULL) + offset, secret);
	ck_assert_msg(rc == 0, "oathtool failed: %s", out);
	out[strcspn(out, "\r\n")] = '\0';
	ck_assert_int_eq(strlen(out), 6);
	return out;
}

/* ---------------------------------------------------------------- tests */

START_TEST(signup_login_tokens_and_bad_input)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("jane");
	http_resp *r = signup(t.key, email);
	const cJSON *d = resp_data(r);
	ck_assert_str_eq(json_str(d, "token_type"), "bearer");
	ck_assert_int_eq(item(d, "expires_in")->valueint, 3600);
	ck_assert(strncmp(json_str(d, "refresh_token"), "rt_", 3) == 0);
	ck_assert_str_eq(json_str(item(d, "user"), "email"), email);
	ck_assert_str_eq(json_str(item(d, "user"), "role"), "authenticated");
	ck_assert(item(d, "user") && !item(item(d, "user"), "password_hash"));
	cJSON *c = jwt_claims(json_str(d, "access_token"));
	ck_assert_str_eq(json_str(c, "sub"), json_str(item(d, "user"), "id"));
	ck_assert_str_eq(json_str(c, "tenant_id"), t.id);
	ck_assert_str_eq(json_str(c, "iss"), "tessera");
	ck_assert_str_eq(json_str(c, "aud"), "authenticated");
	ck_assert_str_eq(json_str(c, "aal"), "aal1");
	ck_assert_str_eq(json_str(c, "session_id"), json_str(d, "session_id"));
	ck_assert_str_eq(cJSON_GetArrayItem(item(c, "amr"), 0)->valuestring, "password");
	ck_assert_int_eq(item(c, "exp")->valueint - item(c, "iat")->valueint, 3600);
	cJSON_Delete(c);
	char *access = dstr(r, "access_token");
	http_free(r);

	/* The access token works as a bearer for the current user. */
	r = call("GET", access, NULL, "/v1/auth/user");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "email"), email);
	ck_assert_str_eq(json_str(item(resp_data(r), "user_metadata"), "name"), "Jane");
	ck_assert(!cJSON_IsTrue(item(resp_data(r), "email_verified")));
	http_free(r);
	/* The sign-up stored a confirmation token, hashed. */
	ck_assert_int_eq(count_sql("SELECT COUNT(*) FROM %s._auth_tokens WHERE kind='signup' AND target='%s' "
				   "AND LENGTH(token_hash)=64", t.id, email), 1);

	/* Same email again: 409, and nothing is half-written. */
	char *body = strf("{\"email\":\"%s\",\"password\":\"%s\"}", email, PW);
	r = call("POST", t.key, body, "/v1/auth/signup");
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	free(body);
	char *longpw = malloc(1030);
	memset(longpw, 'a', 1025);
	longpw[1025] = '\0';
	char *e2 = email_new("long");
	body = strf("{\"email\":\"%s\",\"password\":\"%s\"}", e2, longpw);
	r = call("POST", t.key, body, "/v1/auth/signup");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "password");
	http_free(r);
	free(body);
	body = strf("{\"email\":\"%s\",\"password\":\"short\"}", e2);
	r = call("POST", t.key, body, "/v1/auth/signup");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "password");
	/* the message names the minimum */
	ck_assert_msg(strstr(error_message(r), "at least 8 characters") != NULL, "%s", error_message(r));
	http_free(r);
	free(body);
	r = call("POST", t.key, "{\"email\":\"not-an-email\",\"password\":\"" PW "\"}", "/v1/auth/signup");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "email");
	http_free(r);
	r = call("POST", t.key, "{\"email\":\"x@example.com\"}", "/v1/auth/signup");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "password");
	http_free(r);
	r = login(t.key, e2, PW);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);

	/* Log-in: wrong password and unknown user look the same. */
	r = login(t.key, email, "Wrong-password-1");
	assert_envelope(r, 401, "UNAUTHORIZED");
	char *msg_wrong = strdup(error_message(r));
	http_free(r);
	r = login(t.key, "nobody@example.com", PW);
	assert_envelope(r, 401, "UNAUTHORIZED");
	ck_assert_str_eq(error_message(r), msg_wrong);
	http_free(r);
	r = login(t.key, email, PW);
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_nonnull(json_str(resp_data(r), "access_token"));
	ck_assert(is_utc_time(json_str(item(resp_data(r), "user"), "last_sign_in_at")));
	http_free(r);
	/* A key without any particular scope may call the auth flows. */
	char *readkey = key_new(t.key, "{\"scopes\":[\"read\"]}", NULL);
	r = login(readkey, email, PW);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(readkey);
	free(msg_wrong);
	free(longpw);
	free(e2);
	free(access);
	free(email);
	tenant_drop(&t);
}
END_TEST

START_TEST(refresh_rotates_and_reuse_revokes_the_session)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("rot");
	http_resp *r = signup(t.key, email);
	char *rt1 = dstr(r, "refresh_token");
	http_free(r);
	r = refresh(t.key, rt1);
	assert_envelope(r, 200, NULL);
	char *rt2 = dstr(r, "refresh_token"), *a2 = dstr(r, "access_token");
	ck_assert_str_ne(rt1, rt2);
	http_free(r);
	ck_assert_int_eq(status_of(call("GET", a2, NULL, "/v1/auth/user")), 200);
	/* rt1 again: reuse.  The whole session goes, rt2 and a2 with it. */
	r = refresh(t.key, rt1);
	assert_envelope(r, 401, "UNAUTHORIZED");
	ck_assert_ptr_nonnull(strstr(error_message(r), "already used"));
	http_free(r);
	r = refresh(t.key, rt2);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = call("GET", a2, NULL, "/v1/auth/user");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = refresh(t.key, "rt_nonsense");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = call("POST", t.key, "{}", "/v1/auth/refresh");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "refresh_token");
	http_free(r);
	/* Another tenant's key cannot use this tenant's refresh token. */
	struct tenant o;
	tenant_make(&o);
	r = login(t.key, email, PW);
	char *rt3 = dstr(r, "refresh_token");
	http_free(r);
	r = refresh(o.key, rt3);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = login(o.key, email, PW);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = refresh(t.key, rt3);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(rt1);
	free(rt2);
	free(rt3);
	free(a2);
	free(email);
	tenant_drop(&o);
	tenant_drop(&t);
}
END_TEST

START_TEST(logout_and_session_revocation_apply_on_the_next_request)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("sess");
	http_free(signup(t.key, email));
	http_resp *r = login(t.key, email, PW);
	char *a1 = dstr(r, "access_token"), *s1 = dstr(r, "session_id");
	http_free(r);
	r = login(t.key, email, PW);
	char *a2 = dstr(r, "access_token"), *rt2 = dstr(r, "refresh_token");
	http_free(r);
	r = login(t.key, email, PW);
	char *a3 = dstr(r, "access_token");
	http_free(r);

	r = call("GET", a2, NULL, "/v1/auth/sessions");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 4);
	const cJSON *mine = find_by(resp_data(r), "id", s1);
	ck_assert_ptr_nonnull(mine);
	ck_assert(cJSON_IsFalse(item(mine, "current")));
	ck_assert_ptr_nonnull(json_str(mine, "ip"));
	http_free(r);

	/* Revoke session 1 from session 2: a1 fails at once. */
	r = call("DELETE", a2, NULL, "/v1/auth/sessions/%s", s1);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "revoked")));
	http_free(r);
	r = call("GET", a1, NULL, "/v1/auth/user");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	ck_assert_int_eq(status_of(call("DELETE", a2, NULL, "/v1/auth/sessions/%s", s1)), 404);
	ck_assert_int_eq(status_of(call("DELETE", a2, NULL, "/v1/auth/sessions/sess_01AAAAAAAAAAAAAAAAAAAAAAAA")), 404);

	/* Log-out of session 2: its access and refresh tokens stop. */
	r = call("POST", a2, "{}", "/v1/auth/logout");
	assert_envelope(r, 200, NULL);
	http_free(r);
	ck_assert_int_eq(status_of(call("GET", a2, NULL, "/v1/auth/user")), 401);
	ck_assert_int_eq(status_of(refresh(t.key, rt2)), 401);
	ck_assert_int_eq(status_of(call("GET", a3, NULL, "/v1/auth/user")), 200);

	/* Log-out by an API key names the refresh token. */
	r = login(t.key, email, PW);
	char *rt4 = dstr(r, "refresh_token"), *a4 = dstr(r, "access_token");
	http_free(r);
	r = call("POST", t.key, "{}", "/v1/auth/logout");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "refresh_token");
	http_free(r);
	char *lb = strf("{\"refresh_token\":\"%s\"}", rt4);
	r = call("POST", t.key, lb, "/v1/auth/logout");
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(lb);
	ck_assert_int_eq(status_of(call("GET", a4, NULL, "/v1/auth/user")), 401);
	ck_assert_int_eq(status_of(call("GET", a3, NULL, "/v1/auth/user")), 200);
	free(rt4);
	free(a4);

	/* Revoke all: a3 (and the sign-up's session) end. */
	r = call("DELETE", a3, NULL, "/v1/auth/sessions");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "revoked")->valueint, 2);
	http_free(r);
	ck_assert_int_eq(status_of(call("GET", a3, NULL, "/v1/auth/user")), 401);

	/* An API key lists a user's sessions with the auth scope only. */
	r = login(t.key, email, PW);
	char *uid = user_id_of(r);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/auth/sessions?user_id=%s", uid);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	char *readkey = key_new(t.key, "{\"scopes\":[\"read\"]}", NULL);
	r = call("GET", readkey, NULL, "/v1/auth/sessions?user_id=%s", uid);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/auth/sessions");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "user_id");
	http_free(r);
	free(readkey);
	free(uid);
	free(a1);
	free(a2);
	free(a3);
	free(s1);
	free(rt2);
	free(email);
	tenant_drop(&t);
}
END_TEST

START_TEST(banned_user_cannot_log_in_or_refresh)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("ban");
	http_resp *r = signup(t.key, email);
	char *uid = user_id_of(r), *access = dstr(r, "access_token"), *rt = dstr(r, "refresh_token");
	http_free(r);
	r = login(t.key, email, "Wrong-password-1");
	char *msg = strdup(error_message(r));
	http_free(r);
	r = call("PATCH", t.key, "{\"banned\":true,\"ban_reason\":\"spam\"}", "/v1/users/%s", uid);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "banned")));
	ck_assert_str_eq(json_str(resp_data(r), "ban_reason"), "spam");
	assert_rfc3339(resp_data(r), "banned_at");
	http_free(r);
	/* The ban ends the sessions at once. */
	ck_assert_int_eq(status_of(call("GET", access, NULL, "/v1/auth/user")), 401);
	r = login(t.key, email, PW);
	assert_envelope(r, 401, "UNAUTHORIZED");
	ck_assert_str_eq(error_message(r), msg);
	http_free(r);
	ck_assert_int_eq(status_of(refresh(t.key, rt)), 401);
	r = call("PATCH", t.key, "{\"banned\":false}", "/v1/users/%s", uid);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsFalse(item(resp_data(r), "banned")));
	ck_assert(cJSON_IsNull(item(resp_data(r), "ban_reason")));
	http_free(r);
	ck_assert_int_eq(status_of(login(t.key, email, PW)), 200);
	free(msg);
	free(uid);
	free(access);
	free(rt);
	free(email);
	tenant_drop(&t);
}
END_TEST

START_TEST(anonymous_user_is_upgraded_to_an_email_account)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	http_resp *r = call("POST", t.key, NULL, "/v1/auth/anonymous");
	assert_envelope(r, 200, NULL);
	char *uid = user_id_of(r), *access = dstr(r, "access_token");
	ck_assert(cJSON_IsTrue(item(item(resp_data(r), "user"), "is_anonymous")));
	ck_assert(cJSON_IsNull(item(item(resp_data(r), "user"), "email")));
	cJSON *c = jwt_claims(access);
	ck_assert(cJSON_IsTrue(item(c, "is_anonymous")));
	cJSON_Delete(c);
	http_free(r);
	char *email = email_new("anon");
	char *body = strf("{\"email\":\"%s\",\"password\":\"%s\",\"user_metadata\":{\"plan\":\"x\"}}", email, PW);
	r = call("PATCH", access, body, "/v1/auth/user");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), uid);
	ck_assert_str_eq(json_str(resp_data(r), "email"), email);
	ck_assert(cJSON_IsFalse(item(resp_data(r), "is_anonymous")));
	ck_assert_str_eq(json_str(item(resp_data(r), "user_metadata"), "plan"), "x");
	http_free(r);
	free(body);
	/* An email_change confirmation went out for the new address. */
	ck_assert_int_eq(count_sql("SELECT COUNT(*) FROM %s._auth_tokens WHERE kind='email_change' "
				   "AND target='%s'", t.id, email), 1);
	r = login(t.key, email, PW);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(item(resp_data(r), "user"), "id"), uid);
	http_free(r);
	/* The confirmation link verifies the address. */
	token_put(t.id, "email_change", uid, email, "tok-change-1", 600);
	r = call("POST", t.key, "{\"token\":\"tok-change-1\",\"type\":\"email_change\"}", "/v1/auth/verify");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("GET", access, NULL, "/v1/auth/user");
	ck_assert(cJSON_IsTrue(item(resp_data(r), "email_verified")));
	http_free(r);
	/* Update errors: bad phone, API key caller. */
	r = call("PATCH", access, "{\"phone\":\"555\"}", "/v1/auth/user");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "phone");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/auth/user");
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	free(uid);
	free(access);
	free(email);
	tenant_drop(&t);
}
END_TEST

START_TEST(email_verification_tokens_are_single_use)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("ver");
	http_resp *r = signup(t.key, email);
	char *uid = user_id_of(r), *access = dstr(r, "access_token");
	http_free(r);
	token_put(t.id, "signup", uid, email, "tok-verify-post", 600);
	token_put(t.id, "signup", uid, email, "tok-verify-get", 600);
	token_put(t.id, "signup", uid, email, "tok-verify-old", -10);
	r = call("POST", t.key, "{\"token\":\"tok-verify-post\",\"type\":\"signup\"}", "/v1/auth/verify");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "verified")));
	http_free(r);
	r = call("GET", access, NULL, "/v1/auth/user");
	ck_assert(cJSON_IsTrue(item(resp_data(r), "email_verified")));
	http_free(r);
	r = call("POST", t.key, "{\"token\":\"tok-verify-post\"}", "/v1/auth/verify");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/auth/verify?token=tok-verify-get&type=signup");
	assert_envelope(r, 200, NULL);
	http_free(r);
	ck_assert_int_eq(status_of(call("GET", t.key, NULL, "/v1/auth/verify?token=tok-verify-old")), 401);
	r = call("GET", t.key, NULL, "/v1/auth/verify");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "token");
	http_free(r);
	r = call("POST", t.key, "{\"token\":\"x\",\"type\":\"bogus\"}", "/v1/auth/verify");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "type");
	http_free(r);
	/* Another tenant does not know the token. */
	struct tenant o;
	tenant_make(&o);
	token_put(t.id, "signup", uid, email, "tok-verify-iso", 600);
	ck_assert_int_eq(status_of(call("POST", o.key, "{\"token\":\"tok-verify-iso\"}", "/v1/auth/verify")), 401);
	tenant_drop(&o);
	free(uid);
	free(access);
	free(email);
	tenant_drop(&t);
}
END_TEST

START_TEST(password_reset_does_not_reveal_accounts_and_revokes_sessions)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("reset");
	http_resp *r = signup(t.key, email);
	char *uid = user_id_of(r), *access = dstr(r, "access_token");
	http_free(r);
	char *b1 = strf("{\"email\":\"%s\"}", email);
	http_resp *known = call("POST", t.key, b1, "/v1/auth/forgot-password");
	http_resp *unknown = call("POST", t.key, "{\"email\":\"ghost@example.com\"}", "/v1/auth/forgot-password");
	assert_envelope(known, 200, NULL);
	assert_envelope(unknown, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(known), "message"), json_str(resp_data(unknown), "message"));
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(known)), cJSON_GetArraySize(resp_data(unknown)));
	http_free(known);
	http_free(unknown);
	free(b1);
	ck_assert_int_eq(count_sql("SELECT COUNT(*) FROM %s._auth_tokens WHERE kind='recovery' AND user_id='%s'",
				   t.id, uid), 1);
	r = call("POST", t.key, "{\"email\":\"a@example.com\",\"redirect_to\":\"javascript:alert(1)\"}",
		 "/v1/auth/forgot-password");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "redirect_to");
	http_free(r);

	token_put(t.id, "recovery", uid, email, "tok-reset-1", 600);
	r = call("POST", t.key, "{\"token\":\"tok-reset-1\",\"password\":\"x\"}", "/v1/auth/reset-password");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "password");
	http_free(r);
	r = call("POST", t.key, "{\"token\":\"tok-reset-1\",\"password\":\"New-password-42\"}",
		 "/v1/auth/reset-password");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "password_reset")));
	http_free(r);
	ck_assert_int_eq(status_of(call("GET", access, NULL, "/v1/auth/user")), 401);
	ck_assert_int_eq(status_of(login(t.key, email, PW)), 401);
	ck_assert_int_eq(status_of(login(t.key, email, "New-password-42")), 200);
	r = call("POST", t.key, "{\"token\":\"tok-reset-1\",\"password\":\"Other-password-42\"}",
		 "/v1/auth/reset-password");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	/* A signup token is not a reset token. */
	token_put(t.id, "signup", uid, email, "tok-reset-kind", 600);
	ck_assert_int_eq(status_of(call("POST", t.key, "{\"token\":\"tok-reset-kind\",\"password\":\"Other-password-42\"}",
					"/v1/auth/reset-password")), 401);
	free(uid);
	free(access);
	free(email);
	tenant_drop(&t);
}
END_TEST

START_TEST(magic_link_and_sms_code_sign_in)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("magic");
	http_resp *r = signup(t.key, email);
	char *uid = user_id_of(r);
	http_free(r);
	char *b1 = strf("{\"email\":\"%s\",\"redirect_to\":\"https://app.example.com/welcome\"}", email);
	/* A redirect_to outside the tenant's allowlist is refused ... */
	r = call("POST", t.key, b1, "/v1/auth/magic-link");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "redirect_to");
	http_free(r);
	/* ... and accepted once the app's origin is allowlisted. */
	r = call("POST", t.key, "{\"redirect_urls\":[\"https://app.example.com\"]}", "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	http_free(r);
	http_resp *known = call("POST", t.key, b1, "/v1/auth/magic-link");
	http_resp *unknown = call("POST", t.key, "{\"email\":\"ghost@example.com\"}", "/v1/auth/magic-link");
	assert_envelope(known, 200, NULL);
	assert_envelope(unknown, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(known), "message"), json_str(resp_data(unknown), "message"));
	http_free(known);
	http_free(unknown);
	free(b1);
	token_put(t.id, "magic_link", uid, email, "tok-magic-1", 600);
	r = call("POST", t.key, "{\"token\":\"tok-magic-1\"}", "/v1/auth/magic-link/verify");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(item(resp_data(r), "user"), "id"), uid);
	cJSON *c = jwt_claims(json_str(resp_data(r), "access_token"));
	ck_assert_str_eq(cJSON_GetArrayItem(item(c, "amr"), 0)->valuestring, "magic_link");
	cJSON_Delete(c);
	http_free(r);
	ck_assert_int_eq(status_of(call("POST", t.key, "{\"token\":\"tok-magic-1\"}", "/v1/auth/magic-link/verify")), 401);

	/* SMS: a bad number is refused; a code signs in (and signs up). */
	r = call("POST", t.key, "{\"phone\":\"12345\"}", "/v1/auth/otp/send");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "phone");
	http_free(r);
	char phone[32];
	snprintf(phone, sizeof(phone), "+1555%07d", (int)(time(NULL) % 10000000));
	char *b2 = strf("{\"phone\":\"%s\"}", phone);
	r = call("POST", t.key, b2, "/v1/auth/otp/send");
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(b2);
	ck_assert_int_eq(count_sql("SELECT COUNT(*) FROM %s._auth_tokens WHERE kind='sms_otp' AND target='%s'",
				   t.id, phone), 1);
	/* Replace the sent code's hash with one for a known code. */
	char *db = tenant_db(t.id);
	char *sql = strf("UPDATE %s._auth_tokens SET token_hash=SHA2(CONCAT(id, ':', target, ':', '246810'), 256) "
			 "WHERE kind='sms_otp' AND target='%s'", db, phone);
	free(control_sql(sql));
	free(sql);
	free(db);
	char *bad = strf("{\"phone\":\"%s\",\"code\":\"000000\"}", phone);
	r = call("POST", t.key, bad, "/v1/auth/otp/verify");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	free(bad);
	char *good = strf("{\"phone\":\"%s\",\"code\":\"246810\"}", phone);
	r = call("POST", t.key, good, "/v1/auth/otp/verify");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(item(resp_data(r), "user"), "phone"), phone);
	ck_assert(cJSON_IsTrue(item(item(resp_data(r), "user"), "phone_verified")));
	http_free(r);
	ck_assert_int_eq(status_of(call("POST", t.key, good, "/v1/auth/otp/verify")), 401);
	free(good);
	free(uid);
	free(email);
	tenant_drop(&t);
}
END_TEST

/* Enrolls and verifies a TOTP factor for access; returns the secret and
 * fills codes (the recovery codes, cJSON owned by caller) and factor id. */
static char *mfa_setup(const char *access, cJSON **codes, char **factor)
{
	http_resp *r = call("POST", access, "{\"friendly_name\":\"Phone\"}", "/v1/auth/mfa/enroll");
	assert_envelope(r, 201, NULL);
	const cJSON *totp = item(resp_data(r), "totp");
	char *secret = strdup(json_str(totp, "secret"));
	*factor = dstr(r, "factor_id");
	ck_assert(strncmp(json_str(totp, "uri"), "otpauth://totp/", 15) == 0);
	ck_assert_ptr_nonnull(strstr(json_str(totp, "uri"), secret));
	const char *qr = json_str(totp, "qr_uri");
	ck_assert(strncmp(qr, "data:image/png;base64,", 22) == 0);
	/* An independent QR decoder (zbarimg) reads the otpauth:// URI back. */
	unsigned char *png = malloc(strlen(qr));
	size_t len = 0;
	ck_assert_int_eq(sodium_base642bin(png, strlen(qr), qr + 22, strlen(qr + 22), NULL, &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	char *path = strf("/tmp/tessera-qr-%d.png", (int)getpid());
	FILE *f = fopen(path, "wb");
	ck_assert(f && fwrite(png, 1, len, f) == len);
	fclose(f);
	free(png);
	int rc;
	char *decoded = run_cmd(&rc, "zbarimg --quiet --raw %s 2>/dev/null", path);
	ck_assert_msg(rc == 0, "zbarimg: %s", decoded);
	decoded[strcspn(decoded, "\n")] = '\0';
	ck_assert_str_eq(decoded, json_str(totp, "uri"));
	free(decoded);
	unlink(path);
	free(path);
	http_free(r);
	r = call("POST", access, "{\"factor_id\":\"mfa_nope\",\"code\":\"123456\"}", "/v1/auth/mfa/verify");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	char *code = totp_code(secret, 0);
	char *body = strf("{\"factor_id\":\"%s\",\"code\":\"%s\"}", *factor, code);
	r = call("POST", access, body, "/v1/auth/mfa/verify");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "verified")));
	*codes = cJSON_Duplicate(item(resp_data(r), "recovery_codes"), true);
	ck_assert_int_eq(cJSON_GetArraySize(*codes), 10);
	http_free(r);
	free(body);
	free(code);
	return secret;
}

/* Logs in with a password and expects the MFA step; returns the ticket. */
static char *mfa_ticket(const char *key, const char *email, const char *factor)
{
	http_resp *r = login(key, email, PW);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "mfa_required")));
	ck_assert_ptr_null(item(resp_data(r), "access_token"));
	ck_assert_ptr_null(item(resp_data(r), "refresh_token"));
	ck_assert_ptr_nonnull(find_by(item(resp_data(r), "factors"), "id", factor));
	char *ticket = dstr(r, "mfa_ticket");
	http_free(r);
	return ticket;
}

START_TEST(mfa_enroll_verify_login_complete_recover_unenroll)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("mfa");
	http_resp *r = signup(t.key, email);
	char *access = dstr(r, "access_token"), *uid = user_id_of(r);
	http_free(r);
	cJSON *codes;
	char *factor;
	char *secret = mfa_setup(access, &codes, &factor);
	r = call("GET", access, NULL, "/v1/auth/mfa/factors");
	assert_envelope(r, 200, NULL);
	const cJSON *f = find_by(resp_data(r), "id", factor);
	ck_assert_str_eq(json_str(f, "status"), "verified");
	ck_assert_str_eq(json_str(f, "friendly_name"), "Phone");
	assert_rfc3339(f, "verified_at");
	ck_assert_ptr_null(item(f, "secret"));
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/users/%s/mfa", uid);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	/* Recovery codes are stored hashed. */
	ck_assert_int_eq(count_sql("SELECT COUNT(*) FROM %s._mfa_recovery_codes WHERE user_id='%s' "
				   "AND LENGTH(code_hash)=64", t.id, uid), 10);

	/* Log-in now stops at the second factor; the next step's code (the
	 * verify used this one) completes it with aal2. */
	char *ticket = mfa_ticket(t.key, email, factor);
	char *next = totp_code(secret, 30);
	char *body = strf("{\"mfa_ticket\":\"%s\",\"code\":\"%s\"}", ticket, next);
	r = call("POST", NULL, body, "/v1/auth/mfa/complete");
	assert_envelope(r, 200, NULL);
	char *access2 = dstr(r, "access_token");
	cJSON *c = jwt_claims(access2);
	ck_assert_str_eq(json_str(c, "aal"), "aal2");
	cJSON_Delete(c);
	http_free(r);
	/* The ticket was spent, and the code cannot be replayed. */
	ck_assert_int_eq(status_of(call("POST", NULL, body, "/v1/auth/mfa/complete")), 401);
	free(body);
	free(ticket);
	ticket = mfa_ticket(t.key, email, factor);
	body = strf("{\"mfa_ticket\":\"%s\",\"code\":\"%s\"}", ticket, next);
	r = call("POST", NULL, body, "/v1/auth/mfa/complete");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	free(body);

	/* A recovery code works once. */
	const char *rc0 = cJSON_GetArrayItem(codes, 0)->valuestring;
	body = strf("{\"mfa_ticket\":\"%s\",\"recovery_code\":\"%s\"}", ticket, rc0);
	r = call("POST", NULL, body, "/v1/auth/mfa/recover");
	assert_envelope(r, 200, NULL);
	c = jwt_claims(json_str(resp_data(r), "access_token"));
	ck_assert_str_eq(json_str(c, "aal"), "aal2");
	cJSON_Delete(c);
	http_free(r);
	free(body);
	free(ticket);
	ticket = mfa_ticket(t.key, email, factor);
	body = strf("{\"mfa_ticket\":\"%s\",\"recovery_code\":\"%s\"}", ticket, rc0);
	ck_assert_int_eq(status_of(call("POST", NULL, body, "/v1/auth/mfa/recover")), 401);
	free(body);
	r = call("POST", NULL, "{\"mfa_ticket\":\"mfat_bogus\",\"code\":\"123456\"}", "/v1/auth/mfa/complete");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);

	/* Removing the factor needs aal2. */
	r = call("DELETE", access, NULL, "/v1/auth/mfa/%s", factor);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = call("DELETE", access2, NULL, "/v1/auth/mfa/%s", factor);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "unenrolled")));
	http_free(r);
	r = login(t.key, email, PW);
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_nonnull(json_str(resp_data(r), "access_token"));
	http_free(r);
	cJSON_Delete(codes);
	free(ticket);
	free(next);
	free(secret);
	free(factor);
	free(access);
	free(access2);
	free(uid);
	free(email);
	tenant_drop(&t);
}
END_TEST

START_TEST(mfa_five_failures_lock_the_user)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("lock");
	http_resp *r = signup(t.key, email);
	char *access = dstr(r, "access_token"), *uid = user_id_of(r);
	http_free(r);
	cJSON *codes;
	char *factor;
	char *secret = mfa_setup(access, &codes, &factor);
	/* Challenge: a code for a factor, by the user or by a key naming them;
	 * a success clears the failure count. */
	char *cb = strf("{\"factor_id\":\"%s\",\"code\":\"000000\"}", factor);
	r = call("POST", access, cb, "/v1/auth/mfa/challenge");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = call("POST", t.key, cb, "/v1/auth/mfa/challenge");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "user_id");
	http_free(r);
	free(cb);
	char *ccode = totp_code(secret, 30);
	cb = strf("{\"factor_id\":\"%s\",\"code\":\"%s\",\"user_id\":\"%s\"}", factor, ccode, uid);
	r = call("POST", t.key, cb, "/v1/auth/mfa/challenge");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "verified")));
	ck_assert_str_eq(json_str(resp_data(r), "user_id"), uid);
	http_free(r);
	free(cb);
	free(ccode);
	char *ticket = mfa_ticket(t.key, email, factor);
	char *body = strf("{\"mfa_ticket\":\"%s\",\"code\":\"000000\"}", ticket);
	for (int i = 0; i < 4; i++) {
		r = call("POST", NULL, body, "/v1/auth/mfa/complete");
		/* 000000 could be the real code once in a million. */
		assert_envelope(r, 401, "UNAUTHORIZED");
		http_free(r);
	}
	r = call("POST", NULL, body, "/v1/auth/mfa/complete");
	assert_envelope(r, 429, "MFA_LOCKED");
	char *ra = resp_header(r, "Retry-After");
	ck_assert_ptr_nonnull(ra);
	ck_assert(atoi(ra) > 800 && atoi(ra) <= 900);
	free(ra);
	http_free(r);
	free(body);
	/* Locked whatever ticket, factor or recovery code is tried. */
	free(ticket);
	ticket = mfa_ticket(t.key, email, factor);
	char *code = totp_code(secret, 30);
	body = strf("{\"mfa_ticket\":\"%s\",\"code\":\"%s\",\"factor_id\":\"%s\"}", ticket, code, factor);
	r = call("POST", NULL, body, "/v1/auth/mfa/complete");
	assert_envelope(r, 429, "MFA_LOCKED");
	http_free(r);
	free(body);
	body = strf("{\"mfa_ticket\":\"%s\",\"recovery_code\":\"%s\"}", ticket,
		    cJSON_GetArrayItem(codes, 1)->valuestring);
	r = call("POST", NULL, body, "/v1/auth/mfa/recover");
	assert_envelope(r, 429, "MFA_LOCKED");
	http_free(r);
	free(body);
	cJSON_Delete(codes);
	free(uid);
	free(code);
	free(ticket);
	free(secret);
	free(factor);
	free(access);
	free(email);
	tenant_drop(&t);
}
END_TEST

START_TEST(gdpr_export_once_an_hour)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("gdpr");
	http_resp *r = signup(t.key, email);
	char *access = dstr(r, "access_token"), *uid = user_id_of(r);
	http_free(r);
	r = call("GET", access, NULL, "/v1/auth/me/export");
	assert_envelope(r, 200, NULL);
	const cJSON *meta = item(resp_data(r), "_meta");
	ck_assert_str_eq(json_str(meta, "user_id"), uid);
	ck_assert_str_eq(json_str(meta, "tenant_id"), t.id);
	ck_assert_str_eq(json_str(meta, "export_type"), "user_data_export");
	assert_rfc3339(meta, "exported_at");
	ck_assert_str_eq(json_str(item(resp_data(r), "user"), "email"), email);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "sessions")), 1);
	ck_assert(cJSON_IsArray(item(resp_data(r), "mfa_factors")));
	ck_assert(cJSON_IsArray(item(resp_data(r), "comments")));
	ck_assert(cJSON_IsObject(item(resp_data(r), "objects")));
	http_free(r);
	r = call("GET", access, NULL, "/v1/auth/me/export");
	assert_envelope(r, 429, "RATE_LIMITED");
	char *ra = resp_header(r, "Retry-After");
	ck_assert(ra && atoi(ra) > 3500);
	free(ra);
	http_free(r);
	ck_assert_int_eq(status_of(call("GET", t.key, NULL, "/v1/auth/me/export")), 403);
	free(access);
	free(uid);
	free(email);
	tenant_drop(&t);
}
END_TEST

START_TEST(portal_flows_name_their_tenant)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("portal");
	char *body = strf("{\"tenant_id\":\"%s\",\"email\":\"%s\",\"password\":\"%s\"}", t.id, email, PW);
	http_resp *r = call("POST", NULL, body, "/v1/auth/portal-signup");
	assert_envelope(r, 201, NULL);
	char *uid = user_id_of(r);
	http_free(r);
	r = call("POST", NULL, body, "/v1/auth/portal-login");
	assert_envelope(r, 200, NULL);
	cJSON *c = jwt_claims(json_str(resp_data(r), "access_token"));
	ck_assert_str_eq(json_str(c, "tenant_id"), t.id);
	cJSON_Delete(c);
	char *access = dstr(r, "access_token");
	http_free(r);
	ck_assert_int_eq(status_of(call("GET", access, NULL, "/v1/auth/user")), 200);
	free(body);

	/* The tenant is required, must exist and be active. */
	body = strf("{\"email\":\"%s\",\"password\":\"%s\"}", email, PW);
	r = call("POST", NULL, body, "/v1/auth/portal-login");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "tenant_id");
	http_free(r);
	free(body);
	body = strf("{\"tenant_id\":\"tn_01AAAAAAAAAAAAAAAAAAAAAAAA\",\"email\":\"%s\",\"password\":\"%s\"}", email, PW);
	r = call("POST", NULL, body, "/v1/auth/portal-login");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(body);
	r = call("POST", NULL, "{\"tenant_id\":\"nonsense\",\"email\":\"a@example.com\"}", "/v1/auth/portal-magic-link");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* Forgot-password: the same answer for a stranger. */
	body = strf("{\"tenant_id\":\"%s\",\"email\":\"%s\"}", t.id, email);
	char *body2 = strf("{\"tenant_id\":\"%s\",\"email\":\"ghost@example.com\"}", t.id);
	http_resp *k = call("POST", NULL, body, "/v1/auth/portal-forgot-password");
	http_resp *u = call("POST", NULL, body2, "/v1/auth/portal-forgot-password");
	assert_envelope(k, 200, NULL);
	assert_envelope(u, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(k), "message"), json_str(resp_data(u), "message"));
	http_free(k);
	http_free(u);
	k = call("POST", NULL, body, "/v1/auth/portal-magic-link");
	u = call("POST", NULL, body2, "/v1/auth/portal-magic-link");
	assert_envelope(k, 200, NULL);
	assert_envelope(u, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(k), "message"), json_str(resp_data(u), "message"));
	http_free(k);
	http_free(u);
	free(body2);

	/* Tokens through the portal: verify email, reset, magic link. */
	token_put(t.id, "signup", uid, email, "tok-portal-verify", 600);
	token_put(t.id, "recovery", uid, email, "tok-portal-reset", 600);
	token_put(t.id, "magic_link", uid, email, "tok-portal-magic", 600);
	char *b = strf("{\"tenant_id\":\"%s\",\"token\":\"tok-portal-verify\"}", t.id);
	assert_envelope(r = call("POST", NULL, b, "/v1/auth/portal-verify-email"), 200, NULL);
	http_free(r);
	free(b);
	b = strf("{\"tenant_id\":\"%s\",\"token\":\"tok-portal-reset\",\"password\":\"Portal-pass-77\"}", t.id);
	assert_envelope(r = call("POST", NULL, b, "/v1/auth/portal-reset-password"), 200, NULL);
	http_free(r);
	free(b);
	ck_assert_int_eq(status_of(login(t.key, email, "Portal-pass-77")), 200);
	b = strf("{\"tenant_id\":\"%s\",\"token\":\"tok-portal-magic\"}", t.id);
	r = call("POST", NULL, b, "/v1/auth/portal-magic-link-verify");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(item(resp_data(r), "user"), "id"), uid);
	http_free(r);
	free(b);
	b = strf("{\"tenant_id\":\"%s\",\"phone\":\"+15550001111\"}", t.id);
	assert_envelope(r = call("POST", NULL, b, "/v1/auth/portal-otp-send"), 200, NULL);
	http_free(r);
	free(b);
	b = strf("{\"tenant_id\":\"%s\",\"phone\":\"+15550001111\",\"code\":\"000001\"}", t.id);
	assert_envelope(r = call("POST", NULL, b, "/v1/auth/portal-otp-verify"), 401, "UNAUTHORIZED");
	http_free(r);
	free(b);

	/* portal-identify finds the tenant of the email. */
	b = strf("{\"email\":\"%s\"}", email);
	r = call("POST", NULL, b, "/v1/auth/portal-identify");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "tenant_id"), t.id);
	ck_assert(cJSON_IsFalse(item(resp_data(r), "multiple_tenants")));
	ck_assert_ptr_nonnull(find_by(item(resp_data(r), "tenants"), "id", t.id));
	http_free(r);
	free(b);
	r = call("POST", NULL, "{\"email\":\"ghost-nobody@example.com\"}", "/v1/auth/portal-identify");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsNull(item(resp_data(r), "tenant_id")));
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "tenants")), 0);
	http_free(r);

	/* A suspended tenant answers 403. */
	ck_assert_int_eq(tenant_set_status(t.id, "suspend"), 0);
	body2 = strf("{\"tenant_id\":\"%s\",\"email\":\"%s\",\"password\":\"Portal-pass-77\"}", t.id, email);
	r = call("POST", NULL, body2, "/v1/auth/portal-login");
	assert_envelope(r, 403, "TENANT_SUSPENDED");
	http_free(r);
	free(body2);
	free(body);
	free(access);
	free(uid);
	free(email);
	tenant_drop(&t);
}
END_TEST

START_TEST(rate_limits_per_account_and_per_address)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("rl");
	http_free(signup(t.key, email));
	/* Per account: 10 log-ins a minute, from any address. */
	wait_for_fresh_minute();
	http_resp *r = NULL;
	for (int i = 0; i < 10; i++) {
		fresh_client();
		ck_assert_int_eq(status_of(login(t.key, email, "Wrong-password-1")), 401);
	}
	r = login(t.key, email, PW);
	assert_envelope(r, 429, "RATE_LIMITED");
	char *ra = resp_header(r, "Retry-After");
	ck_assert(ra && atoi(ra) >= 1 && atoi(ra) <= 60);
	free(ra);
	http_free(r);
	/* Per address: 5 sends to one email, then 30 from one address. */
	fresh_client();
	char *body = strf("{\"email\":\"%s\"}", email);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(status_of(call("POST", t.key, body, "/v1/auth/magic-link")), 200);
	r = call("POST", t.key, body, "/v1/auth/magic-link");
	assert_envelope(r, 429, "RATE_LIMITED");
	http_free(r);
	free(body);
	fresh_client();
	long last = 0;
	for (int i = 0; i < 31; i++) {
		char *e = strf("{\"email\":\"many%d@example.com\"}", i);
		r = call("POST", t.key, e, "/v1/auth/forgot-password");
		last = r->status;
		if (i < 30)
			assert_envelope(r, 200, NULL);
		http_free(r);
		free(e);
	}
	ck_assert_int_eq(last, 429);
	free(email);
	tenant_drop(&t);
}
END_TEST

START_TEST(users_admin_crud_scopes_and_secure_delete)
{
	fresh_client();
	struct tenant t, o;
	tenant_make(&t);
	tenant_make(&o);
	char *email = email_new("admin");
	char *body = strf("{\"email\":\"%s\",\"password\":\"%s\",\"role\":\"editor\",\"email_verified\":true,"
			  "\"user_metadata\":{\"team\":\"red\"}}", email, PW);
	http_resp *r = call("POST", t.key, body, "/v1/users");
	assert_envelope(r, 201, NULL);
	char *uid = dstr(r, "id");
	ck_assert_str_eq(json_str(resp_data(r), "role"), "editor");
	ck_assert(cJSON_IsTrue(item(resp_data(r), "email_verified")));
	http_free(r);
	r = call("POST", t.key, body, "/v1/users");
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	free(body);
	r = call("POST", t.key, "{\"email\":\"bad\"}", "/v1/users");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "email");
	http_free(r);
	r = call("POST", t.key, "{\"role\":\"x\"}", "/v1/users");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "email");
	http_free(r);
	char *e2 = email_new("other");
	char *b2 = strf("{\"email\":\"%s\"}", e2);
	http_free(call("POST", t.key, b2, "/v1/users"));
	free(b2);

	r = call("GET", t.key, NULL, "/v1/users?role=editor");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(resp_data(r), "users"), 0), "id"), uid);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/users?search=admin&limit=5");
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 1);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/users?limit=1&offset=1");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 2);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "users")), 1);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/users?limit=0");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "limit");
	http_free(r);

	r = call("PATCH", t.key, "{\"role\":\"viewer\",\"user_metadata\":{\"team\":\"blue\",\"x\":1},"
		 "\"email_verified\":false}", "/v1/users/%s", uid);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "role"), "viewer");
	ck_assert_str_eq(json_str(item(resp_data(r), "user_metadata"), "team"), "blue");
	ck_assert(cJSON_IsFalse(item(resp_data(r), "email_verified")));
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/users/%s", uid);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "email"), email);
	http_free(r);

	/* Scopes and isolation. */
	char *readkey = key_new(t.key, "{\"scopes\":[\"read\",\"write\"]}", NULL);
	r = call("GET", readkey, NULL, "/v1/users");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	char *authkey = key_new(t.key, "{\"scopes\":[\"auth\"]}", NULL);
	ck_assert_int_eq(status_of(call("GET", authkey, NULL, "/v1/users/%s", uid)), 200);
	r = login(t.key, email, PW);
	char *access = dstr(r, "access_token");
	http_free(r);
	r = call("GET", access, NULL, "/v1/users");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	ck_assert_int_eq(status_of(call("GET", o.key, NULL, "/v1/users/%s", uid)), 404);
	ck_assert_int_eq(status_of(call("PATCH", o.key, "{\"role\":\"x\"}", "/v1/users/%s", uid)), 404);
	ck_assert_int_eq(status_of(call("DELETE", o.key, NULL, "/v1/users/%s", uid)), 404);
	ck_assert_int_eq(status_of(call("GET", o.key, NULL, "/v1/users/%s/mfa", uid)), 404);

	/* The user has a session: delete asks for confirmation. */
	r = call("DELETE", t.key, NULL, "/v1/users/%s", uid);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	const cJSON *err = item(r->json, "error");
	ck_assert_ptr_nonnull(find_by(item(err, "dependencies"), "type", "sessions"));
	char *ct = strdup(json_str(err, "confirm_token"));
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/users/%s?force=true&confirm_token=%s", uid, ct);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "deleted")));
	ck_assert_str_eq(json_str(resp_data(r), "user_id"), uid);
	http_free(r);
	ck_assert_int_eq(status_of(call("GET", t.key, NULL, "/v1/users/%s", uid)), 404);
	ck_assert_int_eq(status_of(call("GET", access, NULL, "/v1/auth/user")), 401);
	ck_assert_int_eq(count_sql("SELECT COUNT(*) FROM %s._sessions WHERE user_id='%s'", t.id, uid), 0);
	char *ev = events_of(uid);
	ck_assert_ptr_nonnull(strstr(ev, "user.created"));
	ck_assert_ptr_nonnull(strstr(ev, "user.updated"));
	ck_assert_ptr_nonnull(strstr(ev, "user.deleted"));
	free(ev);
	struct audit_page ap;
	audit_get(&ap, t.key, "?resource_type=user");
	ck_assert_ptr_nonnull(audit_find(ap.logs, "user.deleted", uid));
	http_free(ap.r);
	free(ct);
	free(access);
	free(readkey);
	free(authkey);
	free(e2);
	free(uid);
	free(email);
	tenant_drop(&o);
	tenant_drop(&t);
}
END_TEST

Suite *suite_endusers(void)
{
	Suite *s = suite_create("endusers");
	TCase *tc = tcase_new_slow(s, "flows");
	tcase_add_test(tc, signup_login_tokens_and_bad_input);
	tcase_add_test(tc, refresh_rotates_and_reuse_revokes_the_session);
	tcase_add_test(tc, logout_and_session_revocation_apply_on_the_next_request);
	tcase_add_test(tc, banned_user_cannot_log_in_or_refresh);
	tcase_add_test(tc, anonymous_user_is_upgraded_to_an_email_account);
	tcase_add_test(tc, email_verification_tokens_are_single_use);
	tcase_add_test(tc, password_reset_does_not_reveal_accounts_and_revokes_sessions);
	tcase_add_test(tc, magic_link_and_sms_code_sign_in);
	tcase_add_test(tc, mfa_enroll_verify_login_complete_recover_unenroll);
	tcase_add_test(tc, mfa_five_failures_lock_the_user);
	tcase_add_test(tc, gdpr_export_once_an_hour);
	tcase_add_test(tc, portal_flows_name_their_tenant);
	tcase_add_test(tc, rate_limits_per_account_and_per_address);
	tcase_add_test(tc, users_admin_crud_scopes_and_secure_delete);
	return s;
}
