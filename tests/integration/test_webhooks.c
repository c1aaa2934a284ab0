/*
 * test_webhooks.c - events and webhooks through the real stack: the
 * outbox fan-out in the jobs runner, signed deliveries to a real HTTP
 * receiver on loopback (webhook_receiver.py, which checks the Standard
 * Webhooks signatures itself with Python's hmac), retries, the DLQ, 410,
 * replay, secret rotation, test sends, custom events, tenant isolation,
 * bad input, and the runner killed with SIGKILL in the middle of a
 * delivery.  The stack runs with webhook_max_attempts and
 * webhook_retry_base_ms set low (tools/stack), so retries take a second.
 */
#include "peers.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* --- API helpers -------------------------------------------------------------- */

/* GET /v1/webhooks, the one with id (a copy; NULL if absent). */
static cJSON *hook_get(const char *key, const char *id)
{
	http_resp *r = call("GET", key, NULL, "/v1/webhooks");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsArray(resp_data(r)));
	const cJSON *w = find_by(resp_data(r), "id", id);
	cJSON *copy = w ? cJSON_Duplicate(w, true) : NULL;
	http_free(r);
	return copy;
}

/* GET /v1/webhook-deliveries?webhook_id=id (the response; caller frees). */
static http_resp *deliveries_of(const char *key, const char *id)
{
	http_resp *r = call("GET", key, NULL, "/v1/webhook-deliveries?webhook_id=%s&limit=100", id);
	assert_envelope(r, 200, NULL);
	return r;
}

/* Waits until the webhook has n recorded deliveries. */
static http_resp *deliveries_wait(const char *key, const char *id, int n)
{
	double deadline = now_s() + 30;
	for (;;) {
		http_resp *r = deliveries_of(key, id);
		if (cJSON_GetArraySize(item(resp_data(r), "deliveries")) >= n)
			return r;
		ck_assert_msg(now_s() < deadline, "webhook %s: fewer than %d deliveries: %s", id, n,
			      r->body);
		http_free(r);
		sleep_ms(100);
	}
}

/* The number of webhook.deliver jobs ever made for webhook id. */
static int jobs_for(const char *id)
{
	char *q = strf("SELECT COUNT(*) FROM jobs WHERE kind = 'webhook.deliver' AND "
		       "JSON_VALUE(payload, '$.webhook_id') = '%s'", id);
	char *n = control_sql(q);
	int c = atoi(n);
	free(q);
	free(n);
	return c;
}

/* --- delivery ----------------------------------------------------------------- */

START_TEST(object_created_is_delivered_with_a_valid_signature)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "a"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	box_setup(&rv, "a", secret, NULL);

	/* The secret is shown once: the list never has it, the DB holds it sealed. */
	cJSON *w = hook_get(t.key, wid);
	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_null(item(w, "secret"));
	assert_json_eq(w, "events", "[\"object.created\"]");
	cJSON_Delete(w);

	char *type = type_make(t.key, "leads");
	char *obj = obj_make(t.key, "leads", "{}");
	cJSON *got = recv_wait(&rv, "a", 1, 20);
	const cJSON *d = received(got, 0);
	ck_assert_msg(verified_with(d, secret), "signature did not verify: %s",
		      cJSON_PrintUnformatted(d));
	ck_assert(cJSON_IsTrue(item(d, "timestamp_ok")));
	const cJSON *body = item(d, "body");
	ck_assert_str_eq(json_str(body, "type"), "object.created");
	ck_assert_str_eq(json_str(body, "tenant_id"), t.id);
	ck_assert_str_eq(json_str(body, "resource_id"), obj);
	ck_assert_str_eq(json_str(item(body, "data"), "object_id"), obj);
	ck_assert_str_eq(json_str(item(body, "data"), "object_type_id"), type);
	ck_assert_str_eq(hdr(d, "webhook-id"), json_str(body, "id"));
	ck_assert_str_eq(hdr(d, "content-type"), "application/json");
	assert_rfc3339(body, "timestamp");

	/* The attempt is in the delivery log. */
	http_resp *r = deliveries_wait(t.key, wid, 1);
	const cJSON *dl = cJSON_GetArrayItem(item(resp_data(r), "deliveries"), 0);
	ck_assert_str_eq(json_str(dl, "status"), "succeeded");
	ck_assert_str_eq(json_str(dl, "event_type"), "object.created");
	ck_assert_str_eq(json_str(dl, "event_id"), json_str(body, "id"));
	ck_assert_str_eq(json_str(dl, "trigger"), "event");
	assert_json_eq(dl, "status_code", "200");
	assert_json_eq(dl, "attempt", "1");
	ck_assert(cJSON_IsNumber(item(dl, "duration_ms")));
	ck_assert_msg(strstr(json_str(dl, "response_excerpt"), "received"), "excerpt %s",
		      json_str(dl, "response_excerpt"));
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 1);
	http_free(r);

	/* Not subscribed: an update reaches nobody. */
	r = call("PATCH", t.key, "{\"properties\":{}}", "/v1/objects/leads/%s", obj);
	ck_assert_int_lt(r->status, 300);
	http_free(r);
	outbox_drained(t.id);
	ck_assert_int_eq(jobs_for(wid), 1);
	cJSON_Delete(got);
	free(type);
	free(obj);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

START_TEST(secret_is_stored_sealed)
{
	struct receiver rv = { 0, 9 };
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "x"), *secret;
	char *wid = hook_make(t.key, url, "[\"*\"]", NULL, &secret);
	char *q = strf("SELECT db_name FROM tenants WHERE id = '%s'", t.id);
	char *db = control_sql(q);
	free(q);
	q = strf("SELECT secret_enc FROM %s._webhooks WHERE id = '%s'", db, wid);
	char *sealed = control_sql(q);
	ck_assert_msg(*sealed && !strstr(sealed, secret + 6), "secret stored in clear: %s", sealed);
	free(q);
	free(sealed);
	free(db);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
}
END_TEST

START_TEST(failed_delivery_is_retried_until_the_receiver_accepts)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "r"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	box_setup(&rv, "r", secret, "[500, 200]");
	free(type_make(t.key, "deals"));
	free(obj_make(t.key, "deals", "{}"));
	cJSON *got = recv_wait(&rv, "r", 2, 30);
	ck_assert_str_eq(hdr(received(got, 0), "webhook-id"), hdr(received(got, 1), "webhook-id"));
	ck_assert(verified_with(received(got, 1), secret));

	http_resp *r = deliveries_wait(t.key, wid, 2);
	const cJSON *list = item(resp_data(r), "deliveries");
	/* Newest first. */
	const cJSON *second = cJSON_GetArrayItem(list, 0), *first = cJSON_GetArrayItem(list, 1);
	ck_assert_str_eq(json_str(first, "status"), "failed");
	assert_json_eq(first, "status_code", "500");
	assert_json_eq(first, "attempt", "1");
	ck_assert_msg(strstr(json_str(first, "error"), "500"), "error %s", json_str(first, "error"));
	ck_assert_str_eq(json_str(second, "status"), "succeeded");
	assert_json_eq(second, "attempt", "2");
	http_free(r);
	/* The success ended the run of failures. */
	cJSON *w = hook_get(t.key, wid);
	ck_assert_msg(cJSON_IsNull(item(w, "failing_since")), "failing_since %s",
		      cJSON_PrintUnformatted(item(w, "failing_since")));
	ck_assert_str_eq(json_str(w, "status"), "active");
	cJSON_Delete(w);

	/* Filters: by status. */
	r = call("GET", t.key, NULL, "/v1/webhook-deliveries?webhook_id=%s&status=failed", wid);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 1);
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/webhook-deliveries?status=bogus");
	assert_fail_field(r, 400, "VALIDATION_ERROR", "status");
	http_free(r);
	cJSON_Delete(got);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

START_TEST(exhausted_delivery_goes_to_the_dlq_and_can_be_retried_from_there)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *max = conf_value("webhook_max_attempts");
	int attempts = max ? atoi(max) : 7;
	free(max);
	ck_assert_msg(attempts <= 5, "the test stack should set webhook_max_attempts low");
	char *url = hook_url(&rv, "d"), *secret;
	char *wid = hook_make(t.key, url, "[\"custom.*\"]", NULL, &secret);
	box_setup(&rv, "d", secret, "[503]");
	http_resp *r = call("POST", t.key, "{\"event_type\":\"order_paid\",\"data\":{\"n\":1}}", "/v1/events");
	assert_envelope(r, 200, NULL);
	http_free(r);

	/* Every attempt fails; after the last one the job is in the DLQ. */
	const cJSON *msg = NULL;
	double deadline = now_s() + 40;
	for (;;) {
		r = call("GET", t.key, NULL, "/v1/dlq");
		assert_envelope(r, 200, NULL);
		msg = cJSON_GetArrayItem(item(resp_data(r), "messages"), 0);
		if (msg)
			break;
		ck_assert_msg(now_s() < deadline, "nothing reached the DLQ: %s", r->body);
		http_free(r);
		sleep_ms(200);
	}
	ck_assert_str_eq(json_str(msg, "kind"), "webhook.deliver");
	ck_assert_str_eq(json_str(item(msg, "payload"), "webhook_id"), wid);
	ck_assert_int_eq(item(msg, "attempts")->valueint, attempts);
	ck_assert_msg(strstr(json_str(msg, "last_error"), "503"), "last_error %s",
		      json_str(msg, "last_error"));
	char *dlq = strdup(json_str(msg, "id"));
	http_free(r);
	ck_assert_int_eq(recv_count(&rv, "d"), attempts);
	r = deliveries_of(t.key, wid);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, attempts);
	http_free(r);

	/* Back from the DLQ once the receiver is healthy again, with a
	 * webhook's budget of attempts (webhook_max_attempts), not a job's. */
	box_setup(&rv, "d", secret, "[200]");
	r = call("POST", t.key, NULL, "/v1/dlq/%s/retry", dlq);
	assert_envelope(r, 200, NULL);
	char *q = strf("SELECT max_attempts FROM jobs WHERE id = '%s'", json_str(resp_data(r), "job_id"));
	char *budget = control_sql(q);
	ck_assert_int_eq(atoi(budget), attempts);
	free(budget);
	free(q);
	http_free(r);
	cJSON *got = recv_wait(&rv, "d", attempts + 1, 20);
	const cJSON *last = received(got, attempts);
	ck_assert_str_eq(json_str(item(last, "body"), "type"), "custom.order_paid");
	ck_assert(verified_with(last, secret));
	cJSON_Delete(got);
	free(dlq);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

START_TEST(receiver_answering_410_disables_the_webhook)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "g"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	box_setup(&rv, "g", secret, "[410]");
	free(type_make(t.key, "gone"));
	free(obj_make(t.key, "gone", "{}"));
	recv_wait(&rv, "g", 1, 20);
	cJSON *w = NULL;
	double deadline = now_s() + 20;
	for (;;) {
		w = hook_get(t.key, wid);
		if (!strcmp(json_str(w, "status"), "disabled"))
			break;
		ck_assert_msg(now_s() < deadline, "webhook not disabled");
		cJSON_Delete(w);
		sleep_ms(100);
	}
	ck_assert_msg(strstr(json_str(w, "disabled_reason"), "410"), "reason %s",
		      json_str(w, "disabled_reason"));
	cJSON_Delete(w);
	http_resp *r = deliveries_wait(t.key, wid, 1);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 1);
	http_free(r);

	/* Disabled: the next event makes no delivery at all. */
	free(obj_make(t.key, "gone", "{}"));
	outbox_drained(t.id);
	ck_assert_int_eq(jobs_for(wid), 1);
	ck_assert_int_eq(recv_count(&rv, "g"), 1);

	/* Re-activated, it is used again. */
	r = call("PATCH", t.key, "{\"status\":\"active\"}", "/v1/webhooks/%s", wid);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "active");
	ck_assert(cJSON_IsNull(item(resp_data(r), "disabled_reason")));
	http_free(r);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

START_TEST(replay_sends_a_stored_event_again_or_a_given_payload)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "p"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	box_setup(&rv, "p", secret, NULL);
	free(type_make(t.key, "tickets"));
	char *obj = obj_make(t.key, "tickets", "{}");
	cJSON *got = recv_wait(&rv, "p", 1, 20);
	char *evt = strdup(hdr(received(got, 0), "webhook-id"));
	cJSON_Delete(got);

	char *body = strf("{\"event\":\"%s\"}", evt);
	http_resp *r = call("POST", t.key, body, "/v1/webhooks/%s/replay", wid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "status_code", "200");
	ck_assert(cJSON_IsTrue(item(resp_data(r), "success")));
	http_free(r);
	free(body);
	got = recv_wait(&rv, "p", 2, 10);
	const cJSON *again = received(got, 1);
	ck_assert_str_eq(hdr(again, "webhook-id"), evt);
	ck_assert_str_eq(json_str(item(item(again, "body"), "data"), "object_id"), obj);
	ck_assert(verified_with(again, secret));
	cJSON_Delete(got);

	/* A type and a payload: a new event with that data. */
	r = call("POST", t.key, "{\"event\":\"object.updated\",\"payload\":{\"x\":1}}",
		 "/v1/webhooks/%s/replay", wid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "status_code", "200");
	http_free(r);
	got = recv_wait(&rv, "p", 3, 10);
	const cJSON *made = received(got, 2);
	ck_assert_str_eq(json_str(item(made, "body"), "type"), "object.updated");
	assert_json_eq(item(made, "body"), "data", "{\"x\":1}");
	ck_assert_str_ne(hdr(made, "webhook-id"), evt);
	cJSON_Delete(got);

	r = call("POST", t.key, "{\"event\":\"evt_01ARZ3NDEKTSV4RRFFQ69G5FAV\"}", "/v1/webhooks/%s/replay", wid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("POST", t.key, "{\"event\":\"object.exploded\"}", "/v1/webhooks/%s/replay", wid);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "event");
	http_free(r);
	r = call("POST", t.key, "{}", "/v1/webhooks/%s/replay", wid);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "event");
	http_free(r);

	/* Replays are logged too (the event's own delivery is recorded once its
	 * answer is in, which may come after the replays). */
	r = deliveries_wait(t.key, wid, 3);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 3);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(resp_data(r), "deliveries"), 0), "trigger"),
			 "replay");
	http_free(r);
	free(evt);
	free(obj);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

START_TEST(rotated_secret_signs_with_both_secrets_for_a_day)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "s"), *old;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &old);
	http_resp *r = call("POST", t.key, NULL, "/v1/webhooks/%s/rotate-secret", wid);
	assert_envelope(r, 200, NULL);
	const char *s = json_str(resp_data(r), "secret");
	ck_assert_msg(s && !strncmp(s, "whsec_", 6), "secret %s", s);
	ck_assert_str_ne(s, old);
	char *fresh = strdup(s);
	assert_rfc3339(resp_data(r), "previous_secret_expires_at");
	http_free(r);
	char *q = strf("SELECT db_name FROM tenants WHERE id = '%s'", t.id);
	char *db = control_sql(q);
	free(q);
	q = strf("SELECT TIMESTAMPDIFF(MINUTE, UTC_TIMESTAMP(), old_secret_expires_at) FROM %s._webhooks "
		 "WHERE id = '%s'", db, wid);
	char *mins = control_sql(q);
	ck_assert_msg(atoi(mins) >= 23 * 60 && atoi(mins) <= 24 * 60, "old secret valid %s minutes", mins);
	free(mins);
	free(q);
	free(db);

	char *plan = strf("{\"secrets\":[\"%s\",\"%s\"]}", old, fresh);
	recv_plan(&rv, "s", plan);
	free(plan);
	free(type_make(t.key, "notes"));
	free(obj_make(t.key, "notes", "{}"));
	cJSON *got = recv_wait(&rv, "s", 1, 20);
	const cJSON *d = received(got, 0);
	ck_assert_msg(verified_with(d, fresh) && verified_with(d, old), "both should verify: %s",
		      cJSON_PrintUnformatted(d));
	ck_assert_msg(strchr(hdr(d, "webhook-signature"), ' '), "two signatures expected: %s",
		      hdr(d, "webhook-signature"));
	cJSON_Delete(got);

	/* Once the old secret has expired only the new one signs. */
	db = control_sql(q = strf("SELECT db_name FROM tenants WHERE id = '%s'", t.id));
	free(q);
	free(control_sql(q = strf("UPDATE %s._webhooks SET old_secret_expires_at = UTC_TIMESTAMP() - "
				  "INTERVAL 1 SECOND WHERE id = '%s'", db, wid)));
	free(q);
	free(db);
	r = call("POST", t.key, NULL, "/v1/webhooks/%s/test", wid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	got = recv_wait(&rv, "s", 2, 10);
	d = received(got, 1);
	ck_assert(verified_with(d, fresh));
	ck_assert(!verified_with(d, old));
	ck_assert_ptr_null(strchr(hdr(d, "webhook-signature"), ' '));
	cJSON_Delete(got);

	r = call("POST", t.key, NULL, "/v1/webhooks/wh_01ARZ3NDEKTSV4RRFFQ69G5FAV/rotate-secret");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(fresh);
	free(old);
	free(url);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

START_TEST(test_endpoint_reports_the_receivers_status_code)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "t"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.deleted\"]", "\"status\":\"paused\"", &secret);
	box_setup(&rv, "t", secret, "[503, 204]");
	http_resp *r = call("POST", t.key, NULL, "/v1/webhooks/%s/test", wid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "status_code", "503");
	ck_assert(cJSON_IsFalse(item(resp_data(r), "success")));
	ck_assert_msg(strstr(json_str(resp_data(r), "error"), "503"), "%s", r->body);
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/webhooks/%s/test", wid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "status_code", "204");
	ck_assert(cJSON_IsTrue(item(resp_data(r), "success")));
	http_free(r);
	cJSON *got = recv_wait(&rv, "t", 2, 5);
	ck_assert_str_eq(json_str(item(received(got, 1), "body"), "type"), "webhook.test");
	ck_assert(verified_with(received(got, 1), secret));
	cJSON_Delete(got);

	/* Nobody listening: status_code 0 and the reason. */
	r = call("PATCH", t.key, "{\"url\":\"http://127.0.0.1:9/nothing\"}", "/v1/webhooks/%s", wid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/webhooks/%s/test", wid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "status_code", "0");
	ck_assert(cJSON_IsString(item(resp_data(r), "error")));
	http_free(r);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

START_TEST(delivery_can_be_retried_by_hand)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "h"), *secret;
	char *wid = hook_make(t.key, url, "[\"*\"]", NULL, &secret);
	box_setup(&rv, "h", secret, NULL);
	http_resp *r = call("POST", t.key, "{\"event_type\":\"signup\"}", "/v1/events");
	assert_envelope(r, 200, NULL);
	http_free(r);
	cJSON *got = recv_wait(&rv, "h", 1, 20);
	cJSON_Delete(got);
	r = deliveries_wait(t.key, wid, 1);
	char *did = strdup(json_str(cJSON_GetArrayItem(item(resp_data(r), "deliveries"), 0), "id"));
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/webhook-deliveries/%s/retry", did);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "retried")));
	http_free(r);
	got = recv_wait(&rv, "h", 2, 20);
	ck_assert_str_eq(hdr(received(got, 0), "webhook-id"), hdr(received(got, 1), "webhook-id"));
	cJSON_Delete(got);
	r = deliveries_wait(t.key, wid, 2);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(resp_data(r), "deliveries"), 0), "trigger"), "retry");
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/webhook-deliveries/whd_01ARZ3NDEKTSV4RRFFQ69G5FAV/retry");
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	free(did);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

/* --- custom events and filters ----------------------------------------------- */

START_TEST(custom_events_are_stored_listed_and_delivered_to_subscribers)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	http_resp *r = call("GET", t.key, NULL, "/events/types");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsArray(resp_data(r)));
	bool created = false, star = false;
	const cJSON *e;
	cJSON_ArrayForEach(e, resp_data(r)) {
		created = created || !strcmp(e->valuestring, "object.created");
		star = star || !strcmp(e->valuestring, "custom.*");
	}
	ck_assert(created && star);
	http_free(r);

	char *u1 = hook_url(&rv, "exact"), *u2 = hook_url(&rv, "all"), *u3 = hook_url(&rv, "objects");
	char *s1, *s2, *s3;
	char *w1 = hook_make(t.key, u1, "[\"custom.signup\"]", NULL, &s1);
	char *w2 = hook_make(t.key, u2, "[\"custom.*\"]", NULL, &s2);
	char *w3 = hook_make(t.key, u3, "[\"object.created\"]", NULL, &s3);
	box_setup(&rv, "exact", s1, NULL);
	box_setup(&rv, "all", s2, NULL);
	box_setup(&rv, "objects", s3, NULL);
	r = call("POST", t.key, "{\"event_type\":\"signup\",\"data\":{\"plan\":\"pro\",\"n\":9007199254740991}}",
		 "/v1/events");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "tracked")));
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	r = call("POST", t.key, "{\"event_type\":\"page.viewed\"}", "/v1/events");
	assert_envelope(r, 200, NULL);
	http_free(r);

	cJSON *got = recv_wait(&rv, "exact", 1, 20);
	const cJSON *b = item(received(got, 0), "body");
	cJSON *b0 = cJSON_Duplicate(b, true);
	ck_assert_str_eq(json_str(b, "type"), "custom.signup");
	ck_assert_str_eq(json_str(b, "resource_id"), id);
	assert_json_eq(b, "data", "{\"plan\":\"pro\",\"n\":9007199254740991}");
	cJSON_Delete(got);
	cJSON_Delete(recv_wait(&rv, "all", 2, 20));
	outbox_drained(t.id);
	ck_assert_int_eq(jobs_for(w1), 1);
	ck_assert_int_eq(jobs_for(w3), 0);

	r = call("GET", t.key, NULL, "/v1/events/list");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 2);
	const cJSON *first = cJSON_GetArrayItem(item(resp_data(r), "events"), 0);
	ck_assert_str_eq(json_str(first, "type"), "custom.page.viewed");
	ck_assert_str_eq(json_str(first, "actor_type"), "api_key");
	http_free(r);
	r = call("GET", t.key, NULL, "/v1/events/list?event_type=signup&limit=5");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 1);
	const cJSON *ev = cJSON_GetArrayItem(item(resp_data(r), "events"), 0);
	ck_assert_str_eq(json_str(ev, "resource_id"), id);
	ck_assert_str_eq(json_str(ev, "id"), json_str(b0, "id")); /* the webhook-id */
	assert_json_eq(ev, "data", "{\"plan\":\"pro\",\"n\":9007199254740991}");
	assert_rfc3339(ev, "created_at");
	http_free(r);
	cJSON_Delete(b0);
	free(id);
	free(u1); free(u2); free(u3);
	free(s1); free(s2); free(s3);
	free(w1); free(w2); free(w3);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

START_TEST(object_types_filter_limits_object_events)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *ta = type_make(t.key, "alpha");
	free(type_make(t.key, "beta"));
	char *url = hook_url(&rv, "f"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", "\"object_types\":[\"alpha\"]", &secret);
	cJSON *w = hook_get(t.key, wid);
	char *want = strf("[\"%s\"]", ta);
	assert_json_eq(w, "object_types", want);
	free(want);
	cJSON_Delete(w);
	box_setup(&rv, "f", secret, NULL);
	free(obj_make(t.key, "beta", "{}"));
	char *oa = obj_make(t.key, "alpha", "{}");
	cJSON *got = recv_wait(&rv, "f", 1, 20);
	outbox_drained(t.id);
	ck_assert_int_eq(jobs_for(wid), 1);
	ck_assert_str_eq(json_str(item(received(got, 0), "body"), "resource_id"), oa);
	cJSON_Delete(got);
	free(oa);
	free(ta);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

/* --- isolation, bad input, delete ---------------------------------------------- */

START_TEST(tenants_never_see_each_others_webhooks_or_events)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	char *ua = hook_url(&rv, "ta"), *ub = hook_url(&rv, "tb"), *sa, *sb;
	char *wa = hook_make(a.key, ua, "[\"object.created\"]", NULL, &sa);
	char *wb = hook_make(b.key, ub, "[\"*\"]", NULL, &sb);
	box_setup(&rv, "ta", sa, NULL);
	box_setup(&rv, "tb", sb, NULL);
	free(type_make(a.key, "things"));
	free(obj_make(a.key, "things", "{}"));
	cJSON_Delete(recv_wait(&rv, "ta", 1, 20));
	outbox_drained(a.id);
	ck_assert_int_eq(jobs_for(wb), 0);
	ck_assert_int_eq(recv_count(&rv, "tb"), 0);

	/* B's webhook does not exist for A. */
	const char *paths[][2] = {
		{ "PATCH", "/v1/webhooks/%s" }, { "DELETE", "/v1/webhooks/%s" },
		{ "POST", "/v1/webhooks/%s/test" }, { "POST", "/v1/webhooks/%s/rotate-secret" },
		{ "POST", "/v1/webhooks/%s/replay" },
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *body = !strcmp(paths[i][0], "PATCH") ? "{\"status\":\"paused\"}"
				 : strstr(paths[i][1], "replay") ? "{\"event\":\"object.created\"}" : NULL;
		http_resp *r = call(paths[i][0], a.key, body, paths[i][1], wb);
		assert_envelope(r, 404, "NOT_FOUND");
		http_free(r);
	}
	http_resp *r = call("GET", a.key, NULL, "/v1/webhooks");
	ck_assert_ptr_null(find_by(resp_data(r), "id", wb));
	http_free(r);
	/* B's deliveries are B's alone. */
	r = call("POST", b.key, NULL, "/v1/webhooks/%s/test", wb);
	assert_envelope(r, 200, NULL);
	char *did = strdup(json_str(resp_data(r), "delivery_id"));
	http_free(r);
	r = call("GET", a.key, NULL, "/v1/webhook-deliveries?webhook_id=%s", wb);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 0);
	http_free(r);
	r = call("POST", a.key, NULL, "/v1/webhook-deliveries/%s/retry", did);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	r = call("GET", a.key, NULL, "/v1/events/list");
	http_resp *rb = call("POST", b.key, "{\"event_type\":\"b_only\"}", "/v1/events");
	assert_envelope(rb, 200, NULL);
	http_free(rb);
	http_free(r);
	r = call("GET", a.key, NULL, "/v1/events/list?event_type=b_only");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 0);
	http_free(r);
	/* A's key cannot reach webhooks without the * scope. */
	char *reader = key_new(a.key, "{\"label\":\"r\",\"scopes\":[\"read\"]}", NULL);
	r = call("GET", reader, NULL, "/v1/webhooks");
	assert_envelope(r, 403, "INSUFFICIENT_SCOPE");
	http_free(r);
	free(reader);
	free(did);
	free(ua); free(ub); free(sa); free(sb); free(wa); free(wb);
	tenant_drop(&a);
	tenant_drop(&b);
	recv_stop(&rv);
}
END_TEST

static int hooks_count(const char *key)
{
	http_resp *r = call("GET", key, NULL, "/v1/webhooks");
	assert_envelope(r, 200, NULL);
	int n = cJSON_GetArraySize(resp_data(r));
	http_free(r);
	return n;
}

START_TEST(bad_webhooks_and_events_are_refused_and_store_nothing)
{
	struct tenant t;
	tenant_make(&t);
	static const struct {
		const char *body, *field;
	} bad[] = {
		{ "{\"url\":\"ftp://example.com/x\",\"events\":[\"object.created\"]}", "url" },
		{ "{\"url\":\"not a url\",\"events\":[\"object.created\"]}", "url" },
		{ "{\"url\":\"https://user:pw@example.com/\",\"events\":[\"object.created\"]}", "url" },
		{ "{\"url\":\"/relative\",\"events\":[\"object.created\"]}", "url" },
		{ "{\"events\":[\"object.created\"]}", "url" },
		{ "{\"url\":\"https://example.com/h\",\"events\":[\"object.exploded\"]}", "events" },
		{ "{\"url\":\"https://example.com/h\",\"events\":[]}", "events" },
		{ "{\"url\":\"https://example.com/h\",\"events\":[\"custom.bad name\"]}", "events" },
		{ "{\"url\":\"https://example.com/h\"}", "events" },
		{ "{\"url\":\"https://example.com/h\",\"events\":[\"*\"],\"status\":\"on\"}", "status" },
		{ "{\"url\":\"https://example.com/h\",\"events\":[\"*\"],\"object_types\":[\"nope\"]}", "object_types" },
		{ "{\"url\":\"https://example.com/h\",\"events\":[\"*\"],\"colour\":\"red\"}", "colour" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_resp *r = call("POST", t.key, bad[i].body, "/v1/webhooks");
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	ck_assert_int_eq(hooks_count(t.key), 0);

	char *wid = hook_make(t.key, "https://example.com/h", "[\"object.created\"]", NULL, NULL);
	http_resp *r = call("PATCH", t.key, "{\"url\":\"gopher://x\"}", "/v1/webhooks/%s", wid);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "url");
	http_free(r);
	r = call("PATCH", t.key, "{\"events\":[\"nope\"]}", "/v1/webhooks/%s", wid);
	assert_fail_field(r, 400, "VALIDATION_ERROR", "events");
	http_free(r);
	cJSON *w = hook_get(t.key, wid);
	ck_assert_str_eq(json_str(w, "url"), "https://example.com/h");
	cJSON_Delete(w);

	/* Custom events. */
	const char *bad_events[][2] = {
		{ "{\"event_type\":\"9lives\"}", "event_type" },
		{ "{\"event_type\":\"has space\"}", "event_type" },
		{ "{\"event_type\":\"\"}", "event_type" },
		{ "{\"data\":{}}", "event_type" },
		{ "{\"event_type\":\"ok\",\"data\":[1]}", "data" },
	};
	for (size_t i = 0; i < sizeof(bad_events) / sizeof(bad_events[0]); i++) {
		r = call("POST", t.key, bad_events[i][0], "/v1/events");
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad_events[i][1]);
		http_free(r);
	}
	size_t big = 70000;
	char *blob = malloc(big + 1);
	memset(blob, 'x', big);
	blob[big] = '\0';
	char *body = strf("{\"event_type\":\"big\",\"data\":{\"blob\":\"%s\"}}", blob);
	r = call("POST", t.key, body, "/v1/events");
	assert_fail_field(r, 413, "PAYLOAD_TOO_LARGE", "data");
	http_free(r);
	free(body);
	free(blob);
	r = call("GET", t.key, NULL, "/v1/events/list");
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 0);
	http_free(r);
	ck_assert_int_eq(outbox_count(t.id), 0);
	free(wid);
	tenant_drop(&t);
}
END_TEST

START_TEST(deleting_a_webhook_with_deliveries_needs_confirmation)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "del"), *secret;
	char *wid = hook_make(t.key, url, "[\"*\"]", NULL, &secret);
	char *empty = hook_make(t.key, url, "[\"*\"]", "\"status\":\"paused\"", NULL);
	box_setup(&rv, "del", secret, NULL);
	http_resp *r = call("POST", t.key, NULL, "/v1/webhooks/%s/test", wid);
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/webhooks/%s", wid);
	assert_envelope(r, 409, "DEPENDENCY_EXISTS");
	const cJSON *err = item(r->json, "error");
	const char *token = json_str(err, "confirm_token");
	ck_assert_ptr_nonnull(token);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(err, "dependencies"), 0), "type"),
			 "webhook_deliveries");
	char *tok = strdup(token);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/webhooks/%s?force=true&confirm_token=%s", wid, tok);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "deleted")));
	http_free(r);
	r = deliveries_of(t.key, wid);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 0);
	http_free(r);
	r = call("DELETE", t.key, NULL, "/v1/webhooks/%s", empty);
	assert_envelope(r, 200, NULL);
	http_free(r);
	ck_assert_int_eq(hooks_count(t.key), 0);
	r = call("DELETE", t.key, NULL, "/v1/webhooks/%s", wid);
	assert_envelope(r, 404, "NOT_FOUND");
	http_free(r);
	/* Audited. */
	struct audit_page p;
	audit_get(&p, t.key, "?resource_type=webhook");
	ck_assert_ptr_nonnull(audit_find(p.logs, "webhook.deleted", wid));
	ck_assert_ptr_nonnull(audit_find(p.logs, "webhook.created", wid));
	http_free(p.r);
	free(tok);
	free(empty);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

/* --- slow and dead receivers ------------------------------------------------ */

#define SLOW_EVENTS 200

/* A tenant's receiver that takes 5 s per delivery (SLOW_EVENTS of them)
 * and another that refuses connections hold up neither another tenant's
 * webhook nor its realtime events; the slow one never has more than the
 * per-endpoint cap (4) of requests at once. */
START_TEST(slow_receivers_hold_up_neither_other_tenants_nor_realtime)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	char *slow_url = hook_url(&rv, "slow"), *slow_secret, *dead_secret, *fast_secret;
	char *slow = hook_make(a.key, slow_url, "[\"object.created\"]", NULL, &slow_secret);
	char *dead = hook_make(a.key, "http://127.0.0.1:1/hook/dead", "[\"object.created\"]", NULL,
			       &dead_secret);
	char *plan = strf("{\"secrets\":[\"%s\"],\"statuses\":[200],\"slow_ms\":5000}", slow_secret);
	recv_plan(&rv, "slow", plan);
	free(plan);
	free(type_make(a.key, "bulk"));
	for (int i = 0; i < SLOW_EVENTS; i++)
		free(obj_make(a.key, "bulk", "{}"));
	/* The slow endpoint's requests are hanging now. */
	cJSON_Delete(recv_wait(&rv, "slow", 4, 30));

	char *fast_url = hook_url(&rv, "fast");
	char *fast = hook_make(b.key, fast_url, "[\"object.created\"]", NULL, &fast_secret);
	box_setup(&rv, "fast", fast_secret, NULL);
	free(type_make(b.key, "live"));
	char *q = strf("/v1/realtime?token=%s&tenant_id=%s&channels=objects:live", b.key, b.id);
	FILE *f = client_start("ws", q, 1, 10, NULL);
	client_expect(f, "OPEN");
	double t0 = now_s();
	char *obj = obj_make(b.key, "live", "{}");
	cJSON *m = client_message(f, "ws");
	double ws_s = now_s() - t0;
	ck_assert_str_eq(json_str(m, "resource_id"), obj);
	cJSON_Delete(m);
	client_end(f);
	cJSON *got = recv_wait(&rv, "fast", 1, 10);
	double hook_s = now_s() - t0;
	ck_assert_str_eq(json_str(item(received(got, 0), "body"), "resource_id"), obj);
	cJSON_Delete(got);
	ck_assert_msg(ws_s < 1.0, "the realtime event took %.3f s behind slow deliveries", ws_s);
	ck_assert_msg(hook_s < 3.0, "tenant B's delivery took %.3f s behind tenant A's", hook_s);

	/* At most 4 requests at once on the slow endpoint: a fifth arrives only
	 * once the first has been answered, 5 s later. */
	got = recv_wait(&rv, "slow", 5, 20);
	double first = item(received(got, 0), "arrived")->valuedouble;
	double fifth = item(received(got, 4), "arrived")->valuedouble;
	ck_assert_msg(fifth - first >= 4.5, "a fifth request came %.3f s after the first", fifth - first);
	cJSON_Delete(got);
	/* The dead endpoint's attempts are recorded as failures meanwhile. */
	http_resp *r = deliveries_wait(a.key, dead, 1);
	const cJSON *dl = cJSON_GetArrayItem(item(resp_data(r), "deliveries"), 0);
	ck_assert_str_eq(json_str(dl, "status"), "failed");
	ck_assert(cJSON_IsNull(item(dl, "status_code")));
	http_free(r);
	free(obj);
	free(q);
	free(slow_url);
	free(fast_url);
	free(slow_secret);
	free(dead_secret);
	free(fast_secret);
	free(slow);
	free(dead);
	free(fast);
	tenant_drop(&a);
	tenant_drop(&b);
	recv_stop(&rv);
}
END_TEST

/* --- delivery controls: custom headers, rate limit, auto-disable -------------- */

/* The tenant's data DB name (malloc'd). */
static char *tenant_db(const char *tenant)
{
	char *q = strf("SELECT db_name FROM tenants WHERE id = '%s'", tenant);
	char *db = control_sql(q);
	free(q);
	return db;
}

START_TEST(custom_headers_are_sent_with_every_delivery_stored_sealed_and_shown_masked)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "h"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]",
			      "\"headers\":{\"Authorization\":\"Bearer tok-s3cret\",\"X-Team\":\"blue\"}",
			      &secret);
	box_setup(&rv, "h", secret, NULL);

	/* Lists show the names, never the values. */
	cJSON *w = hook_get(t.key, wid);
	assert_json_eq(w, "headers", "{\"Authorization\":\"********\",\"X-Team\":\"********\"}");
	cJSON_Delete(w);
	http_resp *r = call("GET", t.key, NULL, "/v1/webhooks");
	ck_assert_ptr_null(strstr(r->body, "tok-s3cret"));
	http_free(r);
	char *db = tenant_db(t.id);
	char *q = strf("SELECT CONCAT(headers, ' ', headers_enc) FROM %s._webhooks WHERE id = '%s'",
		       db, wid);
	char *stored = control_sql(q);
	ck_assert_msg(*stored && !strstr(stored, "tok-s3cret") && !strstr(stored, "blue"),
		      "header values stored in clear: %s", stored);
	free(stored);
	free(q);

	/* Every event delivery carries them, next to the signed headers. */
	free(type_make(t.key, "deals"));
	free(obj_make(t.key, "deals", "{}"));
	cJSON *got = recv_wait(&rv, "h", 1, 20);
	const cJSON *d = received(got, 0);
	ck_assert_str_eq(hdr(d, "authorization"), "Bearer tok-s3cret");
	ck_assert_str_eq(hdr(d, "x-team"), "blue");
	ck_assert(verified_with(d, secret));
	ck_assert_str_eq(hdr(d, "content-type"), "application/json");
	cJSON_Delete(got);

	/* PATCH replaces the whole set; the test send uses the new one. */
	r = call("PATCH", t.key, "{\"headers\":{\"x-api-key\":\"k2\"}}", "/v1/webhooks/%s", wid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "headers", "{\"x-api-key\":\"********\"}");
	http_free(r);
	r = call("POST", t.key, NULL, "/v1/webhooks/%s/test", wid);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "success")));
	http_free(r);
	got = recv_wait(&rv, "h", 2, 20);
	d = received(got, 1);
	ck_assert_str_eq(hdr(d, "x-api-key"), "k2");
	ck_assert_ptr_null(hdr(d, "authorization"));
	ck_assert_ptr_null(hdr(d, "x-team"));
	cJSON_Delete(got);

	/* Bad headers are refused naming the field, and change nothing. */
	char big[1100];
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char many[1024] = "{";
	for (int i = 0; i < 21; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s\"X-H%d\":\"v\"",
			 i ? "," : "", i);
	strcat(many, "}");
	char *bad[] = {
		strf("{\"headers\":{\"webhook-signature\":\"v1,forged\"}}"),
		strf("{\"headers\":{\"Webhook-Id\":\"evt_forged\"}}"),
		strf("{\"headers\":{\"CONTENT-TYPE\":\"text/plain\"}}"),
		strf("{\"headers\":{\"Host\":\"evil.example\"}}"),
		strf("{\"headers\":{\"Content-Length\":\"0\"}}"),
		strf("{\"headers\":{\"Bad Header\":\"x\"}}"),
		strf("{\"headers\":{\"X-Split\":\"a\\r\\nX-Injected: 1\"}}"),
		strf("{\"headers\":{\"X-Nl\":\"a\\nb\"}}"),
		strf("{\"headers\":{\"X-Big\":\"%s\"}}", big),
		strf("{\"headers\":{\"X-Num\":5}}"),
		strf("{\"headers\":{\"X-A\":\"1\",\"x-a\":\"2\"}}"),
		strf("{\"headers\":{\"\":\"x\"}}"),
		strf("{\"headers\":%s}", many),
		strf("{\"headers\":[\"X-A\"]}"),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("PATCH", t.key, bad[i], "/v1/webhooks/%s", wid);
		assert_fail_field(r, 400, "VALIDATION_ERROR", "headers");
		http_free(r);
		char *create = strf("{\"url\":\"%s\",\"events\":[\"*\"],%s", url, bad[i] + 1);
		r = call("POST", t.key, create, "/v1/webhooks");
		assert_fail_field(r, 400, "VALIDATION_ERROR", "headers");
		http_free(r);
		free(create);
		free(bad[i]);
	}
	w = hook_get(t.key, wid);
	assert_json_eq(w, "headers", "{\"x-api-key\":\"********\"}");
	cJSON_Delete(w);
	r = call("GET", t.key, NULL, "/v1/webhooks");
	ck_assert_int_eq(cJSON_GetArraySize(resp_data(r)), 1);
	http_free(r);

	/* null removes them. */
	r = call("PATCH", t.key, "{\"headers\":null}", "/v1/webhooks/%s", wid);
	assert_envelope(r, 200, NULL);
	assert_json_eq(resp_data(r), "headers", "{}");
	http_free(r);
	q = strf("SELECT COUNT(*) FROM %s._webhooks WHERE id = '%s' AND headers_enc IS NULL", db, wid);
	stored = control_sql(q);
	ck_assert_str_eq(stored, "1");
	free(stored);
	free(q);
	free(db);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

#define RATE_EVENTS 10

START_TEST(rate_limit_spreads_deliveries_over_time_without_spending_attempts)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *url = hook_url(&rv, "rl"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", "\"rate_limit\":2", &secret);
	box_setup(&rv, "rl", secret, NULL);
	cJSON *w = hook_get(t.key, wid);
	assert_json_eq(w, "rate_limit", "2");
	cJSON_Delete(w);

	free(type_make(t.key, "ticks"));
	for (int i = 0; i < RATE_EVENTS; i++)
		free(obj_make(t.key, "ticks", "{}"));
	cJSON *got = recv_wait(&rv, "rl", RATE_EVENTS, 60);
	double first = 1e18, last = 0;
	const cJSON *d;
	cJSON_ArrayForEach(d, item(got, "received")) {
		double at = item(d, "arrived")->valuedouble;
		first = at < first ? at : first;
		last = at > last ? at : last;
		ck_assert(verified_with(d, secret));
	}
	/* Two a second: ten deliveries need five windows of one second. */
	ck_assert_msg(last - first >= 3.9, "%d deliveries in %.2f s", RATE_EVENTS, last - first);
	cJSON_Delete(got);

	/* Deferred deliveries spent no attempt. */
	http_resp *r = deliveries_wait(t.key, wid, RATE_EVENTS);
	cJSON_ArrayForEach(d, item(resp_data(r), "deliveries")) {
		ck_assert_str_eq(json_str(d, "status"), "succeeded");
		assert_json_eq(d, "attempt", "1");
	}
	http_free(r);
	char *q = strf("SELECT MAX(attempts) FROM jobs WHERE kind = 'webhook.deliver' AND "
		       "JSON_VALUE(payload, '$.webhook_id') = '%s'", wid);
	char *max = control_sql(q);
	ck_assert_str_eq(max, "1");
	free(max);
	free(q);

	/* Bounds, and null lifts the limit. */
	const char *bad[] = { "0", "1001", "-1", "1.5", "\"2\"", "true" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *body = strf("{\"rate_limit\":%s}", bad[i]);
		r = call("PATCH", t.key, body, "/v1/webhooks/%s", wid);
		assert_fail_field(r, 400, "VALIDATION_ERROR", "rate_limit");
		http_free(r);
		free(body);
	}
	r = call("PATCH", t.key, "{\"rate_limit\":null}", "/v1/webhooks/%s", wid);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsNull(item(resp_data(r), "rate_limit")));
	http_free(r);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

START_TEST(deliveries_filter_by_event_and_by_time)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t, other;
	tenant_make(&t);
	tenant_make(&other);
	char *url = hook_url(&rv, "f"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	box_setup(&rv, "f", secret, NULL);
	free(type_make(t.key, "notes"));
	for (int i = 0; i < 3; i++)
		free(obj_make(t.key, "notes", "{}"));
	http_resp *r = deliveries_wait(t.key, wid, 3);
	const cJSON *one = cJSON_GetArrayItem(item(resp_data(r), "deliveries"), 1);
	char *evt = strdup(json_str(one, "event_id"));
	char *did = strdup(json_str(one, "id"));
	http_free(r);

	r = call("GET", t.key, NULL, "/v1/webhook-deliveries?event_id=%s", evt);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 1);
	ck_assert_str_eq(json_str(cJSON_GetArrayItem(item(resp_data(r), "deliveries"), 0), "id"), did);
	http_free(r);
	/* Another tenant filtering by this event sees nothing. */
	r = call("GET", other.key, NULL, "/v1/webhook-deliveries?event_id=%s", evt);
	assert_envelope(r, 200, NULL);
	ck_assert_int_eq(item(resp_data(r), "total")->valueint, 0);
	http_free(r);

	char past[32], future[32];
	time_t now = time(NULL);
	strftime(past, sizeof(past), "%Y-%m-%dT%H:%M:%SZ", gmtime(&(time_t){ now - 3600 }));
	strftime(future, sizeof(future), "%Y-%m-%dT%H:%M:%SZ", gmtime(&(time_t){ now + 3600 }));
	struct { const char *query; int want; } cases[] = {
		{ strf("created_after=%s", past), 3 },
		{ strf("created_after=%s", future), 0 },
		{ strf("created_before=%s", future), 3 },
		{ strf("created_before=%s", past), 0 },
		{ strf("created_after=%s&created_before=%s&event_id=%s", past, future, evt), 1 },
		{ strf("created_after=2026-01-01T00:00:00%%2B02:00&created_before=%s", past), 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = call("GET", t.key, NULL, "/v1/webhook-deliveries?webhook_id=%s&%s", wid, cases[i].query);
		assert_envelope(r, 200, NULL);
		ck_assert_msg(item(resp_data(r), "total")->valueint == cases[i].want, "%s: %s",
			      cases[i].query, r->body);
		http_free(r);
		free((char *)cases[i].query);
	}
	/* Malformed values: 400 naming the parameter. */
	struct { const char *query, *field; } bad[] = {
		{ "created_after=yesterday", "created_after" },
		{ "created_after=2026-13-01T00:00:00Z", "created_after" },
		{ "created_before=1700000000", "created_before" },
		{ "created_before=", "created_before" },
		{ "event_id=obj_01JD0000000000000000000000", "event_id" },
		{ "event_id=evt_%27%20OR%201%3D1", "event_id" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("GET", t.key, NULL, "/v1/webhook-deliveries?%s", bad[i].query);
		assert_fail_field(r, 400, "VALIDATION_ERROR", bad[i].field);
		http_free(r);
	}
	free(evt);
	free(did);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	tenant_drop(&other);
	recv_stop(&rv);
}
END_TEST

/* An end user of t with role (malloc'd id). */
static char *user_make(const char *key, const char *role)
{
	static int n;
	char *body = strf("{\"email\":\"wh-%s-%d-%d@example.com\",\"password\":\"Correct-Horse-9\","
			  "\"role\":\"%s\"}", role, (int)getpid(), ++n, role);
	http_resp *r = call("POST", key, body, "/v1/users");
	assert_envelope(r, 201, NULL);
	char *id = strdup(json_str(resp_data(r), "id"));
	http_free(r);
	free(body);
	return id;
}

/* The notifications of user uid, as the admin key sees them. */
static cJSON *notifications_of(const char *key, const char *uid)
{
	http_resp *r = call("GET", key, NULL, "/v1/auth/notifications?user_id=%s", uid);
	assert_envelope(r, 200, NULL);
	cJSON *l = cJSON_Duplicate(item(resp_data(r), "results"), true);
	http_free(r);
	return l;
}

START_TEST(webhook_failing_for_too_long_is_disabled_with_an_event_and_notifications)
{
	/* A runner of the test's own, whose window is two seconds and whose
	 * retries come after about 1 s and 4 s: the third attempt ends it. */
	struct runner_swap sw;
	const char *env[] = { "TESSERA_WEBHOOK_DISABLE_AFTER_S=2", "TESSERA_WEBHOOK_RETRY_BASE_MS=1000",
			      "TESSERA_WEBHOOK_MAX_ATTEMPTS=5", NULL };
	jobs_runner_swap(&sw, env);
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	char *admin = user_make(t.key, "admin"), *member = user_make(t.key, "authenticated");
	char *url = hook_url(&rv, "dying"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	box_setup(&rv, "dying", secret, "[500]");
	char *wurl = hook_url(&rv, "watch"), *wsecret;
	char *watch = hook_make(t.key, wurl, "[\"webhook.disabled\"]", NULL, &wsecret);
	box_setup(&rv, "watch", wsecret, NULL);

	free(type_make(t.key, "jobs"));
	free(obj_make(t.key, "jobs", "{}"));
	/* The watcher hears of it through the outbox, like any event. */
	cJSON *got = recv_wait(&rv, "watch", 1, 40);
	const cJSON *body = item(received(got, 0), "body");
	ck_assert(verified_with(received(got, 0), wsecret));
	ck_assert_str_eq(json_str(body, "type"), "webhook.disabled");
	ck_assert_str_eq(json_str(body, "resource_id"), wid);
	ck_assert_str_eq(json_str(item(body, "data"), "webhook_id"), wid);
	ck_assert_str_eq(json_str(item(body, "data"), "cause"), "failing");
	assert_rfc3339(item(body, "data"), "failing_since");
	cJSON_Delete(got);
	ck_assert_int_ge(recv_count(&rv, "dying"), 2);

	cJSON *w = hook_get(t.key, wid);
	ck_assert_str_eq(json_str(w, "status"), "disabled");
	ck_assert_msg(strstr(json_str(w, "disabled_reason"), "failed"), "reason %s",
		      json_str(w, "disabled_reason"));
	assert_rfc3339(w, "failing_since");
	cJSON_Delete(w);
	/* Disabled: the job ended, nothing more is sent. */
	int sent = recv_count(&rv, "dying");
	free(obj_make(t.key, "jobs", "{}"));
	sleep_ms(2000);
	ck_assert_int_eq(recv_count(&rv, "dying"), sent);

	/* The audit log has it, by the system. */
	struct audit_page ap;
	audit_get(&ap, t.key, "?action=webhook.disabled");
	const cJSON *entry = audit_find(ap.logs, "webhook.disabled", wid);
	ck_assert_ptr_nonnull(entry);
	ck_assert_str_eq(json_str(entry, "actor_type"), "system");
	http_free(ap.r);
	/* Administrators get an in-app notification; other users do not. */
	cJSON *ntf = notifications_of(t.key, admin);
	ck_assert_int_eq(cJSON_GetArraySize(ntf), 1);
	const cJSON *n0 = cJSON_GetArrayItem(ntf, 0);
	ck_assert_str_eq(json_str(n0, "type"), "system");
	ck_assert_ptr_nonnull(strstr(json_str(n0, "body"), wid));
	cJSON_Delete(ntf);
	ntf = notifications_of(t.key, member);
	ck_assert_int_eq(cJSON_GetArraySize(ntf), 0);
	cJSON_Delete(ntf);

	/* Enabled again by hand: the run of failures starts over, and a
	 * delivery that succeeds goes out. */
	http_resp *r = call("PATCH", t.key, "{\"status\":\"active\"}", "/v1/webhooks/%s", wid);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "status"), "active");
	ck_assert(cJSON_IsNull(item(resp_data(r), "failing_since")));
	ck_assert(cJSON_IsNull(item(resp_data(r), "disabled_reason")));
	http_free(r);
	box_setup(&rv, "dying", secret, "[200]");
	free(obj_make(t.key, "jobs", "{}"));
	got = recv_wait(&rv, "dying", sent + 1, 20);
	cJSON_Delete(got);
	w = hook_get(t.key, wid);
	ck_assert_str_eq(json_str(w, "status"), "active");
	cJSON_Delete(w);
	jobs_runner_restore(&sw);
	free(sw.log);
	free(admin);
	free(member);
	free(url);
	free(secret);
	free(wid);
	free(wurl);
	free(wsecret);
	free(watch);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

/* --- the runner killed mid-delivery --------------------------------------------- */

static pid_t stack_runner_pid(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/run/jobs.pid", stack_dir());
	FILE *f = fopen(path, "r");
	int pid = 0;
	if (f) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return pid > 1 && kill(pid, 0) == 0 ? pid : 0;
}

/* Waits for the stack's serve to restart the runner it supervises (a few
 * seconds); starts one the way `tessera jobs` runs on its own (its own
 * session, its pid in jobs_pid_file) if none comes. */
static void stack_runner_ensure(void)
{
	for (int i = 0; i < 100 && !stack_runner_pid(); i++)
		sleep_ms(100);
	if (stack_runner_pid())
		return;
	int rc;
	char *out = run_cmd(&rc, "setsid nohup %s jobs --config %s >>%s/log/jobs.out 2>&1 </dev/null & "
			    "echo $! > %s/run/jobs.pgid", bin(), conf_path(), stack_dir(), stack_dir());
	free(out);
	for (int i = 0; i < 50 && !stack_runner_pid(); i++)
		sleep_ms(100);
}

START_TEST(runner_killed_mid_delivery_still_delivers_the_event)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	pid_t runner = stack_runner_pid();
	ck_assert_msg(runner > 0, "the stack's jobs runner is not running");
	char *url = hook_url(&rv, "k"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	/* The first delivery hangs long enough to kill the runner in it. */
	char *plan = strf("{\"secrets\":[\"%s\"],\"statuses\":[200],\"delay_ms\":8000}", secret);
	recv_plan(&rv, "k", plan);
	free(plan);
	free(type_make(t.key, "orders"));
	char *obj = obj_make(t.key, "orders", "{}");
	cJSON_Delete(recv_wait(&rv, "k", 1, 20));
	ck_assert_int_eq(kill(runner, SIGKILL), 0);
	for (int i = 0; i < 50 && kill(runner, 0) == 0; i++)
		sleep_ms(100);
	stack_runner_ensure();
	ck_assert_msg(stack_runner_pid() > 0, "runner did not restart");

	/* The job's lock expires and the new runner delivers it again. */
	cJSON *got = recv_wait(&rv, "k", 2, 90);
	const cJSON *d = received(got, 1);
	ck_assert_str_eq(hdr(d, "webhook-id"), hdr(received(got, 0), "webhook-id"));
	ck_assert_str_eq(json_str(item(d, "body"), "resource_id"), obj);
	ck_assert(verified_with(d, secret));
	cJSON_Delete(got);
	http_resp *r = deliveries_wait(t.key, wid, 1);
	const cJSON *dl = cJSON_GetArrayItem(item(resp_data(r), "deliveries"), 0);
	ck_assert_str_eq(json_str(dl, "status"), "succeeded");
	ck_assert_int_ge(item(dl, "attempt")->valueint, 2);
	http_free(r);
	free(obj);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

/* serve runs the runner and restarts it; the delivery the killed runner
 * had in flight goes out again within seconds (its restart frees it). */
START_TEST(serve_restarts_a_killed_runner_and_its_delivery_goes_out_again)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	for (int i = 0; i < 100 && !stack_runner_pid(); i++)
		sleep_ms(100);
	pid_t runner = stack_runner_pid();
	ck_assert_msg(runner > 0, "the stack's jobs runner is not running");
	char *url = hook_url(&rv, "v"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	char *plan = strf("{\"secrets\":[\"%s\"],\"statuses\":[200],\"delay_ms\":8000}", secret);
	recv_plan(&rv, "v", plan);
	free(plan);
	free(type_make(t.key, "orders"));
	free(obj_make(t.key, "orders", "{}"));
	cJSON_Delete(recv_wait(&rv, "v", 1, 20));
	double killed = now_s();
	ck_assert_int_eq(kill(runner, SIGKILL), 0);
	/* No one starts a runner here: serve does. */
	pid_t fresh = 0;
	for (int i = 0; i < 100 && (!fresh || fresh == runner); i++) {
		sleep_ms(100);
		fresh = stack_runner_pid();
	}
	ck_assert_msg(fresh > 0 && fresh != runner, "serve did not restart the runner");
	cJSON *got = recv_wait(&rv, "v", 2, 15);
	ck_assert_msg(now_s() - killed < 15, "sent again %.1f s after the kill", now_s() - killed);
	ck_assert_str_eq(hdr(received(got, 1), "webhook-id"), hdr(received(got, 0), "webhook-id"));
	cJSON_Delete(got);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

/* A second runner of the test's own; it dies with the test. */
static pid_t second_runner_start(void)
{
	char *log = strf("%s/log/jobs-webhooks.out", stack_dir());
	const char *env[] = { "TESSERA_JOBS_PID_FILE=", NULL };
	const char *argv[] = { bin(), "jobs", "--config", conf_path(), NULL };
	pid_t pid = proc_spawn(env, argv, log);
	free(log);
	return pid;
}

#define SHARED_EVENTS 30

START_TEST(two_runners_fan_out_each_event_once)
{
	struct receiver rv;
	recv_start(&rv);
	struct tenant t;
	tenant_make(&t);
	pid_t second = second_runner_start();
	char *url = hook_url(&rv, "two"), *secret;
	char *wid = hook_make(t.key, url, "[\"object.created\"]", NULL, &secret);
	box_setup(&rv, "two", secret, NULL);
	free(type_make(t.key, "shared"));
	for (int i = 0; i < SHARED_EVENTS; i++)
		free(obj_make(t.key, "shared", "{}"));
	cJSON *got = recv_wait(&rv, "two", SHARED_EVENTS, 30);
	outbox_drained(t.id);
	ck_assert_int_eq(jobs_for(wid), SHARED_EVENTS);
	/* Every event arrived, each with a valid signature. */
	const cJSON *d;
	int n = 0;
	cJSON_ArrayForEach(d, item(got, "received")) {
		ck_assert(verified_with(d, secret));
		n++;
	}
	ck_assert_int_eq(n, SHARED_EVENTS);
	cJSON_Delete(got);
	kill(second, SIGTERM);
	waitpid(second, NULL, 0);
	free(url);
	free(secret);
	free(wid);
	tenant_drop(&t);
	recv_stop(&rv);
}
END_TEST

static void runner_restore(void)
{
	stack_runner_ensure();
}

Suite *suite_webhooks(void)
{
	Suite *s = suite_create("webhooks");
	TCase *tc = tcase_new_slow(s, "webhooks");
	tcase_add_test(tc, object_created_is_delivered_with_a_valid_signature);
	tcase_add_test(tc, secret_is_stored_sealed);
	tcase_add_test(tc, failed_delivery_is_retried_until_the_receiver_accepts);
	tcase_add_test(tc, exhausted_delivery_goes_to_the_dlq_and_can_be_retried_from_there);
	tcase_add_test(tc, receiver_answering_410_disables_the_webhook);
	tcase_add_test(tc, replay_sends_a_stored_event_again_or_a_given_payload);
	tcase_add_test(tc, rotated_secret_signs_with_both_secrets_for_a_day);
	tcase_add_test(tc, test_endpoint_reports_the_receivers_status_code);
	tcase_add_test(tc, delivery_can_be_retried_by_hand);
	tcase_add_test(tc, custom_events_are_stored_listed_and_delivered_to_subscribers);
	tcase_add_test(tc, object_types_filter_limits_object_events);
	tcase_add_test(tc, tenants_never_see_each_others_webhooks_or_events);
	tcase_add_test(tc, bad_webhooks_and_events_are_refused_and_store_nothing);
	tcase_add_test(tc, deleting_a_webhook_with_deliveries_needs_confirmation);
	tcase_add_test(tc, two_runners_fan_out_each_event_once);
	tcase_add_test(tc, custom_headers_are_sent_with_every_delivery_stored_sealed_and_shown_masked);
	tcase_add_test(tc, rate_limit_spreads_deliveries_over_time_without_spending_attempts);
	tcase_add_test(tc, deliveries_filter_by_event_and_by_time);
	TCase *kill_tc = tcase_new_slow(s, "runner killed");
	tcase_add_unchecked_fixture(kill_tc, NULL, runner_restore);
	tcase_add_test(kill_tc, runner_killed_mid_delivery_still_delivers_the_event);
	tcase_add_test(kill_tc, serve_restarts_a_killed_runner_and_its_delivery_goes_out_again);
	TCase *disable_tc = tcase_new_slow(s, "auto-disable");
	tcase_add_test(disable_tc, webhook_failing_for_too_long_is_disabled_with_an_event_and_notifications);
	TCase *slow_tc = tcase_new_slow(s, "slow receivers");
	tcase_add_test(slow_tc, slow_receivers_hold_up_neither_other_tenants_nor_realtime);
	return s;
}
