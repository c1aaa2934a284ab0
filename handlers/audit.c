/*
 * audit.c - the audit trail: req_audit(), which every admin action calls,
 * and GET /v1/audit-logs.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/rowjson.h"
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

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t audit_routes[] = {
	ROUTE("GET", "/v1/audit-logs", "Audit", AUTH_BEARER, "*", NULL, 0, audit_list, NULL, "List audit logs"),
	ROUTES_END,
};
