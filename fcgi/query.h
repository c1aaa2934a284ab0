/*
 * query.h - the query builder of lists: a WHERE clause with its bound
 * parameters, LIKE patterns and time bounds, the sort order and its keyset
 * cursor, and the page of results.  The resource engine (resource.c) and
 * the hand-written lists (objects, files, events, comments, …) build their
 * queries with it; object filters and the object order, which need the
 * object types, compile into it from handlers/objquery.h.
 *
 * Every piece of SQL it writes is fixed text or a column name its caller
 * vouches for (a descriptor's, a checked property); every value is bound.
 */
#ifndef TESSERA_QUERY_H
#define TESSERA_QUERY_H

#include <stdbool.h>

#include <cJSON.h>

#include "../common/db.h"
#include "request.h"

/* Conditions joined by AND, with their parameters in the order the
 * placeholders appear.  Everything is in the request arena.  A query only
 * grows, so a copy taken on the way keeps the conditions of then (a total
 * before the cursor), as long as only one of the two grows. */
typedef struct query {
	char *sql;
	db_param *p;
	int np, cap;
} query_t;

/* Starts q with the condition first (fixed SQL text). */
void query_init(req_t *r, query_t *q, const char *first);
/* Adds " AND cond"; cond's placeholders are bound with query_bind. */
void query_and(req_t *r, query_t *q, const char *cond);
/* Binds the next placeholder. */
void query_bind(req_t *r, query_t *q, db_param v);
/* A condition with one placeholder and its value. */
void query_and_bind(req_t *r, query_t *q, const char *cond, db_param v);

/* SELECT COUNT(*) FROM from (a table name, trusted) WHERE q into *n. */
err_t query_count(req_t *r, const char *from, const query_t *q, long long *n);

/* "%s%" with the LIKE wildcards of s escaped (\ is the escape): a
 * substring match, or a prefix match when leading is false.  In a. */
char *query_like_pattern(arena_t *a, const char *s, bool leading);

/* An RFC 3339 time as SQL DATETIME text (UTC, seconds) into *out; false
 * when text is not such a time. */
bool query_sql_time(arena_t *a, const char *text, db_param *out);

/* text, the value of field, as query_sql_time's time into *out, SQL NULL
 * when text is NULL; 400 naming field when it is no RFC 3339 time, "…
 * must be an RFC 3339 time such as <example>" (the lists have always
 * shown different examples; none: no example). */
err_t query_time_arg(req_t *r, const char *field, const char *text, const char *example,
		     db_param *out);

/* ?created_after= and ?created_before= (RFC 3339, exclusive, to the
 * millisecond) as conditions on created_at; 400 naming the parameter when
 * one is not such a time. */
err_t query_created_filters(req_t *r, query_t *q);

/*
 * A list's order: its column and direction, and how its cursor reads.  A
 * cursor is base64url JSON, in the form its list has always had (clients
 * keep them): {"s": col, "d": desc, "v": value or null, "id": id} by
 * default (objects); {"k": key, "v": value, "id": id} with a key (files,
 * the id-ordered lists); {"v": value or null, "i": id} when bare (the
 * resource engine's), which names no order, so no order is checked.
 */
typedef struct query_order {
	const char *col;        /* a fixed column or a checked property name */
	bool desc;
	bool nullable;          /* a property: NULLs sort last in both directions */
	const char *key;        /* the cursor's "k" */
	const char *id_prefix;  /* with key: the prefix of the cursor's id */
	bool bare;              /* the engine's cursor */
} query_order_t;

/* Narrows q to the rows after the cursor's (from a page of the same
 * order); 400 naming "cursor" when it is malformed or of another order. */
err_t query_cursor_apply(req_t *r, const query_order_t *o, query_t *q, const char *cursor);

/* " ORDER BY …": NULLs last when nullable, the id breaking ties. */
char *query_order_sql(req_t *r, const query_order_t *o);

/*
 * Runs SELECT select FROM from WHERE q in the order o, after the cursor
 * (none when NULL or "") and offset rows, into *rows: at most limit + 1
 * rows, the one more saying that a next page exists (query_next_cursor
 * and query_page read it so).  q gets the cursor's condition and the
 * limits bound; 400 naming "cursor" as query_cursor_apply.
 */
err_t query_rows(req_t *r, const char *select, const char *from, query_t *q,
		 const query_order_t *o, const char *cursor, long long limit, long long offset,
		 db_result **rows);

/* Renders row i of res as the API shows it (ctx: the list's own). */
typedef cJSON *(*query_row_fn)(req_t *r, const db_result *res, int i, const void *ctx);

/* The cursor of the page after res, which holds up to limit rows and one
 * more when a next page exists (NULL when none does); it resumes after
 * the last row shown, whose sort value is in column value_col. */
char *query_next_cursor(req_t *r, const query_order_t *o, const db_result *res, long long limit,
			const char *value_col);

/* The page {results, next_cursor, total} of res: the rows shown, each
 * rendered by row, and query_next_cursor's cursor. */
cJSON *query_page(req_t *r, const query_order_t *o, const db_result *res, long long limit,
		  long long total, const char *value_col, query_row_fn row, const void *ctx);

/*
 * Lists ordered by id alone, newest first (comments, notifications,
 * associations).  query_id_cursor reads ?cursor= into *last (NULL without
 * one): the last id seen, with the ids' prefix, in the list scope names
 * (an object's comments; NULL for a list of its own); a cursor of another
 * list is refused, not misapplied.  query_id_page is the page of res,
 * fetched with LIMIT limit + 1, whose cursor query_id_cursor reads.
 */
err_t query_id_cursor(req_t *r, const char *scope, const char *prefix, const char **last);
cJSON *query_id_page(req_t *r, const db_result *res, long long limit, long long total,
		     const char *scope, const char *prefix, query_row_fn row, const void *ctx);

/* Renders row i with the col_t list ctx (row_to_json). */
cJSON *query_row_cols(req_t *r, const db_result *res, int i, const void *ctx);

#endif
