/*
 * mailer.c - RFC 5322 messages, SMTP and SMS delivery (see mailer.h).
 */
#include "mailer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "codec.h"
#include "strbuf.h"
#include "config.h"
#include "ids.h"
#include "timefmt.h"

#define MAIL_TIMEOUT_S 30
#define QP_LINE 76

static const char *public_host(arena_t *a)
{
	const char *u = g_config.public_url ? g_config.public_url : "";
	const char *h = strstr(u, "://");
	h = h ? h + 3 : u;
	size_t n = strcspn(h, ":/?#");
	return n ? arena_strndup(a, h, n) : "localhost";
}

const char *mail_default_from(arena_t *a)
{
	if (g_config.smtp_from && *g_config.smtp_from)
		return g_config.smtp_from;
	return arena_printf(a, "no-reply@%s", public_host(a));
}

char *mail_message_id(arena_t *a)
{
	char id[40];
	id_new(id, sizeof(id), "msg_");
	return arena_printf(a, "<%s@%s>", id, public_host(a));
}

/* --- encodings ----------------------------------------------------------- */

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* RFC 2047 encoded words (UTF-8, B) for a header value that is not ASCII;
 * words never split a UTF-8 sequence and stay within 75 characters. */
static void put_header_text(strbuf_t *b, const char *s)
{
	if (is_ascii(s)) {
		sb_puts(b, s);
		return;
	}
	size_t n = strlen(s), i = 0;
	bool first = true;
	while (i < n) {
		size_t take = 0;
		/* 45 bytes become 60 base64 characters: "=?UTF-8?B?" + 60 + "?=" = 72. */
		while (i + take < n) {
			size_t cl = 1;
			unsigned char c = (unsigned char)s[i + take];
			if (c >= 0xF0)
				cl = 4;
			else if (c >= 0xE0)
				cl = 3;
			else if (c >= 0xC0)
				cl = 2;
			if (take + cl > 45)
				break;
			take += cl;
		}
		if (take == 0)
			take = 1;
		char enc[128];
		sodium_bin2base64(enc, sizeof(enc), (const unsigned char *)s + i, take,
				  sodium_base64_VARIANT_ORIGINAL);
		sb_printf(b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", enc);
		first = false;
		i += take;
	}
}

/* Quoted-printable (RFC 2045) of text with its line ends made CRLF. */
static void put_qp(strbuf_t *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int col = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n' || *p == '\r') {
			sb_puts(b, "\r\n");
			col = 0;
			continue;
		}
		bool at_eol = p[1] == '\0' || p[1] == '\n' || p[1] == '\r';
		bool literal = (*p >= 33 && *p <= 126 && *p != '=') ||
			       ((*p == ' ' || *p == '\t') && !at_eol);
		/* A line starting with "." or "From " is left alone: curl stuffs
		 * dots, and nobody reads these messages through mbox. */
		int need = literal ? 1 : 3;
		if (col + need > QP_LINE - 1) {
			sb_puts(b, "=\r\n");
			col = 0;
		}
		if (literal) {
			sb_putn(b, (const char *)p, 1);
		} else {
			char e[3] = { '=', hex[*p >> 4], hex[*p & 15] };
			sb_putn(b, e, 3);
		}
		col += need;
	}
	sb_puts(b, "\r\n");
}

/* "Name <addr>" with the name quoted or encoded, or the bare address. */
static void put_mailbox(strbuf_t *b, const char *name, const char *addr)
{
	if (name && *name) {
		if (is_ascii(name)) {
			sb_puts(b, "\"");
			for (const char *p = name; *p; p++) {
				if (*p == '"' || *p == '\\')
					sb_puts(b, "\\");
				if (*p != '\r' && *p != '\n')
					sb_putn(b, p, 1);
			}
			sb_puts(b, "\"");
		} else {
			put_header_text(b, name);
		}
		sb_printf(b, " <%s>", addr);
	} else {
		sb_puts(b, addr);
	}
}

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void new_boundary(char *out, size_t len)
{
	unsigned char rnd[12];
	randombytes_buf(rnd, sizeof(rnd));
	hex_encode(out, len, rnd, sizeof(rnd));
}

/* The text and HTML of a message: its Content-Type header onwards. */
static void put_body(strbuf_t *b, const char *text, const char *html)
{
	if (text && html) {
		char boundary[40];
		new_boundary(boundary, sizeof(boundary));
		sb_printf(b, "Content-Type: multipart/alternative; boundary=\"=_%s\"\r\n\r\n"
			  "This is a multi-part message in MIME format.\r\n", boundary);
		sb_printf(b, "--=_%s\r\nContent-Type: text/plain; charset=UTF-8\r\n"
			  "Content-Transfer-Encoding: quoted-printable\r\n\r\n", boundary);
		put_qp(b, text);
		sb_printf(b, "--=_%s\r\nContent-Type: text/html; charset=UTF-8\r\n"
			  "Content-Transfer-Encoding: quoted-printable\r\n\r\n", boundary);
		put_qp(b, html);
		sb_printf(b, "--=_%s--\r\n", boundary);
	} else {
		sb_printf(b, "Content-Type: text/%s; charset=UTF-8\r\n"
			  "Content-Transfer-Encoding: quoted-printable\r\n\r\n", text ? "plain" : "html");
		put_qp(b, text ? text : html);
	}
}

/* One attachment {filename, content_type, content: standard base64} as a
 * part of the multipart/mixed message; false if a member is missing or
 * malformed.  Names and types are reduced to safe characters, the
 * base64 is re-wrapped into lines of 76. */
static bool put_attachment(strbuf_t *b, const char *boundary, const cJSON *att)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+/";
	const char *name = jstr(att, "filename"), *type = jstr(att, "content_type");
	const char *data = jstr(att, "content");
	if (!name || !*name || strlen(name) > 200 || !type || strlen(type) > 127 ||
	    strspn(type, safe) != strlen(type) || !data)
		return false;
	size_t n = strlen(data);
	if (strspn(data, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != n)
		return false;
	char *clean = strdup(name);
	if (!clean)
		abort();
	for (char *p = clean; *p; p++)
		if (!strchr(safe, *p) || *p == '/')
			*p = '_';
	sb_printf(b, "--=_%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Disposition: attachment; "
		  "filename=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n", boundary, type,
		  clean, clean);
	free(clean);
	for (size_t at = 0; at < n; at += 76)
		sb_printf(b, "%.*s\r\n", (int)(n - at < 76 ? n - at : 76), data + at);
	return true;
}

char *mail_build(arena_t *a, const cJSON *payload)
{
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(payload, "to");
	const char *from = jstr(payload, "from") ? jstr(payload, "from") : mail_default_from(a);
	const char *subject = jstr(payload, "subject");
	const char *text = jstr(payload, "text"), *html = jstr(payload, "html");
	const char *mid = jstr(payload, "message_id"), *reply = jstr(payload, "reply_to");
	if (!cJSON_IsArray(to) || cJSON_GetArraySize(to) == 0 || !from || !subject || !mid ||
	    (!text && !html))
		return NULL;
	strbuf_t b = { 0 };
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
		 tm.tm_mday, mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	sb_printf(&b, "Date: %s\r\nMessage-ID: %s\r\nFrom: ", date, mid);
	put_mailbox(&b, jstr(payload, "from_name"), from);
	sb_puts(&b, "\r\nTo: ");
	const cJSON *it;
	bool first = true;
	cJSON_ArrayForEach(it, to) {
		if (!cJSON_IsString(it))
			continue;
		sb_printf(&b, "%s%s", first ? "" : ",\r\n ", it->valuestring);
		first = false;
	}
	if (reply)
		sb_printf(&b, "\r\nReply-To: %s", reply);
	sb_puts(&b, "\r\nSubject: ");
	put_header_text(&b, subject);
	sb_puts(&b, "\r\nMIME-Version: 1.0\r\n");
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(payload, "attachments");
	if (cJSON_GetArraySize(files) > 0) {
		char mixed[40];
		new_boundary(mixed, sizeof(mixed));
		sb_printf(&b, "Content-Type: multipart/mixed; boundary=\"=_%s\"\r\n\r\n"
			  "This is a multi-part message in MIME format.\r\n--=_%s\r\n", mixed, mixed);
		put_body(&b, text, html);
		cJSON_ArrayForEach(it, files)
			if (!put_attachment(&b, mixed, it)) {
				sb_take(&b, a);
				return NULL;
			}
		sb_printf(&b, "--=_%s--\r\n", mixed);
	} else {
		put_body(&b, text, html);
	}
	return sb_take(&b, a);
}

/* --- drivers ------------------------------------------------------------- */

/* Writes data to dir/name atomically (temp file, fsync, rename). */
static int file_write(const char *dir, const char *name, const char *data, size_t len,
		      char *err, size_t errlen)
{
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	char tmp[4096], path[4096];
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot store %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t upload_read(char *buf, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t want = size * n;
	if (want > u->left)
		want = u->left;
	memcpy(buf, u->p, want);
	u->p += want;
	u->left -= want;
	return want;
}

/* Performs c with the timeouts every delivery uses, then frees it;
 * *code receives the last SMTP reply or HTTP status. */
static CURLcode curl_run(CURL *c, long *code)
{
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)MAIL_TIMEOUT_S);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	curl_easy_cleanup(c);
	return rc;
}

static curl_usessl smtp_tls_mode(void)
{
	const char *m = g_config.smtp_tls ? g_config.smtp_tls : "try";
	if (!strcmp(m, "starttls") || !strcmp(m, "require"))
		return CURLUSESSL_ALL;
	if (!strcmp(m, "none") || !strcmp(m, "off"))
		return CURLUSESSL_NONE;
	return CURLUSESSL_TRY;
}

static int smtp_send(arena_t *a, const cJSON *payload, const char *msg, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	struct curl_slist *rcpt = NULL;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(payload, "to"))
		if (cJSON_IsString(it))
			rcpt = curl_slist_append(rcpt, it->valuestring);
	char from[300];
	snprintf(from, sizeof(from), "<%s>", jstr(payload, "from") ? jstr(payload, "from") : mail_default_from(a));
	struct upload u = { msg, strlen(msg) };
	curl_easy_setopt(c, CURLOPT_URL, g_config.smtp_url);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(c, CURLOPT_READDATA, &u);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)smtp_tls_mode());
	if (g_config.smtp_insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (g_config.smtp_user && *g_config.smtp_user) {
		curl_easy_setopt(c, CURLOPT_USERNAME, g_config.smtp_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, g_config.smtp_password ? g_config.smtp_password : "");
	}
	long code = 0;
	CURLcode rc = curl_run(c, &code);
	curl_slist_free_all(rcpt);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "SMTP delivery failed: %s (last reply %ld)", curl_easy_strerror(rc), code);
		return -1;
	}
	return 0;
}

int mail_deliver(arena_t *a, const char *tenant_id, const cJSON *payload, char *err, size_t errlen)
{
	char *msg = mail_build(a, payload);
	if (!msg) {
		snprintf(err, errlen, "malformed email payload");
		return -1;
	}
	if (g_config.smtp_url && *g_config.smtp_url)
		return smtp_send(a, payload, msg, err, errlen);
	/* The file name is the Message-ID's left part (msg_<ulid>). */
	const char *mid = jstr(payload, "message_id");
	size_t n = strcspn(mid + 1, "@>");
	char *name = arena_printf(a, "%.*s.eml", (int)n, mid + 1);
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(name)) {
		snprintf(err, errlen, "malformed Message-ID");
		return -1;
	}
	if (tenant_id && *tenant_id)
		msg = arena_printf(a, "X-Tessera-Tenant: %s\r\n%s", tenant_id, msg);
	return file_write(g_config.mail_dir, name, msg, strlen(msg), err, errlen);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static int sms_http(const char *to, const char *from, const char *body, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(err, errlen, "cannot initialise libcurl");
		return -1;
	}
	char *eto = curl_easy_escape(c, to, 0), *efrom = curl_easy_escape(c, from, 0);
	char *ebody = curl_easy_escape(c, body, 0);
	size_t n = strlen(eto) + strlen(efrom) + strlen(ebody) + 32;
	char *form = malloc(n);
	snprintf(form, n, "To=%s&From=%s&Body=%s", eto, efrom, ebody);
	curl_free(eto);
	curl_free(efrom);
	curl_free(ebody);
	curl_easy_setopt(c, CURLOPT_URL, g_config.sms_url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(c, CURLOPT_USERNAME, g_config.sms_account_sid ? g_config.sms_account_sid : "");
	curl_easy_setopt(c, CURLOPT_PASSWORD, g_config.sms_auth_token ? g_config.sms_auth_token : "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	long code = 0;
	CURLcode rc = curl_run(c, &code);
	free(form);
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "SMS provider unreachable: %s", curl_easy_strerror(rc));
		return -1;
	}
	if (code < 200 || code > 299) {
		snprintf(err, errlen, "SMS provider answered HTTP %ld", code);
		return -1;
	}
	return 0;
}

int sms_deliver(arena_t *a, const char *id, const cJSON *payload, char *err, size_t errlen)
{
	const char *to = jstr(payload, "to"), *body = jstr(payload, "body");
	const char *from = jstr(payload, "from");
	if (!from)
		from = g_config.sms_from ? g_config.sms_from : "";
	if (!to || !body || !phone_e164_valid(to)) {
		snprintf(err, errlen, "malformed SMS payload");
		return -1;
	}
	if (g_config.sms_url && *g_config.sms_url)
		return sms_http(to, from, body, err, errlen);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "to", to);
	cJSON_AddStringToObject(o, "from", from);
	cJSON_AddStringToObject(o, "body", body);
	char ts[RFC3339_LEN];
	cJSON_AddStringToObject(o, "created_at", time_rfc3339(ts, time(NULL)));
	char *text = cJSON_Print(o);
	cJSON_Delete(o);
	char *name = arena_printf(a, "%s.json", id);
	int rc = file_write(g_config.sms_dir, name, text, strlen(text), err, errlen);
	cJSON_free(text);
	return rc;
}
