/*
 * db.c - MariaDB Connector/C wrapper (see db.h).
 */
#include "db.h"
#include "strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "lazytables.h"
#include "log.h"

#define STMT_CACHE_SIZE 128
#define CELL_BUF 256
#define DEFER_MAX 8     /* deferred writes held at most; one more sends them */
#define LAZY_TRIES 8    /* tables created on first use for one statement, at most */

struct stmt_slot {
	char *sql;
	MYSQL_STMT *stmt;
};

#define DB_SERVERS_MAX 16
#define DB_IDLE_CLOSE_S 60

/* A write queued by db_exec_deferred (its text and parameters copied into
 * the caller's arena, which outlives the transaction). */
struct deferred {
	const char *sql;
	const db_param *p;
	int np;
};

struct db {
	const config_t *cfg;
	MYSQL *conn;
	/* Where this handle connects: the config's primary (control) server,
	 * or one named in db_servers. */
	char *server, *sock, *host, *user, *password;
	int port;
	time_t used_at;
	db_t *control;             /* the primary handle, for a peer; NULL on it */
	db_t *peers[DB_SERVERS_MAX];
	int npeers;
	bool in_tx;
	bool begin_pending;        /* db_begin ran; START TRANSACTION not sent yet */
	struct deferred defer[DEFER_MAX];
	int ndefer;
	arena_t *defer_arena;
	bool maybe_applied;        /* the last failure may have run the statement */
	bool flush_failed;         /* ... and it was in the deferred writes sent before it */
	bool no_lazy;              /* never create missing tables (db_clone's handles) */
	unsigned last_errno;
	char last_error[512];
	unsigned long queries;
	struct stmt_slot cache[STMT_CACHE_SIZE];
};

static void cache_clear(db_t *db);
static void disconnect(db_t *db);

db_t *db_new(const config_t *cfg)
{
	db_t *db = calloc(1, sizeof(*db));
	if (!db)
		abort();
	db->cfg = cfg;
	db->server = strdup(cfg->db_server_name && *cfg->db_server_name ? cfg->db_server_name : "main");
	db->sock = strdup(cfg->db_socket ? cfg->db_socket : "");
	db->host = strdup(cfg->db_host ? cfg->db_host : "localhost");
	db->user = strdup(cfg->db_user ? cfg->db_user : "");
	db->password = strdup(cfg->db_password ? cfg->db_password : "");
	db->port = cfg->db_port;
	if (!db->server || !db->sock || !db->host || !db->user || !db->password)
		abort();
	return db;
}

db_t *db_clone(const db_t *db)
{
	db_t *c = db_new(db->cfg);
	char **dst[] = { &c->server, &c->sock, &c->host, &c->user, &c->password };
	const char *src[] = { db->server, db->sock, db->host, db->user, db->password };
	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		free(*dst[i]);
		if (!(*dst[i] = strdup(src[i])))
			abort();
	}
	c->port = db->port;
	c->no_lazy = true;
	return c;
}

/* One entry of db_servers: NAME=unix:/path or NAME=tcp:HOST:PORT, then
 * optional ,user=U and ,password=P (else db_user and db_password). */
static int server_parse(const char *entry, size_t len, db_t *d, char *err, size_t errlen)
{
	char *e = strndup(entry, len);
	if (!e)
		abort();
	char *eq = strchr(e, '=');
	int rc = -1;
	if (!eq || eq == e || eq - e > 64) {
		snprintf(err, errlen, "db_servers: \"%s\" must be NAME=unix:PATH or NAME=tcp:HOST:PORT", e);
		goto out;
	}
	*eq = '\0';
	for (const char *p = e; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')) {
			snprintf(err, errlen, "db_servers: server name \"%s\" may use only a-z, 0-9, _ and -", e);
			goto out;
		}
	char *save = NULL, *addr = strtok_r(eq + 1, ",", &save);
	if (addr && !strncmp(addr, "unix:", 5) && addr[5]) {
		free(d->sock);
		d->sock = strdup(addr + 5);
	} else if (addr && !strncmp(addr, "tcp:", 4) && strrchr(addr + 4, ':')) {
		char *colon = strrchr(addr + 4, ':');
		*colon = '\0';
		long port = strtol(colon + 1, NULL, 10);
		if (port < 1 || port > 65535 || !addr[4]) {
			snprintf(err, errlen, "db_servers: %s: bad tcp:HOST:PORT", e);
			goto out;
		}
		free(d->sock);
		d->sock = strdup("");
		free(d->host);
		d->host = strdup(addr + 4);
		d->port = (int)port;
	} else {
		snprintf(err, errlen, "db_servers: %s: the address must be unix:PATH or tcp:HOST:PORT", e);
		goto out;
	}
	for (char *kv = strtok_r(NULL, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "user=", 5)) {
			free(d->user);
			d->user = strdup(kv + 5);
		} else if (!strncmp(kv, "password=", 9)) {
			free(d->password);
			d->password = strdup(kv + 9);
		} else {
			snprintf(err, errlen, "db_servers: %s: unknown option \"%s\" (user=, password=)", e, kv);
			goto out;
		}
	}
	free(d->server);
	d->server = strdup(e);
	rc = 0;
out:
	free(e);
	return rc;
}

/* Calls fn for each entry of cfg->db_servers (separated by spaces). */
static int servers_each(const config_t *cfg, int (*fn)(db_t *d, void *user), void *user, char *err, size_t errlen)
{
	const char *s = cfg->db_servers ? cfg->db_servers : "";
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		size_t n = strcspn(s, " \t");
		if (!n)
			break;
		db_t *d = db_new(cfg);
		if (server_parse(s, n, d, err, errlen)) {
			db_free(d);
			return -1;
		}
		int rc = fn(d, user);
		if (rc)
			return rc < 0 ? -1 : 0;
		s += n;
	}
	return 0;
}

struct find_ctx { const char *name; db_t *found; int count; const char **names; int max; };

static int find_one(db_t *d, void *user)
{
	struct find_ctx *f = user;
	if (f->names && f->count < f->max)
		f->names[f->count] = NULL;
	f->count++;
	if (f->name && !strcmp(d->server, f->name)) {
		f->found = d;
		return 1;
	}
	db_free(d);
	return 0;
}

int db_servers_check(const config_t *cfg, char *err, size_t errlen)
{
	struct find_ctx f = { 0 };
	if (servers_each(cfg, find_one, &f, err, errlen))
		return -1;
	if (f.count >= DB_SERVERS_MAX) {
		snprintf(err, errlen, "db_servers: at most %d servers", DB_SERVERS_MAX - 1);
		return -1;
	}
	return 0;
}

static int name_one(db_t *d, void *user)
{
	struct find_ctx *f = user;
	if (f->count < f->max)
		f->names[f->count++] = strdup(d->server);
	db_free(d);
	return 0;
}

int db_server_names(const config_t *cfg, char **names, int max)
{
	char err[256];
	const char *primary = cfg->db_server_name && *cfg->db_server_name ? cfg->db_server_name : "main";
	names[0] = strdup(primary);
	struct find_ctx f = { .names = (const char **)names + 1, .max = max - 1 };
	if (servers_each(cfg, name_one, &f, err, sizeof(err)))
		return 1;
	return 1 + f.count;
}

const char *db_server(const db_t *db)
{
	return db->server;
}

void db_address(const db_t *db, const char **sock, const char **host, int *port)
{
	*sock = *db->sock ? db->sock : NULL;
	*host = db->host;
	*port = db->port;
}

db_t *db_control(db_t *db)
{
	return db->control ? db->control : db;
}

/* Closes the connections of peers not used for DB_IDLE_CLOSE_S. */
static void peers_close_idle(db_t *ctl, time_t now)
{
	for (int i = 0; i < ctl->npeers; i++) {
		db_t *p = ctl->peers[i];
		if (p->conn && !p->in_tx && now - p->used_at > DB_IDLE_CLOSE_S)
			disconnect(p);
	}
}

db_t *db_for_server(db_t *db, const char *server)
{
	db_t *ctl = db_control(db);
	time_t now = time(NULL);
	peers_close_idle(ctl, now);
	if (!server || !*server || !strcmp(server, ctl->server))
		return ctl;
	for (int i = 0; i < ctl->npeers; i++)
		if (!strcmp(ctl->peers[i]->server, server)) {
			ctl->peers[i]->used_at = now;
			return ctl->peers[i];
		}
	if (ctl->npeers >= DB_SERVERS_MAX)
		return NULL;
	char err[256];
	struct find_ctx f = { .name = server };
	if (servers_each(ctl->cfg, find_one, &f, err, sizeof(err)) || !f.found)
		return NULL;
	f.found->control = ctl;
	f.found->used_at = now;
	ctl->peers[ctl->npeers++] = f.found;
	return f.found;
}

static void cache_clear(db_t *db)
{
	for (int i = 0; i < STMT_CACHE_SIZE; i++) {
		if (db->cache[i].stmt)
			mysql_stmt_close(db->cache[i].stmt);
		free(db->cache[i].sql);
		db->cache[i].stmt = NULL;
		db->cache[i].sql = NULL;
	}
}

static void disconnect(db_t *db)
{
	cache_clear(db);
	if (db->conn)
		mysql_close(db->conn);
	db->conn = NULL;
	db->in_tx = db->begin_pending = false;
	db->ndefer = 0;
}

void db_free(db_t *db)
{
	if (!db)
		return;
	for (int i = 0; i < db->npeers; i++)
		db_free(db->peers[i]);
	disconnect(db);
	free(db->server);
	free(db->sock);
	free(db->host);
	free(db->user);
	free(db->password);
	free(db);
}

static void set_error(db_t *db, unsigned no, const char *msg)
{
	db->last_errno = no;
	snprintf(db->last_error, sizeof(db->last_error), "%s", msg ? msg : "");
}

/* Records a statement's error and returns its number.  A connection lost
 * while rows stream in (mysql_stmt_fetch) is reported on the connection
 * only, with the statement's errno left at 0: fall back to it, or a lost
 * server would look like a bug (500) instead of an outage (503). */
static unsigned stmt_error(db_t *db, MYSQL_STMT *stmt)
{
	unsigned no = mysql_stmt_errno(stmt);
	if (no) {
		set_error(db, no, mysql_stmt_error(stmt));
	} else if (db->conn && mysql_errno(db->conn)) {
		no = mysql_errno(db->conn);
		set_error(db, no, mysql_error(db->conn));
	} else {
		no = CR_UNKNOWN_ERROR;
		set_error(db, no, "unknown statement error");
	}
	return no;
}

static bool is_conn_error(unsigned no)
{
	return no == CR_SERVER_GONE_ERROR || no == CR_SERVER_LOST ||
	       no == CR_CONNECTION_ERROR || no == CR_CONN_HOST_ERROR ||
	       no == CR_SOCKET_CREATE_ERROR || no == CR_UNKNOWN_HOST ||
	       no == ER_CONNECTION_KILLED || no == ER_SERVER_SHUTDOWN ||
	       no == CR_COMMANDS_OUT_OF_SYNC;
}

static enum db_status classify(db_t *db, unsigned no)
{
	if (is_conn_error(no)) {
		disconnect(db);
		return DB_UNAVAILABLE;
	}
	switch (no) {
	case ER_DUP_ENTRY:
		return DB_DUPLICATE;
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_TABLE_DEF_CHANGED:  /* a table created after the transaction's snapshot */
		return DB_DEADLOCK;
	case ER_STATEMENT_TIMEOUT:
		return DB_TIMEOUT;
	default:
		return DB_ERROR;
	}
}

static enum db_status ensure(db_t *db)
{
	if (db->control)
		db->used_at = time(NULL);
	if (db->conn)
		return DB_OK;
	const config_t *c = db->cfg;
	MYSQL *m = mysql_init(NULL);
	if (!m)
		abort();
	unsigned timeout = 2, rw_timeout = (unsigned)c->db_timeout;
	mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_optionsv(m, MYSQL_INIT_COMMAND,
		       "SET time_zone='+00:00', sql_mode='STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'");
	const char *sock = *db->sock ? db->sock : NULL;
	if (!mysql_real_connect(m, sock ? "localhost" : db->host, db->user,
				db->password, NULL, sock ? 0 : (unsigned)db->port,
				sock, CLIENT_FOUND_ROWS)) {
		set_error(db, mysql_errno(m), mysql_error(m));
		mysql_close(m);
		return DB_UNAVAILABLE;
	}
	/* The control DB may not exist yet (first migrate): stay connected
	 * without a default database and let the caller create it. */
	if (c->db_name && *c->db_name && mysql_select_db(m, c->db_name))
		log_debug("db: %s", mysql_error(m));
	db->conn = m;
	return DB_OK;
}

static unsigned long hash_str(const char *s)
{
	unsigned long h = 5381;
	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

static MYSQL_STMT *prepare(db_t *db, const char *sql, enum db_status *st)
{
	unsigned long idx = hash_str(sql) % STMT_CACHE_SIZE;
	struct stmt_slot *slot = &db->cache[idx];
	if (slot->stmt && strcmp(slot->sql, sql) == 0)
		return slot->stmt;
	if (slot->stmt) {
		mysql_stmt_close(slot->stmt);
		free(slot->sql);
		slot->stmt = NULL;
		slot->sql = NULL;
	}
	MYSQL_STMT *stmt = mysql_stmt_init(db->conn);
	if (!stmt)
		abort();
	if (mysql_stmt_prepare(stmt, sql, strlen(sql))) {
		unsigned no = stmt_error(db, stmt);
		mysql_stmt_close(stmt);
		*st = classify(db, no);
		return NULL;
	}
	slot->stmt = stmt;
	slot->sql = strdup(sql);
	if (!slot->sql)
		abort();
	return stmt;
}

static void forget(db_t *db, const char *sql)
{
	unsigned long idx = hash_str(sql) % STMT_CACHE_SIZE;
	struct stmt_slot *slot = &db->cache[idx];
	if (slot->stmt && strcmp(slot->sql, sql) == 0) {
		mysql_stmt_close(slot->stmt);
		free(slot->sql);
		slot->stmt = NULL;
		slot->sql = NULL;
	}
}

static enum db_status bind_params(db_t *db, MYSQL_STMT *stmt, arena_t *a,
				  const db_param *p, int np)
{
	if ((int)mysql_stmt_param_count(stmt) != np) {
		set_error(db, 0, "parameter count mismatch");
		log_error("db: statement expects %lu parameters, got %d",
			  mysql_stmt_param_count(stmt), np);
		return DB_ERROR;
	}
	if (np == 0)
		return DB_OK;
	MYSQL_BIND *b = arena_calloc(a, (size_t)np, sizeof(*b));
	for (int i = 0; i < np; i++) {
		switch (p[i].type) {
		case DBP_NULL:
			b[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case DBP_STR:
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = (void *)p[i].s;
			b[i].buffer_length = p[i].len;
			break;
		case DBP_INT:
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = (void *)&p[i].i;
			break;
		case DBP_DOUBLE:
			b[i].buffer_type = MYSQL_TYPE_DOUBLE;
			b[i].buffer = (void *)&p[i].d;
			break;
		}
	}
	if (mysql_stmt_bind_param(stmt, b)) {
		stmt_error(db, stmt);
		return DB_ERROR;
	}
	return DB_OK;
}

/* Reads every row into r.  On failure the error is recorded in db and
 * DB_ERROR returned; the caller classifies it once it has released the
 * statement's result (classifying may disconnect, which closes stmt). */
static enum db_status fetch_rows(db_t *db, MYSQL_STMT *stmt, MYSQL_RES *meta,
				 arena_t *a, db_result *r)
{
	int nc = (int)mysql_num_fields(meta);
	MYSQL_FIELD *fields = mysql_fetch_fields(meta);
	r->ncols = nc;
	r->names = arena_calloc(a, (size_t)nc, sizeof(char *));
	for (int i = 0; i < nc; i++)
		r->names[i] = arena_strdup(a, fields[i].name);

	MYSQL_BIND *b = arena_calloc(a, (size_t)nc, sizeof(*b));
	unsigned long *len = arena_calloc(a, (size_t)nc, sizeof(*len));
	my_bool *isnull = arena_calloc(a, (size_t)nc, sizeof(*isnull));
	char *bufs = arena_alloc(a, (size_t)nc * CELL_BUF);
	for (int i = 0; i < nc; i++) {
		b[i].buffer_type = MYSQL_TYPE_STRING;
		b[i].buffer = bufs + (size_t)i * CELL_BUF;
		b[i].buffer_length = CELL_BUF;
		b[i].length = &len[i];
		b[i].is_null = &isnull[i];
	}
	if (mysql_stmt_bind_result(stmt, b)) {
		stmt_error(db, stmt);
		return DB_ERROR;
	}
	int cap = 16;
	r->cells = arena_alloc(a, sizeof(char *) * (size_t)cap * (size_t)nc);
	r->lens = arena_alloc(a, sizeof(unsigned long) * (size_t)cap * (size_t)nc);
	for (;;) {
		int rc = mysql_stmt_fetch(stmt);
		if (rc == MYSQL_NO_DATA)
			break;
		if (rc == 1) {
			stmt_error(db, stmt);
			return DB_ERROR;
		}
		if (r->nrows == cap) {
			int ncap = cap * 2;
			char **cells = arena_alloc(a, sizeof(char *) * (size_t)ncap * (size_t)nc);
			unsigned long *lens = arena_alloc(a, sizeof(unsigned long) * (size_t)ncap * (size_t)nc);
			memcpy(cells, r->cells, sizeof(char *) * (size_t)cap * (size_t)nc);
			memcpy(lens, r->lens, sizeof(unsigned long) * (size_t)cap * (size_t)nc);
			r->cells = cells;
			r->lens = lens;
			cap = ncap;
		}
		for (int i = 0; i < nc; i++) {
			size_t at = (size_t)r->nrows * (size_t)nc + (size_t)i;
			if (isnull[i]) {
				r->cells[at] = NULL;
				r->lens[at] = 0;
				continue;
			}
			char *cell;
			if (len[i] <= CELL_BUF) {
				cell = arena_strndup(a, b[i].buffer, len[i]);
			} else {
				cell = arena_alloc(a, len[i] + 1);
				MYSQL_BIND col = { 0 };
				unsigned long got = 0;
				col.buffer_type = MYSQL_TYPE_STRING;
				col.buffer = cell;
				col.buffer_length = len[i];
				col.length = &got;
				if (mysql_stmt_fetch_column(stmt, &col, (unsigned)i, 0)) {
					stmt_error(db, stmt);
					return DB_ERROR;
				}
				cell[len[i]] = '\0';
			}
			r->cells[at] = cell;
			r->lens[at] = len[i];
		}
		r->nrows++;
	}
	return DB_OK;
}

static bool is_read_only(const char *sql)
{
	while (*sql == ' ' || *sql == '\n' || *sql == '\t' || *sql == '(')
		sql++;
	return strncasecmp(sql, "SELECT", 6) == 0 || strncasecmp(sql, "SHOW", 4) == 0;
}

static enum db_status exec_prepared(db_t *db, arena_t *a, const char *sql,
				    const db_param *params, int np, db_result **res)
{
	enum db_status st = ensure(db);
	if (st)
		return st;
	MYSQL_STMT *stmt = prepare(db, sql, &st);
	if (!stmt)
		return st;
	st = bind_params(db, stmt, a, params, np);
	if (st)
		return st;
	db->queries++;
	if (mysql_stmt_execute(stmt)) {
		unsigned no = stmt_error(db, stmt);
		if (no == ER_NEED_REPREPARE || no == ER_UNKNOWN_STMT_HANDLER)
			forget(db, sql);
		/* Lost while waiting for the answer: the server may have
		 * committed the change ("gone away" means it never got it). */
		db->maybe_applied = no == CR_SERVER_LOST && !is_read_only(sql);
		return classify(db, no);
	}
	db_result *r = arena_calloc(a, 1, sizeof(*r));
	MYSQL_RES *meta = mysql_stmt_result_metadata(stmt);
	if (meta) {
		st = fetch_rows(db, stmt, meta, a, r);
		mysql_free_result(meta);
		mysql_stmt_free_result(stmt);
		if (st)
			return classify(db, db->last_errno);
	} else {
		r->affected = mysql_stmt_affected_rows(stmt);
	}
	if (res)
		*res = r;
	return DB_OK;
}

/* A statement that changes rows and returns none: INSERT, UPDATE, DELETE,
 * REPLACE (it may run inside a compound statement). */
static bool is_plain_write(const char *sql)
{
	while (*sql == ' ' || *sql == '\n' || *sql == '\t')
		sql++;
	return !strncasecmp(sql, "INSERT ", 7) || !strncasecmp(sql, "UPDATE ", 7) ||
	       !strncasecmp(sql, "DELETE ", 7) || !strncasecmp(sql, "REPLACE ", 8);
}

/*
 * Sends the deferred writes (and the transaction's START TRANSACTION if it
 * is still pending, and COMMIT if commit) as one compound statement, one
 * round trip: BEGIN NOT ATOMIC START TRANSACTION; w1; w2; COMMIT; END.
 * The first failing statement ends the block with its error; the
 * transaction is then still open for the caller to roll back.
 */
static enum db_status flush(db_t *db, bool commit)
{
	arena_t *a = db->defer_arena;
	int n = db->ndefer, np = 0;
	for (int i = 0; i < n; i++)
		np += db->defer[i].np;
	strbuf_t b = { 0 };
	db_param *p = arena_alloc(a, sizeof(*p) * (size_t)(np ? np : 1));
	sb_printf(&b, "BEGIN NOT ATOMIC %s", db->begin_pending ? "START TRANSACTION; " : "");
	np = 0;
	for (int i = 0; i < n; i++) {
		sb_printf(&b, "%s; ", db->defer[i].sql);
		memcpy(p + np, db->defer[i].p, sizeof(*p) * (size_t)db->defer[i].np);
		np += db->defer[i].np;
	}
	sb_printf(&b, "%sEND", commit ? "COMMIT; " : "");
	char *sql = sb_take(&b, a);
	db->ndefer = 0;
	db->begin_pending = false;
	enum db_status st = exec_prepared(db, a, sql, p, np, NULL);
	db->flush_failed = st != DB_OK;
	return st;
}

static enum db_status send_begin(db_t *db)
{
	db->begin_pending = false;
	db->queries++;
	if (mysql_real_query(db->conn, "START TRANSACTION", 17)) {
		unsigned no = mysql_errno(db->conn);
		set_error(db, no, mysql_error(db->conn));
		return classify(db, no);
	}
	return DB_OK;
}

/* Brings the server up to date before a statement that needs its answer:
 * the deferred writes are sent, and a pending START TRANSACTION too (on
 * its own unless sql, a plain write, carries it). */
static enum db_status catch_up(db_t *db, const char *sql)
{
	enum db_status st = ensure(db);
	if (st)
		return st;
	if (db->ndefer)
		return flush(db, false);
	if (db->begin_pending && !(sql && is_plain_write(sql)))
		return send_begin(db);
	return DB_OK;
}

static enum db_status exec_once(db_t *db, arena_t *a, const char *sql,
				const db_param *params, int np, db_result **res)
{
	enum db_status st = catch_up(db, sql);
	if (st)
		return st;
	if (db->begin_pending) {
		/* The transaction's first statement, a write: one round trip
		 * starts it and runs the write. */
		db->begin_pending = false;
		sql = arena_printf(a, "BEGIN NOT ATOMIC START TRANSACTION; %s; END", sql);
	}
	return exec_prepared(db, a, sql, params, np, res);
}

/* A missing tenant table: 1 when it was created (see lazytables.h). */
static int lazy_missing(db_t *db)
{
	if (db->no_lazy || db->last_errno != ER_NO_SUCH_TABLE)
		return 0;
	char msg[sizeof(db->last_error)];
	memcpy(msg, db->last_error, sizeof(msg));
	int rc = lazy_create_missing(db, db->cfg->db_name, msg);
	set_error(db, ER_NO_SUCH_TABLE, msg);
	return rc;
}

/*
 * The statement failed on a table not created yet: create it and run the
 * statement again.  Writes queued before it (db_exec_deferred) may have
 * run in part when the failure came from them: that transaction cannot
 * go on, so the caller is told to retry it (DB_DEADLOCK).  A read in a
 * transaction whose snapshot predates the table gets ER_TABLE_DEF_CHANGED,
 * a DB_DEADLOCK too.
 */
static enum db_status lazy_retry(db_t *db, arena_t *a, const char *sql,
				 const db_param *params, int np, db_result **res)
{
	enum db_status st = DB_ERROR;
	int made = 0;
	for (int i = 0; i < LAZY_TRIES && st == DB_ERROR && (made = lazy_missing(db)) == 1; i++) {
		if (db->flush_failed) {
			log_warn("db: a deferred write needed a table created on first use; "
				 "the transaction must be retried");
			return DB_DEADLOCK;
		}
		st = exec_once(db, a, sql, params, np, res);
	}
	/* A table of the template that could not be made now (its lock
	 * busy, the server refusing): try again later, not a bug. */
	if (made < 0)
		return DB_UNAVAILABLE;
	if (st == DB_DEADLOCK && db->last_errno == ER_TABLE_DEF_CHANGED)
		log_warn("db: a table created on first use came after the transaction's "
			 "snapshot; it must be retried: %.200s", sql);
	return st;
}

static enum db_status exec_retrying(db_t *db, arena_t *a, const char *sql,
				    const db_param *params, int np, db_result **res)
{
	/* One retry on a fresh connection covers a server restarted since the
	 * last request; never inside a transaction (it died with the old
	 * connection) unless the server saw nothing of it yet, nor for a
	 * change the server may already have made. */
	bool fresh_tx = db->in_tx && db->begin_pending && !db->ndefer;
	bool was_in_tx = db->in_tx && !fresh_tx;
	db->maybe_applied = db->flush_failed = false;
	enum db_status st = exec_once(db, a, sql, params, np, res);
	if (st == DB_UNAVAILABLE && !was_in_tx && !db->maybe_applied) {
		db->in_tx = db->begin_pending = fresh_tx;
		st = exec_once(db, a, sql, params, np, res);
	}
	return st;
}

enum db_status db_exec(db_t *db, arena_t *a, const char *sql,
		       const db_param *params, int np, db_result **res)
{
	enum db_status st = exec_retrying(db, a, sql, params, np, res);
	if (st == DB_ERROR && db->last_errno == ER_NO_SUCH_TABLE)
		st = lazy_retry(db, a, sql, params, np, res);
	if (st != DB_OK && st != DB_DUPLICATE)
		log_warn("db: %s (errno %u) in: %.200s", db->last_error, db->last_errno, sql);
	return st;
}

enum db_status db_exec_present(db_t *db, arena_t *a, const char *sql,
			       const db_param *params, int np, db_result **res)
{
	enum db_status st = exec_retrying(db, a, sql, params, np, res);
	if (st == DB_ERROR && db->last_errno == ER_NO_SUCH_TABLE && !db->flush_failed) {
		if (res)
			*res = arena_calloc(a, 1, sizeof(**res));
		return DB_OK;
	}
	if (st != DB_OK && st != DB_DUPLICATE)
		log_warn("db: %s (errno %u) in: %.200s", db->last_error, db->last_errno, sql);
	return st;
}

enum db_status db_exec_text(db_t *db, const char *sql)
{
	enum db_status st = catch_up(db, NULL);
	if (st)
		return st;
	db->queries++;
	if (mysql_real_query(db->conn, sql, strlen(sql))) {
		unsigned no = mysql_errno(db->conn);
		set_error(db, no, mysql_error(db->conn));
		log_warn("db: %s (errno %u) in: %.200s", db->last_error, no, sql);
		return classify(db, no);
	}
	/* Drain any result set so the connection stays in sync. */
	do {
		MYSQL_RES *r = mysql_store_result(db->conn);
		if (r)
			mysql_free_result(r);
	} while (mysql_next_result(db->conn) == 0);
	return DB_OK;
}

/* START TRANSACTION is sent with the transaction's first statement (see
 * catch_up), so a transaction costs no round trip of its own. */
enum db_status db_begin(db_t *db)
{
	enum db_status st = ensure(db);
	if (st == DB_OK) {
		db->in_tx = db->begin_pending = true;
		db->ndefer = 0;
	}
	return st;
}

enum db_status db_exec_deferred(db_t *db, arena_t *a, const char *sql,
				const db_param *params, int np)
{
	if (!db->in_tx)
		return db_exec(db, a, sql, params, np, NULL);
	if (db->ndefer == DEFER_MAX) {
		enum db_status st = flush(db, false);
		if (st)
			return st;
	}
	db_param *p = arena_alloc(a, sizeof(*p) * (size_t)(np ? np : 1));
	for (int i = 0; i < np; i++) {
		p[i] = params[i];
		if (p[i].type == DBP_STR)    /* it may be the caller's stack */
			p[i].s = arena_strndup(a, p[i].s, p[i].len);
	}
	db->defer[db->ndefer++] = (struct deferred){ arena_strdup(a, sql), p, np };
	db->defer_arena = a;
	return DB_OK;
}

enum db_status db_commit(db_t *db)
{
	enum db_status st = DB_OK;
	if (db->ndefer) {
		/* The deferred writes and the COMMIT in one round trip; if one
		 * of them fails, the transaction is still open: end it. */
		st = ensure(db);
		if (st == DB_OK && (st = flush(db, true)) != DB_OK && db->conn)
			db_exec_text(db, "ROLLBACK");
		/* A deferred write on a table not created yet: create it, and
		 * the caller may retry the transaction. */
		if (st == DB_ERROR && lazy_missing(db) == 1)
			st = DB_DEADLOCK;
		if (st)
			log_warn("db: %s (errno %u) at commit", db->last_error, db->last_errno);
	} else if (!db->begin_pending) {
		st = db_exec_text(db, "COMMIT");
	}
	db->in_tx = db->begin_pending = false;
	db->ndefer = 0;
	return st;
}

void db_rollback(db_t *db)
{
	/* The deferred writes are dropped, never sent; nothing reached the
	 * server yet: nothing to undo. */
	db->ndefer = 0;
	if (db->conn && db->in_tx && !db->begin_pending)
		db_exec_text(db, "ROLLBACK");
	db->in_tx = db->begin_pending = false;
}

bool db_in_transaction(const db_t *db)
{
	return db->in_tx;
}

enum db_status db_ping(db_t *db)
{
	enum db_status st = ensure(db);
	if (st)
		return st;
	if (mysql_ping(db->conn)) {
		set_error(db, mysql_errno(db->conn), mysql_error(db->conn));
		disconnect(db);
		st = ensure(db);
		if (st)
			return st;
		if (mysql_ping(db->conn)) {
			disconnect(db);
			return DB_UNAVAILABLE;
		}
	}
	return DB_OK;
}

const char *db_last_error(const db_t *db)
{
	return db->last_error;
}

unsigned db_last_errno(const db_t *db)
{
	return db->last_errno;
}

unsigned long db_queries(const db_t *db)
{
	return db->queries;
}

const char *db_get(const db_result *r, int row, const char *name)
{
	for (int i = 0; i < r->ncols; i++)
		if (strcmp(r->names[i], name) == 0)
			return db_cell(r, row, i);
	return NULL;
}

long long db_get_int(const db_result *r, int row, const char *name, long long def)
{
	const char *v = db_get(r, row, name);
	return v ? strtoll(v, NULL, 10) : def;
}

char *db_placeholders(arena_t *a, int n)
{
	char *s = arena_alloc(a, (size_t)(n > 0 ? n : 0) * 3 + 1), *p = s;
	for (int i = 0; i < n; i++) {
		if (i) {
			memcpy(p, ", ", 2);
			p += 2;
		}
		*p++ = '?';
	}
	*p = '\0';
	return s;
}

enum db_status db_rows_insert(db_t *dst, arena_t *a, const char *table, const db_result *res,
			      int row0, int n, int ncols, bool ignore)
{
	strbuf_t sql = { 0 };
	sb_printf(&sql, "INSERT %sINTO %s (", ignore ? "IGNORE " : "", table);
	for (int c = 0; c < ncols; c++)
		sb_printf(&sql, "%s`%s`", c ? ", " : "", res->names[c]);
	sb_puts(&sql, ") VALUES ");
	const char *row_marks = db_placeholders(a, ncols);
	db_param *p = arena_alloc(a, sizeof(*p) * (size_t)(n * ncols));
	for (int i = 0; i < n; i++) {
		int row = row0 + i;
		sb_printf(&sql, "%s(%s)", i ? ", " : "", row_marks);
		for (int c = 0; c < ncols; c++) {
			const char *v = db_cell(res, row, c);
			p[i * ncols + c] = v ? db_strn(v, res->lens[row * res->ncols + c]) : db_null();
		}
	}
	char *text = sb_take(&sql, a);
	return db_exec(dst, a, text, p, n * ncols, NULL);
}
