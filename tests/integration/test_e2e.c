/*
 * test_e2e.c - the parts working together (suite "e2e"), with real third
 * parties on loopback:
 *   - auth emails through a real SMTP server (aiosmtpd; a jobs runner of
 *     the test's own points at it): magic link, sign-up confirmation with
 *     require_email_verification, forgot/reset password, each link read
 *     from the received message and followed; the redirect allowlist;
 *   - events: object.created reaching a webhook (signature checked by the
 *     receiver), a WebSocket and an SSE subscriber, and nobody of another
 *     tenant; file.uploaded reaching a webhook and a files:<folder>
 *     subscriber; a custom event reaching the events channel and a custom.*
 *     webhook; user.signed_in reaching a webhook;
 *   - roles: an end user without objects:<type>:read cannot subscribe to
 *     that type's channel.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "peers.h"

Suite *suite_e2e(void);

#define PW "Correct-Horse-9"
#define PW2 "Battery-Staple-42"

/* ------------------------------------------------------------ helpers */

static char *email_new(const char *tag)
{
	static int n;
	return strf("%s%d.%ld.%d@example.com", tag, (int)getpid(), (long)time(NULL), ++n);
}

/* Requests from a new loopback address: per-address limits start afresh. */
static void fresh_client(void)
{
	char *ip = loopback_addr_random();
	http_source_addr(ip);
	free(ip);
}

/* POST path {"email", "password" (unless NULL), extra members (or NULL)}. */
static http_resp *auth_post(const char *key, const char *path, const char *email, const char *pw,
			    const char *extra)
{
	char *pwm = pw ? strf(",\"password\":\"%s\"", pw) : strdup("");
	char *body = strf("{\"email\":\"%s\"%s%s%s}", email, pwm, extra ? "," : "", extra ? extra : "");
	http_resp *r = call("POST", key, body, "%s", path);
	free(body);
	free(pwm);
	return r;
}

static http_resp *login(const char *key, const char *email, const char *pw)
{
	return auth_post(key, "/v1/auth/login", email, pw, NULL);
}

/* Signs up email with PW, asserting 201; the response. */
static http_resp *signup(const char *key, const char *email)
{
	http_resp *r = auth_post(key, "/v1/auth/signup", email, PW, NULL);
	assert_envelope(r, 201, NULL);
	return r;
}

static void auth_config(const char *key, const char *json)
{
	http_resp *r = call("POST", key, json, "/v1/auth-config");
	assert_envelope(r, 200, NULL);
	http_free(r);
}

/* The mail whose raw text contains needle (a subject), parsed; asserts it
 * arrived and was addressed to to. */
static cJSON *mail_wait(const struct smtp_sink *s, const struct runner_swap *sw, const char *needle,
			const char *to)
{
	char *path = file_with(s->newdir, needle, 30000);
	ck_assert_msg(path != NULL, "no mail with \"%s\" reached the SMTP server (runner log %s)", needle,
		      sw->log);
	cJSON *m = mail_parse(path);
	ck_assert_msg(strstr(json_str(m, "to"), to), "mail to %s, expected %s", json_str(m, "to"), to);
	free(path);
	return m;
}

/* The first http(s) link in the message's text part (malloc'd). */
static char *mail_link(const cJSON *m)
{
	const char *text = json_str(m, "text");
	ck_assert_ptr_nonnull(text);
	const char *p = strstr(text, "http");
	ck_assert_msg(p != NULL, "no link in: %s", text);
	return strndup(p, strcspn(p, " \t\r\n<>\""));
}

/* The value of query parameter name in url (malloc'd, not decoded: the
 * tokens and ids are URL-safe), or NULL. */
static char *link_param(const char *url, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = strchr(url, '?'); p; p = strchr(p + 1, '&'))
		if (!strncmp(p + 1, name, n) && p[1 + n] == '=')
			return strndup(p + 2 + n, strcspn(p + 2 + n, "&#"));
	return NULL;
}

/* Asserts the link carries type and the tenant; returns its token. */
static char *link_token(const char *link, const char *type, const char *tenant)
{
	char *t = link_param(link, "type"), *tid = link_param(link, "tenant_id"),
	     *token = link_param(link, "token");
	ck_assert_msg(t && !strcmp(t, type), "link %s: type is not %s", link, type);
	ck_assert_msg(tid && !strcmp(tid, tenant), "link %s: tenant_id is not %s", link, tenant);
	ck_assert_msg(token && *token, "link %s has no token", link);
	free(t);
	free(tid);
	return token;
}

/* A GET /v1/auth/user with the session's access token names email. */
static void assert_session_of(const http_resp *r, const char *email)
{
	const char *access = json_str(resp_data(r), "access_token");
	ck_assert_msg(access != NULL, "no session in %s", r->body);
	http_resp *me = call("GET", access, NULL, "/v1/auth/user");
	assert_envelope(me, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(me), "email"), email);
	http_free(me);
}

/* Follows a magic link: the verify endpoint answers a session of email,
 * once. */
static void magic_follow(const char *key, const char *link, const char *tenant, const char *email)
{
	char *token = link_token(link, "magic_link", tenant);
	char *body = strf("{\"token\":\"%s\"}", token);
	http_resp *r = call("POST", key, body, "/v1/auth/magic-link/verify");
	assert_envelope(r, 200, NULL);
	assert_session_of(r, email);
	http_free(r);
	r = call("POST", key, body, "/v1/auth/magic-link/verify");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	free(body);
	free(token);
}

/* A tenant with the SMTP server and a runner of the test's own, and
 * (when a tag is given) a user signed up with PW. */
struct mailer {
	struct tenant t;
	struct smtp_sink sink;
	struct runner_swap sw;
	char *email;
};

static void mailer_start(struct mailer *m, const char *tag)
{
	fresh_client();
	tenant_make(&m->t);
	smtp_sink_start(&m->sink);
	const char *env[] = { m->sink.env, NULL };
	jobs_runner_swap(&m->sw, env);
	m->email = email_new(tag ? tag : "mailer");
	if (tag)
		http_free(signup(m->t.key, m->email));
}

static void mailer_stop(struct mailer *m)
{
	jobs_runner_restore(&m->sw);
	smtp_sink_stop(&m->sink);
	free(m->sw.log);
	free(m->email);
	tenant_drop(&m->t);
}

/* The link of the mail to the mailer's user with needle (malloc'd). */
static char *link_in_mail(const struct mailer *ml, const char *needle)
{
	cJSON *m = mail_wait(&ml->sink, &ml->sw, needle, ml->email);
	char *link = mail_link(m);
	cJSON_Delete(m);
	return link;
}

/* POSTs {email, extra} for the mailer's user to path (200 asserted); the
 * link of the mail with needle that follows (malloc'd). */
static char *link_mailed(const struct mailer *ml, const char *path, const char *extra, const char *needle)
{
	http_resp *r = auth_post(ml->t.key, path, ml->email, NULL, extra);
	assert_envelope(r, 200, NULL);
	http_free(r);
	return link_in_mail(ml, needle);
}

/* ------------------------------------------------------------ auth emails */

START_TEST(magic_link_is_mailed_and_signs_the_user_in)
{
	struct mailer ml;
	mailer_start(&ml, "magic");
	const char *email = ml.email;
	char *link = link_mailed(&ml, "/v1/auth/magic-link", NULL, "Your sign-in link");
	/* Nothing configured: the link goes to the public URL. */
	const char *site = env_or("TESSERA_TEST_URL", "");
	ck_assert_msg(!strncmp(link, site, strlen(site)), "link %s is not under %s", link, site);
	magic_follow(ml.t.key, link, ml.t.id, email);
	free(link);
	mailer_stop(&ml);
}
END_TEST

START_TEST(signup_with_required_verification_gives_a_session_only_after_the_link)
{
	struct mailer ml;
	mailer_start(&ml, NULL);
	const char *email = ml.email;
	auth_config(ml.t.key, "{\"require_email_verification\":true}");
	http_resp *r = signup(ml.t.key, email);
	ck_assert(cJSON_IsNull(item(resp_data(r), "access_token")));
	ck_assert(cJSON_IsTrue(item(resp_data(r), "confirmation_sent")));
	ck_assert_ptr_null(item(resp_data(r), "refresh_token"));
	char *uid = strdup(json_str(item(resp_data(r), "user"), "id"));
	http_free(r);
	/* No log-in before the address is confirmed. */
	r = login(ml.t.key, email, PW);
	assert_envelope(r, 403, "FORBIDDEN");
	ck_assert_ptr_null(item(resp_data(r), "access_token"));
	http_free(r);

	char *link = link_in_mail(&ml, "Confirm your email");
	char *token = link_token(link, "signup", ml.t.id);
	r = call("GET", ml.t.key, NULL, "/v1/auth/verify?token=%s&type=signup", token);
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "verified")));
	ck_assert_str_eq(json_str(resp_data(r), "user_id"), uid);
	http_free(r);
	r = login(ml.t.key, email, PW);
	assert_envelope(r, 200, NULL);
	assert_session_of(r, email);
	ck_assert(cJSON_IsTrue(item(item(resp_data(r), "user"), "email_verified")));
	http_free(r);
	free(token);
	free(link);
	free(uid);
	mailer_stop(&ml);
}
END_TEST

START_TEST(forgot_password_mail_resets_the_password)
{
	struct mailer ml;
	mailer_start(&ml, "reset");
	const char *email = ml.email;
	/* The subject names the tenant by its display name. */
	free(control_sql(strf("UPDATE tenants SET brand_name = 'Acme Portal' WHERE id = '%s'", ml.t.id)));
	http_resp *sent = auth_post(ml.t.key, "/v1/auth/forgot-password", ml.email, NULL, NULL);
	assert_envelope(sent, 200, NULL);
	http_free(sent);
	cJSON *m = mail_wait(&ml.sink, &ml.sw, "Reset your Acme Portal password", ml.email);
	ck_assert_str_eq(json_str(m, "subject"), "Reset your Acme Portal password");
	char *link = mail_link(m);
	cJSON_Delete(m);
	/* No site_url: the link opens the hosted reset page, which nginx serves. */
	char *page = strf("%s/auth/reset?", env_or("TESSERA_TEST_URL", ""));
	ck_assert_msg(!strncmp(link, page, strlen(page)), "link %s is not the reset page %s", link, page);
	http_resp *html = http_get(link + strlen(env_or("TESSERA_TEST_URL", "")), NULL);
	ck_assert_int_eq(html->status, 200);
	ck_assert_msg(strstr(html->body, "/auth/reset.js") && strstr(html->body, "new-password"),
		      "reset page: %.300s", html->body);
	http_free(html);
	html = http_get("/auth/reset.js", NULL);
	ck_assert_int_eq(html->status, 200);
	ck_assert_msg(strstr(html->body, "/v1/auth/portal-reset-password") != NULL, "%.200s", html->body);
	http_free(html);
	free(page);
	char *token = link_token(link, "recovery", ml.t.id);
	char *body = strf("{\"token\":\"%s\",\"password\":\"%s\"}", token, PW2);
	http_resp *r = call("POST", ml.t.key, body, "/v1/auth/reset-password");
	assert_envelope(r, 200, NULL);
	http_free(r);
	r = login(ml.t.key, email, PW);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = login(ml.t.key, email, PW2);
	assert_envelope(r, 200, NULL);
	assert_session_of(r, email);
	http_free(r);
	/* The link works once. */
	r = call("POST", ml.t.key, body, "/v1/auth/reset-password");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	free(body);
	free(token);
	free(link);
	mailer_stop(&ml);
}
END_TEST

/* The portal flows (no bearer, the tenant named in the body) mail through
 * the same templates; the portal verify signs the user in. */
START_TEST(portal_magic_link_is_mailed_and_signs_the_user_in)
{
	struct mailer ml;
	mailer_start(&ml, "portal");
	char *extra = strf("\"tenant_id\":\"%s\"", ml.t.id);
	http_resp *r = auth_post(NULL, "/v1/auth/portal-magic-link", ml.email, NULL, extra);
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *link = link_in_mail(&ml, "Your sign-in link");
	char *token = link_token(link, "magic_link", ml.t.id);
	char *body = strf("{\"tenant_id\":\"%s\",\"token\":\"%s\"}", ml.t.id, token);
	r = call("POST", NULL, body, "/v1/auth/portal-magic-link-verify");
	assert_envelope(r, 200, NULL);
	assert_session_of(r, ml.email);
	http_free(r);
	free(body);
	free(token);
	free(link);
	free(extra);
	mailer_stop(&ml);
}
END_TEST

/* Changing the email mails a link to the new address; following it makes
 * the new address the verified one. */
START_TEST(email_change_link_is_mailed_to_the_new_address)
{
	struct mailer ml;
	mailer_start(&ml, "change");
	http_resp *r = login(ml.t.key, ml.email, PW);
	assert_envelope(r, 200, NULL);
	char *access = strdup(json_str(resp_data(r), "access_token"));
	http_free(r);
	char *old = ml.email;
	ml.email = email_new("changed");
	char *body = strf("{\"email\":\"%s\"}", ml.email);
	r = call("PATCH", access, body, "/v1/auth/user");
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *link = link_in_mail(&ml, "Confirm your new email");
	char *token = link_token(link, "email_change", ml.t.id);
	r = call("GET", ml.t.key, NULL, "/v1/auth/verify?token=%s&type=email_change", token);
	assert_envelope(r, 200, NULL);
	ck_assert_str_eq(json_str(resp_data(r), "email"), ml.email);
	http_free(r);
	r = login(ml.t.key, ml.email, PW);
	assert_envelope(r, 200, NULL);
	assert_session_of(r, ml.email);
	ck_assert(cJSON_IsTrue(item(item(resp_data(r), "user"), "email_verified")));
	http_free(r);
	r = login(ml.t.key, old, PW);
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	free(token);
	free(link);
	free(body);
	free(access);
	free(old);
	mailer_stop(&ml);
}
END_TEST

static long long mail_jobs(const char *tenant)
{
	char *sql = strf("SELECT COUNT(*) FROM jobs WHERE tenant_id='%s' AND kind='email.send'", tenant);
	char *n = control_sql(sql);
	long long c = atoll(n);
	free(sql);
	free(n);
	return c;
}

START_TEST(redirect_to_must_be_in_the_allowlist_and_leads_the_mailed_link)
{
	struct mailer ml;
	mailer_start(&ml, "redir");
	const char *email = ml.email;
	auth_config(ml.t.key, "{\"redirect_urls\":[\"https://app.example.com/auth\"]}");
	long long before = mail_jobs(ml.t.id);
	const char *paths[] = { "/v1/auth/magic-link", "/v1/auth/forgot-password" };
	for (int i = 0; i < 2; i++) {
		http_resp *r = auth_post(ml.t.key, paths[i], email, NULL, "\"redirect_to\":\"https://evil.example.net/auth\"");
		assert_fail_field(r, 400, "VALIDATION_ERROR", "redirect_to");
		http_free(r);
		/* A prefix of the allowed one is not allowed either. */
		r = auth_post(ml.t.key, paths[i], email, NULL, "\"redirect_to\":\"https://app.example.com/au\"");
		assert_fail_field(r, 400, "VALIDATION_ERROR", "redirect_to");
		http_free(r);
	}
	ck_assert_int_eq(mail_jobs(ml.t.id), before);   /* refused: nothing sent */

	/* Inside: the mailed links lead there. */
	const char *inside = "\"redirect_to\":\"https://app.example.com/auth/callback\"";
	const char *want = "https://app.example.com/auth/callback?token=";
	char *link = link_mailed(&ml, "/v1/auth/magic-link", inside, "Your sign-in link");
	ck_assert_msg(!strncmp(link, want, strlen(want)), "link %s does not start with %s", link, want);
	magic_follow(ml.t.key, link, ml.t.id, email);
	free(link);
	link = link_mailed(&ml, "/v1/auth/forgot-password", inside, "Reset your");
	ck_assert_msg(!strncmp(link, want, strlen(want)), "link %s does not start with %s", link, want);
	free(link);
	mailer_stop(&ml);
}
END_TEST

/* ------------------------------------------------------------ events */

/* A WebSocket subscriber of key's tenant to channels, open. */
static FILE *ws_open(const struct tenant *t, const char *token, const char *channels, int count,
		     int timeout)
{
	char *path = strf("/v1/realtime?token=%s&tenant_id=%s&channels=%s", token, t->id, channels);
	FILE *f = client_start("ws", path, count, timeout, NULL);
	client_expect(f, "OPEN");
	free(path);
	return f;
}

/* A webhook of one tenant to a receiver of its own (box "e2e"). */
struct hook {
	struct receiver rv;
	char *url, *secret, *id;
};

static void hook_start(struct hook *h, const char *key, const char *events)
{
	recv_start(&h->rv);
	h->url = hook_url(&h->rv, "e2e");
	h->id = hook_make(key, h->url, events, NULL, &h->secret);
	box_setup(&h->rv, "e2e", h->secret, NULL);
}

static void hook_stop(struct hook *h)
{
	recv_stop(&h->rv);
	free(h->url);
	free(h->secret);
	free(h->id);
}

/* The one delivery of the hook, signed with its secret, of event type;
 * its body. */
static cJSON *hook_event(const struct hook *h, const char *type)
{
	cJSON *got = recv_wait(&h->rv, "e2e", 1, 30);
	const cJSON *d = received(got, 0);
	ck_assert_msg(verified_with(d, h->secret), "signature did not verify: %s", cJSON_PrintUnformatted(d));
	ck_assert(cJSON_IsTrue(item(d, "timestamp_ok")));
	cJSON *body = cJSON_Duplicate(item(d, "body"), true);
	ck_assert_str_eq(json_str(body, "type"), type);
	ck_assert_str_eq(hdr(d, "webhook-id"), json_str(body, "id"));
	cJSON_Delete(got);
	return body;
}

START_TEST(object_created_reaches_webhook_websocket_and_sse_of_its_tenant_only)
{
	struct hook h;
	struct tenant a, b;
	tenant_make(&a);
	tenant_make(&b);
	free(type_make(a.key, "orders"));
	free(type_make(b.key, "orders"));
	char *ta = type_id_of(a.key, "orders"), *tb = type_id_of(b.key, "orders");
	hook_start(&h, a.key, "[\"object.created\"]");
	char *ca = strf("objects:%s", ta), *cb = strf("objects:%s", tb);
	FILE *ws = ws_open(&a, a.key, ca, 1, 20);
	char *sse_path = strf("/events/stream?channels=%s", ca), *auth = strf("--auth %s", a.key);
	FILE *sse = client_start("sse", sse_path, 1, 20, auth);
	client_expect(sse, "OPEN");
	/* Tenant B listens on its own type of the same name, by id and by name. */
	FILE *other = ws_open(&b, b.key, cb, 1, 6);
	FILE *other_named = ws_open(&b, b.key, "objects:orders", 1, 6);

	char *obj = obj_make(a.key, "orders", "{}");
	cJSON *body = hook_event(&h, "object.created");
	ck_assert_str_eq(json_str(body, "tenant_id"), a.id);
	ck_assert_str_eq(json_str(body, "resource_id"), obj);
	ck_assert_str_eq(json_str(item(body, "data"), "object_id"), obj);
	const char *evt = json_str(body, "id");

	cJSON *m = client_message(ws, "ws");
	ck_assert_str_eq(json_str(m, "event"), "object.created");
	ck_assert_str_eq(json_str(m, "resource_id"), obj);
	ck_assert_str_eq(json_str(m, "channel"), ca);
	ck_assert_str_eq(json_str(m, "id"), evt);   /* one event id everywhere */
	cJSON_Delete(m);
	m = client_message(sse, "sse");
	ck_assert_str_eq(json_str(m, "_sse_event"), "object.created");
	ck_assert_str_eq(json_str(m, "resource_id"), obj);
	ck_assert_str_eq(json_str(m, "id"), evt);
	cJSON_Delete(m);
	client_expect(other, "TIMEOUT");
	client_expect(other_named, "TIMEOUT");
	client_end(ws);
	client_end(sse);
	client_end(other);
	client_end(other_named);
	/* One event, one delivery. */
	ck_assert_int_eq(recv_count(&h.rv, "e2e"), 1);
	cJSON_Delete(body);
	free(obj);
	free(auth);
	free(sse_path);
	free(ca);
	free(cb);
	free(ta);
	free(tb);
	tenant_drop(&a);
	tenant_drop(&b);
	hook_stop(&h);
}
END_TEST

START_TEST(file_upload_reaches_a_webhook_and_its_folder_channel)
{
	struct hook h;
	struct tenant t;
	tenant_make(&t);
	hook_start(&h, t.key, "[\"file.uploaded\"]");
	FILE *ws = ws_open(&t, t.key, "files:reports/2026", 1, 20);
	FILE *elsewhere = ws_open(&t, t.key, "files:other", 1, 6);

	/* Uploaded by curl, an independent multipart client. */
	char *src = strf("%s/tmp/e2e-upload-%d.txt", stack_dir(), (int)getpid());
	FILE *fp = fopen(src, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("quarterly numbers\n", fp);
	fclose(fp);
	int rc;
	char *out = run_cmd(&rc, "curl -s -H 'Authorization: Bearer %s' -F 'file=@%s;filename=q1.txt' "
			    "-F folder=reports/2026 %s/v1/files/upload", t.key, src,
			    env_or("TESSERA_TEST_URL", ""));
	ck_assert_msg(rc == 0, "curl: %s", out);
	cJSON *up = cJSON_Parse(out);
	ck_assert_msg(cJSON_IsTrue(item(up, "success")), "upload: %s", out);
	const char *fid = json_str(item(up, "data"), "id");

	cJSON *body = hook_event(&h, "file.uploaded");
	ck_assert_str_eq(json_str(body, "resource_id"), fid);
	ck_assert_str_eq(json_str(item(body, "data"), "folder"), "reports/2026");
	cJSON *m = client_message(ws, "ws");
	ck_assert_str_eq(json_str(m, "event"), "file.uploaded");
	ck_assert_str_eq(json_str(m, "resource_id"), fid);
	ck_assert_str_eq(json_str(m, "channel"), "files:reports/2026");
	ck_assert_str_eq(json_str(m, "id"), json_str(body, "id"));
	cJSON_Delete(m);
	client_expect(elsewhere, "TIMEOUT");
	client_end(ws);
	client_end(elsewhere);
	cJSON_Delete(body);
	cJSON_Delete(up);
	unlink(src);
	free(out);
	free(src);
	tenant_drop(&t);
	hook_stop(&h);
}
END_TEST

START_TEST(custom_event_reaches_the_events_channel_and_a_custom_webhook)
{
	struct hook h;
	struct tenant t;
	tenant_make(&t);
	hook_start(&h, t.key, "[\"custom.*\"]");
	FILE *ws = ws_open(&t, t.key, "events", 1, 20);
	http_resp *r = call("POST", t.key, "{\"event_type\":\"cart.checkout\",\"data\":{\"total\":42,\"items\":[\"a\"]}}",
			    "/v1/events");
	assert_envelope(r, 200, NULL);
	ck_assert(cJSON_IsTrue(item(resp_data(r), "tracked")));
	http_free(r);
	cJSON *body = hook_event(&h, "custom.cart.checkout");
	assert_json_eq(item(body, "data"), "total", "42");
	cJSON *m = client_message(ws, "ws");
	ck_assert_str_eq(json_str(m, "event"), "custom.cart.checkout");
	ck_assert_str_eq(json_str(m, "channel"), "events");
	assert_json_eq(item(m, "data"), "items", "[\"a\"]");
	ck_assert_str_eq(json_str(m, "id"), json_str(body, "id"));
	cJSON_Delete(m);
	client_end(ws);
	cJSON_Delete(body);
	tenant_drop(&t);
	hook_stop(&h);
}
END_TEST

START_TEST(log_in_emits_user_signed_in_to_a_webhook)
{
	fresh_client();
	struct hook h;
	struct tenant t;
	tenant_make(&t);
	char *email = email_new("signin");
	http_resp *r = signup(t.key, email);
	char *uid = strdup(json_str(item(resp_data(r), "user"), "id"));
	http_free(r);
	/* The sign-up's own user.signed_in is fanned out before the webhook exists. */
	outbox_drained(t.id);
	hook_start(&h, t.key, "[\"user.signed_in\"]");
	/* A failed log-in is no sign-in. */
	r = login(t.key, email, "Wrong-Password-1");
	assert_envelope(r, 401, "UNAUTHORIZED");
	http_free(r);
	r = login(t.key, email, PW);
	assert_envelope(r, 200, NULL);
	const char *sid = json_str(resp_data(r), "session_id");
	cJSON *body = hook_event(&h, "user.signed_in");
	ck_assert_str_eq(json_str(body, "resource_id"), uid);
	const cJSON *d = item(body, "data");
	ck_assert_str_eq(json_str(d, "id"), uid);
	ck_assert_str_eq(json_str(d, "email"), email);
	ck_assert_str_eq(json_str(d, "session_id"), sid);
	ck_assert_str_eq(json_str(d, "amr"), "password");
	ck_assert_str_eq(json_str(d, "aal"), "aal1");
	ck_assert_ptr_null(item(d, "password_hash"));
	http_free(r);
	sleep_ms(1000);
	ck_assert_int_eq(recv_count(&h.rv, "e2e"), 1);
	cJSON_Delete(body);
	free(uid);
	free(email);
	tenant_drop(&t);
	hook_stop(&h);
}
END_TEST

/* ------------------------------------------------------------ roles and realtime */

static const char *const upgrade[] = { "Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Version: 13",
				       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", NULL };

START_TEST(roles_decide_which_object_channels_an_end_user_may_subscribe_to)
{
	fresh_client();
	struct tenant t;
	tenant_make(&t);
	free(type_make(t.key, "notes"));
	free(type_make(t.key, "payroll"));
	/* Policies let every end user read every row of both types. */
	const char *types[] = { "notes", "payroll" };
	for (int i = 0; i < 2; i++) {
		http_resp *r = call("POST", t.key, "{\"name\":\"all rows\",\"action\":\"select\",\"condition_json\":"
				    "{\"or\":[{\"property\":\"id\",\"operator\":\"is_null\"},true]}}",
				    "/v1/object-types/%s/policies", types[i]);
		assert_envelope(r, 201, NULL);
		http_free(r);
	}
	char *email = email_new("viewer");
	http_resp *r = signup(t.key, email);
	char *jwt = strdup(json_str(resp_data(r), "access_token"));
	char *uid = strdup(json_str(item(resp_data(r), "user"), "id"));
	http_free(r);
	/* No roles in the tenant yet: policies alone decide, payroll is open. */
	FILE *f = ws_open(&t, jwt, "objects:payroll", 1, 1);
	client_end(f);

	r = call("POST", t.key, "{\"name\":\"notes_reader\",\"permissions\":[\"realtime:read\","
		 "\"objects:notes:read\"]}", "/v1/roles");
	assert_envelope(r, 201, NULL);
	char *body = strf("{\"user_id\":\"%s\",\"role_id\":\"%s\"}", uid, json_str(resp_data(r), "id"));
	http_free(r);
	r = call("POST", t.key, body, "/v1/roles/assign");
	assert_envelope(r, 200, NULL);
	http_free(r);

	char *path = strf("/v1/realtime?token=%s&tenant_id=%s&channels=objects:payroll", jwt, t.id);
	r = http_req("GET", path, NULL, NULL, NULL, 0, upgrade);
	assert_fail_field(r, 403, "FORBIDDEN", "channels");
	ck_assert_msg(strstr(error_message(r), "objects:payroll:read"), "message: %s", error_message(r));
	http_free(r);
	free(path);
	/* Asking for both is refused as a whole; no channels means the readable ones. */
	path = strf("/v1/realtime?token=%s&tenant_id=%s&channels=objects:notes,objects:payroll", jwt, t.id);
	r = http_req("GET", path, NULL, NULL, NULL, 0, upgrade);
	assert_fail_field(r, 403, "FORBIDDEN", "channels");
	http_free(r);
	free(path);

	f = ws_open(&t, jwt, "objects:notes", 1, 20);
	char *note = obj_make(t.key, "notes", "{}");
	cJSON *m = client_message(f, "ws");
	ck_assert_str_eq(json_str(m, "event"), "object.created");
	ck_assert_str_eq(json_str(m, "resource_id"), note);
	cJSON_Delete(m);
	client_end(f);
	path = strf("/v1/realtime?token=%s&tenant_id=%s", jwt, t.id);
	FILE *all = client_start("ws", path, 1, 20, NULL);
	client_expect(all, "OPEN");
	free(obj_make(t.key, "payroll", "{}"));
	char *note2 = obj_make(t.key, "notes", "{}");
	m = client_message(all, "ws");      /* the payroll event never comes */
	ck_assert_str_eq(json_str(m, "resource_id"), note2);
	cJSON_Delete(m);
	client_end(all);
	/* An API key with read is not bound by end users' roles. */
	f = ws_open(&t, t.key, "objects:payroll", 1, 1);
	client_end(f);
	free(path);
	free(note);
	free(note2);
	free(body);
	free(uid);
	free(jwt);
	free(email);
	tenant_drop(&t);
}
END_TEST

/* The WebSocket route authenticates its query token itself; the tenant's
 * IP allowlist applies to it as to every other request. */
START_TEST(realtime_honours_the_governance_ip_allowlist)
{
	struct tenant t;
	tenant_make(&t);
	free(type_make(t.key, "notes"));
	FILE *f = ws_open(&t, t.key, "objects:notes", 1, 1);
	client_end(f);
	http_resp *r = call("PATCH", t.key, "{\"ip_allowlist\":[\"10.0.0.0/8\"]}", "/v1/governance");
	assert_envelope(r, 200, NULL);
	http_free(r);
	char *path = strf("/v1/realtime?token=%s&tenant_id=%s&channels=objects:notes", t.key, t.id);
	r = http_req("GET", path, NULL, NULL, NULL, 0, upgrade);
	assert_envelope(r, 403, "FORBIDDEN");
	ck_assert_msg(strstr(error_message(r), "allowlist"), "message: %s", error_message(r));
	http_free(r);
	free(path);
	tenant_drop(&t);
}
END_TEST

Suite *suite_e2e(void)
{
	Suite *s = suite_create("e2e");
	TCase *tc = tcase_new_slow(s, "e2e");
	tcase_add_test(tc, magic_link_is_mailed_and_signs_the_user_in);
	tcase_add_test(tc, signup_with_required_verification_gives_a_session_only_after_the_link);
	tcase_add_test(tc, forgot_password_mail_resets_the_password);
	tcase_add_test(tc, redirect_to_must_be_in_the_allowlist_and_leads_the_mailed_link);
	tcase_add_test(tc, portal_magic_link_is_mailed_and_signs_the_user_in);
	tcase_add_test(tc, email_change_link_is_mailed_to_the_new_address);
	tcase_add_test(tc, object_created_reaches_webhook_websocket_and_sse_of_its_tenant_only);
	tcase_add_test(tc, file_upload_reaches_a_webhook_and_its_folder_channel);
	tcase_add_test(tc, custom_event_reaches_the_events_channel_and_a_custom_webhook);
	tcase_add_test(tc, log_in_emits_user_signed_in_to_a_webhook);
	tcase_add_test(tc, roles_decide_which_object_channels_an_end_user_may_subscribe_to);
	tcase_add_test(tc, realtime_honours_the_governance_ip_allowlist);
	return s;
}
