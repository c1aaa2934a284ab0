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
 *
 * GET /v1/analytics?period=24h|7d|30d|90d: the tenant's overview.  API
 * requests per hour, group and status class come from the usage counter
 * (fcgi/usage.h): the rows the analytics.rollup job moved into the
 * control DB plus the counts still in Redis, each counted exactly once
 * (see usage_read).  The rest is read where it is kept: end users and
 * sessions, files and the storage counter, the object type tables, the
 * event feed and the webhook delivery log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/strbuf.h"
#include "../common/timefmt.h"
#include "../fcgi/fanout.h"
#include "../fcgi/jobs.h"
#include "../fcgi/usage.h"
#include "routes.h"

#define RESULTS_MAX 10000
#define OBJECT_TYPES_MAX 500

static const char *const periods[] = { "24h", "7d", "30d", "90d", NULL };
static const int period_hours[] = { 24, 7 * 24, 30 * 24, 90 * 24 };

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
	p[np++] = db_int(period_hours[period]);
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

/* ------------------------------------------------------ tenant overview */

static const char *const status_classes[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };

/* The request counts of one period, as they are added up. */
typedef struct usage_acc {
	char start_hour[11];      /* "YYYYMMDDHH": the first hour counted */
	time_t start_day;         /* 00:00 UTC of the first day */
	int ndays;
	long long total, cls[5];
	long long (*day_cls)[5];
	cJSON *groups;            /* group -> {total, "2xx": n, …} (owned by the request) */
	cJSON **day_groups;       /* per day, the same */
} usage_acc_t;

static void bump(cJSON *o, const char *name, long long n)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	if (v)
		cJSON_SetNumberValue(v, v->valuedouble + (double)n);
	else
		cJSON_AddNumberToObject(o, name, (double)n);
}

static cJSON *child(cJSON *o, const char *name)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return v ? v : cJSON_AddObjectToObject(o, name);
}

/* 00:00 UTC of the day of hour ("YYYYMMDDHH"), or -1 if malformed. */
static time_t hour_day(const char *hour)
{
	if (strlen(hour) != 10 || strspn(hour, "0123456789") != 10)
		return -1;
	struct tm tm = { 0 };
	char y[5] = { hour[0], hour[1], hour[2], hour[3], 0 }, m[3] = { hour[4], hour[5], 0 };
	char d[3] = { hour[6], hour[7], 0 };
	tm.tm_year = atoi(y) - 1900;
	tm.tm_mon = atoi(m) - 1;
	tm.tm_mday = atoi(d);
	return timegm(&tm);
}

/* Adds n requests of one hour, group and class ("4xx"); what lies before
 * the period, or is malformed, is left out. */
static void usage_add(usage_acc_t *u, const char *hour, const char *group, const char *cls,
		      long long n)
{
	int c = cls && strlen(cls) == 3 && cls[0] >= '1' && cls[0] <= '5' && !strcmp(cls + 1, "xx")
		? cls[0] - '1' : -1;
	time_t day = hour_day(hour);
	if (c < 0 || day < 0 || !group || n <= 0 || strcmp(hour, u->start_hour) < 0)
		return;
	long long i = (long long)(day - u->start_day) / 86400;
	if (i < 0 || i >= u->ndays)
		return;
	u->total += n;
	u->cls[c] += n;
	u->day_cls[i][c] += n;
	cJSON *g = child(u->groups, group), *dg = child(u->day_groups[i], group);
	bump(g, "total", n);
	bump(g, cls, n);
	bump(dg, "total", n);
	bump(dg, cls, n);
}

/* A Redis member "<hour>|<group>|<class>" and its count. */
static void usage_add_member(usage_acc_t *u, arena_t *a, const char *member, const char *count)
{
	const char *bar = strchr(member, '|'), *last = strrchr(member, '|');
	if (!bar || last == bar)
		return;
	usage_add(u, arena_strndup(a, member, (size_t)(bar - member)),
		  arena_strndup(a, bar + 1, (size_t)(last - bar - 1)), last + 1,
		  strtoll(count, NULL, 10));
}

static bool roll_applied(const db_result *res, const char *roll)
{
	for (int i = 0; roll && i < res->nrows; i++)
		if (!strcmp(db_cell(res, i, 0), "x") && !strcmp(db_cell(res, i, 1), roll))
			return true;
	return false;
}

/* Reads a tenant's request and finished-roll hashes at once. */
static const char usage_read_lua[] =
	"local out = {} for i, k in ipairs(KEYS) do out[i] = redis.call('HGETALL', k) end "
	"return out";

/*
 * The request counts of r's tenant since u->start_hour, each counted once
 * although the rollup moves counts from Redis to MariaDB meanwhile.  The
 * rolled rows and the ids of the recent rolls are read first, in one
 * statement (one snapshot); then, in one script, the Redis hashes: the
 * live counts (never rolled yet: after what was read), the roll in
 * progress and the last finished roll (USAGE_DONE_TTL_S), each of the two
 * counted unless its id was among the rolls the statement saw.
 */
static err_t usage_read(req_t *r, usage_acc_t *u, const char *start_sql)
{
	db_param p[] = { db_str(r->tenant.id), db_str(start_sql), db_str(r->tenant.id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a,
		"SELECT 'r' AS k, DATE_FORMAT(hour, '%Y%m%d%H') AS h, grp, status_class, requests "
		"FROM usage_requests WHERE tenant_id = ? AND hour >= ? UNION ALL "
		"SELECT 'x', roll_id, NULL, NULL, 0 FROM usage_rolls WHERE tenant_id = ? AND "
		"rolled_at >= UTC_TIMESTAMP(3) - INTERVAL 1 DAY", p, 3, &res);
	if (st)
		return req_db_error(r, st);
	for (int i = 0; i < res->nrows; i++)
		if (!strcmp(db_cell(res, i, 0), "r"))
			usage_add(u, db_cell(res, i, 1), db_cell(res, i, 2), db_cell(res, i, 3),
				  strtoll(db_cell(res, i, 4), NULL, 10));
	const char *argv[] = { "EVAL", usage_read_lua, "3",
			       arena_printf(r->a, USAGE_KEY_REQ, r->tenant.id),
			       arena_printf(r->a, USAGE_KEY_ROLL, r->tenant.id),
			       arena_printf(r->a, USAGE_KEY_DONE, r->tenant.id) };
	redisReply *rep;
	enum cache_status cs = cache_cmd(r->cache, r->a, &rep, 6, argv);
	if (cs != CACHE_OK || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3)
		return req_fail(r, E_UNAVAILABLE, "The usage counters are unavailable; try again shortly");
	for (size_t k = 0; k < 3; k++) {
		const redisReply *h = rep->element[k];
		if (h->type != REDIS_REPLY_ARRAY)
			continue;
		const char *roll = NULL;
		for (size_t i = 0; i + 1 < h->elements; i += 2)
			if (!strcmp(h->element[i]->str, USAGE_ROLL_ID))
				roll = h->element[i + 1]->str;
		if (k > 0 && roll_applied(res, roll))
			continue;
		for (size_t i = 0; i + 1 < h->elements; i += 2)
			if (strcmp(h->element[i]->str, USAGE_ROLL_ID))
				usage_add_member(u, r->a, h->element[i]->str, h->element[i + 1]->str);
	}
	return E_OK;
}

static cJSON *classes_json(const long long *cls)
{
	cJSON *o = cJSON_CreateObject();
	for (int c = 0; c < 5; c++)
		cJSON_AddNumberToObject(o, status_classes[c], (double)cls[c]);
	return o;
}

static void usage_render(const usage_acc_t *u, cJSON *d)
{
	long long errors = u->cls[3] + u->cls[4];
	cJSON_AddNumberToObject(d, "api_requests", (double)u->total);
	cJSON_AddNumberToObject(d, "errors", (double)errors);
	cJSON_AddNumberToObject(d, "client_errors", (double)u->cls[3]);
	cJSON_AddNumberToObject(d, "server_errors", (double)u->cls[4]);
	cJSON_AddNumberToObject(d, "error_rate", u->total ? (double)(errors * 10000 / u->total) / 10000.0 : 0);
	cJSON_AddItemToObject(d, "api_requests_by_status_class", classes_json(u->cls));
	cJSON_AddItemToObject(d, "api_requests_by_group", cJSON_Duplicate(u->groups, true));
	cJSON *days = cJSON_AddArrayToObject(d, "api_requests_by_day");
	for (int i = 0; i < u->ndays; i++) {
		char date[16];
		time_t t = u->start_day + (time_t)i * 86400;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		long long total = 0;
		for (int c = 0; c < 5; c++)
			total += u->day_cls[i][c];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "date", date);
		cJSON_AddNumberToObject(o, "total", (double)total);
		cJSON_AddNumberToObject(o, "errors", (double)(u->day_cls[i][3] + u->day_cls[i][4]));
		cJSON_AddItemToObject(o, "by_status_class", classes_json(u->day_cls[i]));
		cJSON_AddItemToObject(o, "by_group", cJSON_Duplicate(u->day_groups[i], true));
		cJSON_AddItemToArray(days, o);
	}
}

/* The counts the tenant database keeps, since start. */
static err_t tenant_counts(req_t *r, const char *start, cJSON *d)
{
	db_param p[7];
	for (int i = 0; i < 7; i++)
		p[i] = db_str(start);
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT (SELECT COUNT(DISTINCT user_id) FROM %s WHERE last_active_at >= ?) AS active, "
		"(SELECT COUNT(*) FROM %s WHERE created_at >= ?) AS sign_ups, "
		"(SELECT COUNT(*) FROM %s) AS users, "
		"(SELECT COUNT(*) FROM %s WHERE is_deleted = 0 AND status = 'ready') AS files, "
		"(SELECT COUNT(*) FROM %s WHERE created_at >= ?) AS uploads, "
		"(SELECT COUNT(*) FROM %s WHERE created_at >= ?) AS events, "
		"(SELECT COUNT(*) FROM %s WHERE created_at >= ? AND event_type LIKE 'custom.%%') AS custom, "
		"(SELECT COUNT(*) FROM %s WHERE created_at >= ? AND `trigger` <> 'test') AS deliveries, "
		"(SELECT COUNT(*) FROM %s WHERE created_at >= ? AND `trigger` <> 'test' AND "
		"status = 'succeeded') AS delivered",
		tenant_table(r, "_sessions"), tenant_table(r, "_users"), tenant_table(r, "_users"),
		tenant_table(r, "_files"), tenant_table(r, "_files"), tenant_table(r, "_events"),
		tenant_table(r, "_events"), tenant_table(r, "_webhook_deliveries"),
		tenant_table(r, "_webhook_deliveries")), p, 7, &res);
	db_param tp[] = { db_str(r->tenant.id) };
	db_result *tr;
	if (!st)
		st = db_exec(db_control(r->db), r->a, "SELECT used_storage_bytes FROM tenants WHERE id = ?", tp, 1, &tr);
	if (st)
		return req_db_error(r, st);
	long long deliveries = db_get_int(res, 0, "deliveries", 0);
	long long delivered = db_get_int(res, 0, "delivered", 0);
	cJSON_AddNumberToObject(d, "active_users", (double)db_get_int(res, 0, "active", 0));
	cJSON_AddNumberToObject(d, "sign_ups", (double)db_get_int(res, 0, "sign_ups", 0));
	cJSON_AddNumberToObject(d, "total_users", (double)db_get_int(res, 0, "users", 0));
	cJSON_AddNumberToObject(d, "storage_bytes", (double)db_get_int(tr, 0, "used_storage_bytes", 0));
	cJSON_AddNumberToObject(d, "files", (double)db_get_int(res, 0, "files", 0));
	cJSON_AddNumberToObject(d, "files_uploaded", (double)db_get_int(res, 0, "uploads", 0));
	cJSON_AddNumberToObject(d, "events", (double)db_get_int(res, 0, "events", 0));
	cJSON_AddNumberToObject(d, "custom_events", (double)db_get_int(res, 0, "custom", 0));
	cJSON_AddNumberToObject(d, "webhook_deliveries", (double)deliveries);
	cJSON_AddNumberToObject(d, "webhook_failures", (double)(deliveries - delivered));
	if (deliveries)
		cJSON_AddNumberToObject(d, "webhook_success_rate",
					(double)(delivered * 10000 / deliveries) / 10000.0);
	else
		cJSON_AddNullToObject(d, "webhook_success_rate");
	return E_OK;
}

static bool type_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n >= 1 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Live objects of every type (and those created since start), in one
 * statement over the type tables. */
static err_t object_counts(req_t *r, const char *start, cJSON *d)
{
	db_result *types, *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT name FROM %s ORDER BY name LIMIT %d", tenant_table(r, "_object_types"),
		OBJECT_TYPES_MAX), NULL, 0, &types);
	if (st)
		return req_db_error(r, st);
	cJSON *by_type = cJSON_CreateObject();
	long long total = 0, created = 0;
	strbuf_t b = { 0 };
	db_param *p = arena_alloc(r->a, sizeof(db_param) * (size_t)(types->nrows + 1));
	int np = 0;
	for (int i = 0; i < types->nrows; i++) {
		const char *name = db_cell(types, i, 0);
		if (!type_name_valid(name))
			continue;
		sb_printf(&b, "%sSELECT ? AS t, COUNT(*) AS n, COALESCE(SUM(created_at >= ?), 0) AS c "
			  "FROM %s WHERE is_deleted = 0", np ? " UNION ALL " : "",
			  tenant_table(r, name));
		p[np++] = db_str(name);
	}
	if (np) {
		db_param *all = arena_alloc(r->a, sizeof(db_param) * (size_t)np * 2);
		for (int i = 0; i < np; i++) {
			all[2 * i] = p[i];
			all[2 * i + 1] = db_str(start);
		}
		if ((st = db_exec(r->db, r->a, sb_take(&b, r->a), all, 2 * np, &res))) {
			cJSON_Delete(by_type);
			return req_db_error(r, st);
		}
		for (int i = 0; i < res->nrows; i++) {
			long long n = db_get_int(res, i, "n", 0);
			total += n;
			created += db_get_int(res, i, "c", 0);
			cJSON_AddNumberToObject(by_type, db_get(res, i, "t"), (double)n);
		}
	}
	cJSON_AddNumberToObject(d, "objects", (double)total);
	cJSON_AddNumberToObject(d, "objects_created", (double)created);
	cJSON_AddItemToObject(d, "objects_by_type", by_type);
	return E_OK;
}

static err_t analytics_overview(req_t *r)
{
	int period;
	err_t rc = choice(r, "period", periods, "7d", &period);
	if (rc)
		return rc;
	time_t now = time(NULL), start = now - now % 3600 - (time_t)(period_hours[period] - 1) * 3600;
	usage_acc_t u = { .start_day = start - start % 86400, .groups = req_own(r, cJSON_CreateObject()) };
	struct tm tm;
	gmtime_r(&start, &tm);
	strftime(u.start_hour, sizeof(u.start_hour), "%Y%m%d%H", &tm);
	char start_sql[32], ts[RFC3339_LEN];
	strftime(start_sql, sizeof(start_sql), "%Y-%m-%d %H:00:00", &tm);
	u.ndays = (int)((now - u.start_day) / 86400) + 1;
	u.day_cls = arena_alloc(r->a, sizeof(*u.day_cls) * (size_t)u.ndays);
	memset(u.day_cls, 0, sizeof(*u.day_cls) * (size_t)u.ndays);
	u.day_groups = arena_alloc(r->a, sizeof(cJSON *) * (size_t)u.ndays);
	for (int i = 0; i < u.ndays; i++)
		u.day_groups[i] = req_own(r, cJSON_CreateObject());
	if ((rc = usage_read(r, &u, start_sql)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "period", periods[period]);
	cJSON_AddStringToObject(d, "start", time_rfc3339(ts, start));
	cJSON_AddStringToObject(d, "end", time_rfc3339(ts, now));
	usage_render(&u, d);
	if ((rc = tenant_counts(r, start_sql, d)) || (rc = object_counts(r, start_sql, d))) {
		cJSON_Delete(d);
		return rc;
	}
	reply_data(r, 200, d);
	return E_OK;
}

/* ------------------------------------------------------------- rollup */

/* Sets a tenant's live counts aside as a roll with an id (ARGV[1]), unless
 * a roll is already there (a run that died: it is finished first); returns
 * the roll's hash, empty when there is nothing to roll. */
static const char usage_roll_lua[] =
	"if redis.call('EXISTS', KEYS[2]) == 0 then "
	"if redis.call('EXISTS', KEYS[1]) == 0 then return {} end "
	"redis.call('RENAME', KEYS[1], KEYS[2]) redis.call('HSET', KEYS[2], '" USAGE_ROLL_ID "', ARGV[1]) "
	"end return redis.call('HGETALL', KEYS[2])";
/* Once the roll is in MariaDB: it becomes the last finished roll (readers
 * that looked at MariaDB before the commit still find it for a while). */
static const char usage_done_lua[] =
	"if redis.call('HGET', KEYS[1], '" USAGE_ROLL_ID "') == ARGV[1] then "
	"redis.call('RENAME', KEYS[1], KEYS[2]) return redis.call('EXPIRE', KEYS[2], ARGV[2]) end "
	"return 0";

#define ROLL_ROWS_PER_INSERT 100

/* One member of a roll as the five values of its usage_requests row
 * (tenant, hour, group, class, count) into p; false if malformed. */
static bool roll_row(arena_t *a, const char *tenant, const char *m, const char *count,
		     db_param *p)
{
	const char *bar = strchr(m, '|'), *last = strrchr(m, '|');
	long long n = strtoll(count, NULL, 10);
	if (!bar || bar == last || bar - m != 10 || hour_day(arena_strndup(a, m, 10)) < 0 ||
	    strlen(last + 1) != 3 || last - bar - 1 > 64 || n <= 0)
		return false;
	p[0] = db_str(tenant);
	p[1] = db_str(arena_printf(a, "%.4s-%.2s-%.2s %.2s:00:00", m, m + 4, m + 6, m + 8));
	p[2] = db_strn(bar + 1, (size_t)(last - bar - 1));
	p[3] = db_str(last + 1);
	p[4] = db_int(n);
	return true;
}

/* Adds one roll's members to usage_requests, with its id in usage_rolls,
 * in one transaction; a roll added before (DB_DUPLICATE) adds nothing. */
static enum db_status roll_store(db_t *db, arena_t *a, const char *tenant, const char *roll,
				 const redisReply *h, long long *added)
{
	db_param *p = arena_alloc(a, sizeof(db_param) * 5 * (h->elements / 2 + 1));
	int rows = 0;
	long long total = 0;
	for (size_t i = 0; i + 1 < h->elements; i += 2) {
		const char *m = h->element[i]->str;
		if (!strcmp(m, USAGE_ROLL_ID))
			continue;
		if (!roll_row(a, tenant, m, h->element[i + 1]->str, p + 5 * rows)) {
			log_warn("analytics: %s: malformed usage member %.100s dropped", tenant, m);
			continue;
		}
		total += p[5 * rows + 4].i;
		rows++;
	}
	enum db_status st = db_begin(db);
	if (st)
		return st;
	db_param rp[] = { db_str(roll), db_str(tenant), db_int(total) };
	st = db_exec(db, a, "INSERT INTO usage_rolls (roll_id, tenant_id, requests, rolled_at) "
		     "VALUES (?, ?, ?, UTC_TIMESTAMP(3))", rp, 3, NULL);
	for (int at = 0; !st && at < rows; at += ROLL_ROWS_PER_INSERT) {
		int n = rows - at < ROLL_ROWS_PER_INSERT ? rows - at : ROLL_ROWS_PER_INSERT;
		strbuf_t b = { 0 };
		for (int k = 0; k < n; k++)
			sb_puts(&b, k ? ",(?,?,?,?,?)" : "(?,?,?,?,?)");
		st = db_exec(db, a, arena_printf(a, "INSERT INTO usage_requests (tenant_id, hour, grp, "
			     "status_class, requests) VALUES %s ON DUPLICATE KEY UPDATE "
			     "requests = requests + VALUES(requests)", sb_take(&b, a)), p + 5 * at,
			     5 * n, NULL);
	}
	if (st) {
		db_rollback(db);
		return st;
	}
	*added = total;
	return db_commit(db);
}

/* Rolls one tenant's counts into MariaDB: 1 if a roll was finished (there
 * may be another: a leftover roll came first), 0 if there was nothing to
 * roll, -1 on failure. */
static int roll_tenant(db_t *db, cache_t *cache, arena_t *a, const char *tenant)
{
	char id[40];
	id_new(id, sizeof(id), "roll_");
	const char *req = arena_printf(a, USAGE_KEY_REQ, tenant);
	const char *roll = arena_printf(a, USAGE_KEY_ROLL, tenant);
	const char *done = arena_printf(a, USAGE_KEY_DONE, tenant);
	const char *argv[] = { "EVAL", usage_roll_lua, "2", req, roll, id };
	redisReply *h;
	if (cache_cmd(cache, a, &h, 6, argv) != CACHE_OK || h->type != REDIS_REPLY_ARRAY)
		return -1;
	if (h->elements == 0)
		return 0;
	const char *roll_id = NULL;
	for (size_t i = 0; i + 1 < h->elements; i += 2)
		if (!strcmp(h->element[i]->str, USAGE_ROLL_ID))
			roll_id = h->element[i + 1]->str;
	if (!roll_id)
		return -1;
	long long added = 0;
	enum db_status st = roll_store(db, a, tenant, roll_id, h, &added);
	if (st && st != DB_DUPLICATE) {
		log_warn("analytics: %s: cannot store roll %s: %s", tenant, roll_id, db_last_error(db));
		return -1;
	}
	char ttl[16];
	snprintf(ttl, sizeof(ttl), "%d", USAGE_DONE_TTL_S);
	const char *fin[] = { "EVAL", usage_done_lua, "2", roll, done, roll_id, ttl };
	if (cache_cmd(cache, a, NULL, 7, fin) != CACHE_OK)
		return -1;
	log_debug("analytics: %s: roll %s: %lld requests%s", tenant, roll_id, added,
		  st == DB_DUPLICATE ? " (stored before)" : "");
	return 1;
}

/* The tenants seen in usage keys (an object used as a set). */
struct usage_set {
	cJSON *set;
	arena_t *a;
};

/* A usage key's tenant into the set. */
static void usage_key_tenant(const char *k, void *ud)
{
	struct usage_set *u = ud;
	const char *open = strchr(k, '{');
	const char *close = open ? strchr(open, '}') : NULL;
	if (!close || (strcmp(close, "}:req") && strcmp(close, "}:roll")))
		return;
	char *t = arena_strndup(u->a, open + 1, (size_t)(close - open - 1));
	if (id_valid(t, "tn_") && !cJSON_HasObjectItem(u->set, t))
		cJSON_AddTrueToObject(u->set, t);
}

/* The tenants with usage keys in Redis (an object used as a set). */
static cJSON *usage_tenants(cache_t *cache, arena_t *a)
{
	struct usage_set u = { cJSON_CreateObject(), a };
	if (cache_scan(cache, a, "usage:{*}:*", usage_key_tenant, &u) != CACHE_OK) {
		cJSON_Delete(u.set);
		return NULL;
	}
	return u.set;
}

/* analytics.rollup: every tenant's counts into usage_requests; prunes
 * what is older than the longest period. */
static int rollup_run(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		      const cJSON *payload, char *err, size_t errlen)
{
	(void)tenant_id;
	(void)payload;
	cJSON *set = usage_tenants(cache, a);
	if (!set) {
		snprintf(err, errlen, "Redis is unavailable");
		return -1;
	}
	int failed = 0;
	const cJSON *t;
	cJSON_ArrayForEach(t, set) {
		/* usage_requests is on the tenant's data server */
		db_t *tdb = tenant_server_db(db, a, t->string);
		int rc = tdb ? roll_tenant(tdb, cache, a, t->string) : -1;
		if (rc == 1)    /* a leftover roll went first: the live counts now */
			rc = roll_tenant(tdb, cache, a, t->string);
		failed += rc < 0;
	}
	cJSON_Delete(set);
	char *names[16];
	int nn = db_server_names(&g_config, names, 16);
	for (int i = 0; i < nn; i++) {
		db_t *sdb = db_for_server(db, names[i]);
		free(names[i]);
		if (!sdb ||
		    db_exec(sdb, a, "DELETE FROM usage_requests WHERE hour < UTC_TIMESTAMP() - "
			    "INTERVAL 100 DAY LIMIT 10000", NULL, 0, NULL) ||
		    db_exec(sdb, a, "DELETE FROM usage_rolls WHERE rolled_at < UTC_TIMESTAMP(3) - "
			    "INTERVAL 7 DAY LIMIT 10000", NULL, 0, NULL))
			failed++;
	}
	if (failed) {
		snprintf(err, errlen, "%d tenant(s) not rolled up; retried", failed);
		return -1;
	}
	return 0;
}

/* Hourly; the dedupe key makes a second scheduler's enqueue a no-op. */
static void rollup_schedule(db_t *db, cache_t *cache, arena_t *a)
{
	(void)cache;
	static char last[64];
	char key[64], id[40];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(key, sizeof(key), "analytics.rollup:%Y%m%d%H", &tm);
	if (!strcmp(key, last))
		return;
	enum db_status st = jobs_enqueue_unique(db, a, NULL, "analytics.rollup", NULL, 0, 0, key, id);
	if (st == DB_OK || st == DB_DUPLICATE)
		snprintf(last, sizeof(last), "%s", key);
}

const job_kind_t analytics_jobs[] = {
	{ .name = "analytics.rollup", .run = rollup_run, .timeout_s = 300, .schedule = rollup_schedule },
	{ NULL },
};

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t analytics_routes[] = {
	ROUTE("GET", "/v1/analytics", "Analytics", AUTH_BEARER, "*", NULL, 0, analytics_overview, NULL, "Get tenant analytics"),
	ROUTE("GET", "/v1/analytics/engine", "Analytics", AUTH_BEARER, "*", NULL, 0, analytics_engine, NULL, "Analytics engine query"),
	ROUTES_END,
};
