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

/* object_types.c */
err_t object_types_list(req_t *r);
err_t object_types_create(req_t *r);
err_t object_types_get(req_t *r);
err_t object_types_update(req_t *r);
err_t object_types_delete(req_t *r);
extern const field_t object_type_create_body[];
extern const field_t object_type_update_body[];

/* properties.c */
err_t properties_list(req_t *r);
err_t properties_create(req_t *r);
err_t properties_update(req_t *r);
err_t properties_delete(req_t *r);
extern const field_t property_create_body[];
extern const field_t property_update_body[];

/* objects.c */
err_t objects_create(req_t *r);
err_t objects_get(req_t *r);
err_t objects_update(req_t *r);
err_t objects_delete(req_t *r);
err_t objects_restore(req_t *r);
err_t objects_list(req_t *r);
err_t objects_trash(req_t *r);
err_t objects_versions(req_t *r);
err_t objects_batch_create(req_t *r);
err_t objects_batch_read(req_t *r);
err_t objects_batch_update(req_t *r);
extern const field_t object_write_body[];
extern const field_t object_batch_create_body[];
extern const field_t object_batch_read_body[];
extern const field_t object_batch_update_body[];

/* views.c */
err_t views_list(req_t *r);
err_t views_create(req_t *r);
err_t views_update(req_t *r);
err_t views_delete(req_t *r);
extern const field_t view_create_body[];
extern const field_t view_update_body[];

/* associations.c */
err_t associations_put(req_t *r);
err_t associations_delete(req_t *r);
err_t associations_list(req_t *r);
extern const field_t association_put_body[];

/* comments.c */
err_t comments_list(req_t *r);
err_t comments_create(req_t *r);
err_t comments_update(req_t *r);
err_t comments_delete(req_t *r);
extern const field_t comment_body[];

/* sql.c */
err_t sql_query(req_t *r);
extern const field_t sql_body[];

/* dataio.c */
err_t data_import(req_t *r);
err_t data_export(req_t *r);
err_t data_export_get(req_t *r);
extern const field_t import_body[];
extern const field_t export_body[];

/* policies.c */
err_t policies_list(req_t *r);
err_t policies_create(req_t *r);
err_t policies_update(req_t *r);
err_t policies_delete(req_t *r);
err_t policies_simulate(req_t *r);
extern const field_t policy_create_body[];
extern const field_t policy_update_body[];
extern const field_t policy_simulate_body[];

/* errors_report.c */
err_t errors_report(req_t *r);
extern const field_t error_report_body[];

/* dlq.c */
err_t dlq_list(req_t *r);
err_t dlq_retry(req_t *r);
err_t dlq_discard(req_t *r);

/* audit.c */
err_t audit_list(req_t *r);

/* --- events & webhooks (webhooks.c, events.c) ---------------------------- */

/* --- realtime (realtime.c) ----------------------------------------------- */

/* --- files (files.c) ----------------------------------------------------- */

/* --- end-user auth, sessions, MFA, portal, users (auth_*.c, users.c) ----- */

/* --- auth config, governance, roles, notifications, email (identity_*.c) - */

/* identity_settings.c */
/* GET and POST /v1/auth-config, GET and PATCH /v1/governance */
err_t identity_settings_get(req_t *r);
err_t identity_settings_update(req_t *r);
extern const field_t auth_config_body[];
extern const field_t governance_body[];

/* roles.c */
err_t roles_list(req_t *r);
err_t roles_create(req_t *r);
err_t roles_get(req_t *r);
err_t roles_update(req_t *r);
err_t roles_delete(req_t *r);
err_t roles_set_permissions(req_t *r);
err_t roles_assign(req_t *r);
err_t roles_unassign(req_t *r);
err_t roles_of_user(req_t *r);
extern const field_t role_create_body[];
extern const field_t role_update_body[];
extern const field_t role_permissions_body[];
extern const field_t role_assign_body[];

/* notifications.c */
err_t notifications_list(req_t *r);
err_t notifications_count(req_t *r);
err_t notifications_read(req_t *r);
err_t notifications_read_all(req_t *r);
err_t notification_prefs_get(req_t *r);
err_t notification_prefs_put(req_t *r);
err_t notification_prefs_delete(req_t *r);
extern const field_t notification_pref_body[];

/* email.c */
err_t email_send(req_t *r);
extern const field_t email_send_body[];

/* Process start time, set by main() before the workers fork (for uptime). */
extern long long g_started_ms;

#endif
