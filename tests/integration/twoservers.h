/*
 * twoservers.h - a stack on two MariaDB servers, for the suites that need
 * one (dbservers, tenantmove).
 *
 * The fixture of twoservers_tcase starts a second mariadbd (tools/stack
 * db-start in its own directory, an account for Tessera made on it) and
 * its own stack whose tessera.conf names it (db_servers = s2=unix:…).
 * While the test case runs, TESSERA_TEST_URL and TESSERA_TEST_DIR name
 * that stack, so the harness's helpers talk to it.
 */
#ifndef TESSERA_TEST_TWOSERVERS_H
#define TESSERA_TEST_TWOSERVERS_H

#include <stdbool.h>

#include "harness.h"

/* A test case on the two-server stack (its fixture set). */
TCase *twoservers_tcase(const char *name, int timeout_s);
/* Adds tc to s after a last test: the stack logged no ERROR or WARN line. */
void twoservers_tcase_add(Suite *s, TCase *tc);

/* A query on the second server (in its control schema), trimmed (malloc'd). */
char *s2_sql(const char *sql);
/* Waits (10 s at most) until the query on s2 answers want. */
void s2_wait(const char *sql, const char *want);
/* A tenant made with `tessera tenant create` (--server when server). */
void tenant_on(struct tenant *t, const char *server);
/* The tenant's server by the control row ("main" or "s2", malloc'd). */
char *server_of(const char *tenant);
/* Whether the tenant's data DB exists on the primary / on s2 (second). */
bool db_on(bool second, const char *tenant);

#endif
