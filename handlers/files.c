/*
 * files.c - the Files group's metadata side: get, patch and soft delete
 * (on the resource engine), trash and restore, versions, batch
 * read/update/delete, folders, search and stats, and the helpers the other
 * files_*.c share (files.h).
 *
 * A file row holds its current version's facts; every change writes the
 * outbox event (file.uploaded, file.updated, file.deleted, with the file as
 * the payload, folder included, for webhooks and the realtime channels
 * files and files:<folder>) in the transaction that makes it.  End users
 * (JWTs) see only the files they uploaded; API keys see the tenant's all.
 */
#include "files.h"

#include <stdlib.h>
#include <string.h>

#include "../common/config.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/rowjson.h"
#include "../common/storage.h"
#include "../fcgi/jobs.h"
#include "objmodel.h"
#include "query.h"
#include "routes.h"

#define BATCH_MAX 100
#define SEARCH_MAX 200
#define META_MAX 16384

/*
 * A file as the API shows it: the Files descriptor's fields (the engine
 * serves GET, PATCH and DELETE /v1/files/:file_id on them, below) and the
 * url file_url_add computes.  A client may change the name, access,
 * folder, meta and the linked object.
 */
static const res_field_t file_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "filename", .type = COL_STR, .in = FT_STRING, .flags = RF_UPDATE, .min = 1, .max = 255 },
	{ .name = "mime_type", .type = COL_STR },
	{ .name = "category", .type = COL_STR },
	{ .name = "size_bytes", .type = COL_INT },
	{ .name = "checksum_sha256", .type = COL_STR },
	{ .name = "access", .type = COL_STR, .in = FT_STRING, .flags = RF_UPDATE, .min = 1, .max = 16 },
	{ .name = "status", .type = COL_STR },
	{ .name = "folder", .type = COL_STR, .in = FT_STRING, .flags = RF_UPDATE | RF_NULLABLE, .max = 255 },
	{ .name = "meta", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_UPDATE | RF_NULLABLE },
	{ .name = "object_type_id", .type = COL_STR, .in = FT_STRING, .flags = RF_UPDATE | RF_NULLABLE,
	  .max = 40 },
	{ .name = "object_id", .type = COL_STR, .in = FT_STRING, .flags = RF_UPDATE | RF_NULLABLE,
	  .max = 40 },
	{ .name = "version", .type = COL_INT },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ .name = "is_deleted", .type = COL_BOOL },
	{ .name = "deleted_at", .type = COL_TIME },
	{ NULL },
};

/* The columns file_json renders: the descriptor's fields. */
static const col_t *file_cols(void)
{
	static col_t cols[sizeof(file_fields) / sizeof(file_fields[0])];
	if (!cols[0].name)
		for (size_t i = 0; file_fields[i].name; i++)
			cols[i] = (col_t){ file_fields[i].name, file_fields[i].type, 0 };
	return cols;
}

const char *files_table(req_t *r)
{
	return tenant_table(r, "_files");
}

const char *file_versions_table(req_t *r)
{
	return tenant_table(r, "_file_versions");
}

const char *files_owner(req_t *r)
{
	return r->who.kind == PRINCIPAL_USER ? r->who.user_id : NULL;
}

err_t file_load(req_t *r, const char *id, unsigned how, db_result **res)
{
	if (!id || !id_valid(id, "file_"))
		return req_fail(r, E_NOT_FOUND, "File not found");
	const char *owner = files_owner(r);
	db_param p[] = { db_str(id), db_str(owner), db_str(owner) };
	const char *deleted = how & FL_ANY ? "" : how & FL_DELETED ? " AND is_deleted = 1"
								    : " AND is_deleted = 0";
	const char *status = how & FL_PENDING ? "" : " AND status = 'ready'";
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT " FILE_COLS " FROM %s WHERE id = ? AND (? IS NULL OR created_by = ?)%s%s%s",
		files_table(r), deleted, status, how & FL_LOCK ? " FOR UPDATE" : ""), p, 3, res);
	if (st)
		return req_db_error(r, st);
	if ((*res)->nrows == 0)
		return req_fail(r, E_NOT_FOUND, how & FL_DELETED ? "No such file in the trash"
								 : "File not found");
	return E_OK;
}

/* Adds to the rendered file o its url: the stable, tokenless URL nginx
 * serves a live public file at, or null. */
static void file_url_add(req_t *r, cJSON *o)
{
	const char *access = json_str_of(o, "access"), *status = json_str_of(o, "status");
	bool live = status && !strcmp(status, "ready") &&
		    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "is_deleted"));
	if (access && !strcmp(access, "public") && live)
		cJSON_AddStringToObject(o, "url", arena_printf(r->a, "%s/v1/files/%s/content?t=%s",
							      g_config.public_url, json_str_of(o, "id"),
							      r->tenant.id));
	else
		cJSON_AddNullToObject(o, "url");
}

cJSON *file_json(req_t *r, const db_result *res, int row)
{
	cJSON *o = row_to_json(file_cols(), res, row);
	file_url_add(r, o);
	return o;
}

err_t file_event(req_t *r, const char *event, const char *id)
{
	db_result *res;
	err_t rc = file_load(r, id, FL_ANY | FL_PENDING, &res);
	if (rc)
		return rc;
	return outbox_add(r, event, "file", id, req_own(r, file_json(r, res, 0)));
}

/* ------------------------------------------------------------ validation */

err_t filename_check(req_t *r, const char *name, const char *field)
{
	size_t n = strlen(name);
	if (n == 0 || n > 255)
		return req_fail_field(r, E_VALIDATION, field, "%s must be 1 to 255 bytes", field);
	if (!strcmp(name, ".") || !strcmp(name, ".."))
		return req_fail_field(r, E_VALIDATION, field, "%s must name a file", field);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return req_fail_field(r, E_VALIDATION, field,
					      "%s must not contain control characters", field);
		if (*p == '/' || *p == '\\')
			return req_fail_field(r, E_VALIDATION, field,
					      "%s must not contain path separators", field);
	}
	/* Valid UTF-8: the name is echoed in headers and JSON. */
	cJSON *probe = cJSON_CreateString(name);
	char *text = cJSON_PrintUnformatted(probe);
	bool ok = text && strstr(text, "\\u") == NULL;
	cJSON_free(text);
	cJSON_Delete(probe);
	for (const unsigned char *p = (const unsigned char *)name; ok && *p;) {
		int len = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3
			: (*p & 0xF8) == 0xF0 ? 4 : 0;
		for (int k = 1; k < len && ok; k++)
			ok = (p[k] & 0xC0) == 0x80;
		ok = ok && len > 0;
		p += len > 0 ? len : 1;
	}
	if (!ok)
		return req_fail_field(r, E_VALIDATION, field, "%s must be valid UTF-8 text", field);
	return E_OK;
}

static bool folder_valid(const char *f)
{
	size_t n = strlen(f);
	if (n == 0 || n > 255 || f[0] == '/' || f[n - 1] == '/')
		return false;
	const char *seg = f;
	while (*seg) {
		size_t len = strcspn(seg, "/");
		if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && !strncmp(seg, "..", 2)))
			return false;
		for (size_t i = 0; i < len; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.- ",
				    seg[i]))
				return false;
		seg += len;
		if (*seg == '/')
			seg++;
	}
	return true;
}

/* The linked object must exist in the tenant. */
static err_t object_link_check(req_t *r, const cJSON *ot, const cJSON *ob)
{
	bool ot_null = !ot || cJSON_IsNull(ot), ob_null = !ob || cJSON_IsNull(ob);
	if (ot_null != ob_null)
		return req_fail_field(r, E_VALIDATION, ot_null ? "object_type_id" : "object_id",
				      "object_type_id and object_id go together");
	if (ot_null)
		return E_OK;
	if (!cJSON_IsString(ot) || !cJSON_IsString(ob))
		return req_fail_field(r, E_VALIDATION, cJSON_IsString(ot) ? "object_id" : "object_type_id",
				      "must be a string");
	objtype_t *t;
	if (!id_valid(ot->valuestring, "ot_") || objtype_load(r, ot->valuestring, &t))
		return req_fail_field(r, E_VALIDATION, "object_type_id", "No object type %s",
				      ot->valuestring);
	db_result *res;
	db_param p[] = { db_str(ob->valuestring) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT 1 FROM %s WHERE id = ? AND is_deleted = 0", t->table), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail_field(r, E_VALIDATION, "object_id", "No %s object %s", t->name,
				      ob->valuestring);
	return E_OK;
}

err_t file_fields_check(req_t *r, const cJSON *in)
{
	const cJSON *v;
	err_t rc;
	if ((v = cJSON_GetObjectItemCaseSensitive(in, "filename"))) {
		if (!cJSON_IsString(v))
			return req_fail_field(r, E_VALIDATION, "filename", "filename must be a string");
		if ((rc = filename_check(r, v->valuestring, "filename")))
			return rc;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(in, "access")) &&
	    (!cJSON_IsString(v) || (strcmp(v->valuestring, "private") && strcmp(v->valuestring, "public"))))
		return req_fail_field(r, E_VALIDATION, "access", "access must be private or public");
	if ((v = cJSON_GetObjectItemCaseSensitive(in, "folder")) && !cJSON_IsNull(v) &&
	    (!cJSON_IsString(v) || !folder_valid(v->valuestring)))
		return req_fail_field(r, E_VALIDATION, "folder",
				      "folder must be up to 255 characters: names of letters, digits, "
				      "space, _ . - separated by /");
	if ((v = cJSON_GetObjectItemCaseSensitive(in, "meta")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsObject(v))
			return req_fail_field(r, E_VALIDATION, "meta", "meta must be an object");
		char *text = req_json_text(r, v);
		if (strlen(text) > META_MAX)
			return req_fail_field(r, E_VALIDATION, "meta", "meta must be at most %d bytes of JSON",
					      META_MAX);
	}
	const cJSON *ot = cJSON_GetObjectItemCaseSensitive(in, "object_type_id");
	const cJSON *ob = cJSON_GetObjectItemCaseSensitive(in, "object_id");
	if (ot || ob)
		return object_link_check(r, ot, ob);
	return E_OK;
}

const char *mime_category(const char *mime)
{
	static const struct { const char *prefix, *cat; } map[] = {
		{ "image/", "image" }, { "video/", "video" }, { "audio/", "audio" },
		{ "text/", "document" }, { "application/pdf", "document" },
		{ "application/msword", "document" }, { "application/vnd.openxmlformats", "document" },
		{ "application/vnd.oasis.opendocument", "document" }, { "application/vnd.ms-", "document" },
		{ "application/rtf", "document" }, { "application/json", "document" },
		{ "application/xml", "document" }, { "application/zip", "archive" },
		{ "application/gzip", "archive" }, { "application/x-gzip", "archive" },
		{ "application/x-tar", "archive" }, { "application/x-7z", "archive" },
		{ "application/x-rar", "archive" }, { "application/x-bzip2", "archive" },
		{ "application/x-xz", "archive" }, { "application/zstd", "archive" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strncmp(mime, map[i].prefix, strlen(map[i].prefix)))
			return map[i].cat;
	return "other";
}

/* ------------------------------------------------------------ quota */

err_t files_quota_reserve(req_t *r, long long bytes)
{
	db_result *res;
	db_param p[] = { db_int(bytes), db_str(r->tenant.id), db_int(bytes) };
	enum db_status st = db_exec(r->db, r->a,
		"UPDATE tenants t JOIN plans p ON p.id = t.plan "
		"SET t.used_storage_bytes = t.used_storage_bytes + ? "
		"WHERE t.id = ? AND t.used_storage_bytes + ? <= p.max_storage_bytes", p, 3, &res);
	if (st)
		return req_db_error(r, st);
	if (res->affected == 0)
		return req_fail(r, E_QUOTA_EXCEEDED,
				"Storing %lld more bytes would exceed the plan's storage quota", bytes);
	return E_OK;
}

err_t files_plan_file_limit(req_t *r, long long bytes)
{
	db_result *res;
	db_param p[] = { db_str(r->tenant.plan) };
	enum db_status st = db_exec(r->db, r->a,
		"SELECT max_file_size_bytes FROM plans WHERE id = ?", p, 1, &res);
	if (st)
		return req_db_error(r, st);
	long long max = db_get_int(res, 0, "max_file_size_bytes", 0);
	if (res->nrows && bytes > max)
		return req_fail(r, E_QUOTA_EXCEEDED,
				"The file is %lld bytes; the plan allows at most %lld per file", bytes, max);
	return E_OK;
}

enum db_status files_usage_release(db_t *db, arena_t *a, const char *tenant_id, long long bytes)
{
	db_param p[] = { db_int(bytes), db_str(tenant_id) };
	return db_exec(db, a, "UPDATE tenants SET used_storage_bytes = "
		       "GREATEST(CAST(used_storage_bytes AS SIGNED) - ?, 0) WHERE id = ?", p, 2, NULL);
}

/* ------------------------------------------------------------ publish */

/* attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>
 * (RFC 6266): downloads never render inline on the API's origin. */
static char *content_disposition(arena_t *a, const char *name)
{
	size_t n = strlen(name);
	char *ascii = arena_alloc(a, n + 1), *pct = arena_alloc(a, 3 * n + 1);
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		ascii[i] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == ';') ? '_' : (char)c;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    strchr("!#$&+-.^_`|~", c))
			pct[o++] = (char)c;
		else
			o += (size_t)snprintf(pct + o, 4, "%%%02X", c);
	}
	ascii[n] = '\0';
	pct[o] = '\0';
	return arena_printf(a, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, pct);
}

void file_publish(req_t *r, const db_result *res, int row)
{
	const char *id = db_get(res, row, "id");
	if (strcmp(db_get(res, row, "status"), "ready") || strcmp(db_get(res, row, "is_deleted"), "0"))
		return;
	char *meta = arena_printf(r->a, "%s\n%s\n", db_get(res, row, "mime_type"),
				  content_disposition(r->a, db_get(res, row, "filename")));
	if (storage_publish(r->a, r->tenant.id, id, (int)db_get_int(res, row, "version", 1), meta,
			    !strcmp(db_get(res, row, "access"), "public")))
		log_error("%s: cannot publish file %s in storage", r->request_id, id);
}

void files_download_headers(req_t *r, const db_result *res)
{
	reply_header(r, "Content-Disposition", content_disposition(r->a, db_get(res, 0, "filename")));
}

/* ------------------------------------------------------------ updates, trash */

/* SET list and parameters for the writable members of in (validated). */
static int update_params(req_t *r, const cJSON *in, char **set, db_param *p)
{
	static const char *const strs[] = { "filename", "access", "folder", "object_type_id", "object_id" };
	int n = 0;
	*set = "updated_at = UTC_TIMESTAMP(3)";
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, strs[i]);
		if (!v)
			continue;
		*set = arena_printf(r->a, "%s, %s = ?", *set, strs[i]);
		p[n++] = cJSON_IsString(v) ? db_str(v->valuestring) : db_null();
	}
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(in, "meta");
	if (meta) {
		*set = arena_printf(r->a, "%s, meta = ?", *set);
		p[n++] = db_str(req_json_text(r, meta));
	}
	return n;
}

err_t file_set_fields(req_t *r, const char *id, const cJSON *in)
{
	char *set;
	db_param p[8];
	int n = update_params(r, in, &set, p);
	p[n++] = db_str(id);
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "UPDATE %s SET %s WHERE id = ?",
							      files_table(r), set), p, n, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* Applies the update in to file id (inside the transaction) and writes
 * file.updated; 404 when it is not one of the caller's live files. */
static err_t file_update_one(req_t *r, const char *id, const cJSON *in)
{
	db_result *res;
	err_t rc = file_load(r, id, FL_LOCK | FL_PENDING, &res);
	if (rc)
		return rc;
	if ((rc = file_set_fields(r, id, in)))
		return rc;
	return file_event(r, "file.updated", id);
}

/* After commit: what nginx serves follows the new access and filename. */
static void republish(req_t *r, const char *id)
{
	db_result *res;
	if (file_load(r, id, FL_PENDING, &res) == E_OK)
		file_publish(r, res, 0);
}

/* After commit: a file in the trash is no longer served. */
static void unpublish(req_t *r, const char *id)
{
	storage_unpublish(r->a, r->tenant.id, id);
}

/* What moves a file to the trash. */
#define FILE_TRASH_SET "is_deleted = 1, deleted_at = UTC_TIMESTAMP(3)"

/* Queues the purge of file id for when its time in the trash is over, in
 * the open transaction. */
static err_t file_purge_schedule(req_t *r, const char *id)
{
	cJSON *payload = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(payload, "file_id", id);
	char job[40];
	long delay_ms = (long)g_config.files_trash_days * 86400L * 1000L + 60000L;
	enum db_status st = jobs_enqueue(r->db, r->a, r->tenant.id, "files.purge", payload, 0, delay_ms,
					 job);
	return st ? req_db_error(r, st) : E_OK;
}

/* Soft-deletes one file in the open transaction: file.deleted, and the
 * purge job. */
static err_t file_delete_one(req_t *r, const char *id)
{
	db_result *res;
	err_t rc = file_load(r, id, FL_LOCK | FL_PENDING, &res);
	if (rc)
		return rc;
	db_param p[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET " FILE_TRASH_SET ", updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
		files_table(r)), p, 1, NULL);
	if (st)
		return req_db_error(r, st);
	if ((rc = file_purge_schedule(r, id)))
		return rc;
	return file_event(r, "file.deleted", id);
}

err_t files_restore(req_t *r)
{
	const char *id = req_param(r, "file_id");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_result *res;
	err_t rc = file_load(r, id, FL_LOCK | FL_DELETED | FL_PENDING, &res);
	db_param p[] = { db_str(id) };
	if (!rc && (st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET is_deleted = 0, deleted_at = NULL, updated_at = UTC_TIMESTAMP(3) "
		"WHERE id = ?", files_table(r)), p, 1, NULL)))
		rc = req_db_error(r, st);
	if (!rc)
		rc = file_event(r, "file.updated", id);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	if ((rc = file_load(r, id, FL_PENDING, &res)))
		return rc;
	file_publish(r, res, 0);
	reply_data(r, 200, file_json(r, res, 0));
	return E_OK;
}

/* ------------------------------------------------------------ get, patch, delete */

/*
 * GET, PATCH and DELETE /v1/files/:file_id are the engine's, with hooks
 * for what is special: an end user reaches only the files they uploaded;
 * the body is checked as file_fields_check does, before a 404; a delete
 * moves the file to the trash and queues its purge; what nginx serves
 * follows each change; file.updated and file.deleted carry the file; the
 * Files group writes no audit entries.
 */

static const char *file_scope(req_t *r, const res_ctx_t *c, db_param *p, int *np)
{
	(void)c;
	const char *owner = files_owner(r);
	if (!owner)
		return NULL;
	p[(*np)++] = db_str(owner);
	return "created_by = ?";
}

static err_t file_check(req_t *r, res_ctx_t *c)
{
	return file_fields_check(r, c->body);
}

static err_t file_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	(void)c;
	file_url_add(r, row);
	return E_OK;
}

static err_t file_trashed(req_t *r, res_ctx_t *c)
{
	return c->op == OP_DELETE ? file_purge_schedule(r, c->id) : E_OK;
}

static void file_committed(req_t *r, res_ctx_t *c)
{
	(c->op == OP_DELETE ? unpublish : republish)(r, c->id);
}

static const res_hooks_t file_hooks = {
	.scope = file_scope, .check = file_check, .render = file_render, .after_write = file_trashed,
	.after_commit = file_committed,
};

static const resource_t file_res = {
	.name = "File", .type = "file", .table = "_files", .home = RES_TENANT,
	.id_param = "file_id", .id_prefix = "file_", .fields = file_fields,
	.live = "is_deleted = 0", .del = DEL_MARK, .delete_set = FILE_TRASH_SET,
	.deleted_id = "file_id",
	.flags = RES_EVENTS | RES_NO_AUDIT | RES_TOUCH | RES_GET_LIVE, .hooks = &file_hooks,
};

/* ------------------------------------------------------------ lists */

/* An end user's lists hold only the files they uploaded. */
static void owner_only(req_t *r, query_t *q)
{
	const char *owner = files_owner(r);
	if (owner)
		query_and_bind(r, q, "created_by = ?", db_str(owner));
}

static cJSON *file_row(req_t *r, const db_result *res, int i, const void *ctx)
{
	(void)ctx;
	return file_json(r, res, i);
}

/* Replies the page {results, next_cursor, total} of the files q selects,
 * in the order o, after cursor; total counts them all. */
static err_t files_page(req_t *r, query_t *q, const query_order_t *o, long long limit,
			const char *cursor)
{
	db_result *cnt, *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) AS n FROM %s WHERE %s", files_table(r), q->sql), q->p, q->np, &cnt);
	if (st)
		return req_db_error(r, st);
	err_t rc;
	if (cursor && *cursor && (rc = query_cursor_apply(r, o, q, cursor)))
		return rc;
	query_bind(r, q, db_int(limit + 1));
	st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT " FILE_COLS " FROM %s WHERE %s%s LIMIT ?",
					       files_table(r), q->sql, query_order_sql(r, o)),
		     q->p, q->np, &res);
	if (st)
		return req_db_error(r, st);
	reply_data(r, 200, query_page(r, o, res, limit, db_get_int(cnt, 0, "n", 0), o->col, file_row,
				      NULL));
	return E_OK;
}

err_t files_trash(req_t *r)
{
	long long limit;
	err_t rc = req_query_int(r, "limit", 20, 1, 100, &limit);
	if (rc)
		return rc;
	query_t q;
	query_init(r, &q, "is_deleted = 1");
	owner_only(r, &q);
	query_order_t o = { .col = "id", .desc = true, .key = "trash", .id_prefix = "file_" };
	return files_page(r, &q, &o, limit, req_query(r, "cursor"));
}

err_t files_versions(req_t *r)
{
	const char *id = req_param(r, "file_id");
	db_result *f, *res;
	err_t rc = file_load(r, id, FL_ANY | FL_PENDING, &f);
	if (rc)
		return rc;
	db_param p[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT version, filename, mime_type, size_bytes, checksum_sha256, created_by, "
		"created_at FROM %s WHERE file_id = ? ORDER BY version DESC", file_versions_table(r)),
		p, 1, &res);
	if (st)
		return req_db_error(r, st);
	static const col_t vcols[] = {
		{ "version", COL_INT, 0 }, { "filename", COL_STR, 0 }, { "mime_type", COL_STR, 0 },
		{ "size_bytes", COL_INT, 0 }, { "checksum_sha256", COL_STR, 0 },
		{ "created_by", COL_STR, 0 }, { "created_at", COL_TIME, 0 }, { NULL, 0, 0 },
	};
	long long current = db_get_int(f, 0, "version", 0);
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < res->nrows; i++) {
		cJSON *v = row_to_json(vcols, res, i);
		cJSON_AddStringToObject(v, "file_id", id);
		cJSON_AddBoolToObject(v, "is_current", db_get_int(res, i, "version", 0) == current);
		cJSON_AddItemToArray(arr, v);
	}
	reply_data(r, 200, arr);
	return E_OK;
}

err_t files_folders(req_t *r)
{
	long long limit, offset;
	err_t rc;
	if ((rc = req_query_int(r, "limit", 100, 1, 1000, &limit)) ||
	    (rc = req_query_int(r, "offset", 0, 0, 1000000000, &offset)))
		return rc;
	const char *owner = files_owner(r);
	db_param p[] = { db_str(owner), db_str(owner), db_int(limit), db_int(offset) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT folder, COUNT(*) AS file_count, CAST(SUM(size_bytes) AS SIGNED) AS size_bytes, "
		"MAX(updated_at) AS last_updated_at FROM %s "
		"WHERE is_deleted = 0 AND status = 'ready' AND (? IS NULL OR created_by = ?) "
		"GROUP BY folder ORDER BY folder IS NOT NULL, folder LIMIT ? OFFSET ?", files_table(r)),
		p, 4, &res);
	if (st)
		return req_db_error(r, st);
	static const col_t cols[] = {
		{ "folder", COL_STR, 0 }, { "file_count", COL_INT, 0 }, { "size_bytes", COL_INT, 0 },
		{ "last_updated_at", COL_TIME, 0 }, { NULL, 0, 0 },
	};
	reply_data(r, 200, rows_to_json(cols, res));
	return E_OK;
}

/* ------------------------------------------------------------ search */

const field_t files_search_body[] = {
	{ "mime_type", FT_STRING, 0, 1, 127 },
	{ "mime_category", FT_STRING, 0, 1, 16 },
	{ "access", FT_STRING, 0, 1, 16 },
	{ "status", FT_STRING, 0, 1, 16 },
	{ "folder", FT_STRING, FF_NULLABLE, 0, 255 },
	{ "filename", FT_STRING, 0, 1, 255 },
	{ "object_type_id", FT_STRING, 0, 1, 40 },
	{ "object_id", FT_STRING, 0, 1, 40 },
	{ "created_after", FT_STRING, 0, 1, 40 },
	{ "created_before", FT_STRING, 0, 1, 40 },
	{ "sort", FT_STRING, 0, 1, 32 },
	{ "sort_dir", FT_STRING, 0, 1, 8 },
	{ "limit", FT_INT, 0, 1, SEARCH_MAX },
	{ "cursor", FT_STRING, FF_NULLABLE, 0, 1024 },
	{ NULL, 0, 0, 0, 0 },
};

static bool one_of(const char *v, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (!strcmp(v, *allowed))
			return true;
	return false;
}

/* The conditions of the search body. */
static err_t search_filters(req_t *r, query_t *q)
{
	static const char *const access[] = { "private", "public", NULL };
	static const char *const status[] = { "pending", "ready", "deleted", NULL };
	static const char *const cats[] = { "image", "video", "audio", "document", "archive",
					    "other", NULL };
	static const struct { const char *field, *cond; } times[] = {
		{ "created_after", "created_at > ?" }, { "created_before", "created_at < ?" },
	};
	const char *v;
	if ((v = json_str_of(r->json, "access"))) {
		if (!one_of(v, access))
			return req_fail_field(r, E_VALIDATION, "access", "access must be private or public");
		query_and_bind(r, q, "access = ?", db_str(v));
	}
	v = json_str_of(r->json, "status");
	if (v && !one_of(v, status))
		return req_fail_field(r, E_VALIDATION, "status", "status must be pending, ready or deleted");
	query_and(r, q, v && !strcmp(v, "deleted") ? "is_deleted = 1" : "is_deleted = 0");
	if (v && strcmp(v, "deleted"))
		query_and_bind(r, q, "status = ?", db_str(v));
	if ((v = json_str_of(r->json, "mime_category"))) {
		if (!one_of(v, cats))
			return req_fail_field(r, E_VALIDATION, "mime_category",
					      "mime_category must be image, video, audio, document, "
					      "archive or other");
		query_and_bind(r, q, "category = ?", db_str(v));
	}
	if ((v = json_str_of(r->json, "mime_type"))) {
		/* "image/\*" (any subtype) matches the type by prefix. */
		size_t n = strlen(v);
		if (n > 2 && !strcmp(v + n - 2, "/*"))
			query_and_bind(r, q, "mime_type LIKE ?",
				       db_str(arena_printf(r->a, "%.*s/%%", (int)(n - 2), v)));
		else
			query_and_bind(r, q, "mime_type = ?", db_str(v));
	}
	const cJSON *folder = cJSON_GetObjectItemCaseSensitive(r->json, "folder");
	if (folder && cJSON_IsNull(folder))
		query_and(r, q, "folder IS NULL");
	else if ((v = json_str_of(r->json, "folder")))
		query_and_bind(r, q, "folder = ?", db_str(v));
	if ((v = json_str_of(r->json, "filename")))
		query_and_bind(r, q, "filename LIKE ?", db_str(query_like_pattern(r->a, v, true)));
	if ((v = json_str_of(r->json, "object_type_id")))
		query_and_bind(r, q, "object_type_id = ?", db_str(v));
	if ((v = json_str_of(r->json, "object_id")))
		query_and_bind(r, q, "object_id = ?", db_str(v));
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		db_param tp;
		if (!(v = json_str_of(r->json, times[i].field)))
			continue;
		if (!query_sql_time(r->a, v, &tp))
			return req_fail_field(r, E_VALIDATION, times[i].field,
					      "%s must be an RFC 3339 time", times[i].field);
		query_and_bind(r, q, times[i].cond, tp);
	}
	return E_OK;
}

err_t files_search(req_t *r)
{
	static const char *const sorts[] = { "created_at", "size_bytes", "filename", NULL };
	query_t q;
	query_init(r, &q, "1 = 1");
	owner_only(r, &q);
	err_t rc = search_filters(r, &q);
	if (rc)
		return rc;
	const char *sort = json_str_of(r->json, "sort") ? json_str_of(r->json, "sort") : "created_at";
	const char *dir = json_str_of(r->json, "sort_dir") ? json_str_of(r->json, "sort_dir") : "desc";
	if (!one_of(sort, sorts))
		return req_fail_field(r, E_VALIDATION, "sort",
				      "sort must be created_at, size_bytes or filename");
	if (strcmp(dir, "asc") && strcmp(dir, "desc"))
		return req_fail_field(r, E_VALIDATION, "sort_dir", "sort_dir must be asc or desc");
	const cJSON *lim = cJSON_GetObjectItemCaseSensitive(r->json, "limit");
	query_order_t o = { .col = sort, .desc = !strcmp(dir, "desc"),
			    .key = arena_printf(r->a, "%s:%s", sort, dir), .id_prefix = "file_" };
	return files_page(r, &q, &o, lim ? (long long)lim->valuedouble : 20,
			  json_str_of(r->json, "cursor"));
}

/* ------------------------------------------------------------ stats */

err_t files_stats(req_t *r)
{
	const char *owner = files_owner(r);
	db_param p[] = { db_str(owner), db_str(owner) };
	db_result *res, *q;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT category, is_deleted, status, COUNT(*) AS n, "
		"CAST(SUM(size_bytes) AS SIGNED) AS bytes, CAST(SUM(stored_bytes) AS SIGNED) AS stored "
		"FROM %s WHERE (? IS NULL OR created_by = ?) GROUP BY category, is_deleted, status",
		files_table(r)), p, 2, &res);
	db_param tp[] = { db_str(r->tenant.id) };
	if (!st)
		st = db_exec(r->db, r->a, "SELECT t.used_storage_bytes, p.max_storage_bytes, "
			     "p.max_file_size_bytes FROM tenants t JOIN plans p ON p.id = t.plan "
			     "WHERE t.id = ?", tp, 1, &q);
	if (st)
		return req_db_error(r, st);
	long long files = 0, bytes = 0, stored = 0, pending = 0, trash = 0, trash_bytes = 0;
	cJSON *d = cJSON_CreateObject();
	cJSON *cats = cJSON_CreateObject();
	static const char *const names[] = { "image", "video", "audio", "document", "archive", "other" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cJSON *c = cJSON_AddObjectToObject(cats, names[i]);
		cJSON_AddNumberToObject(c, "count", 0);
		cJSON_AddNumberToObject(c, "bytes", 0);
	}
	for (int i = 0; i < res->nrows; i++) {
		long long n = db_get_int(res, i, "n", 0), b = db_get_int(res, i, "bytes", 0);
		stored += db_get_int(res, i, "stored", 0);
		if (db_get_int(res, i, "is_deleted", 0)) {
			trash += n;
			trash_bytes += b;
		} else if (!strcmp(db_get(res, i, "status"), "pending")) {
			pending += n;
		} else {
			files += n;
			bytes += b;
			cJSON *c = cJSON_GetObjectItemCaseSensitive(cats, db_get(res, i, "category"));
			if (c) {
				cJSON_SetNumberValue(cJSON_GetObjectItem(c, "count"),
						     cJSON_GetObjectItem(c, "count")->valuedouble + (double)n);
				cJSON_SetNumberValue(cJSON_GetObjectItem(c, "bytes"),
						     cJSON_GetObjectItem(c, "bytes")->valuedouble + (double)b);
			}
		}
	}
	cJSON_AddNumberToObject(d, "total_files", (double)files);
	cJSON_AddNumberToObject(d, "total_bytes", (double)bytes);
	cJSON_AddNumberToObject(d, "stored_bytes", (double)stored);
	cJSON_AddItemToObject(d, "by_category", cats);
	cJSON_AddNumberToObject(d, "pending_uploads", (double)pending);
	cJSON *t = cJSON_AddObjectToObject(d, "trash");
	cJSON_AddNumberToObject(t, "count", (double)trash);
	cJSON_AddNumberToObject(t, "bytes", (double)trash_bytes);
	long long used = db_get_int(q, 0, "used_storage_bytes", 0);
	long long max = db_get_int(q, 0, "max_storage_bytes", 0);
	cJSON *quota = cJSON_AddObjectToObject(d, "quota");
	cJSON_AddStringToObject(quota, "plan", r->tenant.plan);
	cJSON_AddNumberToObject(quota, "used_bytes", (double)used);
	cJSON_AddNumberToObject(quota, "max_storage_bytes", (double)max);
	cJSON_AddNumberToObject(quota, "available_bytes", (double)(max > used ? max - used : 0));
	cJSON_AddNumberToObject(quota, "percent_used", max > 0 ? (double)used * 100.0 / (double)max : 0);
	cJSON_AddNumberToObject(quota, "max_file_size_bytes",
				(double)db_get_int(q, 0, "max_file_size_bytes", 0));
	reply_data(r, 200, d);
	return E_OK;
}

/* ------------------------------------------------------------ batch */

const field_t files_batch_body[] = {
	{ "file_ids", FT_STRING_ARRAY, FF_REQUIRED, 0, BATCH_MAX },
	{ NULL, 0, 0, 0, 0 },
};

const field_t files_batch_update_body[] = {
	{ "file_ids", FT_STRING_ARRAY, FF_REQUIRED, 0, BATCH_MAX },
	{ "access", FT_STRING, 0, 1, 16 },
	{ "folder", FT_STRING, FF_NULLABLE, 0, 255 },
	{ NULL, 0, 0, 0, 0 },
};

static err_t batch_ids(req_t *r, const cJSON **ids)
{
	*ids = cJSON_GetObjectItemCaseSensitive(r->json, "file_ids");
	int n = cJSON_GetArraySize(*ids);
	if (n < 1 || n > BATCH_MAX)
		return req_fail_field(r, E_VALIDATION, "file_ids", "file_ids must list 1 to %d ids",
				      BATCH_MAX);
	return E_OK;
}

err_t files_batch_read(req_t *r)
{
	const cJSON *ids, *it;
	err_t rc = batch_ids(r, &ids);
	if (rc)
		return rc;
	cJSON *arr = cJSON_CreateArray();
	req_own(r, arr);
	cJSON_ArrayForEach(it, ids) {
		db_result *res;
		rc = file_load(r, it->valuestring, FL_PENDING, &res);
		if (rc == E_NOT_FOUND)
			continue;
		if (rc)
			return rc;
		cJSON_AddItemToArray(arr, file_json(r, res, 0));
	}
	reply_data(r, 200, cJSON_Duplicate(arr, true));
	return E_OK;
}

/* A batch write: one file's change inside the transaction, and what
 * follows for each changed file after the commit. */
typedef struct batch_op {
	err_t (*one)(req_t *r, const char *id, const cJSON *in);
	void (*after)(req_t *r, const char *id);
} batch_op_t;

/* Runs op for each id in one transaction (unknown ids are skipped), then
 * its after step for each file changed; *done lists them. */
static err_t batch_run(req_t *r, const cJSON *ids, const batch_op_t *op, const cJSON *in,
		       cJSON **done)
{
	*done = req_own(r, cJSON_CreateArray());
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	err_t rc = E_OK;
	const cJSON *it;
	cJSON_ArrayForEach(it, ids) {
		rc = op->one(r, it->valuestring, in);
		if (rc == E_NOT_FOUND) {
			rc = E_OK;
			continue;
		}
		if (rc)
			break;
		cJSON_AddItemToArray(*done, cJSON_CreateString(it->valuestring));
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	cJSON_ArrayForEach(it, *done)
		op->after(r, it->valuestring);
	return E_OK;
}

err_t files_batch_update(req_t *r)
{
	static const batch_op_t op = { file_update_one, republish };
	const cJSON *ids;
	err_t rc = batch_ids(r, &ids);
	if (rc)
		return rc;
	cJSON *in = req_own(r, cJSON_Duplicate(r->json, true)), *done;
	cJSON_DeleteItemFromObjectCaseSensitive(in, "file_ids");
	if (cJSON_GetArraySize(in) == 0)
		return req_fail(r, E_VALIDATION, "Give access or folder to update");
	if ((rc = file_fields_check(r, in)) || (rc = batch_run(r, ids, &op, in, &done)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "updated", cJSON_GetArraySize(done));
	cJSON_AddItemToObject(d, "file_ids", cJSON_Duplicate(done, true));
	reply_data(r, 200, d);
	return E_OK;
}

static err_t batch_delete_one(req_t *r, const char *id, const cJSON *in)
{
	(void)in;
	return file_delete_one(r, id);
}

err_t files_batch_delete(req_t *r)
{
	static const batch_op_t op = { batch_delete_one, unpublish };
	const cJSON *ids;
	cJSON *done;
	err_t rc = batch_ids(r, &ids);
	if (rc || (rc = batch_run(r, ids, &op, NULL, &done)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "deleted", cJSON_Duplicate(done, true));
	cJSON_AddNumberToObject(d, "count", cJSON_GetArraySize(done));
	reply_data(r, 200, d);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t files_routes[] = {
	ROUTE("POST", "/v1/files/batch/delete", "Files", AUTH_BEARER, "files", "files:write", R_USER, files_batch_delete, files_batch_body, "Batch delete files"),
	ROUTE("POST", "/v1/files/batch/read", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_batch_read, files_batch_body, "Batch read file metadata"),
	ROUTE("POST", "/v1/files/batch/update", "Files", AUTH_BEARER, "files", "files:write", R_USER, files_batch_update, files_batch_update_body, "Batch update file metadata"),
	CRUD("GET", "/v1/files/:file_id", "Files", "files", "files:read", R_USER, file_res, OP_GET, "Get file metadata"),
	CRUD("PATCH", "/v1/files/:file_id", "Files", "files", "files:write", R_USER, file_res, OP_UPDATE, "Update file metadata"),
	CRUD("DELETE", "/v1/files/:file_id", "Files", "files", "files:write", R_USER, file_res, OP_DELETE, "Delete file"),
	ROUTE("GET", "/v1/files/stats", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_stats, NULL, "Storage statistics"),
	ROUTE("GET", "/v1/files/trash", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_trash, NULL, "List trashed files"),
	ROUTE("GET", "/v1/files/:file_id/versions", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_versions, NULL, "List file versions"),
	ROUTE("GET", "/v1/files/folders", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_folders, NULL, "List folders"),
	ROUTE("POST", "/v1/files/:file_id/restore", "Files", AUTH_BEARER, "files", "files:write", R_USER, files_restore, NULL, "Restore deleted file"),
	ROUTE("POST", "/v1/files/search", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_search, files_search_body, "Search files"),
	ROUTES_END,
};
