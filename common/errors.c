/*
 * errors.c - lookups into the error catalogue.
 */
#include "errors.h"

static const struct {
	int status;
	const char *code;
	const char *message;
} catalogue[] = {
#define ERR(name, status, code, msg) [name] = { status, code, msg },
#include "errors.def"
#undef ERR
};

int err_status(err_t e)
{
	return (unsigned)e < E__COUNT ? catalogue[e].status : 500;
}

const char *err_code(err_t e)
{
	return (unsigned)e < E__COUNT ? catalogue[e].code : "INTERNAL_ERROR";
}

const char *err_message(err_t e)
{
	return (unsigned)e < E__COUNT ? catalogue[e].message : "Internal error";
}
