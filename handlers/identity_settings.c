/*
 * identity_settings.c - auth config, governance, email/SMS and
 * notification entry points used by the auth flows (identity.h).
 * Placeholder defaults until the identity administration work lands.
 */
#include "identity.h"

#include <string.h>

err_t auth_settings_load(req_t *r, auth_settings_t *out)
{
	(void)r;
	memset(out, 0, sizeof(*out));
	out->email_password = out->magic_link = out->phone_otp = out->anonymous = true;
	out->password_min_length = 8;
	out->session_duration_secs = 604800;
	out->access_token_ttl_secs = 3600;
	return E_OK;
}

const char *auth_password_problem(const auth_settings_t *s, const char *password)
{
	size_t n = strlen(password);
	if (n > 1024)
		return "password must be at most 1024 characters";
	if ((long)n < s->password_min_length)
		return "password is too short";
	return NULL;
}

bool auth_redirect_allowed(const auth_settings_t *s, const char *url)
{
	(void)s;
	(void)url;
	return true;
}

err_t auth_send_template(req_t *r, const char *name, const char *to, const cJSON *vars)
{
	(void)r;
	(void)name;
	(void)to;
	(void)vars;
	return E_OK;
}

err_t auth_send_sms(req_t *r, const char *to, const char *text)
{
	(void)r;
	(void)to;
	(void)text;
	return E_OK;
}

err_t notify_user(req_t *r, const char *user_id, const char *category, const char *title,
		  const char *body, const cJSON *data)
{
	(void)r;
	(void)user_id;
	(void)category;
	(void)title;
	(void)body;
	(void)data;
	return E_OK;
}

const char **user_permissions(req_t *r, const char *user_id)
{
	(void)user_id;
	const char **v = arena_alloc(r->a, sizeof(*v));
	v[0] = NULL;
	return v;
}
