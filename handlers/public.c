/*
 * public.c - endpoints without credentials: health, readiness, the static
 * pages when FastCGI is asked for them, public tenant config and tenant
 * lookup by email.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/config.h"
#include "../common/datatypes.h"
#include "../common/rowjson.h"
#include "../common/timefmt.h"
#include "../fcgi/credentials.h"
#include "identity.h"
#include "../fcgi/server.h"
#include "routes.h"

#ifndef TESSERA_VERSION
#define TESSERA_VERSION "0.1.0"
#endif


/* Reachability of MariaDB and Redis, measured at most once a second per
 * worker so that a flood of health checks costs nothing downstream. */
static struct {
	long long at_ms;
	bool db_ok, redis_ok;
} probe;

static void probe_refresh(req_t *r)
{
	long long now = time_now_ms();
	if (probe.at_ms && now - probe.at_ms < 1000)
		return;
	probe.db_ok = db_ping(r->db) == DB_OK;
	probe.redis_ok = cache_ping(r->cache) == CACHE_OK;
	probe.at_ms = now;
}

err_t public_health(req_t *r)
{
	probe_refresh(r);
	char ts[RFC3339_LEN];
	cJSON *d = cJSON_CreateObject();
	bool ok = probe.db_ok && probe.redis_ok;
	cJSON_AddStringToObject(d, "status", ok ? "ok" : "degraded");
	cJSON_AddStringToObject(d, "service", "tessera");
	cJSON_AddStringToObject(d, "version", TESSERA_VERSION);
	cJSON_AddStringToObject(d, "timestamp", time_rfc3339(ts, time(NULL)));
	cJSON_AddStringToObject(d, "region", g_config.region);
	cJSON_AddNumberToObject(d, "uptime", (double)((time_now_ms() - g_started_ms) / 1000));
	cJSON *checks = cJSON_AddObjectToObject(d, "checks");
	cJSON_AddStringToObject(checks, "database", probe.db_ok ? "ok" : "unavailable");
	cJSON_AddStringToObject(checks, "redis", probe.redis_ok ? "ok" : "unavailable");
	/* Health reports; readiness decides.  A degraded instance still
	 * answers 200 here so that its checks can be read. */
	reply_data(r, 200, d);
	return E_OK;
}

err_t public_ready(req_t *r)
{
	probe_refresh(r);
	if (!probe.db_ok || !probe.redis_ok)
		return req_fail(r, E_UNAVAILABLE, "Not ready: %s unavailable",
				!probe.db_ok ? "database" : "redis");
	char ts[RFC3339_LEN];
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "status", "ready");
	cJSON_AddStringToObject(d, "service", "tessera");
	cJSON_AddStringToObject(d, "timestamp", time_rfc3339(ts, time(NULL)));
	reply_data(r, 200, d);
	return E_OK;
}

err_t public_static(req_t *r)
{
	/* nginx serves /, /docs and /docs/openapi.json from disk (see
	 * nginx/snippet.conf); FastCGI only sees them when nginx is not set up. */
	return req_fail(r, E_NOT_FOUND,
			"%s is served by nginx; include nginx/snippet.conf in the server block",
			r->route->path);
}

/* The row names its tenant (tenant_id, X-Tenant-ID or the custom domain);
 * the pipeline loaded it, whatever its status. */
err_t public_tenant_config(req_t *r)
{
	db_result *res;
	db_param p[] = { db_str(r->tenant.id) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"SELECT brand_name, settings FROM tenants WHERE id = ?",
		p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Tenant not found");
	cJSON *settings = req_own(r, cJSON_Parse(db_get(res, 0, "settings") ? db_get(res, 0, "settings") : "{}"));
	const char *brand = db_get(res, 0, "brand_name");
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "tenant_id", r->tenant.id);
	cJSON_AddStringToObject(d, "name", r->tenant.name);
	cJSON_AddStringToObject(d, "brand_name", brand ? brand : r->tenant.name);
	cJSON_AddStringToObject(d, "status", r->tenant.status);
	/* Branding and sign-in methods come from the tenant's auth config
	 * (POST /v1/auth-config); tenant settings' branding fills what it
	 * does not set. */
	cJSON *auth;
	err_t rc = auth_public_config(r, &auth);
	if (rc) {
		cJSON_Delete(d);
		return rc;
	}
	cJSON *branding = cJSON_DetachItemFromObjectCaseSensitive(auth, "branding");
	if (!cJSON_IsObject(branding)) {
		cJSON_Delete(branding);
		branding = cJSON_CreateObject();
	}
	const cJSON *legacy = cJSON_GetObjectItemCaseSensitive(settings, "branding"), *it;
	cJSON_ArrayForEach(it, legacy)
		if (!cJSON_GetObjectItemCaseSensitive(branding, it->string) ||
		    cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(branding, it->string))) {
			cJSON_DeleteItemFromObjectCaseSensitive(branding, it->string);
			cJSON_AddItemToObject(branding, it->string, cJSON_Duplicate(it, true));
		}
	cJSON_AddItemToObject(d, "branding", branding);
	cJSON_AddItemToObject(d, "auth", auth);
	reply_data(r, 200, d);
	return E_OK;
}

const field_t lookup_body[] = {
	{ "email", FT_STRING, FF_REQUIRED, 3, 254 },
	{ NULL, 0, 0, 0, 0 },
};

err_t public_tenants_lookup(req_t *r)
{
	const char *email = cJSON_GetObjectItemCaseSensitive(r->json, "email")->valuestring;
	err_t rc = rate_limit(r, arena_printf(r->a, "lookup:%s", r->remote_addr ? r->remote_addr : "-"),
			      g_config.lookup_rate_limit);
	if (rc)
		return rc;
	if (!email_address_valid(email))
		return req_fail_field(r, E_VALIDATION, "email", "email is not a valid address");
	db_result *res;
	db_param p[] = { db_str(email) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"SELECT id AS tenant_id, COALESCE(brand_name, name) AS brand_name FROM tenants "
		"WHERE owner_email = ? AND status = 'active' ORDER BY id LIMIT 100", p, 1, &res);
	if (st)
		return req_db_error(r, st);
	static const col_t cols[] = {
		{ "tenant_id", COL_STR, 0 },
		{ "brand_name", COL_STR, 0 },
		{ NULL, 0, 0 },
	};
	reply_data(r, 200, rows_to_json(cols, res));
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t public_routes[] = {
	ROUTE("GET", "/docs", "Public", AUTH_NONE, "", NULL, 0, public_static, NULL, "API documentation UI"),
	ROUTE("GET", "/health", "Public", AUTH_NONE, "", NULL, 0, public_health, NULL, "Health check"),
	ROUTE("GET", "/", "Public", AUTH_NONE, "", NULL, 0, public_static, NULL, "Landing page"),
	ROUTE("GET", "/docs/openapi.json", "Public", AUTH_NONE, "", NULL, 0, public_static, NULL, "OpenAPI specification"),
	ROUTE("GET", "/ready", "Public", AUTH_NONE, "", NULL, 0, public_ready, NULL, "Readiness probe"),
	ROUTE_T("GET", "/v1/tenant-config", "Public", AUTH_NONE, "", NULL, 0, public_tenant_config, NULL, "Get tenant config (public)", TENANT_NAMED_OR_HOST, 0),
	ROUTE("POST", "/v1/tenants/lookup", "Public", AUTH_NONE, "", NULL, 0, public_tenants_lookup, lookup_body, "Lookup tenants by email"),
	ROUTES_END,
};
