/*
 * accounting.c - the books of a tenant: their settings and standard chart
 * (made on first use), the chart of accounts, currencies and exchange
 * rates, tax codes and accounting periods with close and reopen.  Each
 * is a descriptor on the resource engine; the hooks hold the accounting
 * rules (an account's parent is of its type, an account with postings is
 * deactivated rather than deleted, periods do not overlap, a closed
 * period refuses changes).  Journal entries are in accounting_ledger.c,
 * reports in accounting_reports.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../fcgi/journal.h"
#include "accounting.h"
#include "routes.h"

/* ------------------------------------------------------------- the books */

/* The chart a tenant starts with (README "Accounting"). */
static const struct {
	const char *code, *name, *type, *sub_type;
} standard_chart[] = {
	{ "1000", "Cash at bank", "asset", "bank" },
	{ "1100", "Accounts receivable", "asset", "receivable" },
	{ "1200", "Inventory", "asset", "inventory" },
	{ "1500", "Fixed assets", "asset", "fixed_asset" },
	{ "2000", "Accounts payable", "liability", "payable" },
	{ "2100", "Sales tax", "liability", "tax" },
	{ "2500", "Loans", "liability", "long_term_liability" },
	{ "3000", "Owner's equity", "equity", "equity" },
	{ "3900", "Retained earnings", "equity", "retained_earnings" },
	{ "4000", "Sales", "income", "sales" },
	{ "4900", "Other income", "income", "other_income" },
	{ "5000", "Cost of goods sold", "expense", "cost_of_sales" },
	{ "6000", "Operating expenses", "expense", "operating_expense" },
	{ "6100", "Rent", "expense", "operating_expense" },
	{ "6200", "Bank fees", "expense", "operating_expense" },
	{ "7000", "Exchange gains and losses", "expense", "other_expense" },
};

err_t acct_exec(req_t *r, const char *sql, const db_param *p, int np, db_result **out)
{
	enum db_status st = db_exec(r->db, r->a, sql, p, np, out);
	return st ? req_db_error(r, st) : E_OK;
}

err_t acct_action(req_t *r, const resource_t *res, const char *id, acct_tx_fn fn, const char *arg)
{
	const char *out = id;
	err_t rc = acct_ready(r, NULL);
	if (rc)
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	res_ctx_t c;
	cJSON *row;
	if ((rc = req_tx_end(r, fn(r, id, arg, &out))) || (rc = resource_ctx(r, res, OP_GET, &c)) ||
	    (rc = resource_fetch(r, &c, out, false, &row)))
		return rc;
	reply_data(r, 200, cJSON_Duplicate(row, true));
	return E_OK;
}

err_t acct_write_reply(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_DELETE)
		return resource_reply_default(r, c);
	cJSON *row;
	err_t rc = resource_fetch(r, c, c->id, false, &row);
	if (!rc)
		reply_data(r, c->status, cJSON_Duplicate(row, true));
	return rc;
}

/* Settings, USD and the chart, in one transaction: a concurrent first
 * request waits on the settings row and then finds the books made. */
static err_t books_make(req_t *r)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a,
		"INSERT IGNORE INTO %s (id, base_currency, created_at) VALUES (1, 'USD', UTC_TIMESTAMP(3))",
		tenant_table(r, "_acct_settings")), NULL, 0, &res);
	if (rc || res->affected == 0)
		return req_tx_end(r, rc);
	char id[48];
	id_new(id, sizeof(id), "cur_");
	db_param cp[] = { db_str(id) };
	rc = acct_exec(r, arena_printf(r->a,
		"INSERT IGNORE INTO %s (id, code, name, symbol, decimal_places, is_base, created_at, "
		"updated_at) VALUES (?, 'USD', 'US Dollar', '$', 2, 1, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		tenant_table(r, "_acct_currencies")), cp, 1, NULL);
	id_new(id, sizeof(id), "cur_");
	if (!rc)
		rc = acct_exec(r, arena_printf(r->a,
			"INSERT IGNORE INTO %s (id, code, name, symbol, decimal_places, is_base, "
			"created_at, updated_at) VALUES (?, 'EUR', 'Euro', '\u20ac', 2, 0, "
			"UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", tenant_table(r, "_acct_currencies")),
			cp, 1, NULL);
	const char *sql = arena_printf(r->a,
		"INSERT IGNORE INTO %s (id, code, name, type, sub_type, currency, created_at, updated_at) "
		"VALUES (?, ?, ?, ?, ?, 'USD', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		tenant_table(r, "_acct_accounts"));
	for (size_t i = 0; !rc && i < sizeof(standard_chart) / sizeof(standard_chart[0]); i++) {
		id_new(id, sizeof(id), "acc_");
		db_param p[] = { db_str(id), db_str(standard_chart[i].code),
				 db_str(standard_chart[i].name), db_str(standard_chart[i].type),
				 db_str(standard_chart[i].sub_type) };
		rc = acct_exec(r, sql, p, 5, NULL);
	}
	return req_tx_end(r, rc);
}

err_t acct_ready(req_t *r, const char **base)
{
	const char *sql = arena_printf(r->a, "SELECT base_currency FROM %s WHERE id = 1",
				       tenant_table(r, "_acct_settings"));
	db_result *res;
	err_t rc = acct_exec(r, sql, NULL, 0, &res);
	if (!rc && res->nrows == 0 && !(rc = books_make(r)))
		rc = acct_exec(r, sql, NULL, 0, &res);
	if (rc)
		return rc;
	if (res->nrows == 0)
		return req_fail(r, E_INTERNAL, "The books could not be made");
	if (base)
		*base = db_cell(res, 0, 0);
	return E_OK;
}

err_t acct_res_ready(req_t *r, res_ctx_t *c)
{
	(void)c;
	return acct_ready(r, NULL);
}

/* ----------------------------------------------------------- value checks */

bool acct_date_valid(const char *s)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1900 || m < 1 || m > 12 || d < 1)
		return false;
	return d <= days[m - 1] + (m == 2 && leap);
}

err_t acct_check_date(req_t *r, const res_field_t *f, const cJSON *v)
{
	if (!acct_date_valid(v->valuestring))
		return req_fail_field(r, E_VALIDATION, f->name, "%s must be a date YYYY-MM-DD", f->name);
	return E_OK;
}

err_t acct_query_date(req_t *r, const char *name, const char **out)
{
	const char *v = req_query(r, name);
	if (v && !acct_date_valid(v))
		return req_fail_field(r, E_VALIDATION, name, "%s must be a date YYYY-MM-DD", name);
	*out = v;
	return E_OK;
}

err_t acct_currency_places(req_t *r, const char *code, const char *field, int *places)
{
	db_param p[] = { db_str(code) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT decimal_places FROM %s WHERE code = ?",
					tenant_table(r, "_acct_currencies")), p, 1, &res);
	if (rc)
		return rc;
	if (res->nrows == 0)
		return req_fail_field(r, E_VALIDATION, field,
				      "%s: currency \"%.8s\" is not one of the tenant's currencies "
				      "(POST /v1/accounting/currencies)", field, code ? code : "");
	*places = (int)db_get_int(res, 0, "decimal_places", 2);
	return E_OK;
}

err_t acct_money_arg(req_t *r, const cJSON *v, const char *field, int places, bool zero_ok,
		     int64_t *out)
{
	if (!dec_from_json(v, DEC_MONEY, DEC_MONEY_MAX, out))
		return req_fail_field(r, E_VALIDATION, field,
				      "%s must be a decimal amount such as \"125.50\" (at most %d "
				      "decimal places and 14 integer digits)", field, places);
	if (*out < 0 || (*out == 0 && !zero_ok))
		return req_fail_field(r, E_VALIDATION, field, "%s must be %s", field,
				      zero_ok ? "zero or positive" : "positive");
	if (!dec_fits(*out, DEC_MONEY, places))
		return req_fail_field(r, E_VALIDATION, field,
				      "%s has more than the currency's %d decimal places", field, places);
	return E_OK;
}

err_t acct_rate_on(req_t *r, const char *from, const char *to, const char *date, int64_t *rate,
		   bool *found)
{
	db_param p[] = { db_str(from), db_str(to), db_str(date) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a,
		"SELECT rate FROM %s WHERE from_currency = ? AND to_currency = ? AND effective_date <= ? "
		"ORDER BY effective_date DESC LIMIT 1", tenant_table(r, "_acct_exchange_rates")),
		p, 3, &res);
	if (rc)
		return rc;
	*found = res->nrows > 0;
	*rate = *found ? acct_cell_dec(db_cell(res, 0, 0), DEC_RATE) : 0;
	return E_OK;
}

err_t acct_account_of(req_t *r, const char *sub, const char *field, const char **out)
{
	db_param p[] = { db_str(sub) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT id FROM %s WHERE sub_type = ? AND is_active = 1 "
					"ORDER BY code LIMIT 1", tenant_table(r, "_acct_accounts")),
			p, 1, &res);
	if (!rc && res->nrows == 0)
		return req_fail_field(r, E_VALIDATION, field,
				      "%s is required: the chart has no active %s account", field, sub);
	if (!rc)
		*out = db_cell(res, 0, 0);
	return rc;
}

err_t acct_rate_to_base(req_t *r, const char *currency, const char *date, const char *field,
			int64_t *rate)
{
	const char *base;
	bool found;
	err_t rc = acct_ready(r, &base);
	if (rc)
		return rc;
	if (!strcmp(currency, base)) {
		*rate = 100000000;
		return E_OK;
	}
	if ((rc = acct_rate_on(r, currency, base, date, rate, &found)) || found)
		return rc;
	int64_t inverse;
	if ((rc = acct_rate_on(r, base, currency, date, &inverse, &found)))
		return rc;
	if (found && dec_div(100000000, DEC_RATE, inverse, DEC_RATE, DEC_RATE, rate))
		return E_OK;
	return req_fail_field(r, E_VALIDATION, field,
			      "%s is required: the tenant has no %s to %s rate on or before %s "
			      "(POST /v1/accounting/exchange-rates)", field, currency, base, date);
}

const char *acct_money_text(req_t *r, int64_t v)
{
	char buf[DEC_BUF];
	return arena_strdup(r->a, dec_format(buf, sizeof(buf), v, DEC_MONEY, DEC_MONEY));
}

int64_t acct_cell_dec(const char *cell, int scale)
{
	int64_t v = 0;
	if (cell && !dec_parse(cell, scale, INT64_MAX, &v))
		v = 0;
	return v;
}

/* A rate field (string or number): positive at scale DEC_RATE; the hook
 * stores the normalised text. */
static err_t check_rate(req_t *r, const res_field_t *f, const cJSON *v)
{
	int64_t x;
	if (!dec_from_json(v, DEC_RATE, DEC_RATE_MAX, &x) || x < 0 ||
	    (x == 0 && strcmp(f->name, "rate")))
		return req_fail_field(r, E_VALIDATION, f->name,
				      "%s must be a decimal number such as \"1.0825\" (at most 8 "
				      "decimal places)", f->name);
	return E_OK;
}

/* Stores the body's rate (checked) as its exact decimal text. */
static void set_rate(req_t *r, res_ctx_t *c, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, name);
	int64_t x;
	if (!v || !dec_from_json(v, DEC_RATE, INT64_MAX, &x))
		return;
	char buf[DEC_BUF];
	resource_set(c, name, db_str(arena_strdup(r->a, dec_format(buf, sizeof(buf), x, DEC_RATE,
								   DEC_RATE))));
}

/* Rows of table where column = id (the dependents of a row). */
static err_t count_where(req_t *r, const char *table, const char *column, const char *id,
			 long long *n)
{
	db_param p[] = { db_str(id) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT COUNT(*) FROM %s WHERE %s = ?",
					tenant_table(r, table), column), p, 1, &res);
	*n = rc ? 0 : strtoll(db_cell(res, 0, 0), NULL, 10);
	return rc;
}

/* 409 DEPENDENCY_EXISTS with the count, and no way to force it: what
 * depends on the row is history. */
static err_t in_use(req_t *r, const char *name, const char *type, const char *label,
		    long long n, const char *advice)
{
	cJSON *extra = cJSON_CreateObject();
	cJSON *deps = cJSON_AddArrayToObject(extra, "dependencies");
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "type", type);
	cJSON_AddNumberToObject(d, "count", (double)n);
	cJSON_AddStringToObject(d, "label", label);
	cJSON_AddItemToArray(deps, d);
	r->err_extra = req_own(r, extra);
	return req_fail(r, E_DEPENDENCY_EXISTS, "Cannot delete: the %s has %lld %s%s", name, n,
			label, advice);
}

/* ------------------------------------------------------------- accounts */

static const char *const account_types[] = { "asset", "liability", "equity", "income", "expense",
					     NULL };
static const char *const account_sub_types[] = {
	"bank", "cash", "receivable", "current_asset", "inventory", "fixed_asset", "other_asset",
	"payable", "current_liability", "tax", "long_term_liability", "equity",
	"retained_earnings", "sales", "other_income", "cost_of_sales", "operating_expense",
	"other_expense", NULL,
};

static err_t check_code(req_t *r, const res_field_t *f, const cJSON *v)
{
	const char *s = v->valuestring;
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._") != strlen(s))
		return req_fail_field(r, E_VALIDATION, f->name,
				      "%s may hold only letters, digits and - . _", f->name);
	return E_OK;
}

static err_t check_currency_code(req_t *r, const res_field_t *f, const cJSON *v)
{
	const char *s = v->valuestring;
	if (strlen(s) != 3 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
		return req_fail_field(r, E_VALIDATION, f->name,
				      "%s must be an ISO 4217 code of three capital letters (\"EUR\")",
				      f->name);
	return E_OK;
}

static const res_field_t account_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "code", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_UPDATE | RF_REQUIRED | RF_UNIQUE | RF_FILTER | RF_SORT, .min = 1,
	  .max = 20, .check = check_code },
	{ .name = "name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_SORT, .min = 1, .max = 200 },
	{ .name = "type", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_REQUIRED | RF_FILTER, .values = account_types },
	{ .name = "sub_type", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE | RF_FILTER, .values = account_sub_types },
	{ .name = "parent_id", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE | RF_FILTER, .max = 40 },
	{ .name = "description", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE, .max = 1000 },
	{ .name = "currency", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_NULLABLE,
	  .check = check_currency_code },
	{ .name = "is_active", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_UPDATE | RF_FILTER },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The parent is an account of the same type and not the account itself
 * or below it. */
static err_t account_parent_check(req_t *r, res_ctx_t *c, const char *type)
{
	const char *parent = json_str_of(c->body, "parent_id");
	if (!parent)
		return E_OK;
	for (const char *at = parent; at; ) {
		if (c->op == OP_UPDATE && !strcmp(at, c->id))
			return req_fail_field(r, E_VALIDATION, "parent_id",
					      "parent_id would make the account its own ancestor");
		db_param p[] = { db_str(at) };
		db_result *res;
		err_t rc = acct_exec(r, arena_printf(r->a, "SELECT type, parent_id FROM %s WHERE id = ?",
						tenant_table(r, "_acct_accounts")), p, 1, &res);
		if (rc)
			return rc;
		if (res->nrows == 0)
			return req_fail_field(r, E_VALIDATION, "parent_id", "parent_id: account not found");
		if (at == parent && strcmp(db_get(res, 0, "type"), type))
			return req_fail_field(r, E_VALIDATION, "parent_id",
					      "parent_id must be an account of the same type (%s)", type);
		const char *up = db_get(res, 0, "parent_id");
		at = up ? arena_strdup(r->a, up) : NULL;
	}
	return E_OK;
}

static err_t account_validate(req_t *r, res_ctx_t *c)
{
	const char *type = c->op == OP_CREATE ? json_str_of(c->body, "type")
					      : json_str_of(c->before, "type");
	err_t rc = account_parent_check(r, c, type);
	if (rc)
		return rc;
	const char *cur = json_str_of(c->body, "currency");
	int places;
	if (cur && (rc = acct_currency_places(r, cur, "currency", &places)))
		return rc;
	if (c->op == OP_CREATE && !cur) {
		const char *base;
		if ((rc = acct_ready(r, &base)))
			return rc;
		resource_set(c, "currency", db_str(base));
	}
	return E_OK;
}

/* ?active=true|false, the reference's name of the is_active filter. */
static err_t account_list(req_t *r, res_ctx_t *c)
{
	bool active;
	if (!req_query(r, "active"))
		return E_OK;
	err_t rc = req_query_bool(r, "active", true, &active);
	if (!rc)
		query_and_bind(r, c->list, "is_active = ?", db_int(active));
	return rc;
}

static err_t account_before_delete(req_t *r, res_ctx_t *c)
{
	static const struct {
		const char *table, *column, *type, *label;
	} deps[] = {
		{ "_acct_lines", "account_id", "journal_lines", "journal lines" },
		{ "_acct_accounts", "parent_id", "accounts", "sub-accounts" },
		{ "_acct_tax_codes", "account_id", "tax_codes", "tax codes" },
		{ "_acct_bank_accounts", "gl_account_id", "bank_accounts", "bank accounts" },
		{ "_acct_invoice_lines", "account_id", "invoice_lines", "invoice lines" },
	};
	for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++) {
		long long n;
		err_t rc = count_where(r, deps[i].table, deps[i].column, c->id, &n);
		if (rc)
			return rc;
		if (n)
			return in_use(r, "account", deps[i].type, deps[i].label, n,
				      i == 0 ? "; deactivate it instead (is_active false)" : "");
	}
	return E_OK;
}

static const res_hooks_t account_hooks = {
	.parent = acct_res_ready,
	.validate = account_validate,
	.list = account_list,
	.before_delete = account_before_delete,
};

static const resource_t account_res = {
	.name = "Account", .type = "accounting_account", .table = "_acct_accounts",
	.home = RES_TENANT, .id_param = "account_id", .id_prefix = "acc_",
	.fields = account_fields, .order = "code", .title = "code", .hooks = &account_hooks,
	.list_max = 1000, .list_default = 1000,
	.example = "{\"code\":\"1010\",\"name\":\"Petty cash\",\"type\":\"asset\",\"sub_type\":\"cash\"}",
};

/* ------------------------------------------------------------ currencies */

static const res_field_t currency_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "code", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_REQUIRED | RF_UNIQUE | RF_FILTER, .check = check_currency_code },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = 100 },
	{ .name = "symbol", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 8 },
	{ .name = "decimal_places", .type = COL_INT, .in = FT_INT, .flags = RF_WRITABLE, .min = 0,
	  .max = 4 },
	{ .name = "is_base", .type = COL_BOOL },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* Fewer decimal places than amounts already posted in it would make them
 * unrepresentable: only more, once it is used. */
static err_t currency_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *dp = cJSON_GetObjectItemCaseSensitive(c->body, "decimal_places");
	if (c->op != OP_UPDATE || !cJSON_IsNumber(dp))
		return E_OK;
	long long n;
	err_t rc = count_where(r, "_acct_lines", "currency", json_str_of(c->before, "code"), &n);
	if (rc)
		return rc;
	const cJSON *was = cJSON_GetObjectItemCaseSensitive(c->before, "decimal_places");
	double before = cJSON_IsRaw(was) ? strtod(was->valuestring, NULL) : was ? was->valuedouble : 0;
	if (n && dp->valuedouble < before)
		return req_fail_field(r, E_CONFLICT, "decimal_places",
				      "decimal_places cannot shrink: %lld journal lines use this currency",
				      n);
	return E_OK;
}

static err_t currency_before_delete(req_t *r, res_ctx_t *c)
{
	const char *code = json_str_of(c->before, "code");
	const cJSON *base = cJSON_GetObjectItemCaseSensitive(c->before, "is_base");
	if (cJSON_IsTrue(base))
		return req_fail(r, E_CONFLICT, "The base currency cannot be deleted");
	long long n;
	err_t rc = count_where(r, "_acct_lines", "currency", code, &n);
	if (!rc && n)
		return in_use(r, "currency", "journal_lines", "journal lines", n, "");
	if (!rc && !(rc = count_where(r, "_acct_accounts", "currency", code, &n)) && n)
		return in_use(r, "currency", "accounts", "accounts", n, "");
	return rc;
}

static const res_hooks_t currency_hooks = {
	.parent = acct_res_ready,
	.validate = currency_validate,
	.before_delete = currency_before_delete,
};

static const resource_t currency_res = {
	.name = "Currency", .type = "accounting_currency", .table = "_acct_currencies",
	.home = RES_TENANT, .id_param = "currency_id", .id_prefix = "cur_",
	.fields = currency_fields, .order = "code", .title = "code", .hooks = &currency_hooks,
	.example = "{\"code\":\"CHF\",\"name\":\"Swiss franc\",\"symbol\":\"Fr\",\"decimal_places\":2}",
};

/* -------------------------------------------------------- exchange rates */

static const res_field_t rate_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "from_currency", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_REQUIRED | RF_FILTER, .check = check_currency_code },
	{ .name = "to_currency", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_REQUIRED | RF_FILTER, .check = check_currency_code },
	{ .name = "rate", .type = COL_STR, .in = FT_ANY, .flags = RF_CREATE | RF_REQUIRED,
	  .check = check_rate },
	{ .name = "effective_date", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_REQUIRED | RF_SORT, .check = acct_check_date },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

static err_t rate_validate(req_t *r, res_ctx_t *c)
{
	const char *from = json_str_of(c->body, "from_currency");
	const char *to = json_str_of(c->body, "to_currency");
	int places;
	err_t rc;
	if (!strcmp(from, to))
		return req_fail_field(r, E_VALIDATION, "to_currency",
				      "to_currency must differ from from_currency");
	int64_t x = 0;
	dec_from_json(cJSON_GetObjectItemCaseSensitive(c->body, "rate"), DEC_RATE, INT64_MAX, &x);
	if (x <= 0)
		return req_fail_field(r, E_VALIDATION, "rate", "rate must be positive");
	if ((rc = acct_currency_places(r, from, "from_currency", &places)) ||
	    (rc = acct_currency_places(r, to, "to_currency", &places)))
		return rc;
	set_rate(r, c, "rate");
	return E_OK;
}

/* One rate per pair and day. */
static err_t rate_conflict(req_t *r, res_ctx_t *c)
{
	(void)c;
	return req_fail_field(r, E_CONFLICT, "effective_date",
			      "A rate for this pair and effective_date already exists; delete it "
			      "first");
}

static const res_hooks_t rate_hooks = {
	.parent = acct_res_ready,
	.validate = rate_validate,
	.conflict = rate_conflict,
};

static const resource_t rate_res = {
	.name = "Exchange rate", .type = "accounting_exchange_rate", .table = "_acct_exchange_rates",
	.home = RES_TENANT, .id_param = "rate_id", .id_prefix = "fxr_", .fields = rate_fields,
	.order = "effective_date DESC", .hooks = &rate_hooks,
	.example = "{\"from_currency\":\"EUR\",\"to_currency\":\"USD\",\"rate\":\"1\","
		   "\"effective_date\":\"2026-01-01\"}",
};

/* ------------------------------------------------------------- tax codes */

static const char *const tax_types[] = { "exclusive", "inclusive", NULL };

static const res_field_t tax_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "code", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_REQUIRED | RF_UNIQUE | RF_FILTER, .min = 1, .max = 20,
	  .check = check_code },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = 200 },
	{ .name = "rate", .type = COL_STR, .in = FT_ANY, .flags = RF_WRITABLE | RF_REQUIRED,
	  .check = check_rate },
	{ .name = "type", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_FILTER,
	  .values = tax_types },
	{ .name = "category", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE | RF_FILTER, .max = 32 },
	{ .name = "account_id", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE, .max = 40 },
	{ .name = "is_active", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_UPDATE | RF_FILTER },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The rate is a percentage of at most 100; the tax account is the one
 * named, else the chart's first tax account. */
static err_t tax_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *rate = cJSON_GetObjectItemCaseSensitive(c->body, "rate");
	int64_t x;
	if (rate && dec_from_json(rate, DEC_RATE, INT64_MAX, &x) && x > INT64_C(100) * 100000000)
		return req_fail_field(r, E_VALIDATION, "rate", "rate is a percentage: at most 100");
	set_rate(r, c, "rate");
	const char *acc = json_str_of(c->body, "account_id");
	db_result *res;
	err_t rc;
	if (acc) {
		db_param p[] = { db_str(acc) };
		rc = acct_exec(r, arena_printf(r->a, "SELECT id FROM %s WHERE id = ? AND type IN "
					  "('liability', 'asset')", tenant_table(r, "_acct_accounts")),
			  p, 1, &res);
		if (!rc && res->nrows == 0)
			return req_fail_field(r, E_VALIDATION, "account_id",
					      "account_id must be a liability or asset account of the "
					      "chart");
		return rc;
	}
	if (c->op != OP_CREATE)
		return E_OK;
	if (!(rc = acct_account_of(r, "tax", "account_id", &acc)))
		resource_set(c, "account_id", db_str(acc));
	return rc;
}

static err_t tax_before_delete(req_t *r, res_ctx_t *c)
{
	long long n;
	err_t rc = count_where(r, "_acct_lines", "tax_code_id", c->id, &n);
	if (!rc && n)
		return in_use(r, "tax code", "journal_lines", "journal lines", n,
			      "; deactivate it instead (is_active false)");
	if (!rc && !(rc = count_where(r, "_acct_invoice_lines", "tax_code_id", c->id, &n)) && n)
		return in_use(r, "tax code", "invoice_lines", "invoice lines", n,
			      "; deactivate it instead (is_active false)");
	return rc;
}

static const res_hooks_t tax_hooks = {
	.parent = acct_res_ready,
	.validate = tax_validate,
	.before_delete = tax_before_delete,
};

static const resource_t tax_res = {
	.name = "Tax code", .type = "accounting_tax_code", .table = "_acct_tax_codes",
	.home = RES_TENANT, .id_param = "tax_code_id", .id_prefix = "tax_", .fields = tax_fields,
	.order = "code", .title = "code", .hooks = &tax_hooks,
	.example = "{\"code\":\"VAT20\",\"name\":\"VAT 20%\",\"rate\":\"20\",\"type\":\"exclusive\","
		   "\"category\":\"standard\"}",
};

/* --------------------------------------------------------------- periods */

static const res_field_t period_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = 100 },
	{ .name = "start_date", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_SORT, .check = acct_check_date },
	{ .name = "end_date", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .check = acct_check_date },
	{ .name = "status", .type = COL_STR, .flags = RF_FILTER },
	{ .name = "closed_at", .type = COL_TIME },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* A closed period is changed only by reopening it; dates in order and
 * clear of every other period. */
static err_t period_validate(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_UPDATE && !strcmp(json_str_of(c->before, "status"), "closed"))
		return req_fail(r, E_PERIOD_CLOSED, "The period is closed; reopen it to change it");
	const char *start = json_str_of(c->body, "start_date");
	const char *end = json_str_of(c->body, "end_date");
	if (!start)
		start = json_str_of(c->before, "start_date");
	if (!end)
		end = json_str_of(c->before, "end_date");
	if (strcmp(start, end) > 0)
		return req_fail_field(r, E_VALIDATION, "end_date", "end_date must not be before start_date");
	db_param p[] = { db_str(end), db_str(start), db_str(c->id) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a,
		"SELECT name FROM %s WHERE start_date <= ? AND end_date >= ? AND id <> ? LIMIT 1",
		tenant_table(r, "_acct_periods")), p, 3, &res);
	if (!rc && res->nrows)
		return req_fail_field(r, E_CONFLICT, "start_date",
				      "The dates overlap the period \"%s\"", db_cell(res, 0, 0));
	return rc;
}

static err_t period_before_delete(req_t *r, res_ctx_t *c)
{
	if (!strcmp(json_str_of(c->before, "status"), "closed"))
		return req_fail(r, E_PERIOD_CLOSED, "The period is closed; reopen it to delete it");
	return E_OK;
}

static const res_hooks_t period_hooks = {
	.parent = acct_res_ready,
	.validate = period_validate,
	.before_delete = period_before_delete,
};

static const resource_t period_res = {
	.name = "Period", .type = "accounting_period", .table = "_acct_periods",
	.home = RES_TENANT, .id_param = "period_id", .id_prefix = "per_", .fields = period_fields,
	.order = "start_date", .title = "name", .hooks = &period_hooks,
	.example = "{\"name\":\"January 1990\",\"start_date\":\"1990-01-01\","
		   "\"end_date\":\"1990-01-31\"}",
};

/*
 * close and reopen: a status change, audited, in one transaction.  Closing
 * locks the period row, which every posting into it share-locks, so no
 * posting lands in a period while it closes.  Drafts dated inside would
 * be stranded: closing is refused with their count.
 */
static err_t period_set_status(req_t *r, const char *id, const char *want, const char **out)
{
	(void)out;
	bool close = !strcmp(want, "closed");
	db_param p[] = { db_str(id) };
	db_result *row, *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT name, status, start_date, end_date FROM %s "
					     "WHERE id = ? FOR UPDATE", tenant_table(r, "_acct_periods")),
			     p, 1, &row);
	if (rc)
		return rc;
	if (row->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Period not found");
	if (!strcmp(db_get(row, 0, "status"), want))
		return req_fail(r, E_CONFLICT, "The period is already %s", want);
	db_param q[] = { db_str(db_get(row, 0, "start_date")), db_str(db_get(row, 0, "end_date")) };
	if (close && (rc = acct_exec(r, arena_printf(r->a,
		"SELECT COUNT(*) FROM %s WHERE status = 'draft' AND date BETWEEN ? AND ?",
		tenant_table(r, "_acct_entries")), q, 2, &res)))
		return rc;
	if (close && strcmp(db_cell(res, 0, 0), "0"))
		return req_fail(r, E_CONFLICT, "The period has %s draft journal entries; post or delete "
				"them before closing it", db_cell(res, 0, 0));
	db_param u[] = { db_str(want), db_int(close), db_str(id) };
	if ((rc = acct_exec(r, arena_printf(r->a,
		"UPDATE %s SET status = ?, closed_at = IF(?, UTC_TIMESTAMP(3), NULL), "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ?", tenant_table(r, "_acct_periods")), u, 3,
		NULL)))
		return rc;
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "name", db_get(row, 0, "name"));
	return req_audit(r, close ? "accounting_period.closed" : "accounting_period.reopened",
			 "accounting_period", id, details);
}

static err_t period_close(req_t *r)
{
	return acct_action(r, &period_res, req_param(r, "period_id"), period_set_status, "closed");
}

static err_t period_reopen(req_t *r)
{
	return acct_action(r, &period_res, req_param(r, "period_id"), period_set_status, "open");
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t accounting_routes[] = {
	CRUD("GET", "/v1/accounting/accounts", "Accounting", "read", NULL, 0, account_res, OP_LIST, "List chart of accounts"),
	CRUD("POST", "/v1/accounting/accounts", "Accounting", "write", NULL, 0, account_res, OP_CREATE, "Create account"),
	CRUD("GET", "/v1/accounting/accounts/:account_id", "Accounting", "read", NULL, 0, account_res, OP_GET, "Get account"),
	CRUD("PATCH", "/v1/accounting/accounts/:account_id", "Accounting", "write", NULL, 0, account_res, OP_UPDATE, "Update account"),
	CRUD("DELETE", "/v1/accounting/accounts/:account_id", "Accounting", "write", NULL, 0, account_res, OP_DELETE, "Delete account"),
	CRUD("GET", "/v1/accounting/currencies", "Accounting", "read", NULL, 0, currency_res, OP_LIST, "List currencies"),
	CRUD("POST", "/v1/accounting/currencies", "Accounting", "write", NULL, 0, currency_res, OP_CREATE, "Create currency"),
	CRUD("GET", "/v1/accounting/currencies/:currency_id", "Accounting", "read", NULL, 0, currency_res, OP_GET, "Get currency"),
	CRUD("PATCH", "/v1/accounting/currencies/:currency_id", "Accounting", "write", NULL, 0, currency_res, OP_UPDATE, "Update currency"),
	CRUD("DELETE", "/v1/accounting/currencies/:currency_id", "Accounting", "write", NULL, 0, currency_res, OP_DELETE, "Delete currency"),
	CRUD("GET", "/v1/accounting/exchange-rates", "Accounting", "read", NULL, 0, rate_res, OP_LIST, "List exchange rates"),
	CRUD("POST", "/v1/accounting/exchange-rates", "Accounting", "write", NULL, 0, rate_res, OP_CREATE, "Create exchange rate"),
	CRUD("GET", "/v1/accounting/exchange-rates/:rate_id", "Accounting", "read", NULL, 0, rate_res, OP_GET, "Get exchange rate"),
	CRUD("DELETE", "/v1/accounting/exchange-rates/:rate_id", "Accounting", "write", NULL, 0, rate_res, OP_DELETE, "Delete exchange rate"),
	CRUD("GET", "/v1/accounting/tax-codes", "Accounting", "read", NULL, 0, tax_res, OP_LIST, "List tax codes"),
	CRUD("POST", "/v1/accounting/tax-codes", "Accounting", "write", NULL, 0, tax_res, OP_CREATE, "Create tax code"),
	CRUD("GET", "/v1/accounting/tax-codes/:tax_code_id", "Accounting", "read", NULL, 0, tax_res, OP_GET, "Get tax code"),
	CRUD("PATCH", "/v1/accounting/tax-codes/:tax_code_id", "Accounting", "write", NULL, 0, tax_res, OP_UPDATE, "Update tax code"),
	CRUD("DELETE", "/v1/accounting/tax-codes/:tax_code_id", "Accounting", "write", NULL, 0, tax_res, OP_DELETE, "Delete tax code"),
	CRUD("GET", "/v1/accounting/periods", "Accounting", "read", NULL, 0, period_res, OP_LIST, "List accounting periods"),
	CRUD("POST", "/v1/accounting/periods", "Accounting", "write", NULL, 0, period_res, OP_CREATE, "Create period"),
	CRUD("GET", "/v1/accounting/periods/:period_id", "Accounting", "read", NULL, 0, period_res, OP_GET, "Get period"),
	CRUD("PATCH", "/v1/accounting/periods/:period_id", "Accounting", "write", NULL, 0, period_res, OP_UPDATE, "Update period"),
	CRUD("DELETE", "/v1/accounting/periods/:period_id", "Accounting", "write", NULL, 0, period_res, OP_DELETE, "Delete period"),
	ROUTE("POST", "/v1/accounting/periods/:period_id/close", "Accounting", AUTH_BEARER, "write", NULL, 0, period_close, NULL, "Close period"),
	ROUTE("POST", "/v1/accounting/periods/:period_id/reopen", "Accounting", AUTH_BEARER, "write", NULL, 0, period_reopen, NULL, "Reopen period"),
	ROUTES_END,
};
