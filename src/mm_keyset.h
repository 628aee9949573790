/* mm_keyset.h - a set of 64-bit keys (open addressing).
 *
 * Holds the identities of the messages a Maildir already has and of those
 * a run has delivered: 8 bytes a key, so a few hundred thousand messages
 * cost a few MiB. The key 0 is stored out of band.
 */
#ifndef MM_KEYSET_H
#define MM_KEYSET_H

#include <stddef.h>
#include <stdint.h>

struct mm_keyset {
	uint64_t *slots;
	size_t cap;     /* power of two, or 0 */
	size_t len;
	int has_zero;
};

/* A set starts zeroed: struct mm_keyset s = { 0 }. */
int mm_keyset_add(struct mm_keyset *s, uint64_t key); /* 1 added, 0 was there, -1 no memory */
int mm_keyset_has(const struct mm_keyset *s, uint64_t key);
void mm_keyset_free(struct mm_keyset *s);

#endif
