/*
 * passkeys.c - end users' passkeys: Tessera as a WebAuthn Level 2 relying
 * party.  Registration (begin, complete) for a signed-in user,
 * authentication (begin, complete) that opens the same session a password
 * sign-in does, and the user's own list and delete on the resource engine.
 *
 * Challenges are 32 random bytes, single-use (GETDEL) in Redis for five
 * minutes, bound to the tenant and, for registration, to the user.  The
 * relying party comes from the auth config's "passkeys" member: rp_id
 * (default: the host of public_url), rp_name (default: the tenant's name)
 * and the allowed origins (default: the origins of public_url and
 * site_url).  The cryptography (CBOR, COSE keys, attestation, signatures)
 * is common/webauthn.c.
 *
 * Registration failures are 400 (the signed-in user sent a bad
 * credential); authentication failures are 401 with one message and an
 * audit entry each (passkey.signin_refused; a counter that went backwards
 * is passkey.clone_suspected).  A user-verified assertion (UV) is two
 * factors in one, so it opens an aal2 session; without UV the user's TOTP
 * factor, if any, is still asked for (mfa_required), as after a password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "../common/codec.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/webauthn.h"
#include "../fcgi/journal.h"
#include "../fcgi/resource.h"
#include "enduser.h"
#include "routes.h"

#define CHALLENGE_TTL "300"
#define CHALLENGE_BYTES 32
#define TIMEOUT_MS 300000
#define PASSKEYS_MAX 20
/* Base64url text of a credential id (at most 1,023 bytes) and of the
 * client data and attestation object a browser sends. */
#define CRED_ID_TEXT_MAX 1400
#define CLIENT_DATA_MAX 4096
#define ATTESTATION_MAX 65536

#define RL_PASSKEY 60, 10
#define SIGNIN_REFUSED "Passkey sign-in failed"

/* The relying party of the tenant. */
typedef struct rp {
	const char *id;
	const char *name;
	const cJSON *origins;      /* allowlisted origins (strings), NULL: the defaults */
	const char *site_url;
	bool require_uv;
	bool attestation;
} rp_t;

/* The origin (scheme://host[:port]) of an absolute URL, in a. */
static char *url_origin(arena_t *a, const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return arena_strdup(a, url);
	p += 3;
	return arena_strndup(a, url, (size_t)(p - url) + strcspn(p, "/?#"));
}

/* The host of an absolute URL, without port, in a. */
static char *url_host(arena_t *a, const char *url)
{
	char *o = url_origin(a, url), *h = strstr(o, "://");
	h = h ? h + 3 : o;
	if (*h == '[')
		return arena_strndup(a, h + 1, strcspn(h + 1, "]"));
	h[strcspn(h, ":")] = '\0';
	return h;
}

static err_t rp_load(req_t *r, rp_t *rp)
{
	cJSON *cfg;
	err_t rc = auth_config_effective(r, &cfg);
	if (rc)
		return rc;
	const cJSON *pk = cJSON_GetObjectItemCaseSensitive(cfg, "passkeys");
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pk, "enabled")))
		return req_fail(r, E_FORBIDDEN, "Passkeys are disabled for this tenant");
	const char *id = json_str_of(pk, "rp_id"), *name = json_str_of(pk, "rp_name");
	rp->id = id ? id : url_host(r->a, g_config.public_url);
	rp->name = name ? name : r->tenant.name ? r->tenant.name : rp->id;
	const cJSON *origins = cJSON_GetObjectItemCaseSensitive(pk, "origins");
	rp->origins = cJSON_GetArraySize(origins) > 0 ? origins : NULL;
	rp->site_url = json_str_of(cfg, "site_url");
	rp->require_uv = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pk, "require_user_verification"));
	rp->attestation = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pk, "request_attestation"));
	return E_OK;
}

/* Whether origin (from client data) is one the relying party accepts. */
static bool rp_origin_allowed(req_t *r, const rp_t *rp, const char *origin)
{
	if (rp->origins) {
		const cJSON *o;
		cJSON_ArrayForEach(o, rp->origins)
			if (cJSON_IsString(o) && !strcmp(url_origin(r->a, o->valuestring), origin))
				return true;
		return false;
	}
	return !strcmp(url_origin(r->a, g_config.public_url), origin) ||
	       (rp->site_url && !strcmp(url_origin(r->a, rp->site_url), origin));
}

/* --- challenges ------------------------------------------------------------- */

static const char *challenge_key(req_t *r, const char *kind, const char *challenge)
{
	char hash[65];
	sha256_hex(hash, challenge, strlen(challenge));
	return cache_tkey(r->a, arena_printf(r->a, "webauthn:%s", kind), r->tenant.id, "%s", hash);
}

/* A new challenge of kind ("reg", "auth") remembering state for 5 minutes. */
static err_t challenge_new(req_t *r, const char *kind, const cJSON *state, char **challenge)
{
	*challenge = random_token(r->a, "", CHALLENGE_BYTES);
	redisReply *rep;
	const char *argv[] = { "SET", challenge_key(r, kind, *challenge), req_json_text(r, state), "EX",
			       CHALLENGE_TTL };
	if (cache_cmd(r->cache, r->a, &rep, 5, argv))
		return req_fail(r, E_UNAVAILABLE, "Passkey state is unavailable; try again shortly");
	return E_OK;
}

/* Takes the challenge's state (once); *state NULL when there is none. */
static err_t challenge_take(req_t *r, const char *kind, const char *challenge, cJSON **state)
{
	redisReply *rep;
	const char *argv[] = { "GETDEL", challenge_key(r, kind, challenge) };
	if (cache_cmd(r->cache, r->a, &rep, 2, argv))
		return req_fail(r, E_UNAVAILABLE, "Passkey state is unavailable; try again shortly");
	*state = rep->type == REDIS_REPLY_STRING ? req_own(r, cJSON_Parse(rep->str)) : NULL;
	return E_OK;
}

/* --- the credential a browser sends ------------------------------------------ */

/* A PublicKeyCredential as JSON (base64url binary members), decoded. */
typedef struct cred_in {
	const char *id;                 /* base64url credential id */
	unsigned char *raw_id;
	size_t raw_id_len;
	char *client_data;              /* clientDataJSON text */
	size_t client_data_len;
	cJSON *cd;                      /* parsed */
	unsigned char cd_hash[32];
	unsigned char *bin;             /* attestationObject or authenticatorData */
	size_t bin_len;
	unsigned char *sig;             /* assertion signature */
	size_t sig_len;
	const char *user_handle;        /* assertion userHandle (base64url), may be NULL */
	const cJSON *transports;
} cred_in_t;

/* base64url member name of o (called where.name in messages), decoded
 * into the arena (at most max text chars), NUL-terminated. */
static err_t b64_member(req_t *r, const cJSON *o, const char *where, const char *name, size_t max,
			unsigned char **out, size_t *len)
{
	const char *s = json_str_of(o, name);
	const char *field = arena_printf(r->a, "%s.%s", where, name);
	if (!s || !*s || strlen(s) > max)
		return req_fail_field(r, E_VALIDATION, field, "%s must be base64url text of at most %zu characters",
				      field, max);
	*out = arena_alloc(r->a, strlen(s) + 1);
	long n = b64url_decode(*out, strlen(s) + 1, s, strlen(s));
	if (n <= 0)
		return req_fail_field(r, E_VALIDATION, field, "%s is not valid base64url", field);
	(*out)[n] = '\0';
	*len = (size_t)n;
	return E_OK;
}

/* Reads body.credential; bin_name is "attestationObject" or
 * "authenticatorData"; type the client data type it must carry. */
static err_t cred_read(req_t *r, const char *bin_name, const char *type, cred_in_t *c)
{
	memset(c, 0, sizeof(*c));
	const cJSON *cr = cJSON_GetObjectItemCaseSensitive(r->json, "credential");
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(cr, "response");
	if (!cJSON_IsObject(cr) || !cJSON_IsObject(resp))
		return req_fail_field(r, E_VALIDATION, "credential",
				      "credential must be a PublicKeyCredential as JSON (id, rawId, type, response)");
	const char *t = json_str_of(cr, "type");
	if (t && strcmp(t, "public-key"))
		return req_fail_field(r, E_VALIDATION, "credential.type", "credential.type must be public-key");
	unsigned char *cd;
	static const char cred[] = "credential", resp_name[] = "credential.response";
	err_t rc = b64_member(r, cr, cred, json_str_of(cr, "rawId") ? "rawId" : "id", CRED_ID_TEXT_MAX,
			      &c->raw_id, &c->raw_id_len);
	if (!rc)
		rc = b64_member(r, resp, resp_name, "clientDataJSON", CLIENT_DATA_MAX, &cd, &c->client_data_len);
	if (!rc)
		rc = b64_member(r, resp, resp_name, bin_name, ATTESTATION_MAX, &c->bin, &c->bin_len);
	if (!rc && !strcmp(bin_name, "authenticatorData"))
		rc = b64_member(r, resp, resp_name, "signature", 2048, &c->sig, &c->sig_len);
	if (rc)
		return rc;
	char *id = arena_alloc(r->a, b64url_len(c->raw_id_len) + 1);
	c->id = b64url_encode(id, b64url_len(c->raw_id_len) + 1, c->raw_id, c->raw_id_len);
	c->client_data = (char *)cd;
	c->cd = req_own(r, cJSON_ParseWithLength(c->client_data, c->client_data_len));
	if (!cJSON_IsObject(c->cd) || !json_str_of(c->cd, "challenge") || !json_str_of(c->cd, "origin"))
		return req_fail_field(r, E_VALIDATION, "credential.response.clientDataJSON",
				      "clientDataJSON must be JSON with type, challenge and origin");
	if (!json_str_of(c->cd, "type") || strcmp(json_str_of(c->cd, "type"), type))
		return req_fail_field(r, E_VALIDATION, "credential.response.clientDataJSON",
				      "clientDataJSON.type must be %s", type);
	crypto_hash_sha256(c->cd_hash, cd, c->client_data_len);
	const char *uh = json_str_of(resp, "userHandle");
	c->user_handle = uh && *uh ? uh : NULL;
	c->transports = cJSON_GetObjectItemCaseSensitive(resp, "transports");
	return E_OK;
}

/* The checks of authenticator data both ceremonies share: rpIdHash, user
 * presence and, when required, user verification.  NULL when they pass. */
static const char *authdata_problem(const rp_t *rp, const wa_authdata_t *ad)
{
	unsigned char want[32];
	crypto_hash_sha256(want, (const unsigned char *)rp->id, strlen(rp->id));
	if (sodium_memcmp(want, ad->rp_id_hash, 32) != 0)
		return "the authenticator data is for another relying party id";
	if (!(ad->flags & WA_FLAG_UP))
		return "the user was not present (UP flag unset)";
	if (rp->require_uv && !(ad->flags & WA_FLAG_UV))
		return "user verification is required (UV flag unset)";
	return NULL;
}

/* --- registration ------------------------------------------------------------ */

const field_t passkey_register_body[] = {
	{ "credential", FT_OBJECT, FF_REQUIRED, 0, 0 },
	{ "friendly_name", FT_STRING, FF_NULLABLE, 1, 100 },
	{ NULL, 0, 0, 0, 0 },
};

/* The user's WebAuthn user handle: the one of their passkeys, else new. */
static err_t user_handle_of(req_t *r, const char *uid, const char **handle)
{
	db_result *res;
	db_param p[] = { db_str(uid) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT user_handle FROM %s WHERE user_id = ? ORDER BY id LIMIT 1",
		tenant_table(r, "_passkeys")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	*handle = res->nrows ? db_cell(res, 0, 0) : random_token(r->a, "", 32);
	return E_OK;
}

static cJSON *cred_descriptor(const char *id, const char *transports)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "type", "public-key");
	cJSON_AddStringToObject(d, "id", id);
	cJSON *t = transports ? cJSON_Parse(transports) : NULL;
	cJSON_AddItemToObject(d, "transports", cJSON_IsArray(t) ? t : cJSON_CreateArray());
	if (t && !cJSON_IsArray(t))
		cJSON_Delete(t);
	return d;
}

/* The user's credentials as descriptors (excludeCredentials, allowCredentials). */
static err_t user_credentials(req_t *r, const char *uid, cJSON *list, int *count)
{
	db_result *res;
	db_param p[] = { db_str(uid) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT credential_id, transports FROM %s WHERE user_id = ? ORDER BY id",
		tenant_table(r, "_passkeys")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	for (int i = 0; i < res->nrows; i++)
		cJSON_AddItemToArray(list, cred_descriptor(db_cell(res, i, 0), db_cell(res, i, 1)));
	if (count)
		*count = res->nrows;
	return E_OK;
}

static void add_param(cJSON *params, int alg)
{
	cJSON *p = cJSON_CreateObject();
	cJSON_AddStringToObject(p, "type", "public-key");
	cJSON_AddNumberToObject(p, "alg", alg);
	cJSON_AddItemToArray(params, p);
}

err_t passkey_register_begin(req_t *r)
{
	rp_t rp;
	db_result *u;
	const char *handle = NULL;
	err_t rc = user_current(r, false, &u);
	if (rc || (rc = rp_load(r, &rp)))
		return rc;
	const char *uid = db_get(u, 0, "id");
	if ((rc = user_handle_of(r, uid, &handle)))
		return rc;
	cJSON *state = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(state, "user_id", uid);
	cJSON_AddStringToObject(state, "user_handle", handle);
	char *challenge;
	if ((rc = challenge_new(r, "reg", state, &challenge)))
		return rc;
	const char *label = db_get(u, 0, "email") ? db_get(u, 0, "email") :
			    db_get(u, 0, "phone") ? db_get(u, 0, "phone") : uid;
	cJSON *o = cJSON_CreateObject();
	cJSON *rpj = cJSON_AddObjectToObject(o, "rp");
	cJSON_AddStringToObject(rpj, "id", rp.id);
	cJSON_AddStringToObject(rpj, "name", rp.name);
	cJSON *user = cJSON_AddObjectToObject(o, "user");
	cJSON_AddStringToObject(user, "id", handle);
	cJSON_AddStringToObject(user, "name", label);
	cJSON_AddStringToObject(user, "displayName", label);
	cJSON_AddStringToObject(o, "challenge", challenge);
	cJSON *params = cJSON_AddArrayToObject(o, "pubKeyCredParams");
	add_param(params, COSE_ES256);
	add_param(params, COSE_EDDSA);
	add_param(params, COSE_RS256);
	cJSON_AddNumberToObject(o, "timeout", TIMEOUT_MS);
	int n;
	rc = user_credentials(r, uid, cJSON_AddArrayToObject(o, "excludeCredentials"), &n);
	if (!rc && n >= PASSKEYS_MAX)
		rc = req_fail(r, E_CONFLICT, "A user may have at most %d passkeys", PASSKEYS_MAX);
	if (rc) {
		cJSON_Delete(o);
		return rc;
	}
	cJSON *sel = cJSON_AddObjectToObject(o, "authenticatorSelection");
	cJSON_AddStringToObject(sel, "residentKey", "preferred");
	cJSON_AddFalseToObject(sel, "requireResidentKey");
	cJSON_AddStringToObject(sel, "userVerification", rp.require_uv ? "required" : "preferred");
	cJSON_AddStringToObject(o, "attestation", rp.attestation ? "direct" : "none");
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "options", o);
	reply_data(r, 200, d);
	return E_OK;
}

/* The transports a browser reported, as a JSON array of known names. */
static char *transports_text(req_t *r, const cJSON *t)
{
	static const char *const known[] = { "usb", "nfc", "ble", "internal", "hybrid", "smart-card", NULL };
	cJSON *out = req_own(r, cJSON_CreateArray());
	const cJSON *it;
	cJSON_ArrayForEach(it, t) {
		for (int i = 0; cJSON_IsString(it) && known[i]; i++)
			if (!strcmp(it->valuestring, known[i]))
				cJSON_AddItemToArray(out, cJSON_CreateString(known[i]));
	}
	return req_json_text(r, out);
}

static err_t passkey_store(req_t *r, const char *id, const char *uid, const cJSON *state,
			   const cred_in_t *c, const wa_attestation_t *att)
{
	char hash[65], aaguid[37];
	sha256_hex(hash, c->id, strlen(c->id));
	webauthn_aaguid_text(att->ad.aaguid, aaguid);
	char *key = arena_alloc(r->a, b64url_len(att->ad.cose_key_len) + 1);
	b64url_encode(key, b64url_len(att->ad.cose_key_len) + 1, att->ad.cose_key, att->ad.cose_key_len);
	db_param p[] = {
		db_str(id), db_str(uid), db_str(c->id), db_str(hash), db_str(key), db_int(att->alg),
		db_int((long long)att->ad.sign_count), db_str(transports_text(r, c->transports)),
		db_str(aaguid), db_str(att->fmt), db_str(json_str_of(state, "user_handle")),
		db_str(body_str(r, "friendly_name")), db_int((att->ad.flags & WA_FLAG_BE) != 0),
	};
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, user_id, credential_id, credential_hash, public_key, alg, sign_count, "
		"transports, aaguid, attestation_format, user_handle, friendly_name, backup_eligible, "
		"created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), "
		"UTC_TIMESTAMP(3))", tenant_table(r, "_passkeys")), p, 13, NULL);
	if (st == DB_DUPLICATE)
		return req_fail_field(r, E_CONFLICT, "credential", "This passkey is already registered");
	return st ? req_db_error(r, st) : E_OK;
}

extern const resource_t passkey_res;

err_t passkey_register_complete(req_t *r)
{
	rp_t rp;
	db_result *u;
	cred_in_t c;
	cJSON *state;
	err_t rc = user_current(r, false, &u);
	if (rc || (rc = rp_load(r, &rp)) ||
	    (rc = cred_read(r, "attestationObject", "webauthn.create", &c)) ||
	    (rc = challenge_take(r, "reg", json_str_of(c.cd, "challenge"), &state)))
		return rc;
	const char *uid = db_get(u, 0, "id");
	if (!state || !json_str_of(state, "user_id") || strcmp(json_str_of(state, "user_id"), uid))
		return req_fail_field(r, E_VALIDATION, "credential",
				      "The challenge is unknown, used or expired; begin the registration again");
	if (!rp_origin_allowed(r, &rp, json_str_of(c.cd, "origin")))
		return req_fail_field(r, E_VALIDATION, "credential",
				      "The origin %s is not allowed for passkeys of this tenant",
				      json_str_of(c.cd, "origin"));
	wa_attestation_t att;
	const char *why;
	if (webauthn_attestation_verify(r->a, c.bin, c.bin_len, c.cd_hash, &att, &why))
		return req_fail_field(r, E_VALIDATION, "credential", "The attestation is not valid: %s", why);
	if ((why = authdata_problem(&rp, &att.ad)))
		return req_fail_field(r, E_VALIDATION, "credential", "The attestation is not valid: %s", why);
	if (att.ad.cred_id_len != c.raw_id_len || memcmp(att.ad.cred_id, c.raw_id, c.raw_id_len))
		return req_fail_field(r, E_VALIDATION, "credential",
				      "The credential id differs from the one in the authenticator data");
	char id[40];
	id_new(id, sizeof(id), "pk_");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	rc = passkey_store(r, id, uid, state, &c, &att);
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(details, "user_id", uid);
		cJSON_AddStringToObject(details, "attestation_format", att.fmt);
		rc = req_audit(r, "passkey.registered", "passkey", id, details);
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	res_ctx_t ctx;
	cJSON *row;
	if ((rc = resource_ctx(r, &passkey_res, OP_GET, &ctx)) ||
	    (rc = resource_fetch(r, &ctx, id, false, &row)))
		return rc;
	reply_data(r, 200, cJSON_Duplicate(row, true));
	return E_OK;
}

/* --- authentication ------------------------------------------------------------ */

const field_t passkey_auth_begin_body[] = {
	{ "email", FT_STRING, FF_NULLABLE, 0, 320 },
	{ "tenant_id", FT_STRING, 0, 0, 64 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t passkey_auth_complete_body[] = {
	{ "credential", FT_OBJECT, FF_REQUIRED, 0, 0 },
	{ "tenant_id", FT_STRING, 0, 0, 64 },
	{ NULL, 0, 0, 0, 0 },
};

/*
 * allowCredentials for an email: the user's credentials, or, when there is
 * no such user (or they have none), one made-up descriptor derived from the
 * email under the master key, the same every time, so the answer does not
 * tell whether the account exists.
 */
static err_t allow_for_email(req_t *r, const char *email, cJSON *list)
{
	db_result *u;
	int n = 0;
	err_t rc = user_find(r, "email", email, false, &u);
	if (!rc && u->nrows)
		rc = user_credentials(r, db_get(u, 0, "id"), list, &n);
	if (rc || n > 0)
		return rc;
	unsigned char mac[32];
	const char *msg = arena_printf(r->a, "passkey-decoy:%s:%s", r->tenant.id, email);
	hmac_sha256(mac, g_config.master_key_bin, 32, msg, strlen(msg));
	char id[48];
	b64url_encode(id, sizeof(id), mac, sizeof(mac));
	cJSON_AddItemToArray(list, cred_descriptor(id, "[\"internal\",\"hybrid\"]"));
	return E_OK;
}

err_t passkey_auth_begin(req_t *r)
{
	rp_t rp;
	const char *email = body_str(r, "email");
	err_t rc = rp_load(r, &rp);
	if (rc || (rc = auth_rate(r, "passkey", email, RL_PASSKEY)))
		return rc;
	if (email && !email_address_valid(email))
		return req_fail_field(r, E_VALIDATION, "email", "email must be a valid email address");
	cJSON *allow = req_own(r, cJSON_CreateArray());
	if (email && (rc = allow_for_email(r, email, allow)))
		return rc;
	char *challenge;
	cJSON *state = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(state, "tenant_id", r->tenant.id);
	if ((rc = challenge_new(r, "auth", state, &challenge)))
		return rc;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "challenge", challenge);
	cJSON_AddNumberToObject(o, "timeout", TIMEOUT_MS);
	cJSON_AddStringToObject(o, "rpId", rp.id);
	cJSON_AddItemToObject(o, "allowCredentials", cJSON_Duplicate(allow, true));
	cJSON_AddStringToObject(o, "userVerification", rp.require_uv ? "required" : "preferred");
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "options", o);
	reply_data(r, 200, d);
	return E_OK;
}

/* Refuses a sign-in: 401 with one message, and an audit entry saying why. */
static err_t signin_refused(req_t *r, const char *action, const char *pk_id, const char *why)
{
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "reason", why);
	cJSON_AddStringToObject(details, "ip", r->remote_addr ? r->remote_addr : "");
	err_t rc = req_audit(r, action, "passkey", pk_id ? pk_id : "unknown", details);
	if (rc)
		return rc;
	return req_fail(r, E_UNAUTHORIZED, SIGNIN_REFUSED ": %s", why);
}

static err_t passkey_row(req_t *r, const char *cred_id, db_result **res)
{
	char hash[65];
	sha256_hex(hash, cred_id, strlen(cred_id));
	db_param p[] = { db_str(hash) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, user_id, public_key, sign_count, user_handle FROM %s WHERE credential_hash = ? "
		"FOR UPDATE", tenant_table(r, "_passkeys")), p, 1, res);
	return st ? req_db_error(r, st) : E_OK;
}

/* The assertion's signature, counter and user checks against the stored
 * passkey pk; NULL when they pass, else why (*clone set for a counter
 * that went backwards). */
static const char *assertion_problem(req_t *r, const db_result *pk, const cred_in_t *c,
				     const wa_authdata_t *ad, bool *clone)
{
	*clone = false;
	const char *stored = db_get(pk, 0, "public_key");
	unsigned char *key = arena_alloc(r->a, strlen(stored) + 1);
	long klen = b64url_decode(key, strlen(stored) + 1, stored, strlen(stored));
	size_t mlen = c->bin_len + 32;
	unsigned char *msg = arena_alloc(r->a, mlen);
	memcpy(msg, c->bin, c->bin_len);
	memcpy(msg + c->bin_len, c->cd_hash, 32);
	const char *why;
	if (klen <= 0 || webauthn_cose_verify(key, (size_t)klen, msg, mlen, c->sig, c->sig_len, &why))
		return "the signature does not verify";
	if (c->user_handle && strcmp(c->user_handle, db_get(pk, 0, "user_handle")))
		return "the user handle does not match the passkey";
	long long before = db_get_int(pk, 0, "sign_count", 0);
	if ((before > 0 || ad->sign_count > 0) && (long long)ad->sign_count <= before) {
		*clone = true;
		return "the signature counter went backwards (possible cloned authenticator)";
	}
	return NULL;
}

/* Verifies the assertion in c against the stored passkey and records its
 * use (in the open transaction); *pk_out receives the passkey row. */
static err_t assertion_verify(req_t *r, const rp_t *rp, const cred_in_t *c, db_result **pk_out,
			      bool *uv)
{
	cJSON *state;
	db_result *pk;
	wa_authdata_t ad;
	const char *why;
	bool clone = false;
	err_t rc = challenge_take(r, "auth", json_str_of(c->cd, "challenge"), &state);
	if (rc)
		return rc;
	if (!state)
		return signin_refused(r, "passkey.signin_refused", NULL,
				      "the challenge is unknown, used or expired");
	if (!rp_origin_allowed(r, rp, json_str_of(c->cd, "origin")))
		return signin_refused(r, "passkey.signin_refused", NULL, "the origin is not allowed");
	if ((rc = passkey_row(r, c->id, &pk)))
		return rc;
	if (pk->nrows == 0)
		return signin_refused(r, "passkey.signin_refused", NULL, "the passkey is not registered");
	const char *pk_id = db_get(pk, 0, "id");
	if (webauthn_authdata_parse(c->bin, c->bin_len, &ad, &why) || (why = authdata_problem(rp, &ad)) ||
	    (why = assertion_problem(r, pk, c, &ad, &clone)))
		return signin_refused(r, clone ? "passkey.clone_suspected" : "passkey.signin_refused", pk_id, why);
	db_param p[] = { db_int((long long)ad.sign_count), db_str(pk_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET sign_count = ?, last_used_at = UTC_TIMESTAMP(3), updated_at = UTC_TIMESTAMP(3) "
		"WHERE id = ?", tenant_table(r, "_passkeys")), p, 2, NULL);
	if (st)
		return req_db_error(r, st);
	*pk_out = pk;
	*uv = (ad.flags & WA_FLAG_UV) != 0;
	return E_OK;
}

err_t passkey_auth_complete(req_t *r)
{
	rp_t rp;
	cred_in_t c;
	const char *t = body_str(r, "tenant_id");
	if (t && strcmp(t, r->tenant.id))
		return req_fail_field(r, E_VALIDATION, "tenant_id", "tenant_id does not match the credentials' tenant");
	err_t rc = rp_load(r, &rp);
	if (rc || (rc = auth_rate(r, "passkey", NULL, RL_PASSKEY)) ||
	    (rc = cred_read(r, "authenticatorData", "webauthn.get", &c)))
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_result *pk = NULL, *u = NULL;
	bool uv = false;
	rc = assertion_verify(r, &rp, &c, &pk, &uv);
	if (!rc)
		rc = user_find(r, "id", db_get(pk, 0, "user_id"), false, &u);
	if (!rc && (u->nrows == 0 || db_get_int(u, 0, "banned", 0)))
		rc = signin_refused(r, "passkey.signin_refused", db_get(pk, 0, "id"), "the user may not sign in");
	if (rc) {
		/* The refusal's audit entry stays; nothing else was written. */
		(void)req_tx_end(r, E_OK);
		return rc;
	}
	rc = uv ? session_open(r, u, "aal2", "passkey", 200) : signin_finish(r, u, "passkey", 200);
	return db_in_transaction(r->db) ? req_tx_end(r, rc) : rc;
}

/* --- the user's passkeys on the engine -------------------------------------------- */

static const res_field_t passkey_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "user_id", .type = COL_STR },
	{ .name = "credential_id", .type = COL_STR },
	{ .name = "friendly_name", .type = COL_STR },
	{ .name = "transports", .type = COL_JSON },
	{ .name = "aaguid", .type = COL_STR },
	{ .name = "attestation_format", .type = COL_STR },
	{ .name = "backup_eligible", .type = COL_BOOL },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ .name = "last_used_at", .type = COL_TIME },
	{ NULL },
};

/* Every statement sees the calling user's passkeys only; an API key
 * (no user) sees none. */
static const char *passkey_scope(req_t *r, const res_ctx_t *c, db_param *p, int *np)
{
	(void)c;
	p[(*np)++] = db_str(r->who.kind == PRINCIPAL_USER ? r->who.user_id : "");
	return "user_id = ?";
}

static err_t passkey_list_check(req_t *r, res_ctx_t *c)
{
	(void)c;
	if (r->who.kind != PRINCIPAL_USER)
		return req_fail(r, E_FORBIDDEN, "This endpoint needs an end-user access token");
	return E_OK;
}

/* A user with no password and no other passkey would be locked out. */
static err_t passkey_may_delete(req_t *r, res_ctx_t *c)
{
	db_result *u, *n;
	err_t rc = passkey_list_check(r, c);
	if (rc || (rc = user_need(r, r->who.user_id, false, &u)))
		return rc;
	if (db_get(u, 0, "password_hash"))
		return E_OK;
	db_param p[] = { db_str(r->who.user_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE user_id = ?", tenant_table(r, "_passkeys")), p, 1, &n);
	if (st)
		return req_db_error(r, st);
	if (atoll(db_cell(n, 0, 0)) <= 1)
		return req_fail(r, E_CONFLICT,
				"This is the last passkey of a user without a password; set a password first");
	return E_OK;
}

static const res_hooks_t passkey_hooks = {
	.scope = passkey_scope,
	.list = passkey_list_check,
	.before_delete = passkey_may_delete,
};

/* Created by passkey_register_complete; the engine lists and deletes. */
const resource_t passkey_res = {
	.name = "Passkey",
	.type = "passkey",
	.table = "_passkeys",
	.home = RES_TENANT,
	.id_param = "credential_id",
	.id_prefix = "pk_",
	.fields = passkey_fields,
	.order = "id",
	.flags = RES_USER_WRITES,
	.list_max = PASSKEYS_MAX,
	.list_shape = LIST_ARRAY,
	.hooks = &passkey_hooks,
	.deleted_id = "id",
};

const route_t passkeys_routes[] = {
	CRUD("DELETE", "/v1/auth/passkeys/:credential_id", "Passkeys", "", "none", R_USER, passkey_res, OP_DELETE, "Delete passkey"),
	CRUD("GET", "/v1/auth/passkeys", "Passkeys", "", "none", R_USER, passkey_res, OP_LIST, "List passkeys"),
	ROUTE("POST", "/v1/auth/passkeys/authenticate/begin", "Passkeys", AUTH_BEARER, "", "none", R_USER, passkey_auth_begin, passkey_auth_begin_body, "Begin passkey authentication"),
	ROUTE("POST", "/v1/auth/passkeys/authenticate/complete", "Passkeys", AUTH_BEARER, "", "none", R_USER, passkey_auth_complete, passkey_auth_complete_body, "Complete passkey authentication"),
	ROUTE("POST", "/v1/auth/passkeys/register/begin", "Passkeys", AUTH_BEARER, "", "none", R_USER, passkey_register_begin, NULL, "Begin passkey registration"),
	ROUTE("POST", "/v1/auth/passkeys/register/complete", "Passkeys", AUTH_BEARER, "", "none", R_USER, passkey_register_complete, passkey_register_body, "Complete passkey registration"),
	ROUTES_END,
};
