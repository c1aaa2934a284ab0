/*
 * objmodel.c - loading object types and their properties (see objmodel.h).
 */
#include "objmodel.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../fcgi/credentials.h"
#include "../fcgi/fanout.h"
#include "../common/rowjson.h"
#include "../common/timefmt.h"

char *display_name_from(arena_t *a, const char *name)
{
	char *d = arena_strdup(a, name);
	bool start = true;
	for (char *p = d; *p; p++) {
		if (*p == '_') {
			*p = ' ';
			start = true;
		} else if (start) {
			*p = (char)toupper((unsigned char)*p);
			start = false;
		}
	}
	return d;
}

static const col_t prop_cols[] = {
	{ "id", COL_STR, 0 },
	{ "object_type_id", COL_STR, 0 },
	{ "name", COL_STR, 0 },
	{ "display_name", COL_STR, 0 },
	{ "data_type", COL_STR, 0 },
	{ "is_required", COL_BOOL, 0 },
	{ "is_unique", COL_BOOL, 0 },
	{ "is_indexed", COL_BOOL, 0 },
	{ "is_sortable", COL_BOOL, 0 },
	{ "default_value", COL_JSON, 0 },
	{ "enum_values", COL_JSON, 0 },
	{ "description", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ "updated_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

/*
 * Per-worker cache of loaded types, so that object requests do not read
 * the schema every time.  An entry holds the type as JSON text and the
 * tenant's schema generation it was loaded under; it is used only while
 * the generation read with this request's rate limit (r->tenant.schema_gen)
 * is the same and it is younger than TYPE_CACHE_TTL.  Every schema change
 * bumps the generation after it is done (objtype_invalidate), and the
 * generation is read before the database, so a racing change always leaves
 * an entry that is reloaded.
 */
#define TYPE_CACHE_SLOTS 64
#define TYPE_CACHE_TTL 30

struct type_entry {
	char tenant[41];
	char key[64];
	char gen[32];
	time_t loaded_at;
	char *json;     /* malloc'd */
};

static struct type_entry type_cache[TYPE_CACHE_SLOTS];

static struct type_entry *type_slot(const char *tenant, const char *key)
{
	unsigned long h = 5381;
	for (const char *p = tenant; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (const char *p = key; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return &type_cache[h % TYPE_CACHE_SLOTS];
}

void objtype_invalidate(req_t *r)
{
	redisReply *rep;
	if (cache_cmdf(r->cache, r->a, &rep, "INCR %s", schema_gen_key(r->a, r->tenant.id)))
		log_warn("%s: cannot bump the schema generation of %s; workers may use the old "
			 "schema for up to %d s", r->request_id, r->tenant.id, TYPE_CACHE_TTL);
}

err_t schema_change(req_t *r, err_t (*change)(req_t *r))
{
	/* The change reads the types it changes and renders them afterwards:
	 * neither may come from (or go into) the cache. */
	r->tenant.schema_gen = NULL;
	err_t rc = change(r);
	/* Also after a failure: a change undone half-way may have been
	 * cached by a concurrent request in between. */
	objtype_invalidate(r);
	return rc;
}

void objtype_committed(req_t *r, res_ctx_t *c)
{
	(void)c;
	objtype_invalidate(r);
}

static bool jflag(const cJSON *o, const char *name)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, name));
}

/* Builds the type from its JSON form (owned by the request). */
static err_t from_json(req_t *r, cJSON *tj, objtype_t **out)
{
	objtype_t *t = arena_calloc(r->a, 1, sizeof(*t));
	t->id = json_str_of(tj, "id");
	t->name = json_str_of(tj, "name");
	t->display_name = json_str_of(tj, "display_name");
	t->description = json_str_of(tj, "description");
	t->created_at = json_str_of(tj, "created_at");
	t->updated_at = json_str_of(tj, "updated_at");
	t->table = tenant_table(r, t->name);
	t->props_json = cJSON_GetObjectItemCaseSensitive(tj, "properties");
	t->nprops = cJSON_GetArraySize(t->props_json);
	t->props = arena_calloc(r->a, (size_t)(t->nprops ? t->nprops : 1), sizeof(prop_t));
	int i = 0;
	const cJSON *pj;
	cJSON_ArrayForEach(pj, t->props_json) {
		prop_t *pp = &t->props[i++];
		pp->id = json_str_of(pj, "id");
		pp->name = json_str_of(pj, "name");
		pp->type = dtype_find(json_str_of(pj, "data_type") ? json_str_of(pj, "data_type") : "");
		pp->required = jflag(pj, "is_required");
		pp->unique = jflag(pj, "is_unique");
		pp->indexed = jflag(pj, "is_indexed");
		pp->sortable = jflag(pj, "is_sortable");
		const cJSON *dv = cJSON_GetObjectItemCaseSensitive(pj, "default_value");
		pp->default_value = cJSON_IsNull(dv) ? NULL : dv;
		pp->enum_values = cJSON_GetObjectItemCaseSensitive(pj, "enum_values");
		if (!pp->type)
			return req_fail(r, E_INTERNAL, "property %s has an unknown data type", pp->name);
	}
	*out = t;
	return E_OK;
}

static err_t load_from_db(req_t *r, const char *id_or_name, bool by_id, cJSON **out)
{
	db_result *res;
	db_param p[] = { db_str(id_or_name) };
	const char *sql = arena_printf(r->a,
		"SELECT id, name, display_name, description, created_at, updated_at FROM %s "
		"WHERE %s = ?", tenant_table(r, "_object_types"), by_id ? "id" : "name");
	enum db_status st = db_exec(r->db, r->a, sql, p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Object type not found");
	db_result *pr;
	db_param q[] = { db_str(db_get(res, 0, "id")) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, object_type_id, name, display_name, data_type, is_required, is_unique, "
		"is_indexed, is_sortable, default_value, enum_values, description, created_at, "
		"updated_at FROM %s WHERE object_type_id = ? ORDER BY created_at, id",
		tenant_table(r, "_properties")), q, 1, &pr);
	if (st)
		return req_db_error(r, st);
	cJSON *tj = req_own(r, cJSON_CreateObject());
	static const char *const cols[] = { "id", "name", "display_name", "description",
					    "created_at", "updated_at" };
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		const char *v = db_get(res, 0, cols[i]);
		if (v)
			cJSON_AddStringToObject(tj, cols[i], v);
		else
			cJSON_AddNullToObject(tj, cols[i]);
	}
	cJSON_AddItemToObject(tj, "properties", rows_to_json(prop_cols, pr));
	*out = tj;
	return E_OK;
}

err_t objtype_load(req_t *r, const char *id_or_name, objtype_t **out)
{
	/* Ids are "ot_" and upper-case Crockford; a lower-case name that
	 * happens to start with "ot_" is still a name. */
	bool by_id = strncmp(id_or_name, "ot_", 3) == 0 && !ident_valid(id_or_name);
	if (!by_id && !ident_valid(id_or_name))
		return req_fail(r, E_NOT_FOUND, "Object type not found");
	const char *gen = r->tenant.schema_gen;
	struct type_entry *e = type_slot(r->tenant.id, id_or_name);
	if (gen && e->json && !strcmp(e->tenant, r->tenant.id) && !strcmp(e->key, id_or_name) &&
	    !strcmp(e->gen, gen) && time(NULL) - e->loaded_at < TYPE_CACHE_TTL) {
		cJSON *tj = req_own(r, cJSON_Parse(e->json));
		if (tj)
			return from_json(r, tj, out);
	}
	cJSON *tj = NULL;
	err_t rc = load_from_db(r, id_or_name, by_id, &tj);
	if (rc)
		return rc;
	if (gen && strlen(id_or_name) < sizeof(e->key)) {
		char *text = cJSON_PrintUnformatted(tj);
		if (text) {
			free(e->json);
			e->json = strdup(text);
			cJSON_free(text);
			snprintf(e->tenant, sizeof(e->tenant), "%s", r->tenant.id);
			snprintf(e->key, sizeof(e->key), "%s", id_or_name);
			snprintf(e->gen, sizeof(e->gen), "%s", gen);
			e->loaded_at = time(NULL);
		}
	}
	return from_json(r, tj, out);
}

const prop_t *objtype_prop(const objtype_t *t, const char *name)
{
	for (int i = 0; i < t->nprops; i++)
		if (strcmp(t->props[i].name, name) == 0)
			return &t->props[i];
	return NULL;
}

const char *prop_target_noun(const prop_t *p)
{
	return strcmp(p->type->name, "file") ? "object" : "file";
}

err_t prop_target_exists(req_t *r, const prop_t *p, const char *id, bool *found)
{
	*found = true;
	bool file = !strcmp(p->type->name, "file");
	if (!file && strcmp(p->type->name, "reference"))
		return E_OK;
	db_result *res;
	db_param prm[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a, file
		? arena_printf(r->a, "SELECT 1 FROM %s WHERE id = ? AND is_deleted = 0 AND status = 'ready'",
			       tenant_table(r, "_files"))
		: arena_printf(r->a, "SELECT 1 FROM %s WHERE id = ?", tenant_table(r, "_objects")),
		prm, 1, &res);
	if (st)
		return req_db_error(r, st);
	*found = res->nrows > 0;
	return E_OK;
}

/* --- filter validation (the rules of the object list's filter) ---------- */

#define FILTER_IN_MAX 100

static bool filter_text_type(const dtype_t *d)
{
	static const char *const names[] = { "string", "text", "rich_text", "email", "url", "phone",
					     "enum", "reference", "file", "datetime", "time" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(d->name, names[i]))
			return true;
	return false;
}

static bool filter_doc_type(const dtype_t *d)
{
	return !strcmp(d->name, "json") || !strcmp(d->name, "array") ||
	       !strcmp(d->name, "multi_enum") || !strcmp(d->name, "geo_point");
}

/* One value for property p (NULL: the column name, id or a timestamp). */
static err_t filter_value_check(req_t *r, const prop_t *p, const char *name, const cJSON *v,
				const char *field)
{
	if (!p) {
		time_t tt;
		if (!strcmp(name, "id")) {
			if (!cJSON_IsString(v))
				return req_fail_field(r, E_VALIDATION, field, "id filters take strings");
		} else if (!cJSON_IsString(v) || time_parse_rfc3339(v->valuestring, &tt) != 0) {
			return req_fail_field(r, E_VALIDATION, field, "%s filters take RFC 3339 times", name);
		}
		return E_OK;
	}
	char msg[256];
	cJSON *norm = p->type->check(p, v, msg, sizeof(msg));
	if (!norm)
		return req_fail_field(r, E_VALIDATION, field, "filter value: %s", msg);
	cJSON_Delete(norm);
	return E_OK;
}

static err_t filter_check_one(req_t *r, const objtype_t *t, const cJSON *f, const char *field)
{
	static const char *const ops[] = { "eq", "neq", "gt", "gte", "lt", "lte", "in", "nin",
					   "contains", "starts_with", "is_null", "is_not_null" };
	const cJSON *jp = cJSON_GetObjectItemCaseSensitive(f, "property");
	const cJSON *jo = cJSON_GetObjectItemCaseSensitive(f, "operator");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, "value");
	if (!cJSON_IsObject(f) || !cJSON_IsString(jp) || !cJSON_IsString(jo))
		return req_fail_field(r, E_VALIDATION, field,
				      "each filter is {\"property\", \"operator\", \"value\"}");
	const char *name = jp->valuestring, *op = jo->valuestring;
	const prop_t *p = objtype_prop(t, name);
	if (!p && strcmp(name, "id") && strcmp(name, "created_at") && strcmp(name, "updated_at"))
		return req_fail_field(r, E_VALIDATION, field, "%.60s is not a property of %s", name, t->name);
	size_t k = 0;
	while (k < sizeof(ops) / sizeof(ops[0]) && strcmp(op, ops[k]))
		k++;
	if (k == sizeof(ops) / sizeof(ops[0]))
		return req_fail_field(r, E_VALIDATION, field,
				      "operator must be one of eq neq gt gte lt lte in nin contains "
				      "starts_with is_null is_not_null");
	if (!strcmp(op, "is_null") || !strcmp(op, "is_not_null"))
		return E_OK;
	if (!v)
		return req_fail_field(r, E_VALIDATION, field, "operator %s needs a value", op);
	bool doc = p && filter_doc_type(p->type);
	if (!strcmp(op, "contains") || !strcmp(op, "starts_with")) {
		if (doc && !strcmp(op, "contains"))
			return E_OK;   /* JSON containment of any value */
		if ((p && !filter_text_type(p->type)) || (!p && strcmp(name, "id")) || !cJSON_IsString(v))
			return req_fail_field(r, E_VALIDATION, field,
					      "%s works on text properties with a string value", op);
		return E_OK;
	}
	if (doc)
		return req_fail_field(r, E_VALIDATION, field,
				      "%s properties support contains, is_null and is_not_null", p->type->name);
	if (strcmp(op, "in") && strcmp(op, "nin"))
		return filter_value_check(r, p, name, v, field);
	int n = cJSON_GetArraySize(v);
	if (!cJSON_IsArray(v) || n == 0 || n > FILTER_IN_MAX)
		return req_fail_field(r, E_VALIDATION, field, "%s takes an array of 1 to %d values", op,
				      FILTER_IN_MAX);
	const cJSON *it;
	cJSON_ArrayForEach(it, v) {
		err_t rc = filter_value_check(r, p, name, it, field);
		if (rc)
			return rc;
	}
	return E_OK;
}

err_t filters_validate(req_t *r, const objtype_t *t, const cJSON *filters, const char *field)
{
	if (!cJSON_IsArray(filters))
		return req_fail_field(r, E_VALIDATION, field,
				      "%s must be a JSON array of {property, operator, value}", field);
	if (cJSON_GetArraySize(filters) > OBJ_FILTERS_MAX)
		return req_fail_field(r, E_VALIDATION, field, "at most %d filters", OBJ_FILTERS_MAX);
	int i = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, filters) {
		err_t rc = filter_check_one(r, t, f, arena_printf(r->a, "%s[%d]", field, i++));
		if (rc)
			return rc;
	}
	return E_OK;
}

err_t type_child_parent(req_t *r, res_ctx_t *c)
{
	objtype_t *t;
	err_t rc = objtype_load(r, req_param(r, c->res->parent_param), &t);
	if (rc)
		return rc;
	c->parent = t;
	c->parent_id = t->id;
	return E_OK;
}

err_t type_child_name(req_t *r, res_ctx_t *c, const char **name, bool *taken)
{
	const cJSON *given = cJSON_GetObjectItemCaseSensitive(c->body, "name");
	*taken = false;
	*name = cJSON_IsString(given) ? given->valuestring : json_str_of(c->before, "name");
	resource_set(c, "name", db_str(*name));
	if (!cJSON_IsString(given))
		return E_OK;
	db_result *res;
	db_param p[] = { db_str(c->parent_id), db_str(*name), db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT 1 FROM %s WHERE `%s` = ? AND name = ? AND id <> ?",
		resource_table(r, c->res), c->res->parent_column), p, 3, &res);
	if (st)
		return req_db_error(r, st);
	*taken = res->nrows > 0;
	return E_OK;
}

err_t type_child_fetch(req_t *r, const resource_t *res, const objtype_t *t, const char *id,
		       cJSON **out)
{
	res_ctx_t c = { .res = res, .op = OP_GET, .parent_id = t->id };
	return resource_fetch(r, &c, id, false, out);
}

long long type_child_count(req_t *r, const resource_t *res, const char *type_id, err_t *rc)
{
	db_result *out;
	db_param p[] = { db_str(type_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE `%s` = ?", resource_table(r, res), res->parent_column),
		p, 1, &out);
	*rc = st ? req_db_error(r, st) : E_OK;
	return st ? -1 : strtoll(db_cell(out, 0, 0), NULL, 10);
}
