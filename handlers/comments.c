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
 * Ids are ULIDs made strictly increasing per object (see comment_id_new),
 * so "newest first" is ORDER BY id DESC on the (object_id, id) index and
 * the cursor is the last id seen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../common/codec.h"
#include "../common/ids.h"
#include "../common/timefmt.h"
#include "audit.h"
#include "comments.h"
#include "objmodel.h"
#include "routes.h"

#define COMMENT_MAX 10000
#define AUTHOR_MAX 64
#define LIST_DEFAULT 20
#define LIST_MAX 100

const field_t comment_body[] = {
	{ "body", FT_STRING, FF_REQUIRED, 1, COMMENT_MAX },
	{ NULL, 0, 0, 0, 0 },
};

#define COMMENT_COLS "id, object_type_id, object_id, author_id, body, created_at, updated_at"

/* The object a request is about: its type and id, checked live. */
typedef struct target {
	objtype_t *t;
	const char *object_id;
} target_t;

static const char *comments_table(req_t *r)
{
	return tenant_table(r, "_comments");
}

/*
 * Loads the type in the path and checks that the object is live in it.
 * With lock, the object row is share-locked in the open transaction, so a
 * permanent delete of the object (which removes its comments in its own
 * transaction) cannot interleave with a new comment.
 */
static err_t target_load(req_t *r, bool lock, target_t *tg)
{
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &tg->t);
	if (rc)
		return rc;
	tg->object_id = req_param(r, "object_id");
	db_param p[] = { db_str(tg->object_id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id FROM %s WHERE id = ? AND is_deleted = 0%s", tg->t->table,
		lock ? " LOCK IN SHARE MODE" : ""), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Object not found");
	return E_OK;
}

/* The comment in the path, on the target object, locked for the change. */
static err_t comment_fetch(req_t *r, const target_t *tg, db_result **res)
{
	db_param p[] = { db_str(req_param(r, "comment_id")), db_str(tg->object_id),
			 db_str(tg->t->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT " COMMENT_COLS " FROM %s WHERE id = ? AND object_id = ? "
		"AND object_type_id = ? FOR UPDATE", comments_table(r)), p, 3, res);
	if (st)
		return req_db_error(r, st);
	if ((*res)->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Comment not found");
	return E_OK;
}

static cJSON *comment_json(const db_result *res, int row)
{
	char ts[RFC3339_LEN];
	cJSON *c = cJSON_CreateObject();
	static const char *const strs[] = { "id", "object_type_id", "object_id", "author_id", "body" };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		cJSON_AddStringToObject(c, strs[i], db_get(res, row, strs[i]));
	cJSON_AddStringToObject(c, "created_at", time_from_sql(ts, db_get(res, row, "created_at")));
	cJSON_AddStringToObject(c, "updated_at", time_from_sql(ts, db_get(res, row, "updated_at")));
	return c;
}

/* A millisecond time as MariaDB DATETIME(3) text in UTC. */
static char *sql_time(req_t *r, long long ms)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&sec, &tm);
	return arena_printf(r->a, "%04d-%02d-%02d %02d:%02d:%02d.%03lld", tm.tm_year + 1900,
			    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

/*
 * A new comment id for object_id and its creation time.  Plain ULIDs made
 * in the same millisecond sort at random; a comment written right after
 * another would then list below it.  So the time part is at least one past
 * the newest comment's: ids of one object's comments increase in the order
 * they were written (concurrent writers aside), and created_at is the id's
 * time, so both orders agree.
 */
static err_t comment_id_new(req_t *r, const char *object_id, char *id, size_t idlen,
			    char **created)
{
	db_param p[] = { db_str(object_id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id FROM %s WHERE object_id = ? ORDER BY id DESC LIMIT 1", comments_table(r)),
		p, 1, &res);
	if (st)
		return req_db_error(r, st);
	long long ms = time_now_ms();
	const char *last = db_cell(res, 0, 0);
	if (last && id_valid(last, "cmt_")) {
		long long lt = (long long)ulid_time(last + 4);
		if (lt >= ms)
			ms = lt + 1;
	}
	unsigned char rnd[10];
	randombytes_buf(rnd, sizeof(rnd));
	char ulid[ULID_LEN + 1];
	ulid_encode(ulid, (uint64_t)ms, rnd);
	snprintf(id, idlen, "cmt_%s", ulid);
	*created = sql_time(r, ms);
	return E_OK;
}

static err_t comment_event(req_t *r, const char *event, const char *id, cJSON *payload)
{
	return outbox_add(r, event, "comment", id, payload);
}

/* Writing is for end users; an API key is told so. */
static err_t need_end_user(req_t *r, const char *action)
{
	if (r->who.kind != PRINCIPAL_USER)
		return req_fail(r, E_FORBIDDEN,
				"Comments are written by end users: %s a comment needs an end-user token, "
				"not an API key", action);
	if (strlen(r->who.user_id) > AUTHOR_MAX)
		return req_fail(r, E_FORBIDDEN, "The token's user id is too long to author comments");
	return E_OK;
}

static err_t body_of(req_t *r, const char **body)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(r->json, "body");
	const char *s = b->valuestring;
	if (s[strspn(s, " \t\r\n")] == '\0')
		return req_fail_field(r, E_VALIDATION, "body", "body must not be blank");
	*body = s;
	return E_OK;
}

/* --- list -------------------------------------------------------------- */

/* Cursor: base64url of {"o": object id, "id": last comment id seen}. */
static char *cursor_make(req_t *r, const char *object_id, const char *last)
{
	cJSON *c = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(c, "o", object_id);
	cJSON_AddStringToObject(c, "id", last);
	return req_cursor_make(r, c);
}

static err_t cursor_read(req_t *r, const char *object_id, const char *cursor, const char **last)
{
	const cJSON *c = req_cursor_read(r, cursor, 512);
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(c, "o");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
	if (!cJSON_IsString(o) || !cJSON_IsString(id) || !id_valid(id->valuestring, "cmt_"))
		return req_fail_field(r, E_VALIDATION, "cursor", "cursor is malformed");
	if (strcmp(o->valuestring, object_id))
		return req_fail_field(r, E_VALIDATION, "cursor",
				      "cursor belongs to another object's comments; start again without it");
	*last = id->valuestring;
	return E_OK;
}

err_t comments_list(req_t *r)
{
	target_t tg;
	err_t rc = target_load(r, false, &tg);
	if (rc)
		return rc;
	long long limit;
	if ((rc = req_query_int(r, "limit", LIST_DEFAULT, 1, LIST_MAX, &limit)))
		return rc;
	const char *cursor = req_query(r, "cursor"), *last = NULL;
	if (cursor && *cursor && (rc = cursor_read(r, tg.object_id, cursor, &last)))
		return rc;
	long long total;
	if ((rc = comments_count_for(r, tg.object_id, &total)))
		return rc;
	db_param p[] = { db_str(tg.object_id), db_str(last), db_str(last), db_int(limit + 1) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT " COMMENT_COLS " FROM %s WHERE object_id = ? AND (? IS NULL OR id < ?) "
		"ORDER BY id DESC LIMIT ?", comments_table(r)),
		p, 4, &res);
	if (st)
		return req_db_error(r, st);
	int n = res->nrows > limit ? (int)limit : res->nrows;
	cJSON *d = cJSON_CreateObject();
	cJSON *results = cJSON_AddArrayToObject(d, "results");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(results, comment_json(res, i));
	char *next = res->nrows > limit ? cursor_make(r, tg.object_id, db_get(res, n - 1, "id")) : NULL;
	if (next)
		cJSON_AddStringToObject(d, "next_cursor", next);
	else
		cJSON_AddNullToObject(d, "next_cursor");
	cJSON_AddNumberToObject(d, "total", (double)total);
	reply_data(r, 200, d);
	return E_OK;
}

/* --- create, update, delete -------------------------------------------- */

static err_t create_in_tx(req_t *r, target_t *tg, const char *body, cJSON **out)
{
	err_t rc = target_load(r, true, tg);
	if (rc)
		return rc;
	char id[48], *created = NULL;
	if ((rc = comment_id_new(r, tg->object_id, id, sizeof(id), &created)))
		return rc;
	db_param p[] = { db_str(id), db_str(tg->t->id), db_str(tg->object_id), db_str(r->who.user_id),
			 db_str(body), db_str(created), db_str(created) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (" COMMENT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)", comments_table(r)),
		p, 7, NULL);
	if (st)
		return req_db_error(r, st);
	char ts[RFC3339_LEN];
	cJSON *c = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(c, "id", id);
	cJSON_AddStringToObject(c, "object_type_id", tg->t->id);
	cJSON_AddStringToObject(c, "object_id", tg->object_id);
	cJSON_AddStringToObject(c, "author_id", r->who.user_id);
	cJSON_AddStringToObject(c, "body", body);
	cJSON_AddStringToObject(c, "created_at", time_from_sql(ts, created));
	cJSON_AddStringToObject(c, "updated_at", ts);
	*out = c;
	return comment_event(r, "comment.created", id, c);
}

err_t comments_create(req_t *r)
{
	const char *body;
	err_t rc = need_end_user(r, "adding");
	if (rc || (rc = body_of(r, &body)))
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	target_t tg;
	cJSON *c = NULL;
	if ((rc = req_tx_end(r, create_in_tx(r, &tg, body, &c))))
		return rc;
	reply_data(r, 201, cJSON_Duplicate(c, true));
	return E_OK;
}

static err_t update_in_tx(req_t *r, const char *body, cJSON **out)
{
	target_t tg;
	db_result *cur;
	err_t rc = target_load(r, true, &tg);
	if (rc || (rc = comment_fetch(r, &tg, &cur)))
		return rc;
	if (strcmp(db_get(cur, 0, "author_id"), r->who.user_id))
		return req_fail(r, E_FORBIDDEN, "Only the author can edit this comment");
	const char *id = db_get(cur, 0, "id");
	char *now = sql_time(r, time_now_ms());
	db_param p[] = { db_str(body), db_str(now), db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET body = ?, updated_at = ? WHERE id = ?", comments_table(r)), p, 3, NULL);
	if (st)
		return req_db_error(r, st);
	char ts[RFC3339_LEN];
	cJSON *c = req_own(r, comment_json(cur, 0));
	cJSON_ReplaceItemInObjectCaseSensitive(c, "body", cJSON_CreateString(body));
	cJSON_ReplaceItemInObjectCaseSensitive(c, "updated_at",
					       cJSON_CreateString(time_from_sql(ts, now)));
	*out = c;
	return comment_event(r, "comment.updated", id, c);
}

err_t comments_update(req_t *r)
{
	const char *body;
	err_t rc = need_end_user(r, "editing");
	if (rc || (rc = body_of(r, &body)))
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	cJSON *c = NULL;
	if ((rc = req_tx_end(r, update_in_tx(r, body, &c))))
		return rc;
	reply_data(r, 200, cJSON_Duplicate(c, true));
	return E_OK;
}

static err_t delete_in_tx(req_t *r, const char **id)
{
	target_t tg;
	db_result *cur;
	err_t rc = target_load(r, true, &tg);
	if (rc || (rc = comment_fetch(r, &tg, &cur)))
		return rc;
	*id = db_get(cur, 0, "id");
	const char *author = db_get(cur, 0, "author_id");
	bool moderation = r->who.kind != PRINCIPAL_USER;
	if (moderation && !(r->who.scopes & SCOPE_ALL))
		return req_fail(r, E_FORBIDDEN,
				"Only the author or an admin API key (scope *) can delete a comment");
	if (!moderation && strcmp(author, r->who.user_id))
		return req_fail(r, E_FORBIDDEN, "Only the author can delete this comment");
	db_param p[] = { db_str(*id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"DELETE FROM %s WHERE id = ?", comments_table(r)), p, 1, NULL);
	if (st)
		return req_db_error(r, st);
	cJSON *info = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(info, "id", *id);
	cJSON_AddStringToObject(info, "object_type_id", tg.t->id);
	cJSON_AddStringToObject(info, "object_id", tg.object_id);
	cJSON_AddStringToObject(info, "author_id", author);
	cJSON_AddBoolToObject(info, "moderated", moderation);
	if (moderation && (rc = req_audit(r, "comment.moderated", "comment", *id, info)))
		return rc;
	return comment_event(r, "comment.deleted", *id, info);
}

err_t comments_delete(req_t *r)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	const char *id = NULL;
	err_t rc = req_tx_end(r, delete_in_tx(r, &id));
	if (rc)
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "id", id);
	cJSON_AddTrueToObject(d, "deleted");
	reply_data(r, 200, d);
	return E_OK;
}

/* --- for other handlers (comments.h) ------------------------------------ */

err_t comments_count_for(req_t *r, const char *object_id, long long *n)
{
	db_param p[] = { db_str(object_id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE object_id = ?", comments_table(r)), p, 1, &res);
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
		"DELETE FROM %s WHERE %s = ?", comments_table(r), column), p, 1, NULL);
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
	ROUTE("POST", "/v1/objects/:object_type_id/:object_id/comments", "Comments", AUTH_BEARER, "write", "comments:write", R_USER, comments_create, comment_body, "Create comment"),
	ROUTE("PATCH", "/v1/objects/:object_type_id/:object_id/comments/:comment_id", "Comments", AUTH_BEARER, "write", "comments:write", R_USER, comments_update, comment_body, "Update comment"),
	ROUTE("DELETE", "/v1/objects/:object_type_id/:object_id/comments/:comment_id", "Comments", AUTH_BEARER, "write", "comments:write", R_USER, comments_delete, NULL, "Delete comment"),
	ROUTES_END,
};
