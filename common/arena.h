/*
 * arena.h - per-request bump allocator.
 *
 * Everything a request allocates comes from its arena and is released in one
 * step by arena_reset() (between requests) or arena_free().  Things that are
 * not plain memory (prepared statements, Redis replies, cJSON trees, file
 * descriptors) register a cleanup callback that runs, newest first, when the
 * arena is reset.  Allocation failure aborts: a worker that cannot allocate a
 * few kilobytes cannot answer anyway, and the master respawns it.
 */
#ifndef TESSERA_ARENA_H
#define TESSERA_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena_t;
typedef void (*arena_cleanup_fn)(void *data);

/* Creates an arena whose chunks are at least chunk_size bytes. */
arena_t *arena_new(size_t chunk_size);
/* Runs the cleanups and frees every chunk but the first. */
void arena_reset(arena_t *a);
/* Runs the cleanups and frees the arena itself.  NULL is a no-op. */
void arena_free(arena_t *a);

/* Returns n bytes aligned for any type, owned by the arena. */
void *arena_alloc(arena_t *a, size_t n);
/* Same, zero-filled. */
void *arena_calloc(arena_t *a, size_t count, size_t size);
char *arena_strdup(arena_t *a, const char *s);
char *arena_strndup(arena_t *a, const char *s, size_t n);
/* printf into arena memory; the result is always NUL-terminated. */
char *arena_printf(arena_t *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
char *arena_vprintf(arena_t *a, const char *fmt, va_list ap);

/* Registers fn(data) to run when the arena is reset or freed. */
void arena_defer(arena_t *a, arena_cleanup_fn fn, void *data);

/* Bytes handed out since the last reset (for tests and diagnostics). */
size_t arena_used(const arena_t *a);

#endif
