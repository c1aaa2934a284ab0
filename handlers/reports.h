/*
 * reports.h - aggregate reports over the objects of one type (funnel,
 * leaderboard, pipeline, timeseries), computed by MariaDB with GROUP BY
 * over the generated property columns, narrowed by the object filter
 * grammar (objquery.h) and, for end users, by their row-level policies.
 * The report endpoints, dashboard widgets and saved reports all run them
 * through report_run().
 */
#ifndef TESSERA_REPORTS_H
#define TESSERA_REPORTS_H

#include <stdbool.h>

#include <cJSON.h>

#include "../fcgi/request.h"
#include "../fcgi/resource.h"

/* True if type names a report: funnel, leaderboard, pipeline, timeseries,
 * and the two without an endpoint: metric (one aggregate) and objects (the
 * newest objects passing the filters or a saved view's). */
bool report_type_valid(const char *type);

/*
 * Runs the report type on the request spec (the body of POST
 * /v1/reports/<type>) for r's tenant and caller into *out (owned by r).
 * Errors name the offending member prefixed by prefix ("" or
 * "config_json."): 400 VALIDATION_ERROR for unknown properties,
 * aggregations, intervals or more than 10,000 buckets, 404 for an unknown
 * object type.
 */
err_t report_run(req_t *r, const char *type, const cJSON *spec, const char *prefix, cJSON **out);

/*
 * Create and update hook of a resource that holds a report request (a
 * dashboard widget, a saved report): runs the request made of the body's
 * type and config_json (each else the row's), so that one that cannot run
 * is refused naming config_json.<member>.  kind maps the type to the
 * report kind (NULL: the type is the kind).
 */
err_t report_check_request(req_t *r, const res_ctx_t *c, const char *(*kind)(const char *type));

#endif
