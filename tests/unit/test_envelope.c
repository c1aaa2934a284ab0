/*
 * test_envelope.c - the response envelope and request accessors
 * (fcgi/request.c) and the error catalogue (common/errors.def): every body
 * the API writes, success or error, with a req_t whose fcgi is NULL.
 */
#include "unit.h"

#include "../../common/errors.h"

static arena_t *ta;
static req_t tr;

static void env_setup(void)
{
	ta = arena_new(4096);
	unit_req_init(&tr, ta);
}

static void env_teardown(void)
{
	arena_free(ta);
	ta = NULL;
}

/* Number of members of a JSON object. */
static int members(const cJSON *o)
{
	return cJSON_GetArraySize(o);
}

/* ------------------------------------------------------------ success path */

START_TEST(reply_data_renders_success_data_and_request_id)
{
	cJSON *data = cJSON_CreateObject();
	cJSON_AddStringToObject(data, "id", "obj_1");
	cJSON_AddNumberToObject(data, "n", 3);
	reply_data(&tr, 201, data);
	ck_assert_int_eq(tr.status, 201);
	ck_assert(tr.replied);
	ck_assert_pstr_eq(tr.content_type, "application/json");
	ck_assert_str_eq(tr.out_body,
			 "{\"success\":true,\"data\":{\"id\":\"obj_1\",\"n\":3},\"request_id\":\""
			 UNIT_REQUEST_ID "\"}");
	ck_assert_uint_eq(tr.out_len, strlen(tr.out_body));
}
END_TEST

START_TEST(reply_data_with_null_data_renders_data_null)
{
	reply_data(&tr, 200, NULL);
	cJSON *j = unit_reply_json(&tr);
	ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "success")));
	ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "data")));
	ck_assert_pstr_eq(unit_json_str(j, "request_id", NULL), UNIT_REQUEST_ID);
	ck_assert_int_eq(members(j), 3);
}
END_TEST

START_TEST(reply_data_with_an_array_keeps_its_order)
{
	cJSON *arr = cJSON_CreateArray();
	for (int i = 0; i < 3; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(i * 10));
	reply_data(&tr, 200, arr);
	ck_assert_str_eq(tr.out_body,
			 "{\"success\":true,\"data\":[0,10,20],\"request_id\":\"" UNIT_REQUEST_ID "\"}");
}
END_TEST

START_TEST(reply_raw_sends_the_body_without_an_envelope)
{
	static const char body[] = "<html>hi</html>";
	reply_raw(&tr, 200, "text/html", body, sizeof(body) - 1);
	ck_assert_int_eq(tr.status, 200);
	ck_assert_pstr_eq(tr.content_type, "text/html");
	ck_assert_uint_eq(tr.out_len, sizeof(body) - 1);
	ck_assert_int_eq(memcmp(tr.out_body, body, tr.out_len), 0);
	ck_assert(tr.replied);
}
END_TEST

START_TEST(reply_header_appends_header_lines_in_order)
{
	ck_assert_ptr_null(tr.out_headers);
	reply_header(&tr, "Allow", "GET, POST");
	reply_header(&tr, "Retry-After", "30");
	ck_assert_pstr_eq(tr.out_headers, "Allow: GET, POST\r\nRetry-After: 30\r\n");
}
END_TEST

/* -------------------------------------------------------------- catalogue */

static const struct {
	err_t e;
	int status;
	const char *code;
	const char *message;
} catalogue[] = {
	{ E_OK, 200, "OK", "OK" },
	{ E_BAD_REQUEST, 400, "BAD_REQUEST", "The request is malformed" },
	{ E_INVALID_JSON, 400, "INVALID_JSON", "The request body is not valid JSON" },
	{ E_VALIDATION, 400, "VALIDATION_ERROR", "The request is invalid" },
	{ E_UNAUTHORIZED, 401, "UNAUTHORIZED", "Missing or invalid credentials" },
	{ E_FORBIDDEN, 403, "FORBIDDEN", "You are not allowed to do this" },
	{ E_INSUFFICIENT_SCOPE, 403, "INSUFFICIENT_SCOPE", "The credentials lack the scope this endpoint needs" },
	{ E_TENANT_SUSPENDED, 403, "TENANT_SUSPENDED", "This tenant is suspended" },
	{ E_QUOTA_EXCEEDED, 403, "QUOTA_EXCEEDED", "A plan limit has been reached" },
	{ E_NOT_FOUND, 404, "NOT_FOUND", "Not found" },
	{ E_METHOD_NOT_ALLOWED, 405, "METHOD_NOT_ALLOWED", "Method not allowed on this path" },
	{ E_CONFLICT, 409, "CONFLICT", "The request conflicts with the current state" },
	{ E_DEPENDENCY_EXISTS, 409, "DEPENDENCY_EXISTS", "Cannot delete: dependent records exist" },
	{ E_PAYLOAD_TOO_LARGE, 413, "PAYLOAD_TOO_LARGE", "The request body is too large" },
	{ E_UNSUPPORTED_MEDIA, 415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json" },
	{ E_RATE_LIMITED, 429, "RATE_LIMITED", "Too many requests" },
	{ E_MFA_LOCKED, 429, "MFA_LOCKED", "Too many failed MFA attempts" },
	{ E_INTERNAL, 500, "INTERNAL_ERROR", "Internal error" },
	{ E_NOT_IMPLEMENTED, 501, "NOT_IMPLEMENTED", "This endpoint is not implemented yet" },
	{ E_UNAVAILABLE, 503, "SERVICE_UNAVAILABLE", "A backing service is unavailable; try again shortly" },
	{ E_NOT_ACCEPTABLE, 406, "NOT_ACCEPTABLE", "The response cannot be given in a type the client accepts" },
	{ E_UPGRADE_REQUIRED, 426, "UPGRADE_REQUIRED", "This endpoint needs a protocol upgrade" },
	{ E_AI_PROVIDER, 502, "AI_PROVIDER_ERROR", "The AI provider failed to answer" },
	{ E_AI_RATE_LIMITED, 429, "AI_RATE_LIMITED", "The AI provider is rate limiting requests; retry later" },
	{ E_AI_PROVIDER_REQUIRED, 409, "AI_PROVIDER_REQUIRED", "This needs an AI provider; add one with POST /v1/ai-providers" },
	{ E_PRECONDITION_FAILED, 412, "PRECONDITION_FAILED", "A precondition of the request does not hold" },
	{ E_CHECKSUM_MISMATCH, 460, "CHECKSUM_MISMATCH", "The content does not match its checksum" },
	{ E_ENTRY_POSTED, 409, "ENTRY_POSTED", "A posted entry cannot be changed; reverse it instead" },
	{ E_PERIOD_CLOSED, 409, "PERIOD_CLOSED", "The accounting period of this date is closed" },
	{ E_FUNCTION_NOT_FOUND, 404, "FUNCTION_NOT_FOUND", "No such function" },
	{ E_REPORT_NOT_FOUND, 404, "REPORT_NOT_FOUND", "No such saved report" },
	{ E_CHAIN_DEPTH_EXCEEDED, 409, "CHAIN_DEPTH_EXCEEDED", "Too many automations led to this event; no further automation runs" },
	{ E_ACTION_FAILED, 502, "ACTION_FAILED", "An action of the run failed" },
	{ E_IN_REVIEW, 409, "IN_REVIEW", "The object is in review and cannot be changed until it is approved or rejected" },
	{ E_IDP, 502, "IDENTITY_PROVIDER_ERROR", "The identity provider failed to answer" },
	{ E_GONE, 410, "GONE", "This link has expired or was revoked" },
	{ E_FUNCTION_ERROR, 422, "FUNCTION_ERROR", "The function failed" },
	{ E_FUNCTION_TIMEOUT, 504, "FUNCTION_TIMEOUT", "The function ran past its time limit" },
	{ E_FUNCTION_MEMORY, 507, "FUNCTION_MEMORY", "The function used more memory than its limit" },
};

#define NCATALOGUE ((int)(sizeof(catalogue) / sizeof(catalogue[0])))

START_TEST(catalogue_table_covers_every_code_once)
{
	ck_assert_int_eq(NCATALOGUE, E__COUNT);
	for (int i = 0; i < NCATALOGUE; i++) {
		ck_assert_int_eq(catalogue[i].e, i);
		for (int j = i + 1; j < NCATALOGUE; j++)
			ck_assert_str_ne(err_code(catalogue[i].e), err_code(catalogue[j].e));
	}
}
END_TEST

START_TEST(err_status_code_and_message_come_from_errors_def)
{
	err_t e = catalogue[_i].e;
	ck_assert_int_eq(err_status(e), catalogue[_i].status);
	ck_assert_str_eq(err_code(e), catalogue[_i].code);
	ck_assert_str_eq(err_message(e), catalogue[_i].message);
}
END_TEST

START_TEST(out_of_range_codes_read_as_internal_error)
{
	ck_assert_int_eq(err_status(E__COUNT), 500);
	ck_assert_str_eq(err_code(E__COUNT), "INTERNAL_ERROR");
	ck_assert_str_eq(err_message((err_t)-1), "Internal error");
	ck_assert_int_eq(err_status((err_t)1000), 500);
}
END_TEST

START_TEST(reply_error_renders_the_error_envelope_for_each_code)
{
	if (catalogue[_i].e == E_OK)
		return; /* E_OK is never rendered as an error */
	reply_error(&tr, catalogue[_i].e);
	ck_assert_int_eq(tr.status, catalogue[_i].status);
	ck_assert(tr.replied);
	ck_assert_pstr_eq(tr.content_type, "application/json");
	cJSON *j = unit_reply_json(&tr);
	ck_assert_int_eq(members(j), 3);
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "success")));
	ck_assert_pstr_eq(unit_json_str(j, "request_id", NULL), UNIT_REQUEST_ID);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	ck_assert(cJSON_IsObject(err));
	ck_assert_int_eq(members(err), 2);
	ck_assert_pstr_eq(unit_json_str(err, "code", NULL), catalogue[_i].code);
	ck_assert_pstr_eq(unit_json_str(err, "message", NULL), catalogue[_i].message);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(j, "data"));
}
END_TEST

START_TEST(req_fail_returns_its_code_and_replaces_the_message)
{
	ck_assert_int_eq(req_fail(&tr, E_NOT_FOUND, "Object type %s not found", "contact"), E_NOT_FOUND);
	reply_error(&tr, E_NOT_FOUND);
	ck_assert_int_eq(tr.status, 404);
	cJSON *j = unit_reply_json(&tr);
	ck_assert_pstr_eq(unit_json_str(j, "error", "code"), "NOT_FOUND");
	ck_assert_pstr_eq(unit_json_str(j, "error", "message"), "Object type contact not found");
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(j, "error"), "details"));
}
END_TEST

START_TEST(req_fail_field_adds_error_details_field)
{
	ck_assert_int_eq(req_fail_field(&tr, E_VALIDATION, "label", "label must be at most %d characters", 100),
			 E_VALIDATION);
	reply_error(&tr, E_VALIDATION);
	ck_assert_int_eq(tr.status, 400);
	cJSON *j = unit_reply_json(&tr);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	ck_assert_int_eq(members(err), 3);
	ck_assert_pstr_eq(unit_json_str(err, "code", NULL), "VALIDATION_ERROR");
	ck_assert_pstr_eq(unit_json_str(err, "message", NULL), "label must be at most 100 characters");
	const cJSON *details = cJSON_GetObjectItemCaseSensitive(err, "details");
	ck_assert(cJSON_IsObject(details));
	ck_assert_int_eq(members(details), 1);
	ck_assert_pstr_eq(unit_json_str(details, "field", NULL), "label");
}
END_TEST

START_TEST(err_extra_members_merge_into_error)
{
	cJSON *extra = req_own(&tr, cJSON_CreateObject());
	cJSON *deps = cJSON_AddArrayToObject(extra, "dependencies");
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "type", "objects");
	cJSON_AddNumberToObject(d, "count", 7);
	cJSON_AddItemToArray(deps, d);
	cJSON_AddStringToObject(extra, "confirm_token", "ct_abc");
	tr.err_extra = extra;
	reply_error(&tr, E_DEPENDENCY_EXISTS);
	ck_assert_int_eq(tr.status, 409);
	ck_assert_str_eq(tr.out_body,
			 "{\"success\":false,\"error\":{\"code\":\"DEPENDENCY_EXISTS\","
			 "\"message\":\"Cannot delete: dependent records exist\","
			 "\"dependencies\":[{\"type\":\"objects\",\"count\":7}],"
			 "\"confirm_token\":\"ct_abc\"},\"request_id\":\"" UNIT_REQUEST_ID "\"}");
}
END_TEST

START_TEST(reply_error_escapes_quotes_in_messages)
{
	req_fail(&tr, E_VALIDATION, "unknown field \"%s\"", "a\"b\\c");
	reply_error(&tr, E_VALIDATION);
	cJSON *j = unit_reply_json(&tr);
	ck_assert_pstr_eq(unit_json_str(j, "error", "message"), "unknown field \"a\"b\\c\"");
}
END_TEST

START_TEST(req_db_error_maps_database_failures_to_api_errors)
{
	ck_assert_int_eq(req_db_error(&tr, DB_OK), E_OK);
	ck_assert_int_eq(req_db_error(&tr, DB_DUPLICATE), E_CONFLICT);
	ck_assert_int_eq(req_db_error(&tr, DB_UNAVAILABLE), E_UNAVAILABLE);
	ck_assert_pstr_eq(tr.err_message, "The database is unavailable; try again shortly");
	ck_assert_int_eq(req_db_error(&tr, DB_DEADLOCK), E_UNAVAILABLE);
	ck_assert_pstr_eq(tr.err_message, "The database is busy; try again");
	ck_assert_int_eq(req_db_error(&tr, DB_TIMEOUT), E_UNAVAILABLE);
	ck_assert_pstr_eq(tr.err_message, "The query took too long");
}
END_TEST

START_TEST(req_env_without_fastcgi_is_null)
{
	ck_assert_ptr_null(req_env(&tr, "HTTP_X_TENANT_ID"));
}
END_TEST

/* ------------------------------------------------------------- url_decode */

static const struct {
	const char *in;
	int len;          /* -1: strlen(in) */
	bool form;
	const char *want; /* NULL: rejected */
} decode_cases[] = {
	{ "", -1, false, "" },
	{ "plain", -1, false, "plain" },
	{ "a%20b", -1, false, "a b" },
	{ "%41%42%43", -1, false, "ABC" },
	{ "%4a%4A", -1, false, "JJ" },                 /* either hex case */
	{ "%E2%82%AC", -1, false, "\xe2\x82\xac" },    /* UTF-8 euro sign */
	{ "%2F%3F%26%3D", -1, false, "/?&=" },
	{ "a+b", -1, false, "a+b" },                   /* '+' is literal outside forms */
	{ "a+b", -1, true, "a b" },
	{ "%2B", -1, true, "+" },                      /* an encoded '+' stays '+' */
	{ "++", -1, true, "  " },
	{ "%", -1, false, NULL },
	{ "%4", -1, false, NULL },
	{ "a%", -1, false, NULL },
	{ "a%4", -1, false, NULL },
	{ "%zz", -1, false, NULL },
	{ "%g0", -1, false, NULL },
	{ "%0g", -1, false, NULL },
	{ "% 1", -1, false, NULL },
	{ "%00", -1, false, NULL },                    /* NUL byte rejected */
	{ "a%00b", -1, true, NULL },
	{ "abc%20", 3, false, "abc" },                 /* len bounds the input */
	{ "%41", 2, false, NULL },                     /* escape cut off by len */
	{ "%41", 3, false, "A" },
};

START_TEST(url_decode_handles_escapes_plus_and_malformed_input)
{
	const char *in = decode_cases[_i].in;
	size_t len = decode_cases[_i].len < 0 ? strlen(in) : (size_t)decode_cases[_i].len;
	char *got = url_decode(ta, in, len, decode_cases[_i].form);
	ck_assert_msg((got == NULL) == (decode_cases[_i].want == NULL),
		      "url_decode(\"%s\", %zu, %d) = %s%s%s", in, len, decode_cases[_i].form,
		      got ? "\"" : "", got ? got : "NULL", got ? "\"" : "");
	if (got)
		ck_assert_str_eq(got, decode_cases[_i].want);
}
END_TEST

/* ---------------------------------------------------------------- queries */

START_TEST(req_query_returns_the_first_decoded_value)
{
	static const struct {
		const char *name;
		const char *want;
	} cases[] = {
		{ "a", "1" },                  /* first of two */
		{ "b", "hello world" },
		{ "c", "" },                   /* present without '=' */
		{ "d", "x y" },                /* '+' is a space in a query */
		{ "ex", "%" },                 /* key and value both decoded */
		{ "empty", "" },
		{ "missing", NULL },
		{ "A", NULL },                 /* names are case-sensitive */
		{ "", NULL },
	};
	tr.query = "a=1&b=hello%20world&c&d=x+y&e%78=%25&empty=&a=2";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_pstr_eq(req_query(&tr, cases[i].name), cases[i].want);
}
END_TEST

START_TEST(req_query_on_an_empty_or_null_query_is_null)
{
	tr.query = "";
	ck_assert_ptr_null(req_query(&tr, "a"));
	tr.query = NULL;
	ck_assert_ptr_null(req_query(&tr, "a"));
	tr.query = "&&&";
	ck_assert_ptr_null(req_query(&tr, "a"));
}
END_TEST

static const struct {
	const char *query;
	err_t rc;
	long long want;       /* on E_OK */
} int_cases[] = {
	{ "", E_OK, 20 },                                /* absent: default */
	{ "other=5", E_OK, 20 },
	{ "limit=5", E_OK, 5 },
	{ "limit=1", E_OK, 1 },
	{ "limit=100", E_OK, 100 },
	{ "limit=7&limit=9", E_OK, 7 },
	{ "limit=0", E_VALIDATION, 0 },                  /* below min */
	{ "limit=101", E_VALIDATION, 0 },                /* above max */
	{ "limit=-5", E_VALIDATION, 0 },
	{ "limit=abc", E_VALIDATION, 0 },
	{ "limit=", E_VALIDATION, 0 },                   /* empty */
	{ "limit", E_VALIDATION, 0 },                    /* no value */
	{ "limit=5x", E_VALIDATION, 0 },                 /* trailing junk */
	{ "limit=5.0", E_VALIDATION, 0 },
	{ "limit=99999999999999999999", E_VALIDATION, 0 }, /* overflows long long */
};

START_TEST(req_query_int_reads_bounded_integers_and_rejects_the_rest)
{
	long long out = -999;
	tr.query = int_cases[_i].query;
	err_t rc = req_query_int(&tr, "limit", 20, 1, 100, &out);
	ck_assert_msg(rc == int_cases[_i].rc, "query \"%s\": rc %d, want %d", int_cases[_i].query,
		      rc, int_cases[_i].rc);
	if (rc == E_OK) {
		ck_assert_int_eq(out, int_cases[_i].want);
		ck_assert_ptr_null(tr.err_details);
		return;
	}
	ck_assert_int_eq(out, -999); /* untouched on error */
	reply_error(&tr, rc);
	ck_assert_int_eq(tr.status, 400);
	cJSON *j = unit_reply_json(&tr);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	ck_assert_pstr_eq(unit_json_str(err, "code", NULL), "VALIDATION_ERROR");
	ck_assert_pstr_eq(unit_json_str(err, "message", NULL), "limit must be an integer between 1 and 100");
	ck_assert_pstr_eq(unit_json_str(err, "details", "field"), "limit");
}
END_TEST

START_TEST(req_query_int_accepts_negative_ranges)
{
	long long out = 0;
	tr.query = "offset=-3";
	ck_assert_int_eq(req_query_int(&tr, "offset", 0, -10, 10, &out), E_OK);
	ck_assert_int_eq(out, -3);
}
END_TEST

/*
 * Regression (fixed): fcgi/request.c req_query() returns NULL when a value has a malformed
 * escape, so req_query_int() treats "?limit=%zz" as an absent parameter and
 * silently uses the default (E_OK, out = 20), while "?limit=zz" gets a 400.
 * Expected: E_VALIDATION naming "limit".
 */
START_TEST(req_query_int_rejects_a_malformed_escape_instead_of_using_the_default)
{
	long long out = -999;
	tr.query = "limit=%zz";
	err_t rc = req_query_int(&tr, "limit", 20, 1, 100, &out);
	ck_assert_msg(rc == E_VALIDATION, "limit=%%zz: rc %d and out %lld, want E_VALIDATION", rc, out);
	ck_assert_pstr_eq(unit_json_str(tr.err_details, "field", NULL), "limit");
}
END_TEST

Suite *suite_envelope(void)
{
	Suite *s = suite_create("envelope");

	TCase *tc = tcase_create("reply");
	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	tcase_add_test(tc, reply_data_renders_success_data_and_request_id);
	tcase_add_test(tc, reply_data_with_null_data_renders_data_null);
	tcase_add_test(tc, reply_data_with_an_array_keeps_its_order);
	tcase_add_test(tc, reply_raw_sends_the_body_without_an_envelope);
	tcase_add_test(tc, reply_header_appends_header_lines_in_order);
	tcase_add_test(tc, req_env_without_fastcgi_is_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	tcase_add_test(tc, catalogue_table_covers_every_code_once);
	tcase_add_loop_test(tc, err_status_code_and_message_come_from_errors_def, 0, NCATALOGUE);
	tcase_add_test(tc, out_of_range_codes_read_as_internal_error);
	tcase_add_loop_test(tc, reply_error_renders_the_error_envelope_for_each_code, 0, NCATALOGUE);
	tcase_add_test(tc, req_fail_returns_its_code_and_replaces_the_message);
	tcase_add_test(tc, req_fail_field_adds_error_details_field);
	tcase_add_test(tc, err_extra_members_merge_into_error);
	tcase_add_test(tc, reply_error_escapes_quotes_in_messages);
	tcase_add_test(tc, req_db_error_maps_database_failures_to_api_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	tcase_add_loop_test(tc, url_decode_handles_escapes_plus_and_malformed_input, 0,
			    (int)(sizeof(decode_cases) / sizeof(decode_cases[0])));
	tcase_add_test(tc, req_query_returns_the_first_decoded_value);
	tcase_add_test(tc, req_query_on_an_empty_or_null_query_is_null);
	tcase_add_loop_test(tc, req_query_int_reads_bounded_integers_and_rejects_the_rest, 0,
			    (int)(sizeof(int_cases) / sizeof(int_cases[0])));
	tcase_add_test(tc, req_query_int_accepts_negative_ranges);
	tcase_add_test(tc, req_query_int_rejects_a_malformed_escape_instead_of_using_the_default);
	suite_add_tcase(s, tc);
	return s;
}
