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

void pipeline_handle(FCGX_Request *f, db_t *db, cache_t *cache, arena_t *a);

#endif
