/*
 * associations.h - what other handlers need from associations.c: counting
 * and removing the associations that hang on an object or an object type,
 * for secure delete and permanent deletes.  Each runs on the tenant DB of r
 * and joins whatever transaction r has open.
 */
#ifndef TESSERA_ASSOCIATIONS_H
#define TESSERA_ASSOCIATIONS_H

#include "../fcgi/request.h"

/* Number of associations from or to object_id into *n.  Errors are already
 * recorded on r (req_db_error). */
err_t associations_count_for(req_t *r, const char *object_id, long long *n);
/* Deletes every association from or to object_id (call inside the
 * transaction that deletes the object permanently).  Writes no outbox
 * events: the object.deleted event covers them. */
err_t associations_delete_for(req_t *r, const char *object_id);
/* Deletes every association from or to an object of the type
 * object_type_id ("ot_…"), for when the type is dropped.  No events. */
err_t associations_delete_for_type(req_t *r, const char *object_type_id);

#endif
