/* test_mm_repair.c - presence means the right content: the size a name
 * promises (a table), which files of a Maildir count as present or
 * damaged at open (empty, short, long, a UIDL name, a symlink, a FIFO,
 * a key twice), and repairs renamed over the damaged file keeping its
 * name, with ",S=" set right when the size changed, in every fsync
 * mode; nothing written through a hard link; a directory swapped in
 * fails that one message only.
 */
#include "mm_test.h"
#include "mm_maildir_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[] = "/tmp/mm_test_repair.XXXXXX";

static void test_name_size(void)
{
	static const struct {
		const char *name;
		int has;
		unsigned long long size;
	} t[] = {
		{ "1.H0123456789abcdef.h,S=12", 1, 12 },
		{ "1.H0123456789abcdef.h,S=12:2,FS", 1, 12 },
		{ "1.H0123456789abcdef.h,S=0", 1, 0 },
		{ "1.H0123456789abcdef.h,S=12,W=14:2,S", 1, 12 },
		{ "1.M1P2.host,W=14,S=12:2,", 1, 12 },
		{ "1.H0123456789abcdef.h", 0, 0 },
		{ "1.H0123456789abcdef.h:2,S", 0, 0 },
		{ "1.H0123456789abcdef.h:2,,S=12", 0, 0 }, /* in the info */
		{ "1.H0123456789abcdef.h,S=", 0, 0 },
		{ "1.H0123456789abcdef.h,S=x,S=7", 1, 7 },
		{ "1.H0123456789abcdef.h,S=12x", 0, 0 },
		{ "1.H0123456789abcdef.h,S=99999999999999999999999", 0, 0 },
		{ "UIDL-abc", 0, 0 },
		{ "", 0, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t size = 4242;
		int has = mm_maildir_name_size(t[i].name, &size);

		check(has == t[i].has, "promises a size or not", t[i].name);
		check(!has || size == t[i].size, "the size", t[i].name);
	}
}

static struct mm_maildir *open_md(const char *path, enum mm_fsync mode)
{
	struct mm_maildir_opts o;
	struct mm_err e;
	struct mm_maildir *md;

	memset(&o, 0, sizeof(o));
	o.fsync = mode;
	o.batch_max = 2;
	o.host = "h";
	md = mm_maildir_open(path, &o, &e);
	if (md == NULL)
		printf("cannot open %s: %s\n", path, e.text);
	return md;
}

/* Message i: hash i, body "message i\n" i times (10 i bytes). */
static int body_of(unsigned long i, char *buf, size_t sz)
{
	int len = 0;

	for (unsigned long k = 0; k < i && (size_t)len + 32 < sz; k++)
		len += snprintf(buf + len, sz - (size_t)len, "message %lu\n", i);
	return len;
}

/* Odd ones go to cur/ with flag S. */
static int deliver(struct mm_maildir *md, unsigned long i)
{
	char body[1024];
	struct mm_err e;
	int len = body_of(i, body, sizeof(body));

	if (mm_maildir_begin(md, 1000000000, i, 0, i, i * 100, &e) < 0 ||
	    mm_maildir_write(md, body, (size_t)len, &e) < 0)
		return -1;
	return mm_maildir_commit(md, 1000000000, i % 2, i % 2 ? "S" : "", &e);
}

/* Repair message i over what is damaged, with body (len bytes). */
static int repair(struct mm_maildir *md, unsigned long i, const char *body,
		  size_t len)
{
	const struct mm_maildir_damaged *d =
		mm_maildir_damaged(md, mm_maildir_key(i, 0));
	struct mm_err e;

	if (d == NULL)
		return -1;
	if (mm_maildir_begin_repair(md, d->in_cur, d->name, d->key, i, i * 100,
				    &e) < 0 ||
	    mm_maildir_write(md, body, len, &e) < 0)
		return -1;
	return mm_maildir_commit(md, 1000000000, 0, "", &e);
}

/* The name of message i in path's new/ or cur/ ("" if none), and its
 * content. */
static void find(const char *path, unsigned long i, char *name, size_t nsz,
		 char *content, size_t csz)
{
	static const char *subs[] = { "new", "cur" };
	char prefix[64], dir[600];

	snprintf(prefix, sizeof(prefix), "1000000000.H%016lx.", i);
	name[0] = content[0] = '\0';
	for (int s = 0; s < 2; s++) {
		struct dirent *de;
		DIR *d;

		snprintf(dir, sizeof(dir), "%s/%s", path, subs[s]);
		if ((d = opendir(dir)) == NULL)
			continue;
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
				continue;
			snprintf(name, nsz, "%s/%s", subs[s], de->d_name);
			int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW);
			ssize_t n = fd < 0 ? -1 : read(fd, content, csz - 1);

			content[n < 0 ? 0 : n] = '\0';
			if (fd >= 0)
				close(fd);
		}
		closedir(d);
	}
}

static void spew_at(const char *path, const char *name, const char *data)
{
	char p[900];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", path, name);
	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	check(fd >= 0 && write(fd, data, strlen(data)) == (ssize_t)strlen(data),
	      "write a damaged file", p);
	close(fd);
}

static void test_repairs(enum mm_fsync mode)
{
	char path[200], name[300], content[1024], body[1024], p1[1024], p2[1024];
	char n1[300], n2[300], n3[300], n5[300], n6[300], n8[300], victim[300];
	const char *what = mm_fsync_name(mode);
	const struct mm_maildir_damaged *d;
	struct mm_maildir *md;
	struct mm_err e;
	struct stat st;
	int len;

	snprintf(path, sizeof(path), "%s/md-%s", top, what);
	if ((md = open_md(path, mode)) == NULL) {
		check(0, "open", what);
		return;
	}
	for (unsigned long i = 1; i <= 9; i++)
		check(deliver(md, i) == 0, "deliver", what);
	check(mm_maildir_close(md, &e) == 0, "close", what);

	/* 1 empty (in cur/, its flags changed by the user since); 2 short;
	 * 3 too long; 4 sound; 5 a symlink to a short victim; 6 a FIFO;
	 * 7 sound in new/, an empty second copy in cur/; 8 empty twice;
	 * 9 a hard link to a victim of another size */
	find(path, 1, n1, sizeof(n1), content, sizeof(content));
	snprintf(p1, sizeof(p1), "%s/%s", path, n1);
	snprintf(p2, sizeof(p2), "%s/%.*sFRS", path, (int)(strlen(n1) - 1), n1);
	check(rename(p1, p2) == 0, "flags changed", p2);
	find(path, 1, n1, sizeof(n1), content, sizeof(content));
	spew_at(path, n1, "");
	find(path, 2, n2, sizeof(n2), content, sizeof(content));
	spew_at(path, n2, "mess");
	find(path, 3, n3, sizeof(n3), content, sizeof(content));
	len = body_of(3, body, sizeof(body));
	strcat(body, "trailing garbage\n");
	spew_at(path, n3, body);
	snprintf(victim, sizeof(victim), "%s/victim", top);
	spew_at(top, "victim", "precious\n");
	find(path, 5, n5, sizeof(n5), content, sizeof(content));
	snprintf(p1, sizeof(p1), "%s/%s", path, n5);
	unlink(p1);
	check(symlink(victim, p1) == 0, "symlink planted", p1);
	find(path, 6, n6, sizeof(n6), content, sizeof(content));
	snprintf(p1, sizeof(p1), "%s/%s", path, n6);
	unlink(p1);
	check(mkfifo(p1, 0600) == 0, "FIFO planted", p1);
	find(path, 7, name, sizeof(name), content, sizeof(content));
	snprintf(p1, sizeof(p1), "new/%.*s", (int)strcspn(name + 4, ":"),
		 name + 4);
	spew_at(path, p1, "");
	find(path, 8, n8, sizeof(n8), content, sizeof(content));
	spew_at(path, n8, "");
	snprintf(p1, sizeof(p1), "%s/%s", path, n8);
	snprintf(p2, sizeof(p2), "%s/%.*sother,%s", path,
		 (int)(strstr(n8, ".h,") - n8 + 1), n8, strstr(n8, ",S=") + 1);
	check(link(p1, p2) == 0, "a second empty file of key 8", p2);
	find(path, 9, name, sizeof(name), content, sizeof(content));
	snprintf(p1, sizeof(p1), "%s/%s", path, name);
	unlink(p1);
	check(link(victim, p1) == 0, "hard link planted", p1);

	if ((md = open_md(path, mode)) == NULL) {
		check(0, "reopen", what);
		return;
	}
	for (unsigned long i = 1; i <= 3; i++) {
		check(!mm_maildir_has(md, mm_maildir_key(i, 0)), "damaged: absent", what);
		check(mm_maildir_damaged(md, mm_maildir_key(i, 0)) != NULL,
		      "damaged: found", what);
	}
	d = mm_maildir_damaged(md, mm_maildir_key(1, 0));
	check(d && d->in_cur && d->has_size && d->size == 0 &&
	      strcmp(d->name, strchr(n1, '/') + 1) == 0, "damaged 1: where, what",
	      d ? d->name : what);
	d = mm_maildir_damaged(md, mm_maildir_key(2, 0));
	check(d && !d->in_cur && d->size == 4, "damaged 2: short, in new/", what);
	check(mm_maildir_has(md, mm_maildir_key(4, 0)), "sound: present", what);
	check(mm_maildir_damaged(md, mm_maildir_key(4, 0)) == NULL,
	      "sound: not damaged", what);
	for (unsigned long i = 5; i <= 6; i++) {
		check(!mm_maildir_has(md, mm_maildir_key(i, 0)),
		      "symlink, FIFO: not present", what);
		check(mm_maildir_damaged(md, mm_maildir_key(i, 0)) == NULL,
		      "symlink, FIFO: not damaged either", what);
	}
	check(mm_maildir_has(md, mm_maildir_key(7, 0)) &&
	      mm_maildir_damaged(md, mm_maildir_key(7, 0)) == NULL,
	      "a sound copy wins over a damaged one", what);
	d = mm_maildir_damaged(md, mm_maildir_key(8, 0));
	check(d && strcmp(d->name, strchr(n8, '/') + 1) == 0,
	      "of two damaged files, the first by name", d ? d->name : what);
	check(md->ndamaged == 5, "5 damaged files kept (1, 2, 3, 8, 9)", what);

	for (unsigned long i = 1; i <= 3; i++) {
		len = body_of(i, body, sizeof(body));
		check(repair(md, i, body, (size_t)len) == 0, "repair", what);
	}
	/* 8 comes back with another body: its name's size follows */
	check(repair(md, 8, "short\n", 6) == 0, "repair with a new size", what);
	len = body_of(9, body, sizeof(body));
	check(repair(md, 9, body, (size_t)len) == 0, "repair the hard link", what);
	check(mm_maildir_damaged(md, mm_maildir_key(1, 0)) == NULL,
	      "repaired: not damaged any more", what);
	check(mm_maildir_close(md, &e) == 0, "close after repairs", e.text);

	find(path, 1, name, sizeof(name), content, sizeof(content));
	len = body_of(1, body, sizeof(body));
	check(strcmp(name, n1) == 0, "1 keeps its name and flags", name);
	check(strcmp(content, body) == 0, "1 repaired", content);
	find(path, 2, name, sizeof(name), content, sizeof(content));
	len = body_of(2, body, sizeof(body));
	check(strcmp(name, n2) == 0 && strcmp(content, body) == 0,
	      "2 repaired, same name", name);
	find(path, 3, name, sizeof(name), content, sizeof(content));
	len = body_of(3, body, sizeof(body));
	check(strcmp(name, n3) == 0 && strcmp(content, body) == 0,
	      "3 repaired, same name", name);
	snprintf(p1, sizeof(p1), "%s/%s", path, n1);
	check(stat(p1, &st) == 0 && st.st_mtime == 1000000000 &&
	      (st.st_mode & 07777) == 0600, "mtime and mode of a repair", p1);
	snprintf(p1, sizeof(p1), "%s/%s", path, n5);
	check(lstat(p1, &st) == 0 && S_ISLNK(st.st_mode), "the symlink stays", p1);
	snprintf(p1, sizeof(p1), "%s/%s", path, n6);
	check(lstat(p1, &st) == 0 && S_ISFIFO(st.st_mode), "the FIFO stays", p1);
	snprintf(p1, sizeof(p1), "%s/%.*s,S=6", path,
		 (int)(strstr(n8, ",S=") - n8), n8);
	check(stat(p1, &st) == 0 && st.st_size == 6, "8 renamed to its new size",
	      p1);
	snprintf(p1, sizeof(p1), "%s/%s", path, n8);
	check(lstat(p1, &st) < 0 && errno == ENOENT, "under its old size no more",
	      p1);
	check(lstat(p2, &st) == 0 && st.st_size == 0,
	      "the other damaged copy of 8 is left alone", p2);
	find(path, 9, name, sizeof(name), content, sizeof(content));
	len = body_of(9, body, sizeof(body));
	check(strcmp(content, body) == 0, "9 repaired", name);
	{
		int fd = open(victim, O_RDONLY);
		char buf[32] = "";

		check(fd >= 0 && read(fd, buf, sizeof(buf)) == 9 &&
		      memcmp(buf, "precious\n", 9) == 0,
		      "nothing written through the links", victim);
		close(fd);
	}
	snprintf(p1, sizeof(p1), "%s/tmp", path);
	{
		DIR *dd = opendir(p1);
		struct dirent *de;
		int n = 0;

		while (dd && (de = readdir(dd)) != NULL)
			n += de->d_name[0] != '.';
		if (dd)
			closedir(dd);
		check(n == 0, "tmp/ empty", what);
	}

	/* a third open: all sound (8's other copy stays behind a sound one) */
	if ((md = open_md(path, mode)) == NULL) {
		check(0, "open again", what);
		return;
	}
	for (unsigned long i = 1; i <= 9; i++)
		check(i == 5 || i == 6 || mm_maildir_has(md, mm_maildir_key(i, 0)),
		      "present after the repairs", what);
	check(md->ndamaged == 0, "nothing damaged", what);
	check(mm_maildir_close(md, &e) == 0, "close", what);
	unlink(victim);
	rm_maildir(path);
}

/* Counted: repairs are not deliveries. */
static void test_stats(void)
{
	char path[512], name[600], content[1024];
	struct mm_maildir *md;
	struct mm_err e;
	int len;
	char body[1024];

	snprintf(path, sizeof(path), "%s/stats", top);
	if ((md = open_md(path, MM_FSYNC_BATCH)) == NULL)
		return;
	deliver(md, 2);
	mm_maildir_close(md, &e);
	find(path, 2, name, sizeof(name), content, sizeof(content));
	spew_at(path, name, "");
	md = open_md(path, MM_FSYNC_BATCH);
	len = body_of(2, body, sizeof(body));
	check(repair(md, 2, body, (size_t)len) == 0, "repair", "stats");
	check(mm_maildir_flush(md, &e) == 0, "flush", "stats");
	check(mm_maildir_stats(md)->repaired == 1, "1 repaired", "stats");
	check(mm_maildir_stats(md)->delivered == 0, "0 delivered", "stats");
	mm_maildir_close(md, &e);
	/* readonly: no stat, nothing damaged, any regular file present */
	spew_at(path, name, "");
	{
		struct mm_maildir_opts o;

		memset(&o, 0, sizeof(o));
		o.readonly = 1;
		md = mm_maildir_open(path, &o, &e);
		check(md && mm_maildir_has(md, mm_maildir_key(2, 0)) &&
		      mm_maildir_damaged(md, mm_maildir_key(2, 0)) == NULL,
		      "readonly: presence by name", "stats");
		if (md)
			mm_maildir_close(md, &e);
	}
	rm_maildir(path);
}

/* A directory swapped in for the damaged file between open and rename:
 * that one message fails, as for a name taken (EEXIST), the run goes
 * on, tmp/ is left clean. */
static void test_swapped_dir(void)
{
	char path[200], name[300], content[1024], p1[600], body[1024];
	struct mm_maildir *md;
	struct mm_err e;
	int len, n = 0;

	snprintf(path, sizeof(path), "%s/swap", top);
	if ((md = open_md(path, MM_FSYNC_EACH)) == NULL)
		return;
	deliver(md, 2);
	mm_maildir_close(md, &e);
	find(path, 2, name, sizeof(name), content, sizeof(content));
	spew_at(path, name, "");
	md = open_md(path, MM_FSYNC_EACH);
	snprintf(p1, sizeof(p1), "%s/%s", path, name);
	check(unlink(p1) == 0 && mkdir(p1, 0700) == 0, "directory swapped in", p1);
	len = body_of(2, body, sizeof(body));
	/* mode each renames in batches too: the loss shows by the flush */
	check(repair(md, 2, body, (size_t)len) < 0 || mm_maildir_flush(md, &e) < 0,
	      "the repair fails", "swap");
	check(mm_maildir_failure(md, &e) == 1, "and is reported", "swap");
	check(e.msgno == 2 && e.sys_errno == EEXIST &&
	      strstr(e.text, "Is a directory") != NULL,
	      "for that message, as a name taken", e.text);
	check(mm_maildir_stats(md)->repaired == 0, "not counted", "swap");
	check(deliver(md, 3) == 0, "the next message is delivered", "swap");
	mm_maildir_close(md, &e);
	snprintf(p1, sizeof(p1), "%s/tmp", path);
	{
		DIR *dd = opendir(p1);
		struct dirent *de;

		while (dd && (de = readdir(dd)) != NULL)
			n += de->d_name[0] != '.';
		if (dd)
			closedir(dd);
	}
	check(n == 0, "tmp/ empty", "swap");
	snprintf(p1, sizeof(p1), "%s/%s", path, name);
	rmdir(p1);
	rm_maildir(path);
}

int main(void)
{
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_name_size();
	test_repairs(MM_FSYNC_BATCH);
	test_repairs(MM_FSYNC_EACH);
	test_repairs(MM_FSYNC_NONE);
	test_stats();
	test_swapped_dir();
	rmdir(top);
	return test_summary();
}
