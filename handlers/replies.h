/*
 * replies.h - reply shapes many handlers share: a page of a list
 * ({<key>: [...], total, limit, offset}) and an acknowledgement of an
 * action ({"<done>": true, …}).  Resources on the engine get these from
 * fcgi/resource.c; these serve the hand-written endpoints.
 */
#ifndef TESSERA_REPLIES_H
#define TESSERA_REPLIES_H

#include "../common/rowjson.h"
#include "../fcgi/request.h"

/* Where a page starts and how long it is. */
typedef struct page {
	long long limit, offset;
} page_t;

/* Reads ?limit= (1 to max, def when absent) and ?offset= into *pg;
 * replies 400 naming the parameter otherwise. */
err_t page_read(req_t *r, long long def, long long max, page_t *pg);

/*
 * Replies with one page of the rows of from (a table name, trusted)
 * meeting where ("WHERE …" with its np parameters p, or ""), in order, as
 * {<key>: [rows rendered by cols], total, limit, offset}; the columns
 * selected are the cols that are not hidden.
 */
err_t page_reply(req_t *r, const page_t *pg, const char *key, const col_t *cols,
		 const char *from, const char *where, const db_param *p, int np, const char *order);

/*
 * Replies 200 {"<done>": true, "<name>": "<value>", …} from the name and
 * value strings that follow done, up to a NULL name: reply_done(r,
 * "retried", "id", id, "job_id", job, NULL).  Returns E_OK.
 */
err_t reply_done(req_t *r, const char *done, ...) __attribute__((sentinel));

/*
 * E_OK when v is NULL (absent) or one of values (NULL-terminated); else
 * replies 400 VALIDATION_ERROR naming field: "<field> must be one of: a, b, c" (one_of_message).
 */
err_t one_of_or_reply(req_t *r, const char *field, const char *v, const char *const *values);

#endif
