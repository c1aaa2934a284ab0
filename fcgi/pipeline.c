/*
 * pipeline.c - the request path (see pipeline.h and DESIGN.md "Request
 * path").  Generic checks run here, once, so that a handler starts with
 * everything already verified.
 */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdint.h>
#include <sys/time.h>

#include "../common/config.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/lazytables.h"
#include "../common/log.h"
#include "../common/schema.h"
#include "../common/timefmt.h"
#include "gate.h"
#include "router.h"
#include "credentials.h"
#include "request.h"
#include "usage.h"

static long long now_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000000 + tv.tv_usec;
}

static bool is_json_type(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	size_t n = strcspn(ct, "; ");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return true;
	/* application/<something>+json */
	return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
	       strncasecmp(ct + n - 5, "+json", 5) == 0;
}

static err_t read_body(req_t *r)
{
	/* An upload location (nginx/tessera-locations.conf.in) buffered the body
	 * to a file and passes its path instead: the handler maps that file. */
	const char *file = req_env(r, "TESSERA_BODY_FILE");
	if (file && *file)
		return E_OK;
	const char *cl = req_env(r, "CONTENT_LENGTH");
	long long len = cl && *cl ? strtoll(cl, NULL, 10) : 0;
	if (len < 0)
		return req_fail(r, E_BAD_REQUEST, "Bad Content-Length");
	int max = route_body_max(r->route);
	if (len > max)
		return req_fail(r, E_PAYLOAD_TOO_LARGE, "Request body exceeds %d bytes", max);
	if (len == 0)
		return E_OK;
	r->body = arena_alloc(r->a, (size_t)len + 1);
	int got = FCGX_GetStr(r->body, (int)len, r->fcgi->in);
	if (got != len)
		return req_fail(r, E_BAD_REQUEST, "Request body shorter than Content-Length");
	r->body[len] = '\0';
	r->body_len = (size_t)len;
	return E_OK;
}

static err_t parse_body(req_t *r)
{
	const field_t *schema = route_body(r->route);
	if (!schema)
		return E_OK;
	if (r->body_len > 0) {
		if (!is_json_type(req_env(r, "CONTENT_TYPE")))
			return req_fail(r, E_UNSUPPORTED_MEDIA,
					"Content-Type must be application/json");
		/* JSON text is UTF-8 (RFC 8259); cJSON does not check, and
		 * MariaDB would refuse the bytes only once a handler writes. */
		size_t bad = utf8_bad_at((const unsigned char *)r->body, r->body_len);
		if (bad < r->body_len)
			return req_fail(r, E_INVALID_JSON, "The body is not valid UTF-8 (byte %zu)", bad);
		/* cJSON would cut a string at an escaped NUL (\u0000) and the rest
		 * would vanish silently: refuse it instead. */
		for (size_t i = 0; i + 5 < r->body_len; i++) {
			if (r->body[i] != '\\')
				continue;
			if (r->body[i + 1] == 'u' && !strncmp(r->body + i + 2, "0000", 4))
				return req_fail(r, E_INVALID_JSON, "Strings must not contain \\u0000");
			i++; /* skip the escaped character */
		}
		const char *end = NULL;
		r->json = req_own(r, cJSON_ParseWithLengthOpts(r->body, r->body_len, &end, false));
		if (!r->json) {
			size_t at = end ? (size_t)(end - r->body) : 0;
			return req_fail(r, E_INVALID_JSON, "Malformed JSON near byte %zu", at);
		}
		/* Trailing non-space after the value is malformed too. */
		while (end && (size_t)(end - r->body) < r->body_len &&
		       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
			end++;
		if (end && (size_t)(end - r->body) < r->body_len)
			return req_fail(r, E_INVALID_JSON, "Unexpected data after the JSON value");
		const char *deep;
		if (json_too_deep(r->json, &deep))
			return req_fail_field(r, E_VALIDATION, deep,
					      "%s nests deeper than %d levels", deep, JSON_DEPTH_MAX);
		const char *dup = json_duplicate_member(r->json);
		if (dup)
			return req_fail(r, E_INVALID_JSON, "The body names \"%.64s\" twice in one object",
					dup);
	}
	const char *field = NULL;
	char msg[256];
	if (!schema_check(schema, r->json, &field, msg, sizeof(msg))) {
		if (field)
			return req_fail_field(r, E_VALIDATION, field, "%s", msg);
		return req_fail(r, E_VALIDATION, "%s", msg);
	}
	if (!r->json)
		r->json = req_own(r, cJSON_CreateObject());
	return E_OK;
}

/* While `tessera tenant move` catches up the tenant's new copy, writes
 * (any method but GET, HEAD and OPTIONS) wait; reads go on. */
static err_t tenant_writable(req_t *r)
{
	if (!r->tenant.id || r->tenant.read_only_ms <= time_now_ms() || !strcmp(r->method, "GET") ||
	    !strcmp(r->method, "HEAD") || !strcmp(r->method, "OPTIONS"))
		return E_OK;
	reply_header(r, "Retry-After", "5");
	return req_fail(r, E_UNAVAILABLE, "This tenant is moving to another database server; "
			"writes resume in a few seconds");
}

/* Per worker: the (tenant database, route table list) pairs known to be
 * complete, so that a tenant's steady state costs no query. */
#define ENSURED_SLOTS 1024

static struct ensured {
	char db[65];
	const char *const *tables;
} ensured[ENSURED_SLOTS];

/* Makes the tables the route's handler needs that the tenant has not got
 * yet (common/lazytables.h), before any transaction of the handler. */
static err_t tables_ensure(req_t *r)
{
	const char *const *want = r->route->tables, *dbn = r->tenant.db_name;
	if (!want || !dbn || strlen(dbn) >= sizeof(ensured[0].db))
		return E_OK;
	unsigned long h = (unsigned long)(uintptr_t)want;
	for (const char *p = dbn; *p; p++)
		h = h * 33 + (unsigned char)*p;
	struct ensured *e = &ensured[h % ENSURED_SLOTS];
	if (e->tables == want && !strcmp(e->db, dbn))
		return E_OK;
	int n = 0;
	while (want[n])
		n++;
	db_param *p = arena_alloc(r->a, sizeof(*p) * (size_t)(n + 1));
	p[0] = db_str(dbn);
	for (int i = 0; i < n; i++)
		p[i + 1] = db_str(want[i]);
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT TABLE_NAME FROM "
		"information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (%s)",
		db_placeholders(r->a, n)), p, n + 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows < n) {
		char err[512];
		if (lazy_tables_create(r->db, g_config.db_name, dbn, want, n, err, sizeof(err)) < 0) {
			log_error("%s: %s", r->request_id, err);
			reply_header(r, "Retry-After", "1");
			return req_fail(r, E_UNAVAILABLE, "The tenant's tables are being prepared; try again");
		}
		log_info("%s: %s: the tables of %s %s made on first use", r->request_id, dbn,
			 r->route->method, r->route->path);
	}
	snprintf(e->db, sizeof(e->db), "%s", dbn);
	e->tables = want;
	return E_OK;
}

static err_t run(req_t *r)
{
	const char *allow = NULL;
	switch (router_match(r, r->method, r->path, &allow)) {
	case MATCH_NO_PATH:
		return req_fail(r, E_NOT_FOUND, "No endpoint at %s %s", r->method, r->path);
	case MATCH_NO_METHOD:
		if (allow)
			reply_header(r, "Allow", allow);
		return req_fail(r, E_METHOD_NOT_ALLOWED, "%s is not allowed on %s (allowed: %s)",
				r->method, r->path, allow ? allow : "");
	case MATCH_OK:
		break;
	}
	if (!r->route->handler)
		return req_fail(r, E_NOT_IMPLEMENTED, "%s %s is not implemented yet",
				r->route->method, r->route->path);
	err_t rc;
	if (r->route->auth == AUTH_BEARER && (rc = credentials_check(r)))
		return rc;
	if (r->tenant.id && (rc = req_tenant_db(r)))
		return rc;
	if (r->who.kind != PRINCIPAL_NONE && (rc = identity_gate(r)))
		return rc;
	if ((rc = req_query_check(r)) || (rc = read_body(r)))
		return rc;
	if ((rc = parse_body(r)))
		return rc;
	if ((rc = tenant_resolve(r)) || (rc = tenant_writable(r)))
		return rc;
	if ((rc = tables_ensure(r)))
		return rc;
	return r->route->handler(r);
}

/* The checks of run() that make sense for a call from inside a request:
 * the row, its scope and its body. */
static err_t sub_run(req_t *s, const char *method, const char *path)
{
	if (router_match(s, method, path, NULL) != MATCH_OK)
		return req_fail(s, E_NOT_FOUND, "No endpoint at %s %s", method, path);
	if (!s->route->handler || s->route->auth != AUTH_BEARER)
		return req_fail(s, E_FORBIDDEN, "%s %s cannot be called from here", method,
				s->route->path);
	unsigned need = route_scope_bits(s->route);
	if (need && !(s->who.scopes & (need | SCOPE_ALL)))
		return req_fail(s, E_INSUFFICIENT_SCOPE, "This call needs the \"%s\" scope",
				s->route->scope);
	const field_t *schema = route_body(s->route);
	const char *field = NULL;
	char msg[256];
	if (schema && !schema_check(schema, s->json, &field, msg, sizeof(msg)))
		return field ? req_fail_field(s, E_VALIDATION, field, "%s", msg)
			     : req_fail(s, E_VALIDATION, "%s", msg);
	if (!s->json)
		s->json = req_own(s, cJSON_CreateObject());
	err_t rc = tables_ensure(s);
	return rc ? rc : s->route->handler(s);
}

err_t pipeline_subrequest(req_t *r, const principal_t *who, const char *method, const char *path,
			  cJSON *body, cJSON **data, const char **msg)
{
	req_t s = *r;
	s.route = NULL;
	s.nparams = 0;
	s.body = NULL;
	s.body_len = 0;
	s.json = body;
	s.who = *who;
	s.status = 0;
	s.replied = false;
	s.out_headers = s.out_body = NULL;
	s.out_len = 0;
	s.err_message = NULL;
	s.err_details = s.err_extra = NULL;
	s.outbox_pending = s.streamed = false;
	const char *q = strchr(path, '?');
	s.path = q ? arena_strndup(r->a, path, (size_t)(q - path)) : path;
	s.query = q ? q + 1 : "";
	s.method = method;
	*data = NULL;
	*msg = NULL;
	err_t rc = sub_run(&s, method, s.path);
	if (db_in_transaction(s.db))
		db_rollback(s.db);
	if (rc == E_OK && (!s.replied || !s.out_body))
		rc = req_fail(&s, E_INTERNAL, "The call gave no reply");
	if (rc) {
		*msg = s.err_message ? s.err_message : err_message(rc);
		r->err_details = s.err_details;
		r->err_extra = s.err_extra;
		return rc;
	}
	cJSON *env = cJSON_ParseWithLength(s.out_body, s.out_len);
	*data = req_own(r, cJSON_DetachItemFromObjectCaseSensitive(env, "data"));
	cJSON_Delete(env);
	if (!*data)
		*data = req_own(r, cJSON_CreateNull());
	return E_OK;
}

/* The reason phrase: nginx copies the Status line as it is, and a status
 * line without one ("HTTP/1.1 401") is refused by strict clients (Python's
 * websockets, for one). */
static const char *reason_phrase(int status)
{
	static const struct { int status; const char *text; } reasons[] = {
		{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" }, { 204, "No Content" },
		{ 206, "Partial Content" }, { 301, "Moved Permanently" }, { 302, "Found" },
		{ 303, "See Other" },
		{ 304, "Not Modified" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 406, "Not Acceptable" }, { 409, "Conflict" }, { 410, "Gone" }, { 412, "Precondition Failed" },
		{ 413, "Payload Too Large" }, { 415, "Unsupported Media Type" },
		{ 422, "Unprocessable Entity" }, { 426, "Upgrade Required" },
		{ 429, "Too Many Requests" }, { 500, "Internal Server Error" },
		{ 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" }, { 460, "Checksum Mismatch" }, { 507, "Insufficient Storage" },
	};
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].status == status)
			return reasons[i].text;
	return "Status";
}

void reply_stream_start(req_t *r, int status, const char *type)
{
	r->status = status;
	r->content_type = type;
	r->replied = r->streamed = true;
	if (!r->fcgi)
		return;
	FCGX_Stream *out = r->fcgi->out;
	FCGX_FPrintF(out, "Status: %d %s\r\nContent-Type: %s\r\nX-Request-Id: %s\r\n"
		     "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n",
		     status, reason_phrase(status), type, r->request_id);
	if (r->out_headers)
		FCGX_PutS(r->out_headers, out);
	FCGX_PutS("\r\n", out);
	FCGX_FFlush(out);
}

bool reply_stream_write(req_t *r, const char *data, size_t len)
{
	if (!r->fcgi)
		return true;
	FCGX_Stream *out = r->fcgi->out;
	if (FCGX_PutStr(data, (int)len, out) != (int)len || FCGX_FFlush(out) != 0)
		return false;
	return true;
}

static void write_response(req_t *r)
{
	if (r->streamed)
		return;
	FCGX_Stream *out = r->fcgi->out;
	FCGX_FPrintF(out, "Status: %d %s\r\nContent-Type: %s\r\nX-Request-Id: %s\r\n",
		     r->status, reason_phrase(r->status),
		     r->content_type ? r->content_type : "application/json", r->request_id);
	if (strcmp(r->content_type ? r->content_type : "", "application/json") == 0)
		FCGX_PutS("Cache-Control: no-store\r\n", out);
	if (r->out_headers)
		FCGX_PutS(r->out_headers, out);
	FCGX_PutS("\r\n", out);
	if (strcmp(r->method, "HEAD") != 0 && r->out_len)
		FCGX_PutStr(r->out_body, (int)r->out_len, out);
}

static void set_request_id(req_t *r)
{
	const char *nid = req_env(r, "REQUEST_ID");
	if (nid && *nid && strlen(nid) <= 40 && strspn(nid, "0123456789abcdef") == strlen(nid))
		snprintf(r->request_id, sizeof(r->request_id), "req_%s", nid);
	else
		id_new(r->request_id, sizeof(r->request_id), "req_");
}

void pipeline_handle(FCGX_Request *f, db_t *db, cache_t *cache, arena_t *a)
{
	req_t r;
	memset(&r, 0, sizeof(r));
	r.fcgi = f;
	r.a = a;
	r.db = db;
	r.cache = cache;
	r.start_us = now_us();
	set_request_id(&r);
	r.method = req_env(&r, "REQUEST_METHOD");
	if (!r.method)
		r.method = "GET";
	const char *uri = req_env(&r, "REQUEST_URI");
	if (!uri || !*uri)
		uri = "/";
	const char *q = strchr(uri, '?');
	r.path = q ? arena_strndup(a, uri, (size_t)(q - uri)) : uri;
	r.query = q ? q + 1 : "";
	r.remote_addr = req_env(&r, "REMOTE_ADDR");

	err_t rc = run(&r);
	/* r.db: the tenant's server, or the primary */
	if (db_in_transaction(r.db) || db_in_transaction(db)) {
		log_error("%s: handler left a transaction open; rolled back", r.request_id);
		db_rollback(r.db);
		if (db_in_transaction(db))
			db_rollback(db);
	}
	if (rc != E_OK)
		reply_error(&r, rc);
	else if (!r.replied) {
		log_error("%s: handler returned without a reply", r.request_id);
		reply_error(&r, E_INTERNAL);
	}
	write_response(&r);
	if (r.tenant.id)
		usage_count_request(cache, r.tenant.id, r.route ? r.route->group : NULL, r.status);
	long long us = now_us() - r.start_us;
	log_info("%s %s %s %d %lld.%03lldms tenant=%s", r.request_id, r.method, r.path,
		 r.status, us / 1000, us % 1000, r.tenant.id ? r.tenant.id : "-");
}
