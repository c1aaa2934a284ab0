/*
 * test_apps.c - apps and analytics end to end: aggregate reports checked
 * against counts the test computes itself, public forms (JSON and a plain
 * HTML form posted urlencoded, honeypot, CAPTCHA against a loopback
 * siteverify stand-in, rate limit), dashboards with widgets and public
 * sharing, saved reports with CSV/JSON exports, short URLs and their
 * redirect, and branding.  Each test makes its own tenant(s).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "peers.h"

Suite *suite_apps(void);

/* ------------------------------------------------------------ data */

#define DEALS 12

/* The deals every report test reads: owner, stage, amount in cents,
 * closed_on (a date) and closed_at (a UTC time). */
static const struct deal {
	const char *owner, *stage;
	long cents;
	const char *closed_on, *closed_at;
} deals[DEALS] = {
	{ "ann", "lead", 10050, "2026-01-01", "2026-03-01T22:30:00Z" },
	{ "ann", "qualified", 20000, "2026-01-02", "2026-03-01T23:30:00Z" },
	{ "ann", "won", 30025, "2026-01-05", "2026-03-02T10:00:00Z" },
	{ "bob", "won", 5000, "2026-01-05", "2026-03-02T12:00:00Z" },
	{ "bob", "lost", 700, "2026-01-12", "2026-03-03T08:00:00Z" },
	{ "bob", "lead", 100, "2026-01-13", "2026-03-03T09:00:00Z" },
	{ "cyd", "won", 99999, "2026-01-19", "2026-03-04T00:00:00Z" },
	{ "cyd", "qualified", 1, "2026-01-20", "2026-03-04T01:00:00Z" },
	{ "dee", "lead", 250, "2026-01-26", "2026-03-05T02:00:00Z" },
	{ "dee", "lead", 250, "2026-01-27", "2026-03-05T03:00:00Z" },
	{ "eve", "won", 12345, "2026-01-31", "2026-03-06T04:00:00Z" },
	{ "eve", "qualified", 6789, "2026-02-01", "2026-03-06T05:00:00Z" },
};

static char *money(long cents)
{
	return strf("%ld.%02ld00", cents / 100, cents % 100);
}

/* A type "deals" with the properties above, and the objects. */
static char *deals_make(const char *key)
{
	char *ty = type_make(key, "deals");
	prop_make(key, ty, "{\"name\":\"owner\",\"data_type\":\"string\"}");
	prop_make(key, ty, "{\"name\":\"stage\",\"data_type\":\"enum\","
		  "\"enum_values\":[\"lead\",\"qualified\",\"won\",\"lost\",\"archived\"]}");
	prop_make(key, ty, "{\"name\":\"amount\",\"data_type\":\"currency\"}");
	prop_make(key, ty, "{\"name\":\"score\",\"data_type\":\"integer\"}");
	prop_make(key, ty, "{\"name\":\"closed_on\",\"data_type\":\"date\"}");
	prop_make(key, ty, "{\"name\":\"closed_at\",\"data_type\":\"datetime\"}");
	prop_make(key, ty, "{\"name\":\"notes\",\"data_type\":\"json\"}");
	for (int i = 0; i < DEALS; i++) {
		char *props = strf("{\"owner\":\"%s\",\"stage\":\"%s\",\"amount\":\"%s\",\"score\":%d,"
				   "\"closed_on\":\"%s\",\"closed_at\":\"%s\"}", deals[i].owner,
				   deals[i].stage, money(deals[i].cents), i, deals[i].closed_on,
				   deals[i].closed_at);
		free(obj_make(key, ty, props));
		free(props);
	}
	return ty;
}

static http_resp *report(const char *key, const char *kind, const char *body)
{
	return call("POST", key, body, "/v1/reports/%s", kind);
}

/* ------------------------------------------------------------ reports */

START_TEST(leaderboard_sums_money_exactly_per_owner_in_rank_order)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_make(t.key);
	char *body = strf("{\"object_type_id\":\"%s\",\"group_by\":\"owner\",\"aggregation\":\"sum\","
			  "\"value_property\":\"amount\",\"limit\":3}", ty);
	http_resp *r = report(t.key, "leaderboard", body);
	assert_envelope(r, 200, NULL);
	/* Expected: sums per owner computed here, top three. */
	const char *owners[] = { "ann", "bob", "cyd", "dee", "eve" };
	long sums[5] = { 0 };
	int counts[5] = { 0 };
	for (int i = 0; i < DEALS; i++)
		for (int k = 0; k < 5; k++)
			if (!strcmp(deals[i].owner, owners[k])) {
				sums[k] += deals[i].cents;
				counts[k]++;
			}
	const cJSON *entries = item(resp_data(r), "entries");
	ck_assert_int_eq(cJSON_GetArraySize(entries), 3);
	long prev = 1L << 40;
	const cJSON *e;
	cJSON_ArrayForEach(e, entries) {
		int k = 0;
		while (k < 5 && strcmp(owners[k], json_str(e, "group")))
			k++;
		ck_assert_msg(k < 5, "unknown group: %s", r->body);
		/* Money is exact decimal text, never a float. */
		ck_assert_str_eq(json_str(e, "value"), money(sums[k]));
		ck_assert_int_eq(item(e, "count")->valueint, counts[k]);
		ck_assert_msg(sums[k] <= prev, "not in rank order: %s", r->body);
		prev = sums[k];
	}
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(entries, 0), "group"), "cyd");
	http_free(r);

	/* count per stage with a filter: only ann's and bob's deals. */
	free(body);
	body = strf("{\"object_type_id\":\"deals\",\"group_by\":\"stage\",\"filters\":[{\"property\":"
		    "\"owner\",\"operator\":\"in\",\"value\":[\"ann\",\"bob\"]}]}");
	r = report(t.key, "leaderboard", body);
	assert_envelope(r, 200, NULL);
	const cJSON *lead = find_by(item(resp_data(r), "entries"), "group", "lead");
	ck_assert_msg(lead && item(lead, "value")->valueint == 2, "lead: %s", r->body);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "entries")), 4);
	http_free(r);
	free(body);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(pipeline_lists_every_stage_in_enum_order_with_counts_and_sums)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_make(t.key);
	char *body = strf("{\"object_type_id\":\"%s\",\"stage_property\":\"stage\","
			  "\"value_property\":\"amount\"}", ty);
	http_resp *r = report(t.key, "pipeline", body);
	assert_envelope(r, 200, NULL);
	const char *stages[] = { "lead", "qualified", "won", "lost", "archived" };
	const cJSON *arr = item(resp_data(r), "stages");
	ck_assert_int_eq(cJSON_GetArraySize(arr), 5);
	long total = 0;
	for (int k = 0; k < 5; k++) {
		long sum = 0;
		int n = 0;
		for (int i = 0; i < DEALS; i++)
			if (!strcmp(deals[i].stage, stages[k])) {
				sum += deals[i].cents;
				n++;
			}
		total += sum;
		const cJSON *s = cJSON_GetArrayItem(arr, k);
		ck_assert_str_eq(json_str(s, "stage"), stages[k]);
		ck_assert_int_eq(item(s, "count")->valueint, n);
		ck_assert_str_eq(json_str(s, "value"), money(sum));
	}
	ck_assert_int_eq(item(resp_data(r), "total_count")->valueint, DEALS);
	ck_assert_str_eq(json_str(resp_data(r), "total_value"), money(total));
	http_free(r);
	free(body);

	/* A stage property that is no enum is refused, naming it. */
	body = strf("{\"object_type_id\":\"%s\",\"stage_property\":\"owner\"}", ty);
	r = report(t.key, "pipeline", body);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "stage_property");
	http_free(r);
	free(body);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(funnel_counts_each_step_within_the_previous_and_converts)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_make(t.key);
	/* Step 1: amount >= 1.00; step 2: not lost; step 3: won. */
	char *body = strf("{\"object_type_id\":\"%s\",\"steps\":["
			  "{\"name\":\"Priced\",\"filters\":[{\"property\":\"amount\",\"operator\":\"gte\",\"value\":\"1.00\"}]},"
			  "{\"name\":\"Open or won\",\"filters\":[{\"property\":\"stage\",\"operator\":\"neq\",\"value\":\"lost\"}]},"
			  "{\"name\":\"Won\",\"filters\":[{\"property\":\"stage\",\"operator\":\"eq\",\"value\":\"won\"}]}]}", ty);
	http_resp *r = report(t.key, "funnel", body);
	assert_envelope(r, 200, NULL);
	int n1 = 0, n2 = 0, n3 = 0;
	for (int i = 0; i < DEALS; i++) {
		if (deals[i].cents < 100)
			continue;
		n1++;
		if (!strcmp(deals[i].stage, "lost"))
			continue;
		n2++;
		n3 += !strcmp(deals[i].stage, "won");
	}
	const cJSON *steps = item(resp_data(r), "steps");
	ck_assert_int_eq(cJSON_GetArraySize(steps), 3);
	ck_assert_int_eq(item(cJSON_GetArrayItem(steps, 0), "count")->valueint, n1);
	ck_assert_int_eq(item(cJSON_GetArrayItem(steps, 1), "count")->valueint, n2);
	ck_assert_int_eq(item(cJSON_GetArrayItem(steps, 2), "count")->valueint, n3);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(steps, 2), "name"), "Won");
	double rate = item(cJSON_GetArrayItem(steps, 2), "conversion_rate")->valuedouble;
	ck_assert_msg(rate > (double)n3 / n2 - 0.001 && rate < (double)n3 / n2 + 0.001, "rate %f", rate);
	http_free(r);
	free(body);

	/* A filter on an unknown property names the step's filter. */
	body = strf("{\"object_type_id\":\"%s\",\"steps\":[{\"name\":\"x\",\"filters\":"
		    "[{\"property\":\"nope\",\"operator\":\"eq\",\"value\":1}]}]}", ty);
	r = report(t.key, "funnel", body);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "steps[0].filters[0]");
	http_free(r);
	free(body);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(timeseries_zero_fills_buckets_in_the_requested_time_zone)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_make(t.key);
	/* Weekly over January 2026 by closed_on (a date): ISO weeks start on
	 * Monday; 2025-12-29 is the Monday of the first. */
	char *body = strf("{\"object_type_id\":\"%s\",\"date_property\":\"closed_on\",\"interval\":"
			  "\"week\",\"start_date\":\"2026-01-01\",\"end_date\":\"2026-01-31\","
			  "\"aggregation\":\"sum\",\"value_property\":\"amount\"}", ty);
	http_resp *r = report(t.key, "timeseries", body);
	assert_envelope(r, 200, NULL);
	const char *weeks[] = { "2025-12-29", "2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26" };
	const char *ends[] = { "2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26", "2026-02-02" };
	const cJSON *series = item(resp_data(r), "series");
	ck_assert_int_eq(cJSON_GetArraySize(series), 5);
	for (int k = 0; k < 5; k++) {
		long sum = 0;
		int n = 0;
		for (int i = 0; i < DEALS; i++)
			if (strcmp(deals[i].closed_on, weeks[k]) >= 0 && strcmp(deals[i].closed_on, ends[k]) < 0) {
				sum += deals[i].cents;
				n++;
			}
		const cJSON *b = cJSON_GetArrayItem(series, k);
		ck_assert_str_eq(json_str(b, "label"), weeks[k]);
		ck_assert_int_eq(item(b, "count")->valueint, n);
		ck_assert_str_eq(json_str(b, "value"), money(sum));
	}
	http_free(r);
	free(body);

	/* Daily by closed_at in Paris (UTC+1 in March): 22:30Z on the 1st is
	 * still the 1st there, 23:30Z is the 2nd. */
	body = strf("{\"object_type_id\":\"%s\",\"date_property\":\"closed_at\",\"interval\":\"day\","
		    "\"timezone\":\"Europe/Paris\",\"start_date\":\"2026-02-28\",\"end_date\":\"2026-03-07\"}", ty);
	r = report(t.key, "timeseries", body);
	assert_envelope(r, 200, NULL);
	series = item(resp_data(r), "series");
	ck_assert_int_eq(cJSON_GetArraySize(series), 8);
	int want[8] = { 0 };
	for (int i = 0; i < DEALS; i++) {
		/* Paris day of closed_at: add one hour. */
		int day, hour;
		sscanf(deals[i].closed_at + 8, "%2dT%2d", &day, &hour);
		if (hour + 1 >= 24)
			day++;
		want[day]++;
	}
	/* 2026 is no leap year: Feb 28 then March 1 to 7, so bucket k is
	 * March k. */
	for (int k = 0; k < 8; k++) {
		const cJSON *b = cJSON_GetArrayItem(series, k);
		ck_assert_int_eq(item(b, "count")->valueint, want[k]);
		ck_assert_int_eq(item(b, "value")->valueint, want[k]);
	}
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(series, 1), "label"), "2026-03-01");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(series, 1), "start"), "2026-02-28T23:00:00Z");
	http_free(r);
	free(body);

	/* Created today: the default range ends with today's bucket. */
	body = strf("{\"object_type_id\":\"%s\"}", ty);
	r = report(t.key, "timeseries", body);
	assert_envelope(r, 200, NULL);
	series = item(resp_data(r), "series");
	ck_assert_int_eq(cJSON_GetArraySize(series), 30);
	ck_assert_int_eq(item(cJSON_GetArrayItem(series, 29), "count")->valueint, DEALS);
	ck_assert_int_eq(item(cJSON_GetArrayItem(series, 0), "count")->valueint, 0);
	http_free(r);
	free(body);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(bad_report_requests_name_the_field_and_other_tenants_types_are_not_found)
{
	struct tenant t, o;
	tenant_make(&t);
	tenant_make(&o);
	char *ty = deals_make(t.key);
	struct { const char *kind, *body, *field; long status; } cases[] = {
		{ "leaderboard", "{\"object_type_id\":\"deals\",\"group_by\":\"nope\"}", "group_by", 400 },
		{ "leaderboard", "{\"object_type_id\":\"deals\",\"group_by\":\"notes\"}", "group_by", 400 },
		{ "leaderboard", "{\"object_type_id\":\"deals\",\"group_by\":\"owner\",\"aggregation\":\"median\"}", "aggregation", 400 },
		{ "leaderboard", "{\"object_type_id\":\"deals\",\"group_by\":\"owner\",\"aggregation\":\"sum\",\"value_property\":\"owner\"}", "value_property", 400 },
		{ "leaderboard", "{\"object_type_id\":\"deals\",\"group_by\":\"owner\",\"limit\":101}", "limit", 400 },
		{ "leaderboard", "{\"object_type_id\":\"deals\",\"group_by\":\"owner\",\"extra\":1}", "extra", 400 },
		{ "timeseries", "{\"object_type_id\":\"deals\",\"interval\":\"hour\",\"start_date\":\"2024-01-01\",\"end_date\":\"2026-01-01\"}", "interval", 400 },
		{ "timeseries", "{\"object_type_id\":\"deals\",\"interval\":\"fortnight\"}", "interval", 400 },
		{ "timeseries", "{\"object_type_id\":\"deals\",\"timezone\":\"Mars/Olympus\"}", "timezone", 400 },
		{ "timeseries", "{\"object_type_id\":\"deals\",\"date_property\":\"owner\"}", "date_property", 400 },
		{ "timeseries", "{\"object_type_id\":\"deals\",\"start_date\":\"yesterday\"}", "start_date", 400 },
		{ "timeseries", "{\"object_type_id\":\"deals\",\"start_date\":\"2026-02-01\",\"end_date\":\"2026-01-01\"}", "start_date", 400 },
		{ "funnel", "{\"object_type_id\":\"deals\",\"steps\":[]}", "steps", 400 },
		{ "funnel", "{\"object_type_id\":\"deals\",\"steps\":[\"x\"]}", "steps[0]", 400 },
		{ "pipeline", "{\"object_type_id\":\"nope\",\"stage_property\":\"stage\"}", "object_type_id", 404 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		http_resp *r = report(t.key, cases[i].kind, cases[i].body);
		assert_fail_field(r, cases[i].status, cases[i].status == 404 ? "NOT_FOUND" : "VALIDATION_ERROR",
				  cases[i].field);
		http_free(r);
	}
	/* The other tenant cannot reach this tenant's type by id. */
	char *body = strf("{\"object_type_id\":\"%s\",\"stage_property\":\"stage\"}", ty);
	http_resp *r = report(o.key, "pipeline", body);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(body);
	free(ty);
	tenant_drop(&t);
	tenant_drop(&o);
}
END_TEST

/* ------------------------------------------------------------ forms */

/* A type "leads" and a form on it: name (required), email, age, a
 * newsletter checkbox and a hidden source. */
static char *leads_make(const char *key)
{
	char *ty = type_make(key, "leads");
	prop_make(key, ty, "{\"name\":\"name\",\"data_type\":\"string\",\"is_required\":true}");
	prop_make(key, ty, "{\"name\":\"email\",\"data_type\":\"email\"}");
	prop_make(key, ty, "{\"name\":\"age\",\"data_type\":\"integer\"}");
	prop_make(key, ty, "{\"name\":\"newsletter\",\"data_type\":\"boolean\"}");
	prop_make(key, ty, "{\"name\":\"source\",\"data_type\":\"string\"}");
	return ty;
}

#define LEAD_FIELDS "[{\"property\":\"name\",\"label\":\"Your name\",\"required\":true,\"order\":1}," \
	"{\"property\":\"email\",\"label\":\"Email\",\"placeholder\":\"you@example.com\"}," \
	"{\"property\":\"age\",\"label\":\"Age\"},{\"property\":\"newsletter\",\"label\":\"News\"}," \
	"{\"property\":\"source\",\"hidden\":true,\"default_value\":\"web-form\"}]"

/* Creates an active form with settings (JSON text), asserting 201. */
static char *form_make(const char *key, const char *settings)
{
	char *body = strf("{\"name\":\"Contact\",\"object_type_id\":\"leads\",\"fields\":" LEAD_FIELDS
			  ",\"settings\":%s,\"status\":\"active\"}", settings);
	http_resp *r = call("POST", key, body, "/v1/forms");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	ck_assert_msg(!strncmp(id, "form_", 5), "id: %s", r->body);
	http_free(r);
	free(body);
	return id;
}

static http_resp *submit_json(const char *tenant, const char *form, const char *body)
{
	return call("POST", NULL, body, "/v1/forms/%s/submit?tenant_id=%s", form, tenant);
}

static int submissions_total(const char *key, const char *form)
{
	http_resp *r = call("GET", key, NULL, "/v1/forms/%s/submissions", form);
	assert_envelope(r, 200, NULL);
	int n = item(resp_data(r), "total")->valueint;
	http_free(r);
	return n;
}

START_TEST(forms_are_checked_against_their_type_and_stay_in_their_tenant)
{
	struct tenant t, o;
	tenant_make(&t);
	tenant_make(&o);
	free(leads_make(t.key));
	struct { const char *body, *field; } bad[] = {
		{ "{\"name\":\"F\",\"object_type_id\":\"nope\"}", "object_type_id" },
		{ "{\"name\":\"F\",\"object_type_id\":\"leads\",\"fields\":[{\"property\":\"zip\"}]}", "fields[0].property" },
		{ "{\"name\":\"F\",\"object_type_id\":\"leads\",\"fields\":[{\"property\":\"age\",\"default_value\":\"old\"}]}", "fields[0].default_value" },
		{ "{\"name\":\"F\",\"object_type_id\":\"leads\",\"fields\":[{\"property\":\"age\"},{\"property\":\"age\"}]}", "fields[1].property" },
		{ "{\"name\":\"F\",\"object_type_id\":\"leads\",\"fields\":[{\"property\":\"source\",\"hidden\":true}]}", "fields[0].default_value" },
		{ "{\"name\":\"F\",\"object_type_id\":\"leads\",\"settings\":{\"redirect_url\":\"https://evil.example.net/\"}}", "settings.redirect_url" },
		{ "{\"name\":\"F\",\"object_type_id\":\"leads\",\"settings\":{\"captcha\":{\"provider\":\"hcaptcha\"}}}", "settings.captcha.secret" },
		{ "{\"name\":\"F\",\"object_type_id\":\"leads\",\"settings\":{\"captcha\":{\"provider\":\"recaptcha\",\"secret\":\"x\"}}}", "settings.captcha.provider" },
		{ "{\"name\":\"F\",\"object_type_id\":\"leads\",\"settings\":{\"notification_emails\":[\"not-an-address\"]}}", "settings.notification_emails[0]" },
		{ "{\"name\":\"F\",\"object_type_id\":\"leads\",\"settings\":{\"rate_limit_per_hour\":0}}", "settings.rate_limit_per_hour" },
		{ "{\"name\":\"F\",\"object_type_id\":\"leads\",\"settings\":{\"colour\":\"red\"}}", "settings.colour" },
		{ "{\"name\":\"F\",\"object_type_id\":\"leads\",\"status\":\"published\"}", "status" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp *r = call("POST", t.key, bad[i].body, "/v1/forms");
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	/* A redirect on the tenant's allowlist is fine. */
	http_resp *r = call("POST", t.key, "{\"redirect_urls\":[\"https://app.example.com\"]}", "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *id = form_make(t.key, "{\"redirect_url\":\"https://app.example.com/thanks\"}");
	r = call("GET", t.key, NULL, "/v1/forms?status=active");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(find_by(resp_data(r), "id", id) != NULL, "listed: %s", r->body);
	http_free(r);
	/* The other tenant sees none of it. */
	r = call("GET", o.key, NULL, "/v1/forms");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	const char *paths[] = { "PATCH /v1/forms/%s", "DELETE /v1/forms/%s", "POST /v1/forms/%s/duplicate",
				"GET /v1/forms/%s/submissions", "GET /v1/forms/%s/analytics",
				"GET /v1/forms/%s/submissions/export" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char method[8];
		sscanf(paths[i], "%7s", method);
		r = call(method, o.key, !strcmp(method, "PATCH") ? "{\"name\":\"x\"}" : NULL,
			 strchr(paths[i], '/'), id);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	r = call("GET", NULL, NULL, "/v1/forms/%s?tenant_id=%s", id, o.id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* A read-only key cannot change forms. */
	char *ro = key_new(t.key, "{\"name\":\"ro\",\"scopes\":[\"read\"]}", NULL);
	r = call("PATCH", ro, "{\"name\":\"x\"}", "/v1/forms/%s", id);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	free(ro);
	free(id);
	tenant_drop(&t);
	tenant_drop(&o);
}
END_TEST

START_TEST(a_public_form_is_read_and_submitted_as_json_creating_the_object_and_event)
{
	struct tenant t;
	tenant_make(&t);
	free(leads_make(t.key));
	char *body = strf("{\"name\":\"Contact\",\"object_type_id\":\"leads\",\"fields\":" LEAD_FIELDS
			  ",\"settings\":{\"success_message\":\"Merci\",\"honeypot\":\"website\"}}");
	http_resp *r = call("POST", t.key, body, "/v1/forms");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "draft");
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	free(body);
	/* A draft is not public. */
	r = call("GET", NULL, NULL, "/v1/forms/%s?tenant_id=%s", id, t.id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", t.key, "{\"status\":\"active\"}", "/v1/forms/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("PATCH", t.key, "{\"brand_name\":\"Acme\",\"primary_color\":\"#112233\"}", "/v1/branding");
	assert_envelope(r, 200, NULL);
	http_free(r);

	r = call("GET", NULL, NULL, "/v1/forms/%s?tenant_id=%s", id, t.id);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_str_eq(json_str(d, "form_id"), id);
	/* The hidden field is not shown; its value is the server's. */
	ck_assert_int_eq(cJSON_GetArraySize(item(d, "fields")), 4);
	ck_assert_ptr_null(find_by(item(d, "fields"), "property", "source"));
	ck_assert_str_eq(json_str(item(d, "branding"), "brand_name"), "Acme");
	ck_assert_str_eq(json_str(item(d, "branding"), "primary_color"), "#112233");
	ck_assert_msg(cJSON_IsFalse(item(d, "require_captcha")), "%s", r->body);
	http_free(r);

	r = submit_json(t.id, id, "{\"name\":\"Ann\",\"email\":\"ann@example.com\",\"age\":41,"
			"\"source\":\"forged\"}");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsTrue(item(resp_data(r), "submitted")), "%s", r->body);
	ck_assert_str_eq(json_str(resp_data(r), "message"), "Merci");
	char *obj = strdup(json_str(resp_data(r), "object_id"));
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/leads/%s", obj);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(prop_of(resp_data(r), "name") ? item(resp_data(r), "properties") : NULL, "name"), "Ann");
	ck_assert_int_eq(prop_of(resp_data(r), "age")->valueint, 41);
	ck_assert_str_eq(prop_of(resp_data(r), "source")->valuestring, "web-form");
	http_free(r);
	char *events = events_of(id);
	ck_assert_msg(strstr(events, "form.submitted") != NULL, "events: %s", events);
	free(events);

	/* Bad values: the property's own check, required, unknown names. */
	r = submit_json(t.id, id, "{\"name\":\"Bob\",\"age\":\"old\"}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "properties.age");
	http_free(r);
	r = submit_json(t.id, id, "{\"email\":\"bob@example.com\"}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "name");
	http_free(r);
	r = submit_json(t.id, id, "{\"name\":\"Bob\",\"salary\":1}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "salary");
	http_free(r);
	r = call("POST", NULL, "{\"name\":\"Bob\"}", "/v1/forms/%s/submit", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "tenant_id");
	http_free(r);
	/* A filled honeypot looks accepted and stores nothing. */
	r = submit_json(t.id, id, "{\"name\":\"Bot\",\"website\":\"http://spam.example\"}");
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_null(item(resp_data(r), "object_id"));
	http_free(r);
	ck_assert_int_eq(submissions_total(t.key, id), 1);

	/* Closed: gone. */
	r = call("PATCH", t.key, "{\"status\":\"closed\"}", "/v1/forms/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = submit_json(t.id, id, "{\"name\":\"Late\"}");
	assert_envelope(r, 410, "GONE");
	http_free(r);
	ck_assert_int_eq(submissions_total(t.key, id), 1);
	free(obj);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_plain_html_form_posts_urlencoded_and_is_redirected_with_303)
{
	struct tenant t;
	tenant_make(&t);
	free(leads_make(t.key));
	http_resp *r = call("POST", t.key, "{\"redirect_urls\":[\"https://app.example.com\"]}", "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *id = form_make(t.key, "{\"redirect_url\":\"https://app.example.com/thanks\"}");
	int rc;
	char *out = run_cmd(&rc, "curl -s -o /dev/null -w '%%{http_code} %%{redirect_url}' "
			    "--data-urlencode 'name=Zoë & Co' --data-urlencode 'email=zoe@example.com' "
			    "--data-urlencode 'age=33' --data-urlencode 'newsletter=on' "
			    "'%s/v1/forms/%s/submit?tenant_id=%s'", env_or("TESSERA_TEST_URL", ""), id, t.id);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, "303 https://app.example.com/thanks");
	free(out);
	r = call("GET", t.key, NULL, "/v1/forms/%s/submissions", id);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 1);
	const cJSON *sub = cJSON_GetArrayItem(item(resp_data(r), "submissions"), 0);
	const cJSON *data = item(sub, "data");
	ck_assert_str_eq(json_str(data, "name"), "Zoë & Co");
	ck_assert_int_eq(item(data, "age")->valueint, 33);
	ck_assert_msg(cJSON_IsTrue(item(data, "newsletter")), "%s", r->body);
	ck_assert_str_eq(json_str(data, "source"), "web-form");
	http_free(r);
	/* A bad value in a plain form is a 400 like any other. */
	out = run_cmd(&rc, "curl -s -o /dev/null -w '%%{http_code}' --data-urlencode 'name=Y' "
		      "--data-urlencode 'age=many' '%s/v1/forms/%s/submit?tenant_id=%s'",
		      env_or("TESSERA_TEST_URL", ""), id, t.id);
	ck_assert_str_eq(out, "400");
	free(out);
	/* Bytes that are not UTF-8 are refused, not stored for every later
	 * JSON answer to carry. */
	char *path = strf("/v1/forms/%s/submit?tenant_id=%s", id, t.id);
	r = http_req("POST", path, NULL, "application/x-www-form-urlencoded", "name=Zo%FB", 10, NULL);
	assert_envelope(r, 400, "BAD_REQUEST");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/forms/%s/submissions", id);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 1);
	http_free(r);
	/* Neither JSON nor a form: 415. */
	r = http_req("POST", path, NULL, "text/plain", "name=x", 6, NULL);
	free(path);
	assert_envelope(r, 415, "UNSUPPORTED_MEDIA_TYPE");
	http_free(r);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(captcha_tokens_are_verified_with_the_siteverify_api_and_the_secret_is_sealed)
{
	struct tenant t;
	tenant_make(&t);
	free(leads_make(t.key));
	struct receiver fake;
	peer_start(&fake, "captcha_verify");
	char *settings = strf("{\"captcha\":{\"provider\":\"hcaptcha\",\"site_key\":\"site-1\","
			      "\"secret\":\"test-secret\",\"verify_url\":\"http://127.0.0.1:%d/b1/siteverify\"}}",
			      fake.port);
	char *id = form_make(t.key, settings);
	http_resp *r = call("GET", t.key, NULL, "/v1/forms");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(strstr(r->body, "test-secret") == NULL, "secret shown: %s", r->body);
	const cJSON *c = item(item(find_by(resp_data(r), "id", id), "settings"), "captcha");
	ck_assert_msg(cJSON_IsTrue(item(c, "secret_set")), "%s", r->body);
	http_free(r);
	r = call("GET", NULL, NULL, "/v1/forms/%s?tenant_id=%s", id, t.id);
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsTrue(item(resp_data(r), "require_captcha")), "%s", r->body);
	ck_assert_str_eq(json_str(item(item(resp_data(r), "settings"), "captcha"), "site_key"), "site-1");
	ck_assert_msg(strstr(r->body, "test-secret") == NULL && strstr(r->body, "sealed") == NULL, "%s", r->body);
	http_free(r);

	r = submit_json(t.id, id, "{\"name\":\"Ann\"}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "captcha_token");
	http_free(r);
	r = submit_json(t.id, id, "{\"name\":\"Ann\",\"h-captcha-response\":\"wrong\"}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "captcha_token");
	http_free(r);
	ck_assert_int_eq(submissions_total(t.key, id), 0);
	r = submit_json(t.id, id, "{\"name\":\"Ann\",\"h-captcha-response\":\"pass-token\"}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	ck_assert_int_eq(submissions_total(t.key, id), 1);
	cJSON *got = recv_got(&fake, "b1");
	const cJSON *forms = item(got, "received");
	ck_assert_int_eq(cJSON_GetArraySize(forms), 2);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(forms, 1), "secret"), "test-secret");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(forms, 1), "response"), "pass-token");
	cJSON_Delete(got);
	/* Changing other settings keeps the sealed secret. */
	char *patch = strf("{\"settings\":{\"captcha\":{\"provider\":\"hcaptcha\",\"verify_url\":"
			   "\"http://127.0.0.1:%d/b1/siteverify\"}}}", fake.port);
	r = call("PATCH", t.key, patch, "/v1/forms/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = submit_json(t.id, id, "{\"name\":\"Bea\",\"captcha_token\":\"pass-token\"}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(patch);
	recv_stop(&fake);
	free(settings);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(submissions_are_rate_limited_per_address_and_hour)
{
	struct tenant t;
	tenant_make(&t);
	free(leads_make(t.key));
	char *id = form_make(t.key, "{\"rate_limit_per_hour\":2}");
	char *addr = loopback_addr_random();
	http_source_addr(addr);
	for (int i = 0; i < 2; i++) {
		http_resp *r = submit_json(t.id, id, "{\"name\":\"Ann\"}");
		assert_envelope(r, 200, NULL);
		http_free(r);
	}
	http_resp *r = submit_json(t.id, id, "{\"name\":\"Ann\"}");
	assert_envelope(r, 429, "RATE_LIMITED");
	char *ra = resp_header(r, "Retry-After");
	ck_assert_msg(ra && atoi(ra) > 0 && atoi(ra) <= 3600, "Retry-After: %s", ra ? ra : "none");
	free(ra);
	http_free(r);
	/* Another address is not limited. */
	char *other = loopback_addr_random();
	http_source_addr(other);
	r = submit_json(t.id, id, "{\"name\":\"Bob\"}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	http_source_addr(NULL);
	ck_assert_int_eq(submissions_total(t.key, id), 3);
	free(addr);
	free(other);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(submissions_export_as_csv_and_json_analytics_count_and_duplicates_are_drafts)
{
	struct tenant t;
	tenant_make(&t);
	free(leads_make(t.key));
	char *id = form_make(t.key, "{}");
	http_resp *r = call("GET", NULL, NULL, "/v1/forms/%s?tenant_id=%s", id, t.id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = submit_json(t.id, id, "{\"name\":\"Ann, \\\"the\\\" first\",\"age\":30}");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = submit_json(t.id, id, "{\"name\":\"Bob\",\"newsletter\":true}");
	assert_envelope(r, 200, NULL);
	http_free(r);

	r = call("GET", t.key, NULL, "/v1/forms/%s/submissions/export?format=csv", id);
	ck_assert_int_eq(r->status, 200);
	char *ct = resp_header(r, "Content-Type");
	ck_assert_msg(ct && !strncmp(ct, "text/csv", 8), "type %s", ct ? ct : "none");
	free(ct);
	ck_assert_msg(!strncmp(r->body, "submission_id,object_id,submitted_at,name,email,age,newsletter,source\r\n",
			       71), "header: %s", r->body);
	ck_assert_msg(strstr(r->body, ",\"Ann, \"\"the\"\" first\",,30,,web-form\r\n") != NULL, "csv: %s", r->body);
	ck_assert_msg(strstr(r->body, ",Bob,,,true,web-form\r\n") != NULL, "csv: %s", r->body);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/forms/%s/submissions/export?format=json", id);
	ck_assert_int_eq(r->status, 200);
	cJSON *arr = cJSON_Parse(r->body);
	ck_assert_msg(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 2, "json: %s", r->body);
	ck_assert_str_eq(json_str(item(cJSON_GetArrayItem(arr, 1), "data"), "name"), "Bob");
	cJSON_Delete(arr);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/forms/%s/submissions/export?format=xml", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "format");
	http_free(r);

	r = call("GET", t.key, NULL, "/v1/forms/%s/analytics?days=7", id);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "by_day")), 7);
	ck_assert_int_eq(item(resp_data(r), "views")->valueint, 1);
	ck_assert_int_eq(item(resp_data(r), "submissions")->valueint, 2);
	const cJSON *today = cJSON_GetArrayItem(item(resp_data(r), "by_day"), 6);
	ck_assert_int_eq(item(today, "submissions")->valueint, 2);
	ck_assert_int_eq((int)(item(resp_data(r), "conversion_rate")->valuedouble), 2);
	http_free(r);

	r = call("POST", t.key, NULL, "/v1/forms/%s/duplicate", id);
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "name"), "Contact (copy)");
	ck_assert_str_eq(json_str(resp_data(r), "status"), "draft");
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "fields")), 5);
	ck_assert_str_ne(json_str(resp_data(r), "id"), id);
	http_free(r);
	free(id);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ branding */

START_TEST(branding_checks_urls_colours_css_and_domains_unique_across_tenants)
{
	struct tenant t, o;
	tenant_make(&t);
	tenant_make(&o);
	http_resp *r = call("GET", t.key, NULL, "/v1/branding");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsNull(item(resp_data(r), "logo_url")), "%s", r->body);
	http_free(r);
	char *domain = strf("forms-%s.example.com", t.id + 3);
	for (char *p = domain; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	char *body = strf("{\"brand_name\":\"Acme\",\"logo_url\":\"https://cdn.example.com/l.png\","
			  "\"primary_color\":\"#AABBCC\",\"custom_css\":\"body{background:url(https://cdn.example.com/bg.png)}\","
			  "\"custom_domain\":\"%s\"}", domain);
	r = call("PATCH", t.key, body, "/v1/branding");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "custom_domain"), domain);
	ck_assert_str_eq(json_str(resp_data(r), "primary_color"), "#AABBCC");
	http_free(r);
	free(body);
	r = call("GET", t.key, NULL, "/v1/branding");
	ck_assert_str_eq(json_str(resp_data(r), "logo_url"), "https://cdn.example.com/l.png");
	ck_assert_str_eq(json_str(resp_data(r), "brand_name"), "Acme");
	http_free(r);
	struct { const char *body, *field; } bad[] = {
		{ "{\"logo_url\":\"http://cdn.example.com/l.png\"}", "logo_url" },
		{ "{\"favicon_url\":\"javascript:alert(1)\"}", "favicon_url" },
		{ "{\"primary_color\":\"red\"}", "primary_color" },
		{ "{\"custom_css\":\"@import url(https://x.example.com/a.css);\"}", "custom_css" },
		{ "{\"custom_css\":\"@IM/**/PORT 'x.css';\"}", "custom_css" },
		{ "{\"custom_css\":\"a{background:url(http://x.example.com/a.png)}\"}", "custom_css" },
		{ "{\"custom_css\":\"a{width:expression(alert(1))}\"}", "custom_css" },
		{ "{\"custom_css\":\"a{background:url(javascript:alert(1))}\"}", "custom_css" },
		{ "{\"custom_css\":\"</style><script>alert(1)</script>\"}", "custom_css" },
		{ "{\"custom_domain\":\"not a host\"}", "custom_domain" },
		{ "{\"custom_domain\":\"10.0.0.1\"}", "custom_domain" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("PATCH", t.key, bad[i].body, "/v1/branding");
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	/* 32 KB of CSS at most. */
	char *big = malloc(40000);
	strcpy(big, "{\"custom_css\":\"");
	memset(big + 15, 'a', 33000);
	strcpy(big + 15 + 33000, "\"}");
	r = call("PATCH", t.key, big, "/v1/branding");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "custom_css");
	http_free(r);
	free(big);
	/* Nothing changed by the refusals. */
	r = call("GET", t.key, NULL, "/v1/branding");
	ck_assert_str_eq(json_str(resp_data(r), "primary_color"), "#AABBCC");
	http_free(r);
	/* The other tenant cannot take the domain. */
	body = strf("{\"custom_domain\":\"%s\"}", domain);
	r = call("PATCH", o.key, body, "/v1/branding");
	assert_fail_field(r, 409, "CONFLICT", "custom_domain");
	http_free(r);
	r = call("GET", o.key, NULL, "/v1/branding");
	ck_assert_msg(cJSON_IsNull(item(resp_data(r), "custom_domain")), "%s", r->body);
	http_free(r);
	free(body);
	/* Clearing with null. */
	r = call("PATCH", t.key, "{\"custom_domain\":null,\"custom_css\":null}", "/v1/branding");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsNull(item(resp_data(r), "custom_domain")), "%s", r->body);
	http_free(r);
	free(domain);
	tenant_drop(&t);
	tenant_drop(&o);
}
END_TEST

/* ------------------------------------------------------------ dashboards */

static char *dashboard_make(const char *key, const char *body)
{
	http_resp *r = call("POST", key, body, "/v1/dashboards");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

static char *widget_make(const char *key, const char *dash, const char *body)
{
	http_resp *r = call("POST", key, body, "/v1/dashboards/%s/widgets", dash);
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

START_TEST(a_dashboard_shows_its_widgets_with_cached_data_refreshed_on_demand)
{
	struct tenant t, o;
	tenant_make(&t);
	tenant_make(&o);
	free(deals_make(t.key));
	char *d = dashboard_make(t.key, "{\"name\":\"Sales\",\"layout_json\":{\"columns\":12}}");
	char *w1 = widget_make(t.key, d, "{\"type\":\"metric\",\"title\":\"Deals\",\"config_json\":"
			       "{\"object_type_id\":\"deals\"},\"position_json\":{\"x\":0,\"y\":0}}");
	char *w2 = widget_make(t.key, d, "{\"type\":\"leaderboard\",\"config_json\":{\"object_type_id\":"
			       "\"deals\",\"group_by\":\"owner\",\"aggregation\":\"sum\",\"value_property\":\"amount\",\"limit\":1}}");
	char *w3 = widget_make(t.key, d, "{\"type\":\"table\",\"config_json\":{\"object_type_id\":\"deals\","
			       "\"columns\":[\"owner\"],\"limit\":2,\"filters\":[{\"property\":\"stage\",\"operator\":\"eq\",\"value\":\"won\"}]}}");
	/* A widget whose report cannot run is refused, naming the member. */
	http_resp *r = call("POST", t.key, "{\"type\":\"leaderboard\",\"config_json\":{\"object_type_id\":"
			    "\"deals\",\"group_by\":\"nope\"}}", "/v1/dashboards/%s/widgets", d);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "config_json.group_by");
	http_free(r);
	r = call("POST", t.key, "{\"type\":\"gauge\",\"config_json\":{}}", "/v1/dashboards/%s/widgets", d);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "type");
	http_free(r);

	r = call("GET", t.key, NULL, "/v1/dashboards/%s", d);
	assert_envelope(r, 200, NULL);
	const cJSON *ws = item(resp_data(r), "widgets");
	ck_assert_int_eq(cJSON_GetArraySize(ws), 3);
	ck_assert_int_eq(item(item(find_by(ws, "id", w1), "data"), "value")->valueint, DEALS);
	const cJSON *top = cJSON_GetArrayItem(item(item(find_by(ws, "id", w2), "data"), "entries"), 0);
	ck_assert_str_eq(json_str(top, "group"), "cyd");
	const cJSON *table = item(find_by(ws, "id", w3), "data");
	int won = 0;
	for (int i = 0; i < DEALS; i++)
		won += !strcmp(deals[i].stage, "won");
	ck_assert_int_eq(item(table, "total")->valueint, won);
	ck_assert_int_eq(cJSON_GetArraySize(item(table, "rows")), 2);
	const cJSON *props = item(cJSON_GetArrayItem(item(table, "rows"), 0), "properties");
	ck_assert_int_eq(cJSON_GetArraySize(props), 1);
	ck_assert_ptr_nonnull(item(props, "owner"));
	http_free(r);

	/* Cached for a minute; ?refresh=true recomputes. */
	free(obj_make(t.key, "deals", "{\"owner\":\"zed\",\"stage\":\"won\"}"));
	r = call("GET", t.key, NULL, "/v1/dashboards/%s", d);
	ck_assert_int_eq(item(item(find_by(item(resp_data(r), "widgets"), "id", w1), "data"), "value")->valueint, DEALS);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/dashboards/%s?refresh=true", d);
	ck_assert_int_eq(item(item(find_by(item(resp_data(r), "widgets"), "id", w1), "data"), "value")->valueint, DEALS + 1);
	http_free(r);
	/* Changing a widget changes its data at once. */
	r = call("PATCH", t.key, "{\"config_json\":{\"object_type_id\":\"deals\",\"filters\":[{\"property\":"
		 "\"owner\",\"operator\":\"eq\",\"value\":\"zed\"}]}}", "/v1/dashboards/%s/widgets/%s", d, w1);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/dashboards/%s", d);
	ck_assert_int_eq(item(item(find_by(item(resp_data(r), "widgets"), "id", w1), "data"), "value")->valueint, 1);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/dashboards/%s/widgets/%s", d, w3);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/dashboards/%s", d);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "widgets")), 2);
	http_free(r);

	/* The other tenant reaches neither the dashboard nor its widgets. */
	r = call("GET", o.key, NULL, "/v1/dashboards/%s", d);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", o.key, "{\"title\":\"x\"}", "/v1/dashboards/%s/widgets/%s", d, w1);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", o.key, "{\"type\":\"metric\",\"config_json\":{\"object_type_id\":\"deals\"}}",
		 "/v1/dashboards/%s/widgets", d);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* Deleting the dashboard takes its widgets. */
	r = call("DELETE", t.key, NULL, "/v1/dashboards/%s", d);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/dashboards/%s/widgets/%s", d, w2);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(w1);
	free(w2);
	free(w3);
	free(d);
	tenant_drop(&t);
	tenant_drop(&o);
}
END_TEST

static http_resp *public_dashboard(const char *token)
{
	return call("GET", NULL, NULL, "/v1/dashboards/public/%s", token);
}

START_TEST(a_shared_dashboard_is_read_without_credentials_until_unshared_or_expired)
{
	struct tenant t;
	tenant_make(&t);
	free(deals_make(t.key));
	char *d = dashboard_make(t.key, "{\"name\":\"Board\",\"description\":\"Public numbers\"}");
	free(widget_make(t.key, d, "{\"type\":\"pipeline\",\"title\":\"Stages\",\"config_json\":"
			 "{\"object_type_id\":\"deals\",\"stage_property\":\"stage\"}}"));
	free(widget_make(t.key, d, "{\"type\":\"table\",\"config_json\":{\"object_type_id\":\"deals\"}}"));
	http_resp *r = call("PATCH", t.key, "{\"is_public\":true}", "/v1/dashboards/%s", d);
	assert_envelope(r, 200, NULL);
	char *token = strdup(json_str(resp_data(r), "share_token"));
	ck_assert_msg(strlen(token) > 40, "token: %s", r->body);
	ck_assert_msg(strstr(json_str(resp_data(r), "share_url"), token) != NULL, "%s", r->body);
	http_free(r);
	/* Shown once: a read does not repeat it. */
	r = call("GET", t.key, NULL, "/v1/dashboards/%s", d);
	ck_assert_msg(cJSON_IsTrue(item(resp_data(r), "is_public")) && !strstr(r->body, token), "%s", r->body);
	http_free(r);

	r = public_dashboard(token);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "name"), "Board");
	const cJSON *ws = item(resp_data(r), "widgets");
	ck_assert_int_eq(cJSON_GetArraySize(ws), 2);
	ck_assert_int_eq(item(item(cJSON_GetArrayItem(ws, 0), "data"), "total_count")->valueint, DEALS);
	/* Data only: no ids of the dashboard, widgets, keys or users. */
	const char *ids[] = { d, "wdg_", "key_", "usr_", "created_by", "config_json" };
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		ck_assert_msg(!strstr(r->body, ids[i]), "%s shown: %s", ids[i], r->body);
	http_free(r);
	r = public_dashboard("dsh_unknown");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* Unshared: gone.  Shared again: a new token; the old stays gone. */
	r = call("PATCH", t.key, "{\"is_public\":false}", "/v1/dashboards/%s", d);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = public_dashboard(token);
	assert_envelope(r, 410, "GONE");
	http_free(r);
	char *exp = strf("{\"is_public\":true,\"share_expires_at\":\"%s\"}", "2020-01-01T00:00:00Z");
	r = call("PATCH", t.key, exp, "/v1/dashboards/%s", d);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "share_expires_at");
	http_free(r);
	free(exp);
	time_t soon = time(NULL) + 3;
	char ts[32];
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&soon));
	exp = strf("{\"is_public\":true,\"share_expires_at\":\"%s\"}", ts);
	r = call("PATCH", t.key, exp, "/v1/dashboards/%s", d);
	assert_envelope(r, 200, NULL);
	char *token2 = strdup(json_str(resp_data(r), "share_token"));
	http_free(r);
	free(exp);
	ck_assert_str_ne(token, token2);
	r = public_dashboard(token);
	assert_envelope(r, 410, "GONE");
	http_free(r);
	r = public_dashboard(token2);
	assert_envelope(r, 200, NULL);
	http_free(r);
	sleep(4);
	r = public_dashboard(token2);
	assert_envelope(r, 410, "GONE");
	http_free(r);
	free(token);
	free(token2);
	free(d);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ saved reports */

START_TEST(saved_reports_run_store_a_snapshot_and_export_csv_json_and_xlsx)
{
	struct tenant t, o;
	tenant_make(&t);
	tenant_make(&o);
	free(deals_make(t.key));
	http_resp *r = call("POST", t.key, "{\"name\":\"Top\",\"type\":\"leaderboard\",\"config_json\":"
			    "{\"object_type_id\":\"deals\",\"group_by\":\"nope\"}}", "/v1/saved-reports");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "config_json.group_by");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"Top\",\"type\":\"leaderboard\",\"config_json\":"
		 "{\"object_type_id\":\"deals\",\"group_by\":\"owner\"},\"schedule\":\"0 8 * * 1\"}",
		 "/v1/saved-reports");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "recipients");   /* a schedule needs them */
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"Top\",\"type\":\"leaderboard\",\"config_json\":"
		 "{\"object_type_id\":\"deals\",\"group_by\":\"owner\",\"aggregation\":\"sum\","
		 "\"value_property\":\"amount\",\"limit\":2}}", "/v1/saved-reports");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	ck_assert_msg(cJSON_IsNull(item(resp_data(r), "last_run_at")), "%s", r->body);
	http_free(r);

	r = call("POST", t.key, NULL, "/v1/saved-reports/%s/run", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(item(resp_data(r), "result"), "entries"), 0), "group"), "cyd");
	assert_rfc3339(resp_data(r), "ran_at");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/saved-reports/%s", id);
	assert_envelope(r, 200, NULL);
	assert_rfc3339(resp_data(r), "last_run_at");
	ck_assert_int_eq(cJSON_GetArraySize(item(item(resp_data(r), "last_result"), "entries")), 2);
	http_free(r);

	/* ann 60075 cents, cyd 100000: the top two. */
	r = call("GET", t.key, NULL, "/v1/saved-reports/%s/export?format=csv", id);
	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(r->body, "rank,group,value,count\r\n1,cyd,1000.0000,2\r\n2,ann,600.7500,3\r\n");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/saved-reports/%s/export?format=json", id);
	ck_assert_int_eq(r->status, 200);
	cJSON *j = cJSON_Parse(r->body);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(j, "entries"), 1), "value"), "600.7500");
	cJSON_Delete(j);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/saved-reports/%s/export?format=pdf", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "format");
	http_free(r);

	/* XLSX opened by openpyxl, cell by cell: numbers are numbers. */
	r = call("GET", t.key, NULL, "/v1/saved-reports/%s/export?format=xlsx", id);
	ck_assert_int_eq(r->status, 200);
	char *path = strf("%s/tmp/report-%d.xlsx", stack_dir(), (int)getpid());
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fwrite(r->body, 1, r->body_len, f);
	fclose(f);
	http_free(r);
	int rc;
	char *cells = run_cmd(&rc, "/usr/bin/python3 -c 'import openpyxl,sys\n"
			      "ws = openpyxl.load_workbook(sys.argv[1]).active\n"
			      "for row in ws.iter_rows(values_only=True): print(\"|\".join(repr(v) for v in row))' %s",
			      path);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(cells, "'rank'|'group'|'value'|'count'\n1|'cyd'|1000|2\n2|'ann'|600.75|3\n");
	free(cells);
	unlink(path);
	free(path);

	/* Another tenant: not found. */
	r = call("POST", o.key, NULL, "/v1/saved-reports/%s/run", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", o.key, NULL, "/v1/saved-reports/%s/export", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(id);
	tenant_drop(&t);
	tenant_drop(&o);
}
END_TEST

/* ------------------------------------------------------------ short URLs */

static http_resp *follow(const char *tenant, const char *slug, const char *referrer)
{
	char *h = strf("Referer: %s", referrer ? referrer : "");
	const char *headers[] = { h, NULL };
	http_resp *r = call_h("GET", NULL, NULL, referrer ? headers : NULL, "/s/%s?tenant_id=%s", slug, tenant);
	free(h);
	return r;
}

START_TEST(short_urls_redirect_count_clicks_and_expire)
{
	struct tenant t, o;
	tenant_make(&t);
	tenant_make(&o);
	struct { const char *body, *field; long status; } bad[] = {
		{ "{\"url\":\"ftp://example.com/x\"}", "url", 400 },
		{ "{\"url\":\"javascript:alert(1)\"}", "url", 400 },
		{ "{\"url\":\"https://example.com\",\"slug\":\"a!\"}", "slug", 400 },
		{ "{\"url\":\"https://example.com\",\"slug\":\"ab\"}", "slug", 400 },
		{ "{\"url\":\"https://example.com\",\"expires_at\":\"2020-01-01T00:00:00Z\"}", "expires_at", 400 },
		{ "{\"url\":\"https://example.com\",\"max_clicks\":0}", "max_clicks", 400 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp *r = call("POST", t.key, bad[i].body, "/v1/short-urls");
		assert_fail_field(r, bad[i].status, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	http_resp *r = call("POST", t.key, "{\"url\":\"https://example.com/launch?a=1\",\"slug\":\"Launch-2026\","
			    "\"title\":\"Launch\",\"tags\":[\"news\"]}", "/v1/short-urls");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "slug"), "Launch-2026");
	ck_assert_msg(strstr(json_str(resp_data(r), "short_url"), "/s/Launch-2026") != NULL, "%s", r->body);
	http_free(r);
	r = call("POST", t.key, "{\"url\":\"https://example.com/other\",\"slug\":\"Launch-2026\"}", "/v1/short-urls");
	assert_fail_field(r, 409, "CONFLICT", "slug");
	http_free(r);
	r = call("POST", t.key, "{\"url\":\"https://example.com/random\"}", "/v1/short-urls");
	assert_envelope(r, 201, NULL);
	const char *rs = json_str(resp_data(r), "slug");
	ck_assert_msg(strlen(rs) == 7 && strspn(rs, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == 7,
		      "random slug %s", rs);
	http_free(r);

	/* Three clicks from two addresses, two through one referrer. */
	char *a1 = loopback_addr_random(), *a2 = loopback_addr_random();
	const char *addrs[] = { a1, a1, a2 };
	const char *refs[] = { "https://news.example.com/", "https://news.example.com/", "https://blog.example.com/" };
	for (int i = 0; i < 3; i++) {
		http_source_addr(addrs[i]);
		r = follow(t.id, "Launch-2026", refs[i]);
		ck_assert_msg(r->status == 302, "click %d: %ld %s", i, r->status, r->body);
		char *loc = resp_header(r, "Location");
		ck_assert_str_eq(loc, "https://example.com/launch?a=1");
		free(loc);
		http_free(r);
	}
	http_source_addr(NULL);
	/* The slug is case-sensitive, unknown ones are 404, other tenants have none. */
	r = follow(t.id, "launch-2026", NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = follow(o.id, "Launch-2026", NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", o.key, NULL, "/v1/short-urls/Launch-2026");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	r = call("GET", t.key, NULL, "/v1/short-urls/Launch-2026");
	assert_envelope(r, 200, NULL);
	const cJSON *st = item(resp_data(r), "stats");
	ck_assert_int_eq(item(resp_data(r), "clicks")->valueint, 3);
	ck_assert_int_eq(item(st, "total")->valueint, 3);
	ck_assert_int_eq(item(st, "unique")->valueint, 2);
	const cJSON *top = cJSON_GetArrayItem(item(st, "top_referrers"), 0);
	ck_assert_str_eq(json_str(top, "referrer"), "https://news.example.com/");
	ck_assert_int_eq(item(top, "clicks")->valueint, 2);
	const cJSON *days = item(st, "by_day");
	ck_assert_int_eq(item(cJSON_GetArrayItem(days, cJSON_GetArraySize(days) - 1), "clicks")->valueint, 3);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/short-urls");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 2);
	ck_assert_int_eq(item(find_by(item(resp_data(r), "results"), "slug", "Launch-2026"), "clicks")->valueint, 3);
	http_free(r);

	/* max_clicks: the fourth is the last. */
	r = call("PATCH", t.key, "{\"max_clicks\":4}", "/v1/short-urls/Launch-2026");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = follow(t.id, "Launch-2026", NULL);
	ck_assert_int_eq(r->status, 302);
	http_free(r);
	r = follow(t.id, "Launch-2026", NULL);
	assert_envelope(r, 410, "GONE");
	http_free(r);

	/* Expiry. */
	time_t soon = time(NULL) + 2;
	char ts[32];
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", gmtime(&soon));
	char *body = strf("{\"url\":\"https://example.com/soon\",\"slug\":\"soon\",\"expires_at\":\"%s\"}", ts);
	r = call("POST", t.key, body, "/v1/short-urls");
	assert_envelope(r, 201, NULL);
	http_free(r);
	free(body);
	r = follow(t.id, "soon", NULL);
	ck_assert_int_eq(r->status, 302);
	http_free(r);
	sleep(3);
	r = follow(t.id, "soon", NULL);
	assert_envelope(r, 410, "GONE");
	http_free(r);

	/* Deleted: the redirect stops at once. */
	r = call("DELETE", t.key, NULL, "/v1/short-urls/Launch-2026");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "slug"), "Launch-2026");
	http_free(r);
	r = follow(t.id, "Launch-2026", NULL);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(a1);
	free(a2);
	tenant_drop(&t);
	tenant_drop(&o);
}
END_TEST

/* ------------------------------------------------------------ analytics */

START_TEST(the_analytics_engine_counts_unique_users_and_sums_custom_events)
{
	struct tenant t, o;
	tenant_make(&t);
	tenant_make(&o);
	const char *events[] = {
		"{\"event_type\":\"purchase\",\"data\":{\"user_id\":\"u1\",\"plan\":\"pro\",\"amount\":\"10.50\"}}",
		"{\"event_type\":\"purchase\",\"data\":{\"user_id\":\"u1\",\"plan\":\"pro\",\"amount\":\"4.25\"}}",
		"{\"event_type\":\"purchase\",\"data\":{\"user_id\":\"u2\",\"plan\":\"free\",\"amount\":1}}",
		"{\"event_type\":\"signup\",\"data\":{\"user_id\":\"u3\"}}",
	};
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		http_resp *r = call("POST", t.key, events[i], "/v1/events");
		ck_assert_msg(r->status == 201 || r->status == 200, "event: %ld %s", r->status, r->body);
		http_free(r);
	}
	http_resp *r = call("GET", t.key, NULL, "/v1/analytics/engine?event_type=purchase&interval=none");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 1);
	ck_assert_int_eq(item(cJSON_GetArrayItem(item(resp_data(r), "results"), 0), "value")->valueint, 3);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/analytics/engine?event_type=purchase&metric=unique_users&period=24h");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(cJSON_GetArrayItem(item(resp_data(r), "results"), 0), "value")->valueint, 2);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/analytics/engine?event_type=purchase&metric=sum&field=amount"
		 "&group_by=plan&interval=month");
	assert_envelope(r, 200, NULL);
	const cJSON *res = item(resp_data(r), "results");
	ck_assert_int_eq(cJSON_GetArraySize(res), 2);
	ck_assert_str_eq(json_str(find_by(res, "group", "pro"), "value"), "14.7500");
	ck_assert_str_eq(json_str(find_by(res, "group", "free"), "value"), "1.0000");
	http_free(r);
	struct { const char *q, *field; } bad[] = {
		{ "metric=count", "event_type" },
		{ "event_type=purchase&metric=median", "metric" },
		{ "event_type=purchase&metric=sum", "field" },
		{ "event_type=purchase&group_by=a.b", "group_by" },
		{ "event_type=purchase&period=1y", "period" },
		{ "event_type=purchase&interval=minute", "interval" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("GET", t.key, NULL, "/v1/analytics/engine?%s", bad[i].q);
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	/* Another tenant's events are not counted. */
	r = call("GET", o.key, NULL, "/v1/analytics/engine?event_type=purchase");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 0);
	http_free(r);
	tenant_drop(&t);
	tenant_drop(&o);
}
END_TEST

/* ------------------------------------------------------------ billing */

#define STRIPE_PKG "stripe@17.7.0"

/* The Stripe-Signature of payload as the official stripe package makes it
 * (installed once under build/npm-stripe), at time t (0: now). */
static char *stripe_header(const char *payload, const char *secret, long t)
{
	const char *repo = env_or("TESSERA_TEST_REPO", ".");
	int rc;
	char *out = run_cmd(&rc, "test -d %s/build/npm-stripe/node_modules/stripe || npm install "
			    "--no-audit --no-fund --prefix %s/build/npm-stripe " STRIPE_PKG " >/dev/null 2>&1",
			    repo, repo);
	ck_assert_msg(rc == 0, "npm install " STRIPE_PKG " failed");
	free(out);
	char *file = strf("%s/tmp/stripe-%d.json", stack_dir(), (int)getpid());
	FILE *f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fputs(payload, f);
	fclose(f);
	char *ts = t ? strf("%ld", t) : strf("%s", "");
	out = run_cmd(&rc, "node %s/tests/integration/stripe_sign.js %s/build/npm-stripe %s '%s' %s", repo,
		      repo, file, secret, ts);
	ck_assert_msg(rc == 0 && !strncmp(out, "t=", 2), "stripe_sign.js: %s", out);
	unlink(file);
	free(file);
	free(ts);
	return out;
}

static http_resp *stripe_post(const char *payload, const char *header)
{
	char *h = strf("Stripe-Signature: %s", header ? header : "");
	const char *headers[] = { h, NULL };
	http_resp *r = call_h("POST", NULL, payload, header ? headers : NULL, "/webhooks/stripe");
	free(h);
	return r;
}

static char *plan_of(const char *tenant)
{
	char *sql = strf("SELECT plan FROM tenants WHERE id='%s'", tenant);
	char *plan = control_sql(sql);
	free(sql);
	return plan;
}

START_TEST(stripe_events_are_verified_applied_once_and_change_the_plan)
{
	struct tenant t;
	tenant_make(&t);
	char *secret = conf_value("stripe_webhook_secret");
	ck_assert_msg(secret && !strncmp(secret, "whsec_", 6), "no signing secret in the stack's config");
	char *checkout = strf("{\"id\":\"evt_co_%s\",\"type\":\"checkout.session.completed\",\"data\":{\"object\":"
			      "{\"id\":\"cs_1\",\"client_reference_id\":\"%s\",\"customer\":\"cus_%s\","
			      "\"subscription\":\"sub_1\",\"metadata\":{\"price_id\":\"price_test_enterprise\"}}}}",
			      t.id, t.id, t.id);
	char *sig = stripe_header(checkout, secret, 0);
	http_resp *r = stripe_post(checkout, sig);
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsTrue(item(resp_data(r), "handled")), "%s", r->body);
	http_free(r);
	char *plan = plan_of(t.id);
	ck_assert_str_eq(plan, "enterprise");
	free(plan);
	/* The plan applies at once to the tenant's own key. */
	r = call("GET", t.key, NULL, "/v1/usage");
	ck_assert_str_eq(json_str(item(resp_data(r), "plan_tier"), "id"), "enterprise");
	http_free(r);
	/* Replayed: acknowledged, not applied again. */
	r = stripe_post(checkout, sig);
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsTrue(item(resp_data(r), "duplicate")), "%s", r->body);
	http_free(r);
	free(sig);

	/* Refused: a changed body, another secret, no header, a stale time. */
	char *tampered = strf("%s", checkout);
	tampered[strlen(tampered) - 5] = 'X';
	sig = stripe_header(checkout, secret, 0);
	r = stripe_post(tampered, sig);
	assert_fail_field(r, 400, "BAD_REQUEST", "Stripe-Signature");
	http_free(r);
	free(sig);
	sig = stripe_header(checkout, "whsec_other", 0);
	r = stripe_post(checkout, sig);
	assert_fail_field(r, 400, "BAD_REQUEST", "Stripe-Signature");
	http_free(r);
	free(sig);
	r = stripe_post(checkout, NULL);
	assert_fail_field(r, 400, "BAD_REQUEST", "Stripe-Signature");
	http_free(r);
	sig = stripe_header(checkout, secret, (long)time(NULL) - 600);
	r = stripe_post(checkout, sig);
	assert_fail_field(r, 400, "BAD_REQUEST", "Stripe-Signature");
	http_free(r);
	free(sig);
	free(tampered);

	/* Subscription updated to the pro price, an unknown type ignored, then
	 * deleted: back to free. */
	char *upd = strf("{\"id\":\"evt_up_%s\",\"type\":\"customer.subscription.updated\",\"data\":{\"object\":"
			 "{\"id\":\"sub_1\",\"customer\":\"cus_%s\",\"status\":\"active\",\"items\":{\"data\":"
			 "[{\"price\":{\"id\":\"price_test_pro\"}}]}}}}", t.id, t.id);
	sig = stripe_header(upd, secret, 0);
	r = stripe_post(upd, sig);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(sig);
	plan = plan_of(t.id);
	ck_assert_str_eq(plan, "pro");
	free(plan);
	const char *other = "{\"id\":\"evt_other_1\",\"type\":\"invoice.paid\",\"data\":{\"object\":{\"id\":\"in_1\"}}}";
	sig = stripe_header(other, secret, 0);
	r = stripe_post(other, sig);
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsFalse(item(resp_data(r), "handled")), "%s", r->body);
	http_free(r);
	free(sig);
	char *del = strf("{\"id\":\"evt_del_%s\",\"type\":\"customer.subscription.deleted\",\"data\":{\"object\":"
			 "{\"id\":\"sub_1\",\"customer\":\"cus_%s\",\"status\":\"canceled\"}}}", t.id, t.id);
	sig = stripe_header(del, secret, 0);
	r = stripe_post(del, sig);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(sig);
	plan = plan_of(t.id);
	ck_assert_str_eq(plan, "free");
	free(plan);
	r = call("GET", t.key, NULL, "/v1/usage");
	ck_assert_str_eq(json_str(item(resp_data(r), "plan_tier"), "id"), "free");
	http_free(r);
	free(del);
	free(upd);
	free(checkout);
	free(secret);
	tenant_drop(&t);
}
END_TEST

START_TEST(end_users_report_only_the_rows_their_policies_allow_and_their_widget_data_is_their_own)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_make(t.key);
	http_resp *r = call("POST", t.key, "{\"name\":\"own deals\",\"action\":\"all\",\"condition_json\":"
			    "{\"property\":\"owner\",\"operator\":\"eq\",\"value\":{\"auth\":\"uid\"}}}",
			    "/v1/object-types/deals/policies");
	assert_envelope(r, 201, NULL);
	http_free(r);
	char *ann = jwt_mint(t.id, "ann", "authenticated", 3600, NULL);
	r = call("POST", ann, "{\"object_type_id\":\"deals\",\"group_by\":\"owner\"}", "/v1/reports/leaderboard");
	assert_envelope(r, 200, NULL);
	const cJSON *entries = item(resp_data(r), "entries");
	ck_assert_int_eq(cJSON_GetArraySize(entries), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(entries, 0), "group"), "ann");
	ck_assert_int_eq(item(cJSON_GetArrayItem(entries, 0), "value")->valueint, 3);
	http_free(r);
	/* A dashboard's metric: the key's data is not served to her from the cache. */
	char *d = dashboard_make(t.key, "{\"name\":\"Mine\"}");
	char *w = widget_make(t.key, d, "{\"type\":\"metric\",\"config_json\":{\"object_type_id\":\"deals\"}}");
	r = call("GET", t.key, NULL, "/v1/dashboards/%s", d);
	ck_assert_int_eq(item(item(cJSON_GetArrayItem(item(resp_data(r), "widgets"), 0), "data"), "value")->valueint, DEALS);
	http_free(r);
	r = call("GET", ann, NULL, "/v1/dashboards/%s", d);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(item(cJSON_GetArrayItem(item(resp_data(r), "widgets"), 0), "data"), "value")->valueint, 3);
	http_free(r);
	free(w);
	free(d);
	free(ann);
	free(ty);
	tenant_drop(&t);
}
END_TEST

Suite *suite_apps(void)
{
	Suite *s = suite_create("apps");
	TCase *tc = tcase_new_slow(s, "reports");
	tcase_add_test(tc, leaderboard_sums_money_exactly_per_owner_in_rank_order);
	tcase_add_test(tc, pipeline_lists_every_stage_in_enum_order_with_counts_and_sums);
	tcase_add_test(tc, funnel_counts_each_step_within_the_previous_and_converts);
	tcase_add_test(tc, timeseries_zero_fills_buckets_in_the_requested_time_zone);
	tcase_add_test(tc, bad_report_requests_name_the_field_and_other_tenants_types_are_not_found);
	tc = tcase_new_slow(s, "forms");
	tcase_add_test(tc, forms_are_checked_against_their_type_and_stay_in_their_tenant);
	tcase_add_test(tc, a_public_form_is_read_and_submitted_as_json_creating_the_object_and_event);
	tcase_add_test(tc, a_plain_html_form_posts_urlencoded_and_is_redirected_with_303);
	tcase_add_test(tc, captcha_tokens_are_verified_with_the_siteverify_api_and_the_secret_is_sealed);
	tcase_add_test(tc, submissions_are_rate_limited_per_address_and_hour);
	tcase_add_test(tc, submissions_export_as_csv_and_json_analytics_count_and_duplicates_are_drafts);
	tc = tcase_new_slow(s, "dashboards");
	tcase_add_test(tc, a_dashboard_shows_its_widgets_with_cached_data_refreshed_on_demand);
	tcase_add_test(tc, a_shared_dashboard_is_read_without_credentials_until_unshared_or_expired);
	tc = tcase_new_slow(s, "saved reports");
	tcase_add_test(tc, saved_reports_run_store_a_snapshot_and_export_csv_json_and_xlsx);
	tc = tcase_new_slow(s, "short urls");
	tcase_add_test(tc, short_urls_redirect_count_clicks_and_expire);
	tc = tcase_new_slow(s, "analytics");
	tcase_add_test(tc, the_analytics_engine_counts_unique_users_and_sums_custom_events);
	tcase_add_test(tc, end_users_report_only_the_rows_their_policies_allow_and_their_widget_data_is_their_own);
	tc = tcase_new_slow(s, "billing");
	tcase_add_test(tc, stripe_events_are_verified_applied_once_and_change_the_plan);
	tc = tcase_new_slow(s, "branding");
	tcase_add_test(tc, branding_checks_urls_colours_css_and_domains_unique_across_tenants);
	return s;
}
