/*
 * outhttp.c - outgoing HTTP with the private-address guard (see outhttp.h).
 */
#include "outhttp.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cidr.h"
#include "timefmt.h"

#define URL_MAX 2048
#define BODY_READ_MAX (1024 * 1024)   /* a longer answer is cut off here */
#define RESOLVE_MAX 1024

/* Special-purpose ranges (IANA IPv4/IPv6 registries) no request may reach.
 * IPv4-mapped IPv6 addresses are folded to IPv4 by cidr_contains. */
static const char *const blocked[] = {
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	"::/8",                /* unspecified, loopback, IPv4-compatible */
	"64:ff9b::/96", "64:ff9b:1::/48", /* NAT64: could reach any IPv4 address */
	"100::/64", "2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20",
	"fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
};

static bool addr_text_public(const char *ip)
{
	for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++) {
		cidr_t c;
		if (cidr_parse(&c, blocked[i]) == 0 && cidr_contains(&c, ip))
			return false;
	}
	return true;
}

bool outhttp_addr_public(const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN];
	const void *src;
	if (sa->sa_family == AF_INET)
		src = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else
		return false;
	if (!inet_ntop(sa->sa_family, src, ip, sizeof(ip)))
		return false;
	return addr_text_public(ip);
}

/* host without the brackets of an IPv6 literal, into buf. */
static const char *bare_host(const char *host, char *buf, size_t len)
{
	size_t n = strlen(host);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		snprintf(buf, len, "%.*s", (int)(n - 2), host + 1);
		/* a zone id ("%25eth0") never names a public address anyway */
		return buf;
	}
	snprintf(buf, len, "%s", host);
	return buf;
}

static bool is_ip_literal(const char *bare)
{
	unsigned char tmp[16];
	return inet_pton(AF_INET, bare, tmp) == 1 || inet_pton(AF_INET6, bare, tmp) == 1;
}

/* Scheme, host and port of url; 0 or -1 with a message. */
static int url_parts(const char *url, char *host, size_t hostlen, long *port, char *err,
		     size_t errlen)
{
	if (strlen(url) > URL_MAX) {
		snprintf(err, errlen, "url must be at most %d characters", URL_MAX);
		return -1;
	}
	CURLU *u = curl_url();
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = -1;
	char *scheme = NULL, *h = NULL, *p = NULL, *user = NULL, *pass = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    strncmp(url, scheme, strlen(scheme)) != 0) {
		snprintf(err, errlen, "url must be an absolute http:// or https:// URL");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || !*h) {
		snprintf(err, errlen, "url has no host");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
		snprintf(err, errlen, "url must not contain a user name or password");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		snprintf(err, errlen, "url has no usable port");
		goto out;
	}
	if (strlen(h) >= hostlen) {
		snprintf(err, errlen, "url host is too long");
		goto out;
	}
	snprintf(host, hostlen, "%s", h);
	*port = strtol(p, NULL, 10);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(h);
	curl_free(p);
	curl_free(user);
	curl_free(pass);
	curl_url_cleanup(u);
	return rc;
}

int outhttp_url_check(const char *url, bool allow_private, char *err, size_t errlen)
{
	char host[300], bare[300];
	long port;
	if (url_parts(url, host, sizeof(host), &port, err, errlen))
		return -1;
	bare_host(host, bare, sizeof(bare));
	if (!allow_private && is_ip_literal(bare) && !addr_text_public(bare)) {
		snprintf(err, errlen, "url must not point to a private, loopback or link-local address");
		return -1;
	}
	return 0;
}

/*
 * Resolves host and checks every address; fills a CURLOPT_RESOLVE entry
 * "host:port:a1,[a2]" pinning the connection to them (empty for literals,
 * which curl never resolves).  0, or -1 with res->error (and res->refused).
 */
static int resolve_checked(const char *host, long port, char *entry, size_t entrylen,
			   outhttp_result_t *res)
{
	char bare[300];
	bare_host(host, bare, sizeof(bare));
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char portstr[16];
	snprintf(portstr, sizeof(portstr), "%ld", port);
	int gai = getaddrinfo(bare, portstr, &hints, &ai);
	if (gai != 0) {
		snprintf(res->error, sizeof(res->error), "cannot resolve %.150s: %s", bare,
			 gai_strerror(gai));
		return -1;
	}
	bool literal = is_ip_literal(bare);
	size_t n = (size_t)snprintf(entry, entrylen, "%s:%ld:", bare, port);
	int count = 0, rc = 0;
	for (struct addrinfo *p = ai; p; p = p->ai_next) {
		if (!outhttp_addr_public(p->ai_addr)) {
			snprintf(res->error, sizeof(res->error),
				 "refused: %.150s resolves to a private, loopback or link-local address",
				 bare);
			res->refused = true;
			rc = -1;
			break;
		}
		char ip[INET6_ADDRSTRLEN];
		const void *src = p->ai_family == AF_INET
			? (const void *)&((struct sockaddr_in *)(void *)p->ai_addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)(void *)p->ai_addr)->sin6_addr;
		if (!inet_ntop(p->ai_family, src, ip, sizeof(ip)) || n + strlen(ip) + 4 >= entrylen)
			continue;
		n += (size_t)snprintf(entry + n, entrylen - n, p->ai_family == AF_INET6 ? "%s[%s]" : "%s%s",
				      count ? "," : "", ip);
		count++;
	}
	freeaddrinfo(ai);
	if (rc == 0 && count == 0) {
		snprintf(res->error, sizeof(res->error), "cannot resolve %.150s", bare);
		rc = -1;
	}
	if (literal)
		entry[0] = '\0';
	return rc;
}

struct sink {
	outhttp_result_t *res;
	size_t kept;
	size_t total;
	outhttp_body_fn on_data;        /* NULL: keep the excerpt only */
	void *user;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct sink *s = userp;
	size_t n = size * nmemb;
	if (s->kept < OUTHTTP_EXCERPT_MAX) {
		size_t take = OUTHTTP_EXCERPT_MAX - s->kept;
		if (take > n)
			take = n;
		memcpy(s->res->excerpt + s->kept, data, take);
		s->kept += take;
		s->res->excerpt[s->kept] = '\0';
	}
	s->total += n;
	if (s->on_data)
		return s->on_data(s->user, data, n) ? n : 0;
	return s->total > BODY_READ_MAX ? 0 : n;
}

/* Cuts the excerpt at the last complete UTF-8 sequence and replaces
 * invalid bytes and NULs, so it can be stored and shown as text. */
static void excerpt_clean(char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80) {
			if (c == 0)
				s[i] = '?';
			i++;
			continue;
		}
		size_t need = (c >= 0xc2 && c <= 0xdf) ? 1 : (c & 0xf0) == 0xe0 ? 2
			    : (c >= 0xf0 && c <= 0xf4) ? 3 : 0;
		if (need && i + need >= len) {
			s[i] = '\0';   /* a sequence cut off by the excerpt's end */
			return;
		}
		unsigned char c1 = need ? (unsigned char)s[i + 1] : 0;
		bool ok = need && !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0) &&
			  !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
		for (size_t k = 1; ok && k <= need; k++)
			ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		if (!ok) {
			s[i++] = '?';
			continue;
		}
		i += need + 1;
	}
}

static void curl_once(void)
{
	static bool done;
	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		done = true;
	}
}

/* One request: its handle, what libcurl needs kept alive, and its result. */
struct outhttp_call {
	CURL *c;
	struct curl_slist *hl, *pin;
	struct sink sink;
	char cerr[CURL_ERROR_SIZE];
	long long t0;
	outhttp_result_t *res;
	char *body;                     /* the multi interface's own copy */
	outhttp_done_fn done;
	void *user;
	struct outhttp_call *next;      /* in flight on a multi handle */
};

/* Checks the target and prepares the handle; -1 with res->error set. */
static int call_setup(struct outhttp_call *k, const char *method, const char *url,
		      const char *const *headers, const char *body, size_t body_len,
		      int timeout_s, bool allow_private, outhttp_result_t *res)
{
	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
	k->res = res;
	k->t0 = time_now_ms();
	char host[300], entry[RESOLVE_MAX] = "";
	long port;
	if (url_parts(url, host, sizeof(host), &port, res->error, sizeof(res->error)))
		return -1;
	if (!allow_private && resolve_checked(host, port, entry, sizeof(entry), res)) {
		res->duration_ms = time_now_ms() - k->t0;
		return -1;
	}
	curl_once();
	CURL *c = k->c = curl_easy_init();
	if (!c) {
		snprintf(res->error, sizeof(res->error), "cannot start libcurl");
		return -1;
	}
	for (const char *const *h = headers; h && *h; h++)
		k->hl = curl_slist_append(k->hl, *h);
	/* No "Expect: 100-continue" round trip for larger bodies. */
	k->hl = curl_slist_append(k->hl, "Expect:");
	if (entry[0])
		k->pin = curl_slist_append(NULL, entry);
	k->sink = (struct sink){ .res = res };
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)timeout_s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, k->hl);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "Tessera/" TESSERA_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &k->sink);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, k->cerr);
	curl_easy_setopt(c, CURLOPT_PRIVATE, k);
	if (k->pin)
		curl_easy_setopt(c, CURLOPT_RESOLVE, k->pin);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	return 0;
}

/* Reads the outcome cc of the exchange into the result and releases the
 * handle.  Returns 0 when a response arrived. */
static int call_finish(struct outhttp_call *k, CURLcode cc)
{
	outhttp_result_t *res = k->res;
	if (k->c) {
		curl_easy_getinfo(k->c, CURLINFO_RESPONSE_CODE, &res->status);
		curl_off_t wait = -1;
		if (curl_easy_getinfo(k->c, CURLINFO_RETRY_AFTER, &wait) == CURLE_OK && wait >= 0)
			res->retry_after = (long)wait;
		if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && res->status > 0)) {
			snprintf(res->error, sizeof(res->error), "%s",
				 k->cerr[0] ? k->cerr : curl_easy_strerror(cc));
			res->status = 0;
		}
		excerpt_clean(res->excerpt, k->sink.kept);
		curl_easy_cleanup(k->c);
		k->c = NULL;
		res->duration_ms = time_now_ms() - k->t0;
	}
	curl_slist_free_all(k->hl);
	curl_slist_free_all(k->pin);
	k->hl = k->pin = NULL;
	return res->status > 0 ? 0 : -1;
}

int outhttp_request(const char *method, const char *url, const char *const *headers,
		    const char *body, size_t body_len, int timeout_s, bool allow_private,
		    outhttp_result_t *res)
{
	return outhttp_request_to(method, url, headers, body, body_len, timeout_s, allow_private,
				  NULL, NULL, res);
}

int outhttp_request_to(const char *method, const char *url, const char *const *headers,
		       const char *body, size_t body_len, int timeout_s, bool allow_private,
		       outhttp_body_fn on_data, void *user, outhttp_result_t *res)
{
	struct outhttp_call k = { 0 };
	if (call_setup(&k, method, url, headers, body, body_len, timeout_s, allow_private, res)) {
		call_finish(&k, CURLE_OK);
		return -1;
	}
	k.sink.on_data = on_data;
	k.sink.user = user;
	return call_finish(&k, curl_easy_perform(k.c));
}

/* --- many at once ---------------------------------------------------------- */

struct outhttp_multi {
	CURLM *m;
	struct outhttp_call *calls;     /* in flight, and those refused at once */
	int inflight;
};

outhttp_multi_t *outhttp_multi_new(void)
{
	curl_once();
	outhttp_multi_t *m = calloc(1, sizeof(*m));
	if (m && !(m->m = curl_multi_init())) {
		free(m);
		return NULL;
	}
	return m;
}

static void call_free(struct outhttp_call *k)
{
	free(k->body);
	free(k->res);
	free(k);
}

void outhttp_multi_add(outhttp_multi_t *m, const char *method, const char *url,
		       const char *const *headers, const char *body, size_t body_len,
		       int timeout_s, bool allow_private, outhttp_done_fn done, void *user)
{
	struct outhttp_call *k = calloc(1, sizeof(*k));
	outhttp_result_t *res = malloc(sizeof(*res));
	char *copy = body ? malloc(body_len + 1) : NULL;
	if (!k || !res || (body && !copy)) {
		outhttp_result_t oom = { .error = "out of memory" };
		free(k);
		free(res);
		free(copy);
		done(user, &oom);
		return;
	}
	if (copy) {
		memcpy(copy, body, body_len);
		copy[body_len] = '\0';
	}
	k->body = copy;
	k->done = done;
	k->user = user;
	k->next = m->calls;
	m->calls = k;
	m->inflight++;
	if (call_setup(k, method, url, headers, copy, body_len, timeout_s, allow_private, res) ||
	    curl_multi_add_handle(m->m, k->c) != CURLM_OK) {
		if (!res->error[0])
			snprintf(res->error, sizeof(res->error), "cannot start the request");
		call_finish(k, CURLE_OK);   /* reported by the next outhttp_multi_run */
	}
}

int outhttp_multi_inflight(const outhttp_multi_t *m)
{
	return m->inflight;
}

/* Reports and frees the call k, unlinking it from m. */
static void call_report(outhttp_multi_t *m, struct outhttp_call *k)
{
	for (struct outhttp_call **pp = &m->calls; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	m->inflight--;
	k->done(k->user, k->res);
	call_free(k);
}

int outhttp_multi_run(outhttp_multi_t *m, int wait_ms, int wake_fd)
{
	/* Calls that never started are reported first. */
	for (struct outhttp_call *k = m->calls, *next; k; k = next) {
		next = k->next;
		if (!k->c)
			call_report(m, k);
	}
	int running = 0;
	curl_multi_perform(m->m, &running);
	struct curl_waitfd extra = { .fd = wake_fd, .events = CURL_WAIT_POLLIN };
	if (wait_ms > 0)
		curl_multi_poll(m->m, wake_fd >= 0 ? &extra : NULL, wake_fd >= 0 ? 1 : 0, wait_ms,
				NULL);
	curl_multi_perform(m->m, &running);
	int finished = 0, left;
	CURLMsg *msg;
	while ((msg = curl_multi_info_read(m->m, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct outhttp_call *k = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&k);
		CURLcode cc = msg->data.result;
		curl_multi_remove_handle(m->m, msg->easy_handle);
		call_finish(k, cc);
		call_report(m, k);
		finished++;
	}
	return finished;
}

void outhttp_multi_free(outhttp_multi_t *m)
{
	if (!m)
		return;
	while (m->calls) {
		struct outhttp_call *k = m->calls;
		if (k->c)
			curl_multi_remove_handle(m->m, k->c);
		call_finish(k, CURLE_ABORTED_BY_CALLBACK);
		m->calls = k->next;
		call_free(k);
	}
	curl_multi_cleanup(m->m);
	free(m);
}
