/* test_mm_quota.c - maildirsize: parsing and summing its lines, which
 * file names count and with what size (vpopmail's recount), the recount
 * of a Maildir++ tree, and what mm_quota_open() does with a file that
 * disagrees, a hard link and a FIFO.
 */
#include "mm_test.h"
#include "mm_quota.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
	const char *in;
	int lines;              /* -1: no quota definition */
	size_t def_len;
	long long bytes, count;
	unsigned bad;
} parses[] = {
	{ "10000000S,1000C\n", 0, 15, 0, 0, 0 },
	{ "10000000S,1000C\n100 1\n200 2\n", 2, 15, 300, 3, 0 },
	{ "10000000S\n100 1\n-40 -1\n", 2, 9, 60, 0, 0 },
	{ "10000000S\n+5 +1\n", 1, 9, 5, 1, 0 },
	{ "10000000S\n100 1", 1, 9, 100, 1, 0 },           /* no final newline */
	{ "10000000S\r\n100\t 1 \r\n", 1, 10, 100, 1, 0 },
	{ "\n7 1\n", 1, 0, 7, 1, 0 },                       /* empty definition */
	{ "10000000S\nabc\n100 1\n\n", 1, 9, 100, 1, 2 },
	{ "10000000S\n100\n1 x\n- 1\n1 1 1\n", 0, 9, 0, 0, 4 },
	{ "10000000S\n99999999999999999999 1\n", 0, 9, 0, 0, 1 }, /* overflow */
	{ "10000000S", -1, 0, 0, 0, 0 },
	{ "", -1, 0, 0, 0, 0 },
};

static const struct {
	const char *name;
	int r;                  /* 0 not counted, 1 size from S=, 2 own size */
	unsigned long long size;
} names[] = {
	{ "1000.H0123456789abcdef.h,S=1234", 1, 1234 },
	{ "1000.H0123456789abcdef.h,S=1234:2,S", 1, 1234 },
	{ "1000.H0123456789abcdef.h,S=1234:2,ST", 0, 0 },
	{ "1000.H0123456789abcdef.h,S=1234:2,T", 0, 0 },
	{ "1000.H0123456789abcdef.h,S=1234:2,DFRST", 0, 0 },
	{ "1000.H0123456789abcdef.h,S=1234:2,a", 1, 1234 },  /* T only in A-Z */
	{ "1000.H0123456789abcdef.h,S=1234:2,aT", 1, 1234 },
	{ "1000.x,S=1,W=2,S=77:2,S", 1, 77 },                /* the last S= */
	{ "1000.x,W=1300:2,S", 2, 0 },
	{ "1000.x:2,S,S=5", 2, 0 },                          /* S= in the info */
	{ "3b8f2c9d00000001", 2, 0 },
	{ "3b8f2c9d00000001:2,RS", 2, 0 },
	{ "1000.x,S=", 1, 0 },
};

static char top[] = "/tmp/mm_test_quota.XXXXXX";

static void put(const char *rel, const char *data)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fputs(data, f);
	fclose(f);
}

static void dir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if (mkdir(path, 0700) < 0 && errno != EEXIST) {
		perror(path);
		exit(2);
	}
}

static char *get(const char *rel)
{
	static char buf[4096];
	char path[512];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int open_dir(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	return open(path, O_RDONLY | O_DIRECTORY);
}

static void test_parse(void)
{
	for (size_t i = 0; i < sizeof(parses) / sizeof(parses[0]); i++) {
		size_t len = strlen(parses[i].in), def_len = 0;
		char *in = dup_exact(parses[i].in, len);
		struct mm_quota_usage u;
		unsigned bad;
		int r = mm_quota_parse(in, len, &def_len, &u, &bad);

		check(r == parses[i].lines, "parse: lines", parses[i].in);
		if (r >= 0) {
			check(def_len == parses[i].def_len, "parse: definition",
			      parses[i].in);
			check(u.bytes == parses[i].bytes &&
			      u.count == parses[i].count, "parse: sum",
			      parses[i].in);
			check(bad == parses[i].bad, "parse: bad lines",
			      parses[i].in);
		}
		free(in);
	}
}

static void test_names(void)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t size = 0;
		int r = mm_quota_name(names[i].name, &size);

		check(r == names[i].r, "name: counts", names[i].name);
		check(r != 1 || size == names[i].size, "name: size",
		      names[i].name);
	}
}

/* A Maildir++ tree: top, a folder, .Trash, a symlinked folder, a file
 * named like a folder; T-flagged messages and dot files. */
static void make_tree(void)
{
	dir("");
	dir("new");
	dir("cur");
	dir("tmp");
	put("new/1.a,S=100", "x");
	put("cur/2.a,S=200:2,S", "x");
	put("cur/3.a,S=300:2,ST", "x");         /* deleted: not counted */
	put("cur/.hidden,S=999", "x");          /* dot file: not counted */
	put("new/plain", "12345");              /* no S=: its own size */
	dir(".foo");
	dir(".foo/new");
	dir(".foo/cur");
	put(".foo/maildirfolder", "");
	put(".foo/cur/4.a,S=40:2,", "x");
	dir(".Trash");
	dir(".Trash/cur");
	put(".Trash/cur/5.a,S=5000:2,S", "x");  /* Trash: not counted */
	put(".notafolder", "x");
}

static void test_scan(void)
{
	struct mm_quota_usage u;
	struct mm_err e;
	char path[512];
	int fd;

	make_tree();
	snprintf(path, sizeof(path), "%s/.link", top);
	check(symlink(".foo", path) == 0, "scan: symlink made", path);
	fd = open_dir("");
	check(mm_quota_scan(fd, &u, &e) == 0, "scan: runs", top);
	check(u.bytes == 100 + 200 + 5 + 40 && u.count == 4,
	      "scan: top and .foo, not T, .Trash, dot files or links", top);
	close(fd);
}

static void test_open(void)
{
	struct mm_quota_opts qo = { 0, 0, 0, 1 };
	struct mm_quota *q;
	struct mm_err e;
	char path[512], path2[512];
	const char *s;
	int fd;

	/* short (as a kill left it): recounted, quota line kept */
	put("maildirsize", "10000S,10C\n100 1\n");
	fd = open_dir("");
	check(mm_quota_open(fd, &qo, &q, &e) == 0 && q != NULL,
	      "open: short file", top);
	s = get("maildirsize");
	check(s && strcmp(s, "10000S,10C\n345 4\n") == 0,
	      "open: short file rewritten with the totals", s);
	/* a delivery before its rename, then taken back */
	mm_quota_note(q, "7.a,S=10:2,S", 10, 1);
	mm_quota_note(q, "8.a,S=20:2,T", 20, 1);  /* does not count */
	mm_quota_note(q, "9", 3, 1);              /* its own size */
	check(mm_quota_write(q, &e) == 0, "write: appends", top);
	s = get("maildirsize");
	check(s && strcmp(s, "10000S,10C\n345 4\n13 2\n") == 0,
	      "write: one line for what was noted", s);
	mm_quota_note(q, "9", 3, -1);
	check(mm_quota_finish(q, &e) == 0, "finish", top);
	s = get("maildirsize");
	check(s && strcmp(s, "10000S,10C\n345 4\n13 2\n-3 -1\n") == 0,
	      "finish: what was lost taken back", s);
	mm_quota_free(q);
	/* the next open finds 355 5 against 345 4: recounted */
	check(mm_quota_open(fd, &qo, &q, &e) == 0 && q != NULL,
	      "open: high file", top);
	s = get("maildirsize");
	check(s && strcmp(s, "10000S,10C\n345 4\n") == 0,
	      "open: high file recounted", s);
	mm_quota_free(q);
	/* agreeing: left as it is (no rewrite, same inode) */
	{
		struct stat a, b;

		put("maildirsize", "10000S\n300 3\n45 1\n");
		snprintf(path, sizeof(path), "%s/maildirsize", top);
		stat(path, &a);
		check(mm_quota_open(fd, &qo, &q, &e) == 0 && q != NULL,
		      "open: agreeing file", top);
		stat(path, &b);
		check(a.st_ino == b.st_ino, "open: agreeing file kept", top);
		mm_quota_free(q);
	}
	/* from a folder: its top's file */
	put("maildirsize", "10000S\n0 0\n");
	{
		int ffd = open_dir(".foo");

		check(mm_quota_open(ffd, &qo, &q, &e) == 0 && q != NULL,
		      "open: folder", top);
		s = get("maildirsize");
		check(s && strcmp(s, "10000S\n345 4\n") == 0,
		      "open: a folder recounts its top's maildirsize", s);
		check(get(".foo/maildirsize") == NULL,
		      "open: and makes none of its own", top);
		mm_quota_free(q);
		close(ffd);
	}
	/* from .Trash: recounted, but its deliveries count nothing */
	put(".Trash/maildirfolder", "");
	{
		int tfd = open_dir(".Trash");

		check(mm_quota_open(tfd, &qo, &q, &e) == 0 && q != NULL,
		      "open: .Trash", top);
		mm_quota_note(q, "10.a,S=10:2,S", 10, 1);
		check(mm_quota_finish(q, &e) == 0, "finish: .Trash", top);
		s = get("maildirsize");
		check(s && strcmp(s, "10000S\n345 4\n") == 0,
		      "open: a delivery into .Trash adds no line", s);
		mm_quota_free(q);
		close(tfd);
	}
	/* a hard link: refused, neither file touched */
	put("other", "10000S\n0 0\n");
	snprintf(path, sizeof(path), "%s/maildirsize", top);
	snprintf(path2, sizeof(path2), "%s/other", top);
	unlink(path);
	check(link(path2, path) == 0, "hard link made", path);
	check(mm_quota_open(fd, &qo, &q, &e) < 0 && q == NULL &&
	      strstr(e.text, "hard link") != NULL, "open: hard link refused",
	      e.text);
	s = get("other");
	check(s && strcmp(s, "10000S\n0 0\n") == 0, "hard link: untouched", s);
	/* a FIFO: refused at once */
	unlink(path);
	check(mkfifo(path, 0600) == 0, "FIFO made", path);
	alarm(10);
	check(mm_quota_open(fd, &qo, &q, &e) < 0 && q == NULL &&
	      strstr(e.text, "not a regular file") != NULL,
	      "open: FIFO refused", e.text);
	alarm(0);
	unlink(path);
	/* no maildirsize: no quota, no error */
	check(mm_quota_open(fd, &qo, &q, &e) == 0 && q == NULL,
	      "open: none", top);
	/* no definition line: left alone */
	put("maildirsize", "");
	check(mm_quota_open(fd, &qo, &q, &e) < 0 && q == NULL,
	      "open: empty file refused", top);
	s = get("maildirsize");
	check(s && *s == '\0', "open: empty file left alone", s);
	close(fd);
}

int main(void)
{
	char cmd[600];

	test_parse();
	test_names();
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_scan();
	test_open();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		printf("could not remove %s\n", top);
	return test_summary();
}
