/* mm_find.c - fast searches in mbox bytes (see mm_find.h).
 *
 * On x86-64 each search has an AVX2 body (32 bytes a step) chosen at the
 * first call when the CPU has it, and an SSE2 one (16 bytes) otherwise;
 * the bytes the vector steps cannot reach are done one by one. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MM_FIND_X86 1
#include <immintrin.h>
#endif

#include "mm_find.h"

static int matters(char c)
{
	return c == '\n' || c == '\r' || c == 'F' || c == '>' || c == '\1';
}

/* The byte-at-a-time searches from i (and the end of the vector ones). */
static const char *from_bytes(const char *p, size_t n)
{
	return memmem(p, n, "From ", 5);
}

static size_t line_bytes(const char *buf, size_t i, size_t limit)
{
	for (; i < limit; i++)
		if (buf[i] == '\n' && (i + 1 == limit || matters(buf[i + 1])))
			return i + 1;
	return limit + 1;
}

#ifdef MM_FIND_X86
/* Places with an 'F' and a space four bytes after it (rare in text,
 * absent from base64) are the only ones compared. */
static const char *from_sse2(const char *p, size_t n)
{
	const __m128i f = _mm_set1_epi8('F'), sp = _mm_set1_epi8(' ');
	size_t i = 0;

	for (; i + 20 <= n; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 4));
		unsigned m = (unsigned)_mm_movemask_epi8(
			_mm_and_si128(_mm_cmpeq_epi8(a, f), _mm_cmpeq_epi8(b, sp)));

		for (; m != 0; m &= m - 1) {
			const char *c = p + i + __builtin_ctz(m);

			if (memcmp(c + 1, "rom", 3) == 0)
				return c;
		}
	}
	return from_bytes(p + i, n - i);
}

__attribute__((target("avx2")))
static const char *from_avx2(const char *p, size_t n)
{
	const __m256i f = _mm256_set1_epi8('F'), sp = _mm256_set1_epi8(' ');
	size_t i = 0;

	for (; i + 36 <= n; i += 32) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 4));
		unsigned m = (unsigned)_mm256_movemask_epi8(
			_mm256_and_si256(_mm256_cmpeq_epi8(a, f),
					 _mm256_cmpeq_epi8(b, sp)));

		for (; m != 0; m &= m - 1) {
			const char *c = p + i + __builtin_ctz(m);

			if (memcmp(c + 1, "rom", 3) == 0)
				return c;
		}
	}
	return from_bytes(p + i, n - i);
}

/* a: the bytes from i; b: the byte after each of them. A '\n' in a
 * whose b matters ends the search. */
static size_t line_sse2(const char *buf, size_t i, size_t limit)
{
	const __m128i nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r'),
		      ff = _mm_set1_epi8('F'), gt = _mm_set1_epi8('>'),
		      c1 = _mm_set1_epi8('\1');

	for (; i + 17 <= limit; i += 16) {
		__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(buf + i));
		__m128i a_nl = _mm_cmpeq_epi8(a, nl);

		if (_mm_movemask_epi8(a_nl) == 0)
			continue;
		__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(buf + i + 1));
		__m128i mat = _mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(b, nl), _mm_cmpeq_epi8(b, cr)),
			_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(b, ff),
						  _mm_cmpeq_epi8(b, gt)),
				     _mm_cmpeq_epi8(b, c1)));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(a_nl, mat));

		if (m != 0)
			return i + (size_t)__builtin_ctz(m) + 1;
	}
	return line_bytes(buf, i, limit);
}

__attribute__((target("avx2")))
static size_t line_avx2(const char *buf, size_t i, size_t limit)
{
	const __m256i nl = _mm256_set1_epi8('\n'), cr = _mm256_set1_epi8('\r'),
		      ff = _mm256_set1_epi8('F'), gt = _mm256_set1_epi8('>'),
		      c1 = _mm256_set1_epi8('\1');

	for (; i + 33 <= limit; i += 32) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(buf + i));
		__m256i a_nl = _mm256_cmpeq_epi8(a, nl);

		if (_mm256_movemask_epi8(a_nl) == 0)
			continue;
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(buf + i + 1));
		__m256i mat = _mm256_or_si256(
			_mm256_or_si256(_mm256_cmpeq_epi8(b, nl),
					_mm256_cmpeq_epi8(b, cr)),
			_mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(b, ff),
							_mm256_cmpeq_epi8(b, gt)),
					_mm256_cmpeq_epi8(b, c1)));
		unsigned m = (unsigned)_mm256_movemask_epi8(
			_mm256_and_si256(a_nl, mat));

		if (m != 0)
			return i + (size_t)__builtin_ctz(m) + 1;
	}
	return line_bytes(buf, i, limit);
}

static int have_avx2(void)
{
	static int known = -1; /* the same answer from any thread */

	if (known < 0)
		known = __builtin_cpu_supports("avx2") ? 1 : 0;
	return known;
}

const char *mm_find_from(const char *p, size_t n)
{
	return have_avx2() ? from_avx2(p, n) : from_sse2(p, n);
}

size_t mm_find_line_start(const char *buf, size_t i, size_t limit)
{
	return have_avx2() ? line_avx2(buf, i, limit) : line_sse2(buf, i, limit);
}
#else
const char *mm_find_from(const char *p, size_t n)
{
	return from_bytes(p, n);
}

size_t mm_find_line_start(const char *buf, size_t i, size_t limit)
{
	return line_bytes(buf, i, limit);
}
#endif
