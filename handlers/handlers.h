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
err_t webhooks_list(req_t *r);
err_t webhooks_create(req_t *r);
err_t webhooks_update(req_t *r);
err_t webhooks_delete(req_t *r);
err_t webhooks_replay(req_t *r);
err_t webhooks_rotate_secret(req_t *r);
err_t webhooks_test(req_t *r);
err_t deliveries_list(req_t *r);
err_t deliveries_retry(req_t *r);
extern const field_t webhook_create_body[];
extern const field_t webhook_update_body[];
extern const field_t webhook_replay_body[];
err_t events_types(req_t *r);
err_t events_track(req_t *r);
err_t events_list(req_t *r);
extern const field_t event_track_body[];

/* --- realtime (realtime.c) ----------------------------------------------- */
err_t realtime_subscribe(req_t *r);
err_t realtime_stats(req_t *r);
err_t events_stream(req_t *r);

/* --- files (files.c) ----------------------------------------------------- */
/* files.c, files_upload.c, files_serve.c (shared helpers in files.h) */
err_t files_get(req_t *r);
err_t files_update(req_t *r);
err_t files_delete(req_t *r);
err_t files_restore(req_t *r);
err_t files_trash(req_t *r);
err_t files_versions(req_t *r);
err_t files_folders(req_t *r);
err_t files_search(req_t *r);
err_t files_stats(req_t *r);
err_t files_batch_read(req_t *r);
err_t files_batch_update(req_t *r);
err_t files_batch_delete(req_t *r);
err_t files_upload(req_t *r);
err_t files_upload_url(req_t *r);
err_t files_upload_put(req_t *r);
err_t files_upload_complete(req_t *r);
err_t files_stale(req_t *r);
err_t files_content(req_t *r);
err_t files_signed_url(req_t *r);
err_t files_variant(req_t *r);
extern const field_t files_search_body[];
extern const field_t files_patch_body[];
extern const field_t files_batch_body[];
extern const field_t files_batch_update_body[];
extern const field_t files_upload_url_body[];
extern const field_t files_upload_complete_body[];
extern const field_t files_signed_url_body[];

/* --- end-user auth, sessions, MFA, portal, users (auth_*.c, users.c) ----- */

/* auth_flows.c */
err_t auth_signup(req_t *r);
err_t auth_login(req_t *r);
err_t auth_anonymous(req_t *r);
err_t auth_user_get(req_t *r);
err_t auth_user_update(req_t *r);
err_t auth_export(req_t *r);
err_t auth_verify_get(req_t *r);
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
extern const field_t auth_user_update_body[];

/* auth_sessions.c */
err_t auth_refresh(req_t *r);
err_t auth_logout(req_t *r);
err_t sessions_list(req_t *r);
err_t sessions_revoke_all(req_t *r);
err_t sessions_revoke_one(req_t *r);
extern const field_t auth_refresh_body[];
extern const field_t auth_logout_body[];

/* auth_mfa.c */
err_t mfa_enroll(req_t *r);
err_t mfa_verify(req_t *r);
err_t mfa_factors(req_t *r);
err_t mfa_unenroll(req_t *r);
err_t mfa_challenge(req_t *r);
err_t mfa_complete(req_t *r);
err_t mfa_recover(req_t *r);
extern const field_t mfa_enroll_body[];
extern const field_t mfa_verify_body[];
extern const field_t mfa_challenge_body[];
extern const field_t mfa_complete_body[];
extern const field_t mfa_recover_body[];

/* auth_portal.c */
err_t portal_signup(req_t *r);
err_t portal_login(req_t *r);
err_t portal_forgot_password(req_t *r);
err_t portal_reset_password(req_t *r);
err_t portal_magic_link(req_t *r);
err_t portal_magic_verify(req_t *r);
err_t portal_otp_send(req_t *r);
err_t portal_otp_verify(req_t *r);
err_t portal_verify_email(req_t *r);
err_t portal_identify(req_t *r);
extern const field_t portal_identify_body[];

/* users.c */
err_t users_list(req_t *r);
err_t users_create(req_t *r);
err_t users_get(req_t *r);
err_t users_update(req_t *r);
err_t users_delete(req_t *r);
err_t users_mfa(req_t *r);
extern const field_t users_create_body[];
extern const field_t users_update_body[];

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
