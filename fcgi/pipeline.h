/*
 * pipeline.h - one request from FastCGI parameters to written response:
 * route, authenticate, read and validate the body, run the handler, render
 * the envelope, log.
 */
#ifndef TESSERA_PIPELINE_H
#define TESSERA_PIPELINE_H

#include <fcgiapp.h>

#include "../common/arena.h"
#include "../common/cache.h"
#include "../common/db.h"
#include "request.h"

void pipeline_handle(FCGX_Request *f, db_t *db, cache_t *cache, arena_t *a);

/*
 * One API call made from inside request r on behalf of another principal
 * of the same tenant (a custom function's tessera.objects calls): method
 * and path (which may carry ?query) through the route table, the row's
 * scope checked against who->scopes and its body schema against body
 * (NULL: none), then its handler, in r's arena, database session and
 * tenant.  Only credential rows served by a handler can be called.
 * Returns E_OK with *data the reply's data (owned by r), or the error with
 * *msg its message (owned by r) and r's err_details and err_extra the
 * call's (a secure delete's confirm token), should r answer with it.
 */
err_t pipeline_subrequest(req_t *r, const principal_t *who, const char *method, const char *path,
			  cJSON *body, cJSON **data, const char **msg);

#endif
