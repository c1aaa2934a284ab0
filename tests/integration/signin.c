/*
 * signin.c - see signin.h.
 */
#include "signin.h"

#include <stdlib.h>
#include <string.h>

void fresh_client(void)
{
	char *ip = loopback_addr_random();
	http_source_addr(ip);
	free(ip);
}

char *stack_redirect(const char *path)
{
	http_resp *r = http_get(path, NULL);
	ck_assert_msg(r->status == 302, "GET %s: %ld %s", path, r->status, r->body);
	char *loc = resp_header(r, "Location");
	ck_assert_ptr_nonnull(loc);
	http_free(r);
	return loc;
}

char *param_of(const char *s, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = s; (p = strstr(p, name)); p += n) {
		if ((p == s || strchr("?&#", p[-1])) && p[n] == '=') {
			p += n + 1;
			return strndup(p, strcspn(p, "&#"));
		}
	}
	return NULL;
}

char *user_id_of(const char *token, char **email)
{
	http_resp *me = call("GET", token, NULL, "/v1/auth/user");
	assert_envelope(me, 200, NULL);
	char *id = strdup(json_str(resp_data(me), "id"));
	if (email)
		*email = strdup(json_str(resp_data(me), "email"));
	http_free(me);
	return id;
}

long long users_count(const struct tenant *t)
{
	http_resp *r = call("GET", t->key, NULL, "/v1/users?limit=1");
	assert_envelope(r, 200, NULL);
	const cJSON *total = item(resp_data(r), "total");
	long long n = cJSON_IsNumber(total) ? (long long)total->valuedouble : -1;
	http_free(r);
	return n;
}

char *signup_user(const struct tenant *t, const char *body)
{
	http_resp *su = call("POST", t->key, body, "/v1/auth/signup");
	assert_envelope(su, 201, NULL);
	char *id = strdup(json_str(item(resp_data(su), "user"), "id"));
	http_free(su);
	return id;
}

http_resp *login_as(const char *key, const char *email, const char *pw)
{
	char *body = strf("{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
	http_resp *r = call("POST", key, body, "/v1/auth/login");
	free(body);
	return r;
}

void login_world_make(struct login_world *w, int failed)
{
	tenant_make_keyed(&w->t, "enterprise");
	w->email = strf("login-%s@example.com", w->t.id);
	char *body = strf("{\"email\":\"%s\",\"password\":\"" LOGIN_PW "\"}", w->email);
	http_resp *r = call("POST", w->t.key, body, "/v1/auth/signup");
	assert_envelope(r, 201, NULL);
	http_free(r);
	free(body);
	w->first_login = now_s();
	r = login_as(w->t.key, w->email, LOGIN_PW);
	assert_envelope(r, 200, NULL);
	w->token = strdup(json_str(resp_data(r), "access_token"));
	http_free(r);
	for (int i = 0; i < failed; i++) {
		r = login_as(w->t.key, w->email, "wrong-password-1");
		assert_envelope(r, 401, "UNAUTHORIZED");
		http_free(r);
	}
}

void login_world_drop(struct login_world *w)
{
	free(w->email);
	free(w->token);
	tenant_drop(&w->t);
}

void login_assert_carried_over(const struct login_world *w, int used)
{
	ck_assert_msg(now_s() - w->first_login < 55, "the test took too long for one window");
	http_resp *r = http_get("/v1/auth/user", w->token);
	assert_envelope(r, 200, NULL);
	http_free(r);
	for (int n = used + 1; n <= LOGIN_LIMIT; n++) {
		r = login_as(w->t.key, w->email, n == used + 1 ? LOGIN_PW : "wrong-password-2");
		assert_envelope(r, n == used + 1 ? 200 : 401, n == used + 1 ? NULL : "UNAUTHORIZED");
		http_free(r);
	}
	r = login_as(w->t.key, w->email, LOGIN_PW);
	assert_envelope(r, 429, "RATE_LIMITED");
	ck_assert_ptr_nonnull(resp_header(r, "Retry-After"));
	http_free(r);
}
