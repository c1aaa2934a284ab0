/*
 * auth_sessions.c - refresh, log-out and the session list.
 *
 * A refresh token is exchanged once: the exchange marks it rotated and
 * issues its successor.  Presenting a rotated token again means it leaked
 * (or a client misbehaves), so the whole session is revoked, as Supabase
 * Auth does.  Revoking a session sets revoked_at and the Redis mark that
 * fcgi/credentials.c checks, so its access tokens stop working on the next
 * request.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/crypto.h"
#include "../common/rowjson.h"
#include "enduser.h"
#include "objmodel.h"
#include "replies.h"
#include "routes.h"

const field_t auth_refresh_body[] = {
	{ "refresh_token", FT_STRING, FF_REQUIRED, 1, 128 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t auth_logout_body[] = {
	{ "refresh_token", FT_STRING, 0, 1, 128 },
	{ "scope", FT_STRING, 0, 1, 16, (const char *const[]){ "local", "global", "others", NULL } },
	{ NULL, 0, 0, 0, 0 },
};

#define INVALID_REFRESH "Invalid refresh token"

err_t auth_refresh(req_t *r)
{
	const char *token = body_str(r, "refresh_token");
	char hash[65];
	sha256_hex(hash, token, strlen(token));
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_result *t;
	db_param p[] = { db_str(hash) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT t.id, t.session_id, t.user_id, t.rotated_at, s.aal, s.amr, s.revoked_at, "
		"CAST(UNIX_TIMESTAMP(s.expires_at) AS SIGNED) AS end_epoch, "
		"(s.expires_at <= UTC_TIMESTAMP(3)) AS expired FROM %s t JOIN %s s ON s.id = t.session_id "
		"WHERE t.token_hash = ? FOR UPDATE", tenant_table(r, "_refresh_tokens"),
		tenant_table(r, "_sessions")), p, 1, &t);
	err_t rc = st ? req_db_error(r, st) : E_OK;
	if (!rc && t->nrows == 0)
		rc = req_fail_field(r, E_UNAUTHORIZED, "refresh_token", INVALID_REFRESH);
	if (rc)
		return req_tx_end(r, rc);
	const char *sid = db_get(t, 0, "session_id"), *uid = db_get(t, 0, "user_id");
	if (db_get(t, 0, "revoked_at"))
		return req_tx_end(r, req_fail_field(r, E_UNAUTHORIZED, "refresh_token",
						   "This session has been revoked"));
	if (db_get(t, 0, "rotated_at")) {
		/* Reuse: revoke the session, commit that, then refuse. */
		rc = req_tx_end(r, sessions_revoke(r, uid, sid, "refresh_token_reuse", NULL));
		return rc ? rc : req_fail_field(r, E_UNAUTHORIZED, "refresh_token",
			"This refresh token was already used; the session has been revoked");
	}
	if (db_get_int(t, 0, "expired", 0))
		return req_tx_end(r, req_fail_field(r, E_UNAUTHORIZED, "refresh_token",
						   "This session has expired; sign in again"));
	db_result *u;
	if ((rc = user_find(r, "id", uid, false, &u)))
		return req_tx_end(r, rc);
	if (u->nrows == 0 || db_get_int(u, 0, "banned", 0))
		return req_tx_end(r, req_fail_field(r, E_UNAUTHORIZED, "refresh_token", INVALID_REFRESH));
	db_param q[] = { db_str(db_get(t, 0, "id")) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET rotated_at = UTC_TIMESTAMP(3) WHERE id = ?",
		tenant_table(r, "_refresh_tokens")), q, 1, NULL);
	if (!st) {
		db_param s[] = { db_str(sid) };
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET last_active_at = UTC_TIMESTAMP(3) WHERE id = ?",
			tenant_table(r, "_sessions")), s, 1, NULL);
	}
	rc = st ? req_db_error(r, st) : E_OK;
	char *next = NULL;
	if (!rc)
		rc = refresh_insert(r, sid, uid, &next);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return session_answer(r, u, sid, db_get(t, 0, "aal"), db_get(t, 0, "amr"),
			      db_get_int(t, 0, "end_epoch", 0), next, 200);
}

/* The session a refresh token belongs to, or NULL. */
static err_t refresh_session(req_t *r, const char *token, const char **sid, const char **uid)
{
	char hash[65];
	sha256_hex(hash, token, strlen(token));
	db_result *t;
	db_param p[] = { db_str(hash) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT session_id, user_id FROM %s WHERE token_hash = ?",
		tenant_table(r, "_refresh_tokens")), p, 1, &t);
	if (st)
		return req_db_error(r, st);
	if (t->nrows == 0)
		return req_fail_field(r, E_UNAUTHORIZED, "refresh_token", INVALID_REFRESH);
	*sid = db_get(t, 0, "session_id");
	*uid = db_get(t, 0, "user_id");
	return E_OK;
}

err_t auth_logout(req_t *r)
{
	const char *token = body_str(r, "refresh_token"), *scope = body_str(r, "scope");
	const char *sid = NULL, *uid = NULL;
	err_t rc;
	if (token) {
		if ((rc = refresh_session(r, token, &sid, &uid)))
			return rc;
		if (r->who.kind == PRINCIPAL_USER && strcmp(uid, r->who.user_id) != 0)
			return req_fail_field(r, E_UNAUTHORIZED, "refresh_token", INVALID_REFRESH);
	} else if (r->who.kind == PRINCIPAL_USER) {
		sid = r->who.session_id;
		uid = r->who.user_id;
	} else {
		return req_fail_field(r, E_VALIDATION, "refresh_token",
				      "refresh_token is required unless an end-user token is used");
	}
	long long n = 0;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	if (scope && !strcmp(scope, "global")) {
		rc = sessions_revoke(r, uid, NULL, "logout", &n);
	} else if (scope && !strcmp(scope, "others")) {
		rc = E_OK;
		db_result *others;
		db_param p[] = { db_str(uid), db_str(sid) };
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"SELECT id FROM %s WHERE user_id = ? AND id <> ? AND revoked_at IS NULL",
			tenant_table(r, "_sessions")), p, 2, &others);
		if (st)
			rc = req_db_error(r, st);
		for (int i = 0; !rc && others && i < others->nrows; i++, n++)
			rc = sessions_revoke(r, uid, db_cell(others, i, 0), "logout", NULL);
	} else if (sid) {
		rc = sessions_revoke(r, uid, sid, "logout", &n);
	} else {
		rc = E_OK;
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "message", "Signed out");
	cJSON_AddNumberToObject(d, "revoked", (double)n);
	reply_data(r, 200, d);
	return E_OK;
}

static const col_t session_cols[] = {
	{ "id", COL_STR, 0 },
	{ "user_id", COL_STR, 0 },
	{ "aal", COL_STR, 0 },
	{ "ip", COL_STR, 0 },
	{ "user_agent", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ "last_active_at", COL_TIME, 0 },
	{ "expires_at", COL_TIME, 0 },
	{ "current", COL_BOOL, 0 },
	{ NULL, 0, 0 },
};

/* Whose sessions: the end user's own, or (an API key with the auth scope,
 * an admin user) the user named by ?user_id=. */
static err_t session_owner(req_t *r, const char **uid)
{
	*uid = req_query(r, "user_id");
	if (r->who.kind == PRINCIPAL_USER && (req_end_user(r) || !*uid || !**uid)) {
		*uid = r->who.user_id;
		return E_OK;
	}
	if (!*uid || !**uid)
		return req_fail_field(r, E_VALIDATION, "user_id",
				      "user_id is required (query) when an API key is used");
	db_result *u;
	return user_need(r, *uid, false, &u);
}

err_t sessions_list(req_t *r)
{
	const char *uid;
	err_t rc = session_owner(r, &uid);
	if (rc)
		return rc;
	db_result *res;
	db_param p[] = { db_str(r->who.session_id), db_str(uid) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, user_id, aal, ip, user_agent, created_at, last_active_at, expires_at, "
		"(id = COALESCE(?, '')) AS current FROM %s WHERE user_id = ? AND revoked_at IS NULL "
		"AND expires_at > UTC_TIMESTAMP(3) ORDER BY id DESC LIMIT 100",
		tenant_table(r, "_sessions")), p, 2, &res);
	if (st)
		return req_db_error(r, st);
	reply_data(r, 200, rows_to_json(session_cols, res));
	return E_OK;
}

err_t sessions_revoke_all(req_t *r)
{
	const char *uid;
	err_t rc = session_owner(r, &uid);
	if (rc)
		return rc;
	long long n = 0;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	if ((rc = req_tx_end(r, sessions_revoke(r, uid, NULL, "revoke_all", &n))))
		return rc;
	/* The caller's own token is revoked too, even one that has no row. */
	if (r->who.kind == PRINCIPAL_USER && r->who.session_id && !strcmp(uid, r->who.user_id)) {
		const char *sid = r->who.session_id;
		if ((rc = sessions_revoke_cache(r, &sid, 1, 3660)))
			return rc;
	}
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "revoked", (double)n);
	reply_data(r, 200, d);
	return E_OK;
}

err_t sessions_revoke_one(req_t *r)
{
	const char *uid, *sid = req_param(r, "session_id");
	err_t rc = session_owner(r, &uid);
	if (rc)
		return rc;
	db_result *res;
	db_param p[] = { db_str(sid), db_str(uid) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id FROM %s WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
		tenant_table(r, "_sessions")), p, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Session not found");
	if ((st = db_begin(r->db)))
		return req_db_error(r, st);
	if ((rc = req_tx_end(r, sessions_revoke(r, uid, sid, "revoked", NULL))))
		return rc;
	return reply_done(r, "revoked", "session_id", sid, NULL);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t auth_sessions_routes[] = {
	ROUTE("POST", "/v1/auth/logout", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_logout, auth_logout_body, "Log out"),
	ROUTE("POST", "/v1/auth/refresh", "Authentication", AUTH_BEARER, "", "none", R_USER, auth_refresh, auth_refresh_body, "Refresh tokens"),
	ROUTE("GET", "/v1/auth/sessions", "Sessions", AUTH_BEARER, "auth", "none", R_USER, sessions_list, NULL, "List active sessions"),
	ROUTE("DELETE", "/v1/auth/sessions", "Sessions", AUTH_BEARER, "auth", "none", R_USER, sessions_revoke_all, NULL, "Revoke all sessions"),
	ROUTE("DELETE", "/v1/auth/sessions/:session_id", "Sessions", AUTH_BEARER, "auth", "none", R_USER, sessions_revoke_one, NULL, "Revoke session"),
	ROUTES_END,
};
