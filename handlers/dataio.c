/*
 * dataio.c - bulk import and export of one object type's objects.
 *
 * Import takes rows as JSON (an array of property maps, inline or as the
 * text of a JSON file) or as CSV (RFC 4180: quoted fields, "" escapes,
 * embedded line breaks, optional UTF-8 BOM, CRLF or LF; the header row
 * names the properties).  The whole input is parsed, counted and checked
 * for shape before anything is written; then each row is validated like a
 * create (POST /v1/objects) and the valid ones are inserted in batches, one
 * transaction per batch, each with its object.created outbox event.  A bad
 * row is reported (row, field, message) and skipped; it does not abort the
 * import.
 *
 * Export writes every live object of a type to a file under the storage
 * root (<root>/<tenant>/exports/<id>.<json|csv>, temp file + rename) from
 * one consistent snapshot and records it in the tenant's _exports table.
 * The download is only authorized here: the answer is an empty body with
 * X-Accel-Redirect to nginx's internal /_tessera/exports/ location, so the
 * file is streamed by nginx, never through a worker.
 *
 * End-user tokens are refused, as on objects, until row-level policies
 * exist.  The rules for validating a row and rendering an object are those
 * of objects.c (same SQL, same checks, same outbox payload), with the
 * helpers objects.h exports; row validation collects per-row errors
 * instead of failing the request.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/config.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "objects.h"
#include "objmodel.h"
#include "routes.h"

#define IMPORT_MAX 10000      /* rows per import (DESIGN.md limits) */
#define IMPORT_BATCH 500      /* rows per transaction */
#define ERRORS_MAX 1000       /* row errors listed in the response */
#define CSV_FIELDS_MAX 1000   /* fields per CSV record */
#define EXPORT_MAX 100000     /* objects per export */
#define EXPORT_PAGE 1000      /* objects read per query */

#define OBJ_COLS "id, properties, created_at, updated_at, created_by, version, is_deleted, deleted_at"

static const char *const formats[] = { "json", "csv", NULL };

/* What an import and an export both name: the type and the format. */
#define BODY_TYPE_AND_FORMAT \
	{ "object_type_id", FT_STRING, FF_REQUIRED, 1, 100 }, \
	{ "format", FT_STRING, 0, 0, 8, formats }

const field_t import_body[] = {
	BODY_TYPE_AND_FORMAT,
	{ "data", FT_ANY, 0, 0, 0 },
	{ "csv", FT_STRING, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

const field_t export_body[] = {
	BODY_TYPE_AND_FORMAT,
	{ NULL, 0, 0, 0, 0 },
};

/* ------------------------------------------------------------ shared */

/* An import or an export of the objects of t in CSV or JSON. */
typedef err_t (*transfer_fn)(req_t *r, objtype_t *t, bool is_csv);

/* Runs fn on the type named in the body, in the format it names; end
 * users are refused (no policies). */
static err_t transfer(req_t *r, transfer_fn fn)
{
	if (req_end_user(r))
		return req_fail(r, E_FORBIDDEN,
				"No row-level policy allows end users to import or export objects");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(r->json, "object_type_id");
	objtype_t *t;
	const char *format = json_str_of(r->json, "format"); /* one of formats[] */
	err_t rc = objtype_load(r, cJSON_IsString(id) ? id->valuestring : "", &t);
	if (rc)
		return rc;
	return fn(r, t, format && !strcmp(format, "csv"));
}

/* --------------------------------------------------------------- CSV */

typedef struct csv_rec {
	int line;        /* where the record starts, 1-based */
	int nf;
	char **f;
} csv_rec;

typedef struct csv {
	int nrec;        /* records stored */
	int cap;
	long long total; /* records seen (more than stored past the cap) */
	csv_rec *rec;
} csv_t;

/* Appends a pointer to a growable arena array. */
static void push_ptr(arena_t *a, char ***arr, int *n, int *cap, char *p)
{
	if (*n == *cap) {
		int ncap = *cap ? *cap * 2 : 16;
		char **grown = arena_alloc(a, (size_t)ncap * sizeof(char *));
		if (*n)
			memcpy(grown, *arr, (size_t)*n * sizeof(char *));
		*arr = grown;
		*cap = ncap;
	}
	(*arr)[(*n)++] = p;
}

static void csv_store(arena_t *a, csv_t *c, int line, char **f, int nf)
{
	if (c->nrec == c->cap) {
		int ncap = c->cap ? c->cap * 2 : 64;
		csv_rec *grown = arena_alloc(a, (size_t)ncap * sizeof(csv_rec));
		if (c->nrec)
			memcpy(grown, c->rec, (size_t)c->nrec * sizeof(csv_rec));
		c->rec = grown;
		c->cap = ncap;
	}
	csv_rec *rec = &c->rec[c->nrec++];
	rec->line = line;
	rec->nf = nf;
	rec->f = arena_alloc(a, (size_t)nf * sizeof(char *));
	memcpy(rec->f, f, (size_t)nf * sizeof(char *));
}

/*
 * Parses CSV text (RFC 4180, ',' separated) into records of NUL-terminated
 * fields in arena memory.  A leading UTF-8 BOM is skipped; records end at
 * CRLF, LF or CR; empty lines are skipped.  At most max records are stored
 * (the rest are only counted, so a huge input cannot exhaust memory).  On
 * malformed input returns false with the line in msg.
 */
static bool csv_parse(arena_t *a, const char *s, size_t len, int max, csv_t *out,
		      char *msg, size_t msglen)
{
	if (len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		s += 3, len -= 3;
	/* Unescaped fields are never longer than their text; each field's NUL
	 * takes the place of the separator or line break after it. */
	char *buf = arena_alloc(a, len + 2), *w = buf;
	const char *p = s, *end = s + len;
	char **fields = NULL;
	int fcap = 0, line = 1;
	memset(out, 0, sizeof(*out));
	while (p < end) {
		int start_line = line, nf = 0;
		bool blank = *p == '\n' || *p == '\r';
		for (;;) {
			char *field = w;
			if (p < end && *p == '"') {
				int qline = line;
				for (p++;; p++) {
					if (p >= end) {
						snprintf(msg, msglen, "line %d: a quoted field is never closed", qline);
						return false;
					}
					if (*p == '"') {
						if (p + 1 < end && p[1] == '"') {
							*w++ = *p++;
							continue;
						}
						p++;
						break;
					}
					if (*p == '\n')
						line++;
					*w++ = *p;
				}
				if (p < end && *p != ',' && *p != '\n' && *p != '\r') {
					snprintf(msg, msglen, "line %d: text after the closing quote of a field", line);
					return false;
				}
			} else {
				for (; p < end && *p != ',' && *p != '\n' && *p != '\r'; p++) {
					if (*p == '"') {
						snprintf(msg, msglen, "line %d: a quote inside an unquoted field "
							 "(quote the whole field and double the quote)", line);
						return false;
					}
					*w++ = *p;
				}
			}
			*w++ = '\0';
			if (nf == CSV_FIELDS_MAX) {
				snprintf(msg, msglen, "line %d: more than %d fields", start_line, CSV_FIELDS_MAX);
				return false;
			}
			push_ptr(a, &fields, &nf, &fcap, field);
			if (p < end && *p == ',') {
				p++;
				continue;
			}
			break;
		}
		if (p < end && *p == '\r')
			p++;
		if (p < end && *p == '\n')
			p++;
		line++;
		if (blank)
			continue;
		out->total++;
		if (out->nrec < max)
			csv_store(a, out, start_line, fields, nf);
	}
	return true;
}

/* True if s is a JSON number (strtod alone would take hex, inf, spaces). */
static bool number_syntax(const char *s)
{
	s += *s == '-' || *s == '+';
	size_t n = strspn(s, "0123456789");
	if (n == 0)
		return false;
	s += n;
	if (*s == '.') {
		n = strspn(++s, "0123456789");
		if (n == 0)
			return false;
		s += n;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		s += *s == '-' || *s == '+';
		n = strspn(s, "0123456789");
		if (n == 0)
			return false;
		s += n;
	}
	return *s == '\0';
}

/* "a; b;c" as ["a","b","c"] (empty parts dropped). */
static cJSON *split_list(const char *s)
{
	cJSON *arr = cJSON_CreateArray();
	while (*s) {
		size_t n = strcspn(s, ";");
		const char *b = s, *e = s + n;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > b) {
			char part[1024];
			snprintf(part, sizeof(part), "%.*s", (int)(e - b), b);
			cJSON_AddItemToArray(arr, cJSON_CreateString(part));
		}
		s += n + (s[n] == ';');
	}
	return arr;
}

/*
 * A CSV cell as the JSON value its property takes: numbers for numeric
 * types, true/false/1/0 for booleans, JSON text for json, array and
 * geo_point, JSON text or a ;-separated list for multi_enum, the text
 * itself otherwise (decimals stay text: exact).  A cell that cannot be
 * converted stays text, so that the type's check reports it in its usual
 * words; only JSON text that does not parse fails here (NULL, msg).
 */
static cJSON *cell_value(const prop_t *p, const char *s, char *msg, size_t msglen)
{
	const char *tn = p->type->name;
	if (!strcmp(tn, "integer") || !strcmp(tn, "number") || !strcmp(tn, "percent"))
		return number_syntax(s) ? cJSON_CreateNumber(strtod(s, NULL)) : cJSON_CreateString(s);
	if (!strcmp(tn, "boolean")) {
		if (!strcasecmp(s, "true") || !strcmp(s, "1"))
			return cJSON_CreateTrue();
		if (!strcasecmp(s, "false") || !strcmp(s, "0"))
			return cJSON_CreateFalse();
		return cJSON_CreateString(s);
	}
	bool json = !strcmp(tn, "json") || !strcmp(tn, "array") || !strcmp(tn, "geo_point");
	if (!strcmp(tn, "multi_enum")) {
		if (s[strspn(s, " \t")] != '[')
			return split_list(s);
		json = true;
	}
	if (!json)
		return cJSON_CreateString(s);
	cJSON *v = cJSON_Parse(s);
	if (!v)
		snprintf(msg, msglen, "%s must be JSON text", p->name);
	return v;
}

/* ------------------------------------------------------------ import */

typedef struct import {
	req_t *r;
	const objtype_t *t;
	cJSON *errors;          /* the listed ones, owned by the request */
	int nlisted;
	int failed;             /* rows skipped */
	int nok;                /* rows ready to insert */
	int *ok_row;            /* their row numbers */
	char **ok_props;        /* and their properties JSON */
} import_t;

static void row_error(import_t *im, int row, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void row_error(import_t *im, int row, const char *field, const char *fmt, ...)
{
	if (im->nlisted == ERRORS_MAX)
		return;
	im->nlisted++;
	va_list ap;
	va_start(ap, fmt);
	char *msg = arena_vprintf(im->r->a, fmt, ap);
	va_end(ap);
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "row", row);
	if (field)
		cJSON_AddStringToObject(e, "field", field);
	else
		cJSON_AddNullToObject(e, "field");
	cJSON_AddStringToObject(e, "message", msg);
	cJSON_AddItemToArray(im->errors, e);
}

/*
 * Validates one row (a JSON object of property values) as a create would:
 * every member must be a property and pass its type's check, references
 * must exist in this tenant, missing properties take their default and
 * required ones must end up present; null means absent.  Every problem is
 * listed; a valid row is queued for insertion.  Returns an error only for
 * a failure of the database.
 */
static err_t row_validate(import_t *im, const cJSON *in, int row)
{
	req_t *r = im->r;
	const objtype_t *t = im->t;
	cJSON *props = cJSON_CreateObject();
	bool ok = true;
	err_t rc = E_OK;
	const cJSON *v;
	cJSON_ArrayForEach(v, in) {
		const prop_t *p = objtype_prop(t, v->string);
		if (!p) {
			row_error(im, row, v->string, "%s is not a property of %s", v->string, t->name);
			ok = false;
			continue;
		}
		cJSON_DeleteItemFromObjectCaseSensitive(props, p->name);
		if (cJSON_IsNull(v))
			continue;
		char msg[256];
		cJSON *norm = p->type->check(p, v, msg, sizeof(msg));
		if (!norm) {
			row_error(im, row, p->name, "%s", msg);
			ok = false;
			continue;
		}
		bool found;
		if ((rc = prop_target_exists(r, p, norm->valuestring, &found))) {
			cJSON_Delete(norm);
			goto out;
		}
		if (!found) {
			row_error(im, row, p->name, "%s: no %s %s in this tenant", p->name,
				  prop_target_noun(p), norm->valuestring);
			ok = false;
		}
		cJSON_AddItemToObject(props, p->name, norm);
	}
	for (int i = 0; i < t->nprops; i++) {
		const prop_t *p = &t->props[i];
		if (cJSON_GetObjectItemCaseSensitive(props, p->name))
			continue;
		if (p->default_value) {
			cJSON_AddItemToObject(props, p->name, cJSON_Duplicate(p->default_value, true));
		} else if (p->required) {
			row_error(im, row, p->name, "%s is required", p->name);
			ok = false;
		}
	}
	if (!ok) {
		im->failed++;
		goto out;
	}
	json_exact_numbers(props);
	char *text = cJSON_PrintUnformatted(props);
	im->ok_row[im->nok] = row;
	im->ok_props[im->nok++] = arena_strdup(r->a, text ? text : "{}");
	cJSON_free(text);
out:
	cJSON_Delete(props);
	return rc;
}

/* JSON rows: property maps, or objects as the API renders them (the
 * "properties" member is taken and the read-only members ignored), so
 * that an export reads back in. */
static err_t import_json(import_t *im, const cJSON *data)
{
	int row = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, data) {
		row++;
		if (!cJSON_IsObject(it)) {
			row_error(im, row, NULL, "each row must be a JSON object of property values");
			im->failed++;
			continue;
		}
		const cJSON *in = it;
		const cJSON *wrapped = cJSON_GetObjectItemCaseSensitive(it, "properties");
		if (cJSON_IsObject(wrapped) && !objtype_prop(im->t, "properties"))
			in = wrapped;
		err_t rc = row_validate(im, in, row);
		if (rc)
			return rc;
	}
	return E_OK;
}

/* Maps the header to properties: cols[i] is the property of column i, or
 * NULL for the read-only columns an export writes (id, created_at,
 * updated_at), which are ignored. */
static err_t csv_columns(import_t *im, const char *field, const csv_rec *h, const prop_t ***cols)
{
	req_t *r = im->r;
	*cols = arena_calloc(r->a, (size_t)h->nf, sizeof(prop_t *));
	for (int i = 0; i < h->nf; i++) {
		char *name = h->f[i];
		name += strspn(name, " \t");
		size_t n = strlen(name);
		while (n && (name[n - 1] == ' ' || name[n - 1] == '\t'))
			name[--n] = '\0';
		const prop_t *p = objtype_prop(im->t, name);
		if (!p && (!strcmp(name, "id") || !strcmp(name, "created_at") || !strcmp(name, "updated_at")))
			continue;
		if (!p)
			return req_fail_field(r, E_VALIDATION, field,
					      "%s line %d: column %d (\"%.60s\") is not a property of %s",
					      field, h->line, i + 1, name, im->t->name);
		for (int j = 0; j < i; j++)
			if ((*cols)[j] == p)
				return req_fail_field(r, E_VALIDATION, field,
						      "%s line %d: column %s appears twice", field, h->line, name);
		(*cols)[i] = p;
	}
	return E_OK;
}

static err_t import_csv(import_t *im, const char *field, const csv_t *c)
{
	req_t *r = im->r;
	const csv_rec *h = &c->rec[0];
	const prop_t **cols;
	err_t rc = csv_columns(im, field, h, &cols);
	if (rc)
		return rc;
	/* The shape of every record first: a ragged file is refused whole. */
	for (int i = 1; i < c->nrec; i++)
		if (c->rec[i].nf != h->nf)
			return req_fail_field(r, E_VALIDATION, field,
					      "%s line %d: the record has %d field%s where the header has %d",
					      field, c->rec[i].line, c->rec[i].nf, c->rec[i].nf == 1 ? "" : "s",
					      h->nf);
	for (int i = 1; i < c->nrec; i++) {
		const csv_rec *rec = &c->rec[i];
		cJSON *in = cJSON_CreateObject();
		bool ok = true;
		for (int j = 0; j < rec->nf; j++) {
			if (!cols[j] || !*rec->f[j])
				continue;
			char msg[256];
			cJSON *v = cell_value(cols[j], rec->f[j], msg, sizeof(msg));
			if (!v) {
				row_error(im, i, cols[j]->name, "%s", msg);
				ok = false;
				continue;
			}
			cJSON_AddItemToObject(in, cols[j]->name, v);
		}
		if (ok)
			rc = row_validate(im, in, i);
		else
			im->failed++;
		cJSON_Delete(in);
		if (rc)
			return rc;
	}
	return E_OK;
}

/* Inserts queued row k inside the open transaction.  A unique violation
 * is the row's error (*skipped); anything else fails the request. */
static err_t insert_row(import_t *im, int k, const char *now, bool *skipped)
{
	req_t *r = im->r;
	const objtype_t *t = im->t;
	char id[40];
	id_new(id, sizeof(id), "obj_");
	const char *text = im->ok_props[k];
	*skipped = false;
	enum db_status st = obj_insert_row(r, t, id, text, now);
	if (st == DB_DUPLICATE) {
		const char *name = obj_unique_prop(r, t);
		if (name)
			row_error(im, im->ok_row[k], name, "Another object already has this %s", name);
		else
			row_error(im, im->ok_row[k], NULL, "The object conflicts with an existing one");
		im->failed++;
		*skipped = true;
		return E_OK;
	}
	if (st)
		return req_db_error(r, st);
	cJSON *payload = cJSON_CreateObject();
	cJSON_AddStringToObject(payload, "object_type_id", t->id);
	cJSON_AddStringToObject(payload, "object_type", t->name);
	cJSON_AddStringToObject(payload, "object_id", id);
	cJSON_AddItemToObject(payload, "object",
			      object_json_new(r, t, id, text, now));
	err_t rc = outbox_add(r, "object.created", "object", id, payload);
	cJSON_Delete(payload);
	return rc;
}

/* Inserts the queued rows, IMPORT_BATCH per transaction. */
static err_t import_insert(import_t *im, int *imported)
{
	req_t *r = im->r;
	err_t rc = E_OK;
	*imported = 0;
	for (int b = 0; b < im->nok && !rc; b += IMPORT_BATCH) {
		enum db_status st = db_begin(r->db);
		if (st)
			return req_db_error(r, st);
		const char *now = obj_sql_now(r);
		int n = 0;
		for (int k = b; k < im->nok && k < b + IMPORT_BATCH && !rc; k++) {
			bool skipped;
			rc = insert_row(im, k, now, &skipped);
			n += !rc && !skipped;
		}
		if (rc) {
			db_rollback(r->db);
			break;
		}
		if ((st = db_commit(r->db))) {
			rc = req_db_error(r, st);
			break;
		}
		*imported += n;
	}
	if (*imported)
		obj_totals_drop(r, im->t);
	if (rc && *imported)
		log_warn("%s: import into %s stopped after %d rows were committed", r->request_id,
			 im->t->name, *imported);
	return rc;
}

/* The rows to import: data (an array, or the text of a JSON array) for
 * json; csv or data (CSV text) for csv. */
static err_t import_rows(req_t *r, import_t *im, bool is_csv, long long *total)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->json, "data");
	const cJSON *csv = cJSON_GetObjectItemCaseSensitive(r->json, "csv");
	if (!is_csv) {
		if (csv)
			return req_fail_field(r, E_VALIDATION, "csv", "csv goes with format csv");
		if (cJSON_IsString(data)) {
			data = req_own(r, cJSON_Parse(data->valuestring));
			if (!data)
				return req_fail_field(r, E_VALIDATION, "data", "data is not valid JSON text");
		}
		if (!cJSON_IsArray(data))
			return req_fail_field(r, E_VALIDATION, "data",
					      "data must be an array of rows (or the text of one)");
		*total = cJSON_GetArraySize(data);
		if (*total > IMPORT_MAX)
			return req_fail_field(r, E_VALIDATION, "data",
					      "data holds %lld rows; at most %d can be imported at once",
					      *total, IMPORT_MAX);
		return import_json(im, data);
	}
	const char *field = "csv";
	if (csv && data)
		return req_fail_field(r, E_VALIDATION, "data", "give the CSV text in csv or in data, not both");
	if (!csv) {
		csv = data;
		field = "data";
	}
	if (!cJSON_IsString(csv))
		return req_fail_field(r, E_VALIDATION, field, "%s must be the CSV text", field);
	csv_t c;
	char msg[160];
	if (!csv_parse(r->a, csv->valuestring, strlen(csv->valuestring), IMPORT_MAX + 1, &c, msg, sizeof(msg)))
		return req_fail_field(r, E_VALIDATION, field, "%s is not valid CSV: %s", field, msg);
	if (c.total == 0)
		return req_fail_field(r, E_VALIDATION, field, "%s needs a header row of property names", field);
	*total = c.total - 1;
	if (*total > IMPORT_MAX)
		return req_fail_field(r, E_VALIDATION, field,
				      "%s holds %lld rows; at most %d can be imported at once", field,
				      *total, IMPORT_MAX);
	return import_csv(im, field, &c);
}

static int row_cmp(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	double rx = cJSON_GetObjectItemCaseSensitive(x, "row")->valuedouble;
	double ry = cJSON_GetObjectItemCaseSensitive(y, "row")->valuedouble;
	return rx < ry ? -1 : rx > ry;
}

/* A copy of the errors in row order (unique conflicts are found after the
 * validation errors of later rows); the order within a row is kept. */
static cJSON *errors_by_row(const cJSON *errors)
{
	int n = cJSON_GetArraySize(errors), i = 0;
	const cJSON **v = calloc((size_t)(n ? n : 1), sizeof(*v));
	const cJSON *e;
	cJSON_ArrayForEach(e, errors)
		v[i++] = e;
	/* Insertion sort: stable, and the list is nearly sorted already. */
	for (i = 1; i < n; i++)
		for (int j = i; j > 0 && row_cmp(&v[j - 1], &v[j]) > 0; j--) {
			const cJSON *tmp = v[j];
			v[j] = v[j - 1];
			v[j - 1] = tmp;
		}
	cJSON *out = cJSON_CreateArray();
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(out, cJSON_Duplicate(v[i], true));
	free(v);
	return out;
}

static err_t import_objects(req_t *r, objtype_t *t, bool is_csv)
{
	err_t rc;
	import_t im = {
		.r = r, .t = t, .errors = req_own(r, cJSON_CreateArray()),
		.ok_row = arena_alloc(r->a, (IMPORT_MAX + 1) * sizeof(int)),
		.ok_props = arena_alloc(r->a, (IMPORT_MAX + 1) * sizeof(char *)),
	};
	long long total = 0;
	if ((rc = import_rows(r, &im, is_csv, &total)))
		return rc;
	int imported;
	if ((rc = import_insert(&im, &imported)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "imported", imported);
	cJSON_AddNumberToObject(d, "failed", im.failed);
	cJSON_AddNumberToObject(d, "total", (double)total);
	cJSON_AddItemToObject(d, "errors", errors_by_row(im.errors));
	reply_data(r, 200, d);
	return E_OK;
}

err_t data_import(req_t *r)
{
	return transfer(r, import_objects);
}

/* ------------------------------------------------------------ export */

/* The export file being written; the arena cleanup removes whatever a
 * failed export left (the temp file, or the file if never recorded). */
typedef struct expfile {
	FILE *f;
	char *tmp;       /* absolute */
	char *path;      /* absolute */
	bool renamed;
	bool kept;
} expfile_t;

static void expfile_cleanup(void *data)
{
	expfile_t *x = data;
	if (x->f)
		fclose(x->f);
	if (!x->renamed)
		unlink(x->tmp);
	else if (!x->kept)
		unlink(x->path);
}

static bool mkdir_ok(const char *dir, mode_t mode)
{
	return mkdir(dir, mode) == 0 || errno == EEXIST;
}

/* Creates <root>/<tenant>/exports and opens a fresh temp file there. */
static err_t expfile_open(req_t *r, const char *rel, expfile_t **out)
{
	const char *root = g_config.storage_root;
	char *tdir = arena_printf(r->a, "%s/%s", root, r->tenant.id);
	char *edir = arena_printf(r->a, "%s/exports", tdir);
	if (!mkdir_ok(root, 0700) || !mkdir_ok(tdir, 0750) || !mkdir_ok(edir, 0750)) {
		log_error("%s: cannot create %s: %s", r->request_id, edir, strerror(errno));
		return req_fail(r, E_INTERNAL, "Cannot write the export file");
	}
	expfile_t *x = arena_calloc(r->a, 1, sizeof(*x));
	x->path = arena_printf(r->a, "%s/%s", root, rel);
	x->tmp = arena_printf(r->a, "%s.tmp", x->path);
	int fd = open(x->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 || !(x->f = fdopen(fd, "w"))) {
		log_error("%s: cannot create %s: %s", r->request_id, x->tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return req_fail(r, E_INTERNAL, "Cannot write the export file");
	}
	arena_defer(r->a, expfile_cleanup, x);
	*out = x;
	return E_OK;
}

/* Flushes, syncs and renames the temp file into place. */
static err_t expfile_finish(req_t *r, expfile_t *x)
{
	bool ok = fflush(x->f) == 0 && !ferror(x->f) && fsync(fileno(x->f)) == 0;
	ok = fclose(x->f) == 0 && ok;
	x->f = NULL;
	if (ok && rename(x->tmp, x->path) == 0) {
		x->renamed = true;
		return E_OK;
	}
	log_error("%s: cannot write %s: %s", r->request_id, x->path, strerror(errno));
	return req_fail(r, E_INTERNAL, "Cannot write the export file");
}

/* One CSV field, quoted when it holds a separator, quote or line break. */
static void csv_put(FILE *f, const char *s, bool first)
{
	if (!first)
		fputc(',', f);
	if (!s[strcspn(s, ",\"\r\n")]) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* A property value as CSV cell text: strings as they are, numbers exact,
 * booleans true/false, documents as JSON text, absent empty. */
static void csv_put_value(FILE *f, cJSON *v)
{
	char buf[40];
	if (!v || cJSON_IsNull(v)) {
		csv_put(f, "", false);
	} else if (cJSON_IsString(v)) {
		csv_put(f, v->valuestring, false);
	} else if (cJSON_IsBool(v)) {
		csv_put(f, cJSON_IsTrue(v) ? "true" : "false", false);
	} else if (cJSON_IsNumber(v)) {
		json_number_text(buf, sizeof(buf), v->valuedouble);
		csv_put(f, buf, false);
	} else {
		json_exact_numbers(v);
		char *s = cJSON_PrintUnformatted(v);
		csv_put(f, s ? s : "", false);
		cJSON_free(s);
	}
}

static void csv_put_row(FILE *f, const objtype_t *t, const db_result *res, int i)
{
	char ts[RFC3339_LEN];
	csv_put(f, db_get(res, i, "id"), true);
	csv_put(f, time_from_sql(ts, db_get(res, i, "created_at")), false);
	csv_put(f, time_from_sql(ts, db_get(res, i, "updated_at")), false);
	const char *text = db_get(res, i, "properties");
	cJSON *props = text ? cJSON_Parse(text) : NULL;
	for (int k = 0; k < t->nprops; k++)
		csv_put_value(f, cJSON_GetObjectItemCaseSensitive(props, t->props[k].name));
	cJSON_Delete(props);
	fputs("\r\n", f);
}

static void json_put_row(req_t *r, FILE *f, const objtype_t *t, const db_result *res, int i, bool first)
{
	cJSON *o = object_json(r, t, res, i);
	char *s = cJSON_PrintUnformatted(o);
	fputs(first ? "\n" : ",\n", f);
	fputs(s ? s : "{}", f);
	cJSON_free(s);
	cJSON_Delete(o);
}

/* Writes every live object, EXPORT_PAGE at a time by id, each page in a
 * scratch arena so that memory does not grow with the export. */
static err_t export_write(req_t *r, const objtype_t *t, bool is_csv, FILE *f, long long *count)
{
	arena_t *page = arena_new(1 << 16);
	arena_defer(r->a, (arena_cleanup_fn)arena_free, page);
	if (is_csv) {
		fputs("id,created_at,updated_at", f);
		for (int k = 0; k < t->nprops; k++)
			csv_put(f, t->props[k].name, false);
		fputs("\r\n", f);
	} else {
		fputc('[', f);
	}
	const char *sql_first = arena_printf(r->a, "SELECT " OBJ_COLS " FROM %s WHERE is_deleted = 0 "
					     "ORDER BY id LIMIT ?", t->table);
	const char *sql_next = arena_printf(r->a, "SELECT " OBJ_COLS " FROM %s WHERE is_deleted = 0 "
					    "AND id > ? ORDER BY id LIMIT ?", t->table);
	char last[64] = "";
	*count = 0;
	for (;;) {
		arena_reset(page);
		db_param p[] = { db_str(last), db_int(EXPORT_PAGE) };
		db_result *res;
		enum db_status st = *last ? db_exec(r->db, page, sql_next, p, 2, &res)
					  : db_exec(r->db, page, sql_first, p + 1, 1, &res);
		if (st)
			return req_db_error(r, st);
		for (int i = 0; i < res->nrows; i++) {
			if (is_csv)
				csv_put_row(f, t, res, i);
			else
				json_put_row(r, f, t, res, i, *count == 0);
			++*count;
		}
		if (res->nrows < EXPORT_PAGE)
			break;
		snprintf(last, sizeof(last), "%s", db_get(res, res->nrows - 1, "id"));
	}
	if (!is_csv)
		fputs(*count ? "\n]\n" : "]\n", f);
	return E_OK;
}

static err_t export_record(req_t *r, const objtype_t *t, const char *id, bool is_csv,
			   long long count, const char *rel, const char *now)
{
	db_param p[] = { db_str(id), db_str(t->id), db_str(t->name), db_str(is_csv ? "csv" : "json"),
			 db_int(count), db_str(rel), db_str(obj_actor(r)), db_str(now) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, object_type_id, object_type, format, record_count, path, "
		"created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", tenant_table(r, "_exports")),
		p, 8, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* Counts, writes and records the export inside one snapshot. */
static err_t export_run(req_t *r, const objtype_t *t, bool is_csv, const char *id,
			const char *rel, long long *count)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE is_deleted = 0", t->table), NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	long long n = strtoll(db_cell(res, 0, 0), NULL, 10);
	if (n > EXPORT_MAX)
		return req_fail_field(r, E_VALIDATION, "object_type_id",
				      "%s has %lld objects; at most %d can be exported", t->name, n,
				      EXPORT_MAX);
	expfile_t *x = NULL;
	err_t rc;
	if ((rc = expfile_open(r, rel, &x)) || (rc = export_write(r, t, is_csv, x->f, count)) ||
	    (rc = expfile_finish(r, x)) || (rc = export_record(r, t, id, is_csv, *count, rel, obj_sql_now(r))))
		return rc;
	if ((st = db_commit(r->db)))
		return req_db_error(r, st);
	x->kept = true;
	return E_OK;
}

static err_t export_objects(req_t *r, objtype_t *t, bool is_csv)
{
	err_t rc;
	char id[40];
	id_new(id, sizeof(id), "exp_");
	const char *ext = is_csv ? "csv" : "json";
	char *rel = arena_printf(r->a, "%s/exports/%s.%s", r->tenant.id, id, ext);
	/* The count, the rows and the record see one snapshot. */
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	long long count = 0;
	if ((rc = export_run(r, t, is_csv, id, rel, &count))) {
		if (db_in_transaction(r->db))
			db_rollback(r->db);
		return rc;
	}
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "export_id", id);
	cJSON_AddStringToObject(d, "object_type_id", t->id);
	cJSON_AddStringToObject(d, "format", ext);
	cJSON_AddNumberToObject(d, "record_count", (double)count);
	cJSON_AddStringToObject(d, "download_path", arena_printf(r->a, "/v1/data/export/%s", id));
	reply_data(r, 200, d);
	return E_OK;
}

err_t data_export(req_t *r)
{
	return transfer(r, export_objects);
}

/*
 * Authorizes a download and hands it to nginx: X-Accel-Redirect names the
 * file under the internal /_tessera/exports/ location (an alias of the
 * storage root); nginx keeps this answer's Content-Type and
 * Content-Disposition and streams the file.
 */
err_t data_export_get(req_t *r)
{
	if (req_end_user(r))
		return req_fail(r, E_FORBIDDEN, "No row-level policy allows end users to download exports");
	const char *id = req_param(r, "export_id");
	if (!id || !id_valid(id, "exp_"))
		return req_fail(r, E_NOT_FOUND, "Export not found");
	db_param p[] = { db_str(id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT object_type, format, path FROM %s WHERE id = ?", tenant_table(r, "_exports")),
		p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Export not found");
	const char *type = db_get(res, 0, "object_type"), *format = db_get(res, 0, "format");
	const char *rel = db_get(res, 0, "path");
	/* The path was made here; still, it must stay inside this tenant's
	 * exports. */
	const char *prefix = arena_printf(r->a, "%s/exports/", r->tenant.id);
	if (!rel || strncmp(rel, prefix, strlen(prefix)) || strstr(rel, "..") ||
	    rel[strspn(rel, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-")])
		return req_fail(r, E_INTERNAL, "The export record is damaged");
	struct stat sb;
	if (stat(arena_printf(r->a, "%s/%s", g_config.storage_root, rel), &sb) != 0)
		return req_fail(r, E_NOT_FOUND, "The export file no longer exists");
	bool is_csv = format && !strcmp(format, "csv");
	reply_header(r, "X-Accel-Redirect", arena_printf(r->a, "/_tessera/exports/%s", rel));
	reply_header(r, "Content-Disposition", arena_printf(r->a, "attachment; filename=\"%s-%s.%s\"",
							    type, id, is_csv ? "csv" : "json"));
	/* (JSON answers get Cache-Control: no-store from the pipeline.) */
	if (is_csv)
		reply_header(r, "Cache-Control", "no-store");
	reply_raw(r, 200, is_csv ? "text/csv; charset=utf-8" : "application/json", "", 0);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t dataio_routes[] = {
	ROUTE("GET", "/v1/data/export/:export_id", "Import / Export", AUTH_BEARER, "read", NULL, 0, data_export_get, NULL, "Download export"),
	ROUTE("POST", "/v1/data/import", "Import / Export", AUTH_BEARER, "write", NULL, 0, data_import, import_body, "Import data"),
	ROUTE("POST", "/v1/data/export", "Import / Export", AUTH_BEARER, "read", NULL, 0, data_export, export_body, "Start data export"),
	ROUTES_END,
};
