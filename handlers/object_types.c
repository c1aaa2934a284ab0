/*
 * object_types.c - the tenant's object types: list, create, get, rename or
 * edit, and secure delete.  A type is a row in _object_types and a table of
 * the same name in the tenant DB (see objmodel.h and DESIGN.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/log.h"
#include "../fcgi/securedel.h"
#include "audit.h"
#include "../common/jsonx.h"
#include "objmodel.h"
#include "associations.h"
#include "comments.h"
#include "policies.h"
#include "views.h"
#include "routes.h"

const field_t object_type_create_body[] = {
	{ "name", FT_STRING, FF_REQUIRED, 1, 63 },
	{ "display_name", FT_STRING, FF_NULLABLE, 1, 255 },
	{ "description", FT_STRING, FF_NULLABLE, 0, 2000 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t object_type_update_body[] = {
	{ "name", FT_STRING, 0, 1, 63 },
	{ "display_name", FT_STRING, 0, 1, 255 },
	{ "description", FT_STRING, FF_NULLABLE, 0, 2000 },
	{ NULL, 0, 0, 0, 0 },
};

/* Tables of Tessera's own in the tenant DB that start with a letter. */
static bool reserved_type_name(const char *name)
{
	return strcmp(name, "tenant_meta") == 0 || strcmp(name, "schema_migrations") == 0;
}

static err_t check_type_name(req_t *r, const char *name)
{
	if (!ident_valid(name))
		return req_fail_field(r, E_VALIDATION, "name",
				      "name must match ^[a-z][a-z0-9_]{0,62}$ (lower-case letters, digits, _)");
	if (reserved_type_name(name))
		return req_fail_field(r, E_VALIDATION, "name", "\"%s\" is a reserved name", name);
	return E_OK;
}

err_t object_types_list(req_t *r)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT t.id, t.name, t.display_name, t.description, t.created_at, t.updated_at, "
		"(SELECT COUNT(*) FROM %s p WHERE p.object_type_id = t.id) AS property_count "
		"FROM %s t ORDER BY t.name", tenant_table(r, "_properties"),
		tenant_table(r, "_object_types")), NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *list = cJSON_CreateArray();
	for (int i = 0; i < res->nrows; i++) {
		objtype_t t = {
			.id = db_get(res, i, "id"), .name = db_get(res, i, "name"),
			.display_name = db_get(res, i, "display_name"),
			.description = db_get(res, i, "description"),
			.created_at = db_get(res, i, "created_at"),
			.updated_at = db_get(res, i, "updated_at"),
		};
		cJSON *o = objtype_json(r, &t, false);
		cJSON_AddNumberToObject(o, "property_count", (double)db_get_int(res, i, "property_count", 0));
		cJSON_AddItemToArray(list, o);
	}
	reply_data(r, 200, list);
	return E_OK;
}

static err_t object_types_create_do(req_t *r)
{
	const char *name = json_str_of(r->json, "name");
	err_t rc = check_type_name(r, name);
	if (rc)
		return rc;
	const char *display = json_str_of(r->json, "display_name");
	if (!display)
		display = display_name_from(r->a, name);
	char id[40];
	id_new(id, sizeof(id), "ot_");
	db_param p[] = { db_str(id), db_str(name), db_str(display),
			 db_str(json_str_of(r->json, "description")) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, name, display_name, description, created_at, updated_at) "
		"VALUES (?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		tenant_table(r, "_object_types")), p, 4, NULL);
	if (st == DB_DUPLICATE)
		return req_fail_field(r, E_CONFLICT, "name", "An object type named \"%s\" already exists", name);
	if (st)
		return req_db_error(r, st);
	/* DDL commits by itself: the row first, so a failed CREATE can be undone. */
	st = db_exec_text(r->db, arena_printf(r->a,
		"CREATE TABLE %s (id VARCHAR(40) NOT NULL PRIMARY KEY, properties JSON NOT NULL, "
		"created_at DATETIME(3) NOT NULL, updated_at DATETIME(3) NOT NULL, "
		"created_by VARCHAR(64) NULL, version INT NOT NULL DEFAULT 1, "
		"is_deleted TINYINT(1) NOT NULL DEFAULT 0, deleted_at DATETIME(3) NULL, "
		"_alive TINYINT(1) AS (IF(is_deleted, NULL, 1)) VIRTUAL, "
		"KEY ix_created (is_deleted, created_at, id), KEY ix_updated (is_deleted, updated_at, id), "
		"KEY ix_live (is_deleted, id)) "
		"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
		tenant_table(r, name)));
	if (st) {
		db_param q[] = { db_str(id) };
		db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE id = ?",
						  tenant_table(r, "_object_types")), q, 1, NULL);
		if (st == DB_ERROR)
			return req_fail_field(r, E_CONFLICT, "name", "A table named \"%s\" already exists", name);
		return req_db_error(r, st);
	}
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "name", name);
	if ((rc = req_audit(r, "object_type.created", "object_type", id, details)))
		return rc;
	objtype_t *t;
	if ((rc = objtype_load(r, id, &t)))
		return rc;
	reply_data(r, 201, objtype_json(r, t, true));
	return E_OK;
}

err_t object_types_get(req_t *r)
{
	objtype_t *t;
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &t);
	if (rc)
		return rc;
	reply_data(r, 200, objtype_json(r, t, true));
	return E_OK;
}

static err_t object_types_update_do(req_t *r)
{
	objtype_t *t;
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &t);
	if (rc)
		return rc;
	const char *name = json_str_of(r->json, "name");
	if (name && strcmp(name, t->name) != 0 && (rc = check_type_name(r, name)))
		return rc;
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(r->json, "description");
	const char *display = json_str_of(r->json, "display_name");
	db_param p[] = {
		db_str(name ? name : t->name), db_str(display ? display : t->display_name),
		desc ? db_str(cJSON_IsString(desc) ? desc->valuestring : NULL) : db_str(t->description),
		db_str(t->id),
	};
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET name = ?, display_name = ?, description = ?, updated_at = UTC_TIMESTAMP(3) "
		"WHERE id = ?", tenant_table(r, "_object_types")), p, 4, NULL);
	if (st == DB_DUPLICATE)
		return req_fail_field(r, E_CONFLICT, "name", "An object type named \"%s\" already exists", name);
	if (st)
		return req_db_error(r, st);
	if (name && strcmp(name, t->name) != 0) {
		st = db_exec_text(r->db, arena_printf(r->a, "RENAME TABLE %s TO %s", t->table,
						      tenant_table(r, name)));
		if (st) {
			db_param q[] = { db_str(t->name), db_str(t->id) };
			db_exec(r->db, r->a, arena_printf(r->a, "UPDATE %s SET name = ? WHERE id = ?",
							  tenant_table(r, "_object_types")), q, 2, NULL);
			if (st == DB_ERROR)
				return req_fail_field(r, E_CONFLICT, "name", "A table named \"%s\" already exists", name);
			return req_db_error(r, st);
		}
	}
	cJSON *details = req_own(r, cJSON_CreateObject());
	if (name)
		cJSON_AddStringToObject(details, "name", name);
	if ((rc = req_audit(r, "object_type.updated", "object_type", t->id, details)))
		return rc;
	if ((rc = objtype_load(r, t->id, &t)))
		return rc;
	reply_data(r, 200, objtype_json(r, t, true));
	return E_OK;
}

static long long count_of(req_t *r, const char *sql, const char *id, err_t *rc)
{
	db_result *res;
	db_param p[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a, sql, p, id ? 1 : 0, &res);
	if (st) {
		*rc = req_db_error(r, st);
		return 0;
	}
	return strtoll(db_cell(res, 0, 0), NULL, 10);
}

static err_t object_types_delete_do(req_t *r)
{
	objtype_t *t;
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &t);
	if (rc)
		return rc;
	/* Views, policies, workflows and forms hang on types too; they are
	 * counted here as their issues add them. */
	dependency_t deps[] = {
		{ "objects", "Objects", count_of(r, arena_printf(r->a, "SELECT COUNT(*) FROM %s", t->table), NULL, &rc) },
		{ "properties", "Properties", t->nprops },
		{ "views", "Views", 0 },
		{ "policies", "Policies", 0 },
	};
	if (rc)
		return rc;
	deps[2].count = views_count(r, t->id, &rc);
	if (rc)
		return rc;
	deps[3].count = policies_count(r, t->id, &rc);
	if (rc)
		return rc;
	bool cascade;
	if ((rc = securedel_check(r, "object_type", t->id, deps, 4, &cascade)))
		return rc;
	enum db_status st = db_exec_text(r->db, arena_printf(r->a, "DROP TABLE IF EXISTS %s", t->table));
	if (st)
		return req_db_error(r, st);
	if ((rc = associations_delete_for_type(r, t->id)) || (rc = comments_delete_for_type(r, t->id)))
		return rc;
	db_param p[] = { db_str(t->id) };
	const char *stmts[] = {
		arena_printf(r->a, "DELETE FROM %s WHERE object_type_id = ?", tenant_table(r, "_objects")),
		arena_printf(r->a, "DELETE FROM %s WHERE object_type_id = ?", tenant_table(r, "_object_versions")),
		arena_printf(r->a, "DELETE FROM %s WHERE id = ?", tenant_table(r, "_object_types")),
	};
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
		if ((st = db_exec(r->db, r->a, stmts[i], p, 1, NULL)))
			return req_db_error(r, st);
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "name", t->name);
	cJSON_AddBoolToObject(details, "cascade", cascade);
	if ((rc = req_audit(r, "object_type.deleted", "object_type", t->id, details)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "id", t->id);
	cJSON_AddTrueToObject(d, "deleted");
	reply_data(r, 200, d);
	return E_OK;
}

err_t object_types_create(req_t *r)
{
	return schema_change(r, object_types_create_do);
}

err_t object_types_update(req_t *r)
{
	return schema_change(r, object_types_update_do);
}

err_t object_types_delete(req_t *r)
{
	return schema_change(r, object_types_delete_do);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t object_types_routes[] = {
	ROUTE("GET", "/v1/object-types", "Object Types", AUTH_BEARER, "read", NULL, 0, object_types_list, NULL, "List object types"),
	ROUTE("POST", "/v1/object-types", "Object Types", AUTH_BEARER, "schema", NULL, 0, object_types_create, object_type_create_body, "Create object type"),
	ROUTE("GET", "/v1/object-types/:object_type_id", "Object Types", AUTH_BEARER, "read", NULL, 0, object_types_get, NULL, "Get object type"),
	ROUTE("PATCH", "/v1/object-types/:object_type_id", "Object Types", AUTH_BEARER, "schema", NULL, 0, object_types_update, object_type_update_body, "Update object type"),
	ROUTE("DELETE", "/v1/object-types/:object_type_id", "Object Types", AUTH_BEARER, "schema", NULL, 0, object_types_delete, NULL, "Delete object type"),
	ROUTES_END,
};
