/* test_mm_digest.c - the message digest (chunking does not matter, one
 * damaged word or a size change is always seen) and the spill file a
 * pipe is copied to (it reads back what went by, in order). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_digest.h"
#include "mm_spill.h"
#include "mm_test.h"

static uint64_t digest_of(const char *p, size_t n, size_t chunk)
{
	struct mm_digest d;

	mm_digest_init(&d);
	for (size_t i = 0; i < n; i += chunk)
		mm_digest_add(&d, p + i, n - i < chunk ? n - i : chunk);
	return mm_digest_final(&d);
}

static void test_digest(void)
{
	enum { N = 5000 };
	char *buf = malloc(N);
	uint64_t whole;
	int same = 1, seen = 1;

	for (size_t i = 0; i < N; i++)
		buf[i] = (char)(i * 131 + (i >> 7));
	whole = digest_of(buf, N, N);
	for (size_t c = 1; c <= 17; c++)
		if (digest_of(buf, N, c) != whole)
			same = 0;
	for (size_t c = 29; c <= 67; c++)
		if (digest_of(buf, N, c) != whole)
			same = 0;
	check(same, "any chunking gives the same digest", "chunks 1..17, 29..67");
	/* every length up to two blocks of 4 words, chunked or not */
	for (size_t n = 0; n <= 70; n++)
		if (digest_of(buf, n, 1) != digest_of(buf, n, n ? n : 1) ||
		    (n > 0 && digest_of(buf, n, 1) == digest_of(buf, n - 1, 1)))
			same = 0;
	check(same, "lengths 0-70: chunking gives the same, each length its own", NULL);
	{
		/* two words of the same block (lanes 0 and 1) swapped */
		char sw[64];

		memcpy(sw, buf, 64);
		memcpy(sw, buf + 8, 8);
		memcpy(sw + 8, buf, 8);
		check(digest_of(sw, 64, 64) != digest_of(buf, 64, 64),
		      "words swapped between lanes are seen", NULL);
		memcpy(sw, buf, 64);
		memcpy(sw, buf + 32, 8);
		memcpy(sw + 32, buf, 8);
		check(digest_of(sw, 64, 64) != digest_of(buf, 64, 64),
		      "words swapped within a lane are seen", NULL);
	}
	check(digest_of(buf, N - 1, N) != whole, "one byte less differs", NULL);
	check(digest_of(buf, 0, 1) != digest_of("\0", 1, 1),
	      "empty and one NUL byte differ", NULL);
	check(digest_of("\0\0", 2, 1) != digest_of("\0", 1, 1),
	      "trailing NUL bytes count", NULL);
	/* every single-byte change at every position, and a whole word */
	for (size_t i = 0; i < N; i += 7) {
		char o = buf[i];

		buf[i] ^= 0x20;
		if (digest_of(buf, N, 4096) == whole)
			seen = 0;
		buf[i] = o;
	}
	check(seen, "a changed byte anywhere is seen", NULL);
	memset(buf + 800, 'x', 8);
	check(digest_of(buf, N, 3) != whole, "a changed word is seen", NULL);
	free(buf);
}

static void test_digest_fd(void)
{
	char path[] = "/tmp/test_mm_digest.XXXXXX";
	int fd = mkstemp(path);
	uint64_t dg, size;

	unlink(path);
	check(write(fd, "hello, world\n", 13) == 13, "write", NULL);
	lseek(fd, 0, SEEK_SET);
	check(mm_digest_fd(fd, &dg, &size) == 0 && size == 13 &&
	      dg == digest_of("hello, world\n", 13, 5), "a file's digest", NULL);
	close(fd);
	check(mm_digest_fd(fd, &dg, &size) < 0 && errno == EBADF,
	      "a read error is -1", NULL);
}

/* What mm_spill_read() gives, from offset off on, to the end. */
static size_t drain(struct mm_spill *sp, int src, uint64_t off, char *out,
		    size_t max)
{
	size_t got = 0;
	ssize_t n;

	while (got < max && (n = mm_spill_read(sp, src, off + got, out + got,
					       max - got < 1000 ? max - got
								: 1000)) > 0)
		got += (size_t)n;
	return got;
}

static void test_spill(void)
{
	enum { N = 300000 };
	char *data = malloc(N), *out = malloc(N), tmp[16];
	struct mm_spill sp;
	struct mm_err err;
	int p[2];
	size_t got;

	for (size_t i = 0; i < N; i++)
		data[i] = (char)('a' + i % 26);
	/* the "pipe": a file read from its position, like a stream */
	char path[] = "/tmp/test_mm_spill.XXXXXX";
	int src = mkstemp(path);
	unlink(path);
	check(write(src, data, N) == N, "write", NULL);
	lseek(src, 1000, SEEK_SET); /* the reader has 1000 bytes already */

	memset(&sp, 0, sizeof(sp));
	check(mm_spill_ensure(&sp, src, data, 1000, 0, 120000, 1, 0, &err) == 0,
	      "spill up to 120000", err.text);
	check(sp.open && sp.base == 0 && sp.end == 120000 && sp.written == 120000,
	      "it holds [0, 120000)", NULL);
	check(mm_spill_pread(&sp, tmp, 10, 119995) == 5 &&
	      memcmp(tmp, data + 119995, 5) == 0, "pread at its end: 5 bytes", NULL);
	/* extended while open: appended from the pipe */
	check(mm_spill_ensure(&sp, src, NULL, 0, 0, 200000, 1, 0, &err) == 0 &&
	      sp.end == 200000 && sp.written == 200000, "extended to 200000", NULL);
	got = drain(&sp, src, 1000, out, N);
	check(got == N - 1000 && memcmp(out, data + 1000, got) == 0,
	      "read back from the spill, then the pipe, in order", NULL);
	check(!sp.open, "the used-up spill file is closed", NULL);
	check(sp.peak == 200000, "peak is the largest file", NULL);
	/* to beyond the end: the pipe ends, src_eof */
	lseek(src, 250000, SEEK_SET);
	check(mm_spill_ensure(&sp, src, data + 240000, 10000, 240000, 900000, 2,
			      0, &err) == 0 && sp.src_eof && sp.end == N,
	      "spill past the end stops at it", NULL);
	got = drain(&sp, src, 250000, out, N);
	check(got == N - 250000 && memcmp(out, data + 250000, got) == 0,
	      "then reads to the end", NULL);
	check(mm_spill_read(&sp, src, N, out, 10) == 0, "and 0 after it", NULL);
	mm_spill_close(&sp);
	close(src);

	/* no room: a clear error, never a silent short copy */
	memset(&sp, 0, sizeof(sp));
	setenv("TMPDIR", "/nonexistent-dir", 1);
	check(pipe(p) == 0, "pipe", NULL);
	check(mm_spill_ensure(&sp, p[0], data, 10, 0, 100, 3, 77, &err) < 0 &&
	      err.code == MM_E_IO && err.msgno == 3 && err.offset == 77 &&
	      strstr(err.text, "cannot create a temporary file in "
			       "/nonexistent-dir") != NULL,
	      "no temporary directory: an error", err.text);
	unsetenv("TMPDIR");
	close(p[0]);
	close(p[1]);
	free(data);
	free(out);
}

int main(void)
{
	test_digest();
	test_digest_fd();
	test_spill();
	return test_summary();
}
