/*
 * media.c - `tessera-media`, the image helper: the only program linked
 * with libvips.
 *
 * A FastCGI worker runs it (posix_spawn) when an image variant is not yet
 * cached, so the serve pool and the jobs runner never map libvips and its
 * decoders (tens of megabytes of libraries), and a decoder crashing on a
 * hostile image takes down this short-lived process, not a worker.
 *
 *   tessera-media variant SRC FIT W H FORMAT
 *
 * FIT is cover, contain, fill, inside or outside; W and H are 0 (unset) or
 * 1..4096; FORMAT is jpeg, png, webp or avif.  The encoded image goes to
 * stdout.  Exit status (files_serve.c maps it to the answer):
 *   0  done
 *   2  SRC is not an image libvips can read, or could not be transformed
 *   3  SRC has more than MEDIA_MAX_PIXELS pixels
 *   4  this libvips cannot write FORMAT
 *   1  usage or internal error (message on stderr)
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vips/vips.h>

#include "media.h"

static int fail(int code, const char *what)
{
	fprintf(stderr, "tessera-media: %s%s%s\n", what, vips_error_buffer()[0] ? ": " : "",
		vips_error_buffer());
	vips_error_clear();
	return code;
}

/* Resizes the image at path to w x h (0 = unset) as fit says. */
static int resize(const char *path, int sw, int sh, const char *fit, int w, int h, VipsImage **out)
{
	if (!w)
		w = VIPS_MAX_COORD;
	if (!h)
		h = VIPS_MAX_COORD;
	if (!strcmp(fit, "cover"))
		return vips_thumbnail(path, out, w, "height", h, "crop", VIPS_INTERESTING_CENTRE, NULL);
	if (!strcmp(fit, "fill"))
		return vips_thumbnail(path, out, w, "height", h, "size", VIPS_SIZE_FORCE, NULL);
	if (!strcmp(fit, "outside")) {
		double s = fmax((double)w / sw, (double)h / sh);
		int ow = (int)fmin(ceil(sw * s), MEDIA_MAX_SIDE);
		int oh = (int)fmin(ceil(sh * s), MEDIA_MAX_SIDE);
		return vips_thumbnail(path, out, ow, "height", oh, "size", VIPS_SIZE_FORCE, NULL);
	}
	VipsImage *in;
	if (vips_thumbnail(path, &in, w, "height", h, "size", VIPS_SIZE_BOTH, NULL))
		return -1;
	if (strcmp(fit, "contain")) {
		*out = in;
		return 0;
	}
	/* contain: letterboxed to exactly w x h, transparent or white. */
	double bg[4] = { 255, 255, 255, 255 };
	if (vips_image_hasalpha(in))
		bg[0] = bg[1] = bg[2] = bg[3] = 0;
	VipsArrayDouble *bga = vips_array_double_new(bg, in->Bands > 4 ? 4 : in->Bands);
	int rc = vips_gravity(in, out, VIPS_COMPASS_DIRECTION_CENTRE, w, h, "extend",
			      VIPS_EXTEND_BACKGROUND, "background", bga, NULL);
	vips_area_unref(VIPS_AREA(bga));
	g_object_unref(in);
	return rc;
}

static int variant(const char *src, const char *fit, int w, int h, const char *format)
{
	static const struct { const char *name, *suffix, *opts; } savers[] = {
		{ "jpeg", ".jpg", ".jpg[Q=82,strip]" },
		{ "png", ".png", ".png[strip]" },
		{ "webp", ".webp", ".webp[Q=80,strip]" },
		{ "avif", ".avif", ".avif[Q=60,strip]" },
	};
	size_t f = 0, nf = sizeof(savers) / sizeof(savers[0]);
	while (f < nf && strcmp(savers[f].name, format))
		f++;
	if (f == nf)
		return fail(1, "unknown format");
	if (!vips_foreign_find_save_buffer(savers[f].suffix))
		return fail(MEDIA_NO_FORMAT, "this libvips cannot write the format");
	VipsImage *head = vips_image_new_from_file(src, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
	if (!head)
		return fail(MEDIA_NOT_IMAGE, "not an image");
	int sw = vips_image_get_width(head), sh = vips_image_get_height(head);
	g_object_unref(head);
	if ((long long)sw * sh > MEDIA_MAX_PIXELS)
		return fail(MEDIA_TOO_LARGE, "too many pixels");
	VipsImage *out;
	if (resize(src, sw, sh, fit, w, h, &out))
		return fail(MEDIA_NOT_IMAGE, "transform failed");
	void *buf = NULL;
	size_t len = 0;
	int rc = vips_image_write_to_buffer(out, savers[f].opts, &buf, &len, NULL);
	g_object_unref(out);
	if (rc)
		return fail(MEDIA_NOT_IMAGE, "encoding failed");
	for (size_t off = 0; off < len;) {
		ssize_t n = write(STDOUT_FILENO, (char *)buf + off, len - off);
		if (n <= 0) {
			g_free(buf);
			return fail(1, "writing stdout failed");
		}
		off += (size_t)n;
	}
	g_free(buf);
	return 0;
}

static int side(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end || v < 0 || v > MEDIA_MAX_SIDE)
		return -1;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	int w, h;
	if (argc != 7 || strcmp(argv[1], "variant") || side(argv[4], &w) || side(argv[5], &h) ||
	    (!w && !h)) {
		fprintf(stderr, "usage: tessera-media variant SRC FIT W H FORMAT\n");
		return 1;
	}
	if (VIPS_INIT(argv[0]))
		return fail(1, "libvips failed to start");
	vips_cache_set_max(0);
	vips_concurrency_set(1);
	int rc = variant(argv[2], argv[3], w, h, argv[6]);
	vips_shutdown();
	return rc;
}
