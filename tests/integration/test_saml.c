/*
 * test_saml.c - sign-in with a SAML 2.0 identity provider (handlers/saml.c)
 * against a real one: pysaml2 (saml_idp.py) on loopback, through the
 * redirects and the auto-posted form a browser follows: the stack's login
 * 302s to the IdP with a signed AuthnRequest (the IdP checks the query
 * signature with the certificate of the stack's metadata), the IdP's page
 * posts a signed Response to the stack's ACS.
 *
 * Proves: the SP metadata (entity id, ACS URL, the certificate the config
 * shows, parsed by pysaml2 and by Python's XML parser), a new user from the
 * asserted email and name, the same user for the same NameID (whatever the
 * email says later), linking to an existing user by email, the session in
 * the redirect fragment (tokens that work, user.signed_in, audit), and the
 * refusals, each by the check meant for it: a response altered after
 * signing, an expired assertion, another audience, another destination,
 * an assertion not signed itself, a replayed assertion, a response to another request, a used
 * RelayState, a form that holds no SAML (400); an unknown provider or
 * tenant, a redirect_to off the allowlist, a malformed form.
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
#define PROVIDER "corp"

struct idp {
	pid_t pid;
	int port;
	char *base;
};

/* --- the IdP ----------------------------------------------------------------- */

static size_t take(char *d, size_t s, size_t n, void *u)
{
	char **buf = u;
	size_t old = *buf ? strlen(*buf) : 0;
	*buf = realloc(*buf, old + s * n + 1);
	memcpy(*buf + old, d, s * n);
	(*buf)[old + s * n] = '\0';
	return s * n;
}

/* A request to the IdP: its body (malloc'd); *status its status. */
static char *idp_http(const char *url, const char *body, long *status)
{
	CURL *c = curl_easy_init();
	char *out = NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	return out ? out : strdup("");
}

static void idp_start(struct idp *p)
{
	struct receiver rv;
	peer_start(&rv, "saml_idp");
	p->pid = rv.pid;
	p->port = rv.port;
	p->base = strf("http://127.0.0.1:%d", p->port);
}

static void idp_control(const struct idp *p, const char *json)
{
	char *url = strf("%s/control", p->base);
	long status;
	free(idp_http(url, json, &status));
	ck_assert_int_eq(status, 200);
	free(url);
}

/* --- the stack ---------------------------------------------------------------- */

static char *metadata_path(const struct tenant *t)
{
	return strf("/v1/auth/saml/" PROVIDER "/metadata?tenant_id=%s", t->id);
}

/* Configures the provider with the IdP's metadata and registers the
 * stack's metadata at the IdP; returns the SP metadata (malloc'd). */
static char *provider_setup(const struct idp *p, const struct tenant *t)
{
	long status;
	char *url = strf("%s/metadata", p->base);
	char *idp_md = idp_http(url, NULL, &status);
	ck_assert_int_eq(status, 200);
	free(url);
	cJSON *body = cJSON_CreateObject(), *urls = cJSON_AddArrayToObject(body, "redirect_urls");
	cJSON_AddItemToArray(urls, cJSON_CreateString("http://app.example.com/"));
	cJSON *prov = cJSON_AddObjectToObject(cJSON_AddObjectToObject(body, "saml"), PROVIDER);
	cJSON_AddBoolToObject(prov, "enabled", true);
	cJSON_AddStringToObject(prov, "idp_metadata", idp_md);
	cJSON_AddStringToObject(prov, "email_attribute", "mail");
	cJSON_AddStringToObject(prov, "name_attribute", "displayName");
	char *text = cJSON_PrintUnformatted(body);
	http_resp *r = call("POST", t->key, text, "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	const cJSON *corp = item(item(resp_data(r), "saml"), PROVIDER);
	ck_assert(cJSON_IsTrue(item(corp, "sp_private_key_set")));
	ck_assert_ptr_nonnull(strstr(json_str(corp, "sp_certificate"), "BEGIN CERTIFICATE"));
	ck_assert_ptr_null(strstr(r->body, "PRIVATE KEY"));
	http_free(r);
	free(text);
	cJSON_Delete(body);
	free(idp_md);

	char *path = metadata_path(t);
	r = http_get(path, NULL);
	ck_assert_msg(r->status == 200, "metadata: %ld %s", r->status, r->body);
	char *ct = resp_header(r, "Content-Type");
	ck_assert_ptr_nonnull(strstr(ct, "samlmetadata+xml"));
	free(ct);
	char *sp_md = strdup(r->body);
	http_free(r);
	free(path);
	url = strf("%s/sp", p->base);
	char *ans = idp_http(url, sp_md, &status);
	ck_assert_msg(status == 200, "the IdP refused the SP metadata: %s", ans);
	free(ans);
	free(url);
	return sp_md;
}

static void setup(struct tenant *t, struct idp *p)
{
	fresh_client();
	tenant_make(t);
	idp_start(p);
	free(provider_setup(p, t));
}

static void teardown(struct tenant *t, struct idp *p)
{
	proc_stop(p->pid);
	free(p->base);
	tenant_drop(t);
}

static char *login_url(const struct tenant *t)
{
	char *path = strf("/v1/auth/saml/" PROVIDER "/login?tenant_id=%s&redirect_to=%s", t->id, APP);
	char *loc = stack_redirect(path);
	free(path);
	return loc;
}

/* What the IdP's page posts: the ACS and the two fields (HTML-unescaped). */
struct post {
	char *acs_path;       /* path and query at the stack */
	char *response;       /* SAMLResponse, base64 */
	char *relay;
};

static char *html_attr(const char *page, const char *after)
{
	const char *p = strstr(page, after);
	ck_assert_msg(p != NULL, "no %s in the IdP's page: %s", after, page);
	p += strlen(after);
	char *v = strndup(p, strcspn(p, "\""));
	char *w = v;
	for (const char *s = v; *s; ) {
		if (!strncmp(s, "&amp;", 5)) {
			*w++ = '&';
			s += 5;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
	return v;
}

/* The browser at the IdP: its auto-submitting form, read. */
static void idp_visit(const char *url, struct post *out)
{
	long status;
	char *page = idp_http(url, NULL, &status);
	ck_assert_msg(status == 200, "the IdP answered %ld: %s", status, page);
	char *acs = html_attr(page, "action=\"");
	const char *base = env_or("TESSERA_TEST_URL", "");
	ck_assert_msg(!strncmp(acs, base, strlen(base)), "the IdP posts to %s", acs);
	out->acs_path = strdup(acs + strlen(base));
	out->response = html_attr(page, "name=\"SAMLResponse\" value=\"");
	out->relay = html_attr(page, "name=\"RelayState\" value=\"");
	free(acs);
	free(page);
}

static void post_free(struct post *p)
{
	free(p->acs_path);
	free(p->response);
	free(p->relay);
}

/* POSTs the form to the stack's ACS (relay: the RelayState to send). */
static http_resp *acs_post(const struct post *p, const char *relay)
{
	CURL *c = curl_easy_init();
	char *resp = curl_easy_escape(c, p->response, 0), *rs = curl_easy_escape(c, relay, 0);
	char *body = strf("SAMLResponse=%s&RelayState=%s", resp, rs);
	http_resp *r = http_req("POST", p->acs_path, NULL, "application/x-www-form-urlencoded", body,
				strlen(body), NULL);
	curl_free(resp);
	curl_free(rs);
	curl_easy_cleanup(c);
	free(body);
	return r;
}

/* A whole sign-in: the app URL the stack redirects to (malloc'd). */
static char *saml_sign_in(const struct tenant *t)
{
	struct post p;
	char *login = login_url(t);
	idp_visit(login, &p);
	http_resp *r = acs_post(&p, p.relay);
	ck_assert_msg(r->status == 302, "ACS: %ld %s", r->status, r->body);
	char *app = resp_header(r, "Location");
	http_free(r);
	post_free(&p);
	free(login);
	return app;
}

/* --- tests ---------------------------------------------------------------------- */

START_TEST(metadata_names_entity_acs_and_certificate)
{
	struct tenant t;
	struct idp p;
	fresh_client();
	tenant_make(&t);
	idp_start(&p);
	char *md = provider_setup(&p, &t);
	/* an independent XML parser reads what the metadata says */
	char *file = strf("%s/tmp/sp-metadata-%d.xml", stack_dir(), (int)getpid());
	FILE *f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fputs(md, f);
	fclose(f);
	int rc;
	char *out = run_cmd(&rc, "/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E\n"
		"m = \"{urn:oasis:names:tc:SAML:2.0:metadata}\"\n"
		"r = E.parse(sys.argv[1]).getroot(); s = r.find(m + \"SPSSODescriptor\")\n"
		"print(r.get(\"entityID\")); print(s.find(m + \"AssertionConsumerService\").get(\"Location\"))\n"
		"print(s.get(\"AuthnRequestsSigned\"), s.get(\"WantAssertionsSigned\"))\n"
		"print(\"\".join(s.find(\".//{http://www.w3.org/2000/09/xmldsig#}X509Certificate\").text.split()))' "
		"%s 2>&1", file);
	ck_assert_msg(rc == 0, "python: %s", out);
	const char *base = env_or("TESSERA_TEST_URL", "");
	char *want = strf("%s/v1/auth/saml/" PROVIDER "/metadata?tenant_id=%s\n"
			  "%s/v1/auth/saml/" PROVIDER "/acs?tenant_id=%s\ntrue true\n", base, t.id, base, t.id);
	ck_assert_msg(!strncmp(out, want, strlen(want)), "metadata says:\n%s\nwanted:\n%s", out, want);
	/* the certificate is the one the config shows */
	char *cert = strdup(out + strlen(want));
	cert[strcspn(cert, "\n")] = '\0';
	ck_assert_int_gt(strlen(cert), 500);
	http_resp *r = call("GET", t.key, NULL, "/v1/auth-config");
	char *shown = strdup(json_str(item(item(resp_data(r), "saml"), PROVIDER), "sp_certificate"));
	char *w = shown;
	for (const char *s = shown; *s; s++)
		if (!strchr("\n\r", *s) && strncmp(s, "-----", 5))
			*w++ = *s;
		else if (!strncmp(s, "-----", 5))
			s = strstr(s + 5, "-----") + 4;
	*w = '\0';
	ck_assert_str_eq(shown, cert);
	ck_assert_ptr_null(strstr(r->body, "PRIVATE KEY"));
	http_free(r);
	/* sign-in pages learn of the provider from the public config */
	char *pub = strf("/v1/tenant-config?tenant_id=%s", t.id);
	r = http_get(pub, NULL);
	assert_envelope(r, 200, NULL);
	bool listed = false;
	const cJSON *it;
	cJSON_ArrayForEach(it, item(item(resp_data(r), "auth"), "providers"))
		listed |= cJSON_IsString(it) && !strcmp(it->valuestring, "saml:" PROVIDER);
	ck_assert_msg(listed, "tenant-config: %s", r->body);
	http_free(r);
	free(pub);
	/* writing the provider again keeps its key */
	r = call("POST", t.key, "{\"saml\":{\"" PROVIDER "\":{\"name_attribute\":\"cn\"}}}", "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *path = metadata_path(&t);
	r = http_get(path, NULL);
	ck_assert_str_eq(r->body, md);
	http_free(r);
	unlink(file);
	free(path);
	free(shown);
	free(cert);
	free(want);
	free(out);
	free(file);
	free(md);
	teardown(&t, &p);
}
END_TEST

START_TEST(sign_in_creates_links_and_reuses_users)
{
	struct tenant t;
	struct idp p;
	setup(&t, &p);
	char *email = strf("saml%d.%ld@example.com", getpid(), (long)time(NULL));
	char *ctl = strf("{\"user\":\"emp-1\",\"email\":\"%s\",\"name\":\"Ada Lovelace\",\"mode\":\"ok\"}", email);
	idp_control(&p, ctl);

	/* the AuthnRequest: HTTP-Redirect, signed, a RelayState */
	char *login = login_url(&t);
	char *sso = strf("%s/sso?", p.base);
	ck_assert_msg(!strncmp(login, sso, strlen(sso)), "login redirects to %s", login);
	char *sigalg = param_of(login, "SigAlg"), *sig = param_of(login, "Signature");
	char *relay = param_of(login, "RelayState");
	ck_assert_ptr_nonnull(param_of(login, "SAMLRequest"));
	ck_assert_str_eq(sigalg, "http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256");
	ck_assert_int_gt(strlen(sig), 100);
	ck_assert_int_ge(strlen(relay), 40);

	/* the IdP checked the signature and answers with a form to the ACS */
	struct post post;
	idp_visit(login, &post);
	long status;
	char *url = strf("%s/last", p.base);
	char *last = idp_http(url, NULL, &status);
	ck_assert_msg(strstr(last, "\"signed\": true"), "IdP saw: %s", last);
	ck_assert_ptr_nonnull(strstr(post.acs_path, "/v1/auth/saml/" PROVIDER "/acs?tenant_id="));
	http_resp *r = acs_post(&post, post.relay);
	ck_assert_msg(r->status == 302, "ACS: %ld %s", r->status, r->body);
	char *app = resp_header(r, "Location");
	http_free(r);
	ck_assert_msg(!strncmp(app, APP "#", strlen(APP) + 1), "redirected to %s", app);
	char *access = param_of(app, "access_token"), *refresh = param_of(app, "refresh_token");
	char *sid = param_of(app, "session_id"), *prov = param_of(app, "provider");
	ck_assert_int_eq(strncmp(refresh, "rt_", 3), 0);
	ck_assert_int_eq(strncmp(sid, "sess_", 5), 0);
	ck_assert_str_eq(prov, "saml:" PROVIDER);
	http_resp *me = call("GET", access, NULL, "/v1/auth/user");
	assert_envelope(me, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(me), "email"), email);
	ck_assert(cJSON_IsTrue(item(resp_data(me), "email_verified")));
	ck_assert_str_eq(json_str(item(resp_data(me), "user_metadata"), "name"), "Ada Lovelace");
	ck_assert_str_eq(json_str(item(resp_data(me), "app_metadata"), "provider"), "saml:" PROVIDER);
	char *uid = strdup(json_str(resp_data(me), "id"));
	http_free(me);
	char *events = events_of(uid);
	ck_assert_msg(strstr(events, "user.created") && strstr(events, "user.signed_in"), "events: %s", events);
	free(events);
	struct audit_page ap;
	audit_get(&ap, t.key, "?limit=100");
	ck_assert_ptr_nonnull(audit_find(ap.logs, "saml.signed_in", uid));
	http_free(ap.r);

	/* the same NameID again, whatever email it now carries: the same user */
	idp_control(&p, "{\"email\":\"renamed@example.com\"}");
	char *app2 = saml_sign_in(&t);
	char *access2 = param_of(app2, "access_token");
	char *email2;
	char *uid2 = user_id_of(access2, &email2);
	ck_assert_str_eq(uid2, uid);
	ck_assert_str_eq(email2, email);

	/* another NameID with the email of a password user: linked to that user,
	 * and the password nobody proved is dropped */
	char *email3 = strf("link%d.%ld@example.com", getpid(), (long)time(NULL));
	char *body = strf("{\"email\":\"%s\",\"password\":\"correct horse battery\"}", email3);
	char *signup_uid = signup_user(&t, body);
	free(ctl);
	ctl = strf("{\"user\":\"emp-3\",\"email\":\"%s\"}", email3);
	idp_control(&p, ctl);
	char *app3 = saml_sign_in(&t);
	char *access3 = param_of(app3, "access_token");
	char *uid3 = user_id_of(access3, NULL);
	ck_assert_str_eq(uid3, signup_uid);
	http_resp *pw = call("POST", t.key, body, "/v1/auth/login");
	assert_envelope(pw, 401, "UNAUTHORIZED");
	http_free(pw);

	free(body);
	free(email3);
	free(signup_uid);
	free(app3);
	free(access3);
	free(uid3);
	free(app2);
	free(access2);
	free(uid2);
	free(email2);
	free(uid);
	free(access);
	free(refresh);
	free(sid);
	free(prov);
	free(app);
	free(last);
	free(url);
	post_free(&post);
	free(sigalg);
	free(sig);
	free(relay);
	free(sso);
	free(login);
	free(ctl);
	free(email);
	teardown(&t, &p);
}
END_TEST

/* A response the IdP made in mode, posted as the browser would: the
 * stack's refusal, asserted 401 with reason in its message. */
static void refused(const struct tenant *t, const struct idp *p, const char *mode, const char *reason)
{
	char *ctl = strf("{\"user\":\"emp-%s\",\"email\":\"%s@example.com\",\"mode\":\"%s\"}", mode, mode, mode);
	idp_control(p, ctl);
	struct post post;
	char *login = login_url(t);
	idp_visit(login, &post);
	http_resp *r = acs_post(&post, post.relay);
	assert_fail_field(r, 401, "UNAUTHORIZED", "SAMLResponse");
	ck_assert_msg(strstr(error_message(r), reason), "%s: refused for %s", mode, error_message(r));
	http_free(r);
	post_free(&post);
	free(login);
	free(ctl);
}

START_TEST(spoiled_responses_are_refused_by_their_checks)
{
	struct tenant t;
	struct idp p;
	setup(&t, &p);
	long long before = users_count(&t);

	refused(&t, &p, "tamper", "invalid_signature");
	refused(&t, &p, "expired", "expired");
	refused(&t, &p, "wrong_audience", "audience");
	refused(&t, &p, "wrong_destination", "wrong_destination");
	/* only the response signed: each assertion must be signed itself */
	refused(&t, &p, "unsigned_assertion", "invalid_signature");

	/* a form whose SAMLResponse is no SAML at all: 400 (the state used up) */
	struct post junk;
	char *lj = login_url(&t);
	idp_visit(lj, &junk);
	free(junk.response);
	junk.response = strdup("bm90IGEgU0FNTCByZXNwb25zZQ==");
	http_resp *r = acs_post(&junk, junk.relay);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "SAMLResponse");
	http_free(r);
	post_free(&junk);
	free(lj);

	/* a good response, used once; then posted again with a fresh state:
	 * refused as a replay (the signature, time and audience still hold) */
	idp_control(&p, "{\"user\":\"emp-r\",\"email\":\"replay@example.com\",\"mode\":\"ok\"}");
	struct post first;
	char *login = login_url(&t);
	idp_visit(login, &first);
	r = acs_post(&first, first.relay);
	ck_assert_msg(r->status == 302, "ACS: %ld %s", r->status, r->body);
	http_free(r);
	long long after_ok = users_count(&t);
	ck_assert_int_eq(after_ok, before + 1);
	/* the same RelayState again: its state is gone */
	r = acs_post(&first, first.relay);
	assert_fail_field(r, 401, "UNAUTHORIZED", "RelayState");
	http_free(r);
	struct post second;
	char *login2 = login_url(&t);
	idp_visit(login2, &second);
	r = acs_post(&first, second.relay);
	assert_fail_field(r, 401, "UNAUTHORIZED", "SAMLResponse");
	ck_assert_msg(strstr(error_message(r), "replayed"), "refused for %s", error_message(r));
	http_free(r);

	/* a fresh response to request A posted with the state of request B */
	struct post a, b;
	char *la = login_url(&t), *lb = login_url(&t);
	idp_visit(la, &a);
	idp_visit(lb, &b);
	r = acs_post(&a, b.relay);
	assert_fail_field(r, 401, "UNAUTHORIZED", "SAMLResponse");
	ck_assert_msg(strstr(error_message(r), "InResponseTo"), "refused for %s", error_message(r));
	http_free(r);

	/* nothing stored by any refusal; each one audited */
	ck_assert_int_eq(users_count(&t), after_ok);
	struct audit_page ap;
	audit_get(&ap, t.key, "?limit=100");
	int refusals = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, ap.logs)
		if (!strcmp(json_str(e, "action"), "saml.signin_refused"))
			refusals++;
	ck_assert_int_eq(refusals, 9);
	ck_assert_ptr_nonnull(audit_find(ap.logs, "saml.signin_refused", PROVIDER));
	http_free(ap.r);

	post_free(&a);
	post_free(&b);
	free(la);
	free(lb);
	post_free(&first);
	post_free(&second);
	free(login);
	free(login2);
	teardown(&t, &p);
}
END_TEST

/* GET /v1/auth/saml/<printf'd rest> refused with status, code, field. */
static void saml_get_fails(long status, const char *code, const char *field, const char *fmt, const char *arg)
{
	char *rest = strf(fmt, arg), *path = strf("/v1/auth/saml/%s", rest);
	http_resp *r = http_get(path, NULL);
	assert_fail_field(r, status, code, field);
	http_free(r);
	free(path);
	free(rest);
}

/* No IdP needed: what is refused before anyone signs in. */
START_TEST(unknown_provider_tenant_redirect_and_malformed_form_are_4xx)
{
	struct tenant t;
	fresh_client();
	tenant_make(&t);
	http_resp *r = call("POST", t.key, "{\"redirect_urls\":[\"http://app.example.com/\"],"
			    "\"saml\":{\"half\":{\"enabled\":true}}}", "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	http_free(r);
	saml_get_fails(404, "NOT_FOUND", "provider", "nosuch/login?tenant_id=%s", t.id);
	saml_get_fails(404, "NOT_FOUND", "provider", "nosuch/metadata?tenant_id=%s", t.id);
	/* enabled without an IdP: metadata to register with, but no sign-in */
	char *path = strf("/v1/auth/saml/half/metadata?tenant_id=%s", t.id);
	r = http_get(path, NULL);
	ck_assert_int_eq(r->status, 200);
	http_free(r);
	free(path);
	saml_get_fails(404, "NOT_FOUND", "provider", "half/login?tenant_id=%s", t.id);
	saml_get_fails(400, "VALIDATION_ERROR", "tenant_id", "half/login%s", "");
	path = strf("/v1/auth/saml/half/login?tenant_id=%s", "tn_00000000000000000000000000");
	r = http_get(path, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(path);
	saml_get_fails(400, "VALIDATION_ERROR", "redirect_to",
		       "half/login?tenant_id=%s&redirect_to=https://evil.example.net/", t.id);
	/* the ACS: a form with both fields, a known state */
	path = strf("/v1/auth/saml/half/acs?tenant_id=%s", t.id);
	r = http_req("POST", path, NULL, "application/x-www-form-urlencoded", "RelayState=x", 12, NULL);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "SAMLResponse");
	http_free(r);
	r = http_req("POST", path, NULL, "application/x-www-form-urlencoded", "SAMLResponse=PHg%2B", 19, NULL);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "RelayState");
	http_free(r);
	r = http_req("POST", path, NULL, "application/json", "{}", 2, NULL);
	assert_envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE");
	http_free(r);
	r = http_req("POST", path, NULL, "application/x-www-form-urlencoded",
		     "SAMLResponse=PHg%2B&RelayState=forged", 37, NULL);
	assert_fail_field(r, 401, "UNAUTHORIZED", "RelayState");
	http_free(r);
	free(path);
	/* provider names are checked when written */
	r = call("POST", t.key, "{\"saml\":{\"Bad Name\":{\"enabled\":true}}}", "/v1/auth-config");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "saml.Bad Name");
	http_free(r);
	r = call("POST", t.key, "{\"saml\":{\"x\":{\"sp_private_key\":\"not a key\"}}}", "/v1/auth-config");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "saml.x.sp_private_key");
	http_free(r);
	r = call("POST", t.key, "{\"saml\":{\"x\":{\"idp_metadata\":\"<x/>\"}}}", "/v1/auth-config");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "saml.x.idp_metadata");
	http_free(r);
	/* an IdP given by entity id, SSO URL and certificate instead of metadata
	 * (any certificate will do to be sent there: half's own) */
	r = call("GET", t.key, NULL, "/v1/auth-config");
	cJSON *body = cJSON_CreateObject();
	cJSON *parts = cJSON_AddObjectToObject(cJSON_AddObjectToObject(body, "saml"), "parts");
	cJSON_AddBoolToObject(parts, "enabled", true);
	cJSON_AddStringToObject(parts, "idp_entity_id", "https://idp.example.com/entity");
	cJSON_AddStringToObject(parts, "idp_sso_url", "https://idp.example.com/sso");
	cJSON_AddStringToObject(parts, "idp_certificate",
				json_str(item(item(resp_data(r), "saml"), "half"), "sp_certificate"));
	http_free(r);
	char *text = cJSON_PrintUnformatted(body);
	r = call("POST", t.key, text, "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	http_free(r);
	path = strf("/v1/auth/saml/parts/login?tenant_id=%s", t.id);
	char *loc = stack_redirect(path);
	ck_assert_msg(!strncmp(loc, "https://idp.example.com/sso?SAMLRequest=", 40), "login: %s", loc);
	free(loc);
	free(path);
	free(text);
	cJSON_Delete(body);
	tenant_drop(&t);
}
END_TEST

Suite *suite_saml(void)
{
	Suite *s = suite_create("saml");
	TCase *tc = tcase_create("sp");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, metadata_names_entity_acs_and_certificate);
	tcase_add_test(tc, sign_in_creates_links_and_reuses_users);
	tcase_add_test(tc, spoiled_responses_are_refused_by_their_checks);
	tcase_add_test(tc, unknown_provider_tenant_redirect_and_malformed_form_are_4xx);
	suite_add_tcase(s, tc);
	return s;
}
