/*
 * dev_mail.c - the development mail inbox: GET /v1/dev/mail lists the
 * messages the file driver wrote to mail_dir for the caller's tenant, GET
 * /v1/dev/mail/:message_id shows one (headers and raw text).  Tessera's
 * additions (R_EXTENSION), for tenant administrators (*), answered only
 * when mail_inbox is on in tessera.conf and no SMTP relay is configured
 * (tools/stack turns it on for the stacks it starts); otherwise 404.
 *
 * The file driver writes every tenant's mail into the one directory, each
 * message starting with X-Tessera-Tenant (common/mailer.c): a tenant sees
 * only the messages that header gives it.  File names are the Message-ID's
 * left part (msg_<ulid>), so the newest sort last.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../common/config.h"
#include "../common/strbuf.h"
#include "routes.h"

#define HEAD_MAX 16384       /* the headers read of each message */
#define MESSAGE_MAX 1048576  /* the largest message shown */
#define LIST_DEFAULT 50
#define LIST_MAX 200
#define SCAN_MAX 10000       /* files looked at in one listing */

static bool inbox_on(void)
{
	return g_config.mail_inbox && !(g_config.smtp_url && *g_config.smtp_url) && g_config.mail_dir &&
	       *g_config.mail_dir;
}

static err_t inbox_off(req_t *r)
{
	return req_fail(r, E_NOT_FOUND, "The mail inbox is off: it needs mail_inbox = true in tessera.conf and "
			"the file driver (no smtp_url)");
}

/* A message id as the file driver names files: msg_<ulid>. */
static bool id_ok(const char *id)
{
	size_t n = strlen(id);
	return n > 0 && n <= 100 && strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/* Reads up to max bytes of mail_dir/<id>.eml into the arena; NULL when the
 * file is missing or unreadable. */
static char *read_message(req_t *r, const char *id, size_t max, size_t *len)
{
	char *path = arena_printf(r->a, "%s/%s.eml", g_config.mail_dir, id);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = arena_alloc(r->a, max + 1);
	*len = fread(buf, 1, max, f);
	fclose(f);
	buf[*len] = '\0';
	return buf;
}

/* The value of header name in the header block of msg (unfolded, first
 * occurrence), or NULL. */
static char *header(req_t *r, const char *msg, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = msg; *p && !(p[0] == '\r' && p[1] == '\n') && *p != '\n';) {
		const char *eol = strstr(p, "\r\n");
		if (!eol)
			eol = p + strlen(p);
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			strbuf_t out = { 0 };
			sb_putn(&out, v, (size_t)(eol - v));
			/* folded continuation lines */
			while (eol[0] && eol[2] && (eol[2] == ' ' || eol[2] == '\t')) {
				const char *next = strstr(eol + 2, "\r\n");
				if (!next)
					next = eol + 2 + strlen(eol + 2);
				sb_putn(&out, eol + 2, (size_t)(next - eol - 2));
				eol = next;
			}
			return sb_take(&out, r->a);
		}
		p = *eol ? eol + 2 : eol;
	}
	return NULL;
}

/* Whether msg was written for the caller's tenant. */
static bool mine(req_t *r, const char *msg)
{
	const char *t = header(r, msg, "X-Tessera-Tenant");
	return t && !strcmp(t, r->tenant.id);
}

static int by_name_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

static err_t dev_mail_list(req_t *r)
{
	if (!inbox_on())
		return inbox_off(r);
	long long limit;
	err_t rc = req_query_int(r, "limit", LIST_DEFAULT, 1, LIST_MAX, &limit);
	if (rc)
		return rc;
	DIR *d = opendir(g_config.mail_dir);
	cJSON *list = cJSON_CreateArray();
	cJSON *data = cJSON_CreateObject();
	cJSON_AddItemToObject(data, "messages", list);
	if (!d) {
		cJSON_AddNumberToObject(data, "total", 0);
		reply_data(r, 200, data);
		return E_OK;
	}
	char **names = arena_alloc(r->a, sizeof(char *) * SCAN_MAX);
	size_t count = 0;
	struct dirent *e;
	while (count < SCAN_MAX && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n > 4 && !strcmp(e->d_name + n - 4, ".eml")) {
			char *id = arena_strndup(r->a, e->d_name, n - 4);
			if (id_ok(id))
				names[count++] = id;
		}
	}
	closedir(d);
	qsort(names, count, sizeof(char *), by_name_desc);
	long long total = 0;
	for (size_t i = 0; i < count; i++) {
		size_t len;
		char *msg = read_message(r, names[i], HEAD_MAX, &len);
		if (!msg || !mine(r, msg))
			continue;
		if (total++ >= limit)
			continue;
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "id", names[i]);
		static const char *const fields[][2] = { { "date", "Date" }, { "from", "From" }, { "to", "To" },
							 { "subject", "Subject" }, { "message_id", "Message-ID" } };
		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
			const char *v = header(r, msg, fields[k][1]);
			if (v)
				cJSON_AddStringToObject(m, fields[k][0], v);
			else
				cJSON_AddNullToObject(m, fields[k][0]);
		}
		struct stat st;
		if (stat(arena_printf(r->a, "%s/%s.eml", g_config.mail_dir, names[i]), &st) == 0)
			cJSON_AddNumberToObject(m, "size_bytes", (double)st.st_size);
		cJSON_AddItemToArray(list, m);
	}
	cJSON_AddNumberToObject(data, "total", (double)total);
	reply_data(r, 200, data);
	return E_OK;
}

static err_t dev_mail_get(req_t *r)
{
	if (!inbox_on())
		return inbox_off(r);
	const char *id = req_param(r, "message_id");
	if (!id_ok(id))
		return req_fail_field(r, E_VALIDATION, "message_id", "message_id must be a message's id (msg_…)");
	size_t len;
	char *msg = read_message(r, id, MESSAGE_MAX, &len);
	if (!msg || !mine(r, msg))
		return req_fail(r, E_NOT_FOUND, "No such message in this tenant's inbox");
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "id", id);
	const char *subject = header(r, msg, "Subject");
	cJSON_AddItemToObject(m, "subject", subject ? cJSON_CreateString(subject) : cJSON_CreateNull());
	/* The tenant header is the file driver's, not the message's. */
	const char *raw = msg;
	if (!strncmp(raw, "X-Tessera-Tenant:", 17) && strstr(raw, "\r\n"))
		raw = strstr(raw, "\r\n") + 2;
	cJSON_AddStringToObject(m, "raw", raw);
	cJSON_AddBoolToObject(m, "truncated", len == MESSAGE_MAX);
	reply_data(r, 200, m);
	return E_OK;
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t dev_mail_routes[] = {
	ROUTE("GET", "/v1/dev/mail", "Email", AUTH_BEARER, "*", NULL, R_EXTENSION, dev_mail_list, NULL,
	      "List the development mail inbox"),
	ROUTE("GET", "/v1/dev/mail/:message_id", "Email", AUTH_BEARER, "*", NULL, R_EXTENSION, dev_mail_get, NULL,
	      "Show a message of the development mail inbox"),
	ROUTES_END,
};
