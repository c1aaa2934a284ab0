/*
 * test_tenant_move.c - `tessera tenant move ID --to SERVER` on the
 * two-server stack of twoservers.h: a move under write load, moves killed
 * with SIGKILL at the copy and at the catch-up (TESSERA_MOVE_PAUSE_AT makes
 * the command wait there) and run again, and moves that must be refused.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "peers.h"
#include "twoservers.h"

Suite *suite_tenantmove(void);

/* `tessera tenant move ID --to SERVER --json`; *rc its exit status; the
 * parsed output (NULL if it printed no JSON) and the text in *out. */
static cJSON *move_run(const char *tenant, const char *to, int *rc, char **out)
{
	*out = run_cmd(rc, "%s tenant move %s --to %s --json --config %s 2>&1", bin(), tenant, to,
		       conf_path());
	return cJSON_Parse(*out);
}

static long long num(const cJSON *o, const char *name)
{
	const cJSON *v = item(o, name);
	ck_assert_msg(cJSON_IsNumber(v), "%s missing", name);
	return (long long)v->valuedouble;
}

/* A move that succeeds, having moved the tenant or not (already there) and
 * dropped that many copies of dead runs; its report (the caller frees). */
static cJSON *move_ok(const char *tenant, const char *to, bool moved, int leftovers)
{
	int rc;
	char *out;
	cJSON *j = move_run(tenant, to, &rc, &out);
	ck_assert_msg(rc == 0 && j, "move failed: %s", out);
	ck_assert_msg(cJSON_IsTrue(item(j, "moved")) == moved, "%s", out);
	ck_assert_int_eq(num(j, "leftovers"), leftovers);
	free(out);
	return j;
}

/* The number of objects of type (by the list's total). */
static long long objects_total(const char *key, const char *type)
{
	http_resp *r = call("GET", key, NULL, "/v1/objects/%s/list?limit=1", type);
	assert_envelope(r, 200, NULL);
	long long n = (long long)item(resp_data(r), "total")->valuedouble;
	http_free(r);
	return n;
}

/* n objects of type, 100 a batch. */
static void objects_fill(const char *key, const char *type, int n)
{
	for (int done = 0; done < n; done += 100) {
		char *body = strdup("{\"objects\":[");
		for (int i = 0; i < 100 && done + i < n; i++) {
			char *b = strf("%s%s{\"properties\":{\"label\":\"bulk %d\"}}", body, i ? "," : "",
				       done + i);
			free(body);
			body = b;
		}
		char *b = strf("%s]}", body);
		http_resp *r = call("POST", key, b, "/v1/objects/%s/batch/create", type);
		assert_envelope(r, 201, NULL);
		http_free(r);
		free(b);
		free(body);
	}
}

/* A tenant on server with type (an indexed string property, label) and
 * n objects of it. */
static void tenant_filled(struct tenant *t, const char *server, const char *type, int n)
{
	tenant_on(t, server);
	free(type_make(t->key, type));
	prop_make(t->key, type, "{\"name\":\"label\",\"data_type\":\"string\",\"is_indexed\":true}");
	objects_fill(t->key, type, n);
}

/* --- a writer in a child process ------------------------------------------- */

struct writer {
	pid_t pid;
	char *log, *stop;
};

/* Creates objects of type until the stop file appears, one line per try in
 * the log: "ok ID", "busy RETRY-AFTER" (503) or "bad STATUS BODY". */
static void writer_start(struct writer *w, const char *key, const char *type)
{
	static int seq;
	w->log = strf("%s/tmp/move-writer-%d-%d.log", stack_dir(), getpid(), ++seq);
	w->stop = strf("%s.stop", w->log);
	unlink(w->stop);
	w->pid = fork();
	ck_assert_int_ge(w->pid, 0);
	if (w->pid)
		return;
	FILE *f = fopen(w->log, "w");
	for (int i = 0; access(w->stop, F_OK) != 0 && i < 20000 && f; i++) {
		char *props = strf("{\"label\":\"live %d\"}", i);
		http_resp *r = obj_create(key, type, props);
		if (r->status == 201) {
			fprintf(f, "ok %s\n", json_str(resp_data(r), "id"));
		} else if (r->status == 503) {
			char *ra = resp_header(r, "Retry-After");
			fprintf(f, "busy %s %s\n", ra ? ra : "-", resp_error_code(r) ? resp_error_code(r) : "-");
			free(ra);
		} else {
			fprintf(f, "bad %ld %.200s\n", r->status, r->body ? r->body : "");
		}
		fflush(f);
		http_free(r);
		free(props);
		sleep_ms(10);
	}
	if (f)
		fclose(f);
	_exit(0);
}

/* Stops the writer; counts its lines by kind, asserting none was "bad". */
static char **writer_stop(struct writer *w, int *oks, int *busy)
{
	FILE *s = fopen(w->stop, "w");
	ck_assert_ptr_nonnull(s);
	fclose(s);
	int st;
	waitpid(w->pid, &st, 0);
	FILE *f = fopen(w->log, "r");
	ck_assert_ptr_nonnull(f);
	char line[512];
	char **ids = calloc(20001, sizeof(*ids));
	*oks = *busy = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		ck_assert_msg(strncmp(line, "bad ", 4) != 0, "a write during the move: %s", line);
		if (!strncmp(line, "ok ", 3)) {
			ids[(*oks)++] = strdup(line + 3);
		} else {
			ck_assert_msg(!strcmp(line, "busy 5 SERVICE_UNAVAILABLE"), "%s", line);
			(*busy)++;
		}
	}
	fclose(f);
	unlink(w->stop);
	free(w->log);
	free(w->stop);
	return ids;
}

/* --- tests ------------------------------------------------------------------ */

START_TEST(a_move_under_write_load_keeps_every_acknowledged_create)
{
	struct tenant t;
	tenant_filled(&t, "main", "items", 2000);

	struct writer w;
	writer_start(&w, t.key, "items");
	sleep_ms(500);
	cJSON *j = move_ok(t.id, "s2", true, 0);
	sleep_ms(500);
	int oks, busy;
	char **ids = writer_stop(&w, &oks, &busy);
	long long ro = num(j, "read_only_ms");
	fprintf(stderr, "tenantmove: 2000 objects: copy %lld ms, read-only %lld ms, %lld rows in "
		"%lld tables, %lld control rows; writer: %d created, %d answered 503\n",
		num(j, "copy_ms"), ro, num(j, "rows"), num(j, "tables"), num(j, "control_rows"), oks,
		busy);
	ck_assert_int_gt(ro, 0);
	ck_assert_int_gt(num(j, "rows"), 2000);
	/* the creates during the copy made the catch-up copy items again */
	ck_assert_int_gt(num(j, "recopied"), 0);
	/* writes went on before and after the read-only window, and answered
	 * 503 with Retry-After: 5 inside it */
	ck_assert_int_gt(oks, 0);
	ck_assert_int_gt(busy, 0);

	char *srv = server_of(t.id);
	ck_assert_str_eq(srv, "s2");
	ck_assert(db_on(true, t.id));
	ck_assert_msg(!db_on(false, t.id), "the old copy was not dropped");
	/* every acknowledged create is there, read from the new server */
	ck_assert_int_eq(objects_total(t.key, "items"), 2000 + oks);
	for (int i = 0; i < oks; i++) {
		http_resp *r = call("GET", t.key, NULL, "/v1/objects/items/%s", ids[i]);
		assert_envelope(r, 200, NULL);
		http_free(r);
	}
	char *dbn = control_sql(strf("SELECT db_name FROM tenants WHERE id = '%s'", t.id));
	char *q = strf("SELECT COUNT(*) FROM %s.items", dbn);
	char *n = s2_sql(q);
	ck_assert_int_eq(atoll(n), 2000 + oks);
	free(n);
	free(q);
	/* its outbox came along: none left on the primary */
	q = strf("SELECT COUNT(*) > 0 FROM outbox WHERE tenant_id = '%s'", t.id);
	n = s2_sql(q);
	ck_assert_str_eq(n, "1");
	free(n);
	free(q);
	char *left = control_sql(strf("SELECT COUNT(*) FROM outbox WHERE tenant_id = '%s'", t.id));
	ck_assert_str_eq(left, "0");
	free(left);
	/* and the tenant takes writes there */
	char *id = obj_make(t.key, "items", "{\"label\":\"after\"}");
	q = strf("SELECT COUNT(*) FROM %s.items WHERE id = '%s'", dbn, id);
	n = s2_sql(q);
	ck_assert_str_eq(n, "1");
	free(n);
	free(q);
	free(id);
	for (int i = 0; i < oks; i++)
		free(ids[i]);
	free(ids);
	free(dbn);
	free(srv);
	cJSON_Delete(j);
	tenant_drop(&t);
}
END_TEST

/* The tenant's jobs of kind in status on the primary / on s2 (second). */
static long long jobs_on(bool second, const char *tenant, const char *kind, const char *status)
{
	char *q = strf("SELECT COUNT(*) FROM jobs WHERE tenant_id = '%s' AND kind = '%s' AND "
		       "status = '%s'", tenant, kind, status);
	char *n = second ? s2_sql(q) : control_sql(q);
	long long c = atoll(n);
	free(n);
	free(q);
	return c;
}

START_TEST(the_background_work_of_a_moved_tenant_comes_along_and_goes_on_there)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_on(&t, "main");
	char *url = hook_url(&rv, "m"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	box_setup(&rv, "m", secret, NULL);
	free(type_make(t.key, "leads"));
	char *before = obj_make(t.key, "leads", "{}");
	cJSON_Delete(recv_wait(&rv, "m", 1, 20));
	for (int i = 0; i < 100 && jobs_on(false, t.id, "webhook.deliver", "done") < 1; i++)
		sleep_ms(100);
	ck_assert_int_eq(jobs_on(false, t.id, "webhook.deliver", "done"), 1);

	cJSON *j = move_ok(t.id, "s2", true, 0);
	ck_assert_int_gt(num(j, "control_rows"), 0);
	/* its job and outbox rows are on s2 now, none left on the primary */
	ck_assert_int_eq(jobs_on(true, t.id, "webhook.deliver", "done"), 1);
	ck_assert_int_eq(jobs_on(false, t.id, "webhook.deliver", "done"), 0);
	char *q = strf("SELECT COUNT(*) FROM outbox WHERE tenant_id = '%s' AND resource_id = '%s'",
		       t.id, before);
	char *n = s2_sql(q);
	ck_assert_str_eq(n, "1");
	free(n);
	free(q);

	/* the SQL console's accounts were made on s2 */
	http_resp *r = http_json("POST", "/v1/sql", t.key, "{\"sql\":\"SELECT COUNT(*) AS n FROM leads\"}");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(strstr(r->body, "\"n\":1"), "%s", r->body);
	http_free(r);

	/* an event after the move is delivered by s2's runner */
	char *after = obj_make(t.key, "leads", "{}");
	cJSON *got = recv_wait(&rv, "m", 2, 20);
	const cJSON *d = received(got, 1);
	ck_assert_msg(verified_with(d, secret), "signature: %s", cJSON_PrintUnformatted(d));
	ck_assert_str_eq(json_str(item(d, "body"), "resource_id"), after);
	cJSON_Delete(got);
	q = strf("SELECT COUNT(*) FROM jobs WHERE kind = 'webhook.deliver' AND tenant_id = '%s' "
		 "AND status = 'done'", t.id);
	s2_wait(q, "2");
	free(q);
	ck_assert_int_eq(jobs_on(false, t.id, "webhook.deliver", "done"), 0);
	cJSON_Delete(j);
	free(before);
	free(after);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

/* Starts a move that waits at phase (TESSERA_MOVE_PAUSE_AT) and returns
 * its pid once it says so. */
static pid_t move_paused(const char *tenant, const char *to, const char *phase)
{
	int rc;
	char *log = strf("%s/tmp/move-%s-%s.log", stack_dir(), tenant, phase);
	char *out = run_cmd(&rc, "TESSERA_MOVE_PAUSE_AT=%s %s tenant move %s --to %s --config %s "
			    ">%s 2>&1 & echo $!", phase, bin(), tenant, to, conf_path(), log);
	ck_assert_int_eq(rc, 0);
	pid_t pid = (pid_t)atol(out);
	free(out);
	char *want = strf("pausing at %s", phase);
	bool seen = false;
	for (int i = 0; i < 600 && !seen; i++) {
		FILE *f = fopen(log, "r");
		char line[512];
		while (f && fgets(line, sizeof(line), f))
			seen = seen || strstr(line, want) != NULL;
		if (f)
			fclose(f);
		if (!seen)
			sleep_ms(100);
	}
	ck_assert_msg(seen, "the move never reached %s", phase);
	free(want);
	free(log);
	return pid;
}

static void kill_hard(pid_t pid)
{
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		sleep_ms(50);
}

START_TEST(a_move_killed_at_copy_or_catchup_leaves_the_tenant_served_and_a_rerun_completes)
{
	struct tenant t;
	tenant_filled(&t, "s2", "notes", 300);

	/* killed during the copy: still on s2, readable and writable */
	kill_hard(move_paused(t.id, "main", "copy"));
	char *srv = server_of(t.id);
	ck_assert_str_eq(srv, "s2");
	free(srv);
	ck_assert_msg(db_on(false, t.id), "the copy had begun on the primary");
	ck_assert_int_eq(objects_total(t.key, "notes"), 300);
	free(obj_make(t.key, "notes", "{\"label\":\"after copy kill\"}"));

	/* killed during the catch-up: writes answer 503 until the lease runs
	 * out, reads never stop, and it stays on s2 */
	pid_t pid = move_paused(t.id, "main", "catchup");
	http_resp *r = obj_create(t.key, "notes", "{\"label\":\"read-only\"}");
	assert_envelope(r, 503, "SERVICE_UNAVAILABLE");
	char *ra = resp_header(r, "Retry-After");
	ck_assert_str_eq(ra, "5");
	free(ra);
	http_free(r);
	kill_hard(pid);
	double t0 = now_s();
	long status = 0;
	while (now_s() - t0 < 40) {
		ck_assert_int_eq(objects_total(t.key, "notes"), 301);
		r = obj_create(t.key, "notes", "{\"label\":\"after catchup kill\"}");
		status = r->status;
		ck_assert_msg(status == 201 || status == 503, "%ld: %s", status, r->body);
		http_free(r);
		if (status == 201)
			break;
		sleep_ms(500);
	}
	ck_assert_int_eq(status, 201);
	srv = server_of(t.id);
	ck_assert_str_eq(srv, "s2");
	free(srv);

	/* the rerun drops the dead run's copy and moves */
	cJSON_Delete(move_ok(t.id, "main", true, 1));
	srv = server_of(t.id);
	ck_assert_str_eq(srv, "main");
	free(srv);
	ck_assert(db_on(false, t.id) && !db_on(true, t.id));
	ck_assert_int_eq(objects_total(t.key, "notes"), 302);
	char *left = strf("SELECT COUNT(*) FROM outbox WHERE tenant_id = '%s'", t.id);
	char *n = s2_sql(left);
	ck_assert_str_eq(n, "0");
	free(n);
	free(left);
	char *ro = control_sql(strf("SELECT read_only_until IS NULL FROM tenants WHERE id = '%s'", t.id));
	ck_assert_str_eq(ro, "1");
	free(ro);

	/* once there, a move to the same server has nothing to do */
	cJSON_Delete(move_ok(t.id, "main", false, 0));
	tenant_drop(&t);
}
END_TEST

START_TEST(a_move_killed_after_the_switch_is_finished_by_a_rerun)
{
	struct tenant t;
	tenant_on(&t, "s2");
	free(type_make(t.key, "cards"));
	char *obj = obj_make(t.key, "cards", "{}");
	/* killed after the switch, before the old copy is dropped: served
	 * from the primary, the old copy still on s2 */
	kill_hard(move_paused(t.id, "main", "drop"));
	char *srv = server_of(t.id);
	ck_assert_str_eq(srv, "main");
	free(srv);
	ck_assert(db_on(false, t.id) && db_on(true, t.id));
	http_resp *r = call("GET", t.key, NULL, "/v1/objects/cards/%s", obj);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(obj_make(t.key, "cards", "{}"));
	/* the rerun has nothing to move, and drops the leftover */
	cJSON_Delete(move_ok(t.id, "main", false, 1));
	ck_assert(db_on(false, t.id) && !db_on(true, t.id));
	ck_assert_int_eq(objects_total(t.key, "cards"), 2);
	free(obj);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_move_to_an_unknown_server_or_of_an_unknown_tenant_fails_and_changes_nothing)
{
	struct tenant t;
	tenant_on(&t, "s2");
	char *obj = (free(type_make(t.key, "things")), obj_make(t.key, "things", "{}"));
	int rc;
	char *out;
	cJSON *j = move_run(t.id, "s9", &rc, &out);
	ck_assert_int_ne(rc, 0);
	ck_assert_ptr_null(j);
	ck_assert_msg(strstr(out, "unknown server \"s9\""), "%s", out);
	free(out);
	j = move_run("tn_01JD0000000000000000000000", "main", &rc, &out);
	ck_assert_int_ne(rc, 0);
	ck_assert_ptr_null(j);
	ck_assert_msg(strstr(out, "no tenant tn_01JD0000000000000000000000"), "%s", out);
	free(out);
	out = run_cmd(&rc, "%s tenant move %s --config %s 2>&1", bin(), t.id, conf_path());
	ck_assert_int_eq(rc, 2);
	ck_assert_msg(strstr(out, "tenant move ID --to SERVER"), "%s", out);
	free(out);

	char *srv = server_of(t.id);
	ck_assert_str_eq(srv, "s2");
	free(srv);
	ck_assert(db_on(true, t.id) && !db_on(false, t.id));
	char *ro = control_sql(strf("SELECT read_only_until IS NULL FROM tenants WHERE id = '%s'", t.id));
	ck_assert_str_eq(ro, "1");
	free(ro);
	http_resp *r = call("GET", t.key, NULL, "/v1/objects/things/%s", obj);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(obj);
	tenant_drop(&t);
}
END_TEST

Suite *suite_tenantmove(void)
{
	Suite *s = suite_create("tenantmove");
	TCase *tc = twoservers_tcase("moves", 600);
	tcase_add_test(tc, a_move_to_an_unknown_server_or_of_an_unknown_tenant_fails_and_changes_nothing);
	tcase_add_test(tc, a_move_under_write_load_keeps_every_acknowledged_create);
	tcase_add_test(tc, the_background_work_of_a_moved_tenant_comes_along_and_goes_on_there);
	tcase_add_test(tc, a_move_killed_at_copy_or_catchup_leaves_the_tenant_served_and_a_rerun_completes);
	tcase_add_test(tc, a_move_killed_after_the_switch_is_finished_by_a_rerun);
	twoservers_tcase_add(s, tc);
	return s;
}
