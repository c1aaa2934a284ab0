/*
 * properties.c - an object type's properties.  Each is a row in _properties
 * and a VIRTUAL generated column of the type's table, computed from the
 * object's JSON; is_indexed/is_sortable add an index, is_unique a UNIQUE
 * index over (column, _alive) so that objects in the trash never conflict.
 * Every schema change is one ALTER TABLE, so it happens whole or not at all.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/log.h"
#include "../common/rowjson.h"
#include "audit.h"
#include "objmodel.h"
#include "routes.h"

#define MAX_ENUM_VALUES 500

/* A property index also carries the list's default order, so that "filter
 * on this property, newest first" and its count are answered from the
 * index alone, without reading (or computing) any other column. */
#define PROP_INDEX_COLS "`%s`, is_deleted, created_at, id"

const field_t property_create_body[] = {
	{ "name", FT_STRING, FF_REQUIRED, 1, 63 },
	{ "data_type", FT_STRING, FF_REQUIRED, 1, 16 },
	{ "display_name", FT_STRING, FF_NULLABLE, 1, 255 },
	{ "is_required", FT_BOOL, 0, 0, 0 },
	{ "is_unique", FT_BOOL, 0, 0, 0 },
	{ "is_indexed", FT_BOOL, 0, 0, 0 },
	{ "is_sortable", FT_BOOL, 0, 0, 0 },
	{ "default_value", FT_ANY, FF_NULLABLE, 0, 0 },
	{ "enum_values", FT_STRING_ARRAY, FF_NULLABLE, 0, MAX_ENUM_VALUES },
	{ "description", FT_STRING, FF_NULLABLE, 0, 2000 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t property_update_body[] = {
	{ "name", FT_ANY, FF_NULLABLE, 0, 0 },       /* refused with a clear message */
	{ "data_type", FT_ANY, FF_NULLABLE, 0, 0 },  /* refused with a clear message */
	{ "display_name", FT_STRING, 0, 1, 255 },
	{ "is_required", FT_BOOL, 0, 0, 0 },
	{ "is_unique", FT_BOOL, 0, 0, 0 },
	{ "is_indexed", FT_BOOL, 0, 0, 0 },
	{ "is_sortable", FT_BOOL, 0, 0, 0 },
	{ "default_value", FT_ANY, FF_NULLABLE, 0, 0 },
	{ "enum_values", FT_STRING_ARRAY, FF_NULLABLE, 0, MAX_ENUM_VALUES },
	{ "description", FT_STRING, FF_NULLABLE, 0, 2000 },
	{ NULL, 0, 0, 0, 0 },
};

/* The object table's own columns, which no property may shadow. */
static bool reserved_prop_name(const char *name)
{
	static const char *const names[] = { "id", "properties", "created_at", "updated_at",
					     "created_by", "version", "is_deleted", "deleted_at" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static bool flag(const cJSON *body, const char *name, bool def)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
	return v ? cJSON_IsTrue(v) : def;
}

/* Index names come from the property id (names may be 63 characters, and
 * "ix_" + 63 would pass MariaDB's 64). */
static char *index_name(req_t *r, const char *kind, const char *prop_id)
{
	char *s = arena_printf(r->a, "%s_%s", kind, prop_id);
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* Checks enum_values and default_value of the property p would have.  On
 * success *def_text is the default as it is stored (NULL for none):
 * normalised like an object's value (datetimes in UTC, times with seconds,
 * decimals exact), so that an object that takes it holds what it would
 * have had it sent the value itself.  check_ref: also check that a
 * reference default exists (a default given in this request). */
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

static err_t check_index_flags(req_t *r, const prop_t *p)
{
	if ((p->unique || p->indexed || p->sortable) && !p->type->indexable)
		return req_fail_field(r, E_VALIDATION, p->unique ? "is_unique" :
				      p->indexed ? "is_indexed" : "is_sortable",
				      "%s properties cannot be indexed, sortable or unique", p->type->name);
	return E_OK;
}

/* Runs an ALTER and maps its failure: duplicates to 409 naming the
 * property, data that does not fit the type to 400. */
static err_t run_alter(req_t *r, const char *sql, const char *prop)
{
	enum db_status st = db_exec_text(r->db, sql);
	if (st == DB_OK)
		return E_OK;
	if (st == DB_DUPLICATE)
		return req_fail_field(r, E_CONFLICT, prop,
				      "Objects already hold duplicate values of \"%s\"", prop);
	if (st == DB_ERROR) {
		log_warn("%s: ALTER for %s failed: %s", r->request_id, prop, db_last_error(r->db));
		return req_fail_field(r, E_VALIDATION, prop,
				      "Existing objects hold values of \"%s\" that do not fit its data type",
				      prop);
	}
	return req_db_error(r, st);
}

static cJSON *prop_json(req_t *r, const objtype_t *t, const char *id)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, t->props_json) {
		const cJSON *pid = cJSON_GetObjectItemCaseSensitive(it, "id");
		if (cJSON_IsString(pid) && strcmp(pid->valuestring, id) == 0)
			return cJSON_Duplicate(it, true);
	}
	(void)r;
	return cJSON_CreateNull();
}

err_t properties_list(req_t *r)
{
	objtype_t *t;
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &t);
	if (rc)
		return rc;
	reply_data(r, 200, cJSON_Duplicate(t->props_json, true));
	return E_OK;
}

static err_t properties_create_do(req_t *r)
{
	objtype_t *t;
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &t);
	if (rc)
		return rc;
	const char *name = cJSON_GetObjectItemCaseSensitive(r->json, "name")->valuestring;
	const char *dt = cJSON_GetObjectItemCaseSensitive(r->json, "data_type")->valuestring;
	if (!ident_valid(name))
		return req_fail_field(r, E_VALIDATION, "name",
				      "name must match ^[a-z][a-z0-9_]{0,62}$ (lower-case letters, digits, _)");
	if (reserved_prop_name(name))
		return req_fail_field(r, E_VALIDATION, "name", "\"%s\" is a reserved name", name);
	prop_t p = { .name = name, .type = dtype_find(dt) };
	if (!p.type)
		return req_fail_field(r, E_VALIDATION, "data_type", "data_type must be one of: %s",
				      dtype_names());
	p.required = flag(r->json, "is_required", false);
	p.unique = flag(r->json, "is_unique", false);
	p.indexed = flag(r->json, "is_indexed", false);
	p.sortable = flag(r->json, "is_sortable", false);
	const cJSON *enums = cJSON_GetObjectItemCaseSensitive(r->json, "enum_values");
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(r->json, "default_value");
	char *def_text;
	if ((rc = check_values(r, &p, enums, def, true, &def_text)) || (rc = check_index_flags(r, &p)))
		return rc;
	if (objtype_prop(t, name))
		return req_fail_field(r, E_CONFLICT, "name", "Property \"%s\" already exists", name);
	if ((rc = check_existing(r, t, &p, "data_type")))
		return rc;

	char id[40];
	id_new(id, sizeof(id), "prop_");
	const cJSON *dn = cJSON_GetObjectItemCaseSensitive(r->json, "display_name");
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(r->json, "description");
	db_param prm[] = {
		db_str(id), db_str(t->id), db_str(name),
		db_str(cJSON_IsString(dn) ? dn->valuestring : display_name_from(r->a, name)),
		db_str(dt), db_int(p.required), db_int(p.unique), db_int(p.indexed), db_int(p.sortable),
		db_str(def_text), db_str(req_json_text(r, enums)),
		db_str(cJSON_IsString(desc) ? desc->valuestring : NULL),
	};
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, object_type_id, name, display_name, data_type, is_required, "
		"is_unique, is_indexed, is_sortable, default_value, enum_values, description, "
		"created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
		"UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", tenant_table(r, "_properties")), prm, 12, NULL);
	if (st == DB_DUPLICATE)
		return req_fail_field(r, E_CONFLICT, "name", "Property \"%s\" already exists", name);
	if (st)
		return req_db_error(r, st);

	char *alter = arena_printf(r->a, "ALTER TABLE %s ADD COLUMN `%s` %s AS (%s) VIRTUAL",
				   t->table, name, p.type->column, dtype_column_expr(r->a, p.type, name));
	if (p.indexed || p.sortable)
		alter = arena_printf(r->a, "%s, ADD INDEX `%s` (" PROP_INDEX_COLS ")", alter,
				     index_name(r, "ix", id), name);
	if (p.unique)
		alter = arena_printf(r->a, "%s, ADD UNIQUE INDEX `%s` (`%s`, _alive)", alter,
				     index_name(r, "ux", id), name);
	if ((rc = run_alter(r, alter, name))) {
		db_param q[] = { db_str(id) };
		db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE id = ?",
						  tenant_table(r, "_properties")), q, 1, NULL);
		return rc;
	}
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "object_type_id", t->id);
	cJSON_AddStringToObject(details, "name", name);
	cJSON_AddStringToObject(details, "data_type", dt);
	if ((rc = req_audit(r, "property.created", "property", id, details)))
		return rc;
	if ((rc = objtype_load(r, t->id, &t)))
		return rc;
	reply_data(r, 201, prop_json(r, t, id));
	return E_OK;
}

static const prop_t *find_prop(req_t *r, const objtype_t *t, err_t *rc)
{
	const char *pid = req_param(r, "property_id");
	for (int i = 0; i < t->nprops; i++)
		if (strcmp(t->props[i].id, pid) == 0 || strcmp(t->props[i].name, pid) == 0)
			return &t->props[i];
	*rc = req_fail(r, E_NOT_FOUND, "Property not found");
	return NULL;
}

static err_t properties_update_do(req_t *r)
{
	objtype_t *t;
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &t);
	if (rc)
		return rc;
	const prop_t *old = find_prop(r, t, &rc);
	if (!old)
		return rc;
	if (cJSON_GetObjectItemCaseSensitive(r->json, "name"))
		return req_fail_field(r, E_VALIDATION, "name",
				      "name cannot be changed; create a new property instead");
	if (cJSON_GetObjectItemCaseSensitive(r->json, "data_type"))
		return req_fail_field(r, E_VALIDATION, "data_type",
				      "data_type cannot be changed; create a new property instead");
	prop_t p = *old;
	p.required = flag(r->json, "is_required", old->required);
	p.unique = flag(r->json, "is_unique", old->unique);
	p.indexed = flag(r->json, "is_indexed", old->indexed);
	p.sortable = flag(r->json, "is_sortable", old->sortable);
	const cJSON *enums = cJSON_GetObjectItemCaseSensitive(r->json, "enum_values");
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(r->json, "default_value");
	char *def_text;
	if ((rc = check_values(r, &p, enums ? enums : old->enum_values,
			       def ? def : old->default_value, def != NULL, &def_text)) ||
	    (rc = check_index_flags(r, &p)) ||
	    (enums && (rc = check_existing(r, t, &p, "enum_values"))))
		return rc;

	/* Index changes first: if a new unique index meets duplicates, the
	 * ALTER fails whole and the row below is never touched. */
	bool had_ix = old->indexed || old->sortable, want_ix = p.indexed || p.sortable;
	char *alter = NULL;
	if (had_ix != want_ix)
		alter = want_ix ? arena_printf(r->a, "ADD INDEX `%s` (" PROP_INDEX_COLS ")",
					       index_name(r, "ix", p.id), p.name)
				: arena_printf(r->a, "DROP INDEX `%s`", index_name(r, "ix", p.id));
	if (old->unique != p.unique) {
		char *u = p.unique ? arena_printf(r->a, "ADD UNIQUE INDEX `%s` (`%s`, _alive)",
						  index_name(r, "ux", p.id), p.name)
				   : arena_printf(r->a, "DROP INDEX `%s`", index_name(r, "ux", p.id));
		alter = alter ? arena_printf(r->a, "%s, %s", alter, u) : u;
	}
	if (alter && (rc = run_alter(r, arena_printf(r->a, "ALTER TABLE %s %s", t->table, alter), p.name)))
		return rc;

	const cJSON *dn = cJSON_GetObjectItemCaseSensitive(r->json, "display_name");
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(r->json, "description");
	const cJSON *pj = NULL, *it;
	cJSON_ArrayForEach(it, t->props_json)
		if (!strcmp(cJSON_GetObjectItemCaseSensitive(it, "id")->valuestring, p.id))
			pj = it;
	const cJSON *old_desc = cJSON_GetObjectItemCaseSensitive(pj, "description");
	db_param prm[] = {
		db_str(cJSON_IsString(dn) ? dn->valuestring
		       : cJSON_GetObjectItemCaseSensitive(pj, "display_name")->valuestring),
		db_int(p.required), db_int(p.unique), db_int(p.indexed), db_int(p.sortable),
		db_str(def_text),
		db_str(req_json_text(r, enums ? enums : old->enum_values)),
		db_str(desc ? (cJSON_IsString(desc) ? desc->valuestring : NULL)
		       : (cJSON_IsString(old_desc) ? old_desc->valuestring : NULL)),
		db_str(p.id),
	};
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET display_name = ?, is_required = ?, is_unique = ?, is_indexed = ?, "
		"is_sortable = ?, default_value = ?, enum_values = ?, description = ?, "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ?", tenant_table(r, "_properties")), prm, 9, NULL);
	if (st)
		return req_db_error(r, st);
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "name", p.name);
	if ((rc = req_audit(r, "property.updated", "property", p.id, details)))
		return rc;
	char *pid = arena_strdup(r->a, p.id);
	if ((rc = objtype_load(r, t->id, &t)))
		return rc;
	reply_data(r, 200, prop_json(r, t, pid));
	return E_OK;
}

static err_t properties_delete_do(req_t *r)
{
	objtype_t *t;
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &t);
	if (rc)
		return rc;
	const prop_t *p = find_prop(r, t, &rc);
	if (!p)
		return rc;
	/* The column goes with its indexes; the JSON values stay in the
	 * objects, untyped, and come back typed if the property is recreated.
	 * The indexes are dropped by name: MariaDB refuses to drop a column
	 * still in a multi-column index such as the unique (column, _alive). */
	char *alter = arena_printf(r->a, "ALTER TABLE %s", t->table);
	if (p->indexed || p->sortable)
		alter = arena_printf(r->a, "%s DROP INDEX `%s`,", alter, index_name(r, "ix", p->id));
	if (p->unique)
		alter = arena_printf(r->a, "%s DROP INDEX `%s`,", alter, index_name(r, "ux", p->id));
	if ((rc = run_alter(r, arena_printf(r->a, "%s DROP COLUMN `%s`", alter, p->name), p->name)))
		return rc;
	db_param q[] = { db_str(p->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE id = ?",
					tenant_table(r, "_properties")), q, 1, NULL);
	if (st)
		return req_db_error(r, st);
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "name", p->name);
	if ((rc = req_audit(r, "property.deleted", "property", p->id, details)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "id", p->id);
	cJSON_AddTrueToObject(d, "deleted");
	reply_data(r, 200, d);
	return E_OK;
}

err_t properties_create(req_t *r)
{
	return schema_change(r, properties_create_do);
}

err_t properties_update(req_t *r)
{
	return schema_change(r, properties_update_do);
}

err_t properties_delete(req_t *r)
{
	return schema_change(r, properties_delete_do);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t properties_routes[] = {
	ROUTE("GET", "/v1/object-types/:object_type_id/properties", "Properties", AUTH_BEARER, "read", NULL, 0, properties_list, NULL, "List properties"),
	ROUTE("POST", "/v1/object-types/:object_type_id/properties", "Properties", AUTH_BEARER, "schema", NULL, 0, properties_create, property_create_body, "Create property"),
	ROUTE("PATCH", "/v1/object-types/:object_type_id/properties/:property_id", "Properties", AUTH_BEARER, "schema", NULL, 0, properties_update, property_update_body, "Update property"),
	ROUTE("DELETE", "/v1/object-types/:object_type_id/properties/:property_id", "Properties", AUTH_BEARER, "schema", NULL, 0, properties_delete, NULL, "Delete property"),
	ROUTES_END,
};
