/*
 * dashboards.c - dashboards, their widgets and public sharing.
 *
 * A dashboard and its widgets are plain resources on the engine (a widget's
 * parent is its dashboard).  A widget is a report request: its type (metric,
 * timeseries, leaderboard, pipeline, funnel, table) names the report kind
 * (reports.h; a table is the "objects" kind) and config_json is the
 * request, run once when saved so that a widget that cannot run is refused
 * with the member named.  GET of a dashboard returns every widget with its
 * data, cached in Redis for WIDGET_TTL seconds per widget, version and
 * kind of caller (an end user's data passes their row policies, so it is
 * cached for them alone); ?refresh=true recomputes it.
 *
 * Sharing: is_public true issues a share token (shown once, in the reply of
 * the write that issued it; only its SHA-256 is kept, in the control DB's
 * dashboard_shares, because the public route finds the tenant by the token
 * alone: TENANT_SHARED in fcgi/credentials.c).  is_public false revokes it
 * (410 GONE from then on), sharing again issues a new one, and
 * share_expires_at bounds its life.  The public view holds the widgets'
 * data only: no ids of the dashboard, its widgets, users or keys.
 */
#include <string.h>
#include <time.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/jsonx.h"
#include "../common/timefmt.h"
#include "../fcgi/credentials.h"
#include "../fcgi/journal.h"
#include "apps.h"
#include "reports.h"
#include "routes.h"

#define WIDGET_TTL "60"
#define WIDGETS_MAX 50
#define PUBLIC_RATE_PER_MINUTE 120

static const char *const widget_types[] = { "metric", "timeseries", "leaderboard", "pipeline",
					    "funnel", "table", NULL };

/* The report kind of a widget type. */
static const char *widget_kind(const char *type)
{
	return type && !strcmp(type, "table") ? "objects" : type;
}

/* ------------------------------------------------------------ widget data */

/* Which callers may share a cached result: every API key, admin user and
 * the public view see all rows; an end user sees what their policies
 * allow. */
static const char *caller_class(req_t *r)
{
	return req_end_user(r) ? arena_printf(r->a, "usr:%s", r->who.user_id) : "all";
}

/* A widget's data: the cached result, or its report run now (and cached).
 * A widget that no longer runs (a property deleted since) has an error
 * instead of data; the dashboard still answers. */
static cJSON *widget_data(req_t *r, const char *id, const char *version, const char *type,
			  const char *config, bool refresh, cJSON **error)
{
	*error = NULL;
	char *key = cache_tkey(r->a, "wdg", r->tenant.id, "%s:%s:%s", id, version, caller_class(r));
	redisReply *rep;
	const char *get[] = { "GET", key };
	if (!refresh && cache_cmd(r->cache, r->a, &rep, 2, get) == CACHE_OK &&
	    rep->type == REDIS_REPLY_STRING) {
		cJSON *hit = cJSON_Parse(rep->str);
		if (hit)
			return hit;
	}
	cJSON *spec = req_own(r, cJSON_Parse(config ? config : "{}")), *out;
	if (report_run(r, widget_kind(type), spec, "config_json.", &out)) {
		*error = cJSON_CreateObject();
		cJSON_AddStringToObject(*error, "message", r->err_message ? r->err_message : "failed");
		r->err_message = NULL;
		r->err_details = NULL;
		return cJSON_CreateNull();
	}
	const char *text = req_json_text(r, out);
	const char *set[] = { "SET", key, text, "EX", WIDGET_TTL };
	cache_send(r->cache, 5, set);
	return cJSON_Duplicate(out, true);
}

/* The dashboard's widgets in creation order, each with its data; for the
 * public view without ids. */
static err_t widgets_with_data(req_t *r, const char *dashboard_id, bool refresh, bool public,
			       cJSON **out)
{
	db_result *res;
	db_param p[] = { db_str(dashboard_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, type, title, config_json, position_json, "
		"DATE_FORMAT(updated_at, '%%Y%%m%%d%%H%%i%%s%%f') AS version FROM %s "
		"WHERE dashboard_id = ? ORDER BY created_at, id", tenant_table(r, "_dashboard_widgets")),
		p, 1, &res);
	if (st)
		return req_db_error(r, st);
	*out = req_own(r, cJSON_CreateArray());
	for (int i = 0; i < res->nrows; i++) {
		cJSON *w = cJSON_CreateObject(), *error;
		const char *title = db_get(res, i, "title"), *pos = db_get(res, i, "position_json");
		if (!public)
			cJSON_AddStringToObject(w, "id", db_get(res, i, "id"));
		cJSON_AddStringToObject(w, "type", db_get(res, i, "type"));
		cJSON_AddItemToObject(w, "title", title ? cJSON_CreateString(title) : cJSON_CreateNull());
		if (!public)
			cJSON_AddItemToObject(w, "config_json", cJSON_Parse(db_get(res, i, "config_json")));
		cJSON_AddItemToObject(w, "position_json", pos ? cJSON_Parse(pos) : cJSON_CreateNull());
		cJSON_AddItemToObject(w, "data", widget_data(r, db_get(res, i, "id"),
							     db_get(res, i, "version"), db_get(res, i, "type"),
							     db_get(res, i, "config_json"), refresh, &error));
		if (error)
			cJSON_AddItemToObject(w, "error", error);
		cJSON_AddItemToArray(*out, w);
	}
	return E_OK;
}

/* -------------------------------------------------------------- sharing */

static err_t share_revoke(req_t *r, const char *dashboard_id)
{
	db_param p[] = { db_str(r->tenant.id), db_str(dashboard_id) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"UPDATE dashboard_shares SET revoked_at = UTC_TIMESTAMP(3) WHERE tenant_id = ? AND "
		"dashboard_id = ? AND revoked_at IS NULL", p, 2, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* A new token for the dashboard (any live one revoked first); kept in
 * c->data for the reply. */
static err_t share_issue(req_t *r, res_ctx_t *c, db_param expires)
{
	err_t rc = share_revoke(r, c->id);
	if (rc)
		return rc;
	char *token = random_token(r->a, "dsh_", 32), hash[65];
	sha256_hex(hash, token, strlen(token));
	db_param p[] = { db_str(hash), db_str(r->tenant.id), db_str(c->id), expires };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"INSERT INTO dashboard_shares (token_hash, tenant_id, dashboard_id, expires_at, "
		"created_at) VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))", p, 4, NULL);
	if (st)
		return req_db_error(r, st);
	c->data = token;
	return E_OK;
}

/* share_expires_at as the body gives it, else as the row has it. */
static db_param share_expiry(req_t *r, const res_ctx_t *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, "share_expires_at");
	if (!v)
		v = cJSON_GetObjectItemCaseSensitive(c->before, "share_expires_at");
	db_param p = db_null();
	if (cJSON_IsString(v))
		query_sql_time(r->a, v->valuestring, &p);
	return p;
}

/* In the write's transaction: issue, revoke or re-time the share as
 * is_public and share_expires_at say; a deleted dashboard takes its
 * widgets and share with it. */
static err_t dashboard_after_write(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_DELETE) {
		db_param p[] = { db_str(c->id) };
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
			"DELETE FROM %s WHERE dashboard_id = ?", tenant_table(r, "_dashboard_widgets")),
			p, 1, NULL);
		return st ? req_db_error(r, st) : share_revoke(r, c->id);
	}
	bool was = c->before && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->before, "is_public"));
	const cJSON *pub = cJSON_GetObjectItemCaseSensitive(c->body, "is_public");
	bool now = pub ? cJSON_IsTrue(pub) : was;
	if (was && !now)
		return share_revoke(r, c->id);
	if (!was && now)
		return share_issue(r, c, share_expiry(r, c));
	if (now && cJSON_GetObjectItemCaseSensitive(c->body, "share_expires_at")) {
		db_param p[] = { share_expiry(r, c), db_str(r->tenant.id), db_str(c->id) };
		enum db_status st = db_exec(db_control(r->db), r->a,
			"UPDATE dashboard_shares SET expires_at = ? WHERE tenant_id = ? AND "
			"dashboard_id = ? AND revoked_at IS NULL", p, 3, NULL);
		return st ? req_db_error(r, st) : E_OK;
	}
	return E_OK;
}

static err_t check_expiry(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	time_t t;
	if (time_parse_rfc3339(v->valuestring, &t) != 0)
		return req_fail_field(r, E_VALIDATION, "share_expires_at",
				      "share_expires_at must be an RFC 3339 time");
	if (t <= time(NULL))
		return req_fail_field(r, E_VALIDATION, "share_expires_at",
				      "share_expires_at must be in the future");
	return E_OK;
}

static err_t dashboard_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, "share_expires_at");
	if (v)
		resource_set(c, "share_expires_at", share_expiry(r, c));
	return E_OK;
}

/* GET shows the widgets with their data. */
static err_t dashboard_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	if (c->op != OP_GET)
		return E_OK;
	bool refresh;
	cJSON *widgets;
	err_t rc = req_query_bool(r, "refresh", false, &refresh);
	if (rc || (rc = widgets_with_data(r, json_str_of(row, "id"), refresh, false, &widgets)))
		return rc;
	cJSON_AddItemToObject(row, "widgets", cJSON_Duplicate(widgets, true));
	return E_OK;
}

/* The reply of the write that issued a token shows it, once. */
static err_t dashboard_reply(req_t *r, res_ctx_t *c)
{
	if (c->data && c->row) {
		cJSON_AddStringToObject(c->row, "share_token", c->data);
		cJSON_AddStringToObject(c->row, "share_url", arena_printf(r->a,
			"%s/v1/dashboards/public/%s", g_config.public_url, (char *)c->data));
	}
	return resource_reply_default(r, c);
}

static const res_field_t dashboard_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_SORT, .min = 1, .max = 255 },
	{ .name = "description", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 2000 },
	{ .name = "layout_json", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_WRITABLE | RF_NULLABLE },
	{ .name = "is_public", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_WRITABLE | RF_FILTER },
	{ .name = "share_expires_at", .type = COL_TIME, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE, .max = 40, .check = check_expiry },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

static const res_hooks_t dashboard_hooks = {
	.validate = dashboard_validate,
	.after_write = dashboard_after_write,
	.render = dashboard_render,
	.reply = dashboard_reply,
};

static const resource_t dashboard_res = {
	.name = "Dashboard", .type = "dashboard", .table = "_dashboards", .home = RES_TENANT,
	.id_param = "dashboard_id", .id_prefix = "dash_", .fields = dashboard_fields,
	.order = "created_at DESC", .title = "name", .flags = RES_CREATED_BY,
	.deleted_id = "id", .hooks = &dashboard_hooks,
	.example = "{\"name\":\"Sales\",\"description\":\"Pipeline at a glance\","
		   "\"layout_json\":{\"columns\":12}}",
};

/* --------------------------------------------------------------- widgets */

static err_t widget_parent(req_t *r, res_ctx_t *c)
{
	res_ctx_t dc;
	cJSON *d;
	err_t rc = resource_ctx(r, &dashboard_res, OP_NONE, &dc);
	if (rc || (rc = resource_fetch(r, &dc, req_param(r, "dashboard_id"), false, &d)))
		return rc;
	c->parent_id = json_str_of(d, "id");
	return E_OK;
}

/* The widget's report must run: its type (the body's or the widget's)
 * with its config (likewise); at most WIDGETS_MAX per dashboard. */
static err_t widget_validate(req_t *r, res_ctx_t *c)
{
	err_t rc = report_check_request(r, c, widget_kind);
	if (rc || c->op != OP_CREATE)
		return rc;
	long long n;
	query_t q;
	query_init(r, &q, "dashboard_id = ?");
	query_bind(r, &q, db_str(c->parent_id));
	if ((rc = query_count(r, tenant_table(r, "_dashboard_widgets"), &q, &n)))
		return rc;
	if (n >= WIDGETS_MAX)
		return req_fail(r, E_VALIDATION, "A dashboard holds at most %d widgets", WIDGETS_MAX);
	return E_OK;
}

/* A change to a widget is a change to its dashboard. */
static err_t widget_after_write(req_t *r, res_ctx_t *c)
{
	db_param p[] = { db_str(c->parent_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET updated_at = UTC_TIMESTAMP(3) WHERE id = ?", tenant_table(r, "_dashboards")),
		p, 1, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

static const res_field_t widget_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "dashboard_id", .type = COL_STR },
	{ .name = "type", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .values = widget_types },
	{ .name = "title", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 255 },
	{ .name = "config_json", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_WRITABLE | RF_REQUIRED },
	{ .name = "position_json", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_WRITABLE | RF_NULLABLE },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

static const res_hooks_t widget_hooks = {
	.parent = widget_parent,
	.validate = widget_validate,
	.after_write = widget_after_write,
};

static const resource_t widget_res = {
	.name = "Widget", .type = "dashboard_widget", .table = "_dashboard_widgets",
	.home = RES_TENANT, .id_param = "widget_id", .id_prefix = "wdg_", .fields = widget_fields,
	.parent_param = "dashboard_id", .parent_column = "dashboard_id", .order = "created_at",
	.title = "title", .deleted_id = "id", .hooks = &widget_hooks,
	.example = "{\"type\":\"metric\",\"title\":\"Probes\",\"config_json\":{\"object_type_id\":"
		   "\"probe\"},\"position_json\":{\"x\":0,\"y\":0,\"w\":4,\"h\":2}}",
};

/* ---------------------------------------------------------- public view */

/* The shared dashboard (the pipeline found the tenant by its token). */
static err_t dashboards_public(req_t *r)
{
	err_t rc = rate_limit(r, arena_printf(r->a, "pubdash:%s", r->remote_addr ? r->remote_addr : "-"),
			      PUBLIC_RATE_PER_MINUTE);
	if (rc)
		return rc;
	const char *token = req_param(r, "share_token");
	char hash[65];
	sha256_hex(hash, token, strlen(token));
	db_result *sh, *res;
	db_param p[] = { db_str(hash), db_str(r->tenant.id) };
	/* The share is on the primary, the dashboard on the tenant's server. */
	enum db_status st = db_exec(db_control(r->db), r->a,
		"SELECT dashboard_id, expires_at FROM dashboard_shares WHERE token_hash = ? AND "
		"tenant_id = ?", p, 2, &sh);
	if (st)
		return req_db_error(r, st);
	if (sh->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Shared dashboard not found");
	db_param q[] = { db_str(db_cell(sh, 0, 1)), db_str(db_cell(sh, 0, 0)) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT d.id, d.name, d.description, d.layout_json, ? AS expires_at FROM %s d "
		"WHERE d.id = ? AND d.is_public = 1", tenant_table(r, "_dashboards")), q, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Shared dashboard not found");
	cJSON *widgets, *brand;
	if ((rc = widgets_with_data(r, db_get(res, 0, "id"), false, true, &widgets)) ||
	    (rc = branding_public(r, &brand)))
		return rc;
	const char *desc = db_get(res, 0, "description"), *layout = db_get(res, 0, "layout_json");
	const char *exp = db_get(res, 0, "expires_at");
	char ts[RFC3339_LEN];
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "name", db_get(res, 0, "name"));
	cJSON_AddItemToObject(d, "description", desc ? cJSON_CreateString(desc) : cJSON_CreateNull());
	cJSON_AddItemToObject(d, "layout_json", layout ? cJSON_Parse(layout) : cJSON_CreateNull());
	cJSON_AddItemToObject(d, "widgets", cJSON_Duplicate(widgets, true));
	cJSON_AddItemToObject(d, "branding", cJSON_Duplicate(brand, true));
	cJSON_AddItemToObject(d, "expires_at", exp ? cJSON_CreateString(time_from_sql(ts, exp))
						   : cJSON_CreateNull());
	reply_data(r, 200, d);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t dashboards_routes[] = {
	ROUTE_T("GET", "/v1/dashboards/public/:share_token", "Dashboards", AUTH_NONE, "", NULL, 0, dashboards_public, NULL, "Get public dashboard", TENANT_SHARED, 0),
	CRUD("POST", "/v1/dashboards/:dashboard_id/widgets", "Dashboards", "write", "dashboards:write", R_USER, widget_res, OP_CREATE, "Add widget to dashboard"),
	CRUD("GET", "/v1/dashboards", "Dashboards", "read", "dashboards:read", R_USER, dashboard_res, OP_LIST, "List dashboards"),
	CRUD("POST", "/v1/dashboards", "Dashboards", "write", "dashboards:write", R_USER, dashboard_res, OP_CREATE, "Create dashboard"),
	CRUD("GET", "/v1/dashboards/:dashboard_id", "Dashboards", "read", "dashboards:read", R_USER, dashboard_res, OP_GET, "Get dashboard"),
	CRUD("PATCH", "/v1/dashboards/:dashboard_id", "Dashboards", "write", "dashboards:write", R_USER, dashboard_res, OP_UPDATE, "Update dashboard"),
	CRUD("DELETE", "/v1/dashboards/:dashboard_id", "Dashboards", "write", "dashboards:write", R_USER, dashboard_res, OP_DELETE, "Delete dashboard"),
	CRUD("PATCH", "/v1/dashboards/:dashboard_id/widgets/:widget_id", "Dashboards", "write", "dashboards:write", R_USER, widget_res, OP_UPDATE, "Update widget"),
	CRUD("DELETE", "/v1/dashboards/:dashboard_id/widgets/:widget_id", "Dashboards", "write", "dashboards:write", R_USER, widget_res, OP_DELETE, "Delete widget"),
	ROUTES_END,
};
