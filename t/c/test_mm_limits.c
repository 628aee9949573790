/* test_mm_limits.c - the size limit of one message: mm_maildir_write()
 * refuses the bytes that would take a message beyond opts.max_size
 * (MM_E_TOOBIG) before its tmp/ file grows past it, a message of exactly
 * the limit is delivered, and mm_convert() reports the big message as a
 * per-message error and delivers the ones after it, from a file and from
 * a pipe. Also: an empty Maildir lists and verifies (no qsort(NULL, 0)
 * for UBSan to see). */
#include "mm_test.h"
#include "mm_convert.h"
#include "mm_maildir_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char top[] = "/tmp/mm_test_limits.XXXXXX";

/* Files in md/sub, and the size of the biggest. */
static int count_files(const char *md, const char *sub, off_t *biggest)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int n = 0;

	*biggest = 0;
	snprintf(path, sizeof(path), "%s/%s", md, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		if (fstatat(dirfd(d), de->d_name, &st, 0) == 0 && st.st_size > *biggest)
			*biggest = st.st_size;
	}
	closedir(d);
	return n;
}

/* The message being written: its file in tmp/, or the O_TMPFILE md
 * holds open (no name). 1 and *size, 0 when there is none, -1 when
 * there is more than one. */
static int being_written(struct mm_maildir *md, const char *md_path,
			 off_t *size)
{
	struct stat st;
	int n = count_files(md_path, "tmp", size);

	if (md->cur_fd >= 0 && md->cur_anon) {
		if (n != 0 || fstat(md->cur_fd, &st) < 0)
			return -1;
		*size = st.st_size;
		return 1;
	}
	return n;
}

static void rm_tree(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", path);
}

static void test_writer(int tmpfile)
{
	char md_path[512], big[300];
	struct mm_maildir_opts o;
	struct mm_maildir *md;
	struct mm_err e;
	off_t biggest;

	snprintf(md_path, sizeof(md_path), "%s/writer%d", top, tmpfile);
	/* 0: wherever it works, not only where it is faster */
	setenv("MIGRATEMAIL_NO_TMPFILE", tmpfile ? "0" : "1", 1);
	memset(&o, 0, sizeof(o));
	o.fsync = MM_FSYNC_NONE;
	o.host = "h";
	o.max_size = 100;
	memset(big, 'x', sizeof(big));
	md = mm_maildir_open(md_path, &o, &e);
	check(md != NULL, "open with max_size 100", md ? NULL : e.text);
	if (md == NULL)
		return;

	/* 60 + 50 > 100: the second piece is refused whole */
	check(mm_maildir_begin(md, 1000000000, 1, 0, 1, 0, &e) == 0, "begin", NULL);
	check(mm_maildir_write(md, big, 60, &e) == 0, "60 bytes written", NULL);
	check(mm_maildir_write(md, big, 50, &e) < 0 && e.code == MM_E_TOOBIG,
	      "110 bytes: MM_E_TOOBIG", e.text);
	check(strstr(e.text, "larger than") != NULL, "the text says so", e.text);
	check((md->create != MM_CREATE_NAMED) == tmpfile,
	      tmpfile ? "O_TMPFILE where the file system has it"
		      : "MIGRATEMAIL_NO_TMPFILE: named files in tmp/", NULL);
	check(being_written(md, md_path, &biggest) == 1 && biggest <= 100,
	      "the tmp/ file holds no more than the limit", NULL);
	mm_maildir_abort(md);
	check(count_files(md_path, "tmp", &biggest) == 0, "abort: tmp/ empty", NULL);

	/* one big piece, written without the buffer, is refused as well */
	check(mm_maildir_begin(md, 1000000000, 2, 0, 2, 0, &e) == 0, "begin", NULL);
	check(mm_maildir_write(md, big, sizeof(big), &e) < 0 &&
	      e.code == MM_E_TOOBIG, "300 bytes at once: MM_E_TOOBIG", e.text);
	check(being_written(md, md_path, &biggest) == 1 && biggest == 0,
	      "nothing of it reached tmp/", NULL);
	mm_maildir_abort(md);

	/* exactly the limit is delivered */
	check(mm_maildir_begin(md, 1000000000, 3, 0, 3, 0, &e) == 0, "begin", NULL);
	check(mm_maildir_write(md, big, 40, &e) == 0 &&
	      mm_maildir_write(md, big, 60, &e) == 0, "100 bytes written", e.text);
	check(mm_maildir_commit(md, 1000000000, 0, "", &e) == 0, "commit", e.text);
	check(mm_maildir_close(md, &e) == 0, "close", e.text);
	check(count_files(md_path, "new", &biggest) == 1 && biggest == 100,
	      "the message of exactly the limit is in new/", NULL);
	check(count_files(md_path, "tmp", &biggest) == 0, "tmp/ empty", NULL);

	/* 0: the default, 2 GiB */
	o.max_size = 0;
	md = mm_maildir_open(md_path, &o, &e);
	check(md != NULL && mm_maildir_begin(md, 1, 4, 0, 4, 0, &e) == 0 &&
	      mm_maildir_write(md, big, sizeof(big), &e) == 0,
	      "max_size 0: the default limit", NULL);
	if (md) {
		mm_maildir_abort(md);
		mm_maildir_close(md, &e);
	}
}

static const char mbox[] =
	"From a@example.com Mon Jan  1 00:00:00 2001\n"
	"Subject: one\n\nsmall\n\n"
	"From b@example.com Mon Jan  1 00:00:01 2001\n"
	"Subject: two\n\n"
	"0123456789012345678901234567890123456789012345678901234567890123456789\n"
	"0123456789012345678901234567890123456789012345678901234567890123456789\n"
	"\n"
	"From c@example.com Mon Jan  1 00:00:02 2001\n"
	"Subject: three\n\nsmall too\n";

/* Convert mbox (from a file, or through a pipe) with max_size 100. */
static void test_convert(int through_pipe)
{
	const char *what = through_pipe ? "pipe" : "file";
	struct mm_convert_opts o;
	struct mm_convert_stats st;
	struct mm_err e;
	char md_path[512], src[512];
	off_t biggest;
	pid_t pid = -1;
	int fd, r;

	snprintf(md_path, sizeof(md_path), "%s/convert-%s", top, what);
	if (through_pipe) {
		int p[2];

		if (pipe(p) < 0)
			return;
		if ((pid = fork()) == 0) {
			close(p[0]);
			if (write(p[1], mbox, sizeof(mbox) - 1) < 0)
				_exit(1);
			_exit(0);
		}
		close(p[1]);
		fd = p[0];
	} else {
		snprintf(src, sizeof(src), "%s/mbox", top);
		fd = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || write(fd, mbox, sizeof(mbox) - 1) < 0 ||
		    lseek(fd, 0, SEEK_SET) < 0)
			return;
	}
	memset(&o, 0, sizeof(o));
	o.maildir.fsync = MM_FSYNC_NONE;
	o.maildir.host = "h";
	o.maildir.max_size = 100;
	r = mm_convert(fd, md_path, &o, &st, &e);
	close(fd);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	check(r == 0, "the run goes on to the end", what);
	check(st.messages == 3 && st.delivered == 2 && st.failed == 1,
	      "3 read, 2 delivered, 1 failed", what);
	check(st.errors.len == 1 && st.errors.items[0].code == MM_E_TOOBIG &&
	      st.errors.items[0].msgno == 2, "message 2: too big", what);
	check(st.errors.len == 1 && st.errors.items[0].offset == 65,
	      "with its offset", what);
	check(count_files(md_path, "new", &biggest) == 2, "2 in new/", what);
	check(count_files(md_path, "tmp", &biggest) == 0, "tmp/ empty", what);
	mm_convert_stats_free(&st);
}

/* An empty Maildir: listing and verifying an empty mbox against it. */
static void test_empty_list(void)
{
	char md_path[512];
	struct mm_maildir_opts o;
	struct mm_maildir_list list;
	struct mm_maildir *md;
	struct mm_err e;

	snprintf(md_path, sizeof(md_path), "%s/empty", top);
	memset(&o, 0, sizeof(o));
	o.fsync = MM_FSYNC_NONE;
	md = mm_maildir_open(md_path, &o, &e);
	check(md != NULL && mm_maildir_list(md, &list, &e) == 0 && list.len == 0,
	      "an empty Maildir lists as empty", NULL);
	if (md) {
		check(mm_maildir_list_find(&list, 1) == NULL, "and finds nothing", NULL);
		mm_maildir_list_free(&list);
		mm_maildir_close(md, &e);
	}
}

int main(void)
{
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_writer(0);
	test_writer(1);
	unsetenv("MIGRATEMAIL_NO_TMPFILE");
	test_convert(0);
	test_convert(1);
	test_empty_list();
	rm_tree(top);
	return test_summary();
}
