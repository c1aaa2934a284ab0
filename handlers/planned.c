/*
 * planned.c - the endpoints of the reference that are not built yet.  Each
 * answers 501 NOT_IMPLEMENTED (a NULL handler) until its issue moves the
 * row next to the handlers that serve it.
 */
#include "routes.h"

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t planned_routes[] = {
	ROUTE("POST", "/v1/auth/saml/:provider/acs", "SAML / SSO", AUTH_NONE, "", NULL, 0, NULL, NULL, "SAML ACS"),
	ROUTE("GET", "/v1/auth/saml/:provider/login", "SAML / SSO", AUTH_NONE, "", NULL, 0, NULL, NULL, "SAML login redirect"),
	ROUTE("GET", "/v1/auth/saml/:provider/metadata", "SAML / SSO", AUTH_NONE, "", NULL, 0, NULL, NULL, "SAML metadata"),
	ROUTES_END,
};
