/*
 * tenants.c - GET /v1/usage: the caller's plan tier, its limits and what the
 * tenant uses of them.
 */
#include "../common/rowjson.h"
#include "routes.h"

static const col_t plan_limit_cols[] = {
	{ "rate_limit_per_minute", COL_INT, 0 },
	{ "max_storage_bytes", COL_INT, 0 },
	{ "max_file_size_bytes", COL_INT, 0 },
	{ "max_api_keys", COL_INT, 0 },
	{ "max_objects", COL_INT, 0 },
	{ "max_users", COL_INT, 0 },
	{ NULL, 0, 0 },
};

err_t tenants_usage(req_t *r)
{
	db_result *res;
	db_param p[] = { db_str(r->tenant.id), db_str(r->tenant.id), db_str(r->tenant.plan) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"SELECT p.id, p.name, p.rate_limit_per_minute, p.max_storage_bytes, "
		"p.max_file_size_bytes, p.max_api_keys, p.max_objects, p.max_users, "
		"(SELECT COUNT(*) FROM api_keys k WHERE k.tenant_id = ? AND k.revoked_at IS NULL) AS api_keys, "
		/* Read now: the copy cached with the API key may lag an upload. */
		"(SELECT t.used_storage_bytes FROM tenants t WHERE t.id = ?) AS used_storage "
		"FROM plans p WHERE p.id = ?", p, 3, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return E_INTERNAL;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "tenant_id", r->tenant.id);
	cJSON *tier = cJSON_AddObjectToObject(d, "plan_tier");
	cJSON_AddStringToObject(tier, "id", db_get(res, 0, "id"));
	cJSON_AddStringToObject(tier, "name", db_get(res, 0, "name"));
	long long used = db_get_int(res, 0, "used_storage", r->tenant.used_storage);
	cJSON_AddNumberToObject(d, "used_storage_bytes", (double)used);
	cJSON_AddItemToObject(d, "plan_limits", row_to_json(plan_limit_cols, res, 0));
	cJSON *usage = cJSON_AddObjectToObject(d, "usage");
	cJSON_AddNumberToObject(usage, "api_keys", (double)db_get_int(res, 0, "api_keys", 0));
	cJSON_AddNumberToObject(usage, "storage_bytes", (double)used);
	cJSON_AddStringToObject(d, "status", r->tenant.status);
	reply_data(r, 200, d);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t tenants_routes[] = {
	ROUTE("GET", "/v1/usage", "Tenants", AUTH_BEARER, "read", NULL, 0, tenants_usage, NULL, "Get tenant usage"),
	ROUTES_END,
};
