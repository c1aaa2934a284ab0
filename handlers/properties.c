/*
 * properties.c - an object type's properties.  Each is a row in _properties
 * and a VIRTUAL generated column of the type's table, computed from the
 * object's JSON; is_indexed/is_sortable add an index, is_unique a UNIQUE
 * index over (column, _alive) so that objects in the trash never conflict.
 * Every schema change is one ALTER TABLE, so it happens whole or not at all.
 *
 * Properties are a resource on the engine (fcgi/resource.h), the type as
 * parent; the path names a property by id or by name.  An ALTER cannot run
 * inside a transaction (MariaDB commits it implicitly first): an update's
 * or a delete's runs in the last hook before the engine's transaction
 * (validate, before_delete), before the row is written, so that one that
 * fails leaves the property as it was; a create's runs in the ddl hook,
 * after the row, which the engine deletes again when the ALTER fails.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../common/jsonx.h"
#include "../common/log.h"
#include "objmodel.h"
#include "routes.h"

#define MAX_ENUM_VALUES 500

/* A property index also carries the list's default order, so that "filter
 * on this property, newest first" and its count are answered from the
 * index alone, without reading (or computing) any other column. */
#define PROP_INDEX_COLS "`%s`, is_deleted, created_at, id"

/* The object table's own columns, which no property may shadow. */
static const char *const reserved_props[] = { "id", "properties", "created_at", "updated_at",
					      "created_by", "version", "is_deleted", "deleted_at",
					      NULL };

/* The flags the body sets on p; the others keep p's values. */
static void flags_read(prop_t *p, const cJSON *body)
{
	static const char *const names[] = { "is_required", "is_unique", "is_indexed",
					     "is_sortable" };
	bool *flags[] = { &p->required, &p->unique, &p->indexed, &p->sortable };
	for (int i = 0; i < 4; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, names[i]);
		if (v)
			*flags[i] = cJSON_IsTrue(v);
	}
}

/* Checks the property p would have: its enum_values and default_value,
 * then its index flags.  On success *def_text is the default as it is
 * stored (NULL for none): normalised like an object's value (datetimes in
 * UTC, times with seconds, decimals exact), so that an object that takes
 * it holds what it would have had it sent the value itself.  check_ref:
 * also check that a reference default exists (a default given in this
 * request). */
static err_t check_values(req_t *r, prop_t *p, const cJSON *enums, const cJSON *def,
			  bool check_ref, char **def_text)
{
	*def_text = NULL;
	bool is_enum = !strcmp(p->type->name, "enum") || !strcmp(p->type->name, "multi_enum");
	if (is_enum) {
		if (!cJSON_IsArray(enums) || cJSON_GetArraySize(enums) == 0)
			return req_fail_field(r, E_VALIDATION, "enum_values",
					      "enum_values must be a non-empty array of strings for %s",
					      p->type->name);
		const cJSON *it;
		cJSON_ArrayForEach(it, enums) {
			if (!*it->valuestring || strlen(it->valuestring) > 255)
				return req_fail_field(r, E_VALIDATION, "enum_values",
						      "enum_values must be 1 to 255 characters each");
			for (const cJSON *o = it->next; o; o = o->next)
				if (strcmp(o->valuestring, it->valuestring) == 0)
					return req_fail_field(r, E_VALIDATION, "enum_values",
							      "enum_values has \"%.60s\" twice", it->valuestring);
		}
	} else if (enums && !cJSON_IsNull(enums)) {
		return req_fail_field(r, E_VALIDATION, "enum_values",
				      "enum_values applies only to enum and multi_enum");
	}
	p->enum_values = enums;
	if (def && !cJSON_IsNull(def)) {
		char msg[256];
		cJSON *norm = p->type->check(p, def, msg, sizeof(msg));
		if (!norm)
			return req_fail_field(r, E_VALIDATION, "default_value", "default_value: %s", msg);
		*def_text = req_json_text(r, norm);
		/* A reference or file default must exist, as an object's value must. */
		err_t rc = E_OK;
		bool found = true;
		if (check_ref)
			rc = prop_target_exists(r, p, norm->valuestring, &found);
		if (!rc && !found)
			rc = req_fail_field(r, E_VALIDATION, "default_value",
					    "default_value: no %s %s in this tenant", prop_target_noun(p),
					    norm->valuestring);
		cJSON_Delete(norm);
		if (rc)
			return rc;
	}
	if ((p->unique || p->indexed || p->sortable) && !p->type->indexable)
		return req_fail_field(r, E_VALIDATION,
				      p->unique ? "is_unique" : p->indexed ? "is_indexed" : "is_sortable",
				      "%s properties cannot be indexed, sortable or unique",
				      p->type->name);
	return E_OK;
}

/* Objects may already hold values under p's name: a deleted property
 * leaves its values in the objects' JSON, and enum_values may shrink.
 * Every such value (in the trash too: it can be restored) must fit p, or
 * the change is refused with 400 naming field, before anything is written. */
#define EXISTING_PAGE 1000
static err_t check_existing(req_t *r, const objtype_t *t, const prop_t *p, const char *field)
{
	const char *path = arena_printf(r->a, "'$.%s'", p->name);
	const char *sql = arena_printf(r->a,
		"SELECT id, JSON_EXTRACT(properties, %s) AS v FROM %s WHERE id > ? AND "
		"JSON_CONTAINS_PATH(properties, 'one', %s) ORDER BY id LIMIT %d",
		path, t->table, path, EXISTING_PAGE);
	const char *after = "";
	for (;;) {
		db_result *res;
		db_param q[] = { db_str(after) };
		enum db_status st = db_exec(r->db, r->a, sql, q, 1, &res);
		if (st)
			return req_db_error(r, st);
		for (int i = 0; i < res->nrows; i++) {
			const char *v = db_get(res, i, "v");
			cJSON *val = v ? cJSON_Parse(v) : NULL;
			if (cJSON_IsNull(val)) { /* a null is no value */
				cJSON_Delete(val);
				continue;
			}
			char msg[256];
			snprintf(msg, sizeof(msg), "%s has no readable value", p->name);
			cJSON *norm = val ? p->type->check(p, val, msg, sizeof(msg)) : NULL;
			cJSON_Delete(val);
			if (!norm)
				return req_fail_field(r, E_VALIDATION, field,
						      "Object %s already holds a value of \"%s\" that does not fit: %s",
						      db_get(res, i, "id"), p->name, msg);
			cJSON_Delete(norm);
		}
		if (res->nrows < EXISTING_PAGE)
			return E_OK;
		after = db_get(res, res->nrows - 1, "id");
	}
}

/* The clause that adds (add) or drops p's index: the unique one over
 * (column, _alive), or the one a filter or sort uses.  Index names come
 * from the property id (names may be 63 characters, and "ix_" + 63 would
 * pass MariaDB's 64). */
static char *index_clause(req_t *r, const prop_t *p, bool unique, bool add)
{
	char *ix = arena_printf(r->a, "%s_%s", unique ? "ux" : "ix", p->id);
	for (char *s = ix; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	if (!add)
		return arena_printf(r->a, "DROP INDEX `%s`", ix);
	return unique ? arena_printf(r->a, "ADD UNIQUE INDEX `%s` (`%s`, _alive)", ix, p->name)
		      : arena_printf(r->a, "ADD INDEX `%s` (" PROP_INDEX_COLS ")", ix, p->name);
}

/* The clauses a and b (a may be NULL) of one ALTER. */
static char *clause_join(req_t *r, const char *a, const char *b)
{
	return a ? arena_printf(r->a, "%s, %s", a, b) : (char *)b;
}

/* The clauses that add (add) or drop p's column with its indexes.  The
 * indexes are dropped by name: MariaDB refuses to drop a column still in a
 * multi-column index such as the unique (column, _alive). */
static char *column_clauses(req_t *r, const prop_t *p, bool add)
{
	char *alter = NULL;
	if (add)
		alter = arena_printf(r->a, "ADD COLUMN `%s` %s AS (%s) VIRTUAL", p->name,
				     p->type->column, dtype_column_expr(r->a, p->type, p->name));
	if (p->indexed || p->sortable)
		alter = clause_join(r, alter, index_clause(r, p, false, add));
	if (p->unique)
		alter = clause_join(r, alter, index_clause(r, p, true, add));
	if (!add)
		alter = clause_join(r, alter, arena_printf(r->a, "DROP COLUMN `%s`", p->name));
	return alter;
}

/* Runs the ALTER clauses on type t's table and maps its failure:
 * duplicates to 409 naming property p, data that does not fit the type to
 * 400. */
static err_t run_alter(req_t *r, const objtype_t *t, const prop_t *p, const char *clauses)
{
	enum db_status st = db_exec_text(r->db, arena_printf(r->a, "ALTER TABLE %s %s", t->table,
							     clauses));
	if (st == DB_OK)
		return E_OK;
	if (st == DB_DUPLICATE)
		return req_fail_field(r, E_CONFLICT, p->name,
				      "Objects already hold duplicate values of \"%s\"", p->name);
	if (st == DB_ERROR) {
		log_warn("%s: ALTER for %s failed: %s", r->request_id, p->name, db_last_error(r->db));
		return req_fail_field(r, E_VALIDATION, p->name,
				      "Existing objects hold values of \"%s\" that do not fit its data type",
				      p->name);
	}
	return req_db_error(r, st);
}

/* The audit details of a property's write: its name, and on create the
 * type and data type. */
static void prop_audit(req_t *r, res_ctx_t *c, const prop_t *p)
{
	c->audit = req_own(r, cJSON_CreateObject());
	if (c->op == OP_CREATE)
		cJSON_AddStringToObject(c->audit, "object_type_id", c->parent_id);
	cJSON_AddStringToObject(c->audit, "name", p->name);
	if (c->op == OP_CREATE)
		cJSON_AddStringToObject(c->audit, "data_type", p->type->name);
}

/* --- the descriptor ------------------------------------------------------- */

/* Most properties a list returns at once: more than a type's table can
 * have columns (InnoDB: 1017), so a list has every property. */
#define PROPS_LIST_MAX 1017

/* The fields carry what create and PATCH accept.  A property's name and
 * data type are fixed at creation: PATCH accepts them only to refuse them
 * with a clear message, as fields of their own that are never stored; a
 * create may send a null display name (for the default one) that PATCH
 * may not, in a field of its own that is never rendered. */
#define PROP_W (RF_CREATE | RF_UPDATE)
static const res_field_t prop_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "object_type_id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_REQUIRED,
	  .min = 1, .max = 63 },
	{ .name = "name", .in = FT_ANY, .flags = RF_UPDATE | RF_NULLABLE | RF_INPUT },
	{ .name = "display_name", .type = COL_STR, .in = FT_STRING, .flags = RF_UPDATE,
	  .min = 1, .max = 255 },
	{ .name = "data_type", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_REQUIRED,
	  .min = 1, .max = 16 },
	{ .name = "data_type", .in = FT_ANY, .flags = RF_UPDATE | RF_NULLABLE | RF_INPUT },
	{ .name = "display_name", .in = FT_STRING, .flags = RF_CREATE | RF_NULLABLE | RF_HIDDEN,
	  .min = 1, .max = 255 },
	{ .name = "is_required", .type = COL_BOOL, .in = FT_BOOL, .flags = PROP_W },
	{ .name = "is_unique", .type = COL_BOOL, .in = FT_BOOL, .flags = PROP_W },
	{ .name = "is_indexed", .type = COL_BOOL, .in = FT_BOOL, .flags = PROP_W },
	{ .name = "is_sortable", .type = COL_BOOL, .in = FT_BOOL, .flags = PROP_W },
	{ .name = "default_value", .type = COL_JSON, .in = FT_ANY, .flags = PROP_W | RF_NULLABLE },
	{ .name = "enum_values", .type = COL_JSON, .in = FT_STRING_ARRAY,
	  .flags = PROP_W | RF_NULLABLE, .max = MAX_ENUM_VALUES },
	{ .name = "description", .type = COL_STR, .in = FT_STRING, .flags = PROP_W | RF_NULLABLE,
	  .max = 2000 },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The type named in the path (read from the database, not the cache, for
 * a change), and the property named by id or by name: its row id, and its
 * prop_t in c->data. */
static err_t prop_parent(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_LIST)
		r->tenant.schema_gen = NULL;
	err_t rc = type_child_parent(r, c);
	if (rc || !c->id)
		return rc;
	objtype_t *t = c->parent;
	for (int i = 0; i < t->nprops; i++) {
		if (strcmp(t->props[i].id, c->id) == 0 || strcmp(t->props[i].name, c->id) == 0) {
			c->data = &t->props[i];
			c->id = t->props[i].id;
			return E_OK;
		}
	}
	return req_fail(r, E_NOT_FOUND, "Property not found");
}

/* A name the type's properties hold, found before the create or refused
 * by the unique key (type, name) when the create raced another. */
static err_t prop_conflict(req_t *r, res_ctx_t *c)
{
	return req_fail_field(r, E_CONFLICT, "name", "Property \"%s\" already exists",
			      json_str_of(c->body, "name"));
}

/*
 * Create: the property (in c->data for prop_ddl) is checked whole, and
 * against the values objects already hold under its name; its display
 * name defaults to one made from the name, its default is stored
 * normalised.
 */
static err_t prop_create_check(req_t *r, res_ctx_t *c)
{
	const objtype_t *t = c->parent;
	const char *name = json_str_of(c->body, "name"), *dt = json_str_of(c->body, "data_type");
	err_t rc = schema_name_check(r, name, reserved_props);
	if (rc)
		return rc;
	prop_t *p = arena_alloc(r->a, sizeof(*p));
	*p = (prop_t){ .id = c->id, .name = name, .type = dtype_find(dt) };
	if (!p->type)
		return req_fail_field(r, E_VALIDATION, "data_type", "data_type must be one of: %s",
				      dtype_names());
	flags_read(p, c->body);
	char *def_text;
	if ((rc = check_values(r, p, cJSON_GetObjectItemCaseSensitive(c->body, "enum_values"),
			       cJSON_GetObjectItemCaseSensitive(c->body, "default_value"), true,
			       &def_text)))
		return rc;
	if (objtype_prop(t, name))
		return prop_conflict(r, c);
	if ((rc = check_existing(r, t, p, "data_type")))
		return rc;
	resource_set(c, "default_value", db_str(def_text));
	if (!json_str_of(c->body, "display_name"))
		resource_set(c, "display_name", db_str(display_name_from(r->a, name)));
	c->data = p;
	prop_audit(r, c, p);
	return E_OK;
}

/* Create, after the row: the column, computed from the objects' JSON,
 * with its indexes. */
static err_t prop_ddl(req_t *r, res_ctx_t *c)
{
	return run_alter(r, c->parent, c->data, column_clauses(r, c->data, true));
}

/*
 * Update: the property as it would be is checked whole (its values, its
 * index flags, the values objects hold when enum_values change); then its
 * index changes are made, before the row is written: if a new unique index
 * meets duplicates, the ALTER fails whole and the row is never touched.
 * The default is stored normalised.
 */
static err_t prop_validate(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_CREATE)
		return prop_create_check(r, c);
	const objtype_t *t = c->parent;
	const prop_t *old = c->data;
	if (cJSON_GetObjectItemCaseSensitive(c->body, "name"))
		return req_fail_field(r, E_VALIDATION, "name",
				      "name cannot be changed; create a new property instead");
	if (cJSON_GetObjectItemCaseSensitive(c->body, "data_type"))
		return req_fail_field(r, E_VALIDATION, "data_type",
				      "data_type cannot be changed; create a new property instead");
	prop_t p = *old;
	flags_read(&p, c->body);
	const cJSON *enums = cJSON_GetObjectItemCaseSensitive(c->body, "enum_values");
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(c->body, "default_value");
	char *def_text;
	err_t rc;
	if ((rc = check_values(r, &p, enums ? enums : old->enum_values,
			       def ? def : old->default_value, def != NULL, &def_text)) ||
	    (enums && (rc = check_existing(r, t, &p, "enum_values"))))
		return rc;
	if (def)
		resource_set(c, "default_value", db_str(def_text));
	char *alter = NULL;
	if ((old->indexed || old->sortable) != (p.indexed || p.sortable))
		alter = index_clause(r, &p, false, p.indexed || p.sortable);
	if (old->unique != p.unique)
		alter = clause_join(r, alter, index_clause(r, &p, true, p.unique));
	if (alter && (rc = run_alter(r, t, &p, alter)))
		return rc;
	prop_audit(r, c, &p);
	return E_OK;
}

/* Delete: the column goes with its indexes, before the row; the JSON
 * values stay in the objects, untyped, and come back typed if the property
 * is recreated. */
static err_t prop_before_delete(req_t *r, res_ctx_t *c)
{
	const prop_t *p = c->data;
	err_t rc = run_alter(r, c->parent, p, column_clauses(r, p, false));
	if (!rc)
		prop_audit(r, c, p);
	return rc;
}

static const res_hooks_t prop_hooks = {
	.parent = prop_parent,
	.validate = prop_validate,
	.ddl = prop_ddl,
	.conflict = prop_conflict,
	.before_delete = prop_before_delete,
	.after_commit = objtype_committed,
};

/* RES_TOUCH: a PATCH that changes nothing is still written and audited. */
static const resource_t prop_res = {
	.name = "Property",
	.type = "property",
	.table = "_properties",
	.home = RES_TENANT,
	.id_param = "property_id",
	.id_prefix = "prop_",
	.fields = prop_fields,
	.parent_param = "object_type_id",
	.parent_column = "object_type_id",
	.order = "created_at",
	.flags = RES_TOUCH,
	.list_max = PROPS_LIST_MAX,
	.hooks = &prop_hooks,
	.example = "{\"name\":\"probe\",\"data_type\":\"text\"}",
};

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t properties_routes[] = {
	CRUD("GET", "/v1/object-types/:object_type_id/properties", "Properties", "read", NULL, 0, prop_res, OP_LIST, "List properties"),
	CRUD("POST", "/v1/object-types/:object_type_id/properties", "Properties", "schema", NULL, 0, prop_res, OP_CREATE, "Create property"),
	CRUD("PATCH", "/v1/object-types/:object_type_id/properties/:property_id", "Properties", "schema", NULL, 0, prop_res, OP_UPDATE, "Update property"),
	CRUD("DELETE", "/v1/object-types/:object_type_id/properties/:property_id", "Properties", "schema", NULL, 0, prop_res, OP_DELETE, "Delete property"),
	ROUTES_END,
};
