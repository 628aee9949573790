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
	d->h = UINT64_C(0x6a09e667f3bcc908);
}

void mm_digest_add(struct mm_digest *d, const void *p, size_t len)
{
	const unsigned char *s = p;

	d->n += len;
	if (d->ntail > 0) {
		size_t take = 8 - d->ntail < len ? 8 - d->ntail : len;

		memcpy(d->tail + d->ntail, s, take);
		d->ntail += (unsigned)take;
		s += take;
		len -= take;
		if (d->ntail < 8)
			return;
		d->h = step(d->h, word(d->tail));
		d->ntail = 0;
	}
	for (; len >= 8; s += 8, len -= 8)
		d->h = step(d->h, word(s));
	memcpy(d->tail, s, len);
	d->ntail = (unsigned)len;
}

uint64_t mm_digest_final(const struct mm_digest *d)
{
	unsigned char last[8] = { 0 };
	uint64_t h;

	memcpy(last, d->tail, d->ntail);
	h = step(step(d->h, word(last)), d->n);
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
