/*
 * csvout.c - CSV output (see csvout.h).
 */
#include "csvout.h"

#include <string.h>

#include "jsonx.h"

void csv_field(strbuf_t *b, const char *s, bool first)
{
	if (!first)
		sb_putn(b, ",", 1);
	if (!s[strcspn(s, ",\"\r\n")]) {
		sb_puts(b, s);
		return;
	}
	sb_putn(b, "\"", 1);
	for (const char *q; (q = strchr(s, '"')); s = q + 1) {
		sb_putn(b, s, (size_t)(q - s));
		sb_putn(b, "\"\"", 2);
	}
	sb_puts(b, s);
	sb_putn(b, "\"", 1);
}

void csv_value(strbuf_t *b, const cJSON *v, bool first)
{
	char buf[40];
	if (!v || cJSON_IsNull(v)) {
		csv_field(b, "", first);
	} else if (cJSON_IsString(v)) {
		csv_field(b, v->valuestring, first);
	} else if (cJSON_IsBool(v)) {
		csv_field(b, cJSON_IsTrue(v) ? "true" : "false", first);
	} else if (cJSON_IsRaw(v)) {
		csv_field(b, v->valuestring, first);
	} else if (cJSON_IsNumber(v)) {
		json_number_text(buf, sizeof(buf), v->valuedouble);
		csv_field(b, buf, first);
	} else {
		char *s = cJSON_PrintUnformatted(v);
		csv_field(b, s ? s : "", first);
		cJSON_free(s);
	}
}
