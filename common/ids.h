/*
 * ids.h - resource ids: a type prefix and a ULID (48-bit millisecond time +
 * 80 random bits, Crockford base32), e.g. "obj_01JD3X…".  Sortable by
 * creation time, so InnoDB inserts stay sequential and cursors can page by id.
 */
#ifndef TESSERA_IDS_H
#define TESSERA_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ULID_LEN 26

/* Writes prefix + ULID + NUL into out (size >= strlen(prefix) + 27). */
void id_new(char *out, size_t outlen, const char *prefix);
/* Same with a given millisecond time and random part (for tests). */
void ulid_encode(char out[ULID_LEN + 1], uint64_t ms, const unsigned char rnd[10]);
/* True if s is prefix followed by a well-formed ULID. */
bool id_valid(const char *s, const char *prefix);
/* Millisecond time of a ULID (after the prefix), or 0 if malformed. */
uint64_t ulid_time(const char *ulid);

#endif
