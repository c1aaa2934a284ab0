/*
 * policies.c - row-level policies: the condition grammar and its
 * evaluator (policies.h), their CRUD per object type on the resource
 * engine (fcgi/resource.h, the type as parent), and POST
 * /v1/policies/simulate.  objects.c compiles select/update/delete
 * conditions into SQL with the same leaf rules as list filters; inserts and
 * the simulator use policy_eval here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/jsonx.h"
#include "policies.h"
#include "replies.h"
#include "routes.h"

#define COND_MAX_DEPTH 10
#define COND_MAX_NODES 200

static const field_t policy_simulate_body[] = {
	{ "policy", FT_OBJECT, FF_REQUIRED, 0, 0 },
	{ "object_type_id", FT_STRING, 0, 1, 64 },
	{ "auth_context", FT_OBJECT, 0, 0, 0 },
	{ "sample_data", FT_ARRAY, FF_REQUIRED, 0, 1000 },
	{ NULL, 0, 0, 0, 0 },
};

static const char *const actions[] = { "select", "insert", "update", "delete", "all", NULL };
static const char *const operators[] = { "eq", "neq", "gt", "gte", "lt", "lte", "in", "nin",
					 "contains", "starts_with", "is_null", "is_not_null", NULL };

/* --- the caller ---------------------------------------------------------- */

authctx_t policy_auth(const req_t *r)
{
	authctx_t a = { r->who.user_id, r->who.role, r->who.email, r->who.claims };
	return a;
}

static bool is_auth_ref(const cJSON *v)
{
	return cJSON_IsObject(v) && cJSON_GetArraySize(v) == 1 &&
	       cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "auth"));
}

static bool auth_ref_ok(const char *ref)
{
	return !strcmp(ref, "uid") || !strcmp(ref, "role") || !strcmp(ref, "email") ||
	       (!strncmp(ref, "claims.", 7) && ref[7]);
}

const cJSON *policy_value(req_t *r, const cJSON *v, const authctx_t *a)
{
	if (!is_auth_ref(v))
		return v;
	const char *ref = cJSON_GetObjectItemCaseSensitive(v, "auth")->valuestring;
	const char *s = !strcmp(ref, "uid") ? a->uid : !strcmp(ref, "role") ? a->role :
			!strcmp(ref, "email") ? a->email : NULL;
	if (s)
		return req_own(r, cJSON_CreateString(s));
	if (!strncmp(ref, "claims.", 7) && a->claims) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(a->claims, ref + 7);
		if (c)
			return c;
	}
	return NULL;
}

/* --- validation ------------------------------------------------------------ */

/* Checks the structure of cond; with t, also that properties exist. */
static err_t cond_check(req_t *r, const objtype_t *t, const cJSON *c, const char *path,
			int depth, int *nodes)
{
	if (++*nodes > COND_MAX_NODES || depth > COND_MAX_DEPTH)
		return req_fail_field(r, E_VALIDATION, path,
				      "conditions may nest %d deep and hold %d nodes at most",
				      COND_MAX_DEPTH, COND_MAX_NODES);
	if (cJSON_IsBool(c))
		return E_OK;
	if (!cJSON_IsObject(c))
		return req_fail_field(r, E_VALIDATION, path, "a condition is true, false or an object");
	const cJSON *and = cJSON_GetObjectItemCaseSensitive(c, "and");
	const cJSON *or = cJSON_GetObjectItemCaseSensitive(c, "or");
	const cJSON *not = cJSON_GetObjectItemCaseSensitive(c, "not");
	if (and || or) {
		const cJSON *list = and ? and : or;
		if (cJSON_GetArraySize(c) != 1 || !cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
			return req_fail_field(r, E_VALIDATION, path,
					      "\"and\"/\"or\" take a non-empty array of conditions");
		int i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, list) {
			err_t rc = cond_check(r, t, it, arena_printf(r->a, "%s.%s[%d]", path,
						and ? "and" : "or", i++), depth + 1, nodes);
			if (rc)
				return rc;
		}
		return E_OK;
	}
	if (not) {
		if (cJSON_GetArraySize(c) != 1)
			return req_fail_field(r, E_VALIDATION, path, "\"not\" takes one condition");
		return cond_check(r, t, not, arena_printf(r->a, "%s.not", path), depth + 1, nodes);
	}
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(c, "property");
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(c, "operator");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "value");
	if (!cJSON_IsString(p) || !cJSON_IsString(op))
		return req_fail_field(r, E_VALIDATION, path,
				      "a comparison is {\"property\", \"operator\", \"value\"}");
	const cJSON *it;
	cJSON_ArrayForEach(it, c)
		if (strcmp(it->string, "property") && strcmp(it->string, "operator") && strcmp(it->string, "value"))
			return req_fail_field(r, E_VALIDATION, path, "unknown key \"%.40s\"", it->string);
	if (!one_of(op->valuestring, operators))
		return req_fail_field(r, E_VALIDATION, path,
				      "operator must be one of eq neq gt gte lt lte in nin contains "
				      "starts_with is_null is_not_null");
	if (t && strcmp(p->valuestring, "id") && strcmp(p->valuestring, "created_by") &&
	    !objtype_prop(t, p->valuestring))
		return req_fail_field(r, E_VALIDATION, path, "%.60s is not a property of %s",
				      p->valuestring, t->name);
	bool needs_value = strcmp(op->valuestring, "is_null") && strcmp(op->valuestring, "is_not_null");
	if (needs_value && !v)
		return req_fail_field(r, E_VALIDATION, path, "operator %s needs a value", op->valuestring);
	if (is_auth_ref(v) && !auth_ref_ok(cJSON_GetObjectItemCaseSensitive(v, "auth")->valuestring))
		return req_fail_field(r, E_VALIDATION, path,
				      "auth references are uid, role, email or claims.<name>");
	if (cJSON_IsObject(v) && !is_auth_ref(v))
		return req_fail_field(r, E_VALIDATION, path,
				      "value is a constant or {\"auth\": \"uid|role|email|claims.<name>\"}");
	return E_OK;
}

/* --- evaluation -------------------------------------------------------------- */

/* Numeric value of a JSON number or numeric string. */
static bool as_number(const cJSON *v, double *out)
{
	if (cJSON_IsNumber(v)) {
		*out = v->valuedouble;
		return true;
	}
	if (cJSON_IsRaw(v) || cJSON_IsString(v)) {
		char *end;
		*out = strtod(v->valuestring, &end);
		return *v->valuestring && !*end;
	}
	return false;
}

/* Compares a and b as the database would: numbers by value, text without
 * regard to case, booleans as booleans.  Sets *ok false when they cannot
 * be compared. */
static int compare(const cJSON *a, const cJSON *b, bool *ok)
{
	double x, y;
	*ok = true;
	if (cJSON_IsBool(a) || cJSON_IsBool(b)) {
		*ok = cJSON_IsBool(a) && cJSON_IsBool(b);
		return *ok ? cJSON_IsTrue(a) - cJSON_IsTrue(b) : 0;
	}
	if (as_number(a, &x) && as_number(b, &y))
		return x < y ? -1 : x > y;
	if (cJSON_IsString(a) && cJSON_IsString(b))
		return strcasecmp(a->valuestring, b->valuestring);
	*ok = false;
	return 0;
}

static bool equal(const cJSON *a, const cJSON *b)
{
	bool ok;
	return compare(a, b, &ok) == 0 && ok;
}

/* Whether the array list holds a value equal to x. */
static bool holds(const cJSON *list, const cJSON *x)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
		if (equal(it, x))
			return true;
	return false;
}

static const cJSON *row_value(req_t *r, const cJSON *props, const char *id, const char *by,
			      const char *name)
{
	if (!strcmp(name, "id"))
		return id ? req_own(r, cJSON_CreateString(id)) : NULL;
	if (!strcmp(name, "created_by"))
		return by ? req_own(r, cJSON_CreateString(by)) : NULL;
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(props, name);
	return cJSON_IsNull(v) ? NULL : v;
}

static bool leaf_eval(req_t *r, const cJSON *c, const cJSON *props, const char *id,
		      const char *by, const authctx_t *a)
{
	const char *name = cJSON_GetObjectItemCaseSensitive(c, "property")->valuestring;
	const char *op = cJSON_GetObjectItemCaseSensitive(c, "operator")->valuestring;
	const cJSON *x = row_value(r, props, id, by, name);
	if (!strcmp(op, "is_null"))
		return !x;
	if (!strcmp(op, "is_not_null"))
		return x != NULL;
	const cJSON *v = policy_value(r, cJSON_GetObjectItemCaseSensitive(c, "value"), a);
	if (!v || cJSON_IsNull(v))
		return false; /* a missing identity never matches */
	if (!strcmp(op, "neq"))
		return !x || !equal(x, v);
	if (!strcmp(op, "in") || !strcmp(op, "nin")) {
		bool found = x && cJSON_IsArray(v) && holds(v, x);
		return !strcmp(op, "in") ? found : !found;
	}
	if (!x)
		return false;
	if (!strcmp(op, "eq"))
		return equal(x, v);
	if (!strcmp(op, "contains") && cJSON_IsArray(x))
		return holds(x, v);
	if (!strcmp(op, "contains"))
		return cJSON_IsString(x) && cJSON_IsString(v) && strcasestr(x->valuestring, v->valuestring);
	if (!strcmp(op, "starts_with"))
		return cJSON_IsString(x) && cJSON_IsString(v) &&
		       !strncasecmp(x->valuestring, v->valuestring, strlen(v->valuestring));
	bool ok;
	int cmp = compare(x, v, &ok);
	if (!ok)
		return false;
	return !strcmp(op, "gt") ? cmp > 0 : !strcmp(op, "gte") ? cmp >= 0 :
	       !strcmp(op, "lt") ? cmp < 0 : cmp <= 0;
}

bool policy_eval(req_t *r, const cJSON *cond, const cJSON *props, const char *id,
		 const char *created_by, const authctx_t *a, char *why, size_t whylen)
{
	if (cJSON_IsBool(cond)) {
		if (why)
			snprintf(why, whylen, "constant %s", cJSON_IsTrue(cond) ? "true" : "false");
		return cJSON_IsTrue(cond);
	}
	const cJSON *and = cJSON_GetObjectItemCaseSensitive(cond, "and");
	const cJSON *or = cJSON_GetObjectItemCaseSensitive(cond, "or");
	const cJSON *not = cJSON_GetObjectItemCaseSensitive(cond, "not");
	const cJSON *it;
	if (and || or) {
		/* "and" decides at its first false, "or" at its first true. */
		bool decides = !and;
		cJSON_ArrayForEach(it, (and ? and : or))
			if (policy_eval(r, it, props, id, created_by, a, why, whylen) == decides)
				return decides;
		return !decides;
	}
	if (not)
		return !policy_eval(r, not, props, id, created_by, a, why, whylen);
	bool res = leaf_eval(r, cond, props, id, created_by, a);
	if (why) {
		char *leaf = cJSON_PrintUnformatted(cond);
		snprintf(why, whylen, "%s is %s", leaf ? leaf : "?", res ? "true" : "false");
		cJSON_free(leaf);
	}
	return res;
}

/* --- loading ------------------------------------------------------------------ */

err_t policies_for(req_t *r, const objtype_t *t, const char *action, cJSON **conds)
{
	db_result *res;
	db_param p[] = { db_str(t->id), db_str(action), db_str(r->who.role) };
	/* Object routes read this, in their transactions: a tenant that
	 * never made a policy has no table yet, and so no policy. */
	enum db_status st = db_exec_present(r->db, r->a, arena_printf(r->a,
		"SELECT condition_json FROM %s WHERE object_type_id = ? AND enabled = 1 "
		"AND action IN (?, 'all') AND (role IS NULL OR role = ?) ORDER BY id",
		tenant_table(r, "_policies")), p, 3, &res);
	if (st)
		return req_db_error(r, st);
	*conds = req_own(r, cJSON_CreateArray());
	for (int i = 0; i < res->nrows; i++) {
		cJSON *c = cJSON_Parse(db_cell(res, i, 0));
		if (c)
			cJSON_AddItemToArray(*conds, c);
	}
	return E_OK;
}

/* --- CRUD ------------------------------------------------------------------- */

static const res_field_t policy_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "object_type_id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED | RF_UNIQUE,
	  .min = 1, .max = 255 },
	{ .name = "action", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = 16, .values = actions },
	{ .name = "role", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .min = 1, .max = 64 },
	{ .name = "condition_json", .type = COL_JSON, .in = FT_ANY, .flags = RF_WRITABLE },
	{ .name = "enabled", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_WRITABLE },
	{ .name = "description", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 2000 },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The condition is checked against the type (absent on create: true);
 * the name against the type's other policies.  A policy's audit entry
 * names its type and action when created; updates and deletes have no
 * details (RES_AUDIT_BARE), where the engine would name the policy. */
static err_t policy_validate(req_t *r, res_ctx_t *c)
{
	const objtype_t *t = c->parent;
	const cJSON *cond = cJSON_GetObjectItemCaseSensitive(c->body, "condition_json");
	int nodes = 0;
	err_t rc;
	if (cond && (rc = cond_check(r, t, cond, "condition_json", 0, &nodes)))
		return rc;
	if (!cond && c->op == OP_CREATE)
		resource_set(c, "condition_json", db_str("true"));
	const char *name;
	bool taken;
	if ((rc = type_child_name(r, c, &name, &taken)))
		return rc;
	if (taken)
		return req_fail_field(r, E_CONFLICT, "name", "A policy with this name exists on %s", t->name);
	if (c->op != OP_CREATE)
		return E_OK;
	c->audit = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(c->audit, "object_type_id", t->id);
	cJSON_AddStringToObject(c->audit, "action", json_str_of(c->body, "action"));
	return E_OK;
}

static const res_hooks_t policy_hooks = {
	.parent = type_child_parent,
	.validate = policy_validate,
};

const resource_t policy_res = {
	.name = "Policy",
	.type = "policy",
	.table = "_policies",
	.home = RES_TENANT,
	.id_param = "policy_id",
	.id_prefix = "pol_",
	.fields = policy_fields,
	.parent_param = "object_type_id",
	.parent_column = "object_type_id",
	.order = "name",
	.flags = RES_AUDIT_BARE,
	.list_max = 1000,
	.hooks = &policy_hooks,
	.example = "{\"name\":\"probe\",\"action\":\"select\"}",
};

/* --- simulate ----------------------------------------------------------------- */

static err_t policies_simulate(req_t *r)
{
	const cJSON *pol = cJSON_GetObjectItemCaseSensitive(r->json, "policy");
	const char *tid = json_str_of(r->json, "object_type_id");
	objtype_t *t = NULL;
	err_t rc;
	if (tid && (rc = objtype_load(r, tid, &t)))
		return rc;
	/* A stored policy by id, or one given inline. */
	const char *pid = json_str_of(pol, "id");
	const cJSON *cond = cJSON_GetObjectItemCaseSensitive(pol, "condition_json");
	const char *action = json_str_of(pol, "action");
	const char *role = json_str_of(pol, "role");
	if (pid) {
		if (!t)
			return req_fail_field(r, E_VALIDATION, "object_type_id",
					      "object_type_id is required with policy.id");
		cJSON *stored;
		if ((rc = type_child_fetch(r, &policy_res, t, pid, &stored)))
			return rc;
		/* Rendered numbers are raw text (rowjson.c); the evaluator and
		 * its reasons take the parsed form. */
		const char *text = req_json_text(r, cJSON_GetObjectItemCaseSensitive(stored, "condition_json"));
		cond = text ? req_own(r, cJSON_Parse(text)) : NULL;
		action = json_str_of(stored, "action");
		role = json_str_of(stored, "role");
	}
	if (!cond)
		return req_fail_field(r, E_VALIDATION, "policy.condition_json",
				      "policy needs condition_json (or id)");
	int nodes = 0;
	if ((rc = one_of_or_reply(r, "action", action, actions)) ||
	    (rc = cond_check(r, t, cond, "policy.condition_json", 0, &nodes)))
		return rc;
	const cJSON *ac = cJSON_GetObjectItemCaseSensitive(r->json, "auth_context");
	authctx_t a = {
		json_str_of(ac, "uid") ? json_str_of(ac, "uid") : json_str_of(ac, "user_id"), json_str_of(ac, "role"),
		json_str_of(ac, "email"), cJSON_GetObjectItemCaseSensitive(ac, "claims"),
	};
	bool role_applies = !role || (a.role && !strcmp(role, a.role));
	cJSON *d = cJSON_CreateObject();
	cJSON_AddBoolToObject(d, "role_applies", role_applies);
	cJSON *results = cJSON_AddArrayToObject(d, "results");
	int allowed = 0, i = 0;
	const cJSON *row;
	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(r->json, "sample_data")) {
		/* A sample is an object's properties, or an object with them. */
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(row, "properties");
		if (!cJSON_IsObject(props))
			props = row;
		char why[512] = "";
		bool ok = role_applies &&
			  policy_eval(r, cond, props, json_str_of(row, "id"), json_str_of(row, "created_by"), &a,
				      why, sizeof(why));
		if (!role_applies)
			snprintf(why, sizeof(why), "the policy is for role %s, not %s", role,
				 a.role ? a.role : "(none)");
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "index", i++);
		cJSON_AddBoolToObject(o, "allowed", ok);
		cJSON_AddStringToObject(o, "reason", why);
		cJSON_AddItemToArray(results, o);
		allowed += ok;
	}
	cJSON_AddNumberToObject(d, "allowed_count", allowed);
	cJSON_AddNumberToObject(d, "total", i);
	reply_data(r, 200, d);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t policies_routes[] = {
	CRUD("GET", "/v1/object-types/:object_type_id/policies", "Policies", "read", NULL, 0, policy_res, OP_LIST, "List access policies"),
	CRUD("POST", "/v1/object-types/:object_type_id/policies", "Policies", "schema", NULL, 0, policy_res, OP_CREATE, "Create access policy"),
	CRUD("PATCH", "/v1/object-types/:object_type_id/policies/:policy_id", "Policies", "schema", NULL, 0, policy_res, OP_UPDATE, "Update access policy"),
	CRUD("DELETE", "/v1/object-types/:object_type_id/policies/:policy_id", "Policies", "schema", NULL, 0, policy_res, OP_DELETE, "Delete access policy"),
	ROUTE("POST", "/v1/policies/simulate", "Governance", AUTH_BEARER, "schema", NULL, 0, policies_simulate, policy_simulate_body, "Simulate RLS policy"),
	ROUTES_END,
};
