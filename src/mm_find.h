/* mm_find.h - the two searches the mbox reader spends its time in: 32
 * bytes at a time where the CPU has AVX2, 16 with SSE2 (every x86-64),
 * a byte at a time elsewhere; the same answers every way.
 * Internal to the reader (mm_mbox.c, mm_guess.c); not part of the API. */
#ifndef MM_FIND_H
#define MM_FIND_H

#include <stddef.h>

/* memmem(p, n, "From ", 5): the first "From " in p[0..n), or NULL. */
const char *mm_find_from(const char *p, size_t n);

/* A body is read line by line, but only lines that start with one of
 * '\n', '\r' (a blank line: maybe a separator), 'F' (a From_ line),
 * '>' (a quoted one) or '\1' (an MMDF separator) can matter. From i,
 * inside a line, the first line start s in (i, limit] whose first byte
 * is one of those, or s == limit (its first byte not yet known): s. No
 * such line start (no '\n' in [i, limit), or only ones whose next byte
 * does not matter): limit + 1, and limit is inside a line. */
size_t mm_find_line_start(const char *buf, size_t i, size_t limit);

#endif
