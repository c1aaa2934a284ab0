/*
 * roles.c - roles of a tenant's end users: CRUD with parent_role_id
 * inheritance (no cycles), permission strings, assignment to users, and
 * the effective permission set the identity gate enforces.
 *
 * Permission vocabulary (perm_areas below):
 *   *                                  everything
 *   <area>:<verb> | <area>:*           objects:read objects:write
 *                                      comments:write files:read files:write
 *                                      events:read events:publish realtime:read
 *                                      dashboards:read dashboards:write
 *                                      reports:run short_urls:read short_urls:write
 *                                      ai:use
 *   objects:<type>:<verb|*>            one object type, by name or ot_ id
 *   objects:*:<verb>                   same as objects:<verb>
 * A role holds its own permissions and inherits its parent's, up the chain.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/rowjson.h"
#include "../fcgi/securedel.h"
#include "audit.h"
#include "identity.h"
#include "identity_admin.h"
#include "objmodel.h"
#include "routes.h"

#define PERMS_MAX 200
#define ROLE_DEPTH_MAX 32

static const struct perm_area {
	const char *area;
	const char *verbs[3];
	bool typed;
} perm_areas[] = {
	{ "objects", { "read", "write" }, true },
	{ "comments", { "write" }, false },
	{ "files", { "read", "write" }, false },
	{ "events", { "read", "publish" }, false },
	{ "realtime", { "read" }, false },
	{ "dashboards", { "read", "write" }, false },
	{ "reports", { "run" }, false },
	{ "short_urls", { "read", "write" }, false },
	{ "ai", { "use" }, false },
};

static const struct perm_area *area_find(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof(perm_areas) / sizeof(perm_areas[0]); i++)
		if (strlen(perm_areas[i].area) == n && !strncmp(perm_areas[i].area, name, n))
			return &perm_areas[i];
	return NULL;
}

static bool verb_ok(const struct perm_area *a, const char *v)
{
	if (!strcmp(v, "*"))
		return true;
	for (int i = 0; i < 3 && a->verbs[i]; i++)
		if (!strcmp(a->verbs[i], v))
			return true;
	return false;
}

static bool type_segment_ok(const char *s, size_t n)
{
	if (n == 1 && s[0] == '*')
		return true;
	if (n == 0 || n > 63 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

bool perm_valid(const char *s)
{
	if (!strcmp(s, "*"))
		return true;
	const char *c1 = strchr(s, ':');
	if (!c1)
		return false;
	const struct perm_area *a = area_find(s, (size_t)(c1 - s));
	if (!a)
		return false;
	const char *c2 = strchr(c1 + 1, ':');
	if (!c2)
		return verb_ok(a, c1 + 1);
	if (!a->typed || strchr(c2 + 1, ':'))
		return false;
	return type_segment_ok(c1 + 1, (size_t)(c2 - c1 - 1)) && verb_ok(a, c2 + 1);
}

static bool has(const char *const *perms, const char *p)
{
	for (int i = 0; perms[i]; i++)
		if (!strcmp(perms[i], p))
			return true;
	return false;
}

bool perms_grant(const char *const *perms, const char *area, const char *type_name,
		 const char *type_id, const char *verb)
{
	char b[200];
	if (has(perms, "*"))
		return true;
	snprintf(b, sizeof(b), "%s:*", area);
	if (has(perms, b))
		return true;
	snprintf(b, sizeof(b), "%s:%s", area, verb);
	if (has(perms, b))
		return true;
	snprintf(b, sizeof(b), "%s:*:%s", area, verb);
	if (has(perms, b))
		return true;
	const char *types[] = { type_name, type_id };
	for (int i = 0; i < 2; i++) {
		if (!types[i])
			continue;
		snprintf(b, sizeof(b), "%s:%s:%s", area, types[i], verb);
		if (has(perms, b))
			return true;
		snprintf(b, sizeof(b), "%s:%s:*", area, types[i]);
		if (has(perms, b))
			return true;
	}
	return false;
}

/* --- the role graph ------------------------------------------------------- */

/* Every role of the tenant (id, name, parent, permissions). */
static err_t roles_all(req_t *r, db_result **res)
{
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, name, parent_role_id, permissions FROM %s", tenant_table(r, "_roles")),
		NULL, 0, res);
	return st ? req_db_error(r, st) : E_OK;
}

static int role_index(const db_result *all, const char *id)
{
	for (int i = 0; id && i < all->nrows; i++)
		if (!strcmp(db_get(all, i, "id"), id))
			return i;
	return -1;
}

/* Adds role i's permissions and its ancestors' to the array perms
 * (no duplicates); a cycle (which writes prevent) stops the walk. */
static void collect(req_t *r, const db_result *all, int i, cJSON *perms)
{
	for (int depth = 0; i >= 0 && depth < ROLE_DEPTH_MAX; depth++) {
		cJSON *own = req_own(r, cJSON_Parse(db_get(all, i, "permissions")));
		const cJSON *it;
		cJSON_ArrayForEach(it, own) {
			bool dup = false;
			const cJSON *e;
			cJSON_ArrayForEach(e, perms)
				dup = dup || !strcmp(e->valuestring, it->valuestring);
			if (cJSON_IsString(it) && !dup)
				cJSON_AddItemToArray(perms, cJSON_CreateString(it->valuestring));
		}
		i = role_index(all, db_get(all, i, "parent_role_id"));
	}
}

static const char **perms_array(req_t *r, const cJSON *perms)
{
	int n = cJSON_GetArraySize(perms);
	const char **v = arena_alloc(r->a, sizeof(*v) * (size_t)(n + 1));
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, perms)
		v[i++] = arena_strdup(r->a, it->valuestring);
	v[i] = NULL;
	return v;
}

err_t roles_effective(req_t *r, const char *user_id, const char *role_claim, const char ***out)
{
	db_result *all, *mine;
	err_t rc = roles_all(r, &all);
	if (rc)
		return rc;
	db_param p[] = { db_str(user_id), db_str(role_claim) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT role_id FROM %s WHERE user_id = ? UNION SELECT id FROM %s WHERE name = ?",
		tenant_table(r, "_user_roles"), tenant_table(r, "_roles")), p, 2, &mine);
	if (st)
		return req_db_error(r, st);
	cJSON *perms = req_own(r, cJSON_CreateArray());
	for (int i = 0; i < mine->nrows; i++)
		collect(r, all, role_index(all, db_cell(mine, i, 0)), perms);
	*out = perms_array(r, perms);
	return E_OK;
}

const char **user_permissions(req_t *r, const char *user_id)
{
	const char *claim = NULL;
	if (r->who.kind == PRINCIPAL_USER && r->who.user_id && !strcmp(r->who.user_id, user_id)) {
		claim = r->who.role;
	} else {
		db_result *res;
		db_param p[] = { db_str(user_id) };
		if (db_exec(r->db, r->a, arena_printf(r->a, "SELECT role FROM %s WHERE id = ?",
						      tenant_table(r, "_users")), p, 1, &res) == DB_OK &&
		    res->nrows > 0)
			claim = db_cell(res, 0, 0);
	}
	const char **out;
	if (roles_effective(r, user_id, claim, &out)) {
		out = arena_alloc(r->a, sizeof(*out));
		out[0] = NULL;
	}
	return out;
}

/* --- CRUD ------------------------------------------------------------------ */

const field_t role_create_body[] = {
	{ "name", FT_STRING, FF_REQUIRED, 1, 64 },
	{ "description", FT_STRING, FF_NULLABLE, 0, 1000 },
	{ "parent_role_id", FT_STRING, FF_NULLABLE, 1, 40 },
	{ "permissions", FT_STRING_ARRAY, 0, 0, PERMS_MAX },
	{ NULL, 0, 0, 0, 0 },
};

const field_t role_update_body[] = {
	{ "name", FT_STRING, 0, 1, 64 },
	{ "description", FT_STRING, FF_NULLABLE, 0, 1000 },
	{ "parent_role_id", FT_STRING, FF_NULLABLE, 1, 40 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t role_permissions_body[] = {
	{ "permissions", FT_STRING_ARRAY, FF_REQUIRED, 0, PERMS_MAX },
	{ NULL, 0, 0, 0, 0 },
};

const field_t role_assign_body[] = {
	{ "user_id", FT_STRING, FF_REQUIRED, 1, 40 },
	{ "role_id", FT_STRING, FF_REQUIRED, 1, 40 },
	{ NULL, 0, 0, 0, 0 },
};

/* A role as the API shows it; effective permissions follow the chain. */
static cJSON *role_json(req_t *r, const db_result *res, int row, const db_result *all)
{
	static const col_t cols[] = {
		{ "id", COL_STR, 0 },
		{ "name", COL_STR, 0 },
		{ "description", COL_STR, 0 },
		{ "parent_role_id", COL_STR, 0 },
		{ "permissions", COL_JSON, 0 },
		{ "user_count", COL_INT, 0 },
		{ "assigned_at", COL_TIME, 0 },
		{ "created_at", COL_TIME, 0 },
		{ "updated_at", COL_TIME, 0 },
		{ NULL, 0, 0 },
	};
	cJSON *o = row_to_json(cols, res, row);
	cJSON *eff = cJSON_CreateArray();
	collect(r, all, role_index(all, db_get(res, row, "id")), eff);
	cJSON_AddItemToObject(o, "effective_permissions", eff);
	return o;
}

/* Every row of res as role_json renders it, in an array. */
static cJSON *roles_json(req_t *r, const db_result *res, const db_result *all)
{
	cJSON *list = cJSON_CreateArray();
	for (int i = 0; i < res->nrows; i++)
		cJSON_AddItemToArray(list, role_json(r, res, i, all));
	return list;
}

#define ROLE_SELECT "SELECT r.id, r.name, r.description, r.parent_role_id, r.permissions, " \
	"(SELECT COUNT(*) FROM %s ur WHERE ur.role_id = r.id) AS user_count, r.created_at, r.updated_at "

static err_t role_fetch(req_t *r, const char *id, cJSON **out)
{
	db_result *res, *all;
	db_param p[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, ROLE_SELECT "FROM %s r WHERE r.id = ?",
		tenant_table(r, "_user_roles"), tenant_table(r, "_roles")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Role not found");
	err_t rc = roles_all(r, &all);
	if (rc)
		return rc;
	*out = role_json(r, res, 0, all);
	return E_OK;
}

err_t roles_list(req_t *r)
{
	db_result *res, *all;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, ROLE_SELECT "FROM %s r ORDER BY r.name",
		tenant_table(r, "_user_roles"), tenant_table(r, "_roles")), NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	err_t rc = roles_all(r, &all);
	if (rc)
		return rc;
	reply_data(r, 200, roles_json(r, res, all));
	return E_OK;
}

err_t roles_get(req_t *r)
{
	cJSON *role;
	err_t rc = role_fetch(r, req_param(r, "role_id"), &role);
	if (rc)
		return rc;
	reply_data(r, 200, role);
	return E_OK;
}

static bool name_ok(const char *s)
{
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == strlen(s);
}

static err_t check_name(req_t *r)
{
	const char *name = json_str_of(r->json, "name");
	if (name && !name_ok(name))
		return req_fail_field(r, E_VALIDATION, "name",
				      "name must start with a letter and hold only letters, digits and _ - .");
	return E_OK;
}

static err_t check_permissions(req_t *r)
{
	const cJSON *perms = cJSON_GetObjectItemCaseSensitive(r->json, "permissions");
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, perms) {
		if (!perm_valid(it->valuestring))
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "permissions[%d]", i),
					      "\"%.80s\" is not a permission (e.g. objects:read, "
					      "objects:<type>:write, files:write, comments:write, "
					      "events:publish, *)", it->valuestring);
		i++;
	}
	return E_OK;
}

/* parent (may be NULL) must exist and must not have id among its
 * ancestors (or be id itself): that would close a cycle. */
static err_t check_parent(req_t *r, const char *id, const char *parent)
{
	if (!parent)
		return E_OK;
	db_result *all;
	err_t rc = roles_all(r, &all);
	if (rc)
		return rc;
	int i = role_index(all, parent);
	if (i < 0)
		return req_fail_field(r, E_VALIDATION, "parent_role_id", "parent_role_id names no role");
	for (int depth = 0; i >= 0; depth++) {
		if ((id && !strcmp(db_get(all, i, "id"), id)) || depth >= ROLE_DEPTH_MAX)
			return req_fail_field(r, E_VALIDATION, "parent_role_id",
					      id && !strcmp(parent, id) ? "a role cannot be its own parent"
					      : depth >= ROLE_DEPTH_MAX ? "roles may be nested at most 32 deep"
					      : "this parent would make the roles inherit from each other in a cycle");
		i = role_index(all, db_get(all, i, "parent_role_id"));
	}
	return E_OK;
}

/* Commits (or rolls back) and, after a commit, makes workers reload. */
static err_t finish(req_t *r, err_t rc)
{
	if ((rc = req_tx_end(r, rc)))
		return rc;
	identity_invalidate(r);
	return E_OK;
}

/* finish(), then answers the role as it is now. */
static err_t finish_with_role(req_t *r, err_t rc, const char *id, int status)
{
	cJSON *role;
	if ((rc = finish(r, rc)) || (rc = role_fetch(r, id, &role)))
		return rc;
	reply_data(r, status, role);
	return E_OK;
}

static err_t dup_name(req_t *r, enum db_status st)
{
	if (st == DB_DUPLICATE)
		return req_fail_field(r, E_CONFLICT, "name", "A role with this name exists");
	return req_db_error(r, st);
}

/* The write of create and update in one transaction: the parent checked
 * (when the body names one), sql run, the change audited, the role
 * answered. */
static err_t role_write(req_t *r, const char *id, const char *sql, const db_param *p, int np,
			const char *action, int status)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	err_t rc = cJSON_GetObjectItemCaseSensitive(r->json, "parent_role_id")
			   ? check_parent(r, id, json_str_of(r->json, "parent_role_id")) : E_OK;
	if (!rc) {
		st = db_exec(r->db, r->a, sql, p, np, NULL);
		rc = st ? dup_name(r, st) : E_OK;
	}
	if (!rc)
		rc = req_audit(r, action, "role", id, NULL);
	return finish_with_role(r, rc, id, status);
}

err_t roles_create(req_t *r)
{
	err_t rc;
	if ((rc = check_name(r)) || (rc = check_permissions(r)))
		return rc;
	const cJSON *perms = cJSON_GetObjectItemCaseSensitive(r->json, "permissions");
	char id[40];
	id_new(id, sizeof(id), "role_");
	db_param p[] = { db_str(id), db_str(json_str_of(r->json, "name")),
			 db_str(json_str_of(r->json, "description")),
			 db_str(json_str_of(r->json, "parent_role_id")),
			 db_str(perms ? req_json_text(r, perms) : "[]") };
	return role_write(r, id, arena_printf(r->a,
		"INSERT INTO %s (id, name, description, parent_role_id, permissions, created_at, "
		"updated_at) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		tenant_table(r, "_roles")), p, 5, "role.created", 201);
}

err_t roles_update(req_t *r)
{
	const char *id = req_param(r, "role_id");
	err_t rc;
	if ((rc = check_name(r)))
		return rc;
	cJSON *before;
	if ((rc = role_fetch(r, id, &before)))
		return rc;
	req_own(r, before);
	static const char *const names[] = { "name", "description", "parent_role_id" };
	char *sql = arena_printf(r->a, "UPDATE %s SET updated_at = UTC_TIMESTAMP(3)", tenant_table(r, "_roles"));
	db_param p[5];
	int np = 0;
	for (int i = 0; i < 3; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, names[i]);
		if (!v)
			continue;
		sql = arena_printf(r->a, "%s, %s = ?", sql, names[i]);
		p[np++] = db_str(cJSON_IsString(v) ? v->valuestring : NULL);
	}
	if (np == 0) {
		reply_data(r, 200, cJSON_Duplicate(before, true));
		return E_OK;
	}
	p[np++] = db_str(id);
	return role_write(r, id, arena_printf(r->a, "%s WHERE id = ?", sql), p, np, "role.updated", 200);
}

err_t roles_set_permissions(req_t *r)
{
	const char *id = req_param(r, "role_id");
	err_t rc;
	if ((rc = check_permissions(r)))
		return rc;
	/* Stored without duplicates, in the order given. */
	cJSON *perms = req_own(r, cJSON_CreateArray());
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->json, "permissions")) {
		bool dup = false;
		const cJSON *e;
		cJSON_ArrayForEach(e, perms)
			dup = dup || !strcmp(e->valuestring, it->valuestring);
		if (!dup)
			cJSON_AddItemToArray(perms, cJSON_CreateString(it->valuestring));
	}
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(req_json_text(r, perms)), db_str(id) };
	db_result *res;
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET permissions = ?, updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
		tenant_table(r, "_roles")), p, 2, &res);
	rc = st ? req_db_error(r, st) : E_OK;
	if (!rc && res->affected == 0) {
		/* Same permissions again, or no such role. */
		db_result *ex;
		db_param q[] = { db_str(id) };
		st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT 1 FROM %s WHERE id = ?",
						       tenant_table(r, "_roles")), q, 1, &ex);
		rc = st ? req_db_error(r, st) : ex->nrows == 0 ? req_fail(r, E_NOT_FOUND, "Role not found") : E_OK;
	}
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddItemToObject(details, "permissions", cJSON_Duplicate(perms, true));
		rc = req_audit(r, "role.permissions_set", "role", id, details);
	}
	return finish_with_role(r, rc, id, 200);
}

err_t roles_delete(req_t *r)
{
	const char *id = req_param(r, "role_id");
	db_result *res;
	db_param p[] = { db_str(id), db_str(id), db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT (SELECT COUNT(*) FROM %s WHERE id = ?) AS found, "
		"(SELECT COUNT(*) FROM %s WHERE role_id = ?) AS users, "
		"(SELECT COUNT(*) FROM %s WHERE parent_role_id = ?) AS children",
		tenant_table(r, "_roles"), tenant_table(r, "_user_roles"), tenant_table(r, "_roles")),
		p, 3, &res);
	if (st)
		return req_db_error(r, st);
	if (db_get_int(res, 0, "found", 0) == 0)
		return req_fail(r, E_NOT_FOUND, "Role not found");
	dependency_t deps[2];
	int nd = 0;
	long long users = db_get_int(res, 0, "users", 0), kids = db_get_int(res, 0, "children", 0);
	if (users)
		deps[nd++] = (dependency_t){ "user_roles", "User assignments", users };
	if (kids)
		deps[nd++] = (dependency_t){ "roles", "Child roles (they lose their parent)", kids };
	bool cascade = false;
	err_t rc;
	if (nd && (rc = securedel_check(r, "role", id, deps, nd, &cascade)))
		return rc;
	if ((st = db_begin(r->db)))
		return req_db_error(r, st);
	/* Assignments go with the role (foreign key); children lose the parent. */
	db_param q[] = { db_str(id) };
	st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE id = ?",
					       tenant_table(r, "_roles")), q, 1, &res);
	rc = st ? req_db_error(r, st) : res->affected == 0 ? req_fail(r, E_NOT_FOUND, "Role not found") : E_OK;
	if (!rc)
		rc = req_audit(r, "role.deleted", "role", id, NULL);
	if ((rc = finish(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "id", id);
	cJSON_AddTrueToObject(d, "deleted");
	reply_data(r, 200, d);
	return E_OK;
}

int user_exists(req_t *r, const char *user_id, err_t *rc)
{
	db_result *res;
	db_param p[] = { db_str(user_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT 1 FROM %s WHERE id = ?",
							      tenant_table(r, "_users")), p, 1, &res);
	if (st) {
		*rc = req_db_error(r, st);
		return -1;
	}
	return res->nrows > 0;
}

err_t roles_assign(req_t *r)
{
	const char *uid = json_str_of(r->json, "user_id"), *rid = json_str_of(r->json, "role_id");
	err_t rc = E_OK;
	int ex = user_exists(r, uid, &rc);
	if (ex < 0)
		return rc;
	if (!ex)
		return req_fail_field(r, E_NOT_FOUND, "user_id", "User not found");
	cJSON *role;
	if ((rc = role_fetch(r, rid, &role)))
		return rc == E_NOT_FOUND ? req_fail_field(r, rc, "role_id", "Role not found") : rc;
	req_own(r, role);
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(uid), db_str(rid) };
	db_result *res;
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT IGNORE INTO %s (user_id, role_id, created_at) VALUES (?, ?, UTC_TIMESTAMP(3))",
		tenant_table(r, "_user_roles")), p, 2, &res);
	rc = st ? req_db_error(r, st) : E_OK;
	bool added = !rc && res->affected > 0;
	if (added) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(details, "user_id", uid);
		rc = req_audit(r, "role.assigned", "role", rid, details);
	}
	if (added && !rc) {
		const char *name = json_str_of(role, "name");
		cJSON *data = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(data, "role_id", rid);
		cJSON_AddStringToObject(data, "role", name);
		rc = notify_user(r, uid, "account", arena_printf(r->a, "You now have the role %s", name),
				 arena_printf(r->a, "An administrator gave you the role \"%s\".", name), data);
	}
	if ((rc = finish(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "user_id", uid);
	cJSON_AddStringToObject(d, "role_id", rid);
	cJSON_AddTrueToObject(d, "assigned");
	cJSON_AddBoolToObject(d, "already_assigned", !added);
	reply_data(r, 200, d);
	return E_OK;
}

err_t roles_unassign(req_t *r)
{
	const char *rid = req_param(r, "role_id"), *uid = req_param(r, "user_id");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(uid), db_str(rid) };
	db_result *res;
	st = db_exec(r->db, r->a, arena_printf(r->a, "DELETE FROM %s WHERE user_id = ? AND role_id = ?",
					       tenant_table(r, "_user_roles")), p, 2, &res);
	err_t rc = st ? req_db_error(r, st)
		      : res->affected == 0 ? req_fail(r, E_NOT_FOUND, "This user does not have this role") : E_OK;
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(details, "user_id", uid);
		rc = req_audit(r, "role.unassigned", "role", rid, details);
	}
	if ((rc = finish(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "user_id", uid);
	cJSON_AddStringToObject(d, "role_id", rid);
	cJSON_AddTrueToObject(d, "removed");
	reply_data(r, 200, d);
	return E_OK;
}

err_t roles_of_user(req_t *r)
{
	const char *uid = req_param(r, "user_id");
	err_t rc = E_OK;
	int ex = user_exists(r, uid, &rc);
	if (ex < 0)
		return rc;
	if (!ex)
		return req_fail(r, E_NOT_FOUND, "User not found");
	db_result *res, *all;
	db_param p[] = { db_str(uid) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		ROLE_SELECT ", ux.created_at AS assigned_at FROM %s r JOIN %s ux ON ux.role_id = r.id "
		"WHERE ux.user_id = ? ORDER BY r.name", tenant_table(r, "_user_roles"),
		tenant_table(r, "_roles"), tenant_table(r, "_user_roles")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if ((rc = roles_all(r, &all)))
		return rc;
	reply_data(r, 200, roles_json(r, res, all));
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t roles_routes[] = {
	ROUTE("PUT", "/v1/roles/:role_id/permissions", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_set_permissions, role_permissions_body, "Assign permissions to role"),
	ROUTE("POST", "/v1/roles/assign", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_assign, role_assign_body, "Assign role to user"),
	ROUTE("GET", "/v1/roles", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_list, NULL, "List roles"),
	ROUTE("POST", "/v1/roles", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_create, role_create_body, "Create role"),
	ROUTE("GET", "/v1/roles/:role_id", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_get, NULL, "Get role"),
	ROUTE("PATCH", "/v1/roles/:role_id", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_update, role_update_body, "Update role"),
	ROUTE("DELETE", "/v1/roles/:role_id", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_delete, NULL, "Delete role"),
	ROUTE("GET", "/v1/users/:user_id/roles", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_of_user, NULL, "List user roles"),
	ROUTE("DELETE", "/v1/roles/:role_id/users/:user_id", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_unassign, NULL, "Remove role from user"),
	ROUTES_END,
};
