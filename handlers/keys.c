/*
 * keys.c - API keys: list, create, update, revoke, rotate.
 *
 * A descriptor on the resource engine (fcgi/resource.h) with hooks for
 * what is special: the token is shown once, at creation or rotation, and
 * only its SHA-256 is stored; a key can never be given a scope its creator
 * lacks, nor a rate above its plan's; a delete revokes.  Rotation is
 * written by hand next to the descriptor.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/channels.h"
#include "../common/cidr.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/rowjson.h"
#include "../common/timefmt.h"
#include "../fcgi/credentials.h"
#include "routes.h"

#define KEY_TOKEN_PREFIX "tsk_"
#define KEY_DISPLAY_PREFIX 12
#define MAX_ALLOWLIST 100

/* --- field checks (shape is checked by the schema) ----------------------- */

static err_t check_scopes(req_t *r, const res_field_t *f, const cJSON *scopes)
{
	(void)f;
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
	return E_OK;
}

static err_t check_ips(req_t *r, const res_field_t *f, const cJSON *ips)
{
	(void)f;
	const cJSON *it;
	cJSON_ArrayForEach(it, ips) {
		cidr_t c;
		if (cidr_parse(&c, it->valuestring) != 0)
			return req_fail_field(r, E_VALIDATION, "ip_allowlist",
					      "\"%.60s\" is not an IPv4 or IPv6 address or CIDR block",
					      it->valuestring);
	}
	return E_OK;
}

/* A key may be slower than its plan, never faster: the plan's limit
 * applies per key, so a higher key limit would lift it. */
static err_t check_rate(req_t *r, const res_field_t *f, const cJSON *rate)
{
	(void)f;
	if (r->tenant.rate_limit > 0 && rate->valuedouble > (double)r->tenant.rate_limit)
		return req_fail_field(r, E_VALIDATION, "rate_limit",
				      "rate_limit must not exceed the %s plan's %lld requests per minute",
				      r->tenant.plan, r->tenant.rate_limit);
	return E_OK;
}

static err_t check_expiry(req_t *r, const res_field_t *f, const cJSON *exp)
{
	(void)f;
	time_t t;
	if (time_parse_rfc3339(exp->valuestring, &t) != 0)
		return req_fail_field(r, E_VALIDATION, "expires_at", "expires_at must be an RFC 3339 time");
	if (t <= time(NULL))
		return req_fail_field(r, E_VALIDATION, "expires_at", "expires_at must be in the future");
	return E_OK;
}

#define KEY_STATUS "CASE WHEN revoked_at IS NOT NULL THEN 'revoked' " \
	"WHEN expires_at IS NOT NULL AND expires_at <= UTC_TIMESTAMP(3) THEN 'expired' ELSE 'active' END"

static const res_field_t key_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "label", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE, .min = 1, .max = 100,
	  .alias = "name" },
	{ .name = "prefix", .column = "key_prefix", .type = COL_STR },
	{ .name = "scopes", .type = COL_WORDS, .in = FT_STRING_ARRAY, .flags = RF_WRITABLE, .max = 7,
	  .check = check_scopes },
	{ .name = "ip_allowlist", .type = COL_JSON, .in = FT_STRING_ARRAY,
	  .flags = RF_WRITABLE | RF_NULLABLE, .max = MAX_ALLOWLIST, .check = check_ips },
	{ .name = "rate_limit", .type = COL_INT, .in = FT_INT, .flags = RF_WRITABLE | RF_NULLABLE,
	  .min = 1, .max = 1000000, .check = check_rate },
	{ .name = "expires_at", .type = COL_TIME, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 40, .check = check_expiry },
	{ .name = "status", .column = KEY_STATUS, .type = COL_STR, .flags = RF_EXPR },
	{ .name = "last_used_at", .type = COL_TIME },
	{ .name = "revoked_at", .type = COL_TIME },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* --- hooks ---------------------------------------------------------------- */

static err_t check_quota(req_t *r)
{
	db_result *res;
	db_param p[] = { db_str(r->tenant.id), db_str(r->tenant.plan) };
	enum db_status st = db_exec(db_control(r->db), r->a,
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

static const char *label_of(const cJSON *body, const char *def)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(body, "label");
	if (!l)
		l = cJSON_GetObjectItemCaseSensitive(body, "name");
	return cJSON_IsString(l) ? l->valuestring : def;
}

/* The token a create or a rotation makes (c->data): shown this once, the
 * row keeps its hash and display prefix; a rotation's new key is id. */
typedef struct minted {
	char *token;
	db_param hash, prefix;
	char id[40];
} minted_t;

static minted_t *token_new(req_t *r, res_ctx_t *c)
{
	minted_t *m = arena_calloc(r->a, 1, sizeof(*m));
	m->token = random_token(r->a, KEY_TOKEN_PREFIX, 32);
	char *hash = arena_alloc(r->a, 65);
	sha256_hex(hash, m->token, strlen(m->token));
	m->hash = db_str(hash);
	m->prefix = db_str(arena_strndup(r->a, m->token, KEY_DISPLAY_PREFIX));
	c->data = m;
	return m;
}

static err_t key_validate(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_CREATE)
		return E_OK;
	err_t rc = check_quota(r);
	if (rc)
		return rc;
	const char *label = label_of(c->body, "API key");
	resource_set(c, "label", db_str(label));
	const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(c->body, "scopes");
	col_t words = { "scopes", COL_WORDS, 0 };
	db_param sp = scopes ? json_to_param(r->a, &words, scopes) : db_str("read");
	resource_set(c, "scopes", sp);
	minted_t *m = token_new(r, c);
	resource_set(c, "key_hash", m->hash);
	resource_set(c, "key_prefix", m->prefix);
	c->audit = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(c->audit, "label", label);
	cJSON_AddStringToObject(c->audit, "scopes", sp.s ? sp.s : "");
	return E_OK;
}

/* Workers reload the keys they cached; a changed or revoked key's
 * realtime connections close (they reconnect under its new terms). */
static void key_committed(req_t *r, res_ctx_t *c)
{
	credentials_invalidate(r->cache, r->a);
	if (c->op == OP_UPDATE || c->op == OP_DELETE)
		channels_close(r->a, r->tenant.id, "key", c->id);
}

/*
 * A rotation (a delete with a token made, keys_rotate) revokes the key and
 * makes its successor.  The new key inherits the expiry; an expired key
 * would hand on a token that is dead at birth, so it is replaced by a new
 * key instead.
 */
static err_t key_before_delete(req_t *r, res_ctx_t *c)
{
	minted_t *m = c->data;
	if (!m)
		return E_OK;
	if (!strcmp(json_str_of(c->before, "status"), "expired"))
		return req_fail(r, E_CONFLICT,
				"This API key has expired; create a new key instead");
	id_new(m->id, sizeof(m->id), "key_");
	c->audit = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(c->audit, "new_key_id", m->id);
	return E_OK;
}

/* A rotation's successor, in the revoke's transaction: it keeps what the
 * body does not change. */
static err_t key_after_write(req_t *r, res_ctx_t *c)
{
	minted_t *m = c->data;
	if (c->op != OP_DELETE || !m)
		return E_OK;
	const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(c->body, "scopes");
	col_t words = { "scopes", COL_WORDS, 0 };
	const char *creator = r->who.kind == PRINCIPAL_KEY ? r->who.key_id : r->who.user_id;
	db_param q[] = { db_str(m->id), db_str(label_of(c->body, NULL)), m->prefix, m->hash,
			 scopes ? json_to_param(r->a, &words, scopes) : db_null(), db_str(creator),
			 db_str(r->tenant.id), db_str(c->id) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"INSERT INTO api_keys (id, tenant_id, label, key_prefix, key_hash, scopes, "
		"ip_allowlist, rate_limit, expires_at, created_by, rotated_from, created_at, "
		"updated_at) SELECT ?, tenant_id, COALESCE(?, label), ?, ?, COALESCE(?, scopes), "
		"ip_allowlist, rate_limit, expires_at, ?, id, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) "
		"FROM api_keys WHERE tenant_id = ? AND id = ?", q, 8, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* A created key comes with its token, shown this once; so does a rotated
 * one's successor, beside the old key; a revoked key says so. */
static err_t key_reply(req_t *r, res_ctx_t *c)
{
	const minted_t *m = c->data;
	cJSON *new_key = NULL;
	err_t rc = m && c->op == OP_DELETE ? resource_fetch(r, c, m->id, false, &new_key) : E_OK;
	if (rc)
		return rc;
	cJSON *d = cJSON_Duplicate(c->row, true);
	if (c->op == OP_DELETE && !m)
		cJSON_AddTrueToObject(d, "revoked");
	if (m) {
		cJSON *key = d;
		d = cJSON_CreateObject();
		cJSON_AddItemToObject(d, new_key ? "old_key" : "key", key);
		if (new_key)
			cJSON_AddItemToObject(d, "new_key", cJSON_Duplicate(new_key, true));
		cJSON_AddStringToObject(d, "token", m->token);
	}
	reply_data(r, c->status, d);
	return E_OK;
}

static const res_hooks_t key_hooks = {
	.validate = key_validate,
	.before_delete = key_before_delete,
	.after_write = key_after_write,
	.after_commit = key_committed,
	.reply = key_reply,
};

static const resource_t key_res = {
	.name = "API key",
	.type = "api_key",
	.table = "api_keys",
	.home = RES_PRIMARY,
	.id_param = "key_id",
	.id_prefix = "key_",
	.fields = key_fields,
	.order = "id",
	.live = "revoked_at IS NULL",
	.show_all = "include_revoked",
	.del = DEL_MARK,
	.delete_set = "revoked_at = UTC_TIMESTAMP(3)",
	.deleted_verb = "revoked",
	.flags = RES_CREATED_BY,
	.list_max = 1000,
	.hooks = &key_hooks,
	.example = "{\"label\":\"probe\",\"scopes\":[\"read\"]}",
};

/* --- rotation ------------------------------------------------------------- */

static const field_t keys_rotate_body[] = {
	{ "label", FT_STRING, 0, 1, 100 },
	{ "name", FT_STRING, 0, 1, 100 },
	{ "scopes", FT_STRING_ARRAY, 0, 0, 7 },
	{ NULL, 0, 0, 0, 0 },
};

static err_t keys_rotate(req_t *r)
{
	const cJSON *scopes = cJSON_GetObjectItemCaseSensitive(r->json, "scopes");
	res_ctx_t c;
	err_t rc;
	if ((scopes && (rc = check_scopes(r, NULL, scopes))) ||
	    (rc = resource_ctx(r, &key_res, OP_DELETE, &c)))
		return rc;
	c.verb = "rotated";
	token_new(r, &c);
	return resource_run(r, &c);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t keys_routes[] = {
	CRUD("GET", "/v1/keys", "API Keys", "*", NULL, 0, key_res, OP_LIST, "List API keys"),
	CRUD("POST", "/v1/keys", "API Keys", "*", NULL, 0, key_res, OP_CREATE, "Create API key"),
	CRUD("PATCH", "/v1/keys/:key_id", "API Keys", "*", NULL, 0, key_res, OP_UPDATE, "Update API key"),
	CRUD("DELETE", "/v1/keys/:key_id", "API Keys", "*", NULL, 0, key_res, OP_DELETE, "Revoke API key"),
	ROUTE("POST", "/v1/keys/:key_id/rotate", "API Keys", AUTH_BEARER, "*", NULL, 0, keys_rotate, keys_rotate_body, "Rotate API key"),
	ROUTES_END,
};
