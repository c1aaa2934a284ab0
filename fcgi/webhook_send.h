/*
 * webhook_send.h - sending one event to one webhook, the Standard Webhooks
 * way, and recording the attempt; the `webhook.deliver` job kind.
 *
 * A delivery is a POST of the event as JSON with the headers
 *   webhook-id:        the event id (the same on every retry)
 *   webhook-timestamp: Unix seconds at sending
 *   webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">
 * keyed with the base64-decoded part of the secret after "whsec_".  After
 * a rotation the previous secret stays valid for 24 hours and its
 * signature is sent too, space-separated.  The webhook's custom headers
 * (sealed as one JSON object) go with every delivery.  Every attempt is a
 * row of the tenant's _webhook_deliveries.  A 410 Gone disables the
 * webhook, and so does a run of failed event deliveries longer than
 * webhook_disable_after_s; either way a webhook.disabled event, an audit
 * entry and in-app notifications to the tenant's administrators follow.
 *
 * Used by the jobs runner (event deliveries and their retries) and by the
 * API (test, replay), so it works on a db handle and a tenant DB name.
 */
#ifndef TESSERA_WEBHOOK_SEND_H
#define TESSERA_WEBHOOK_SEND_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "../common/arena.h"
#include "../common/cache.h"
#include "../common/db.h"
#include "../common/outhttp.h"
#include "jobs.h"

#define WEBHOOK_SECRET_PREFIX "whsec_"
#define WEBHOOK_SECRET_BYTES 24
#define WEBHOOK_TIMEOUT_S 10
#define WEBHOOK_OLD_SECRET_HOURS 24
/* Custom headers: how many, and the longest value. */
#define WEBHOOK_HEADERS_MAX 20
#define WEBHOOK_HEADER_VALUE_MAX 1024
/* Deliveries per second a webhook's rate_limit may allow. */
#define WEBHOOK_RATE_MAX 1000

/* A webhook as a delivery needs it (strings in the arena). */
typedef struct webhook {
	const char *id;
	const char *url;
	const char *status;       /* active, paused, disabled */
	const char *secret_enc;   /* sealed current secret */
	const char *old_secret_enc; /* sealed previous secret while still valid, else NULL */
	const char *headers_enc;  /* sealed JSON object of custom headers, or NULL */
	int rate_limit;           /* deliveries per second; 0: no limit */
} webhook_t;

/* The outcome of one attempt. */
typedef struct wh_outcome {
	char delivery_id[40];
	long status_code;         /* 0: no HTTP answer */
	long duration_ms;
	bool succeeded;           /* 2xx */
	bool disabled;            /* the receiver answered 410: the webhook is now disabled */
	bool disabled_now;        /* this attempt disabled the webhook (410 or failing too long) */
	char error[300];          /* "" when it succeeded */
} wh_outcome_t;

/* A new secret: "whsec_" + base64 of WEBHOOK_SECRET_BYTES random bytes (arena). */
char *wh_secret_new(arena_t *a);

/* "v1,<base64 signature>" of body for msg_id at ts under secret (a whsec_
 * string), in a; NULL if the secret is malformed. */
char *wh_sign(arena_t *a, const char *secret, const char *msg_id, long long ts,
	      const char *body, size_t len);

/* True if name may be a custom header: an HTTP token (RFC 9110) of at
 * most 64 characters that is none of the headers a delivery sets itself
 * (webhook-id, webhook-timestamp, webhook-signature, content-type, host,
 * content-length, user-agent, …), whatever its case. */
bool wh_header_name_ok(const char *name);

/* Loads webhook id from the tenant DB db_name; *found false if absent. */
enum db_status wh_load(db_t *db, arena_t *a, const char *db_name, const char *id, webhook_t *w,
		       bool *found);

/* A delivery ready to go: the body and the signed headers (NULL-ended), or
 * why it cannot be sent. */
typedef struct wh_request {
	char id[40];              /* the delivery's, made when it goes out */
	const char *body;
	size_t len;
	const char *headers[5 + WEBHOOK_HEADERS_MAX];
	const char *error;        /* the secret cannot be read: nothing is sent */
} wh_request_t;

/* Signs event for w (in a). */
void wh_prepare(arena_t *a, const webhook_t *w, const cJSON *event, wh_request_t *q);

/*
 * Records the attempt q got the answer res to (see wh_send), into *out.
 * Event deliveries (trigger event or retry) also keep the webhook's run of
 * failures: a success ends it, a failure starts it if none is running,
 * and a failure once it is older than webhook_disable_after_s disables
 * the webhook.
 */
enum db_status wh_record(db_t *db, arena_t *a, const char *tenant_id, const char *db_name,
			 const webhook_t *w,
			 const cJSON *event, const wh_request_t *q, const char *trigger,
			 int attempt, const outhttp_result_t *res, wh_outcome_t *out);

/*
 * Sends event (an object with at least "id" and "type") to w, records the
 * attempt (trigger: event, retry, test or replay; attempt from 1) and
 * disables w on a 410.  Returns a db_status: DB_OK once the attempt is
 * recorded, whatever the receiver said (see out).
 */
enum db_status wh_send(db_t *db, arena_t *a, const char *tenant_id, const char *db_name,
		       const webhook_t *w, const cJSON *event, const char *trigger, int attempt,
		       wh_outcome_t *out);

/* Delay before the next attempt after attempt n failed:
 * webhook_retry_base_ms × 4^(n−1), at most 24 h, plus up to 20% jitter. */
long wh_retry_delay_ms(int attempt);

/* The `webhook.deliver` job, payload {"webhook_id", "event", "trigger"}:
 * an outgoing request the runner sends alongside others (see job_http_t).
 * A webhook with a rate_limit counts its deliveries per one-second window
 * in Redis (whrl:<tenant>:<webhook>, the window opened by its first
 * delivery); a delivery over the limit is deferred (JOB_DEFER) to the end
 * of the window without spending an attempt. */
int wh_deliver_start(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		     const cJSON *payload, job_http_t *req, char *err, size_t errlen);
int wh_deliver_finish(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		      const cJSON *payload, const job_http_t *req, const outhttp_result_t *res,
		      char *err, size_t errlen);

#endif
