/*
 * test_workflows.c - approval workflows through the real stack, with end
 * users' tokens: a full two-stage approval (one approver by id, then two
 * of a role), self-approval and strangers refused, an object in review
 * not editable (409 IN_REVIEW), a rejection with its reason in the
 * history, the events of each step and the in-app notice to the next
 * approver; one enabled workflow per type; deleting a workflow with
 * objects in review needs the confirm token; bad stages refused; another
 * tenant sees nothing.
 */
#include "peers.h"

#include <stdlib.h>
#include <string.h>

#define TYPE "wf_invoices"

struct wf_world {
	struct tenant t;
	char *wf;
	char *obj;
	char *alice, *bob, *carol, *dave, *erin;   /* tokens */
	char *alice_id, *bob_id;
};

/* A user of t named name (POST /v1/users) and a token for them with
 * role; *id receives the user's id (malloc'd). */
static char *user_token(const struct tenant *t, const char *name, const char *role, char **id)
{
	char *body = strf("{\"email\":\"%s@example.com\",\"password\":\"correct horse battery\"}",
			  name);
	http_resp *r = call("POST", t->key, body, "/v1/users");
	assert_envelope(r, 201, NULL);
	*id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	free(body);
	return jwt_mint(t->id, *id, role, 3600, NULL);
}

static void world_make(struct wf_world *w)
{
	tenant_make(&w->t);
	free(type_make(w->t.key, TYPE));
	prop_make(w->t.key, TYPE, "{\"name\":\"amount\",\"data_type\":\"number\"}");
	char *ids[5];
	w->alice = user_token(&w->t, "alice", "authenticated", &ids[0]);
	w->bob = user_token(&w->t, "bob", "authenticated", &ids[1]);
	w->carol = user_token(&w->t, "carol", "authenticated", &ids[2]);
	w->dave = user_token(&w->t, "dave", "finance", &ids[3]);
	w->erin = user_token(&w->t, "erin", "finance", &ids[4]);
	w->alice_id = ids[0];
	w->bob_id = ids[1];
	free(ids[2]);
	free(ids[3]);
	free(ids[4]);
	char *body = strf("{\"name\":\"spend\",\"stages\":[{\"name\":\"Manager\",\"user_ids\":"
			  "[\"%s\",\"%s\"]},{\"name\":\"Finance\",\"roles\":[\"finance\"],"
			  "\"min_approvals\":2}]}", w->bob_id, w->alice_id);
	http_resp *r = call("POST", w->t.key, body, "/v1/object-types/" TYPE "/workflows");
	free(body);
	assert_envelope(r, 201, NULL);
	w->wf = strdup(json_str(resp_data(r), "id"));
	const cJSON *first = cJSON_GetArrayItem(item(resp_data(r), "stages"), 0);
	ck_assert_int_eq((int)cJSON_GetNumberValue(item(first, "min_approvals")), 1);
	http_free(r);
	w->obj = obj_make(w->t.key, TYPE, "{\"amount\":120}");
}

static void world_drop(struct wf_world *w)
{
	free(w->wf);
	free(w->obj);
	free(w->alice);
	free(w->bob);
	free(w->carol);
	free(w->dave);
	free(w->erin);
	free(w->alice_id);
	free(w->bob_id);
	tenant_drop(&w->t);
}

/* POST /v1/objects/TYPE/<obj>/<verb> as token with body (NULL: none). */
static http_resp *step(const struct wf_world *w, const char *token, const char *verb,
		       const char *body)
{
	return call("POST", token, body, "/v1/objects/" TYPE "/%s/%s", w->obj, verb);
}

static http_resp *status_of(const struct wf_world *w, const char *token)
{
	http_resp *r = call("GET", token, NULL, "/v1/objects/" TYPE "/%s/workflow-status", w->obj);
	assert_envelope(r, 200, NULL);
	return r;
}

START_TEST(workflow_two_stages_approve_then_reject)
{
	struct wf_world w;
	world_make(&w);
	/* One enabled workflow per type. */
	http_resp *r = call("POST", w.t.key, "{\"name\":\"other\",\"stages\":[{\"name\":\"A\","
			    "\"roles\":[\"x\"]}]}", "/v1/object-types/" TYPE "/workflows");
	assert_fail_field(r, 409, "CONFLICT", "enabled");
	http_free(r);

	r = step(&w, w.alice, "submit-for-review", NULL);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "submitted")));
	ck_assert_pstr_eq(json_str(resp_data(r), "stage"), "Manager");
	http_free(r);
	r = step(&w, w.alice, "submit-for-review", NULL);
	assert_envelope(r, 409, "IN_REVIEW");
	http_free(r);
	/* In review: no edits, by anyone. */
	r = call("PATCH", w.t.key, "{\"properties\":{\"amount\":1}}", "/v1/objects/" TYPE "/%s", w.obj);
	assert_envelope(r, 409, "IN_REVIEW");
	http_free(r);
	/* Not the submitter, not a stranger, not an API key. */
	r = step(&w, w.alice, "approve", "{\"comment\":\"mine\"}");
	assert_envelope(r, 403, "FORBIDDEN");
	ck_assert(strstr(error_message(r), "own submission") != NULL);
	http_free(r);
	r = step(&w, w.carol, "approve", NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = step(&w, w.t.key, "approve", NULL);
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);
	r = step(&w, w.dave, "approve", NULL);   /* Finance, but the stage is Manager */
	assert_envelope(r, 403, "FORBIDDEN");
	http_free(r);

	r = step(&w, w.bob, "approve", "{\"comment\":\"looks right\"}");
	assert_envelope(r, 200, NULL);
	ck_assert_pstr_eq(json_str(resp_data(r), "status"), "in_review");
	ck_assert_pstr_eq(json_str(resp_data(r), "next_stage"), "Finance");
	http_free(r);
	r = step(&w, w.dave, "approve", NULL);
	assert_envelope(r, 200, NULL);
	ck_assert_pstr_eq(json_str(resp_data(r), "status"), "in_review");
	ck_assert_int_eq((int)cJSON_GetNumberValue(item(resp_data(r), "approvals")), 1);
	http_free(r);
	r = step(&w, w.dave, "approve", NULL);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	r = status_of(&w, w.t.key);
	ck_assert_pstr_eq(json_str(resp_data(r), "status"), "in_review");
	ck_assert_pstr_eq(json_str(resp_data(r), "stage"), "Finance");
	ck_assert_int_eq((int)cJSON_GetNumberValue(item(resp_data(r), "approvals")), 1);
	ck_assert_int_eq((int)cJSON_GetNumberValue(item(resp_data(r), "required")), 2);
	http_free(r);
	r = step(&w, w.erin, "approve", NULL);
	assert_envelope(r, 200, NULL);
	ck_assert_pstr_eq(json_str(resp_data(r), "status"), "approved");
	http_free(r);

	r = status_of(&w, w.alice);
	const cJSON *d = resp_data(r);
	ck_assert_pstr_eq(json_str(d, "status"), "approved");
	const cJSON *h = item(d, "history");
	static const char *const want[] = { "submitted", "approved", "stage_advanced", "approved",
					    "approved" };
	ck_assert_int_eq(cJSON_GetArraySize(h), 5);
	for (int i = 0; i < 5; i++)
		ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(h, i), "action"), want[i]);
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(h, 0), "actor"), w.alice_id);
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(h, 1), "actor"), w.bob_id);
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(h, 1), "comment"), "looks right");
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(h, 4), "stage"), "Finance");
	assert_rfc3339(cJSON_GetArrayItem(h, 4), "at");
	http_free(r);
	/* Approved: editable again. */
	r = call("PATCH", w.t.key, "{\"properties\":{\"amount\":130}}", "/v1/objects/" TYPE "/%s", w.obj);
	assert_envelope(r, 200, NULL);
	http_free(r);

	/* A second round, rejected; a reason is required. */
	r = step(&w, w.alice, "submit-for-review", NULL);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = step(&w, w.bob, "reject", "{}");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "reason");
	http_free(r);
	r = step(&w, w.bob, "reject", "{\"reason\":\"Missing receipt\"}");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "rejected")));
	ck_assert_pstr_eq(json_str(resp_data(r), "stage"), "Manager");
	http_free(r);
	r = status_of(&w, w.t.key);
	ck_assert_pstr_eq(json_str(resp_data(r), "status"), "rejected");
	h = item(resp_data(r), "history");
	ck_assert_int_eq(cJSON_GetArraySize(h), 2);
	ck_assert_pstr_eq(json_str(cJSON_GetArrayItem(h, 1), "reason"), "Missing receipt");
	http_free(r);
	r = step(&w, w.bob, "approve", NULL);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);

	/* Each step's event (one approval and the stage it completed share a
	 * transaction, so their order is not asserted). */
	char *events = events_of(w.obj);
	static const struct {
		const char *name;
		int n;
	} counts[] = { { "workflow.submitted", 2 }, { "workflow.approved", 3 },
		       { "workflow.stage_advanced", 1 }, { "workflow.rejected", 1 } };
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		int n = 0;
		for (const char *p = strstr(events, counts[i].name); p; p = strstr(p + 1, counts[i].name))
			n++;
		ck_assert_msg(n == counts[i].n, "%d %s in: %s", n, counts[i].name, events);
	}
	ck_assert_msg(strstr(events, "workflow.submitted workflow.rejected") != NULL, "events: %s", events);
	free(events);
	/* Bob was told in the app; then Finance's turn came (by role: no one
	 * listed by id). */
	r = call("GET", w.bob, NULL, "/v1/auth/notifications");
	assert_envelope(r, 200, NULL);
	ck_assert_msg(strstr(r->body, "Review needed") != NULL, "%s", r->body);
	http_free(r);
	world_drop(&w);
}
END_TEST

START_TEST(workflow_delete_with_objects_in_review_needs_confirmation)
{
	struct wf_world w;
	world_make(&w);
	http_resp *r = step(&w, w.alice, "submit-for-review", NULL);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", w.t.key, NULL, "/v1/object-types/" TYPE "/workflows/%s", w.wf);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	cJSON *body = cJSON_Parse(r->body);
	const char *token = json_str(item(body, "error"), "confirm_token");
	ck_assert_ptr_nonnull(token);
	char *tok = strdup(token);
	cJSON_Delete(body);
	http_free(r);
	r = call("DELETE", w.t.key, NULL, "/v1/object-types/" TYPE "/workflows/%s?force=true&confirm_token=%s",
		 w.wf, tok);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = status_of(&w, w.t.key);
	ck_assert_pstr_eq(json_str(resp_data(r), "status"), "cancelled");
	http_free(r);
	r = call("PATCH", w.t.key, "{\"properties\":{\"amount\":1}}", "/v1/objects/" TYPE "/%s", w.obj);
	assert_envelope(r, 200, NULL);
	http_free(r);
	/* No workflow now: nothing to submit to. */
	r = step(&w, w.alice, "submit-for-review", NULL);
	assert_envelope(r, 409, "CONFLICT");
	http_free(r);
	free(tok);
	world_drop(&w);
}
END_TEST

START_TEST(workflow_other_tenant_and_bad_stages)
{
	struct wf_world w;
	world_make(&w);
	struct tenant other;
	tenant_make(&other);
	free(type_make(other.key, TYPE));
	http_resp *r = call("GET", other.key, NULL, "/v1/objects/" TYPE "/%s/workflow-status", w.obj);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("PATCH", other.key, "{\"enabled\":false}", "/v1/object-types/" TYPE "/workflows/%s", w.wf);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", other.key, NULL, "/v1/object-types/" TYPE "/workflows");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	static const struct {
		const char *body, *field;
	} bad[] = {
		{ "{\"name\":\"x\",\"stages\":[]}", "stages" },
		{ "{\"name\":\"x\",\"stages\":[{\"name\":\"A\"}]}", "stages[0].roles" },
		{ "{\"name\":\"x\",\"stages\":[{\"roles\":[\"a\"]}]}", "stages[0].name" },
		{ "{\"name\":\"x\",\"stages\":[{\"name\":\"A\",\"roles\":[\"a\"],\"min_approvals\":0}]}",
		  "stages[0].min_approvals" },
		{ "{\"name\":\"x\",\"stages\":[{\"name\":\"A\",\"user_ids\":[3]}]}", "stages[0].user_ids" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("POST", other.key, bad[i].body, "/v1/object-types/" TYPE "/workflows");
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	r = call("GET", other.key, NULL, "/v1/object-types/" TYPE "/workflows");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 0);
	http_free(r);
	/* Disabling the one workflow lets another be enabled. */
	r = call("PATCH", w.t.key, "{\"enabled\":false}", "/v1/object-types/" TYPE "/workflows/%s", w.wf);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", w.t.key, "{\"name\":\"next\",\"stages\":[{\"name\":\"A\",\"roles\":[\"x\"]}]}",
		 "/v1/object-types/" TYPE "/workflows");
	assert_envelope(r, 201, NULL);
	http_free(r);
	tenant_drop(&other);
	world_drop(&w);
}
END_TEST

Suite *suite_workflows(void)
{
	Suite *s = suite_create("workflows");
	TCase *tc = tcase_new_slow(s, "workflows");
	tcase_add_test(tc, workflow_two_stages_approve_then_reject);
	tcase_add_test(tc, workflow_delete_with_objects_in_review_needs_confirmation);
	tcase_add_test(tc, workflow_other_tenant_and_bad_stages);
	return s;
}
