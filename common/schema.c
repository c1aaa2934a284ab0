/*
 * schema.c - request-body validation (see schema.h).
 */
#include "schema.h"

#include <math.h>
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
			if (!type_ok(f, item, msg, msglen)) {
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
