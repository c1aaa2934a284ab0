/*
 * integrations.c - integrations that pull records from an external JSON
 * HTTP API into an object type (a descriptor on the resource engine), the
 * sync job that does it in the jobs runner, and the log of syncs.
 *
 * provider "rest", sync_direction "pull".  config_json:
 *   url               the list endpoint (http/https, the outgoing-HTTP guard)
 *   records_pointer   JSON pointer to the records array ("" : the body)
 *   pagination        {type: none|page|cursor, page_param ("page"),
 *                      per_page_param, per_page, cursor_param ("cursor"),
 *                      next_cursor_pointer}
 *   object_type       the type records become objects of
 *   mapping           {remote field: property}, every property defined
 *   key_property      the mapped property that identifies a record (upsert)
 *   auth_header       the header carrying auth_token ("Authorization":
 *                     "Bearer <token>"; any other: the token as it is)
 *   max_records, max_pages   bounds of one sync (10,000 and 100)
 * auth_token is write-only: sealed under the master key, shown masked.
 *
 * POST /sync enqueues a job and answers its id and the run's.  The job
 * fetches page after page and upserts each record through the objects API
 * (pipeline_subrequest, as the integration's own identity), so the
 * type's validation applies; a record whose mapped values are already the
 * object's is left alone (re-pulling makes no duplicates and no
 * versions).  After each page the run row keeps the counts and where the
 * sync got to, so a runner killed mid-sync resumes there when the job's
 * lock expires.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/outhttp.h"
#include "../common/strbuf.h"
#include "../fcgi/credentials.h"
#include "../fcgi/jobs.h"
#include "../fcgi/pipeline.h"
#include "objmodel.h"
#include "routes.h"

#define SYNC_KIND "integration.sync"
#define PAGE_MAX (10 * 1024 * 1024)
#define PAGE_TIMEOUT_S 30
#define ERRORS_KEPT 10

static const char *const providers[] = { "rest", NULL };
static const char *const directions[] = { "pull", NULL };
static const char *const statuses[] = { "active", "paused", NULL };

/* --- config_json ---------------------------------------------------------------- */

static err_t config_fail(req_t *r, const char *member, const char *why)
{
	return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "config_json.%s", member),
			      "config_json.%s %s", member, why);
}

static bool is_pointer(const cJSON *v)
{
	return cJSON_IsString(v) && (!v->valuestring[0] || v->valuestring[0] == '/') &&
	       strlen(v->valuestring) <= 200;
}

static err_t check_pagination(req_t *r, const cJSON *p)
{
	static const char *const types[] = { "none", "page", "cursor", NULL };
	if (!cJSON_IsObject(p))
		return config_fail(r, "pagination", "must be an object");
	const char *type = json_str_of(p, "type");
	bool known = false;
	for (const char *const *t = types; type && *t; t++)
		known |= !strcmp(*t, type);
	if (!known)
		return config_fail(r, "pagination.type", "must be none, page or cursor");
	const cJSON *it;
	cJSON_ArrayForEach(it, p) {
		const char *k = it->string;
		bool param = !strcmp(k, "page_param") || !strcmp(k, "per_page_param") ||
			     !strcmp(k, "cursor_param");
		if (param && (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > 64))
			return config_fail(r, arena_printf(r->a, "pagination.%s", k), "must be a parameter name");
		if (!strcmp(k, "per_page") && (!cJSON_IsNumber(it) || it->valuedouble < 1 || it->valuedouble > 1000))
			return config_fail(r, "pagination.per_page", "must be from 1 to 1000");
		if (!strcmp(k, "next_cursor_pointer") && !is_pointer(it))
			return config_fail(r, "pagination.next_cursor_pointer", "must be a JSON pointer");
		if (!param && strcmp(k, "type") && strcmp(k, "per_page") && strcmp(k, "next_cursor_pointer"))
			return config_fail(r, arena_printf(r->a, "pagination.%.60s", k), "is not a setting");
	}
	if (!strcmp(type, "cursor") && !cJSON_GetObjectItemCaseSensitive(p, "next_cursor_pointer"))
		return config_fail(r, "pagination.next_cursor_pointer", "is required for cursor pagination");
	return E_OK;
}

/* The mapping's properties exist on the type; the key is one of them.
 * An integration may be made before its mapping (none of object_type,
 * mapping and key_property): it cannot sync until it has one. */
static err_t check_mapping(req_t *r, const cJSON *cfg)
{
	const char *type = json_str_of(cfg, "object_type"), *key = json_str_of(cfg, "key_property");
	const cJSON *map = cJSON_GetObjectItemCaseSensitive(cfg, "mapping"), *m;
	if (!type && !map && !cJSON_GetObjectItemCaseSensitive(cfg, "key_property"))
		return E_OK;
	if (!type)
		return config_fail(r, "object_type", "must name an object type");
	if (!cJSON_IsObject(map) || cJSON_GetArraySize(map) == 0 || cJSON_GetArraySize(map) > 200)
		return config_fail(r, "mapping", "must map remote fields to properties (1 to 200)");
	objtype_t *t;
	err_t rc = objtype_load(r, type, &t);
	if (rc == E_NOT_FOUND)
		return config_fail(r, "object_type", "is not an object type of this tenant");
	if (rc)
		return rc;
	bool key_mapped = false;
	cJSON_ArrayForEach(m, map) {
		if (!cJSON_IsString(m) || !objtype_prop(t, m->valuestring))
			return config_fail(r, arena_printf(r->a, "mapping.%.60s", m->string),
					  arena_printf(r->a, "must name a property of %s", t->name));
		key_mapped |= key && !strcmp(key, m->valuestring);
	}
	if (!key_mapped)
		return config_fail(r, "key_property", "must be one of the mapped properties");
	return E_OK;
}

static err_t check_config(req_t *r, const res_field_t *f, const cJSON *cfg)
{
	(void)f;
	static const char *const known[] = { "url", "records_pointer", "pagination", "object_type",
					     "mapping", "key_property", "auth_header", "max_records",
					     "max_pages", NULL };
	const cJSON *it;
	cJSON_ArrayForEach(it, cfg) {
		bool ok = false;
		for (const char *const *k = known; *k; k++)
			ok |= !strcmp(*k, it->string);
		if (!ok)
			return config_fail(r, it->string, "is not a setting (url, records_pointer, pagination, "
					   "object_type, mapping, key_property, auth_header, max_records, max_pages)");
	}
	const char *url = json_str_of(cfg, "url");
	char err[200];
	if (!url || outhttp_url_check(url, g_config.http_allow_private, err, sizeof(err)))
		return config_fail(r, "url", url ? arena_strdup(r->a, err) : "must be a URL");
	const cJSON *ptr = cJSON_GetObjectItemCaseSensitive(cfg, "records_pointer");
	if (ptr && !is_pointer(ptr))
		return config_fail(r, "records_pointer", "must be a JSON pointer (\"/data/items\")");
	const cJSON *hdr = cJSON_GetObjectItemCaseSensitive(cfg, "auth_header");
	if (hdr && (!cJSON_IsString(hdr) || !hdr->valuestring[0] || strlen(hdr->valuestring) > 64 ||
		    strpbrk(hdr->valuestring, " :\r\n")))
		return config_fail(r, "auth_header", "must be a header name");
	static const struct { const char *name; int max; } bounds[] = {
		{ "max_records", 100000 }, { "max_pages", 1000 } };
	for (size_t i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, bounds[i].name);
		if (v && (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > bounds[i].max))
			return config_fail(r, bounds[i].name, arena_printf(r->a, "must be from 1 to %d",
									   bounds[i].max));
	}
	const cJSON *pg = cJSON_GetObjectItemCaseSensitive(cfg, "pagination");
	err_t rc = pg ? check_pagination(r, pg) : E_OK;
	return rc ? rc : check_mapping(r, cfg);
}

/* --- the descriptor ----------------------------------------------------------------- */

static const res_field_t integration_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_UNIQUE | RF_FILTER | RF_SORT, .min = 1, .max = 100 },
	{ .name = "provider", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_REQUIRED | RF_FILTER,
	  .values = providers },
	{ .name = "config_json", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_WRITABLE | RF_REQUIRED,
	  .check = check_config },
	{ .name = "sync_direction", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE,
	  .values = directions },
	{ .name = "status", .type = COL_STR, .in = FT_STRING, .flags = RF_UPDATE | RF_FILTER,
	  .values = statuses },
	{ .name = "auth_token", .column = "auth_hint", .type = COL_STR },
	{ .name = "auth_token", .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE | RF_INPUT,
	  .min = 1, .max = 2000 },
	{ .name = "last_sync_at", .type = COL_TIME },
	{ .name = "last_status", .type = COL_STR },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The token sealed and masked ("…abcd"); null removes it. */
static err_t integration_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *tok = cJSON_GetObjectItemCaseSensitive(c->body, "auth_token");
	if (cJSON_IsString(tok)) {
		size_t n = strlen(tok->valuestring);
		resource_set(c, "auth_enc", db_str(secret_seal(r->a, g_config.master_key_bin,
							       tok->valuestring, n)));
		resource_set(c, "auth_hint", db_str(n < 12 ? "\xe2\x80\xa6"
						    : arena_printf(r->a, "\xe2\x80\xa6%s", tok->valuestring + n - 4)));
	} else if (tok) {
		resource_set(c, "auth_enc", db_null());
		resource_set(c, "auth_hint", db_null());
	}
	return E_OK;
}

/* A deleted integration's log goes with it. */
static err_t integration_after_write(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_DELETE)
		return E_OK;
	db_param p[] = { db_str(r->tenant.id), db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, "DELETE FROM integration_runs WHERE tenant_id = ? "
				    "AND integration_id = ?", p, 2, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

static const res_hooks_t integration_hooks = {
	.validate = integration_validate,
	.after_write = integration_after_write,
};

static const resource_t integration_res = {
	.name = "Integration",
	.type = "integration",
	.table = "integrations",
	.home = RES_CONTROL,
	.id_param = "integration_id",
	.id_prefix = "int_",
	.fields = integration_fields,
	.order = "created_at",
	.title = "name",
	.del = DEL_ROW,
	.flags = RES_CREATED_BY,
	.hooks = &integration_hooks,
	.example = "{\"name\":\"probe-source\",\"provider\":\"rest\","
		   "\"config_json\":{\"url\":\"http://127.0.0.1:9/records\"},\"auth_token\":\"tok-0123456789abcdef\"}",
};

/* --- sync and logs ---------------------------------------------------------------------- */

/* POST /v1/integrations/:id/sync: a run queued for the runner. */
static err_t integrations_sync(req_t *r)
{
	const char *id = req_param(r, "integration_id");
	db_param p[] = { db_str(r->tenant.id), db_str(id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, "SELECT status, "
				    "JSON_VALUE(config_json, '$.key_property') AS key_property "
				    "FROM integrations WHERE tenant_id = ? AND id = ?", p, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Integration not found");
	if (strcmp(db_get(res, 0, "status"), "active"))
		return req_fail(r, E_CONFLICT, "Integration %s is paused", id);
	if (!db_get(res, 0, "key_property"))
		return req_fail(r, E_CONFLICT, "Integration %s has no mapping yet (config_json.object_type, "
				"mapping and key_property)", id);
	char run[40], job[40];
	id_new(run, sizeof(run), "sync_");
	cJSON *payload = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(payload, "integration_id", id);
	cJSON_AddStringToObject(payload, "run_id", run);
	if ((st = db_begin(r->db)))
		return req_db_error(r, st);
	st = jobs_enqueue(r->db, r->a, r->tenant.id, SYNC_KIND, payload, 0, 0, job);
	db_param q[] = { db_str(run), db_str(r->tenant.id), db_str(id), db_str(job) };
	if (!st)
		st = db_exec(r->db, r->a, "INSERT INTO integration_runs (id, tenant_id, integration_id, "
			     "job_id, status, created_at) VALUES (?, ?, ?, ?, 'queued', UTC_TIMESTAMP(3))",
			     q, 4, NULL);
	err_t rc = req_tx_end(r, st ? req_db_error(r, st) : E_OK);
	if (rc)
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "run_id", run);
	cJSON_AddStringToObject(d, "job_id", job);
	cJSON_AddStringToObject(d, "status", "queued");
	reply_data(r, 200, d);
	return E_OK;
}

static const col_t run_cols[] = {
	{ "id", COL_STR, 0 },
	{ "integration_id", COL_STR, 0 },
	{ "job_id", COL_STR, 0 },
	{ "status", COL_STR, 0 },
	{ "records_read", COL_INT, 0 },
	{ "records_created", COL_INT, 0 },
	{ "records_updated", COL_INT, 0 },
	{ "records_unchanged", COL_INT, 0 },
	{ "records_failed", COL_INT, 0 },
	{ "errors", COL_JSON, 0 },
	{ "started_at", COL_TIME, 0 },
	{ "finished_at", COL_TIME, 0 },
	{ "created_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

/* GET /v1/integrations/:id/logs?limit=&offset=: syncs, newest first. */
static err_t integrations_logs(req_t *r)
{
	long long limit, offset;
	err_t rc;
	if ((rc = req_query_int(r, "limit", 20, 1, 100, &limit)) ||
	    (rc = req_query_int(r, "offset", 0, 0, 1000000000, &offset)))
		return rc;
	db_param p[] = { db_str(r->tenant.id), db_str(req_param(r, "integration_id")), db_int(limit),
			 db_int(offset) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, "SELECT id FROM integrations WHERE tenant_id = ? "
				    "AND id = ?", p, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Integration not found");
	st = db_exec(r->db, r->a, "SELECT id, integration_id, job_id, status, records_read, "
		     "records_created, records_updated, records_unchanged, records_failed, errors, "
		     "started_at, finished_at, created_at FROM integration_runs WHERE tenant_id = ? "
		     "AND integration_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
		     p, 4, &res);
	if (st)
		return req_db_error(r, st);
	reply_data(r, 200, rows_to_json(run_cols, res));
	return E_OK;
}

/* --- the sync job ------------------------------------------------------------------------ */

typedef struct sync {
	req_t *r;
	principal_t who;
	const cJSON *cfg;
	objtype_t *t;
	const char *key_prop, *key_field;   /* the property, and the remote field mapped to it */
	const char *auth;                  /* the header line, or NULL */
	long read, created, updated, unchanged, failed;
	cJSON *errors;
} sync_t;

/* The value at JSON pointer ptr of j ("" : j), or NULL. */
static const cJSON *pointer_get(const cJSON *j, const char *ptr, arena_t *a)
{
	if (!ptr || !*ptr)
		return j;
	char *copy = arena_strdup(a, ptr + 1), *save = NULL;
	for (char *tok = strtok_r(copy, "/", &save); tok && j; tok = strtok_r(NULL, "/", &save))
		j = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, atoi(tok))
				     : cJSON_GetObjectItemCaseSensitive(j, tok);
	return j;
}

static void sync_error(sync_t *s, const char *key, const char *msg)
{
	s->failed++;
	if (cJSON_GetArraySize(s->errors) >= ERRORS_KEPT)
		return;
	cJSON *e = cJSON_CreateObject();
	if (key)
		cJSON_AddStringToObject(e, "key", key);
	else
		cJSON_AddNullToObject(e, "key");
	cJSON_AddStringToObject(e, "error", msg);
	cJSON_AddItemToArray(s->errors, e);
}

/* The record's key as text (strings and numbers), or NULL. */
static const char *record_key(sync_t *s, const cJSON *rec)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(rec, s->key_field);
	if (cJSON_IsString(k))
		return k->valuestring;
	if (!cJSON_IsNumber(k))
		return NULL;
	char *buf = arena_alloc(s->r->a, 64);
	json_number_text(buf, 64, k->valuedouble);
	return buf;
}

/* Creates or updates the object of one record through the objects API. */
static void sync_record(sync_t *s, const cJSON *rec)
{
	req_t *r = s->r;
	const char *key = cJSON_IsObject(rec) ? record_key(s, rec) : NULL;
	s->read++;
	if (!key) {
		sync_error(s, NULL, "the record has no key");
		return;
	}
	cJSON *props = req_own(r, cJSON_CreateObject());
	const cJSON *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(s->cfg, "mapping")) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, m->string);
		if (v)
			cJSON_AddItemToObject(props, m->valuestring, cJSON_Duplicate(v, true));
	}
	db_param p[] = { db_str(key) };
	db_result *res;
	if (db_exec(r->db, r->a, arena_printf(r->a, "SELECT id, properties FROM %s WHERE `%s` = ? "
					      "AND is_deleted = 0 LIMIT 1", s->t->table, s->key_prop),
		    p, 1, &res)) {
		sync_error(s, key, "the database failed");
		return;
	}
	bool same = res->nrows > 0;
	cJSON *have = same ? req_own(r, cJSON_Parse(db_get(res, 0, "properties"))) : NULL;
	const cJSON *v;
	cJSON_ArrayForEach(v, props)
		same = same && cJSON_Compare(v, cJSON_GetObjectItemCaseSensitive(have, v->string), true);
	if (same) {
		s->unchanged++;
		return;
	}
	cJSON *body = req_own(r, cJSON_CreateObject()), *data;
	cJSON_AddItemToObject(body, "properties", cJSON_Duplicate(props, true));
	const char *msg;
	bool update = res->nrows > 0;
	err_t rc = pipeline_subrequest(r, &s->who, update ? "PATCH" : "POST",
				       update ? arena_printf(r->a, "/v1/objects/%s/%s", s->t->name,
							     db_get(res, 0, "id"))
					      : arena_printf(r->a, "/v1/objects/%s", s->t->name),
				       body, &data, &msg);
	if (rc)
		sync_error(s, key, arena_printf(r->a, "%s: %s", err_code(rc), msg));
	else if (update)
		s->updated++;
	else
		s->created++;
}

static bool page_take(void *user, const char *data, size_t len)
{
	strbuf_t *b = user;
	sb_putn(b, data, len);
	return !b->overflow;
}

/* Fetches one page (at cursor: a page number or the remote's cursor). */
static int sync_fetch(sync_t *s, const char *cursor, cJSON **body, char *err, size_t errlen)
{
	req_t *r = s->r;
	const cJSON *pg = cJSON_GetObjectItemCaseSensitive(s->cfg, "pagination");
	const char *type = json_str_of(pg, "type"), *url = json_str_of(s->cfg, "url");
	strbuf_t u = { 0 };
	sb_puts(&u, url);
	char sep = strchr(url, '?') ? '&' : '?';
	if (type && !strcmp(type, "page")) {
		const char *pp = json_str_of(pg, "page_param"), *per = json_str_of(pg, "per_page_param");
		sb_printf(&u, "%c%s=%s", sep, pp ? pp : "page", cursor ? cursor : "1");
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(pg, "per_page");
		if (per && cJSON_IsNumber(n))
			sb_printf(&u, "&%s=%d", per, n->valueint);
	} else if (type && !strcmp(type, "cursor") && cursor) {
		const char *cp = json_str_of(pg, "cursor_param");
		char *esc = arena_alloc(r->a, strlen(cursor) * 3 + 1), *o = esc;
		for (const unsigned char *c = (const unsigned char *)cursor; *c; c++)
			o += strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~", *c)
				     ? snprintf(o, 2, "%c", *c) : snprintf(o, 4, "%%%02X", *c);
		sb_printf(&u, "%c%s=%s", sep, cp ? cp : "cursor", esc);
	}
	const char *full = sb_take(&u, r->a);
	const char *headers[] = { "Accept: application/json", s->auth, NULL };
	strbuf_t b = { .max = PAGE_MAX };
	outhttp_result_t res;
	int rc = outhttp_request_to("GET", full, headers, NULL, 0, PAGE_TIMEOUT_S,
				    g_config.http_allow_private, page_take, &b, &res);
	bool over = b.overflow;
	size_t n = b.len;
	const char *text = sb_take(&b, r->a);
	if (rc || over || res.status != 200) {
		snprintf(err, errlen, "%s: %s", full, rc ? res.error : over ? "the page is over 10 MB"
					   : arena_printf(r->a, "HTTP %ld", res.status));
		return -1;
	}
	if (!(*body = req_own(r, cJSON_ParseWithLength(text, n)))) {
		snprintf(err, errlen, "%s: the answer is not JSON", full);
		return -1;
	}
	return 0;
}

/* Saves the counts and where the sync got to (status: running, ok, error). */
static int sync_save(sync_t *s, const char *run, const char *status, const char *cursor)
{
	req_t *r = s->r;
	bool done = strcmp(status, "running") != 0;
	db_param p[] = { db_str(status), db_str(cursor), db_int(s->read), db_int(s->created),
			 db_int(s->updated), db_int(s->unchanged), db_int(s->failed),
			 db_str(req_json_text(r, s->errors)), db_int(done), db_str(run) };
	return db_exec(r->db, r->a, "UPDATE integration_runs SET status = ?, cursor_state = ?, "
		       "records_read = ?, records_created = ?, records_updated = ?, "
		       "records_unchanged = ?, records_failed = ?, errors = ?, "
		       "started_at = COALESCE(started_at, UTC_TIMESTAMP(3)), "
		       "finished_at = IF(?, UTC_TIMESTAMP(3), NULL) WHERE id = ?", p, 10, NULL) ? -1 : 0;
}

/* Picks up the counts of an earlier attempt of this run. */
static void sync_resume(sync_t *s, const db_result *run)
{
	s->read = db_get_int(run, 0, "records_read", 0);
	s->created = db_get_int(run, 0, "records_created", 0);
	s->updated = db_get_int(run, 0, "records_updated", 0);
	s->unchanged = db_get_int(run, 0, "records_unchanged", 0);
	s->failed = db_get_int(run, 0, "records_failed", 0);
	const char *e = db_get(run, 0, "errors");
	cJSON *errs = e ? cJSON_Parse(e) : NULL;
	if (cJSON_IsArray(errs))
		s->errors = req_own(s->r, errs);
	else
		cJSON_Delete(errs);
}

/* The pages from cursor on; *next NULL once there are no more. */
static int sync_pages(sync_t *s, const char *run, const char *cursor, char *err, size_t errlen)
{
	const cJSON *pg = cJSON_GetObjectItemCaseSensitive(s->cfg, "pagination");
	const char *type = json_str_of(pg, "type");
	const cJSON *mr = cJSON_GetObjectItemCaseSensitive(s->cfg, "max_records");
	const cJSON *mp = cJSON_GetObjectItemCaseSensitive(s->cfg, "max_pages");
	long max_records = cJSON_IsNumber(mr) ? mr->valueint : 10000;
	int max_pages = cJSON_IsNumber(mp) ? mp->valueint : 100;
	for (int page = 0; page < max_pages && s->read < max_records; page++) {
		cJSON *body;
		if (sync_fetch(s, cursor, &body, err, errlen))
			return -1;
		const cJSON *recs = pointer_get(body, json_str_of(s->cfg, "records_pointer"), s->r->a), *rec;
		if (!cJSON_IsArray(recs)) {
			snprintf(err, errlen, "the answer has no records array at records_pointer");
			return -1;
		}
		cJSON_ArrayForEach(rec, recs)
			if (s->read < max_records)
				sync_record(s, rec);
		const char *next = NULL;
		if (type && !strcmp(type, "page") && cJSON_GetArraySize(recs) > 0)
			next = arena_printf(s->r->a, "%ld", (cursor ? atol(cursor) : 1) + 1);
		else if (type && !strcmp(type, "cursor"))
			next = cJSON_GetStringValue((cJSON *)pointer_get(body, json_str_of(pg, "next_cursor_pointer"),
									 s->r->a));
		if (next && !*next)
			next = NULL;
		if (sync_save(s, run, next ? "running" : "ok", next))
			return -1;
		if (!next)
			return 0;
		cursor = next;
	}
	return sync_save(s, run, "ok", cursor);
}

static int sync_finish(sync_t *s, const char *id, const char *run, int rc, const char *err)
{
	req_t *r = s->r;
	const char *status = rc ? "error" : "ok";
	if (rc) {
		sync_error(s, NULL, err);
		s->failed--;  /* not a record */
		sync_save(s, run, "error", NULL);
	}
	db_param p[] = { db_str(status), db_str(r->tenant.id), db_str(id) };
	db_exec(r->db, r->a, "UPDATE integrations SET last_sync_at = UTC_TIMESTAMP(3), last_status = ? "
		"WHERE tenant_id = ? AND id = ?", p, 3, NULL);
	return rc;
}

static int sync_run(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		    const cJSON *payload, char *err, size_t errlen)
{
	const char *id = json_str_of(payload, "integration_id"), *run = json_str_of(payload, "run_id");
	req_t r;
	req_job_init(&r, a, db, cache, "job_integration_sync");
	if (!id || !run || tenant_load(&r, tenant_id))
		return 0;  /* nothing to do: the tenant is gone or suspended */
	db_param p[] = { db_str(tenant_id), db_str(id), db_str(run) };
	db_result *ir, *rr;
	if (db_exec(db, a, "SELECT config_json, status, auth_enc FROM integrations WHERE tenant_id = ? "
		    "AND id = ?", p, 2, &ir) ||
	    db_exec(db, a, "SELECT * FROM integration_runs WHERE tenant_id = ? AND integration_id = ? "
		    "AND id = ?", p, 3, &rr)) {
		snprintf(err, errlen, "the database failed");
		return -1;
	}
	if (ir->nrows == 0 || rr->nrows == 0)
		return 0;  /* deleted meanwhile */
	sync_t s = { .r = &r, .errors = req_own(&r, cJSON_CreateArray()),
		     .who = { .kind = PRINCIPAL_KEY, .key_id = arena_strdup(a, id),
			      .scopes = SCOPE_READ | SCOPE_WRITE } };
	sync_resume(&s, rr);
	s.cfg = req_own(&r, cJSON_Parse(db_get(ir, 0, "config_json")));
	s.key_prop = json_str_of(s.cfg, "key_property");
	const cJSON *m;
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(s.cfg, "mapping"))
		if (cJSON_IsString(m) && s.key_prop && !strcmp(m->valuestring, s.key_prop))
			s.key_field = m->string;
	const char *sealed = db_get(ir, 0, "auth_enc");
	char *token = sealed ? secret_open(a, g_config.master_key_bin, sealed, NULL) : NULL;
	const char *hdr = json_str_of(s.cfg, "auth_header");
	if (token)
		s.auth = !hdr || !strcasecmp(hdr, "Authorization")
				 ? arena_printf(a, "Authorization: Bearer %s", token)
				 : arena_printf(a, "%s: %s", hdr, token);
	int rc = -1;
	if (!s.key_field || !s.key_prop || strspn(s.key_prop, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(s.key_prop))
		snprintf(err, errlen, "the integration's mapping has no key property");
	else if (objtype_load(&r, json_str_of(s.cfg, "object_type"), &s.t))
		snprintf(err, errlen, "object type %s: %s", json_str_of(s.cfg, "object_type"),
			 r.err_message ? r.err_message : "not found");
	else if (strcmp(db_get(ir, 0, "status"), "active"))
		rc = 0;  /* paused since: nothing pulled */
	else
		rc = sync_pages(&s, run, db_get(rr, 0, "cursor_state"), err, errlen);
	return sync_finish(&s, id, run, rc, err);
}

const job_kind_t integrations_jobs[] = {
	{ .name = SYNC_KIND, .run = sync_run, .timeout_s = 600 },
	{ NULL },
};

const route_t integrations_routes[] = {
	CRUD("GET", "/v1/integrations", "Integrations", "*", NULL, 0, integration_res, OP_LIST, "List integrations"),
	CRUD("POST", "/v1/integrations", "Integrations", "*", NULL, 0, integration_res, OP_CREATE, "Create integration"),
	CRUD("GET", "/v1/integrations/:integration_id", "Integrations", "*", NULL, 0, integration_res, OP_GET, "Get integration"),
	CRUD("PATCH", "/v1/integrations/:integration_id", "Integrations", "*", NULL, 0, integration_res, OP_UPDATE, "Update integration"),
	CRUD("DELETE", "/v1/integrations/:integration_id", "Integrations", "*", NULL, 0, integration_res, OP_DELETE, "Delete integration"),
	ROUTE("GET", "/v1/integrations/:integration_id/logs", "Integrations", AUTH_BEARER, "*", NULL, 0, integrations_logs, NULL, "List sync logs"),
	ROUTE("POST", "/v1/integrations/:integration_id/sync", "Integrations", AUTH_BEARER, "*", NULL, 0, integrations_sync, NULL, "Sync integration"),
	ROUTES_END,
};
