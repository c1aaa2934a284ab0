/*
 * log.h - one-line log records to the configured log file (or stderr).
 *
 * Each record: RFC 3339 time, level, pid, then the message.  Request records
 * carry the request id so that an X-Request-Id from a client finds its line.
 */
#ifndef TESSERA_LOG_H
#define TESSERA_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Opens path for appending (NULL or "" means stderr).  Returns 0 or -1. */
int log_open(const char *path, enum log_level min);
/* Caches the process id for log records; call again after fork(). */
void log_set_pid(void);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Parses "debug", "info", "warn", "error"; returns -1 on anything else. */
int log_level_parse(const char *s);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
