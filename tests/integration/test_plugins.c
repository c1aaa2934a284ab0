/*
 * test_plugins.c - plugins installed from a manifest against the real
 * stack: a manifest with an object type, a function and a webhook is
 * installed, tagged and works (the function sees the plugin's config and
 * writes objects of the plugin's type); a failing install leaves nothing;
 * config_json is checked against config_schema; the same name twice is
 * 409; disabling stops the function and pauses the webhook; uninstall goes
 * through the secure delete of a type holding data and removes it all.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

Suite *suite_plugins(void);

#define MANIFEST \
	"{\"name\":\"crm-lite\",\"version\":\"1.2.0\",\"description\":\"leads\"," \
	"\"config_schema\":{\"type\":\"object\",\"required\":[\"greeting\"]," \
	"\"properties\":{\"greeting\":{\"type\":\"string\",\"minLength\":2}," \
	"\"level\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5}}}," \
	"\"object_types\":[{\"name\":\"crm_leads\",\"properties\":[" \
	"{\"name\":\"email\",\"data_type\":\"string\",\"is_required\":true}]}]," \
	"\"functions\":[{\"name\":\"crm_capture\",\"code\":\"local o = tessera.objects.create('crm_leads', " \
	"{ email = tessera.input.email }) return { id = o.id, greeting = tessera.config.greeting }\"}]," \
	"\"webhooks\":[{\"url\":\"http://127.0.0.1:9/crm\",\"events\":[\"object.created\"]}]}"

static const char *installed_id(const cJSON *plugin, const char *kind)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, item(plugin, "installed"))
		if (!strcmp(json_str(it, "kind"), kind))
			return json_str(it, "id");
	return NULL;
}

START_TEST(install_use_disable_and_uninstall)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = call("POST", t.key, "{\"manifest_json\":" MANIFEST ",\"config_json\":{\"greeting\":\"hi\"}}",
			    "/v1/plugins");
	assert_envelope(r, 201, NULL);
	const cJSON *p = resp_data(r);
	char *id = strdup(json_str(p, "id"));
	ck_assert_str_eq(json_str(p, "name"), "crm-lite");
	ck_assert_str_eq(json_str(p, "version"), "1.2.0");
	ck_assert_str_eq(json_str(p, "description"), "leads");
	assert_json_eq(p, "enabled", "true");
	ck_assert_int_eq(cJSON_GetArraySize(item(p, "installed")), 3);
	char *fn = strdup(installed_id(p, "function")), *hook = strdup(installed_id(p, "webhook"));
	http_free(r);

	r = call("GET", t.key, NULL, "/v1/functions/%s", fn);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "plugin_id"), id);
	http_free(r);
	r = call("POST", t.key, "{\"input\":{\"email\":\"x@example.com\"}}", "/v1/functions/%s/execute", fn);
	assert_envelope(r, 200, NULL);
	assert_json_eq(item(resp_data(r), "result"), "greeting", "\"hi\"");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/objects/crm_leads/list");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "results")), 1);
	http_free(r);

	/* the same name again */
	r = call("POST", t.key, "{\"manifest_json\":" MANIFEST ",\"config_json\":{\"greeting\":\"hi\"}}",
		 "/v1/plugins");
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);

	/* config_json against the schema */
	r = call("PATCH", t.key, "{\"config_json\":{\"greeting\":\"hello\",\"level\":9}}", "/v1/plugins/%s", id);
	assert_invalid(r, "config_json.level");
	http_free(r);

	/* disabled: the function refuses, the webhook pauses */
	r = call("PATCH", t.key, "{\"enabled\":false}", "/v1/plugins/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", t.key, "{\"input\":{\"email\":\"y@example.com\"}}", "/v1/functions/%s/execute", fn);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/webhooks");
	ck_assert_str_eq(json_str(find_by(resp_data(r), "id", hook), "status"), "paused");
	http_free(r);

	/* uninstall: the type holds data, so the secure delete's token first */
	r = call("DELETE", t.key, NULL, "/v1/plugins/%s", id);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	const char *tok = json_str(item(r->json, "error"), "confirm_token");
	ck_assert_ptr_nonnull(tok);
	char *token = strdup(tok);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/plugins/%s", id);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/plugins/%s?force=true&confirm_token=%s", id, token);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/plugins/%s", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/object-types/crm_leads");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/functions/%s", fn);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/webhooks");
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_null(find_by(resp_data(r), "id", hook));
	http_free(r);
	free(token);
	free(hook);
	free(fn);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(a_failing_install_leaves_nothing)
{
	struct tenant t;
	tenant_make(&t);
	http_resp *r = call("POST", t.key,
			    "{\"manifest_json\":{\"name\":\"broken\",\"version\":\"0.1.0\","
			    "\"object_types\":[{\"name\":\"broken_things\",\"properties\":[{\"name\":\"n\",\"data_type\":\"integer\"}]}],"
			    "\"functions\":[{\"name\":\"ok_fn\",\"code\":\"return 1\"},"
			    "{\"name\":\"bad_fn\",\"code\":\"return = 1\"}]}}", "/v1/plugins");
	assert_invalid(r, "manifest_json.functions[1]");
	ck_assert_ptr_nonnull(strstr(error_message(r), "code"));
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/object-types/broken_things");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/functions");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/plugins");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);

	/* manifests that do not validate: nothing tried */
	r = call("POST", t.key, "{\"manifest_json\":{\"name\":\"v\",\"version\":\"one\"}}", "/v1/plugins");
	assert_invalid(r, "manifest_json.version");
	http_free(r);
	r = call("POST", t.key, "{\"manifest_json\":{\"name\":\"v\",\"version\":\"1.0.0\",\"extras\":1}}",
		 "/v1/plugins");
	assert_invalid(r, "manifest_json.extras");
	http_free(r);
	r = call("POST", t.key, "{\"manifest_json\":{\"name\":\"v\",\"version\":\"1.0.0\","
		 "\"config_schema\":{\"type\":\"object\",\"oneOf\":[]}}}", "/v1/plugins");
	assert_invalid(r, "manifest_json.config_schema.oneOf");
	http_free(r);
	r = call("POST", t.key, "{\"manifest_json\":{\"name\":\"v\",\"version\":\"1.0.0\","
		 "\"config_schema\":{\"type\":\"object\",\"required\":[\"k\"]}}}", "/v1/plugins");
	assert_invalid(r, "config_json.k");
	http_free(r);
	r = call("POST", t.key, "{\"name\":\"other\",\"manifest_json\":{\"name\":\"v\",\"version\":\"1.0.0\"}}",
		 "/v1/plugins");
	assert_invalid(r, "name");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/plugins");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	tenant_drop(&t);
}
END_TEST

Suite *suite_plugins(void)
{
	Suite *s = suite_create("plugins");
	TCase *tc = tcase_new_slow(s, "plugins");
	tcase_add_test(tc, install_use_disable_and_uninstall);
	tcase_add_test(tc, a_failing_install_leaves_nothing);
	return s;
}
