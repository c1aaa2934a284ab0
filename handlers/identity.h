/*
 * identity.h - what the end-user auth flows (auth_*.c, users.c) use from
 * the identity administration side (identity_*.c): the tenant's auth
 * config and governance settings, templated email and SMS delivery through
 * the jobs runner, and in-app notifications.
 *
 * All calls work on the tenant in r->tenant (portal flows fill it in
 * themselves before calling) and write through r->db, so a caller that has
 * a transaction open gets the mail enqueued in that same transaction.
 */
#ifndef TESSERA_IDENTITY_H
#define TESSERA_IDENTITY_H

#include <stdbool.h>

#include <cJSON.h>

#include "../fcgi/gate.h"
#include "../fcgi/request.h"

typedef struct auth_settings {
	/* providers (auth config) */
	bool email_password;          /* default true */
	bool magic_link;              /* default true */
	bool phone_otp;               /* default true */
	bool anonymous;               /* default true */
	bool require_email_verification; /* default false: sign-up returns a session */
	/* password policy (auth config), min length also from governance */
	int password_min_length;      /* default 8 */
	bool password_require_upper;
	bool password_require_lower;
	bool password_require_digit;
	bool password_require_symbol;
	/* governance */
	long session_duration_secs;   /* default 604800 (7 days) */
	long access_token_ttl_secs;   /* default 3600 */
	const cJSON *redirect_urls;   /* array of allowed URL prefixes or NULL */
	const cJSON *ip_allowlist;    /* array of CIDR strings or NULL (no limit) */
	const char *site_url;         /* default redirect target, may be NULL */
} auth_settings_t;

/* The OAuth / OpenID Connect providers a tenant may configure under
 * "oauth" in its auth config (handlers/oauth.c): presets and "oidc", the
 * generic OpenID provider named by its issuer. */
#define OAUTH_PROVIDER_NAMES(X) X("google") X("microsoft") X("apple") X("gitlab") X("oidc")

/* The SAML identity providers a tenant names under "saml" in its auth
 * config (handlers/saml.c): at most this many characters (the identity's
 * provider is "saml:<name>"). */
#define SAML_PROVIDER_NAME_MAX 26

/* For each SAML provider of the stored auth config auth: without a key of
 * its own, a new RSA key (sealed, sp_private_key_sealed) and a self-signed
 * certificate (sp_certificate); a key, certificate and IdP metadata given
 * are checked.  E_OK or a reply-ready error (400 naming the member). */
err_t saml_providers_prepare(req_t *r, cJSON *auth);

/* Loads the tenant's settings, defaults filled in for everything never set.
 * The strings and arrays live in r->a.  Returns E_OK or a reply-ready error. */
err_t auth_settings_load(req_t *r, auth_settings_t *out);

/* NULL when password satisfies the policy (and is at most 1,024 bytes),
 * otherwise a message naming the rule it breaks. */
const char *auth_password_problem(const auth_settings_t *s, const char *password);

/* true when url may be used as a redirect_to: it starts with one of the
 * allowlisted prefixes (or equals site_url); with no allowlist configured
 * only site_url and public_url are allowed. */
bool auth_redirect_allowed(const auth_settings_t *s, const char *url);

/*
 * Renders the tenant's email template `name` ("confirm_signup", "recovery",
 * "magic_link", "email_change", "invite", "mfa_notice") with vars (an
 * object of string members such as "link", "token", "email"; branding is
 * added) and enqueues an email.send job to `to`.  Returns E_OK or an error.
 */
err_t auth_send_template(req_t *r, const char *name, const char *to, const cJSON *vars);

/* Enqueues an sms.send job of text to an E.164 number. */
err_t auth_send_sms(req_t *r, const char *to, const char *text);

/* Creates an in-app notification for user_id (and, per the user's channel
 * preferences for category, queues email/SMS copies).  data may be NULL. */
err_t notify_user(req_t *r, const char *user_id, const char *category, const char *title,
		  const char *body, const cJSON *data);

/* identity_invalidate() is in fcgi/gate.h. */

/* The tenant's effective auth config (defaults overlaid with its
 * settings), owned by the request: templates and branding for mail.c. */
err_t auth_config_effective(req_t *r, cJSON **out);

/*
 * The public part of the tenant's auth config, for GET /v1/tenant-config
 * (sign-in pages built before anyone signs in): "providers" (the enabled
 * sign-in methods: email, magic_link, phone, anonymous), "password_policy",
 * "password_min_length", "require_email_verification", "site_url" and
 * "branding".  Never templates, redirect allowlist or governance.
 */
err_t auth_public_config(req_t *r, cJSON **out);

/*
 * Sign-in with an external identity (oauth.c; saml.c uses the same).
 * kind ("oauth", "saml") names the audit actions (<kind>.signed_in,
 * <kind>.signin_refused on a <kind>_provider) and the session's amr.
 */
typedef struct extid_failure {
	const char *code;       /* for the app: invalid_id_token, ... */
	const char *desc;
} extid_failure_t;

/* Fills f; returns -1. */
int extid_fail(extid_failure_t *f, const char *code, const char *desc);
/* A 302 to url with an empty body. */
err_t extid_redirect(req_t *r, const char *url);
/* The app's URL base with the session d in its fragment, as Supabase does. */
const char *extid_session_url(req_t *r, const char *base, const char *provider, const cJSON *d);
/* Keeps st (which names the "provider") for ten minutes under the state
 * token state, with "redirect_to" (the allowlisted one given, else
 * site_url, else public_url). */
err_t extid_state_put(req_t *r, const char *kind, const auth_settings_t *s, const char *redirect_to,
		      cJSON *st, const char *state);
/* Takes the state once: *st (the request's) when it was kept for
 * provider; else the refusal is audited and answered 401 naming field. */
err_t extid_state_take(req_t *r, const char *kind, const char *state, const char *provider,
		       const char *field, cJSON **st);
/* The audit entry of a refused sign-in (<kind>.signin_refused). */
err_t extid_refused_audit(req_t *r, const char *kind, const char *provider, const extid_failure_t *f);
/*
 * In its own transaction: the user of (provider, claims.sub) — linked,
 * else found by the email claims vouch for (email, email_verified) and
 * linked, else created — the identity recorded, a session opened (*d, the
 * caller's) and <kind>.signed_in audited.  A refusal (no verified email,
 * banned user) fills f and returns E_UNAUTHORIZED.
 */
err_t extid_signin(req_t *r, const char *kind, const char *provider, const cJSON *claims, cJSON **d,
		   extid_failure_t *f);

#endif
