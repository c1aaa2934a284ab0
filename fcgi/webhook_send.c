/*
 * webhook_send.c - signing, sending and recording one webhook delivery,
 * and the `webhook.deliver` job (see webhook_send.h).
 */
#include "webhook_send.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/outhttp.h"
#include "fanout.h"
#include "jobs.h"

#define RETRY_CAP_MS (24LL * 3600 * 1000)

char *wh_secret_new(arena_t *a)
{
	unsigned char raw[WEBHOOK_SECRET_BYTES];
	randombytes_buf(raw, sizeof(raw));
	size_t blen = sodium_base64_encoded_len(sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	char *out = arena_alloc(a, strlen(WEBHOOK_SECRET_PREFIX) + blen);
	memcpy(out, WEBHOOK_SECRET_PREFIX, strlen(WEBHOOK_SECRET_PREFIX));
	sodium_bin2base64(out + strlen(WEBHOOK_SECRET_PREFIX), blen, raw, sizeof(raw),
			  sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(raw, sizeof(raw));
	return out;
}

char *wh_sign(arena_t *a, const char *secret, const char *msg_id, long long ts,
	      const char *body, size_t len)
{
	size_t pl = strlen(WEBHOOK_SECRET_PREFIX);
	if (!secret || strncmp(secret, WEBHOOK_SECRET_PREFIX, pl) != 0)
		return NULL;
	unsigned char key[128];
	size_t keylen = 0;
	const char *b64 = secret + pl;
	if (sodium_base642bin(key, sizeof(key), b64, strlen(b64), NULL, &keylen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || keylen == 0)
		return NULL;
	char *head = arena_printf(a, "%s.%lld.", msg_id, ts);
	size_t hl = strlen(head);
	char *msg = arena_alloc(a, hl + len + 1);
	memcpy(msg, head, hl);
	memcpy(msg + hl, body, len);
	unsigned char mac[32];
	hmac_sha256(mac, key, keylen, msg, hl + len);
	sodium_memzero(key, sizeof(key));
	char enc[64];
	sodium_bin2base64(enc, sizeof(enc), mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
	return arena_printf(a, "v1,%s", enc);
}

enum db_status wh_load(db_t *db, arena_t *a, const char *db_name, const char *id, webhook_t *w,
		       bool *found)
{
	db_param p[] = { db_str(id) };
	db_result *res;
	enum db_status st = db_exec(db, a, arena_printf(a,
		"SELECT id, url, status, secret_enc, CASE WHEN old_secret_expires_at > "
		"UTC_TIMESTAMP(3) THEN old_secret_enc END AS old_secret_enc "
		"FROM `%s`.`_webhooks` WHERE id = ?", db_name), p, 1, &res);
	*found = st == DB_OK && res->nrows > 0;
	if (!*found)
		return st;
	w->id = db_get(res, 0, "id");
	w->url = db_get(res, 0, "url");
	w->status = db_get(res, 0, "status");
	w->secret_enc = db_get(res, 0, "secret_enc");
	w->old_secret_enc = db_get(res, 0, "old_secret_enc");
	return DB_OK;
}

/* "v1,<current> v1,<previous>" (the previous only while it is valid). */
static char *signatures(arena_t *a, const webhook_t *w, const char *msg_id, long long ts,
			const char *body, size_t len)
{
	const char *sealed[] = { w->secret_enc, w->old_secret_enc };
	char *out = NULL;
	for (size_t i = 0; i < 2; i++) {
		if (!sealed[i])
			continue;
		char *secret = secret_open(a, g_config.master_key_bin, sealed[i], NULL);
		char *sig = secret ? wh_sign(a, secret, msg_id, ts, body, len) : NULL;
		if (secret)
			sodium_memzero(secret, strlen(secret));
		if (sig)
			out = out ? arena_printf(a, "%s %s", out, sig) : sig;
	}
	return out;
}

void wh_prepare(arena_t *a, const webhook_t *w, const cJSON *event, wh_request_t *q)
{
	memset(q, 0, sizeof(*q));
	id_new(q->id, sizeof(q->id), "whd_");
	cJSON *exact = cJSON_Duplicate(event, true);
	json_exact_numbers(exact);
	char *pj = cJSON_PrintUnformatted(exact);
	cJSON_Delete(exact);
	q->body = arena_strdup(a, pj ? pj : "{}");
	cJSON_free(pj);
	q->len = strlen(q->body);
	const char *msg_id = json_str_of(event, "id");
	if (!msg_id)
		msg_id = "";
	long long ts = (long long)time(NULL);
	char *sig = signatures(a, w, msg_id, ts, q->body, q->len);
	if (!sig) {
		q->error = "the webhook's secret cannot be read";
		return;
	}
	q->headers[0] = "Content-Type: application/json";
	q->headers[1] = arena_printf(a, "webhook-id: %s", msg_id);
	q->headers[2] = arena_printf(a, "webhook-timestamp: %lld", ts);
	q->headers[3] = arena_printf(a, "webhook-signature: %s", sig);
}

/* The outcome of an answer (or of none). */
static void outcome(const outhttp_result_t *res, const wh_request_t *q, wh_outcome_t *out)
{
	memset(out, 0, sizeof(*out));
	out->status_code = res->status;
	out->duration_ms = res->duration_ms;
	out->succeeded = res->status >= 200 && res->status < 300;
	out->disabled = res->status == 410;
	if (q->error)
		snprintf(out->error, sizeof(out->error), "%s", q->error);
	else if (res->status == 0)
		snprintf(out->error, sizeof(out->error), "%s", res->error);
	else if (out->disabled)
		snprintf(out->error, sizeof(out->error),
			 "the receiver answered 410 Gone: webhook disabled");
	else if (!out->succeeded)
		snprintf(out->error, sizeof(out->error), "the receiver answered %ld", res->status);
}

enum db_status wh_record(db_t *db, arena_t *a, const char *db_name, const webhook_t *w,
			 const cJSON *event, const wh_request_t *q, const char *trigger,
			 int attempt, const outhttp_result_t *res, wh_outcome_t *out)
{
	outcome(res, q, out);
	snprintf(out->delivery_id, sizeof(out->delivery_id), "%s", q->id);
	db_param p[] = {
		db_str(out->delivery_id), db_str(w->id), db_str(json_str_of(event, "id")),
		db_str(json_str_of(event, "type")), db_str(trigger), db_int(attempt),
		db_str(out->succeeded ? "succeeded" : "failed"),
		out->status_code ? db_int(out->status_code) : db_null(), db_int(out->duration_ms),
		res->excerpt[0] ? db_str(res->excerpt) : db_null(),
		out->error[0] ? db_str(out->error) : db_null(), db_str(q->body),
		db_int(out->duration_ms),
	};
	/* created_at is when the request went out, not when its answer is
	 * recorded (deliveries in flight together finish in any order). */
	enum db_status st = db_exec(db, a, arena_printf(a,
		"INSERT INTO `%s`.`_webhook_deliveries` (id, webhook_id, event_id, event_type, `trigger`, "
		"attempt, status, status_code, duration_ms, response_excerpt, error, payload, created_at) "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
		"UTC_TIMESTAMP(3) - INTERVAL ? * 1000 MICROSECOND)", db_name), p, 13, NULL);
	if (st || !out->disabled)
		return st;
	db_param d[] = { db_str(w->id) };
	return db_exec(db, a, arena_printf(a,
		"UPDATE `%s`.`_webhooks` SET status = 'disabled', disabled_reason = "
		"'The receiver answered 410 Gone', updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
		db_name), d, 1, NULL);
}

enum db_status wh_send(db_t *db, arena_t *a, const char *db_name, const webhook_t *w,
		       const cJSON *event, const char *trigger, int attempt, wh_outcome_t *out)
{
	wh_request_t q;
	wh_prepare(a, w, event, &q);
	outhttp_result_t *res = arena_alloc(a, sizeof(*res));
	memset(res, 0, sizeof(*res));
	if (!q.error)
		outhttp_request("POST", w->url, q.headers, q.body, q.len, WEBHOOK_TIMEOUT_S,
				g_config.http_allow_private, res);
	return wh_record(db, a, db_name, w, event, &q, trigger, attempt, res, out);
}

long wh_retry_delay_ms(int attempt)
{
	long long d = g_config.webhook_retry_base_ms > 0 ? g_config.webhook_retry_base_ms : 1;
	for (int i = 1; i < attempt && d < RETRY_CAP_MS; i++)
		d *= 4;
	if (d > RETRY_CAP_MS)
		d = RETRY_CAP_MS;
	d += (long long)randombytes_uniform((uint32_t)(d / 5) + 1);
	return (long)d;
}

/* A webhook.deliver job between its start and its finish. */
struct wh_job {
	const char *db_name;
	webhook_t w;
	const cJSON *event;
	const char *trigger;
	wh_request_t q;
};

int wh_deliver_start(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		     const cJSON *payload, job_http_t *req, char *err, size_t errlen)
{
	(void)cache;
	struct wh_job *j = arena_alloc(a, sizeof(*j));
	memset(j, 0, sizeof(*j));
	const char *wid = json_str_of(payload, "webhook_id");
	const char *trigger = json_str_of(payload, "trigger");
	j->event = cJSON_GetObjectItemCaseSensitive(payload, "event");
	if (!tenant_id || !wid || !cJSON_IsObject(j->event) || !json_str_of(j->event, "id") ||
	    !json_str_of(j->event, "type")) {
		snprintf(err, errlen, "malformed webhook.deliver payload");
		return -1;
	}
	j->trigger = trigger && !strcmp(trigger, "retry") ? "retry" : "event";
	bool found = false;
	enum db_status st = tenant_db_of(db, a, tenant_id, &j->db_name);
	if (st == DB_OK && j->db_name)
		st = wh_load(db, a, j->db_name, wid, &j->w, &found);
	if (st) {
		snprintf(err, errlen, "database: %s", db_last_error(db));
		return -1;
	}
	if (!found || strcmp(j->w.status, "active") != 0) {
		log_info("webhooks: %s not delivered to %s: the webhook is %s",
			 json_str_of(j->event, "id"), wid, found ? j->w.status : "gone");
		return 0;
	}
	wh_prepare(a, &j->w, j->event, &j->q);
	*req = (job_http_t){ .method = "POST", .url = j->w.url, .headers = j->q.headers,
			     .body = j->q.body, .body_len = j->q.len, .timeout_s = WEBHOOK_TIMEOUT_S,
			     .skip = j->q.error != NULL, .state = j };
	return 1;
}

int wh_deliver_finish(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		      const cJSON *payload, const job_http_t *req, const outhttp_result_t *res,
		      char *err, size_t errlen)
{
	(void)cache;
	(void)tenant_id;
	(void)payload;
	struct wh_job *j = req->state;
	int attempt = jobs_current_attempt();
	wh_outcome_t o;
	enum db_status st = wh_record(db, a, j->db_name, &j->w, j->event, &j->q, j->trigger,
				      attempt > 0 ? attempt : 1, res, &o);
	if (st) {
		snprintf(err, errlen, "recording the delivery: %s", db_last_error(db));
		return -1;
	}
	if (o.succeeded || o.disabled)
		return 0;
	jobs_retry_after(wh_retry_delay_ms(attempt));
	snprintf(err, errlen, "%s", o.error);
	return -1;
}
