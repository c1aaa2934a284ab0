/*
 * multipart.c - multipart/form-data parsing (see multipart.h).
 */
#include "multipart.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A part's headers may not be longer than this. */
#define HEADERS_MAX 8192

char *multipart_boundary(arena_t *a, const char *ct)
{
	if (!ct || strncasecmp(ct, "multipart/form-data", 19) != 0)
		return NULL;
	const char *b = strcasestr(ct, "boundary=");
	if (!b)
		return NULL;
	b += 9;
	size_t n;
	if (*b == '"') {
		b++;
		n = strcspn(b, "\"");
	} else {
		n = strcspn(b, "; \t");
	}
	if (n == 0 || n > 70)
		return NULL;
	return arena_strndup(a, b, n);
}

/* Parameter p (name or filename) of a Content-Disposition value; NULL when
 * absent.  "filename*" does not count as "filename". */
static char *cd_param(arena_t *a, const char *v, const char *p)
{
	size_t pl = strlen(p);
	for (const char *s = v; (s = strcasestr(s, p)) != NULL; s += pl) {
		if (s > v && s[-1] != ' ' && s[-1] != ';' && s[-1] != '\t')
			continue;
		const char *q = s + pl;
		if (*q != '=')
			continue;
		q++;
		if (*q != '"')
			return arena_strndup(a, q, strcspn(q, "; \t"));
		q++;
		return arena_strndup(a, q, strcspn(q, "\""));
	}
	return NULL;
}

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

/* Reads one part's header block [h, h+n) into p. */
static int part_headers(arena_t *a, const unsigned char *h, size_t n, mp_part_t *p, char *err,
			size_t errlen)
{
	char *text = arena_strndup(a, (const char *)h, n);
	if (strlen(text) != n)
		return fail(err, errlen, "A multipart header holds a NUL byte");
	for (char *line = text; line && *line;) {
		char *end = strstr(line, "\r\n");
		if (end)
			*end = '\0';
		if (!strncasecmp(line, "Content-Disposition:", 20)) {
			const char *v = line + 20;
			while (*v == ' ' || *v == '\t')
				v++;
			if (strncasecmp(v, "form-data", 9) != 0)
				return fail(err, errlen, "A multipart part is not form-data");
			p->name = cd_param(a, v, "name");
			p->filename = cd_param(a, v, "filename");
		}
		line = end ? end + 2 : NULL;
	}
	if (!p->name || !*p->name)
		return fail(err, errlen, "A multipart part has no name");
	return 0;
}

int multipart_parse(arena_t *a, const unsigned char *body, size_t len, const char *boundary,
		    mp_part_t *parts, int *nparts, char *err, size_t errlen)
{
	char *delim = arena_printf(a, "\r\n--%s", boundary);
	size_t dl = strlen(delim);
	const unsigned char *end = body + len, *p;
	*nparts = 0;
	/* The first delimiter may open the body without the CRLF (no preamble). */
	if (len >= dl - 2 && !memcmp(body, delim + 2, dl - 2))
		p = body + dl - 2;
	else if ((p = memmem(body, len, delim, dl)) != NULL)
		p += dl;
	else
		return fail(err, errlen, "The multipart body has no boundary line");
	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return fail(err, errlen, "Malformed multipart boundary line");
		p += 2;
		size_t rest = (size_t)(end - p);
		const unsigned char *hend = memmem(p, rest < HEADERS_MAX ? rest : HEADERS_MAX, "\r\n\r\n", 4);
		/* A part with no headers at all starts with the blank line. */
		if (rest >= 2 && p[0] == '\r' && p[1] == '\n')
			return fail(err, errlen, "A multipart part has no name");
		if (!hend)
			return fail(err, errlen, "A multipart part's headers do not end");
		if (*nparts == MULTIPART_MAX_PARTS)
			return fail(err, errlen, "Too many multipart parts");
		mp_part_t *pt = &parts[(*nparts)++];
		memset(pt, 0, sizeof(*pt));
		if (part_headers(a, p, (size_t)(hend - p), pt, err, errlen))
			return -1;
		pt->data = hend + 4;
		const unsigned char *next = memmem(pt->data, (size_t)(end - pt->data), delim, dl);
		if (!next)
			return fail(err, errlen, "The multipart body ends inside a part");
		pt->len = (size_t)(next - pt->data);
		p = next + dl;
	}
}
