/*
 * test_automations.c - automations through the real stack: an automation
 * on object.created with conditions fires for a matching object (its email
 * lands in the stack's mail directory, its signed webhook reaches the
 * loopback receiver, which verifies the signature itself) and not for one
 * that fails them; a loop of updates is cut at chain depth 5 with
 * CHAIN_DEPTH_EXCEEDED in the run log; a manual trigger; bad input
 * refused with the field named and nothing saved; secrets never shown;
 * another tenant's automation is a 404.
 */
#include "peers.h"

#include <stdlib.h>
#include <string.h>

/* GET …/runs of automation id (the response; the caller frees). */
static http_resp *runs_of(const char *key, const char *id)
{
	http_resp *r = call("GET", key, NULL, "/v1/automations/%s/runs?limit=100", id);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsArray(item(resp_data(r), "runs")));
	return r;
}

/* Waits until automation id has n finished runs (none queued or
 * running); returns the page. */
static http_resp *runs_wait(const char *key, const char *id, int n)
{
	double deadline = now_s() + 40;
	for (;;) {
		http_resp *r = runs_of(key, id);
		int done = 0;
		const cJSON *run;
		cJSON_ArrayForEach(run, item(resp_data(r), "runs")) {
			const char *st = json_str(run, "status");
			done += st && strcmp(st, "queued") && strcmp(st, "running");
		}
		if (done >= n)
			return r;
		ck_assert_msg(now_s() < deadline, "automation %s: fewer than %d finished runs: %s", id, n,
			      r->body);
		http_free(r);
		sleep_ms(200);
	}
}

static char *auto_make(const char *key, const char *body)
{
	http_resp *r = call("POST", key, body, "/v1/automations");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	return id;
}

START_TEST(automation_fires_on_create_when_conditions_hold)
{
	struct tenant t;
	tenant_make(&t);
	char *type = type_make(t.key, "auto_orders");
	prop_make(t.key, "auto_orders", "{\"name\":\"status\",\"data_type\":\"text\"}");
	prop_make(t.key, "auto_orders", "{\"name\":\"amount\",\"data_type\":\"number\"}");
	struct receiver rv;
	recv_start(&rv);
	const char *secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
	box_setup(&rv, "auto", secret, NULL);
	char *url = hook_url(&rv, "auto");
	char *body = strf("{\"name\":\"paid orders\",\"trigger_event\":\"object.created\","
		"\"object_type_id\":\"auto_orders\",\"conditions\":[{\"property\":\"status\","
		"\"operator\":\"eq\",\"value\":\"paid\"},{\"property\":\"amount\",\"operator\":\"gte\","
		"\"value\":10}],\"actions\":[{\"type\":\"send_email\",\"config\":{\"to\":\"ops@example.com\","
		"\"subject\":\"Order {{data.object.properties.status}}\",\"text\":\"Order "
		"{{data.object_id}} of {{data.object.properties.amount}}\"}},{\"type\":\"call_webhook\","
		"\"config\":{\"url\":\"%s\",\"secret\":\"%s\"}}]}", url, secret);
	http_resp *r = call("POST", t.key, body, "/v1/automations");
	assert_envelope(r, 201, NULL);
	const cJSON *a = resp_data(r);
	char *id = strdup(json_str(a, "id"));
	ck_assert(strncmp(id, "auto_", 5) == 0);
	ck_assert_pstr_eq(json_str(a, "object_type_id"), type);   /* the name became the id */
	ck_assert(cJSON_IsTrue(item(a, "enabled")));
	/* The secret is sealed: never shown again. */
	ck_assert_ptr_null(strstr(r->body, secret));
	ck_assert_ptr_null(strstr(r->body, "_sealed"));
	http_free(r);

	char *miss = obj_make(t.key, "auto_orders", "{\"status\":\"pending\",\"amount\":50}");
	char *small = obj_make(t.key, "auto_orders", "{\"status\":\"paid\",\"amount\":5}");
	char *hit = obj_make(t.key, "auto_orders", "{\"status\":\"paid\",\"amount\":42}");
	r = runs_wait(t.key, id, 1);
	const cJSON *runs = item(resp_data(r), "runs");
	ck_assert_int_eq(cJSON_GetArraySize(runs), 1);
	const cJSON *run = cJSON_GetArrayItem(runs, 0);
	ck_assert_pstr_eq(json_str(run, "status"), "succeeded");
	ck_assert_pstr_eq(json_str(run, "trigger"), "event");
	ck_assert_pstr_eq(json_str(run, "trigger_event"), "object.created");
	assert_rfc3339(run, "started_at");
	assert_rfc3339(run, "finished_at");
	const cJSON *steps = item(run, "steps");
	ck_assert_int_eq(cJSON_GetArraySize(steps), 2);
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(steps, 0), "type"), "send_email");
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(steps, 0), "status"), "succeeded");
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(steps, 1), "type"), "call_webhook");
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(steps, 1), "status"), "succeeded");
	ck_assert(cJSON_IsNumber(item(cJSON_GetArrayItem(steps, 1), "duration_ms")));
	ck_assert_int_eq((int)cJSON_GetNumberValue(item(resp_data(r), "total")), 1);
	http_free(r);

	/* The webhook: signed with the secret, the event as its body. */
	cJSON *got = recv_wait(&rv, "auto", 1, 20);
	ck_assert(verified_with(received(got, 0), secret));
	const cJSON *ev = item(received(got, 0), "body");
	ck_assert_pstr_eq(json_str(ev, "type"), "object.created");
	ck_assert_pstr_eq(json_str(item(ev, "data"), "object_id"), hit);
	cJSON_Delete(got);
	/* The email, with the event's fields filled in. */
	char *maildir = strf("%s/mail", stack_dir());
	char *path = file_with(maildir, hit, 20000);
	ck_assert_msg(path != NULL, "no email about %s in %s", hit, maildir);
	cJSON *mail = mail_parse(path);
	ck_assert_pstr_eq(json_str(mail, "subject"), "Order paid");
	ck_assert(strstr(json_str(mail, "text"), "of 42") != NULL);
	ck_assert(strstr(json_str(mail, "to"), "ops@example.com") != NULL);
	cJSON_Delete(mail);
	/* The objects that failed the conditions started nothing. */
	outbox_drained(t.id);
	sleep_ms(500);
	r = runs_of(t.key, id);
	ck_assert_int_eq(cJSON_GetArraySize(item(resp_data(r), "runs")), 1);
	http_free(r);
	ck_assert_int_eq(recv_count(&rv, "auto"), 1);

	recv_stop(&rv);
	free(path);
	free(maildir);
	free(miss);
	free(small);
	free(hit);
	free(id);
	free(url);
	free(body);
	free(type);
	tenant_drop(&t);
}
END_TEST

START_TEST(automation_loop_is_cut_at_chain_depth_5)
{
	struct tenant t;
	tenant_make(&t);
	free(type_make(t.key, "auto_counters"));
	prop_make(t.key, "auto_counters", "{\"name\":\"n\",\"data_type\":\"number\"}");
	char *id = auto_make(t.key, "{\"name\":\"echo\",\"trigger_event\":\"object.updated\","
		"\"object_type_id\":\"auto_counters\",\"actions\":[{\"type\":\"update_object\",\"config\":"
		"{\"object_type_id\":\"auto_counters\",\"object_id\":\"{{data.object_id}}\","
		"\"properties\":{\"n\":\"{{data.properties.n}}\"}}}]}");
	char *obj = obj_make(t.key, "auto_counters", "{\"n\":1}");
	http_resp *r = call("PATCH", t.key, "{\"properties\":{\"n\":2}}", "/v1/objects/auto_counters/%s",
			    obj);
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* Depth 0 (the client's update) … 4 run; depth 5 is cut. */
	r = runs_wait(t.key, id, 6);
	outbox_drained(t.id);
	sleep_ms(1000);
	http_free(r);
	r = runs_of(t.key, id);
	const cJSON *runs = item(resp_data(r), "runs");
	ck_assert_msg(cJSON_GetArraySize(runs) == 6, "%s", r->body);
	int ok = 0, cut = 0;
	const cJSON *run;
	cJSON_ArrayForEach(run, runs) {
		const char *st = json_str(run, "status");
		if (!strcmp(st, "succeeded"))
			ok++;
		if (!strcmp(st, "skipped")) {
			cut++;
			ck_assert_pstr_eq(json_str(run, "error_code"), "CHAIN_DEPTH_EXCEEDED");
			ck_assert_int_eq((int)cJSON_GetNumberValue(item(run, "chain_depth")), 5);
			ck_assert(cJSON_GetArraySize(item(run, "steps")) == 0);
		}
	}
	ck_assert_int_eq(ok, 5);
	ck_assert_int_eq(cut, 1);
	http_free(r);
	/* The object went through five more versions, and no further. */
	r = call("GET", t.key, NULL, "/v1/objects/auto_counters/%s", obj);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq((int)cJSON_GetNumberValue(item(resp_data(r), "version")), 7);
	http_free(r);
	free(obj);
	free(id);
	tenant_drop(&t);
}
END_TEST

START_TEST(automation_trigger_runs_now_with_the_given_data)
{
	struct tenant t, other;
	tenant_make(&t);
	tenant_make(&other);
	char *id = auto_make(t.key, "{\"name\":\"manual\",\"trigger_event\":\"custom.signup\","
		"\"actions\":[{\"type\":\"publish_event\",\"config\":{\"event_type\":\"welcomed\","
		"\"data\":{\"who\":\"{{data.email}}\"}}},{\"type\":\"http_request\",\"config\":{\"url\":"
		"\"http://127.0.0.1:1/nothing\",\"method\":\"POST\",\"headers\":{\"Authorization\":"
		"\"Bearer s3cr3t-token\"}},\"continue_on_error\":true}]}");
	http_resp *r = call("GET", t.key, NULL, "/v1/automations/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert_ptr_null(strstr(r->body, "s3cr3t-token"));
	const cJSON *cfg = item(cJSON_GetArrayItem(item(resp_data(r), "actions"), 1), "config");
	ck_assert_pstr_eq(json_str(item(cfg, "headers"), "Authorization"), "********");
	http_free(r);

	r = call("POST", t.key, "{\"data\":{\"email\":\"ada@example.com\"}}",
		 "/v1/automations/%s/trigger", id);
	assert_envelope(r, 200, NULL);
	char *run_id = strdup(json_str(resp_data(r), "run_id"));
	ck_assert(strncmp(run_id, "run_", 4) == 0);
	http_free(r);
	r = runs_wait(t.key, id, 1);
	const cJSON *run = find_by(item(resp_data(r), "runs"), "id", run_id);
	ck_assert_ptr_nonnull(run);
	ck_assert_pstr_eq(json_str(run, "trigger"), "manual");
	/* The failing request continued on error: the run succeeded, the step
	 * says why it failed. */
	ck_assert_pstr_eq(json_str(run, "status"), "succeeded");
	const cJSON *steps = item(run, "steps");
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(steps, 0), "status"), "succeeded");
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(steps, 1), "status"), "failed");
	ck_assert_pstr_eq(json_str(item(cJSON_GetArrayItem(steps, 1), "error"), "code"), "ACTION_FAILED");
	http_free(r);
	/* The custom event it published, with the data filled in. */
	r = call("GET", t.key, NULL, "/v1/events/list?type=custom.welcomed");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(strstr(r->body, "ada@example.com") != NULL, "%s", r->body);
	http_free(r);

	/* Another tenant's automation does not exist for this one. */
	r = call("POST", other.key, "{}", "/v1/automations/%s/trigger", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", other.key, NULL, "/v1/automations/%s/runs", id);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", other.key, NULL, "/v1/automations");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/automations/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "deleted")));
	http_free(r);
	free(run_id);
	free(id);
	tenant_drop(&t);
	tenant_drop(&other);
}
END_TEST

static const struct {
	const char *body, *status_code, *field;
	long status;
} bad_cases[] = {
	{ "{\"name\":\"x\",\"trigger_event\":\"object.exploded\",\"actions\":[{\"type\":\"publish_event\","
	  "\"config\":{\"event_type\":\"e\"}}]}", "VALIDATION_ERROR", "trigger_event", 400 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"actions\":[]}", "VALIDATION_ERROR",
	  "actions", 400 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"actions\":[{\"type\":\"teleport\","
	  "\"config\":{}}]}", "VALIDATION_ERROR", "actions[0].type", 400 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"actions\":[{\"type\":\"publish_event\","
	  "\"config\":{\"event_type\":\"e\"}},{\"type\":\"call_webhook\",\"config\":{}}]}",
	  "VALIDATION_ERROR", "actions[1].config.url", 400 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"actions\":[{\"type\":\"call_webhook\","
	  "\"config\":{\"url\":\"ftp://example.com/x\"}}]}", "VALIDATION_ERROR", "actions[0].config.url", 400 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"actions\":[{\"type\":\"send_email\","
	  "\"config\":{\"to\":\"not-an-address\",\"subject\":\"s\",\"text\":\"t\"}}]}",
	  "VALIDATION_ERROR", "actions[0].config.to", 400 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"actions\":[{\"type\":\"create_object\","
	  "\"config\":{\"object_type_id\":\"no_such_type\"}}]}", "VALIDATION_ERROR",
	  "actions[0].config.object_type_id", 400 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"object_type_id\":\"auto_things\","
	  "\"conditions\":[{\"property\":\"colour\",\"operator\":\"eq\",\"value\":\"red\"}],"
	  "\"actions\":[{\"type\":\"publish_event\",\"config\":{\"event_type\":\"e\"}}]}",
	  "VALIDATION_ERROR", "conditions[0].property", 400 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"conditions\":[{\"property\":\"a\","
	  "\"operator\":\"resembles\",\"value\":1}],\"actions\":[{\"type\":\"publish_event\","
	  "\"config\":{\"event_type\":\"e\"}}]}", "VALIDATION_ERROR", "conditions[0].operator", 400 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"conditions\":[{\"property\":\"a\","
	  "\"operator\":\"changed\"}],\"actions\":[{\"type\":\"publish_event\","
	  "\"config\":{\"event_type\":\"e\"}}]}", "VALIDATION_ERROR", "conditions[0].operator", 400 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"actions\":[{\"type\":\"http_request\","
	  "\"config\":{\"url\":\"http://127.0.0.1:9/\",\"headers\":{\"Host\":\"evil\"}}}]}",
	  "VALIDATION_ERROR", "actions[0].config.headers.Host", 400 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"actions\":[{\"type\":\"run_function\","
	  "\"config\":{\"function_id\":\"fn_1\"}}]}", "FUNCTION_NOT_FOUND",
	  "actions[0].config.function_id", 404 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"actions\":[{\"type\":\"run_saved_report\","
	  "\"config\":{\"report_id\":\"rpt_1\"}}]}", "REPORT_NOT_FOUND", "actions[0].config.report_id", 404 },
	{ "{\"name\":\"x\",\"trigger_event\":\"object.created\",\"actions\":[{\"type\":\"publish_event\","
	  "\"config\":{\"event_type\":\"e\",\"secret_sealed\":\"forged\"}}]}", "VALIDATION_ERROR",
	  "actions[0].config.secret_sealed", 400 },
};

START_TEST(automation_bad_input_is_refused_and_nothing_saved)
{
	static struct tenant t;
	static bool made;
	if (!made) {
		tenant_make(&t);
		free(type_make(t.key, "auto_things"));
		made = true;
	}
	http_resp *r = call("POST", t.key, bad_cases[_i].body, "/v1/automations");
	assert_fail_field(r, bad_cases[_i].status, bad_cases[_i].status_code, bad_cases[_i].field);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/automations");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
}
END_TEST

START_TEST(automation_update_checks_like_create)
{
	struct tenant t;
	tenant_make(&t);
	char *id = auto_make(t.key, "{\"name\":\"u\",\"trigger_event\":\"object.updated\","
		"\"actions\":[{\"type\":\"publish_event\",\"config\":{\"event_type\":\"e\"}}]}");
	http_resp *r = call("PATCH", t.key, "{\"actions\":[{\"type\":\"send_email\",\"config\":{}}]}",
			    "/v1/automations/%s", id);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "actions[0].config.to");
	http_free(r);
	r = call("PATCH", t.key, "{\"enabled\":false,\"conditions\":[{\"property\":\"status\","
		 "\"operator\":\"changed_to\",\"value\":\"done\"}]}", "/v1/automations/%s", id);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsFalse(item(resp_data(r), "enabled")));
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(item(resp_data(r), "actions"), 0), "type"), "publish_event");
	http_free(r);
	free(id);
	tenant_drop(&t);
}
END_TEST

Suite *suite_automations(void)
{
	Suite *s = suite_create("automations");
	TCase *tc = tcase_new_slow(s, "automations");
	tcase_add_test(tc, automation_fires_on_create_when_conditions_hold);
	tcase_add_test(tc, automation_loop_is_cut_at_chain_depth_5);
	tcase_add_test(tc, automation_trigger_runs_now_with_the_given_data);
	tcase_add_loop_test(tc, automation_bad_input_is_refused_and_nothing_saved, 0,
			    sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(tc, automation_update_checks_like_create);
	return s;
}
