/*
 * test_luabox.c - the Lua sandbox (common/luabox.c): results and logs,
 * compile errors with their line, the memory cap, the instruction budget
 * and the wall clock, the libraries that are absent,
 * and calls answered by the parent.
 */
#include "unit.h"

#include <string.h>

#include "../../common/luabox.h"

static const luabox_limits_t small = { .mem_bytes = 8u * 1024 * 1024, .timeout_ms = 3000,
				       .instr_max = 20000000 };

static void run(const char *code, const char *input, luabox_call_fn call, luabox_result_t *out)
{
	cJSON *in = input ? cJSON_Parse(input) : NULL;
	int rc = luabox_run(code, strlen(code), in, NULL, NULL, &small, call, NULL, out);
	cJSON_Delete(in);
	ck_assert_int_eq(rc, 0);
}

static char *value_text(const luabox_result_t *res)
{
	return cJSON_PrintUnformatted(res->value);
}

START_TEST(a_function_returns_json_from_its_input_and_logs)
{
	luabox_result_t res;
	run("tessera.log('info', 'got', tessera.input.n)\n"
	    "print('plain')\n"
	    "return { doubled = tessera.input.n * 2, list = {1, 2, 3}, name = 'x' }",
	    "{\"n\":21}", NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_OK);
	char *v = value_text(&res);
	ck_assert_ptr_nonnull(strstr(v, "\"doubled\":42"));
	ck_assert_ptr_nonnull(strstr(v, "\"list\":[1,2,3]"));
	free(v);
	ck_assert_int_eq(cJSON_GetArraySize(res.logs), 2);
	const cJSON *l0 = cJSON_GetArrayItem(res.logs, 0);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(l0, "level")), "info");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(l0, "message")), "got 21");
	luabox_result_free(&res);
}
END_TEST

START_TEST(a_syntax_error_is_reported_with_its_line)
{
	char err[256];
	int line;
	const char *bad = "local a = 1\nlocal b = = 2\n";
	ck_assert_int_eq(luabox_check(bad, strlen(bad), err, sizeof(err), &line), -1);
	ck_assert_int_eq(line, 2);
	ck_assert_ptr_nonnull(strstr(err, "near"));
	const char *good = "return 1";
	ck_assert_int_eq(luabox_check(good, strlen(good), err, sizeof(err), &line), 0);
	/* bytecode is refused: text mode only */
	const char bc[] = "\x1bLua\x54\x00";
	ck_assert_int_eq(luabox_check(bc, sizeof(bc) - 1, err, sizeof(err), &line), -1);
}
END_TEST

START_TEST(a_runtime_error_gives_message_and_line)
{
	luabox_result_t res;
	run("local x = 1\nerror('boom here')\n", NULL, NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_ERROR);
	ck_assert_int_eq(res.line, 2);
	ck_assert_str_eq(res.error, "boom here");
	luabox_result_free(&res);
}
END_TEST

START_TEST(a_memory_bomb_is_stopped_at_the_cap)
{
	luabox_result_t res;
	run("local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end\nreturn #t",
	    NULL, NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_MEMORY);
	luabox_result_free(&res);
	/* caught by pcall, it still ends the run */
	run("local ok = pcall(function() local t = {} for i = 1, 1e9 do t[i] = {i, i} end end)\n"
	    "return 'survived'", NULL, NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_MEMORY);
	luabox_result_free(&res);
}
END_TEST

START_TEST(an_endless_loop_ends_on_the_instruction_budget)
{
	luabox_result_t res;
	run("while true do end", NULL, NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(res.error, "instruction budget"));
	luabox_result_free(&res);
	/* pcall cannot swallow it */
	run("pcall(function() while true do end end) return 1", NULL, NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_TIMEOUT);
	luabox_result_free(&res);
}
END_TEST

START_TEST(an_endless_loop_ends_on_the_clock_without_a_budget)
{
	luabox_limits_t lim = { .mem_bytes = 8u << 20, .timeout_ms = 500, .instr_max = 0 };
	luabox_result_t res;
	const char *code = "while true do end";
	ck_assert_int_eq(luabox_run(code, strlen(code), NULL, NULL, NULL, &lim, NULL, NULL, &res), 0);
	ck_assert_int_eq(res.status, LUABOX_TIMEOUT);
	ck_assert_int_lt(res.duration_ms, 2500);
	luabox_result_free(&res);
}
END_TEST

START_TEST(unsafe_libraries_are_absent)
{
	luabox_result_t res;
	run("return { io = type(io), execute = type(os.execute), getenv = type(os.getenv),\n"
	    "  remove = type(os.remove), require = type(require), dofile = type(dofile),\n"
	    "  loadfile = type(loadfile), load = type(load), debug = type(debug),\n"
	    "  dump = type(string.dump), package = type(package), time = type(os.time),\n"
	    "  date = type(os.date), clock = type(os.clock), exit = type(os.exit) }",
	    NULL, NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_OK);
	static const char *const absent[] = { "io", "execute", "getenv", "remove", "require", "dofile",
					      "loadfile", "load", "debug", "dump", "package", "exit",
					      NULL };
	for (const char *const *a = absent; *a; a++)
		ck_assert_msg(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(res.value, *a)), "nil"),
			      "%s is present", *a);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(res.value, "time")), "function");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(res.value, "date")), "function");
	luabox_result_free(&res);
}
END_TEST

START_TEST(string_rep_is_capped)
{
	luabox_result_t res;
	run("return string.rep('x', 10 * 1024 * 1024)", NULL, NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_ERROR);
	ck_assert_ptr_nonnull(strstr(res.error, "string.rep"));
	luabox_result_free(&res);
	run("return #string.rep('ab', 3, ',')", NULL, NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_OK);
	ck_assert_int_eq(res.value->valueint, 8);
	luabox_result_free(&res);
}
END_TEST

static cJSON *echo_call(void *user, const char *name, const cJSON *args, char *err, size_t errlen)
{
	(void)user;
	if (!strcmp(name, "objects.get")) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", cJSON_GetStringValue(cJSON_GetArrayItem(args, 1)));
		cJSON_AddStringToObject(o, "type", cJSON_GetStringValue(cJSON_GetArrayItem(args, 0)));
		return o;
	}
	snprintf(err, errlen, "NOT_FOUND: no %s here", name);
	return NULL;
}

START_TEST(calls_are_answered_by_the_parent)
{
	luabox_result_t res;
	run("local o = tessera.objects.get('contacts', 'obj_1')\n"
	    "local ok, e = pcall(tessera.objects.delete, 'contacts', 'obj_1')\n"
	    "return { id = o.id, type = o.type, ok = ok, e = e }", NULL, echo_call, &res);
	ck_assert_msg(res.status == LUABOX_OK, "%s", res.error);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(res.value, "id")), "obj_1");
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(res.value, "type")), "contacts");
	ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(res.value, "ok")));
	ck_assert_ptr_nonnull(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(res.value, "e")),
				     "NOT_FOUND"));
	luabox_result_free(&res);
}
END_TEST

START_TEST(values_that_are_not_json_are_refused)
{
	luabox_result_t res;
	run("return { f = function() end }", NULL, NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_ERROR);
	ck_assert_ptr_nonnull(strstr(res.error, "cannot be JSON"));
	luabox_result_free(&res);
	run("local t = {} for i = 1, 3 do t[i] = string.rep('x', 500000) end return t", NULL, NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_ERROR);
	ck_assert_ptr_nonnull(strstr(res.error, "over 1 MB"));
	luabox_result_free(&res);
	run("return tessera.json.decode(tessera.json.encode({a = {1, 2}, b = 'c'}))", NULL, NULL, &res);
	ck_assert_int_eq(res.status, LUABOX_OK);
	char *v = value_text(&res);
	ck_assert_ptr_nonnull(strstr(v, "\"a\":[1,2]"));
	free(v);
	luabox_result_free(&res);
}
END_TEST

Suite *suite_luabox(void)
{
	Suite *s = suite_create("luabox");
	TCase *tc = tcase_create("luabox");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, a_function_returns_json_from_its_input_and_logs);
	tcase_add_test(tc, a_syntax_error_is_reported_with_its_line);
	tcase_add_test(tc, a_runtime_error_gives_message_and_line);
	tcase_add_test(tc, a_memory_bomb_is_stopped_at_the_cap);
	tcase_add_test(tc, an_endless_loop_ends_on_the_instruction_budget);
	tcase_add_test(tc, an_endless_loop_ends_on_the_clock_without_a_budget);
	tcase_add_test(tc, unsafe_libraries_are_absent);
	tcase_add_test(tc, string_rep_is_capped);
	tcase_add_test(tc, calls_are_answered_by_the_parent);
	tcase_add_test(tc, values_that_are_not_json_are_refused);
	suite_add_tcase(s, tc);
	return s;
}
