/*
 * peers.h - the real third parties the integration tests talk to, all on
 * loopback and started from the tests: child processes that die with the
 * test, a jobs runner of the test's own, an SMTP server (aiosmtpd), the
 * webhook receiver (webhook_receiver.py, which verifies Standard Webhooks
 * signatures itself) and the realtime clients (ws_client.py).
 */
#ifndef TESSERA_TEST_PEERS_H
#define TESSERA_TEST_PEERS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "harness.h"

void sleep_ms(long ms);

/* --- processes ------------------------------------------------------------ */

/* A free TCP port on 127.0.0.1, and whether something listens on one. */
int free_port(void);
bool port_open(int port);
/* Runs argv (with env "K=V" entries set) as a child that dies with the
 * test; its output is appended to log. */
pid_t proc_spawn(const char *const *env, const char *const *argv, const char *log);
/* SIGTERM, then SIGKILL after 10 s; reaps it. */
void proc_stop(pid_t pid);

/* Enqueues a job of kind with `tessera jobs enqueue` and waits (30 s at
 * most) until the stack's runner has done it. */
void job_run(const char *kind);

/*
 * A stack of a suite's own: tools/stack up --dir dir on a free port with
 * two workers, quick retries, the test binary, the lines conf_extra
 * appended to its tessera.conf (NULL: none) and more_args for tools/stack
 * (NULL: none).  While it is up, TESSERA_TEST_URL and TESSERA_TEST_DIR
 * name it, so the harness's helpers talk to it; own_stack_down restores
 * them and stops it.
 */
struct own_stack {
	char *dir, *url;
	int port;
	char *saved_url, *saved_dir;
};
void own_stack_up(struct own_stack *st, const char *dir, const char *conf_extra,
		  const char *more_args);
void own_stack_down(struct own_stack *st);

/*
 * Swaps the stack's jobs runner for one of the test's own: the stack's is
 * paused (SIGSTOP) while the test's, started with extra environment (e.g.
 * TESSERA_SMTP_URL), works the queue; a watchdog process resumes the
 * stack's runner when the test process ends, however it ends.
 */
struct runner_swap {
	int stack_runner;
	pid_t runner;
	char *log;        /* the test runner's output (malloc'd) */
};
void jobs_runner_swap(struct runner_swap *sw, const char *const *extra_env);
/* Stops the test's runner and resumes the stack's. */
void jobs_runner_restore(struct runner_swap *sw);

/* --- SMTP ------------------------------------------------------------------ */

/* aiosmtpd on a free loopback port, delivering into a Maildir. */
struct smtp_sink {
	pid_t pid;
	int port;
	char *box;        /* the Maildir */
	char *newdir;     /* box/new: one file per message */
	char *env;        /* "TESSERA_SMTP_URL=smtp://127.0.0.1:PORT" for a runner */
	char *log;
};
void smtp_sink_start(struct smtp_sink *s);
void smtp_sink_stop(struct smtp_sink *s);

/* The file in dir whose content contains needle (malloc'd path), waiting
 * up to timeout_ms; NULL if none appeared. */
char *file_with(const char *dir, const char *needle, long timeout_ms);
/* The message at path as Python's email package reads it (mailparse.py):
 * subject, from, to, text, html, ... */
cJSON *mail_parse(const char *path);

/* The id of key's object type named type (malloc'd), asserting it exists. */
char *type_id_of(const char *key, const char *type);

/* --- the webhook receiver ---------------------------------------------------- */

struct receiver {
	pid_t pid;
	int port;
};
/* Starts webhook_receiver.py on a free loopback port; it dies with the test. */
void recv_start(struct receiver *rv);
/* Starts tests/integration/<name>.py the same way: a loopback server that
 * writes its port to --port-file and answers the receiver's control
 * protocol (PUT and GET /control/<box>), so recv_plan and recv_got serve
 * it too (ai_provider.py). */
void peer_start(struct receiver *rv, const char *name);
void recv_stop(struct receiver *rv);
/* The delivery URL of one box of the receiver (malloc'd). */
char *hook_url(const struct receiver *rv, const char *box);
/* Tells the receiver box which secrets to verify and how to answer. */
void recv_plan(const struct receiver *rv, const char *box, const char *json);
/* What box received so far (a cJSON object holding "received"). */
cJSON *recv_got(const struct receiver *rv, const char *box);
int recv_count(const struct receiver *rv, const char *box);
/* Waits until box has at least n deliveries; returns them (caller frees). */
cJSON *recv_wait(const struct receiver *rv, const char *box, int n, double timeout_s);
/* Delivery i of a recv_got/recv_wait answer, one of its headers, and
 * whether the receiver verified its signature with secret. */
const cJSON *received(const cJSON *got, int i);
const char *hdr(const cJSON *delivery, const char *name);
bool verified_with(const cJSON *delivery, const char *secret);

/* Creates a webhook (POST /v1/webhooks {url, events, extra members}),
 * asserting 201; returns its id and *secret (both malloc'd). */
char *hook_make(const char *key, const char *url, const char *events, const char *extra,
		char **secret);
/* Registers secret for box and the statuses (JSON array text, NULL: [200])
 * it answers with. */
void box_setup(const struct receiver *rv, const char *box, const char *secret,
	       const char *statuses);

/* Waits until every outbox event of the tenant is fanned out. */
void outbox_drained(const char *tenant);

/* --- realtime clients ---------------------------------------------------------- */

/* Starts ws_client.py (mode ws or sse) on path (relative to the stack's
 * URL, ws:// for ws) with extra options; the caller reads its lines. */
FILE *client_start(const char *mode, const char *path, int count, int timeout, const char *extra);
/* The client's next line (malloc'd, no newline), or NULL at its end. */
char *client_line(FILE *f);
/* Asserts the next line is want ("OPEN", "STATUS 401", …). */
void client_expect(FILE *f, const char *want);
/* The next message as JSON (for sse: the event's data, with the SSE id and
 * event name copied in as "_sse_id" and "_sse_event"). */
cJSON *client_message(FILE *f, const char *mode);
/* Reads the client to its end and reaps it. */
void client_end(FILE *f);

#endif
