/*
 * errors.h - the one catalogue of API error codes (errors.def).
 *
 * Handlers return an err_t; the pipeline turns it into the JSON envelope with
 * the catalogue's HTTP status and code.  E_OK is 0 so `if (rc) return rc;`
 * reads naturally.
 */
#ifndef TESSERA_ERRORS_H
#define TESSERA_ERRORS_H

typedef enum {
#define ERR(name, status, code, msg) name,
#include "errors.def"
#undef ERR
	E__COUNT
} err_t;

int err_status(err_t e);
const char *err_code(err_t e);
const char *err_message(err_t e);

#endif
