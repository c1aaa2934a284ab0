/*
 * workflows.h - what objects.c asks of approval workflows.
 */
#ifndef TESSERA_WORKFLOWS_H
#define TESSERA_WORKFLOWS_H

#include "../fcgi/request.h"

/* 409 IN_REVIEW when object_id is in review (until it is approved or
 * rejected); E_OK otherwise. */
err_t workflow_guard(req_t *r, const char *object_id);

#endif
