/*
 * forms.c - public forms: a form belongs to an object type and maps its
 * fields to the type's properties; anyone may read an active form and
 * submit it, which creates an object of the type (validated by the
 * property data types, like POST /v1/objects), stores the submission and
 * emits form.submitted through the outbox.
 *
 * The form itself is a plain resource on the engine (list, create, update,
 * delete), and so is the submissions list (its parent is the form); the
 * public read, the submit, the export, the analytics and the duplicate are
 * the special actions written here.
 *
 * Spam protection, in the order a submission meets it: the per-address
 * hourly limit (settings.rate_limit_per_hour, Redis), the honeypot field
 * (a filled honeypot is answered as a success and nothing is stored, so
 * that bots learn nothing), and the optional CAPTCHA (hCaptcha or
 * Cloudflare Turnstile, whose token is checked with the provider's
 * siteverify API; the secret is sealed with the master key and never
 * shown).  A plain HTML <form> posts application/x-www-form-urlencoded;
 * with a redirect URL it is answered 303 to it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../common/codec.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/csvout.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/outhttp.h"
#include "../common/schema.h"
#include "../common/strbuf.h"
#include "../common/timefmt.h"
#include "../fcgi/journal.h"
#include "apps.h"
#include "identity.h"
#include "identity_admin.h"
#include "enduser.h"
#include "objects.h"
#include "routes.h"

#define FORM_FIELDS_MAX 100
#define FORM_EMAILS_MAX 20
#define FORM_RATE_DEFAULT 20
#define FORM_RATE_MAX 10000
#define FORM_EXPORT_MAX 100000
#define FORM_EXPORT_BATCH 500
#define FORM_DAYS_MAX 365
#define CAPTCHA_TIMEOUT_S 10

static const char *const form_statuses[] = { "draft", "active", "closed", NULL };

/* --------------------------------------------------------------- fields */

/* Members of obj outside names are refused, naming "<field>.<member>". */
static err_t only_members(req_t *r, const cJSON *obj, const char *field, const char *const *names)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, obj)
		if (!one_of(it->string, names))
			return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.%.60s", field, it->string),
					      "%.60s is not a member of %s", it->string, field);
	return E_OK;
}

/* A string member of obj no longer than max (absent or null is fine). */
static err_t opt_str(req_t *r, const cJSON *obj, const char *name, const char *field, size_t max)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (v && !cJSON_IsNull(v) && (!cJSON_IsString(v) || strlen(v->valuestring) > max))
		return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.%s", field, name),
				      "%s must be a string of at most %zu bytes", name, max);
	return E_OK;
}

static err_t opt_bool(req_t *r, const cJSON *obj, const char *name, const char *field)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (v && !cJSON_IsBool(v))
		return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.%s", field, name),
				      "%s must be true or false", name);
	return E_OK;
}

/* One entry of fields: {property, label, help_text, placeholder, required,
 * order, hidden, default_value}; the property is one of t's, named once,
 * and a default value fits its data type. */
static err_t check_field(req_t *r, const objtype_t *t, const cJSON *f, const char *field,
			 const cJSON *all)
{
	static const char *const members[] = { "property", "label", "help_text", "placeholder",
					       "required", "order", "hidden", "default_value", NULL };
	if (!cJSON_IsObject(f))
		return req_fail_field(r, E_VALIDATION, field,
				      "each field is an object {property, label, required, …}");
	err_t rc;
	if ((rc = only_members(r, f, field, members)) ||
	    (rc = opt_str(r, f, "label", field, 255)) || (rc = opt_str(r, f, "help_text", field, 1000)) ||
	    (rc = opt_str(r, f, "placeholder", field, 255)) ||
	    (rc = opt_bool(r, f, "required", field)) || (rc = opt_bool(r, f, "hidden", field)))
		return rc;
	const char *name = json_str_of(f, "property");
	const char *pfield = arena_printf(r->a, "%s.property", field);
	const prop_t *p = name ? objtype_prop(t, name) : NULL;
	if (!name)
		return req_fail_field(r, E_VALIDATION, pfield, "property is required");
	if (!p)
		return req_fail_field(r, E_VALIDATION, pfield, "%.64s is not a property of %s", name,
				      t->name);
	for (const cJSON *o = all->child; o != f; o = o->next)
		if (!strcmp(json_str_of(o, "property"), name))
			return req_fail_field(r, E_VALIDATION, pfield, "%s has two fields", name);
	const cJSON *order = cJSON_GetObjectItemCaseSensitive(f, "order");
	if (order && !cJSON_IsNumber(order))
		return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.order", field),
				      "order must be a number");
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(f, "default_value");
	char msg[256];
	cJSON *norm = def && !cJSON_IsNull(def) ? p->type->check(p, def, msg, sizeof(msg)) : NULL;
	if (def && !cJSON_IsNull(def) && !norm)
		return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.default_value", field),
				      "%s", msg);
	cJSON_Delete(norm);
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "hidden")) && (!def || cJSON_IsNull(def)))
		return req_fail_field(r, E_VALIDATION, arena_printf(r->a, "%s.default_value", field),
				      "a hidden field needs the default_value it submits");
	return E_OK;
}

static err_t check_fields(req_t *r, const objtype_t *t, const cJSON *fields)
{
	int i = 0;
	const cJSON *f;
	cJSON_ArrayForEach(f, fields) {
		err_t rc = check_field(r, t, f, arena_printf(r->a, "fields[%d]", i++), fields);
		if (rc)
			return rc;
	}
	return E_OK;
}

/* ------------------------------------------------------------- settings */

static err_t check_captcha(req_t *r, const cJSON *c, const cJSON *old)
{
	static const char *const members[] = { "provider", "site_key", "secret", "verify_url",
					       "secret_set", NULL };
	const char *f = "settings.captcha";
	if (cJSON_IsNull(c))
		return E_OK;
	if (!cJSON_IsObject(c))
		return req_fail_field(r, E_VALIDATION, f, "captcha must be an object or null");
	err_t rc;
	if ((rc = only_members(r, c, f, members)) || (rc = opt_str(r, c, "site_key", f, 255)) ||
	    (rc = opt_str(r, c, "secret", f, 255)) || (rc = opt_str(r, c, "verify_url", f, 2000)))
		return rc;
	const char *provider = json_str_of(c, "provider");
	if (!provider || (strcmp(provider, "hcaptcha") && strcmp(provider, "turnstile")))
		return req_fail_field(r, E_VALIDATION, "settings.captcha.provider",
				      "provider must be hcaptcha or turnstile");
	const char *url = json_str_of(c, "verify_url");
	if (url && !doc_url_ok(url))
		return req_fail_field(r, E_VALIDATION, "settings.captcha.verify_url",
				      "verify_url must be an http(s) URL");
	if (!json_str_of(c, "secret") && !json_str_of(old, "secret_sealed"))
		return req_fail_field(r, E_VALIDATION, "settings.captcha.secret",
				      "secret (the provider's secret key) is required");
	return E_OK;
}

static err_t check_emails(req_t *r, const cJSON *emails)
{
	if (!emails || cJSON_IsNull(emails))
		return E_OK;
	if (!cJSON_IsArray(emails) || cJSON_GetArraySize(emails) > FORM_EMAILS_MAX)
		return req_fail_field(r, E_VALIDATION, "settings.notification_emails",
				      "notification_emails must be an array of at most %d addresses",
				      FORM_EMAILS_MAX);
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, emails) {
		if (!cJSON_IsString(e) || !email_address_valid(e->valuestring))
			return req_fail_field(r, E_VALIDATION,
					      arena_printf(r->a, "settings.notification_emails[%d]", i),
					      "not an email address");
		i++;
	}
	return E_OK;
}

/* settings: {success_message, redirect_url (on the tenant's redirect
 * allowlist), notification_emails, honeypot, captcha, rate_limit_per_hour}. */
static err_t check_settings(req_t *r, const cJSON *s, const cJSON *old_captcha)
{
	static const char *const members[] = { "success_message", "redirect_url",
					       "notification_emails", "honeypot", "captcha",
					       "rate_limit_per_hour", NULL };
	err_t rc;
	if ((rc = only_members(r, s, "settings", members)) ||
	    (rc = opt_str(r, s, "success_message", "settings", 1000)) ||
	    (rc = opt_str(r, s, "redirect_url", "settings", 2000)) ||
	    (rc = opt_str(r, s, "honeypot", "settings", 64)) ||
	    (rc = check_emails(r, cJSON_GetObjectItemCaseSensitive(s, "notification_emails"))))
		return rc;
	const cJSON *rate = cJSON_GetObjectItemCaseSensitive(s, "rate_limit_per_hour");
	if (rate && (!cJSON_IsNumber(rate) || rate->valuedouble < 1 ||
		     rate->valuedouble > FORM_RATE_MAX || rate->valuedouble != (int)rate->valuedouble))
		return req_fail_field(r, E_VALIDATION, "settings.rate_limit_per_hour",
				      "rate_limit_per_hour must be an integer from 1 to %d", FORM_RATE_MAX);
	const char *url = json_str_of(s, "redirect_url");
	if (url) {
		auth_settings_t as;
		if ((rc = auth_settings_load(r, &as)))
			return rc;
		if (!doc_url_ok(url) || !auth_redirect_allowed(&as, url))
			return req_fail_field(r, E_VALIDATION, "settings.redirect_url",
					      "redirect_url must be an http(s) URL on the tenant's redirect "
					      "allowlist (auth config redirect_urls)");
	}
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(s, "captcha");
	return c ? check_captcha(r, c, old_captcha) : E_OK;
}

/* The settings as stored: a captcha secret sealed (kept from the old
 * settings when the body gives none). */
static char *settings_sealed(req_t *r, const cJSON *s, const cJSON *old_captcha)
{
	cJSON *copy = req_own(r, cJSON_Duplicate(s, true));
	cJSON *c = cJSON_GetObjectItemCaseSensitive(copy, "captcha");
	if (cJSON_IsObject(c)) {
		const char *secret = json_str_of(c, "secret");
		const char *sealed = secret ? secret_seal(r->a, g_config.master_key_bin, secret,
							  strlen(secret))
					    : json_str_of(old_captcha, "secret_sealed");
		cJSON_DeleteItemFromObjectCaseSensitive(c, "secret");
		cJSON_DeleteItemFromObjectCaseSensitive(c, "secret_set");
		cJSON_AddStringToObject(c, "secret_sealed", sealed);
	}
	return req_json_text(r, copy);
}

/* --------------------------------------------------------------- the form */

static const res_field_t form_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "name", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_WRITABLE | RF_REQUIRED | RF_SORT, .min = 1, .max = 255 },
	{ .name = "description", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_NULLABLE,
	  .max = 2000 },
	{ .name = "object_type_id", .type = COL_STR, .in = FT_STRING,
	  .flags = RF_CREATE | RF_REQUIRED | RF_FILTER, .min = 1, .max = 64 },
	{ .name = "fields", .type = COL_JSON, .in = FT_ARRAY, .flags = RF_WRITABLE,
	  .max = FORM_FIELDS_MAX },
	{ .name = "settings", .type = COL_JSON, .in = FT_OBJECT, .flags = RF_WRITABLE },
	{ .name = "status", .type = COL_STR, .in = FT_STRING, .flags = RF_WRITABLE | RF_FILTER,
	  .values = form_statuses },
	{ .name = "created_by", .type = COL_STR },
	{ .name = "created_at", .type = COL_TIME },
	{ .name = "updated_at", .type = COL_TIME },
	{ NULL },
};

/* Create and update: the type (the body's on create, the form's after),
 * stored by id; fields checked against it; settings checked and sealed. */
static err_t form_validate(req_t *r, res_ctx_t *c)
{
	const char *type = c->op == OP_CREATE ? json_str_of(c->body, "object_type_id")
					      : json_str_of(c->before, "object_type_id");
	objtype_t *t;
	err_t rc = objtype_load(r, type, &t);
	if (rc == E_NOT_FOUND)
		return req_fail_field(r, E_VALIDATION, "object_type_id", "Object type %.64s not found",
				      type);
	if (rc)
		return rc;
	if (c->op == OP_CREATE)
		resource_set(c, "object_type_id", db_str(t->id));
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(c->body, "fields");
	if (fields && (rc = check_fields(r, t, fields)))
		return rc;
	if (!fields && c->op == OP_CREATE)
		resource_set(c, "fields", db_str("[]"));
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(c->body, "settings");
	const cJSON *old = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(c->data, "settings"), "captcha");
	if (s && (rc = check_settings(r, s, old)))
		return rc;
	if (s)
		resource_set(c, "settings", db_str(settings_sealed(r, s, old)));
	else if (c->op == OP_CREATE)
		resource_set(c, "settings", db_str("{}"));
	return E_OK;
}

/* Before an update: the stored settings (with the sealed secret, which the
 * rendered row hides) for check_settings. */
static err_t form_check(req_t *r, res_ctx_t *c)
{
	if (c->op != OP_UPDATE || !cJSON_GetObjectItemCaseSensitive(c->body, "settings"))
		return E_OK;
	db_result *res;
	db_param p[] = { db_str(c->id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT settings FROM %s WHERE id = ?", tenant_table(r, "_forms")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *d = req_own(r, cJSON_CreateObject());
	if (res->nrows && db_get(res, 0, "settings"))
		cJSON_AddItemToObject(d, "settings", cJSON_Parse(db_get(res, 0, "settings")));
	c->data = d;
	return E_OK;
}

/* A captcha's secret is never shown: secret_set says whether one is kept. */
static void settings_render(cJSON *settings)
{
	cJSON *c = cJSON_GetObjectItemCaseSensitive(settings, "captcha");
	if (!cJSON_IsObject(c))
		return;
	bool set = cJSON_GetObjectItemCaseSensitive(c, "secret_sealed") != NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(c, "secret_sealed");
	cJSON_AddBoolToObject(c, "secret_set", set);
}

static err_t form_render(req_t *r, res_ctx_t *c, cJSON *row)
{
	(void)r;
	(void)c;
	settings_render(cJSON_GetObjectItemCaseSensitive(row, "settings"));
	return E_OK;
}

static const res_hooks_t form_hooks = {
	.check = form_check,
	.validate = form_validate,
	.render = form_render,
};

static const resource_t form_res = {
	.name = "Form", .type = "form", .table = "_forms", .home = RES_TENANT,
	.id_param = "form_id", .id_prefix = "form_", .fields = form_fields,
	.order = "created_at DESC", .title = "name", .flags = RES_CREATED_BY,
	.hooks = &form_hooks,
	.example = "{\"name\":\"Contact us\",\"object_type_id\":\"probe\",\"fields\":[],"
		   "\"settings\":{\"success_message\":\"Thanks!\"}}",
};

/* The form of the path (rendered, its settings still sealed when raw). */
static err_t form_load(req_t *r, const char *id, cJSON **form, cJSON **settings)
{
	res_ctx_t c;
	err_t rc = resource_ctx(r, &form_res, OP_GET, &c);
	if (rc || (rc = resource_fetch(r, &c, id, false, form)))
		return rc;
	if (!settings)
		return E_OK;
	db_result *res;
	db_param p[] = { db_str(id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT settings FROM %s WHERE id = ?", tenant_table(r, "_forms")), p, 1, &res);
	if (st)
		return req_db_error(r, st);
	*settings = req_own(r, cJSON_Parse(res->nrows && db_get(res, 0, "settings")
						   ? db_get(res, 0, "settings") : "{}"));
	return E_OK;
}

/* ------------------------------------------------------------ submissions */

static err_t submissions_parent(req_t *r, res_ctx_t *c)
{
	cJSON *form;
	err_t rc = form_load(r, req_param(r, "form_id"), &form, NULL);
	if (rc)
		return rc;
	c->parent_id = json_str_of(form, "id");
	c->parent = form;
	return E_OK;
}

static const res_field_t submission_fields[] = {
	{ .name = "id", .type = COL_STR },
	{ .name = "form_id", .type = COL_STR },
	{ .name = "object_id", .type = COL_STR, .flags = RF_FILTER },
	{ .name = "data", .type = COL_JSON },
	{ .name = "created_at", .type = COL_TIME, .flags = RF_SORT },
	{ NULL },
};

static const res_hooks_t submission_hooks = { .parent = submissions_parent };

static const resource_t submission_res = {
	.name = "Submission", .type = "form_submission", .table = "_form_submissions",
	.home = RES_TENANT, .id_param = "submission_id", .id_prefix = "fsub_",
	.fields = submission_fields, .parent_param = "form_id", .parent_column = "form_id",
	.order = "created_at DESC", .flags = RES_NO_TIMES | RES_NO_AUDIT,
	.list_shape = LIST_PAGE, .list_key = "submissions", .hooks = &submission_hooks,
};

/* ----------------------------------------------------------- public read */

/* The day's views or submissions of the form, one more. */
static err_t stats_bump(req_t *r, const char *form_id, const char *column)
{
	db_param p[] = { db_str(form_id) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (form_id, day, %s) VALUES (?, UTC_DATE(), 1) "
		"ON DUPLICATE KEY UPDATE %s = %s + 1", tenant_table(r, "_form_stats"), column, column,
		column), p, 1, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* The form a visitor may use: active ones; a draft is not found, a closed
 * one is gone. */
static err_t public_form(req_t *r, cJSON **form, cJSON **settings)
{
	const char *id = req_param(r, "form_id");
	if (!id_valid(id, "form_"))
		return req_fail(r, E_NOT_FOUND, "Form not found");
	err_t rc = form_load(r, id, form, settings);
	if (rc)
		return rc;
	const char *status = json_str_of(*form, "status");
	if (!strcmp(status, "closed"))
		return req_fail(r, E_GONE, "This form is closed");
	if (strcmp(status, "active"))
		return req_fail(r, E_NOT_FOUND, "Form not found");
	return E_OK;
}

static err_t forms_public_get(req_t *r)
{
	cJSON *form, *settings;
	err_t rc = public_form(r, &form, &settings);
	if (rc)
		return rc;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "form_id", json_str_of(form, "id"));
	cJSON_AddItemToObject(d, "name", cJSON_Duplicate(cJSON_GetObjectItem(form, "name"), true));
	cJSON_AddItemToObject(d, "description",
			      cJSON_Duplicate(cJSON_GetObjectItem(form, "description"), true));
	cJSON_AddStringToObject(d, "object_type_id", json_str_of(form, "object_type_id"));
	/* Hidden fields submit their default server-side: not shown. */
	cJSON *fields = cJSON_AddArrayToObject(d, "fields");
	const cJSON *f;
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(form, "fields"))
		if (!cJSON_IsTrue(cJSON_GetObjectItem(f, "hidden")))
			cJSON_AddItemToArray(fields, cJSON_Duplicate(f, true));
	cJSON *pub = cJSON_AddObjectToObject(d, "settings");
	static const char *const shown[] = { "success_message", "redirect_url", "honeypot" };
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(settings, shown[i]);
		if (v)
			cJSON_AddItemToObject(pub, shown[i], cJSON_Duplicate(v, true));
	}
	const cJSON *captcha = cJSON_GetObjectItemCaseSensitive(settings, "captcha");
	if (cJSON_IsObject(captcha)) {
		cJSON *c = cJSON_AddObjectToObject(pub, "captcha");
		cJSON_AddStringToObject(c, "provider", json_str_of(captcha, "provider"));
		if (json_str_of(captcha, "site_key"))
			cJSON_AddStringToObject(c, "site_key", json_str_of(captcha, "site_key"));
	}
	cJSON_AddBoolToObject(d, "require_captcha", cJSON_IsObject(captcha));
	cJSON *brand;
	if ((rc = branding_public(r, &brand)) || (rc = stats_bump(r, json_str_of(form, "id"), "views"))) {
		cJSON_Delete(d);
		return rc;
	}
	cJSON_AddItemToObject(d, "branding", cJSON_Duplicate(brand, true));
	reply_data(r, 200, d);
	return E_OK;
}

/* ----------------------------------------------------------------- submit */

/* The body of a submission as an object: JSON, or urlencoded (every value
 * a string, a repeated name an array). */
static err_t submission_body(req_t *r, cJSON **out, bool *html)
{
	const char *ct = req_env(r, "CONTENT_TYPE");
	*html = ct && !strncasecmp(ct, "application/x-www-form-urlencoded", 33);
	if (!*html && (!ct || strncasecmp(ct, "application/json", 16)))
		return req_fail(r, E_UNSUPPORTED_MEDIA,
				"Content-Type must be application/json or "
				"application/x-www-form-urlencoded");
	if (!*html) {
		*out = r->body_len ? req_own(r, cJSON_ParseWithLength(r->body, r->body_len)) : NULL;
		if (!cJSON_IsObject(*out))
			return req_fail(r, E_INVALID_JSON, "The body must be a JSON object");
		const char *deep;
		if (json_too_deep(*out, &deep))
			return req_fail_field(r, E_VALIDATION, deep, "%s nests too deep", deep);
		return E_OK;
	}
	*out = req_own(r, cJSON_CreateObject());
	const char *s = r->body ? r->body : "";
	while (*s) {
		size_t n = strcspn(s, "&"), k = strcspn(s, "=");
		if (k > n)
			k = n;
		char *name = url_decode(r->a, s, k, true);
		char *value = k < n ? url_decode(r->a, s + k + 1, n - k - 1, true) : arena_strdup(r->a, "");
		if (!name || !value)
			return req_fail(r, E_BAD_REQUEST, "The form body has a malformed escape, a NUL or bytes that are not UTF-8");
		cJSON *had = cJSON_GetObjectItemCaseSensitive(*out, name);
		if (cJSON_IsArray(had)) {
			cJSON_AddItemToArray(had, cJSON_CreateString(value));
		} else if (had) {
			cJSON *arr = cJSON_CreateArray();
			cJSON_AddItemToArray(arr, cJSON_Duplicate(had, true));
			cJSON_AddItemToArray(arr, cJSON_CreateString(value));
			cJSON_ReplaceItemInObjectCaseSensitive(*out, name, arr);
		} else if (*name) {
			cJSON_AddStringToObject(*out, name, value);
		}
		s += n + (s[n] == '&');
	}
	return E_OK;
}

/* A text value of an HTML form in the property's JSON type: numbers,
 * booleans (on/true/1), lists for multi-valued types; NULL for "". */
static cJSON *form_value(const prop_t *p, const cJSON *v)
{
	const char *t = p->type->name;
	bool list = !strcmp(t, "multi_enum") || !strcmp(t, "array");
	if (!cJSON_IsString(v)) {
		if (list && cJSON_IsArray(v))
			return cJSON_Duplicate(v, true);
		return cJSON_Duplicate(v, true);
	}
	const char *s = v->valuestring;
	if (!*s)
		return NULL;
	if (!strcmp(t, "integer") || !strcmp(t, "number") || !strcmp(t, "percent")) {
		char *end;
		double d = strtod(s, &end);
		return *end ? cJSON_CreateString(s) : cJSON_CreateNumber(d);
	}
	if (!strcmp(t, "boolean")) {
		if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
			return cJSON_CreateTrue();
		if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no"))
			return cJSON_CreateFalse();
	}
	if (list) {
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, cJSON_CreateString(s));
		return a;
	}
	if (!strcmp(t, "json")) {
		cJSON *j = cJSON_Parse(s);
		return j ? j : cJSON_CreateString(s);
	}
	return cJSON_CreateString(s);
}

/* The names a submission may carry besides its fields. */
static bool submission_extra(const char *name, const cJSON *settings)
{
	static const char *const extra[] = { "tenant_id", "captcha_token", "h-captcha-response",
					     "cf-turnstile-response", NULL };
	const char *hp = json_str_of(settings, "honeypot");
	return one_of(name, extra) || (hp && !strcmp(name, hp));
}

/* The properties a submission gives: every field's value (a hidden
 * field's is its default), required ones present, nothing else sent. */
static err_t submission_props(req_t *r, const objtype_t *t, const cJSON *form,
			      const cJSON *settings, const cJSON *in, bool html, cJSON **props)
{
	const cJSON *fields = cJSON_GetObjectItem(form, "fields"), *f, *v;
	cJSON_ArrayForEach(v, in) {
		bool known = submission_extra(v->string, settings);
		cJSON_ArrayForEach(f, fields)
			known |= !strcmp(json_str_of(f, "property"), v->string);
		if (!known)
			return req_fail_field(r, E_VALIDATION, v->string, "%.60s is not a field of this form",
					      v->string);
	}
	*props = req_own(r, cJSON_CreateObject());
	cJSON_ArrayForEach(f, fields) {
		const char *name = json_str_of(f, "property");
		const prop_t *p = objtype_prop(t, name);
		const cJSON *def = cJSON_GetObjectItem(f, "default_value");
		bool hidden = cJSON_IsTrue(cJSON_GetObjectItem(f, "hidden"));
		if (!p)
			continue;   /* the property was deleted since */
		v = hidden ? NULL : cJSON_GetObjectItemCaseSensitive(in, name);
		cJSON *val = v && html ? form_value(p, v) : v ? cJSON_Duplicate(v, true) : NULL;
		if (!val && def && !cJSON_IsNull(def))
			val = cJSON_Duplicate(def, true);
		if (!val && cJSON_IsTrue(cJSON_GetObjectItem(f, "required")))
			return req_fail_field(r, E_VALIDATION, name, "%s is required", name);
		if (val)
			cJSON_AddItemToObject(*props, name, val);
	}
	return E_OK;
}

/* Per address and hour, at most settings.rate_limit_per_hour submissions
 * of the form. */
static err_t submission_rate(req_t *r, const char *form_id, const cJSON *settings,
			     const char *addr_hash)
{
	const cJSON *lim = cJSON_GetObjectItemCaseSensitive(settings, "rate_limit_per_hour");
	long long limit = cJSON_IsNumber(lim) ? (long long)lim->valuedouble : FORM_RATE_DEFAULT;
	long long count, ttl;
	char *key = cache_tkey(r->a, "formrl", r->tenant.id, "%s:%s", form_id, addr_hash);
	if (cache_incr_window(r->cache, r->a, key, 3600, &count, &ttl))
		return req_fail(r, E_UNAVAILABLE, "The rate limiter is unavailable; try again shortly");
	if (count <= limit)
		return E_OK;
	reply_header(r, "Retry-After", arena_printf(r->a, "%lld", ttl > 0 ? ttl : 1));
	return req_fail(r, E_RATE_LIMITED, "Too many submissions from this address; try again in "
			"%lld seconds", ttl > 0 ? ttl : 1);
}

/* The CAPTCHA token, checked with the provider's siteverify API. */
static err_t captcha_verify(req_t *r, const cJSON *captcha, const cJSON *in)
{
	const char *provider = json_str_of(captcha, "provider");
	bool turnstile = !strcmp(provider, "turnstile");
	const char *token = json_str_of(in, "captcha_token");
	if (!token)
		token = json_str_of(in, turnstile ? "cf-turnstile-response" : "h-captcha-response");
	if (!token || !*token)
		return req_fail_field(r, E_VALIDATION, "captcha_token", "The CAPTCHA must be solved");
	const char *url = json_str_of(captcha, "verify_url");
	if (!url)
		url = turnstile ? "https://challenges.cloudflare.com/turnstile/v0/siteverify"
				: "https://api.hcaptcha.com/siteverify";
	char *secret = secret_open(r->a, g_config.master_key_bin, json_str_of(captcha, "secret_sealed"),
				   NULL);
	if (!secret)
		return req_fail(r, E_INTERNAL, "The form's CAPTCHA secret cannot be opened");
	char *body = arena_printf(r->a, "secret=%s&response=%s&remoteip=%s",
				  url_component(r->a, secret), url_component(r->a, token),
				  url_component(r->a, r->remote_addr ? r->remote_addr : ""));
	static const char *const headers[] = { "Content-Type: application/x-www-form-urlencoded",
					       NULL };
	outhttp_result_t res;
	if (outhttp_request("POST", url, headers, body, strlen(body), CAPTCHA_TIMEOUT_S,
			    g_config.http_allow_private, &res) || res.status != 200) {
		log_warn("%s: captcha verify at %s failed: %ld %s", r->request_id, url, res.status,
			 res.error);
		return req_fail(r, E_UNAVAILABLE, "The CAPTCHA provider cannot be reached; try again");
	}
	cJSON *answer = req_own(r, cJSON_Parse(res.excerpt));
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(answer, "success")))
		return req_fail_field(r, E_VALIDATION, "captcha_token", "The CAPTCHA was not solved");
	return E_OK;
}

/* Notification emails of a submission (in the transaction: the mail job
 * is enqueued only if the submission is stored). */
static err_t submission_notify(req_t *r, const cJSON *form, const cJSON *settings,
			       const cJSON *props)
{
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(settings, "notification_emails");
	if (!cJSON_IsArray(to) || cJSON_GetArraySize(to) == 0)
		return E_OK;
	strbuf_t b = { 0 };
	sb_printf(&b, "A new submission of the form \"%s\":\n\n", json_str_of(form, "name"));
	const cJSON *v;
	cJSON_ArrayForEach(v, props) {
		char *text = cJSON_IsString(v) ? NULL : cJSON_PrintUnformatted(v);
		sb_printf(&b, "%s: %s\n", v->string, text ? text : v->valuestring);
		cJSON_free(text);
	}
	const char *subject = arena_printf(r->a, "New submission: %s", json_str_of(form, "name"));
	return mail_enqueue(r, to, NULL, NULL, NULL, subject, sb_take(&b, r->a), NULL, NULL);
}

/* The submission's rows: the object, the submission, the day's count,
 * the form.submitted event and the notification, in one transaction. */
static err_t submission_store(req_t *r, const objtype_t *t, const cJSON *form,
			      const cJSON *settings, const cJSON *props, const char *addr_hash,
			      char *sub_id, size_t sub_len, char *obj_id, size_t obj_len)
{
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	const char *form_id = json_str_of(form, "id");
	err_t rc = objects_insert(r, t, props, obj_id, obj_len, NULL);
	id_new(sub_id, sub_len, "fsub_");
	const char *ua = req_env(r, "HTTP_USER_AGENT");
	db_param p[] = { db_str(sub_id), db_str(form_id), db_str(obj_id),
			 db_str(req_json_text(r, props)), db_str(addr_hash),
			 db_strn(ua ? ua : "", ua ? strnlen(ua, 512) : 0) };
	if (!rc && (st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, form_id, object_id, data, address_hash, user_agent, created_at) "
		"VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(3))", tenant_table(r, "_form_submissions")),
		p, 6, NULL)))
		rc = req_db_error(r, st);
	if (!rc)
		rc = stats_bump(r, form_id, "submissions");
	if (!rc) {
		cJSON *ev = req_own(r, cJSON_CreateObject());
		cJSON_AddStringToObject(ev, "form_id", form_id);
		cJSON_AddStringToObject(ev, "submission_id", sub_id);
		cJSON_AddStringToObject(ev, "object_id", obj_id);
		cJSON_AddStringToObject(ev, "object_type_id", t->id);
		cJSON_AddItemToObject(ev, "data", cJSON_Duplicate(props, true));
		rc = outbox_add(r, "form.submitted", "form", form_id, ev);
	}
	if (!rc)
		rc = submission_notify(r, form, settings, props);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	obj_totals_drop(r, t);
	return E_OK;
}

char *client_address_hash(req_t *r)
{
	const char *addr = r->remote_addr ? r->remote_addr : "";
	unsigned char mac[32];
	hmac_sha256(mac, g_config.master_key_bin, 32, addr, strlen(addr));
	char *hex = arena_alloc(r->a, 65);
	hex_encode(hex, 65, mac, 32);
	return hex;
}

static err_t forms_submit(req_t *r)
{
	cJSON *form, *settings, *in = NULL, *props = NULL;
	bool html;
	err_t rc = public_form(r, &form, &settings);
	if (rc || (rc = submission_body(r, &in, &html)))
		return rc;
	const char *form_id = json_str_of(form, "id");
	char *addr = client_address_hash(r);
	if ((rc = submission_rate(r, form_id, settings, addr)))
		return rc;
	const char *hp = json_str_of(settings, "honeypot");
	const char *bait = hp ? json_str_of(in, hp) : NULL;
	const cJSON *captcha = cJSON_GetObjectItemCaseSensitive(settings, "captcha");
	objtype_t *t = NULL;
	char sub_id[40] = "", obj_id[40] = "";
	if (!(bait && *bait)) {
		if ((cJSON_IsObject(captcha) && (rc = captcha_verify(r, captcha, in))) ||
		    (rc = objtype_load(r, json_str_of(form, "object_type_id"), &t)) ||
		    (rc = submission_props(r, t, form, settings, in, html, &props)) ||
		    (rc = submission_store(r, t, form, settings, props, addr, sub_id, sizeof(sub_id),
					   obj_id, sizeof(obj_id))))
			return rc;
	}
	const char *redirect = json_str_of(settings, "redirect_url");
	if (html && redirect) {
		reply_header(r, "Location", redirect);
		reply_raw(r, 303, "text/plain; charset=utf-8", "", 0);
		return E_OK;
	}
	/* A honeypot catch looks like any success, without ids. */
	cJSON *d = cJSON_CreateObject();
	cJSON_AddBoolToObject(d, "submitted", true);
	if (*obj_id) {
		cJSON_AddStringToObject(d, "object_id", obj_id);
		cJSON_AddStringToObject(d, "submission_id", sub_id);
	}
	const char *msg = json_str_of(settings, "success_message");
	cJSON_AddStringToObject(d, "message", msg ? msg : "Thank you!");
	reply_data(r, 200, d);
	return E_OK;
}

/* ---------------------------------------------------------------- export */

static err_t export_format(req_t *r, bool *csv)
{
	const char *f = req_query(r, "format");
	*csv = !f || !strcmp(f, "csv");
	if (f && !*csv && strcmp(f, "json"))
		return req_fail_field(r, E_VALIDATION, "format", "format must be csv or json");
	return E_OK;
}

/* One submission as a CSV record: id, object, time, then the fields. */
static void export_csv_row(strbuf_t *b, const cJSON *fields, const db_result *res, int i)
{
	char ts[RFC3339_LEN];
	csv_field(b, db_get(res, i, "id"), true);
	csv_field(b, db_get(res, i, "object_id"), false);
	csv_field(b, time_from_sql(ts, db_get(res, i, "created_at")), false);
	cJSON *data = cJSON_Parse(db_get(res, i, "data"));
	const cJSON *f;
	cJSON_ArrayForEach(f, fields)
		csv_value(b, cJSON_GetObjectItemCaseSensitive(data, json_str_of(f, "property")), false);
	cJSON_Delete(data);
	sb_puts(b, "\r\n");
}

static void export_json_row(strbuf_t *b, const db_result *res, int i, bool first)
{
	char ts[RFC3339_LEN];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", db_get(res, i, "id"));
	cJSON_AddStringToObject(o, "object_id", db_get(res, i, "object_id"));
	cJSON_AddStringToObject(o, "created_at", time_from_sql(ts, db_get(res, i, "created_at")));
	cJSON *data = cJSON_Parse(db_get(res, i, "data"));
	cJSON_AddItemToObject(o, "data", data ? data : cJSON_CreateObject());
	char *s = cJSON_PrintUnformatted(o);
	sb_puts(b, first ? "\n" : ",\n");
	sb_puts(b, s ? s : "{}");
	cJSON_free(s);
	cJSON_Delete(o);
}

/* Streams every submission (at most FORM_EXPORT_MAX), oldest first, in
 * batches by id. */
static err_t forms_export(req_t *r)
{
	cJSON *form;
	bool csv;
	err_t rc = form_load(r, req_param(r, "form_id"), &form, NULL);
	if (rc || (rc = export_format(r, &csv)))
		return rc;
	const cJSON *fields = cJSON_GetObjectItem(form, "fields"), *f;
	const char *form_id = json_str_of(form, "id");
	reply_header(r, "Content-Disposition", arena_printf(r->a,
		"attachment; filename=\"%s-submissions.%s\"", form_id, csv ? "csv" : "json"));
	reply_stream_start(r, 200, csv ? "text/csv; charset=utf-8" : "application/json");
	strbuf_t b = { 0 };
	if (csv) {
		csv_field(&b, "submission_id", true);
		csv_field(&b, "object_id", false);
		csv_field(&b, "submitted_at", false);
		cJSON_ArrayForEach(f, fields)
			csv_field(&b, json_str_of(f, "property"), false);
		sb_puts(&b, "\r\n");
	} else {
		sb_puts(&b, "[");
	}
	const char *last = "";
	int sent = 0;
	for (;;) {
		db_result *res;
		db_param p[] = { db_str(form_id), db_str(last) };
		if (db_exec(r->db, r->a, arena_printf(r->a,
			"SELECT id, object_id, data, created_at FROM %s WHERE form_id = ? AND id > ? "
			"ORDER BY id LIMIT %d", tenant_table(r, "_form_submissions"), FORM_EXPORT_BATCH),
			p, 2, &res)) {
			log_error("%s: form export stopped by a database error", r->request_id);
			break;
		}
		for (int i = 0; i < res->nrows && sent < FORM_EXPORT_MAX; i++, sent++) {
			if (csv)
				export_csv_row(&b, fields, res, i);
			else
				export_json_row(&b, res, i, sent == 0);
		}
		char *chunk = sb_take(&b, r->a);
		if (!reply_stream_write(r, chunk, strlen(chunk)) || res->nrows < FORM_EXPORT_BATCH ||
		    sent >= FORM_EXPORT_MAX)
			break;
		last = db_get(res, res->nrows - 1, "id");
	}
	if (!csv) {
		sb_puts(&b, "\n]\n");
		char *end = sb_take(&b, r->a);
		reply_stream_write(r, end, strlen(end));
	}
	free(b.p);
	return E_OK;
}

/* ------------------------------------------------------------- analytics */

/* Views, submissions and conversion per UTC day over the last ?days=
 * (30 by default), zero-filled, and their totals. */
static err_t forms_analytics(req_t *r)
{
	cJSON *form;
	long long days;
	err_t rc = form_load(r, req_param(r, "form_id"), &form, NULL);
	if (rc || (rc = req_query_int(r, "days", 30, 1, FORM_DAYS_MAX, &days)))
		return rc;
	db_result *res;
	db_param p[] = { db_str(json_str_of(form, "id")), db_int(days - 1) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT DATE_FORMAT(day, '%%Y-%%m-%%d') AS day, views, submissions FROM %s "
		"WHERE form_id = ? AND day >= UTC_DATE() - INTERVAL ? DAY", tenant_table(r, "_form_stats")),
		p, 2, &res);
	if (st)
		return req_db_error(r, st);
	cJSON *d = cJSON_CreateObject();
	cJSON *by_day = cJSON_AddArrayToObject(d, "by_day");
	long long views = 0, subs = 0;
	time_t now = time(NULL);
	for (long long k = days - 1; k >= 0; k--) {
		time_t t = now - (time_t)k * 86400;
		struct tm tm;
		gmtime_r(&t, &tm);
		char day[16];
		strftime(day, sizeof(day), "%Y-%m-%d", &tm);
		long long v = 0, s = 0;
		for (int i = 0; i < res->nrows; i++)
			if (!strcmp(db_get(res, i, "day"), day)) {
				v = db_get_int(res, i, "views", 0);
				s = db_get_int(res, i, "submissions", 0);
			}
		views += v;
		subs += s;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "date", day);
		cJSON_AddNumberToObject(o, "views", (double)v);
		cJSON_AddNumberToObject(o, "submissions", (double)s);
		cJSON_AddNumberToObject(o, "conversion_rate", v ? (double)(s * 10000 / v) / 10000.0 : 0);
		cJSON_AddItemToArray(by_day, o);
	}
	cJSON_AddStringToObject(d, "form_id", json_str_of(form, "id"));
	cJSON_AddNumberToObject(d, "views", (double)views);
	cJSON_AddNumberToObject(d, "submissions", (double)subs);
	cJSON_AddNumberToObject(d, "conversion_rate", views ? (double)(subs * 10000 / views) / 10000.0 : 0);
	reply_data(r, 200, d);
	return E_OK;
}

/* ------------------------------------------------------------- duplicate */

/* A draft copy named "<name> (copy)", with the same fields and settings
 * (its CAPTCHA secret included). */
static err_t forms_duplicate(req_t *r)
{
	cJSON *form;
	err_t rc = form_load(r, req_param(r, "form_id"), &form, NULL);
	if (rc)
		return rc;
	char id[40];
	id_new(id, sizeof(id), "form_");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(id), db_str(obj_actor(r)), db_str(json_str_of(form, "id")) };
	st = db_exec(r->db, r->a, arena_printf(r->a,
		"INSERT INTO %s (id, name, description, object_type_id, fields, settings, status, "
		"created_by, created_at, updated_at) SELECT ?, LEFT(CONCAT(name, ' (copy)'), 255), "
		"description, object_type_id, fields, settings, 'draft', ?, UTC_TIMESTAMP(3), "
		"UTC_TIMESTAMP(3) FROM %s WHERE id = ?", tenant_table(r, "_forms"),
		tenant_table(r, "_forms")), p, 3, NULL);
	rc = st ? req_db_error(r, st) : E_OK;
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(details, "source_id", json_str_of(form, "id"));
	if (!rc)
		rc = req_audit(r, "form.duplicated", "form", id, details);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	cJSON *copy;
	if ((rc = form_load(r, id, &copy, NULL)))
		return rc;
	reply_data(r, 201, cJSON_Duplicate(copy, true));
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t forms_routes[] = {
	CRUD("GET", "/v1/forms", "Forms", "read", NULL, 0, form_res, OP_LIST, "List forms"),
	CRUD("POST", "/v1/forms", "Forms", "schema", NULL, 0, form_res, OP_CREATE, "Create form"),
	CRUD("PATCH", "/v1/forms/:form_id", "Forms", "schema", NULL, 0, form_res, OP_UPDATE, "Update form"),
	CRUD("DELETE", "/v1/forms/:form_id", "Forms", "schema", NULL, 0, form_res, OP_DELETE, "Delete form"),
	ROUTE("POST", "/v1/forms/:form_id/duplicate", "Forms", AUTH_BEARER, "schema", NULL, 0, forms_duplicate, NULL, "Duplicate form"),
	ROUTE("GET", "/v1/forms/:form_id/submissions/export", "Forms", AUTH_BEARER, "read", NULL, 0, forms_export, NULL, "Export form submissions"),
	ROUTE("GET", "/v1/forms/:form_id/analytics", "Forms", AUTH_BEARER, "read", NULL, 0, forms_analytics, NULL, "Get form analytics"),
	CRUD("GET", "/v1/forms/:form_id/submissions", "Forms", "read", NULL, 0, submission_res, OP_LIST, "List form submissions"),
	ROUTE_T("GET", "/v1/forms/:form_id", "Public Forms", AUTH_NONE, "", NULL, 0, forms_public_get, NULL, "Get public form", TENANT_NAMED, 0),
	ROUTE_T("POST", "/v1/forms/:form_id/submit", "Public Forms", AUTH_NONE, "", NULL, 0, forms_submit, NULL, "Submit public form", TENANT_NAMED, 0),
	ROUTES_END,
};
