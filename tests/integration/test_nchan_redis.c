/*
 * test_nchan_redis.c - realtime across nginx hosts: nchan in Redis mode
 * (realtime_redis_url).  The suite starts a Redis on a loopback TCP port
 * (nchan 1.3.6 has no unix sockets), a stack of its own whose app and nchan
 * both use it (`tools/stack up --conf-extra`), and a second nginx of that
 * stack (`tools/stack nginx-extra --name b`: own port, own publisher socket,
 * same FastCGI pool), as two nginx hosts would be.  Real WebSocket and SSE
 * clients (ws_client.py) on each: what is published through one nginx
 * reaches subscribers on the other, tenants stay apart, an SSE stream
 * resumes on the other nginx with Last-Event-ID, revocations close
 * connections on both, and nchan's keys stay in their namespace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "peers.h"

Suite *suite_nchan_redis(void);

static struct {
	char *dir, *url_a, *url_b, *conf_b;
	struct own_stack stack;
	int redis_port;
	pid_t redis;
} S;

static const char *repo(void)
{
	return env_or("TESSERA_TEST_REPO", ".");
}

static void redis_start(void)
{
	S.redis_port = free_port();
	char *port = strf("%d", S.redis_port), *rdir = strf("%s/tmp", stack_dir());
	char *log = strf("%s/log/nchan-redis.out", stack_dir());
	const char *argv[] = { "/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1",
			       "--save", "", "--appendonly", "no", "--dir", rdir, NULL };
	S.redis = proc_spawn(NULL, argv, log);
	for (int i = 0; i < 100 && !port_open(S.redis_port); i++)
		sleep_ms(100);
	ck_assert_msg(port_open(S.redis_port), "redis-server did not start (see %s)", log);
	free(port), free(rdir), free(log);
}

static void nr_setup(void)
{
	redis_start();
	S.dir = strf("%s/nchanredis", stack_dir());
	/* The app's Redis is that same one: nchan's keys must keep apart. */
	char *extra = strf("realtime_redis_url = redis://127.0.0.1:%d\nredis_socket =\n"
			   "redis_host = 127.0.0.1\nredis_port = %d\n", S.redis_port, S.redis_port);
	own_stack_up(&S.stack, S.dir, extra, NULL);
	free(extra);
	int port_b = free_port(), rc;
	char *out = run_cmd(&rc, "%s/tools/stack nginx-extra --dir %s --port %d --name b 2>&1", repo(),
			    S.dir, port_b);
	ck_assert_msg(rc == 0, "the second nginx did not start:\n%s", out);
	free(out);
	S.url_a = S.stack.url;
	S.url_b = strf("http://127.0.0.1:%d", port_b);
	/* The stack's config, publishing through nginx B's publisher. */
	S.conf_b = strf("%s/tessera-b.conf", S.dir);
	free(run_cmd(&rc, "cp %s/tessera.conf %s && printf 'realtime_publisher = unix:%s/run/nchan-b.sock\\n'"
		     " >> %s", S.dir, S.conf_b, S.dir, S.conf_b));
	ck_assert_int_eq(rc, 0);
}

static void nr_teardown(void)
{
	own_stack_down(&S.stack);
	if (S.redis)
		proc_stop(S.redis);
}

/* --- clients on either nginx -------------------------------------------- */

/* client_start against the nginx at url; frees path. */
static FILE *client_on(const char *url, const char *mode, char *path, int count, int timeout,
		       const char *extra)
{
	setenv("TESSERA_TEST_URL", url, 1);
	FILE *f = client_start(mode, path, count, timeout, extra);
	setenv("TESSERA_TEST_URL", S.url_a, 1);
	free(path);
	return f;
}

static FILE *ws_on(const char *url, const struct tenant *t, const char *channels, int count, int timeout)
{
	FILE *f = client_on(url, "ws", strf("/v1/realtime?token=%s&tenant_id=%s&channels=%s", t->key, t->id,
					    channels), count, timeout, NULL);
	client_expect(f, "OPEN");
	return f;
}

/* Publishes a file.created event of tenant through conf's publisher. */
static void publish_file(const char *conf, const char *tenant, const char *id)
{
	int rc;
	char *out = run_cmd(&rc, "%s realtime publish --config %s --tenant %s --event "
			    "'{\"id\":\"%s\",\"event\":\"file.created\",\"resource_type\":\"file\","
			    "\"resource_id\":\"file_%s\",\"data\":{\"file_id\":\"file_%s\",\"folder\":\"\"},"
			    "\"created_at\":\"2026-01-02T03:04:05.000Z\"}' 2>&1",
			    bin(), conf, tenant, id, id, id);
	ck_assert_msg(rc == 0, "realtime publish: %s", out);
	free(out);
}

static void expect_event(FILE *f, const char *mode, const char *id)
{
	cJSON *m = client_message(f, mode);
	ck_assert_str_eq(json_str(m, "id"), id);
	cJSON_Delete(m);
}

/* The keys of the shared Redis matching pattern, one a line (malloc'd). */
static char *redis_keys(const char *pattern)
{
	int rc;
	char *out = run_cmd(&rc, "redis-cli -p %d --scan --pattern '%s' | sort", S.redis_port, pattern);
	ck_assert_int_eq(rc, 0);
	return out;
}

/* --- tests ------------------------------------------------------------------ */

/*
 * The whole path through nginx A: the object is created there, the runner
 * publishes on A's publisher, and WebSocket subscribers on A and on B both
 * get object.created; a subscriber of another tenant on the same channel
 * name gets nothing.
 */
START_TEST(an_object_created_through_a_reaches_subscribers_on_both_nginx)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	free(type_make(a.key, "items"));
	free(type_make(b.key, "items"));
	FILE *on_a = ws_on(S.url_a, &a, "objects:items", 1, 15);
	FILE *on_b = ws_on(S.url_b, &a, "objects:items", 1, 15);
	FILE *other = ws_on(S.url_b, &b, "objects:items", 1, 4);
	char *id = obj_make(a.key, "items", "{}");
	FILE *subs[] = { on_a, on_b };
	for (int i = 0; i < 2; i++) {
		char *l = client_line(subs[i]);
		ck_assert_msg(l && strcmp(l, "TIMEOUT"), "object.created never reached the subscriber on %s (%s)",
			      i ? "B" : "A", l ? l : "client ended");
		cJSON *m = cJSON_Parse(l);
		ck_assert_ptr_nonnull(m);
		ck_assert_str_eq(json_str(m, "event"), "object.created");
		ck_assert_str_eq(json_str(m, "resource_id"), id);
		cJSON_Delete(m);
		free(l);
		client_end(subs[i]);
	}
	client_expect(other, "TIMEOUT");
	client_end(other);
	free(id);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/* Published through B's publisher: a subscriber on A gets it, another
 * tenant's subscriber on A (same channel name) does not. */
START_TEST(a_publish_through_b_reaches_a_subscriber_on_a_and_no_other_tenant)
{
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	FILE *on_a = ws_on(S.url_a, &a, "files", 2, 10);
	FILE *other = ws_on(S.url_a, &b, "files", 1, 4);
	publish_file(S.conf_b, a.id, "evt_nb1");
	publish_file(conf_path(), a.id, "evt_na2");
	expect_event(on_a, "ws", "evt_nb1");
	expect_event(on_a, "ws", "evt_na2");
	client_end(on_a);
	client_expect(other, "TIMEOUT");
	client_end(other);
	tenant_drop(&a);
	tenant_drop(&b);
}
END_TEST

/*
 * The message buffer lives in Redis: an SSE stream read on A, then two
 * events published (through B) while nobody listens, and the stream
 * resumed on B with the Last-Event-ID it got on A: both events, in order,
 * and nothing else; without Last-Event-ID only what comes next.
 */
START_TEST(sse_resumes_on_the_other_nginx_with_last_event_id)
{
	struct tenant a;
	tenant_make(&a);
	FILE *f = client_on(S.url_a, "sse", strf("/events/stream?token=%s&channels=events,files", a.key), 1,
			    10, NULL);
	client_expect(f, "OPEN");
	publish_file(S.conf_b, a.id, "evt_r1");
	cJSON *m = client_message(f, "sse");
	ck_assert_str_eq(json_str(m, "id"), "evt_r1");
	char *last = strdup(json_str(m, "_sse_id"));
	ck_assert(*last);
	cJSON_Delete(m);
	client_end(f);

	publish_file(S.conf_b, a.id, "evt_r2");
	publish_file(conf_path(), a.id, "evt_r3");
	char *extra = strf("--auth %s --last-event-id '%s'", a.key, last);
	f = client_on(S.url_b, "sse", strf("/events/stream?channels=events,files"), 3, 3, extra);
	client_expect(f, "OPEN");
	expect_event(f, "sse", "evt_r2");
	expect_event(f, "sse", "evt_r3");
	client_expect(f, "TIMEOUT");
	client_end(f);
	char *auth = strf("--auth %s", a.key);
	f = client_on(S.url_b, "sse", strf("/events/stream?channels=events,files"), 1, 2, auth);
	client_expect(f, "OPEN");
	client_expect(f, "TIMEOUT");
	client_end(f);
	free(auth);
	free(extra);
	free(last);
	tenant_drop(&a);
}
END_TEST

/* Revoking a key deletes its control channel through A's publisher: the
 * key's connections close on both nginx, the admin key's stay. */
START_TEST(revoking_a_key_closes_its_connections_on_both_nginx)
{
	struct tenant a;
	tenant_make(&a);
	char *kid = NULL;
	char *key = key_new(a.key, "{\"label\":\"streams\",\"scopes\":[\"read\",\"files\"]}", &kid);
	struct tenant k = { .id = a.id, .key = key };
	FILE *ka = ws_on(S.url_a, &k, "files", 1, 30);
	FILE *kb = ws_on(S.url_b, &k, "files", 1, 30);
	FILE *admin_b = ws_on(S.url_b, &a, "files", 1, 10);
	http_resp *r = call("DELETE", a.key, NULL, "/v1/keys/%s", kid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	double t0 = now_s();
	FILE *closed[] = { ka, kb };
	for (int i = 0; i < 2; i++) {
		char *l = client_line(closed[i]);
		ck_assert_msg(l && !strcmp(l, "CLOSED"), "the revoked key's stream on %s got %s", i ? "B" : "A",
			      l ? l : "(end)");
		free(l);
		client_end(closed[i]);
	}
	ck_assert_msg(now_s() - t0 < 10, "closing took %.1f s", now_s() - t0);
	publish_file(conf_path(), a.id, "evt_k1");
	expect_event(admin_b, "ws", "evt_k1");
	client_end(admin_b);
	free(key);
	free(kid);
	tenant_drop(&a);
}
END_TEST

/*
 * nchan's keys (channels, messages, subscriber counts) all start with its
 * namespace; the app's own keys in the same Redis (the connection counts
 * behind GET /v1/realtime/stats) are apart and count the connections of
 * both nginx, since the subscribe callbacks reach the one shared pool.
 */
START_TEST(nchan_keys_stay_in_their_namespace_and_stats_count_both_nginx)
{
	struct tenant a;
	tenant_make(&a);
	FILE *on_a = ws_on(S.url_a, &a, "files", 1, 30);
	FILE *on_b = ws_on(S.url_b, &a, "files", 1, 30);
	int total = -1;
	for (int i = 0; i < 100 && total != 2; i++) {
		http_resp *r = call("GET", a.key, NULL, "/v1/realtime/stats");
		assert_envelope(r, 200, NULL);
		const cJSON *v = item(resp_data(r), "total_connections");
		total = cJSON_IsNumber(v) ? (int)v->valuedouble : -1;
		http_free(r);
		if (total != 2)
			sleep_ms(100);
	}
	ck_assert_int_eq(total, 2);
	/* The app's count lives in its own key, outside nchan's namespace. */
	char *conns = strf("rt:conns:{%s}", a.id);
	char *app = redis_keys(conns);
	ck_assert_msg(strstr(app, conns), "no %s in Redis: %s", conns, app);
	publish_file(conf_path(), a.id, "evt_n1");
	expect_event(on_a, "ws", "evt_n1");
	expect_event(on_b, "ws", "evt_n1");
	client_end(on_a);
	client_end(on_b);

	char *pat = strf("*%s*", a.id);
	char *all = redis_keys(pat), *ns = strf("tessera_nchan:{channel:%s/files}", a.id);
	ck_assert_msg(strstr(all, ns), "no nchan channel %s in Redis:\n%s", ns, all);
	char *msgs = strf("tessera_nchan:{channel:%s/files}:messages", a.id);
	ck_assert_msg(strstr(all, msgs), "no message buffer %s in Redis:\n%s", msgs, all);
	/* Every key of nchan's is in the namespace, none outside it. */
	char *stray = redis_keys("{channel:*");
	ck_assert_msg(!*stray, "nchan keys outside its namespace:\n%s", stray);
	for (char *l = strtok(all, "\n"); l; l = strtok(NULL, "\n"))
		ck_assert_msg(!strncmp(l, "tessera_nchan:", 14) || !strstr(l, "{channel:"),
			      "an nchan key outside the namespace: %s", l);
	free(conns);
	free(app);
	free(stray);
	free(msgs);
	free(ns);
	free(all);
	free(pat);
	tenant_drop(&a);
}
END_TEST

/* A realtime_redis_url nginx could not use is refused before nginx starts. */
START_TEST(a_unix_socket_realtime_redis_url_is_refused)
{
	char *conf = strf("%s/tmp/bad-rt.conf", S.dir), *out_dir = strf("%s/tmp/dropin-bad", S.dir);
	int rc;
	free(run_cmd(&rc, "cp %s/tessera.conf %s && printf 'realtime_redis_url = unix:/tmp/r.sock\\n' >> %s",
		     S.dir, conf, conf));
	char *out = run_cmd(&rc, "%s/tools/stack nginx-dropin --out %s --config %s 2>&1", repo(), out_dir, conf);
	ck_assert_msg(rc != 0 && strstr(out, "realtime_redis_url must be redis://"), "rc %d: %s", rc, out);
	free(out);
	free(out_dir);
	free(conf);
}
END_TEST

Suite *suite_nchan_redis(void)
{
	Suite *s = suite_create("nchan_redis");
	TCase *tc = tcase_create("two nginx, one Redis");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, nr_setup, nr_teardown);
	tcase_add_test(tc, an_object_created_through_a_reaches_subscribers_on_both_nginx);
	tcase_add_test(tc, a_publish_through_b_reaches_a_subscriber_on_a_and_no_other_tenant);
	tcase_add_test(tc, sse_resumes_on_the_other_nginx_with_last_event_id);
	tcase_add_test(tc, revoking_a_key_closes_its_connections_on_both_nginx);
	tcase_add_test(tc, nchan_keys_stay_in_their_namespace_and_stats_count_both_nginx);
	tcase_add_test(tc, a_unix_socket_realtime_redis_url_is_refused);
	suite_add_tcase(s, tc);
	return s;
}
