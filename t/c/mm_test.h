/* mm_test.h - what the table-driven C unit tests in t/c/ share: counting
 * checks, exactly-sized copies (so ASan and valgrind catch over-reads),
 * removing a test Maildir, and the closing "N passed, M failed" line.
 * Test code only. */
#ifndef MM_TEST_H
#define MM_TEST_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int n_pass, n_fail;

static void check(int ok, const char *what, const char *input)
{
	if (ok) {
		n_pass++;
		return;
	}
	n_fail++;
	printf("FAIL %s: \"%s\"\n", what, input ? input : "(null)");
}

/* Exactly-sized copy (one byte for len 0, so never NULL by size). */
static inline char *dup_exact(const char *s, size_t len)
{
	char *b = malloc(len ? len : 1);

	if (len)
		memcpy(b, s, len);
	return b;
}

/* Remove a Maildir the test made: its tmp/ new/ cur/ and their files. */
static inline void rm_maildir(const char *md)
{
	static const char *subs[] = { "tmp", "new", "cur" };
	char path[512];

	for (int i = 0; i < 3; i++) {
		struct dirent *de;
		DIR *d;

		if (snprintf(path, sizeof(path), "%s/%s", md, subs[i]) >=
		    (int)sizeof(path) || (d = opendir(path)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
		rmdir(path);
	}
	rmdir(md);
}

static int test_summary(void)
{
	printf("%d passed, %d failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}

#endif
