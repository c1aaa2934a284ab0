/*
 * multipart.h - multipart/form-data (RFC 7578) over a body already in
 * memory (or mapped from nginx's buffered file): the parts point into the
 * body, nothing is copied but names.
 */
#ifndef TESSERA_MULTIPART_H
#define TESSERA_MULTIPART_H

#include <stddef.h>

#include "arena.h"

#define MULTIPART_MAX_PARTS 16

typedef struct mp_part {
	char *name;                 /* the form field's name */
	char *filename;             /* as the client sent it; NULL for a plain field */
	const unsigned char *data;  /* inside the body */
	size_t len;
} mp_part_t;

/* The boundary of a multipart/form-data Content-Type (arena copy), or NULL
 * when ct is another type or has no usable boundary. */
char *multipart_boundary(arena_t *a, const char *ct);

/*
 * Splits body into at most MULTIPART_MAX_PARTS parts.  Returns 0, or -1
 * with a message for the client in err.  Part names and filenames are
 * taken as sent (browsers percent-encode '"' and line breaks and leave '\'
 * alone); a part without a name is an error.
 */
int multipart_parse(arena_t *a, const unsigned char *body, size_t len, const char *boundary,
		    mp_part_t *parts, int *nparts, char *err, size_t errlen);

#endif
