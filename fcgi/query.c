/*
 * query.c - the query builder of lists (see query.h).
 */
#include "query.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/rowjson.h"
#include "../common/timefmt.h"

#define CURSOR_MAX 4096
#define KEY_CURSOR_MAX 1024
#define BARE_CURSOR_MAX 512

/* --- the WHERE clause ----------------------------------------------------- */

void query_init(req_t *r, query_t *q, const char *first)
{
	*q = (query_t){ .sql = arena_strdup(r->a, first) };
}

void query_and(req_t *r, query_t *q, const char *cond)
{
	q->sql = arena_printf(r->a, "%s AND %s", q->sql, cond);
}

void query_bind(req_t *r, query_t *q, db_param v)
{
	if (q->np == q->cap) {
		int ncap = q->cap ? q->cap * 2 : 16;
		db_param *np = arena_alloc(r->a, sizeof(*np) * (size_t)ncap);
		if (q->np)
			memcpy(np, q->p, sizeof(*np) * (size_t)q->np);
		q->p = np;
		q->cap = ncap;
	}
	q->p[q->np++] = v;
}

void query_and_bind(req_t *r, query_t *q, const char *cond, db_param v)
{
	query_and(r, q, cond);
	query_bind(r, q, v);
}

err_t query_count(req_t *r, const char *from, const query_t *q, long long *n)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE %s", from, q->sql), q->p, q->np, &res);
	if (st)
		return req_db_error(r, st);
	*n = strtoll(db_cell(res, 0, 0), NULL, 10);
	return E_OK;
}

char *query_like_pattern(arena_t *a, const char *s, bool leading)
{
	size_t n = strlen(s), k = 0;
	char *o = arena_alloc(a, n * 2 + 3);
	if (leading)
		o[k++] = '%';
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			o[k++] = '\\';
		o[k++] = s[i];
	}
	o[k++] = '%';
	o[k] = '\0';
	return o;
}

bool query_sql_time(arena_t *a, const char *text, db_param *out)
{
	time_t t;
	if (!text || time_parse_rfc3339(text, &t) != 0)
		return false;
	struct tm tm;
	gmtime_r(&t, &tm);
	char *s = arena_alloc(a, 32);
	strftime(s, 32, "%Y-%m-%d %H:%M:%S", &tm);
	*out = db_str(s);
	return true;
}

err_t query_time_arg(req_t *r, const char *field, const char *text, const char *example,
		     db_param *out)
{
	*out = db_null();
	if (!text || query_sql_time(r->a, text, out))
		return E_OK;
	if (!example)
		return req_fail_field(r, E_VALIDATION, field, "%s must be an RFC 3339 time", field);
	return req_fail_field(r, E_VALIDATION, field, "%s must be an RFC 3339 time such as %s",
			      field, example);
}

err_t query_created_filters(req_t *r, query_t *q)
{
	static const struct { const char *name, *cond; } bounds[] = {
		{ "created_after", "created_at > ?" }, { "created_before", "created_at < ?" },
	};
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		const char *v = req_query(r, bounds[i].name);
		db_param t;
		err_t rc = query_time_arg(r, bounds[i].name, v, "2026-01-02T03:04:05Z", &t);
		if (rc)
			return rc;
		if (!v)
			continue;
		/* The fraction, which query_sql_time leaves out (offsets are
		 * whole minutes, so it is the UTC time's too). */
		const char *dot = strchr(v, '.');
		size_t digits = dot ? strspn(dot + 1, "0123456789") : 0;
		if (digits)
			t = db_str(arena_printf(r->a, "%s.%.*s", t.s, (int)(digits > 3 ? 3 : digits),
						dot + 1));
		query_and_bind(r, q, bounds[i].cond, t);
	}
	return E_OK;
}

/* --- order, cursor, page -------------------------------------------------- */

/* The cursor resuming after the row of sort value value (NULL for NULL)
 * and id id, in the form of o (query.h); base64url. */
static char *cursor_make(req_t *r, const query_order_t *o, const char *value, const char *id)
{
	cJSON *c = req_own(r, cJSON_CreateObject());
	if (o->key) {
		cJSON_AddStringToObject(c, "k", o->key);
		cJSON_AddStringToObject(c, "v", value ? value : "");
	} else {
		if (!o->bare) {
			cJSON_AddStringToObject(c, "s", o->col);
			cJSON_AddBoolToObject(c, "d", o->desc);
		}
		cJSON_AddItemToObject(c, "v", value ? cJSON_CreateString(value) : cJSON_CreateNull());
	}
	cJSON_AddStringToObject(c, o->bare ? "i" : "id", id);
	return req_cursor_make(r, c);
}

static err_t cursor_malformed(req_t *r)
{
	return req_fail_field(r, E_VALIDATION, "cursor", "cursor is malformed");
}

/* The sort value (NULL: the row's was NULL) and id of the cursor text,
 * which o's lists made; 400 naming "cursor" when it is malformed or of
 * another list or order. */
static err_t cursor_read(req_t *r, const query_order_t *o, const char *text, const char **value,
			 const char **id)
{
	size_t max = o->bare ? BARE_CURSOR_MAX : o->key ? KEY_CURSOR_MAX : CURSOR_MAX;
	const cJSON *c = req_cursor_read(r, text, max);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "v");
	*value = cJSON_IsString(v) ? v->valuestring : NULL;
	*id = json_str_of(c, o->bare ? "i" : "id");
	if (o->key) {
		const char *k = json_str_of(c, "k");
		if (!k || !*value || !*id || !id_valid(*id, o->id_prefix))
			return cursor_malformed(r);
		if (strcmp(k, o->key))
			return req_fail_field(r, E_VALIDATION, "cursor",
					      "cursor belongs to another list or order; start again without it");
		return E_OK;
	}
	if (o->bare) {
		if (!*id || !(*value || cJSON_IsNull(v)))
			return cursor_malformed(r);
		/* As the engine always read it: an order on id resumes after the
		 * id, and a NULL value compares as "". */
		*value = !strcmp(o->col, "id") ? *id : *value ? *value : "";
		return E_OK;
	}
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(c, "s");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(c, "d");
	if (!cJSON_IsString(s) || !cJSON_IsBool(d) || !v || !*id)
		return cursor_malformed(r);
	if (strcmp(s->valuestring, o->col) || cJSON_IsTrue(d) != o->desc)
		return req_fail_field(r, E_VALIDATION, "cursor",
				      "cursor belongs to another sort or order; start again without it");
	if (!*value && !cJSON_IsNull(v))
		return cursor_malformed(r);
	return E_OK;
}

err_t query_cursor_apply(req_t *r, const query_order_t *o, query_t *q, const char *cursor)
{
	const char *value, *id;
	err_t rc = cursor_read(r, o, cursor, &value, &id);
	if (rc)
		return rc;
	const char *cmp = o->desc ? "<" : ">";
	const char *col = arena_printf(r->a, "`%s`", o->col);
	if (!value) {
		/* NULLs sort last in both orders: only NULLs with later ids remain. */
		query_and(r, q, arena_printf(r->a, "(%s IS NULL AND id %s ?)", col, cmp));
		query_bind(r, q, db_str(id));
		return E_OK;
	}
	query_and(r, q, arena_printf(r->a, "((%s %s ? OR (%s = ? AND id %s ?))%s)", col, cmp, col, cmp,
				     o->nullable ? arena_printf(r->a, " OR %s IS NULL", col) : ""));
	query_bind(r, q, db_str(value));
	query_bind(r, q, db_str(value));
	query_bind(r, q, db_str(id));
	return E_OK;
}

char *query_order_sql(req_t *r, const query_order_t *o)
{
	const char *dir = o->desc ? "DESC" : "ASC";
	return arena_printf(r->a, " ORDER BY %s`%s` %s, id %s",
			    o->nullable ? arena_printf(r->a, "(`%s` IS NULL), ", o->col) : "", o->col,
			    dir, dir);
}

err_t query_rows(req_t *r, const char *select, const char *from, query_t *q,
		 const query_order_t *o, const char *cursor, long long limit, long long offset,
		 db_result **rows)
{
	err_t rc;
	if (cursor && *cursor && (rc = query_cursor_apply(r, o, q, cursor)))
		return rc;
	query_bind(r, q, db_int(limit + 1));
	query_bind(r, q, db_int(offset));
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT %s FROM %s WHERE %s%s LIMIT ? OFFSET ?", select, from, q->sql,
		query_order_sql(r, o)), q->p, q->np, rows);
	return st ? req_db_error(r, st) : E_OK;
}

char *query_next_cursor(req_t *r, const query_order_t *o, const db_result *res, long long limit,
			const char *value_col)
{
	if (res->nrows <= limit)
		return NULL;
	int last = (int)limit - 1;
	return cursor_make(r, o, db_get(res, last, value_col), db_get(res, last, "id"));
}

cJSON *query_page(req_t *r, const query_order_t *o, const db_result *res, long long limit,
		  long long total, const char *value_col, query_row_fn row, const void *ctx)
{
	int n = res->nrows > limit ? (int)limit : res->nrows;
	cJSON *d = cJSON_CreateObject();
	cJSON *results = cJSON_AddArrayToObject(d, "results");
	for (int i = 0; i < n; i++)
		cJSON_AddItemToArray(results, row(r, res, i, ctx));
	char *next = query_next_cursor(r, o, res, limit, value_col);
	cJSON_AddItemToObject(d, "next_cursor",
			      next ? cJSON_CreateString(next) : cJSON_CreateNull());
	cJSON_AddNumberToObject(d, "total", (double)total);
	return d;
}

/* An id-ordered list's order: the cursor's key is its scope. */
static query_order_t id_order(const char *scope, const char *prefix)
{
	return (query_order_t){ .col = "id", .desc = true, .key = scope ? scope : "id",
				.id_prefix = prefix };
}

err_t query_id_cursor(req_t *r, const char *scope, const char *prefix, const char **last)
{
	const char *cursor = req_query(r, "cursor"), *value, *id;
	*last = NULL;
	if (!cursor || !*cursor)
		return E_OK;
	query_order_t o = id_order(scope, prefix);
	err_t rc = cursor_read(r, &o, cursor, &value, &id);
	if (!rc)
		*last = id;
	return rc;
}

cJSON *query_id_page(req_t *r, const db_result *res, long long limit, long long total,
		     const char *scope, const char *prefix, query_row_fn row, const void *ctx)
{
	query_order_t o = id_order(scope, prefix);
	return query_page(r, &o, res, limit, total, "id", row, ctx);
}

cJSON *query_row_cols(req_t *r, const db_result *res, int i, const void *ctx)
{
	(void)r;
	return row_to_json(ctx, res, i);
}
