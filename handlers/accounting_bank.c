/*
 * accounting_bank.c - bank accounts, their statement lines (imported as
 * JSON, CSV or OFX), matching a line to a posted entry or payment (or posting
 * one for it), and reconciliation against a statement's closing balance.
 *
 * A statement line's amount is signed: positive is money in.  Imports are
 * deduplicated per bank account by the bank's transaction id, or else by
 * (date, amount, description): a statement imported twice adds nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../fcgi/journal.h"
#include "accounting.h"
#include "routes.h"

#define IMPORT_ROWS_MAX 10000
#define CSV_FIELDS_MAX 64

/* ---------------------------------------------------------- bank accounts */

static const res_field_t bank_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = 200 },
	{ .name = "account_number", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE, .max = 64 },
	{ .name = "bank_name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 200 },
	{ .name = "currency", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE, .min = 3, .max = 3 },
	{ .name = "gl_account_id", .type = COL_STR, .in = FT_STRING, .flags = RF_CREATE, .max = 40 },
	{ .name = "is_active", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_UPDATE | RF_FILTER },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The GL account is an asset account of the chart (default: the first
 * bank account); the currency one of the tenant's. */
static err_t bank_validate(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_CREATE)
		return E_OK;
	const char *base, *cur = json_str_of(c->body, "currency");
	const char *gl = json_str_of(c->body, "gl_account_id");
	int places;
	err_t rc = acct_ready(r, &base);
	if (rc || (rc = acct_currency_places(r, cur ? cur : base, "currency", &places)))
		return rc;
	resource_set(c, "currency", db_str(cur ? cur : base));
	if (!gl) {
		if ((rc = acct_account_of(r, "bank", "gl_account_id", &gl)))
			return rc;
		resource_set(c, "gl_account_id", db_str(gl));
		return E_OK;
	}
	db_param p[] = { db_str(gl) };
	db_result *res;
	if ((rc = acct_exec(r, arena_printf(r->a, "SELECT id FROM %s WHERE id = ? AND type = 'asset'",
					    tenant_table(r, "_acct_accounts")), p, 1, &res)))
		return rc;
	if (res->nrows == 0)
		return req_fail_field(r, E_VALIDATION, "gl_account_id",
				      "gl_account_id must be an asset account of the chart");
	return E_OK;
}

static err_t bank_before_delete(req_t *r, res_ctx_t *c)
{
	db_param p[] = { db_str(c->id), db_str(c->id) };
	db_result *res;
	err_t rc = acct_exec(r, arena_printf(r->a,
		"SELECT (SELECT COUNT(*) FROM %s WHERE bank_account_id = ?) + "
		"(SELECT COUNT(*) FROM %s WHERE bank_account_id = ?)",
		tenant_table(r, "_acct_bank_transactions"), tenant_table(r, "_acct_payments")),
		p, 2, &res);
	if (!rc && strcmp(db_cell(res, 0, 0), "0"))
		return req_fail(r, E_DEPENDENCY_EXISTS, "Cannot delete: the bank account has %s "
				"transactions and payments; deactivate it instead (is_active false)",
				db_cell(res, 0, 0));
	return rc;
}

static const res_hooks_t bank_hooks = {
	.parent = acct_res_ready,
	.validate = bank_validate,
	.before_delete = bank_before_delete,
};

static const resource_t bank_res = {
	.name = "Bank account", .type = "accounting_bank_account", .table = "_acct_bank_accounts",
	.home = RES_TENANT, .id_param = "bank_account_id", .id_prefix = "bnk_",
	.fields = bank_fields, .order = "name", .title = "name", .hooks = &bank_hooks,
	.example = "{\"name\":\"Operating account\",\"bank_name\":\"First Bank\","
		   "\"account_number\":\"12345678\"}",
};

/* ------------------------------------------------------ statement lines */

static const res_field_t tx_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "bank_account_id", .type = COL_STR },
	{ .name = "date", .type = COL_STR },
	{ .name = "description", .type = COL_STR },
	{ .name = "amount", .type = COL_STR },
	{ .name = "type", .type = COL_STR, .flags = RF_EXPR,
	  .column = "IF(amount < 0, 'debit', 'credit')" },
	{ .name = "external_id", .type = COL_STR },
	{ .name = "status", .type = COL_STR },
	{ .name = "entry_id", .type = COL_STR },
	{ .name = "payment_id", .type = COL_STR },
	{ .name = "reconciled_at", .type = COL_TIME },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

static const res_hooks_t tx_hooks = {
	.parent = acct_res_ready,
};

static const resource_t tx_res = {
	.name = "Bank transaction", .type = "accounting_bank_transaction",
	.table = "_acct_bank_transactions", .home = RES_TENANT, .id_param = "transaction_id",
	.id_prefix = "btx_", .fields = tx_fields, .order = "date", .hooks = &tx_hooks,
};

/* The bank account id (404 when absent): its currency and GL account. */
static err_t bank_load(req_t *r, const char *id, db_result **out)
{
	db_param p[] = { db_str(id) };
	err_t rc = acct_exec(r, arena_printf(r->a, "SELECT id, currency, gl_account_id, is_active "
					     "FROM %s WHERE id = ?", tenant_table(r, "_acct_bank_accounts")),
			     p, 1, out);
	if (!rc && (*out)->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Bank account not found");
	return rc;
}

/* ?status=, ?from=, ?to=, limit and offset: {transactions, total, limit,
 * offset}, oldest first. */
static err_t tx_list(req_t *r)
{
	const char *bank = req_param(r, "bank_account_id"), *from, *to;
	const char *status = req_query(r, "status");
	long long limit, offset;
	db_result *b, *res, *n;
	err_t rc = acct_ready(r, NULL);
	if (rc || (rc = bank_load(r, bank, &b)) || (rc = acct_query_date(r, "from", &from)) ||
	    (rc = acct_query_date(r, "to", &to)) ||
	    (rc = req_query_int(r, "limit", 50, 1, 100, &limit)) ||
	    (rc = req_query_int(r, "offset", 0, 0, 1000000000, &offset)))
		return rc;
	if (status && strcmp(status, "unmatched") && strcmp(status, "matched") &&
	    strcmp(status, "reconciled"))
		return req_fail_field(r, E_VALIDATION, "status",
				      "status must be one of: unmatched, matched, reconciled");
	const char *where = "bank_account_id = ? AND (? IS NULL OR status = ?) AND "
			    "(? IS NULL OR date >= ?) AND (? IS NULL OR date <= ?)";
	db_param p[] = { db_str(bank), db_str(status), db_str(status), db_str(from), db_str(from),
			 db_str(to), db_str(to), db_int(limit), db_int(offset) };
	const char *table = tenant_table(r, "_acct_bank_transactions");
	if ((rc = acct_exec(r, arena_printf(r->a, "SELECT *, IF(amount < 0, 'debit', 'credit') AS type "
					    "FROM %s WHERE %s ORDER BY date, id LIMIT ? OFFSET ?", table,
					    where), p, 9, &res)) ||
	    (rc = acct_exec(r, arena_printf(r->a, "SELECT COUNT(*) FROM %s WHERE %s", table, where),
			    p, 7, &n)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "transactions", rows_to_json(resource_cols(&tx_res), res));
	cJSON_AddNumberToObject(d, "total", (double)strtoll(db_cell(n, 0, 0), NULL, 10));
	cJSON_AddNumberToObject(d, "limit", (double)limit);
	cJSON_AddNumberToObject(d, "offset", (double)offset);
	reply_data(r, 200, d);
	return E_OK;
}

/* ----------------------------------------------------------------- import */

typedef struct stmt_row {
	const char *date, *description, *external_id;
	int64_t amount;
} stmt_row_t;

/* Splits one CSV record at *at (RFC 4180 quotes) into fields (in r's
 * arena); *at moves past it.  Returns the field count. */
static int csv_record(req_t *r, const char **at, char **fields, int max)
{
	const char *s = *at;
	int n = 0;
	while (*s) {
		char *buf = arena_alloc(r->a, strlen(s) + 1), *o = buf;
		if (*s == '"') {
			/* Quoted: "" is a quote; the closing quote ends it. */
			for (s++; *s && (*s != '"' || s[1] == '"'); s++) {
				if (*s == '"')
					s++;
				*o++ = *s;
			}
			if (*s == '"')
				s++;
		}
		while (*s && *s != ',' && *s != '\n' && *s != '\r')
			*o++ = *s++;
		*o = '\0';
		if (n < max)
			fields[n++] = buf;
		if (*s == ',') {
			s++;
			continue;
		}
		break;
	}
	while (*s == '\r' || *s == '\n')
		s++;
	*at = s;
	return n;
}

/* A date of the statement's format into YYYY-MM-DD. */
static const char *date_read(req_t *r, const char *s, const char *format)
{
	int a, b, c;
	if (!s || sscanf(s, "%d%*[-/.]%d%*[-/.]%d", &a, &b, &c) != 3)
		return NULL;
	const char *d = !strcmp(format, "DD/MM/YYYY") ? arena_printf(r->a, "%04d-%02d-%02d", c, b, a)
			: !strcmp(format, "MM/DD/YYYY") ? arena_printf(r->a, "%04d-%02d-%02d", c, a, b)
			: arena_printf(r->a, "%04d-%02d-%02d", a, b, c);
	return acct_date_valid(d) ? d : NULL;
}

/* The column of mapping[name] (a header name or an index) in header, or
 * without it the header named name; -1 for none, -2 for a mapping that
 * names no column. */
static int csv_column(const cJSON *mapping, const char *name, char **header, int nh)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(mapping, name);
	if (cJSON_IsNumber(m))
		return m->valuedouble >= 0 && m->valuedouble < nh ? (int)m->valuedouble : -2;
	const char *want = cJSON_IsString(m) ? m->valuestring : name;
	for (int i = 0; i < nh; i++)
		if (!strcasecmp(header[i], want))
			return i;
	return m ? -2 : -1;
}

/* body.data as CSV with a header row: mapping {date, amount | debit and
 * credit, description, id}, date_format, sign ("credit_positive", the
 * default: positive is money in; or "debit_positive"). */
static err_t csv_rows(req_t *r, int places, stmt_row_t **rows, int *nrows)
{
	const char *at = json_str_of(r->json, "data");
	const cJSON *mapping = cJSON_GetObjectItemCaseSensitive(r->json, "mapping");
	const char *fmt = json_str_of(r->json, "date_format");
	const char *sign = json_str_of(r->json, "sign");
	fmt = fmt ? fmt : "YYYY-MM-DD";
	if (!at)
		return req_fail_field(r, E_VALIDATION, "data", "data (the CSV text) is required");
	if (strcmp(fmt, "YYYY-MM-DD") && strcmp(fmt, "DD/MM/YYYY") && strcmp(fmt, "MM/DD/YYYY"))
		return req_fail_field(r, E_VALIDATION, "date_format",
				      "date_format must be YYYY-MM-DD, DD/MM/YYYY or MM/DD/YYYY");
	if (sign && strcmp(sign, "credit_positive") && strcmp(sign, "debit_positive"))
		return req_fail_field(r, E_VALIDATION, "sign",
				      "sign must be credit_positive or debit_positive");
	char *header[CSV_FIELDS_MAX], *f[CSV_FIELDS_MAX];
	int nh = csv_record(r, &at, header, CSV_FIELDS_MAX);
	static const char *const names[] = { "date", "amount", "description", "id", "debit", "credit" };
	int col[6];
	for (int k = 0; k < 6; k++) {
		col[k] = csv_column(mapping, names[k], header, nh);
		if (col[k] == -2)
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "mapping.%s", names[k]),
					      "mapping.%s names no column of the header", names[k]);
	}
	if (col[0] < 0 || (col[1] < 0 && (col[4] < 0 || col[5] < 0)))
		return req_fail_field(r, E_VALIDATION, "mapping",
				      "The CSV needs a date column and an amount column (or debit and "
				      "credit columns); name them in mapping");
	*rows = arena_calloc(r->a, IMPORT_ROWS_MAX, sizeof(stmt_row_t));
	*nrows = 0;
	for (int line = 2; *at; line++) {
		int n = csv_record(r, &at, f, CSV_FIELDS_MAX);
		if (n == 1 && !*f[0])
			continue;
		if (*nrows == IMPORT_ROWS_MAX)
			return req_fail_field(r, E_VALIDATION, "data", "At most %d rows per import",
					      IMPORT_ROWS_MAX);
		stmt_row_t *row = &(*rows)[(*nrows)++];
		row->date = date_read(r, col[0] < n ? f[col[0]] : NULL, fmt);
		if (!row->date)
			return req_fail_field(r, E_VALIDATION, "data", "Line %d: the date is not %s", line,
					      fmt);
		int64_t v = 0, w = 0;
		bool ok;
		if (col[1] >= 0) {
			ok = col[1] < n && dec_parse(f[col[1]], DEC_MONEY, DEC_MONEY_MAX, &v);
		} else {
			ok = col[4] < n && col[5] < n &&
			     (!*f[col[4]] || dec_parse(f[col[4]], DEC_MONEY, DEC_MONEY_MAX, &w)) &&
			     (!*f[col[5]] || dec_parse(f[col[5]], DEC_MONEY, DEC_MONEY_MAX, &v));
			v -= w < 0 ? -w : w;
		}
		if (!ok || !dec_fits(v, DEC_MONEY, places))
			return req_fail_field(r, E_VALIDATION, "data", "Line %d: the amount is not a "
					      "decimal in the account's currency", line);
		row->amount = sign && !strcmp(sign, "debit_positive") ? -v : v;
		row->description = col[2] >= 0 && col[2] < n ? f[col[2]] : NULL;
		row->external_id = col[3] >= 0 && col[3] < n && *f[col[3]] ? f[col[3]] : NULL;
	}
	return E_OK;
}

/* The value of <tag> in the OFX block [s, end): the text after it up to
 * the next tag or line end, trimmed (SGML OFX closes no elements); NULL
 * when absent. */
static const char *ofx_value(req_t *r, const char *s, const char *end, const char *tag)
{
	const char *open = arena_printf(r->a, "<%s>", tag);
	const char *at = strcasestr(s, open);
	if (!at || at >= end)
		return NULL;
	at += strlen(open);
	while (at < end && (*at == ' ' || *at == '\t'))
		at++;
	size_t n = 0;
	while (at + n < end && at[n] != '<' && at[n] != '\r' && at[n] != '\n')
		n++;
	while (n && (at[n - 1] == ' ' || at[n - 1] == '\t'))
		n--;
	return arena_strndup(r->a, at, n);
}

/* body.data as OFX (1.x SGML or 2.x XML): each <STMTTRN>'s DTPOSTED,
 * TRNAMT (signed: positive is money in), FITID, NAME or MEMO. */
static err_t ofx_rows(req_t *r, int places, stmt_row_t **rows, int *nrows)
{
	const char *s = json_str_of(r->json, "data");
	if (!s)
		return req_fail_field(r, E_VALIDATION, "data", "data (the OFX text) is required");
	*rows = arena_calloc(r->a, IMPORT_ROWS_MAX, sizeof(stmt_row_t));
	*nrows = 0;
	for (const char *at = strcasestr(s, "<STMTTRN>"); at; ) {
		const char *next = strcasestr(at + 9, "<STMTTRN>");
		const char *end = next ? next : at + strlen(at);
		if (*nrows == IMPORT_ROWS_MAX)
			return req_fail_field(r, E_VALIDATION, "data", "At most %d transactions per import",
					      IMPORT_ROWS_MAX);
		stmt_row_t *row = &(*rows)[(*nrows)++];
		const char *dt = ofx_value(r, at, end, "DTPOSTED");
		const char *amt = ofx_value(r, at, end, "TRNAMT");
		if (dt && strlen(dt) >= 8)
			row->date = arena_printf(r->a, "%.4s-%.2s-%.2s", dt, dt + 4, dt + 6);
		if (!row->date || !acct_date_valid(row->date))
			return req_fail_field(r, E_VALIDATION, "data",
					      "Transaction %d: DTPOSTED is not a date YYYYMMDD", *nrows);
		if (!amt || !dec_parse(amt, DEC_MONEY, DEC_MONEY_MAX, &row->amount) ||
		    !dec_fits(row->amount, DEC_MONEY, places))
			return req_fail_field(r, E_VALIDATION, "data", "Transaction %d: TRNAMT is not a "
					      "decimal in the account's currency", *nrows);
		row->external_id = ofx_value(r, at, end, "FITID");
		row->description = ofx_value(r, at, end, "NAME");
		if (!row->description)
			row->description = ofx_value(r, at, end, "MEMO");
		at = next;
	}
	if (*nrows == 0)
		return req_fail_field(r, E_VALIDATION, "data", "The OFX has no <STMTTRN> transactions");
	return E_OK;
}

/* body.transactions: [{date, description, amount, type (debit: money out,
 * credit: money in; without it the amount's sign says), id}]. */
static err_t json_rows(req_t *r, int places, stmt_row_t **rows, int *nrows)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(r->json, "transactions");
	int n = cJSON_GetArraySize(list);
	if (!cJSON_IsArray(list) || n < 1 || n > IMPORT_ROWS_MAX)
		return req_fail_field(r, E_VALIDATION, "transactions",
				      "transactions must be an array of 1 to %d lines", IMPORT_ROWS_MAX);
	*rows = arena_calloc(r->a, (size_t)n, sizeof(stmt_row_t));
	*nrows = n;
	for (int i = 0; i < n; i++) {
		const cJSON *o = cJSON_GetArrayItem(list, i);
		stmt_row_t *row = &(*rows)[i];
		const char *where = arena_printf(r->a, "transactions[%d]", i);
		const char *type = json_str_of(o, "type");
		row->date = json_str_of(o, "date");
		if (!row->date || !acct_date_valid(row->date))
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.date", where),
					      "%s.date must be a date YYYY-MM-DD", where);
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "amount");
		const char *f = arena_printf(r->a, "%s.amount", where);
		if (!dec_from_json(a, DEC_MONEY, DEC_MONEY_MAX, &row->amount) || row->amount == 0 ||
		    !dec_fits(row->amount, DEC_MONEY, places))
			return req_fail_field(r, E_VALIDATION, f, "%s must be a non-zero decimal in the "
					      "account's currency", f);
		if (type && strcmp(type, "debit") && strcmp(type, "credit"))
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.type", where),
					      "%s.type must be debit or credit", where);
		if (type) {
			int64_t m = row->amount < 0 ? -row->amount : row->amount;
			row->amount = !strcmp(type, "debit") ? -m : m;
		}
		row->description = json_str_of(o, "description");
		row->external_id = json_str_of(o, "id");
	}
	return E_OK;
}

/* The dedupe key: "id:" + the bank's id, or "h:" + a hash of the line. */
static const char *dedupe_key(req_t *r, const stmt_row_t *row)
{
	if (row->external_id)
		return arena_printf(r->a, "id:%.190s", row->external_id);
	const char *text = arena_printf(r->a, "%s|%s|%s", row->date, acct_money_text(r, row->amount),
					row->description ? row->description : "");
	unsigned char h[crypto_generichash_BYTES];
	crypto_generichash(h, sizeof(h), (const unsigned char *)text, strlen(text), NULL, 0);
	char hex[sizeof(h) * 2 + 1];
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return arena_printf(r->a, "h:%s", hex);
}

static const field_t import_body[] = {
	{ "transactions", FT_ARRAY, 0, 0, IMPORT_ROWS_MAX },
	{ "format", FT_STRING, 0, 0, 8 },
	{ "data", FT_STRING, 0, 0, 0 },
	{ "mapping", FT_OBJECT, 0, 0, 0 },
	{ "date_format", FT_STRING, 0, 0, 16 },
	{ "sign", FT_STRING, 0, 0, 20 },
	{ NULL, 0, 0, 0, 0 },
};

static err_t bank_import(req_t *r)
{
	const char *bank = req_param(r, "bank_account_id");
	const char *format = json_str_of(r->json, "format");
	db_result *b;
	int places;
	stmt_row_t *rows = NULL;
	int n = 0;
	err_t rc = acct_ready(r, NULL);
	if (rc || (rc = bank_load(r, bank, &b)) ||
	    (rc = acct_currency_places(r, db_get(b, 0, "currency"), "currency", &places)))
		return rc;
	if (format && strcmp(format, "json") && strcmp(format, "csv") && strcmp(format, "ofx"))
		return req_fail_field(r, E_VALIDATION, "format", "format must be json, csv or ofx");
	if ((rc = !format || !strcmp(format, "json") ? json_rows(r, places, &rows, &n)
		  : !strcmp(format, "csv") ? csv_rows(r, places, &rows, &n)
		  : ofx_rows(r, places, &rows, &n)))
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	const char *sql = arena_printf(r->a,
		"INSERT IGNORE INTO %s (id, bank_account_id, date, description, amount, external_id, "
		"dedupe_key, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'unmatched', "
		"UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))", tenant_table(r, "_acct_bank_transactions"));
	cJSON *ids = req_own(r, cJSON_CreateArray());
	int added = 0;
	for (int i = 0; !rc && i < n; i++) {
		char id[48];
		id_new(id, sizeof(id), "btx_");
		const char *desc = rows[i].description;
		db_param p[] = { db_str(id), db_str(bank), db_str(rows[i].date),
				 db_strn(desc ? desc : "", desc ? strnlen(desc, 1000) : 0),
				 db_str(acct_money_text(r, rows[i].amount)), db_str(rows[i].external_id),
				 db_str(dedupe_key(r, &rows[i])) };
		db_result *res;
		if (!(rc = acct_exec(r, sql, p, 7, &res)) && res->affected) {
			added++;
			cJSON_AddItemToArray(ids, cJSON_CreateString(id));
		}
	}
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddNumberToObject(details, "imported", added);
	if (!rc)
		rc = req_audit(r, "accounting_bank_account.imported", "accounting_bank_account", bank,
			       details);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "imported", added);
	cJSON_AddNumberToObject(d, "duplicates", n - added);
	cJSON_AddItemToObject(d, "transaction_ids", cJSON_Duplicate(ids, true));
	reply_data(r, 201, d);
	return E_OK;
}

/* ------------------------------------------------------------------ match */

/* The statement line id locked, with its bank's GL account. */
static err_t tx_lock(req_t *r, const char *id, db_result **out)
{
	db_param p[] = { db_str(id) };
	err_t rc = acct_exec(r, arena_printf(r->a,
		"SELECT t.status, t.amount, t.date, t.description, t.bank_account_id, b.gl_account_id, "
		"b.currency FROM %s t JOIN %s b ON b.id = t.bank_account_id WHERE t.id = ? FOR UPDATE",
		tenant_table(r, "_acct_bank_transactions"), tenant_table(r, "_acct_bank_accounts")),
		p, 1, out);
	if (!rc && (*out)->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Bank transaction not found");
	return rc;
}

/* The posted entry moves the GL account by the line's amount (debit -
 * credit), else 400 naming field. */
static err_t entry_fits(req_t *r, const char *entry, const db_result *t, const char *field)
{
	db_result *res;
	err_t rc;
	db_param q[] = { db_str(db_get(t, 0, "gl_account_id")), db_str(entry) };
	if ((rc = acct_exec(r, arena_printf(r->a,
		"SELECT e.status, COALESCE(SUM(l.debit) - SUM(l.credit), 0) AS net FROM %s e "
		"LEFT JOIN %s l ON l.entry_id = e.id AND l.account_id = ? WHERE e.id = ? "
		"GROUP BY e.status", tenant_table(r, "_acct_entries"), tenant_table(r, "_acct_lines")),
		q, 2, &res)))
		return rc;
	if (res->nrows == 0 || !strcmp(db_get(res, 0, "status"), "draft"))
		return req_fail_field(r, E_VALIDATION, field, "%s: no such posted entry", field);
	if (acct_cell_dec(db_get(res, 0, "net"), DEC_MONEY) !=
	    acct_cell_dec(db_get(t, 0, "amount"), DEC_MONEY))
		return req_fail_field(r, E_VALIDATION, field,
				      "%s moves the bank's account by %s, the statement line by %s",
				      field, db_get(res, 0, "net"), db_get(t, 0, "amount"));
	return E_OK;
}

/* An entry for the line: the bank's GL account against account_id. */
static err_t match_post(req_t *r, const db_result *t, const char **entry)
{
	const char *account, *number, *cur = db_get(t, 0, "currency");
	int64_t amount = acct_cell_dec(db_get(t, 0, "amount"), DEC_MONEY), rate;
	err_t rc = acct_account_arg(r, r->json, "body", &account);
	if (rc || (rc = acct_rate_to_base(r, cur, db_get(t, 0, "date"), "currency", &rate)))
		return rc;
	int64_t m = amount < 0 ? -amount : amount, based = 0;
	const char *base;
	int bp;
	if ((rc = acct_ready(r, &base)) || (rc = acct_currency_places(r, base, "currency", &bp)))
		return rc;
	dec_mul(m, DEC_MONEY, rate, DEC_RATE, DEC_MONEY, &based);
	based = dec_round(based, DEC_MONEY, bp);
	const char *desc = json_str_of(r->json, "description");
	acct_line_t lines[2] = {
		{ .account_id = db_get(t, 0, "gl_account_id"), .debit = amount > 0 ? based : 0,
		  .credit = amount > 0 ? 0 : based, .currency = cur, .amount = m, .rate = rate },
		{ .account_id = account, .debit = amount > 0 ? 0 : based,
		  .credit = amount > 0 ? based : 0, .currency = cur, .amount = m, .rate = rate },
	};
	acct_entry_t e = { .date = db_get(t, 0, "date"), .currency = cur, .source = "bank",
			   .description = desc ? desc : db_get(t, 0, "description"),
			   .lines = lines, .nlines = 2 };
	if ((rc = acct_entry_insert(r, &e)) || (rc = acct_entry_post(r, e.id, &number)))
		return rc;
	*entry = e.id;
	return E_OK;
}

static err_t match_tx(req_t *r, const char *id, const char *arg, const char **out)
{
	(void)arg;
	(void)out;
	db_result *t;
	err_t rc = tx_lock(r, id, &t);
	if (rc)
		return rc;
	if (strcmp(db_get(t, 0, "status"), "unmatched"))
		return req_fail(r, E_CONFLICT, "The transaction is already %s", db_get(t, 0, "status"));
	const char *entry = json_str_of(r->json, "entry_id");
	const char *payment = json_str_of(r->json, "payment_id");
	if (!!entry + !!payment + !!(json_str_of(r->json, "account_id") ||
				     json_str_of(r->json, "account_code")) != 1)
		return req_fail_field(r, E_VALIDATION, "entry_id", "Give one of entry_id, payment_id "
				      "or account_id (which posts an entry for the line)");
	if (payment) {
		db_param p[] = { db_str(payment), db_str(db_get(t, 0, "bank_account_id")) };
		db_result *res;
		if ((rc = acct_exec(r, arena_printf(r->a, "SELECT entry_id FROM %s WHERE id = ? AND "
						    "status = 'posted' AND (bank_account_id = ? OR "
						    "bank_account_id IS NULL)",
						    tenant_table(r, "_acct_payments")), p, 2, &res)))
			return rc;
		if (res->nrows == 0)
			return req_fail_field(r, E_VALIDATION, "payment_id",
					      "payment_id: no such posted payment of this bank account");
		entry = db_cell(res, 0, 0);
		if ((rc = entry_fits(r, entry, t, "payment_id")))
			return rc;
	} else if (entry) {
		if ((rc = entry_fits(r, entry, t, "entry_id")))
			return rc;
	} else if ((rc = match_post(r, t, &entry))) {
		return rc;
	}
	db_param p[] = { db_str(entry), db_str(payment), db_str(id) };
	if ((rc = acct_exec(r, arena_printf(r->a,
		"UPDATE %s SET status = 'matched', entry_id = ?, payment_id = ?, "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
		tenant_table(r, "_acct_bank_transactions")), p, 3, NULL)))
		return rc;
	return req_audit(r, "accounting_bank_transaction.matched", "accounting_bank_transaction", id,
			 NULL);
}

static const field_t match_body[] = {
	{ "entry_id", FT_STRING, 0, 0, 40 },
	{ "payment_id", FT_STRING, 0, 0, 40 },
	{ "account_id", FT_STRING, 0, 0, 40 },
	{ "account_code", FT_STRING, 0, 0, 20 },
	{ "description", FT_STRING, 0, 0, 1000 },
	{ NULL, 0, 0, 0, 0 },
};

static err_t tx_match(req_t *r)
{
	return acct_action(r, &tx_res, req_param(r, "transaction_id"), match_tx, NULL);
}

/* -------------------------------------------------------------- reconcile */

static const field_t reconcile_body[] = {
	{ "transaction_ids", FT_STRING_ARRAY, 0, 0, IMPORT_ROWS_MAX },
	{ "statement_date", FT_STRING, 0, 10, 10 },
	{ "closing_balance", FT_ANY, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

/*
 * The matched lines dated on or before statement_date (or those named in
 * transaction_ids) and the ones reconciled before make the cleared
 * balance; with closing_balance given they are marked reconciled only
 * when it equals it, else 409 with the difference.
 */
static err_t bank_reconcile(req_t *r)
{
	const char *bank = req_param(r, "bank_account_id");
	const char *date = json_str_of(r->json, "statement_date");
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(r->json, "transaction_ids");
	const cJSON *close = cJSON_GetObjectItemCaseSensitive(r->json, "closing_balance");
	db_result *b, *res;
	int64_t want = 0;
	err_t rc = acct_ready(r, NULL);
	if (rc || (rc = bank_load(r, bank, &b)))
		return rc;
	if (date && !acct_date_valid(date))
		return req_fail_field(r, E_VALIDATION, "statement_date",
				      "statement_date must be a date YYYY-MM-DD");
	if (close && !dec_from_json(close, DEC_MONEY, DEC_MONEY_MAX, &want) &&
	    !(cJSON_IsString(close) && close->valuestring[0] == '-' &&
	      dec_parse(close->valuestring, DEC_MONEY, DEC_MONEY_MAX, &want)))
		return req_fail_field(r, E_VALIDATION, "closing_balance",
				      "closing_balance must be a decimal amount");
	if (!ids && !date)
		return req_fail_field(r, E_VALIDATION, "statement_date",
				      "Give statement_date (and closing_balance) or transaction_ids");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	const char *table = tenant_table(r, "_acct_bank_transactions");
	const char *in = ids && cJSON_GetArraySize(ids) ? db_placeholders(r->a, cJSON_GetArraySize(ids))
							: "NULL";
	int np = 3 + cJSON_GetArraySize(ids);
	db_param *p = arena_calloc(r->a, (size_t)np, sizeof(db_param));
	p[0] = db_str(bank);
	p[1] = db_str(ids ? NULL : date);
	p[2] = db_str(ids ? NULL : date);
	for (int i = 3; i < np; i++)
		p[i] = db_str(cJSON_GetArrayItem(ids, i - 3)->valuestring);
	const char *pick = arena_printf(r->a, "bank_account_id = ? AND status = 'matched' AND "
					"((? IS NOT NULL AND date <= ?) OR id IN (%s))", in);
	/* The subquery's parameter comes first. */
	db_param *q = arena_calloc(r->a, (size_t)np + 1, sizeof(db_param));
	q[0] = db_str(bank);
	memcpy(q + 1, p, sizeof(db_param) * (size_t)np);
	rc = acct_exec(r, arena_printf(r->a,
		"SELECT COUNT(*) AS n, COALESCE(SUM(amount), 0) AS s, (SELECT COALESCE(SUM(amount), 0) "
		"FROM %s WHERE bank_account_id = ? AND status = 'reconciled') AS done "
		"FROM %s WHERE %s", table, table, pick), q, np + 1, &res);
	int64_t cleared = rc ? 0 : acct_cell_dec(db_get(res, 0, "s"), DEC_MONEY) +
				   acct_cell_dec(db_get(res, 0, "done"), DEC_MONEY);
	cJSON *d = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(d, "cleared_balance", acct_money_text(r, cleared));
	if (close) {
		cJSON_AddStringToObject(d, "closing_balance", acct_money_text(r, want));
		cJSON_AddStringToObject(d, "difference", acct_money_text(r, want - cleared));
	}
	if (!rc && close && want != cleared) {
		r->err_extra = req_own(r, cJSON_Duplicate(d, true));
		rc = req_fail_field(r, E_CONFLICT, "closing_balance",
				    "The cleared balance is %s, not %s: a difference of %s",
				    acct_money_text(r, cleared), acct_money_text(r, want),
				    acct_money_text(r, want - cleared));
	}
	if (!rc)
		rc = acct_exec(r, arena_printf(r->a, "UPDATE %s SET status = 'reconciled', "
					       "reconciled_at = UTC_TIMESTAMP(3), updated_at = "
					       "UTC_TIMESTAMP(3) WHERE %s", table, pick), p, np, NULL);
	cJSON_AddNumberToObject(d, "reconciled", rc ? 0 : strtod(db_get(res, 0, "n"), NULL));
	if (!rc)
		rc = req_audit(r, "accounting_bank_account.reconciled", "accounting_bank_account", bank,
			       d);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	reply_data(r, 200, cJSON_Duplicate(d, true));
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t accounting_bank_routes[] = {
	CRUD("GET", "/v1/accounting/bank-accounts", "Accounting", "read", NULL, 0, bank_res, OP_LIST, "List bank accounts"),
	CRUD("POST", "/v1/accounting/bank-accounts", "Accounting", "write", NULL, 0, bank_res, OP_CREATE, "Create bank account"),
	CRUD("GET", "/v1/accounting/bank-accounts/:bank_account_id", "Accounting", "read", NULL, 0, bank_res, OP_GET, "Get bank account"),
	CRUD("PATCH", "/v1/accounting/bank-accounts/:bank_account_id", "Accounting", "write", NULL, 0, bank_res, OP_UPDATE, "Update bank account"),
	CRUD("DELETE", "/v1/accounting/bank-accounts/:bank_account_id", "Accounting", "write", NULL, 0, bank_res, OP_DELETE, "Delete bank account"),
	ROUTE("POST", "/v1/accounting/bank-accounts/:bank_account_id/import", "Accounting", AUTH_BEARER, "write", NULL, 0, bank_import, import_body, "Import bank transactions"),
	ROUTE("GET", "/v1/accounting/bank-accounts/:bank_account_id/transactions", "Accounting", AUTH_BEARER, "read", NULL, 0, tx_list, NULL, "List bank transactions"),
	CRUD("GET", "/v1/accounting/bank-transactions/:transaction_id", "Accounting", "read", NULL, 0, tx_res, OP_GET, "Get bank transaction"),
	ROUTE("POST", "/v1/accounting/bank-transactions/:transaction_id/match", "Accounting", AUTH_BEARER, "write", NULL, 0, tx_match, match_body, "Match bank transaction"),
	ROUTE("POST", "/v1/accounting/bank-accounts/:bank_account_id/reconcile", "Accounting", AUTH_BEARER, "write", NULL, 0, bank_reconcile, reconcile_body, "Reconcile bank account"),
	ROUTES_END,
};
