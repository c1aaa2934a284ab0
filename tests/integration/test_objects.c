/*
 * test_objects.c - objects end to end through nginx → FastCGI → MariaDB:
 * create with every data type's validator, unique and required
 * properties, get, merge updates with optimistic concurrency, version
 * history, soft delete / trash / restore / permanent delete, lists (limit,
 * sort, every filter operator, keyset cursors while objects are inserted),
 * batches, the outbox event each change writes, tenant isolation and who
 * may call these endpoints.  Each test makes its own tenant, object types
 * and properties through the API.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

/* ------------------------------------------------------------ helpers */

static char *url_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *copy = strdup(e);
	curl_free(e);
	return copy;
}

/* A 400 VALIDATION_ERROR whose details.field starts with `prefix`. */
static void assert_invalid_prefix(const http_resp *r, const char *prefix)
{
	assert_envelope(r, 400, "VALIDATION_ERROR");
	const char *f = detail_field(r);
	ck_assert_msg(f && strncmp(f, prefix, strlen(prefix)) == 0, "want details.field %s…: %s", prefix,
		      r->body);
}

/* The object as GET shows it (caller frees), or NULL after a 404. */
static cJSON *obj_fetch(const char *key, const char *type, const char *id)
{
	http_resp *r = call("GET", key, NULL, "/v1/objects/%s/%s", type, id);
	cJSON *d = NULL;
	if (r->status == 404) {
		assert_envelope(r, 404, "NOT_FOUND");
	} else {
		assert_envelope(r, 200, NULL);
		d = cJSON_Duplicate(resp_data(r), 1);
	}
	http_free(r);
	return d;
}

static long long num_of(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", name);
	return (long long)v->valuedouble;
}

/* Asserts obj.properties[name] is the JSON value want (NULL: absent). */
static void assert_prop(const cJSON *obj, const char *name, const char *want)
{
	const cJSON *got = prop_of(obj, name);
	char *text = got ? cJSON_PrintUnformatted(got) : strdup("(absent)");
	if (!want) {
		ck_assert_msg(got == NULL, "properties.%s should be absent, is %s", name, text);
	} else {
		cJSON *w = cJSON_Parse(want);
		ck_assert_msg(w != NULL, "bad expectation %s", want);
		ck_assert_msg(got && cJSON_Compare(w, got, 1), "properties.%s: want %s, got %s", name, want, text);
		cJSON_Delete(w);
	}
	free(text);
}

/* Asserts obj.properties[name] is the instant utc ("2026-01-02T03:04:05"
 * or with a fraction) in UTC with a Z; zeros may pad the fraction. */
static void assert_instant(const cJSON *obj, const char *name, const char *utc)
{
	const cJSON *v = prop_of(obj, name);
	ck_assert_msg(cJSON_IsString(v), "properties.%s is not a string", name);
	const char *s = v->valuestring;
	size_t n = strlen(utc), len = strlen(s);
	ck_assert_msg(len > n && !strncmp(s, utc, n) && s[len - 1] == 'Z' && strspn(s + n, "0.") == len - n - 1,
		      "properties.%s is %s, want %sZ", name, s, utc);
}

/* GET …/list (or …/trash) with a query string; returns data (caller frees). */
static cJSON *list_of(const char *key, const char *type, const char *what, const char *query)
{
	http_resp *r = call("GET", key, NULL, "/v1/objects/%s/%s%s%s", type, what, query ? "?" : "",
			    query ? query : "");
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_msg(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d, "results")), "no results: %s", r->body);
	ck_assert_msg(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(d, "total")), "no total: %s", r->body);
	cJSON *copy = cJSON_Duplicate(d, 1);
	http_free(r);
	return copy;
}

static const cJSON *results_of(const cJSON *list)
{
	return cJSON_GetObjectItemCaseSensitive(list, "results");
}

static long long total_of(const char *key, const char *type)
{
	cJSON *l = list_of(key, type, "list", NULL);
	long long n = num_of(l, "total");
	cJSON_Delete(l);
	return n;
}

/* Appends text to the malloc'd string *s, with a comma unless *s is empty. */
static void join_add(char **s, const char *text)
{
	char *n = strf("%s%s%s", *s, **s ? "," : "", text);
	free(*s);
	*s = n;
}

/* Property `prop` of each result (ids when prop is NULL), comma-joined in
 * the order returned, "-" for an object without it (malloc'd). */
static char *joined(const cJSON *results, const char *prop)
{
	char *s = strdup("");
	const cJSON *it;
	cJSON_ArrayForEach(it, results) {
		const cJSON *v = prop ? prop_of(it, prop) : cJSON_GetObjectItemCaseSensitive(it, "id");
		char num[32];
		const char *text = "-";
		if (cJSON_IsString(v)) {
			text = v->valuestring;
		} else if (cJSON_IsNumber(v)) {
			snprintf(num, sizeof(num), "%g", v->valuedouble);
			text = num;
		}
		join_add(&s, text);
	}
	return s;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The same, sorted: a set of names. */
static char *joined_sorted(const cJSON *results, const char *prop)
{
	char *s = joined(results, prop);
	char *parts[128], *save = NULL;
	int n = 0;
	for (char *tok = strtok_r(s, ",", &save); tok && n < 128; tok = strtok_r(NULL, ",", &save))
		parts[n++] = tok;
	qsort(parts, (size_t)n, sizeof(parts[0]), cmp_str);
	char *out = strdup("");
	for (int i = 0; i < n; i++)
		join_add(&out, parts[i]);
	free(s);
	return out;
}

/* ------------------------------------------------------------ create */

START_TEST(create_returns_the_whole_object)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *type_id = type_make(t.key, "contacts");
	prop_make(t.key, "contacts", "{\"name\":\"name\",\"data_type\":\"string\"}");
	prop_make(t.key, "contacts", "{\"name\":\"age\",\"data_type\":\"integer\"}");
	http_resp *r = obj_create(t.key, "contacts", "{\"name\":\"Ada\",\"age\":36}");
	assert_envelope(r, 201, NULL);
	const cJSON *d = resp_data(r);
	const char *id = json_str(d, "id");
	ck_assert_msg(id && strncmp(id, "obj_", 4) == 0 && strlen(id) == 30, "id: %s", r->body);
	ck_assert_str_eq(json_str(d, "object_type_id"), type_id);
	ck_assert_str_eq(json_str(d, "object_type"), "contacts");
	ck_assert_str_eq(json_str(d, "tenant_id"), t.id);
	assert_prop(d, "name", "\"Ada\"");
	assert_prop(d, "age", "36");
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "properties")), 2);
	ck_assert_msg(is_utc_time(json_str(d, "created_at")), "created_at: %s", r->body);
	ck_assert_msg(is_utc_time(json_str(d, "updated_at")), "updated_at: %s", r->body);
	ck_assert_str_eq(json_str(d, "created_by"), t.key_id);
	ck_assert_int_eq(num_of(d, "version"), 1);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(d, "is_deleted")));

	/* GET shows the same object. */
	cJSON *g = obj_fetch(t.key, "contacts", id);
	ck_assert_ptr_nonnull(g);
	ck_assert_msg(cJSON_Compare(g, d, 1), "GET differs from the create response: %s", r->body);
	cJSON_Delete(g);
	http_free(r);
	free(type_id);
	tenant_drop(&t);
}
END_TEST

START_TEST(create_by_type_id_or_name)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *type_id = type_make(t.key, "deals");
	prop_make(t.key, "deals", "{\"name\":\"title\",\"data_type\":\"string\"}");
	char *a = obj_make(t.key, type_id, "{\"title\":\"by id\"}");
	char *b = obj_make(t.key, "deals", "{\"title\":\"by name\"}");
	/* Either spelling of the type reaches the same objects. */
	cJSON *ga = obj_fetch(t.key, "deals", a), *gb = obj_fetch(t.key, type_id, b);
	ck_assert_ptr_nonnull(ga);
	ck_assert_ptr_nonnull(gb);
	ck_assert_str_eq(json_str(ga, "object_type_id"), type_id);
	ck_assert_str_eq(json_str(gb, "object_type"), "deals");
	assert_prop(ga, "title", "\"by id\"");
	assert_prop(gb, "title", "\"by name\"");
	ck_assert_int_eq(total_of(t.key, type_id), 2);

	/* Unknown types, by name and by id. */
	http_resp *r = obj_create(t.key, "nosuchtype", "{}");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = obj_create(t.key, "ot_01ARZ3NDEKTSV4RRFFQ69G5FAV", "{}");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* The server sets the version. */
	r = call("POST", t.key, "{\"properties\":{},\"version\":7}", "/v1/objects/deals");
	assert_invalid(r, "version");
	http_free(r);
	ck_assert_int_eq(total_of(t.key, "deals"), 2);
	cJSON_Delete(ga);
	cJSON_Delete(gb);
	free(a);
	free(b);
	free(type_id);
	tenant_drop(&t);
}
END_TEST

/* One row per data type: a value it accepts and what is stored, and
 * values it refuses.  "$REF" stands for an existing object's id. */
static const struct dtcase {
	const char *type;
	const char *extra;      /* more of the property's body */
	const char *valid;
	const char *stored;     /* NULL: the same as valid; for datetime the UTC instant */
	const char *invalid[6];
} dtcases[] = {
	{ "string", "", "\"hello, world\"", NULL, { "42", "true", "[\"a\"]", "{}", NULL } },
	{ "text", "", "\"line one\\nline two\"", NULL, { "1", "false", "[]", NULL } },
	{ "rich_text", "", "\"<p>Hi <b>there</b></p>\"", NULL, { "3.5", "{\"html\":\"x\"}", NULL } },
	{ "integer", "", "-42", NULL, { "1.5", "\"42\"", "1e300", "true", NULL } },
	{ "number", "", "3.25", NULL, { "\"3.25\"", "true", "[1]", NULL } },
	{ "decimal", "", "\"1234.5678\"", NULL,
	  { "1e400", "\"1.23456\"", "\"12,50\"", "\"1.\"", "\"abc\"", NULL } },
	{ "currency", "", "\"19.99\"", NULL, { "1e400", "\"1.23456\"", "\"$5\"", "true", NULL } },
	{ "percent", "", "12.5", NULL, { "\"50%\"", "false", NULL } },
	{ "boolean", "", "true", NULL, { "\"true\"", "1", "0", NULL } },
	{ "date", "", "\"2028-02-29\"", NULL,
	  { "\"2026-02-30\"", "\"2026-13-01\"", "\"26-01-01\"", "\"2026-01-01T00:00:00Z\"", "20260101", NULL } },
	{ "datetime", "", "\"2026-03-01T10:00:00+02:00\"", "2026-03-01T08:00:00",
	  { "\"2026-03-01T10:00:00\"", "\"2026-02-30T10:00:00Z\"", "\"yesterday\"", "1767225600", NULL } },
	{ "time", "", "\"14:30:15\"", NULL, { "\"25:00\"", "\"14:60\"", "\"2pm\"", "1430", NULL } },
	{ "email", "", "\"ann@example.com\"", NULL,
	  { "\"ann@\"", "\"ann.example.com\"", "\"a b@example.com\"", "\"ann@@example.com\"", "7", NULL } },
	{ "url", "", "\"https://example.com/a?b=c\"", NULL,
	  { "\"ftp://example.com/f\"", "\"example.com\"", "\"http://\"", "\"javascript:alert(1)\"", NULL } },
	{ "phone", "", "\"+14155550123\"", NULL,
	  { "\"4155550123\"", "\"+0123456\"", "\"+1 415 555 0123\"", "\"+1234567890123456\"", "14155550123",
	    NULL } },
	{ "enum", ",\"enum_values\":[\"red\",\"green\"]", "\"green\"", NULL,
	  { "\"blue\"", "\"Red\"", "[\"red\"]", NULL } },
	{ "multi_enum", ",\"enum_values\":[\"red\",\"green\"]", "[\"red\",\"green\"]", NULL,
	  { "[\"red\",\"red\"]", "[\"blue\"]", "\"red\"", "[1]", NULL } },
	/* Any JSON value is a json value: nothing to refuse. */
	{ "json", "", "{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", NULL, { NULL } },
	{ "array", "", "[1,\"two\",{\"three\":3}]", NULL, { "{\"a\":1}", "\"[]\"", "5", NULL } },
	{ "reference", "", "\"$REF\"", NULL,
	  { "\"obj_nope\"", "\"obj_01ARZ3NDEKTSV4RRFFQ69G5FAV\"", "42", "\"ot_01ARZ3NDEKTSV4RRFFQ69G5FAV\"",
	    NULL } },
	/* A file value must be a ready file of the tenant ("$FILE"). */
	{ "file", "", "\"$FILE\"", NULL,
	  { "\"file_01ARZ3NDEKTSV4RRFFQ69G5FAV\"", "\"obj_01ARZ3NDEKTSV4RRFFQ69G5FAV\"", "1", NULL } },
	{ "geo_point", "", "{\"lat\":52.52,\"lng\":13.405}", NULL,
	  { "{\"lat\":91,\"lng\":0}", "{\"lat\":0,\"lng\":-181}", "[52.5,13.4]", "{\"lat\":\"52\",\"lng\":13}",
	    "{\"lat\":1}", NULL } },
};

#define NDTCASES (sizeof(dtcases) / sizeof(dtcases[0]))

/* A type "everything" with one property v_<type> per data type, and an
 * object to refer to; returns that object's id. */
static char *everything_make(const char *key)
{
	free(type_make(key, "everything"));
	for (size_t i = 0; i < NDTCASES; i++) {
		char *body = strf("{\"name\":\"v_%s\",\"data_type\":\"%s\"%s}", dtcases[i].type, dtcases[i].type,
				  dtcases[i].extra);
		prop_make(key, "everything", body);
		free(body);
	}
	return obj_make(key, "everything", "{}");
}

/* json with "$REF" replaced by an object's id and "$FILE" by a file's. */
static char *with_ref(const char *key, const char *json, const char *ref)
{
	static char *file_id;
	static char file_key[128];
	const char *at = strstr(json, "$REF");
	if (at)
		return strf("%.*s%s%s", (int)(at - json), json, ref, at + 4);
	if ((at = strstr(json, "$FILE"))) {
		/* one file per test tenant, uploaded by the tenant that uses it */
		if (!file_id || strcmp(file_key, key)) {
			free(file_id);
			file_id = file_upload_text(key, "attachment.txt", "a file for a file property");
			snprintf(file_key, sizeof(file_key), "%s", key);
		}
		return strf("%.*s%s%s", (int)(at - json), json, file_id, at + 5);
	}
	return strdup(json);
}

START_TEST(each_data_type_accepts_a_valid_value)
{
	ck_assert_int_eq(NDTCASES, 22);
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *target = everything_make(t.key);
	for (size_t i = 0; i < NDTCASES; i++) {
		const struct dtcase *c = &dtcases[i];
		char *valid = with_ref(t.key, c->valid, target);
		char *stored = with_ref(t.key, c->stored ? c->stored : c->valid, target);
		char *name = strf("v_%s", c->type);
		char *props = strf("{\"%s\":%s}", name, valid);
		http_resp *r = obj_create(t.key, "everything", props);
		ck_assert_msg(r->status == 201, "%s %s: %ld %s", c->type, valid, r->status, r->body);
		/* ...and GET returns what was stored. */
		cJSON *g = obj_fetch(t.key, "everything", json_str(resp_data(r), "id"));
		ck_assert_ptr_nonnull(g);
		if (!strcmp(c->type, "datetime")) {
			assert_instant(resp_data(r), name, stored);
			assert_instant(g, name, stored);
		} else {
			assert_prop(resp_data(r), name, stored);
			assert_prop(g, name, stored);
		}
		cJSON_Delete(g);
		http_free(r);
		free(valid);
		free(stored);
		free(name);
		free(props);
	}
	ck_assert_int_eq(total_of(t.key, "everything"), 1 + NDTCASES);
	free(target);
	tenant_drop(&t);
}
END_TEST

START_TEST(each_data_type_rejects_an_invalid_value)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	free(everything_make(t.key));
	int tried = 0;
	for (size_t i = 0; i < NDTCASES; i++) {
		const struct dtcase *c = &dtcases[i];
		char *field = strf("properties.v_%s", c->type);
		for (const char *const *bad = c->invalid; *bad; bad++, tried++) {
			char *props = strf("{\"v_%s\":%s}", c->type, *bad);
			http_resp *r = obj_create(t.key, "everything", props);
			ck_assert_msg(r->status == 400, "%s accepted %s: %ld %s", c->type, *bad, r->status, r->body);
			assert_invalid(r, field);
			http_free(r);
			free(props);
		}
		free(field);
	}
	ck_assert_int_ge(tried, 70);
	/* Nothing but the reference target was created. */
	ck_assert_int_eq(total_of(t.key, "everything"), 1);
	tenant_drop(&t);
}
END_TEST

START_TEST(string_length_counts_characters)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	free(type_make(t.key, "notes"));
	prop_make(t.key, "notes", "{\"name\":\"title\",\"data_type\":\"string\"}");
	/* 255 two-byte characters fit a string; 256 do not. */
	char ok[255 * 2 + 1] = "", *p = ok;
	for (int i = 0; i < 255; i++, p += 2)
		memcpy(p, "\xc3\xa9", 2);
	*p = '\0';
	char *props = strf("{\"title\":\"%s\"}", ok);
	char *id = obj_make(t.key, "notes", props);
	cJSON *g = obj_fetch(t.key, "notes", id);
	ck_assert_str_eq(json_str(cJSON_GetObjectItemCaseSensitive(g, "properties"), "title"), ok);
	free(props);
	props = strf("{\"title\":\"%s\\u00e9\"}", ok);
	http_resp *r = obj_create(t.key, "notes", props);
	assert_invalid(r, "properties.title");
	http_free(r);
	cJSON_Delete(g);
	free(props);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(decimal_and_currency_keep_exact_text)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	free(type_make(t.key, "invoices"));
	prop_make(t.key, "invoices", "{\"name\":\"amount\",\"data_type\":\"currency\"}");
	prop_make(t.key, "invoices", "{\"name\":\"rate\",\"data_type\":\"decimal\"}");
	/* Stored as text, never as a binary float. */
	char *id = obj_make(t.key, "invoices", "{\"amount\":\"12.50\",\"rate\":\"123456789012345.1234\"}");
	cJSON *g = obj_fetch(t.key, "invoices", id);
	const cJSON *amount = prop_of(g, "amount");
	ck_assert_msg(cJSON_IsString(amount) && (!strcmp(amount->valuestring, "12.50") ||
						 !strcmp(amount->valuestring, "12.5")),
		      "amount 12.50 stored as %s", cJSON_PrintUnformatted(amount));
	assert_prop(g, "rate", "\"123456789012345.1234\"");
	cJSON_Delete(g);
	free(id);
	/* Sums that binary floats get wrong stay exact. */
	id = obj_make(t.key, "invoices", "{\"amount\":\"0.1\",\"rate\":\"-0.3\"}");
	g = obj_fetch(t.key, "invoices", id);
	assert_prop(g, "amount", "\"0.1\"");
	assert_prop(g, "rate", "\"-0.3\"");
	cJSON_Delete(g);
	free(id);

	const char *bad[] = { "1e400", "\"1.23456\"", "\"1234567890123456\"", "\"\"", "\"-\"", "\"1e5\"",
			      "\" 1.5\"", NULL };
	for (const char **b = bad; *b; b++) {
		char *props = strf("{\"amount\":%s}", *b);
		http_resp *r = obj_create(t.key, "invoices", props);
		ck_assert_msg(r->status == 400, "currency accepted %s: %s", *b, r->body);
		assert_invalid(r, "properties.amount");
		http_free(r);
		free(props);
	}
	ck_assert_int_eq(total_of(t.key, "invoices"), 2);
	tenant_drop(&t);
}
END_TEST

/* Asserts that the raw body holds "name":text (numbers exactly as sent). */
static void assert_raw(const http_resp *r, const char *name, const char *text)
{
	char *want = strf("\"%s\":%s", name, text);
	ck_assert_msg(strstr(r->body, want) != NULL, "want %s in %s", want, r->body);
	free(want);
}

START_TEST(numbers_keep_every_digit)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	free(type_make(t.key, "measures"));
	prop_make(t.key, "measures", "{\"name\":\"big\",\"data_type\":\"integer\"}");
	prop_make(t.key, "measures", "{\"name\":\"x\",\"data_type\":\"number\",\"is_sortable\":true}");
	prop_make(t.key, "measures", "{\"name\":\"note\",\"data_type\":\"string\"}");
	static const struct {
		const char *big, *x;
	} cases[] = {
		{ "1000000000000000", "0.30000000000000004" },
		{ "9007199254740991", "0.3" },
		{ "-9007199254740991", "1.0000000000000002" },
		{ "123456789012345", "1e+300" },
	};
	char *ids[4];
	for (int i = 0; i < 4; i++) {
		char *props = strf("{\"big\":%s,\"x\":%s}", cases[i].big, cases[i].x);
		http_resp *r = obj_create(t.key, "measures", props);
		assert_envelope(r, 201, NULL);
		assert_raw(r, "big", cases[i].big);
		assert_raw(r, "x", cases[i].x);
		ids[i] = strdup(json_str(resp_data(r), "id"));
		http_free(r);
		free(props);
		/* Rewriting the object for another property keeps them. */
		r = call("PATCH", t.key, "{\"properties\":{\"note\":\"n\"}}", "/v1/objects/measures/%s", ids[i]);
		assert_envelope(r, 200, NULL);
		assert_raw(r, "big", cases[i].big);
		assert_raw(r, "x", cases[i].x);
		http_free(r);
		r = call("GET", t.key, NULL, "/v1/objects/measures/%s/versions", ids[i]);
		assert_envelope(r, 200, NULL);
		assert_raw(r, "big", cases[i].big);
		http_free(r);
		char *f = strf("[{\"property\":\"big\",\"operator\":\"eq\",\"value\":%s}]", cases[i].big);
		char *esc = url_escape(f);
		r = call("GET", t.key, NULL, "/v1/objects/measures/list?filter=%s", esc);
		assert_envelope(r, 200, NULL);
		ck_assert_int_eq(num_of(resp_data(r), "total"), 1);
		http_free(r);
		free(esc);
		free(f);
	}
	/* Paging one by one on x tells 0.3 from 0.30000000000000004. */
	const char *order[] = { ids[1], ids[0], ids[2], ids[3] };
	char *cursor = NULL;
	for (int i = 0; i < 4; i++) {
		char *esc = cursor ? url_escape(cursor) : strdup("");
		http_resp *r = call("GET", t.key, NULL, "/v1/objects/measures/list?sort=x&order=asc&limit=1&cursor=%s",
				    esc);
		assert_envelope(r, 200, NULL);
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(resp_data(r), "results");
		ck_assert_int_eq(cJSON_GetArraySize(res), 1);
		ck_assert_msg(!strcmp(json_str(cJSON_GetArrayItem(res, 0), "id"), order[i]), "page %d: %s", i, r->body);
		free(cursor);
		const char *next = json_str(resp_data(r), "next_cursor");
		cursor = next ? strdup(next) : NULL;
		ck_assert_msg((cursor != NULL) == (i < 3), "page %d next_cursor: %s", i, r->body);
		http_free(r);
		free(esc);
	}
	for (int i = 0; i < 4; i++)
		free(ids[i]);
	tenant_drop(&t);
}
END_TEST

START_TEST(datetime_is_normalised_to_utc)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	free(type_make(t.key, "events"));
	prop_make(t.key, "events", "{\"name\":\"at\",\"data_type\":\"datetime\"}");
	prop_make(t.key, "events", "{\"name\":\"day\",\"data_type\":\"date\"}");
	prop_make(t.key, "events", "{\"name\":\"starts\",\"data_type\":\"time\"}");
	static const struct {
		const char *in, *utc;
	} cases[] = {
		{ "2026-03-01T01:30:00+02:00", "2026-02-28T23:30:00" },
		{ "2026-12-31T22:15:00-05:00", "2027-01-01T03:15:00" },
		{ "2026-06-01T12:00:00Z", "2026-06-01T12:00:00" },
		{ "2026-06-01T12:00:00.250+00:00", "2026-06-01T12:00:00.25" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *props = strf("{\"at\":\"%s\"}", cases[i].in);
		char *id = obj_make(t.key, "events", props);
		cJSON *g = obj_fetch(t.key, "events", id);
		assert_instant(g, "at", cases[i].utc);
		cJSON_Delete(g);
		free(props);
		free(id);
	}
	char *id = obj_make(t.key, "events", "{\"day\":\"2028-02-29\",\"starts\":\"09:05:00\"}");
	free(id);
	const char *bad[] = { "{\"day\":\"2026-02-30\"}", "{\"day\":\"2027-02-29\"}", "{\"day\":\"2026-04-31\"}",
			      "{\"starts\":\"24:00:00\"}", "{\"at\":\"2026-02-29T00:00:00Z\"}",
			      "{\"at\":\"2026-01-01 00:00:00\"}", NULL };
	for (const char **b = bad; *b; b++) {
		http_resp *r = obj_create(t.key, "events", *b);
		ck_assert_msg(r->status == 400, "accepted %s: %s", *b, r->body);
		assert_invalid_prefix(r, "properties.");
		http_free(r);
	}
	tenant_drop(&t);
}
END_TEST

START_TEST(reference_must_be_an_object_of_this_tenant)
{
	struct tenant a, b;
	tenant_make_keyed(&a, "pro");
	tenant_make_keyed(&b, "pro");
	const char *keys[] = { a.key, b.key };
	for (int i = 0; i < 2; i++) {
		free(type_make(keys[i], "companies"));
		prop_make(keys[i], "companies", "{\"name\":\"name\",\"data_type\":\"string\"}");
		free(type_make(keys[i], "people"));
		prop_make(keys[i], "people", "{\"name\":\"employer\",\"data_type\":\"reference\"}");
	}
	char *acme = obj_make(a.key, "companies", "{\"name\":\"Acme\"}");
	char *other = obj_make(b.key, "companies", "{\"name\":\"Other\"}");
	char *props = strf("{\"employer\":\"%s\"}", acme);
	char *p = obj_make(a.key, "people", props);
	cJSON *g = obj_fetch(a.key, "people", p);
	ck_assert_str_eq(json_str(cJSON_GetObjectItemCaseSensitive(g, "properties"), "employer"), acme);
	cJSON_Delete(g);
	free(props);

	/* A well-formed id of nothing, and another tenant's object. */
	props = strf("{\"employer\":\"%s\"}", "obj_01ARZ3NDEKTSV4RRFFQ69G5FAV");
	http_resp *r = obj_create(a.key, "people", props);
	assert_invalid(r, "properties.employer");
	http_free(r);
	free(props);
	props = strf("{\"employer\":\"%s\"}", other);
	r = obj_create(a.key, "people", props);
	assert_invalid(r, "properties.employer");
	ck_assert_msg(!strstr(r->body, "Other"), "leaks the other tenant's object: %s", r->body);
	http_free(r);
	/* The same through PATCH. */
	char *body = strf("{\"properties\":%s}", props);
	r = call("PATCH", a.key, body, "/v1/objects/people/%s", p);
	assert_invalid(r, "properties.employer");
	http_free(r);
	ck_assert_int_eq(total_of(a.key, "people"), 1);
	free(body);
	free(props);
	free(p);
	free(acme);
	free(other);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

START_TEST(unknown_and_missing_properties_are_rejected)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	free(type_make(t.key, "tickets"));
	prop_make(t.key, "tickets", "{\"name\":\"subject\",\"data_type\":\"string\",\"is_required\":true}");
	prop_make(t.key, "tickets", "{\"name\":\"status\",\"data_type\":\"enum\",\"enum_values\":[\"new\",\"open\"],"
				    "\"default_value\":\"new\"}");
	prop_make(t.key, "tickets", "{\"name\":\"priority\",\"data_type\":\"integer\",\"default_value\":3}");

	http_resp *r = obj_create(t.key, "tickets", "{\"subject\":\"x\",\"colour\":\"red\"}");
	assert_invalid(r, "properties.colour");
	ck_assert_msg(strstr(error_message(r), "colour") != NULL, "message does not name it: %s", r->body);
	http_free(r);
	r = obj_create(t.key, "tickets", "{\"status\":\"open\"}");
	assert_invalid(r, "properties.subject");
	http_free(r);
	r = obj_create(t.key, "tickets", "{\"subject\":null}");
	assert_invalid(r, "properties.subject");
	http_free(r);
	r = call("POST", t.key, "{}", "/v1/objects/tickets");
	assert_invalid(r, "properties.subject");
	http_free(r);
	r = call("POST", t.key, "{\"properties\":[1]}", "/v1/objects/tickets");
	assert_invalid(r, "properties");
	http_free(r);
	ck_assert_int_eq(total_of(t.key, "tickets"), 0);

	/* Defaults fill what is missing; given values win. */
	char *id = obj_make(t.key, "tickets", "{\"subject\":\"printer\"}");
	cJSON *g = obj_fetch(t.key, "tickets", id);
	assert_prop(g, "status", "\"new\"");
	assert_prop(g, "priority", "3");
	cJSON_Delete(g);
	free(id);
	id = obj_make(t.key, "tickets", "{\"subject\":\"fax\",\"status\":\"open\",\"priority\":1}");
	g = obj_fetch(t.key, "tickets", id);
	assert_prop(g, "status", "\"open\"");
	assert_prop(g, "priority", "1");
	cJSON_Delete(g);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(unique_property_conflicts_among_live_objects)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	free(type_make(t.key, "users"));
	prop_make(t.key, "users", "{\"name\":\"email\",\"data_type\":\"email\",\"is_unique\":true}");
	prop_make(t.key, "users", "{\"name\":\"nick\",\"data_type\":\"string\"}");
	char *a = obj_make(t.key, "users", "{\"email\":\"a@example.com\",\"nick\":\"a\"}");
	http_resp *r = obj_create(t.key, "users", "{\"email\":\"a@example.com\",\"nick\":\"b\"}");
	assert_fail_field(r, 409, "CONFLICT", "properties.email");
	http_free(r);
	ck_assert_int_eq(total_of(t.key, "users"), 1);
	/* Objects without the property do not collide. */
	free(obj_make(t.key, "users", "{\"nick\":\"c\"}"));
	free(obj_make(t.key, "users", "{\"nick\":\"d\"}"));
	/* Nor may an update take a value someone has. */
	char *b = obj_make(t.key, "users", "{\"email\":\"b@example.com\"}");
	r = call("PATCH", t.key, "{\"properties\":{\"email\":\"a@example.com\"}}", "/v1/objects/users/%s", b);
	assert_fail_field(r, 409, "CONFLICT", "properties.email");
	http_free(r);
	cJSON *g = obj_fetch(t.key, "users", b);
	assert_prop(g, "email", "\"b@example.com\"");
	ck_assert_int_eq(num_of(g, "version"), 1);
	cJSON_Delete(g);

	/* A soft-deleted object no longer holds its value... */
	r = call("DELETE", t.key, NULL, "/v1/objects/users/%s", a);
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *c = obj_make(t.key, "users", "{\"email\":\"a@example.com\"}");
	/* ...and cannot come back while another object holds it. */
	r = call("POST", t.key, NULL, "/v1/objects/users/%s/restore", a);
	assert_fail_field(r, 409, "CONFLICT", "properties.email");
	http_free(r);
	cJSON *trash = list_of(t.key, "users", "trash", NULL);
	ck_assert_int_eq(num_of(trash, "total"), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(results_of(trash), 0), "id"), a);
	cJSON_Delete(trash);
	/* Once the value is free again, the restore works. */
	r = call("PATCH", t.key, "{\"properties\":{\"email\":\"c@example.com\"}}", "/v1/objects/users/%s", c);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/objects/users/%s/restore", a);
	assert_envelope(r, 200, NULL);
	assert_prop(resp_data(r), "email", "\"a@example.com\"");
	http_free(r);
	free(a);
	free(b);
	free(c);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ get, isolation */

START_TEST(get_unknown_or_other_type_is_404)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	free(type_make(t.key, "apples"));
	free(type_make(t.key, "pears"));
	char *a = obj_make(t.key, "apples", "{}");
	const char *missing[] = { "obj_01ARZ3NDEKTSV4RRFFQ69G5FAV", "nothing", "obj_", NULL };
	for (const char **m = missing; *m; m++) {
		http_resp *r = call("GET", t.key, NULL, "/v1/objects/apples/%s", *m);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	/* An apple is not a pear. */
	http_resp *r = call("GET", t.key, NULL, "/v1/objects/pears/%s", a);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/plums/%s", a);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(a);
	tenant_drop(&t);
}
END_TEST

START_TEST(other_tenant_cannot_touch_objects)
{
	struct tenant a, b;
	tenant_make_keyed(&a, "pro");
	tenant_make_keyed(&b, "pro");
	char *a_type = type_make(a.key, "contacts");
	free(type_make(b.key, "contacts"));
	prop_make(a.key, "contacts", "{\"name\":\"name\",\"data_type\":\"string\"}");
	prop_make(b.key, "contacts", "{\"name\":\"name\",\"data_type\":\"string\"}");
	char *live = obj_make(a.key, "contacts", "{\"name\":\"A live\"}");
	char *gone = obj_make(a.key, "contacts", "{\"name\":\"A trashed\"}");
	http_resp *r = call("DELETE", a.key, NULL, "/v1/objects/contacts/%s", gone);
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *mine = obj_make(b.key, "contacts", "{\"name\":\"B own\"}");

	const char *ids[] = { live, gone };
	for (int i = 0; i < 2; i++) {
		const char *id = ids[i];
		r = call("GET", b.key, NULL, "/v1/objects/contacts/%s", id);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("PATCH", b.key, "{\"properties\":{\"name\":\"B was here\"}}", "/v1/objects/contacts/%s", id);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("DELETE", b.key, NULL, "/v1/objects/contacts/%s", id);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("DELETE", b.key, NULL, "/v1/objects/contacts/%s?force=true", id);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("POST", b.key, NULL, "/v1/objects/contacts/%s/restore", id);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("GET", b.key, NULL, "/v1/objects/contacts/%s/versions", id);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		/* A's type id means nothing to B. */
		r = call("GET", b.key, NULL, "/v1/objects/%s/%s", a_type, id);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	char *body = strf("{\"object_ids\":[\"%s\",\"%s\"]}", live, mine);
	r = call("POST", b.key, body, "/v1/objects/contacts/batch/read");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(resp_data(r), 0), "id"), mine);
	http_free(r);
	free(body);
	body = strf("{\"updates\":[{\"object_id\":\"%s\",\"properties\":{\"name\":\"x\"}}]}", live);
	r = call("POST", b.key, body, "/v1/objects/contacts/batch/update");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(body);
	r = call("GET", b.key, NULL, "/v1/objects/%s/list", a_type);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* B's lists of its own "contacts" hold only B's objects. */
	cJSON *l = list_of(b.key, "contacts", "list", NULL);
	ck_assert_int_eq(num_of(l, "total"), 1);
	char *names = joined(results_of(l), "name");
	ck_assert_str_eq(names, "B own");
	free(names);
	cJSON_Delete(l);
	l = list_of(b.key, "contacts", "trash", NULL);
	ck_assert_int_eq(num_of(l, "total"), 0);
	cJSON_Delete(l);

	/* A's objects are untouched. */
	cJSON *g = obj_fetch(a.key, "contacts", live);
	ck_assert_int_eq(num_of(g, "version"), 1);
	assert_prop(g, "name", "\"A live\"");
	cJSON_Delete(g);
	l = list_of(a.key, "contacts", "trash", NULL);
	ck_assert_int_eq(num_of(l, "total"), 1);
	cJSON_Delete(l);
	free(live);
	free(gone);
	free(mine);
	free(a_type);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/* ------------------------------------------------------------ update */

static void contacts_make(const char *key)
{
	free(type_make(key, "contacts"));
	prop_make(key, "contacts", "{\"name\":\"name\",\"data_type\":\"string\",\"is_required\":true}");
	prop_make(key, "contacts", "{\"name\":\"city\",\"data_type\":\"string\"}");
	prop_make(key, "contacts", "{\"name\":\"zip\",\"data_type\":\"string\"}");
	prop_make(key, "contacts", "{\"name\":\"score\",\"data_type\":\"integer\"}");
}

START_TEST(patch_merges_and_null_removes)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	char *id = obj_make(t.key, "contacts", "{\"name\":\"Ann\",\"city\":\"Oslo\",\"zip\":\"0150\"}");
	cJSON *before = obj_fetch(t.key, "contacts", id);
	http_resp *r = call("PATCH", t.key, "{\"properties\":{\"city\":\"Bergen\",\"score\":7}}",
			    "/v1/objects/contacts/%s", id);
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	assert_prop(d, "name", "\"Ann\"");
	assert_prop(d, "city", "\"Bergen\"");
	assert_prop(d, "zip", "\"0150\"");
	assert_prop(d, "score", "7");
	ck_assert_int_eq(num_of(d, "version"), 2);
	ck_assert_str_eq(json_str(d, "created_at"), json_str(before, "created_at"));
	ck_assert_str_eq(json_str(d, "created_by"), t.key_id);
	ck_assert_msg(strcmp(json_str(d, "updated_at"), json_str(before, "updated_at")) >= 0, "updated_at: %s",
		      r->body);
	http_free(r);

	r = call("PATCH", t.key, "{\"properties\":{\"zip\":null}}", "/v1/objects/contacts/%s", id);
	assert_envelope(r, 200, NULL);
	assert_prop(resp_data(r), "zip", NULL);
	assert_prop(resp_data(r), "city", "\"Bergen\"");
	ck_assert_int_eq(num_of(resp_data(r), "version"), 3);
	http_free(r);
	cJSON *g = obj_fetch(t.key, "contacts", id);
	assert_prop(g, "zip", NULL);
	ck_assert_int_eq(num_of(g, "version"), 3);
	cJSON_Delete(g);

	/* Failures change nothing: a required property set to null, an
	 * invalid value, an unknown property. */
	const char *bad[] = { "{\"properties\":{\"name\":null,\"city\":\"Rome\"}}",
			      "{\"properties\":{\"city\":\"Rome\",\"score\":\"high\"}}",
			      "{\"properties\":{\"city\":\"Rome\",\"nope\":1}}", NULL };
	const char *fields[] = { "properties.name", "properties.score", "properties.nope" };
	for (int i = 0; bad[i]; i++) {
		r = call("PATCH", t.key, bad[i], "/v1/objects/contacts/%s", id);
		assert_invalid(r, fields[i]);
		http_free(r);
	}
	g = obj_fetch(t.key, "contacts", id);
	ck_assert_int_eq(num_of(g, "version"), 3);
	assert_prop(g, "name", "\"Ann\"");
	assert_prop(g, "city", "\"Bergen\"");
	cJSON_Delete(g);
	r = call("PATCH", t.key, "{\"properties\":{\"city\":\"x\"}}", "/v1/objects/contacts/%s",
		 "obj_01ARZ3NDEKTSV4RRFFQ69G5FAV");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	cJSON_Delete(before);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(if_match_and_body_version_guard_updates)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	char *id = obj_make(t.key, "contacts", "{\"name\":\"v1\"}");
	/* Each spelling of the version in If-Match, when it matches. */
	const char *match[] = { "If-Match: \"1\"", "If-Match: 2", "If-Match: W/\"3\"" };
	for (int i = 0; i < 3; i++) {
		char *body = strf("{\"properties\":{\"name\":\"v%d\"}}", i + 2);
		const char *h[] = { match[i], NULL };
		http_resp *r = call_h("PATCH", t.key, body, h, "/v1/objects/contacts/%s", id);
		assert_envelope(r, 200, NULL);
		ck_assert_int_eq(num_of(resp_data(r), "version"), i + 2);
		http_free(r);
		free(body);
	}
	/* Stale versions: 409, and nothing changes. */
	const char *stale[] = { "If-Match: \"3\"", "If-Match: 1", "If-Match: W/\"2\"", "If-Match: 5" };
	for (int i = 0; i < 4; i++) {
		const char *h[] = { stale[i], NULL };
		http_resp *r = call_h("PATCH", t.key, "{\"properties\":{\"name\":\"lost\"}}", h,
				      "/v1/objects/contacts/%s", id);
		assert_envelope(r, 409, "CONFLICT");
		http_free(r);
	}
	http_resp *r = call("PATCH", t.key, "{\"properties\":{\"name\":\"lost\"},\"version\":2}",
			    "/v1/objects/contacts/%s", id);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	cJSON *g = obj_fetch(t.key, "contacts", id);
	ck_assert_int_eq(num_of(g, "version"), 4);
	assert_prop(g, "name", "\"v4\"");
	cJSON_Delete(g);
	/* The version in the body, when it matches. */
	r = call("PATCH", t.key, "{\"properties\":{\"name\":\"v5\"},\"version\":4}", "/v1/objects/contacts/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(num_of(resp_data(r), "version"), 5);
	assert_prop(resp_data(r), "name", "\"v5\"");
	http_free(r);
	/* Garbage in If-Match is refused, not ignored. */
	const char *h[] = { "If-Match: banana", NULL };
	r = call_h("PATCH", t.key, "{\"properties\":{\"name\":\"x\"}}", h, "/v1/objects/contacts/%s", id);
	ck_assert_msg(r->status == 400 || r->status == 412, "If-Match banana: %ld %s", r->status, r->body);
	http_free(r);
	g = obj_fetch(t.key, "contacts", id);
	ck_assert_int_eq(num_of(g, "version"), 5);
	cJSON_Delete(g);
	/* Only the three good updates and the body-version one left versions. */
	r = call("GET", t.key, NULL, "/v1/objects/contacts/%s/versions", id);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 4);
	http_free(r);
	free(id);
	tenant_drop(&t);
}
END_TEST

/*
 * Sends a request from n processes at once (process i sends bodies[i], or
 * no body when bodies is NULL); counts[k] gets how many
 * answered statuses[k] (the last slot counts anything else).
 */
static void in_parallel(int n, const char *method, const char *token, const char *const *bodies,
			const char *const *headers, const char *path, const long *statuses, int nstatuses,
			int *counts)
{
	pid_t pids[32];
	ck_assert_int_le(n, 32);
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			const char *body = bodies ? bodies[i] : NULL;
			http_resp *r = http_req(method, path, token, NULL, body, body ? strlen(body) : 0, headers);
			int k = 0;
			while (k < nstatuses && statuses[k] != r->status)
				k++;
			if (k == nstatuses)
				fprintf(stderr, "parallel %s %s: %ld %s\n", method, path, r->status, r->body);
			_exit(k);
		}
	}
	for (int k = 0; k <= nstatuses; k++)
		counts[k] = 0;
	for (int i = 0; i < n; i++) {
		int st;
		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		int k = WIFEXITED(st) ? WEXITSTATUS(st) : nstatuses;
		counts[k > nstatuses ? nstatuses : k]++;
	}
}

START_TEST(concurrent_updates_of_one_version_let_one_win)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	prop_make(t.key, "contacts", "{\"name\":\"email\",\"data_type\":\"email\",\"is_unique\":true}");
	char *id = obj_make(t.key, "contacts", "{\"name\":\"race\"}");
	char *path = strf("/v1/objects/contacts/%s", id);
	const char *bodies[12];
	char *owned[12];
	for (int i = 0; i < 12; i++)
		bodies[i] = owned[i] = strf("{\"properties\":{\"city\":\"c%d\"}}", i);
	const char *h[] = { "If-Match: 1", NULL };
	const long st[] = { 200, 409 };
	int counts[3];
	in_parallel(12, "PATCH", t.key, bodies, h, path, st, 2, counts);
	ck_assert_msg(counts[0] == 1 && counts[1] == 11, "%d won, %d conflicted, %d other", counts[0], counts[1],
		      counts[2]);
	cJSON *g = obj_fetch(t.key, "contacts", id);
	ck_assert_int_eq(num_of(g, "version"), 2);
	cJSON_Delete(g);
	/* Without If-Match every update lands, each on its own version. */
	in_parallel(12, "PATCH", t.key, bodies, NULL, path, st, 2, counts);
	ck_assert_msg(counts[0] == 12, "%d of 12 updates succeeded (%d other)", counts[0], counts[2]);
	g = obj_fetch(t.key, "contacts", id);
	ck_assert_int_eq(num_of(g, "version"), 14);
	cJSON_Delete(g);
	http_resp *r = call("GET", t.key, NULL, "/v1/objects/contacts/%s/versions?limit=100", id);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 13);
	http_free(r);
	/* Racing creates of one unique value: one object, the rest 409. */
	for (int i = 0; i < 12; i++) {
		free(owned[i]);
		bodies[i] = owned[i] = strf("{\"properties\":{\"name\":\"n%d\",\"email\":\"same@example.com\"}}", i);
	}
	const long cst[] = { 201, 409 };
	in_parallel(12, "POST", t.key, bodies, NULL, "/v1/objects/contacts", cst, 2, counts);
	ck_assert_msg(counts[0] == 1 && counts[1] == 11, "%d created, %d conflicted, %d other", counts[0], counts[1],
		      counts[2]);
	ck_assert_int_eq(total_of(t.key, "contacts"), 2);
	for (int i = 0; i < 12; i++)
		free(owned[i]);
	free(path);
	free(id);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ versions */

START_TEST(versions_list_previous_versions_newest_first)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	char *id = obj_make(t.key, "contacts", "{\"name\":\"n0\",\"score\":0}");
	for (int i = 1; i <= 3; i++) {
		char *body = strf("{\"properties\":{\"name\":\"n%d\",\"score\":%d}}", i, i);
		http_resp *r = call("PATCH", t.key, body, "/v1/objects/contacts/%s", id);
		assert_envelope(r, 200, NULL);
		http_free(r);
		free(body);
	}
	http_resp *r = call("GET", t.key, NULL, "/v1/objects/contacts/%s/versions", id);
	assert_envelope(r, 200, NULL);
	const cJSON *list = resp_data(r);
	ck_assert_int_eq(cJSON_GetArraySize(list), 3);
	for (int i = 0; i < 3; i++) {
		const cJSON *v = cJSON_GetArrayItem(list, i);
		/* Newest first: versions 3, 2, 1 with what they held. */
		ck_assert_int_eq(num_of(v, "version"), 3 - i);
		char *name = strf("\"n%d\"", 2 - i);
		char *score = strf("%d", 2 - i);
		assert_prop(v, "name", name);
		assert_prop(v, "score", score);
		free(name);
		free(score);
		ck_assert_msg(is_utc_time(json_str(v, "created_at")), "created_at: %s", r->body);
	}
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/contacts/%s/versions?limit=2", id);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 2);
	ck_assert_int_eq(num_of(cJSON_GetArrayItem(resp_data(r), 1), "version"), 2);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/contacts/%s/versions?limit=0", id);
	assert_invalid(r, "limit");
	http_free(r);
	/* The current object is at version 4; a new object has no history. */
	cJSON *g = obj_fetch(t.key, "contacts", id);
	ck_assert_int_eq(num_of(g, "version"), 4);
	cJSON_Delete(g);
	char *fresh = obj_make(t.key, "contacts", "{\"name\":\"new\"}");
	r = call("GET", t.key, NULL, "/v1/objects/contacts/%s/versions", fresh);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/contacts/%s/versions", "obj_01ARZ3NDEKTSV4RRFFQ69G5FAV");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(fresh);
	free(id);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ delete */

START_TEST(soft_delete_trash_and_restore)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	char *keep = obj_make(t.key, "contacts", "{\"name\":\"keep\"}");
	char *id = obj_make(t.key, "contacts", "{\"name\":\"bin me\",\"city\":\"Oslo\"}");
	http_resp *r = call("DELETE", t.key, NULL, "/v1/objects/contacts/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_data(r), "deleted")));
	http_free(r);

	ck_assert_ptr_null(obj_fetch(t.key, "contacts", id));
	cJSON *l = list_of(t.key, "contacts", "list", NULL);
	ck_assert_int_eq(num_of(l, "total"), 1);
	char *ids = joined(results_of(l), NULL);
	ck_assert_str_eq(ids, keep);
	free(ids);
	cJSON_Delete(l);
	l = list_of(t.key, "contacts", "trash", NULL);
	ck_assert_int_eq(num_of(l, "total"), 1);
	const cJSON *o = cJSON_GetArrayItem(results_of(l), 0);
	ck_assert_str_eq(json_str(o, "id"), id);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "is_deleted")));
	ck_assert_msg(is_utc_time(json_str(o, "deleted_at")), "deleted_at: %s", cJSON_PrintUnformatted(o));
	assert_prop(o, "city", "\"Oslo\"");
	cJSON_Delete(l);

	/* A trashed object cannot be deleted again or updated. */
	r = call("DELETE", t.key, NULL, "/v1/objects/contacts/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", t.key, "{\"properties\":{\"city\":\"x\"}}", "/v1/objects/contacts/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* A live object cannot be restored. */
	r = call("POST", t.key, NULL, "/v1/objects/contacts/%s/restore", keep);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	r = call("POST", t.key, NULL, "/v1/objects/contacts/%s/restore", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(resp_data(r), "is_deleted")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(resp_data(r), "deleted_at")));
	assert_prop(resp_data(r), "city", "\"Oslo\"");
	http_free(r);
	cJSON *g = obj_fetch(t.key, "contacts", id);
	ck_assert_ptr_nonnull(g);
	cJSON_Delete(g);
	ck_assert_int_eq(total_of(t.key, "contacts"), 2);
	l = list_of(t.key, "contacts", "trash", NULL);
	ck_assert_int_eq(num_of(l, "total"), 0);
	cJSON_Delete(l);
	r = call("POST", t.key, NULL, "/v1/objects/contacts/%s/restore", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/objects/contacts/%s", "obj_01ARZ3NDEKTSV4RRFFQ69G5FAV");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(keep);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(force_delete_is_permanent)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	char *live = obj_make(t.key, "contacts", "{\"name\":\"live\"}");
	char *trashed = obj_make(t.key, "contacts", "{\"name\":\"trashed\"}");
	http_resp *r = call("PATCH", t.key, "{\"properties\":{\"city\":\"x\"}}", "/v1/objects/contacts/%s", live);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/objects/contacts/%s", trashed);
	assert_envelope(r, 200, NULL);
	http_free(r);

	/* Straight from the list, and out of the trash. */
	const char *ids[] = { live, trashed };
	for (int i = 0; i < 2; i++) {
		r = call("DELETE", t.key, NULL, "/v1/objects/contacts/%s?force=true", ids[i]);
		assert_envelope(r, 200, NULL);
		ck_assert_str_eq(json_str(resp_data(r), "id"), ids[i]);
		ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_data(r), "deleted")));
		http_free(r);
		ck_assert_ptr_null(obj_fetch(t.key, "contacts", ids[i]));
		r = call("POST", t.key, NULL, "/v1/objects/contacts/%s/restore", ids[i]);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("GET", t.key, NULL, "/v1/objects/contacts/%s/versions", ids[i]);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("DELETE", t.key, NULL, "/v1/objects/contacts/%s?force=true", ids[i]);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	cJSON *l = list_of(t.key, "contacts", "trash", NULL);
	ck_assert_int_eq(num_of(l, "total"), 0);
	cJSON_Delete(l);
	ck_assert_int_eq(total_of(t.key, "contacts"), 0);

	/* A permanently deleted object no longer satisfies references. */
	free(type_make(t.key, "notes"));
	prop_make(t.key, "notes", "{\"name\":\"about\",\"data_type\":\"reference\"}");
	char *props = strf("{\"about\":\"%s\"}", live);
	r = obj_create(t.key, "notes", props);
	assert_invalid(r, "properties.about");
	http_free(r);
	free(props);
	free(live);
	free(trashed);
	tenant_drop(&t);
}
END_TEST

START_TEST(racing_deletes_delete_once)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	const long st[] = { 200, 404 };
	int counts[3];
	for (int permanent = 0; permanent < 2; permanent++) {
		char *id = obj_make(t.key, "contacts", "{\"name\":\"contested\"}");
		char *path = strf("/v1/objects/contacts/%s%s", id, permanent ? "?force=true" : "");
		in_parallel(8, "DELETE", t.key, NULL, NULL, path, st, 2, counts);
		ck_assert_msg(counts[0] == 1 && counts[1] == 7, "%s: %d deleted, %d not found, %d other",
			      path, counts[0], counts[1], counts[2]);
		char *ev = events_of(id);
		ck_assert_str_eq(ev, "object.created object.deleted");
		free(ev);
		free(path);
		free(id);
	}
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ list */

/* Batch-creates n objects of type with properties {"name":"<prefix>NN"}. */
static void batch_names(const char *key, const char *type, const char *prefix, int n)
{
	size_t cap = (size_t)n * 64 + 32;
	char *body = malloc(cap), *p = body;
	p += snprintf(p, cap, "{\"objects\":[");
	for (int i = 0; i < n; i++)
		p += snprintf(p, cap - (size_t)(p - body), "%s{\"properties\":{\"name\":\"%s%02d\"}}", i ? "," : "",
			      prefix, i);
	snprintf(p, cap - (size_t)(p - body), "]}");
	http_resp *r = call("POST", key, body, "/v1/objects/%s/batch/create", type);
	assert_envelope(r, 201, NULL);
	ck_assert_int_eq(num_of(resp_data(r), "created"), n);
	http_free(r);
	free(body);
}

START_TEST(list_limit_default_and_bounds)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	batch_names(t.key, "contacts", "c", 25);
	cJSON *l = list_of(t.key, "contacts", "list", NULL);
	ck_assert_int_eq(cJSON_GetArraySize(results_of(l)), 20);
	ck_assert_int_eq(num_of(l, "total"), 25);
	ck_assert_msg(json_str(l, "next_cursor") != NULL, "no next_cursor with more to come");
	cJSON_Delete(l);
	l = list_of(t.key, "contacts", "list", "limit=1");
	ck_assert_int_eq(cJSON_GetArraySize(results_of(l)), 1);
	ck_assert_int_eq(num_of(l, "total"), 25);
	cJSON_Delete(l);
	l = list_of(t.key, "contacts", "list", "limit=100");
	ck_assert_int_eq(cJSON_GetArraySize(results_of(l)), 25);
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(l, "next_cursor")));
	cJSON_Delete(l);
	const char *bad[] = { "0", "101", "-1", "abc", "1e2", "20x", NULL };
	for (const char **b = bad; *b; b++) {
		http_resp *r = call("GET", t.key, NULL, "/v1/objects/contacts/list?limit=%s", *b);
		assert_invalid(r, "limit");
		http_free(r);
	}
	tenant_drop(&t);
}
END_TEST

/* ranks: A(n=2) B(n=1) C(no n) D(n=3) E(n=1), created in that order. */
static void ranks_make(const char *key, char *ids[5])
{
	free(type_make(key, "ranks"));
	prop_make(key, "ranks", "{\"name\":\"name\",\"data_type\":\"string\"}");
	prop_make(key, "ranks", "{\"name\":\"n\",\"data_type\":\"integer\",\"is_sortable\":true}");
	prop_make(key, "ranks", "{\"name\":\"label\",\"data_type\":\"string\"}");
	const char *props[] = { "{\"name\":\"A\",\"n\":2}", "{\"name\":\"B\",\"n\":1}", "{\"name\":\"C\"}",
				"{\"name\":\"D\",\"n\":3}", "{\"name\":\"E\",\"n\":1}" };
	for (int i = 0; i < 5; i++) {
		ids[i] = obj_make(key, "ranks", props[i]);
		usleep(5000); /* distinct created_at (milliseconds) and ids */
	}
}

static void assert_order(const char *key, const char *query, const char *want)
{
	cJSON *l = list_of(key, "ranks", "list", query);
	char *got = joined(results_of(l), "name");
	ck_assert_msg(!strcmp(got, want), "%s: want %s, got %s", query, want, got);
	free(got);
	cJSON_Delete(l);
}

/* Pages through query with limit 2 and compares the names seen. */
static void assert_paged_order(const char *key, const char *query, const char *want)
{
	char *seen = strdup(""), *cursor = NULL;
	for (int page = 0; page < 10; page++) {
		char *esc = cursor ? url_escape(cursor) : NULL;
		char *q = strf("%s&limit=2%s%s", query, esc ? "&cursor=" : "", esc ? esc : "");
		cJSON *l = list_of(key, "ranks", "list", q);
		char *names = joined(results_of(l), "name");
		char *acc = strf("%s%s%s", seen, *seen && *names ? "," : "", names);
		free(seen);
		seen = acc;
		free(names);
		free(cursor);
		const char *next = json_str(l, "next_cursor");
		cursor = next ? strdup(next) : NULL;
		cJSON_Delete(l);
		free(esc);
		free(q);
		if (!cursor)
			break;
	}
	ck_assert_msg(!cursor, "%s: paging did not end", query);
	ck_assert_msg(!strcmp(seen, want), "%s paged: want %s, got %s", query, want, seen);
	free(seen);
}

START_TEST(list_sorts_both_ways_with_missing_values_last)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *ids[5];
	ranks_make(t.key, ids);
	assert_order(t.key, NULL, "E,D,C,B,A");
	assert_order(t.key, "sort=created_at", "E,D,C,B,A");
	assert_order(t.key, "sort=created_at&order=asc", "A,B,C,D,E");
	assert_order(t.key, "sort=created_at&order=desc", "E,D,C,B,A");
	/* Ties (B and E) are broken by id, in the same direction. */
	assert_order(t.key, "sort=n&order=asc", "B,E,A,D,C");
	assert_order(t.key, "sort=n&order=desc", "D,A,E,B,C");
	assert_paged_order(t.key, "sort=n&order=asc", "B,E,A,D,C");
	assert_paged_order(t.key, "sort=n&order=desc", "D,A,E,B,C");
	assert_paged_order(t.key, "sort=created_at&order=asc", "A,B,C,D,E");

	usleep(5000);
	http_resp *r = call("PATCH", t.key, "{\"properties\":{\"label\":\"touched\"}}", "/v1/objects/ranks/%s", ids[1]);
	assert_envelope(r, 200, NULL);
	http_free(r);
	assert_order(t.key, "sort=updated_at&order=desc", "B,E,D,C,A");
	assert_order(t.key, "sort=updated_at&order=asc", "A,C,D,E,B");
	assert_paged_order(t.key, "sort=updated_at&order=desc", "B,E,D,C,A");

	const char *bad_sort[] = { "label", "nope", "properties", "name;drop", NULL };
	for (const char **b = bad_sort; *b; b++) {
		char *esc = url_escape(*b);
		r = call("GET", t.key, NULL, "/v1/objects/ranks/list?sort=%s", esc);
		assert_invalid(r, "sort");
		http_free(r);
		free(esc);
	}
	r = call("GET", t.key, NULL, "/v1/objects/ranks/list?sort=n&order=sideways");
	assert_invalid(r, "order");
	http_free(r);
	for (int i = 0; i < 5; i++)
		free(ids[i]);
	tenant_drop(&t);
}
END_TEST

/*
 * items: five objects with a value of each filterable kind, one (eps)
 * with none of them:
 *   name   s           i   d       b      dt          ts (UTC)              tags
 *   alpha  apple       1   1.10    true   2026-01-01  2026-01-01T00:00:00Z  [a]
 *   beta   banana      5   5.5     false  2026-02-15  2026-02-15T11:00:00Z  [a,b]
 *   gamma  apple pie   10  10.25   true   2026-03-31  2026-03-31T23:59:59Z  [c]
 *   delta  Cherry_50%  -3  -0.5    false  2025-12-31  2026-01-01T01:00:00Z  []
 *   eps    -
 */
static void items_make(const char *key, char **gamma_id)
{
	free(type_make(key, "items"));
	prop_make(key, "items", "{\"name\":\"name\",\"data_type\":\"string\"}");
	prop_make(key, "items", "{\"name\":\"s\",\"data_type\":\"string\",\"is_indexed\":true}");
	prop_make(key, "items", "{\"name\":\"i\",\"data_type\":\"integer\"}");
	prop_make(key, "items", "{\"name\":\"d\",\"data_type\":\"decimal\",\"is_indexed\":true}");
	prop_make(key, "items", "{\"name\":\"b\",\"data_type\":\"boolean\"}");
	prop_make(key, "items", "{\"name\":\"dt\",\"data_type\":\"date\",\"is_sortable\":true}");
	prop_make(key, "items", "{\"name\":\"ts\",\"data_type\":\"datetime\"}");
	prop_make(key, "items", "{\"name\":\"tags\",\"data_type\":\"multi_enum\",\"enum_values\":[\"a\",\"b\",\"c\"]}");
	free(obj_make(key, "items", "{\"name\":\"alpha\",\"s\":\"apple\",\"i\":1,\"d\":\"1.10\",\"b\":true,"
				    "\"dt\":\"2026-01-01\",\"ts\":\"2026-01-01T00:00:00Z\",\"tags\":[\"a\"]}"));
	free(obj_make(key, "items", "{\"name\":\"beta\",\"s\":\"banana\",\"i\":5,\"d\":\"5.5\",\"b\":false,"
				    "\"dt\":\"2026-02-15\",\"ts\":\"2026-02-15T12:00:00+01:00\",\"tags\":[\"a\",\"b\"]}"));
	*gamma_id = obj_make(key, "items", "{\"name\":\"gamma\",\"s\":\"apple pie\",\"i\":10,\"d\":\"10.25\","
					   "\"b\":true,\"dt\":\"2026-03-31\",\"ts\":\"2026-03-31T23:59:59Z\","
					   "\"tags\":[\"c\"]}");
	free(obj_make(key, "items", "{\"name\":\"delta\",\"s\":\"Cherry_50%\",\"i\":-3,\"d\":\"-0.5\",\"b\":false,"
				    "\"dt\":\"2025-12-31\",\"ts\":\"2025-12-31T23:00:00-02:00\",\"tags\":[]}"));
	free(obj_make(key, "items", "{\"name\":\"eps\"}"));
}

/* Lists items with filter (JSON) and returns the sorted names matched;
 * asserts total agrees. */
static char *filtered(const char *key, const char *filter)
{
	char *esc = url_escape(filter);
	char *q = strf("limit=100&filter=%s", esc);
	http_resp *r = call("GET", key, NULL, "/v1/objects/items/list?%s", q);
	ck_assert_msg(r->status == 200, "filter %s: %ld %s", filter, r->status, r->body);
	const cJSON *d = resp_data(r);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(d, "results");
	ck_assert_msg(num_of(d, "total") == cJSON_GetArraySize(res), "filter %s: total %lld for %d results",
		      filter, num_of(d, "total"), cJSON_GetArraySize(res));
	char *names = joined_sorted(res, "name");
	http_free(r);
	free(q);
	free(esc);
	return names;
}

static const struct fcase {
	const char *filter;
	const char *want;  /* sorted names */
} fcases[] = {
	/* string */
	{ "[{\"property\":\"s\",\"operator\":\"eq\",\"value\":\"apple\"}]", "alpha" },
	{ "[{\"property\":\"s\",\"operator\":\"neq\",\"value\":\"apple\"}]", "beta,delta,eps,gamma" },
	{ "[{\"property\":\"s\",\"operator\":\"gt\",\"value\":\"apple\"}]", "beta,delta,gamma" },
	{ "[{\"property\":\"s\",\"operator\":\"gte\",\"value\":\"banana\"}]", "beta,delta" },
	{ "[{\"property\":\"s\",\"operator\":\"lt\",\"value\":\"b\"}]", "alpha,gamma" },
	{ "[{\"property\":\"s\",\"operator\":\"lte\",\"value\":\"apple pie\"}]", "alpha,gamma" },
	{ "[{\"property\":\"s\",\"operator\":\"in\",\"value\":[\"apple\",\"banana\",\"zzz\"]}]", "alpha,beta" },
	{ "[{\"property\":\"s\",\"operator\":\"nin\",\"value\":[\"apple\",\"banana\"]}]", "delta,eps,gamma" },
	{ "[{\"property\":\"s\",\"operator\":\"contains\",\"value\":\"pie\"}]", "gamma" },
	{ "[{\"property\":\"s\",\"operator\":\"contains\",\"value\":\"an\"}]", "beta" },
	/* LIKE wildcards in the value are literal characters. */
	{ "[{\"property\":\"s\",\"operator\":\"contains\",\"value\":\"50%\"}]", "delta" },
	{ "[{\"property\":\"s\",\"operator\":\"contains\",\"value\":\"%\"}]", "delta" },
	{ "[{\"property\":\"s\",\"operator\":\"contains\",\"value\":\"p_e\"}]", "" },
	{ "[{\"property\":\"s\",\"operator\":\"contains\",\"value\":\"y_5\"}]", "delta" },
	{ "[{\"property\":\"s\",\"operator\":\"starts_with\",\"value\":\"apple\"}]", "alpha,gamma" },
	{ "[{\"property\":\"s\",\"operator\":\"starts_with\",\"value\":\"%\"}]", "" },
	{ "[{\"property\":\"s\",\"operator\":\"is_null\"}]", "eps" },
	{ "[{\"property\":\"s\",\"operator\":\"is_not_null\"}]", "alpha,beta,delta,gamma" },
	/* integer */
	{ "[{\"property\":\"i\",\"operator\":\"eq\",\"value\":5}]", "beta" },
	{ "[{\"property\":\"i\",\"operator\":\"neq\",\"value\":5}]", "alpha,delta,eps,gamma" },
	{ "[{\"property\":\"i\",\"operator\":\"gt\",\"value\":1}]", "beta,gamma" },
	{ "[{\"property\":\"i\",\"operator\":\"gte\",\"value\":1}]", "alpha,beta,gamma" },
	{ "[{\"property\":\"i\",\"operator\":\"lt\",\"value\":1}]", "delta" },
	{ "[{\"property\":\"i\",\"operator\":\"lte\",\"value\":5}]", "alpha,beta,delta" },
	{ "[{\"property\":\"i\",\"operator\":\"in\",\"value\":[1,10]}]", "alpha,gamma" },
	{ "[{\"property\":\"i\",\"operator\":\"nin\",\"value\":[1,10]}]", "beta,delta,eps" },
	{ "[{\"property\":\"i\",\"operator\":\"is_null\"}]", "eps" },
	{ "[{\"property\":\"i\",\"operator\":\"is_not_null\"}]", "alpha,beta,delta,gamma" },
	/* decimal: compared as numbers, whatever the spelling */
	{ "[{\"property\":\"d\",\"operator\":\"eq\",\"value\":\"5.50\"}]", "beta" },
	{ "[{\"property\":\"d\",\"operator\":\"eq\",\"value\":5.5}]", "beta" },
	{ "[{\"property\":\"d\",\"operator\":\"neq\",\"value\":\"1.1\"}]", "beta,delta,eps,gamma" },
	{ "[{\"property\":\"d\",\"operator\":\"gt\",\"value\":\"1.1\"}]", "beta,gamma" },
	{ "[{\"property\":\"d\",\"operator\":\"gte\",\"value\":\"10.25\"}]", "gamma" },
	{ "[{\"property\":\"d\",\"operator\":\"lt\",\"value\":\"0\"}]", "delta" },
	{ "[{\"property\":\"d\",\"operator\":\"lte\",\"value\":\"1.10\"}]", "alpha,delta" },
	{ "[{\"property\":\"d\",\"operator\":\"in\",\"value\":[\"1.1\",\"10.25\"]}]", "alpha,gamma" },
	{ "[{\"property\":\"d\",\"operator\":\"nin\",\"value\":[\"1.1\",\"10.25\"]}]", "beta,delta,eps" },
	{ "[{\"property\":\"d\",\"operator\":\"is_null\"}]", "eps" },
	/* boolean */
	{ "[{\"property\":\"b\",\"operator\":\"eq\",\"value\":true}]", "alpha,gamma" },
	{ "[{\"property\":\"b\",\"operator\":\"eq\",\"value\":false}]", "beta,delta" },
	{ "[{\"property\":\"b\",\"operator\":\"neq\",\"value\":true}]", "beta,delta,eps" },
	{ "[{\"property\":\"b\",\"operator\":\"in\",\"value\":[false]}]", "beta,delta" },
	{ "[{\"property\":\"b\",\"operator\":\"is_null\"}]", "eps" },
	{ "[{\"property\":\"b\",\"operator\":\"is_not_null\"}]", "alpha,beta,delta,gamma" },
	/* date */
	{ "[{\"property\":\"dt\",\"operator\":\"eq\",\"value\":\"2026-03-31\"}]", "gamma" },
	{ "[{\"property\":\"dt\",\"operator\":\"neq\",\"value\":\"2026-03-31\"}]", "alpha,beta,delta,eps" },
	{ "[{\"property\":\"dt\",\"operator\":\"gt\",\"value\":\"2026-01-01\"}]", "beta,gamma" },
	{ "[{\"property\":\"dt\",\"operator\":\"gte\",\"value\":\"2026-01-01\"}]", "alpha,beta,gamma" },
	{ "[{\"property\":\"dt\",\"operator\":\"lt\",\"value\":\"2026-01-01\"}]", "delta" },
	{ "[{\"property\":\"dt\",\"operator\":\"lte\",\"value\":\"2026-02-15\"}]", "alpha,beta,delta" },
	{ "[{\"property\":\"dt\",\"operator\":\"in\",\"value\":[\"2025-12-31\",\"2026-03-31\"]}]", "delta,gamma" },
	{ "[{\"property\":\"dt\",\"operator\":\"nin\",\"value\":[\"2025-12-31\",\"2026-03-31\"]}]", "alpha,beta,eps" },
	{ "[{\"property\":\"dt\",\"operator\":\"is_null\"}]", "eps" },
	/* datetime: compared as instants, whatever the offset */
	{ "[{\"property\":\"ts\",\"operator\":\"eq\",\"value\":\"2026-02-15T11:00:00Z\"}]", "beta" },
	{ "[{\"property\":\"ts\",\"operator\":\"eq\",\"value\":\"2026-02-15T06:00:00-05:00\"}]", "beta" },
	{ "[{\"property\":\"ts\",\"operator\":\"gt\",\"value\":\"2026-01-01T00:30:00Z\"}]", "beta,delta,gamma" },
	{ "[{\"property\":\"ts\",\"operator\":\"gte\",\"value\":\"2026-01-01T02:00:00+01:00\"}]", "beta,delta,gamma" },
	{ "[{\"property\":\"ts\",\"operator\":\"lt\",\"value\":\"2026-01-01T00:30:00Z\"}]", "alpha" },
	{ "[{\"property\":\"ts\",\"operator\":\"lte\",\"value\":\"2026-01-01T01:00:00Z\"}]", "alpha,delta" },
	{ "[{\"property\":\"ts\",\"operator\":\"is_not_null\"}]", "alpha,beta,delta,gamma" },
	/* multi_enum */
	{ "[{\"property\":\"tags\",\"operator\":\"contains\",\"value\":\"a\"}]", "alpha,beta" },
	{ "[{\"property\":\"tags\",\"operator\":\"contains\",\"value\":\"b\"}]", "beta" },
	{ "[{\"property\":\"tags\",\"operator\":\"contains\",\"value\":\"c\"}]", "gamma" },
	{ "[{\"property\":\"tags\",\"operator\":\"is_null\"}]", "eps" },
	{ "[{\"property\":\"tags\",\"operator\":\"is_not_null\"}]", "alpha,beta,delta,gamma" },
	/* ANDed */
	{ "[{\"property\":\"s\",\"operator\":\"starts_with\",\"value\":\"apple\"},"
	  "{\"property\":\"i\",\"operator\":\"gt\",\"value\":1}]", "gamma" },
	{ "[{\"property\":\"b\",\"operator\":\"eq\",\"value\":true},"
	  "{\"property\":\"dt\",\"operator\":\"lt\",\"value\":\"2026-02-01\"}]", "alpha" },
	{ "[{\"property\":\"tags\",\"operator\":\"contains\",\"value\":\"a\"},"
	  "{\"property\":\"i\",\"operator\":\"gte\",\"value\":5},"
	  "{\"property\":\"d\",\"operator\":\"lt\",\"value\":\"100\"}]", "beta" },
	{ "[{\"property\":\"i\",\"operator\":\"gt\",\"value\":100},"
	  "{\"property\":\"s\",\"operator\":\"is_not_null\"}]", "" },
	{ "[]", "alpha,beta,delta,eps,gamma" },
	/* created_at */
	{ "[{\"property\":\"created_at\",\"operator\":\"gte\",\"value\":\"2000-01-01T00:00:00Z\"}]",
	  "alpha,beta,delta,eps,gamma" },
	{ "[{\"property\":\"created_at\",\"operator\":\"lt\",\"value\":\"2000-01-01T00:00:00Z\"}]", "" },
};

START_TEST(list_filters_with_every_operator)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *gamma;
	items_make(t.key, &gamma);
	/* Every case runs; the failure lists all that went wrong. */
	char *wrong = strdup("");
	for (size_t i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++) {
		char *got = filtered(t.key, fcases[i].filter);
		if (strcmp(got, fcases[i].want)) {
			char *w = strf("%s\n  %s: want [%s], got [%s]", wrong, fcases[i].filter, fcases[i].want, got);
			free(wrong);
			wrong = w;
		}
		free(got);
	}
	ck_assert_msg(!*wrong, "filters gave the wrong objects:%s", wrong);
	free(wrong);
	char *f = strf("[{\"property\":\"id\",\"operator\":\"eq\",\"value\":\"%s\"}]", gamma);
	char *got = filtered(t.key, f);
	ck_assert_str_eq(got, "gamma");
	free(got);
	free(f);
	/* total counts the filtered set, not the page. */
	char *esc = url_escape("[{\"property\":\"b\",\"operator\":\"is_not_null\"}]");
	http_resp *r = call("GET", t.key, NULL, "/v1/objects/items/list?limit=1&filter=%s", esc);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(resp_data(r), "results")), 1);
	ck_assert_int_eq(num_of(resp_data(r), "total"), 4);
	http_free(r);
	free(esc);
	/* Filters and sort together. */
	esc = url_escape("[{\"property\":\"i\",\"operator\":\"is_not_null\"}]");
	r = call("GET", t.key, NULL, "/v1/objects/items/list?sort=dt&order=asc&filter=%s", esc);
	assert_envelope(r, 200, NULL);
	char *names = joined(cJSON_GetObjectItemCaseSensitive(resp_data(r), "results"), "name");
	ck_assert_str_eq(names, "delta,alpha,beta,gamma");
	free(names);
	http_free(r);
	free(esc);
	free(gamma);
	tenant_drop(&t);
}
END_TEST

START_TEST(list_rejects_bad_filters)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	char *gamma;
	items_make(t.key, &gamma);
	const char *bad[] = {
		"not json",
		"{\"property\":\"s\",\"operator\":\"eq\",\"value\":\"x\"}",
		"[1]",
		"[{\"property\":\"nope\",\"operator\":\"eq\",\"value\":1}]",
		"[{\"property\":\"s\",\"operator\":\"like\",\"value\":\"x\"}]",
		"[{\"property\":\"s\",\"value\":\"x\"}]",
		"[{\"property\":\"s\",\"operator\":\"eq\"}]",
		"[{\"property\":\"s\",\"operator\":\"in\",\"value\":\"apple\"}]",
		"[{\"property\":\"s\",\"operator\":\"in\",\"value\":[]}]",
		"[{\"property\":\"i\",\"operator\":\"eq\",\"value\":\"five\"}]",
		"[{\"property\":\"i\",\"operator\":\"contains\",\"value\":\"5\"}]",
		"[{\"property\":\"dt\",\"operator\":\"gt\",\"value\":\"2026-02-30\"}]",
		"[{\"property\":\"tags\",\"operator\":\"gt\",\"value\":\"a\"}]",
		"[{\"property\":\"b\",\"operator\":\"eq\",\"value\":\"yes\"}]",
		"[{\"property\":\"created_at\",\"operator\":\"gt\",\"value\":\"yesterday\"}]",
		"[{\"property\":\"properties\",\"operator\":\"is_null\"}]",
		NULL,
	};
	for (const char **b = bad; *b; b++) {
		char *esc = url_escape(*b);
		http_resp *r = call("GET", t.key, NULL, "/v1/objects/items/list?filter=%s", esc);
		ck_assert_msg(r->status == 400, "filter %s: %ld %s", *b, r->status, r->body);
		assert_invalid_prefix(r, "filter");
		http_free(r);
		free(esc);
	}
	/* The message names what is wrong. */
	char *esc = url_escape("[{\"property\":\"nope\",\"operator\":\"eq\",\"value\":1}]");
	http_resp *r = call("GET", t.key, NULL, "/v1/objects/items/list?filter=%s", esc);
	ck_assert_msg(strstr(error_message(r), "nope") != NULL, "%s", r->body);
	http_free(r);
	free(esc);
	esc = url_escape("[{\"property\":\"s\",\"operator\":\"like\",\"value\":\"x\"}]");
	r = call("GET", t.key, NULL, "/v1/objects/items/list?filter=%s", esc);
	ck_assert_msg(strstr(error_message(r), "operator") != NULL, "%s", r->body);
	http_free(r);
	free(esc);
	free(gamma);
	tenant_drop(&t);
}
END_TEST

/* walk: the type holds "name" and a sortable integer "n". */
static void walk_make(const char *key)
{
	free(type_make(key, "walk"));
	prop_make(key, "walk", "{\"name\":\"name\",\"data_type\":\"string\"}");
	prop_make(key, "walk", "{\"name\":\"n\",\"data_type\":\"integer\",\"is_sortable\":true}");
}

static int index_of(char *const *ids, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(ids[i], id))
			return i;
	return -1;
}

/* Every id of a full listing with query (limit 100), in order. */
static int all_ids(const char *key, const char *query, char **out, int max)
{
	char *q = strf("limit=100&%s", query);
	cJSON *l = list_of(key, "walk", "list", q);
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, results_of(l)) {
		ck_assert_int_lt(n, max);
		out[n++] = strdup(json_str(it, "id"));
	}
	cJSON_Delete(l);
	free(q);
	return n;
}

/*
 * Walks query with limit 3, calling insert(key, page) between pages.
 * Returns the ids seen in order (up to max).
 */
static int cursor_walk(const char *key, const char *query, void (*insert)(const char *, int), char **seen,
		       int max)
{
	int n = 0;
	char *cursor = NULL;
	for (int page = 0; page < 60; page++) {
		char *esc = cursor ? url_escape(cursor) : NULL;
		char *q = strf("%s&limit=3%s%s", query, esc ? "&cursor=" : "", esc ? esc : "");
		cJSON *l = list_of(key, "walk", "list", q);
		ck_assert_int_le(cJSON_GetArraySize(results_of(l)), 3);
		const cJSON *it;
		cJSON_ArrayForEach(it, results_of(l)) {
			ck_assert_int_lt(n, max);
			seen[n++] = strdup(json_str(it, "id"));
		}
		free(cursor);
		const char *next = json_str(l, "next_cursor");
		cursor = next ? strdup(next) : NULL;
		cJSON_Delete(l);
		free(esc);
		free(q);
		if (!cursor)
			return n;
		if (insert)
			insert(key, page);
	}
	ck_abort_msg("%s: the cursor walk did not end", query);
	return n;
}

static void assert_no_duplicates(char *const *ids, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			ck_assert_msg(strcmp(ids[i], ids[j]) != 0, "%s returned twice (%d and %d)", ids[i], i, j);
}

static void insert_plain(const char *key, int page)
{
	char *props = strf("{\"name\":\"new%02d\",\"n\":%d}", page, page);
	free(obj_make(key, "walk", props));
	free(props);
}

START_TEST(cursor_walk_by_created_at_sees_each_object_once)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	walk_make(t.key);
	batch_names(t.key, "walk", "w", 10);
	batch_names(t.key, "walk", "x", 10);
	const char *queries[] = { "sort=created_at&order=desc", "sort=created_at&order=asc", "order=desc" };
	for (int qi = 0; qi < 3; qi++) {
		char *orig[100], *seen[100];
		int norig = all_ids(t.key, queries[qi], orig, 100);
		ck_assert_int_ge(norig, 20); /* and what earlier walks inserted */
		int n = cursor_walk(t.key, queries[qi], insert_plain, seen, 100);
		assert_no_duplicates(seen, n);
		/* The original objects come in the order of the full listing... */
		int next = 0, last_orig_at = -1;
		for (int i = 0; i < n; i++) {
			int k = index_of(orig, norig, seen[i]);
			if (k < 0)
				continue;
			ck_assert_msg(k == next, "%s: position %d holds original #%d, want #%d", queries[qi], i, k,
				      next);
			next++;
			last_orig_at = i;
		}
		ck_assert_msg(next == norig, "%s: saw %d of the %d originals", queries[qi], next, norig);
		/* ...and objects inserted during the walk only after all of
		 * them (they sort after the cursor only in ascending order). */
		ck_assert_msg(n == norig || (qi == 1 && last_orig_at == norig - 1),
			      "%s: %d objects seen, %d originals (inserted ones before the cursor showed up)",
			      queries[qi], n, norig);
		for (int i = 0; i < norig; i++)
			free(orig[i]);
		for (int i = 0; i < n; i++)
			free(seen[i]);
	}
	tenant_drop(&t);
}
END_TEST

/* Between the first pages of a walk sorted on n: one object below every
 * value, one above every original value, one without n. */
static void insert_around(const char *key, int page)
{
	if (page >= 5)
		return;
	char *props = strf("{\"name\":\"before%02d\",\"n\":%d}", page, -1 - page);
	free(obj_make(key, "walk", props));
	free(props);
	props = strf("{\"name\":\"after%02d\",\"n\":%d}", page, 1000 + page);
	free(obj_make(key, "walk", props));
	free(props);
	props = strf("{\"name\":\"nulls%02d\"}", page);
	free(obj_make(key, "walk", props));
	free(props);
}

START_TEST(cursor_walk_by_property_under_inserts)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	walk_make(t.key);
	/* 17 objects with n = 0,0,1,1,…,8 (ties across pages) and 3 without n. */
	char body[4096], *p = body;
	p += snprintf(p, sizeof(body), "{\"objects\":[");
	for (int i = 0; i < 20; i++) {
		if (i < 17)
			p += snprintf(p, sizeof(body) - (size_t)(p - body), "%s{\"properties\":{\"name\":\"o%02d\",\"n\":%d}}",
				      i ? "," : "", i, i / 2);
		else
			p += snprintf(p, sizeof(body) - (size_t)(p - body), ",{\"properties\":{\"name\":\"o%02d\"}}", i);
	}
	snprintf(p, sizeof(body) - (size_t)(p - body), "]}");
	http_resp *r = call("POST", t.key, body, "/v1/objects/walk/batch/create");
	assert_envelope(r, 201, NULL);
	http_free(r);

	for (int desc = 0; desc < 2; desc++) {
		const char *query = desc ? "sort=n&order=desc" : "sort=n&order=asc";
		char *orig[100], *seen[200];
		int norig = all_ids(t.key, query, orig, 100);
		int n = cursor_walk(t.key, query, insert_around, seen, 200);
		assert_no_duplicates(seen, n);
		int next = 0;
		for (int i = 0; i < n; i++) {
			int k = index_of(orig, norig, seen[i]);
			if (k >= 0) {
				ck_assert_msg(k == next, "%s: position %d holds original #%d, want #%d", query, i, k,
					      next);
				next++;
			}
		}
		ck_assert_msg(next == norig, "%s: saw %d of the %d originals", query, next, norig);
		/* What the walk returned is itself in (n, id) order, nulls last:
		 * nothing inserted before the cursor showed up. */
		char *after[100];
		int nafter = all_ids(t.key, query, after, 100);
		int pos = -1;
		for (int i = 0; i < n; i++) {
			int k = index_of(after, nafter, seen[i]);
			ck_assert_msg(k > pos, "%s: %s out of order", query, seen[i]);
			pos = k;
		}
		for (int i = 0; i < nafter; i++)
			free(after[i]);
		for (int i = 0; i < norig; i++)
			free(orig[i]);
		for (int i = 0; i < n; i++)
			free(seen[i]);
	}
	tenant_drop(&t);
}
END_TEST

START_TEST(cursor_errors)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	walk_make(t.key);
	batch_names(t.key, "walk", "w", 5);
	cJSON *l = list_of(t.key, "walk", "list", "sort=n&order=asc&limit=2");
	char *cur = url_escape(json_str(l, "next_cursor"));
	cJSON_Delete(l);
	const char *bad[] = { "!!!", "abc", "eyJzIjoibiJ9", "e30", "bnVsbA", NULL };
	for (const char **b = bad; *b; b++) {
		http_resp *r = call("GET", t.key, NULL, "/v1/objects/walk/list?sort=n&order=asc&cursor=%s", *b);
		assert_invalid(r, "cursor");
		http_free(r);
	}
	/* A cursor belongs to its sort and order. */
	const char *other[] = { "sort=created_at&order=asc", "sort=n&order=desc", "order=asc", NULL };
	for (const char **o = other; *o; o++) {
		http_resp *r = call("GET", t.key, NULL, "/v1/objects/walk/list?%s&cursor=%s", *o, cur);
		assert_invalid(r, "cursor");
		http_free(r);
	}
	http_resp *r = call("GET", t.key, NULL, "/v1/objects/walk/list?sort=n&order=asc&cursor=%s", cur);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(cur);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ batches */

START_TEST(batch_create_creates_all)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	http_resp *r = call("POST", t.key,
			    "{\"objects\":[{\"properties\":{\"name\":\"one\"}},{\"properties\":{\"name\":\"two\",\"score\":2}},"
			    "{\"properties\":{\"name\":\"three\",\"city\":\"Rome\"}}]}",
			    "/v1/objects/contacts/batch/create");
	assert_envelope(r, 201, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_int_eq(num_of(d, "created"), 3);
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(d, "ids");
	ck_assert_int_eq(cJSON_GetArraySize(ids), 3);
	const char *names[] = { "\"one\"", "\"two\"", "\"three\"" };
	for (int i = 0; i < 3; i++) {
		const cJSON *id = cJSON_GetArrayItem(ids, i);
		ck_assert_msg(cJSON_IsString(id) && !strncmp(id->valuestring, "obj_", 4), "ids: %s", r->body);
		cJSON *g = obj_fetch(t.key, "contacts", id->valuestring);
		ck_assert_ptr_nonnull(g);
		assert_prop(g, "name", names[i]);
		ck_assert_int_eq(num_of(g, "version"), 1);
		ck_assert_str_eq(json_str(g, "created_by"), t.key_id);
		cJSON_Delete(g);
		char *ev = events_of(id->valuestring);
		ck_assert_str_eq(ev, "object.created");
		free(ev);
	}
	http_free(r);
	ck_assert_int_eq(total_of(t.key, "contacts"), 3);
	tenant_drop(&t);
}
END_TEST

static char *batch_body(int n)
{
	size_t cap = (size_t)n * 48 + 32;
	char *body = malloc(cap), *p = body;
	p += snprintf(p, cap, "{\"objects\":[");
	for (int i = 0; i < n; i++)
		p += snprintf(p, cap - (size_t)(p - body), "%s{\"properties\":{\"name\":\"b%03d\"}}", i ? "," : "", i);
	snprintf(p, cap - (size_t)(p - body), "]}");
	return body;
}

START_TEST(batch_create_is_all_or_nothing)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	prop_make(t.key, "contacts", "{\"name\":\"email\",\"data_type\":\"email\",\"is_unique\":true}");
	free(obj_make(t.key, "contacts", "{\"name\":\"first\",\"email\":\"taken@example.com\"}"));

	char *body = batch_body(101);
	http_resp *r = call("POST", t.key, body, "/v1/objects/contacts/batch/create");
	assert_invalid(r, "objects");
	http_free(r);
	free(body);
	body = batch_body(100);
	r = call("POST", t.key, body, "/v1/objects/contacts/batch/create");
	assert_envelope(r, 201, NULL);
	ck_assert_int_eq(num_of(resp_data(r), "created"), 100);
	http_free(r);
	free(body);
	ck_assert_int_eq(total_of(t.key, "contacts"), 101);
	long long events = outbox_count(t.id);
	r = call("POST", t.key, "{\"objects\":[]}", "/v1/objects/contacts/batch/create");
	assert_invalid(r, "objects");
	http_free(r);

	/* One bad item anywhere: the error names it and nothing is written. */
	static const struct {
		const char *items, *field;
		long status;
	} cases[] = {
		{ "{\"properties\":{\"name\":\"a\"}},{\"properties\":{\"name\":\"b\"}},"
		  "{\"properties\":{\"name\":\"c\",\"score\":\"high\"}}",
		  "objects[2].properties.score", 400 },
		{ "{\"properties\":{\"name\":\"a\"}},{\"properties\":{\"name\":\"b\"}},{\"properties\":{\"city\":\"c\"}}",
		  "objects[2].properties.name", 400 },
		{ "{\"properties\":{\"name\":\"a\"}},{\"properties\":{\"name\":\"b\"}},{\"properties\":{\"name\":\"c\","
		  "\"bogus\":1}}",
		  "objects[2].properties.bogus", 400 },
		{ "{\"properties\":{\"name\":\"a\"}},{\"properties\":{\"name\":\"b\"}},\"c\"", "objects[2].", 400 },
		/* a unique clash with an existing object, and inside the batch */
		{ "{\"properties\":{\"name\":\"a\"}},{\"properties\":{\"name\":\"b\"}},{\"properties\":{\"name\":\"c\","
		  "\"email\":\"taken@example.com\"}}",
		  "objects[2].properties.email", 409 },
		{ "{\"properties\":{\"name\":\"a\",\"email\":\"x@example.com\"}},{\"properties\":{\"name\":\"b\"}},"
		  "{\"properties\":{\"name\":\"c\",\"email\":\"x@example.com\"}}",
		  "objects[2].properties.email", 409 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body = strf("{\"objects\":[%s]}", cases[i].items);
		r = call("POST", t.key, body, "/v1/objects/contacts/batch/create");
		ck_assert_msg(r->status == cases[i].status, "case %zu: %ld %s", i, r->status, r->body);
		assert_envelope(r, cases[i].status, cases[i].status == 409 ? "CONFLICT" : "VALIDATION_ERROR");
		const char *f = detail_field(r);
		ck_assert_msg(f && !strncmp(f, cases[i].field, strlen(cases[i].field)), "case %zu: want %s: %s", i,
			      cases[i].field, r->body);
		http_free(r);
		free(body);
		ck_assert_int_eq(total_of(t.key, "contacts"), 101);
	}
	ck_assert_int_eq(outbox_count(t.id), events);
	tenant_drop(&t);
}
END_TEST

START_TEST(batch_read_returns_found_objects_in_order_asked)
{
	struct tenant t, other;
	tenant_make_keyed(&t, "pro");
	tenant_make_keyed(&other, "pro");
	contacts_make(t.key);
	contacts_make(other.key);
	char *a = obj_make(t.key, "contacts", "{\"name\":\"a\"}");
	char *b = obj_make(t.key, "contacts", "{\"name\":\"b\"}");
	char *c = obj_make(t.key, "contacts", "{\"name\":\"c\"}");
	char *gone = obj_make(t.key, "contacts", "{\"name\":\"gone\"}");
	char *theirs = obj_make(other.key, "contacts", "{\"name\":\"theirs\"}");
	http_resp *r = call("DELETE", t.key, NULL, "/v1/objects/contacts/%s", gone);
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *body = strf("{\"object_ids\":[\"%s\",\"%s\",\"obj_01ARZ3NDEKTSV4RRFFQ69G5FAV\",\"%s\",\"%s\",\"%s\"]}", c,
			  a, gone, theirs, b);
	r = call("POST", t.key, body, "/v1/objects/contacts/batch/read");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsArray(resp_data(r)), "%s", r->body);
	char *names = joined(resp_data(r), "name");
	ck_assert_str_eq(names, "c,a,b");
	free(names);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(resp_data(r), 0), "id"), c);
	http_free(r);
	free(body);

	size_t cap = 101 * 40 + 32;
	body = malloc(cap);
	char *p = body;
	p += snprintf(p, cap, "{\"object_ids\":[");
	for (int i = 0; i < 101; i++)
		p += snprintf(p, cap - (size_t)(p - body), "%s\"%s\"", i ? "," : "", a);
	snprintf(p, cap - (size_t)(p - body), "]}");
	r = call("POST", t.key, body, "/v1/objects/contacts/batch/read");
	assert_invalid(r, "object_ids");
	http_free(r);
	free(body);
	r = call("POST", t.key, "{\"object_ids\":[]}", "/v1/objects/contacts/batch/read");
	assert_invalid(r, "object_ids");
	http_free(r);
	free(a);
	free(b);
	free(c);
	free(gone);
	free(theirs);
	tenant_drop(&t);
	tenant_drop(&other);
}
END_TEST

START_TEST(batch_update_is_all_or_nothing)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	char *a = obj_make(t.key, "contacts", "{\"name\":\"a\",\"city\":\"Oslo\"}");
	char *b = obj_make(t.key, "contacts", "{\"name\":\"b\"}");
	char *body = strf("{\"updates\":[{\"object_id\":\"%s\",\"properties\":{\"city\":\"Rome\"}},"
			  "{\"object_id\":\"%s\",\"properties\":{\"score\":5},\"version\":1}]}", a, b);
	http_resp *r = call("POST", t.key, body, "/v1/objects/contacts/batch/update");
	assert_envelope(r, 200, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_int_eq(cJSON_GetArraySize(d), 2);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(d, 0), "object_id"), a);
	ck_assert_int_eq(num_of(cJSON_GetArrayItem(d, 0), "version"), 2);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(d, 1), "object_id"), b);
	ck_assert_int_eq(num_of(cJSON_GetArrayItem(d, 1), "version"), 2);
	http_free(r);
	free(body);
	char *ev = events_of(b);
	ck_assert_str_eq(ev, "object.created object.updated");
	free(ev);
	long long events = outbox_count(t.id);
	cJSON *ga = obj_fetch(t.key, "contacts", a), *gb = obj_fetch(t.key, "contacts", b);
	assert_prop(ga, "city", "\"Rome\"");
	assert_prop(ga, "name", "\"a\"");
	assert_prop(gb, "score", "5");
	cJSON_Delete(ga);
	cJSON_Delete(gb);

	/* A bad item rolls back the good ones before it. */
	static const struct {
		const char *second, *field, *code;
		long status;
	} cases[] = {
		{ "{\"object_id\":\"%s\",\"properties\":{\"score\":\"x\"}}", "updates[1].properties.score",
		  "VALIDATION_ERROR", 400 },
		{ "{\"object_id\":\"%s\",\"properties\":{\"name\":null}}", "updates[1].properties.name",
		  "VALIDATION_ERROR", 400 },
		{ "{\"object_id\":\"%s\",\"properties\":{\"score\":6},\"version\":1}", "updates[1].version", "CONFLICT",
		  409 },
		{ "{\"object_id\":\"obj_01ARZ3NDEKTSV4RRFFQ69G5FAV%.0s\",\"properties\":{}}", "updates[1].object_id",
		  "NOT_FOUND", 404 },
		{ "{\"object\":\"%s\"}", "updates[1].object_id", "VALIDATION_ERROR", 400 },
		{ "{\"object_id\":\"%s\",\"properties\":5}", "updates[1].properties", "VALIDATION_ERROR", 400 },
		{ "{\"object_id\":\"%s\",\"properties\":{},\"version\":\"1\"}", "updates[1].version",
		  "VALIDATION_ERROR", 400 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *second = strf(cases[i].second, b);
		body = strf("{\"updates\":[{\"object_id\":\"%s\",\"properties\":{\"city\":\"Paris\"}},%s]}", a, second);
		r = call("POST", t.key, body, "/v1/objects/contacts/batch/update");
		assert_envelope(r, cases[i].status, cases[i].code);
		const char *f = detail_field(r);
		ck_assert_msg(f && !strncmp(f, cases[i].field, strlen(cases[i].field)), "case %zu: want %s: %s", i,
			      cases[i].field, r->body);
		http_free(r);
		free(body);
		free(second);
		ga = obj_fetch(t.key, "contacts", a);
		assert_prop(ga, "city", "\"Rome\"");
		ck_assert_int_eq(num_of(ga, "version"), 2);
		cJSON_Delete(ga);
	}
	r = call("GET", t.key, NULL, "/v1/objects/contacts/%s/versions", a);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	ck_assert_int_eq(outbox_count(t.id), events);

	size_t cap = 101 * 90 + 32;
	body = malloc(cap);
	char *p = body;
	p += snprintf(p, cap, "{\"updates\":[");
	for (int i = 0; i < 101; i++)
		p += snprintf(p, cap - (size_t)(p - body), "%s{\"object_id\":\"%s\",\"properties\":{\"score\":%d}}",
			      i ? "," : "", a, i);
	snprintf(p, cap - (size_t)(p - body), "]}");
	r = call("POST", t.key, body, "/v1/objects/contacts/batch/update");
	assert_invalid(r, "updates");
	http_free(r);
	free(body);
	ga = obj_fetch(t.key, "contacts", a);
	ck_assert_int_eq(num_of(ga, "version"), 2);
	cJSON_Delete(ga);
	free(a);
	free(b);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ events */

START_TEST(each_change_writes_an_outbox_event)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	long long before = outbox_count(t.id);
	char *id = obj_make(t.key, "contacts", "{\"name\":\"evented\"}");
	char *ev = events_of(id);
	ck_assert_str_eq(ev, "object.created");
	free(ev);
	http_resp *r = call("PATCH", t.key, "{\"properties\":{\"city\":\"Oslo\"}}", "/v1/objects/contacts/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/objects/contacts/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/objects/contacts/%s/restore", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	ev = events_of(id);
	ck_assert_str_eq(ev, "object.created object.updated object.deleted object.restored");
	free(ev);
	r = call("DELETE", t.key, NULL, "/v1/objects/contacts/%s?force=true", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	ev = events_of(id);
	ck_assert_str_eq(ev, "object.created object.updated object.deleted object.restored object.deleted");
	free(ev);
	ck_assert_int_eq(outbox_count(t.id), before + 5);
	/* The rows name the tenant and the kind of resource. */
	char *sql = strf("SELECT DISTINCT tenant_id, resource_type FROM outbox WHERE resource_id='%s'", id);
	char *rows = control_sql(sql);
	char *want = strf("%s\tobject", t.id);
	ck_assert_str_eq(rows, want);
	free(want);
	free(rows);
	free(sql);

	/* Failures write nothing. */
	before = outbox_count(t.id);
	char *other = obj_make(t.key, "contacts", "{\"name\":\"other\"}");
	r = obj_create(t.key, "contacts", "{\"city\":\"no name\"}");
	assert_invalid(r, "properties.name");
	http_free(r);
	const char *h[] = { "If-Match: 9", NULL };
	r = call_h("PATCH", t.key, "{\"properties\":{\"city\":\"x\"}}", h, "/v1/objects/contacts/%s", other);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/objects/contacts/%s/restore", other);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	ck_assert_int_eq(outbox_count(t.id), before + 1);
	ev = events_of(other);
	ck_assert_str_eq(ev, "object.created");
	free(ev);
	free(other);
	free(id);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ who may call */

static void assert_all_refused(const char *token, const char *id, long status, const char *code,
			       bool writes_only)
{
	char *batch_read = strf("{\"object_ids\":[\"%s\"]}", id);
	char *batch_update = strf("{\"updates\":[{\"object_id\":\"%s\",\"properties\":{\"city\":\"x\"}}]}", id);
	const struct {
		const char *method, *path, *body;
		bool write;
	} calls[] = {
		{ "POST", "/v1/objects/contacts", "{\"properties\":{\"name\":\"x\"}}", true },
		{ "PATCH", "/v1/objects/contacts/%s", "{\"properties\":{\"city\":\"x\"}}", true },
		{ "DELETE", "/v1/objects/contacts/%s", NULL, true },
		{ "DELETE", "/v1/objects/contacts/%s?force=true", NULL, true },
		{ "POST", "/v1/objects/contacts/%s/restore", NULL, true },
		{ "POST", "/v1/objects/contacts/batch/create", "{\"objects\":[{\"properties\":{\"name\":\"x\"}}]}", true },
		{ "POST", "/v1/objects/contacts/batch/update", batch_update, true },
		{ "GET", "/v1/objects/contacts/%s", NULL, false },
		{ "GET", "/v1/objects/contacts/list", NULL, false },
		{ "GET", "/v1/objects/contacts/trash", NULL, false },
		{ "GET", "/v1/objects/contacts/%s/versions", NULL, false },
		{ "POST", "/v1/objects/contacts/batch/read", batch_read, false },
	};
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		if (writes_only && !calls[i].write)
			continue;
		char *path = strf(calls[i].path, id);
		http_resp *r = call(calls[i].method, token, calls[i].body, "%s", path);
		ck_assert_msg(r->status == status, "%s %s: want %ld, got %ld %s", calls[i].method, path, status,
			      r->status, r->body);
		assert_envelope(r, status, code);
		http_free(r);
		free(path);
	}
	free(batch_read);
	free(batch_update);
}

START_TEST(end_user_sees_and_changes_nothing_without_policies)
{
	/* PostgreSQL's RLS default: with no policy, rows are invisible and
	 * inserts are refused. */
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	char *id = obj_make(t.key, "contacts", "{\"name\":\"private\"}");
	char *jwt = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	http_resp *r = call("POST", jwt, "{\"properties\":{\"name\":\"mine\"}}", "/v1/objects/contacts");
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = call("GET", jwt, NULL, "/v1/objects/contacts/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", jwt, "{\"properties\":{\"name\":\"x\"}}", "/v1/objects/contacts/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", jwt, NULL, "/v1/objects/contacts/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", jwt, NULL, "/v1/objects/contacts/%s/versions", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", jwt, NULL, "/v1/objects/contacts/list");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(resp_data(r), "results")), 0);
	ck_assert_int_eq((int)cJSON_GetObjectItem(resp_data(r), "total")->valuedouble, 0);
	http_free(r);
	char *body = strf("{\"object_ids\":[\"%s\"]}", id);
	r = call("POST", jwt, body, "/v1/objects/contacts/batch/read");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	free(body);
	/* Nothing changed. */
	cJSON *g = obj_fetch(t.key, "contacts", id);
	ck_assert_int_eq(num_of(g, "version"), 1);
	cJSON_Delete(g);
	ck_assert_int_eq(total_of(t.key, "contacts"), 1);
	free(jwt);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(read_key_reads_but_cannot_write)
{
	struct tenant t;
	tenant_make_keyed(&t, "pro");
	contacts_make(t.key);
	char *id = obj_make(t.key, "contacts", "{\"name\":\"shared\"}");
	char *read = key_new(t.key, "{\"label\":\"reader\",\"scopes\":[\"read\"]}", NULL);
	cJSON *g = obj_fetch(read, "contacts", id);
	ck_assert_ptr_nonnull(g);
	assert_prop(g, "name", "\"shared\"");
	cJSON_Delete(g);
	cJSON *l = list_of(read, "contacts", "list", NULL);
	ck_assert_int_eq(num_of(l, "total"), 1);
	cJSON_Delete(l);
	char *body = strf("{\"object_ids\":[\"%s\"]}", id);
	http_resp *r = call("POST", read, body, "/v1/objects/contacts/batch/read");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	free(body);
	r = call("GET", read, NULL, "/v1/objects/contacts/%s/versions", id);
	assert_envelope(r, 200, NULL);
	http_free(r);

	assert_all_refused(read, id, 403, "INSUFFICIENT_SCOPE", true);
	g = obj_fetch(t.key, "contacts", id);
	ck_assert_int_eq(num_of(g, "version"), 1);
	cJSON_Delete(g);
	ck_assert_int_eq(total_of(t.key, "contacts"), 1);
	free(read);
	free(id);
	tenant_drop(&t);
}
END_TEST

Suite *suite_objects(void)
{
	Suite *s = suite_create("objects");
	TCase *tc = tcase_new_slow(s, "create");
	tcase_add_test(tc, create_returns_the_whole_object);
	tcase_add_test(tc, create_by_type_id_or_name);
	tcase_add_test(tc, each_data_type_accepts_a_valid_value);
	tcase_add_test(tc, each_data_type_rejects_an_invalid_value);
	tcase_add_test(tc, string_length_counts_characters);
	tcase_add_test(tc, decimal_and_currency_keep_exact_text);
	tcase_add_test(tc, numbers_keep_every_digit);
	tcase_add_test(tc, datetime_is_normalised_to_utc);
	tcase_add_test(tc, reference_must_be_an_object_of_this_tenant);
	tcase_add_test(tc, unknown_and_missing_properties_are_rejected);
	tcase_add_test(tc, unique_property_conflicts_among_live_objects);

	tc = tcase_new_slow(s, "get");
	tcase_add_test(tc, get_unknown_or_other_type_is_404);
	tcase_add_test(tc, other_tenant_cannot_touch_objects);

	tc = tcase_new_slow(s, "update");
	tcase_add_test(tc, patch_merges_and_null_removes);
	tcase_add_test(tc, if_match_and_body_version_guard_updates);
	tcase_add_test(tc, concurrent_updates_of_one_version_let_one_win);
	tcase_add_test(tc, versions_list_previous_versions_newest_first);

	tc = tcase_new_slow(s, "delete");
	tcase_add_test(tc, soft_delete_trash_and_restore);
	tcase_add_test(tc, force_delete_is_permanent);
	tcase_add_test(tc, racing_deletes_delete_once);

	tc = tcase_new_slow(s, "list");
	tcase_add_test(tc, list_limit_default_and_bounds);
	tcase_add_test(tc, list_sorts_both_ways_with_missing_values_last);
	tcase_add_test(tc, list_filters_with_every_operator);
	tcase_add_test(tc, list_rejects_bad_filters);
	tcase_add_test(tc, cursor_walk_by_created_at_sees_each_object_once);
	tcase_add_test(tc, cursor_walk_by_property_under_inserts);
	tcase_add_test(tc, cursor_errors);

	tc = tcase_new_slow(s, "batch");
	tcase_add_test(tc, batch_create_creates_all);
	tcase_add_test(tc, batch_create_is_all_or_nothing);
	tcase_add_test(tc, batch_read_returns_found_objects_in_order_asked);
	tcase_add_test(tc, batch_update_is_all_or_nothing);

	tc = tcase_new_slow(s, "events");
	tcase_add_test(tc, each_change_writes_an_outbox_event);

	tc = tcase_new_slow(s, "access");
	tcase_add_test(tc, end_user_sees_and_changes_nothing_without_policies);
	tcase_add_test(tc, read_key_reads_but_cannot_write);
	return s;
}
