/*
 * realtime.c - the Realtime group and the SSE stream: GET /v1/realtime
 * (WebSocket), GET /events/stream (Server-Sent Events) and
 * GET /v1/realtime/stats.
 *
 * The app never holds a realtime connection.  It checks the token and the
 * channels, then hands the request to nginx's nchan module with
 * X-Accel-Redirect (nginx/tessera-locations.conf.in, "realtime (nchan)"),
 * naming the tenant (nchan's channel group: tenants never share a channel),
 * the channels and a connection id.  nchan reports each connection opening
 * and closing back here (GET /v1/realtime with FastCGI parameters only
 * nginx sets), and the counts live in Redis for the stats endpoint.
 * Each connection also subscribes to the control channels of its tenant
 * and credential, so that a revocation can close it (common/channels.h),
 * and may resume after an event id given as header or query parameter.
 * Messages are published by the jobs runner (common/channels.c).
 */
#include <string.h>
#include <strings.h>

#include "../common/ids.h"
#include "../common/log.h"
#include "../common/channels.h"
#include "../fcgi/credentials.h"
#include "identity_admin.h"
#include "objmodel.h"
#include "policies.h"
#include "routes.h"

/* The channels one connection asked for, canonical (objects:<type id>). */
typedef struct rt_chans {
	const char *name[RT_CONN_CHANNELS_MAX];
	int n;
} rt_chans_t;

/* --- who may read a channel ------------------------------------------- */

/*
 * True when cond is want for every row: a literal, or and/or/not of
 * conditions that are.  Comparisons depend on the row, so they never are.
 */
static bool cond_always(const cJSON *c, bool want)
{
	if (cJSON_IsBool(c))
		return cJSON_IsTrue(c) == want;
	const cJSON *all = cJSON_GetObjectItemCaseSensitive(c, "and");
	const cJSON *any = cJSON_GetObjectItemCaseSensitive(c, "or");
	const cJSON *neg = cJSON_GetObjectItemCaseSensitive(c, "not");
	if (neg)
		return cond_always(neg, !want);
	const cJSON *parts = cJSON_IsArray(all) ? all : any;
	if (!cJSON_IsArray(parts))
		return false;
	/* "and" is always true when every part is, "or" when one part is
	 * (and the mirror image for false). */
	bool every = parts == all ? want : !want;
	const cJSON *it;
	cJSON_ArrayForEach(it, parts) {
		bool always = cond_always(it, want);
		if (every && !always)
			return false;
		if (!every && always)
			return true;
	}
	return every;
}

/*
 * An end user may stream a type's events only when the tenant's roles (if
 * it has any) grant objects:<type>:read and a select policy lets them see
 * every row of it: a message goes to every subscriber of the channel
 * alike, so row-by-row policies cannot be honoured per message.  *why
 * says which rule refused.
 */
static err_t user_may_stream(req_t *r, const objtype_t *t, bool *ok, const char **why)
{
	*why = "roles";
	err_t rc = identity_user_may(r, "objects", t->name, t->id, "read", ok);
	if (rc || !*ok)
		return rc;
	*why = "policies";
	cJSON *conds;
	rc = policies_for(r, t, "select", &conds);
	if (rc)
		return rc;
	*ok = false;
	const cJSON *c;
	cJSON_ArrayForEach(c, conds)
		if (cond_always(c, true))
			*ok = true;
	return E_OK;
}

static bool key_has(const req_t *r, unsigned scope)
{
	return !req_end_user(r) && (r->who.scopes & (scope | SCOPE_ALL));
}

/* Whether the caller may stream type t's events (a database error aside);
 * *why as user_may_stream's. */
static err_t type_streamable(req_t *r, const objtype_t *t, bool *ok, const char **why)
{
	if (req_end_user(r))
		return user_may_stream(r, t, ok, why);
	*ok = key_has(r, SCOPE_READ);
	return E_OK;
}

/* objects:<type id or name>: the canonical name into *canon, or an error. */
static err_t objects_channel(req_t *r, const char *name, const char **canon)
{
	objtype_t *t;
	bool ok;
	const char *why = NULL;
	err_t rc = objtype_load(r, name + 8, &t);
	if (rc == E_NOT_FOUND)
		return req_fail_field(r, E_NOT_FOUND, "channels", "Channel %s: no such object type", name);
	if (rc || (rc = type_streamable(r, t, &ok, &why)))
		return rc;
	if (!ok && !req_end_user(r))
		return req_fail_field(r, E_INSUFFICIENT_SCOPE, "channels",
				      "Channel %s needs the \"read\" scope", name);
	if (!ok && !strcmp(why, "roles"))
		return req_fail_field(r, E_FORBIDDEN, "channels",
				      "Channel %s: your roles do not grant the \"objects:%s:read\" permission",
				      name, t->name);
	if (!ok)
		return req_fail_field(r, E_FORBIDDEN, "channels",
				      "Channel %s: your row-level policies do not let you read every %s, "
				      "so you cannot receive its events", name, t->name);
	*canon = arena_printf(r->a, "objects:%s", t->id);
	return E_OK;
}

/* Checks one requested channel; its canonical name into *canon. */
static err_t channel_check(req_t *r, const char *name, const char **canon)
{
	if (!channel_name_valid(name))
		return req_fail_field(r, E_VALIDATION, "channels",
				      "\"%s\" is not a channel: use objects:<type_id>, files, "
				      "files:<folder> or events", name);
	if (!strncmp(name, "objects:", 8))
		return objects_channel(r, name, canon);
	bool files = strcmp(name, "events") != 0;
	if (req_end_user(r))
		return req_fail_field(r, E_FORBIDDEN, "channels",
				      "Channel %s is for API keys: it carries every %s of the tenant",
				      name, files ? "file's changes" : "custom event");
	if (!key_has(r, files ? SCOPE_FILES : SCOPE_READ))
		return req_fail_field(r, E_INSUFFICIENT_SCOPE, "channels", "Channel %s needs the \"%s\" scope",
				      name, files ? "files" : "read");
	*canon = name;
	return E_OK;
}

static void chans_add(rt_chans_t *s, const char *canon)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], canon))
			return;
	s->name[s->n++] = canon;
}

/*
 * No channels parameter: everything the caller may read now — every object
 * type it may stream, files and events for keys with those scopes.
 */
static err_t default_channels(req_t *r, rt_chans_t *s)
{
	db_result *res;
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a,
		"SELECT id FROM %s ORDER BY name LIMIT %d", tenant_table(r, "_object_types"),
		RT_CONN_CHANNELS_MAX - 3), NULL, 0, &res);
	if (st)
		return req_db_error(r, st);
	for (int i = 0; i < res->nrows; i++) {
		objtype_t *t;
		bool ok = false;
		const char *why;
		err_t rc = objtype_load(r, db_cell(res, i, 0), &t);
		if (rc == E_NOT_FOUND)
			continue; /* deleted meanwhile */
		if (rc || (rc = type_streamable(r, t, &ok, &why)))
			return rc;
		if (ok)
			chans_add(s, arena_printf(r->a, "objects:%s", t->id));
	}
	if (key_has(r, SCOPE_FILES))
		chans_add(s, "files");
	if (key_has(r, SCOPE_READ))
		chans_add(s, "events");
	if (s->n == 0)
		return req_fail_field(r, E_FORBIDDEN, "channels", "There is no channel you may read");
	return E_OK;
}

/* Whether the query names parameter name at all (req_query() answers NULL
 * for an undecodable value too). */
static bool query_names(const req_t *r, const char *name)
{
	size_t n = strlen(name);
	for (const char *q = r->query; q && *q;) {
		if (!strncmp(q, name, n) && (q[n] == '=' || q[n] == '&' || !q[n]))
			return true;
		q = strchr(q, '&');
		q = q ? q + 1 : NULL;
	}
	return false;
}

/* The channels parameter: comma-separated, each valid and readable. */
static err_t channels_parse(req_t *r, rt_chans_t *s)
{
	const char *raw = req_query(r, "channels");
	if (!raw && query_names(r, "channels"))
		return req_fail_field(r, E_VALIDATION, "channels", "channels is not properly URL-encoded");
	if (!raw)
		return default_channels(r, s);
	if (!*raw)
		return req_fail_field(r, E_VALIDATION, "channels", "channels must name at least one channel");
	for (const char *p = raw;;) {
		size_t len = strcspn(p, ",");
		if (s->n == RT_CONN_CHANNELS_MAX)
			return req_fail_field(r, E_VALIDATION, "channels",
					      "At most %d channels per connection", RT_CONN_CHANNELS_MAX);
		const char *canon = NULL;
		err_t rc = channel_check(r, arena_strndup(r->a, p, len), &canon);
		if (rc)
			return rc;
		chans_add(s, canon);
		if (!p[len])
			return E_OK;
		p += len + 1;
	}
}

/* --- hand-over to nchan ------------------------------------------------ */

/*
 * The control channels of the connection (common/channels.h) into *out,
 * their number into *n: the tenant's, and the key's or the end user's and
 * their session's.  Deleting any of them on revocation closes the
 * connection.  A token whose ids cannot name a channel is refused.
 */
static err_t control_channels(req_t *r, const char **out, int *n)
{
	bool key = r->who.kind == PRINCIPAL_KEY;
	const char *who = channels_control(r->a, key ? "key" : "user", key ? r->who.key_id : r->who.user_id);
	const char *sess = key || !r->who.session_id ? NULL : channels_control(r->a, "sess", r->who.session_id);
	if (!who || (!key && r->who.session_id && !sess))
		return req_fail(r, E_UNAUTHORIZED, "This token cannot open a realtime connection");
	*n = sess ? 3 : 2;
	*out = arena_printf(r->a, "%s,%s%s%s", channels_control(r->a, "tenant", NULL), who,
			    sess ? "," : "", sess ? sess : "");
	return E_OK;
}

/* How many tags nchan's "<tag>[,<tag>…]" holds (one of them may be in
 * brackets, and must be when there are several); -1 when malformed. */
static int msgid_tags(const char *tags)
{
	int n = 1, open = 0, close = 0;
	if (!*tags || tags[strspn(tags, "0123456789-,[]")])
		return -1;
	for (const char *p = tags; *p; p++) {
		n += *p == ',';
		if (*p == '[' && (open++ || close))
			return -1;
		if (*p == ']' && (close++ || !open))
			return -1;
	}
	return open == close && (n == 1 || open) ? n : -1;
}

/*
 * Where to resume: the Last-Event-ID header (what EventSource sends) or
 * else ?last_event_id=, as nchan would read them, into *id ("" for none).
 * An id is nchan's "<time>:<tags>", one tag per channel of the connection
 * (nchan fills missing ones) and at most one in brackets; nchan cannot
 * read one longer than 127 characters, and one that names more channels
 * than the connection has would upset it, so both are refused here.
 */
static err_t last_event_id(req_t *r, int nchans, const char **id)
{
	const char *field = "Last-Event-ID";
	const char *v = req_env(r, "HTTP_LAST_EVENT_ID");
	*id = "";
	if (!v || !*v) {
		field = "last_event_id";
		v = req_query(r, field);
		if (!v && query_names(r, field))
			return req_fail_field(r, E_VALIDATION, field, "last_event_id is not properly URL-encoded");
		if (!v || !*v)
			return E_OK;
	}
	size_t digits = strspn(v, "0123456789");
	int ntags = digits && digits <= 19 && v[digits] == ':' && strlen(v) <= 127 ? msgid_tags(v + digits + 1) : -1;
	if (ntags < 0)
		return req_fail_field(r, E_VALIDATION, field,
				      "%s is not an event id this stream sent (\"<time>:<tag>\", at most 127 characters)",
				      field);
	if (ntags > nchans)
		return req_fail_field(r, E_VALIDATION, field,
				      "%s names %d channels; this connection has %d", field, ntags, nchans);
	*id = v;
	return E_OK;
}

static err_t hand_over(req_t *r)
{
	rt_chans_t s = { .n = 0 };
	err_t rc = channels_parse(r, &s);
	if (rc)
		return rc;
	const char *control = NULL, *resume = "";
	int ncontrol = 0;
	if ((rc = control_channels(r, &control, &ncontrol)) ||
	    (rc = last_event_id(r, s.n + ncontrol, &resume)))
		return rc;
	size_t len = 0;
	for (int i = 0; i < s.n; i++)
		len += strlen(s.name[i]) + 1;
	char *joined = arena_alloc(r->a, len + 1), *p = joined;
	for (int i = 0; i < s.n; i++) {
		size_t n = strlen(s.name[i]);
		if (i)
			*p++ = ',';
		memcpy(p, s.name[i], n);
		p += n;
	}
	*p = '\0';
	char conn[48];
	id_new(conn, sizeof(conn), "rtc_");
	reply_header(r, "X-Accel-Redirect", "/_tessera/realtime/sub");
	reply_header(r, "X-Tessera-Rt-Tenant", r->tenant.id);
	reply_header(r, "X-Tessera-Rt-Channels", joined);
	reply_header(r, "X-Tessera-Rt-Conn", conn);
	reply_header(r, "X-Tessera-Rt-Control", control);
	if (*resume)
		reply_header(r, "X-Tessera-Rt-Last-Event-Id", resume);
	reply_raw(r, 200, "text/plain", "", 0);
	return E_OK;
}

/* True if the comma-separated header h lists token (case-insensitive). */
static bool header_lists(const char *h, const char *token)
{
	size_t tl = strlen(token);
	for (const char *p = h ? h : ""; *p;) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		size_t n = strcspn(p, ",;");
		size_t m = n;
		while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		if (m == tl && !strncasecmp(p, token, tl))
			return true;
		p += n;
		if (*p == ';')
			p += strcspn(p, ",");
	}
	return false;
}

/* --- connection counts ---------------------------------------------------- */

static const char *conns_key(req_t *r, const char *tenant)
{
	return cache_tkey(r->a, "rt:conns", tenant, "%s", "");
}

/* nchan's subscribe/unsubscribe callback: records or forgets one connection. */
static err_t conn_event(req_t *r, const char *event)
{
	const char *tenant = req_env(r, "TESSERA_RT_TENANT");
	const char *chans = req_env(r, "TESSERA_RT_CHANNELS");
	const char *conn = req_env(r, "TESSERA_RT_CONN");
	if (!tenant || strncmp(tenant, "tn_", 3) || !conn || strncmp(conn, "rtc_", 4) || !chans || !*chans)
		return req_fail(r, E_BAD_REQUEST, "Incomplete realtime callback");
	redisReply *rep;
	enum cache_status cs;
	if (!strcmp(event, "subscribe"))
		cs = cache_cmdf(r->cache, r->a, &rep, "HSET %s %s %s", conns_key(r, tenant), conn, chans);
	else if (!strcmp(event, "unsubscribe"))
		cs = cache_cmdf(r->cache, r->a, &rep, "HDEL %s %s", conns_key(r, tenant), conn);
	else
		return req_fail(r, E_BAD_REQUEST, "Unknown realtime callback");
	if (cs) {
		log_warn("%s: realtime: cannot record %s of %s (Redis unavailable)", r->request_id, event, conn);
		return req_fail(r, E_UNAVAILABLE, "Redis is unavailable");
	}
	reply_raw(r, 204, "text/plain", "", 0);
	return E_OK;
}

/* --- endpoints ------------------------------------------------------------- */

err_t realtime_subscribe(req_t *r)
{
	const char *event = req_env(r, "TESSERA_RT_EVENT");
	if (event)
		return conn_event(r, event);
	if (!header_lists(req_env(r, "HTTP_CONNECTION"), "upgrade") ||
	    !header_lists(req_env(r, "HTTP_UPGRADE"), "websocket")) {
		reply_header(r, "Upgrade", "websocket");
		return req_fail(r, E_UPGRADE_REQUIRED,
				"GET /v1/realtime is a WebSocket endpoint: send Connection: Upgrade and "
				"Upgrade: websocket");
	}
	/* The route authenticates here (the token is in the query), so the
	 * identity gate (IP allowlist, realtime:read once roles exist) too. */
	err_t rc = credentials_check(r);
	if (rc || (rc = tenant_resolve(r)) || (rc = identity_gate(r)))
		return rc;
	return hand_over(r);
}

err_t events_stream(req_t *r)
{
	if (!header_lists(req_env(r, "HTTP_ACCEPT"), "text/event-stream"))
		return req_fail(r, E_NOT_ACCEPTABLE,
				"GET /events/stream is a Server-Sent Events stream: send Accept: text/event-stream");
	return hand_over(r);
}

err_t realtime_stats(req_t *r)
{
	redisReply *rep;
	if (cache_cmdf(r->cache, r->a, &rep, "HVALS %s", conns_key(r, r->tenant.id)) ||
	    rep->type != REDIS_REPLY_ARRAY)
		return req_fail(r, E_UNAVAILABLE, "Realtime statistics are unavailable; try again shortly");
	cJSON *data = cJSON_CreateObject(); /* reply_data() owns it */
	cJSON *per = cJSON_CreateObject();
	for (size_t i = 0; i < rep->elements; i++) {
		const redisReply *v = rep->element[i];
		if (v->type != REDIS_REPLY_STRING)
			continue;
		char *list = arena_strndup(r->a, v->str, v->len), *save = NULL;
		for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			cJSON *n = cJSON_GetObjectItemCaseSensitive(per, c);
			if (n)
				cJSON_SetNumberValue(n, n->valuedouble + 1);
			else
				cJSON_AddNumberToObject(per, c, 1);
		}
	}
	cJSON_AddNumberToObject(data, "total_connections", (double)rep->elements);
	cJSON_AddItemToObject(data, "channels", per);
	cJSON_AddNumberToObject(data, "channel_count", cJSON_GetArraySize(per));
	reply_data(r, 200, data);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t realtime_routes[] = {
	ROUTE("GET", "/v1/realtime/stats", "Realtime", AUTH_BEARER, "read", "realtime:read", R_USER, realtime_stats, NULL, "Get realtime stats"),
	ROUTE_T("GET", "/v1/realtime", "Realtime", AUTH_NONE, "", "realtime:read", R_USER | R_QUERY_TOKEN, realtime_subscribe, NULL, "WebSocket upgrade", TENANT_CREDENTIAL_PARAM_REQUIRED, 0),
	ROUTE_T("GET", "/events/stream", "Events", AUTH_BEARER, "read", "events:read", R_USER | R_QUERY_TOKEN, events_stream, NULL, "Server-sent events stream", TENANT_CREDENTIAL_PARAM, 0),
	ROUTES_END,
};
