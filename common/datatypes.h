/*
 * datatypes.h - the 22 property data types: how a value is validated and
 * normalised, and which generated column type holds it.
 *
 * Values live in the object's JSON; each defined property also gets a
 * VIRTUAL generated column `p_<name>` computed from that JSON (DESIGN.md),
 * so that filters, sorts and unique checks use real typed columns and their
 * indexes.  Types whose values are documents (json, array, multi_enum,
 * geo_point) and long texts cannot be indexed, sorted or unique.
 */
#ifndef TESSERA_DATATYPES_H
#define TESSERA_DATATYPES_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "arena.h"

typedef struct prop prop_t;

typedef struct dtype {
	const char *name;
	const char *column;      /* SQL column type of p_<name> */
	const char *expr;        /* printf template over the JSON path literal */
	bool indexable;          /* may be indexed, sortable or unique */
	/* Validates v for p; on success returns a normalised copy (caller
	 * owns it).  On failure returns NULL with a message in msg. */
	cJSON *(*check)(const prop_t *p, const cJSON *v, char *msg, size_t msglen);
} dtype_t;

struct prop {
	const char *id;
	const char *name;
	const dtype_t *type;
	bool required, unique, indexed, sortable;
	const cJSON *default_value;   /* may be NULL */
	const cJSON *enum_values;     /* array of strings for enum types */
};

/* The type called name, or NULL. */
const dtype_t *dtype_find(const char *name);
/* Comma-separated list of every type name (for error messages). */
const char *dtype_names(void);
/* SQL expression of the generated column for property name of type t,
 * allocated in a.  name must already match ^[a-z][a-z0-9_]{0,62}$. */
char *dtype_column_expr(arena_t *a, const dtype_t *t, const char *name);
/* True if s is a valid identifier for a type or property name. */
bool ident_valid(const char *s);

/* The one email address rule of Tessera (the email data type, end users,
 * mail recipients, tenant lookup): local@domain, local part at most 64 and
 * the whole at most 254 bytes (RFC 5321), a dotted domain, no spaces,
 * control characters or the specials <>()[]\,;:" anywhere. */
bool email_address_valid(const char *s);

/* An E.164 phone number: "+", a first digit 1-9, 7 to 15 digits in all. */
bool phone_e164_valid(const char *s);

#endif
