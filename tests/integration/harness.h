/*
 * harness.h - what every integration test uses to talk to the real stack
 * that tools/test-run started (nginx → FastCGI → MariaDB and Redis).
 *
 * Environment (set by tools/test-run):
 *   TESSERA_TEST_URL     http://127.0.0.1:PORT
 *   TESSERA_TEST_TLS_URL https://127.0.0.1:TLSPORT (self-signed)
 *   TESSERA_TEST_DIR     the stack directory (tessera.conf, run/, log/)
 *   TESSERA_TEST_BIN     the tessera binary the stack runs
 *   TESSERA_TEST_REPO    the repository root (for tools/stack)
 */
#ifndef TESSERA_TEST_HARNESS_H
#define TESSERA_TEST_HARNESS_H

#include <stddef.h>

#include <check.h>
#include <cJSON.h>

typedef struct http_resp {
	long status;
	char *headers;     /* raw header block, lower-cased names kept as sent */
	char *body;
	size_t body_len;
	cJSON *json;       /* parsed body or NULL */
} http_resp;

/* One request.  token may be NULL (no Authorization); body may be NULL.
 * content_type NULL means "application/json" when a body is given.
 * extra_headers: NULL-terminated array of "Name: value" strings or NULL. */
http_resp *http_req(const char *method, const char *path, const char *token,
		    const char *content_type, const char *body, size_t body_len,
		    const char *const *extra_headers);
/* Shorthands: JSON body given as a string (may be NULL). */
http_resp *http_get(const char *path, const char *token);
http_resp *http_json(const char *method, const char *path, const char *token, const char *json);
/* Sends the requests that follow from local address ip (a 127.x.y.z
 * address, so per-client-address limits see a new client); NULL restores
 * the default.  Lasts until changed (Check forks each test, so a test's
 * choice does not leak into the next). */
void http_source_addr(const char *ip);
/* A random loopback address other than 127.0.0.1 (malloc'd). */
char *loopback_addr_random(void);
/* Against an arbitrary base URL (TLS check); verify=0 accepts self-signed. */
http_resp *http_req_url(const char *url, int verify);
void http_free(http_resp *r);

/* Value of a response header (case-insensitive), malloc'd, or NULL. */
char *resp_header(const http_resp *r, const char *name);
/* JSON helpers on the envelope. */
const cJSON *resp_data(const http_resp *r);
const char *resp_error_code(const http_resp *r);
const char *json_str(const cJSON *obj, const char *name);
/* Asserts the envelope: success flag, request_id present and equal to the
 * X-Request-Id header, status as expected; for errors, the code. */
void assert_envelope(const http_resp *r, long status, const char *error_code);

/* Runs a shell command; returns its stdout (malloc'd) and sets *rc. */
char *run_cmd(int *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `tessera tenant create`: returns 0 and fills tenant_id/api_key (malloc'd). */
int tenant_new(const char *plan, char **tenant_id, char **api_key);
/* The same with the tenant's owner email (NULL for none). */
int tenant_new_email(const char *plan, const char *email, char **tenant_id, char **api_key);
/* `tessera tenant suspend|resume ID` (action "suspend" or "resume"); 0 on success. */
int tenant_set_status(const char *tenant_id, const char *action);
/* Creates an API key with the given JSON body using admin_key; returns the
 * token (malloc'd) and sets *key_id (malloc'd) if not NULL. */
char *key_new(const char *admin_key, const char *json_body, char **key_id);
/* `tessera token mint`: returns the JWT (malloc'd); *session_id if not NULL. */
char *jwt_mint(const char *tenant_id, const char *user, const char *role, int ttl,
	       char **session_id);

const char *env_or(const char *name, const char *def);
/* Adds a TCase with a generous timeout to s. */
TCase *tcase_new_slow(Suite *s, const char *name);

/* Each test file provides one suite. */
Suite *suite_router(void);
Suite *suite_public(void);
Suite *suite_keys(void);
Suite *suite_auth(void);
Suite *suite_resilience(void);
Suite *suite_jobs(void);

#endif
