/*
 * test_schema.c - request-body schemas (common/schema.c): one table of
 * bodies against one field list, each row naming the field and message the
 * client would see.
 */
#include "unit.h"

#include "../../common/jsonx.h"
#include "../../common/schema.h"

static const field_t fields[] = {
	{ "name", FT_STRING, FF_REQUIRED, 1, 5 },
	{ "count", FT_INT, 0, 1, 10 },
	{ "offset", FT_INT, 0, 0, 0 },                  /* no bounds */
	{ "tags", FT_STRING_ARRAY, 0, 0, 3 },
	{ "items", FT_ARRAY, 0, 0, 2 },
	{ "any_len", FT_ARRAY, 0, 0, 0 },               /* no length limit */
	{ "note", FT_STRING, FF_NULLABLE, 0, 0 },
	{ "expires_at", FT_STRING, FF_NULLABLE | FF_REQUIRED, 0, 40 },
	{ "flag", FT_BOOL, 0, 0, 0 },
	{ "meta", FT_OBJECT, 0, 0, 0 },
	{ "score", FT_NUMBER, 0, 0, 0 },
	{ "extra", FT_ANY, 0, 0, 0 },
	{ "status", FT_STRING, FF_NULLABLE, 1, 16, (const char *const[]){ "open", "closed", NULL } },
	{ NULL, 0, 0, 0, 0 },
};

#define BASE "\"name\":\"ab\",\"expires_at\":null"

static const struct {
	const char *body;     /* JSON text; NULL = no body */
	const char *field;    /* offending field; NULL when ok or not about one */
	const char *msg;      /* expected message; NULL when ok */
} cases[] = {
	/* valid bodies */
	{ "{" BASE "}", NULL, NULL },
	{ "{" BASE ",\"count\":1,\"offset\":-5000000,\"tags\":[\"a\",\"b\",\"c\"],\"items\":[1,{}],"
	  "\"any_len\":[1,2,3,4,5,6],\"note\":null,\"flag\":false,\"meta\":{\"k\":[1]},\"score\":-1.5,"
	  "\"extra\":[null]}", NULL, NULL },
	{ "{" BASE ",\"count\":10,\"note\":\"\",\"tags\":[]}", NULL, NULL },
	{ "{\"name\":\"abcde\",\"expires_at\":\"2026-01-01T00:00:00Z\"}", NULL, NULL },
	{ "{" BASE ",\"count\":5.0}", NULL, NULL },        /* integral double is an integer */
	/* body shape */
	{ "[]", NULL, "the request body must be a JSON object" },
	{ "\"name\"", NULL, "the request body must be a JSON object" },
	{ "42", NULL, "the request body must be a JSON object" },
	{ "null", NULL, "the request body must be a JSON object" },
	{ NULL, "name", "name is required" },
	{ "{}", "name", "name is required" },
	{ "{\"name\":\"ab\"}", "expires_at", "expires_at is required" },  /* nullable but required */
	/* unknown fields */
	{ "{" BASE ",\"bogus\":1}", "bogus", "unknown field \"bogus\"" },
	{ "{" BASE ",\"Name\":\"x\"}", "Name", "unknown field \"Name\"" },
	/* strings */
	{ "{\"name\":5,\"expires_at\":null}", "name", "name must be a string" },
	{ "{\"name\":\"\",\"expires_at\":null}", "name", "name must be at least 1 characters" },
	{ "{\"name\":\"abcdef\",\"expires_at\":null}", "name", "name must be at most 5 characters" },
	{ "{\"name\":null,\"expires_at\":null}", "name", "name must not be null" },
	{ "{\"name\":[\"ab\"],\"expires_at\":null}", "name", "name must be a string" },
	/* integers */
	{ "{" BASE ",\"count\":0}", "count", "count must be between 1 and 10" },
	{ "{" BASE ",\"count\":11}", "count", "count must be between 1 and 10" },
	{ "{" BASE ",\"count\":-1}", "count", "count must be between 1 and 10" },
	{ "{" BASE ",\"count\":1.5}", "count", "count must be an integer" },
	{ "{" BASE ",\"count\":\"3\"}", "count", "count must be an integer" },
	{ "{" BASE ",\"count\":true}", "count", "count must be an integer" },
	{ "{" BASE ",\"count\":null}", "count", "count must not be null" },
	{ "{" BASE ",\"offset\":1e300}", "offset", "offset must be an integer" }, /* beyond 2^53 */
	{ "{" BASE ",\"offset\":9007199254740992}", "offset", "offset must be an integer" },
	{ "{" BASE ",\"offset\":9007199254740991}", NULL, NULL },
	/* arrays */
	{ "{" BASE ",\"tags\":[\"a\",1]}", "tags", "tags must be an array of strings" },
	{ "{" BASE ",\"tags\":[\"a\",null]}", "tags", "tags must be an array of strings" },
	{ "{" BASE ",\"tags\":\"a\"}", "tags", "tags must be an array of strings" },
	{ "{" BASE ",\"tags\":[\"a\",\"b\",\"c\",\"d\"]}", "tags", "tags must have at most 3 items" },
	{ "{" BASE ",\"items\":[1,\"x\",{}]}", "items", "items must have at most 2 items" },
	{ "{" BASE ",\"items\":{}}", "items", "items must be an array" },
	/* other types */
	{ "{" BASE ",\"flag\":\"true\"}", "flag", "flag must be a boolean" },
	{ "{" BASE ",\"flag\":1}", "flag", "flag must be a boolean" },
	{ "{" BASE ",\"meta\":[]}", "meta", "meta must be an object" },
	{ "{" BASE ",\"score\":\"1\"}", "score", "score must be a number" },
	{ "{" BASE ",\"extra\":null}", "extra", "extra must not be null" },  /* FT_ANY is not nullable */
	/* nullable */
	{ "{" BASE ",\"note\":null}", NULL, NULL },
	/* values */
	{ "{" BASE ",\"status\":\"open\"}", NULL, NULL },
	{ "{" BASE ",\"status\":null}", NULL, NULL },
	{ "{" BASE ",\"status\":\"Open\"}", "status", "status must be one of: open, closed" },
	{ "{" BASE ",\"status\":\"open \"}", "status", "status must be one of: open, closed" },
	{ "{" BASE ",\"status\":\"\"}", "status", "status must be at least 1 characters" },
	{ "{" BASE ",\"status\":1}", "status", "status must be a string" },
};

START_TEST(schema_check_accepts_or_names_the_offending_field)
{
	cJSON *body = NULL;
	if (cases[_i].body) {
		body = cJSON_Parse(cases[_i].body);
		ck_assert_msg(body != NULL, "bad test JSON: %s", cases[_i].body);
	}
	const char *field = "untouched";
	char msg[200] = "";
	bool ok = schema_check(fields, body, &field, msg, sizeof(msg));
	bool want_ok = cases[_i].msg == NULL;
	ck_assert_msg(ok == want_ok, "%s: %s (%s)", cases[_i].body ? cases[_i].body : "(no body)",
		      ok ? "accepted" : "rejected", msg);
	if (!ok) {
		ck_assert_pstr_eq(field, cases[_i].field);
		ck_assert_str_eq(msg, cases[_i].msg);
	} else {
		ck_assert_ptr_null(field);
	}
	cJSON_Delete(body);
}
END_TEST

START_TEST(empty_body_passes_a_schema_without_required_fields)
{
	static const field_t optional[] = { { "label", FT_STRING, 0, 0, 10 }, { NULL, 0, 0, 0, 0 } };
	static const field_t none[] = { { NULL, 0, 0, 0, 0 } };
	const char *field = "x";
	char msg[100];
	ck_assert(schema_check(optional, NULL, &field, msg, sizeof(msg)));
	ck_assert_ptr_null(field);
	cJSON *empty = cJSON_CreateObject();
	ck_assert(schema_check(none, empty, &field, msg, sizeof(msg)));
	cJSON_AddNumberToObject(empty, "x", 1);
	ck_assert(!schema_check(none, empty, &field, msg, sizeof(msg)));
	ck_assert_str_eq(field, "x");
	cJSON_Delete(empty);
}
END_TEST

START_TEST(long_unknown_field_names_are_cut_in_the_message)
{
	char name[301];
	memset(name, 'k', 300);
	name[300] = '\0';
	cJSON *body = cJSON_CreateObject();
	cJSON_AddNumberToObject(body, name, 1);
	const char *field = NULL;
	char msg[512];
	ck_assert(!schema_check(fields, body, &field, msg, sizeof(msg)));
	ck_assert_str_eq(field, name); /* the full name is still reported as the field */
	ck_assert_uint_eq(strlen(msg), strlen("unknown field \"\"") + 100);
	cJSON_Delete(body);
}
END_TEST

START_TEST(message_is_truncated_to_the_buffer)
{
	cJSON *body = cJSON_Parse("{\"name\":5,\"expires_at\":null}");
	const char *field = NULL;
	char msg[8];
	ck_assert(!schema_check(fields, body, &field, msg, sizeof(msg)));
	ck_assert_str_eq(msg, "name mu");
	cJSON_Delete(body);
}
END_TEST

/* Limits count UTF-8 characters, not bytes (as utf8mb4 VARCHAR(n) does):
 * "ééééé" is 5 characters in 10 bytes. */
START_TEST(string_lengths_count_characters_not_bytes)
{
	static const struct {
		const char *body;
		bool ok;
	} utf8[] = {
		{ "{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",\"expires_at\":null}", true },
		{ "{\"name\":\"\xf0\x9f\x98\x80\xe2\x82\xac\",\"expires_at\":null}", true },     /* 2 chars, 7 bytes */
		{ "{\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",\"expires_at\":null}", false },
	};
	for (size_t i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++) {
		cJSON *body = cJSON_Parse(utf8[i].body);
		ck_assert_ptr_nonnull(body);
		const char *field = NULL;
		char msg[200] = "";
		bool ok = schema_check(fields, body, &field, msg, sizeof(msg));
		cJSON_Delete(body);
		ck_assert_msg(ok == utf8[i].ok, "case %zu: %s (%s)", i, ok ? "accepted" : "rejected", msg);
		if (!ok)
			ck_assert_str_eq(msg, "name must be at most 5 characters");
	}
}
END_TEST

/* A settings document with a map (DS_MAP): members the tenant names. */
static const doc_spec_t map_member[] = {
	{ "enabled", DS_BOOL, 0, 0, 0, "false", NULL },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};
static const doc_spec_t map_doc[] = {
	{ "things", DS_MAP, 0, 8, 2, NULL, map_member },
	{ NULL, 0, 0, 0, 0, NULL, NULL },
};

START_TEST(a_map_checks_member_names_counts_and_values)
{
	static const struct { const char *doc, *field, *msg; } maps[] = {
		{ "{\"things\":{\"a-1_b\":{\"enabled\":true},\"c\":null}}", NULL, NULL },
		{ "{\"things\":null}", NULL, NULL },
		{ "{\"things\":{\"Bad\":{}}}", "things.Bad", "things.Bad: names are 1 to 8 of a-z, 0-9, _ and -" },
		{ "{\"things\":{\"toolongname\":{}}}", "things.toolongname",
		  "things.toolongname: names are 1 to 8 of a-z, 0-9, _ and -" },
		{ "{\"things\":{\"a\":{},\"b\":{},\"c\":{}}}", "things", "things must be an object of at most 2 members" },
		{ "{\"things\":{\"a\":{\"enabled\":1}}}", "things.a.enabled", "things.a.enabled must be true or false" },
		{ "{\"things\":{\"a\":{\"other\":1}}}", "things.a.other", "unknown field things.a.other" },
		{ "{\"things\":[]}", "things", "things must be an object of at most 2 members" },
	};
	arena_t *a = arena_new(4096);
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		cJSON *doc = cJSON_Parse(maps[i].doc);
		const char *field = NULL;
		char msg[256] = "";
		bool ok = doc_spec_check(map_doc, doc, a, &field, msg, sizeof(msg));
		cJSON_Delete(doc);
		ck_assert_msg(ok == !maps[i].field, "case %zu: %s", i, msg);
		if (!ok) {
			ck_assert_str_eq(field, maps[i].field);
			ck_assert_str_eq(msg, maps[i].msg);
		}
	}
	cJSON *def = doc_spec_defaults(map_doc);
	ck_assert(cJSON_IsObject(cJSON_GetObjectItem(def, "things")));
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(def, "things")), 0);
	cJSON_Delete(def);
	arena_free(a);
}
END_TEST

START_TEST(a_member_named_twice_in_any_object_is_found)
{
	static const struct { const char *json, *dup; } docs[] = {
		{ "{\"a\":1,\"b\":2}", NULL },
		{ "{\"a\":1,\"a\":2}", "a" },
		{ "{\"a\":{\"x\":1,\"y\":{\"z\":1,\"z\":2}}}", "z" },
		{ "[{\"k\":1},{\"k\":2},{\"k\":1,\"j\":2,\"k\":3}]", "k" },
		{ "{\"A\":1,\"a\":2}", NULL },                  /* names are case-sensitive */
		{ "{\"\":1,\"\":2}", "" },
		{ "[1,\"a\",null,[[]]]", NULL },
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		cJSON *v = cJSON_Parse(docs[i].json);
		ck_assert_ptr_nonnull(v);
		const char *dup = json_duplicate_member(v);
		if (docs[i].dup)
			ck_assert_msg(dup && !strcmp(dup, docs[i].dup), "case %zu: %s", i, dup ? dup : "(none)");
		else
			ck_assert_msg(!dup, "case %zu: %s", i, dup);
		cJSON_Delete(v);
	}
	/* Wide objects take the sorted path: 2,000 members, one named twice
	 * far apart, and 2,000 distinct ones. */
	cJSON *o = cJSON_CreateObject(), *p = cJSON_CreateObject();
	char name[16];
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "m%d", i);
		cJSON_AddNumberToObject(o, name, i);
		cJSON_AddNumberToObject(p, name, i);
	}
	cJSON_AddNumberToObject(o, "m7", 1);
	ck_assert_str_eq(json_duplicate_member(o), "m7");
	ck_assert_ptr_null(json_duplicate_member(p));
	cJSON_Delete(o);
	cJSON_Delete(p);
}
END_TEST

Suite *suite_schema(void)
{
	Suite *s = suite_create("schema");
	TCase *tc = tcase_create("check");
	tcase_add_loop_test(tc, schema_check_accepts_or_names_the_offending_field, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, empty_body_passes_a_schema_without_required_fields);
	tcase_add_test(tc, long_unknown_field_names_are_cut_in_the_message);
	tcase_add_test(tc, message_is_truncated_to_the_buffer);
	tcase_add_test(tc, string_lengths_count_characters_not_bytes);
	tcase_add_test(tc, a_map_checks_member_names_counts_and_values);
	tcase_add_test(tc, a_member_named_twice_in_any_object_is_found);
	suite_add_tcase(s, tc);
	return s;
}
