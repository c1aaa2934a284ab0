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
 * The path to S3-compatible storage: a second driver implementing these
 * calls with libcurl (AWS SigV4: PUT object, DELETE by prefix, GET for
 * variants) and answering downloads with a redirect to a presigned GET
 * instead of X-Accel-Redirect; nginx's signed-URL location then proxies to
 * the bucket.  Nothing outside storage.c touches the filesystem layout.
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

/* Writes len bytes at key atomically (temp + fsync + rename), creating
 * directories.  0, or -1 with errno set (nothing is left behind). */
int storage_put(arena_t *a, const char *key, const void *data, size_t len);
/* Whether key exists. */
bool storage_exists(arena_t *a, const char *key);
/* Removes one object; a missing one is not an error. */
int storage_remove(arena_t *a, const char *key);
/*
 * Makes version the one nginx serves for the file (without FastCGI): the
 * `current` link, the `meta` text ("<content type>\n<content disposition>\n")
 * and the `public` link when is_public.  0 or -1.
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
