/*
 * qr.c - see qr.h.  The module matrix from libqrencode is drawn as an
 * 8-bit greyscale PNG, QR_SCALE pixels a module, with the 4-module quiet
 * zone the standard asks for: PNG is what every authenticator setup page,
 * browser and QR decoder reads.  zlib compresses the image data and
 * computes the chunk CRCs.
 */
#include "qr.h"

#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>
#include <sodium.h>
#include <zlib.h>

#define QUIET 4
#define QR_SCALE 6

static void be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Appends a chunk (length, type, data, CRC of type and data) at out + *n. */
static void chunk(unsigned char *out, size_t *n, const char *type, const unsigned char *data,
		  size_t len)
{
	be32(out + *n, (uint32_t)len);
	memcpy(out + *n + 4, type, 4);
	if (len)
		memcpy(out + *n + 8, data, len);
	uLong crc = crc32(0L, out + *n + 4, (uInt)(len + 4));
	be32(out + *n + 8 + len, (uint32_t)crc);
	*n += len + 12;
}

char *qr_png_data_uri(arena_t *a, const char *text)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!q)
		return NULL;
	int w = q->width, side = (w + 2 * QUIET) * QR_SCALE;
	/* raw scanlines: a filter byte (0, none) then one byte a pixel */
	size_t row = (size_t)side + 1, raw_len = row * (size_t)side;
	unsigned char *raw = malloc(raw_len);
	uLongf z_len = compressBound((uLong)raw_len);
	unsigned char *z = malloc(z_len);
	char *uri = NULL;
	if (!raw || !z)
		goto out;
	for (int y = 0; y < side; y++) {
		unsigned char *line = raw + (size_t)y * row;
		line[0] = 0;
		int my = y / QR_SCALE - QUIET;
		for (int x = 0; x < side; x++) {
			int mx = x / QR_SCALE - QUIET;
			bool dark = mx >= 0 && my >= 0 && mx < w && my < w && (q->data[my * w + mx] & 1);
			line[1 + x] = dark ? 0 : 255;
		}
	}
	if (compress2(z, &z_len, raw, (uLong)raw_len, Z_BEST_COMPRESSION) != Z_OK)
		goto out;
	size_t cap = 8 + 25 + 12 + (size_t)z_len + 12, n = 8;
	unsigned char *png = arena_alloc(a, cap);
	memcpy(png, "\x89PNG\r\n\x1a\n", 8);
	unsigned char ihdr[13];
	be32(ihdr, (uint32_t)side);
	be32(ihdr + 4, (uint32_t)side);
	ihdr[8] = 8;    /* bit depth */
	ihdr[9] = 0;    /* greyscale */
	ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, adaptive filtering, no interlace */
	chunk(png, &n, "IHDR", ihdr, sizeof(ihdr));
	chunk(png, &n, "IDAT", z, z_len);
	chunk(png, &n, "IEND", NULL, 0);
	const char *prefix = "data:image/png;base64,";
	size_t plen = strlen(prefix);
	size_t blen = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	uri = arena_alloc(a, plen + blen);
	memcpy(uri, prefix, plen);
	sodium_bin2base64(uri + plen, blen, png, n, sodium_base64_VARIANT_ORIGINAL);
out:
	free(raw);
	free(z);
	QRcode_free(q);
	return uri;
}
