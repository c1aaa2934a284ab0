/*
 * test_spawn.c - `tessera serve` started spawn-fcgi style: the listening
 * socket is handed over on fd 0 and no `listen` path is configured.  The
 * test speaks FastCGI to it directly (no nginx), as a hosting panel's web
 * server would.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

Suite *suite_spawn(void);

static void put_record(char *buf, size_t *len, int type, const void *body, size_t blen)
{
	unsigned char h[8] = { 1, (unsigned char)type, 0, 1,
			       (unsigned char)(blen >> 8), (unsigned char)(blen & 0xff), 0, 0 };
	memcpy(buf + *len, h, 8);
	*len += 8;
	memcpy(buf + *len, body, blen);
	*len += blen;
}

static void put_param(char *buf, size_t *len, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	buf[(*len)++] = (char)nl;
	buf[(*len)++] = (char)vl;
	memcpy(buf + *len, name, nl);
	*len += nl;
	memcpy(buf + *len, value, vl);
	*len += vl;
}

/* Sends one FastCGI GET request for uri over a new connection to path and
 * returns the raw CGI response (headers + body), malloc'd. */
static char *fcgi_get(const char *path, const char *uri)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		close(fd);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return NULL;
	}
	char params[512];
	size_t plen = 0;
	put_param(params, &plen, "REQUEST_METHOD", "GET");
	put_param(params, &plen, "REQUEST_URI", uri);
	put_param(params, &plen, "REMOTE_ADDR", "127.0.0.1");
	char out[1024];
	size_t olen = 0;
	static const unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	put_record(out, &olen, 1, begin, sizeof(begin));
	put_record(out, &olen, 4, params, plen);
	put_record(out, &olen, 4, "", 0);
	put_record(out, &olen, 5, "", 0);
	if (write(fd, out, olen) != (ssize_t)olen) {
		close(fd);
		return NULL;
	}
	char *resp = calloc(1, 1);
	size_t rlen = 0;
	unsigned char h[8];
	while (read(fd, h, 8) == 8) {
		size_t clen = ((size_t)h[4] << 8) | h[5], pad = h[6];
		char *body = malloc(clen + pad + 1);
		size_t got = 0;
		while (got < clen + pad) {
			ssize_t n = read(fd, body + got, clen + pad - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (h[1] == 6) { /* FCGI_STDOUT */
			resp = realloc(resp, rlen + clen + 1);
			memcpy(resp + rlen, body, clen);
			rlen += clen;
			resp[rlen] = '\0';
		}
		free(body);
		if (h[1] == 3) /* FCGI_END_REQUEST */
			break;
	}
	close(fd);
	return resp;
}

START_TEST(serve_accepts_a_listening_socket_inherited_on_fd_0)
{
	char sock[100], pidf[256];
	snprintf(sock, sizeof(sock), "%s/run/spawn-test.sock", env_or("TESSERA_TEST_DIR", "/tmp"));
	snprintf(pidf, sizeof(pidf), "%s/run/spawn-test.pid", env_or("TESSERA_TEST_DIR", "/tmp"));
	unlink(sock);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 16), 0);

	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(lfd, 0);
		close(lfd);
		char cfg[512];
		snprintf(cfg, sizeof(cfg), "%s/tessera.conf", env_or("TESSERA_TEST_DIR", "."));
		setenv("TESSERA_LISTEN", "", 1);
		setenv("TESSERA_PID_FILE", pidf, 1);
		setenv("TESSERA_WORKERS", "2", 1);
		setenv("TESSERA_JOBS", "off", 1);   /* the stack's serve runs the runner */
		const char *bin = env_or("TESSERA_TEST_BIN", "build/tessera");
		execl(bin, bin, "serve", "--config", cfg, (char *)NULL);
		_exit(127);
	}
	close(lfd);

	char *resp = NULL;
	for (int i = 0; i < 100 && !resp; i++) {
		resp = fcgi_get(sock, "/health");
		if (!resp || !strstr(resp, "Status: 200")) {
			free(resp);
			resp = NULL;
			usleep(100000);
		}
	}
	ck_assert_msg(resp != NULL, "no FastCGI answer on the inherited socket");
	ck_assert_msg(strstr(resp, "Content-Type: application/json") != NULL, "%s", resp);
	ck_assert_msg(strstr(resp, "\"success\":true") != NULL, "%s", resp);
	ck_assert_msg(strstr(resp, "\"service\":\"tessera\"") != NULL, "%s", resp);
	free(resp);

	resp = fcgi_get(sock, "/v1/no-such-thing");
	ck_assert_msg(resp && strstr(resp, "Status: 404") && strstr(resp, "NOT_FOUND"), "%s",
		      resp ? resp : "(none)");
	free(resp);

	/* SIGTERM drains and exits cleanly, and leaves the inherited socket
	 * path alone (it is not ours to unlink). */
	kill(pid, SIGTERM);
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "serve exit status %d", status);
	ck_assert_int_eq(access(sock, F_OK), 0);
	unlink(sock);
}
END_TEST

/* stdout (and exit status) of `tessera ARGS` with stderr dropped, or
 * stderr alone with stdout dropped. */
static char *cli(int *rc, bool want_stderr, const char *args)
{
	return want_stderr ? run_cmd(rc, "env -u TESSERA_CONFIG %s %s 2>&1 >/dev/null", bin(), args)
			   : run_cmd(rc, "env -u TESSERA_CONFIG %s %s 2>/dev/null", bin(), args);
}

/* Help on request goes to stdout with status 0; a mistake is named on
 * stderr, with the usage, and exits 2; a missing or broken config names
 * where to look; global options may stand before the command. */
START_TEST(cli_answers_help_version_and_mistakes_as_tools_do)
{
	int rc;
	char *out = cli(&rc, false, "--help");
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strstr(out, "usage: tessera") && strstr(out, "tenant create"), "%s", out);
	free(out);
	out = cli(&rc, false, "tenant --help");
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strstr(out, "tenant list") && !strstr(out, "jobs show"), "%s", out);
	free(out);
	out = cli(&rc, false, "help routes");
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(strstr(out, "routes [--json]") != NULL, "%s", out);
	free(out);
	out = cli(&rc, false, "--version");
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(!strncmp(out, "tessera ", 8), "%s", out);
	free(out);
	out = cli(&rc, true, "frobnicate");
	ck_assert_int_eq(rc, 2);
	ck_assert_msg(!strncmp(out, "tessera: unknown command \"frobnicate\"", 36) && strstr(out, "usage:"),
		      "%s", out);
	free(out);
	out = cli(&rc, true, "");
	ck_assert_int_eq(rc, 2);
	free(out);
	out = cli(&rc, true, "migrate");
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "TESSERA_CONFIG") && strstr(out, "var/tessera.conf"), "%s", out);
	free(out);
	char path[] = "/tmp/tessera-cli-XXXXXX";
	int fd = mkstemp(path);
	ck_assert(fd >= 0);
	ck_assert(write(fd, "# comment\nworkers = many\n", 26) == 26);
	close(fd);
	out = cli(&rc, true, strf("--config %s migrate", path));
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, path) && strstr(out, "line 2") && strstr(out, "workers"), "%s", out);
	free(out);
	unlink(path);
	/* --config before the command works as after it */
	out = cli(&rc, false, strf("--config %s tenant list --json", conf_path()));
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(out[0] == '[', "%s", out);
	free(out);
}
END_TEST

/* Processes whose command line names dir, other than this test's shell. */
static int procs_naming(const char *dir)
{
	int rc;
	char *out = run_cmd(&rc, "pgrep -f -- '%s/' | grep -vx \"$$\" | wc -l", dir);
	int n = atoi(out);
	free(out);
	return n;
}

/* `make run`'s script, stopped by a signal to its process group (as a
 * terminal's Ctrl-C, a supervisor's SIGTERM or a closed terminal's SIGHUP
 * do), leaves nothing of the stack running. */
START_TEST(run_script_stops_the_whole_stack_on_every_signal)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	char dir[] = "/tmp/tessera-run-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	rmdir(dir);  /* tools/stack makes it, private */
	int port;
	{
		int rc;
		char *out = run_cmd(&rc, "python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); "
				    "print(s.getsockname()[1])'");
		port = atoi(out);
		free(out);
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		char *log = strf("%s.log", dir);
		pid_t pid = fork();
		ck_assert(pid >= 0);
		if (pid == 0) {
			setsid();
			/* A shell cannot trap a signal ignored when it started (POSIX);
			 * a test run in the background of a shell without job control
			 * inherits SIGINT and SIGQUIT ignored. A terminal's script has
			 * them at their defaults. */
			for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
				signal(sigs[k], SIG_DFL);
			char *cmd = strf("cd %s && PORT=%d TESSERA_RUN_DIR=%s BIN=%s/build/tessera exec tools/run "
					 "--workers 1 >%s 2>&1", env_or("TESSERA_TEST_REPO", "."), port, dir,
					 env_or("TESSERA_TEST_REPO", "."), log);
			execl("/bin/bash", "bash", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		bool ready = false;
		for (int t = 0; t < 1200 && !ready; t++) {
			int rc;
			char *out = run_cmd(&rc, "grep -c 'Press Ctrl-C' %s 2>/dev/null", log);
			ready = atoi(out) > 0;
			free(out);
			if (!ready)
				usleep(100000);
		}
		ck_assert_msg(ready, "tools/run did not come up (see %s)", log);
		ck_assert_int_gt(procs_naming(dir), 3);
		ck_assert_int_eq(kill(-pid, sigs[i]), 0);
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		int left = 0;
		for (int t = 0; t < 100 && (left = procs_naming(dir)) > 0; t++)
			usleep(100000);
		ck_assert_msg(left == 0, "signal %d left %d processes of the stack running", sigs[i], left);
		unlink(log);
		free(log);
	}
	int rc;
	free(run_cmd(&rc, "rm -rf %s", dir));
}
END_TEST

Suite *suite_spawn(void)
{
	Suite *s = suite_create("spawn");
	TCase *tc = tcase_new_slow(s, "fd0");
	tcase_add_test(tc, serve_accepts_a_listening_socket_inherited_on_fd_0);
	tcase_add_test(tc, cli_answers_help_version_and_mistakes_as_tools_do);
	tcase_add_test(tc, run_script_stops_the_whole_stack_on_every_signal);
	return s;
}
