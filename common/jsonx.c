/*
 * jsonx.c - see jsonx.h.
 */
#include "jsonx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_number_text(char *buf, size_t len, double d)
{
	if (d == floor(d) && fabs(d) < 1e17) {
		snprintf(buf, len, "%.0f", d);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

void json_exact_numbers(cJSON *j)
{
	cJSON *c = j ? j->child : NULL;
	while (c) {
		cJSON *next = c->next;
		if (cJSON_IsNumber(c)) {
			char buf[40];
			json_number_text(buf, sizeof(buf), c->valuedouble);
			cJSON *raw = cJSON_CreateRaw(buf);
			/* The member's name moves to its replacement. */
			raw->string = c->string;
			raw->type |= c->type & cJSON_StringIsConst;
			c->string = NULL;
			cJSON_ReplaceItemViaPointer(j, c, raw);
		} else {
			json_exact_numbers(c);
		}
		c = next;
	}
}

const char *json_str_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int json_depth(const cJSON *v)
{
	if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
		return 0;
	int deepest = 0;
	const cJSON *c;
	cJSON_ArrayForEach(c, v) {
		int d = json_depth(c);
		if (d > deepest)
			deepest = d;
	}
	return deepest + 1;
}

bool json_too_deep(const cJSON *body, const char **field)
{
	*field = "body";
	if (!cJSON_IsObject(body))
		return json_depth(body) > JSON_DEPTH_MAX;
	const cJSON *c;
	cJSON_ArrayForEach(c, body) {
		if (json_depth(c) > JSON_DEPTH_MAX) {
			*field = c->string;
			return true;
		}
	}
	return false;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first name of the object o's n members that comes twice, or NULL. */
static const char *object_duplicate(const cJSON *o, int n)
{
	const cJSON *c;
	if (n <= 8) { /* the usual body: pairs are cheaper than sorting */
		for (const cJSON *a = o->child; a; a = a->next)
			for (c = a->next; c; c = c->next)
				if (!strcmp(a->string, c->string))
					return a->string;
		return NULL;
	}
	const char **names = malloc((size_t)n * sizeof(*names));
	if (!names)
		abort();
	int k = 0;
	cJSON_ArrayForEach(c, o)
		names[k++] = c->string;
	qsort(names, (size_t)k, sizeof(*names), name_cmp);
	const char *dup = NULL;
	for (int i = 1; i < k && !dup; i++)
		if (!strcmp(names[i - 1], names[i]))
			dup = names[i];
	free(names);
	return dup;
}

const char *json_duplicate_member(const cJSON *v)
{
	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return NULL;
	const cJSON *c;
	if (cJSON_IsObject(v)) {
		const char *dup = object_duplicate(v, cJSON_GetArraySize(v));
		if (dup)
			return dup;
	}
	cJSON_ArrayForEach(c, v) {
		const char *dup = json_duplicate_member(c);
		if (dup)
			return dup;
	}
	return NULL;
}
