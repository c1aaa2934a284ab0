/*
 * comments.h - what other handlers need from comments.c: counting and
 * removing the comments that hang on an object or an object type, for
 * secure delete and permanent deletes.  Each runs on the tenant DB of r and
 * joins whatever transaction r has open.
 */
#ifndef TESSERA_COMMENTS_H
#define TESSERA_COMMENTS_H

#include "../fcgi/request.h"

/* Number of comments on object_id into *n.  Errors are already recorded on
 * r (req_db_error). */
err_t comments_count_for(req_t *r, const char *object_id, long long *n);
/* Deletes every comment on object_id (call inside the transaction that
 * deletes the object permanently).  Writes no outbox events: the
 * object.deleted event covers them. */
err_t comments_delete_for(req_t *r, const char *object_id);
/* Deletes every comment on objects of the type object_type_id ("ot_…"),
 * for when the type is dropped. */
err_t comments_delete_for_type(req_t *r, const char *object_type_id);

#endif
