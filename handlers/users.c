/*
 * users.c - the admin API over the tenant's end users (scope `auth`):
 * list (limit, offset, search, role), create, get, update (ban, verify,
 * role, metadata, password) and delete.  The user's MFA factors are in
 * auth_mfa.c.
 *
 * Every operation runs on the resource engine (fcgi/resource.h) with
 * hooks for what is special: the password arrives in plain text and only
 * its hash is stored, the verified flags and a ban are stamped as times
 * (kept when already set), metadata changes by a JSON merge patch, and
 * deleting a user who owns data (sessions, factors, comments) needs the
 * secure-delete confirmation and then removes all of it.  Banning revokes
 * every session of the user at once; a banned user cannot sign in or
 * refresh.  Every change is audited and emits user.created / user.updated
 * / user.deleted in the same transaction.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/jsonx.h"
#include "../common/password.h"
#include "../fcgi/query.h"
#include "../fcgi/securedel.h"
#include "enduser.h"
#include "identity.h"
#include "routes.h"

#define ROLE_MAX 64
#define METADATA_MAX 16384
#define SEARCH_MAX 320

static const char *const metadata[] = { "user_metadata", "app_metadata" };
/* The verified flags a body sets and the times that hold them. */
static const char *const verified[][2] = {
	{ "email_verified", "email_verified_at" }, { "phone_verified", "phone_verified_at" },
};

/* Create and update: the meaning checks of the body, and the password's
 * hash.  The audit entry's details have always been a shallow copy of the
 * body, which has no members: it names no fields (and so never the
 * password). */
static err_t user_check(req_t *r, res_ctx_t *c)
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
	if (pw) {
		auth_settings_t s;
		char *hash;
		err_t rc = auth_settings_load(r, &s);
		if (rc || (rc = password_check(r, &s, "password", pw)))
			return rc;
		if (!(hash = password_hash(r->a, pw)))
			return req_fail(r, E_UNAVAILABLE, "Cannot hash the password now; try again");
		resource_set(c, "password_hash", db_str(hash));
	}
	c->audit = req_own(r, cJSON_CreateObject());
	cJSON_AddObjectToObject(c->audit, "fields");
	return E_OK;
}

/* Sets the time col to now, or keeps it when already set (on); clears it
 * otherwise. */
static void user_stamp(req_t *r, res_ctx_t *c, const char *col, bool on)
{
	const char *expr = arena_printf(r->a, "COALESCE(`%s`, UTC_TIMESTAMP(3))", col);
	if (on)
		resource_set_expr(c, col, expr, NULL, 0);
	else
		resource_set(c, col, db_str(NULL));
}

/* --- the descriptor ------------------------------------------------------- */

/*
 * The row renders as user_json() does (enduser.c).  The verified flags
 * render from their times and are set through them, so each is two
 * fields: the expression shown and the input the hooks read.  What an
 * update takes that a create does not (a ban), or takes otherwise (a
 * password and metadata that cannot be null), are inputs of their own,
 * read by user_update_set.
 */
static const res_field_t user_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "email", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 320 },
	{ .name = "password", .in = FT_STRING, .flags = RF_CREATE | RF_NULLABLE | RF_INPUT },
	{ .name = "password", .in = FT_STRING, .flags = RF_UPDATE | RF_INPUT },
	{ .name = "phone", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 20 },
	{ .name = "role", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE, .min = 1,
	  .max = ROLE_MAX },
	{ .name = "banned", .in = FT_BOOL, .flags = RF_UPDATE | RF_INPUT },
	{ .name = "ban_reason", .in = FT_STRING, .flags = RF_UPDATE | RF_NULLABLE | RF_INPUT,
	  .max = 500 },
	{ .name = "is_anonymous", .type = COL_BOOL },
	{ .name = "email_verified", .column = "email_verified_at IS NOT NULL", .type = COL_BOOL,
	  .flags = RF_EXPR },
	{ .name = "email_verified", .in = FT_BOOL, .flags = RF_WRITABLE | RF_INPUT },
	{ .name = "email_verified_at", .type = COL_TIME },
	{ .name = "phone_verified", .column = "phone_verified_at IS NOT NULL", .type = COL_BOOL,
	  .flags = RF_EXPR },
	{ .name = "phone_verified", .in = FT_BOOL, .flags = RF_WRITABLE | RF_INPUT },
	{ .name = "phone_verified_at", .type = COL_TIME },
	{ .name = "user_metadata", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_CREATE | RF_NULLABLE },
	{ .name = "app_metadata", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_CREATE | RF_NULLABLE },
	{ .name = "user_metadata", .in = FT_OBJECT, .flags = RF_UPDATE | RF_INPUT },
	{ .name = "app_metadata", .in = FT_OBJECT, .flags = RF_UPDATE | RF_INPUT },
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
		query_and(r, c->list, "(email LIKE ? OR phone LIKE ? OR id LIKE ?)");
		for (int i = 0; i < 3; i++)
			query_bind(r, c->list, db_str(like));
	}
	if (role && *role)
		query_and_bind(r, c->list, "role = ?", db_str(role));
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

/* Update: a new address is no longer verified unless the body says so
 * (an email that differs only in case is the same); an unban clears the
 * reason; metadata is merged into the stored (JSON merge patch). */
static err_t user_update_set(req_t *r, res_ctx_t *c)
{
	const char *email = body_str(r, "email"), *old = json_str_of(c->before, "email");
	bool moved[] = {
		cJSON_GetObjectItemCaseSensitive(c->body, "email") &&
			!(email && old && !strcasecmp(email, old)),
		cJSON_GetObjectItemCaseSensitive(c->body, "phone") != NULL,
	};
	for (int i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, verified[i][0]);
		if (v || moved[i])
			user_stamp(r, c, verified[i][1], cJSON_IsTrue(v));
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(c->body, metadata[i]);
		db_param p = db_str(req_json_text(r, m));
		if (m)
			resource_set_expr(c, metadata[i], arena_printf(r->a,
				"JSON_MERGE_PATCH(`%s`, ?)", metadata[i]), &p, 1);
	}
	const cJSON *ban = cJSON_GetObjectItemCaseSensitive(c->body, "banned");
	if (ban)
		user_stamp(r, c, "banned_at", cJSON_IsTrue(ban));
	if (cJSON_IsFalse(ban))
		resource_set(c, "ban_reason", db_str(NULL));
	else if (cJSON_GetObjectItemCaseSensitive(c->body, "ban_reason"))
		resource_set(c, "ban_reason", db_str(body_str(r, "ban_reason")));
	return E_OK;
}

/* Create: an email or a phone, neither taken; a verified flag stamps the
 * address verified as the user is created; metadata sent as null is
 * stored as the empty object it defaults to.  Update: user_update_set. */
static err_t user_validate(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_UPDATE)
		return user_update_set(r, c);
	if (!body_str(r, "email") && !body_str(r, "phone"))
		return req_fail_field(r, E_VALIDATION, "email", "email or phone is required");
	err_t rc = user_unique(r, c);
	if (rc)
		return rc;
	for (int i = 0; i < 2; i++) {
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->body, verified[i][0])))
			resource_set_expr(c, verified[i][1], "UTC_TIMESTAMP(3)", NULL, 0);
		if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c->body, metadata[i])))
			resource_set(c, metadata[i], db_str("{}"));
	}
	return E_OK;
}

/* A user who owns data (live sessions, MFA factors, comments) is deleted
 * only with the confirmation. */
static err_t user_before_delete(req_t *r, res_ctx_t *c)
{
	db_result *res;
	db_param p[] = { db_str(c->id), db_str(c->id), db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT (SELECT COUNT(*) FROM %s WHERE user_id = ? AND revoked_at IS NULL "
		"AND expires_at > UTC_TIMESTAMP(3)), (SELECT COUNT(*) FROM %s WHERE user_id = ?), "
		"(SELECT COUNT(*) FROM %s WHERE author_id = ?)", tenant_table(r, "_sessions"),
		tenant_table(r, "_mfa_factors"), tenant_table(r, "_comments")), p, 3, &res);
	if (st)
		return req_db_error(r, st);
	dependency_t deps[] = {
		{ "sessions", "Active sessions", strtoll(db_cell(res, 0, 0), NULL, 10) },
		{ "mfa_factors", "MFA factors", strtoll(db_cell(res, 0, 1), NULL, 10) },
		{ "comments", "Comments", strtoll(db_cell(res, 0, 2), NULL, 10) },
	};
	return securedel_check(r, "user", c->id, deps, 3, &c->cascade);
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

/* A ban ends every session now, not when its tokens expire; a delete
 * wipes. */
static err_t user_written(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_DELETE)
		return user_wipe(r, c);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->body, "banned")) &&
	    !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->before, "banned")))
		return sessions_revoke(r, c->id, NULL, "banned", NULL);
	return E_OK;
}

/* Workers drop the deleted user's cached permissions. */
static void user_committed(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_DELETE)
		identity_invalidate(r);
}

/* The unique keys refused an email or a phone another user has: an
 * update's, or a create's that raced user_unique. */
static err_t user_conflict(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_UPDATE)
		return req_fail(r, E_CONFLICT, "Another user already has this email or phone");
	return req_fail(r, E_CONFLICT, "This %s already exists", c->res->name);
}

static const res_hooks_t user_hooks = {
	.check = user_check,
	.validate = user_validate,
	.list = user_list,
	.before_delete = user_before_delete,
	.after_write = user_written,
	.after_commit = user_committed,
	.conflict = user_conflict,
};

/* RES_TOUCH: a PATCH that changes nothing is still written, audited and
 * announced.  The entry of a delete has never had details. */
static const resource_t user_res = {
	.name = "User",
	.type = "user",
	.table = "_users",
	.home = RES_TENANT,
	.id_param = "user_id",
	.id_prefix = "usr_",
	.fields = user_fields,
	.deleted_id = "user_id",
	.order = "created_at DESC",
	.flags = RES_EVENTS | RES_TOUCH | RES_AUDIT_BARE,
	.list_max = 100,
	.list_default = 20,
	.list_shape = LIST_PAGE,
	.list_key = "users",
	.hooks = &user_hooks,
	.example = "{\"email\":\"probe@example.com\",\"password\":\"correct horse battery\"}",
};

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t users_routes[] = {
	CRUD("GET", "/v1/users", "Users", "auth", NULL, 0, user_res, OP_LIST, "List users"),
	CRUD("POST", "/v1/users", "Users", "auth", NULL, 0, user_res, OP_CREATE, "Create user"),
	CRUD("GET", "/v1/users/:user_id", "Users", "auth", NULL, 0, user_res, OP_GET, "Get user"),
	CRUD("PATCH", "/v1/users/:user_id", "Users", "auth", NULL, 0, user_res, OP_UPDATE, "Update user"),
	CRUD("DELETE", "/v1/users/:user_id", "Users", "auth", NULL, 0, user_res, OP_DELETE, "Delete user"),
	ROUTES_END,
};
