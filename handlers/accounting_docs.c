/*
 * accounting_docs.c - invoices (sales) and bills (purchase), and the
 * payments that settle them.
 *
 * An invoice is a draft (editable, deletable) until approved; its totals
 * are the server's: each line's net is quantity * unit_price rounded
 * half-even to the currency's places, its tax the tax code's rate on it
 * (exclusive: on top; inclusive: the part of the gross that is tax,
 * gross * rate / (100 + rate)).  Approving numbers it (INV-000001,
 * BILL-000001) and posts it: the receivable (payable) against each line's
 * account and the tax codes' tax accounts, at the rate of its date when
 * in a foreign currency.  Payments allocate to approved invoices (each at
 * most the balance, the sum at most the amount; the rest is an unapplied
 * credit on the receivable or payable account) and post the bank's GL
 * account against the receivable (payable).  Voiding either reverses its
 * entry; an invoice with payments is not voided (void the payments
 * first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/jsonx.h"
#include "../fcgi/journal.h"
#include "accounting.h"
#include "routes.h"

#define INVOICE_LINES_MAX 200
#define ALLOCATIONS_MAX 100

/* amount (money) at rate in the base currency, half-even to its places. */
static int64_t to_base(int64_t amount, int64_t rate, int base_places)
{
	int64_t v = 0;
	dec_mul(amount, DEC_MONEY, rate, DEC_RATE, DEC_MONEY, &v);
	return dec_round(v, DEC_MONEY, base_places);
}

/* ---------------------------------------------------------- invoice lines */

typedef struct inv_line {
	const char *description, *account_id, *tax_code_id, *tax_account;
	int64_t quantity, unit_price, net, tax;
} inv_line_t;

typedef struct inv {
	inv_line_t *lines;
	int n;
	int64_t subtotal, tax, total;
} inv_t;

static const char *const inv_line_members[] = {
	"description", "quantity", "unit_price", "account_id", "account_code", "tax_code_id", NULL,
};

/* The tax code id (active) into l: its account, and the tax on gross. */
static err_t line_tax(req_t *r, const char *where, const char *id, int places, int64_t gross,
		      inv_line_t *l)
{
	db_param p[] = { db_str(id) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT rate, type, account_id FROM %s WHERE id = ? "
					"AND is_active = 1", tenant_table(r, "_acct_tax_codes")), p, 1, &res);
	if (rc)
		return rc;
	if (res->nrows == 0)
		return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.tax_code_id", where),
				      "%s.tax_code_id: no such active tax code", where);
	int64_t rate = acct_cell_dec(db_get(res, 0, "rate"), DEC_RATE);
	bool inclusive = !strcmp(db_get(res, 0, "type"), "inclusive");
	int64_t hundred = INT64_C(100) * 100000000;
	dec_muldiv(gross, DEC_MONEY, rate, DEC_RATE, inclusive ? hundred + rate : hundred, DEC_RATE,
		   DEC_MONEY, &l->tax);
	l->tax = dec_round(l->tax, DEC_MONEY, places);
	l->net = inclusive ? gross - l->tax : gross;
	l->tax_code_id = id;
	l->tax_account = db_get(res, 0, "account_id");
	return E_OK;
}

static err_t inv_line_parse(req_t *r, const cJSON *o, int i, int places, inv_line_t *l)
{
	const char *where = arena_printf(r->a, "lines[%d]", i);
	if (!cJSON_IsObject(o))
		return req_fail_field(r, E_VALIDATION, where, "%s must be an object", where);
	const cJSON *m;
	cJSON_ArrayForEach(m, o) {
		const char *const *k = inv_line_members;
		while (*k && strcmp(*k, m->string))
			k++;
		if (!*k)
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.%s", where, m->string),
					      "%s.%s is not a field of an invoice line", where, m->string);
	}
	memset(l, 0, sizeof(*l));
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(o, "description");
	if (desc && (!cJSON_IsString(desc) || strlen(desc->valuestring) > 1000))
		return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.description", where),
				      "%s.description must be a string of at most 1000 characters", where);
	l->description = desc ? desc->valuestring : NULL;
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(o, "quantity");
	err_t rc;
	l->quantity = 10000;
	if (q && (rc = acct_money_arg(r, q, arena_printf(r->a, "%s.quantity", where), DEC_MONEY,
				      false, &l->quantity)))
		return rc;
	if ((rc = acct_money_arg(r, cJSON_GetObjectItemCaseSensitive(o, "unit_price"),
				 arena_printf(r->a, "%s.unit_price", where), DEC_MONEY, true,
				 &l->unit_price)) ||
	    (rc = acct_account_arg(r, o, where, &l->account_id)))
		return rc;
	int64_t gross;
	if (!dec_mul(l->quantity, DEC_MONEY, l->unit_price, DEC_MONEY, DEC_MONEY, &gross) ||
	    gross > DEC_MONEY_MAX)
		return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.unit_price", where),
				      "%s: quantity * unit_price is too large", where);
	gross = dec_round(gross, DEC_MONEY, places);
	l->net = gross;
	const cJSON *tax = cJSON_GetObjectItemCaseSensitive(o, "tax_code_id");
	if (tax && !cJSON_IsNull(tax)) {
		if (!cJSON_IsString(tax))
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.tax_code_id", where),
					      "%s.tax_code_id must be a string", where);
		return line_tax(r, where, tax->valuestring, places, gross, l);
	}
	return E_OK;
}

static err_t inv_lines_parse(req_t *r, const cJSON *lines, int places, inv_t *v)
{
	int n = cJSON_GetArraySize(lines);
	if (!cJSON_IsArray(lines) || n < 1 || n > INVOICE_LINES_MAX)
		return req_fail_field(r, E_VALIDATION, "lines", "lines must be an array of 1 to %d lines",
				      INVOICE_LINES_MAX);
	memset(v, 0, sizeof(*v));
	v->lines = arena_alloc(r->a, sizeof(inv_line_t) * (size_t)n);
	v->n = n;
	int i = 0;
	const cJSON *o;
	cJSON_ArrayForEach(o, lines) {
		err_t rc = inv_line_parse(r, o, i, places, &v->lines[i]);
		if (rc)
			return rc;
		v->subtotal += v->lines[i].net;
		v->tax += v->lines[i].tax;
		i++;
	}
	v->total = v->subtotal + v->tax;
	if (v->total > DEC_MONEY_MAX)
		return req_fail_field(r, E_VALIDATION, "lines", "The invoice total is too large");
	return E_OK;
}

static err_t inv_lines_write(req_t *r, const char *id, const inv_t *v)
{
	db_param p[] = { db_str(id) };
	err_t rc = acct_exec(r, arena_printf(r->a, "DELETE FROM %s WHERE invoice_id = ?",
					tenant_table(r, "_acct_invoice_lines")), p, 1, NULL);
	const char *sql = arena_printf(r->a,
		"INSERT INTO %s (invoice_id, line_no, description, quantity, unit_price, account_id, "
		"tax_code_id, net_amount, tax_amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		tenant_table(r, "_acct_invoice_lines"));
	for (int i = 0; !rc && i < v->n; i++) {
		const inv_line_t *l = &v->lines[i];
		db_param q[] = {
			db_str(id), db_int(i + 1), db_str(l->description),
			db_str(acct_money_text(r, l->quantity)), db_str(acct_money_text(r, l->unit_price)),
			db_str(l->account_id), db_str(l->tax_code_id), db_str(acct_money_text(r, l->net)),
			db_str(acct_money_text(r, l->tax)),
		};
		rc = acct_exec(r, sql, q, 9, NULL);
	}
	return rc;
}

/* -------------------------------------------------------------- invoices */

static const char *const invoice_types[] = { "sales", "purchase", NULL };
static const char *const invoice_statuses[] = { "draft", "approved", "partially_paid", "paid",
						"void", NULL };

static const res_field_t invoice_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "type", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_REQUIRED | RF_FILTER,
	  .values = invoice_types },
	{ .name = "number", .type = COL_STR },
	{ .name = "contact_name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_FILTER, .min = 1, .max = 200 },
	{ .name = "date", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED | RF_SORT,
	  .check = acct_check_date },
	{ .name = "due_date", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_SORT,
	  .check = acct_check_date },
	{ .name = "currency", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE, .min = 3, .max = 3 },
	{ .name = "exchange_rate", .type = COL_STR },
	{ .name = "status", .type = COL_STR, .flags = RF_FILTER, .values = invoice_statuses },
	{ .name = "subtotal", .type = COL_STR },
	{ .name = "tax_total", .type = COL_STR },
	{ .name = "total", .type = COL_STR },
	{ .name = "amount_paid", .type = COL_STR },
	{ .name = "balance_due", .column = "total - amount_paid", .type = COL_STR, .flags = RF_EXPR },
	{ .name = "overdue", .type = COL_BOOL, .flags = RF_EXPR,
	  .column = "status IN ('approved', 'partially_paid') AND due_date < UTC_DATE()" },
	{ .name = "notes", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 2000 },
	{ .name = "lines", .type = COL_JSON, .in = FT_ARRAY,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_INPUT, .max = INVOICE_LINES_MAX },
	{ .name = "entry_id", .type = COL_STR },
	{ .name = "void_entry_id", .type = COL_STR },
	{ .name = "approved_at", .type = COL_TIME },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* Create and update of a draft: the lines and totals, the due date (the
 * date when none is given) not before the date. */
static err_t invoice_validate(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_UPDATE && strcmp(json_str_of(c->before, "status"), "draft"))
		return req_fail(r, E_CONFLICT, "The invoice is %s; only a draft can be changed (void "
				"it instead)", json_str_of(c->before, "status"));
	const char *base, *cur = c->op == OP_CREATE ? json_str_of(c->body, "currency")
						    : json_str_of(c->before, "currency");
	err_t rc = acct_ready(r, &base);
	int places;
	if (rc || (rc = acct_currency_places(r, cur ? cur : base, "currency", &places)))
		return rc;
	if (c->op == OP_CREATE)
		resource_set(c, "currency", db_str(cur ? cur : base));
	const char *date = json_str_of(c->body, "date"), *due = json_str_of(c->body, "due_date");
	date = date ? date : json_str_of(c->before, "date");
	due = due ? due : json_str_of(c->before, "due_date");
	if (!due) {
		due = date;
		resource_set(c, "due_date", db_str(due));
	}
	if (strcmp(due, date) < 0)
		return req_fail_field(r, E_VALIDATION, "due_date", "due_date must not be before date");
	const cJSON *lines = cJSON_GetObjectItemCaseSensitive(c->body, "lines");
	if (!lines)
		return E_OK;
	inv_t *v = arena_alloc(r->a, sizeof(*v));
	if ((rc = inv_lines_parse(r, lines, places, v)))
		return rc;
	c->data = v;
	resource_set(c, "subtotal", db_str(acct_money_text(r, v->subtotal)));
	resource_set(c, "tax_total", db_str(acct_money_text(r, v->tax)));
	resource_set(c, "total", db_str(acct_money_text(r, v->total)));
	return E_OK;
}

static err_t invoice_written(req_t *r, res_ctx_t *c)
{
	if (c->op == OP_DELETE) {
		db_param p[] = { db_str(c->id) };
		return acct_exec(r, arena_printf(r->a, "DELETE FROM %s WHERE invoice_id = ?",
					    tenant_table(r, "_acct_invoice_lines")), p, 1, NULL);
	}
	return c->data ? inv_lines_write(r, c->id, c->data) : E_OK;
}

static err_t invoice_before_delete(req_t *r, res_ctx_t *c)
{
	if (strcmp(json_str_of(c->before, "status"), "draft"))
		return req_fail(r, E_CONFLICT, "The invoice is %s; only a draft is deleted (void it "
				"instead)", json_str_of(c->before, "status"));
	return E_OK;
}

static const col_t inv_line_cols[] = {
	{ "description", COL_STR, 0 },
	{ "quantity", COL_STR, 0 },
	{ "unit_price", COL_STR, 0 },
	{ "account_id", COL_STR, 0 },
	{ "tax_code_id", COL_STR, 0 },
	{ "net_amount", COL_STR, 0 },
	{ "tax_amount", COL_STR, 0 },
	{ NULL, 0, 0 },
};

static err_t invoice_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	(void)c;
	db_param p[] = { db_str(json_str_of(row, "id")) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT %s FROM %s WHERE invoice_id = ? ORDER BY line_no",
					cols_select(r->a, inv_line_cols, NULL),
					tenant_table(r, "_acct_invoice_lines")), p, 1, &res);
	if (!rc)
		cJSON_AddItemToObject(row, "lines", rows_to_json(inv_line_cols, res));
	return rc;
}

static const res_hooks_t invoice_hooks = {
	.parent = acct_res_ready,
	.validate = invoice_validate,
	.before_delete = invoice_before_delete,
	.after_write = invoice_written,
	.render = invoice_render,
	.reply = acct_write_reply,
};

static const resource_t invoice_res = {
	.name = "Invoice", .type = "accounting_invoice", .table = "_acct_invoices",
	.home = RES_TENANT, .id_param = "invoice_id", .id_prefix = "inv_", .fields = invoice_fields,
	.order = "date DESC", .title = "contact_name", .hooks = &invoice_hooks,
	.list_shape = LIST_PAGE, .list_key = "invoices", .list_default = 20,
	.example = "{\"type\":\"sales\",\"contact_name\":\"Acme Ltd\",\"date\":\"1990-01-10\","
		   "\"due_date\":\"1990-02-09\",\"lines\":[{\"description\":\"Consulting\","
		   "\"quantity\":\"2\",\"unit_price\":\"150.00\",\"account_code\":\"4000\"}]}",
};

/* The invoice id locked for update, as rendered (404 when absent). */
static err_t invoice_lock(req_t *r, const char *id, cJSON **out)
{
	db_param p[] = { db_str(id) };
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT id FROM %s WHERE id = ? FOR UPDATE",
					tenant_table(r, "_acct_invoices")), p, 1, NULL);
	res_ctx_t c;
	if (rc || (rc = resource_ctx(r, &invoice_res, OP_GET, &c)))
		return rc;
	return resource_fetch(r, &c, id, false, out);
}

/* The stored lines of an invoice, for its entry. */
static err_t inv_lines_load(req_t *r, const char *id, db_result **out)
{
	db_param p[] = { db_str(id) };
	return acct_exec(r, arena_printf(r->a,
		"SELECT l.account_id, l.tax_code_id, l.net_amount, l.tax_amount, l.description, "
		"t.account_id AS tax_account FROM %s l LEFT JOIN %s t ON t.id = l.tax_code_id "
		"WHERE l.invoice_id = ? ORDER BY l.line_no",
		tenant_table(r, "_acct_invoice_lines"), tenant_table(r, "_acct_tax_codes")), p, 1, out);
}

/* One line of an entry: side (true: debit) of base, amount in currency. */
static void entry_line(acct_line_t *l, const char *account, bool debit, int64_t base,
		       const char *currency, int64_t amount, int64_t rate, const char *desc,
		       const char *tax)
{
	*l = (acct_line_t){ .account_id = account, .debit = debit ? base : 0,
			    .credit = debit ? 0 : base, .currency = currency, .amount = amount,
			    .rate = rate, .description = desc, .tax_code_id = tax };
}

/*
 * The invoice's entry: each line's net on its account and its tax on its
 * code's tax account (credits for a sale, debits for a bill), and the
 * receivable (payable) for the total; that line's base amount is the sum
 * of the others', so the entry balances whatever the rounding.
 */
static err_t invoice_entry(req_t *r, const cJSON *inv, int64_t rate, acct_entry_t *e)
{
	const char *base;
	int base_places;
	bool sale = !strcmp(json_str_of(inv, "type"), "sales");
	const char *cur = json_str_of(inv, "currency"), *ctrl;
	db_result *l;
	err_t rc = acct_ready(r, &base);
	if (rc || (rc = acct_currency_places(r, base, "currency", &base_places)) ||
	    (rc = acct_account_of(r, sale ? "receivable" : "payable", "type", &ctrl)) ||
	    (rc = inv_lines_load(r, json_str_of(inv, "id"), &l)))
		return rc;
	e->lines = arena_alloc(r->a, sizeof(acct_line_t) * (size_t)(2 * l->nrows + 1));
	int n = 0;
	int64_t sum = 0;
	for (int i = 0; i < l->nrows; i++) {
		int64_t net = acct_cell_dec(db_get(l, i, "net_amount"), DEC_MONEY);
		int64_t tax = acct_cell_dec(db_get(l, i, "tax_amount"), DEC_MONEY);
		int64_t bnet = to_base(net, rate, base_places), btax = to_base(tax, rate, base_places);
		const char *desc = db_get(l, i, "description"), *code = db_get(l, i, "tax_code_id");
		if (bnet)
			entry_line(&e->lines[n++], db_get(l, i, "account_id"), !sale, bnet, cur, net,
				   rate, desc, code);
		if (btax)
			entry_line(&e->lines[n++], db_get(l, i, "tax_account"), !sale, btax, cur, tax,
				   rate, desc, code);
		sum += bnet + btax;
	}
	if (sum <= 0)
		return req_fail_field(r, E_VALIDATION, "lines", "The invoice total must be positive "
				      "to approve it");
	entry_line(&e->lines[n++], ctrl, sale, sum, cur,
		   acct_cell_dec(json_str_of(inv, "total"), DEC_MONEY), rate, NULL, NULL);
	e->nlines = n;
	e->date = json_str_of(inv, "date");
	e->currency = cur;
	e->source = "invoice";
	e->source_id = json_str_of(inv, "id");
	return E_OK;
}

static err_t invoice_approve_tx(req_t *r, const char *id, const char *arg, const char **out)
{
	(void)arg;
	(void)out;
	cJSON *inv;
	err_t rc = invoice_lock(r, id, &inv);
	if (rc)
		return rc;
	if (strcmp(json_str_of(inv, "status"), "draft"))
		return req_fail(r, E_CONFLICT, "The invoice is already %s", json_str_of(inv, "status"));
	bool sale = !strcmp(json_str_of(inv, "type"), "sales");
	int64_t rate;
	const char *number, *entry_number;
	char rtext[DEC_BUF];
	acct_entry_t e = { 0 };
	if ((rc = acct_rate_to_base(r, json_str_of(inv, "currency"), json_str_of(inv, "date"), "currency",
			       &rate)) ||
	    (rc = acct_next_number(r, sale ? "invoice_seq" : "bill_seq", sale ? "INV" : "BILL",
				   &number)))
		return rc;
	if ((rc = invoice_entry(r, inv, rate, &e)))
		return rc;
	e.reference = number;
	e.description = arena_printf(r->a, "%s %s %s", sale ? "Invoice" : "Bill", number,
				     json_str_of(inv, "contact_name"));
	if ((rc = acct_entry_insert(r, &e)) || (rc = acct_entry_post(r, e.id, &entry_number)))
		return rc;
	db_param p[] = { db_str(number), db_str(dec_format(rtext, sizeof(rtext), rate, DEC_RATE,
							       DEC_RATE)),
			 db_str(e.id), db_str(id) };
	if ((rc = acct_exec(r, arena_printf(r->a,
		"UPDATE %s SET status = 'approved', number = ?, exchange_rate = ?, entry_id = ?, "
		"approved_at = UTC_TIMESTAMP(3), updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
		tenant_table(r, "_acct_invoices")), p, 4, NULL)))
		return rc;
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "number", number);
	return req_audit(r, "accounting_invoice.approved", "accounting_invoice", id, details);
}

static err_t invoice_approve(req_t *r)
{
	return acct_action(r, &invoice_res, req_param(r, "invoice_id"), invoice_approve_tx, NULL);
}

static const field_t void_body[] = {
	{ "date", FT_STRING, 0, 10, 10 },
	{ NULL, 0, 0, 0, 0 },
};

/* ?date in the body, when given, must be a date; else NULL (the
 * document's own date). */
static err_t void_date(req_t *r, const char **date)
{
	*date = json_str_of(r->json, "date");
	if (*date && !acct_date_valid(*date))
		return req_fail_field(r, E_VALIDATION, "date", "date must be a date YYYY-MM-DD");
	return E_OK;
}

static err_t invoice_void_tx(req_t *r, const char *id, const char *date, const char **out)
{
	(void)out;
	cJSON *inv;
	err_t rc = invoice_lock(r, id, &inv);
	if (rc)
		return rc;
	const char *status = json_str_of(inv, "status"), *rev = NULL;
	if (!strcmp(status, "void"))
		return req_fail(r, E_CONFLICT, "The invoice is already void");
	if (acct_cell_dec(json_str_of(inv, "amount_paid"), DEC_MONEY) != 0)
		return req_fail(r, E_CONFLICT, "The invoice has payments allocated; void them first");
	if (json_str_of(inv, "entry_id") &&
	    (rc = acct_entry_reverse(r, json_str_of(inv, "entry_id"), date,
				     arena_printf(r->a, "Void of %s", json_str_of(inv, "number")),
				     "invoice", &rev)))
		return rc;
	db_param p[] = { db_str(rev), db_str(id) };
	if ((rc = acct_exec(r, arena_printf(r->a,
		"UPDATE %s SET status = 'void', void_entry_id = ?, updated_at = UTC_TIMESTAMP(3) "
		"WHERE id = ?", tenant_table(r, "_acct_invoices")), p, 2, NULL)))
		return rc;
	return req_audit(r, "accounting_invoice.voided", "accounting_invoice", id, NULL);
}

static err_t invoice_void(req_t *r)
{
	const char *date;
	err_t rc = void_date(r, &date);
	return rc ? rc : acct_action(r, &invoice_res, req_param(r, "invoice_id"), invoice_void_tx, date);
}

/* -------------------------------------------------------------- payments */

static const char *const payment_types[] = { "receipt", "payment", NULL };

static const res_field_t payment_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "type", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_REQUIRED | RF_FILTER,
	  .values = payment_types },
	{ .name = "contact_name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_NULLABLE | RF_FILTER, .max = 200 },
	{ .name = "date", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_REQUIRED | RF_SORT,
	  .check = acct_check_date },
	{ .name = "amount", .type = COL_STR, .in = FT_ANY, .flags = RF_CREATE | RF_REQUIRED },
	{ .name = "currency", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE, .min = 3, .max = 3 },
	{ .name = "method", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_NULLABLE,
	  .max = 32 },
	{ .name = "bank_account_id", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_NULLABLE | RF_FILTER, .max = 40 },
	{ .name = "reference", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE | RF_NULLABLE,
	  .max = 200 },
	{ .name = "allocations", .type = COL_JSON, .in = FT_ARRAY, .flags = RF_CREATE | RF_INPUT,
	  .max = ALLOCATIONS_MAX },
	{ .name = "status", .type = COL_STR, .flags = RF_FILTER },
	{ .name = "unapplied", .type = COL_STR },
	{ .name = "entry_id", .type = COL_STR },
	{ .name = "void_entry_id", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

typedef struct alloc {
	const char *invoice_id;
	int64_t amount;
} alloc_t;

typedef struct pay {
	int64_t amount, unapplied;
	const char *gl_account;
	alloc_t *allocs;
	int nallocs;
} pay_t;

/* The bank account named (active, in the payment's currency) or the
 * chart's first bank account: its GL account. */
static err_t pay_bank(req_t *r, const char *bank, const char *currency, pay_t *p)
{
	if (!bank)
		return acct_account_of(r, "bank", "bank_account_id", &p->gl_account);
	db_param q[] = { db_str(bank) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT gl_account_id, currency FROM %s WHERE id = ? "
					"AND is_active = 1", tenant_table(r, "_acct_bank_accounts")), q, 1, &res);
	if (rc)
		return rc;
	if (res->nrows == 0)
		return req_fail_field(r, E_VALIDATION, "bank_account_id",
				      "bank_account_id: no such active bank account");
	if (strcmp(db_get(res, 0, "currency"), currency))
		return req_fail_field(r, E_VALIDATION, "currency",
				      "The bank account is in %s, the payment in %s",
				      db_get(res, 0, "currency"), currency);
	p->gl_account = db_get(res, 0, "gl_account_id");
	return E_OK;
}

/* One allocation: an approved invoice of the matching type and currency,
 * at most its balance (read now; re-checked under lock when posted). */
static err_t alloc_parse(req_t *r, const cJSON *o, int i, const char *type, const char *currency,
			 int places, alloc_t *a)
{
	const char *where = arena_printf(r->a, "allocations[%d]", i);
	const char *inv = json_str_of(o, "invoice_id");
	if (!cJSON_IsObject(o) || !inv || cJSON_GetArraySize(o) != 2)
		return req_fail_field(r, E_VALIDATION, where,
				      "%s must be {\"invoice_id\": …, \"amount\": …}", where);
	err_t rc = acct_money_arg(r, cJSON_GetObjectItemCaseSensitive(o, "amount"),
				  arena_printf(r->a, "%s.amount", where), places, false, &a->amount);
	if (rc)
		return rc;
	db_param p[] = { db_str(inv) };
	db_result *res;
	if ((rc = acct_exec(r, arena_printf(r->a, "SELECT type, currency, status, total - amount_paid AS due "
				       "FROM %s WHERE id = ?", tenant_table(r, "_acct_invoices")), p, 1, &res)))
		return rc;
	const char *f = arena_printf(r->a, "%s.invoice_id", where);
	bool sale = !strcmp(type, "receipt");
	if (res->nrows == 0 || strcmp(db_get(res, 0, "type"), sale ? "sales" : "purchase"))
		return req_fail_field(r, E_VALIDATION, f, "%s: no such %s", f, sale ? "invoice" : "bill");
	const char *st = db_get(res, 0, "status");
	if (strcmp(st, "approved") && strcmp(st, "partially_paid"))
		return req_fail_field(r, E_CONFLICT, f, "%s: the invoice is %s", f, st);
	if (strcmp(db_get(res, 0, "currency"), currency))
		return req_fail_field(r, E_VALIDATION, f, "%s: the invoice is in %s, the payment in %s",
				      f, db_get(res, 0, "currency"), currency);
	a->invoice_id = inv;
	return E_OK;
}

static err_t payment_validate(req_t *r, res_ctx_t *c)
{
	const char *base, *cur = json_str_of(c->body, "currency");
	const char *type = json_str_of(c->body, "type");
	int places;
	err_t rc = acct_ready(r, &base);
	cur = cur ? cur : base;
	if (rc || (rc = acct_currency_places(r, cur, "currency", &places)))
		return rc;
	pay_t *p = arena_calloc(r->a, 1, sizeof(*p));
	c->data = p;
	if ((rc = acct_money_arg(r, cJSON_GetObjectItemCaseSensitive(c->body, "amount"), "amount",
				 places, false, &p->amount)) ||
	    (rc = pay_bank(r, json_str_of(c->body, "bank_account_id"), cur, p)))
		return rc;
	const cJSON *allocs = cJSON_GetObjectItemCaseSensitive(c->body, "allocations");
	p->nallocs = cJSON_GetArraySize(allocs);
	p->allocs = arena_calloc(r->a, (size_t)p->nallocs + 1, sizeof(alloc_t));
	int64_t sum = 0;
	for (int i = 0; i < p->nallocs; i++) {
		alloc_t *a = &p->allocs[i];
		if ((rc = alloc_parse(r, cJSON_GetArrayItem(allocs, i), i, type, cur, places, a)))
			return rc;
		for (int k = 0; k < i; k++)
			if (!strcmp(p->allocs[k].invoice_id, a->invoice_id))
				return req_fail_field(r, E_VALIDATION,
						      arena_printf(r->a, "allocations[%d].invoice_id", i),
						      "The invoice is allocated twice");
		sum += a->amount;
	}
	if (sum > p->amount)
		return req_fail_field(r, E_VALIDATION, "allocations",
				      "The allocations (%s) exceed the amount (%s)", acct_money_text(r, sum),
				      acct_money_text(r, p->amount));
	p->unapplied = p->amount - sum;
	resource_set(c, "currency", db_str(cur));
	resource_set(c, "amount", db_str(acct_money_text(r, p->amount)));
	resource_set(c, "unapplied", db_str(acct_money_text(r, p->unapplied)));
	resource_set(c, "status", db_str("posted"));
	return E_OK;
}

/* An invoice's paid amount moves by delta; its status follows. */
static err_t invoice_paid_add(req_t *r, const char *id, int64_t delta, const char *field)
{
	db_param p[] = { db_str(id) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT total, amount_paid, status FROM %s WHERE id = ? "
					"FOR UPDATE", tenant_table(r, "_acct_invoices")), p, 1, &res);
	if (rc)
		return rc;
	int64_t total = acct_cell_dec(db_get(res, 0, "total"), DEC_MONEY);
	int64_t paid = acct_cell_dec(db_get(res, 0, "amount_paid"), DEC_MONEY) + delta;
	const char *st = db_get(res, 0, "status");
	if (delta > 0 && strcmp(st, "approved") && strcmp(st, "partially_paid"))
		return req_fail_field(r, E_CONFLICT, field, "The invoice is %s", st);
	if (paid > total)
		return req_fail_field(r, E_VALIDATION, field,
				      "%s is more than the invoice's balance (%s)", field,
				      acct_money_text(r, total - (paid - delta)));
	const char *status = paid == 0 ? "approved" : paid == total ? "paid" : "partially_paid";
	db_param q[] = { db_str(acct_money_text(r, paid)), db_str(status), db_str(id) };
	return acct_exec(r, arena_printf(r->a, "UPDATE %s SET amount_paid = ?, status = ?, "
				    "updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
				    tenant_table(r, "_acct_invoices")), q, 3, NULL);
}

/* In the create's transaction: the allocations (invoices locked and
 * re-checked) and the entry: the bank against the receivable (payable). */
static err_t payment_written(req_t *r, res_ctx_t *c)
{
	pay_t *p = c->data;
	bool receipt = !strcmp(json_str_of(c->body, "type"), "receipt");
	const char *cur = json_str_of(c->row, "currency"), *date = json_str_of(c->row, "date");
	const char *ctrl, *base, *number;
	int base_places;
	int64_t rate;
	err_t rc;
	const char *sql = arena_printf(r->a, "INSERT INTO %s (payment_id, invoice_id, amount) "
				       "VALUES (?, ?, ?)", tenant_table(r, "_acct_allocations"));
	for (int i = 0; i < p->nallocs; i++) {
		const char *f = arena_printf(r->a, "allocations[%d].amount", i);
		db_param q[] = { db_str(c->id), db_str(p->allocs[i].invoice_id),
				 db_str(acct_money_text(r, p->allocs[i].amount)) };
		if ((rc = invoice_paid_add(r, p->allocs[i].invoice_id, p->allocs[i].amount, f)) ||
		    (rc = acct_exec(r, sql, q, 3, NULL)))
			return rc;
	}
	if ((rc = acct_ready(r, &base)) ||
	    (rc = acct_currency_places(r, base, "currency", &base_places)) ||
	    (rc = acct_rate_to_base(r, cur, date, "currency", &rate)) ||
	    (rc = acct_account_of(r, receipt ? "receivable" : "payable", "type", &ctrl)))
		return rc;
	int64_t based = to_base(p->amount, rate, base_places);
	acct_line_t lines[2];
	entry_line(&lines[0], p->gl_account, receipt, based, cur, p->amount, rate, NULL, NULL);
	entry_line(&lines[1], ctrl, !receipt, based, cur, p->amount, rate, NULL, NULL);
	const char *contact = json_str_of(c->row, "contact_name");
	acct_entry_t e = { .date = date, .currency = cur, .source = "payment", .source_id = c->id,
			   .reference = json_str_of(c->row, "reference"), .lines = lines, .nlines = 2,
			   .description = arena_printf(r->a, "%s %s", receipt ? "Receipt from"
								   : "Payment to",
						       contact ? contact : "") };
	if ((rc = acct_entry_insert(r, &e)) || (rc = acct_entry_post(r, e.id, &number)))
		return rc;
	db_param q[] = { db_str(e.id), db_str(c->id) };
	return acct_exec(r, arena_printf(r->a, "UPDATE %s SET entry_id = ? WHERE id = ?",
				    tenant_table(r, "_acct_payments")), q, 2, NULL);
}

static err_t payment_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	(void)c;
	static const col_t cols[] = { { "invoice_id", COL_STR, 0 }, { "amount", COL_STR, 0 },
				      { NULL, 0, 0 } };
	db_param p[] = { db_str(json_str_of(row, "id")) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT invoice_id, amount FROM %s WHERE payment_id = ? "
					"ORDER BY invoice_id", tenant_table(r, "_acct_allocations")), p, 1, &res);
	if (!rc)
		cJSON_AddItemToObject(row, "allocations", rows_to_json(cols, res));
	return rc;
}

static const res_hooks_t payment_hooks = {
	.parent = acct_res_ready,
	.validate = payment_validate,
	.after_write = payment_written,
	.render = payment_render,
	.reply = acct_write_reply,
};

static const resource_t payment_res = {
	.name = "Payment", .type = "accounting_payment", .table = "_acct_payments",
	.home = RES_TENANT, .id_param = "payment_id", .id_prefix = "pay_", .fields = payment_fields,
	.order = "date DESC", .hooks = &payment_hooks,
	.list_shape = LIST_PAGE, .list_key = "payments", .list_default = 20,
	.example = "{\"type\":\"receipt\",\"contact_name\":\"Acme Ltd\",\"date\":\"1990-01-20\","
		   "\"amount\":\"50.00\",\"method\":\"bank_transfer\"}",
};

static err_t payment_void_tx(req_t *r, const char *id, const char *date, const char **out)
{
	(void)out;
	db_param p[] = { db_str(id) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT status, entry_id FROM %s WHERE id = ? FOR UPDATE",
					tenant_table(r, "_acct_payments")), p, 1, &res);
	if (rc)
		return rc;
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Payment not found");
	if (!strcmp(db_get(res, 0, "status"), "void"))
		return req_fail(r, E_CONFLICT, "The payment is already void");
	const char *rev;
	if ((rc = acct_entry_reverse(r, db_get(res, 0, "entry_id"), date, "Void of payment",
				     "payment", &rev)))
		return rc;
	db_result *al;
	if ((rc = acct_exec(r, arena_printf(r->a, "SELECT invoice_id, amount FROM %s WHERE payment_id = ?",
				       tenant_table(r, "_acct_allocations")), p, 1, &al)))
		return rc;
	for (int i = 0; i < al->nrows; i++)
		if ((rc = invoice_paid_add(r, db_get(al, i, "invoice_id"),
					   -acct_cell_dec(db_get(al, i, "amount"), DEC_MONEY), "id")))
			return rc;
	db_param q[] = { db_str(rev), db_str(id) };
	if ((rc = acct_exec(r, arena_printf(r->a, "UPDATE %s SET status = 'void', void_entry_id = ?, "
				       "updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
				       tenant_table(r, "_acct_payments")), q, 2, NULL)))
		return rc;
	return req_audit(r, "accounting_payment.voided", "accounting_payment", id, NULL);
}

static err_t payment_void(req_t *r)
{
	const char *date;
	err_t rc = void_date(r, &date);
	return rc ? rc : acct_action(r, &payment_res, req_param(r, "payment_id"), payment_void_tx, date);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t accounting_docs_routes[] = {
	CRUD("GET", "/v1/accounting/invoices", "Accounting", "read", NULL, 0, invoice_res, OP_LIST, "List invoices"),
	CRUD("POST", "/v1/accounting/invoices", "Accounting", "write", NULL, 0, invoice_res, OP_CREATE, "Create invoice"),
	CRUD("GET", "/v1/accounting/invoices/:invoice_id", "Accounting", "read", NULL, 0, invoice_res, OP_GET, "Get invoice"),
	CRUD("PATCH", "/v1/accounting/invoices/:invoice_id", "Accounting", "write", NULL, 0, invoice_res, OP_UPDATE, "Update invoice"),
	CRUD("DELETE", "/v1/accounting/invoices/:invoice_id", "Accounting", "write", NULL, 0, invoice_res, OP_DELETE, "Delete invoice"),
	ROUTE("POST", "/v1/accounting/invoices/:invoice_id/approve", "Accounting", AUTH_BEARER, "write", NULL, 0, invoice_approve, NULL, "Approve invoice"),
	ROUTE("POST", "/v1/accounting/invoices/:invoice_id/void", "Accounting", AUTH_BEARER, "write", NULL, 0, invoice_void, void_body, "Void invoice"),
	CRUD("GET", "/v1/accounting/payments", "Accounting", "read", NULL, 0, payment_res, OP_LIST, "List payments"),
	CRUD("POST", "/v1/accounting/payments", "Accounting", "write", NULL, 0, payment_res, OP_CREATE, "Create payment"),
	CRUD("GET", "/v1/accounting/payments/:payment_id", "Accounting", "read", NULL, 0, payment_res, OP_GET, "Get payment"),
	ROUTE("POST", "/v1/accounting/payments/:payment_id/void", "Accounting", AUTH_BEARER, "write", NULL, 0, payment_void, void_body, "Void payment"),
	ROUTES_END,
};
