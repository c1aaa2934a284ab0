/*
 * routes.c - the registry: the route table and the job kinds, each
 * assembled from the rows every handler file exports.  The route table has
 * every endpoint of the API reference
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

#include "../fcgi/gate.h"
#include "../fcgi/jobs.h"
#include "identity_admin.h"
#include "objmodel.h"

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

/* Every file's job kinds. */
#define JOB_FILES(X) \
	X(audit_jobs) \
	X(email_jobs) \
	X(files_jobs)

#define DECLARE_JOBS(name) extern const job_kind_t name[];
JOB_FILES(DECLARE_JOBS)
#undef DECLARE_JOBS

const job_kind_t *handler_job_kinds;

const route_t *routes;
size_t routes_count;

static const job_kind_t *jobs_assemble(void)
{
	static const job_kind_t *const files[] = {
#define LIST(name) name,
		JOB_FILES(LIST)
#undef LIST
	};
	size_t n = 0;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++)
		for (const job_kind_t *k = files[f]; k->name; k++)
			n++;
	job_kind_t *all = calloc(n + 1, sizeof(*all));
	if (!all)
		abort();
	size_t i = 0;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++)
		for (const job_kind_t *k = files[f]; k->name; k++)
			all[i++] = *k;
	return all;
}

/* The tables are built before main() so that every user (the router, the
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
	handler_job_kinds = jobs_assemble();
}

/* The gate's view of an object type named in a path. */
static err_t gate_object_type(req_t *r, const char *id_or_name, const char **name, const char **id)
{
	objtype_t *t;
	err_t rc = objtype_load(r, id_or_name, &t);
	if (rc)
		return rc;
	*name = t->name;
	*id = t->id;
	return E_OK;
}

/* What the identity gate (fcgi/gate.c) asks of the roles. */
const gate_ops_t gate_ops = {
	.user_permissions = roles_effective,
	.grants = perms_grant,
	.object_type = gate_object_type,
};
