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
#include <fcntl.h>

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

/* Whether s is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], need, cp, lo;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			need = 1, cp = c & 0x1F, lo = 0x80;
		else if (c >= 0xE0 && c <= 0xEF)
			need = 2, cp = c & 0x0F, lo = 0x800;
		else if (c >= 0xF0 && c <= 0xF4)
			need = 3, cp = c & 0x07, lo = 0x10000;
		else
			return false;
		if (n - i <= need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < lo || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += need + 1;
	}
	return true;
}

/* With TESSERA_TEST_RECORD=FILE, each JSON answer is appended to FILE as
 * one line {"method","url","status","body"}: tools/check-answers then
 * checks every answer the suites saw against the OpenAPI document. */
static void record(CURL *c, const http_resp *r)
{
	const char *file = getenv("TESSERA_TEST_RECORD");
	if (!file || !r->json)
		return;
	char *url = NULL, *method = NULL, *type = NULL;
	curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &url);
	curl_easy_getinfo(c, CURLINFO_EFFECTIVE_METHOD, &method);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
	if (!type || !strstr(type, "json"))
		return; /* a file that happens to parse as JSON */
	cJSON *line = cJSON_CreateObject();
	cJSON_AddStringToObject(line, "method", method ? method : "GET");
	cJSON_AddStringToObject(line, "url", url ? url : "");
	cJSON_AddNumberToObject(line, "status", (double)r->status);
	cJSON_AddItemReferenceToObject(line, "body", r->json);
	char *text = cJSON_PrintUnformatted(line);
	cJSON_Delete(line);
	int fd = open(file, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd >= 0 && text) {
		size_t n = strlen(text);
		text[n] = '\n'; /* one write: lines of parallel tests do not mix */
		ssize_t w = write(fd, text, n + 1);
		(void)w;
	}
	if (fd >= 0)
		close(fd);
	cJSON_free(text);
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
		/* JSON is UTF-8 (RFC 8259 §8.1): a body that is not is no JSON
		 * to a client, however lenient cJSON is. */
		r->json = utf8_ok((const unsigned char *)r->body, r->body_len) ?
			  cJSON_Parse(r->body) : NULL;
		record(c, r);
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

const char *bin(void)
{
	return env_or("TESSERA_TEST_BIN", "build/tessera");
}

const char *stack_dir(void)
{
	return env_or("TESSERA_TEST_DIR", "var");
}

const char *conf_path(void)
{
	static char path[1024];
	snprintf(path, sizeof(path), "%s/tessera.conf", stack_dir());
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
			    bin(), ++seq, plan ? plan : "pro", email_opt, conf_path());
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
	char *out = run_cmd(&rc, "%s tenant %s %s --config %s 2>&1", bin(), action, tenant_id, conf_path());
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
			    bin(), tenant_id, user, role, ttl, conf_path());
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

/* ---- shared test helpers ---------------------------------------------- */

char *strf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	ck_assert(n >= 0);
	return s;
}

static http_resp *vcall(const char *method, const char *token, const char *body,
			const char *const *headers, const char *fmt, va_list ap)
{
	char *path = NULL;
	ck_assert(vasprintf(&path, fmt, ap) >= 0);
	http_resp *r = http_req(method, path, token, NULL, body, body ? strlen(body) : 0, headers);
	free(path);
	return r;
}

http_resp *call(const char *method, const char *token, const char *body, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	http_resp *r = vcall(method, token, body, NULL, fmt, ap);
	va_end(ap);
	return r;
}

http_resp *call_h(const char *method, const char *token, const char *body,
		  const char *const *headers, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	http_resp *r = vcall(method, token, body, headers, fmt, ap);
	va_end(ap);
	return r;
}

const cJSON *item(const cJSON *o, const char *name)
{
	return o ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
}

const cJSON *find_by(const cJSON *list, const char *field, const char *value)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list) {
		const char *v = json_str(it, field);
		if (v && strcmp(v, value) == 0)
			return it;
	}
	return NULL;
}

const char *detail_field(const http_resp *r)
{
	return json_str(item(item(r->json, "error"), "details"), "field");
}

const char *error_message(const http_resp *r)
{
	return json_str(item(r->json, "error"), "message");
}

void assert_fail_field(const http_resp *r, long status, const char *code, const char *field)
{
	assert_envelope(r, status, code);
	const char *f = detail_field(r);
	ck_assert_msg(f && strcmp(f, field) == 0, "want details.field %s: %s", field, r->body);
}

void assert_invalid(const http_resp *r, const char *field)
{
	assert_fail_field(r, 400, "VALIDATION_ERROR", field);
}

void assert_json_eq(const cJSON *o, const char *name, const char *want)
{
	cJSON *w = cJSON_Parse(want);
	ck_assert_msg(w != NULL, "bad expectation %s", want);
	const cJSON *v = item(o, name);
	char *got = v ? cJSON_PrintUnformatted(v) : strdup("(absent)");
	ck_assert_msg(v && cJSON_Compare(v, w, true), "%s: want %s, got %s", name, want, got);
	free(got);
	cJSON_Delete(w);
}

void assert_rfc3339(const cJSON *o, const char *name)
{
	const char *s = json_str(o, name);
	ck_assert_msg(s != NULL, "%s missing", name);
	size_t n = strlen(s);
	bool ok = (n == 20 || n == 24) && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
		  s[16] == ':' && s[n - 1] == 'Z' && (n == 20 || s[19] == '.');
	ck_assert_msg(ok, "%s is not RFC 3339 UTC: %s", name, s);
}

bool is_utc_time(const char *s)
{
	return s && strlen(s) >= 20 && s[4] == '-' && s[10] == 'T' && s[strlen(s) - 1] == 'Z';
}

const cJSON *prop_of(const cJSON *obj, const char *name)
{
	return item(item(obj, "properties"), name);
}

void tenant_make(struct tenant *t)
{
	t->key_id = NULL;
	ck_assert_msg(tenant_new("pro", &t->id, &t->key) == 0, "tenant create failed");
}

void tenant_make_keyed(struct tenant *t, const char *plan)
{
	ck_assert_msg(tenant_new(plan, &t->id, &t->key) == 0, "tenant create failed");
	http_resp *r = http_get("/v1/keys", t->key);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	t->key_id = strdup(json_str(cJSON_GetArrayItem(resp_data(r), 0), "id"));
	http_free(r);
}

void tenant_drop(struct tenant *t)
{
	free(t->id);
	free(t->key);
	free(t->key_id);
}

char *type_make(const char *key, const char *name)
{
	char *body = strf("{\"name\":\"%s\"}", name);
	http_resp *r = http_json("POST", "/v1/object-types", key, body);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	free(body);
	return id;
}

char *prop_new(const char *key, const char *type, const char *json)
{
	http_resp *r = call("POST", key, json, "/v1/object-types/%s/properties", type);
	ck_assert_msg(r->status == 201, "property %s: %ld %s", json, r->status, r->body);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

void prop_make(const char *key, const char *type, const char *json)
{
	free(prop_new(key, type, json));
}

http_resp *obj_create(const char *key, const char *type, const char *props)
{
	char *body = strf("{\"properties\":%s}", props);
	http_resp *r = call("POST", key, body, "/v1/objects/%s", type);
	free(body);
	return r;
}

char *obj_make(const char *key, const char *type, const char *props)
{
	http_resp *r = obj_create(key, type, props);
	ck_assert_msg(r->status == 201, "create %s %s: %ld %s", type, props, r->status, r->body);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

http_resp *file_upload_bytes(const char *key, const char *filename, const char *type,
			     const void *data, size_t len)
{
	char *head = strf("--hb7Qz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"%s\"\r\n"
			  "Content-Type: %s\r\n\r\n", filename, type);
	static const char tail[] = "\r\n--hb7Qz--\r\n";
	size_t hl = strlen(head), n = hl + len + sizeof(tail) - 1;
	char *body = malloc(n);
	ck_assert(body != NULL);
	memcpy(body, head, hl);
	memcpy(body + hl, data, len);
	memcpy(body + hl + len, tail, sizeof(tail) - 1);
	http_resp *r = http_req("POST", "/v1/files/upload", key, "multipart/form-data; boundary=hb7Qz",
				body, n, NULL);
	free(body);
	free(head);
	return r;
}

char *file_upload_text(const char *key, const char *filename, const char *text)
{
	http_resp *r = file_upload_bytes(key, filename, "text/plain", text, strlen(text));
	ck_assert_msg(r->status == 201, "upload %s: %ld %s", filename, r->status, r->body);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

void audit_get(struct audit_page *p, const char *admin, const char *query)
{
	char *path = strf("/v1/audit-logs%s", query ? query : "");
	p->r = http_get(path, admin);
	free(path);
	assert_envelope(p->r, 200, NULL);
	const cJSON *d = resp_data(p->r);
	p->logs = item(d, "logs");
	ck_assert_msg(cJSON_IsArray(p->logs), "logs: %s", p->r->body);
	const cJSON *tot = item(d, "total");
	ck_assert_msg(cJSON_IsNumber(tot), "total: %s", p->r->body);
	p->total = tot->valueint;
}

const cJSON *audit_find(const cJSON *logs, const char *action, const char *resource_id)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, logs) {
		const char *a = json_str(it, "action"), *id = json_str(it, "resource_id");
		if (a && id && strcmp(a, action) == 0 && strcmp(id, resource_id) == 0)
			return it;
	}
	return NULL;
}

char *conf_value(const char *name)
{
	FILE *f = fopen(conf_path(), "r");
	ck_assert_msg(f != NULL, "cannot read %s", conf_path());
	char line[1024], *found = NULL;
	size_t n = strlen(name);
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " \t");
		if (strncmp(p, name, n) != 0)
			continue;
		p += n;
		p += strspn(p, " \t");
		if (*p != '=')
			continue;
		p++;
		p += strspn(p, " \t");
		p[strcspn(p, " \t\r\n#")] = '\0';
		free(found);
		found = strdup(p);
	}
	fclose(f);
	return found;
}

/* conf_value, asserting the setting is there. */
static char *conf_need(const char *name)
{
	char *v = conf_value(name);
	ck_assert_msg(v != NULL, "%s not in %s", name, conf_path());
	return v;
}

char *control_sql(const char *sql)
{
	char *sock = conf_need("db_socket"), *user = conf_need("db_user");
	char *pw = conf_need("db_password"), *db = conf_need("db_name");
	int rc;
	char *out = run_cmd(&rc, "MYSQL_PWD='%s' mariadb --socket '%s' -u '%s' '%s' -N -B -e \"%s\" 2>&1", pw,
			    sock, user, db, sql);
	ck_assert_msg(rc == 0, "mariadb failed (%d) on %s: %s", rc, sql, out);
	free(sock);
	free(user);
	free(pw);
	free(db);
	size_t len = strlen(out);
	while (len && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == ' '))
		out[--len] = '\0';
	return out;
}

char *control_sqlf(const char *fmt, ...)
{
	char q[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	return control_sql(q);
}

void tenant_table_make(const char *db, const char *table)
{
	char *control = conf_value("db_name");
	free(control_sqlf("CREATE TABLE IF NOT EXISTS %s.%s LIKE %s_template.%s", db, table,
			  control ? control : "tessera", table));
	free(control);
}

char *events_of(const char *resource_id)
{
	char *sql = strf("SELECT event FROM outbox WHERE resource_id='%s' ORDER BY id", resource_id);
	char *out = control_sql(sql);
	free(sql);
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return out;
}

long long outbox_count(const char *tenant_id)
{
	char *sql = strf("SELECT COUNT(*) FROM outbox WHERE tenant_id='%s'", tenant_id);
	char *out = control_sql(sql);
	long long n = strtoll(out, NULL, 10);
	free(sql);
	free(out);
	return n;
}

double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void wait_for_fresh_minute(void)
{
	int s = (int)(time(NULL) % 60);
	if (s >= 56)
		sleep((unsigned)(61 - s));
}
