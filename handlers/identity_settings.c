/*
 * identity_settings.c - the tenant's auth config (providers, password
 * policy, redirect allowlist, email templates, branding) and governance
 * (audit retention, session length, password minimum, IP allowlist):
 * GET/POST /v1/auth-config, GET/PATCH /v1/governance and what the auth
 * flows read through identity.h.  The mail built from these settings is in
 * mail.c, the gate that applies governance in fcgi/gate.c, audit retention
 * in audit.c.
 *
 * Both documents are JSON rows of the tenant's _identity_settings table
 * holding only what was set; reading fills in the defaults from the spec
 * tables below, which also drive validation, so the two cannot disagree.
 * The password minimum is one setting shown in both documents
 * (password_policy.min_length and governance password_min_length).
 */
#include "identity.h"
#include "identity_admin.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/jsonx.h"
#include "../common/schema.h"
#include "audit.h"
#include "objmodel.h"
#include "routes.h"


/* --- the documents' specs ------------------------------------------------ */

/* The email templates, each named once: X(name, default subject, default
 * body) makes both its spec and its member of templates_spec. */
#define EMAIL_TEMPLATES(X) \
	X(confirm_signup, "Confirm your email for {{site_name}}", \
	  "Hello,\n\nPlease confirm your email address {{email}} for {{site_name}} by opening this link:\n\n" \
	  "{{link}}\n\nIf you did not sign up, you can ignore this email.") \
	X(recovery, "Reset your {{site_name}} password", \
	  "Hello,\n\nSomeone asked to reset the password of {{email}} on {{site_name}}. Open this link to " \
	  "choose a new one:\n\n{{link}}\n\nIf it was not you, ignore this email; your password stays as it is.") \
	X(magic_link, "Your sign-in link for {{site_name}}", \
	  "Hello,\n\nOpen this link to sign in to {{site_name}} as {{email}}:\n\n{{link}}\n\n" \
	  "The link works once and expires soon. If you did not ask for it, ignore this email.") \
	X(email_change, "Confirm your new email for {{site_name}}", \
	  "Hello,\n\nPlease confirm the change of your {{site_name}} email to {{email}} by opening this " \
	  "link:\n\n{{link}}\n\nIf you did not ask for this change, contact us.") \
	X(invite, "You have been invited to {{site_name}}", \
	  "Hello,\n\nYou have been invited to join {{site_name}} as {{email}}. Accept the invitation here:\n\n" \
	  "{{link}}") \
	X(mfa_notice, "Two-factor authentication changed on {{site_name}}", \
	  "Hello,\n\nThe two-factor authentication of your {{site_name}} account {{email}} changed: " \
	  "{{message}}\n\nIf this was not you, secure your account now.")

#define TPL_SPEC(n, subj, body) \
	static const doc_spec_t tpl_##n[] = { \
		{ "subject", DS_STR, 0, 1, 998, subj, NULL }, \
		{ "body", DS_STR, 0, 1, 100000, body, NULL }, \
		{ "html", DS_STR, DSF_NULLABLE, 1, 200000, NULL, NULL }, \
		{ NULL, 0, 0, 0, 0, NULL, NULL }, \
	};
#define TPL_MEMBER(n, subj, body) { #n, DS_OBJ, 0, 0, 0, NULL, tpl_##n },

EMAIL_TEMPLATES(TPL_SPEC)

static const doc_spec_t templates_spec[] = {
	EMAIL_TEMPLATES(TPL_MEMBER)
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

static const doc_spec_t providers_spec[] = {
	{ "email_password", DS_BOOL, 0, 0, 0, "true", NULL },
	{ "magic_link", DS_BOOL, 0, 0, 0, "true", NULL },
	{ "phone_otp", DS_BOOL, 0, 0, 0, "true", NULL },
	{ "anonymous", DS_BOOL, 0, 0, 0, "true", NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

#define PASSWORD_MIN_DEFAULT "8"
#define PASSWORD_MIN_LO 6
#define PASSWORD_MIN_HI 1024

static const doc_spec_t password_spec[] = {
	{ "min_length", DS_INT, 0, PASSWORD_MIN_LO, PASSWORD_MIN_HI, PASSWORD_MIN_DEFAULT, NULL },
	{ "require_uppercase", DS_BOOL, 0, 0, 0, "false", NULL },
	{ "require_lowercase", DS_BOOL, 0, 0, 0, "false", NULL },
	{ "require_digit", DS_BOOL, 0, 0, 0, "false", NULL },
	{ "require_symbol", DS_BOOL, 0, 0, 0, "false", NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

static const doc_spec_t branding_spec[] = {
	{ "site_name", DS_STR, DSF_NULLABLE, 1, 100, NULL, NULL },
	{ "logo_url", DS_URL, DSF_NULLABLE, 0, 2000, NULL, NULL },
	{ "primary_color", DS_COLOR, 0, 0, 0, "#4f46e5", NULL },
	{ "background_color", DS_COLOR, 0, 0, 0, "#ffffff", NULL },
	{ "text_color", DS_COLOR, 0, 0, 0, "#111827", NULL },
	{ "sender_name", DS_STR, DSF_NULLABLE, 1, 100, NULL, NULL },
	{ "footer_text", DS_STR, DSF_NULLABLE, 1, 1000, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/* Passkeys (handlers/passkeys.c): the relying party's id and name
 * (default: the host of public_url, the tenant's name) and the origins
 * allowed to use them (default: public_url's and site_url's). */
static const doc_spec_t passkeys_spec[] = {
	{ "enabled", DS_BOOL, 0, 0, 0, "true", NULL },
	{ "rp_id", DS_STR, DSF_NULLABLE, 1, 253, NULL, NULL },
	{ "rp_name", DS_STR, DSF_NULLABLE, 1, 100, NULL, NULL },
	{ "origins", DS_URLS, 0, 0, 20, "[]", NULL },
	{ "require_user_verification", DS_BOOL, 0, 0, 0, "false", NULL },
	{ "request_attestation", DS_BOOL, 0, 0, 0, "false", NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/* One OAuth / OpenID Connect provider (handlers/oauth.c).  client_secret
 * is sealed under the master key when written and never shown again
 * (client_secret_set says whether there is one); issuer names the OpenID
 * provider whose discovery document is used (each preset has its own
 * default). */
static const doc_spec_t oauth_provider_spec[] = {
	{ "enabled", DS_BOOL, 0, 0, 0, "false", NULL },
	{ "client_id", DS_STR, DSF_NULLABLE, 1, 500, NULL, NULL },
	{ "client_secret", DS_STR, DSF_NULLABLE, 1, 4000, NULL, NULL },
	{ "issuer", DS_URL, DSF_NULLABLE, 0, 2000, NULL, NULL },
	{ "scopes", DS_STR, DSF_NULLABLE, 1, 500, NULL, NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

#define OAUTH_MEMBER(name) { name, DS_OBJ, 0, 0, 0, NULL, oauth_provider_spec },
static const doc_spec_t oauth_spec[] = {
	OAUTH_PROVIDER_NAMES(OAUTH_MEMBER)
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/* One SAML 2.0 identity provider (handlers/saml.c), under a name the
 * tenant chooses: the IdP by its metadata (or entity id, SSO URL and
 * certificate), this service provider's entity id (default: its metadata
 * URL), key and certificate (made per provider when not given; the key is
 * sealed like client_secret and never shown), the attributes holding the
 * email and the name (default "email" and "name", matched against Name or
 * FriendlyName), and whether each assertion must be signed itself. */
static const doc_spec_t saml_provider_spec[] = {
	{ "enabled", DS_BOOL, 0, 0, 0, "false", NULL },
	{ "idp_metadata", DS_STR, DSF_NULLABLE, 1, 200000, NULL, NULL },
	{ "idp_entity_id", DS_STR, DSF_NULLABLE, 1, 1024, NULL, NULL },
	{ "idp_sso_url", DS_URL, DSF_NULLABLE, 0, 2000, NULL, NULL },
	{ "idp_certificate", DS_STR, DSF_NULLABLE, 1, 20000, NULL, NULL },
	{ "sp_entity_id", DS_STR, DSF_NULLABLE, 1, 1024, NULL, NULL },
	{ "sp_private_key", DS_STR, DSF_NULLABLE, 1, 20000, NULL, NULL },
	{ "sp_certificate", DS_STR, DSF_NULLABLE, 1, 20000, NULL, NULL },
	{ "email_attribute", DS_STR, DSF_NULLABLE, 1, 200, NULL, NULL },
	{ "name_attribute", DS_STR, DSF_NULLABLE, 1, 200, NULL, NULL },
	{ "require_signed_assertions", DS_BOOL, 0, 0, 0, "true", NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

static const doc_spec_t auth_config_spec[] = {
	{ "providers", DS_OBJ, 0, 0, 0, NULL, providers_spec },
	{ "passkeys", DS_OBJ, 0, 0, 0, NULL, passkeys_spec },
	{ "oauth", DS_OBJ, 0, 0, 0, NULL, oauth_spec },
	{ "saml", DS_MAP, 0, SAML_PROVIDER_NAME_MAX, 20, NULL, saml_provider_spec },
	{ "require_email_verification", DS_BOOL, 0, 0, 0, "false", NULL },
	{ "password_policy", DS_OBJ, 0, 0, 0, NULL, password_spec },
	{ "site_url", DS_URL, DSF_NULLABLE, 0, 2000, NULL, NULL },
	{ "redirect_urls", DS_URLS, 0, 0, 100, "[]", NULL },
	{ "email_templates", DS_OBJ, 0, 0, 0, NULL, templates_spec },
	{ "branding", DS_OBJ, 0, 0, 0, NULL, branding_spec },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

static const doc_spec_t governance_spec[] = {
	{ "audit_retention_days", DS_INT, 0, 1, 3650, "90", NULL },
	{ "session_duration_secs", DS_INT, 0, 300, 31536000, "604800", NULL },
	{ "access_token_ttl_secs", DS_INT, 0, 60, 86400, "3600", NULL },
	{ "password_min_length", DS_INT, 0, PASSWORD_MIN_LO, PASSWORD_MIN_HI, PASSWORD_MIN_DEFAULT, NULL },
	{ "ip_allowlist", DS_CIDRS, 0, 0, 100, "[]", NULL },
	{ "files_keep_versions", DS_INT, 0, 0, 1000, "0", NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

/* The top-level shapes for the pipeline, derived from the specs before
 * main() (as routes.c assembles the table); doc_spec_check goes deeper. */
static field_t auth_config_body[sizeof(auth_config_spec) / sizeof(auth_config_spec[0])];
static field_t governance_body[sizeof(governance_spec) / sizeof(governance_spec[0])];

__attribute__((constructor)) static void bodies_derive(void)
{
	doc_spec_fields(auth_config_spec, auth_config_body);
	doc_spec_fields(governance_spec, governance_body);
}

/* Overlays patch onto base (both objects; base is changed).  With
 * null_removes, a null member removes base's value, so the default applies
 * again (null for strings, the built-in values for objects). */
static void doc_merge(cJSON *base, const cJSON *patch, bool null_removes)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, patch) {
		cJSON *cur = cJSON_GetObjectItemCaseSensitive(base, it->string), *v;
		if (null_removes && cJSON_IsNull(it)) {
			/* Every nullable setting defaults to null, so dropping the
			 * override is the same as storing null. */
			cJSON_DeleteItemFromObjectCaseSensitive(base, it->string);
			continue;
		}
		if (cJSON_IsObject(it) && cJSON_IsObject(cur)) {
			doc_merge(cur, it, null_removes);
			continue;
		}
		v = cJSON_IsObject(it) ? cJSON_CreateObject() : cJSON_Duplicate(it, true);
		if (cJSON_IsObject(it))
			doc_merge(v, it, null_removes);
		if (cur)
			cJSON_ReplaceItemInObjectCaseSensitive(base, it->string, v);
		else
			cJSON_AddItemToObject(base, it->string, v);
	}
}

/* --- storage ------------------------------------------------------------- */

typedef struct docs {
	cJSON *auth;    /* stored overrides (objects, owned by the request) */
	cJSON *gov;
} docs_t;

static err_t docs_read(req_t *r, bool for_update, docs_t *d)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT name, value FROM %s WHERE name IN ('auth_config', 'governance')%s",
		tenant_table(r, "_identity_settings"), for_update ? " FOR UPDATE" : ""), NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	d->auth = d->gov = NULL;
	for (int i = 0; i < res->nrows; i++) {
		cJSON *v = req_own(r, cJSON_Parse(db_get(res, i, "value")));
		if (!cJSON_IsObject(v))
			continue;
		if (!strcmp(db_get(res, i, "name"), "auth_config"))
			d->auth = v;
		else
			d->gov = v;
	}
	if (!d->auth)
		d->auth = req_own(r, cJSON_CreateObject());
	if (!d->gov)
		d->gov = req_own(r, cJSON_CreateObject());
	return E_OK;
}

static err_t doc_write(req_t *r, const char *name, const cJSON *v)
{
	db_param p[] = { db_str(name), db_str(req_json_text(r, v)) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (name, value, updated_at) VALUES (?, ?, UTC_TIMESTAMP(3)) "
		"ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = VALUES(updated_at)",
		tenant_table(r, "_identity_settings")), p, 2, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* The effective auth config (auth) or governance document: defaults
 * overlaid with what is stored. */
static cJSON *doc_effective(req_t *r, const docs_t *d, bool auth)
{
	cJSON *e = req_own(r, doc_spec_defaults(auth ? auth_config_spec : governance_spec));
	doc_merge(e, auth ? d->auth : d->gov, false);
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(d->gov, "password_min_length");
	if (auth && cJSON_IsNumber(min))
		cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "password_policy"),
						       "min_length", cJSON_CreateNumber(min->valuedouble));
	return e;
}

err_t auth_config_effective(req_t *r, cJSON **out)
{
	docs_t d;
	err_t rc = docs_read(r, false, &d);
	if (!rc)
		*out = doc_effective(r, &d, true);
	return rc;
}

err_t auth_public_config(req_t *r, cJSON **out)
{
	cJSON *e;
	err_t rc = auth_config_effective(r, &e);
	if (rc)
		return rc;
	cJSON *o = cJSON_CreateObject();
	static const struct { const char *setting, *name; } providers[] = {
		{ "email_password", "email" }, { "magic_link", "magic_link" },
		{ "phone_otp", "phone" }, { "anonymous", "anonymous" },
	};
	const cJSON *pv = cJSON_GetObjectItemCaseSensitive(e, "providers");
	cJSON *list = cJSON_AddArrayToObject(o, "providers");
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pv, providers[i].setting)))
			cJSON_AddItemToArray(list, cJSON_CreateString(providers[i].name));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "passkeys"),
							  "enabled")))
		cJSON_AddItemToArray(list, cJSON_CreateString("passkey"));
	const cJSON *op;
	cJSON_ArrayForEach(op, cJSON_GetObjectItemCaseSensitive(e, "oauth"))
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "enabled")))
			cJSON_AddItemToArray(list, cJSON_CreateString(op->string));
	cJSON_ArrayForEach(op, cJSON_GetObjectItemCaseSensitive(e, "saml"))
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(op, "enabled")))
			cJSON_AddItemToArray(list, cJSON_CreateString(arena_printf(r->a, "saml:%s", op->string)));
	static const char *const copied[] = { "password_policy", "require_email_verification",
					      "site_url", "branding" };
	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, copied[i]);
		cJSON_AddItemToObject(o, copied[i], v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
	}
	const cJSON *min = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(e, "password_policy"), "min_length");
	cJSON_AddNumberToObject(o, "password_min_length", cJSON_IsNumber(min) ? min->valuedouble : 8);
	*out = o;
	return E_OK;
}

/* --- sealed secrets --------------------------------------------------------- */

/* The secret of each provider under group: in a patch, name becomes
 * name_sealed (null stays null: it removes the secret); in a document
 * shown, name_set says whether there is one. */
static const struct { const char *group, *name; } secret_members[] = {
	{ "oauth", "client_secret" },
	{ "saml", "sp_private_key" },
};

static void secrets_seal(req_t *r, cJSON *patch)
{
	for (size_t i = 0; i < sizeof(secret_members) / sizeof(secret_members[0]); i++) {
		const char *name = secret_members[i].name;
		cJSON *p;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(patch, secret_members[i].group)) {
			cJSON *sec = cJSON_DetachItemFromObjectCaseSensitive(p, name);
			if (!sec)
				continue;
			cJSON_AddItemToObject(p, arena_printf(r->a, "%s_sealed", name), cJSON_IsString(sec) ?
				cJSON_CreateString(secret_seal(r->a, g_config.master_key_bin, sec->valuestring,
							       strlen(sec->valuestring))) : cJSON_CreateNull());
			cJSON_Delete(sec);
		}
	}
}

/* An effective auth config as the API shows it: <secret>_set instead of
 * any secret. */
static cJSON *secrets_hide(req_t *r, cJSON *doc)
{
	for (size_t i = 0; i < sizeof(secret_members) / sizeof(secret_members[0]); i++) {
		const char *name = secret_members[i].name, *sealed = arena_printf(r->a, "%s_sealed", name);
		cJSON *p;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, secret_members[i].group)) {
			bool set = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p, sealed));
			cJSON_DeleteItemFromObjectCaseSensitive(p, sealed);
			cJSON_DeleteItemFromObjectCaseSensitive(p, name);
			cJSON_AddBoolToObject(p, arena_printf(r->a, "%s_set", name), set);
		}
	}
	return doc;
}

/* --- handlers ------------------------------------------------------------ */

/* The two documents share their handlers; the route's group says which. */
static bool route_is_auth_config(const req_t *r)
{
	return !strcmp(r->route->group, "Auth Config");
}

err_t identity_settings_get(req_t *r)
{
	docs_t d;
	err_t rc = docs_read(r, false, &d);
	if (rc)
		return rc;
	reply_data(r, 200, secrets_hide(r, cJSON_Duplicate(doc_effective(r, &d, route_is_auth_config(r)), true)));
	return E_OK;
}

/* Names of the top-level members of o, for the audit entry. */
static cJSON *member_names(const cJSON *o)
{
	cJSON *a = cJSON_CreateArray();
	const cJSON *it;
	cJSON_ArrayForEach(it, o)
		cJSON_AddItemToArray(a, cJSON_CreateString(it->string));
	return a;
}

/* Applies the body to the auth config or the governance document in one
 * transaction, then answers the effective document. */
err_t identity_settings_update(req_t *r)
{
	bool auth = route_is_auth_config(r);
	const char *field;
	char msg[256];
	if (!doc_spec_check(auth ? auth_config_spec : governance_spec, r->json, r->a, &field, msg,
			    sizeof(msg)))
		return req_fail_field(r, E_VALIDATION, field, "%s", msg);
	cJSON *patch = req_own(r, cJSON_Duplicate(r->json, true));
	/* The password minimum lives in governance only. */
	cJSON *gov_patch = patch;
	if (auth) {
		gov_patch = req_own(r, cJSON_CreateObject());
		cJSON *pp = cJSON_GetObjectItemCaseSensitive(patch, "password_policy");
		cJSON *min = cJSON_DetachItemFromObjectCaseSensitive(pp, "min_length");
		if (min)
			cJSON_AddItemToObject(gov_patch, "password_min_length", min);
		secrets_seal(r, patch);
	}
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	docs_t d;
	err_t rc = docs_read(r, true, &d);
	if (!rc && auth) {
		doc_merge(d.auth, patch, true);
		rc = saml_providers_prepare(r, d.auth);
		if (!rc)
			rc = doc_write(r, "auth_config", d.auth);
	}
	if (!rc && cJSON_GetArraySize(gov_patch) > 0) {
		doc_merge(d.gov, gov_patch, true);
		rc = doc_write(r, "governance", d.gov);
	}
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddItemToObject(details, "fields", member_names(r->json));
		rc = req_audit(r, auth ? "auth_config.updated" : "governance.updated",
			       auth ? "auth_config" : "governance", r->tenant.id, details);
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	identity_invalidate(r);
	reply_data(r, 200, secrets_hide(r, cJSON_Duplicate(doc_effective(r, &d, auth), true)));
	return E_OK;
}

/* --- identity.h: what the auth flows read -------------------------------- */

static bool jbool(const cJSON *o, const char *path1, const char *path2)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, path1);
	if (path2)
		v = cJSON_GetObjectItemCaseSensitive(v, path2);
	return cJSON_IsTrue(v);
}

static long jlong(const cJSON *o, const char *name, long def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNumber(v) ? (long)v->valuedouble : def;
}

err_t auth_settings_load(req_t *r, auth_settings_t *out)
{
	memset(out, 0, sizeof(*out));
	docs_t d;
	err_t rc = docs_read(r, false, &d);
	if (rc)
		return rc;
	cJSON *a = doc_effective(r, &d, true), *g = doc_effective(r, &d, false);
	out->email_password = jbool(a, "providers", "email_password");
	out->magic_link = jbool(a, "providers", "magic_link");
	out->phone_otp = jbool(a, "providers", "phone_otp");
	out->anonymous = jbool(a, "providers", "anonymous");
	out->require_email_verification = jbool(a, "require_email_verification", NULL);
	out->password_min_length = (int)jlong(g, "password_min_length", 8);
	out->password_require_upper = jbool(a, "password_policy", "require_uppercase");
	out->password_require_lower = jbool(a, "password_policy", "require_lowercase");
	out->password_require_digit = jbool(a, "password_policy", "require_digit");
	out->password_require_symbol = jbool(a, "password_policy", "require_symbol");
	out->session_duration_secs = jlong(g, "session_duration_secs", 604800);
	out->access_token_ttl_secs = jlong(g, "access_token_ttl_secs", 3600);
	const cJSON *urls = cJSON_GetObjectItemCaseSensitive(a, "redirect_urls");
	out->redirect_urls = cJSON_GetArraySize(urls) > 0 ? urls : NULL;
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(g, "ip_allowlist");
	out->ip_allowlist = cJSON_GetArraySize(ips) > 0 ? ips : NULL;
	out->site_url = json_str_of(a, "site_url");
	return E_OK;
}

const char *auth_password_problem(const auth_settings_t *s, const char *password)
{
	size_t n = strlen(password);
	if (n > 1024)
		return "password must be at most 1024 characters";
	/* Length in characters, not bytes. */
	long chars = 0;
	bool upper = false, lower = false, digit = false, symbol = false;
	for (const unsigned char *p = (const unsigned char *)password; *p; p++) {
		if ((*p & 0xC0) != 0x80)
			chars++;
		if (isupper(*p))
			upper = true;
		else if (islower(*p))
			lower = true;
		else if (isdigit(*p))
			digit = true;
		else if (*p < 0x80 && ispunct(*p))
			symbol = true;
	}
	if (chars < s->password_min_length) {
		/* a worker serves one request at a time: one buffer will do */
		static char too_short[80];
		snprintf(too_short, sizeof(too_short), "password is too short: at least %ld characters",
			 (long)s->password_min_length);
		return too_short;
	}
	if (s->password_require_upper && !upper)
		return "password must contain an upper-case letter";
	if (s->password_require_lower && !lower)
		return "password must contain a lower-case letter";
	if (s->password_require_digit && !digit)
		return "password must contain a digit";
	if (s->password_require_symbol && !symbol)
		return "password must contain a symbol";
	return NULL;
}

/* url starts with prefix, and where prefix ends is a boundary of the URL
 * (so "https://app.example.com" does not admit "https://app.example.com.evil"). */
static bool url_has_prefix(const char *url, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n == 0 || strncmp(url, prefix, n) != 0)
		return false;
	char last = prefix[n - 1], next = url[n];
	return next == '\0' || last == '/' || last == '?' || last == '#' ||
	       next == '/' || next == '?' || next == '#';
}

bool auth_redirect_allowed(const auth_settings_t *s, const char *url)
{
	if (!url || !*url || !doc_url_ok(url))
		return false;
	if (s->site_url && url_has_prefix(url, s->site_url))
		return true;
	if (!s->redirect_urls)
		return g_config.public_url && url_has_prefix(url, g_config.public_url);
	const cJSON *it;
	cJSON_ArrayForEach(it, s->redirect_urls)
		if (cJSON_IsString(it) && url_has_prefix(url, it->valuestring))
			return true;
	return false;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t identity_settings_routes[] = {
	ROUTE("GET", "/v1/auth-config", "Auth Config", AUTH_BEARER, "*", NULL, 0, identity_settings_get, NULL, "Get auth config"),
	ROUTE("POST", "/v1/auth-config", "Auth Config", AUTH_BEARER, "*", NULL, 0, identity_settings_update, auth_config_body, "Update auth config"),
	ROUTE("GET", "/v1/governance", "Governance", AUTH_BEARER, "*", NULL, 0, identity_settings_get, NULL, "Get governance settings"),
	ROUTE("PATCH", "/v1/governance", "Governance", AUTH_BEARER, "*", NULL, 0, identity_settings_update, governance_body, "Update governance settings"),
	ROUTES_END,
};
