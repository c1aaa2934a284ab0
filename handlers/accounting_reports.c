/*
 * accounting_reports.c - the financial reports, read-only and in the base
 * currency: trial balance, profit and loss, balance sheet, cash flow
 * (indirect method), general ledger, aged receivables and payables, tax.
 *
 * Balances come from the per-account daily totals (_acct_daily) that
 * posting keeps, summed by MariaDB in DECIMAL; only the general ledger
 * and the tax report read lines.  Every figure is a decimal string;
 * totals are added in C as scaled integers, so they are exact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/jsonx.h"
#include "accounting.h"
#include "routes.h"

/* The most postings a general ledger lists (it says when it stopped). */
#define LEDGER_LINES_MAX 10000

static const char *today(req_t *r)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	return arena_printf(r->a, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static void add_money(req_t *r, cJSON *o, const char *name, int64_t v)
{
	cJSON_AddStringToObject(o, name, acct_money_text(r, v));
}

/* The report's frame: its dates and the base currency. */
static err_t report_start(req_t *r, cJSON **out, const char **base)
{
	err_t rc = acct_ready(r, base);
	if (rc)
		return rc;
	*out = cJSON_CreateObject();
	return E_OK;
}

/* ?from= and ?to= (to defaults to today), from not after to. */
static err_t range_args(req_t *r, const char **from, const char **to)
{
	err_t rc;
	if ((rc = acct_query_date(r, "from", from)) || (rc = acct_query_date(r, "to", to)))
		return rc;
	if (!*to)
		*to = today(r);
	if (*from && strcmp(*from, *to) > 0)
		return req_fail_field(r, E_VALIDATION, "from", "from must not be after to");
	return E_OK;
}

/*
 * Each account's posted debits and credits dated from..to (from NULL: since
 * the beginning), accounts without postings left out, in code order:
 * id, code, name, type, sub_type, dr, cr.
 */
static err_t balances(req_t *r, const char *from, const char *to, db_result **out)
{
	db_param p[] = { db_str(from), db_str(from), db_str(to) };
	return acct_exec(r, arena_printf(r->a,
		"SELECT a.id, a.code, a.name, a.type, a.sub_type, SUM(d.debit) AS dr, "
		"SUM(d.credit) AS cr FROM %s d JOIN %s a ON a.id = d.account_id "
		"WHERE (? IS NULL OR d.date >= ?) AND d.date <= ? "
		"GROUP BY a.id, a.code, a.name, a.type, a.sub_type ORDER BY a.code",
		tenant_table(r, "_acct_daily"), tenant_table(r, "_acct_accounts")), p, 3, out);
}

/* Row i's balance on the account type's normal side: debit - credit for
 * assets and expenses, credit - debit for the others. */
static int64_t natural(const db_result *b, int i)
{
	int64_t dr = acct_cell_dec(db_get(b, i, "dr"), DEC_MONEY);
	int64_t cr = acct_cell_dec(db_get(b, i, "cr"), DEC_MONEY);
	const char *t = db_get(b, i, "type");
	return !strcmp(t, "asset") || !strcmp(t, "expense") ? dr - cr : cr - dr;
}

static cJSON *account_row(req_t *r, const db_result *b, int i, const char *name, int64_t v)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "account_id", db_get(b, i, "id"));
	cJSON_AddStringToObject(o, "code", db_get(b, i, "code"));
	cJSON_AddStringToObject(o, "name", db_get(b, i, "name"));
	if (db_get(b, i, "sub_type"))
		cJSON_AddStringToObject(o, "sub_type", db_get(b, i, "sub_type"));
	add_money(r, o, name, v);
	return o;
}

/* A section: the accounts of type (and, when sub is not NULL, whose
 * sub_type is or is not sub) with a non-zero balance, and their total. */
static cJSON *section(req_t *r, const db_result *b, const char *type, const char *sub,
		      bool sub_is, int64_t *total)
{
	cJSON *s = cJSON_CreateObject();
	cJSON *list = cJSON_AddArrayToObject(s, "accounts");
	*total = 0;
	for (int i = 0; i < b->nrows; i++) {
		const char *st = db_get(b, i, "sub_type");
		if (strcmp(db_get(b, i, "type"), type) ||
		    (sub && (st && !strcmp(st, sub)) != sub_is))
			continue;
		int64_t v = natural(b, i);
		if (v == 0)
			continue;
		*total += v;
		cJSON_AddItemToArray(list, account_row(r, b, i, "balance", v));
	}
	add_money(r, s, "total", *total);
	return s;
}

/* ---------------------------------------------------------- trial balance */

static err_t report_trial_balance(req_t *r)
{
	const char *as_of, *base, *period = req_query(r, "period_id");
	err_t rc = acct_query_date(r, "as_of", &as_of);
	cJSON *out;
	if (rc || (rc = report_start(r, &out, &base)))
		return rc;
	req_own(r, out);
	if (period) {
		db_param p[] = { db_str(period) };
		db_result *res;
		if ((rc = acct_exec(r, arena_printf(r->a, "SELECT end_date FROM %s WHERE id = ?",
					       tenant_table(r, "_acct_periods")), p, 1, &res)))
			return rc;
		if (res->nrows == 0)
			return req_fail_field(r, E_VALIDATION, "period_id", "period_id: no such period");
		if (!as_of)
			as_of = db_cell(res, 0, 0);
		cJSON_AddStringToObject(out, "period_id", period);
	}
	if (!as_of)
		as_of = today(r);
	db_result *b;
	if ((rc = balances(r, NULL, as_of, &b)))
		return rc;
	cJSON_AddStringToObject(out, "as_of", as_of);
	cJSON_AddStringToObject(out, "currency", base);
	cJSON *list = cJSON_AddArrayToObject(out, "accounts");
	int64_t td = 0, tc = 0;
	for (int i = 0; i < b->nrows; i++) {
		int64_t net = acct_cell_dec(db_get(b, i, "dr"), DEC_MONEY) -
			      acct_cell_dec(db_get(b, i, "cr"), DEC_MONEY);
		if (net == 0)
			continue;
		cJSON *o = account_row(r, b, i, "debit", net > 0 ? net : 0);
		cJSON_AddStringToObject(o, "type", db_get(b, i, "type"));
		add_money(r, o, "credit", net < 0 ? -net : 0);
		cJSON_AddItemToArray(list, o);
		td += net > 0 ? net : 0;
		tc += net < 0 ? -net : 0;
	}
	add_money(r, out, "total_debit", td);
	add_money(r, out, "total_credit", tc);
	cJSON_AddBoolToObject(out, "balanced", td == tc);
	reply_data(r, 200, cJSON_Duplicate(out, true));
	return E_OK;
}

/* --------------------------------------------------------- profit and loss */

static err_t report_profit_and_loss(req_t *r)
{
	const char *from, *to, *base;
	cJSON *out;
	err_t rc = range_args(r, &from, &to);
	if (rc || (rc = report_start(r, &out, &base)))
		return rc;
	req_own(r, out);
	db_result *b;
	if ((rc = balances(r, from, to, &b)))
		return rc;
	if (from)
		cJSON_AddStringToObject(out, "from", from);
	cJSON_AddStringToObject(out, "to", to);
	cJSON_AddStringToObject(out, "currency", base);
	int64_t income, cos, expenses;
	cJSON_AddItemToObject(out, "income", section(r, b, "income", NULL, false, &income));
	cJSON_AddItemToObject(out, "cost_of_sales", section(r, b, "expense", "cost_of_sales", true,
							    &cos));
	add_money(r, out, "gross_profit", income - cos);
	cJSON_AddItemToObject(out, "expenses", section(r, b, "expense", "cost_of_sales", false,
						       &expenses));
	add_money(r, out, "total_expenses", cos + expenses);
	add_money(r, out, "net_income", income - cos - expenses);
	reply_data(r, 200, cJSON_Duplicate(out, true));
	return E_OK;
}

/* ----------------------------------------------------------- balance sheet */

static err_t report_balance_sheet(req_t *r)
{
	const char *as_of, *base;
	cJSON *out;
	err_t rc = acct_query_date(r, "as_of", &as_of);
	if (rc || (rc = report_start(r, &out, &base)))
		return rc;
	req_own(r, out);
	if (!as_of)
		as_of = today(r);
	db_result *b;
	if ((rc = balances(r, NULL, as_of, &b)))
		return rc;
	cJSON_AddStringToObject(out, "as_of", as_of);
	cJSON_AddStringToObject(out, "currency", base);
	int64_t assets, liabilities, equity, income, expense;
	cJSON_AddItemToObject(out, "assets", section(r, b, "asset", NULL, false, &assets));
	cJSON_AddItemToObject(out, "liabilities", section(r, b, "liability", NULL, false,
							  &liabilities));
	cJSON *eq = section(r, b, "equity", NULL, false, &equity);
	cJSON_AddItemToObject(out, "equity", eq);
	cJSON_Delete(section(r, b, "income", NULL, false, &income));
	cJSON_Delete(section(r, b, "expense", NULL, false, &expense));
	/* Earnings not closed into equity: every posted income less expense. */
	add_money(r, eq, "current_earnings", income - expense);
	add_money(r, eq, "total_with_earnings", equity + income - expense);
	add_money(r, out, "total_assets", assets);
	add_money(r, out, "total_liabilities_and_equity", liabilities + equity + income - expense);
	cJSON_AddBoolToObject(out, "balanced", assets == liabilities + equity + income - expense);
	reply_data(r, 200, cJSON_Duplicate(out, true));
	return E_OK;
}

/* --------------------------------------------------------------- cash flow */

/* Which activity an account's change belongs to, by sub_type; NULL for
 * cash itself. */
static const char *cash_activity(const char *type, const char *sub)
{
	sub = sub ? sub : "";
	if (!strcmp(sub, "bank") || !strcmp(sub, "cash"))
		return NULL;
	if (!strcmp(type, "income") || !strcmp(type, "expense"))
		return "net_income";
	if (!strcmp(sub, "fixed_asset") || !strcmp(sub, "other_asset"))
		return "investing";
	if (!strcmp(type, "equity") || !strcmp(sub, "long_term_liability"))
		return "financing";
	return "operating";
}

/*
 * Indirect method: net income, then the change of every other non-cash
 * account (credit - debit: a rise of a liability is cash in, of an asset
 * cash out) in its activity.  Because every entry balances, the three
 * activities add up to the change of the cash accounts, exactly.
 */
static err_t report_cash_flow(req_t *r)
{
	const char *from, *to, *base;
	cJSON *out;
	err_t rc = range_args(r, &from, &to);
	if (rc || (rc = report_start(r, &out, &base)))
		return rc;
	req_own(r, out);
	db_result *b;
	if ((rc = balances(r, from, to, &b)))
		return rc;
	static const char *const acts[] = { "operating", "investing", "financing" };
	cJSON *sec[3];
	int64_t tot[3] = { 0 }, net_income = 0, cash_change = 0;
	for (int k = 0; k < 3; k++) {
		sec[k] = cJSON_CreateObject();
		cJSON_AddArrayToObject(sec[k], "items");
	}
	for (int i = 0; i < b->nrows; i++) {
		int64_t change = acct_cell_dec(db_get(b, i, "cr"), DEC_MONEY) -
				 acct_cell_dec(db_get(b, i, "dr"), DEC_MONEY);
		const char *act = cash_activity(db_get(b, i, "type"), db_get(b, i, "sub_type"));
		if (!act) {
			cash_change -= change;
			continue;
		}
		if (!strcmp(act, "net_income")) {
			net_income += change;
			continue;
		}
		int k = !strcmp(act, "operating") ? 0 : !strcmp(act, "investing") ? 1 : 2;
		if (change == 0)
			continue;
		tot[k] += change;
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(sec[k], "items"),
				     account_row(r, b, i, "amount", change));
	}
	tot[0] += net_income;
	add_money(r, sec[0], "net_income", net_income);
	if (from)
		cJSON_AddStringToObject(out, "from", from);
	cJSON_AddStringToObject(out, "to", to);
	cJSON_AddStringToObject(out, "currency", base);
	for (int k = 0; k < 3; k++) {
		add_money(r, sec[k], "total", tot[k]);
		cJSON_AddItemToObject(out, acts[k], sec[k]);
	}
	add_money(r, out, "net_change_in_cash", tot[0] + tot[1] + tot[2]);
	add_money(r, out, "cash_change_in_accounts", cash_change);
	/* Opening and closing cash: the cash accounts before from and at to. */
	db_result *c;
	if ((rc = balances(r, NULL, to, &c)))
		return rc;
	int64_t closing = 0;
	for (int i = 0; i < c->nrows; i++)
		if (!cash_activity(db_get(c, i, "type"), db_get(c, i, "sub_type")))
			closing += natural(c, i);
	add_money(r, out, "opening_cash", closing - cash_change);
	add_money(r, out, "closing_cash", closing);
	reply_data(r, 200, cJSON_Duplicate(out, true));
	return E_OK;
}

/* ---------------------------------------------------------- general ledger */

/* One account's ledger: opening balance (debit - credit before from),
 * its postings with a running balance, closing balance. */
static err_t ledger_account(req_t *r, const db_result *a, int i, const char *from,
			    const char *to, int *budget, cJSON *list)
{
	const char *id = db_get(a, i, "id");
	db_param p[] = { db_str(id), db_str(from) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a,
		"SELECT COALESCE(SUM(debit), 0) - COALESCE(SUM(credit), 0) FROM %s "
		"WHERE account_id = ? AND date < ?", tenant_table(r, "_acct_daily")), p, 2, &res);
	if (rc)
		return rc;
	int64_t bal = from ? acct_cell_dec(db_cell(res, 0, 0), DEC_MONEY) : 0;
	db_param q[] = { db_str(id), db_str(from), db_str(from), db_str(to), db_int(*budget + 1) };
	if ((rc = acct_exec(r, arena_printf(r->a,
		"SELECT e.id, e.number, l.date, COALESCE(l.description, e.description) AS description, "
		"l.debit, l.credit FROM %s l JOIN %s e ON e.id = l.entry_id "
		"WHERE l.account_id = ? AND l.posted = 1 AND (? IS NULL OR l.date >= ?) AND l.date <= ? "
		"ORDER BY l.date, e.number, l.line_no LIMIT ?",
		tenant_table(r, "_acct_lines"), tenant_table(r, "_acct_entries")), q, 5, &res)))
		return rc;
	if (res->nrows == 0 && bal == 0)
		return E_OK;
	cJSON *o = account_row(r, a, i, "opening_balance", bal);
	cJSON_AddStringToObject(o, "type", db_get(a, i, "type"));
	cJSON *posts = cJSON_AddArrayToObject(o, "postings");
	int64_t dr_total = 0, cr_total = 0;
	for (int k = 0; k < res->nrows && *budget > 0; k++, (*budget)--) {
		int64_t dr = acct_cell_dec(db_get(res, k, "debit"), DEC_MONEY);
		int64_t cr = acct_cell_dec(db_get(res, k, "credit"), DEC_MONEY);
		bal += dr - cr;
		dr_total += dr;
		cr_total += cr;
		cJSON *pst = cJSON_CreateObject();
		cJSON_AddStringToObject(pst, "entry_id", db_get(res, k, "id"));
		cJSON_AddStringToObject(pst, "number", db_get(res, k, "number"));
		cJSON_AddStringToObject(pst, "date", db_get(res, k, "date"));
		if (db_get(res, k, "description"))
			cJSON_AddStringToObject(pst, "description", db_get(res, k, "description"));
		add_money(r, pst, "debit", dr);
		add_money(r, pst, "credit", cr);
		add_money(r, pst, "balance", bal);
		cJSON_AddItemToArray(posts, pst);
	}
	add_money(r, o, "total_debit", dr_total);
	add_money(r, o, "total_credit", cr_total);
	add_money(r, o, "closing_balance", bal);
	cJSON_AddItemToArray(list, o);
	return E_OK;
}

static err_t report_general_ledger(req_t *r)
{
	const char *from, *to, *base, *account = req_query(r, "account_id");
	cJSON *out;
	err_t rc = range_args(r, &from, &to);
	if (rc || (rc = report_start(r, &out, &base)))
		return rc;
	req_own(r, out);
	db_param p[] = { db_str(account), db_str(account) };
	db_result *a;
	if ((rc = acct_exec(r, arena_printf(r->a,
		"SELECT id, code, name, type, sub_type FROM %s WHERE ? IS NULL OR id = ? ORDER BY code",
		tenant_table(r, "_acct_accounts")), p, 2, &a)))
		return rc;
	if (account && a->nrows == 0)
		return req_fail_field(r, E_VALIDATION, "account_id", "account_id: no such account");
	if (from)
		cJSON_AddStringToObject(out, "from", from);
	cJSON_AddStringToObject(out, "to", to);
	cJSON_AddStringToObject(out, "currency", base);
	cJSON *list = cJSON_AddArrayToObject(out, "accounts");
	int budget = LEDGER_LINES_MAX;
	for (int i = 0; i < a->nrows && budget > 0; i++)
		if ((rc = ledger_account(r, a, i, from, to, &budget, list)))
			return rc;
	cJSON_AddBoolToObject(out, "truncated", budget <= 0);
	reply_data(r, 200, cJSON_Duplicate(out, true));
	return E_OK;
}

/* ----------------------------------------------------------- aged reports */

static const char *const age_buckets[] = { "current", "1_30", "31_60", "61_90", "90_plus" };

/* The open invoices (sales) or bills (purchase) dated on or before as_of,
 * their balance in the base currency in buckets of days past due, per
 * contact.  Balances are today's (payments after as_of count). */
static err_t report_aged(req_t *r, const char *type)
{
	const char *as_of, *base;
	cJSON *out;
	err_t rc = acct_query_date(r, "as_of", &as_of);
	if (rc || (rc = report_start(r, &out, &base)))
		return rc;
	req_own(r, out);
	if (!as_of)
		as_of = today(r);
	db_param p[] = { db_str(as_of), db_str(type), db_str(as_of) };
	db_result *res;
	if ((rc = acct_exec(r, arena_printf(r->a,
		"SELECT contact_name, total - amount_paid AS due, exchange_rate, "
		"DATEDIFF(?, due_date) AS days FROM %s WHERE type = ? AND date <= ? "
		"AND status IN ('approved', 'partially_paid') ORDER BY contact_name, due_date",
		tenant_table(r, "_acct_invoices")), p, 3, &res)))
		return rc;
	cJSON_AddStringToObject(out, "as_of", as_of);
	cJSON_AddStringToObject(out, "currency", base);
	cJSON *contacts = cJSON_AddArrayToObject(out, "contacts");
	int64_t totals[5] = { 0 }, sums[5] = { 0 };
	for (int i = 0; i < res->nrows; i++) {
		int64_t due = acct_cell_dec(db_get(res, i, "due"), DEC_MONEY), based = 0;
		dec_mul(due, DEC_MONEY, acct_cell_dec(db_get(res, i, "exchange_rate"), DEC_RATE),
			DEC_RATE, DEC_MONEY, &based);
		long days = strtol(db_get(res, i, "days"), NULL, 10);
		int k = days <= 0 ? 0 : days <= 30 ? 1 : days <= 60 ? 2 : days <= 90 ? 3 : 4;
		sums[k] += based;
		totals[k] += based;
		const char *next = i + 1 < res->nrows ? db_get(res, i + 1, "contact_name") : NULL;
		if (next && !strcmp(next, db_get(res, i, "contact_name")))
			continue;
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "contact_name", db_get(res, i, "contact_name"));
		int64_t t = 0;
		for (int j = 0; j < 5; j++) {
			add_money(r, c, age_buckets[j], sums[j]);
			t += sums[j];
			sums[j] = 0;
		}
		add_money(r, c, "total", t);
		cJSON_AddItemToArray(contacts, c);
	}
	cJSON *tot = cJSON_AddObjectToObject(out, "totals");
	int64_t all = 0;
	for (int j = 0; j < 5; j++) {
		add_money(r, tot, age_buckets[j], totals[j]);
		all += totals[j];
	}
	add_money(r, tot, "total", all);
	reply_data(r, 200, cJSON_Duplicate(out, true));
	return E_OK;
}

static err_t report_aged_receivables(req_t *r)
{
	return report_aged(r, "sales");
}

static err_t report_aged_payables(req_t *r)
{
	return report_aged(r, "purchase");
}

/* ------------------------------------------------------------------- tax */

/*
 * Per tax code, from its posted lines dated from..to: lines on the code's
 * tax account are tax (credits collected, debits paid), the code's other
 * lines the taxable amounts (credits sales, debits purchases).
 */
static err_t report_tax(req_t *r)
{
	const char *from, *to, *base;
	cJSON *out;
	err_t rc = range_args(r, &from, &to);
	if (rc || (rc = report_start(r, &out, &base)))
		return rc;
	req_own(r, out);
	db_param p[] = { db_str(from), db_str(from), db_str(to) };
	db_result *res;
	if ((rc = acct_exec(r, arena_printf(r->a,
		"SELECT t.id, t.code, t.name, t.rate, "
		"SUM(IF(l.account_id = t.account_id, l.credit, 0)) AS collected, "
		"SUM(IF(l.account_id = t.account_id, l.debit, 0)) AS paid, "
		"SUM(IF(l.account_id <> t.account_id, l.credit, 0)) AS sales, "
		"SUM(IF(l.account_id <> t.account_id, l.debit, 0)) AS purchases "
		"FROM %s t JOIN %s l ON l.tax_code_id = t.id AND l.posted = 1 "
		"AND (? IS NULL OR l.date >= ?) AND l.date <= ? "
		"GROUP BY t.id, t.code, t.name, t.rate ORDER BY t.code",
		tenant_table(r, "_acct_tax_codes"), tenant_table(r, "_acct_lines")), p, 3, &res)))
		return rc;
	if (from)
		cJSON_AddStringToObject(out, "from", from);
	cJSON_AddStringToObject(out, "to", to);
	cJSON_AddStringToObject(out, "currency", base);
	cJSON *list = cJSON_AddArrayToObject(out, "tax_codes");
	static const char *const cols[] = { "sales", "collected", "purchases", "paid" };
	static const char *const names[] = { "taxable_sales", "tax_collected", "taxable_purchases",
					     "tax_paid" };
	int64_t tot[4] = { 0 };
	for (int i = 0; i < res->nrows; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "tax_code_id", db_get(res, i, "id"));
		cJSON_AddStringToObject(o, "code", db_get(res, i, "code"));
		cJSON_AddStringToObject(o, "name", db_get(res, i, "name"));
		cJSON_AddStringToObject(o, "rate", db_get(res, i, "rate"));
		int64_t v[4];
		for (int k = 0; k < 4; k++) {
			v[k] = acct_cell_dec(db_get(res, i, cols[k]), DEC_MONEY);
			tot[k] += v[k];
			add_money(r, o, names[k], v[k]);
		}
		add_money(r, o, "net_tax", v[1] - v[3]);
		cJSON_AddItemToArray(list, o);
	}
	cJSON *t = cJSON_AddObjectToObject(out, "totals");
	for (int k = 0; k < 4; k++)
		add_money(r, t, names[k], tot[k]);
	add_money(r, t, "net_tax", tot[1] - tot[3]);
	reply_data(r, 200, cJSON_Duplicate(out, true));
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t accounting_reports_routes[] = {
	ROUTE("GET", "/v1/accounting/reports/trial-balance", "Accounting", AUTH_BEARER, "read", NULL, 0, report_trial_balance, NULL, "Trial balance report"),
	ROUTE("GET", "/v1/accounting/reports/profit-and-loss", "Accounting", AUTH_BEARER, "read", NULL, 0, report_profit_and_loss, NULL, "Profit and loss report"),
	ROUTE("GET", "/v1/accounting/reports/balance-sheet", "Accounting", AUTH_BEARER, "read", NULL, 0, report_balance_sheet, NULL, "Balance sheet report"),
	ROUTE("GET", "/v1/accounting/reports/cash-flow", "Accounting", AUTH_BEARER, "read", NULL, 0, report_cash_flow, NULL, "Cash flow statement"),
	ROUTE("GET", "/v1/accounting/reports/general-ledger", "Accounting", AUTH_BEARER, "read", NULL, 0, report_general_ledger, NULL, "General ledger report"),
	ROUTE("GET", "/v1/accounting/reports/aged-receivables", "Accounting", AUTH_BEARER, "read", NULL, 0, report_aged_receivables, NULL, "Aged receivables report"),
	ROUTE("GET", "/v1/accounting/reports/aged-payables", "Accounting", AUTH_BEARER, "read", NULL, 0, report_aged_payables, NULL, "Aged payables report"),
	ROUTE("GET", "/v1/accounting/reports/tax", "Accounting", AUTH_BEARER, "read", NULL, 0, report_tax, NULL, "Tax report"),
	ROUTES_END,
};
