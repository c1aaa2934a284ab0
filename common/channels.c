/*
 * channels.c - which realtime channels an event goes to, and publishing it
 * to them through nchan (see channels.h).
 *
 * Each event becomes one message per channel it belongs to, POSTed to
 * nchan's publisher listener (realtime_publisher: a unix socket or a
 * loopback URL that only the runner reaches) at /pub/<tenant>/<channel>.
 * The channel group is the tenant, so identical channel names of two
 * tenants never meet.  The message names its channel because a WebSocket
 * that multiplexes several channels gets frames that do not; SSE
 * subscribers also get the event type as the `event:` field
 * (X-EventSource-Event).  nchan numbers the messages itself: those ids are
 * the SSE `id:` lines that Last-Event-ID resumes from.
 */
#include "channels.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "jsonx.h"
#include "log.h"

static bool all_in(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return false;
	return true;
}

#define WORD_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"

static bool folder_valid(const char *f)
{
	size_t n = strlen(f);
	if (n < 1 || n > 128 || !all_in(f, n, WORD_CHARS ".-/"))
		return false;
	/* Segments between slashes: none empty, none "." or "..". */
	for (const char *p = f;;) {
		size_t seg = strcspn(p, "/");
		if (seg == 0 || (seg == 1 && p[0] == '.') || (seg == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!p[seg])
			return true;
		p += seg + 1;
	}
}

bool channel_name_valid(const char *name)
{
	if (!name)
		return false;
	if (!strcmp(name, "files") || !strcmp(name, "events"))
		return true;
	if (!strncmp(name, "objects:", 8)) {
		size_t n = strlen(name + 8);
		return n >= 1 && n <= 64 && all_in(name + 8, n, WORD_CHARS);
	}
	if (!strncmp(name, "files:", 6))
		return folder_valid(name + 6);
	return false;
}

/* Adds chan to chans (n so far) unless it is there already or invalid. */
static int chan_add(const char **chans, int n, const char *chan)
{
	if (n >= RT_EVENT_CHANNELS_MAX || !channel_name_valid(chan))
		return n;
	for (int i = 0; i < n; i++)
		if (!strcmp(chans[i], chan))
			return n;
	chans[n] = chan;
	return n + 1;
}

static int type_chan(arena_t *a, const char **chans, int n, const char *type_id)
{
	return type_id ? chan_add(chans, n, arena_printf(a, "objects:%s", type_id)) : n;
}

int channels_of_event(arena_t *a, const cJSON *event, const char **chans)
{
	const char *name = json_str_of(event, "event");
	const char *rtype = json_str_of(event, "resource_type");
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(event, "data");
	int n = 0;
	if (!name)
		return 0;
	if (!strncmp(name, "object.", 7) || !strncmp(name, "comment.", 8))
		return type_chan(a, chans, n, json_str_of(data, "object_type_id"));
	if (!strncmp(name, "association.", 12)) {
		n = type_chan(a, chans, n, json_str_of(data, "from_type_id"));
		return type_chan(a, chans, n, json_str_of(data, "to_type_id"));
	}
	if (!strncmp(name, "file.", 5)) {
		n = chan_add(chans, n, "files");
		const char *folder = json_str_of(data, "folder");
		if (!folder)
			folder = json_str_of(cJSON_GetObjectItemCaseSensitive(data, "file"), "folder");
		/* "/a/b/" and "a/b" are one folder; the root is only "files". */
		if (folder) {
			while (*folder == '/')
				folder++;
			char *f = arena_strdup(a, folder);
			size_t len = strlen(f);
			while (len && f[len - 1] == '/')
				f[--len] = '\0';
			if (len)
				n = chan_add(chans, n, arena_printf(a, "files:%s", f));
		}
		return n;
	}
	if ((rtype && (!strcmp(rtype, "custom_event") || !strcmp(rtype, "event"))) ||
	    !strncmp(name, "custom.", 7) || !strncmp(name, "event.", 6))
		return chan_add(chans, n, "events");
	return 0;
}

static void add_str_or_null(cJSON *o, const char *name, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

char *channels_message(arena_t *a, const cJSON *event, const char *chan)
{
	cJSON *m = cJSON_CreateObject();
	add_str_or_null(m, "id", json_str_of(event, "id"));
	add_str_or_null(m, "event", json_str_of(event, "event"));
	cJSON_AddStringToObject(m, "channel", chan);
	add_str_or_null(m, "resource_type", json_str_of(event, "resource_type"));
	add_str_or_null(m, "resource_id", json_str_of(event, "resource_id"));
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(event, "data");
	cJSON_AddItemToObject(m, "data", data ? cJSON_Duplicate(data, true) : cJSON_CreateNull());
	add_str_or_null(m, "timestamp", json_str_of(event, "created_at"));
	char *text = cJSON_PrintUnformatted(m);
	if (text && strlen(text) > RT_MESSAGE_MAX) {
		/* Too big for a frame: the client refetches the resource by id. */
		cJSON_free(text);
		cJSON_ReplaceItemInObjectCaseSensitive(m, "data", cJSON_CreateNull());
		cJSON_AddTrueToObject(m, "data_omitted");
		text = cJSON_PrintUnformatted(m);
	}
	char *out = arena_strdup(a, text ? text : "{}");
	cJSON_free(text);
	cJSON_Delete(m);
	return out;
}

/*
 * One curl handle per process, so the runner keeps its connection to the
 * publisher open between events.
 */
static CURL *publisher_handle(void)
{
	static CURL *h;
	if (!h)
		h = curl_easy_init();
	else
		curl_easy_reset(h);
	return h;
}

static size_t discard(char *p, size_t size, size_t n, void *u)
{
	(void)p;
	(void)u;
	return size * n;
}

/*
 * Sends one request for tenant's chan to the publisher: a POST of body, or
 * a DELETE when body is NULL.  Its HTTP status into *status; -1 with a
 * message in err when the publisher could not be reached.
 */
static int publisher_send(arena_t *a, const char *tenant_id, const char *chan, const char *event_name,
			  const char *body, long *status, char *err, size_t errlen)
{
	const char *pub = g_config.realtime_publisher;
	bool unix_sock = !strncmp(pub, "unix:", 5);
	char *url = arena_printf(a, "%s/pub/%s/%s", unix_sock ? "http://localhost" : pub, tenant_id, chan);
	CURL *h = publisher_handle();
	if (!h) {
		snprintf(err, errlen, "realtime: cannot create a curl handle");
		return -1;
	}
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Accept: text/json");
	/* The SSE event: field, when the name is plain enough for a header. */
	if (event_name && *event_name && strlen(event_name) <= 64 &&
	    all_in(event_name, strlen(event_name), WORD_CHARS ".:-"))
		hdr = curl_slist_append(hdr, arena_printf(a, "X-EventSource-Event: %s", event_name));
	if (unix_sock)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, pub + 5);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	CURLcode cc = curl_easy_perform(h);
	*status = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hdr);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "realtime: publishing to %s failed: %s", pub, curl_easy_strerror(cc));
		return -1;
	}
	return 0;
}

static int post(arena_t *a, const char *tenant_id, const char *chan, const char *event_name,
		const char *body, char *err, size_t errlen)
{
	long status;
	if (publisher_send(a, tenant_id, chan, event_name, body, &status, err, errlen))
		return -1;
	/* 201: delivered to subscribers; 202: stored, nobody listening. */
	if (status != 201 && status != 202) {
		snprintf(err, errlen, "realtime: the publisher answered %ld for channel %s", status, chan);
		return -1;
	}
	return 0;
}

static bool realtime_on(void)
{
	return g_config.realtime_publisher && *g_config.realtime_publisher;
}

static bool tenant_id_valid(const char *tenant_id)
{
	size_t tl = tenant_id ? strlen(tenant_id) : 0;
	return tl >= 4 && tl <= 63 && !strncmp(tenant_id, "tn_", 3) && all_in(tenant_id, tl, WORD_CHARS);
}

char *channels_control(arena_t *a, const char *kind, const char *id)
{
	if (!id)
		return arena_printf(a, RT_CONTROL_PREFIX "%s", kind);
	size_t n = strlen(id);
	if (n == 0 || n > 100 || !all_in(id, n, WORD_CHARS "-"))
		return NULL;
	return arena_printf(a, RT_CONTROL_PREFIX "%s:%s", kind, id);
}

void channels_close(arena_t *a, const char *tenant_id, const char *kind, const char *id)
{
	const char *chan = channels_control(a, kind, id);
	if (!realtime_on() || !chan || !tenant_id_valid(tenant_id))
		return;
	char err[256];
	long status;
	/* 200: deleted, its subscribers closed; 404: nobody had subscribed. */
	if (publisher_send(a, tenant_id, chan, NULL, NULL, &status, err, sizeof(err)))
		log_warn("realtime: cannot close %s/%s: %s", tenant_id, chan, err);
	else if (status != 200 && status != 404)
		log_warn("realtime: closing %s/%s: the publisher answered %ld", tenant_id, chan, status);
	else
		log_debug("realtime: closed %s/%s (%ld)", tenant_id, chan, status);
}

int channels_publish_event(arena_t *a, const char *tenant_id, const cJSON *event, char *err, size_t errlen)
{
	if (!realtime_on())
		return 0; /* realtime is off: nobody can subscribe either */
	if (!tenant_id_valid(tenant_id)) {
		snprintf(err, errlen, "realtime: bad tenant id");
		return -1;
	}
	const char *chans[RT_EVENT_CHANNELS_MAX];
	int n = channels_of_event(a, event, chans);
	const char *name = json_str_of(event, "event");
	for (int i = 0; i < n; i++) {
		if (post(a, tenant_id, chans[i], name, channels_message(a, event, chans[i]), err, errlen))
			return -1;
		log_debug("realtime: %s %s -> %s/%s", json_str_of(event, "id"), name, tenant_id, chans[i]);
	}
	return 0;
}
