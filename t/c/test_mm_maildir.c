/* test_mm_maildir.c - the Maildir writer's batches: every fsync mode
 * delivers everything once; a batch that fails while in flight (synced
 * and renamed by its own thread while the next one is written) reports
 * exactly its lost message, later, with its number; closing or
 * discarding with a batch in flight lands it and leaves tmp/ empty.
 * Messages are O_TMPFILEs held open until their batch is linked: a
 * limit of open files lowered after open (descriptors run out) moves
 * the writer to named files in tmp/, losing nothing.
 * Run under valgrind --tool=helgrind or ASan to check the hand-off.
 */
#include "mm_test.h"
#include "mm_maildir_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[] = "/tmp/mm_test_maildir.XXXXXX";

static int count_files(const char *md, const char *sub)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", md, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Message i (1-based): hash i, body "message i\n", every third in cur/. */
static int deliver(struct mm_maildir *md, unsigned long i, int *failures,
		   struct mm_err *last)
{
	char body[32];
	struct mm_err e;
	int len = snprintf(body, sizeof(body), "message %lu\n", i);

	if (mm_maildir_begin(md, 1000000000, i, 0, i, i * 100, &e) < 0 ||
	    mm_maildir_write(md, body, (size_t)len, &e) < 0)
		return -1;
	mm_maildir_commit(md, 1000000000, i % 3 == 0, i % 3 == 0 ? "S" : "",
			  &e);
	while (mm_maildir_failure(md, &e)) {
		(*failures)++;
		*last = e;
	}
	return 0;
}

static struct mm_maildir *open_md(const char *path, enum mm_fsync mode,
				  unsigned batch)
{
	struct mm_maildir_opts o;
	struct mm_err e;
	struct mm_maildir *md;

	memset(&o, 0, sizeof(o));
	o.fsync = mode;
	o.batch_max = batch;
	o.host = "h";
	md = mm_maildir_open(path, &o, &e);
	if (md == NULL)
		printf("cannot open %s: %s\n", path, e.text);
	return md;
}

/* 100 messages in batches of 3, in each fsync mode. */
static void test_modes(void)
{
	static const enum mm_fsync modes[] = { MM_FSYNC_BATCH, MM_FSYNC_EACH,
					       MM_FSYNC_NONE };
	for (int m = 0; m < 3; m++) {
		char path[512], what[64];
		struct mm_maildir *md;
		struct mm_err e, last;
		int failures = 0, ok = 1;

		snprintf(path, sizeof(path), "%s/modes-%s", top,
			 mm_fsync_name(modes[m]));
		snprintf(what, sizeof(what), "fsync %s", mm_fsync_name(modes[m]));
		if ((md = open_md(path, modes[m], 3)) == NULL) {
			check(0, "open", what);
			continue;
		}
		for (unsigned long i = 1; i <= 100 && ok; i++)
			ok = deliver(md, i, &failures, &last) == 0;
		check(ok, "begin and write", what);
		check(mm_maildir_flush(md, &e) == 0, "flush", what);
		check(mm_maildir_stats(md)->delivered == 100, "100 delivered", what);
		check(mm_maildir_stats(md)->to_cur == 33, "33 in cur/", what);
		check(modes[m] != MM_FSYNC_BATCH ||
		      mm_maildir_stats(md)->batches == 34, "34 batches", what);
		check(failures == 0, "no failure", what);
		check(mm_maildir_close(md, &e) == 0, "close", what);
		check(count_files(path, "new") == 67, "67 files in new/", what);
		check(count_files(path, "cur") == 33, "33 files in cur/", what);
		check(count_files(path, "tmp") == 0, "tmp/ empty", what);
		rm_maildir(path);
	}
}

/* Message 7's name is taken in new/ while it waits: its batch (5-8) is
 * in flight when message 9 is written, and the loss shows up when that
 * batch is settled (when batch 9-12 takes off), with message 7's
 * number and offset. */
static void test_failure_in_flight(int named)
{
	char path[512], taken[800], base[MM_NAME_MAX];
	struct mm_maildir *md;
	struct mm_err e, last;
	int failures = 0, fd;

	/* the link of an O_TMPFILE, or (named) the rename from tmp/ */
	snprintf(path, sizeof(path), "%s/flight%d", top, named);
	setenv("MIGRATEMAIL_NO_TMPFILE", named ? "1" : "0", 1);
	md = open_md(path, MM_FSYNC_BATCH, 4);
	unsetenv("MIGRATEMAIL_NO_TMPFILE");
	if (md == NULL) {
		check(0, "open", "in flight");
		return;
	}
	check((md->create == MM_CREATE_NAMED) == named,
	      named ? "named files in tmp/" : "O_TMPFILEs", NULL);
	mm_maildir_base_name(md, 1000000000, 7, 0, base, sizeof(base));
	snprintf(taken, sizeof(taken), "%s/new/%s,S=10", path, base);
	fd = open(taken, O_WRONLY | O_CREAT | O_EXCL, 0600);
	check(fd >= 0 && write(fd, "theirs\n", 7) == 7, "name taken", taken);
	close(fd);
	for (unsigned long i = 1; i <= 12; i++)
		deliver(md, i, &failures, &last);
	check(failures == 1, "one failure, when batch 9-12 took off",
	      "in flight");
	check(mm_maildir_flush(md, &e) == 0, "flush after the loss", "flight");
	while (mm_maildir_failure(md, &e))
		failures++;
	check(failures == 1, "no other failure", "in flight");
	check(last.msgno == 7 && last.offset == 700, "it is message 7",
	      last.text);
	check(last.sys_errno == EEXIST && strstr(last.text, "cannot move") &&
	      strstr(last.text, " to new/"), "cannot move, file exists",
	      last.text);
	check(mm_maildir_stats(md)->delivered == 11, "the other 11 delivered",
	      "in flight");
	mm_maildir_close(md, &e);
	check(count_files(path, "new") + count_files(path, "cur") == 12,
	      "11 delivered and the one that was there", "in flight");
	check(count_files(path, "tmp") == 0, "tmp/ empty", "in flight");
	fd = open(taken, O_RDONLY);
	char buf[16] = "";
	check(fd >= 0 && read(fd, buf, sizeof(buf)) == 7 &&
	      memcmp(buf, "theirs\n", 7) == 0, "the file there is untouched",
	      taken);
	close(fd);
	rm_maildir(path);
}

/* Discarded with one batch in flight and one half written: the first
 * lands, the second is removed from tmp/. */
static void test_discard_in_flight(void)
{
	char path[512];
	struct mm_maildir *md;
	struct mm_err last;
	int failures = 0;

	snprintf(path, sizeof(path), "%s/discard", top);
	if ((md = open_md(path, MM_FSYNC_BATCH, 4)) == NULL) {
		check(0, "open", "discard");
		return;
	}
	for (unsigned long i = 1; i <= 6; i++)
		deliver(md, i, &failures, &last);
	mm_maildir_discard(md);
	check(failures == 0, "no failure", "discard");
	check(count_files(path, "new") + count_files(path, "cur") == 4,
	      "the batch in flight landed", "discard");
	check(count_files(path, "tmp") == 0, "the rest removed from tmp/",
	      "discard");
	rm_maildir(path);
}

/* The limit of open files lowered under a writer with O_TMPFILEs in
 * its batch: EMFILE at the next O_TMPFILE lands the batch and goes on
 * with named files; everything is delivered. */
static void test_out_of_descriptors(void)
{
	char path[512];
	struct mm_maildir *md;
	struct mm_err last, e;
	struct rlimit old, low;
	int failures = 0, fd, ok = 1;
	unsigned long i;

	snprintf(path, sizeof(path), "%s/fds", top);
	/* room for batches of 256 O_TMPFILEs: (limit - open - 48) / 2,
	 * whatever soft limit the shell gave (the hard one allowing) */
	getrlimit(RLIMIT_NOFILE, &old);
	if (old.rlim_cur < 1024 && old.rlim_max >= 1024) {
		low = old;
		low.rlim_cur = 1024;
		setrlimit(RLIMIT_NOFILE, &low);
	}
	setenv("MIGRATEMAIL_NO_TMPFILE", "0", 1);
	md = open_md(path, MM_FSYNC_BATCH, 256);
	unsetenv("MIGRATEMAIL_NO_TMPFILE");
	check(md != NULL, "open", path);
	if (md == NULL)
		return;
	check(md->create != MM_CREATE_NAMED && md->batch_cap == 256,
	      "O_TMPFILEs in batches of 256", NULL);
	for (i = 1; i <= 300 && ok; i++)
		ok = deliver(md, i, &failures, &last) == 0;
	/* no batch left in flight: the sync thread would close its
	 * descriptors under the lowered limit, leaving room enough that
	 * EMFILE might never come */
	check(mm_maildir_flush(md, &e) == 0, "flush", e.text);
	for (; i <= 340 && ok; i++)
		ok = deliver(md, i, &failures, &last) == 0;
	/* 20 descriptors more than are open now */
	fd = open("/dev/null", O_RDONLY);
	getrlimit(RLIMIT_NOFILE, &old);
	low = old;
	low.rlim_cur = (rlim_t)fd + 20;
	close(fd);
	check(setrlimit(RLIMIT_NOFILE, &low) == 0, "limit lowered", NULL);
	for (; i <= 600 && ok; i++)
		ok = deliver(md, i, &failures, &last) == 0;
	check(ok, "600 messages written with the limit lowered", NULL);
	check(md->create == MM_CREATE_NAMED, "then as named files", NULL);
	check(mm_maildir_close(md, &e) == 0, "close", e.text);
	setrlimit(RLIMIT_NOFILE, &old);
	check(failures == 0, "none lost", failures ? last.text : NULL);
	check(count_files(path, "new") + count_files(path, "cur") == 600 &&
	      count_files(path, "tmp") == 0, "all 600 there, tmp/ empty", path);
	rm_maildir(path);
}

int main(void)
{
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_modes();
	test_failure_in_flight(0);
	test_failure_in_flight(1);
	test_discard_in_flight();
	test_out_of_descriptors();
	rmdir(top);
	return test_summary();
}
