/*
 * config.c - tessera.conf parsing driven by a descriptor table (one row per
 * key, a generic setter per type), as nginx does with ngx_command_t.
 */
#include "config.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

config_t g_config;

enum opt_type { OPT_STR, OPT_INT, OPT_BOOL };

struct opt {
	const char *key;
	enum opt_type type;
	size_t offset;
	const char *def;
	long min, max;
};

#define S(k, d) { #k, OPT_STR, offsetof(config_t, k), d, 0, 0 }
#define I(k, d, lo, hi) { #k, OPT_INT, offsetof(config_t, k), d, lo, hi }
#define B(k, d) { #k, OPT_BOOL, offsetof(config_t, k), d, 0, 0 }

static const struct opt opts[] = {
	S(listen, ""),
	I(workers, "4", 1, 256),
	S(pid_file, ""),
	S(jobs_pid_file, ""),
	S(log_file, ""),
	S(log_level, "info"),
	S(db_socket, ""),
	S(db_host, "localhost"),
	I(db_port, "3306", 1, 65535),
	S(db_user, "tessera"),
	S(db_password, ""),
	S(db_name, "tessera"),
	S(db_servers, ""),
	S(db_server_name, "main"),
	I(db_timeout, "10", 1, 3600),
	S(redis_socket, ""),
	S(redis_host, "127.0.0.1"),
	I(redis_port, "6379", 1, 65535),
	S(redis_sentinels, ""),
	S(redis_master_name, ""),
	S(redis_password, ""),
	S(redis_sentinel_password, ""),
	S(redis_cluster, ""),
	S(master_key, ""),
	S(region, "local"),
	S(public_url, "http://127.0.0.1:8080"),
	S(storage_root, "./var/storage"),
	B(http_allow_private, "false"),
	/* events & webhooks */
	I(webhook_max_attempts, "7", 1, 50),
	I(webhook_retry_base_ms, "60000", 1, 3600000),
	I(webhook_disable_after_s, "432000", 0, 31536000),
	I(jobs_poll_ms, "500", 10, 60000),
	I(jobs_backoff_base_ms, "1000", 1, 3600000),
	I(jobs_max_attempts, "5", 1, 100),
	B(jobs, "on"),
	I(jobs_concurrency, "1", 1, 64),
	I(jobs_http_concurrency, "64", 1, 1024),
	I(jobs_http_per_endpoint, "4", 1, 64),
	S(default_plan, "free"),
	I(lookup_rate_limit, "30", 1, 100000),
	I(max_body_bytes, "26214400", 1024, INT_MAX),
	/* realtime */
	S(realtime_publisher, ""),
	S(realtime_redis_url, ""),
	/* files */
	I(files_max_upload_mb, "25", 1, 25),
	I(files_max_presigned_mb, "5120", 1, 1048576),
	I(files_upload_url_ttl, "3600", 60, 86400),
	I(files_trash_days, "30", 1, 3650),
	S(storage_backend, "local"),
	S(s3_endpoint, ""),
	S(s3_region, "us-east-1"),
	S(s3_bucket, ""),
	S(s3_access_key, ""),
	S(s3_secret_key, ""),
	B(s3_path_style, "true"),
	I(s3_presign_ttl, "300", 10, 604800),
	/* identity */
	S(smtp_url, ""),
	S(smtp_user, ""),
	S(smtp_password, ""),
	S(smtp_from, ""),
	S(smtp_tls, "try"),
	B(smtp_insecure, "false"),
	S(mail_dir, "./var/mail"),
	B(mail_inbox, "false"),
	S(sms_url, ""),
	S(sms_account_sid, ""),
	S(sms_auth_token, ""),
	S(sms_from, ""),
	S(sms_dir, "./var/sms"),
	I(email_rate_limit, "60", 1, 1000000),
	/* billing */
	S(stripe_webhook_secret, ""),
	S(stripe_price_plans, ""),
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static int set_value(config_t *cfg, const struct opt *o, const char *v,
		     char *err, size_t errlen)
{
	char *field = (char *)cfg + o->offset;
	switch (o->type) {
	case OPT_STR: {
		char **dst = (char **)(void *)field;
		free(*dst);
		*dst = strdup(v);
		return 0;
	}
	case OPT_INT: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno || end == v || *end || n < o->min || n > o->max) {
			snprintf(err, errlen,
				 "config: %s must be an integer between %ld and %ld (got \"%s\")",
				 o->key, o->min, o->max, v);
			return -1;
		}
		*(int *)(void *)field = (int)n;
		return 0;
	}
	case OPT_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1")) {
			*(bool *)(void *)field = true;
		} else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0")) {
			*(bool *)(void *)field = false;
		} else {
			snprintf(err, errlen, "config: %s must be true or false (got \"%s\")", o->key, v);
			return -1;
		}
		return 0;
	}
	return -1;
}

static const struct opt *find_opt(const char *key)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strcmp(opts[i].key, key) == 0)
			return &opts[i];
	return NULL;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int apply_env(config_t *cfg, char *err, size_t errlen)
{
	for (size_t i = 0; i < NOPTS; i++) {
		char name[64] = "TESSERA_";
		size_t n = strlen(name);
		for (const char *k = opts[i].key; *k && n < sizeof(name) - 1; k++)
			name[n++] = (char)toupper((unsigned char)*k);
		name[n] = '\0';
		const char *v = getenv(name);
		if (v && set_value(cfg, &opts[i], v, err, errlen))
			return -1;
	}
	return 0;
}

/* storage_backend = s3 needs its bucket named in full (the secret is
 * never echoed in a message). */
static int validate_storage(const config_t *cfg, char *err, size_t errlen)
{
	if (!strcmp(cfg->storage_backend, "local"))
		return 0;
	if (strcmp(cfg->storage_backend, "s3")) {
		snprintf(err, errlen, "config: storage_backend must be local or s3 (got \"%s\")",
			 cfg->storage_backend);
		return -1;
	}
	const char *ep = cfg->s3_endpoint;
	const char *host = !strncmp(ep, "http://", 7) ? ep + 7 : !strncmp(ep, "https://", 8) ? ep + 8 : "";
	const char *missing = !isalnum((unsigned char)*host) ? "s3_endpoint (an http:// or https:// URL)"
			    : !*cfg->s3_bucket || strpbrk(cfg->s3_bucket, "/?#&%") ? "s3_bucket"
			    : !*cfg->s3_region ? "s3_region"
			    : !*cfg->s3_access_key ? "s3_access_key"
			    : !*cfg->s3_secret_key ? "s3_secret_key" : NULL;
	if (missing) {
		snprintf(err, errlen, "config: storage_backend = s3 needs %s", missing);
		return -1;
	}
	/* One PUT an object (no multipart): S3 takes at most 5 GiB so. */
	if (cfg->files_max_presigned_mb > 5120) {
		snprintf(err, errlen, "config: files_max_presigned_mb must be at most 5120 with "
			 "storage_backend = s3 (objects go up in one PUT)");
		return -1;
	}
	return 0;
}

int config_redis_addr(const char *item, size_t len, char *host, size_t hostlen, int *port)
{
	while (len && isspace((unsigned char)*item))
		item++, len--;
	while (len && isspace((unsigned char)item[len - 1]))
		len--;
	if (!len || len >= hostlen)
		return -1;
	if (*item == '/') {
		memcpy(host, item, len);
		host[len] = '\0';
		*port = 0;
		return 0;
	}
	const char *colon = memrchr(item, ':', len);
	if (!colon || colon == item)
		return -1;
	long n = 0;
	for (const char *p = colon + 1; p < item + len; p++) {
		if (!isdigit((unsigned char)*p) || (n = n * 10 + (*p - '0')) > 65535)
			return -1;
	}
	if (n < 1)
		return -1;
	memcpy(host, item, (size_t)(colon - item));
	host[colon - item] = '\0';
	*port = (int)n;
	return 0;
}

/* Each comma-separated item of list an address (a unix socket path only
 * if sockets): 0, or -1 with err naming the item. */
static int validate_addrs(const char *name, const char *list, bool sockets, char *err,
			  size_t errlen)
{
	for (const char *p = list;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char host[256];
		int port;
		if (config_redis_addr(p, len, host, sizeof(host), &port) || (!sockets && !port)) {
			snprintf(err, errlen, "config: %s: \"%.*s\" is not host:port%s", name,
				 (int)(len > 100 ? 100 : len), p, sockets ? " or a unix socket path" : "");
			return -1;
		}
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

/* redis_sentinels: each item an address, and the master's name given;
 * redis_cluster: host:port items, not with sentinels. */
static int validate_redis(const config_t *cfg, char *err, size_t errlen)
{
	if (*cfg->redis_cluster) {
		if (*cfg->redis_sentinels) {
			snprintf(err, errlen, "config: redis_cluster and redis_sentinels exclude each "
				 "other (a Redis Cluster fails over by itself)");
			return -1;
		}
		return validate_addrs("redis_cluster", cfg->redis_cluster, false, err, errlen);
	}
	if (!*cfg->redis_sentinels)
		return 0;
	if (!*cfg->redis_master_name) {
		snprintf(err, errlen, "config: redis_sentinels needs redis_master_name");
		return -1;
	}
	return validate_addrs("redis_sentinels", cfg->redis_sentinels, true, err, errlen);
}

static int validate(config_t *cfg, char *err, size_t errlen)
{
	if (!*cfg->master_key) {
		snprintf(err, errlen, "config: master_key is required (64 hex characters)");
		return -1;
	}
	size_t binlen = 0;
	if (strlen(cfg->master_key) != 64 ||
	    sodium_hex2bin(cfg->master_key_bin, sizeof(cfg->master_key_bin),
			   cfg->master_key, 64, NULL, &binlen, NULL) != 0 ||
	    binlen != 32) {
		snprintf(err, errlen, "config: master_key must be 64 hex characters");
		return -1;
	}
	if (log_level_parse(cfg->log_level) < 0) {
		snprintf(err, errlen, "config: log_level must be debug, info, warn or error (got \"%s\")",
			 cfg->log_level);
		return -1;
	}
	if (!*cfg->db_socket && !*cfg->db_host) {
		snprintf(err, errlen, "config: db_socket or db_host is required");
		return -1;
	}
	if (!*cfg->db_name || strspn(cfg->db_name, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(cfg->db_name)) {
		snprintf(err, errlen, "config: db_name must be lower-case letters, digits and _ (got \"%s\")",
			 cfg->db_name);
		return -1;
	}
	if (strncmp(cfg->public_url, "http://", 7) && strncmp(cfg->public_url, "https://", 8)) {
		snprintf(err, errlen, "config: public_url must start with http:// or https://");
		return -1;
	}
	if (validate_redis(cfg, err, errlen))
		return -1;
	return validate_storage(cfg, err, errlen);
}

int config_parse(config_t *cfg, const char *text, bool use_env, char *err,
		 size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NOPTS; i++)
		if (set_value(cfg, &opts[i], opts[i].def, err, errlen))
			return -1;

	char *copy = strdup(text ? text : "");
	char *save = NULL;
	int lineno = 0;
	int rc = 0;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *l = trim(line);
		if (!*l || *l == '#')
			continue;
		char *eq = strchr(l, '=');
		if (!eq) {
			snprintf(err, errlen, "config: line %d: expected key = value", lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *key = trim(l), *val = trim(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val[vl - 1] = '\0';
			val++;
		}
		const struct opt *o = find_opt(key);
		if (!o) {
			snprintf(err, errlen, "config: line %d: unknown setting \"%s\"", lineno, key);
			rc = -1;
			break;
		}
		if (set_value(cfg, o, val, err, errlen)) {
			/* "config: <problem>" becomes "config: line N: <problem>" */
			char msg[512];
			snprintf(msg, sizeof(msg), "%s", strncmp(err, "config: ", 8) ? err : err + 8);
			snprintf(err, errlen, "config: line %d: %s", lineno, msg);
			rc = -1;
			break;
		}
	}
	free(copy);
	if (rc == 0 && use_env)
		rc = apply_env(cfg, err, errlen);
	if (rc == 0)
		rc = validate(cfg, err, errlen);
	return rc;
}

int config_load(config_t *cfg, const char *path, char *err, size_t errlen)
{
	if (!path || !*path)
		path = getenv("TESSERA_CONFIG");
	if (!path || !*path) {
		snprintf(err, errlen, "config: no config file (use --config FILE or the TESSERA_CONFIG variable)");
		return -1;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "config: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char *text = NULL;
	size_t cap = 0, len = 0;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			char *t = realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				snprintf(err, errlen, "config: out of memory");
				return -1;
			}
			text = t;
		}
		memcpy(text + len, buf, n);
		len += n;
	}
	fclose(f);
	if (text)
		text[len] = '\0';
	int rc = config_parse(cfg, text ? text : "", true, err, errlen);
	free(text);
	if (rc != 0 && !strncmp(err, "config: ", 8)) {
		/* name the file: "config: FILE: line N: <problem>" */
		char msg[512];
		snprintf(msg, sizeof(msg), "%s", err + 8);
		snprintf(err, errlen, "config: %s: %s", path, msg);
	}
	return rc;
}

void config_release(config_t *cfg)
{
	for (size_t i = 0; i < NOPTS; i++) {
		if (opts[i].type == OPT_STR) {
			char **p = (char **)(void *)((char *)cfg + opts[i].offset);
			free(*p);
			*p = NULL;
		}
	}
	sodium_memzero(cfg->master_key_bin, sizeof(cfg->master_key_bin));
}
