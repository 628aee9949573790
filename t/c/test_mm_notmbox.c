/* test_mm_notmbox.c - mm_mbox_not_mbox(): input that is no mbox at all
 * (bytes, not one line starting "From " nor an MMDF separator), a table
 * read from a file and through a pipe (the same answer), its size and
 * first bytes as the ERROR shows them; what it read stays for
 * mm_mbox_next(); an input larger than the window cannot be told. */
#include "mm_test.h"
#include "mm_mbox.h"

#include <fcntl.h>

#define F1 "From a@b Mon Jan  1 12:00:00 2001\n"

static const struct {
	const char *data;
	size_t len;             /* 0: strlen */
	int want;
	const char *head;       /* when want is 1 */
} table[] = {
	{ "", 0, 0, NULL },                                   /* no mail */
	{ "\n\n\r\n", 0, 0, NULL },                           /* blank lines */
	{ F1 "Subject: x\n\nbody\n", 0, 0, NULL },
	{ "\n\n" F1 "Subject: x\n\nbody\n", 0, 0, NULL },     /* blank first */
	{ "garbage\n\n" F1 "Subject: x\n\nbody\n", 0, 0, NULL },
	{ "From nobody, a loose line\n\nx\n", 0, 0, NULL },   /* the reader's */
	{ "\1\1\1\1\nSubject: m\n\nx\n\1\1\1\1\n", 0, 0, NULL },
	{ "x\r\n\1\1\1\1\r\n", 0, 0, NULL },
	{ "Subject: hi\n\nhello\n", 0, 1, "Subject: hi" },
	{ "nothing but text\nwithout any From_ line\n", 0, 1, "nothing but text" },
	{ "a >From quoted\n From indented\nfrom lower\n", 0, 1, "a >From quoted" },
	{ "\x1f\x8b\x08\0\0\0\0\0\0\3", 10, 1, "\\x1f\\x8b\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x03" },
	{ "x", 0, 1, "x" },
	{ "123456789012345678901234567890\n", 0, 1, "123456789012345678901234" },
};

static int file_fd(const char *data, size_t len)
{
	char path[] = "/tmp/mm-notmbox-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	unlink(path);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int pipe_fd(const char *data, size_t len)
{
	int p[2];

	if (pipe(p) < 0 || write(p[1], data, len) != (ssize_t)len)
		abort();
	close(p[1]);
	return p[0];
}

/* mm_mbox_not_mbox() on fd; then the messages mm_mbox_next() still
 * finds (n_r), the first one's size (size1_r). */
static int ask(int fd, size_t buf_max, char *text, unsigned long *n_r, uint64_t *size1_r)
{
	struct mm_mbox_opts o;
	struct mm_err e;
	const struct mm_msg *m;
	const char *d;
	size_t l;
	struct mm_mbox *mb;
	int r;

	memset(&o, 0, sizeof(o));
	o.buf_max = buf_max;
	mb = mm_mbox_new(fd, &o, &e);
	if (mb == NULL)
		abort();
	r = mm_mbox_not_mbox(mb, &e);
	snprintf(text, 300, "%s", r > 0 ? e.text : "");
	*n_r = 0;
	*size1_r = 0;
	while (r == 0 && mm_mbox_next(mb, &m, &e) > 0) {
		while (mm_mbox_read(mb, &d, &l, &e) > 0)
			;
		if (++*n_r == 1)
			*size1_r = m->size;
	}
	mm_mbox_free(mb);
	close(fd);
	return r;
}

int main(void)
{
	char text[300], want[300];
	uint64_t size1;
	unsigned long n;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		size_t len = table[i].len ? table[i].len : strlen(table[i].data);

		for (int how = 0; how < 2; how++) {
			int fd = how ? pipe_fd(table[i].data, len) : file_fd(table[i].data, len);
			int r = ask(fd, 65536, text, &n, &size1);

			check(r == table[i].want, how ? "pipe" : "file", table[i].data);
			snprintf(want, sizeof(want), "not an mbox: no From_ line (nor MMDF "
				 "separator) in its %zu bytes, which start \"%s\": nothing "
				 "delivered (a compressed file? make it an mbox first)", len,
				 table[i].head ? table[i].head : "");
			if (table[i].want)
				check(strcmp(text, want) == 0, "why: its size and first bytes", text);
		}
	}

	/* an mbox: the bytes read to tell stay for the reader */
	{
		const char *mb = F1 "Subject: x\n\nbody\n\n" F1 "Subject: y\n\nbody 2\n";
		int r = ask(pipe_fd(mb, strlen(mb)), 65536, text, &n, &size1);

		check(r == 0 && n == 2, "a pipe: both messages read after it", mb);
		r = ask(pipe_fd("junk\n\n" F1 "Subject: x\n\nb\n", strlen("junk\n\n" F1 "Subject: x\n\nb\n")),
			65536, text, &n, &size1);
		check(r == 0 && n == 2, "garbage first: kept as a message, then the mbox", "junk");
	}

	/* larger than the window (64 KiB): cannot tell, read as ever */
	{
		size_t big = 200000;
		char *data = malloc(big);

		memset(data, 'q', big);
		data[big - 1] = '\n';
		check(ask(file_fd(data, big), 65536, text, &n, &size1) == 0 && n == 1 &&
		      size1 == big, "a file beyond the window: 0, one message", "q...");
		free(data);
	}
	return test_summary();
}
