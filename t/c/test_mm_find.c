/* test_mm_find.c - the reader's two searches: every version (AVX2,
 * SSE2, byte by byte) gives the answer of a plain reference loop, on
 * random text full of the bytes that matter, at every start and end,
 * on exactly-sized buffers (so ASan sees any read past the end). */
#define _GNU_SOURCE /* memmem, in the file included below */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the file itself, for its static versions, under other names so they
 * do not clash with the core the test is linked with */
#define mm_find_from t_find_from
#define mm_find_line_start t_find_line_start
#include "../../src/mm_find.c"
#undef mm_find_from
#undef mm_find_line_start

#include "mm_test.h"

static int ref_matters(char c)
{
	return c == '\n' || c == '\r' || c == 'F' || c == '>' || c == '\1';
}

static size_t ref_line(const char *b, size_t i, size_t limit)
{
	for (; i < limit; i++)
		if (b[i] == '\n' && (i + 1 == limit || ref_matters(b[i + 1])))
			return i + 1;
	return limit + 1;
}

static const char *ref_from(const char *p, size_t n)
{
	for (size_t i = 0; i + 5 <= n; i++)
		if (memcmp(p + i, "From ", 5) == 0)
			return p + i;
	return NULL;
}

static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* text with lines of 0..100 bytes, "From " and the bytes that matter
 * sprinkled in, and sometimes a long line without '\n' */
static void fill(char *b, size_t n, int density)
{
	static const char *bits[] = { "From ", "\n", "\n\n", "\r\n", ">From ",
				      "\nF", "\n>", "\n\1", "Fro", "rom ", "F" };

	for (size_t i = 0; i < n;) {
		if ((int)(rnd() % 100) < density) {
			const char *s = bits[rnd() % (sizeof(bits) / sizeof(*bits))];
			size_t l = strlen(s);

			for (size_t k = 0; k < l && i < n; k++)
				b[i++] = s[k];
		} else {
			b[i++] = (char)('a' + rnd() % 26);
		}
	}
}

typedef size_t line_fn(const char *, size_t, size_t);
typedef const char *from_fn(const char *, size_t);

static void check_versions(const char *what, line_fn *line, from_fn *from)
{
	int ok_line = 1, ok_from = 1;
	char label[64];

	for (int round = 0; round < 300; round++) {
		size_t n = 1 + rnd() % 300;
		char *b = malloc(n);

		fill(b, n, (int)(rnd() % 40));
		for (size_t i = 0; i < n; i++)
			for (size_t lim = i; lim <= n; lim += 1 + lim % 7)
				if (line(b, i, lim) != ref_line(b, i, lim))
					ok_line = 0;
		for (size_t i = 0; i <= n; i++)
			if (from(b + i, n - i) != ref_from(b + i, n - i))
				ok_from = 0;
		free(b);
	}
	snprintf(label, sizeof(label), "%s line start = reference", what);
	check(ok_line, label, what);
	snprintf(label, sizeof(label), "%s From search = reference", what);
	check(ok_from, label, what);
}

static void test_cases(void)
{
	/* the examples of mm_find.h */
	const char *s = "abc\nxyz\nFrom x\n";
	size_t n = strlen(s);

	check(t_find_line_start(s, 0, n) == 8, "first line that matters", s);
	check(t_find_line_start(s, 0, 7) == 8, "none before the limit", s);
	check(t_find_line_start(s, 0, 8) == 8, "a line start at the limit", s);
	check(t_find_line_start(s, 9, n) == n, "the end, after a newline", s);
	check(t_find_from(s, n) == s + 8, "From found", s);
	check(t_find_from(s, 12) == NULL, "From cut by the length", s);
}

int main(void)
{
	test_cases();
	check_versions("bytes", line_bytes, from_bytes);
#ifdef MM_FIND_X86
	check_versions("sse2", line_sse2, from_sse2);
	if (__builtin_cpu_supports("avx2"))
		check_versions("avx2", line_avx2, from_avx2);
	else
		printf("# no AVX2 on this CPU: its version not run\n");
#endif
	check_versions("chosen", t_find_line_start, t_find_from);
	return test_summary();
}
