/*
 * routes.c - the route table: every endpoint of the API reference
 * (tools/spec/endpoints.tsv), one row each, assembled from the rows each
 * handler file exports next to its handlers (planned.c holds the rows not
 * built yet, which answer 501).  tests/unit/test_router.c fails if a row
 * is missing, duplicated or absent from the reference.
 *
 * Scopes follow DESIGN.md: read/write for data, schema for definitions,
 * files, auth (users, roles, sessions), ai, and `*` alone for tenant
 * administration.  "" means any authenticated caller of the tenant (the
 * end-user auth flows, which a public app key calls).
 */
#include "routes.h"

#include <stdlib.h>

/* Every file's rows, in the order the table lists them. */
#define ROUTE_FILES(X) \
	X(public_routes) \
	X(tenants_routes) \
	X(keys_routes) \
	X(users_routes) \
	X(identity_settings_routes) \
	X(webhooks_routes) \
	X(policies_routes) \
	X(audit_routes) \
	X(sql_routes) \
	X(dlq_routes) \
	X(realtime_routes) \
	X(roles_routes) \
	X(object_types_routes) \
	X(properties_routes) \
	X(objects_routes) \
	X(views_routes) \
	X(associations_routes) \
	X(files_routes) \
	X(files_upload_routes) \
	X(files_serve_routes) \
	X(events_routes) \
	X(errors_report_routes) \
	X(dataio_routes) \
	X(comments_routes) \
	X(email_routes) \
	X(auth_flows_routes) \
	X(auth_sessions_routes) \
	X(auth_mfa_routes) \
	X(auth_portal_routes) \
	X(notifications_routes) \
	X(planned_routes)

#define DECLARE(name) extern const route_t name[];
ROUTE_FILES(DECLARE)
#undef DECLARE

const route_t *routes;
size_t routes_count;

/* The table is built before main() so that every user (the router, the
 * OpenAPI writer, `tessera routes`, the unit tests) sees it whole. */
__attribute__((constructor)) static void routes_assemble(void)
{
	static const route_t *const files[] = {
#define LIST(name) name,
		ROUTE_FILES(LIST)
#undef LIST
	};
	size_t n = 0;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++)
		for (const route_t *rt = files[f]; rt->method; rt++)
			n++;
	route_t *all = calloc(n, sizeof(*all));
	if (!all)
		abort();
	size_t k = 0;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++)
		for (const route_t *rt = files[f]; rt->method; rt++)
			all[k++] = *rt;
	routes = all;
	routes_count = n;
}
