/*
 * test_events.c - the tenant's event feed (GET /v1/events/list: every
 * event, filters, cursor pages, scopes, tenants), exact numbers in custom
 * event data, and the event catalogue (GET /events/types?details=true).
 * Custom event delivery to webhooks is in test_webhooks.c.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

Suite *suite_events(void);

/* The feed page at query (after "/v1/events/list"); asserts 200. */
static http_resp *feed(const char *key, const char *query)
{
	http_resp *r = call("GET", key, NULL, "/v1/events/list%s", query);
	assert_envelope(r, 200, NULL);
	return r;
}

static int feed_total(const char *key, const char *query)
{
	http_resp *r = feed(key, query);
	int n = item(resp_data(r), "total")->valueint;
	http_free(r);
	return n;
}

static const cJSON *events(const http_resp *r)
{
	return item(resp_data(r), "events");
}

START_TEST(feed_lists_every_event_newest_first_with_filters)
{
	struct tenant t;
	tenant_make(&t);
	free(type_make(t.key, "things"));
	char *o1 = obj_make(t.key, "things", "{}");
	char *o2 = obj_make(t.key, "things", "{}");
	http_resp *r = call("PATCH", t.key, "{\"properties\":{}}", "/v1/objects/things/%s", o1);
	http_free(r);
	r = call("POST", t.key, "{\"event_type\":\"signup\",\"data\":{\"plan\":\"pro\"}}", "/v1/events");
	assert_envelope(r, 200, NULL);
	char *cev = strdup(json_str(resp_data(r), "id"));
	http_free(r);

	r = feed(t.key, "");
	const cJSON *list = events(r);
	int total = item(resp_data(r), "total")->valueint;
	ck_assert_int_ge(total, 4);
	const cJSON *first = cJSON_GetArrayItem(list, 0);
	ck_assert_str_eq(json_str(first, "type"), "custom.signup");
	ck_assert_str_eq(json_str(first, "resource_type"), "custom_event");
	ck_assert_str_eq(json_str(first, "resource_id"), cev);
	ck_assert_str_eq(json_str(first, "actor_type"), "api_key");
	assert_json_eq(first, "data", "{\"plan\":\"pro\"}");
	assert_rfc3339(first, "created_at");
	/* Newest first, each under its outbox id (the webhook-id). */
	const char *prev = NULL;
	const cJSON *e;
	cJSON_ArrayForEach(e, list) {
		const char *id = json_str(e, "id");
		ck_assert_msg(id && !strncmp(id, "evt_", 4), "id %s", id ? id : "(none)");
		ck_assert_msg(!prev || strcmp(prev, id) > 0, "%s listed after %s", id, prev);
		prev = id;
	}
	const cJSON *made = NULL;
	cJSON_ArrayForEach(e, list)
		if (!strcmp(json_str(e, "type"), "object.created") && !strcmp(json_str(e, "resource_id"), o2))
			made = e;
	ck_assert_ptr_nonnull(made);
	char *sql = strf("SELECT id FROM outbox WHERE resource_id = '%s' AND event = 'object.created'", o2);
	char *evt = control_sql(sql);
	ck_assert_str_eq(evt, json_str(made, "id"));
	free(evt);
	free(sql);
	ck_assert_str_eq(json_str(item(made, "data"), "object_id"), o2);
	char *oldest = strdup(json_str(cJSON_GetArrayItem(list, cJSON_GetArraySize(list) - 1), "created_at"));
	http_free(r);

	/* Type: exact, a prefix, the custom event's name. */
	ck_assert_int_eq(feed_total(t.key, "?type=object.created"), 2);
	ck_assert_int_eq(feed_total(t.key, "?type=object.*"), 3);
	ck_assert_int_eq(feed_total(t.key, "?type=custom.*"), 1);
	ck_assert_int_eq(feed_total(t.key, "?type=custom.signup"), 1);
	ck_assert_int_eq(feed_total(t.key, "?event_type=signup"), 1);
	ck_assert_int_eq(feed_total(t.key, "?type=*"), total);
	/* Time: exclusive bounds. */
	ck_assert_int_eq(feed_total(t.key, "?created_before=2000-01-01T00:00:00Z"), 0);
	ck_assert_int_eq(feed_total(t.key, "?created_after=2000-01-01T00:00:00Z"), total);
	ck_assert_int_eq(feed_total(t.key, "?created_after=2999-01-01T00:00:00Z"), 0);
	/* Times are listed to the second; the bounds take milliseconds. */
	char *q = strf("?created_before=%s", oldest);
	ck_assert_int_eq(feed_total(t.key, q), 0);
	free(q);
	q = strf("?created_before=%.19s.000Z&type=object.*", oldest);
	ck_assert_int_eq(feed_total(t.key, q), 0);
	free(q);
	q = strf("?created_before=%.19s.999%%2B00:00", oldest);
	ck_assert_int_ge(feed_total(t.key, q), 1);
	free(q);

	/* Cursor pages of two cover the list once, in order. */
	int seen = 0;
	char *cursor = NULL, *last = NULL;
	do {
		char *page = cursor ? strf("?limit=2&cursor=%s", cursor) : strdup("?limit=2");
		r = feed(t.key, page);
		free(page);
		ck_assert_int_le(cJSON_GetArraySize(events(r)), 2);
		cJSON_ArrayForEach(e, events(r)) {
			ck_assert_msg(!last || strcmp(last, json_str(e, "id")) > 0, "page order");
			free(last);
			last = strdup(json_str(e, "id"));
			seen++;
		}
		free(cursor);
		const cJSON *nc = item(resp_data(r), "next_cursor");
		cursor = cJSON_IsString(nc) ? strdup(nc->valuestring) : NULL;
		http_free(r);
	} while (cursor);
	ck_assert_int_eq(seen, total);
	free(last);
	free(oldest);
	free(cev);
	free(o1);
	free(o2);
	tenant_drop(&t);
}
END_TEST

START_TEST(feed_shows_a_key_the_groups_its_scopes_cover_and_no_other_tenant)
{
	struct tenant t, b;
	tenant_make(&t);
	tenant_make(&b);
	free(file_upload_text(t.key, "a.txt", "hello"));
	free(type_make(t.key, "things"));
	free(obj_make(t.key, "things", "{}"));
	ck_assert_int_ge(feed_total(t.key, "?type=file.*"), 1);
	char *reader = key_new(t.key, "{\"label\":\"r\",\"scopes\":[\"read\"]}", NULL);
	char *filer = key_new(t.key, "{\"label\":\"f\",\"scopes\":[\"read\",\"files\"]}", NULL);
	ck_assert_int_eq(feed_total(reader, "?type=file.*"), 0);
	ck_assert_int_eq(feed_total(reader, "?type=object.*"), 1);
	ck_assert_int_ge(feed_total(filer, "?type=file.*"), 1);
	/* A key without read cannot list at all. */
	char *writer = key_new(t.key, "{\"label\":\"w\",\"scopes\":[\"write\"]}", NULL);
	http_resp *r = call("GET", writer, NULL, "/v1/events/list");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);

	/* Tenant b sees none of t's events, filters or cursor notwithstanding. */
	ck_assert_int_eq(feed_total(b.key, ""), 0);
	ck_assert_int_eq(feed_total(b.key, "?type=object.*"), 0);
	r = feed(t.key, "?limit=1");
	const cJSON *nc = item(resp_data(r), "next_cursor");
	ck_assert(cJSON_IsString(nc));
	http_resp *rb = call("GET", b.key, NULL, "/v1/events/list?cursor=%s", nc->valuestring);
	assert_envelope(rb, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(events(rb)), 0);
	http_free(rb);
	http_free(r);
	free(reader);
	free(filer);
	free(writer);
	tenant_drop(&t);
	tenant_drop(&b);
}
END_TEST

START_TEST(bad_feed_queries_are_refused_naming_the_parameter)
{
	struct tenant t;
	tenant_make(&t);
	static const char *const bad[][2] = {
		{ "?type=object.exploded", "type" },
		{ "?type=9lives.*", "type" },
		{ "?type=.*", "type" },
		{ "?event_type=has%20space", "event_type" },
		{ "?created_after=yesterday", "created_after" },
		{ "?created_before=2026-13-01T00:00:00Z", "created_before" },
		{ "?cursor=not-a-cursor", "cursor" },
		{ "?limit=0", "limit" },
		{ "?limit=101", "limit" },
		{ "?offset=-1", "offset" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp *r = call("GET", t.key, NULL, "/v1/events/list%s", bad[i][0]);
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i][1]);
		http_free(r);
	}
	tenant_drop(&t);
}
END_TEST

START_TEST(numbers_in_custom_event_data_are_kept_exactly_or_refused)
{
	struct tenant t;
	tenant_make(&t);
	static const char *const bad[][2] = {
		{ "{\"event_type\":\"e\",\"data\":{\"n\":9007199254740993}}", "data.n" },
		{ "{\"event_type\":\"e\",\"data\":{\"a\":[1,{\"b\":-12345678901234567890}]}}", "data.a[1].b" },
		{ "{\"event_type\":\"e\",\"data\":{\"x\":1e400}}", "data.x" },
		{ "{\"event_type\":\"e\",\"data\":{\"s\":\"9007199254740993\",\"p\":0.1000000000000000000001}}", "data.p" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp *r = call("POST", t.key, bad[i][0], "/v1/events");
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i][1]);
		http_free(r);
	}
	ck_assert_int_eq(feed_total(t.key, ""), 0);
	ck_assert_int_eq(outbox_count(t.id), 0);

	http_resp *r = call("POST", t.key,
		"{\"event_type\":\"exact\",\"data\":{\"max\":9007199254740991,\"min\":-9007199254740991,"
		"\"f\":0.30000000000000004,\"big\":1e300,\"s\":\"9007199254740993\",\"z\":0}}", "/v1/events");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = feed(t.key, "?type=custom.exact");
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 1);
	static const char *const kept[] = { "\"max\":9007199254740991", "\"min\":-9007199254740991",
					    "\"f\":0.30000000000000004", "\"s\":\"9007199254740993\"" };
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		ck_assert_msg(strstr(r->body, kept[i]), "%s not in %s", kept[i], r->body);
	http_free(r);
	/* What the fan-out reads (and webhooks receive) is the same text. */
	char *sql = strf("SELECT JSON_EXTRACT(payload, '$.max') FROM outbox WHERE tenant_id = '%s'", t.id);
	char *v = control_sql(sql);
	ck_assert_str_eq(v, "9007199254740991");
	free(v);
	free(sql);
	tenant_drop(&t);
}
END_TEST

START_TEST(catalogue_documents_every_type_with_an_example)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *plain = call("GET", t.key, NULL, "/events/types");
	assert_envelope(plain, 200, NULL);
	http_resp *r = call("GET", t.key, NULL, "/events/types?details=true");
	assert_envelope(r, 200, NULL);
	const cJSON *e;
	cJSON_ArrayForEach(e, resp_data(plain)) {
		ck_assert(cJSON_IsString(e));
		if (!strcmp(e->valuestring, "*") || !strcmp(e->valuestring, "custom.*"))
			continue;
		const cJSON *doc = find_by(resp_data(r), "type", e->valuestring);
		ck_assert_msg(doc != NULL, "%s is not documented", e->valuestring);
		ck_assert(cJSON_IsObject(item(doc, "example")));
		ck_assert(cJSON_IsTrue(item(doc, "subscribable")));
		ck_assert(json_str(doc, "description") && json_str(doc, "resource_type"));
	}
	const cJSON *custom = find_by(resp_data(r), "type", "custom.<event_type>");
	ck_assert_ptr_nonnull(custom);
	ck_assert_str_eq(json_str(custom, "resource_type"), "custom_event");
	const cJSON *test = find_by(resp_data(r), "type", "webhook.test");
	ck_assert_ptr_nonnull(test);
	ck_assert(cJSON_IsFalse(item(test, "subscribable")));
	const cJSON *created = find_by(resp_data(r), "type", "object.created");
	ck_assert_str_eq(json_str(item(created, "example"), "object_type"), "contacts");
	http_free(r);
	http_free(plain);
	r = call("GET", t.key, NULL, "/events/types?details=yes");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "details");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

Suite *suite_events(void)
{
	Suite *s = suite_create("events");
	TCase *tc = tcase_create("events");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, feed_lists_every_event_newest_first_with_filters);
	tcase_add_test(tc, feed_shows_a_key_the_groups_its_scopes_cover_and_no_other_tenant);
	tcase_add_test(tc, bad_feed_queries_are_refused_naming_the_parameter);
	tcase_add_test(tc, numbers_in_custom_event_data_are_kept_exactly_or_refused);
	tcase_add_test(tc, catalogue_documents_every_type_with_an_example);
	suite_add_tcase(s, tc);
	return s;
}
