/*
 * resource.c - the resource engine (see resource.h).
 *
 * Every statement is built here from the descriptor, never from input:
 * column names and expressions come from the field rows, values are bound.
 * The tenant is added by res_scope() to every statement, so a descriptor
 * cannot leave it out.  Per-descriptor text (the SELECT list, the column
 * table that renders rows, the body schemas) is built once and kept.
 */
#include "resource.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/ids.h"
#include "../common/strbuf.h"
#include "journal.h"
#include "query.h"
#include "router.h"

#define RES_CACHE_MAX 64
#define LIST_MAX_DEFAULT 100

/* What is derived once from a descriptor. */
typedef struct res_derived {
	const resource_t *res;
	char *select;          /* "id, label, (expr) AS status, …" */
	col_t *cols;           /* renders a row: one per rendered field */
	field_t *create;       /* body schemas */
	field_t *update;
	const char *sort_col;  /* default order: column and direction */
	bool sort_desc;
} res_derived_t;

static res_derived_t derived[RES_CACHE_MAX];
static int nderived;

static const char *col_of(const res_field_t *f)
{
	return f->column ? f->column : f->name;
}

static bool rendered(const res_field_t *f)
{
	return !(f->flags & (RF_HIDDEN | RF_INPUT));
}

static field_t *schema_build(const resource_t *res, enum res_op op)
{
	size_t n = 0;
	for (const res_field_t *f = res->fields; f->name; f++)
		n += 2;
	field_t *s = calloc(n + 1, sizeof(*s));
	if (!s)
		abort();
	size_t k = 0;
	unsigned want = op == OP_CREATE ? RF_CREATE : RF_UPDATE;
	for (const res_field_t *f = res->fields; f->name; f++) {
		if (!(f->flags & want))
			continue;
		unsigned ff = (f->flags & RF_NULLABLE) ? FF_NULLABLE : 0;
		if (op == OP_CREATE && (f->flags & RF_REQUIRED))
			ff |= FF_REQUIRED;
		s[k++] = (field_t){ f->name, f->in, ff, f->min, f->max, f->values };
		if (f->alias)
			s[k++] = (field_t){ f->alias, f->in, ff & ~FF_REQUIRED, f->min, f->max, f->values };
	}
	return s;
}

static res_derived_t *derive(const resource_t *res)
{
	for (int i = 0; i < nderived; i++)
		if (derived[i].res == res)
			return &derived[i];
	if (nderived == RES_CACHE_MAX)
		abort();
	res_derived_t *d = &derived[nderived++];
	d->res = res;
	strbuf_t sb = { 0 };
	size_t n = 0;
	for (const res_field_t *f = res->fields; f->name; f++)
		n++;
	d->cols = calloc(n + 1, sizeof(*d->cols));
	if (!d->cols)
		abort();
	size_t k = 0;
	for (const res_field_t *f = res->fields; f->name; f++) {
		if (!rendered(f))
			continue;
		if (sb.len)
			sb_puts(&sb, ", ");
		if (f->flags & RF_EXPR)
			sb_printf(&sb, "(%s) AS `%s`", f->column, f->name);
		else if (strcmp(col_of(f), f->name))
			sb_printf(&sb, "`%s` AS `%s`", col_of(f), f->name);
		else
			sb_printf(&sb, "`%s`", f->name);
		d->cols[k++] = (col_t){ f->name, f->type, 0 };
	}
	d->select = strndup(sb.p, sb.len);
	free(sb.p);
	d->create = schema_build(res, OP_CREATE);
	d->update = schema_build(res, OP_UPDATE);
	const char *order = res->order ? res->order : "id";
	size_t cl = strcspn(order, " ");
	d->sort_col = strndup(order, cl);
	d->sort_desc = strcasestr(order + cl, "desc") != NULL;
	if (!d->select || !d->sort_col)
		abort();
	return d;
}

const col_t *resource_cols(const resource_t *res)
{
	return derive(res)->cols;
}

const field_t *resource_schema(const resource_t *res, enum res_op op)
{
	if (op != OP_CREATE && op != OP_UPDATE)
		return NULL;
	res_derived_t *d = derive(res);
	return op == OP_CREATE ? d->create : d->update;
}

static const res_field_t *field_named(const resource_t *res, const char *name)
{
	for (const res_field_t *f = res->fields; f->name; f++)
		if (!strcmp(f->name, name) || (f->alias && !strcmp(f->alias, name)))
			return f;
	return NULL;
}

int resource_check(const resource_t *res)
{
	if (!res->name || !res->type || !res->table || !res->id_prefix || !res->fields ||
	    !field_named(res, "id")) {
		fprintf(stderr, "resource %s: name, type, table, id_prefix and an id field are required\n",
			res->type ? res->type : "?");
		return -1;
	}
	if (!!res->parent_param != !!res->parent_column ||
	    (res->parent_param && !(res->hooks && res->hooks->parent))) {
		fprintf(stderr, "resource %s: a parent needs its parameter, column and hook\n", res->type);
		return -1;
	}
	cJSON *ex = res->example ? cJSON_Parse(res->example) : NULL;
	bool ex_ok = !res->example || cJSON_IsObject(ex);
	cJSON_Delete(ex);
	if (!ex_ok) {
		fprintf(stderr, "resource %s: example is not a JSON object\n", res->type);
		return -1;
	}
	if ((res->flags & RES_UPDATE_DDL) && !(res->hooks && res->hooks->ddl)) {
		fprintf(stderr, "resource %s: RES_UPDATE_DDL needs a ddl hook\n", res->type);
		return -1;
	}
	if (res->del == DEL_MARK && (!res->delete_set || !res->live)) {
		fprintf(stderr, "resource %s: DEL_MARK needs delete_set and live\n", res->type);
		return -1;
	}
	for (const res_field_t *f = res->fields; f->name; f++) {
		if ((f->flags & RF_EXPR) && (f->flags & RF_WRITABLE)) {
			fprintf(stderr, "resource %s: expression field %s cannot be writable\n",
				res->type, f->name);
			return -1;
		}
		if (f->values && f->in != FT_STRING) {
			fprintf(stderr, "resource %s: enum field %s must be a string\n", res->type, f->name);
			return -1;
		}
	}
	derive(res);
	return 0;
}

cJSON *resource_json(const resource_t *res, enum res_op op)
{
	static const char *const ops[] = { "none", "list", "get", "create", "update", "delete" };
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", res->type);
	cJSON_AddStringToObject(o, "op", ops[op]);
	if (res->id_param)
		cJSON_AddStringToObject(o, "id_param", res->id_param);
	if (res->parent_param)
		cJSON_AddStringToObject(o, "parent_param", res->parent_param);
	if (res->example)
		cJSON_AddItemToObject(o, "example", cJSON_Parse(res->example));
	if (res->flags & RES_USER_WRITES)
		cJSON_AddTrueToObject(o, "user_writes");
	/* The rendered row (the OpenAPI response schema) and, on a list, the
	 * query parameters the engine reads: what the docs generator needs. */
	static const char *const cols[] = { [COL_STR] = "string", [COL_INT] = "integer",
		[COL_BOOL] = "boolean", [COL_TIME] = "date-time", [COL_JSON] = "json",
		[COL_WORDS] = "words" };
	cJSON *fields = cJSON_AddObjectToObject(o, "fields");
	cJSON *filters = op == OP_LIST ? cJSON_AddArrayToObject(o, "filters") : NULL;
	cJSON *sorts = op == OP_LIST ? cJSON_AddArrayToObject(o, "sorts") : NULL;
	for (const res_field_t *f = res->fields; f->name; f++) {
		if (!(f->flags & (RF_HIDDEN | RF_INPUT)) && !cJSON_HasObjectItem(fields, f->name) &&
		    (size_t)f->type < sizeof(cols) / sizeof(cols[0]) && cols[f->type])
			cJSON_AddStringToObject(fields, f->name, cols[f->type]);
		if (filters && (f->flags & RF_FILTER)) {
			cJSON *q = cJSON_CreateObject();
			cJSON_AddStringToObject(q, "name", f->name);
			cJSON_AddStringToObject(q, "type", f->type == COL_BOOL ? "boolean" :
						f->type == COL_INT ? "integer" : "string");
			cJSON_AddItemToArray(filters, q);
		}
		if (sorts && (f->flags & RF_SORT))
			cJSON_AddItemToArray(sorts, cJSON_CreateString(f->name));
	}
	if (res->hooks && res->hooks->reply)
		cJSON_AddTrueToObject(o, "custom_reply");
	if (op == OP_LIST && res->live && res->show_all)
		cJSON_AddStringToObject(o, "show_all", res->show_all);
	if (op == OP_LIST) {
		static const char *const shapes[] = { [LIST_ARRAY] = "array", [LIST_PAGE] = "page",
			[LIST_CURSOR] = "cursor" };
		cJSON_AddStringToObject(o, "list_shape", shapes[res->list_shape]);
		if (res->list_shape != LIST_ARRAY)
			cJSON_AddStringToObject(o, "list_key", res->list_key);
		if (res->flags & RES_LIST_TOTAL)
			cJSON_AddTrueToObject(o, "list_total");
	}
	return o;
}

const char *resource_table(req_t *r, const resource_t *res)
{
	if (res->home == RES_TENANT)
		return arena_printf(r->a, "`%s`.`%s`", r->tenant.db_name, res->table);
	return res->table;
}

/* --- statement building --------------------------------------------------- */

/* A statement under construction: text and bound parameters. */
typedef struct stmt {
	strbuf_t sql;
	db_param p[64];
	int np;
} stmt_t;

static void bind(stmt_t *s, db_param v)
{
	if (s->np == (int)(sizeof(s->p) / sizeof(s->p[0])))
		abort(); /* a descriptor with more fields than a statement takes */
	s->p[s->np++] = v;
}

static char *stmt_text(stmt_t *s, arena_t *a)
{
	return sb_take(&s->sql, a);
}

/* The conditions every statement on this resource carries: the tenant,
 * the parent, the scope hook's. */
static void res_scope(req_t *r, const res_ctx_t *c, query_t *q)
{
	query_init(r, q, "1 = 1");
	if (c->res->home != RES_TENANT)
		query_and_bind(r, q, "tenant_id = ?", db_str(r->tenant.id));
	if (c->res->parent_column)
		query_and_bind(r, q, arena_printf(r->a, "`%s` = ?", c->res->parent_column),
			       db_str(c->parent_id));
	if (c->res->hooks && c->res->hooks->scope) {
		db_param p[RES_SCOPE_MAX];
		int np = 0;
		const char *cond = c->res->hooks->scope(r, c, p, &np);
		if (!cond)
			return;
		query_and(r, q, arena_printf(r->a, "(%s)", cond));
		for (int i = 0; i < np; i++)
			query_bind(r, q, p[i]);
	}
}

/* " WHERE …" of a statement on the row id: res_scope's conditions, the
 * id, and the descriptor's live condition when live. */
static void row_where(req_t *r, const res_ctx_t *c, const char *id, bool live, stmt_t *s)
{
	query_t q;
	res_scope(r, c, &q);
	query_and_bind(r, &q, "id = ?", db_str(id));
	if (live && c->res->live)
		query_and(r, &q, arena_printf(r->a, "(%s)", c->res->live));
	sb_printf(&s->sql, " WHERE %s", q.sql);
	for (int i = 0; i < q.np; i++)
		bind(s, q.p[i]);
}

err_t resource_render(req_t *r, res_ctx_t *c, const db_result *res, int row, cJSON **out)
{
	cJSON *o = row_to_json(derive(c->res)->cols, res, row);
	err_t rc = c->res->hooks && c->res->hooks->render ? c->res->hooks->render(r, c, o) : E_OK;
	if (rc) {
		cJSON_Delete(o);
		o = NULL;
	}
	*out = o;
	return rc;
}

err_t resource_fetch(req_t *r, res_ctx_t *c, const char *id, bool live_only, cJSON **out)
{
	stmt_t s = { 0 };
	sb_printf(&s.sql, "SELECT %s FROM %s", derive(c->res)->select, resource_table(r, c->res));
	row_where(r, c, id, live_only, &s);
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, stmt_text(&s, r->a), s.p, s.np, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "%s not found", c->res->name);
	err_t rc = resource_render(r, c, res, 0, out);
	req_own(r, *out);
	return rc;
}

/* Every resource id (generated or a slug) is 1 to 128 printable ASCII
 * characters; anything else names no row, and must not reach an ASCII
 * column, where MariaDB refuses the bytes with an error. */
static bool id_plausible(const char *id)
{
	size_t n = 0;
	for (; id[n]; n++)
		if ((unsigned char)id[n] <= 0x20 || (unsigned char)id[n] >= 0x7f || n >= 128)
			return false;
	return n > 0;
}

err_t resource_ctx(req_t *r, const resource_t *res, enum res_op op, res_ctx_t *c)
{
	memset(c, 0, sizeof(*c));
	c->res = res;
	c->op = op;
	/* Global rows (API keys) live on the primary server with the control
	 * DB: the whole operation, its audit row and event included, runs there
	 * (the fan-out finds the tenant's server; README "Scaling"). */
	if (res->home == RES_PRIMARY)
		r->db = db_control(r->db);
	c->body = r->json;
	c->status = op == OP_CREATE ? 201 : 200;
	if (res->id_param)
		c->id = req_param(r, res->id_param);
	if (c->id && !id_plausible(c->id))
		return req_fail(r, E_NOT_FOUND, "%s not found", res->name);
	if (res->hooks && res->hooks->parent)
		return res->hooks->parent(r, c);
	return E_OK;
}

void resource_set_expr(res_ctx_t *c, const char *column, const char *expr, const db_param *p,
		       int np)
{
	int i = 0;
	while (i < c->nset && strcmp(c->set_cols[i], column))
		i++;
	if (i == RES_SET_MAX ||
	    c->nvals + np > (int)(sizeof(c->set_vals) / sizeof(c->set_vals[0])))
		abort(); /* more than a descriptor's code ever sets */
	if (i == c->nset)
		c->nset++;
	c->set_cols[i] = column;
	c->set_exprs[i] = expr;
	c->set_first[i] = c->nvals;
	c->set_count[i] = np;
	for (int k = 0; k < np; k++)
		c->set_vals[c->nvals++] = p[k];
}

void resource_set(res_ctx_t *c, const char *column, db_param v)
{
	resource_set_expr(c, column, NULL, &v, 1);
}

/* Binds the hook-set value i and returns its SQL text ("?" or the
 * expression). */
static const char *set_bind(res_ctx_t *c, int i, stmt_t *s)
{
	for (int k = 0; k < c->set_count[i]; k++)
		bind(s, c->set_vals[c->set_first[i] + k]);
	return c->set_exprs[i] ? c->set_exprs[i] : "?";
}

/* --- list ----------------------------------------------------------------- */

/* Whether the query flag name is set (?include_revoked=true). */
static bool flag_set(req_t *r, const char *name)
{
	const char *v = name ? req_query(r, name) : NULL;
	return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

/* ?sort=name or ?sort=-name on a sortable field; the default order
 * otherwise. */
static err_t list_order(req_t *r, const res_ctx_t *c, query_order_t *o)
{
	const res_derived_t *d = derive(c->res);
	*o = (query_order_t){ .col = d->sort_col, .desc = d->sort_desc, .bare = true };
	const char *sort = req_query(r, "sort");
	if (!sort || !*sort)
		return E_OK;
	bool neg = *sort == '-';
	const res_field_t *f = field_named(c->res, sort + neg);
	if (!f || !(f->flags & RF_SORT) || strcmp(f->name, sort + neg))
		return req_fail_field(r, E_VALIDATION, "sort", "cannot sort %s by \"%.60s\"",
				      c->res->name, sort + neg);
	o->col = col_of(f);
	o->desc = neg;
	return E_OK;
}

/* ?field=value on filterable fields. */
static err_t list_filters(req_t *r, const res_ctx_t *c, query_t *q)
{
	for (const res_field_t *f = c->res->fields; f->name; f++) {
		if (!(f->flags & RF_FILTER))
			continue;
		const char *v = req_query(r, f->name);
		if (!v)
			continue;
		db_param p = db_str(v);
		if (f->type == COL_BOOL) {
			if (strcmp(v, "true") && strcmp(v, "false"))
				return req_fail_field(r, E_VALIDATION, f->name, "%s must be true or false",
						      f->name);
			p = db_int(!strcmp(v, "true"));
		} else if (f->type == COL_INT) {
			char *end;
			p = db_int(strtoll(v, &end, 10));
			if (!*v || *end)
				return req_fail_field(r, E_VALIDATION, f->name, "%s must be an integer",
						      f->name);
		}
		const char *cond = f->flags & RF_EXPR ? "(%s) = ?" : "`%s` = ?";
		query_and_bind(r, q, arena_printf(r->a, cond, col_of(f)), p);
	}
	return E_OK;
}

/* The rows of the page into *list (the caller's); an error of the render
 * hook (which has replied) leaves it NULL. */
static err_t list_render(req_t *r, res_ctx_t *c, const db_result *rows, long long limit,
			 cJSON **list)
{
	int n = rows->nrows > limit ? (int)limit : rows->nrows;
	*list = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		cJSON *o;
		err_t rc = resource_render(r, c, rows, i, &o);
		if (rc) {
			cJSON_Delete(*list);
			*list = NULL;
			return rc;
		}
		cJSON_AddItemToArray(*list, o);
	}
	return E_OK;
}

/* Replies the page in the descriptor's shape (resource.h). */
static void list_reply(req_t *r, const resource_t *res, cJSON *list, const char *next,
		       long long total, long long limit, long long offset)
{
	if (res->list_shape == LIST_ARRAY) {
		if (next)
			reply_header(r, "X-Next-Cursor", next);
		reply_data(r, 200, list);
		return;
	}
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, res->list_key, list);
	if (res->list_shape == LIST_PAGE) {
		cJSON_AddNumberToObject(d, "total", (double)total);
		cJSON_AddNumberToObject(d, "limit", (double)limit);
		cJSON_AddNumberToObject(d, "offset", (double)offset);
	} else {
		cJSON_AddItemToObject(d, "next_cursor", next ? cJSON_CreateString(next)
							     : cJSON_CreateNull());
		if (res->flags & RES_LIST_TOTAL)
			cJSON_AddNumberToObject(d, "total", (double)total);
	}
	reply_data(r, 200, d);
}

static err_t op_list(req_t *r, res_ctx_t *c)
{
	const resource_t *res = c->res;
	long long limit, offset, total = 0;
	long long max = res->list_max ? res->list_max : LIST_MAX_DEFAULT;
	long long def = res->list_default ? res->list_default : max;
	err_t rc;
	if ((rc = req_query_int(r, "limit", def, 1, max, &limit)) ||
	    (rc = req_query_int(r, "offset", 0, 0, 1000000000, &offset)))
		return rc;
	query_t q;
	res_scope(r, c, &q);
	if (res->live && !flag_set(r, res->show_all))
		query_and(r, &q, arena_printf(r->a, "(%s)", res->live));
	c->list = &q;
	query_order_t o;
	if ((res->hooks && res->hooks->list && (rc = res->hooks->list(r, c))) ||
	    (rc = list_order(r, c, &o)) || (rc = list_filters(r, c, &q)))
		return rc;
	/* The total counts every page: the conditions so far, without the
	 * cursor (what q binds later lies past all.np or in a new array). */
	query_t all = q;
	const char *cursor = req_query(r, "cursor"), *table = resource_table(r, res);
	db_result *rows;
	if ((rc = query_rows(r, arena_printf(r->a, "%s, `%s` AS _sortv", derive(res)->select, o.col),
			     table, &q, &o, cursor, limit, cursor ? 0 : offset, &rows)))
		return rc;
	if ((res->list_shape == LIST_PAGE || (res->flags & RES_LIST_TOTAL)) &&
	    (rc = query_count(r, table, &all, &total)))
		return rc;
	cJSON *list;
	if ((rc = list_render(r, c, rows, limit, &list)))
		return rc;
	list_reply(r, res, list, query_next_cursor(r, &o, rows, limit, "_sortv"), total, limit,
		   offset);
	return E_OK;
}

static err_t op_get(req_t *r, res_ctx_t *c)
{
	cJSON *row;
	err_t rc = resource_fetch(r, c, c->id, c->res->flags & RES_GET_LIVE, &row);
	if (rc)
		return rc;
	reply_data(r, 200, cJSON_Duplicate(row, true));
	return E_OK;
}

/* --- writes --------------------------------------------------------------- */

/* Meaning checks every field declares (its shape and values the pipeline
 * checked against the route's schema); then the check hook's. */
static err_t fields_check(req_t *r, res_ctx_t *c)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, c->body) {
		const res_field_t *f = field_named(c->res, it->string);
		err_t rc;
		if (f && !cJSON_IsNull(it) && f->check && (rc = f->check(r, f, it)))
			return rc;
	}
	if (c->res->hooks && c->res->hooks->check)
		return c->res->hooks->check(r, c);
	return E_OK;
}

static const char *actor(const req_t *r)
{
	return r->who.kind == PRINCIPAL_USER ? r->who.user_id : r->who.key_id;
}

static err_t duplicate(req_t *r, const res_ctx_t *c)
{
	for (const res_field_t *f = c->res->fields; f->name; f++) {
		if (!(f->flags & RF_UNIQUE))
			continue;
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, f->name);
		if (cJSON_IsString(v))
			return req_fail_field(r, E_CONFLICT, f->name, "A %s with %s \"%.255s\" already exists",
					      c->res->name, f->name, v->valuestring);
		return req_fail_field(r, E_CONFLICT, f->name, "A %s with this %s already exists",
				      c->res->name, f->name);
	}
	return req_fail(r, E_CONFLICT, "This %s already exists", c->res->name);
}

static db_param field_param(req_t *r, const res_field_t *f, const cJSON *v)
{
	col_t col = { col_of(f), f->type, 0 };
	return json_to_param(r->a, &col, v);
}

/* The audit entry of this write: the hook's details, or the row's title,
 * its parent and (update) the fields changed. */
static err_t write_audit(req_t *r, res_ctx_t *c, const char *verb)
{
	if (c->res->flags & RES_NO_AUDIT)
		return E_OK;
	if (!c->audit && (c->res->flags & RES_AUDIT_BARE))
		c->audit = req_own(r, cJSON_CreateNull());
	if (!c->audit) {
		c->audit = req_own(r, cJSON_CreateObject());
		const cJSON *row = c->row ? c->row : c->before;
		const cJSON *t = c->res->title ? cJSON_GetObjectItemCaseSensitive(row, c->res->title) : NULL;
		if (cJSON_IsString(t))
			cJSON_AddStringToObject(c->audit, c->res->title, t->valuestring);
		if (c->parent_id)
			cJSON_AddStringToObject(c->audit, c->res->parent_column, c->parent_id);
		if (c->changed)
			cJSON_AddItemToObject(c->audit, "fields", cJSON_Duplicate(c->changed, true));
	}
	return req_audit(r, arena_printf(r->a, "%s.%s", c->res->type, verb), c->res->type, c->id,
			 cJSON_IsNull(c->audit) ? NULL : c->audit);
}

static err_t write_event(req_t *r, res_ctx_t *c, const char *verb)
{
	if (!(c->res->flags & RES_EVENTS))
		return E_OK;
	cJSON *payload = c->row;
	if (!payload) {
		payload = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(payload, "id", c->id);
	}
	return outbox_add(r, arena_printf(r->a, "%s.%s", c->res->type, verb), c->res->type, c->id,
			  payload);
}

/* Runs the statement s of c's write: a duplicate is the conflict hook's
 * or the engine's 409, an update or delete that finds no row a 404. */
static err_t write_stmt(req_t *r, res_ctx_t *c, stmt_t *s)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, stmt_text(s, r->a), s->p, s->np, &res);
	if (st == DB_DUPLICATE)
		return c->res->hooks && c->res->hooks->conflict ? c->res->hooks->conflict(r, c)
								 : duplicate(r, c);
	if (st)
		return req_db_error(r, st);
	if (c->op != OP_CREATE && res->affected == 0)
		return req_fail(r, E_NOT_FOUND, "%s not found", c->res->name);
	return E_OK;
}

/* Runs the statement s (NULL: already run) and the write's follow-ups in
 * one transaction: audit, hook, the row as it now is, event, commit,
 * caches. */
static err_t write_tx(req_t *r, res_ctx_t *c, stmt_t *s, const char *verb, bool refetch)
{
	verb = c->verb ? c->verb : verb;
	enum db_status st = c->in_tx ? DB_OK : db_begin(r->db);
	if (st) {
		if (s)
			free(s->sql.p);
		return req_db_error(r, st);
	}
	err_t rc = s ? write_stmt(r, c, s) : E_OK;
	if (!rc && refetch)
		rc = resource_fetch(r, c, c->id, false, &c->row);
	if (!rc)
		rc = write_audit(r, c, verb);
	if (!rc && c->res->hooks && c->res->hooks->after_write)
		rc = c->res->hooks->after_write(r, c);
	if (!rc)
		rc = write_event(r, c, verb);
	if (c->in_tx || (rc = req_tx_end(r, rc)))
		return rc;
	if (c->res->hooks && c->res->hooks->after_commit)
		c->res->hooks->after_commit(r, c);
	return E_OK;
}

/* A write with a ddl hook (see resource.h): the statement s on its own,
 * the hook, then the rest in write_tx; a created row goes again if the
 * hook fails.  Once s has committed, the after_commit hook runs whatever
 * the outcome: caches may have read the row meanwhile. */
static err_t write_ddl(req_t *r, res_ctx_t *c, stmt_t *s, const char *verb)
{
	err_t rc = write_stmt(r, c, s);
	if (rc)
		return rc;
	if (!(rc = c->res->hooks->ddl(r, c))) {
		rc = write_tx(r, c, NULL, verb, true); /* after_commit when it commits */
	} else if (c->op == OP_CREATE) {
		stmt_t d = { 0 };
		sb_printf(&d.sql, "DELETE FROM %s", resource_table(r, c->res));
		row_where(r, c, c->id, false, &d);
		db_exec(r->db, r->a, stmt_text(&d, r->a), d.p, d.np, NULL);
	}
	if (rc && c->res->hooks->after_commit)
		c->res->hooks->after_commit(r, c);
	return rc;
}

static err_t write_reply(req_t *r, res_ctx_t *c)
{
	if (c->in_tx)
		return E_OK;
	if (c->res->hooks && c->res->hooks->reply)
		return c->res->hooks->reply(r, c);
	return resource_reply_default(r, c);
}

err_t resource_reply_default(req_t *r, res_ctx_t *c)
{
	const char *deleted_id = c->op == OP_DELETE ? c->res->deleted_id : NULL;
	if (c->row && !deleted_id) {
		reply_data(r, c->status, cJSON_Duplicate(c->row, true));
		return E_OK;
	}
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, deleted_id ? deleted_id : "id", c->id);
	cJSON_AddTrueToObject(d, "deleted");
	reply_data(r, c->status, d);
	return E_OK;
}

static err_t before_write(req_t *r, res_ctx_t *c)
{
	err_t rc = fields_check(r, c);
	if (!rc && c->res->hooks && c->res->hooks->validate)
		rc = c->res->hooks->validate(r, c);
	return rc;
}

static err_t op_create(req_t *r, res_ctx_t *c)
{
	const resource_t *res = c->res;
	char id[48];
	id_new(id, sizeof(id), res->id_prefix);
	c->id = arena_strdup(r->a, id);
	err_t rc = before_write(r, c);
	if (rc)
		return rc;
	stmt_t s = { 0 };
	strbuf_t vals = { 0 };
	sb_printf(&s.sql, "INSERT INTO %s (id", resource_table(r, res));
	sb_puts(&vals, "?");
	bind(&s, db_str(c->id));
	if (res->home != RES_TENANT) {
		sb_puts(&s.sql, ", tenant_id");
		sb_puts(&vals, ", ?");
		bind(&s, db_str(r->tenant.id));
	}
	if (res->parent_column) {
		sb_printf(&s.sql, ", `%s`", res->parent_column);
		sb_puts(&vals, ", ?");
		bind(&s, db_str(c->parent_id));
	}
	for (const res_field_t *f = res->fields; f->name; f++) {
		if (!(f->flags & RF_CREATE) || (f->flags & RF_INPUT))
			continue;
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, f->name);
		if (!v && f->alias)
			v = cJSON_GetObjectItemCaseSensitive(c->body, f->alias);
		bool hooked = false;
		for (int i = 0; i < c->nset; i++)
			hooked |= !strcmp(c->set_cols[i], col_of(f));
		if (!v || hooked)
			continue; /* the column default, or the hook's value */
		sb_printf(&s.sql, ", `%s`", col_of(f));
		sb_puts(&vals, ", ?");
		bind(&s, field_param(r, f, v));
	}
	for (int i = 0; i < c->nset; i++) {
		sb_printf(&s.sql, ", `%s`", c->set_cols[i]);
		sb_printf(&vals, ", %s", set_bind(c, i, &s));
	}
	if (res->flags & RES_CREATED_BY) {
		sb_puts(&s.sql, ", created_by");
		sb_puts(&vals, ", ?");
		bind(&s, db_str(actor(r)));
	}
	if (!(res->flags & RES_NO_TIMES)) {
		sb_puts(&s.sql, ", created_at, updated_at");
		sb_puts(&vals, ", UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)");
	}
	sb_printf(&s.sql, ") VALUES (%s)", sb_take(&vals, r->a));
	rc = res->hooks && res->hooks->ddl ? write_ddl(r, c, &s, "created")
					   : write_tx(r, c, &s, "created", true);
	if (rc)
		return rc;
	return write_reply(r, c);
}

/* If-Match ("3", "\"3\"" or W/"3"): the update applies only to that
 * version, checked now (409 with the current one) and again by the
 * UPDATE's condition, which a concurrent writer makes match no row. */
static err_t version_match(req_t *r, res_ctx_t *c, stmt_t *s)
{
	const char *im = req_env(r, "HTTP_IF_MATCH");
	if (!im || !*im || !strcmp(im, "*"))
		return E_OK;
	const char *p = im + (strncmp(im, "W/", 2) ? 0 : 2);
	p += *p == '"';
	char *end;
	long long want = strtoll(p, &end, 10);
	if (end == p || want < 1 || (*end && strcmp(end, "\"")))
		return req_fail_field(r, E_VALIDATION, "If-Match", "If-Match must be a version number");
	/* Integers render as raw JSON text (rowjson.c). */
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(c->before, c->res->version_column);
	long long have = cJSON_IsRaw(cur) ? strtoll(cur->valuestring, NULL, 10)
			 : cJSON_IsNumber(cur) ? (long long)cur->valuedouble : want;
	if (have != want)
		return req_fail(r, E_CONFLICT, "The %s is at version %lld, not %lld", c->res->name,
				have, want);
	sb_printf(&s->sql, " AND `%s` = ?", c->res->version_column);
	bind(s, db_int(want));
	return E_OK;
}

static err_t op_update(req_t *r, res_ctx_t *c)
{
	const resource_t *res = c->res;
	/* The body's own checks answer before a 404, as a schema error does. */
	err_t rc = fields_check(r, c);
	if (rc || (rc = resource_fetch(r, c, c->id, true, &c->before)))
		return rc;
	if (res->hooks && res->hooks->validate && (rc = res->hooks->validate(r, c)))
		return rc;
	stmt_t s = { 0 };
	c->changed = req_own(r, cJSON_CreateArray());
	sb_printf(&s.sql, "UPDATE %s SET ", resource_table(r, res));
	int n = 0;
	for (const res_field_t *f = res->fields; f->name; f++) {
		if (!(f->flags & RF_UPDATE) || (f->flags & RF_INPUT))
			continue;
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, f->name);
		if (!v && f->alias)
			v = cJSON_GetObjectItemCaseSensitive(c->body, f->alias);
		bool hooked = false;
		for (int i = 0; i < c->nset; i++)
			hooked |= !strcmp(c->set_cols[i], col_of(f));
		if (!v || hooked)
			continue;
		sb_printf(&s.sql, "%s`%s` = ?", n++ ? ", " : "", col_of(f));
		bind(&s, field_param(r, f, v));
		cJSON_AddItemToArray(c->changed, cJSON_CreateString(f->name));
	}
	for (int i = 0; i < c->nset; i++) {
		sb_printf(&s.sql, "%s`%s` = ", n++ ? ", " : "", c->set_cols[i]);
		sb_puts(&s.sql, set_bind(c, i, &s));
		const res_field_t *f = field_named(res, c->set_cols[i]);
		if (f && cJSON_GetObjectItemCaseSensitive(c->body, f->name))
			cJSON_AddItemToArray(c->changed, cJSON_CreateString(f->name));
	}
	if (n == 0 && !(res->flags & RES_TOUCH)) {
		/* Nothing to change: no write, no audit entry. */
		free(s.sql.p);
		c->row = c->before;
		return write_reply(r, c);
	}
	if (!(res->flags & RES_NO_TIMES))
		sb_printf(&s.sql, "%supdated_at = UTC_TIMESTAMP(3)", n++ ? ", " : "");
	if (res->version_column)
		sb_printf(&s.sql, "%s`%s` = `%s` + 1", n++ ? ", " : "", res->version_column,
			  res->version_column);
	if (n == 0) {
		/* RES_TOUCH without columns to touch: a no-op write. */
		sb_puts(&s.sql, "id = id");
	}
	row_where(r, c, c->id, true, &s);
	if (res->version_column && (rc = version_match(r, c, &s))) {
		free(s.sql.p);
		return rc;
	}
	rc = (res->flags & RES_UPDATE_DDL) ? write_ddl(r, c, &s, "updated")
					   : write_tx(r, c, &s, "updated", true);
	if (rc)
		return rc;
	return write_reply(r, c);
}

static err_t op_delete(req_t *r, res_ctx_t *c)
{
	const resource_t *res = c->res;
	err_t rc = resource_fetch(r, c, c->id, true, &c->before);
	if (rc)
		return rc;
	if (res->hooks && res->hooks->before_delete && (rc = res->hooks->before_delete(r, c)))
		return rc;
	stmt_t s = { 0 };
	if (res->del == DEL_MARK) {
		sb_printf(&s.sql, "UPDATE %s SET %s", resource_table(r, res), res->delete_set);
		if (!(res->flags & RES_NO_TIMES))
			sb_puts(&s.sql, ", updated_at = UTC_TIMESTAMP(3)");
	} else {
		sb_printf(&s.sql, "DELETE FROM %s", resource_table(r, res));
	}
	row_where(r, c, c->id, true, &s);
	const char *verb = res->deleted_verb ? res->deleted_verb : "deleted";
	if ((rc = write_tx(r, c, &s, verb, res->del == DEL_MARK)))
		return rc;
	return write_reply(r, c);
}

err_t resource_run(req_t *r, res_ctx_t *c)
{
	switch (c->op) {
	case OP_LIST:
		return op_list(r, c);
	case OP_GET:
		return op_get(r, c);
	case OP_CREATE:
		return op_create(r, c);
	case OP_UPDATE:
		return op_update(r, c);
	case OP_DELETE:
		return op_delete(r, c);
	case OP_NONE:
		break;
	}
	return req_fail(r, E_INTERNAL, "route has no operation");
}

err_t resource_op(req_t *r, const resource_t *res, enum res_op op)
{
	res_ctx_t c;
	err_t rc = resource_ctx(r, res, op, &c);
	return rc ? rc : resource_run(r, &c);
}

err_t resource_handle(req_t *r)
{
	return resource_op(r, r->route->res, r->route->op);
}
