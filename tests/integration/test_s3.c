/*
 * test_s3.c - storage_backend = s3 against a real S3-compatible server.
 *
 * The suite starts its own stack (tools/stack up --conf-extra: the harness's
 * stack keeps the local disk) whose bucket is s3rver (npm, the store on
 * loopback) behind s3_verify.py, which refuses any request whose SigV4
 * signature botocore does not compute identically, the app's and nginx's
 * alike.  What lands in the bucket is read from s3rver's own directory
 * (<data>/<bucket>/<key>._S3rver_object), independently of Tessera.  While
 * the suite runs, TESSERA_TEST_URL and TESSERA_TEST_DIR name that stack, so
 * the harness's helpers (tenants, requests) talk to it.
 */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "peers.h"

Suite *suite_s3(void);

#define S3_BUCKET "tessera"
#define S3_KEY "S3RVER"          /* the account s3rver knows */
#define S3_SECRET "s3-suite/secret+key"
#define S3_REGION "eu-west-3"

static struct {
	char *skip;         /* why the suite cannot run here, or NULL */
	pid_t s3rver, verify;
	int verify_port;
	char *dir;          /* the S3 stack's directory */
	char *data;         /* s3rver's directory */
	char *url;          /* the S3 stack's base URL */
	char *mods;         /* build/test-npm/node_modules */
	struct own_stack stack;
} S;

static void spawn_s3rver(void)
{
	int port = free_port();
	char *script = strf("%s/s3rver/bin/s3rver.js", S.mods), *p = strf("%d", port);
	char *log = strf("%s/log/s3rver.out", stack_dir());
	const char *argv[] = { "/usr/bin/node", script, "-d", S.data, "-a", "127.0.0.1", "-p", p,
			       "--configure-bucket", S3_BUCKET, "--silent", NULL };
	S.s3rver = proc_spawn(NULL, argv, log);
	for (int i = 0; i < 100 && !port_open(port); i++)
		sleep_ms(100);
	ck_assert_msg(port_open(port), "s3rver did not start (see %s)", log);
	char *portfile = strf("%s/tmp/s3_verify-%d.port", stack_dir(), (int)getpid());
	char *script2 = strf("%s/tests/integration/s3_verify.py", env_or("TESSERA_TEST_REPO", "."));
	char *log2 = strf("%s/log/s3_verify.out", stack_dir());
	const char *argv2[] = { "/usr/bin/python3", script2, "--port-file", portfile, "--upstream", p,
				"--access", S3_KEY, "--secret", S3_SECRET, "--region", S3_REGION, NULL };
	unlink(portfile);
	S.verify = proc_spawn(NULL, argv2, log2);
	for (int i = 0; i < 100 && !S.verify_port; i++) {
		FILE *f = fopen(portfile, "r");
		if (!f || fscanf(f, "%d", &S.verify_port) != 1)
			sleep_ms(100);
		if (f)
			fclose(f);
	}
	ck_assert_msg(S.verify_port > 0, "s3_verify.py did not start (see %s)", log2);
	unlink(portfile);
	free(script), free(p), free(log), free(portfile), free(script2), free(log2);
}

/* s3rver, the verifier and a stack configured for them; the harness's
 * helpers then point at that stack. */
static void s3_setup(void)
{
	int rc;
	S.mods = run_cmd(&rc, "%s/tools/test-npm/install 2>&1", env_or("TESSERA_TEST_REPO", "."));
	if (rc == 2 << 8 || rc == 2) {
		S.skip = S.mods;
		return;
	}
	ck_assert_msg(rc == 0, "tools/test-npm/install: %s", S.mods);
	S.mods[strcspn(S.mods, "\n")] = '\0';
	S.dir = strf("%s/s3stack", stack_dir());
	S.data = strf("%s/s3data", stack_dir());
	ck_assert(mkdir(S.data, 0700) == 0 || errno == EEXIST);
	spawn_s3rver();
	char *extra = strf("storage_backend = s3\ns3_endpoint = http://127.0.0.1:%d\n"
			   "s3_region = %s\ns3_bucket = %s\ns3_access_key = %s\ns3_secret_key = %s\n"
			   "s3_path_style = true\ns3_presign_ttl = 120\n", S.verify_port, S3_REGION,
			   S3_BUCKET, S3_KEY, S3_SECRET);
	own_stack_up(&S.stack, S.dir, extra, NULL);
	free(extra);
	S.url = S.stack.url;
}

static void s3_teardown(void)
{
	if (S.skip)
		return;
	own_stack_down(&S.stack);
	proc_stop(S.verify);
	proc_stop(S.s3rver);
}

/* --- what the bucket holds, read from s3rver's directory ---------------- */

static char *object_path(const char *key)
{
	return strf("%s/%s/%s._S3rver_object", S.data, S3_BUCKET, key);
}

/* The stored bytes of key (malloc'd, *len), or NULL when there are none. */
static char *bucket_read(const char *key, size_t *len)
{
	char *path = object_path(key);
	FILE *f = fopen(path, "rb");
	free(path);
	if (!f)
		return NULL;
	struct stat sb;
	ck_assert(fstat(fileno(f), &sb) == 0);
	char *buf = malloc((size_t)sb.st_size + 1);
	*len = fread(buf, 1, (size_t)sb.st_size, f);
	fclose(f);
	return buf;
}

static void assert_in_bucket(const char *key, const char *data, size_t len)
{
	size_t n = 0;
	char *got = bucket_read(key, &n);
	ck_assert_msg(got != NULL, "no object %s in the bucket", key);
	ck_assert_msg(n == len && !memcmp(got, data, len), "object %s: %zu bytes, not the %zu sent",
		      key, n, len);
	free(got);
}

/* Objects of the bucket under prefix (a directory of s3rver's). */
static int bucket_count(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char *p = strf("%s/%s", dir, e->d_name);
		struct stat sb;
		if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
			n += bucket_count(p);
		else if (strstr(e->d_name, "._S3rver_object") && !strstr(e->d_name, ".md5"))
			n++;
		free(p);
	}
	closedir(d);
	return n;
}

static int objects_of_file(const char *tenant, const char *id)
{
	char *dir = strf("%s/%s/%s/files/%s", S.data, S3_BUCKET, tenant, id);
	int n = bucket_count(dir);
	free(dir);
	return n;
}

/* The verifier's count of refused requests. */
static int refused(void)
{
	char *url = strf("http://127.0.0.1:%d/_verify/stats", S.verify_port);
	http_resp *r = http_req_url(url, 1);
	free(url);
	ck_assert_msg(r->status == 200 && r->json, "verifier stats: %ld", r->status);
	int n = item(r->json, "refused")->valueint;
	http_free(r);
	return n;
}

/* --- requests ---------------------------------------------------------- */

static char *random_bytes(size_t len)
{
	char *b = malloc(len);
	randombytes_buf(b, len);
	return b;
}

static void sha256_of(char out[65], const void *data, size_t len)
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

/* GET of a URL of the S3 stack (signed or public), with an optional header. */
static http_resp *get_url(const char *url, const char *header)
{
	ck_assert_msg(!strncmp(url, S.url, strlen(S.url)), "%s is not on %s", url, S.url);
	const char *h[] = { header, NULL };
	return http_req("GET", url + strlen(S.url), NULL, NULL, NULL, 0, header ? h : NULL);
}

static char *signed_url(const char *key, const char *id)
{
	http_resp *r = call("POST", key, "{\"expires_in\":600}", "/v1/files/%s/signed-url", id);
	assert_envelope(r, 200, NULL);
	char *url = strdup(json_str(resp_data(r), "url"));
	http_free(r);
	return url;
}

static char *upload(const struct tenant *t, const char *name, const char *type, const char *data,
		    size_t len)
{
	http_resp *r = file_upload_bytes(t->key, name, type, data, len);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

static void assert_body(const http_resp *r, long status, const char *data, size_t len)
{
	ck_assert_msg(r->status == status, "status %ld: %.300s", r->status, r->body);
	ck_assert_msg(r->body_len == len && !memcmp(r->body, data, len),
		      "the body (%zu bytes) is not the %zu bytes stored", r->body_len, len);
}

/* Whether the suite cannot run here (npm unreachable), saying why. */
static bool skipped(void)
{
	if (S.skip)
		fprintf(stderr, "s3 suite skipped: %s", S.skip);
	return S.skip != NULL;
}

/* --- the cases --------------------------------------------------------- */

START_TEST(direct_upload_lands_in_the_bucket_and_both_downloads_return_its_bytes)
{
	if (skipped())
		return;
	int before = refused();
	struct tenant t;
	tenant_make(&t);
	size_t len = 3 * 1024 * 1024 + 17;
	char *data = random_bytes(len);
	char *id = upload(&t, "blob.bin", "application/octet-stream", data, len);
	char *key = strf("%s/files/%s/1", t.id, id);
	assert_in_bucket(key, data, len);
	/* The bytes are in the bucket, not under storage_root. */
	char *local = strf("%s/storage/%s", S.dir, key);
	ck_assert_msg(access(local, F_OK) != 0, "%s exists on disk too", local);

	char *url = signed_url(t.key, id);
	http_resp *r = get_url(url, NULL);
	assert_body(r, 200, data, len);
	char *cd = resp_header(r, "Content-Disposition"), *ct = resp_header(r, "Content-Type");
	ck_assert_msg(cd && !strncmp(cd, "attachment; filename=\"blob.bin\"", 31), "%s", cd);
	ck_assert_str_eq(ct, "application/octet-stream");
	char *cc = resp_header(r, "Cache-Control");
	ck_assert_msg(cc && strstr(cc, "private"), "Cache-Control: %s", cc);
	free(cd), free(ct), free(cc);
	http_free(r);

	r = call("GET", t.key, NULL, "/v1/files/%s/content", id);
	assert_body(r, 200, data, len);
	http_free(r);
	ck_assert_int_eq(refused(), before);
	free(url), free(local), free(key), free(id), free(data);
	tenant_drop(&t);
}
END_TEST

START_TEST(range_requests_are_answered_206_with_the_exact_slice)
{
	if (skipped())
		return;
	struct tenant t;
	tenant_make(&t);
	size_t len = 200000;
	char *data = random_bytes(len);
	char *id = upload(&t, "r.bin", "application/octet-stream", data, len);
	char *url = signed_url(t.key, id);
	http_resp *r = get_url(url, "Range: bytes=1000-1999");
	assert_body(r, 206, data + 1000, 1000);
	char *cr = resp_header(r, "Content-Range");
	ck_assert_str_eq(cr, "bytes 1000-1999/200000");
	free(cr);
	http_free(r);
	/* (No suffix range "bytes=-10": s3rver 3.7.1 answers it as 0-10, where
	 * S3 answers the last 10 bytes; nginx passes Range through as is.) */
	r = get_url(url, "Range: bytes=199000-");
	assert_body(r, 206, data + 199000, 1000);
	http_free(r);
	/* HEAD of a signed URL: the GET's headers, no body. */
	r = http_req("HEAD", url + strlen(S.url), NULL, NULL, NULL, 0, NULL);
	ck_assert_int_eq(r->status, 200);
	char *cl = resp_header(r, "Content-Length");
	ck_assert_str_eq(cl, "200000");
	ck_assert_uint_eq(r->body_len, 0);
	free(cl);
	http_free(r);
	const char *h[] = { "Range: bytes=199990-", NULL };
	char *path = strf("/v1/files/%s/content", id);
	r = http_req("GET", path, t.key, NULL, NULL, 0, h);
	assert_body(r, 206, data + len - 10, 10);
	http_free(r);
	free(path), free(url), free(id), free(data);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_40_mb_presigned_upload_round_trips_with_an_equal_sha256)
{
	if (skipped())
		return;
	int before = refused();
	struct tenant t;
	tenant_make(&t);
	size_t len = 40u * 1024 * 1024;
	char *data = random_bytes(len);
	char sha[65];
	sha256_of(sha, data, len);
	char *body = strf("{\"filename\":\"big.bin\",\"size_bytes\":%zu,\"checksum_sha256\":\"%s\"}",
			  len, sha);
	http_resp *r = http_json("POST", "/v1/files/upload-url", t.key, body);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "file_id"));
	char *put = strdup(json_str(resp_data(r), "upload_endpoint"));
	http_free(r);
	r = http_req("PUT", put + strlen(S.url), NULL, "application/octet-stream", data, len, NULL);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", t.key, "{}", "/v1/files/%s/upload-complete", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "checksum_sha256"), sha);
	http_free(r);
	char *key = strf("%s/files/%s/1", t.id, id);
	assert_in_bucket(key, data, len);

	char *url = signed_url(t.key, id);
	r = get_url(url, NULL);
	ck_assert_int_eq(r->status, 200);
	ck_assert_uint_eq(r->body_len, len);
	char got[65];
	sha256_of(got, r->body, r->body_len);
	ck_assert_str_eq(got, sha);
	http_free(r);
	r = get_url(url, "Range: bytes=41943000-41943039");
	assert_body(r, 206, data + 41943000, 40);
	http_free(r);
	ck_assert_int_eq(refused(), before);
	free(url), free(key), free(put), free(id), free(body), free(data);
	tenant_drop(&t);
}
END_TEST

/* tus-js-client, 12 MB in 5 MB chunks, cut part-way and resumed: the
 * chunks are assembled on disk, the finished upload goes to the bucket. */
START_TEST(a_tus_upload_lands_in_the_bucket_when_complete)
{
	if (skipped())
		return;
	struct tenant t;
	tenant_make(&t);
	size_t len = 12u * 1024 * 1024 + 5;
	char *data = random_bytes(len);
	char *file = strf("%s/tmp/tus-s3-%d.bin", S.dir, (int)getpid());
	FILE *f = fopen(file, "wb");
	ck_assert(f && fwrite(data, 1, len, f) == len);
	fclose(f);
	int rc;
	char *js = run_cmd(&rc, "NODE_PATH=%s node %s/tests/integration/tus_client.js "
			   "%s/v1/files/uploads/tus %s %s 5242880 0.5 2>&1", S.mods,
			   env_or("TESSERA_TEST_REPO", "."), S.url, t.key, file);
	ck_assert_msg(rc == 0, "tus_client.js: %s", js);
	cJSON *res = cJSON_Parse(js);
	ck_assert_msg(res && cJSON_IsTrue(item(res, "done")), "%s", js);
	const char *id = strrchr(item(res, "url")->valuestring, '/') + 1;
	char *key = strf("%s/files/%s/1", t.id, id);
	assert_in_bucket(key, data, len);
	char *staged = strf("%s/storage/%s", S.dir, key);
	ck_assert_msg(access(staged, F_OK) != 0, "the staged upload %s is still on disk", staged);
	http_resp *r = call("GET", t.key, NULL, "/v1/files/%s/content", id);
	assert_body(r, 200, data, len);
	http_free(r);
	unlink(file);
	free(staged), free(key), free(js), free(file), free(data);
	cJSON_Delete(res);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_wrong_signature_is_refused_before_the_bucket)
{
	if (skipped())
		return;
	struct tenant t;
	tenant_make(&t);
	char *id = upload(&t, "s.txt", "text/plain", "secret words\n", 13);
	char *url = signed_url(t.key, id);
	char *bad = strdup(url);
	char *tok = strstr(bad, "token=") + 6;
	*tok = *tok == 'A' ? 'B' : 'A';
	http_resp *r = get_url(bad, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	/* Another tenant's t with the same token. */
	char *other = strf("%.*s", (int)(strstr(url, "&t=") - url), url);
	char *swapped = strf("%s&t=tn_00000000000000000000000000", other);
	r = get_url(swapped, NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = get_url(url, NULL);
	assert_body(r, 200, "secret words\n", 13);
	http_free(r);
	/* The verifier itself refuses a signature botocore does not make. */
	int before = refused();
	char *forged = strf("http://127.0.0.1:%d/%s/%s/files/%s/1?X-Amz-Algorithm=AWS4-HMAC-SHA256"
			    "&X-Amz-Credential=%s%%2F20990101%%2F%s%%2Fs3%%2Faws4_request"
			    "&X-Amz-Date=20990101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
			    "&X-Amz-Signature=%064d", S.verify_port, S3_BUCKET, t.id, id, S3_KEY,
			    S3_REGION, 0);
	r = http_req_url(forged, 1);
	ck_assert_int_eq(r->status, 403);
	http_free(r);
	ck_assert_int_eq(refused(), before + 1);
	free(forged), free(swapped), free(other), free(bad), free(url), free(id);
	tenant_drop(&t);
}
END_TEST

/* A PNG of w x h made with the vips CLI (malloc'd, *len). */
static char *png_make(int w, int h, size_t *len)
{
	char *base = strf("%s/tmp/s3-img-%d", S.dir, (int)getpid());
	int rc;
	char *out = run_cmd(&rc, "vips black %s.v %d %d --bands 3 && vips linear %s.v %s.png 1 90 "
			    "--uchar 2>&1", base, w, h, base, base);
	ck_assert_msg(rc == 0, "vips: %s", out);
	char *path = strf("%s.png", base);
	FILE *f = fopen(path, "rb");
	ck_assert(f != NULL);
	char *buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	free(run_cmd(&rc, "rm -f %s.v %s.png", base, base));
	free(out), free(path), free(base);
	return buf;
}

/* The width and height a PNG's IHDR states. */
static void png_size(const http_resp *r, unsigned *w, unsigned *h)
{
	ck_assert_msg(r->body_len > 24 && !memcmp(r->body, "\x89PNG", 4), "not a PNG");
	const unsigned char *p = (const unsigned char *)r->body + 16;
	*w = (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
	*h = (unsigned)p[4] << 24 | (unsigned)p[5] << 16 | (unsigned)p[6] << 8 | p[7];
}

START_TEST(variants_are_made_from_the_bucket_and_stored_there)
{
	if (skipped())
		return;
	int before = refused();
	struct tenant t;
	tenant_make(&t);
	size_t len;
	char *png = png_make(640, 480, &len);
	http_resp *r = file_upload_bytes(t.key, "photo.png", "image/png", png, len);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/files/%s/variants/thumb", id);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	char *ct = resp_header(r, "Content-Type");
	ck_assert_str_eq(ct, "image/png");
	unsigned w, h;
	png_size(r, &w, &h);
	ck_assert_uint_eq(w, 150);
	ck_assert_uint_eq(h, 150);
	char *vkey = strf("%s/files/%s/variants/1-150x150-cover.png", t.id, id);
	assert_in_bucket(vkey, r->body, r->body_len);
	http_free(r);
	/* The variant's signed URL, served by nginx from the bucket. */
	r = call("POST", t.key, "{}", "/v1/files/%s/variants/small/signed-url", id);
	assert_envelope(r, 200, NULL);
	char *url = strdup(json_str(resp_data(r), "url"));
	http_free(r);
	r = get_url(url, NULL);
	ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
	png_size(r, &w, &h);
	ck_assert_uint_eq(w, 320);
	ck_assert_uint_eq(h, 240);
	http_free(r);
	ck_assert_int_eq(objects_of_file(t.id, id), 3);
	ck_assert_int_eq(refused(), before);
	free(url), free(vkey), free(ct), free(id), free(png);
	tenant_drop(&t);
}
END_TEST

START_TEST(public_files_are_served_from_the_bucket_without_a_token)
{
	if (skipped())
		return;
	struct tenant t;
	tenant_make(&t);
	size_t len;
	char *png = png_make(64, 48, &len);
	char *id = upload(&t, "pub.png", "image/png", png, len);
	http_resp *r = call("PATCH", t.key, "{\"access\":\"public\"}", "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	char *url = strdup(json_str(resp_data(r), "url"));
	http_free(r);
	r = get_url(url, NULL);
	assert_body(r, 200, png, len);
	char *cc = resp_header(r, "Cache-Control");
	ck_assert_msg(cc && strstr(cc, "public"), "Cache-Control: %s", cc);
	free(cc);
	http_free(r);
	r = call("PATCH", t.key, "{\"access\":\"private\"}", "/v1/files/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = get_url(url, NULL);
	ck_assert_int_eq(r->status, 404);
	http_free(r);
	free(url), free(id), free(png);
	tenant_drop(&t);
}
END_TEST

/* A new version of id (multipart with file_id), asserting 201. */
static void version_upload(const struct tenant *t, const char *id, const char *data, size_t len)
{
	char *head = strf("--vb9\r\nContent-Disposition: form-data; name=\"file_id\"\r\n\r\n%s\r\n"
			  "--vb9\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.bin\"\r\n"
			  "Content-Type: application/octet-stream\r\n\r\n", id);
	size_t hl = strlen(head);
	char *body = malloc(hl + len + 10);
	memcpy(body, head, hl);
	memcpy(body + hl, data, len);
	memcpy(body + hl + len, "\r\n--vb9--\r\n", 10);
	http_resp *r = http_req("POST", "/v1/files/upload", t->key, "multipart/form-data; boundary=vb9",
				body, hl + len + 10, NULL);
	assert_envelope(r, 201, NULL);
	http_free(r);
	free(body), free(head);
}

START_TEST(versions_keep_their_own_objects_until_deleted)
{
	if (skipped())
		return;
	struct tenant t;
	tenant_make(&t);
	size_t len = 70000;
	char *one = random_bytes(len), *two = random_bytes(len);
	char *id = upload(&t, "v.bin", "application/octet-stream", one, len);
	version_upload(&t, id, two, len);
	char *k1 = strf("%s/files/%s/1", t.id, id), *k2 = strf("%s/files/%s/2", t.id, id);
	assert_in_bucket(k1, one, len);
	assert_in_bucket(k2, two, len);
	/* The current version by a plain signed URL, the first by its own. */
	char *url = signed_url(t.key, id);
	http_resp *r = get_url(url, NULL);
	assert_body(r, 200, two, len);
	http_free(r);
	r = call("POST", t.key, "{\"version\":1}", "/v1/files/%s/signed-url", id);
	assert_envelope(r, 200, NULL);
	char *old = strdup(json_str(resp_data(r), "url"));
	http_free(r);
	r = get_url(old, NULL);
	assert_body(r, 200, one, len);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/files/%s/versions/1", id);
	ck_assert_msg(r->status == 200 || r->status == 204, "%ld %s", r->status, r->body);
	http_free(r);
	size_t n;
	char *gone = bucket_read(k1, &n);
	ck_assert_msg(gone == NULL, "version 1 is still in the bucket");
	assert_in_bucket(k2, two, len);
	r = get_url(old, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(old), free(url), free(k1), free(k2), free(id), free(one), free(two);
	tenant_drop(&t);
}
END_TEST

START_TEST(permanent_delete_removes_every_object_from_the_bucket)
{
	if (skipped())
		return;
	struct tenant t;
	tenant_make(&t);
	size_t len;
	char *png = png_make(200, 100, &len);
	char *id = upload(&t, "gone.png", "image/png", png, len);
	http_resp *r = call("GET", t.key, NULL, "/v1/files/%s/variants/thumb", id);
	ck_assert_int_eq(r->status, 200);
	http_free(r);
	char *url = signed_url(t.key, id);
	ck_assert_int_eq(objects_of_file(t.id, id), 2);
	r = call("DELETE", t.key, NULL, "/v1/files/%s?permanent=true", id);
	ck_assert_msg(r->status == 200 || r->status == 204, "%ld %s", r->status, r->body);
	http_free(r);
	ck_assert_int_eq(objects_of_file(t.id, id), 0);
	r = get_url(url, NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(url), free(id), free(png);
	tenant_drop(&t);
}
END_TEST

Suite *suite_s3(void)
{
	Suite *s = suite_create("s3");
	TCase *tc = tcase_new_slow(s, "bucket");
	tcase_add_unchecked_fixture(tc, s3_setup, s3_teardown);
	tcase_add_test(tc, direct_upload_lands_in_the_bucket_and_both_downloads_return_its_bytes);
	tcase_add_test(tc, range_requests_are_answered_206_with_the_exact_slice);
	tcase_add_test(tc, a_40_mb_presigned_upload_round_trips_with_an_equal_sha256);
	tcase_add_test(tc, a_tus_upload_lands_in_the_bucket_when_complete);
	tcase_add_test(tc, a_wrong_signature_is_refused_before_the_bucket);
	tcase_add_test(tc, variants_are_made_from_the_bucket_and_stored_there);
	tcase_add_test(tc, public_files_are_served_from_the_bucket_without_a_token);
	tcase_add_test(tc, versions_keep_their_own_objects_until_deleted);
	tcase_add_test(tc, permanent_delete_removes_every_object_from_the_bucket);
	return s;
}
