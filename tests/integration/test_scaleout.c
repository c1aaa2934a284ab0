/*
 * test_scaleout.c - several FastCGI pools behind one nginx.  The suite
 * starts a stack of its own whose nginx upstream holds the stack's pool
 * (unix socket) and a second `tessera serve` listening on TCP
 * (`listen = tcp:127.0.0.1:PORT`, `tools/stack up --upstream`), sharing the
 * stack's MariaDB and Redis.  Requests are spread over both; when the TCP
 * pool is killed (SIGKILL, master and workers) under load, no GET fails
 * (nginx passes it on to the other pool) and the only POSTs that fail are
 * the ones in flight on the killed pool (at most one per connection).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "peers.h"

Suite *suite_scaleout(void);

#define POOL2_WORKERS 2
#define WRK_CONNECTIONS 8

static struct {
	char *dir, *url;
	struct own_stack stack;
	int pool2_port;
	pid_t pool2;
	char *pool2_log;
} S;

/* The second pool: the stack's config with a TCP listen, its own pid and
 * log files and no job runner (the stack's runner serves both). */
static void pool2_start(void)
{
	char *conf = strf("%s/pool2.conf", S.dir);
	int rc;
	free(run_cmd(&rc, "cp %s/tessera.conf %s && printf 'listen = tcp:127.0.0.1:%d\\n"
		     "pid_file = %s/run/pool2.pid\\nlog_file = %s\\nworkers = %d\\njobs = off\\n' >> %s",
		     S.dir, conf, S.pool2_port, S.dir, S.pool2_log, POOL2_WORKERS, conf));
	ck_assert_int_eq(rc, 0);
	const char *argv[] = { bin(), "serve", "--config", conf, NULL };
	char *out = strf("%s/log/pool2.out", S.dir);
	S.pool2 = proc_spawn(NULL, argv, out);
	for (int i = 0; i < 300 && !port_open(S.pool2_port); i++)
		sleep_ms(50);
	ck_assert_msg(port_open(S.pool2_port), "the TCP pool did not listen (see %s)", out);
	free(out);
	free(conf);
}

/* SIGKILL to the TCP pool's master and workers: a host that dies. */
static void pool2_kill(void)
{
	int rc;
	/* The master first, or it respawns workers killed before it. */
	free(run_cmd(&rc, "w=$(pgrep -P %d); kill -KILL %d; kill -KILL $w 2>/dev/null", (int)S.pool2,
		     (int)S.pool2));
	waitpid(S.pool2, NULL, 0);
	S.pool2 = 0;
}

static void scale_setup(void)
{
	S.dir = strf("%s/scalestack", stack_dir());
	S.pool2_port = free_port();
	S.pool2_log = strf("%s/log/pool2.log", S.dir);
	char *upstream = strf("--upstream 127.0.0.1:%d", S.pool2_port);
	own_stack_up(&S.stack, S.dir, NULL, upstream);
	free(upstream);
	S.url = S.stack.url;
	pool2_start();
}

static void scale_teardown(void)
{
	if (S.pool2)
		proc_stop(S.pool2);
	own_stack_down(&S.stack);
}

/* Lines of a pool's log that record a request to path. */
static int served(const char *log, const char *path)
{
	int rc;
	char *out = run_cmd(&rc, "grep -c ' %s ' %s", path, log);
	int n = atoi(out);
	free(out);
	return n;
}

/* wrk's count of answers that were not 2xx/3xx (0 when it names none), and
 * of all requests, from its report. */
static void wrk_counts(const char *report, long *total, long *failed)
{
	const char *p = strstr(report, " requests in ");
	ck_assert_msg(p, "no wrk report: %s", report);
	while (p > report && p[-1] != '\n')
		p--;
	*total = atol(p);
	p = strstr(report, "Non-2xx or 3xx responses:");
	*failed = p ? atol(p + strlen("Non-2xx or 3xx responses:")) : 0;
	p = strstr(report, "Socket errors:");
	ck_assert_msg(!p, "wrk saw socket errors: %s", report);
}

/* Runs wrk for 6 s against path (a POST body when body is set) and kills
 * the TCP pool 2 s in; returns wrk's report. */
static char *load_and_kill(const char *key, const char *path, const char *body)
{
	char *lua = strf("%s/tmp/scale.lua", S.dir);
	FILE *f = fopen(lua, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "wrk.headers[\"Authorization\"] = \"Bearer %s\"\n", key);
	if (body)
		fprintf(f, "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
			   "wrk.body = '%s'\n", body);
	fclose(f);
	char *report = strf("%s/tmp/wrk.txt", S.dir);
	int rc;
	free(run_cmd(&rc, "(wrk -t2 -c%d -d6s -s %s %s%s > %s 2>&1 &) ; sleep 2", WRK_CONNECTIONS,
		     lua, S.url, path, report));
	pool2_kill();
	free(run_cmd(&rc, "for i in $(seq 100); do grep -q 'requests in' %s && break; sleep 0.1; done",
		     report));
	sleep_ms(300);
	char *out = run_cmd(&rc, "cat %s", report);
	free(report);
	free(lua);
	return out;
}

START_TEST(requests_spread_over_both_pools_and_a_killed_pool_fails_no_get)
{
	struct tenant t;
	tenant_make_keyed(&t, "enterprise");
	for (int i = 0; i < 40; i++) {
		http_resp *r = http_get("/v1/usage", t.key);
		assert_envelope(r, 200, NULL);
		http_free(r);
	}
	char *own = strf("%s/log/tessera.log", S.dir);
	int a = served(own, "/v1/usage"), b = served(S.pool2_log, "/v1/usage");
	ck_assert_msg(a > 0 && b > 0 && a + b == 40, "requests per pool: unix %d, tcp %d", a, b);

	/* Killed under load: every GET still answered 200 by the other pool. */
	char *report = load_and_kill(t.key, "/v1/usage", NULL);
	long total, failed;
	wrk_counts(report, &total, &failed);
	ck_assert_msg(total > 20 && failed == 0, "%ld of %ld GETs failed:\n%s", failed, total, report);
	ck_assert_msg(served(S.pool2_log, "/v1/usage") > b, "the TCP pool served none of the load");
	free(report);

	/* After the kill the remaining pool serves everything. */
	http_resp *r = http_get("/v1/usage", t.key);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(own);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_killed_pool_loses_only_the_posts_in_flight_on_it)
{
	pool2_start();
	struct tenant t;
	tenant_make_keyed(&t, "enterprise");
	free(type_make(t.key, "scale_items"));
	http_resp *r = http_json("POST", "/v1/object-types/scale_items/properties", t.key,
				 "{\"name\":\"name\",\"data_type\":\"string\"}");
	assert_envelope(r, 201, NULL);
	http_free(r);
	char *report = load_and_kill(t.key, "/v1/objects/scale_items",
				     "{\"properties\":{\"name\":\"x\"}}");
	long total, failed;
	wrk_counts(report, &total, &failed);
	/* A POST is never passed on once sent: those in flight on the killed
	 * pool fail (502): the ones its workers held and the ones still in its
	 * socket's backlog, so at most one per connection; none runs twice. */
	ck_assert_msg(total > 20 && failed <= WRK_CONNECTIONS, "%ld of %ld POSTs failed:\n%s",
		      failed, total, report);
	r = http_get("/v1/objects/scale_items/list?limit=1", t.key);
	assert_envelope(r, 200, NULL);
	const cJSON *tot = cJSON_GetObjectItemCaseSensitive(resp_data(r), "total");
	/* Every acknowledged create is stored, and nothing twice: beyond the
	 * acknowledged ones only those whose answer was lost (failed, or cut
	 * off when wrk stopped: one per connection) may be there. */
	long stored = cJSON_IsNumber(tot) ? (long)tot->valuedouble : -1;
	ck_assert_msg(stored >= total - failed && stored <= total + WRK_CONNECTIONS,
		      "%ld created answers (%ld failed), objects stored: %s", total - failed, failed,
		      r->body);
	http_free(r);
	free(report);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_malformed_tcp_listen_is_refused_at_start)
{
	char *conf = strf("%s/bad.conf", S.dir);
	int rc;
	free(run_cmd(&rc, "cp %s/tessera.conf %s && printf 'listen = tcp:nohostport\\n"
		     "pid_file = %s/run/bad.pid\\njobs = off\\n' >> %s", S.dir, conf, S.dir, conf));
	char *out = run_cmd(&rc, "timeout 20 %s serve --config %s 2>&1", bin(), conf);
	ck_assert_msg(rc != 0 && strstr(out, "tcp:HOST:PORT"), "rc %d: %s", rc, out);
	free(out);
	free(conf);
}
END_TEST

Suite *suite_scaleout(void)
{
	Suite *s = suite_create("scaleout");
	TCase *tc = tcase_create("fastcgi pools");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, scale_setup, scale_teardown);
	tcase_add_test(tc, requests_spread_over_both_pools_and_a_killed_pool_fails_no_get);
	tcase_add_test(tc, a_killed_pool_loses_only_the_posts_in_flight_on_it);
	tcase_add_test(tc, a_malformed_tcp_listen_is_refused_at_start);
	suite_add_tcase(s, tc);
	return s;
}
