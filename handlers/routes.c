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

/* The tenant tables (outside the core) each file's handlers need, made
 * before a handler runs when the tenant has not got them yet (README
 * "Small tenants"; the database layer makes any other on first use, but
 * inside a transaction it cannot always).  The tables their foreign keys
 * reference come along. */
static const char *const T_FILES[] = { "_files", "_file_versions", "_buckets", NULL };
static const char *const T_WEBHOOKS[] = { "_webhooks", "_webhook_deliveries", NULL };
static const char *const T_AUTH[] = {
	"_users", "_user_roles", "_sessions", "_refresh_tokens", "_auth_tokens", "_mfa_factors",
	"_mfa_recovery_codes", "_user_identities", "_passkeys", "_notifications",
	"_notification_prefs", "_comments", NULL,
};
static const char *const T_ACCOUNTING[] = {
	"_acct_settings", "_acct_currencies", "_acct_exchange_rates", "_acct_accounts",
	"_acct_periods", "_acct_tax_codes", "_acct_entries", "_acct_lines", "_acct_daily",
	"_acct_invoices", "_acct_invoice_lines", "_acct_payments", "_acct_allocations",
	"_acct_bank_accounts", "_acct_bank_transactions", "_acct_recurring", "_acct_recurring_runs",
	NULL,
};
static const char *const T_AI[] = {
	"_ai_providers", "_ai_conversations", "_ai_messages", "_ai_vectors", "_ai_doc_terms",
	"_ai_index_state", "_ai_dropped", NULL,
};
static const char *const T_VIEWS[] = { "_views", NULL };
static const char *const T_ASSOCIATIONS[] = { "_associations", NULL };
static const char *const T_POLICIES[] = { "_policies", NULL };
static const char *const T_EXPORTS[] = { "_exports", NULL };
static const char *const T_COMMENTS[] = { "_comments", NULL };
static const char *const T_WORKFLOWS[] = { "_workflows", "_workflow_history", "_workflow_reviews", NULL };
static const char *const T_FORMS[] = { "_forms", "_form_submissions", "_form_stats", NULL };
static const char *const T_DASHBOARDS[] = { "_dashboards", "_dashboard_widgets", NULL };
static const char *const T_SAVED_REPORTS[] = { "_saved_reports", NULL };
static const char *const T_SHORT_URLS[] = { "_short_urls", "_short_url_clicks", NULL };
static const char *const T_ANALYTICS[] = {
	"_files", "_users", "_sessions", "_webhooks", "_webhook_deliveries", NULL,
};
static const char *const T_FUNCTIONS[] = { "_functions", "_function_runs", NULL };
static const char *const T_PLUGINS[] = { "_plugins", "_plugin_items", "_functions", "_function_runs", NULL };

/* Every file's rows, in the order the table lists them, with the tenant
 * tables its handlers need (NULL: the core's only). */
#define ROUTE_FILES(X) \
	X(public_routes, NULL) \
	X(tenants_routes, NULL) \
	X(keys_routes, NULL) \
	X(users_routes, T_AUTH) \
	X(identity_settings_routes, NULL) \
	X(webhooks_routes, T_WEBHOOKS) \
	X(policies_routes, T_POLICIES) \
	X(audit_routes, NULL) \
	X(sql_routes, NULL) \
	X(dlq_routes, T_WEBHOOKS) \
	X(realtime_routes, NULL) \
	X(roles_routes, T_AUTH) \
	X(object_types_routes, NULL) \
	X(properties_routes, NULL) \
	X(objects_routes, NULL) \
	X(views_routes, T_VIEWS) \
	X(associations_routes, T_ASSOCIATIONS) \
	X(files_routes, T_FILES) \
	X(files_upload_routes, T_FILES) \
	X(files_serve_routes, T_FILES) \
	X(files_buckets_routes, T_FILES) \
	X(files_tus_routes, T_FILES) \
	X(events_routes, NULL) \
	X(errors_report_routes, NULL) \
	X(dataio_routes, T_EXPORTS) \
	X(comments_routes, T_COMMENTS) \
	X(email_routes, NULL) \
	X(dev_mail_routes, NULL) \
	X(auth_flows_routes, T_AUTH) \
	X(auth_sessions_routes, T_AUTH) \
	X(auth_mfa_routes, T_AUTH) \
	X(auth_portal_routes, T_AUTH) \
	X(notifications_routes, T_AUTH) \
	X(ai_providers_routes, T_AI) \
	X(ai_routes, T_AI) \
	X(ai_vectors_routes, T_AI) \
	X(accounting_routes, T_ACCOUNTING) \
	X(accounting_ledger_routes, T_ACCOUNTING) \
	X(accounting_reports_routes, T_ACCOUNTING) \
	X(accounting_docs_routes, T_ACCOUNTING) \
	X(accounting_bank_routes, T_ACCOUNTING) \
	X(accounting_recurring_routes, T_ACCOUNTING) \
	X(automations_routes, NULL) \
	X(scheduled_jobs_routes, NULL) \
	X(workflows_routes, T_WORKFLOWS) \
	X(passkeys_routes, T_AUTH) \
	X(oauth_routes, T_AUTH) \
	X(saml_routes, T_AUTH) \
	X(reports_routes, NULL) \
	X(forms_routes, T_FORMS) \
	X(branding_routes, NULL) \
	X(dashboards_routes, T_DASHBOARDS) \
	X(saved_reports_routes, T_SAVED_REPORTS) \
	X(short_urls_routes, T_SHORT_URLS) \
	X(analytics_routes, T_ANALYTICS) \
	X(billing_routes, NULL) \
	X(functions_routes, T_FUNCTIONS) \
	X(plugins_routes, T_PLUGINS) \
	X(integrations_routes, NULL) \
	X(planned_routes, NULL)

#define DECLARE(name, tables) extern const route_t name[];
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
#define LIST_ROWS(name, tables) name,
		ROUTE_FILES(LIST_ROWS)
#undef LIST_ROWS
	};
	static const char *const *const route_tables[] = {
#define LIST_TABLES(name, tables) tables,
		ROUTE_FILES(LIST_TABLES)
#undef LIST_TABLES
	};
	static const void *const job_files[] = {
#define LIST(name) name,
		JOB_FILES(LIST)
#undef LIST
	};
	size_t jobs, nfiles = sizeof(route_files) / sizeof(route_files[0]);
	route_t *all = concat(route_files, nfiles, sizeof(route_t), &routes_count);
	route_t *row = all;
	for (size_t f = 0; f < nfiles; f++)
		for (const route_t *own = route_files[f]; own->method; own++)
			(row++)->tables = route_tables[f];
	routes = all;
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
