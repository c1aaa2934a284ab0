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
#include "../fcgi/query.h"
#include "../fcgi/securedel.h"
#include "objmodel.h"
#include "replies.h"
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

static const resource_t file_res;
const char *const file_access[] = { "private", "public", NULL };

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
	return req_end_user(r) ? r->who.user_id : NULL;
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
 * serves a live public file at, or null (the descriptor's render hook). */
static err_t file_render(req_t *r, res_ctx_t *c, cJSON *o)
{
	(void)c;
	const char *access = json_str_of(o, "access"), *status = json_str_of(o, "status");
	bool live = status && !strcmp(status, "ready") &&
		    cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "is_deleted"));
	if (access && !strcmp(access, "public") && live)
		cJSON_AddStringToObject(o, "url", arena_printf(r->a, "%s/v1/files/%s/content?t=%s",
							      g_config.public_url, json_str_of(o, "id"),
							      r->tenant.id));
	else
		cJSON_AddNullToObject(o, "url");
	return E_OK;
}

cJSON *file_json(req_t *r, const db_result *res, int row)
{
	res_ctx_t c = { .res = &file_res };
	cJSON *o;
	resource_render(r, &c, res, row, &o);
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
	if (utf8_bad_at((const unsigned char *)name, n) < n)
		return req_fail_field(r, E_VALIDATION, field, "%s must be valid UTF-8 text", field);
	return E_OK;
}

bool file_folder_valid(const char *f)
{
	size_t n = strlen(f);
	if (n == 0 || n > 255 ||
	    strspn(f, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.- /") != n)
		return false;
	/* No empty segment (a leading, trailing or double /), no . or .. */
	for (const char *seg = f;; seg++) {
		size_t len = strcspn(seg, "/");
		if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && !strncmp(seg, "..", 2)))
			return false;
		seg += len;
		if (!*seg)
			return true;
	}
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
	/* The pipeline's schema (or the upload form) has checked the types. */
	const char *v = json_str_of(in, "filename");
	err_t rc;
	if ((v && (rc = filename_check(r, v, "filename"))) ||
	    (rc = one_of_or_reply(r, "access", json_str_of(in, "access"), file_access)))
		return rc;
	if ((v = json_str_of(in, "folder")) && !file_folder_valid(v))
		return req_fail_field(r, E_VALIDATION, "folder",
				      "folder must be up to 255 characters: names of letters, digits, "
				      "space, _ . - separated by /");
	v = req_json_text(r, cJSON_GetObjectItemCaseSensitive(in, "meta"));
	if (v && strlen(v) > META_MAX)
		return req_fail_field(r, E_VALIDATION, "meta",
				      "meta must be at most %d bytes of JSON", META_MAX);
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
	enum db_status st = db_exec(db_control(r->db), r->a,
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
	enum db_status st = db_exec(db_control(r->db), r->a,
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
	return db_exec(db_control(db), a, "UPDATE tenants SET used_storage_bytes = "
		       "GREATEST(CAST(used_storage_bytes AS SIGNED) - ?, 0) WHERE id = ?", p, 2, NULL);
}

/* ------------------------------------------------------------ publish */

bool file_inline_safe(const char *mime)
{
	static const char *const safe[] = { "image/png", "image/jpeg", "image/gif", "image/webp",
					    "image/avif", "application/pdf", "text/plain" };
	for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
		if (!strcmp(mime, safe[i]))
			return true;
	return !strncmp(mime, "audio/", 6) || !strncmp(mime, "video/", 6);
}

/* <kind>; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>
 * (RFC 6266); kind is attachment unless the caller checked that the type is
 * safe to render inline (file_inline_safe). */
static char *content_disposition(arena_t *a, const char *name, const char *kind)
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
	return arena_printf(a, "%s; filename=\"%s\"; filename*=UTF-8''%s", kind, ascii, pct);
}

void file_publish(req_t *r, const db_result *res, int row)
{
	const char *id = db_get(res, row, "id");
	if (strcmp(db_get(res, row, "status"), "ready") || strcmp(db_get(res, row, "is_deleted"), "0"))
		return;
	char *meta = arena_printf(r->a, "%s\n%s\n", db_get(res, row, "mime_type"),
				  content_disposition(r->a, db_get(res, row, "filename"), "attachment"));
	if (storage_publish(r->a, r->tenant.id, id, (int)db_get_int(res, row, "version", 1), meta,
			    !strcmp(db_get(res, row, "access"), "public")))
		log_error("%s: cannot publish file %s in storage", r->request_id, id);
}

int file_publish_version(req_t *r, const char *id, int version, const db_result *row)
{
	char *meta = arena_printf(r->a, "%s\n%s\n", db_get(row, 0, "mime_type"),
				  content_disposition(r->a, db_get(row, 0, "filename"), "attachment"));
	return storage_put_local(r->a, arena_printf(r->a, "%s/meta.%d",
		storage_file_dir(r->a, r->tenant.id, id), version), meta, strlen(meta));
}

err_t file_inline_asked(req_t *r, bool *inline_)
{
	bool download;
	err_t rc = req_query_bool(r, "download", true, &download);
	const char *d = req_query(r, "disposition");
	if (rc)
		return rc;
	if (d && strcmp(d, "inline") && strcmp(d, "attachment"))
		return req_fail_field(r, E_VALIDATION, "disposition",
				      "disposition must be inline or attachment");
	*inline_ = d ? !strcmp(d, "inline") : !download;
	return E_OK;
}

void files_download_headers(req_t *r, const db_result *res, bool inline_)
{
	const char *kind = inline_ && file_inline_safe(db_get(res, 0, "mime_type")) ? "inline" :
			   "attachment";
	reply_header(r, "Content-Disposition",
		     content_disposition(r->a, db_get(res, 0, "filename"), kind));
}

/* ------------------------------------------------------------ updates */

err_t file_set_fields(req_t *r, const char *id, const cJSON *in)
{
	char *set = "updated_at = UTC_TIMESTAMP(3)";
	db_param p[8];
	int n = 0;
	for (const res_field_t *f = file_fields; f->name; f++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, f->name);
		if (!v || !(f->flags & RF_UPDATE))
			continue;
		set = arena_printf(r->a, "%s, %s = ?", set, f->name);
		p[n++] = json_to_param(r->a, &(col_t){ f->name, f->type, 0 }, v);
	}
	p[n++] = db_str(id);
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "UPDATE %s SET %s WHERE id = ?",
							      files_table(r), set), p, n, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* ------------------------------------------------------------ get, patch, delete */

/*
 * GET, PATCH and DELETE /v1/files/:file_id are the engine's, with hooks
 * for what is special: an end user reaches only the files they uploaded;
 * the body is checked as file_fields_check does, before a 404; a delete
 * moves the file to the trash and queues its purge; what nginx serves
 * follows each change; file.updated and file.deleted carry the file; the
 * Files group writes no audit entries.  Batch update and delete run the
 * same operations, and a restore is an update of a file in the trash.
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

/* A delete (moving the file to the trash) queues its purge for when its
 * time in the trash is over, in the write's transaction. */
static err_t file_trashed(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_DELETE)
		return E_OK;
	cJSON *payload = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(payload, "file_id", c->id);
	char job[40];
	long delay_ms = (long)g_config.files_trash_days * 86400L * 1000L + 60000L;
	enum db_status st = jobs_enqueue(r->db, r->a, r->tenant.id, "files.purge", payload, 0, delay_ms,
					 job);
	return st ? req_db_error(r, st) : E_OK;
}

/* After commit: a file in the trash is no longer served; otherwise what
 * nginx serves follows the new access and filename. */
static void file_committed(req_t *r, res_ctx_t *c)
{
	db_result *res;
	if (c->op == OP_DELETE)
		storage_unpublish(r->a, r->tenant.id, c->id);
	else if (file_load(r, c->id, FL_PENDING, &res) == E_OK)
		file_publish(r, res, 0);
}

static const res_hooks_t file_hooks = {
	.scope = file_scope, .check = file_check, .render = file_render, .after_write = file_trashed,
	.after_commit = file_committed,
};

static const resource_t file_res = {
	.name = "File", .type = "file", .table = "_files", .home = RES_TENANT,
	.id_param = "file_id", .id_prefix = "file_", .fields = file_fields,
	.live = "is_deleted = 0", .del = DEL_MARK,
	.delete_set = "is_deleted = 1, deleted_at = UTC_TIMESTAMP(3)", .deleted_id = "file_id",
	.flags = RES_EVENTS | RES_NO_AUDIT | RES_TOUCH | RES_GET_LIVE, .hooks = &file_hooks,
};

/* The files in the trash: a restore is an update of one (the file's hooks,
 * its event file.updated). */
static const resource_t trash_res = {
	.name = "File", .type = "file", .table = "_files", .home = RES_TENANT,
	.id_param = "file_id", .id_prefix = "file_", .fields = file_fields,
	.live = "is_deleted = 1", .flags = RES_EVENTS | RES_NO_AUDIT | RES_TOUCH,
	.hooks = &file_hooks,
};

err_t files_restore(req_t *r)
{
	res_ctx_t c;
	db_result *res;
	err_t rc = resource_ctx(r, &trash_res, OP_UPDATE, &c);
	if (rc || (rc = file_load(r, c.id, FL_DELETED | FL_PENDING, &res)))
		return rc;
	resource_set_expr(&c, "is_deleted", "0", NULL, 0);
	resource_set_expr(&c, "deleted_at", "NULL", NULL, 0);
	return resource_run(r, &c);
}

/* ------------------------------------------------------------ deleting for good */

/*
 * Deleting for good (DELETE ?permanent=true, on a file in the trash or
 * not, and emptying the trash): the rows in one transaction with the
 * file.deleted event (the file, with "permanent": true), the stored bytes
 * given back to the quota at once, then after the commit the bytes and
 * what nginx serves.  A purge job still queued for the file later finds
 * nothing to do.
 */

/* In the open transaction: erases the locked file row `row` of f. */
static void owner_only(req_t *r, query_t *q);

static err_t file_erase_rows(req_t *r, const db_result *f, int row)
{
	const char *id = db_get(f, row, "id");
	cJSON *o = req_own(r, file_json(r, f, row));
	cJSON_AddBoolToObject(o, "permanent", true);
	db_param p[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE id = ?",
							      files_table(r)), p, 1, NULL);
	if (!st)
		st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE file_id = ?",
						       file_versions_table(r)), p, 1, NULL);
	if (!st)
		st = files_usage_release(r->db, r->a, r->tenant.id,
					 db_get_int(f, row, "stored_bytes", 0));
	return st ? req_db_error(r, st) : outbox_add(r, "file.deleted", "file", id, o);
}

/* After the commit: the bytes of the erased files of f. */
static void file_erase_bytes(req_t *r, const db_result *f)
{
	for (int i = 0; i < f->nrows; i++) {
		const char *id = db_get(f, i, "id");
		storage_unpublish(r->a, r->tenant.id, id);
		if (storage_remove_file(r->a, r->tenant.id, id))
			log_error("%s: cannot remove the bytes of file %s", r->request_id, id);
	}
}

static err_t file_delete_permanent(req_t *r, const char *id)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_result *f;
	err_t rc = file_load(r, id, FL_ANY | FL_PENDING | FL_LOCK, &f);
	if (!rc)
		rc = file_erase_rows(r, f, 0);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	file_erase_bytes(r, f);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "file_id", id);
	cJSON_AddBoolToObject(d, "deleted", true);
	cJSON_AddBoolToObject(d, "permanent", true);
	reply_data(r, 200, d);
	return E_OK;
}

/* DELETE /v1/files/:file_id: to the trash (the engine's delete), or for
 * good with ?permanent=true. */
err_t files_delete(req_t *r)
{
	bool permanent;
	err_t rc = req_query_bool(r, "permanent", false, &permanent);
	if (rc)
		return rc;
	return permanent ? file_delete_permanent(r, req_param(r, "file_id"))
			 : resource_op(r, &file_res, OP_DELETE);
}

/* The most files one request erases from the trash; the reply says how
 * many are left. */
#define EMPTY_TRASH_MAX 10000
#define EMPTY_TRASH_BATCH 100

/* DELETE /v1/files/trash: the caller's trash (an end user's own files, an
 * API key's all), for good, after the secure-delete confirmation. */
err_t files_trash_empty(req_t *r)
{
	const char *owner = files_owner(r);
	query_t q;
	query_init(r, &q, "is_deleted = 1");
	owner_only(r, &q);
	long long total;
	bool confirmed;
	err_t rc = query_count(r, files_table(r), &q, &total);
	dependency_t deps[] = { { "files", "Files in the trash", total } };
	if (rc || (total && (rc = securedel_check(r, "files_trash", owner ? owner : r->tenant.id,
						  deps, 1, &confirmed))))
		return rc;
	long long done = 0, freed = 0;
	while (done < EMPTY_TRASH_MAX) {
		enum db_status st = db_begin(r->db);
		if (st)
			return req_db_error(r, st);
		db_result *f;
		query_bind(r, &q, db_int(EMPTY_TRASH_BATCH));
		st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT " FILE_COLS " FROM %s WHERE %s "
			"ORDER BY id LIMIT ? FOR UPDATE", files_table(r), q.sql), q.p, q.np, &f);
		q.np--;
		rc = st ? req_db_error(r, st) : E_OK;
		for (int i = 0; i < (st ? 0 : f->nrows) && !rc; i++) {
			rc = file_erase_rows(r, f, i);
			freed += db_get_int(f, i, "stored_bytes", 0);
		}
		if ((rc = req_tx_end(r, rc)))
			return rc;
		file_erase_bytes(r, f);
		done += f->nrows;
		if (f->nrows < EMPTY_TRASH_BATCH)
			break;
	}
	long long left = 0;
	if ((rc = query_count(r, files_table(r), &q, &left)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "deleted", (double)done);
	cJSON_AddNumberToObject(d, "freed_bytes", (double)freed);
	cJSON_AddNumberToObject(d, "remaining", (double)left);
	reply_data(r, 200, d);
	return E_OK;
}

/* DELETE /v1/files/:file_id/versions/:version: an old version and its
 * bytes, given back to the quota; the current one goes only with the
 * file. */
/* Deletes versions lo..hi of file id in the open transaction (the caller
 * keeps the current one out of the range): the rows, their bytes from the
 * file's stored_bytes and the tenant's usage.  *gone lists the versions
 * dropped (their bytes go with versions_unlink after the commit), *freed
 * their size. */
static enum db_status versions_drop(req_t *r, const char *id, long long lo, long long hi,
				    db_result **gone, long long *freed)
{
	db_param p[] = { db_str(id), db_int(lo), db_int(hi) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT version, size_bytes "
		"FROM %s WHERE file_id = ? AND version BETWEEN ? AND ? FOR UPDATE",
		file_versions_table(r)), p, 3, gone);
	*freed = 0;
	if (st || (*gone)->nrows == 0)
		return st;
	for (int i = 0; i < (*gone)->nrows; i++)
		*freed += db_get_int(*gone, i, "size_bytes", 0);
	db_param q[] = { db_int(*freed), db_str(id) };
	if (!(st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE file_id = ? AND "
			   "version BETWEEN ? AND ?", file_versions_table(r)), p, 3, NULL)) &&
	    !(st = db_exec(r->db, r->a, arena_printf(r->a, "UPDATE %s SET stored_bytes = "
			   "GREATEST(CAST(stored_bytes AS SIGNED) - ?, 0) WHERE id = ?", files_table(r)),
			   q, 2, NULL)))
		st = files_usage_release(r->db, r->a, r->tenant.id, *freed);
	return st;
}

/* Removes the bytes (and the signed-URL meta) of the versions in gone. */
static void versions_unlink(req_t *r, const char *id, const db_result *gone)
{
	const char *dir = storage_file_dir(r->a, r->tenant.id, id);
	for (int i = 0; gone && i < gone->nrows; i++) {
		int v = (int)db_get_int(gone, i, "version", 0);
		storage_remove(r->a, storage_version_key(r->a, r->tenant.id, id, v));
		storage_remove(r->a, arena_printf(r->a, "%s/meta.%d", dir, v));
	}
}

err_t files_version_delete(req_t *r)
{
	const char *id = req_param(r, "file_id");
	long long v;
	err_t rc = file_version_param(r, req_param(r, "version"), &v);
	if (rc)
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_result *f, *gone = NULL;
	long long size = 0;
	if ((rc = file_load(r, id, FL_ANY | FL_PENDING | FL_LOCK, &f)))
		goto out;
	if (db_get_int(f, 0, "version", 0) == v) {
		rc = req_fail(r, E_CONFLICT, "Version %lld is the file's current version: delete the "
			      "file instead, or upload a new version first", v);
		goto out;
	}
	st = versions_drop(r, id, v, v, &gone, &size);
	if (!st && gone->nrows == 0)
		rc = req_fail(r, E_NOT_FOUND, "The file has no version %lld", v);
	else
		rc = st ? req_db_error(r, st) : E_OK;
out:
	if ((rc = req_tx_end(r, rc)))
		return rc;
	versions_unlink(r, id, gone);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "file_id", id);
	cJSON_AddNumberToObject(d, "version", (double)v);
	cJSON_AddNumberToObject(d, "freed_bytes", (double)size);
	cJSON_AddBoolToObject(d, "deleted", true);
	reply_data(r, 200, d);
	return E_OK;
}

void files_versions_prune(req_t *r, const char *id, long long current)
{
	db_result *res, *gone = NULL;
	long long freed;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT CAST(JSON_VALUE(value, '$.files_keep_versions') AS SIGNED) AS keep "
		"FROM %s WHERE name = 'governance'", tenant_table(r, "_identity_settings")),
		NULL, 0, &res);
	long long keep = !st && res->nrows ? db_get_int(res, 0, "keep", 0) : 0;
	if (keep <= 0 || current <= keep)
		return;
	db_param p[] = { db_str(id) };
	if (!(st = db_begin(r->db)) &&
	    !(st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT id FROM %s WHERE id = ? "
			   "FOR UPDATE", files_table(r)), p, 1, NULL)) &&
	    !(st = versions_drop(r, id, 1, current - keep, &gone, &freed)))
		st = db_commit(r->db);
	if (st) {
		db_rollback(r->db);
		log_warn("%s: cannot prune the old versions of %s (kept)", r->request_id, id);
		return;
	}
	versions_unlink(r, id, gone);
}

err_t file_version_param(req_t *r, const char *text, long long *v)
{
	char *end;
	long long n = text ? strtoll(text, &end, 10) : 0;
	if (!text || !*text || *end || n < 1 || n > 1000000000 || text[0] == '+' || text[0] == '0')
		return req_fail_field(r, E_VALIDATION, "version",
				      "version must be a whole number from 1 (a version of the file)");
	*v = n;
	return E_OK;
}

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
	db_result *res;
	long long total;
	err_t rc = query_count(r, files_table(r), q, &total);
	if (rc || (rc = query_rows(r, FILE_COLS, files_table(r), q, o, cursor, limit, 0, &res)))
		return rc;
	reply_data(r, 200, query_page(r, o, res, limit, total, o->col, file_row, NULL));
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
	db_param p[] = { db_int(db_get_int(f, 0, "version", 0)), db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT version, filename, mime_type, size_bytes, checksum_sha256, created_by, "
		"created_at, file_id, version = ? AS is_current FROM %s WHERE file_id = ? "
		"ORDER BY version DESC", file_versions_table(r)), p, 2, &res);
	if (st)
		return req_db_error(r, st);
	static const col_t vcols[] = {
		{ "version", COL_INT, 0 }, { "filename", COL_STR, 0 }, { "mime_type", COL_STR, 0 },
		{ "size_bytes", COL_INT, 0 }, { "checksum_sha256", COL_STR, 0 },
		{ "created_by", COL_STR, 0 }, { "created_at", COL_TIME, 0 },
		{ "file_id", COL_STR, 0 }, { "is_current", COL_BOOL, 0 }, { NULL, 0, 0 },
	};
	reply_data(r, 200, rows_to_json(vcols, res));
	return E_OK;
}

err_t files_folders(req_t *r)
{
	page_t pg;
	err_t rc = page_read(r, 100, 1000, &pg);
	if (rc)
		return rc;
	const char *owner = files_owner(r);
	db_param p[] = { db_str(owner), db_str(owner), db_int(pg.limit), db_int(pg.offset) };
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

static const char *const search_statuses[] = { "pending", "ready", "deleted", NULL };
static const char *const search_categories[] = { "image", "video", "audio", "document", "archive",
						 "other", NULL };
static const char *const search_sorts[] = { "created_at", "size_bytes", "filename", NULL };
static const char *const search_dirs[] = { "asc", "desc", NULL };

const field_t files_search_body[] = {
	{ "mime_type", FT_STRING, 0, 1, 127 },
	{ "mime_category", FT_STRING, 0, 1, 16, search_categories },
	{ "access", FT_STRING, 0, 1, 16, file_access },
	{ "status", FT_STRING, 0, 1, 16, search_statuses },
	{ "folder", FT_STRING, FF_NULLABLE, 0, 255 },
	{ "filename", FT_STRING, 0, 1, 255 },
	{ "object_type_id", FT_STRING, 0, 1, 40 },
	{ "object_id", FT_STRING, 0, 1, 40 },
	{ "created_after", FT_STRING, 0, 1, 40 },
	{ "created_before", FT_STRING, 0, 1, 40 },
	{ "sort", FT_STRING, 0, 1, 32, search_sorts },
	{ "sort_dir", FT_STRING, 0, 1, 8, search_dirs },
	{ "limit", FT_INT, 0, 1, SEARCH_MAX },
	{ "cursor", FT_STRING, FF_NULLABLE, 0, 1024 },
	{ NULL, 0, 0, 0, 0 },
};

/* The conditions of the search body. */
static err_t search_filters(req_t *r, query_t *q)
{
	/* Members that match a column as they are; the times. */
	static const struct { const char *field, *cond; } eq[] = {
		{ "access", "access = ?" }, { "mime_category", "category = ?" },
		{ "folder", "folder = ?" }, { "object_type_id", "object_type_id = ?" },
		{ "object_id", "object_id = ?" },
	}, times[] = {
		{ "created_after", "created_at > ?" }, { "created_before", "created_at < ?" },
	};
	const char *v, *st = json_str_of(r->json, "status");
	query_and(r, q, st && !strcmp(st, "deleted") ? "is_deleted = 1" : "is_deleted = 0");
	if (st && strcmp(st, "deleted"))
		query_and_bind(r, q, "status = ?", db_str(st));
	for (size_t i = 0; i < sizeof(eq) / sizeof(eq[0]); i++)
		if ((v = json_str_of(r->json, eq[i].field)))
			query_and_bind(r, q, eq[i].cond, db_str(v));
	if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r->json, "folder")))
		query_and(r, q, "folder IS NULL");
	if ((v = json_str_of(r->json, "mime_type"))) {
		/* "image/\*" (any subtype) matches the type by prefix. */
		size_t n = strlen(v);
		if (n > 2 && !strcmp(v + n - 2, "/*"))
			query_and_bind(r, q, "mime_type LIKE ?",
				       db_str(arena_printf(r->a, "%.*s/%%", (int)(n - 2), v)));
		else
			query_and_bind(r, q, "mime_type = ?", db_str(v));
	}
	if ((v = json_str_of(r->json, "filename")))
		query_and_bind(r, q, "filename LIKE ?", db_str(query_like_pattern(r->a, v, true)));
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		db_param tp;
		v = json_str_of(r->json, times[i].field);
		err_t rc = query_time_arg(r, times[i].field, v, NULL, &tp);
		if (rc)
			return rc;
		if (v)
			query_and_bind(r, q, times[i].cond, tp);
	}
	return E_OK;
}

err_t files_search(req_t *r)
{
	query_t q;
	query_init(r, &q, "1 = 1");
	owner_only(r, &q);
	const char *sort = json_str_of(r->json, "sort") ? json_str_of(r->json, "sort") : "created_at";
	const char *dir = json_str_of(r->json, "sort_dir") ? json_str_of(r->json, "sort_dir") : "desc";
	err_t rc;
	if ((rc = search_filters(r, &q)))
		return rc;
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
		st = db_exec(db_control(r->db), r->a, "SELECT t.used_storage_bytes, p.max_storage_bytes, "
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
	{ "access", FT_STRING, 0, 1, 16, file_access },
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
	cJSON *arr = req_own(r, cJSON_CreateArray());
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

/* Runs the engine's op (OP_UPDATE with the body in, or OP_DELETE) on each
 * file of ids in one transaction (unknown ids are skipped), then what
 * follows each change's commit; *done lists the files changed. */
static err_t batch_run(req_t *r, const cJSON *ids, enum res_op op, const cJSON *in,
		       cJSON **done)
{
	*done = req_own(r, cJSON_CreateArray());
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	res_ctx_t c = { .op = op };
	err_t rc = E_OK;
	const cJSON *it;
	cJSON_ArrayForEach(it, ids) {
		if ((rc = resource_ctx(r, &file_res, op, &c)))
			break;
		c.id = it->valuestring;
		c.body = in;
		c.in_tx = true;
		rc = resource_run(r, &c);
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
	cJSON_ArrayForEach(it, *done) {
		c.id = it->valuestring;
		file_committed(r, &c);
	}
	return E_OK;
}

err_t files_batch_update(req_t *r)
{
	const cJSON *ids;
	err_t rc = batch_ids(r, &ids);
	if (rc)
		return rc;
	cJSON *in = req_own(r, cJSON_Duplicate(r->json, true)), *done;
	cJSON_DeleteItemFromObjectCaseSensitive(in, "file_ids");
	if (cJSON_GetArraySize(in) == 0)
		return req_fail(r, E_VALIDATION, "Give access or folder to update");
	if ((rc = batch_run(r, ids, OP_UPDATE, in, &done)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "updated", cJSON_GetArraySize(done));
	cJSON_AddItemToObject(d, "file_ids", cJSON_Duplicate(done, true));
	reply_data(r, 200, d);
	return E_OK;
}

err_t files_batch_delete(req_t *r)
{
	const cJSON *ids;
	cJSON *done;
	err_t rc = batch_ids(r, &ids);
	if (rc || (rc = batch_run(r, ids, OP_DELETE, NULL, &done)))
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
	ROUTE("DELETE", "/v1/files/:file_id", "Files", AUTH_BEARER, "files", "files:write", R_USER, files_delete, NULL, "Delete file"),
	ROUTE("DELETE", "/v1/files/trash", "Files", AUTH_BEARER, "files", "files:write", R_USER | R_EXTENSION, files_trash_empty, NULL, "Empty the trash"),
	ROUTE("DELETE", "/v1/files/:file_id/versions/:version", "Files", AUTH_BEARER, "files", "files:write", R_USER | R_EXTENSION, files_version_delete, NULL, "Delete an old file version"),
	ROUTE("GET", "/v1/files/stats", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_stats, NULL, "Storage statistics"),
	ROUTE("GET", "/v1/files/trash", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_trash, NULL, "List trashed files"),
	ROUTE("GET", "/v1/files/:file_id/versions", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_versions, NULL, "List file versions"),
	ROUTE("GET", "/v1/files/folders", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_folders, NULL, "List folders"),
	ROUTE("POST", "/v1/files/:file_id/restore", "Files", AUTH_BEARER, "files", "files:write", R_USER, files_restore, NULL, "Restore deleted file"),
	ROUTE("POST", "/v1/files/search", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_search, files_search_body, "Search files"),
	ROUTES_END,
};
