/*
 * strbuf.c - growable strings (see strbuf.h).
 */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sb_putn(strbuf_t *b, const char *s, size_t n)
{
	size_t max = b->max ? b->max : SB_MAX_DEFAULT;
	if (b->overflow || n > max - b->len) {
		b->overflow = true;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *np = realloc(b->p, cap);
		if (!np)
			abort();
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_puts(strbuf_t *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

void sb_printf(strbuf_t *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	char *tmp = malloc((size_t)n + 1);
	if (!tmp)
		abort();
	va_start(ap, fmt);
	vsnprintf(tmp, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb_putn(b, tmp, (size_t)n);
	free(tmp);
}

void sb_put_html(strbuf_t *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': sb_puts(b, "&amp;"); break;
		case '<': sb_puts(b, "&lt;"); break;
		case '>': sb_puts(b, "&gt;"); break;
		case '"': sb_puts(b, "&quot;"); break;
		case '\'': sb_puts(b, "&#39;"); break;
		default: sb_putn(b, s + i, 1);
		}
	}
}

char *sb_take(strbuf_t *b, arena_t *a)
{
	char *s = arena_strndup(a, b->p ? b->p : "", b->len);
	free(b->p);
	memset(b, 0, sizeof(*b));
	return s;
}
