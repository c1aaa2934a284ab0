/*
 * gate.c - the identity gate (gate.h).
 */
#include "gate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/cidr.h"
#include "../common/log.h"
#include "../common/strbuf.h"
#include "router.h"

/* Seconds a worker trusts what it cached without seeing the generation. */
#define GATE_TTL 30

/* The answer to an end user on a row without R_USER, unless an admin. */
#define END_USER_REFUSED "End-user tokens cannot call this endpoint"

char *identity_gen_key(arena_t *a, const char *tenant)
{
	return cache_tkey(a, "gen:identity", tenant, "%s", "");
}

void identity_invalidate(req_t *r)
{
	redisReply *rep;
	if (cache_cmdf(r->cache, r->a, &rep, "INCR %s", identity_gen_key(r->a, r->tenant.id)))
		log_warn("%s: cannot bump the identity generation of %s; workers may use old "
			 "governance and roles for up to %d s", r->request_id, r->tenant.id, GATE_TTL);
}

/* Per worker: each tenant's IP allowlist and whether it has roles. */
#define GATE_SLOTS 64

struct gate_entry {
	char tenant[41];
	char gen[32];
	time_t loaded_at;
	bool has_roles;
	int ncidr;
	cidr_t *cidrs;     /* malloc'd */
};

static struct gate_entry gates[GATE_SLOTS];

static unsigned long str_hash(unsigned long h, const char *s)
{
	for (; s && *s; s++)
		h = h * 33 + (unsigned char)*s;
	return h;
}

/* True when an entry loaded under gen may still be used. */
static bool gen_fresh(const char *entry_gen, time_t loaded_at, const char *gen)
{
	return gen && !strcmp(entry_gen, gen) && time(NULL) - loaded_at < GATE_TTL;
}

static err_t gate_load(req_t *r, struct gate_entry *e)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT (SELECT value FROM %s WHERE name = 'governance') AS gov, "
		"EXISTS (SELECT 1 FROM %s) AS has_roles",
		tenant_table(r, "_identity_settings"), tenant_table(r, "_roles")), NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	free(e->cidrs);
	memset(e, 0, sizeof(*e));
	snprintf(e->tenant, sizeof(e->tenant), "%s", r->tenant.id);
	snprintf(e->gen, sizeof(e->gen), "%s", r->tenant.identity_gen ? r->tenant.identity_gen : "");
	e->loaded_at = r->tenant.identity_gen ? time(NULL) : 0;
	e->has_roles = db_get_int(res, 0, "has_roles", 0) != 0;
	cJSON *gov = cJSON_Parse(db_get(res, 0, "gov") ? db_get(res, 0, "gov") : "{}");
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(gov, "ip_allowlist");
	int n = cJSON_GetArraySize(ips);
	if (n > 0) {
		e->cidrs = calloc((size_t)n, sizeof(cidr_t));
		const cJSON *it;
		cJSON_ArrayForEach(it, ips)
			if (e->cidrs && cJSON_IsString(it) && cidr_parse(&e->cidrs[e->ncidr], it->valuestring) == 0)
				e->ncidr++;
	}
	cJSON_Delete(gov);
	return E_OK;
}

/* Per worker: effective permissions of recently seen end users. */
#define PERM_SLOTS 256

struct perm_entry {
	char tenant[41], user[41], role[65];
	char gen[32];
	time_t loaded_at;
	char *perms;        /* malloc'd: permissions joined by '\n' */
};

static struct perm_entry perm_cache[PERM_SLOTS];

static err_t user_perms_cached(req_t *r, const char ***out)
{
	const char *role = r->who.role ? r->who.role : "";
	unsigned long h = str_hash(str_hash(str_hash(5381, r->tenant.id), r->who.user_id), role);
	struct perm_entry *e = &perm_cache[h % PERM_SLOTS];
	if (!(gen_fresh(e->gen, e->loaded_at, r->tenant.identity_gen) && !strcmp(e->tenant, r->tenant.id) &&
	      !strcmp(e->user, r->who.user_id) && !strcmp(e->role, role))) {
		const char **perms;
		err_t rc = gate_ops.user_permissions(r, r->who.user_id, role, &perms);
		if (rc)
			return rc;
		strbuf_t sb = { 0 };
		for (int i = 0; perms[i]; i++)
			sb_printf(&sb, "%s%s", i ? "\n" : "", perms[i]);
		char *joined = sb_take(&sb, r->a);
		free(e->perms);
		memset(e, 0, sizeof(*e));
		if (strlen(r->tenant.id) < sizeof(e->tenant) && strlen(r->who.user_id) < sizeof(e->user) &&
		    strlen(role) < sizeof(e->role) && r->tenant.identity_gen) {
			snprintf(e->tenant, sizeof(e->tenant), "%s", r->tenant.id);
			snprintf(e->user, sizeof(e->user), "%s", r->who.user_id);
			snprintf(e->role, sizeof(e->role), "%s", role);
			snprintf(e->gen, sizeof(e->gen), "%s", r->tenant.identity_gen);
			e->loaded_at = time(NULL);
			e->perms = strdup(joined);
		}
		*out = perms;
		return E_OK;
	}
	int n = 1;
	for (const char *p = e->perms; *p; p++)
		n += *p == '\n';
	const char **v = arena_alloc(r->a, sizeof(*v) * (size_t)(n + 1));
	int i = 0;
	if (*e->perms) {
		char *copy = arena_strdup(r->a, e->perms), *save = NULL;
		for (char *t = strtok_r(copy, "\n", &save); t; t = strtok_r(NULL, "\n", &save))
			v[i++] = t;
	}
	v[i] = NULL;
	*out = v;
	return E_OK;
}

/* The permission the route row names, which perms must grant. */
static err_t gate_roles(req_t *r, const char *const *perms)
{
	const route_perm_t *n = route_perm(r->route);
	if (!n->area)
		return E_OK;
	const char *tname = NULL, *tid = NULL;
	if (n->typed) {
		const char *param = req_param(r, "object_type_id");
		if (!param)
			param = req_param(r, "from_type");
		if (!param)
			param = req_param(r, "type");
		err_t rc;
		if (param && (rc = gate_ops.object_type(r, param, &tname, &tid)))
			return rc;
	}
	if (gate_ops.grants(perms, n->area, tname, tid, n->verb))
		return E_OK;
	return req_fail(r, E_FORBIDDEN, "Your roles do not grant the \"%s:%s%s%s\" permission",
			n->area, tname ? tname : "", tname ? ":" : "", n->verb);
}

/* The tenant's gate entry, loaded if missing or stale. */
static err_t gate_get(req_t *r, struct gate_entry **out)
{
	struct gate_entry *e = &gates[str_hash(5381, r->tenant.id) % GATE_SLOTS];
	err_t rc;
	if (!(strcmp(e->tenant, r->tenant.id) == 0 && gen_fresh(e->gen, e->loaded_at, r->tenant.identity_gen)) &&
	    (rc = gate_load(r, e)))
		return rc;
	*out = e;
	return E_OK;
}

err_t identity_user_may(req_t *r, const char *area, const char *type_name, const char *type_id,
			const char *verb, bool *ok)
{
	struct gate_entry *e;
	const char **perms;
	err_t rc;
	*ok = true;
	if (r->who.kind != PRINCIPAL_USER || !r->tenant.id || !r->tenant.db_name)
		return E_OK;
	if ((rc = gate_get(r, &e)) || !e->has_roles || (rc = user_perms_cached(r, &perms)))
		return rc;
	*ok = gate_ops.grants(perms, area, type_name, type_id, verb);
	return E_OK;
}

/* An end user's request: an admin (their roles grant `admin`) passes
 * with the `*` scope; others reach only R_USER rows, with the permission
 * the row names once the tenant has roles. */
static err_t gate_user(req_t *r, const struct gate_entry *e)
{
	bool keyed = !(r->route->flags & R_USER);
	const char **perms = NULL;
	err_t rc;
	if (e->has_roles && (rc = user_perms_cached(r, &perms)))
		return rc;
	if (perms && gate_ops.admin(perms)) {
		r->who.admin = true;
		r->who.scopes = SCOPE_ALL;
		return E_OK;
	}
	if (keyed)
		return req_fail(r, E_INSUFFICIENT_SCOPE, END_USER_REFUSED);
	return perms ? gate_roles(r, perms) : E_OK;
}

err_t identity_gate(req_t *r)
{
	bool user = r->who.kind == PRINCIPAL_USER;
	if (!r->tenant.id || !r->tenant.db_name)
		return user && !(r->route->flags & R_USER) ? req_fail(r, E_INSUFFICIENT_SCOPE, END_USER_REFUSED)
							    : E_OK;
	struct gate_entry *e;
	err_t rc = gate_get(r, &e);
	if (rc)
		return rc;
	if (e->ncidr > 0) {
		bool inside = false;
		for (int i = 0; i < e->ncidr && !inside; i++)
			inside = r->remote_addr && cidr_contains(&e->cidrs[i], r->remote_addr);
		if (!inside)
			return req_fail(r, E_FORBIDDEN, "Client address %s is not in this tenant's IP allowlist",
					r->remote_addr ? r->remote_addr : "(unknown)");
	}
	return user ? gate_user(r, e) : E_OK;
}
