/*
 * audit.c - the audit trail: req_audit(), which every admin action calls,
 * and GET /v1/audit-logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/rowjson.h"
#include "../common/log.h"
#include "../fcgi/fanout.h"
#include "../fcgi/jobs.h"
#include "audit.h"
#include "routes.h"

static const col_t audit_cols[] = {
	{ "id", COL_STR, 0 },
	{ "action", COL_STR, 0 },
	{ "resource_type", COL_STR, 0 },
	{ "resource_id", COL_STR, 0 },
	{ "actor_type", COL_STR, 0 },
	{ "actor_id", COL_STR, 0 },
	{ "details", COL_JSON, 0 },
	{ "ip_address", COL_STR, 0 },
	{ "request_id", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

err_t audit_list(req_t *r)
{
	long long limit, offset;
	err_t rc;
	if ((rc = req_query_int(r, "limit", 20, 1, 100, &limit)) ||
	    (rc = req_query_int(r, "offset", 0, 0, 1000000000, &offset)))
		return rc;
	const char *action = req_query(r, "action");
	const char *rtype = req_query(r, "resource_type");
	if (action && !*action)
		action = NULL;
	if (rtype && !*rtype)
		rtype = NULL;
	/* NULL filters match everything: one statement serves every combination. */
	db_param p[] = { db_str(r->tenant.id), db_str(action), db_str(action),
			 db_str(rtype), db_str(rtype), db_int(limit), db_int(offset) };
	db_result *res, *cnt;
	enum db_status st = db_exec(r->db, r->a,
		"SELECT id, action, resource_type, resource_id, actor_type, actor_id, details, "
		"ip_address, request_id, created_at FROM audit_logs WHERE tenant_id = ? "
		"AND (? IS NULL OR action = ?) AND (? IS NULL OR resource_type = ?) "
		"ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?", p, 7, &res);
	if (!st)
		st = db_exec(r->db, r->a,
			"SELECT COUNT(*) FROM audit_logs WHERE tenant_id = ? "
			"AND (? IS NULL OR action = ?) AND (? IS NULL OR resource_type = ?)",
			p, 5, &cnt);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "logs", rows_to_json(audit_cols, res));
	cJSON_AddNumberToObject(d, "total", (double)strtoll(db_cell(cnt, 0, 0), NULL, 10));
	cJSON_AddNumberToObject(d, "limit", (double)limit);
	cJSON_AddNumberToObject(d, "offset", (double)offset);
	reply_data(r, 200, d);
	return E_OK;
}

/* --- audit retention ----------------------------------------------------- */

/* Runs the batched DELETE sql (… LIMIT 1000) until it deletes less than a
 * batch; adds the rows to *total.  Returns -1 with err on failure. */
static int prune(db_t *db, arena_t *a, const char *sql, db_param *p, int np,
		 unsigned long long *total, const char *what, char *err, size_t errlen)
{
	for (int batch = 0; batch < 1000; batch++) {
		db_result *res;
		/* A tenant table not created yet holds nothing to prune. */
		if (db_exec_present(db, a, sql, p, np, &res) != DB_OK) {
			snprintf(err, errlen, "pruning %s: %s", what, db_last_error(db));
			return -1;
		}
		*total += res->affected;
		if (res->affected < 1000)
			break;
	}
	return 0;
}

/*
 * Retention, per tenant: audit log entries and custom events older than
 * the tenant's audit_retention_days (90 by default), webhook delivery
 * records older than WEBHOOK_DELIVERY_RETENTION_DAYS.
 */
#define WEBHOOK_DELIVERY_RETENTION_DAYS 30

static int audit_retention_job(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
			       const cJSON *payload, char *err, size_t errlen)
{
	(void)cache;
	(void)tenant_id;
	(void)payload;
	db_result *tenants;
	if (tenants_here(db, a, "id, db_name", "1 = 1", &tenants) != DB_OK) {
		snprintf(err, errlen, "listing tenants: %s", db_last_error(db));
		return -1;
	}
	unsigned long long audit = 0, events = 0, deliveries = 0;
	for (int i = 0; i < tenants->nrows; i++) {
		const char *tid = db_get(tenants, i, "id"), *dbn = db_get(tenants, i, "db_name");
		if (!tid || !dbn || strspn(dbn, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(dbn))
			continue;
		db_result *res;
		long days = 90;
		/* A tenant DB not migrated yet (or gone) keeps the default. */
		if (db_exec(db, a, arena_printf(a, "SELECT value FROM `%s`.`_identity_settings` "
						"WHERE name = 'governance'", dbn), NULL, 0, &res) == DB_OK &&
		    res->nrows > 0) {
			cJSON *g = cJSON_Parse(db_cell(res, 0, 0));
			const cJSON *d = cJSON_GetObjectItemCaseSensitive(g, "audit_retention_days");
			if (cJSON_IsNumber(d))
				days = (long)d->valuedouble;
			cJSON_Delete(g);
		}
		db_param p[] = { db_str(tid), db_int(days) };
		if (prune(db, a, "DELETE FROM audit_logs WHERE tenant_id = ? AND "
			  "created_at < UTC_TIMESTAMP(3) - INTERVAL ? DAY ORDER BY created_at LIMIT 1000",
			  p, 2, &audit, "audit logs", err, errlen))
			return -1;
		/* Tenant tables of later migrations may be missing in a tenant
		 * DB not migrated yet: such a tenant is skipped, not an error. */
		db_param pe[] = { db_int(days) };
		if (db_exec(db, a, arena_printf(a, "SELECT 1 FROM `%s`.`_events` LIMIT 0", dbn), NULL, 0,
			    &res) != DB_OK)
			continue;
		if (prune(db, a, arena_printf(a, "DELETE FROM `%s`.`_events` WHERE created_at < "
					      "UTC_TIMESTAMP(3) - INTERVAL ? DAY ORDER BY id LIMIT 1000", dbn),
			  pe, 1, &events, "custom events", err, errlen))
			return -1;
		db_param pd[] = { db_int(WEBHOOK_DELIVERY_RETENTION_DAYS) };
		if (prune(db, a, arena_printf(a, "DELETE FROM `%s`.`_webhook_deliveries` WHERE created_at < "
					      "UTC_TIMESTAMP(3) - INTERVAL ? DAY ORDER BY id LIMIT 1000", dbn),
			  pd, 1, &deliveries, "webhook deliveries", err, errlen))
			return -1;
	}
	if (audit || events || deliveries)
		log_info("jobs: cleanup deleted %llu audit log entries, %llu custom events and %llu "
			 "webhook delivery records past retention", audit, events, deliveries);
	return 0;
}

/* Jobs this file registers (handlers/routes.c assembles the table). */
const job_kind_t audit_jobs[] = {
	{ .name = "audit.retention", .run = audit_retention_job, .cleanup = true },
	{ .name = NULL },
};

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t audit_routes[] = {
	ROUTE("GET", "/v1/audit-logs", "Audit", AUTH_BEARER, "*", NULL, 0, audit_list, NULL, "List audit logs"),
	ROUTES_END,
};
