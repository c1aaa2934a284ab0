/*
 * scheduled_jobs.c - cron and one-time jobs: rows of the control DB's
 * scheduled_jobs, served by the resource engine, each running one action
 * of the shared catalogue (handlers/actions.c).
 *
 * A job has exactly one of cron_expression (common/cron.h, in its
 * timezone) and run_at.  next_run_at is computed when the job is saved
 * and after each occurrence.  The runner holding the scheduler lease
 * (fcgi/jobs.c) calls scheduled_tick every pass: each due job gets one run
 * per occurrence (the unique (job, occurrence) row of action_runs, so a
 * second scheduler inserts nothing) and its next_run_at moves past now,
 * so after downtime the missed occurrences make one run, not one each.
 * The run itself is a `scheduled_job.run` job like an automation's.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/cron.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "../fcgi/fanout.h"
#include "actions.h"
#include "routes.h"

#define RUN_KIND "scheduled_job.run"
#define TICK_BATCH 100

static err_t check_tz(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	if (!cron_tz_valid(v->valuestring))
		return req_fail_field(r, E_VALIDATION, "timezone", "timezone must be an IANA time zone "
				      "name such as UTC or Europe/Berlin");
	return E_OK;
}

static err_t check_cron(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	cron_t c;
	char err[200];
	if (cron_parse(v->valuestring, &c, err, sizeof(err)))
		return req_fail_field(r, E_VALIDATION, "cron_expression", "cron_expression: %s", err);
	time_t next;
	if (cron_next(&c, NULL, time(NULL), &next))
		return req_fail_field(r, E_VALIDATION, "cron_expression",
				      "cron_expression never matches a date (within five years)");
	return E_OK;
}

static err_t check_run_at(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	time_t t;
	if (time_parse_rfc3339(v->valuestring, &t))
		return req_fail_field(r, E_VALIDATION, "run_at", "run_at must be an RFC 3339 time");
	if (t <= time(NULL))
		return req_fail_field(r, E_VALIDATION, "run_at", "run_at must be in the future");
	return E_OK;
}

static err_t check_type(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	for (const char *const *t = action_types; *t; t++)
		if (!strcmp(*t, v->valuestring))
			return E_OK;
	return req_fail_field(r, E_VALIDATION, "action_type", "action_type must be an action of the "
			      "catalogue (create_object, send_email, call_webhook, http_request, …)");
}

static const res_field_t sjob_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED | RF_SORT,
	  .min = 1, .max = 255 },
	{ .name = "description", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 2000 },
	{ .name = "cron_expression", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE, .min = 1, .max = 200, .check = check_cron },
	{ .name = "run_at", .type = COL_TIME, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .min = 1, .max = 40, .check = check_run_at },
	{ .name = "timezone", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE, .min = 1,
	  .max = 64, .check = check_tz },
	{ .name = "action_type", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_FILTER, .min = 1, .max = 32, .check = check_type },
	{ .name = "action_config", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_WRITABLE },
	{ .name = "enabled", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_WRITABLE | RF_FILTER },
	{ .name = "next_run_at", .type = COL_TIME, .flags = RF_SORT },
	{ .name = "last_run_at", .type = COL_TIME },
	{ .name = "last_status", .type = COL_STR },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME, .flags = RF_SORT },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

static char *sql_time(arena_t *a, time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	return arena_printf(a, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The member the body gives (JSON null counts), or the row's. */
static const cJSON *member(const res_ctx_t *c, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, name);
	return v ? v : cJSON_GetObjectItemCaseSensitive(c->before, name);
}

/* When the schedule changes: the first occurrence after now. */
static err_t schedule_set(req_t *r, res_ctx_t *c)
{
	const cJSON *cron = member(c, "cron_expression"), *at = member(c, "run_at");
	const cJSON *tz = member(c, "timezone");
	bool has_cron = cJSON_IsString(cron), has_at = cJSON_IsString(at);
	/* A cron expression given to a one-time job replaces its run_at, and
	 * the other way round. */
	if (c->op == OP_UPDATE && has_cron && has_at) {
		bool cron_given = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c->body, "cron_expression"));
		bool at_given = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c->body, "run_at"));
		if (cron_given != at_given) {
			resource_set(c, cron_given ? "run_at" : "cron_expression", db_null());
			has_cron = cron_given;
			has_at = at_given;
		}
	}
	if (has_cron == has_at)
		return req_fail_field(r, E_VALIDATION, "cron_expression",
				      "give exactly one of cron_expression and run_at");
	bool changed = c->op == OP_CREATE;
	static const char *const watched[] = { "cron_expression", "run_at", "timezone", "enabled" };
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		changed |= cJSON_GetObjectItemCaseSensitive(c->body, watched[i]) != NULL;
	if (!changed)
		return E_OK;
	time_t next;
	if (has_at) {
		if (time_parse_rfc3339(at->valuestring, &next))
			return req_fail_field(r, E_VALIDATION, "run_at", "run_at must be an RFC 3339 time");
		if (next <= time(NULL))
			return req_fail_field(r, E_VALIDATION, "run_at", "run_at is in the past");
	} else {
		cron_t ct;
		char err[200];
		if (cron_parse(cron->valuestring, &ct, err, sizeof(err)) ||
		    cron_next(&ct, cJSON_IsString(tz) ? tz->valuestring : NULL, time(NULL), &next))
			return req_fail_field(r, E_VALIDATION, "cron_expression",
					      "cron_expression has no next occurrence");
	}
	resource_set(c, "next_run_at", db_str(sql_time(r->a, next)));
	return E_OK;
}

static err_t sjob_validate(req_t *r, res_ctx_t *c)
{
	err_t rc = schedule_set(r, c);
	if (rc)
		return rc;
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(c->body, "action_type");
	const cJSON *config = cJSON_GetObjectItemCaseSensitive(c->body, "action_config");
	if (!type && !config)
		return E_OK;
	/* A stored config holds sealed secrets: a new type needs its config. */
	if (type && !config && c->op == OP_UPDATE)
		return req_fail_field(r, E_VALIDATION, "action_config",
				      "action_config is required with a new action_type");
	if (!config)
		config = req_own(r, cJSON_CreateObject());
	const cJSON *t = member(c, "action_type");
	cJSON *stored;
	if ((rc = action_validate(r, cJSON_IsString(t) ? t->valuestring : "", config, "action_type",
				  "action_config", &stored)))
		return rc;
	resource_set(c, "action_config", db_str(req_json_text(r, stored)));
	return E_OK;
}

/* The runs of a job, newest first, at most RUNS_SHOWN. */
static err_t runs_of(req_t *r, const char *id, cJSON **out)
{
	db_param p[] = { db_str(r->tenant.id), db_str(id) };
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, "SELECT " ACTION_RUN_SELECT " FROM action_runs "
				    "WHERE tenant_id = ? AND source_id = ? ORDER BY created_at DESC, "
				    "id DESC LIMIT 50", p, 2, &res);
	if (st)
		return req_db_error(r, st);
	*out = cJSON_CreateArray();
	for (int i = 0; i < res->nrows; i++)
		cJSON_AddItemToArray(*out, row_to_json(action_run_cols, res, i));
	return E_OK;
}

/* Secrets stay sealed; a GET shows the runs too. */
static err_t sjob_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	action_config_redact(cJSON_GetObjectItemCaseSensitive(row, "action_config"));
	if (c->op != OP_GET)
		return E_OK;
	cJSON *runs = NULL;
	err_t rc = runs_of(r, json_str_of(row, "id"), &runs);
	if (!rc)
		cJSON_AddItemToObject(row, "runs", runs);
	return rc;
}

static const res_hooks_t sjob_hooks = {
	.validate = sjob_validate,
	.render = sjob_render,
};

static const resource_t sjob_res = {
	.name = "Scheduled job",
	.type = "scheduled_job",
	.table = "scheduled_jobs",
	.home = RES_CONTROL,
	.id_param = "job_id",
	.id_prefix = "sjob_",
	.fields = sjob_fields,
	.order = "created_at DESC",
	.title = "name",
	.flags = RES_CREATED_BY,
	.list_shape = LIST_ARRAY,
	.list_default = 20,
	.hooks = &sjob_hooks,
	.example = "{\"name\":\"probe\",\"cron_expression\":\"0 3 * * *\",\"action_type\":"
		   "\"publish_event\",\"action_config\":{\"event_type\":\"probe\"}}",
};

/* The event a scheduled run handles: {id, type "scheduled_job.run", data
 * {job_id, scheduled_for}}. */
static cJSON *run_event(const char *tenant_id, const char *job_id, const char *due)
{
	char evt[40], ts[RFC3339_LEN];
	id_new(evt, sizeof(evt), "evt_");
	cJSON *data = cJSON_CreateObject();
	cJSON_AddStringToObject(data, "job_id", job_id);
	cJSON_AddStringToObject(data, "scheduled_for", due);
	cJSON *e = event_json(evt, "scheduled_job.run", time_rfc3339(ts, time(NULL)), tenant_id,
			      "scheduled_job", job_id, data);
	cJSON_Delete(data);
	return e;
}

/* POST …/execute: a run now, besides the schedule. */
static err_t sjob_execute(req_t *r)
{
	res_ctx_t c;
	cJSON *row;
	err_t rc = resource_ctx(r, &sjob_res, OP_NONE, &c);
	if (rc || (rc = resource_fetch(r, &c, c.id, false, &row)))
		return rc;
	char ts[RFC3339_LEN], run_id[40];
	cJSON *event = req_own(r, run_event(r->tenant.id, c.id, time_rfc3339(ts, time(NULL))));
	bool created;
	enum db_status st = action_run_create(r->db, r->a, r->tenant.id, c.id, NULL, "manual",
					      "scheduled_job.run", json_str_of(event, "id"), 0, RUN_KIND,
					      event, NULL, NULL, run_id, &created);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "job_id", c.id);
	cJSON_AddStringToObject(d, "run_id", run_id);
	cJSON_AddStringToObject(d, "status", "queued");
	reply_data(r, 200, d);
	return E_OK;
}

/* --- the scheduler and the job --------------------------------------------------- */

/* The next occurrence of job i of res after now (NULL: none, a one-time
 * job that ran). */
static const char *next_after_now(arena_t *a, const db_result *res, int i)
{
	const char *expr = db_get(res, i, "cron_expression");
	cron_t c;
	char err[200];
	time_t next;
	if (!expr || cron_parse(expr, &c, err, sizeof(err)) ||
	    cron_next(&c, db_get(res, i, "timezone"), time(NULL), &next))
		return NULL;
	return sql_time(a, next);
}

/* One due job: its run for the occurrence and its next occurrence, in one
 * transaction; the next_run_at it read must still be there (another
 * scheduler that got there first leaves nothing to do). */
static enum db_status tick_one(db_t *db, arena_t *a, const db_result *res, int i)
{
	const char *id = db_get(res, i, "id"), *tenant = db_get(res, i, "tenant_id");
	const char *due = db_get(res, i, "next_run_at"), *next = next_after_now(a, res, i);
	enum db_status st = db_begin(db);
	if (st)
		return st;
	db_param p[] = { db_str(next), db_str(id), db_str(due) };
	db_result *upd;
	st = db_exec(db, a, "UPDATE scheduled_jobs SET next_run_at = ? WHERE id = ? AND "
		     "next_run_at = ?", p, 3, &upd);
	if (!st && upd->affected == 1) {
		char ts[RFC3339_LEN], run_id[40];
		cJSON *event = run_event(tenant, id, time_from_sql(ts, due));
		bool created;
		st = action_run_create(db, a, tenant, id, due, "schedule", "scheduled_job.run",
				       json_str_of(event, "id"), 0, RUN_KIND, event, NULL, NULL, run_id,
				       &created);
		cJSON_Delete(event);
		if (!st && created)
			log_info("scheduler: %s due %s: run %s", id, due, run_id);
	}
	if (st) {
		db_rollback(db);
		return st;
	}
	return db_commit(db);
}

static void scheduled_tick(db_t *db, cache_t *cache, arena_t *a)
{
	(void)cache;
	db_result *res;
	if (db_exec(db, a, "SELECT id, tenant_id, cron_expression, timezone, next_run_at FROM "
		    "scheduled_jobs WHERE enabled = 1 AND next_run_at <= UTC_TIMESTAMP(3) "
		    "ORDER BY next_run_at LIMIT " "100", NULL, 0, &res))
		return;
	for (int i = 0; i < res->nrows; i++)
		if (tick_one(db, a, res, i))
			log_warn("scheduler: %s: %s", db_get(res, i, "id"), db_last_error(db));
}

static void sjob_finished(db_t *db, arena_t *a, const char *tenant_id, const char *source_id,
			  const char *status)
{
	db_param p[] = { db_str(status), db_str(source_id), db_str(tenant_id) };
	if (db_exec(db, a, "UPDATE scheduled_jobs SET last_run_at = UTC_TIMESTAMP(3), last_status = ? "
		    "WHERE id = ? AND tenant_id = ?", p, 3, NULL))
		log_warn("scheduler: %s: cannot record the run: %s", source_id, db_last_error(db));
}

/* A job's one action, as a list of one. */
static enum db_status sjob_actions(db_t *db, arena_t *a, const char *tenant_id,
				   const char *source_id, cJSON **actions)
{
	db_param p[] = { db_str(source_id), db_str(tenant_id) };
	db_result *res;
	enum db_status st = db_exec(db, a, "SELECT action_type, action_config FROM scheduled_jobs "
				    "WHERE id = ? AND tenant_id = ?", p, 2, &res);
	if (st)
		return st;
	*actions = cJSON_CreateArray();
	if (res->nrows) {
		cJSON *one = cJSON_CreateObject();
		cJSON_AddStringToObject(one, "type", db_cell(res, 0, 0));
		cJSON *cfg = cJSON_Parse(db_cell(res, 0, 1));
		cJSON_AddItemToObject(one, "config", cfg ? cfg : cJSON_CreateObject());
		cJSON_AddItemToArray(*actions, one);
	}
	return DB_OK;
}

static int sjob_run_job(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
			const cJSON *payload, char *err, size_t errlen)
{
	return action_run_job(db, cache, a, tenant_id, payload, sjob_actions, sjob_finished, err,
			      errlen);
}

const job_kind_t scheduled_jobs_jobs[] = {
	{ .name = RUN_KIND, .run = sjob_run_job, .timeout_s = 120, .schedule = scheduled_tick },
	{ NULL },
};

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t scheduled_jobs_routes[] = {
	CRUD("GET", "/v1/scheduled-jobs", "Scheduled Jobs", "*", NULL, 0, sjob_res, OP_LIST, "List scheduled jobs"),
	CRUD("POST", "/v1/scheduled-jobs", "Scheduled Jobs", "*", NULL, 0, sjob_res, OP_CREATE, "Create scheduled job"),
	CRUD("GET", "/v1/scheduled-jobs/:job_id", "Scheduled Jobs", "*", NULL, 0, sjob_res, OP_GET, "Get scheduled job"),
	CRUD("PATCH", "/v1/scheduled-jobs/:job_id", "Scheduled Jobs", "*", NULL, 0, sjob_res, OP_UPDATE, "Update scheduled job"),
	CRUD("DELETE", "/v1/scheduled-jobs/:job_id", "Scheduled Jobs", "*", NULL, 0, sjob_res, OP_DELETE, "Delete scheduled job"),
	ROUTE("POST", "/v1/scheduled-jobs/:job_id/execute", "Scheduled Jobs", AUTH_BEARER, "*", NULL, 0, sjob_execute, NULL, "Execute scheduled job"),
	ROUTES_END,
};
