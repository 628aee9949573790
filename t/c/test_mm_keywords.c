/* test_mm_keywords.c - X-Keywords values to Dovecot's letters: order of
 * first sight, an existing dovecot-keywords kept, duplicates, commas,
 * words that are no IMAP atom, the 26-letter limit; the files written
 * for Dovecot and Courier, and a broken dovecot-keywords refused. */
#include "mm_test.h"
#include "mm_keywords.h"

#include <fcntl.h>
#include <sys/stat.h>

static char *slurp_at(int dfd, const char *name)
{
	static char buf[4096];
	int fd = openat(dfd, name, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

static void spew_at(int dfd, const char *name, const char *s)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (write(fd, s, strlen(s)) < 0)
		perror("write");
	close(fd);
}

int main(void)
{
	char dir[] = "/tmp/mm_kw_XXXXXX", out[MM_INFO_MAX], name[32];
	struct mm_keywords k;
	struct mm_err e;
	unsigned dropped;
	int dfd, n;

	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return 2;
	check(mm_keywords_init(&k, dfd, &e) == 0 && k.n == 0, "no file: empty", NULL);
	n = mm_keywords_letters(&k, "$Forwarded Junk", out, &dropped);
	check(n == 2 && strcmp(out, "ab") == 0 && dropped == 0, "first two", out);
	n = mm_keywords_letters(&k, "Junk,Work  $Forwarded Junk", out, &dropped);
	check(n == 3 && strcmp(out, "abc") == 0, "commas, repeats, sorted", out);
	n = mm_keywords_letters(&k, "bad(atom) \\Seen ok", out, &dropped);
	check(n == 1 && strcmp(out, "d") == 0 && dropped == 2, "no atoms dropped", out);
	n = mm_keywords_letters(&k, "", out, &dropped);
	check(n == 0 && out[0] == '\0', "empty", out);
	for (int i = 0; i < 30; i++) {
		snprintf(name, sizeof(name), "kw%d", i);
		mm_keywords_letters(&k, name, out, &dropped);
	}
	check(k.n == 26, "26 names at most", NULL);
	check(k.dropped == 2 + 8, "the rest dropped and counted", NULL);
	check(k.kept == 2 + 3 + 1 + 22, "kept counted", NULL);
	check(mm_keywords_write_dovecot(&k, dfd, &e) == 1, "dovecot-keywords written", e.text);
	const char *f = slurp_at(dfd, "dovecot-keywords");
	check(f && strncmp(f, "0 $Forwarded\n1 Junk\n2 Work\n3 ok\n4 kw0\n", 38) == 0,
	      "dovecot-keywords lines", f);
	check(mm_keywords_write_dovecot(&k, dfd, &e) == 0, "nothing added: not rewritten", NULL);
	check(mm_keywords_write_courier(&k, dfd, "1.H1.host", 9, "ac", &e) == 1,
	      "courier file", e.text);
	f = slurp_at(dfd, "courierimapkeywords/1.H1.host");
	check(f && strcmp(f, "$Forwarded\nWork\n") == 0, "courier file lines", f);
	check(mm_keywords_write_courier(&k, dfd, "1.H1.host", 9, "b", &e) == 0,
	      "there already: left", NULL);
	spew_at(dfd, "courierimapkeywords/:list", "Junk\n\n");
	check(mm_keywords_write_courier(&k, dfd, "2.H2.host", 9, "b", &e) == 0,
	      "Courier's :list: its own from then on", NULL);
	mm_keywords_free(&k);

	/* an existing file's letters are kept */
	check(mm_keywords_init(&k, dfd, &e) == 0 && k.n == 26, "read back", e.text);
	n = mm_keywords_letters(&k, "Work", out, &dropped);
	check(n == 1 && strcmp(out, "c") == 0 && !k.added, "same letter", out);
	mm_keywords_free(&k);
	spew_at(dfd, "dovecot-keywords", "0 a\n2 b\n");
	check(mm_keywords_init(&k, dfd, &e) < 0 && e.code == MM_E_FORMAT,
	      "indexes out of order: refused", e.text);
	mm_keywords_free(&k);
	unlinkat(dfd, "dovecot-keywords", 0);
	if (symlinkat("/etc/passwd", dfd, "dovecot-keywords") == 0)
		check(mm_keywords_init(&k, dfd, &e) < 0, "a symlink: refused", e.text);
	mm_keywords_free(&k);

	unlinkat(dfd, "dovecot-keywords", 0);
	int kfd = openat(dfd, "courierimapkeywords", O_RDONLY | O_DIRECTORY);
	unlinkat(kfd, "1.H1.host", 0);
	unlinkat(kfd, ":list", 0);
	close(kfd);
	unlinkat(dfd, "courierimapkeywords", AT_REMOVEDIR);
	close(dfd);
	rmdir(dir);
	return test_summary();
}
