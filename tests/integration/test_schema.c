/*
 * test_schema.c - object types and their properties end to end: the nine
 * schema endpoints through nginx → FastCGI → MariaDB, the 22 data types and
 * what each accepts, names, flags and defaults, renames and secure delete,
 * scopes, tenant isolation and the audit trail.  Each test makes its own
 * tenant(s).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------ helpers */

static const cJSON *error_of(const http_resp *r)
{
	return item(r->json, "error");
}

static void assert_bool(const cJSON *o, const char *name, bool want)
{
	const cJSON *v = item(o, name);
	ck_assert_msg(cJSON_IsBool(v) && (bool)cJSON_IsTrue(v) == want, "%s should be %s in %s", name,
		      want ? "true" : "false", cJSON_PrintUnformatted(o));
}

static void assert_null(const cJSON *o, const char *name)
{
	const cJSON *v = item(o, name);
	ck_assert_msg(cJSON_IsNull(v), "%s should be null (present) in %s", name, cJSON_PrintUnformatted(o));
}

/* GET of a type (by id or name), asserting 200; caller frees. */
static http_resp *type_get(const char *key, const char *type)
{
	http_resp *r = call("GET", key, NULL, "/v1/object-types/%s", type);
	assert_envelope(r, 200, NULL);
	return r;
}

static void assert_type_404(const char *key, const char *method, const char *type, const char *body)
{
	http_resp *r = call(method, key, body, "/v1/object-types/%s", type);
	assert_envelope(r, 404, "NOT_FOUND");
	ck_assert_msg(resp_data(r) == NULL || cJSON_IsNull(resp_data(r)), "404 with data: %s", r->body);
	http_free(r);
}

/* The properties list of a type (a copy; caller deletes). */
static cJSON *props_list(const char *key, const char *type)
{
	http_resp *r = call("GET", key, NULL, "/v1/object-types/%s/properties", type);
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsArray(resp_data(r)), "properties list is not an array: %s", r->body);
	cJSON *l = cJSON_Duplicate(resp_data(r), true);
	http_free(r);
	return l;
}

static cJSON *types_list(const char *key)
{
	http_resp *r = http_get("/v1/object-types", key);
	assert_envelope(r, 200, NULL);
	ck_assert_msg(cJSON_IsArray(resp_data(r)), "type list is not an array: %s", r->body);
	cJSON *l = cJSON_Duplicate(resp_data(r), true);
	http_free(r);
	return l;
}

static int types_count(const char *key)
{
	cJSON *l = types_list(key);
	int n = cJSON_GetArraySize(l);
	cJSON_Delete(l);
	return n;
}

/* A DELETE answered 409 DEPENDENCY_EXISTS: returns the confirm_token. */
static char *delete_conflict(const char *key, const char *type)
{
	http_resp *r = call("DELETE", key, NULL, "/v1/object-types/%s", type);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	const char *tok = json_str(error_of(r), "confirm_token");
	ck_assert_msg(tok && strncmp(tok, "ct_", 3) == 0, "confirm_token: %s", r->body);
	char *t = strdup(tok);
	http_free(r);
	return t;
}

static void assert_property_fields(const cJSON *p, const char *type_id, const char *name,
				   const char *data_type)
{
	const char *id = json_str(p, "id");
	ck_assert_msg(id && strncmp(id, "prop_", 5) == 0 && strlen(id) > 10, "property id: %s",
		      cJSON_PrintUnformatted(p));
	ck_assert_str_eq(json_str(p, "object_type_id"), type_id);
	ck_assert_str_eq(json_str(p, "name"), name);
	ck_assert_msg(json_str(p, "display_name") && *json_str(p, "display_name"), "display_name of %s", name);
	ck_assert_str_eq(json_str(p, "data_type"), data_type);
	static const char *const flags[] = { "is_required", "is_unique", "is_indexed", "is_sortable" };
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		ck_assert_msg(cJSON_IsBool(item(p, flags[i])), "%s of %s", flags[i], name);
	ck_assert_msg(item(p, "default_value") != NULL, "default_value absent in %s", name);
	ck_assert_msg(item(p, "enum_values") != NULL, "enum_values absent in %s", name);
	ck_assert_msg(item(p, "description") != NULL, "description absent in %s", name);
	assert_rfc3339(p, "created_at");
	assert_rfc3339(p, "updated_at");
}

/* The 22 data types, with what a property of each needs besides its name. */
static const struct {
	const char *type;
	const char *extra; /* JSON members to add, or "" */
	bool indexable;
} data_types[] = {
	{ "string", "", true },
	{ "text", "", false },
	{ "rich_text", "", false },
	{ "integer", "", true },
	{ "number", "", true },
	{ "decimal", "", true },
	{ "currency", "", true },
	{ "percent", "", true },
	{ "boolean", "", true },
	{ "date", "", true },
	{ "datetime", "", true },
	{ "time", "", true },
	{ "email", "", true },
	{ "url", "", false },
	{ "phone", "", true },
	{ "enum", ",\"enum_values\":[\"a\",\"b\",\"c\"]", true },
	{ "multi_enum", ",\"enum_values\":[\"a\",\"b\",\"c\"]", false },
	{ "json", "", false },
	{ "array", "", false },
	{ "reference", "", true },
	{ "file", "", true },
	{ "geo_point", "", false },
};
#define NTYPES ((int)(sizeof(data_types) / sizeof(data_types[0])))

/* ------------------------------------------------------------ object types */

START_TEST(create_type_returns_it_with_derived_display_name)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = http_json("POST", "/v1/object-types", t.key, "{\"name\":\"sales_orders\"}");
	assert_envelope(r, 201, NULL);
	const cJSON *d = resp_data(r);
	const char *id = json_str(d, "id");
	ck_assert_msg(id && strncmp(id, "ot_", 3) == 0 && strlen(id) > 10, "id: %s", r->body);
	ck_assert_str_eq(json_str(d, "tenant_id"), t.id);
	ck_assert_str_eq(json_str(d, "name"), "sales_orders");
	ck_assert_str_eq(json_str(d, "display_name"), "Sales Orders");
	assert_null(d, "description");
	assert_rfc3339(d, "created_at");
	assert_rfc3339(d, "updated_at");
	const cJSON *props = item(d, "properties");
	ck_assert_msg(cJSON_IsArray(props) && cJSON_GetArraySize(props) == 0, "properties: %s", r->body);
	http_free(r);

	r = http_json("POST", "/v1/object-types", t.key,
		      "{\"name\":\"contacts\",\"display_name\":\"People we know\",\"description\":\"CRM contacts\"}");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "display_name"), "People we know");
	ck_assert_str_eq(json_str(resp_data(r), "description"), "CRM contacts");
	http_free(r);
	/* A null display_name is derived too. */
	r = http_json("POST", "/v1/object-types", t.key, "{\"name\":\"line_items\",\"display_name\":null}");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "display_name"), "Line Items");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(list_types_shows_each_with_property_count)
{
	struct tenant t;
	tenant_make(&t);
	cJSON *l = types_list(t.key);
	ck_assert_int_eq(cJSON_GetArraySize(l), 0);
	cJSON_Delete(l);
	char *a = type_make(t.key, "alpha");
	char *b = type_make(t.key, "beta");
	free(prop_new(t.key, a, "{\"name\":\"x\",\"data_type\":\"string\"}"));
	free(prop_new(t.key, a, "{\"name\":\"y\",\"data_type\":\"integer\"}"));
	l = types_list(t.key);
	ck_assert_int_eq(cJSON_GetArraySize(l), 2);
	const cJSON *ta = find_by(l, "id", a), *tb = find_by(l, "id", b);
	ck_assert_msg(ta && tb, "both types listed");
	ck_assert_str_eq(json_str(ta, "name"), "alpha");
	ck_assert_str_eq(json_str(ta, "display_name"), "Alpha");
	ck_assert_str_eq(json_str(ta, "tenant_id"), t.id);
	assert_rfc3339(ta, "created_at");
	ck_assert_int_eq(item(ta, "property_count")->valueint, 2);
	ck_assert_int_eq(item(tb, "property_count")->valueint, 0);
	cJSON_Delete(l);
	free(a);
	free(b);
	tenant_drop(&t);
}
END_TEST

START_TEST(get_type_by_id_and_by_name)
{
	struct tenant t;
	tenant_make(&t);
	char *id = type_make(t.key, "tickets");
	char *pid = prop_new(t.key, "tickets", "{\"name\":\"subject\",\"data_type\":\"string\"}");
	const char *ways[] = { id, "tickets" };
	for (int i = 0; i < 2; i++) {
		http_resp *r = type_get(t.key, ways[i]);
		const cJSON *d = resp_data(r);
		ck_assert_str_eq(json_str(d, "id"), id);
		ck_assert_str_eq(json_str(d, "name"), "tickets");
		ck_assert_str_eq(json_str(d, "display_name"), "Tickets");
		const cJSON *props = item(d, "properties");
		ck_assert_msg(cJSON_GetArraySize(props) == 1, "properties: %s", r->body);
		ck_assert_str_eq(json_str(cJSON_GetArrayItem(props, 0), "id"), pid);
		assert_property_fields(cJSON_GetArrayItem(props, 0), id, "subject", "string");
		http_free(r);
	}
	free(id);
	free(pid);
	tenant_drop(&t);
}
END_TEST

START_TEST(unknown_type_is_404)
{
	struct tenant t;
	tenant_make(&t);
	char *id = type_make(t.key, "known");
	static const char *const unknown[] = { "ot_01AAAAAAAAAAAAAAAAAAAAAAAA", "ot_x", "missing", "Known",
					       "no%20such", NULL };
	for (const char *const *u = unknown; *u; u++) {
		assert_type_404(t.key, "GET", *u, NULL);
		assert_type_404(t.key, "PATCH", *u, "{\"display_name\":\"X\"}");
		assert_type_404(t.key, "DELETE", *u, NULL);
		http_resp *r = call("GET", t.key, NULL, "/v1/object-types/%s/properties", *u);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("POST", t.key, "{\"name\":\"a\",\"data_type\":\"string\"}",
			 "/v1/object-types/%s/properties", *u);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	ck_assert_int_eq(types_count(t.key), 1);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(other_tenant_cannot_see_or_touch_type)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	char *id = type_make(a.key, "secrets");
	char *pid = prop_new(a.key, id, "{\"name\":\"code\",\"data_type\":\"string\"}");
	/* B has a type of the same name: B's name resolves to B's own. */
	char *bid = type_make(b.key, "secrets");
	ck_assert_str_ne(id, bid);

	assert_type_404(b.key, "GET", id, NULL);
	assert_type_404(b.key, "PATCH", id, "{\"name\":\"stolen\"}");
	assert_type_404(b.key, "DELETE", id, NULL);
	http_resp *r = call("GET", b.key, NULL, "/v1/object-types/%s/properties", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", b.key, "{\"name\":\"added\",\"data_type\":\"string\"}", "/v1/object-types/%s/properties", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", b.key, "{\"description\":\"x\"}", "/v1/object-types/%s/properties/%s", id, pid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", b.key, NULL, "/v1/object-types/%s/properties/%s", id, pid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* A's property through B's type of the same name is not found either. */
	r = call("DELETE", b.key, NULL, "/v1/object-types/secrets/properties/%s", pid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", b.key, NULL, "/v1/object-types/secrets/properties/code");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	r = type_get(b.key, "secrets");
	ck_assert_str_eq(json_str(resp_data(r), "id"), bid);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "properties")), 0);
	http_free(r);
	cJSON *l = types_list(b.key);
	ck_assert_msg(cJSON_GetArraySize(l) == 1 && !find_by(l, "id", id), "B's list shows A's type");
	cJSON_Delete(l);

	/* A's type is untouched. */
	r = type_get(a.key, id);
	ck_assert_str_eq(json_str(resp_data(r), "name"), "secrets");
	ck_assert_str_eq(json_str(resp_data(r), "display_name"), "Secrets");
	const cJSON *props = item(resp_data(r), "properties");
	ck_assert_int_eq(cJSON_GetArraySize(props), 1);
	assert_null(cJSON_GetArrayItem(props, 0), "description");
	http_free(r);
	free(id);
	free(pid);
	free(bid);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

START_TEST(invalid_type_names_are_rejected)
{
	struct tenant t;
	tenant_make(&t);
	char long64[80], body[256];
	memset(long64, 'a', 64);
	long64[64] = '\0';
	const char *bad[] = { "Contacts", "contactS", "1contacts", "_contacts", "sales-orders", "sales orders",
			      "kontakt\xc3\xa9", long64, "", NULL };
	for (const char **b = bad; *b; b++) {
		snprintf(body, sizeof(body), "{\"name\":\"%s\"}", *b);
		http_resp *r = http_json("POST", "/v1/object-types", t.key, body);
		assert_invalid(r, "name");
		http_free(r);
	}
	/* Not a string, missing. */
	const char *bodies[] = { "{\"name\":42}", "{\"name\":null}", "{}", "{\"display_name\":\"X\"}", NULL };
	for (const char **b = bodies; *b; b++) {
		http_resp *r = http_json("POST", "/v1/object-types", t.key, *b);
		assert_invalid(r, "name");
		http_free(r);
	}
	/* Other fields are checked too. */
	http_resp *r = http_json("POST", "/v1/object-types", t.key, "{\"name\":\"ok\",\"display_name\":\"\"}");
	assert_invalid(r, "display_name");
	http_free(r);
	r = http_json("POST", "/v1/object-types", t.key, "{\"name\":\"ok\",\"colour\":\"red\"}");
	assert_invalid(r, "colour");
	http_free(r);
	ck_assert_int_eq(types_count(t.key), 0);
	tenant_drop(&t);
}
END_TEST

START_TEST(type_name_of_63_characters_works)
{
	struct tenant t;
	tenant_make(&t);
	char name[64];
	memset(name, 'x', 63);
	name[0] = 'a';
	name[62] = '9';
	name[63] = '\0';
	char *id = type_make(t.key, name);
	http_resp *r = type_get(t.key, name);
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	http_free(r);
	/* Its table takes properties, with indexes, under such names too. */
	char body[256];
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"data_type\":\"string\",\"is_unique\":true,\"is_indexed\":true}",
		 name);
	free(prop_new(t.key, name, body));
	char *tok = delete_conflict(t.key, id);
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s?force=true&confirm_token=%s", id, tok);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(tok);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(duplicate_type_name_is_409)
{
	struct tenant t;
	tenant_make(&t);
	char *id = type_make(t.key, "orders");
	http_resp *r = http_json("POST", "/v1/object-types", t.key, "{\"name\":\"orders\",\"display_name\":\"Again\"}");
	assert_envelope(r, 409, "CONFLICT");
	ck_assert_str_eq(detail_field(r), "name");
	http_free(r);
	cJSON *l = types_list(t.key);
	ck_assert_int_eq(cJSON_GetArraySize(l), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, 0), "display_name"), "Orders");
	cJSON_Delete(l);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(reserved_type_names_are_rejected)
{
	struct tenant t;
	tenant_make(&t);
	char *id = type_make(t.key, "plain");
	static const char *const reserved[] = { "tenant_meta", "schema_migrations", NULL };
	char body[128];
	for (const char *const *n = reserved; *n; n++) {
		snprintf(body, sizeof(body), "{\"name\":\"%s\"}", *n);
		http_resp *r = http_json("POST", "/v1/object-types", t.key, body);
		assert_invalid(r, "name");
		http_free(r);
		r = call("PATCH", t.key, body, "/v1/object-types/%s", id);
		assert_invalid(r, "name");
		http_free(r);
		/* Nor do they resolve to Tessera's own tables. */
		assert_type_404(t.key, "GET", *n, NULL);
		assert_type_404(t.key, "DELETE", *n, NULL);
	}
	cJSON *l = types_list(t.key);
	ck_assert_int_eq(cJSON_GetArraySize(l), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, 0), "name"), "plain");
	cJSON_Delete(l);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(patch_type_display_name_and_description)
{
	struct tenant t;
	tenant_make(&t);
	char *id = type_make(t.key, "deals");
	http_resp *r = call("PATCH", t.key, "{\"display_name\":\"Pipeline deals\",\"description\":\"Open deals\"}",
			    "/v1/object-types/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "name"), "deals");
	ck_assert_str_eq(json_str(resp_data(r), "display_name"), "Pipeline deals");
	ck_assert_str_eq(json_str(resp_data(r), "description"), "Open deals");
	http_free(r);
	r = type_get(t.key, "deals");
	ck_assert_str_eq(json_str(resp_data(r), "display_name"), "Pipeline deals");
	ck_assert_str_eq(json_str(resp_data(r), "description"), "Open deals");
	http_free(r);
	/* Only what is sent changes; a null description clears it. */
	r = call("PATCH", t.key, "{\"description\":null}", "/v1/object-types/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "display_name"), "Pipeline deals");
	assert_null(resp_data(r), "description");
	http_free(r);
	/* Invalid values are refused and change nothing. */
	const struct { const char *body, *field; } bad[] = {
		{ "{\"display_name\":\"\"}", "display_name" },
		{ "{\"display_name\":null}", "display_name" },
		{ "{\"display_name\":7}", "display_name" },
		{ "{\"name\":\"Deals\"}", "name" },
		{ "{\"name\":\"\"}", "name" },
		{ "{\"name\":null}", "name" },
		{ "{\"colour\":\"red\"}", "colour" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("PATCH", t.key, bad[i].body, "/v1/object-types/%s", id);
		assert_invalid(r, bad[i].field);
		http_free(r);
	}
	r = type_get(t.key, id);
	ck_assert_str_eq(json_str(resp_data(r), "name"), "deals");
	ck_assert_str_eq(json_str(resp_data(r), "display_name"), "Pipeline deals");
	http_free(r);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(rename_type_keeps_id_and_properties)
{
	struct tenant t;
	tenant_make(&t);
	char *id = type_make(t.key, "contacts");
	char *p1 = prop_new(t.key, id, "{\"name\":\"email\",\"data_type\":\"email\",\"is_unique\":true}");
	char *p2 = prop_new(t.key, id, "{\"name\":\"age\",\"data_type\":\"integer\",\"is_sortable\":true}");
	http_resp *r = call("PATCH", t.key, "{\"name\":\"customers\"}", "/v1/object-types/contacts");
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	ck_assert_str_eq(json_str(resp_data(r), "name"), "customers");
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "properties")), 2);
	http_free(r);

	r = type_get(t.key, "customers");
	ck_assert_str_eq(json_str(resp_data(r), "id"), id);
	const cJSON *props = item(resp_data(r), "properties");
	ck_assert_int_eq(cJSON_GetArraySize(props), 2);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(props, 0), "id"), p1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(props, 1), "id"), p2);
	assert_bool(cJSON_GetArrayItem(props, 0), "is_unique", true);
	http_free(r);
	assert_type_404(t.key, "GET", "contacts", NULL);

	/* The table moved: properties can still be added, changed and
	 * dropped on it, and the old name is free again. */
	free(prop_new(t.key, "customers", "{\"name\":\"phone\",\"data_type\":\"phone\",\"is_indexed\":true}"));
	r = call("PATCH", t.key, "{\"is_indexed\":true}", "/v1/object-types/customers/properties/age");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/object-types/customers/properties/%s", p1);
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *again = type_make(t.key, "contacts");
	free(prop_new(t.key, again, "{\"name\":\"email\",\"data_type\":\"email\"}"));
	ck_assert_int_eq(types_count(t.key), 2);
	/* Renaming to its own name changes nothing. */
	r = call("PATCH", t.key, "{\"name\":\"customers\"}", "/v1/object-types/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "name"), "customers");
	http_free(r);
	free(again);
	free(p1);
	free(p2);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(rename_onto_existing_name_is_409_and_changes_nothing)
{
	struct tenant t;
	tenant_make(&t);
	char *a = type_make(t.key, "first");
	char *b = type_make(t.key, "second");
	free(prop_new(t.key, a, "{\"name\":\"x\",\"data_type\":\"string\"}"));
	http_resp *r = call("PATCH", t.key, "{\"name\":\"second\",\"display_name\":\"Changed\"}",
			    "/v1/object-types/%s", a);
	assert_envelope(r, 409, "CONFLICT");
	ck_assert_str_eq(detail_field(r), "name");
	http_free(r);
	r = type_get(t.key, a);
	ck_assert_str_eq(json_str(resp_data(r), "name"), "first");
	ck_assert_str_eq(json_str(resp_data(r), "display_name"), "First");
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "properties")), 1);
	http_free(r);
	r = type_get(t.key, "second");
	ck_assert_str_eq(json_str(resp_data(r), "id"), b);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "properties")), 0);
	http_free(r);
	/* Both tables still work under their names. */
	free(prop_new(t.key, "first", "{\"name\":\"y\",\"data_type\":\"string\"}"));
	free(prop_new(t.key, "second", "{\"name\":\"y\",\"data_type\":\"string\"}"));
	free(a);
	free(b);
	tenant_drop(&t);
}
END_TEST

START_TEST(delete_empty_type)
{
	struct tenant t;
	tenant_make(&t);
	char *id = type_make(t.key, "scratch");
	char *keep = type_make(t.key, "keep");
	http_resp *r = call("DELETE", t.key, NULL, "/v1/object-types/%s", id);
	assert_envelope(r, 200, NULL);
	assert_bool(resp_data(r), "deleted", true);
	http_free(r);
	assert_type_404(t.key, "GET", id, NULL);
	assert_type_404(t.key, "GET", "scratch", NULL);
	assert_type_404(t.key, "DELETE", id, NULL);
	cJSON *l = types_list(t.key);
	ck_assert_msg(cJSON_GetArraySize(l) == 1 && find_by(l, "id", keep), "list after delete");
	cJSON_Delete(l);
	/* The name (and its table) is free again; by name works too. */
	char *again = type_make(t.key, "scratch");
	ck_assert_str_ne(again, id);
	r = call("DELETE", t.key, NULL, "/v1/object-types/scratch");
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(again);
	free(keep);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(delete_type_with_properties_needs_confirm_token)
{
	struct tenant t;
	tenant_make(&t);
	char *id = type_make(t.key, "projects");
	for (int i = 0; i < 3; i++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"name\":\"p%d\",\"data_type\":\"string\",\"is_indexed\":true}", i);
		free(prop_new(t.key, id, body));
	}
	http_resp *r = call("DELETE", t.key, NULL, "/v1/object-types/%s", id);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	const cJSON *e = error_of(r);
	const cJSON *deps = item(e, "dependencies");
	ck_assert_msg(cJSON_IsArray(deps) && cJSON_GetArraySize(deps) == 1, "dependencies: %s", r->body);
	const cJSON *dep = cJSON_GetArrayItem(deps, 0);
	ck_assert_str_eq(json_str(dep, "type"), "properties");
	ck_assert_int_eq(item(dep, "count")->valueint, 3);
	ck_assert_msg(json_str(dep, "label") && *json_str(dep, "label"), "label: %s", r->body);
	char *tok = strdup(json_str(e, "confirm_token"));
	ck_assert_msg(strncmp(tok, "ct_", 3) == 0, "confirm_token: %s", r->body);
	http_free(r);
	/* Still there. */
	r = type_get(t.key, id);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "properties")), 3);
	http_free(r);
	/* force=true alone is not enough: it only issues another token. */
	char *tok2 = NULL;
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s?force=true", id);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	tok2 = strdup(json_str(error_of(r), "confirm_token"));
	ck_assert_str_ne(tok2, tok);
	http_free(r);

	r = call("DELETE", t.key, NULL, "/v1/object-types/%s?force=true&confirm_token=%s", id, tok);
	assert_envelope(r, 200, NULL);
	assert_bool(resp_data(r), "deleted", true);
	http_free(r);
	assert_type_404(t.key, "GET", id, NULL);
	ck_assert_int_eq(types_count(t.key), 0);
	/* Everything went: a new type of the name starts empty. */
	char *again = type_make(t.key, "projects");
	cJSON *l = props_list(t.key, again);
	ck_assert_int_eq(cJSON_GetArraySize(l), 0);
	cJSON_Delete(l);
	free(prop_new(t.key, again, "{\"name\":\"p0\",\"data_type\":\"integer\"}"));
	free(again);
	free(tok);
	free(tok2);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(confirm_token_is_single_use_and_bound_to_its_type)
{
	struct tenant t;
	tenant_make(&t);
	char *a = type_make(t.key, "type_a");
	char *b = type_make(t.key, "type_b");
	free(prop_new(t.key, a, "{\"name\":\"x\",\"data_type\":\"string\"}"));
	free(prop_new(t.key, b, "{\"name\":\"x\",\"data_type\":\"string\"}"));
	char *tok_a = delete_conflict(t.key, a);
	/* A's token does not delete B. */
	http_resp *r = call("DELETE", t.key, NULL, "/v1/object-types/%s?force=true&confirm_token=%s", b, tok_a);
	assert_invalid(r, "confirm_token");
	http_free(r);
	r = type_get(t.key, b);
	http_free(r);
	/* (That try used it up: tokens are single-use.) */
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s?force=true&confirm_token=%s", a, tok_a);
	assert_invalid(r, "confirm_token");
	http_free(r);
	free(tok_a);

	tok_a = delete_conflict(t.key, a);
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s?force=true&confirm_token=%s", a, tok_a);
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* Used: the same token again, on another type, is refused. */
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s?force=true&confirm_token=%s", b, tok_a);
	assert_invalid(r, "confirm_token");
	http_free(r);
	r = type_get(t.key, b);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "properties")), 1);
	http_free(r);
	free(tok_a);
	free(a);
	free(b);
	tenant_drop(&t);
}
END_TEST

START_TEST(wrong_confirm_token_is_400)
{
	struct tenant t, other;
	tenant_make(&t);
	tenant_make(&other);
	char *id = type_make(t.key, "guarded");
	free(prop_new(t.key, id, "{\"name\":\"x\",\"data_type\":\"string\"}"));
	/* Another tenant's token for a type of the same name. */
	char *oid = type_make(other.key, "guarded");
	free(prop_new(other.key, oid, "{\"name\":\"x\",\"data_type\":\"string\"}"));
	char *otok = delete_conflict(other.key, oid);
	char *tok = delete_conflict(t.key, id);
	const char *wrong[] = { "nope", "ct_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", otok, "", NULL };
	for (const char **w = wrong; *w; w++) {
		http_resp *r = call("DELETE", t.key, NULL, "/v1/object-types/%s?force=true&confirm_token=%s", id, *w);
		if (!**w) {
			/* An empty token is no token: a new one is issued. */
			ck_assert_msg(r->status == 400 || r->status == 409, "empty token: %ld %s", r->status, r->body);
		} else {
			assert_invalid(r, "confirm_token");
		}
		http_free(r);
	}
	http_resp *r = type_get(t.key, id);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "properties")), 1);
	http_free(r);
	/* The right one still works (wrong tries did not use it up). */
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s?force=true&confirm_token=%s", id, tok);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = type_get(other.key, oid);
	http_free(r);
	free(tok);
	free(otok);
	free(id);
	free(oid);
	tenant_drop(&t);
	tenant_drop(&other);
}
END_TEST

START_TEST(read_key_can_read_types_but_not_change_them)
{
	struct tenant t;
	tenant_make(&t);
	char *id = type_make(t.key, "visible");
	char *pid = prop_new(t.key, id, "{\"name\":\"x\",\"data_type\":\"string\"}");
	char *read = key_new(t.key, "{\"scopes\":[\"read\"]}", NULL);
	char *write = key_new(t.key, "{\"scopes\":[\"read\",\"write\"]}", NULL);
	const char *tokens[] = { read, write, NULL };
	for (const char **tok = tokens; *tok; tok++) {
		http_resp *r = http_json("POST", "/v1/object-types", *tok, "{\"name\":\"nope\"}");
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		r = call("PATCH", *tok, "{\"display_name\":\"Nope\"}", "/v1/object-types/%s", id);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		r = call("DELETE", *tok, NULL, "/v1/object-types/%s", id);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		r = call("POST", *tok, "{\"name\":\"y\",\"data_type\":\"string\"}", "/v1/object-types/%s/properties", id);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		r = call("PATCH", *tok, "{\"description\":\"d\"}", "/v1/object-types/%s/properties/%s", id, pid);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		r = call("DELETE", *tok, NULL, "/v1/object-types/%s/properties/%s", id, pid);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
		/* Reading works. */
		cJSON *l = types_list(*tok);
		ck_assert_int_eq(cJSON_GetArraySize(l), 1);
		cJSON_Delete(l);
		r = type_get(*tok, "visible");
		ck_assert_str_eq(json_str(resp_data(r), "id"), id);
		http_free(r);
		l = props_list(*tok, id);
		ck_assert_int_eq(cJSON_GetArraySize(l), 1);
		cJSON_Delete(l);
	}
	http_resp *r = type_get(t.key, id);
	ck_assert_str_eq(json_str(resp_data(r), "display_name"), "Visible");
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "properties")), 1);
	http_free(r);
	ck_assert_int_eq(types_count(t.key), 1);
	free(read);
	free(write);
	free(pid);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(schema_key_can_change_the_schema)
{
	struct tenant t;
	tenant_make(&t);
	char *schema = key_new(t.key, "{\"scopes\":[\"schema\"]}", NULL);
	char *id = type_make(schema, "built_by_schema_key");
	char *pid = prop_new(schema, id, "{\"name\":\"x\",\"data_type\":\"string\"}");
	http_resp *r = call("PATCH", schema, "{\"is_indexed\":true}", "/v1/object-types/%s/properties/%s", id, pid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("PATCH", schema, "{\"name\":\"renamed\"}", "/v1/object-types/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", schema, NULL, "/v1/object-types/%s/properties/%s", id, pid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", schema, NULL, "/v1/object-types/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	ck_assert_int_eq(types_count(t.key), 0);
	free(pid);
	free(id);
	free(schema);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ properties */

START_TEST(create_property_of_each_data_type)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "everything");
	char *ids[NTYPES];
	for (int i = 0; i < NTYPES; i++) {
		char body[512];
		snprintf(body, sizeof(body), "{\"name\":\"f_%s\",\"data_type\":\"%s\",\"description\":\"a %s\"%s}",
			 data_types[i].type, data_types[i].type, data_types[i].type, data_types[i].extra);
		http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
		ck_assert_msg(r->status == 201, "%s: %ld %s", data_types[i].type, r->status, r->body);
		assert_envelope(r, 201, NULL);
		const cJSON *p = resp_data(r);
		char name[64];
		snprintf(name, sizeof(name), "f_%s", data_types[i].type);
		assert_property_fields(p, tid, name, data_types[i].type);
		assert_bool(p, "is_required", false);
		assert_bool(p, "is_unique", false);
		assert_bool(p, "is_indexed", false);
		assert_bool(p, "is_sortable", false);
		assert_null(p, "default_value");
		char desc[64];
		snprintf(desc, sizeof(desc), "a %s", data_types[i].type);
		ck_assert_str_eq(json_str(p, "description"), desc);
		if (*data_types[i].extra)
			assert_json_eq(p, "enum_values", "[\"a\",\"b\",\"c\"]");
		else
			assert_null(p, "enum_values");
		ids[i] = strdup(json_str(p, "id"));
		http_free(r);
	}
	/* Display names derive from names. */
	cJSON *l = props_list(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(l), NTYPES);
	ck_assert_str_eq(json_str(find_by(l, "name", "f_rich_text"), "display_name"), "F Rich Text");
	/* In creation order, and the type shows the same. */
	for (int i = 0; i < NTYPES; i++)
		ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, i), "id"), ids[i]);
	http_resp *r = type_get(t.key, tid);
	ck_assert_msg(cJSON_Compare(item(resp_data(r), "properties"), l, true), "type's properties differ from the list");
	http_free(r);
	cJSON *types = types_list(t.key);
	ck_assert_int_eq(item(cJSON_GetArrayItem(types, 0), "property_count")->valueint, NTYPES);
	cJSON_Delete(types);
	cJSON_Delete(l);
	for (int i = 0; i < NTYPES; i++)
		free(ids[i]);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(indexable_types_take_unique_indexed_sortable)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "indexed_all");
	int n = 0;
	for (int i = 0; i < NTYPES; i++) {
		if (!data_types[i].indexable)
			continue;
		char body[512];
		snprintf(body, sizeof(body),
			 "{\"name\":\"i_%s\",\"data_type\":\"%s\",\"is_unique\":true,\"is_indexed\":true,"
			 "\"is_sortable\":true,\"is_required\":true%s}",
			 data_types[i].type, data_types[i].type, data_types[i].extra);
		http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
		ck_assert_msg(r->status == 201, "%s: %ld %s", data_types[i].type, r->status, r->body);
		assert_bool(resp_data(r), "is_unique", true);
		assert_bool(resp_data(r), "is_indexed", true);
		assert_bool(resp_data(r), "is_sortable", true);
		assert_bool(resp_data(r), "is_required", true);
		http_free(r);
		n++;
	}
	ck_assert_int_eq(n, 15);
	cJSON *l = props_list(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(l), 15);
	cJSON_Delete(l);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(unindexable_types_refuse_unique_indexed_sortable)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "docs");
	static const char *const flags[] = { "is_unique", "is_indexed", "is_sortable" };
	int n = 0;
	for (int i = 0; i < NTYPES; i++) {
		if (data_types[i].indexable)
			continue;
		n++;
		for (int f = 0; f < 3; f++) {
			char body[512];
			snprintf(body, sizeof(body), "{\"name\":\"d_%s\",\"data_type\":\"%s\",\"%s\":true%s}",
				 data_types[i].type, data_types[i].type, flags[f], data_types[i].extra);
			http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
			ck_assert_msg(r->status == 400, "%s %s: %ld %s", data_types[i].type, flags[f], r->status, r->body);
			assert_invalid(r, flags[f]);
			http_free(r);
		}
		/* Without the flag it is created; turning the flag on later is refused. */
		char body[512], name[64];
		snprintf(name, sizeof(name), "d_%s", data_types[i].type);
		snprintf(body, sizeof(body), "{\"name\":\"%s\",\"data_type\":\"%s\",\"is_indexed\":false%s}", name,
			 data_types[i].type, data_types[i].extra);
		char *pid = prop_new(t.key, tid, body);
		for (int f = 0; f < 3; f++) {
			snprintf(body, sizeof(body), "{\"%s\":true}", flags[f]);
			http_resp *r = call("PATCH", t.key, body, "/v1/object-types/%s/properties/%s", tid, pid);
			assert_invalid(r, flags[f]);
			http_free(r);
		}
		free(pid);
	}
	ck_assert_int_eq(n, 7);
	cJSON *l = props_list(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(l), 7);
	const cJSON *it;
	cJSON_ArrayForEach(it, l) {
		assert_bool(it, "is_unique", false);
		assert_bool(it, "is_indexed", false);
		assert_bool(it, "is_sortable", false);
	}
	cJSON_Delete(l);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(unknown_data_type_is_400)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "things");
	const char *bodies[] = {
		"{\"name\":\"a\",\"data_type\":\"varchar\"}",
		"{\"name\":\"a\",\"data_type\":\"String\"}",
		"{\"name\":\"a\",\"data_type\":\"\"}",
		"{\"name\":\"a\",\"data_type\":7}",
		"{\"name\":\"a\",\"data_type\":null}",
		"{\"name\":\"a\"}",
		"{\"name\":\"a\",\"data_type\":\"string; DROP TABLE x\"}",
		NULL,
	};
	for (const char **b = bodies; *b; b++) {
		http_resp *r = call("POST", t.key, *b, "/v1/object-types/%s/properties", tid);
		assert_invalid(r, "data_type");
		http_free(r);
	}
	cJSON *l = props_list(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(l), 0);
	cJSON_Delete(l);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(enum_types_need_distinct_enum_values)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "tagged");
	static const char *const kinds[] = { "enum", "multi_enum" };
	static const char *const bad[] = {
		"", ",\"enum_values\":null", ",\"enum_values\":[]", ",\"enum_values\":[\"a\",\"b\",\"a\"]",
		",\"enum_values\":[\"a\",\"\"]", ",\"enum_values\":[\"a\",1]", ",\"enum_values\":\"a,b\"",
	};
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char body[256];
			snprintf(body, sizeof(body), "{\"name\":\"e\",\"data_type\":\"%s\"%s}", kinds[k], bad[i]);
			http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
			ck_assert_msg(r->status == 400, "%s: %ld %s", body, r->status, r->body);
			assert_invalid(r, "enum_values");
			http_free(r);
		}
	}
	/* enum_values belong to enum types only. */
	static const char *const others[] = { "string", "integer", "array", "json" };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		char body[256];
		snprintf(body, sizeof(body), "{\"name\":\"o\",\"data_type\":\"%s\",\"enum_values\":[\"a\"]}", others[i]);
		http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
		assert_invalid(r, "enum_values");
		http_free(r);
	}
	/* null enum_values on a non-enum type is fine. */
	free(prop_new(t.key, tid, "{\"name\":\"o\",\"data_type\":\"string\",\"enum_values\":null}"));
	cJSON *l = props_list(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(l), 1);
	cJSON_Delete(l);

	/* PATCH checks them the same way. */
	char *pid = prop_new(t.key, tid, "{\"name\":\"status\",\"data_type\":\"enum\",\"enum_values\":[\"open\",\"closed\"],"
				       "\"default_value\":\"open\"}");
	const struct { const char *body, *field; } patches[] = {
		{ "{\"enum_values\":[\"x\",\"x\"]}", "enum_values" },
		{ "{\"enum_values\":[]}", "enum_values" },
		{ "{\"enum_values\":null}", "enum_values" },
		/* The default would fall outside the new values. */
		{ "{\"enum_values\":[\"closed\",\"won\"]}", "default_value" },
	};
	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		http_resp *r = call("PATCH", t.key, patches[i].body, "/v1/object-types/%s/properties/%s", tid, pid);
		assert_invalid(r, patches[i].field);
		http_free(r);
	}
	http_resp *r = call("PATCH", t.key, "{\"enum_values\":[\"open\",\"closed\",\"won\"]}",
			    "/v1/object-types/%s/properties/status", tid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "enum_values", "[\"open\",\"closed\",\"won\"]");
	assert_json_eq(resp_data(r), "default_value", "\"open\"");
	http_free(r);
	r = call("PATCH", t.key, "{\"enum_values\":[\"a\"]}", "/v1/object-types/%s/properties/o", tid);
	assert_invalid(r, "enum_values");
	http_free(r);
	free(pid);
	free(tid);
	tenant_drop(&t);
}
END_TEST

/* For each type: a default it refuses and one it takes (NULL: none). */
static const struct {
	const char *type, *extra, *bad, *good;
} defaults[] = {
	{ "string", "", "5", "\"hello\"" },
	{ "text", "", "true", "\"a longer text\"" },
	{ "rich_text", "", "[1]", "\"<p>hi</p>\"" },
	{ "integer", "", "\"x\"", "42" },
	{ "integer", "", "1.5", "-7" },
	{ "number", "", "\"x\"", "1.25" },
	{ "decimal", "", "\"1.23456\"", "\"12.34\"" },
	{ "currency", "", "\"ten\"", "\"9.99\"" },
	{ "percent", "", "\"50%\"", "50" },
	{ "boolean", "", "\"yes\"", "true" },
	{ "boolean", "", "1", "false" },
	{ "date", "", "\"2026-13-01\"", "\"2026-01-31\"" },
	{ "date", "", "\"31/01/2026\"", NULL },
	{ "date", "", "\"2026-02-29\"", "\"2028-02-29\"" },
	{ "date", "", "\"0000-01-01\"", "\"0001-01-01\"" },
	{ "datetime", "", "\"2026-01-02\"", "\"2026-01-02T03:04:05.000Z\"" },
	{ "datetime", "", "\"2026-01-02T03:04:05\"", NULL },
	{ "datetime", "", "\"9999-12-31T23:30:00-01:00\"", "\"9999-12-31T23:30:00.000Z\"" },
	{ "datetime", "", "\"0001-01-01T00:30:00+01:00\"", NULL },
	{ "time", "", "\"25:00\"", "\"09:30:00\"" },
	{ "email", "", "\"not-an-email\"", "\"a@example.com\"" },
	{ "url", "", "\"ftp://example.com\"", "\"https://example.com/x\"" },
	{ "phone", "", "\"555-1234\"", "\"+14155550123\"" },
	{ "enum", ",\"enum_values\":[\"a\",\"b\"]", "\"c\"", "\"b\"" },
	{ "enum", ",\"enum_values\":[\"a\",\"b\"]", "[\"a\"]", NULL },
	{ "multi_enum", ",\"enum_values\":[\"a\",\"b\"]", "[\"a\",\"z\"]", "[\"a\",\"b\"]" },
	{ "multi_enum", ",\"enum_values\":[\"a\",\"b\"]", "\"a\"", NULL },
	{ "json", "", NULL, "{\"k\":[1,2]}" },
	{ "array", "", "{\"a\":1}", "[1,\"x\"]" },
	{ "reference", "", "\"not-an-id\"", NULL },
	{ "file", "", "\"obj_01AAAAAAAAAAAAAAAAAAAAAAAA\"", NULL },
	{ "geo_point", "", "{\"lat\":91,\"lng\":0}", "{\"lat\":52.5,\"lng\":13.4}" },
	{ "geo_point", "", "[52.5,13.4]", NULL },
};

START_TEST(default_value_is_validated_by_type)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "defaults");
	int created = 0;
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		char body[512];
		if (defaults[i].bad) {
			snprintf(body, sizeof(body), "{\"name\":\"v%zu\",\"data_type\":\"%s\",\"default_value\":%s%s}", i,
				 defaults[i].type, defaults[i].bad, defaults[i].extra);
			http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
			ck_assert_msg(r->status == 400, "%s default %s: %ld %s", defaults[i].type, defaults[i].bad,
				      r->status, r->body);
			assert_invalid(r, "default_value");
			http_free(r);
		}
		if (defaults[i].good) {
			snprintf(body, sizeof(body), "{\"name\":\"v%zu\",\"data_type\":\"%s\",\"default_value\":%s%s}", i,
				 defaults[i].type, defaults[i].good, defaults[i].extra);
			http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
			ck_assert_msg(r->status == 201, "%s default %s: %ld %s", defaults[i].type, defaults[i].good,
				      r->status, r->body);
			assert_json_eq(resp_data(r), "default_value", defaults[i].good);
			http_free(r);
			created++;
		}
	}
	cJSON *l = props_list(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(l), created);
	cJSON_Delete(l);

	/* PATCH validates defaults against the property's type too. */
	char *pid = prop_new(t.key, tid, "{\"name\":\"qty\",\"data_type\":\"integer\",\"default_value\":1}");
	http_resp *r = call("PATCH", t.key, "{\"default_value\":\"x\"}", "/v1/object-types/%s/properties/%s", tid, pid);
	assert_invalid(r, "default_value");
	http_free(r);
	r = call("PATCH", t.key, "{\"default_value\":5}", "/v1/object-types/%s/properties/%s", tid, pid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "default_value", "5");
	http_free(r);
	r = call("PATCH", t.key, "{\"default_value\":null}", "/v1/object-types/%s/properties/%s", tid, pid);
	assert_envelope(r, 200, NULL);
	assert_null(resp_data(r), "default_value");
	http_free(r);
	free(pid);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(property_names_are_checked)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "named");
	static const char *const reserved[] = { "id", "properties", "created_at", "updated_at",
						"created_by", "version", "is_deleted", "deleted_at", NULL };
	char body[256];
	for (const char *const *n = reserved; *n; n++) {
		snprintf(body, sizeof(body), "{\"name\":\"%s\",\"data_type\":\"string\"}", *n);
		http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
		ck_assert_msg(r->status == 400, "%s: %ld %s", *n, r->status, r->body);
		assert_invalid(r, "name");
		http_free(r);
	}
	char long64[80];
	memset(long64, 'a', 64);
	long64[64] = '\0';
	const char *bad[] = { "Email", "1st", "_alive", "first-name", "first name", "a`b", "a'b", long64, "", NULL };
	for (const char **n = bad; *n; n++) {
		snprintf(body, sizeof(body), "{\"name\":\"%s\",\"data_type\":\"string\"}", *n);
		http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
		ck_assert_msg(r->status == 400, "%s: %ld %s", *n, r->status, r->body);
		assert_invalid(r, "name");
		http_free(r);
	}
	http_resp *r = call("POST", t.key, "{\"data_type\":\"string\"}", "/v1/object-types/%s/properties", tid);
	assert_invalid(r, "name");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"ok\",\"data_type\":\"string\",\"colour\":1}", "/v1/object-types/%s/properties", tid);
	assert_invalid(r, "colour");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"ok\",\"data_type\":\"string\",\"is_required\":\"yes\"}",
		 "/v1/object-types/%s/properties", tid);
	assert_invalid(r, "is_required");
	http_free(r);
	cJSON *l = props_list(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(l), 0);
	cJSON_Delete(l);
	/* 63 characters is the most a name may have. */
	char long63[64];
	memset(long63, 'b', 63);
	long63[63] = '\0';
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"data_type\":\"string\",\"is_sortable\":true}", long63);
	free(prop_new(t.key, tid, body));
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(duplicate_property_name_is_409)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "dupes");
	char *pid = prop_new(t.key, tid, "{\"name\":\"email\",\"data_type\":\"email\"}");
	/* Whatever the data type. */
	http_resp *r = call("POST", t.key, "{\"name\":\"email\",\"data_type\":\"string\"}", "/v1/object-types/%s/properties", tid);
	assert_envelope(r, 409, "CONFLICT");
	ck_assert_str_eq(detail_field(r), "name");
	http_free(r);
	cJSON *l = props_list(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(l), 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, 0), "data_type"), "email");
	cJSON_Delete(l);
	/* The same name on another type is fine. */
	char *other = type_make(t.key, "other");
	free(prop_new(t.key, other, "{\"name\":\"email\",\"data_type\":\"string\"}"));
	free(other);
	free(pid);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(patch_cannot_change_name_or_data_type)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "fixed");
	char *pid = prop_new(t.key, tid, "{\"name\":\"amount\",\"data_type\":\"integer\",\"description\":\"old\"}");
	const struct { const char *body, *field; } bad[] = {
		{ "{\"name\":\"total\"}", "name" },
		{ "{\"name\":\"total\",\"description\":\"new\"}", "name" },
		{ "{\"data_type\":\"string\"}", "data_type" },
		{ "{\"data_type\":\"integer\",\"description\":\"new\"}", "data_type" },
		{ "{\"name\":null}", "name" },
		{ "{\"display_name\":\"\"}", "display_name" },
		{ "{\"is_indexed\":\"yes\"}", "is_indexed" },
		{ "{\"colour\":\"red\"}", "colour" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp *r = call("PATCH", t.key, bad[i].body, "/v1/object-types/%s/properties/%s", tid, pid);
		assert_invalid(r, bad[i].field);
		http_free(r);
	}
	cJSON *l = props_list(t.key, tid);
	const cJSON *p = cJSON_GetArrayItem(l, 0);
	ck_assert_str_eq(json_str(p, "name"), "amount");
	ck_assert_str_eq(json_str(p, "data_type"), "integer");
	ck_assert_str_eq(json_str(p, "description"), "old");
	assert_bool(p, "is_indexed", false);
	cJSON_Delete(l);
	free(pid);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(patch_property_settings_are_reflected_everywhere)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "tuned");
	char *pid = prop_new(t.key, tid, "{\"name\":\"code\",\"data_type\":\"string\"}");
	char *other = prop_new(t.key, tid, "{\"name\":\"other\",\"data_type\":\"integer\",\"description\":\"keep\"}");
	/* Each setting alone, then all together off again. */
	const struct { const char *body, *field, *want; } steps[] = {
		{ "{\"is_indexed\":true}", "is_indexed", "true" },
		{ "{\"is_sortable\":true}", "is_sortable", "true" },
		{ "{\"is_unique\":true}", "is_unique", "true" },
		{ "{\"is_required\":true}", "is_required", "true" },
		{ "{\"default_value\":\"ABC\"}", "default_value", "\"ABC\"" },
		{ "{\"description\":\"Product code\"}", "description", "\"Product code\"" },
		{ "{\"display_name\":\"Code (SKU)\"}", "display_name", "\"Code (SKU)\"" },
		{ "{\"is_indexed\":false}", "is_indexed", "false" },
		{ "{\"is_sortable\":false}", "is_sortable", "false" },
		{ "{\"is_unique\":false}", "is_unique", "false" },
		{ "{\"is_indexed\":true,\"is_unique\":true}", "is_unique", "true" },
		{ "{\"description\":null}", "description", "null" },
	};
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		http_resp *r = call("PATCH", t.key, steps[i].body, "/v1/object-types/%s/properties/%s", tid, pid);
		ck_assert_msg(r->status == 200, "%s: %ld %s", steps[i].body, r->status, r->body);
		assert_envelope(r, 200, NULL);
		assert_property_fields(resp_data(r), tid, "code", "string");
		assert_json_eq(resp_data(r), steps[i].field, steps[i].want);
		http_free(r);
		cJSON *l = props_list(t.key, tid);
		assert_json_eq(find_by(l, "id", pid), steps[i].field, steps[i].want);
		cJSON_Delete(l);
		r = type_get(t.key, tid);
		assert_json_eq(find_by(item(resp_data(r), "properties"), "id", pid), steps[i].field, steps[i].want);
		http_free(r);
	}
	/* Everything set earlier stayed. */
	cJSON *l = props_list(t.key, tid);
	const cJSON *p = find_by(l, "id", pid);
	assert_bool(p, "is_required", true);
	assert_bool(p, "is_indexed", true);
	assert_bool(p, "is_sortable", false);
	assert_bool(p, "is_unique", true);
	assert_json_eq(p, "default_value", "\"ABC\"");
	assert_json_eq(p, "display_name", "\"Code (SKU)\"");
	assert_null(p, "enum_values");
	/* The other property was not touched, and order is kept. */
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, 0), "id"), pid);
	const cJSON *o = cJSON_GetArrayItem(l, 1);
	ck_assert_str_eq(json_str(o, "id"), other);
	ck_assert_str_eq(json_str(o, "description"), "keep");
	ck_assert_str_eq(json_str(o, "display_name"), "Other");
	assert_bool(o, "is_indexed", false);
	cJSON_Delete(l);
	/* An empty PATCH changes nothing. */
	http_resp *r = call("PATCH", t.key, "{}", "/v1/object-types/%s/properties/%s", tid, pid);
	assert_envelope(r, 200, NULL);
	assert_bool(resp_data(r), "is_unique", true);
	assert_json_eq(resp_data(r), "default_value", "\"ABC\"");
	http_free(r);
	free(other);
	free(pid);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(patch_and_delete_property_by_id_and_by_name)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "addressed");
	char *p1 = prop_new(t.key, tid, "{\"name\":\"first\",\"data_type\":\"string\"}");
	char *p2 = prop_new(t.key, tid, "{\"name\":\"second\",\"data_type\":\"string\"}");
	char *p3 = prop_new(t.key, tid, "{\"name\":\"third\",\"data_type\":\"string\"}");
	/* PATCH by id (type by name) and by name (type by id). */
	http_resp *r = call("PATCH", t.key, "{\"description\":\"by id\"}", "/v1/object-types/addressed/properties/%s", p1);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), p1);
	ck_assert_str_eq(json_str(resp_data(r), "description"), "by id");
	http_free(r);
	r = call("PATCH", t.key, "{\"description\":\"by name\"}", "/v1/object-types/%s/properties/second", tid);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), p2);
	ck_assert_str_eq(json_str(resp_data(r), "description"), "by name");
	http_free(r);
	/* Unknown property ids and names. */
	static const char *const unknown[] = { "prop_01AAAAAAAAAAAAAAAAAAAAAAAA", "fourth", "First", NULL };
	for (const char *const *u = unknown; *u; u++) {
		r = call("PATCH", t.key, "{\"description\":\"x\"}", "/v1/object-types/%s/properties/%s", tid, *u);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
		r = call("DELETE", t.key, NULL, "/v1/object-types/%s/properties/%s", tid, *u);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	/* A property of another type of the same tenant is not found through this one. */
	char *other = type_make(t.key, "elsewhere");
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s/properties/%s", other, p1);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", t.key, "{\"description\":\"x\"}", "/v1/object-types/elsewhere/properties/first");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* DELETE by name and by id. */
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s/properties/first", tid);
	assert_envelope(r, 200, NULL);
	assert_bool(resp_data(r), "deleted", true);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/object-types/addressed/properties/%s", p3);
	assert_envelope(r, 200, NULL);
	assert_bool(resp_data(r), "deleted", true);
	http_free(r);
	cJSON *l = props_list(t.key, tid);
	ck_assert_msg(cJSON_GetArraySize(l) == 1 && find_by(l, "id", p2), "after deletes: one property left");
	cJSON_Delete(l);
	r = type_get(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "properties")), 1);
	http_free(r);
	/* Gone: 404 on a second delete, and the name is free again. */
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s/properties/%s", tid, p1);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"first\",\"data_type\":\"integer\",\"is_unique\":true}",
		 "/v1/object-types/%s/properties", tid);
	assert_envelope(r, 201, NULL);
	ck_assert_str_ne(json_str(resp_data(r), "id"), p1);
	ck_assert_str_eq(json_str(resp_data(r), "data_type"), "integer");
	http_free(r);
	/* And the type, now with properties, lists them in creation order. */
	l = props_list(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(l), 2);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, 0), "name"), "second");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, 1), "name"), "first");
	cJSON_Delete(l);
	cJSON *types = types_list(t.key);
	ck_assert_int_eq(item(find_by(types, "id", tid), "property_count")->valueint, 2);
	cJSON_Delete(types);
	free(other);
	free(p1);
	free(p2);
	free(p3);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(properties_list_in_creation_order)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "ordered");
	/* Names in an order that is neither alphabetical nor reversed. */
	static const char *const names[] = { "m", "z", "a", "q", "b", "y", "c", "x" };
	char *ids[8];
	for (int i = 0; i < 8; i++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"name\":\"%s\",\"data_type\":\"string\"}", names[i]);
		ids[i] = prop_new(t.key, tid, body);
	}
	cJSON *l = props_list(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(l), 8);
	for (int i = 0; i < 8; i++) {
		ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, i), "id"), ids[i]);
		ck_assert_str_eq(json_str(cJSON_GetArrayItem(l, i), "name"), names[i]);
	}
	cJSON_Delete(l);
	for (int i = 0; i < 8; i++)
		free(ids[i]);
	free(tid);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ with objects */

static const cJSON *prop_named(const cJSON *list, const char *name)
{
	const cJSON *p = find_by(list, "name", name);
	ck_assert_msg(p != NULL, "property %s not listed", name);
	return p;
}

START_TEST(unique_turned_on_over_duplicates_is_409_and_changes_nothing)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "people");
	char *pid = prop_new(t.key, tid, "{\"name\":\"email\",\"data_type\":\"email\",\"description\":\"before\"}");
	char *o1 = obj_make(t.key, "people", "{\"email\":\"a@example.com\"}");
	char *o2 = obj_make(t.key, "people", "{\"email\":\"a@example.com\"}");
	char *o3 = obj_make(t.key, "people", "{\"email\":\"b@example.com\"}");
	http_resp *r = call("PATCH", t.key, "{\"is_unique\":true,\"is_indexed\":true,\"description\":\"after\"}",
			    "/v1/object-types/%s/properties/%s", tid, pid);
	assert_envelope(r, 409, "CONFLICT");
	ck_assert_str_eq(detail_field(r), "email");
	const char *msg = json_str(error_of(r), "message");
	ck_assert_msg(msg && strstr(msg, "email"), "message names the property: %s", r->body);
	http_free(r);
	cJSON *l = props_list(t.key, tid);
	const cJSON *p = prop_named(l, "email");
	assert_bool(p, "is_unique", false);
	assert_bool(p, "is_indexed", false);
	ck_assert_str_eq(json_str(p, "description"), "before");
	cJSON_Delete(l);
	/* Not unique: a third copy is still accepted. */
	free(obj_make(t.key, "people", "{\"email\":\"b@example.com\"}"));

	/* Duplicates in the trash do not count: with one of each pair
	 * trashed, the property can become unique... */
	r = call("DELETE", t.key, NULL, "/v1/objects/people/%s", o2);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("PATCH", t.key, "{\"is_unique\":true}", "/v1/object-types/%s/properties/%s", tid, pid);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/objects/people/%s", o3);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("PATCH", t.key, "{\"is_unique\":true}", "/v1/object-types/%s/properties/%s", tid, pid);
	assert_envelope(r, 200, NULL);
	assert_bool(resp_data(r), "is_unique", true);
	http_free(r);
	/* ...and from then on a duplicate is refused, naming the property. */
	r = call("POST", t.key, "{\"properties\":{\"email\":\"a@example.com\"}}", "/v1/objects/people");
	assert_envelope(r, 409, "CONFLICT");
	ck_assert_msg(detail_field(r) && strstr(detail_field(r), "email"), "field: %s", r->body);
	http_free(r);
	free(o1);
	free(o2);
	free(o3);
	free(pid);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(property_recreated_over_old_values_must_fit_them)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "legacy");
	char *pid = prop_new(t.key, tid, "{\"name\":\"code\",\"data_type\":\"string\"}");
	char *o1 = obj_make(t.key, "legacy", "{\"code\":\"abc\"}");
	char *o2 = obj_make(t.key, "legacy", "{\"code\":\"abc\"}");
	http_resp *r = call("DELETE", t.key, NULL, "/v1/object-types/%s/properties/%s", tid, pid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* The values stay in the objects: a property of another type that
	 * they do not fit is refused, indexed or not... */
	const char *bad[] = { "{\"name\":\"code\",\"data_type\":\"integer\"}",
			      "{\"name\":\"code\",\"data_type\":\"integer\",\"is_indexed\":true}",
			      "{\"name\":\"code\",\"data_type\":\"enum\",\"enum_values\":[\"x\",\"y\"]}",
			      "{\"name\":\"code\",\"data_type\":\"email\"}", NULL };
	for (const char **b = bad; *b; b++) {
		r = call("POST", t.key, *b, "/v1/object-types/%s/properties", tid);
		ck_assert_msg(r->status == 400, "%s: %ld %s", *b, r->status, r->body);
		assert_invalid(r, "data_type");
		ck_assert_msg(strstr(json_str(error_of(r), "message"), o1) || strstr(json_str(error_of(r), "message"), o2),
			      "message names the object: %s", r->body);
		http_free(r);
	}
	/* ...and a unique one over duplicate values conflicts. */
	r = call("POST", t.key, "{\"name\":\"code\",\"data_type\":\"string\",\"is_unique\":true}",
		 "/v1/object-types/%s/properties", tid);
	assert_envelope(r, 409, "CONFLICT");
	ck_assert_str_eq(detail_field(r), "code");
	http_free(r);
	cJSON *l = props_list(t.key, tid);
	ck_assert_int_eq(cJSON_GetArraySize(l), 0);
	cJSON_Delete(l);
	/* A type they fit takes them back. */
	free(prop_new(t.key, tid, "{\"name\":\"code\",\"data_type\":\"enum\",\"enum_values\":[\"abc\",\"def\"]}"));
	r = call("GET", t.key, NULL, "/v1/objects/legacy/%s", o1);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(item(resp_data(r), "properties"), "code"), "abc");
	http_free(r);
	/* enum_values cannot shrink below what objects hold. */
	r = call("PATCH", t.key, "{\"enum_values\":[\"def\"]}", "/v1/object-types/%s/properties/code", tid);
	assert_invalid(r, "enum_values");
	http_free(r);
	r = call("PATCH", t.key, "{\"enum_values\":[\"abc\"]}", "/v1/object-types/%s/properties/code", tid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "enum_values", "[\"abc\"]");
	http_free(r);
	l = props_list(t.key, tid);
	assert_json_eq(prop_named(l, "code"), "enum_values", "[\"abc\"]");
	cJSON_Delete(l);
	free(o1);
	free(o2);
	free(pid);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(defaults_are_stored_normalised_and_given_to_new_objects)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "defaulted");
	const struct { const char *type, *given, *stored; } cases[] = {
		{ "datetime", "\"2026-01-02T03:04:05+02:00\"", "\"2026-01-02T01:04:05.000Z\"" },
		{ "time", "\"09:30\"", "\"09:30:00\"" },
		{ "decimal", "\"012.50\"", "\"12.5\"" },
		{ "geo_point", "{\"lng\":13.5,\"lat\":52}", "{\"lat\":52,\"lng\":13.5}" },
	};
	char body[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"name\":\"d_%s\",\"data_type\":\"%s\",\"default_value\":%s}",
			 cases[i].type, cases[i].type, cases[i].given);
		http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
		assert_envelope(r, 201, NULL);
		assert_json_eq(resp_data(r), "default_value", cases[i].stored);
		http_free(r);
	}
	http_resp *r = call("POST", t.key, "{\"properties\":{}}", "/v1/objects/defaulted");
	assert_envelope(r, 201, NULL);
	const cJSON *props = item(resp_data(r), "properties");
	char name[64];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "d_%s", cases[i].type);
		assert_json_eq(props, name, cases[i].stored);
	}
	http_free(r);
	/* PATCH stores the normalised default too. */
	r = call("PATCH", t.key, "{\"default_value\":\"23:59\"}", "/v1/object-types/%s/properties/d_time", tid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "default_value", "\"23:59:00\"");
	http_free(r);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(reference_default_must_be_an_object_of_this_tenant)
{
	struct tenant t, other;
	tenant_make(&t);
	tenant_make(&other);
	char *tid = type_make(t.key, "linked");
	char *target = obj_make(t.key, "linked", "{}");
	free(type_make(other.key, "linked"));
	char *foreign = obj_make(other.key, "linked", "{}");
	const char *missing[] = { "obj_01AAAAAAAAAAAAAAAAAAAAAAAA", foreign, NULL };
	char body[256];
	for (const char **m = missing; *m; m++) {
		snprintf(body, sizeof(body), "{\"name\":\"parent\",\"data_type\":\"reference\",\"default_value\":\"%s\"}", *m);
		http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
		assert_invalid(r, "default_value");
		http_free(r);
	}
	snprintf(body, sizeof(body), "{\"name\":\"parent\",\"data_type\":\"reference\",\"default_value\":\"%s\"}", target);
	http_resp *r = call("POST", t.key, body, "/v1/object-types/%s/properties", tid);
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "default_value"), target);
	http_free(r);
	snprintf(body, sizeof(body), "{\"default_value\":\"%s\"}", foreign);
	r = call("PATCH", t.key, body, "/v1/object-types/%s/properties/parent", tid);
	assert_invalid(r, "default_value");
	http_free(r);
	free(target);
	free(foreign);
	free(tid);
	tenant_drop(&t);
	tenant_drop(&other);
}
END_TEST

START_TEST(delete_type_with_objects_counts_and_drops_them)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "orders");
	free(prop_new(t.key, tid, "{\"name\":\"total\",\"data_type\":\"currency\",\"is_sortable\":true}"));
	char *objs[3];
	for (int i = 0; i < 3; i++)
		objs[i] = obj_make(t.key, "orders", "{\"total\":\"10.5\"}");
	/* One in the trash still counts: it would go too. */
	http_resp *r = call("DELETE", t.key, NULL, "/v1/objects/orders/%s", objs[2]);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s", tid);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	const cJSON *deps = item(error_of(r), "dependencies");
	const cJSON *o = find_by(deps, "type", "objects"), *p = find_by(deps, "type", "properties");
	ck_assert_msg(o && p, "objects and properties counted: %s", r->body);
	ck_assert_int_eq(item(o, "count")->valueint, 3);
	ck_assert_int_eq(item(p, "count")->valueint, 1);
	ck_assert_msg(json_str(o, "label") && json_str(p, "label"), "labels: %s", r->body);
	char *tok = strdup(json_str(error_of(r), "confirm_token"));
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/orders/%s", objs[0]);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/object-types/orders?force=true&confirm_token=%s", tok);
	assert_envelope(r, 200, NULL);
	http_free(r);
	assert_type_404(t.key, "GET", tid, NULL);
	/* A new type of the same name has none of the old objects. */
	char *again = type_make(t.key, "orders");
	r = call("GET", t.key, NULL, "/v1/objects/orders/%s", objs[0]);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = http_get("/v1/objects/orders/list", t.key);
	assert_envelope(r, 200, NULL);
	ck_assert_msg(!strstr(r->body, objs[1]), "old object listed: %s", r->body);
	http_free(r);
	for (int i = 0; i < 3; i++)
		free(objs[i]);
	free(again);
	free(tok);
	free(tid);
	tenant_drop(&t);
}
END_TEST

START_TEST(rename_type_keeps_its_objects)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "leads");
	free(prop_new(t.key, tid, "{\"name\":\"score\",\"data_type\":\"integer\",\"is_unique\":true}"));
	char *oid = obj_make(t.key, "leads", "{\"score\":7}");
	http_resp *r = call("PATCH", t.key, "{\"name\":\"prospects\"}", "/v1/object-types/%s", tid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/prospects/%s", oid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(item(resp_data(r), "properties"), "score", "7");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/leads/%s", oid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* The unique index moved with the table. */
	r = call("POST", t.key, "{\"properties\":{\"score\":7}}", "/v1/objects/prospects");
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	free(oid);
	free(tid);
	tenant_drop(&t);
}
END_TEST

/* ------------------------------------------------------------ audit */

START_TEST(audit_records_type_changes)
{
	struct tenant t, other;
	tenant_make(&t);
	tenant_make(&other);
	free(type_make(other.key, "noise"));
	char *id = type_make(t.key, "audited");
	http_resp *r = call("PATCH", t.key, "{\"name\":\"audited_two\"}", "/v1/object-types/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* Refused changes leave nothing. */
	r = http_json("POST", "/v1/object-types", t.key, "{\"name\":\"Bad\"}");
	assert_envelope(r, 400, "VALIDATION_ERROR");
	http_free(r);

	struct audit_page p;
	audit_get(&p, t.key, "?resource_type=object_type");
	ck_assert_msg(p.total == 3 && cJSON_GetArraySize(p.logs) == 3, "want 3 entries: %s", p.r->body);
	static const char *const actions[] = { "object_type.created", "object_type.updated", "object_type.deleted" };
	for (int i = 0; i < 3; i++) {
		const cJSON *e = audit_find(p.logs, actions[i], id);
		ck_assert_msg(e != NULL, "no %s for %s: %s", actions[i], id, p.r->body);
		ck_assert_str_eq(json_str(e, "resource_type"), "object_type");
		ck_assert_str_eq(json_str(e, "actor_type"), "api_key");
	}
	ck_assert_str_eq(json_str(item(audit_find(p.logs, "object_type.created", id), "details"), "name"), "audited");
	ck_assert_str_eq(json_str(item(audit_find(p.logs, "object_type.updated", id), "details"), "name"), "audited_two");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(p.logs, 0), "action"), "object_type.deleted");
	ck_assert_msg(!strstr(p.r->body, "noise"), "another tenant's entry: %s", p.r->body);
	http_free(p.r);
	free(id);
	tenant_drop(&t);
	tenant_drop(&other);
}
END_TEST

START_TEST(audit_records_property_changes)
{
	struct tenant t;
	tenant_make(&t);
	char *tid = type_make(t.key, "audit_props");
	char *pid = prop_new(t.key, tid, "{\"name\":\"price\",\"data_type\":\"currency\"}");
	http_resp *r = call("PATCH", t.key, "{\"is_indexed\":true}", "/v1/object-types/%s/properties/%s", tid, pid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/object-types/%s/properties/%s", tid, pid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"id\",\"data_type\":\"string\"}", "/v1/object-types/%s/properties", tid);
	assert_envelope(r, 400, "VALIDATION_ERROR");
	http_free(r);

	struct audit_page p;
	audit_get(&p, t.key, "?resource_type=property");
	ck_assert_msg(p.total == 3 && cJSON_GetArraySize(p.logs) == 3, "want 3 entries: %s", p.r->body);
	static const char *const actions[] = { "property.created", "property.updated", "property.deleted" };
	for (int i = 0; i < 3; i++) {
		const cJSON *e = audit_find(p.logs, actions[i], pid);
		ck_assert_msg(e != NULL, "no %s for %s: %s", actions[i], pid, p.r->body);
		ck_assert_str_eq(json_str(e, "resource_type"), "property");
		ck_assert_str_eq(json_str(item(e, "details"), "name"), "price");
	}
	const cJSON *det = item(audit_find(p.logs, "property.created", pid), "details");
	ck_assert_str_eq(json_str(det, "object_type_id"), tid);
	ck_assert_str_eq(json_str(det, "data_type"), "currency");
	http_free(p.r);
	/* The type's own entries are apart. */
	audit_get(&p, t.key, "?resource_type=object_type");
	ck_assert_int_eq(p.total, 1);
	http_free(p.r);
	free(pid);
	free(tid);
	tenant_drop(&t);
}
END_TEST

Suite *suite_schema(void)
{
	Suite *s = suite_create("schema");
	TCase *tc = tcase_new_slow(s, "object-types");
	tcase_add_test(tc, create_type_returns_it_with_derived_display_name);
	tcase_add_test(tc, list_types_shows_each_with_property_count);
	tcase_add_test(tc, get_type_by_id_and_by_name);
	tcase_add_test(tc, unknown_type_is_404);
	tcase_add_test(tc, other_tenant_cannot_see_or_touch_type);
	tcase_add_test(tc, invalid_type_names_are_rejected);
	tcase_add_test(tc, type_name_of_63_characters_works);
	tcase_add_test(tc, duplicate_type_name_is_409);
	tcase_add_test(tc, reserved_type_names_are_rejected);
	tcase_add_test(tc, patch_type_display_name_and_description);
	tcase_add_test(tc, rename_type_keeps_id_and_properties);
	tcase_add_test(tc, rename_onto_existing_name_is_409_and_changes_nothing);

	tc = tcase_new_slow(s, "type-delete");
	tcase_add_test(tc, delete_empty_type);
	tcase_add_test(tc, delete_type_with_properties_needs_confirm_token);
	tcase_add_test(tc, confirm_token_is_single_use_and_bound_to_its_type);
	tcase_add_test(tc, wrong_confirm_token_is_400);

	tc = tcase_new_slow(s, "scopes");
	tcase_add_test(tc, read_key_can_read_types_but_not_change_them);
	tcase_add_test(tc, schema_key_can_change_the_schema);

	tc = tcase_new_slow(s, "properties");
	tcase_add_test(tc, create_property_of_each_data_type);
	tcase_add_test(tc, indexable_types_take_unique_indexed_sortable);
	tcase_add_test(tc, unindexable_types_refuse_unique_indexed_sortable);
	tcase_add_test(tc, unknown_data_type_is_400);
	tcase_add_test(tc, enum_types_need_distinct_enum_values);
	tcase_add_test(tc, default_value_is_validated_by_type);
	tcase_add_test(tc, property_names_are_checked);
	tcase_add_test(tc, duplicate_property_name_is_409);
	tcase_add_test(tc, patch_cannot_change_name_or_data_type);
	tcase_add_test(tc, patch_property_settings_are_reflected_everywhere);
	tcase_add_test(tc, patch_and_delete_property_by_id_and_by_name);
	tcase_add_test(tc, properties_list_in_creation_order);

	tc = tcase_new_slow(s, "with-objects");
	tcase_add_test(tc, unique_turned_on_over_duplicates_is_409_and_changes_nothing);
	tcase_add_test(tc, property_recreated_over_old_values_must_fit_them);
	tcase_add_test(tc, defaults_are_stored_normalised_and_given_to_new_objects);
	tcase_add_test(tc, reference_default_must_be_an_object_of_this_tenant);
	tcase_add_test(tc, delete_type_with_objects_counts_and_drops_them);
	tcase_add_test(tc, rename_type_keeps_its_objects);

	tc = tcase_new_slow(s, "audit");
	tcase_add_test(tc, audit_records_type_changes);
	tcase_add_test(tc, audit_records_property_changes);
	return s;
}
