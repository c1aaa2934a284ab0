/*
 * schema.h - declarative request-body schemas checked before a handler runs.
 *
 * A route names an array of field_t ending with { NULL }.  The pipeline
 * rejects a body that is not a JSON object, a field not in the list, a
 * missing required field or a value of the wrong type, each with a
 * VALIDATION_ERROR naming the field.  Handlers check only meaning (a scope
 * that does not exist, a time in the past), never shape.
 */
#ifndef TESSERA_SCHEMA_H
#define TESSERA_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

enum field_type {
	FT_STRING,
	FT_INT,
	FT_NUMBER,
	FT_BOOL,
	FT_OBJECT,
	FT_ARRAY,
	FT_STRING_ARRAY,
	FT_ANY,
};

enum {
	FF_REQUIRED = 1 << 0,
	FF_NULLABLE = 1 << 1,
};

typedef struct field {
	const char *name;
	enum field_type type;
	unsigned flags;
	long long min;     /* FT_INT: minimum; FT_STRING: min length */
	long long max;     /* FT_INT: maximum; FT_STRING/arrays: max length (0 = none) */
} field_t;

/*
 * Checks body (may be NULL for an empty body) against fields.  On failure
 * returns false and sets *field (the offending field name, static or inside
 * body) and writes a message into msg.
 */
bool schema_check(const field_t *fields, const cJSON *body, const char **field,
		  char *msg, size_t msglen);

#endif
