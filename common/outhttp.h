/*
 * outhttp.h - outgoing HTTP requests (webhooks today; OAuth, AI, SMS and
 * integrations later) through libcurl, guarded against server-side request
 * forgery.
 *
 * Unless the config allows private targets (http_allow_private), a request
 * goes out only if every address its host resolves to is public: not
 * loopback, private (RFC 1918, ULA), link-local, CGNAT, multicast,
 * documentation, benchmarking or otherwise reserved.  The host is resolved
 * here, each address is checked, and the connection is pinned to the
 * checked addresses (CURLOPT_RESOLVE), so a DNS answer that changes between
 * the check and the connect (DNS rebinding) cannot reach an internal
 * service.  Redirects are not followed and proxies from the environment are
 * ignored, for the same reason.
 */
#ifndef TESSERA_OUTHTTP_H
#define TESSERA_OUTHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* At most this much of a response body is kept (the rest is read and dropped). */
#define OUTHTTP_EXCERPT_MAX 1024

typedef struct outhttp_result {
	long status;                          /* HTTP status, 0 when no response came */
	char excerpt[OUTHTTP_EXCERPT_MAX + 1]; /* start of the response body, NUL-terminated */
	long duration_ms;                     /* resolve + connect + exchange */
	bool refused;                         /* the target address was not allowed */
	long retry_after;                     /* Retry-After in seconds, -1 when absent */
	char error[256];                      /* why there was no response, else "" */
} outhttp_result_t;

/*
 * Sends method (e.g. "POST") to url (http or https) with headers (a
 * NULL-terminated array of "Name: value" lines, may be NULL) and body (may
 * be NULL), waiting at most timeout_s seconds in all.  allow_private lifts
 * the address check.  Returns 0 when a response arrived (whatever its
 * status), or -1 with res->error set (res->refused when the guard said no).
 */
int outhttp_request(const char *method, const char *url, const char *const *headers,
		    const char *body, size_t body_len, int timeout_s, bool allow_private,
		    outhttp_result_t *res);

/*
 * The same, handing every piece of the response body to on_data(user,
 * data, len) as it arrives (the excerpt keeps its start all the same);
 * on_data returns false to stop reading, which ends the exchange (the
 * status stays what the server said).  No cap on the body's size but the
 * one on_data applies.
 */
typedef bool (*outhttp_body_fn)(void *user, const char *data, size_t len);
int outhttp_request_to(const char *method, const char *url, const char *const *headers,
		       const char *body, size_t body_len, int timeout_s, bool allow_private,
		       outhttp_body_fn on_data, void *user, outhttp_result_t *res);

/*
 * Many requests at once on one thread (libcurl's multi interface), with the
 * same guard and limits as outhttp_request.  outhttp_multi_add starts one
 * (copying headers and body); done(user, res) is called once it has ended,
 * from outhttp_multi_run, also when it could not start (res->error says
 * why).  outhttp_multi_run moves every request on, waiting up to wait_ms
 * for progress or for wake_fd (-1: none) to become readable; it returns how
 * many ended.  The address check resolves the host before the request
 * starts, so a slow DNS answer holds up the others.
 */
typedef struct outhttp_multi outhttp_multi_t;
typedef void (*outhttp_done_fn)(void *user, const outhttp_result_t *res);

outhttp_multi_t *outhttp_multi_new(void);
void outhttp_multi_add(outhttp_multi_t *m, const char *method, const char *url,
		       const char *const *headers, const char *body, size_t body_len,
		       int timeout_s, bool allow_private, outhttp_done_fn done, void *user);
int outhttp_multi_run(outhttp_multi_t *m, int wait_ms, int wake_fd);
/* Requests added and not yet reported. */
int outhttp_multi_inflight(const outhttp_multi_t *m);
/* Abandons what is in flight (done is not called) and frees m. */
void outhttp_multi_free(outhttp_multi_t *m);

/* True if the address may be reached from a public service: false for
 * loopback, private, link-local and every other special-purpose range
 * (IPv4-mapped IPv6 addresses are judged as IPv4). */
bool outhttp_addr_public(const struct sockaddr *sa);

/*
 * Checks that url is an absolute http:// or https:// URL with a host and
 * without user name or password, at most 2,048 characters; when the host
 * is a literal IP address it must be public unless allow_private.  (Names
 * are resolved and checked again at every request.)  Returns 0, or -1 with
 * a message in err.
 */
int outhttp_url_check(const char *url, bool allow_private, char *err, size_t errlen);

#endif
