/*
 * objmodel.h - the tenant's schema as handlers see it: an object type with
 * its properties, loaded from the tenant DB, and the SQL names that go with
 * it.  Shared by object types, properties and objects.
 */
#ifndef TESSERA_OBJMODEL_H
#define TESSERA_OBJMODEL_H

#include <cJSON.h>

#include "../common/datatypes.h"
#include "../common/rowjson.h"
#include "../fcgi/journal.h"
#include "../fcgi/request.h"
#include "../fcgi/resource.h"

typedef struct objtype {
	const char *id;
	const char *name;
	const char *display_name;
	const char *description;
	const char *created_at, *updated_at;
	const char *table;       /* `tenantdb`.`<name>`, safe to splice */
	int nprops;
	prop_t *props;
	cJSON *props_json;       /* the properties as the API renders them */
} objtype_t;

/* Loads the type named by id ("ot_…") or by name, with its properties.
 * 404 NOT_FOUND when the tenant has no such type. */
err_t objtype_load(req_t *r, const char *id_or_name, objtype_t **out);
/* Makes every worker reload this tenant's types: call after any change to
 * an object type or a property has taken effect. */
void objtype_invalidate(req_t *r);
/* Checks that name (the body's "name") can name a table or a column: an
 * identifier (ident_valid) that is not one of reserved (NULL-terminated);
 * 400 naming "name" otherwise. */
err_t schema_name_check(req_t *r, const char *name, const char *const *reserved);
/* The after_commit hook of the schema's own descriptors (object types,
 * properties): objtype_invalidate once their change is committed, or
 * undone after its row had committed (see the engine's ddl hook). */
void objtype_committed(req_t *r, res_ctx_t *c);
/* The property called name, or NULL. */
const prop_t *objtype_prop(const objtype_t *t, const char *name);

/*
 * A resource that belongs to an object type (saved views, policies): an
 * engine descriptor (fcgi/resource.h) over a tenant-DB table with a name
 * unique per type, whose parent is the type named in the path.  The
 * helpers below serve what such descriptors share.
 */

/* Parent hook: the type named by the descriptor's parent parameter (by id
 * or name; 404 "Object type not found"); c->parent is the objtype_t. */
err_t type_child_parent(req_t *r, res_ctx_t *c);
/*
 * Validate hook helper: *name is the name the row will have (the body's,
 * or on update the row's own), written on every create and update so that
 * a PATCH changing nothing still writes the row and is audited; *taken
 * says whether another row of the type already has a name the body gives
 * (ignoring case, as the unique key does), so that the caller can refuse
 * it in its own words; the unique key still refuses a racing duplicate,
 * with the engine's message.  Returns an error only when the database
 * fails.
 */
err_t type_child_name(req_t *r, res_ctx_t *c, const char **name, bool *taken);
/* The rendered row id of res under type t, for hand-written actions whose
 * type is not the path's; 404 "<name> not found" otherwise.  *out is owned
 * by r. */
err_t type_child_fetch(req_t *r, const resource_t *res, const objtype_t *t, const char *id,
		       cJSON **out);

/* "Contacts" from "contacts", "Sales Orders" from "sales_orders". */
char *display_name_from(arena_t *a, const char *name);

/*
 * Whether the value id of property p (a reference or a file) names
 * something of this tenant: an object of any type (trashed included, as a
 * reference may point at an object being restored), or a ready, live file.
 * Other types always have their target.  Sets *found; returns an error only
 * when the database fails.
 */
err_t prop_target_exists(req_t *r, const prop_t *p, const char *id, bool *found);

/* The noun prop_target_exists looks for: "file" or "object". */
const char *prop_target_noun(const prop_t *p);

/* At most this many filters in a list request or a saved view. */
#define OBJ_FILTERS_MAX 20

/*
 * Checks that filters (a JSON array of {"property", "operator", "value"})
 * is a valid list filter for t, by the rules the object list applies: the
 * property exists or is id/created_at/updated_at; the operator is one of
 * eq neq gt gte lt lte in nin contains starts_with is_null is_not_null;
 * json/array/multi_enum/geo_point take only contains/is_null/is_not_null;
 * in/nin take 1 to 100 values; contains/starts_with need a text property
 * (or id) and a string; every value must fit the property's data type.
 * On failure replies 400 VALIDATION_ERROR naming "<field>[i]" (or field
 * itself when filters is not an array of at most OBJ_FILTERS_MAX items).
 */
err_t filters_validate(req_t *r, const objtype_t *t, const cJSON *filters, const char *field);

#endif
