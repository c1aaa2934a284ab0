/*
 * comments.c - comments on objects (the activity feed): list newest first
 * with a keyset cursor, create, edit, delete.
 *
 * Comments are written by end users: creating or editing needs an end-user
 * token, and only the author may edit or delete a comment.  API keys with
 * `read` may list; an admin key (`*`) may also delete any comment, which is
 * moderation and is audited.  The object must be live, of the type in the
 * path and in this tenant (its data DB), else 404.  Every change writes an
 * outbox event in the same transaction.
 *
 * Create, edit and delete run on the resource engine (fcgi/resource.h),
 * the object in the path being the parent.  The list is written by hand:
 * its data carries the total, and its cursor belongs to one object.
 *
 * Ids are ULIDs made strictly increasing per object (see comment_id_new),
 * so "newest first" is ORDER BY id DESC on the (object_id, id) index and
 * the cursor is the last id seen.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/timefmt.h"
#include "../fcgi/query.h"
#include "audit.h"
#include "comments.h"
#include "objmodel.h"
#include "routes.h"

#define COMMENT_MAX 10000
#define AUTHOR_MAX 64
#define LIST_DEFAULT 20
#define LIST_MAX 100

static const res_field_t comment_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "object_type_id", .type = COL_STR },
	{ .name = "object_id", .type = COL_STR },
	{ .name = "author_id", .type = COL_STR },
	{ .name = "body", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = COMMENT_MAX },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The object_id is live in type t, else 404.  With lock, its row is
 * share-locked in the open transaction. */
static err_t object_live(req_t *r, const objtype_t *t, const char *object_id, bool lock)
{
	db_param p[] = { db_str(object_id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id FROM %s WHERE id = ? AND is_deleted = 0%s", t->table,
		lock ? " LOCK IN SHARE MODE" : ""), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Object not found");
	return E_OK;
}

/* Writing is for end users (an API key is told so), and a comment says
 * something. */
static err_t comment_writer(req_t *r, const res_ctx_t *c)
{
	if (r->who.kind != PRINCIPAL_USER)
		return req_fail(r, E_FORBIDDEN,
				"Comments are written by end users: %s a comment needs an end-user token, "
				"not an API key", c->op == OP_CREATE ? "adding" : "editing");
	if (strlen(r->who.user_id) > AUTHOR_MAX)
		return req_fail(r, E_FORBIDDEN, "The token's user id is too long to author comments");
	/* Both schemas require the body. */
	const char *s = json_str_of(c->body, "body");
	if (s[strspn(s, " \t\r\n")] == '\0')
		return req_fail_field(r, E_VALIDATION, "body", "body must not be blank");
	return E_OK;
}

/* Parent hook: the object in the path, live and of the path's type;
 * c->parent is the type.  A write checks its writer and body first, so
 * that they answer before a missing object does. */
static err_t comment_parent(req_t *r, res_ctx_t *c)
{
	objtype_t *t;
	err_t rc = c->op == OP_CREATE || c->op == OP_UPDATE ? comment_writer(r, c) : E_OK;
	if (rc || (rc = objtype_load(r, req_param(r, "object_type_id"), &t)))
		return rc;
	c->parent = t;
	c->parent_id = req_param(r, c->res->parent_param);
	return object_live(r, t, c->parent_id, false);
}

/* Sets column to the millisecond time ms (the sessions are in UTC; the
 * product has exactly three decimals). */
static void set_time(res_ctx_t *c, const char *column, long long ms)
{
	db_param p = db_int(ms);
	resource_set_expr(c, column, "FROM_UNIXTIME(? * 0.001)", &p, 1);
}

/*
 * The new comment's id (c->id, replacing the engine's) and its creation
 * time (its created_at and updated_at).  Plain ULIDs made in the same millisecond sort at random; a
 * comment written right after another would then list below it.  So the
 * time part is at least one past the newest comment's: ids of one object's
 * comments increase in the order they were written (concurrent writers
 * aside), and created_at is the id's time, so both orders agree.
 */
static err_t comment_id_new(req_t *r, res_ctx_t *c)
{
	db_param p[] = { db_str(c->parent_id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id FROM %s WHERE object_id = ? ORDER BY id DESC LIMIT 1",
		resource_table(r, c->res)), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	long long ms = time_now_ms();
	const char *last = db_cell(res, 0, 0);
	if (last && id_valid(last, c->res->id_prefix)) {
		long long lt = (long long)ulid_time(last + strlen(c->res->id_prefix));
		if (lt >= ms)
			ms = lt + 1;
	}
	unsigned char rnd[10];
	randombytes_buf(rnd, sizeof(rnd));
	char ulid[ULID_LEN + 1];
	ulid_encode(ulid, (uint64_t)ms, rnd);
	c->id = arena_printf(r->a, "%s%s", c->res->id_prefix, ulid);
	set_time(c, "created_at", ms);
	set_time(c, "updated_at", ms);
	return E_OK;
}

/* Create: the id, its time, the type and the author.  Edit: only by the
 * author, and its time. */
static err_t comment_validate(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_UPDATE) {
		if (strcmp(json_str_of(c->before, "author_id"), r->who.user_id))
			return req_fail(r, E_FORBIDDEN, "Only the author can edit this comment");
		set_time(c, "updated_at", time_now_ms());
		return E_OK;
	}
	err_t rc = comment_id_new(r, c);
	if (rc)
		return rc;
	const objtype_t *t = c->parent;
	resource_set(c, "object_type_id", db_str(t->id));
	resource_set(c, "author_id", db_str(r->who.user_id));
	return E_OK;
}

/* Whether the caller wrote the comment c is about. */
static bool comment_by_caller(const req_t *r, const res_ctx_t *c)
{
	return r->who.kind == PRINCIPAL_USER && !strcmp(json_str_of(c->before, "author_id"), r->who.user_id);
}

/* The author deletes their own comments; a `*` key or an admin user
 * anyone's. */
static err_t comment_may_delete(req_t *r, res_ctx_t *c)
{
	if (comment_by_caller(r, c) || (r->who.scopes & SCOPE_ALL))
		return E_OK;
	if (req_end_user(r))
		return req_fail(r, E_FORBIDDEN, "Only the author can delete this comment");
	return req_fail(r, E_FORBIDDEN, "Only the author or an admin API key (scope *) can delete a comment");
}

/* The deleted event's payload: whose comment it was and whether an
 * administrator moderated it, which is audited. */
static err_t comment_removed(req_t *r, const res_ctx_t *c, cJSON **info)
{
	bool moderation = !comment_by_caller(r, c);
	const objtype_t *t = c->parent;
	cJSON *o = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(o, "id", c->id);
	cJSON_AddStringToObject(o, "object_type_id", t->id);
	cJSON_AddStringToObject(o, "object_id", c->parent_id);
	cJSON_AddStringToObject(o, "author_id", json_str_of(c->before, "author_id"));
	cJSON_AddBoolToObject(o, "moderated", moderation);
	*info = o;
	return moderation ? req_audit(r, "comment.moderated", "comment", c->id, o) : E_OK;
}

/*
 * In the write's transaction.  A new comment share-locks its object and
 * finds it live again, so that a permanent delete of the object (which
 * removes its comments in its own transaction) cannot leave it behind.
 * Every change writes its event: the comment as it now is, or, deleted,
 * comment_removed's payload (the engine's would carry only the id).
 */
static err_t comment_written(req_t *r, res_ctx_t *c)
{
	static const char *const events[] = {
		[OP_CREATE] = "comment.created",
		[OP_UPDATE] = "comment.updated",
		[OP_DELETE] = "comment.deleted",
	};
	cJSON *payload = c->row;
	err_t rc = E_OK;
	if (c->op == OP_CREATE)
		rc = object_live(r, c->parent, c->parent_id, true);
	else if (c->op == OP_DELETE)
		rc = comment_removed(r, c, &payload);
	return rc ? rc : outbox_add(r, events[c->op], "comment", c->id, payload);
}

static const res_hooks_t comment_hooks = {
	.parent = comment_parent,
	.validate = comment_validate,
	.before_delete = comment_may_delete,
	.after_write = comment_written,
};

/* Audited only when moderated and with their own event payloads, by the
 * hooks; the times are the id's (comment_id_new). */
static const resource_t comment_res = {
	.name = "Comment",
	.type = "comment",
	.table = "_comments",
	.home = RES_TENANT,
	.id_param = "comment_id",
	.id_prefix = "cmt_",
	.fields = comment_fields,
	.parent_param = "object_id",
	.parent_column = "object_id",
	.flags = RES_NO_AUDIT | RES_NO_TIMES | RES_USER_WRITES,
	.hooks = &comment_hooks,
};

/* An edit replaces the body, so a PATCH must carry it, which the engine's
 * update schema (every field optional) would not require. */
static const field_t comment_edit_body[] = {
	{ "body", FT_STRING, FF_REQUIRED, 1, COMMENT_MAX },
	{ NULL, 0, 0, 0, 0 },
};

static err_t comments_update(req_t *r)
{
	return resource_op(r, &comment_res, OP_UPDATE);
}

/* --- list -------------------------------------------------------------- */

static err_t comments_list(req_t *r)
{
	res_ctx_t c;
	long long limit;
	err_t rc = resource_ctx(r, &comment_res, OP_LIST, &c);
	if (rc || (rc = req_query_int(r, "limit", LIST_DEFAULT, 1, LIST_MAX, &limit)))
		return rc;
	const char *last;
	if ((rc = query_id_cursor(r, c.parent_id, "cmt_", &last)))
		return rc;
	long long total;
	if ((rc = comments_count_for(r, c.parent_id, &total)))
		return rc;
	db_param p[] = { db_str(c.parent_id), db_str(last), db_str(last), db_int(limit + 1) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT %s FROM %s WHERE object_id = ? AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?",
		cols_select(r->a, resource_cols(&comment_res), NULL),
		resource_table(r, &comment_res)), p, 4, &res);
	if (st)
		return req_db_error(r, st);
	reply_data(r, 200, query_id_page(r, res, limit, total, c.parent_id, "cmt_", query_row_cols,
					   resource_cols(&comment_res)));
	return E_OK;
}

/* --- for other handlers (comments.h) ------------------------------------ */

err_t comments_count_for(req_t *r, const char *object_id, long long *n)
{
	db_param p[] = { db_str(object_id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE object_id = ?", resource_table(r, &comment_res)),
		p, 1, &res);
	if (st)
		return req_db_error(r, st);
	const char *v = db_cell(res, 0, 0);
	*n = v ? strtoll(v, NULL, 10) : 0;
	return E_OK;
}

static err_t delete_where(req_t *r, const char *column, const char *value)
{
	db_param p[] = { db_str(value) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"DELETE FROM %s WHERE %s = ?", resource_table(r, &comment_res), column), p, 1, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

err_t comments_delete_for(req_t *r, const char *object_id)
{
	return delete_where(r, "object_id", object_id);
}

err_t comments_delete_for_type(req_t *r, const char *object_type_id)
{
	return delete_where(r, "object_type_id", object_type_id);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t comments_routes[] = {
	ROUTE("GET", "/v1/objects/:object_type_id/:object_id/comments", "Comments", AUTH_BEARER, "read", "objects:{type}:read", R_USER, comments_list, NULL, "List comments"),
	CRUD("POST", "/v1/objects/:object_type_id/:object_id/comments", "Comments", "write", "comments:write", R_USER, comment_res, OP_CREATE, "Create comment"),
	ROUTE("PATCH", "/v1/objects/:object_type_id/:object_id/comments/:comment_id", "Comments", AUTH_BEARER, "write", "comments:write", R_USER, comments_update, comment_edit_body, "Update comment"),
	CRUD("DELETE", "/v1/objects/:object_type_id/:object_id/comments/:comment_id", "Comments", "write", "comments:write", R_USER, comment_res, OP_DELETE, "Delete comment"),
	ROUTES_END,
};
