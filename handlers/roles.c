/*
 * roles.c - roles of a tenant's end users: CRUD with parent_role_id
 * inheritance (no cycles), permission strings, assignment to users, and
 * the effective permission set the identity gate enforces.
 *
 * The CRUD is a descriptor on the resource engine (fcgi/resource.h) with
 * hooks for what is special: the checks of a parent and of permissions,
 * each role's user count and effective permissions read from the role
 * graph, the secure delete of a role in use, workers told to reload, and
 * the update of PUT /v1/roles/:role_id/permissions.  Assigning roles to
 * users and listing a user's roles are written by hand next to it.
 *
 * Permission vocabulary (perm_areas below):
 *   admin                              tenant administration: every route,
 *                                      as a `*` API key (fcgi/gate.h)
 *   *                                  everything end users may do
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
#include <string.h>

#include "../common/jsonx.h"
#include "../common/rowjson.h"
#include "../fcgi/securedel.h"
#include "audit.h"
#include "enduser.h"
#include "identity.h"
#include "identity_admin.h"
#include "replies.h"
#include "routes.h"

#define PERMS_MAX 200
#define ROLE_DEPTH_MAX 32

/* The vocabulary's <area>:<verb> pairs; <area>:* stands for all of an
 * area's verbs, and objects also takes objects:<type>:<verb>. */
static const char *const perm_verbs[] = {
	"objects:read", "objects:write", "comments:write", "files:read", "files:write",
	"events:read", "events:publish", "realtime:read", "dashboards:read", "dashboards:write",
	"reports:run", "short_urls:read", "short_urls:write", "ai:use", NULL,
};

/* The n bytes at area are an area and verb is one of its verbs, or *. */
static bool verb_ok(const char *area, size_t n, const char *verb)
{
	for (const char *const *p = perm_verbs; *p; p++)
		if (!strncmp(*p, area, n) && (*p)[n] == ':' &&
		    (!strcmp(verb, "*") || !strcmp(*p + n + 1, verb)))
			return true;
	return false;
}

#define WORD_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

/* The type segment of objects:<type>:<verb>, which a ':' ends. */
static bool type_segment_ok(const char *s, size_t n)
{
	if (n == 1 && s[0] == '*')
		return true;
	return n > 0 && n <= 63 && s[0] >= 'a' && s[0] <= 'z' && strspn(s, WORD_CHARS) == n;
}

bool perm_valid(const char *s)
{
	const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c1)
		return !strcmp(s, "*") || !strcmp(s, "admin");
	if (!c2)
		return verb_ok(s, (size_t)(c1 - s), c1 + 1);
	return !strncmp(s, "objects:", 8) && !strchr(c2 + 1, ':') &&
	       type_segment_ok(c1 + 1, (size_t)(c2 - c1 - 1)) && verb_ok(s, 7, c2 + 1);
}

static bool has(const char *const *perms, const char *p)
{
	for (int i = 0; perms[i]; i++)
		if (!strcmp(perms[i], p))
			return true;
	return false;
}

/* perms holds <area>:<a>, or <area>:<a>:<b> when b is not NULL. */
static bool has_in(const char *const *perms, const char *area, const char *a, const char *b)
{
	char s[200];
	snprintf(s, sizeof(s), "%s:%s%s%s", area, a, b ? ":" : "", b ? b : "");
	return has(perms, s);
}

/* `*` does not hold `admin`: roles written before it existed keep
 * granting what they granted. */
bool perms_admin(const char *const *perms)
{
	return has(perms, "admin");
}

bool perms_grant(const char *const *perms, const char *area, const char *type_name,
		 const char *type_id, const char *verb)
{
	const char *types[] = { type_name, type_id };
	bool ok = has(perms, "*") || perms_admin(perms) || has_in(perms, area, "*", NULL) ||
		  has_in(perms, area, verb, NULL) || has_in(perms, area, "*", verb);
	for (int i = 0; i < 2 && !ok; i++)
		ok = types[i] && (has_in(perms, area, types[i], verb) ||
				  has_in(perms, area, types[i], "*"));
	return ok;
}

/* --- the role graph ------------------------------------------------------- */

/* Every role of the tenant (id, parent, permissions, how many users hold
 * it). */
static err_t roles_all(req_t *r, db_result **res)
{
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT r.id, r.parent_role_id, r.permissions, "
		"(SELECT COUNT(*) FROM %s ur WHERE ur.role_id = r.id) AS user_count FROM %s r",
		tenant_table(r, "_user_roles"), tenant_table(r, "_roles")), NULL, 0, res);
	return st ? req_db_error(r, st) : E_OK;
}

static int role_index(const db_result *all, const char *id)
{
	for (int i = 0; id && i < all->nrows; i++)
		if (!strcmp(db_get(all, i, "id"), id))
			return i;
	return -1;
}

/* Adds the strings of from to the array perms, each once, in order. */
static void perms_merge(cJSON *perms, const cJSON *from)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, from) {
		bool dup = false;
		const cJSON *e;
		cJSON_ArrayForEach(e, perms)
			dup = dup || !strcmp(e->valuestring, it->valuestring);
		if (cJSON_IsString(it) && !dup)
			cJSON_AddItemToArray(perms, cJSON_CreateString(it->valuestring));
	}
}

/* Adds role i's permissions and its ancestors' to the array perms
 * (no duplicates); a cycle (which writes prevent) stops the walk. */
static void collect(req_t *r, const db_result *all, int i, cJSON *perms)
{
	for (int depth = 0; i >= 0 && depth < ROLE_DEPTH_MAX; depth++) {
		perms_merge(perms, req_own(r, cJSON_Parse(db_get(all, i, "permissions"))));
		i = role_index(all, db_get(all, i, "parent_role_id"));
	}
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
	/* The strings stay in perms, which the request owns. */
	const char **v = arena_alloc(r->a, sizeof(*v) * (size_t)(cJSON_GetArraySize(perms) + 1));
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, perms)
		v[n++] = it->valuestring;
	v[n] = NULL;
	*out = v;
	return E_OK;
}

/* --- checks (shape is checked by the schema) ----------------------------- */

static err_t check_name(req_t *r, const res_field_t *f, const cJSON *name)
{
	(void)f;
	const char *s = name->valuestring;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) ||
	    strspn(s, WORD_CHARS "-.") != strlen(s))
		return req_fail_field(r, E_VALIDATION, "name",
				      "name must start with a letter and hold only letters, digits and _ - .");
	return E_OK;
}

/* The permissions, after the name's shape (a field check). */
static err_t role_check(req_t *r, res_ctx_t *c)
{
	const cJSON *perms = cJSON_GetObjectItemCaseSensitive(c->body, "permissions"), *it;
	int i = 0;
	cJSON_ArrayForEach(it, perms) {
		if (!perm_valid(it->valuestring))
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "permissions[%d]", i),
					      "\"%.80s\" is not a permission (e.g. objects:read, "
					      "objects:<type>:write, files:write, comments:write, "
					      "events:publish, *, admin)", it->valuestring);
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

/* --- the resource --------------------------------------------------------- */

static const res_field_t role_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_UNIQUE | RF_SORT, .min = 1, .max = 64,
	  .check = check_name },
	{ .name = "description", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 1000 },
	{ .name = "parent_role_id", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE, .min = 1, .max = 40 },
	/* Checked by role_check, after the name; replaced as a whole by
	 * PUT /v1/roles/:role_id/permissions (role_permissions_set). */
	{ .name = "permissions", .type = COL_JSON, .in = FT_STRING_ARRAY, .flags = RF_CREATE,
	  .max = PERMS_MAX },
	/* Filled in by role_render: the assignments live in the tenant's
	 * database, which a field's fixed expression cannot name. */
	{ .name = "user_count", .column = "NULL", .type = COL_INT, .flags = RF_EXPR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* A list reads the role graph once, for every row role_render adds to. */
static err_t role_list(req_t *r, res_ctx_t *c)
{
	db_result *all;
	err_t rc = roles_all(r, &all);
	c->data = all;
	return rc;
}

/* Adds what a role's own row cannot say: how many users hold it and what
 * it grants with its ancestors.  Outside a list the graph is read for each
 * row, so that a row read after a write sees the write. */
static err_t role_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	db_result *all = c->data;
	err_t rc;
	if (!all && (rc = roles_all(r, &all)))
		return rc;
	int i = role_index(all, json_str_of(row, "id"));
	long long users = i >= 0 ? db_get_int(all, i, "user_count", 0) : 0;
	cJSON_ReplaceItemInObjectCaseSensitive(row, "user_count", cJSON_CreateNumber((double)users));
	cJSON *eff = cJSON_CreateArray();
	collect(r, all, i, eff);
	cJSON_AddItemToObject(row, "effective_permissions", eff);
	return E_OK;
}

/* Role audit entries have always had no details; a JSON null shows as the
 * same null in the audit log. */
static void audit_bare(req_t *r, res_ctx_t *c)
{
	c->audit = req_own(r, cJSON_CreateNull());
}

/* A name another role has (the unique key): the message the API has
 * always given. */
static err_t role_conflict(req_t *r, res_ctx_t *c)
{
	(void)c;
	return req_fail_field(r, E_CONFLICT, "name", "A role with this name exists");
}

/* PUT /v1/roles/:role_id/permissions, the one update with permissions:
 * they replace the role's own, stored without duplicates in the order
 * given, audited as role.permissions_set with the list. */
static err_t role_permissions_set(req_t *r, res_ctx_t *c, const cJSON *given)
{
	cJSON *perms = req_own(r, cJSON_CreateArray());
	perms_merge(perms, given);
	resource_set(c, "permissions", db_str(req_json_text(r, perms)));
	c->verb = "permissions_set";
	c->audit = req_own(r, cJSON_CreateObject());
	cJSON_AddItemToObject(c->audit, "permissions", cJSON_Duplicate(perms, true));
	return E_OK;
}

/* In the order the checks have always run: the name's shape (a field
 * check), the permissions (role_check), the parent, then, on the write,
 * the name's uniqueness (role_conflict). */
static err_t role_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *perms = cJSON_GetObjectItemCaseSensitive(c->body, "permissions");
	if (c->op == OP_UPDATE && perms)
		return role_permissions_set(r, c, perms);
	audit_bare(r, c);
	return check_parent(r, c->id, json_str_of(c->body, "parent_role_id"));
}

/* A role that users hold or other roles inherit from goes only with a
 * confirm token: its assignments go with it (foreign key), its children
 * lose their parent. */
static err_t role_before_delete(req_t *r, res_ctx_t *c)
{
	audit_bare(r, c);
	db_result *res;
	db_param p[] = { db_str(c->id), db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT (SELECT COUNT(*) FROM %s WHERE role_id = ?) AS users, "
		"(SELECT COUNT(*) FROM %s WHERE parent_role_id = ?) AS children",
		tenant_table(r, "_user_roles"), resource_table(r, c->res)), p, 2, &res);
	if (st)
		return req_db_error(r, st);
	dependency_t deps[] = {
		{ "user_roles", "User assignments", db_get_int(res, 0, "users", 0) },
		{ "roles", "Child roles (they lose their parent)",
		  db_get_int(res, 0, "children", 0) },
	};
	return securedel_check(r, "role", c->id, deps, 2, &c->cascade);
}

/* Workers reload the permissions they cached. */
static void role_committed(req_t *r, res_ctx_t *c)
{
	(void)c;
	identity_invalidate(r);
}

static const res_hooks_t role_hooks = {
	.check = role_check,
	.validate = role_validate,
	.list = role_list,
	.before_delete = role_before_delete,
	.after_commit = role_committed,
	.render = role_render,
	.conflict = role_conflict,
};

static const resource_t role_res = {
	.name = "Role",
	.type = "role",
	.table = "_roles",
	.home = RES_TENANT,
	.id_param = "role_id",
	.id_prefix = "role_",
	.fields = role_fields,
	.order = "name",
	.list_max = 1000,
	.hooks = &role_hooks,
	.example = "{\"name\":\"probe\",\"permissions\":[\"objects:read\"]}",
};

/* --- permissions and assignments ------------------------------------------ */

static const field_t role_permissions_body[] = {
	{ "permissions", FT_STRING_ARRAY, FF_REQUIRED, 0, PERMS_MAX },
	{ NULL, 0, 0, 0, 0 },
};

static const field_t role_assign_body[] = {
	{ "user_id", FT_STRING, FF_REQUIRED, 1, 40 },
	{ "role_id", FT_STRING, FF_REQUIRED, 1, 40 },
	{ NULL, 0, 0, 0, 0 },
};

static err_t roles_set_permissions(req_t *r)
{
	return resource_op(r, &role_res, OP_UPDATE);
}

err_t user_require(req_t *r, const char *user_id, const char *field)
{
	db_result *res;
	err_t rc = user_find(r, "id", user_id, false, &res);
	if (rc || res->nrows > 0)
		return rc;
	return field ? req_fail_field(r, E_NOT_FOUND, field, "User not found")
		     : req_fail(r, E_NOT_FOUND, "User not found");
}

/* The user told of a role given to them (in the assignment's
 * transaction). */
static err_t notify_assigned(req_t *r, const char *uid, const char *rid, const cJSON *role)
{
	const char *name = json_str_of(role, "name");
	cJSON *data = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(data, "role_id", rid);
	cJSON_AddStringToObject(data, "role", name);
	return notify_user(r, uid, "account", arena_printf(r->a, "You now have the role %s", name),
			   arena_printf(r->a, "An administrator gave you the role \"%s\".", name), data);
}

/*
 * Gives (role, the role as rendered) or takes away (role NULL) role rid
 * of user uid, in one transaction with the audit entry role.assigned or
 * role.unassigned {user_id} and the user's notification; *changed says
 * whether it did (a role given twice is one assignment; one taken away
 * that the user does not have is 404).  Workers reload after the commit.
 */
static err_t assignment_write(req_t *r, const char *uid, const char *rid, const cJSON *role,
			      bool *changed)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(uid), db_str(rid) };
	db_result *res;
	st = db_exec(r->db, r->a, arena_printf(r->a, role
		? "INSERT IGNORE INTO %s (user_id, role_id, created_at) VALUES (?, ?, UTC_TIMESTAMP(3))"
		: "DELETE FROM %s WHERE user_id = ? AND role_id = ?", tenant_table(r, "_user_roles")),
		p, 2, &res);
	err_t rc = st ? req_db_error(r, st) : E_OK;
	*changed = !rc && res->affected > 0;
	if (!rc && !*changed && !role)
		rc = req_fail(r, E_NOT_FOUND, "This user does not have this role");
	if (*changed) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(details, "user_id", uid);
		rc = req_audit(r, role ? "role.assigned" : "role.unassigned", "role", rid, details);
	}
	if (*changed && !rc && role)
		rc = notify_assigned(r, uid, rid, role);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	identity_invalidate(r);
	return E_OK;
}

static err_t roles_assign(req_t *r)
{
	const char *uid = json_str_of(r->json, "user_id"), *rid = json_str_of(r->json, "role_id");
	res_ctx_t c;
	cJSON *role;
	err_t rc;
	if ((rc = user_require(r, uid, "user_id")) || (rc = resource_ctx(r, &role_res, OP_GET, &c)))
		return rc;
	if ((rc = resource_fetch(r, &c, rid, false, &role)))
		return rc == E_NOT_FOUND ? req_fail_field(r, rc, "role_id", "Role not found") : rc;
	bool added;
	if ((rc = assignment_write(r, uid, rid, role, &added)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "user_id", uid);
	cJSON_AddStringToObject(d, "role_id", rid);
	cJSON_AddTrueToObject(d, "assigned");
	cJSON_AddBoolToObject(d, "already_assigned", !added);
	reply_data(r, 200, d);
	return E_OK;
}

static err_t roles_unassign(req_t *r)
{
	const char *rid = req_param(r, "role_id"), *uid = req_param(r, "user_id");
	bool removed;
	err_t rc = assignment_write(r, uid, rid, NULL, &removed);
	return rc ? rc : reply_done(r, "removed", "user_id", uid, "role_id", rid, NULL);
}

/* The roles a user holds, as the list shows them, with when each was
 * assigned (before created_at, where it has always been shown). */
static err_t roles_of_user(req_t *r)
{
	col_t cols[16];
	int n = 0;
	for (const col_t *k = resource_cols(&role_res); k->name && n < 14; k++) {
		if (!strcmp(k->name, "created_at"))
			cols[n++] = (col_t){ "assigned_at", COL_TIME, 0 };
		cols[n++] = *k;
	}
	cols[n] = (col_t){ NULL, 0, 0 };
	const char *uid = req_param(r, "user_id");
	res_ctx_t c;
	err_t rc;
	if ((rc = user_require(r, uid, NULL)) || (rc = resource_ctx(r, &role_res, OP_LIST, &c)) ||
	    (rc = role_list(r, &c)))
		return rc;
	db_result *res;
	db_param p[] = { db_str(uid) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT r.*, NULL AS user_count, ux.created_at AS assigned_at FROM %s r "
		"JOIN %s ux ON ux.role_id = r.id WHERE ux.user_id = ? ORDER BY r.name",
		resource_table(r, &role_res), tenant_table(r, "_user_roles")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *list = cJSON_CreateArray();
	for (int i = 0; i < res->nrows; i++) {
		cJSON *row = row_to_json(cols, res, i);
		role_render(r, &c, row);
		cJSON_AddItemToArray(list, row);
	}
	reply_data(r, 200, list);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t roles_routes[] = {
	ROUTE("PUT", "/v1/roles/:role_id/permissions", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_set_permissions, role_permissions_body, "Assign permissions to role"),
	ROUTE("POST", "/v1/roles/assign", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_assign, role_assign_body, "Assign role to user"),
	CRUD("GET", "/v1/roles", "Roles", "auth", NULL, 0, role_res, OP_LIST, "List roles"),
	CRUD("POST", "/v1/roles", "Roles", "auth", NULL, 0, role_res, OP_CREATE, "Create role"),
	CRUD("GET", "/v1/roles/:role_id", "Roles", "auth", NULL, 0, role_res, OP_GET, "Get role"),
	CRUD("PATCH", "/v1/roles/:role_id", "Roles", "auth", NULL, 0, role_res, OP_UPDATE, "Update role"),
	CRUD("DELETE", "/v1/roles/:role_id", "Roles", "auth", NULL, 0, role_res, OP_DELETE, "Delete role"),
	ROUTE("GET", "/v1/users/:user_id/roles", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_of_user, NULL, "List user roles"),
	ROUTE("DELETE", "/v1/roles/:role_id/users/:user_id", "Roles", AUTH_BEARER, "auth", NULL, 0, roles_unassign, NULL, "Remove role from user"),
	ROUTES_END,
};
