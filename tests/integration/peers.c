/*
 * peers.c - the real third parties the integration tests talk to, on
 * loopback (see peers.h).
 */
#include "peers.h"

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* --- processes -------------------------------------------------------------- */

int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &len);
	close(s);
	return ntohs(a.sin_port);
}

bool port_open(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	bool ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

/* Runs argv (with env "K=V" entries set) as a child that dies with us. */
pid_t proc_spawn(const char *const *env, const char *const *argv, const char *log)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		for (int i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

void proc_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		sleep_ms(100);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

void job_run(const char *kind)
{
	int rc;
	char *id = run_cmd(&rc, "%s jobs enqueue --kind %s --config %s 2>&1", bin(), kind, conf_path());
	id[strcspn(id, "\r\n")] = '\0';
	ck_assert_msg(rc == 0 && !strncmp(id, "job_", 4), "enqueue %s: %s", kind, id);
	char *q = strf("SELECT status FROM jobs WHERE id='%s'", id);
	char *st = NULL;
	for (int i = 0; i < 300; i++) {
		free(st);
		st = control_sql(q);
		if (!strcmp(st, "done"))
			break;
		sleep_ms(100);
	}
	ck_assert_msg(!strcmp(st, "done"), "%s job %s is %s", kind, id, st);
	free(st);
	free(q);
	free(id);
}

void own_stack_up(struct own_stack *st, const char *dir, const char *conf_extra,
		  const char *more_args)
{
	memset(st, 0, sizeof(*st));
	st->dir = strdup(dir);
	char *extra = NULL;
	if (conf_extra) {
		extra = strf("%s.conf-extra", dir);
		FILE *f = fopen(extra, "w");
		ck_assert_msg(f != NULL, "cannot write %s", extra);
		fputs(conf_extra, f);
		fclose(f);
	}
	st->port = free_port();
	int rc;
	char *out = run_cmd(&rc, "%s/tools/stack up --dir %s --port %d --workers 2 --quick-retries "
			    "--bin %s%s%s %s 2>&1", env_or("TESSERA_TEST_REPO", "."), dir, st->port,
			    bin(), extra ? " --conf-extra " : "", extra ? extra : "",
			    more_args ? more_args : "");
	size_t len = strlen(out);
	ck_assert_msg(rc == 0, "the stack in %s did not start:\n%s", dir,
		      out + (len > 2000 ? len - 2000 : 0));
	free(out);
	free(extra);
	st->url = strf("http://127.0.0.1:%d", st->port);
	st->saved_url = strdup(env_or("TESSERA_TEST_URL", ""));
	st->saved_dir = strdup(stack_dir());
	setenv("TESSERA_TEST_URL", st->url, 1);
	setenv("TESSERA_TEST_DIR", st->dir, 1);
}

void own_stack_down(struct own_stack *st)
{
	if (!st->dir)
		return;
	if (st->saved_url) {
		setenv("TESSERA_TEST_URL", st->saved_url, 1);
		setenv("TESSERA_TEST_DIR", st->saved_dir, 1);
	}
	int rc;
	free(run_cmd(&rc, "%s/tools/stack down --dir %s 2>&1", env_or("TESSERA_TEST_REPO", "."),
		     st->dir));
	free(st->dir), free(st->url), free(st->saved_url), free(st->saved_dir);
	memset(st, 0, sizeof(*st));
}

void jobs_runner_swap(struct runner_swap *sw, const char *const *extra_env)
{
	char *pidfile = conf_value("jobs_pid_file");
	FILE *pf = pidfile ? fopen(pidfile, "r") : NULL;
	sw->stack_runner = 0;
	ck_assert_msg(pf && fscanf(pf, "%d", &sw->stack_runner) == 1, "no jobs pid file");
	fclose(pf);
	free(pidfile);
	pid_t me = getpid(), watchdog = fork();
	ck_assert_int_ge(watchdog, 0);
	if (watchdog == 0) {
		while (getppid() == me)
			sleep_ms(100);
		kill(sw->stack_runner, SIGCONT);
		_exit(0);
	}
	ck_assert_int_eq(kill(sw->stack_runner, SIGSTOP), 0);
	const char *env[16] = { "TESSERA_JOBS_PID_FILE=", "TESSERA_JOBS_POLL_MS=100",
				"TESSERA_JOBS_BACKOFF_BASE_MS=200" };
	int n = 3;
	for (int i = 0; extra_env[i] && n < 15; i++)
		env[n++] = extra_env[i];
	env[n] = NULL;
	const char *jobs[] = { bin(), "jobs", "--config", conf_path(), NULL };
	sw->log = strf("%s/log/jobs-test.out", stack_dir());
	sw->runner = proc_spawn(env, jobs, sw->log);
}

void jobs_runner_restore(struct runner_swap *sw)
{
	proc_stop(sw->runner);
	kill(sw->stack_runner, SIGCONT);
}

/* --- the SMTP sink ------------------------------------------------------------ */

void smtp_sink_start(struct smtp_sink *s)
{
	s->port = free_port();
	s->box = strf("%s/tmp/smtp-%d", stack_dir(), s->port);
	s->log = strf("%s/log/smtp-%d.out", stack_dir(), s->port);
	char *listen = strf("127.0.0.1:%d", s->port);
	const char *smtpd[] = { "/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", listen, "-c",
				"aiosmtpd.handlers.Mailbox", s->box, NULL };
	s->pid = proc_spawn(NULL, smtpd, s->log);
	for (int i = 0; i < 100 && !port_open(s->port); i++)
		sleep_ms(100);
	ck_assert_msg(port_open(s->port), "aiosmtpd did not start (see %s)", s->log);
	s->env = strf("TESSERA_SMTP_URL=smtp://127.0.0.1:%d", s->port);
	s->newdir = strf("%s/new", s->box);
	free(listen);
}

void smtp_sink_stop(struct smtp_sink *s)
{
	proc_stop(s->pid);
	free(s->box);
	free(s->log);
	free(s->env);
	free(s->newdir);
}

/* --- messages and files ---------------------------------------------------------- */

/* The file in dir whose content contains needle (malloc'd path), waiting
 * up to timeout_ms; NULL if none appeared. */
char *file_with(const char *dir, const char *needle, long timeout_ms)
{
	for (long waited = 0; waited <= timeout_ms; waited += 100) {
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char *path = strf("%s/%s", dir, e->d_name);
			FILE *f = fopen(path, "rb");
			char buf[65536];
			size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
			if (f)
				fclose(f);
			buf[n] = '\0';
			if (strstr(buf, needle)) {
				closedir(d);
				return path;
			}
			free(path);
		}
		if (d)
			closedir(d);
		sleep_ms(100);
	}
	return NULL;
}

/* The message at path as Python's email package reads it. */
cJSON *mail_parse(const char *path)
{
	int rc;
	char *out = run_cmd(&rc, "/usr/bin/python3 %s/tests/integration/mailparse.py '%s' 2>&1",
			    env_or("TESSERA_TEST_REPO", "."), path);
	ck_assert_msg(rc == 0, "mailparse failed: %s", out);
	cJSON *j = cJSON_Parse(out);
	ck_assert_msg(j != NULL, "mailparse printed: %s", out);
	free(out);
	return j;
}

/* --- the receiver ----------------------------------------------------------- */

/* Starts webhook_receiver.py on a free loopback port; it dies with the test. */
void recv_start(struct receiver *rv)
{
	peer_start(rv, "webhook_receiver");
}

void peer_start(struct receiver *rv, const char *name)
{
	char portfile[512];
	snprintf(portfile, sizeof(portfile), "%s/tmp/%s-%d-%ld.port", stack_dir(), name, (int)getpid(),
		 (long)time(NULL));
	unlink(portfile);
	char script[1024];
	snprintf(script, sizeof(script), "%s/tests/integration/%s.py",
		 env_or("TESSERA_TEST_REPO", "."), name);
	char log[600];
	snprintf(log, sizeof(log), "%s/log/%s.out", stack_dir(), name);
	const char *argv[] = { "/usr/bin/python3", script, "--port-file", portfile, NULL };
	pid_t pid = proc_spawn(NULL, argv, log);
	rv->pid = pid;
	rv->port = 0;
	/* up to 30 s: some peers (pysaml2) take seconds to import on a busy machine */
	for (int i = 0; i < 600 && !rv->port; i++) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			if (fscanf(f, "%d", &rv->port) != 1)
				rv->port = 0;
			fclose(f);
		}
		if (!rv->port)
			sleep_ms(50);
	}
	unlink(portfile);
	ck_assert_msg(rv->port > 0, "%s did not start (see %s)", name, log);
}

void recv_stop(struct receiver *rv)
{
	kill(rv->pid, SIGTERM);
	waitpid(rv->pid, NULL, 0);
}

char *hook_url(const struct receiver *rv, const char *box)
{
	return strf("http://127.0.0.1:%d/hook/%s", rv->port, box);
}

static size_t recv_sink(char *d, size_t s, size_t n, void *u)
{
	char **buf = u;
	size_t len = *buf ? strlen(*buf) : 0;
	char *nb = realloc(*buf, len + s * n + 1);
	ck_assert_ptr_nonnull(nb);
	memcpy(nb + len, d, s * n);
	nb[len + s * n] = '\0';
	*buf = nb;
	return s * n;
}

/* A request to the receiver's control endpoint; the parsed answer. */
static cJSON *recv_control(const struct receiver *rv, const char *method, const char *box,
			   const char *json)
{
	char url[256];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/control/%s", rv->port, box);
	CURL *c = curl_easy_init();
	char *out = NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, recv_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	if (json)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	CURLcode cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	ck_assert_msg(cc == CURLE_OK, "receiver control: %s", curl_easy_strerror(cc));
	cJSON *j = cJSON_Parse(out ? out : "");
	free(out);
	ck_assert_ptr_nonnull(j);
	return j;
}

/* Tells the receiver box which secrets to verify and how to answer. */
void recv_plan(const struct receiver *rv, const char *box, const char *json)
{
	cJSON_Delete(recv_control(rv, "PUT", box, json));
}

/* What box received so far (a cJSON object holding "received"). */
cJSON *recv_got(const struct receiver *rv, const char *box)
{
	return recv_control(rv, "GET", box, NULL);
}

int recv_count(const struct receiver *rv, const char *box)
{
	cJSON *j = recv_got(rv, box);
	int n = cJSON_GetArraySize(item(j, "received"));
	cJSON_Delete(j);
	return n;
}

/* Waits until box has at least n deliveries; returns them (caller frees). */
cJSON *recv_wait(const struct receiver *rv, const char *box, int n, double timeout_s)
{
	double deadline = now_s() + timeout_s;
	for (;;) {
		cJSON *j = recv_got(rv, box);
		if (cJSON_GetArraySize(item(j, "received")) >= n)
			return j;
		if (now_s() > deadline) {
			char *s = cJSON_PrintUnformatted(j);
			ck_abort_msg("box %s: wanted %d deliveries within %.0f s, got %s", box, n,
				     timeout_s, s);
		}
		cJSON_Delete(j);
		sleep_ms(100);
	}
}

const cJSON *received(const cJSON *got, int i)
{
	return cJSON_GetArrayItem(item(got, "received"), i);
}

const char *hdr(const cJSON *delivery, const char *name)
{
	return json_str(item(delivery, "headers"), name);
}

/* True if the delivery verified with secret (checked by the receiver). */
bool verified_with(const cJSON *delivery, const char *secret)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, item(delivery, "valid_secrets"))
		if (cJSON_IsString(s) && !strcmp(s->valuestring, secret))
			return true;
	return false;
}

/* --- objects ----------------------------------------------------------------- */

char *type_id_of(const char *key, const char *type)
{
	http_resp *r = call("GET", key, NULL, "/v1/object-types/%s", type);
	assert_envelope(r, 200, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

/* --- webhooks ---------------------------------------------------------------- */

/* Creates a webhook; returns its id, *secret (both malloc'd). */
char *hook_make(const char *key, const char *url, const char *events, const char *extra,
		       char **secret)
{
	char *body = strf("{\"url\":\"%s\",\"events\":%s%s%s}", url, events, extra ? "," : "",
			  extra ? extra : "");
	http_resp *r = call("POST", key, body, "/v1/webhooks");
	assert_envelope(r, 201, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_str_eq(json_str(d, "url"), url);
	ck_assert_str_eq(json_str(d, "status"), extra && strstr(extra, "paused") ? "paused" : "active");
	const char *s = json_str(d, "secret");
	ck_assert_msg(s && !strncmp(s, "whsec_", 6) && strlen(s) >= 6 + 32, "secret %s", s);
	char *id = strdup(json_str(d, "id"));
	if (secret)
		*secret = strdup(s);
	http_free(r);
	free(body);
	return id;
}

/* Registers box's secrets (JSON array text) and answers (statuses JSON). */
void box_setup(const struct receiver *rv, const char *box, const char *secret,
		      const char *statuses)
{
	char *plan = strf("{\"secrets\":[\"%s\"],\"statuses\":%s}", secret, statuses ? statuses : "[200]");
	recv_plan(rv, box, plan);
	free(plan);
}

/* Waits until every outbox event of the tenant is fanned out. */
void outbox_drained(const char *tenant)
{
	double deadline = now_s() + 30;
	for (;;) {
		char *q = strf("SELECT COUNT(*) FROM outbox WHERE tenant_id = '%s' AND processed_at IS NULL",
			       tenant);
		char *n = control_sql(q);
		bool done = !strcmp(n, "0");
		free(q);
		free(n);
		if (done)
			return;
		ck_assert_msg(now_s() < deadline, "outbox of %s not drained", tenant);
		sleep_ms(100);
	}
}

/* --- clients ------------------------------------------------------------- */

/* Starts ws_client.py (mode ws or sse) on path (relative to the stack's
 * URL, ws:// for ws) with extra options; the caller reads its lines. */
FILE *client_start(const char *mode, const char *path, int count, int timeout, const char *extra)
{
	const char *base = env_or("TESSERA_TEST_URL", "http://127.0.0.1:8080");
	char *url = strf("%s%s%s", strcmp(mode, "ws") ? "http" : "ws", base + 4, path);
	char *cmd = strf("/usr/bin/python3 %s/tests/integration/ws_client.py %s '%s' --count %d "
			 "--timeout %d %s 2>&1", env_or("TESSERA_TEST_REPO", "."), mode, url, count,
			 timeout, extra ? extra : "");
	FILE *f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	free(url);
	free(cmd);
	return f;
}

/* The client's next line (malloc'd, no newline), or NULL at its end. */
char *client_line(FILE *f)
{
	char buf[65536];
	if (!fgets(buf, sizeof(buf), f))
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

/* Asserts the next line is want ("OPEN", "STATUS 401", …). */
void client_expect(FILE *f, const char *want)
{
	char *l = client_line(f);
	ck_assert_msg(l && !strcmp(l, want), "client said \"%s\", expected \"%s\"", l ? l : "(nothing)", want);
	free(l);
}

/* The next message as JSON (for sse: the event's data, with the SSE id and
 * event name copied in as "_sse_id" and "_sse_event"). */
cJSON *client_message(FILE *f, const char *mode)
{
	char *l = client_line(f);
	ck_assert_msg(l && strcmp(l, "TIMEOUT"), "no message arrived (%s)", l ? l : "client ended");
	cJSON *j = cJSON_Parse(l);
	ck_assert_msg(j != NULL, "not JSON: %s", l);
	free(l);
	if (strcmp(mode, "sse"))
		return j;
	cJSON *m = cJSON_Parse(json_str(j, "data"));
	ck_assert_ptr_nonnull(m);
	cJSON_AddStringToObject(m, "_sse_id", json_str(j, "id"));
	cJSON_AddStringToObject(m, "_sse_event", json_str(j, "event") ? json_str(j, "event") : "");
	cJSON_Delete(j);
	return m;
}

void client_end(FILE *f)
{
	char buf[4096];
	while (fgets(buf, sizeof(buf), f))
		;
	pclose(f);
}
