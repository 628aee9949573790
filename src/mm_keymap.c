/* mm_keymap.c - 64-bit keys to 32-bit values (open addressing, linear
 * probing), the same layout and mixing as mm_keyset.c. */
#include <stdlib.h>

#include "mm_keymap.h"

static size_t slot_of(uint64_t key, size_t cap)
{
	key ^= key >> 33;
	key *= UINT64_C(0xff51afd7ed558ccd);
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

static int grow(struct mm_keymap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	uint64_t *nk = calloc(ncap, sizeof(*nk));
	uint32_t *nv = malloc(ncap * sizeof(*nv));

	if (nk == NULL || nv == NULL) {
		free(nk);
		free(nv);
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == 0)
			continue;
		size_t j = slot_of(m->keys[i], ncap);
		while (nk[j] != 0)
			j = (j + 1) & (ncap - 1);
		nk[j] = m->keys[i];
		nv[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = nk;
	m->vals = nv;
	m->cap = ncap;
	return 0;
}

uint32_t mm_keymap_get(const struct mm_keymap *m, uint64_t key, uint32_t dflt)
{
	if (key == 0)
		return m->has_zero ? m->zero_val : dflt;
	if (m->cap == 0)
		return dflt;
	for (size_t j = slot_of(key, m->cap); m->keys[j] != 0;
	     j = (j + 1) & (m->cap - 1))
		if (m->keys[j] == key)
			return m->vals[j];
	return dflt;
}

int mm_keymap_set(struct mm_keymap *m, uint64_t key, uint32_t val)
{
	size_t j;

	if (key == 0) {
		m->has_zero = 1;
		m->zero_val = val;
		return 0;
	}
	if ((m->len + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return -1;
	for (j = slot_of(key, m->cap); m->keys[j] != 0; j = (j + 1) & (m->cap - 1)) {
		if (m->keys[j] == key) {
			m->vals[j] = val;
			return 0;
		}
	}
	m->keys[j] = key;
	m->vals[j] = val;
	m->len++;
	return 0;
}

void mm_keymap_free(struct mm_keymap *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->len = 0;
	m->has_zero = 0;
	m->zero_val = 0;
}
