/* mm_sortkey.h - sort an array of records by a 64-bit key they hold,
 * in O(n) (a radix sort of key/index pairs, then one move of the
 * records): the state's records and the Maildir listing are sorted on
 * every pass, and with tens of thousands of messages qsort()'s calls
 * of a comparison function showed in the profile. Stable: records with
 * equal keys keep their order. */
#ifndef MM_SORTKEY_H
#define MM_SORTKEY_H

#include <stddef.h>

/* Sort n records of size bytes at base by the uint64_t at key_off in
 * each, ascending. 0, or -1 when out of memory (base untouched). */
int mm_sort_by_key(void *base, size_t n, size_t size, size_t key_off);

#endif
