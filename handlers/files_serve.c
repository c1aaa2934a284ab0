/*
 * files_serve.c - getting bytes out: the bearer download (authorized here,
 * streamed by nginx through X-Accel-Redirect), signed URLs (made here,
 * verified by nginx itself in nginx/signed_url.js with the same key) and
 * image variants (made by the tessera-media helper process with libvips,
 * cached in storage, streamed by nginx).
 *
 * The signing key is HMAC-SHA256(master key, "tessera files signed-url v1")
 * in hex; tools/stack writes the same value into the 0600 nginx include
 * (`set $files_hmac_key "…";`).  A token is base64url (unpadded)
 * HMAC-SHA256(key, "<purpose>\n<tenant>\n<file id>\n<expires>") with
 * purpose "get" for downloads and "put" for presigned uploads, so one
 * cannot stand in for the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>


#include "../common/codec.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/log.h"
#include "../common/storage.h"
#include "../common/timefmt.h"
#include "../fcgi/media.h"
#include "files.h"
#include "routes.h"

#define VARIANT_MAX MEDIA_MAX_SIDE

/* ------------------------------------------------------------ signing */

static const char *sign_key(void)
{
	static char key[65];
	if (!key[0]) {
		static const char label[] = "tessera files signed-url v1";
		unsigned char mac[32];
		hmac_sha256(mac, g_config.master_key_bin, sizeof(g_config.master_key_bin), label,
			    sizeof(label) - 1);
		hex_encode(key, sizeof(key), mac, sizeof(mac));
	}
	return key;
}

void files_sign(char *out, size_t outlen, const char *purpose, const char *tenant,
		const char *file_id, long long expires)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "%s\n%s\n%s\n%lld", purpose, tenant, file_id, expires);
	unsigned char mac[32];
	hmac_sha256(mac, sign_key(), 64, msg, (size_t)n);
	b64url_encode(out, outlen, mac, sizeof(mac));
}

bool files_sign_check(const char *token, const char *purpose, const char *tenant,
		      const char *file_id, long long expires)
{
	if (expires <= (long long)time(NULL) || strlen(token) > 64)
		return false;
	char want[64];
	files_sign(want, sizeof(want), purpose, tenant, file_id, expires);
	return ct_streq(want, token);
}

/* ------------------------------------------------------------ download */

/* Hands the stored object at key to nginx's internal location. */
static void accel(req_t *r, const char *key, const char *type)
{
	reply_header(r, "X-Accel-Redirect", storage_accel_uri(r->a, key));
	reply_header(r, "Cache-Control", "private, max-age=0, must-revalidate");
	reply_raw(r, 200, type, "", 0);
}

/* Runs serve on the caller's ready, live file named in the path; 404
 * otherwise. */
static err_t on_file(req_t *r, err_t (*serve)(req_t *r, const char *id, const db_result *res))
{
	const char *id = req_param(r, "file_id");
	db_result *res;
	err_t rc = file_load(r, id, 0, &res);
	return rc ? rc : serve(r, id, res);
}

/* The version want of file (0: the current one): its number and a row
 * with its filename and mime_type; 404 when the file has no such
 * version. */
static err_t version_of(req_t *r, const char *id, const db_result *file, long long want,
			int *version, const db_result **row)
{
	*version = (int)db_get_int(file, 0, "version", 1);
	*row = file;
	if (!want || want == *version)
		return E_OK;
	db_result *res;
	db_param p[] = { db_str(id), db_int(want) };
	enum db_status st = db_exec(r->db, r->a, arena_printf(r->a, "SELECT filename, mime_type "
		"FROM %s WHERE file_id = ? AND version = ?", file_versions_table(r)), p, 2, &res);
	if (st)
		return req_db_error(r, st);
	if (res->nrows == 0)
		return req_fail(r, E_NOT_FOUND, "The file has no version %lld", want);
	*version = (int)want;
	*row = res;
	return E_OK;
}

static err_t content(req_t *r, const char *id, const db_result *res)
{
	long long want;
	int version;
	const db_result *row;
	bool inline_;
	err_t rc = req_query_int(r, "version", 0, 1, 1000000000, &want);
	if (rc || (rc = file_inline_asked(r, &inline_)) ||
	    (rc = version_of(r, id, res, want, &version, &row)))
		return rc;
	char *key = storage_version_key(r->a, r->tenant.id, id, version);
	if (!storage_exists(r->a, key)) {
		log_error("%s: file %s has no bytes at %s", r->request_id, id, key);
		return req_fail(r, E_NOT_FOUND, "The file's content is missing");
	}
	files_download_headers(r, row, inline_);
	accel(r, key, db_get(row, 0, "mime_type"));
	return E_OK;
}

err_t files_content(req_t *r)
{
	return on_file(r, content);
}

const field_t files_signed_url_body[] = {
	{ "expires_in", FT_INT, 0, 60, 86400 },
	{ "version", FT_INT, 0, 1, 1000000000 },
	{ "download", FT_BOOL, 0, 0, 0 },
	{ "disposition", FT_STRING, 0, 1, 16 },
	{ NULL, 0, 0, 0, 0 },
};

static const field_t files_variant_signed_url_body[] = {
	{ "expires_in", FT_INT, 0, 60, 86400 },
	{ NULL, 0, 0, 0, 0 },
};

/* A signed URL of the current version, or of the body's "version" (its
 * token signs "<file id>/<version>", so one cannot stand in for the
 * other).  "download": false or "disposition": "inline" adds d=inline,
 * signed as a "/inline" suffix; nginx then serves types safe to display
 * inline (as file_inline_safe) with Content-Disposition inline. */
static err_t signed_url(req_t *r, const char *id, const db_result *res)
{
	const cJSON *ttl_j = cJSON_GetObjectItemCaseSensitive(r->json, "expires_in");
	const cJSON *v_j = cJSON_GetObjectItemCaseSensitive(r->json, "version");
	const cJSON *dl_j = cJSON_GetObjectItemCaseSensitive(r->json, "download");
	const cJSON *disp_j = cJSON_GetObjectItemCaseSensitive(r->json, "disposition");
	if (disp_j && strcmp(disp_j->valuestring, "inline") && strcmp(disp_j->valuestring, "attachment"))
		return req_fail_field(r, E_VALIDATION, "disposition",
				      "disposition must be inline or attachment");
	bool inline_ = disp_j ? !strcmp(disp_j->valuestring, "inline") : cJSON_IsFalse(dl_j);
	long long ttl = ttl_j ? (long long)ttl_j->valuedouble : 3600;
	long long expires = (long long)time(NULL) + ttl;
	int version;
	const db_result *row;
	err_t rc = version_of(r, id, res, v_j ? (long long)v_j->valuedouble : 0, &version, &row);
	if (rc)
		return rc;
	const char *signed_id = id, *suffix = "";
	if (v_j) {
		signed_id = arena_printf(r->a, "%s/%d", id, version);
		suffix = arena_printf(r->a, "&version=%d", version);
		if (file_publish_version(r, id, version, row))
			return req_fail(r, E_INTERNAL, "The version cannot be published for download");
	}
	if (inline_) {
		signed_id = arena_printf(r->a, "%s/inline", signed_id);
		suffix = arena_printf(r->a, "%s&d=inline", suffix);
	}
	char token[64], when[RFC3339_LEN];
	files_sign(token, sizeof(token), "get", r->tenant.id, signed_id, expires);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "url", arena_printf(r->a,
		"%s/v1/files/%s/content?token=%s&expires=%lld&t=%s%s", g_config.public_url, id, token,
		expires, r->tenant.id, suffix));
	cJSON_AddStringToObject(d, "expires_at", time_rfc3339(when, (time_t)expires));
	cJSON_AddNumberToObject(d, "ttl", (double)ttl);
	cJSON_AddStringToObject(d, "file_id", id);
	if (v_j)
		cJSON_AddNumberToObject(d, "version", version);
	reply_data(r, 200, d);
	return E_OK;
}

err_t files_signed_url(req_t *r)
{
	return on_file(r, signed_url);
}

/* ------------------------------------------------------------ variants */

struct variant {
	long long w, h;
	const char *fit;      /* cover contain fill inside outside */
	const char *format;   /* jpeg png webp avif */
	const char *opts;     /* the transforms, as tessera-media reads them; "" for none */
};

static const struct {
	const char *name;
	int w, h;
	const char *fit;
} named_variants[] = {
	{ "thumb", 150, 150, "cover" },
	{ "small", 320, 320, "inside" },
	{ "medium", 800, 800, "inside" },
	{ "large", 1600, 1600, "inside" },
	{ "custom", 0, 0, "inside" },
};

static const struct {
	const char *name, *suffix, *mime;
} formats[] = {
	{ "jpeg", ".jpg", "image/jpeg" },
	{ "png", ".png", "image/png" },
	{ "webp", ".webp", "image/webp" },
	{ "avif", ".avif", "image/avif" },
};

static int format_index(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(formats[i].name, name))
			return (int)i;
	return -1;
}

/* The image helper: tessera-media next to this executable. */
static const char *media_helper(void)
{
	static char path[PATH_MAX];
	if (!path[0]) {
		char self[PATH_MAX - 16];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return NULL;
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (!slash)
			return NULL;
		*slash = '\0';
		snprintf(path, sizeof(path), "%s/tessera-media", self);
	}
	return access(path, X_OK) == 0 ? path : NULL;
}

/*
 * The transforms beyond size (all optional, each bounded): crop=x,y,w,h (a
 * region of the source, taken first), autorotate=false (EXIF orientation
 * is applied by default), gravity (where cover cuts), rotate, blur (sigma)
 * and quality.  They become v->opts, which tessera-media reads and which
 * also names the cached variant (fcgi/media.c has the grammar).
 */
static err_t variant_opts(req_t *r, struct variant *v)
{
	static const char *const gravities[] = { "centre", "center", "north", "south", "east", "west",
						 "attention", "entropy" };
	char o[128];    /* at most "_c<4 x 6 digits>_n_gattention_r270_b500_q100" */
	size_t on = 0;
#define OPT(...) (on += (size_t)snprintf(o + on, sizeof(o) - on, __VA_ARGS__))
	const char *crop = req_query(r, "crop");
	if (crop) {
		long long x, y, w, h;
		int n = -1;
		if (sscanf(crop, "%lld,%lld,%lld,%lld%n", &x, &y, &w, &h, &n) != 4 ||
		    crop[n] || strchr(crop, ' ') || strchr(crop, '+') || x < 0 || y < 0 ||
		    w < 1 || h < 1 || x > 100000 || y > 100000 || w > 100000 || h > 100000)
			return req_fail_field(r, E_VALIDATION, "crop",
				"crop must be x,y,width,height in pixels of the source");
		OPT("_c%lld.%lld.%lld.%lld", x, y, w, h);
	}
	bool autorotate;
	err_t rc = req_query_bool(r, "autorotate", true, &autorotate);
	if (rc)
		return rc;
	if (!autorotate)
		OPT("_n");
	const char *g = req_query(r, "gravity");
	if (g) {
		size_t i = 0, n = sizeof(gravities) / sizeof(gravities[0]);
		while (i < n && strcmp(gravities[i], g))
			i++;
		if (i == n)
			return req_fail_field(r, E_VALIDATION, "gravity", "gravity must be centre, north, "
					      "south, east, west, attention or entropy");
		if (strcmp(v->fit, "cover"))
			return req_fail_field(r, E_VALIDATION, "gravity",
					      "gravity applies to fit=cover only");
		if (i > 1)
			OPT("_g%s", g);
	}
	long long rot, q;
	if ((rc = req_query_int(r, "rotate", 0, 0, 270, &rot)))
		return rc;
	if (rot % 90)
		return req_fail_field(r, E_VALIDATION, "rotate", "rotate must be 0, 90, 180 or 270");
	if (rot)
		OPT("_r%lld", rot);
	const char *blur = req_query(r, "blur");
	if (blur) {
		char *end;
		double sigma = strtod(blur, &end);
		if (end == blur || *end || !(sigma >= 0.3 && sigma <= 50))
			return req_fail_field(r, E_VALIDATION, "blur",
					      "blur must be a sigma from 0.3 to 50");
		OPT("_b%d", (int)(sigma * 10 + 0.5));
	}
	if ((rc = req_query_int(r, "quality", 0, 1, 100, &q)))
		return rc;
	if (q)
		OPT("_q%lld", q);
#undef OPT
	v->opts = on ? arena_strdup(r->a, o + 1) : "";
	return E_OK;
}

/* The variant asked for: the named preset, overridden by the query. */
static err_t variant_parse(req_t *r, const char *source_mime, struct variant *v)
{
	const char *name = req_param(r, "variant");
	size_t i, n = sizeof(named_variants) / sizeof(named_variants[0]);
	for (i = 0; i < n && strcmp(named_variants[i].name, name); i++)
		;
	if (i == n)
		return req_fail_field(r, E_VALIDATION, "variant",
				      "variant must be thumb, small, medium, large or custom");
	err_t rc;
	if ((rc = req_query_int(r, "w", named_variants[i].w, 1, VARIANT_MAX, &v->w)) ||
	    (rc = req_query_int(r, "h", named_variants[i].h, 1, VARIANT_MAX, &v->h)))
		return rc;
	if (!v->w && !v->h)
		return req_fail_field(r, E_VALIDATION, "w", "A custom variant needs w or h");
	static const char *const fits[] = { "cover", "contain", "fill", "inside", "outside" };
	v->fit = req_query(r, "fit") ? req_query(r, "fit") : named_variants[i].fit;
	bool ok = false;
	for (size_t k = 0; k < sizeof(fits) / sizeof(fits[0]); k++)
		ok |= !strcmp(fits[k], v->fit);
	if (!ok)
		return req_fail_field(r, E_VALIDATION, "fit",
				      "fit must be cover, contain, fill, inside or outside");
	/* One side alone keeps the aspect ratio, whatever the fit. */
	if (!v->w || !v->h)
		v->fit = "inside";
	const char *fmt = req_query(r, "format");
	if (!fmt) {
		fmt = "jpeg";
		for (size_t k = 0; k < sizeof(formats) / sizeof(formats[0]); k++)
			if (!strcmp(formats[k].mime, source_mime))
				fmt = formats[k].name;
	}
	int f = format_index(fmt);
	if (f < 0)
		return req_fail_field(r, E_VALIDATION, "format", "format must be jpeg, png, webp or avif");
	v->format = formats[f].name;
	return variant_opts(r, v);
}

/*
 * Runs `tessera-media variant` on src and collects the encoded image from
 * its stdout into the arena.  Returns the helper's exit status (enum
 * media_exit), or -1 when it could not be run, was killed or timed out.
 */
static int media_run(req_t *r, const char *helper, const char *src, const struct variant *v,
		     char **out, size_t *out_len)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&at);
	sigset_t none, dfl;
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &dfl);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char w[16], h[16];
	snprintf(w, sizeof(w), "%lld", v->w);
	snprintf(h, sizeof(h), "%lld", v->h);
	char *argv[] = { (char *)helper, "variant", (char *)src, (char *)v->fit, w, h,
			 (char *)v->format, (char *)v->opts, NULL };
	extern char **environ;
	pid_t pid;
	int err = posix_spawn(&pid, helper, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(fds[1]);
	if (err) {
		close(fds[0]);
		errno = err;
		log_error("%s: cannot run %s: %m", r->request_id, helper);
		return -1;
	}
	size_t cap = 64 * 1024, len = 0;
	char *buf = malloc(cap);
	bool timed_out = false;
	long long deadline = time_now_ms() + MEDIA_TIMEOUT_S * 1000LL;
	for (;;) {
		long long left = deadline - time_now_ms();
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		int pr = left > 0 ? poll(&pfd, 1, (int)left) : 0;
		if (pr == 0) {
			timed_out = true;
			break;
		}
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (len == cap) {
			char *bigger = buf ? realloc(buf, cap * 2) : NULL;
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = buf ? read(fds[0], buf + len, cap - len) : -1;
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int rc = -1;
	if (!timed_out && WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		log_warn("%s: tessera-media %s", r->request_id,
			 timed_out ? "timed out" : "was killed by a signal");
	if (rc == MEDIA_OK && buf) {
		*out = arena_alloc(r->a, len ? len : 1);
		memcpy(*out, buf, len);
		*out_len = len;
	} else if (rc == MEDIA_OK) {
		rc = -1;
	}
	free(buf);
	return rc;
}

/* Makes the variant of the stored original at src into key. */
static err_t variant_make(req_t *r, const char *helper, const char *src,
			  const struct variant *v, const char *key)
{
	char *img = NULL;
	size_t len = 0;
	switch (media_run(r, helper, src, v, &img, &len)) {
	case MEDIA_OK:
		break;
	case MEDIA_NOT_IMAGE:
		return req_fail(r, E_VALIDATION, "This file is not an image that can be transformed");
	case MEDIA_TOO_LARGE:
		return req_fail(r, E_VALIDATION, "The image is larger than %lld pixels", MEDIA_MAX_PIXELS);
	case MEDIA_BAD_CROP:
		return req_fail_field(r, E_VALIDATION, "crop", "The crop region lies outside the image");
	case MEDIA_NO_FORMAT:
		return req_fail_field(r, E_VALIDATION, "format", "This server's libvips cannot write %s",
				      v->format);
	default:
		return req_fail(r, E_UNAVAILABLE, "Image processing failed; try again");
	}
	if (storage_put(r->a, key, img, len)) {
		log_error("%s: cannot store variant %s: %m", r->request_id, key);
		return E_INTERNAL;
	}
	return E_OK;
}

/* Makes (or finds) the variant the request asks for: *key (its storage
 * key, whose last part names it) and *mime. */
static err_t variant_ready(req_t *r, const char *id, const db_result *res, char **key,
			   const char **mime)
{
	const char *src = db_get(res, 0, "mime_type");
	if (strcmp(db_get(res, 0, "category"), "image"))
		return req_fail(r, E_VALIDATION, "Variants exist only for images; this file is %s", src);
	const char *helper = media_helper();
	if (!helper)
		return req_fail(r, E_UNAVAILABLE, "Image processing is unavailable (tessera-media is missing)");
	struct variant v;
	err_t rc;
	if ((rc = variant_parse(r, src, &v)))
		return rc;
	int version = (int)db_get_int(res, 0, "version", 1);
	int f = format_index(v.format);
	*key = arena_printf(r->a, "%s/files/%s/variants/%d-%lldx%lld-%s%s%s%s", r->tenant.id, id,
			    version, v.w, v.h, v.fit, *v.opts ? "-" : "", v.opts, formats[f].suffix);
	*mime = formats[f].mime;
	if (storage_exists(r->a, *key))
		return E_OK;
	/* From the bucket the original is fetched to a local file first. */
	char *orig;
	if (storage_fetch(r->a, storage_version_key(r->a, r->tenant.id, id, version), &orig)) {
		log_error("%s: cannot read the original of %s", r->request_id, id);
		return req_fail(r, E_UNAVAILABLE, "The original image cannot be read; try again");
	}
	return variant_make(r, helper, orig, &v, *key);
}

static err_t variant(req_t *r, const char *id, const db_result *res)
{
	char *key;
	const char *mime;
	err_t rc = variant_ready(r, id, res, &key, &mime);
	if (rc)
		return rc;
	accel(r, key, mime);
	return E_OK;
}

err_t files_variant(req_t *r)
{
	return on_file(r, variant);
}

/* A signed URL of a variant, made now, which nginx serves (into an <img>);
 * a public file's variant also has a URL without a token. */
static err_t variant_signed_url(req_t *r, const char *id, const db_result *res)
{
	char *key;
	const char *mime;
	err_t rc = variant_ready(r, id, res, &key, &mime);
	if (rc)
		return rc;
	const char *vk = strrchr(key, '/') + 1, *name = req_param(r, "variant");
	const cJSON *ttl_j = cJSON_GetObjectItemCaseSensitive(r->json, "expires_in");
	long long ttl = ttl_j ? (long long)ttl_j->valuedouble : 3600;
	long long expires = (long long)time(NULL) + ttl;
	char token[64], when[RFC3339_LEN];
	files_sign(token, sizeof(token), "get", r->tenant.id,
		   arena_printf(r->a, "%s/variants/%s", id, vk), expires);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "url", arena_printf(r->a,
		"%s/v1/files/%s/variants/%s?token=%s&expires=%lld&t=%s&vk=%s", g_config.public_url,
		id, name, token, expires, r->tenant.id, vk));
	cJSON_AddStringToObject(d, "expires_at", time_rfc3339(when, (time_t)expires));
	cJSON_AddNumberToObject(d, "ttl", (double)ttl);
	cJSON_AddStringToObject(d, "file_id", id);
	cJSON_AddStringToObject(d, "variant", name);
	cJSON_AddStringToObject(d, "mime_type", mime);
	if (!strcmp(db_get(res, 0, "access"), "public"))
		cJSON_AddStringToObject(d, "public_url", arena_printf(r->a,
			"%s/v1/files/%s/variants/%s?t=%s&vk=%s", g_config.public_url, id, name,
			r->tenant.id, vk));
	else
		cJSON_AddNullToObject(d, "public_url");
	reply_data(r, 200, d);
	return E_OK;
}

err_t files_variant_signed_url(req_t *r)
{
	return on_file(r, variant_signed_url);
}

/* The endpoints this file serves; routes.c assembles the table from
 * every file's rows. */
const route_t files_serve_routes[] = {
	ROUTE("POST", "/v1/files/:file_id/signed-url", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_signed_url, files_signed_url_body, "Generate signed URL"),
	ROUTE("GET", "/v1/files/:file_id/content", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_content, NULL, "Download file content"),
	ROUTE("GET", "/v1/files/:file_id/variants/:variant", "Files", AUTH_BEARER, "files", "files:read", R_USER, files_variant, NULL, "Get image variant"),
	ROUTE("POST", "/v1/files/:file_id/variants/:variant/signed-url", "Files", AUTH_BEARER, "files", "files:read", R_USER | R_EXTENSION, files_variant_signed_url, files_variant_signed_url_body, "Generate a signed URL of an image variant"),
	ROUTES_END,
};
