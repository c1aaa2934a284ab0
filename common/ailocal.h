/*
 * ailocal.h - the built-in AI that needs no provider and no network: a
 * feature-hashing text embedder, an extractive summariser, keyword
 * extraction for TF-IDF tagging and a rules engine for moderation.
 *
 * Everything here is deterministic: the same text gives the same vector,
 * summary, keywords and verdict on every machine and every run, so vectors
 * stored once stay comparable with queries embedded later.  None of it is
 * a language model, and the API labels its answers "local-…" to say so.
 */
#ifndef TESSERA_AILOCAL_H
#define TESSERA_AILOCAL_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"

#define AILOCAL_DIMS 384
#define AILOCAL_EMBED_MODEL "local-hash-384"
#define AILOCAL_SUMMARY_MODEL "local-extractive-1"
#define AILOCAL_TAG_MODEL "local-tfidf-1"
#define AILOCAL_MODERATION_MODEL "local-rules-1"

/*
 * Embeds len bytes of text into out (AILOCAL_DIMS floats): word unigrams
 * and bigrams (stop words left out) and character trigrams of each word,
 * each hashed to a dimension with a hashed sign, summed and L2-normalised.
 * A text with no features gives the zero vector.
 */
void ailocal_embed(const char *text, size_t len, float *out);

/* The dot product of two vectors of n floats (their cosine similarity
 * when both are normalised). */
float ailocal_dot(const float *a, const float *b, int n);

/* A vector's score against a query and its row. */
typedef struct ailocal_hit {
	float score;
	int row;
} ailocal_hit_t;

/*
 * Exact nearest neighbours: scores the n vectors of vecs (n * dims
 * contiguous floats, normalised) against q by dot product, leaving out
 * rows whose keep[row] is false (keep may be NULL), into hits (room for
 * n).  The best m come first, best first (ties: lower row first); the
 * others follow in no order, none better than the m-th.  Returns how many
 * were scored.
 */
int ailocal_rank(const float *vecs, int n, int dims, const float *q, const bool *keep, int m,
		 ailocal_hit_t *hits);

/* Orders hits[from..n) best first too (when the first m ran out). */
void ailocal_rank_rest(ailocal_hit_t *hits, int from, int n);

/* One keyword of a text and how often it occurs. */
typedef struct ailocal_term {
	char *term;
	int count;
} ailocal_term_t;

/*
 * The distinct non-stop words of text (lower-cased, at least 3 bytes, not
 * all digits) with their counts, most frequent first (ties: first seen
 * first), at most max of them, in a.  Returns how many.
 */
int ailocal_terms(arena_t *a, const char *text, size_t len, int max, ailocal_term_t **out);

/*
 * An extractive summary of text of at most max_len bytes: sentences scored
 * by the frequency of their words in the whole text and by position
 * (those scoring under 40% of the best are left out),
 * the best kept in their original order.  A first sentence longer than
 * max_len is cut at a word boundary and ends with "…".  In a.
 */
char *ailocal_summarise(arena_t *a, const char *text, size_t len, size_t max_len);

/* Moderation categories, in the order results list them. */
enum ailocal_category {
	MOD_EMAIL,
	MOD_PHONE,
	MOD_CARD,
	MOD_IBAN,
	MOD_WORDS,
	MOD_NCATEGORIES,
};

/* The API name of a category: "pii_email", …, "blocked_words". */
const char *ailocal_category_name(enum ailocal_category c);

/*
 * Counts, per category, what the rules find in text: email addresses,
 * phone numbers (7 to 15 digits with the usual separators), card numbers
 * (13 to 19 digits passing the Luhn check), IBANs (passing mod 97) and
 * the words of words (NULL-terminated, matched as whole words ignoring
 * ASCII case; may be NULL).
 */
void ailocal_moderate(const char *text, size_t len, const char *const *words,
		      int counts[MOD_NCATEGORIES]);

/* True if the digits of s (n bytes, other bytes ignored) pass Luhn. */
bool ailocal_luhn(const char *s, size_t n);

#endif
