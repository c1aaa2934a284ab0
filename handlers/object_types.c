/*
 * object_types.c - the tenant's object types: list, create, get, rename or
 * edit, and secure delete.  A type is a row in _object_types and a table of
 * the same name in the tenant DB (see objmodel.h and DESIGN.md).
 *
 * Every operation runs on the resource engine (fcgi/resource.h).  The
 * path names a type by id or by name, as everywhere objtype_load serves; a
 * type is rendered with its tenant and, on a get or a write, its
 * properties (in a list: how many it has).  The table follows the row in
 * the ddl hook (MariaDB commits a transaction implicitly before any DDL):
 * a create's CREATE TABLE, after which the engine deletes the row again
 * when the table cannot be made, and an update's RENAME TABLE, which gives
 * the row its old name back when it fails; either way no audit entry is
 * written.  The row goes first so that a name another type holds is
 * refused by the unique key, in its own words.
 */
#include <stdlib.h>
#include <string.h>

#include "../fcgi/securedel.h"
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

/* Tables of Tessera's own in the tenant DB that start with a letter. */
static const char *const reserved_types[] = { "tenant_meta", "schema_migrations", NULL };

/* --- the descriptor ------------------------------------------------------- */

/* A create may send a null display name (for the default one) that an
 * update may not: the create's is a field of its own, never rendered. */
static const res_field_t type_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = 63 },
	{ .name = "display_name", .type = COL_STR, .in = FT_STRING, .flags = RF_UPDATE,
	  .min = 1, .max = 255 },
	{ .name = "display_name", .in = FT_STRING, .flags = RF_CREATE | RF_NULLABLE | RF_HIDDEN,
	  .min = 1, .max = 255 },
	{ .name = "description", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE, .max = 2000 },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The type has no parent: this hook resolves the path's type itself, by id
 * or by name, to its row id, and keeps it (c->parent) for the render and
 * write hooks.  A write reads types from the database, not the cache, and
 * renders them so. */
static err_t type_resolve(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_GET && c->op != OP_LIST)
		r->tenant.schema_gen = NULL;
	if (!c->id)
		return E_OK; /* the list, a create */
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

/* The unique key on name refused a create or an update. */
static err_t type_conflict(req_t *r, res_ctx_t *c)
{
	return req_fail_field(r, E_CONFLICT, "name", "An object type named \"%s\" already exists",
			      json_str_of(c->body, "name"));
}

/* The name must fit a table of the tenant DB (an update's only when it
 * changes); a create's display name defaults to one made from it.  The
 * audit entry names the name the body gives. */
static err_t type_validate(req_t *r, res_ctx_t *c)
{
	const objtype_t *t = c->parent;
	const char *name = json_str_of(c->body, "name");
	bool same = t && name && !strcmp(name, t->name);
	err_t rc;
	if (name && !same && (rc = schema_name_check(r, name, reserved_types)))
		return rc;
	if (c->op == OP_CREATE && !json_str_of(c->body, "display_name"))
		resource_set(c, "display_name", db_str(display_name_from(r->a, name)));
	c->audit = req_own(r, cJSON_CreateObject());
	if (name)
		cJSON_AddStringToObject(c->audit, "name", name);
	return E_OK;
}

/* The table of a type's objects. */
static const char type_table_sql[] =
	"CREATE TABLE %s (id VARCHAR(40) NOT NULL PRIMARY KEY, properties JSON NOT NULL, "
	"created_at DATETIME(3) NOT NULL, updated_at DATETIME(3) NOT NULL, "
	"created_by VARCHAR(64) NULL, version INT NOT NULL DEFAULT 1, "
	"is_deleted TINYINT(1) NOT NULL DEFAULT 0, deleted_at DATETIME(3) NULL, "
	"_alive TINYINT(1) AS (IF(is_deleted, NULL, 1)) VIRTUAL, "
	"KEY ix_created (is_deleted, created_at, id), KEY ix_updated (is_deleted, updated_at, id), "
	"KEY ix_live (is_deleted, id)) "
	"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

/* After the row: a create's table, or an update's new name for it, whose
 * failure gives the row its old name back.  MariaDB refuses a table that
 * exists already with a plain error, which is the name's conflict. */
static err_t type_ddl(req_t *r, res_ctx_t *c)
{
	const objtype_t *t = c->parent;
	const char *name = json_str_of(c->body, "name");
	enum db_status st;
	if (c->op == OP_CREATE)
		st = db_exec_text(r->db, arena_printf(r->a, type_table_sql, tenant_table(r, name)));
	else if (name && strcmp(name, t->name) != 0)
		st = db_exec_text(r->db, arena_printf(r->a, "RENAME TABLE %s TO %s", t->table,
						      tenant_table(r, name)));
	else
		return E_OK;
	if (st && c->op == OP_UPDATE) {
		db_param q[] = { db_str(t->name), db_str(t->id) };
		db_exec(r->db, r->a, arena_printf(r->a, "UPDATE %s SET name = ? WHERE id = ?",
						  resource_table(r, c->res)), q, 2, NULL);
	}
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
	db_result *n;
	db_param p[] = { db_str(t->id), db_str(t->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT (SELECT COUNT(*) FROM %s), "
		"(SELECT COUNT(*) FROM %s WHERE object_type_id = ?), "
		"(SELECT COUNT(*) FROM %s WHERE object_type_id = ?)", t->table,
		resource_table(r, &view_res), resource_table(r, &policy_res)), p, 2, &n);
	if (st)
		return req_db_error(r, st);
	dependency_t deps[] = {
		{ "objects", "Objects", strtoll(db_cell(n, 0, 0), NULL, 10) },
		{ "properties", "Properties", t->nprops },
		{ "views", "Views", strtoll(db_cell(n, 0, 1), NULL, 10) },
		{ "policies", "Policies", strtoll(db_cell(n, 0, 2), NULL, 10) },
	};
	bool cascade;
	err_t rc = securedel_check(r, "object_type", t->id, deps, 4, &cascade);
	if (rc)
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
	db_param p[] = { db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"DELETE FROM %s WHERE object_type_id = ?", tenant_table(r, "_object_versions")), p, 1, NULL);
	return st ? req_db_error(r, st) : E_OK;
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

/* RES_TOUCH: a PATCH that changes nothing is still written and audited. */
static const resource_t type_res = {
	.name = "Object type",
	.type = "object_type",
	.table = "_object_types",
	.home = RES_TENANT,
	.id_param = "object_type_id",
	.id_prefix = "ot_",
	.fields = type_fields,
	.order = "name",
	.flags = RES_TOUCH | RES_UPDATE_DDL,
	.list_max = TYPES_LIST_MAX,
	.hooks = &type_hooks,
	.example = "{\"name\":\"probe_type\"}",
};

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t object_types_routes[] = {
	CRUD("GET", "/v1/object-types", "Object Types", "read", NULL, 0, type_res, OP_LIST, "List object types"),
	CRUD("POST", "/v1/object-types", "Object Types", "schema", NULL, 0, type_res, OP_CREATE, "Create object type"),
	CRUD("GET", "/v1/object-types/:object_type_id", "Object Types", "read", NULL, 0, type_res, OP_GET, "Get object type"),
	CRUD("PATCH", "/v1/object-types/:object_type_id", "Object Types", "schema", NULL, 0, type_res, OP_UPDATE, "Update object type"),
	CRUD("DELETE", "/v1/object-types/:object_type_id", "Object Types", "schema", NULL, 0, type_res, OP_DELETE, "Delete object type"),
	ROUTES_END,
};
