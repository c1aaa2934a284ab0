/*
 * views.c - saved views: named filter/sort/column presets of an object
 * type, rows of _views in the tenant DB.  A view's filters use the object
 * list's filter syntax and are checked by the list's rules when saved
 * (filters_validate); its sort names created_at, updated_at or a sortable
 * property; its columns name properties (or the object's own fields).
 * Names are unique per type, ignoring case like every name in the tenant
 * DB.  The object list applies a view through views_get_for_list().
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/ids.h"
#include "../common/rowjson.h"
#include "audit.h"
#include "objmodel.h"
#include "views.h"
#include "routes.h"

#define VIEW_COLUMNS_MAX 200

const field_t view_create_body[] = {
	{ "name", FT_STRING, FF_REQUIRED, 1, 255 },
	{ "filters", FT_ARRAY, FF_NULLABLE, 0, OBJ_FILTERS_MAX },
	{ "sort", FT_OBJECT, FF_NULLABLE, 0, 0 },
	{ "columns", FT_STRING_ARRAY, FF_NULLABLE, 0, VIEW_COLUMNS_MAX },
	{ NULL, 0, 0, 0, 0 },
};

const field_t view_update_body[] = {
	{ "name", FT_STRING, 0, 1, 255 },
	{ "filters", FT_ARRAY, FF_NULLABLE, 0, OBJ_FILTERS_MAX },
	{ "sort", FT_OBJECT, FF_NULLABLE, 0, 0 },
	{ "columns", FT_STRING_ARRAY, FF_NULLABLE, 0, VIEW_COLUMNS_MAX },
	{ NULL, 0, 0, 0, 0 },
};

static const col_t view_cols[] = {
	{ "id", COL_STR, 0 },
	{ "object_type_id", COL_STR, 0 },
	{ "name", COL_STR, 0 },
	{ "filters", COL_JSON, 0 },
	{ "sort", COL_JSON, 0 },
	{ "columns", COL_JSON, 0 },
	{ "created_by", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ "updated_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

static const type_child_t view_child = {
	"_views",
	"id, object_type_id, name, filters, `sort`, `columns`, created_by, created_at, updated_at",
	view_cols, "View",
};

/* The parts of a view a request sets, checked and ready to bind. */
typedef struct view_in {
	const char *name;
	const char *filters;   /* JSON text */
	const char *sort;      /* JSON text or NULL */
	const char *columns;   /* JSON text or NULL */
} view_in_t;

static const char *actor(const req_t *r)
{
	return r->who.kind == PRINCIPAL_USER ? r->who.user_id : r->who.key_id;
}

static const char *json_text(req_t *r, const cJSON *v)
{
	if (!v || cJSON_IsNull(v))
		return NULL;
	char *s = cJSON_PrintUnformatted(v);
	const char *c = arena_strdup(r->a, s ? s : "null");
	cJSON_free(s);
	return c;
}

static err_t check_name(req_t *r, const char *name)
{
	if (name[strspn(name, " \t\r\n")] == '\0')
		return req_fail_field(r, E_VALIDATION, "name", "name must not be blank");
	return E_OK;
}

static bool time_column(const char *name)
{
	return !strcmp(name, "created_at") || !strcmp(name, "updated_at");
}

/* sort: null, or {"property": created_at|updated_at|a sortable property,
 * "order": "asc"|"desc" (default "desc", the list's default)}.  *out is
 * the normalised object as stored (NULL for null). */
static err_t check_sort(req_t *r, const objtype_t *t, const cJSON *sort, const char *field,
			const char **out)
{
	*out = NULL;
	if (!sort || cJSON_IsNull(sort))
		return E_OK;
	if (!cJSON_IsObject(sort))
		return req_fail_field(r, E_VALIDATION, field, "%s must be an object or null", field);
	const cJSON *it;
	cJSON_ArrayForEach(it, sort)
		if (strcmp(it->string, "property") && strcmp(it->string, "order"))
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.%.60s", field, it->string),
					      "%s takes only property and order", field);
	const char *pfield = arena_printf(r->a, "%s.property", field);
	const cJSON *prop = cJSON_GetObjectItemCaseSensitive(sort, "property");
	if (!cJSON_IsString(prop))
		return req_fail_field(r, E_VALIDATION, pfield, "%s must be a string", pfield);
	const prop_t *p = objtype_prop(t, prop->valuestring);
	if (!time_column(prop->valuestring) && (!p || !p->sortable))
		return req_fail_field(r, E_VALIDATION, pfield,
				      "%s must be created_at, updated_at or a sortable property", pfield);
	const cJSON *order = cJSON_GetObjectItemCaseSensitive(sort, "order");
	const char *ofield = arena_printf(r->a, "%s.order", field);
	if (order && (!cJSON_IsString(order) ||
		      (strcasecmp(order->valuestring, "asc") && strcasecmp(order->valuestring, "desc"))))
		return req_fail_field(r, E_VALIDATION, ofield, "%s must be asc or desc", ofield);
	cJSON *n = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(n, "property", prop->valuestring);
	cJSON_AddStringToObject(n, "order",
				order && !strcasecmp(order->valuestring, "asc") ? "asc" : "desc");
	*out = json_text(r, n);
	return E_OK;
}

/* columns: null, or distinct names of properties or of the object's own
 * fields, in display order. */
static err_t check_columns(req_t *r, const objtype_t *t, const cJSON *cols, const char **out)
{
	static const char *const own[] = { "id", "created_at", "updated_at", "created_by", "version" };
	*out = NULL;
	if (!cols || cJSON_IsNull(cols))
		return E_OK;
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, cols) {
		const char *field = arena_printf(r->a, "columns[%d]", i++);
		bool known = objtype_prop(t, it->valuestring) != NULL;
		for (size_t k = 0; !known && k < sizeof(own) / sizeof(own[0]); k++)
			known = !strcmp(own[k], it->valuestring);
		if (!known)
			return req_fail_field(r, E_VALIDATION, field, "%.60s is not a property of %s",
					      it->valuestring, t->name);
		for (const cJSON *o = cols->child; o != it; o = o->next)
			if (!strcmp(o->valuestring, it->valuestring))
				return req_fail_field(r, E_VALIDATION, field, "columns names %.60s twice",
						      it->valuestring);
	}
	*out = json_text(r, cols);
	return E_OK;
}

/* Checks the body's fields that are present into *in (absent ones keep
 * what *in holds). */
static err_t check_body(req_t *r, const objtype_t *t, view_in_t *in)
{
	err_t rc;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(r->json, "name");
	if (name) {
		if ((rc = check_name(r, name->valuestring)))
			return rc;
		in->name = name->valuestring;
	}
	const cJSON *filters = cJSON_GetObjectItemCaseSensitive(r->json, "filters");
	if (filters && !cJSON_IsNull(filters)) {
		if ((rc = filters_validate(r, t, filters, "filters")))
			return rc;
		in->filters = json_text(r, filters);
	} else if (filters) {
		in->filters = "[]";
	}
	const cJSON *sort = cJSON_GetObjectItemCaseSensitive(r->json, "sort");
	if (sort && (rc = check_sort(r, t, sort, "sort", &in->sort)))
		return rc;
	const cJSON *cols = cJSON_GetObjectItemCaseSensitive(r->json, "columns");
	if (cols && (rc = check_columns(r, t, cols, &in->columns)))
		return rc;
	return E_OK;
}

static err_t audit(req_t *r, const char *action, const char *id, const objtype_t *t,
		   const char *name)
{
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "object_type_id", t->id);
	cJSON_AddStringToObject(details, "name", name);
	return req_audit(r, action, "view", id, details);
}

static err_t duplicate(req_t *r, const char *name)
{
	return req_fail_field(r, E_CONFLICT, "name", "A view named \"%.255s\" already exists", name);
}

/* Replies with view id of t as it is now. */
static err_t reply_view(req_t *r, const objtype_t *t, const char *id, int status)
{
	db_result *res;
	err_t rc = type_child_fetch(r, &view_child, t, id, &res);
	if (rc)
		return rc;
	reply_data(r, status, row_to_json(view_cols, res, 0));
	return E_OK;
}

err_t views_list(req_t *r)
{
	return type_child_list(r, &view_child);
}

err_t views_create(req_t *r)
{
	objtype_t *t;
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &t);
	if (rc)
		return rc;
	view_in_t in = { .filters = "[]" };
	if ((rc = check_body(r, t, &in)))
		return rc;
	char id[40];
	id_new(id, sizeof(id), "view_");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(id), db_str(t->id), db_str(in.name), db_str(in.filters),
			 db_str(in.sort), db_str(in.columns), db_str(actor(r)) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, object_type_id, name, filters, `sort`, `columns`, created_by, "
		"created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		tenant_table(r, "_views")), p, 7, NULL);
	rc = st == DB_DUPLICATE ? duplicate(r, in.name) : st ? req_db_error(r, st)
	     : audit(r, "view.created", id, t, in.name);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return reply_view(r, t, id, 201);
}

err_t views_update(req_t *r)
{
	objtype_t *t;
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &t);
	if (rc)
		return rc;
	db_result *old;
	const char *id = req_param(r, "view_id");
	if ((rc = type_child_fetch(r, &view_child, t, id, &old)))
		return rc;
	view_in_t in = { .name = db_get(old, 0, "name"), .filters = db_get(old, 0, "filters"),
			 .sort = db_get(old, 0, "sort"), .columns = db_get(old, 0, "columns") };
	if ((rc = check_body(r, t, &in)))
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(in.name), db_str(in.filters), db_str(in.sort), db_str(in.columns),
			 db_str(id), db_str(t->id) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET name = ?, filters = ?, `sort` = ?, `columns` = ?, "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND object_type_id = ?",
		tenant_table(r, "_views")), p, 6, NULL);
	rc = st == DB_DUPLICATE ? duplicate(r, in.name) : st ? req_db_error(r, st)
	     : audit(r, "view.updated", id, t, in.name);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return reply_view(r, t, id, 200);
}

err_t views_delete(req_t *r)
{
	objtype_t *t;
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &t);
	if (rc)
		return rc;
	db_result *old;
	const char *id = req_param(r, "view_id");
	if ((rc = type_child_fetch(r, &view_child, t, id, &old)))
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(id), db_str(t->id) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"DELETE FROM %s WHERE id = ? AND object_type_id = ?", tenant_table(r, "_views")),
		p, 2, NULL);
	rc = st ? req_db_error(r, st) : audit(r, "view.deleted", id, t, db_get(old, 0, "name"));
	if ((rc = req_tx_end(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "id", id);
	cJSON_AddTrueToObject(d, "deleted");
	reply_data(r, 200, d);
	return E_OK;
}

err_t views_get_for_list(req_t *r, const objtype_t *t, const char *view_id, cJSON **filters,
			 const char **sort, const char **order)
{
	db_result *res;
	err_t rc = type_child_fetch(r, &view_child, t, view_id, &res);
	if (rc)
		return rc;
	const char *ft = db_get(res, 0, "filters");
	cJSON *fl = req_own(r, cJSON_Parse(ft ? ft : "[]"));
	if ((rc = filters_validate(r, t, fl, "view.filters")))
		return rc;
	const char *sort_text = db_get(res, 0, "sort");
	const cJSON *sj = sort_text ? req_own(r, cJSON_Parse(sort_text)) : NULL;
	const char *norm;
	if ((rc = check_sort(r, t, sj, "view.sort", &norm)))
		return rc;
	*filters = fl;
	*sort = NULL;
	*order = NULL;
	if (norm) {
		*sort = arena_strdup(r->a, cJSON_GetObjectItemCaseSensitive(sj, "property")->valuestring);
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(sj, "order");
		*order = cJSON_IsString(o) && !strcasecmp(o->valuestring, "asc") ? "asc" : "desc";
	}
	return E_OK;
}

long long views_count(req_t *r, const char *object_type_id, err_t *rc)
{
	return type_child_count(r, &view_child, object_type_id, rc);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t views_routes[] = {
	ROUTE("GET", "/v1/object-types/:object_type_id/views", "Views", AUTH_BEARER, "read", NULL, 0, views_list, NULL, "List saved views"),
	ROUTE("POST", "/v1/object-types/:object_type_id/views", "Views", AUTH_BEARER, "schema", NULL, 0, views_create, view_create_body, "Create saved view"),
	ROUTE("PATCH", "/v1/object-types/:object_type_id/views/:view_id", "Views", AUTH_BEARER, "schema", NULL, 0, views_update, view_update_body, "Update saved view"),
	ROUTE("DELETE", "/v1/object-types/:object_type_id/views/:view_id", "Views", AUTH_BEARER, "schema", NULL, 0, views_delete, NULL, "Delete saved view"),
	ROUTES_END,
};
