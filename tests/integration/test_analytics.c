/*
 * test_analytics.c - GET /v1/analytics (request counts from the Redis
 * usage counter and its MariaDB rollup, each request counted exactly
 * once; the tenant's users, storage, objects, events and webhook
 * deliveries), the funnel's `within`, and saved reports delivered on
 * their schedule as an email attachment (CSV and XLSX, read back with
 * Python's email package and openpyxl) through a loopback SMTP server.
 * Every expected count is computed by the test itself.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "peers.h"

Suite *suite_analytics(void);

/* ------------------------------------------------------------- helpers */

static char *chomp(char *s)
{
	s[strcspn(s, "\n")] = '\0';
	return s;
}

/* One value from the tenant's data DB (mariadb client, not the API). */
static char *tenant_sql(const char *tenant, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *tenant_sql(const char *tenant, const char *fmt, ...)
{
	char *q1 = strf("SELECT db_name FROM tenants WHERE id='%s'", tenant);
	char *db = control_sql(q1), *q;
	va_list ap;
	va_start(ap, fmt);
	ck_assert(vasprintf(&q, fmt, ap) >= 0);
	va_end(ap);
	char *sql = strf("USE %s; %s", db, q);
	char *out = control_sql(sql);
	free(sql);
	free(q);
	free(db);
	free(q1);
	return out;
}

/* A redis-cli command against the stack's Redis (malloc'd, chomped). */
static char *redis(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *redis(const char *fmt, ...)
{
	char *args;
	va_list ap;
	va_start(ap, fmt);
	ck_assert(vasprintf(&args, fmt, ap) >= 0);
	va_end(ap);
	int rc;
	char *out = run_cmd(&rc, "redis-cli -s %s/run/redis.sock %s 2>&1", stack_dir(), args);
	ck_assert_msg(rc == 0, "redis-cli %s failed: %s", args, out);
	free(args);
	return chomp(out);
}

static http_resp *analytics(const char *key, const char *period)
{
	http_resp *r = call("GET", key, NULL, "/v1/analytics?period=%s", period);
	assert_envelope(r, 200, NULL);
	return r;
}

static long long num(const cJSON *o, const char *name)
{
	const cJSON *v = item(o, name);
	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", name);
	return (long long)v->valuedouble;
}

/* data.api_requests_by_group[group][cls] (0 when absent). */
static long long by_group(const http_resp *r, const char *group, const char *cls)
{
	const cJSON *v = item(item(item(resp_data(r), "api_requests_by_group"), group), cls);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

/* The requests of today's entry of api_requests_by_day. */
static long long today_total(const http_resp *r)
{
	char date[16];
	time_t now = time(NULL);
	strftime(date, sizeof(date), "%Y-%m-%d", gmtime(&now));
	const cJSON *d = find_by(item(resp_data(r), "api_requests_by_day"), "date", date);
	ck_assert_msg(d != NULL, "no entry for %s", date);
	return num(d, "total");
}

static void get_n(const char *key, int n, const char *path, long status)
{
	for (int i = 0; i < n; i++) {
		http_resp *r = http_get(path, key);
		ck_assert_int_eq(r->status, status);
		http_free(r);
	}
}

static long long rolled_sum(const char *tenant)
{
	char *q = strf("SELECT COALESCE(SUM(requests), 0) FROM usage_requests WHERE tenant_id='%s'", tenant);
	char *v = control_sql(q);
	long long n = atoll(v);
	free(v);
	free(q);
	return n;
}

/* ------------------------------------------------------------ requests */

START_TEST(analytics_counts_each_request_once_rolled_up_or_not)
{
	struct tenant t;
	tenant_make(&t);
	/* A new tenant: nothing counted but the calls made to look. */
	http_resp *r = analytics(t.key, "24h");
	ck_assert_int_eq(num(resp_data(r), "api_requests"), 0);
	ck_assert_str_eq(json_str(resp_data(r), "period"), "24h");
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "api_requests_by_day")) >= 1, 1);
	http_free(r);

	get_n(t.key, 5, "/v1/object-types", 200);
	get_n(t.key, 3, "/v1/object-types/ot_nope", 404);
	r = call("GET", t.key, NULL, "/v1/analytics?period=2d");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "period");
	http_free(r);
	/* Sent so far: analytics 2xx 1, 4xx 1; Object Types 2xx 5, 4xx 3. */
	job_run("analytics.rollup");
	ck_assert_int_eq(rolled_sum(t.id), 10);
	get_n(t.key, 2, "/v1/object-types", 200);      /* not rolled up */

	r = analytics(t.key, "24h");
	const cJSON *d = resp_data(r);
	ck_assert_int_eq(num(d, "api_requests"), 12);
	ck_assert_int_eq(num(d, "errors"), 4);
	ck_assert_int_eq(num(d, "client_errors"), 4);
	ck_assert_int_eq(num(d, "server_errors"), 0);
	ck_assert_int_eq(num(item(d, "api_requests_by_status_class"), "2xx"), 8);
	ck_assert_int_eq(num(item(d, "api_requests_by_status_class"), "4xx"), 4);
	ck_assert_int_eq(by_group(r, "Object Types", "2xx"), 7);
	ck_assert_int_eq(by_group(r, "Object Types", "4xx"), 3);
	ck_assert_int_eq(by_group(r, "Object Types", "total"), 10);
	ck_assert_int_eq(by_group(r, "Analytics", "2xx"), 1);
	ck_assert_int_eq(by_group(r, "Analytics", "4xx"), 1);
	ck_assert_int_eq(today_total(r), 12);
	http_free(r);
	/* Every period holds them. */
	r = analytics(t.key, "90d");
	ck_assert_int_eq(num(resp_data(r), "api_requests"), 13);
	/* The UTC days the last 90 × 24 hours touch. */
	int days = cJSON_GetArraySize(item(resp_data(r), "api_requests_by_day"));
	ck_assert_msg(days == 90 || days == 91, "%d days", days);
	http_free(r);

	/* A second rollup moves the rest: the total does not change. */
	job_run("analytics.rollup");
	ck_assert_int_eq(rolled_sum(t.id), 14);
	r = analytics(t.key, "7d");
	ck_assert_int_eq(num(resp_data(r), "api_requests"), 14);
	http_free(r);

	/* Another tenant sees none of it. */
	struct tenant o;
	tenant_make(&o);
	r = analytics(o.key, "24h");
	ck_assert_int_eq(num(resp_data(r), "api_requests"), 0);
	http_free(r);
	tenant_drop(&o);
	tenant_drop(&t);
}
END_TEST

/* A rollup that died after its commit left its roll in Redis: readers
 * count it once (MariaDB's copy), and the next rollup finishes it without
 * adding it again.  One that died before the commit: readers count the
 * Redis copy, and the next rollup adds it. */
START_TEST(analytics_rollup_interrupted_counts_nothing_twice)
{
	struct tenant t;
	tenant_make(&t);
	char hour[16], hour_sql[32];
	time_t now = time(NULL);
	strftime(hour, sizeof(hour), "%Y%m%d%H", gmtime(&now));
	strftime(hour_sql, sizeof(hour_sql), "%Y-%m-%d %H:00:00", gmtime(&now));
	/* Committed: in MariaDB with its id, still in Redis. */
	free(redis("HSET 'usage:{%s}:roll' _roll roll_crashtest1 '%s|Test|2xx' 7", t.id, hour));
	char *q = strf("INSERT INTO usage_rolls (roll_id, tenant_id, requests, rolled_at) VALUES "
		       "('roll_crashtest1', '%s', 7, UTC_TIMESTAMP(3))", t.id);
	free(control_sql(q));
	free(q);
	q = strf("INSERT INTO usage_requests (tenant_id, hour, grp, status_class, requests) VALUES "
		 "('%s', '%s', 'Test', '2xx', 7)", t.id, hour_sql);
	free(control_sql(q));
	free(q);
	http_resp *r = analytics(t.key, "24h");
	ck_assert_int_eq(by_group(r, "Test", "2xx"), 7);
	ck_assert_int_eq(num(resp_data(r), "api_requests"), 7);
	http_free(r);
	job_run("analytics.rollup");
	ck_assert_int_eq(rolled_sum(t.id), 7 + 1);   /* the roll again: no; the GET: yes */
	char *left = redis("EXISTS 'usage:{%s}:roll'", t.id);
	ck_assert_str_eq(left, "0");
	free(left);
	r = analytics(t.key, "24h");
	ck_assert_int_eq(by_group(r, "Test", "2xx"), 7);
	ck_assert_int_eq(num(resp_data(r), "api_requests"), 8);
	http_free(r);

	/* Not committed: only in Redis. */
	free(redis("HSET 'usage:{%s}:roll' _roll roll_crashtest2 '%s|Test|5xx' 4", t.id, hour));
	r = analytics(t.key, "24h");
	ck_assert_int_eq(by_group(r, "Test", "5xx"), 4);
	ck_assert_int_eq(num(resp_data(r), "server_errors"), 4);
	http_free(r);
	job_run("analytics.rollup");
	r = analytics(t.key, "24h");
	ck_assert_int_eq(by_group(r, "Test", "5xx"), 4);
	ck_assert_int_eq(by_group(r, "Test", "2xx"), 7);
	ck_assert_int_eq(num(resp_data(r), "api_requests"), 7 + 4 + 3);
	http_free(r);
	ck_assert_int_eq(rolled_sum(t.id), 7 + 4 + 3);
	tenant_drop(&t);
}
END_TEST

/* ---------------------------------------------------------- tenant data */

START_TEST(analytics_reports_users_storage_objects_events_and_webhooks)
{
	struct tenant t;
	tenant_make(&t);
	char *a = type_make(t.key, "apples"), *b = type_make(t.key, "pears");
	for (int i = 0; i < 3; i++)
		free(obj_make(t.key, a, "{}"));
	for (int i = 0; i < 2; i++)
		free(obj_make(t.key, b, "{}"));
	for (int i = 0; i < 4; i++) {
		http_resp *r = http_json("POST", "/v1/events", t.key, "{\"event_type\":\"clicked\",\"data\":{}}");
		ck_assert_int_lt(r->status, 300);
		http_free(r);
	}
	for (int i = 0; i < 2; i++) {
		char *body = strf("{\"email\":\"an%d-%ld@example.com\"}", i, (long)getpid());
		http_resp *r = http_json("POST", "/v1/users", t.key, body);
		assert_envelope(r, 201, NULL);
		if (i == 0) {
			/* One of them active (a session in use), one session of a
			 * user seen 40 days ago. */
			const char *uid = json_str(resp_data(r), "id");
			free(tenant_sql(t.id, "INSERT INTO _sessions (id, user_id, created_at, last_active_at, "
					"expires_at) VALUES ('sess_an1', '%s', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), "
					"UTC_TIMESTAMP(3) + INTERVAL 1 DAY), ('sess_an2', 'usr_gone', "
					"UTC_TIMESTAMP(3) - INTERVAL 40 DAY, UTC_TIMESTAMP(3) - INTERVAL 40 DAY, "
					"UTC_TIMESTAMP(3))", uid));
		}
		http_free(r);
		free(body);
	}
	const char *text = "twelve bytes";
	free(file_upload_text(t.key, "a.txt", text));
	/* Webhook deliveries: 3 of 4 succeeded (a test ping is left out). */
	char *dbn = control_sqlf("SELECT db_name FROM tenants WHERE id = '%s'", t.id);
	tenant_table_make(dbn, "_webhook_deliveries");
	free(dbn);
	free(tenant_sql(t.id, "INSERT INTO _webhook_deliveries (id, webhook_id, event_id, event_type, "
			"\\`trigger\\`, attempt, status, duration_ms, payload, created_at) VALUES "
			"('whd_1', 'wh_x', 'evt_1', 't', 'event', 1, 'succeeded', 1, '{}', UTC_TIMESTAMP(3)), "
			"('whd_2', 'wh_x', 'evt_2', 't', 'event', 1, 'failed', 1, '{}', UTC_TIMESTAMP(3)), "
			"('whd_3', 'wh_x', 'evt_2', 't', 'retry', 2, 'succeeded', 1, '{}', UTC_TIMESTAMP(3)), "
			"('whd_4', 'wh_x', 'evt_3', 't', 'replay', 1, 'succeeded', 1, '{}', UTC_TIMESTAMP(3)), "
			"('whd_5', 'wh_x', 'evt_4', 't', 'test', 1, 'failed', 1, '{}', UTC_TIMESTAMP(3)), "
			"('whd_6', 'wh_x', 'evt_5', 't', 'event', 1, 'failed', 1, '{}', "
			"UTC_TIMESTAMP(3) - INTERVAL 10 DAY)"));
	char *events = tenant_sql(t.id, "SELECT COUNT(*) FROM _events");

	http_resp *r = analytics(t.key, "7d");
	const cJSON *d = resp_data(r);
	ck_assert_int_eq(num(d, "objects"), 5);
	ck_assert_int_eq(num(d, "objects_created"), 5);
	ck_assert_int_eq(num(item(d, "objects_by_type"), "apples"), 3);
	ck_assert_int_eq(num(item(d, "objects_by_type"), "pears"), 2);
	ck_assert_int_eq(num(d, "custom_events"), 4);
	ck_assert_int_eq(num(d, "events"), atoll(events));
	ck_assert_int_eq(num(d, "sign_ups"), 2);
	ck_assert_int_eq(num(d, "total_users"), 2);
	ck_assert_int_eq(num(d, "active_users"), 1);
	ck_assert_int_eq(num(d, "files"), 1);
	ck_assert_int_eq(num(d, "storage_bytes"), (long long)strlen(text));
	ck_assert_int_eq(num(d, "webhook_deliveries"), 4);
	ck_assert_int_eq(num(d, "webhook_failures"), 1);
	ck_assert_msg(item(d, "webhook_success_rate")->valuedouble == 0.75, "%s", r->body);
	ck_assert_msg(is_utc_time(json_str(d, "start")) && is_utc_time(json_str(d, "end")), "%s", r->body);
	http_free(r);
	/* 90 days: the old session and delivery are in. */
	r = analytics(t.key, "90d");
	ck_assert_int_eq(num(resp_data(r), "active_users"), 2);
	ck_assert_int_eq(num(resp_data(r), "webhook_deliveries"), 5);
	http_free(r);

	/* Another tenant: none of it, and no webhook rate without deliveries. */
	struct tenant o;
	tenant_make(&o);
	r = analytics(o.key, "7d");
	ck_assert_int_eq(num(resp_data(r), "objects"), 0);
	ck_assert_int_eq(num(resp_data(r), "sign_ups"), 0);
	ck_assert(cJSON_IsNull(item(resp_data(r), "webhook_success_rate")));
	http_free(r);
	/* Admin scope only. */
	char *reader = key_new(t.key, "{\"name\":\"reader\",\"scopes\":[\"read\"]}", NULL);
	r = http_get("/v1/analytics", reader);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	free(reader);
	free(events);
	free(a);
	free(b);
	tenant_drop(&o);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------ funnel within */

START_TEST(funnel_within_leaves_out_objects_that_took_longer)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = type_make(t.key, "trials");
	prop_make(t.key, ty, "{\"name\":\"started_at\",\"data_type\":\"datetime\"}");
	prop_make(t.key, ty, "{\"name\":\"paid_at\",\"data_type\":\"datetime\"}");
	/* Minutes from start to payment; -1: never paid; -2: paid before. */
	static const int minutes[] = { 10, 30, 59, 61, 120, 600, -1, -1, -2 };
	int n = (int)(sizeof(minutes) / sizeof(minutes[0]));
	for (int i = 0; i < n; i++) {
		time_t start = 1767225600 + i * 86400;   /* 2026-01-01 */
		time_t paid = start + (minutes[i] == -2 ? -3600 : minutes[i] * 60);
		char s[32], p[32];
		strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", gmtime(&start));
		strftime(p, sizeof(p), "%Y-%m-%dT%H:%M:%SZ", gmtime(&paid));
		char *props = minutes[i] == -1 ? strf("{\"started_at\":\"%s\"}", s)
			: strf("{\"started_at\":\"%s\",\"paid_at\":\"%s\"}", s, p);
		free(obj_make(t.key, ty, props));
		free(props);
	}
	static const struct {
		const char *within;
		int want;
	} cases[] = { { NULL, 7 }, { "\"1h\"", 3 }, { "3600", 3 }, { "\"60m\"", 3 }, { "\"2h\"", 5 },
		      { "\"1d\"", 6 }, { "\"30s\"", 0 } };
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char *within = cases[c].within ? strf(",\"within\":%s", cases[c].within) : strdup("");
		char *body = strf("{\"object_type_id\":\"trials\"%s,\"steps\":["
				  "{\"name\":\"Started\",\"filters\":[],\"date_property\":\"started_at\"},"
				  "{\"name\":\"Paid\",\"filters\":[{\"property\":\"paid_at\",\"operator\":"
				  "\"is_not_null\"}],\"date_property\":\"paid_at\"}]}", within);
		http_resp *r = call("POST", t.key, body, "/v1/reports/funnel");
		assert_envelope(r, 200, NULL);
		const cJSON *steps = item(resp_data(r), "steps");
		ck_assert_int_eq(num(cJSON_GetArrayItem(steps, 0), "count"), n);
		ck_assert_msg(num(cJSON_GetArrayItem(steps, 1), "count") == cases[c].want,
			      "within %s: %s", cases[c].within, r->body);
		ck_assert_int_eq(num(resp_data(r), "completed"), cases[c].want);
		http_free(r);
		free(body);
		free(within);
	}
	/* Refused: a malformed duration, a last step with no time. */
	static const char *const bad[] = { "\"fast\"", "\"5y\"", "0", "-60", "\"h\"", "1.5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *body = strf("{\"object_type_id\":\"trials\",\"within\":%s,\"steps\":["
				  "{\"filters\":[]},{\"filters\":[],\"date_property\":\"paid_at\"}]}", bad[i]);
		http_resp *r = call("POST", t.key, body, "/v1/reports/funnel");
		assert_fail_field(r, 400, "VALIDATION_ERROR", "within");
		http_free(r);
		free(body);
	}
	http_resp *r = call("POST", t.key, "{\"object_type_id\":\"trials\",\"within\":\"1h\",\"steps\":["
			    "{\"filters\":[]},{\"filters\":[]}]}", "/v1/reports/funnel");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "steps[1].date_property");
	http_free(r);
	r = call("POST", t.key, "{\"object_type_id\":\"trials\",\"within\":\"1h\",\"steps\":["
		 "{\"filters\":[]},{\"filters\":[],\"date_property\":\"nope\"}]}", "/v1/reports/funnel");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "steps[1].date_property");
	http_free(r);
	free(ty);
	tenant_drop(&t);
}
END_TEST

/* ---------------------------------------------------- scheduled reports */

/* Makes the report's scheduled delivery due now. */
static void schedule_due(const char *tenant, const char *report)
{
	char *q = strf("UPDATE report_schedules SET next_run_at = UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE "
		       "WHERE tenant_id='%s' AND report_id='%s'", tenant, report);
	free(control_sql(q));
	free(q);
}

/* The mail to rcpt (waiting for it), parsed, its attachments saved in dir. */
static cJSON *mail_to(const struct smtp_sink *sink, const struct runner_swap *sw, const char *rcpt,
		      const char *dir)
{
	char *path = file_with(sink->newdir, rcpt, 60000);
	ck_assert_msg(path != NULL, "no mail to %s (see %s)", rcpt, sw->log);
	int rc;
	char *out = run_cmd(&rc, "/usr/bin/python3 %s/tests/integration/mailparse.py '%s' '%s' 2>&1",
			    env_or("TESSERA_TEST_REPO", "."), path, dir);
	ck_assert_msg(rc == 0, "mailparse: %s", out);
	cJSON *m = cJSON_Parse(out);
	ck_assert_msg(m != NULL, "mailparse printed %s", out);
	free(out);
	free(path);
	return m;
}

static char *file_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s is missing", path);
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(saved_report_schedule_emails_csv_and_xlsx_exports)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = type_make(t.key, "sales");
	prop_make(t.key, ty, "{\"name\":\"rep\",\"data_type\":\"string\"}");
	prop_make(t.key, ty, "{\"name\":\"amount\",\"data_type\":\"currency\"}");
	static const struct { const char *rep, *amount; } sales[] = {
		{ "kim", "10.50" }, { "kim", "4.25" }, { "lou", "100.00" }, { "max", "1.00" } };
	for (size_t i = 0; i < sizeof(sales) / sizeof(sales[0]); i++) {
		char *p = strf("{\"rep\":\"%s\",\"amount\":\"%s\"}", sales[i].rep, sales[i].amount);
		free(obj_make(t.key, ty, p));
		free(p);
	}
	const char *config = "\"config_json\":{\"object_type_id\":\"sales\",\"group_by\":\"rep\","
			     "\"aggregation\":\"sum\",\"value_property\":\"amount\"}";

	/* Refused: a schedule that is no cron, a bad address, an unknown zone. */
	static const struct { const char *extra, *field; } bad[] = {
		{ "\"schedule\":\"every monday\",\"recipients\":[\"a@example.com\"]", "schedule" },
		{ "\"schedule\":\"0 8 * * 1\",\"recipients\":[\"a@example.com\",\"nope\"]", "recipients[1]" },
		{ "\"schedule\":\"0 8 * * 1\",\"recipients\":[]", "recipients" },
		{ "\"schedule\":\"0 8 * * 1\",\"recipients\":[\"a@example.com\"],\"timezone\":\"Mars/Base\"", "timezone" },
		{ "\"schedule\":\"0 0 30 2 *\",\"recipients\":[\"a@example.com\"]", "schedule" },
		{ "\"schedule\":\"0 8 * * 1\",\"recipients\":[\"a@example.com\"],\"export_format\":\"pdf\"", "export_format" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *body = strf("{\"name\":\"Bad\",\"type\":\"leaderboard\",%s,%s}", config, bad[i].extra);
		http_resp *r = call("POST", t.key, body, "/v1/saved-reports");
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
		free(body);
	}

	struct smtp_sink sink;
	smtp_sink_start(&sink);
	const char *env[] = { sink.env, NULL };
	struct runner_swap sw;
	jobs_runner_swap(&sw, env);

	char *to1 = strf("csv-%ld@example.com", (long)getpid());
	char *body = strf("{\"name\":\"Sales by rep\",\"type\":\"leaderboard\",%s,\"schedule\":\"0 8 * * 1\","
			  "\"timezone\":\"Europe/Berlin\",\"recipients\":[\"%s\"]}", config, to1);
	http_resp *r = call("POST", t.key, body, "/v1/saved-reports");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	/* Monday 08:00 in Berlin is 06:00 or 07:00 UTC. */
	const char *next = json_str(resp_data(r), "next_run_at");
	ck_assert_msg(next && (strstr(next, "T07:00:00") || strstr(next, "T06:00:00")), "%s", r->body);
	ck_assert_str_eq(json_str(resp_data(r), "export_format"), "csv");
	http_free(r);
	free(body);
	char *q = strf("SELECT COUNT(*) FROM report_schedules WHERE report_id='%s'", id);
	char *n = control_sql(q);
	ck_assert_str_eq(n, "1");
	free(n);

	char *dir = strf("%s/tmp/sched-%d", stack_dir(), (int)getpid());
	int rc;
	free(run_cmd(&rc, "mkdir -p '%s'", dir));
	schedule_due(t.id, id);
	cJSON *m = mail_to(&sink, &sw, to1, dir);
	ck_assert_str_eq(json_str(m, "subject"), "Report: Sales by rep");
	ck_assert_ptr_nonnull(strstr(json_str(m, "text"), "Sales by rep"));
	const cJSON *att = cJSON_GetArrayItem(item(m, "attachments"), 0);
	ck_assert_int_eq(cJSON_GetArraySize(item(m, "attachments")), 1);
	char *fname = strf("%s.csv", id);
	ck_assert_str_eq(json_str(att, "filename"), fname);
	ck_assert_str_eq(json_str(att, "content_type"), "text/csv");
	char *path = strf("%s/%s", dir, fname);
	char *csv = file_text(path);
	/* lou 100.00, kim 14.75, max 1.00: the sums in order. */
	ck_assert_msg(strstr(csv, "rank,group,value,count") == csv, "%s", csv);
	char *lou = strstr(csv, "lou,100.0000,1"), *kim = strstr(csv, "kim,14.7500,2");
	char *max = strstr(csv, "max,1.0000,1");
	ck_assert_msg(lou && kim && max && lou < kim && kim < max, "%s", csv);
	free(csv);
	free(path);
	free(fname);
	cJSON_Delete(m);

	/* Delivered: a snapshot, the time sent, the next Monday. */
	r = call("GET", t.key, NULL, "/v1/saved-reports/%s", id);
	assert_envelope(r, 200, NULL);
	assert_rfc3339(resp_data(r), "last_sent_at");
	assert_rfc3339(resp_data(r), "last_run_at");
	ck_assert_int_eq(cJSON_GetArraySize(item(item(resp_data(r), "last_result"), "entries")), 3);
	time_t now = time(NULL);
	char nowtxt[32];
	strftime(nowtxt, sizeof(nowtxt), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	ck_assert_msg(strcmp(json_str(resp_data(r), "next_run_at"), nowtxt) > 0, "%s", r->body);
	http_free(r);

	/* XLSX to another address: opened with openpyxl, numbers as numbers. */
	char *to2 = strf("xlsx-%ld@example.com", (long)getpid());
	body = strf("{\"export_format\":\"xlsx\",\"recipients\":[\"%s\"]}", to2);
	r = call("PATCH", t.key, body, "/v1/saved-reports/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(body);
	schedule_due(t.id, id);
	m = mail_to(&sink, &sw, to2, dir);
	att = cJSON_GetArrayItem(item(m, "attachments"), 0);
	ck_assert_str_eq(json_str(att, "content_type"),
			 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
	path = strf("%s/%s.xlsx", dir, id);
	char *cells = run_cmd(&rc, "/usr/bin/python3 -c 'import openpyxl,sys\n"
			      "ws = openpyxl.load_workbook(sys.argv[1]).active\n"
			      "for row in ws.iter_rows(values_only=True): print(\"|\".join(repr(v) for v in row))' %s",
			      path);
	ck_assert_msg(rc == 0, "%s", cells);
	ck_assert_str_eq(cells, "'rank'|'group'|'value'|'count'\n1|'lou'|100|1\n2|'kim'|14.75|2\n3|'max'|1|1\n");
	free(cells);
	free(path);
	cJSON_Delete(m);

	/* Unscheduled: out of the index. */
	r = call("PATCH", t.key, "{\"schedule\":null}", "/v1/saved-reports/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsNull(item(resp_data(r), "next_run_at")));
	http_free(r);
	n = control_sql(q);
	ck_assert_str_eq(n, "0");
	free(n);
	/* Scheduled again, then deleted: out of the index too. */
	r = call("PATCH", t.key, "{\"schedule\":\"*/5 * * * *\"}", "/v1/saved-reports/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	n = control_sql(q);
	ck_assert_str_eq(n, "1");
	free(n);
	r = call("DELETE", t.key, NULL, "/v1/saved-reports/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	n = control_sql(q);
	ck_assert_str_eq(n, "0");
	free(n);

	jobs_runner_restore(&sw);
	smtp_sink_stop(&sink);
	free(run_cmd(&rc, "rm -rf '%s'", dir));
	free(dir);
	free(q);
	free(to1);
	free(to2);
	free(id);
	free(sw.log);
	free(ty);
	tenant_drop(&t);
}
END_TEST

Suite *suite_analytics(void)
{
	Suite *s = suite_create("analytics");
	TCase *tc = tcase_new_slow(s, "analytics");
	tcase_add_test(tc, analytics_counts_each_request_once_rolled_up_or_not);
	tcase_add_test(tc, analytics_rollup_interrupted_counts_nothing_twice);
	tcase_add_test(tc, analytics_reports_users_storage_objects_events_and_webhooks);
	tcase_add_test(tc, funnel_within_leaves_out_objects_that_took_longer);
	tcase_add_test(tc, saved_report_schedule_emails_csv_and_xlsx_exports);
	return s;
}
