/*
 * auth_flows.h - the end-user sign-up and sign-in flows of auth_flows.c,
 * which the hosted portal (auth_portal.c) serves again under its own paths.
 */
#ifndef TESSERA_AUTH_FLOWS_H
#define TESSERA_AUTH_FLOWS_H

#include "../common/schema.h"
#include "../fcgi/request.h"

err_t auth_signup(req_t *r);
err_t auth_login(req_t *r);
err_t auth_verify_post(req_t *r);
err_t auth_forgot_password(req_t *r);
err_t auth_reset_password(req_t *r);
err_t auth_magic_link(req_t *r);
err_t auth_magic_verify(req_t *r);
err_t auth_otp_send(req_t *r);
err_t auth_otp_verify(req_t *r);
extern const field_t auth_signup_body[];
extern const field_t auth_login_body[];
extern const field_t auth_email_body[];
extern const field_t auth_token_body[];
extern const field_t auth_reset_body[];
extern const field_t auth_otp_send_body[];
extern const field_t auth_otp_verify_body[];

#endif
