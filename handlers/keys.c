/*
 * keys.c - API keys: list, create, update, revoke, rotate.
 *
 * The token is shown once, at creation or rotation; only its SHA-256 is
 * stored.  A key can never be given a scope its creator lacks.  Every change
 * is audited in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/cidr.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/rowjson.h"
#include "../common/timefmt.h"
#include "../fcgi/auth.h"
#include "audit.h"
#include "handlers.h"
#include "routes.h"

#define KEY_TOKEN_PREFIX "tsk_"
#define KEY_DISPLAY_PREFIX 12
#define MAX_ALLOWLIST 100

static const col_t key_cols[] = {
	{ "id", COL_STR, 0 },
	{ "label", COL_STR, COL_WRITABLE },
	{ "prefix", COL_STR, 0 },
	{ "scopes", COL_WORDS, COL_WRITABLE },
	{ "ip_allowlist", COL_JSON, COL_WRITABLE },
	{ "rate_limit", COL_INT, COL_WRITABLE },
	{ "expires_at", COL_TIME, COL_WRITABLE },
	{ "status", COL_STR, 0 },
	{ "last_used_at", COL_TIME, 0 },
	{ "revoked_at", COL_TIME, 0 },
	{ "created_by", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ "updated_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

#define KEY_SELECT "SELECT id, label, key_prefix AS prefix, scopes, ip_allowlist, rate_limit, " \
	"expires_at, CASE WHEN revoked_at IS NOT NULL THEN 'revoked' " \
	"WHEN expires_at IS NOT NULL AND expires_at <= UTC_TIMESTAMP(3) THEN 'expired' " \
	"ELSE 'active' END AS status, last_used_at, revoked_at, created_by, created_at, updated_at " \
	"FROM api_keys "

/* Create and update take the same fields (update: all optional). */
const field_t keys_write_body[] = {
	{ "label", FT_STRING, 0, 1, 100 },
	{ "name", FT_STRING, 0, 1, 100 },
	{ "scopes", FT_STRING_ARRAY, 0, 0, 7 },
	{ "ip_allowlist", FT_STRING_ARRAY, FF_NULLABLE, 0, MAX_ALLOWLIST },
	{ "expires_at", FT_STRING, FF_NULLABLE, 0, 40 },
	{ "rate_limit", FT_INT, FF_NULLABLE, 1, 1000000 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t keys_rotate_body[] = {
	{ "label", FT_STRING, 0, 1, 100 },
	{ "name", FT_STRING, 0, 1, 100 },
	{ "scopes", FT_STRING_ARRAY, 0, 0, 7 },
	{ NULL, 0, 0, 0, 0 },
};

static const col_t *col_named(const char *name)
{
	for (const col_t *c = key_cols; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Checks the meaning of the fields whose shape the schema already checked. */
static err_t validate_fields(req_t *r, const cJSON *body)
{
	const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(body, "scopes");
	if (scopes) {
		if (cJSON_GetArraySize(scopes) == 0)
			return req_fail_field(r, E_VALIDATION, "scopes", "scopes must not be empty");
		const cJSON *it;
		unsigned seen = 0;
		cJSON_ArrayForEach(it, scopes) {
			unsigned bit = scope_bit(it->valuestring);
			if (!bit)
				return req_fail_field(r, E_VALIDATION, "scopes",
						      "unknown scope \"%.40s\" (allowed: read write schema files auth ai *)",
						      it->valuestring);
			if (seen & bit)
				return req_fail_field(r, E_VALIDATION, "scopes",
						      "scope \"%s\" is listed twice", it->valuestring);
			seen |= bit;
			if (!(r->who.scopes & SCOPE_ALL) && !(r->who.scopes & bit))
				return req_fail(r, E_INSUFFICIENT_SCOPE,
						"A key cannot grant the \"%s\" scope, which the caller lacks",
						it->valuestring);
		}
	}
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(body, "ip_allowlist");
	if (cJSON_IsArray(ips)) {
		const cJSON *it;
		cJSON_ArrayForEach(it, ips) {
			cidr_t c;
			if (cidr_parse(&c, it->valuestring) != 0)
				return req_fail_field(r, E_VALIDATION, "ip_allowlist",
						      "\"%.60s\" is not an IPv4 or IPv6 address or CIDR block",
						      it->valuestring);
		}
	}
	/* A key may be slower than its plan, never faster: the plan's limit
	 * applies per key, so a higher key limit would lift it. */
	const cJSON *rate = cJSON_GetObjectItemCaseSensitive(body, "rate_limit");
	if (cJSON_IsNumber(rate) && r->tenant.rate_limit > 0 && rate->valuedouble > (double)r->tenant.rate_limit)
		return req_fail_field(r, E_VALIDATION, "rate_limit",
				      "rate_limit must not exceed the %s plan's %lld requests per minute",
				      r->tenant.plan, r->tenant.rate_limit);
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(body, "expires_at");
	if (cJSON_IsString(exp)) {
		time_t t;
		if (time_parse_rfc3339(exp->valuestring, &t) != 0)
			return req_fail_field(r, E_VALIDATION, "expires_at",
					      "expires_at must be an RFC 3339 time");
		if (t <= time(NULL))
			return req_fail_field(r, E_VALIDATION, "expires_at",
					      "expires_at must be in the future");
	}
	return E_OK;
}

static const char *label_of(const cJSON *body, const char *def)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(body, "label");
	if (!l)
		l = cJSON_GetObjectItemCaseSensitive(body, "name");
	return cJSON_IsString(l) ? l->valuestring : def;
}

static err_t key_fetch(req_t *r, const char *id, bool live_only, cJSON **out)
{
	db_result *res;
	db_param p[] = { db_str(r->tenant.id), db_str(id) };
	enum db_status st = db_exec(r->db, r->a,
		live_only ? KEY_SELECT "WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL"
			  : KEY_SELECT "WHERE tenant_id = ? AND id = ?", p, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "API key not found");
	*out = row_to_json(key_cols, res, 0);
	return E_OK;
}

/* Inserts a key; *token receives the plaintext (shown once). */
static err_t key_insert(req_t *r, const char *label, db_param scopes, db_param ips,
			db_param rate, db_param expires, const char *rotated_from,
			char *id, size_t idlen, char **token)
{
	id_new(id, idlen, "key_");
	*token = random_token(r->a, KEY_TOKEN_PREFIX, 32);
	char hash[65];
	sha256_hex(hash, *token, strlen(*token));
	char *prefix = arena_strndup(r->a, *token, KEY_DISPLAY_PREFIX);
	const char *creator = r->who.kind == PRINCIPAL_KEY ? r->who.key_id : r->who.user_id;
	db_param p[] = { db_str(id), db_str(r->tenant.id), db_str(label), db_str(prefix),
			 db_str(hash), scopes, ips, rate, expires, db_str(creator),
			 db_str(rotated_from) };
	enum db_status st = db_exec(r->db, r->a,
		"INSERT INTO api_keys (id, tenant_id, label, key_prefix, key_hash, scopes, "
		"ip_allowlist, rate_limit, expires_at, created_by, rotated_from, created_at, updated_at) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		p, 11, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

static err_t check_quota(req_t *r)
{
	db_result *res;
	db_param p[] = { db_str(r->tenant.id), db_str(r->tenant.plan) };
	enum db_status st = db_exec(r->db, r->a,
		"SELECT (SELECT COUNT(*) FROM api_keys WHERE tenant_id = ? AND revoked_at IS NULL), "
		"max_api_keys FROM plans WHERE id = ?", p, 2, &res);
	if (st)
		return req_db_error(r, st);
	long long used = strtoll(db_cell(res, 0, 0), NULL, 10);
	long long max = db_cell(res, 0, 1) ? strtoll(db_cell(res, 0, 1), NULL, 10) : 0;
	if (max > 0 && used >= max)
		return req_fail(r, E_QUOTA_EXCEEDED, "The %s plan allows %lld active API keys",
				r->tenant.plan, max);
	return E_OK;
}

/* Ends the transaction; after a commit, workers reload the keys they
 * cached. */
static err_t finish_tx(req_t *r, err_t rc)
{
	if ((rc = req_tx_end(r, rc)))
		return rc;
	auth_invalidate(r->cache, r->a);
	return E_OK;
}
err_t keys_list(req_t *r)
{
	const char *all = req_query(r, "include_revoked");
	bool include = all && strcmp(all, "true") == 0;
	db_result *res;
	db_param p[] = { db_str(r->tenant.id) };
	enum db_status st = db_exec(r->db, r->a,
		include ? KEY_SELECT "WHERE tenant_id = ? ORDER BY id"
			: KEY_SELECT "WHERE tenant_id = ? AND revoked_at IS NULL ORDER BY id",
		p, 1, &res);
	if (st)
		return req_db_error(r, st);
	reply_data(r, 200, rows_to_json(key_cols, res));
	return E_OK;
}

err_t keys_create(req_t *r)
{
	err_t rc;
	if ((rc = validate_fields(r, r->json)) || (rc = check_quota(r)))
		return rc;
	const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(r->json, "scopes");
	db_param sp = scopes ? json_to_param(r->a, col_named("scopes"), scopes) : db_str("read");
	db_param ips = json_to_param(r->a, col_named("ip_allowlist"),
				     cJSON_GetObjectItemCaseSensitive(r->json, "ip_allowlist"));
	db_param rate = json_to_param(r->a, col_named("rate_limit"),
				      cJSON_GetObjectItemCaseSensitive(r->json, "rate_limit"));
	db_param exp = json_to_param(r->a, col_named("expires_at"),
				     cJSON_GetObjectItemCaseSensitive(r->json, "expires_at"));
	char id[40];
	char *token = NULL;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	rc = key_insert(r, label_of(r->json, "API key"), sp, ips, rate, exp, NULL, id, sizeof(id), &token);
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(details, "label", label_of(r->json, "API key"));
		cJSON_AddStringToObject(details, "scopes", sp.s ? sp.s : "");
		rc = req_audit(r, "api_key.created", "api_key", id, details);
	}
	if ((rc = finish_tx(r, rc)))
		return rc;
	cJSON *key;
	if ((rc = key_fetch(r, id, false, &key)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "key", key);
	cJSON_AddStringToObject(d, "token", token);
	reply_data(r, 201, d);
	return E_OK;
}

err_t keys_update(req_t *r)
{
	const char *id = req_param(r, "key_id");
	err_t rc;
	if ((rc = validate_fields(r, r->json)))
		return rc;
	cJSON *before;
	if ((rc = key_fetch(r, id, true, &before)))
		return rc;
	req_own(r, before);

	/* SET list from the column table, never from input names. */
	char *sql = arena_strdup(r->a, "UPDATE api_keys SET updated_at = UTC_TIMESTAMP(3)");
	db_param p[10];
	int np = 0;
	cJSON *changed = req_own(r, cJSON_CreateArray());
	const cJSON *item;
	cJSON_ArrayForEach(item, r->json) {
		const char *name = strcmp(item->string, "name") == 0 ? "label" : item->string;
		const col_t *c = col_named(name);
		if (!c || !(c->flags & COL_WRITABLE) || np >= 8)
			continue;
		sql = arena_printf(r->a, "%s, %s = ?", sql, c->name);
		p[np++] = json_to_param(r->a, c, item);
		cJSON_AddItemToArray(changed, cJSON_CreateString(c->name));
	}
	if (np == 0) {
		/* Nothing to change: no write, no audit entry. */
		reply_data(r, 200, cJSON_Duplicate(before, true));
		return E_OK;
	}
	sql = arena_printf(r->a, "%s WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL", sql);
	p[np++] = db_str(r->tenant.id);
	p[np++] = db_str(id);
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	st = db_exec(r->db, r->a, sql, p, np, NULL);
	rc = st ? req_db_error(r, st) : E_OK;
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddItemToObject(details, "fields", cJSON_Duplicate(changed, true));
		rc = req_audit(r, "api_key.updated", "api_key", id, details);
	}
	if ((rc = finish_tx(r, rc)))
		return rc;
	cJSON *key;
	if ((rc = key_fetch(r, id, false, &key)))
		return rc;
	reply_data(r, 200, key);
	return E_OK;
}

static err_t revoke(req_t *r, const char *id)
{
	db_param p[] = { db_str(r->tenant.id), db_str(id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a,
		"UPDATE api_keys SET revoked_at = UTC_TIMESTAMP(3), updated_at = UTC_TIMESTAMP(3) "
		"WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL", p, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->affected == 0)
		return req_fail(r, E_NOT_FOUND, "API key not found");
	return E_OK;
}

err_t keys_revoke(req_t *r)
{
	const char *id = req_param(r, "key_id");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	err_t rc = revoke(r, id);
	if (!rc)
		rc = req_audit(r, "api_key.revoked", "api_key", id, NULL);
	if ((rc = finish_tx(r, rc)))
		return rc;
	cJSON *key;
	if ((rc = key_fetch(r, id, false, &key)))
		return rc;
	cJSON_AddTrueToObject(key, "revoked");
	reply_data(r, 200, key);
	return E_OK;
}

err_t keys_rotate(req_t *r)
{
	const char *id = req_param(r, "key_id");
	err_t rc;
	if ((rc = validate_fields(r, r->json)))
		return rc;
	db_result *old;
	db_param p[] = { db_str(r->tenant.id), db_str(id) };
	enum db_status st = db_exec(r->db, r->a,
		"SELECT label, scopes, ip_allowlist, rate_limit, expires_at, "
		"(expires_at IS NOT NULL AND expires_at <= UTC_TIMESTAMP(3)) AS expired FROM api_keys "
		"WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL", p, 2, &old);
	if (st)
		return req_db_error(r, st);
	if (old->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "API key not found");
	/* The new key inherits the expiry; an expired key would hand on a
	 * token that is dead at birth, so it is replaced by a new key instead. */
	if (db_get_int(old, 0, "expired", 0))
		return req_fail(r, E_CONFLICT, "This API key has expired; create a new key instead");
	const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(r->json, "scopes");
	db_param sp = scopes ? json_to_param(r->a, col_named("scopes"), scopes)
			     : db_str(db_get(old, 0, "scopes"));
	const char *rl = db_get(old, 0, "rate_limit");
	char new_id[40];
	char *token = NULL;
	if ((st = db_begin(r->db)))
		return req_db_error(r, st);
	rc = revoke(r, id);
	if (!rc)
		rc = key_insert(r, label_of(r->json, db_get(old, 0, "label")), sp,
				db_str(db_get(old, 0, "ip_allowlist")),
				rl ? db_int(strtoll(rl, NULL, 10)) : db_null(),
				db_str(db_get(old, 0, "expires_at")), id, new_id, sizeof(new_id), &token);
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(details, "new_key_id", new_id);
		rc = req_audit(r, "api_key.rotated", "api_key", id, details);
	}
	if ((rc = finish_tx(r, rc)))
		return rc;
	cJSON *old_key, *new_key;
	if ((rc = key_fetch(r, id, false, &old_key)))
		return rc;
	req_own(r, old_key);
	if ((rc = key_fetch(r, new_id, false, &new_key)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "old_key", cJSON_Duplicate(old_key, true));
	cJSON_AddItemToObject(d, "new_key", new_key);
	cJSON_AddStringToObject(d, "token", token);
	reply_data(r, 200, d);
	return E_OK;
}
