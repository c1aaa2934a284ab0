/*
 * test_redis_cluster.c - Redis Cluster: each tenant's keys on the node of
 * its hash slot, a slot moved between nodes while requests run, and a
 * master killed.
 *
 * The suite starts six cluster-enabled redis-server instances on loopback
 * ports (with a password), joins them with `redis-cli --cluster create
 * --cluster-replicas 1` (three masters splitting the 16,384 slots, a
 * replica of each), and a
 * stack of its own (tools/stack up --conf-extra) configured with
 * redis_cluster naming one node as its seed and redis_password: workers
 * and the job runner learn the other nodes from CLUSTER SLOTS.  The
 * stack's own Redis still runs and is not used.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "peers.h"
#include "signin.h"

Suite *suite_redis_cluster(void);

#define NODES 6
#define MASTERS 3
#define REDIS_PW "cluster-pw/Secret+3"

static struct {
	char *dir;
	struct own_stack stack;
	int port[NODES];
	char *id[NODES]; /* CLUSTER MYID */
	pid_t pid[NODES];
	int master[MASTERS]; /* the nodes that came up as masters */
} S;

/* s without its trailing newlines. */
static char *chomp(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* redis-cli against node i; its output (the exit status in *rc if given). */
static char *cli_rc(int i, int *rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *cli_rc(int i, int *rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *args = NULL;
	if (vasprintf(&args, fmt, ap) < 0)
		abort();
	va_end(ap);
	int st;
	char *out = run_cmd(&st, "redis-cli -p %d -a '%s' --no-auth-warning %s 2>&1", S.port[i],
			    REDIS_PW, args);
	if (rc)
		*rc = st;
	free(args);
	return chomp(out);
}
#define cli(i, ...) cli_rc(i, NULL, __VA_ARGS__)

static void node_spawn(int i)
{
	/* The bus port, given: port + 10000 (the default) may be taken or
	 * past 65535. */
	char *dir = strf("%s/node%d", S.dir, i), *port = strf("%d", S.port[i]);
	char *bus = strf("%d", free_port());
	char *log = strf("%s/log/node%d.log", S.dir, i);
	ck_assert(mkdir(dir, 0700) == 0);
	const char *argv[] = { "/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1",
			       "--save", "", "--appendonly", "no", "--dir", dir,
			       "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			       "--cluster-node-timeout", "2000", "--cluster-port", bus,
			       "--requirepass", REDIS_PW, "--masterauth", REDIS_PW, NULL };
	S.pid[i] = proc_spawn(NULL, argv, log);
	for (int k = 0; k < 100 && !port_open(S.port[i]); k++)
		sleep_ms(50);
	ck_assert_msg(port_open(S.port[i]), "redis-server %d did not start (see %s)", i, log);
	free(dir), free(port), free(log), free(bus);
}

/* Until every node (still running) says cluster_state:ok. */
static void wait_cluster_ok(void)
{
	bool ok = false;
	for (int k = 0; k < 300 && !ok; k++) {
		ok = true;
		for (int i = 0; i < NODES && ok; i++) {
			if (!S.pid[i])
				continue;
			char *out = cli(i, "CLUSTER INFO");
			ok = strstr(out, "cluster_state:ok") && strstr(out, "cluster_slots_assigned:16384");
			free(out);
		}
		if (!ok)
			sleep_ms(100);
	}
	ck_assert_msg(ok, "the cluster never came up");
}

static void cluster_setup(void)
{
	S.dir = strf("%s/clusterstack", stack_dir());
	ck_assert(mkdir(S.dir, 0755) == 0); /* nginx (www-data) reaches the stack inside */
	char *logdir = strf("%s/log", S.dir);
	ck_assert(mkdir(logdir, 0700) == 0);
	free(logdir);
	for (int i = 0; i < NODES; i++) {
		S.port[i] = free_port();
		node_spawn(i);
	}
	int rc;
	char *addrs = strdup("");
	for (int i = 0; i < NODES; i++) {
		char *more = strf("%s 127.0.0.1:%d", addrs, S.port[i]);
		free(addrs);
		addrs = more;
	}
	char *out = cli_rc(0, &rc, "--cluster create%s --cluster-replicas 1 --cluster-yes", addrs);
	ck_assert_msg(rc == 0, "redis-cli --cluster create: %s", out);
	free(out), free(addrs);
	wait_cluster_ok();
	int m = 0;
	for (int i = 0; i < NODES; i++) {
		S.id[i] = cli(i, "--raw CLUSTER MYID");
		char *role = cli(i, "--raw ROLE");
		if (!strncmp(role, "master", 6) && m < MASTERS)
			S.master[m++] = i;
		free(role);
	}
	ck_assert_int_eq(m, MASTERS);

	/* One seed: the others come from its slot map. */
	char *extra = strf("redis_cluster = 127.0.0.1:%d\nredis_password = %s\n", S.port[1], REDIS_PW),
	     *dir = strf("%s/stack", S.dir);
	own_stack_up(&S.stack, dir, extra, NULL);
	free(extra), free(dir);
}

static void cluster_teardown(void)
{
	own_stack_down(&S.stack);
	for (int i = 0; i < NODES; i++) {
		if (S.pid[i])
			proc_stop(S.pid[i]);
		free(S.id[i]);
	}
}

/* The node that serves a key with hash tag tag: the one that does not
 * answer MOVED (replicas redirect to their master too). */
static int node_of(const char *tag)
{
	for (int i = 0; i < NODES; i++) {
		if (!S.pid[i])
			continue;
		char *out = cli(i, "--raw TYPE 'x:{%s}'", tag);
		bool here = !strstr(out, "MOVED");
		free(out);
		if (here)
			return i;
	}
	ck_abort_msg("no node serves {%s}", tag);
	return -1;
}

/* How many keys naming tenant in a hash tag node i holds. */
static int keys_on(int i, const char *tenant)
{
	char *out = cli(i, "--scan --pattern '*{%s}*'", tenant);
	int n = 0;
	for (char *p = out; *p; p++)
		n += *p == '\n';
	n += *out != '\0';
	free(out);
	return n;
}

START_TEST(each_tenants_keys_live_on_the_node_of_its_slot)
{
	/* Tenants until there is one on every master (a tenant's node is its
	 * id's slot, so about one in three lands on each). */
	struct login_world w[MASTERS];
	int node[MASTERS];
	bool have[NODES] = { false };
	int found = 0;
	for (int tries = 0; found < MASTERS && tries < 40; tries++) {
		login_world_make(&w[found], 3);
		node[found] = node_of(w[found].t.id);
		if (have[node[found]]) {
			login_world_drop(&w[found]);
			continue;
		}
		have[node[found]] = true;
		found++;
	}
	ck_assert_int_eq(found, MASTERS);
	for (int k = 0; k < MASTERS; k++) {
		/* Sessions, log-in counters, rate limits, usage: all on one
		 * master (and its replica). */
		for (int m = 0; m < MASTERS; m++) {
			int i = S.master[m], n = keys_on(i, w[k].t.id);
			if (i == node[k])
				ck_assert_msg(n >= 3, "node %d holds %d keys of %s", i, n, w[k].t.id);
			else
				ck_assert_msg(n == 0, "node %d holds %d keys of %s, whose slot is on node %d",
					      i, n, w[k].t.id, node[k]);
		}
		login_assert_carried_over(&w[k], 4);
	}
	/* The usage rollup scans every node: each tenant's requests reach
	 * MariaDB. */
	job_run("analytics.rollup");
	for (int k = 0; k < MASTERS; k++) {
		char *n = control_sqlf("SELECT COALESCE(SUM(requests), 0) FROM usage_requests WHERE "
				       "tenant_id = '%s'", w[k].t.id);
		ck_assert_msg(atoi(n) >= 10, "tenant on node %d: %s requests rolled up", node[k], n);
		free(n);
		login_world_drop(&w[k]);
	}
}
END_TEST

/* Runs an API key's GET and the session's GET in turn (n of each), each
 * answered 200; returns how many were not. */
static int requests_ok(const struct login_world *w, int n, long *last_status)
{
	int bad = 0;
	for (int i = 0; i < 2 * n; i++) {
		http_resp *r = i % 2 ? http_get("/v1/auth/user", w->token) : http_get("/v1/usage", w->t.key);
		if (r->status != 200) {
			bad++;
			*last_status = r->status;
		}
		http_free(r);
	}
	return bad;
}

START_TEST(requests_go_on_while_a_tenants_slot_moves_to_another_node)
{
	struct login_world w;
	login_world_make(&w, 3);
	int from = node_of(w.t.id), to = -1;
	for (int m = 0; m < MASTERS; m++)
		if (S.master[m] == from)
			to = S.master[(m + 1) % MASTERS];
	ck_assert_int_ge(to, 0);
	char *slot = cli(from, "--raw CLUSTER KEYSLOT '%s'", w.t.id);
	long status = 0;
	ck_assert_int_eq(requests_ok(&w, 5, &status), 0);

	/* The slot is migrating: keys not moved yet are served by the old
	 * node, new ones (ASK) by the new. */
	char *out = cli(to, "CLUSTER SETSLOT %s IMPORTING %s", slot, S.id[from]);
	ck_assert_msg(!strcmp(out, "OK"), "IMPORTING: %s", out);
	free(out);
	out = cli(from, "CLUSTER SETSLOT %s MIGRATING %s", slot, S.id[to]);
	ck_assert_msg(!strcmp(out, "OK"), "MIGRATING: %s", out);
	free(out);
	ck_assert_int_eq(requests_ok(&w, 5, &status), 0);
	/* A failed log-in of another account: a new counter, made on the new
	 * node through ASK. */
	char *other = strf("nobody-%s@example.com", w.t.id);
	http_resp *r = login_as(w.t.key, other, "wrong-password-1");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	ck_assert_msg(keys_on(to, w.t.id) >= 1, "no key of %s was made on the importing node", w.t.id);

	/* The keys move (requests in between find some here, some there),
	 * then the slot is the new node's: old maps answer MOVED. */
	for (;;) {
		char *key = cli(from, "--raw CLUSTER GETKEYSINSLOT %s 1", slot);
		if (!*key) {
			free(key);
			break;
		}
		out = cli(from, "MIGRATE 127.0.0.1 %d '' 0 5000 AUTH '%s' KEYS '%s'", S.port[to],
			  REDIS_PW, key);
		ck_assert_msg(!strcmp(out, "OK"), "MIGRATE %s: %s", key, out);
		free(out);
		free(key);
		ck_assert_int_eq(requests_ok(&w, 1, &status), 0);
	}
	for (int m = 0; m < MASTERS; m++) {
		out = cli(S.master[m], "CLUSTER SETSLOT %s NODE %s", slot, S.id[to]);
		ck_assert_msg(!strcmp(out, "OK"), "SETSLOT NODE on node %d: %s", S.master[m], out);
		free(out);
	}
	/* Every worker meets the MOVED and follows it. */
	int bad = requests_ok(&w, 20, &status);
	ck_assert_msg(bad == 0, "%d requests failed after the move (last %ld)", bad, status);
	ck_assert_int_eq(node_of(w.t.id), to);
	ck_assert_int_eq(keys_on(from, w.t.id), 0);
	ck_assert_msg(keys_on(to, w.t.id) >= 3, "the tenant's keys are not on node %d", to);
	/* The account's counter and the session came along; the other
	 * account's counter is there too. */
	login_assert_carried_over(&w, 4);
	for (int n = 2; n <= LOGIN_LIMIT; n++) {
		r = login_as(w.t.key, other, "wrong-password-1");
		assert_envelope(r, 401, "UNAUTHORIZED");
		http_free(r);
	}
	r = login_as(w.t.key, other, "wrong-password-1");
	assert_envelope(r, 429, "RATE_LIMITED");
	http_free(r);
	free(other);
	free(slot);
	login_world_drop(&w);
}
END_TEST

/* A tenant's master is killed: its replica takes over after
 * cluster-node-timeout; requests meanwhile answer 503 (the whole cluster
 * says CLUSTERDOWN until the failover), then everything works again, and
 * the session and log-in counter carried over (WAIT first: replication is
 * asynchronous, a dying master's last writes may be lost). */
START_TEST(requests_go_on_when_a_master_is_killed)
{
	struct login_world w;
	login_world_make(&w, 3);
	int m = node_of(w.t.id);
	char *acked = cli(m, "--raw WAIT 1 2000");
	ck_assert_msg(!strcmp(acked, "1"), "the replica did not acknowledge: %s", acked);
	free(acked);
	double start = now_s(), last_bad = start, slowest = 0;
	kill(S.pid[m], SIGKILL);
	waitpid(S.pid[m], NULL, 0);
	S.pid[m] = 0;
	int requests = 0, unavailable = 0, other = 0, streak = 0;
	long other_status = 0;
	while (streak < 30 && now_s() - start < 30) {
		double t0 = now_s();
		http_resp *r = requests % 2 ? http_get("/v1/auth/user", w.token)
					    : http_get("/v1/usage", w.t.key);
		if (now_s() - t0 > slowest)
			slowest = now_s() - t0;
		requests++;
		if (r->status == 200) {
			streak++;
		} else {
			streak = 0;
			last_bad = now_s();
			if (r->status == 503) {
				unavailable++;
				ck_assert_str_eq(resp_error_code(r), "SERVICE_UNAVAILABLE");
			} else {
				other++;
				other_status = r->status;
			}
		}
		http_free(r);
		sleep_ms(20);
	}
	fprintf(stderr, "redis_cluster: master killed: %d requests, %d answered 503, %d other "
		"failures, back after %.2f s, slowest request %.3f s\n", requests, unavailable, other,
		last_bad - start, slowest);
	ck_assert_msg(streak >= 30, "requests did not recover within 30 s");
	ck_assert_msg(other == 0, "%d requests failed otherwise than 503 (last %ld)", other,
		      other_status);
	ck_assert_msg(last_bad - start < 15, "503s for %.2f s", last_bad - start);
	ck_assert_msg(slowest < 3, "a request took %.2f s", slowest);
	int now = node_of(w.t.id);
	ck_assert_int_ne(now, m);
	login_assert_carried_over(&w, 4);
	login_world_drop(&w);
}
END_TEST

Suite *suite_redis_cluster(void)
{
	Suite *s = suite_create("redis_cluster");
	TCase *tc = tcase_create("cluster");
	tcase_set_timeout(tc, 180);
	tcase_add_unchecked_fixture(tc, cluster_setup, cluster_teardown);
	tcase_add_test(tc, each_tenants_keys_live_on_the_node_of_its_slot);
	tcase_add_test(tc, requests_go_on_while_a_tenants_slot_moves_to_another_node);
	tcase_add_test(tc, requests_go_on_when_a_master_is_killed);
	suite_add_tcase(s, tc);
	return s;
}
