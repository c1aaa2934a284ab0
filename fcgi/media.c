/*
 * media.c - `tessera-media`, the image helper: the only program linked
 * with libvips.
 *
 * A FastCGI worker runs it (posix_spawn) when an image variant is not yet
 * cached, so the serve pool and the jobs runner never map libvips and its
 * decoders (tens of megabytes of libraries), and a decoder crashing on a
 * hostile image takes down this short-lived process, not a worker.
 *
 *   tessera-media variant SRC FIT W H FORMAT [OPTIONS]
 *
 * FIT is cover, contain, fill, inside or outside; W and H are 0 (unset) or
 * 1..4096; FORMAT is jpeg, png, webp or avif.  OPTIONS, the same text that
 * names the cached variant, is tokens joined by '_', in this order:
 *   c<x>.<y>.<w>.<h>  take this region of the (oriented) source first
 *   n                 keep the pixels as stored (no EXIF auto-orientation)
 *   g<gravity>        where cover cuts: north south east west attention
 *                     entropy (default centre)
 *   r<deg>            rotate 90, 180 or 270 degrees clockwise after resizing
 *   b<tenths>         Gaussian blur, sigma in tenths (3..500)
 *   q<1..100>         encoder quality (jpeg, webp, avif; png is lossless)
 * The encoded image goes to stdout.  Exit status (files_serve.c maps it to
 * the answer):
 *   0  done
 *   2  SRC is not an image libvips can read, or could not be transformed
 *   3  SRC has more than MEDIA_MAX_PIXELS pixels
 *   4  this libvips cannot write FORMAT
 *   5  the crop region lies outside the image
 *   1  usage or internal error (message on stderr)
 */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
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

struct opts {
	int cx, cy, cw, ch;     /* crop region; cw = 0: none */
	bool no_rotate;
	const char *gravity;    /* NULL: centre */
	int rotate;             /* 0, 90, 180, 270 */
	int blur;               /* sigma in tenths; 0: none */
	int quality;            /* 0: the format's default */
};

/* Parses OPTIONS (see the top); -1 on anything else. */
static int opts_parse(const char *text, struct opts *o)
{
	static const char *const gravities[] = { "north", "south", "east", "west", "attention",
						 "entropy" };
	static char buf[256];
	memset(o, 0, sizeof(*o));
	if (!text || !*text)
		return 0;
	size_t n = strlen(text);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, text, n + 1);
	for (char *save, *t = strtok_r(buf, "_", &save); t; t = strtok_r(NULL, "_", &save)) {
		int n = 0;
		switch (t[0]) {
		case 'c':
			if (sscanf(t, "c%d.%d.%d.%d%n", &o->cx, &o->cy, &o->cw, &o->ch, &n) != 4 ||
			    t[n] || o->cx < 0 || o->cy < 0 || o->cw < 1 || o->ch < 1)
				return -1;
			break;
		case 'n':
			if (t[1])
				return -1;
			o->no_rotate = true;
			break;
		case 'g':
			for (size_t i = 0; i < sizeof(gravities) / sizeof(gravities[0]); i++)
				if (!strcmp(t + 1, gravities[i]))
					o->gravity = gravities[i];
			if (!o->gravity)
				return -1;
			break;
		case 'r':
			if (sscanf(t, "r%d%n", &o->rotate, &n) != 1 || t[n] ||
			    (o->rotate != 90 && o->rotate != 180 && o->rotate != 270))
				return -1;
			break;
		case 'b':
			if (sscanf(t, "b%d%n", &o->blur, &n) != 1 || t[n] || o->blur < 3 || o->blur > 500)
				return -1;
			break;
		case 'q':
			if (sscanf(t, "q%d%n", &o->quality, &n) != 1 || t[n] || o->quality < 1 ||
			    o->quality > 100)
				return -1;
			break;
		default:
			return -1;
		}
	}
	return 0;
}

/* The source: a file libvips shrinks on load, or (after a crop) an image
 * already in memory, oriented. */
struct source {
	const char *path;
	VipsImage *img;
	bool no_rotate;
	int w, h;               /* as displayed */
};

static int thumb(const struct source *s, VipsImage **out, int w, int h, VipsSize size,
		 VipsInteresting crop)
{
	if (s->img)
		return vips_thumbnail_image(s->img, out, w, "height", h, "size", size, "crop", crop,
					    "no_rotate", TRUE, NULL);
	return vips_thumbnail(s->path, out, w, "height", h, "size", size, "crop", crop,
			      "no_rotate", s->no_rotate, NULL);
}

/* Scales to cover w x h exactly (the smaller side fits), then cuts w x h
 * at the compass point gravity names. */
static int cover_at(const struct source *s, const char *gravity, int w, int h, VipsImage **out)
{
	double k = fmax((double)w / s->w, (double)h / s->h);
	int ow = (int)fmax(ceil(s->w * k), w), oh = (int)fmax(ceil(s->h * k), h);
	VipsImage *big;
	if (thumb(s, &big, ow, oh, VIPS_SIZE_FORCE, VIPS_INTERESTING_NONE))
		return -1;
	int x = (big->Xsize - w) / 2, y = (big->Ysize - h) / 2;
	if (!strcmp(gravity, "north"))
		y = 0;
	else if (!strcmp(gravity, "south"))
		y = big->Ysize - h;
	else if (!strcmp(gravity, "west"))
		x = 0;
	else if (!strcmp(gravity, "east"))
		x = big->Xsize - w;
	int rc = vips_extract_area(big, out, x, y, w, h, NULL);
	g_object_unref(big);
	return rc;
}

/* Resizes the source to w x h (0 = unset) as fit says. */
static int resize(const struct source *s, const char *fit, const struct opts *o, int w, int h,
		  VipsImage **out)
{
	if (!w)
		w = VIPS_MAX_COORD;
	if (!h)
		h = VIPS_MAX_COORD;
	if (!strcmp(fit, "cover")) {
		if (o->gravity && strcmp(o->gravity, "attention") && strcmp(o->gravity, "entropy"))
			return cover_at(s, o->gravity, w, h, out);
		VipsInteresting in = !o->gravity ? VIPS_INTERESTING_CENTRE :
			!strcmp(o->gravity, "attention") ? VIPS_INTERESTING_ATTENTION :
			VIPS_INTERESTING_ENTROPY;
		return thumb(s, out, w, h, VIPS_SIZE_BOTH, in);
	}
	if (!strcmp(fit, "fill"))
		return thumb(s, out, w, h, VIPS_SIZE_FORCE, VIPS_INTERESTING_NONE);
	if (!strcmp(fit, "outside")) {
		double k = fmax((double)w / s->w, (double)h / s->h);
		int ow = (int)fmin(ceil(s->w * k), MEDIA_MAX_SIDE);
		int oh = (int)fmin(ceil(s->h * k), MEDIA_MAX_SIDE);
		return thumb(s, out, ow, oh, VIPS_SIZE_FORCE, VIPS_INTERESTING_NONE);
	}
	VipsImage *in;
	if (thumb(s, &in, w, h, VIPS_SIZE_BOTH, VIPS_INTERESTING_NONE))
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

/* Replaces *img by op's result on it; -1 (and *img unchanged) on failure. */
#define STEP(img, call)                                                        \
	do {                                                                   \
		VipsImage *next_;                                              \
		if (call)                                                      \
			return -1;                                             \
		g_object_unref(img);                                           \
		(img) = next_;                                                 \
	} while (0)

/* The oriented source cut to the crop region. */
static int source_crop(const char *src, const struct opts *o, struct source *s)
{
	VipsImage *img = vips_image_new_from_file(src, NULL);
	if (!img)
		return MEDIA_NOT_IMAGE;
	if (!o->no_rotate) {
		VipsImage *up;
		if (vips_autorot(img, &up, NULL)) {
			g_object_unref(img);
			return MEDIA_NOT_IMAGE;
		}
		g_object_unref(img);
		img = up;
	}
	if ((long long)o->cx + o->cw > img->Xsize || (long long)o->cy + o->ch > img->Ysize) {
		fprintf(stderr, "tessera-media: crop outside the %dx%d image\n", img->Xsize, img->Ysize);
		g_object_unref(img);
		return MEDIA_BAD_CROP;
	}
	VipsImage *part;
	int rc = vips_extract_area(img, &part, o->cx, o->cy, o->cw, o->ch, NULL);
	g_object_unref(img);
	if (rc)
		return MEDIA_NOT_IMAGE;
	s->img = part;
	s->w = o->cw;
	s->h = o->ch;
	return 0;
}

/* Rotation and blur after resizing. */
static int finish(VipsImage **img, const struct opts *o)
{
	if (o->rotate) {
		VipsAngle a = o->rotate == 90 ? VIPS_ANGLE_D90 :
			      o->rotate == 180 ? VIPS_ANGLE_D180 : VIPS_ANGLE_D270;
		STEP(*img, vips_rot(*img, &next_, a, NULL));
	}
	if (o->blur)
		STEP(*img, vips_gaussblur(*img, &next_, o->blur / 10.0, NULL));
	return 0;
}

static int variant(const char *src, const char *fit, int w, int h, const char *format,
		   const struct opts *o)
{
	static const struct { const char *name, *suffix; int q; } savers[] = {
		{ "jpeg", ".jpg", 82 },
		{ "png", ".png", 0 },   /* lossless: no quality */
		{ "webp", ".webp", 80 },
		{ "avif", ".avif", 60 },
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
	struct source s = { .path = src, .no_rotate = o->no_rotate };
	s.w = vips_image_get_width(head);
	s.h = vips_image_get_height(head);
	bool swap = !o->no_rotate && vips_image_get_orientation_swap(head);
	g_object_unref(head);
	if ((long long)s.w * s.h > MEDIA_MAX_PIXELS)
		return fail(MEDIA_TOO_LARGE, "too many pixels");
	if (swap) {
		int t = s.w;
		s.w = s.h;
		s.h = t;
	}
	int rc;
	if (o->cw && (rc = source_crop(src, o, &s)))
		return rc == MEDIA_BAD_CROP ? rc : fail(rc, "crop failed");
	VipsImage *out;
	rc = resize(&s, fit, o, w, h, &out);
	if (s.img)
		g_object_unref(s.img);
	if (rc || finish(&out, o)) {
		if (!rc)
			g_object_unref(out);
		return fail(MEDIA_NOT_IMAGE, "transform failed");
	}
	char saveopts[64];
	if (savers[f].q)
		snprintf(saveopts, sizeof(saveopts), "%s[Q=%d,strip]", savers[f].suffix,
			 o->quality ? o->quality : savers[f].q);
	else
		snprintf(saveopts, sizeof(saveopts), "%s[strip]", savers[f].suffix);
	void *buf = NULL;
	size_t len = 0;
	rc = vips_image_write_to_buffer(out, saveopts, &buf, &len, NULL);
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
	struct opts o;
	if ((argc != 7 && argc != 8) || strcmp(argv[1], "variant") || side(argv[4], &w) ||
	    side(argv[5], &h) || (!w && !h) || opts_parse(argc == 8 ? argv[7] : NULL, &o)) {
		fprintf(stderr, "usage: tessera-media variant SRC FIT W H FORMAT [OPTIONS]\n");
		return 1;
	}
	if (VIPS_INIT(argv[0]))
		return fail(1, "libvips failed to start");
	vips_cache_set_max(0);
	vips_concurrency_set(1);
	int rc = variant(argv[2], argv[3], w, h, argv[6], &o);
	vips_shutdown();
	return rc;
}
