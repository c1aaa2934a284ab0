/*
 * apps.h - what the apps handlers (forms, dashboards, saved reports,
 * short URLs, branding) share: the tenant's public branding and the
 * client's address as a hash.
 */
#ifndef TESSERA_APPS_H
#define TESSERA_APPS_H

#include <cJSON.h>

#include "../fcgi/request.h"

/* The tenant's branding as public pages show it (brand name, logo,
 * favicon, colours, footer, custom CSS; no domain), into *out (owned by
 * r). */
err_t branding_public(req_t *r, cJSON **out);

/* The client's address as a keyed hash (HMAC-SHA256 under the master key,
 * hex): what counts unique visitors and rate limits, never the address
 * itself.  In r->a. */
char *client_address_hash(req_t *r);

#endif
