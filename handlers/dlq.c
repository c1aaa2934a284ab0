/*
 * dlq.c - the dead-letter queue: jobs of this tenant whose retries ran out
 * (webhook deliveries, emails, exports … as their issues add job kinds).
 * List them, send one back to the queue as a new job (or all of them, or
 * those of a time span, a kind or a webhook, at most DLQ_BULK_MAX a
 * call), or discard it.
 */
#include <stdlib.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/rowjson.h"
#include "../fcgi/jobs.h"
#include "../fcgi/query.h"
#include "audit.h"
#include "replies.h"
#include "routes.h"

/* Messages one bulk retry sends back, at most; the reply says if more
 * remain. */
#define DLQ_BULK_MAX 1000

static const field_t dlq_bulk_body[] = {
	{ "created_after", FT_STRING, 0, 1, 64 },
	{ "created_before", FT_STRING, 0, 1, 64 },
	{ "kind", FT_STRING, 0, 1, 64 },
	{ "webhook_id", FT_STRING, 0, 1, 64 },
	{ NULL, 0, 0, 0, 0 },
};

static const col_t dlq_cols[] = {
	{ "id", COL_STR, 0 },
	{ "job_id", COL_STR, 0 },
	{ "kind", COL_STR, 0 },
	{ "payload", COL_JSON, 0 },
	{ "attempts", COL_INT, 0 },
	{ "last_error", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

err_t dlq_list(req_t *r)
{
	page_t pg;
	err_t rc = page_read(r, 20, 100, &pg);
	if (rc)
		return rc;
	db_param p[] = { db_str(r->tenant.id) };
	return page_reply(r, &pg, "messages", dlq_cols, "dead_letters",
			  "WHERE tenant_id = ? AND replayed_at IS NULL", p, 1, "created_at DESC, id DESC");
}

/* Opens the transaction of an action on message id and runs sql over
 * (tenant_id, id): a SELECT … FOR UPDATE or a DELETE of the message while
 * it is still queued; 404 when there is none.  *res receives the result. */
static err_t message_begin(req_t *r, const char *id, const char *sql, db_result **res)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(r->tenant.id), db_str(id) };
	if ((st = db_exec(r->db, r->a, sql, p, 2, res)))
		return req_db_error(r, st);
	if ((*res)->nrows == 0 && (*res)->affected == 0)
		return req_fail(r, E_NOT_FOUND, "No message %s in the dead-letter queue", id);
	return E_OK;
}

/* Sends message id (of kind, with payload as stored; row i of res) back
 * to the queue, in the open transaction: the job runs again as a new job
 * from its first attempt, with its kind's attempts, and the message
 * leaves the list.  job (size 40) receives the new job's id. */
static err_t message_requeue(req_t *r, const db_result *res, int i, char *job)
{
	const char *id = db_get(res, i, "id"), *pj = db_get(res, i, "payload");
	cJSON *payload = req_own(r, cJSON_Parse(pj ? pj : "{}"));
	db_param p[] = { db_str(r->tenant.id), db_str(id) };
	enum db_status st = jobs_enqueue(r->db, r->a, r->tenant.id, db_get(res, i, "kind"), payload,
					 0, 0, job);
	if (!st)
		st = db_exec(r->db, r->a, "UPDATE dead_letters SET replayed_at = UTC_TIMESTAMP(3) "
			     "WHERE tenant_id = ? AND id = ?", p, 2, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

err_t dlq_retry(req_t *r)
{
	const char *id = req_param(r, "msg_id");
	db_result *res;
	err_t rc = message_begin(r, id, "SELECT id, kind, payload FROM dead_letters WHERE tenant_id = ? "
				 "AND id = ? AND replayed_at IS NULL FOR UPDATE", &res);
	char job[40] = "";
	if (!rc)
		rc = message_requeue(r, res, 0, job);
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(details, "job_id", job);
		rc = req_audit(r, "dlq.retried", "dlq_message", id, details);
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return reply_done(r, "retried", "id", id, "job_id", job, NULL);
}

/* The bulk retry's filters that name things: a known job kind, a webhook
 * of this tenant (its deliveries only). */
static err_t bulk_check(req_t *r, const char *kind, const char *wid)
{
	if (kind && !jobs_kind_find(kind))
		return req_fail_field(r, E_VALIDATION, "kind", "kind \"%.64s\" is not a job kind", kind);
	if (!wid)
		return E_OK;
	if (!id_valid(wid, "wh_"))
		return req_fail_field(r, E_VALIDATION, "webhook_id", "webhook_id must be a webhook id (wh_…)");
	db_param p[] = { db_str(wid) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT 1 FROM %s WHERE id = ?",
			tenant_table(r, "_webhooks")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail_field(r, E_NOT_FOUND, "webhook_id", "Webhook not found");
	return E_OK;
}

/*
 * POST /v1/dlq/retry {created_after?, created_before?, kind?, webhook_id?}:
 * every pending message of the tenant that matches (all of them without
 * filters), oldest first and at most DLQ_BULK_MAX, goes back to the queue
 * as POST /v1/dlq/:id/retry sends one; answers {queued, more}.
 */
static err_t dlq_retry_bulk(req_t *r)
{
	const char *kind = json_str_of(r->json, "kind"), *wid = json_str_of(r->json, "webhook_id");
	db_param after, before;
	err_t rc;
	if ((rc = query_time_arg(r, "created_after", json_str_of(r->json, "created_after"),
				 "2026-01-31T12:00:00Z", &after)) ||
	    (rc = query_time_arg(r, "created_before", json_str_of(r->json, "created_before"),
				 "2026-01-31T12:00:00Z", &before)) ||
	    (rc = bulk_check(r, kind, wid)))
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(r->tenant.id), after, after, before, before, db_str(kind), db_str(kind),
			 db_str(wid), db_str(wid) };
	db_result *res;
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id, kind, payload FROM dead_letters WHERE tenant_id = ? AND replayed_at IS NULL "
		"AND (? IS NULL OR created_at > ?) AND (? IS NULL OR created_at < ?) "
		"AND (? IS NULL OR kind = ?) AND (? IS NULL OR (kind = 'webhook.deliver' AND "
		"JSON_VALUE(payload, '$.webhook_id') = ?)) ORDER BY created_at, id LIMIT %d FOR UPDATE",
		DLQ_BULK_MAX + 1), p, 9, &res);
	rc = st ? req_db_error(r, st) : E_OK;
	int n = 0;
	for (; !rc && n < res->nrows && n < DLQ_BULK_MAX; n++) {
		char job[40];
		rc = message_requeue(r, res, n, job);
	}
	bool more = !rc && res->nrows > DLQ_BULK_MAX;
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddNumberToObject(details, "queued", n);
		const char *names[] = { "created_after", "created_before", "kind", "webhook_id" };
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (json_str_of(r->json, names[i]))
				cJSON_AddStringToObject(details, names[i], json_str_of(r->json, names[i]));
		rc = req_audit(r, "dlq.bulk_retried", "dlq_message", NULL, details);
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "queued", n);
	cJSON_AddBoolToObject(d, "more", more);
	reply_data(r, 200, d);
	return E_OK;
}

err_t dlq_discard(req_t *r)
{
	const char *id = req_param(r, "msg_id");
	db_result *res;
	err_t rc = message_begin(r, id, "DELETE FROM dead_letters WHERE tenant_id = ? AND id = ? "
				 "AND replayed_at IS NULL", &res);
	if (!rc)
		rc = req_audit(r, "dlq.discarded", "dlq_message", id, NULL);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return reply_done(r, "discarded", "id", id, NULL);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t dlq_routes[] = {
	ROUTE("DELETE", "/v1/dlq/:msg_id", "DLQ", AUTH_BEARER, "*", NULL, 0, dlq_discard, NULL, "Discard DLQ message"),
	ROUTE("GET", "/v1/dlq", "DLQ", AUTH_BEARER, "*", NULL, 0, dlq_list, NULL, "List DLQ messages"),
	ROUTE("POST", "/v1/dlq/:msg_id/retry", "DLQ", AUTH_BEARER, "*", NULL, 0, dlq_retry, NULL, "Retry DLQ message"),
	/* Beyond the reference. */
	ROUTE("POST", "/v1/dlq/retry", "DLQ", AUTH_BEARER, "*", NULL, R_EXTENSION, dlq_retry_bulk, dlq_bulk_body, "Retry DLQ messages in bulk"),
	ROUTES_END,
};
