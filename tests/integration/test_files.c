/*
 * test_files.c - the Files group through nginx: direct and presigned
 * uploads, downloads streamed by nginx (bearer, signed, public), image
 * variants measured with vipsheader, metadata, versions, trash, batch,
 * search, folders, stats, quota, stale uploads and the purge job, and the
 * signed URL served while the FastCGI pool is down.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

Suite *suite_files(void);

/* ------------------------------------------------------------ helpers */

struct field {
	const char *name, *value;
};

/* A multipart/form-data body: the file part (when data is not NULL, named
 * "file" with the given part filename) and text fields; malloc'd. */
static char *form(const char *filename, const char *data, size_t len, const struct field *fields,
		  size_t *out_len)
{
	static const char *b = "tesseraBoundary7MA4YWxk";
	size_t cap = len + 4096, n = 0;
	char *body = malloc(cap);
	for (const struct field *f = fields; f && f->name; f++)
		n += (size_t)snprintf(body + n, cap - n, "--%s\r\nContent-Disposition: form-data; "
				      "name=\"%s\"\r\n\r\n%s\r\n", b, f->name, f->value);
	if (data) {
		n += (size_t)snprintf(body + n, cap - n, "--%s\r\nContent-Disposition: form-data; "
				      "name=\"file\"; filename=\"%s\"\r\nContent-Type: image/png\r\n\r\n",
				      b, filename);
		memcpy(body + n, data, len);
		n += len;
		n += (size_t)snprintf(body + n, cap - n, "\r\n");
	}
	n += (size_t)snprintf(body + n, cap - n, "--%s--\r\n", b);
	*out_len = n;
	return body;
}

static http_resp *upload(const char *key, const char *filename, const char *data, size_t len,
			 const struct field *fields)
{
	size_t n;
	char *body = form(filename, data, len, fields, &n);
	http_resp *r = http_req("POST", "/v1/files/upload", key,
				"multipart/form-data; boundary=tesseraBoundary7MA4YWxk", body, n, NULL);
	free(body);
	return r;
}

/* Uploads text content and returns the new file's id (malloc'd). */
static char *file_make(const char *key, const char *filename, const char *text,
		       const struct field *fields)
{
	http_resp *r = upload(key, filename, text, strlen(text), fields);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

/* The bytes of an image made by the vips CLI (format from the suffix). */
/* The bytes of the file at path (malloc'd, *len), which is then removed;
 * path is freed. */
static char *file_take(char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	ck_assert(f != NULL);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc(*len);
	ck_assert(fread(buf, 1, *len, f) == *len);
	fclose(f);
	unlink(path);
	free(path);
	return buf;
}

static char *image_bytes(const char *suffix, int w, int h, size_t *len)
{
	int rc;
	char *path = strf("/tmp/tessera-files-%d%s", (int)getpid(), suffix);
	char *out = run_cmd(&rc, "vips black /tmp/tessera-files-%d.v %d %d --bands 3 && "
			    "vips linear /tmp/tessera-files-%d.v %s 1 120 --uchar 2>&1", (int)getpid(), w, h,
			    (int)getpid(), path);
	ck_assert_msg(rc == 0, "vips: %s", out);
	free(out);
	return file_take(path, len);
}

/* What the vips command line (an independent reader) prints for an image
 * body: cmd has one %s for the image's path ("vipsheader -f width %s"). */
static char *vips_read(const http_resp *r, const char *cmd)
{
	char *path = strf("/tmp/tessera-variant-%d", (int)getpid());
	FILE *f = fopen(path, "wb");
	ck_assert(f != NULL);
	fwrite(r->body, 1, r->body_len, f);
	fclose(f);
	int rc;
	char *out = run_cmd(&rc, cmd, path, path);
	unlink(path);
	free(path);
	ck_assert_msg(rc == 0, "%s: %s", cmd, out);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* "WxH" of an image body. */
static char *vips_size(const http_resp *r)
{
	return vips_read(r, "echo $(vipsheader -f width %s)x$(vipsheader -f height %s)");
}

/* The mean of an image body's pixels (0 black .. 255 white). */
static double vips_mean(const http_resp *r)
{
	char *out = vips_read(r, "vips avg %s");
	double v = atof(out);
	free(out);
	return v;
}

/* An image made by a shell command writing to %1$s (its path). */
static char *image_made(const char *cmd, size_t *len)
{
	int rc;
	char *path = strf("/tmp/tessera-made-%d.png", (int)getpid());
	char *out = run_cmd(&rc, cmd, path);
	ck_assert_msg(rc == 0, "%s: %s", cmd, out);
	free(out);
	return file_take(path, len);
}

static const char *path_of(const char *url)
{
	const char *p = strstr(url, "://");
	ck_assert(p != NULL);
	p = strchr(p + 3, '/');
	ck_assert(p != NULL);
	return p;
}

static char *signed_url(const char *key, const char *id, int ttl)
{
	char *body = strf("{\"expires_in\":%d}", ttl);
	http_resp *r = call("POST", key, body, "/v1/files/%s/signed-url", id);
	free(body);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "ttl", strf("%d", ttl));
	ck_assert(is_utc_time(json_str(resp_data(r), "expires_at")));
	char *url = strdup(path_of(json_str(resp_data(r), "url")));
	http_free(r);
	return url;
}

/* A download token made outside the app: HMAC-SHA256 with openssl, the key
 * derived from master_key as the README documents. */
static char *token_for(const char *tenant, const char *id, long long expires)
{
	char *master = conf_value("master_key");
	int rc;
	char *out = run_cmd(&rc,
		"k=$(printf '%%s' 'tessera files signed-url v1' | openssl dgst -sha256 -mac HMAC "
		"-macopt hexkey:%s | sed 's/^.*= *//'); printf 'get\\n%s\\n%s\\n%lld' | "
		"openssl dgst -sha256 -mac HMAC -macopt \"key:$k\" -binary | base64 | tr '+/' '-_' | tr -d '=\\n'",
		master, tenant, id, expires);
	ck_assert_msg(rc == 0, "openssl: %s", out);
	free(master);
	return out;
}

static char *tenant_db(const char *tenant)
{
	char *sql = strf("SELECT db_name FROM tenants WHERE id='%s'", tenant);
	char *db = control_sql(sql);
	free(sql);
	return db;
}

/* One value from the tenant's data DB. */
static char *tenant_sql(const char *tenant, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *tenant_sql(const char *tenant, const char *fmt, ...)
{
	char *db = tenant_db(tenant), *q;
	va_list ap;
	va_start(ap, fmt);
	ck_assert(vasprintf(&q, fmt, ap) >= 0);
	va_end(ap);
	char *sql = strf("USE %s; %s", db, q);
	char *out = control_sql(sql);
	free(sql);
	free(q);
	free(db);
	return out;
}

static long long used_storage(const char *key)
{
	http_resp *r = http_get("/v1/usage", key);
	assert_envelope(r, 200, NULL);
	long long v = (long long)item(resp_data(r), "used_storage_bytes")->valuedouble;
	http_free(r);
	return v;
}

static int search_total(const char *key, const char *body)
{
	http_resp *r = http_json("POST", "/v1/files/search", key, body);
	assert_envelope(r, 200, NULL);
	int n = (int)item(resp_data(r), "total")->valuedouble;
	http_free(r);
	return n;
}

static bool storage_has(const char *tenant, const char *rel)
{
	char *p = strf("%s/storage/%s/files/%s", stack_dir(), tenant, rel);
	struct stat sb;
	bool ok = stat(p, &sb) == 0;
	free(p);
	return ok;
}

/* ------------------------------------------------------------ uploads */

START_TEST(upload_detects_mime_from_content_records_sha256_and_emits_file_uploaded)
{
	struct tenant t;
	tenant_make(&t);
	long long before = used_storage(t.key);
	struct field f[] = { { "folder", "docs/2026" }, { "meta", "{\"owner\":\"ann\"}" },
			     { "access", "private" }, { NULL, NULL } };
	/* The part claims image/png; the bytes are text. */
	http_resp *r = upload(t.key, "notes.png", "plain words\n", 12, f);
	assert_envelope(r, 201, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_str_eq(json_str(d, "mime_type"), "text/plain");
	ck_assert_str_eq(json_str(d, "category"), "document");
	ck_assert_str_eq(json_str(d, "filename"), "notes.png");
	ck_assert_str_eq(json_str(d, "folder"), "docs/2026");
	ck_assert_str_eq(json_str(d, "status"), "ready");
	assert_json_eq(d, "size_bytes", "12");
	assert_json_eq(d, "version", "1");
	assert_json_eq(d, "meta", "{\"owner\":\"ann\"}");
	/* where the bytes lie is the server's business */
	ck_assert_msg(!cJSON_GetObjectItemCaseSensitive(d, "storage_key"), "storage_key exposed: %s", r->body);
	/* sha256sum of "plain words\n" */
	ck_assert_str_eq(json_str(d, "checksum_sha256"),
			 "7e7c22e739587dff41c64bd42309ff5146dcd2d30b7fd712ca9c7c65d8d94c42");
	char *id = strdup(json_str(d, "id"));
	ck_assert(storage_has(t.id, strf("%s/1", id)));
	char *ev = events_of(id);
	ck_assert_str_eq(ev, "file.uploaded");
	char *payload = control_sql(strf("SELECT JSON_VALUE(payload, '$.folder') FROM outbox "
					 "WHERE resource_id='%s'", id));
	ck_assert_str_eq(payload, "docs/2026");
	ck_assert_int_eq(used_storage(t.key), before + 12);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(bad_uploads_are_refused_with_the_field_named_and_nothing_written)
{
	struct tenant t;
	tenant_make(&t);
	struct field folder[] = { { "folder", "a" }, { NULL, NULL } };
	http_resp *r = upload(t.key, "x.txt", NULL, 0, folder);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "file");
	http_free(r);
	r = upload(t.key, "empty.txt", "", 0, NULL);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "file");
	http_free(r);
	struct field sep[] = { { "filename", "../../etc/passwd" }, { NULL, NULL } };
	r = upload(t.key, "x.txt", "abc", 3, sep);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "filename");
	http_free(r);
	r = upload(t.key, "bad\x01name.txt", "abc", 3, NULL);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "filename");
	http_free(r);
	struct field badfolder[] = { { "folder", "../up" }, { NULL, NULL } };
	r = upload(t.key, "x.txt", "abc", 3, badfolder);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "folder");
	http_free(r);
	struct field unknown[] = { { "colour", "red" }, { NULL, NULL } };
	r = upload(t.key, "x.txt", "abc", 3, unknown);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "colour");
	http_free(r);
	struct field meta[] = { { "meta", "[1,2]" }, { NULL, NULL } };
	r = upload(t.key, "x.txt", "abc", 3, meta);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "meta");
	http_free(r);
	r = http_req("POST", "/v1/files/upload", t.key, "application/json", "{}", 2, NULL);
	assert_envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE");
	http_free(r);
	/* A browser's full client path is cut to its last component. */
	r = upload(t.key, "C:\\Users\\ann\\report.txt", "abc", 3, NULL);
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "filename"), "report.txt");
	http_free(r);
	ck_assert_int_eq(search_total(t.key, "{}"), 1);
	ck_assert_int_eq(used_storage(t.key), 3);
	tenant_drop(&t);
}
END_TEST

START_TEST(an_upload_over_25_mb_gets_the_413_envelope_from_nginx)
{
	struct tenant t;
	tenant_make(&t);
	size_t n = 25 * 1024 * 1024 + 1;
	char *big = calloc(1, n);
	http_resp *r = upload(t.key, "big.bin", big, n, NULL);
	assert_envelope(r, 413, "PAYLOAD_TOO_LARGE");
	http_free(r);
	free(big);
	ck_assert_int_eq(search_total(t.key, "{}"), 0);
	ck_assert_int_eq(used_storage(t.key), 0);
	tenant_drop(&t);
}
END_TEST

START_TEST(an_upload_beyond_the_storage_quota_is_refused_before_bytes_are_kept)
{
	struct tenant t;
	tenant_make(&t);
	char *sql = strf("UPDATE tenants t JOIN plans p ON p.id = t.plan SET t.used_storage_bytes = "
			 "p.max_storage_bytes - 5 WHERE t.id = '%s'", t.id);
	free(control_sql(sql));
	http_resp *r = upload(t.key, "q.txt", "0123456789", 10, NULL);
	assert_envelope(r, 403, "QUOTA_EXCEEDED");
	http_free(r);
	r = http_json("POST", "/v1/files/upload-url", t.key, "{\"filename\":\"q.bin\",\"size_bytes\":6}");
	assert_envelope(r, 403, "QUOTA_EXCEEDED");
	http_free(r);
	ck_assert_int_eq(search_total(t.key, "{\"status\":\"pending\"}"), 0);
	ck_assert_int_eq(search_total(t.key, "{}"), 0);
	char *ls = run_cmd(&(int){ 0 }, "ls %s/storage/%s/files 2>/dev/null | wc -l", stack_dir(), t.id);
	ck_assert_str_eq(ls, "0\n");
	/* Four bytes still fit. */
	r = upload(t.key, "q.txt", "0123", 4, NULL);
	assert_envelope(r, 201, NULL);
	http_free(r);
	r = http_get("/v1/files/stats", t.key);
	assert_envelope(r, 200, NULL);
	const cJSON *q = item(resp_data(r), "quota");
	ck_assert_int_eq((long long)item(q, "available_bytes")->valuedouble, 1);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ downloads */

START_TEST(content_is_streamed_by_nginx_with_range_etag_and_disposition)
{
	struct tenant t;
	tenant_make(&t);
	struct field f[] = { { "filename", "résumé \"final\".txt" }, { NULL, NULL } };
	char *id = file_make(t.key, "x.txt", "0123456789abcdef", f);
	http_resp *r = call("GET", t.key, NULL, "/v1/files/%s/content", id);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, 16);
	ck_assert(memcmp(r->body, "0123456789abcdef", 16) == 0);
	char *cd = resp_header(r, "Content-Disposition");
	ck_assert_ptr_nonnull(cd);
	ck_assert_ptr_nonnull(strstr(cd, "attachment; filename=\"r__sum__ _final_.txt\""));
	ck_assert_ptr_nonnull(strstr(cd, "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.txt"));
	char *ct = resp_header(r, "Content-Type");
	ck_assert_str_eq(ct, "text/plain");
	char *etag = resp_header(r, "ETag");
	ck_assert_ptr_nonnull(etag);
	http_free(r);

	const char *range[] = { "Range: bytes=4-7", NULL };
	r = call_h("GET", t.key, NULL, range, "/v1/files/%s/content", id);
	ck_assert_int_eq(r->status, 206);
	ck_assert_uint_eq(r->body_len, 4);
	ck_assert(memcmp(r->body, "4567", 4) == 0);
	ck_assert_str_eq(resp_header(r, "Content-Range"), "bytes 4-7/16");
	http_free(r);

	char *inm = strf("If-None-Match: %s", etag);
	const char *cond[] = { inm, NULL };
	r = call_h("GET", t.key, NULL, cond, "/v1/files/%s/content", id);
	ck_assert_int_eq(r->status, 304);
	http_free(r);

	r = call("GET", NULL, NULL, "/v1/files/%s/content", id);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(signed_urls_are_checked_by_nginx_ttl_tampering_and_expiry)
{
	struct tenant t;
	tenant_make(&t);
	char *id = file_make(t.key, "s.txt", "signed bytes", NULL);
	http_resp *r = call("POST", t.key, "{\"expires_in\":59}", "/v1/files/%s/signed-url", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "expires_in");
	http_free(r);
	r = call("POST", t.key, "{\"expires_in\":86401}", "/v1/files/%s/signed-url", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "expires_in");
	http_free(r);

	char *url = signed_url(t.key, id, 300);
	ck_assert_ptr_nonnull(strstr(url, "token="));
	ck_assert_ptr_nonnull(strstr(url, "expires="));
	ck_assert_ptr_nonnull(strstr(url, strf("t=%s", t.id)));
	r = http_get(url, NULL);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, 12);
	ck_assert(memcmp(r->body, "signed bytes", 12) == 0);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "text/plain");
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Content-Disposition"), "filename=\"s.txt\""));
	http_free(r);
	const char *range[] = { "Range: bytes=0-5", NULL };
	r = http_req("GET", url, NULL, NULL, NULL, 0, range);
	ck_assert_int_eq(r->status, 206);
	ck_assert(memcmp(r->body, "signed", 6) == 0);
	http_free(r);

	/* One changed character of the token. */
	char *bad = strdup(url);
	char *tok = strstr(bad, "token=") + 6;
	*tok = *tok == 'A' ? 'B' : 'A';
	r = http_get(bad, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	/* Another expiry than the one signed. */
	const char *tok0 = strstr(url, "token=") + 6;
	char *moved = strf("/v1/files/%s/content?token=%.*s&expires=%lld&t=%s", id,
			   (int)strcspn(tok0, "&"), tok0, (long long)time(NULL) + 9999, t.id);
	r = http_get(moved, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	/* A correct signature whose time has passed. */
	long long past = (long long)time(NULL) - 10;
	char *tk = token_for(t.id, id, past);
	char *expired = strf("/v1/files/%s/content?token=%s&expires=%lld&t=%s", id, tk, past, t.id);
	r = http_get(expired, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	/* The same construction with a future time works: the key is as documented. */
	long long future = (long long)time(NULL) + 60;
	char *tk2 = token_for(t.id, id, future);
	char *good = strf("/v1/files/%s/content?token=%s&expires=%lld&t=%s", id, tk2, future, t.id);
	r = http_get(good, NULL);
	ck_assert_int_eq(r->status, 200);
	http_free(r);
	/* Duplicated arguments are refused. */
	char *dup = strf("%s&t=%s", url, t.id);
	r = http_get(dup, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	/* Another tenant's signature cannot reach this tenant's file. */
	struct tenant o;
	tenant_make(&o);
	char *oid = file_make(o.key, "o.txt", "other", NULL);
	char *ourl = signed_url(o.key, oid, 300);
	char *swapped = strf("/v1/files/%s/content%s", id, strchr(ourl, '?'));
	r = http_get(swapped, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	/* A deleted file's URL stops working at once. */
	r = call("DELETE", t.key, NULL, "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get(url, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	tenant_drop(&o);
	tenant_drop(&t);
}
END_TEST

START_TEST(public_files_are_served_without_a_token_until_made_private)
{
	struct tenant t;
	tenant_make(&t);
	struct field f[] = { { "access", "public" }, { NULL, NULL } };
	http_resp *r = upload(t.key, "pub.txt", "for everyone", 12, f);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	char *url = strdup(path_of(json_str(resp_data(r), "url")));
	http_free(r);
	r = http_get(url, NULL);
	ck_assert_int_eq(r->status, 200);
	ck_assert(memcmp(r->body, "for everyone", 12) == 0);
	/* Cacheable by a CDN in front; revalidated by its ETag. */
	ck_assert_str_eq(resp_header(r, "Cache-Control"), "public, max-age=3600");
	char *etag = strdup(resp_header(r, "ETag"));
	http_free(r);
	const char *inm[] = { strf("If-None-Match: %s", etag), NULL };
	r = http_req("GET", url, NULL, NULL, NULL, 0, inm);
	ck_assert_int_eq(r->status, 304);
	http_free(r);
	r = call("PATCH", t.key, "{\"access\":\"private\"}", "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsNull(item(resp_data(r), "url")));
	http_free(r);
	r = http_get(url, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* A private file has no public URL at all. */
	char *priv = file_make(t.key, "p.txt", "secret", NULL);
	r = call("GET", NULL, NULL, "/v1/files/%s/content?t=%s", priv, t.id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ variants */

START_TEST(variants_have_the_asked_dimensions_and_are_cached)
{
	struct tenant t;
	tenant_make(&t);
	size_t len;
	char *png = image_bytes(".png", 640, 480, &len);
	http_resp *r = upload(t.key, "photo.png", png, len, NULL);
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "mime_type"), "image/png");
	ck_assert_str_eq(json_str(resp_data(r), "category"), "image");
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	static const struct {
		const char *q, *size, *type;
	} cases[] = {
		{ "thumb", "150x150", "image/png" },
		{ "small", "320x240", "image/png" },
		{ "medium", "800x600", "image/png" },
		{ "custom?w=100&h=50&fit=cover&format=jpeg", "100x50", "image/jpeg" },
		{ "custom?w=100&h=50&fit=contain&format=webp", "100x50", "image/webp" },
		{ "custom?w=100&h=50&fit=fill", "100x50", "image/png" },
		{ "custom?w=100&h=50&fit=inside", "67x50", "image/png" },
		{ "custom?w=100&h=50&fit=outside", "100x75", "image/png" },
		{ "custom?w=64", "64x48", "image/png" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = call("GET", t.key, NULL, "/v1/files/%s/variants/%s", id, cases[i].q);
		ck_assert_msg(r->status == 200, "%s: %ld %s", cases[i].q, r->status, r->body);
		ck_assert_str_eq(resp_header(r, "Content-Type"), cases[i].type);
		char *size = vips_size(r);
		ck_assert_msg(!strcmp(size, cases[i].size), "%s: %s, want %s", cases[i].q, size,
			      cases[i].size);
		http_free(r);
	}
	/* The thumb is now a file nginx serves from the variant cache. */
	char *ls = run_cmd(&(int){ 0 }, "ls %s/storage/%s/files/%s/variants | grep -c 150x150-cover",
			   stack_dir(), t.id, id);
	ck_assert_str_eq(ls, "1\n");
	r = call("GET", t.key, NULL, "/v1/files/%s/variants/thumb", id);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(vips_size(r), "150x150");
	http_free(r);

	static const struct {
		const char *q, *field;
	} bad[] = {
		{ "custom?w=4097", "w" }, { "custom?h=0", "h" }, { "thumb?fit=stretch", "fit" },
		{ "thumb?format=gif", "format" }, { "huge", "variant" }, { "custom", "w" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("GET", t.key, NULL, "/v1/files/%s/variants/%s", id, bad[i].q);
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	char *txt = file_make(t.key, "a.txt", "not an image", NULL);
	r = call("GET", t.key, NULL, "/v1/files/%s/variants/thumb", txt);
	assert_envelope(r, 400, "VALIDATION_ERROR");
	http_free(r);
	free(png);
	tenant_drop(&t);
}
END_TEST

/* Transforms beyond size: crop, gravity, rotate, blur, quality, each
 * measured on the image that comes back, each bounded. */
START_TEST(variant_transforms_crop_gravity_rotate_blur_quality)
{
	struct tenant t;
	tenant_make(&t);
	size_t len;
	/* 640x200: white on the left half, black on the right. */
	char *png = image_made("d=$(mktemp -d) && vips black $d/b.v 320 200 --bands 3 && "
			       "vips linear $d/b.v $d/w.v 1 255 --uchar && "
			       "vips join $d/w.v $d/b.v %1$s horizontal && rm -r $d", &len);
	http_resp *r = upload(t.key, "halves.png", png, len, NULL);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	static const struct {
		const char *q, *size;
		double lo, hi;   /* the mean pixel value expected */
	} cases[] = {
		{ "custom?w=100&h=100&fit=cover&gravity=west", "100x100", 250, 256 },
		{ "custom?w=100&h=100&fit=cover&gravity=east", "100x100", 0, 5 },
		{ "custom?w=100&h=100&fit=cover", "100x100", 100, 155 },
		{ "custom?w=50&crop=0,0,100,100", "50x50", 250, 256 },
		{ "custom?w=50&crop=540,100,100,100", "50x50", 0, 5 },
		{ "custom?w=64&h=20&fit=fill&rotate=90", "20x64", 100, 155 },
		{ "custom?w=64&h=20&fit=fill&rotate=270&format=jpeg&quality=90", "20x64", 100, 155 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = call("GET", t.key, NULL, "/v1/files/%s/variants/%s", id, cases[i].q);
		ck_assert_msg(r->status == 200, "%s: %ld %s", cases[i].q, r->status, r->body);
		char *size = vips_size(r);
		ck_assert_msg(!strcmp(size, cases[i].size), "%s: %s, want %s", cases[i].q, size,
			      cases[i].size);
		double m = vips_mean(r);
		ck_assert_msg(m >= cases[i].lo && m <= cases[i].hi, "%s: mean %f", cases[i].q, m);
		free(size);
		http_free(r);
	}
	/* A blur spreads the edge: the middle column turns grey. */
	r = call("GET", t.key, NULL, "/v1/files/%s/variants/custom?w=640&h=200&fit=fill&blur=8&crop=300,0,40,200", id);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/variants/custom?w=40&h=200&fit=fill&crop=300,0,40,200", id);
	char *sharp = vips_read(r, "vips deviate %s");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/variants/custom?w=40&h=200&fit=fill&crop=300,0,40,200&blur=8", id);
	ck_assert_int_eq(r->status, 200);
	char *soft = vips_read(r, "vips deviate %s");
	http_free(r);
	ck_assert_msg(atof(soft) < atof(sharp) * 0.9, "blur: deviation %s, sharp %s", soft, sharp);
	/* Quality trades bytes: the same noise at 10 is far smaller than at 95. */
	char *noise = image_made("vips gaussnoise %1$s 300 300 --sigma 60 --mean 128", &len);
	r = upload(t.key, "noise.png", noise, len, NULL);
	char *nid = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/variants/custom?w=300&format=jpeg&quality=10", nid);
	ck_assert_int_eq(r->status, 200);
	size_t low = r->body_len;
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/variants/custom?w=300&format=jpeg&quality=95", nid);
	ck_assert_int_eq(r->status, 200);
	ck_assert_msg(low * 3 < r->body_len, "quality 10: %zu bytes, 95: %zu", low, r->body_len);
	http_free(r);
	/* Every transform names the cached variant, and has a signed URL. */
	r = call("POST", t.key, NULL, "/v1/files/%s/variants/thumb/signed-url?gravity=north&rotate=180&"
		 "blur=1.5&quality=70&autorotate=false&crop=0,0,320,200", id);
	assert_envelope(r, 200, NULL);
	char *url = strdup(path_of(json_str(resp_data(r), "url")));
	ck_assert_ptr_nonnull(strstr(url, "-cover-c0.0.320.200_n_gnorth_r180_b15_q70.png"));
	http_free(r);
	r = http_get(url, NULL);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_str_eq(vips_size(r), "150x150");
	http_free(r);

	static const struct {
		const char *q, *field;
	} bad[] = {
		{ "thumb?crop=1,2,3", "crop" }, { "thumb?crop=-1,0,10,10", "crop" },
		{ "thumb?crop=0,0,0,10", "crop" }, { "thumb?crop=600,0,100,100", "crop" },
		{ "thumb?gravity=up", "gravity" }, { "small?gravity=north", "gravity" },
		{ "thumb?rotate=45", "rotate" }, { "thumb?rotate=360", "rotate" },
		{ "thumb?blur=0", "blur" }, { "thumb?blur=51", "blur" }, { "thumb?blur=x", "blur" },
		{ "thumb?quality=0", "quality" }, { "thumb?quality=101", "quality" },
		{ "thumb?autorotate=maybe", "autorotate" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("GET", t.key, NULL, "/v1/files/%s/variants/%s", id, bad[i].q);
		ck_assert_msg(r->status == 400, "%s: %ld", bad[i].q, r->status);
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	free(sharp);
	free(soft);
	free(url);
	free(png);
	free(noise);
	free(id);
	free(nid);
	tenant_drop(&t);
}
END_TEST

/* Inline display, asked for with ?download=false or "disposition":
 * "inline", only for types a browser may render safely on our origin. */
START_TEST(inline_disposition_only_for_types_safe_to_display)
{
	struct tenant t;
	tenant_make(&t);
	size_t len;
	char *png = image_bytes(".png", 8, 8, &len);
	http_resp *r = upload(t.key, "dot.png", png, len, NULL);
	char *img = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	char *html = file_make(t.key, "page.html", "<html><script>alert(1)</script></html>", NULL);
	char *txt = file_make(t.key, "note.txt", "plain words", NULL);

	r = call("GET", t.key, NULL, "/v1/files/%s/content", img);
	ck_assert_int_eq(r->status, 200);
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Content-Disposition"), "attachment; filename=\"dot.png\""));
	http_free(r);
	const char *asks[] = { "download=false", "disposition=inline" };
	for (size_t i = 0; i < 2; i++) {
		r = call("GET", t.key, NULL, "/v1/files/%s/content?%s", img, asks[i]);
		ck_assert_int_eq(r->status, 200);
		ck_assert_str_eq(resp_header(r, "Content-Disposition"),
				 "inline; filename=\"dot.png\"; filename*=UTF-8''dot.png");
		http_free(r);
		r = call("GET", t.key, NULL, "/v1/files/%s/content?%s", txt, asks[i]);
		ck_assert_ptr_nonnull(strstr(resp_header(r, "Content-Disposition"), "inline;"));
		ck_assert_str_eq(resp_header(r, "X-Content-Type-Options"), "nosniff");
		http_free(r);
		/* HTML never renders inline on the API's origin. */
		r = call("GET", t.key, NULL, "/v1/files/%s/content?%s", html, asks[i]);
		ck_assert_int_eq(r->status, 200);
		ck_assert_ptr_nonnull(strstr(resp_header(r, "Content-Disposition"), "attachment;"));
		http_free(r);
	}
	r = call("GET", t.key, NULL, "/v1/files/%s/content?disposition=embed", img);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "disposition");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/content?download=no", img);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "download");
	http_free(r);

	/* Signed URLs: the choice is signed, nginx applies it by type. */
	r = call("POST", t.key, "{\"download\":false}", "/v1/files/%s/signed-url", img);
	assert_envelope(r, 200, NULL);
	char *url = strdup(path_of(json_str(resp_data(r), "url")));
	http_free(r);
	ck_assert_ptr_nonnull(strstr(url, "&d=inline"));
	r = http_get(url, NULL);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Content-Disposition"), "inline;"));
	http_free(r);
	/* Dropping d= (or adding it to a plain URL) breaks the signature. */
	char *cut = strdup(url);
	*strstr(cut, "&d=inline") = '\0';
	r = http_get(cut, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = call("POST", t.key, "{\"disposition\":\"inline\"}", "/v1/files/%s/signed-url", html);
	assert_envelope(r, 200, NULL);
	char *hurl = strdup(path_of(json_str(resp_data(r), "url")));
	http_free(r);
	r = http_get(hurl, NULL);
	ck_assert_int_eq(r->status, 200);
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Content-Disposition"), "attachment;"));
	http_free(r);
	r = http_get(strf("%s&d=attachment", hurl), NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = call("POST", t.key, "{\"disposition\":\"embed\"}", "/v1/files/%s/signed-url", img);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "disposition");
	http_free(r);
	/* A public file: d=inline needs no signature. */
	r = call("PATCH", t.key, "{\"access\":\"public\"}", "/v1/files/%s", img);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get(strf("/v1/files/%s/content?t=%s&d=inline", img, t.id), NULL);
	ck_assert_int_eq(r->status, 200);
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Content-Disposition"), "inline;"));
	http_free(r);
	r = http_get(strf("/v1/files/%s/content?t=%s", img, t.id), NULL);
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Content-Disposition"), "attachment;"));
	http_free(r);
	free(cut);
	free(url);
	free(hurl);
	free(png);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ presigned */

START_TEST(variants_have_signed_urls_and_public_files_public_ones)
{
	struct tenant t;
	tenant_make(&t);
	size_t len;
	char *png = image_bytes(".png", 64, 48, &len);
	http_resp *r = upload(t.key, "photo.png", png, len, NULL);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	r = call("POST", t.key, "{\"expires_in\":300}", "/v1/files/%s/variants/thumb/signed-url?format=jpeg", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "mime_type"), "image/jpeg");
	ck_assert(cJSON_IsNull(item(resp_data(r), "public_url")));
	char *url = strdup(path_of(json_str(resp_data(r), "url")));
	http_free(r);
	r = http_get(url, NULL);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "image/jpeg");
	ck_assert_str_eq(resp_header(r, "Cache-Control"), "private, max-age=0, must-revalidate");
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Content-Disposition"), "inline"));
	char *size = vips_size(r);
	ck_assert_str_eq(size, "150x150");
	http_free(r);
	/* The token covers the variant it names: another one is refused,
	 * and so is the content URL with it. */
	char *other = strdup(url);
	char *vk = strstr(other, "cover.jpg");
	ck_assert_ptr_nonnull(vk);
	memcpy(vk, "cover.png", 9);
	r = http_get(other, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	char *as_content = strf("/v1/files/%s/content%s", id, strchr(url, '?'));
	r = http_get(as_content, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/files/%s/variants/huge/signed-url", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "variant");
	http_free(r);

	/* A public file's variants are public, until it is private again. */
	r = call("PATCH", t.key, "{\"access\":\"public\"}", "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/files/%s/variants/small/signed-url", id);
	assert_envelope(r, 200, NULL);
	char *pub = strdup(path_of(json_str(resp_data(r), "public_url")));
	http_free(r);
	r = http_get(pub, NULL);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(resp_header(r, "Content-Type"), "image/png");
	ck_assert_str_eq(resp_header(r, "Cache-Control"), "public, max-age=3600");
	http_free(r);
	r = call("PATCH", t.key, "{\"access\":\"private\"}", "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get(pub, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	/* Deleted: the signed variant URL is gone too. */
	r = call("DELETE", t.key, NULL, "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = http_get(url, NULL);
	ck_assert_int_eq(r->status, 404);
	http_free(r);
	free(png);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_presigned_upload_larger_than_25_mb_goes_pending_put_complete_ready)
{
	struct tenant t;
	tenant_make(&t);
	size_t n = 26 * 1024 * 1024 + 3;
	char *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 7 + 3);
	http_resp *r = http_json("POST", "/v1/files/upload-url", t.key,
				 strf("{\"filename\":\"big.bin\",\"size_bytes\":%zu,\"folder\":\"big\"}", n));
	assert_envelope(r, 201, NULL);
	const cJSON *d = resp_data(r);
	char *id = strdup(json_str(d, "file_id"));
	char *put = strdup(path_of(json_str(d, "upload_endpoint")));
	ck_assert(is_utc_time(json_str(d, "expires_at")));
	ck_assert_ptr_nonnull(json_str(d, "r2_key"));
	ck_assert_str_eq(json_str(d, "upload_method"), "PUT");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "pending");
	http_free(r);
	/* Completing before any bytes arrived is a conflict. */
	r = call("POST", t.key, NULL, "/v1/files/%s/upload-complete", id);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	/* No bearer: the signed URL is the credential; a changed one is not. */
	char *bad = strdup(put);
	char *tok = strstr(bad, "token=") + 6;
	*tok = *tok == 'A' ? 'B' : 'A';
	r = http_req("POST", bad, NULL, "application/octet-stream", "abc", 3, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	/* A short body: complete reports the size mismatch. */
	r = http_req("POST", put, NULL, "application/octet-stream", data, 100, NULL);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/files/%s/upload-complete", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "size_bytes");
	http_free(r);
	/* PUT (what S3 clients send) works as well as POST. */
	r = http_req("PUT", put, NULL, "application/octet-stream", data, n, NULL);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "received_bytes", strf("%zu", n));
	http_free(r);
	r = call("POST", t.key, "{\"checksum_sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\"}",
		 "/v1/files/%s/upload-complete", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "checksum_sha256");
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/files/%s/upload-complete", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "ready");
	assert_json_eq(resp_data(r), "size_bytes", strf("%zu", n));
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/files/%s/upload-complete", id);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/content", id);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, n);
	ck_assert(memcmp(r->body, data, n) == 0);
	http_free(r);
	char *ev = events_of(id);
	ck_assert_str_eq(ev, "file.uploaded");
	ck_assert_int_eq(used_storage(t.key), (long long)n);
	/* More than files_max_presigned_mb is refused up front. */
	r = http_json("POST", "/v1/files/upload-url", t.key,
		      "{\"filename\":\"huge.bin\",\"size_bytes\":999999999999999}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "size_bytes");
	http_free(r);
	free(data);
	tenant_drop(&t);
}
END_TEST

START_TEST(stale_pending_uploads_are_cleaned_and_their_quota_returned)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = http_json("POST", "/v1/files/upload-url", t.key,
				 "{\"filename\":\"s.bin\",\"size_bytes\":500}");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "file_id"));
	http_free(r);
	ck_assert_int_eq(used_storage(t.key), 500);
	char *job = control_sql(strf("SELECT COUNT(*) FROM jobs WHERE kind='files.stale_cleanup' "
				     "AND tenant_id='%s' AND run_at > UTC_TIMESTAMP() + INTERVAL 23 HOUR",
				     t.id));
	ck_assert_str_eq(job, "1");
	/* Young uploads stay. */
	r = call("POST", t.key, NULL, "/v1/files/%s/stale-cleanup", id);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "cleaned", "0");
	http_free(r);
	free(tenant_sql(t.id, "UPDATE _files SET created_at = created_at - INTERVAL 25 HOUR WHERE id='%s'", id));
	r = call("POST", t.key, NULL, "/v1/files/%s/stale-cleanup", id);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "cleaned", "1");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	ck_assert_int_eq(used_storage(t.key), 0);
	r = call("POST", t.key, NULL, "/v1/files/all/stale-cleanup");
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "cleaned", "0");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ metadata */

START_TEST(patch_versions_trash_restore_and_the_purge_job)
{
	struct tenant t;
	tenant_make(&t);
	char *id = file_make(t.key, "v.txt", "first", NULL);
	http_resp *r = call("PATCH", t.key, "{\"filename\":\"renamed.txt\",\"folder\":\"a/b\","
			    "\"meta\":{\"k\":2}}", "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "filename"), "renamed.txt");
	ck_assert_str_eq(json_str(resp_data(r), "folder"), "a/b");
	assert_json_eq(resp_data(r), "meta", "{\"k\":2}");
	http_free(r);
	r = call("PATCH", t.key, "{\"filename\":\"a/b.txt\"}", "/v1/files/%s", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "filename");
	http_free(r);
	r = call("PATCH", t.key, "{\"access\":\"world\"}", "/v1/files/%s", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "access");
	http_free(r);
	r = call("PATCH", t.key, "{\"object_type_id\":\"ot_01JD0000000000000000000000\",\"object_id\":\"obj_x\"}",
		 "/v1/files/%s", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "object_type_id");
	http_free(r);
	char *type = type_make(t.key, "docs");
	char *obj = obj_make(t.key, "docs", "{}");
	char *link = strf("{\"object_type_id\":\"%s\",\"object_id\":\"%s\"}", type, obj);
	r = call("PATCH", t.key, link, "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "object_id"), obj);
	http_free(r);
	ck_assert_int_eq(search_total(t.key, strf("{\"object_id\":\"%s\"}", obj)), 1);

	/* A new version through upload with file_id. */
	struct field f[] = { { "file_id", id }, { NULL, NULL } };
	r = upload(t.key, "v2.txt", "second!", 7, f);
	assert_envelope(r, 201, NULL);
	assert_json_eq(resp_data(r), "version", "2");
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	ck_assert_str_eq(json_str(resp_data(r), "folder"), "a/b");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/versions", id);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 2);
	const cJSON *v0 = cJSON_GetArrayItem(resp_data(r), 0);
	assert_json_eq(v0, "version", "2");
	assert_json_eq(v0, "is_current", "true");
	assert_json_eq(cJSON_GetArrayItem(resp_data(r), 1), "size_bytes", "5");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/content", id);
	ck_assert(r->body_len == 7 && !memcmp(r->body, "second!", 7));
	http_free(r);
	ck_assert_int_eq(used_storage(t.key), 12);

	/* Soft delete, trash, restore. */
	r = call("DELETE", t.key, NULL, "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "deleted", "true");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/content", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = http_get("/v1/files/trash", t.key);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "total", "1");
	ck_assert_ptr_nonnull(find_by(item(resp_data(r), "results"), "id", id));
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/files/%s/restore", id);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "is_deleted", "false");
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/files/%s/restore", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/content", id);
	ck_assert_int_eq(r->status, 200);
	http_free(r);
	ck_assert_str_eq(events_of(id), "file.uploaded file.updated file.updated file.uploaded "
					"file.deleted file.updated");

	/* Past its time in the trash the runner purges rows and bytes. */
	r = call("DELETE", t.key, NULL, "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(tenant_sql(t.id, "UPDATE _files SET deleted_at = deleted_at - INTERVAL 400 DAY WHERE id='%s'", id));
	free(control_sql(strf("UPDATE jobs SET run_at = UTC_TIMESTAMP(3) WHERE kind='files.purge' "
			      "AND tenant_id='%s' AND status='queued'", t.id)));
	bool gone = false;
	for (int i = 0; i < 100 && !gone; i++) {
		gone = !storage_has(t.id, id);
		if (!gone)
			usleep(200000);
	}
	ck_assert_msg(gone, "the purge job did not remove the bytes");
	ck_assert_str_eq(tenant_sql(t.id, "SELECT COUNT(*) FROM _files WHERE id='%s'", id), "0");
	ck_assert_int_eq(used_storage(t.key), 0);
	tenant_drop(&t);
}
END_TEST

/* A file with two versions: "first" (5 bytes), then "second!" (7). */
static char *two_versions(const char *key)
{
	char *id = file_make(key, "v.txt", "first", NULL);
	struct field f[] = { { "file_id", id }, { NULL, NULL } };
	http_resp *r = upload(key, "v2.txt", "second!", 7, f);
	assert_envelope(r, 201, NULL);
	assert_json_eq(resp_data(r), "version", "2");
	http_free(r);
	return id;
}

/* The governance setting files_keep_versions prunes the oldest versions
 * when a new one arrives, bytes and quota with them. */
START_TEST(files_keep_versions_prunes_the_oldest_versions)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = http_json("PATCH", "/v1/governance", t.key, "{\"files_keep_versions\":2}");
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "files_keep_versions", "2");
	http_free(r);
	char *id = file_make(t.key, "k.txt", "v1", NULL);           /* 2 bytes */
	struct field f[] = { { "file_id", id }, { NULL, NULL } };
	const char *bodies[] = { "v2-", "v3--", "v4---" };          /* 3, 4, 5 bytes */
	for (size_t i = 0; i < 3; i++) {
		r = upload(t.key, "k.txt", bodies[i], strlen(bodies[i]), f);
		assert_envelope(r, 201, NULL);
		http_free(r);
	}
	r = call("GET", t.key, NULL, "/v1/files/%s/versions", id);
	assert_envelope(r, 200, NULL);
	const cJSON *list = resp_data(r);
	ck_assert_int_eq(cJSON_GetArraySize(list), 2);
	ck_assert_int_eq(item(cJSON_GetArrayItem(list, 0), "version")->valueint, 4);
	ck_assert_int_eq(item(cJSON_GetArrayItem(list, 1), "version")->valueint, 3);
	http_free(r);
	ck_assert_int_eq(used_storage(t.key), 4 + 5);
	ck_assert(!storage_has(t.id, strf("%s/1", id)));
	ck_assert(!storage_has(t.id, strf("%s/2", id)));
	ck_assert(storage_has(t.id, strf("%s/3", id)));
	r = call("GET", t.key, NULL, "/v1/files/%s/content?version=2", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/content?version=3", id);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, 4);
	http_free(r);
	/* 0 keeps every version again. */
	r = http_json("PATCH", "/v1/governance", t.key, "{\"files_keep_versions\":0}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = upload(t.key, "k.txt", "v5", 2, f);
	assert_envelope(r, 201, NULL);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/versions", id);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 3);
	http_free(r);
	r = http_json("PATCH", "/v1/governance", t.key, "{\"files_keep_versions\":-1}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "files_keep_versions");
	http_free(r);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(older_versions_are_downloaded_signed_and_deleted_one_by_one)
{
	struct tenant t;
	tenant_make(&t);
	char *id = two_versions(t.key);

	/* ?version= names the bytes: the old ones with their own name. */
	http_resp *r = call("GET", t.key, NULL, "/v1/files/%s/content?version=1", id);
	ck_assert_int_eq(r->status, 200);
	ck_assert(r->body_len == 5 && !memcmp(r->body, "first", 5));
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Content-Disposition"), "filename=\"v.txt\""));
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/content?version=2", id);
	ck_assert(r->body_len == 7 && !memcmp(r->body, "second!", 7));
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/content?version=3", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/content?version=first", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "version");
	http_free(r);

	/* A signed URL of version 1, served by nginx; its token does not
	 * stand for another version or for the current bytes. */
	r = call("POST", t.key, "{\"version\":1,\"expires_in\":300}", "/v1/files/%s/signed-url", id);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "version", "1");
	char *url = strdup(path_of(json_str(resp_data(r), "url")));
	http_free(r);
	ck_assert_ptr_nonnull(strstr(url, "&version=1"));
	r = http_get(url, NULL);
	ck_assert_int_eq(r->status, 200);
	ck_assert(r->body_len == 5 && !memcmp(r->body, "first", 5));
	ck_assert_str_eq(resp_header(r, "Content-Type"), "text/plain");
	http_free(r);
	char *other = strdup(url);
	*strstr(other, "&version=1") = '\0';
	r = http_get(other, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = http_get(strf("%s&version=2", other), NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = call("POST", t.key, "{\"version\":9}", "/v1/files/%s/signed-url", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", t.key, "{\"version\":0}", "/v1/files/%s/signed-url", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "version");
	http_free(r);

	/* The current version goes only with the file; an old one alone,
	 * with its bytes and its quota. */
	ck_assert_int_eq(used_storage(t.key), 12);
	r = call("DELETE", t.key, NULL, "/v1/files/%s/versions/2", id);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/files/%s/versions/x", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "version");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/files/%s/versions/1", id);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "freed_bytes", "5");
	http_free(r);
	ck_assert_int_eq(used_storage(t.key), 7);
	ck_assert(!storage_has(t.id, strf("%s/1", id)));
	r = call("DELETE", t.key, NULL, "/v1/files/%s/versions/1", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/versions", id);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	r = http_get(url, NULL);
	ck_assert_int_eq(r->status, 404);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/content?version=1", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* Another tenant reaches none of it. */
	struct tenant o;
	tenant_make(&o);
	r = call("DELETE", o.key, NULL, "/v1/files/%s/versions/1", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", o.key, NULL, "/v1/files/%s/content?version=2", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	tenant_drop(&o);
	tenant_drop(&t);
}
END_TEST

START_TEST(permanent_delete_and_emptying_the_trash_free_the_quota_at_once)
{
	struct tenant t;
	tenant_make(&t);
	char *id = two_versions(t.key);
	http_resp *r = call("DELETE", t.key, NULL, "/v1/files/%s?permanent=maybe", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "permanent");
	http_free(r);
	ck_assert_int_eq(used_storage(t.key), 12);

	/* A live file, for good: rows, bytes and quota at once. */
	r = call("DELETE", t.key, NULL, "/v1/files/%s?permanent=true", id);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "permanent", "true");
	ck_assert_str_eq(json_str(resp_data(r), "file_id"), id);
	http_free(r);
	ck_assert_int_eq(used_storage(t.key), 0);
	ck_assert(!storage_has(t.id, id));
	ck_assert_str_eq(tenant_sql(t.id, "SELECT COUNT(*) FROM _file_versions WHERE file_id='%s'", id), "0");
	r = http_get("/v1/files/trash", t.key);
	assert_json_eq(resp_data(r), "total", "0");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/files/%s?permanent=true", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	ck_assert_str_eq(events_of(id), "file.uploaded file.uploaded file.deleted");

	/* Emptying the trash asks for confirmation, then erases the trash
	 * only: the live file stays. */
	char *a = file_make(t.key, "a.txt", "aaa", NULL), *b = file_make(t.key, "b.txt", "bb", NULL);
	char *keep = file_make(t.key, "keep.txt", "k", NULL);
	r = call("DELETE", t.key, NULL, "/v1/files/trash");
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "deleted", "0");
	http_free(r);
	for (int i = 0; i < 2; i++) {
		r = call("DELETE", t.key, NULL, "/v1/files/%s", i ? b : a);
		assert_envelope(r, 200, NULL);
		http_free(r);
	}
	ck_assert_int_eq(used_storage(t.key), 6);
	r = call("DELETE", t.key, NULL, "/v1/files/trash");
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	const cJSON *err = item(r->json, "error");
	char *ct = strdup(json_str(err, "confirm_token"));
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/files/trash?force=true&confirm_token=%s", ct);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "deleted", "2");
	assert_json_eq(resp_data(r), "freed_bytes", "5");
	assert_json_eq(resp_data(r), "remaining", "0");
	http_free(r);
	ck_assert_int_eq(used_storage(t.key), 1);
	ck_assert(!storage_has(t.id, a) && !storage_has(t.id, b) && storage_has(t.id, keep));
	r = call("GET", t.key, NULL, "/v1/files/%s/content", keep);
	ck_assert_int_eq(r->status, 200);
	http_free(r);
	/* Nothing left in the trash: nothing to confirm. */
	r = call("DELETE", t.key, NULL, "/v1/files/trash?force=true&confirm_token=%s", ct);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "deleted", "0");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(bucket_rules_are_enforced_on_every_upload_path)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = http_json("POST", "/v1/files/buckets", t.key, "{\"name\":\"../up\"}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "name");
	http_free(r);
	r = http_json("POST", "/v1/files/buckets", t.key,
		      "{\"name\":\"docs\",\"allowed_mime_types\":[\"text\"]}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "allowed_mime_types");
	http_free(r);
	r = http_json("POST", "/v1/files/buckets", t.key,
		      "{\"name\":\"docs\",\"public\":true,\"allowed_mime_types\":[\"text/*\"],"
		      "\"max_file_size\":10,\"max_total_bytes\":15}");
	assert_envelope(r, 201, NULL);
	char *bid = strdup(json_str(resp_data(r), "id"));
	ck_assert(strncmp(bid, "bkt_", 4) == 0);
	http_free(r);
	r = http_json("POST", "/v1/files/buckets", t.key, "{\"name\":\"docs\"}");
	assert_fail_field(r, 409, "CONFLICT", "name");
	http_free(r);

	/* Direct uploads into the bucket and a folder under it. */
	struct field in_docs[] = { { "folder", "docs" }, { NULL, NULL } };
	struct field in_sub[] = { { "folder", "docs/sub" }, { NULL, NULL } };
	r = upload(t.key, "big.txt", "12345678901", 11, in_docs);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "size_bytes");
	ck_assert_ptr_nonnull(strstr(json_str(item(r->json, "error"), "message"), "docs"));
	http_free(r);
	size_t plen;
	char *png = image_bytes(".png", 2, 2, &plen);
	r = upload(t.key, "p.png", png, plen, in_sub);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "mime_type");
	http_free(r);
	ck_assert_int_eq(used_storage(t.key), 0);
	r = upload(t.key, "a.txt", "123456789", 9, in_sub);
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "access"), "public");
	http_free(r);
	r = upload(t.key, "b.txt", "123456789", 9, in_docs);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "size_bytes");
	http_free(r);
	/* Outside the bucket: no rules. */
	struct field in_other[] = { { "folder", "docsx" }, { NULL, NULL } };
	r = upload(t.key, "c.txt", "12345678901", 11, in_other);
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "access"), "private");
	http_free(r);

	/* Presigned: the declared size and type at upload-url. */
	r = http_json("POST", "/v1/files/upload-url", t.key,
		      "{\"filename\":\"d.txt\",\"size_bytes\":11,\"folder\":\"docs\"}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "size_bytes");
	http_free(r);
	r = http_json("POST", "/v1/files/upload-url", t.key,
		      "{\"filename\":\"d.png\",\"size_bytes\":5,\"folder\":\"docs\",\"mime_type\":\"image/png\"}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "mime_type");
	http_free(r);

	/* Rules change with the bucket. */
	r = call("PATCH", t.key, "{\"max_total_bytes\":null}", "/v1/files/buckets/%s", bid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "max_total_bytes", "null");
	http_free(r);
	r = upload(t.key, "b.txt", "123456789", 9, in_docs);
	assert_envelope(r, 201, NULL);
	http_free(r);
	r = http_get("/v1/files/buckets", t.key);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/files/buckets/%s", bid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = upload(t.key, "e.txt", "12345678901", 11, in_docs);
	assert_envelope(r, 201, NULL);
	http_free(r);
	free(png);
	tenant_drop(&t);
}
END_TEST

START_TEST(batch_search_folders_and_stats)
{
	struct tenant t;
	tenant_make(&t);
	struct field fa[] = { { "folder", "alpha" }, { NULL, NULL } };
	struct field fb[] = { { "folder", "beta" }, { NULL, NULL } };
	char *a = file_make(t.key, "apple.txt", "aaaa", fa);
	char *b = file_make(t.key, "banana.txt", "bbbbbbbb", fa);
	char *c = file_make(t.key, "cherry.txt", "cc", fb);
	size_t len;
	char *png = image_bytes(".png", 8, 8, &len);
	http_resp *r = upload(t.key, "dot.png", png, len, NULL);
	assert_envelope(r, 201, NULL);
	char *img = strdup(json_str(resp_data(r), "id"));
	http_free(r);

	r = http_json("POST", "/v1/files/batch/read", t.key,
		      strf("{\"file_ids\":[\"%s\",\"%s\",\"file_01JD0000000000000000000000\"]}", a, c));
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 2);
	http_free(r);
	char ids[101 * 40] = "";
	for (int i = 0; i < 101; i++)
		strcat(ids, i ? ",\"file_01JD0000000000000000000000\"" : "\"file_01JD0000000000000000000000\"");
	r = http_json("POST", "/v1/files/batch/read", t.key, strf("{\"file_ids\":[%s]}", ids));
	assert_fail_field(r, 400, "VALIDATION_ERROR", "file_ids");
	http_free(r);
	r = http_json("POST", "/v1/files/batch/update", t.key,
		      strf("{\"file_ids\":[\"%s\",\"%s\"],\"folder\":\"gamma\",\"access\":\"public\"}", a, b));
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "updated", "2");
	http_free(r);
	r = http_json("POST", "/v1/files/batch/update", t.key, strf("{\"file_ids\":[\"%s\"],\"access\":\"x\"}", a));
	assert_fail_field(r, 400, "VALIDATION_ERROR", "access");
	http_free(r);

	ck_assert_int_eq(search_total(t.key, "{\"folder\":\"gamma\"}"), 2);
	ck_assert_int_eq(search_total(t.key, "{\"access\":\"public\"}"), 2);
	ck_assert_int_eq(search_total(t.key, "{\"mime_category\":\"image\"}"), 1);
	ck_assert_int_eq(search_total(t.key, "{\"mime_type\":\"image/*\"}"), 1);
	ck_assert_int_eq(search_total(t.key, "{\"filename\":\"an\"}"), 1);
	ck_assert_int_eq(search_total(t.key, "{\"filename\":\"%\"}"), 0);
	ck_assert_int_eq(search_total(t.key, "{\"created_after\":\"2000-01-01T00:00:00Z\"}"), 4);
	ck_assert_int_eq(search_total(t.key, "{\"created_before\":\"2000-01-01T00:00:00Z\"}"), 0);
	/* Pages of one, by size ascending, follow the cursor to the end. */
	const char *order[] = { c, a, b };
	char *cursor = NULL;
	for (int i = 0; i < 3; i++) {
		char *body = cursor ? strf("{\"sort\":\"size_bytes\",\"sort_dir\":\"asc\",\"limit\":1,"
					   "\"mime_category\":\"document\",\"cursor\":\"%s\"}", cursor)
				    : strf("{\"sort\":\"size_bytes\",\"sort_dir\":\"asc\",\"limit\":1,"
					   "\"mime_category\":\"document\"}");
		r = http_json("POST", "/v1/files/search", t.key, body);
		assert_envelope(r, 200, NULL);
		assert_json_eq(resp_data(r), "total", "3");
		ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(resp_data(r), "results"), 0), "id"), order[i]);
		const cJSON *next = item(resp_data(r), "next_cursor");
		cursor = cJSON_IsString(next) ? strdup(next->valuestring) : NULL;
		ck_assert(i == 2 ? cursor == NULL : cursor != NULL);
		http_free(r);
	}
	r = http_json("POST", "/v1/files/search", t.key, "{\"limit\":201}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "limit");
	http_free(r);
	r = http_json("POST", "/v1/files/search", t.key, "{\"sort\":\"owner\"}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "sort");
	http_free(r);
	r = http_json("POST", "/v1/files/search", t.key, "{\"created_after\":\"yesterday\"}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "created_after");
	http_free(r);

	r = http_get("/v1/files/folders", t.key);
	assert_envelope(r, 200, NULL);
	const cJSON *g = find_by(resp_data(r), "folder", "gamma");
	ck_assert_ptr_nonnull(g);
	assert_json_eq(g, "file_count", "2");
	assert_json_eq(g, "size_bytes", "12");
	ck_assert_ptr_nonnull(find_by(resp_data(r), "folder", "beta"));
	http_free(r);
	r = http_get("/v1/files/stats", t.key);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "total_files", "4");
	assert_json_eq(item(item(resp_data(r), "by_category"), "document"), "count", "3");
	assert_json_eq(item(item(resp_data(r), "by_category"), "image"), "count", "1");
	ck_assert(item(item(resp_data(r), "quota"), "max_storage_bytes")->valuedouble > 0);
	http_free(r);

	r = http_json("POST", "/v1/files/batch/delete", t.key,
		      strf("{\"file_ids\":[\"%s\",\"%s\",\"file_01JD0000000000000000000000\"]}", a, img));
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "count", "2");
	http_free(r);
	ck_assert_int_eq(search_total(t.key, "{}"), 2);
	ck_assert_int_eq(search_total(t.key, "{\"status\":\"deleted\"}"), 2);
	ck_assert_str_eq(events_of(a), "file.uploaded file.updated file.deleted");
	free(png);
	tenant_drop(&t);
}
END_TEST

START_TEST(another_tenants_file_is_not_found_on_every_endpoint)
{
	struct tenant t, o;
	tenant_make(&t);
	tenant_make(&o);
	char *id = file_make(o.key, "theirs.txt", "not yours", NULL);
	static const struct {
		const char *method, *fmt, *body;
	} calls[] = {
		{ "GET", "/v1/files/%s", NULL },
		{ "PATCH", "/v1/files/%s", "{\"filename\":\"mine.txt\"}" },
		{ "DELETE", "/v1/files/%s", NULL },
		{ "GET", "/v1/files/%s/content", NULL },
		{ "GET", "/v1/files/%s/variants/thumb", NULL },
		{ "GET", "/v1/files/%s/versions", NULL },
		{ "POST", "/v1/files/%s/signed-url", "{}" },
		{ "POST", "/v1/files/%s/restore", NULL },
		{ "POST", "/v1/files/%s/upload-complete", NULL },
		{ "POST", "/v1/files/%s/stale-cleanup", NULL },
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		http_resp *r = call(calls[i].method, t.key, calls[i].body, calls[i].fmt, id);
		ck_assert_msg(r->status == 404, "%s %s: %ld", calls[i].method, calls[i].fmt, r->status);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	http_resp *r = http_json("POST", "/v1/files/batch/read", t.key, strf("{\"file_ids\":[\"%s\"]}", id));
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	struct field f[] = { { "file_id", id }, { NULL, NULL } };
	r = upload(t.key, "x.txt", "overwrite", 9, f);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", o.key, NULL, "/v1/files/%s/content", id);
	ck_assert(r->status == 200 && r->body_len == 9 && !memcmp(r->body, "not yours", 9));
	http_free(r);
	tenant_drop(&o);
	tenant_drop(&t);
}
END_TEST

START_TEST(end_users_see_and_change_only_the_files_they_uploaded)
{
	struct tenant t;
	tenant_make(&t);
	char *ann = jwt_mint(t.id, "usr_ann", "authenticated", 600, NULL);
	char *bob = jwt_mint(t.id, "usr_bob", "authenticated", 600, NULL);
	char *mine = file_make(ann, "ann.txt", "ann's", NULL);
	char *keys = file_make(t.key, "admin.txt", "admin's", NULL);
	http_resp *r = call("GET", ann, NULL, "/v1/files/%s", mine);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "created_by"), "usr_ann");
	http_free(r);
	r = call("GET", bob, NULL, "/v1/files/%s/content", mine);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", bob, NULL, "/v1/files/%s", mine);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", ann, NULL, "/v1/files/%s", keys);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	ck_assert_int_eq(search_total(ann, "{}"), 1);
	ck_assert_int_eq(search_total(bob, "{}"), 0);
	/* The tenant's API key sees both. */
	ck_assert_int_eq(search_total(t.key, "{}"), 2);
	r = call("GET", t.key, NULL, "/v1/files/%s/content", mine);
	ck_assert_int_eq(r->status, 200);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ FastCGI down */

static int serve_pid(void)
{
	char *path = strf("%s/run/tessera.pid", stack_dir());
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	free(path);
	return pid;
}

START_TEST(a_signed_url_is_served_while_the_fastcgi_pool_is_stopped)
{
	struct tenant t;
	tenant_make(&t);
	char *id = file_make(t.key, "alone.txt", "nginx alone", NULL);
	char *url = signed_url(t.key, id, 600);
	int pid = serve_pid();
	ck_assert_int_gt(pid, 1);
	ck_assert_int_eq(kill(pid, SIGTERM), 0);
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(100000);
	ck_assert_msg(kill(pid, 0) != 0, "tessera serve did not stop");
	/* The API is down... */
	http_resp *r = call("GET", t.key, NULL, "/v1/files/%s", id);
	ck_assert_msg(r->status == 502 || r->status == 503, "API answered %ld", r->status);
	http_free(r);
	/* ...and the signed download works. */
	r = http_get(url, NULL);
	ck_assert_int_eq(r->status, 200);
	ck_assert(r->body_len == 11 && !memcmp(r->body, "nginx alone", 11));
	http_free(r);
	/* Start the pool again, as tools/stack does, and wait until it serves. */
	int rc;
	char *out = run_cmd(&rc, "cd / && setsid nohup %s serve --config %s >>%s/log/serve.out 2>&1 "
			    "</dev/null & echo $! >%s/run/serve.pgid", bin(), conf_path(), stack_dir(),
			    stack_dir());
	ck_assert_msg(rc == 0, "restart: %s", out);
	bool up = false;
	for (int i = 0; i < 150 && !up; i++) {
		r = http_get("/ready", NULL);
		up = r->status == 200;
		http_free(r);
		if (!up)
			usleep(200000);
	}
	ck_assert_msg(up, "tessera serve did not come back");
	r = call("GET", t.key, NULL, "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

Suite *suite_files(void)
{
	Suite *s = suite_create("files");
	TCase *tc = tcase_new_slow(s, "files");
	tcase_add_test(tc, upload_detects_mime_from_content_records_sha256_and_emits_file_uploaded);
	tcase_add_test(tc, bad_uploads_are_refused_with_the_field_named_and_nothing_written);
	tcase_add_test(tc, an_upload_over_25_mb_gets_the_413_envelope_from_nginx);
	tcase_add_test(tc, an_upload_beyond_the_storage_quota_is_refused_before_bytes_are_kept);
	tcase_add_test(tc, content_is_streamed_by_nginx_with_range_etag_and_disposition);
	tcase_add_test(tc, signed_urls_are_checked_by_nginx_ttl_tampering_and_expiry);
	tcase_add_test(tc, public_files_are_served_without_a_token_until_made_private);
	tcase_add_test(tc, variants_have_the_asked_dimensions_and_are_cached);
	tcase_add_test(tc, a_presigned_upload_larger_than_25_mb_goes_pending_put_complete_ready);
	tcase_add_test(tc, stale_pending_uploads_are_cleaned_and_their_quota_returned);
	tcase_add_test(tc, patch_versions_trash_restore_and_the_purge_job);
	tcase_add_test(tc, older_versions_are_downloaded_signed_and_deleted_one_by_one);
	tcase_add_test(tc, files_keep_versions_prunes_the_oldest_versions);
	tcase_add_test(tc, permanent_delete_and_emptying_the_trash_free_the_quota_at_once);
	tcase_add_test(tc, bucket_rules_are_enforced_on_every_upload_path);
	tcase_add_test(tc, variants_have_signed_urls_and_public_files_public_ones);
	tcase_add_test(tc, variant_transforms_crop_gravity_rotate_blur_quality);
	tcase_add_test(tc, inline_disposition_only_for_types_safe_to_display);
	tcase_add_test(tc, batch_search_folders_and_stats);
	tcase_add_test(tc, another_tenants_file_is_not_found_on_every_endpoint);
	tcase_add_test(tc, end_users_see_and_change_only_the_files_they_uploaded);
	TCase *down = tcase_new_slow(s, "files_fastcgi_down");
	tcase_add_test(down, a_signed_url_is_served_while_the_fastcgi_pool_is_stopped);
	return s;
}
