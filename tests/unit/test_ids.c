/*
 * test_ids.c - prefixed ULIDs (common/ids.c): shape, Crockford alphabet,
 * time ordering and the time round trip.
 */
#include "unit.h"

#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../common/ids.h"
#include "../../common/timefmt.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static const struct {
	uint64_t ms;
	unsigned char rnd[10];
	const char *want;
} encode_cases[] = {
	{ 0, { 0 }, "00000000000000000000000000" },
	/* the ULID specification's example time */
	{ 1469918176385ULL, { 0 }, "01ARYZ6S410000000000000000" },
	{ 1700000000000ULL, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, "01HF7YAT00041061050R3GG28A" },
	/* largest 48-bit time, all-ones randomness */
	{ 0xFFFFFFFFFFFFULL, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	  "7ZZZZZZZZZZZZZZZZZZZZZZZZZ" },
};

START_TEST(ulid_encode_matches_known_vectors)
{
	char out[ULID_LEN + 1];
	memset(out, 'x', sizeof(out));
	ulid_encode(out, encode_cases[_i].ms, encode_cases[_i].rnd);
	ck_assert_str_eq(out, encode_cases[_i].want);
	ck_assert_uint_eq(ulid_time(out), encode_cases[_i].ms);
}
END_TEST

START_TEST(id_new_is_prefix_plus_26_crockford_chars_with_the_current_time)
{
	char id[64];
	long long before = time_now_ms();
	id_new(id, sizeof(id), "obj_");
	long long after = time_now_ms();
	ck_assert_uint_eq(strlen(id), 4 + ULID_LEN);
	ck_assert_int_eq(strncmp(id, "obj_", 4), 0);
	ck_assert_uint_eq(strspn(id + 4, crockford), ULID_LEN);
	ck_assert(id_valid(id, "obj_"));
	uint64_t t = ulid_time(id + 4);
	ck_assert_uint_ge(t, (uint64_t)before);
	ck_assert_uint_le(t, (uint64_t)after);
}
END_TEST

START_TEST(id_new_gives_distinct_ids)
{
	char a[64], b[64];
	id_new(a, sizeof(a), "key_");
	id_new(b, sizeof(b), "key_");
	ck_assert_str_ne(a, b);
}
END_TEST

/* Rows a request writes in one millisecond keep their order under
 * ORDER BY created_at, id. */
START_TEST(id_new_increases_within_a_process)
{
	char prev[64], next[64];
	id_new(prev, sizeof(prev), "wfh_");
	for (int i = 0; i < 5000; i++) {
		id_new(next, sizeof(next), "wfh_");
		ck_assert_msg(strcmp(prev, next) < 0, "%s came after %s", next, prev);
		memcpy(prev, next, sizeof(prev));
	}
}
END_TEST

/* A forked child does not go on from its parent's last id. */
START_TEST(id_new_in_a_forked_child_is_its_own)
{
	char mine[64], child[64] = "";
	id_new(mine, sizeof(mine), "obj_");
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char id[64];
		id_new(id, sizeof(id), "obj_");
		ssize_t w = write(fds[1], id, strlen(id) + 1);
		_exit(w > 0 ? 0 : 1);
	}
	id_new(mine, sizeof(mine), "obj_"); /* the parent's next id */
	ck_assert_int_gt(read(fds[0], child, sizeof(child) - 1), 0);
	waitpid(pid, NULL, 0);
	close(fds[0]), close(fds[1]);
	ck_assert_str_ne(mine, child);
	/* Same millisecond or not, the random parts differ wholly, not by one. */
	ck_assert_msg(strncmp(mine + 14, child + 14, 12) != 0, "%s and %s", mine, child);
}
END_TEST

START_TEST(id_new_truncates_to_the_buffer)
{
	char small[8];
	id_new(small, sizeof(small), "obj_");
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_int_eq(strncmp(small, "obj_", 4), 0);
}
END_TEST

START_TEST(ulids_sort_by_time_as_strings)
{
	static const uint64_t times[] = {
		0, 1, 31, 32, 1023, 1024, 1469918176385ULL, 1700000000000ULL, 1700000000001ULL,
		1700000001000ULL, 4102444800000ULL, 0xFFFFFFFFFFFFULL,
	};
	unsigned char hi[10], lo[10];
	memset(hi, 0xff, sizeof(hi));
	memset(lo, 0, sizeof(lo));
	char prev[ULID_LEN + 1], cur[ULID_LEN + 1];
	/* The largest random part of an earlier ms still sorts before the
	 * smallest random part of a later one. */
	ulid_encode(prev, times[0], hi);
	for (size_t i = 1; i < sizeof(times) / sizeof(times[0]); i++) {
		ulid_encode(cur, times[i], lo);
		ck_assert_msg(strcmp(prev, cur) < 0, "%s (ms %llu) sorts after %s", prev,
			      (unsigned long long)times[i - 1], cur);
		ulid_encode(prev, times[i], hi);
	}
}
END_TEST

START_TEST(ulid_time_round_trips_through_encode)
{
	unsigned char rnd[10];
	for (int i = 0; i < 10; i++)
		rnd[i] = (unsigned char)(i * 37);
	for (uint64_t ms = 1; ms < 0xFFFFFFFFFFFFULL; ms = ms * 3 + 7) {
		char out[ULID_LEN + 1];
		ulid_encode(out, ms, rnd);
		ck_assert_uint_eq(ulid_time(out), ms);
	}
}
END_TEST

START_TEST(ulid_time_of_malformed_text_is_zero)
{
	ck_assert_uint_eq(ulid_time(""), 0);
	ck_assert_uint_eq(ulid_time("01ARYZ"), 0);            /* too short */
	ck_assert_uint_eq(ulid_time("01ARYZ6S4U0000000000000000"), 0); /* U not in alphabet */
	ck_assert_uint_eq(ulid_time("01aryz6s410000000000000000"), 0); /* lower case */
}
END_TEST

static const struct {
	const char *id;
	const char *prefix;
	bool valid;
} valid_cases[] = {
	{ "obj_01ARYZ6S41TSV4RRFFQ69G5FAV", "obj_", true },
	{ "obj_7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "obj_", true },      /* largest time */
	{ "obj_00000000000000000000000000", "obj_", true },
	{ "01ARYZ6S41TSV4RRFFQ69G5FAV", "", true },             /* bare ULID */
	{ "usr_01ARYZ6S41TSV4RRFFQ69G5FAV", "obj_", false },    /* wrong prefix */
	{ "ob_01ARYZ6S41TSV4RRFFQ69G5FAV", "obj_", false },
	{ "01ARYZ6S41TSV4RRFFQ69G5FAV", "obj_", false },        /* prefix missing */
	{ "obj_01ARYZ6S41TSV4RRFFQ69G5FA", "obj_", false },     /* 25 chars */
	{ "obj_01ARYZ6S41TSV4RRFFQ69G5FAVX", "obj_", false },   /* 27 chars */
	{ "obj_", "obj_", false },
	{ "", "obj_", false },
	{ "obj_01aryz6s41tsv4rrffq69g5fav", "obj_", false },    /* lower case */
	{ "obj_01ARYZ6S41TSV4RRFFQ69G5FAI", "obj_", false },    /* I, L, O, U excluded */
	{ "obj_01ARYZ6S41TSV4RRFFQ69G5FAL", "obj_", false },
	{ "obj_01ARYZ6S41TSV4RRFFQ69G5FAO", "obj_", false },
	{ "obj_01ARYZ6S41TSV4RRFFQ69G5FAU", "obj_", false },
	{ "obj_01ARYZ6S41TSV4RRFFQ69G5FA-", "obj_", false },
	{ "obj_01ARYZ6S41TSV4RRFF 69G5FAV", "obj_", false },
	{ "obj_81ARYZ6S41TSV4RRFFQ69G5FAV", "obj_", false },    /* time beyond 48 bits */
	{ "obj_ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "obj_", false },
};

START_TEST(id_valid_checks_prefix_length_and_alphabet)
{
	ck_assert_msg(id_valid(valid_cases[_i].id, valid_cases[_i].prefix) == valid_cases[_i].valid,
		      "id_valid(\"%s\", \"%s\") should be %s", valid_cases[_i].id,
		      valid_cases[_i].prefix, valid_cases[_i].valid ? "true" : "false");
}
END_TEST

START_TEST(id_valid_of_null_is_false)
{
	ck_assert(!id_valid(NULL, "obj_"));
}
END_TEST

Suite *suite_ids(void)
{
	Suite *s = suite_create("ids");
	TCase *tc = tcase_create("ulid");
	tcase_add_loop_test(tc, ulid_encode_matches_known_vectors, 0,
			    (int)(sizeof(encode_cases) / sizeof(encode_cases[0])));
	tcase_add_test(tc, id_new_is_prefix_plus_26_crockford_chars_with_the_current_time);
	tcase_add_test(tc, id_new_increases_within_a_process);
	tcase_add_test(tc, id_new_in_a_forked_child_is_its_own);
	tcase_add_test(tc, id_new_gives_distinct_ids);
	tcase_add_test(tc, id_new_truncates_to_the_buffer);
	tcase_add_test(tc, ulids_sort_by_time_as_strings);
	tcase_add_test(tc, ulid_time_round_trips_through_encode);
	tcase_add_test(tc, ulid_time_of_malformed_text_is_zero);
	tcase_add_loop_test(tc, id_valid_checks_prefix_length_and_alphabet, 0,
			    (int)(sizeof(valid_cases) / sizeof(valid_cases[0])));
	tcase_add_test(tc, id_valid_of_null_is_false);
	suite_add_tcase(s, tc);
	return s;
}
