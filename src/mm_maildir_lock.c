/* mm_maildir_lock.c - one writer per Maildir, and the check at open
 * that the target can take the delivery protocol at all.
 *
 * The lock. Two writers in one Maildir destroy each other's work: the
 * one that starts removes "our leftovers" from tmp/, which are the
 * other's messages in the making. So a writer holds an exclusive lock
 * from mm_maildir_open() to mm_maildir_close()/_discard(), taken before
 * tmp/ is cleaned; a second writer waits for it (opts.lock_timeout) or
 * fails with an ERROR naming the Maildir, having touched nothing.
 *
 * The mechanism is flock(2) on the Maildir's own directory descriptor,
 * the one we hold for the run anyway:
 *  - nothing is created in a directory the user can write (no lock file
 *    to plant a symlink, FIFO or hard link at, none left behind);
 *  - the kernel releases it when the process dies, however it dies
 *    (kill -9 included): no stale lock, no pid files, no guessing;
 *  - flock locks belong to the open file description: every
 *    mm_maildir_open() opens its own descriptor, so forked batch
 *    workers (and two opens in one process) exclude each other, which
 *    fcntl's per-process locks would not do.
 * Where that lock would not be seen by other hosts it is not enough:
 * Linux's NFS and CIFS clients implement flock() (emulated with
 * byte-range locks on the server) for regular files only; on a
 * directory it stays a local lock, and two hosts of a cluster would
 * both get it. There (the statfs() type says NFS or SMB) the lock is an
 * fcntl lock (open file description locks, F_OFD_SETLK, where the
 * kernel has them) on the file "migratemail.lock" in the Maildir,
 * created (O_EXCL, owned by the Maildir's owner) when missing and kept:
 * NLM and NFSv4 carry that one to the server.
 *
 * The Maildir's owner can take the same lock on their own directory
 * and keep us out: we then wait lock_timeout seconds and fail with an
 * ERROR; nothing of theirs is touched. That is the right outcome for a
 * Maildir someone else is writing. Read-only opens (verification) take
 * no lock: writers never replace or remove a visible message, so a
 * reader sees each one whole or not at all.
 *
 * The probe. Where the file system cannot rename without replacing,
 * cannot hard-link either, or forbids ':' in names (vfat and exfat, and
 * both through FUSE), every message would fail, one batch at a time.
 * mm_maildir_probe() finds out at open, under the lock, with a few
 * system calls on one empty file of ours: created in tmp/ (a name that
 * the cleaning of tmp/ removes), moved into new/ with the writer's own
 * no-replace move, moved on into cur/ under a name with ":2,", and
 * removed. Outside tmp/ its names start with '.', which Maildir readers
 * skip, and a leftover of a killed run is removed by the next open.
 * Then, where messages can be made unnamed (probe_tmpfile()), one empty
 * O_TMPFILE of tmp/ is given to the owner, linked into new/, linked
 * there again to see EEXIST, and removed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "mm_fs.h"
#include "mm_fstype.h"
#include "mm_maildir_int.h"

#define LOCK_FILE "migratemail.lock"   /* only on NFS and SMB */
#define PROBE_TMP MM_TMP_PREFIX "probe" /* clean_tmp() removes it */
#define PROBE_NEW ".mmtmp.probe"
#define PROBE_CUR ".mmtmp.probe:2,"

/* The file system of fd, by name (mm_fstype.c); *remote_r (if not
 * NULL): whether flock() on a directory there is a lock of this host
 * only. */
static const char *fs_name(int fd, char *buf, size_t len, int *remote_r)
{
	struct mm_fstype t;

	mm_fstype_of(fd, &t);
	if (remote_r)
		*remote_r = t.remote;
	if (t.magic == 0)
		snprintf(buf, len, "unknown file system");
	else if (strcmp(t.name, "unknown") == 0)
		snprintf(buf, len, "file system type 0x%lx", t.magic);
	else
		return t.name;
	return buf;
}

const char *mm_maildir_fs_name(int fd, char *buf, size_t len)
{
	return fs_name(fd, buf, len, NULL);
}

static void nap(unsigned *ms)
{
	struct timespec ts = { 0, (long)*ms * 1000 * 1000 };

	nanosleep(&ts, NULL);
	if (*ms < 200)
		*ms *= 2;
}

/* Seconds since an earlier call (a clock that never jumps). */
static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One try at the lock on fd: 0 got it, 1 someone holds it, -1 error. */
static int try_lock(int fd, int use_fcntl)
{
	struct flock fl;

	if (!use_fcntl) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		return errno == EWOULDBLOCK || errno == EINTR ? 1 : -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
#ifdef F_OFD_SETLK
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno != EINVAL)
		return errno == EACCES || errno == EAGAIN || errno == EINTR
			       ? 1 : -1;
	/* a kernel before 3.15: a per-process lock, the same for us
	 * (only this descriptor ever opens the file in this process) */
#endif
	if (fcntl(fd, F_SETLK, &fl) == 0)
		return 0;
	return errno == EACCES || errno == EAGAIN || errno == EINTR ? 1 : -1;
}

/* The lock file of a Maildir on NFS or SMB: ours, or made now. */
static int open_lock_file(struct mm_maildir *md, struct mm_err *err_r)
{
	struct mm_fs_owner own = { md->chown, md->uid, md->gid };
	struct stat st;
	int fd;

	fd = mm_fs_create_at(md->dfd, LOCK_FILE, 0600, O_RDWR, &own, err_r);
	if (fd >= 0 || err_r->sys_errno != EEXIST)
		return fd;
	/* never through a symlink, never blocking on a FIFO; a hard link
	 * does no harm: the file is only locked, never written */
	fd = openat(md->dfd, LOCK_FILE,
		    O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
				  "cannot open %s: %s", LOCK_FILE,
				  strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mm_err_set(err_r, MM_E_USAGE, EINVAL, 0, 0,
				  "%s is not a regular file: refused",
				  LOCK_FILE);
	}
	return fd;
}

int mm_maildir_lock(struct mm_maildir *md, const char *path,
		    struct mm_err *err_r)
{
	char buf[64];
	const char *fs;
	int remote, fd = md->dfd, r;
	unsigned ms = 10;
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);

	fs = fs_name(md->dfd, buf, sizeof(buf), &remote);
	if (remote) {
		struct mm_err e;

		if ((fd = open_lock_file(md, &e)) < 0)
			return mm_err_set(err_r, e.code, e.sys_errno, 0, 0,
					  "cannot lock Maildir %s (%s): %s",
					  path, fs, e.text);
		md->lockfd = fd;
	}
	while ((r = try_lock(fd, remote)) == 1) {
		double waited = since(&start);

		if (md->opts.lock_timeout >= 0 &&
		    waited >= md->opts.lock_timeout)
			return mm_err_set(err_r, MM_E_IO, EWOULDBLOCK, 0, 0,
					  "another run is writing into Maildir "
					  "%s (waited %d s for its lock; see "
					  "--lock-timeout)", path, (int)waited);
		nap(&ms);
	}
	if (r < 0)
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
				  "cannot lock Maildir %s (%s): %s", path, fs,
				  strerror(errno));
	return 0;
}

void mm_maildir_unlock(struct mm_maildir *md)
{
	/* flock on md->dfd goes with its close (mm_maildir_discard) */
	if (md->lockfd >= 0)
		close(md->lockfd);
	md->lockfd = -1;
}

/* The one ERROR of a failed probe: the Maildir, its file system, what
 * it lacks. */
static int cannot(struct mm_maildir *md, const char *path, int e,
		  struct mm_err *err_r, const char *what)
{
	char buf[64];

	return mm_err_set(err_r, MM_E_IO, e, 0, 0,
			  "Maildir %s (%s) cannot take deliveries: %s: %s",
			  path, mm_maildir_fs_name(md->dfd, buf, sizeof(buf)),
			  what, strerror(e));
}

/* Is ':' refused in names here (vfat, exfat; each says it with another
 * errno: EINVAL, ENOENT through exfat-fuse, EPERM through fusefat)?
 * Tried with a new empty file in tmp/, where one without ':' was just
 * created. */
static int colon_refused(struct mm_maildir *md)
{
	struct mm_err e;
	int fd = mm_fs_create_at(md->tmpfd, PROBE_TMP ":2,", 0600, O_WRONLY,
				 NULL, &e);

	if (fd < 0)
		return e.sys_errno != EEXIST;
	close(fd);
	unlinkat(md->tmpfd, PROBE_TMP ":2,", 0);
	return 0;
}

#define NO_COLON "':' (the Maildir info separator) is not allowed in file names"
#define NO_MOVE "cannot rename without replacing and cannot hard-link"

/* Descriptors this process has open now (what /proc/self/fd lists,
 * less the listing's own); 64 when it cannot be told. */
static unsigned fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned n = 0;

	if (d == NULL)
		return 64;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;
}

/* Messages one batch may hold open (O_TMPFILE), by RLIMIT_NOFILE: what
 * is left after the descriptors open now and MM_FD_SPARE, halved (the
 * batch in flight and the one being written), at most batch_max. */
static unsigned fd_batch_cap(const struct mm_maildir *md)
{
	struct rlimit rl;
	unsigned long left, used;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur == RLIM_INFINITY)
		return md->opts.batch_max;
	used = fds_open() + MM_FD_SPARE;
	left = rl.rlim_cur > used ? (unsigned long)(rl.rlim_cur - used) / 2 : 0;
	return left < md->opts.batch_max ? (unsigned)left : md->opts.batch_max;
}

/* Can messages be made as O_TMPFILEs of tmp/, linked into new/ and cur/
 * by their descriptors after the batch's sync (nothing in tmp/ with a
 * name, nothing left there by a crash)? Only in modes batch and none
 * (each fsyncs and renames files by name, for file systems that are
 * told about renames only: FUSE, NFS), where renames do not replace
 * (else this file system is not one to try it on), and with
 * descriptors to spare. One empty file: created, given to the owner,
 * linked (AT_EMPTY_PATH, which needs CAP_DAC_READ_SEARCH before Linux
 * 6.10, else /proc/self/fd/N), linked once more to see EEXIST, removed.
 * Only where the file system is one where that is faster (the table of
 * mm_fstype.c: ext4, tmpfs), or MIGRATEMAIL_NO_TMPFILE=0 says so.
 * Sets md->create and md->batch_cap; a failure is not an error (the
 * messages go through named files in tmp/, as without O_TMPFILE). */
static void probe_tmpfile(struct mm_maildir *md)
{
	static const enum mm_create ways[] = { MM_CREATE_EMPTY,
					       MM_CREATE_PROC };
	const char *no = getenv("MIGRATEMAIL_NO_TMPFILE");
	unsigned cap = md->opts.batch_max;
	int fd;

	md->create = MM_CREATE_NAMED;
	/* MIGRATEMAIL_NO_TMPFILE (for tests): 1 never, 0 wherever it
	 * works; unset, where it is faster (mm_fstype.h) */
	if (no != NULL && *no != '\0' ? strcmp(no, "0") != 0
				       : !md->fs_tmpfile)
		return;
	if (md->link_only ||
	    (md->opts.fsync != MM_FSYNC_BATCH &&
	     md->opts.fsync != MM_FSYNC_NONE))
		return;
	/* mode none links each message as it is committed: one open */
	if (md->opts.fsync == MM_FSYNC_BATCH &&
	    (cap = fd_batch_cap(md)) < MM_FD_MIN && cap < md->opts.batch_max)
		return;
	fd = openat(md->tmpfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) /* EOPNOTSUPP, EISDIR (before Linux 3.11), EINVAL... */
		return;
	if (md->chown && fchown(fd, md->uid, md->gid) < 0) {
		close(fd);
		return;
	}
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		if (mm_maildir_link_fd(ways[i], fd, md->newfd, PROBE_NEW) < 0)
			continue;
		if (mm_maildir_link_fd(ways[i], fd, md->newfd, PROBE_NEW) < 0 &&
		    errno == EEXIST) {
			md->create = ways[i];
			md->batch_cap = cap;
		}
		break;
	}
	unlinkat(md->newfd, PROBE_NEW, 0);
	close(fd);
}

int mm_maildir_probe(struct mm_maildir *md, const char *path,
		     struct mm_err *err_r)
{
	struct mm_err e;
	int fd, linked = 0;

	/* a run killed in the middle of its probe */
	unlinkat(md->newfd, PROBE_NEW, 0);
	unlinkat(md->curfd, PROBE_CUR, 0);
	fd = mm_fs_create_at(md->tmpfd, PROBE_TMP, 0600, O_WRONLY, NULL, &e);
	if (fd < 0)
		return cannot(md, path, e.sys_errno, err_r,
			      "cannot create a file in tmp/");
	/* what every message needs when run as root */
	if (md->chown && fchown(fd, md->uid, md->gid) < 0) {
		int en = errno;
		char what[80];

		close(fd);
		unlinkat(md->tmpfd, PROBE_TMP, 0);
		snprintf(what, sizeof(what), "cannot give a file to uid %lu",
			 (unsigned long)md->uid);
		return cannot(md, path, en, err_r, what);
	}
	close(fd);
	if (mm_maildir_move(md->tmpfd, PROBE_TMP, md->newfd, PROBE_NEW,
			    0, &linked) < 0) {
		int en = errno;

		unlinkat(md->tmpfd, PROBE_TMP, 0);
		if (linked < 0)
			return cannot(md, path, en, err_r, colon_refused(md)
				      ? NO_MOVE ", and " NO_COLON : NO_MOVE);
		return cannot(md, path, en, err_r,
			      "cannot move a file from tmp/ into new/");
	}
	if (linked > 0) {
		char buf[64];

		md->link_only = 1;
		mm_err_set(&md->warning, MM_W_FILESYSTEM, EINVAL, 0, 0,
			   "Maildir %s (%s) cannot rename without replacing "
			   "(RENAME_NOREPLACE): delivering by hard link and "
			   "unlink instead, as qmail does", path,
			   mm_maildir_fs_name(md->dfd, buf, sizeof(buf)));
		md->has_warning = 1;
	}
	if (mm_maildir_move(md->newfd, PROBE_NEW, md->curfd, PROBE_CUR,
			    md->link_only, &linked) < 0) {
		int en = errno;

		unlinkat(md->newfd, PROBE_NEW, 0);
		if (colon_refused(md))
			return cannot(md, path, en, err_r, NO_COLON);
		return cannot(md, path, en, err_r, linked < 0 ? NO_MOVE
			      : "cannot move a file from new/ into cur/");
	}
	if (unlinkat(md->curfd, PROBE_CUR, 0) < 0)
		return cannot(md, path, errno, err_r,
			      "cannot remove a file from cur/");
	probe_tmpfile(md);
	return 0;
}
