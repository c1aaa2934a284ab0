/*
 * test_lazy_tables.c - a tenant's feature tables are created on first use
 * (common/lazytables.h, README "Small tenants"): a new tenant database holds
 * only the core tables and stays under 1 MB; the first request to files,
 * webhooks, accounting or auth creates that feature's tables and succeeds,
 * also when two such requests race; the fan-out and webhook deliveries
 * work for such a tenant without creating what it does not use; and
 * `tessera migrate` run twice changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "peers.h"

#define CORE_TABLES "_events _identity_settings _object_types _object_versions _properties " \
		    "_roles schema_migrations tenant_meta"

/* The same as a number. */
static long long sql_count(const char *fmt, const char *a, const char *b)
{
	char *v = control_sqlf(fmt, a, b);
	long long n = strtoll(v, NULL, 10);
	free(v);
	return n;
}

/* The tenant's database name (malloc'd). */
static char *db_of(const char *tenant)
{
	char *db = control_sqlf("SELECT db_name FROM tenants WHERE id = '%s'", tenant);
	ck_assert_msg(db && *db, "no database for %s", tenant);
	return db;
}

/* The tenant's tables, sorted, space-separated (malloc'd). */
static char *tables_of(const char *db)
{
	return control_sqlf("SELECT GROUP_CONCAT(TABLE_NAME ORDER BY CAST(TABLE_NAME AS BINARY) "
			 "SEPARATOR ' ') FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s'", db);
}

static bool has_table(const char *db, const char *table)
{
	return sql_count("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s' "
			 "AND TABLE_NAME = '%s'", db, table) == 1;
}

/* POSTs body to path as key, asserts 201 and that data.field is want. */
static void post_created(const char *key, const char *path, const char *body, const char *field,
			 const char *want)
{
	http_resp *r = call("POST", key, body, "%s", path);
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), field), want);
	http_free(r);
}

/* Bytes of the tenant's database files on disk. */
static long long disk_bytes(const char *db)
{
	int rc;
	char *out = run_cmd(&rc, "du -sb '%s/mysql/%s' | cut -f1", stack_dir(), db);
	ck_assert_int_eq(rc, 0);
	long long n = strtoll(out, NULL, 10);
	free(out);
	return n;
}

START_TEST(new_tenant_has_only_the_core_tables_and_is_under_1_mb)
{
	struct tenant t;
	tenant_make(&t);
	char *db = db_of(t.id);
	char *tables = tables_of(db);
	ck_assert_str_eq(tables, CORE_TABLES);
	long long bytes = sql_count("SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM "
				    "information_schema.TABLES WHERE TABLE_SCHEMA = '%s'%s", db, "");
	ck_assert_msg(bytes > 0 && bytes < 1024 * 1024, "data + indexes: %lld bytes", bytes);
	long long disk = disk_bytes(db);
	ck_assert_msg(disk > 0 && disk < 1024 * 1024, "on disk: %lld bytes", disk);

	/* Every migration counts as applied, as in the full template. */
	char *control = conf_value("db_name");
	long long applied = sql_count("SELECT COUNT(*) FROM %s.schema_migrations%s", db, "");
	ck_assert_int_eq(applied, sql_count("SELECT COUNT(*) FROM %s_template.schema_migrations%s",
					    control ? control : "tessera", ""));
	ck_assert_int_gt(applied, 20);
	free(control);

	/* A type and an object need nothing more than the type's own table. */
	free(type_make(t.key, "things"));
	free(obj_make(t.key, "things", "{}"));
	outbox_drained(t.id);
	free(tables);
	tables = tables_of(db);
	ck_assert_str_eq(tables, CORE_TABLES " things");
	free(tables);
	free(db);
	tenant_drop(&t);
}
END_TEST

START_TEST(first_request_of_each_feature_creates_its_tables_and_succeeds)
{
	struct tenant t;
	tenant_make(&t);
	char *db = db_of(t.id);
	ck_assert(!has_table(db, "_files"));
	ck_assert(!has_table(db, "_webhooks"));
	ck_assert(!has_table(db, "_acct_accounts"));
	ck_assert(!has_table(db, "_users"));

	/* files */
	http_resp *r = file_upload_bytes(t.key, "first.txt", "text/plain", "hello", 5);
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "filename"), "first.txt");
	char *fid = strf("%s", json_str(resp_data(r), "id"));
	http_free(r);
	ck_assert(has_table(db, "_files") && has_table(db, "_file_versions"));
	r = call("GET", t.key, NULL, "/v1/files/%s", fid);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "id"), fid);
	http_free(r);

	/* webhooks */
	post_created(t.key, "/v1/webhooks",
		     "{\"url\":\"https://example.com/hook\",\"events\":[\"object.created\"]}",
		     "url", "https://example.com/hook");
	ck_assert(has_table(db, "_webhooks"));
	r = call("GET", t.key, NULL, "/v1/webhooks");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);

	/* accounting */
	post_created(t.key, "/v1/accounting/accounts",
		     "{\"code\":\"9901\",\"name\":\"Petty cash\",\"type\":\"asset\"}", "code", "9901");
	ck_assert(has_table(db, "_acct_accounts") && has_table(db, "_acct_entries"));

	/* auth */
	post_created(t.key, "/v1/users",
		     "{\"email\":\"first@example.com\",\"password\":\"Long-enough-pass-1\"}",
		     "email", "first@example.com");
	ck_assert(has_table(db, "_users") && has_table(db, "_sessions"));

	/* What no request used is still not there. */
	ck_assert(!has_table(db, "_ai_vectors"));
	ck_assert(!has_table(db, "_forms"));
	free(fid);
	free(db);
	tenant_drop(&t);
}
END_TEST

/* Runs fn(key, i) in n child processes at once; each exits 0 when its
 * request got want.  Returns how many did. */
static int race(const char *key, int n, long (*fn)(const char *key, int i), long want)
{
	pid_t pids[8];
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0)
			_exit(fn(key, i) == want ? 0 : 1);
	}
	int ok = 0;
	for (int i = 0; i < n; i++) {
		int st;
		waitpid(pids[i], &st, 0);
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	return ok;
}

static long upload_one(const char *key, int i)
{
	char name[32];
	snprintf(name, sizeof(name), "race-%d.txt", i);
	http_resp *r = file_upload_bytes(key, name, "text/plain", "x", 1);
	long st = r->status;
	http_free(r);
	return st;
}

static long hook_one(const char *key, int i)
{
	char *body = strf("{\"url\":\"https://example.com/race/%d\",\"events\":[\"object.created\"]}", i);
	http_resp *r = call("POST", key, body, "/v1/webhooks");
	long st = r->status;
	http_free(r);
	free(body);
	return st;
}

START_TEST(concurrent_first_requests_of_a_feature_both_succeed)
{
	struct tenant t;
	tenant_make(&t);
	ck_assert_int_eq(race(t.key, 4, upload_one, 201), 4);
	ck_assert_int_eq(race(t.key, 4, hook_one, 201), 4);
	char *db = db_of(t.id);
	ck_assert_int_eq(sql_count("SELECT COUNT(*) FROM %s.%s", db, "_files"), 4);
	ck_assert_int_eq(sql_count("SELECT COUNT(*) FROM %s.%s", db, "_webhooks"), 4);
	free(db);
	tenant_drop(&t);
}
END_TEST

START_TEST(fanout_and_deliveries_work_for_a_tenant_with_lazy_tables)
{
	/* A tenant without webhooks: its events are fanned out, and the
	 * fan-out does not create the webhook tables for it. */
	struct tenant quiet;
	tenant_make(&quiet);
	free(type_make(quiet.key, "notes"));
	free(obj_make(quiet.key, "notes", "{}"));
	outbox_drained(quiet.id);
	char *qdb = db_of(quiet.id);
	ck_assert(!has_table(qdb, "_webhooks"));
	ck_assert(!has_table(qdb, "_webhook_deliveries"));

	/* A tenant whose first webhook is its first use of them: delivered. */
	struct tenant t;
	tenant_make(&t);
	char *db = db_of(t.id);
	ck_assert(!has_table(db, "_webhooks"));
	struct receiver rv;
	recv_start(&rv);
	char *url = hook_url(&rv, "lazy"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	ck_assert(has_table(db, "_webhooks") && has_table(db, "_webhook_deliveries"));
	box_setup(&rv, "lazy", secret, NULL);
	free(type_make(t.key, "leads"));
	char *obj = obj_make(t.key, "leads", "{}");
	cJSON *got = recv_wait(&rv, "lazy", 1, 20);
	ck_assert(verified_with(received(got, 0), secret));
	ck_assert_str_eq(json_str(item(received(got, 0), "body"), "resource_id"), obj);
	outbox_drained(t.id);
	cJSON_Delete(got);
	free(obj);
	free(wid);
	free(url);
	free(secret);
	free(qdb);
	free(db);
	recv_stop(&rv);
	tenant_drop(&t);
	tenant_drop(&quiet);
}
END_TEST

START_TEST(migrate_twice_changes_nothing)
{
	struct tenant t;
	tenant_make(&t);
	char *db = db_of(t.id);
	int rc;
	char *out = run_cmd(&rc, "'%s' --config '%s' migrate 2>&1", bin(), conf_path());
	ck_assert_msg(rc == 0, "migrate: %s", out);
	free(out);
	out = run_cmd(&rc, "'%s' --config '%s' migrate 2>&1", bin(), conf_path());
	ck_assert_msg(rc == 0, "migrate: %s", out);
	ck_assert_msg(strstr(out, "0 control and 0 tenant migrations applied") != NULL, "%s", out);
	free(out);
	/* The lazy tenant still has the core only, and works. */
	char *tables = tables_of(db);
	ck_assert_str_eq(tables, CORE_TABLES);
	free(tables);
	free(type_make(t.key, "after_migrate"));
	free(db);
	tenant_drop(&t);
}
END_TEST

Suite *suite_lazytables(void)
{
	Suite *s = suite_create("lazytables");
	TCase *tc = tcase_new_slow(s, "lazytables");
	tcase_add_test(tc, new_tenant_has_only_the_core_tables_and_is_under_1_mb);
	tcase_add_test(tc, first_request_of_each_feature_creates_its_tables_and_succeeds);
	tcase_add_test(tc, concurrent_first_requests_of_a_feature_both_succeed);
	tcase_add_test(tc, fanout_and_deliveries_work_for_a_tenant_with_lazy_tables);
	tcase_add_test(tc, migrate_twice_changes_nothing);
	return s;
}
