/*
 * test_views.c - saved views end to end: the four view endpoints through
 * nginx → FastCGI → MariaDB; filters checked by the object list's rules,
 * sort and columns checked against the type, unique names per type, 404
 * across types and tenants, scopes and the audit trail.  Each test makes
 * its own tenant(s).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------ helpers */

/* Appends printf-formatted text to buf (truncating at its size). */
static void append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/* A type "deals" with one property of each kind the rules tell apart. */
static char *deals_new(const char *key)
{
	char *id = type_make(key, "deals");
	prop_make(key, id, "{\"name\":\"title\",\"data_type\":\"string\"}");
	prop_make(key, id, "{\"name\":\"score\",\"data_type\":\"integer\",\"is_sortable\":true}");
	prop_make(key, id, "{\"name\":\"amount\",\"data_type\":\"decimal\"}");
	prop_make(key, id, "{\"name\":\"status\",\"data_type\":\"enum\",\"enum_values\":[\"open\",\"won\"]}");
	prop_make(key, id, "{\"name\":\"tags\",\"data_type\":\"multi_enum\",\"enum_values\":[\"a\",\"b\"]}");
	prop_make(key, id, "{\"name\":\"meta\",\"data_type\":\"json\"}");
	prop_make(key, id, "{\"name\":\"active\",\"data_type\":\"boolean\"}");
	return id;
}

/* Creates a view from a JSON body, asserts 201, returns its id. */
static char *view_new(const char *key, const char *type, const char *body)
{
	http_resp *r = call("POST", key, body, "/v1/object-types/%s/views", type);
	assert_envelope(r, 201, NULL);
	const char *id = json_str(resp_data(r), "id");
	ck_assert_msg(id && strncmp(id, "view_", 5) == 0, "view id: %s", r->body);
	char *out = strdup(id);
	http_free(r);
	return out;
}

static http_resp *views_list(const char *key, const char *type)
{
	http_resp *r = call("GET", key, NULL, "/v1/object-types/%s/views", type);
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsArray(resp_data(r)), "list is not an array: %s", r->body);
	return r;
}

/* ------------------------------------------------------------ CRUD */

START_TEST(create_view_with_defaults)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_new(t.key);
	http_resp *r = call("POST", t.key, "{\"name\":\"Everything\"}", "/v1/object-types/%s/views", ty);
	assert_envelope(r, 201, NULL);
	const cJSON *v = resp_data(r);
	ck_assert_msg(strncmp(json_str(v, "id"), "view_", 5) == 0, "id: %s", r->body);
	ck_assert_str_eq(json_str(v, "object_type_id"), ty);
	ck_assert_str_eq(json_str(v, "name"), "Everything");
	assert_json_eq(v, "filters", "[]");
	assert_json_eq(v, "sort", "null");
	assert_json_eq(v, "columns", "null");
	ck_assert_msg(json_str(v, "created_by") != NULL, "created_by: %s", r->body);
	assert_rfc3339(v, "created_at");
	assert_rfc3339(v, "updated_at");
	http_free(r);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(create_view_keeps_filters_sort_and_columns)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_new(t.key);
	static const char filters[] =
		"[{\"property\":\"status\",\"operator\":\"eq\",\"value\":\"open\"},"
		"{\"property\":\"score\",\"operator\":\"gte\",\"value\":3},"
		"{\"property\":\"score\",\"operator\":\"in\",\"value\":[1,2,3]},"
		"{\"property\":\"title\",\"operator\":\"starts_with\",\"value\":\"Ac\"},"
		"{\"property\":\"tags\",\"operator\":\"contains\",\"value\":\"a\"},"
		"{\"property\":\"meta\",\"operator\":\"is_null\"},"
		"{\"property\":\"amount\",\"operator\":\"lt\",\"value\":\"10.50\"},"
		"{\"property\":\"active\",\"operator\":\"eq\",\"value\":true},"
		"{\"property\":\"created_at\",\"operator\":\"gt\",\"value\":\"2026-01-01T00:00:00Z\"},"
		"{\"property\":\"id\",\"operator\":\"contains\",\"value\":\"obj_\"},"
		"{\"property\":\"updated_at\",\"operator\":\"is_not_null\"}]";
	char body[2048];
	snprintf(body, sizeof(body),
		 "{\"name\":\"Open deals\",\"filters\":%s,\"sort\":{\"property\":\"score\",\"order\":\"asc\"},"
		 "\"columns\":[\"title\",\"score\",\"created_at\",\"id\"]}", filters);
	http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/views", ty);
	assert_envelope(r, 201, NULL);
	const cJSON *v = resp_data(r);
	assert_json_eq(v, "filters", filters);
	assert_json_eq(v, "sort", "{\"property\":\"score\",\"order\":\"asc\"}");
	assert_json_eq(v, "columns", "[\"title\",\"score\",\"created_at\",\"id\"]");
	char *id = strdup(json_str(v, "id"));
	http_free(r);
	/* The list shows the same. */
	r = views_list(t.key, "deals");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	const cJSON *l = cJSON_GetArrayItem(resp_data(r), 0);
	ck_assert_str_eq(json_str(l, "id"), id);
	assert_json_eq(l, "filters", filters);
	http_free(r);
	/* Order defaults to the list's default, desc; null filters are []. */
	r = call("POST", t.key, "{\"name\":\"Recent\",\"filters\":null,\"sort\":{\"property\":\"updated_at\"}}",
		 "/v1/object-types/%s/views", ty);
	assert_envelope(r, 201, NULL);
	assert_json_eq(resp_data(r), "sort", "{\"property\":\"updated_at\",\"order\":\"desc\"}");
	assert_json_eq(resp_data(r), "filters", "[]");
	http_free(r);
	free(id);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(list_views_by_name_per_type)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_new(t.key);
	char *other = type_make(t.key, "leads");
	free(view_new(t.key, ty, "{\"name\":\"beta\"}"));
	free(view_new(t.key, ty, "{\"name\":\"Alpha\"}"));
	free(view_new(t.key, ty, "{\"name\":\"gamma\"}"));
	free(view_new(t.key, other, "{\"name\":\"aaa\"}"));
	http_resp *r = views_list(t.key, ty);
	const cJSON *l = resp_data(r);
	ck_assert_int_eq(cJSON_GetArraySize(l), 3);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, 0), "name"), "Alpha");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, 1), "name"), "beta");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, 2), "name"), "gamma");
	http_free(r);
	r = views_list(t.key, "leads");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	free(ty);
	free(other);
	tenant_drop(&t);
}
END_TEST

START_TEST(patch_view_changes_only_what_is_given)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_new(t.key);
	char *id = view_new(t.key, ty,
			    "{\"name\":\"Mine\",\"filters\":[{\"property\":\"score\",\"operator\":\"gt\",\"value\":1}],"
			    "\"sort\":{\"property\":\"created_at\",\"order\":\"asc\"},\"columns\":[\"title\"]}");
	http_resp *r = call("PATCH", t.key, "{\"name\":\"Renamed\"}", "/v1/object-types/%s/views/%s", ty, id);
	assert_envelope(r, 200, NULL);
	const cJSON *v = resp_data(r);
	ck_assert_str_eq(json_str(v, "id"), id);
	ck_assert_str_eq(json_str(v, "name"), "Renamed");
	assert_json_eq(v, "filters", "[{\"property\":\"score\",\"operator\":\"gt\",\"value\":1}]");
	assert_json_eq(v, "sort", "{\"property\":\"created_at\",\"order\":\"asc\"}");
	assert_json_eq(v, "columns", "[\"title\"]");
	http_free(r);
	r = call("PATCH", t.key,
		 "{\"filters\":[{\"property\":\"status\",\"operator\":\"neq\",\"value\":\"won\"}],"
		 "\"sort\":null,\"columns\":null}", "/v1/object-types/deals/views/%s", id);
	assert_envelope(r, 200, NULL);
	v = resp_data(r);
	ck_assert_str_eq(json_str(v, "name"), "Renamed");
	assert_json_eq(v, "filters", "[{\"property\":\"status\",\"operator\":\"neq\",\"value\":\"won\"}]");
	assert_json_eq(v, "sort", "null");
	assert_json_eq(v, "columns", "null");
	ck_assert_msg(strcmp(json_str(v, "updated_at"), json_str(v, "created_at")) >= 0, "%s", r->body);
	http_free(r);
	/* filters: null empties them. */
	r = call("PATCH", t.key, "{\"filters\":null}", "/v1/object-types/%s/views/%s", ty, id);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "filters", "[]");
	http_free(r);
	/* A refused PATCH changes nothing. */
	r = call("PATCH", t.key, "{\"name\":\"Other\",\"columns\":[\"nope\"]}", "/v1/object-types/%s/views/%s", ty, id);
	assert_invalid(r, "columns[0]");
	http_free(r);
	r = views_list(t.key, ty);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(resp_data(r), 0), "name"), "Renamed");
	http_free(r);
	free(id);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(delete_view)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_new(t.key);
	char *id = view_new(t.key, ty, "{\"name\":\"Gone soon\"}");
	char *keep = view_new(t.key, ty, "{\"name\":\"Stays\"}");
	http_resp *r = call("DELETE", t.key, NULL, "/v1/object-types/%s/views/%s", ty, id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "deleted")));
	http_free(r);
	r = views_list(t.key, ty);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(resp_data(r), 0), "id"), keep);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s/views/%s", ty, id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", t.key, "{\"name\":\"x\"}", "/v1/object-types/%s/views/%s", ty, id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* The name is free again. */
	free(view_new(t.key, ty, "{\"name\":\"Gone soon\"}"));
	free(keep);
	free(id);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(views_go_with_their_type)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = type_make(t.key, "shortlived");
	free(view_new(t.key, ty, "{\"name\":\"All\"}"));
	http_resp *r = call("DELETE", t.key, NULL, "/v1/object-types/%s", ty);
	if (r->status == 409) {
		/* Secure delete counting the view: confirm. */
		char *tok = strdup(json_str(item(r->json, "error"), "confirm_token"));
		http_free(r);
		r = call("DELETE", t.key, NULL, "/v1/object-types/%s?force=true&confirm_token=%s", ty, tok);
		free(tok);
	}
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *again = type_make(t.key, "shortlived");
	r = views_list(t.key, again);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	/* The old name is free on the new type. */
	free(view_new(t.key, again, "{\"name\":\"All\"}"));
	free(again);
	free(ty);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ validation */

START_TEST(invalid_filters_are_400_naming_the_filter)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_new(t.key);
	char big_in[1024] = "[";
	for (int i = 0; i < 101; i++)
		append(big_in, sizeof(big_in), "%s%d", i ? "," : "", i);
	append(big_in, sizeof(big_in), "]");
	char big_case[1200];
	snprintf(big_case, sizeof(big_case), "{\"property\":\"score\",\"operator\":\"in\",\"value\":%s}", big_in);
	const char *bad[] = {
		"\"score > 3\"",                                                     /* not an object */
		"{\"property\":\"score\",\"value\":3}",                              /* no operator */
		"{\"operator\":\"eq\",\"value\":3}",                                 /* no property */
		"{\"property\":\"nope\",\"operator\":\"eq\",\"value\":3}",           /* unknown property */
		"{\"property\":\"score\",\"operator\":\"like\",\"value\":3}",        /* unknown operator */
		"{\"property\":\"score\",\"operator\":\"eq\"}",                      /* no value */
		"{\"property\":\"score\",\"operator\":\"eq\",\"value\":\"three\"}",  /* wrong type */
		"{\"property\":\"score\",\"operator\":\"eq\",\"value\":1.5}",        /* not an integer */
		"{\"property\":\"status\",\"operator\":\"eq\",\"value\":\"lost\"}",  /* not an enum value */
		"{\"property\":\"active\",\"operator\":\"eq\",\"value\":\"yes\"}",   /* not a boolean */
		"{\"property\":\"amount\",\"operator\":\"gt\",\"value\":\"1.2.3\"}", /* not a decimal */
		"{\"property\":\"tags\",\"operator\":\"eq\",\"value\":\"a\"}",       /* doc type: eq */
		"{\"property\":\"meta\",\"operator\":\"gt\",\"value\":1}",           /* doc type: gt */
		"{\"property\":\"tags\",\"operator\":\"in\",\"value\":[\"a\"]}",     /* doc type: in */
		"{\"property\":\"tags\",\"operator\":\"starts_with\",\"value\":\"a\"}", /* doc type */
		"{\"property\":\"score\",\"operator\":\"in\",\"value\":[]}",         /* in: empty */
		"{\"property\":\"score\",\"operator\":\"nin\",\"value\":3}",         /* nin: not array */
		"{\"property\":\"score\",\"operator\":\"in\",\"value\":[1,\"x\"]}",  /* in: bad value */
		big_case,                                                            /* in: 101 values */
		"{\"property\":\"score\",\"operator\":\"contains\",\"value\":\"1\"}", /* not text */
		"{\"property\":\"title\",\"operator\":\"contains\",\"value\":5}",    /* not a string */
		"{\"property\":\"created_at\",\"operator\":\"gt\",\"value\":\"yesterday\"}",
		"{\"property\":\"created_at\",\"operator\":\"starts_with\",\"value\":\"2026\"}",
		"{\"property\":\"id\",\"operator\":\"eq\",\"value\":5}",
		NULL,
	};
	static const char ok[] = "{\"property\":\"title\",\"operator\":\"eq\",\"value\":\"x\"}";
	for (int i = 0; bad[i]; i++) {
		char body[2048];
		snprintf(body, sizeof(body), "{\"name\":\"v%d\",\"filters\":[%s,%s]}", i, ok, bad[i]);
		http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/views", ty);
		ck_assert_msg(r->status == 400, "case %d (%s) was accepted: %s", i, bad[i], r->body);
		assert_invalid(r, "filters[1]");
		http_free(r);
	}
	/* The same on PATCH. */
	char *id = view_new(t.key, ty, "{\"name\":\"fine\"}");
	http_resp *r = call("PATCH", t.key, "{\"filters\":[{\"property\":\"nope\",\"operator\":\"eq\",\"value\":1}]}",
			    "/v1/object-types/%s/views/%s", ty, id);
	assert_invalid(r, "filters[0]");
	http_free(r);
	/* filters that are not an array, or too many of them. */
	r = call("POST", t.key, "{\"name\":\"x\",\"filters\":{\"property\":\"score\"}}", "/v1/object-types/%s/views", ty);
	assert_invalid(r, "filters");
	http_free(r);
	char many[4096] = "{\"name\":\"x\",\"filters\":[";
	for (int i = 0; i < 21; i++)
		append(many, sizeof(many), "%s%s", i ? "," : "", ok);
	append(many, sizeof(many), "]}");
	r = call("POST", t.key, many, "/v1/object-types/%s/views", ty);
	assert_invalid(r, "filters");
	http_free(r);
	/* Nothing was written. */
	r = views_list(t.key, ty);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	free(id);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(invalid_sort_is_400)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_new(t.key);
	static const struct { const char *sort, *field; } cases[] = {
		{ "{}", "sort.property" },
		{ "{\"order\":\"asc\"}", "sort.property" },
		{ "{\"property\":5}", "sort.property" },
		{ "{\"property\":\"nope\"}", "sort.property" },
		{ "{\"property\":\"title\"}", "sort.property" },     /* not sortable */
		{ "{\"property\":\"id\"}", "sort.property" },
		{ "{\"property\":\"score\",\"order\":\"up\"}", "sort.order" },
		{ "{\"property\":\"score\",\"order\":1}", "sort.order" },
		{ "{\"property\":\"score\",\"nulls\":\"last\"}", "sort.nulls" },
		{ "\"score\"", "sort" },
		{ "[\"score\"]", "sort" },
		{ NULL, NULL },
	};
	for (int i = 0; cases[i].sort; i++) {
		char body[512];
		snprintf(body, sizeof(body), "{\"name\":\"s%d\",\"sort\":%s}", i, cases[i].sort);
		http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/views", ty);
		assert_invalid(r, cases[i].field);
		http_free(r);
	}
	http_resp *r = views_list(t.key, ty);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(invalid_columns_and_names_are_400)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_new(t.key);
	static const struct { const char *body, *field; } cases[] = {
		{ "{\"name\":\"c\",\"columns\":[\"title\",\"nope\"]}", "columns[1]" },
		{ "{\"name\":\"c\",\"columns\":[\"title\",\"title\"]}", "columns[1]" },
		{ "{\"name\":\"c\",\"columns\":[\"title\",3]}", "columns" },
		{ "{\"name\":\"c\",\"columns\":\"title\"}", "columns" },
		{ "{\"filters\":[]}", "name" },
		{ "{\"name\":\"\"}", "name" },
		{ "{\"name\":\"   \"}", "name" },
		{ "{\"name\":null}", "name" },
		{ "{\"name\":7}", "name" },
		{ "{\"name\":\"ok\",\"color\":\"red\"}", "color" },
		{ NULL, NULL },
	};
	for (int i = 0; cases[i].body; i++) {
		http_resp *r = call("POST", t.key, cases[i].body, "/v1/object-types/%s/views", ty);
		assert_invalid(r, cases[i].field);
		http_free(r);
	}
	char body[600] = "{\"name\":\"";
	for (int i = 0; i < 256; i++)
		append(body, sizeof(body), "n");
	append(body, sizeof(body), "\"}");
	http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/views", ty);
	assert_invalid(r, "name");
	http_free(r);
	/* 255 characters are fine, so are the object's own fields as columns. */
	body[9 + 255] = '\0';
	append(body, sizeof(body),
	       "\",\"columns\":[\"id\",\"created_at\",\"updated_at\",\"created_by\",\"version\",\"tags\"]}");
	free(view_new(t.key, ty, body));
	/* PATCH refuses a null or empty name. */
	char *id = view_new(t.key, ty, "{\"name\":\"p\"}");
	r = call("PATCH", t.key, "{\"name\":null}", "/v1/object-types/%s/views/%s", ty, id);
	assert_invalid(r, "name");
	http_free(r);
	r = call("PATCH", t.key, "{\"name\":\"\"}", "/v1/object-types/%s/views/%s", ty, id);
	assert_invalid(r, "name");
	http_free(r);
	r = views_list(t.key, ty);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 2);
	http_free(r);
	free(id);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(duplicate_view_name_is_409)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_new(t.key);
	char *other = type_make(t.key, "leads");
	free(view_new(t.key, ty, "{\"name\":\"Pipeline\"}"));
	char *second = view_new(t.key, ty, "{\"name\":\"Second\"}");
	static const char *const dups[] = { "{\"name\":\"Pipeline\"}", "{\"name\":\"PIPELINE\"}", NULL };
	for (int i = 0; dups[i]; i++) {
		http_resp *r = call("POST", t.key, dups[i], "/v1/object-types/%s/views", ty);
		assert_envelope(r, 409, "CONFLICT");
		const char *f = detail_field(r);
		ck_assert_msg(f && !strcmp(f, "name"), "409 should name name: %s", r->body);
		http_free(r);
	}
	/* Renaming onto a taken name is 409 and changes nothing. */
	http_resp *r = call("PATCH", t.key, "{\"name\":\"Pipeline\",\"columns\":[\"title\"]}",
			    "/v1/object-types/%s/views/%s", ty, second);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = views_list(t.key, ty);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 2);
	const cJSON *s = cJSON_GetArrayItem(resp_data(r), 1);
	ck_assert_str_eq(json_str(s, "name"), "Second");
	assert_json_eq(s, "columns", "null");
	http_free(r);
	/* Keeping its own name is no conflict; another type may use it. */
	r = call("PATCH", t.key, "{\"name\":\"Second\"}", "/v1/object-types/%s/views/%s", ty, second);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(view_new(t.key, other, "{\"name\":\"Pipeline\"}"));
	free(second);
	free(other);
	free(ty);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ isolation */

START_TEST(unknown_views_and_types_are_404)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_new(t.key);
	char *other = type_make(t.key, "leads");
	char *id = view_new(t.key, ty, "{\"name\":\"Mine\"}");
	http_resp *r = call("GET", t.key, NULL, "/v1/object-types/nosuch/views");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"x\"}", "/v1/object-types/ot_01JD0000000000000000000000/views");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", t.key, "{\"name\":\"x\"}", "/v1/object-types/%s/views/view_01JD0000000000000000000000", ty);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* The view belongs to deals, not to leads. */
	r = call("PATCH", t.key, "{\"name\":\"x\"}", "/v1/object-types/%s/views/%s", other, id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s/views/%s", other, id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = views_list(t.key, ty);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(resp_data(r), 0), "name"), "Mine");
	http_free(r);
	free(id);
	free(other);
	free(ty);
	tenant_drop(&t);
}
END_TEST

START_TEST(other_tenant_cannot_see_or_touch_views)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	char *ta = deals_new(a.key);
	char *tb = deals_new(b.key);
	char *id = view_new(a.key, ta, "{\"name\":\"Secret\"}");
	/* b cannot reach a's type by id, nor a's view through its own type. */
	http_resp *r = call("GET", b.key, NULL, "/v1/object-types/%s/views", ta);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", b.key, "{\"name\":\"x\"}", "/v1/object-types/%s/views", ta);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", b.key, "{\"name\":\"x\"}", "/v1/object-types/deals/views/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", b.key, NULL, "/v1/object-types/%s/views/%s", tb, id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = views_list(b.key, "deals");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	/* b may use the same name; a's view is untouched. */
	free(view_new(b.key, tb, "{\"name\":\"Secret\"}"));
	r = views_list(a.key, "deals");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(resp_data(r), 0), "id"), id);
	http_free(r);
	free(id);
	free(ta);
	free(tb);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/* ------------------------------------------------------------ scopes */

START_TEST(read_key_lists_views_but_cannot_change_them)
{
	struct tenant t;
	tenant_make(&t);
	char *ty = deals_new(t.key);
	char *id = view_new(t.key, ty, "{\"name\":\"Shared\"}");
	char *read = key_new(t.key, "{\"scopes\":[\"read\"]}", NULL);
	char *write = key_new(t.key, "{\"scopes\":[\"read\",\"write\"]}", NULL);
	const char *tokens[] = { read, write, NULL };
	for (const char **tok = tokens; *tok; tok++) {
		http_resp *r = views_list(*tok, ty);
		ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
		http_free(r);
		r = call("POST", *tok, "{\"name\":\"nope\"}", "/v1/object-types/%s/views", ty);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		r = call("PATCH", *tok, "{\"name\":\"nope\"}", "/v1/object-types/%s/views/%s", ty, id);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		r = call("DELETE", *tok, NULL, "/v1/object-types/%s/views/%s", ty, id);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
	}
	/* A schema key may. */
	char *schema = key_new(t.key, "{\"scopes\":[\"schema\"]}", NULL);
	char *id2 = view_new(schema, ty, "{\"name\":\"By schema key\"}");
	http_resp *r = call("PATCH", schema, "{\"name\":\"Renamed\"}", "/v1/object-types/%s/views/%s", ty, id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", schema, NULL, "/v1/object-types/%s/views/%s", ty, id2);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = views_list(t.key, ty);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(resp_data(r), 0), "name"), "Renamed");
	http_free(r);
	free(schema);
	free(read);
	free(write);
	free(id2);
	free(id);
	free(ty);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ audit */

START_TEST(audit_records_view_changes)
{
	struct tenant t, other;
	tenant_make(&t);
	tenant_make(&other);
	char *ot = type_make(other.key, "noise");
	free(view_new(other.key, ot, "{\"name\":\"noise view\"}"));
	char *ty = deals_new(t.key);
	char *id = view_new(t.key, ty, "{\"name\":\"Audited\"}");
	http_resp *r = call("PATCH", t.key, "{\"name\":\"Audited two\"}", "/v1/object-types/%s/views/%s", ty, id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s/views/%s", ty, id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* Refused changes leave nothing. */
	r = call("POST", t.key, "{\"name\":\"bad\",\"columns\":[\"nope\"]}", "/v1/object-types/%s/views", ty);
	assert_envelope(r, 400, "VALIDATION_ERROR");
	http_free(r);

	r = http_get("/v1/audit-logs?resource_type=view", t.key);
	assert_envelope(r, 200, NULL);
	const cJSON *logs = item(resp_data(r), "logs");
	ck_assert_msg(cJSON_GetArraySize(logs) == 3 && item(resp_data(r), "total")->valueint == 3,
		      "want 3 entries: %s", r->body);
	static const char *const actions[] = { "view.created", "view.updated", "view.deleted" };
	static const char *const names[] = { "Audited", "Audited two", "Audited two" };
	for (int i = 0; i < 3; i++) {
		const cJSON *e = audit_find(logs, actions[i], id);
		ck_assert_msg(e != NULL, "no %s for %s: %s", actions[i], id, r->body);
		ck_assert_str_eq(json_str(e, "resource_type"), "view");
		ck_assert_str_eq(json_str(e, "actor_type"), "api_key");
		ck_assert_str_eq(json_str(item(e, "details"), "name"), names[i]);
		ck_assert_str_eq(json_str(item(e, "details"), "object_type_id"), ty);
	}
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(logs, 0), "action"), "view.deleted");
	ck_assert_msg(!strstr(r->body, "noise"), "another tenant's entry: %s", r->body);
	http_free(r);
	free(id);
	free(ty);
	free(ot);
	tenant_drop(&t);
	tenant_drop(&other);
}
END_TEST

Suite *suite_views(void)
{
	Suite *s = suite_create("views");
	TCase *tc = tcase_new_slow(s, "crud");
	tcase_add_test(tc, create_view_with_defaults);
	tcase_add_test(tc, create_view_keeps_filters_sort_and_columns);
	tcase_add_test(tc, list_views_by_name_per_type);
	tcase_add_test(tc, patch_view_changes_only_what_is_given);
	tcase_add_test(tc, delete_view);
	tcase_add_test(tc, views_go_with_their_type);

	tc = tcase_new_slow(s, "validation");
	tcase_add_test(tc, invalid_filters_are_400_naming_the_filter);
	tcase_add_test(tc, invalid_sort_is_400);
	tcase_add_test(tc, invalid_columns_and_names_are_400);
	tcase_add_test(tc, duplicate_view_name_is_409);

	tc = tcase_new_slow(s, "isolation");
	tcase_add_test(tc, unknown_views_and_types_are_404);
	tcase_add_test(tc, other_tenant_cannot_see_or_touch_views);

	tc = tcase_new_slow(s, "scopes");
	tcase_add_test(tc, read_key_lists_views_but_cannot_change_them);

	tc = tcase_new_slow(s, "audit");
	tcase_add_test(tc, audit_records_view_changes);
	return s;
}
