/*
 * plugins.c - plugins installed from a manifest: what they bring (object
 * types, functions, webhooks), tagged with the plugin, and the
 * configuration their functions see as tessera.config.
 */
#include <string.h>

#include "extensions.h"
#include "routes.h"

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
