/*
 * test_sentinel.c - Redis behind Sentinel, and a failover while requests run.
 *
 * The suite starts a Redis master and a replica on loopback ports (both
 * with a password), one redis-sentinel monitoring them (a password of its
 * own), and a stack of its own (tools/stack up --conf-extra) configured
 * with redis_sentinels / redis_master_name / redis_password /
 * redis_sentinel_password: its workers and job runner ask the sentinel for
 * the master.  The stack's own Redis still runs and is not used.  While
 * requests run (an API key's GETs and an end user's session), the master
 * changes twice: a SENTINEL FAILOVER, then the new master killed.  The
 * suite counts the 503s and the time until requests succeed again; the
 * log-in rate limit's counter and the session carry over (the test waits
 * for the replica to acknowledge the writes first: an asynchronous replica
 * may lose the last ones when a master dies, which Redis does not prevent).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "peers.h"
#include "signin.h"

Suite *suite_sentinel(void);

#define MASTER_NAME "tmaster"
#define REDIS_PW "redis-pw/Secret+1"
#define SENTINEL_PW "sentinel-pw/Secret+2"

static struct {
	char *dir;
	struct own_stack stack;
	int port[2], sport;   /* the two Redis servers, the sentinel */
	pid_t pid[2], spid;
} S;

static void redis_spawn(int i, int master_port)
{
	char *dir = strf("%s/redis%d", S.dir, i), *port = strf("%d", S.port[i]);
	char *log = strf("%s/log/redis%d.log", S.dir, i);
	char *of = strf("127.0.0.1 %d", master_port);
	ck_assert(mkdir(dir, 0700) == 0);
	const char *argv[] = { "/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1",
			       "--save", "", "--appendonly", "no", "--dir", dir,
			       "--requirepass", REDIS_PW, "--masterauth", REDIS_PW,
			       master_port ? "--replicaof" : NULL, of, NULL };
	S.pid[i] = proc_spawn(NULL, argv, log);
	for (int k = 0; k < 100 && !port_open(S.port[i]); k++)
		sleep_ms(50);
	ck_assert_msg(port_open(S.port[i]), "redis-server %d did not start (see %s)", i, log);
	free(dir), free(port), free(log), free(of);
}

/* redis-cli against the sentinel (port 0) or a Redis server; its output. */
static char *cli(int port, const char *cmd)
{
	int rc;
	return run_cmd(&rc, "redis-cli -p %d -a '%s' --no-auth-warning %s 2>&1",
		       port ? port : S.sport, port ? REDIS_PW : SENTINEL_PW, cmd);
}

/* The port of the master the sentinel names. */
static int master_port(void)
{
	char *out = cli(0, "--raw SENTINEL get-master-addr-by-name " MASTER_NAME);
	char *nl = strchr(out, '\n');
	int port = nl ? atoi(nl + 1) : 0;
	free(out);
	return port;
}

/* Until the sentinel sees the replica as healthy (it can fail over). */
static void wait_replica_known(int replica_port)
{
	char *want = strf("%d", replica_port);
	bool ok = false;
	for (int k = 0; k < 200 && !ok; k++) {
		char *out = cli(0, "--raw SENTINEL replicas " MASTER_NAME);
		char *f = strstr(out, "\nflags\n");
		ok = strstr(out, want) && f && !strncmp(f + 7, "slave\n", 6) &&
		     strstr(out, "master-link-status\nok");
		free(out);
		if (!ok)
			sleep_ms(100);
	}
	ck_assert_msg(ok, "the sentinel never saw the replica on %s as healthy", want);
	free(want);
}

static void sentinel_setup(void)
{
	S.dir = strf("%s/sentinelstack", stack_dir());
	ck_assert(mkdir(S.dir, 0755) == 0); /* nginx (www-data) reaches the stack inside */
	char *logdir = strf("%s/log", S.dir);
	ck_assert(mkdir(logdir, 0700) == 0);
	free(logdir);
	S.port[0] = free_port();
	redis_spawn(0, 0);
	S.port[1] = free_port();
	redis_spawn(1, S.port[0]);

	S.sport = free_port();
	char *sconf = strf("%s/sentinel.conf", S.dir), *slog = strf("%s/log/sentinel.log", S.dir);
	FILE *f = fopen(sconf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "port %d\nbind 127.0.0.1\ndir %s\nrequirepass \"%s\"\n"
		"sentinel monitor " MASTER_NAME " 127.0.0.1 %d 1\n"
		"sentinel auth-pass " MASTER_NAME " \"%s\"\n"
		"sentinel down-after-milliseconds " MASTER_NAME " 1000\n"
		"sentinel failover-timeout " MASTER_NAME " 10000\n",
		S.sport, S.dir, SENTINEL_PW, S.port[0], REDIS_PW);
	fclose(f);
	const char *argv[] = { "/usr/bin/redis-sentinel", sconf, NULL };
	S.spid = proc_spawn(NULL, argv, slog);
	for (int k = 0; k < 100 && !port_open(S.sport); k++)
		sleep_ms(50);
	ck_assert_msg(port_open(S.sport), "redis-sentinel did not start (see %s)", slog);
	ck_assert_int_eq(master_port(), S.port[0]);
	wait_replica_known(S.port[1]);

	char *extra = strf("redis_sentinels = /nonexistent/sentinel.sock, 127.0.0.1:%d\n"
			   "redis_master_name = " MASTER_NAME "\nredis_password = %s\n"
			   "redis_sentinel_password = %s\n", S.sport, REDIS_PW, SENTINEL_PW),
	     *dir = strf("%s/stack", S.dir);
	own_stack_up(&S.stack, dir, extra, NULL);
	free(extra), free(dir), free(sconf), free(slog);
}

static void sentinel_teardown(void)
{
	own_stack_down(&S.stack);
	proc_stop(S.spid);
	for (int i = 0; i < 2; i++)
		if (S.pid[i])
			proc_stop(S.pid[i]);
}

/* What happened to the requests run while the master changed. */
struct outage {
	int requests, unavailable, other;
	double seconds;     /* from the change until the last 503 */
	double slowest;     /* the longest request, seconds */
	long other_status;
	long long lost;     /* most counts the key's rate counter went back */
};

static long long header_ll(const http_resp *r, const char *name)
{
	char *v = resp_header(r, name);
	long long n = v ? atoll(v) : -1;
	free(v);
	return n;
}

/* The API key's rate counter, as X-RateLimit-Remaining shows it: when it
 * is higher than the lowest seen in the same window, counts were lost. */
struct counter {
	long long reset, low;
};

static void counter_see(struct counter *c, const http_resp *r, long long *lost)
{
	long long reset = header_ll(r, "X-RateLimit-Reset"), rem = header_ll(r, "X-RateLimit-Remaining");
	ck_assert_msg(reset > 0 && rem >= 0, "no X-RateLimit headers");
	if (reset != c->reset) {
		c->reset = reset;
		c->low = rem;
	} else if (rem > c->low && rem - c->low > *lost) {
		*lost = rem - c->low;
	} else if (rem < c->low) {
		c->low = rem;
	}
}

/* Whether the Redis server on port answers ROLE slave. */
static bool is_replica(int port)
{
	char *out = cli(port, "--raw ROLE");
	bool yes = !strncmp(out, "slave", 5);
	free(out);
	return yes;
}

/* Runs requests (an API key's GET, the session's GET, in turn) from now
 * until the sentinel names a master other than old_port, the old master
 * (old_alive) is a replica, and 30 requests in a row succeeded (at most
 * 30 s), counting 503s and following the key's rate counter. */
static void run_through(const struct login_world *w, int old_port, bool old_alive, double start,
			struct counter *rc, struct outage *o)
{
	memset(o, 0, sizeof(*o));
	int streak = 0;
	double last_bad = start;
	while (now_s() - start < 30 &&
	       (streak < 30 || master_port() == old_port || (old_alive && !is_replica(old_port)))) {
		double t0 = now_s();
		bool key = o->requests % 2 == 0;
		http_resp *r = key ? http_get("/v1/usage", w->t.key) : http_get("/v1/auth/user", w->token);
		double took = now_s() - t0;
		if (took > o->slowest)
			o->slowest = took;
		o->requests++;
		if (r->status == 200) {
			streak++;
			if (key)
				counter_see(rc, r, &o->lost);
		} else {
			streak = 0;
			last_bad = now_s();
			if (r->status == 503) {
				o->unavailable++;
				ck_assert_str_eq(resp_error_code(r), "SERVICE_UNAVAILABLE");
			} else {
				o->other++;
				o->other_status = r->status;
			}
		}
		http_free(r);
		sleep_ms(20);
	}
	o->seconds = o->unavailable ? last_bad - start : 0;
	fprintf(stderr, "sentinel: %d requests, %d answered 503, %d other failures, back after "
		"%.2f s, slowest request %.3f s, rate counter lost %lld counts\n", o->requests,
		o->unavailable, o->other, o->seconds, o->slowest, o->lost);
}

/* The key's counter before the change. */
static void counter_start(const struct login_world *w, struct counter *c)
{
	http_resp *r = http_get("/v1/usage", w->t.key);
	assert_envelope(r, 200, NULL);
	long long lost = 0;
	c->reset = 0;
	counter_see(c, r, &lost);
	http_free(r);
}


static void assert_no_secret_logged(void)
{
	int rc;
	char *out = run_cmd(&rc, "grep -rlF -e '%s' -e '%s' %s/stack/log 2>&1", REDIS_PW,
			    SENTINEL_PW, S.dir);
	ck_assert_msg(rc != 0, "a Redis password is in a log: %s", out);
	free(out);
}

START_TEST(requests_go_on_through_a_sentinel_failover)
{
	struct login_world w;
	login_world_make(&w, 7);
	struct counter rc;
	counter_start(&w, &rc);
	/* The replica has every write before the switch. */
	free(cli(S.port[0], "WAIT 1 2000"));
	double start = now_s();
	char *out = cli(0, "SENTINEL failover " MASTER_NAME);
	ck_assert_msg(strstr(out, "OK"), "SENTINEL failover: %s", out);
	free(out);
	struct outage o;
	run_through(&w, S.port[0], true, start, &rc, &o);
	ck_assert_int_eq(master_port(), S.port[1]);
	ck_assert_msg(o.other == 0, "%d requests failed otherwise than 503 (last %ld)", o.other,
		      o.other_status);
	ck_assert_msg(o.seconds < 5, "503s for %.2f s", o.seconds);
	ck_assert_msg(o.unavailable <= 50, "%d requests answered 503", o.unavailable);
	ck_assert_msg(o.slowest < 3, "a request took %.2f s", o.slowest);
	/* Writes the old master took after the promotion and before a worker
	 * asked the sentinel again (each does once a second) are lost, but the
	 * counter never starts a fresh window. */
	ck_assert_msg(o.lost <= 60, "the rate counter lost %lld counts", o.lost);
	login_assert_carried_over(&w, 8);
	ck_assert(is_replica(S.port[0]));
	login_world_drop(&w);
	assert_no_secret_logged();
}
END_TEST

START_TEST(requests_go_on_when_the_master_is_killed)
{
	int now = master_port(), i = now == S.port[0] ? 0 : 1;
	wait_replica_known(S.port[1 - i]);
	struct login_world w;
	login_world_make(&w, 5);
	struct counter rc;
	counter_start(&w, &rc);
	free(cli(now, "WAIT 1 2000"));
	double start = now_s();
	kill(S.pid[i], SIGKILL);
	waitpid(S.pid[i], NULL, 0);
	S.pid[i] = 0;
	struct outage o;
	run_through(&w, now, false, start, &rc, &o);
	ck_assert_int_eq(master_port(), S.port[1 - i]);
	ck_assert_msg(o.other == 0, "%d requests failed otherwise than 503 (last %ld)", o.other,
		      o.other_status);
	/* Sentinel takes down-after-milliseconds (1 s) and an election to
	 * notice; requests meanwhile fail fast with 503. */
	ck_assert_msg(o.seconds < 10, "503s for %.2f s", o.seconds);
	ck_assert_msg(o.slowest < 3, "a request took %.2f s", o.slowest);
	ck_assert_msg(o.lost == 0, "the rate counter lost %lld counts", o.lost);
	login_assert_carried_over(&w, 6);
	login_world_drop(&w);
	assert_no_secret_logged();
}
END_TEST

START_TEST(sentinels_without_a_master_name_are_refused_at_start)
{
	char *conf = strf("%s/bad.conf", S.dir);
	int rc;
	free(run_cmd(&rc, "grep -v '^redis_master_name' %s/stack/tessera.conf > %s && printf "
		     "'pid_file = %s/bad.pid\\njobs = off\\n' >> %s", S.dir, conf, S.dir, conf));
	char *out = run_cmd(&rc, "timeout 20 %s serve --config %s 2>&1", bin(), conf);
	ck_assert_msg(rc != 0 && strstr(out, "redis_master_name"), "rc %d: %s", rc, out);
	free(out);
	free(conf);
}
END_TEST

Suite *suite_sentinel(void)
{
	Suite *s = suite_create("sentinel");
	TCase *tc = tcase_create("failover");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, sentinel_setup, sentinel_teardown);
	tcase_add_test(tc, requests_go_on_through_a_sentinel_failover);
	tcase_add_test(tc, requests_go_on_when_the_master_is_killed);
	tcase_add_test(tc, sentinels_without_a_master_name_are_refused_at_start);
	suite_add_tcase(s, tc);
	return s;
}
