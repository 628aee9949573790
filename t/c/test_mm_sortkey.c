/* test_mm_sortkey.c - records sorted by a 64-bit key: the order
 * qsort() gives, whole records moved with their key, equal keys kept in
 * their order, keys that share bytes, no records, one record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm_sortkey.h"
#include "mm_test.h"

struct rec {
	char tag[5];            /* the key is not first */
	uint64_t key;
	unsigned seq;           /* order before the sort */
};

static int cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq; /* stable */
}

static uint64_t rnd_state = 88172645463325252u;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void one(size_t n, uint64_t mask, const char *what)
{
	struct rec *a = malloc((n ? n : 1) * sizeof(*a)),
		   *b = malloc((n ? n : 1) * sizeof(*b));
	int ok = 1;

	for (size_t i = 0; i < n; i++) {
		a[i].key = rnd() & mask;
		a[i].seq = (unsigned)i;
		snprintf(a[i].tag, sizeof(a[i].tag), "%04x",
			 (unsigned)(a[i].key & 0xffff));
	}
	memcpy(b, a, n * sizeof(*a));
	if (n > 0)
		qsort(b, n, sizeof(*b), cmp);
	check(mm_sort_by_key(a, n, sizeof(*a), offsetof(struct rec, key)) == 0,
	      "sorted", what);
	for (size_t i = 0; i < n; i++)
		if (a[i].key != b[i].key || a[i].seq != b[i].seq ||
		    strcmp(a[i].tag, b[i].tag) != 0)
			ok = 0;
	check(ok, "the order of a stable qsort, whole records", what);
	free(a);
	free(b);
}

int main(void)
{
	one(0, ~UINT64_C(0), "no records");
	one(1, ~UINT64_C(0), "one record");
	one(2, ~UINT64_C(0), "two");
	one(1000, ~UINT64_C(0), "random keys");
	one(50000, ~UINT64_C(0), "many random keys");
	one(5000, 0xff, "keys sharing 7 of 8 bytes, many equal");
	one(5000, UINT64_C(0xff00000000000000), "only the top byte differs");
	one(3000, 0, "all equal: order kept");
	return test_summary();
}
