/*
 * qr.c - see qr.h.  Each dark module is one 1x1 square of a single SVG
 * path, in a viewBox of module units, so any renderer scales it crisply.
 */
#include "qr.h"

#include <stdio.h>
#include <string.h>

#include <qrencode.h>
#include <sodium.h>

#define QUIET 4

char *qr_svg_data_uri(arena_t *a, const char *text)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!q)
		return NULL;
	int w = q->width, full = w + 2 * QUIET;
	/* "M{x} {y}h1v1h-1z" is at most 24 bytes per module. */
	size_t cap = (size_t)w * (size_t)w * 24 + 512;
	char *svg = arena_alloc(a, cap);
	size_t n = (size_t)snprintf(svg, cap,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		"shape-rendering=\"crispEdges\" width=\"%d\" height=\"%d\">"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
		full, full, full * 6, full * 6);
	for (int y = 0; y < w; y++)
		for (int x = 0; x < w; x++)
			if (q->data[y * w + x] & 1)
				n += (size_t)snprintf(svg + n, cap - n, "M%d %dh1v1h-1z", x + QUIET, y + QUIET);
	n += (size_t)snprintf(svg + n, cap - n, "\"/></svg>");
	QRcode_free(q);
	const char *prefix = "data:image/svg+xml;base64,";
	size_t plen = strlen(prefix);
	size_t blen = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = arena_alloc(a, plen + blen);
	memcpy(out, prefix, plen);
	sodium_bin2base64(out + plen, blen, (const unsigned char *)svg, n,
			  sodium_base64_VARIANT_ORIGINAL);
	return out;
}
