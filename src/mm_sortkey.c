/* mm_sortkey.c - records sorted by a 64-bit key (see mm_sortkey.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mm_sortkey.h"

struct pair {
	uint64_t key;
	size_t i;
};

int mm_sort_by_key(void *base, size_t n, size_t size, size_t key_off)
{
	struct pair *a, *b, *t;
	char *moved, *rec = base;
	size_t count[256];

	if (n < 2)
		return 0;
	a = malloc(n * sizeof(*a));
	b = malloc(n * sizeof(*b));
	moved = malloc(n * size);
	if (a == NULL || b == NULL || moved == NULL) {
		free(a);
		free(b);
		free(moved);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(&a[i].key, rec + i * size + key_off, sizeof(uint64_t));
		a[i].i = i;
	}
	/* least significant byte first; a byte the same in every key is
	 * skipped */
	for (unsigned shift = 0; shift < 64; shift += 8) {
		size_t sum = 0;

		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(a[i].key >> shift) & 0xff]++;
		if (count[(a[0].key >> shift) & 0xff] == n)
			continue;
		for (size_t d = 0; d < 256; d++) {
			size_t c = count[d];

			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			b[count[(a[i].key >> shift) & 0xff]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	for (size_t i = 0; i < n; i++)
		memcpy(moved + i * size, rec + a[i].i * size, size);
	memcpy(base, moved, n * size);
	free(a);
	free(b);
	free(moved);
	return 0;
}
