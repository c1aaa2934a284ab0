/*
 * schema.h - declarative request-body schemas checked before a handler runs.
 *
 * A route names an array of field_t ending with { NULL }.  The pipeline
 * rejects a body that is not a JSON object, a field not in the list, a
 * missing required field, a value of the wrong type or length, or a string
 * outside the field's values, each with a VALIDATION_ERROR naming the
 * field.  Handlers check only meaning (a scope
 * that does not exist, a time in the past), never shape.
 */
#ifndef TESSERA_SCHEMA_H
#define TESSERA_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "arena.h"

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
	const char *const *values; /* FT_STRING: the allowed values, NULL-ended (NULL = any) */
} field_t;

/*
 * Checks body (may be NULL for an empty body) against fields.  On failure
 * returns false and sets *field (the offending field name, static or inside
 * body) and writes a message into msg.
 */
bool schema_check(const field_t *fields, const cJSON *body, const char **field,
		  char *msg, size_t msglen);

/* Offset of the first byte of s (n bytes) that is not part of well-formed
 * UTF-8 (no overlong forms, surrogates or code points above U+10FFFF), or
 * n. */
size_t utf8_bad_at(const unsigned char *s, size_t n);

/* Replaces, in place, every byte of the NUL-terminated s that is not part
 * of well-formed UTF-8 with '?': text that echoes client input stays
 * valid JSON. */
void utf8_scrub(char *s);

/* Whether v is one of values (NULL-ended). */
bool one_of(const char *v, const char *const *values);

/* "<field> must be one of: a, b, c" into msg (cut to msglen): the one
 * wording of a value outside its list, for the pipeline's schema check
 * and handlers' own checks alike. */
void one_of_message(char *msg, size_t msglen, const char *field, const char *const *values);

/*
 * Settings documents (auth config, governance, branding, forms): nested
 * objects whose every member has a type, bounds and a default.  A PATCH
 * is checked member by member with doc_spec_check; doc_spec_defaults
 * gives the document a tenant has before changing anything.
 */
/* DS_MAP: an object whose members the tenant names ([a-z0-9_-], 1 to
 * min characters, at most max of them), each an object of kids. */
enum doc_spec_type { DS_BOOL, DS_INT, DS_STR, DS_URL, DS_COLOR, DS_URLS, DS_CIDRS, DS_OBJ, DS_MAP };

enum { DSF_NULLABLE = 1 };

typedef struct doc_spec {
	const char *name;
	enum doc_spec_type type;
	unsigned flags;
	long min, max;          /* DS_INT bounds; strings and lists: max length */
	const char *def;        /* DS_STR/URL/COLOR: the text (NULL = null); others: JSON */
	const struct doc_spec *kids;  /* DS_OBJ: its members, ending with { NULL } */
} doc_spec_t;

/* The request-body schema of a document's top level into out (one entry
 * per member of spec and the end): the same types and bounds, objects
 * nullable (null resets one), so that the pipeline and the API reference
 * check and show what doc_spec_check will accept. */
void doc_spec_fields(const doc_spec_t *spec, field_t *out);

/* The defaults of spec as a new object (the caller's). */
cJSON *doc_spec_defaults(const doc_spec_t *spec);

/*
 * Checks the object o against spec: unknown members, types, bounds, URLs,
 * colours, CIDR blocks, nested objects (null resets an object, and clears
 * a nullable value).  On failure returns false with *field the member's
 * path ("branding.primary_color", "redirect_urls[2]", in a) and msg.
 */
bool doc_spec_check(const doc_spec_t *spec, const cJSON *o, arena_t *a, const char **field,
		    char *msg, size_t msglen);

/* True if s is an absolute http(s) URL with a host and no unsafe bytes. */
bool doc_url_ok(const char *s);

#endif
