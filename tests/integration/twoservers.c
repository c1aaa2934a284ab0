/*
 * twoservers.c - the two-server stack (see twoservers.h).
 */
#include "twoservers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peers.h"

#define S2_PASSWORD "s2-suite-password"

static struct {
	char *dir, *db2, *sock2, *url;
	struct own_stack stack;
} S;

static void twoservers_setup(void)
{
	int rc;
	const char *repo = env_or("TESSERA_TEST_REPO", ".");
	S.db2 = strf("%s/db2", stack_dir());
	S.sock2 = strf("%s/run/mysql.sock", S.db2);
	char *out = run_cmd(&rc, "%s/tools/stack db-start --dir %s 2>&1", repo, S.db2);
	ck_assert_msg(rc == 0, "the second MariaDB did not start:\n%s", out);
	free(out);
	out = run_cmd(&rc, "mariadb --no-defaults --socket '%s' -u \"$(id -un)\" -e \""
		      "CREATE USER IF NOT EXISTS 'tessera'@'localhost' IDENTIFIED BY '" S2_PASSWORD "'; "
		      "GRANT ALL PRIVILEGES ON *.* TO 'tessera'@'localhost' WITH GRANT OPTION;\" 2>&1",
		      S.sock2);
	ck_assert_msg(rc == 0, "account on the second MariaDB: %s", out);
	free(out);
	S.dir = strf("%s/dbsstack", stack_dir());
	char *extra = strf("db_servers = s2=unix:%s,user=tessera,password=" S2_PASSWORD "\n",
			   S.sock2);
	own_stack_up(&S.stack, S.dir, extra, NULL);
	free(extra);
	S.url = S.stack.url;
}

static void twoservers_teardown(void)
{
	own_stack_down(&S.stack);
	int rc;
	const char *repo = env_or("TESSERA_TEST_REPO", ".");
	free(run_cmd(&rc, "%s/tools/stack db-stop --dir %s 2>&1", repo, S.db2));
}

/* A query on the second server (its control schema), trimmed. */
char *s2_sql(const char *sql)
{
	int rc;
	char *out = run_cmd(&rc, "MYSQL_PWD='" S2_PASSWORD "' mariadb --no-defaults --socket '%s' "
			    "-u tessera tessera -N -B -e \"%s\" 2>&1", S.sock2, sql);
	ck_assert_msg(rc == 0, "mariadb on s2 failed on %s: %s", sql, out);
	size_t len = strlen(out);
	while (len && (out[len - 1] == '\n' || out[len - 1] == ' '))
		out[--len] = '\0';
	return out;
}

/* Waits (10 s at most) until the query on s2 answers want. */
void s2_wait(const char *sql, const char *want)
{
	char *n = NULL;
	for (int i = 0; i < 100; i++) {
		free(n);
		n = s2_sql(sql);
		if (!strcmp(n, want))
			break;
		sleep_ms(100);
	}
	ck_assert_str_eq(n, want);
	free(n);
}

/* A tenant made with `tessera tenant create` (--server when server). */
void tenant_on(struct tenant *t, const char *server)
{
	static int seq;
	int rc;
	char *out = run_cmd(&rc, "%s tenant create --name 'Spread %d' --plan pro%s%s --json "
			    "--config %s 2>&1", bin(), ++seq, server ? " --server " : "",
			    server ? server : "", conf_path());
	cJSON *j = cJSON_Parse(out);
	ck_assert_msg(rc == 0 && j, "tenant create failed: %s", out);
	t->id = strdup(json_str(j, "tenant_id"));
	t->key = strdup(json_str(j, "api_key"));
	t->key_id = NULL;
	cJSON_Delete(j);
	free(out);
}

char *server_of(const char *tenant)
{
	char *q = strf("SELECT COALESCE(db_server, 'main') FROM tenants WHERE id = '%s'", tenant);
	char *s = control_sql(q);
	free(q);
	return s;
}

/* Whether the tenant's data DB exists on the primary / on s2. */
bool db_on(bool second, const char *tenant)
{
	char *q = strf("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = "
		       "(SELECT db_name FROM tessera.tenants WHERE id = '%s')", tenant);
	char *n;
	if (second) {
		char *dbn = control_sql(strf("SELECT db_name FROM tenants WHERE id = '%s'", tenant));
		char *q2 = strf("SELECT COUNT(*) FROM information_schema.schemata WHERE "
				"schema_name = '%s'", dbn);
		n = s2_sql(q2);
		free(q2);
		free(dbn);
	} else {
		n = control_sql(q);
	}
	bool yes = !strcmp(n, "1");
	free(q);
	free(n);
	return yes;
}


/* Runs last: the two-server stack logged no error or warning while the
 * suite ran (a query sent to the wrong server, or a worker that reached a
 * dropped copy, would have). */
START_TEST(the_two_server_stack_logged_no_error)
{
	char *path = strf("%s/log/tessera.log", S.dir);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	char line[4096];
	while (fgets(line, sizeof(line), f))
		ck_assert_msg(!strstr(line, " ERROR ") && !strstr(line, " WARN "), "%s", line);
	fclose(f);
	free(path);
}
END_TEST

TCase *twoservers_tcase(const char *name, int timeout_s)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, timeout_s);
	tcase_add_unchecked_fixture(tc, twoservers_setup, twoservers_teardown);
	return tc;
}

void twoservers_tcase_add(Suite *s, TCase *tc)
{
	tcase_add_test(tc, the_two_server_stack_logged_no_error);
	suite_add_tcase(s, tc);
}
