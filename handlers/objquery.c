/*
 * objquery.c - object filters and order on the query builder (see
 * objquery.h).
 */
#include "objquery.h"

#include <string.h>
#include <strings.h>

#include "../common/schema.h"

#define IN_MAX 100

/* --- object filters ------------------------------------------------------- */

static bool is_text_type(const dtype_t *d)
{
	static const char *const names[] = { "string", "text", "rich_text", "email", "url", "phone",
					     "enum", "reference", "file", "datetime", "time", NULL };
	return one_of(d->name, names);
}

static bool is_doc_type(const dtype_t *d)
{
	static const char *const names[] = { "json", "array", "multi_enum", "geo_point", NULL };
	return one_of(d->name, names);
}

/* A filter value as a bound parameter, normalised by the property's type
 * (p NULL: an id, the creator or an RFC 3339 time, by name). */
static err_t filter_param(req_t *r, const prop_t *p, const char *name, const cJSON *v,
			  const char *field, db_param *out)
{
	if (!p && (!strcmp(name, "id") || !strcmp(name, "created_by"))) {
		if (!cJSON_IsString(v))
			return req_fail_field(r, E_VALIDATION, field, "id filters take strings");
		*out = db_str(v->valuestring);
		return E_OK;
	}
	if (!p) {
		if (!cJSON_IsString(v) || !query_sql_time(r->a, v->valuestring, out))
			return req_fail_field(r, E_VALIDATION, field, "%s filters take RFC 3339 times", name);
		return E_OK;
	}
	char msg[256];
	cJSON *norm = p->type->check(p, v, msg, sizeof(msg));
	if (!norm)
		return req_fail_field(r, E_VALIDATION, field, "filter value: %s", msg);
	req_own(r, norm);
	if (cJSON_IsBool(norm))
		*out = db_int(cJSON_IsTrue(norm));
	else if (cJSON_IsNumber(norm))
		*out = (db_param){ .type = DBP_DOUBLE, .d = norm->valuedouble };
	else if (cJSON_IsString(norm))
		*out = db_str(norm->valuestring);
	else
		*out = db_str(req_json_text(r, norm));
	return E_OK;
}

#define DOC_OPS "%s properties support contains, is_null and is_not_null"
#define OPS_ALL "operator must be one of eq neq gt gte lt lte in nin contains starts_with " \
		"is_null is_not_null"

/* in and nin: "col IN (?, …)", NULLs counting as "not in". */
static err_t filter_in(req_t *r, const prop_t *p, query_t *q, const char *name, const char *op,
		       const cJSON *v, const char *field, char **clause)
{
	int n = cJSON_GetArraySize(v);
	if (!cJSON_IsArray(v) || n == 0 || n > IN_MAX)
		return req_fail_field(r, E_VALIDATION, field, "%s takes an array of 1 to %d values", op,
				      IN_MAX);
	char *list = arena_strdup(r->a, "");
	const cJSON *it;
	cJSON_ArrayForEach(it, v) {
		db_param bp;
		err_t rc = filter_param(r, p, name, it, field, &bp);
		if (rc)
			return rc;
		query_bind(r, q, bp);
		list = arena_printf(r->a, "%s%s?", list, *list ? ", " : "");
	}
	const char *col = arena_printf(r->a, "`%s`", name);
	*clause = !strcmp(op, "in") ? arena_printf(r->a, "%s IN (%s)", col, list)
				    : arena_printf(r->a, "(%s NOT IN (%s) OR %s IS NULL)", col, list, col);
	return E_OK;
}

/* contains and starts_with: a LIKE on text ignoring case and accents, or
 * JSON containment on a document property. */
static err_t filter_match(req_t *r, const prop_t *p, query_t *q, const char *name, const char *op,
			  const cJSON *v, const char *field, char **clause)
{
	bool starts = op[0] == 's';
	if (p && is_doc_type(p->type) && !starts) {
		*clause = arena_printf(r->a, "JSON_CONTAINS(JSON_EXTRACT(properties, '$.%s'), ?)", name);
		query_bind(r, q, db_str(req_json_text(r, v)));
		return E_OK;
	}
	if ((p && !is_text_type(p->type)) || (!p && strcmp(name, "id")) || !cJSON_IsString(v))
		return req_fail_field(r, E_VALIDATION, field,
				      "%s works on text properties with a string value", op);
	*clause = arena_printf(r->a, "`%s` COLLATE utf8mb4_unicode_ci LIKE ? ESCAPE '\\\\'", name);
	query_bind(r, q, db_str(query_like_pattern(r->a, v->valuestring, !starts)));
	return E_OK;
}

err_t query_filter(req_t *r, const objtype_t *t, query_t *q, const cJSON *f, const char *field,
		   unsigned flags, char **clause)
{
	static const char *const columns[] = { "id", "created_at", "updated_at", "created_by", NULL };
	static const char *const ops[] = { "eq", "neq", "gt", "gte", "lt", "lte", "in", "nin",
					   "contains", "starts_with", "is_null", "is_not_null", NULL };
	static const struct { const char *op, *sql; } cmp[] = {
		{ "eq", "=" }, { "neq", "<>" }, { "gt", ">" }, { "gte", ">=" }, { "lt", "<" }, { "lte", "<=" },
	};
	bool saved = flags & QF_SAVED;
	const cJSON *jp = cJSON_GetObjectItemCaseSensitive(f, "property");
	const cJSON *jo = cJSON_GetObjectItemCaseSensitive(f, "operator");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, "value");
	if (!cJSON_IsObject(f) || !cJSON_IsString(jp) || !cJSON_IsString(jo))
		return req_fail_field(r, E_VALIDATION, field,
				      "each filter is {\"property\", \"operator\", \"value\"}");
	const char *name = jp->valuestring, *op = jo->valuestring;
	const prop_t *p = objtype_prop(t, name);
	if (!p && (!one_of(name, columns) || (saved && !strcmp(name, "created_by"))))
		return req_fail_field(r, E_VALIDATION, field, "%.60s is not a property of %s", name, t->name);
	if (saved && !one_of(op, ops))
		return req_fail_field(r, E_VALIDATION, field, OPS_ALL);
	const char *col = arena_printf(r->a, "`%s`", name);
	bool doc = p && is_doc_type(p->type);
	if (!strcmp(op, "is_null") || !strcmp(op, "is_not_null")) {
		*clause = arena_printf(r->a, "%s IS %sNULL", col, !strcmp(op, "is_not_null") ? "NOT " : "");
		return E_OK;
	}
	if (!v)
		return req_fail_field(r, E_VALIDATION, field, "operator %.20s needs a value", op);
	for (size_t k = 0; k < sizeof(cmp) / sizeof(cmp[0]); k++) {
		if (strcmp(op, cmp[k].op))
			continue;
		if (doc)
			return req_fail_field(r, E_VALIDATION, field, DOC_OPS, p->type->name);
		db_param bp;
		err_t rc = filter_param(r, p, name, v, field, &bp);
		if (rc)
			return rc;
		/* "not equal" includes objects without the property. */
		*clause = !strcmp(op, "neq") ? arena_printf(r->a, "(%s <> ? OR %s IS NULL)", col, col)
					     : arena_printf(r->a, "%s %s ?", col, cmp[k].sql);
		query_bind(r, q, bp);
		return E_OK;
	}
	if (!strcmp(op, "in") || !strcmp(op, "nin")) {
		if (doc && saved)
			return req_fail_field(r, E_VALIDATION, field, DOC_OPS, p->type->name);
		if (doc)
			return req_fail_field(r, E_VALIDATION, field, "%s properties do not support %s",
					      p->type->name, op);
		return filter_in(r, p, q, name, op, v, field, clause);
	}
	if (!strcmp(op, "contains") || !strcmp(op, "starts_with"))
		return filter_match(r, p, q, name, op, v, field, clause);
	return req_fail_field(r, E_VALIDATION, field, OPS_ALL);
}

err_t query_filters(req_t *r, const objtype_t *t, query_t *q, const cJSON *filters,
		    const char *field, unsigned flags)
{
	if (!cJSON_IsArray(filters))
		return req_fail_field(r, E_VALIDATION, field,
				      "%s must be a JSON array of {property, operator, value}", field);
	if (cJSON_GetArraySize(filters) > OBJ_FILTERS_MAX)
		return req_fail_field(r, E_VALIDATION, field, "at most %d filters", OBJ_FILTERS_MAX);
	int i = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, filters) {
		char *clause;
		err_t rc = query_filter(r, t, q, f, arena_printf(r->a, "%s[%d]", field, i++), flags,
					&clause);
		if (rc)
			return rc;
		query_and(r, q, clause);
	}
	return E_OK;
}


err_t query_object_order(req_t *r, const objtype_t *t, const char *view_sort,
			 const char *view_order, query_order_t *o)
{
	*o = (query_order_t){ .col = "created_at", .desc = true };
	const char *sort = req_query(r, "sort");
	if (!(sort && *sort))
		sort = view_sort;
	if (sort && *sort && strcmp(sort, "created_at") && strcmp(sort, "updated_at")) {
		const prop_t *p = objtype_prop(t, sort);
		if (!p || !p->sortable)
			return req_fail_field(r, E_VALIDATION, "sort",
					      "sort must be created_at, updated_at or a sortable property");
		o->nullable = true;
	}
	if (sort && *sort)
		o->col = sort;
	const char *order = req_query(r, "order");
	if (!(order && *order))
		order = view_order;
	if (order && *order) {
		if (strcasecmp(order, "asc") && strcasecmp(order, "desc"))
			return req_fail_field(r, E_VALIDATION, "order", "order must be asc or desc");
		o->desc = !strcasecmp(order, "desc");
	}
	return E_OK;
}

