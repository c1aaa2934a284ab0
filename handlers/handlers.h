/*
 * handlers.h - every built handler and request schema the route table names.
 */
#ifndef TESSERA_HANDLERS_H
#define TESSERA_HANDLERS_H

#include "../common/schema.h"
#include "../fcgi/request.h"

/* public.c */
err_t public_health(req_t *r);
err_t public_ready(req_t *r);
err_t public_static(req_t *r);
err_t public_tenant_config(req_t *r);
err_t public_tenants_lookup(req_t *r);
extern const field_t lookup_body[];

/* tenants.c */
err_t tenants_usage(req_t *r);

/* keys.c */
err_t keys_list(req_t *r);
err_t keys_create(req_t *r);
err_t keys_update(req_t *r);
err_t keys_revoke(req_t *r);
err_t keys_rotate(req_t *r);
extern const field_t keys_write_body[];
extern const field_t keys_rotate_body[];

/* audit.c */
err_t audit_list(req_t *r);

/* Process start time, set by main() before the workers fork (for uptime). */
extern long long g_started_ms;

#endif
