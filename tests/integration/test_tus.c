/*
 * test_tus.c - resumable uploads (tus 1.0.0) through nginx: the protocol
 * step by step (creation, HEAD, PATCH with offsets and checksums,
 * expiration headers, termination, discovery), tenants kept apart, and
 * the real client library (tus-js-client under Node) uploading 60 MB in
 * 5 MB chunks with the connection cut and resumed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"

static const char *const TUS[] = { "Tus-Resumable: 1.0.0", NULL };

static long long used_storage(const char *key)
{
	http_resp *r = http_get("/v1/usage", key);
	assert_envelope(r, 200, NULL);
	long long v = (long long)item(resp_data(r), "used_storage_bytes")->valuedouble;
	http_free(r);
	return v;
}

/* POST /v1/files/uploads/tus with these headers (after Tus-Resumable). */
static http_resp *create(const char *key, const char *length, const char *metadata)
{
	const char *h[4] = { "Tus-Resumable: 1.0.0", NULL, NULL, NULL };
	int n = 1;
	char *l = length ? strf("Upload-Length: %s", length) : NULL;
	char *m = metadata ? strf("Upload-Metadata: %s", metadata) : NULL;
	if (l)
		h[n++] = l;
	if (m)
		h[n++] = m;
	http_resp *r = http_req("POST", "/v1/files/uploads/tus", key, NULL, NULL, 0, h);
	free(l);
	free(m);
	return r;
}

/* The path part of the Location of a created upload. */
static char *upload_path(const http_resp *r)
{
	char *loc = resp_header(r, "Location");
	ck_assert_ptr_nonnull(loc);
	char *p = strstr(loc, "/v1/files/uploads/tus/");
	ck_assert_ptr_nonnull(p);
	char *out = strdup(p);
	free(loc);
	return out;
}

static http_resp *patch(const char *key, const char *path, long long offset, const char *data,
			size_t len, const char *checksum)
{
	char *o = strf("Upload-Offset: %lld", offset);
	char *c = checksum ? strf("Upload-Checksum: %s", checksum) : NULL;
	const char *h[] = { "Tus-Resumable: 1.0.0", o, c, NULL };
	http_resp *r = http_req("PATCH", path, key, "application/offset+octet-stream", data, len, h);
	free(o);
	free(c);
	return r;
}

static long long head_offset(const char *key, const char *path)
{
	http_resp *r = http_req("HEAD", path, key, NULL, NULL, 0, TUS);
	ck_assert_int_eq(r->status, 200);
	char *o = resp_header(r, "Upload-Offset");
	ck_assert_ptr_nonnull(o);
	long long v = atoll(o);
	free(o);
	http_free(r);
	return v;
}

/* "sha1 <base64>" of data. */
static char *sha1_header(const char *data, size_t len)
{
	int rc;
	char *path = strf("/tmp/tessera-tus-%d", (int)getpid());
	FILE *f = fopen(path, "wb");
	fwrite(data, 1, len, f);
	fclose(f);
	char *out = run_cmd(&rc, "openssl dgst -sha1 -binary %s | base64", path);
	ck_assert_int_eq(rc, 0);
	unlink(path);
	free(path);
	out[strcspn(out, "\n")] = '\0';
	char *h = strf("sha1 %s", out);
	free(out);
	return h;
}

START_TEST(the_protocol_step_by_step)
{
	struct tenant t;
	tenant_make(&t);
	/* Discovery, answered by nginx. */
	http_resp *r = http_req("OPTIONS", "/v1/files/uploads/tus", NULL, NULL, NULL, 0, NULL);
	ck_assert_int_eq(r->status, 204);
	ck_assert_str_eq(resp_header(r, "Tus-Version"), "1.0.0");
	ck_assert_str_eq(resp_header(r, "Tus-Extension"), "creation,expiration,checksum,termination");
	ck_assert(atoll(resp_header(r, "Tus-Max-Size")) >= 1024 * 1024);
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Tus-Checksum-Algorithm"), "sha1"));
	http_free(r);

	/* Another protocol version is 412 with the one spoken. */
	const char *old[] = { "Tus-Resumable: 0.2.2", "Upload-Length: 10", NULL };
	r = http_req("POST", "/v1/files/uploads/tus", t.key, NULL, NULL, 0, old);
	assert_fail_field(r, 412, "PRECONDITION_FAILED", "Tus-Resumable");
	ck_assert_str_eq(resp_header(r, "Tus-Version"), "1.0.0");
	http_free(r);

	const char text[] = "Hello, resumable world!\n";   /* 24 bytes */
	/* filename "notes.txt", filetype "text/plain", folder "docs" */
	r = create(t.key, "24", "filename bm90ZXMudHh0,filetype dGV4dC9wbGFpbg==,folder ZG9jcw==,"
			 "is_confidential");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(resp_header(r, "Tus-Resumable"), "1.0.0");
	ck_assert_str_eq(resp_header(r, "Upload-Offset"), "0");
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Upload-Expires"), " GMT"));
	char *path = upload_path(r);
	char *id = strdup(json_str(resp_data(r), "file_id"));
	ck_assert_ptr_nonnull(strstr(path, id));
	http_free(r);
	ck_assert_int_eq(used_storage(t.key), 24);   /* reserved at creation */

	r = http_req("HEAD", path, t.key, NULL, NULL, 0, TUS);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, 0);
	ck_assert_str_eq(resp_header(r, "Upload-Offset"), "0");
	ck_assert_str_eq(resp_header(r, "Upload-Length"), "24");
	ck_assert_str_eq(resp_header(r, "Cache-Control"), "no-store");
	ck_assert_ptr_nonnull(strstr(resp_header(r, "Upload-Metadata"), "filename bm90ZXMudHh0"));
	http_free(r);

	/* A chunk must be offset+octet-stream, at the offset, whole. */
	const char *h[] = { "Tus-Resumable: 1.0.0", "Upload-Offset: 0", NULL };
	r = http_req("PATCH", path, t.key, "application/octet-stream", text, 10, h);
	assert_envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE");
	http_free(r);
	r = patch(t.key, path, 5, text, 10, NULL);
	assert_fail_field(r, 409, "CONFLICT", "Upload-Offset");
	http_free(r);
	r = patch(t.key, path, 0, text, 10, "sha1 AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	assert_fail_field(r, 460, "CHECKSUM_MISMATCH", "Upload-Checksum");
	http_free(r);
	r = patch(t.key, path, 0, text, 10, "crc32 AAAA");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "Upload-Checksum");
	http_free(r);
	ck_assert_int_eq(head_offset(t.key, path), 0);   /* nothing was kept */

	char *sum = sha1_header(text, 10);
	r = patch(t.key, path, 0, text, 10, sum);
	ck_assert_msg(r->status == 204, "%ld %s", r->status, r->body);
	ck_assert_str_eq(resp_header(r, "Upload-Offset"), "10");
	ck_assert_str_eq(resp_header(r, "Tus-Resumable"), "1.0.0");
	ck_assert_ptr_nonnull(resp_header(r, "Upload-Expires"));
	http_free(r);
	ck_assert_int_eq(head_offset(t.key, path), 10);
	/* Not a file yet. */
	r = call("GET", t.key, NULL, "/v1/files/%s/content", id);
	ck_assert_int_ne(r->status, 200);
	http_free(r);
	r = patch(t.key, path, 10, "0123456789abcdefXYZ", 19, NULL);   /* 5 past the length */
	assert_envelope(r, 413, "PAYLOAD_TOO_LARGE");
	http_free(r);

	r = patch(t.key, path, 10, text + 10, 14, NULL);
	ck_assert_msg(r->status == 204, "%ld %s", r->status, r->body);
	ck_assert_str_eq(resp_header(r, "Upload-Offset"), "24");
	http_free(r);
	/* Complete: a file like any upload, sniffed and checksummed. */
	r = call("GET", t.key, NULL, "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "ready");
	ck_assert_str_eq(json_str(resp_data(r), "filename"), "notes.txt");
	ck_assert_str_eq(json_str(resp_data(r), "folder"), "docs");
	ck_assert_str_eq(json_str(resp_data(r), "mime_type"), "text/plain");
	unsigned char dg[32];
	char hex[65];
	crypto_hash_sha256(dg, (const unsigned char *)text, 24);
	sodium_bin2hex(hex, sizeof(hex), dg, 32);
	ck_assert_str_eq(json_str(resp_data(r), "checksum_sha256"), hex);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/content", id);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, 24);
	ck_assert(memcmp(r->body, text, 24) == 0);
	http_free(r);
	char *ev = events_of(id);
	ck_assert_str_eq(ev, "file.uploaded");
	ck_assert_int_eq(used_storage(t.key), 24);
	ck_assert_int_eq(head_offset(t.key, path), 24);
	r = patch(t.key, path, 24, "x", 1, NULL);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = http_req("DELETE", path, t.key, NULL, NULL, 0, TUS);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	free(ev);
	free(sum);
	free(path);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(termination_bad_headers_and_other_tenants)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	http_resp *r = create(a.key, "100", NULL);
	assert_envelope(r, 201, NULL);
	char *path = upload_path(r);
	char *id = strdup(json_str(resp_data(r), "file_id"));
	http_free(r);
	r = patch(a.key, path, 0, "0123456789", 10, NULL);
	ck_assert_int_eq(r->status, 204);
	http_free(r);
	/* Another tenant's upload does not exist for b, whatever the method. */
	const char *methods[] = { "HEAD", "GET", "DELETE" };
	for (size_t i = 0; i < 3; i++) {
		r = http_req(methods[i], path, b.key, NULL, NULL, 0, TUS);
		ck_assert_msg(r->status == 404, "%s: %ld", methods[i], r->status);
		http_free(r);
	}
	r = patch(b.key, path, 10, "abc", 3, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	ck_assert_int_eq(head_offset(a.key, path), 10);
	/* A presigned pending upload is no tus upload. */
	r = http_json("POST", "/v1/files/upload-url", a.key, "{\"filename\":\"p.bin\",\"size_bytes\":5}");
	assert_envelope(r, 201, NULL);
	char *pre = strf("/v1/files/uploads/tus/%s", json_str(resp_data(r), "file_id"));
	http_free(r);
	r = http_req("HEAD", pre, a.key, NULL, NULL, 0, TUS);
	ck_assert_int_eq(r->status, 404);
	http_free(r);

	/* Bad creation headers: each a 400 naming the header. */
	static const struct {
		const char *length, *metadata, *field;
	} bad[] = {
		{ NULL, NULL, "Upload-Length" }, { "-1", NULL, "Upload-Length" },
		{ "ten", NULL, "Upload-Length" }, { "5", "filename %%%", "Upload-Metadata" },
		{ "5", "filename //8=", "Upload-Metadata" }, { "5", "access cHVibGlra2k=", "access" },
		{ "5", "filename Li4vZXRjL3Bhc3N3ZA==", "filename" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = create(a.key, bad[i].length, bad[i].metadata);
		ck_assert_msg(r->status == 400, "case %zu: %ld %s", i, r->status, r->body);
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	r = create(a.key, "99999999999999", NULL);
	assert_fail_field(r, 413, "PAYLOAD_TOO_LARGE", "Upload-Length");
	http_free(r);
	r = http_req("POST", "/v1/files/uploads/tus", NULL, NULL, NULL, 0, TUS);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	long long used = used_storage(a.key);

	/* Termination frees the quota and the bytes. */
	r = http_req("DELETE", path, a.key, NULL, NULL, 0, TUS);
	ck_assert_int_eq(r->status, 204);
	ck_assert_str_eq(resp_header(r, "Tus-Resumable"), "1.0.0");
	http_free(r);
	r = http_req("HEAD", path, a.key, NULL, NULL, 0, TUS);
	ck_assert_int_eq(r->status, 404);
	http_free(r);
	ck_assert_int_eq(used_storage(a.key), used - 100);
	int rc;
	char *ls = run_cmd(&rc, "test -e %s/storage/%s/files/%s && echo there || echo gone",
			   getenv("TESSERA_TEST_DIR"), a.id, id);
	ck_assert_str_eq(ls, "gone\n");
	free(ls);
	free(pre);
	free(path);
	free(id);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/* tus-js-client, the reference client, under Node: 60 MB in 5 MB chunks,
 * the first attempt aborted part-way, the second resuming where the server
 * says. */
START_TEST(tus_js_client_uploads_60_mb_resuming_after_a_cut)
{
	int rc;
	char *mods = run_cmd(&rc, "%s/tools/test-npm/install 2>&1", getenv("TESSERA_TEST_REPO"));
	if (rc == 2 << 8 || rc == 2) {
		fprintf(stderr, "tus-js-client test skipped: %s", mods);
		free(mods);
		return;
	}
	ck_assert_msg(rc == 0, "tools/test-npm/install: %s", mods);
	mods[strcspn(mods, "\n")] = '\0';
	struct tenant t;
	tenant_make(&t);
	char *file = strf("/tmp/tessera-tus-big-%d", (int)getpid());
	char *out = run_cmd(&rc, "head -c 62914560 /dev/urandom > %s && sha256sum %s", file, file);
	ck_assert_int_eq(rc, 0);
	out[64] = '\0';
	char *js = run_cmd(&rc, "NODE_PATH=%s node %s/tests/integration/tus_client.js "
			   "%s/v1/files/uploads/tus %s %s 5242880 0.4 2>&1", mods,
			   getenv("TESSERA_TEST_REPO"), getenv("TESSERA_TEST_URL"), t.key, file);
	ck_assert_msg(rc == 0, "tus_client.js: %s", js);
	cJSON *res = cJSON_Parse(js);
	ck_assert_msg(res != NULL, "%s", js);
	ck_assert(cJSON_IsFalse(item(res, "first_done")));
	ck_assert(cJSON_IsTrue(item(res, "done")));
	long long from = (long long)item(res, "resumed_from")->valuedouble;
	ck_assert_msg(from > 0 && from < 62914560 && from % 5242880 == 0, "resumed from %lld", from);
	ck_assert_int_eq((long long)item(res, "second_sent")->valuedouble,
			 (62914560 - from + 5242879) / 5242880);
	const char *url = item(res, "url")->valuestring;
	char *id = strdup(strrchr(url, '/') + 1);
	http_resp *r = call("GET", t.key, NULL, "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "ready");
	ck_assert_str_eq(json_str(resp_data(r), "filename"), "big.bin");
	ck_assert_str_eq(json_str(resp_data(r), "folder"), "tus");
	ck_assert_str_eq(json_str(resp_data(r), "checksum_sha256"), out);
	assert_json_eq(resp_data(r), "size_bytes", "62914560");
	http_free(r);
	ck_assert_int_eq(used_storage(t.key), 62914560);
	unlink(file);
	cJSON_Delete(res);
	free(id);
	free(js);
	free(out);
	free(file);
	free(mods);
	tenant_drop(&t);
}
END_TEST

Suite *suite_tus(void)
{
	Suite *s = suite_create("tus");
	TCase *tc = tcase_create("tus");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, the_protocol_step_by_step);
	tcase_add_test(tc, termination_bad_headers_and_other_tenants);
	tcase_add_test(tc, tus_js_client_uploads_60_mb_resuming_after_a_cut);
	suite_add_tcase(s, tc);
	return s;
}
