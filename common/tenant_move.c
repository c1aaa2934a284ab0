/*
 * tenant_move.c - moving a tenant to another MariaDB server (see
 * tenant_move.h).
 *
 * Tables are copied over the two connections: CREATE TABLE from SHOW
 * CREATE TABLE on the source, rows in primary-key order in batches of
 * COPY_BATCH.  Only the tables the source has are copied (some may be made
 * lazily).  A table is verified by its row count and the sum of a 32-bit
 * hash of each row's copied columns, computed by each server over its own
 * rows: identical sums on both sides, or the move stops before the switch.
 */
#include "tenant_move.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "crypto.h"
#include "migrate.h"
#include "strbuf.h"
#include "tenant_admin.h"
#include "timefmt.h"

#define COPY_BATCH 500
#define INSERT_BYTES (4u << 20)   /* well under max_allowed_packet */
/* After the read-only mark: longer than a request that passed the check
 * just before it takes to commit (workers see the mark on their next
 * request: the auth generation is read with every request). */
#define DRAIN_MS 2000
#define LEASE_MIN_S 15
/* The switch needs this much of the lease left (clocks of the workers). */
#define SWITCH_MARGIN_S 2
#define PAUSE_S 120

/* Control tables whose rows belong to one tenant and live on its server
 * (README "Scaling"); the others are global, on the primary only. */
static const char *const tenant_scoped[] = {
	"outbox", "jobs", "audit_logs", "dead_letters", "automations", "action_runs",
	"scheduled_jobs", "report_schedules", "integrations", "integration_runs",
	"usage_requests", "usage_rolls", "client_errors", NULL,
};

struct move {
	db_t *db, *src, *dst;      /* the primary, the tenant's server, the target */
	arena_t *a;
	const char *tenant, *dbname, *ctl;
	const char *ro, *rw, *ro_pw_enc, *rw_pw_enc;
	bool read_only;            /* the row had a read-only lease */
	const tenant_move_hooks_t *hooks;
	tenant_move_stats_t *stats;
	char *err;
	size_t errlen;
};

/* A table's copied columns (the generated ones are computed) and key. */
struct table {
	const char *schema, *name;
	const char *cols;          /* `a`, `b`, ... */
	int ncols;
	int *pk;                   /* indexes into the columns, in key order */
	int npk;
	const char *row_hash;      /* SQL: a row's 32-bit hash */
};

struct sum {
	unsigned long long count, hash;
};

static int fail(struct move *m, db_t *db, const char *fmt, const char *what)
{
	snprintf(m->err, m->errlen, fmt, what);
	if (db) {
		size_t n = strlen(m->err);
		snprintf(m->err + n, m->errlen - n, ": %s", db_last_error(db));
	}
	return -1;
}

static void pause_at(const char *phase)
{
	const char *at = getenv("TESSERA_MOVE_PAUSE_AT");
	if (!at || strcmp(at, phase) != 0)
		return;
	fprintf(stderr, "tenant move: pausing at %s\n", phase);
	struct timespec ts = { PAUSE_S, 0 };
	nanosleep(&ts, NULL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static const char *qualified(arena_t *a, const char *schema, const char *name)
{
	return arena_printf(a, "`%s`.`%s`", schema, name);
}

/* Whether schema exists on db (*yes). */
static int schema_exists(struct move *m, db_t *db, const char *schema, bool *yes)
{
	db_result *res;
	db_param p[] = { db_str(schema) };
	if (db_exec(db, m->a, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
		    p, 1, &res))
		return fail(m, db, "server %s", db_server(db));
	*yes = res->nrows > 0;
	return 0;
}

/* The base tables of schema on db, by name. */
static int tables_of(struct move *m, db_t *db, const char *schema, db_result **res)
{
	db_param p[] = { db_str(schema) };
	if (db_exec(db, m->a, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE "
		    "TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", p, 1, res))
		return fail(m, db, "list the tables of %s", schema);
	for (int i = 0; i < (*res)->nrows; i++)
		if (!ident_ok(db_cell(*res, i, 0)))
			return fail(m, NULL, "table name %s is not one Tessera makes", db_cell(*res, i, 0));
	return 0;
}

static bool in_result(const db_result *res, const char *name)
{
	for (int i = 0; i < res->nrows; i++)
		if (!strcmp(db_cell(res, i, 0), name))
			return true;
	return false;
}

/* Columns and primary key of schema.name on db (the source). */
static int table_describe(struct move *m, db_t *db, const char *schema, const char *name,
			  struct table *t)
{
	db_result *cols, *keys;
	db_param p[] = { db_str(schema), db_str(name) };
	if (db_exec(db, m->a, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE "
		    "TABLE_SCHEMA = ? AND TABLE_NAME = ? AND IS_GENERATED = 'NEVER' "
		    "ORDER BY ORDINAL_POSITION", p, 2, &cols) ||
	    db_exec(db, m->a, "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE "
		    "TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' "
		    "ORDER BY ORDINAL_POSITION", p, 2, &keys))
		return fail(m, db, "describe %s", name);
	*t = (struct table){ .schema = schema, .name = name, .ncols = cols->nrows };
	t->pk = arena_calloc(m->a, (size_t)(keys->nrows + 1), sizeof(int));
	strbuf_t c = { 0 }, h = { 0 };
	sb_puts(&h, "CAST(CONV(LEFT(MD5(CONCAT_WS(','");
	for (int i = 0; i < cols->nrows; i++) {
		const char *col = db_cell(cols, i, 0);
		if (!ident_ok(col)) {
			sb_take(&c, m->a);
			sb_take(&h, m->a);
			return fail(m, NULL, "column name %s is not one Tessera makes", col);
		}
		sb_printf(&c, "%s`%s`", i ? ", " : "", col);
		sb_printf(&h, ", IFNULL(MD5(CAST(`%s` AS BINARY)), '-')", col);
		for (int k = 0; k < keys->nrows; k++)
			if (!strcmp(db_cell(keys, k, 0), col))
				t->pk[k] = i;
	}
	sb_puts(&h, ")), 8), 16, 10) AS UNSIGNED)");
	t->npk = keys->nrows;
	t->cols = sb_take(&c, m->a);
	t->row_hash = sb_take(&h, m->a);
	return 0;
}

/* Row count and hash sum of t on db (schema there: schema), of the
 * tenant's rows only when tenant is not NULL. */
static int table_sum(struct move *m, db_t *db, const struct table *t, const char *schema,
		     const char *tenant, struct sum *s)
{
	db_result *res;
	db_param p[] = { db_str(tenant) };
	if (db_exec(db, m->a, arena_printf(m->a, "SELECT COUNT(*), COALESCE(SUM(%s), 0) FROM %s%s",
		    t->row_hash, qualified(m->a, schema, t->name),
		    tenant ? " WHERE tenant_id = ?" : ""), p, tenant ? 1 : 0, &res))
		return fail(m, db, "checksum %s", t->name);
	s->count = strtoull(db_cell(res, 0, 0), NULL, 10);
	s->hash = strtoull(db_cell(res, 0, 1), NULL, 10);
	return 0;
}

/* The keyset condition "after the last row": (k1, k2) > (?, ?). */
static const char *after_last(arena_t *a, const struct table *t, const db_result *res)
{
	strbuf_t b = { 0 };
	sb_puts(&b, "(");
	for (int k = 0; k < t->npk; k++)
		sb_printf(&b, "%s`%s`", k ? ", " : "", res->names[t->pk[k]]);
	sb_printf(&b, ") > (%s)", db_placeholders(a, t->npk));
	return sb_take(&b, a);
}

/* The statement of one batch of t's rows (from src, after the row last
 * when not NULL, the tenant's only when tenant is not NULL); its
 * parameters in p (*np of them). */
static char *batch_sql(arena_t *a, const struct table *t, const char *src, const char *tenant,
		       const db_result *last, bool lock, db_param *p, int *np)
{
	strbuf_t sql = { 0 };
	*np = 0;
	sb_printf(&sql, "SELECT %s FROM %s", t->cols, src);
	if (tenant) {
		p[(*np)++] = db_str(tenant);
		sb_puts(&sql, " WHERE tenant_id = ?");
	}
	if (last) {
		int row = last->nrows - 1;
		sb_printf(&sql, "%s%s", tenant ? " AND " : " WHERE ", after_last(a, t, last));
		for (int k = 0; k < t->npk; k++) {
			const char *v = db_cell(last, row, t->pk[k]);
			p[(*np)++] = v ? db_strn(v, last->lens[row * last->ncols + t->pk[k]]) : db_null();
		}
	}
	/* Without a primary key, all rows at once in a stable order. */
	sb_printf(&sql, " ORDER BY %s", t->npk ? "" : t->cols);
	for (int k = 0; k < t->npk; k++)
		sb_printf(&sql, "%s%d", k ? ", " : "", t->pk[k] + 1);
	if (t->npk)
		sb_printf(&sql, " LIMIT %d", COPY_BATCH);
	if (lock)
		sb_puts(&sql, " FOR UPDATE");
	return sb_take(&sql, a);
}

/* Inserts the rows of res into table on dst, as many a statement as stay
 * under INSERT_BYTES and MariaDB's 65,535 placeholders. */
static int rows_insert(struct move *m, arena_t *a, const char *table, const struct table *t,
		       const db_result *res)
{
	int max_rows = 65535 / (t->ncols ? t->ncols : 1);
	for (int from = 0; from < res->nrows;) {
		size_t bytes = 0;
		int n = 0;
		while (from + n < res->nrows && n < max_rows && (n == 0 || bytes < INSERT_BYTES)) {
			for (int c = 0; c < t->ncols; c++)
				bytes += res->lens[(from + n) * res->ncols + c];
			n++;
		}
		if (db_rows_insert(m->dst, a, table, res, from, n, t->ncols, false))
			return fail(m, m->dst, "copy %s", t->name);
		from += n;
	}
	return 0;
}

/*
 * Copies t's rows (the tenant's only when tenant is not NULL) from src to
 * schema dschema on dst, in primary-key order, COPY_BATCH at a time; lock:
 * the source rows are read FOR UPDATE (inside the caller's transaction).
 * A table without a primary key is copied in one batch.  Adds the rows
 * copied to *rows.
 */
static int table_copy(struct move *m, const struct table *t, const char *dschema,
		      const char *tenant, bool lock, long long *rows)
{
	const char *src = qualified(m->a, t->schema, t->name);
	const char *dst = qualified(m->a, dschema, t->name);
	arena_t *batch = arena_new(65536), *prev = arena_new(4096);
	db_param *p = arena_alloc(m->a, sizeof(*p) * (size_t)(t->npk + 1));
	db_result *last = NULL, *res;
	int np, rc = 0;
	for (;;) {
		char *sql = batch_sql(batch, t, src, tenant, last, lock, p, &np);
		if (db_exec(m->src, batch, sql, p, np, &res)) {
			rc = fail(m, m->src, "read %s", t->name);
			break;
		}
		if ((rc = rows_insert(m, batch, dst, t, res)))
			break;
		*rows += res->nrows;
		if (!t->npk || res->nrows < COPY_BATCH)
			break;
		/* The batch just read holds the key to go on from. */
		arena_t *tmp = prev;
		prev = batch;
		batch = tmp;
		arena_reset(batch);
		last = res;
	}
	arena_free(batch);
	arena_free(prev);
	return rc;
}

/* SHOW CREATE TABLE of name on db, without its AUTO_INCREMENT=N (a
 * counter, not the structure). */
static int create_text(struct move *m, db_t *db, const char *schema, const char *name,
		       const char **text)
{
	db_result *res;
	if (db_exec(db, m->a, arena_printf(m->a, "SHOW CREATE TABLE %s", qualified(m->a, schema, name)),
		    NULL, 0, &res) || res->nrows == 0)
		return fail(m, db, "read the structure of %s", name);
	char *s = arena_strdup(m->a, db_cell(res, 0, 1));
	char *ai = strstr(s, " AUTO_INCREMENT=");
	if (ai) {
		char *end = ai + strlen(" AUTO_INCREMENT=");
		end += strspn(end, "0123456789");
		memmove(ai, end, strlen(end) + 1);
	}
	*text = s;
	return 0;
}

/* (Re)makes table name on the target with the source's structure.  The
 * statement runs in the tenant DB there (USE), so that its unqualified
 * foreign-key references name tables of that DB. */
static int table_create(struct move *m, const char *name)
{
	const char *text;
	if (create_text(m, m->src, m->dbname, name, &text))
		return -1;
	if (db_exec_text(m->dst, arena_printf(m->a, "DROP TABLE IF EXISTS %s",
					      qualified(m->a, m->dbname, name))) ||
	    db_exec_text(m->dst, arena_printf(m->a, "USE `%s`", m->dbname)))
		return fail(m, m->dst, "make %s", name);
	int rc = db_exec_text(m->dst, text) ? fail(m, m->dst, "make %s", name) : 0;
	if (db_exec_text(m->dst, arena_printf(m->a, "USE `%s`", m->ctl)) && !rc)
		rc = fail(m, m->dst, "back to %s", m->ctl);
	return rc;
}

/* Makes and fills table name on the target (data DB). */
static int table_fresh(struct move *m, const char *name, struct table *t)
{
	long long rows = 0;
	if (table_create(m, name) || table_describe(m, m->src, m->dbname, name, t) ||
	    table_copy(m, t, m->dbname, NULL, false, &rows))
		return -1;
	return 0;
}

/* Phase 1: the data DB and the tenant's accounts on the target, and a copy
 * of every table of the source. */
static int copy_all(struct move *m)
{
	db_result *tables, *cs;
	db_param p[] = { db_str(m->dbname) };
	if (db_exec(m->src, m->a, "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM "
		    "information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", p, 1, &cs))
		return fail(m, m->src, "read %s", m->dbname);
	if (cs->nrows == 0)
		return fail(m, NULL, "the tenant's database %s is missing on its server", m->dbname);
	if (!ident_ok(db_cell(cs, 0, 0)) || !ident_ok(db_cell(cs, 0, 1)))
		return fail(m, NULL, "unexpected character set of %s", m->dbname);
	size_t len;
	char *ro_pw = secret_open(m->a, g_config.master_key_bin, m->ro_pw_enc, &len);
	char *rw_pw = secret_open(m->a, g_config.master_key_bin, m->rw_pw_enc, &len);
	if (!ro_pw || !rw_pw || strspn(ro_pw, "0123456789abcdef") != strlen(ro_pw) ||
	    strspn(rw_pw, "0123456789abcdef") != strlen(rw_pw))
		return fail(m, NULL, "cannot open the passwords of %s's accounts (wrong master_key?)",
			    m->tenant);
	/* The tables the tenant has not made yet come from the new server's
	 * template when first used (lazytables.h): bring it up to date. */
	if (migrate_template(m->dst, m->a, g_config.db_name, m->err, m->errlen) < 0)
		return -1;
	tenant_db_drop(m->dst, m->a, m->dbname, m->ro, m->rw);
	if (db_exec_text(m->dst, arena_printf(m->a, "CREATE DATABASE `%s` CHARACTER SET %s COLLATE %s",
					      m->dbname, db_cell(cs, 0, 0), db_cell(cs, 0, 1))))
		return fail(m, m->dst, "create %s", m->dbname);
	if (tenant_accounts_create(m->dst, m->a, m->dbname, m->ro, ro_pw, m->rw, rw_pw, m->err,
				   m->errlen))
		return -1;
	if (tables_of(m, m->src, m->dbname, &tables))
		return -1;
	for (int i = 0; i < tables->nrows; i++) {
		struct table t;
		if (table_fresh(m, db_cell(tables, i, 0), &t))
			return -1;
		if (i == 0)
			pause_at("copy");
	}
	return 0;
}

/*
 * Phase 2, the tenant read-only: drops the target's tables the source no
 * longer has, makes again those whose structure changed, copies again
 * those whose count or checksum differs, and verifies every table: the
 * same count and checksum on both sides.
 */
static int catch_up(struct move *m)
{
	db_result *st, *dt;
	if (tables_of(m, m->src, m->dbname, &st) || tables_of(m, m->dst, m->dbname, &dt))
		return -1;
	for (int i = 0; i < dt->nrows; i++)
		if (!in_result(st, db_cell(dt, i, 0)) &&
		    db_exec_text(m->dst, arena_printf(m->a, "DROP TABLE %s",
						      qualified(m->a, m->dbname, db_cell(dt, i, 0)))))
			return fail(m, m->dst, "drop %s", db_cell(dt, i, 0));
	for (int i = 0; i < st->nrows; i++) {
		const char *name = db_cell(st, i, 0), *s_text, *d_text;
		struct table t;
		struct sum s, d;
		bool same = in_result(dt, name);
		if (same && (create_text(m, m->src, m->dbname, name, &s_text) ||
			     create_text(m, m->dst, m->dbname, name, &d_text)))
			return -1;
		same = same && !strcmp(s_text, d_text);
		if (same ? table_describe(m, m->src, m->dbname, name, &t) : table_fresh(m, name, &t))
			return -1;
		m->stats->recopied += !same;
		if (table_sum(m, m->src, &t, m->dbname, NULL, &s) ||
		    table_sum(m, m->dst, &t, m->dbname, NULL, &d))
			return -1;
		if (same && (s.count != d.count || s.hash != d.hash)) {
			long long rows = 0;
			if (db_exec_text(m->dst, arena_printf(m->a, "DELETE FROM %s",
							      qualified(m->a, m->dbname, name))))
				return fail(m, m->dst, "empty %s", name);
			if (table_copy(m, &t, m->dbname, NULL, false, &rows) ||
			    table_sum(m, m->dst, &t, m->dbname, NULL, &d))
				return -1;
			m->stats->recopied++;
		}
		if (s.count != d.count || s.hash != d.hash)
			return fail(m, NULL, "%s differs on the target after the copy", name);
		m->stats->tables++;
		m->stats->rows += (long long)s.count;
	}
	return 0;
}

/* db_server := the target and the read-only lease ended, in one UPDATE,
 * only if the tenant is still where it was and the lease has not run out
 * (past it, workers take writes on the old server again). */
static int switch_server(struct move *m, const char *from)
{
	const char *to = m->dst == m->db ? NULL : db_server(m->dst);
	db_param p[] = { db_str(to), db_str(m->tenant), db_str(from), db_int(SWITCH_MARGIN_S) };
	db_result *res;
	if (db_exec(m->db, m->a, "UPDATE tenants SET db_server = ?, read_only_until = NULL, "
		    "updated_at = UTC_TIMESTAMP(3) WHERE id = ? AND db_server <=> ? AND "
		    "read_only_until > UTC_TIMESTAMP(3) + INTERVAL ? SECOND", p, 4, &res))
		return fail(m, m->db, "switch %s", m->tenant);
	if (res->affected != 1)
		return fail(m, NULL, "the read-only lease of %s ran out before the switch; "
			    "run the move again", m->tenant);
	return 0;
}

/* The tenant-scoped control tables both servers have. */
static int control_tables(struct move *m, db_result **res)
{
	db_result *st, *dt;
	if (tables_of(m, m->src, m->ctl, &st) || tables_of(m, m->dst, m->ctl, &dt))
		return -1;
	*res = arena_calloc(m->a, 1, sizeof(**res));
	(*res)->ncols = 1;
	(*res)->cells = arena_calloc(m->a, sizeof(tenant_scoped) / sizeof(tenant_scoped[0]),
				     sizeof(char *));
	for (const char *const *t = tenant_scoped; *t; t++)
		if (in_result(st, *t) && in_result(dt, *t))
			(*res)->cells[(*res)->nrows++] = (char *)*t;
	return 0;
}

/* Copies the tenant's rows of table name (locked on the source) and
 * verifies them: the target's count and checksum of the tenant's rows
 * grow by exactly the source's. */
static int control_copy(struct move *m, const char *name)
{
	struct table t;
	struct sum s, d0, d;
	if (table_describe(m, m->src, m->ctl, name, &t))
		return -1;
	/* A copy a dead run committed on a secondary (on the primary, rows
	 * waiting for fanout_forward are the tenant's own) */
	if (m->dst != m->db &&
	    db_exec(m->dst, m->a, arena_printf(m->a, "DELETE FROM %s WHERE tenant_id = ?",
		    qualified(m->a, m->ctl, name)), (db_param[]){ db_str(m->tenant) }, 1, NULL))
		return fail(m, m->dst, "clear %s", name);
	if (table_sum(m, m->dst, &t, m->ctl, m->tenant, &d0) ||
	    table_copy(m, &t, m->ctl, m->tenant, true, &m->stats->control_rows) ||
	    table_sum(m, m->src, &t, m->ctl, m->tenant, &s) ||
	    table_sum(m, m->dst, &t, m->ctl, m->tenant, &d))
		return -1;
	if (d.count != d0.count + s.count || d.hash != d0.hash + s.hash)
		return fail(m, NULL, "the tenant's %s rows differ on the target after the copy", name);
	return 0;
}

/*
 * Moves the tenant-scoped control rows and switches: the source's rows are
 * read FOR UPDATE (runners skip them) in a transaction that deletes them
 * after the switch; the target's are written in one that commits before
 * it.  The switch joins the primary's transaction when the primary is one
 * of the two, so a death anywhere leaves either the tenant on the source
 * with its rows there (a copy on the target, dropped by the next run) or
 * the tenant on the target with its rows there.
 */
static int control_move(struct move *m, const char *from)
{
	db_result *tables;
	if (control_tables(m, &tables))
		return -1;
	if (db_exec_text(m->src, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED") ||
	    db_begin(m->src))
		return fail(m, m->src, "begin on %s", db_server(m->src));
	if (db_begin(m->dst)) {
		db_rollback(m->src);
		return fail(m, m->dst, "begin on %s", db_server(m->dst));
	}
	int rc = 0;
	for (int i = 0; i < tables->nrows && !rc; i++)
		rc = control_copy(m, db_cell(tables, i, 0));
	if (!rc && m->dst == m->db)
		rc = switch_server(m, from);
	if (!rc && db_commit(m->dst))
		rc = fail(m, m->dst, "commit on %s", db_server(m->dst));
	if (rc)
		db_rollback(m->dst);
	if (!rc && m->dst != m->db)
		rc = switch_server(m, from);
	for (int i = 0; i < tables->nrows && !rc; i++)
		if (db_exec(m->src, m->a, arena_printf(m->a, "DELETE FROM %s WHERE tenant_id = ?",
			    qualified(m->a, m->ctl, db_cell(tables, i, 0))),
			    (db_param[]){ db_str(m->tenant) }, 1, NULL))
			rc = fail(m, m->src, "delete the moved rows of %s", db_cell(tables, i, 0));
	if (!rc && db_commit(m->src))
		rc = fail(m, m->src, "commit on %s", db_server(m->src));
	if (rc)
		db_rollback(m->src);
	return rc;
}

/* Drops what a dead run left on a server the tenant is not on: its data
 * DB there (the sign of a copy), its accounts and, on a secondary, its
 * control rows (a run that died between committing them on the target and
 * the switch). */
static int leftovers_drop(struct move *m)
{
	char *names[16];
	int n = db_server_names(&g_config, names, 16), rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		db_t *h = db_for_server(m->db, names[i]);
		bool there = false;
		if (!h || h == m->src || (rc = schema_exists(m, h, m->dbname, &there)) || !there)
			continue;
		db_result *tables = NULL;
		if (h != m->db && (rc = tables_of(m, h, m->ctl, &tables)))
			continue;
		for (const char *const *t = tenant_scoped; tables && *t && !rc; t++)
			if (in_result(tables, *t) &&
			    db_exec(h, m->a, arena_printf(m->a, "DELETE FROM %s WHERE tenant_id = ?",
				    qualified(m->a, m->ctl, *t)), (db_param[]){ db_str(m->tenant) }, 1, NULL))
				rc = fail(m, h, "clear %s", *t);
		if (!rc) {
			tenant_db_drop(h, m->a, m->dbname, m->ro, m->rw);
			m->stats->leftovers++;
		}
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	return rc;
}

/* Sets (lease_s > 0) or ends the read-only lease and makes the workers see
 * it. */
static int read_only_lease(struct move *m, int lease_s)
{
	db_param p[] = { db_int(lease_s), db_str(m->tenant) };
	enum db_status st = lease_s ?
		db_exec(m->db, m->a, "UPDATE tenants SET read_only_until = UTC_TIMESTAMP(3) + "
			"INTERVAL ? SECOND WHERE id = ?", p, 2, NULL) :
		db_exec(m->db, m->a, "UPDATE tenants SET read_only_until = NULL WHERE id = ?",
			p + 1, 1, NULL);
	if (st)
		return fail(m, m->db, "mark %s", m->tenant);
	if (m->hooks && m->hooks->invalidate && m->hooks->invalidate(m->hooks->ctx))
		return fail(m, NULL, "workers cannot be told about %s's read-only lease (Redis)",
			    m->tenant);
	return 0;
}

/* After a failure before the switch: the tenant, still on the source, is
 * writable again at once.  Returns -1, m->err kept. */
static int lease_end(struct move *m)
{
	char keep[512];
	snprintf(keep, sizeof(keep), "%s", m->err);
	read_only_lease(m, 0);
	snprintf(m->err, m->errlen, "%s", keep);
	return -1;
}

/* Phase 2 and the end: read-only, catch-up, control rows and switch, then
 * the old copy dropped. */
static int move_over(struct move *m, const char *from)
{
	/* Long enough for a catch-up that copies everything again. */
	long long lease_s = 2 * m->stats->copy_ms / 1000 + DRAIN_MS / 1000 + 5;
	if (lease_s < LEASE_MIN_S)
		lease_s = LEASE_MIN_S;
	if (read_only_lease(m, (int)lease_s))
		return lease_end(m);
	long long t0 = time_now_ms();
	sleep_ms(DRAIN_MS);
	pause_at("catchup");
	if (catch_up(m) || control_move(m, from))
		return lease_end(m);
	m->stats->read_only_ms = time_now_ms() - t0;
	/* Workers reload the tenant (its new server); a failed bump leaves
	 * them on the old copy until their cache entry expires. */
	if (m->hooks && m->hooks->invalidate)
		m->hooks->invalidate(m->hooks->ctx);
	pause_at("drop");
	/* Reads that began on the old copy finish before it goes. */
	sleep_ms(DRAIN_MS);
	tenant_db_drop(m->src, m->a, m->dbname, m->ro, m->rw);
	m->stats->moved = true;
	return 0;
}

/* Reads the tenant's row into m; *from: its db_server as stored. */
static int tenant_read(struct move *m, const char **from)
{
	db_result *res;
	db_param p[] = { db_str(m->tenant) };
	if (db_exec(m->db, m->a, "SELECT db_name, db_server, sql_ro_user, sql_ro_password_enc, "
		    "sql_rw_user, sql_rw_password_enc, read_only_until IS NOT NULL AS ro "
		    "FROM tenants WHERE id = ?", p, 1, &res))
		return fail(m, m->db, "look up %s", m->tenant);
	if (res->nrows == 0)
		return fail(m, NULL, "no tenant %s", m->tenant);
	m->dbname = db_get(res, 0, "db_name");
	*from = db_get(res, 0, "db_server");
	m->ro = db_get(res, 0, "sql_ro_user");
	m->rw = db_get(res, 0, "sql_rw_user");
	m->ro_pw_enc = db_get(res, 0, "sql_ro_password_enc");
	m->rw_pw_enc = db_get(res, 0, "sql_rw_password_enc");
	m->read_only = db_get_int(res, 0, "ro", 0) != 0;
	if (!m->dbname || !ident_ok(m->dbname) || !m->ro || !ident_ok(m->ro) || !m->rw ||
	    !ident_ok(m->rw) || !m->ro_pw_enc || !m->rw_pw_enc)
		return fail(m, NULL, "tenant %s has no database accounts to move", m->tenant);
	return 0;
}

int tenant_move(db_t *db, arena_t *a, const char *tenant_id, const char *to,
		const tenant_move_hooks_t *hooks, tenant_move_stats_t *stats, char *err,
		size_t errlen)
{
	struct move m = { .db = db, .a = a, .tenant = tenant_id, .ctl = g_config.db_name,
			  .hooks = hooks, .stats = stats, .err = err, .errlen = errlen };
	const char *from = NULL;
	memset(stats, 0, sizeof(*stats));
	*err = '\0';
	if (tenant_read(&m, &from))
		return -1;
	if (!(m.dst = db_for_server(db, to)))
		return fail(&m, NULL, "unknown server \"%s\" (not the primary and not in db_servers)", to);
	if (!(m.src = db_for_server(db, from)))
		return fail(&m, NULL, "the tenant's server \"%s\" is not in db_servers", from);
	/* One move of a tenant at a time (the lock goes with the connection). */
	db_result *res;
	char *lock = arena_printf(a, "tessera.move.%s", tenant_id);
	if (db_exec(db, a, "SELECT GET_LOCK(?, 0)", (db_param[]){ db_str(lock) }, 1, &res))
		return fail(&m, db, "lock %s", tenant_id);
	if (!db_cell(res, 0, 0) || strcmp(db_cell(res, 0, 0), "1") != 0)
		return fail(&m, NULL, "another move of %s is running", tenant_id);
	int rc = 0;
	/* A dead run's lease ends now; its copies go. */
	if (m.read_only)
		rc = read_only_lease(&m, 0);
	if (!rc)
		rc = leftovers_drop(&m);
	if (!rc && m.src != m.dst) {
		long long t0 = time_now_ms();
		rc = migrate_control(m.dst, a, m.ctl, err, errlen) < 0 ||
		     db_exec_text(m.dst, "SET SESSION foreign_key_checks = 0") ? -1 : 0;
		if (rc && !*err)
			fail(&m, m.dst, "prepare %s", db_server(m.dst));
		if (!rc)
			rc = copy_all(&m);
		m.stats->copy_ms = time_now_ms() - t0;
		if (!rc)
			rc = move_over(&m, from);
		db_exec_text(m.dst, "SET SESSION foreign_key_checks = 1");
	}
	db_exec(db, a, "SELECT RELEASE_LOCK(?)", (db_param[]){ db_str(lock) }, 1, NULL);
	return rc;
}
