/*
 * auth_mfa.c - TOTP factors (RFC 6238: SHA-1, 6 digits, 30 s, one step of
 * drift either way): enroll, verify (which hands out ten recovery codes),
 * list, unenroll, challenge, and the second step of a sign-in (complete
 * with a code, recover with a recovery code).
 *
 * Seeds are sealed under the master key.  Each factor remembers the last
 * step it accepted, so a code cannot be used twice.  Five failed codes (or
 * recovery codes) within 15 minutes lock the user for 15 minutes, whatever
 * ticket or factor is used: counted in Redis, 429 MFA_LOCKED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/qr.h"
#include "../common/totp.h"
#include "../fcgi/credentials.h"
#include "enduser.h"
#include "objmodel.h"
#include "replies.h"
#include "routes.h"

#define MFA_MAX_FAILURES 5
#define MFA_LOCK_SECS 900
#define MFA_MAX_FACTORS 10
#define RECOVERY_CODES 10

static const col_t factor_cols[] = {
	{ "id", COL_STR, 0 },
	{ "type", COL_STR, 0 },
	{ "friendly_name", COL_STR, 0 },
	{ "status", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ "updated_at", COL_TIME, 0 },
	{ "verified_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

/* The body members several MFA steps take, each defined once. */
#define BODY_FACTOR_ID(flags) { "factor_id", FT_STRING, flags, 1, 64 }
#define BODY_CODE { "code", FT_STRING, FF_REQUIRED, 1, 16 }
#define BODY_TICKET { "mfa_ticket", FT_STRING, FF_REQUIRED, 1, 128 }

const field_t mfa_enroll_body[] = {
	{ "friendly_name", FT_STRING, FF_NULLABLE, 0, 100 },
	{ "factor_type", FT_STRING, 0, 1, 16 },
	{ "type", FT_STRING, 0, 1, 16 },
	{ "issuer", FT_STRING, 0, 1, 100 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t mfa_verify_body[] = {
	BODY_FACTOR_ID(FF_REQUIRED),
	BODY_CODE,
	{ "challenge_id", FT_STRING, 0, 0, 64 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t mfa_challenge_body[] = {
	BODY_FACTOR_ID(FF_REQUIRED),
	BODY_CODE,
	{ "user_id", FT_STRING, 0, 1, 64 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t mfa_complete_body[] = {
	BODY_TICKET,
	BODY_FACTOR_ID(0),
	BODY_CODE,
	{ NULL, 0, 0, 0, 0 },
};

const field_t mfa_recover_body[] = {
	BODY_TICKET,
	{ "recovery_code", FT_STRING, FF_REQUIRED, 1, 64 },
	{ NULL, 0, 0, 0, 0 },
};

/* --- lockout ----------------------------------------------------------------- */

static char *lock_key(req_t *r, const char *user_id)
{
	return cache_tkey(r->a, "mfa:lock", r->tenant.id, "%s", user_id);
}

err_t mfa_lock_check(req_t *r, const char *user_id)
{
	redisReply *rep;
	const char *argv[] = { "TTL", lock_key(r, user_id) };
	if (cache_cmd(r->cache, r->a, &rep, 2, argv))
		return req_fail(r, E_UNAVAILABLE, "MFA state is unavailable; try again shortly");
	if (rep->type != REDIS_REPLY_INTEGER || rep->integer == -2)
		return E_OK;
	long long left = rep->integer > 0 ? rep->integer : MFA_LOCK_SECS;
	char buf[24];
	snprintf(buf, sizeof(buf), "%lld", left);
	reply_header(r, "Retry-After", buf);
	return req_fail(r, E_MFA_LOCKED,
			"Too many failed MFA codes; try again in %lld seconds", left);
}

err_t mfa_fail(req_t *r, const char *user_id)
{
	long long count, ttl;
	char *key = cache_tkey(r->a, "mfa:fail", r->tenant.id, "%s", user_id);
	if (cache_incr_window(r->cache, r->a, key, MFA_LOCK_SECS, &count, &ttl))
		return req_fail(r, E_UNAVAILABLE, "MFA state is unavailable; try again shortly");
	if (count < MFA_MAX_FAILURES)
		return req_fail(r, E_UNAUTHORIZED, "Invalid MFA code");
	redisReply *rep;
	const char *set[] = { "SET", lock_key(r, user_id), "1", "EX", "900" };
	const char *del[] = { "DEL", key };
	if (cache_cmd(r->cache, r->a, &rep, 5, set) || cache_cmd(r->cache, r->a, &rep, 2, del))
		return req_fail(r, E_UNAVAILABLE, "MFA state is unavailable; try again shortly");
	return mfa_lock_check(r, user_id);
}

static void mfa_clear_failures(req_t *r, const char *user_id)
{
	redisReply *rep;
	const char *del[] = { "DEL", cache_tkey(r->a, "mfa:fail", r->tenant.id, "%s", user_id) };
	(void)cache_cmd(r->cache, r->a, &rep, 2, del);
}

long long mfa_verified_count(req_t *r, const char *user_id, err_t *rc)
{
	db_result *res;
	db_param p[] = { db_str(user_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE user_id = ? AND status = 'verified'",
		tenant_table(r, "_mfa_factors")), p, 1, &res);
	if (st) {
		*rc = req_db_error(r, st);
		return -1;
	}
	return strtoll(db_cell(res, 0, 0), NULL, 10);
}

/* --- code checks --------------------------------------------------------------- */

/*
 * Checks code against factor_id of user_id (any verified factor of the
 * user when factor_id is NULL; with any_status an unverified one too) and
 * records the step used.  Lockout applies.  On success *factor (may be
 * NULL) receives the factor id.
 */
static err_t totp_verify(req_t *r, const char *user_id, const char *factor_id, bool any_status,
			 const char *code, const char **factor)
{
	err_t rc = mfa_lock_check(r, user_id);
	if (rc)
		return rc;
	db_result *res;
	db_param p[] = { db_str(user_id), db_str(factor_id), db_str(factor_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, secret_enc, status, last_step FROM %s WHERE user_id = ? "
		"AND (? IS NULL OR id = ?) ORDER BY id", tenant_table(r, "_mfa_factors")), p, 3, &res);
	if (st)
		return req_db_error(r, st);
	if (factor_id && res->nrows == 0)
		return req_fail_field(r, E_NOT_FOUND, "factor_id", "MFA factor not found");
	long long now = time(NULL);
	for (int i = 0; i < res->nrows; i++) {
		if (!any_status && strcmp(db_get(res, i, "status"), "verified") != 0)
			continue;
		size_t klen = 0;
		char *seed = secret_open(r->a, g_config.master_key_bin, db_get(res, i, "secret_enc"), &klen);
		if (!seed)
			return req_fail(r, E_INTERNAL, "Cannot open the MFA factor's secret");
		uint64_t step;
		bool ok = totp_check((unsigned char *)seed, klen, code, now,
				     (uint64_t)db_get_int(res, i, "last_step", 0), &step);
		sodium_memzero(seed, klen);
		if (!ok)
			continue;
		/* Only one request can move last_step past a step: replays lose. */
		db_result *upd;
		db_param q[] = { db_int((long long)step), db_str(db_get(res, i, "id")),
				 db_int((long long)step) };
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET last_step = ?, updated_at = UTC_TIMESTAMP(3) WHERE id = ? "
			"AND last_step < ?", tenant_table(r, "_mfa_factors")), q, 3, &upd);
		if (st)
			return req_db_error(r, st);
		if (upd->affected != 1)
			break;
		mfa_clear_failures(r, user_id);
		if (factor)
			*factor = db_get(res, i, "id");
		return E_OK;
	}
	return mfa_fail(r, user_id);
}

/* Marks the caller's session as aal2 (after a code proved the second
 * factor), so that the next refresh carries it. */
static err_t session_step_up(req_t *r)
{
	if (r->who.kind != PRINCIPAL_USER || !r->who.session_id)
		return E_OK;
	db_param p[] = { db_str(r->who.session_id), db_str(r->who.user_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET aal = 'aal2', amr = CONCAT(amr, ' totp') WHERE id = ? AND user_id = ? "
		"AND aal <> 'aal2'", tenant_table(r, "_sessions")), p, 2, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

static const char *claim_aal(const req_t *r)
{
	const cJSON *v = r->who.claims ? cJSON_GetObjectItemCaseSensitive(r->who.claims, "aal") : NULL;
	return cJSON_IsString(v) ? v->valuestring : "aal1";
}

/* --- enrollment ------------------------------------------------------------------- */

err_t mfa_enroll(req_t *r)
{
	db_result *user;
	err_t rc = user_current(r, false, &user);
	if (rc)
		return rc;
	const char *type = body_str(r, "factor_type") ? body_str(r, "factor_type") : body_str(r, "type");
	if (type && strcmp(type, "totp") != 0)
		return req_fail_field(r, E_VALIDATION, "factor_type", "Only \"totp\" factors are supported");
	const char *uid = db_get(user, 0, "id");
	db_result *cnt;
	db_param p[] = { db_str(uid) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE user_id = ?", tenant_table(r, "_mfa_factors")), p, 1, &cnt);
	if (st)
		return req_db_error(r, st);
	if (strtoll(db_cell(cnt, 0, 0), NULL, 10) >= MFA_MAX_FACTORS)
		return req_fail(r, E_CONFLICT, "A user may have at most %d MFA factors", MFA_MAX_FACTORS);
	unsigned char seed[TOTP_SECRET_BYTES];
	randombytes_buf(seed, sizeof(seed));
	char *secret = base32_encode(r->a, seed, sizeof(seed));
	char *sealed = secret_seal(r->a, g_config.master_key_bin, seed, sizeof(seed));
	sodium_memzero(seed, sizeof(seed));
	char id[40];
	id_new(id, sizeof(id), "mfa_");
	const char *name = body_str(r, "friendly_name");
	db_param q[] = { db_str(id), db_str(uid), db_str(name), db_str(sealed) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, user_id, type, friendly_name, secret_enc, status, created_at, "
		"updated_at) VALUES (?, ?, 'totp', ?, ?, 'unverified', UTC_TIMESTAMP(3), "
		"UTC_TIMESTAMP(3))", tenant_table(r, "_mfa_factors")), q, 4, NULL);
	if (st)
		return req_db_error(r, st);
	const char *issuer = body_str(r, "issuer") ? body_str(r, "issuer") :
			     r->tenant.name ? r->tenant.name : "Tessera";
	const char *account = db_get(user, 0, "email") ? db_get(user, 0, "email") :
			      db_get(user, 0, "phone") ? db_get(user, 0, "phone") : uid;
	char *ei = url_component(r->a, issuer), *ea = url_component(r->a, account);
	char *uri = arena_printf(r->a, "otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1"
				 "&digits=6&period=30", ei, ea, secret, ei);
	char *qr = qr_png_data_uri(r->a, uri);
	if (!qr)
		return req_fail(r, E_INTERNAL, "Cannot make the QR code");
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "factor_id", id);
	cJSON_AddStringToObject(d, "id", id);
	cJSON_AddStringToObject(d, "type", "totp");
	cJSON_AddItemToObject(d, "friendly_name", name ? cJSON_CreateString(name) : cJSON_CreateNull());
	cJSON_AddStringToObject(d, "status", "unverified");
	cJSON *t = cJSON_AddObjectToObject(d, "totp");
	cJSON_AddStringToObject(t, "secret", secret);
	cJSON_AddStringToObject(t, "uri", uri);
	cJSON_AddStringToObject(t, "qr_uri", qr);
	cJSON_AddStringToObject(t, "qr_code", qr);
	reply_data(r, 201, d);
	return E_OK;
}

/* Replaces the user's recovery codes with RECOVERY_CODES fresh ones,
 * returned as an array (shown once; only their hashes are kept). */
static err_t recovery_codes_new(req_t *r, const char *user_id, cJSON **out)
{
	const char *table = tenant_table(r, "_mfa_recovery_codes");
	db_param p[] = { db_str(user_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"DELETE FROM %s WHERE user_id = ?", table), p, 1, NULL);
	if (st)
		return req_db_error(r, st);
	*out = cJSON_CreateArray();
	req_own(r, *out);
	static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
	for (int i = 0; i < RECOVERY_CODES; i++) {
		char code[12], hash[65], id[40];
		for (int k = 0, o = 0; k < 10; k++) {
			code[o++] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
			if (k == 4)
				code[o++] = '-';
		}
		code[11] = '\0';
		sha256_hex(hash, code, strlen(code));
		id_new(id, sizeof(id), "rc_");
		db_param q[] = { db_str(id), db_str(user_id), db_str(hash) };
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"INSERT INTO %s (id, user_id, code_hash, created_at) VALUES (?, ?, ?, "
			"UTC_TIMESTAMP(3))", table), q, 3, NULL);
		if (st)
			return req_db_error(r, st);
		cJSON_AddItemToArray(*out, cJSON_CreateString(code));
	}
	return E_OK;
}

/* Factor fid of the signed-in user: *uid receives the user's id and
 * *verified whether the factor is verified; 404 when the user has no such
 * factor (naming field, the body member that named it, unless NULL). */
static err_t own_factor(req_t *r, const char *fid, const char *field, const char **uid,
			bool *verified)
{
	db_result *user, *f;
	err_t rc = user_current(r, false, &user);
	if (rc)
		return rc;
	*uid = db_get(user, 0, "id");
	db_param p[] = { db_str(fid), db_str(*uid) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT status FROM %s WHERE id = ? AND user_id = ?", tenant_table(r, "_mfa_factors")),
		p, 2, &f);
	if (st)
		return req_db_error(r, st);
	if (f->nrows == 0 && field)
		return req_fail_field(r, E_NOT_FOUND, field, "MFA factor not found");
	if (f->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "MFA factor not found");
	*verified = !strcmp(db_get(f, 0, "status"), "verified");
	return E_OK;
}

err_t mfa_verify(req_t *r)
{
	const char *uid, *fid = body_str(r, "factor_id");
	bool verified;
	err_t rc = own_factor(r, fid, "factor_id", &uid, &verified);
	if (rc || (rc = totp_verify(r, uid, fid, true, body_str(r, "code"), NULL)))
		return rc;
	db_param p[] = { db_str(fid), db_str(uid) };
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	cJSON *codes = NULL;
	if (!verified) {
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET status = 'verified', verified_at = UTC_TIMESTAMP(3), "
			"updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND user_id = ?",
			tenant_table(r, "_mfa_factors")), p, 2, NULL);
		rc = st ? req_db_error(r, st) : E_OK;
		/* The first verified factor brings the recovery codes. */
		err_t crc = E_OK;
		if (!rc && mfa_verified_count(r, uid, &crc) == 1)
			rc = recovery_codes_new(r, uid, &codes);
		else if (crc)
			rc = crc;
	}
	if (!rc)
		rc = session_step_up(r);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddTrueToObject(d, "verified");
	cJSON_AddStringToObject(d, "factor_id", fid);
	if (codes)
		cJSON_AddItemToObject(d, "recovery_codes", cJSON_Duplicate(codes, true));
	reply_data(r, 200, d);
	return E_OK;
}

static err_t factors_reply(req_t *r, const char *user_id)
{
	db_result *res;
	db_param p[] = { db_str(user_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT %s FROM %s WHERE user_id = ? ORDER BY id", cols_select(r->a, factor_cols, NULL),
		tenant_table(r, "_mfa_factors")),
		p, 1, &res);
	if (st)
		return req_db_error(r, st);
	reply_data(r, 200, rows_to_json(factor_cols, res));
	return E_OK;
}

err_t mfa_factors(req_t *r)
{
	db_result *user;
	err_t rc = user_current(r, false, &user);
	return rc ? rc : factors_reply(r, db_get(user, 0, "id"));
}

err_t users_mfa(req_t *r)
{
	db_result *user;
	err_t rc = user_need(r, req_param(r, "user_id"), false, &user);
	return rc ? rc : factors_reply(r, db_get(user, 0, "id"));
}

err_t mfa_unenroll(req_t *r)
{
	const char *uid, *fid = req_param(r, "factor_id");
	bool verified;
	err_t rc = own_factor(r, fid, NULL, &uid, &verified);
	if (rc)
		return rc;
	/* Removing a working second factor takes a session that proved one. */
	if (verified && strcmp(claim_aal(r), "aal2") != 0)
		return req_fail(r, E_FORBIDDEN,
				"Removing a verified factor needs an aal2 session (complete MFA first)");
	db_param p[] = { db_str(fid), db_str(uid) };
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE id = ? AND user_id = ?",
					       tenant_table(r, "_mfa_factors")), p, 2, NULL);
	rc = st ? req_db_error(r, st) : E_OK;
	err_t crc = E_OK;
	if (!rc && mfa_verified_count(r, uid, &crc) == 0 && !crc) {
		db_param q[] = { db_str(uid) };
		st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE user_id = ?",
			tenant_table(r, "_mfa_recovery_codes")), q, 1, NULL);
		rc = st ? req_db_error(r, st) : E_OK;
	} else if (crc) {
		rc = crc;
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return reply_done(r, "unenrolled", "factor_id", fid, NULL);
}

err_t mfa_challenge(req_t *r)
{
	const char *uid = body_str(r, "user_id");
	if (r->who.kind == PRINCIPAL_USER) {
		if (uid && strcmp(uid, r->who.user_id) != 0)
			return req_fail_field(r, E_FORBIDDEN, "user_id",
					      "An end user may only challenge their own factors");
		uid = r->who.user_id;
	} else if (!uid) {
		return req_fail_field(r, E_VALIDATION, "user_id", "user_id is required with an API key");
	}
	db_result *user;
	err_t rc = user_need(r, uid, false, &user);
	if (rc)
		return rc;
	if ((rc = totp_verify(r, uid, body_str(r, "factor_id"), false, body_str(r, "code"), NULL)))
		return rc;
	if ((rc = session_step_up(r)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "user_id", uid);
	cJSON_AddTrueToObject(d, "verified");
	cJSON_AddStringToObject(d, "factor_id", body_str(r, "factor_id"));
	reply_data(r, 200, d);
	return E_OK;
}

/* --- the second step of a sign-in ------------------------------------------------- */

/* An MFA ticket being redeemed. */
typedef struct ticket {
	db_result *user;      /* the user signing in */
	const char *amr;      /* the methods of the first step */
	char *key;            /* the ticket's Redis key */
} ticket_t;

/* Resolves the body's MFA ticket into *t and loads its tenant into
 * r->tenant. */
static err_t ticket_open(req_t *r, ticket_t *t)
{
	char hash[65];
	const char *ticket = body_str(r, "mfa_ticket");
	sha256_hex(hash, ticket, strlen(ticket));
	t->key = arena_printf(r->a, "mfa:ticket:%s", hash);
	redisReply *rep;
	const char *argv[] = { "GET", t->key };
	if (cache_cmd(r->cache, r->a, &rep, 2, argv))
		return req_fail(r, E_UNAVAILABLE, "MFA state is unavailable; try again shortly");
	cJSON *v = rep->type == REDIS_REPLY_STRING ? req_own(r, cJSON_Parse(rep->str)) : NULL;
	const char *tid = json_str_of(v, "tenant_id"), *uid = json_str_of(v, "user_id");
	if (!tid || !uid)
		return req_fail_field(r, E_UNAUTHORIZED, "mfa_ticket", "The MFA ticket is invalid or has expired");
	t->amr = json_str_of(v, "amr") ? json_str_of(v, "amr") : "password";
	err_t rc = tenant_load(r, tid);
	if (rc)
		return rc;
	if ((rc = user_find(r, "id", uid, false, &t->user)))
		return rc;
	if (t->user->nrows == 0 || db_get_int(t->user, 0, "banned", 0))
		return req_fail(r, E_UNAUTHORIZED, BAD_CREDENTIALS);
	return E_OK;
}

/* Spends ticket t and opens the aal2 session, the second step done with
 * method. */
static err_t ticket_finish(req_t *r, const ticket_t *t, const char *method)
{
	redisReply *rep;
	const char *argv[] = { "DEL", t->key };
	if (cache_cmd(r->cache, r->a, &rep, 2, argv))
		return req_fail(r, E_UNAVAILABLE, "MFA state is unavailable; try again shortly");
	/* Of two requests racing with one ticket only the one that deleted it
	 * gets a session. */
	if (rep->type != REDIS_REPLY_INTEGER || rep->integer != 1)
		return req_fail_field(r, E_UNAUTHORIZED, "mfa_ticket", "The MFA ticket is invalid or has expired");
	return session_open(r, t->user, "aal2", arena_printf(r->a, "%s %s", t->amr, method), 200);
}

err_t mfa_complete(req_t *r)
{
	ticket_t t;
	err_t rc = ticket_open(r, &t);
	if (rc || (rc = totp_verify(r, db_get(t.user, 0, "id"), body_str(r, "factor_id"), false,
				    body_str(r, "code"), NULL)))
		return rc;
	return ticket_finish(r, &t, "totp");
}

err_t mfa_recover(req_t *r)
{
	ticket_t t;
	err_t rc = ticket_open(r, &t);
	if (rc)
		return rc;
	const char *uid = db_get(t.user, 0, "id");
	if ((rc = mfa_lock_check(r, uid)))
		return rc;
	/* Codes are compared as issued: lower case, the dash optional. */
	char code[16], hash[65];
	const char *in = body_str(r, "recovery_code");
	size_t o = 0;
	for (const char *p = in; *p && o < 11; p++) {
		if (*p == ' ')
			continue;
		code[o++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		if (o == 5 && p[1] != '-')
			code[o++] = '-';
	}
	code[o] = '\0';
	sha256_hex(hash, code, strlen(code));
	db_result *upd;
	db_param p[] = { db_str(uid), db_str(hash) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET used_at = UTC_TIMESTAMP(3) WHERE user_id = ? AND code_hash = ? "
		"AND used_at IS NULL LIMIT 1", tenant_table(r, "_mfa_recovery_codes")), p, 2, &upd);
	if (st)
		return req_db_error(r, st);
	if (upd->affected != 1)
		return mfa_fail(r, uid);
	mfa_clear_failures(r, uid);
	return ticket_finish(r, &t, "recovery");
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t auth_mfa_routes[] = {
	ROUTE("GET", "/v1/users/:user_id/mfa", "Users", AUTH_BEARER, "auth", NULL, 0, users_mfa, NULL, "List user MFA factors"),
	ROUTE("POST", "/v1/auth/mfa/challenge", "MFA", AUTH_BEARER, "", "none", R_USER, mfa_challenge, mfa_challenge_body, "Challenge MFA"),
	ROUTE("POST", "/v1/auth/mfa/complete", "MFA", AUTH_NONE, "", NULL, 0, mfa_complete, mfa_complete_body, "Complete MFA login"),
	ROUTE("POST", "/v1/auth/mfa/enroll", "MFA", AUTH_BEARER, "", "none", R_USER, mfa_enroll, mfa_enroll_body, "Enroll TOTP factor"),
	ROUTE("GET", "/v1/auth/mfa/factors", "MFA", AUTH_BEARER, "", "none", R_USER, mfa_factors, NULL, "List MFA factors"),
	ROUTE("POST", "/v1/auth/mfa/recover", "MFA", AUTH_NONE, "", NULL, 0, mfa_recover, mfa_recover_body, "MFA recovery"),
	ROUTE("DELETE", "/v1/auth/mfa/:factor_id", "MFA", AUTH_BEARER, "", "none", R_USER, mfa_unenroll, NULL, "Unenroll MFA factor"),
	ROUTE("POST", "/v1/auth/mfa/verify", "MFA", AUTH_BEARER, "", "none", R_USER, mfa_verify, mfa_verify_body, "Verify TOTP code"),
	ROUTES_END,
};
