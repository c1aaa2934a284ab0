/*
 * views.h - what other handlers need from saved views: the object list
 * applies a view (view_id), and deleting a type counts its views.
 */
#ifndef TESSERA_VIEWS_H
#define TESSERA_VIEWS_H

#include <cJSON.h>

#include "../fcgi/request.h"
#include "objmodel.h"

/*
 * Loads view view_id of type t for a list request.  *filters receives the
 * view's filter array (owned by the request; [] when it has none), *sort
 * and *order its sort property and "asc"/"desc" (arena strings), or NULL
 * when the view keeps the list's default order.  The view was valid when
 * saved, but its properties may have changed since: the filters and sort
 * are checked again against t, and a view that no longer fits is 400
 * VALIDATION_ERROR naming "view.filters[i]" or "view.sort".  A view that
 * does not exist, or belongs to another type or tenant, is 404 NOT_FOUND.
 */
err_t views_get_for_list(req_t *r, const objtype_t *t, const char *view_id, cJSON **filters,
			 const char **sort, const char **order);

/* Saved views, children of an object type (whose secure
 * delete counts them). */
extern const resource_t view_res;

#endif
