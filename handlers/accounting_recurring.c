/*
 * accounting_recurring.c - recurring journal entries: a template, a
 * frequency and the next date.  Each occurrence is made exactly once: the
 * row (template, date) of _acct_recurring_runs is inserted in the same
 * transaction as the entry, so a second attempt (a retried job, a
 * concurrent execute) finds it and makes nothing.  The jobs runner's
 * hourly pass (kind accounting.recurring, run with every system.cleanup
 * the scheduler enqueues under its lease) makes every occurrence due by
 * today; `execute` makes the next one now.  Monthly dates keep their day:
 * the 31st is the last day of shorter months, and the 31st again after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/jsonx.h"
#include "../common/log.h"
#include "../fcgi/jobs.h"
#include "../fcgi/fanout.h"
#include "../fcgi/journal.h"
#include "accounting.h"
#include "routes.h"

/* Occurrences one pass makes for one template at most (a long-stopped
 * runner catches up over several passes). */
#define CATCH_UP_MAX 60

static const char *const frequencies[] = { "daily", "weekly", "monthly", "quarterly", "yearly",
					   NULL };
static const char *const template_types[] = { "journal_entry", NULL };

static int month_days(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return days[m - 1] + (m == 2 && leap);
}

/* The occurrence after date (YYYY-MM-DD) at frequency; anchor is the day
 * of month monthly dates aim for.  Into out (16 bytes). */
static void next_date(const char *date, const char *freq, int anchor, char *out)
{
	int y = atoi(date), m = atoi(date + 5), d = atoi(date + 8);
	int months = !strcmp(freq, "monthly") ? 1 : !strcmp(freq, "quarterly") ? 3
		     : !strcmp(freq, "yearly") ? 12 : 0;
	if (months) {
		m += months;
		y += (m - 1) / 12;
		m = (m - 1) % 12 + 1;
		d = anchor < month_days(y, m) ? anchor : month_days(y, m);
	} else {
		struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1,
				 .tm_mday = d + (!strcmp(freq, "weekly") ? 7 : 1), .tm_hour = 12 };
		time_t t = timegm(&tm);
		gmtime_r(&t, &tm);
		y = tm.tm_year + 1900;
		m = tm.tm_mon + 1;
		d = tm.tm_mday;
	}
	snprintf(out, 16, "%04d-%02d-%02d", y % 10000, m % 100, d % 100);
}

static const char *const template_members[] = { "description", "reference", "currency", "lines",
						"post", NULL };

/* The template of a journal entry: {description, reference, currency,
 * lines, post}, its lines checked as an entry's on date. */
static err_t template_check(req_t *r, const cJSON *t, const char *date)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, t) {
		const char *const *k = template_members;
		while (*k && strcmp(*k, m->string))
			k++;
		if (!*k)
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "template.%s", m->string),
					      "template.%s is not a field of a journal entry template",
					      m->string);
	}
	acct_entry_t e = { 0 };
	const char *cur = json_str_of(t, "currency");
	err_t rc = acct_lines_parse(r, cJSON_GetObjectItemCaseSensitive(t, "lines"), date, cur, &e);
	if (rc && r->err_details) {
		/* Name the field inside the template. */
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(r->err_details, "field");
		if (cJSON_IsString(f))
			cJSON_ReplaceItemInObjectCaseSensitive(r->err_details, "field",
				cJSON_CreateString(arena_printf(r->a, "template.%s", f->valuestring)));
	}
	return rc;
}

static const res_field_t recurring_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = 200 },
	{ .name = "type", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_FILTER,
	  .values = template_types },
	{ .name = "template", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_WRITABLE | RF_REQUIRED },
	{ .name = "frequency", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .values = frequencies },
	{ .name = "next_run", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .check = acct_check_date },
	{ .name = "end_date", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .check = acct_check_date },
	{ .name = "is_active", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_UPDATE | RF_FILTER },
	{ .name = "last_run", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The template reads as an entry on next_run; end_date not before it;
 * the day of month monthly dates keep. */
static err_t recurring_validate(req_t *r, res_ctx_t *c)
{
	const char *next = json_str_of(c->body, "next_run");
	const char *end = json_str_of(c->body, "end_date");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(c->body, "template");
	next = next ? next : json_str_of(c->before, "next_run");
	if (!end && !cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c->body, "end_date")))
		end = json_str_of(c->before, "end_date");
	if (end && strcmp(end, next) < 0)
		return req_fail_field(r, E_VALIDATION, "end_date", "end_date must not be before next_run");
	err_t rc = t ? template_check(r, t, next) : E_OK;
	if (rc)
		return rc;
	if (json_str_of(c->body, "next_run"))
		resource_set(c, "anchor_day", db_int(atoi(next + 8)));
	if (c->op == OP_CREATE && !json_str_of(c->body, "type"))
		resource_set(c, "type", db_str("journal_entry"));
	return E_OK;
}

static const res_hooks_t recurring_hooks = {
	.parent = acct_res_ready,
	.validate = recurring_validate,
};

static const resource_t recurring_res = {
	.name = "Recurring entry", .type = "accounting_recurring", .table = "_acct_recurring",
	.home = RES_TENANT, .id_param = "recurring_id", .id_prefix = "rec_",
	.fields = recurring_fields, .order = "next_run", .title = "name", .hooks = &recurring_hooks,
	.example = "{\"name\":\"Monthly rent\",\"frequency\":\"monthly\",\"next_run\":\"1990-01-31\","
		   "\"template\":{\"description\":\"Rent\",\"lines\":[{\"account_code\":\"6100\","
		   "\"debit\":\"800\"},{\"account_code\":\"1000\",\"credit\":\"800\"}]}}",
};

/*
 * In the caller's transaction: the occurrence of template id on its
 * next_run (when due by until, or always when until is NULL), and the
 * next date.  *made is false when there was nothing to make.
 */
static err_t occurrence_make(req_t *r, const char *id, const char *until, bool *made)
{
	db_param p[] = { db_str(id) };
	db_result *t;
	*made = false;
	err_t rc = acct_exec(r, arena_printf(r->a,
		"SELECT template, frequency, next_run, end_date, anchor_day, is_active FROM %s "
		"WHERE id = ? FOR UPDATE", tenant_table(r, "_acct_recurring")), p, 1, &t);
	if (rc)
		return rc;
	if (t->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Recurring entry not found");
	const char *date = db_get(t, 0, "next_run"), *end = db_get(t, 0, "end_date");
	if (strcmp(db_get(t, 0, "is_active"), "1") || (end && strcmp(date, end) > 0))
		return until ? E_OK : req_fail(r, E_CONFLICT, "The recurring entry is inactive or ended");
	if (until && strcmp(date, until) > 0)
		return E_OK;
	cJSON *tpl = req_own(r, cJSON_Parse(db_get(t, 0, "template")));
	acct_entry_t e = { .date = date, .description = json_str_of(tpl, "description"),
			   .reference = json_str_of(tpl, "reference"), .source = "recurring",
			   .source_id = id };
	db_result *ins;
	const char *number;
	if ((rc = acct_lines_parse(r, cJSON_GetObjectItemCaseSensitive(tpl, "lines"), date,
				   json_str_of(tpl, "currency"), &e)) ||
	    (rc = acct_entry_insert(r, &e)))
		return rc;
	db_param q[] = { db_str(id), db_str(date), db_str(e.id) };
	if ((rc = acct_exec(r, arena_printf(r->a,
		"INSERT IGNORE INTO %s (recurring_id, run_date, created_type, created_id, created_at) "
		"VALUES (?, ?, 'journal_entry', ?, UTC_TIMESTAMP(3))",
		tenant_table(r, "_acct_recurring_runs")), q, 3, &ins)))
		return rc;
	if (ins->affected == 0)
		return req_fail(r, E_CONFLICT, "The occurrence of %s was already made", date);
	if (!cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(tpl, "post")) &&
	    (rc = acct_entry_post(r, e.id, &number)))
		return rc;
	char next[16];
	next_date(date, db_get(t, 0, "frequency"), (int)db_get_int(t, 0, "anchor_day", 1), next);
	db_param u[] = { db_str(next), db_str(date), db_str(end), db_str(next), db_str(id) };
	if ((rc = acct_exec(r, arena_printf(r->a,
		"UPDATE %s SET next_run = ?, last_run = ?, is_active = (? IS NULL OR ? <= end_date), "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ?", tenant_table(r, "_acct_recurring")),
		u, 5, NULL)))
		return rc;
	*made = true;
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "date", date);
	cJSON_AddStringToObject(details, "entry_id", e.id);
	return req_audit(r, "accounting_recurring.executed", "accounting_recurring", id, details);
}

static err_t execute_tx(req_t *r, const char *id, const char *arg, const char **out)
{
	(void)arg;
	(void)out;
	bool made;
	return occurrence_make(r, id, NULL, &made);
}

static err_t recurring_execute(req_t *r)
{
	return acct_action(r, &recurring_res, req_param(r, "recurring_id"), execute_tx, NULL);
}

/* ------------------------------------------------------------------ job */

/* One tenant's due occurrences, each in its own transaction; a template
 * that fails (a closed period, an inactive account) is logged and left
 * for the next pass. */
static void tenant_due(req_t *r, const char *today)
{
	db_param p[] = { db_str(today) };
	db_result *due;
	/* A tenant that never used accounting has no such table: nothing
	 * due, and the pass over every tenant does not create it. */
	if (db_exec_present(r->db, r->a, arena_printf(r->a, "SELECT id FROM %s WHERE is_active = 1 "
						      "AND next_run <= ?", tenant_table(r, "_acct_recurring")),
			    p, 1, &due) != DB_OK)
		return; /* not migrated yet */
	for (int i = 0; i < due->nrows; i++) {
		bool made = true;
		for (int k = 0; made && k < CATCH_UP_MAX; k++) {
			if (db_begin(r->db) != DB_OK)
				return;
			err_t rc = req_tx_end(r, occurrence_make(r, db_cell(due, i, 0), today, &made));
			if (rc) {
				log_warn("accounting.recurring: tenant %s template %s: %s", r->tenant.id,
					 db_cell(due, i, 0), r->err_message ? r->err_message : "failed");
				made = false;
			}
		}
	}
}

static int recurring_job(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
			 const cJSON *payload, char *err, size_t errlen)
{
	(void)tenant_id;
	(void)payload;
	db_result *tenants;
	if (tenants_here(db, a, "id, db_name", "status = 'active'", &tenants) != DB_OK) {
		snprintf(err, errlen, "listing tenants: %s", db_last_error(db));
		return -1;
	}
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char today[11];
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	for (int i = 0; i < tenants->nrows; i++) {
		const char *dbn = db_get(tenants, i, "db_name");
		if (!dbn || strspn(dbn, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(dbn))
			continue;
		/* The request the posting code works on: the runner acts. */
		req_t r;
		memset(&r, 0, sizeof(r));
		r.a = a;
		r.db = db;
		r.cache = cache;
		r.method = "JOB";
		r.path = "accounting.recurring";
		r.query = "";
		r.remote_addr = "";
		r.tenant.id = (char *)db_get(tenants, i, "id");
		r.tenant.db_name = (char *)dbn;
		snprintf(r.request_id, sizeof(r.request_id), "job_accounting_recurring");
		tenant_due(&r, today);
	}
	return 0;
}

const job_kind_t accounting_jobs[] = {
	{ .name = "accounting.recurring", .run = recurring_job, .cleanup = true },
	{ .name = NULL },
};

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t accounting_recurring_routes[] = {
	CRUD("GET", "/v1/accounting/recurring", "Accounting", "read", NULL, 0, recurring_res, OP_LIST, "List recurring entries"),
	CRUD("POST", "/v1/accounting/recurring", "Accounting", "write", NULL, 0, recurring_res, OP_CREATE, "Create recurring entry"),
	CRUD("GET", "/v1/accounting/recurring/:recurring_id", "Accounting", "read", NULL, 0, recurring_res, OP_GET, "Get recurring entry"),
	CRUD("PATCH", "/v1/accounting/recurring/:recurring_id", "Accounting", "write", NULL, 0, recurring_res, OP_UPDATE, "Update recurring entry"),
	CRUD("DELETE", "/v1/accounting/recurring/:recurring_id", "Accounting", "write", NULL, 0, recurring_res, OP_DELETE, "Delete recurring entry"),
	ROUTE("POST", "/v1/accounting/recurring/:recurring_id/execute", "Accounting", AUTH_BEARER, "write", NULL, 0, recurring_execute, NULL, "Execute recurring entry now"),
	ROUTES_END,
};
