/*
 * functions.c - custom functions: Lua 5.4 code a tenant stores (a
 * descriptor on the resource engine) and runs in the sandbox of
 * common/luabox.h (POST /v1/functions/:id/execute), with the log of its
 * runs (GET /v1/functions/:id/logs).
 *
 * Code is compiled when saved: a syntax error is a 400 naming "code" with
 * the line, and nothing is saved.  A run happens in a forked, limited
 * child; what the function asks of Tessera comes back to this worker as a
 * call, served here:
 *   tessera.objects.get/list/create/update/delete  the objects API itself
 *       (pipeline_subrequest), so the same validation, events and unique
 *       rules apply, under the function's own identity: a key-like
 *       principal whose id is the function's and whose scopes are the
 *       function's scopes (default read and write);
 *   tessera.emit(event_type, data)  POST /v1/events under that identity;
 *   tessera.http.fetch(url, {method, headers, body})  through outhttp
 *       (the webhooks' private-address guard), 5 s, 1 MB.
 * tessera.env is the function's secrets (sealed under the master key,
 * write-only: responses list only their names, env_keys) and
 * tessera.config the configuration of the plugin that installed it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/schema.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/luabox.h"
#include "../common/outhttp.h"
#include "../common/strbuf.h"
#include "../fcgi/credentials.h"
#include "../fcgi/pipeline.h"
#include "extensions.h"
#include "replies.h"
#include "routes.h"

#define FN_ENV_MAX 50
#define FN_ENV_VALUE_MAX 4096
#define FN_CALLS_MAX 1000
#define FN_FETCH_MAX (1024 * 1024)
#define FN_INPUT_MAX (1024 * 1024)
#define FN_FETCH_TIMEOUT_S 5
#define FN_INSTR_PER_S 200000000LL

static const char *const triggers[] = { "http", "event", "schedule", NULL };
static const char *const runtimes[] = { "lua", NULL };

/* --- checks -------------------------------------------------------------------- */

static err_t check_code(req_t *r, const res_field_t *f, const cJSON *code)
{
	(void)f;
	char err[512];
	int line;
	if (!luabox_check(code->valuestring, strlen(code->valuestring), err, sizeof(err), &line))
		return E_OK;
	if (line)
		return req_fail_field(r, E_VALIDATION, "code", "code does not compile: line %d: %s",
				      line, err);
	return req_fail_field(r, E_VALIDATION, "code", "code does not compile: %s", err);
}

static err_t check_scopes(req_t *r, const res_field_t *f, const cJSON *scopes)
{
	(void)f;
	static const char *const ok[] = { "read", "write", "schema", "files", "ai", NULL };
	const cJSON *it;
	cJSON_ArrayForEach(it, scopes) {
		bool known = false;
		for (const char *const *s = ok; *s; s++)
			known |= !strcmp(*s, it->valuestring);
		if (!known)
			return req_fail_field(r, E_VALIDATION, "scopes",
					      "scopes may hold read, write, schema, files and ai");
	}
	return E_OK;
}

static err_t check_env(req_t *r, const res_field_t *f, const cJSON *env)
{
	(void)f;
	if (cJSON_GetArraySize(env) > FN_ENV_MAX)
		return req_fail_field(r, E_VALIDATION, "env", "env holds at most %d secrets", FN_ENV_MAX);
	const cJSON *it;
	cJSON_ArrayForEach(it, env) {
		size_t n = strlen(it->string);
		if (!n || n > 64 || strspn(it->string, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
							 "0123456789_") != n)
			return req_fail_field(r, E_VALIDATION, "env",
					      "env names are 1 to 64 letters, digits or _");
		if (!cJSON_IsString(it) || strlen(it->valuestring) > FN_ENV_VALUE_MAX)
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "env.%s", it->string),
					      "env.%s must be a string of at most %d bytes", it->string,
					      FN_ENV_VALUE_MAX);
	}
	return E_OK;
}

/* --- the descriptor -------------------------------------------------------------- */

static const res_field_t fn_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_UNIQUE | RF_FILTER | RF_SORT, .min = 1, .max = 100 },
	{ .name = "description", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE, .max = 1000 },
	{ .name = "trigger_type", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_FILTER,
	  .values = triggers },
	{ .name = "runtime", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE, .values = runtimes },
	{ .name = "code", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = LUABOX_CODE_MAX, .check = check_code },
	{ .name = "enabled", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_WRITABLE | RF_FILTER },
	{ .name = "timeout_s", .type = COL_INT, .in = FT_INT, .flags = RF_WRITABLE, .min = 1, .max = 60 },
	{ .name = "memory_mb", .type = COL_INT, .in = FT_INT, .flags = RF_WRITABLE, .min = 1, .max = 256 },
	{ .name = "scopes", .type = COL_WORDS, .in = FT_STRING_ARRAY, .flags = RF_WRITABLE, .min = 1,
	  .max = 5, .check = check_scopes },
	{ .name = "env", .in = FT_OBJECT, .flags = RF_WRITABLE | RF_NULLABLE | RF_INPUT,
	  .check = check_env },
	{ .name = "env_keys", .type = COL_WORDS },
	{ .name = "plugin_id", .type = COL_STR, .flags = RF_FILTER },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The secrets sealed, their names kept apart; null removes them. */
static err_t fn_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(c->body, "env");
	if (!env)
		return E_OK;
	if (cJSON_IsNull(env) || cJSON_GetArraySize(env) == 0) {
		resource_set(c, "env_enc", db_null());
		resource_set(c, "env_keys", db_null());
		return E_OK;
	}
	strbuf_t names = { 0 };
	const cJSON *it;
	cJSON_ArrayForEach(it, env)
		sb_printf(&names, "%s%s", names.len ? " " : "", it->string);
	const char *text = req_json_text(r, env);
	resource_set(c, "env_enc", db_str(secret_seal(r->a, g_config.master_key_bin, text, strlen(text))));
	resource_set(c, "env_keys", db_str(sb_take(&names, r->a)));
	return E_OK;
}

/* A deleted function's runs go with it. */
static err_t fn_after_write(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_DELETE)
		return E_OK;
	db_param p[] = { db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"DELETE FROM %s WHERE function_id = ?", tenant_table(r, "_function_runs")), p, 1, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

static const res_hooks_t fn_hooks = {
	.validate = fn_validate,
	.after_write = fn_after_write,
};

const resource_t function_res = {
	.name = "Function",
	.type = "function",
	.table = "_functions",
	.home = RES_TENANT,
	.id_param = "function_id",
	.id_prefix = "fn_",
	.fields = fn_fields,
	.order = "created_at",
	.title = "name",
	.del = DEL_ROW,
	.flags = RES_CREATED_BY,
	.hooks = &fn_hooks,
	.example = "{\"name\":\"hello\",\"trigger_type\":\"http\",\"runtime\":\"lua\","
		   "\"code\":\"return { hello = tessera.input and tessera.input.name or 'world' }\"}",
};

/* --- calls from the function ------------------------------------------------------- */

typedef struct fn_run {
	req_t *r;
	principal_t who;
	int calls;
} fn_run_t;

/* A type name or an object id as a path segment: letters, digits, _ and -. */
static const char *segment(const cJSON *args, int i, const char *what, char *err, size_t errlen)
{
	const char *s = cJSON_GetStringValue(cJSON_GetArrayItem(args, i));
	size_t n = s ? strlen(s) : 0;
	if (!n || n > 100 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789_-") != n) {
		snprintf(err, errlen, "VALIDATION_ERROR: argument %d must be %s", i + 1, what);
		return NULL;
	}
	return s;
}

/* s percent-encoded for a query string. */
static void put_encoded(strbuf_t *b, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
		    strchr("-._~", *c))
			sb_putn(b, (const char *)c, 1);
		else
			sb_printf(b, "%%%02X", *c);
	}
}

/* ?name=value&… from a table of strings, numbers and booleans. */
static char *query_of(req_t *r, const cJSON *opts, char *err, size_t errlen)
{
	strbuf_t q = { 0 };
	const cJSON *it;
	cJSON_ArrayForEach(it, opts) {
		char num[64];
		const char *v = cJSON_IsString(it) ? it->valuestring
				: cJSON_IsBool(it) ? (cJSON_IsTrue(it) ? "true" : "false") : NULL;
		if (cJSON_IsNumber(it)) {
			json_number_text(num, sizeof(num), it->valuedouble);
			v = num;
		}
		if (!v) {
			free(q.p);
			snprintf(err, errlen, "VALIDATION_ERROR: list options are strings, numbers or booleans");
			return NULL;
		}
		sb_puts(&q, q.len ? "&" : "?");
		put_encoded(&q, it->string);
		sb_puts(&q, "=");
		put_encoded(&q, v);
	}
	return q.len ? sb_take(&q, r->a) : "";
}

static cJSON *objects_call(fn_run_t *x, const char *op, const cJSON *args, char *err, size_t errlen)
{
	req_t *r = x->r;
	const char *type = segment(args, 0, "an object type's name or id", err, errlen), *id = NULL;
	if (!type)
		return NULL;
	bool with_id = !strcmp(op, "get") || !strcmp(op, "update") || !strcmp(op, "delete");
	if (with_id && !(id = segment(args, 1, "an object id", err, errlen)))
		return NULL;
	const cJSON *arg = cJSON_GetArrayItem(args, with_id ? 2 : 1);
	const char *method = "GET", *path;
	cJSON *body = NULL;
	if (!strcmp(op, "list")) {
		const char *q = cJSON_IsObject(arg) ? query_of(r, arg, err, errlen) : "";
		if (!q)
			return NULL;
		path = arena_printf(r->a, "/v1/objects/%s/list%s", type, q);
	} else {
		path = with_id ? arena_printf(r->a, "/v1/objects/%s/%s", type, id)
			       : arena_printf(r->a, "/v1/objects/%s", type);
		method = !strcmp(op, "create") ? "POST" : !strcmp(op, "update") ? "PATCH"
			 : !strcmp(op, "delete") ? "DELETE" : "GET";
	}
	if (!strcmp(op, "create") || !strcmp(op, "update")) {
		if (!cJSON_IsObject(arg)) {
			snprintf(err, errlen, "VALIDATION_ERROR: the properties must be a table");
			return NULL;
		}
		body = req_own(r, cJSON_CreateObject());
		cJSON_AddItemToObject(body, "properties", cJSON_Duplicate(arg, true));
	}
	cJSON *data;
	const char *msg;
	err_t rc = pipeline_subrequest(r, &x->who, method, path, body, &data, &msg);
	if (rc) {
		snprintf(err, errlen, "%s: %s", err_code(rc), msg);
		return NULL;
	}
	return cJSON_Duplicate(data, true);
}

static cJSON *emit_call(fn_run_t *x, const cJSON *args, char *err, size_t errlen)
{
	const cJSON *type = cJSON_GetArrayItem(args, 0), *data = cJSON_GetArrayItem(args, 1);
	if (!cJSON_IsString(type)) {
		snprintf(err, errlen, "VALIDATION_ERROR: the event type must be a string");
		return NULL;
	}
	cJSON *body = req_own(x->r, cJSON_CreateObject());
	cJSON_AddStringToObject(body, "event_type", type->valuestring);
	if (data && !cJSON_IsNull(data))
		cJSON_AddItemToObject(body, "data", cJSON_Duplicate(data, true));
	cJSON *out;
	const char *msg;
	err_t rc = pipeline_subrequest(x->r, &x->who, "POST", "/v1/events", body, &out, &msg);
	if (rc) {
		snprintf(err, errlen, "%s: %s", err_code(rc), msg);
		return NULL;
	}
	return cJSON_Duplicate(out, true);
}

static bool fetch_take(void *user, const char *data, size_t len)
{
	strbuf_t *b = user;
	sb_putn(b, data, len);
	return !b->overflow;
}

/* tessera.http.fetch(url, {method, headers = {name = value}, body}). */
static cJSON *fetch_call(fn_run_t *x, const cJSON *args, char *err, size_t errlen)
{
	req_t *r = x->r;
	const char *url = cJSON_GetStringValue(cJSON_GetArrayItem(args, 0));
	const cJSON *opts = cJSON_GetArrayItem(args, 1);
	char why[200];
	if (!url || outhttp_url_check(url, g_config.http_allow_private, why, sizeof(why))) {
		snprintf(err, errlen, "VALIDATION_ERROR: %s", url ? why : "the URL must be a string");
		return NULL;
	}
	const char *method = json_str_of(opts, "method");
	const char *body = json_str_of(opts, "body");
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", NULL };
	bool known = !method;
	for (const char *const *m = methods; method && *m; m++)
		known |= !strcmp(*m, method);
	if (!known) {
		snprintf(err, errlen, "VALIDATION_ERROR: method must be GET, POST, PUT, PATCH, DELETE or HEAD");
		return NULL;
	}
	const cJSON *hs = cJSON_GetObjectItemCaseSensitive(opts, "headers"), *h;
	const char **headers = arena_calloc(r->a, (size_t)cJSON_GetArraySize(hs) + 1, sizeof(*headers));
	int nh = 0;
	cJSON_ArrayForEach(h, hs) {
		if (!cJSON_IsString(h) || strpbrk(h->string, "\r\n:") || strpbrk(h->valuestring, "\r\n")) {
			snprintf(err, errlen, "VALIDATION_ERROR: headers map names to one-line strings");
			return NULL;
		}
		headers[nh++] = arena_printf(r->a, "%s: %s", h->string, h->valuestring);
	}
	strbuf_t b = { .max = FN_FETCH_MAX };
	outhttp_result_t res;
	int rc = outhttp_request_to(method ? method : (body ? "POST" : "GET"), url, headers, body,
				    body ? strlen(body) : 0, FN_FETCH_TIMEOUT_S, g_config.http_allow_private,
				    fetch_take, &b, &res);
	size_t n = b.len;
	bool over = b.overflow;
	const char *text = sb_take(&b, r->a);
	if (over) {
		snprintf(err, errlen, "PAYLOAD_TOO_LARGE: the response is over 1 MB");
		return NULL;
	}
	if (rc) {
		snprintf(err, errlen, "%s: %s", res.refused ? "FORBIDDEN" : "SERVICE_UNAVAILABLE", res.error);
		return NULL;
	}
	cJSON *out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "status", (double)res.status);
	if (utf8_bad_at((const unsigned char *)text, n) == n && strlen(text) == n)
		cJSON_AddStringToObject(out, "body", text);
	else
		cJSON_AddNullToObject(out, "body");
	return out;
}

static cJSON *fn_call(void *user, const char *name, const cJSON *args, char *err, size_t errlen)
{
	fn_run_t *x = user;
	if (++x->calls > FN_CALLS_MAX) {
		snprintf(err, errlen, "QUOTA_EXCEEDED: a run makes at most %d calls", FN_CALLS_MAX);
		return NULL;
	}
	if (!strncmp(name, "objects.", 8))
		return objects_call(x, name + 8, args, err, errlen);
	if (!strcmp(name, "emit"))
		return emit_call(x, args, err, errlen);
	if (!strcmp(name, "http.fetch"))
		return fetch_call(x, args, err, errlen);
	snprintf(err, errlen, "NOT_FOUND: no call %s", name);
	return NULL;
}

/* --- running a function --------------------------------------------------------- */

/* The function's secrets as a JSON object (NULL for none). */
static err_t fn_env(req_t *r, const char *sealed, cJSON **out)
{
	*out = NULL;
	if (!sealed)
		return E_OK;
	char *text = secret_open(r->a, g_config.master_key_bin, sealed, NULL);
	if (!text || !(*out = req_own(r, cJSON_Parse(text)))) {
		log_error("%s: the sealed env of a function does not open", r->request_id);
		return req_fail(r, E_INTERNAL, "The function's secrets cannot be read");
	}
	return E_OK;
}

/* Records the run; id (size >= 40) receives its id. */
static err_t run_record(req_t *r, const char *fn_id, const char *trigger,
			const luabox_result_t *res, char *id)
{
	id_new(id, 40, "run_");
	db_param p[] = { db_str(id), db_str(fn_id), db_str(luabox_status_name(res->status)),
			 db_str(trigger), db_int(res->duration_ms),
			 db_str(req_json_text(r, res->logs)),
			 db_str(res->status == LUABOX_OK ? NULL : res->error),
			 res->line ? db_int(res->line) : db_null() };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, function_id, status, trigger_type, duration_ms, logs, error, "
		"error_line, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))",
		tenant_table(r, "_function_runs")), p, 8, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

err_t function_run(req_t *r, const char *fn_id, const char *trigger, const cJSON *input,
		   fn_outcome_t *out)
{
	memset(out, 0, sizeof(*out));
	db_param p[] = { db_str(fn_id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT code, enabled, timeout_s, memory_mb, scopes, env_enc, plugin_id FROM %s "
		"WHERE id = ?", tenant_table(r, "_functions")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Function not found");
	if (!db_get_int(res, 0, "enabled", 0))
		return req_fail(r, E_CONFLICT, "Function %s is disabled", fn_id);
	cJSON *env, *config = NULL;
	err_t rc = fn_env(r, db_get(res, 0, "env_enc"), &env);
	if (!rc && db_get(res, 0, "plugin_id"))
		rc = plugin_config(r, db_get(res, 0, "plugin_id"), &config);
	if (rc)
		return rc;
	long timeout_s = (long)db_get_int(res, 0, "timeout_s", 10);
	luabox_limits_t lim = { .mem_bytes = (size_t)db_get_int(res, 0, "memory_mb", 64) << 20,
				.timeout_ms = timeout_s * 1000,
				.instr_max = timeout_s * FN_INSTR_PER_S };
	fn_run_t x = { .r = r, .who = { .kind = PRINCIPAL_KEY, .key_id = arena_strdup(r->a, fn_id) } };
	long bits = scopes_parse_list(db_get(res, 0, "scopes"), NULL, r->a);
	x.who.scopes = bits > 0 ? (unsigned)bits : 0;
	const char *code = db_get(res, 0, "code");
	if (luabox_run(code, strlen(code), input, env, config, &lim, fn_call, &x, &out->res)) {
		log_error("%s: function %s could not start: %s", r->request_id, fn_id, out->res.error);
		return req_fail(r, E_UNAVAILABLE, "The function could not be started");
	}
	req_own(r, out->res.value);
	req_own(r, out->res.logs);
	return run_record(r, fn_id, trigger, &out->res, out->run_id);
}

/* POST /v1/functions/:function_id/execute {input}: {result, logs,
 * duration_ms, run_id}; a function that fails answers FUNCTION_ERROR,
 * FUNCTION_TIMEOUT or FUNCTION_MEMORY with the same members in error. */
static err_t functions_execute(req_t *r)
{
	const cJSON *input = cJSON_GetObjectItemCaseSensitive(r->json, "input");
	const char *text = req_json_text(r, input);
	if (text && strlen(text) > FN_INPUT_MAX)
		return req_fail_field(r, E_PAYLOAD_TOO_LARGE, "input", "input is over 1 MB");
	fn_outcome_t o;
	err_t rc = function_run(r, req_param(r, "function_id"), "http", input, &o);
	if (rc)
		return rc;
	const luabox_result_t *res = &o.res;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "run_id", o.run_id);
	cJSON_AddStringToObject(d, "status", luabox_status_name(res->status));
	cJSON_AddItemToObject(d, "logs", cJSON_Duplicate(res->logs, true));
	cJSON_AddNumberToObject(d, "duration_ms", (double)res->duration_ms);
	if (res->status == LUABOX_OK) {
		cJSON_AddItemToObject(d, "result", cJSON_Duplicate(res->value, true));
		reply_data(r, 200, d);
		return E_OK;
	}
	if (res->line)
		cJSON_AddNumberToObject(d, "line", res->line);
	r->err_extra = req_own(r, d);
	err_t e = res->status == LUABOX_TIMEOUT ? E_FUNCTION_TIMEOUT
		  : res->status == LUABOX_MEMORY ? E_FUNCTION_MEMORY : E_FUNCTION_ERROR;
	if (res->line)
		return req_fail(r, e, "line %d: %s", res->line, res->error);
	return req_fail(r, e, "%s", res->error);
}

static const col_t run_cols[] = {
	{ "id", COL_STR, 0 },
	{ "function_id", COL_STR, 0 },
	{ "status", COL_STR, 0 },
	{ "trigger", COL_STR, 0 },
	{ "duration_ms", COL_INT, 0 },
	{ "logs", COL_JSON, 0 },
	{ "error", COL_STR, 0 },
	{ "error_line", COL_INT, 0 },
	{ "created_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

/* GET /v1/functions/:function_id/logs?limit=&offset=&status=: the runs,
 * newest first. */
static err_t functions_logs(req_t *r)
{
	long long limit, offset;
	err_t rc;
	if ((rc = req_query_int(r, "limit", 20, 1, 100, &limit)) ||
	    (rc = req_query_int(r, "offset", 0, 0, 1000000000, &offset)))
		return rc;
	const char *status = req_query(r, "status");
	db_param p[] = { db_str(req_param(r, "function_id")), db_str(status), db_str(status),
			 db_int(limit), db_int(offset) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id FROM %s WHERE id = ?", tenant_table(r, "_functions")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Function not found");
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, function_id, status, trigger_type AS `trigger`, duration_ms, logs, error, "
		"error_line, created_at FROM %s WHERE function_id = ? AND (? IS NULL OR status = ?) "
		"ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
		tenant_table(r, "_function_runs")), p, 5, &res);
	if (st)
		return req_db_error(r, st);
	reply_data(r, 200, rows_to_json(run_cols, res));
	return E_OK;
}

static const field_t execute_body[] = {
	{ "input", FT_ANY, FF_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const route_t functions_routes[] = {
	CRUD("GET", "/v1/functions", "Plugins", "*", NULL, 0, function_res, OP_LIST, "List custom functions"),
	CRUD("POST", "/v1/functions", "Plugins", "*", NULL, 0, function_res, OP_CREATE, "Create custom function"),
	CRUD("GET", "/v1/functions/:function_id", "Plugins", "*", NULL, 0, function_res, OP_GET, "Get function"),
	CRUD("PATCH", "/v1/functions/:function_id", "Plugins", "*", NULL, 0, function_res, OP_UPDATE, "Update function"),
	CRUD("DELETE", "/v1/functions/:function_id", "Plugins", "*", NULL, 0, function_res, OP_DELETE, "Delete function"),
	ROUTE("POST", "/v1/functions/:function_id/execute", "Plugins", AUTH_BEARER, "*", NULL, 0, functions_execute, execute_body, "Execute function"),
	ROUTE("GET", "/v1/functions/:function_id/logs", "Plugins", AUTH_BEARER, "*", NULL, 0, functions_logs, NULL, "List function logs"),
	ROUTES_END,
};
