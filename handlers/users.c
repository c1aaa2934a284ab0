/*
 * users.c - the admin API over the tenant's end users (scope `auth`):
 * list (limit, offset, search, role), create, get, update (ban, verify,
 * role, metadata, password) and delete.  The user's MFA factors are in
 * auth_mfa.c.
 *
 * List, get, create and delete run on the resource engine
 * (fcgi/resource.h) with hooks for what is special: the password arrives in
 * plain text and only its hash is stored, a verified flag stamps the
 * address verified, and deleting a user who owns data (sessions, factors,
 * comments) needs the secure-delete confirmation and then removes all of
 * it.  Update is written by hand: its columns change by expressions over
 * the row (a JSON merge patch, a time kept if already set), which the
 * engine cannot write.  Banning revokes every session of the user at once;
 * a banned user cannot sign in or refresh.  Every change is audited and
 * emits user.created / user.updated / user.deleted in the same transaction.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/password.h"
#include "../fcgi/securedel.h"
#include "audit.h"
#include "enduser.h"
#include "identity.h"
#include "query.h"
#include "routes.h"

#define ROLE_MAX 64
#define METADATA_MAX 16384
#define SEARCH_MAX 320

static const char *const metadata[] = { "user_metadata", "app_metadata" };

/* The shared meaning checks of create and update. */
static err_t fields_check(req_t *r, char **hash)
{
	const char *email = body_str(r, "email"), *phone = body_str(r, "phone");
	const char *role = body_str(r, "role"), *pw = body_str(r, "password");
	if (email && !email_address_valid(email))
		return req_fail_field(r, E_VALIDATION, "email", "email must be a valid email address");
	if (phone && !phone_e164_valid(phone))
		return req_fail_field(r, E_VALIDATION, "phone",
				      "phone must be an E.164 number such as +15551234567");
	if (role && strspn(role, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-:.") != strlen(role))
		return req_fail_field(r, E_VALIDATION, "role",
				      "role may hold letters, digits and _ - : . only");
	for (int i = 0; i < 2; i++) {
		char *t = req_json_text(r, cJSON_GetObjectItemCaseSensitive(r->json, metadata[i]));
		if (t && strlen(t) > METADATA_MAX)
			return req_fail_field(r, E_VALIDATION, metadata[i], "%s must be at most %d bytes",
					      metadata[i], METADATA_MAX);
	}
	*hash = NULL;
	if (pw) {
		auth_settings_t s;
		err_t rc = auth_settings_load(r, &s);
		if (rc || (rc = password_check(r, &s, "password", pw)))
			return rc;
		if (!(*hash = password_hash(r->a, pw)))
			return req_fail(r, E_UNAVAILABLE, "Cannot hash the password now; try again");
	}
	return E_OK;
}

/* The details of a create or update entry.  They have always been a
 * shallow copy of the body, which has no members: the entry names no
 * fields (and so never the password). */
static cJSON *change_details(req_t *r)
{
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddObjectToObject(details, "fields");
	return details;
}

static bool flag(const req_t *r, const char *name, bool *v)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(r->json, name);
	if (!cJSON_IsBool(b))
		return false;
	*v = cJSON_IsTrue(b);
	return true;
}

/* --- the descriptor ------------------------------------------------------- */

/*
 * The row renders as user_json() does (enduser.c).  The verified flags
 * render from their times and are set through them, so each is two
 * fields: the expression shown and the input the hooks read.
 */
static const res_field_t user_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "email", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_NULLABLE, .max = 320 },
	{ .name = "password", .in = FT_STRING, .flags = RF_CREATE | RF_NULLABLE | RF_INPUT },
	{ .name = "phone", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_NULLABLE, .max = 20 },
	{ .name = "role", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE, .min = 1, .max = ROLE_MAX },
	{ .name = "is_anonymous", .type = COL_BOOL },
	{ .name = "email_verified", .column = "email_verified_at IS NOT NULL", .type = COL_BOOL,
	  .flags = RF_EXPR },
	{ .name = "email_verified", .in = FT_BOOL, .flags = RF_CREATE | RF_INPUT },
	{ .name = "email_verified_at", .type = COL_TIME },
	{ .name = "phone_verified", .column = "phone_verified_at IS NOT NULL", .type = COL_BOOL,
	  .flags = RF_EXPR },
	{ .name = "phone_verified", .in = FT_BOOL, .flags = RF_CREATE | RF_INPUT },
	{ .name = "phone_verified_at", .type = COL_TIME },
	{ .name = "user_metadata", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_CREATE | RF_NULLABLE },
	{ .name = "app_metadata", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_CREATE | RF_NULLABLE },
	{ .name = "banned", .column = "banned_at IS NOT NULL", .type = COL_BOOL, .flags = RF_EXPR },
	{ .name = "banned_at", .type = COL_TIME },
	{ .name = "ban_reason", .type = COL_STR },
	{ .name = "last_sign_in_at", .type = COL_TIME },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* ?search= over email, phone and id; ?role=.  Empty values, and a search
 * longer than any address, filter nothing. */
static err_t user_list(req_t *r, res_ctx_t *c)
{
	const char *search = req_query(r, "search"), *role = req_query(r, "role");
	if (search && *search && strlen(search) <= SEARCH_MAX) {
		const char *like = query_like_pattern(r->a, search, true);
		db_param p[] = { db_str(like), db_str(like), db_str(like) };
		resource_where(r, c, "email LIKE ? OR phone LIKE ? OR id LIKE ?", p, 3);
	}
	if (role && *role) {
		db_param p[] = { db_str(role) };
		resource_where(r, c, "role = ?", p, 1);
	}
	return E_OK;
}

/* A duplicate email or phone, found before the insert so that the answer
 * names the cause; the unique keys still settle a race. */
static err_t user_unique(req_t *r, res_ctx_t *c)
{
	db_result *res;
	db_param p[] = { db_str(body_str(r, "email")), db_str(body_str(r, "phone")) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id FROM %s WHERE email = ? OR phone = ? LIMIT 1", resource_table(r, c->res)),
		p, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows)
		return req_fail(r, E_CONFLICT, "A user with this email or phone already exists");
	return E_OK;
}

/* Create: the checks, the password's hash, metadata sent as null stored
 * as the empty object it defaults to. */
static err_t user_validate(req_t *r, res_ctx_t *c)
{
	char *hash;
	err_t rc = fields_check(r, &hash);
	if (rc)
		return rc;
	if (!body_str(r, "email") && !body_str(r, "phone"))
		return req_fail_field(r, E_VALIDATION, "email", "email or phone is required");
	if ((rc = user_unique(r, c)))
		return rc;
	if (hash)
		resource_set(c, "password_hash", db_str(hash));
	for (int i = 0; i < 2; i++)
		if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c->body, metadata[i])))
			resource_set(c, metadata[i], db_str("{}"));
	c->audit = change_details(r);
	return E_OK;
}

static long long count_of(req_t *r, const char *table, const char *col, const char *uid,
			  const char *extra, err_t *rc)
{
	db_result *res;
	db_param p[] = { db_str(uid) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE %s = ?%s", tenant_table(r, table), col, extra), p, 1, &res);
	if (st) {
		*rc = req_db_error(r, st);
		return 0;
	}
	return strtoll(db_cell(res, 0, 0), NULL, 10);
}

/* What a user owns, and what deleting the user removes with it. */
static const struct owned {
	const char *table, *col, *type, *label, *live;
} owned[] = {
	{ "_sessions", "user_id", "sessions", "Active sessions",
	  " AND revoked_at IS NULL AND expires_at > UTC_TIMESTAMP(3)" },
	{ "_mfa_factors", "user_id", "mfa_factors", "MFA factors", "" },
	{ "_comments", "author_id", "comments", "Comments", "" },
};

/* A user who owns data is deleted only with the confirmation. */
static err_t user_before_delete(req_t *r, res_ctx_t *c)
{
	enum { NOWNED = sizeof(owned) / sizeof(owned[0]) };
	dependency_t deps[NOWNED];
	err_t rc = E_OK;
	for (int i = 0; i < NOWNED; i++) {
		deps[i] = (dependency_t){ owned[i].type, owned[i].label,
					  count_of(r, owned[i].table, owned[i].col, c->id, owned[i].live, &rc) };
		if (rc)
			return rc;
	}
	/* The entry of a delete has never had details. */
	c->audit = req_own(r, cJSON_CreateNull());
	return securedel_check(r, "user", c->id, deps, NOWNED, &c->cascade);
}

/* Delete: every session ends now and what the user owned goes with the
 * row; the event carries the user as it was. */
static err_t user_wipe(req_t *r, res_ctx_t *c)
{
	err_t rc = sessions_revoke(r, c->id, NULL, "user_deleted", NULL);
	static const struct { const char *table, *col; } wipe[] = {
		{ "_comments", "author_id" }, { "_refresh_tokens", "user_id" },
		{ "_sessions", "user_id" }, { "_mfa_recovery_codes", "user_id" },
		{ "_mfa_factors", "user_id" }, { "_auth_tokens", "user_id" },
	};
	for (size_t i = 0; !rc && i < sizeof(wipe) / sizeof(wipe[0]); i++) {
		db_param p[] = { db_str(c->id) };
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE %s = ?",
			tenant_table(r, wipe[i].table), wipe[i].col), p, 1, NULL);
		rc = st ? req_db_error(r, st) : E_OK;
	}
	c->row = c->before;
	return rc;
}

/* Create: a verified flag stamps the address verified when the user was
 * created; delete: the wipe. */
static err_t user_written(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_DELETE)
		return user_wipe(r, c);
	bool ev = false, pv = false;
	flag(r, "email_verified", &ev);
	flag(r, "phone_verified", &pv);
	if (!ev && !pv)
		return E_OK;
	db_param p[] = { db_int(ev), db_int(pv), db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET email_verified_at = IF(?, created_at, NULL), "
		"phone_verified_at = IF(?, created_at, NULL) WHERE id = ?", resource_table(r, c->res)),
		p, 3, NULL);
	if (st)
		return req_db_error(r, st);
	return resource_fetch(r, c, c->id, false, &c->row);
}

/* Workers drop the deleted user's cached permissions. */
static void user_committed(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_DELETE)
		identity_invalidate(r);
}

/* A delete answers {user_id, deleted}; a create, the user. */
static err_t user_reply(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_DELETE) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "user_id", c->id);
		cJSON_AddTrueToObject(d, "deleted");
		reply_data(r, 200, d);
	} else {
		reply_data(r, c->status, cJSON_Duplicate(c->row, true));
	}
	return E_OK;
}

static const res_hooks_t user_hooks = {
	.validate = user_validate,
	.list = user_list,
	.before_delete = user_before_delete,
	.after_write = user_written,
	.after_commit = user_committed,
	.reply = user_reply,
};

static const resource_t user_res = {
	.name = "User",
	.type = "user",
	.table = "_users",
	.home = RES_TENANT,
	.id_param = "user_id",
	.id_prefix = "usr_",
	.fields = user_fields,
	.order = "created_at DESC",
	.flags = RES_EVENTS,
	.list_max = 100,
	.list_default = 20,
	.list_shape = LIST_PAGE,
	.list_key = "users",
	.hooks = &user_hooks,
	.example = "{\"email\":\"probe@example.com\",\"password\":\"correct horse battery\"}",
};

/* --- update --------------------------------------------------------------- */

static const field_t users_update_body[] = {
	{ "email", FT_STRING, FF_NULLABLE, 0, 320 },
	{ "password", FT_STRING, 0, 0, 0 },
	{ "phone", FT_STRING, FF_NULLABLE, 0, 20 },
	{ "role", FT_STRING, 0, 1, ROLE_MAX },
	{ "banned", FT_BOOL, 0, 0, 0 },
	{ "ban_reason", FT_STRING, FF_NULLABLE, 0, 500 },
	{ "email_verified", FT_BOOL, 0, 0, 0 },
	{ "phone_verified", FT_BOOL, 0, 0, 0 },
	{ "user_metadata", FT_OBJECT, 0, 0, 0 },
	{ "app_metadata", FT_OBJECT, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

/* Audit entry and outbox event of the update of uid, in the transaction;
 * *u receives the user as it now is. */
static err_t user_changed(req_t *r, const char *uid, cJSON **u)
{
	res_ctx_t c;
	err_t rc = resource_ctx(r, &user_res, OP_GET, &c);
	if (rc || (rc = resource_fetch(r, &c, uid, false, u)))
		return rc;
	rc = outbox_add(r, "user.updated", "user", uid, *u);
	return rc ? rc : req_audit(r, "user.updated", "user", uid, change_details(r));
}

static err_t users_update(req_t *r)
{
	const char *uid = req_param(r, "user_id");
	char *hash;
	err_t rc = fields_check(r, &hash);
	if (rc)
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_result *u;
	if ((rc = user_need(r, uid, true, &u)))
		return req_tx_end(r, rc);
	bool has_email = cJSON_GetObjectItemCaseSensitive(r->json, "email") != NULL;
	bool has_phone = cJSON_GetObjectItemCaseSensitive(r->json, "phone") != NULL;
	bool ev = false, pv = false, banned = false;
	bool set_ev = flag(r, "email_verified", &ev), set_pv = flag(r, "phone_verified", &pv);
	bool set_ban = flag(r, "banned", &banned);
	bool has_reason = cJSON_GetObjectItemCaseSensitive(r->json, "ban_reason") != NULL;
	bool was_banned = db_get_int(u, 0, "banned", 0) != 0;
	const char *email = body_str(r, "email");
	bool email_changed = has_email && !(email && db_get(u, 0, "email") &&
					    !strcasecmp(email, db_get(u, 0, "email")));
	char *um = req_json_text(r, cJSON_GetObjectItemCaseSensitive(r->json, "user_metadata"));
	char *am = req_json_text(r, cJSON_GetObjectItemCaseSensitive(r->json, "app_metadata"));
	/* One statement; each flag says whether its column changes. */
	db_param p[] = {
		db_int(has_email), db_str(email),
		db_int(set_ev), db_int(ev), db_int(email_changed && !set_ev),
		db_int(has_phone), db_str(body_str(r, "phone")),
		db_int(set_pv), db_int(pv), db_int(has_phone && !set_pv),
		db_str(hash), db_str(hash),
		db_str(body_str(r, "role")), db_str(body_str(r, "role")),
		db_str(um), db_str(um), db_str(am), db_str(am),
		db_int(set_ban), db_int(banned),
		db_int(set_ban && !banned), db_int(has_reason), db_str(body_str(r, "ban_reason")),
		db_str(uid),
	};
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET updated_at = UTC_TIMESTAMP(3), "
		"email = IF(?, ?, email), "
		"email_verified_at = IF(?, IF(?, COALESCE(email_verified_at, UTC_TIMESTAMP(3)), NULL), "
		"IF(?, NULL, email_verified_at)), "
		"phone = IF(?, ?, phone), "
		"phone_verified_at = IF(?, IF(?, COALESCE(phone_verified_at, UTC_TIMESTAMP(3)), NULL), "
		"IF(?, NULL, phone_verified_at)), "
		"password_hash = IF(? IS NULL, password_hash, ?), "
		"role = IF(? IS NULL, role, ?), "
		"user_metadata = IF(? IS NULL, user_metadata, JSON_MERGE_PATCH(user_metadata, ?)), "
		"app_metadata = IF(? IS NULL, app_metadata, JSON_MERGE_PATCH(app_metadata, ?)), "
		"banned_at = IF(?, IF(?, COALESCE(banned_at, UTC_TIMESTAMP(3)), NULL), banned_at), "
		"ban_reason = IF(?, NULL, IF(?, ?, ban_reason)) "
		"WHERE id = ?", resource_table(r, &user_res)), p, 24, NULL);
	if (st == DB_DUPLICATE)
		rc = req_fail(r, E_CONFLICT, "Another user already has this email or phone");
	else if (st)
		rc = req_db_error(r, st);
	/* A ban ends every session now, not when its tokens expire. */
	if (!rc && set_ban && banned && !was_banned)
		rc = sessions_revoke(r, uid, NULL, "banned", NULL);
	cJSON *user = NULL;
	if (!rc)
		rc = user_changed(r, uid, &user);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	reply_data(r, 200, cJSON_Duplicate(user, true));
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t users_routes[] = {
	CRUD("GET", "/v1/users", "Users", "auth", NULL, 0, user_res, OP_LIST, "List users"),
	CRUD("POST", "/v1/users", "Users", "auth", NULL, 0, user_res, OP_CREATE, "Create user"),
	CRUD("GET", "/v1/users/:user_id", "Users", "auth", NULL, 0, user_res, OP_GET, "Get user"),
	ROUTE("PATCH", "/v1/users/:user_id", "Users", AUTH_BEARER, "auth", NULL, 0, users_update, users_update_body, "Update user"),
	CRUD("DELETE", "/v1/users/:user_id", "Users", "auth", NULL, 0, user_res, OP_DELETE, "Delete user"),
	ROUTES_END,
};
