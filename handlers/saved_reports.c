/*
 * saved_reports.c - saved reports: a named report request (type funnel,
 * leaderboard, pipeline, timeseries or objects, and its config_json) on
 * the engine; run stores a snapshot of the result (last_result, its time
 * and duration), export runs it and answers a file: CSV, the result's
 * JSON, or an XLSX workbook (libxlsxwriter: numbers and decimal money as
 * numeric cells, a bold header).
 *
 * A result becomes a table the same way for every format: its one array
 * (entries, stages, series, steps, rows) gives the rows; members holding
 * an object (an object's properties) spread into columns of their own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "../common/csvout.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/strbuf.h"
#include "../common/timefmt.h"
#include "../fcgi/journal.h"
#include "reports.h"
#include "routes.h"

static const char *const report_types[] = { "funnel", "leaderboard", "pipeline", "timeseries",
					    "objects", NULL };

/* --------------------------------------------------------------- resource */

/* The request must run: checked by running it (its errors name
 * config_json.<member>). */
static err_t saved_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *sched = cJSON_GetObjectItemCaseSensitive(c->body, "schedule");
	if (sched && !cJSON_IsNull(sched))
		return req_fail_field(r, E_VALIDATION, "schedule",
				      "Scheduled delivery is not available yet: run and export on demand "
				      "(POST …/run, GET …/export)");
	return report_check_request(r, c, NULL);
}

static const res_field_t saved_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_SORT, .min = 1, .max = 255 },
	{ .name = "description", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 2000 },
	{ .name = "type", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_REQUIRED | RF_FILTER,
	  .values = report_types },
	{ .name = "config_json", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_WRITABLE | RF_REQUIRED },
	{ .name = "schedule", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 128 },
	{ .name = "last_result", .type = COL_JSON },
	{ .name = "last_run_at", .type = COL_TIME },
	{ .name = "last_duration_ms", .type = COL_INT },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

static const res_hooks_t saved_hooks = { .validate = saved_validate };

static const resource_t saved_res = {
	.name = "Saved report", .type = "saved_report", .table = "_saved_reports", .home = RES_TENANT,
	.id_param = "report_id", .id_prefix = "srep_", .fields = saved_fields,
	.order = "created_at DESC", .title = "name", .flags = RES_CREATED_BY, .deleted_id = "id",
	.hooks = &saved_hooks,
	.example = "{\"name\":\"Probes per day\",\"type\":\"timeseries\","
		   "\"config_json\":{\"object_type_id\":\"probe\",\"interval\":\"day\"}}",
};

/* ------------------------------------------------------------------- run */

/* Runs the saved report of the path, storing the snapshot if store; *row
 * is the saved report as it now is, *result the result. */
static err_t saved_run(req_t *r, bool store, cJSON **row, cJSON **result)
{
	res_ctx_t c;
	cJSON *saved;
	err_t rc = resource_ctx(r, &saved_res, OP_GET, &c);
	if (rc || (rc = resource_fetch(r, &c, req_param(r, "report_id"), false, &saved)))
		return rc;
	cJSON *spec = req_own(r, cJSON_Parse(req_json_text(r,
		cJSON_GetObjectItemCaseSensitive(saved, "config_json"))));
	long long t0 = time_now_ms();
	if ((rc = report_run(r, json_str_of(saved, "type"), spec, "config_json.", result)))
		return rc;
	long long ms = time_now_ms() - t0;
	*row = saved;
	if (!store)
		return E_OK;
	db_param p[] = { db_str(req_json_text(r, *result)), db_int(ms), db_str(json_str_of(saved, "id")) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"UPDATE %s SET last_result = ?, last_run_at = UTC_TIMESTAMP(3), last_duration_ms = ? "
		"WHERE id = ?", tenant_table(r, "_saved_reports")), p, 3, NULL);
	if (st)
		return req_db_error(r, st);
	return resource_fetch(r, &c, json_str_of(saved, "id"), false, row);
}

static err_t saved_reports_run(req_t *r)
{
	cJSON *row, *result;
	err_t rc = saved_run(r, true, &row, &result);
	if (rc)
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "report_id", json_str_of(row, "id"));
	cJSON_AddItemToObject(d, "result", cJSON_Duplicate(result, true));
	cJSON_AddItemToObject(d, "ran_at", cJSON_Duplicate(cJSON_GetObjectItem(row, "last_run_at"), true));
	cJSON_AddItemToObject(d, "duration_ms",
			      cJSON_Duplicate(cJSON_GetObjectItem(row, "last_duration_ms"), true));
	reply_data(r, 200, d);
	return E_OK;
}

/* ---------------------------------------------------------------- tables */

/* A result as a table: the header (column names) and the rows (arrays of
 * cells), owned by r. */
typedef struct table {
	cJSON *header;
	cJSON *rows;
} table_t;

static void table_add_column(table_t *t, const char *name)
{
	const cJSON *h;
	cJSON_ArrayForEach(h, t->header)
		if (!strcmp(h->valuestring, name))
			return;
	cJSON_AddItemToArray(t->header, cJSON_CreateString(name));
}

/* The cell of column name in row o (an object's members spread). */
static const cJSON *row_cell(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name), *m;
	if (v)
		return v;
	cJSON_ArrayForEach(m, o)
		if (cJSON_IsObject(m) && (v = cJSON_GetObjectItemCaseSensitive(m, name)))
			return v;
	return NULL;
}

static void table_of(req_t *r, const cJSON *result, table_t *t)
{
	t->header = req_own(r, cJSON_CreateArray());
	t->rows = req_own(r, cJSON_CreateArray());
	const cJSON *rows = NULL, *m, *o, *k;
	cJSON_ArrayForEach(m, result)
		if (cJSON_IsArray(m) && !rows)
			rows = m;
	cJSON *single = NULL;
	if (!rows) {   /* a metric: the result is the one row */
		single = req_own(r, cJSON_CreateArray());
		cJSON_AddItemToArray(single, cJSON_Duplicate(result, true));
		rows = single;
	}
	cJSON_ArrayForEach(o, rows)
		cJSON_ArrayForEach(m, o) {
			if (!cJSON_IsObject(m)) {
				if (strcmp(m->string, "object_type_id"))
					table_add_column(t, m->string);
				continue;
			}
			cJSON_ArrayForEach(k, m)
				table_add_column(t, k->string);
		}
	cJSON_ArrayForEach(o, rows) {
		cJSON *row = cJSON_CreateArray();
		cJSON_ArrayForEach(k, t->header) {
			const cJSON *v = row_cell(o, k->valuestring);
			cJSON_AddItemToArray(row, v ? cJSON_Duplicate(v, true) : cJSON_CreateNull());
		}
		cJSON_AddItemToArray(t->rows, row);
	}
}

static char *table_csv(req_t *r, const table_t *t)
{
	strbuf_t b = { 0 };
	const cJSON *h, *row, *v;
	cJSON_ArrayForEach(h, t->header)
		csv_field(&b, h->valuestring, h == t->header->child);
	sb_puts(&b, "\r\n");
	cJSON_ArrayForEach(row, t->rows) {
		cJSON_ArrayForEach(v, row)
			csv_value(&b, v, v == row->child);
		sb_puts(&b, "\r\n");
	}
	return sb_take(&b, r->a);
}

/* A decimal string (money) is a number cell too. */
static bool numeric_text(const char *s, double *d)
{
	char *end;
	if (!*s || strspn(s, "-0123456789.") != strlen(s))
		return false;
	*d = strtod(s, &end);
	return !*end;
}

static void xlsx_cell(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const cJSON *v,
		      lxw_format *money)
{
	double d;
	if (cJSON_IsNumber(v))
		worksheet_write_number(ws, row, col, v->valuedouble, NULL);
	else if (cJSON_IsRaw(v) && numeric_text(v->valuestring, &d))
		worksheet_write_number(ws, row, col, d, NULL);
	else if (cJSON_IsString(v) && numeric_text(v->valuestring, &d))
		worksheet_write_number(ws, row, col, d, money);
	else if (cJSON_IsString(v))
		worksheet_write_string(ws, row, col, v->valuestring, NULL);
	else if (cJSON_IsBool(v))
		worksheet_write_boolean(ws, row, col, cJSON_IsTrue(v), NULL);
	else if (!cJSON_IsNull(v)) {
		char *s = cJSON_PrintUnformatted(v);
		worksheet_write_string(ws, row, col, s ? s : "", NULL);
		cJSON_free(s);
	}
}

/* The table as an XLSX workbook (written to a temporary file, which
 * libxlsxwriter needs, read back and removed); NULL on failure. */
static char *table_xlsx(req_t *r, const table_t *t, const char *sheet, size_t *len)
{
	char path[] = "/tmp/tessera-xlsx-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	close(fd);
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *ws = wb ? workbook_add_worksheet(wb, sheet) : NULL;
	char *out = NULL;
	if (ws) {
		lxw_format *bold = workbook_add_format(wb), *money = workbook_add_format(wb);
		format_set_bold(bold);
		format_set_num_format(money, "#,##0.00##");
		lxw_col_t col = 0;
		const cJSON *h, *row, *v;
		cJSON_ArrayForEach(h, t->header)
			worksheet_write_string(ws, 0, col++, h->valuestring, bold);
		lxw_row_t n = 1;
		cJSON_ArrayForEach(row, t->rows) {
			col = 0;
			cJSON_ArrayForEach(v, row)
				xlsx_cell(ws, n, col++, v, money);
			n++;
		}
	}
	if (wb && workbook_close(wb) == LXW_NO_ERROR) {
		FILE *f = fopen(path, "rb");
		struct stat st;
		if (f && fstat(fileno(f), &st) == 0 && st.st_size > 0) {
			out = arena_alloc(r->a, (size_t)st.st_size);
			*len = fread(out, 1, (size_t)st.st_size, f);
		}
		if (f)
			fclose(f);
	}
	unlink(path);
	return out;
}

/* -------------------------------------------------------------- export */

/* Runs the report now (the stored snapshot is run's) and answers the file:
 * ?format=csv (default), json or xlsx. */
static err_t saved_reports_export(req_t *r)
{
	const char *format = req_query(r, "format");
	if (!format)
		format = "csv";
	if (strcmp(format, "csv") && strcmp(format, "json") && strcmp(format, "xlsx"))
		return req_fail_field(r, E_VALIDATION, "format", "format must be csv, json or xlsx");
	cJSON *row, *result;
	err_t rc = saved_run(r, false, &row, &result);
	if (rc)
		return rc;
	const char *id = json_str_of(row, "id");
	reply_header(r, "Content-Disposition",
		     arena_printf(r->a, "attachment; filename=\"%s.%s\"", id, format));
	if (!strcmp(format, "json")) {
		const char *text = req_json_text(r, result);
		reply_raw(r, 200, "application/json", text, strlen(text));
		return E_OK;
	}
	table_t t;
	table_of(r, result, &t);
	if (!strcmp(format, "csv")) {
		const char *text = table_csv(r, &t);
		reply_raw(r, 200, "text/csv; charset=utf-8", text, strlen(text));
		return E_OK;
	}
	size_t len = 0;
	char *xlsx = table_xlsx(r, &t, json_str_of(row, "type"), &len);
	if (!xlsx) {
		log_error("%s: cannot write the XLSX export: %s", r->request_id, strerror(errno));
		return req_fail(r, E_INTERNAL, "The workbook cannot be written");
	}
	reply_raw(r, 200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx,
		  len);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t saved_reports_routes[] = {
	CRUD("GET", "/v1/saved-reports", "Saved Reports", "read", NULL, 0, saved_res, OP_LIST, "List saved reports"),
	CRUD("POST", "/v1/saved-reports", "Saved Reports", "write", NULL, 0, saved_res, OP_CREATE, "Create saved report"),
	CRUD("GET", "/v1/saved-reports/:report_id", "Saved Reports", "read", NULL, 0, saved_res, OP_GET, "Get saved report"),
	CRUD("PATCH", "/v1/saved-reports/:report_id", "Saved Reports", "write", NULL, 0, saved_res, OP_UPDATE, "Update saved report"),
	CRUD("DELETE", "/v1/saved-reports/:report_id", "Saved Reports", "write", NULL, 0, saved_res, OP_DELETE, "Delete saved report"),
	ROUTE("GET", "/v1/saved-reports/:report_id/export", "Saved Reports", AUTH_BEARER, "read", NULL, 0, saved_reports_export, NULL, "Export saved report"),
	ROUTE("POST", "/v1/saved-reports/:report_id/run", "Saved Reports", AUTH_BEARER, "write", NULL, 0, saved_reports_run, NULL, "Run saved report"),
	ROUTES_END,
};
