/*
 * files_buckets.c - buckets: optional rules on a folder and the folders
 * under it (as Supabase Storage and Appwrite have them), a plain resource
 * on the engine, and bucket_enforce(), which every upload path (direct,
 * presigned at upload-url and again at upload-complete with the sniffed
 * type) runs before it keeps bytes.
 *
 * A bucket's name is a folder path; a file in folder "avatars/2026" falls
 * in bucket "avatars" unless a bucket "avatars/2026" exists (the longest
 * name wins).  Files outside every bucket have no rules beyond the plan's.
 * Rules: `public` (the access of new files that do not name one),
 * `allowed_mime_types` (an exact type, or "image" followed by "/" and "*"
 * for a whole top-level type, or "*" "/" "*" for any),
 * `max_file_size` and `max_total_bytes` (the stored bytes of the bucket's
 * files not in the trash, every version counted).
 */
#include <string.h>

#include "../common/jsonx.h"
#include "files.h"
#include "routes.h"

#define MIME_TYPES_MAX 50

static err_t check_name(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	if (!file_folder_valid(v->valuestring))
		return req_fail_field(r, E_VALIDATION, "name",
				      "name must be a folder path: names of letters, digits, space, "
				      "_ . - separated by /");
	return E_OK;
}

/* type/subtype, type followed by the wildcard "/" "*", or the wildcard
 * for any type: RFC 6838 token characters. */
static bool mime_pattern_valid(const char *s)
{
	static const char tok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				  "!#$&-^_.+";
	size_t a = strspn(s, tok);
	if (a == 0 && s[0] == '*')
		return !strcmp(s, "*/*");
	if (a == 0 || a > 127 || s[a] != '/')
		return false;
	const char *sub = s + a + 1;
	size_t b = strspn(sub, tok);
	return (b > 0 && b <= 127 && !sub[b]) || !strcmp(sub, "*");
}

static err_t check_mime_types(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	const cJSON *it;
	cJSON_ArrayForEach(it, v) {
		if (!mime_pattern_valid(it->valuestring))
			return req_fail_field(r, E_VALIDATION, "allowed_mime_types",
					      "\"%.60s\" is not a MIME type or pattern (image/png, "
					      "image/*, */*)", it->valuestring);
	}
	return E_OK;
}

static const res_field_t bucket_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_REQUIRED | RF_UNIQUE | RF_FILTER | RF_SORT, .min = 1, .max = 255,
	  .check = check_name },
	{ .name = "public", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_WRITABLE | RF_FILTER },
	{ .name = "allowed_mime_types", .type = COL_JSON, .in = FT_STRING_ARRAY,
	  .flags = RF_WRITABLE | RF_NULLABLE, .max = MIME_TYPES_MAX, .check = check_mime_types },
	{ .name = "max_file_size", .type = COL_INT, .in = FT_INT, .flags = RF_WRITABLE | RF_NULLABLE,
	  .min = 1, .max = (long long)1 << 50 },
	{ .name = "max_total_bytes", .type = COL_INT, .in = FT_INT, .flags = RF_WRITABLE | RF_NULLABLE,
	  .min = 1, .max = (long long)1 << 50 },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

static const resource_t bucket_res = {
	.name = "Bucket", .type = "bucket", .table = "_buckets", .home = RES_TENANT,
	.id_param = "bucket_id", .id_prefix = "bkt_", .fields = bucket_fields,
	.order = "name", .title = "name",
	.example = "{\"name\":\"avatars\",\"public\":true,\"allowed_mime_types\":[\"image/*\"],"
		   "\"max_file_size\":1048576}",
};

/* ------------------------------------------------------------ enforcement */

static bool mime_allowed(const cJSON *patterns, const char *mime)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, patterns) {
		const char *p = cJSON_IsString(it) ? it->valuestring : "";
		size_t n = strlen(p);
		if (!strcmp(p, "*/*") || !strcasecmp(p, mime) ||
		    (n > 2 && !strcmp(p + n - 2, "/*") && !strncasecmp(p, mime, n - 1)))
			return true;
	}
	return false;
}

err_t bucket_enforce(req_t *r, const char *folder, const char *mime, long long size,
		     const char *exclude_id, bool *is_public)
{
	if (is_public)
		*is_public = false;
	if (!folder || !*folder)
		return E_OK;
	db_result *b;
	db_param p[] = { db_str(folder), db_str(folder) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT name, public, allowed_mime_types, max_file_size, max_total_bytes FROM %s "
		"WHERE name = ? OR LEFT(?, CHAR_LENGTH(name) + 1) = CONCAT(name, '/') "
		"ORDER BY CHAR_LENGTH(name) DESC LIMIT 1", tenant_table(r, "_buckets")), p, 2, &b);
	if (st)
		return req_db_error(r, st);
	if (b->nrows == 0)
		return E_OK;
	const char *name = db_get(b, 0, "name");
	if (is_public)
		*is_public = db_get_int(b, 0, "public", 0) != 0;
	cJSON *types = req_own(r, cJSON_Parse(db_get(b, 0, "allowed_mime_types") ?
					      db_get(b, 0, "allowed_mime_types") : "null"));
	if (mime && cJSON_IsArray(types) && !mime_allowed(types, mime))
		return req_fail_field(r, E_VALIDATION, "mime_type",
				      "Bucket %s allows only %s; this file is %s", name,
				      req_json_text(r, types), mime);
	long long max = db_get_int(b, 0, "max_file_size", 0);
	if (max && size > max)
		return req_fail_field(r, E_VALIDATION, "size_bytes",
				      "Bucket %s allows files of at most %lld bytes; this one is %lld",
				      name, max, size);
	long long total_max = db_get_int(b, 0, "max_total_bytes", 0);
	if (!total_max)
		return E_OK;
	db_result *sum;
	db_param q[] = { db_str(name), db_str(name), db_str(name), db_str(exclude_id),
			 db_str(exclude_id) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT CAST(COALESCE(SUM(stored_bytes), 0) AS SIGNED) AS used FROM %s "
		"WHERE is_deleted = 0 AND (folder = ? OR LEFT(folder, CHAR_LENGTH(?) + 1) = "
		"CONCAT(?, '/')) AND (? IS NULL OR id <> ?)", files_table(r)), q, 5, &sum);
	if (st)
		return req_db_error(r, st);
	long long used = db_get_int(sum, 0, "used", 0);
	if (used + size > total_max)
		return req_fail_field(r, E_VALIDATION, "size_bytes",
				      "Bucket %s holds at most %lld bytes; %lld are used and this file "
				      "needs %lld", name, total_max, used, size);
	return E_OK;
}

/* The endpoints this file serves (Tessera's own, beyond the reference);
 * routes.c assembles the table from every file's rows. */
const route_t files_buckets_routes[] = {
	CRUD("GET", "/v1/files/buckets", "Files", "files", NULL, R_EXTENSION, bucket_res, OP_LIST, "List buckets"),
	CRUD("POST", "/v1/files/buckets", "Files", "files", NULL, R_EXTENSION, bucket_res, OP_CREATE, "Create bucket"),
	CRUD("GET", "/v1/files/buckets/:bucket_id", "Files", "files", NULL, R_EXTENSION, bucket_res, OP_GET, "Get bucket"),
	CRUD("PATCH", "/v1/files/buckets/:bucket_id", "Files", "files", NULL, R_EXTENSION, bucket_res, OP_UPDATE, "Update bucket"),
	CRUD("DELETE", "/v1/files/buckets/:bucket_id", "Files", "files", NULL, R_EXTENSION, bucket_res, OP_DELETE, "Delete bucket"),
	ROUTES_END,
};
