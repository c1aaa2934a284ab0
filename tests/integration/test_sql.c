/*
 * test_sql.c - POST /v1/sql end to end: statements run as the tenant's own
 * MariaDB accounts, so the control DB and other tenants' DBs are out of
 * reach, read keys cannot write, nobody runs DDL; bound params, typed
 * values, the statement time limit, the row cap, and SQL errors as 400s
 * carrying MariaDB's message.  Each test makes its own tenant, object type
 * and objects through the API.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

/* ------------------------------------------------------------ helpers */

/* POST /v1/sql with sql and params (JSON array text, or NULL for none). */
static http_resp *sql_run(const char *key, const char *sql, const char *params)
{
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "sql", sql);
	if (params) {
		cJSON *p = cJSON_Parse(params);
		ck_assert_msg(p, "bad params JSON in test: %s", params);
		cJSON_AddItemToObject(body, "params", p);
	}
	char *text = cJSON_PrintUnformatted(body);
	http_resp *r = http_json("POST", "/v1/sql", key, text);
	free(text);
	cJSON_Delete(body);
	return r;
}

/* Runs sql, asserting 200; returns the response (caller frees). */
static http_resp *sql_ok(const char *key, const char *sql, const char *params)
{
	http_resp *r = sql_run(key, sql, params);
	ck_assert_msg(r->status == 200, "%s: %ld %s", sql, r->status, r->body);
	assert_envelope(r, 200, NULL);
	return r;
}

/* A 400 VALIDATION_ERROR naming `field` whose message contains `part`. */
static void assert_sql_error(const http_resp *r, const char *field, const char *part)
{
	assert_envelope(r, 400, "VALIDATION_ERROR");
	const char *f = detail_field(r);
	ck_assert_msg(f && strcmp(f, field) == 0, "want details.field %s: %s", field, r->body);
	const char *m = error_message(r);
	ck_assert_msg(m && strstr(m, part), "want a message with \"%s\": %s", part, r->body);
}

/* Runs sql and asserts it is refused as a 400 on "sql" mentioning part. */
static void refuse(const char *key, const char *sql, const char *part)
{
	http_resp *r = sql_run(key, sql, NULL);
	assert_sql_error(r, "sql", part);
	http_free(r);
}

static long long data_int(const http_resp *r, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(resp_data(r), name);
	ck_assert_msg(cJSON_IsNumber(v), "%s is not a number: %s", name, r->body);
	return (long long)v->valuedouble;
}

static const cJSON *rows_of(const http_resp *r)
{
	const cJSON *rows = cJSON_GetObjectItemCaseSensitive(resp_data(r), "rows");
	ck_assert_msg(cJSON_IsArray(rows), "no rows: %s", r->body);
	return rows;
}

static const cJSON *cell(const http_resp *r, int row, const char *col)
{
	return cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(rows_of(r), row), col);
}

/* The one value SELECT returns (first row, column col) as a number. */
static long long scalar(const char *key, const char *sql, const char *col)
{
	http_resp *r = sql_ok(key, sql, NULL);
	const cJSON *v = cell(r, 0, col);
	ck_assert_msg(cJSON_IsNumber(v), "%s: %s", sql, r->body);
	long long n = (long long)v->valuedouble;
	http_free(r);
	return n;
}

static void post_ok(const char *key, const char *path, const char *json, long status)
{
	http_resp *r = http_json("POST", path, key, json);
	ck_assert_msg(r->status == status, "POST %s %s: %ld %s", path, json, r->status, r->body);
	http_free(r);
}

/* Type "people" with name (string), age (integer) and score (decimal), and
 * three people; returns the id of "ada" (malloc'd). */
static char *people_make(const char *key)
{
	post_ok(key, "/v1/object-types", "{\"name\":\"people\"}", 201);
	post_ok(key, "/v1/object-types/people/properties", "{\"name\":\"name\",\"data_type\":\"string\"}", 201);
	post_ok(key, "/v1/object-types/people/properties", "{\"name\":\"age\",\"data_type\":\"integer\"}", 201);
	post_ok(key, "/v1/object-types/people/properties", "{\"name\":\"score\",\"data_type\":\"decimal\"}", 201);
	http_resp *r = http_json("POST", "/v1/objects/people", key,
				 "{\"properties\":{\"name\":\"ada\",\"age\":36,\"score\":\"12.50\"}}");
	ck_assert_msg(r->status == 201, "create ada: %ld %s", r->status, r->body);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	post_ok(key, "/v1/objects/people", "{\"properties\":{\"name\":\"alan\",\"age\":41}}", 201);
	post_ok(key, "/v1/objects/people", "{\"properties\":{\"name\":\"grace\",\"age\":85}}", 201);
	return id;
}

/* ------------------------------------------------------------ tests */

START_TEST(select_with_params_returns_typed_rows_and_columns)
{
	struct tenant t;
	tenant_make(&t);
	free(people_make(t.key));
	http_resp *r = sql_ok(t.key,
			      "SELECT name, age, score, NULL AS nothing, 2.5e0 AS f, ? AS echo "
			      "FROM people WHERE age < ? AND name LIKE ? ORDER BY age",
			      "[\"hi\", 50, \"a%\"]");
	const cJSON *cols = cJSON_GetObjectItemCaseSensitive(resp_data(r), "columns");
	const char *want[] = { "name", "age", "score", "nothing", "f", "echo" };
	ck_assert_int_eq(cJSON_GetArraySize(cols), 6);
	for (int i = 0; i < 6; i++)
		ck_assert_str_eq(cJSON_GetArrayItem(cols, i)->valuestring, want[i]);
	ck_assert_int_eq(cJSON_GetArraySize(rows_of(r)), 2);
	ck_assert_int_eq(data_int(r, "row_count"), 2);
	ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(resp_data(r), "duration_ms")));
	ck_assert(!cJSON_GetObjectItemCaseSensitive(resp_data(r), "truncated"));
	ck_assert_str_eq(cell(r, 0, "name")->valuestring, "ada");
	ck_assert(cJSON_IsNumber(cell(r, 0, "age")));
	ck_assert_int_eq((int)cell(r, 0, "age")->valuedouble, 36);
	/* decimal: exact text; NULL: null; double: number; bound string. */
	ck_assert(cJSON_IsString(cell(r, 0, "score")));
	ck_assert_msg(strncmp(cell(r, 0, "score")->valuestring, "12.50", 5) == 0, "%s", r->body);
	ck_assert(cJSON_IsNull(cell(r, 1, "score")));
	ck_assert(cJSON_IsNull(cell(r, 0, "nothing")));
	ck_assert(cJSON_IsNumber(cell(r, 0, "f")) && cell(r, 0, "f")->valuedouble == 2.5);
	ck_assert_str_eq(cell(r, 1, "echo")->valuestring, "hi");
	ck_assert_str_eq(cell(r, 1, "name")->valuestring, "alan");
	http_free(r);

	/* Booleans and null bind too; a 64-bit integer keeps every digit. */
	r = sql_ok(t.key, "SELECT ? AS b, ? IS NULL AS n, 9007199254740993 AS big", "[true, null]");
	ck_assert_int_eq((int)cell(r, 0, "b")->valuedouble, 1);
	ck_assert_int_eq((int)cell(r, 0, "n")->valuedouble, 1);
	ck_assert_msg(strstr(r->body, "\"big\":9007199254740993"), "%s", r->body);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(params_must_match_placeholders_and_be_scalars)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = sql_run(t.key, "SELECT ? AS a, ? AS b", "[1]");
	assert_sql_error(r, "params", "2 placeholders");
	http_free(r);
	r = sql_run(t.key, "SELECT ? AS a", "[{\"x\":1}]");
	assert_sql_error(r, "params[0]", "params[0]");
	http_free(r);
	r = sql_run(t.key, "SELECT ? AS a", "[[1]]");
	assert_sql_error(r, "params[0]", "params[0]");
	http_free(r);

	char params[512] = "[";
	for (int i = 0; i < 101; i++)
		strncat(params, i ? ",1" : "1", sizeof(params) - strlen(params) - 1);
	strncat(params, "]", sizeof(params) - strlen(params) - 1);
	r = sql_run(t.key, "SELECT 1", params);
	assert_envelope(r, 400, "VALIDATION_ERROR");
	ck_assert_str_eq(detail_field(r), "params");
	http_free(r);

	/* sql is required. */
	r = http_json("POST", "/v1/sql", t.key, "{\"params\":[]}");
	assert_envelope(r, 400, "VALIDATION_ERROR");
	ck_assert_str_eq(detail_field(r), "sql");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

START_TEST(control_db_is_out_of_reach)
{
	struct tenant t;
	tenant_make(&t);
	char *read = key_new(t.key, "{\"label\":\"reader\",\"scopes\":[\"read\"]}", NULL);
	const char *keys[] = { t.key, read };
	for (int k = 0; k < 2; k++) {
		refuse(keys[k], "SELECT * FROM tessera.tenants", "denied");
		refuse(keys[k], "SELECT key_hash FROM tessera.api_keys", "denied");
		/* Not even its tables' names leak. */
		ck_assert_int_eq(scalar(keys[k], "SELECT COUNT(*) AS n FROM information_schema.tables "
					"WHERE table_schema = 'tessera'", "n"), 0);
	}
	refuse(t.key, "UPDATE tessera.tenants SET plan = 'enterprise'", "denied");
	free(read);
	tenant_drop(&t);
}
END_TEST

START_TEST(other_tenants_db_is_out_of_reach)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	post_ok(b.key, "/v1/object-types", "{\"name\":\"secrets\"}", 201);

	/* Each tenant sees its own DB and information_schema, nothing else. */
	http_resp *r = sql_ok(b.key, "SELECT DATABASE() AS db", NULL);
	char *bdb = strdup(cell(r, 0, "db")->valuestring);
	http_free(r);
	char want[128];
	snprintf(want, sizeof(want), "tessera_t_%s", b.id + 3);
	for (char *p = want; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	ck_assert_str_eq(bdb, want);

	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT * FROM `%s`.secrets", bdb);
	refuse(a.key, sql, "denied");
	snprintf(sql, sizeof(sql), "DELETE FROM `%s`.secrets", bdb);
	refuse(a.key, sql, "denied");
	snprintf(sql, sizeof(sql), "SHOW TABLES FROM `%s`", bdb);
	refuse(a.key, sql, "denied");

	r = sql_ok(a.key, "SHOW DATABASES", NULL);
	ck_assert_int_eq(data_int(r, "row_count"), 2);
	const cJSON *rows = rows_of(r);
	bool own = false, schema = false;
	char adb[128];
	snprintf(adb, sizeof(adb), "tessera_t_%s", a.id + 3);
	for (char *p = adb; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
	for (int i = 0; i < cJSON_GetArraySize(rows); i++) {
		const char *db = json_str(cJSON_GetArrayItem(rows, i), "Database");
		ck_assert_ptr_nonnull(db);
		own |= strcmp(db, adb) == 0;
		schema |= strcmp(db, "information_schema") == 0;
	}
	ck_assert_msg(own && schema, "%s", r->body);
	http_free(r);
	free(bdb);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

START_TEST(read_key_cannot_write_but_admin_key_can)
{
	struct tenant t;
	tenant_make(&t);
	char *ada = people_make(t.key);
	char *read = key_new(t.key, "{\"label\":\"reader\",\"scopes\":[\"read\"]}", NULL);

	/* The read key reads... */
	ck_assert_int_eq(scalar(read, "SELECT COUNT(*) AS n FROM people", "n"), 3);
	http_resp *r = sql_ok(read, "DESCRIBE people", NULL);
	http_free(r);
	r = sql_ok(read, "EXPLAIN SELECT * FROM people", NULL);
	http_free(r);
	/* ...but is refused any write, before it runs. */
	const char *writes[] = {
		"UPDATE people SET version = 7",
		"DELETE FROM people",
		"INSERT INTO people (id, properties, created_at, updated_at) VALUES ('x', '{}', NOW(), NOW())",
		"DROP TABLE people",
	};
	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
		r = sql_run(read, writes[i], NULL);
		assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
		http_free(r);
	}
	ck_assert_int_eq(scalar(t.key, "SELECT COUNT(*) AS n FROM people WHERE version = 1", "n"), 3);

	/* The admin key updates a row; the objects API sees the change. */
	char params[128];
	snprintf(params, sizeof(params), "[37, \"%s\"]", ada);
	r = sql_run(t.key, "UPDATE people SET properties = JSON_SET(properties, '$.age', ?) WHERE id = ?",
		    params);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(data_int(r, "row_count"), 1);
	ck_assert_int_eq(cJSON_GetArraySize(rows_of(r)), 0);
	http_free(r);
	char path[128];
	snprintf(path, sizeof(path), "/v1/objects/people/%s", ada);
	r = http_get(path, t.key);
	assert_envelope(r, 200, NULL);
	const cJSON *age = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(resp_data(r), "properties"), "age");
	ck_assert_msg(cJSON_IsNumber(age) && age->valuedouble == 37, "%s", r->body);
	http_free(r);
	free(read);
	free(ada);
	tenant_drop(&t);
}
END_TEST

START_TEST(ddl_is_refused_even_for_admin_keys)
{
	struct tenant t;
	tenant_make(&t);
	free(people_make(t.key));
	refuse(t.key, "DROP TABLE people", "denied");
	refuse(t.key, "CREATE TABLE sneaky (a INT)", "denied");
	refuse(t.key, "ALTER TABLE people ADD COLUMN x INT", "denied");
	refuse(t.key, "TRUNCATE TABLE people", "denied");
	ck_assert_int_eq(scalar(t.key, "SELECT COUNT(*) AS n FROM people", "n"), 3);
	tenant_drop(&t);
}
END_TEST

START_TEST(sql_errors_are_400_with_mariadbs_message)
{
	struct tenant t;
	tenant_make(&t);
	free(people_make(t.key));
	refuse(t.key, "SELEC 1", "You have an error in your SQL syntax");
	refuse(t.key, "SELECT * FROM no_such_table", "no_such_table");
	refuse(t.key, "SELECT no_such_column FROM people", "no_such_column");
	/* One statement only: the second never runs. */
	refuse(t.key, "SELECT 1; SELECT 2", "SQL syntax");
	refuse(t.key, "SELECT 1; DELETE FROM people", "SQL syntax");
	ck_assert_int_eq(scalar(t.key, "SELECT COUNT(*) AS n FROM people", "n"), 3);
	/* Settings that could lift the time limit are refused. */
	refuse(t.key, "SET STATEMENT max_statement_time=0 FOR SELECT 1", "time limit");
	refuse(t.key, "/*!SET STATEMENT max_statement_time=0 FOR */ SELECT 1", "time limit");
	refuse(t.key, "set max_statement_time = 0", "time limit");
	refuse(t.key, "   ", "no statement");
	tenant_drop(&t);
}
END_TEST

START_TEST(sql_is_at_most_10000_characters)
{
	struct tenant t;
	tenant_make(&t);
	char *sql = malloc(10002);
	const char *head = "SELECT 1 AS one /*";
	memcpy(sql, head, strlen(head));
	memset(sql + strlen(head), 'x', 10000 - strlen(head) - 2);
	memcpy(sql + 10000 - 2, "*/", 3);
	ck_assert_int_eq((int)strlen(sql), 10000);
	http_resp *r = sql_ok(t.key, sql, NULL);
	ck_assert_int_eq((int)cell(r, 0, "one")->valuedouble, 1);
	http_free(r);

	memcpy(sql + 10000 - 2, "x*/", 4);
	ck_assert_int_eq((int)strlen(sql), 10001);
	r = sql_run(t.key, sql, NULL);
	assert_sql_error(r, "sql", "10000");
	http_free(r);
	free(sql);
	tenant_drop(&t);
}
END_TEST

START_TEST(statements_stop_at_the_time_limit)
{
	struct tenant t;
	tenant_make(&t);
	double t0 = now_s();
	http_resp *r = sql_run(t.key, "SELECT SLEEP(10)", NULL);
	double took = now_s() - t0;
	assert_sql_error(r, "sql", "max_statement_time");
	/* SLEEP(10) was cut short: the limit (5 s) ended it, with slack for a loaded machine. */
	ck_assert_msg(took < 9.5, "took %.1f s", took);
	http_free(r);
	/* The connection is still good afterwards. */
	ck_assert_int_eq(scalar(t.key, "SELECT 41 + 1 AS n", "n"), 42);
	tenant_drop(&t);
}
END_TEST

START_TEST(rows_are_capped_at_1000)
{
	struct tenant t;
	tenant_make(&t);
	/* 100 x 50 = 5,000 rows. */
	http_resp *r = sql_ok(t.key,
			      "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100) "
			      "SELECT a.n AS a, b.n AS b FROM c a CROSS JOIN c b WHERE b.n <= 50", NULL);
	ck_assert_int_eq(cJSON_GetArraySize(rows_of(r)), 1000);
	ck_assert_int_eq(data_int(r, "row_count"), 1000);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp_data(r), "truncated")));
	http_free(r);
	/* Exactly 1,000 rows are not truncated. */
	r = sql_ok(t.key,
		   "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100) "
		   "SELECT a.n AS a, b.n AS b FROM c a CROSS JOIN c b WHERE b.n <= 10", NULL);
	ck_assert_int_eq(data_int(r, "row_count"), 1000);
	ck_assert(!cJSON_GetObjectItemCaseSensitive(resp_data(r), "truncated"));
	http_free(r);
	/* The discarded rows do not disturb the next statement. */
	ck_assert_int_eq(scalar(t.key, "SELECT 7 AS n", "n"), 7);
	tenant_drop(&t);
}
END_TEST

START_TEST(end_user_tokens_are_forbidden)
{
	struct tenant t;
	tenant_make(&t);
	char *jwt = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	/* The pipeline turns end users away from routes not marked for them
	 * (INSUFFICIENT_SCOPE); the handler refuses them too (FORBIDDEN). */
	http_resp *r = sql_run(jwt, "SELECT 1", NULL);
	const char *code = resp_error_code(r);
	ck_assert_msg(code && (strcmp(code, "FORBIDDEN") == 0 || strcmp(code, "INSUFFICIENT_SCOPE") == 0),
		      "%s", r->body);
	assert_envelope(r, 403, code);
	http_free(r);
	r = sql_run(NULL, "SELECT 1", NULL);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	free(jwt);
	tenant_drop(&t);
}
END_TEST

START_TEST(open_transactions_do_not_outlive_the_request)
{
	struct tenant t;
	tenant_make(&t);
	free(people_make(t.key));
	http_resp *r = sql_ok(t.key, "START TRANSACTION", NULL);
	http_free(r);
	r = sql_ok(t.key, "DELETE FROM people", NULL);
	ck_assert_int_eq(data_int(r, "row_count"), 3);
	http_free(r);
	/* The delete was not held in the transaction: another session (the
	 * read key's account) sees it committed. */
	char *read = key_new(t.key, "{\"label\":\"reader\",\"scopes\":[\"read\"]}", NULL);
	ck_assert_int_eq(scalar(read, "SELECT COUNT(*) AS n FROM people", "n"), 0);
	ck_assert_int_eq(scalar(t.key, "SELECT @@in_transaction AS n", "n"), 0);
	free(read);
	tenant_drop(&t);
}
END_TEST

Suite *suite_sql(void)
{
	Suite *s = suite_create("sql");
	TCase *tc = tcase_new_slow(s, "query");
	tcase_add_test(tc, select_with_params_returns_typed_rows_and_columns);
	tcase_add_test(tc, params_must_match_placeholders_and_be_scalars);
	tcase_add_test(tc, sql_errors_are_400_with_mariadbs_message);
	tcase_add_test(tc, sql_is_at_most_10000_characters);
	tcase_add_test(tc, statements_stop_at_the_time_limit);
	tcase_add_test(tc, rows_are_capped_at_1000);

	tc = tcase_new_slow(s, "isolation");
	tcase_add_test(tc, control_db_is_out_of_reach);
	tcase_add_test(tc, other_tenants_db_is_out_of_reach);
	tcase_add_test(tc, read_key_cannot_write_but_admin_key_can);
	tcase_add_test(tc, ddl_is_refused_even_for_admin_keys);
	tcase_add_test(tc, end_user_tokens_are_forbidden);
	tcase_add_test(tc, open_transactions_do_not_outlive_the_request);
	return s;
}
