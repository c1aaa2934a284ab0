/*
 * test_resilience.c - the stack under trouble: a worker killed under load,
 * a graceful reload under load, MariaDB restarted and Redis stopped while
 * tessera keeps running.  Runs last (main.c), since it kills workers and
 * stops the databases; every test starts by making sure MariaDB and Redis
 * are up, so one failure does not cascade into the next.
 */
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_PIDS 64

/* tools/stack SUB --dir DIR; asserts it succeeded. */
static void stack(const char *sub)
{
	int rc;
	char *out = run_cmd(&rc, "%s/tools/stack %s --dir %s 2>&1",
			    env_or("TESSERA_TEST_REPO", "."), sub, stack_dir());
	ck_assert_msg(rc == 0, "tools/stack %s failed: %s", sub, out);
	free(out);
}

/* /health caches its probe of MariaDB and Redis for a second per worker. */
#define PROBE_CACHE_US 1100000

static bool services_answer(void)
{
	int rc;
	char *out = run_cmd(&rc, "mariadb-admin --no-defaults --socket=%s/run/mysql.sock -u \"$(id -un)\" "
			    "--connect-timeout=2 ping >/dev/null 2>&1 && redis-cli -s %s/run/redis.sock ping 2>&1",
			    stack_dir(), stack_dir());
	bool up = rc == 0 && strncmp(out, "PONG", 4) == 0;
	free(out);
	return up;
}

/* Starts whichever of MariaDB and Redis an earlier test left stopped, and
 * lets the workers' health probes see them again. */
static void services_up(void)
{
	if (services_answer())
		return;
	stack("db-start");
	stack("redis-start");
	usleep(PROBE_CACHE_US);
}

/* --- processes ----------------------------------------------------------- */

/* The pid in DIR/run/NAME, 0 if there is none. */
static int pid_file_read(const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/run/%s", stack_dir(), name);
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid;
}

static pid_t master_pid(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/run/tessera.pid", stack_dir());
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "no %s", path);
	int pid = 0;
	int n = fscanf(f, "%d", &pid);
	fclose(f);
	ck_assert_msg(n == 1 && pid > 1, "bad pid in %s", path);
	ck_assert_msg(kill(pid, 0) == 0, "serve master %d is not running", pid);
	return pid;
}

/* `workers = N` from tessera.conf. */
static int configured_workers(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/tessera.conf", stack_dir());
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "no %s", path);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " workers = %d", &n) == 1)
			break;
	fclose(f);
	ck_assert_msg(n > 0 && n <= MAX_PIDS, "no usable workers setting in %s", path);
	return n;
}

/* Live (not zombie) workers of parent, read from /proc; returns how many. */
static int children_of(pid_t parent, pid_t *out, int max)
{
	DIR *d = opendir("/proc");
	ck_assert(d != NULL);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < max) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[len] = '\0';
		/* pid (comm) state ppid ...; comm may hold spaces and parens. */
		char *rp = strrchr(buf, ')');
		char state;
		int ppid;
		if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2)
			continue;
		/* The job runner serve supervises is a child, not a worker. */
		if (ppid == parent && state != 'Z' && !strstr(buf, "(tessera-jobs)"))
			out[n++] = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return n;
}

static bool pid_in(pid_t pid, const pid_t *set, int n)
{
	for (int i = 0; i < n; i++)
		if (set[i] == pid)
			return true;
	return false;
}

/* Waits up to seconds for the master to have exactly want workers, none of
 * them in avoid[0..navoid); fills cur and returns true when it does. */
static bool wait_workers(pid_t master, int want, const pid_t *avoid, int navoid,
			 pid_t *cur, int *ncur, double seconds)
{
	double deadline = now_s() + seconds;
	do {
		*ncur = children_of(master, cur, MAX_PIDS);
		bool fresh = true;
		for (int i = 0; i < *ncur; i++)
			fresh = fresh && !pid_in(cur[i], avoid, navoid);
		if (*ncur == want && fresh)
			return true;
		usleep(50000);
	} while (now_s() < deadline);
	return false;
}

/* --- load ------------------------------------------------------------------ */

#define LOAD_CLIENTS_MAX 8

/* What the load clients send, and what counts as a good answer. */
struct load_spec {
	int clients;
	int each;                  /* sequential requests per client */
	const char *method, *path, *token, *body;
	size_t body_len;
	bool (*ok)(const http_resp *r);
};

/* Counters shared with the forked clients. */
struct load {
	int done;
	int failed;
	int s500;
	int first_bad_status;
	char first_bad_body[256];
	pid_t pids[LOAD_CLIENTS_MAX];
	int clients;
};

static bool health_ok(const http_resp *r)
{
	return r->status == 200 && r->json &&
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->json, "success"));
}

static const struct load_spec health_load = {
	.clients = 4, .each = 100, .method = "GET", .path = "/health", .ok = health_ok,
};

static void load_client(struct load *l, const struct load_spec *spec)
{
	for (int i = 0; i < spec->each; i++) {
		http_resp *r = http_req(spec->method, spec->path, spec->token, NULL,
					spec->body, spec->body_len, NULL);
		if (!spec->ok(r) && __atomic_fetch_add(&l->failed, 1, __ATOMIC_SEQ_CST) == 0) {
			l->first_bad_status = (int)r->status;
			snprintf(l->first_bad_body, sizeof(l->first_bad_body), "%.200s", r->body);
		}
		if (r->status == 500)
			__atomic_fetch_add(&l->s500, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&l->done, 1, __ATOMIC_SEQ_CST);
		http_free(r);
	}
}

/* Forks spec->clients clients, each sending spec->each requests in a row. */
static struct load *load_start(const struct load_spec *spec)
{
	ck_assert(spec->clients <= LOAD_CLIENTS_MAX);
	struct load *l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(l != MAP_FAILED);
	memset(l, 0, sizeof(*l));
	l->clients = spec->clients;
	for (int c = 0; c < spec->clients; c++) {
		pid_t pid = fork();
		ck_assert(pid >= 0);
		if (pid == 0) {
			load_client(l, spec);
			_exit(0);
		}
		l->pids[c] = pid;
	}
	return l;
}

static int load_done(const struct load *l)
{
	return __atomic_load_n(&l->done, __ATOMIC_SEQ_CST);
}

static void load_wait_done(const struct load *l, int n, double seconds)
{
	double deadline = now_s() + seconds;
	while (load_done(l) < n && now_s() < deadline)
		usleep(5000);
	ck_assert_msg(load_done(l) >= n, "load made no progress: %d requests in %.0f s",
		      load_done(l), seconds);
}

/* Waits for the clients; true while one is still running (no wait). */
static bool load_running(struct load *l)
{
	for (int c = 0; c < l->clients; c++) {
		if (!l->pids[c])
			continue;
		int st;
		pid_t p = waitpid(l->pids[c], &st, WNOHANG);
		if (p == 0)
			return true;
		ck_assert_msg(p == l->pids[c] && WIFEXITED(st) && WEXITSTATUS(st) == 0,
			      "load client died");
		l->pids[c] = 0;
	}
	return false;
}

static void load_join(struct load *l)
{
	while (load_running(l))
		usleep(10000);
}

/* Asserts the run: everything sent, at most max_failed bad answers, no 500. */
static void load_check(struct load *l, const struct load_spec *spec, int max_failed)
{
	ck_assert_int_eq(l->done, spec->clients * spec->each);
	ck_assert_msg(l->failed <= max_failed, "%d of %d requests failed (first: %d %s)",
		      l->failed, l->done, l->first_bad_status, l->first_bad_body);
	ck_assert_int_eq(l->s500, 0);
	munmap(l, sizeof(*l));
}

/* --- requests --------------------------------------------------------- */

/* GET path until it answers want (or seconds pass); every answer on the
 * way must be a JSON envelope and never a 500.  Returns the last response. */
static http_resp *poll_until(const char *path, const char *token, long want, double seconds)
{
	double deadline = now_s() + seconds;
	for (;;) {
		http_resp *r = http_get(path, token);
		ck_assert_msg(r->status != 500, "%s answered 500: %s", path, r->body);
		ck_assert_msg(r->json != NULL, "%s answered %ld without JSON: %s", path, r->status, r->body);
		if (r->status == want || now_s() >= deadline)
			return r;
		http_free(r);
		usleep(200000);
	}
}

/* n requests in a row (so that several workers answer), all 503
 * SERVICE_UNAVAILABLE, each within a few seconds. */
static void expect_unavailable(const char *path, const char *token, int n, const char *why)
{
	for (int i = 0; i < n; i++) {
		double t0 = now_s();
		http_resp *r = http_get(path, token);
		double took = now_s() - t0;
		if (r->status != 503)
			ck_abort_msg("%s: %s expected 503, got %ld: %s", why, path, r->status, r->body);
		assert_envelope(r, 503, "SERVICE_UNAVAILABLE");
		ck_assert_msg(resp_data(r) == NULL, "%s: data in an error: %s", why, r->body);
		ck_assert_msg(took < 5.0, "%s: %s took %.1f s to fail", why, path, took);
		http_free(r);
	}
}

static void expect_usage_ok(const char *key, const char *tenant_id, int n)
{
	for (int i = 0; i < n; i++) {
		http_resp *r = http_get("/v1/usage", key);
		assert_envelope(r, 200, NULL);
		ck_assert_str_eq(json_str(resp_data(r), "tenant_id"), tenant_id);
		http_free(r);
	}
}

/* /health until checks.<name> reads want; asserts the whole answer. */
static void expect_health_check(const char *name, const char *want, double seconds)
{
	double deadline = now_s() + seconds;
	for (;;) {
		http_resp *r = http_get("/health", NULL);
		/* Health reports (200 even when degraded); /ready decides. */
		ck_assert_msg(r->status == 200, "/health: %ld %s", r->status, r->body);
		const cJSON *checks = cJSON_GetObjectItemCaseSensitive(resp_data(r), "checks");
		const char *got = json_str(checks, name);
		if ((got && strcmp(got, want) == 0) || now_s() >= deadline) {
			ck_assert_msg(got && strcmp(got, want) == 0, "/health checks.%s is %s, not %s: %s",
				      name, got ? got : "(none)", want, r->body);
			const char *db = json_str(checks, "database"), *rd = json_str(checks, "redis");
			bool healthy = db && rd && strcmp(db, "ok") == 0 && strcmp(rd, "ok") == 0;
			assert_envelope(r, 200, NULL);
			ck_assert_str_eq(json_str(resp_data(r), "status"), healthy ? "ok" : "degraded");
			http_free(r);
			return;
		}
		http_free(r);
		usleep(200000);
	}
}

/* --- tests ----------------------------------------------------------------- */

START_TEST(worker_killed_under_load_loses_at_most_one_request)
{
	pid_t master = master_pid();
	int want = configured_workers();
	pid_t before[MAX_PIDS], after[MAX_PIDS];
	int nbefore, nafter;
	ck_assert_msg(wait_workers(master, want, NULL, 0, before, &nbefore, 5),
		      "master %d has %d workers, not %d", master, nbefore, want);

	const struct load_spec *spec = &health_load;
	struct load *l = load_start(spec);
	load_wait_done(l, spec->clients * spec->each / 4, 30);
	pid_t victim = before[0];
	ck_assert_int_eq(kill(victim, SIGKILL), 0);
	load_join(l);
	/* The killed worker may have held one request: nginx answers it 502. */
	load_check(l, spec, 1);

	pid_t gone[] = { victim };
	ck_assert_msg(wait_workers(master, want, gone, 1, after, &nafter, 5),
		      "no replacement for worker %d: %d workers", victim, nafter);
	int fresh = 0;
	for (int i = 0; i < nafter; i++)
		fresh += !pid_in(after[i], before, nbefore);
	ck_assert_int_eq(fresh, 1);
	ck_assert_int_eq(master_pid(), master);

	/* The pool serves normally afterwards. */
	http_resp *r = http_get("/health", NULL);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "ok");
	http_free(r);
}
END_TEST

START_TEST(sighup_reload_under_load_drops_nothing)
{
	pid_t master = master_pid();
	int want = configured_workers();
	pid_t before[MAX_PIDS], after[MAX_PIDS];
	int nbefore, nafter;
	ck_assert_msg(wait_workers(master, want, NULL, 0, before, &nbefore, 5),
		      "master %d has %d workers, not %d", master, nbefore, want);

	const struct load_spec *spec = &health_load;
	struct load *l = load_start(spec);
	load_wait_done(l, spec->clients * spec->each / 4, 30);
	ck_assert_int_eq(kill(master, SIGHUP), 0);
	load_join(l);
	load_check(l, spec, 0);

	ck_assert_msg(wait_workers(master, want, before, nbefore, after, &nafter, 20),
		      "after SIGHUP the master has %d workers, some of them old", nafter);
	ck_assert_int_eq(master_pid(), master);
	http_resp *r = http_get("/health", NULL);
	assert_envelope(r, 200, NULL);
	http_free(r);
}
END_TEST

/* The answer to the big body below when all of it arrived: the unknown
 * scope is found only after the whole JSON was read and parsed. */
static bool big_body_ok(const http_resp *r)
{
	const cJSON *err = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "error") : NULL;
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(err, "details");
	const char *code = json_str(err, "code"), *field = json_str(det, "field");
	return r->status == 400 && code && strcmp(code, "VALIDATION_ERROR") == 0 &&
	       field && strcmp(field, "scopes") == 0;
}

START_TEST(sighup_during_large_uploads_drops_nothing)
{
	/* Workers told to finish while they read a multi-megabyte body must
	 * read all of it: a signal must not cut the read short. */
	char *tid, *key;
	ck_assert_int_eq(tenant_new("pro", &tid, &key), 0);
	static const char head[] = "{\"label\":\"big\",\"scopes\":[\"no-such-scope\"]";
	size_t len = 8u << 20;
	char *body = malloc(len + 1);
	ck_assert(body != NULL);
	memset(body, ' ', len);
	memcpy(body, head, sizeof(head) - 1);
	body[len - 1] = '}';
	body[len] = '\0';
	struct load_spec spec = {
		.clients = 3, .each = 12, .method = "POST", .path = "/v1/keys", .token = key,
		.body = body, .body_len = len, .ok = big_body_ok,
	};
	pid_t master = master_pid();
	int want = configured_workers();
	struct load *l = load_start(&spec);
	int hups = 0;
	while (load_running(l)) {
		usleep(150000);
		if (load_done(l) > 0 && hups < 12) {
			ck_assert_int_eq(kill(master, SIGHUP), 0);
			hups++;
		}
	}
	ck_assert_msg(hups >= 3, "the uploads finished before the reloads (%d)", hups);
	load_check(l, &spec, 0);
	pid_t cur[MAX_PIDS];
	int ncur;
	ck_assert(wait_workers(master, want, NULL, 0, cur, &ncur, 20));
	http_resp *r = http_get("/v1/keys", key);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	free(body);
	free(tid);
	free(key);
}
END_TEST

START_TEST(mariadb_restart_gives_503_then_recovers_without_restart)
{
	char *tid, *key;
	ck_assert_int_eq(tenant_new("pro", &tid, &key), 0);
	char *jwt = jwt_mint(tid, "usr_alice", "authenticated", 3600, NULL);
	pid_t master = master_pid();
	expect_usage_ok(key, tid, 4);

	stack("db-stop");
	expect_unavailable("/v1/usage", key, 8, "MariaDB stopped");
	expect_unavailable("/v1/keys", jwt, 2, "MariaDB stopped, end-user token");
	http_resp *r = http_json("POST", "/v1/keys", key, "{\"label\":\"during outage\"}");
	assert_envelope(r, 503, "SERVICE_UNAVAILABLE");
	http_free(r);
	usleep(PROBE_CACHE_US);
	expect_health_check("database", "unavailable", 3);
	r = http_get("/health", NULL);
	ck_assert_str_eq(json_str(cJSON_GetObjectItemCaseSensitive(resp_data(r), "checks"), "redis"), "ok");
	http_free(r);
	r = http_get("/ready", NULL);
	assert_envelope(r, 503, "SERVICE_UNAVAILABLE");
	http_free(r);

	stack("db-start");
	r = poll_until("/v1/usage", key, 200, 20);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "tenant_id"), tid);
	http_free(r);
	/* Every worker reconnects, not only the one that answered first. */
	expect_usage_ok(key, tid, 12);
	expect_health_check("database", "ok", 3);
	/* Nothing was written during the outage, and writes work again. */
	r = http_get("/v1/keys", key);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);
	r = http_json("POST", "/v1/keys", key, "{\"label\":\"after outage\"}");
	assert_envelope(r, 201, NULL);
	http_free(r);
	ck_assert_int_eq(master_pid(), master);
	usleep(PROBE_CACHE_US); /* no worker still reports the outage */
	free(jwt);
	free(tid);
	free(key);
}
END_TEST

START_TEST(killed_db_connections_are_replaced_without_errors)
{
	char *tid, *key;
	ck_assert_int_eq(tenant_new("pro", &tid, &key), 0);
	expect_usage_ok(key, tid, 12); /* every worker holds a connection now */
	int rc;
	char *out = run_cmd(&rc,
		"n=0; for id in $(mariadb --no-defaults --socket=%s/run/mysql.sock -u \"$(id -un)\" -N -B "
		"-e \"SELECT id FROM information_schema.processlist WHERE user = 'tessera'\"); do "
		"mariadb --no-defaults --socket=%s/run/mysql.sock -u \"$(id -un)\" -e \"KILL $id\" && n=$((n+1)); "
		"done; echo $n", stack_dir(), stack_dir());
	ck_assert_msg(rc == 0 && atoi(out) >= 1, "no tessera connection was killed: %s", out);
	free(out);
	/* A read on a dead connection is retried on a fresh one. */
	expect_usage_ok(key, tid, 12);
	http_resp *r = http_json("POST", "/v1/keys", key, "{\"label\":\"after kill\"}");
	assert_envelope(r, 201, NULL);
	http_free(r);
	free(tid);
	free(key);
}
END_TEST

START_TEST(redis_stopped_gives_503_never_skips_the_rate_limit)
{
	char *tid, *key;
	ck_assert_int_eq(tenant_new("pro", &tid, &key), 0);
	char *jwt = jwt_mint(tid, "usr_alice", "authenticated", 3600, NULL);
	pid_t master = master_pid();
	expect_usage_ok(key, tid, 4);

	stack("redis-stop");
	expect_unavailable("/v1/usage", key, 8, "Redis stopped");
	/* Session revocation cannot be checked: no silent pass either. */
	expect_unavailable("/v1/keys", jwt, 2, "Redis stopped, end-user token");
	usleep(PROBE_CACHE_US);
	expect_health_check("redis", "unavailable", 3);
	http_resp *ready = http_get("/ready", NULL);
	assert_envelope(ready, 503, "SERVICE_UNAVAILABLE");
	http_free(ready);

	stack("redis-start");
	http_resp *r = poll_until("/v1/usage", key, 200, 20);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "tenant_id"), tid);
	char *limit = resp_header(r, "X-RateLimit-Limit");
	ck_assert_ptr_nonnull(limit);
	free(limit);
	http_free(r);
	expect_usage_ok(key, tid, 12);
	expect_health_check("redis", "ok", 3);
	ck_assert_int_eq(master_pid(), master);
	usleep(PROBE_CACHE_US); /* no worker still reports the outage */
	free(jwt);
	free(tid);
	free(key);
}
END_TEST

/* nginx killed outright (master and workers): the documented recovery,
 * `tools/stack up` with the same options, starts nginx again (its stale
 * publisher socket removed) and leaves MariaDB, Redis, the pool and the
 * runner as they were. */
START_TEST(stack_up_after_nginx_is_killed_restarts_only_nginx)
{
	static const char *const kept[] = { "mysql.pid", "redis.pid", "tessera.pid", "jobs.pid" };
	int before[4];
	for (int i = 0; i < 4; i++) {
		before[i] = pid_file_read(kept[i]);
		ck_assert_msg(before[i] > 1 && kill(before[i], 0) == 0, "%s is not running", kept[i]);
	}
	int nginx = pid_file_read("nginx.pid");
	ck_assert_msg(nginx > 1, "no nginx pid");
	int rc;
	/* The master first: killed after its workers, it would have respawned
	 * some in between, and those orphans go on serving the port. */
	char *out = run_cmd(&rc, "w=$(pgrep -P %d); kill -KILL %d; kill -KILL $w 2>/dev/null; "
			    "sleep 0.5", nginx, nginx);
	free(out);
	http_resp *r = http_get("/health", NULL);
	ck_assert_msg(r->status <= 0, "nginx still answers (%ld)", r->status);
	http_free(r);
	const char *url = env_or("TESSERA_TEST_URL", ""), *tls = env_or("TESSERA_TEST_TLS_URL", "");
	const char *port = strrchr(url, ':'), *tls_port = strrchr(tls, ':');
	ck_assert(port && tls_port);
	out = run_cmd(&rc, "%s/tools/stack up --dir %s --port %s --tls-port %s --tls-cert %s/tls.crt "
		      "--tls-key %s/tls.key --bin %s --workers 4 --quick-retries 2>&1",
		      env_or("TESSERA_TEST_REPO", "."), stack_dir(), port + 1, tls_port + 1, stack_dir(),
		      stack_dir(), bin());
	ck_assert_msg(rc == 0, "tools/stack up failed: %s", out);
	free(out);
	r = http_get("/health", NULL);
	ck_assert_int_eq(r->status, 200);
	http_free(r);
	ck_assert_int_ne(pid_file_read("nginx.pid"), nginx);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(pid_file_read(kept[i]) == before[i], "%s changed: %d -> %d", kept[i], before[i],
			      pid_file_read(kept[i]));
	/* an authenticated call and a signed download through the new nginx */
	struct tenant t;
	tenant_make(&t);
	char *fid = file_upload_text(t.key, "after.txt", "still here");
	r = call("POST", t.key, "{\"expires_in\":300}", "/v1/files/%s/signed-url", fid);
	ck_assert_int_eq(r->status, 200);
	const char *signed_url = json_str(resp_data(r), "url");
	ck_assert_msg(signed_url && strstr(signed_url, "/v1/"), "no signed url: %s", r->body);
	http_resp *d = http_get(strstr(signed_url, "/v1/"), NULL);
	ck_assert_int_eq(d->status, 200);
	ck_assert(d->body_len == 10 && !memcmp(d->body, "still here", 10));
	http_free(d);
	http_free(r);
	free(fid);
	tenant_drop(&t);
}
END_TEST

Suite *suite_resilience(void)
{
	Suite *s = suite_create("resilience");
	TCase *tc = tcase_new_slow(s, "resilience");
	/* Checked: before each test (in its process); unchecked: once after
	 * the case in the runner, also when a test failed half-way. */
	tcase_add_checked_fixture(tc, services_up, NULL);
	tcase_add_unchecked_fixture(tc, NULL, services_up);
	tcase_add_test(tc, worker_killed_under_load_loses_at_most_one_request);
	tcase_add_test(tc, sighup_reload_under_load_drops_nothing);
	tcase_add_test(tc, sighup_during_large_uploads_drops_nothing);
	tcase_add_test(tc, killed_db_connections_are_replaced_without_errors);
	tcase_add_test(tc, mariadb_restart_gives_503_then_recovers_without_restart);
	tcase_add_test(tc, redis_stopped_gives_503_never_skips_the_rate_limit);
	tcase_add_test(tc, stack_up_after_nginx_is_killed_restarts_only_nginx);
	return s;
}
