/*
 * objquery.h - the object part of the query builder (../fcgi/query.h):
 * object filters ({property, operator, value}) compiled into a query_t,
 * and the object list's order.  The object list, saved views and policies
 * (objects.c, objmodel.c) use it.
 *
 * The SQL it writes names only the object type's properties and columns
 * (id, created_at, …), checked against the type; every value is bound.
 */
#ifndef TESSERA_OBJQUERY_H
#define TESSERA_OBJQUERY_H

#include <cJSON.h>

#include "../fcgi/query.h"
#include "objmodel.h"

/* Filter rules. */
enum {
	QF_SAVED = 1 << 0,  /* a saved view's: no created_by, the operator is checked
			     * first, document types name the operators they take */
};

/*
 * Compiles the filter f ({"property", "operator", "value"}) on type t to
 * *clause, binding its values to q in the order they appear (the caller
 * adds the clause).  The property exists or is id, created_at, updated_at
 * or created_by; the operator is one of eq neq gt gte lt lte in nin
 * contains starts_with is_null is_not_null; values must fit the property's
 * data type.  400 VALIDATION_ERROR naming field otherwise.
 */
err_t query_filter(req_t *r, const objtype_t *t, query_t *q, const cJSON *f, const char *field,
		   unsigned flags, char **clause);
/* Adds every filter of the array filters (at most OBJ_FILTERS_MAX) to q;
 * errors name "<field>[i]", or field when filters is not such an array. */
err_t query_filters(req_t *r, const objtype_t *t, query_t *q, const cJSON *filters,
		    const char *field, unsigned flags);

/* The object list's order from ?sort= and ?order= (or the saved view's
 * sort and order when the query has none): created_at, updated_at or a
 * sortable property; created_at descending by default. */
err_t query_object_order(req_t *r, const objtype_t *t, const char *view_sort,
			 const char *view_order, query_order_t *o);

#endif
