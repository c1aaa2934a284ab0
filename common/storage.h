/*
 * storage.h - where file bytes live, behind one interface.
 *
 * Keys are relative paths made by the server, never by a client:
 *   <tenant>/files/<file id>/<version>            one version's bytes
 *   <tenant>/files/<file id>/variants/<name>      cached image variants
 * The local driver (the only one today) keeps them under storage_root in
 * tessera.conf and writes every object atomically: a temp file in the same
 * directory, fsync, rename, fsync of the directory.  A file's directory also
 * holds what nginx needs to serve it without the app (storage_publish):
 * `current` (symlink to the current version), `meta` (its Content-Type and
 * Content-Disposition, read by nginx/signed_url.js) and, for public files,
 * `public` (symlink to current).
 *
 * With storage_backend = s3 (common/s3.h) the objects (versions and
 * variants) live in the bucket under the same keys, while storage_root
 * keeps what nginx reads on every signed download (`current`, `meta`,
 * `public`: the publish state) and the bytes of unfinished tus uploads,
 * which move to the bucket when complete (storage_promote).  Nothing
 * outside storage.c touches the filesystem layout or the bucket.
 */
#ifndef TESSERA_STORAGE_H
#define TESSERA_STORAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

/* "<tenant>/files/<file>" (arena-allocated). */
char *storage_file_dir(arena_t *a, const char *tenant, const char *file_id);
/* "<tenant>/files/<file>/<version>". */
char *storage_version_key(arena_t *a, const char *tenant, const char *file_id, int version);
/* Absolute path of a key under the storage root (local driver). */
char *storage_path(arena_t *a, const char *key);

/* Whether objects go to the S3 bucket (storage_backend = s3). */
bool storage_is_s3(void);

/* Stores len bytes as the object key: on disk atomically (temp + fsync +
 * rename, creating directories), or in the bucket.  0, or -1 (nothing is
 * left behind). */
int storage_put(arena_t *a, const char *key, const void *data, size_t len);
/* Writes len bytes at key under storage_root whatever the backend (the
 * publish state, staged tus uploads), atomically.  0, or -1 with errno. */
int storage_put_local(arena_t *a, const char *key, const void *data, size_t len);
/* The bytes staged under storage_root at key become the object key: on
 * disk they already are; to S3 they are uploaded and the local copy
 * removed.  0 or -1. */
int storage_promote(arena_t *a, const char *key);
/* A local file holding object key's bytes (*path, arena-allocated): the
 * object itself on disk, or a temporary copy fetched from the bucket and
 * removed when the arena is released.  0, 1 when there is no such object,
 * -1 on failure. */
int storage_fetch(arena_t *a, const char *key, char **path);
/* The X-Accel-Redirect URI that makes nginx stream object key: the
 * storage location, or the S3 proxy location with a presigned query
 * (nginx/tessera-locations.conf.in).  Never NULL. */
char *storage_accel_uri(arena_t *a, const char *key);
/* Whether key exists. */
bool storage_exists(arena_t *a, const char *key);
/* Removes one object (and its local copy); a missing one is not an error. */
int storage_remove(arena_t *a, const char *key);
/*
 * Makes version the one nginx serves for the file (without FastCGI): the
 * `current` link, the `meta` text (meta is "<content type>\n<content
 * disposition>\n"; the version's number and "\n" are added) and the
 * `public` link when is_public.  0 or -1.
 */
int storage_publish(arena_t *a, const char *tenant, const char *file_id, int version,
		    const char *meta, bool is_public);
/* Takes the file off nginx's direct paths (deleted files). */
void storage_unpublish(arena_t *a, const char *tenant, const char *file_id);
/* Removes the file's every version and variant. */
int storage_remove_file(arena_t *a, const char *tenant, const char *file_id);
/* Removes the cached variants only (a new version makes them stale). */
void storage_remove_variants(arena_t *a, const char *tenant, const char *file_id);

/* Maps a file read-only: *data and *len, with the mapping released by the
 * arena.  An empty file maps to a zero length.  0 or -1. */
int storage_map(arena_t *a, const char *path, const unsigned char **data, size_t *len);

#endif
