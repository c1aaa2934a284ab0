/*
 * fanout.c - the outbox fan-out pass, its wake-up, and the event
 * vocabulary (see fanout.h).
 */
#include "fanout.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../common/config.h"
#include "../common/ids.h"
#include "../common/jsonx.h"
#include "../common/log.h"
#include "../common/channels.h"
#include "../common/strbuf.h"
#include "../common/timefmt.h"
#include "jobs.h"

#define PRUNE_EVERY_MS 3600000LL
#define WAIT_MAX_MS 1500   /* below cache.c's 2 s read timeout */

/* --- vocabulary ------------------------------------------------------------ */

const char *const event_types[] = {
	"object.created", "object.updated", "object.deleted", "object.restored",
	"association.created", "association.updated", "association.deleted",
	"comment.created", "comment.updated", "comment.deleted",
	"file.uploaded", "file.updated", "file.deleted",
	"user.created", "user.updated", "user.deleted", "user.signed_in",
	"webhook.disabled",
	"workflow.submitted", "workflow.approved", "workflow.rejected", "workflow.stage_advanced",
	"custom.*", "*",
	NULL,
};

bool event_custom_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > EVENT_CUSTOM_NAME_MAX || !isalpha((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!(isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

bool event_subscription_valid(const char *entry)
{
	for (const char *const *t = event_types; *t; t++)
		if (!strcmp(*t, entry))
			return true;
	size_t pl = strlen(EVENT_CUSTOM_PREFIX);
	return !strncmp(entry, EVENT_CUSTOM_PREFIX, pl) && event_custom_name_valid(entry + pl);
}

bool event_subscribed(const cJSON *events, const char *type)
{
	bool custom = !strncmp(type, EVENT_CUSTOM_PREFIX, strlen(EVENT_CUSTOM_PREFIX));
	const cJSON *e;
	cJSON_ArrayForEach(e, events) {
		if (!cJSON_IsString(e))
			continue;
		if (!strcmp(e->valuestring, type) || !strcmp(e->valuestring, "*") ||
		    (custom && !strcmp(e->valuestring, "custom.*")))
			return true;
	}
	return false;
}

/* --- tenants ------------------------------------------------------------------ */

enum db_status tenant_db_of(db_t *db, arena_t *a, const char *tenant_id, const char **db_name)
{
	*db_name = NULL;
	db_param p[] = { db_str(tenant_id) };
	db_result *res;
	enum db_status st = db_exec(db_control(db), a, "SELECT db_name FROM tenants WHERE id = ?",
				    p, 1, &res);
	if (st == DB_OK && res->nrows)
		*db_name = db_cell(res, 0, 0);
	return st;
}

db_t *tenant_server_db(db_t *db, arena_t *a, const char *tenant_id)
{
	db_param p[] = { db_str(tenant_id) };
	db_result *res;
	if (db_exec(db_control(db), a, "SELECT db_server FROM tenants WHERE id = ?", p, 1, &res) ||
	    res->nrows == 0)
		return NULL;
	return db_for_server(db, db_cell(res, 0, 0));
}

enum db_status tenants_here(db_t *db, arena_t *a, const char *cols, const char *cond,
			    db_result **res)
{
	db_param p[] = { db_str(db_server(db_control(db))), db_str(db_server(db)) };
	return db_exec(db_control(db), a, arena_printf(a,
		"SELECT %s FROM tenants WHERE (%s) AND COALESCE(db_server, ?) = ?", cols, cond),
		p, 2, res);
}

int fanout_forward(db_t *primary, arena_t *a)
{
	static const char *const tables[] = { "outbox", "audit_logs" };
	int moved = 0;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		db_result *res;
		if (db_exec(primary, a, arena_printf(a,
			    "SELECT x.*, tn.db_server AS fwd_server FROM %s x JOIN tenants tn ON "
			    "tn.id = x.tenant_id WHERE tn.db_server IS NOT NULL ORDER BY x.id LIMIT 100",
			    tables[t]), NULL, 0, &res))
			return -1;
		for (int i = 0; i < res->nrows; i++) {
			db_t *dst = db_for_server(primary, db_get(res, i, "fwd_server"));
			if (!dst)
				continue;
			/* every column but fwd_server, the last */
			enum db_status st = db_rows_insert(dst, a, tables[t], res, i, 1, res->ncols - 1,
							   true);
			if (st)
				return -1;
			/* Deleted only once copied: a crash between copies it
			 * again, which INSERT IGNORE makes a no-op. */
			db_param p[] = { db_str(db_get(res, i, "id")) };
			if (db_exec(primary, a, arena_printf(a, "DELETE FROM %s WHERE id = ?", tables[t]),
				    p, 1, NULL))
				return -1;
			moved++;
		}
	}
	return moved;
}

/* --- the pass ------------------------------------------------------------------ */

struct outbox_row {
	const char *id, *tenant_id, *event, *resource_type, *resource_id, *created_at;
	int attempts; /* failed fan-outs so far (fanout_set_aside) */
	int chain_depth;
	cJSON *payload;
};

cJSON *event_json(const char *id, const char *type, const char *timestamp, const char *tenant_id,
		  const char *resource_type, const char *resource_id, const cJSON *data)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "id", id);
	cJSON_AddStringToObject(e, "type", type);
	cJSON_AddStringToObject(e, "timestamp", timestamp);
	cJSON_AddStringToObject(e, "tenant_id", tenant_id);
	cJSON_AddStringToObject(e, "resource_type", resource_type);
	cJSON_AddStringToObject(e, "resource_id", resource_id);
	cJSON_AddItemToObject(e, "data", data ? cJSON_Duplicate(data, true) : cJSON_CreateObject());
	return e;
}

static cJSON *event_body(const struct outbox_row *o)
{
	return event_json(o->id, o->event, o->created_at, o->tenant_id, o->resource_type,
			  o->resource_id, o->payload);
}

/* The object channels_publish_event() takes. */
static cJSON *realtime_event(const struct outbox_row *o)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "id", o->id);
	cJSON_AddStringToObject(e, "event", o->event);
	cJSON_AddStringToObject(e, "resource_type", o->resource_type);
	cJSON_AddStringToObject(e, "resource_id", o->resource_id);
	cJSON_AddItemToObject(e, "data", cJSON_Duplicate(o->payload, true));
	cJSON_AddStringToObject(e, "created_at", o->created_at);
	return e;
}

/* An object_types filter (array of type ids) lets through events that name
 * no object type and those whose data.object_type_id it lists. */
static bool type_filter_passes(const char *filter_json, const cJSON *data)
{
	if (!filter_json)
		return true;
	const char *type_id = json_str_of(data, "object_type_id");
	if (!type_id)
		return true;
	cJSON *f = cJSON_Parse(filter_json);
	bool pass = !cJSON_IsArray(f) || cJSON_GetArraySize(f) == 0;
	const cJSON *t;
	cJSON_ArrayForEach(t, f)
		if (cJSON_IsString(t) && !strcmp(t->valuestring, type_id))
			pass = true;
	cJSON_Delete(f);
	return pass;
}

/* The tenant whose data DB and webhooks were looked up last (outbox rows
 * come in id order, so a burst of one tenant's events costs one lookup of
 * each per pass). */
struct tenant_memo {
	const char *tenant_id;
	const char *db_name;
	db_result *hooks;        /* its active webhooks, NULL until read */
};

/* The active webhooks of o's tenant (NULL: none to serve). */
static enum db_status tenant_hooks(db_t *db, arena_t *a, const struct outbox_row *o,
				   struct tenant_memo *tm, db_result **hooks)
{
	enum db_status st = DB_OK;
	if (!tm->tenant_id || strcmp(tm->tenant_id, o->tenant_id) != 0) {
		tm->tenant_id = NULL;
		tm->hooks = NULL;
		if ((st = tenant_db_of(db, a, o->tenant_id, &tm->db_name)))
			return st;
		/* A tenant without the table has no webhooks: it is not
		 * created for the fan-out's sake (README "Small tenants"). */
		if (tm->db_name)
			st = db_exec_present(db, a, arena_printf(a,
				"SELECT id, events, object_types FROM `%s`.`_webhooks` "
				"WHERE status = 'active' ORDER BY id", tm->db_name), NULL, 0, &tm->hooks);
		if (st == DB_ERROR) {
			/* A tenant DB without the table (not migrated, or dropped):
			 * no webhooks to serve; never wedge the queue on it. */
			log_error("fanout: %s: cannot read webhooks of %s: %s", o->id, o->tenant_id,
				  db_last_error(db));
			tm->hooks = NULL;
			st = DB_OK;
		}
		if (st)
			return st;
		tm->tenant_id = o->tenant_id;
	}
	*hooks = tm->hooks;
	return DB_OK;
}

enum db_status fanout_savepoint(db_t *db, bool *wrote)
{
	if (*wrote)
		return DB_OK;
	enum db_status st = db_exec_text(db, "SAVEPOINT fanout_event");
	*wrote = st == DB_OK;
	return st;
}

/* Enqueues one webhook.deliver job per active webhook of the tenant that
 * subscribed to the event, in the open transaction; *wrote tells whether
 * it wrote anything (a savepoint precedes the first write). */
static enum db_status enqueue_deliveries(db_t *db, arena_t *a, const struct outbox_row *o,
					 const db_result *hooks, bool *wrote)
{
	enum db_status st = DB_OK;
	cJSON *body = NULL;
	for (int i = 0; hooks && i < hooks->nrows && st == DB_OK; i++) {
		cJSON *events = cJSON_Parse(db_get(hooks, i, "events"));
		bool match = event_subscribed(events, o->event) &&
			     type_filter_passes(db_get(hooks, i, "object_types"), o->payload);
		cJSON_Delete(events);
		if (!match)
			continue;
		/* One event's failure must not undo or block the others. */
		if ((st = fanout_savepoint(db, wrote)))
			break;
		if (!body)
			body = event_body(o);
		cJSON *job = cJSON_CreateObject();
		cJSON_AddStringToObject(job, "webhook_id", db_get(hooks, i, "id"));
		cJSON_AddStringToObject(job, "trigger", "event");
		cJSON_AddItemReferenceToObject(job, "event", body);
		char jid[40];
		st = jobs_enqueue(db, a, o->tenant_id, "webhook.deliver", job,
				  g_config.webhook_max_attempts, 0, jid);
		cJSON_Delete(job);
	}
	cJSON_Delete(body);
	return st;
}

/* Enqueues the jobs of the kinds that follow o (jobs.h: follows, fan_out). */
static enum db_status enqueue_followers(db_t *db, arena_t *a, const struct outbox_row *o,
					const char *db_name, unsigned long pass, bool *wrote)
{
	enum db_status st = DB_OK;
	job_event_t ev = { o->id, o->tenant_id, db_name, o->event, o->resource_type, o->resource_id,
			   o->created_at, o->payload, o->chain_depth, pass };
	for (const job_kind_t *k = handler_job_kinds; db_name && k && k->name && !st; k++) {
		if (k->fan_out) {
			st = k->fan_out(db, a, &ev, wrote);
			continue;
		}
		if (!k->follows || !k->follows(db, a, db_name, o->event, o->payload))
			continue;
		if ((st = fanout_savepoint(db, wrote)))
			break;
		cJSON *job = cJSON_CreateObject();
		cJSON_AddStringToObject(job, "event", o->event);
		cJSON_AddItemReferenceToObject(job, "data", o->payload);
		char jid[40];
		st = jobs_enqueue(db, a, o->tenant_id, k->name, job, 0, 0, jid);
		cJSON_Delete(job);
	}
	return st;
}

static void json_cleanup(void *p)
{
	cJSON_Delete(p);
}

static void outbox_row_read(arena_t *a, const db_result *res, int i, struct outbox_row *o)
{
	o->id = db_get(res, i, "id");
	o->tenant_id = db_get(res, i, "tenant_id");
	o->event = db_get(res, i, "event");
	o->resource_type = db_get(res, i, "resource_type");
	o->resource_id = db_get(res, i, "resource_id");
	o->attempts = atoi(db_get(res, i, "attempts"));
	o->chain_depth = atoi(db_get(res, i, "chain_depth"));
	char *t = arena_alloc(a, RFC3339_LEN + 8);
	o->created_at = time_from_sql(t, db_get(res, i, "created_at"));
	o->payload = cJSON_Parse(db_get(res, i, "payload") ? db_get(res, i, "payload") : "{}");
	if (!o->payload)
		o->payload = cJSON_CreateObject();
	arena_defer(a, json_cleanup, o->payload);
}

/* Deletes processed rows older than OUTBOX_KEEP_DAYS, at most hourly. */
static void outbox_prune(db_t *db, arena_t *a)
{
	/* per server (the runner passes over each) */
	static struct { const db_t *db; long long next_ms; } due[16];
	long long now = time_now_ms();
	size_t i = 0;
	while (i < 15 && due[i].db && due[i].db != db)
		i++;
	due[i].db = db;
	if (now < due[i].next_ms)
		return;
	due[i].next_ms = now + PRUNE_EVERY_MS;
	db_result *res;
	if (db_exec(db, a, "DELETE FROM outbox WHERE processed_at IS NOT NULL AND processed_at < "
		    "UTC_TIMESTAMP(3) - INTERVAL 7 DAY ORDER BY processed_at LIMIT 1000", NULL, 0,
		    &res) == DB_OK && res->affected)
		log_info("fanout: pruned %llu processed outbox events", res->affected);
}

static bool realtime_down;

#define BATCH_TEXT(n) #n
#define BATCH_SQL_OF(n) BATCH_TEXT(n)
#define BATCH_SQL BATCH_SQL_OF(FANOUT_BATCH)

/* Publishes o to realtime and enqueues its webhook deliveries (the caller
 * marks it processed).  1: done; 0: realtime unreachable, o stays pending;
 * -1: the database failed (*st; *wrote: after a savepoint). */
static int fanout_one(db_t *db, arena_t *a, const struct outbox_row *o, struct tenant_memo *tm,
		      unsigned long pass, enum db_status *st, bool *wrote)
{
	/* Realtime first: a crash after it publishes again, never loses. */
	cJSON *rt = realtime_event(o);
	char err[256] = "";
	int prc = channels_publish_event(a, o->tenant_id, rt, err, sizeof(err));
	cJSON_Delete(rt);
	if (prc != 0) {
		if (!realtime_down)
			log_warn("fanout: realtime unavailable (%s); events wait", err);
		realtime_down = true;
		return 0;
	}
	if (realtime_down)
		log_info("fanout: realtime is back");
	realtime_down = false;
	db_result *hooks;
	if ((*st = tenant_hooks(db, a, o, tm, &hooks)) ||
	    (*st = enqueue_deliveries(db, a, o, hooks, wrote)) ||
	    (*st = enqueue_followers(db, a, o, tm->db_name, pass, wrote)))
		return -1;
	return 1;
}

/* Sets aside an event whose fan-out the database refused (st was
 * DB_ERROR: not an outage, not a deadlock): its work is undone back to the
 * savepoint, the attempt recorded, and after FANOUT_MAX_ATTEMPTS the event
 * is marked processed and copied to the DLQ (kind outbox.fanout) with the
 * error.  Until then it stays pending, and the events behind it go on.
 * 1: handled; -1: the database failed (*st). */
static int fanout_set_aside(db_t *db, arena_t *a, const struct outbox_row *o, bool wrote,
			    enum db_status *st)
{
	const char *err = arena_strdup(a, db_last_error(db));
	if (wrote && (*st = db_exec_text(db, "ROLLBACK TO SAVEPOINT fanout_event")))
		return -1;
	/* The claim locked the row, so its count is current. */
	int attempts = o->attempts + 1;
	bool aside = attempts >= FANOUT_MAX_ATTEMPTS;
	log_warn("fanout: %s (%s of %s), attempt %d of %d: %s", o->id, o->event, o->tenant_id,
		 attempts, FANOUT_MAX_ATTEMPTS, err);
	db_param p[] = { db_int(attempts), db_str(err), db_int(aside), db_str(o->id) };
	*st = db_exec(db, a, "UPDATE outbox SET attempts = ?, last_error = ?, processed_at = "
		      "IF(?, UTC_TIMESTAMP(3), NULL) WHERE id = ?", p, 4, NULL);
	if (*st)
		return -1;
	if (!aside)
		return 1;
	char dlq_id[40];
	id_new(dlq_id, sizeof(dlq_id), "dlq_");
	/* The DLQ keeps a reference, not the payload: the payload may be what
	 * the database refused. */
	db_param q[] = { db_str(dlq_id), db_str(o->id), db_str(o->tenant_id), db_str(o->id),
			 db_str(o->event), db_str(o->resource_type), db_str(o->resource_id),
			 db_int(attempts), db_str(err) };
	*st = db_exec(db, a,
		"INSERT INTO dead_letters (id, job_id, tenant_id, kind, payload, attempts, last_error, "
		"created_at) VALUES (?, ?, ?, '" FANOUT_DLQ_KIND "', JSON_OBJECT('event_id', ?, "
		"'event', ?, 'resource_type', ?, 'resource_id', ?), ?, ?, UTC_TIMESTAMP(3))",
		q, 9, NULL);
	if (*st)
		return -1;
	log_warn("fanout: %s set aside in the DLQ as %s", o->id, dlq_id);
	return 1;
}

int fanout_requeue_job(db_t *db, cache_t *cache, arena_t *a, const char *tenant_id,
		       const cJSON *payload, char *err, size_t errlen)
{
	const char *event_id = json_str_of(payload, "event_id");
	if (!event_id) {
		snprintf(err, errlen, "payload names no event_id");
		return -1;
	}
	db_param p[] = { db_str(event_id), db_str(tenant_id) };
	if (db_exec(db, a, "UPDATE outbox SET processed_at = NULL, attempts = 0, last_error = NULL "
		    "WHERE id = ? AND tenant_id = ?", p, 2, NULL)) {
		snprintf(err, errlen, "%s", db_last_error(db));
		return -1;
	}
	fanout_wake(cache);
	return 0;
}

int fanout_pass(db_t *db, arena_t *a, bool *more, bool *enqueued)
{
	static unsigned long passes;
	unsigned long pass = ++passes;
	*more = *enqueued = false;
	outbox_prune(db, a);
	/* Read committed: the claim then locks only the rows it returns, so
	 * requests inserting new events never wait on this transaction. */
	if (db_exec_text(db, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED") || db_begin(db))
		return -1;
	db_result *res;
	/* On the primary, rows of tenants on other servers wait for
	 * fanout_forward. */
	bool others = db == db_control(db) && g_config.db_servers && *g_config.db_servers;
	enum db_status st = db_exec(db, a, others ?
		"SELECT id, tenant_id, event, resource_type, resource_id, payload, created_at, "
		"attempts, chain_depth FROM outbox WHERE processed_at IS NULL AND tenant_id NOT IN "
		"(SELECT id FROM tenants WHERE db_server IS NOT NULL) ORDER BY id LIMIT "
		BATCH_SQL " FOR UPDATE SKIP LOCKED" :
		"SELECT id, tenant_id, event, resource_type, resource_id, payload, created_at, "
		"attempts, chain_depth FROM outbox WHERE processed_at IS NULL ORDER BY id LIMIT "
		BATCH_SQL " FOR UPDATE SKIP LOCKED", NULL, 0, &res);
	if (st || res->nrows == 0)
		goto out_rollback;
	int done = 0, rc = 1;
	struct tenant_memo tm = { 0 };
	/* The events fanned out, marked processed together at the end. */
	db_param *ids = arena_alloc(a, sizeof(*ids) * (size_t)res->nrows);
	for (int i = 0; i < res->nrows && rc == 1; i++) {
		struct outbox_row o;
		outbox_row_read(a, res, i, &o);
		bool wrote = false;
		rc = fanout_one(db, a, &o, &tm, pass, &st, &wrote);
		*enqueued = *enqueued || wrote;
		if (rc < 0 && st == DB_ERROR) {
			tm.tenant_id = NULL;
			rc = fanout_set_aside(db, a, &o, wrote, &st);
		} else if (rc == 1) {
			ids[done++] = db_str(o.id);
		}
	}
	/* The marks travel with the COMMIT (one round trip). */
	if (rc >= 0 && done)
		rc = (st = db_exec_deferred(db, a, arena_printf(a,
			"UPDATE outbox SET processed_at = UTC_TIMESTAMP(3) WHERE id IN (%s)",
			db_placeholders(a, done)), ids, done)) ? -1 : rc;
	if (rc < 0)
		goto out_rollback;
	if ((st = db_commit(db))) {
		*enqueued = false;
		return -1;
	}
	*more = rc == 1 && res->nrows == FANOUT_BATCH;
	return rc == 1 ? done : 0;
out_rollback:
	*enqueued = false;
	db_rollback(db);
	if (st && st != DB_DEADLOCK) {
		/* An outage is the runner's to report (once); anything else is ours. */
		if (st != DB_UNAVAILABLE)
			log_warn("fanout: %s", db_last_error(db));
		return -1;
	}
	return 0;
}

/* --- wake-up ------------------------------------------------------------------ */

/* Pushes and trims in one step, so the list never holds more than one
 * wake-up however many requests commit while no runner listens. */
static const char wake_lua[] =
	"redis.call('lpush', KEYS[1], '1') redis.call('ltrim', KEYS[1], 0, 0) return 1";

void fanout_wake(cache_t *cache)
{
	const char *argv[] = { "EVAL", wake_lua, "1", FANOUT_WAKE_KEY };
	cache_send(cache, 4, argv);    /* nothing to wait for */
}

bool fanout_wait(cache_t *cache, arena_t *a, long ms)
{
	if (ms <= 0)
		return true;
	/* One blocking call must end before the connection's read timeout;
	 * the runner's loop simply comes back for the rest. */
	if (ms > WAIT_MAX_MS)
		ms = WAIT_MAX_MS;
	char timeout[32];
	snprintf(timeout, sizeof(timeout), "%ld.%03ld", ms / 1000, ms % 1000);
	const char *argv[] = { "BLPOP", FANOUT_WAKE_KEY, timeout };
	redisReply *rep;
	return cache_cmd(cache, a, &rep, 3, argv) == CACHE_OK;
}
