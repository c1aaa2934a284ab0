/*
 * ailocal.c - the built-in AI (see ailocal.h): tokenising, the hashing
 * embedder, keyword counts, the extractive summariser and moderation rules.
 *
 * Words are runs of ASCII letters and digits and of any byte of a
 * multi-byte UTF-8 sequence, ASCII lower-cased; so accented and non-Latin
 * words stay whole (they are not case-folded).  Stop words (English) carry
 * no meaning for search, tags or summaries and are left out.
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ailocal.h"

#define WORD_MAX 64

/* Sorted, for bsearch. */
static const char *const stop_words[] = {
	"a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
	"any", "are", "as", "at", "be", "because", "been", "before", "being", "below",
	"between", "both", "but", "by", "can", "could", "did", "do", "does", "doing", "down",
	"during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he",
	"her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in",
	"into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "myself", "no",
	"nor", "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours",
	"ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such",
	"than", "that", "the", "their", "theirs", "them", "themselves", "then", "there",
	"these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
	"very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom",
	"why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves",
};

static int cmp_str(const void *k, const void *e)
{
	return strcmp(k, *(const char *const *)e);
}

static bool is_stop(const char *w)
{
	return bsearch(w, stop_words, sizeof(stop_words) / sizeof(stop_words[0]),
		       sizeof(stop_words[0]), cmp_str) != NULL;
}

static bool word_byte(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

/* The next word of s[*i..n) into w (lower-cased, cut at WORD_MAX - 1
 * bytes); false at the end.  *end receives the offset after it. */
static bool next_word(const char *s, size_t n, size_t *i, char *w, size_t *wlen)
{
	while (*i < n && !word_byte((unsigned char)s[*i]))
		(*i)++;
	if (*i >= n)
		return false;
	size_t k = 0;
	while (*i < n && word_byte((unsigned char)s[*i])) {
		if (k < WORD_MAX - 1)
			w[k++] = (char)tolower((unsigned char)s[*i]);
		(*i)++;
	}
	/* A word cut inside a UTF-8 sequence loses the partial sequence. */
	while (k > 0 && k == WORD_MAX - 1 && ((unsigned char)w[k - 1] & 0xc0) == 0x80)
		k--;
	if (k > 0 && k == WORD_MAX - 1 && ((unsigned char)w[k - 1]) >= 0xc0)
		k--;
	w[k] = '\0';
	*wlen = k;
	return true;
}

/* --- hashing embedder ----------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* FNV-1a over tag and the n bytes of s, then a finaliser. */
static uint64_t feature_hash(char tag, const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	h = (h ^ (unsigned char)tag) * 0x100000001b3ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return mix64(h);
}

static void add_feature(float *v, char tag, const char *s, size_t n, float weight)
{
	uint64_t h = feature_hash(tag, s, n);
	v[h % AILOCAL_DIMS] += (h >> 63) ? -weight : weight;
}

/* Character trigrams of " word ", weighted so that a word's trigrams
 * together weigh about as much as the word. */
static void add_trigrams(float *v, const char *w, size_t n)
{
	char pad[WORD_MAX + 2];
	pad[0] = ' ';
	memcpy(pad + 1, w, n);
	pad[n + 1] = ' ';
	size_t count = n; /* n + 2 - 3 + 1 */
	float weight = 0.6f / sqrtf((float)count);
	for (size_t i = 0; i + 3 <= n + 2; i++)
		add_feature(v, 'c', pad + i, 3, weight);
}

static void embed_pass(const char *text, size_t len, float *out, bool keep_stop, int *nfeat)
{
	char w[WORD_MAX], prev[WORD_MAX];
	size_t wl, pl = 0, i = 0;
	while (next_word(text, len, &i, w, &wl)) {
		if (!keep_stop && is_stop(w))
			continue;
		add_feature(out, 'w', w, wl, 1.0f);
		add_trigrams(out, w, wl);
		if (pl) {
			char bi[2 * WORD_MAX + 1];
			memcpy(bi, prev, pl);
			bi[pl] = ' ';
			memcpy(bi + pl + 1, w, wl);
			add_feature(out, 'b', bi, pl + 1 + wl, 0.7f);
		}
		memcpy(prev, w, wl + 1);
		pl = wl;
		(*nfeat)++;
	}
}

void ailocal_embed(const char *text, size_t len, float *out)
{
	memset(out, 0, AILOCAL_DIMS * sizeof(float));
	int nfeat = 0;
	embed_pass(text, len, out, false, &nfeat);
	if (nfeat == 0)   /* only stop words: better them than nothing */
		embed_pass(text, len, out, true, &nfeat);
	double sum = 0;
	for (int d = 0; d < AILOCAL_DIMS; d++)
		sum += (double)out[d] * out[d];
	if (sum <= 0)
		return;
	float inv = (float)(1.0 / sqrt(sum));
	for (int d = 0; d < AILOCAL_DIMS; d++)
		out[d] *= inv;
}

float ailocal_dot(const float *restrict a, const float *restrict b, int n)
{
	float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int i = 0;
	for (; i + 4 <= n; i += 4) {
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

/* --- exact ranking -------------------------------------------------------- */

/* a ranks before b: a higher score, or the same and a lower row. */
static bool hit_before(const ailocal_hit_t *a, const ailocal_hit_t *b)
{
	return a->score > b->score || (a->score == b->score && a->row < b->row);
}

static int hit_cmp(const void *x, const void *y)
{
	return hit_before(x, y) ? -1 : hit_before(y, x) ? 1 : 0;
}

/* Restores the min-heap (the worst of the kept at the root) below i. */
static void heap_down(ailocal_hit_t *h, int m, int i)
{
	for (;;) {
		int w = i, l = 2 * i + 1, r = l + 1;
		if (l < m && hit_before(&h[w], &h[l]))
			w = l;
		if (r < m && hit_before(&h[w], &h[r]))
			w = r;
		if (w == i)
			return;
		ailocal_hit_t t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

int ailocal_rank(const float *vecs, int n, int dims, const float *q, const bool *keep, int m,
		 ailocal_hit_t *hits)
{
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (keep && !keep[i])
			continue;
		hits[k].score = ailocal_dot(q, vecs + (size_t)i * (size_t)dims, dims);
		hits[k++].row = i;
	}
	if (m > k)
		m = k;
	/* The best m in a min-heap at the front; every other hit is swapped
	 * behind it, so the tail holds the rest. */
	for (int i = m / 2 - 1; i >= 0; i--)
		heap_down(hits, m, i);
	for (int i = m; i < k; i++)
		if (m > 0 && hit_before(&hits[i], &hits[0])) {
			ailocal_hit_t t = hits[0];
			hits[0] = hits[i];
			hits[i] = t;
			heap_down(hits, m, 0);
		}
	qsort(hits, (size_t)m, sizeof(*hits), hit_cmp);
	return k;
}

void ailocal_rank_rest(ailocal_hit_t *hits, int from, int n)
{
	if (n > from)
		qsort(hits + from, (size_t)(n - from), sizeof(*hits), hit_cmp);
}

/* --- keyword counts --------------------------------------------------------- */

typedef struct tally {
	ailocal_term_t *slots;   /* open addressing; term NULL = free */
	int *order;              /* first-seen order of the slots used */
	size_t cap;
	int n;
} tally_t;

static void tally_init(arena_t *a, tally_t *t, size_t text_len)
{
	t->cap = 64;
	while (t->cap < text_len / 2 + 16)
		t->cap <<= 1;
	t->slots = arena_calloc(a, t->cap, sizeof(*t->slots));
	t->order = arena_calloc(a, t->cap, sizeof(*t->order));
	t->n = 0;
}

static int tally_add(arena_t *a, tally_t *t, const char *w, size_t wl)
{
	size_t h = (size_t)feature_hash('t', w, wl) & (t->cap - 1);
	while (t->slots[h].term && strcmp(t->slots[h].term, w))
		h = (h + 1) & (t->cap - 1);
	if (!t->slots[h].term) {
		t->slots[h].term = arena_strndup(a, w, wl);
		t->order[t->n++] = (int)h;
	}
	return ++t->slots[h].count;
}

static int tally_get(const tally_t *t, const char *w, size_t wl)
{
	size_t h = (size_t)feature_hash('t', w, wl) & (t->cap - 1);
	while (t->slots[h].term) {
		if (!strcmp(t->slots[h].term, w))
			return t->slots[h].count;
		h = (h + 1) & (t->cap - 1);
	}
	return 0;
}

static bool keyword(const char *w, size_t wl)
{
	return wl >= 3 && strspn(w, "0123456789") != wl && !is_stop(w);
}

/* Counts the keywords of text into t. */
static void tally_text(arena_t *a, tally_t *t, const char *text, size_t len)
{
	char w[WORD_MAX];
	size_t wl, i = 0;
	tally_init(a, t, len);
	while (next_word(text, len, &i, w, &wl))
		if (keyword(w, wl))
			tally_add(a, t, w, wl);
}

static int cmp_term(const void *x, const void *y)
{
	const ailocal_term_t *a = x, *b = y;
	return b->count - a->count;
}

int ailocal_terms(arena_t *a, const char *text, size_t len, int max, ailocal_term_t **out)
{
	tally_t t;
	tally_text(a, &t, text, len);
	ailocal_term_t *all = arena_calloc(a, (size_t)t.n + 1, sizeof(*all));
	for (int i = 0; i < t.n; i++)
		all[i] = t.slots[t.order[i]];
	/* qsort is not stable: count ties keep first-seen order through the
	 * index carried in a wider key. */
	for (int i = 0; i < t.n; i++)
		all[i].count = all[i].count * 65536 + (65535 - (i < 65535 ? i : 65535));
	qsort(all, (size_t)t.n, sizeof(*all), cmp_term);
	for (int i = 0; i < t.n; i++)
		all[i].count /= 65536;
	*out = all;
	return t.n < max ? t.n : max;
}

/* --- extractive summary ----------------------------------------------------- */

typedef struct sentence {
	size_t start, len;
	double score;
	int index;
	bool keep;
} sentence_t;

static bool space_byte(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Splits text into sentences: after . ! ? followed by white space, and at
 * line breaks; each trimmed, empty ones dropped. */
static int split_sentences(arena_t *a, const char *s, size_t n, sentence_t **out)
{
	size_t cap = 16;
	int count = 0;
	sentence_t *v = arena_alloc(a, cap * sizeof(*v));
	size_t i = 0;
	while (i < n) {
		while (i < n && space_byte(s[i]))
			i++;
		if (i >= n)
			break;
		size_t start = i;
		while (i < n && s[i] != '\n' &&
		       !((s[i] == '.' || s[i] == '!' || s[i] == '?') && (i + 1 == n || space_byte(s[i + 1]))))
			i++;
		size_t end = i < n && s[i] != '\n' ? i + 1 : i;
		while (end > start && space_byte(s[end - 1]))
			end--;
		i = i < n ? i + 1 : i;
		if (end == start)
			continue;
		if ((size_t)count == cap) {
			sentence_t *bigger = arena_alloc(a, 2 * cap * sizeof(*v));
			memcpy(bigger, v, cap * sizeof(*v));
			v = bigger;
			cap *= 2;
		}
		v[count] = (sentence_t){ .start = start, .len = end - start, .index = count };
		count++;
	}
	*out = v;
	return count;
}

static int cmp_score(const void *x, const void *y)
{
	const sentence_t *a = x, *b = y;
	if (a->score != b->score)
		return a->score < b->score ? 1 : -1;
	return a->index - b->index;
}

static int cmp_index(const void *x, const void *y)
{
	return ((const sentence_t *)x)->index - ((const sentence_t *)y)->index;
}

/* s (n bytes) cut to at most max bytes at a word boundary, with "…". */
static char *cut_words(arena_t *a, const char *s, size_t n, size_t max)
{
	static const char ellipsis[] = "\xe2\x80\xa6";
	if (n <= max)
		return arena_strndup(a, s, n);
	if (max < sizeof(ellipsis)) {
		size_t k = max;
		while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
		return arena_strndup(a, s, k);
	}
	size_t k = max - (sizeof(ellipsis) - 1);
	size_t cut = k;
	while (cut > 0 && !space_byte(s[cut]))
		cut--;
	if (cut == 0) {   /* one long word: cut at a character boundary */
		cut = k;
		while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
			cut--;
	}
	while (cut > 0 && space_byte(s[cut - 1]))
		cut--;
	return arena_printf(a, "%.*s%s", (int)cut, s, ellipsis);
}

char *ailocal_summarise(arena_t *a, const char *text, size_t len, size_t max_len)
{
	sentence_t *v;
	int n = split_sentences(a, text, len, &v);
	if (n == 0)
		return arena_strdup(a, "");
	tally_t t;
	tally_text(a, &t, text, len);
	for (int k = 0; k < n; k++) {
		char w[WORD_MAX];
		size_t wl, i = v[k].start, end = v[k].start + v[k].len;
		int words = 0;
		double sum = 0;
		while (next_word(text, end, &i, w, &wl))
			if (keyword(w, wl)) {
				sum += tally_get(&t, w, wl);
				words++;
			}
		v[k].score = words ? sum / sqrt((double)words) : 0;
		v[k].score *= 1.0 + 0.5 / (1.0 + k);   /* leads matter */
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_score);
	size_t used = 0;
	for (int k = 0; k < n; k++) {
		size_t need = v[k].len + (used ? 1 : 0);
		/* Sentences far below the best carry little of the text. */
		if (v[k].score < 0.4 * v[0].score)
			break;
		if (used + need <= max_len) {
			v[k].keep = true;
			used += need;
		}
	}
	if (used == 0)
		return cut_words(a, text + v[0].start, v[0].len, max_len);
	qsort(v, (size_t)n, sizeof(*v), cmp_index);
	char *out = arena_alloc(a, used + 1), *p = out;
	for (int k = 0; k < n; k++) {
		if (!v[k].keep)
			continue;
		if (p != out)
			*p++ = ' ';
		memcpy(p, text + v[k].start, v[k].len);
		p += v[k].len;
	}
	*p = '\0';
	return out;
}

/* --- moderation rules ------------------------------------------------------- */

const char *ailocal_category_name(enum ailocal_category c)
{
	static const char *const names[MOD_NCATEGORIES] = {
		"pii_email", "pii_phone", "pii_card_number", "pii_iban", "blocked_words",
	};
	return names[c];
}

bool ailocal_luhn(const char *s, size_t n)
{
	int sum = 0, digits = 0;
	for (size_t i = n; i-- > 0;) {
		if (!isdigit((unsigned char)s[i]))
			continue;
		int d = s[i] - '0';
		if (digits++ % 2 == 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return digits > 0 && sum % 10 == 0;
}

static bool email_local(unsigned char c)
{
	return isalnum(c) || strchr("._%+-", c);
}

static bool email_domain(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-';
}

/* Email addresses: local@domain.tld, the TLD two letters or more. */
static int count_emails(const char *s, size_t n)
{
	int count = 0;
	for (size_t i = 1; i + 1 < n; i++) {
		if (s[i] != '@' || !email_local((unsigned char)s[i - 1]))
			continue;
		size_t j = i + 1, dot = 0;
		while (j < n && email_domain((unsigned char)s[j])) {
			if (s[j] == '.')
				dot = j;
			j++;
		}
		while (j > i + 1 && (s[j - 1] == '.' || s[j - 1] == '-'))
			j--;
		if (dot && dot < j && dot > i + 1) {
			size_t tld = 0;
			for (size_t k = dot + 1; k < j && isalpha((unsigned char)s[k]); k++)
				tld++;
			if (tld >= 2 && dot + 1 + tld == j) {
				count++;
				i = j;
			}
		}
	}
	return count;
}

static bool number_sep(char c)
{
	return c == ' ' || c == '-' || c == '(' || c == ')';
}

/* A year-month-day date (dddd-dd-dd): not a phone number. */
static bool looks_like_date(const char *s, size_t n)
{
	return n == 10 && s[4] == '-' && s[7] == '-' && strspn(s, "0123456789-") == 10;
}

/* Runs of digits with single separators between them: card numbers
 * (13-19 digits, Luhn) and phone numbers (7-15 digits, written as
 * numbers are: a leading + or (, or two or more groups). */
static void count_numbers(const char *s, size_t n, int *cards, int *phones)
{
	size_t i = 0;
	while (i < n) {
		bool plus = s[i] == '+' || s[i] == '(';
		if (!isdigit((unsigned char)s[i]) && !(plus && i + 1 < n && isdigit((unsigned char)s[i + 1]))) {
			i++;
			continue;
		}
		if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '.')) {
			while (i < n && isalnum((unsigned char)s[i]))
				i++;
			continue;
		}
		size_t start = i, digits = 0, groups = 1;
		if (plus)
			i++;
		while (i < n) {
			if (isdigit((unsigned char)s[i])) {
				digits++;
				i++;
			} else if (number_sep(s[i]) && i + 1 < n &&
				   (isdigit((unsigned char)s[i + 1]) || s[i + 1] == '(') &&
				   isdigit((unsigned char)s[i - 1])) {
				groups++;
				i++;
			} else if (s[i] == ')' && i + 1 < n && s[i + 1] == ' ') {
				i++;
			} else {
				break;
			}
		}
		if (i < n && isalpha((unsigned char)s[i]))
			continue;  /* glued to a word: a code, not a number */
		if (digits >= 13 && digits <= 19 && ailocal_luhn(s + start, i - start))
			(*cards)++;
		else if (digits >= 7 && digits <= 15 && (plus || groups >= 2) &&
			 !looks_like_date(s + start, i - start))
			(*phones)++;
	}
}

/* IBAN: country letters, check digits, 11-30 letters or digits (spaces
 * allowed between groups), mod 97 of the rearranged number equal to 1. */
static bool iban_valid(const char *c, size_t n)
{
	if (n < 15 || n > 34)
		return false;
	int rem = 0;
	for (size_t k = 0; k < n; k++) {
		char ch = c[(k + 4) % n];
		if (isdigit((unsigned char)ch))
			rem = (rem * 10 + (ch - '0')) % 97;
		else
			rem = (rem * 100 + (ch - 'A' + 10)) % 97;
	}
	return rem == 1;
}

static int count_ibans(const char *s, size_t n)
{
	int count = 0;
	for (size_t i = 0; i + 4 < n; i++) {
		if ((i > 0 && isalnum((unsigned char)s[i - 1])) || !isupper((unsigned char)s[i]) ||
		    !isupper((unsigned char)s[i + 1]) || !isdigit((unsigned char)s[i + 2]) ||
		    !isdigit((unsigned char)s[i + 3]))
			continue;
		char c[35];
		size_t m = 0, j = i;
		size_t ends[35];
		while (j < n && m < 34) {
			if (isupper((unsigned char)s[j]) || isdigit((unsigned char)s[j])) {
				c[m] = s[j++];
				ends[m++] = j;
			} else if (s[j] == ' ' && j + 1 < n && isalnum((unsigned char)s[j + 1])) {
				j++;
			} else {
				break;
			}
		}
		for (size_t len = m; len >= 15; len--)
			if (iban_valid(c, len)) {
				count++;
				i = ends[len - 1];
				break;
			}
	}
	return count;
}

static int count_words(const char *s, size_t n, const char *const *words)
{
	if (!words || !words[0])
		return 0;
	char w[WORD_MAX];
	size_t wl, i = 0;
	int count = 0;
	while (next_word(s, n, &i, w, &wl))
		for (const char *const *b = words; *b; b++)
			if (!strcasecmp(w, *b)) {
				count++;
				break;
			}
	return count;
}

void ailocal_moderate(const char *text, size_t len, const char *const *words,
		      int counts[MOD_NCATEGORIES])
{
	memset(counts, 0, MOD_NCATEGORIES * sizeof(int));
	counts[MOD_EMAIL] = count_emails(text, len);
	count_numbers(text, len, &counts[MOD_CARD], &counts[MOD_PHONE]);
	counts[MOD_IBAN] = count_ibans(text, len);
	counts[MOD_WORDS] = count_words(text, len, words);
}
