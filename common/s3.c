/*
 * s3.c - presigned (SigV4 query-string) requests to an S3-compatible bucket
 * over libcurl; see s3.h for why Tessera signs itself.  Keys are made by
 * the server (storage.h), so they hold only [A-Za-z0-9/_.-] and are still
 * URI-encoded as SigV4 asks.  A URL is never logged: it carries a
 * signature that is a credential until it expires.
 */
#include "s3.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "codec.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "strbuf.h"

/* Seconds the app's own request URLs stay valid (they are used at once). */
#define S3_REQUEST_TTL 900
/* Most bytes of a listing or error text kept. */
#define S3_TEXT_MAX (4u << 20)

/* RFC 3986 unreserved characters pass; others become %XX (upper case);
 * '/' passes too when keep_slash (a path). */
static char *uri_encode(arena_t *a, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = arena_alloc(a, strlen(s) * 3 + 1), *o = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~' || (keep_slash && *p == '/')) {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

static int param_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* "a=1&c=3" + "b=2" sorted by name, as the canonical query wants. */
static char *query_sorted(arena_t *a, const char *fixed, const char *extra)
{
	char *all = extra && *extra ? arena_printf(a, "%s&%s", fixed, extra) : arena_strdup(a, fixed);
	char *v[64];
	size_t n = 0;
	char *save = NULL;
	for (char *p = strtok_r(all, "&", &save); p && n < 64; p = strtok_r(NULL, "&", &save))
		v[n++] = strchr(p, '=') ? p : arena_printf(a, "%s=", p);
	qsort(v, n, sizeof(v[0]), param_cmp);
	strbuf_t b = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_puts(&b, "&");
		sb_puts(&b, v[i]);
	}
	return sb_take(&b, a);
}

static void hmac_text(unsigned char out[32], const void *key, size_t keylen, const char *msg)
{
	hmac_sha256(out, key, keylen, msg, strlen(msg));
}

char *s3_presign(arena_t *a, const struct s3_target *t, const char *method, const char *key,
		 const char *query, long ttl, time_t now)
{
	const char *rest = !strncmp(t->base, "https://", 8) ? t->base + 8
			 : !strncmp(t->base, "http://", 7) ? t->base + 7 : NULL;
	if (!rest || !*rest || *rest == '/')
		return NULL;
	bool tls = rest - t->base == 8;
	size_t alen = strcspn(rest, "/");
	char *authority = arena_printf(a, "%.*s", (int)alen, rest);
	char *host = authority;
	size_t hl = strlen(host);
	if ((tls && hl > 4 && !strcmp(host + hl - 4, ":443")) ||
	    (!tls && hl > 3 && !strcmp(host + hl - 3, ":80")))
		host = arena_printf(a, "%.*s", (int)(hl - (tls ? 4 : 3)), host);
	const char *prefix = rest + alen;
	size_t pl = strlen(prefix);
	if (pl && prefix[pl - 1] == '/')
		pl--;
	/* The bucket itself (a listing) is its path with no trailing '/'. */
	char *uri = *key ? arena_printf(a, "%.*s/%s", (int)pl, prefix, uri_encode(a, key, true))
			 : pl ? arena_printf(a, "%.*s", (int)pl, prefix) : arena_strdup(a, "/");

	struct tm tm;
	gmtime_r(&now, &tm);
	char stamp[17], day[9];
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	memcpy(day, stamp, 8);
	day[8] = '\0';
	char *scope = arena_printf(a, "%s/%s/s3/aws4_request", day, t->region);
	char *cq = query_sorted(a, arena_printf(a,
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=%s&X-Amz-Date=%s&"
		"X-Amz-Expires=%ld&X-Amz-SignedHeaders=host",
		uri_encode(a, arena_printf(a, "%s/%s", t->access_key, scope), false), stamp, ttl), query);
	char *creq = arena_printf(a, "%s\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD", method, uri, cq,
				  host);
	char creq_hex[65];
	sha256_hex(creq_hex, creq, strlen(creq));
	char *sts = arena_printf(a, "AWS4-HMAC-SHA256\n%s\n%s\n%s", stamp, scope, creq_hex);

	char *k0 = arena_printf(a, "AWS4%s", t->secret_key);
	unsigned char k[32], sig[32];
	hmac_text(k, k0, strlen(k0), day);
	hmac_text(k, k, 32, t->region);
	hmac_text(k, k, 32, "s3");
	hmac_text(k, k, 32, "aws4_request");
	hmac_text(sig, k, 32, sts);
	char sig_hex[65];
	hex_encode(sig_hex, sizeof(sig_hex), sig, sizeof(sig));
	sodium_memzero(k, sizeof(k));
	return arena_printf(a, "%s://%s%s?%s&X-Amz-Signature=%s", tls ? "https" : "http", authority,
			    uri, cq, sig_hex);
}

const struct s3_target *s3_config_target(void)
{
	static struct s3_target t;
	static char base[1024];
	if (!t.base) {
		const char *ep = g_config.s3_endpoint;
		size_t el = strlen(ep);
		while (el && ep[el - 1] == '/')
			el--;
		const char *sep = strstr(ep, "://");
		if (g_config.s3_path_style || !sep)
			snprintf(base, sizeof(base), "%.*s/%s", (int)el, ep, g_config.s3_bucket);
		else
			snprintf(base, sizeof(base), "%.*s://%s.%.*s", (int)(sep - ep), ep,
				 g_config.s3_bucket, (int)(el - (size_t)(sep + 3 - ep)), sep + 3);
		t.region = g_config.s3_region;
		t.access_key = g_config.s3_access_key;
		t.secret_key = g_config.s3_secret_key;
		t.base = base;
	}
	return &t;
}

/* ------------------------------------------------------------ requests */

struct xfer {
	FILE *in;                 /* upload from a file, or */
	const unsigned char *mem; /* from memory */
	size_t memlen, off;
	FILE *out;                /* the response body into a file, or */
	strbuf_t text;            /* kept as text (listings, errors) */
};

static size_t on_read(char *buf, size_t size, size_t n, void *data)
{
	struct xfer *x = data;
	if (x->in)
		return fread(buf, 1, size * n, x->in);
	size_t len = x->memlen - x->off < size * n ? x->memlen - x->off : size * n;
	memcpy(buf, x->mem + x->off, len);
	x->off += len;
	return len;
}

static size_t on_write(char *buf, size_t size, size_t n, void *data)
{
	struct xfer *x = data;
	if (x->out)
		return fwrite(buf, 1, size * n, x->out);
	sb_putn(&x->text, buf, size * n);
	return size * n;
}

/* One request; the HTTP status, or -1 when none came (logged). */
static long s3_perform(arena_t *a, const char *method, const char *key, const char *query,
		       struct xfer *x, long long upload_len)
{
	char *url = s3_presign(a, s3_config_target(), method, key, query, S3_REQUEST_TTL,
			       time(NULL));
	CURL *c = url ? curl_easy_init() : NULL;
	if (!c) {
		log_error("s3: cannot make a request for %s (is s3_endpoint a URL?)", key);
		return -1;
	}
	struct curl_slist *hdr = curl_slist_append(NULL, "Expect:");
	x->text.max = S3_TEXT_MAX;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	if (!strcmp(method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)upload_len);
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode rc = curl_easy_perform(c);
	long status = -1;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		log_error("s3: %s %s: %s", method, key, curl_easy_strerror(rc));
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	return status;
}

/* Logs a failed answer with the store's error code. */
static int s3_failed(arena_t *a, const char *method, const char *key, long status,
		     struct xfer *x)
{
	char *text = sb_take(&x->text, a);
	const char *code = strstr(text, "<Code>");
	if (status > 0)
		log_error("s3: %s %s: HTTP %ld %.*s", method, key, status,
			  code ? (int)strcspn(code + 6, "<") : 0, code ? code + 6 : "");
	errno = EIO; /* for the callers' %m */
	return -1;
}

int s3_put(arena_t *a, const char *key, const void *data, size_t len)
{
	struct xfer x = { .mem = data, .memlen = len };
	long st = s3_perform(a, "PUT", key, NULL, &x, (long long)len);
	return st == 200 ? (sb_take(&x.text, a), 0) : s3_failed(a, "PUT", key, st, &x);
}

int s3_put_file(arena_t *a, const char *key, const char *path)
{
	struct xfer x = { .in = fopen(path, "rb") };
	if (!x.in) {
		log_error("s3: PUT %s: cannot open %s: %m", key, path);
		return -1;
	}
	long long len = -1;
	if (fseeko(x.in, 0, SEEK_END) == 0)
		len = (long long)ftello(x.in);
	rewind(x.in);
	long st = len < 0 ? -1 : s3_perform(a, "PUT", key, NULL, &x, len);
	fclose(x.in);
	return st == 200 ? (sb_take(&x.text, a), 0) : s3_failed(a, "PUT", key, st, &x);
}

int s3_get_file(arena_t *a, const char *key, const char *path)
{
	struct xfer x = { .out = fopen(path, "wbx") };
	if (!x.out) {
		log_error("s3: GET %s: cannot create %s: %m", key, path);
		return -1;
	}
	long st = s3_perform(a, "GET", key, NULL, &x, 0);
	int rc = fclose(x.out);
	x.out = NULL;
	if (st == 200 && rc == 0)
		return 0;
	remove(path);
	if (st == 404)
		return 1;
	return s3_failed(a, "GET", key, st, &x);
}

int s3_exists(arena_t *a, const char *key)
{
	struct xfer x = { 0 };
	long st = s3_perform(a, "HEAD", key, NULL, &x, 0);
	sb_take(&x.text, a);
	return st == 200 ? 1 : st == 404 ? 0 : -1;
}

int s3_delete(arena_t *a, const char *key)
{
	struct xfer x = { 0 };
	long st = s3_perform(a, "DELETE", key, NULL, &x, 0);
	return st == 204 || st == 200 || st == 404 ? (sb_take(&x.text, a), 0)
						   : s3_failed(a, "DELETE", key, st, &x);
}

/* The text between <tag> and </tag> after *at, advancing *at; NULL at the end. */
static char *xml_next(arena_t *a, const char **at, const char *tag)
{
	char *open = arena_printf(a, "<%s>", tag), *close = arena_printf(a, "</%s>", tag);
	const char *s = strstr(*at, open);
	const char *e = s ? strstr(s, close) : NULL;
	if (!e)
		return NULL;
	s += strlen(open);
	*at = e + strlen(close);
	return arena_printf(a, "%.*s", (int)(e - s), s);
}

int s3_delete_prefix(arena_t *a, const char *prefix)
{
	char *token = NULL;
	/* A listing holds up to 1,000 keys; a file has far fewer objects. */
	for (int page = 0; page < 1000; page++) {
		char *q = arena_printf(a, "list-type=2&prefix=%s%s%s", uri_encode(a, prefix, false),
				       token ? "&continuation-token=" : "",
				       token ? uri_encode(a, token, false) : "");
		struct xfer x = { 0 };
		long st = s3_perform(a, "GET", "", q, &x, 0);
		if (st != 200)
			return s3_failed(a, "LIST", prefix, st, &x);
		const char *text = sb_take(&x.text, a), *at = text;
		for (char *key; (key = xml_next(a, &at, "Key")) != NULL;)
			if (s3_delete(a, key))
				return -1;
		at = text;
		char *more = xml_next(a, &at, "IsTruncated");
		at = text;
		token = more && !strcmp(more, "true") ? xml_next(a, &at, "NextContinuationToken")
						       : NULL;
		if (!token)
			return 0;
	}
	return -1;
}
