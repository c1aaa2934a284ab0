/*
 * router.h - the route row, the route table's shape (every endpoint of the
 * reference, one row each) and the router that matches a method and path
 * against it.  The rows themselves are the handlers': each handler file
 * exports its own, and handlers/routes.c assembles the table.
 *
 * The table is data: method, pattern, group, auth mode, scope, flags,
 * handler, request schema, summary, where the tenant comes from and the
 * body limit.  A row with a NULL handler is a
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
	R_EXTENSION = 1 << 2, /* Tessera's addition beyond the API reference (x-tessera-extension in OpenAPI) */
};

/*
 * Where a row's tenant comes from.  The pipeline resolves it before the
 * handler (tenant_resolve() in credentials.c), so no handler looks a
 * tenant up itself.
 */
enum tenant_from {
	TENANT_AUTO,            /* the credential's on AUTH_BEARER rows; none on AUTH_NONE rows */
	TENANT_CREDENTIAL_PARAM, /* the credential's; ?tenant_id=, when given, must name it */
	TENANT_CREDENTIAL_PARAM_REQUIRED, /* the same, and ?tenant_id= must be given */
	TENANT_NAMED,           /* tenant_id in the body, the query or X-Tenant-ID (public
				 * sign-in routes); it must be active */
	TENANT_NAMED_OR_HOST,   /* the same, or the tenant whose custom domain is Host;
				 * any status (public tenant configuration) */
	TENANT_SIGNED,          /* ?t= of a signed URL (the handler checks the signature) */
	TENANT_SHARED,          /* the share token in the path (:share_token) of a public
				 * dashboard: 404 unknown, 410 GONE revoked or expired */
};

/* Largest body of rows without a credential, unless the row says more. */
#define BODY_MAX_PUBLIC (64 * 1024)
/* body_max of a row without a credential that takes the configured limit
 * (max_body_bytes) all the same: a signed upload. */
#define BODY_MAX_CONFIG (-1)

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
	enum tenant_from tenant;    /* where the tenant comes from */
	int body_max;               /* largest body in bytes; 0: max_body_bytes of the
				     * config on credential rows, BODY_MAX_PUBLIC on others;
				     * BODY_MAX_CONFIG: max_body_bytes */
	const char *const *tables;  /* the tenant tables its handler needs (NULL-terminated):
				     * made before it runs if the tenant has not got them
				     * yet (common/lazytables.h); the registry sets it per
				     * file (handlers/routes.c) */
} route_t;

/* A row served by a handler (NULL: not built yet, 501). */
#define ROUTE(method, path, group, auth, scope, perm, flags, handler, body, summary) \
	{ method, path, group, auth, scope, perm, flags, handler, body, summary, NULL, OP_NONE, \
	  TENANT_AUTO, 0, NULL }
/* The same, with the tenant's source and a body limit of its own. */
#define ROUTE_T(method, path, group, auth, scope, perm, flags, handler, body, summary, tenant, \
		body_max) \
	{ method, path, group, auth, scope, perm, flags, handler, body, summary, NULL, OP_NONE, \
	  tenant, body_max, NULL }
/* A row the resource engine serves: operation op on descriptor res. */
#define CRUD(method, path, group, scope, perm, flags, res, op, summary) \
	{ method, path, group, AUTH_BEARER, scope, perm, flags, resource_handle, NULL, summary, &(res), op, \
	  TENANT_AUTO, 0, NULL }
/* Ends a file's rows. */
#define ROUTES_END { NULL, NULL, NULL, AUTH_NONE, NULL, NULL, 0, NULL, NULL, NULL, NULL, OP_NONE, \
			    TENANT_AUTO, 0, NULL }

/* The largest body a row accepts, in bytes (its own limit or the default). */
int route_body_max(const route_t *rt);
/* The name of a row's tenant source: "credential", "tenant_id", … */
const char *route_tenant_name(const route_t *rt);

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
