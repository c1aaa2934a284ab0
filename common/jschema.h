/*
 * jschema.h - the subset of JSON Schema that plugin manifests use for
 * their configuration (config_schema): type (object, array, string,
 * number, integer, boolean, null), properties, required, items, enum,
 * minimum, maximum, minLength, maxLength and pattern (POSIX extended
 * regular expressions); title, description and default are accepted and
 * ignored.  Any other keyword is refused, so a schema never means more
 * than it is checked for.
 */
#ifndef TESSERA_JSCHEMA_H
#define TESSERA_JSCHEMA_H

#include <stddef.h>

#include <cJSON.h>

/* Nesting a schema may have. */
#define JSCHEMA_DEPTH_MAX 8

/* Checks that schema is a schema of the subset: 0, or -1 with the
 * offending place ("properties.url.pattern") in where and why in err. */
int jschema_check(const cJSON *schema, char *where, size_t wherelen, char *err, size_t errlen);

/* Checks value against schema (which passed jschema_check): 0, or -1
 * with the offending member's path below root (e.g. "config_json.url")
 * in where and why in err. */
int jschema_validate(const cJSON *schema, const cJSON *value, const char *root, char *where,
		     size_t wherelen, char *err, size_t errlen);

#endif
