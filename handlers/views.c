/*
 * views.c - saved views: named filter/sort/column presets of an object
 * type, rows of _views in the tenant DB, served by the resource engine
 * (fcgi/resource.h) with the type as their parent.  A view's filters use
 * the object list's filter syntax and are checked by the list's rules when
 * saved (filters_validate); its sort names created_at, updated_at or a
 * sortable property; its columns name properties (or the object's own
 * fields).  Names are unique per type, ignoring case like every name in
 * the tenant DB.  The object list applies a view through
 * views_get_for_list().
 */
#include <string.h>
#include <strings.h>

#include "../common/jsonx.h"
#include "objmodel.h"
#include "views.h"
#include "routes.h"

#define VIEW_COLUMNS_MAX 200

static err_t check_name(req_t *r, const res_field_t *f, const cJSON *name)
{
	(void)f;
	if (name->valuestring[strspn(name->valuestring, " \t\r\n")] == '\0')
		return req_fail_field(r, E_VALIDATION, "name", "name must not be blank");
	return E_OK;
}

/* sort: null, or {"property": created_at|updated_at|a sortable property,
 * "order": "asc"|"desc" (default "desc", the list's default)}.  *prop and
 * *order are its parts, the order normalised (NULL for null). */
static err_t check_sort(req_t *r, const objtype_t *t, const cJSON *sort, const char *field,
			const char **prop, const char **order)
{
	*prop = *order = NULL;
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
	const char *name = json_str_of(sort, "property");
	if (!name)
		return req_fail_field(r, E_VALIDATION, pfield, "%s must be a string", pfield);
	const prop_t *p = objtype_prop(t, name);
	if (strcmp(name, "created_at") && strcmp(name, "updated_at") && (!p || !p->sortable))
		return req_fail_field(r, E_VALIDATION, pfield,
				      "%s must be created_at, updated_at or a sortable property", pfield);
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(sort, "order");
	const char *ofield = arena_printf(r->a, "%s.order", field);
	if (o && (!cJSON_IsString(o) ||
		  (strcasecmp(o->valuestring, "asc") && strcasecmp(o->valuestring, "desc"))))
		return req_fail_field(r, E_VALIDATION, ofield, "%s must be asc or desc", ofield);
	*prop = name;
	*order = o && !strcasecmp(o->valuestring, "asc") ? "asc" : "desc";
	return E_OK;
}

/* columns: null, or distinct names of properties or of the object's own
 * fields, in display order. */
static err_t check_columns(req_t *r, const objtype_t *t, const cJSON *cols)
{
	static const char *const own[] = { "id", "created_at", "updated_at", "created_by", "version" };
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
	return E_OK;
}

static const res_field_t view_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "object_type_id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED | RF_UNIQUE,
	  .min = 1, .max = 255, .check = check_name },
	{ .name = "filters", .type = COL_JSON, .in = FT_ARRAY, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = OBJ_FILTERS_MAX },
	{ .name = "sort", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_WRITABLE | RF_NULLABLE },
	{ .name = "columns", .type = COL_JSON, .in = FT_STRING_ARRAY, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = VIEW_COLUMNS_MAX },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* Checks filters, sort and columns against the type, in that order; a
 * view always has filters (null or none is []) and stores its sort
 * normalised.  The name is checked last, against the type's other views. */
static err_t view_validate(req_t *r, res_ctx_t *c)
{
	const objtype_t *t = c->parent;
	const cJSON *filters = cJSON_GetObjectItemCaseSensitive(c->body, "filters");
	const cJSON *sort = cJSON_GetObjectItemCaseSensitive(c->body, "sort");
	const char *prop = NULL, *order = NULL;
	err_t rc;
	if ((filters && !cJSON_IsNull(filters) && (rc = filters_validate(r, t, filters, "filters"))) ||
	    (sort && (rc = check_sort(r, t, sort, "sort", &prop, &order))) ||
	    (rc = check_columns(r, t, cJSON_GetObjectItemCaseSensitive(c->body, "columns"))))
		return rc;
	if (cJSON_IsNull(filters) || (!filters && c->op == OP_CREATE))
		resource_set(c, "filters", db_str("[]"));
	cJSON *norm = NULL;
	if (prop) {
		norm = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(norm, "property", prop);
		cJSON_AddStringToObject(norm, "order", order);
	}
	if (sort)
		resource_set(c, "sort", db_str(req_json_text(r, norm)));
	const char *name;
	bool taken;
	if ((rc = type_child_name(r, c, &name, &taken)))
		return rc;
	if (taken)
		return req_fail_field(r, E_CONFLICT, "name", "A view named \"%.255s\" already exists", name);
	if (c->op == OP_UPDATE) {
		/* Like the engine's entry for create and delete, without the
		 * list of fields an update adds. */
		c->audit = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(c->audit, "object_type_id", c->parent_id);
		cJSON_AddStringToObject(c->audit, "name", name);
	}
	return E_OK;
}

static const res_hooks_t view_hooks = {
	.parent = type_child_parent,
	.validate = view_validate,
};

const resource_t view_res = {
	.name = "View",
	.type = "view",
	.table = "_views",
	.home = RES_TENANT,
	.id_param = "view_id",
	.id_prefix = "view_",
	.fields = view_fields,
	.parent_param = "object_type_id",
	.parent_column = "object_type_id",
	.order = "name",
	.title = "name",
	.flags = RES_CREATED_BY,
	.list_max = 1000,
	.hooks = &view_hooks,
	.example = "{\"name\":\"probe\"}",
};

err_t views_get_for_list(req_t *r, const objtype_t *t, const char *view_id, cJSON **filters,
			 const char **sort, const char **order)
{
	cJSON *v;
	err_t rc = type_child_fetch(r, &view_res, t, view_id, &v);
	if (rc)
		return rc;
	/* Rendered numbers are raw text (rowjson.c); the filter checks and the
	 * list's SQL take the parsed form. */
	const char *ft = req_json_text(r, cJSON_GetObjectItemCaseSensitive(v, "filters"));
	cJSON *fl = req_own(r, cJSON_Parse(ft ? ft : "[]"));
	if ((rc = filters_validate(r, t, fl, "view.filters")))
		return rc;
	if ((rc = check_sort(r, t, cJSON_GetObjectItemCaseSensitive(v, "sort"), "view.sort", sort,
			     order)))
		return rc;
	*filters = fl;
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t views_routes[] = {
	CRUD("GET", "/v1/object-types/:object_type_id/views", "Views", "read", NULL, 0, view_res, OP_LIST, "List saved views"),
	CRUD("POST", "/v1/object-types/:object_type_id/views", "Views", "schema", NULL, 0, view_res, OP_CREATE, "Create saved view"),
	CRUD("PATCH", "/v1/object-types/:object_type_id/views/:view_id", "Views", "schema", NULL, 0, view_res, OP_UPDATE, "Update saved view"),
	CRUD("DELETE", "/v1/object-types/:object_type_id/views/:view_id", "Views", "schema", NULL, 0, view_res, OP_DELETE, "Delete saved view"),
	ROUTES_END,
};
