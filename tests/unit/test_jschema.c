/*
 * test_jschema.c - the JSON Schema subset of plugin manifests
 * (common/jschema.c): schemas of the subset pass and others are refused
 * naming the keyword; values are checked for type, required members,
 * enum, bounds, lengths and patterns, naming the member.
 */
#include "unit.h"

#include <string.h>

#include "../../common/jschema.h"

static const char *const schema_text =
	"{\"type\":\"object\",\"required\":[\"url\"],\"properties\":{"
	"\"url\":{\"type\":\"string\",\"pattern\":\"^https://\"},"
	"\"level\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5},"
	"\"mode\":{\"enum\":[\"a\",\"b\"]},"
	"\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":3}}}}";

static const struct {
	const char *value;
	const char *where;  /* NULL: valid */
} cases[] = {
	{ "{\"url\":\"https://x\"}", NULL },
	{ "{\"url\":\"https://x\",\"level\":3,\"mode\":\"b\",\"tags\":[\"ab\"]}", NULL },
	{ "{}", "cfg.url" },
	{ "{\"url\":\"http://x\"}", "cfg.url" },
	{ "{\"url\":\"https://x\",\"level\":6}", "cfg.level" },
	{ "{\"url\":\"https://x\",\"level\":1.5}", "cfg.level" },
	{ "{\"url\":\"https://x\",\"mode\":\"c\"}", "cfg.mode" },
	{ "{\"url\":\"https://x\",\"tags\":[\"ok\",\"long\"]}", "cfg.tags[1]" },
	{ "[]", "cfg" },
};

START_TEST(values_are_checked_against_the_schema)
{
	cJSON *schema = cJSON_Parse(schema_text), *v = cJSON_Parse(cases[_i].value);
	char where[256], err[256];
	ck_assert_int_eq(jschema_check(schema, where, sizeof(where), err, sizeof(err)), 0);
	int rc = jschema_validate(schema, v, "cfg", where, sizeof(where), err, sizeof(err));
	if (cases[_i].where) {
		ck_assert_int_eq(rc, -1);
		ck_assert_str_eq(where, cases[_i].where);
	} else {
		ck_assert_msg(rc == 0, "%s: %s %s", cases[_i].value, where, err);
	}
	cJSON_Delete(schema);
	cJSON_Delete(v);
}
END_TEST

START_TEST(schemas_outside_the_subset_are_refused)
{
	static const struct { const char *schema, *where; } bad[] = {
		{ "{\"oneOf\":[]}", "oneOf" },
		{ "{\"type\":\"thing\"}", "type" },
		{ "{\"properties\":{\"a\":{\"pattern\":\"([\"}}}", "properties.a.pattern" },
		{ "{\"required\":\"a\"}", "required" },
		{ "[]", "" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cJSON *s = cJSON_Parse(bad[i].schema);
		char where[256], err[256];
		ck_assert_int_eq(jschema_check(s, where, sizeof(where), err, sizeof(err)), -1);
		ck_assert_str_eq(where, bad[i].where);
		cJSON_Delete(s);
	}
}
END_TEST

Suite *suite_jschema(void)
{
	Suite *s = suite_create("jschema");
	TCase *tc = tcase_create("jschema");
	tcase_add_loop_test(tc, values_are_checked_against_the_schema, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, schemas_outside_the_subset_are_refused);
	suite_add_tcase(s, tc);
	return s;
}
