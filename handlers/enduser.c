/*
 * enduser.c - users, sessions, tokens, one-time tokens, rate limits and
 * portal tenants for the end-user auth handlers (see enduser.h).
 *
 * Access tokens are HS256 JWTs signed with the tenant's secret (the one
 * fcgi/credentials.c verifies with); refresh tokens are opaque "rt_…" strings of
 * which only the SHA-256 is stored, one row per token ever issued.
 */
#include "enduser.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/channels.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/jwt.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "objmodel.h"

const col_t user_cols[] = {
	{ "id", COL_STR, 0 },
	{ "email", COL_STR, 0 },
	{ "phone", COL_STR, 0 },
	{ "role", COL_STR, 0 },
	{ "is_anonymous", COL_BOOL, 0 },
	{ "email_verified", COL_BOOL, 0 },
	{ "email_verified_at", COL_TIME, 0 },
	{ "phone_verified", COL_BOOL, 0 },
	{ "phone_verified_at", COL_TIME, 0 },
	{ "user_metadata", COL_JSON, 0 },
	{ "app_metadata", COL_JSON, 0 },
	{ "banned", COL_BOOL, 0 },
	{ "banned_at", COL_TIME, 0 },
	{ "ban_reason", COL_STR, 0 },
	{ "last_sign_in_at", COL_TIME, 0 },
	{ "created_at", COL_TIME, 0 },
	{ "updated_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

cJSON *user_json(const db_result *res, int row)
{
	return row_to_json(user_cols, res, row);
}

const char *body_str(const req_t *r, const char *name)
{
	return json_str_of(r->json, name);
}

err_t user_find(req_t *r, const char *col, const char *value, bool lock, db_result **res)
{
	/* col is one of three literals, never input. */
	const char *where = !strcmp(col, "email") ? "email" : !strcmp(col, "phone") ? "phone" : "id";
	db_param p[] = { db_str(value) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, USER_SELECT "%s WHERE %s = ?%s",
		tenant_table(r, "_users"), where, lock ? " FOR UPDATE" : ""), p, 1, res);
	return st ? req_db_error(r, st) : E_OK;
}

err_t user_need(req_t *r, const char *id, bool lock, db_result **res)
{
	err_t rc = user_find(r, "id", id, lock, res);
	if (!rc && (*res)->nrows == 0)
		rc = req_fail(r, E_NOT_FOUND, "User not found");
	return rc;
}

err_t user_current(req_t *r, bool lock, db_result **res)
{
	if (r->who.kind != PRINCIPAL_USER)
		return req_fail(r, E_FORBIDDEN, "This endpoint needs an end-user access token");
	return user_need(r, r->who.user_id, lock, res);
}

err_t password_check(req_t *r, const auth_settings_t *s, const char *field, const char *pw)
{
	if (strlen(pw) > 1024)
		return req_fail_field(r, E_VALIDATION, field, "%s must be at most 1024 characters", field);
	const char *why = auth_password_problem(s, pw);
	return why ? req_fail_field(r, E_VALIDATION, field, "%s", why) : E_OK;
}

/* --- tokens and sessions -------------------------------------------------- */

static err_t tenant_secret(req_t *r, char **secret, size_t *len)
{
	db_result *res;
	db_param p[] = { db_str(r->tenant.id) };
	enum db_status st = db_exec(db_control(r->db), r->a, "SELECT jwt_secret_enc FROM tenants WHERE id = ?",
				    p, 1, &res);
	if (st)
		return req_db_error(r, st);
	*secret = res->nrows ? secret_open(r->a, g_config.master_key_bin, db_cell(res, 0, 0), len) : NULL;
	if (!*secret) {
		log_error("%s: cannot open the JWT secret of tenant %s", r->request_id, r->tenant.id);
		return E_INTERNAL;
	}
	return E_OK;
}

err_t access_token_sign(req_t *r, const db_result *user, const char *sid, const char *aal,
			const char *amr, long long session_end, char **token, long long *ttl)
{
	auth_settings_t s;
	char *secret = NULL;
	size_t klen = 0;
	err_t rc = auth_settings_load(r, &s);
	if (rc || (rc = tenant_secret(r, &secret, &klen)))
		return rc;
	long long now = time(NULL);
	long long exp = now + (s.access_token_ttl_secs > 0 ? s.access_token_ttl_secs : 3600);
	if (session_end > now && exp > session_end)
		exp = session_end;
	char jti[40];
	id_new(jti, sizeof(jti), "jti_");
	cJSON *c = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(c, "iss", "tessera");
	cJSON_AddStringToObject(c, "aud", "authenticated");
	cJSON_AddStringToObject(c, "sub", db_get(user, 0, "id"));
	cJSON_AddStringToObject(c, "tenant_id", r->tenant.id);
	cJSON_AddStringToObject(c, "role", db_get(user, 0, "role"));
	cJSON_AddStringToObject(c, "session_id", sid);
	if (db_get(user, 0, "email"))
		cJSON_AddStringToObject(c, "email", db_get(user, 0, "email"));
	if (db_get(user, 0, "phone"))
		cJSON_AddStringToObject(c, "phone", db_get(user, 0, "phone"));
	cJSON_AddBoolToObject(c, "is_anonymous", db_get_int(user, 0, "is_anonymous", 0) != 0);
	cJSON_AddStringToObject(c, "aal", aal);
	cJSON *methods = cJSON_AddArrayToObject(c, "amr");
	for (const char *p = amr; *p;) {
		size_t n = strcspn(p, " ");
		if (n)
			cJSON_AddItemToArray(methods, cJSON_CreateString(arena_strndup(r->a, p, n)));
		p += n;
		p += *p == ' ';
	}
	cJSON_AddStringToObject(c, "jti", jti);
	cJSON_AddNumberToObject(c, "iat", (double)now);
	cJSON_AddNumberToObject(c, "exp", (double)exp);
	*token = jwt_sign(r->a, secret, klen, c);
	*ttl = exp - now;
	return E_OK;
}

err_t refresh_insert(req_t *r, const char *sid, const char *user_id, char **token)
{
	char id[40], hash[65];
	id_new(id, sizeof(id), "rt_");
	*token = random_token(r->a, "rt_", 32);
	sha256_hex(hash, *token, strlen(*token));
	db_param p[] = { db_str(id), db_str(sid), db_str(user_id), db_str(hash) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, session_id, user_id, token_hash, created_at) "
		"VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))", tenant_table(r, "_refresh_tokens")), p, 4, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* The answer that hands out a session: tokens, session and user. */
static err_t session_json(req_t *r, const db_result *user, const char *sid, const char *aal,
			  const char *amr, long long session_end, const char *refresh, cJSON **out)
{
	char *access;
	long long ttl;
	err_t rc = access_token_sign(r, user, sid, aal, amr, session_end, &access, &ttl);
	if (rc)
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "access_token", access);
	cJSON_AddStringToObject(d, "token_type", "bearer");
	cJSON_AddNumberToObject(d, "expires_in", (double)ttl);
	cJSON_AddNumberToObject(d, "expires_at", (double)(time(NULL) + ttl));
	cJSON_AddStringToObject(d, "refresh_token", refresh);
	cJSON_AddStringToObject(d, "session_id", sid);
	cJSON_AddStringToObject(d, "aal", aal);
	cJSON_AddItemToObject(d, "user", user_json(user, 0));
	*out = d;
	return E_OK;
}

err_t session_answer(req_t *r, const db_result *user, const char *sid, const char *aal,
		     const char *amr, long long session_end, const char *refresh, int status)
{
	cJSON *d;
	err_t rc = session_json(r, user, sid, aal, amr, session_end, refresh, &d);
	if (!rc)
		reply_data(r, status, d);
	return rc;
}

static bool tx_own(req_t *r, err_t *rc)
{
	if (db_in_transaction(r->db))
		return false;
	enum db_status st = db_begin(r->db);
	*rc = st ? req_db_error(r, st) : E_OK;
	return true;
}

err_t session_open(req_t *r, const db_result *user, const char *aal, const char *amr, int status)
{
	cJSON *d;
	err_t rc = session_issue(r, user, aal, amr, &d);
	if (!rc)
		reply_data(r, status, d);
	return rc;
}

err_t session_issue(req_t *r, const db_result *user, const char *aal, const char *amr, cJSON **out)
{
	auth_settings_t s;
	err_t rc = auth_settings_load(r, &s);
	if (rc)
		return rc;
	bool own = tx_own(r, &rc);
	if (rc)
		return rc;
	long long duration = s.session_duration_secs > 0 ? s.session_duration_secs : 604800;
	long long end = (long long)time(NULL) + duration;
	char sid[40];
	id_new(sid, sizeof(sid), "sess_");
	const char *ua = req_env(r, "HTTP_USER_AGENT");
	const char *uid = db_get(user, 0, "id");
	db_param p[] = { db_str(sid), db_str(uid), db_str(aal), db_str(amr),
			 db_str(r->remote_addr), db_str(ua ? arena_strndup(r->a, ua, strnlen(ua, 500)) : NULL),
			 db_int(duration) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, user_id, aal, amr, ip, user_agent, created_at, last_active_at, "
		"expires_at) VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), "
		"UTC_TIMESTAMP(3) + INTERVAL ? SECOND)", tenant_table(r, "_sessions")), p, 7, NULL);
	if (!st) {
		db_param q[] = { db_str(uid) };
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET last_sign_in_at = UTC_TIMESTAMP(3) WHERE id = ?",
			tenant_table(r, "_users")), q, 1, NULL);
	}
	rc = st ? req_db_error(r, st) : E_OK;
	if (!rc) {
		/* user.signed_in: every new session, in its own transaction. */
		cJSON *ev = req_own(r, user_json(user, 0));
		cJSON_AddStringToObject(ev, "session_id", sid);
		cJSON_AddStringToObject(ev, "aal", aal);
		cJSON_AddStringToObject(ev, "amr", amr);
		rc = outbox_add(r, "user.signed_in", "user", uid, ev);
	}
	char *refresh = NULL;
	if (!rc)
		rc = refresh_insert(r, sid, uid, &refresh);
	if (own && (rc = req_tx_end(r, rc)))
		return rc;
	if (rc)
		return rc;
	/* Answer with the user as stored now (last_sign_in_at). */
	db_result *fresh;
	if ((rc = user_need(r, uid, false, &fresh)))
		return rc;
	return session_json(r, fresh, sid, aal, amr, end, refresh, out);
}

/* The MFA ticket of a password (or link, or code) sign-in that still needs
 * a second factor: a random token whose hash names, in Redis for five
 * minutes, the tenant, the user and the methods used so far. */
#define MFA_TICKET_TTL "300"

static err_t mfa_ticket(req_t *r, const db_result *user, const char *amr)
{
	const char *uid = db_get(user, 0, "id");
	db_result *res;
	db_param p[] = { db_str(uid) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, type, friendly_name FROM %s WHERE user_id = ? AND status = 'verified' "
		"ORDER BY id", tenant_table(r, "_mfa_factors")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	char *ticket = random_token(r->a, "mfat_", 32), hash[65];
	sha256_hex(hash, ticket, strlen(ticket));
	cJSON *v = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(v, "tenant_id", r->tenant.id);
	cJSON_AddStringToObject(v, "user_id", uid);
	cJSON_AddStringToObject(v, "amr", amr);
	char *val = req_json_text(r, v);
	redisReply *rep;
	const char *argv[] = { "SET", arena_printf(r->a, "mfa:ticket:%s", hash), val, "EX", MFA_TICKET_TTL };
	if (cache_cmd(r->cache, r->a, &rep, 5, argv))
		return req_fail(r, E_UNAVAILABLE, "MFA state is unavailable; try again shortly");
	cJSON *d = cJSON_CreateObject();
	cJSON_AddTrueToObject(d, "mfa_required");
	cJSON_AddStringToObject(d, "mfa_ticket", ticket);
	cJSON_AddNumberToObject(d, "expires_in", atoi(MFA_TICKET_TTL));
	cJSON *list = cJSON_AddArrayToObject(d, "factors");
	for (int i = 0; i < res->nrows; i++) {
		cJSON *f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "id", db_get(res, i, "id"));
		cJSON_AddStringToObject(f, "type", db_get(res, i, "type"));
		const char *fn = db_get(res, i, "friendly_name");
		cJSON_AddItemToObject(f, "friendly_name", fn ? cJSON_CreateString(fn) : cJSON_CreateNull());
		cJSON_AddItemToArray(list, f);
	}
	reply_data(r, 200, d);
	return E_OK;
}

err_t signin_finish(req_t *r, const db_result *user, const char *amr, int status)
{
	err_t rc = E_OK;
	long long n = mfa_verified_count(r, db_get(user, 0, "id"), &rc);
	if (n < 0)
		return rc;
	if (n > 0) {
		/* Whatever the caller wrote so far (a used token) stands. */
		if (db_in_transaction(r->db) && (rc = req_tx_end(r, E_OK)))
			return rc;
		return mfa_ticket(r, user, amr);
	}
	return session_open(r, user, "aal1", amr, status);
}

err_t sessions_revoke_cache(req_t *r, const char *const *sids, int n, long long ttl)
{
	if (n == 0)
		return E_OK;
	char ttls[24];
	snprintf(ttls, sizeof(ttls), "%lld", ttl);
	const char ***argvs = arena_alloc(r->a, sizeof(*argvs) * (size_t)n);
	int *argcs = arena_alloc(r->a, sizeof(int) * (size_t)n);
	redisReply **rep = arena_calloc(r->a, (size_t)n, sizeof(*rep));
	for (int i = 0; i < n; i++) {
		const char **v = arena_alloc(r->a, sizeof(*v) * 5);
		v[0] = "SET";
		v[1] = cache_tkey(r->a, "revoked:sess", r->tenant.id, "%s", sids[i]);
		v[2] = "1";
		v[3] = "EX";
		v[4] = ttls;
		argvs[i] = v;
		argcs[i] = 5;
	}
	if (cache_pipeline(r->cache, r->a, n, argcs, argvs, rep))
		return req_fail(r, E_UNAVAILABLE, "Session state is unavailable; try again shortly");
	return E_OK;
}

/* Seconds a revocation mark must outlive: the longest an access token of
 * the session can still be valid, with a minute of slack. */
static long long revoke_ttl(req_t *r)
{
	auth_settings_t s;
	long long ttl = 3600;
	if (auth_settings_load(r, &s) == E_OK && s.access_token_ttl_secs > 0)
		ttl = s.access_token_ttl_secs;
	const cJSON *exp = r->who.claims ? cJSON_GetObjectItemCaseSensitive(r->who.claims, "exp") : NULL;
	if (cJSON_IsNumber(exp) && exp->valuedouble - (double)time(NULL) > (double)ttl)
		ttl = (long long)(exp->valuedouble - (double)time(NULL));
	return ttl + 60;
}

/* The realtime connections of the revoked sessions close, and with every
 * session of the user (sid NULL: logout everywhere, ban, deletion) the
 * user's, session or not. */
static void sessions_close_streams(req_t *r, const char *user_id, bool all, const char *const *sids, int n)
{
	for (int i = 0; i < n; i++)
		channels_close(r->a, r->tenant.id, "sess", sids[i]);
	if (all && user_id)
		channels_close(r->a, r->tenant.id, "user", user_id);
}

err_t sessions_revoke(req_t *r, const char *user_id, const char *sid, const char *reason,
		      long long *count)
{
	db_result *res;
	enum db_status st;
	const char *sessions = tenant_table(r, "_sessions");
	if (sid) {
		db_param p[] = { db_str(sid) };
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"SELECT id FROM %s WHERE id = ? AND revoked_at IS NULL", sessions), p, 1, &res);
	} else {
		db_param p[] = { db_str(user_id) };
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"SELECT id FROM %s WHERE user_id = ? AND revoked_at IS NULL "
			"AND expires_at > UTC_TIMESTAMP(3)", sessions), p, 1, &res);
	}
	if (st)
		return req_db_error(r, st);
	const char **ids = arena_alloc(r->a, sizeof(char *) * (size_t)(res->nrows + 1));
	for (int i = 0; i < res->nrows; i++)
		ids[i] = db_cell(res, i, 0);
	int n = res->nrows;
	/* A session that has no row (a token minted by `tessera token mint`)
	 * is still marked in Redis. */
	if (sid && n == 0)
		ids[n++] = sid;
	err_t rc = sessions_revoke_cache(r, ids, n, revoke_ttl(r));
	if (rc)
		return rc;
	if (sid) {
		db_param p[] = { db_str(reason), db_str(sid) };
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET revoked_at = UTC_TIMESTAMP(3), revoke_reason = ? "
			"WHERE id = ? AND revoked_at IS NULL", sessions), p, 2, NULL);
	} else {
		db_param p[] = { db_str(reason), db_str(user_id) };
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET revoked_at = UTC_TIMESTAMP(3), revoke_reason = ? "
			"WHERE user_id = ? AND revoked_at IS NULL", sessions), p, 2, NULL);
	}
	if (st)
		return req_db_error(r, st);
	sessions_close_streams(r, user_id, !sid, ids, n);
	if (count)
		*count = res->nrows;
	return E_OK;
}

/* --- one-time tokens ------------------------------------------------------- */

err_t otoken_create(req_t *r, const char *kind, const char *user_id, const char *target,
		    long ttl, char **token)
{
	char id[40], hash[65];
	id_new(id, sizeof(id), "otk_");
	*token = random_token(r->a, "", 32);
	sha256_hex(hash, *token, strlen(*token));
	return otoken_insert(r, id, kind, user_id, target, hash, ttl);
}

err_t otoken_insert(req_t *r, const char *id, const char *kind, const char *user_id,
		    const char *target, const char *hash, long ttl)
{
	db_param p[] = { db_str(id), db_str(kind), db_str(user_id), db_str(target), db_str(hash),
			 db_int(ttl) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, kind, user_id, target, token_hash, created_at, expires_at) "
		"VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) + INTERVAL ? SECOND)",
		tenant_table(r, "_auth_tokens")), p, 6, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

err_t otoken_consume(req_t *r, const char *const *kinds, const char *token, db_result **res)
{
	char hash[65];
	sha256_hex(hash, token, strlen(token));
	const char *table = tenant_table(r, "_auth_tokens");
	db_param p[8];
	int np = 0;
	p[np++] = db_str(hash);
	for (int i = 0; kinds[i] && np < 7; i++)
		p[np++] = db_str(kinds[i]);
	char *in = db_placeholders(r->a, np - 1);
	/* The UPDATE is the single-use check: of two racing requests only one
	 * changes the row. */
	db_result *upd;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET used_at = UTC_TIMESTAMP(3) WHERE token_hash = ? AND kind IN (%s) "
		"AND used_at IS NULL AND expires_at > UTC_TIMESTAMP(3) AND user_id IS NOT NULL",
		table, in), p, np, &upd);
	if (st)
		return req_db_error(r, st);
	if (upd->affected != 1)
		return req_fail(r, E_UNAUTHORIZED, "The token is invalid or has expired");
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, kind, user_id, target FROM %s WHERE token_hash = ?", table), p, 1, res);
	return st ? req_db_error(r, st) : E_OK;
}

char *url_component(arena_t *a, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = arena_alloc(a, strlen(s) * 3 + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

char *auth_link(req_t *r, const auth_settings_t *s, const char *redirect_to, const char *token,
		const char *type)
{
	/* No page of the tenant's own: a reset link goes to the hosted reset
	 * page (nginx/static/reset.html), the others to the public URL. */
	const char *base = redirect_to && *redirect_to ? redirect_to :
			   s->site_url && *s->site_url ? s->site_url :
			   !strcmp(type, "recovery") ? arena_printf(r->a, "%s/auth/reset", g_config.public_url) :
			   g_config.public_url;
	return arena_printf(r->a, "%s%stoken=%s&type=%s&tenant_id=%s", base,
			    strchr(base, '?') ? "&" : "?", url_component(r->a, token), type,
			    url_component(r->a, r->tenant.id));
}

err_t redirect_check(req_t *r, const auth_settings_t *s, const char *redirect_to)
{
	if (!redirect_to)
		return E_OK;
	if (strncmp(redirect_to, "http://", 7) && strncmp(redirect_to, "https://", 8))
		return req_fail_field(r, E_VALIDATION, "redirect_to",
				      "redirect_to must be an http:// or https:// URL");
	if (!auth_redirect_allowed(s, redirect_to))
		return req_fail_field(r, E_VALIDATION, "redirect_to",
				      "redirect_to is not in the tenant's redirect URL allowlist");
	return E_OK;
}

/* --- rate limits ------------------------------------------------------------ */

static err_t rate_one(req_t *r, const char *key, long limit, const char *what)
{
	long long count, ttl;
	if (cache_incr_window(r->cache, r->a, key, 60, &count, &ttl))
		return req_fail(r, E_UNAVAILABLE, "The rate limiter is unavailable; try again shortly");
	if (count <= limit)
		return E_OK;
	char buf[24];
	snprintf(buf, sizeof(buf), "%lld", ttl > 0 ? ttl : 1);
	reply_header(r, "Retry-After", buf);
	return req_fail(r, E_RATE_LIMITED, "Too many attempts %s; try again in %lld seconds", what,
			ttl > 0 ? ttl : 1);
}

err_t auth_rate(req_t *r, const char *flow, const char *target, long ip_limit, long target_limit)
{
	err_t rc = rate_one(r, cache_tkey(r->a, "arl", r->tenant.id, "%s:a:%s", flow,
					  r->remote_addr ? r->remote_addr : "-"),
			    ip_limit, "from this address");
	if (rc || !target)
		return rc;
	char *low = arena_strdup(r->a, target), hash[65];
	for (char *p = low; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	sha256_hex(hash, low, strlen(low));
	return rate_one(r, cache_tkey(r->a, "arl", r->tenant.id, "%s:t:%s", flow, hash),
			target_limit, "for this account");
}
