/* mm_keyset.c - a set of 64-bit keys (open addressing, linear probing). */
#include <stdlib.h>

#include "mm_keyset.h"

static size_t slot_of(uint64_t key, size_t cap)
{
	/* keys are hashes already; mix anyway so low bits are never poor */
	key ^= key >> 33;
	key *= UINT64_C(0xff51afd7ed558ccd);
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

static int grow(struct mm_keyset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 1024;
	uint64_t *n = calloc(ncap, sizeof(*n));

	if (n == NULL)
		return -1;
	for (size_t i = 0; i < s->cap; i++) {
		if (s->slots[i] == 0)
			continue;
		size_t j = slot_of(s->slots[i], ncap);
		while (n[j] != 0)
			j = (j + 1) & (ncap - 1);
		n[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = n;
	s->cap = ncap;
	return 0;
}

int mm_keyset_add(struct mm_keyset *s, uint64_t key)
{
	if (key == 0) {
		int was = s->has_zero;
		s->has_zero = 1;
		return !was;
	}
	if ((s->len + 1) * 4 > s->cap * 3 && grow(s) < 0)
		return -1;
	size_t j = slot_of(key, s->cap);
	while (s->slots[j] != 0) {
		if (s->slots[j] == key)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->slots[j] = key;
	s->len++;
	return 1;
}

int mm_keyset_has(const struct mm_keyset *s, uint64_t key)
{
	if (key == 0)
		return s->has_zero;
	if (s->cap == 0)
		return 0;
	size_t j = slot_of(key, s->cap);
	while (s->slots[j] != 0) {
		if (s->slots[j] == key)
			return 1;
		j = (j + 1) & (s->cap - 1);
	}
	return 0;
}

void mm_keyset_free(struct mm_keyset *s)
{
	free(s->slots);
	s->slots = NULL;
	s->cap = s->len = 0;
	s->has_zero = 0;
}
