/*
 * unit.h - shared declarations for the Check unit tests in tests/unit/.
 *
 * One file per source module (test_router.c for fcgi/router.c), each
 * exposing suite_<name>(); main.c runs them all.  The helpers here build the
 * request a handler would see, without FastCGI (fcgi stays NULL), so the
 * reply writers and request accessors can be tested directly.
 */
#ifndef TESSERA_TESTS_UNIT_H
#define TESSERA_TESTS_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <cJSON.h>

#include "../../common/arena.h"
#include "../../fcgi/request.h"

Suite *suite_arena(void);
Suite *suite_cidr(void);
Suite *suite_codec(void);
Suite *suite_config(void);
Suite *suite_crypto(void);
Suite *suite_envelope(void);
Suite *suite_channels(void);
Suite *suite_ids(void);
Suite *suite_jwt(void);
Suite *suite_router(void);
Suite *suite_rowjson(void);
Suite *suite_schema(void);
Suite *suite_securedel(void);
Suite *suite_timefmt(void);
Suite *suite_jobs_backoff(void);   /* test_jobs_backoff.c: fcgi/jobs.c backoff */
Suite *suite_totp(void);           /* test_totp.c: common/totp.c, qr.c, password.c */
Suite *suite_enduser(void);      /* test_enduser.c: handlers/enduser.c helpers */
Suite *suite_roles(void);        /* test_roles.c: handlers/roles.c permissions */
Suite *suite_multipart(void);
Suite *suite_outhttp(void);
Suite *suite_s3(void);           /* test_s3.c: common/s3.c SigV4 presigning */
Suite *suite_webhook_send(void);   /* also fcgi/fanout.c's event vocabulary */
Suite *suite_ailocal(void);        /* test_ailocal.c: common/ailocal.c */
Suite *suite_decimal(void);        /* test_decimal.c: common/decimal.c */
Suite *suite_cron(void);           /* test_cron.c: common/cron.c */
Suite *suite_webauthn(void);       /* test_webauthn.c: common/webauthn.c */
Suite *suite_luabox(void);         /* test_luabox.c: common/luabox.c */
Suite *suite_cache(void);          /* test_cache.c: common/cache.c key slots */
Suite *suite_jschema(void);        /* test_jschema.c: common/jschema.c */

#define UNIT_REQUEST_ID "req_unit_0123456789"

/* A request as the pipeline hands it to a handler: no FastCGI, an empty
 * query string, memory from a. */
static inline void unit_req_init(req_t *r, arena_t *a)
{
	memset(r, 0, sizeof(*r));
	r->a = a;
	r->method = "GET";
	r->path = "/";
	r->query = "";
	r->remote_addr = "127.0.0.1";
	snprintf(r->request_id, sizeof(r->request_id), "%s", UNIT_REQUEST_ID);
}

/* Parses the body a reply writer produced; the tree is owned by the
 * request's arena.  Fails the test if the body is not JSON. */
static inline cJSON *unit_reply_json(req_t *r)
{
	ck_assert_ptr_nonnull(r->out_body);
	cJSON *j = cJSON_ParseWithLength(r->out_body, r->out_len);
	ck_assert_msg(j != NULL, "reply body is not JSON: %.*s", (int)r->out_len, r->out_body);
	return req_own(r, j);
}

/* The string member path[0].path[1]… of j, or NULL. */
static inline const char *unit_json_str(const cJSON *j, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, a);
	if (b)
		v = cJSON_GetObjectItemCaseSensitive(v, b);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

#endif
