/*
 * s3.h - the S3-compatible object store under storage.c (storage_backend =
 * s3): one bucket, objects named by storage keys, requests over libcurl.
 *
 * Every request, the app's own as well as the download URLs handed to
 * nginx, carries an AWS Signature Version 4 in query-string form (a
 * presigned URL, payload UNSIGNED-PAYLOAD).  libcurl 7.88's
 * CURLOPT_AWS_SIGV4 signs headers but sends no x-amz-content-sha256 (S3
 * answers 400 without it) and cannot presign, which downloads need, so one
 * signer here serves both (checked against AWS's published example in
 * tests/unit/test_s3.c).
 */
#ifndef TESSERA_S3_H
#define TESSERA_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "arena.h"

struct s3_target {
	const char *base;       /* "http://host:port/bucket" or "https://bucket.host" */
	const char *region;
	const char *access_key;
	const char *secret_key;
};

/*
 * The presigned URL of method on key (no leading '/') valid ttl seconds from
 * now; query is an extra query string ("list-type=2&prefix=a%2Fb", names
 * and values already URI-encoded, any order) or NULL.  Allocated in a;
 * NULL when the base is not a URL.
 */
char *s3_presign(arena_t *a, const struct s3_target *t, const char *method, const char *key,
		 const char *query, long ttl, time_t now);

/* The configured bucket (g_config's s3_* keys) as a target. */
const struct s3_target *s3_config_target(void);

/* Stores the len bytes at data as key.  0 or -1 (logged). */
int s3_put(arena_t *a, const char *key, const void *data, size_t len);
/* Stores the local file at path as key, streamed.  0 or -1 (logged). */
int s3_put_file(arena_t *a, const char *key, const char *path);
/* Writes object key into the new local file path.  0, 1 when there is no
 * such object, -1 on failure (logged). */
int s3_get_file(arena_t *a, const char *key, const char *path);
/* 1 when key exists, 0 when not, -1 when the store cannot say. */
int s3_exists(arena_t *a, const char *key);
/* Deletes key; a missing one is not an error.  0 or -1. */
int s3_delete(arena_t *a, const char *key);
/* Deletes every object whose key starts with prefix.  0 or -1. */
int s3_delete_prefix(arena_t *a, const char *prefix);

#endif
