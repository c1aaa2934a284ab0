/*
 * actions.h - the action catalogue automations and scheduled jobs share,
 * and their runs.
 *
 * An action is {"type", "config", "continue_on_error"}; its config is
 * checked when the automation or job is saved (action_validate), never
 * first when it runs.  Strings of a config may hold {{path.to.field}}
 * placeholders, filled from the event the run handles ({"id", "type",
 * "data", …} as webhooks receive it): a string that is one placeholder
 * takes the value itself (a number stays a number).
 *
 * A run is a row of action_runs (control DB): its trigger, status
 * (queued, running, succeeded, failed, skipped), the steps with their
 * result and duration, and the failed step's error.  Runs are executed by
 * the jobs runner (action_run_execute), each action on a request of the
 * runner's own that acts as the automation or job (the actor of what it
 * writes) with the run's chain depth + 1.
 */
#ifndef TESSERA_ACTIONS_H
#define TESSERA_ACTIONS_H

#include <stdbool.h>

#include <cJSON.h>

#include "../common/rowjson.h"
#include "../fcgi/jobs.h"
#include "../fcgi/request.h"

/* Most actions of an automation. */
#define ACTIONS_MAX 20
/* Events at this chain depth start no automation run (the run log says
 * CHAIN_DEPTH_EXCEEDED instead). */
#define AUTOMATION_CHAIN_MAX 5
/* Runs a scheduled job's GET shows. */
#define RUNS_SHOWN 50

/* The catalogue's type names, NULL-terminated. */
extern const char *const action_types[];

/*
 * Checks the action of type with config (field names for errors: tfield
 * for the type, cfield the config's prefix, "actions[0].config").  On
 * success *stored is the config to store (owned by r): secrets sealed
 * under the master key (an http_request's header values, a call_webhook's
 * secret).  400 VALIDATION_ERROR naming the field otherwise (404
 * FUNCTION_NOT_FOUND / REPORT_NOT_FOUND for what does not exist).
 */
err_t action_validate(req_t *r, const char *type, const cJSON *config, const char *tfield,
		      const char *cfield, cJSON **stored);

/* Masks what action_validate sealed in a stored config, in place, for
 * rendering: sealed values never leave the server. */
void action_config_redact(cJSON *config);

/* The columns of a run as the API shows it (steps and error included). */
extern const col_t action_run_cols[];
/* The SELECT list of action_run_cols. */
#define ACTION_RUN_SELECT "id, source_id, trigger_kind AS `trigger`, trigger_event, event_id, chain_depth, " \
	"status, steps, failed_step, error_code, error, created_at, started_at, finished_at"

/*
 * Records a run of source_id (an automation or a scheduled job) for
 * occurrence (unique per source: the event id, the due time, the run id)
 * in the open transaction or on its own: "queued", and a job of job_kind
 * to run it (payload {run_id, event}), or with error_code "skipped" with
 * that error.  *created is false (and nothing enqueued) when the occurrence
 * has its run already.  run_id receives the id (size >= 40).
 */
enum db_status action_run_create(db_t *db, arena_t *a, const char *tenant_id, const char *source_id,
				 const char *occurrence, const char *trigger_kind,
				 const char *trigger_event, const char *event_id, int chain_depth,
				 const char *job_kind, const cJSON *event, const char *error_code,
				 const char *error, char *run_id, bool *created);

/* The actions of source_id (an array of stored actions) into *actions
 * (a tree the caller frees; an empty array when the source is gone). */
typedef enum db_status (*action_load_fn)(db_t *db, arena_t *a, const char *tenant_id,
					 const char *source_id, cJSON **actions);
/* The source's own record of a run's outcome (status: succeeded, failed). */
typedef void (*action_finished_fn)(db_t *db, arena_t *a, const char *tenant_id,
				   const char *source_id, const char *status);

/*
 * The job that runs a queued run (payload {run_id, event}): marks it
 * running, runs the actions load gives in order on a request of the
 * runner's own that acts as the source, with the event's chain depth + 1,
 * and records the outcome (a failed action stops the run, status failed,
 * failed_step, error, unless it continues on error), then calls finished
 * (may be NULL).  A run that is gone or ran already is done.  A job_fn.
 */
int action_run_job(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		   const cJSON *payload, action_load_fn load, action_finished_fn finished,
		   char *err, size_t errlen);

/* Fills tmpl's {{path}} placeholders from event (see above): a new tree
 * the caller frees. */
cJSON *action_template(const cJSON *tmpl, const cJSON *event);

/* The value at a dotted path of root ("data.object.id"), or NULL. */
const cJSON *json_path(const cJSON *root, const char *path);

#endif
