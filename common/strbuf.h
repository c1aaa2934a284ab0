/*
 * strbuf.h - a growable string (malloc'd while it grows, handed to an
 * arena when done), for text built piece by piece: email messages and
 * rendered templates.  Running out of memory aborts, as elsewhere.
 */
#ifndef TESSERA_STRBUF_H
#define TESSERA_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/* Most a buffer holds unless it names its own max (as curl's dynbuf has
 * one): a runaway loop stops here instead of eating the worker. */
#define SB_MAX_DEFAULT (64u << 20)

typedef struct strbuf {
	char *p;
	size_t len, cap;
	size_t max;        /* most bytes it may hold; 0 = SB_MAX_DEFAULT */
	bool overflow;     /* an append went past max and was dropped */
} strbuf_t;

/* Appends n bytes; past max nothing more is appended and overflow is set. */
void sb_putn(strbuf_t *b, const char *s, size_t n);
void sb_puts(strbuf_t *b, const char *s);
void sb_printf(strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s HTML-escaped (& < > " '). */
void sb_put_html(strbuf_t *b, const char *s, size_t n);
/* The text so far, copied into a; the buffer is released and empty. */
char *sb_take(strbuf_t *b, arena_t *a);

#endif
