/*
 * dlq.c - the dead-letter queue: jobs of this tenant whose retries ran out
 * (webhook deliveries, emails, exports … as their issues add job kinds).
 * List them, send one back to the queue as a new job, or discard it.
 */
#include <stdlib.h>

#include "../common/rowjson.h"
#include "../fcgi/jobs.h"
#include "audit.h"
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
	long long limit, offset;
	err_t rc;
	if ((rc = req_query_int(r, "limit", 20, 1, 100, &limit)) ||
	    (rc = req_query_int(r, "offset", 0, 0, 1000000000, &offset)))
		return rc;
	db_param p[] = { db_str(r->tenant.id), db_int(limit), db_int(offset) };
	db_result *res, *cnt;
	enum db_status st = db_exec(r->db, r->a,
		"SELECT id, job_id, kind, payload, attempts, last_error, created_at FROM dead_letters "
		"WHERE tenant_id = ? AND replayed_at IS NULL ORDER BY created_at DESC, id DESC "
		"LIMIT ? OFFSET ?", p, 3, &res);
	if (!st)
		st = db_exec(r->db, r->a, "SELECT COUNT(*) FROM dead_letters WHERE tenant_id = ? "
			     "AND replayed_at IS NULL", p, 1, &cnt);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "messages", rows_to_json(dlq_cols, res));
	cJSON_AddNumberToObject(d, "total", (double)strtoll(db_cell(cnt, 0, 0), NULL, 10));
	cJSON_AddNumberToObject(d, "limit", (double)limit);
	cJSON_AddNumberToObject(d, "offset", (double)offset);
	reply_data(r, 200, d);
	return E_OK;
}

err_t dlq_retry(req_t *r)
{
	const char *id = req_param(r, "msg_id");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_result *res;
	db_param p[] = { db_str(r->tenant.id), db_str(id) };
	st = db_exec(r->db, r->a, "SELECT kind, payload FROM dead_letters WHERE tenant_id = ? "
		     "AND id = ? AND replayed_at IS NULL FOR UPDATE", p, 2, &res);
	err_t rc = st ? req_db_error(r, st) : E_OK;
	if (!rc && res->nrows == 0)
		rc = req_fail(r, E_NOT_FOUND, "No message %s in the dead-letter queue", id);
	char job[40] = "";
	if (!rc) {
		/* The job runs again from its first attempt, as a new job. */
		cJSON *payload = req_own(r, cJSON_Parse(db_get(res, 0, "payload") ? db_get(res, 0, "payload") : "{}"));
		st = jobs_enqueue(r->db, r->a, r->tenant.id, db_get(res, 0, "kind"), payload, 0, 0, job);
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
	cJSON *d = cJSON_CreateObject();
	cJSON_AddTrueToObject(d, "retried");
	cJSON_AddStringToObject(d, "id", id);
	cJSON_AddStringToObject(d, "job_id", job);
	reply_data(r, 200, d);
	return E_OK;
}

err_t dlq_discard(req_t *r)
{
	const char *id = req_param(r, "msg_id");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_result *res;
	db_param p[] = { db_str(r->tenant.id), db_str(id) };
	st = db_exec(r->db, r->a, "DELETE FROM dead_letters WHERE tenant_id = ? AND id = ? "
		     "AND replayed_at IS NULL", p, 2, &res);
	err_t rc = st ? req_db_error(r, st) : E_OK;
	if (!rc && res->affected == 0)
		rc = req_fail(r, E_NOT_FOUND, "No message %s in the dead-letter queue", id);
	if (!rc)
		rc = req_audit(r, "dlq.discarded", "dlq_message", id, NULL);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddTrueToObject(d, "discarded");
	cJSON_AddStringToObject(d, "id", id);
	reply_data(r, 200, d);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t dlq_routes[] = {
	ROUTE("DELETE", "/v1/dlq/:msg_id", "DLQ", AUTH_BEARER, "*", NULL, 0, dlq_discard, NULL, "Discard DLQ message"),
	ROUTE("GET", "/v1/dlq", "DLQ", AUTH_BEARER, "*", NULL, 0, dlq_list, NULL, "List DLQ messages"),
	ROUTE("POST", "/v1/dlq/:msg_id/retry", "DLQ", AUTH_BEARER, "*", NULL, 0, dlq_retry, NULL, "Retry DLQ message"),
	ROUTES_END,
};
