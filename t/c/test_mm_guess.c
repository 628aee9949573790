/* test_mm_guess.c - --format auto, a table of small mailboxes and the
 * variant each is decided to be, read from a file and through a pipe
 * (which holds them whole: the same decision); and the decision rule on
 * counted evidence alone, at its edges. */
#include "mm_test.h"
#include "mm_guess.h"
#include "mm_mbox.h"

#include <fcntl.h>

#define F1 "From a@b Mon Jan  1 12:00:00 2001\n"
#define F2 "From c@d Tue Jan  2 12:00:00 2001\n"

static const struct {
	const char *mbox;
	enum mm_format want;
} table[] = {
	{ F1 "Subject: x\n\nbody\n", MM_FMT_MBOXO },
	{ F1 "Subject: x\n\n>From quoted\n", MM_FMT_MBOXO },
	{ F1 "Subject: x\n\n>>From quoted twice\n", MM_FMT_MBOXRD },
	{ F1 "Subject: x\n\n>>>From thrice\n", MM_FMT_MBOXRD },
	{ F1 "Subject: x\n\nsay >>From mid-line\n", MM_FMT_MBOXO },
	/* Content-Length that lands, every message */
	{ F1 "Content-Length: 5\n\nbody\n\n" F2 "Content-Length: 3\n\nxy\n", MM_FMT_MBOXCL2 },
	{ F1 "Content-Length: 11\n\n>From body\n\n" F2 "Content-Length: 3\n\nxy\n", MM_FMT_MBOXCL },
	/* an unquoted From_ line kept in by Content-Length: mboxcl2 even
	 * with '>From ' lines and with only one of two messages */
	{ F1 "Content-Length: 47\n\n\n" F2 ">From kept\n\n" F1 "\nx\n", MM_FMT_MBOXCL2 },
	/* one of three with a Content-Length (lands): not a writer's */
	{ F1 "Content-Length: 5\n\nbody\n\n" F2 "\n>From q\n\n" F1 "\n>From r\n", MM_FMT_MBOXO },
	/* lying Content-Length in every message: still the writer's */
	{ F1 "Content-Length: 99\n\nbody\n\n" F2 "Content-Length: 1\n\nxyz\n", MM_FMT_MBOXCL2 },
	{ F1 "Content-length: 5\r\n\r\nbody\r\n", MM_FMT_MBOXCL2 },
	{ "\1\1\1\1\nSubject: m\n\nx\n\1\1\1\1\n", MM_FMT_MMDF },
	{ "\1\1\1\1\r\nSubject: m\r\n\r\nx\r\n\1\1\1\1\r\n", MM_FMT_MMDF },
	{ "\n\1\1\1\1\nSubject: m\n\nx\n\1\1\1\1\n", MM_FMT_MMDF },
	{ "", MM_FMT_MBOXO },
	{ "no From_ line at all\n>>From here\n", MM_FMT_MBOXRD },
};

static int file_fd(const char *data)
{
	char path[] = "/tmp/mm-guess-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		abort();
	unlink(path);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static int pipe_fd(const char *data)
{
	int p[2];

	if (pipe(p) < 0 || write(p[1], data, strlen(data)) != (ssize_t)strlen(data))
		abort();
	close(p[1]);
	return p[0];
}

static enum mm_format decided(int fd, char *reason, size_t sz)
{
	struct mm_mbox_opts o;
	struct mm_err e;
	const struct mm_msg *m;
	struct mm_mbox *mb;
	enum mm_format f;

	memset(&o, 0, sizeof(o));
	o.buf_max = 65536;
	mb = mm_mbox_new(fd, &o, &e);
	if (mb == NULL || mm_mbox_next(mb, &m, &e) < 0)
		abort();
	f = mm_mbox_format(mb);
	snprintf(reason, sz, "%s", mm_mbox_format_reason(mb));
	mm_mbox_free(mb);
	close(fd);
	return f;
}

int main(void)
{
	char reason[MM_FORMAT_REASON_MAX];
	struct mm_guess_ev ev;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		enum mm_format want = table[i].want;

		check(decided(file_fd(table[i].mbox), reason, sizeof(reason)) == want,
		      "file", table[i].mbox);
		check(strncmp(reason, mm_format_name(want), strlen(mm_format_name(want))) == 0 &&
		      (want == MM_FMT_MMDF || strstr(reason, "(whole file,") != NULL ||
		       strstr(reason, "whatever follows)") != NULL),
		      "file: the reason", reason);
		check(decided(pipe_fd(table[i].mbox), reason, sizeof(reason)) == want,
		      "pipe", table[i].mbox);
		check(want == MM_FMT_MMDF || strstr(reason, "bytes of a pipe)") != NULL,
		      "pipe: the reason", reason);
	}

	/* the rule on evidence: half the messages with Content-Length */
	memset(&ev, 0, sizeof(ev));
	ev.msgs = 4;
	ev.cl_other = 1;
	ev.cl_lands = 1;
	check(mm_guess_decide(&ev) == MM_FMT_MBOXCL2, "2 of 4 with Content-Length", NULL);
	ev.msgs = 5;
	check(mm_guess_decide(&ev) == MM_FMT_MBOXO, "2 of 5 with Content-Length", NULL);
	ev.q2 = 1;
	check(mm_guess_decide(&ev) == MM_FMT_MBOXRD, "2 of 5, a >>From line", NULL);
	ev.cl_from = 1;
	ev.cl_unq = 1;
	check(mm_guess_decide(&ev) == MM_FMT_MBOXCL2, "a From_ line kept in by one", NULL);
	ev.cl_from = ev.cl_unq = 0;
	ev.msgs = 2;
	ev.q1 = 3;
	check(mm_guess_decide(&ev) == MM_FMT_MBOXCL, "Content-Length and >From lines", NULL);
	ev.mmdf = 1;
	check(mm_guess_decide(&ev) == MM_FMT_MMDF, "MMDF first", NULL);
	return test_summary();
}
