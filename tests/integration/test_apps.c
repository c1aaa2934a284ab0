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

#include "harness.h"

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

Suite *suite_apps(void)
{
	Suite *s = suite_create("apps");
	TCase *tc = tcase_new_slow(s, "reports");
	tcase_add_test(tc, leaderboard_sums_money_exactly_per_owner_in_rank_order);
	tcase_add_test(tc, pipeline_lists_every_stage_in_enum_order_with_counts_and_sums);
	tcase_add_test(tc, funnel_counts_each_step_within_the_previous_and_converts);
	tcase_add_test(tc, timeseries_zero_fills_buckets_in_the_requested_time_zone);
	tcase_add_test(tc, bad_report_requests_name_the_field_and_other_tenants_types_are_not_found);
	return s;
}
