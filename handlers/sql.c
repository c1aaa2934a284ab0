/*
 * sql.c - POST /v1/sql: a tenant's own SQL against its data DB.
 *
 * The statement runs on a connection logged in as one of the tenant's two
 * MariaDB accounts (tenant_admin.c): the SELECT-only account for keys
 * without the `*` scope, the row-writing account for `*` keys.  Isolation
 * comes from those grants, not from reading the SQL: the control DB and
 * other tenants' DBs are invisible to both accounts, and neither may run
 * DDL.  The only text checks here are courtesies or guard the limits: a
 * read key gets a clear 403 for a statement that is not a read, and no key
 * may start with SET or an executable comment, which could lift the
 * statement time limit the prefix below imposes.
 *
 * Statements are prepared (so a second statement is a syntax error) with
 * the positional params bound, run under a 5 s max_statement_time, and at
 * most 1,000 rows are returned.  Connections are cached per worker, a few
 * tenants at a time, and dropped if a statement leaves a transaction open.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "../common/codec.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/log.h"
#include "routes.h"

#define SQL_MAX_CHARS 10000
#define SQL_MAX_PARAMS 100
#define SQL_ROW_CAP 1000
#define SQL_TIME_LIMIT_S 5
#define SQL_CONN_SLOTS 4
#define SQL_CELL_BUF 256

const field_t sql_body[] = {
	{ "sql", FT_STRING, FF_REQUIRED, 1, SQL_MAX_CHARS },
	{ "params", FT_ARRAY, 0, 0, SQL_MAX_PARAMS },
	{ NULL, 0, 0, 0, 0 },
};

/* ------------------------------------------------ connection cache */

struct sql_conn {
	char tenant_id[64];
	bool rw;
	MYSQL *m;
	unsigned long long used;   /* LRU tick */
};

static struct sql_conn g_conns[SQL_CONN_SLOTS];
static unsigned long long g_tick;
static bool g_atexit_set;

static void conn_close(struct sql_conn *c)
{
	if (c->m)
		mysql_close(c->m);
	memset(c, 0, sizeof(*c));
}

static void conns_close_all(void)
{
	for (int i = 0; i < SQL_CONN_SLOTS; i++)
		conn_close(&g_conns[i]);
}

/* The tenant account's name and password, from the control DB. */
static err_t account_load(req_t *r, bool rw, const char **user, const char **password)
{
	static const char *const sql[2] = {
		"SELECT sql_ro_user, sql_ro_password_enc FROM tenants WHERE id = ?",
		"SELECT sql_rw_user, sql_rw_password_enc FROM tenants WHERE id = ?",
	};
	db_param p[] = { db_str(r->tenant.id) };
	db_result *res;
	enum db_status st = db_exec(db_control(r->db), r->a, sql[rw], p, 1, &res);
	if (st)
		return req_db_error(r, st);
	const char *enc = res->nrows ? db_cell(res, 0, 1) : NULL;
	*user = res->nrows ? db_cell(res, 0, 0) : NULL;
	*password = enc ? secret_open(r->a, g_config.master_key_bin, enc, NULL) : NULL;
	if (!*user || !*password) {
		log_error("sql: tenant %s has no usable %s account", r->tenant.id, rw ? "rw" : "ro");
		return req_fail(r, E_INTERNAL, "The tenant's SQL account is not available");
	}
	return E_OK;
}

static err_t conn_open(req_t *r, bool rw, MYSQL **out)
{
	const char *user = NULL, *password = NULL;
	err_t rc = account_load(r, rw, &user, &password);
	if (rc)
		return rc;
	MYSQL *m = mysql_init(NULL);
	if (!m)
		abort();
	/* Long enough for a statement that runs into the time limit. */
	unsigned timeout = 2, rw_timeout = SQL_TIME_LIMIT_S * 3;
	mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &rw_timeout);
	mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout);
	mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_optionsv(m, MYSQL_INIT_COMMAND, "SET time_zone='+00:00'");
	/* LOAD DATA LOCAL would read files off this machine. */
	unsigned no_local = 0;
	mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &no_local);
	/* the tenant's data server (r->db points there) */
	const char *sock, *host;
	int port;
	db_address(r->db, &sock, &host, &port);
	if (!mysql_real_connect(m, sock ? "localhost" : host, user, password,
				r->tenant.db_name, sock ? 0 : (unsigned)port, sock, 0)) {
		log_error("sql: connect as %s: %s", user, mysql_error(m));
		mysql_close(m);
		return req_db_error(r, DB_UNAVAILABLE);
	}
	*out = m;
	return E_OK;
}

/*
 * The cached connection for this tenant and account, opening one (and
 * evicting the least recently used) if needed.  *fresh tells whether it was
 * opened just now.  The cache owns the connection.
 */
static err_t conn_get(req_t *r, bool rw, struct sql_conn **out, bool *fresh)
{
	struct sql_conn *victim = &g_conns[0];
	for (int i = 0; i < SQL_CONN_SLOTS; i++) {
		struct sql_conn *c = &g_conns[i];
		if (c->m && c->rw == rw && strcmp(c->tenant_id, r->tenant.id) == 0) {
			c->used = ++g_tick;
			*out = c;
			*fresh = false;
			return E_OK;
		}
		if (!c->m || (victim->m && c->used < victim->used))
			victim = c;
	}
	if (strlen(r->tenant.id) >= sizeof(victim->tenant_id))
		return req_fail(r, E_INTERNAL, "Tenant id too long");
	MYSQL *m = NULL;
	err_t rc = conn_open(r, rw, &m);
	if (rc)
		return rc;
	if (!g_atexit_set) {
		atexit(conns_close_all);
		g_atexit_set = true;
	}
	conn_close(victim);
	memcpy(victim->tenant_id, r->tenant.id, strlen(r->tenant.id) + 1);
	victim->rw = rw;
	victim->m = m;
	victim->used = ++g_tick;
	*out = victim;
	*fresh = true;
	return E_OK;
}

/* ------------------------------------------------ statement text */

static bool word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

/*
 * The statement's first keyword (its length; *word points at it), after
 * blanks, comments and opening parentheses.  0 if the statement starts with
 * an executable comment (which MariaDB runs) or has no keyword.
 */
static size_t first_word(const char *s, const char **word)
{
	*word = s;
	for (;;) {
		while (isspace((unsigned char)*s) || *s == '(')
			s++;
		if (s[0] == '/' && s[1] == '*') {
			if (s[2] == '!' || (s[2] == 'M' && s[3] == '!'))
				return 0;
			const char *end = strstr(s + 2, "*/");
			if (!end)
				return 0;
			s = end + 2;
		} else if (*s == '#' || (s[0] == '-' && s[1] == '-' &&
					 (s[2] == '\0' || isspace((unsigned char)s[2])))) {
			while (*s && *s != '\n')
				s++;
		} else {
			break;
		}
	}
	size_t n = 0;
	while (isalpha((unsigned char)s[n]) || s[n] == '_')
		n++;
	*word = s;
	return n;
}

static bool is_read_word(const char *w, size_t n)
{
	static const char *const reads[] = { "SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN" };
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		if (word_is(w, n, reads[i]))
			return true;
	return false;
}

/*
 * Functions whose effect outlives the statement or reaches past the
 * tenant's database: named locks are server-wide (one tenant could see and
 * block another's), BENCHMARK burns CPU outside the time limit, and the
 * replication waits block on server state.
 */
static const char *const global_functions[] = {
	"GET_LOCK", "RELEASE_LOCK", "RELEASE_ALL_LOCKS", "IS_USED_LOCK", "IS_FREE_LOCK",
	"BENCHMARK", "MASTER_POS_WAIT", "MASTER_GTID_WAIT", "LOAD_FILE",
};

/* Skips blanks and comments. */
static const char *skip_blank(const char *s)
{
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (s[0] != '/' || s[1] != '*')
			return s;
		const char *end = strstr(s + 2, "*/");
		if (!end)
			return s + strlen(s);
		s = end + 2;
	}
}

/* The first call of a server-global function in sql (outside quoted text
 * and identifiers), or NULL. */
static const char *global_function_call(const char *sql)
{
	for (const char *s = sql; *s;) {
		if (*s == '\'' || *s == '"' || *s == '`') {
			char q = *s++;
			while (*s && *s != q)
				s += (*s == '\\' && s[1]) ? 2 : 1;
			if (*s)
				s++;
			continue;
		}
		if (!isalpha((unsigned char)*s) && *s != '_') {
			s++;
			continue;
		}
		const char *w = s;
		while (isalnum((unsigned char)*s) || *s == '_' || *s == '$')
			s++;
		size_t n = (size_t)(s - w);
		if (*skip_blank(s) != '(')
			continue;
		for (size_t i = 0; i < sizeof(global_functions) / sizeof(global_functions[0]); i++)
			if (word_is(w, n, global_functions[i]))
				return global_functions[i];
	}
	return NULL;
}

/* Refuses what must not run: limit-lifting statements and server-global
 * functions for everyone, and anything but a read for keys without `*`. */
static err_t check_statement(req_t *r, const char *sql, bool rw)
{
	const char *w;
	size_t n = first_word(sql, &w);
	if (n == 0 && *w == '\0')
		return req_fail_field(r, E_VALIDATION, "sql", "sql holds no statement");
	if (n == 0 || word_is(w, n, "SET"))
		return req_fail_field(r, E_VALIDATION, "sql",
				      "A statement may not start with SET or an executable comment: "
				      "session settings and the %d s time limit are fixed",
				      SQL_TIME_LIMIT_S);
	const char *fn = global_function_call(sql);
	if (fn)
		return req_fail_field(r, E_VALIDATION, "sql",
				      "%s() acts on the whole database server, not the tenant's "
				      "data, and is not allowed", fn);
	if (!rw && !is_read_word(w, n))
		return req_fail(r, E_INSUFFICIENT_SCOPE,
				"Only SELECT, WITH, SHOW, DESCRIBE and EXPLAIN statements run with this key; "
				"writes need the \"*\" scope");
	return E_OK;
}

/* ------------------------------------------------ execution */

static bool is_conn_errno(unsigned no)
{
	return no == CR_SERVER_GONE_ERROR || no == CR_SERVER_LOST ||
	       no == CR_CONNECTION_ERROR || no == CR_CONN_HOST_ERROR ||
	       no == ER_CONNECTION_KILLED || no == ER_SERVER_SHUTDOWN ||
	       no == CR_COMMANDS_OUT_OF_SYNC;
}

/* A statement's error: its own, or the connection's when a fetch failed
 * (Connector/C reports those on the connection only). */
static unsigned stmt_errno(MYSQL_STMT *stmt, MYSQL *m, const char **msg)
{
	unsigned no = mysql_stmt_errno(stmt);
	*msg = mysql_stmt_error(stmt);
	if (!no) {
		no = mysql_errno(m);
		*msg = mysql_error(m);
	}
	return no;
}

/* SQL errors are the caller's: 400 with MariaDB's message.  A lost
 * connection is ours: drop it and answer 503. */
static err_t sql_fail(req_t *r, struct sql_conn *c, unsigned no, const char *msg)
{
	if (is_conn_errno(no) || no == 0) {
		log_warn("sql: tenant %s: connection failed: %u %s", r->tenant.id, no, msg);
		conn_close(c);
		return req_db_error(r, DB_UNAVAILABLE);
	}
	if (no == ER_STATEMENT_TIMEOUT)
		return req_fail_field(r, E_VALIDATION, "sql", "%s: statements are limited to %d s",
				      msg, SQL_TIME_LIMIT_S);
	return req_fail_field(r, E_VALIDATION, "sql", "%s", msg);
}

static void stmt_release(void *p)
{
	MYSQL_STMT **slot = p;
	if (*slot)
		mysql_stmt_close(*slot);
}

/*
 * Prepares text on the tenant connection.  A cached connection the server
 * has dropped (idle timeout, restart) fails before anything ran, so it is
 * reopened and the statement prepared once more.  The statement is closed
 * with the request.
 */
static err_t prepare(req_t *r, bool rw, const char *text, struct sql_conn **conn,
		     MYSQL_STMT ***out)
{
	for (int attempt = 0;; attempt++) {
		struct sql_conn *c = NULL;
		bool fresh = false;
		err_t rc = conn_get(r, rw, &c, &fresh);
		if (rc)
			return rc;
		MYSQL_STMT *stmt = mysql_stmt_init(c->m);
		if (!stmt)
			abort();
		MYSQL_STMT **slot = arena_alloc(r->a, sizeof(*slot));
		*slot = stmt;
		arena_defer(r->a, stmt_release, slot);
		if (mysql_stmt_prepare(stmt, text, strlen(text)) == 0) {
			*conn = c;
			*out = slot;
			return E_OK;
		}
		const char *msg;
		unsigned no = stmt_errno(stmt, c->m, &msg);
		if (!is_conn_errno(no) || fresh || attempt > 0)
			return sql_fail(r, c, no, msg);
		log_info("sql: tenant %s: reconnecting after %u %s", r->tenant.id, no, msg);
		conn_close(c);
	}
}

/* Binds the JSON scalars of params (may be NULL) to the placeholders. */
static err_t bind_params(req_t *r, MYSQL_STMT *stmt, const cJSON *params)
{
	int n = params ? cJSON_GetArraySize(params) : 0;
	unsigned long want = mysql_stmt_param_count(stmt);
	if (want != (unsigned long)n)
		return req_fail_field(r, E_VALIDATION, "params",
				      "The statement has %lu placeholders but %d params were given",
				      want, n);
	if (n == 0)
		return E_OK;
	MYSQL_BIND *b = arena_calloc(r->a, (size_t)n, sizeof(*b));
	long long *ints = arena_calloc(r->a, (size_t)n, sizeof(*ints));
	double *dbls = arena_calloc(r->a, (size_t)n, sizeof(*dbls));
	int i = 0;
	for (const cJSON *v = params->child; v; v = v->next, i++) {
		if (cJSON_IsString(v)) {
			b[i].buffer_type = MYSQL_TYPE_STRING;
			b[i].buffer = v->valuestring;
			b[i].buffer_length = strlen(v->valuestring);
		} else if (cJSON_IsBool(v)) {
			ints[i] = cJSON_IsTrue(v);
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &ints[i];
		} else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
			   fabs(v->valuedouble) < 9007199254740992.0) {
			ints[i] = (long long)v->valuedouble;
			b[i].buffer_type = MYSQL_TYPE_LONGLONG;
			b[i].buffer = &ints[i];
		} else if (cJSON_IsNumber(v)) {
			dbls[i] = v->valuedouble;
			b[i].buffer_type = MYSQL_TYPE_DOUBLE;
			b[i].buffer = &dbls[i];
		} else if (cJSON_IsNull(v)) {
			b[i].buffer_type = MYSQL_TYPE_NULL;
		} else {
			char *field = arena_printf(r->a, "params[%d]", i);
			return req_fail_field(r, E_VALIDATION, field,
					      "%s must be a string, number, boolean or null", field);
		}
	}
	if (mysql_stmt_bind_param(stmt, b))
		return req_fail_field(r, E_VALIDATION, "params", "%s", mysql_stmt_error(stmt));
	return E_OK;
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp;
		if (c == 0)
			return false;  /* cJSON strings end at NUL */
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += len;
	}
	return true;
}

/* True for the text of a finite number that is also valid JSON. */
static bool json_number_text(const char *s)
{
	if (!(*s == '-' || isdigit((unsigned char)*s)))
		return false;
	char *end;
	double d = strtod(s, &end);
	return *end == '\0' && isfinite(d) && !strpbrk(s, "xXpP");
}

/*
 * One value as JSON: integers and floats as numbers (integers from their
 * exact text), decimals as exact strings, NULL as null, other values as
 * strings; bytes that are not UTF-8 text as "0x" + hex.
 */
static cJSON *cell_json(arena_t *a, const MYSQL_FIELD *f, const char *s, size_t n)
{
	switch (f->type) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_FLOAT:
	case MYSQL_TYPE_DOUBLE:
		if (json_number_text(s))
			return cJSON_CreateRaw(s);
		break;
	default:
		break;
	}
	if (utf8_valid((const unsigned char *)s, n))
		return cJSON_CreateString(s);
	char *hex = arena_alloc(a, n * 2 + 3);
	hex[0] = '0';
	hex[1] = 'x';
	hex_encode(hex + 2, n * 2 + 1, s, n);
	return cJSON_CreateString(hex);
}

struct fetch {
	int ncols;
	MYSQL_FIELD *fields;
	MYSQL_BIND *b;
	unsigned long *len;
	my_bool *isnull;
};

static err_t fetch_setup(req_t *r, MYSQL_STMT *stmt, MYSQL_RES *meta, struct fetch *f,
			 cJSON *columns)
{
	f->ncols = (int)mysql_num_fields(meta);
	f->fields = mysql_fetch_fields(meta);
	f->b = arena_calloc(r->a, (size_t)f->ncols, sizeof(*f->b));
	f->len = arena_calloc(r->a, (size_t)f->ncols, sizeof(*f->len));
	f->isnull = arena_calloc(r->a, (size_t)f->ncols, sizeof(*f->isnull));
	char *bufs = arena_alloc(r->a, (size_t)f->ncols * SQL_CELL_BUF);
	for (int i = 0; i < f->ncols; i++) {
		cJSON_AddItemToArray(columns, cJSON_CreateString(f->fields[i].name));
		f->b[i].buffer_type = MYSQL_TYPE_STRING;
		f->b[i].buffer = bufs + (size_t)i * SQL_CELL_BUF;
		f->b[i].buffer_length = SQL_CELL_BUF;
		f->b[i].length = &f->len[i];
		f->b[i].is_null = &f->isnull[i];
	}
	if (mysql_stmt_bind_result(stmt, f->b))
		return req_fail(r, E_INTERNAL, "Cannot read the result");
	return E_OK;
}

/* The current row as an object; false if a long value could not be read. */
static bool fetch_row(req_t *r, MYSQL_STMT *stmt, const struct fetch *f, cJSON *row)
{
	for (int i = 0; i < f->ncols; i++) {
		if (f->isnull[i]) {
			cJSON_AddItemToObject(row, f->fields[i].name, cJSON_CreateNull());
			continue;
		}
		unsigned long n = f->len[i];
		char *cell = arena_alloc(r->a, n + 1);
		if (n <= SQL_CELL_BUF) {
			memcpy(cell, f->b[i].buffer, n);
		} else {
			MYSQL_BIND col = { 0 };
			unsigned long got = 0;
			col.buffer_type = MYSQL_TYPE_STRING;
			col.buffer = cell;
			col.buffer_length = n;
			col.length = &got;
			if (mysql_stmt_fetch_column(stmt, &col, (unsigned)i, 0))
				return false;
		}
		cell[n] = '\0';
		cJSON_AddItemToObject(row, f->fields[i].name, cell_json(r->a, &f->fields[i], cell, n));
	}
	return true;
}

/* Reads at most SQL_ROW_CAP rows into data (columns, rows, row_count,
 * truncated).  The rest are left to mysql_stmt_close to discard. */
static err_t fetch_rows(req_t *r, struct sql_conn *c, MYSQL_STMT *stmt, MYSQL_RES *meta,
			cJSON *data)
{
	cJSON *columns = cJSON_AddArrayToObject(data, "columns");
	cJSON *rows = cJSON_AddArrayToObject(data, "rows");
	struct fetch f;
	err_t rc = fetch_setup(r, stmt, meta, &f, columns);
	if (rc)
		return rc;
	int nrows = 0;
	bool truncated = false;
	for (;;) {
		int st = mysql_stmt_fetch(stmt);
		if (st == MYSQL_NO_DATA)
			break;
		if (st == 1)
			goto out_error;
		if (nrows == SQL_ROW_CAP) {
			truncated = true;
			break;
		}
		cJSON *row = cJSON_CreateObject();
		cJSON_AddItemToArray(rows, row);
		if (!fetch_row(r, stmt, &f, row))
			goto out_error;
		nrows++;
	}
	cJSON_AddNumberToObject(data, "row_count", nrows);
	if (truncated)
		cJSON_AddTrueToObject(data, "truncated");
	return E_OK;

out_error:;
	const char *msg;
	unsigned no = stmt_errno(stmt, c->m, &msg);
	return sql_fail(r, c, no, msg);
}

static long long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A statement that opened a transaction or turned autocommit off would
 * leave that state (and its locks) on a connection the next request
 * reuses: close it instead, which rolls back. */
static void conn_check_state(struct sql_conn *c)
{
	unsigned status = 0;
	if (!c->m || mariadb_get_infov(c->m, MARIADB_CONNECTION_SERVER_STATUS, &status))
		return;
	if ((status & SERVER_STATUS_IN_TRANS) || !(status & SERVER_STATUS_AUTOCOMMIT))
		conn_close(c);
}

static err_t execute(req_t *r, struct sql_conn *c, MYSQL_STMT *stmt, cJSON *data)
{
	long long t0 = now_us();
	if (mysql_stmt_execute(stmt)) {
		const char *msg;
		unsigned no = stmt_errno(stmt, c->m, &msg);
		return sql_fail(r, c, no, msg);
	}
	MYSQL_RES *meta = mysql_stmt_result_metadata(stmt);
	err_t rc = E_OK;
	if (meta) {
		rc = fetch_rows(r, c, stmt, meta, data);
		mysql_free_result(meta);
	} else {
		cJSON_AddArrayToObject(data, "columns");
		cJSON_AddArrayToObject(data, "rows");
		cJSON_AddNumberToObject(data, "row_count", (double)mysql_stmt_affected_rows(stmt));
	}
	if (rc)
		return rc;
	cJSON_AddNumberToObject(data, "duration_ms", (double)(now_us() - t0) / 1000.0);
	return E_OK;
}

err_t sql_query(req_t *r)
{
	if (req_end_user(r))
		return req_fail(r, E_FORBIDDEN, "Direct SQL needs an API key");
	bool rw = (r->who.scopes & SCOPE_ALL) != 0;
	const char *sql = cJSON_GetObjectItemCaseSensitive(r->json, "sql")->valuestring;
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(r->json, "params");
	err_t rc = check_statement(r, sql, rw);
	if (rc)
		return rc;

	char *text = arena_printf(r->a, "SET STATEMENT max_statement_time=%d FOR %s",
				  SQL_TIME_LIMIT_S, sql);
	struct sql_conn *c = NULL;
	MYSQL_STMT **slot = NULL;
	if ((rc = prepare(r, rw, text, &c, &slot)))
		return rc;
	MYSQL_STMT *stmt = *slot;
	if ((rc = bind_params(r, stmt, params)))
		return rc;
	cJSON *data = cJSON_CreateObject();
	rc = execute(r, c, stmt, data);
	/* Closing the statement discards rows left unread (past the cap)
	 * before the connection is reset. */
	mysql_stmt_close(stmt);
	*slot = NULL;
	conn_check_state(c);
	/* Nothing of this request's session (user variables, temporary
	 * tables, prepared statements, locks) may reach the next one. */
	if (c->m && mysql_reset_connection(c->m))
		conn_close(c);
	if (rc) {
		cJSON_Delete(data);
		return rc;
	}
	reply_data(r, 200, data);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t sql_routes[] = {
	ROUTE("POST", "/v1/sql", "SQL", AUTH_BEARER, "read", NULL, 0, sql_query, sql_body, "Execute SQL query"),
	ROUTES_END,
};
