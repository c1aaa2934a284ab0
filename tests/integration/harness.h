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

#include <stdbool.h>
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

/* ---- shared test helpers ---------------------------------------------- */

/* printf into a new string (malloc'd); asserts on failure. */
char *strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One request to a printf-formatted path; body is JSON text or NULL. */
http_resp *call(const char *method, const char *token, const char *body, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The same with extra "Name: value" headers (NULL-terminated array). */
http_resp *call_h(const char *method, const char *token, const char *body,
		  const char *const *headers, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* o[name] (case-sensitive), NULL when o is NULL or has no such member. */
const cJSON *item(const cJSON *o, const char *name);
/* The first element of the array list whose string field equals value, or NULL. */
const cJSON *find_by(const cJSON *list, const char *field, const char *value);
/* error.details.field of an error envelope, or NULL. */
const char *detail_field(const http_resp *r);
/* error.message of an error envelope, or NULL. */
const char *error_message(const http_resp *r);
/* Asserts an error with this status and code whose details.field is field. */
void assert_fail_field(const http_resp *r, long status, const char *code, const char *field);
/* Asserts a 400 VALIDATION_ERROR whose details.field is field. */
void assert_invalid(const http_resp *r, const char *field);
/* Asserts the JSON value o[name] equals the JSON text want. */
void assert_json_eq(const cJSON *o, const char *name, const char *want);
/* Asserts o[name] is "2026-01-02T03:04:05Z", optionally with .fff before the Z. */
void assert_rfc3339(const cJSON *o, const char *name);
/* True if s looks like a UTC timestamp (YYYY-MM-DDThh:mm:ss…Z). */
bool is_utc_time(const char *s);
/* obj.properties[name], or NULL. */
const cJSON *prop_of(const cJSON *obj, const char *name);

/* A tenant made with tessera tenant create: id, admin ("*") key, and the
 * admin key's id (only filled by tenant_make_keyed, else NULL). */
struct tenant {
	char *id;
	char *key;
	char *key_id;
};
/* A new "pro" tenant (id and admin key); asserts it was created. */
void tenant_make(struct tenant *t);
/* A new tenant on plan, also looking up its one (admin) key's id. */
void tenant_make_keyed(struct tenant *t, const char *plan);
/* Frees what tenant_make / tenant_make_keyed filled in. */
void tenant_drop(struct tenant *t);

/* Creates object type name, asserting 201; returns its id (malloc'd). */
char *type_make(const char *key, const char *name);
/* Adds a property (json: its body) to type, asserting 201; returns its id (malloc'd). */
char *prop_new(const char *key, const char *type, const char *json);
/* prop_new without the id. */
void prop_make(const char *key, const char *type, const char *json);
/* POST /v1/objects/type with {"properties": props}; the response. */
http_resp *obj_create(const char *key, const char *type, const char *props);
/* Creates an object with properties props (JSON text, "{}" for none),
 * asserting 201; returns its id (malloc'd). */
char *obj_make(const char *key, const char *type, const char *props);
/* POST /v1/files/upload of len bytes as the multipart part "file"
 * (filename, declared type); the response. */
http_resp *file_upload_bytes(const char *key, const char *filename, const char *type,
			     const void *data, size_t len);
/* Uploads text as a file (POST /v1/files/upload, multipart), asserting
 * 201; returns the file's id (malloc'd). */
char *file_upload_text(const char *key, const char *filename, const char *text);

/* A page of GET /v1/audit-logs (r is freed by the caller). */
struct audit_page {
	http_resp *r;
	const cJSON *logs;
	int total;
};
/* GET /v1/audit-logs + query (NULL or "?…") as admin, asserting 200. */
void audit_get(struct audit_page *p, const char *admin, const char *query);
/* The log entry with this action and resource_id in logs, or NULL. */
const cJSON *audit_find(const cJSON *logs, const char *action, const char *resource_id);

/* The tessera binary, the stack directory and its tessera.conf path. */
const char *bin(void);
const char *stack_dir(void);
const char *conf_path(void);
/* The value of name in tessera.conf (malloc'd), or NULL if absent. */
char *conf_value(const char *name);
/* Runs one statement (no double quotes in it) on the control DB with the
 * mariadb client, asserting success; rows on lines, columns tab-separated,
 * trailing newline removed (malloc'd). */
char *control_sql(const char *sql);
/* control_sql with a printf-formatted statement. */
char *control_sqlf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For a test that writes a feature's rows directly into tenant database
 * db: makes table there from the template if the tenant has not used the
 * feature yet (a new tenant has the core tables only; README "Small
 * tenants"). */
void tenant_table_make(const char *db, const char *table);
/* The outbox events of one resource, oldest first, space-separated (malloc'd). */
char *events_of(const char *resource_id);
/* The number of outbox rows of a tenant. */
long long outbox_count(const char *tenant_id);

/* Monotonic seconds. */
double now_s(void);
/* Sleeps into the next minute if the current one is about to roll over, so
 * a burst of requests lands in one fixed one-minute window. */
void wait_for_fresh_minute(void);

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
