/* tools/bench-ai.c — the built-in AI's hot paths, in process (`make
 * bench-ai`, and `make bench` through tools/bench):
 *   embed   local-hash-384 embeddings of 1 KB texts, per second
 *   search  exact top-10 over 100,000 vectors of 384 dimensions (the scan
 *           and selection /v1/ai/search runs on a worker's cached set),
 *           p50 and p99 over 200 queries; target p99 < 50 ms
 * Prints one line per figure and exits 1 with --check when the search
 * misses its target.  What a search adds on top (embedding the query, one
 * PK read of the index generation, reading the 10 objects) is a few
 * milliseconds; the first search after the index changed also reads the
 * vectors from MariaDB into the worker's memory (about 150 MB here).
 *
 * Usage: bench-ai [--check] [--vectors N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/ailocal.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* A 1 KB text of words drawn from a small vocabulary. */
static void text_make(char *buf, size_t len, unsigned *seed)
{
	static const char *const words[] = {
		"invoice", "payment", "customer", "order", "delivery", "warehouse", "the", "and",
		"quarterly", "revenue", "market", "support", "ticket", "refund", "account", "of",
		"shipping", "address", "product", "catalogue", "price", "discount", "report", "team",
	};
	size_t n = 0;
	while (n + 16 < len) {
		*seed = *seed * 1103515245u + 12345u;
		const char *w = words[(*seed >> 16) % (sizeof(words) / sizeof(words[0]))];
		n += (size_t)snprintf(buf + n, len - n, "%s%s", w, (*seed >> 8) % 9 ? " " : ". ");
	}
	buf[n] = '\0';
}

int main(int argc, char **argv)
{
	int check = 0, nvec = 100000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--check"))
			check = 1;
		else if (!strcmp(argv[i], "--vectors") && i + 1 < argc)
			nvec = atoi(argv[++i]);
	}
	unsigned seed = 42;
	char text[1025];
	float v[AILOCAL_DIMS];
	int texts = 20000;
	double t0 = now_ms();
	for (int i = 0; i < texts; i++) {
		text_make(text, sizeof(text), &seed);
		ailocal_embed(text, strlen(text), v);
	}
	double ms = now_ms() - t0;
	printf("ai embed   local-hash-384, 1 KB texts: %.0f texts/s\n", texts / (ms / 1e3));

	float *vecs = malloc((size_t)nvec * AILOCAL_DIMS * sizeof(float));
	ailocal_hit_t *hits = malloc((size_t)nvec * sizeof(*hits));
	if (!vecs || !hits)
		return 1;
	/* Real embeddings of short texts, so the scores look like a tenant's. */
	for (int i = 0; i < nvec; i++) {
		text_make(text, 200, &seed);
		ailocal_embed(text, strlen(text), vecs + (size_t)i * AILOCAL_DIMS);
	}
	enum { QUERIES = 200 };
	double lat[QUERIES];
	for (int k = 0; k < QUERIES; k++) {
		text_make(text, 60, &seed);
		ailocal_embed(text, strlen(text), v);
		t0 = now_ms();
		ailocal_rank(vecs, nvec, AILOCAL_DIMS, v, NULL, 64, hits);
		lat[k] = now_ms() - t0;
	}
	qsort(lat, QUERIES, sizeof(lat[0]), cmp_double);
	double p50 = lat[QUERIES / 2], p99 = lat[QUERIES * 99 / 100];
	printf("ai search  top-10 of %d x %d exact: p50 %.1f ms, p99 %.1f ms (target p99 < 50 ms)\n",
	       nvec, AILOCAL_DIMS, p50, p99);
	free(vecs);
	free(hits);
	return check && p99 >= 50 ? 1 : 0;
}
