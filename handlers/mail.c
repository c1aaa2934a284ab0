/*
 * mail.c - the messages Tessera sends for a tenant: the auth flows' email
 * templates ({{placeholders}} filled from the event, in the tenant's
 * branding, plain text with an HTML part), branded one-off mail, and SMS.
 * Each is queued as a job (email.send, sms.send: email.c delivers them);
 * nothing is sent inside a request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/config.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/mailer.h"
#include "../common/strbuf.h"
#include "../fcgi/jobs.h"
#include "identity.h"
#include "identity_admin.h"

#define EMAIL_MAX_ATTEMPTS 10

/* Replaces {{ name }} in tpl by vars' string members (unknown: empty);
 * values are HTML-escaped when html is true. */
static char *render(arena_t *a, const char *tpl, const cJSON *vars, bool html)
{
	strbuf_t b = { 0 };
	const char *p = tpl;
	while (*p) {
		const char *open = strstr(p, "{{");
		const char *close = open ? strstr(open + 2, "}}") : NULL;
		if (!open || !close) {
			sb_puts(&b, p);
			break;
		}
		sb_putn(&b, p, (size_t)(open - p));
		const char *n = open + 2;
		while (*n == ' ')
			n++;
		size_t len = close > n ? (size_t)(close - n) : 0;
		while (len && n[len - 1] == ' ')
			len--;
		const char *v = json_str_of(vars, arena_strndup(a, n, len));
		if (v && html)
			sb_put_html(&b, v, strlen(v));
		else if (v)
			sb_puts(&b, v);
		p = close + 2;
	}
	return sb_take(&b, a);
}

/* Plain text to HTML: escaped, line breaks kept, http(s) links clickable. */
static char *text_to_html(arena_t *a, const char *text)
{
	strbuf_t b = { 0 };
	const char *p = text;
	while (*p) {
		const char *l1 = strstr(p, "http://"), *l2 = strstr(p, "https://");
		const char *l = !l1 ? l2 : !l2 ? l1 : (l1 < l2 ? l1 : l2);
		size_t plain = l ? (size_t)(l - p) : strlen(p);
		for (size_t i = 0; i < plain; i++) {
			if (p[i] == '\n')
				sb_puts(&b, "<br>\n");
			else if (p[i] != '\r')
				sb_put_html(&b, p + i, 1);
		}
		if (!l)
			break;
		size_t ln = strcspn(l, " \t\r\n<>\"");
		sb_puts(&b, "<a href=\"");
		sb_put_html(&b, l, ln);
		sb_puts(&b, "\">");
		sb_put_html(&b, l, ln);
		sb_puts(&b, "</a>");
		p = l + ln;
	}
	return sb_take(&b, a);
}

static char *html_esc(arena_t *a, const char *s)
{
	strbuf_t b = { 0 };
	sb_put_html(&b, s, strlen(s));
	return sb_take(&b, a);
}

static err_t branding_of(req_t *r, const cJSON **brand)
{
	cJSON *eff;
	err_t rc = auth_config_effective(r, &eff);
	if (!rc)
		*brand = cJSON_GetObjectItemCaseSensitive(eff, "branding");
	return rc;
}

/* The name mail shows: the branding's site_name, else the tenant's display
 * name (brand_name, else name). */
static const char *site_name_of(req_t *r, const cJSON *brand)
{
	const char *n = json_str_of(brand, "site_name");
	if (n)
		return n;
	db_result *res;
	db_param p[] = { db_str(r->tenant.id) };
	if (r->tenant.id && db_exec(db_control(r->db), r->a, "SELECT COALESCE(brand_name, name) AS n FROM tenants "
				    "WHERE id = ?", p, 1, &res) == DB_OK && res->nrows && db_get(res, 0, "n"))
		return db_get(res, 0, "n");
	return r->tenant.name ? r->tenant.name : "Tessera";
}

/* The HTML layout every generated message uses. */
static char *html_layout(req_t *r, const cJSON *brand, const char *subject, const char *inner)
{
	const char *esc_subject = html_esc(r->a, subject), *logo = "", *footer = "";
	const char *logo_url = json_str_of(brand, "logo_url");
	if (logo_url)
		logo = arena_printf(r->a, "<img src=\"%s\" alt=\"%s\" style=\"max-height:48px\"><br>\n",
				    html_esc(r->a, logo_url), html_esc(r->a, site_name_of(r, brand)));
	const char *ft = json_str_of(brand, "footer_text");
	if (ft)
		footer = arena_printf(r->a, "<p style=\"font-size:12px;opacity:.7\">%s</p>\n",
				      html_esc(r->a, ft));
	return arena_printf(r->a,
		"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n"
		"<body style=\"margin:0;background:%s;color:%s;font-family:Helvetica,Arial,sans-serif\">\n"
		"<div style=\"max-width:560px;margin:0 auto;padding:24px\">\n%s"
		"<h2 style=\"color:%s\">%s</h2>\n<p>%s</p>\n%s</div>\n</body></html>\n",
		esc_subject, json_str_of(brand, "background_color"), json_str_of(brand, "text_color"),
		logo, json_str_of(brand, "primary_color"), esc_subject, inner, footer);
}

err_t mail_enqueue(req_t *r, const cJSON *to, const char *from, const char *from_name,
		   const char *reply_to, const char *subject, const char *text, const char *html,
		   const char **message_id)
{
	cJSON *p = req_own(r, cJSON_CreateObject());
	cJSON_AddItemToObject(p, "to", cJSON_Duplicate(to, true));
	/* Without one, the runner's smtp_from is the sender when it sends. */
	if (from)
		cJSON_AddStringToObject(p, "from", from);
	if (from_name)
		cJSON_AddStringToObject(p, "from_name", from_name);
	if (reply_to)
		cJSON_AddStringToObject(p, "reply_to", reply_to);
	cJSON_AddStringToObject(p, "subject", subject);
	if (text)
		cJSON_AddStringToObject(p, "text", text);
	if (html)
		cJSON_AddStringToObject(p, "html", html);
	char *mid = mail_message_id(r->a);
	cJSON_AddStringToObject(p, "message_id", mid);
	char id[40];
	enum db_status st = jobs_enqueue(r->db, r->a, r->tenant.id, "email.send", p,
					 EMAIL_MAX_ATTEMPTS, 0, id);
	if (st)
		return req_db_error(r, st);
	if (message_id)
		*message_id = mid;
	return E_OK;
}

err_t mail_branded(req_t *r, const char *subject, const char *body, const char *to,
		   const char **from_name, char **html)
{
	(void)to;
	const cJSON *brand;
	err_t rc = branding_of(r, &brand);
	if (rc)
		return rc;
	const char *sender = json_str_of(brand, "sender_name");
	*from_name = sender ? sender : site_name_of(r, brand);
	*html = html_layout(r, brand, subject, text_to_html(r->a, body));
	return E_OK;
}

err_t auth_send_template(req_t *r, const char *name, const char *to, const cJSON *vars)
{
	if (!to || !email_address_valid(to))
		return req_fail_field(r, E_VALIDATION, "email", "email is not a valid address");
	cJSON *eff;
	err_t rc = auth_config_effective(r, &eff);
	if (rc)
		return rc;
	const cJSON *tpl = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(eff, "email_templates"), name);
	if (!tpl) {
		log_error("%s: no email template called %s", r->request_id, name);
		return E_INTERNAL;
	}
	const cJSON *brand = cJSON_GetObjectItemCaseSensitive(eff, "branding");
	cJSON *all = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(all, "site_name", site_name_of(r, brand));
	const char *site = json_str_of(eff, "site_url");
	cJSON_AddStringToObject(all, "site_url", site ? site : g_config.public_url);
	cJSON_AddStringToObject(all, "email", to);
	const char *bkeys[] = { "logo_url", "primary_color", "sender_name" };
	for (size_t i = 0; i < 3; i++)
		if (json_str_of(brand, bkeys[i]))
			cJSON_AddStringToObject(all, bkeys[i], json_str_of(brand, bkeys[i]));
	const cJSON *it;
	cJSON_ArrayForEach(it, vars) {
		if (!cJSON_IsString(it))
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(all, it->string);
		cJSON_AddStringToObject(all, it->string, it->valuestring);
	}
	char *subject = render(r->a, json_str_of(tpl, "subject"), all, false);
	for (char *p = subject; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';
	char *text = render(r->a, json_str_of(tpl, "body"), all, false);
	const char *html_tpl = json_str_of(tpl, "html");
	char *html = html_tpl ? render(r->a, html_tpl, all, true)
			      : html_layout(r, brand, subject, text_to_html(r->a, text));
	const char *sender = json_str_of(brand, "sender_name");
	cJSON *rcpt = req_own(r, cJSON_CreateArray());
	cJSON_AddItemToArray(rcpt, cJSON_CreateString(to));
	return mail_enqueue(r, rcpt, NULL, sender ? sender : site_name_of(r, brand), NULL, subject,
			    text, html, NULL);
}

err_t auth_send_sms(req_t *r, const char *to, const char *text)
{
	if (!phone_e164_valid(to))
		return req_fail_field(r, E_VALIDATION, "phone",
				      "phone must be an E.164 number such as +14155550123");
	if (!text || !*text || strlen(text) > 1600)
		return req_fail_field(r, E_VALIDATION, "body", "an SMS is 1 to 1600 characters");
	char sid[40], id[40];
	id_new(sid, sizeof(sid), "sms_");
	cJSON *p = req_own(r, cJSON_CreateObject());
	cJSON_AddStringToObject(p, "id", sid);
	cJSON_AddStringToObject(p, "to", to);
	cJSON_AddStringToObject(p, "body", text);
	enum db_status st = jobs_enqueue(r->db, r->a, r->tenant.id, "sms.send", p,
					 EMAIL_MAX_ATTEMPTS, 0, id);
	return st ? req_db_error(r, st) : E_OK;
}
