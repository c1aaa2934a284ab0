/*
 * config.h - the one configuration file (tessera.conf) and its environment
 * overrides.
 *
 * The file is `key = value` lines with `#` comments.  Every key may be
 * overridden by TESSERA_<KEY> in the environment (upper case).  Unknown keys
 * and bad values stop start-up with a message naming the key.
 */
#ifndef TESSERA_CONFIG_H
#define TESSERA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct config {
	char *listen;          /* FastCGI unix socket path, tcp:HOST:PORT, or "fd:0" */
	int workers;
	char *pid_file;
	char *jobs_pid_file;
	char *log_file;
	char *log_level;
	char *db_socket;
	char *db_host;
	int db_port;
	char *db_user;
	char *db_password;
	char *db_name;
	char *db_servers;      /* other data servers: NAME=unix:PATH | NAME=tcp:HOST:PORT[,user=U,password=P] ... */
	char *db_server_name;  /* the primary's name in tenants.db_server */
	int db_timeout;        /* seconds a read or write to MariaDB may block */
	char *redis_socket;
	char *redis_host;
	int redis_port;
	char *redis_sentinels;   /* "host:port,/unix/path,…": ask these for the master */
	char *redis_master_name; /* the master's name the sentinels monitor */
	char *redis_password;    /* AUTH to the data Redis; secret: never logged */
	char *redis_sentinel_password; /* AUTH to each sentinel; secret */
	char *redis_cluster;     /* "host:port,…": seed nodes of a Redis Cluster */
	char *master_key;      /* 64 hex chars */
	unsigned char master_key_bin[32];
	char *region;
	char *public_url;
	char *storage_root;
	bool http_allow_private;
	/* events & webhooks */
	int webhook_max_attempts;  /* deliveries of one event to one webhook */
	int webhook_retry_base_ms; /* first retry delay; ×4 per attempt */
	int webhook_disable_after_s; /* every delivery failing this long disables
				      * the webhook; 0 = never */
	int jobs_poll_ms;
	int jobs_backoff_base_ms;
	int jobs_max_attempts;
	bool jobs;                    /* `serve` runs and restarts the job runner */
	int jobs_concurrency;         /* processes running database jobs */
	int jobs_http_concurrency;    /* outgoing requests in flight at once */
	int jobs_http_per_endpoint;   /* of those, to one endpoint (webhook) */
	char *default_plan;
	int lookup_rate_limit; /* POST /v1/tenants/lookup per client per minute */
	int max_body_bytes;
	/* realtime */
	char *realtime_publisher; /* nchan publisher: "unix:/path" or "http://host:port", "" = off */
	char *realtime_redis_url; /* nchan's Redis (redis://[:PASS@]HOST[:PORT]), "" = nginx memory;
				   * read by tools/stack into the nginx config, not by the app */
	/* files */
	int files_max_upload_mb;      /* direct multipart upload, file part */
	int files_max_presigned_mb;   /* presigned upload (upload-url/upload-put) */
	int files_upload_url_ttl;     /* seconds an upload_endpoint stays valid */
	int files_trash_days;         /* soft-deleted files keep their bytes this long */
	char *storage_backend;        /* local (storage_root) or s3 (common/s3.h) */
	char *s3_endpoint;            /* http(s)://host[:port] of the S3-compatible API */
	char *s3_region;
	char *s3_bucket;
	char *s3_access_key;
	char *s3_secret_key;          /* secret: never logged */
	bool s3_path_style;           /* endpoint/bucket/key, else bucket.endpoint/key */
	int s3_presign_ttl;           /* seconds a download URL nginx proxies stays valid */
	/* identity */
	char *smtp_url;        /* smtp:// or smtps://host:port; empty = file driver */
	char *smtp_user;
	char *smtp_password;
	char *smtp_from;       /* envelope and From address; empty = no-reply@<public host> */
	char *smtp_tls;        /* try (STARTTLS when offered), starttls (required), none */
	bool smtp_insecure;    /* accept any TLS certificate (tests, self-signed relays) */
	char *mail_dir;        /* file driver: one .eml per message */
	bool mail_inbox;       /* GET /v1/dev/mail: the file driver's messages of the
				* caller's tenant (development stacks) */
	char *sms_url;         /* Twilio-compatible Messages endpoint; empty = file driver */
	char *sms_account_sid;
	char *sms_auth_token;
	char *sms_from;
	char *sms_dir;         /* file driver: one .json per message */
	int email_rate_limit;  /* POST /v1/email/send per tenant per minute */
	char *stripe_webhook_secret; /* Stripe's whsec_… signing secret; "" = webhook off */
	char *stripe_price_plans;    /* "price_id:plan,…": the plan each Stripe price buys */
} config_t;

/*
 * Loads path (or $TESSERA_CONFIG when path is NULL), applies defaults and
 * environment overrides, and validates.  On failure writes a message naming
 * the problem into err and returns -1.  The strings are owned by cfg and
 * freed by config_release().
 */
int config_load(config_t *cfg, const char *path, char *err, size_t errlen);
/* Parses text as a config file (used by config_load and the tests). */
int config_parse(config_t *cfg, const char *text, bool use_env, char *err,
		 size_t errlen);
void config_release(config_t *cfg);

/*
 * One item of redis_sentinels, item[0..len): a unix socket path (starting
 * with /) into host with *port 0, or host:port.  -1 if malformed or too
 * long for host.
 */
int config_redis_addr(const char *item, size_t len, char *host, size_t hostlen, int *port);

/* The process-wide configuration, set once at start-up. */
extern config_t g_config;

#endif
