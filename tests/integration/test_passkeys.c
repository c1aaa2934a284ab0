/*
 * test_passkeys.c - passkeys (handlers/passkeys.c) with a real browser:
 * Debian's Chromium, headless, with a virtual WebAuthn authenticator
 * (webauthn_browser.py drives it over the DevTools protocol) registering
 * and signing in from a page on http://localhost, against the real stack.
 *
 * Proves: registration (ES256 and Ed25519 keys, packed and none
 * attestation), usernameless and email-scoped sign-in opening a full
 * session (tokens, session_id, user.signed_in, audit), single-use
 * challenges, a wrong origin refused on both ceremonies, a counter that
 * goes backwards refused and audited as a possible clone, the user's own
 * list (no key material) and delete (not the last passkey of a
 * password-less user), and the scope and tenant rules.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "peers.h"

#define PW "correct horse battery staple"

/* --- the browser ------------------------------------------------------------ */

struct browser {
	pid_t pid;
	FILE *to, *from;
	char *good, *evil;   /* the page's two origins */
};

static void browser_start(struct browser *b)
{
	int in[2], out[2];
	ck_assert(pipe(in) == 0 && pipe(out) == 0);
	char *script = strf("%s/tests/integration/webauthn_browser.py", env_or("TESSERA_TEST_REPO", "."));
	b->pid = fork();
	ck_assert(b->pid >= 0);
	if (b->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", script, (char *)NULL);
		_exit(127);
	}
	free(script);
	close(in[0]);
	close(out[1]);
	b->to = fdopen(in[1], "w");
	b->from = fdopen(out[0], "r");
	char line[4096];
	ck_assert_msg(fgets(line, sizeof(line), b->from) != NULL,
		      "the browser (chromium via webauthn_browser.py) did not start");
	cJSON *j = cJSON_Parse(line);
	ck_assert_msg(cJSON_IsTrue(item(j, "ready")), "browser: %s", line);
	b->good = strdup(json_str(j, "good"));
	b->evil = strdup(json_str(j, "evil"));
	cJSON_Delete(j);
}

static void browser_stop(struct browser *b)
{
	fclose(b->to);
	fclose(b->from);
	int st;
	for (int i = 0; i < 100 && waitpid(b->pid, &st, WNOHANG) == 0; i++)
		sleep_ms(100);
	kill(b->pid, SIGKILL);
	waitpid(b->pid, &st, 0);
	free(b->good);
	free(b->evil);
}

/* Sends one command (a cJSON object, consumed); the answer (caller frees). */
static cJSON *browser_do(struct browser *b, cJSON *cmd)
{
	char *text = cJSON_PrintUnformatted(cmd);
	cJSON_Delete(cmd);
	fprintf(b->to, "%s\n", text);
	fflush(b->to);
	free(text);
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	ck_assert(buf != NULL);
	while (fgets(buf + len, (int)(cap - len), b->from)) {
		len += strlen(buf + len);
		if (len && buf[len - 1] == '\n')
			break;
		buf = realloc(buf, cap *= 2);
	}
	cJSON *j = cJSON_Parse(buf);
	ck_assert_msg(j != NULL, "browser said: %.300s", buf);
	free(buf);
	return j;
}

/* navigator.credentials.create/get with the options of a begin reply;
 * algs (JSON text or NULL) narrows pubKeyCredParams.  Returns the
 * credential as JSON text (malloc'd), asserting the browser made one. */
static char *browser_ceremony(struct browser *b, const char *op, const http_resp *begin, const char *algs)
{
	cJSON *cmd = cJSON_CreateObject();
	cJSON_AddStringToObject(cmd, "op", op);
	cJSON_AddItemToObject(cmd, "options", cJSON_Duplicate(item(resp_data(begin), "options"), true));
	if (algs)
		cJSON_AddItemToObject(cmd, "algs", cJSON_Parse(algs));
	cJSON *res = browser_do(b, cmd);
	ck_assert_msg(cJSON_IsTrue(item(res, "ok")), "browser %s failed: %s", op, json_str(res, "error"));
	char *cred = cJSON_PrintUnformatted(item(res, "credential"));
	cJSON_Delete(res);
	return cred;
}

static void browser_origin(struct browser *b, const char *name)
{
	cJSON *cmd = cJSON_CreateObject();
	cJSON_AddStringToObject(cmd, "op", "origin");
	cJSON_AddStringToObject(cmd, "name", name);
	cJSON *res = browser_do(b, cmd);
	ck_assert(cJSON_IsTrue(item(res, "ok")));
	cJSON_Delete(res);
}

/* --- the stack side ------------------------------------------------------------ */

static void fresh_client(void)
{
	char *ip = loopback_addr_random();
	http_source_addr(ip);
	free(ip);
}

/* A tenant whose relying party is localhost, used from the browser's
 * good origin. */
static void tenant_for(struct tenant *t, const struct browser *b)
{
	fresh_client();
	tenant_make(t);
	char *body = strf("{\"passkeys\":{\"rp_id\":\"localhost\",\"rp_name\":\"Tessera test\","
			  "\"origins\":[\"%s\"]}}", b->good);
	http_resp *r = call("POST", t->key, body, "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	assert_json_eq(item(resp_data(r), "passkeys"), "rp_id", "\"localhost\"");
	http_free(r);
	free(body);
}

/* Signs a new user up with a password; returns the access token and
 * *uid (both malloc'd). */
static char *user_new(const struct tenant *t, char **uid)
{
	static int n;
	char *body = strf("{\"email\":\"pk%d.%d.%ld@example.com\",\"password\":\"%s\"}", getpid(), n++,
			  (long)time(NULL), PW);
	http_resp *r = call("POST", t->key, body, "/v1/auth/signup");
	assert_envelope(r, 201, NULL);
	char *tok = strdup(json_str(resp_data(r), "access_token"));
	*uid = strdup(json_str(item(resp_data(r), "user"), "id"));
	http_free(r);
	free(body);
	return tok;
}

/* register/complete with credential (JSON text); the response. */
static http_resp *register_complete(const char *tok, const char *cred, const char *name)
{
	char *body = strf("{\"credential\":%s,\"friendly_name\":\"%s\"}", cred, name);
	http_resp *r = call("POST", tok, body, "/v1/auth/passkeys/register/complete");
	free(body);
	return r;
}

/* Registers a passkey for the user of tok from the browser; its id
 * (malloc'd) and *cred_id (malloc'd, may be NULL). */
static char *passkey_register(struct browser *b, const char *tok, const char *algs, char **cred_id)
{
	http_resp *begin = call("POST", tok, NULL, "/v1/auth/passkeys/register/begin");
	assert_envelope(begin, 200, NULL);
	char *cred = browser_ceremony(b, "create", begin, algs);
	http_resp *r = register_complete(tok, cred, "Test key");
	assert_envelope(r, 200, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	if (cred_id)
		*cred_id = strdup(json_str(resp_data(r), "credential_id"));
	http_free(r);
	http_free(begin);
	free(cred);
	return id;
}

static http_resp *auth_begin(const char *key, const char *email)
{
	char *body = email ? strf("{\"email\":\"%s\"}", email) : strf("{}");
	http_resp *r = call("POST", key, body, "/v1/auth/passkeys/authenticate/begin");
	free(body);
	assert_envelope(r, 200, NULL);
	return r;
}

/* A sign-in from the browser: the authenticate/complete response. */
static http_resp *passkey_signin(struct browser *b, const char *key, char **cred_out)
{
	http_resp *begin = auth_begin(key, NULL);
	char *cred = browser_ceremony(b, "get", begin, NULL);
	char *body = strf("{\"credential\":%s}", cred);
	http_resp *r = call("POST", key, body, "/v1/auth/passkeys/authenticate/complete");
	free(body);
	http_free(begin);
	if (cred_out)
		*cred_out = cred;
	else
		free(cred);
	return r;
}

static char *tenant_sql(const char *tenant_id, const char *fmt, const char *arg)
{
	char *q = strf("SELECT db_name FROM tenants WHERE id='%s'", tenant_id);
	char *db = control_sql(q);
	char *sql = strf(fmt, db, arg);
	char *out = control_sql(sql);
	free(q);
	free(db);
	free(sql);
	return out;
}

/* Asserts the tenant's audit log has action on resource id. */
static void assert_audited(const char *key, const char *action, const char *id)
{
	struct audit_page ap;
	audit_get(&ap, key, "?limit=100");
	ck_assert_msg(audit_find(ap.logs, action, id) != NULL, "no %s of %s in the audit log", action, id);
	http_free(ap.r);
}

/* --- tests ------------------------------------------------------------------------ */

START_TEST(passkey_registers_and_signs_in_through_a_real_browser)
{
	struct browser b;
	struct tenant t;
	char *uid;
	browser_start(&b);
	tenant_for(&t, &b);
	char *tok = user_new(&t, &uid);

	http_resp *begin = call("POST", tok, NULL, "/v1/auth/passkeys/register/begin");
	assert_envelope(begin, 200, NULL);
	const cJSON *o = item(resp_data(begin), "options");
	assert_json_eq(item(o, "rp"), "id", "\"localhost\"");
	assert_json_eq(item(o, "rp"), "name", "\"Tessera test\"");
	ck_assert_str_ne(json_str(item(o, "user"), "id"), uid);
	ck_assert_int_eq(strlen(json_str(o, "challenge")), 43);   /* 32 bytes */
	ck_assert_int_eq(cJSON_GetArraySize(item(o, "pubKeyCredParams")), 3);
	assert_json_eq(cJSON_GetArrayItem(item(o, "pubKeyCredParams"), 0), "alg", "-7");
	assert_json_eq(cJSON_GetArrayItem(item(o, "pubKeyCredParams"), 1), "alg", "-8");
	assert_json_eq(cJSON_GetArrayItem(item(o, "pubKeyCredParams"), 2), "alg", "-257");
	assert_json_eq(item(o, "authenticatorSelection"), "residentKey", "\"preferred\"");
	ck_assert_int_eq(cJSON_GetArraySize(item(o, "excludeCredentials")), 0);

	char *cred = browser_ceremony(&b, "create", begin, NULL);
	http_resp *r = register_complete(tok, cred, "Chromium virtual key");
	assert_envelope(r, 200, NULL);
	const cJSON *pk = resp_data(r);
	char *pk_id = strdup(json_str(pk, "id"));
	ck_assert_str_eq(json_str(pk, "user_id"), uid);
	ck_assert_str_eq(json_str(pk, "friendly_name"), "Chromium virtual key");
	ck_assert_ptr_null(item(pk, "public_key"));
	ck_assert_int_eq(strncmp(pk_id, "pk_", 3), 0);
	assert_rfc3339(pk, "created_at");
	/* the same attestation again: its challenge is spent */
	http_resp *again = register_complete(tok, cred, "again");
	assert_fail_field(again, 400, "VALIDATION_ERROR", "credential");
	http_free(again);

	http_resp *list = call("GET", tok, NULL, "/v1/auth/passkeys");
	assert_envelope(list, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(list)), 1);
	ck_assert_ptr_nonnull(find_by(resp_data(list), "id", pk_id));
	ck_assert_ptr_null(strstr(list->body, "public_key"));
	http_free(list);
	/* registering again excludes the first passkey */
	http_resp *begin2 = call("POST", tok, NULL, "/v1/auth/passkeys/register/begin");
	ck_assert_int_eq(cJSON_GetArraySize(item(item(resp_data(begin2), "options"), "excludeCredentials")), 1);
	ck_assert_str_eq(json_str(item(item(resp_data(begin2), "options"), "user"), "id"),
			 json_str(item(o, "user"), "id"));
	http_free(begin2);

	/* usernameless sign-in with the tenant's key: a full session */
	char *assertion;
	http_resp *s = passkey_signin(&b, t.key, &assertion);
	assert_envelope(s, 200, NULL);
	const cJSON *d = resp_data(s);
	ck_assert_str_eq(json_str(item(d, "user"), "id"), uid);
	ck_assert_str_eq(json_str(d, "token_type"), "bearer");
	ck_assert_str_eq(json_str(d, "aal"), "aal2");
	ck_assert_int_eq(strncmp(json_str(d, "refresh_token"), "rt_", 3), 0);
	ck_assert_int_eq(strncmp(json_str(d, "session_id"), "sess_", 5), 0);
	http_resp *me = call("GET", json_str(d, "access_token"), NULL, "/v1/auth/user");
	assert_envelope(me, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(me), "id"), uid);
	http_free(me);
	/* the same assertion replayed: its challenge was used */
	char *body = strf("{\"credential\":%s}", assertion);
	http_resp *replay = call("POST", t.key, body, "/v1/auth/passkeys/authenticate/complete");
	assert_envelope(replay, 401, "UNAUTHORIZED");
	http_free(replay);
	free(body);

	/* last_used_at and the counter moved; events and audit written */
	list = call("GET", tok, NULL, "/v1/auth/passkeys");
	assert_rfc3339(cJSON_GetArrayItem(resp_data(list), 0), "last_used_at");
	http_free(list);
	char *count = tenant_sql(t.id, "SELECT sign_count FROM %s._passkeys WHERE id='%s'", pk_id);
	ck_assert_msg(atoll(count) >= 1, "sign_count %s", count);
	free(count);
	char *events = events_of(uid);
	ck_assert_msg(strstr(events, "user.signed_in") != NULL, "events: %s", events);
	free(events);
	assert_audited(t.key, "passkey.registered", pk_id);

	http_free(s);
	http_free(r);
	http_free(begin);
	free(assertion);
	free(cred);
	free(pk_id);
	free(tok);
	free(uid);
	browser_stop(&b);
	tenant_drop(&t);
}
END_TEST

START_TEST(ed25519_passkey_and_email_scoped_sign_in)
{
	struct browser b;
	struct tenant t;
	char *uid, *cred_id;
	browser_start(&b);
	tenant_for(&t, &b);
	char *tok = user_new(&t, &uid);
	char *pk_id = passkey_register(&b, tok, "[-8]", &cred_id);
	char *alg = tenant_sql(t.id, "SELECT alg FROM %s._passkeys WHERE id='%s'", pk_id);
	ck_assert_str_eq(alg, "-8");
	free(alg);

	http_resp *me = call("GET", tok, NULL, "/v1/auth/user");
	const char *email = json_str(resp_data(me), "email");
	http_resp *begin = auth_begin(t.key, email);
	const cJSON *allow = item(item(resp_data(begin), "options"), "allowCredentials");
	ck_assert_int_eq(cJSON_GetArraySize(allow), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(allow, 0), "id"), cred_id);
	/* an unknown email gets one made-up credential, the same each time */
	http_resp *n1 = auth_begin(t.key, "nobody@example.com"), *n2 = auth_begin(t.key, "nobody@example.com");
	const cJSON *a1 = item(item(resp_data(n1), "options"), "allowCredentials");
	const cJSON *a2 = item(item(resp_data(n2), "options"), "allowCredentials");
	ck_assert_int_eq(cJSON_GetArraySize(a1), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(a1, 0), "id"), json_str(cJSON_GetArrayItem(a2, 0), "id"));
	ck_assert_str_ne(json_str(cJSON_GetArrayItem(a1, 0), "id"), cred_id);
	ck_assert_str_ne(json_str(item(resp_data(n1), "options"), "challenge"),
			 json_str(item(resp_data(n2), "options"), "challenge"));

	/* signing in with the email-scoped options and the Ed25519 key */
	char *cred = browser_ceremony(&b, "get", begin, NULL);
	char *body = strf("{\"credential\":%s}", cred);
	http_resp *s = call("POST", t.key, body, "/v1/auth/passkeys/authenticate/complete");
	assert_envelope(s, 200, NULL);
	ck_assert_str_eq(json_str(item(resp_data(s), "user"), "id"), uid);

	http_free(s);
	free(body);
	free(cred);
	http_free(n1);
	http_free(n2);
	http_free(begin);
	http_free(me);
	free(pk_id);
	free(cred_id);
	free(tok);
	free(uid);
	browser_stop(&b);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_counter_that_goes_backwards_is_refused_as_a_clone)
{
	struct browser b;
	struct tenant t;
	char *uid, *cred_id;
	browser_start(&b);
	tenant_for(&t, &b);
	char *tok = user_new(&t, &uid);
	char *pk_id = passkey_register(&b, tok, NULL, &cred_id);
	http_resp *s = passkey_signin(&b, t.key, NULL);
	assert_envelope(s, 200, NULL);
	http_free(s);
	s = passkey_signin(&b, t.key, NULL);
	assert_envelope(s, 200, NULL);
	http_free(s);
	char *before = tenant_sql(t.id, "SELECT sign_count FROM %s._passkeys WHERE id='%s'", pk_id);

	/* a copy of the authenticator that is behind */
	cJSON *cmd = cJSON_CreateObject();
	cJSON_AddStringToObject(cmd, "op", "set_count");
	cJSON_AddStringToObject(cmd, "credentialId", cred_id);
	cJSON_AddNumberToObject(cmd, "signCount", 0);
	cJSON *res = browser_do(&b, cmd);
	ck_assert_msg(cJSON_IsTrue(item(res, "ok")), "set_count: %s", json_str(res, "error"));
	cJSON_Delete(res);
	s = passkey_signin(&b, t.key, NULL);
	assert_envelope(s, 401, "UNAUTHORIZED");
	ck_assert_ptr_nonnull(strstr(error_message(s), "counter"));
	ck_assert_ptr_null(item(resp_data(s), "access_token"));
	http_free(s);
	char *after = tenant_sql(t.id, "SELECT sign_count FROM %s._passkeys WHERE id='%s'", pk_id);
	ck_assert_str_eq(before, after);
	assert_audited(t.key, "passkey.clone_suspected", pk_id);

	free(before);
	free(after);
	free(pk_id);
	free(cred_id);
	free(tok);
	free(uid);
	browser_stop(&b);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_wrong_origin_is_refused_on_both_ceremonies)
{
	struct browser b;
	struct tenant t;
	char *uid;
	browser_start(&b);
	tenant_for(&t, &b);
	char *tok = user_new(&t, &uid);
	char *pk_id = passkey_register(&b, tok, NULL, NULL);
	browser_origin(&b, "evil");

	http_resp *s = passkey_signin(&b, t.key, NULL);
	assert_envelope(s, 401, "UNAUTHORIZED");
	ck_assert_ptr_nonnull(strstr(error_message(s), "origin"));
	http_free(s);
	assert_audited(t.key, "passkey.signin_refused", "unknown");

	/* another user registering from the wrong origin */
	char *uid2, *tok2 = user_new(&t, &uid2);
	http_resp *begin = call("POST", tok2, NULL, "/v1/auth/passkeys/register/begin");
	char *cred = browser_ceremony(&b, "create", begin, NULL);
	http_resp *r = register_complete(tok2, cred, "evil");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "credential");
	ck_assert_ptr_nonnull(strstr(error_message(r), b.evil));
	http_free(r);
	http_resp *list = call("GET", tok2, NULL, "/v1/auth/passkeys");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(list)), 0);
	http_free(list);
	free(tok2);
	free(uid2);

	http_free(begin);
	free(cred);
	free(pk_id);
	free(tok);
	free(uid);
	browser_stop(&b);
	tenant_drop(&t);
}
END_TEST

START_TEST(delete_is_the_users_own_and_keeps_a_way_in)
{
	struct browser b;
	struct tenant t, other;
	char *uid, *uid2;
	browser_start(&b);
	tenant_for(&t, &b);
	tenant_make(&other);
	char *tok = user_new(&t, &uid);
	char *tok2 = user_new(&t, &uid2);
	char *pk_id = passkey_register(&b, tok, NULL, NULL);

	/* another user of the tenant, an API key, another tenant: not theirs */
	http_resp *r = call("DELETE", tok2, NULL, "/v1/auth/passkeys/%s", pk_id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", other.key, NULL, "/v1/auth/passkeys/%s", pk_id);
	ck_assert_int_ge(r->status, 403);
	ck_assert_int_le(r->status, 404);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/auth/passkeys");
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = call("GET", tok2, NULL, "/v1/auth/passkeys");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);

	/* a user with a password may delete their only passkey */
	r = call("DELETE", tok, NULL, "/v1/auth/passkeys/%s", pk_id);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "deleted")));
	http_free(r);
	r = call("GET", tok, NULL, "/v1/auth/passkeys");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);

	/* an anonymous user (no password) may not delete their last one */
	r = call("POST", t.key, "{}", "/v1/auth/anonymous");
	assert_envelope(r, 200, NULL);
	char *anon = strdup(json_str(resp_data(r), "access_token"));
	http_free(r);
	char *apk = passkey_register(&b, anon, NULL, NULL);
	r = call("DELETE", anon, NULL, "/v1/auth/passkeys/%s", apk);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = call("GET", anon, NULL, "/v1/auth/passkeys");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);

	free(anon);
	free(apk);
	free(pk_id);
	free(tok);
	free(tok2);
	free(uid);
	free(uid2);
	browser_stop(&b);
	tenant_drop(&other);
	tenant_drop(&t);
}
END_TEST

/* No browser needed: what is refused before any cryptography. */
START_TEST(malformed_credentials_and_wrong_callers_are_4xx)
{
	struct tenant t;
	char *uid;
	fresh_client();
	tenant_make(&t);
	char *tok = user_new(&t, &uid);
	http_resp *r = call("POST", t.key, NULL, "/v1/auth/passkeys/register/begin");
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = call("POST", tok, "{\"credential\":\"x\"}", "/v1/auth/passkeys/register/complete");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "credential");
	http_free(r);
	r = call("POST", tok, "{\"credential\":{\"id\":\"AAAA\",\"response\":{\"clientDataJSON\":\"!!\","
		 "\"attestationObject\":\"AAAA\"}}}", "/v1/auth/passkeys/register/complete");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "credential.response.clientDataJSON");
	http_free(r);
	/* client data of the wrong type */
	r = call("POST", t.key, "{\"credential\":{\"id\":\"AAAA\",\"response\":{\"clientDataJSON\":"
		 "\"eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIiwiY2hhbGxlbmdlIjoiQUFBQSIsIm9yaWdpbiI6Imh0dHA6Ly94In0\","
		 "\"authenticatorData\":\"AAAA\",\"signature\":\"AAAA\"}}}",
		 "/v1/auth/passkeys/authenticate/complete");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "credential.response.clientDataJSON");
	http_free(r);
	/* a well-formed assertion for a challenge never issued */
	r = call("POST", t.key, "{\"credential\":{\"id\":\"AAAA\",\"response\":{\"clientDataJSON\":"
		 "\"eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiQUFBQSIsIm9yaWdpbiI6Imh0dHA6Ly94In0\","
		 "\"authenticatorData\":\"AAAA\",\"signature\":\"AAAA\"}}}",
		 "/v1/auth/passkeys/authenticate/complete");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = call("POST", t.key, "{\"email\":\"not-an-email\"}", "/v1/auth/passkeys/authenticate/begin");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "email");
	http_free(r);
	/* disabled: 403 */
	r = call("POST", t.key, "{\"passkeys\":{\"enabled\":false}}", "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", t.key, "{}", "/v1/auth/passkeys/authenticate/begin");
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	free(tok);
	free(uid);
	tenant_drop(&t);
}
END_TEST

Suite *suite_passkeys(void)
{
	Suite *s = suite_create("passkeys");
	TCase *tc = tcase_create("passkeys");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, passkey_registers_and_signs_in_through_a_real_browser);
	tcase_add_test(tc, ed25519_passkey_and_email_scoped_sign_in);
	tcase_add_test(tc, a_counter_that_goes_backwards_is_refused_as_a_clone);
	tcase_add_test(tc, a_wrong_origin_is_refused_on_both_ceremonies);
	tcase_add_test(tc, delete_is_the_users_own_and_keeps_a_way_in);
	tcase_add_test(tc, malformed_credentials_and_wrong_callers_are_4xx);
	suite_add_tcase(s, tc);
	return s;
}
