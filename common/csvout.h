/*
 * csvout.h - CSV output (RFC 4180: fields quoted when they hold a comma,
 * a quote or a line break, quotes doubled), appended to a strbuf: form
 * submission and saved report exports.
 */
#ifndef TESSERA_CSVOUT_H
#define TESSERA_CSVOUT_H

#include <stdbool.h>

#include <cJSON.h>

#include "strbuf.h"

/* Appends the field s, preceded by a comma unless first. */
void csv_field(strbuf_t *b, const char *s, bool first);

/* Appends a JSON value as a field: strings as they are, numbers exact,
 * booleans true/false, documents as JSON text, null or absent empty. */
void csv_value(strbuf_t *b, const cJSON *v, bool first);

#endif
