/*
 * router.h - the route row, the route table's shape (every endpoint of the
 * reference, one row each) and the router that matches a method and path
 * against it.  The rows themselves are the handlers': each handler file
 * exports its own, and handlers/routes.c assembles the table.
 *
 * The table is data: method, pattern, group, auth mode, scope, flags,
 * handler, request schema and summary.  A row with a NULL handler is a
 * known endpoint that is not built yet and answers 501.  The same rows
 * produce `tessera routes` and the OpenAPI document.
 */
#ifndef TESSERA_ROUTER_H
#define TESSERA_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/errors.h"
#include "../common/schema.h"
#include "request.h"
#include "resource.h"

typedef err_t (*handler_fn)(req_t *r);

enum auth_mode { AUTH_NONE, AUTH_BEARER };

/* Route flags. */
enum {
	R_USER = 1 << 0,      /* end-user JWTs may call it (with the row's permission) */
	R_QUERY_TOKEN = 1 << 1, /* token may come as ?token= (browsers' WebSocket and EventSource send no headers) */
};

/*
 * One endpoint.  Every rule the pipeline applies before the handler is
 * here: authentication, scope, the permission an end user needs, the body
 * schema; for CRUD rows the descriptor and operation the engine runs.
 *
 * perm is the permission an end user's roles must grant, "area:verb" or
 * "area:{type}:verb" for a permission per object type (the type named by
 * the path), or "none" for routes on the caller's own account.  A row that
 * end users may call (R_USER) must name one: router_init() refuses the
 * table otherwise (default deny).
 */
typedef struct route {
	const char *method;
	const char *path;
	const char *group;
	enum auth_mode auth;
	const char *scope;          /* read write schema files auth ai * or "" (any) */
	const char *perm;           /* end users' permission, see above; NULL if R_USER unset */
	unsigned flags;
	handler_fn handler;
	const field_t *body;        /* request schema, NULL = no body expected */
	const char *summary;
	const resource_t *res;      /* CRUD rows: the descriptor the engine runs */
	enum res_op op;             /* and the operation */
} route_t;

/* A row served by a handler (NULL: not built yet, 501). */
#define ROUTE(method, path, group, auth, scope, perm, flags, handler, body, summary) \
	{ method, path, group, auth, scope, perm, flags, handler, body, summary, NULL, OP_NONE }
/* A row the resource engine serves: operation op on descriptor res. */
#define CRUD(method, path, group, scope, perm, flags, res, op, summary) \
	{ method, path, group, AUTH_BEARER, scope, perm, flags, resource_handle, NULL, summary, &(res), op }
/* Ends a file's rows. */
#define ROUTES_END { NULL, NULL, NULL, AUTH_NONE, NULL, NULL, 0, NULL, NULL, NULL, NULL, OP_NONE }

/* The request-body schema of a row: its own, or its descriptor's. */
const field_t *route_body(const route_t *rt);

/* The table, assembled from every file's rows (routes.c). */
extern const route_t *routes;
extern size_t routes_count;

/* The permission of a row, parsed once by router_init(). */
typedef struct route_perm {
	const char *area, *verb;   /* NULL area: none needed */
	bool typed;                /* per object type (the path's type) */
} route_perm_t;
/* The parsed permission of rt (router_init() must have run). */
const route_perm_t *route_perm(const route_t *rt);

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
