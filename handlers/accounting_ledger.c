/*
 * accounting_ledger.c - journal entries and posting.
 *
 * An entry is a draft (editable, deletable) until posted; posting checks
 * it (two lines or more, each one-sided and positive, debits = credits in
 * the base currency, accounts of the chart and active, the date in no
 * closed period), numbers it JE-000001 in posting order without gaps (the
 * counter is a row of _acct_settings updated in the posting transaction,
 * so a rolled-back posting takes no number) and adds its lines to the
 * per-account daily balances the reports read.  A posted entry is
 * immutable (409 ENTRY_POSTED) and is undone only by a reversal: a new
 * posted entry with the sides swapped, linked both ways.  Every posting
 * is one transaction, so the ledger balances after any crash.
 *
 * The CRUD endpoints run on the resource engine (list with filters, get
 * with lines, create and update with lines, delete of drafts); post and
 * reverse are the hand-written actions.  Invoices, payments and bank
 * matches post through the same functions (accounting.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../fcgi/journal.h"
#include "accounting.h"
#include "routes.h"

/* ------------------------------------------------------------ lines in */

static const char *const line_members[] = {
	"account_id", "account_code", "debit", "credit", "description", "tax_code_id", "currency",
	"exchange_rate", NULL,
};

/* "lines[i].name" in r's arena. */
static const char *line_field(req_t *r, int i, const char *name)
{
	return arena_printf(r->a, "lines[%d].%s", i, name);
}

err_t acct_account_arg(req_t *r, const cJSON *o, const char *where, const char **out)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "account_id");
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(o, "account_code");
	const char *f = arena_printf(r->a, "%s.%s", where, id ? "account_id" : "account_code");
	const cJSON *v = id ? id : code;
	if (!cJSON_IsString(v) || strlen(v->valuestring) > 40)
		return req_fail_field(r, E_VALIDATION, f,
				      "%s.account_id is required: the id of an account of the chart "
				      "(or account_code, its code)", where);
	db_param p[] = { db_str(v->valuestring) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT id FROM %s WHERE %s = ?",
					tenant_table(r, "_acct_accounts"), id ? "id" : "code"), p, 1, &res);
	if (rc)
		return rc;
	if (res->nrows == 0)
		return req_fail_field(r, E_VALIDATION, f, "%s: no such account in the chart", f);
	*out = db_cell(res, 0, 0);
	return E_OK;
}

/* The rate of a line in a foreign currency: the line's, or the tenant's
 * rate for the date (either direction). */
static err_t line_rate(req_t *r, const cJSON *l, int i, const char *date, const char *base,
		       acct_line_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, "exchange_rate");
	const char *f = line_field(r, i, "exchange_rate");
	if (!strcmp(out->currency, base)) {
		if (v && !cJSON_IsNull(v) &&
		    (!dec_from_json(v, DEC_RATE, INT64_MAX, &out->rate) || out->rate != 100000000))
			return req_fail_field(r, E_VALIDATION, f,
					      "%s must be 1 for a line in the base currency", f);
		out->rate = 100000000;
		return E_OK;
	}
	if (v && !cJSON_IsNull(v)) {
		if (!dec_from_json(v, DEC_RATE, DEC_RATE_MAX, &out->rate) ||
		    out->rate <= 0)
			return req_fail_field(r, E_VALIDATION, f,
					      "%s must be a positive decimal such as \"1.0825\"", f);
		return E_OK;
	}
	return acct_rate_to_base(r, out->currency, date, f, &out->rate);
}

/* One side of a line: exactly one of debit and credit, positive, in the
 * line currency's decimal places; the base amount at the rate, rounded
 * half-even to the base currency's places. */
static err_t line_amount(req_t *r, const cJSON *l, int i, int places, int base_places,
			 acct_line_t *out)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(l, "debit");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(l, "credit");
	bool has_d = d && !cJSON_IsNull(d), has_c = c && !cJSON_IsNull(c);
	if (has_d == has_c)
		return req_fail_field(r, E_VALIDATION, line_field(r, i, has_d ? "credit" : "debit"),
				      "lines[%d] must have exactly one of debit and credit", i);
	const char *f = line_field(r, i, has_d ? "debit" : "credit");
	err_t rc = acct_money_arg(r, has_d ? d : c, f, places, false, &out->amount);
	if (rc)
		return rc;
	int64_t based;
	if (!dec_mul(out->amount, DEC_MONEY, out->rate, DEC_RATE, DEC_MONEY, &based) ||
	    based > DEC_MONEY_MAX)
		return req_fail_field(r, E_VALIDATION, f, "%s is too large at its exchange rate", f);
	based = dec_round(based, DEC_MONEY, base_places);
	if (based == 0)
		return req_fail_field(r, E_VALIDATION, f, "%s is zero in the base currency", f);
	out->debit = has_d ? based : 0;
	out->credit = has_d ? 0 : based;
	return E_OK;
}

static err_t line_parse(req_t *r, const cJSON *l, int i, const char *date, const char *currency,
			const char *base, int base_places, acct_line_t *out)
{
	if (!cJSON_IsObject(l))
		return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "lines[%d]", i),
				      "lines[%d] must be an object", i);
	const cJSON *m;
	cJSON_ArrayForEach(m, l) {
		const char *const *k = line_members;
		while (*k && strcmp(*k, m->string))
			k++;
		if (!*k)
			return req_fail_field(r, E_VALIDATION, line_field(r, i, m->string),
					      "%s is not a field of a journal line",
					      line_field(r, i, m->string));
	}
	memset(out, 0, sizeof(*out));
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(l, "currency");
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(l, "description");
	const cJSON *tax = cJSON_GetObjectItemCaseSensitive(l, "tax_code_id");
	if ((cur && !cJSON_IsString(cur) && !cJSON_IsNull(cur)) ||
	    (desc && !cJSON_IsString(desc) && !cJSON_IsNull(desc)) ||
	    (tax && !cJSON_IsString(tax) && !cJSON_IsNull(tax))) {
		const char *bad = cur && !cJSON_IsString(cur) && !cJSON_IsNull(cur) ? "currency"
				  : desc && !cJSON_IsString(desc) && !cJSON_IsNull(desc) ? "description"
				  : "tax_code_id";
		return req_fail_field(r, E_VALIDATION, line_field(r, i, bad), "%s must be a string",
				      line_field(r, i, bad));
	}
	out->currency = cJSON_IsString(cur) ? cur->valuestring : currency;
	out->description = cJSON_IsString(desc) ? desc->valuestring : NULL;
	if (out->description && strlen(out->description) > 1000)
		return req_fail_field(r, E_VALIDATION, line_field(r, i, "description"),
				      "%s is longer than 1000 characters", line_field(r, i, "description"));
	int places;
	err_t rc;
	if ((rc = acct_account_arg(r, l, arena_printf(r->a, "lines[%d]", i), &out->account_id)) ||
	    (rc = acct_currency_places(r, out->currency, line_field(r, i, "currency"), &places)) ||
	    (rc = line_rate(r, l, i, date, base, out)) ||
	    (rc = line_amount(r, l, i, places, base_places, out)))
		return rc;
	if (cJSON_IsString(tax)) {
		db_param p[] = { db_str(tax->valuestring) };
		db_result *res;
		if ((rc = acct_exec(r, arena_printf(r->a, "SELECT id FROM %s WHERE id = ?",
					       tenant_table(r, "_acct_tax_codes")), p, 1, &res)))
			return rc;
		if (res->nrows == 0)
			return req_fail_field(r, E_VALIDATION, line_field(r, i, "tax_code_id"),
					      "%s: no such tax code", line_field(r, i, "tax_code_id"));
		out->tax_code_id = tax->valuestring;
	}
	return E_OK;
}

err_t acct_lines_parse(req_t *r, const cJSON *lines, const char *date, const char *currency,
		       acct_entry_t *e)
{
	const char *base;
	int base_places;
	err_t rc = acct_ready(r, &base);
	if (rc || (rc = acct_currency_places(r, base, "currency", &base_places)))
		return rc;
	if (!currency)
		currency = base;
	int n = cJSON_GetArraySize(lines);
	if (!cJSON_IsArray(lines) || n < 1 || n > ACCT_LINES_MAX)
		return req_fail_field(r, E_VALIDATION, "lines",
				      "lines must be an array of 1 to %d journal lines", ACCT_LINES_MAX);
	e->lines = arena_alloc(r->a, sizeof(acct_line_t) * (size_t)n);
	e->nlines = n;
	e->currency = currency;
	int i = 0;
	const cJSON *l;
	cJSON_ArrayForEach(l, lines) {
		if ((rc = line_parse(r, l, i, date, currency, base, base_places, &e->lines[i])))
			return rc;
		i++;
	}
	return E_OK;
}

/* ------------------------------------------------------------ lines out */

static err_t lines_write(req_t *r, const acct_entry_t *e)
{
	const char *sql = arena_printf(r->a,
		"INSERT INTO %s (entry_id, line_no, account_id, debit, credit, currency, amount, "
		"exchange_rate, description, tax_code_id, posted, date) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)", tenant_table(r, "_acct_lines"));
	for (int i = 0; i < e->nlines; i++) {
		const acct_line_t *l = &e->lines[i];
		char rate[DEC_BUF];
		db_param p[] = {
			db_str(e->id), db_int(i + 1), db_str(l->account_id),
			db_str(acct_money_text(r, l->debit)), db_str(acct_money_text(r, l->credit)),
			db_str(l->currency), db_str(acct_money_text(r, l->amount)),
			db_str(dec_format(rate, sizeof(rate), l->rate, DEC_RATE, DEC_RATE)),
			db_str(l->description), db_str(l->tax_code_id), db_str(e->date),
		};
		err_t rc = acct_exec(r, sql, p, 11, NULL);
		if (rc)
			return rc;
	}
	return E_OK;
}

/* The sum of the debits (what an entry's total shows). */
static int64_t entry_total(const acct_entry_t *e)
{
	int64_t t = 0;
	for (int i = 0; i < e->nlines; i++)
		t += e->lines[i].debit;
	return t;
}

err_t acct_entry_insert(req_t *r, acct_entry_t *e)
{
	if (!e->id) {
		char id[48];
		id_new(id, sizeof(id), "je_");
		e->id = arena_strdup(r->a, id);
	}
	db_param p[] = {
		db_str(e->id), db_str(e->date), db_str(e->description), db_str(e->reference),
		db_str(e->currency), db_str(e->source ? e->source : "manual"), db_str(e->source_id),
		db_str(e->reversal_of), db_str(acct_money_text(r, entry_total(e))),
	};
	err_t rc = acct_exec(r, arena_printf(r->a,
		"INSERT INTO %s (id, date, description, reference, currency, status, source, source_id, "
		"reversal_of, total, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, "
		"UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", tenant_table(r, "_acct_entries")), p, 9, NULL);
	return rc ? rc : lines_write(r, e);
}

/* ------------------------------------------------------------- posting */

/* The posting checks on the stored lines of entry id dated date; *lines
 * gets them (id, account_id, debit, credit). */
static err_t post_checks(req_t *r, const char *id, const char *date, db_result **lines)
{
	db_param p[] = { db_str(id) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a,
		"SELECT l.id, l.account_id, l.line_no, l.debit, l.credit, a.is_active FROM %s l "
		"LEFT JOIN %s a "
		"ON a.id = l.account_id WHERE l.entry_id = ? ORDER BY l.line_no",
		tenant_table(r, "_acct_lines"), tenant_table(r, "_acct_accounts")), p, 1, &res);
	if (rc)
		return rc;
	if (res->nrows < 2)
		return req_fail_field(r, E_VALIDATION, "lines",
				      "An entry needs at least two lines to be posted");
	int64_t dr = 0, cr = 0;
	for (int i = 0; i < res->nrows; i++) {
		const char *active = db_get(res, i, "is_active");
		if (!active || strcmp(active, "1"))
			return req_fail_field(r, E_VALIDATION, line_field(r, i, "account_id"),
					      "%s: the account is %s", line_field(r, i, "account_id"),
					      active ? "inactive" : "no longer in the chart");
		dr += acct_cell_dec(db_get(res, i, "debit"), DEC_MONEY);
		cr += acct_cell_dec(db_get(res, i, "credit"), DEC_MONEY);
	}
	if (dr != cr) {
		int64_t diff = dr > cr ? dr - cr : cr - dr;
		return req_fail_field(r, E_VALIDATION, "lines",
				      "The entry does not balance: debits %s, credits %s in the base "
				      "currency (difference %s)", acct_money_text(r, dr),
				      acct_money_text(r, cr), acct_money_text(r, diff));
	}
	*lines = res;
	/* The period's row is share-locked: a close waits for this posting,
	 * and this posting for a close. */
	db_param q[] = { db_str(date) };
	if ((rc = acct_exec(r, arena_printf(r->a,
		"SELECT name, status FROM %s WHERE ? BETWEEN start_date AND end_date LOCK IN SHARE MODE",
		tenant_table(r, "_acct_periods")), q, 1, &res)))
		return rc;
	for (int i = 0; i < res->nrows; i++)
		if (!strcmp(db_get(res, i, "status"), "closed"))
			return req_fail_field(r, E_PERIOD_CLOSED, "date",
					      "%s is in the closed period \"%s\"", date,
					      db_get(res, i, "name"));
	return E_OK;
}

err_t acct_next_number(req_t *r, const char *column, const char *prefix, const char **out)
{
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "UPDATE %s SET %s = %s + 1 WHERE id = 1",
					tenant_table(r, "_acct_settings"), column, column), NULL, 0, NULL);
	if (!rc)
		rc = acct_exec(r, arena_printf(r->a, "SELECT %s FROM %s WHERE id = 1", column,
					  tenant_table(r, "_acct_settings")), NULL, 0, &res);
	if (!rc)
		*out = arena_printf(r->a, "%s-%06lld", prefix, strtoll(db_cell(res, 0, 0), NULL, 10));
	return rc;
}

/* The entry id locked for update: its status and date (404 when absent). */
static err_t entry_lock(req_t *r, const char *id, db_result **out)
{
	db_param p[] = { db_str(id) };
	err_t rc = acct_exec(r, arena_printf(r->a,
		"SELECT status, date, reversed_by, description FROM %s WHERE id = ? FOR UPDATE",
		tenant_table(r, "_acct_entries")), p, 1, out);
	if (!rc && (*out)->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Journal entry not found");
	return rc;
}

err_t acct_entry_post(req_t *r, const char *id, const char **number)
{
	db_result *e;
	err_t rc = entry_lock(r, id, &e);
	if (rc)
		return rc;
	if (strcmp(db_get(e, 0, "status"), "draft"))
		return req_fail(r, E_ENTRY_POSTED, "The journal entry is already posted");
	const char *date = db_get(e, 0, "date");
	db_result *lines = NULL;
	if ((rc = post_checks(r, id, date, &lines)) ||
	    (rc = acct_next_number(r, "entry_seq", "JE", number)))
		return rc;
	db_param p[] = { db_str(*number), db_str(id) };
	if ((rc = acct_exec(r, arena_printf(r->a,
		"UPDATE %s SET status = 'posted', number = ?, posted_at = UTC_TIMESTAMP(3), "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ?", tenant_table(r, "_acct_entries")), p, 2,
		NULL)))
		return rc;
	/*
	 * Lines are changed by primary key and the daily totals from the
	 * values read, never by a range of the entry index: a range lock there
	 * would also take the next entry's lines, whose writer may be waiting
	 * for the settings row this posting holds (a deadlock).
	 */
	const char *mark = arena_printf(r->a, "UPDATE %s SET posted = 1 WHERE id = ?",
					tenant_table(r, "_acct_lines"));
	const char *daily = arena_printf(r->a,
		"INSERT INTO %s (account_id, date, debit, credit) VALUES (?, ?, ?, ?) "
		"ON DUPLICATE KEY UPDATE debit = debit + VALUES(debit), credit = credit + VALUES(credit)",
		tenant_table(r, "_acct_daily"));
	for (int i = 0; !rc && i < lines->nrows; i++) {
		db_param m[] = { db_str(db_get(lines, i, "id")) };
		db_param d[] = { db_str(db_get(lines, i, "account_id")), db_str(date),
				 db_str(db_get(lines, i, "debit")), db_str(db_get(lines, i, "credit")) };
		if (!(rc = acct_exec(r, mark, m, 1, NULL)))
			rc = acct_exec(r, daily, d, 4, NULL);
	}
	if (rc)
		return rc;
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "number", *number);
	return req_audit(r, "accounting_entry.posted", "accounting_entry", id, details);
}

/* The stored lines of entry id, sides swapped. */
static err_t lines_swapped(req_t *r, const char *id, acct_entry_t *e)
{
	db_param p[] = { db_str(id) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a,
		"SELECT account_id, debit, credit, currency, amount, exchange_rate, description, "
		"tax_code_id FROM %s WHERE entry_id = ? ORDER BY line_no", tenant_table(r, "_acct_lines")),
		p, 1, &res);
	if (rc)
		return rc;
	e->nlines = res->nrows;
	e->lines = arena_alloc(r->a, sizeof(acct_line_t) * (size_t)(res->nrows + 1));
	for (int i = 0; i < res->nrows; i++) {
		acct_line_t *l = &e->lines[i];
		l->account_id = db_get(res, i, "account_id");
		l->debit = acct_cell_dec(db_get(res, i, "credit"), DEC_MONEY);
		l->credit = acct_cell_dec(db_get(res, i, "debit"), DEC_MONEY);
		l->currency = db_get(res, i, "currency");
		l->amount = acct_cell_dec(db_get(res, i, "amount"), DEC_MONEY);
		l->rate = acct_cell_dec(db_get(res, i, "exchange_rate"), DEC_RATE);
		l->description = db_get(res, i, "description");
		l->tax_code_id = db_get(res, i, "tax_code_id");
	}
	return E_OK;
}

err_t acct_entry_reverse(req_t *r, const char *id, const char *date, const char *description,
			 const char *source, const char **new_id)
{
	db_result *e;
	err_t rc = entry_lock(r, id, &e);
	if (rc)
		return rc;
	const char *status = db_get(e, 0, "status");
	if (!strcmp(status, "draft"))
		return req_fail(r, E_CONFLICT, "A draft entry is not reversed: edit or delete it");
	if (db_get(e, 0, "reversed_by"))
		return req_fail(r, E_CONFLICT, "The entry is already reversed by %s",
				db_get(e, 0, "reversed_by"));
	db_param cp[] = { db_str(id) };
	db_result *cur;
	if ((rc = acct_exec(r, arena_printf(r->a, "SELECT currency, number FROM %s WHERE id = ?",
				       tenant_table(r, "_acct_entries")), cp, 1, &cur)))
		return rc;
	acct_entry_t rev = {
		.date = date ? date : db_get(e, 0, "date"),
		.description = description ? description
			       : arena_printf(r->a, "Reversal of %s", db_get(cur, 0, "number")),
		.currency = db_get(cur, 0, "currency"),
		.source = source ? source : "reversal",
		.source_id = id,
		.reversal_of = id,
	};
	const char *number;
	if ((rc = lines_swapped(r, id, &rev)) || (rc = acct_entry_insert(r, &rev)) ||
	    (rc = acct_entry_post(r, rev.id, &number)))
		return rc;
	db_param p[] = { db_str(rev.id), db_str(id) };
	if ((rc = acct_exec(r, arena_printf(r->a,
		"UPDATE %s SET status = 'reversed', reversed_by = ?, updated_at = UTC_TIMESTAMP(3) "
		"WHERE id = ?", tenant_table(r, "_acct_entries")), p, 2, NULL)))
		return rc;
	*new_id = rev.id;
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "reversed_by", rev.id);
	return req_audit(r, "accounting_entry.reversed", "accounting_entry", id, details);
}

/* ---------------------------------------------------------- entry out */

static const col_t line_cols[] = {
	{ "account_id", COL_STR, 0 },
	{ "debit", COL_STR, 0 },
	{ "credit", COL_STR, 0 },
	{ "currency", COL_STR, 0 },
	{ "amount", COL_STR, 0 },
	{ "exchange_rate", COL_STR, 0 },
	{ "description", COL_STR, 0 },
	{ "tax_code_id", COL_STR, 0 },
	{ NULL, 0, 0 },
};

/* The lines of an entry into row["lines"]. */
static err_t entry_lines_add(req_t *r, const char *id, cJSON *row)
{
	db_param p[] = { db_str(id) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a,
		"SELECT line_no, %s FROM %s WHERE entry_id = ? ORDER BY line_no",
		cols_select(r->a, line_cols, NULL), tenant_table(r, "_acct_lines")), p, 1, &res);
	if (rc)
		return rc;
	cJSON *lines = rows_to_json(line_cols, res);
	/* A line shows the side it is on; the other is null. */
	cJSON *l;
	cJSON_ArrayForEach(l, lines) {
		const char *d = json_str_of(l, "debit");
		bool debit = d && acct_cell_dec(d, DEC_MONEY) != 0;
		cJSON_ReplaceItemInObjectCaseSensitive(l, debit ? "credit" : "debit", cJSON_CreateNull());
	}
	cJSON_AddItemToObject(row, "lines", lines);
	return E_OK;
}

static err_t entry_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	(void)c;
	const char *id = json_str_of(row, "id");
	return id ? entry_lines_add(r, id, row) : E_OK;
}

static const char *const entry_statuses[] = { "draft", "posted", "reversed", NULL };

static const res_field_t entry_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "number", .type = COL_STR },
	{ .name = "date", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_SORT, .check = acct_check_date },
	{ .name = "description", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE, .max = 1000 },
	{ .name = "reference", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE | RF_FILTER, .max = 200 },
	{ .name = "currency", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE, .min = 3,
	  .max = 3 },
	{ .name = "status", .type = COL_STR, .flags = RF_FILTER, .values = entry_statuses },
	{ .name = "source", .type = COL_STR, .flags = RF_FILTER },
	{ .name = "source_id", .type = COL_STR },
	{ .name = "reversal_of", .type = COL_STR },
	{ .name = "reversed_by", .type = COL_STR },
	{ .name = "total", .type = COL_STR },
	{ .name = "lines", .type = COL_JSON, .in = FT_ARRAY,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_INPUT, .max = ACCT_LINES_MAX },
	{ .name = "post", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_CREATE | RF_INPUT },
	{ .name = "posted_at", .type = COL_TIME },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* Create and update: a draft only; the lines are read here (c->data) and
 * written by entry_written. */
static err_t entry_validate(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_UPDATE && strcmp(json_str_of(c->before, "status"), "draft"))
		return req_fail(r, E_ENTRY_POSTED, "The journal entry is %s and cannot be changed; "
				"reverse it instead", json_str_of(c->before, "status"));
	const char *date = json_str_of(c->body, "date");
	if (!date)
		date = json_str_of(c->before, "date");
	const char *currency = c->op == OP_CREATE ? json_str_of(c->body, "currency")
						  : json_str_of(c->before, "currency");
	const cJSON *lines = cJSON_GetObjectItemCaseSensitive(c->body, "lines");
	acct_entry_t *e = arena_alloc(r->a, sizeof(*e));
	memset(e, 0, sizeof(*e));
	e->id = c->id;
	e->date = date;
	c->data = e;
	err_t rc;
	if (lines) {
		if ((rc = acct_lines_parse(r, lines, date, currency, e)))
			return rc;
		resource_set(c, "total", db_str(acct_money_text(r, entry_total(e))));
	}
	if (c->op == OP_CREATE) {
		resource_set(c, "currency", db_str(e->currency));
		resource_set(c, "status", db_str("draft"));
	}
	return E_OK;
}

static err_t entry_written(req_t *r, res_ctx_t *c)
{
	acct_entry_t *e = c->data;
	err_t rc;
	db_param p[] = { db_str(c->id) };
	if (c->op == OP_DELETE || (c->op == OP_UPDATE && e->lines)) {
		if ((rc = acct_exec(r, arena_printf(r->a, "DELETE FROM %s WHERE entry_id = ?",
					       tenant_table(r, "_acct_lines")), p, 1, NULL)))
			return rc;
	}
	if (c->op == OP_DELETE)
		return E_OK;
	if (e->lines && (rc = lines_write(r, e)))
		return rc;
	/* A new date alone moves the lines with it (their rates stay). */
	if (c->op == OP_UPDATE && !e->lines) {
		db_param q[] = { db_str(e->date), db_str(c->id) };
		if ((rc = acct_exec(r, arena_printf(r->a, "UPDATE %s SET date = ? WHERE entry_id = ?",
					       tenant_table(r, "_acct_lines")), q, 2, NULL)))
			return rc;
	}
	const cJSON *post = cJSON_GetObjectItemCaseSensitive(c->body, "post");
	const char *number;
	if (c->op == OP_CREATE && cJSON_IsTrue(post) && (rc = acct_entry_post(r, c->id, &number)))
		return rc;
	return E_OK;
}

static err_t entry_before_delete(req_t *r, res_ctx_t *c)
{
	if (strcmp(json_str_of(c->before, "status"), "draft"))
		return req_fail(r, E_ENTRY_POSTED, "The journal entry is %s and cannot be deleted; "
				"reverse it instead", json_str_of(c->before, "status"));
	return E_OK;
}

/* ?from=&to= (dates, inclusive) and ?account_id= (entries with a line on
 * it). */
static err_t entry_list(req_t *r, res_ctx_t *c)
{
	const char *from, *to;
	err_t rc;
	if ((rc = acct_query_date(r, "from", &from)) || (rc = acct_query_date(r, "to", &to)))
		return rc;
	if (from)
		query_and_bind(r, c->list, "date >= ?", db_str(from));
	if (to)
		query_and_bind(r, c->list, "date <= ?", db_str(to));
	const char *account = req_query(r, "account_id");
	if (account)
		query_and_bind(r, c->list, arena_printf(r->a,
			"id IN (SELECT entry_id FROM %s WHERE account_id = ?)", tenant_table(r, "_acct_lines")),
			db_str(account));
	return E_OK;
}

static const res_hooks_t entry_hooks = {
	.parent = acct_res_ready,
	.validate = entry_validate,
	.list = entry_list,
	.before_delete = entry_before_delete,
	.after_write = entry_written,
	.render = entry_render,
	.reply = acct_write_reply,
};

static const resource_t entry_res = {
	.name = "Journal entry", .type = "accounting_entry", .table = "_acct_entries",
	.home = RES_TENANT, .id_param = "entry_id", .id_prefix = "je_", .fields = entry_fields,
	.order = "date DESC", .title = "number", .hooks = &entry_hooks,
	.list_shape = LIST_PAGE, .list_key = "entries", .list_default = 20,
	.example = "{\"date\":\"1990-01-15\",\"description\":\"Owner's investment\","
		   "\"lines\":[{\"account_code\":\"1000\",\"debit\":\"100.00\"},"
		   "{\"account_code\":\"3000\",\"credit\":\"100.00\"}]}",
};

/* ------------------------------------------------------------- actions */

static err_t post_tx(req_t *r, const char *id, const char *arg, const char **out)
{
	(void)arg;
	(void)out;
	const char *number;
	return acct_entry_post(r, id, &number);
}

static err_t entry_post(req_t *r)
{
	return acct_action(r, &entry_res, req_param(r, "entry_id"), post_tx, NULL);
}

static const field_t reverse_body[] = {
	{ "date", FT_STRING, 0, 10, 10 },
	{ "description", FT_STRING, 0, 0, 1000 },
	{ NULL, 0, 0, 0, 0 },
};

static err_t reverse_tx(req_t *r, const char *id, const char *date, const char **out)
{
	return acct_entry_reverse(r, id, date, json_str_of(r->json, "description"), NULL, out);
}

/* Answers the reversal (the new entry), the original's reversed_by set. */
static err_t entry_reverse(req_t *r)
{
	const char *date = json_str_of(r->json, "date");
	if (date && !acct_date_valid(date))
		return req_fail_field(r, E_VALIDATION, "date", "date must be a date YYYY-MM-DD");
	return acct_action(r, &entry_res, req_param(r, "entry_id"), reverse_tx, date);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t accounting_ledger_routes[] = {
	CRUD("GET", "/v1/accounting/journal-entries", "Accounting", "read", NULL, 0, entry_res, OP_LIST, "List journal entries"),
	CRUD("POST", "/v1/accounting/journal-entries", "Accounting", "write", NULL, 0, entry_res, OP_CREATE, "Create journal entry"),
	CRUD("GET", "/v1/accounting/journal-entries/:entry_id", "Accounting", "read", NULL, 0, entry_res, OP_GET, "Get journal entry"),
	CRUD("PATCH", "/v1/accounting/journal-entries/:entry_id", "Accounting", "write", NULL, 0, entry_res, OP_UPDATE, "Update journal entry"),
	CRUD("DELETE", "/v1/accounting/journal-entries/:entry_id", "Accounting", "write", NULL, 0, entry_res, OP_DELETE, "Delete journal entry"),
	ROUTE("POST", "/v1/accounting/journal-entries/:entry_id/post", "Accounting", AUTH_BEARER, "write", NULL, 0, entry_post, NULL, "Post journal entry"),
	ROUTE("POST", "/v1/accounting/journal-entries/:entry_id/reverse", "Accounting", AUTH_BEARER, "write", NULL, 0, entry_reverse, reverse_body, "Reverse journal entry"),
	ROUTES_END,
};
