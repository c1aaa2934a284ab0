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
#include "../common/strbuf.h"
#include "objquery.h"

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

err_t schema_name_check(req_t *r, const char *name, const char *const *reserved)
{
	if (!ident_valid(name))
		return req_fail_field(r, E_VALIDATION, "name", "name must match ^[a-z][a-z0-9_]{0,62}$ "
				      "(lower-case letters, digits, _)");
	for (; *reserved; reserved++)
		if (!strcmp(*reserved, name))
			return req_fail_field(r, E_VALIDATION, "name", "\"%s\" is a reserved name",
					      name);
	return E_OK;
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

/* Whether id names an object of any of the tenant's types: one lookup
 * by primary key in each type's table (a reference is written far less
 * often than an object is created, which then needs no id registry). */
static enum db_status object_exists(req_t *r, const char *id, bool *found)
{
	db_result *types;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT name FROM %s",
		tenant_table(r, "_object_types")), NULL, 0, &types);
	if (st || types->nrows == 0)
		return st;
	strbuf_t sql = { 0 };
	db_param *p = arena_alloc(r->a, sizeof(*p) * (size_t)types->nrows);
	for (int i = 0; i < types->nrows; i++) {
		sb_printf(&sql, "%sSELECT 1 FROM %s WHERE id = ?", i ? " UNION ALL " : "",
			  tenant_table(r, db_cell(types, i, 0)));
		p[i] = db_str(id);
	}
	sb_puts(&sql, " LIMIT 1");
	db_result *res;
	if ((st = db_exec(r->db, r->a, sb_take(&sql, r->a), p, types->nrows, &res)))
		return st;
	*found = res->nrows > 0;
	return DB_OK;
}

err_t prop_target_exists(req_t *r, const prop_t *p, const char *id, bool *found)
{
	*found = true;
	enum db_status st;
	if (!strcmp(p->type->name, "reference")) {
		*found = false;
		st = object_exists(r, id, found);
	} else if (!strcmp(p->type->name, "file")) {
		db_result *res;
		db_param prm[] = { db_str(id) };
		st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT 1 FROM %s WHERE id = ? AND "
			"is_deleted = 0 AND status = 'ready'", tenant_table(r, "_files")), prm, 1, &res);
		if (!st)
			*found = res->nrows > 0;
	} else {
		return E_OK;
	}
	return st ? req_db_error(r, st) : E_OK;
}

/* --- filter validation --------------------------------------------------- */

err_t filters_validate(req_t *r, const objtype_t *t, const cJSON *filters, const char *field)
{
	/* Compiled as the list would, into a query that is thrown away. */
	query_t q;
	query_init(r, &q, "1 = 1");
	return query_filters(r, t, &q, filters, field, QF_SAVED);
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
