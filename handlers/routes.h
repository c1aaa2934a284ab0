/*
 * routes.h - the route table (every endpoint of the reference, one row each)
 * and the router that matches a method and path against it.
 *
 * The table is data: method, pattern, group, auth mode, scope, flags,
 * handler, request schema and summary.  A row with a NULL handler is a
 * known endpoint that is not built yet and answers 501.  The same rows
 * produce `tessera routes` and the OpenAPI document.
 */
#ifndef TESSERA_ROUTES_H
#define TESSERA_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/errors.h"
#include "../common/schema.h"
#include "../fcgi/request.h"

typedef err_t (*handler_fn)(req_t *r);

enum auth_mode { AUTH_NONE, AUTH_BEARER };

/* Route flags. */
enum {
	R_USER = 1 << 0,      /* end-user JWTs may call it (handler applies roles/policies) */
	R_NO_TENANT = 1 << 1, /* public route that needs no tenant */
	R_QUERY_TOKEN = 1 << 2, /* token may come as ?token= (browsers' WebSocket and EventSource send no headers) */
};

typedef struct route {
	const char *method;
	const char *path;
	const char *group;
	enum auth_mode auth;
	const char *scope;          /* read write schema files auth ai * or "" (any) */
	unsigned flags;
	handler_fn handler;
	const field_t *body;        /* request schema, NULL = no body expected */
	const char *summary;
} route_t;

extern const route_t routes[];
extern const size_t routes_count;

enum route_match { MATCH_OK, MATCH_NO_PATH, MATCH_NO_METHOD };

/* Builds the segment trie from the table.  Returns 0, or -1 on a duplicate
 * (method, pattern) or a malformed pattern (message on stderr). */
int router_init(void);
void router_free(void);
/*
 * Matches method and raw path.  On MATCH_OK fills r->route and the decoded
 * path parameters (allocated in r->a).  On MATCH_NO_METHOD, *allow (if not
 * NULL) receives the methods the path accepts, comma-separated.
 */
enum route_match router_match(req_t *r, const char *method, const char *path,
			      const char **allow);

/* Parses a scope name ("read", "*", …) to its bit; 0 if unknown. */
unsigned scope_bit(const char *name);
/* Scope bits required by a route ("" requires none). */
unsigned route_scope_bits(const route_t *rt);

#endif
