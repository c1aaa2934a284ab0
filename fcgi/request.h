/*
 * request.h - one HTTP request as a handler sees it, and the reply helpers.
 *
 * The pipeline (pipeline.c) fills a req_t before the handler runs: route and
 * path parameters, authenticated principal and tenant, parsed and validated
 * JSON body.  A handler answers with reply_data() and returns E_OK, or
 * returns an error (through req_fail() when it has something to say); the
 * pipeline renders every error envelope in one place.
 */
#ifndef TESSERA_REQUEST_H
#define TESSERA_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>
#include <fcgiapp.h>

#include "../common/arena.h"
#include "../common/cache.h"
#include "../common/db.h"
#include "../common/errors.h"

struct route;

/* Scope bits; SCOPE_ALL is the `*` scope. */
enum {
	SCOPE_READ = 1 << 0,
	SCOPE_WRITE = 1 << 1,
	SCOPE_SCHEMA = 1 << 2,
	SCOPE_FILES = 1 << 3,
	SCOPE_AUTH = 1 << 4,
	SCOPE_AI = 1 << 5,
	SCOPE_ALL = 1 << 6,
};

enum principal_kind { PRINCIPAL_NONE, PRINCIPAL_KEY, PRINCIPAL_USER };

typedef struct tenant {
	char *id;
	char *name;
	char *plan;
	char *status;
	char *db_name;
	char *db_server;           /* its data server (db_servers); NULL: the primary */
	long long read_only_ms;    /* until when (this host's epoch ms) writes wait (tenant move); 0: none */
	long long rate_limit;      /* plan requests per minute */
	long long used_storage;
	char *schema_gen;          /* schema generation read with the rate limit */
	char *identity_gen;        /* identity generation (governance, roles), likewise */
} tenant_t;

typedef struct principal {
	enum principal_kind kind;
	char *key_id;
	char *user_id;
	char *role;
	char *session_id;
	char *email;               /* end user's email claim, if any */
	const cJSON *claims;       /* end user's verified token claims */
	unsigned scopes;
	bool admin;                /* an end user whose roles grant `admin`: set by the
				    * identity gate (gate.h) with scopes = SCOPE_ALL */
} principal_t;

#define REQ_MAX_PARAMS 8

typedef struct req {
	FCGX_Request *fcgi;        /* NULL in unit tests */
	arena_t *a;
	db_t *db;
	cache_t *cache;

	const char *method;
	const char *path;          /* raw path, no query */
	const char *query;         /* raw query string, may be "" */
	const char *remote_addr;
	char request_id[64];
	long long start_us;

	const struct route *route;
	int nparams;
	const char *param_names[REQ_MAX_PARAMS];
	char *param_values[REQ_MAX_PARAMS];

	char *body;
	size_t body_len;
	cJSON *json;               /* parsed body (object) or NULL */

	principal_t who;
	tenant_t tenant;           /* valid when who.kind != NONE */

	/* response */
	int status;
	bool replied;
	char *out_headers;         /* extra "Name: value\r\n" lines */
	char *out_body;
	size_t out_len;
	const char *content_type;

	/* error detail set by req_fail() */
	const char *err_message;
	cJSON *err_details;
	cJSON *err_extra;          /* members merged into "error" (e.g. dependencies) */

	bool outbox_pending;       /* the open transaction wrote outbox events */
	int chain_depth;           /* events it writes carry this depth: 0 for a client's
				    * change, n + 1 for an automation's action run on an
				    * event of depth n (loop protection) */
	bool streamed;             /* the reply went out piece by piece (reply_stream_start) */
} req_t;

/*
 * Whether the caller is held to what end users may do: row-level policies,
 * their own files, sessions and notifications.  False for API keys and for
 * end users whose roles grant `admin`, who reach what a `*` key reaches
 * while the request stays theirs (audit actor, owner, rate limit).
 */
bool req_end_user(const req_t *r);

/* Path parameter by name (decoded), or NULL. */
const char *req_param(const req_t *r, const char *name);
/* 400 naming the first query parameter whose name or value is not valid
 * percent-encoded UTF-8 or decodes to a NUL; the pipeline asks before
 * any handler, so handlers see only parameters that decode. */
err_t req_query_check(req_t *r);
/* Decoded query parameter (first occurrence), or NULL. */
const char *req_query(req_t *r, const char *name);
/*
 * Integer query parameter within [min, max]; absent gives def.  On a bad
 * value records a VALIDATION_ERROR naming the parameter and returns it.
 */
err_t req_query_int(req_t *r, const char *name, long long def, long long min,
		    long long max, long long *out);
/* Boolean query parameter: "true" or "false"; absent gives def.  Any
 * other value records a VALIDATION_ERROR naming it and returns it. */
err_t req_query_bool(req_t *r, const char *name, bool def, bool *out);
/* Request header by its CGI name, e.g. "HTTP_X_TENANT_ID". */
const char *req_env(const req_t *r, const char *name);

/* Adds a response header line. */
void reply_header(req_t *r, const char *name, const char *value);
/* Answers with the success envelope; data is owned by the request. */
void reply_data(req_t *r, int status, cJSON *data);
/* Answers with a raw body of the given type (no envelope). */
void reply_raw(req_t *r, int status, const char *type, const char *body, size_t len);
/*
 * A reply sent as it is made (Server-Sent Events): reply_stream_start
 * writes the status line and headers now, with X-Accel-Buffering: no so
 * that nginx passes each piece on as it comes, and the pipeline writes
 * nothing after the handler; reply_stream_write sends len bytes at once.
 * It returns false once the client has gone.
 */
void reply_stream_start(req_t *r, int status, const char *type);
bool reply_stream_write(req_t *r, const char *data, size_t len);
/* Renders the error envelope for e (using any req_fail detail). */
void reply_error(req_t *r, err_t e);

/* Records a message (printf) for error e and returns e. */
err_t req_fail(req_t *r, err_t e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Same, naming the offending field in error.details.field. */
err_t req_fail_field(req_t *r, err_t e, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Maps a database failure to the API error (503, 409 or 500). */
err_t req_db_error(req_t *r, enum db_status st);
/* Points r->db at the tenant's data server (README "Scaling"); a server
 * missing from db_servers is a 503. */
err_t req_tenant_db(req_t *r);

/* Ends the open transaction: commits when rc is E_OK (a failed commit
 * becomes the error), rolls back and returns rc otherwise.  A commit that
 * carried outbox events wakes the jobs runner's fan-out. */
err_t req_tx_end(req_t *r, err_t rc);

/* j as compact JSON text in the arena; NULL for NULL or a JSON null (so it
 * binds as SQL NULL). */
char *req_json_text(req_t *r, const cJSON *j);

/* An opaque keyset cursor for list pages: base64url of the JSON object c
 * (whatever the list needs to resume: last id, sort key, value). */
char *req_cursor_make(req_t *r, const cJSON *c);

/* The JSON object in a cursor of req_cursor_make (owned by the request),
 * or NULL when it is malformed or longer than max characters. */
cJSON *req_cursor_read(req_t *r, const char *cursor, size_t max);

/* A request of the jobs runner's own, without a client (for handler code
 * a job reuses): arena, database and cache set, an API key principal
 * without scopes, request_id name; the caller fills the tenant. */
void req_job_init(req_t *r, arena_t *a, db_t *db, cache_t *cache, const char *name);

/* Ties a cJSON tree's lifetime to the request arena. */
cJSON *req_own(req_t *r, cJSON *j);

/* `tenantdb`.`name` for one of the tenant's tables (name must be a
 * server-made identifier). */
const char *tenant_table(req_t *r, const char *name);

/* Percent-decodes s (and '+' to space when form is true) into the arena.
 * Returns NULL if s has a malformed escape or decodes to a NUL byte or to
 * bytes that are not UTF-8. */
char *url_decode(arena_t *a, const char *s, size_t len, bool form);

#endif
