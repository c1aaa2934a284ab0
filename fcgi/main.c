/*
 * main.c - the `tessera` command: one binary, several subcommands.
 *
 *   serve     the FastCGI prefork pool (fcgi/server.c)
 *   jobs      the background job runner (fcgi/jobs.c)
 *   migrate   apply pending migrations to the control DB and every tenant DB
 *   tenant    create | list | suspend ID | resume ID | move ID --to SERVER
 *   token     mint --tenant ID --user ID --role ROLE [--ttl S]
 *   routes    print the route table [--json]
 *   realtime  publish --tenant ID --event JSON (one event, as the fan-out does)
 *
 * Every subcommand takes --config FILE (or $TESSERA_CONFIG).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mysql.h>

#include "../common/arena.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/db.h"
#include "../common/log.h"
#include "../common/migrate.h"
#include "../common/channels.h"
#include "../common/tenant_admin.h"
#include "../common/tenant_move.h"
#include "../common/timefmt.h"
#include "router.h"
#include "credentials.h"
#include "fanout.h"
#include "jobs.h"
#include "server.h"

static const char *config_path;

/* One line of usage per command form: the command's name, then the text. */
static const struct { const char *cmd, *text; } usage_lines[] = {
	{ "serve", "serve                         run the FastCGI worker pool" },
	{ "jobs", "jobs                          run the background job runner" },
	{ "jobs", "jobs enqueue --kind K [--tenant ID] [--payload JSON] [--max-attempts N]" },
	{ "jobs", "jobs show ID [--json]         one job; exits 1 if there is no such job" },
	{ "migrate", "migrate                       apply pending migrations" },
	{ "tenant", "tenant create --name NAME [--plan PLAN] [--email EMAIL] [--server SERVER] [--json]" },
	{ "tenant", "tenant list [--json]" },
	{ "tenant", "tenant suspend ID | tenant resume ID" },
	{ "tenant", "tenant move ID --to SERVER [--json]   move its data to another db server" },
	{ "token", "token mint --tenant ID --user ID --role ROLE [--ttl SECONDS] [--json]" },
	{ "routes", "routes [--json]               print every route, its scope and status" },
	{ "realtime", "realtime publish --tenant ID --event JSON   publish one event to its channels" },
};
#define NUSAGE (sizeof(usage_lines) / sizeof(usage_lines[0]))

/* Usage of cmd (NULL: every command) on out; returns the exit status
 * that goes with it: 0 when asked for on stdout, 2 after a mistake. */
static int usage_of(FILE *out, const char *cmd)
{
	fputs(cmd ? "usage: tessera [--config FILE] " : "usage: tessera [--config FILE] COMMAND [options]\n",
	      out);
	bool first = true;
	for (size_t i = 0; i < NUSAGE; i++) {
		if (cmd && strcmp(cmd, usage_lines[i].cmd))
			continue;
		fprintf(out, "%s%s\n", cmd ? (first ? "" : "       tessera [--config FILE] ") : "  ",
			usage_lines[i].text);
		first = false;
	}
	if (!cmd)
		fputs("  help [COMMAND], COMMAND --help, --version\n\n"
		      "The config file is --config FILE or $TESSERA_CONFIG; `make run` writes\n"
		      "var/tessera.conf.\n", out);
	return out == stdout ? 0 : 2;
}

static int usage(void)
{
	return usage_of(stderr, NULL);
}

static bool command_known(const char *cmd)
{
	for (size_t i = 0; i < NUSAGE; i++)
		if (!strcmp(cmd, usage_lines[i].cmd))
			return true;
	return false;
}

struct opts {
	const char *name, *plan, *email, *server, *tenant, *user, *role, *kind, *payload, *event, *to;
	long ttl;
	int max_attempts;
	int json;
	int help;
	int nargs;
	char *args[4];
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "plan", required_argument, NULL, 'p' },
		{ "email", required_argument, NULL, 'e' },
		{ "server", required_argument, NULL, 'S' },
		{ "tenant", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "role", required_argument, NULL, 'r' },
		{ "ttl", required_argument, NULL, 'T' },
		{ "kind", required_argument, NULL, 'k' },
		{ "payload", required_argument, NULL, 'P' },
		{ "max-attempts", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "event", required_argument, NULL, 'E' },
		{ "to", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	o->ttl = 3600;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'n': o->name = optarg; break;
		case 'p': o->plan = optarg; break;
		case 'e': o->email = optarg; break;
		case 'S': o->server = optarg; break;
		case 't': o->tenant = optarg; break;
		case 'u': o->user = optarg; break;
		case 'r': o->role = optarg; break;
		case 'T': o->ttl = strtol(optarg, NULL, 10); break;
		case 'k': o->kind = optarg; break;
		case 'P': o->payload = optarg; break;
		case 'm': o->max_attempts = atoi(optarg); break;
		case 'j': o->json = 1; break;
		case 'E': o->event = optarg; break;
		case 'o': o->to = optarg; break;
		case 'h': o->help = 1; break;
		default: return -1;
		}
	}
	for (int i = optind; i < argc && o->nargs < 4; i++)
		o->args[o->nargs++] = argv[i];
	return 0;
}

static int load_config(void)
{
	char err[512];
	if (config_load(&g_config, config_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "tessera: %s\n", err);
		if (!config_path && !getenv("TESSERA_CONFIG"))
			fputs("tessera: `make run` writes var/tessera.conf: "
			      "tessera --config var/tessera.conf COMMAND\n", stderr);
		return -1;
	}
	if (db_servers_check(&g_config, err, sizeof(err))) {
		fprintf(stderr, "tessera: config: %s\n", err);
		return -1;
	}
	if (log_open(g_config.log_file, (enum log_level)log_level_parse(g_config.log_level)) != 0) {
		fprintf(stderr, "tessera: config: cannot open log_file %s\n", g_config.log_file);
		return -1;
	}
	return 0;
}

/* JSON Schema of a route's request body, from its field table. */
static cJSON *schema_json(const field_t *fields)
{
	static const char *const types[] = {
		[FT_STRING] = "string", [FT_INT] = "integer", [FT_NUMBER] = "number",
		[FT_BOOL] = "boolean", [FT_OBJECT] = "object", [FT_ARRAY] = "array",
		[FT_STRING_ARRAY] = "array", [FT_ANY] = NULL,
	};
	cJSON *s = cJSON_CreateObject();
	cJSON_AddStringToObject(s, "type", "object");
	cJSON *props = cJSON_AddObjectToObject(s, "properties");
	cJSON *req = cJSON_CreateArray();
	for (const field_t *f = fields; f->name; f++) {
		cJSON *p = cJSON_AddObjectToObject(props, f->name);
		if (types[f->type]) {
			if (f->flags & FF_NULLABLE) {
				cJSON *t = cJSON_AddArrayToObject(p, "type");
				cJSON_AddItemToArray(t, cJSON_CreateString(types[f->type]));
				cJSON_AddItemToArray(t, cJSON_CreateString("null"));
			} else {
				cJSON_AddStringToObject(p, "type", types[f->type]);
			}
		}
		if (f->type == FT_STRING_ARRAY)
			cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "items"), "type", "string");
		if (f->values) {
			cJSON *e = cJSON_AddArrayToObject(p, "enum");
			for (const char *const *v = f->values; *v; v++)
				cJSON_AddItemToArray(e, cJSON_CreateString(*v));
			if (f->flags & FF_NULLABLE)
				cJSON_AddItemToArray(e, cJSON_CreateNull());
		}
		if (f->type == FT_STRING && f->min)
			cJSON_AddNumberToObject(p, "minLength", (double)f->min);
		if (f->type == FT_STRING && f->max)
			cJSON_AddNumberToObject(p, "maxLength", (double)f->max);
		if (f->type == FT_INT && (f->min || f->max)) {
			cJSON_AddNumberToObject(p, "minimum", (double)f->min);
			cJSON_AddNumberToObject(p, "maximum", (double)f->max);
		}
		if ((f->type == FT_ARRAY || f->type == FT_STRING_ARRAY) && f->max)
			cJSON_AddNumberToObject(p, "maxItems", (double)f->max);
		if (f->flags & FF_REQUIRED)
			cJSON_AddItemToArray(req, cJSON_CreateString(f->name));
	}
	if (cJSON_GetArraySize(req))
		cJSON_AddItemToObject(s, "required", req);
	else
		cJSON_Delete(req);
	cJSON_AddFalseToObject(s, "additionalProperties");
	return s;
}

static int cmd_routes(const struct opts *o)
{
	if (o->json) {
		cJSON *arr = cJSON_CreateArray();
		for (size_t i = 0; i < routes_count; i++) {
			const route_t *rt = &routes[i];
			cJSON *r = cJSON_CreateObject();
			cJSON_AddStringToObject(r, "method", rt->method);
			cJSON_AddStringToObject(r, "path", rt->path);
			cJSON_AddStringToObject(r, "group", rt->group);
			cJSON_AddStringToObject(r, "summary", rt->summary);
			cJSON_AddStringToObject(r, "auth", rt->auth == AUTH_NONE ? "none" : "bearer");
			cJSON_AddStringToObject(r, "scope", rt->scope);
			cJSON_AddBoolToObject(r, "end_user", (rt->flags & R_USER) != 0);
			if (rt->perm)
				cJSON_AddStringToObject(r, "permission", rt->perm);
			cJSON_AddStringToObject(r, "tenant", route_tenant_name(rt));
			/* null: the configured max_body_bytes (no config is read here) */
			if (route_body_max(rt) > 0)
				cJSON_AddNumberToObject(r, "body_max", route_body_max(rt));
			else
				cJSON_AddNullToObject(r, "body_max");
			cJSON_AddBoolToObject(r, "implemented", rt->handler != NULL);
			if (rt->flags & R_EXTENSION)
				cJSON_AddTrueToObject(r, "extension");
			if (route_body(rt))
				cJSON_AddItemToObject(r, "request_schema", schema_json(route_body(rt)));
			if (rt->res)
				cJSON_AddItemToObject(r, "resource", resource_json(rt->res, rt->op));
			cJSON_AddItemToArray(arr, r);
		}
		char *s = cJSON_Print(arr);
		puts(s);
		cJSON_free(s);
		cJSON_Delete(arr);
		return 0;
	}
	size_t built = 0;
	for (size_t i = 0; i < routes_count; i++) {
		const route_t *rt = &routes[i];
		built += rt->handler != NULL;
		printf("%-7s %-55s %-7s %-7s %s\n", rt->method, rt->path,
		       rt->auth == AUTH_NONE ? "none" : rt->scope[0] ? rt->scope : "any",
		       rt->handler ? "yes" : "501", rt->summary);
	}
	printf("# %zu routes, %zu implemented\n", routes_count, built);
	return 0;
}

static int cmd_migrate(void)
{
	db_t *db = db_new(&g_config);
	arena_t *a = arena_new(16384);
	char err[512];
	int rc = 1;
	int n = migrate_control(db, a, g_config.db_name, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "tessera migrate: control DB: %s\n", err);
		goto out;
	}
	/* Every other data server gets the control schema too: it holds the
	 * tenant-scoped control rows (outbox, jobs, ...) of its tenants. */
	char *names[16];
	int nn = db_server_names(&g_config, names, 16);
	for (int i = 1; i < nn; i++) {
		db_t *peer = db_for_server(db, names[i]);
		if (!peer || migrate_control(peer, a, g_config.db_name, err, sizeof(err)) < 0) {
			fprintf(stderr, "tessera migrate: control schema on server %s: %s\n", names[i],
				peer ? err : "unknown server");
			for (int j = 0; j < nn; j++)
				free(names[j]);
			goto out;
		}
	}
	for (int j = 0; j < nn; j++)
		free(names[j]);
	int m = tenant_migrate_all(db, a, err, sizeof(err));
	if (m < 0) {
		fprintf(stderr, "tessera migrate: tenant DB: %s\n", err);
		goto out;
	}
	printf("migrate: %d control and %d tenant migrations applied\n", n, m);
	rc = 0;
out:
	arena_free(a);
	db_free(db);
	return rc;
}

static int move_invalidate(void *ctx)
{
	arena_t *a = arena_new(1024);
	int rc = credentials_invalidate(ctx, a);
	arena_free(a);
	return rc;
}

/* tenant move ID --to SERVER */
static int cmd_tenant_move(db_t *db, arena_t *a, const struct opts *o)
{
	char err[512];
	tenant_move_stats_t s;
	cache_t *cache = cache_new(&g_config);
	tenant_move_hooks_t hooks = { move_invalidate, cache };
	int rc = tenant_move(db, a, o->args[1], o->to, &hooks, &s, err, sizeof(err));
	cache_free(cache);
	if (rc) {
		fprintf(stderr, "tessera tenant move: %s\n", err);
		return 1;
	}
	if (o->json)
		printf("{\"tenant_id\":\"%s\",\"server\":\"%s\",\"moved\":%s,\"leftovers\":%d,"
		       "\"tables\":%d,\"rows\":%lld,\"recopied\":%d,\"control_rows\":%lld,"
		       "\"copy_ms\":%lld,\"read_only_ms\":%lld}\n", o->args[1], o->to,
		       s.moved ? "true" : "false", s.leftovers, s.tables, s.rows, s.recopied,
		       s.control_rows, s.copy_ms, s.read_only_ms);
	else if (s.moved)
		printf("%s: moved to %s: %d tables, %lld rows (%d copied again while read-only), "
		       "%lld control rows; copy %lld ms, read-only %lld ms\n", o->args[1], o->to,
		       s.tables, s.rows, s.recopied, s.control_rows, s.copy_ms, s.read_only_ms);
	else
		printf("%s: already on %s; %d copies left by an interrupted move dropped\n",
		       o->args[1], o->to, s.leftovers);
	return 0;
}

static int cmd_tenant(const struct opts *o)
{
	if (o->nargs < 1)
		return usage();
	db_t *db = db_new(&g_config);
	arena_t *a = arena_new(16384);
	char err[512];
	int rc = 1;
	const char *sub = o->args[0];
	if (strcmp(sub, "create") == 0) {
		if (!o->name || !*o->name) {
			fprintf(stderr, "tessera tenant create: --name is required\n");
			goto out;
		}
		tenant_new_t t = { o->name, o->plan ? o->plan : g_config.default_plan, o->email,
				   o->server };
		char *id, *key;
		if (tenant_create(db, a, &t, &id, &key, err, sizeof(err))) {
			fprintf(stderr, "tessera tenant create: %s\n", err);
			goto out;
		}
		if (o->json)
			printf("{\"tenant_id\":\"%s\",\"api_key\":\"%s\"}\n", id, key);
		else
			printf("tenant_id: %s\napi_key:   %s  (shown once; scope *)\n", id, key);
		rc = 0;
	} else if (strcmp(sub, "list") == 0) {
		cJSON *list = tenant_list(db, a);
		if (!list) {
			fprintf(stderr, "tessera tenant list: %s\n", db_last_error(db));
			goto out;
		}
		if (o->json) {
			char *s = cJSON_PrintUnformatted(list);
			puts(s);
			cJSON_free(s);
		} else {
			const cJSON *t;
			cJSON_ArrayForEach(t, list)
				printf("%s  %-10s %-10s %s\n",
				       cJSON_GetObjectItem(t, "tenant_id")->valuestring,
				       cJSON_GetObjectItem(t, "status")->valuestring,
				       cJSON_GetObjectItem(t, "plan")->valuestring,
				       cJSON_GetObjectItem(t, "name")->valuestring);
		}
		cJSON_Delete(list);
		rc = 0;
	} else if (strcmp(sub, "suspend") == 0 || strcmp(sub, "resume") == 0) {
		if (o->nargs < 2)
			goto out_usage;
		const char *st = strcmp(sub, "suspend") == 0 ? "suspended" : "active";
		if (tenant_set_status(db, a, o->args[1], st)) {
			fprintf(stderr, "tessera tenant %s: no tenant %s\n", sub, o->args[1]);
			goto out;
		}
		/* Workers cache credentials with their tenant's status. */
		cache_t *cache = cache_new(&g_config);
		credentials_invalidate(cache, a);
		cache_free(cache);
		/* and its realtime connections close */
		if (!strcmp(sub, "suspend"))
			channels_close(a, o->args[1], "tenant", NULL);
		printf("%s: %s\n", o->args[1], st);
		rc = 0;
	} else if (strcmp(sub, "move") == 0) {
		if (o->nargs != 2 || !o->to)
			goto out_usage;
		rc = cmd_tenant_move(db, a, o);
	} else {
		goto out_usage;
	}
out:
	arena_free(a);
	db_free(db);
	return rc;
out_usage:
	arena_free(a);
	db_free(db);
	return usage();
}

static int cmd_token(const struct opts *o)
{
	if (o->nargs < 1 || strcmp(o->args[0], "mint") != 0 || !o->tenant || !o->user || !o->role)
		return usage();
	if (o->ttl < 1 || o->ttl > 31536000) {
		fprintf(stderr, "tessera token mint: --ttl must be 1..31536000 seconds\n");
		return 2;
	}
	db_t *db = db_new(&g_config);
	arena_t *a = arena_new(16384);
	char err[512], *sid;
	int rc = 1;
	char *tok = token_mint(db, a, o->tenant, o->user, o->role, o->ttl, &sid, err, sizeof(err));
	if (!tok) {
		fprintf(stderr, "tessera token mint: %s\n", err);
	} else {
		if (o->json)
			printf("{\"token\":\"%s\",\"session_id\":\"%s\",\"expires_in\":%ld}\n", tok, sid, o->ttl);
		else
			puts(tok);
		rc = 0;
	}
	arena_free(a);
	db_free(db);
	return rc;
}

static int cmd_jobs(const struct opts *o)
{
	if (o->nargs == 0)
		return jobs_run();
	bool show = strcmp(o->args[0], "show") == 0;
	if (show ? o->nargs != 2 : (strcmp(o->args[0], "enqueue") != 0 || !o->kind))
		return usage();
	cJSON *payload = o->payload ? cJSON_Parse(o->payload) : NULL;
	if (o->payload && !payload) {
		fprintf(stderr, "tessera jobs enqueue: --payload is not valid JSON\n");
		return 2;
	}
	db_t *db = db_new(&g_config);
	arena_t *a = arena_new(16384);
	char id[40];
	enum db_status st;
	cJSON *job = NULL;
	if (show) {
		job = jobs_describe(db, a, o->args[1], &st);
		if (!job && st == DB_OK)
			fprintf(stderr, "tessera jobs show: no job %s\n", o->args[1]);
	} else {
		/* a tenant's jobs are on its data server */
		db_t *jdb = o->tenant ? tenant_server_db(db, a, o->tenant) : db;
		st = jobs_enqueue(jdb ? jdb : db, a, o->tenant, o->kind, payload, o->max_attempts, 0, id);
		if (st == DB_OK)
			puts(id);
	}
	if (st != DB_OK)
		fprintf(stderr, "tessera jobs %s: %s\n", o->args[0], db_last_error(db));
	if (job && o->json) {
		char *s = cJSON_PrintUnformatted(job);
		puts(s);
		cJSON_free(s);
	} else if (job) {
		const cJSON *f;
		cJSON_ArrayForEach(f, job) {
			char *v = cJSON_IsString(f) ? NULL : cJSON_PrintUnformatted(f);
			printf("%-15s %s\n", f->string, v ? v : f->valuestring);
			cJSON_free(v);
		}
	}
	int rc = st == DB_OK && (job || !show) ? 0 : 1;
	cJSON_Delete(job);
	cJSON_Delete(payload);
	arena_free(a);
	db_free(db);
	return rc;
}

/* realtime publish: what the outbox fan-out does for one event. */
static int cmd_realtime(const struct opts *o)
{
	if (o->nargs != 1 || strcmp(o->args[0], "publish") != 0 || !o->tenant || !o->event)
		return usage();
	cJSON *event = cJSON_Parse(o->event);
	if (!cJSON_IsObject(event)) {
		fprintf(stderr, "tessera realtime publish: --event is not a JSON object\n");
		cJSON_Delete(event);
		return 2;
	}
	arena_t *a = arena_new(16384);
	char err[512];
	int rc = channels_publish_event(a, o->tenant, event, err, sizeof(err)) ? 1 : 0;
	if (rc)
		fprintf(stderr, "tessera realtime publish: %s\n", err);
	cJSON_Delete(event);
	arena_free(a);
	return rc;
}

/* The command: the first argument that is not an option; global options
 * (--config FILE) may stand before it, as git's and docker's do.  Returns
 * its index in argv, or 0 if there is none. */
static int command_index(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config")) {
			i++;
			continue;
		}
		if (argv[i][0] != '-')
			return i;
	}
	return 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("tessera %s\n", TESSERA_VERSION);
			return 0;
		}
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage_of(stdout, NULL);
	}
	int at = command_index(argc, argv);
	if (!at)
		return usage();
	const char *cmd = argv[at];
	if (!strcmp(cmd, "help"))
		return usage_of(stdout, at + 1 < argc && command_known(argv[at + 1]) ? argv[at + 1] : NULL);
	if (!strcmp(cmd, "version")) {
		printf("tessera %s\n", TESSERA_VERSION);
		return 0;
	}
	if (!command_known(cmd)) {
		fprintf(stderr, "tessera: unknown command \"%s\"\n", cmd);
		return usage();
	}
	/* getopt sees the command's arguments with the global options that
	 * stood before the command moved after it. */
	char **args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return 1;
	int n = 0;
	args[n++] = argv[0];
	for (int i = at + 1; i < argc; i++)
		args[n++] = argv[i];
	for (int i = 1; i < at; i++)
		args[n++] = argv[i];
	struct opts o;
	int bad = parse_opts(n, args, &o);
	free(args);
	if (o.help)
		return usage_of(stdout, cmd);
	if (bad) {
		fprintf(stderr, "tessera %s: bad option\n", cmd);
		return usage_of(stderr, cmd);
	}
	if (crypto_init() != 0 || router_init() != 0) {
		fprintf(stderr, "tessera: initialisation failed\n");
		return 1;
	}
	if (strcmp(cmd, "routes") == 0)
		return cmd_routes(&o);
	if (load_config() != 0)
		return 1;
	mysql_library_init(0, NULL, NULL);
	g_started_ms = time_now_ms();
	int rc;
	if (strcmp(cmd, "serve") == 0)
		rc = server_run(config_path);
	else if (strcmp(cmd, "jobs") == 0)
		rc = cmd_jobs(&o);
	else if (strcmp(cmd, "migrate") == 0)
		rc = cmd_migrate();
	else if (strcmp(cmd, "tenant") == 0)
		rc = cmd_tenant(&o);
	else if (strcmp(cmd, "realtime") == 0)
		rc = cmd_realtime(&o);
	else
		rc = cmd_token(&o);
	mysql_library_end();
	router_free();
	config_release(&g_config);
	return rc;
}
