/* test_mm_state.c - the state file of a Maildir: flag tokens parsed and
 * written back, lines that are not ours refused with their number,
 * other sources' sections kept byte for byte, ours replaced, a source
 * name with odd bytes escaped, and a symlink never read. */
#include "mm_test.h"
#include "mm_state.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

static const struct {
	const char *in;
	int ok;
	const char *out;        /* written back */
} tokens[] = {
	{ "new", 1, "new" },
	{ "cur", 1, "cur" },
	{ "cur:2,", 1, "cur:2," },
	{ "cur:2,SRF", 1, "cur:2,FRS" },   /* sorted */
	{ "cur:2,Sab", 1, "cur:2,Sab" },   /* Dovecot keywords */
	{ "new:2,S", 1, "new:2,S" },
	{ "-", 1, "-" },
	{ "cur:2,S1", 0, NULL },
	{ "cur:1,S", 0, NULL },
	{ "old", 0, NULL },
	{ "", 0, NULL },
	{ "--", 0, NULL },
};

static const struct {
	const char *file;
	const char *error;      /* NULL: loads */
} files[] = {
	{ "migratemail-state 1\n", NULL },
	{ "migratemail-state 2\n", "not a state file of this version" },
	{ "hello\n", "not a state file of this version" },
	{ "migratemail-state 1\n0123456789abcdef 5 - new new a\n", "line 2 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 - new new a", "line 3 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdeF 5 - new new a\n", "line 3 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 - new new .a\n", "line 3 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 - new new a/b\n", "line 3 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 - new new a:2,S\n", "line 3 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdef x - new new a\n", "line 3 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 - new nw a\n", "line 3 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 12 new new a\n", "line 3 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 0000000000000012 new new a\n", NULL },
	/* the file's digest, then the mbox's (a changed message kept) */
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 0000000000000012/00000000000000ff new new a\n", NULL },
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 0000000000000012/0000000000000ff new new a\n", "line 3 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 0000000000000012-00000000000000ff new new a\n", "line 3 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 0000000000000012/ new new a\n", "line 3 is not" },
	{ "migratemail-state 1\nsource x\n0123456789abcdef 5 -/00000000000000ff new new a\n", "line 3 is not" },
};

static void write_file(int dfd, const char *s)
{
	int fd = openat(dfd, MM_STATE_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
	close(fd);
}

static char *read_file(int dfd)
{
	static char buf[4096];
	int fd = openat(dfd, MM_STATE_FILE, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/mm-state-XXXXXX", buf[MM_SFLAGS_MAX];
	struct mm_fs_owner own = { 0, 0, 0 };
	struct mm_sflags f;
	struct mm_err err;
	struct mm_state *s;
	int dfd;

	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		char *in = dup_exact(tokens[i].in, strlen(tokens[i].in));
		int r = mm_sflags_parse(in, strlen(tokens[i].in), &f);

		check((r == 0) == tokens[i].ok, "token parses or not", tokens[i].in);
		if (r == 0) {
			mm_sflags_format(&f, buf);
			check(strcmp(buf, tokens[i].out) == 0, "token written back",
			      tokens[i].in);
		}
		free(in);
	}
	mm_sflags_of_entry("cur/1.H2.host,S=5:2,SF", &f);
	mm_sflags_format(&f, buf);
	check(strcmp(buf, "cur:2,FS") == 0, "flags of a listed file", buf);
	mm_sflags_of_entry("new/1.H2.host,S=5", &f);
	mm_sflags_format(&f, buf);
	check(strcmp(buf, "new") == 0, "flags of a file in new/", buf);

	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return 1;
	s = mm_state_load(dfd, "x", &err);
	check(s && mm_state_count(s) == 0, "no file: an empty state", NULL);
	mm_state_free(s);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		write_file(dfd, files[i].file);
		s = mm_state_load(dfd, "x", &err);
		check((s != NULL) == (files[i].error == NULL), "loads or not",
		      files[i].file);
		if (s == NULL && files[i].error)
			check(strstr(err.text, files[i].error) != NULL,
			      "the error names the trouble", err.text);
		mm_state_free(s);
	}

	/* ours replaced, the other source kept byte for byte */
	write_file(dfd, "migratemail-state 1\n"
		   "source other\n"
		   "00000000000000aa 10 - cur:2,S cur:2,FS A1\n"
		   "source odd%20name\n"
		   "00000000000000bb 20 - new new B1\n"
		   "00000000000000cc 30 00000000000000ff new - C1\n"
		   "00000000000000ee 50 0000000000000011/0000000000000022 new new E1\n");
	s = mm_state_load(dfd, "odd name", &err);
	check(s != NULL, "loads", err.text);
	check(s && mm_state_count(s) == 3, "our three records", NULL);
	check(s && mm_state_claimed(s, 0xaa) && !mm_state_claimed(s, 0xbb),
	      "the other source's key is claimed, ours not", NULL);
	const struct mm_state_rec *r = s ? mm_state_find(s, 0xcc) : NULL;
	check(r && r->size == 30 && r->has_digest && r->digest == 0xff &&
	      r->left.where < 0 && strcmp(r->base, "C1") == 0, "a record read", NULL);
	r = s ? mm_state_find(s, 0xee) : NULL;
	check(r && r->has_digest && r->digest == 0x11 && r->has_src_digest &&
	      r->src_digest == 0x22, "a record with two digests", NULL);
	check(s && mm_state_find(s, 0xcc)->has_src_digest == 0,
	      "one digest: the file's and the mbox's", NULL);
	check(s && mm_state_find(s, 0xaa) == NULL, "not another's", NULL);
	if (r && mm_state_put(s, r, &err) != 0)
		check(0, "put it back", err.text);
	struct mm_state_rec n = { 0 };
	n.key = 0xdd;
	n.size = 40;
	mm_sflags_parse("cur:2,RS", 8, &n.src);
	n.left = n.src;
	n.base = "D1";
	check(s && mm_state_put(s, &n, &err) == 0, "put", NULL);
	check(s && mm_state_save(s, dfd, &own, &err) == 0, "saved", err.text);
	mm_state_free(s);
	check(strcmp(read_file(dfd), "migratemail-state 1\n"
		     "source other\n"
		     "00000000000000aa 10 - cur:2,S cur:2,FS A1\n"
		     "source odd%20name\n"
		     "00000000000000dd 40 - cur:2,RS cur:2,RS D1\n"
		     "00000000000000ee 50 0000000000000011/0000000000000022 new new E1\n") == 0,
	      "the file: the other source as it was, ours replaced", read_file(dfd));

	/* nothing put: our section is left out */
	s = mm_state_load(dfd, "odd name", &err);
	check(s && mm_state_save(s, dfd, &own, &err) == 0, "saved empty", NULL);
	mm_state_free(s);
	check(strcmp(read_file(dfd), "migratemail-state 1\nsource other\n"
		     "00000000000000aa 10 - cur:2,S cur:2,FS A1\n") == 0,
	      "an empty section is left out", read_file(dfd));

	/* a symlink is not read */
	unlinkat(dfd, MM_STATE_FILE, 0);
	check(symlinkat("/etc/passwd", dfd, MM_STATE_FILE) == 0, "symlink", NULL);
	s = mm_state_load(dfd, "x", &err);
	check(s == NULL, "a symlink as the state is refused", NULL);
	mm_state_free(s);
	unlinkat(dfd, MM_STATE_FILE, 0);
	close(dfd);
	rmdir(dir);
	return test_summary();
}
