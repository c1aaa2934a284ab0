/*
 * jsonx.h - exact numbers in JSON.
 *
 * cJSON prints a number with 15 significant digits whenever that text comes
 * within DBL_EPSILON of it: 1e15 comes out as "1e+15", which MariaDB will
 * not cast to an integer, 9007199254740991 loses its last digit and
 * 0.30000000000000004 becomes 0.3.  These helpers print numbers so that
 * they read back exactly.
 */
#ifndef TESSERA_JSONX_H
#define TESSERA_JSONX_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

/* The shortest text that reads back as exactly d. */
void json_number_text(char *buf, size_t len, double d);
/* Swaps every number inside j (recursively) for raw text that reads back
 * exactly, before j is stored or sent. */
void json_exact_numbers(cJSON *j);

/* The string member name of o, or NULL (absent, null or not a string). */
const char *json_str_of(const cJSON *o, const char *name);

/* The nesting limit of every free-form JSON value a request carries
 * (metadata, event data, json properties, …).  MariaDB's JSON functions
 * stop at 32 levels, and stored values are wrapped in a few more (events
 * inside job payloads), so requests stay well below it. */
#define JSON_DEPTH_MAX 16

/* The nesting depth of v: 0 for a scalar, 1 for [] or {}, 2 for [[1]]. */
int json_depth(const cJSON *v);

/* Whether a member of the object body nests deeper than JSON_DEPTH_MAX
 * (a non-object body counts as a whole).  On true, *field names the
 * top-level member (or "body"); it points into body. */
bool json_too_deep(const cJSON *body, const char **field);

/* The first member name an object inside v has twice, or NULL.  RFC 8259
 * leaves duplicates to the parser (cJSON keeps the first, JavaScript and
 * Python the last): a body that has them means different things to
 * different readers, so the API refuses it.  O(n log n) per object; v
 * must already be within JSON_DEPTH_MAX. */
const char *json_duplicate_member(const cJSON *v);

#endif
