/*
 * errors_report.c - POST /v1/errors/report: client apps report their
 * errors (message, stack, source, level, path, metadata) for tracking.
 * Any credential of the tenant may report, an app's public key or an end
 * user's token; reports are rate-limited per reporting client address so
 * that a crash loop in one browser cannot flood the table.
 *
 * The tenant reads them back with GET /v1/errors (the reports, newest
 * first) and GET /v1/errors/summary (counts per message), both additions
 * beyond the API reference (R_EXTENSION), for tenant administrators (*):
 * reports carry client addresses and user agents.
 */
#include <string.h>
#include <time.h>

#include "../common/config.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/rowjson.h"
#include "../fcgi/query.h"
#include "replies.h"
#include "routes.h"

#define REPORTS_PER_MINUTE 60
#define METADATA_MAX 16384
#define LIST_DEFAULT 20
#define LIST_MAX 100

static const char *const levels[] = { "debug", "info", "warning", "error", "fatal", NULL };

const field_t error_report_body[] = {
	{ "message", FT_STRING, FF_REQUIRED, 1, 4000 },
	{ "stack", FT_STRING, FF_NULLABLE, 0, 65000 },
	{ "source", FT_STRING, FF_NULLABLE, 0, 255 },
	{ "level", FT_STRING, FF_NULLABLE, 1, 16, levels },
	{ "path", FT_STRING, FF_NULLABLE, 0, 2048 },
	{ "metadata", FT_OBJECT, FF_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

err_t errors_report(req_t *r)
{
	const char *level = json_str_of(r->json, "level");
	char *meta = NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(r->json, "metadata");
	if (cJSON_IsObject(m)) {
		cJSON *exact = req_own(r, cJSON_Duplicate(m, true));
		json_exact_numbers(exact);
		char *s = cJSON_PrintUnformatted(exact);
		meta = arena_strdup(r->a, s ? s : "{}");
		cJSON_free(s);
		if (strlen(meta) > METADATA_MAX)
			return req_fail_field(r, E_VALIDATION, "metadata",
					      "metadata must be at most %d bytes of JSON", METADATA_MAX);
	}
	/* Per client address, besides the credential's own limit (whose
	 * X-RateLimit-* headers this response already carries). */
	long long count = 0, ttl = 0;
	if (cache_incr_window(r->cache, r->a, cache_tkey(r->a, "rl:errors", r->tenant.id, "%s:%lld",
			      r->remote_addr ? r->remote_addr : "-", (long long)(time(NULL) / 60)),
			      61, &count, &ttl))
		return req_fail(r, E_UNAVAILABLE, "The rate limiter is unavailable; try again shortly");
	if (count > REPORTS_PER_MINUTE) {
		reply_header(r, "Retry-After", arena_printf(r->a, "%lld", 60 - (long long)(time(NULL) % 60)));
		return req_fail(r, E_RATE_LIMITED, "At most %d error reports a minute from one client",
				REPORTS_PER_MINUTE);
	}
	char id[40];
	id_new(id, sizeof(id), "err_");
	const char *who = r->who.kind == PRINCIPAL_USER ? "user" : "api_key";
	const char *who_id = r->who.kind == PRINCIPAL_USER ? r->who.user_id : r->who.key_id;
	const char *ua = req_env(r, "HTTP_USER_AGENT");
	db_param p[] = {
		db_str(id), db_str(r->tenant.id), db_str(level ? level : "error"),
		db_str(json_str_of(r->json, "message")), db_str(json_str_of(r->json, "stack")),
		db_str(json_str_of(r->json, "source")), db_str(json_str_of(r->json, "path")),
		db_str(meta), db_str(who), db_str(who_id), db_str(r->remote_addr),
		ua ? db_strn(ua, strnlen(ua, 512)) : db_null(), db_str(r->request_id),
	};
	enum db_status st = db_exec(r->db, r->a,
		"INSERT INTO client_errors (id, tenant_id, level, message, stack, source, path, "
		"metadata, reporter_type, reporter_id, ip_address, user_agent, request_id, created_at) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))", p, 13, NULL);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "error_id", id);
	reply_data(r, 200, d);
	return E_OK;
}

/* --- reading reports back --------------------------------------------- */

static const col_t report_cols[] = {
	{ "id", COL_STR, 0 },
	{ "level", COL_STR, 0 },
	{ "message", COL_STR, 0 },
	{ "stack", COL_STR, 0 },
	{ "source", COL_STR, 0 },
	{ "path", COL_STR, 0 },
	{ "metadata", COL_JSON, 0 },
	{ "reporter_type", COL_STR, 0 },
	{ "reporter_id", COL_STR, 0 },
	{ "ip_address", COL_STR, 0 },
	{ "user_agent", COL_STR, 0 },
	{ "request_id", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

/* The tenant's reports that ?level=, ?source=, ?created_after= and
 * ?created_before= select. */
static err_t reports_query(req_t *r, query_t *q)
{
	query_init(r, q, "tenant_id = ?");
	query_bind(r, q, db_str(r->tenant.id));
	const char *level = req_query(r, "level");
	err_t rc = one_of_or_reply(r, "level", level, levels);
	if (rc)
		return rc;
	if (level)
		query_and_bind(r, q, "level = ?", db_str(level));
	const char *source = req_query(r, "source");
	if (source)
		query_and_bind(r, q, "source = ?", db_str(source));
	return query_created_filters(r, q);
}

/* Runs SELECT COUNT(…) FROM client_errors WHERE q into *n. */
static err_t reports_count(req_t *r, const query_t *q, const char *what, long long *n)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(%s) FROM client_errors WHERE %s", what, q->sql), q->p, q->np, &res);
	if (st)
		return req_db_error(r, st);
	*n = strtoll(db_cell(res, 0, 0), NULL, 10);
	return E_OK;
}

/* GET /v1/errors: {results, next_cursor, total}, newest first. */
static err_t errors_list(req_t *r)
{
	query_t q;
	long long limit, total;
	const char *last;
	err_t rc;
	if ((rc = req_query_int(r, "limit", LIST_DEFAULT, 1, LIST_MAX, &limit)) ||
	    (rc = query_id_cursor(r, "errors", "err_", &last)) || (rc = reports_query(r, &q)) ||
	    (rc = reports_count(r, &q, "*", &total)))
		return rc;
	if (last)
		query_and_bind(r, &q, "id < ?", db_str(last));
	query_bind(r, &q, db_int(limit + 1));
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT %s FROM client_errors WHERE %s ORDER BY id DESC LIMIT ?",
		cols_select(r->a, report_cols, NULL), q.sql), q.p, q.np, &res);
	if (st)
		return req_db_error(r, st);
	reply_data(r, 200, query_id_page(r, res, limit, total, "errors", "err_", query_row_cols,
					   report_cols));
	return E_OK;
}

/* One group of the summary: its message, count, first and last report,
 * and the count per level. */
static cJSON *summary_group(const db_result *res, int i)
{
	static const col_t cols[] = {
		{ "message", COL_STR, 0 },
		{ "count", COL_INT, 0 },
		{ "first_seen", COL_TIME, 0 },
		{ "last_seen", COL_TIME, 0 },
		{ NULL, 0, 0 },
	};
	cJSON *g = row_to_json(cols, res, i);
	cJSON *per = cJSON_AddObjectToObject(g, "levels");
	for (size_t l = 0; levels[l]; l++)
		cJSON_AddNumberToObject(per, levels[l], (double)db_get_int(res, i, levels[l], 0));
	return g;
}

/*
 * GET /v1/errors/summary: the reports the filters select, grouped by
 * message (the whole text: grouped by its hash, not a prefix), most
 * frequent first: {groups: [{message, count, first_seen, last_seen,
 * levels}], total_reports, total_groups, limit}.
 */
static err_t errors_summary(req_t *r)
{
	query_t q;
	long long limit, reports, groups;
	err_t rc;
	if ((rc = req_query_int(r, "limit", LIST_DEFAULT, 1, LIST_MAX, &limit)) ||
	    (rc = reports_query(r, &q)) || (rc = reports_count(r, &q, "*", &reports)) ||
	    (rc = reports_count(r, &q, "DISTINCT SHA2(message, 256)", &groups)))
		return rc;
	query_bind(r, &q, db_int(limit));
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT MIN(message) AS message, COUNT(*) AS count, MIN(created_at) AS first_seen, "
		"MAX(created_at) AS last_seen, SUM(level = 'debug') AS debug, SUM(level = 'info') AS info, "
		"SUM(level = 'warning') AS warning, SUM(level = 'error') AS error, "
		"SUM(level = 'fatal') AS fatal FROM client_errors WHERE %s GROUP BY SHA2(message, 256) "
		"ORDER BY count DESC, last_seen DESC, message LIMIT ?", q.sql), q.p, q.np, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(d, "groups");
	for (int i = 0; i < res->nrows; i++)
		cJSON_AddItemToArray(list, summary_group(res, i));
	cJSON_AddNumberToObject(d, "total_reports", (double)reports);
	cJSON_AddNumberToObject(d, "total_groups", (double)groups);
	cJSON_AddNumberToObject(d, "limit", (double)limit);
	reply_data(r, 200, d);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows.  The two reads are Tessera's additions to the
 * reference, marked R_EXTENSION. */
const route_t errors_report_routes[] = {
	ROUTE("POST", "/v1/errors/report", "Errors", AUTH_BEARER, "", "none", R_USER, errors_report, error_report_body, "Report client error"),
	ROUTE("GET", "/v1/errors", "Errors", AUTH_BEARER, "*", NULL, R_EXTENSION, errors_list, NULL, "List client error reports"),
	ROUTE("GET", "/v1/errors/summary", "Errors", AUTH_BEARER, "*", NULL, R_EXTENSION, errors_summary, NULL, "Count client error reports per message"),
	ROUTES_END,
};
