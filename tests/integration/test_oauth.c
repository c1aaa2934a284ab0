/*
 * test_oauth.c - sign-in with an OpenID provider (handlers/oauth.c)
 * against a real one: the npm package oidc-provider (oidc_provider.mjs,
 * installed by tools/npm-peer) on loopback, through the full redirect flow
 * a browser follows (the provider's cookies kept, its redirects walked).
 * The stack reaches it because the test stack allows private targets
 * (http_allow_private in its tessera.conf).
 *
 * Proves: the authorization request (PKCE S256, state, nonce, the
 * tenant's callback), a new user from a verified email, the same user for
 * the same subject, linking to an existing user by verified email (whose
 * unproven password is dropped), the session in the redirect fragment
 * (tokens that work, user.signed_in, audit), and the refusals: reused
 * state, a tampered ID token, a wrong nonce, an unverified email, an
 * unknown provider and a redirect_to off the allowlist.  Skips only when
 * the npm registry cannot be reached to install the provider.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"
#include "peers.h"
#include "signin.h"

#define APP "http://app.example.com/welcome"
#define CLIENT_SECRET "oidc-client-secret-value"

struct idp {
	pid_t pid;
	int port;
	char *issuer;
};

/* The node_modules of the peers, or NULL (the registry is unreachable). */
static char *peer_modules(void)
{
	int rc;
	char *out = run_cmd(&rc, "%s/tools/npm-peer 2>/dev/null", env_or("TESSERA_TEST_REPO", "."));
	if (rc != 0) {
		ck_assert_msg(rc == 3, "tools/npm-peer failed (%d): %s", rc, out);
		free(out);
		return NULL;
	}
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* Configures the tenant's "oidc" provider and starts the provider for
 * it; false (after saying so) when it cannot be installed. */
static bool idp_start(struct idp *p, const struct tenant *t)
{
	char *modules = peer_modules();
	if (!modules) {
		fprintf(stderr, "oauth: SKIPPED: the npm registry is unreachable, oidc-provider cannot be installed\n");
		return false;
	}
	p->port = free_port();
	p->issuer = strf("http://127.0.0.1:%d", p->port);
	char *port = strf("%d", p->port);
	char *redirect = strf("%s/v1/auth/oauth/oidc/callback?tenant_id=%s", env_or("TESSERA_TEST_URL", ""), t->id);
	char *script = strf("%s/tests/integration/oidc_provider.mjs", env_or("TESSERA_TEST_REPO", "."));
	char *log = strf("%s/log/oidc-provider.log", stack_dir());
	const char *argv[] = { "/usr/bin/node", script, modules, port, "tessera-app", CLIENT_SECRET, redirect, NULL };
	p->pid = proc_spawn(NULL, argv, log);
	for (int i = 0; i < 200 && !port_open(p->port); i++)
		sleep_ms(50);
	ck_assert_msg(port_open(p->port), "oidc-provider did not start (see %s)", log);
	free(modules);
	free(port);
	free(redirect);
	free(script);
	free(log);

	char *body = strf("{\"redirect_urls\":[\"http://app.example.com/\"],\"oauth\":{\"oidc\":{\"enabled\":true,"
			  "\"client_id\":\"tessera-app\",\"client_secret\":\"%s\",\"issuer\":\"%s\"}}}",
			  CLIENT_SECRET, p->issuer);
	http_resp *r = call("POST", t->key, body, "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	const cJSON *oidc = item(item(resp_data(r), "oauth"), "oidc");
	ck_assert(cJSON_IsTrue(item(oidc, "client_secret_set")));
	ck_assert_ptr_null(strstr(r->body, CLIENT_SECRET));
	http_free(r);
	free(body);
	return true;
}

static void idp_stop(struct idp *p)
{
	proc_stop(p->pid);
	free(p->issuer);
}

/* POST /control to the provider: the account signed in next and
 * whether to tamper with the next ID token. */
static void idp_control(const struct idp *p, const char *json)
{
	CURL *c = curl_easy_init();
	char *url = strf("%s/control", p->issuer);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	FILE *devnull = fopen("/dev/null", "w");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	long status;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	ck_assert_int_eq(status, 200);
	fclose(devnull);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
}

/* The authorization URL the stack sends the browser to. */
static char *authorize_url(const struct tenant *t)
{
	char *path = strf("/v1/auth/oauth/oidc?tenant_id=%s&redirect_to=%s", t->id, APP);
	char *loc = stack_redirect(path);
	free(path);
	return loc;
}

/* Walks the provider's redirects from url, cookies kept, as a browser
 * does, up to the stack's callback; returns the callback's path and query
 * (malloc'd). */
static char *browser_walk(const struct idp *p, const char *url)
{
	const char *base = env_or("TESSERA_TEST_URL", "");
	CURL *c = curl_easy_init();
	FILE *devnull = fopen("/dev/null", "w");
	curl_easy_setopt(c, CURLOPT_COOKIEFILE, "");
	curl_easy_setopt(c, CURLOPT_WRITEDATA, devnull);
	char *next = strdup(url), *out = NULL;
	for (int hops = 0; hops < 10 && !out; hops++) {
		curl_easy_setopt(c, CURLOPT_URL, next);
		ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
		long status;
		char *loc = NULL;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
		ck_assert_msg(status >= 300 && status < 400 && loc, "provider answered %ld at %s", status, next);
		free(next);
		next = strdup(loc);
		if (!strncmp(next, base, strlen(base)))
			out = strdup(next + strlen(base));
	}
	ck_assert_msg(out != NULL, "the provider never redirected to the stack's callback");
	free(next);
	fclose(devnull);
	curl_easy_cleanup(c);
	(void)p;
	return out;
}

/* A whole sign-in: the app URL the stack finally redirects to (malloc'd);
 * *callback (may be NULL) receives the callback path used. */
static char *oidc_sign_in(const struct idp *p, const struct tenant *t, char **callback)
{
	char *auth = authorize_url(t);
	char *cb = browser_walk(p, auth);
	char *app = stack_redirect(cb);
	if (callback)
		*callback = cb;
	else
		free(cb);
	free(auth);
	return app;
}

/* A tenant with the provider running for it; false when skipped. */
static bool setup(struct tenant *t, struct idp *p)
{
	fresh_client();
	tenant_make(t);
	if (idp_start(p, t))
		return true;
	tenant_drop(t);
	return false;
}

START_TEST(oidc_sign_in_creates_links_and_reuses_users)
{
	struct tenant t;
	struct idp p;
	if (!setup(&t, &p))
		return;
	char *email = strf("oidc%d.%ld@example.com", getpid(), (long)time(NULL));
	char *ctl = strf("{\"sub\":\"sub-a\",\"email\":\"%s\",\"email_verified\":true}", email);
	idp_control(&p, ctl);

	/* the authorization request */
	char *auth = authorize_url(&t);
	ck_assert_int_eq(strncmp(auth, p.issuer, strlen(p.issuer)), 0);
	char *method = param_of(auth, "code_challenge_method"), *challenge = param_of(auth, "code_challenge");
	char *state = param_of(auth, "state"), *nonce = param_of(auth, "nonce");
	char *redirect_uri = param_of(auth, "redirect_uri");
	ck_assert_str_eq(method, "S256");
	ck_assert_int_eq(strlen(challenge), 43);
	ck_assert_int_ge(strlen(state), 40);
	ck_assert_int_ge(strlen(nonce), 40);
	ck_assert_ptr_nonnull(strstr(redirect_uri, t.id));

	/* the callback: a new user, the session in the fragment */
	char *cb = browser_walk(&p, auth);
	char *app = stack_redirect(cb);
	ck_assert_msg(!strncmp(app, APP "#", strlen(APP) + 1), "redirected to %s", app);
	char *access = param_of(app, "access_token"), *refresh = param_of(app, "refresh_token");
	char *sid = param_of(app, "session_id");
	ck_assert_ptr_nonnull(access);
	ck_assert_int_eq(strncmp(refresh, "rt_", 3), 0);
	ck_assert_int_eq(strncmp(sid, "sess_", 5), 0);
	http_resp *me = call("GET", access, NULL, "/v1/auth/user");
	assert_envelope(me, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(me), "email"), email);
	ck_assert(cJSON_IsTrue(item(resp_data(me), "email_verified")));
	char *uid = strdup(json_str(resp_data(me), "id"));
	http_free(me);
	char *events = events_of(uid);
	ck_assert_msg(strstr(events, "user.created") && strstr(events, "user.signed_in"), "events: %s", events);
	free(events);
	struct audit_page ap;
	audit_get(&ap, t.key, "?limit=100");
	ck_assert_ptr_nonnull(audit_find(ap.logs, "oauth.signed_in", uid));
	http_free(ap.r);

	/* the state is single-use */
	http_resp *replay = http_get(cb, NULL);
	assert_fail_field(replay, 401, "UNAUTHORIZED", "state");
	http_free(replay);

	/* the same subject again: the same user */
	char *app2 = oidc_sign_in(&p, &t, NULL);
	char *access2 = param_of(app2, "access_token");
	char *uid2 = user_id_of(access2, NULL);
	ck_assert_str_eq(uid2, uid);

	/* a password user with the same (unverified) email as another subject:
	 * linked, and the password nobody proved is dropped */
	char *email3 = strf("link%d.%ld@example.com", getpid(), (long)time(NULL));
	char *body = strf("{\"email\":\"%s\",\"password\":\"correct horse battery\"}", email3);
	char *signup_uid = signup_user(&t, body);
	free(ctl);
	ctl = strf("{\"sub\":\"sub-c\",\"email\":\"%s\",\"email_verified\":true}", email3);
	idp_control(&p, ctl);
	char *app3 = oidc_sign_in(&p, &t, NULL);
	char *access3 = param_of(app3, "access_token");
	char *uid3 = user_id_of(access3, NULL);
	ck_assert_str_eq(uid3, signup_uid);
	http_resp *login = call("POST", t.key, strstr(body, "{"), "/v1/auth/login");
	assert_envelope(login, 401, "UNAUTHORIZED");
	http_free(login);

	free(body);
	free(email3);
	free(signup_uid);
	free(app3);
	free(access3);
	free(uid3);
	free(app2);
	free(access2);
	free(uid2);
	free(uid);
	free(access);
	free(refresh);
	free(sid);
	free(app);
	free(cb);
	free(method);
	free(challenge);
	free(state);
	free(nonce);
	free(redirect_uri);
	free(auth);
	free(ctl);
	free(email);
	idp_stop(&p);
	tenant_drop(&t);
}
END_TEST

/* The error a failed sign-in redirects the app to (malloc'd). */
static char *app_error(const char *app)
{
	ck_assert_msg(!strncmp(app, APP "?", strlen(APP) + 1), "redirected to %s", app);
	ck_assert_ptr_null(strstr(app, "access_token"));
	return param_of(app, "error");
}

START_TEST(tampered_token_wrong_nonce_and_unverified_email_are_refused)
{
	struct tenant t;
	struct idp p;
	if (!setup(&t, &p))
		return;
	long long before = users_count(&t);

	/* an ID token altered after the provider signed it */
	idp_control(&p, "{\"sub\":\"sub-t\",\"email\":\"tamper@example.com\",\"email_verified\":true,\"tamper\":true}");
	char *app = oidc_sign_in(&p, &t, NULL);
	char *err = app_error(app);
	ck_assert_str_eq(err, "invalid_id_token");
	char *desc = param_of(app, "error_description");
	ck_assert_ptr_nonnull(strstr(desc, "signature"));
	free(desc);
	free(err);
	free(app);

	/* a nonce other than the one Tessera sent (an injected request) */
	char *auth = authorize_url(&t);
	char *nonce = param_of(auth, "nonce");
	char *at = strstr(auth, nonce);
	memcpy(at, "AAAA", 4);
	char *cb = browser_walk(&p, auth);
	app = stack_redirect(cb);
	err = app_error(app);
	ck_assert_str_eq(err, "invalid_id_token");
	desc = param_of(app, "error_description");
	ck_assert_ptr_nonnull(strstr(desc, "nonce"));
	free(desc);
	free(err);
	free(app);
	free(cb);
	free(nonce);
	free(auth);

	/* an email the provider does not vouch for */
	idp_control(&p, "{\"sub\":\"sub-u\",\"email\":\"unverified@example.com\",\"email_verified\":false}");
	app = oidc_sign_in(&p, &t, NULL);
	err = app_error(app);
	ck_assert_str_eq(err, "email_not_verified");
	free(err);
	free(app);

	ck_assert_int_eq(users_count(&t), before);
	struct audit_page ap;
	audit_get(&ap, t.key, "?limit=100");
	ck_assert_ptr_nonnull(audit_find(ap.logs, "oauth.signin_refused", "oidc"));
	http_free(ap.r);
	idp_stop(&p);
	tenant_drop(&t);
}
END_TEST

/* No provider needed: what is refused before anyone is redirected. */
START_TEST(unknown_provider_state_tenant_and_redirect_are_4xx)
{
	struct tenant t;
	fresh_client();
	tenant_make(&t);
	char *path = strf("/v1/auth/oauth/google?tenant_id=%s", t.id);
	http_resp *r = http_get(path, NULL);
	assert_fail_field(r, 404, "NOT_FOUND", "provider");
	http_free(r);
	free(path);
	r = http_get("/v1/auth/oauth/oidc", NULL);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "tenant_id");
	http_free(r);
	path = strf("/v1/auth/oauth/oidc?tenant_id=%s&redirect_to=https://evil.example.net/", t.id);
	r = http_get(path, NULL);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "redirect_to");
	http_free(r);
	free(path);
	path = strf("/v1/auth/oauth/oidc/callback?tenant_id=%s&state=forged&code=x", t.id);
	r = http_get(path, NULL);
	assert_fail_field(r, 401, "UNAUTHORIZED", "state");
	http_free(r);
	free(path);
	path = strf("/v1/auth/oauth/oidc/callback?tenant_id=%s&code=x", t.id);
	r = http_get(path, NULL);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "state");
	http_free(r);
	free(path);
	/* a secret is write-only */
	r = call("POST", t.key, "{\"oauth\":{\"google\":{\"client_id\":\"g\",\"client_secret\":\"hidden-one\"}}}",
		 "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/auth-config");
	ck_assert(cJSON_IsTrue(item(item(item(resp_data(r), "oauth"), "google"), "client_secret_set")));
	ck_assert_ptr_null(strstr(r->body, "hidden-one"));
	http_free(r);
	tenant_drop(&t);
}
END_TEST

Suite *suite_oauth(void)
{
	Suite *s = suite_create("oauth");
	TCase *tc = tcase_create("oidc");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, oidc_sign_in_creates_links_and_reuses_users);
	tcase_add_test(tc, tampered_token_wrong_nonce_and_unverified_email_are_refused);
	tcase_add_test(tc, unknown_provider_state_tenant_and_redirect_are_4xx);
	suite_add_tcase(s, tc);
	return s;
}
