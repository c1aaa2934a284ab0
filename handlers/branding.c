/*
 * branding.c - the tenant's branding: brand name, logo and favicon
 * (https URLs), colours, footer text, custom CSS and custom domain,
 * shown on public forms and public dashboards (branding_public).
 *
 * The brand name and the custom domain are the tenant's own columns
 * (tenants.brand_name, tenants.domain, which already name the tenant in
 * mail and find it by Host); the rest is one row of `branding` in the
 * control DB.  Custom CSS is refused when it could load or run anything:
 * no @import, url() only to https, no expression() or javascript:, and
 * nothing that would close the <style> element it is put in.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "../common/jsonx.h"
#include "../fcgi/journal.h"
#include "apps.h"
#include "routes.h"

#define CSS_MAX (32 * 1024)

const field_t branding_body[] = {
	{ "brand_name", FT_STRING, FF_NULLABLE, 1, 100 },
	{ "logo_url", FT_STRING, FF_NULLABLE, 1, 2000 },
	{ "favicon_url", FT_STRING, FF_NULLABLE, 1, 2000 },
	{ "primary_color", FT_STRING, FF_NULLABLE, 1, 7 },
	{ "secondary_color", FT_STRING, FF_NULLABLE, 1, 7 },
	{ "footer_text", FT_STRING, FF_NULLABLE, 1, 1000 },
	{ "custom_css", FT_STRING, FF_NULLABLE, 0, CSS_MAX },
	{ "custom_domain", FT_STRING, FF_NULLABLE, 1, 253 },
	{ NULL, 0, 0, 0, 0 },
};

/* The branding row's own columns, in the body's names. */
static const char *const row_columns[] = { "logo_url", "favicon_url", "primary_color",
					   "secondary_color", "footer_text", "custom_css", NULL };

static bool https_url(const char *s)
{
	return !strncasecmp(s, "https://", 8) && doc_url_ok(s);
}

static bool color_valid(const char *s)
{
	size_t n = strlen(s);
	return s[0] == '#' && (n == 4 || n == 7) && strspn(s + 1, "0123456789abcdefABCDEF") == n - 1;
}

/* A DNS name of at least two labels (letters, digits, hyphens inside),
 * not an address. */
static bool hostname_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > 253 || !strchr(s, '.') || strspn(s, "0123456789.") == n)
		return false;
	for (const char *l = s; *l;) {
		size_t k = strcspn(l, ".");
		if (k == 0 || k > 63 || l[0] == '-' || l[k - 1] == '-')
			return false;
		for (size_t i = 0; i < k; i++)
			if (!isalnum((unsigned char)l[i]) && l[i] != '-')
				return false;
		l += k + (l[k] == '.');
		if (l[-1] == '.' && !*l)
			return false;
	}
	return true;
}

/* s with its letters lowered and its whitespace, comments and escapes
 * left out: what a CSS parser would read a keyword as. */
static char *css_folded(req_t *r, const char *s)
{
	size_t n = strlen(s);
	char *out = arena_alloc(r->a, n + 1), *o = out;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '/' && s[i + 1] == '*') {
			const char *end = strstr(s + i + 2, "*/");
			i = end ? (size_t)(end - s) + 1 : n;
			continue;
		}
		if (isspace((unsigned char)s[i]) || s[i] == '\\')
			continue;
		*o++ = (char)tolower((unsigned char)s[i]);
	}
	*o = '\0';
	return out;
}

/* Every url( in the folded CSS opens an https URL. */
static bool css_urls_https(const char *folded)
{
	for (const char *u = strstr(folded, "url("); u; u = strstr(u + 4, "url(")) {
		const char *v = u + 4;
		v += *v == '"' || *v == '\'';
		if (strncmp(v, "https://", 8))
			return false;
	}
	return true;
}

static err_t check_css(req_t *r, const char *css)
{
	const char *f = css_folded(r, css);
	const char *problem = strstr(f, "@import") ? "@import is not allowed"
		: strstr(f, "expression(") ? "expression() is not allowed"
		: strstr(f, "javascript:") ? "javascript: URLs are not allowed"
		: strstr(f, "</") || strchr(css, '<') ? "< is not allowed (the CSS goes in a <style> element)"
		: !css_urls_https(f) ? "url() may only load https URLs"
		: NULL;
	if (problem)
		return req_fail_field(r, E_VALIDATION, "custom_css", "%s", problem);
	return E_OK;
}

/* Checks every member the body gives (null clears one). */
static err_t branding_check(req_t *r, const cJSON *b)
{
	const char *v;
	if ((v = json_str_of(b, "logo_url")) && !https_url(v))
		return req_fail_field(r, E_VALIDATION, "logo_url", "logo_url must be an https URL");
	if ((v = json_str_of(b, "favicon_url")) && !https_url(v))
		return req_fail_field(r, E_VALIDATION, "favicon_url", "favicon_url must be an https URL");
	if ((v = json_str_of(b, "primary_color")) && !color_valid(v))
		return req_fail_field(r, E_VALIDATION, "primary_color",
				      "primary_color must be a hex colour (#4f46e5 or #fff)");
	if ((v = json_str_of(b, "secondary_color")) && !color_valid(v))
		return req_fail_field(r, E_VALIDATION, "secondary_color",
				      "secondary_color must be a hex colour (#4f46e5 or #fff)");
	if ((v = json_str_of(b, "custom_domain")) && !hostname_valid(v))
		return req_fail_field(r, E_VALIDATION, "custom_domain",
				      "custom_domain must be a host name such as forms.example.com");
	if ((v = json_str_of(b, "custom_css")))
		return check_css(r, v);
	return E_OK;
}

/* The branding of r's tenant, every member present (null when unset). */
static err_t branding_load(req_t *r, cJSON **out)
{
	db_result *res;
	db_param p[] = { db_str(r->tenant.id) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"SELECT t.brand_name, t.domain AS custom_domain, b.logo_url, b.favicon_url, "
		"b.primary_color, b.secondary_color, b.footer_text, b.custom_css FROM tenants t "
		"LEFT JOIN branding b ON b.tenant_id = t.id WHERE t.id = ?", p, 1, &res);
	if (st)
		return req_db_error(r, st);
	*out = req_own(r, cJSON_CreateObject());
	static const char *const names[] = { "brand_name", "logo_url", "favicon_url", "primary_color",
					     "secondary_color", "footer_text", "custom_css",
					     "custom_domain" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *v = res->nrows ? db_get(res, 0, names[i]) : NULL;
		if (v)
			cJSON_AddStringToObject(*out, names[i], v);
		else
			cJSON_AddNullToObject(*out, names[i]);
	}
	return E_OK;
}

err_t branding_public(req_t *r, cJSON **out)
{
	err_t rc = branding_load(r, out);
	if (!rc)
		cJSON_DeleteItemFromObjectCaseSensitive(*out, "custom_domain");
	return rc;
}

static err_t branding_get(req_t *r)
{
	cJSON *b;
	err_t rc = branding_load(r, &b);
	if (rc)
		return rc;
	reply_data(r, 200, cJSON_Duplicate(b, true));
	return E_OK;
}

/* tenants.brand_name and tenants.domain, when the body names them. */
static err_t tenant_columns_write(req_t *r, const cJSON *b)
{
	static const struct { const char *member, *column; } cols[] = {
		{ "brand_name", "brand_name" }, { "custom_domain", "domain" },
	};
	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, cols[i].member);
		if (!v)
			continue;
		db_param p[] = { db_str(cJSON_IsString(v) ? v->valuestring : NULL), db_str(r->tenant.id) };
		enum db_status st = db_exec(db_control(r->db), r->a, arena_printf(r->a,
			"UPDATE tenants SET %s = ? WHERE id = ?", cols[i].column), p, 2, NULL);
		if (st == DB_DUPLICATE)
			return req_fail_field(r, E_CONFLICT, "custom_domain",
					      "Another tenant already uses this custom domain");
		if (st)
			return req_db_error(r, st);
	}
	return E_OK;
}

/* The branding row: created on the first change, then only the members
 * the body names are written. */
static err_t branding_row_write(req_t *r, const cJSON *b)
{
	db_param p[] = { db_str(r->tenant.id) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"INSERT IGNORE INTO branding (tenant_id, updated_at) VALUES (?, UTC_TIMESTAMP(3))",
		p, 1, NULL);
	for (int i = 0; !st && row_columns[i]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, row_columns[i]);
		if (!v)
			continue;
		db_param q[] = { db_str(cJSON_IsString(v) ? v->valuestring : NULL), db_str(r->tenant.id) };
		st = db_exec(db_control(r->db), r->a, arena_printf(r->a,
			"UPDATE branding SET %s = ?, updated_at = UTC_TIMESTAMP(3) WHERE tenant_id = ?",
			row_columns[i]), q, 2, NULL);
	}
	return st ? req_db_error(r, st) : E_OK;
}

static err_t branding_patch(req_t *r)
{
	err_t rc = branding_check(r, r->json);
	if (rc)
		return rc;
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	cJSON *changed = req_own(r, cJSON_CreateArray());
	const cJSON *it;
	cJSON_ArrayForEach(it, r->json)
		cJSON_AddItemToArray(changed, cJSON_CreateString(it->string));
	cJSON *details = req_own(r, cJSON_CreateObject());
	cJSON_AddItemToObject(details, "changed", cJSON_Duplicate(changed, true));
	if (!(rc = tenant_columns_write(r, r->json)) && !(rc = branding_row_write(r, r->json)))
		rc = req_audit(r, "branding.updated", "branding", r->tenant.id, details);
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return branding_get(r);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t branding_routes[] = {
	ROUTE("GET", "/v1/branding", "Branding", AUTH_BEARER, "*", NULL, 0, branding_get, NULL, "Get branding settings"),
	ROUTE("PATCH", "/v1/branding", "Branding", AUTH_BEARER, "*", NULL, 0, branding_patch, branding_body, "Update branding"),
	ROUTES_END,
};
