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
#include <string.h>

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
	X(files_buckets_routes) \
	X(files_tus_routes) \
	X(events_routes) \
	X(errors_report_routes) \
	X(dataio_routes) \
	X(comments_routes) \
	X(email_routes) \
	X(dev_mail_routes) \
	X(auth_flows_routes) \
	X(auth_sessions_routes) \
	X(auth_mfa_routes) \
	X(auth_portal_routes) \
	X(notifications_routes) \
	X(ai_providers_routes) \
	X(ai_routes) \
	X(ai_vectors_routes) \
	X(accounting_routes) \
	X(accounting_ledger_routes) \
	X(accounting_reports_routes) \
	X(accounting_docs_routes) \
	X(accounting_bank_routes) \
	X(accounting_recurring_routes) \
	X(automations_routes) \
	X(scheduled_jobs_routes) \
	X(workflows_routes) \
	X(passkeys_routes) \
	X(oauth_routes) \
	X(saml_routes) \
	X(reports_routes) \
	X(forms_routes) \
	X(branding_routes) \
	X(dashboards_routes) \
	X(saved_reports_routes) \
	X(short_urls_routes) \
	X(analytics_routes) \
	X(billing_routes) \
	X(functions_routes) \
	X(plugins_routes) \
	X(integrations_routes) \
	X(planned_routes)

#define DECLARE(name) extern const route_t name[];
ROUTE_FILES(DECLARE)
#undef DECLARE

/* Every file's job kinds. */
#define JOB_FILES(X) \
	X(accounting_jobs) \
	X(ai_jobs) \
	X(audit_jobs) \
	X(email_jobs) \
	X(files_jobs) \
	X(automations_jobs) \
	X(scheduled_jobs_jobs) \
	X(integrations_jobs) \
	X(analytics_jobs) \
	X(saved_reports_jobs)

#define DECLARE_JOBS(name) extern const job_kind_t name[];
JOB_FILES(DECLARE_JOBS)
#undef DECLARE_JOBS

const job_kind_t *handler_job_kinds;

const route_t *routes;
size_t routes_count;

/* The rows of every file, one after the other, in one new array; each
 * file's rows end with a row whose first member (a name) is NULL, which
 * ends the result too.  *count receives the rows without that end. */
static void *concat(const void *const *files, size_t nfiles, size_t size, size_t *count)
{
	size_t n = 0;
	for (size_t f = 0; f < nfiles; f++)
		for (const char *row = files[f]; *(const char *const *)row; row += size)
			n++;
	char *all = calloc(n + 1, size), *at = all;
	if (!all)
		abort();
	for (size_t f = 0; f < nfiles; f++)
		for (const char *row = files[f]; *(const char *const *)row; row += size, at += size)
			memcpy(at, row, size);
	*count = n;
	return all;
}

/* The tables are built before main() so that every user (the router, the
 * OpenAPI writer, `tessera routes`, the unit tests) sees it whole. */
__attribute__((constructor)) static void routes_assemble(void)
{
	static const void *const route_files[] = {
#define LIST(name) name,
		ROUTE_FILES(LIST)
	};
	static const void *const job_files[] = {
		JOB_FILES(LIST)
#undef LIST
	};
	size_t jobs;
	routes = concat(route_files, sizeof(route_files) / sizeof(route_files[0]), sizeof(route_t),
			&routes_count);
	handler_job_kinds = concat(job_files, sizeof(job_files) / sizeof(job_files[0]),
				   sizeof(job_kind_t), &jobs);
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
	.admin = perms_admin,
	.object_type = gate_object_type,
};
