/*
 * test_arena.c - the per-request bump allocator (common/arena.c): alignment,
 * growth past one chunk, oversized requests, string helpers, cleanup order
 * and accounting; and the bounded string buffer that builds text into it.  Under ASan every byte handed out is also bounds-checked.
 */
#include "unit.h"

#include "../../common/strbuf.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

START_TEST(allocations_are_16_byte_aligned)
{
	/*
	 * Regression (fixed): common/arena.c: struct chunk is { next, size, used, data[] }, so
	 * data starts at offset 24 of a 16-aligned malloc block and every
	 * pointer arena_alloc() returns is 8 (mod 16), although arena.h promises
	 * "aligned for any type" (alignof(max_align_t) == 16 on x86-64; long
	 * double and SSE types need 16).  Fix: align data, e.g. declare it
	 * `alignas(max_align_t) unsigned char data[]` or pad the header.
	 */
	arena_t *a = arena_new(4096);
	static const size_t sizes[] = { 1, 3, 8, 16, 17, 100, 4000, 5000, 1 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		void *p = arena_alloc(a, sizes[i]);
		ck_assert_msg((uintptr_t)p % 16 == 0, "arena_alloc(%zu) = %p is not 16-byte aligned",
			      sizes[i], p);
	}
	ck_assert_uint_ge(alignof(max_align_t), 8);
	arena_free(a);
}
END_TEST

START_TEST(allocations_are_spaced_by_multiples_of_16)
{
	/* Whatever the base, sizes are rounded up so successive blocks keep the
	 * base's alignment. */
	arena_t *a = arena_new(4096);
	char *p = arena_alloc(a, 1);
	char *q = arena_alloc(a, 17);
	char *r = arena_alloc(a, 32);
	ck_assert_int_eq(q - p, 16);
	ck_assert_int_eq(r - q, 32);
	arena_free(a);
}
END_TEST

START_TEST(many_allocations_span_many_chunks_without_overlap)
{
	arena_t *a = arena_new(1024);
	enum { N = 5000, SZ = 40 };
	unsigned char **blocks = malloc(N * sizeof(*blocks));
	for (int i = 0; i < N; i++) {
		blocks[i] = arena_alloc(a, SZ);
		memset(blocks[i], i & 0xff, SZ);
	}
	/* Every block still holds its own pattern: none overlapped another. */
	for (int i = 0; i < N; i++)
		for (int k = 0; k < SZ; k++)
			ck_assert_uint_eq(blocks[i][k], (unsigned)(i & 0xff));
	ck_assert_uint_eq(arena_used(a), (size_t)N * 48);
	free(blocks);
	arena_free(a);
}
END_TEST

START_TEST(allocation_larger_than_the_chunk_size_is_whole_and_usable)
{
	arena_t *a = arena_new(1024);
	char *small = arena_strdup(a, "before");
	size_t big_n = 1 << 20;
	unsigned char *big = arena_alloc(a, big_n);
	memset(big, 0x5a, big_n); /* ASan would flag any byte beyond the block */
	ck_assert_uint_eq(big[0], 0x5a);
	ck_assert_uint_eq(big[big_n - 1], 0x5a);
	char *after = arena_strdup(a, "after");
	ck_assert_str_eq(small, "before");
	ck_assert_str_eq(after, "after");
	ck_assert_uint_ge(arena_used(a), big_n);
	arena_free(a);
}
END_TEST

START_TEST(chunk_size_below_1024_is_raised)
{
	arena_t *a = arena_new(1);
	char *p = arena_alloc(a, 1000); /* fits the raised first chunk */
	memset(p, 1, 1000);
	char *q = arena_alloc(a, 16);
	ck_assert_int_eq(q - p, 1008); /* same chunk, right after p */
	arena_free(a);
}
END_TEST

START_TEST(calloc_zero_fills)
{
	arena_t *a = arena_new(1024);
	unsigned char *dirty = arena_alloc(a, 256);
	memset(dirty, 0xff, 256);
	arena_reset(a); /* the first chunk is reused: memory is dirty */
	unsigned char *p = arena_calloc(a, 16, 16);
	ck_assert_ptr_eq(p, dirty);
	for (int i = 0; i < 256; i++)
		ck_assert_uint_eq(p[i], 0);
	arena_free(a);
}
END_TEST

START_TEST(strdup_strndup_and_printf_copy_into_the_arena)
{
	arena_t *a = arena_new(1024);
	char src[] = "hello world";
	char *d = arena_strdup(a, src);
	src[0] = 'J';
	ck_assert_str_eq(d, "hello world");
	ck_assert_ptr_ne(d, src);
	ck_assert_str_eq(arena_strndup(a, "abcdef", 3), "abc");
	ck_assert_str_eq(arena_strndup(a, "ab\0cd", 4), "ab");
	ck_assert_ptr_null(arena_strdup(a, NULL));
	ck_assert_str_eq(arena_strdup(a, ""), "");
	ck_assert_str_eq(arena_printf(a, "%s-%d-%05.1f", "x", 42, 3.14159), "x-42-003.1");
	ck_assert_str_eq(arena_printf(a, "%s", ""), "");
	/* longer than a chunk */
	char *long_s = arena_printf(a, "%3000d|", 7);
	ck_assert_uint_eq(strlen(long_s), 3001);
	ck_assert_int_eq(long_s[2999], '7');
	ck_assert_int_eq(long_s[3000], '|');
	arena_free(a);
}
END_TEST

/* Cleanup recorder: each callback appends its tag. */
static char order[32];

static void record(void *tag)
{
	size_t n = strlen(order);
	order[n] = *(const char *)tag;
	order[n + 1] = '\0';
}

START_TEST(defer_callbacks_run_newest_first_on_reset)
{
	arena_t *a = arena_new(1024);
	order[0] = '\0';
	arena_defer(a, record, "a");
	arena_defer(a, record, "b");
	arena_defer(a, record, "c");
	ck_assert_str_eq(order, "");
	arena_reset(a);
	ck_assert_str_eq(order, "cba");
	/* they ran once: a second reset runs nothing */
	arena_reset(a);
	ck_assert_str_eq(order, "cba");
	arena_defer(a, record, "d");
	arena_free(a);
	ck_assert_str_eq(order, "cbad");
}
END_TEST

START_TEST(defer_callbacks_run_newest_first_on_free)
{
	arena_t *a = arena_new(1024);
	order[0] = '\0';
	arena_defer(a, record, "1");
	for (int i = 0; i < 200; i++)  /* push the cleanups across chunks */
		arena_alloc(a, 64);
	arena_defer(a, record, "2");
	arena_defer(a, record, "3");
	arena_free(a);
	ck_assert_str_eq(order, "321");
}
END_TEST

static int trees_deleted;

static void count_and_delete(void *j)
{
	trees_deleted++;
	cJSON_Delete(j);
}

START_TEST(defer_frees_cjson_trees_on_reset_once)
{
	/* The pattern req_own() relies on: the tree goes at the reset, and
	 * not a second time when the arena is freed. */
	trees_deleted = 0;
	arena_t *a = arena_new(1024);
	arena_defer(a, count_and_delete, cJSON_Parse("{\"a\":[1,2,3]}"));
	ck_assert_int_eq(trees_deleted, 0);
	arena_reset(a);
	ck_assert_int_eq(trees_deleted, 1);
	arena_free(a);
	ck_assert_int_eq(trees_deleted, 1);
}
END_TEST

START_TEST(arena_used_counts_rounded_sizes_and_resets)
{
	arena_t *a = arena_new(1024);
	ck_assert_uint_eq(arena_used(a), 0);
	arena_alloc(a, 1);
	ck_assert_uint_eq(arena_used(a), 16);
	arena_alloc(a, 16);
	ck_assert_uint_eq(arena_used(a), 32);
	arena_alloc(a, 33);
	ck_assert_uint_eq(arena_used(a), 80);
	arena_alloc(a, 5000);
	ck_assert_uint_eq(arena_used(a), 80 + 5008);
	arena_reset(a);
	ck_assert_uint_eq(arena_used(a), 0);
	arena_alloc(a, 10);
	ck_assert_uint_eq(arena_used(a), 16);
	arena_free(a);
}
END_TEST

START_TEST(arena_is_reusable_after_reset)
{
	arena_t *a = arena_new(1024);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100; i++) {
			char *s = arena_printf(a, "round %d item %d", round, i);
			ck_assert_int_eq(strncmp(s, "round ", 6), 0);
		}
		arena_reset(a);
		ck_assert_uint_eq(arena_used(a), 0);
	}
	arena_free(a);
}
END_TEST

/* strbuf (common/strbuf.c) hands its text to an arena: built here too. */
START_TEST(strbuf_builds_text_and_hands_it_to_the_arena)
{
	arena_t *a = arena_new(1024);
	strbuf_t sb = { 0 };
	for (int i = 0; i < 1000; i++)
		sb_printf(&sb, "%s%d", i ? "," : "", i);
	ck_assert_uint_eq(sb.len, 2890 + 999); /* digits and commas */
	char *s = sb_take(&sb, a);
	ck_assert_int_eq(strncmp(s, "0,1,2,", 6), 0);
	ck_assert_str_eq(s + strlen(s) - 4, ",999");
	ck_assert_ptr_null(sb.p);
	ck_assert_uint_eq(sb.len, 0);
	arena_free(a);
}
END_TEST

START_TEST(strbuf_stops_at_its_cap_and_says_so)
{
	arena_t *a = arena_new(1024);
	strbuf_t sb = { .max = 10 };
	sb_puts(&sb, "12345");
	sb_puts(&sb, "67890");
	ck_assert(!sb.overflow);
	sb_puts(&sb, "x");
	ck_assert(sb.overflow);
	sb_puts(&sb, "");      /* nothing more once over */
	ck_assert_str_eq(sb_take(&sb, a), "1234567890");
	ck_assert(!sb.overflow);   /* taken: empty and usable again */
	arena_free(a);
}
END_TEST

Suite *suite_arena(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("alloc");
	tcase_add_test(tc, allocations_are_16_byte_aligned);
	tcase_add_test(tc, allocations_are_spaced_by_multiples_of_16);
	tcase_add_test(tc, many_allocations_span_many_chunks_without_overlap);
	tcase_add_test(tc, allocation_larger_than_the_chunk_size_is_whole_and_usable);
	tcase_add_test(tc, chunk_size_below_1024_is_raised);
	tcase_add_test(tc, calloc_zero_fills);
	tcase_add_test(tc, strdup_strndup_and_printf_copy_into_the_arena);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifecycle");
	tcase_add_test(tc, defer_callbacks_run_newest_first_on_reset);
	tcase_add_test(tc, defer_callbacks_run_newest_first_on_free);
	tcase_add_test(tc, defer_frees_cjson_trees_on_reset_once);
	tcase_add_test(tc, arena_used_counts_rounded_sizes_and_resets);
	tcase_add_test(tc, arena_is_reusable_after_reset);
	suite_add_tcase(s, tc);

	tc = tcase_create("strbuf");
	tcase_add_test(tc, strbuf_builds_text_and_hands_it_to_the_arena);
	tcase_add_test(tc, strbuf_stops_at_its_cap_and_says_so);
	suite_add_tcase(s, tc);
	return s;
}
