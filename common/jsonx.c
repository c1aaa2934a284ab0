/*
 * jsonx.c - see jsonx.h.
 */
#include "jsonx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
