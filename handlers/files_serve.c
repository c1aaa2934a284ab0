/*
 * files_serve.c - getting bytes out: the bearer download (authorized here,
 * streamed by nginx through X-Accel-Redirect), signed URLs (made here,
 * verified by nginx itself in nginx/signed_url.js with the same key) and
 * image variants (made with libvips, cached in storage, streamed by nginx).
 *
 * The signing key is HMAC-SHA256(master key, "tessera files signed-url v1")
 * in hex; tools/stack writes the same value into the 0600 nginx include
 * (`set $files_hmac_key "…";`).  A token is base64url (unpadded)
 * HMAC-SHA256(key, "<purpose>\n<tenant>\n<file id>\n<expires>") with
 * purpose "get" for downloads and "put" for presigned uploads, so one
 * cannot stand in for the other.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vips/vips.h>

#include "../common/codec.h"
#include "../common/config.h"
#include "../common/crypto.h"
#include "../common/log.h"
#include "../common/storage.h"
#include "../common/timefmt.h"
#include "files.h"
#include "handlers.h"

#define VARIANT_MAX 4096
#define SOURCE_MAX_PIXELS 100000000LL

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
	reply_header(r, "X-Accel-Redirect", arena_printf(r->a, "/_tessera/filedata/%s", key));
	reply_header(r, "Cache-Control", "private, max-age=0, must-revalidate");
	reply_raw(r, 200, type, "", 0);
}

err_t files_content(req_t *r)
{
	const char *id = req_param(r, "file_id");
	db_result *res;
	err_t rc = file_load(r, id, 0, &res);
	if (rc)
		return rc;
	char *key = storage_version_key(r->a, r->tenant.id, id, (int)db_get_int(res, 0, "version", 1));
	if (!storage_exists(r->a, key)) {
		log_error("%s: file %s has no bytes at %s", r->request_id, id, key);
		return req_fail(r, E_NOT_FOUND, "The file's content is missing");
	}
	files_download_headers(r, res);
	accel(r, key, db_get(res, 0, "mime_type"));
	return E_OK;
}

const field_t files_signed_url_body[] = {
	{ "expires_in", FT_INT, 0, 60, 86400 },
	{ NULL, 0, 0, 0, 0 },
};

err_t files_signed_url(req_t *r)
{
	const char *id = req_param(r, "file_id");
	db_result *res;
	err_t rc = file_load(r, id, 0, &res);
	if (rc)
		return rc;
	const cJSON *ttl_j = cJSON_GetObjectItemCaseSensitive(r->json, "expires_in");
	long long ttl = ttl_j ? (long long)ttl_j->valuedouble : 3600;
	long long expires = (long long)time(NULL) + ttl;
	char token[64], when[RFC3339_LEN];
	files_sign(token, sizeof(token), "get", r->tenant.id, id, expires);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "url", arena_printf(r->a, "%s/v1/files/%s/content?token=%s&expires=%lld&t=%s",
						       g_config.public_url, id, token, expires, r->tenant.id));
	cJSON_AddStringToObject(d, "expires_at", time_rfc3339(when, (time_t)expires));
	cJSON_AddNumberToObject(d, "ttl", (double)ttl);
	cJSON_AddStringToObject(d, "file_id", id);
	reply_data(r, 200, d);
	return E_OK;
}

/* ------------------------------------------------------------ variants */

struct variant {
	long long w, h;
	const char *fit;      /* cover contain fill inside outside */
	const char *format;   /* jpeg png webp avif */
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

/* libvips, started once per worker on first use, with a small cache. */
static bool vips_ready(void)
{
	static int state; /* 0 untried, 1 ready, -1 failed */
	if (state == 0) {
		state = VIPS_INIT("tessera") == 0 ? 1 : -1;
		if (state > 0) {
			vips_cache_set_max(16);
			vips_cache_set_max_mem(32 * 1024 * 1024);
			vips_cache_set_max_files(8);
			vips_concurrency_set(1);
		} else {
			log_error("libvips: %s", vips_error_buffer());
		}
	}
	return state > 0;
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
	if (!vips_foreign_find_save_buffer(formats[f].suffix))
		return req_fail_field(r, E_VALIDATION, "format",
				      "This server's libvips cannot write %s", fmt);
	v->format = formats[f].name;
	return E_OK;
}

/* Resizes the image at path as v says; the result is a new image. */
static int variant_resize(const char *path, int sw, int sh, const struct variant *v, VipsImage **out)
{
	int w = v->w ? (int)v->w : VIPS_MAX_COORD, h = v->h ? (int)v->h : VIPS_MAX_COORD;
	if (!strcmp(v->fit, "cover"))
		return vips_thumbnail(path, out, w, "height", h, "crop", VIPS_INTERESTING_CENTRE, NULL);
	if (!strcmp(v->fit, "fill"))
		return vips_thumbnail(path, out, w, "height", h, "size", VIPS_SIZE_FORCE, NULL);
	if (!strcmp(v->fit, "outside")) {
		double s = fmax((double)w / sw, (double)h / sh);
		int ow = (int)fmin(ceil(sw * s), VARIANT_MAX), oh = (int)fmin(ceil(sh * s), VARIANT_MAX);
		return vips_thumbnail(path, out, ow, "height", oh, "size", VIPS_SIZE_FORCE, NULL);
	}
	VipsImage *in;
	if (vips_thumbnail(path, &in, w, "height", h, "size", VIPS_SIZE_BOTH, NULL))
		return -1;
	if (strcmp(v->fit, "contain")) {
		*out = in;
		return 0;
	}
	/* contain: letterboxed to exactly w x h, transparent or white. */
	bool alpha = vips_image_hasalpha(in);
	double bg[4] = { 255, 255, 255, 255 };
	if (alpha)
		bg[0] = bg[1] = bg[2] = bg[3] = 0;
	VipsArrayDouble *bga = vips_array_double_new(bg, in->Bands > 4 ? 4 : in->Bands);
	int rc = vips_gravity(in, out, VIPS_COMPASS_DIRECTION_CENTRE, w, h, "extend",
			      VIPS_EXTEND_BACKGROUND, "background", bga, NULL);
	vips_area_unref(VIPS_AREA(bga));
	g_object_unref(in);
	return rc;
}

/* Makes the variant of the stored original at src into key. */
static err_t variant_make(req_t *r, const char *src, const struct variant *v, const char *key)
{
	VipsImage *head = vips_image_new_from_file(src, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	if (!head) {
		vips_error_clear();
		return req_fail(r, E_VALIDATION, "This file is not an image libvips can read");
	}
	int sw = vips_image_get_width(head), sh = vips_image_get_height(head);
	g_object_unref(head);
	if ((long long)sw * sh > SOURCE_MAX_PIXELS)
		return req_fail(r, E_VALIDATION, "The image is larger than %lld pixels", SOURCE_MAX_PIXELS);
	VipsImage *out;
	if (variant_resize(src, sw, sh, v, &out)) {
		log_warn("%s: variant failed: %s", r->request_id, vips_error_buffer());
		vips_error_clear();
		return req_fail(r, E_VALIDATION, "The image could not be transformed");
	}
	void *buf = NULL;
	size_t len = 0;
	const char *opts = !strcmp(v->format, "jpeg") ? ".jpg[Q=82,strip]" : !strcmp(v->format, "png")
			   ? ".png[strip]" : !strcmp(v->format, "webp") ? ".webp[Q=80,strip]" : ".avif[Q=60,strip]";
	int rc = vips_image_write_to_buffer(out, opts, &buf, &len, NULL);
	g_object_unref(out);
	if (rc) {
		log_warn("%s: variant save failed: %s", r->request_id, vips_error_buffer());
		vips_error_clear();
		return req_fail(r, E_VALIDATION, "The image could not be written as %s", v->format);
	}
	int st = storage_put(r->a, key, buf, len);
	g_free(buf);
	if (st) {
		log_error("%s: cannot store variant %s: %m", r->request_id, key);
		return E_INTERNAL;
	}
	return E_OK;
}

err_t files_variant(req_t *r)
{
	const char *id = req_param(r, "file_id");
	db_result *res;
	err_t rc = file_load(r, id, 0, &res);
	if (rc)
		return rc;
	const char *mime = db_get(res, 0, "mime_type");
	if (strcmp(db_get(res, 0, "category"), "image"))
		return req_fail(r, E_VALIDATION, "Variants exist only for images; this file is %s", mime);
	if (!vips_ready())
		return req_fail(r, E_UNAVAILABLE, "Image processing is unavailable");
	struct variant v;
	if ((rc = variant_parse(r, mime, &v)))
		return rc;
	int version = (int)db_get_int(res, 0, "version", 1);
	char *key = arena_printf(r->a, "%s/files/%s/variants/%d-%lldx%lld-%s.%s", r->tenant.id, id,
				 version, v.w, v.h, v.fit, v.format);
	if (!storage_exists(r->a, key) &&
	    (rc = variant_make(r, storage_path(r->a, storage_version_key(r->a, r->tenant.id, id, version)),
			       &v, key)))
		return rc;
	accel(r, key, formats[format_index(v.format)].mime);
	return E_OK;
}
