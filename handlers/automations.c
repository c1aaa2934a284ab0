/*
 * automations.c - event-driven automations: rows of the control DB's
 * automations, served by the resource engine, plus their runs (GET
 * …/runs), a manual trigger, and the two halves that make them work on the
 * jobs runner: the fan-out hook that starts a run per matching automation
 * in the pass that makes the event's webhook deliveries (a run per event
 * and automation, whatever happens to the runner), and the
 * `automation.run` job that runs the actions (handlers/actions.c).
 *
 * Conditions use the object filter grammar, {property, operator, value},
 * evaluated against the event's data: a plain name is looked up in the
 * object's properties (data.object.properties for object.created,
 * data.properties for the changes of object.updated), then in data
 * itself; a dotted name is a path from data.  `changed` and `changed_to`
 * test whether an update changed the property (to value).  All must hold.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/timefmt.h"
#include "../fcgi/fanout.h"
#include "actions.h"
#include "objmodel.h"
#include "routes.h"

#define CONDITIONS_MAX 20
#define RUN_KIND "automation.run"

static const char *const operators[] = {
	"eq", "neq", "gt", "gte", "lt", "lte", "in", "nin", "contains", "starts_with",
	"is_null", "is_not_null", "changed", "changed_to", NULL,
};

/* --- conditions ------------------------------------------------------------------ */

static bool op_known(const char *op)
{
	for (int i = 0; op && operators[i]; i++)
		if (!strcmp(operators[i], op))
			return true;
	return false;
}

static bool op_unary(const char *op)
{
	return !strcmp(op, "is_null") || !strcmp(op, "is_not_null") || !strcmp(op, "changed");
}

/* The value a condition's property names in the event's data. */
static const cJSON *cond_value(const cJSON *data, const char *prop, bool changes_only)
{
	if (strchr(prop, '.'))
		return json_path(data, prop);
	const cJSON *changes = json_path(data, "properties");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(changes, prop);
	if (v || changes_only)
		return v;
	v = cJSON_GetObjectItemCaseSensitive(json_path(data, "object.properties"), prop);
	return v ? v : cJSON_GetObjectItemCaseSensitive(data, prop);
}

/* A JSON value as a number (numbers, and strings that are numbers). */
static bool as_number(const cJSON *v, double *out)
{
	if (cJSON_IsNumber(v)) {
		*out = v->valuedouble;
		return true;
	}
	if (!cJSON_IsString(v) && !cJSON_IsRaw(v))
		return false;
	char *end;
	*out = strtod(v->valuestring, &end);
	return *v->valuestring && !*end && isfinite(*out);
}

/* <0, 0, >0, or 2 when a and b do not compare. */
static int compare(const cJSON *a, const cJSON *b)
{
	double x, y;
	if (as_number(a, &x) && as_number(b, &y))
		return x < y ? -1 : x > y;
	if (cJSON_IsString(a) && cJSON_IsString(b)) {
		int c = strcmp(a->valuestring, b->valuestring);
		return c < 0 ? -1 : c > 0;
	}
	if (cJSON_IsBool(a) && cJSON_IsBool(b))
		return cJSON_IsTrue(a) == cJSON_IsTrue(b) ? 0 : 2;
	return cJSON_Compare(a, b, true) ? 0 : 2;
}

static bool in_list(const cJSON *v, const cJSON *list)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
		if (compare(v, it) == 0)
			return true;
	return false;
}

static bool cond_holds(const cJSON *c, const cJSON *data)
{
	const char *prop = json_str_of(c, "property"), *op = json_str_of(c, "operator");
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "value");
	if (!prop || !op)
		return false;
	bool changes = !strcmp(op, "changed") || !strcmp(op, "changed_to");
	const cJSON *v = cond_value(data, prop, changes);
	bool null = !v || cJSON_IsNull(v);
	if (!strcmp(op, "is_null"))
		return null;
	if (!strcmp(op, "is_not_null") || !strcmp(op, "changed"))
		return !null || (changes && v);
	if (!strcmp(op, "in") || !strcmp(op, "nin"))
		return !null && in_list(v, want) == !strcmp(op, "in");
	if (null)
		return !strcmp(op, "neq") && want && !cJSON_IsNull(want);
	if (!strcmp(op, "contains") || !strcmp(op, "starts_with")) {
		if (cJSON_IsArray(v))
			return in_list(want, v);
		if (!cJSON_IsString(v) || !cJSON_IsString(want))
			return false;
		const char *at = strstr(v->valuestring, want->valuestring);
		return !strcmp(op, "contains") ? at != NULL : at == v->valuestring;
	}
	int cmp = compare(v, want);
	if (!strcmp(op, "eq") || !strcmp(op, "changed_to"))
		return cmp == 0;
	if (!strcmp(op, "neq"))
		return cmp != 0;
	if (cmp == 2)
		return false;
	if (!strcmp(op, "gt"))
		return cmp > 0;
	if (!strcmp(op, "gte"))
		return cmp >= 0;
	if (!strcmp(op, "lt"))
		return cmp < 0;
	return cmp <= 0;   /* lte */
}

static bool conditions_hold(const cJSON *conds, const cJSON *data)
{
	const cJSON *c;
	cJSON_ArrayForEach(c, conds)
		if (!cond_holds(c, data))
			return false;
	return true;
}

/* One condition: a known operator, a value where it needs one, a
 * property of the type (when there is one) unless it is a path. */
static err_t cond_check(req_t *r, const cJSON *c, int i, const char *trigger, const objtype_t *t)
{
	const char *f = arena_printf(r->a, "conditions[%d]", i);
	if (!cJSON_IsObject(c))
		return req_fail_field(r, E_VALIDATION, f, "%s must be {property, operator, value}", f);
	const char *prop = json_str_of(c, "property"), *op = json_str_of(c, "operator");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "value");
	const char *pf = arena_printf(r->a, "%s.property", f), *of = arena_printf(r->a, "%s.operator", f);
	const char *vf = arena_printf(r->a, "%s.value", f);
	if (!prop || !*prop || strlen(prop) > 200)
		return req_fail_field(r, E_VALIDATION, pf, "%s is required", pf);
	if (!op_known(op))
		return req_fail_field(r, E_VALIDATION, of, "%s must be one of eq neq gt gte lt lte in nin "
				      "contains starts_with is_null is_not_null changed changed_to", of);
	if ((!strcmp(op, "changed") || !strcmp(op, "changed_to")) && !strstr(trigger, ".updated"))
		return req_fail_field(r, E_VALIDATION, of, "%s: %s applies to *.updated triggers only",
				      of, op);
	if (!op_unary(op) && !v)
		return req_fail_field(r, E_VALIDATION, vf, "%s is required for %s", vf, op);
	if ((!strcmp(op, "in") || !strcmp(op, "nin")) &&
	    (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 || cJSON_GetArraySize(v) > 100))
		return req_fail_field(r, E_VALIDATION, vf, "%s must be an array of 1 to 100 values", vf);
	static const char *const own[] = { "id", "created_at", "updated_at", "created_by",
					   "version", "object_id", "object_type_id", NULL };
	bool known = !t || strchr(prop, '.') || objtype_prop(t, prop);
	for (int k = 0; !known && own[k]; k++)
		known = !strcmp(own[k], prop);
	if (!known)
		return req_fail_field(r, E_VALIDATION, pf, "%s: %.60s is not a property of %s", pf, prop,
				      t->name);
	return E_OK;
}

/* --- the descriptor ---------------------------------------------------------------- */

static bool trigger_valid(const char *e)
{
	if (!e || !strcmp(e, "*") || !strcmp(e, "custom.*"))
		return false;
	return event_subscription_valid(e);
}

static err_t check_trigger(req_t *r, const res_field_t *f, const cJSON *v)
{
	(void)f;
	if (!trigger_valid(v->valuestring))
		return req_fail_field(r, E_VALIDATION, "trigger_event", "trigger_event must be an event "
				      "type of GET /events/types (object.created, …) or custom.<name>");
	return E_OK;
}

static const res_field_t auto_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_REQUIRED | RF_SORT,
	  .min = 1, .max = 255 },
	{ .name = "description", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 2000 },
	{ .name = "trigger_event", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_FILTER, .min = 1, .max = 64, .check = check_trigger },
	{ .name = "object_type_id", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_NULLABLE | RF_FILTER, .min = 1, .max = 100 },
	{ .name = "conditions", .type = COL_JSON, .in = FT_ARRAY, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = CONDITIONS_MAX },
	{ .name = "actions", .type = COL_JSON, .in = FT_ARRAY, .flags = RF_WRITABLE | RF_REQUIRED,
	  .min = 1, .max = ACTIONS_MAX },
	{ .name = "enabled", .type = COL_BOOL, .in = FT_BOOL, .flags = RF_WRITABLE | RF_FILTER },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME, .flags = RF_SORT },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* The body's member, or on update the row's. */
static const cJSON *given_or_row(const res_ctx_t *c, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, name);
	return v ? v : cJSON_GetObjectItemCaseSensitive(c->before, name);
}

/* Each action: {type, config, continue_on_error}; stored with its
 * secrets sealed. */
static err_t actions_check(req_t *r, res_ctx_t *c, const cJSON *actions)
{
	cJSON *stored = req_own(r, cJSON_CreateArray());
	int i = 0;
	const cJSON *a;
	cJSON_ArrayForEach(a, actions) {
		const char *f = arena_printf(r->a, "actions[%d]", i++);
		if (!cJSON_IsObject(a))
			return req_fail_field(r, E_VALIDATION, f, "%s must be {type, config}", f);
		const cJSON *it;
		cJSON_ArrayForEach(it, a)
			if (strcmp(it->string, "type") && strcmp(it->string, "config") &&
			    strcmp(it->string, "continue_on_error"))
				return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.%.40s", f, it->string),
						      "%s takes only type, config and continue_on_error", f);
		const cJSON *coe = cJSON_GetObjectItemCaseSensitive(a, "continue_on_error");
		if (coe && !cJSON_IsBool(coe))
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.continue_on_error", f),
					      "%s.continue_on_error must be true or false", f);
		const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(a, "config");
		cJSON *empty = req_own(r, cJSON_CreateObject());
		cJSON *cfg_stored;
		err_t rc = action_validate(r, json_str_of(a, "type"), cfg ? cfg : empty,
					   arena_printf(r->a, "%s.type", f),
					   arena_printf(r->a, "%s.config", f), &cfg_stored);
		if (rc)
			return rc;
		cJSON *s = cJSON_CreateObject();
		cJSON_AddStringToObject(s, "type", json_str_of(a, "type"));
		cJSON_AddItemToObject(s, "config", cJSON_Duplicate(cfg_stored, true));
		cJSON_AddBoolToObject(s, "continue_on_error", cJSON_IsTrue(coe));
		cJSON_AddItemToArray(stored, s);
	}
	resource_set(c, "actions", db_str(req_json_text(r, stored)));
	return E_OK;
}

static err_t auto_validate(req_t *r, res_ctx_t *c)
{
	const cJSON *trig = given_or_row(c, "trigger_event");
	const cJSON *type = given_or_row(c, "object_type_id");
	const char *trigger = cJSON_IsString(trig) ? trig->valuestring : "";
	objtype_t *t = NULL;
	if (cJSON_IsString(type) && objtype_load(r, type->valuestring, &t))
		return req_fail_field(r, E_VALIDATION, "object_type_id", "No object type \"%.100s\"",
				      type->valuestring);
	if (t && cJSON_GetObjectItemCaseSensitive(c->body, "object_type_id"))
		resource_set(c, "object_type_id", db_str(t->id));
	const cJSON *conds = cJSON_GetObjectItemCaseSensitive(c->body, "conditions");
	bool recheck = conds || cJSON_GetObjectItemCaseSensitive(c->body, "trigger_event") ||
		       cJSON_GetObjectItemCaseSensitive(c->body, "object_type_id");
	if (!conds)
		conds = cJSON_GetObjectItemCaseSensitive(c->before, "conditions");
	int i = 0;
	const cJSON *it;
	err_t rc;
	if (!recheck)
		conds = NULL;
	cJSON_ArrayForEach(it, conds)
		if ((rc = cond_check(r, it, i++, trigger, t)))
			return rc;
	if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c->body, "conditions")) ||
	    (c->op == OP_CREATE && !cJSON_GetObjectItemCaseSensitive(c->body, "conditions")))
		resource_set(c, "conditions", db_str("[]"));
	const cJSON *actions = cJSON_GetObjectItemCaseSensitive(c->body, "actions");
	if (actions && cJSON_GetArraySize(actions) == 0)
		return req_fail_field(r, E_VALIDATION, "actions", "actions must hold 1 to %d actions",
				      ACTIONS_MAX);
	return actions ? actions_check(r, c, actions) : E_OK;
}

/* Sealed secrets stay in the server. */
static err_t auto_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	(void)r;
	(void)c;
	const cJSON *a;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(row, "actions"))
		action_config_redact(cJSON_GetObjectItemCaseSensitive(a, "config"));
	return E_OK;
}

static const res_hooks_t auto_hooks = {
	.validate = auto_validate,
	.render = auto_render,
};

static const resource_t auto_res = {
	.name = "Automation",
	.type = "automation",
	.table = "automations",
	.home = RES_CONTROL,
	.id_param = "automation_id",
	.id_prefix = "auto_",
	.fields = auto_fields,
	.order = "created_at DESC",
	.title = "name",
	.flags = RES_CREATED_BY,
	.list_shape = LIST_ARRAY,
	.hooks = &auto_hooks,
	.example = "{\"name\":\"probe\",\"trigger_event\":\"object.created\",\"actions\":"
		   "[{\"type\":\"publish_event\",\"config\":{\"event_type\":\"probe\"}}]}",
};

/* --- runs and the manual trigger ------------------------------------------------- */

/* The automation in the path (404 across tenants). */
static err_t auto_load(req_t *r, cJSON **row)
{
	res_ctx_t c;
	err_t rc = resource_ctx(r, &auto_res, OP_GET, &c);
	return rc ? rc : resource_fetch(r, &c, c.id, false, row);
}

static err_t auto_runs(req_t *r)
{
	cJSON *row;
	long long limit, offset;
	err_t rc;
	if ((rc = auto_load(r, &row)) || (rc = req_query_int(r, "limit", 20, 1, 100, &limit)) ||
	    (rc = req_query_int(r, "offset", 0, 0, 1000000000, &offset)))
		return rc;
	const char *id = json_str_of(row, "id");
	db_param p[] = { db_str(r->tenant.id), db_str(id), db_int(limit), db_int(offset) };
	db_result *res, *cnt;
	enum db_status st = db_exec(r->db, r->a, "SELECT " ACTION_RUN_SELECT " FROM action_runs "
				    "WHERE tenant_id = ? AND source_id = ? ORDER BY created_at DESC, id DESC "
				    "LIMIT ? OFFSET ?", p, 4, &res);
	if (!st)
		st = db_exec(r->db, r->a, "SELECT COUNT(*) FROM action_runs WHERE tenant_id = ? AND "
			     "source_id = ?", p, 2, &cnt);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject(), *runs = cJSON_AddArrayToObject(d, "runs");
	for (int i = 0; i < res->nrows; i++)
		cJSON_AddItemToArray(runs, row_to_json(action_run_cols, res, i));
	cJSON_AddNumberToObject(d, "total", (double)db_get_int(cnt, 0, "COUNT(*)", 0));
	cJSON_AddNumberToObject(d, "limit", (double)limit);
	cJSON_AddNumberToObject(d, "offset", (double)offset);
	reply_data(r, 200, d);
	return E_OK;
}

static const field_t trigger_body[] = {
	{ "data", FT_OBJECT, 0, 0, 0 },
	{ NULL, 0, 0, 0, 0 },
};

/* Runs the automation now (conditions not applied: a manual run) with
 * the body's data as the event's data. */
static err_t auto_trigger(req_t *r)
{
	cJSON *row;
	err_t rc = auto_load(r, &row);
	if (rc)
		return rc;
	const char *id = json_str_of(row, "id");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->json, "data");
	char evt[40], ts[RFC3339_LEN];
	id_new(evt, sizeof(evt), "evt_");
	cJSON *event = req_own(r, event_json(evt, json_str_of(row, "trigger_event"),
					     time_rfc3339(ts, time(NULL)), r->tenant.id, "automation", id,
					     data));
	char run_id[40];
	bool created;
	enum db_status st = action_run_create(r->db, r->a, r->tenant.id, id, NULL, "manual",
					      json_str_of(row, "trigger_event"), evt, r->chain_depth,
					      RUN_KIND, event, NULL, NULL, run_id, &created);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "run_id", run_id);
	cJSON_AddStringToObject(d, "status", "queued");
	reply_data(r, 200, d);
	return E_OK;
}

/* --- the fan-out and the job ---------------------------------------------------- */

/* The enabled automations of the event's tenant and trigger (one indexed
 * query), read once per fan-out pass for each tenant and event type in
 * turn: a batch of creates asks once, not once an event. */
static enum db_status triggered_by(db_t *db, arena_t *a, const job_event_t *ev, db_result **res)
{
	static struct {
		unsigned long pass;
		const char *tenant_id, *type;
		db_result *res;
	} memo;
	if (ev->pass && memo.pass == ev->pass && memo.res && !strcmp(memo.tenant_id, ev->tenant_id) &&
	    !strcmp(memo.type, ev->type)) {
		*res = memo.res;
		return DB_OK;
	}
	db_param p[] = { db_str(ev->tenant_id), db_str(ev->type) };
	memo.res = NULL;
	enum db_status st = db_exec(db, a, "SELECT id, object_type_id, conditions FROM automations "
				    "WHERE tenant_id = ? AND enabled = 1 AND trigger_event = ? ORDER BY id",
				    p, 2, res);
	if (st)
		return st;
	memo.pass = ev->pass;
	memo.tenant_id = arena_strdup(a, ev->tenant_id);
	memo.type = arena_strdup(a, ev->type);
	memo.res = *res;
	return DB_OK;
}

/* Starts a run per enabled automation of the tenant whose trigger, type
 * and conditions match the event; past the chain limit the run is
 * recorded as skipped instead. */
static enum db_status auto_fan_out(db_t *db, arena_t *a, const job_event_t *ev, bool *wrote)
{
	db_result *res;
	enum db_status st = triggered_by(db, a, ev, &res);
	if (st || res->nrows == 0)
		return st;
	cJSON *event = NULL;
	const char *type_id = json_str_of(ev->data, "object_type_id");
	for (int i = 0; i < res->nrows && !st; i++) {
		const char *want = db_get(res, i, "object_type_id");
		if (want && (!type_id || strcmp(want, type_id)))
			continue;
		cJSON *conds = cJSON_Parse(db_get(res, i, "conditions"));
		bool match = conditions_hold(conds, ev->data);
		cJSON_Delete(conds);
		if (!match)
			continue;
		if ((st = fanout_savepoint(db, wrote)))
			break;
		if (!event)
			event = event_json(ev->id, ev->type, ev->created_at, ev->tenant_id,
					   ev->resource_type, ev->resource_id, ev->data);
		bool deep = ev->chain_depth >= AUTOMATION_CHAIN_MAX;
		char run_id[40];
		bool created;
		st = action_run_create(db, a, ev->tenant_id, db_get(res, i, "id"), ev->id, "event",
				       ev->type, ev->id, ev->chain_depth, RUN_KIND, event,
				       deep ? "CHAIN_DEPTH_EXCEEDED" : NULL,
				       deep ? arena_printf(a, "The event is the result of %d automation "
							   "runs in a chain; at most %d may follow one "
							   "another", ev->chain_depth,
							   AUTOMATION_CHAIN_MAX) : NULL,
				       run_id, &created);
	}
	cJSON_Delete(event);
	return st;
}

static enum db_status auto_actions(db_t *db, arena_t *a, const char *tenant_id,
				   const char *source_id, cJSON **actions)
{
	db_param p[] = { db_str(source_id), db_str(tenant_id) };
	db_result *res;
	enum db_status st = db_exec(db, a, "SELECT actions FROM automations WHERE id = ? AND "
				    "tenant_id = ?", p, 2, &res);
	if (!st)
		*actions = cJSON_Parse(res->nrows ? db_cell(res, 0, 0) : "[]");
	return st;
}

static int auto_run_job(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
			const cJSON *payload, char *err, size_t errlen)
{
	return action_run_job(db, cache, a, tenant_id, payload, auto_actions, NULL, err, errlen);
}

const job_kind_t automations_jobs[] = {
	{ .name = RUN_KIND, .run = auto_run_job, .timeout_s = 120, .fan_out = auto_fan_out },
	{ NULL },
};

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t automations_routes[] = {
	CRUD("GET", "/v1/automations", "Automations", "*", NULL, 0, auto_res, OP_LIST, "List automations"),
	CRUD("POST", "/v1/automations", "Automations", "*", NULL, 0, auto_res, OP_CREATE, "Create automation"),
	CRUD("GET", "/v1/automations/:automation_id", "Automations", "*", NULL, 0, auto_res, OP_GET, "Get automation"),
	CRUD("PATCH", "/v1/automations/:automation_id", "Automations", "*", NULL, 0, auto_res, OP_UPDATE, "Update automation"),
	CRUD("DELETE", "/v1/automations/:automation_id", "Automations", "*", NULL, 0, auto_res, OP_DELETE, "Delete automation"),
	ROUTE("GET", "/v1/automations/:automation_id/runs", "Automations", AUTH_BEARER, "*", NULL, 0, auto_runs, NULL, "List automation runs"),
	ROUTE("POST", "/v1/automations/:automation_id/trigger", "Automations", AUTH_BEARER, "*", NULL, 0, auto_trigger, trigger_body, "Trigger automation"),
	ROUTES_END,
};
