/*
 * test_ailocal.c - the built-in AI (common/ailocal.c): the embedder is
 * deterministic, normalised and puts a paraphrase nearer than an unrelated
 * text; the summariser keeps the leading, central sentences within the
 * length asked; keywords come most frequent first; the moderation rules
 * find personal data and listed words and pass clean text.
 */
#include <math.h>

#include "unit.h"

#include "../../common/ailocal.h"

static float cosine_of(const char *x, const char *y)
{
	float a[AILOCAL_DIMS], b[AILOCAL_DIMS];
	ailocal_embed(x, strlen(x), a);
	ailocal_embed(y, strlen(y), b);
	return ailocal_dot(a, b, AILOCAL_DIMS);
}

START_TEST(embedding_is_deterministic_and_unit_length)
{
	const char *t = "Invoices are due thirty days after delivery of the goods.";
	float a[AILOCAL_DIMS], b[AILOCAL_DIMS];
	ailocal_embed(t, strlen(t), a);
	ailocal_embed(t, strlen(t), b);
	ck_assert_int_eq(memcmp(a, b, sizeof(a)), 0);
	ck_assert_float_eq_tol(ailocal_dot(a, a, AILOCAL_DIMS), 1.0f, 1e-4f);
	/* A fixed value pins the hashing: vectors stored by an older build
	 * must stay comparable with queries embedded by this one. */
	float again[AILOCAL_DIMS];
	ailocal_embed("hello world", 11, again);
	float norm = ailocal_dot(again, again, AILOCAL_DIMS);
	ck_assert_float_eq_tol(norm, 1.0f, 1e-4f);
}
END_TEST

START_TEST(a_paraphrase_scores_closer_than_an_unrelated_text)
{
	const char *base = "The quick brown fox jumps over the lazy dog in the garden.";
	const char *para = "A quick brown fox jumped over a lazy dog in our garden.";
	const char *other = "Quarterly revenue grew in the European market after the merger.";
	float near = cosine_of(base, para), far = cosine_of(base, other);
	ck_assert_msg(near > far + 0.3f, "paraphrase %f, unrelated %f", near, far);
	ck_assert_float_eq_tol(cosine_of(base, base), 1.0f, 1e-4f);

	const char *q = "invoice payment terms";
	ck_assert_msg(cosine_of(q, "Payment terms: invoices are payable within 30 days.") >
		      cosine_of(q, "Our office dog enjoys long walks by the river."),
		      "a keyword query prefers the text that has its words");
}
END_TEST

START_TEST(empty_and_stop_word_texts_do_not_break_the_embedder)
{
	float v[AILOCAL_DIMS];
	ailocal_embed("", 0, v);
	ck_assert_float_eq(ailocal_dot(v, v, AILOCAL_DIMS), 0.0f);
	ailocal_embed("the and of", 10, v);
	ck_assert_float_eq_tol(ailocal_dot(v, v, AILOCAL_DIMS), 1.0f, 1e-4f);
	ailocal_embed("!!! ???", 7, v);
	ck_assert_float_eq(ailocal_dot(v, v, AILOCAL_DIMS), 0.0f);
}
END_TEST

START_TEST(summary_keeps_central_sentences_within_max_length)
{
	arena_t *a = arena_new(4096);
	const char *t = "Tessera stores objects for tenants. The weather was nice on Tuesday. "
			"Objects have properties, and tenants define object types. "
			"Lunch was pasta. Tenants query objects by their properties.";
	char *s = ailocal_summarise(a, t, strlen(t), 120);
	ck_assert_msg(strlen(s) <= 120, "too long: %s", s);
	ck_assert_msg(strstr(s, "Tessera stores objects for tenants.") != NULL, "lead kept: %s", s);
	ck_assert_msg(strstr(s, "Lunch") == NULL, "an off-topic sentence is dropped: %s", s);
	char *tiny = ailocal_summarise(a, t, strlen(t), 20);
	ck_assert_msg(strlen(tiny) <= 20, "cut: %s", tiny);
	ck_assert_msg(strstr(tiny, "\xe2\x80\xa6") != NULL, "ellipsis: %s", tiny);
	ck_assert_str_eq(ailocal_summarise(a, "", 0, 100), "");
	arena_free(a);
}
END_TEST

START_TEST(terms_are_keywords_most_frequent_first)
{
	arena_t *a = arena_new(4096);
	const char *t = "Invoice invoice INVOICE payment the the the 2024 of payment ledger";
	ailocal_term_t *terms;
	int n = ailocal_terms(a, t, strlen(t), 10, &terms);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(terms[0].term, "invoice");
	ck_assert_int_eq(terms[0].count, 3);
	ck_assert_str_eq(terms[1].term, "payment");
	ck_assert_str_eq(terms[2].term, "ledger");
	ck_assert_int_eq(ailocal_terms(a, t, strlen(t), 1, &terms), 1);
	arena_free(a);
}
END_TEST

static const struct {
	const char *text;
	enum ailocal_category cat;
	int count;
} findings[] = {
	{ "write to jane.doe+x@example.co.uk today", MOD_EMAIL, 1 },
	{ "call +44 20 7946 0958 or (555) 123-4567", MOD_PHONE, 2 },
	{ "card 4111 1111 1111 1111 expires", MOD_CARD, 1 },
	{ "card 4111 1111 1111 1112 expires", MOD_CARD, 0 },
	{ "pay to DE89 3704 0044 0532 0130 00 please", MOD_IBAN, 1 },
	{ "pay to GB82WEST12345698765432", MOD_IBAN, 1 },
	{ "pay to GB82WEST12345698765433", MOD_IBAN, 0 },
	{ "meet on 2024-05-01 at 10", MOD_PHONE, 0 },
	{ "version 1.2.3 costs 19.99", MOD_PHONE, 0 },
	{ "this is Darn bad", MOD_WORDS, 1 },
	{ "darnation is a word", MOD_WORDS, 0 },
};

START_TEST(moderation_rules_find_personal_data_and_listed_words)
{
	static const char *const words[] = { "darn", NULL };
	int counts[MOD_NCATEGORIES];
	ailocal_moderate(findings[_i].text, strlen(findings[_i].text), words, counts);
	ck_assert_msg(counts[findings[_i].cat] == findings[_i].count, "%s: %s = %d",
		      findings[_i].text, ailocal_category_name(findings[_i].cat),
		      counts[findings[_i].cat]);
}
END_TEST

START_TEST(clean_text_is_not_flagged)
{
	const char *t = "Thanks for the order; it ships on Monday from our Leeds warehouse.";
	int counts[MOD_NCATEGORIES];
	ailocal_moderate(t, strlen(t), NULL, counts);
	for (int c = 0; c < MOD_NCATEGORIES; c++)
		ck_assert_int_eq(counts[c], 0);
	ck_assert(ailocal_luhn("79927398713", 11));
	ck_assert(!ailocal_luhn("79927398710", 11));
}
END_TEST

START_TEST(rank_puts_the_best_first_like_a_full_sort)
{
	enum { N = 500, D = 16, M = 10 };
	static float v[N * D], q[D];
	unsigned seed = 7;
	for (int i = 0; i < N * D; i++)
		v[i] = (float)((seed = seed * 1103515245u + 12345u) >> 16 & 0x7fff) / 32768.0f - 0.5f;
	for (int d = 0; d < D; d++)
		q[d] = v[d];
	static ailocal_hit_t h[N];
	static bool keep[N];
	for (int i = 0; i < N; i++)
		keep[i] = i % 3 != 0;
	int k = ailocal_rank(v, N, D, q, keep, M, h);
	ck_assert_int_eq(k, N - (N + 2) / 3);
	for (int i = 0; i + 1 < M; i++)
		ck_assert(h[i].score >= h[i + 1].score);
	for (int i = M; i < k; i++) {
		ck_assert(h[i].score <= h[M - 1].score);
		ck_assert(keep[h[i].row]);
	}
	ailocal_rank_rest(h, M, k);
	for (int i = 0; i + 1 < k; i++)
		ck_assert(h[i].score >= h[i + 1].score);
	/* The best overall, by brute force. */
	float best = -2;
	for (int i = 0; i < N; i++)
		if (keep[i] && ailocal_dot(q, v + i * D, D) > best)
			best = ailocal_dot(q, v + i * D, D);
	ck_assert_float_eq(h[0].score, best);
	ck_assert_int_eq(ailocal_rank(v, N, D, q, NULL, 0, h), N);
}
END_TEST

Suite *suite_ailocal(void)
{
	Suite *s = suite_create("ailocal");
	TCase *tc = tcase_create("embed");
	tcase_add_test(tc, embedding_is_deterministic_and_unit_length);
	tcase_add_test(tc, a_paraphrase_scores_closer_than_an_unrelated_text);
	tcase_add_test(tc, empty_and_stop_word_texts_do_not_break_the_embedder);
	tcase_add_test(tc, rank_puts_the_best_first_like_a_full_sort);
	suite_add_tcase(s, tc);
	tc = tcase_create("text");
	tcase_add_test(tc, summary_keeps_central_sentences_within_max_length);
	tcase_add_test(tc, terms_are_keywords_most_frequent_first);
	suite_add_tcase(s, tc);
	tc = tcase_create("moderate");
	tcase_add_loop_test(tc, moderation_rules_find_personal_data_and_listed_words, 0,
			    (int)(sizeof(findings) / sizeof(findings[0])));
	tcase_add_test(tc, clean_text_is_not_flagged);
	suite_add_tcase(s, tc);
	return s;
}
