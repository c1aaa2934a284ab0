/*
 * webhook_send.c - signing, sending and recording one webhook delivery,
 * and the `webhook.deliver` job (see webhook_send.h).
 */
#include "webhook_send.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/outhttp.h"
#include "../common/timefmt.h"
#include "fanout.h"
#include "jobs.h"

#define RETRY_CAP_MS (24LL * 3600 * 1000)
#define HEADER_NAME_MAX 64
/* Administrators notified of a disabled webhook, at most. */
#define NOTIFY_MAX 100
/* A deferred delivery waits this long when Redis cannot count. */
#define RATE_UNKNOWN_DELAY_MS 1000

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

bool wh_header_name_ok(const char *name)
{
	/* What a delivery sets itself, and what HTTP or libcurl own. */
	static const char *const reserved[] = {
		"webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "host",
		"content-length", "user-agent", "transfer-encoding", "connection", "expect",
		"te", "upgrade", "keep-alive", "proxy-connection", "trailer", NULL,
	};
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > HEADER_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			 "!#$%&'*+-.^_`|~") != n)
		return false;
	for (const char *const *r = reserved; *r; r++)
		if (!strcasecmp(name, *r))
			return false;
	return true;
}

enum db_status wh_load(db_t *db, arena_t *a, const char *db_name, const char *id, webhook_t *w,
		       bool *found)
{
	db_param p[] = { db_str(id) };
	db_result *res;
	enum db_status st = db_exec(db, a, arena_printf(a,
		"SELECT id, url, status, secret_enc, CASE WHEN old_secret_expires_at > "
		"UTC_TIMESTAMP(3) THEN old_secret_enc END AS old_secret_enc, headers_enc, rate_limit "
		"FROM `%s`.`_webhooks` WHERE id = ?", db_name), p, 1, &res);
	*found = st == DB_OK && res->nrows > 0;
	if (!*found)
		return st;
	w->id = db_get(res, 0, "id");
	w->url = db_get(res, 0, "url");
	w->status = db_get(res, 0, "status");
	w->secret_enc = db_get(res, 0, "secret_enc");
	w->old_secret_enc = db_get(res, 0, "old_secret_enc");
	w->headers_enc = db_get(res, 0, "headers_enc");
	w->rate_limit = (int)db_get_int(res, 0, "rate_limit", 0);
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

static void json_cleanup(void *p)
{
	cJSON_Delete(p);
}

/* The custom headers of w as "Name: value" lines into out (room for
 * WEBHOOK_HEADERS_MAX); -1 if they cannot be opened.  Names and values
 * were checked when they were stored; they are checked again so that a
 * row edited by other means cannot inject a header line. */
static int custom_headers(arena_t *a, const webhook_t *w, const char **out)
{
	if (!w->headers_enc)
		return 0;
	char *text = secret_open(a, g_config.master_key_bin, w->headers_enc, NULL);
	cJSON *h = text ? cJSON_Parse(text) : NULL;
	if (text)
		sodium_memzero(text, strlen(text));
	if (!cJSON_IsObject(h)) {
		cJSON_Delete(h);
		return -1;
	}
	arena_defer(a, json_cleanup, h);
	int n = 0;
	const cJSON *v;
	cJSON_ArrayForEach(v, h) {
		if (n == WEBHOOK_HEADERS_MAX || !cJSON_IsString(v) || !wh_header_name_ok(v->string) ||
		    strpbrk(v->valuestring, "\r\n") || strlen(v->valuestring) > WEBHOOK_HEADER_VALUE_MAX)
			return -1;
		out[n++] = arena_printf(a, "%s: %s", v->string, v->valuestring);
	}
	return 0;
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
	if (custom_headers(a, w, q->headers + 4))
		q->error = "the webhook's custom headers cannot be read";
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

/* The tenant's administrators (end users with the role "admin", in
 * _users.role or assigned) whose in-app channel carries "system"
 * notifications: each gets one about w. */
static enum db_status notify_admins(db_t *db, arena_t *a, const char *db_name,
				    const webhook_t *w, const char *reason, const char *meta)
{
	db_result *res;
	/* A tenant that never used end-user auth has no _users yet: no one
	 * to notify, and nothing to create (this runs in a transaction). */
	enum db_status st = db_exec_present(db, a, arena_printf(a,
		"SELECT u.id FROM `%1$s`.`_users` u WHERE u.banned_at IS NULL AND (u.role = 'admin' OR "
		"EXISTS (SELECT 1 FROM `%1$s`.`_user_roles` ur JOIN `%1$s`.`_roles` ro ON ro.id = ur.role_id "
		"WHERE ur.user_id = u.id AND ro.name = 'admin')) AND NOT EXISTS (SELECT 1 FROM "
		"`%1$s`.`_notification_prefs` np WHERE np.user_id = u.id AND np.channel = 'in_app' AND "
		"(np.enabled = 0 OR (JSON_LENGTH(np.categories) > 0 AND "
		"NOT JSON_CONTAINS(np.categories, '\"system\"')))) ORDER BY u.id LIMIT %2$d",
		db_name, NOTIFY_MAX), NULL, 0, &res);
	const char *title = "A webhook was disabled";
	const char *body = arena_printf(a, "The webhook %s (%.300s) was disabled: %s.", w->id,
					w->url, reason);
	for (int i = 0; st == DB_OK && i < res->nrows; i++) {
		char id[40];
		id_new(id, sizeof(id), "ntf_");
		db_param p[] = { db_str(id), db_str(db_cell(res, i, 0)), db_str(title), db_str(body),
				 db_str(meta) };
		st = db_exec(db, a, arena_printf(a,
			"INSERT INTO `%s`.`_notifications` (id, user_id, type, title, body, metadata, "
			"created_at) VALUES (?, ?, 'system', ?, ?, ?, UTC_TIMESTAMP(3))", db_name),
			p, 5, NULL);
	}
	return st;
}

/*
 * Disables w, if it is still active (410: unless it is already disabled;
 * a run of failures: if it began webhook_disable_after_s ago), with the
 * reason, and in the same transaction writes the webhook.disabled event
 * to the outbox, the audit entry (actor "system") and the
 * administrators' notifications.  *done: this call disabled it.
 */
static enum db_status wh_disable(db_t *db, arena_t *a, const char *tenant_id, const char *db_name,
				 const webhook_t *w, bool gone, const char *reason, bool *done)
{
	*done = false;
	enum db_status st = db_begin(db);
	if (st)
		return st;
	db_param p[] = { db_str(reason), db_str(w->id), db_int(g_config.webhook_disable_after_s) };
	db_result *res;
	st = db_exec(db, a, arena_printf(a,
		"UPDATE `%s`.`_webhooks` SET status = 'disabled', disabled_reason = ?, "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND %s", db_name,
		gone ? "status <> 'disabled'"
		     : "status = 'active' AND failing_since <= UTC_TIMESTAMP(3) - INTERVAL ? SECOND"),
		p, gone ? 2 : 3, &res);
	if (st || res->affected == 0)
		goto out_rollback;
	db_param q[] = { db_str(w->id) };
	st = db_exec(db, a, arena_printf(a, "SELECT failing_since FROM `%s`.`_webhooks` WHERE id = ?",
					 db_name), q, 1, &res);
	if (st)
		goto out_rollback;
	cJSON *data = cJSON_CreateObject();
	arena_defer(a, json_cleanup, data);
	cJSON_AddStringToObject(data, "webhook_id", w->id);
	cJSON_AddStringToObject(data, "url", w->url);
	cJSON_AddStringToObject(data, "cause", gone ? "gone" : "failing");
	cJSON_AddStringToObject(data, "disabled_reason", reason);
	char since[RFC3339_LEN + 8];
	const char *fs = res->nrows ? db_cell(res, 0, 0) : NULL;
	if (fs)
		cJSON_AddStringToObject(data, "failing_since", time_from_sql(since, fs));
	else
		cJSON_AddNullToObject(data, "failing_since");
	char *dj = cJSON_PrintUnformatted(data);
	const char *payload = arena_strdup(a, dj ? dj : "{}");
	cJSON_free(dj);
	char eid[40], aid[40];
	id_new(eid, sizeof(eid), "evt_");
	id_new(aid, sizeof(aid), "aud_");
	db_param e[] = { db_str(eid), db_str(tenant_id), db_str(w->id), db_str(payload) };
	st = db_exec(db, a, "INSERT INTO outbox (id, tenant_id, event, resource_type, resource_id, "
		     "payload, created_at) VALUES (?, ?, 'webhook.disabled', 'webhook', ?, ?, "
		     "UTC_TIMESTAMP(3))", e, 4, NULL);
	/* and the tenant's feed (GET /v1/events/list), as outbox_add does */
	db_param fd[] = { db_str(eid), db_str(w->id), db_str(payload) };
	if (!st)
		st = db_exec(db, a, arena_printf(a, "INSERT INTO `%s`.`_events` (id, event_type, "
			     "resource_type, resource_id, data, actor_type, actor_id, created_at) VALUES "
			     "(?, 'webhook.disabled', 'webhook', ?, ?, 'system', NULL, UTC_TIMESTAMP(3))",
			     db_name), fd, 3, NULL);
	if (st)
		goto out_rollback;
	db_param au[] = { db_str(aid), db_str(tenant_id), db_str(w->id), db_str(payload) };
	st = db_exec(db, a, "INSERT INTO audit_logs (id, tenant_id, actor_type, actor_id, action, "
		     "resource_type, resource_id, details, created_at) VALUES (?, ?, 'system', NULL, "
		     "'webhook.disabled', 'webhook', ?, ?, UTC_TIMESTAMP(3))", au, 4, NULL);
	if (st || (st = notify_admins(db, a, db_name, w, reason, payload)))
		goto out_rollback;
	if ((st = db_commit(db)) == DB_OK) {
		*done = true;
		log_warn("webhooks: %s of tenant %s disabled: %s", w->id, tenant_id, reason);
	}
	return st;
out_rollback:
	db_rollback(db);
	return st;
}

/* An event delivery's effect on the run of failures of w: ended by a
 * success; begun by a failure if none runs; a failure in a run older than
 * webhook_disable_after_s disables w. */
static enum db_status failure_streak(db_t *db, arena_t *a, const char *tenant_id,
				     const char *db_name, const webhook_t *w, wh_outcome_t *out)
{
	db_param p[] = { db_int(out->duration_ms), db_str(w->id) };
	if (out->succeeded)
		return db_exec(db, a, arena_printf(a,
			"UPDATE `%s`.`_webhooks` SET failing_since = NULL WHERE id = ? AND "
			"failing_since IS NOT NULL", db_name), p + 1, 1, NULL);
	enum db_status st = db_exec(db, a, arena_printf(a,
		"UPDATE `%s`.`_webhooks` SET failing_since = COALESCE(failing_since, "
		"UTC_TIMESTAMP(3) - INTERVAL ? * 1000 MICROSECOND) WHERE id = ? AND status = 'active'",
		db_name), p, 2, NULL);
	if (st || g_config.webhook_disable_after_s <= 0)
		return st;
	char *reason = arena_printf(a, "Every delivery failed for %d seconds or more (last: %.200s)",
				    g_config.webhook_disable_after_s, out->error);
	return wh_disable(db, a, tenant_id, db_name, w, false, reason, &out->disabled_now);
}

enum db_status wh_record(db_t *db, arena_t *a, const char *tenant_id, const char *db_name,
			 const webhook_t *w, const cJSON *event, const wh_request_t *q,
			 const char *trigger, int attempt, const outhttp_result_t *res,
			 wh_outcome_t *out)
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
	if (st)
		return st;
	if (out->disabled)
		return wh_disable(db, a, tenant_id, db_name, w, true, "The receiver answered 410 Gone",
				  &out->disabled_now);
	/* Tests and replays are sent by hand: they neither begin nor end a run. */
	if (!strcmp(trigger, "event") || !strcmp(trigger, "retry"))
		return failure_streak(db, a, tenant_id, db_name, w, out);
	return DB_OK;
}

enum db_status wh_send(db_t *db, arena_t *a, const char *tenant_id, const char *db_name,
		       const webhook_t *w, const cJSON *event, const char *trigger, int attempt,
		       wh_outcome_t *out)
{
	wh_request_t q;
	wh_prepare(a, w, event, &q);
	outhttp_result_t *res = arena_alloc(a, sizeof(*res));
	memset(res, 0, sizeof(*res));
	if (!q.error)
		outhttp_request("POST", w->url, q.headers, q.body, q.len, WEBHOOK_TIMEOUT_S,
				g_config.http_allow_private, res);
	return wh_record(db, a, tenant_id, db_name, w, event, &q, trigger, attempt, res, out);
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
	const char *tenant_id;
	const char *db_name;
	webhook_t w;
	const cJSON *event;
	const char *trigger;
	wh_request_t q;
};

/* Whether w may have one more delivery now (its rate_limit per one-second
 * window, opened by the window's first delivery); when not, *wait_ms is
 * what is left of the window. */
static bool rate_ok(cache_t *cache, arena_t *a, const char *tenant_id, const webhook_t *w,
		    long *wait_ms)
{
	*wait_ms = RATE_UNKNOWN_DELAY_MS;
	if (w->rate_limit <= 0)
		return true;
	const char *key = cache_tkey(a, "whrl", tenant_id, "%s", w->id);
	const char *incr[] = { "INCR", key };
	const char *expire[] = { "PEXPIRE", key, "1000", "NX" };
	const char *pttl[] = { "PTTL", key };
	const char **argvs[] = { incr, expire, pttl };
	int argcs[] = { 2, 4, 2 };
	redisReply *rep[3] = { NULL, NULL, NULL };
	if (cache_pipeline(cache, a, 3, argcs, argvs, rep) != CACHE_OK || !rep[0] || !rep[2] ||
	    rep[0]->type != REDIS_REPLY_INTEGER || rep[2]->type != REDIS_REPLY_INTEGER) {
		log_warn("webhooks: cannot count %s's deliveries in Redis; deferred", w->id);
		return false;
	}
	if (rep[0]->integer <= w->rate_limit)
		return true;
	long left = rep[2]->integer > 0 ? (long)rep[2]->integer : 1;
	*wait_ms = left + (long)randombytes_uniform(50);
	return false;
}

int wh_deliver_start(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		     const cJSON *payload, job_http_t *req, char *err, size_t errlen)
{
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
	long wait_ms;
	if (!rate_ok(cache, a, tenant_id, &j->w, &wait_ms)) {
		jobs_retry_after(wait_ms);
		return JOB_DEFER;
	}
	j->tenant_id = tenant_id;
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
	(void)payload;
	struct wh_job *j = req->state;
	int attempt = jobs_current_attempt();
	wh_outcome_t o;
	enum db_status st = wh_record(db, a, tenant_id, j->db_name, &j->w, j->event, &j->q,
				      j->trigger, attempt > 0 ? attempt : 1, res, &o);
	if (st) {
		snprintf(err, errlen, "recording the delivery: %s", db_last_error(db));
		return -1;
	}
	if (o.disabled_now)
		fanout_wake(cache);    /* the webhook.disabled event */
	if (o.succeeded || o.disabled || o.disabled_now)
		return 0;
	jobs_retry_after(wh_retry_delay_ms(attempt));
	snprintf(err, errlen, "%s", o.error);
	return -1;
}
