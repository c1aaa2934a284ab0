/*
 * email.c - POST /v1/email/send, and the email.send and sms.send job
 * kinds that deliver what the API and the auth flows enqueue (through
 * common/mailer.c: SMTP or the .eml file driver; SMS over HTTP or the file
 * driver).  Sending never happens in the request: the job is durable and
 * retried with backoff, and lands in the DLQ when its attempts run out.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../common/config.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/mailer.h"
#include "../fcgi/jobs.h"
#include "audit.h"
#include "identity_admin.h"
#include "replies.h"
#include "routes.h"

#define RECIPIENTS_MAX 50

const field_t email_send_body[] = {
	{ "to", FT_ANY, FF_REQUIRED, 0, 0 },
	{ "subject", FT_STRING, FF_REQUIRED, 1, 998 },
	{ "html", FT_STRING, 0, 1, 1000000 },
	{ "text", FT_STRING, 0, 1, 1000000 },
	{ "from", FT_STRING, 0, 3, 320 },
	{ "reply_to", FT_STRING, 0, 3, 254 },
	{ NULL, 0, 0, 0, 0 },
};

/* The recipients as an array: one address or an array of 1 to 50. */
static err_t recipients(req_t *r, cJSON **out)
{
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(r->json, "to");
	cJSON *list = req_own(r, cJSON_CreateArray());
	if (cJSON_IsString(to)) {
		cJSON_AddItemToArray(list, cJSON_CreateString(to->valuestring));
	} else if (cJSON_IsArray(to) && cJSON_GetArraySize(to) >= 1 &&
		   cJSON_GetArraySize(to) <= RECIPIENTS_MAX) {
		const cJSON *it;
		cJSON_ArrayForEach(it, to) {
			if (!cJSON_IsString(it))
				return req_fail_field(r, E_VALIDATION, "to", "to must hold email addresses");
			cJSON_AddItemToArray(list, cJSON_CreateString(it->valuestring));
		}
	} else {
		return req_fail_field(r, E_VALIDATION, "to",
				      "to must be an email address or an array of 1 to %d", RECIPIENTS_MAX);
	}
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, list) {
		if (!email_address_valid(it->valuestring))
			return req_fail_field(r, E_VALIDATION, cJSON_IsArray(to) ? arena_printf(r->a, "to[%d]", i) : "to",
					      "\"%.80s\" is not a valid email address", it->valuestring);
		i++;
	}
	*out = list;
	return E_OK;
}

/* "from": an address, or "Name <address>", whose domain is the server's
 * sending domain (Tessera never relays mail in another domain's name). */
static err_t sender(req_t *r, const char **addr, const char **name)
{
	const char *from = json_str_of(r->json, "from");
	*addr = NULL;
	*name = NULL;
	if (!from)
		return E_OK;
	const char *lt = strchr(from, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt) {
		if (!gt || gt[1])
			return req_fail_field(r, E_VALIDATION, "from", "from must be an address or \"Name <address>\"");
		size_t n = (size_t)(lt - from);
		while (n && from[n - 1] == ' ')
			n--;
		*name = n ? arena_strndup(r->a, from, n) : NULL;
		*addr = arena_strndup(r->a, lt + 1, (size_t)(gt - lt - 1));
		for (const char *p = *name ? *name : ""; *p; p++)
			if ((unsigned char)*p < ' ' || *p == '"')
				return req_fail_field(r, E_VALIDATION, "from", "the sender name has a forbidden character");
	} else {
		*addr = from;
	}
	if (!email_address_valid(*addr))
		return req_fail_field(r, E_VALIDATION, "from", "from is not a valid email address");
	const char *mine = strchr(mail_default_from(r->a), '@'), *theirs = strchr(*addr, '@');
	if (!mine || strcasecmp(mine, theirs))
		return req_fail_field(r, E_VALIDATION, "from", "from must be an address at %s, the sending domain",
				      mine ? mine + 1 : "the server's domain");
	return E_OK;
}

err_t email_send(req_t *r)
{
	err_t rc;
	/* Per tenant, besides the credential's own limit (whose X-RateLimit-*
	 * headers this response already carries). */
	long long sent = 0, left = 0;
	if (cache_incr_window(r->cache, r->a, cache_tkey(r->a, "rl:email", r->tenant.id, "%s", ""), 60,
			      &sent, &left))
		return req_fail(r, E_UNAVAILABLE, "The rate limiter is unavailable; try again shortly");
	if (sent > g_config.email_rate_limit) {
		reply_header(r, "Retry-After", arena_printf(r->a, "%lld", left > 0 ? left : 1));
		return req_fail(r, E_RATE_LIMITED, "This tenant may send at most %d emails a minute",
				g_config.email_rate_limit);
	}
	cJSON *to = NULL;
	const char *from = NULL, *from_name = NULL;
	if ((rc = recipients(r, &to)) || (rc = sender(r, &from, &from_name)))
		return rc;
	const char *subject = json_str_of(r->json, "subject"), *text = json_str_of(r->json, "text");
	const char *html = json_str_of(r->json, "html"), *reply = json_str_of(r->json, "reply_to");
	for (const char *p = subject; *p; p++)
		if ((unsigned char)*p < ' ')
			return req_fail_field(r, E_VALIDATION, "subject", "subject must be one line without control characters");
	if (!text && !html)
		return req_fail_field(r, E_VALIDATION, "text", "text or html is required");
	if (reply && !email_address_valid(reply))
		return req_fail_field(r, E_VALIDATION, "reply_to", "reply_to is not a valid email address");
	if (!from_name) {
		char *unused;
		if ((rc = mail_branded(r, subject, text ? text : "", NULL, &from_name, &unused)))
			return rc;
	}
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	const char *mid = NULL;
	rc = mail_enqueue(r, to, from, from_name, reply, subject, text, html, &mid);
	if (!rc) {
		cJSON *details = req_own(r, cJSON_CreateObject());
		cJSON_AddItemToObject(details, "to", cJSON_Duplicate(to, true));
		cJSON_AddStringToObject(details, "subject", subject);
		rc = req_audit(r, "email.sent", "email", mid, details);
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	return reply_done(r, "sent", "message_id", mid, "status", "queued", NULL);
}

static int job_email_send(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		   const cJSON *payload, char *err, size_t errlen)
{
	(void)db;
	(void)cache;
	return mail_deliver(a, tenant_id, payload, err, errlen);
}

static int job_sms_send(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		 const cJSON *payload, char *err, size_t errlen)
{
	(void)db;
	(void)cache;
	(void)tenant_id;
	const char *id = json_str_of(payload, "id");
	if (!id || !id_valid(id, "sms_")) {
		snprintf(err, errlen, "malformed SMS payload (id)");
		return -1;
	}
	return sms_deliver(a, id, payload, err, errlen);
}

/* Jobs this file registers (handlers/routes.c assembles the table). */
const job_kind_t email_jobs[] = {
	{ .name = "email.send", .run = job_email_send, .timeout_s = 60 },
	{ .name = "sms.send", .run = job_sms_send, .timeout_s = 60 },
	{ .name = NULL },
};

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t email_routes[] = {
	ROUTE("POST", "/v1/email/send", "Email", AUTH_BEARER, "*", NULL, 0, email_send, email_send_body, "Send email"),
	ROUTES_END,
};
