/*
 * analytics.c - the analytics engine: product analytics over the events
 * the tenant sends (POST /v1/events, kept in the tenant's _events feed).
 *
 * GET /v1/analytics/engine?event_type=signup&metric=count|unique_users|sum
 * &field=amount&group_by=plan&interval=hour|day|week|month&period=7d
 * counts, counts distinct users (the event's data.user_id, else the end
 * user who sent it) or sums a numeric data field (DECIMAL, exact text),
 * per UTC period and optionally per value of a data field, in one GROUP BY.
 * event_type is a custom event's name (custom.<name> in the feed) or any
 * full type of the feed (object.created, form.submitted, …).
 */
#include <string.h>

#include "../common/jsonx.h"
#include "../common/strbuf.h"
#include "routes.h"

#define RESULTS_MAX 10000

static bool field_name_valid(const char *s)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
	size_t n = strlen(s);
	return n >= 1 && n <= 64 && strspn(s, ok) == n;
}

/* A query parameter naming a data field as a JSON path ($."name"), or
 * NULL when absent. */
static err_t field_path(req_t *r, const char *param, const char **path)
{
	const char *v = req_query(r, param);
	*path = NULL;
	if (!v)
		return E_OK;
	if (!field_name_valid(v))
		return req_fail_field(r, E_VALIDATION, param,
				      "%s must name a data field (letters, digits, _; at most 64)", param);
	*path = arena_printf(r->a, "$.\"%s\"", v);
	return E_OK;
}

/* One of names (NULL-terminated) from the query, def when absent. */
static err_t choice(req_t *r, const char *param, const char *const *names, const char *def,
		    int *out)
{
	const char *v = req_query(r, param);
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], v ? v : def)) {
			*out = i;
			return E_OK;
		}
	strbuf_t b = { 0 };
	for (int i = 0; names[i]; i++)
		sb_printf(&b, "%s%s", i ? ", " : "", names[i]);
	return req_fail_field(r, E_VALIDATION, param, "%s must be one of %s", param, sb_take(&b, r->a));
}

static err_t analytics_engine(req_t *r)
{
	static const char *const metrics[] = { "count", "unique_users", "sum", NULL };
	static const char *const intervals[] = { "hour", "day", "week", "month", "none", NULL };
	static const char *const formats[] = { "%Y-%m-%dT%H:00", "%Y-%m-%d", "%x-W%v", "%Y-%m", "all" };
	static const char *const periods[] = { "24h", "7d", "30d", "90d", NULL };
	static const int hours[] = { 24, 7 * 24, 30 * 24, 90 * 24 };
	const char *type = req_query(r, "event_type"), *field, *group;
	int metric, interval, period;
	err_t rc;
	if (!type || !*type || strlen(type) > 100)
		return req_fail_field(r, E_VALIDATION, "event_type",
				      "event_type is required (a custom event's name or a full type)");
	if ((rc = choice(r, "metric", metrics, "count", &metric)) ||
	    (rc = choice(r, "interval", intervals, "day", &interval)) ||
	    (rc = choice(r, "period", periods, "7d", &period)) || (rc = field_path(r, "field", &field)) ||
	    (rc = field_path(r, "group_by", &group)))
		return rc;
	if (metric == 2 && !field)
		return req_fail_field(r, E_VALIDATION, "field", "metric sum needs the data field to sum");
	const char *full = strchr(type, '.') ? type : arena_printf(r->a, "custom.%s", type);
	const char *value = metric == 0 ? "COUNT(*)"
		: metric == 1 ? "COUNT(DISTINCT COALESCE(JSON_VALUE(data, '$.user_id'), actor_id))"
		: "CAST(COALESCE(SUM(CAST(JSON_VALUE(data, ?) AS DECIMAL(38,4))), 0) AS CHAR)";
	db_param p[4];
	int np = 0;
	if (metric == 2)
		p[np++] = db_str(field);
	p[np++] = db_str(group ? group : "$.__none");
	p[np++] = db_str(full);
	p[np++] = db_int(hours[period]);
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT %s AS v, JSON_VALUE(data, ?) AS g, DATE_FORMAT(created_at, '%s') AS period "
		"FROM %s WHERE event_type = ? AND created_at >= UTC_TIMESTAMP(3) - INTERVAL ? HOUR "
		"GROUP BY period, g ORDER BY period, g LIMIT %d", value,
		formats[interval], tenant_table(r, "_events"), RESULTS_MAX),
		p, np, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "event_type", full);
	cJSON_AddStringToObject(d, "metric", metrics[metric]);
	cJSON_AddStringToObject(d, "interval", intervals[interval]);
	cJSON_AddStringToObject(d, "period", periods[period]);
	cJSON *results = cJSON_AddArrayToObject(d, "results");
	for (int i = 0; i < res->nrows; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "period", db_get(res, i, "period"));
		if (group) {
			const char *g = db_get(res, i, "g");
			cJSON_AddItemToObject(o, "group", g ? cJSON_CreateString(g) : cJSON_CreateNull());
		}
		const char *v = db_get(res, i, "v");
		cJSON_AddItemToObject(o, "value", metric == 2 ? cJSON_CreateString(v ? v : "0")
							   : cJSON_CreateNumber((double)db_get_int(res, i, "v", 0)));
		cJSON_AddItemToArray(results, o);
	}
	reply_data(r, 200, d);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t analytics_routes[] = {
	ROUTE("GET", "/v1/analytics/engine", "Analytics", AUTH_BEARER, "*", NULL, 0, analytics_engine, NULL, "Analytics engine query"),
	ROUTES_END,
};
