/*
 * planned.c - the endpoints of the reference that are not built yet.  Each
 * answers 501 NOT_IMPLEMENTED (a NULL handler) until its issue moves the
 * row next to the handlers that serve it.
 */
#include "routes.h"

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t planned_routes[] = {
	ROUTES_END,
};
