/*
 * jschema.c - the JSON Schema subset of jschema.h.
 */
#include "jschema.h"

#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "schema.h"

static const char *const type_names[] = { "object", "array", "string", "number", "integer",
					  "boolean", "null", NULL };

static int fail(char *where, size_t wherelen, const char *at, char *err, size_t errlen,
		const char *why)
{
	snprintf(where, wherelen, "%s", at);
	snprintf(err, errlen, "%s", why);
	return -1;
}

static int check_at(const cJSON *s, const char *at, int depth, char *where, size_t wl, char *err,
		    size_t el)
{
	char sub[256];
	if (!cJSON_IsObject(s))
		return fail(where, wl, at, err, el, "must be a schema (an object)");
	if (depth > JSCHEMA_DEPTH_MAX)
		return fail(where, wl, at, err, el, "nests too deep");
	const cJSON *k;
	cJSON_ArrayForEach(k, s) {
		const char *n = k->string;
		snprintf(sub, sizeof(sub), "%.120s%s%.120s", at, *at ? "." : "", n);
		bool ok = true;
		if (!strcmp(n, "type"))
			ok = cJSON_IsString(k) && one_of(k->valuestring, type_names);
		else if (!strcmp(n, "properties")) {
			ok = cJSON_IsObject(k);
			const cJSON *p;
			cJSON_ArrayForEach(p, k) {
				char psub[256];
				snprintf(psub, sizeof(psub), "%.120s.%.120s", sub, p->string);
				if (check_at(p, psub, depth + 1, where, wl, err, el))
					return -1;
			}
		} else if (!strcmp(n, "items")) {
			if (check_at(k, sub, depth + 1, where, wl, err, el))
				return -1;
		} else if (!strcmp(n, "required")) {
			ok = cJSON_IsArray(k);
			const cJSON *r;
			cJSON_ArrayForEach(r, k)
				ok = ok && cJSON_IsString(r);
		} else if (!strcmp(n, "enum")) {
			ok = cJSON_IsArray(k) && cJSON_GetArraySize(k) > 0;
		} else if (!strcmp(n, "minimum") || !strcmp(n, "maximum")) {
			ok = cJSON_IsNumber(k);
		} else if (!strcmp(n, "minLength") || !strcmp(n, "maxLength")) {
			ok = cJSON_IsNumber(k) && k->valuedouble >= 0 && k->valuedouble == floor(k->valuedouble);
		} else if (!strcmp(n, "pattern")) {
			regex_t re;
			ok = cJSON_IsString(k) && strlen(k->valuestring) <= 500 &&
			     !regcomp(&re, k->valuestring, REG_EXTENDED | REG_NOSUB);
			if (ok)
				regfree(&re);
		} else if (strcmp(n, "title") && strcmp(n, "description") && strcmp(n, "default")) {
			return fail(where, wl, sub, err, el,
				    "is not a keyword of the supported schema subset (type, properties, "
				    "required, items, enum, minimum, maximum, minLength, maxLength, pattern)");
		}
		if (!ok)
			return fail(where, wl, sub, err, el, "is malformed");
	}
	return 0;
}

int jschema_check(const cJSON *schema, char *where, size_t wherelen, char *err, size_t errlen)
{
	return check_at(schema, "", 0, where, wherelen, err, errlen);
}

static bool type_is(const cJSON *v, const char *t)
{
	if (!strcmp(t, "object"))
		return cJSON_IsObject(v);
	if (!strcmp(t, "array"))
		return cJSON_IsArray(v);
	if (!strcmp(t, "string"))
		return cJSON_IsString(v);
	if (!strcmp(t, "number"))
		return cJSON_IsNumber(v);
	if (!strcmp(t, "integer"))
		return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
	if (!strcmp(t, "boolean"))
		return cJSON_IsBool(v);
	return cJSON_IsNull(v);
}

/* Length of a UTF-8 string in code points. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static int value_at(const cJSON *s, const cJSON *v, const char *at, char *where, size_t wl,
		    char *err, size_t el)
{
	char why[200];
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
	if (t && !type_is(v, t->valuestring)) {
		snprintf(why, sizeof(why), "must be of type %s", t->valuestring);
		return fail(where, wl, at, err, el, why);
	}
	const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum"), *e;
	bool found = !en;
	cJSON_ArrayForEach(e, en)
		found = found || cJSON_Compare(e, v, true);
	if (!found)
		return fail(where, wl, at, err, el, "must be one of the schema's enum values");
	const cJSON *mn = cJSON_GetObjectItemCaseSensitive(s, "minimum");
	const cJSON *mx = cJSON_GetObjectItemCaseSensitive(s, "maximum");
	if (cJSON_IsNumber(v) && ((mn && v->valuedouble < mn->valuedouble) ||
				  (mx && v->valuedouble > mx->valuedouble))) {
		snprintf(why, sizeof(why), "must be within the schema's minimum and maximum");
		return fail(where, wl, at, err, el, why);
	}
	if (cJSON_IsString(v)) {
		const cJSON *ml = cJSON_GetObjectItemCaseSensitive(s, "minLength");
		const cJSON *xl = cJSON_GetObjectItemCaseSensitive(s, "maxLength");
		const cJSON *pat = cJSON_GetObjectItemCaseSensitive(s, "pattern");
		size_t n = utf8_len(v->valuestring);
		if ((ml && n < (size_t)ml->valuedouble) || (xl && n > (size_t)xl->valuedouble))
			return fail(where, wl, at, err, el, "has a length outside minLength and maxLength");
		regex_t re;
		if (pat && !regcomp(&re, pat->valuestring, REG_EXTENDED | REG_NOSUB)) {
			int m = regexec(&re, v->valuestring, 0, NULL, 0);
			regfree(&re);
			if (m)
				return fail(where, wl, at, err, el, "does not match the schema's pattern");
		}
	}
	char sub[256];
	if (cJSON_IsObject(v)) {
		const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required"), *r;
		cJSON_ArrayForEach(r, req) {
			if (!cJSON_GetObjectItemCaseSensitive(v, r->valuestring)) {
				snprintf(sub, sizeof(sub), "%.120s.%.120s", at, r->valuestring);
				return fail(where, wl, sub, err, el, "is required");
			}
		}
		const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties"), *m;
		cJSON_ArrayForEach(m, v) {
			const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, m->string);
			snprintf(sub, sizeof(sub), "%.120s.%.120s", at, m->string);
			if (ps && value_at(ps, m, sub, where, wl, err, el))
				return -1;
		}
	}
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
	if (cJSON_IsArray(v) && items) {
		int i = 0;
		const cJSON *it;
		cJSON_ArrayForEach(it, v) {
			snprintf(sub, sizeof(sub), "%.200s[%d]", at, i++);
			if (value_at(items, it, sub, where, wl, err, el))
				return -1;
		}
	}
	return 0;
}

int jschema_validate(const cJSON *schema, const cJSON *value, const char *root, char *where,
		     size_t wherelen, char *err, size_t errlen)
{
	return value_at(schema, value, root, where, wherelen, err, errlen);
}
