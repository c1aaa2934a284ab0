/*
 * workflows.c - approval workflows on objects.  A workflow is a row of the
 * tenant's _workflows under its object type (the resource engine serves
 * list, create, update and delete), with ordered stages, each naming its
 * approvers (roles and/or user_ids) and min_approvals.  At most one
 * workflow of a type is enabled.
 *
 * An object's review (_workflow_reviews, what happened in
 * _workflow_history): submit-for-review puts it at stage 1; each approve
 * counts one approval of the current stage and moves on once the stage
 * has min_approvals; the last stage's approval approves it; reject (with
 * a reason) ends the review.  Only a stage's approvers may approve or
 * reject it: an end user listed by id, or holding a listed role (the
 * token's role claim); nobody approves their own submission.  While an
 * object is in review it cannot be updated (409 IN_REVIEW, objects.c asks
 * workflow_guard).  Each step writes an event (workflow.submitted,
 * workflow.approved, workflow.stage_advanced, workflow.rejected) and
 * notifies the next stage's approvers listed by id in the app.
 */
#include <stdio.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/timefmt.h"
#include "../fcgi/journal.h"
#include "../fcgi/securedel.h"
#include "identity.h"
#include "objmodel.h"
#include "routes.h"
#include "workflows.h"

#define STAGES_MAX 10
#define STAGE_APPROVERS_MAX 50

/* --- the descriptor ------------------------------------------------------------------ */

static err_t ids_check(req_t *r, const cJSON *list, const char *field)
{
	if (!list)
		return E_OK;
	if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > STAGE_APPROVERS_MAX)
		return req_fail_field(r, E_VALIDATION, field, "%s must be an array of at most %d strings",
				      field, STAGE_APPROVERS_MAX);
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
		if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > 64)
			return req_fail_field(r, E_VALIDATION, field, "%s must hold non-empty strings", field);
	return E_OK;
}

/* stages: 1 to STAGES_MAX of {name, roles, user_ids, min_approvals};
 * stored normalised (min_approvals 1 when not given). */
static err_t stages_check(req_t *r, res_ctx_t *c, const cJSON *stages)
{
	cJSON *norm = req_own(r, cJSON_CreateArray());
	int i = 0;
	const cJSON *s;
	cJSON_ArrayForEach(s, stages) {
		const char *f = arena_printf(r->a, "stages[%d]", i++);
		if (!cJSON_IsObject(s))
			return req_fail_field(r, E_VALIDATION, f, "%s must be {name, roles, user_ids, "
					      "min_approvals}", f);
		const char *name = json_str_of(s, "name");
		if (!name || !*name || strlen(name) > 100)
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.name", f),
					      "%s.name is required (at most 100 characters)", f);
		const cJSON *roles = cJSON_GetObjectItemCaseSensitive(s, "roles");
		const cJSON *users = cJSON_GetObjectItemCaseSensitive(s, "user_ids");
		err_t rc;
		if ((rc = ids_check(r, roles, arena_printf(r->a, "%s.roles", f))) ||
		    (rc = ids_check(r, users, arena_printf(r->a, "%s.user_ids", f))))
			return rc;
		if (cJSON_GetArraySize(roles) + cJSON_GetArraySize(users) == 0)
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.roles", f),
					      "%s needs approvers: roles and/or user_ids", f);
		const cJSON *min = cJSON_GetObjectItemCaseSensitive(s, "min_approvals");
		if (min && (!cJSON_IsNumber(min) || min->valuedouble < 1 || min->valuedouble > 100 ||
			    min->valuedouble != (int)min->valuedouble))
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.min_approvals", f),
					      "%s.min_approvals must be an integer from 1 to 100", f);
		cJSON *n = cJSON_CreateObject();
		cJSON_AddStringToObject(n, "name", name);
		cJSON_AddItemToObject(n, "roles", roles ? cJSON_Duplicate(roles, true) : cJSON_CreateArray());
		cJSON_AddItemToObject(n, "user_ids", users ? cJSON_Duplicate(users, true) : cJSON_CreateArray());
		cJSON_AddNumberToObject(n, "min_approvals", min ? min->valuedouble : 1);
		cJSON_AddItemToArray(norm, n);
	}
	if (i == 0)
		return req_fail_field(r, E_VALIDATION, "stages", "stages must hold 1 to %d stages",
				      STAGES_MAX);
	resource_set(c, "stages", db_str(req_json_text(r, norm)));
	return E_OK;
}

/* One enabled workflow per type. */
static err_t wf_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *stages = cJSON_GetObjectItemCaseSensitive(c->body, "stages");
	err_t rc;
	if (stages && (rc = stages_check(r, c, stages)))
		return rc;
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(c->body, "enabled");
	bool enabled = en ? cJSON_IsTrue(en)
		      : c->op == OP_CREATE || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->before, "enabled"));
	if (!enabled)
		return E_OK;
	db_param p[] = { db_str(c->parent_id), db_str(c->id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT id FROM %s WHERE "
		"object_type_id = ? AND enabled = 1 AND id <> ? LIMIT 1", tenant_table(r, "_workflows")),
		p, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows)
		return req_fail_field(r, E_CONFLICT, "enabled", "Workflow %s of this type is enabled; "
				      "disable it first (one enabled workflow per type)", db_cell(res, 0, 0));
	return E_OK;
}

/* Objects in review under the workflow: a secure delete; confirmed, their
 * reviews end (cancelled). */
static err_t wf_before_delete(req_t *r, res_ctx_t *c)
{
	db_param p[] = { db_str(c->id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT COUNT(*) FROM %s WHERE "
		"workflow_id = ? AND status = 'in_review'", tenant_table(r, "_workflow_reviews")), p, 1,
		&res);
	if (st)
		return req_db_error(r, st);
	dependency_t deps[] = { { "objects_in_review", "Objects in review",
				  strtoll(db_cell(res, 0, 0), NULL, 10) } };
	return securedel_check(r, "workflow", c->id, deps, 1, &c->cascade);
}

static err_t wf_after_write(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_DELETE || !c->cascade)
		return E_OK;
	db_param p[] = { db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "UPDATE %s SET status = "
		"'cancelled', updated_at = UTC_TIMESTAMP(3) WHERE workflow_id = ? AND status = "
		"'in_review'", tenant_table(r, "_workflow_reviews")), p, 1, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

static const res_field_t wf_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "object_type_id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = 255 },
	{ .name = "stages", .type = COL_JSON, .in = FT_ARRAY, .flags = RF_WRITABLE | RF_REQUIRED,
	  .max = STAGES_MAX },
	{ .name = "enabled", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_WRITABLE | RF_FILTER },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

static const res_hooks_t wf_hooks = {
	.parent = type_child_parent,
	.validate = wf_validate,
	.before_delete = wf_before_delete,
	.after_write = wf_after_write,
};

static const resource_t wf_res = {
	.name = "Workflow",
	.type = "workflow",
	.table = "_workflows",
	.home = RES_TENANT,
	.id_param = "workflow_id",
	.id_prefix = "wf_",
	.fields = wf_fields,
	.parent_param = "object_type_id",
	.parent_column = "object_type_id",
	.order = "created_at",
	.title = "name",
	.flags = RES_CREATED_BY,
	.hooks = &wf_hooks,
	.example = "{\"name\":\"probe\",\"enabled\":false,\"stages\":[{\"name\":\"Review\","
		   "\"user_ids\":[\"usr_probe\"]}]}",
};

/* --- reviews ------------------------------------------------------------------------ */

/* An object and where its review stands. */
struct review {
	objtype_t *t;
	const char *object_id;
	const char *id, *status, *workflow_id, *submitted_by;   /* id NULL: never submitted */
	int stage;
	cJSON *stages;           /* the workflow's (NULL without a review) */
	const char *workflow_name;
};

static const char *actor_of(const req_t *r)
{
	return r->who.kind == PRINCIPAL_USER ? r->who.user_id : r->who.key_id;
}

/* The type and object of the path (404s) and the object's newest review
 * (locked when for_update, inside the caller's transaction). */
static err_t review_load(req_t *r, bool for_update, struct review *v)
{
	memset(v, 0, sizeof(*v));
	err_t rc = objtype_load(r, req_param(r, "object_type_id"), &v->t);
	if (rc)
		return rc;
	v->object_id = req_param(r, "object_id");
	db_param p[] = { db_str(v->object_id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT id FROM %s WHERE id = ? "
		"AND is_deleted = 0", v->t->table), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "Object not found");
	st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT v.id, v.status, v.stage, v.workflow_id, "
		"v.submitted_by, w.stages, w.name FROM %s v LEFT JOIN %s w ON w.id = v.workflow_id "
		"WHERE v.object_id = ? ORDER BY v.submitted_at DESC, v.id DESC LIMIT 1%s",
		tenant_table(r, "_workflow_reviews"), tenant_table(r, "_workflows"),
		for_update ? " FOR UPDATE" : ""), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return E_OK;
	v->id = db_get(res, 0, "id");
	v->status = db_get(res, 0, "status");
	v->stage = (int)db_get_int(res, 0, "stage", 0);
	v->workflow_id = db_get(res, 0, "workflow_id");
	v->submitted_by = db_get(res, 0, "submitted_by");
	v->workflow_name = db_get(res, 0, "name");
	v->stages = req_own(r, cJSON_Parse(db_get(res, 0, "stages") ? db_get(res, 0, "stages") : "[]"));
	return E_OK;
}

static const cJSON *stage_of(const struct review *v, int i)
{
	return cJSON_GetArrayItem(v->stages, i);
}

static const char *stage_name(const struct review *v, int i)
{
	return json_str_of(stage_of(v, i), "name");
}

static err_t history_add(req_t *r, const struct review *v, int stage, const char *action,
			 const char *comment)
{
	char id[40];
	id_new(id, sizeof(id), "wfh_");
	db_param p[] = { db_str(id), db_str(v->id), db_str(v->object_id), db_int(stage),
			 db_str(action), db_str(actor_of(r)), db_str(comment) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "INSERT INTO %s (id, review_id, "
		"object_id, stage, action, actor, comment, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
		"UTC_TIMESTAMP(3))", tenant_table(r, "_workflow_history")), p, 7, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* The event of a step, with extra members (may be NULL). */
static err_t review_event(req_t *r, const struct review *v, const char *name, int stage,
			  cJSON *extra)
{
	cJSON *d = req_own(r, extra ? extra : cJSON_CreateObject());
	cJSON_AddStringToObject(d, "object_type_id", v->t->id);
	cJSON_AddStringToObject(d, "object_type", v->t->name);
	cJSON_AddStringToObject(d, "object_id", v->object_id);
	cJSON_AddStringToObject(d, "workflow_id", v->workflow_id);
	cJSON_AddStringToObject(d, "review_id", v->id);
	cJSON_AddStringToObject(d, "actor", actor_of(r));
	cJSON_AddStringToObject(d, "stage", stage_name(v, stage) ? stage_name(v, stage) : "");
	cJSON_AddNumberToObject(d, "stage_index", stage);
	return outbox_add(r, name, "object", v->object_id, d);
}

/* In-app notifications to the approvers a stage lists by id (the users
 * of a listed role are not known until they sign in with it). */
static err_t notify_stage(req_t *r, const struct review *v, int stage)
{
	const cJSON *u;
	cJSON *data = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(data, "object_id", v->object_id);
	cJSON_AddStringToObject(data, "object_type", v->t->name);
	cJSON_AddStringToObject(data, "review_id", v->id);
	cJSON_ArrayForEach(u, cJSON_GetObjectItemCaseSensitive(stage_of(v, stage), "user_ids")) {
		err_t rc = notify_user(r, u->valuestring, "workflow",
				       arena_printf(r->a, "Review needed: %s", v->t->display_name),
				       arena_printf(r->a, "%s %s waits for your approval (stage %s).",
						    v->t->display_name, v->object_id, stage_name(v, stage)),
				       data);
		/* An id no user has (yet) is nobody to tell. */
		if (rc && rc != E_NOT_FOUND)
			return rc;
	}
	return E_OK;
}

/* The objects route handlers end here: the transaction's end, the reply. */
static err_t review_reply(req_t *r, err_t rc, cJSON *reply)
{
	req_own(r, reply);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	reply_data(r, 200, cJSON_Duplicate(reply, true));
	return E_OK;
}

static err_t submit_in_tx(req_t *r, struct review *v, cJSON *reply)
{
	err_t rc = review_load(r, true, v);
	if (rc)
		return rc;
	if (v->status && !strcmp(v->status, "in_review"))
		return req_fail(r, E_IN_REVIEW, "The object is already in review (stage %s)",
				stage_name(v, v->stage));
	db_param p[] = { db_str(v->t->id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT id, name, stages FROM %s "
		"WHERE object_type_id = ? AND enabled = 1 LIMIT 1", tenant_table(r, "_workflows")), p, 1,
		&res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_CONFLICT, "%s has no enabled workflow: create one with POST "
				"/v1/object-types/%s/workflows", v->t->name, v->t->name);
	char id[40];
	id_new(id, sizeof(id), "rev_");
	v->id = arena_strdup(r->a, id);
	v->workflow_id = db_cell(res, 0, 0);
	v->stages = req_own(r, cJSON_Parse(db_cell(res, 0, 2)));
	v->stage = 0;
	db_param q[] = { db_str(v->id), db_str(v->object_id), db_str(v->t->id), db_str(v->workflow_id),
			 db_str(actor_of(r)) };
	st = db_exec(r->db, r->a, arena_printf(r->a, "INSERT INTO %s (id, object_id, object_type_id, "
		"workflow_id, status, stage, submitted_by, submitted_at, updated_at) VALUES (?, ?, ?, ?, "
		"'in_review', 0, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		tenant_table(r, "_workflow_reviews")), q, 5, NULL);
	if (st)
		return req_db_error(r, st);
	if ((rc = history_add(r, v, 0, "submitted", NULL)) ||
	    (rc = review_event(r, v, "workflow.submitted", 0, NULL)) || (rc = notify_stage(r, v, 0)))
		return rc;
	cJSON_AddTrueToObject(reply, "submitted");
	cJSON_AddStringToObject(reply, "stage", stage_name(v, 0));
	cJSON_AddNumberToObject(reply, "stage_index", 0);
	cJSON_AddStringToObject(reply, "status", "in_review");
	cJSON_AddStringToObject(reply, "review_id", v->id);
	cJSON_AddStringToObject(reply, "workflow_id", v->workflow_id);
	return E_OK;
}

static err_t wf_submit(req_t *r)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	struct review v;
	cJSON *reply = cJSON_CreateObject();
	return review_reply(r, submit_in_tx(r, &v, reply), reply);
}

static bool listed(const cJSON *list, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
		if (s && cJSON_IsString(it) && !strcmp(it->valuestring, s))
			return true;
	return false;
}

/* The caller may decide the review's current stage (403 otherwise). */
static err_t approver_check(req_t *r, const struct review *v, const char *verb)
{
	if (!v->status || strcmp(v->status, "in_review"))
		return req_fail(r, E_CONFLICT, "The object is not in review (%s)",
				v->status ? v->status : "never submitted");
	const cJSON *stage = stage_of(v, v->stage);
	bool user = r->who.kind == PRINCIPAL_USER;
	if (!user || (!listed(cJSON_GetObjectItemCaseSensitive(stage, "user_ids"), r->who.user_id) &&
		      !listed(cJSON_GetObjectItemCaseSensitive(stage, "roles"), r->who.role)))
		return req_fail(r, E_FORBIDDEN, "Only the approvers of stage %s may %s it",
				stage_name(v, v->stage), verb);
	if (v->submitted_by && !strcmp(v->submitted_by, r->who.user_id))
		return req_fail(r, E_FORBIDDEN, "Nobody may %s their own submission", verb);
	return E_OK;
}

static err_t approve_in_tx(req_t *r, struct review *v, cJSON *reply)
{
	err_t rc = review_load(r, true, v);
	if (rc || (rc = approver_check(r, v, "approve")))
		return rc;
	int stage = v->stage;
	db_param p[] = { db_str(v->id), db_int(stage), db_str(actor_of(r)) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT SUM(actor = ?), COUNT(*) "
		"FROM %s WHERE review_id = ? AND stage = ? AND action = 'approved'",
		tenant_table(r, "_workflow_history")), (db_param[]){ p[2], p[0], p[1] }, 3, &res);
	if (st)
		return req_db_error(r, st);
	if (strtoll(db_cell(res, 0, 0) ? db_cell(res, 0, 0) : "0", NULL, 10) > 0)
		return req_fail(r, E_CONFLICT, "You approved stage %s already", stage_name(v, stage));
	long long approvals = strtoll(db_cell(res, 0, 1), NULL, 10) + 1;
	long long need = (long long)cJSON_GetNumberValue(
		cJSON_GetObjectItemCaseSensitive(stage_of(v, stage), "min_approvals"));
	const char *comment = json_str_of(r->json, "comment");
	if ((rc = history_add(r, v, stage, "approved", comment)))
		return rc;
	bool done = approvals >= need, last = stage + 1 >= cJSON_GetArraySize(v->stages);
	const char *status = done && last ? "approved" : "in_review";
	int next = done && !last ? stage + 1 : stage;
	db_param u[] = { db_str(status), db_int(next), db_str(v->id) };
	st = db_exec(r->db, r->a, arena_printf(r->a, "UPDATE %s SET status = ?, stage = ?, "
		"updated_at = UTC_TIMESTAMP(3) WHERE id = ?", tenant_table(r, "_workflow_reviews")), u, 3,
		NULL);
	if (st)
		return req_db_error(r, st);
	cJSON *e = cJSON_CreateObject();
	if (comment)
		cJSON_AddStringToObject(e, "comment", comment);
	cJSON_AddNumberToObject(e, "approvals", (double)approvals);
	cJSON_AddNumberToObject(e, "required", (double)need);
	cJSON_AddBoolToObject(e, "final", done && last);
	if ((rc = review_event(r, v, "workflow.approved", stage, e)))
		return rc;
	if (done && !last && ((rc = history_add(r, v, next, "stage_advanced", NULL)) ||
			      (rc = review_event(r, v, "workflow.stage_advanced", next, NULL)) ||
			      (rc = notify_stage(r, v, next))))
		return rc;
	cJSON_AddTrueToObject(reply, "approved");
	cJSON_AddStringToObject(reply, "stage", stage_name(v, stage));
	cJSON_AddStringToObject(reply, "status", status);
	cJSON_AddNumberToObject(reply, "approvals", (double)approvals);
	cJSON_AddNumberToObject(reply, "required", (double)need);
	if (done && !last)
		cJSON_AddStringToObject(reply, "next_stage", stage_name(v, next));
	else
		cJSON_AddNullToObject(reply, "next_stage");
	return E_OK;
}

static err_t wf_approve(req_t *r)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	struct review v;
	cJSON *reply = cJSON_CreateObject();
	return review_reply(r, approve_in_tx(r, &v, reply), reply);
}

static err_t reject_in_tx(req_t *r, struct review *v, cJSON *reply)
{
	const char *reason = json_str_of(r->json, "reason");
	if (!reason || !reason[strspn(reason, " \t\r\n")])
		return req_fail_field(r, E_VALIDATION, "reason", "reason is required");
	err_t rc = review_load(r, true, v);
	if (rc || (rc = approver_check(r, v, "reject")))
		return rc;
	db_param u[] = { db_str(v->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "UPDATE %s SET status = "
		"'rejected', updated_at = UTC_TIMESTAMP(3) WHERE id = ?",
		tenant_table(r, "_workflow_reviews")), u, 1, NULL);
	if (st)
		return req_db_error(r, st);
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "reason", reason);
	if ((rc = history_add(r, v, v->stage, "rejected", reason)) ||
	    (rc = review_event(r, v, "workflow.rejected", v->stage, e)))
		return rc;
	cJSON_AddTrueToObject(reply, "rejected");
	cJSON_AddStringToObject(reply, "stage", stage_name(v, v->stage));
	cJSON_AddStringToObject(reply, "status", "rejected");
	return E_OK;
}

static err_t wf_reject(req_t *r)
{
	if (!json_str_of(r->json, "reason"))
		return req_fail_field(r, E_VALIDATION, "reason", "reason is required");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	struct review v;
	cJSON *reply = cJSON_CreateObject();
	return review_reply(r, reject_in_tx(r, &v, reply), reply);
}

static const col_t history_cols[] = {
	{ "action", COL_STR, 0 },
	{ "stage_index", COL_INT, 0 },
	{ "actor", COL_STR, 0 },
	{ "comment", COL_STR, 0 },
	{ "at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

static err_t wf_status(req_t *r)
{
	struct review v;
	err_t rc = review_load(r, false, &v);
	if (rc)
		return rc;
	cJSON *d = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(d, "object_id", v.object_id);
	cJSON_AddStringToObject(d, "status", v.status ? v.status : "none");
	if (!v.id) {
		cJSON_AddNullToObject(d, "stage");
		cJSON_AddItemToObject(d, "history", cJSON_CreateArray());
		reply_data(r, 200, cJSON_Duplicate(d, true));
		return E_OK;
	}
	cJSON_AddStringToObject(d, "stage", stage_name(&v, v.stage) ? stage_name(&v, v.stage) : "");
	cJSON_AddNumberToObject(d, "stage_index", v.stage);
	cJSON_AddNumberToObject(d, "stages", cJSON_GetArraySize(v.stages));
	cJSON_AddStringToObject(d, "review_id", v.id);
	cJSON_AddStringToObject(d, "workflow_id", v.workflow_id);
	if (v.workflow_name)
		cJSON_AddStringToObject(d, "workflow_name", v.workflow_name);
	cJSON_AddStringToObject(d, "submitted_by", v.submitted_by ? v.submitted_by : "");
	db_param p[] = { db_str(v.id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT action, stage AS "
		"stage_index, actor, comment, created_at AS at FROM %s WHERE review_id = ? ORDER BY "
		"created_at, id", tenant_table(r, "_workflow_history")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *h = cJSON_AddArrayToObject(d, "history");
	int approvals = 0;
	for (int i = 0; i < res->nrows; i++) {
		cJSON *e = row_to_json(history_cols, res, i);
		const char *action = db_get(res, i, "action");
		/* A rejection's comment is its reason. */
		if (!strcmp(action, "rejected"))
			cJSON_AddItemToObject(e, "reason", cJSON_Duplicate(cJSON_GetObjectItem(e, "comment"), true));
		const cJSON *stage = stage_of(&v, (int)db_get_int(res, i, "stage_index", 0));
		cJSON_AddStringToObject(e, "stage", json_str_of(stage, "name") ? json_str_of(stage, "name") : "");
		approvals += !strcmp(action, "approved") && db_get_int(res, i, "stage_index", 0) == v.stage;
		cJSON_AddItemToArray(h, e);
	}
	cJSON_AddNumberToObject(d, "approvals", approvals);
	cJSON_AddNumberToObject(d, "required", cJSON_GetNumberValue(
		cJSON_GetObjectItemCaseSensitive(stage_of(&v, v.stage), "min_approvals")));
	reply_data(r, 200, cJSON_Duplicate(d, true));
	return E_OK;
}

err_t workflow_guard(req_t *r, const char *object_id)
{
	db_param p[] = { db_str(object_id) };
	db_result *res;
	/* Every object write asks, in its transaction: a tenant that never
	 * used workflows has no reviews table yet, and nothing in review. */
	enum db_status st = db_exec_present(r->db, r->a, arena_printf(r->a, "SELECT status FROM %s "
		"WHERE object_id = ? ORDER BY submitted_at DESC, id DESC LIMIT 1",
		tenant_table(r, "_workflow_reviews")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows && !strcmp(db_cell(res, 0, 0), "in_review"))
		return req_fail(r, E_IN_REVIEW, "The object is in review; it can be changed once it is "
				"approved or rejected");
	return E_OK;
}

static const field_t approve_body[] = {
	{ "comment", FT_STRING, 0, 0, 2000 },
	{ NULL, 0, 0, 0, 0 },
};

static const field_t reject_body[] = {
	{ "reason", FT_STRING, FF_REQUIRED, 1, 2000 },
	{ NULL, 0, 0, 0, 0 },
};

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t workflows_routes[] = {
	ROUTE("POST", "/v1/objects/:object_type_id/:object_id/approve", "Workflows", AUTH_BEARER, "schema", "objects:{type}:read", R_USER, wf_approve, approve_body, "Approve object"),
	ROUTE("GET", "/v1/objects/:object_type_id/:object_id/workflow-status", "Workflows", AUTH_BEARER, "read", "objects:{type}:read", R_USER, wf_status, NULL, "Get workflow status"),
	ROUTE("POST", "/v1/objects/:object_type_id/:object_id/reject", "Workflows", AUTH_BEARER, "schema", "objects:{type}:read", R_USER, wf_reject, reject_body, "Reject object"),
	ROUTE("POST", "/v1/objects/:object_type_id/:object_id/submit-for-review", "Workflows", AUTH_BEARER, "schema", "objects:{type}:write", R_USER, wf_submit, NULL, "Submit for review"),
	CRUD("GET", "/v1/object-types/:object_type_id/workflows", "Workflows", "read", NULL, 0, wf_res, OP_LIST, "List workflows"),
	CRUD("POST", "/v1/object-types/:object_type_id/workflows", "Workflows", "schema", NULL, 0, wf_res, OP_CREATE, "Create workflow"),
	CRUD("PATCH", "/v1/object-types/:object_type_id/workflows/:workflow_id", "Workflows", "schema", NULL, 0, wf_res, OP_UPDATE, "Update workflow"),
	CRUD("DELETE", "/v1/object-types/:object_type_id/workflows/:workflow_id", "Workflows", "schema", NULL, 0, wf_res, OP_DELETE, "Delete workflow"),
	ROUTES_END,
};
