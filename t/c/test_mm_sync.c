/* test_mm_sync.c - what a sync pass does to files that are there:
 * re-flagging keeps the base name and never replaces a file; removal
 * takes only a regular file of the size we delivered (not a symlink, a
 * FIFO, a directory, a file of another size) and leaves tmp/ empty; an
 * mbox is complete unless the reader said it was cut short or the file
 * does not end with a newline.
 */
#include "mm_test.h"
#include "mm_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[] = "/tmp/mm_test_sync.XXXXXX";

static void spew(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(s, f) < 0 || fclose(f) != 0)
		abort();
}

static int exists(const char *md, const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", md, rel);
	return lstat(p, &st) == 0;
}

static int tmp_empty(const char *md)
{
	char p[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(p, sizeof(p), "%s/tmp", md);
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n == 0;
}

static void test_changes(void)
{
	char md_path[256], p[512];
	struct mm_maildir_opts o;
	struct mm_maildir *md;
	struct mm_err e;

	snprintf(md_path, sizeof(md_path), "%s/Maildir", top);
	memset(&o, 0, sizeof(o));
	o.fsync = MM_FSYNC_EACH;
	md = mm_maildir_open(md_path, &o, &e);
	check(md != NULL, "open", e.text);
	if (md == NULL)
		return;
	snprintf(p, sizeof(p), "%s/new/1.Ha.h,S=3", md_path);
	spew(p, "abc");
	check(mm_maildir_reflag(md, 0, "1.Ha.h,S=3", 1, "S", &e) == 0,
	      "new/ to cur/ with :2,S", e.text);
	check(exists(md_path, "cur/1.Ha.h,S=3:2,S") && !exists(md_path, "new/1.Ha.h,S=3"),
	      "the same base name in cur/", NULL);
	check(mm_maildir_reflag(md, 1, "1.Ha.h,S=3:2,S", 1, "FRS", &e) == 0,
	      "another info part", e.text);
	check(exists(md_path, "cur/1.Ha.h,S=3:2,FRS"), "renamed", NULL);
	check(mm_maildir_reflag(md, 1, "1.Ha.h,S=3:2,FRS", 0, NULL, &e) == 0,
	      "back to new/", e.text);
	check(exists(md_path, "new/1.Ha.h,S=3"), "without an info part", NULL);
	/* never over a file that is there */
	snprintf(p, sizeof(p), "%s/cur/1.Ha.h,S=3:2,S", md_path);
	spew(p, "other");
	check(mm_maildir_reflag(md, 0, "1.Ha.h,S=3", 1, "S", &e) < 0 &&
	      e.sys_errno == EEXIST, "a rename onto a file fails", e.text);
	check(exists(md_path, "new/1.Ha.h,S=3") && exists(md_path, "cur/1.Ha.h,S=3:2,S"),
	      "both left", NULL);

	/* removal */
	check(mm_maildir_remove(md, 1, "1.Ha.h,S=3:2,S", 3, &e) < 0 &&
	      strstr(e.text, "it has 5 bytes, not the 3 we delivered") != NULL,
	      "another size: not removed", e.text);
	check(exists(md_path, "cur/1.Ha.h,S=3:2,S"), "it is there", NULL);
	check(mm_maildir_remove(md, 0, "1.Ha.h,S=3", 3, &e) == 0, "removed", e.text);
	check(!exists(md_path, "new/1.Ha.h,S=3") && tmp_empty(md_path),
	      "gone, nothing left in tmp/", NULL);
	snprintf(p, sizeof(p), "%s/cur/2.Hb.h,S=3:2,", md_path);
	check(symlink("/etc/passwd", p) == 0, "a symlink", NULL);
	check(mm_maildir_remove(md, 1, "2.Hb.h,S=3:2,", 3, &e) < 0, "a symlink is not removed", NULL);
	check(exists(md_path, "cur/2.Hb.h,S=3:2,"), "it is there", NULL);
	snprintf(p, sizeof(p), "%s/cur/3.Hc.h,S=3:2,", md_path);
	check(mkfifo(p, 0600) == 0, "a FIFO", NULL);
	check(mm_maildir_remove(md, 1, "3.Hc.h,S=3:2,", 3, &e) < 0, "a FIFO is not removed", NULL);
	check(exists(md_path, "cur/3.Hc.h,S=3:2,"), "it is there", NULL);
	snprintf(p, sizeof(p), "%s/cur/4.Hd.h,S=3:2,", md_path);
	check(mkdir(p, 0700) == 0, "a directory", NULL);
	check(mm_maildir_remove(md, 1, "4.Hd.h,S=3:2,", 3, &e) < 0, "a directory is not removed", NULL);
	check(exists(md_path, "cur/4.Hd.h,S=3:2,"), "it is there", NULL);
	rmdir(p);
	check(mm_maildir_changes_done(md, &e) == 0, "synced", e.text);
	check(tmp_empty(md_path), "tmp/ empty", NULL);
	mm_maildir_close(md, &e);
	rm_maildir(md_path);
}

static void test_complete(void)
{
	static const struct {
		const char *content;
		int complete;
	} t[] = {
		{ "", 1 },
		{ "From a Mon Jan  1 00:00:00 2001\n\nx\n\n", 1 },
		{ "From a Mon Jan  1 00:00:00 2001\n\nx\n", 1 },
		{ "From a Mon Jan  1 00:00:00 2001\n\nx", 0 },
	};
	char p[512];
	struct mm_err w, why;

	snprintf(p, sizeof(p), "%s/mbox", top);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int fd;

		spew(p, t[i].content);
		fd = open(p, O_RDONLY);
		check(mm_sync_mbox_complete(fd, NULL, 0, &why) == t[i].complete,
		      "complete or not", t[i].content);
		close(fd);
	}
	mm_err_set(&w, MM_W_TRUNCATED, 0, 3, 77, "file ends inside the header block");
	check(mm_sync_mbox_complete(0, &w, 1, &why) == 0 &&
	      strcmp(why.text, "nothing removed: the mbox looks cut short (message 3, "
		     "offset 77: file ends inside the header block)") == 0,
	      "a truncation warning", why.text);
	unlink(p);
}

int main(void)
{
	if (mkdtemp(top) == NULL)
		return 1;
	test_changes();
	test_complete();
	rmdir(top);
	return test_summary();
}
