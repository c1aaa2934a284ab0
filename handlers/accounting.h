/*
 * accounting.h - what the accounting files (accounting.c: settings, chart,
 * currencies, tax codes, periods; accounting_ledger.c: journal entries and
 * posting; accounting_reports.c; accounting_docs.c: invoices and
 * payments; accounting_bank.c) share.
 *
 * Money is an int64 at scale DEC_MONEY (common/decimal.h) in C, a
 * DECIMAL(19,4) in MariaDB and a decimal string in JSON.  Dates are
 * YYYY-MM-DD.
 */
#ifndef TESSERA_ACCOUNTING_H
#define TESSERA_ACCOUNTING_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/decimal.h"
#include "../fcgi/resource.h"

#define ACCT_LINES_MAX 500

/* Makes the tenant's books on first use (settings, base currency USD,
 * the standard chart; README "Accounting") and gives the base currency
 * (in r's arena) when base is not NULL. */
err_t acct_ready(req_t *r, const char **base);

/* The resource hook every accounting descriptor runs first (as its
 * parent hook, which the engine calls on every operation): acct_ready. */
err_t acct_res_ready(req_t *r, res_ctx_t *c);

/* db_exec, a failure replied (503, 409 or 500). */
err_t acct_exec(req_t *r, const char *sql, const db_param *p, int np, db_result **out);

/* An action's work in its transaction: on row id with the action's arg;
 * *out may name another row of the same resource to answer with. */
typedef err_t (*acct_tx_fn)(req_t *r, const char *id, const char *arg, const char **out);

/* Runs fn in one transaction (the books made first) and answers 200 with
 * the row *out of res as it is after it. */
err_t acct_action(req_t *r, const resource_t *res, const char *id, acct_tx_fn fn, const char *arg);

/* The reply hook of a write whose hooks add to the row after the engine
 * rendered it (lines, numbers): the row read again. */
err_t acct_write_reply(req_t *r, res_ctx_t *c);

/* Whether s is a real calendar date YYYY-MM-DD (years 1900-9999). */
bool acct_date_valid(const char *s);
/* The same as a field check that replies 400 naming the field. */
err_t acct_check_date(req_t *r, const res_field_t *f, const cJSON *v);
/* A query parameter that must be a date when given: 400 naming it. */
err_t acct_query_date(req_t *r, const char *name, const char **out);

/* The decimal places of currency code (400 naming field when the tenant
 * has no such currency). */
err_t acct_currency_places(req_t *r, const char *code, const char *field, int *places);

/* A money amount of v (string or number, > 0 unless zero_ok) in a currency
 * of places decimals: 400 naming field when malformed, negative,
 * over-precise or too large. */
err_t acct_money_arg(req_t *r, const cJSON *v, const char *field, int places, bool zero_ok,
		     int64_t *out);

/* The rate turning 1 from into to on date (the latest on or before it);
 * *found false when the tenant has none. */
err_t acct_rate_on(req_t *r, const char *from, const char *to, const char *date, int64_t *rate,
		   bool *found);

/* The account an object names by account_id or account_code (where:
 * "lines[2]", for the field in a 400) into *out (r's). */
err_t acct_account_arg(req_t *r, const cJSON *o, const char *where, const char **out);

/* The first active account of the chart with sub_type sub (in code
 * order); 400 naming field when there is none. */
err_t acct_account_of(req_t *r, const char *sub, const char *field, const char **out);

/* In the caller's transaction: the next number of a counter of
 * _acct_settings ("entry_seq") as prefix-000123.  The settings row stays
 * locked until the transaction ends, which also serialises postings, and
 * a rolled-back transaction takes no number: no gaps. */
err_t acct_next_number(req_t *r, const char *column, const char *prefix, const char **out);

/* The rate (DEC_RATE) turning 1 currency into the base currency on date:
 * 1 for the base itself, else the tenant's rate on or before the date in
 * either direction; 400 naming field when it has none. */
err_t acct_rate_to_base(req_t *r, const char *currency, const char *date, const char *field,
			int64_t *rate);

/* Money at scale DEC_MONEY as "1234.5000" in r's arena. */
const char *acct_money_text(req_t *r, int64_t v);
/* A DECIMAL cell ("12.3400", NULL = 0) at scale. */
int64_t acct_cell_dec(const char *cell, int scale);

/* One line of an entry: debit or credit in the base currency (one is
 * zero), amount in currency at rate (DEC_RATE) the original. */
typedef struct acct_line {
	const char *account_id;
	int64_t debit, credit;
	const char *currency;
	int64_t amount;
	int64_t rate;
	const char *description;
	const char *tax_code_id;
} acct_line_t;

typedef struct acct_entry {
	const char *id;            /* set by acct_entry_insert when NULL */
	const char *date;
	const char *description;
	const char *reference;
	const char *currency;
	const char *source;        /* manual, reversal, invoice, payment, bank, recurring */
	const char *source_id;
	const char *reversal_of;
	acct_line_t *lines;
	int nlines;
} acct_entry_t;

/* Reads the JSON lines of an entry dated date in currency (the entry's
 * default) into e; 400 naming "lines[i].field" on any bad line. */
err_t acct_lines_parse(req_t *r, const cJSON *lines, const char *date, const char *currency,
		       acct_entry_t *e);

/* In the caller's transaction: writes e as a draft (its row and lines). */
err_t acct_entry_insert(req_t *r, acct_entry_t *e);

/* In the caller's transaction: posts draft entry id after every check
 * (two lines or more, balanced, accounts active, an open period), numbers
 * it and adds it to the daily balances.  *number gets its number. */
err_t acct_entry_post(req_t *r, const char *id, const char **number);

/* In the caller's transaction: a posted reversal of posted entry id dated
 * date, linked both ways; *new_id gets its id. */
err_t acct_entry_reverse(req_t *r, const char *id, const char *date, const char *description,
			 const char *source, const char **new_id);

#endif
