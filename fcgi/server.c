/*
 * server.c - prefork process model.
 *
 * The master binds the FastCGI socket (or inherits a listening socket on fd
 * 0, as spawn-fcgi and hosting panels hand it over), forks N workers and
 * supervises them: a worker that dies is replaced; SIGHUP re-reads the
 * configuration and replaces every worker gracefully (new ones start before
 * old ones are told to finish); SIGTERM drains (workers finish the request
 * they hold) and exits.
 *
 * Workers keep SIGTERM blocked while they hold a request and take it only
 * while they wait in epoll_pwait() on the listening socket, so a worker told to
 * finish never has a read, write or close interrupted half-way (libfcgi
 * takes EINTR for a broken connection, and its close drains the socket in
 * select(), which no SA_RESTART resumes).  They accept with a non-blocking
 * socket, so a signal can never be lost between a check and an accept.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>
#include <mysql.h>

#include "../common/arena.h"
#include "../common/cache.h"
#include "../common/config.h"
#include "../common/db.h"
#include "../common/log.h"
#include "../common/sig.h"
#include "jobs.h"
#include "router.h"
#include "pipeline.h"

long long g_started_ms;

#define MAX_WORKERS 256
#define DRAIN_SECONDS 15

static volatile sig_atomic_t got_term, got_hup, got_chld;
static int wake_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	if (wake_pipe[1] >= 0) {
		ssize_t w = write(wake_pipe[1], "x", 1);
		(void)w;
	}
	errno = saved;
}

/* The signals the master handles; blocked across fork() so that a child
 * cannot take one with the master's handler before it has its own. */
static void block_signals(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void close_pipe(void)
{
	if (wake_pipe[0] >= 0) {
		close(wake_pipe[0]);
		close(wake_pipe[1]);
	}
	wake_pipe[0] = wake_pipe[1] = -1;
}

static int make_pipe(void)
{
	if (wake_pipe[0] >= 0) {
		close(wake_pipe[0]);
		close(wake_pipe[1]);
	}
	if (pipe(wake_pipe) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		fcntl(wake_pipe[i], F_SETFL, fcntl(wake_pipe[i], F_GETFL) | O_NONBLOCK);
		fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
	}
	return 0;
}

static void drain_pipe(void)
{
	char buf[64];
	while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
}

/* --- worker ------------------------------------------------------------ */

/* Reads what is left of the request's FCGI_STDIN up to its end.  A
 * responder that answers early (an error before the body was read, a
 * route that takes no body) must still take the whole stream: closing
 * while nginx is writing it makes nginx log EPIPE and answer 502 although
 * the response was sent.  nginx caps bodies (client_max_body_size), and
 * DRAIN_MAX bounds what a misconfigured front end could make us read;
 * beyond it libfcgi's lingering close takes over. */
#define DRAIN_MAX (64L << 20)

static void stdin_drain(FCGX_Request *req)
{
	char buf[16384];
	long total = 0;
	while (total < DRAIN_MAX) {
		int n = FCGX_GetStr(buf, (int)sizeof(buf), req->in);
		if (n <= 0)
			break;
		total += n;
	}
}

/* Runs in a fresh child with the master's signals blocked; mask is the
 * master's own mask.  SIGTERM stays blocked except inside epoll_pwait(), so one
 * that arrived since fork() or during a request is taken at the next wait,
 * never lost and never in the middle of a request. */
static void worker_main(int listen_fd, const sigset_t *mask)
{
	sig_handle(SIGTERM, on_signal);
	sig_handle(SIGINT, SIG_IGN);
	sig_handle(SIGHUP, SIG_IGN);
	sig_handle(SIGCHLD, SIG_DFL);
	sig_handle(SIGPIPE, SIG_IGN);
	got_term = got_hup = got_chld = 0;
	close_pipe(); /* the master's; a worker is woken by EINTR instead */
	sigset_t working = *mask, waiting = *mask;
	sigaddset(&working, SIGTERM);
	sigdelset(&waiting, SIGTERM);
	sigprocmask(SIG_SETMASK, &working, NULL);

	FCGX_Request req;
	FCGX_Init();
	FCGX_InitRequest(&req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
	db_t *db = db_new(&g_config);
	cache_t *cache = cache_new(&g_config);
	arena_t *a = arena_new(64 * 1024);
	pid_t parent = getppid();
	/* Told to finish if the master dies; the check on idle ticks below
	 * covers a master that died before this line. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	log_set_pid();
	/* EPOLLEXCLUSIVE wakes one waiting worker per connection instead of
	 * all of them (poll() would), which matters with more workers than
	 * cores. */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = listen_fd };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev) != 0) {
		log_error("serve: epoll: %s", strerror(errno));
		_exit(1);
	}

	while (!got_term) {
		struct epoll_event got;
		int n = epoll_pwait(ep, &got, 1, 1000, &waiting);
		if (n < 0 && errno != EINTR)
			break;
		if (got_term)
			break;
		if (n == 0 && getppid() != parent)
			break; /* the master is gone: do not linger as an orphan */
		if (n <= 0 || !(got.events & EPOLLIN))
			continue;
		if (FCGX_Accept_r(&req) < 0)
			continue; /* another worker took it (EAGAIN) */
		pipeline_handle(&req, db, cache, a);
		stdin_drain(&req);
		/* With nothing left unread on the connection, a plain close is
		 * safe and saves libfcgi's shutdown-poll-read lingering close. */
		int unread = 0;
		if (ioctl(req.ipcFd, FIONREAD, &unread) == 0 && unread == 0)
			req.detached = 1;
		FCGX_Finish_r(&req);
		arena_reset(a);
	}
	close(ep);
	FCGX_Free(&req, 1);
	arena_free(a);
	db_free(db);
	cache_free(cache);
	mysql_library_end();
	router_free();
	config_release(&g_config);
	exit(0);
}

/* --- master ------------------------------------------------------------ */

struct worker {
	pid_t pid;
	int generation;
	time_t started;
};

static struct worker workers[MAX_WORKERS * 2];
static int generation;

/* The supervised job runner (jobs = on). */
#define RUNNER_BACKOFF_MIN_MS 1000
#define RUNNER_BACKOFF_MAX_MS 30000
#define RUNNER_STABLE_S 60

static struct {
	pid_t pid;
	time_t started;
	long long restart_ms;
	long backoff_ms;
} runner;

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void runner_spawn(int listen_fd)
{
	sigset_t old;
	block_signals(&old);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		sig_handle(SIGCHLD, SIG_DFL);
		sig_handle(SIGPIPE, SIG_IGN);
		close_pipe();
		/* The runner never accepts: it keeps no handle on the listener
		 * (on fd 0 when inherited, which then becomes /dev/null). */
		int null_fd = listen_fd == 0 ? open("/dev/null", O_RDONLY) : -1;
		if (null_fd > 0) {
			dup2(null_fd, 0);
			close(null_fd);
		} else if (listen_fd != 0) {
			close(listen_fd);
		}
		sigprocmask(SIG_SETMASK, &old, NULL);
		log_set_pid();
		_exit(jobs_run());
	}
	int saved = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_error("serve: cannot start the job runner: %s", strerror(saved));
		runner.restart_ms = mono_ms() + RUNNER_BACKOFF_MAX_MS;
		return;
	}
	runner.pid = pid;
	runner.started = time(NULL);
	log_info("serve: job runner started (pid %d)", (int)pid);
}

/* The runner ended: restart it after a backoff that grows while it keeps
 * ending young (immediately when it was asked to, on a reload). */
static void runner_ended(int status, bool asked)
{
	runner.pid = 0;
	if (asked) {
		runner.restart_ms = 0;
		return;
	}
	if (time(NULL) - runner.started > RUNNER_STABLE_S)
		runner.backoff_ms = 0;
	runner.backoff_ms = runner.backoff_ms ? runner.backoff_ms * 2 : RUNNER_BACKOFF_MIN_MS;
	if (runner.backoff_ms > RUNNER_BACKOFF_MAX_MS)
		runner.backoff_ms = RUNNER_BACKOFF_MAX_MS;
	runner.restart_ms = mono_ms() + runner.backoff_ms;
	log_warn("serve: job runner %s %d; restarting it in %ld ms",
		 WIFSIGNALED(status) ? "killed by signal" : "exited with",
		 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), runner.backoff_ms);
}

static bool runner_reload;   /* the runner was told to stop for a reload */

/* listen = tcp:HOST:PORT (HOST an address or name, [v6] in brackets):
 * FastCGI over TCP, for pools on other hosts than nginx.  Only nginx
 * should reach it: bind a private address and firewall the port. */
static int bind_tcp(const char *spec)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	size_t hl = colon ? (size_t)(colon - spec) : 0;
	if (hl && spec[0] == '[' && spec[hl - 1] == ']') {
		spec++;
		hl -= 2;
	}
	if (!colon || !hl || hl >= sizeof(host) || !colon[1]) {
		fprintf(stderr, "config: listen tcp: wants tcp:HOST:PORT, not tcp:%s\n", spec);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *ai;
	int rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc) {
		fprintf(stderr, "config: listen tcp:%s: %s\n", spec, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM, 0), one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
		fprintf(stderr, "serve: cannot listen on tcp:%s: %s\n", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

static int bind_listener(const char *path)
{
	if (strcmp(path, "fd:0") == 0)
		return 0;
	int accepting = 0;
	socklen_t sl = sizeof(accepting);
	if (!*path) {
		if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &sl) == 0 && accepting)
			return 0;
		fprintf(stderr, "config: listen is required (a socket path, tcp:HOST:PORT or fd:0)\n");
		return -1;
	}
	if (!strncmp(path, "tcp:", 4))
		return bind_tcp(path + 4);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "config: listen path is too long: %s\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0) {
		fprintf(stderr, "serve: cannot listen on %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	chmod(path, 0666);
	return fd;
}

static int spawn(int listen_fd)
{
	for (int i = 0; i < MAX_WORKERS * 2; i++) {
		if (workers[i].pid)
			continue;
		sigset_t old;
		block_signals(&old);
		pid_t pid = fork();
		if (pid == 0)
			worker_main(listen_fd, &old);
		int saved = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (pid < 0) {
			log_error("serve: fork: %s", strerror(saved));
			return -1;
		}
		workers[i].pid = pid;
		workers[i].generation = generation;
		workers[i].started = time(NULL);
		return 0;
	}
	return -1;
}

static int count_gen(int gen)
{
	int n = 0;
	for (int i = 0; i < MAX_WORKERS * 2; i++)
		if (workers[i].pid && workers[i].generation == gen)
			n++;
	return n;
}

static int count_all(void)
{
	int n = 0;
	for (int i = 0; i < MAX_WORKERS * 2; i++)
		n += workers[i].pid != 0;
	return n;
}

static void signal_old(int sig, int keep_gen)
{
	for (int i = 0; i < MAX_WORKERS * 2; i++)
		if (workers[i].pid && workers[i].generation != keep_gen)
			kill(workers[i].pid, sig);
}

/* Reaps dead children; returns how many of the current generation died
 * young (to slow a crash loop). */
static int reap(void)
{
	int young = 0;
	pid_t pid;
	int status;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == runner.pid) {
			if (got_term)
				runner.pid = 0;
			else
				runner_ended(status, runner_reload);
			runner_reload = false;
			continue;
		}
		for (int i = 0; i < MAX_WORKERS * 2; i++) {
			if (workers[i].pid != pid)
				continue;
			if (workers[i].generation == generation && !got_term) {
				if (WIFSIGNALED(status))
					log_warn("serve: worker %d killed by signal %d; respawning",
						 (int)pid, WTERMSIG(status));
				else
					log_warn("serve: worker %d exited with %d; respawning",
						 (int)pid, WEXITSTATUS(status));
				if (time(NULL) - workers[i].started < 1)
					young++;
			}
			workers[i].pid = 0;
		}
	}
	return young;
}

static void reload(const char *config_path, int listen_fd)
{
	config_t fresh;
	char err[512];
	if (config_load(&fresh, config_path, err, sizeof(err)) != 0) {
		log_error("serve: reload refused, keeping the running configuration: %s", err);
		return;
	}
	if (strcmp(fresh.listen, g_config.listen) != 0)
		log_warn("serve: a changed listen setting needs a restart; keeping %s", g_config.listen);
	free(fresh.listen);
	fresh.listen = strdup(g_config.listen);
	config_release(&g_config);
	g_config = fresh;
	log_open(g_config.log_file, (enum log_level)log_level_parse(g_config.log_level));
	generation++;
	for (int i = 0; i < g_config.workers; i++)
		spawn(listen_fd);
	signal_old(SIGTERM, generation);
	if (runner.pid) {
		runner_reload = true;   /* it starts again with the new settings */
		kill(runner.pid, SIGTERM);
	}
	log_info("serve: reloaded; %d workers", g_config.workers);
}

static void write_pid(const char *path)
{
	if (!path || !*path)
		return;
	FILE *f = fopen(path, "w");
	if (!f) {
		log_warn("serve: cannot write %s: %s", path, strerror(errno));
		return;
	}
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
}

int server_run(const char *config_path)
{
	int listen_fd = bind_listener(g_config.listen);
	if (listen_fd < 0)
		return 1;
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	if (make_pipe() != 0)
		return 1;
	sig_handle(SIGTERM, on_signal);
	sig_handle(SIGINT, on_signal);
	sig_handle(SIGHUP, on_signal);
	sig_handle(SIGCHLD, on_signal);
	sig_handle(SIGPIPE, SIG_IGN);
	write_pid(g_config.pid_file);
	log_info("serve: listening on %s with %d workers%s",
		 listen_fd == 0 ? "fd 0" : g_config.listen, g_config.workers,
		 g_config.jobs ? " and the job runner" : "");

	for (int i = 0; i < g_config.workers; i++)
		spawn(listen_fd);
	if (g_config.jobs)
		runner_spawn(listen_fd);

	while (!got_term) {
		struct pollfd pfd = { .fd = wake_pipe[0], .events = POLLIN };
		poll(&pfd, 1, 1000);
		drain_pipe();
		if (got_chld) {
			got_chld = 0;
			if (reap() > 0)
				sleep(1);
		}
		if (got_hup) {
			got_hup = 0;
			reload(config_path, listen_fd);
		}
		while (!got_term && count_gen(generation) < g_config.workers)
			if (spawn(listen_fd) != 0)
				break;
		if (!got_term && g_config.jobs && !runner.pid && mono_ms() >= runner.restart_ms)
			runner_spawn(listen_fd);
	}

	log_info("serve: draining %d workers%s", count_all(), runner.pid ? " and the job runner" : "");
	signal_old(SIGTERM, -1);
	if (runner.pid)
		kill(runner.pid, SIGTERM);   /* it finishes the jobs in hand */
	time_t deadline = time(NULL) + DRAIN_SECONDS;
	while ((count_all() > 0 || runner.pid) && time(NULL) < deadline) {
		reap();
		usleep(20000);
	}
	if (count_all() > 0 || runner.pid) {
		signal_old(SIGKILL, -1);
		if (runner.pid)
			kill(runner.pid, SIGKILL);
		while ((count_all() > 0 || runner.pid) && waitpid(-1, NULL, 0) > 0)
			reap();
	}
	if (listen_fd != 0 && strncmp(g_config.listen, "tcp:", 4))
		unlink(g_config.listen);
	if (g_config.pid_file && *g_config.pid_file)
		unlink(g_config.pid_file);
	log_info("serve: stopped");
	return 0;
}
