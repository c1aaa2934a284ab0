/*
 * billing.c - POST /webhooks/stripe: the operator's Stripe account tells
 * Tessera what tenants bought.
 *
 * Every event is verified first: the Stripe-Signature header
 * (t=<unix time>,v1=<hex>,… ; any v1 may match) is HMAC-SHA256 of
 * "<t>.<raw body>" under the configured signing secret, compared in
 * constant time, within STRIPE_TOLERANCE_S of now; anything else is 400.
 * Events are handled once (their id in stripe_events, in the transaction
 * of their change): checkout.session.completed records the tenant's
 * customer (client_reference_id, else metadata.tenant_id, names the
 * tenant) and sets the plan its price buys (stripe_price_plans);
 * customer.subscription.updated changes plan and status;
 * customer.subscription.deleted returns the tenant to the free plan.  A
 * plan change applies at once (the credential caches are invalidated).
 * Other event types are acknowledged and ignored.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/codec.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../fcgi/credentials.h"
#include "../fcgi/journal.h"
#include "routes.h"

#define STRIPE_TOLERANCE_S 300
#define FREE_PLAN "free"

/* Whether header signs body: a v1 of it is the HMAC of "t.body". */
static bool signature_valid(req_t *r, const char *header, const char *body, size_t len)
{
	const char *secret = g_config.stripe_webhook_secret;
	long long t = 0;
	char *h = arena_strdup(r->a, header), *save = NULL;
	for (char *part = strtok_r(h, ",", &save); part; part = strtok_r(NULL, ",", &save))
		if (!strncmp(part, "t=", 2))
			t = strtoll(part + 2, NULL, 10);
	if (t <= 0 || llabs((long long)time(NULL) - t) > STRIPE_TOLERANCE_S)
		return false;
	char *signed_payload = arena_printf(r->a, "%lld.", t);
	size_t plen = strlen(signed_payload);
	char *msg = arena_alloc(r->a, plen + len + 1);
	memcpy(msg, signed_payload, plen);
	memcpy(msg + plen, body, len);
	unsigned char mac[32];
	hmac_sha256(mac, secret, strlen(secret), msg, plen + len);
	char want[65];
	hex_encode(want, sizeof(want), mac, 32);
	bool ok = false;
	h = arena_strdup(r->a, header);
	for (char *part = strtok_r(h, ",", &save); part; part = strtok_r(NULL, ",", &save))
		if (!strncmp(part, "v1=", 3) && strlen(part + 3) == 64)
			ok |= ct_streq(part + 3, want);
	return ok;
}

/* The plan a price buys (stripe_price_plans), or NULL. */
static const char *plan_of_price(req_t *r, const char *price)
{
	if (!price)
		return NULL;
	char *map = arena_strdup(r->a, g_config.stripe_price_plans), *save = NULL;
	for (char *pair = strtok_r(map, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(pair, ':');
		if (colon && (size_t)(colon - pair) == strlen(price) && !strncmp(pair, price, strlen(price)))
			return colon + 1;
	}
	return NULL;
}

/* The first item's price of a subscription object. */
static const char *subscription_price(const cJSON *sub)
{
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(sub, "items"), "data");
	return json_str_of(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 0), "price"), "id");
}

static err_t plan_set(req_t *r, const char *tenant, const char *plan)
{
	db_param p[] = { db_str(plan), db_str(tenant), db_str(plan) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"UPDATE tenants SET plan = ?, updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND "
		"EXISTS (SELECT 1 FROM plans WHERE id = ?)", p, 3, NULL);
	return st ? req_db_error(r, st) : E_OK;
}

/* checkout.session.completed: the tenant's customer, subscription and the
 * plan of the price bought (metadata.price_id, else the session's line
 * item price when Stripe sends it expanded). */
static err_t on_checkout(req_t *r, const cJSON *obj, const char **tenant)
{
	const char *t = json_str_of(obj, "client_reference_id");
	if (!t)
		t = json_str_of(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "tenant_id");
	const char *customer = json_str_of(obj, "customer");
	*tenant = t;
	if (!t || !id_valid(t, "tn_") || !customer)
		return req_fail_field(r, E_VALIDATION, "data.object.client_reference_id",
				      "The session names no tenant (client_reference_id) or customer");
	const char *price = json_str_of(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "price_id");
	if (!price)
		price = json_str_of(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(
			cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "line_items"),
							 "data"), 0), "price"), "id");
	db_param p[] = { db_str(customer), db_str(json_str_of(obj, "subscription")), db_str(price),
			 db_str(t) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"INSERT INTO billing_accounts (tenant_id, stripe_customer_id, stripe_subscription_id, "
		"subscription_status, price_id, updated_at) SELECT id, ?, ?, 'active', ?, "
		"UTC_TIMESTAMP(3) FROM tenants WHERE id = ? ON DUPLICATE KEY UPDATE "
		"stripe_customer_id = VALUES(stripe_customer_id), stripe_subscription_id = "
		"VALUES(stripe_subscription_id), subscription_status = 'active', price_id = "
		"VALUES(price_id), updated_at = VALUES(updated_at)",
		p, 4, NULL);
	if (st)
		return req_db_error(r, st);
	const char *plan = plan_of_price(r, price);
	return plan ? plan_set(r, t, plan) : E_OK;
}

/* customer.subscription.updated / deleted: the tenant of the customer;
 * its plan follows the price while the subscription is active or
 * trialing, and is free once it is deleted, canceled or unpaid. */
static err_t on_subscription(req_t *r, const cJSON *sub, bool deleted, const char **tenant)
{
	db_result *res;
	db_param p[] = { db_str(json_str_of(sub, "customer")) };
	enum db_status st = db_exec(db_control(r->db), r->a,
		"SELECT tenant_id FROM billing_accounts WHERE stripe_customer_id = ?", p, 1, &res);
	if (st)
		return req_db_error(r, st);
	*tenant = res->nrows ? db_get(res, 0, "tenant_id") : NULL;
	if (!*tenant)
		return E_OK;   /* a customer of no tenant: nothing to change */
	const char *status = deleted ? "canceled" : json_str_of(sub, "status");
	const char *price = subscription_price(sub);
	db_param q[] = { db_str(json_str_of(sub, "id")), db_str(status), db_str(price), db_str(*tenant) };
	if ((st = db_exec(db_control(r->db), r->a,
		"UPDATE billing_accounts SET stripe_subscription_id = ?, subscription_status = ?, "
		"price_id = COALESCE(?, price_id), updated_at = UTC_TIMESTAMP(3) WHERE tenant_id = ?",
		q, 4, NULL)))
		return req_db_error(r, st);
	bool live = status && (!strcmp(status, "active") || !strcmp(status, "trialing"));
	bool ended = deleted || (status && (!strcmp(status, "canceled") || !strcmp(status, "unpaid")));
	const char *plan = ended ? FREE_PLAN : live ? plan_of_price(r, price) : NULL;
	return plan ? plan_set(r, *tenant, plan) : E_OK;
}

static err_t stripe_webhook(req_t *r)
{
	if (!*g_config.stripe_webhook_secret)
		return req_fail(r, E_UNAVAILABLE, "Stripe billing is not configured");
	const char *sig = req_env(r, "HTTP_STRIPE_SIGNATURE");
	if (!sig || !r->body || !signature_valid(r, sig, r->body, r->body_len))
		return req_fail_field(r, E_BAD_REQUEST, "Stripe-Signature",
				      "The Stripe signature is missing, invalid or too old");
	cJSON *ev = req_own(r, cJSON_ParseWithLength(r->body, r->body_len));
	const char *id = json_str_of(ev, "id"), *type = json_str_of(ev, "type");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "data"),
							   "object");
	if (!id || !type || !cJSON_IsObject(obj))
		return req_fail(r, E_BAD_REQUEST, "The body is not a Stripe event");
	enum db_status st = db_begin(r->db);
	if (st)
		return req_db_error(r, st);
	db_param p[] = { db_str(id), db_str(type) };
	st = db_exec(db_control(r->db), r->a, "INSERT INTO stripe_events (id, type, received_at) "
		     "VALUES (?, ?, UTC_TIMESTAMP(3))", p, 2, NULL);
	bool duplicate = st == DB_DUPLICATE;
	err_t rc = st && !duplicate ? req_db_error(r, st) : E_OK;
	const char *tenant = NULL;
	bool handled = false;
	if (!rc && !duplicate) {
		handled = true;
		if (!strcmp(type, "checkout.session.completed"))
			rc = on_checkout(r, obj, &tenant);
		else if (!strcmp(type, "customer.subscription.updated") ||
			 !strcmp(type, "customer.subscription.deleted"))
			rc = on_subscription(r, obj, !strcmp(type, "customer.subscription.deleted"),
					     &tenant);
		else
			handled = false;
	}
	if (!rc && tenant) {
		db_param q[] = { db_str(tenant), db_str(id) };
		if ((st = db_exec(db_control(r->db), r->a, "UPDATE stripe_events SET tenant_id = ? WHERE id = ?", q,
				  2, NULL)))
			rc = req_db_error(r, st);
	}
	if ((rc = req_tx_end(r, rc)))
		return rc;
	if (tenant)
		credentials_invalidate(r->cache, r->a);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddBoolToObject(d, "received", true);
	cJSON_AddBoolToObject(d, "duplicate", duplicate);
	cJSON_AddBoolToObject(d, "handled", handled);
	reply_data(r, 200, d);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t billing_routes[] = {
	ROUTE("POST", "/webhooks/stripe", "Billing", AUTH_NONE, "", NULL, 0, stripe_webhook, NULL, "Stripe webhook"),
	ROUTES_END,
};
