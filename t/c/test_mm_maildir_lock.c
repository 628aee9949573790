/* test_mm_maildir_lock.c - one writer per Maildir and the probe at open:
 * a second writer of the same Maildir (another open, a forked process)
 * waits for the lock or fails at once with the ERROR naming it, having
 * touched nothing; readers take no lock; a folder has its own; a lock
 * holder killed with SIGKILL leaves nothing held. The probe: a file
 * system without RENAME_NOREPLACE (faked below) delivers by link and
 * says so once; one that cannot link either fails at open, with one
 * error naming its type; a killed probe's leftovers are removed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "mm_test.h"
#include "mm_maildir_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The file system faked: 1 renameat2 takes no flags (as NFS, FUSE), 2
 * and linkat fails too (exfat or vfat through FUSE), 3 no ':' in names
 * (vfat); fake_nochown: fchown refused (a file system without owners).
 * These replace the C library's for the core linked into this program. */
static int fake_fs, fake_nochown;
/* fake_tmpfile: 1 no O_TMPFILE (EOPNOTSUPP, as NFS, FUSE, vfat), 2
 * linkat(AT_EMPTY_PATH) refused (ENOENT: no CAP_DAC_READ_SEARCH before
 * Linux 6.10), 3 and /proc/self/fd too (ENOENT: no /proc) */
static int fake_tmpfile;
static unsigned long n_renameat2, n_linkat, n_fchown, n_link_empty, n_link_proc;

int renameat2(int ofd, const char *old, int nfd, const char *new,
	      unsigned int flags)
{
	n_renameat2++;
	if ((fake_fs == 1 || fake_fs == 2) && flags) {
		errno = EINVAL;
		return -1;
	}
	if (fake_fs == 3 && strchr(new, ':')) {
		errno = EINVAL;
		return -1;
	}
	return (int)syscall(SYS_renameat2, ofd, old, nfd, new, flags);
}

int linkat(int ofd, const char *old, int nfd, const char *new, int flags)
{
	n_linkat++;
	if (flags & AT_EMPTY_PATH)
		n_link_empty++;
	if (strncmp(old, "/proc/self/fd/", 14) == 0)
		n_link_proc++;
	if (((flags & AT_EMPTY_PATH) && fake_tmpfile >= 2) ||
	    (strncmp(old, "/proc/self/fd/", 14) == 0 && fake_tmpfile >= 3)) {
		errno = ENOENT;
		return -1;
	}
	if (fake_fs == 2 || (fake_fs == 3 && strchr(new, ':'))) {
		errno = fake_fs == 2 ? EPERM : EINVAL;
		return -1;
	}
	return (int)syscall(SYS_linkat, ofd, old, nfd, new, flags);
}

int openat(int dfd, const char *name, int flags, ...)
{
	unsigned mode = 0;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;

		va_start(ap, flags);
		mode = va_arg(ap, unsigned);
		va_end(ap);
	}
	if (fake_fs == 3 && (flags & O_CREAT) && strchr(name, ':')) {
		errno = EINVAL;
		return -1;
	}
	if (fake_tmpfile == 1 && (flags & O_TMPFILE) == O_TMPFILE) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return (int)syscall(SYS_openat, dfd, name, flags, mode);
}

int fchown(int fd, uid_t uid, gid_t gid)
{
	n_fchown++;
	if (fake_nochown) {
		errno = EPERM;
		return -1;
	}
	return (int)syscall(SYS_fchown, fd, uid, gid);
}

static char top[] = "/tmp/mm_test_lock.XXXXXX";

static int count(const char *md, const char *sub, int dots)
{
	char path[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", md, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    (dots || de->d_name[0] != '.'))
			n++;
	closedir(d);
	return n;
}

static void touch(const char *md, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", md, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	check(fd >= 0, "create", path);
	if (fd >= 0)
		close(fd);
}

static struct mm_maildir *open_md(const char *path, int timeout,
				  int readonly, struct mm_err *err)
{
	struct mm_maildir_opts o;

	memset(&o, 0, sizeof(o));
	o.fsync = MM_FSYNC_NONE;
	o.lock_timeout = timeout;
	o.readonly = readonly;
	return mm_maildir_open(path, &o, err);
}

static int deliver(struct mm_maildir *md, uint64_t hash)
{
	struct mm_err e;

	return mm_maildir_begin(md, 1000000000, hash, 0, 1, 0, &e) < 0 ||
	       mm_maildir_write(md, "x\n", 2, &e) < 0 ||
	       mm_maildir_commit(md, 1000000000, 0, "", &e) < 0 ||
	       mm_maildir_flush(md, &e) < 0 ? -1 : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_two_writers(void)
{
	char md_path[256], msg[512];
	struct mm_maildir *a, *b, *r;
	struct mm_err err;
	double t0;

	snprintf(md_path, sizeof(md_path), "%s/one", top);
	/* a file in tmp/ with a name, which a second writer's cleaning of
	 * tmp/ would remove (an O_TMPFILE has none) */
	setenv("MIGRATEMAIL_NO_TMPFILE", "1", 1);
	a = open_md(md_path, 0, 0, &err);
	unsetenv("MIGRATEMAIL_NO_TMPFILE");
	check(a != NULL, "first writer opens", err.text);
	if (a == NULL)
		return;
	/* a message of a's in the making, as tmp/ holds it */
	check(mm_maildir_begin(a, 1000000000, 7, 0, 1, 0, &err) == 0,
	      "first writer starts a message", err.text);
	check(count(md_path, "tmp", 0) == 1, "its file is in tmp/", md_path);

	b = open_md(md_path, 0, 0, &err);
	check(b == NULL, "second writer refused at once", md_path);
	snprintf(msg, sizeof(msg), "another run is writing into Maildir %s "
		 "(waited 0 s", md_path);
	check(strstr(err.text, msg) != NULL, "the ERROR names the Maildir",
	      err.text);
	check(count(md_path, "tmp", 0) == 1,
	      "the first writer's tmp/ file is untouched", md_path);

	t0 = now();
	b = open_md(md_path, 1, 0, &err);
	check(b == NULL && now() - t0 >= 0.9 && now() - t0 < 5,
	      "with lock_timeout 1: refused after about 1 s", err.text);
	check(strstr(err.text, "waited 1 s") != NULL, "and says so", err.text);

	r = open_md(md_path, 0, 1, &err);
	check(r != NULL, "a reader takes no lock", err.text);
	if (r)
		mm_maildir_close(r, &err);

	mm_maildir_abort(a);
	check(deliver(a, 8) == 0, "the first writer delivers", md_path);
	mm_maildir_close(a, &err);
	b = open_md(md_path, 0, 0, &err);
	check(b != NULL, "after close, the next writer gets the lock", err.text);
	if (b) {
		check(mm_maildir_has(b, mm_maildir_key(8, 0)),
		      "and sees what the first delivered", md_path);
		mm_maildir_close(b, &err);
	}
}

/* A writer in another process, waited for; then killed holding it. */
static void test_other_process(void)
{
	char md_path[256];
	struct mm_maildir *a;
	struct mm_err err;
	int ready[2];
	pid_t pid;
	char c;
	double t0;

	snprintf(md_path, sizeof(md_path), "%s/proc", top);
	check(pipe(ready) == 0, "pipe", NULL);
	pid = fork();
	if (pid == 0) {
		struct mm_maildir *md = open_md(md_path, 0, 0, &err);

		if (write(ready[1], md ? "y" : "n", 1) != 1)
			_exit(1);
		usleep(700 * 1000);
		if (md)
			mm_maildir_close(md, &err);
		pause();  /* holds nothing now; killed below */
		_exit(0);
	}
	check(read(ready[0], &c, 1) == 1 && c == 'y', "child has the lock", NULL);
	t0 = now();
	a = open_md(md_path, 10, 0, &err);
	check(a != NULL && now() - t0 >= 0.5,
	      "a writer waits for the other process's close", err.text);
	if (a)
		mm_maildir_close(a, &err);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);

	pid = fork();
	if (pid == 0) {
		struct mm_maildir *md = open_md(md_path, 0, 0, &err);

		if (write(ready[1], md ? "y" : "n", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	check(read(ready[0], &c, 1) == 1 && c == 'y', "child has the lock", NULL);
	a = open_md(md_path, 0, 0, &err);
	check(a == NULL, "held by a live process: refused", md_path);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	t0 = now();
	a = open_md(md_path, 0, 0, &err);
	check(a != NULL && now() - t0 < 0.5,
	      "holder killed with SIGKILL: the next writer proceeds at once",
	      err.text);
	if (a)
		mm_maildir_close(a, &err);
	close(ready[0]);
	close(ready[1]);
}

/* A Maildir++ folder is a Maildir of its own, with its own lock. */
static void test_folder(void)
{
	char md_path[256];
	struct mm_maildir_opts o;
	struct mm_maildir *top_md, *f1, *f2;
	struct mm_err err;

	snprintf(md_path, sizeof(md_path), "%s/withfolder", top);
	top_md = open_md(md_path, 0, 0, &err);
	check(top_md != NULL, "open the Maildir", err.text);
	if (top_md == NULL)
		return;
	memset(&o, 0, sizeof(o));
	o.fsync = MM_FSYNC_NONE;
	o.at_set = 1;
	o.at_fd = mm_maildir_fd(top_md);
	f1 = mm_maildir_open(".Sent", &o, &err);
	check(f1 != NULL, "its folder opens while the Maildir is locked",
	      err.text);
	f2 = mm_maildir_open(".Sent", &o, &err);
	check(f2 == NULL && strstr(err.text, "another run is writing into "
				   "Maildir .Sent") != NULL,
	      "the folder's own lock keeps a second writer out", err.text);
	if (f1)
		mm_maildir_close(f1, &err);
	mm_maildir_close(top_md, &err);
}

static void test_probe(void)
{
	char md_path[256], fs_paren[80], buf[64], cmd_rm[300];
	int tfd = open(top, O_RDONLY | O_DIRECTORY);
	struct mm_maildir *md;
	struct mm_err err, w;

	snprintf(fs_paren, sizeof(fs_paren), "(%s)",
		 mm_maildir_fs_name(tfd, buf, sizeof(buf)));
	close(tfd);
	/* a killed probe's leftovers (hidden names) go at the next open */
	snprintf(md_path, sizeof(md_path), "%s/probe", top);
	md = open_md(md_path, 0, 0, &err);
	check(md != NULL, "open", err.text);
	check(md && !mm_maildir_warning(md, &w),
	      "RENAME_NOREPLACE works here: no warning", md_path);
	if (md)
		mm_maildir_close(md, &err);
	touch(md_path, "tmp/mmtmp.probe");
	touch(md_path, "new/.mmtmp.probe");
	touch(md_path, "cur/.mmtmp.probe:2,");
	n_renameat2 = n_linkat = n_link_empty = 0;
	/* O_TMPFILE wherever it works, not only where it is faster */
	setenv("MIGRATEMAIL_NO_TMPFILE", "0", 1);
	md = open_md(md_path, 0, 0, &err);
	unsetenv("MIGRATEMAIL_NO_TMPFILE");
	check(md != NULL, "open over a killed probe's files", err.text);
	check(n_renameat2 == 2, "the probe: two no-replace renames", NULL);
	/* and an O_TMPFILE linked (by its descriptor), then again: EEXIST */
	check(md && md->create == MM_CREATE_EMPTY && n_linkat == 2 &&
	      n_link_empty == 2, "then two links of an O_TMPFILE (AT_EMPTY_PATH)",
	      NULL);
	if (md)
		mm_maildir_close(md, &err);
	check(count(md_path, "tmp", 1) == 0 && count(md_path, "new", 1) == 0 &&
	      count(md_path, "cur", 1) == 0, "nothing of the probe is left",
	      md_path);

	/* the ways to link an O_TMPFILE, and none */
	{
		static const struct {
			int fake;
			const char *env;
			enum mm_create want;
			const char *what;
		} cases[] = {
			{ 2, NULL, MM_CREATE_PROC,
			  "AT_EMPTY_PATH refused: /proc/self/fd/N" },
			{ 3, NULL, MM_CREATE_NAMED,
			  "no way to link an O_TMPFILE: named files in tmp/" },
			{ 1, NULL, MM_CREATE_NAMED,
			  "no O_TMPFILE: named files in tmp/" },
			{ 0, "1", MM_CREATE_NAMED,
			  "MIGRATEMAIL_NO_TMPFILE=1: named files in tmp/" },
			{ 0, "0", MM_CREATE_EMPTY,
			  "MIGRATEMAIL_NO_TMPFILE=0: O_TMPFILE" },
			{ 0, "", MM_CREATE_EMPTY + 100,
			  "unset: O_TMPFILE where the file system is one where "
			  "it is faster (ext4, tmpfs)" },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			enum mm_create want = cases[i].want;

			fake_tmpfile = cases[i].fake;
			if (cases[i].env && *cases[i].env == '\0')
				unsetenv("MIGRATEMAIL_NO_TMPFILE");
			else
				setenv("MIGRATEMAIL_NO_TMPFILE",
				       cases[i].env ? cases[i].env : "0", 1);
			md = open_md(md_path, 0, 0, &err);
			unsetenv("MIGRATEMAIL_NO_TMPFILE");
			if (want == MM_CREATE_EMPTY + 100)
				want = md && md->fs_tmpfile ? MM_CREATE_EMPTY
							    : MM_CREATE_NAMED;
			check(md && md->create == want, cases[i].what,
			      err.text);
			n_renameat2 = n_linkat = 0;
			check(md && deliver(md, 100 + i) == 0,
			      "and a message is delivered", err.text);
			check(md && n_linkat == (want != MM_CREATE_NAMED)
			      && n_renameat2 == (want == MM_CREATE_NAMED),
			      want != MM_CREATE_NAMED
			      ? "by a link (no rename)" : "by a rename (no link)",
			      NULL);
			if (md)
				mm_maildir_close(md, &err);
			check(count(md_path, "tmp", 1) == 0 &&
			      count(md_path, "new", 1) == (int)i + 1 &&
			      count(md_path, "cur", 1) == 0,
			      "nothing left in tmp/, nothing hidden in new/",
			      md_path);
		}
		fake_tmpfile = 0;
		/* the messages of these cases out again, for the counts below */
		snprintf(cmd_rm, sizeof(cmd_rm), "rm -f %s/new/*", md_path);
		check(system(cmd_rm) == 0, "rm", cmd_rm);
	}

	/* no RENAME_NOREPLACE: link and unlink, said once */
	fake_fs = 1;
	md = open_md(md_path, 0, 0, &err);
	check(md != NULL, "no RENAME_NOREPLACE: the Maildir opens", err.text);
	if (md) {
		check(mm_maildir_warning(md, &w) == 1 &&
		      w.code == MM_W_FILESYSTEM &&
		      strstr(w.text, "cannot rename without replacing "
			     "(RENAME_NOREPLACE): delivering by hard link") != NULL,
		      "one WARNING says how it delivers", w.text);
		check(!mm_maildir_warning(md, &w), "only once", md_path);
		n_renameat2 = 0;
		check(deliver(md, 1) == 0 && deliver(md, 2) == 0,
		      "messages are delivered by link", md_path);
		check(n_renameat2 == 0, "without trying renameat2 again", NULL);
		mm_maildir_close(md, &err);
		check(count(md_path, "new", 1) == 2 && count(md_path, "tmp", 1) == 0,
		      "both in new/, tmp/ empty", md_path);
	}

	/* neither: one ERROR at open, before any message */
	fake_fs = 2;
	md = open_md(md_path, 0, 0, &err);
	check(md == NULL && strstr(err.text, "cannot take deliveries: cannot "
				   "rename without replacing and cannot "
				   "hard-link") != NULL &&
	      strstr(err.text, md_path) != NULL &&
	      strstr(err.text, fs_paren) != NULL,
	      "no rename, no link: one ERROR naming the Maildir, its file "
	      "system and what it lacks", err.text);
	check(count(md_path, "tmp", 1) == 0 && count(md_path, "new", 1) == 2 &&
	      count(md_path, "cur", 1) == 0, "and nothing left of the probe",
	      md_path);

	/* vfat: moves work, ':' does not */
	fake_fs = 3;
	md = open_md(md_path, 0, 0, &err);
	check(md == NULL && strstr(err.text, "cannot take deliveries: ':' (the "
				   "Maildir info separator) is not allowed in "
				   "file names") != NULL,
	      "no ':' in names: one ERROR saying so", err.text);
	check(count(md_path, "tmp", 1) == 0 && count(md_path, "new", 1) == 2 &&
	      count(md_path, "cur", 1) == 0, "and nothing left of the probe",
	      md_path);
	fake_fs = 0;
}

/* chown only when the owner differs (a file system without owners must
 * take a Maildir that is already right); and when it differs and cannot
 * be set, the probe says so before any message. */
static void test_chown(void)
{
	char md_path[256];
	struct mm_maildir_opts o;
	struct mm_maildir *md;
	struct mm_err err;

	snprintf(md_path, sizeof(md_path), "%s/owned", top);
	memset(&o, 0, sizeof(o));
	o.fsync = MM_FSYNC_NONE;
	o.owner_given = 1;
	o.uid = geteuid();
	o.gid = getegid();
	fake_nochown = 1;
	n_fchown = 0;
	md = mm_maildir_open(md_path, &o, &err);
	check(md != NULL, "a new Maildir for its creator opens without chown",
	      err.text);
	check(n_fchown == 0, "and no fchown was tried", md_path);
	if (md) {
		check(deliver(md, 3) == 0 && n_fchown == 0,
		      "messages too, without fchown", md_path);
		mm_maildir_close(md, &err);
	}
	if (geteuid() == 0) {
		o.uid = 12345;
		o.gid = 12345;
		md = mm_maildir_open(md_path, &o, &err);
		check(md == NULL && strstr(err.text, "cannot give a file to "
					   "uid 12345") != NULL,
		      "root, owner differs, no chown here: ERROR at open",
		      err.text);
		check(count(md_path, "tmp", 1) == 0,
		      "and nothing left in tmp/", md_path);
	}
	fake_nochown = 0;
}

int main(void)
{
	char cmd[300];

	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_two_writers();
	test_other_process();
	test_folder();
	test_probe();
	test_chown();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", top);
	return test_summary();
}
