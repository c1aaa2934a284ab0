/*
 * files.h - what the Files handlers share (files.c: metadata, trash, batch,
 * folders, search, stats; files_upload.c: direct and presigned uploads;
 * files_serve.c: downloads, signed URLs, image variants; files_jobs.c: the
 * runner's purge and stale-upload tasks).
 */
#ifndef TESSERA_FILES_H
#define TESSERA_FILES_H

#include <stdbool.h>

#include <cJSON.h>

#include "../common/db.h"
#include "../fcgi/request.h"

/* Columns of _files every handler reads (FILE_COLS), unqualified. */
#define FILE_COLS \
	"id, filename, mime_type, category, size_bytes, checksum_sha256, access, status, " \
	"folder, meta, object_type_id, object_id, version, created_by, created_at, " \
	"updated_at, is_deleted, deleted_at, stored_bytes, upload_size, upload_sha256, " \
	"upload_mime, expected_sha256"

/* How file_load finds a file. */
enum {
	FL_LOCK = 1 << 0,      /* SELECT … FOR UPDATE (inside a transaction) */
	FL_DELETED = 1 << 1,   /* the file must be in the trash */
	FL_ANY = 1 << 2,       /* deleted or not */
	FL_PENDING = 1 << 3,   /* pending files too (else only ready ones) */
};

/* `tenantdb`.`_files` and `tenantdb`.`_file_versions`. */
const char *files_table(req_t *r);
const char *file_versions_table(req_t *r);
/* The end user whose own files are the only ones visible, or NULL for an
 * API key (which sees the tenant's every file). */
const char *files_owner(req_t *r);

/* One file of the tenant (and owner); 404 NOT_FOUND otherwise. */
err_t file_load(req_t *r, const char *id, unsigned how, db_result **res);
/* Renders row of res (FILE_COLS) as the API shows a file. */
cJSON *file_json(req_t *r, const db_result *res, int row);
/* Re-reads file id and writes the outbox event with its JSON. */
err_t file_event(req_t *r, const char *event, const char *id);

/*
 * Validates the writable members present in in: filename, access, folder,
 * meta, object_type_id/object_id (both or neither; the object must exist).
 * 400 VALIDATION_ERROR naming the field.
 */
err_t file_fields_check(req_t *r, const cJSON *in);
/* What a file's access may be: "private", "public" (NULL-ended). */
extern const char *const file_access[];
/* The filename rules alone (field names the error's field). */
/* Whether f is a folder path: names of letters, digits, space, _ . -
 * separated by single /, at most 255 bytes. */
bool file_folder_valid(const char *f);
/*
 * The rules of the bucket folder falls in (the longest bucket name equal
 * to it or a parent of it), for mime bytes of size more: the allowed MIME
 * types, the file size and the bucket's total (its live files' stored
 * bytes, without file exclude_id, plus size).  A broken rule is a 400
 * naming it.  *is_public (when not NULL) receives the bucket's default
 * access.
 */
err_t bucket_enforce(req_t *r, const char *folder, const char *mime, long long size,
		     const char *exclude_id, bool *is_public);
err_t filename_check(req_t *r, const char *name, const char *field);

/* image video audio document archive other, from a MIME type. */
const char *mime_category(const char *mime);

/* Adds bytes to the tenant's used storage unless the plan's quota would be
 * exceeded (403 QUOTA_EXCEEDED), in the open transaction. */
/* Parses a version number of a file from text (a path or query value);
 * 400 naming "version" otherwise. */
err_t file_version_param(req_t *r, const char *text, long long *v);
err_t files_quota_reserve(req_t *r, long long bytes);
/* Refuses a single file above the plan's max_file_size_bytes (403). */
err_t files_plan_file_limit(req_t *r, long long bytes);
/* Gives bytes back (purges, abandoned uploads). */
enum db_status files_usage_release(db_t *db, arena_t *a, const char *tenant_id, long long bytes);

/* A pending upload still pending this long after its creation is removed
 * (its quota returned) by the runner's files.stale_cleanup. */
#define FILES_STALE_AFTER_S 86400
/* Opens the transaction, reserves size bytes of quota and inserts the
 * pending file id with in's fields (filename, folder, meta, the object
 * link, checksum_sha256), type hint and access, and queues its cleanup;
 * tus_metadata non-NULL makes it a tus upload (files_tus.c).  The caller
 * ends the transaction. */
err_t file_pending_create(req_t *r, const char *id, const cJSON *in, const char *hint,
			  long long size, const char *access, const char *tus_metadata);
/* Queues that cleanup for pending file id, in the open transaction. */
enum db_status file_stale_job(req_t *r, const char *id);

/* The content's MIME type by libmagic (one handle per worker). */
const char *file_mime_detect(req_t *r, const unsigned char *data, size_t len);
/* Makes a pending upload (res row 0, locked in the open transaction) the
 * ready file version 1 with what was received: the bucket's rules on the
 * sniffed type, the row, the version row and file.uploaded. */
err_t file_pending_finish(req_t *r, const char *id, const db_result *res, const char *mime,
			  long long size, const char *sha);

/* After a new version `current` of file id is committed: deletes the
 * versions beyond the tenant's governance files_keep_versions (0: keep all),
 * oldest first, freeing their bytes and quota.  Best effort (logged). */
void files_versions_prune(req_t *r, const char *id, long long current);

/* UPDATEs the writable members present in in (validated) on file id. */
err_t file_set_fields(req_t *r, const char *id, const cJSON *in);
/* Content-Disposition (RFC 6266) for a download of res row 0: attachment,
 * or inline when asked and the type is safe to display (file_inline_safe). */
void files_download_headers(req_t *r, const db_result *res, bool inline_);
/* Whether ?download=false or ?disposition=inline asks for inline. */
err_t file_inline_asked(req_t *r, bool *inline_);
/* Types a browser may render on the API's origin: raster images, PDF, plain
 * text (served with nosniff), audio and video; never HTML or SVG. */
bool file_inline_safe(const char *mime);

/* Makes the stored current version servable by nginx (meta, links). */
void file_publish(req_t *r, const db_result *res, int row);
/* Writes what nginx needs to serve an older version by a signed URL
 * (`meta.<version>`, from row's filename and mime_type).  0 or -1. */
int file_publish_version(req_t *r, const char *id, int version, const db_result *row);

/* HMAC-SHA256 token (base64url) over "<purpose>\n<tenant>\n<file>\n<expires>"
 * with the files signing key (see files_serve.c). out >= 44 bytes. */
void files_sign(char *out, size_t outlen, const char *purpose, const char *tenant,
		const char *file_id, long long expires);
/* Checks such a token in constant time (and that expires is in the future). */
bool files_sign_check(const char *token, const char *purpose, const char *tenant,
		      const char *file_id, long long expires);

/* Removes the tenant's pending uploads older than 24 h (one file when
 * file_id is not NULL); returns how many, or -1 on a database error. */
long long files_stale_cleanup(db_t *db, arena_t *a, const char *tenant_id, const char *db_name,
			      const char *file_id);

#endif
