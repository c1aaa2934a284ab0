/*
 * media.h - the contract between the FastCGI workers and `tessera-media`,
 * the image helper process (fcgi/media.c): limits and exit statuses.
 */
#ifndef TESSERA_MEDIA_H
#define TESSERA_MEDIA_H

#define MEDIA_MAX_SIDE 4096                 /* w and h of a variant */
#define MEDIA_MAX_PIXELS 100000000LL        /* pixels of a source image */
#define MEDIA_TIMEOUT_S 30                  /* a variant taking longer is killed */

enum media_exit {
	MEDIA_OK = 0,
	MEDIA_ERROR = 1,       /* usage or internal error */
	MEDIA_NOT_IMAGE = 2,   /* not an image libvips can read, or transform failed */
	MEDIA_TOO_LARGE = 3,   /* more than MEDIA_MAX_PIXELS */
	MEDIA_NO_FORMAT = 4,   /* this libvips cannot write the format */
	MEDIA_BAD_CROP = 5,    /* the crop region lies outside the image */
};

#endif
