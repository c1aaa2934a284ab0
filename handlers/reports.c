/*
 * reports.c - the four aggregate reports (see reports.h) and their
 * endpoints.
 *
 * Every report is one or a few SQL statements over the type's table: the
 * rows are the live objects the caller may see (objects_policy_where) that
 * pass the request's filters (the object list's grammar, objquery.h); the
 * grouping and the aggregate run on the generated property columns, so
 * the worker only ever receives the groups.  decimal and currency values
 * stay DECIMAL in MariaDB and come out as exact decimal strings.
 *
 * Timeseries buckets are computed here, in the request's IANA time zone
 * (wall-clock arithmetic, then converted to instants), and MariaDB assigns
 * each row to its bucket with INTERVAL() over the bucket bounds, so the
 * zero-filled series costs one GROUP BY whatever the zone's DST rules.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../common/jsonx.h"
#include "../common/strbuf.h"
#include "../common/timefmt.h"
#include "objects.h"
#include "objquery.h"
#include "replies.h"
#include "reports.h"
#include "routes.h"
#include "views.h"

#define LEADERBOARD_MAX 100
#define LEADERBOARD_DEFAULT 10
#define FUNNEL_STEPS_MAX 10
#define BUCKETS_MAX 10000
#define BUCKETS_DEFAULT 30
#define OBJECTS_MAX 100
#define OBJECTS_DEFAULT 20

/* What a spec's aggregation and interval may be (the route rows declare
 * them; specs inside dashboards and saved reports are checked by the
 * builders below). */
static const char *const aggregations[] = { "count", "sum", "avg", "min", "max", NULL };
static const char *const interval_names[] = { "hour", "day", "week", "month", "quarter", "year",
					      NULL };

const field_t report_funnel_body[] = {
	{ "object_type_id", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "steps", FT_ARRAY, FF_REQUIRED, 1, FUNNEL_STEPS_MAX },
	{ "filters", FT_ARRAY, FF_NULLABLE, 0, OBJ_FILTERS_MAX },
	{ "within", FT_ANY, FF_NULLABLE, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t report_leaderboard_body[] = {
	{ "object_type_id", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "group_by", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "aggregation", FT_STRING, 0, 1, 16, aggregations },
	{ "value_property", FT_STRING, FF_NULLABLE, 1, 64 },
	{ "limit", FT_INT, 0, 0, LEADERBOARD_MAX },
	{ "filters", FT_ARRAY, FF_NULLABLE, 0, OBJ_FILTERS_MAX },
	{ NULL, 0, 0, 0, 0 },
};

const field_t report_pipeline_body[] = {
	{ "object_type_id", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "stage_property", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "value_property", FT_STRING, FF_NULLABLE, 1, 64 },
	{ "filters", FT_ARRAY, FF_NULLABLE, 0, OBJ_FILTERS_MAX },
	{ NULL, 0, 0, 0, 0 },
};

const field_t report_timeseries_body[] = {
	{ "object_type_id", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "date_property", FT_STRING, 0, 1, 64 },
	{ "interval", FT_STRING, 0, 1, 16, interval_names },
	{ "timezone", FT_STRING, 0, 1, 64 },
	{ "aggregation", FT_STRING, 0, 1, 16, aggregations },
	{ "value_property", FT_STRING, FF_NULLABLE, 1, 64 },
	{ "filters", FT_ARRAY, FF_NULLABLE, 0, OBJ_FILTERS_MAX },
	{ "start_date", FT_STRING, FF_NULLABLE, 1, 40 },
	{ "end_date", FT_STRING, FF_NULLABLE, 1, 40 },
	{ NULL, 0, 0, 0, 0 },
};

/* The kinds dashboards and saved reports add (no endpoint of their own):
 * one aggregate, and a page of objects (a view's filters, or the
 * request's). */
const field_t report_metric_body[] = {
	{ "object_type_id", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "aggregation", FT_STRING, 0, 1, 16, aggregations },
	{ "value_property", FT_STRING, FF_NULLABLE, 1, 64 },
	{ "filters", FT_ARRAY, FF_NULLABLE, 0, OBJ_FILTERS_MAX },
	{ NULL, 0, 0, 0, 0 },
};

const field_t report_objects_body[] = {
	{ "object_type_id", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "view_id", FT_STRING, FF_NULLABLE, 1, 64 },
	{ "columns", FT_STRING_ARRAY, FF_NULLABLE, 0, 100 },
	{ "limit", FT_INT, 0, 1, OBJECTS_MAX },
	{ "filters", FT_ARRAY, FF_NULLABLE, 0, OBJ_FILTERS_MAX },
	{ NULL, 0, 0, 0, 0 },
};

/* One report being computed. */
typedef struct rep {
	req_t *r;
	const cJSON *spec;
	const char *prefix;     /* of field names in errors */
	objtype_t *t;
	query_t w;              /* the rows: live, allowed, filtered */
} rep_t;

static const char *fld(const rep_t *p, const char *name)
{
	return arena_printf(p->r->a, "%s%s", p->prefix, name);
}

static bool prop_numeric(const prop_t *p)
{
	static const char *const names[] = { "integer", "number", "decimal", "currency", "percent",
					     NULL };
	return one_of(p->type->name, names);
}

static bool prop_money(const prop_t *p)
{
	return p && (!strcmp(p->type->name, "decimal") || !strcmp(p->type->name, "currency"));
}

static bool prop_groupable(const prop_t *p)
{
	static const char *const names[] = { "text", "rich_text", "json", "array", "multi_enum",
					     "geo_point", NULL };
	return !one_of(p->type->name, names);
}

static bool prop_enum(const prop_t *p)
{
	return !strcmp(p->type->name, "enum");
}

static bool prop_date(const prop_t *p)
{
	return !strcmp(p->type->name, "date") || !strcmp(p->type->name, "datetime");
}

/*
 * The property named by member of the spec into *out: it must be one of
 * the type's and pass ok (what describes what ok wants); absent or null
 * leaves *out NULL, or is refused when required.
 */
static err_t spec_prop(rep_t *p, const char *member, bool required, bool (*ok)(const prop_t *),
		       const char *what, const prop_t **out)
{
	*out = NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(p->spec, member);
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return req_fail_field(p->r, E_VALIDATION, fld(p, member), "%s is required", member);
		return E_OK;
	}
	if (!cJSON_IsString(v))
		return req_fail_field(p->r, E_VALIDATION, fld(p, member), "%s must name a property",
				      member);
	const prop_t *pr = objtype_prop(p->t, v->valuestring);
	if (!pr)
		return req_fail_field(p->r, E_VALIDATION, fld(p, member), "%.64s is not a property of %s",
				      v->valuestring, p->t->name);
	if (ok && !ok(pr))
		return req_fail_field(p->r, E_VALIDATION, fld(p, member),
				      "%s must name %s property; %s is %s", member, what, pr->name,
				      pr->type->name);
	*out = pr;
	return E_OK;
}

/* The aggregate of the spec's aggregation (count by default) over its
 * value_property as SQL into *sql; *vp is the value property (NULL for
 * count). */
static err_t spec_agg(rep_t *p, const char **sql, const prop_t **vp)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(p->spec, "aggregation");
	const char *agg = cJSON_IsString(a) ? a->valuestring : "count";
	err_t rc;
	if (a && !cJSON_IsString(a))
		return req_fail_field(p->r, E_VALIDATION, fld(p, "aggregation"),
				      "aggregation must be a string");
	if ((rc = one_of_or_reply(p->r, fld(p, "aggregation"), agg, aggregations)))
		return rc;
	*sql = "COUNT(*)";
	*vp = NULL;
	if (!strcmp(agg, "count"))
		return E_OK;
	if ((rc = spec_prop(p, "value_property", true, prop_numeric, "a numeric", vp)))
		return rc;
	const char *col = (*vp)->name;
	arena_t *ar = p->r->a;
	if (!strcmp(agg, "sum"))
		*sql = arena_printf(ar, "COALESCE(SUM(`%s`), 0)", col);
	else if (!strcmp(agg, "avg"))
		*sql = prop_money(*vp) ? arena_printf(ar, "CAST(AVG(`%s`) AS DECIMAL(23,4))", col)
				       : arena_printf(ar, "AVG(`%s`)", col);
	else
		*sql = arena_printf(ar, "%s(`%s`)", !strcmp(agg, "min") ? "MIN" : "MAX", col);
	return E_OK;
}

/* What a sum of no rows shows: 0 in the value's own form. */
static const char *agg_zero(const prop_t *vp)
{
	return prop_money(vp) ? "0.0000" : "0";
}

/* An aggregate as JSON: exact decimal text for money, a number otherwise,
 * null when there was nothing to aggregate. */
static cJSON *agg_json(const char *text, const prop_t *vp)
{
	if (!text)
		return cJSON_CreateNull();
	if (prop_money(vp))
		return cJSON_CreateString(text);
	return cJSON_CreateNumber(strtod(text, NULL));
}

/* Checks the spec's shape against schema (reports run from stored
 * widgets and saved reports too, whose bodies the pipeline never saw),
 * loads the type and starts the row query. */
static err_t rep_begin(req_t *r, const field_t *schema, const cJSON *spec, const char *prefix,
		       rep_t *p)
{
	*p = (rep_t){ .r = r, .spec = spec, .prefix = prefix };
	const char *field = NULL;
	char msg[256];
	if (!cJSON_IsObject(spec))
		return req_fail_field(r, E_VALIDATION, *prefix ? arena_strndup(r->a, prefix,
						strlen(prefix) - 1) : "body", "The report request must be an object");
	if (!schema_check(schema, spec, &field, msg, sizeof(msg)))
		return req_fail_field(r, E_VALIDATION, fld(p, field ? field : ""), "%s", msg);
	const char *type = json_str_of(spec, "object_type_id");
	err_t rc = objtype_load(r, type, &p->t);
	if (rc == E_NOT_FOUND)
		return req_fail_field(r, E_NOT_FOUND, fld(p, "object_type_id"),
				      "Object type %.64s not found", type);
	if (rc)
		return rc;
	query_init(r, &p->w, "is_deleted = 0");
	if ((rc = objects_policy_where(r, p->t, "select", &p->w)))
		return rc;
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(spec, "filters");
	if (f && !cJSON_IsNull(f))
		return query_filters(r, p->t, &p->w, f, fld(p, "filters"), 0);
	return E_OK;
}

/* --- funnel ---------------------------------------------------------------- */

static err_t time_expr(rep_t *p, const char **sql, bool *is_date);

#define WITHIN_MAX_S (10LL * 366 * 86400)

/* The funnel's within: seconds (an integer) or a duration such as "90s",
 * "30m", "24h", "7d", "2w"; 0 when absent or null. */
static err_t funnel_within(rep_t *p, long long *secs)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(p->spec, "within");
	*secs = 0;
	if (!w || cJSON_IsNull(w))
		return E_OK;
	long long n = -1;
	if (cJSON_IsNumber(w) && w->valuedouble == (double)(long long)w->valuedouble) {
		n = (long long)w->valuedouble;
	} else if (cJSON_IsString(w)) {
		char *end;
		long long v = strtoll(w->valuestring, &end, 10);
		static const struct { char unit; long long s; } units[] = {
			{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 7 * 86400 } };
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (end != w->valuestring && isdigit((unsigned char)w->valuestring[0]) &&
			    end[0] == units[i].unit && !end[1] && v <= WITHIN_MAX_S)
				n = v * units[i].s;
	}
	if (n < 1 || n > WITHIN_MAX_S)
		return req_fail_field(p->r, E_VALIDATION, fld(p, "within"),
				      "within must be a duration such as \"30m\", \"24h\" or \"7d\" "
				      "(or seconds), at most 10 years");
	*secs = n;
	return E_OK;
}

/* The time step i (its index) reached the step, as SQL epoch seconds:
 * the step's date_property (created_at, updated_at, a date or datetime
 * property); without one the first step's is created_at and a later
 * step has none (NULL: no within for it). */
static err_t step_time(rep_t *p, const cJSON *step, int i, const char **sql)
{
	*sql = NULL;
	const cJSON *dp = cJSON_GetObjectItemCaseSensitive(step, "date_property");
	if (!dp && i > 0)
		return E_OK;
	rep_t q = *p;
	q.spec = step;
	q.prefix = arena_printf(p->r->a, "%ssteps[%d].", p->prefix, i);
	bool is_date;
	if (dp && !cJSON_IsString(dp))
		return req_fail_field(p->r, E_VALIDATION, fld(&q, "date_property"),
				      "date_property must name a date or datetime property");
	return time_expr(&q, sql, &is_date);
}

static double ratio(long long n, long long d)
{
	return d > 0 ? (double)(n * 10000 / d) / 10000.0 : 0;
}

/* Step k counts the objects that pass the filters of steps 1..k, so each
 * step's set holds the next one's. */
static err_t funnel(rep_t *p, cJSON **out)
{
	const cJSON *steps = cJSON_GetObjectItemCaseSensitive(p->spec, "steps"), *s;
	if (cJSON_GetArraySize(steps) < 1)
		return req_fail_field(p->r, E_VALIDATION, fld(p, "steps"),
				      "steps must hold 1 to %d steps", FUNNEL_STEPS_MAX);
	query_t q = p->w;
	long long first = 0, prev = 0, within;
	int i = 0;
	const char *t0 = NULL;
	err_t rc = funnel_within(p, &within);
	if (rc)
		return rc;
	cJSON *arr = req_own(p->r, cJSON_CreateArray());
	cJSON_ArrayForEach(s, steps) {
		const char *field = fld(p, arena_printf(p->r->a, "steps[%d]", i));
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(s, "name");
		const cJSON *filters = cJSON_GetObjectItemCaseSensitive(s, "filters");
		if (!cJSON_IsObject(s) || (name && !cJSON_IsString(name)) || !cJSON_IsArray(filters))
			return req_fail_field(p->r, E_VALIDATION, field,
					      "each step is {\"name\", \"filters\": [...], "
					      "\"date_property\"?}");
		const char *t;
		if ((rc = step_time(p, s, i, &t)) ||
		    (rc = query_filters(p->r, p->t, &q, filters,
					arena_printf(p->r->a, "%s.filters", field), 0)))
			return rc;
		if (within && i > 0 && !t && i == cJSON_GetArraySize(steps) - 1)
			return req_fail_field(p->r, E_VALIDATION, arena_printf(p->r->a, "%s.date_property",
					      field), "with within, the last step needs the date_property "
					      "that says when an object reached it");
		if (i == 0)
			t0 = t;
		/* Reached within the window opened by the first step. */
		else if (within && t)
			query_and_bind(p->r, &q, arena_printf(p->r->a, "(%s) - (%s) BETWEEN 0 AND ?", t,
							      t0), db_int(within));
		long long n;
		if ((rc = query_count(p->r, p->t->table, &q, &n)))
			return rc;
		if (i == 0)
			first = prev = n;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "step", i + 1);
		if (name)
			cJSON_AddStringToObject(o, "name", name->valuestring);
		else
			cJSON_AddStringToObject(o, "name", arena_printf(p->r->a, "Step %d", i + 1));
		cJSON_AddNumberToObject(o, "count", (double)n);
		cJSON_AddNumberToObject(o, "conversion_rate", i == 0 ? 1 : ratio(n, prev));
		cJSON_AddNumberToObject(o, "overall_rate", i == 0 ? 1 : ratio(n, first));
		cJSON_AddNumberToObject(o, "dropped", (double)(prev - n));
		cJSON_AddItemToArray(arr, o);
		prev = n;
		i++;
	}
	*out = req_own(p->r, cJSON_CreateObject());
	cJSON_AddItemToObject(*out, "steps", cJSON_Duplicate(arr, true));
	cJSON_AddNumberToObject(*out, "entered", (double)first);
	cJSON_AddNumberToObject(*out, "completed", (double)prev);
	if (within)
		cJSON_AddNumberToObject(*out, "within_seconds", (double)within);
	return E_OK;
}

/* --- leaderboard ------------------------------------------------------------ */

static err_t leaderboard(rep_t *p, cJSON **out)
{
	const prop_t *g, *vp;
	const char *agg;
	err_t rc;
	if ((rc = spec_prop(p, "group_by", true, prop_groupable, "a scalar", &g)) ||
	    (rc = spec_agg(p, &agg, &vp)))
		return rc;
	const cJSON *jl = cJSON_GetObjectItemCaseSensitive(p->spec, "limit");
	long long limit = jl && jl->valueint > 0 ? jl->valueint : LEADERBOARD_DEFAULT;
	query_t q = p->w;
	query_and(p->r, &q, arena_printf(p->r->a, "`%s` IS NOT NULL", g->name));
	db_result *res;
	enum db_status st = db_exec(p->r->db, p->r->a, arena_printf(p->r->a,
		"SELECT `%s` AS grp, COUNT(*) AS n, %s AS v FROM %s WHERE %s GROUP BY `%s` "
		"ORDER BY %s IS NULL, v DESC, grp LIMIT %lld", g->name, agg, p->t->table, q.sql, g->name,
		agg, limit), q.p, q.np, &res);
	if (st)
		return req_db_error(p->r, st);
	*out = req_own(p->r, cJSON_CreateObject());
	cJSON *entries = cJSON_AddArrayToObject(*out, "entries");
	for (int i = 0; i < res->nrows; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "rank", i + 1);
		cJSON_AddStringToObject(e, "group", db_get(res, i, "grp"));
		cJSON_AddItemToObject(e, "value", agg_json(db_get(res, i, "v"), vp));
		cJSON_AddNumberToObject(e, "count", (double)db_get_int(res, i, "n", 0));
		cJSON_AddItemToArray(entries, e);
	}
	cJSON_AddStringToObject(*out, "group_by", g->name);
	const char *a = json_str_of(p->spec, "aggregation");
	cJSON_AddStringToObject(*out, "aggregation", a ? a : "count");
	return E_OK;
}

/* --- pipeline -------------------------------------------------------------- */

/* The row of res whose stage is stage (NULL: the objects without one). */
static int stage_row(const db_result *res, const char *stage)
{
	for (int i = 0; i < res->nrows; i++) {
		const char *s = db_get(res, i, "stage");
		if (stage ? s && !strcmp(s, stage) : !s)
			return i;
	}
	return -1;
}

static cJSON *stage_json(const db_result *res, const char *stage, const prop_t *vp,
			 long long total)
{
	int i = stage_row(res, stage);
	long long n = i < 0 ? 0 : db_get_int(res, i, "n", 0);
	cJSON *o = cJSON_CreateObject();
	if (stage)
		cJSON_AddStringToObject(o, "stage", stage);
	else
		cJSON_AddNullToObject(o, "stage");
	cJSON_AddNumberToObject(o, "count", (double)n);
	if (vp)
		cJSON_AddItemToObject(o, "value", agg_json(i < 0 ? agg_zero(vp) : db_get(res, i, "total"), vp));
	cJSON_AddNumberToObject(o, "percent", total ? (double)(n * 10000 / total) / 100.0 : 0);
	return o;
}

/* Counts (and sums of value_property) per value of an enum property, in
 * the enum's order, every value listed; objects without a stage last,
 * when there are any. */
static err_t pipeline(rep_t *p, cJSON **out)
{
	const prop_t *s, *vp;
	err_t rc;
	if ((rc = spec_prop(p, "stage_property", true, prop_enum, "an enum", &s)) ||
	    (rc = spec_prop(p, "value_property", false, prop_numeric, "a numeric", &vp)))
		return rc;
	db_result *res;
	enum db_status st = db_exec(p->r->db, p->r->a, arena_printf(p->r->a,
		"SELECT `%s` AS stage, COUNT(*) AS n, COALESCE(SUM(%s), 0) AS total FROM %s WHERE %s "
		"GROUP BY `%s`", s->name, vp ? arena_printf(p->r->a, "`%s`", vp->name) : "0",
		p->t->table, p->w.sql, s->name), p->w.p, p->w.np, &res);
	if (st)
		return req_db_error(p->r, st);
	long long total = 0;
	for (int i = 0; i < res->nrows; i++)
		total += db_get_int(res, i, "n", 0);
	db_result *sum = NULL;
	if (vp && (st = db_exec(p->r->db, p->r->a, arena_printf(p->r->a,
		"SELECT COALESCE(SUM(`%s`), 0) AS total FROM %s WHERE %s", vp->name, p->t->table,
		p->w.sql), p->w.p, p->w.np, &sum)))
		return req_db_error(p->r, st);
	*out = req_own(p->r, cJSON_CreateObject());
	cJSON *stages = cJSON_AddArrayToObject(*out, "stages");
	const cJSON *v;
	cJSON_ArrayForEach(v, s->enum_values)
		if (cJSON_IsString(v))
			cJSON_AddItemToArray(stages, stage_json(res, v->valuestring, vp, total));
	if (stage_row(res, NULL) >= 0)
		cJSON_AddItemToArray(stages, stage_json(res, NULL, vp, total));
	cJSON_AddStringToObject(*out, "stage_property", s->name);
	cJSON_AddNumberToObject(*out, "total_count", (double)total);
	if (sum)
		cJSON_AddItemToObject(*out, "total_value", agg_json(db_get(sum, 0, "total"), vp));
	return E_OK;
}

/* --- timeseries ------------------------------------------------------------ */

enum interval { IV_HOUR, IV_DAY, IV_WEEK, IV_MONTH, IV_QUARTER, IV_YEAR };

/* A zone name of the system's tz database (or UTC). */
static bool tz_valid(const char *tz)
{
	static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/";
	size_t n = strlen(tz);
	if (n == 0 || n > 64 || tz[0] == '/' || strstr(tz, "..") || strspn(tz, ok) != n)
		return false;
	char path[128];
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	return access(path, R_OK) == 0;
}

/* Wall-clock arithmetic: tm's fields normalised as if it were UTC. */
static time_t naive(struct tm *tm)
{
	time_t t = timegm(tm);
	gmtime_r(&t, tm);
	return t;
}

static void bucket_floor(struct tm *tm, enum interval iv)
{
	tm->tm_sec = tm->tm_min = 0;
	if (iv != IV_HOUR)
		tm->tm_hour = 0;
	if (iv == IV_WEEK)
		tm->tm_mday -= (tm->tm_wday + 6) % 7;   /* ISO weeks start on Monday */
	if (iv >= IV_MONTH)
		tm->tm_mday = 1;
	if (iv == IV_QUARTER)
		tm->tm_mon -= tm->tm_mon % 3;
	if (iv == IV_YEAR)
		tm->tm_mon = 0;
	naive(tm);
}

static void bucket_add(struct tm *tm, enum interval iv, int k)
{
	switch (iv) {
	case IV_HOUR: tm->tm_hour += k; break;
	case IV_DAY: tm->tm_mday += k; break;
	case IV_WEEK: tm->tm_mday += 7 * k; break;
	case IV_MONTH: tm->tm_mon += k; break;
	case IV_QUARTER: tm->tm_mon += 3 * k; break;
	case IV_YEAR: tm->tm_year += k; break;
	}
	naive(tm);
}

/* The instant of the wall-clock time tm in the zone that TZ names now. */
static time_t local_instant(const struct tm *tm)
{
	struct tm l = *tm;
	l.tm_isdst = -1;
	return mktime(&l);
}

static char *bucket_label(arena_t *a, const struct tm *tm, enum interval iv)
{
	switch (iv) {
	case IV_HOUR:
		return arena_printf(a, "%04d-%02d-%02dT%02d:00", tm->tm_year + 1900, tm->tm_mon + 1,
				    tm->tm_mday, tm->tm_hour);
	case IV_MONTH:
		return arena_printf(a, "%04d-%02d", tm->tm_year + 1900, tm->tm_mon + 1);
	case IV_QUARTER:
		return arena_printf(a, "%04d-Q%d", tm->tm_year + 1900, tm->tm_mon / 3 + 1);
	case IV_YEAR:
		return arena_printf(a, "%04d", tm->tm_year + 1900);
	default:
		return arena_printf(a, "%04d-%02d-%02d", tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday);
	}
}

/* start_date or end_date (YYYY-MM-DD, a local date, or RFC 3339) as local
 * wall-clock time into *tm; absent leaves *given false. */
static err_t spec_date(rep_t *p, const char *member, struct tm *tm, bool *given)
{
	const char *s = json_str_of(p->spec, member);
	*given = s != NULL;
	if (!s)
		return E_OK;
	int y, m, d;
	char tail;
	time_t t;
	memset(tm, 0, sizeof(*tm));
	if (strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && y >= 1970 &&
	    y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31) {
		tm->tm_year = y - 1900;
		tm->tm_mon = m - 1;
		tm->tm_mday = d;
		naive(tm);
		return E_OK;
	}
	if (time_parse_rfc3339(s, &t) == 0 && t >= 0) {
		localtime_r(&t, tm);
		tm->tm_isdst = 0;
		naive(tm);
		return E_OK;
	}
	return req_fail_field(p->r, E_VALIDATION, fld(p, member),
			      "%s must be a date (2026-01-31) or an RFC 3339 time", member);
}

/* The SQL of the row's time as epoch seconds: created_at and updated_at
 * (UTC DATETIME), a datetime property (UTC RFC 3339 text) or a date
 * property (a calendar date, as wall-clock midnight). */
static err_t time_expr(rep_t *p, const char **sql, bool *is_date)
{
	const char *name = json_str_of(p->spec, "date_property");
	*is_date = false;
	if (!name || !strcmp(name, "created_at") || !strcmp(name, "updated_at")) {
		*sql = arena_printf(p->r->a, "UNIX_TIMESTAMP(%s)", name ? name : "created_at");
		return E_OK;
	}
	const prop_t *dp;
	err_t rc = spec_prop(p, "date_property", true, prop_date, "a date or datetime", &dp);
	if (rc)
		return rc;
	*is_date = !strcmp(dp->type->name, "date");
	*sql = *is_date ? arena_printf(p->r->a, "UNIX_TIMESTAMP(`%s`)", dp->name)
			: arena_printf(p->r->a, "UNIX_TIMESTAMP(CAST(REPLACE(LEFT(`%s`, 23), 'T', ' ') "
				       "AS DATETIME(3)))", dp->name);
	return E_OK;
}

/* The buckets from start to end (local wall-clock times, end's bucket
 * included): *n of them, their starts (wall clock) in *tms, and n + 1
 * bounds, instants in *inst and wall-clock times as epoch in *wall. */
typedef struct buckets {
	int n;
	struct tm *tms;
	long long *inst, *wall;
} buckets_t;

static err_t buckets_make(rep_t *p, enum interval iv, struct tm start, struct tm end,
			  buckets_t *b)
{
	bucket_floor(&start, iv);
	time_t last = naive(&end);
	int n = 0;
	for (struct tm cur = start; naive(&cur) <= last; bucket_add(&cur, iv, 1))
		if (++n > BUCKETS_MAX)
			return req_fail_field(p->r, E_VALIDATION, fld(p, "interval"),
					      "The range holds more than %d %s buckets; use a longer "
					      "interval or a shorter range", BUCKETS_MAX, interval_names[iv]);
	if (n == 0)
		return req_fail_field(p->r, E_VALIDATION, fld(p, "start_date"),
				      "start_date must not be after end_date");
	b->n = n;
	b->tms = arena_calloc(p->r->a, (size_t)n + 1, sizeof(*b->tms));
	b->inst = arena_calloc(p->r->a, (size_t)n + 1, sizeof(*b->inst));
	b->wall = arena_calloc(p->r->a, (size_t)n + 1, sizeof(*b->wall));
	struct tm cur = start;
	for (int i = 0; i <= n; i++, bucket_add(&cur, iv, 1)) {
		b->tms[i] = cur;
		b->wall[i] = (long long)naive(&cur);
		b->inst[i] = (long long)local_instant(&cur);
		/* INTERVAL() needs ascending bounds: a wall-clock hour that DST
		 * skips is an empty bucket. */
		if (i > 0 && b->inst[i] < b->inst[i - 1])
			b->inst[i] = b->inst[i - 1];
	}
	return E_OK;
}

/* Sets TZ to tz for the zone's conversions; returns what to restore. */
static char *tz_enter(arena_t *a, const char *tz)
{
	const char *old = getenv("TZ");
	char *saved = old ? arena_strdup(a, old) : NULL;
	setenv("TZ", tz, 1);
	tzset();
	return saved;
}

static void tz_leave(const char *saved)
{
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
}

/* The series' buckets in the spec's zone: start_date to end_date, by
 * default the BUCKETS_DEFAULT intervals up to now. */
static err_t series_buckets(rep_t *p, enum interval iv, const char *tz, buckets_t *b)
{
	char *saved = tz_enter(p->r->a, tz);
	struct tm start, end;
	bool has_start, has_end;
	err_t rc = spec_date(p, "start_date", &start, &has_start);
	if (!rc)
		rc = spec_date(p, "end_date", &end, &has_end);
	if (!rc && !has_end) {
		time_t now = time(NULL);
		localtime_r(&now, &end);
		end.tm_isdst = 0;
		naive(&end);
	}
	if (!rc && !has_start) {
		start = end;
		bucket_floor(&start, iv);
		bucket_add(&start, iv, 1 - BUCKETS_DEFAULT);
	}
	if (!rc)
		rc = buckets_make(p, iv, start, end, b);
	tz_leave(saved);
	return rc;
}

static err_t timeseries(rep_t *p, cJSON **out)
{
	const char *iv_name = json_str_of(p->spec, "interval");
	const char *tz = json_str_of(p->spec, "timezone");
	err_t rc = one_of_or_reply(p->r, fld(p, "interval"), iv_name, interval_names);
	if (rc)
		return rc;
	int iv = 0;
	while (strcmp(interval_names[iv], iv_name ? iv_name : "day"))
		iv++;
	if (!tz)
		tz = "UTC";
	if (!tz_valid(tz))
		return req_fail_field(p->r, E_VALIDATION, fld(p, "timezone"),
				      "timezone must be an IANA zone name such as Europe/Paris or UTC");
	const char *agg, *x;
	const prop_t *vp;
	bool is_date;
	buckets_t b = { 0 };
	if ((rc = time_expr(p, &x, &is_date)) || (rc = spec_agg(p, &agg, &vp)) ||
	    (rc = series_buckets(p, (enum interval)iv, tz, &b)))
		return rc;
	long long *bounds = is_date ? b.wall : b.inst;
	/* INTERVAL(x, b0, …, bn) is k when x is in [b(k-1), bk). */
	int np = (b.n + 1) + p->w.np + 2;
	db_param *params = arena_calloc(p->r->a, (size_t)np, sizeof(*params));
	strbuf_t marks = { 0 };
	for (int i = 0; i <= b.n; i++) {
		params[i] = db_int(bounds[i]);
		sb_puts(&marks, i ? ", ?" : "?");
	}
	if (p->w.np)
		memcpy(params + b.n + 1, p->w.p, (size_t)p->w.np * sizeof(*params));
	params[np - 2] = db_int(bounds[0]);
	params[np - 1] = db_int(bounds[b.n]);
	db_result *res;
	enum db_status st = db_exec(p->r->db, p->r->a, arena_printf(p->r->a,
		"SELECT INTERVAL(%s, %s) AS k, COUNT(*) AS n, %s AS v FROM %s WHERE %s AND %s >= ? "
		"AND %s < ? GROUP BY k", x, sb_take(&marks, p->r->a), agg, p->t->table, p->w.sql, x, x),
		params, np, &res);
	if (st)
		return req_db_error(p->r, st);
	const char **vals = arena_calloc(p->r->a, (size_t)b.n, sizeof(*vals));
	long long *counts = arena_calloc(p->r->a, (size_t)b.n, sizeof(*counts));
	for (int i = 0; i < res->nrows; i++) {
		long long k = db_get_int(res, i, "k", 0) - 1;
		if (k >= 0 && k < b.n) {
			counts[k] = db_get_int(res, i, "n", 0);
			vals[k] = db_get(res, i, "v");
		}
	}
	/* An empty bucket sums to 0; its average, minimum and maximum are null. */
	const char *zero = strstr(agg, "SUM(") ? agg_zero(vp) : NULL;
	*out = req_own(p->r, cJSON_CreateObject());
	cJSON *series = cJSON_AddArrayToObject(*out, "series");
	for (int i = 0; i < b.n; i++) {
		char ts[RFC3339_LEN];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "label", bucket_label(p->r->a, &b.tms[i], (enum interval)iv));
		cJSON_AddStringToObject(o, "start", time_rfc3339(ts, (time_t)b.inst[i]));
		cJSON_AddNumberToObject(o, "count", (double)counts[i]);
		cJSON_AddItemToObject(o, "value", vp ? agg_json(vals[i] ? vals[i] : zero, vp)
						      : cJSON_CreateNumber((double)counts[i]));
		cJSON_AddItemToArray(series, o);
	}
	cJSON_AddStringToObject(*out, "interval", interval_names[iv]);
	cJSON_AddStringToObject(*out, "timezone", tz);
	return E_OK;
}

/* --- metric and objects ------------------------------------------------------ */

static err_t metric(rep_t *p, cJSON **out)
{
	const char *agg;
	const prop_t *vp;
	err_t rc = spec_agg(p, &agg, &vp);
	if (rc)
		return rc;
	db_result *res;
	enum db_status st = db_exec(p->r->db, p->r->a, arena_printf(p->r->a,
		"SELECT COUNT(*) AS n, %s AS v FROM %s WHERE %s", agg, p->t->table, p->w.sql), p->w.p,
		p->w.np, &res);
	if (st)
		return req_db_error(p->r, st);
	*out = req_own(p->r, cJSON_CreateObject());
	cJSON_AddItemToObject(*out, "value", vp ? agg_json(db_get(res, 0, "v"), vp)
					       : cJSON_CreateNumber((double)db_get_int(res, 0, "n", 0)));
	cJSON_AddNumberToObject(*out, "count", (double)db_get_int(res, 0, "n", 0));
	return E_OK;
}

/* columns: names of the type's properties (all of them when absent). */
static err_t spec_columns(rep_t *p, const cJSON **cols)
{
	*cols = cJSON_GetObjectItemCaseSensitive(p->spec, "columns");
	int i = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, (cJSON_IsArray(*cols) ? *cols : NULL)) {
		if (!objtype_prop(p->t, c->valuestring))
			return req_fail_field(p->r, E_VALIDATION, fld(p, arena_printf(p->r->a, "columns[%d]", i)),
					      "%.64s is not a property of %s", c->valuestring, p->t->name);
		i++;
	}
	return E_OK;
}

/* The newest objects that pass the filters (and the view's), with the
 * chosen properties; never who created them. */
static err_t objects(rep_t *p, cJSON **out)
{
	const char *view = json_str_of(p->spec, "view_id"), *sort, *order;
	const cJSON *cols, *jl = cJSON_GetObjectItemCaseSensitive(p->spec, "limit");
	cJSON *vf;
	err_t rc;
	if (view && ((rc = views_get_for_list(p->r, p->t, view, &vf, &sort, &order)) ||
		     (rc = query_filters(p->r, p->t, &p->w, vf, fld(p, "view_id"), 0))))
		return rc == E_NOT_FOUND ? req_fail_field(p->r, E_NOT_FOUND, fld(p, "view_id"),
							  "View not found") : rc;
	long long total, limit = jl ? jl->valueint : OBJECTS_DEFAULT;
	db_result *res;
	if ((rc = spec_columns(p, &cols)) || (rc = query_count(p->r, p->t->table, &p->w, &total)))
		return rc;
	enum db_status st = db_exec(p->r->db, p->r->a, arena_printf(p->r->a,
		"SELECT id, properties, created_at FROM %s WHERE %s ORDER BY created_at DESC, id DESC "
		"LIMIT %lld", p->t->table, p->w.sql, limit), p->w.p, p->w.np, &res);
	if (st)
		return req_db_error(p->r, st);
	*out = req_own(p->r, cJSON_CreateObject());
	cJSON *rows = cJSON_AddArrayToObject(*out, "rows");
	for (int i = 0; i < res->nrows; i++) {
		char ts[RFC3339_LEN];
		cJSON *o = cJSON_CreateObject(), *props = cJSON_Parse(db_get(res, i, "properties"));
		cJSON_AddStringToObject(o, "id", db_get(res, i, "id"));
		cJSON_AddStringToObject(o, "created_at", time_from_sql(ts, db_get(res, i, "created_at")));
		cJSON *shown = cJSON_AddObjectToObject(o, "properties");
		const cJSON *v;
		cJSON_ArrayForEach(v, props) {
			bool wanted = !cJSON_IsArray(cols);
			const cJSON *c;
			cJSON_ArrayForEach(c, (cJSON_IsArray(cols) ? cols : NULL))
				wanted |= !strcmp(c->valuestring, v->string);
			if (wanted)
				cJSON_AddItemToObject(shown, v->string, cJSON_Duplicate(v, true));
		}
		cJSON_Delete(props);
		cJSON_AddItemToArray(rows, o);
	}
	cJSON_AddNumberToObject(*out, "total", (double)total);
	return E_OK;
}

/* --- the entry point and the endpoints ------------------------------------- */

static const struct report_kind {
	const char *type;
	const field_t *schema;
	err_t (*run)(rep_t *p, cJSON **out);
} kinds[] = {
	{ "funnel", report_funnel_body, funnel },
	{ "leaderboard", report_leaderboard_body, leaderboard },
	{ "pipeline", report_pipeline_body, pipeline },
	{ "timeseries", report_timeseries_body, timeseries },
	{ "metric", report_metric_body, metric },
	{ "objects", report_objects_body, objects },
};

static const struct report_kind *kind_of(const char *type)
{
	for (size_t i = 0; type && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].type, type))
			return &kinds[i];
	return NULL;
}

bool report_type_valid(const char *type)
{
	return kind_of(type) != NULL;
}

err_t report_run(req_t *r, const char *type, const cJSON *spec, const char *prefix, cJSON **out)
{
	const struct report_kind *k = kind_of(type);
	if (!k)
		return req_fail_field(r, E_VALIDATION, "type",
				      "type must be one of funnel, leaderboard, pipeline, timeseries, "
				      "metric, objects");
	rep_t p;
	err_t rc = rep_begin(r, k->schema, spec, prefix, &p);
	if (rc || (rc = k->run(&p, out)))
		return rc;
	cJSON_AddStringToObject(*out, "object_type_id", p.t->id);
	return E_OK;
}

err_t report_check_request(req_t *r, const res_ctx_t *c, const char *(*kind)(const char *type))
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(c->body, "type");
	const cJSON *config = cJSON_GetObjectItemCaseSensitive(c->body, "config_json");
	if (!type)
		type = cJSON_GetObjectItemCaseSensitive(c->before, "type");
	if (!config)
		config = cJSON_GetObjectItemCaseSensitive(c->before, "config_json");
	/* Stored JSON renders numbers as raw text: the report reads parsed. */
	cJSON *spec = req_own(r, cJSON_Parse(req_json_text(r, config))), *out;
	const char *t = cJSON_IsString(type) ? type->valuestring : NULL;
	return report_run(r, kind ? kind(t) : t, spec, "config_json.", &out);
}

/* POST /v1/reports/<type>: the type is the path's last segment. */
static err_t reports_post(req_t *r)
{
	const char *type = strrchr(r->route->path, '/') + 1;
	cJSON *out;
	err_t rc = report_run(r, type, r->json, "", &out);
	if (rc)
		return rc;
	reply_data(r, 200, cJSON_Duplicate(out, true));
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t reports_routes[] = {
	ROUTE("POST", "/v1/reports/funnel", "Reports", AUTH_BEARER, "read", "reports:run", R_USER, reports_post, report_funnel_body, "Funnel report"),
	ROUTE("POST", "/v1/reports/leaderboard", "Reports", AUTH_BEARER, "read", "reports:run", R_USER, reports_post, report_leaderboard_body, "Leaderboard report"),
	ROUTE("POST", "/v1/reports/pipeline", "Reports", AUTH_BEARER, "read", "reports:run", R_USER, reports_post, report_pipeline_body, "Pipeline report"),
	ROUTE("POST", "/v1/reports/timeseries", "Reports", AUTH_BEARER, "read", "reports:run", R_USER, reports_post, report_timeseries_body, "Time series report"),
	ROUTES_END,
};
