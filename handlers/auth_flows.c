/*
 * auth_flows.c - the end-user flows: sign-up, log-in, anonymous sessions,
 * the current user (get, update, GDPR export), email verification,
 * password reset, magic links and SMS one-time codes.
 *
 * Each flow works on the tenant in r->tenant, so the portal routes
 * (auth_portal.c) run the very same functions once they have loaded the
 * tenant named in the request.  Rate limits (per client address and per
 * email or phone, a minute):
 *
 *   flow                 address  target
 *   login                60       10
 *   signup, anonymous    30       5
 *   forgot/magic/otp     30       5       (sending mail or SMS)
 *   otp verify           60       10
 *   token verify/reset   60       -
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/password.h"
#include "../common/timefmt.h"
#include "enduser.h"
#include "objmodel.h"
#include "replies.h"
#include "auth_flows.h"
#include "routes.h"

#define METADATA_MAX 16384

#define RL_LOGIN 60, 10
#define RL_SIGNUP 30, 5
#define RL_SEND 30, 5
#define RL_OTP_VERIFY 60, 10
#define RL_TOKEN 60, 0

#define SENT_MESSAGE "If an account exists for this address, a message has been sent to it"

/* The body members several flows take, each defined once.  tenant_id
 * names the tenant on the portal routes, which carry no credential. */
#define BODY_EMAIL(flags) { "email", FT_STRING, flags, 0, 320 }
#define BODY_PASSWORD(flags) { "password", FT_STRING, flags, 0, 0 }
#define BODY_TOKEN { "token", FT_STRING, FF_REQUIRED, 1, 128 }
#define BODY_REDIRECT_TO { "redirect_to", FT_STRING, 0, 1, 2048 }
#define BODY_TURNSTILE { "turnstile_token", FT_STRING, 0, 0, 4096 }
#define BODY_TENANT_ID { "tenant_id", FT_STRING, 0, 0, 64 }

const field_t auth_signup_body[] = {
	BODY_EMAIL(0),
	BODY_PASSWORD(FF_REQUIRED),
	{ "phone", FT_STRING, FF_NULLABLE, 0, 20 },
	{ "user_metadata", FT_OBJECT, FF_NULLABLE, 0, 0 },
	{ "data", FT_OBJECT, FF_NULLABLE, 0, 0 },
	BODY_REDIRECT_TO,
	BODY_TURNSTILE,
	BODY_TENANT_ID,
	{ NULL, 0, 0, 0, 0 },
};

const field_t auth_login_body[] = {
	BODY_EMAIL(FF_REQUIRED),
	BODY_PASSWORD(FF_REQUIRED),
	BODY_TURNSTILE,
	BODY_TENANT_ID,
	{ NULL, 0, 0, 0, 0 },
};

const field_t auth_email_body[] = {
	BODY_EMAIL(FF_REQUIRED),
	BODY_REDIRECT_TO,
	BODY_TURNSTILE,
	BODY_TENANT_ID,
	{ NULL, 0, 0, 0, 0 },
};

const field_t auth_token_body[] = {
	BODY_TOKEN,
	{ "type", FT_STRING, 0, 1, 32, (const char *const[]){ "signup", "email", "email_change", NULL } },
	BODY_TENANT_ID,
	{ NULL, 0, 0, 0, 0 },
};

const field_t auth_reset_body[] = {
	BODY_TOKEN,
	BODY_PASSWORD(FF_REQUIRED),
	BODY_TENANT_ID,
	{ NULL, 0, 0, 0, 0 },
};

const field_t auth_otp_send_body[] = {
	{ "phone", FT_STRING, FF_REQUIRED, 1, 20 },
	BODY_TENANT_ID,
	{ NULL, 0, 0, 0, 0 },
};

const field_t auth_otp_verify_body[] = {
	{ "phone", FT_STRING, FF_REQUIRED, 1, 20 },
	{ "code", FT_STRING, FF_REQUIRED, 1, 16 },
	{ "token", FT_STRING, 0, 1, 16 },
	BODY_TENANT_ID,
	{ NULL, 0, 0, 0, 0 },
};

const field_t auth_user_update_body[] = {
	BODY_EMAIL(0),
	{ "phone", FT_STRING, FF_NULLABLE, 0, 20 },
	BODY_PASSWORD(0),
	{ "user_metadata", FT_OBJECT, 0, 0, 0 },
	{ "data", FT_OBJECT, 0, 0, 0 },
	BODY_REDIRECT_TO,
	{ NULL, 0, 0, 0, 0 },
};

/* --- shared checks ------------------------------------------------------------- */

/* A bearer flow may name its tenant too, but only the credential's. */
static err_t tenant_matches(req_t *r)
{
	const char *t = body_str(r, "tenant_id");
	if (t && strcmp(t, r->tenant.id) != 0)
		return req_fail_field(r, E_VALIDATION, "tenant_id",
				      "tenant_id does not match the credentials' tenant");
	return E_OK;
}

/* Loads the settings; the provider flag is read from them by offset, so
 * that a disabled flow answers 403 before anything else. */
static err_t flow_start(req_t *r, auth_settings_t *s, size_t provider, const char *what)
{
	err_t rc = tenant_matches(r);
	if (!rc)
		rc = auth_settings_load(r, s);
	if (!rc && what && !*(const bool *)((const char *)s + provider))
		rc = req_fail(r, E_FORBIDDEN, "%s is disabled for this tenant", what);
	return rc;
}

#define PROVIDER(f) offsetof(auth_settings_t, f)

static err_t email_field(req_t *r, const char *field, const char **out)
{
	const char *e = body_str(r, field);
	if (!e || !email_address_valid(e))
		return req_fail_field(r, E_VALIDATION, field, "%s must be a valid email address", field);
	*out = e;
	return E_OK;
}

/* user_metadata (or Supabase's "data") as JSON text, NULL when absent. */
static err_t metadata_field(req_t *r, char **out)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(r->json, "user_metadata");
	const char *field = "user_metadata";
	if (!m || cJSON_IsNull(m)) {
		m = cJSON_GetObjectItemCaseSensitive(r->json, "data");
		field = "data";
	}
	*out = m && !cJSON_IsNull(m) ? req_json_text(r, m) : NULL;
	if (*out && strlen(*out) > METADATA_MAX)
		return req_fail_field(r, E_VALIDATION, field, "%s must be at most %d bytes", field,
				      METADATA_MAX);
	return E_OK;
}

static err_t phone_field(req_t *r, const char **out)
{
	*out = body_str(r, "phone");
	if (*out && !phone_e164_valid(*out))
		return req_fail_field(r, E_VALIDATION, "phone",
				      "phone must be an E.164 number such as +15551234567");
	return E_OK;
}

static err_t tx_begin(req_t *r)
{
	enum db_status st = db_begin(r->db);
	return st ? req_db_error(r, st) : E_OK;
}

/* Ends the transaction a flow opened, if it is still open. */
static err_t tx_finish(req_t *r, err_t rc)
{
	return db_in_transaction(r->db) ? req_tx_end(r, rc) : rc;
}

static err_t user_event(req_t *r, const char *event, const char *uid)
{
	db_result *u;
	err_t rc = user_need(r, uid, false, &u);
	if (rc)
		return rc;
	cJSON *payload = req_own(r, user_json(u, 0));
	return outbox_add(r, event, "user", uid, payload);
}

/* Sends template with a fresh token of kind to email. */
static err_t mail_token(req_t *r, const auth_settings_t *s, const char *tmpl, const char *kind,
			const char *uid, const char *email, long ttl, const char *redirect_to)
{
	char *token;
	err_t rc = otoken_create(r, kind, uid, email, ttl, &token);
	if (rc || !uid)
		return rc;
	cJSON *vars = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(vars, "link", auth_link(r, s, redirect_to, token, kind));
	cJSON_AddStringToObject(vars, "token", token);
	cJSON_AddStringToObject(vars, "email", email);
	cJSON_AddStringToObject(vars, "type", kind);
	return auth_send_template(r, tmpl, email, vars);
}

/* --- sign-up, log-in, anonymous ------------------------------------------------ */

err_t auth_signup(req_t *r)
{
	auth_settings_t s;
	const char *email = NULL, *phone = NULL, *pw = body_str(r, "password"), *redirect = body_str(r, "redirect_to");
	char *meta = NULL;
	err_t rc = flow_start(r, &s, PROVIDER(email_password), "Email sign-up");
	if (rc || (rc = email_field(r, "email", &email)) || (rc = phone_field(r, &phone)) ||
	    (rc = metadata_field(r, &meta)) || (rc = redirect_check(r, &s, redirect)) ||
	    (rc = auth_rate(r, "signup", email, RL_SIGNUP)) ||
	    (rc = password_check(r, &s, "password", pw)))
		return rc;
	char *hash = password_hash(r->a, pw);
	if (!hash)
		return req_fail(r, E_UNAVAILABLE, "Cannot hash the password now; try again");
	char uid[40];
	id_new(uid, sizeof(uid), "usr_");
	if ((rc = tx_begin(r)))
		return rc;
	db_param p[] = { db_str(uid), db_str(email), db_str(phone), db_str(hash),
			 db_str(meta ? meta : "{}") };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, email, phone, password_hash, user_metadata, created_at, updated_at) "
		"VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", tenant_table(r, "_users")),
		p, 5, NULL);
	if (st == DB_DUPLICATE)
		rc = req_fail(r, E_CONFLICT, "A user with this email or phone already exists");
	else if (st)
		rc = req_db_error(r, st);
	if (!rc)
		rc = mail_token(r, &s, "confirm_signup", "signup", uid, email, TTL_SIGNUP, redirect);
	if (!rc)
		rc = user_event(r, "user.created", uid);
	if (rc || s.require_email_verification) {
		if ((rc = req_tx_end(r, rc)))
			return rc;
		db_result *u;
		if ((rc = user_need(r, uid, false, &u)))
			return rc;
		cJSON *d = cJSON_CreateObject();
		cJSON_AddItemToObject(d, "user", user_json(u, 0));
		cJSON_AddNullToObject(d, "access_token");
		cJSON_AddTrueToObject(d, "confirmation_sent");
		reply_data(r, 201, d);
		return E_OK;
	}
	db_result *u;
	if (!(rc = user_need(r, uid, false, &u)))
		rc = session_open(r, u, "aal1", "password", 201);
	return tx_finish(r, rc);
}

err_t auth_login(req_t *r)
{
	auth_settings_t s;
	const char *email = body_str(r, "email"), *pw = body_str(r, "password");
	err_t rc = flow_start(r, &s, PROVIDER(email_password), "Email and password sign-in");
	if (rc || (rc = auth_rate(r, "login", email, RL_LOGIN)))
		return rc;
	db_result *u;
	if ((rc = user_find(r, "email", email, false, &u)))
		return rc;
	/* Unknown user, wrong password and banned user take the same time and
	 * get the same answer. */
	bool ok = password_verify(u->nrows ? db_get(u, 0, "password_hash") : NULL, pw);
	if (!ok || db_get_int(u, 0, "banned", 0))
		return req_fail(r, E_UNAUTHORIZED, BAD_CREDENTIALS);
	if (s.require_email_verification && !db_get_int(u, 0, "email_verified", 0))
		return req_fail(r, E_FORBIDDEN, "Email not confirmed; follow the link sent to it");
	return signin_finish(r, u, "password", 200);
}

err_t auth_anonymous(req_t *r)
{
	auth_settings_t s;
	err_t rc = flow_start(r, &s, PROVIDER(anonymous), "Anonymous sign-in");
	if (rc || (rc = auth_rate(r, "anonymous", NULL, RL_SIGNUP)))
		return rc;
	char uid[40];
	id_new(uid, sizeof(uid), "usr_");
	if ((rc = tx_begin(r)))
		return rc;
	db_param p[] = { db_str(uid) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, is_anonymous, created_at, updated_at) "
		"VALUES (?, 1, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", tenant_table(r, "_users")), p, 1, NULL);
	rc = st ? req_db_error(r, st) : E_OK;
	if (!rc)
		rc = user_event(r, "user.created", uid);
	db_result *u;
	if (!rc && !(rc = user_need(r, uid, false, &u)))
		rc = session_open(r, u, "aal1", "anonymous", 200);
	return tx_finish(r, rc);
}

/* --- the current user ------------------------------------------------------------ */

err_t auth_user_get(req_t *r)
{
	db_result *u;
	err_t rc = user_current(r, false, &u);
	if (rc)
		return rc;
	reply_data(r, 200, user_json(u, 0));
	return E_OK;
}

/*
 * PATCH /v1/auth/user.  A new email is confirmed by a link sent to it
 * (template email_change).  Without required verification (the default)
 * the address is taken at once, unverified until the link is followed;
 * with it, it is taken when the link is followed.  An anonymous user who
 * sets an email (and a password) becomes a permanent user the same way,
 * keeping their id and data: Supabase's "link an email identity".
 */
err_t auth_user_update(req_t *r)
{
	auth_settings_t s;
	db_result *u;
	const char *email = body_str(r, "email"), *phone = NULL, *pw = body_str(r, "password");
	const char *redirect = body_str(r, "redirect_to");
	char *meta = NULL, *hash = NULL;
	err_t rc = auth_settings_load(r, &s);
	if (rc || (rc = user_current(r, false, &u)) || (rc = phone_field(r, &phone)) ||
	    (rc = metadata_field(r, &meta)) || (rc = redirect_check(r, &s, redirect)))
		return rc;
	if (email && (rc = email_field(r, "email", &email)))
		return rc;
	if (pw) {
		if ((rc = password_check(r, &s, "password", pw)))
			return rc;
		if (!(hash = password_hash(r->a, pw)))
			return req_fail(r, E_UNAVAILABLE, "Cannot hash the password now; try again");
	}
	const char *uid = db_get(u, 0, "id"), *old = db_get(u, 0, "email");
	bool new_email = email && (!old || strcasecmp(old, email) != 0);
	bool take_email = new_email && !s.require_email_verification;
	bool phone_set = cJSON_GetObjectItemCaseSensitive(r->json, "phone") != NULL;
	bool phone_changed = phone_set && !(phone && db_get(u, 0, "phone") &&
					    !strcmp(phone, db_get(u, 0, "phone")));
	if ((rc = tx_begin(r)))
		return rc;
	/* One statement; NULL parameters leave a column as it is. */
	db_param p[] = {
		db_str(hash), db_str(hash),
		db_int(phone_changed), db_str(phone), db_int(phone_changed),
		db_str(meta), db_str(meta),
		db_int(take_email), db_str(email), db_int(take_email), db_int(take_email),
		db_str(uid),
	};
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET updated_at = UTC_TIMESTAMP(3), "
		"password_hash = IF(? IS NULL, password_hash, ?), "
		"phone = IF(?, ?, phone), phone_verified_at = IF(?, NULL, phone_verified_at), "
		"user_metadata = IF(? IS NULL, user_metadata, JSON_MERGE_PATCH(user_metadata, ?)), "
		"email = IF(?, ?, email), email_verified_at = IF(?, NULL, email_verified_at), "
		"is_anonymous = IF(?, 0, is_anonymous) WHERE id = ?", tenant_table(r, "_users")), p, 12, NULL);
	if (st == DB_DUPLICATE)
		rc = req_fail(r, E_CONFLICT, "Another user already has this email or phone");
	else if (st)
		rc = req_db_error(r, st);
	if (!rc && new_email)
		rc = mail_token(r, &s, "email_change", "email_change", uid, email, TTL_EMAIL_CHANGE, redirect);
	if (!rc)
		rc = user_event(r, "user.updated", uid);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	if ((rc = user_need(r, uid, false, &u)))
		return rc;
	cJSON *d = user_json(u, 0);
	if (new_email)
		cJSON_AddStringToObject(d, "email_change_sent_to", email);
	reply_data(r, 200, d);
	return E_OK;
}

/* Everything stored about the caller, at most once an hour. */
#define EXPORT_EVERY "3600"
#define EXPORT_ROWS 10000

static err_t export_rows(req_t *r, cJSON *d, const char *name, const char *sql, const char *uid,
			 const col_t *cols)
{
	db_result *res;
	db_param p[] = { db_str(uid), db_int(EXPORT_ROWS) };
	enum db_status st = db_exec(r->db, r->a, sql, p, 2, &res);
	if (st)
		return req_db_error(r, st);
	cJSON_AddItemToObject(d, name, rows_to_json(cols, res));
	return E_OK;
}

static const col_t export_session_cols[] = {
	{ "id", COL_STR, 0 }, { "aal", COL_STR, 0 }, { "ip", COL_STR, 0 },
	{ "user_agent", COL_STR, 0 }, { "created_at", COL_TIME, 0 },
	{ "last_active_at", COL_TIME, 0 }, { "expires_at", COL_TIME, 0 },
	{ "revoked_at", COL_TIME, 0 }, { NULL, 0, 0 },
};

static const col_t export_factor_cols[] = {
	{ "id", COL_STR, 0 }, { "type", COL_STR, 0 }, { "friendly_name", COL_STR, 0 },
	{ "status", COL_STR, 0 }, { "created_at", COL_TIME, 0 }, { "verified_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

static const col_t export_comment_cols[] = {
	{ "id", COL_STR, 0 }, { "object_type_id", COL_STR, 0 }, { "object_id", COL_STR, 0 },
	{ "body", COL_STR, 0 }, { "created_at", COL_TIME, 0 }, { "updated_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

static const col_t export_object_cols[] = {
	{ "id", COL_STR, 0 }, { "properties", COL_JSON, 0 }, { "created_at", COL_TIME, 0 },
	{ "updated_at", COL_TIME, 0 }, { NULL, 0, 0 },
};

/* The objects the user created, per object type: {type: [objects]}. */
static err_t export_objects(req_t *r, cJSON *d, const char *uid)
{
	db_result *types;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT name FROM %s ORDER BY name", tenant_table(r, "_object_types")), NULL, 0, &types);
	if (st)
		return req_db_error(r, st);
	cJSON *objs = cJSON_AddObjectToObject(d, "objects");
	for (int i = 0; i < types->nrows; i++) {
		const char *name = db_cell(types, i, 0);
		/* Type names are server-checked identifiers ([a-z][a-z0-9_]*). */
		if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(name))
			continue;
		err_t rc = export_rows(r, objs, name, arena_printf(r->a,
			"SELECT id, properties, created_at, updated_at FROM %s WHERE created_by = ? "
			"AND is_deleted = 0 ORDER BY id LIMIT ?", tenant_table(r, name)), uid,
			export_object_cols);
		if (rc)
			return rc;
	}
	return E_OK;
}

err_t auth_export(req_t *r)
{
	db_result *u;
	err_t rc = user_current(r, false, &u);
	if (rc)
		return rc;
	const char *uid = db_get(u, 0, "id");
	char *key = cache_tkey(r->a, "gdpr", r->tenant.id, "%s", uid);
	redisReply *rep;
	const char *set[] = { "SET", key, "1", "NX", "EX", EXPORT_EVERY };
	if (cache_cmd(r->cache, r->a, &rep, 6, set))
		return req_fail(r, E_UNAVAILABLE, "The rate limiter is unavailable; try again shortly");
	if (rep->type != REDIS_REPLY_STATUS) {
		const char *ttl[] = { "TTL", key };
		long long left = 3600;
		if (!cache_cmd(r->cache, r->a, &rep, 2, ttl) && rep->type == REDIS_REPLY_INTEGER &&
		    rep->integer > 0)
			left = rep->integer;
		char buf[24];
		snprintf(buf, sizeof(buf), "%lld", left);
		reply_header(r, "Retry-After", buf);
		return req_fail(r, E_RATE_LIMITED, "A data export may be made once an hour; try again in %lld seconds", left);
	}
	char ts[RFC3339_LEN];
	cJSON *d = req_own(r, cJSON_CreateObject());
	cJSON *meta = cJSON_AddObjectToObject(d, "_meta");
	cJSON_AddStringToObject(meta, "user_id", uid);
	cJSON_AddStringToObject(meta, "tenant_id", r->tenant.id);
	cJSON_AddStringToObject(meta, "export_type", "user_data_export");
	cJSON_AddStringToObject(meta, "exported_at", time_rfc3339(ts, time(NULL)));
	cJSON_AddItemToObject(d, "user", user_json(u, 0));
	rc = export_rows(r, d, "sessions", arena_printf(r->a,
		"SELECT id, aal, ip, user_agent, created_at, last_active_at, expires_at, revoked_at "
		"FROM %s WHERE user_id = ? ORDER BY id LIMIT ?", tenant_table(r, "_sessions")), uid,
		export_session_cols);
	if (!rc)
		rc = export_rows(r, d, "mfa_factors", arena_printf(r->a,
			"SELECT id, type, friendly_name, status, created_at, verified_at FROM %s "
			"WHERE user_id = ? ORDER BY id LIMIT ?", tenant_table(r, "_mfa_factors")), uid,
			export_factor_cols);
	if (!rc)
		rc = export_rows(r, d, "comments", arena_printf(r->a,
			"SELECT id, object_type_id, object_id, body, created_at, updated_at FROM %s "
			"WHERE author_id = ? ORDER BY id LIMIT ?", tenant_table(r, "_comments")), uid,
			export_comment_cols);
	if (!rc)
		rc = export_objects(r, d, uid);
	if (rc) {
		/* A failed export does not count against the hour. */
		const char *del[] = { "DEL", key };
		(void)cache_cmd(r->cache, r->a, &rep, 2, del);
		return rc;
	}
	reply_data(r, 200, cJSON_Duplicate(d, true));
	return E_OK;
}

/* --- email verification ------------------------------------------------------------ */

static err_t verify_token(req_t *r, const char *token, const char *type)
{
	static const char *const both[] = { "signup", "email_change", NULL };
	static const char *const signup[] = { "signup", NULL };
	static const char *const change[] = { "email_change", NULL };
	const char *const *kinds = both;
	if (type && (!strcmp(type, "signup") || !strcmp(type, "email")))
		kinds = signup;
	else if (type && !strcmp(type, "email_change"))
		kinds = change;
	else if (type)
		return req_fail_field(r, E_VALIDATION, "type",
				      "type must be signup, email or email_change");
	err_t rc = auth_rate(r, "verify", NULL, RL_TOKEN);
	if (rc || (rc = tx_begin(r)))
		return rc;
	db_result *t, *u;
	rc = otoken_consume(r, kinds, token, &t);
	if (!rc)
		rc = user_need(r, db_get(t, 0, "user_id"), true, &u);
	const char *target = rc ? NULL : db_get(t, 0, "target");
	const char *kind = rc ? NULL : db_get(t, 0, "kind");
	if (!rc && !strcmp(kind, "signup") &&
	    (!db_get(u, 0, "email") || strcasecmp(db_get(u, 0, "email"), target) != 0))
		rc = req_fail(r, E_UNAUTHORIZED, "The token is invalid or has expired");
	if (!rc) {
		db_param p[] = { db_str(target), db_str(db_get(u, 0, "id")) };
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET email = ?, email_verified_at = COALESCE(email_verified_at, "
			"UTC_TIMESTAMP(3)), is_anonymous = 0, updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
			tenant_table(r, "_users")), p, 2, NULL);
		if (st == DB_DUPLICATE)
			rc = req_fail(r, E_CONFLICT, "Another user already has this email");
		else if (st)
			rc = req_db_error(r, st);
	}
	if (!rc && !strcmp(kind, "email_change")) {
		/* The address was taken at once: mark it verified now. */
		db_param p[] = { db_str(db_get(u, 0, "id")) };
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET email_verified_at = UTC_TIMESTAMP(3) WHERE id = ?",
			tenant_table(r, "_users")), p, 1, NULL);
		rc = st ? req_db_error(r, st) : E_OK;
	}
	if (!rc)
		rc = user_event(r, "user.updated", db_get(u, 0, "id"));
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return reply_done(r, "verified", "type", kind, "email", target, "user_id", db_get(u, 0, "id"),
			  "message", "Email address verified", NULL);
}

err_t auth_verify_get(req_t *r)
{
	const char *token = req_query(r, "token");
	if (!token || !*token || strlen(token) > 128)
		return req_fail_field(r, E_VALIDATION, "token", "token is required");
	const char *type = req_query(r, "type");
	return verify_token(r, token, type && *type ? type : NULL);
}

err_t auth_verify_post(req_t *r)
{
	err_t rc = tenant_matches(r);
	return rc ? rc : verify_token(r, body_str(r, "token"), body_str(r, "type"));
}

/* --- password reset and magic links ------------------------------------------------- */

/*
 * Sends a token of kind by email when the address belongs to a user who is
 * not banned.  The token row is written either way, and the answer is the
 * same, so neither the reply nor its timing says whether the account
 * exists.
 */
static err_t email_link_send(req_t *r, const auth_settings_t *s, const char *flow,
			     const char *tmpl, const char *kind, long ttl)
{
	const char *email = NULL, *redirect = body_str(r, "redirect_to");
	err_t rc = email_field(r, "email", &email);
	if (rc || (rc = redirect_check(r, s, redirect)) || (rc = auth_rate(r, flow, email, RL_SEND)))
		return rc;
	db_result *u;
	if ((rc = user_find(r, "email", email, false, &u)) || (rc = tx_begin(r)))
		return rc;
	const char *uid = u->nrows && !db_get_int(u, 0, "banned", 0) ? db_get(u, 0, "id") : NULL;
	rc = mail_token(r, s, tmpl, kind, uid, email, ttl, redirect);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "message", SENT_MESSAGE);
	reply_data(r, 200, d);
	return E_OK;
}

err_t auth_forgot_password(req_t *r)
{
	auth_settings_t s;
	err_t rc = flow_start(r, &s, 0, NULL);
	return rc ? rc : email_link_send(r, &s, "recovery", "recovery", "recovery", TTL_RECOVERY);
}

err_t auth_magic_link(req_t *r)
{
	auth_settings_t s;
	err_t rc = flow_start(r, &s, PROVIDER(magic_link), "Magic-link sign-in");
	return rc ? rc : email_link_send(r, &s, "magic_link", "magic_link", "magic_link", TTL_MAGIC_LINK);
}

err_t auth_reset_password(req_t *r)
{
	auth_settings_t s;
	const char *pw = body_str(r, "password");
	err_t rc = flow_start(r, &s, 0, NULL);
	if (rc || (rc = auth_rate(r, "reset", NULL, RL_TOKEN)) ||
	    (rc = password_check(r, &s, "password", pw)))
		return rc;
	char *hash = password_hash(r->a, pw);
	if (!hash)
		return req_fail(r, E_UNAVAILABLE, "Cannot hash the password now; try again");
	static const char *const kinds[] = { "recovery", NULL };
	db_result *t;
	if ((rc = tx_begin(r)))
		return rc;
	rc = otoken_consume(r, kinds, body_str(r, "token"), &t);
	const char *uid = rc ? NULL : db_get(t, 0, "user_id");
	if (!rc) {
		/* Following the link proved the inbox: the email is verified. */
		db_param p[] = { db_str(hash), db_str(uid) };
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET password_hash = ?, email_verified_at = COALESCE(email_verified_at, "
			"UTC_TIMESTAMP(3)), updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
			tenant_table(r, "_users")), p, 2, NULL);
		rc = st ? req_db_error(r, st) : E_OK;
	}
	if (!rc)
		rc = sessions_revoke(r, uid, NULL, "password_reset", NULL);
	if (!rc)
		rc = user_event(r, "user.updated", uid);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return reply_done(r, "password_reset", "message", "Password updated; every session was signed out",
			  NULL);
}

err_t auth_magic_verify(req_t *r)
{
	auth_settings_t s;
	err_t rc = flow_start(r, &s, PROVIDER(magic_link), "Magic-link sign-in");
	if (rc || (rc = auth_rate(r, "magic_verify", NULL, RL_TOKEN)) || (rc = tx_begin(r)))
		return rc;
	static const char *const kinds[] = { "magic_link", NULL };
	db_result *t, *u;
	rc = otoken_consume(r, kinds, body_str(r, "token"), &t);
	if (!rc)
		rc = user_find(r, "id", db_get(t, 0, "user_id"), true, &u);
	if (!rc && (u->nrows == 0 || db_get_int(u, 0, "banned", 0)))
		rc = req_fail(r, E_UNAUTHORIZED, "The token is invalid or has expired");
	if (!rc) {
		db_param p[] = { db_str(db_get(u, 0, "id")) };
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET email_verified_at = COALESCE(email_verified_at, UTC_TIMESTAMP(3)) "
			"WHERE id = ?", tenant_table(r, "_users")), p, 1, NULL);
		rc = st ? req_db_error(r, st) : E_OK;
	}
	if (!rc)
		rc = signin_finish(r, u, "magic_link", 200);
	return tx_finish(r, rc);
}

/* --- SMS one-time codes -------------------------------------------------------------- */

/* An OTP row's hash binds its id and phone, so equal codes never collide. */
static void otp_hash(char out[65], const char *id, const char *phone, const char *code)
{
	char buf[128];
	int n = snprintf(buf, sizeof(buf), "%s:%s:%s", id, phone, code);
	sha256_hex(out, buf, (size_t)n);
}

err_t auth_otp_send(req_t *r)
{
	auth_settings_t s;
	const char *phone = body_str(r, "phone");
	err_t rc = flow_start(r, &s, PROVIDER(phone_otp), "Phone sign-in");
	if (rc)
		return rc;
	if (!phone_e164_valid(phone))
		return req_fail_field(r, E_VALIDATION, "phone",
				      "phone must be an E.164 number such as +15551234567");
	if ((rc = auth_rate(r, "otp_send", phone, RL_SEND)))
		return rc;
	db_result *u;
	if ((rc = user_find(r, "phone", phone, false, &u)))
		return rc;
	char id[40], code[8], hash[65];
	id_new(id, sizeof(id), "otk_");
	snprintf(code, sizeof(code), "%06u", (unsigned)randombytes_uniform(1000000));
	otp_hash(hash, id, phone, code);
	if ((rc = tx_begin(r)))
		return rc;
	rc = otoken_insert(r, id, "sms_otp", u->nrows ? db_get(u, 0, "id") : NULL, phone, hash,
			   TTL_SMS_OTP);
	if (!rc && !(u->nrows && db_get_int(u, 0, "banned", 0)))
		rc = auth_send_sms(r, phone, arena_printf(r->a,
			"Your %s code is %s. It expires in %d minutes.",
			r->tenant.name ? r->tenant.name : "sign-in", code, TTL_SMS_OTP / 60));
	if ((rc = req_tx_end(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "message", "A code has been sent by SMS");
	cJSON_AddNumberToObject(d, "expires_in", TTL_SMS_OTP);
	reply_data(r, 200, d);
	return E_OK;
}

/* The phone's newest live code, checked and consumed (attempts counted). */
static err_t otp_consume(req_t *r, const char *phone, const char *code)
{
	db_result *t;
	const char *table = tenant_table(r, "_auth_tokens");
	db_param p[] = { db_str(phone) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, token_hash, attempts FROM %s WHERE kind = 'sms_otp' AND target = ? "
		"AND used_at IS NULL AND expires_at > UTC_TIMESTAMP(3) ORDER BY id DESC LIMIT 1 "
		"FOR UPDATE", table), p, 1, &t);
	if (st)
		return req_db_error(r, st);
	if (t->nrows == 0 || db_get_int(t, 0, "attempts", 0) >= OTP_MAX_ATTEMPTS)
		return req_fail_field(r, E_UNAUTHORIZED, "code", "The code is invalid or has expired");
	char hash[65];
	otp_hash(hash, db_get(t, 0, "id"), phone, code);
	bool ok = ct_streq(hash, db_get(t, 0, "token_hash"));
	db_param q[] = { db_str(db_get(t, 0, "id")) };
	st = db_exec(r->db, r->a, arena_printf(r->a, ok ?
		"UPDATE %s SET used_at = UTC_TIMESTAMP(3) WHERE id = ?" :
		"UPDATE %s SET attempts = attempts + 1 WHERE id = ?", table), q, 1, NULL);
	if (st)
		return req_db_error(r, st);
	return ok ? E_OK : E_UNAUTHORIZED;
}

err_t auth_otp_verify(req_t *r)
{
	auth_settings_t s;
	const char *phone = body_str(r, "phone"), *code = body_str(r, "code");
	err_t rc = flow_start(r, &s, PROVIDER(phone_otp), "Phone sign-in");
	if (rc || (rc = auth_rate(r, "otp_verify", phone, RL_OTP_VERIFY)) || (rc = tx_begin(r)))
		return rc;
	rc = otp_consume(r, phone, code);
	if (rc == E_UNAUTHORIZED) {
		/* The failed attempt stays counted. */
		if ((rc = req_tx_end(r, E_OK)))
			return rc;
		return req_fail_field(r, E_UNAUTHORIZED, "code", "The code is invalid or has expired");
	}
	db_result *u = NULL;
	if (!rc)
		rc = user_find(r, "phone", phone, true, &u);
	if (!rc && u->nrows == 0) {
		/* A phone sign-in is a sign-up when the number is new. */
		char uid[40];
		id_new(uid, sizeof(uid), "usr_");
		db_param p[] = { db_str(uid), db_str(phone) };
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
			"INSERT INTO %s (id, phone, phone_verified_at, created_at, updated_at) VALUES "
			"(?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
			tenant_table(r, "_users")), p, 2, NULL);
		rc = st ? req_db_error(r, st) : user_event(r, "user.created", uid);
		if (!rc)
			rc = user_need(r, uid, false, &u);
	} else if (!rc) {
		db_param p[] = { db_str(db_get(u, 0, "id")) };
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET phone_verified_at = COALESCE(phone_verified_at, UTC_TIMESTAMP(3)) "
			"WHERE id = ?", tenant_table(r, "_users")), p, 1, NULL);
		rc = st ? req_db_error(r, st) : E_OK;
	}
	if (!rc && db_get_int(u, 0, "banned", 0))
		rc = req_fail(r, E_UNAUTHORIZED, BAD_CREDENTIALS);
	if (!rc)
		rc = signin_finish(r, u, "otp", 200);
	return tx_finish(r, rc);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t auth_flows_routes[] = {
	ROUTE("POST", "/v1/auth/anonymous", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_anonymous, NULL, "Create anonymous session"),
	ROUTE("GET", "/v1/auth/me/export", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_export, NULL, "Export user data"),
	ROUTE("POST", "/v1/auth/forgot-password", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_forgot_password, auth_email_body, "Request password reset"),
	ROUTE("GET", "/v1/auth/user", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_user_get, NULL, "Get current user"),
	ROUTE("PATCH", "/v1/auth/user", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_user_update, auth_user_update_body, "Update current user"),
	ROUTE("POST", "/v1/auth/login", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_login, auth_login_body, "Log in"),
	ROUTE("POST", "/v1/auth/reset-password", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_reset_password, auth_reset_body, "Reset password"),
	ROUTE("POST", "/v1/auth/magic-link", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_magic_link, auth_email_body, "Send magic link"),
	ROUTE("POST", "/v1/auth/otp/send", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_otp_send, auth_otp_send_body, "Send SMS OTP"),
	ROUTE("POST", "/v1/auth/signup", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_signup, auth_signup_body, "Sign up"),
	ROUTE("GET", "/v1/auth/verify", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_verify_get, NULL, "Verify email (GET)"),
	ROUTE("POST", "/v1/auth/verify", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_verify_post, auth_token_body, "Verify email"),
	ROUTE("POST", "/v1/auth/magic-link/verify", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_magic_verify, auth_token_body, "Verify magic link"),
	ROUTE("POST", "/v1/auth/otp/verify", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_otp_verify, auth_otp_verify_body, "Verify OTP"),
	ROUTES_END,
};
