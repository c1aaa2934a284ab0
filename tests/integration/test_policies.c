/*
 * test_policies.c - row-level policies: their CRUD and validation, what two
 * end users can see and change under an owner policy, roles, composed
 * conditions, disabled policies, API keys bypassing them, and the
 * simulator.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

Suite *suite_policies(void);

/* A "notes" type with owner (indexed string), text and level (integer). */
static void notes_make(const char *key)
{
	free(type_make(key, "notes"));
	prop_make(key, "notes", "{\"name\":\"owner\",\"data_type\":\"string\",\"is_indexed\":true}");
	prop_make(key, "notes", "{\"name\":\"text\",\"data_type\":\"text\"}");
	prop_make(key, "notes", "{\"name\":\"level\",\"data_type\":\"integer\"}");
}

static char *policy_make(const char *key, const char *json)
{
	http_resp *r = call("POST", key, json, "/v1/object-types/notes/policies");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

/* The texts an actor sees in the list, comma-separated in list order. */
static char *texts(const char *token)
{
	http_resp *r = call("GET", token, NULL, "/v1/objects/notes/list?limit=100&sort=created_at&order=asc");
	assert_envelope(r, 200, NULL);
	char *out = strdup("");
	const cJSON *o;
	cJSON_ArrayForEach(o, item(resp_data(r), "results")) {
		const char *t = json_str(item(o, "properties"), "text");
		char *n = strf("%s%s%s", out, *out ? "," : "", t ? t : "?");
		free(out);
		out = n;
	}
	ck_assert_int_eq((int)item(resp_data(r), "total")->valuedouble,
			 cJSON_GetArraySize(item(resp_data(r), "results")));
	http_free(r);
	return out;
}

static long status_of(http_resp *r)
{
	long s = r->status;
	http_free(r);
	return s;
}

#define OWNER_POLICY "{\"name\":\"own rows\",\"action\":\"all\",\"condition_json\":" \
	"{\"property\":\"owner\",\"operator\":\"eq\",\"value\":{\"auth\":\"uid\"}}}"

/* With no policy at all, an end user's write says why and what to do,
 * rather than blaming policies that do not exist. */
START_TEST(no_policy_says_so_and_how_to_add_one)
{
	struct tenant t;
	tenant_make(&t);
	notes_make(t.key);
	char *alice = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	http_resp *r = obj_create(alice, "notes", "{\"owner\":\"usr_alice\",\"text\":\"a1\"}");
	assert_envelope(r, 403, "FORBIDDEN");
	const char *msg = error_message(r);
	ck_assert_msg(strstr(msg, "No policy of notes allows end users to insert rows") &&
		      strstr(msg, "POST /v1/object-types/notes/policies") && !strstr(msg, "violates"),
		      "message: %s", msg);
	http_free(r);
	free(alice);
	tenant_drop(&t);
}
END_TEST

START_TEST(owner_policy_isolates_two_end_users)
{
	struct tenant t;
	tenant_make(&t);
	notes_make(t.key);
	free(policy_make(t.key, OWNER_POLICY));
	char *alice = jwt_mint(t.id, "usr_alice", "authenticated", 3600, NULL);
	char *bob = jwt_mint(t.id, "usr_bob", "authenticated", 3600, NULL);
	char *a1 = obj_make(alice, "notes", "{\"owner\":\"usr_alice\",\"text\":\"a1\"}");
	char *b1 = obj_make(bob, "notes", "{\"owner\":\"usr_bob\",\"text\":\"b1\"}");
	/* An insert for someone else violates the policy. */
	http_resp *r = obj_create(alice, "notes", "{\"owner\":\"usr_bob\",\"text\":\"spoof\"}");
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);

	char *seen = texts(alice);
	ck_assert_str_eq(seen, "a1");
	free(seen);
	seen = texts(bob);
	ck_assert_str_eq(seen, "b1");
	free(seen);
	seen = texts(t.key); /* API keys are not subject to policies */
	ck_assert_str_eq(seen, "a1,b1");
	free(seen);

	/* Bob's note does not exist for Alice. */
	ck_assert_int_eq(status_of(call("GET", alice, NULL, "/v1/objects/notes/%s", b1)), 404);
	ck_assert_int_eq(status_of(call("PATCH", alice, "{\"properties\":{\"text\":\"x\"}}",
					"/v1/objects/notes/%s", b1)), 404);
	ck_assert_int_eq(status_of(call("DELETE", alice, NULL, "/v1/objects/notes/%s", b1)), 404);
	/* Her own she may change, but not give away. */
	ck_assert_int_eq(status_of(call("PATCH", alice, "{\"properties\":{\"text\":\"a1b\"}}",
					"/v1/objects/notes/%s", a1)), 200);
	r = call("PATCH", alice, "{\"properties\":{\"owner\":\"usr_bob\"}}", "/v1/objects/notes/%s", a1);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	ck_assert_int_eq(status_of(call("DELETE", alice, NULL, "/v1/objects/notes/%s", a1)), 200);
	seen = texts(t.key);
	ck_assert_str_eq(seen, "b1");
	free(seen);
	free(a1);
	free(b1);
	free(alice);
	free(bob);
	tenant_drop(&t);
}
END_TEST

START_TEST(roles_disabled_policies_and_composed_conditions)
{
	struct tenant t;
	tenant_make(&t);
	notes_make(t.key);
	free(obj_make(t.key, "notes", "{\"owner\":\"x\",\"text\":\"public low\",\"level\":1}"));
	free(obj_make(t.key, "notes", "{\"owner\":\"x\",\"text\":\"secret\",\"level\":9}"));
	free(obj_make(t.key, "notes", "{\"owner\":\"x\",\"text\":\"public high\",\"level\":5}"));
	char *user = jwt_mint(t.id, "usr_u", "authenticated", 3600, NULL);
	char *mod = jwt_mint(t.id, "usr_m", "moderator", 3600, NULL);
	/* Everyone reads public notes below level 5; moderators read all. */
	free(policy_make(t.key, "{\"name\":\"public\",\"action\":\"select\",\"condition_json\":"
			 "{\"and\":[{\"property\":\"text\",\"operator\":\"starts_with\",\"value\":\"public\"},"
			 "{\"not\":{\"property\":\"level\",\"operator\":\"gte\",\"value\":5}}]}}"));
	free(policy_make(t.key, "{\"name\":\"mods\",\"action\":\"select\",\"role\":\"moderator\","
			 "\"condition_json\":true}"));
	char *off = policy_make(t.key, "{\"name\":\"off\",\"action\":\"select\",\"enabled\":false,"
				"\"condition_json\":true}");
	char *seen = texts(user);
	ck_assert_str_eq(seen, "public low");
	free(seen);
	seen = texts(mod);
	ck_assert_str_eq(seen, "public low,secret,public high");
	free(seen);
	/* Enabling the catch-all opens everything to everyone. */
	http_resp *r = call("PATCH", t.key, "{\"enabled\":true}", "/v1/object-types/notes/policies/%s", off);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "enabled")));
	http_free(r);
	seen = texts(user);
	ck_assert_str_eq(seen, "public low,secret,public high");
	free(seen);
	/* Deleting it closes them again. */
	ck_assert_int_eq(status_of(call("DELETE", t.key, NULL, "/v1/object-types/notes/policies/%s", off)), 200);
	seen = texts(user);
	ck_assert_str_eq(seen, "public low");
	free(seen);
	free(off);
	free(user);
	free(mod);
	tenant_drop(&t);
}
END_TEST

START_TEST(policy_validation_names_the_problem)
{
	struct tenant t;
	tenant_make(&t);
	notes_make(t.key);
	static const struct {
		const char *body, *field;
	} bad[] = {
		{ "{\"name\":\"p\",\"action\":\"read\",\"condition_json\":true}", "action" },
		{ "{\"name\":\"p\",\"action\":\"select\",\"condition_json\":{\"property\":\"nope\",\"operator\":\"eq\",\"value\":1}}", "condition_json" },
		{ "{\"name\":\"p\",\"action\":\"select\",\"condition_json\":{\"property\":\"owner\",\"operator\":\"like\",\"value\":1}}", "condition_json" },
		{ "{\"name\":\"p\",\"action\":\"select\",\"condition_json\":{\"property\":\"owner\",\"operator\":\"eq\",\"value\":{\"auth\":\"password\"}}}", "condition_json" },
		{ "{\"name\":\"p\",\"action\":\"select\",\"condition_json\":{\"and\":[]}}", "condition_json" },
		{ "{\"name\":\"p\",\"action\":\"select\",\"condition_json\":{\"or\":[true, {\"property\":\"owner\",\"operator\":\"eq\"}]}}", "condition_json.or[1]" },
		{ "{\"name\":\"p\",\"action\":\"select\",\"condition_json\":\"yes\"}", "condition_json" },
		{ "{\"action\":\"select\"}", "name" },
		{ "{\"name\":\"p\",\"action\":\"select\",\"extra\":1}", "extra" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp *r = call("POST", t.key, bad[i].body, "/v1/object-types/notes/policies");
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	http_resp *r = call("GET", t.key, NULL, "/v1/object-types/notes/policies");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	/* A type with policies is a dependency for secure delete. */
	free(policy_make(t.key, OWNER_POLICY));
	r = call("DELETE", t.key, NULL, "/v1/object-types/notes");
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	ck_assert_ptr_nonnull(find_by(item(cJSON_GetObjectItem(r->json, "error"), "dependencies"),
				      "type", "policies"));
	http_free(r);
	/* End users cannot manage policies. */
	char *user = jwt_mint(t.id, "usr_u", "authenticated", 3600, NULL);
	ck_assert_int_eq(status_of(call("POST", user, OWNER_POLICY, "/v1/object-types/notes/policies")), 403);
	free(user);
	tenant_drop(&t);
}
END_TEST

START_TEST(simulate_explains_each_row)
{
	struct tenant t;
	tenant_make(&t);
	notes_make(t.key);
	http_resp *r = call("POST", t.key,
		"{\"object_type_id\":\"notes\",\"policy\":{\"action\":\"select\",\"condition_json\":"
		"{\"or\":[{\"property\":\"owner\",\"operator\":\"eq\",\"value\":{\"auth\":\"uid\"}},"
		"{\"property\":\"level\",\"operator\":\"lt\",\"value\":3}]}},"
		"\"auth_context\":{\"uid\":\"usr_a\",\"role\":\"authenticated\"},"
		"\"sample_data\":[{\"owner\":\"usr_a\",\"level\":9},{\"owner\":\"usr_b\",\"level\":1},"
		"{\"properties\":{\"owner\":\"usr_b\",\"level\":7}}]}", "/v1/policies/simulate");
	assert_envelope(r, 200, NULL);
	const cJSON *res = item(resp_data(r), "results");
	ck_assert_int_eq(cJSON_GetArraySize(res), 3);
	ck_assert(cJSON_IsTrue(item(cJSON_GetArrayItem(res, 0), "allowed")));
	ck_assert(cJSON_IsTrue(item(cJSON_GetArrayItem(res, 1), "allowed")));
	ck_assert(cJSON_IsFalse(item(cJSON_GetArrayItem(res, 2), "allowed")));
	ck_assert_ptr_nonnull(strstr(json_str(cJSON_GetArrayItem(res, 2), "reason"), "level"));
	ck_assert_int_eq((int)item(resp_data(r), "allowed_count")->valuedouble, 2);
	http_free(r);
	/* A policy for another role allows nothing for this caller. */
	r = call("POST", t.key, "{\"policy\":{\"action\":\"select\",\"role\":\"admin\",\"condition_json\":true},"
		 "\"auth_context\":{\"uid\":\"usr_a\",\"role\":\"authenticated\"},\"sample_data\":[{}]}",
		 "/v1/policies/simulate");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsFalse(item(cJSON_GetArrayItem(item(resp_data(r), "results"), 0), "allowed")));
	http_free(r);
	/* A bad condition is 400. */
	r = call("POST", t.key, "{\"policy\":{\"condition_json\":{\"nand\":[]}},\"sample_data\":[]}",
		 "/v1/policies/simulate");
	ck_assert_int_eq(r->status, 400);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

Suite *suite_policies(void)
{
	Suite *s = suite_create("policies");
	TCase *tc = tcase_new_slow(s, "policies");
	tcase_add_test(tc, owner_policy_isolates_two_end_users);
	tcase_add_test(tc, no_policy_says_so_and_how_to_add_one);
	tcase_add_test(tc, roles_disabled_policies_and_composed_conditions);
	tcase_add_test(tc, policy_validation_names_the_problem);
	tcase_add_test(tc, simulate_explains_each_row);
	return s;
}
