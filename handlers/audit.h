/*
 * audit.h - the audit helper every admin action calls.
 */
#ifndef TESSERA_AUDIT_H
#define TESSERA_AUDIT_H

#include "../fcgi/request.h"

/*
 * Records action (e.g. "api_key.created") on resource_type/resource_id by the
 * request's principal, in the request's open transaction if there is one.
 * details (not consumed) may be NULL; it must never hold secrets.
 */
err_t req_audit(req_t *r, const char *action, const char *resource_type,
		const char *resource_id, const cJSON *details);

#endif
