/*
 * test_rowjson.c - column descriptors (common/rowjson.c): database rows to
 * API JSON, JSON values back to bound parameters, and SELECT lists, over a
 * hand-built db_result.
 */
#include "unit.h"

#include "../../common/rowjson.h"

static const col_t cols[] = {
	{ "id", COL_STR, 0 },
	{ "count", COL_INT, COL_WRITABLE },
	{ "active", COL_BOOL, COL_WRITABLE },
	{ "created_at", COL_TIME, 0 },
	{ "meta", COL_JSON, COL_WRITABLE },
	{ "scopes", COL_WORDS, COL_WRITABLE },
	{ "key_hash", COL_STR, COL_HIDDEN },
	{ "not_selected", COL_STR, 0 },        /* absent from the result: skipped */
	{ NULL, 0, 0 },
};

/* Result columns in another order than cols, plus one cols does not name. */
static const char *names[] = { "meta", "id", "key_hash", "count", "active", "created_at", "scopes", "internal" };
#define NCOLS 8

static char *cells[] = {
	/* row 0: every type with a value */
	"{\"a\":[1,true,null],\"b\":\"x\"}", "key_01", "deadbeef", "42", "1", "2023-11-14 22:13:20.250", "read  write schema ", "secret",
	/* row 1: SQL NULL everywhere */
	NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	/* row 2: edge values */
	"not json", "key_\"q\"", "", "-1234567890123456", "0", "1970-01-01 00:00:00", "", "",
};

static db_result make_result(int nrows)
{
	return (db_result){ .nrows = nrows, .ncols = NCOLS, .names = names, .cells = cells };
}

static void assert_json(cJSON *j, const char *want)
{
	char *got = cJSON_PrintUnformatted(j);
	ck_assert_str_eq(got, want);
	cJSON_free(got);
	cJSON_Delete(j);
}

START_TEST(row_to_json_renders_each_type_and_omits_hidden_columns)
{
	db_result res = make_result(3);
	assert_json(row_to_json(cols, &res, 0),
		    "{\"id\":\"key_01\",\"count\":42,\"active\":true,\"created_at\":\"2023-11-14T22:13:20Z\","
		    "\"meta\":{\"a\":[1,true,null],\"b\":\"x\"},\"scopes\":[\"read\",\"write\",\"schema\"]}");
}
END_TEST

START_TEST(row_to_json_renders_sql_null_as_json_null)
{
	db_result res = make_result(3);
	assert_json(row_to_json(cols, &res, 1),
		    "{\"id\":null,\"count\":null,\"active\":null,\"created_at\":null,\"meta\":null,\"scopes\":null}");
}
END_TEST

START_TEST(row_to_json_handles_edge_values)
{
	db_result res = make_result(3);
	/* invalid JSON text renders null; empty words an empty array; quotes escaped */
	assert_json(row_to_json(cols, &res, 2),
		    "{\"id\":\"key_\\\"q\\\"\",\"count\":-1234567890123456,\"active\":false,"
		    "\"created_at\":\"1970-01-01T00:00:00Z\",\"meta\":null,\"scopes\":[]}");
}
END_TEST

/*
 * Regression (fixed): common/rowjson.c cell_json() renders COL_INT through
 * cJSON_CreateNumber(), and cJSON prints with "%1.15g" whenever its loose
 * relative comparison calls that close enough, so some integers above ~4.5e15
 * come out changed: 9007199254740991 (2^53 - 1, the largest FT_INT the
 * schema accepts) is rendered 9.00719925474099e+15, i.e. ...990.  Expected:
 * the exact digits the database returned (e.g. cJSON_CreateRaw() on the
 * validated decimal text).
 */
START_TEST(large_integers_render_exactly)
{
	static const col_t one[] = { { "n", COL_INT, 0 }, { NULL, 0, 0 } };
	static const char *n_names[] = { "n" };
	static char *n_cells[] = { "9007199254740991", "8000000000000001" };
	db_result res = { .nrows = 2, .ncols = 1, .names = n_names, .cells = n_cells };
	assert_json(rows_to_json(one, &res), "[{\"n\":9007199254740991},{\"n\":8000000000000001}]");
}
END_TEST

START_TEST(rows_to_json_renders_every_row_in_order)
{
	db_result res = make_result(3);
	cJSON *arr = rows_to_json(cols, &res);
	ck_assert_int_eq(cJSON_GetArraySize(arr), 3);
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, 0), "id")->valuestring, "key_01");
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, 1), "id")));
	for (int i = 0; i < 3; i++)
		ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, i), "key_hash"));
	cJSON_Delete(arr);

	db_result empty = make_result(0);
	assert_json(rows_to_json(cols, &empty), "[]");
}
END_TEST

START_TEST(cols_select_lists_visible_columns_with_prefix)
{
	arena_t *a = arena_new(1024);
	ck_assert_str_eq(cols_select(a, cols, "k."),
			 "k.id, k.count, k.active, k.created_at, k.meta, k.scopes, k.not_selected");
	ck_assert_str_eq(cols_select(a, cols, NULL),
			 "id, count, active, created_at, meta, scopes, not_selected");
	static const col_t none[] = { { "h", COL_STR, COL_HIDDEN }, { NULL, 0, 0 } };
	ck_assert_str_eq(cols_select(a, none, "x."), "");
	arena_free(a);
}
END_TEST

/* ---------------------------------------------------------- json_to_param */

static const col_t c_str = { "label", COL_STR, COL_WRITABLE };
static const col_t c_int = { "count", COL_INT, COL_WRITABLE };
static const col_t c_bool = { "active", COL_BOOL, COL_WRITABLE };
static const col_t c_time = { "expires_at", COL_TIME, COL_WRITABLE };
static const col_t c_json = { "meta", COL_JSON, COL_WRITABLE };
static const col_t c_words = { "scopes", COL_WORDS, COL_WRITABLE };

static const struct {
	const col_t *col;
	const char *json;        /* value as JSON text; NULL = no value (C NULL) */
	enum db_ptype type;
	const char *s;           /* DBP_STR */
	long long i;             /* DBP_INT */
} param_cases[] = {
	{ &c_str, "\"hello\"", DBP_STR, "hello", 0 },
	{ &c_str, "\"\"", DBP_STR, "", 0 },
	{ &c_str, "5", DBP_NULL, NULL, 0 },              /* not a string: NULL */
	{ &c_str, "null", DBP_NULL, NULL, 0 },
	{ &c_str, NULL, DBP_NULL, NULL, 0 },
	{ &c_int, "42", DBP_INT, NULL, 42 },
	{ &c_int, "-7", DBP_INT, NULL, -7 },
	{ &c_int, "9007199254740991", DBP_INT, NULL, 9007199254740991LL },
	{ &c_int, "null", DBP_NULL, NULL, 0 },
	{ &c_bool, "true", DBP_INT, NULL, 1 },
	{ &c_bool, "false", DBP_INT, NULL, 0 },
	{ &c_bool, "null", DBP_NULL, NULL, 0 },
	{ &c_time, "\"2023-11-14T22:13:20Z\"", DBP_STR, "2023-11-14 22:13:20", 0 },
	{ &c_time, "\"2023-11-14T23:13:20.5+01:00\"", DBP_STR, "2023-11-14 22:13:20", 0 }, /* to UTC */
	{ &c_time, "\"2023-02-29T00:00:00Z\"", DBP_NULL, NULL, 0 },  /* invalid date */
	{ &c_time, "\"yesterday\"", DBP_NULL, NULL, 0 },
	{ &c_time, "1700000000", DBP_NULL, NULL, 0 },
	{ &c_time, "null", DBP_NULL, NULL, 0 },
	{ &c_json, "{\"a\":[1,2],\"b\":{\"c\":null}}", DBP_STR, "{\"a\":[1,2],\"b\":{\"c\":null}}", 0 },
	{ &c_json, "[1,\"x\"]", DBP_STR, "[1,\"x\"]", 0 },
	{ &c_json, "\"text\"", DBP_STR, "\"text\"", 0 },
	{ &c_json, "null", DBP_NULL, NULL, 0 },          /* JSON null is SQL NULL */
	{ &c_words, "[\"read\",\"write\",\"schema\"]", DBP_STR, "read write schema", 0 },
	{ &c_words, "[\"read\"]", DBP_STR, "read", 0 },
	{ &c_words, "[]", DBP_STR, "", 0 },
	{ &c_words, "[\"read\",7,\"write\"]", DBP_STR, "read write", 0 }, /* non-strings skipped */
	{ &c_words, "null", DBP_NULL, NULL, 0 },
};

START_TEST(json_to_param_converts_each_column_type)
{
	arena_t *a = arena_new(1024);
	cJSON *v = NULL;
	if (param_cases[_i].json) {
		v = cJSON_Parse(param_cases[_i].json);
		ck_assert_ptr_nonnull(v);
	}
	db_param p = json_to_param(a, param_cases[_i].col, v);
	ck_assert_msg(p.type == param_cases[_i].type, "%s %s: type %d, want %d", param_cases[_i].col->name,
		      param_cases[_i].json ? param_cases[_i].json : "(none)", p.type, param_cases[_i].type);
	if (p.type == DBP_STR) {
		ck_assert_pstr_eq(p.s, param_cases[_i].s);
		ck_assert_uint_eq(p.len, strlen(param_cases[_i].s));
	} else if (p.type == DBP_INT) {
		ck_assert_int_eq(p.i, param_cases[_i].i);
	}
	cJSON_Delete(v);
	arena_free(a);
}
END_TEST

START_TEST(json_to_param_copies_strings_into_the_arena)
{
	arena_t *a = arena_new(1024);
	cJSON *v = cJSON_CreateString("kept");
	db_param p = json_to_param(a, &c_str, v);
	cJSON_Delete(v); /* the parameter must outlive the JSON */
	ck_assert_str_eq(p.s, "kept");
	arena_free(a);
}
END_TEST

Suite *suite_rowjson(void)
{
	Suite *s = suite_create("rowjson");
	TCase *tc = tcase_create("render");
	tcase_add_test(tc, row_to_json_renders_each_type_and_omits_hidden_columns);
	tcase_add_test(tc, row_to_json_renders_sql_null_as_json_null);
	tcase_add_test(tc, row_to_json_handles_edge_values);
	tcase_add_test(tc, rows_to_json_renders_every_row_in_order);
	tcase_add_test(tc, cols_select_lists_visible_columns_with_prefix);
	tcase_add_test(tc, large_integers_render_exactly);
	suite_add_tcase(s, tc);

	tc = tcase_create("params");
	tcase_add_loop_test(tc, json_to_param_converts_each_column_type, 0,
			    (int)(sizeof(param_cases) / sizeof(param_cases[0])));
	tcase_add_test(tc, json_to_param_copies_strings_into_the_arena);
	suite_add_tcase(s, tc);
	return s;
}
