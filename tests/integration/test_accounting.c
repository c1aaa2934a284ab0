/*
 * test_accounting.c - the double-entry ledger against the real stack: the
 * standard chart, accounts, journal entries (balance and shape checks that
 * name the field and post nothing, numbering, immutability, reversal),
 * periods (close refuses postings, reopen is audited), foreign-currency
 * lines at the rate of their date, the reports asserted to the cent and
 * cross-checked with Debian's hledger on a journal file written from the
 * posted entries, concurrent posting, and tenant isolation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

Suite *suite_accounting(void);

/* The id of the account with code in the tenant's chart. */
static char *account_of(const char *key, const char *code)
{
	http_resp *r = call("GET", key, NULL, "/v1/accounting/accounts?code=%s", code);
	assert_envelope(r, 200, NULL);
	const cJSON *a = cJSON_GetArrayItem(resp_data(r), 0);
	ck_assert_msg(a != NULL, "no account %s", code);
	char *id = strdup(json_str(a, "id"));
	http_free(r);
	return id;
}

/* POST a journal entry; the response. */
static http_resp *entry_new(const char *key, const char *body)
{
	return call("POST", key, body, "/v1/accounting/journal-entries");
}

/* A posted entry of date moving amount from credit_code to debit_code;
 * returns its id. */
static char *post_simple(const char *key, const char *date, const char *debit_code,
			 const char *credit_code, const char *amount, const char *desc)
{
	char *body = strf("{\"date\":\"%s\",\"description\":\"%s\",\"post\":true,\"lines\":["
			  "{\"account_code\":\"%s\",\"debit\":\"%s\"},"
			  "{\"account_code\":\"%s\",\"credit\":\"%s\"}]}",
			  date, desc, debit_code, amount, credit_code, amount);
	http_resp *r = entry_new(key, body);
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "posted");
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	free(body);
	return id;
}

/* GET path (printf) as key, asserting 200; the response. */
static http_resp *get_ok(const char *key, const char *path)
{
	http_resp *r = call("GET", key, NULL, "%s", path);
	assert_envelope(r, 200, NULL);
	return r;
}

/* The trial balance line of code ("debit" or "credit" member), or NULL. */
static const char *tb_of(const cJSON *tb, const char *code, const char *side)
{
	const cJSON *a = find_by(item(tb, "accounts"), "code", code);
	return a ? json_str(a, side) : NULL;
}

/* The balance of code in a report section (assets, income, …), or NULL. */
static const char *section_of(const cJSON *rep, const char *sec, const char *code)
{
	const cJSON *a = find_by(item(item(rep, sec), "accounts"), "code", code);
	return a ? json_str(a, "balance") : NULL;
}

static long long posted_count(const char *key)
{
	http_resp *r = get_ok(key, "/v1/accounting/journal-entries?status=posted");
	long long n = (long long)item(resp_data(r), "total")->valuedouble;
	http_free(r);
	return n;
}

START_TEST(the_standard_chart_is_seeded_and_accounts_filter_by_type_and_active)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = get_ok(t.key, "/v1/accounting/accounts");
	const cJSON *list = resp_data(r);
	ck_assert_int_ge(cJSON_GetArraySize(list), 10);
	const cJSON *ar = find_by(list, "code", "1100");
	ck_assert_ptr_nonnull(ar);
	ck_assert_str_eq(json_str(ar, "type"), "asset");
	ck_assert_str_eq(json_str(ar, "sub_type"), "receivable");
	ck_assert_str_eq(json_str(ar, "currency"), "USD");
	http_free(r);

	r = get_ok(t.key, "/v1/accounting/accounts?type=income");
	const cJSON *a;
	cJSON_ArrayForEach(a, resp_data(r))
		ck_assert_str_eq(json_str(a, "type"), "income");
	ck_assert_int_ge(cJSON_GetArraySize(resp_data(r)), 2);
	http_free(r);

	/* A sub-account must have its parent's type; codes are unique. */
	char *sales = account_of(t.key, "4000");
	char *body = strf("{\"code\":\"1010\",\"name\":\"Petty\",\"type\":\"asset\",\"parent_id\":\"%s\"}",
			  sales);
	r = call("POST", t.key, body, "/v1/accounting/accounts");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "parent_id");
	http_free(r);
	free(body);
	r = call("POST", t.key, "{\"code\":\"1000\",\"name\":\"Dup\",\"type\":\"asset\"}",
		 "/v1/accounting/accounts");
	assert_fail_field(r, 409, "CONFLICT", "code");
	http_free(r);
	r = call("POST", t.key, "{\"code\":\"1010\",\"name\":\"X\",\"type\":\"cash\"}",
		 "/v1/accounting/accounts");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "type");
	http_free(r);
	body = strf("{\"code\":\"4010\",\"name\":\"Online sales\",\"type\":\"income\","
		    "\"sub_type\":\"sales\",\"parent_id\":\"%s\"}", sales);
	r = call("POST", t.key, body, "/v1/accounting/accounts");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "parent_id"), sales);
	char *online = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	free(body);

	/* Deactivated, it leaves ?active=true and refuses postings. */
	r = call("PATCH", t.key, "{\"is_active\":false}", "/v1/accounting/accounts/%s", online);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsFalse(item(resp_data(r), "is_active")));
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/accounts?active=true");
	ck_assert_ptr_null(find_by(resp_data(r), "code", "4010"));
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/accounts?active=false");
	ck_assert_ptr_nonnull(find_by(resp_data(r), "code", "4010"));
	http_free(r);
	r = entry_new(t.key, "{\"date\":\"2026-01-02\",\"post\":true,\"lines\":["
			     "{\"account_code\":\"1000\",\"debit\":\"5\"},"
			     "{\"account_code\":\"4010\",\"credit\":\"5\"}]}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "lines[1].account_id");
	http_free(r);

	/* The parent has a child: not deleted. */
	r = call("DELETE", t.key, NULL, "/v1/accounting/accounts/%s", sales);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/accounting/accounts/%s", online);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(online);
	free(sales);
	tenant_drop(&t);
}
END_TEST

START_TEST(bad_entries_name_the_field_and_post_nothing)
{
	struct tenant t, u;
	tenant_make(&t);
	tenant_make(&u);
	char *foreign = account_of(u.key, "1000");
	struct {
		const char *lines, *field;
	} bad[] = {
		/* unbalanced */
		{ "[{\"account_code\":\"1000\",\"debit\":\"100\"},{\"account_code\":\"4000\",\"credit\":\"90\"}]",
		  "lines" },
		/* both sides on one line */
		{ "[{\"account_code\":\"1000\",\"debit\":\"100\",\"credit\":\"100\"},{\"account_code\":\"4000\",\"credit\":\"100\"}]",
		  "lines[0].credit" },
		/* neither side */
		{ "[{\"account_code\":\"1000\"},{\"account_code\":\"4000\",\"credit\":\"100\"}]",
		  "lines[0].debit" },
		{ "[{\"account_code\":\"1000\",\"debit\":\"-100\"},{\"account_code\":\"4000\",\"credit\":\"-100\"}]",
		  "lines[0].debit" },
		{ "[{\"account_code\":\"1000\",\"debit\":\"0\"},{\"account_code\":\"4000\",\"credit\":\"0\"}]",
		  "lines[0].debit" },
		/* over-precise for USD (2 places) */
		{ "[{\"account_code\":\"1000\",\"debit\":\"10.005\"},{\"account_code\":\"4000\",\"credit\":\"10.005\"}]",
		  "lines[0].debit" },
		{ "[{\"account_code\":\"1000\",\"debit\":1e400},{\"account_code\":\"4000\",\"credit\":\"1\"}]",
		  "lines[0].debit" },
		{ "[{\"account_code\":\"1000\",\"debit\":true},{\"account_code\":\"4000\",\"credit\":\"1\"}]",
		  "lines[0].debit" },
		/* one line only */
		{ "[{\"account_code\":\"1000\",\"debit\":\"1\"}]", "lines" },
		{ "[]", "lines" },
		{ "[{\"account_code\":\"9999\",\"debit\":\"1\"},{\"account_code\":\"4000\",\"credit\":\"1\"}]",
		  "lines[0].account_code" },
		{ "[{\"debit\":\"1\"},{\"account_code\":\"4000\",\"credit\":\"1\"}]", "lines[0].account_code" },
		{ "[{\"account_code\":\"1000\",\"debit\":\"1\",\"colour\":\"red\"},{\"account_code\":\"4000\",\"credit\":\"1\"}]",
		  "lines[0].colour" },
		{ "[{\"account_code\":\"1000\",\"debit\":\"1\",\"currency\":\"XYZ\"},{\"account_code\":\"4000\",\"credit\":\"1\"}]",
		  "lines[0].currency" },
		/* a foreign currency without any rate */
		{ "[{\"account_code\":\"1000\",\"debit\":\"1\",\"currency\":\"EUR\"},{\"account_code\":\"4000\",\"credit\":\"1\"}]",
		  "lines[0].exchange_rate" },
		{ "[{\"account_code\":\"1000\",\"debit\":\"1\",\"tax_code_id\":\"tax_nope\"},{\"account_code\":\"4000\",\"credit\":\"1\"}]",
		  "lines[0].tax_code_id" },
		{ "[\"x\",{\"account_code\":\"4000\",\"credit\":\"1\"}]", "lines[0]" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *body = strf("{\"date\":\"2026-01-05\",\"post\":true,\"lines\":%s}", bad[i].lines);
		http_resp *r = entry_new(t.key, body);
		ck_assert_msg(r->status == 400, "case %zu: %ld %s", i, r->status, r->body);
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		ck_assert_ptr_nonnull(error_message(r));
		http_free(r);
		free(body);
	}
	/* Another tenant's account is not in this chart. */
	char *body = strf("{\"date\":\"2026-01-05\",\"lines\":[{\"account_id\":\"%s\",\"debit\":\"1\"},"
			  "{\"account_code\":\"4000\",\"credit\":\"1\"}]}", foreign);
	http_resp *r = entry_new(t.key, body);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "lines[0].account_id");
	http_free(r);
	free(body);
	r = entry_new(t.key, "{\"date\":\"2026-02-30\",\"lines\":[]}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "date");
	http_free(r);
	r = entry_new(t.key, "{\"date\":\"2026-02-03\"}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "lines");
	http_free(r);

	/* Nothing was created, nothing posted. */
	r = get_ok(t.key, "/v1/accounting/journal-entries");
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble, 0);
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/reports/trial-balance");
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "accounts")), 0);
	ck_assert_str_eq(json_str(resp_data(r), "total_debit"), "0.0000");
	http_free(r);
	free(foreign);
	tenant_drop(&t);
	tenant_drop(&u);
}
END_TEST

START_TEST(drafts_are_edited_then_posted_numbered_immutable_and_reversed)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = entry_new(t.key, "{\"date\":\"2026-01-10\",\"description\":\"Rent\","
				       "\"reference\":\"R-1\",\"lines\":["
				       "{\"account_code\":\"6100\",\"debit\":\"1200\"},"
				       "{\"account_code\":\"1000\",\"credit\":\"1000\"}]}");
	/* A draft may be unbalanced; posting it is refused. */
	assert_envelope(r, 201, NULL);
	const cJSON *d = resp_data(r);
	ck_assert_str_eq(json_str(d, "status"), "draft");
	ck_assert(cJSON_IsNull(item(d, "number")));
	ck_assert_int_eq(cJSON_GetArraySize(item(d, "lines")), 2);
	const cJSON *l0 = cJSON_GetArrayItem(item(d, "lines"), 0);
	ck_assert_str_eq(json_str(l0, "debit"), "1200.0000");
	ck_assert(cJSON_IsNull(item(l0, "credit")));
	char *id = strdup(json_str(d, "id"));
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/accounting/journal-entries/%s/post", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "lines");
	ck_assert_ptr_nonnull(strstr(error_message(r), "200.0000"));
	http_free(r);

	r = call("PATCH", t.key, "{\"lines\":[{\"account_code\":\"6100\",\"debit\":\"1200\"},"
				 "{\"account_code\":\"1000\",\"credit\":\"1200\"}]}",
		 "/v1/accounting/journal-entries/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "total"), "1200.0000");
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/accounting/journal-entries/%s/post", id);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "posted");
	ck_assert_str_eq(json_str(resp_data(r), "number"), "JE-000001");
	http_free(r);

	/* Posted: immutable. */
	r = call("PATCH", t.key, "{\"description\":\"x\"}", "/v1/accounting/journal-entries/%s", id);
	assert_envelope(r, 409, "ENTRY_POSTED");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/accounting/journal-entries/%s", id);
	assert_envelope(r, 409, "ENTRY_POSTED");
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/accounting/journal-entries/%s/post", id);
	assert_envelope(r, 409, "ENTRY_POSTED");
	http_free(r);
	/* The account now has postings: deactivate, not delete. */
	char *rent = account_of(t.key, "6100");
	r = call("DELETE", t.key, NULL, "/v1/accounting/accounts/%s", rent);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	ck_assert_int_eq((int)item(cJSON_GetArrayItem(item(item(r->json, "error"), "dependencies"), 0),
				   "count")->valuedouble, 1);
	http_free(r);

	/* The next entry takes the next number. */
	char *sale = post_simple(t.key, "2026-01-11", "1000", "4000", "500.25", "Sale");
	r = get_ok(t.key, strf("/v1/accounting/journal-entries/%s", sale));
	ck_assert_str_eq(json_str(resp_data(r), "number"), "JE-000002");
	http_free(r);

	/* Reverse: a new posted entry with the sides swapped, linked both ways. */
	r = call("POST", t.key, "{\"date\":\"2026-01-12\"}",
		 "/v1/accounting/journal-entries/%s/reverse", id);
	assert_envelope(r, 200, NULL);
	d = resp_data(r);
	ck_assert_str_eq(json_str(d, "status"), "posted");
	ck_assert_str_eq(json_str(d, "number"), "JE-000003");
	ck_assert_str_eq(json_str(d, "reversal_of"), id);
	ck_assert_str_eq(json_str(d, "date"), "2026-01-12");
	l0 = cJSON_GetArrayItem(item(d, "lines"), 0);
	ck_assert_str_eq(json_str(l0, "credit"), "1200.0000");
	char *rev = strdup(json_str(d, "id"));
	http_free(r);
	r = get_ok(t.key, strf("/v1/accounting/journal-entries/%s", id));
	ck_assert_str_eq(json_str(resp_data(r), "reversed_by"), rev);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "reversed");
	http_free(r);
	r = call("POST", t.key, "{}", "/v1/accounting/journal-entries/%s/reverse", id);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);

	/* Rent nets to zero; the sale stays. */
	r = get_ok(t.key, "/v1/accounting/reports/trial-balance?as_of=2026-01-31");
	d = resp_data(r);
	ck_assert_ptr_null(tb_of(d, "6100", "debit"));
	ck_assert_str_eq(tb_of(d, "1000", "debit"), "500.2500");
	ck_assert_str_eq(tb_of(d, "4000", "credit"), "500.2500");
	ck_assert_str_eq(json_str(d, "total_debit"), "500.2500");
	ck_assert(cJSON_IsTrue(item(d, "balanced")));
	http_free(r);
	/* As of before the reversal, rent is there. */
	r = get_ok(t.key, "/v1/accounting/reports/trial-balance?as_of=2026-01-11");
	ck_assert_str_eq(tb_of(resp_data(r), "6100", "debit"), "1200.0000");
	ck_assert_str_eq(json_str(resp_data(r), "total_debit"), "1200.0000");
	ck_assert_str_eq(tb_of(resp_data(r), "1000", "credit"), "699.7500");
	http_free(r);

	/* List filters: status, dates, account. */
	r = get_ok(t.key, "/v1/accounting/journal-entries?status=reversed");
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble, 1);
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/journal-entries?from=2026-01-11&to=2026-01-11");
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble, 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(resp_data(r), "entries"), 0), "id"), sale);
	http_free(r);
	r = get_ok(t.key, strf("/v1/accounting/journal-entries?account_id=%s", rent));
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble, 2);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/accounting/journal-entries?from=yesterday");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "from");
	http_free(r);

	/* A draft is deleted for good. */
	r = entry_new(t.key, "{\"date\":\"2026-01-13\",\"lines\":[{\"account_code\":\"1000\",\"debit\":\"1\"}]}");
	assert_envelope(r, 201, NULL);
	char *draft = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/accounting/journal-entries/%s", draft);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/accounting/journal-entries/%s", draft);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);

	/* Audited. */
	struct audit_page p;
	audit_get(&p, t.key, "?limit=100");
	ck_assert_ptr_nonnull(audit_find(p.logs, "accounting_entry.posted", id));
	ck_assert_ptr_nonnull(audit_find(p.logs, "accounting_entry.reversed", id));
	http_free(p.r);
	free(draft);
	free(rev);
	free(rent);
	free(sale);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_closed_period_refuses_postings_until_reopened)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = call("POST", t.key, "{\"name\":\"March\",\"start_date\":\"2026-03-01\","
					   "\"end_date\":\"2026-03-31\"}", "/v1/accounting/periods");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "open");
	char *march = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"Overlap\",\"start_date\":\"2026-03-31\","
				"\"end_date\":\"2026-04-30\"}", "/v1/accounting/periods");
	assert_fail_field(r, 409, "CONFLICT", "start_date");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"Back\",\"start_date\":\"2026-05-31\","
				"\"end_date\":\"2026-05-01\"}", "/v1/accounting/periods");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "end_date");
	http_free(r);

	/* A draft inside stops the close, with its count. */
	r = entry_new(t.key, "{\"date\":\"2026-03-15\",\"lines\":["
			     "{\"account_code\":\"1000\",\"debit\":\"10\"},{\"account_code\":\"4000\",\"credit\":\"10\"}]}");
	assert_envelope(r, 201, NULL);
	char *draft = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/accounting/periods/%s/close", march);
	assert_envelope(r, 409, "CONFLICT");
	ck_assert_ptr_nonnull(strstr(error_message(r), "1 draft"));
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/accounting/journal-entries/%s", draft);
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *before = post_simple(t.key, "2026-03-10", "1000", "4000", "10", "Before close");

	r = call("POST", t.key, NULL, "/v1/accounting/periods/%s/close", march);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "closed");
	ck_assert(is_utc_time(json_str(resp_data(r), "closed_at")));
	http_free(r);
	long long n = posted_count(t.key);
	r = entry_new(t.key, "{\"date\":\"2026-03-20\",\"post\":true,\"lines\":["
			     "{\"account_code\":\"1000\",\"debit\":\"10\"},{\"account_code\":\"4000\",\"credit\":\"10\"}]}");
	assert_fail_field(r, 409, "PERIOD_CLOSED", "date");
	http_free(r);
	ck_assert_int_eq(posted_count(t.key), n);
	/* Nor a reversal dated inside; outside it is fine. */
	r = call("POST", t.key, NULL, "/v1/accounting/journal-entries/%s/reverse", before);
	assert_envelope(r, 409, "PERIOD_CLOSED");
	http_free(r);
	r = call("PATCH", t.key, "{\"name\":\"Mar\"}", "/v1/accounting/periods/%s", march);
	assert_envelope(r, 409, "PERIOD_CLOSED");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/accounting/periods/%s", march);
	assert_envelope(r, 409, "PERIOD_CLOSED");
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/accounting/periods/%s/close", march);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);

	r = call("POST", t.key, NULL, "/v1/accounting/periods/%s/reopen", march);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "open");
	ck_assert(cJSON_IsNull(item(resp_data(r), "closed_at")));
	http_free(r);
	free(post_simple(t.key, "2026-03-20", "1000", "4000", "10", "After reopen"));
	struct audit_page p;
	audit_get(&p, t.key, "?limit=100");
	ck_assert_ptr_nonnull(audit_find(p.logs, "accounting_period.closed", march));
	ck_assert_ptr_nonnull(audit_find(p.logs, "accounting_period.reopened", march));
	http_free(p.r);

	/* The trial balance of the period is as of its end. */
	r = get_ok(t.key, strf("/v1/accounting/reports/trial-balance?period_id=%s", march));
	ck_assert_str_eq(json_str(resp_data(r), "as_of"), "2026-03-31");
	ck_assert_str_eq(tb_of(resp_data(r), "1000", "debit"), "20.0000");
	http_free(r);
	free(before);
	free(draft);
	free(march);
	tenant_drop(&t);
}
END_TEST

START_TEST(foreign_currency_lines_take_the_rate_of_their_date)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = call("POST", t.key, "{\"from_currency\":\"EUR\",\"to_currency\":\"USD\","
					   "\"rate\":\"1.10\",\"effective_date\":\"2026-01-01\"}",
			    "/v1/accounting/exchange-rates");
	assert_envelope(r, 201, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "rate"), "1.10000000");
	http_free(r);
	r = call("POST", t.key, "{\"from_currency\":\"EUR\",\"to_currency\":\"USD\",\"rate\":1.2,"
				"\"effective_date\":\"2026-02-01\"}", "/v1/accounting/exchange-rates");
	assert_envelope(r, 201, NULL);
	http_free(r);
	r = call("POST", t.key, "{\"from_currency\":\"EUR\",\"to_currency\":\"USD\",\"rate\":\"1.3\","
				"\"effective_date\":\"2026-02-01\"}", "/v1/accounting/exchange-rates");
	assert_fail_field(r, 409, "CONFLICT", "effective_date");
	http_free(r);
	r = call("POST", t.key, "{\"from_currency\":\"EUR\",\"to_currency\":\"XXX\",\"rate\":\"1.3\","
				"\"effective_date\":\"2026-02-01\"}", "/v1/accounting/exchange-rates");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "to_currency");
	http_free(r);
	r = call("POST", t.key, "{\"from_currency\":\"EUR\",\"to_currency\":\"USD\",\"rate\":\"-1\","
				"\"effective_date\":\"2026-02-01\"}", "/v1/accounting/exchange-rates");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "rate");
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/exchange-rates?from_currency=EUR");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 2);
	http_free(r);

	/* 100 EUR on 15 January at 1.10 is 110.00 USD; on 15 February 120.00. */
	r = entry_new(t.key, "{\"date\":\"2026-01-15\",\"post\":true,\"lines\":["
			     "{\"account_code\":\"1100\",\"debit\":\"110.00\"},"
			     "{\"account_code\":\"4000\",\"credit\":\"100\",\"currency\":\"EUR\"}]}");
	assert_envelope(r, 201, NULL);
	const cJSON *l1 = cJSON_GetArrayItem(item(resp_data(r), "lines"), 1);
	ck_assert_str_eq(json_str(l1, "credit"), "110.0000");
	ck_assert_str_eq(json_str(l1, "amount"), "100.0000");
	ck_assert_str_eq(json_str(l1, "currency"), "EUR");
	ck_assert_str_eq(json_str(l1, "exchange_rate"), "1.10000000");
	http_free(r);
	r = entry_new(t.key, "{\"date\":\"2026-02-15\",\"post\":true,\"lines\":["
			     "{\"account_code\":\"1100\",\"debit\":\"110.00\"},"
			     "{\"account_code\":\"4000\",\"credit\":\"100\",\"currency\":\"EUR\"}]}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "lines");
	ck_assert_ptr_nonnull(strstr(error_message(r), "120.0000"));
	http_free(r);
	/* A rate given on the line wins; half-even to cents: 33.33 * 1.115 = 37.16295 -> 37.16. */
	r = entry_new(t.key, "{\"date\":\"2026-02-15\",\"post\":true,\"lines\":["
			     "{\"account_code\":\"1100\",\"debit\":\"37.16\"},"
			     "{\"account_code\":\"4000\",\"credit\":\"33.33\",\"currency\":\"EUR\",\"exchange_rate\":\"1.115\"}]}");
	assert_envelope(r, 201, NULL);
	http_free(r);
	/* A base-currency line with a rate other than 1 is refused. */
	r = entry_new(t.key, "{\"date\":\"2026-02-15\",\"lines\":["
			     "{\"account_code\":\"1100\",\"debit\":\"1\",\"exchange_rate\":\"2\"},"
			     "{\"account_code\":\"4000\",\"credit\":\"1\"}]}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "lines[0].exchange_rate");
	http_free(r);

	/* A currency: unique ISO code, places 0-4; used ones stay. */
	r = call("POST", t.key, "{\"code\":\"JPY\",\"name\":\"Yen\",\"decimal_places\":0}",
		 "/v1/accounting/currencies");
	assert_envelope(r, 201, NULL);
	char *jpy = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	r = call("POST", t.key, "{\"code\":\"jpy\",\"name\":\"Yen\"}", "/v1/accounting/currencies");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "code");
	http_free(r);
	r = call("POST", t.key, "{\"code\":\"JPY\",\"name\":\"Yen\"}", "/v1/accounting/currencies");
	assert_fail_field(r, 409, "CONFLICT", "code");
	http_free(r);
	r = call("POST", t.key, "{\"from_currency\":\"USD\",\"to_currency\":\"JPY\",\"rate\":\"150\","
				"\"effective_date\":\"2026-01-01\"}", "/v1/accounting/exchange-rates");
	assert_envelope(r, 201, NULL);
	http_free(r);
	/* Only the inverse rate exists: 1 JPY = 1/150 USD; yen have no decimals. */
	r = entry_new(t.key, "{\"date\":\"2026-01-20\",\"post\":true,\"lines\":["
			     "{\"account_code\":\"6000\",\"debit\":\"1500\",\"currency\":\"JPY\"},"
			     "{\"account_code\":\"1000\",\"credit\":\"10\"}]}");
	assert_envelope(r, 201, NULL);
	http_free(r);
	r = entry_new(t.key, "{\"date\":\"2026-01-20\",\"lines\":["
			     "{\"account_code\":\"6000\",\"debit\":\"1.5\",\"currency\":\"JPY\"},"
			     "{\"account_code\":\"1000\",\"credit\":\"0.01\"}]}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "lines[0].debit");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/accounting/currencies/%s", jpy);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/currencies?code=USD");
	ck_assert(cJSON_IsTrue(item(cJSON_GetArrayItem(resp_data(r), 0), "is_base")));
	char *usd = strdup(json_str(cJSON_GetArrayItem(resp_data(r), 0), "id"));
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/accounting/currencies/%s", usd);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	free(usd);
	free(jpy);
	tenant_drop(&t);
}
END_TEST

/* A small business's month: opening balance, sales, purchases with tax,
 * rent, a loan, equipment; every report checked to the cent. */
static void month_post(const char *key)
{
	free(post_simple(key, "2026-01-01", "1000", "3000", "10000.00", "Opening capital"));
	free(post_simple(key, "2026-01-03", "1500", "1000", "2400.00", "Equipment"));
	free(post_simple(key, "2026-01-05", "1000", "2500", "5000.00", "Bank loan"));
	http_resp *r = call("POST", key, "{\"code\":\"ST10\",\"name\":\"Sales tax 10%\",\"rate\":\"10\"}",
			    "/v1/accounting/tax-codes");
	assert_envelope(r, 201, NULL);
	char *tax = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	/* A sale on credit with tax: receivable 1100.00 = sales 1000 + tax 100. */
	char *body = strf("{\"date\":\"2026-01-10\",\"description\":\"Invoice 1\",\"post\":true,\"lines\":["
			  "{\"account_code\":\"1100\",\"debit\":\"1100.00\"},"
			  "{\"account_code\":\"4000\",\"credit\":\"1000.00\",\"tax_code_id\":\"%s\"},"
			  "{\"account_code\":\"2100\",\"credit\":\"100.00\",\"tax_code_id\":\"%s\"}]}",
			  tax, tax);
	r = entry_new(key, body);
	assert_envelope(r, 201, NULL);
	http_free(r);
	free(body);
	/* A purchase of stock with tax, on credit. */
	body = strf("{\"date\":\"2026-01-12\",\"description\":\"Bill 1\",\"post\":true,\"lines\":["
		    "{\"account_code\":\"5000\",\"debit\":\"300.00\",\"tax_code_id\":\"%s\"},"
		    "{\"account_code\":\"2100\",\"debit\":\"30.00\",\"tax_code_id\":\"%s\"},"
		    "{\"account_code\":\"2000\",\"credit\":\"330.00\"}]}", tax, tax);
	r = entry_new(key, body);
	assert_envelope(r, 201, NULL);
	http_free(r);
	free(body);
	free(post_simple(key, "2026-01-15", "1000", "1100", "600.00", "Customer pays part"));
	free(post_simple(key, "2026-01-20", "2000", "1000", "330.00", "Pay supplier"));
	free(post_simple(key, "2026-01-25", "6100", "1000", "800.00", "Rent"));
	free(post_simple(key, "2026-01-31", "6200", "1000", "12.34", "Bank fees"));
	free(tax);
}

START_TEST(a_month_of_business_reports_to_the_cent)
{
	struct tenant t;
	tenant_make(&t);
	month_post(t.key);
	http_resp *r = get_ok(t.key, "/v1/accounting/reports/trial-balance?as_of=2026-01-31");
	const cJSON *d = resp_data(r);
	/* Cash: 10000 - 2400 + 5000 + 600 - 330 - 800 - 12.34 = 12057.66 */
	ck_assert_str_eq(tb_of(d, "1000", "debit"), "12057.6600");
	ck_assert_str_eq(tb_of(d, "1100", "debit"), "500.0000");
	ck_assert_str_eq(tb_of(d, "1500", "debit"), "2400.0000");
	ck_assert_str_eq(tb_of(d, "2100", "credit"), "70.0000");
	ck_assert_ptr_null(tb_of(d, "2000", "debit"));
	ck_assert_str_eq(tb_of(d, "2500", "credit"), "5000.0000");
	ck_assert_str_eq(tb_of(d, "3000", "credit"), "10000.0000");
	ck_assert_str_eq(tb_of(d, "4000", "credit"), "1000.0000");
	ck_assert_str_eq(tb_of(d, "5000", "debit"), "300.0000");
	/* debits: 12057.66 + 500 + 2400 + 300 + 800 + 12.34 = 16070.00 */
	ck_assert_str_eq(json_str(d, "total_debit"), "16070.0000");
	ck_assert_str_eq(json_str(d, "total_credit"), "16070.0000");
	ck_assert(cJSON_IsTrue(item(d, "balanced")));
	http_free(r);

	r = get_ok(t.key, "/v1/accounting/reports/profit-and-loss?from=2026-01-01&to=2026-01-31");
	d = resp_data(r);
	ck_assert_str_eq(json_str(item(d, "income"), "total"), "1000.0000");
	ck_assert_str_eq(json_str(item(d, "cost_of_sales"), "total"), "300.0000");
	ck_assert_str_eq(json_str(d, "gross_profit"), "700.0000");
	ck_assert_str_eq(json_str(item(d, "expenses"), "total"), "812.3400");
	ck_assert_str_eq(json_str(d, "net_income"), "-112.3400");
	ck_assert_str_eq(section_of(d, "expenses", "6200"), "12.3400");
	http_free(r);
	/* Before the rent, a profit. */
	r = get_ok(t.key, "/v1/accounting/reports/profit-and-loss?from=2026-01-01&to=2026-01-24");
	ck_assert_str_eq(json_str(resp_data(r), "net_income"), "700.0000");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/accounting/reports/profit-and-loss?from=2026-02-01&to=2026-01-01");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "from");
	http_free(r);

	r = get_ok(t.key, "/v1/accounting/reports/balance-sheet?as_of=2026-01-31");
	d = resp_data(r);
	/* assets 12057.66 + 500 + 2400 = 14957.66 = liabilities 5070 + equity 10000 - 112.34 */
	ck_assert_str_eq(json_str(d, "total_assets"), "14957.6600");
	ck_assert_str_eq(json_str(item(d, "liabilities"), "total"), "5070.0000");
	ck_assert_str_eq(json_str(item(d, "equity"), "total"), "10000.0000");
	ck_assert_str_eq(json_str(item(d, "equity"), "current_earnings"), "-112.3400");
	ck_assert_str_eq(json_str(d, "total_liabilities_and_equity"), "14957.6600");
	ck_assert(cJSON_IsTrue(item(d, "balanced")));
	ck_assert_str_eq(section_of(d, "assets", "1000"), "12057.6600");
	http_free(r);

	r = get_ok(t.key, "/v1/accounting/reports/cash-flow?from=2026-01-01&to=2026-01-31");
	d = resp_data(r);
	/* operating: -112.34 - 500 (receivables up) + 70 (tax owed) = -542.34;
	 * investing: -2400; financing: 5000 + 10000 */
	ck_assert_str_eq(json_str(item(d, "operating"), "net_income"), "-112.3400");
	ck_assert_str_eq(json_str(item(d, "operating"), "total"), "-542.3400");
	ck_assert_str_eq(json_str(item(d, "investing"), "total"), "-2400.0000");
	ck_assert_str_eq(json_str(item(d, "financing"), "total"), "15000.0000");
	ck_assert_str_eq(json_str(d, "net_change_in_cash"), "12057.6600");
	ck_assert_str_eq(json_str(d, "cash_change_in_accounts"), "12057.6600");
	ck_assert_str_eq(json_str(d, "opening_cash"), "0.0000");
	ck_assert_str_eq(json_str(d, "closing_cash"), "12057.6600");
	http_free(r);

	char *cash = account_of(t.key, "1000");
	r = get_ok(t.key, strf("/v1/accounting/reports/general-ledger?from=2026-01-04&to=2026-01-31"
			       "&account_id=%s", cash));
	d = cJSON_GetArrayItem(item(resp_data(r), "accounts"), 0);
	ck_assert_str_eq(json_str(d, "opening_balance"), "7600.0000");
	const cJSON *posts = item(d, "postings");
	ck_assert_int_eq(cJSON_GetArraySize(posts), 5);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(posts, 0), "balance"), "12600.0000");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(posts, 4), "balance"), "12057.6600");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(posts, 4), "credit"), "12.3400");
	ck_assert_str_eq(json_str(d, "closing_balance"), "12057.6600");
	http_free(r);
	free(cash);

	r = get_ok(t.key, "/v1/accounting/reports/tax?from=2026-01-01&to=2026-01-31");
	d = cJSON_GetArrayItem(item(resp_data(r), "tax_codes"), 0);
	ck_assert_str_eq(json_str(d, "code"), "ST10");
	ck_assert_str_eq(json_str(d, "taxable_sales"), "1000.0000");
	ck_assert_str_eq(json_str(d, "tax_collected"), "100.0000");
	ck_assert_str_eq(json_str(d, "taxable_purchases"), "300.0000");
	ck_assert_str_eq(json_str(d, "tax_paid"), "30.0000");
	ck_assert_str_eq(json_str(d, "net_tax"), "70.0000");
	http_free(r);
	tenant_drop(&t);
}
END_TEST

/* Writes every posted entry of key as an hledger journal and compares
 * hledger's balance of each account with the trial balance's. */
START_TEST(hledger_agrees_with_the_trial_balance)
{
	struct tenant t;
	tenant_make(&t);
	month_post(t.key);
	http_resp *r = get_ok(t.key, "/v1/accounting/journal-entries?limit=100");
	char *path = strf("%s/acct-%d.journal", stack_dir(), (int)getpid());
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	int n = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, item(resp_data(r), "entries")) {
		if (strcmp(json_str(e, "status"), "posted"))
			continue;
		fprintf(f, "%s %s\n", json_str(e, "date"), json_str(e, "number"));
		const cJSON *l;
		cJSON_ArrayForEach(l, item(e, "lines")) {
			const char *dr = json_str(l, "debit"), *cr = json_str(l, "credit");
			fprintf(f, "    acct:%s  %s%s USD\n", json_str(l, "account_id"), dr ? "" : "-",
				dr ? dr : cr);
		}
		fputc('\n', f);
		n++;
	}
	fclose(f);
	ck_assert_int_eq(n, 9);
	http_free(r);
	int rc;
	char *out = run_cmd(&rc, "hledger -f %s balance --flat --no-total -O csv 2>&1", path);
	ck_assert_msg(rc == 0, "hledger: %s", out);
	r = get_ok(t.key, "/v1/accounting/reports/trial-balance");
	const cJSON *a;
	int seen = 0;
	cJSON_ArrayForEach(a, item(resp_data(r), "accounts")) {
		const char *dr = json_str(a, "debit"), *cr = json_str(a, "credit");
		bool debit = strcmp(dr, "0.0000") != 0;
		/* hledger prints "12057.66 USD"; ours has four places. */
		char *want = strf("\"acct:%s\",\"%s%.*s", json_str(a, "account_id"), debit ? "" : "-",
				  (int)strlen(debit ? dr : cr) - 2, debit ? dr : cr);
		ck_assert_msg(strstr(out, want), "hledger lacks %s in:\n%s", want, out);
		free(want);
		seen++;
	}
	ck_assert_int_eq(seen, 10);
	http_free(r);
	free(out);
	unlink(path);
	free(path);
	tenant_drop(&t);
}
END_TEST

START_TEST(sixteen_clients_posting_at_once_leave_the_ledger_balanced_and_numbered)
{
	struct tenant t;
	tenant_make(&t);
	/* The books exist before the race. */
	http_free(get_ok(t.key, "/v1/accounting/accounts"));
	enum { CLIENTS = 16, EACH = 5 };
	pid_t kids[CLIENTS];
	for (int c = 0; c < CLIENTS; c++) {
		kids[c] = fork();
		ck_assert_int_ge(kids[c], 0);
		if (kids[c] == 0) {
			int bad = 0;
			for (int i = 0; i < EACH; i++) {
				char *body = strf("{\"date\":\"2026-01-%02d\",\"post\":true,\"lines\":["
						  "{\"account_code\":\"1000\",\"debit\":\"%d.%02d\"},"
						  "{\"account_code\":\"6000\",\"debit\":\"0.01\"},"
						  "{\"account_code\":\"4000\",\"credit\":\"%d.%02d\"},"
						  "{\"account_code\":\"2000\",\"credit\":\"0.01\"}]}",
						  1 + i, c + 1, i, c + 1, i);
				http_resp *r = entry_new(t.key, body);
				bad += r->status != 201;
				http_free(r);
				free(body);
			}
			_exit(bad);
		}
	}
	for (int c = 0; c < CLIENTS; c++) {
		int st;
		waitpid(kids[c], &st, 0);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "client %d failed %d posts", c,
			      WEXITSTATUS(st));
	}
	ck_assert_int_eq(posted_count(t.key), CLIENTS * EACH);
	http_resp *r = get_ok(t.key, "/v1/accounting/reports/trial-balance");
	const cJSON *d = resp_data(r);
	ck_assert(cJSON_IsTrue(item(d, "balanced")));
	/* sum over c of 5 * (c+1) + (0+1+2+3+4)/100 per client + 0.01 each */
	ck_assert_str_eq(tb_of(d, "1000", "debit"), "681.6000");
	ck_assert_str_eq(tb_of(d, "6000", "debit"), "0.8000");
	http_free(r);
	/* Numbers JE-000001 … JE-000080, each once. */
	bool seen[CLIENTS * EACH + 1] = { false };
	for (int page = 0; page < CLIENTS * EACH / 40; page++) {
		r = get_ok(t.key, strf("/v1/accounting/journal-entries?limit=40&offset=%d", page * 40));
		const cJSON *e;
		cJSON_ArrayForEach(e, item(resp_data(r), "entries")) {
			int num = atoi(json_str(e, "number") + 3);
			ck_assert(num >= 1 && num <= CLIENTS * EACH && !seen[num]);
			seen[num] = true;
		}
		http_free(r);
	}
	for (int i = 1; i <= CLIENTS * EACH; i++)
		ck_assert_msg(seen[i], "JE-%06d is missing", i);
	tenant_drop(&t);
}
END_TEST

START_TEST(another_tenant_sees_none_of_the_ledger)
{
	struct tenant t, u;
	tenant_make(&t);
	tenant_make(&u);
	char *id = post_simple(t.key, "2026-01-05", "1000", "4000", "42.00", "Mine");
	char *acc = account_of(t.key, "1000");
	const char *paths[] = { "/v1/accounting/journal-entries/%s", "/v1/accounting/accounts/%s" };
	const char *ids[] = { id, acc };
	for (int i = 0; i < 2; i++) {
		http_resp *r = call("GET", u.key, NULL, paths[i], ids[i]);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	http_resp *r = call("POST", u.key, NULL, "/v1/accounting/journal-entries/%s/post", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", u.key, "{}", "/v1/accounting/journal-entries/%s/reverse", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = get_ok(u.key, "/v1/accounting/reports/trial-balance");
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "accounts")), 0);
	http_free(r);
	r = call("GET", u.key, NULL, "/v1/accounting/reports/general-ledger?account_id=%s", acc);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "account_id");
	http_free(r);
	/* A read-only key reads, and writes nothing. */
	char *ro = key_new(t.key, "{\"name\":\"ro\",\"scopes\":[\"read\"]}", NULL);
	r = call("GET", ro, NULL, "/v1/accounting/reports/balance-sheet");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", ro, "{}", "/v1/accounting/journal-entries/%s/reverse", id);
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	free(ro);
	free(acc);
	free(id);
	tenant_drop(&t);
	tenant_drop(&u);
}
END_TEST

/* POST path (printf) with body as key, asserting status; the response. */
static http_resp *post_ok(const char *key, long status, const char *body, const char *path)
{
	http_resp *r = call("POST", key, body, "%s", path);
	assert_envelope(r, status, NULL);
	return r;
}

static char *id_of(http_resp *r)
{
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

START_TEST(invoices_compute_totals_approve_into_the_ledger_and_take_payments)
{
	struct tenant t;
	tenant_make(&t);
	char *vat = id_of(post_ok(t.key, 201, "{\"code\":\"VAT10\",\"name\":\"VAT 10%\",\"rate\":10}",
				  "/v1/accounting/tax-codes"));
	char *vin = id_of(post_ok(t.key, 201, "{\"code\":\"VAT10I\",\"name\":\"VAT 10% incl\","
				  "\"rate\":\"10\",\"type\":\"inclusive\"}", "/v1/accounting/tax-codes"));
	/* Bad lines name the field and make nothing. */
	struct {
		const char *lines, *field;
	} bad[] = {
		{ "[{\"unit_price\":\"abc\",\"account_code\":\"4000\"}]", "lines[0].unit_price" },
		{ "[{\"unit_price\":\"1.00\",\"quantity\":\"-1\",\"account_code\":\"4000\"}]", "lines[0].quantity" },
		{ "[{\"unit_price\":\"1.00001\",\"account_code\":\"4000\"}]", "lines[0].unit_price" },
		{ "[{\"unit_price\":\"1\",\"account_code\":\"4000\",\"tax_code_id\":\"tax_x\"}]", "lines[0].tax_code_id" },
		{ "[{\"unit_price\":\"1\"}]", "lines[0].account_code" },
		{ "[{\"unit_price\":\"1\",\"account_code\":\"4000\",\"price\":1}]", "lines[0].price" },
		{ "[]", "lines" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *body = strf("{\"type\":\"sales\",\"contact_name\":\"Acme\",\"date\":\"2026-01-10\","
				  "\"lines\":%s}", bad[i].lines);
		http_resp *r = call("POST", t.key, body, "/v1/accounting/invoices");
		ck_assert_msg(r->status == 400, "case %zu: %s", i, r->body);
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
		free(body);
	}
	http_resp *r = call("POST", t.key, "{\"type\":\"sales\",\"contact_name\":\"Acme\",\"date\":\"2026-01-10\","
				"\"due_date\":\"2026-01-09\",\"lines\":[{\"unit_price\":\"1\",\"account_code\":\"4000\"}]}",
			    "/v1/accounting/invoices");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "due_date");
	http_free(r);

	char *body = strf("{\"type\":\"sales\",\"contact_name\":\"Acme\",\"date\":\"2026-01-10\","
			  "\"due_date\":\"2026-01-20\",\"lines\":["
			  "{\"description\":\"Widgets\",\"quantity\":\"2\",\"unit_price\":\"150.00\","
			  "\"account_code\":\"4000\",\"tax_code_id\":\"%s\"}]}", vat);
	r = post_ok(t.key, 201, body, "/v1/accounting/invoices");
	free(body);
	const cJSON *d = resp_data(r);
	ck_assert_str_eq(json_str(d, "status"), "draft");
	ck_assert_str_eq(json_str(d, "total"), "330.0000");
	char *inv = id_of(r);
	/* A draft is edited: the totals follow the lines. */
	body = strf("{\"lines\":[{\"description\":\"Widgets\",\"quantity\":\"2\",\"unit_price\":\"150.00\","
		    "\"account_code\":\"4000\",\"tax_code_id\":\"%s\"},"
		    "{\"description\":\"Shipping\",\"unit_price\":\"19.99\",\"account_code\":\"4000\"}]}", vat);
	r = call("PATCH", t.key, body, "/v1/accounting/invoices/%s", inv);
	free(body);
	assert_envelope(r, 200, NULL);
	d = resp_data(r);
	ck_assert_str_eq(json_str(d, "subtotal"), "319.9900");
	ck_assert_str_eq(json_str(d, "tax_total"), "30.0000");
	ck_assert_str_eq(json_str(d, "total"), "349.9900");
	ck_assert_str_eq(json_str(d, "balance_due"), "349.9900");
	ck_assert_int_eq(cJSON_GetArraySize(item(d, "lines")), 2);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(d, "lines"), 0), "tax_amount"), "30.0000");
	http_free(r);

	r = post_ok(t.key, 200, NULL, strf("/v1/accounting/invoices/%s/approve", inv));
	d = resp_data(r);
	ck_assert_str_eq(json_str(d, "status"), "approved");
	ck_assert_str_eq(json_str(d, "number"), "INV-000001");
	ck_assert_str_eq(json_str(d, "exchange_rate"), "1.00000000");
	ck_assert(cJSON_IsTrue(item(d, "overdue")));
	char *entry = strdup(json_str(d, "entry_id"));
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/accounting/invoices/%s/approve", inv);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = call("PATCH", t.key, "{\"notes\":\"x\"}", "/v1/accounting/invoices/%s", inv);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/accounting/invoices/%s", inv);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = get_ok(t.key, strf("/v1/accounting/journal-entries/%s", entry));
	d = resp_data(r);
	ck_assert_str_eq(json_str(d, "status"), "posted");
	ck_assert_str_eq(json_str(d, "source"), "invoice");
	ck_assert_str_eq(json_str(d, "reference"), "INV-000001");
	ck_assert_int_eq(cJSON_GetArraySize(item(d, "lines")), 4);
	http_free(r);

	/* A bill with tax inside the price: 110.00 is 100.00 + 10.00. */
	body = strf("{\"type\":\"purchase\",\"contact_name\":\"Supplies Co\",\"date\":\"2026-01-12\","
		    "\"due_date\":\"2026-02-11\",\"lines\":[{\"unit_price\":\"110.00\","
		    "\"account_code\":\"5000\",\"tax_code_id\":\"%s\"}]}", vin);
	r = post_ok(t.key, 201, body, "/v1/accounting/invoices");
	free(body);
	ck_assert_str_eq(json_str(resp_data(r), "subtotal"), "100.0000");
	ck_assert_str_eq(json_str(resp_data(r), "tax_total"), "10.0000");
	char *bill = id_of(r);
	r = post_ok(t.key, 200, NULL, strf("/v1/accounting/invoices/%s/approve", bill));
	ck_assert_str_eq(json_str(resp_data(r), "number"), "BILL-000001");
	http_free(r);

	r = get_ok(t.key, "/v1/accounting/reports/trial-balance?as_of=2026-01-31");
	d = resp_data(r);
	ck_assert_str_eq(tb_of(d, "1100", "debit"), "349.9900");
	ck_assert_str_eq(tb_of(d, "4000", "credit"), "319.9900");
	ck_assert_str_eq(tb_of(d, "2100", "credit"), "20.0000");
	ck_assert_str_eq(tb_of(d, "5000", "debit"), "100.0000");
	ck_assert_str_eq(tb_of(d, "2000", "credit"), "110.0000");
	ck_assert(cJSON_IsTrue(item(d, "balanced")));
	http_free(r);

	/* Payments: allocations at most the balance and the amount. */
	body = strf("{\"type\":\"receipt\",\"contact_name\":\"Acme\",\"date\":\"2026-01-15\","
		    "\"amount\":\"200.00\",\"allocations\":[{\"invoice_id\":\"%s\",\"amount\":\"250\"}]}", inv);
	r = call("POST", t.key, body, "/v1/accounting/payments");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "allocations");
	http_free(r);
	free(body);
	body = strf("{\"type\":\"receipt\",\"date\":\"2026-01-15\",\"amount\":\"500.00\","
		    "\"allocations\":[{\"invoice_id\":\"%s\",\"amount\":\"400\"}]}", inv);
	r = call("POST", t.key, body, "/v1/accounting/payments");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "allocations[0].amount");
	http_free(r);
	free(body);
	body = strf("{\"type\":\"receipt\",\"date\":\"2026-01-15\",\"amount\":\"10.00\","
		    "\"allocations\":[{\"invoice_id\":\"%s\",\"amount\":\"10\"}]}", bill);
	r = call("POST", t.key, body, "/v1/accounting/payments");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "allocations[0].invoice_id");
	http_free(r);
	free(body);
	r = call("POST", t.key, "{\"type\":\"receipt\",\"date\":\"2026-01-15\",\"amount\":\"-5\"}",
		 "/v1/accounting/payments");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "amount");
	http_free(r);
	r = call("POST", t.key, "{\"type\":\"receipt\",\"date\":\"2026-01-15\",\"amount\":\"5\","
				"\"bank_account_id\":\"bnk_nope\"}", "/v1/accounting/payments");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "bank_account_id");
	http_free(r);

	body = strf("{\"type\":\"receipt\",\"contact_name\":\"Acme\",\"date\":\"2026-01-15\","
		    "\"amount\":\"200.00\",\"method\":\"card\",\"allocations\":[{\"invoice_id\":\"%s\","
		    "\"amount\":\"200.00\"}]}", inv);
	r = post_ok(t.key, 201, body, "/v1/accounting/payments");
	free(body);
	ck_assert_str_eq(json_str(resp_data(r), "unapplied"), "0.0000");
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(resp_data(r), "allocations"), 0), "amount"),
			 "200.0000");
	http_free(r);
	r = get_ok(t.key, strf("/v1/accounting/invoices/%s", inv));
	ck_assert_str_eq(json_str(resp_data(r), "status"), "partially_paid");
	ck_assert_str_eq(json_str(resp_data(r), "balance_due"), "149.9900");
	http_free(r);
	/* The rest and 50.00 more: paid, 50.00 unapplied. */
	body = strf("{\"type\":\"receipt\",\"contact_name\":\"Acme\",\"date\":\"2026-01-25\","
		    "\"amount\":199.99,\"allocations\":[{\"invoice_id\":\"%s\",\"amount\":\"149.99\"}]}", inv);
	r = post_ok(t.key, 201, body, "/v1/accounting/payments");
	free(body);
	ck_assert_str_eq(json_str(resp_data(r), "unapplied"), "50.0000");
	char *pay2 = id_of(r);
	r = get_ok(t.key, strf("/v1/accounting/invoices/%s", inv));
	ck_assert_str_eq(json_str(resp_data(r), "status"), "paid");
	ck_assert(cJSON_IsFalse(item(resp_data(r), "overdue")));
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/accounting/invoices/%s/void", inv);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/reports/trial-balance?as_of=2026-01-31");
	d = resp_data(r);
	/* cash 399.99; receivable 349.99 - 399.99 = -50.00 (the unapplied credit) */
	ck_assert_str_eq(tb_of(d, "1000", "debit"), "399.9900");
	ck_assert_str_eq(tb_of(d, "1100", "credit"), "50.0000");
	http_free(r);

	/* Voiding the payment reopens the invoice and reverses its entry. */
	r = post_ok(t.key, 200, NULL, strf("/v1/accounting/payments/%s/void", pay2));
	ck_assert_str_eq(json_str(resp_data(r), "status"), "void");
	ck_assert_ptr_nonnull(json_str(resp_data(r), "void_entry_id"));
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/accounting/payments/%s/void", pay2);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = get_ok(t.key, strf("/v1/accounting/invoices/%s", inv));
	ck_assert_str_eq(json_str(resp_data(r), "status"), "partially_paid");
	ck_assert_str_eq(json_str(resp_data(r), "amount_paid"), "200.0000");
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/payments?type=receipt");
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble, 2);
	http_free(r);

	/* Aged: 149.99 is 40 days past due on 1 March; the bill is current. */
	r = get_ok(t.key, "/v1/accounting/reports/aged-receivables?as_of=2026-03-01");
	d = resp_data(r);
	const cJSON *acme = find_by(item(d, "contacts"), "contact_name", "Acme");
	ck_assert_ptr_nonnull(acme);
	ck_assert_str_eq(json_str(acme, "31_60"), "149.9900");
	ck_assert_str_eq(json_str(item(d, "totals"), "total"), "149.9900");
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/reports/aged-payables?as_of=2026-02-01");
	ck_assert_str_eq(json_str(item(resp_data(r), "totals"), "current"), "110.0000");
	http_free(r);

	/* The tax report: 30 collected on 300, 10 paid on 100. */
	r = get_ok(t.key, "/v1/accounting/reports/tax?from=2026-01-01&to=2026-01-31");
	d = item(resp_data(r), "totals");
	ck_assert_str_eq(json_str(d, "taxable_sales"), "300.0000");
	ck_assert_str_eq(json_str(d, "tax_collected"), "30.0000");
	ck_assert_str_eq(json_str(d, "taxable_purchases"), "100.0000");
	ck_assert_str_eq(json_str(d, "tax_paid"), "10.0000");
	ck_assert_str_eq(json_str(d, "net_tax"), "20.0000");
	http_free(r);

	/* A bill without payments is voided: its entry reversed. */
	r = post_ok(t.key, 200, NULL, strf("/v1/accounting/invoices/%s/void", bill));
	ck_assert_str_eq(json_str(resp_data(r), "status"), "void");
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/reports/trial-balance?as_of=2026-01-31");
	ck_assert_ptr_null(tb_of(resp_data(r), "2000", "credit"));
	ck_assert_ptr_null(tb_of(resp_data(r), "5000", "debit"));
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/invoices?type=purchase&status=void");
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble, 1);
	http_free(r);

	/* A draft is deleted. */
	r = post_ok(t.key, 201, "{\"type\":\"sales\",\"contact_name\":\"X\",\"date\":\"2026-01-10\","
				"\"lines\":[{\"unit_price\":\"1\",\"account_code\":\"4000\"}]}",
		    "/v1/accounting/invoices");
	char *draft = id_of(r);
	r = call("DELETE", t.key, NULL, "/v1/accounting/invoices/%s", draft);
	assert_envelope(r, 200, NULL);
	http_free(r);
	free(draft);
	free(pay2);
	free(bill);
	free(entry);
	free(inv);
	free(vin);
	free(vat);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_foreign_currency_invoice_posts_at_the_rate_of_its_date)
{
	struct tenant t;
	tenant_make(&t);
	http_free(post_ok(t.key, 201, "{\"from_currency\":\"EUR\",\"to_currency\":\"USD\",\"rate\":\"1.1\","
				      "\"effective_date\":\"2026-01-01\"}", "/v1/accounting/exchange-rates"));
	char *inv = id_of(post_ok(t.key, 201, "{\"type\":\"sales\",\"contact_name\":\"Bonn GmbH\","
				  "\"date\":\"2026-01-10\",\"currency\":\"EUR\",\"lines\":[{\"quantity\":\"3\","
				  "\"unit_price\":\"33.33\",\"account_code\":\"4000\"}]}", "/v1/accounting/invoices"));
	http_resp *r = post_ok(t.key, 200, NULL, strf("/v1/accounting/invoices/%s/approve", inv));
	ck_assert_str_eq(json_str(resp_data(r), "total"), "99.9900");
	ck_assert_str_eq(json_str(resp_data(r), "exchange_rate"), "1.10000000");
	http_free(r);
	/* 99.99 EUR * 1.1 = 109.989 -> 109.99 USD */
	r = get_ok(t.key, "/v1/accounting/reports/trial-balance?as_of=2026-01-31");
	ck_assert_str_eq(tb_of(resp_data(r), "1100", "debit"), "109.9900");
	ck_assert_str_eq(tb_of(resp_data(r), "4000", "credit"), "109.9900");
	http_free(r);
	/* A payment in USD cannot settle a EUR invoice. */
	char *body = strf("{\"type\":\"receipt\",\"date\":\"2026-01-15\",\"amount\":\"10\","
			  "\"allocations\":[{\"invoice_id\":\"%s\",\"amount\":\"10\"}]}", inv);
	r = call("POST", t.key, body, "/v1/accounting/payments");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "allocations[0].invoice_id");
	http_free(r);
	free(body);
	/* No GBP rate: approving a GBP invoice names the currency. */
	http_free(post_ok(t.key, 201, "{\"code\":\"GBP\",\"name\":\"Pound\"}", "/v1/accounting/currencies"));
	char *gbp = id_of(post_ok(t.key, 201, "{\"type\":\"sales\",\"contact_name\":\"Leeds Ltd\","
				  "\"date\":\"2026-01-10\",\"currency\":\"GBP\",\"lines\":[{"
				  "\"unit_price\":\"10\",\"account_code\":\"4000\"}]}", "/v1/accounting/invoices"));
	r = call("POST", t.key, NULL, "/v1/accounting/invoices/%s/approve", gbp);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "currency");
	http_free(r);
	r = get_ok(t.key, strf("/v1/accounting/invoices/%s", gbp));
	ck_assert_str_eq(json_str(resp_data(r), "status"), "draft");
	ck_assert(cJSON_IsNull(item(resp_data(r), "number")));
	http_free(r);
	free(gbp);
	free(inv);
	tenant_drop(&t);
}
END_TEST

START_TEST(bank_statements_import_once_match_and_reconcile)
{
	struct tenant t, u;
	tenant_make(&t);
	tenant_make(&u);
	http_resp *r = call("POST", t.key, "{\"name\":\"Bad\",\"gl_account_id\":\"nope\"}",
			    "/v1/accounting/bank-accounts");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "gl_account_id");
	http_free(r);
	r = post_ok(t.key, 201, "{\"name\":\"Operating\",\"bank_name\":\"First Bank\"}",
		    "/v1/accounting/bank-accounts");
	char *cash = account_of(t.key, "1000");
	ck_assert_str_eq(json_str(resp_data(r), "gl_account_id"), cash);
	ck_assert_str_eq(json_str(resp_data(r), "currency"), "USD");
	char *bank = id_of(r);
	char *path = strf("/v1/accounting/bank-accounts/%s/import", bank);
	const char *stmt = "{\"transactions\":["
		"{\"date\":\"2026-01-05\",\"description\":\"Deposit\",\"amount\":\"500.00\",\"type\":\"credit\",\"id\":\"T1\"},"
		"{\"date\":\"2026-01-06\",\"description\":\"Fee\",\"amount\":12.34,\"type\":\"debit\"},"
		"{\"date\":\"2026-01-07\",\"description\":\"Customer\",\"amount\":\"200\"}]}";
	r = post_ok(t.key, 201, stmt, path);
	ck_assert_int_eq((int)item(resp_data(r), "imported")->valuedouble, 3);
	http_free(r);
	r = post_ok(t.key, 201, stmt, path);
	ck_assert_int_eq((int)item(resp_data(r), "imported")->valuedouble, 0);
	ck_assert_int_eq((int)item(resp_data(r), "duplicates")->valuedouble, 3);
	http_free(r);
	r = call("POST", t.key, "{\"transactions\":[{\"date\":\"2026-01-05\",\"amount\":\"1.001\"}]}", "%s", path);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "transactions[0].amount");
	http_free(r);
	/* CSV: day-first dates, a quoted comma, the bank's id; T1 again is a duplicate. */
	const char *csv = "{\"format\":\"csv\",\"date_format\":\"DD/MM/YYYY\",\"mapping\":{\"id\":\"FITID\","
		"\"description\":\"Memo\"},\"data\":\"Date,Memo,Amount,FITID\\n"
		"08/01/2026,\\\"Rent, January\\\",-800.00,X1\\n05/01/2026,Deposit,500.00,T1\\n\"}";
	r = post_ok(t.key, 201, csv, path);
	ck_assert_int_eq((int)item(resp_data(r), "imported")->valuedouble, 1);
	ck_assert_int_eq((int)item(resp_data(r), "duplicates")->valuedouble, 1);
	http_free(r);
	/* OFX (SGML, unclosed elements): one new line, T1 again a duplicate. */
	const char *ofx = "{\"format\":\"ofx\",\"data\":\"OFXHEADER:100\\nDATA:OFXSGML\\n<OFX><BANKMSGSRSV1>"
		"<STMTTRNRS><STMTRS><BANKTRANLIST>\\n<STMTTRN>\\n<TRNTYPE>DEBIT\\n<DTPOSTED>20260109120000\\n"
		"<TRNAMT>-45.50\\n<FITID>OFX9\\n<NAME>Stationery\\n</STMTTRN>\\n<STMTTRN>\\n<TRNTYPE>CREDIT\\n"
		"<DTPOSTED>20260105\\n<TRNAMT>500.00\\n<FITID>T1\\n<NAME>Deposit\\n</STMTTRN>\\n"
		"</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\"}";
	r = post_ok(t.key, 201, ofx, path);
	ck_assert_int_eq((int)item(resp_data(r), "imported")->valuedouble, 1);
	ck_assert_int_eq((int)item(resp_data(r), "duplicates")->valuedouble, 1);
	char *t_ofx = strdup(cJSON_GetArrayItem(item(resp_data(r), "transaction_ids"), 0)->valuestring);
	http_free(r);
	r = get_ok(t.key, strf("/v1/accounting/bank-transactions/%s", t_ofx));
	ck_assert_str_eq(json_str(resp_data(r), "date"), "2026-01-09");
	ck_assert_str_eq(json_str(resp_data(r), "amount"), "-45.5000");
	ck_assert_str_eq(json_str(resp_data(r), "description"), "Stationery");
	ck_assert_str_eq(json_str(resp_data(r), "external_id"), "OFX9");
	http_free(r);
	r = call("POST", t.key, "{\"format\":\"ofx\",\"data\":\"<OFX></OFX>\"}", "%s", path);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "data");
	http_free(r);
	r = call("POST", t.key, "{\"format\":\"csv\",\"data\":\"Date,Amount\\n2026-13-01,5\\n\"}", "%s", path);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "data");
	http_free(r);
	r = call("POST", t.key, "{\"format\":\"csv\",\"mapping\":{\"amount\":\"Betrag\"},"
				"\"data\":\"Date,Amount\\n2026-01-01,5\\n\"}", "%s", path);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "mapping.amount");
	http_free(r);

	r = get_ok(t.key, strf("/v1/accounting/bank-accounts/%s/transactions?status=unmatched", bank));
	const cJSON *txs = item(resp_data(r), "transactions");
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble, 5);
	const cJSON *rent = find_by(txs, "description", "Rent, January");
	ck_assert_ptr_nonnull(rent);
	ck_assert_str_eq(json_str(rent, "amount"), "-800.0000");
	ck_assert_str_eq(json_str(rent, "type"), "debit");
	char *t_dep = strdup(json_str(find_by(txs, "description", "Deposit"), "id"));
	char *t_fee = strdup(json_str(find_by(txs, "description", "Fee"), "id"));
	char *t_cus = strdup(json_str(find_by(txs, "description", "Customer"), "id"));
	char *t_rent = strdup(json_str(rent, "id"));
	http_free(r);

	/* A match that posts the entry for the line. */
	r = post_ok(t.key, 200, "{\"account_code\":\"3000\"}",
		    strf("/v1/accounting/bank-transactions/%s/match", t_dep));
	ck_assert_str_eq(json_str(resp_data(r), "status"), "matched");
	ck_assert_ptr_nonnull(json_str(resp_data(r), "entry_id"));
	http_free(r);
	r = call("POST", t.key, "{\"account_code\":\"3000\"}", "/v1/accounting/bank-transactions/%s/match", t_dep);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	/* An entry that moves the bank by another amount does not match. */
	char *wrong = post_simple(t.key, "2026-01-06", "6200", "1000", "12.00", "Fee?");
	char *fee = post_simple(t.key, "2026-01-06", "6200", "1000", "12.34", "Fee");
	r = call("POST", t.key, strf("{\"entry_id\":\"%s\"}", wrong), "/v1/accounting/bank-transactions/%s/match", t_fee);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "entry_id");
	http_free(r);
	http_free(post_ok(t.key, 200, strf("{\"entry_id\":\"%s\"}", fee),
			  strf("/v1/accounting/bank-transactions/%s/match", t_fee)));
	char *pay = id_of(post_ok(t.key, 201, strf("{\"type\":\"receipt\",\"date\":\"2026-01-07\",\"amount\":\"200\","
						   "\"bank_account_id\":\"%s\"}", bank), "/v1/accounting/payments"));
	http_free(post_ok(t.key, 200, strf("{\"payment_id\":\"%s\"}", pay),
			  strf("/v1/accounting/bank-transactions/%s/match", t_cus)));
	r = call("POST", t.key, "{}", "/v1/accounting/bank-transactions/%s/match", t_rent);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "entry_id");
	http_free(r);
	http_free(post_ok(t.key, 200, "{\"account_code\":\"6100\",\"description\":\"January rent\"}",
			  strf("/v1/accounting/bank-transactions/%s/match", t_rent)));

	/* Reconcile: 500 - 12.34 + 200 - 800 = -112.34. */
	char *rec = strf("/v1/accounting/bank-accounts/%s/reconcile", bank);
	r = call("POST", t.key, "{\"statement_date\":\"2026-01-31\",\"closing_balance\":\"-100\"}", "%s", rec);
	assert_fail_field(r, 409, "CONFLICT", "closing_balance");
	ck_assert_str_eq(json_str(item(r->json, "error"), "difference"), "12.3400");
	http_free(r);
	r = post_ok(t.key, 200, "{\"statement_date\":\"2026-01-31\",\"closing_balance\":\"-112.34\"}", rec);
	ck_assert_int_eq((int)item(resp_data(r), "reconciled")->valuedouble, 4);
	ck_assert_str_eq(json_str(resp_data(r), "cleared_balance"), "-112.3400");
	http_free(r);
	r = get_ok(t.key, strf("/v1/accounting/bank-transactions/%s", t_rent));
	ck_assert_str_eq(json_str(resp_data(r), "status"), "reconciled");
	ck_assert(is_utc_time(json_str(resp_data(r), "reconciled_at")));
	http_free(r);
	/* The bank's GL account agrees with the statement (plus the unmatched 12.00). */
	r = get_ok(t.key, "/v1/accounting/reports/trial-balance?as_of=2026-01-31");
	ck_assert_str_eq(tb_of(resp_data(r), "1000", "credit"), "124.3400");
	http_free(r);

	/* Another tenant reaches none of it. */
	r = call("GET", u.key, NULL, "/v1/accounting/bank-transactions/%s", t_rent);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", u.key, "{\"account_code\":\"6100\"}", "/v1/accounting/bank-transactions/%s/match", t_fee);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", u.key, stmt, "%s", path);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/accounting/bank-accounts/%s", bank);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	http_free(r);
	free(t_ofx);
	free(rec);
	free(pay);
	free(fee);
	free(wrong);
	free(t_dep);
	free(t_fee);
	free(t_cus);
	free(t_rent);
	free(path);
	free(bank);
	free(cash);
	tenant_drop(&t);
	tenant_drop(&u);
}
END_TEST

START_TEST(recurring_entries_run_once_per_occurrence_and_keep_month_ends)
{
	struct tenant t;
	tenant_make(&t);
	const char *tpl = "\"template\":{\"description\":\"Rent\",\"lines\":[{\"account_code\":\"6100\","
			  "\"debit\":\"800\"},{\"account_code\":\"1000\",\"credit\":\"800\"}]}";
	http_resp *r = call("POST", t.key, strf("{\"name\":\"Rent\",\"frequency\":\"fortnightly\","
						"\"next_run\":\"2026-01-31\",%s}", tpl),
			    "/v1/accounting/recurring");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "frequency");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"Rent\",\"frequency\":\"monthly\",\"next_run\":\"2026-01-31\","
				"\"template\":{\"lines\":[{\"account_code\":\"9999\",\"debit\":\"1\"}]}}",
		 "/v1/accounting/recurring");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "template.lines[0].account_code");
	http_free(r);
	r = call("POST", t.key, strf("{\"name\":\"Rent\",\"frequency\":\"monthly\",\"next_run\":\"2026-01-31\","
				     "\"end_date\":\"2026-01-01\",%s}", tpl), "/v1/accounting/recurring");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "end_date");
	http_free(r);
	char *rec = id_of(post_ok(t.key, 201, strf("{\"name\":\"Rent\",\"frequency\":\"monthly\","
						   "\"next_run\":\"2026-01-31\",\"end_date\":\"2026-03-31\",%s}", tpl),
				  "/v1/accounting/recurring"));
	/* 31 January, then the last day of February, then 31 March, then ended. */
	const char *want[] = { "2026-02-28", "2026-03-31" };
	for (int i = 0; i < 2; i++) {
		r = post_ok(t.key, 200, NULL, strf("/v1/accounting/recurring/%s/execute", rec));
		ck_assert_str_eq(json_str(resp_data(r), "next_run"), want[i]);
		ck_assert(cJSON_IsTrue(item(resp_data(r), "is_active")));
		http_free(r);
	}
	r = post_ok(t.key, 200, NULL, strf("/v1/accounting/recurring/%s/execute", rec));
	ck_assert_str_eq(json_str(resp_data(r), "last_run"), "2026-03-31");
	ck_assert(cJSON_IsFalse(item(resp_data(r), "is_active")));
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/accounting/recurring/%s/execute", rec);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = get_ok(t.key, strf("/v1/accounting/journal-entries?source=recurring&status=posted"));
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble, 3);
	http_free(r);
	r = get_ok(t.key, "/v1/accounting/reports/trial-balance?as_of=2026-03-31");
	ck_assert_str_eq(tb_of(resp_data(r), "6100", "debit"), "2400.0000");
	http_free(r);

	/* The runner makes what is due by today, once: a weekly template
	 * started three weeks ago has four occurrences. */
	time_t now = time(NULL) - 21 * 86400;
	struct tm tm;
	gmtime_r(&now, &tm);
	char start[11];
	strftime(start, sizeof(start), "%Y-%m-%d", &tm);
	char *weekly = id_of(post_ok(t.key, 201, strf("{\"name\":\"Cleaning\",\"frequency\":\"weekly\","
						      "\"next_run\":\"%s\",%s}", start, tpl),
				     "/v1/accounting/recurring"));
	now += 28 * 86400;
	gmtime_r(&now, &tm);
	char next[11];
	strftime(next, sizeof(next), "%Y-%m-%d", &tm);
	for (int pass = 0; pass < 2; pass++) {
		int rc;
		char *out = run_cmd(&rc, "%s jobs enqueue --kind accounting.recurring --config %s 2>&1",
				    bin(), conf_path());
		ck_assert_msg(rc == 0, "enqueue: %s", out);
		free(out);
	}
	double deadline = now_s() + 30;
	bool done = false;
	while (!done && now_s() < deadline) {
		r = get_ok(t.key, strf("/v1/accounting/recurring/%s", weekly));
		done = !strcmp(json_str(resp_data(r), "next_run"), next);
		http_free(r);
		if (!done)
			usleep(300 * 1000);
	}
	ck_assert_msg(done, "the runner did not reach %s", next);
	usleep(1500 * 1000);
	r = get_ok(t.key, "/v1/accounting/journal-entries?source=recurring&status=posted");
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble, 3 + 4);
	http_free(r);
	free(weekly);
	free(rec);
	tenant_drop(&t);
}
END_TEST

Suite *suite_accounting(void)
{
	Suite *s = suite_create("accounting");
	TCase *tc = tcase_new_slow(s, "ledger");
	tcase_add_test(tc, the_standard_chart_is_seeded_and_accounts_filter_by_type_and_active);
	tcase_add_test(tc, bad_entries_name_the_field_and_post_nothing);
	tcase_add_test(tc, drafts_are_edited_then_posted_numbered_immutable_and_reversed);
	tcase_add_test(tc, a_closed_period_refuses_postings_until_reopened);
	tcase_add_test(tc, foreign_currency_lines_take_the_rate_of_their_date);
	tcase_add_test(tc, another_tenant_sees_none_of_the_ledger);
	tc = tcase_new_slow(s, "documents");
	tcase_add_test(tc, invoices_compute_totals_approve_into_the_ledger_and_take_payments);
	tcase_add_test(tc, a_foreign_currency_invoice_posts_at_the_rate_of_its_date);
	tcase_add_test(tc, bank_statements_import_once_match_and_reconcile);
	tcase_add_test(tc, recurring_entries_run_once_per_occurrence_and_keep_month_ends);
	tc = tcase_new_slow(s, "reports");
	tcase_add_test(tc, a_month_of_business_reports_to_the_cent);
	tcase_add_test(tc, hledger_agrees_with_the_trial_balance);
	tcase_add_test(tc, sixteen_clients_posting_at_once_leave_the_ledger_balanced_and_numbered);
	return s;
}
