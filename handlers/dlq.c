/*
 * dlq.c - the dead-letter queue: jobs of this tenant whose retries ran out
 * (webhook deliveries, emails, exports … as their issues add job kinds).
 * List them, send one back to the queue as a new job, or discard it.
 */

#include "../common/rowjson.h"
#include "../fcgi/jobs.h"
#include "audit.h"
#include "replies.h"
#include "routes.h"

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

err_t dlq_retry(req_t *r)
{
	const char *id = req_param(r, "msg_id");
	db_result *res;
	err_t rc = message_begin(r, id, "SELECT kind, payload FROM dead_letters WHERE tenant_id = ? "
				 "AND id = ? AND replayed_at IS NULL FOR UPDATE", &res);
	char job[40] = "";
	if (!rc) {
		/* The job runs again from its first attempt, as a new job. */
		cJSON *payload = req_own(r, cJSON_Parse(db_get(res, 0, "payload") ? db_get(res, 0, "payload") : "{}"));
		db_param p[] = { db_str(r->tenant.id), db_str(id) };
		enum db_status st = jobs_enqueue(r->db, r->a, r->tenant.id, db_get(res, 0, "kind"), payload,
						 0, 0, job);
		if (!st)
			st = db_exec(r->db, r->a, "UPDATE dead_letters SET replayed_at = UTC_TIMESTAMP(3) "
				     "WHERE tenant_id = ? AND id = ?", p, 2, NULL);
		rc = st ? req_db_error(r, st) : E_OK;
	}
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(details, "job_id", job);
		rc = req_audit(r, "dlq.retried", "dlq_message", id, details);
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return reply_done(r, "retried", "id", id, "job_id", job, NULL);
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
	ROUTES_END,
};
