/*
 * qr.h - QR codes (libqrencode) rendered as a PNG data URI, for the
 * otpauth:// URI a user scans into an authenticator app.
 */
#ifndef TESSERA_QR_H
#define TESSERA_QR_H

#include "arena.h"

/* "data:image/png;base64,…" of a QR code of text (error correction M, a
 * 4-module quiet zone, 6 pixels a module), in a; NULL if text cannot be
 * encoded. */
char *qr_png_data_uri(arena_t *a, const char *text);

#endif
