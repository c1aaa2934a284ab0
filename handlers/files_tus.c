/*
 * files_tus.c - resumable uploads with the tus 1.0.0 protocol
 * (https://tus.io/protocols/resumable-upload: core, creation, expiration,
 * checksum and termination) at /v1/files/uploads/tus, as Supabase Storage
 * and Cloudflare offer them.
 *
 * An upload is a pending file, as a presigned upload is, marked tus = 1.
 * Creation reserves the quota of Upload-Length and queues the stale
 * cleanup that expires the upload 24 h later (FILES_STALE_AFTER_S).  Each
 * PATCH carries a chunk that nginx has buffered to a file
 * (nginx/tessera-locations.conf.in); under the row's lock the worker
 * checks Upload-Offset against the offset the row holds and copies the
 * chunk file onto the version-1 bytes in the kernel (copy_file_range),
 * never holding it in memory.  The chunk that reaches Upload-Length
 * completes the file exactly as upload-complete does (sniffed type,
 * SHA-256, bucket rules, file.uploaded).  OPTIONS (discovery) is answered
 * by nginx.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/schema.h"
#include "../common/storage.h"
#include "../common/timefmt.h"
#include "files.h"
#include "routes.h"

#define TUS_VERSION "1.0.0"
#define METADATA_MAX 4096

/* ------------------------------------------------------------ headers */

/* Upload-Expires: the IMF-fixdate (RFC 9110) FILES_STALE_AFTER_S after the
 * upload's creation. */
static const char *expires_at(req_t *r, const db_result *res)
{
	struct tm tm = { 0 };
	const char *c = db_get(res, 0, "created_at");
	time_t t = (c && strptime(c, "%Y-%m-%d %H:%M:%S", &tm) ? timegm(&tm) : time(NULL)) +
		   FILES_STALE_AFTER_S;
	char *out = arena_alloc(r->a, 40);
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&t, &tm));
	return out;
}

/* Every answer but OPTIONS carries Tus-Resumable; a request without the
 * version we speak is 412 with the versions we do. */
static err_t tus_begin(req_t *r)
{
	reply_header(r, "Tus-Resumable", TUS_VERSION);
	const char *v = req_env(r, "HTTP_TUS_RESUMABLE");
	if (v && !strcmp(v, TUS_VERSION))
		return E_OK;
	reply_header(r, "Tus-Version", TUS_VERSION);
	return req_fail_field(r, E_PRECONDITION_FAILED, "Tus-Resumable",
			      "Tus-Resumable must be %s", TUS_VERSION);
}

/* A non-negative integer header; -1 when absent, -2 when malformed. */
static long long header_size(req_t *r, const char *env)
{
	const char *v = req_env(r, env);
	if (!v)
		return -1;
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || n < 0 || errno || v[0] == '+' || v[0] == ' ')
		return -2;
	return n;
}

/*
 * Upload-Metadata: "key base64value" pairs joined by commas (a value may
 * be absent).  The keys Tessera reads: filename (or name), filetype (or
 * contentType, type), folder and access; others are kept and given back
 * on HEAD.  Each value must be base64 of UTF-8.
 */
static err_t metadata_parse(req_t *r, const char *text, cJSON *in, const char **type)
{
	static const struct { const char *key, *field; } known[] = {
		{ "filename", "filename" }, { "name", "filename" }, { "folder", "folder" },
		{ "access", "access" }, { "filetype", NULL }, { "contentType", NULL }, { "type", NULL },
	};
	if (strlen(text) > METADATA_MAX)
		return req_fail_field(r, E_VALIDATION, "Upload-Metadata",
				      "Upload-Metadata must be at most %d bytes", METADATA_MAX);
	char *copy = arena_strdup(r->a, text), *save;
	for (char *pair = strtok_r(copy, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
		while (*pair == ' ')
			pair++;
		char *sp = strchr(pair, ' ');
		const char *b64 = sp ? sp + 1 : "";
		if (sp)
			*sp = '\0';
		size_t n = strlen(b64), got = 0;
		unsigned char *val = arena_alloc(r->a, n + 1);
		if (!*pair ||
		    sodium_base642bin(val, n + 1, b64, n, NULL, &got, NULL,
				      sodium_base64_VARIANT_ORIGINAL) ||
		    utf8_bad_at(val, got) < got || memchr(val, 0, got))
			return req_fail_field(r, E_VALIDATION, "Upload-Metadata",
					      "Upload-Metadata: the value of '%.64s' is not base64 of "
					      "UTF-8 text", pair);
		val[got] = '\0';
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (strcmp(pair, known[i].key))
				continue;
			if (!known[i].field)
				*type = (char *)val;
			else if (!cJSON_GetObjectItemCaseSensitive(in, known[i].field))
				cJSON_AddStringToObject(in, known[i].field, (char *)val);
		}
	}
	return E_OK;
}

/* ------------------------------------------------------------ creation */

err_t files_tus_create(req_t *r)
{
	err_t rc = tus_begin(r);
	if (rc)
		return rc;
	if (req_env(r, "HTTP_UPLOAD_DEFER_LENGTH"))
		return req_fail_field(r, E_VALIDATION, "Upload-Defer-Length",
				      "Uploads of unknown length are not supported: send Upload-Length");
	long long size = header_size(r, "HTTP_UPLOAD_LENGTH");
	long long max = (long long)g_config.files_max_presigned_mb * 1024 * 1024;
	if (size < 0)
		return req_fail_field(r, E_VALIDATION, "Upload-Length",
				      "Upload-Length must be the upload's size in bytes");
	if (size > max)
		return req_fail_field(r, E_PAYLOAD_TOO_LARGE, "Upload-Length",
				      "Upload-Length must be at most %lld (%d MB)", max,
				      g_config.files_max_presigned_mb);
	cJSON *in = req_own(r, cJSON_CreateObject());
	const char *meta = req_env(r, "HTTP_UPLOAD_METADATA"), *type = NULL;
	if (meta && (rc = metadata_parse(r, meta, in, &type)))
		return rc;
	if (!cJSON_GetObjectItemCaseSensitive(in, "filename"))
		cJSON_AddStringToObject(in, "filename", "upload");
	if ((rc = filename_check(r, json_str_of(in, "filename"), "filename")) ||
	    (rc = file_fields_check(r, in)) || (rc = files_plan_file_limit(r, size)))
		return rc;
	const char *folder = json_str_of(in, "folder");
	bool pub;
	if ((rc = bucket_enforce(r, folder, type, size, NULL, &pub)))
		return rc;
	const char *access = json_str_of(in, "access") ? json_str_of(in, "access")
						       : pub ? "public" : "private";
	const char *hint = type && strchr(type, '/') && strlen(type) < 128 ? type
								      : "application/octet-stream";
	char id[48];
	id_new(id, sizeof(id), "file_");
	if ((rc = file_pending_create(r, id, in, hint, size, access, meta ? meta : "")))
		return req_tx_end(r, rc);
	const char *key = storage_version_key(r->a, r->tenant.id, id, 1);
	if (storage_put_local(r->a, key, "", 0)) {
		log_error("%s: cannot create %s: %m", r->request_id, key);
		return req_tx_end(r, req_fail(r, E_INTERNAL, "The upload could not be created"));
	}
	if ((rc = req_tx_end(r, E_OK))) {
		storage_remove_file(r->a, r->tenant.id, id);
		return rc;
	}
	db_result *res;
	if ((rc = file_load(r, id, FL_PENDING, &res)))
		return rc;
	const char *url = arena_printf(r->a, "%s/v1/files/uploads/tus/%s", g_config.public_url, id);
	reply_header(r, "Location", url);
	reply_header(r, "Upload-Expires", expires_at(r, res));
	reply_header(r, "Upload-Offset", "0");
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "file_id", id);
	cJSON_AddStringToObject(d, "upload_url", url);
	cJSON_AddNumberToObject(d, "upload_length", (double)size);
	cJSON_AddNumberToObject(d, "upload_offset", 0);
	cJSON_AddStringToObject(d, "status", "pending");
	reply_data(r, 201, d);
	return E_OK;
}

/* ------------------------------------------------------------ one upload */

/* The caller's tus upload named in the path (a pending or completed file
 * made by files_tus_create); 404 otherwise. */
static err_t upload_load(req_t *r, unsigned how, db_result **res)
{
	const char *id = req_param(r, "upload_id");
	err_t rc = file_load(r, id, how | FL_PENDING, res);
	if (rc)
		return rc;
	db_result *t;
	db_param p[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT tus, tus_metadata "
		"FROM %s WHERE id = ?", files_table(r)), p, 1, &t);
	if (st)
		return req_db_error(r, st);
	if (t->nrows == 0 || db_get_int(t, 0, "tus", 0) != 1)
		return req_fail(r, E_NOT_FOUND, "No such tus upload");
	if (db_get(t, 0, "tus_metadata"))
		reply_header(r, "Upload-Metadata", db_get(t, 0, "tus_metadata"));
	return E_OK;
}

/* Opens the transaction and locks the upload; on failure the transaction
 * is over and the reply made. */
static err_t upload_lock(req_t *r, db_result **res)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	err_t rc = upload_load(r, FL_LOCK, res);
	return rc ? req_tx_end(r, rc) : E_OK;
}

static bool pending(const db_result *res)
{
	return !strcmp(db_get(res, 0, "status"), "pending");
}

static long long offset_of(const db_result *res)
{
	return pending(res) ? db_get_int(res, 0, "upload_size", 0)
			    : db_get_int(res, 0, "size_bytes", 0);
}

/* HEAD (and GET, which also answers the state as JSON): where to resume. */
err_t files_tus_status(req_t *r)
{
	db_result *res;
	err_t rc = tus_begin(r);
	if (rc || (rc = upload_load(r, 0, &res)))
		return rc;
	char n[24];
	snprintf(n, sizeof(n), "%lld", offset_of(res));
	reply_header(r, "Upload-Offset", n);
	snprintf(n, sizeof(n), "%lld", db_get_int(res, 0, "size_bytes", 0));
	reply_header(r, "Upload-Length", n);
	if (pending(res))
		reply_header(r, "Upload-Expires", expires_at(r, res));
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "file_id", db_get(res, 0, "id"));
	cJSON_AddNumberToObject(d, "upload_length", (double)db_get_int(res, 0, "size_bytes", 0));
	cJSON_AddNumberToObject(d, "upload_offset", (double)offset_of(res));
	cJSON_AddStringToObject(d, "status", db_get(res, 0, "status"));
	reply_data(r, 200, d);
	return E_OK;
}

/*
 * Upload-Checksum: "<algorithm> <base64 digest>" of the chunk (the
 * checksum extension): sha1 (which the protocol requires), sha256, sha512
 * and md5.  A digest that does not match is 460 and the chunk is dropped.
 */
static err_t checksum_check(req_t *r, const unsigned char *data, size_t len)
{
	const char *h = req_env(r, "HTTP_UPLOAD_CHECKSUM");
	if (!h)
		return E_OK;
	char algo[16];
	const char *sp = strchr(h, ' ');
	if (!sp || sp == h || (size_t)(sp - h) >= sizeof(algo))
		return req_fail_field(r, E_VALIDATION, "Upload-Checksum",
				      "Upload-Checksum must be '<algorithm> <base64 digest>'");
	memcpy(algo, h, (size_t)(sp - h));
	algo[sp - h] = '\0';
	const EVP_MD *md = !strcmp(algo, "sha1") ? EVP_sha1() : !strcmp(algo, "sha256") ? EVP_sha256()
			 : !strcmp(algo, "sha512") ? EVP_sha512() : !strcmp(algo, "md5") ? EVP_md5()
			 : NULL;
	if (!md) {
		reply_header(r, "Tus-Checksum-Algorithm", "sha1,sha256,sha512,md5");
		return req_fail_field(r, E_VALIDATION, "Upload-Checksum",
				      "Upload-Checksum algorithm must be sha1, sha256, sha512 or md5");
	}
	unsigned char want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	unsigned int got_len = 0;
	size_t want_len = 0;
	if (sodium_base642bin(want, sizeof(want), sp + 1, strlen(sp + 1), NULL, &want_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL))
		return req_fail_field(r, E_VALIDATION, "Upload-Checksum",
				      "Upload-Checksum's digest must be base64");
	if (!EVP_Digest(data, len, got, &got_len, md, NULL))
		return req_fail(r, E_INTERNAL, "The checksum could not be computed");
	if (want_len != got_len || memcmp(want, got, got_len))
		return req_fail_field(r, E_CHECKSUM_MISMATCH, "Upload-Checksum",
				      "The chunk's %s digest does not match Upload-Checksum", algo);
	return E_OK;
}

/* Writes the chunk file at offset of the bytes at path (dropping anything
 * beyond offset an interrupted earlier chunk left), in the kernel. */
static int append_chunk(const char *path, long long offset, const char *chunk, size_t len)
{
	int out = open(path, O_WRONLY | O_CLOEXEC);
	if (out < 0)
		return -1;
	int in = len ? open(chunk, O_RDONLY | O_CLOEXEC) : -1;
	int rc = (len && in < 0) || ftruncate(out, offset) ? -1 : 0;
	loff_t at = offset;
	for (size_t done = 0; !rc && done < len;) {
		ssize_t n = copy_file_range(in, NULL, out, &at, len - done, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rc = -1;
		else
			done += (size_t)n;
	}
	if (!rc)
		rc = fsync(out);
	if (in >= 0)
		close(in);
	if (close(out))
		rc = -1;
	return rc;
}

err_t files_tus_patch(req_t *r)
{
	err_t rc = tus_begin(r);
	if (rc)
		return rc;
	const char *ct = req_env(r, "CONTENT_TYPE");
	if (!ct || strcmp(ct, "application/offset+octet-stream"))
		return req_fail(r, E_UNSUPPORTED_MEDIA,
				"Content-Type must be application/offset+octet-stream");
	long long offset = header_size(r, "HTTP_UPLOAD_OFFSET");
	if (offset < 0)
		return req_fail_field(r, E_VALIDATION, "Upload-Offset",
				      "Upload-Offset must be the byte offset this chunk starts at");
	const char *chunk = req_env(r, "TESSERA_BODY_FILE");
	const unsigned char *data = (const unsigned char *)"";
	size_t len = 0;
	if (chunk && *chunk && storage_map(r->a, chunk, &data, &len)) {
		log_error("%s: cannot read the buffered chunk %s", r->request_id, chunk);
		return E_INTERNAL;
	}
	if ((rc = checksum_check(r, data, len)))
		return rc;
	db_result *res;
	if ((rc = upload_lock(r, &res)))
		return rc;
	const char *id = db_get(res, 0, "id");
	long long have = db_get_int(res, 0, "upload_size", 0);
	long long length = db_get_int(res, 0, "size_bytes", 0);
	if (!pending(res))
		return req_tx_end(r, req_fail(r, E_CONFLICT, "This upload is already complete"));
	if (offset != have)
		return req_tx_end(r, req_fail_field(r, E_CONFLICT, "Upload-Offset",
			"Upload-Offset is %lld but the upload is at %lld: ask with HEAD and resume "
			"there", offset, have));
	if ((long long)len > length - have)
		return req_tx_end(r, req_fail(r, E_PAYLOAD_TOO_LARGE, "The chunk goes %lld bytes "
			"past Upload-Length (%lld)", have + (long long)len - length, length));
	char *path = storage_path(r->a, storage_version_key(r->a, r->tenant.id, id, 1));
	if (append_chunk(path, offset, chunk, len)) {
		log_error("%s: cannot append to %s: %m", r->request_id, path);
		return req_tx_end(r, req_fail(r, E_INTERNAL, "The chunk could not be stored"));
	}
	long long now = have + (long long)len;
	db_param p[] = { db_int(now), db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "UPDATE %s SET upload_size = ?, "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ?", files_table(r)), p, 2, NULL);
	rc = st ? req_db_error(r, st) : E_OK;
	bool done = !rc && now == length;
	if (done) {
		const unsigned char *all;
		size_t n;
		char sha[65];
		if (storage_map(r->a, path, &all, &n) || (long long)n != length) {
			log_error("%s: %s is not %lld bytes after the last chunk", r->request_id, path,
				  length);
			rc = req_fail(r, E_INTERNAL, "The upload could not be completed");
		} else {
			sha256_hex(sha, all, n);
			rc = file_pending_finish(r, id, res, file_mime_detect(r, all, n), length, sha);
		}
		/* The bytes reach the bucket (S3) before the file is ready. */
		if (!rc && storage_promote(r->a, storage_version_key(r->a, r->tenant.id, id, 1)))
			rc = req_fail(r, E_INTERNAL, "The upload could not be stored");
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	char off[24];
	snprintf(off, sizeof(off), "%lld", now);
	reply_header(r, "Upload-Offset", off);
	if (done && !file_load(r, id, 0, &res))
		file_publish(r, res, 0);
	else if (!done)
		reply_header(r, "Upload-Expires", expires_at(r, res));
	reply_raw(r, 204, NULL, "", 0);
	return E_OK;
}

/* Termination: an unfinished upload and its bytes go, its quota back. */
err_t files_tus_delete(req_t *r)
{
	err_t rc = tus_begin(r);
	if (rc)
		return rc;
	db_result *res;
	if ((rc = upload_lock(r, &res)))
		return rc;
	const char *id = db_get(res, 0, "id");
	if (!pending(res))
		return req_tx_end(r, req_fail(r, E_CONFLICT, "This upload is complete: delete the file "
					      "with DELETE /v1/files/%s", id));
	db_param p[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE id = ? AND "
		"status = 'pending'", files_table(r)), p, 1, NULL);
	if (!st)
		st = files_usage_release(r->db, r->a, r->tenant.id,
					 db_get_int(res, 0, "stored_bytes", 0));
	if ((rc = req_tx_end(r, st ? req_db_error(r, st) : E_OK)))
		return rc;
	storage_remove_file(r->a, r->tenant.id, id);
	reply_raw(r, 204, NULL, "", 0);
	return E_OK;
}

/* The endpoints this file serves (Tessera's own); routes.c assembles the
 * table from every file's rows.  GET answers HEAD too. */
const route_t files_tus_routes[] = {
	ROUTE("POST", "/v1/files/uploads/tus", "Files", AUTH_BEARER, "files", "files:write", R_USER | R_EXTENSION, files_tus_create, NULL, "Create a resumable (tus) upload"),
	ROUTE("GET", "/v1/files/uploads/tus/:upload_id", "Files", AUTH_BEARER, "files", "files:write", R_USER | R_EXTENSION, files_tus_status, NULL, "Offset of a resumable (tus) upload"),
	ROUTE("PATCH", "/v1/files/uploads/tus/:upload_id", "Files", AUTH_BEARER, "files", "files:write", R_USER | R_EXTENSION, files_tus_patch, NULL, "Append a chunk to a resumable (tus) upload"),
	ROUTE("DELETE", "/v1/files/uploads/tus/:upload_id", "Files", AUTH_BEARER, "files", "files:write", R_USER | R_EXTENSION, files_tus_delete, NULL, "Terminate a resumable (tus) upload"),
	ROUTES_END,
};
