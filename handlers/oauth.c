/*
 * oauth.c - sign-in with an OpenID Connect provider (authorization code
 * flow with PKCE S256, state and nonce): GET /v1/auth/oauth/:provider
 * sends the browser to the provider, GET /v1/auth/oauth/:provider/callback
 * takes it back, exchanges the code, verifies the ID token and opens the
 * same session a password sign-in opens.
 *
 * Providers are configured per tenant under "oauth" in the auth config
 * (identity_settings.c): "oidc" (any OpenID provider, by issuer) and the
 * presets google, microsoft, apple and gitlab, whose issuer has a default.
 * The discovery document and the JWK Set are fetched through
 * common/outhttp (the private-address guard applies) and cached in Redis
 * for an hour; a token whose kid is not in the cached set refetches it
 * once.  The state (verifier, nonce, redirect_to) lives in Redis for ten
 * minutes and is taken once.
 *
 * The browser navigates to these routes, so they carry no bearer: the
 * tenant is named by ?tenant_id= (it is part of the redirect URI the
 * provider calls back).  Once the state is known every failure is a 302
 * to redirect_to with ?error=<code>&error_description=; before that (no or
 * an unknown state) a JSON error.  Every refused sign-in is audited
 * (oauth.signin_refused).
 *
 * The user: the one linked to (provider, subject); else the user whose
 * email the provider says is verified (linked now; if that user's own
 * address was never verified, its password is dropped, since nobody proved
 * it belonged to the owner of the address); else a new user.  A provider
 * that does not vouch for the email cannot sign in a new identity.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../common/codec.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jose.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/outhttp.h"
#include "../fcgi/journal.h"
#include "enduser.h"
#include "routes.h"

#define STATE_TTL "600"
#define CACHE_TTL "3600"
#define FETCH_MAX (256 * 1024)
#define FETCH_TIMEOUT 10
#define CLOCK_SKEW 120
#define RL_OAUTH 30, 0

typedef struct provider {
	const char *name;
	const char *client_id, *client_secret;
	const char *issuer, *scopes;
	/* from the discovery document */
	const char *authorize_url, *token_url, *jwks_uri;
} provider_t;

/* The issuer of each preset; "oidc" has none (it must be configured). */
static const char *preset_issuer(const char *name)
{
	static const struct { const char *name, *issuer; } presets[] = {
		{ "google", "https://accounts.google.com" },
		{ "microsoft", "https://login.microsoftonline.com/common/v2.0" },
		{ "apple", "https://appleid.apple.com" },
		{ "gitlab", "https://gitlab.com" },
	};
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (!strcmp(presets[i].name, name))
			return presets[i].issuer;
	return NULL;
}

/* --- outgoing requests --------------------------------------------------- */

typedef struct body_buf {
	char *data;
	size_t len;
	bool too_big;
} body_buf_t;

static bool body_take(void *user, const char *data, size_t len)
{
	body_buf_t *b = user;
	if (b->len + len > FETCH_MAX) {
		b->too_big = true;
		return false;
	}
	char *n = realloc(b->data, b->len + len + 1);
	if (!n)
		return false;
	memcpy(n + b->len, data, len);
	b->data = n;
	b->len += len;
	b->data[b->len] = '\0';
	return true;
}

/* A JSON object from the provider (*out NULL and *why set when it did not
 * answer one with a 2xx status). */
static void fetch_json(req_t *r, const char *method, const char *url, const char *const *headers,
		       const char *body, cJSON **out, const char **why)
{
	body_buf_t b = { 0 };
	outhttp_result_t res;
	*out = NULL;
	int rc = outhttp_request_to(method, url, headers, body, body ? strlen(body) : 0, FETCH_TIMEOUT,
				    g_config.http_allow_private, body_take, &b, &res);
	if (rc)
		*why = arena_printf(r->a, "%s is unreachable: %s", url, res.error);
	else if (b.too_big)
		*why = arena_printf(r->a, "%s answered more than %d bytes", url, FETCH_MAX);
	else if (res.status < 200 || res.status > 299)
		*why = arena_printf(r->a, "%s answered HTTP %ld", url, res.status);
	else if (!cJSON_IsObject(*out = b.data ? req_own(r, cJSON_Parse(b.data)) : NULL))
		*why = arena_printf(r->a, "%s did not answer a JSON object", url);
	if (*why)
		*out = NULL;
	free(b.data);
}

/* A JSON document from url, cached in Redis for an hour unless fresh. */
static void fetch_cached(req_t *r, const char *kind, const char *url, bool fresh, cJSON **out,
			 const char **why)
{
	char hash[65];
	sha256_hex(hash, url, strlen(url));
	const char *key = arena_printf(r->a, "oidc:%s:%s", kind, hash);
	redisReply *rep;
	const char *get[] = { "GET", key };
	*why = NULL;
	if (!fresh && !cache_cmd(r->cache, r->a, &rep, 2, get) && rep->type == REDIS_REPLY_STRING &&
	    cJSON_IsObject(*out = req_own(r, cJSON_Parse(rep->str))))
		return;
	fetch_json(r, "GET", url, NULL, NULL, out, why);
	if (*out) {
		const char *set[] = { "SET", key, req_json_text(r, *out), "EX", CACHE_TTL };
		(void)cache_cmd(r->cache, r->a, &rep, 5, set);
	}
}

/* --- the provider ---------------------------------------------------------- */

/* The provider's configuration (404 when it is unknown or disabled). */
static err_t provider_load(req_t *r, const char *name, provider_t *p)
{
	cJSON *cfg;
	err_t rc = auth_config_effective(r, &cfg);
	if (rc)
		return rc;
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cfg, "oauth"), name);
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->client_id = json_str_of(o, "client_id");
	p->issuer = json_str_of(o, "issuer") ? json_str_of(o, "issuer") : preset_issuer(name);
	p->scopes = json_str_of(o, "scopes") ? json_str_of(o, "scopes") : "openid email profile";
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "enabled")) || !p->client_id || !p->issuer)
		return req_fail_field(r, E_NOT_FOUND, "provider",
				      "OAuth provider %s is not enabled for this tenant", name);
	const char *sealed = json_str_of(o, "client_secret_sealed");
	if (sealed && !(p->client_secret = secret_open(r->a, g_config.master_key_bin, sealed, NULL))) {
		log_error("%s: cannot open the client secret of provider %s", r->request_id, name);
		return E_INTERNAL;
	}
	return E_OK;
}

/* The discovery document's endpoints ("" when fine, else why). */
static const char *provider_discover(req_t *r, provider_t *p)
{
	cJSON *d;
	const char *why;
	size_t n = strlen(p->issuer);
	const char *url = arena_printf(r->a, "%.*s/.well-known/openid-configuration",
				       (int)(n && p->issuer[n - 1] == '/' ? n - 1 : n), p->issuer);
	fetch_cached(r, "discovery", url, false, &d, &why);
	if (!d)
		return why;
	p->authorize_url = json_str_of(d, "authorization_endpoint");
	p->token_url = json_str_of(d, "token_endpoint");
	p->jwks_uri = json_str_of(d, "jwks_uri");
	if (!p->authorize_url || !p->token_url || !p->jwks_uri)
		return "the discovery document lacks authorization_endpoint, token_endpoint or jwks_uri";
	if (!json_str_of(d, "issuer") || strcmp(json_str_of(d, "issuer"), p->issuer))
		return "the discovery document names another issuer";
	return "";
}

static const char *callback_url(req_t *r, const char *provider)
{
	return arena_printf(r->a, "%s/v1/auth/oauth/%s/callback?tenant_id=%s", g_config.public_url,
			    url_component(r->a, provider), url_component(r->a, r->tenant.id));
}

static const char *state_key(req_t *r, const char *kind, const char *state)
{
	char hash[65];
	sha256_hex(hash, state, strlen(state));
	return arena_printf(r->a, "%s:state:%s:%s", kind, r->tenant.id, hash);
}

err_t extid_state_put(req_t *r, const char *kind, const auth_settings_t *s, const char *redirect_to,
		      cJSON *st, const char *state)
{
	cJSON_AddStringToObject(st, "redirect_to", redirect_to ? redirect_to :
				s->site_url ? s->site_url : g_config.public_url);
	redisReply *rep;
	const char *set[] = { "SET", state_key(r, kind, state), req_json_text(r, st), "EX", STATE_TTL };
	if (cache_cmd(r->cache, r->a, &rep, 5, set))
		return req_fail(r, E_UNAVAILABLE, "The sign-in state is unavailable; try again shortly");
	return E_OK;
}

err_t extid_state_take(req_t *r, const char *kind, const char *state, const char *provider,
		       const char *field, cJSON **st)
{
	redisReply *rep;
	const char *take[] = { "GETDEL", state_key(r, kind, state) };
	if (cache_cmd(r->cache, r->a, &rep, 2, take))
		return req_fail(r, E_UNAVAILABLE, "The sign-in state is unavailable; try again shortly");
	*st = rep->type == REDIS_REPLY_STRING ? req_own(r, cJSON_Parse(rep->str)) : NULL;
	if (*st && json_str_of(*st, "provider") && !strcmp(json_str_of(*st, "provider"), provider) &&
	    json_str_of(*st, "redirect_to"))
		return E_OK;
	extid_failure_t f;
	extid_fail(&f, "invalid_state", "the state is unknown, used or expired");
	err_t rc = extid_refused_audit(r, kind, provider, &f);
	return rc ? rc : req_fail_field(r, E_UNAUTHORIZED, field,
					"The sign-in state (%s) is unknown, used or expired; sign in again", field);
}

err_t extid_redirect(req_t *r, const char *url)
{
	reply_header(r, "Location", url);
	reply_header(r, "Cache-Control", "no-store");
	reply_raw(r, 302, "text/plain; charset=utf-8", "", 0);
	return E_OK;
}

/* --- GET /v1/auth/oauth/:provider ------------------------------------------- */

err_t oauth_authorize(req_t *r)
{
	auth_settings_t s;
	provider_t p;
	const char *redirect_to = req_query(r, "redirect_to");
	err_t rc = auth_settings_load(r, &s);
	if (rc || (rc = redirect_check(r, &s, redirect_to)) ||
	    (rc = provider_load(r, req_param(r, "provider"), &p)) ||
	    (rc = auth_rate(r, "oauth", NULL, RL_OAUTH)))
		return rc;
	const char *why = provider_discover(r, &p);
	if (*why)
		return req_fail(r, E_IDP, "OpenID discovery of %s failed: %s", p.issuer, why);
	char *state = random_token(r->a, "", 32), *nonce = random_token(r->a, "", 32);
	char *verifier = random_token(r->a, "", 32), challenge[48];
	unsigned char digest[32];
	crypto_hash_sha256(digest, (const unsigned char *)verifier, strlen(verifier));
	b64url_encode(challenge, sizeof(challenge), digest, sizeof(digest));
	cJSON *st = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(st, "provider", p.name);
	cJSON_AddStringToObject(st, "verifier", verifier);
	cJSON_AddStringToObject(st, "nonce", nonce);
	if ((rc = extid_state_put(r, "oauth", &s, redirect_to, st, state)))
		return rc;
	return extid_redirect(r, arena_printf(r->a,
		"%s%sresponse_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s&nonce=%s"
		"&code_challenge=%s&code_challenge_method=S256", p.authorize_url,
		strchr(p.authorize_url, '?') ? "&" : "?", url_component(r->a, p.client_id),
		url_component(r->a, callback_url(r, p.name)), url_component(r->a, p.scopes), state, nonce,
		challenge));
}

/* --- GET /v1/auth/oauth/:provider/callback ------------------------------------ */

int extid_fail(extid_failure_t *f, const char *code, const char *desc)
{
	f->code = code;
	f->desc = desc;
	return -1;
}

/* The code exchanged for the provider's token response. */
static int code_exchange(req_t *r, const provider_t *p, const cJSON *st, const char *code,
			 cJSON **tokens, extid_failure_t *f)
{
	const char *body = arena_printf(r->a,
		"grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s&code_verifier=%s%s%s",
		url_component(r->a, code), url_component(r->a, callback_url(r, p->name)),
		url_component(r->a, p->client_id), url_component(r->a, json_str_of(st, "verifier")),
		p->client_secret ? "&client_secret=" : "",
		p->client_secret ? url_component(r->a, p->client_secret) : "");
	static const char *const headers[] = { "Content-Type: application/x-www-form-urlencoded",
					       "Accept: application/json", NULL };
	const char *why = NULL;
	fetch_json(r, "POST", p->token_url, headers, body, tokens, &why);
	if (!*tokens)
		return extid_fail(f, "token_exchange_failed", why);
	if (!json_str_of(*tokens, "id_token"))
		return extid_fail(f, "token_exchange_failed", "the provider's token response has no id_token");
	return 0;
}

static bool aud_has(const cJSON *aud, const char *client_id)
{
	if (cJSON_IsString(aud))
		return !strcmp(aud->valuestring, client_id);
	const cJSON *a;
	cJSON_ArrayForEach(a, aud)
		if (cJSON_IsString(a) && !strcmp(a->valuestring, client_id))
			return true;
	return false;
}

/* The ID token verified: signature by the provider's key, iss, aud,
 * exp, iat and nonce.  *claims is owned by the request. */
static int id_token_verify(req_t *r, const provider_t *p, const cJSON *st, const char *token,
			   cJSON **claims, extid_failure_t *f)
{
	cJSON *jwks;
	const char *why, *kid;
	fetch_cached(r, "jwks", p->jwks_uri, false, &jwks, &why);
	if (!jwks)
		return extid_fail(f, "provider_unavailable", why);
	enum jose_status js = jose_verify(r->a, token, jwks, claims, &kid);
	if (js == JOSE_NO_KEY) {
		/* The provider may have rotated its keys since the set was cached. */
		fetch_cached(r, "jwks", p->jwks_uri, true, &jwks, &why);
		if (!jwks)
			return extid_fail(f, "provider_unavailable", why);
		js = jose_verify(r->a, token, jwks, claims, &kid);
	}
	if (js)
		return extid_fail(f, "invalid_id_token", jose_status_str(js));
	req_own(r, *claims);
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(*claims, "exp");
	const cJSON *iat = cJSON_GetObjectItemCaseSensitive(*claims, "iat");
	double now = (double)time(NULL);
	const char *iss = json_str_of(*claims, "iss"), *nonce = json_str_of(*claims, "nonce");
	const char *sub = json_str_of(*claims, "sub");
	if (!iss || strcmp(iss, p->issuer))
		return extid_fail(f, "invalid_id_token", "the ID token's issuer is not the provider's");
	if (!aud_has(cJSON_GetObjectItemCaseSensitive(*claims, "aud"), p->client_id))
		return extid_fail(f, "invalid_id_token", "the ID token is not for this client (aud)");
	if (!cJSON_IsNumber(exp) || exp->valuedouble < now - CLOCK_SKEW)
		return extid_fail(f, "invalid_id_token", "the ID token has expired");
	if (cJSON_IsNumber(iat) && iat->valuedouble > now + CLOCK_SKEW)
		return extid_fail(f, "invalid_id_token", "the ID token was issued in the future");
	if (!nonce || !ct_streq(nonce, json_str_of(st, "nonce")))
		return extid_fail(f, "invalid_id_token", "the ID token's nonce does not match the request's");
	if (!sub || !*sub || strlen(sub) > 255)
		return extid_fail(f, "invalid_id_token", "the ID token has no usable subject (sub)");
	return 0;
}

/* The email the provider vouches for, or NULL. */
static const char *verified_email(const cJSON *claims)
{
	const char *email = json_str_of(claims, "email");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(claims, "email_verified");
	/* Apple sends "true" as a string. */
	bool ok = cJSON_IsTrue(v) || (cJSON_IsString(v) && !strcmp(v->valuestring, "true"));
	return ok && email && email_address_valid(email) ? email : NULL;
}

static err_t exec(req_t *r, const char *sql, db_param *p, int np)
{
	enum db_status st = db_exec(r->db, r->a, sql, p, np, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* A new user for the identity (no password; the email verified). */
static err_t user_create(req_t *r, const char *provider, const char *email, const cJSON *claims,
			 db_result **u)
{
	char uid[40];
	id_new(uid, sizeof(uid), "usr_");
	cJSON *meta = req_own(r, cJSON_CreateObject());
	static const char *const copied[] = { "name", "picture", "given_name", "family_name" };
	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
		if (json_str_of(claims, copied[i]))
			cJSON_AddStringToObject(meta, copied[i], json_str_of(claims, copied[i]));
	cJSON *app = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(app, "provider", provider);
	db_param p[] = { db_str(uid), db_str(email), db_str(req_json_text(r, meta)),
			 db_str(req_json_text(r, app)) };
	err_t rc = exec(r, arena_printf(r->a,
		"INSERT INTO %s (id, email, email_verified_at, user_metadata, app_metadata, created_at, "
		"updated_at) VALUES (?, ?, UTC_TIMESTAMP(3), ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		tenant_table(r, "_users")), p, 4);
	if (!rc)
		rc = user_need(r, uid, false, u);
	return rc ? rc : outbox_add(r, "user.created", "user", uid, req_own(r, user_json(*u, 0)));
}

/* Links an existing user found by the verified email.  A password set on
 * an address nobody verified could be an attacker's: it goes. */
static err_t user_link_email(req_t *r, db_result *u)
{
	if (db_get_int(u, 0, "email_verified", 0))
		return E_OK;
	const char *uid = db_get(u, 0, "id");
	db_param p[] = { db_str(uid) };
	err_t rc = exec(r, arena_printf(r->a,
		"UPDATE %s SET email_verified_at = UTC_TIMESTAMP(3), password_hash = NULL, "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ?", tenant_table(r, "_users")), p, 1);
	return rc ? rc : sessions_revoke(r, uid, NULL, "identity_linked", NULL);
}

static err_t identity_record(req_t *r, const char *provider, const char *sub, const char *uid,
			     const char *email, const cJSON *claims, bool found)
{
	cJSON *profile = req_own(r, cJSON_CreateObject());
	static const char *const kept[] = { "name", "picture", "preferred_username" };
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (json_str_of(claims, kept[i]))
			cJSON_AddStringToObject(profile, kept[i], json_str_of(claims, kept[i]));
	const char *table = tenant_table(r, "_user_identities");
	if (found) {
		db_param p[] = { db_str(email), db_str(req_json_text(r, profile)), db_str(provider), db_str(sub) };
		return exec(r, arena_printf(r->a,
			"UPDATE %s SET email = COALESCE(?, email), profile = ?, last_sign_in_at = UTC_TIMESTAMP(3) "
			"WHERE provider = ? AND subject = ?", table), p, 4);
	}
	char id[40];
	id_new(id, sizeof(id), "idn_");
	db_param p[] = { db_str(id), db_str(uid), db_str(provider), db_str(sub), db_str(email),
			 db_str(req_json_text(r, profile)) };
	return exec(r, arena_printf(r->a,
		"INSERT INTO %s (id, user_id, provider, subject, email, profile, created_at, last_sign_in_at) "
		"VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", table), p, 6);
}

/* The user of the identity (found, linked or created), in the open
 * transaction; a refusal fills f and returns E_UNAUTHORIZED. */
static err_t identity_user(req_t *r, const char *provider, const cJSON *claims, db_result **u,
			   extid_failure_t *f)
{
	const char *sub = json_str_of(claims, "sub"), *email = verified_email(claims);
	db_result *idn;
	db_param p[] = { db_str(provider), db_str(sub) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT user_id FROM %s WHERE provider = ? AND subject = ? FOR UPDATE",
		tenant_table(r, "_user_identities")), p, 2, &idn);
	if (st)
		return req_db_error(r, st);
	err_t rc;
	bool found = idn->nrows > 0;
	if (found) {
		rc = user_need(r, db_cell(idn, 0, 0), true, u);
	} else if (!email) {
		extid_fail(f, "email_not_verified", "the provider did not say the account's email is verified");
		return E_UNAUTHORIZED;
	} else if (!(rc = user_find(r, "email", email, true, u)) && (*u)->nrows) {
		rc = user_link_email(r, *u);
	} else if (!rc) {
		rc = user_create(r, provider, email, claims, u);
	}
	if (!rc && db_get_int(*u, 0, "banned", 0)) {
		extid_fail(f, "user_banned", "this user may not sign in");
		return E_UNAUTHORIZED;
	}
	if (!rc)
		rc = identity_record(r, provider, sub, db_get(*u, 0, "id"), email, claims, found);
	return rc;
}

/* The app's URL with the failure in its query. */
static const char *error_url(req_t *r, const char *base, const extid_failure_t *f)
{
	size_t q = strcspn(base, "#");
	return arena_printf(r->a, "%.*s%serror=%s&error_description=%s", (int)q, base,
			    memchr(base, '?', q) ? "&" : "?", f->code, url_component(r->a, f->desc));
}

const char *extid_session_url(req_t *r, const char *base, const char *provider, const cJSON *d)
{
	char num[32];
	snprintf(num, sizeof(num), "%.0f", cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(d, "expires_in")));
	return arena_printf(r->a, "%.*s#access_token=%s&refresh_token=%s&token_type=bearer&expires_in=%s"
			    "&session_id=%s&provider=%s", (int)strcspn(base, "#"), base,
			    json_str_of(d, "access_token"), json_str_of(d, "refresh_token"), num,
			    json_str_of(d, "session_id"), provider);
}

err_t extid_refused_audit(req_t *r, const char *kind, const char *provider, const extid_failure_t *f)
{
	cJSON *d = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(d, "provider", provider);
	cJSON_AddStringToObject(d, "error", f->code);
	cJSON_AddStringToObject(d, "reason", f->desc ? f->desc : "");
	cJSON_AddStringToObject(d, "ip", r->remote_addr ? r->remote_addr : "");
	return req_audit(r, arena_printf(r->a, "%s.signin_refused", kind),
			 arena_printf(r->a, "%s_provider", kind), provider, d);
}

err_t extid_signin(req_t *r, const char *kind, const char *provider, const cJSON *claims, cJSON **d,
		   extid_failure_t *f)
{
	enum db_status dst = db_begin(r->db);
	if (dst)
		return req_db_error(r, dst);
	db_result *u;
	err_t rc = identity_user(r, provider, claims, &u, f);
	if (!rc)
		rc = session_issue(r, u, "aal1", kind, d);
	if (!rc) {
		cJSON *det = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(det, "provider", provider);
		cJSON_AddStringToObject(det, "user_id", db_get(u, 0, "id"));
		rc = req_audit(r, arena_printf(r->a, "%s.signed_in", kind), "user", db_get(u, 0, "id"), det);
	}
	return req_tx_end(r, rc);
}

/* Verifies the callback of a known state and opens the session (*d);
 * a refusal fills f. */
static err_t callback_finish(req_t *r, const char *provider, const cJSON *st, cJSON **d, extid_failure_t *f)
{
	provider_t p;
	cJSON *tokens, *claims;
	const char *code = req_query(r, "code"), *perr = req_query(r, "error"), *iss = req_query(r, "iss");
	err_t rc = provider_load(r, provider, &p);
	if (rc) {
		extid_fail(f, "provider_disabled", "the provider is no longer enabled");
		return E_UNAUTHORIZED;
	}
	const char *why = perr ? "" : provider_discover(r, &p);
	if (perr) {
		const char *desc = req_query(r, "error_description");
		extid_fail(f, "access_denied", arena_printf(r->a, "the provider answered %.100s%s%.300s", perr,
						      desc ? ": " : "", desc ? desc : ""));
		return E_UNAUTHORIZED;
	}
	if (*why) {
		extid_fail(f, "provider_unavailable", why);
		return E_UNAUTHORIZED;
	}
	if (!code || !*code || strlen(code) > 2048) {
		extid_fail(f, "invalid_request", "the callback has no code");
		return E_UNAUTHORIZED;
	}
	if (iss && strcmp(iss, p.issuer)) {
		extid_fail(f, "invalid_request", "the callback's iss is not the provider's issuer");
		return E_UNAUTHORIZED;
	}
	if (code_exchange(r, &p, st, code, &tokens, f) ||
	    id_token_verify(r, &p, st, json_str_of(tokens, "id_token"), &claims, f))
		return E_UNAUTHORIZED;
	return extid_signin(r, "oauth", provider, claims, d, f);
}

err_t oauth_callback(req_t *r)
{
	const char *provider = req_param(r, "provider"), *state = req_query(r, "state");
	if (!state || !*state || strlen(state) > 128)
		return req_fail_field(r, E_VALIDATION, "state", "state is required");
	err_t rc = auth_rate(r, "oauth_callback", NULL, RL_OAUTH);
	if (rc)
		return rc;
	cJSON *st;
	if ((rc = extid_state_take(r, "oauth", state, provider, "state", &st)))
		return rc;
	extid_failure_t f = { 0 };
	const char *app = json_str_of(st, "redirect_to");
	cJSON *d = NULL;
	rc = callback_finish(r, provider, st, &d, &f);
	if (rc == E_OK) {
		req_own(r, d);
		return extid_redirect(r, extid_session_url(r, app, provider, d));
	}
	if (!f.code)
		extid_fail(&f, "server_error", "the sign-in could not be completed; try again");
	r->err_message = NULL;
	r->err_details = NULL;
	if ((rc = extid_refused_audit(r, "oauth", provider, &f)))
		return rc;
	return extid_redirect(r, error_url(r, app, &f));
}

const route_t oauth_routes[] = {
	ROUTE_T("GET", "/v1/auth/oauth/:provider/callback", "Authentication", AUTH_NONE, "", NULL, 0, oauth_callback, NULL, "OAuth callback", TENANT_NAMED, 0),
	ROUTE_T("GET", "/v1/auth/oauth/:provider", "Authentication", AUTH_NONE, "", NULL, 0, oauth_authorize, NULL, "OAuth redirect", TENANT_NAMED, 0),
	ROUTES_END,
};
