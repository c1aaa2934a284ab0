/*
 * arena.c - chunked bump allocator with cleanup callbacks (see arena.h).
 */
#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16

struct chunk {
	struct chunk *next;
	size_t size;
	size_t used;
	/* 16-byte aligned so that every allocation is aligned for any type. */
	unsigned char data[] __attribute__((aligned(ARENA_ALIGN)));
};

struct cleanup {
	struct cleanup *next;
	arena_cleanup_fn fn;
	void *data;
};

struct arena {
	struct chunk *head;
	struct cleanup *cleanups;
	size_t chunk_size;
	size_t used;
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fputs("tessera: out of memory\n", stderr);
		abort();
	}
	return p;
}

static struct chunk *chunk_new(size_t size)
{
	struct chunk *c = xmalloc(sizeof(*c) + size);
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

arena_t *arena_new(size_t chunk_size)
{
	arena_t *a = xmalloc(sizeof(*a));
	a->chunk_size = chunk_size < 1024 ? 1024 : chunk_size;
	a->head = chunk_new(a->chunk_size);
	a->cleanups = NULL;
	a->used = 0;
	return a;
}

static void run_cleanups(arena_t *a)
{
	while (a->cleanups) {
		struct cleanup *c = a->cleanups;
		a->cleanups = c->next;
		c->fn(c->data);
	}
}

void arena_reset(arena_t *a)
{
	run_cleanups(a);
	/* Keep the last chunk (the first one allocated) for the next request. */
	struct chunk *c = a->head;
	while (c->next) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	c->used = 0;
	a->head = c;
	a->used = 0;
}

void arena_free(arena_t *a)
{
	if (!a)
		return;
	run_cleanups(a);
	struct chunk *c = a->head;
	while (c) {
		struct chunk *next = c->next;
		free(c);
		c = next;
	}
	free(a);
}

void *arena_alloc(arena_t *a, size_t n)
{
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need < n) {
		fputs("tessera: arena request overflow\n", stderr);
		abort();
	}
	struct chunk *c = a->head;
	if (c->size - c->used < need) {
		size_t size = need > a->chunk_size ? need : a->chunk_size;
		c = chunk_new(size);
		c->next = a->head;
		a->head = c;
	}
	void *p = c->data + c->used;
	c->used += need;
	a->used += need;
	return p;
}

void *arena_calloc(arena_t *a, size_t count, size_t size)
{
	if (size && count > SIZE_MAX / size) {
		fputs("tessera: arena calloc overflow\n", stderr);
		abort();
	}
	void *p = arena_alloc(a, count * size);
	memset(p, 0, count * size);
	return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(arena_t *a, const char *s)
{
	return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_vprintf(arena_t *a, const char *fmt, va_list ap)
{
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return arena_strdup(a, "");
	char *p = arena_alloc(a, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *arena_printf(arena_t *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

void arena_defer(arena_t *a, arena_cleanup_fn fn, void *data)
{
	struct cleanup *c = arena_alloc(a, sizeof(*c));
	c->fn = fn;
	c->data = data;
	c->next = a->cleanups;
	a->cleanups = c;
}

size_t arena_used(const arena_t *a)
{
	return a->used;
}
