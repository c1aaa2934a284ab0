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
 *
 * A report with a `schedule` (cron, in its `timezone`) is delivered to its
 * `recipients`: the export in `export_format` attached to an email.  The
 * control DB's report_schedules indexes the scheduled reports of every
 * tenant (kept in step by the resource hooks, in the write's
 * transaction); the runner holding the scheduler lease moves each due
 * entry to its next occurrence and enqueues one saved_report.deliver job
 * per occurrence (its dedupe key), which runs the report, stores the
 * snapshot and enqueues the email.send job (the mailer's retries).  After
 * downtime the missed occurrences make one delivery, not one each.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <xlsxwriter.h>

#include "../common/cron.h"
#include "../common/csvout.h"
#include "../common/datatypes.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/mailer.h"
#include "../common/migrate.h"
#include "../common/strbuf.h"
#include "../common/timefmt.h"
#include "../fcgi/credentials.h"
#include "../fcgi/jobs.h"
#include "../fcgi/fanout.h"
#include "../fcgi/journal.h"
#include "identity_admin.h"
#include "reports.h"
#include "routes.h"

#define DELIVER_KIND "saved_report.deliver"
#define RECIPIENTS_MAX 50
#define DELIVER_MAIL_ATTEMPTS 10

static const char *const report_types[] = { "funnel", "leaderboard", "pipeline", "timeseries",
					    "objects", NULL };

/* --------------------------------------------------------------- resource */

static const char *const export_formats[] = { "csv", "xlsx", "json", NULL };

static err_t check_schedule(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	cron_t c;
	char err[200];
	if (cron_parse(v->valuestring, &c, err, sizeof(err)))
		return req_fail_field(r, E_VALIDATION, "schedule", "schedule must be a cron expression "
				      "(minute hour day month weekday): %s", err);
	return E_OK;
}

static err_t check_timezone(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	if (!cron_tz_valid(v->valuestring))
		return req_fail_field(r, E_VALIDATION, "timezone",
				      "timezone must be an IANA time zone such as UTC or America/New_York");
	return E_OK;
}

static err_t check_recipients(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	const cJSON *it;
	int i = 0;
	cJSON_ArrayForEach(it, v) {
		if (!email_address_valid(it->valuestring))
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "recipients[%d]", i),
					      "\"%.80s\" is not a valid email address", it->valuestring);
		i++;
	}
	return E_OK;
}

/* The member the body gives (JSON null counts), else the row's. */
static const cJSON *member(const res_ctx_t *c, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, name);
	return v ? v : cJSON_GetObjectItemCaseSensitive(c->before, name);
}

static char *sql_time(arena_t *a, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	return arena_printf(a, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The occurrence of schedule (in tz) after now as SQL text, NULL if none. */
static char *schedule_next(arena_t *a, const char *schedule, const char *tz)
{
	cron_t c;
	char err[200];
	time_t next;
	if (!schedule || cron_parse(schedule, &c, err, sizeof(err)) ||
	    cron_next(&c, tz ? tz : "UTC", time(NULL), &next))
		return NULL;
	return sql_time(a, next);
}

/* A schedule needs recipients and an occurrence; next_run_at follows
 * the schedule and its time zone. */
static err_t schedule_plan(req_t *r, res_ctx_t *c)
{
	const cJSON *sched = member(c, "schedule"), *tz = member(c, "timezone");
	const cJSON *to = member(c, "recipients");
	if (!cJSON_IsString(sched)) {
		if (c->op == OP_UPDATE && cJSON_GetObjectItemCaseSensitive(c->body, "schedule"))
			resource_set(c, "next_run_at", db_null());
		return E_OK;
	}
	if (cJSON_GetArraySize(to) < 1)
		return req_fail_field(r, E_VALIDATION, "recipients",
				      "A schedule needs recipients: 1 to %d email addresses", RECIPIENTS_MAX);
	char *next = schedule_next(r->a, sched->valuestring, cJSON_IsString(tz) ? tz->valuestring : NULL);
	if (!next)
		return req_fail_field(r, E_VALIDATION, "schedule",
				      "schedule never matches a date (within five years)");
	if (c->op == OP_CREATE || cJSON_GetObjectItemCaseSensitive(c->body, "schedule") ||
	    cJSON_GetObjectItemCaseSensitive(c->body, "timezone"))
		resource_set(c, "next_run_at", db_str(next));
	return E_OK;
}

/* The request must run: checked by running it (its errors name
 * config_json.<member>). */
static err_t saved_validate(req_t *r, res_ctx_t *c)
{
	err_t rc = schedule_plan(r, c);
	return rc ? rc : report_check_request(r, c, NULL);
}

/* Keeps the control DB's index of scheduled reports in step with the row
 * (same transaction). */
static err_t saved_after_write(req_t *r, res_ctx_t *c)
{
	db_param p[] = { db_str(r->tenant.id), db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, "DELETE FROM report_schedules WHERE tenant_id = ? AND "
				    "report_id = ?", p, 2, NULL);
	if (!st && c->op != OP_DELETE)
		st = db_exec(r->db, r->a, arena_printf(r->a,
			"INSERT INTO report_schedules (tenant_id, report_id, next_run_at) SELECT ?, id, "
			"next_run_at FROM %s WHERE id = ? AND schedule IS NOT NULL AND next_run_at IS NOT NULL",
			tenant_table(r, "_saved_reports")), p, 2, NULL);
	return st ? req_db_error(r, st) : E_OK;
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
	  .min = 1, .max = 128, .check = check_schedule },
	{ .name = "timezone", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE, .min = 1,
	  .max = 64, .check = check_timezone },
	{ .name = "recipients", .type = COL_JSON, .in = FT_STRING_ARRAY,
	  .flags = RF_WRITABLE | RF_NULLABLE, .max = RECIPIENTS_MAX, .check = check_recipients },
	{ .name = "export_format", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE,
	  .values = export_formats },
	{ .name = "next_run_at", .type = COL_TIME },
	{ .name = "last_sent_at", .type = COL_TIME },
	{ .name = "last_result", .type = COL_JSON },
	{ .name = "last_run_at", .type = COL_TIME },
	{ .name = "last_duration_ms", .type = COL_INT },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

static const res_hooks_t saved_hooks = { .validate = saved_validate,
					 .after_write = saved_after_write };

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

/* One export: bytes and MIME type, owned by the request. */
typedef struct export_file {
	const char *data;
	size_t len;
	const char *type;
} export_file_t;

/* result in format (csv, json or xlsx; sheet names the workbook's sheet). */
static err_t export_make(req_t *r, const char *format, const char *sheet, const cJSON *result,
			 export_file_t *f)
{
	if (!strcmp(format, "json")) {
		f->data = req_json_text(r, result);
		f->len = strlen(f->data);
		f->type = "application/json";
		return E_OK;
	}
	table_t t;
	table_of(r, result, &t);
	if (!strcmp(format, "csv")) {
		f->data = table_csv(r, &t);
		f->len = strlen(f->data);
		f->type = "text/csv; charset=utf-8";
		return E_OK;
	}
	size_t len = 0;
	char *xlsx = table_xlsx(r, &t, sheet, &len);
	if (!xlsx) {
		log_error("%s: cannot write the XLSX export: %s", r->request_id, strerror(errno));
		return req_fail(r, E_INTERNAL, "The workbook cannot be written");
	}
	f->data = xlsx;
	f->len = len;
	f->type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
	return E_OK;
}

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
	export_file_t f;
	err_t rc = saved_run(r, false, &row, &result);
	if (rc || (rc = export_make(r, format, json_str_of(row, "type"), result, &f)))
		return rc;
	reply_header(r, "Content-Disposition", arena_printf(r->a, "attachment; filename=\"%s.%s\"",
							    json_str_of(row, "id"), format));
	reply_raw(r, 200, f.type, f.data, f.len);
	return E_OK;
}

/* ------------------------------------------------------ scheduled delivery */

/* One due entry of the index: its next occurrence, and a deliver job for
 * this one (dedupe key: report and occurrence), in one transaction; the
 * next_run_at read must still be there (another scheduler that got there
 * first leaves nothing to do).  An entry whose tenant or schedule is gone
 * is dropped. */
static enum db_status tick_one(db_t *db, arena_t *a, const db_result *due, int i)
{
	const char *tenant = db_get(due, i, "tenant_id"), *id = db_get(due, i, "report_id");
	const char *at = db_get(due, i, "next_run_at"), *dbn = db_get(due, i, "db_name");
	db_param key[] = { db_str(tenant), db_str(id), db_null(), db_str(at) };
	db_result *rep = NULL;
	enum db_status st = DB_OK;
	if (dbn && ident_ok(dbn))
		st = db_exec(db, a, arena_printf(a, "SELECT schedule, timezone FROM `%s`.`_saved_reports` "
			     "WHERE id = ? AND schedule IS NOT NULL", dbn), key + 1, 1, &rep);
	if (st)
		return st;
	const char *next = rep && rep->nrows ? schedule_next(a, db_cell(rep, 0, 0), db_cell(rep, 0, 1))
					     : NULL;
	if (!next)
		return db_exec(db, a, "DELETE FROM report_schedules WHERE tenant_id = ? AND report_id = ? "
			       "AND next_run_at = ?", (db_param[]){ key[0], key[1], key[3] }, 3, NULL);
	key[2] = db_str(next);
	if ((st = db_begin(db)))
		return st;
	db_result *upd;
	st = db_exec(db, a, "UPDATE report_schedules SET next_run_at = ? WHERE tenant_id = ? AND "
		     "report_id = ? AND next_run_at = ?", (db_param[]){ key[2], key[0], key[1], key[3] },
		     4, &upd);
	if (!st && upd->affected == 1)
		st = db_exec(db, a, arena_printf(a, "UPDATE `%s`.`_saved_reports` SET next_run_at = ? "
			     "WHERE id = ?", dbn), (db_param[]){ key[2], key[1] }, 2, NULL);
	if (!st && upd->affected == 1) {
		char job[40];
		cJSON *payload = cJSON_CreateObject();
		cJSON_AddStringToObject(payload, "report_id", id);
		cJSON_AddStringToObject(payload, "scheduled_for", at);
		st = jobs_enqueue_unique(db, a, tenant, DELIVER_KIND, payload, 0, 0,
					 arena_printf(a, "%s:%s:%s", DELIVER_KIND, id, at), job);
		cJSON_Delete(payload);
		if (st == DB_DUPLICATE)
			st = DB_OK;
		else if (!st)
			log_info("scheduler: saved report %s due %s: job %s", id, at, job);
	}
	if (st) {
		db_rollback(db);
		return st;
	}
	return db_commit(db);
}

static void saved_schedule_tick(db_t *db, cache_t *cache, arena_t *a)
{
	(void)cache;
	db_result *due;
	/* report_schedules is on each data server, tenants on the primary. */
	if (db_exec(db, a, "SELECT s.tenant_id, s.report_id, s.next_run_at, NULL AS db_name FROM "
		    "report_schedules s WHERE "
		    "s.next_run_at <= UTC_TIMESTAMP(3) ORDER BY s.next_run_at LIMIT 100", NULL, 0, &due))
		return;
	for (int i = 0; i < due->nrows; i++) {
		const char *dbn = NULL;
		if (tenant_db_of(db, a, db_get(due, i, "tenant_id"), &dbn))
			return;
		due->cells[i * due->ncols + 3] = (char *)dbn;
	}
	for (int i = 0; i < due->nrows; i++)
		if (tick_one(db, a, due, i))
			log_warn("scheduler: saved report %s: %s", db_get(due, i, "report_id"),
				 db_last_error(db));
}

/* The email of one delivery: the export attached, the text and HTML in
 * the tenant's branding. */
static err_t deliver_mail(req_t *r, const cJSON *row, const export_file_t *f, const char *format,
			  const char *occurrence)
{
	const char *name = json_str_of(row, "name"), *id = json_str_of(row, "id");
	const char *subject = arena_printf(r->a, "Report: %s", name);
	const char *text = arena_printf(r->a, "The saved report \"%s\" ran at %s UTC (schedule %s). "
					"Its %s export is attached.", name, occurrence,
					json_str_of(row, "schedule"), format);
	const char *from_name;
	char *html;
	err_t rc = mail_branded(r, subject, text, NULL, &from_name, &html);
	if (rc)
		return rc;
	size_t b64len = sodium_base64_ENCODED_LEN(f->len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = arena_alloc(r->a, b64len);
	sodium_bin2base64(b64, b64len, (const unsigned char *)f->data, f->len,
			  sodium_base64_VARIANT_ORIGINAL);
	cJSON *p = req_own(r, cJSON_CreateObject());
	cJSON_AddItemToObject(p, "to", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(row, "recipients"), true));
	cJSON_AddStringToObject(p, "from_name", from_name);
	cJSON_AddStringToObject(p, "subject", subject);
	cJSON_AddStringToObject(p, "text", text);
	cJSON_AddStringToObject(p, "html", html);
	cJSON_AddStringToObject(p, "message_id", mail_message_id(r->a));
	cJSON *att = cJSON_CreateObject();
	cJSON_AddStringToObject(att, "filename", arena_printf(r->a, "%s.%s", id, format));
	cJSON_AddStringToObject(att, "content_type", strcmp(format, "csv") ? f->type : "text/csv");
	cJSON_AddStringToObject(att, "content", b64);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(p, "attachments"), att);
	char job[40];
	enum db_status st = jobs_enqueue_unique(r->db, r->a, r->tenant.id, "email.send", p,
						DELIVER_MAIL_ATTEMPTS, 0, arena_printf(r->a,
						"%s:mail:%s:%s", DELIVER_KIND, id, occurrence), job);
	return st && st != DB_DUPLICATE ? req_db_error(r, st) : E_OK;
}

/* saved_report.deliver: runs the report, stores the snapshot and sends
 * the export to the recipients.  A report deleted or unscheduled since
 * has nothing to send. */
static int deliver_run(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		       const cJSON *payload, char *err, size_t errlen)
{
	req_t r;
	req_job_init(&r, a, db, cache, "job_saved_report");
	const char *id = json_str_of(payload, "report_id"), *at = json_str_of(payload, "scheduled_for");
	if (!id || !at || tenant_load(&r, tenant_id))
		return 0;  /* the tenant is gone or suspended */
	r.who.scopes = SCOPE_ALL;
	r.who.key_id = arena_printf(a, "schedule:%s", id);
	r.param_names[0] = "report_id";
	r.param_values[0] = arena_strdup(a, id);
	r.nparams = 1;
	cJSON *row, *result;
	export_file_t f;
	err_t rc = saved_run(&r, true, &row, &result);
	if (rc == E_NOT_FOUND)
		return 0;
	const char *format = json_str_of(row, "export_format");
	if (!rc && !json_str_of(row, "schedule"))
		return 0;
	if (!rc)
		rc = export_make(&r, format ? format : "csv", json_str_of(row, "type"), result, &f);
	if (!rc)
		rc = deliver_mail(&r, row, &f, format ? format : "csv", at);
	db_param p[] = { db_str(id) };
	if (!rc && db_exec(db, a, arena_printf(a, "UPDATE %s SET last_sent_at = UTC_TIMESTAMP(3) "
			   "WHERE id = ?", tenant_table(&r, "_saved_reports")), p, 1, NULL))
		rc = E_UNAVAILABLE;
	if (rc) {
		snprintf(err, errlen, "%s", r.err_message ? r.err_message : err_message(rc));
		return -1;
	}
	return 0;
}

const job_kind_t saved_reports_jobs[] = {
	{ .name = DELIVER_KIND, .run = deliver_run, .timeout_s = 300, .schedule = saved_schedule_tick },
	{ NULL },
};

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
