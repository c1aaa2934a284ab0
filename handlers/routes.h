/*
 * routes.h - what a handler file needs to export its route rows: the row
 * and its macros (ROUTE, CRUD, ROUTES_END) from fcgi/router.h.  The table
 * is assembled in routes.c.
 */
#ifndef TESSERA_ROUTES_H
#define TESSERA_ROUTES_H

#include "../fcgi/router.h"

#endif
