/* test_mm_keymap.c - the 64-bit to 32-bit map behind copy numbering:
 * absent keys give the default, values are kept and replaced, the key 0
 * (stored out of band) is a key like any other, and nothing is lost when
 * the table grows many times over. */
#include "mm_test.h"
#include "mm_keymap.h"

#include <stdint.h>

static const struct {
	uint64_t key;
	uint32_t val;
} table[] = {
	{ 1, 10 },
	{ 2, 20 },
	{ 0, 7 },                          /* out of band */
	{ UINT64_MAX, UINT32_MAX },
	{ UINT64_C(0x8000000000000000), 0 }, /* a value of 0 is a value */
	{ UINT64_C(1024), 3 },             /* same low bits as 0 before mixing */
	{ UINT64_C(2048), 4 },
};

int main(void)
{
	struct mm_keymap m = { 0 };
	size_t n = sizeof(table) / sizeof(table[0]);
	char what[64];

	check(mm_keymap_get(&m, 1, 99) == 99, "empty map gives the default", "1");
	check(mm_keymap_get(&m, 0, 98) == 98, "empty map, key 0", "0");
	for (size_t i = 0; i < n; i++)
		check(mm_keymap_set(&m, table[i].key, table[i].val) == 0, "set", NULL);
	for (size_t i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "get %llu",
			 (unsigned long long)table[i].key);
		check(mm_keymap_get(&m, table[i].key, 99) == table[i].val, what, NULL);
	}
	check(mm_keymap_get(&m, 3, 99) == 99, "absent key gives the default", "3");
	check(m.len == n - 1, "len counts the keys in the table", NULL);

	/* replacing keeps one entry */
	check(mm_keymap_set(&m, 2, 21) == 0 && mm_keymap_get(&m, 2, 0) == 21,
	      "a value is replaced", "2");
	check(mm_keymap_set(&m, 0, 8) == 0 && mm_keymap_get(&m, 0, 0) == 8,
	      "key 0 replaced", "0");
	check(m.len == n - 1, "replacing adds no key", NULL);

	/* many keys: the table grows and keeps every value */
	int all = 1;
	for (uint32_t i = 1; i <= 200000; i++)
		if (mm_keymap_set(&m, (uint64_t)i * 0x10000 + 5, i) < 0)
			all = 0;
	check(all, "200000 keys added", NULL);
	for (uint32_t i = 1; i <= 200000; i++)
		if (mm_keymap_get(&m, (uint64_t)i * 0x10000 + 5, 0) != i)
			all = 0;
	check(all, "200000 keys kept through growing", NULL);
	check(mm_keymap_get(&m, 2, 0) == 21 && mm_keymap_get(&m, UINT64_MAX, 0) ==
	      UINT32_MAX, "earlier keys kept through growing", NULL);

	mm_keymap_free(&m);
	check(mm_keymap_get(&m, 2, 99) == 99 && mm_keymap_get(&m, 0, 99) == 99,
	      "a freed map is empty", NULL);
	return test_summary();
}
