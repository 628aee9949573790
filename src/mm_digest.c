/* mm_digest.c - a digest of each message as it streams by. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mm_digest.h"

#define K1 UINT64_C(0x9e3779b97f4a7c15)
#define K2 UINT64_C(0xc2b2ae3d27d4eb4f) /* both odd: multiplying is a bijection */

static uint64_t step(uint64_t h, uint64_t w)
{
	h ^= w * K1;
	h = h << 31 | h >> 33;
	return h * K2;
}

static uint64_t word(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

void mm_digest_init(struct mm_digest *d)
{
	memset(d, 0, sizeof(*d));
	d->h[0] = UINT64_C(0x6a09e667f3bcc908);
	d->h[1] = UINT64_C(0xbb67ae8584caa73b);
	d->h[2] = UINT64_C(0x3c6ef372fe94f82b);
	d->h[3] = UINT64_C(0xa54ff53a5f1d36f1);
}

/* One block of 4 words, word i into lane i. */
static void block(uint64_t h[4], const unsigned char *p)
{
	h[0] = step(h[0], word(p));
	h[1] = step(h[1], word(p + 8));
	h[2] = step(h[2], word(p + 16));
	h[3] = step(h[3], word(p + 24));
}

void mm_digest_add(struct mm_digest *d, const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h0, h1, h2, h3;

	d->n += len;
	if (d->ntail > 0) {
		size_t take = 32 - d->ntail < len ? 32 - d->ntail : len;

		memcpy(d->tail + d->ntail, s, take);
		d->ntail += (unsigned)take;
		s += take;
		len -= take;
		if (d->ntail < 32)
			return;
		block(d->h, d->tail);
		d->ntail = 0;
	}
	h0 = d->h[0], h1 = d->h[1], h2 = d->h[2], h3 = d->h[3];
	for (; len >= 32; s += 32, len -= 32) {
		h0 = step(h0, word(s));
		h1 = step(h1, word(s + 8));
		h2 = step(h2, word(s + 16));
		h3 = step(h3, word(s + 24));
	}
	d->h[0] = h0, d->h[1] = h1, d->h[2] = h2, d->h[3] = h3;
	memcpy(d->tail, s, len);
	d->ntail = (unsigned)len;
}

uint64_t mm_digest_final(const struct mm_digest *d)
{
	unsigned char last[8] = { 0 };
	uint64_t l[4], h;
	unsigned i = 0, w = 0;

	memcpy(l, d->h, sizeof(l));
	/* the whole words of the tail to their lanes, then the rest */
	for (; i + 8 <= d->ntail; i += 8, w++)
		l[w] = step(l[w], word(d->tail + i));
	memcpy(last, d->tail + i, d->ntail - i);
	h = step(step(step(l[0], l[1]), l[2]), l[3]);
	h = step(step(h, word(last)), d->n);
	/* avalanche, so that near inputs give far digests */
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ h >> 33;
}

int mm_digest_fd(int fd, uint64_t *digest_r, uint64_t *size_r)
{
	struct mm_digest d;
	char buf[65536];
	ssize_t n;

	mm_digest_init(&d);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		mm_digest_add(&d, buf, (size_t)n);
	}
	*digest_r = mm_digest_final(&d);
	*size_r = d.n;
	return 0;
}

int mm_digest_list_add(struct mm_digest_list *l,
		       const struct mm_digest_rec *rec)
{
	if (l->len == l->cap) {
		size_t n = l->cap ? l->cap * 2 : 1024;
		struct mm_digest_rec *items = realloc(l->items, n * sizeof(*items));

		if (items == NULL)
			return -1;
		l->items = items;
		l->cap = n;
	}
	l->items[l->len++] = *rec;
	return 0;
}

void mm_digest_list_free(struct mm_digest_list *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}
