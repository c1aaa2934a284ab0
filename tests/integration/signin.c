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
