/* mm_keymap.h - a map from 64-bit keys to 32-bit values (open addressing).
 *
 * Beside mm_keyset: where a set answers "is this key taken", the map
 * remembers one number per key, e.g. the next copy number to try for a
 * message identity hash, so numbering n identical copies costs O(n), not
 * O(n^2). 12 bytes a key (plus slack); the key 0 is stored out of band.
 */
#ifndef MM_KEYMAP_H
#define MM_KEYMAP_H

#include <stddef.h>
#include <stdint.h>

struct mm_keymap {
	uint64_t *keys;     /* 0: empty slot */
	uint32_t *vals;
	size_t cap;         /* power of two, or 0 */
	size_t len;
	int has_zero;
	uint32_t zero_val;
};

/* A map starts zeroed: struct mm_keymap m = { 0 }. */

/* The value of key, or dflt when it has none. */
uint32_t mm_keymap_get(const struct mm_keymap *m, uint64_t key, uint32_t dflt);
/* Set the value of key (adding it). 0, or -1 when out of memory (the map
 * is unchanged then). */
int mm_keymap_set(struct mm_keymap *m, uint64_t key, uint32_t val);
void mm_keymap_free(struct mm_keymap *m);

#endif
