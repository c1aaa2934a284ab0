/*
 * object_types.c - the tenant's object types: list, create, get, rename or
 * edit, and secure delete.  A type is a row in _object_types and a table of
 * the same name in the tenant DB (see objmodel.h and DESIGN.md).
 *
 * List, get, create and delete run on the resource engine
 * (fcgi/resource.h).  The path names a type by id or by name, as
 * everywhere objtype_load serves; a type is rendered with its tenant and,
 * on a get or a write, its properties (in a list: how many it has).  A
 * create's CREATE TABLE runs in the ddl hook, after the row, which the
 * engine deletes again when the table cannot be made.  Update stays
 * written by hand: its RENAME TABLE follows the row and, when it fails,
 * the row gets its old name back and no audit entry is written; the
 * engine has no such step for an update (MariaDB commits a transaction
 * implicitly before any DDL, the engine's audit entry included).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fcgi/securedel.h"
#include "audit.h"
#include "../common/jsonx.h"
#include "objmodel.h"
#include "associations.h"
#include "comments.h"
#include "policies.h"
#include "views.h"
#include "routes.h"

/* Most types a list returns at once (a tenant has no fixed limit; the
 * list used to return every type, and still does up to this many). */
#define TYPES_LIST_MAX 10000

static const field_t object_type_create_body[] = {
	{ "name", FT_STRING, FF_REQUIRED, 1, 63 },
	{ "display_name", FT_STRING, FF_NULLABLE, 1, 255 },
	{ "description", FT_STRING, FF_NULLABLE, 0, 2000 },
	{ NULL, 0, 0, 0, 0 },
};

static const field_t object_type_update_body[] = {
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

/* --- the descriptor ------------------------------------------------------- */

/* The fields a create writes carry RF_CREATE; the route's body is
 * object_type_create_body, and update is written by hand. */
static const res_field_t type_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .flags = RF_CREATE },
	{ .name = "display_name", .type = COL_STR, .flags = RF_CREATE },
	{ .name = "description", .type = COL_STR, .flags = RF_CREATE },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The type has no parent: this hook resolves the path's type itself, by id
 * or by name, to its row id, and keeps it (c->parent) for the render and
 * delete hooks.  A delete reads it from the database, not the cache. */
static err_t type_resolve(req_t *r, res_ctx_t *c)
{
	if (!c->id)
		return E_OK; /* the list, a create */
	if (c->op != OP_GET)
		r->tenant.schema_gen = NULL;
	objtype_t *t;
	err_t rc = objtype_load(r, c->id, &t);
	if (rc)
		return rc;
	c->parent = t;
	c->id = t->id;
	return E_OK;
}

/* List: every type's property count, in one query (c->data), ordered by
 * type id byte by byte for type_render's binary search. */
static err_t type_counts(req_t *r, res_ctx_t *c)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT object_type_id, COUNT(*) FROM %s GROUP BY object_type_id "
		"ORDER BY object_type_id COLLATE utf8mb4_bin", tenant_table(r, "_properties")),
		NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	c->data = res;
	return E_OK;
}

static long long property_count(const db_result *counts, const char *id)
{
	int lo = 0, hi = counts->nrows;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		int cmp = strcmp(db_cell(counts, mid, 0), id);
		if (cmp == 0)
			return strtoll(db_cell(counts, mid, 1), NULL, 10);
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* A type shows its tenant right after its id (the members between move
 * behind it); a list adds each type's property count, anything else the
 * type's properties (a create's type is read anew, with them). */
static err_t type_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	cJSON_AddStringToObject(row, "tenant_id", r->tenant.id);
	while (strcmp(row->child->next->string, "tenant_id") != 0)
		cJSON_AddItemToArray(row, cJSON_DetachItemViaPointer(row, row->child->next));
	if (c->op == OP_LIST) {
		cJSON_AddNumberToObject(row, "property_count",
					(double)property_count(c->data, json_str_of(row, "id")));
		return E_OK;
	}
	if (!c->parent) {
		objtype_t *t;
		err_t rc = objtype_load(r, c->id, &t);
		if (rc)
			return rc;
		c->parent = t;
	}
	const objtype_t *t = c->parent;
	cJSON_AddItemToObject(row, "properties", cJSON_Duplicate(t->props_json, true));
	return E_OK;
}

/* The unique key on name refused a create. */
static err_t type_conflict(req_t *r, res_ctx_t *c)
{
	return req_fail_field(r, E_CONFLICT, "name", "An object type named \"%s\" already exists",
			      json_str_of(c->body, "name"));
}

/* Create: the name must fit a table of the tenant DB; the display name
 * defaults to one made from it. */
static err_t type_validate(req_t *r, res_ctx_t *c)
{
	const char *name = json_str_of(c->body, "name");
	err_t rc = check_type_name(r, name);
	if (rc)
		return rc;
	if (!json_str_of(c->body, "display_name"))
		resource_set(c, "display_name", db_str(display_name_from(r->a, name)));
	c->audit = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(c->audit, "name", name);
	return E_OK;
}

/* Create, after the row: the type's table.  MariaDB refuses a table that
 * exists already with a plain error, which is the name's conflict. */
static err_t type_ddl(req_t *r, res_ctx_t *c)
{
	const char *name = json_str_of(c->body, "name");
	enum db_status st = db_exec_text(r->db, arena_printf(r->a,
		"CREATE TABLE %s (id VARCHAR(40) NOT NULL PRIMARY KEY, properties JSON NOT NULL, "
		"created_at DATETIME(3) NOT NULL, updated_at DATETIME(3) NOT NULL, "
		"created_by VARCHAR(64) NULL, version INT NOT NULL DEFAULT 1, "
		"is_deleted TINYINT(1) NOT NULL DEFAULT 0, deleted_at DATETIME(3) NULL, "
		"_alive TINYINT(1) AS (IF(is_deleted, NULL, 1)) VIRTUAL, "
		"KEY ix_created (is_deleted, created_at, id), KEY ix_updated (is_deleted, updated_at, id), "
		"KEY ix_live (is_deleted, id)) "
		"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
		tenant_table(r, name)));
	if (st == DB_ERROR)
		return req_fail_field(r, E_CONFLICT, "name", "A table named \"%s\" already exists", name);
	if (st)
		return req_db_error(r, st);
	return E_OK;
}

/* Secure delete: objects (those in the trash too), properties, views and
 * policies depend on a type.  Once the delete is confirmed the type's
 * table goes first, as the last step before the engine's transaction:
 * DROP TABLE cannot run inside it (it would commit it), and a DROP that
 * fails leaves the type whole. */
static err_t type_before_delete(req_t *r, res_ctx_t *c)
{
	const objtype_t *t = c->parent;
	db_result *objects;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT COUNT(*) FROM %s", t->table),
				    NULL, 0, &objects);
	if (st)
		return req_db_error(r, st);
	dependency_t deps[] = {
		{ "objects", "Objects", strtoll(db_cell(objects, 0, 0), NULL, 10) },
		{ "properties", "Properties", t->nprops },
		{ "views", "Views", 0 },
		{ "policies", "Policies", 0 },
	};
	err_t rc = E_OK;
	deps[2].count = type_child_count(r, &view_res, t->id, &rc);
	if (rc)
		return rc;
	deps[3].count = type_child_count(r, &policy_res, t->id, &rc);
	if (rc)
		return rc;
	bool cascade;
	if ((rc = securedel_check(r, "object_type", t->id, deps, 4, &cascade)))
		return rc;
	if ((st = db_exec_text(r->db, arena_printf(r->a, "DROP TABLE IF EXISTS %s", t->table))))
		return req_db_error(r, st);
	c->audit = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(c->audit, "name", t->name);
	cJSON_AddBoolToObject(c->audit, "cascade", cascade);
	return E_OK;
}

/* In the delete's transaction, with the type's row: what hangs on the type
 * outside its table (properties, views and policies go with the row, by
 * their foreign keys). */
static err_t type_delete_rows(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_DELETE)
		return E_OK;
	err_t rc;
	if ((rc = associations_delete_for_type(r, c->id)) || (rc = comments_delete_for_type(r, c->id)))
		return rc;
	static const char *const tables[] = { "_objects", "_object_versions" };
	db_param p[] = { db_str(c->id) };
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
			"DELETE FROM %s WHERE object_type_id = ?", tenant_table(r, tables[i])), p, 1, NULL);
		if (st)
			return req_db_error(r, st);
	}
	return E_OK;
}

static const res_hooks_t type_hooks = {
	.parent = type_resolve,
	.list = type_counts,
	.render = type_render,
	.validate = type_validate,
	.ddl = type_ddl,
	.conflict = type_conflict,
	.before_delete = type_before_delete,
	.after_write = type_delete_rows,
	.after_commit = objtype_committed,
};

static const resource_t type_res = {
	.name = "Object type",
	.type = "object_type",
	.table = "_object_types",
	.home = RES_TENANT,
	.id_param = "object_type_id",
	.id_prefix = "ot_",
	.fields = type_fields,
	.order = "name",
	.list_max = TYPES_LIST_MAX,
	.hooks = &type_hooks,
};

/* --- update (by hand, see the top) ---------------------------------------- */

/* The reply of an update: the type as a get renders it, read anew. */
static err_t type_reply(req_t *r, const char *id, int status)
{
	objtype_t *t;
	err_t rc = objtype_load(r, id, &t);
	if (rc)
		return rc;
	res_ctx_t c = { .res = &type_res, .op = OP_GET, .parent = t };
	cJSON *row;
	if ((rc = resource_fetch(r, &c, t->id, false, &row)))
		return rc;
	reply_data(r, status, cJSON_Duplicate(row, true));
	return E_OK;
}

static err_t object_types_create_do(req_t *r)
{
	return resource_op(r, &type_res, OP_CREATE);
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
	return type_reply(r, t->id, 200);
}

/* Create has its own body (object_type_create_body) and, as every change
 * of the schema, drops the cached types whatever its outcome. */
static err_t object_types_create(req_t *r)
{
	return schema_change(r, object_types_create_do);
}

static err_t object_types_update(req_t *r)
{
	return schema_change(r, object_types_update_do);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t object_types_routes[] = {
	CRUD("GET", "/v1/object-types", "Object Types", "read", NULL, 0, type_res, OP_LIST, "List object types"),
	ROUTE("POST", "/v1/object-types", "Object Types", AUTH_BEARER, "schema", NULL, 0, object_types_create, object_type_create_body, "Create object type"),
	CRUD("GET", "/v1/object-types/:object_type_id", "Object Types", "read", NULL, 0, type_res, OP_GET, "Get object type"),
	ROUTE("PATCH", "/v1/object-types/:object_type_id", "Object Types", AUTH_BEARER, "schema", NULL, 0, object_types_update, object_type_update_body, "Update object type"),
	CRUD("DELETE", "/v1/object-types/:object_type_id", "Object Types", "schema", NULL, 0, type_res, OP_DELETE, "Delete object type"),
	ROUTES_END,
};
