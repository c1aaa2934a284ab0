/*
 * strbuf.h - a growable string (malloc'd while it grows, handed to an
 * arena when done), for text built piece by piece: email messages and
 * rendered templates.  Running out of memory aborts, as elsewhere.
 */
#ifndef TESSERA_STRBUF_H
#define TESSERA_STRBUF_H

#include <stddef.h>

#include "arena.h"

typedef struct strbuf {
	char *p;
	size_t len, cap;
} strbuf_t;

void sb_putn(strbuf_t *b, const char *s, size_t n);
void sb_puts(strbuf_t *b, const char *s);
void sb_printf(strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s HTML-escaped (& < > " '). */
void sb_put_html(strbuf_t *b, const char *s, size_t n);
/* The text so far, copied into a; the buffer is released and empty. */
char *sb_take(strbuf_t *b, arena_t *a);

#endif
