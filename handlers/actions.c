/*
 * actions.c - the action catalogue and runs (see actions.h).
 *
 * One table row per action type: its check at save time and its run.
 * Runs reuse what the API does: create_object runs the object create
 * handler on a request of the runner's own, send_email enqueues the same
 * email.send job as POST /v1/email/send, publish_event is POST /v1/events,
 * call_webhook signs the Standard Webhooks way; outgoing HTTP goes through
 * common/outhttp with its guard against private addresses.
 */
#include "actions.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/strbuf.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/mailer.h"
#include "../common/outhttp.h"
#include "../common/timefmt.h"
#include "../fcgi/fanout.h"
#include "../fcgi/webhook_send.h"
#include "events.h"
#include "identity.h"
#include "identity_admin.h"
#include "objects.h"

#define SEALED_MASK "********"
#define ACTION_HTTP_TIMEOUT_S 10
#define RESULT_EXCERPT_MAX 512

/* --- templates ---------------------------------------------------------------- */

const cJSON *json_path(const cJSON *root, const char *path)
{
	char key[128];
	const cJSON *at = root;
	while (at && *path) {
		size_t n = strcspn(path, ".");
		if (n == 0 || n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		at = cJSON_IsObject(at) ? cJSON_GetObjectItemCaseSensitive(at, key) : NULL;
		path += n + (path[n] == '.');
	}
	return at;
}

/* The path of a placeholder at s ("{{ data.x }}"), or NULL; *len gets
 * the placeholder's length. */
static const char *placeholder(arena_t *a, const char *s, size_t *len)
{
	if (strncmp(s, "{{", 2))
		return NULL;
	const char *end = strstr(s + 2, "}}");
	if (!end)
		return NULL;
	const char *p = s + 2, *q = end;
	while (p < q && *p == ' ')
		p++;
	while (q > p && q[-1] == ' ')
		q--;
	*len = (size_t)(end + 2 - s);
	return arena_strndup(a, p, (size_t)(q - p));
}

static cJSON *fill_string(arena_t *a, const char *s, const cJSON *event)
{
	size_t len;
	const char *path = placeholder(a, s, &len);
	if (path && s[len] == '\0') {
		const cJSON *v = json_path(event, path);
		return v ? cJSON_Duplicate(v, true) : cJSON_CreateNull();
	}
	strbuf_t sb = { 0 };
	while (*s) {
		if ((path = placeholder(a, s, &len))) {
			const cJSON *v = json_path(event, path);
			if (cJSON_IsString(v)) {
				sb_puts(&sb, v->valuestring);
			} else if (v && !cJSON_IsNull(v)) {
				char *t = cJSON_PrintUnformatted(v);
				sb_puts(&sb, t ? t : "");
				cJSON_free(t);
			}
			s += len;
		} else {
			sb_putn(&sb, s++, 1);
		}
	}
	cJSON *out = cJSON_CreateString(sb.p ? sb.p : "");
	free(sb.p);
	return out;
}

static cJSON *fill(arena_t *a, const cJSON *t, const cJSON *event)
{
	if (cJSON_IsString(t))
		return fill_string(a, t->valuestring, event);
	if (!cJSON_IsObject(t) && !cJSON_IsArray(t))
		return cJSON_Duplicate(t, true);
	cJSON *out = cJSON_IsObject(t) ? cJSON_CreateObject() : cJSON_CreateArray();
	const cJSON *it;
	cJSON_ArrayForEach(it, t) {
		cJSON *v = fill(a, it, event);
		if (cJSON_IsObject(t))
			cJSON_AddItemToObject(out, it->string, v);
		else
			cJSON_AddItemToArray(out, v);
	}
	return out;
}

cJSON *action_template(const cJSON *tmpl, const cJSON *event)
{
	arena_t *a = arena_new(4096);
	cJSON *out = fill(a, tmpl, event);
	arena_free(a);
	return out;
}

/* --- checks at save time ------------------------------------------------------ */

/* What a check gets: the request, the config and the field prefix. */
struct check {
	req_t *r;
	const cJSON *config;
	const char *cfield;
	cJSON *stored;     /* the config to store (a copy the check may change) */
};

static const char *fname(const struct check *c, const char *name)
{
	return arena_printf(c->r->a, "%s.%s", c->cfield, name);
}

static bool has_placeholder(const char *s)
{
	return s && strstr(s, "{{") != NULL;
}

/* A required string member (a placeholder counts); *out its value. */
static err_t need_str(const struct check *c, const char *name, size_t max, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->config, name);
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return req_fail_field(c->r, E_VALIDATION, fname(c, name), "%s is required (a string)",
				      fname(c, name));
	if (strlen(v->valuestring) > max)
		return req_fail_field(c->r, E_VALIDATION, fname(c, name), "%s is at most %zu characters",
				      fname(c, name), max);
	if (out)
		*out = v->valuestring;
	return E_OK;
}

/* An optional member of JSON type want (cJSON type bits). */
static err_t opt_type(const struct check *c, const char *name, int want, const char *what)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->config, name);
	if (v && !(v->type & want))
		return req_fail_field(c->r, E_VALIDATION, fname(c, name), "%s must be %s",
				      fname(c, name), what);
	return E_OK;
}

/* object_type_id names a type of the tenant; *t is it. */
static err_t need_type(const struct check *c, objtype_t **t)
{
	const char *id;
	err_t rc = need_str(c, "object_type_id", 100, &id);
	if (rc)
		return rc;
	if (objtype_load(c->r, id, t))
		return req_fail_field(c->r, E_VALIDATION, fname(c, "object_type_id"),
				      "%s: no object type \"%.100s\"", fname(c, "object_type_id"), id);
	return E_OK;
}

/* properties: an object whose members are properties of t (values may be
 * placeholders, so their types are checked when the action runs). */
static err_t check_props(const struct check *c, const objtype_t *t, bool required)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(c->config, "properties");
	if (!p && !required)
		return E_OK;
	if (!cJSON_IsObject(p) || (required && !p->child))
		return req_fail_field(c->r, E_VALIDATION, fname(c, "properties"),
				      "%s must be an object of property values", fname(c, "properties"));
	const cJSON *it;
	cJSON_ArrayForEach(it, p)
		if (!objtype_prop(t, it->string))
			return req_fail_field(c->r, E_VALIDATION,
					      arena_printf(c->r->a, "%s.%.60s", fname(c, "properties"), it->string),
					      "%.60s is not a property of %s", it->string, t->name);
	return E_OK;
}

static err_t check_create_object(struct check *c)
{
	objtype_t *t;
	err_t rc = need_type(c, &t);
	return rc ? rc : check_props(c, t, false);
}

static err_t check_update_object(struct check *c)
{
	objtype_t *t;
	err_t rc;
	if ((rc = need_type(c, &t)) || (rc = need_str(c, "object_id", 100, NULL)))
		return rc;
	return check_props(c, t, true);
}

static err_t check_delete_object(struct check *c)
{
	objtype_t *t;
	err_t rc = need_type(c, &t);
	return rc ? rc : need_str(c, "object_id", 100, NULL);
}

static err_t check_send_email(struct check *c)
{
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(c->config, "to");
	const char *tf = fname(c, "to");
	int n = 0;
	const cJSON *it;
	if (cJSON_IsString(to)) {
		n = 1;
		if (!has_placeholder(to->valuestring) && !email_address_valid(to->valuestring))
			return req_fail_field(c->r, E_VALIDATION, tf, "%s: \"%.80s\" is not an email address",
					      tf, to->valuestring);
	} else if (cJSON_IsArray(to)) {
		cJSON_ArrayForEach(it, to) {
			if (!cJSON_IsString(it) || (!has_placeholder(it->valuestring) &&
						    !email_address_valid(it->valuestring)))
				return req_fail_field(c->r, E_VALIDATION, arena_printf(c->r->a, "%s[%d]", tf, n),
						      "%s must hold email addresses", tf);
			n++;
		}
	}
	if (n < 1 || n > 50)
		return req_fail_field(c->r, E_VALIDATION, tf,
				      "%s is required: an email address or an array of 1 to 50", tf);
	err_t rc;
	if ((rc = need_str(c, "subject", 998, NULL)) || (rc = opt_type(c, "text", cJSON_String, "a string")) ||
	    (rc = opt_type(c, "html", cJSON_String, "a string")))
		return rc;
	if (!json_str_of(c->config, "text") && !json_str_of(c->config, "html"))
		return req_fail_field(c->r, E_VALIDATION, fname(c, "text"), "%s or html is required",
				      fname(c, "text"));
	return E_OK;
}

static err_t check_send_notification(struct check *c)
{
	err_t rc;
	if ((rc = need_str(c, "user_id", 100, NULL)) || (rc = need_str(c, "title", 255, NULL)) ||
	    (rc = opt_type(c, "body", cJSON_String, "a string")) ||
	    (rc = opt_type(c, "category", cJSON_String, "a string")))
		return rc;
	return E_OK;
}

/* url: http(s), not a private address (unless the server allows them). */
static err_t check_url(struct check *c)
{
	const char *url;
	err_t rc = need_str(c, "url", 2048, &url);
	if (rc)
		return rc;
	char err[256];
	if (outhttp_url_check(url, g_config.http_allow_private, err, sizeof(err)))
		return req_fail_field(c->r, E_VALIDATION, fname(c, "url"), "%s: %s", fname(c, "url"), err);
	return E_OK;
}

/* Replaces member name of the stored config by its sealed form
 * (<name>_sealed) and a mask. */
static void seal_member(struct check *c, const char *name, const char *plain)
{
	char *sealed = secret_seal(c->r->a, g_config.master_key_bin, plain, strlen(plain));
	cJSON_DeleteItemFromObjectCaseSensitive(c->stored, name);
	cJSON_AddStringToObject(c->stored, name, SEALED_MASK);
	cJSON_AddStringToObject(c->stored, arena_printf(c->r->a, "%s_sealed", name), sealed);
}

static err_t check_call_webhook(struct check *c)
{
	err_t rc = check_url(c);
	if (rc || (rc = opt_type(c, "secret", cJSON_String, "a whsec_ secret")))
		return rc;
	const char *secret = json_str_of(c->config, "secret");
	if (secret) {
		if (!wh_sign(c->r->a, secret, "msg", 0, "", 0))
			return req_fail_field(c->r, E_VALIDATION, fname(c, "secret"),
					      "%s must be whsec_ followed by base64", fname(c, "secret"));
		seal_member(c, "secret", secret);
	}
	return E_OK;
}

static err_t check_publish_event(struct check *c)
{
	const char *type;
	err_t rc = need_str(c, "event_type", EVENT_CUSTOM_NAME_MAX, &type);
	if (rc || (rc = opt_type(c, "data", cJSON_Object, "an object")))
		return rc;
	if (!event_custom_name_valid(type))
		return req_fail_field(c->r, E_VALIDATION, fname(c, "event_type"),
				      "%s must start with a letter and hold only letters, digits and _ . : -",
				      fname(c, "event_type"));
	return E_OK;
}

/* Functions and saved reports are not built yet: no id names one. */
static err_t check_run_function(struct check *c)
{
	const char *id;
	err_t rc = need_str(c, "function_id", 100, &id);
	return rc ? rc : req_fail_field(c->r, E_FUNCTION_NOT_FOUND, fname(c, "function_id"),
					"No function \"%.100s\" (this server has no functions yet)", id);
}

static err_t check_run_saved_report(struct check *c)
{
	const char *id;
	err_t rc = need_str(c, "report_id", 100, &id);
	return rc ? rc : req_fail_field(c->r, E_REPORT_NOT_FOUND, fname(c, "report_id"),
					"No saved report \"%.100s\" (this server has no saved reports yet)", id);
}

static err_t check_http_request(struct check *c)
{
	static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", NULL };
	err_t rc = check_url(c);
	if (rc)
		return rc;
	const char *m = json_str_of(c->config, "method");
	bool ok = !cJSON_GetObjectItemCaseSensitive(c->config, "method");
	for (int i = 0; m && methods[i]; i++)
		ok |= !strcmp(m, methods[i]);
	if (!ok)
		return req_fail_field(c->r, E_VALIDATION, fname(c, "method"),
				      "%s must be GET, POST, PUT, PATCH or DELETE", fname(c, "method"));
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(c->config, "headers");
	if (!h)
		return E_OK;
	if (!cJSON_IsObject(h) || cJSON_GetArraySize(h) > WEBHOOK_HEADERS_MAX)
		return req_fail_field(c->r, E_VALIDATION, fname(c, "headers"),
				      "%s must be an object of at most %d headers", fname(c, "headers"),
				      WEBHOOK_HEADERS_MAX);
	const cJSON *it;
	cJSON *masked = cJSON_CreateObject();
	cJSON_ArrayForEach(it, h) {
		const char *f = arena_printf(c->r->a, "%s.%.64s", fname(c, "headers"), it->string);
		if (!wh_header_name_ok(it->string) || !cJSON_IsString(it) ||
		    strlen(it->valuestring) > WEBHOOK_HEADER_VALUE_MAX ||
		    strpbrk(it->valuestring, "\r\n")) {
			cJSON_Delete(masked);
			return req_fail_field(c->r, E_VALIDATION, f, "%s: a header name and a one-line "
					      "string of at most %d characters", f, WEBHOOK_HEADER_VALUE_MAX);
		}
		cJSON_AddStringToObject(masked, it->string, SEALED_MASK);
	}
	seal_member(c, "headers", req_json_text(c->r, h));
	cJSON_DeleteItemFromObjectCaseSensitive(c->stored, "headers");
	cJSON_AddItemToObject(c->stored, "headers", masked);
	return E_OK;
}

/* --- running ------------------------------------------------------------------ */

/* What one action's run gets and gives. */
struct step {
	req_t *r;
	const cJSON *config;     /* filled from the event */
	const cJSON *stored;     /* as stored (sealed members) */
	const cJSON *event;
	const char *run_id;
	int index;
	cJSON *result;           /* set on success */
	char error[512];
	const char *code;        /* error code on failure */
};

static int step_fail(struct step *s, err_t e, const char *msg)
{
	s->code = err_code(e);
	snprintf(s->error, sizeof(s->error), "%s", msg ? msg : err_message(e));
	return -1;
}

/* Runs a route handler on the step's request with body and path
 * parameters; the result is the reply's data. */
static int step_handler(struct step *s, err_t (*fn)(req_t *), cJSON *body, const char *type_id,
			const char *object_id)
{
	req_t *r = s->r;
	r->nparams = 0;
	r->param_names[r->nparams] = "object_type_id";
	r->param_values[r->nparams++] = (char *)type_id;
	if (object_id) {
		r->param_names[r->nparams] = "object_id";
		r->param_values[r->nparams++] = (char *)object_id;
	}
	r->json = req_own(r, body);
	r->replied = false;
	r->err_message = NULL;
	r->err_details = NULL;
	r->out_body = NULL;
	err_t rc = fn(r);
	if (rc)
		return step_fail(s, rc, r->err_message);
	cJSON *reply = r->out_body ? cJSON_Parse(r->out_body) : NULL;
	s->result = reply ? cJSON_DetachItemFromObjectCaseSensitive(reply, "data") : NULL;
	cJSON_Delete(reply);
	return 0;
}

static const char *cfg_str(const struct step *s, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->config, name);
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsNumber(v))
		return arena_printf(s->r->a, "%.17g", v->valuedouble);
	return NULL;
}

static cJSON *props_body(const struct step *s)
{
	cJSON *b = cJSON_CreateObject();
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(s->config, "properties");
	cJSON_AddItemToObject(b, "properties", p ? cJSON_Duplicate(p, true) : cJSON_CreateObject());
	return b;
}

static int run_create_object(struct step *s)
{
	return step_handler(s, objects_create, props_body(s), cfg_str(s, "object_type_id"), NULL);
}

static int run_update_object(struct step *s)
{
	const char *id = cfg_str(s, "object_id");
	if (!id)
		return step_fail(s, E_VALIDATION, "object_id is empty for this event");
	return step_handler(s, objects_update, props_body(s), cfg_str(s, "object_type_id"), id);
}

static int run_delete_object(struct step *s)
{
	const char *id = cfg_str(s, "object_id");
	if (!id)
		return step_fail(s, E_VALIDATION, "object_id is empty for this event");
	return step_handler(s, objects_delete, cJSON_CreateObject(), cfg_str(s, "object_type_id"), id);
}

static int run_send_email(struct step *s)
{
	req_t *r = s->r;
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(s->config, "to");
	cJSON *list = req_own(r, cJSON_IsArray(to) ? cJSON_Duplicate(to, true) : cJSON_CreateArray());
	if (cJSON_IsString(to))
		cJSON_AddItemToArray(list, cJSON_CreateString(to->valuestring));
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
		if (!cJSON_IsString(it) || !email_address_valid(it->valuestring))
			return step_fail(s, E_VALIDATION, "to holds no email address for this event");
	const char *subject = cfg_str(s, "subject"), *from_name = NULL;
	char *unused;
	if (!subject || strpbrk(subject, "\r\n"))
		return step_fail(s, E_VALIDATION, "subject must be one line");
	const char *mid;
	err_t rc = mail_branded(r, subject, "", NULL, &from_name, &unused);
	if (!rc)
		rc = mail_enqueue(r, list, NULL, from_name, NULL, subject, cfg_str(s, "text"),
				  cfg_str(s, "html"), &mid);
	if (rc)
		return step_fail(s, rc, r->err_message);
	s->result = cJSON_CreateObject();
	cJSON_AddStringToObject(s->result, "message_id", mid);
	cJSON_AddItemToObject(s->result, "to", cJSON_Duplicate(list, true));
	return 0;
}

static int run_send_notification(struct step *s)
{
	req_t *r = s->r;
	const char *user = cfg_str(s, "user_id"), *title = cfg_str(s, "title");
	const char *category = cfg_str(s, "category");
	if (!user || !title)
		return step_fail(s, E_VALIDATION, "user_id and title are empty for this event");
	err_t rc = user_require(r, user, NULL);
	if (!rc)
		rc = notify_user(r, user, category ? category : "automation", title, cfg_str(s, "body"),
				 cJSON_GetObjectItemCaseSensitive(s->config, "data"));
	if (rc)
		return step_fail(s, rc, r->err_message);
	s->result = cJSON_CreateObject();
	cJSON_AddStringToObject(s->result, "user_id", user);
	return 0;
}

static int run_publish_event(struct step *s)
{
	cJSON *body = cJSON_CreateObject();
	cJSON_AddStringToObject(body, "event_type", cfg_str(s, "event_type"));
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(s->config, "data");
	cJSON_AddItemToObject(body, "data", data ? cJSON_Duplicate(data, true) : cJSON_CreateObject());
	return step_handler(s, events_track, body, "", NULL);
}

/* Sends one request and makes the step's result of the answer: a 2xx is
 * a success, anything else ACTION_FAILED. */
static int step_http(struct step *s, const char *method, const char *url, const char **headers,
		     const char *body)
{
	outhttp_result_t res;
	int rc = outhttp_request(method, url, headers, body, body ? strlen(body) : 0,
				 ACTION_HTTP_TIMEOUT_S, g_config.http_allow_private, &res);
	if (rc)
		return step_fail(s, E_ACTION_FAILED, arena_printf(s->r->a, "%s %s: %s", method, url,
								 res.error));
	if (res.status < 200 || res.status > 299)
		return step_fail(s, E_ACTION_FAILED, arena_printf(s->r->a, "%s %s answered %ld", method,
								 url, res.status));
	s->result = cJSON_CreateObject();
	cJSON_AddNumberToObject(s->result, "status", (double)res.status);
	res.excerpt[RESULT_EXCERPT_MAX] = '\0';
	cJSON_AddStringToObject(s->result, "body", res.excerpt);
	return 0;
}

static char *open_member(const struct step *s, const char *name)
{
	const char *sealed = json_str_of(s->stored, arena_printf(s->r->a, "%s_sealed", name));
	return sealed ? secret_open(s->r->a, g_config.master_key_bin, sealed, NULL) : NULL;
}

static int run_call_webhook(struct step *s)
{
	req_t *r = s->r;
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(s->config, "body");
	char *body = req_json_text(r, b ? b : s->event);
	const char *msg_id = arena_printf(r->a, "%s_%d", s->run_id, s->index);
	long long ts = time_now_ms() / 1000;
	const char **h = arena_calloc(r->a, 6, sizeof(*h));
	int n = 0;
	h[n++] = "Content-Type: application/json";
	h[n++] = arena_printf(r->a, "webhook-id: %s", msg_id);
	h[n++] = arena_printf(r->a, "webhook-timestamp: %lld", ts);
	char *secret = open_member(s, "secret");
	if (json_str_of(s->stored, "secret_sealed") && !secret)
		return step_fail(s, E_INTERNAL, "the secret cannot be read (master key changed?)");
	if (secret)
		h[n++] = arena_printf(r->a, "webhook-signature: %s",
				      wh_sign(r->a, secret, msg_id, ts, body, strlen(body)));
	return step_http(s, "POST", cfg_str(s, "url"), h, body);
}

static int run_http_request(struct step *s)
{
	req_t *r = s->r;
	const char *method = cfg_str(s, "method") ? cfg_str(s, "method") : "POST";
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(s->config, "body");
	char *body = b && strcmp(method, "GET") ? req_json_text(r, b) : NULL;
	char *htext = open_member(s, "headers");
	cJSON *hj = req_own(r, htext ? cJSON_Parse(htext) : cJSON_CreateObject());
	const char **h = arena_calloc(r->a, (size_t)cJSON_GetArraySize(hj) + 2, sizeof(*h));
	int n = 0;
	if (body)
		h[n++] = "Content-Type: application/json";
	const cJSON *it;
	cJSON_ArrayForEach(it, hj)
		if (cJSON_IsString(it))
			h[n++] = arena_printf(r->a, "%s: %s", it->string, it->valuestring);
	return step_http(s, method, cfg_str(s, "url"), h, body);
}

/* Never reached: the checks refuse these at save time. */
static int run_not_found(struct step *s)
{
	return step_fail(s, E_FUNCTION_NOT_FOUND, NULL);
}

static int run_no_report(struct step *s)
{
	return step_fail(s, E_REPORT_NOT_FOUND, NULL);
}

static const struct action_def {
	const char *type;
	err_t (*check)(struct check *c);
	int (*run)(struct step *s);
} catalogue[] = {
	{ "create_object", check_create_object, run_create_object },
	{ "update_object", check_update_object, run_update_object },
	{ "delete_object", check_delete_object, run_delete_object },
	{ "send_email", check_send_email, run_send_email },
	{ "send_notification", check_send_notification, run_send_notification },
	{ "call_webhook", check_call_webhook, run_call_webhook },
	{ "publish_event", check_publish_event, run_publish_event },
	{ "run_function", check_run_function, run_not_found },
	{ "run_saved_report", check_run_saved_report, run_no_report },
	{ "http_request", check_http_request, run_http_request },
};
#define NACTIONS (sizeof(catalogue) / sizeof(catalogue[0]))

const char *const action_types[] = {
	"create_object", "update_object", "delete_object", "send_email", "send_notification",
	"call_webhook", "publish_event", "run_function", "run_saved_report", "http_request", NULL,
};

static const struct action_def *action_def(const char *type)
{
	for (size_t i = 0; type && i < NACTIONS; i++)
		if (!strcmp(catalogue[i].type, type))
			return &catalogue[i];
	return NULL;
}

err_t action_validate(req_t *r, const char *type, const cJSON *config, const char *tfield,
		      const char *cfield, cJSON **stored)
{
	const struct action_def *d = action_def(type);
	if (!d)
		return req_fail_field(r, E_VALIDATION, tfield, "%s must be one of: create_object, "
				      "update_object, delete_object, send_email, send_notification, "
				      "call_webhook, publish_event, run_function, run_saved_report, "
				      "http_request", tfield);
	if (!cJSON_IsObject(config))
		return req_fail_field(r, E_VALIDATION, cfield, "%s must be an object", cfield);
	struct check c = { r, config, cfield, req_own(r, cJSON_Duplicate(config, true)) };
	/* Sealed forms come from the server only. */
	const cJSON *it;
	cJSON_ArrayForEach(it, config)
		if (strstr(it->string, "_sealed"))
			return req_fail_field(r, E_VALIDATION, fname(&c, it->string),
					      "%s is set by the server", fname(&c, it->string));
	err_t rc = d->check(&c);
	if (!rc)
		*stored = c.stored;
	return rc;
}

void action_config_redact(cJSON *config)
{
	cJSON *it = config ? config->child : NULL;
	while (it) {
		cJSON *next = it->next;
		if (it->string && strstr(it->string, "_sealed"))
			cJSON_DeleteItemFromObjectCaseSensitive(config, it->string);
		it = next;
	}
}

/* --- runs ------------------------------------------------------------------------ */

const col_t action_run_cols[] = {
	{ "id", COL_STR, 0 },
	{ "source_id", COL_STR, 0 },
	{ "trigger", COL_STR, 0 },
	{ "trigger_event", COL_STR, 0 },
	{ "event_id", COL_STR, 0 },
	{ "chain_depth", COL_INT, 0 },
	{ "status", COL_STR, 0 },
	{ "steps", COL_JSON, 0 },
	{ "failed_step", COL_INT, 0 },
	{ "error_code", COL_STR, 0 },
	{ "error", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ "started_at", COL_TIME, 0 },
	{ "finished_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

enum db_status action_run_create(db_t *db, arena_t *a, const char *tenant_id, const char *source_id,
				 const char *occurrence, const char *trigger_kind,
				 const char *trigger_event, const char *event_id, int chain_depth,
				 const char *job_kind, const cJSON *event, const char *error_code,
				 const char *error, char *run_id, bool *created)
{
	id_new(run_id, 40, "run_");
	bool skipped = error_code != NULL;
	db_param p[] = { db_str(run_id), db_str(tenant_id), db_str(source_id),
			 db_str(occurrence ? occurrence : run_id), db_str(trigger_kind),
			 db_str(trigger_event), db_str(event_id), db_int(chain_depth),
			 db_str(skipped ? "skipped" : "queued"), db_str(error_code), db_str(error),
			 db_int(skipped) };
	db_result *res;
	enum db_status st = db_exec(db, a,
		"INSERT IGNORE INTO action_runs (id, tenant_id, source_id, occurrence, trigger_kind, "
		"trigger_event, event_id, chain_depth, status, steps, error_code, error, created_at, "
		"finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?, UTC_TIMESTAMP(3), "
		"IF(?, UTC_TIMESTAMP(3), NULL))", p, 12, &res);
	*created = st == DB_OK && res->affected == 1;
	if (st || !*created || skipped)
		return st;
	cJSON *payload = cJSON_CreateObject();
	cJSON_AddStringToObject(payload, "run_id", run_id);
	if (event)
		cJSON_AddItemReferenceToObject(payload, "event", (cJSON *)event);
	char jid[40];
	st = jobs_enqueue(db, a, tenant_id, job_kind, payload, 0, 0, jid);
	cJSON_Delete(payload);
	return st;
}

/* The payload's run as queued: its source_id and chain depth, marked
 * running.  *found false when the run is gone or already ran (a second
 * delivery of the job), or is not this tenant's. */
static enum db_status run_claim(db_t *db, arena_t *a, const char *tenant_id, const cJSON *payload,
				const char **run_id, const char **source_id, int *chain_depth,
				bool *found)
{
	*found = false;
	*run_id = json_str_of(payload, "run_id");
	if (!*run_id || !tenant_id)
		return DB_OK;
	db_param p[] = { db_str(*run_id), db_str(tenant_id) };
	db_result *res;
	enum db_status st = db_exec(db, a, "SELECT source_id, chain_depth FROM action_runs "
				    "WHERE id = ? AND tenant_id = ? AND status IN ('queued', 'running')",
				    p, 2, &res);
	if (st || res->nrows == 0)
		return st;
	*source_id = db_cell(res, 0, 0);
	*chain_depth = (int)db_get_int(res, 0, "chain_depth", 0);
	*found = true;
	return db_exec(db, a, "UPDATE action_runs SET status = 'running', started_at = "
		       "UTC_TIMESTAMP(3) WHERE id = ? AND tenant_id = ?", p, 2, NULL);
}

/* A request of the runner's own for the tenant, acting as source_id. */
static enum db_status run_req_init(req_t *r, db_t *db, cache_t *cache, arena_t *a,
				   const char *tenant_id, const char *source_id, int chain_depth)
{
	memset(r, 0, sizeof(*r));
	r->a = a;
	r->db = db;
	r->cache = cache;
	r->method = "POST";
	r->path = r->query = "";
	r->remote_addr = "127.0.0.1";
	r->tenant.id = arena_strdup(a, tenant_id);
	r->who.kind = PRINCIPAL_KEY;
	r->who.key_id = arena_strdup(a, source_id);
	r->who.scopes = SCOPE_ALL;
	r->chain_depth = chain_depth + 1;
	snprintf(r->request_id, sizeof(r->request_id), "req_%s", source_id);
	db_param t[] = { db_str(tenant_id) };
	db_result *res;
	enum db_status st = db_exec(db_control(db), a,
				    "SELECT db_name, plan, name, db_server FROM tenants WHERE id = ?", t,
				    1, &res);
	if (st == DB_OK && res->nrows == 0)
		st = DB_ERROR;
	if (st)
		return st;
	r->tenant.db_name = arena_strdup(a, db_cell(res, 0, 0));
	r->tenant.plan = arena_strdup(a, db_cell(res, 0, 1));
	r->tenant.name = arena_strdup(a, db_cell(res, 0, 2));
	r->tenant.db_server = db_cell(res, 0, 3) ? arena_strdup(a, db_cell(res, 0, 3)) : NULL;
	if (!(r->db = db_for_server(db, r->tenant.db_server)))
		return DB_UNAVAILABLE;
	return DB_OK;
}

/* Runs step i: the config filled from the event, the action's run, the
 * step as the run log keeps it (index, type, status, duration_ms, result
 * or error).  0 or -1 (failed). */
static int step_run(req_t *r, const char *run_id, int i, const cJSON *action, const cJSON *event,
		    cJSON *steps, const char **code, const char **error)
{
	const char *type = json_str_of(action, "type");
	const struct action_def *d = action_def(type);
	const cJSON *stored = cJSON_GetObjectItemCaseSensitive(action, "config");
	cJSON *config = req_own(r, action_template(stored, event));
	struct step s = { .r = r, .config = config, .stored = stored, .event = event, .run_id = run_id,
			  .index = i };
	long long t0 = time_now_ms();
	int rc = d ? d->run(&s) : step_fail(&s, E_VALIDATION, "unknown action type");
	if (db_in_transaction(r->db))
		db_rollback(r->db);
	cJSON *st = cJSON_CreateObject();
	cJSON_AddNumberToObject(st, "index", i);
	cJSON_AddStringToObject(st, "type", type ? type : "");
	cJSON_AddStringToObject(st, "status", rc ? "failed" : "succeeded");
	cJSON_AddNumberToObject(st, "duration_ms", (double)(time_now_ms() - t0));
	if (rc) {
		cJSON *e = cJSON_AddObjectToObject(st, "error");
		cJSON_AddStringToObject(e, "code", s.code);
		cJSON_AddStringToObject(e, "message", s.error);
		*code = arena_strdup(r->a, s.code);
		*error = arena_strdup(r->a, s.error);
	} else {
		cJSON_AddItemToObject(st, "result", s.result ? s.result : cJSON_CreateNull());
	}
	cJSON_AddItemToArray(steps, st);
	return rc;
}

/* Runs actions for run_id and records the outcome (see action_run_job). */
static int run_execute(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		       const char *run_id, const char *source_id, int chain_depth,
		       const cJSON *actions, const cJSON *event, action_finished_fn finished,
		       char *err, size_t errlen)
{
	req_t r;
	enum db_status st = run_req_init(&r, db, cache, a, tenant_id, source_id, chain_depth);
	if (st) {
		snprintf(err, errlen, "loading the tenant: %s", db_last_error(db));
		return -1;
	}
	cJSON *steps = req_own(&r, cJSON_CreateArray());
	const char *code = NULL, *error = NULL;
	int failed = -1, i = 0;
	bool stopped = false;
	const cJSON *action;
	cJSON_ArrayForEach(action, actions) {
		const char *c = NULL, *e = NULL;
		if (step_run(&r, run_id, i, action, event, steps, &c, &e)) {
			/* The first failure is the run's; one that continues on
			 * error leaves the run succeeded. */
			if (failed < 0) {
				code = c;
				error = e;
				failed = i;
			}
			stopped = !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(action, "continue_on_error"));
			if (stopped) {
				code = c;
				error = e;
				failed = i;
				break;
			}
		}
		i++;
	}
	const char *status = stopped ? "failed" : "succeeded";
	db_param p[] = { db_str(status), db_str(req_json_text(&r, steps)),
			 failed >= 0 ? db_int(failed) : db_null(), db_str(code), db_str(error),
			 db_str(run_id), db_str(tenant_id) };
	st = db_exec(db, a, "UPDATE action_runs SET status = ?, steps = ?, failed_step = ?, "
		     "error_code = ?, error = ?, finished_at = UTC_TIMESTAMP(3) "
		     "WHERE id = ? AND tenant_id = ?", p, 7, NULL);
	if (st) {
		snprintf(err, errlen, "recording the run: %s", db_last_error(db));
		return -1;
	}
	if (finished)
		finished(db, a, tenant_id, source_id, status);
	log_info("actions: run %s of %s %s after %d step%s", run_id, source_id, status,
		 cJSON_GetArraySize(steps), cJSON_GetArraySize(steps) == 1 ? "" : "s");
	return 0;
}

int action_run_job(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		   const cJSON *payload, action_load_fn load, action_finished_fn finished,
		   char *err, size_t errlen)
{
	const char *run_id, *source_id;
	int depth;
	bool found;
	cJSON *actions = NULL;
	enum db_status st = run_claim(db, a, tenant_id, payload, &run_id, &source_id, &depth, &found);
	if (!st && found)
		st = load(db, a, tenant_id, source_id, &actions);
	if (st) {
		cJSON_Delete(actions);
		snprintf(err, errlen, "%s", db_last_error(db));
		return -1;
	}
	if (!found)
		return 0;   /* ran already, or gone */
	int rc = run_execute(db, cache, a, tenant_id, run_id, source_id, depth, actions,
			     cJSON_GetObjectItemCaseSensitive(payload, "event"), finished, err, errlen);
	cJSON_Delete(actions);
	return rc;
}
