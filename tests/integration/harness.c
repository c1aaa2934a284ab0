/*
 * harness.c - libcurl client and command helpers for the integration tests.
 */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t add = size * n;
	char *np = realloc(b->p, b->len + add + 1);
	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, ptr, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

static http_resp *perform(CURL *c, struct curl_slist *hdrs)
{
	struct buf body = { 0 }, head = { 0 };
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	CURLcode rc = curl_easy_perform(c);
	http_resp *r = calloc(1, sizeof(*r));
	if (rc != CURLE_OK) {
		r->status = -1;
		r->body = strdup(curl_easy_strerror(rc));
		r->headers = head.p ? head.p : strdup("");
		free(body.p);
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		r->body = body.p ? body.p : strdup("");
		r->body_len = body.len;
		r->headers = head.p ? head.p : strdup("");
		r->json = cJSON_Parse(r->body);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

/* Local address requests are sent from (NULL: the system's choice). */
static char *source_addr;

void http_source_addr(const char *ip)
{
	free(source_addr);
	source_addr = ip ? strdup(ip) : NULL;
}

char *loopback_addr_random(void)
{
	static unsigned seed;
	if (!seed)
		seed = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
	char buf[32];
	/* 127.1.0.0 - 127.254.255.255: never 127.0.0.1, where the other
	 * tests run from. */
	unsigned a = 1 + (unsigned)rand_r(&seed) % 254, b = (unsigned)rand_r(&seed) % 256,
		 c = 1 + (unsigned)rand_r(&seed) % 254;
	snprintf(buf, sizeof(buf), "127.%u.%u.%u", a, b, c);
	return strdup(buf);
}

http_resp *http_req(const char *method, const char *path, const char *token,
		    const char *content_type, const char *body, size_t body_len,
		    const char *const *extra_headers)
{
	CURL *c = curl_easy_init();
	/* Sized to the path: the URL-length tests send paths above 8 KB. */
	const char *base = env_or("TESSERA_TEST_URL", "http://127.0.0.1:8080");
	size_t ulen = strlen(base) + strlen(path) + 1;
	char *url = malloc(ulen);
	ck_assert(url != NULL);
	snprintf(url, ulen, "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	free(url); /* libcurl keeps its own copy */
	if (source_addr)
		curl_easy_setopt(c, CURLOPT_INTERFACE, source_addr);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	struct curl_slist *h = NULL;
	char line[8192];
	if (token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	if (body) {
		snprintf(line, sizeof(line), "Content-Type: %s",
			 content_type ? content_type : "application/json");
		h = curl_slist_append(h, line);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	h = curl_slist_append(h, "Expect:");
	for (const char *const *e = extra_headers; e && *e; e++)
		h = curl_slist_append(h, *e);
	return perform(c, h);
}

http_resp *http_get(const char *path, const char *token)
{
	return http_req("GET", path, token, NULL, NULL, 0, NULL);
}

http_resp *http_json(const char *method, const char *path, const char *token, const char *json)
{
	return http_req(method, path, token, NULL, json, json ? strlen(json) : 0, NULL);
}

http_resp *http_req_url(const char *url, int verify)
{
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	return perform(c, NULL);
}

void http_free(http_resp *r)
{
	if (!r)
		return;
	cJSON_Delete(r->json);
	free(r->body);
	free(r->headers);
	free(r);
}

char *resp_header(const http_resp *r, const char *name)
{
	size_t n = strlen(name);
	const char *p = r->headers;
	char *found = NULL;
	while (p && *p) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			free(found);
			found = strndup(v, len - (size_t)(v - p));
		}
		p = eol ? eol + 2 : NULL;
	}
	return found;
}

const cJSON *resp_data(const http_resp *r)
{
	return r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "data") : NULL;
}

const char *json_str(const cJSON *obj, const char *name)
{
	const cJSON *v = obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *resp_error_code(const http_resp *r)
{
	const cJSON *e = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "error") : NULL;
	return json_str(e, "code");
}

void assert_envelope(const http_resp *r, long status, const char *error_code)
{
	ck_assert_msg(r->status == status, "expected HTTP %ld, got %ld: %s", status, r->status, r->body);
	ck_assert_msg(r->json != NULL, "body is not JSON: %s", r->body);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(r->json, "success");
	ck_assert_msg(cJSON_IsBool(ok), "no success flag: %s", r->body);
	ck_assert_msg(cJSON_IsTrue(ok) == (error_code == NULL), "success flag wrong: %s", r->body);
	const char *rid = json_str(r->json, "request_id");
	ck_assert_msg(rid && strncmp(rid, "req_", 4) == 0, "request_id missing: %s", r->body);
	char *hid = resp_header(r, "X-Request-Id");
	ck_assert_msg(hid && strcmp(hid, rid) == 0, "X-Request-Id %s != body %s", hid ? hid : "(none)", rid);
	free(hid);
	if (error_code) {
		const char *code = resp_error_code(r);
		ck_assert_msg(code && strcmp(code, error_code) == 0, "expected %s, got %s", error_code, r->body);
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(r->json, "error");
		ck_assert_msg(json_str(e, "message") != NULL, "error.message missing: %s", r->body);
	}
}

char *run_cmd(int *rc, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	if (!f) {
		*rc = -1;
		return strdup("");
	}
	struct buf b = { 0 };
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		on_data(chunk, 1, n, &b);
	int st = pclose(f);
	*rc = WEXITSTATUS(st);
	return b.p ? b.p : strdup("");
}

static const char *bin(void)
{
	return env_or("TESSERA_TEST_BIN", "build/tessera");
}

static const char *config(void)
{
	static char path[1024];
	snprintf(path, sizeof(path), "%s/tessera.conf", env_or("TESSERA_TEST_DIR", "var"));
	return path;
}

int tenant_new(const char *plan, char **tenant_id, char **api_key)
{
	return tenant_new_email(plan, NULL, tenant_id, api_key);
}

int tenant_new_email(const char *plan, const char *email, char **tenant_id, char **api_key)
{
	static int seq;
	int rc;
	char email_opt[300] = "";
	if (email)
		snprintf(email_opt, sizeof(email_opt), " --email '%s'", email);
	char *out = run_cmd(&rc, "%s tenant create --name 'Test tenant %d' --plan %s%s --json --config %s 2>&1",
			    bin(), ++seq, plan ? plan : "pro", email_opt, config());
	cJSON *j = cJSON_Parse(out);
	if (rc != 0 || !j) {
		fprintf(stderr, "tenant create failed: %s\n", out);
		free(out);
		cJSON_Delete(j);
		return -1;
	}
	*tenant_id = strdup(json_str(j, "tenant_id"));
	*api_key = strdup(json_str(j, "api_key"));
	cJSON_Delete(j);
	free(out);
	return 0;
}

int tenant_set_status(const char *tenant_id, const char *action)
{
	int rc;
	char *out = run_cmd(&rc, "%s tenant %s %s --config %s 2>&1", bin(), action, tenant_id, config());
	if (rc != 0)
		fprintf(stderr, "tenant %s %s failed: %s\n", action, tenant_id, out);
	free(out);
	return rc == 0 ? 0 : -1;
}

char *key_new(const char *admin_key, const char *json_body, char **key_id)
{
	http_resp *r = http_json("POST", "/v1/keys", admin_key, json_body);
	ck_assert_msg(r->status == 201, "key create: %ld %s", r->status, r->body);
	const cJSON *d = resp_data(r);
	char *tok = strdup(json_str(d, "token"));
	if (key_id)
		*key_id = strdup(json_str(cJSON_GetObjectItemCaseSensitive(d, "key"), "id"));
	http_free(r);
	return tok;
}

char *jwt_mint(const char *tenant_id, const char *user, const char *role, int ttl,
	       char **session_id)
{
	int rc;
	char *out = run_cmd(&rc, "%s token mint --tenant %s --user %s --role %s --ttl %d --json --config %s 2>&1",
			    bin(), tenant_id, user, role, ttl, config());
	cJSON *j = cJSON_Parse(out);
	ck_assert_msg(rc == 0 && j, "token mint failed: %s", out);
	char *tok = strdup(json_str(j, "token"));
	if (session_id)
		*session_id = strdup(json_str(j, "session_id"));
	cJSON_Delete(j);
	free(out);
	return tok;
}

TCase *tcase_new_slow(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return tc;
}
