/*
 * datatypes.c - see datatypes.h.  One row per type: name, column, value
 * check.  Checks normalise where a value has several spellings (datetimes to
 * UTC, decimals to exact text) so that generated columns compare correctly.
 */
#include "datatypes.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "timefmt.h"

#define MAX_STRING 255
#define MAX_TEXT 65535
#define MAX_URL 2048

bool ident_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static cJSON *fail(char *msg, size_t msglen, const prop_t *p, const char *what)
{
	snprintf(msg, msglen, "%s must be %s", p->name, what);
	return NULL;
}

static cJSON *check_string_max(const prop_t *p, const cJSON *v, char *msg, size_t msglen,
			       size_t max, const char *what)
{
	if (!cJSON_IsString(v))
		return fail(msg, msglen, p, what);
	if (utf8_len(v->valuestring) > max) {
		snprintf(msg, msglen, "%s must be at most %zu characters", p->name, max);
		return NULL;
	}
	return cJSON_CreateString(v->valuestring);
}

static cJSON *check_string(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	return check_string_max(p, v, msg, msglen, MAX_STRING, "a string");
}

static cJSON *check_text(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	return check_string_max(p, v, msg, msglen, MAX_TEXT, "a string");
}

static cJSON *check_integer(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
	    fabs(v->valuedouble) > 9007199254740991.0)
		return fail(msg, msglen, p, "an integer");
	return cJSON_CreateNumber(v->valuedouble);
}

static cJSON *check_number(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
		return fail(msg, msglen, p, "a number");
	return cJSON_CreateNumber(v->valuedouble);
}

/* Exact decimals: text "-123.4567" (at most 15 integer and 4 fraction
 * digits), or a JSON number with at most 4 decimals; stored as text so that
 * no binary rounding ever touches money. */
static cJSON *check_decimal(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	char buf[64];
	if (cJSON_IsNumber(v)) {
		if (!isfinite(v->valuedouble) || fabs(v->valuedouble) >= 1e15)
			return fail(msg, msglen, p, "a decimal with at most 15 digits before the point");
		snprintf(buf, sizeof(buf), "%.4f", v->valuedouble);
		if (strtod(buf, NULL) != v->valuedouble)
			return fail(msg, msglen, p, "a decimal with at most 4 digits after the point (send it as a string)");
	} else if (cJSON_IsString(v) && strlen(v->valuestring) < sizeof(buf)) {
		const char *s = v->valuestring;
		const char *d = s + (*s == '-');
		size_t ip = strspn(d, "0123456789");
		const char *f = d + ip;
		size_t fp = 0;
		if (*f == '.') {
			fp = strspn(f + 1, "0123456789");
			if (fp == 0)
				return fail(msg, msglen, p, "a decimal such as \"12.50\"");
			f += 1 + fp;
		}
		if (ip == 0 || ip > 15 || fp > 4 || *f)
			return fail(msg, msglen, p, "a decimal such as \"12.50\" (at most 15 digits before and 4 after the point)");
		snprintf(buf, sizeof(buf), "%s", s);
	} else {
		return fail(msg, msglen, p, "a decimal such as \"12.50\"");
	}
	/* Normalise: strip trailing zeros of the fraction ("12.50" -> "12.5"),
	 * keep at least the integer part, and "-0" -> "0". */
	char *dot = strchr(buf, '.');
	if (dot) {
		char *e = buf + strlen(buf);
		while (e > dot + 1 && e[-1] == '0')
			*--e = '\0';
		if (e == dot + 1)
			*dot = '\0';
	}
	char *d = buf + (buf[0] == '-');
	while (d[0] == '0' && d[1] && d[1] != '.')
		memmove(d, d + 1, strlen(d));
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, sizeof(buf), "0");
	return cJSON_CreateString(buf);
}

static cJSON *check_boolean(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	if (!cJSON_IsBool(v))
		return fail(msg, msglen, p, "true or false");
	return cJSON_CreateBool(cJSON_IsTrue(v));
}

static bool date_ok(const char *s)
{
	/* Years 0001-9999: four digits, so that text order is date order. */
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || strncmp(s, "0000", 4) == 0)
		return false;
	char probe[40];
	snprintf(probe, sizeof(probe), "%sT00:00:00Z", s);
	time_t t;
	return time_parse_rfc3339(probe, &t) == 0;
}

static cJSON *check_date(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	if (!cJSON_IsString(v) || !date_ok(v->valuestring))
		return fail(msg, msglen, p, "an ISO 8601 date (YYYY-MM-DD)");
	return cJSON_CreateString(v->valuestring);
}

static cJSON *check_datetime(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	time_t t;
	if (!cJSON_IsString(v) || time_parse_rfc3339(v->valuestring, &t) != 0)
		return fail(msg, msglen, p, "an ISO 8601 date-time with a zone (2026-01-02T03:04:05Z)");
	/* Keep milliseconds; normalise to UTC so that text order is time order. */
	const char *frac = strchr(v->valuestring + 19, '.');
	int ms = 0;
	if (frac && frac == v->valuestring + 19) {
		char digits[4] = "000";
		for (int i = 0; i < 3 && isdigit((unsigned char)frac[1 + i]); i++)
			digits[i] = frac[1 + i];
		ms = atoi(digits);
	}
	struct tm tm;
	gmtime_r(&t, &tm);
	/* In UTC the year must still have four digits (0001-9999). */
	if (tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return fail(msg, msglen, p, "a date-time between 0001-01-01 and 9999-12-31 in UTC");
	char buf[96];
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	return cJSON_CreateString(buf);
}

static cJSON *check_time(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	const char *s = cJSON_IsString(v) ? v->valuestring : "";
	size_t n = strlen(s);
	bool ok = (n == 5 || n == 8 || (n > 9 && n <= 15 && s[8] == '.')) &&
		  isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) && s[2] == ':' &&
		  isdigit((unsigned char)s[3]) && isdigit((unsigned char)s[4]) &&
		  atoi(s) < 24 && atoi(s + 3) < 60;
	if (ok && n >= 8)
		ok = s[5] == ':' && isdigit((unsigned char)s[6]) && isdigit((unsigned char)s[7]) &&
		     atoi(s + 6) < 60 && (n == 8 || strspn(s + 9, "0123456789") == n - 9);
	if (!ok)
		return fail(msg, msglen, p, "an ISO 8601 time (HH:MM or HH:MM:SS)");
	char buf[16];
	snprintf(buf, sizeof(buf), "%.5s:%.2s", s, n >= 8 ? s + 6 : "00");
	return cJSON_CreateString(buf);
}

bool email_address_valid(const char *e)
{
	size_t n = e ? strlen(e) : 0;
	const char *at = n ? strchr(e, '@') : NULL;
	if (!at || at == e || strchr(at + 1, '@') || n > 254 || (size_t)(at - e) > 64 ||
	    !strchr(at + 1, '.') || at[1] == '.' || e[n - 1] == '.' || strstr(at, ".."))
		return false;
	for (const char *c = e; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f || strchr("<>()[]\\,;:\"", *c))
			return false;
	return true;
}

bool phone_e164_valid(const char *s)
{
	if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	size_t n = strlen(s + 1);
	return n >= 7 && n <= 15 && strspn(s + 1, "0123456789") == n;
}

static cJSON *check_email(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	const char *e = cJSON_IsString(v) ? v->valuestring : "";
	if (!email_address_valid(e))
		return fail(msg, msglen, p, "an email address");
	return cJSON_CreateString(e);
}

static cJSON *check_url(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	const char *u = cJSON_IsString(v) ? v->valuestring : "";
	const char *host = !strncasecmp(u, "http://", 7) ? u + 7 : !strncasecmp(u, "https://", 8) ? u + 8 : NULL;
	bool ok = host && *host && *host != '/' && *host != ':' && strlen(u) <= MAX_URL &&
		  !strpbrk(u, " \t\r\n<>\"{}|\\^`");
	if (!ok)
		return fail(msg, msglen, p, "an absolute http or https URL");
	return cJSON_CreateString(u);
}

static cJSON *check_phone(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	const char *s = cJSON_IsString(v) ? v->valuestring : "";
	if (!phone_e164_valid(s))
		return fail(msg, msglen, p, "an E.164 phone number such as +14155550123");
	return cJSON_CreateString(s);
}

static bool in_enum(const prop_t *p, const char *s)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, p->enum_values)
		if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0)
			return true;
	return false;
}

static cJSON *check_enum(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	if (!cJSON_IsString(v) || !in_enum(p, v->valuestring))
		return fail(msg, msglen, p, "one of its enum_values");
	return cJSON_CreateString(v->valuestring);
}

static cJSON *check_multi_enum(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	if (!cJSON_IsArray(v))
		return fail(msg, msglen, p, "an array of its enum_values");
	const cJSON *it;
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsString(it) || !in_enum(p, it->valuestring))
			return fail(msg, msglen, p, "an array of its enum_values");
		for (const cJSON *o = it->next; o; o = o->next)
			if (cJSON_IsString(o) && strcmp(o->valuestring, it->valuestring) == 0)
				return fail(msg, msglen, p, "an array of distinct enum_values");
	}
	return cJSON_Duplicate(v, true);
}

static cJSON *check_json(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	(void)p, (void)msg, (void)msglen;
	return cJSON_Duplicate(v, true);
}

static cJSON *check_array(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	if (!cJSON_IsArray(v))
		return fail(msg, msglen, p, "an array");
	return cJSON_Duplicate(v, true);
}

static cJSON *check_id(const prop_t *p, const cJSON *v, char *msg, size_t msglen,
		       const char *prefix, const char *what)
{
	const char *s = cJSON_IsString(v) ? v->valuestring : "";
	size_t pl = strlen(prefix);
	if (strncmp(s, prefix, pl) != 0 || strlen(s) != pl + 26)
		return fail(msg, msglen, p, what);
	return cJSON_CreateString(s);
}

/* Existence of the referenced object (or file) is checked against the
 * database by the objects layer; here only the shape. */
static cJSON *check_reference(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	return check_id(p, v, msg, msglen, "obj_", "an object id (obj_…)");
}

static cJSON *check_file(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	return check_id(p, v, msg, msglen, "file_", "a file id (file_…)");
}

static cJSON *check_geo_point(const prop_t *p, const cJSON *v, char *msg, size_t msglen)
{
	const cJSON *lat = cJSON_GetObjectItemCaseSensitive(v, "lat");
	const cJSON *lng = cJSON_GetObjectItemCaseSensitive(v, "lng");
	if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(lat) ||
	    !cJSON_IsNumber(lng) || fabs(lat->valuedouble) > 90 || fabs(lng->valuedouble) > 180)
		return fail(msg, msglen, p, "{\"lat\": -90..90, \"lng\": -180..180}");
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "lat", lat->valuedouble);
	cJSON_AddNumberToObject(o, "lng", lng->valuedouble);
	return o;
}

#define SCALAR "JSON_VALUE(properties, %s)"
#define DOC "JSON_EXTRACT(properties, %s)"

/* Text columns take the table's utf8mb4_unicode_ci collation, as MariaDB
 * and MySQL users expect: comparisons, sorting and uniqueness ignore case
 * and accents ("Acme" = "acme"), which is what one wants of emails, names
 * and slugs.  Exact-match needs can use a json property. */
static const dtype_t types[] = {
	{ "string", "VARCHAR(255)", SCALAR, true, check_string },
	{ "text", "LONGTEXT", SCALAR, false, check_text },
	{ "rich_text", "LONGTEXT", SCALAR, false, check_text },
	{ "integer", "BIGINT", "CAST(" SCALAR " AS SIGNED)", true, check_integer },
	{ "number", "DOUBLE", "CAST(" SCALAR " AS DOUBLE)", true, check_number },
	{ "decimal", "DECIMAL(19,4)", "CAST(" SCALAR " AS DECIMAL(19,4))", true, check_decimal },
	{ "currency", "DECIMAL(19,4)", "CAST(" SCALAR " AS DECIMAL(19,4))", true, check_decimal },
	{ "percent", "DOUBLE", "CAST(" SCALAR " AS DOUBLE)", true, check_number },
	/* JSON_VALUE gives '1'/'0' for JSON booleans on MariaDB 10.11; the
	 * extracted JSON text is 'true'/'false' everywhere (NULL when absent). */
	{ "boolean", "TINYINT(1)", "(" DOC " = 'true')", true, check_boolean },
	{ "date", "DATE", "CAST(" SCALAR " AS DATE)", true, check_date },
	{ "datetime", "VARCHAR(32)", SCALAR, true, check_datetime },
	{ "time", "VARCHAR(16)", SCALAR, true, check_time },
	{ "email", "VARCHAR(255)", SCALAR, true, check_email },
	{ "url", "VARCHAR(2048)", SCALAR, false, check_url },
	{ "phone", "VARCHAR(32)", SCALAR, true, check_phone },
	{ "enum", "VARCHAR(255)", SCALAR, true, check_enum },
	{ "multi_enum", "LONGTEXT", DOC, false, check_multi_enum },
	{ "json", "LONGTEXT", DOC, false, check_json },
	{ "array", "LONGTEXT", DOC, false, check_array },
	{ "reference", "VARCHAR(64)", SCALAR, true, check_reference },
	{ "file", "VARCHAR(64)", SCALAR, true, check_file },
	{ "geo_point", "LONGTEXT", DOC, false, check_geo_point },
};

const dtype_t *dtype_find(const char *name)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(types[i].name, name) == 0)
			return &types[i];
	return NULL;
}

const char *dtype_names(void)
{
	return "string, text, rich_text, integer, number, decimal, currency, percent, boolean, "
	       "date, datetime, time, email, url, phone, enum, multi_enum, json, array, "
	       "reference, file, geo_point";
}

char *dtype_column_expr(arena_t *a, const dtype_t *t, const char *name)
{
	char *path = arena_printf(a, "'$.%s'", name);
	return arena_printf(a, t->expr, path);
}
