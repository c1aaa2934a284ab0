/*
 * plugins.c - plugins installed from a manifest (a descriptor on the
 * resource engine with hooks for what is special).
 *
 * A manifest names the plugin (name, semver version, description), its
 * configuration's schema (config_schema, the subset of common/jschema.h)
 * and what it brings: object_types (each with its properties), functions
 * and webhooks.  Install makes them through the API itself
 * (pipeline_subrequest: the same validation as a client's requests), as
 * the installing key, after the plugin's row; the first refusal removes
 * what was made so far and the row (all or nothing) and answers with the
 * refusal, naming the manifest's entry.  Every item is recorded in
 * _plugin_items and functions carry the plugin's id, so their code sees
 * the plugin's config_json as tessera.config.  Disabling a plugin
 * disables its functions and pauses its webhooks; uninstall removes its
 * items, object types first, through the object types' secure delete
 * (?force=true&confirm_token=… are passed on when they hold data).
 */
#include <stdio.h>
#include <string.h>

#include "../common/jschema.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../fcgi/pipeline.h"
#include "extensions.h"
#include "routes.h"

#define PLUGIN_ITEMS_MAX 50

static const char *const manifest_keys[] = { "name", "version", "description", "config_schema",
					     "object_types", "functions", "webhooks", "automations",
					     "scheduled_jobs", NULL };

err_t plugin_config(req_t *r, const char *plugin_id, cJSON **out)
{
	*out = NULL;
	db_param p[] = { db_str(plugin_id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT config_json FROM %s WHERE id = ?", tenant_table(r, "_plugins")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	const char *cfg = res->nrows ? db_get(res, 0, "config_json") : NULL;
	if (cfg)
		*out = req_own(r, cJSON_Parse(cfg));
	return E_OK;
}

/* --- the manifest ------------------------------------------------------------- */

/* MAJOR.MINOR.PATCH with an optional -pre-release and +build. */
static bool semver_valid(const char *v)
{
	int n = 0;
	unsigned a, b, c;
	if (sscanf(v, "%u.%u.%u%n", &a, &b, &c, &n) != 3 || v[0] < '0' || v[0] > '9')
		return false;
	const char *rest = v + n;
	if (*rest == '-' || *rest == '+')
		rest++;
	else if (*rest)
		return false;
	return strspn(rest, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-+") ==
	       strlen(rest) && strlen(v) <= 64;
}

static err_t manifest_fail(req_t *r, const char *member, const char *why)
{
	return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "manifest_json.%s", member),
			      "manifest_json.%s %s", member, why);
}

/* An array of at most PLUGIN_ITEMS_MAX objects, each with a string name
 * (webhooks: url). */
static err_t check_list(req_t *r, const cJSON *m, const char *key, const char *named)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(m, key), *it;
	if (!list)
		return E_OK;
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > PLUGIN_ITEMS_MAX)
		return manifest_fail(r, key, arena_printf(r->a, "must be an array of at most %d objects",
							  PLUGIN_ITEMS_MAX));
	int i = 0;
	cJSON_ArrayForEach(it, list) {
		const char *at = arena_printf(r->a, "%s[%d]", key, i++);
		if (!cJSON_IsObject(it) || !json_str_of(it, named))
			return manifest_fail(r, at, arena_printf(r->a, "must be an object with a string %s",
								 named));
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(it, "properties");
		if (!strcmp(key, "object_types") && props && !cJSON_IsArray(props))
			return manifest_fail(r, arena_printf(r->a, "%s.properties", at),
					     "must be an array of property definitions");
	}
	return E_OK;
}

static err_t check_manifest(req_t *r, const res_field_t *f, const cJSON *m)
{
	(void)f;
	const cJSON *it;
	cJSON_ArrayForEach(it, m) {
		bool known = false;
		for (const char *const *k = manifest_keys; *k; k++)
			known |= !strcmp(*k, it->string);
		if (!known)
			return manifest_fail(r, it->string, "is not a manifest member (name, version, "
					     "description, config_schema, object_types, functions, webhooks)");
	}
	const char *name = json_str_of(m, "name"), *version = json_str_of(m, "version");
	if (!name || !*name || strlen(name) > 100)
		return manifest_fail(r, "name", "must be a string of 1 to 100 characters");
	if (!version || !semver_valid(version))
		return manifest_fail(r, "version", "must be a semantic version (1.2.3)");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "description");
	if (d && (!cJSON_IsString(d) || strlen(d->valuestring) > 1000))
		return manifest_fail(r, "description", "must be a string of at most 1000 characters");
	static const char *const later[] = { "automations", "scheduled_jobs", NULL };
	for (const char *const *k = later; *k; k++)
		if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(m, *k)) > 0)
			return manifest_fail(r, *k, "cannot be installed yet: this server has no "
					     "automations or scheduled jobs");
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(m, "config_schema");
	char where[256], why[256];
	if (schema && jschema_check(schema, where, sizeof(where), why, sizeof(why)))
		return manifest_fail(r, *where ? arena_printf(r->a, "config_schema.%s", where)
					       : "config_schema", arena_strdup(r->a, why));
	err_t rc;
	if ((rc = check_list(r, m, "object_types", "name")) ||
	    (rc = check_list(r, m, "functions", "name")) || (rc = check_list(r, m, "webhooks", "url")))
		return rc;
	return E_OK;
}

/* --- the descriptor ------------------------------------------------------------- */

static const res_field_t plugin_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_UNIQUE | RF_FILTER | RF_SORT, .min = 1, .max = 100 },
	{ .name = "version", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE, .min = 1, .max = 64 },
	{ .name = "description", .type = COL_STR },
	{ .name = "manifest_json", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_CREATE | RF_REQUIRED,
	  .check = check_manifest },
	{ .name = "config_json", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_WRITABLE | RF_NULLABLE },
	{ .name = "enabled", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_WRITABLE | RF_FILTER },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* Name and version agree with the manifest's (which they default to);
 * config_json fits the manifest's config_schema. */
static err_t plugin_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(c->op == OP_CREATE ? c->body : c->before,
							  "manifest_json");
	const char *name = json_str_of(c->body, "name"), *version = json_str_of(c->body, "version");
	if (c->op == OP_CREATE) {
		if (name && strcmp(name, json_str_of(m, "name")))
			return req_fail_field(r, E_VALIDATION, "name", "name must be the manifest's name");
		if (version && strcmp(version, json_str_of(m, "version")))
			return req_fail_field(r, E_VALIDATION, "version",
					      "version must be the manifest's version");
		if (!name)
			resource_set(c, "name", db_str(json_str_of(m, "name")));
		if (!version)
			resource_set(c, "version", db_str(json_str_of(m, "version")));
		resource_set(c, "description", db_str(json_str_of(m, "description")));
	}
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(m, "config_schema");
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(c->body, "config_json");
	char where[256], why[256];
	if (c->op == OP_CREATE && !cfg && schema)
		cfg = req_own(r, cJSON_CreateObject());
	if (schema && cfg && !cJSON_IsNull(cfg) &&
	    jschema_validate(schema, cfg, "config_json", where, sizeof(where), why, sizeof(why)))
		return req_fail_field(r, E_VALIDATION, arena_strdup(r->a, where), "%s %s", where, why);
	return E_OK;
}

/* --- what a plugin installed -------------------------------------------------------- */

typedef struct item {
	const char *kind, *id, *name;
} item_t;

static err_t items_load(req_t *r, const char *plugin_id, db_result **res)
{
	db_param p[] = { db_str(plugin_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT kind, item_id, item_name FROM %s WHERE plugin_id = ? "
		"ORDER BY FIELD(kind, 'object_type', 'function', 'webhook'), created_at",
		tenant_table(r, "_plugin_items")), p, 1, res);
	return st ? req_db_error(r, st) : E_OK;
}

static err_t item_record(req_t *r, const char *plugin_id, const item_t *it)
{
	db_param p[] = { db_str(plugin_id), db_str(it->kind), db_str(it->id), db_str(it->name) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (plugin_id, kind, item_id, item_name, created_at) "
		"VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3))", tenant_table(r, "_plugin_items")), p, 4, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

static const char *item_path(req_t *r, const char *kind, const char *id)
{
	return arena_printf(r->a, "/v1/%s/%s",
			    !strcmp(kind, "object_type") ? "object-types"
			    : !strcmp(kind, "function") ? "functions" : "webhooks", id);
}

/* Removes every item of the plugin (object types first, with query: the
 * secure delete's force and confirm_token); the first refusal stops it
 * and is the answer (its details and confirm token with it).  undo: the
 * items of a failed install, whose types are removed with their
 * properties without asking. */
static err_t items_remove(req_t *r, const char *plugin_id, const char *query, bool undo)
{
	db_result *res;
	err_t rc = items_load(r, plugin_id, &res);
	for (int i = 0; !rc && i < res->nrows; i++) {
		const char *kind = db_get(res, i, "kind"), *id = db_get(res, i, "item_id");
		const char *path = item_path(r, kind, id);
		if (!strcmp(kind, "object_type") && query && *query)
			path = arena_printf(r->a, "%s?%s", path, query);
		cJSON *data;
		const char *msg;
		rc = pipeline_subrequest(r, &r->who, "DELETE", path, NULL, &data, &msg);
		const char *tok = json_str_of(r->err_extra, "confirm_token");
		/* Only object types hold the tenant's data: what depends on the
		 * plugin's other items (webhook deliveries) goes with them, as do
		 * the types a failed install made a moment ago. */
		if (rc == E_DEPENDENCY_EXISTS && (undo || strcmp(kind, "object_type")) && tok)
			rc = pipeline_subrequest(r, &r->who, "DELETE", arena_printf(r->a,
				"%s?force=true&confirm_token=%s", path, tok), NULL, &data, &msg);
		if (rc == E_NOT_FOUND)
			rc = E_OK;  /* removed by hand already */
		else if (rc)
			return req_fail(r, rc, "%s %s of the plugin: %s",
					!strcmp(kind, "object_type") ? "Object type" : kind,
					db_get(res, i, "item_name"), msg);
		db_param p[] = { db_str(plugin_id), db_str(kind), db_str(id) };
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
			"DELETE FROM %s WHERE plugin_id = ? AND kind = ? AND item_id = ?",
			tenant_table(r, "_plugin_items")), p, 3, NULL);
		if (st)
			rc = req_db_error(r, st);
	}
	return rc;
}

/* One API call of an install; a refusal names the manifest's entry. */
static err_t install_call(req_t *r, const char *path, cJSON *body, const char *entry,
			  const char **id)
{
	cJSON *data;
	const char *msg;
	err_t rc = pipeline_subrequest(r, &r->who, "POST", path, body, &data, &msg);
	if (rc)
		return req_fail_field(r, rc, arena_printf(r->a, "manifest_json.%s", entry),
				      "manifest_json.%s: %s", entry, msg);
	*id = json_str_of(data, "id");
	return E_OK;
}

static err_t install_type(req_t *r, const char *plugin_id, const cJSON *t, int i)
{
	const char *entry = arena_printf(r->a, "object_types[%d]", i), *id;
	cJSON *body = req_own(r, cJSON_Duplicate(t, true));
	cJSON_DeleteItemFromObjectCaseSensitive(body, "properties");
	err_t rc = install_call(r, "/v1/object-types", body, entry, &id);
	if (rc)
		return rc;
	item_t it = { "object_type", id, json_str_of(t, "name") };
	if ((rc = item_record(r, plugin_id, &it)))
		return rc;
	const cJSON *p;
	int j = 0;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(t, "properties")) {
		const char *pid;
		rc = install_call(r, arena_printf(r->a, "/v1/object-types/%s/properties", id),
				  req_own(r, cJSON_Duplicate(p, true)),
				  arena_printf(r->a, "%s.properties[%d]", entry, j++), &pid);
		if (rc)
			return rc;
	}
	return E_OK;
}

static err_t install_item(req_t *r, const char *plugin_id, const char *kind, const cJSON *def,
			  int i)
{
	bool fn = !strcmp(kind, "function");
	const char *entry = arena_printf(r->a, "%s[%d]", fn ? "functions" : "webhooks", i), *id;
	err_t rc = install_call(r, fn ? "/v1/functions" : "/v1/webhooks",
				req_own(r, cJSON_Duplicate(def, true)), entry, &id);
	if (rc)
		return rc;
	item_t it = { kind, id, json_str_of(def, fn ? "name" : "url") };
	if ((rc = item_record(r, plugin_id, &it)) || !fn)
		return rc;
	db_param p[] = { db_str(plugin_id), db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET plugin_id = ? WHERE id = ?", tenant_table(r, "_functions")), p, 2, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* The ddl hook of a create: everything the manifest brings, or nothing. */
static err_t plugin_install(req_t *r, res_ctx_t *c)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(c->body, "manifest_json"), *it;
	err_t rc = E_OK;
	int i = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "object_types"))
		if (!rc)
			rc = install_type(r, c->id, it, i++);
	i = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "functions"))
		if (!rc)
			rc = install_item(r, c->id, "function", it, i++);
	i = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(m, "webhooks"))
		if (!rc)
			rc = install_item(r, c->id, "webhook", it, i++);
	if (!rc)
		return E_OK;
	/* Undo: the refusal stays the answer. */
	const char *msg = r->err_message;
	cJSON *details = r->err_details;
	if (items_remove(r, c->id, NULL, true))
		log_error("%s: plugin %s: what a failed install made could not all be removed",
			  r->request_id, c->id);
	r->err_message = msg;
	r->err_details = details;
	r->err_extra = NULL;
	return rc;
}

/* Disabling pauses what the plugin runs; enabling resumes it. */
static err_t plugin_after_write(req_t *r, res_ctx_t *c)
{
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(c->body, "enabled");
	if (c->op != OP_UPDATE || !cJSON_IsBool(en))
		return E_OK;
	db_param p[] = { db_int(cJSON_IsTrue(en)), db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET enabled = ?, updated_at = UTC_TIMESTAMP(3) WHERE plugin_id = ?",
		tenant_table(r, "_functions")), p, 2, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* Webhooks go through their own API once the plugin's change is in. */
static void plugin_after_commit(req_t *r, res_ctx_t *c)
{
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(c->body, "enabled");
	db_result *res;
	if (c->op != OP_UPDATE || !cJSON_IsBool(en) || items_load(r, c->id, &res))
		return;
	for (int i = 0; i < res->nrows; i++) {
		if (strcmp(db_get(res, i, "kind"), "webhook"))
			continue;
		cJSON *body = req_own(r, cJSON_CreateObject()), *data;
		cJSON_AddStringToObject(body, "status", cJSON_IsTrue(en) ? "active" : "paused");
		const char *msg;
		if (pipeline_subrequest(r, &r->who, "PATCH", item_path(r, "webhook", db_get(res, i, "item_id")),
					body, &data, &msg))
			log_warn("%s: plugin %s: webhook %s: %s", r->request_id, c->id,
				 db_get(res, i, "item_id"), msg);
	}
}

/* Uninstall: its items first, the row after. */
static err_t plugin_before_delete(req_t *r, res_ctx_t *c)
{
	return items_remove(r, c->id, r->query, false);
}

/* What the plugin installed, as {kind, id, name}. */
static err_t plugin_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	db_result *res;
	const char *id = json_str_of(row, "id");
	if (c->op == OP_DELETE || !id)
		return E_OK;
	err_t rc = items_load(r, id, &res);
	if (rc)
		return rc;
	cJSON *list = cJSON_AddArrayToObject(row, "installed");
	for (int i = 0; i < res->nrows; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "kind", db_get(res, i, "kind"));
		cJSON_AddStringToObject(o, "id", db_get(res, i, "item_id"));
		cJSON_AddStringToObject(o, "name", db_get(res, i, "item_name"));
		cJSON_AddItemToArray(list, o);
	}
	return E_OK;
}

static const res_hooks_t plugin_hooks = {
	.validate = plugin_validate,
	.ddl = plugin_install,
	.after_write = plugin_after_write,
	.after_commit = plugin_after_commit,
	.before_delete = plugin_before_delete,
	.render = plugin_render,
};

static const resource_t plugin_res = {
	.name = "Plugin",
	.type = "plugin",
	.table = "_plugins",
	.home = RES_TENANT,
	.id_param = "plugin_id",
	.id_prefix = "plg_",
	.fields = plugin_fields,
	.order = "created_at",
	.title = "name",
	.del = DEL_ROW,
	.flags = RES_CREATED_BY,
	.hooks = &plugin_hooks,
	.example = "{\"manifest_json\":{\"name\":\"probe-plugin\",\"version\":\"1.0.0\","
		   "\"functions\":[{\"name\":\"probe_fn\",\"code\":\"return 1\"}]}}",
};

const route_t plugins_routes[] = {
	CRUD("GET", "/v1/plugins/:plugin_id", "Plugins", "*", NULL, 0, plugin_res, OP_GET, "Get plugin"),
	CRUD("PATCH", "/v1/plugins/:plugin_id", "Plugins", "*", NULL, 0, plugin_res, OP_UPDATE, "Update plugin"),
	CRUD("DELETE", "/v1/plugins/:plugin_id", "Plugins", "*", NULL, 0, plugin_res, OP_DELETE, "Uninstall plugin"),
	CRUD("GET", "/v1/plugins", "Plugins", "*", NULL, 0, plugin_res, OP_LIST, "List plugins"),
	CRUD("POST", "/v1/plugins", "Plugins", "*", NULL, 0, plugin_res, OP_CREATE, "Install plugin"),
	ROUTES_END,
};
