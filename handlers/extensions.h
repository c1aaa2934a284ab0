/*
 * extensions.h - what custom functions, plugins and integrations share:
 * running a function (functions.c) and the configuration a plugin hands
 * its functions (plugins.c).
 */
#ifndef TESSERA_EXTENSIONS_H
#define TESSERA_EXTENSIONS_H

#include <cJSON.h>

#include "../common/luabox.h"
#include "../fcgi/request.h"
#include "../fcgi/resource.h"

/* The custom functions' descriptor (plugins install rows of it). */
extern const resource_t function_res;

/* How one run ended: the sandbox's result (trees owned by the request)
 * and the id of its row in the function's log. */
typedef struct fn_outcome {
	luabox_result_t res;
	char run_id[40];
} fn_outcome_t;

/*
 * Runs function fn_id of r's tenant with input (may be NULL) and records
 * the run (trigger: "http", "event", "schedule").  404 when there is no
 * such function, 409 when it is disabled; otherwise E_OK with *out saying
 * how the function ended (which may be an error of the function's own).
 */
err_t function_run(req_t *r, const char *fn_id, const char *trigger, const cJSON *input,
		   fn_outcome_t *out);

/* The config_json of plugin id (a JSON object owned by r, NULL when it
 * has none). */
err_t plugin_config(req_t *r, const char *plugin_id, cJSON **out);

#endif
