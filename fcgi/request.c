/*
 * request.c - request accessors and the reply writers (see request.h).
 * Every response body the API produces, success or error, is built here.
 */
#include "request.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysqld_error.h>

#include "../common/codec.h"
#include "../common/log.h"
#include "../common/schema.h"
#include "fanout.h"

bool req_end_user(const req_t *r)
{
	return r->who.kind == PRINCIPAL_USER && !r->who.admin;
}

const char *req_param(const req_t *r, const char *name)
{
	for (int i = 0; i < r->nparams; i++)
		if (strcmp(r->param_names[i], name) == 0)
			return r->param_values[i];
	return NULL;
}

const char *req_env(const req_t *r, const char *name)
{
	return r->fcgi ? FCGX_GetParam(name, r->fcgi->envp) : NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *url_decode(arena_t *a, const char *s, size_t len, bool form)
{
	char *out = arena_alloc(a, len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return NULL;
			int h = hexval((unsigned char)s[i + 1]), l = hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return NULL;
			c = (char)(h * 16 + l);
			if (c == '\0')
				return NULL;
			i += 2;
		} else if (form && c == '+') {
			c = ' ';
		}
		out[o++] = c;
	}
	out[o] = '\0';
	/* Every text of the API is UTF-8; bytes that are not would make the
	 * JSON that echoes or stores them invalid. */
	if (utf8_bad_at((const unsigned char *)out, o) < o)
		return NULL;
	return out;
}

/* One name=value pair of a query string, still encoded. */
struct query_pair {
	const char *key, *val; /* val NULL: "?name" alone */
	size_t klen, vlen;
};

/* The pair at *q into *p, moving *q past it; false at the end. */
static bool query_next(const char **q, struct query_pair *p)
{
	if (!*q || !**q)
		return false;
	const char *amp = strchr(*q, '&');
	size_t plen = amp ? (size_t)(amp - *q) : strlen(*q);
	const char *eq = memchr(*q, '=', plen);
	p->key = *q;
	p->klen = eq ? (size_t)(eq - *q) : plen;
	p->val = eq ? eq + 1 : NULL;
	p->vlen = eq ? plen - p->klen - 1 : 0;
	*q = amp ? amp + 1 : NULL;
	return true;
}

/* The still-encoded value of the first query parameter whose decoded name
 * is name, and its length in *len; NULL when there is none ("?name" alone
 * has the empty value). */
static const char *query_raw(req_t *r, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	struct query_pair p;
	for (const char *q = r->query; query_next(&q, &p);) {
		char *key = url_decode(r->a, p.key, p.klen, true);
		if (key && strlen(key) == nl && memcmp(key, name, nl) == 0) {
			*len = p.vlen;
			return p.val ? p.val : "";
		}
	}
	return NULL;
}

err_t req_query_check(req_t *r)
{
	struct query_pair p;
	int n = 0;
	for (const char *q = r->query; query_next(&q, &p); n++) {
		const char *key = url_decode(r->a, p.key, p.klen, true);
		if (!key)
			return req_fail(r, E_VALIDATION,
					"Query parameter %d has a name that is not valid "
					"percent-encoded UTF-8", n + 1);
		if (p.val && !url_decode(r->a, p.val, p.vlen, true))
			return req_fail_field(r, E_VALIDATION, key,
					      "Query parameter %s is not valid percent-encoded UTF-8 "
					      "(or holds a NUL)", key);
	}
	return E_OK;
}

const char *req_query(req_t *r, const char *name)
{
	size_t len;
	const char *raw = query_raw(r, name, &len);
	return raw ? url_decode(r->a, raw, len, true) : NULL;
}

err_t req_query_int(req_t *r, const char *name, long long def, long long min,
		    long long max, long long *out)
{
	size_t len;
	const char *raw = query_raw(r, name, &len);
	if (!raw) {
		*out = def;
		return E_OK;
	}
	/* Present but undecodable ("%zz") is a bad value, not an absent one. */
	const char *v = url_decode(r->a, raw, len, true);
	char *end = NULL;
	errno = 0;
	long long n = v ? strtoll(v, &end, 10) : 0;
	if (!v || !*v || *end || errno || n < min || n > max)
		return req_fail_field(r, E_VALIDATION, name,
				      "%s must be an integer between %lld and %lld", name, min, max);
	*out = n;
	return E_OK;
}

err_t req_query_bool(req_t *r, const char *name, bool def, bool *out)
{
	const char *v = req_query(r, name);
	*out = v ? !strcmp(v, "true") : def;
	if (v && strcmp(v, "true") && strcmp(v, "false"))
		return req_fail_field(r, E_VALIDATION, name, "%s must be true or false", name);
	return E_OK;
}

void reply_header(req_t *r, const char *name, const char *value)
{
	r->out_headers = arena_printf(r->a, "%s%s: %s\r\n",
				      r->out_headers ? r->out_headers : "", name, value);
}

cJSON *req_own(req_t *r, cJSON *j)
{
	if (j)
		arena_defer(r->a, (arena_cleanup_fn)cJSON_Delete, j);
	return j;
}

/* Copies a cJSON-printed string into the arena and frees the original. */
static char *print_json(req_t *r, const cJSON *j, size_t *len)
{
	char *s = cJSON_PrintUnformatted(j);
	if (!s)
		abort();
	*len = strlen(s);
	char *out = arena_strndup(r->a, s, *len);
	cJSON_free(s);
	return out;
}

void reply_data(req_t *r, int status, cJSON *data)
{
	size_t dlen = 4;
	const char *d = "null";
	if (data) {
		req_own(r, data);
		d = print_json(r, data, &dlen);
	}
	size_t cap = dlen + strlen(r->request_id) + 64;
	char *body = arena_alloc(r->a, cap);
	int n = snprintf(body, cap, "{\"success\":true,\"data\":%s,\"request_id\":\"%s\"}",
			 d, r->request_id);
	r->status = status;
	r->out_body = body;
	r->out_len = (size_t)n;
	r->content_type = "application/json";
	r->replied = true;
}

void reply_raw(req_t *r, int status, const char *type, const char *body, size_t len)
{
	r->status = status;
	r->out_body = (char *)body;
	r->out_len = len;
	r->content_type = type;
	r->replied = true;
}

void reply_error(req_t *r, err_t e)
{
	cJSON *env = req_own(r, cJSON_CreateObject());
	cJSON_AddFalseToObject(env, "success");
	cJSON *err = cJSON_AddObjectToObject(env, "error");
	cJSON_AddStringToObject(err, "code", err_code(e));
	cJSON_AddStringToObject(err, "message", r->err_message ? r->err_message : err_message(e));
	if (r->err_details)
		cJSON_AddItemToObject(err, "details", cJSON_Duplicate(r->err_details, true));
	if (r->err_extra) {
		const cJSON *it;
		cJSON_ArrayForEach(it, r->err_extra)
			cJSON_AddItemToObject(err, it->string, cJSON_Duplicate(it, true));
	}
	cJSON_AddStringToObject(env, "request_id", r->request_id);
	r->status = err_status(e);
	r->out_body = print_json(r, env, &r->out_len);
	r->content_type = "application/json";
	r->replied = true;
}

err_t req_fail(req_t *r, err_t e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = arena_vprintf(r->a, fmt, ap);
	va_end(ap);
	utf8_scrub(msg);
	r->err_message = msg;
	return e;
}

err_t req_fail_field(req_t *r, err_t e, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = arena_vprintf(r->a, fmt, ap);
	va_end(ap);
	utf8_scrub(msg);
	r->err_message = msg;
	char *f = arena_strdup(r->a, field); /* may name a client's field */
	utf8_scrub(f);
	r->err_details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(r->err_details, "field", f);
	return e;
}

err_t req_tenant_db(req_t *r)
{
	db_t *d = db_for_server(r->db, r->tenant.db_server);
	if (!d) {
		log_error("%s: tenant %s is on server %s, which db_servers does not name",
			  r->request_id, r->tenant.id, r->tenant.db_server);
		return req_fail(r, E_UNAVAILABLE, "The tenant's database is unavailable; try again shortly");
	}
	r->db = d;
	return E_OK;
}

err_t req_db_error(req_t *r, enum db_status st)
{
	switch (st) {
	case DB_OK:
		return E_OK;
	case DB_UNAVAILABLE:
		return req_fail(r, E_UNAVAILABLE, "The database is unavailable; try again shortly");
	case DB_DUPLICATE:
		return E_CONFLICT;
	case DB_DEADLOCK:
		/* Also a transaction that met a table created on first use
		 * after its snapshot (common/lazytables.h): nothing was kept. */
		reply_header(r, "Retry-After", "1");
		return req_fail(r, E_UNAVAILABLE, "The database is busy; try again");
	case DB_TIMEOUT:
		return req_fail(r, E_UNAVAILABLE, "The query took too long");
	case DB_ERROR:
		break;
	}
	/* Data the server refused (a CHECK such as JSON_VALID, a value too
	 * long or out of range, a reference) is the client's to fix: a 4xx,
	 * never a 500.  Validation should have caught it first; log it. */
	switch (db_last_errno(r->db)) {
	case ER_CONSTRAINT_FAILED:
	case ER_DATA_TOO_LONG:
	case ER_WARN_DATA_OUT_OF_RANGE:
	case ER_TRUNCATED_WRONG_VALUE:
	case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
	case ER_BAD_NULL_ERROR:
	case ER_NO_REFERENCED_ROW_2:
		log_warn("%s db refused data: %s", r->request_id, db_last_error(r->db));
		return req_fail(r, E_VALIDATION, "The database refused a value of this request");
	case ER_ROW_IS_REFERENCED_2:
		log_warn("%s db refused data: %s", r->request_id, db_last_error(r->db));
		return req_fail(r, E_DEPENDENCY_EXISTS, "Other records still refer to this one");
	default:
		break;
	}
	log_error("%s db error: %s", r->request_id, db_last_error(r->db));
	return E_INTERNAL;
}

err_t req_tx_end(req_t *r, err_t rc)
{
	bool events = r->outbox_pending;
	r->outbox_pending = false;
	if (rc) {
		db_rollback(r->db);
		return rc;
	}
	enum db_status st = db_commit(r->db);
	if (st)
		return req_db_error(r, st);
	if (events)
		fanout_wake(r->cache);
	return E_OK;
}

void req_job_init(req_t *r, arena_t *a, db_t *db, cache_t *cache, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->a = a;
	r->db = db;
	r->cache = cache;
	r->method = "POST";
	r->path = r->query = "";
	r->who.kind = PRINCIPAL_KEY;
	snprintf(r->request_id, sizeof(r->request_id), "%s", name);
}

char *req_json_text(req_t *r, const cJSON *j)
{
	if (!j || cJSON_IsNull(j))
		return NULL;
	char *s = cJSON_PrintUnformatted(j);
	if (!s)
		abort();
	char *c = arena_strdup(r->a, s);
	cJSON_free(s);
	return c;
}

char *req_cursor_make(req_t *r, const cJSON *c)
{
	char *text = req_json_text(r, c);
	size_t n = strlen(text), outlen = b64url_len(n) + 1;
	char *out = arena_alloc(r->a, outlen);
	return b64url_encode(out, outlen, text, n);
}

cJSON *req_cursor_read(req_t *r, const char *cursor, size_t max)
{
	size_t n = cursor ? strlen(cursor) : 0;
	if (n == 0 || n > max)
		return NULL;
	char *buf = arena_alloc(r->a, n + 1);
	long len = b64url_decode(buf, n, cursor, n);
	cJSON *c = len > 0 ? req_own(r, cJSON_ParseWithLength(buf, (size_t)len)) : NULL;
	return cJSON_IsObject(c) ? c : NULL;
}

const char *tenant_table(req_t *r, const char *name)
{
	return arena_printf(r->a, "`%s`.`%s`", r->tenant.db_name, name);
}
