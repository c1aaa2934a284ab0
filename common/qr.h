/*
 * qr.h - QR codes (libqrencode) rendered as an SVG data URI, for the
 * otpauth:// URI a user scans into an authenticator app.
 */
#ifndef TESSERA_QR_H
#define TESSERA_QR_H

#include "arena.h"

/* "data:image/svg+xml;base64,…" of a QR code of text (error correction M,
 * a 4-module quiet zone), in a; NULL if text cannot be encoded. */
char *qr_svg_data_uri(arena_t *a, const char *text);

#endif
