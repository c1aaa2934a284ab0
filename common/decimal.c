/*
 * decimal.c - see decimal.h.  Products and quotients are taken in 128-bit
 * integers, so no intermediate overflows before the final range check.
 */
#include "decimal.h"

#include <stdio.h>
#include <string.h>

#include "jsonx.h"

static const int64_t pow10_tab[19] = {
	INT64_C(1), INT64_C(10), INT64_C(100), INT64_C(1000), INT64_C(10000),
	INT64_C(100000), INT64_C(1000000), INT64_C(10000000), INT64_C(100000000),
	INT64_C(1000000000), INT64_C(10000000000), INT64_C(100000000000),
	INT64_C(1000000000000), INT64_C(10000000000000), INT64_C(100000000000000),
	INT64_C(1000000000000000), INT64_C(10000000000000000), INT64_C(100000000000000000),
	INT64_C(1000000000000000000),
};

bool dec_parse(const char *s, int scale, int64_t max, int64_t *out)
{
	if (!s || scale < 0 || scale > 18)
		return false;
	bool neg = false;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	__int128 v = 0;
	int digits = 0, places = 0;
	bool point = false;
	for (; *s; s++) {
		if (*s == '.' && !point) {
			point = true;
			continue;
		}
		if (*s < '0' || *s > '9')
			return false;
		if (point && ++places > scale)
			return false;
		if (++digits > 36)
			return false;
		v = v * 10 + (*s - '0');
	}
	if (digits == 0 || (point && places == 0))
		return false;
	v *= pow10_tab[scale - places];
	if (v > max)
		return false;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return true;
}

bool dec_from_json(const cJSON *v, int scale, int64_t max, int64_t *out)
{
	if (cJSON_IsString(v))
		return dec_parse(v->valuestring, scale, max, out);
	if (!cJSON_IsNumber(v))
		return false;
	char buf[64];
	json_number_text(buf, sizeof(buf), v->valuedouble);
	return dec_parse(buf, scale, max, out);
}

/* q = n / d rounded half-even (d > 0). */
static __int128 div_half_even(__int128 n, __int128 d)
{
	__int128 q = n / d, r = n % d;
	if (r < 0)
		r = -r;
	__int128 twice = 2 * r;
	if (twice > d || (twice == d && (q % 2 != 0)))
		q += n < 0 ? -1 : 1;
	return q;
}

/* v (scale from) at scale to, rounded half-even when it shrinks. */
static __int128 rescale(__int128 v, int from, int to)
{
	if (to >= from) {
		for (int i = from; i < to; i++)
			v *= 10;
		return v;
	}
	__int128 d = 1;
	for (int i = to; i < from; i++)
		d *= 10;
	return div_half_even(v, d);
}

static bool fits64(__int128 v, int64_t *out)
{
	if (v > INT64_MAX || v < -INT64_MAX)
		return false;
	*out = (int64_t)v;
	return true;
}

char *dec_format(char *buf, size_t len, int64_t v, int scale, int places)
{
	__int128 x = rescale(v, scale, places);
	bool neg = x < 0;
	if (neg)
		x = -x;
	char digits[48];
	int n = 0;
	do {
		digits[n++] = (char)('0' + (int)(x % 10));
		x /= 10;
	} while (x > 0 || n <= places);
	size_t at = 0;
	if (neg && at + 1 < len)
		buf[at++] = '-';
	for (int i = n - 1; i >= 0 && at + 2 < len; i--) {
		buf[at++] = digits[i];
		if (i == places && places > 0)
			buf[at++] = '.';
	}
	buf[at] = '\0';
	return buf;
}

bool dec_add(int64_t a, int64_t b, int64_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}

bool dec_sub(int64_t a, int64_t b, int64_t *out)
{
	return !__builtin_sub_overflow(a, b, out);
}

bool dec_mul(int64_t a, int sa, int64_t b, int sb, int so, int64_t *out)
{
	return fits64(rescale((__int128)a * b, sa + sb, so), out);
}

bool dec_muldiv(int64_t a, int sa, int64_t b, int sb, int64_t c, int sc, int so, int64_t *out)
{
	if (c == 0)
		return false;
	__int128 n = (__int128)a * b, d = c;
	int e = so + sc - sa - sb;
	for (; e > 0; e--)
		n *= 10;
	for (; e < 0; e++)
		d *= 10;
	if (d < 0) {
		n = -n;
		d = -d;
	}
	return fits64(div_half_even(n, d), out);
}

bool dec_div(int64_t a, int sa, int64_t b, int sb, int so, int64_t *out)
{
	return dec_muldiv(a, sa, 1, 0, b, sb, so, out);
}

int64_t dec_round(int64_t v, int scale, int places)
{
	if (places >= scale)
		return v;
	return (int64_t)rescale(rescale(v, scale, places), places, scale);
}

bool dec_fits(int64_t v, int scale, int places)
{
	return places >= scale || v % pow10_tab[scale - places] == 0;
}
