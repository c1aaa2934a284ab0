/*
 * rowjson.h - column descriptors that turn a database row into the API's
 * JSON and validated JSON fields back into bound UPDATE parameters.
 *
 * This is the core of the generic CRUD engine: a resource declares its
 * columns once (name, type, whether a client may write it, whether it is
 * secret) and reads, lists and partial updates follow from that table.
 */
#ifndef TESSERA_ROWJSON_H
#define TESSERA_ROWJSON_H

#include <cJSON.h>

#include "arena.h"
#include "db.h"

enum col_type {
	COL_STR,    /* text */
	COL_INT,    /* integer */
	COL_BOOL,   /* 0/1 */
	COL_TIME,   /* DATETIME, rendered RFC 3339 */
	COL_JSON,   /* JSON text, rendered as a value */
	COL_WORDS,  /* space-separated words, rendered as an array of strings */
};

enum {
	COL_HIDDEN = 1 << 0,   /* never rendered (hashes, sealed secrets) */
	COL_WRITABLE = 1 << 1, /* a client may PATCH it */
};

typedef struct col {
	const char *name;      /* column name = JSON name */
	enum col_type type;
	unsigned flags;
} col_t;

/* Renders row of res using cols (columns missing from res are skipped). */
cJSON *row_to_json(const col_t *cols, const db_result *res, int row);
/* Renders every row into a new array. */
cJSON *rows_to_json(const col_t *cols, const db_result *res);
/* Converts a JSON value for column c into a bound parameter (arena-owned). */
db_param json_to_param(arena_t *a, const col_t *c, const cJSON *v);
/* "a, b, c" list of every non-hidden column for SELECT lists. */
const char *cols_select(arena_t *a, const col_t *cols, const char *prefix);

#endif
