/*
 * tenant_admin.c - see tenant_admin.h.
 */
#include "tenant_admin.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "ids.h"
#include "jwt.h"
#include "migrate.h"
#include "rowjson.h"

static char *lower(arena_t *a, const char *s)
{
	char *o = arena_strdup(a, s);
	for (char *p = o; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return o;
}

static char *random_hex(arena_t *a, size_t nbytes)
{
	unsigned char buf[32];
	randombytes_buf(buf, nbytes);
	char *out = arena_alloc(a, nbytes * 2 + 1);
	hex_encode(out, nbytes * 2 + 1, buf, nbytes);
	return out;
}

static int fail(char *err, size_t errlen, const char *what, db_t *db)
{
	snprintf(err, errlen, "%s: %s", what, db_last_error(db));
	return -1;
}

static const char *account_host(const db_t *db)
{
	const char *sock, *tcp_host;
	int port;
	db_address(db, &sock, &tcp_host, &port);
	return sock ? "localhost" : "%";
}

int tenant_accounts_create(db_t *db, arena_t *a, const char *dbname, const char *ro,
			   const char *ro_pw, const char *rw, const char *rw_pw, char *err,
			   size_t errlen)
{
	const char *host = account_host(db);
	/* Identifiers and passwords are server-generated ([a-z0-9_] and hex). */
	const char *stmts[] = {
		arena_printf(a, "CREATE USER '%s'@'%s' IDENTIFIED BY '%s'", ro, host, ro_pw),
		arena_printf(a, "CREATE USER '%s'@'%s' IDENTIFIED BY '%s'", rw, host, rw_pw),
		arena_printf(a, "GRANT SELECT ON `%s`.* TO '%s'@'%s'", dbname, ro, host),
		arena_printf(a, "GRANT SELECT, INSERT, UPDATE, DELETE ON `%s`.* TO '%s'@'%s'",
			     dbname, rw, host),
	};
	for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++)
		if (db_exec_text(db, stmts[i]) != DB_OK)
			return fail(err, errlen, "create tenant accounts", db);
	return 0;
}

/* The data DB and its two accounts: SELECT only, and row writes. */
static int create_data_db(db_t *db, arena_t *a, const char *dbname, const char *ro,
			  const char *ro_pw, const char *rw, const char *rw_pw,
			  char *err, size_t errlen)
{
	if (migrate_tenant_new(db, a, dbname, g_config.db_name, err, errlen) < 0)
		return -1;
	return tenant_accounts_create(db, a, dbname, ro, ro_pw, rw, rw_pw, err, errlen);
}

void tenant_db_drop(db_t *db, arena_t *a, const char *dbname, const char *ro, const char *rw)
{
	const char *host = account_host(db);
	db_exec_text(db, arena_printf(a, "DROP USER IF EXISTS '%s'@'%s'", ro, host));
	db_exec_text(db, arena_printf(a, "DROP USER IF EXISTS '%s'@'%s'", rw, host));
	db_exec_text(db, arena_printf(a, "DROP DATABASE IF EXISTS `%s`", dbname));
}

/* The server with the fewest tenants (the first configured on a tie). */
static const char *least_used_server(db_t *db, arena_t *a, char *err, size_t errlen)
{
	char *names[16];
	int n = db_server_names(&g_config, names, 16);
	db_result *res;
	const char *best = NULL;
	long long best_count = 0;
	if (db_exec(db, a, "SELECT COALESCE(db_server, ?) AS s, COUNT(*) AS n FROM tenants "
		    "GROUP BY s", (db_param[]){ db_str(names[0]) }, 1, &res)) {
		fail(err, errlen, "count tenants per server", db);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		long long c = 0;
		for (int row = 0; row < res->nrows; row++)
			if (!strcmp(db_cell(res, row, 0), names[i]))
				c = strtoll(db_cell(res, row, 1), NULL, 10);
		if (!best || c < best_count) {
			best = arena_strdup(a, names[i]);
			best_count = c;
		}
	}
out:
	for (int i = 0; i < n; i++)
		free(names[i]);
	return best;
}

int tenant_create(db_t *db, arena_t *a, const tenant_new_t *t, char **tenant_id,
		  char **api_key, char *err, size_t errlen)
{
	db_result *res;
	const char *server = t->server ? t->server : least_used_server(db, a, err, errlen);
	if (!server)
		return -1;
	db_t *ddb = db_for_server(db, server);
	if (!ddb) {
		snprintf(err, errlen, "unknown server \"%s\" (not %s and not in db_servers)", server,
			 db_server(db));
		return -1;
	}
	/* A server new to db_servers gets its control schema here (or by
	 * `tessera migrate`). */
	if (ddb != db && migrate_control(ddb, a, g_config.db_name, err, errlen) < 0)
		return -1;
	db_param pp[] = { db_str(t->plan) };
	if (db_exec(db, a, "SELECT id FROM plans WHERE id = ?", pp, 1, &res))
		return fail(err, errlen, "look up plan", db);
	if (res->nrows == 0) {
		snprintf(err, errlen, "unknown plan \"%s\" (free, pro or enterprise)", t->plan);
		return -1;
	}
	char id[40];
	id_new(id, sizeof(id), "tn_");
	char *ulid = lower(a, id + 3);
	char *dbname = arena_printf(a, "%s_t_%s", g_config.db_name, ulid);
	char *ro = arena_printf(a, "t_%s_ro", ulid), *rw = arena_printf(a, "t_%s_rw", ulid);
	char *ro_pw = random_hex(a, 24), *rw_pw = random_hex(a, 24);
	if (!ident_ok(dbname)) {
		snprintf(err, errlen, "db_name \"%s\" is too long for tenant databases", g_config.db_name);
		return -1;
	}
	if (create_data_db(ddb, a, dbname, ro, ro_pw, rw, rw_pw, err, errlen)) {
		tenant_db_drop(ddb, a, dbname, ro, rw);
		return -1;
	}
	/* NULL for the primary: rows from before db_servers mean the same. */
	const char *server_col = ddb == db ? NULL : db_server(ddb);

	const unsigned char *mk = g_config.master_key_bin;
	char *jwt_secret = random_token(a, "", 32);
	char *token = random_token(a, "tsk_", 32);
	char hash[65];
	sha256_hex(hash, token, strlen(token));
	char key_id[40];
	id_new(key_id, sizeof(key_id), "key_");
	db_param tp[] = {
		db_str(id), db_str(t->name), db_str(t->email), db_str(t->plan), db_str(dbname),
		db_str(secret_seal(a, mk, jwt_secret, strlen(jwt_secret))),
		db_str(ro), db_str(secret_seal(a, mk, ro_pw, strlen(ro_pw))),
		db_str(rw), db_str(secret_seal(a, mk, rw_pw, strlen(rw_pw))), db_str(server_col),
	};
	db_param kp[] = { db_str(key_id), db_str(id), db_strn(token, 12), db_str(hash) };
	if (db_begin(db) ||
	    db_exec(db, a, "INSERT INTO tenants (id, name, owner_email, plan, status, db_name, "
		    "jwt_secret_enc, sql_ro_user, sql_ro_password_enc, sql_rw_user, "
		    "sql_rw_password_enc, db_server, settings, created_at, updated_at) VALUES "
		    "(?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, '{}', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		    tp, 11, NULL) ||
	    db_exec(db, a, "INSERT INTO api_keys (id, tenant_id, label, key_prefix, key_hash, "
		    "scopes, created_by, created_at, updated_at) VALUES "
		    "(?, ?, 'admin', ?, ?, '*', 'cli', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))",
		    kp, 4, NULL) ||
	    db_commit(db)) {
		fail(err, errlen, "insert tenant", db);
		db_rollback(db);
		tenant_db_drop(ddb, a, dbname, ro, rw);
		return -1;
	}
	*tenant_id = arena_strdup(a, id);
	*api_key = token;
	return 0;
}

static const col_t tenant_cols[] = {
	{ "tenant_id", COL_STR, 0 },
	{ "name", COL_STR, 0 },
	{ "plan", COL_STR, 0 },
	{ "status", COL_STR, 0 },
	{ "db_name", COL_STR, 0 },
	{ "db_server", COL_STR, 0 },
	{ "created_at", COL_TIME, 0 },
	{ NULL, 0, 0 },
};

cJSON *tenant_list(db_t *db, arena_t *a)
{
	db_result *res;
	if (db_exec(db, a, "SELECT id AS tenant_id, name, plan, status, db_name, "
		    "COALESCE(db_server, ?) AS db_server, created_at FROM tenants ORDER BY id",
		    (db_param[]){ db_str(db_server(db)) }, 1, &res))
		return NULL;
	return rows_to_json(tenant_cols, res);
}

int tenant_set_status(db_t *db, arena_t *a, const char *id, const char *status)
{
	db_result *res;
	db_param p[] = { db_str(status), db_str(id) };
	if (db_exec(db, a, "UPDATE tenants SET status = ?, updated_at = UTC_TIMESTAMP(3) "
		    "WHERE id = ?", p, 2, &res))
		return -1;
	db_param q[] = { db_str(id) };
	if (db_exec(db, a, "SELECT 1 FROM tenants WHERE id = ?", q, 1, &res) || res->nrows == 0)
		return -1;
	return 0;
}

/* The template database of every data server (lazytables.h). */
static int templates_migrate(db_t *db, arena_t *a, char *err, size_t errlen)
{
	char *names[16];
	int n = db_server_names(&g_config, names, 16), total = 0;
	for (int i = 0; i < n && total >= 0; i++) {
		db_t *ddb = db_for_server(db, names[i]);
		int got = ddb ? migrate_template(ddb, a, g_config.db_name, err, errlen) : 0;
		total = got < 0 ? -1 : total + got;
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	return total;
}

int tenant_migrate_all(db_t *db, arena_t *a, char *err, size_t errlen)
{
	db_result *res;
	if (templates_migrate(db, a, err, errlen) < 0)
		return -1;
	if (db_exec(db, a, "SELECT db_name, db_server FROM tenants ORDER BY id", NULL, 0, &res)) {
		snprintf(err, errlen, "%s", db_last_error(db));
		return -1;
	}
	int total = 0;
	for (int i = 0; i < res->nrows; i++) {
		db_t *ddb = db_for_server(db, db_cell(res, i, 1));
		if (!ddb) {
			snprintf(err, errlen, "%s: server %s is not in db_servers", db_cell(res, i, 0),
				 db_cell(res, i, 1));
			return -1;
		}
		int n = migrate_tenant(ddb, a, db_cell(res, i, 0), g_config.db_name, err, errlen);
		if (n < 0)
			return -1;
		total += n;
	}
	return total;
}

char *token_mint(db_t *db, arena_t *a, const char *tenant, const char *user_id,
		 const char *role, long ttl, char **session_id, char *err, size_t errlen)
{
	db_result *res;
	db_param p[] = { db_str(tenant) };
	if (db_exec(db, a, "SELECT jwt_secret_enc FROM tenants WHERE id = ?", p, 1, &res)) {
		fail(err, errlen, "look up tenant", db);
		return NULL;
	}
	if (res->nrows == 0) {
		snprintf(err, errlen, "no tenant %s", tenant);
		return NULL;
	}
	size_t klen;
	char *secret = secret_open(a, g_config.master_key_bin, db_cell(res, 0, 0), &klen);
	if (!secret) {
		snprintf(err, errlen, "cannot open the tenant's JWT secret (wrong master_key?)");
		return NULL;
	}
	char sid[40], jti[40];
	id_new(sid, sizeof(sid), "sess_");
	id_new(jti, sizeof(jti), "jti_");
	time_t now = time(NULL);
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "iss", "tessera");
	cJSON_AddStringToObject(c, "aud", "authenticated");
	cJSON_AddStringToObject(c, "sub", user_id);
	cJSON_AddStringToObject(c, "tenant_id", tenant);
	cJSON_AddStringToObject(c, "role", role);
	cJSON_AddStringToObject(c, "session_id", sid);
	cJSON_AddStringToObject(c, "jti", jti);
	cJSON_AddNumberToObject(c, "iat", (double)now);
	cJSON_AddNumberToObject(c, "exp", (double)(now + ttl));
	char *tok = jwt_sign(a, secret, klen, c);
	cJSON_Delete(c);
	*session_id = arena_strdup(a, sid);
	return tok;
}
