/*
 * schema.c - request-body validation (see schema.h).
 */
#include "schema.h"

#include "cidr.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Length in characters (code points) of UTF-8 text; limits are in
 * characters, as the database columns are. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

size_t utf8_bad_at(const unsigned char *s, size_t n)
{
	static const unsigned min_cp[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i], cp;
		size_t len;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0)
			len = 2, cp = c & 0x1F;
		else if ((c & 0xF0) == 0xE0)
			len = 3, cp = c & 0x0F;
		else if ((c & 0xF8) == 0xF0)
			len = 4, cp = c & 0x07;
		else
			return i;
		if (n - i < len)
			return i;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += len;
	}
	return n;
}

void utf8_scrub(char *s)
{
	size_t n = strlen(s), i = 0;
	while (i < n) {
		i += utf8_bad_at((const unsigned char *)s + i, n - i);
		if (i < n)
			s[i++] = '?';
	}
}

static const char *type_name(enum field_type t)
{
	switch (t) {
	case FT_STRING: return "a string";
	case FT_INT: return "an integer";
	case FT_NUMBER: return "a number";
	case FT_BOOL: return "a boolean";
	case FT_OBJECT: return "an object";
	case FT_ARRAY: return "an array";
	case FT_STRING_ARRAY: return "an array of strings";
	case FT_ANY: return "a value";
	}
	return "a value";
}

static bool type_ok(const field_t *f, const cJSON *v, char *msg, size_t msglen)
{
	switch (f->type) {
	case FT_STRING: {
		if (!cJSON_IsString(v))
			break;
		size_t n = utf8_chars(v->valuestring);
		if (f->min && n < (size_t)f->min) {
			snprintf(msg, msglen, "%s must be at least %lld characters", f->name, f->min);
			return false;
		}
		if (f->max && n > (size_t)f->max) {
			snprintf(msg, msglen, "%s must be at most %lld characters", f->name, f->max);
			return false;
		}
		return true;
	}
	case FT_INT: {
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
		    fabs(v->valuedouble) > 9007199254740991.0)
			break;
		if ((f->min || f->max) &&
		    (v->valuedouble < (double)f->min || v->valuedouble > (double)f->max)) {
			snprintf(msg, msglen, "%s must be between %lld and %lld", f->name, f->min, f->max);
			return false;
		}
		return true;
	}
	case FT_NUMBER:
		if (cJSON_IsNumber(v))
			return true;
		break;
	case FT_BOOL:
		if (cJSON_IsBool(v))
			return true;
		break;
	case FT_OBJECT:
		if (cJSON_IsObject(v))
			return true;
		break;
	case FT_ARRAY:
	case FT_STRING_ARRAY: {
		if (!cJSON_IsArray(v))
			break;
		int n = cJSON_GetArraySize(v);
		if (f->max && n > f->max) {
			snprintf(msg, msglen, "%s must have at most %lld items", f->name, f->max);
			return false;
		}
		if (f->type == FT_STRING_ARRAY) {
			const cJSON *it;
			cJSON_ArrayForEach(it, v) {
				if (!cJSON_IsString(it))
					goto bad;
			}
		}
		return true;
	}
	case FT_ANY:
		return true;
	}
bad:
	snprintf(msg, msglen, "%s must be %s", f->name, type_name(f->type));
	return false;
}

bool one_of(const char *v, const char *const *values)
{
	for (; *values; values++)
		if (!strcmp(v, *values))
			return true;
	return false;
}

void one_of_message(char *msg, size_t msglen, const char *field, const char *const *values)
{
	int n = snprintf(msg, msglen, "%s must be one of: ", field);
	for (const char *const *a = values; *a && n >= 0 && (size_t)n < msglen; a++)
		n += snprintf(msg + n, msglen - (size_t)n, "%s%s", a == values ? "" : ", ", *a);
}

/* A string of a field with values is one of them. */
static bool value_ok(const field_t *f, const cJSON *v, char *msg, size_t msglen)
{
	if (!f->values || !cJSON_IsString(v) || one_of(v->valuestring, f->values))
		return true;
	one_of_message(msg, msglen, f->name, f->values);
	return false;
}

bool schema_check(const field_t *fields, const cJSON *body, const char **field,
		  char *msg, size_t msglen)
{
	*field = NULL;
	if (body && !cJSON_IsObject(body)) {
		snprintf(msg, msglen, "the request body must be a JSON object");
		return false;
	}
	if (body) {
		const cJSON *item;
		cJSON_ArrayForEach(item, body) {
			const field_t *f = fields;
			while (f->name && strcmp(f->name, item->string) != 0)
				f++;
			if (!f->name) {
				*field = item->string;
				snprintf(msg, msglen, "unknown field \"%.100s\"", item->string);
				return false;
			}
			if (cJSON_IsNull(item)) {
				if (f->flags & FF_NULLABLE)
					continue;
				*field = f->name;
				snprintf(msg, msglen, "%s must not be null", f->name);
				return false;
			}
			if (!type_ok(f, item, msg, msglen) || !value_ok(f, item, msg, msglen)) {
				*field = f->name;
				return false;
			}
		}
	}
	for (const field_t *f = fields; f->name; f++) {
		if ((f->flags & FF_REQUIRED) &&
		    (!body || !cJSON_GetObjectItemCaseSensitive(body, f->name))) {
			*field = f->name;
			snprintf(msg, msglen, "%s is required", f->name);
			return false;
		}
	}
	return true;
}

/* --- settings documents ---------------------------------------------------- */

void doc_spec_fields(const doc_spec_t *spec, field_t *out)
{
	static const enum field_type types[] = {
		[DS_BOOL] = FT_BOOL, [DS_INT] = FT_INT, [DS_STR] = FT_STRING, [DS_URL] = FT_STRING,
		[DS_COLOR] = FT_STRING, [DS_URLS] = FT_STRING_ARRAY, [DS_CIDRS] = FT_STRING_ARRAY,
		[DS_OBJ] = FT_OBJECT, [DS_MAP] = FT_OBJECT,
	};
	for (; spec->name; spec++, out++) {
		bool obj = spec->type == DS_OBJ || spec->type == DS_MAP;
		*out = (field_t){ spec->name, types[spec->type],
				  obj || (spec->flags & DSF_NULLABLE) ? FF_NULLABLE : 0,
				  obj ? 0 : spec->min, obj ? 0 : spec->max, NULL };
	}
	*out = (field_t){ NULL, 0, 0, 0, 0, NULL };
}

cJSON *doc_spec_defaults(const doc_spec_t *spec)
{
	cJSON *o = cJSON_CreateObject();
	for (const doc_spec_t *s = spec; s->name; s++) {
		cJSON *v;
		switch (s->type) {
		case DS_OBJ:
			v = doc_spec_defaults(s->kids);
			break;
		case DS_MAP:
			v = cJSON_CreateObject();
			break;
		case DS_STR:
		case DS_URL:
		case DS_COLOR:
			v = s->def ? cJSON_CreateString(s->def) : cJSON_CreateNull();
			break;
		default:
			v = cJSON_Parse(s->def);
		}
		cJSON_AddItemToObject(o, s->name, v);
	}
	return o;
}

bool doc_url_ok(const char *s)
{
	if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
		return false;
	const char *host = strstr(s, "://") + 3;
	if (!*host || *host == '/')
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
			return false;
	return true;
}

static bool color_ok(const char *s)
{
	size_t n = strlen(s);
	return s[0] == '#' && (n == 4 || n == 7) && strspn(s + 1, "0123456789abcdefABCDEF") == n - 1;
}

/* A failed check: its path and message. */
typedef struct doc_fail {
	arena_t *a;
	const char **field;
	char *msg;
	size_t msglen;
} doc_fail_t;

static bool fail(doc_fail_t *f, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool fail(doc_fail_t *f, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->msg, f->msglen, fmt, ap);
	va_end(ap);
	*f->field = path;
	return false;
}

static bool doc_check_obj(const doc_spec_t *spec, const cJSON *o, const char *prefix, doc_fail_t *f);

static bool doc_check_list(const doc_spec_t *s, const cJSON *v, const char *path, doc_fail_t *f)
{
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > s->max)
		return fail(f, path, "%s must be an array of at most %ld strings", path, s->max);
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, v) {
		cidr_t c;
		bool ok = cJSON_IsString(it) && strlen(it->valuestring) <= 2000 &&
			  (s->type == DS_URLS ? doc_url_ok(it->valuestring)
					      : cidr_parse(&c, it->valuestring) == 0);
		if (!ok)
			return fail(f, arena_printf(f->a, "%s[%d]", path, i),
				    s->type == DS_URLS ? "%s[%d] must be an http(s) URL"
						       : "%s[%d] must be an IP address or CIDR block",
				    path, i);
		i++;
	}
	return true;
}

/* A map: each member named [a-z0-9_-]{1,min}, null (removes it) or an
 * object of s->kids. */
static bool doc_check_map(const doc_spec_t *s, const cJSON *v, const char *path, doc_fail_t *f)
{
	if (!cJSON_IsObject(v) || cJSON_GetArraySize(v) > s->max)
		return fail(f, path, "%s must be an object of at most %ld members", path, s->max);
	const cJSON *it;
	cJSON_ArrayForEach(it, v) {
		size_t n = strlen(it->string);
		const char *sub = arena_printf(f->a, "%s.%.100s", path, it->string);
		if (n == 0 || (long)n > s->min || strspn(it->string, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
			return fail(f, sub, "%s: names are 1 to %ld of a-z, 0-9, _ and -", sub, s->min);
		if (!cJSON_IsNull(it) && !doc_check_obj(s->kids, it, sub, f))
			return false;
	}
	return true;
}

static bool doc_check(const doc_spec_t *s, const cJSON *v, const char *path, doc_fail_t *f)
{
	if (cJSON_IsNull(v) && (s->flags & DSF_NULLABLE || s->type == DS_OBJ || s->type == DS_MAP))
		return true;    /* null clears a value (or resets an object to defaults) */
	switch (s->type) {
	case DS_BOOL:
		return cJSON_IsBool(v) || fail(f, path, "%s must be true or false", path);
	case DS_INT:
		if (!cJSON_IsNumber(v) || v->valuedouble < s->min || v->valuedouble > s->max ||
		    v->valuedouble != (double)(long long)v->valuedouble)
			return fail(f, path, "%s must be an integer from %ld to %ld", path, s->min, s->max);
		return true;
	case DS_STR:
	case DS_URL:
	case DS_COLOR:
		if (!cJSON_IsString(v))
			return fail(f, path, "%s must be a string", path);
		if (s->type == DS_URL && !doc_url_ok(v->valuestring))
			return fail(f, path, "%s must be an http(s) URL", path);
		if (s->type == DS_COLOR && !color_ok(v->valuestring))
			return fail(f, path, "%s must be a colour like #1a2b3c", path);
		if ((long)strlen(v->valuestring) < s->min || (s->max && (long)strlen(v->valuestring) > s->max))
			return fail(f, path, "%s must be %ld to %ld characters long", path, s->min, s->max);
		return true;
	case DS_URLS:
	case DS_CIDRS:
		return doc_check_list(s, v, path, f);
	case DS_OBJ:
		return doc_check_obj(s->kids, v, path, f);
	case DS_MAP:
		return doc_check_map(s, v, path, f);
	}
	return true;
}

static bool doc_check_obj(const doc_spec_t *spec, const cJSON *o, const char *prefix, doc_fail_t *f)
{
	if (!cJSON_IsObject(o))
		return fail(f, prefix ? prefix : "body", "%s must be an object",
			    prefix ? prefix : "the body");
	const cJSON *it;
	cJSON_ArrayForEach(it, o) {
		const char *path = prefix ? arena_printf(f->a, "%s.%s", prefix, it->string)
					  : arena_strdup(f->a, it->string);
		const doc_spec_t *s = spec;
		while (s->name && strcmp(s->name, it->string))
			s++;
		if (!s->name)
			return fail(f, path, "unknown field %.100s", path);
		if (!doc_check(s, it, path, f))
			return false;
	}
	return true;
}

bool doc_spec_check(const doc_spec_t *spec, const cJSON *o, arena_t *a, const char **field,
		    char *msg, size_t msglen)
{
	doc_fail_t f = { a, field, msg, msglen };
	return doc_check_obj(spec, o, NULL, &f);
}
