/*
 * objmodel.c - loading object types and their properties (see objmodel.h).
 */
#include "objmodel.h"

#include <ctype.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/rowjson.h"
#include "../common/timefmt.h"

const char *tenant_table(req_t *r, const char *name)
{
	return arena_printf(r->a, "`%s`.`%s`", r->tenant.db_name, name);
}

char *display_name_from(arena_t *a, const char *name)
{
	char *d = arena_strdup(a, name);
	bool start = true;
	for (char *p = d; *p; p++) {
		if (*p == '_') {
			*p = ' ';
			start = true;
		} else if (start) {
			*p = (char)toupper((unsigned char)*p);
			start = false;
		}
	}
	return d;
}

static const col_t prop_cols[] = {
	{ "id", COL_STR, 0 },
	{ "object_type_id", COL_STR, 0 },
	{ "name", COL_STR, 0 },
	{ "display_name", COL_STR, 0 },
	{ "data_type", COL_STR, 0 },
	{ "is_required", COL_BOOL, 0 },
	{ "is_unique", COL_BOOL, 0 },
	{ "is_indexed", COL_BOOL, 0 },
	{ "is_sortable", COL_BOOL, 0 },
	{ "default_value", COL_JSON, 0 },
	{ "enum_values", COL_JSON, 0 },
	{ "description", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ "updated_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

err_t objtype_load(req_t *r, const char *id_or_name, objtype_t **out)
{
	bool by_id = strncmp(id_or_name, "ot_", 3) == 0;
	if (!by_id && !ident_valid(id_or_name))
		return req_fail(r, E_NOT_FOUND, "Object type not found");
	db_result *res;
	db_param p[] = { db_str(id_or_name) };
	const char *sql = arena_printf(r->a,
		"SELECT id, name, display_name, description, created_at, updated_at FROM %s "
		"WHERE %s = ?", tenant_table(r, "_object_types"), by_id ? "id" : "name");
	enum db_status st = db_exec(r->db, r->a, sql, p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Object type not found");
	objtype_t *t = arena_calloc(r->a, 1, sizeof(*t));
	t->id = db_get(res, 0, "id");
	t->name = db_get(res, 0, "name");
	t->display_name = db_get(res, 0, "display_name");
	t->description = db_get(res, 0, "description");
	t->created_at = db_get(res, 0, "created_at");
	t->updated_at = db_get(res, 0, "updated_at");
	t->table = tenant_table(r, t->name);

	db_result *pr;
	db_param q[] = { db_str(t->id) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, object_type_id, name, display_name, data_type, is_required, is_unique, "
		"is_indexed, is_sortable, default_value, enum_values, description, created_at, "
		"updated_at FROM %s WHERE object_type_id = ? ORDER BY created_at, id",
		tenant_table(r, "_properties")), q, 1, &pr);
	if (st)
		return req_db_error(r, st);
	t->props_json = req_own(r, rows_to_json(prop_cols, pr));
	t->nprops = pr->nrows;
	t->props = arena_calloc(r->a, (size_t)(pr->nrows ? pr->nrows : 1), sizeof(prop_t));
	for (int i = 0; i < pr->nrows; i++) {
		prop_t *pp = &t->props[i];
		const cJSON *pj = cJSON_GetArrayItem(t->props_json, i);
		pp->id = db_get(pr, i, "id");
		pp->name = db_get(pr, i, "name");
		pp->type = dtype_find(db_get(pr, i, "data_type"));
		pp->required = db_get_int(pr, i, "is_required", 0);
		pp->unique = db_get_int(pr, i, "is_unique", 0);
		pp->indexed = db_get_int(pr, i, "is_indexed", 0);
		pp->sortable = db_get_int(pr, i, "is_sortable", 0);
		const cJSON *dv = cJSON_GetObjectItemCaseSensitive(pj, "default_value");
		pp->default_value = cJSON_IsNull(dv) ? NULL : dv;
		pp->enum_values = cJSON_GetObjectItemCaseSensitive(pj, "enum_values");
		if (!pp->type)
			return req_fail(r, E_INTERNAL, "property %s has an unknown data type", pp->name);
	}
	*out = t;
	return E_OK;
}

const prop_t *objtype_prop(const objtype_t *t, const char *name)
{
	for (int i = 0; i < t->nprops; i++)
		if (strcmp(t->props[i].name, name) == 0)
			return &t->props[i];
	return NULL;
}

cJSON *objtype_json(req_t *r, const objtype_t *t, bool with_props)
{
	char ca[RFC3339_LEN], ua[RFC3339_LEN];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", t->id);
	cJSON_AddStringToObject(o, "tenant_id", r->tenant.id);
	cJSON_AddStringToObject(o, "name", t->name);
	cJSON_AddStringToObject(o, "display_name", t->display_name);
	if (t->description)
		cJSON_AddStringToObject(o, "description", t->description);
	else
		cJSON_AddNullToObject(o, "description");
	cJSON_AddStringToObject(o, "created_at", time_from_sql(ca, t->created_at));
	cJSON_AddStringToObject(o, "updated_at", time_from_sql(ua, t->updated_at));
	if (with_props)
		cJSON_AddItemToObject(o, "properties", cJSON_Duplicate(t->props_json, true));
	return o;
}

err_t outbox_add(req_t *r, const char *event, const char *resource_type,
		 const char *resource_id, const cJSON *payload)
{
	char id[40];
	id_new(id, sizeof(id), "evt_");
	char *pj = cJSON_PrintUnformatted(payload);
	char *copy = arena_strdup(r->a, pj ? pj : "{}");
	cJSON_free(pj);
	db_param p[] = { db_str(id), db_str(r->tenant.id), db_str(event), db_str(resource_type),
			 db_str(resource_id), db_str(copy) };
	enum db_status st = db_exec(r->db, r->a,
		"INSERT INTO outbox (id, tenant_id, event, resource_type, resource_id, payload, "
		"created_at) VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))", p, 6, NULL);
	return st ? req_db_error(r, st) : E_OK;
}
