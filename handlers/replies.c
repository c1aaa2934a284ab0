/*
 * replies.c - the reply shapes hand-written endpoints share (replies.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../common/schema.h"
#include "../common/strbuf.h"
#include "replies.h"

err_t page_read(req_t *r, long long def, long long max, page_t *pg)
{
	err_t rc = req_query_int(r, "limit", def, 1, max, &pg->limit);
	return rc ? rc : req_query_int(r, "offset", 0, 0, 1000000000, &pg->offset);
}

/* "`a`, `b`, …": every column that is rendered, quoted (`trigger` is a
 * reserved word). */
static const char *select_list(arena_t *a, const col_t *cols)
{
	strbuf_t sb = { 0 };
	for (const col_t *c = cols; c->name; c++)
		if (!(c->flags & COL_HIDDEN))
			sb_printf(&sb, "%s`%s`", sb.len ? ", " : "", c->name);
	return sb_take(&sb, a);
}

err_t page_reply(req_t *r, const page_t *pg, const char *key, const col_t *cols,
		 const char *from, const char *where, const db_param *p, int np, const char *order)
{
	db_param *q = arena_alloc(r->a, (size_t)(np + 2) * sizeof(*q));
	for (int i = 0; i < np; i++)
		q[i] = p[i];
	q[np] = db_int(pg->limit);
	q[np + 1] = db_int(pg->offset);
	db_result *res, *cnt;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT %s FROM %s %s ORDER BY %s LIMIT ? OFFSET ?", select_list(r->a, cols), from, where,
		order), q, np + 2, &res);
	if (!st)
		st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT COUNT(*) FROM %s %s", from, where),
			     p, np, &cnt);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, key, rows_to_json(cols, res));
	cJSON_AddNumberToObject(d, "total", (double)strtoll(db_cell(cnt, 0, 0), NULL, 10));
	cJSON_AddNumberToObject(d, "limit", (double)pg->limit);
	cJSON_AddNumberToObject(d, "offset", (double)pg->offset);
	reply_data(r, 200, d);
	return E_OK;
}

err_t reply_done(req_t *r, const char *done, ...)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddTrueToObject(d, done);
	va_list ap;
	va_start(ap, done);
	for (const char *name; (name = va_arg(ap, const char *));)
		cJSON_AddStringToObject(d, name, va_arg(ap, const char *));
	va_end(ap);
	reply_data(r, 200, d);
	return E_OK;
}

err_t one_of_or_reply(req_t *r, const char *field, const char *v, const char *const *values)
{
	if (!v || one_of(v, values))
		return E_OK;
	char msg[512];
	one_of_message(msg, sizeof(msg), field, values);
	return req_fail_field(r, E_VALIDATION, field, "%s", msg);
}
