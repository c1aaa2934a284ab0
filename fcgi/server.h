/*
 * server.h - `tessera serve`: the prefork master and its FastCGI workers.
 */
#ifndef TESSERA_SERVER_H
#define TESSERA_SERVER_H

/* Runs the master until SIGTERM/SIGINT.  config_path is re-read on SIGHUP.
 * Returns the process exit status. */
int server_run(const char *config_path);

/* When this process started (ms since the epoch), for /health. */
extern long long g_started_ms;

#endif
