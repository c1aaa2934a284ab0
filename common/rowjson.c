/*
 * rowjson.c - see rowjson.h.
 */
#include "rowjson.h"

#include <stdlib.h>
#include <string.h>

#include "jsonx.h"
#include "strbuf.h"
#include "timefmt.h"

static cJSON *cell_json(const col_t *c, const char *v)
{
	if (!v)
		return cJSON_CreateNull();
	switch (c->type) {
	case COL_STR:
		return cJSON_CreateString(v);
	case COL_INT:
		/* Raw decimal text keeps every digit (a double would round
		 * integers beyond 15 significant digits). */
		if (*v && strspn(v + (*v == '-'), "0123456789") == strlen(v + (*v == '-')) &&
		    v[*v == '-'] != '\0')
			return cJSON_CreateRaw(v);
		return cJSON_CreateNumber((double)strtoll(v, NULL, 10));
	case COL_BOOL:
		return cJSON_CreateBool(strcmp(v, "0") != 0);
	case COL_TIME: {
		char buf[RFC3339_LEN];
		return cJSON_CreateString(time_from_sql(buf, v));
	}
	case COL_JSON: {
		cJSON *j = cJSON_Parse(v);
		json_exact_numbers(j);
		return j ? j : cJSON_CreateNull();
	}
	case COL_WORDS: {
		cJSON *arr = cJSON_CreateArray();
		const char *p = v;
		while (*p) {
			while (*p == ' ')
				p++;
			size_t n = strcspn(p, " ");
			if (n) {
				char *w = strndup(p, n);
				cJSON_AddItemToArray(arr, cJSON_CreateString(w));
				free(w);
			}
			p += n;
		}
		return arr;
	}
	}
	return cJSON_CreateNull();
}

cJSON *row_to_json(const col_t *cols, const db_result *res, int row)
{
	cJSON *o = cJSON_CreateObject();
	for (const col_t *c = cols; c->name; c++) {
		if (c->flags & COL_HIDDEN)
			continue;
		int idx = -1;
		for (int i = 0; i < res->ncols; i++)
			if (strcmp(res->names[i], c->name) == 0)
				idx = i;
		if (idx < 0)
			continue;
		cJSON_AddItemToObject(o, c->name, cell_json(c, db_cell(res, row, idx)));
	}
	return o;
}

cJSON *rows_to_json(const col_t *cols, const db_result *res)
{
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < res->nrows; i++)
		cJSON_AddItemToArray(arr, row_to_json(cols, res, i));
	return arr;
}

db_param json_to_param(arena_t *a, const col_t *c, const cJSON *v)
{
	if (!v || cJSON_IsNull(v))
		return db_null();
	switch (c->type) {
	case COL_INT:
		return db_int((long long)v->valuedouble);
	case COL_BOOL:
		return db_int(cJSON_IsTrue(v) ? 1 : 0);
	case COL_WORDS: {
		strbuf_t sb = { 0 };
		const cJSON *it;
		cJSON_ArrayForEach(it, v)
			if (cJSON_IsString(it))
				sb_printf(&sb, "%s%s", sb.len ? " " : "", it->valuestring);
		return db_str(sb_take(&sb, a));
	}
	case COL_JSON: {
		char *p = cJSON_PrintUnformatted(v);
		char *s = arena_strdup(a, p ? p : "null");
		cJSON_free(p);
		return db_str(s);
	}
	case COL_TIME: {
		/* Callers validate RFC 3339 first; store as UTC DATETIME text. */
		time_t t;
		if (!cJSON_IsString(v) || time_parse_rfc3339(v->valuestring, &t) != 0)
			return db_null();
		struct tm tm;
		gmtime_r(&t, &tm);
		char *s = arena_alloc(a, 32);
		strftime(s, 32, "%Y-%m-%d %H:%M:%S", &tm);
		return db_str(s);
	}
	case COL_STR:
		break;
	}
	return db_str(cJSON_IsString(v) ? arena_strdup(a, v->valuestring) : NULL);
}

const char *cols_select(arena_t *a, const col_t *cols, const char *prefix)
{
	strbuf_t sb = { 0 };
	for (const col_t *c = cols; c->name; c++) {
		if (c->flags & COL_HIDDEN)
			continue;
		sb_printf(&sb, "%s%s%s", sb.len ? ", " : "", prefix ? prefix : "", c->name);
	}
	return sb_take(&sb, a);
}
