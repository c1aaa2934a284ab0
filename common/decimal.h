/*
 * decimal.h - exact decimal numbers for money: text such as "-1234.5000"
 * <-> a 64-bit integer scaled by a power of ten, with checked addition,
 * subtraction and multiplication and rounding half-even (banker's
 * rounding, as IEEE 754 and most ledgers round).  No binary floating
 * point anywhere: a JSON number is accepted only through its shortest
 * decimal text, and only when that text is exact within the scale.
 *
 * Money has scale DEC_MONEY (four places, as DECIMAL(19,4) stores it);
 * exchange and tax rates have scale DEC_RATE (eight places).  A value's
 * scale is the caller's to remember: every function says which it takes.
 */
#ifndef TESSERA_DECIMAL_H
#define TESSERA_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#define DEC_MONEY 4
#define DEC_RATE 8
/* Largest magnitude a money value may have: 99,999,999,999,999.9999
 * (well inside DECIMAL(19,4) and int64 at scale 4, so that sums of a few
 * thousand of them cannot overflow either). */
#define DEC_MONEY_MAX INT64_C(999999999999999999)
/* Largest rate: 999,999,999.99999999 (DECIMAL(19,8) holds it). */
#define DEC_RATE_MAX INT64_C(99999999999999999)
/* Room for any value at any scale: sign, 19 digits, point, NUL. */
#define DEC_BUF 32

/*
 * Parses s ("-12.5", "+3", "0.0001"; no exponent, no spaces) at scale
 * (0..18) into *out.  False when s is malformed, has more fractional
 * digits than scale (over-precise) or its magnitude exceeds max.
 */
bool dec_parse(const char *s, int scale, int64_t max, int64_t *out);

/* A JSON string or number as dec_parse reads it; a number through its
 * shortest exact text (json_number_text), so 0.1 is 0.1.  False for any
 * other JSON type and as dec_parse. */
bool dec_from_json(const cJSON *v, int scale, int64_t max, int64_t *out);

/* v at scale as text with exactly places fractional digits (places <=
 * scale: v is rounded half-even first; places > scale: zeros added) into
 * buf (at least DEC_BUF bytes); returns buf. */
char *dec_format(char *buf, size_t len, int64_t v, int scale, int places);

/* *out = a + b, a - b; false on overflow of int64. */
bool dec_add(int64_t a, int64_t b, int64_t *out);
bool dec_sub(int64_t a, int64_t b, int64_t *out);

/* *out = a (scale sa) * b (scale sb) at scale so, rounded half-even;
 * false when the result does not fit in int64. */
bool dec_mul(int64_t a, int sa, int64_t b, int sb, int so, int64_t *out);

/* *out = a (scale sa) / b (scale sb) at scale so, rounded half-even; false
 * when b is zero or the result does not fit. */
bool dec_div(int64_t a, int sa, int64_t b, int sb, int so, int64_t *out);

/* *out = a (scale sa) * b (scale sb) / c (scale sc) at scale so, rounded
 * half-even once (a tax inside a gross amount: gross * rate / (100 +
 * rate)); false when c is zero or the result does not fit. */
bool dec_muldiv(int64_t a, int sa, int64_t b, int sb, int64_t c, int sc, int so, int64_t *out);

/* v at scale rounded half-even to places fractional digits (still at
 * scale): dec_round(12345, 4, 2) is 12300 (1.2345 -> 1.23). */
int64_t dec_round(int64_t v, int scale, int places);

/* Whether v at scale has no digits beyond places fractional ones. */
bool dec_fits(int64_t v, int scale, int places);

#endif
