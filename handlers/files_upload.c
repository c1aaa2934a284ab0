/*
 * files_upload.c - getting bytes in: the direct multipart upload (new files
 * and new versions), the presigned flow (upload-url → upload-put →
 * upload-complete) and the removal of stale pending uploads.
 *
 * nginx buffers an upload body to a temp file and passes its path in the
 * FastCGI parameter TESSERA_BODY_FILE (the dedicated locations in
 * nginx/tessera-locations.conf.in), so a worker maps the file instead of
 * reading 25 MB (or gigabytes) through its own memory; without nginx's
 * help the body arrives on stdin as for any route.  The MIME type comes
 * from the content (libmagic), never from the client.  Quota is reserved
 * in the transaction before the bytes are kept.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <magic.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/multipart.h"
#include "../common/storage.h"
#include "../common/timefmt.h"
#include "../fcgi/jobs.h"
#include "files.h"
#include "objmodel.h"
#include "routes.h"


/* ------------------------------------------------------------ body, MIME */

/* The request body: nginx's buffered file when it handed one over. */
static err_t body_get(req_t *r, const unsigned char **data, size_t *len)
{
	const char *path = req_env(r, "TESSERA_BODY_FILE");
	if (path && *path) {
		if (storage_map(r->a, path, data, len) != 0) {
			log_error("%s: cannot read the buffered body %s", r->request_id, path);
			return E_INTERNAL;
		}
		return E_OK;
	}
	*data = (const unsigned char *)(r->body ? r->body : "");
	*len = r->body_len;
	return E_OK;
}

const char *file_mime_detect(req_t *r, const unsigned char *data, size_t len)
{
	static magic_t m;
	static bool tried;
	if (!tried) {
		tried = true;
		m = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
		if (m && magic_load(m, NULL) != 0) {
			log_error("libmagic: %s", magic_error(m));
			magic_close(m);
			m = NULL;
		}
	}
	const char *t = m ? magic_buffer(m, data, len > (1u << 20) ? (1u << 20) : len) : NULL;
	return arena_strdup(r->a, t && strchr(t, '/') ? t : "application/octet-stream");
}

/* ------------------------------------------------------------ the form */

/* The text fields an upload takes besides the file part. */
static const char *const upload_fields[] = {
	"filename", "folder", "access", "meta", "object_type_id", "object_id", "file_id", NULL,
};

/* Collects the text parts into a JSON object (meta parsed) and finds the
 * file part; each problem is a 400 naming the field. */
static err_t upload_form(req_t *r, mp_part_t *parts, int n, cJSON *in, mp_part_t **file)
{
	*file = NULL;
	for (int i = 0; i < n; i++) {
		mp_part_t *p = &parts[i];
		if (!strcmp(p->name, "file")) {
			if (*file)
				return req_fail_field(r, E_VALIDATION, "file", "Send one file per upload");
			*file = p;
			continue;
		}
		bool known = false;
		for (const char *const *f = upload_fields; *f; f++)
			known |= !strcmp(*f, p->name);
		if (!known)
			return req_fail_field(r, E_VALIDATION, p->name, "Unknown field %s", p->name);
		char *v = arena_strndup(r->a, (const char *)p->data, p->len);
		if (strlen(v) != p->len || utf8_bad_at(p->data, p->len) < p->len)
			return req_fail_field(r, E_VALIDATION, p->name, "%s must be UTF-8 text", p->name);
		if (!strcmp(p->name, "meta")) {
			cJSON *m = cJSON_Parse(v);
			if (!cJSON_IsObject(m)) {
				cJSON_Delete(m);
				return req_fail_field(r, E_VALIDATION, "meta", "meta must be a JSON object");
			}
			if (json_depth(m) > JSON_DEPTH_MAX) {
				cJSON_Delete(m);
				return req_fail_field(r, E_VALIDATION, "meta",
						      "meta nests deeper than %d levels", JSON_DEPTH_MAX);
			}
			cJSON_AddItemToObject(in, "meta", m);
		} else if (!cJSON_GetObjectItemCaseSensitive(in, p->name)) {
			cJSON_AddStringToObject(in, p->name, v);
		}
	}
	if (!*file)
		return req_fail_field(r, E_VALIDATION, "file", "The form has no file part named \"file\"");
	if ((*file)->len == 0)
		return req_fail_field(r, E_VALIDATION, "file", "The file is empty");
	return E_OK;
}

/* The file's name: the filename field, else the part's own name cut to its
 * last path component (browsers once sent C:\dir\name). */
static const char *upload_name(const cJSON *in, const mp_part_t *file)
{
	const char *v = json_str_of(in, "filename");
	if (v)
		return v;
	const char *fn = file->filename;
	if (!fn || !*fn)
		return NULL;
	const char *base = fn;
	for (const char *s = fn; *s; s++)
		if (*s == '/' || *s == '\\')
			base = s + 1;
	return *base ? base : NULL;
}

/* ------------------------------------------------------------ direct upload */

struct newfile {
	const char *id;
	int version;
	const char *name, *mime, *sha;
	const char *folder;    /* a new version's file's folder */
	long long size;
	bool is_new;
};

/* Inserts (or advances to a new version) the file row and its version row,
 * and writes file.uploaded, in the open transaction. */
static err_t upload_record(req_t *r, const struct newfile *f, const cJSON *in)
{
	const char *owner = r->who.kind == PRINCIPAL_USER ? r->who.user_id : r->who.key_id;
	enum db_status st;
	if (f->is_new) {
		const cJSON *folder = cJSON_GetObjectItemCaseSensitive(in, "folder");
		db_param p[] = {
			db_str(f->id), db_str(f->name), db_str(f->mime), db_str(mime_category(f->mime)),
			db_int(f->size), db_str(f->sha),
			db_str(json_str_of(in, "access") ? json_str_of(in, "access") : "private"),
			db_str(cJSON_IsString(folder) ? folder->valuestring : NULL),
			db_str(req_json_text(r, cJSON_GetObjectItemCaseSensitive(in, "meta"))),
			db_str(json_str_of(in, "object_type_id")), db_str(json_str_of(in, "object_id")),
			db_int(f->size), db_str(owner),
		};
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"INSERT INTO %s (id, filename, mime_type, category, size_bytes, checksum_sha256, "
			"access, status, folder, meta, object_type_id, object_id, version, stored_bytes, "
			"created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'ready', ?, ?, "
			"?, ?, 1, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", files_table(r)),
			p, 13, NULL);
	} else {
		db_param p[] = { db_str(f->name), db_str(f->mime), db_str(mime_category(f->mime)),
				 db_int(f->size), db_str(f->sha), db_int(f->version), db_int(f->size),
				 db_str(f->id) };
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"UPDATE %s SET filename = ?, mime_type = ?, category = ?, size_bytes = ?, "
			"checksum_sha256 = ?, version = ?, stored_bytes = stored_bytes + ?, "
			"updated_at = UTC_TIMESTAMP(3) WHERE id = ?", files_table(r)), p, 8, NULL);
		/* The other fields of the form apply to the file as a patch. */
		if (!st) {
			cJSON *rest = req_own(r, cJSON_Duplicate(in, true));
			cJSON_DeleteItemFromObjectCaseSensitive(rest, "file_id");
			err_t rc = file_set_fields(r, f->id, rest);
			if (rc)
				return rc;
		}
	}
	if (st)
		return req_db_error(r, st);
	db_param v[] = { db_str(f->id), db_int(f->version), db_str(f->name), db_str(f->mime),
			 db_int(f->size), db_str(f->sha), db_str(owner) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (file_id, version, filename, mime_type, size_bytes, checksum_sha256, "
		"created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))",
		file_versions_table(r)), v, 7, NULL);
	if (st)
		return req_db_error(r, st);
	return file_event(r, "file.uploaded", f->id);
}

/* Validates the form and fills f (the target file and its next version). */
static err_t upload_prepare(req_t *r, cJSON *in, const mp_part_t *file, struct newfile *f)
{
	err_t rc;
	long long max = (long long)g_config.files_max_upload_mb * 1024 * 1024;
	if ((long long)file->len > max)
		return req_fail(r, E_PAYLOAD_TOO_LARGE, "The file exceeds %d MB; use the presigned "
				"upload (POST /v1/files/upload-url) for larger files",
				g_config.files_max_upload_mb);
	f->name = upload_name(in, file);
	f->id = json_str_of(in, "file_id");
	f->is_new = f->id == NULL;
	f->version = 1;
	if (!f->is_new) {
		db_result *res;
		if ((rc = file_load(r, f->id, FL_LOCK, &res)))
			return req_fail_field(r, E_NOT_FOUND, "file_id", "File %s not found", f->id);
		f->version = (int)db_get_int(res, 0, "version", 1) + 1;
		f->folder = db_get(res, 0, "folder") ? arena_strdup(r->a, db_get(res, 0, "folder")) : NULL;
		if (!f->name)
			f->name = arena_strdup(r->a, db_get(res, 0, "filename"));
	}
	if (!f->name)
		return req_fail_field(r, E_VALIDATION, "filename",
				      "Name the file: a filename field or the part's filename");
	if ((rc = filename_check(r, f->name, "filename")))
		return rc;
	/* The name is checked; the rest of the form is checked as a patch. */
	f->name = arena_strdup(r->a, f->name);
	cJSON_DeleteItemFromObjectCaseSensitive(in, "filename");
	if ((rc = file_fields_check(r, in)))
		return rc;
	if ((rc = files_plan_file_limit(r, (long long)file->len)))
		return rc;
	f->size = (long long)file->len;
	return E_OK;
}

err_t files_upload(req_t *r)
{
	const char *ct = req_env(r, "CONTENT_TYPE");
	char *boundary = multipart_boundary(r->a, ct);
	if (!boundary)
		return req_fail(r, E_UNSUPPORTED_MEDIA,
				"Content-Type must be multipart/form-data with a boundary");
	const unsigned char *body;
	size_t len;
	err_t rc = body_get(r, &body, &len);
	if (rc)
		return rc;
	mp_part_t parts[MULTIPART_MAX_PARTS], *file;
	int n = 0;
	char err[128];
	if (multipart_parse(r->a, body, len, boundary, parts, &n, err, sizeof(err)))
		return req_fail(r, E_BAD_REQUEST, "%s", err);
	cJSON *in = req_own(r, cJSON_CreateObject());
	if ((rc = upload_form(r, parts, n, in, &file)))
		return rc;
	struct newfile f = { 0 };
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	if ((rc = upload_prepare(r, in, file, &f)) || (rc = files_quota_reserve(r, f.size)))
		return req_tx_end(r, rc);
	if (f.is_new) {
		char *id = arena_alloc(r->a, 48);
		id_new(id, 48, "file_");
		f.id = id;
	}
	char sha[65];
	sha256_hex(sha, file->data, file->len);
	f.sha = sha;
	f.mime = file_mime_detect(r, file->data, file->len);
	/* The bucket's rules, on the folder the file will be in. */
	const cJSON *fj = cJSON_GetObjectItemCaseSensitive(in, "folder");
	bool pub;
	if ((rc = bucket_enforce(r, fj ? (cJSON_IsString(fj) ? fj->valuestring : NULL) : f.folder,
				 f.mime, f.size, NULL, &pub)))
		return req_tx_end(r, rc);
	if (pub && f.is_new && !json_str_of(in, "access"))
		cJSON_AddStringToObject(in, "access", "public");
	char *key = storage_version_key(r->a, r->tenant.id, f.id, f.version);
	if (storage_put(r->a, key, file->data, file->len) != 0) {
		log_error("%s: cannot store %s: %m", r->request_id, key);
		return req_tx_end(r, req_fail(r, E_INTERNAL, "The file could not be stored"));
	}
	if ((rc = req_tx_end(r, upload_record(r, &f, in)))) {
		storage_remove(r->a, key);
		return rc;
	}
	if (!f.is_new)
		files_versions_prune(r, f.id, f.version);
	db_result *res;
	if ((rc = file_load(r, f.id, 0, &res)))
		return rc;
	if (!f.is_new)
		storage_remove_variants(r->a, r->tenant.id, f.id);
	file_publish(r, res, 0);
	reply_data(r, 201, file_json(r, res, 0));
	return E_OK;
}

/* ------------------------------------------------------------ presigned */

const field_t files_upload_url_body[] = {
	{ "filename", FT_STRING, FF_REQUIRED, 1, 255 },
	{ "mime_type", FT_STRING, 0, 1, 127 },
	{ "size_bytes", FT_INT, FF_REQUIRED, 1, (long long)1 << 50 },
	{ "checksum_sha256", FT_STRING, 0, 64, 64 },
	{ "access", FT_STRING, 0, 1, 16, file_access },
	{ "folder", FT_STRING, FF_NULLABLE, 0, 255 },
	{ "meta", FT_OBJECT, FF_NULLABLE, 0, 0 },
	{ "object_type_id", FT_STRING, FF_NULLABLE, 0, 40 },
	{ "object_id", FT_STRING, FF_NULLABLE, 0, 40 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t files_upload_complete_body[] = {
	{ "checksum_sha256", FT_STRING, 0, 64, 64 },
	{ NULL, 0, 0, 0, 0 },
};

static bool hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static char *lower(arena_t *a, const char *s)
{
	char *o = arena_strdup(a, s);
	for (char *p = o; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return o;
}

err_t files_upload_url(req_t *r)
{
	cJSON *in = r->json;
	long long size = (long long)cJSON_GetObjectItemCaseSensitive(in, "size_bytes")->valuedouble;
	long long max = (long long)g_config.files_max_presigned_mb * 1024 * 1024;
	const char *sum = json_str_of(in, "checksum_sha256");
	err_t rc;
	if (size > max)
		return req_fail_field(r, E_VALIDATION, "size_bytes",
				      "size_bytes must be at most %lld (%d MB)", max,
				      g_config.files_max_presigned_mb);
	if (sum && !hex64(sum))
		return req_fail_field(r, E_VALIDATION, "checksum_sha256",
				      "checksum_sha256 must be 64 hex digits");
	if ((rc = filename_check(r, json_str_of(in, "filename"), "filename")) ||
	    (rc = file_fields_check(r, in)) || (rc = files_plan_file_limit(r, size)))
		return rc;
	char id[48];
	id_new(id, sizeof(id), "file_");
	const char *hint = json_str_of(in, "mime_type") ? json_str_of(in, "mime_type")
						       : "application/octet-stream";
	const cJSON *folder = cJSON_GetObjectItemCaseSensitive(in, "folder");
	/* The bucket's rules on what is declared; the sniffed type is checked
	 * again at upload-complete. */
	bool pub;
	if ((rc = bucket_enforce(r, cJSON_IsString(folder) ? folder->valuestring : NULL,
				 json_str_of(in, "mime_type"), size, NULL, &pub)))
		return rc;
	const char *access = json_str_of(in, "access") ? json_str_of(in, "access")
						       : pub ? "public" : "private";
	if ((rc = req_tx_end(r, file_pending_create(r, id, in, hint, size, access, NULL))))
		return rc;
	long long expires = (long long)time(NULL) + g_config.files_upload_url_ttl;
	char token[64], when[RFC3339_LEN];
	files_sign(token, sizeof(token), "put", r->tenant.id, id, expires);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "file_id", id);
	cJSON_AddStringToObject(d, "r2_key", storage_version_key(r->a, r->tenant.id, id, 1));
	cJSON_AddStringToObject(d, "upload_endpoint", arena_printf(r->a,
		"%s/v1/files/%s/upload-put?token=%s&expires=%lld&t=%s", g_config.public_url, id, token,
		expires, r->tenant.id));
	cJSON_AddStringToObject(d, "upload_method", "PUT");
	cJSON_AddStringToObject(d, "expires_at", time_rfc3339(when, (time_t)expires));
	cJSON_AddNumberToObject(d, "max_bytes", (double)size);
	cJSON_AddStringToObject(d, "status", "pending");
	reply_data(r, 201, d);
	return E_OK;
}

enum db_status file_stale_job(req_t *r, const char *id)
{
	cJSON *payload = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(payload, "file_id", id);
	char job[40];
	return jobs_enqueue(r->db, r->a, r->tenant.id, "files.stale_cleanup", payload, 0,
			    (FILES_STALE_AFTER_S + 60) * 1000L, job);
}

err_t file_pending_create(req_t *r, const char *id, const cJSON *in, const char *hint,
			  long long size, const char *access, const char *tus_metadata)
{
	const cJSON *folder = cJSON_GetObjectItemCaseSensitive(in, "folder");
	const char *sum = json_str_of(in, "checksum_sha256");
	const char *owner = r->who.kind == PRINCIPAL_USER ? r->who.user_id : r->who.key_id;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	err_t rc = files_quota_reserve(r, size);
	if (rc)
		return rc;
	db_param p[] = {
		db_str(id), db_str(json_str_of(in, "filename")), db_str(hint),
		db_str(mime_category(hint)), db_int(size), db_str(access),
		db_str(cJSON_IsString(folder) ? folder->valuestring : NULL),
		db_str(req_json_text(r, cJSON_GetObjectItemCaseSensitive(in, "meta"))),
		db_str(json_str_of(in, "object_type_id")), db_str(json_str_of(in, "object_id")),
		db_int(size), db_str(sum ? lower(r->a, sum) : NULL), db_str(owner),
		tus_metadata ? db_int(0) : db_null(), db_int(tus_metadata != NULL),
		db_str(tus_metadata && *tus_metadata ? tus_metadata : NULL),
	};
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, filename, mime_type, category, size_bytes, access, status, folder, "
		"meta, object_type_id, object_id, version, stored_bytes, expected_sha256, created_by, "
		"upload_size, tus, tus_metadata, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, "
		"'pending', ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		files_table(r)), p, 16, NULL);
	if (!st)
		st = file_stale_job(r, id);
	return st ? req_db_error(r, st) : E_OK;
}

/* The row's tenant is the signed URL's t (loaded by the pipeline). */
err_t files_upload_put(req_t *r)
{
	const char *id = req_param(r, "file_id");
	const char *token = req_query(r, "token"), *exp = req_query(r, "expires");
	const char *t = req_query(r, "t");
	char *end = NULL;
	long long expires = exp ? strtoll(exp, &end, 10) : 0;
	if (!token || !t || !exp || !*exp || *end || !id_valid(t, "tn_") || !id_valid(id, "file_") ||
	    !files_sign_check(token, "put", t, id, expires))
		return req_fail(r, E_FORBIDDEN, "The upload URL is invalid or has expired");
	const unsigned char *body;
	size_t len;
	err_t rc;
	if ((rc = body_get(r, &body, &len)))
		return rc;
	db_result *res;
	if ((rc = file_load(r, id, FL_PENDING, &res)))
		return rc;
	if (strcmp(db_get(res, 0, "status"), "pending"))
		return req_fail(r, E_CONFLICT, "This upload is already complete");
	long long declared = db_get_int(res, 0, "size_bytes", 0);
	if (len == 0)
		return req_fail_field(r, E_VALIDATION, "file", "The body is empty");
	if ((long long)len > declared)
		return req_fail(r, E_PAYLOAD_TOO_LARGE, "The body is %zu bytes; %lld were declared",
				len, declared);
	char sha[65];
	sha256_hex(sha, body, len);
	const char *mime = file_mime_detect(r, body, len);
	char *key = storage_version_key(r->a, t, id, 1);
	if (storage_put(r->a, key, body, len) != 0) {
		log_error("%s: cannot store %s: %m", r->request_id, key);
		return req_fail(r, E_INTERNAL, "The file could not be stored");
	}
	db_param p[] = { db_int((long long)len), db_str(sha), db_str(mime), db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET upload_size = ?, upload_sha256 = ?, upload_mime = ?, "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND status = 'pending'", files_table(r)),
		p, 4, NULL);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "file_id", id);
	cJSON_AddNumberToObject(d, "received_bytes", (double)len);
	cJSON_AddStringToObject(d, "checksum_sha256", sha);
	cJSON_AddStringToObject(d, "mime_type", mime);
	cJSON_AddStringToObject(d, "status", "pending");
	reply_data(r, 200, d);
	return E_OK;
}

/* Checks what upload-put received against what upload-url declared. */
static err_t complete_check(req_t *r, const db_result *res)
{
	if (strcmp(db_get(res, 0, "status"), "pending"))
		return req_fail(r, E_CONFLICT, "This upload is already complete");
	const char *got = db_get(res, 0, "upload_size");
	if (!got)
		return req_fail(r, E_CONFLICT, "Nothing has been uploaded to this file yet");
	long long declared = db_get_int(res, 0, "size_bytes", 0), size = strtoll(got, NULL, 10);
	if (size != declared)
		return req_fail_field(r, E_VALIDATION, "size_bytes",
				      "Received %lld bytes but %lld were declared; upload again", size,
				      declared);
	const char *want = json_str_of(r->json, "checksum_sha256");
	if (!want)
		want = db_get(res, 0, "expected_sha256");
	if (want && !hex64(want))
		return req_fail_field(r, E_VALIDATION, "checksum_sha256",
				      "checksum_sha256 must be 64 hex digits");
	if (want && strcmp(lower(r->a, want), db_get(res, 0, "upload_sha256")))
		return req_fail_field(r, E_VALIDATION, "checksum_sha256",
				      "The uploaded content's SHA-256 is %s", db_get(res, 0, "upload_sha256"));
	return E_OK;
}

err_t file_pending_finish(req_t *r, const char *id, const db_result *res, const char *mime,
			  long long size, const char *sha)
{
	err_t rc = bucket_enforce(r, db_get(res, 0, "folder"), mime, size, id, NULL);
	if (rc)
		return rc;
	const char *owner = r->who.kind == PRINCIPAL_USER ? r->who.user_id : r->who.key_id;
	db_param p[] = { db_str(mime), db_str(mime_category(mime)), db_int(size), db_str(sha),
			 db_str(id) };
	db_param v[] = { db_str(id), db_str(db_get(res, 0, "filename")), db_str(mime), db_int(size),
			 db_str(sha), db_str(owner) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET status = 'ready', mime_type = ?, category = ?, upload_size = ?, "
		"checksum_sha256 = ?, updated_at = UTC_TIMESTAMP(3) WHERE id = ?", files_table(r)),
		p, 5, NULL);
	if (!st)
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"INSERT INTO %s (file_id, version, filename, mime_type, size_bytes, "
			"checksum_sha256, created_by, created_at) VALUES (?, 1, ?, ?, ?, ?, ?, "
			"UTC_TIMESTAMP(3))", file_versions_table(r)), v, 6, NULL);
	return st ? req_db_error(r, st) : file_event(r, "file.uploaded", id);
}

err_t files_upload_complete(req_t *r)
{
	const char *id = req_param(r, "file_id");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_result *res;
	err_t rc = file_load(r, id, FL_LOCK | FL_PENDING, &res);
	if (!rc)
		rc = complete_check(r, res);
	if (!rc)
		rc = file_pending_finish(r, id, res, db_get(res, 0, "upload_mime"),
					 db_get_int(res, 0, "upload_size", 0), db_get(res, 0, "upload_sha256"));
	if ((rc = req_tx_end(r, rc)))
		return rc;
	if ((rc = file_load(r, id, 0, &res)))
		return rc;
	file_publish(r, res, 0);
	reply_data(r, 200, file_json(r, res, 0));
	return E_OK;
}

/* ------------------------------------------------------------ stale uploads */

long long files_stale_cleanup(db_t *db, arena_t *a, const char *tenant_id, const char *db_name,
			      const char *file_id)
{
	db_result *res;
	db_param p[] = { db_str(file_id), db_str(file_id) };
	enum db_status st = db_exec(db, a, arena_printf(a,
		"SELECT id, stored_bytes FROM `%s`.`_files` WHERE status = 'pending' "
		"AND created_at < UTC_TIMESTAMP(3) - INTERVAL %d SECOND AND (? IS NULL OR id = ?) "
		"ORDER BY id LIMIT 1000", db_name, FILES_STALE_AFTER_S), p, 2, &res);
	if (st)
		return -1;
	long long cleaned = 0;
	for (int i = 0; i < res->nrows; i++) {
		const char *id = db_get(res, i, "id");
		db_result *del;
		db_param q[] = { db_str(id) };
		if (db_begin(db))
			return -1;
		st = db_exec(db, a, arena_printf(a, "DELETE FROM `%s`.`_files` WHERE id = ? "
						 "AND status = 'pending'", db_name), q, 1, &del);
		if (!st && del->affected)
			st = files_usage_release(db, a, tenant_id, db_get_int(res, i, "stored_bytes", 0));
		if (st) {
			db_rollback(db);
			return -1;
		}
		if (db_commit(db))
			return -1;
		if (del->affected) {
			storage_remove_file(a, tenant_id, id);
			cleaned++;
		}
	}
	return cleaned;
}

err_t files_stale(req_t *r)
{
	const char *id = req_param(r, "file_id");
	bool all = !strcmp(id, "all");
	db_result *res;
	err_t rc;
	if (!all && (rc = file_load(r, id, FL_ANY | FL_PENDING, &res)))
		return rc;
	/* An end user sweeps only their own uploads: one file at a time. */
	if (all && files_owner(r))
		return req_fail(r, E_FORBIDDEN, "End users clean up one upload at a time");
	long long n = files_stale_cleanup(r->db, r->a, r->tenant.id, r->tenant.db_name,
					  all ? NULL : id);
	if (n < 0) {
		log_error("%s: stale cleanup: %s", r->request_id, db_last_error(r->db));
		return req_fail(r, E_UNAVAILABLE, "The database is unavailable; try again shortly");
	}
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "cleaned", (double)n);
	reply_data(r, 200, d);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t files_upload_routes[] = {
	ROUTE("POST", "/v1/files/:file_id/upload-complete", "Files", AUTH_BEARER, "files", "files:write", R_USER, files_upload_complete, files_upload_complete_body, "Confirm presigned upload"),
	ROUTE("POST", "/v1/files/upload-url", "Files", AUTH_BEARER, "files", "files:write", R_USER, files_upload_url, files_upload_url_body, "Get presigned upload URL"),
	ROUTE("POST", "/v1/files/:file_id/stale-cleanup", "Files", AUTH_BEARER, "files", "files:write", R_USER, files_stale, NULL, "Clean stale uploads"),
	ROUTE("POST", "/v1/files/upload", "Files", AUTH_BEARER, "files", "files:write", R_USER, files_upload, NULL, "Upload file"),
	ROUTE_T("POST", "/v1/files/:file_id/upload-put", "Files", AUTH_NONE, "", NULL, 0, files_upload_put, NULL, "Upload file content to presigned slot", TENANT_SIGNED, BODY_MAX_CONFIG),
	ROUTES_END,
};
