/* mm_maildir_sync.c - making delivered messages durable and visible:
 * batched syncs, no-replace links and renames, directory syncs,
 * maildirsize lines (written before the links they count: see
 * mm_quota.h).
 *
 * In fsync modes batch and each, a full batch is handed to a thread of
 * its own, which syncs it (batch: syncfs(), or each file when much else
 * is dirty; each synced every file when it was committed), links its
 * O_TMPFILEs (or renames its files in tmp/) into new/ and cur/ and syncs
 * the directories, while the caller writes the next batch: the wait for
 * the disk overlaps the work of creating files. The thread makes only
 * system calls on its batch (and closes its descriptors); what they did
 * is accounted for by the caller (settle()) when it waits for the
 * thread, before the next hand-off and in mm_maildir_flush(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_fs.h"
#include "mm_maildir_int.h"

/* A trouble of the Maildir, not of one message (msgno 0). */
static int problem(struct mm_maildir *md, struct mm_err *err_r, int e,
		   const char *fmt, const char *what)
{
	struct mm_err tmp;

	mm_err_set(err_r ? err_r : &tmp, MM_E_IO, e, 0, 0, fmt, what,
		   strerror(e));
	if (md->nfail < MM_FAIL_CAP(md))
		md->fail[md->nfail++] = err_r ? *err_r : tmp;
	return -1;
}

void mm_maildir_lost(struct mm_maildir *md, struct mm_pending *p, int e,
		     const char *what, const char *to)
{
	/* an O_TMPFILE has no name: it goes with its descriptor */
	if (!p->anon)
		unlinkat(md->tmpfd, p->tmp, 0);
	else if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	if (md->nfail >= MM_FAIL_CAP(md))
		return; /* the caller did not drain; never happens in mm_convert */
	mm_err_set(&md->fail[md->nfail++], MM_E_IO, e, p->msgno, p->offset,
		   "%s tmp/%s%s: %s", what, p->tmp, to ? to : "", strerror(e));
}

int mm_maildir_failure(struct mm_maildir *md, struct mm_err *e_r)
{
	if (md->fail_head == md->nfail) {
		md->fail_head = md->nfail = 0;
		return 0;
	}
	*e_r = md->fail[md->fail_head++];
	return 1;
}

int mm_maildir_move(int fromfd, const char *from, int tofd, const char *to,
		    int link_only, int *linked_r)
{
	int r = link_only ? -1 : renameat2(fromfd, from, tofd, to,
					   RENAME_NOREPLACE);

	*linked_r = 0;
	if (link_only || (r < 0 && (errno == EINVAL || errno == ENOSYS))) {
		/* file systems without RENAME_NOREPLACE: qmail's way */
		r = linkat(fromfd, from, tofd, to, 0);
		*linked_r = r == 0 ? 1 : -1;
		if (r == 0)
			unlinkat(fromfd, from, 0);
	}
	return r;
}

int mm_maildir_link_fd(enum mm_create how, int fd, int dirfd,
		       const char *name)
{
	char proc[32];

	/* linkat() never replaces a name: EEXIST when it is taken, by a
	 * file, a symlink (not followed) or a directory */
	if (how == MM_CREATE_EMPTY)
		return linkat(fd, "", dirfd, name, AT_EMPTY_PATH);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW);
}

/* Into new/ or cur/, never replacing an existing file, but for a
 * repair: an O_TMPFILE linked by its descriptor (then closed), or
 * tmp/NAME moved the way mm_maildir_probe() found to work at open. */
static int place_file(const struct mm_maildir *md, struct mm_pending *p)
{
	int dirfd = p->in_cur ? md->curfd : md->newfd;
	int linked, r, e;

	if (p->replace) /* a repair: the one rename that may replace */
		return mm_maildir_rename_over(md, p);
	if (!p->anon)
		return mm_maildir_move(md->tmpfd, p->tmp, dirfd, p->final,
				       md->link_only, &linked);
	r = mm_maildir_link_fd(md->create, p->fd, dirfd, p->final);
	e = errno;
	/* durable already (synced before): a late error of close() is
	 * no news about its bytes */
	close(p->fd);
	p->fd = -1;
	errno = e;
	return r;
}

/* fsync one file of the batch: by its descriptor (an O_TMPFILE), else
 * opened by its name in tmp/ (never blocking on a FIFO the Maildir's
 * owner put there: what is not a regular file is not ours to sync, and
 * the rename moves it into her new/, as it would have anyway). 0 or -1
 * (errno). */
static int sync_one(const struct mm_maildir *md, const struct mm_pending *p)
{
	int fd = p->anon ? p->fd
			 : openat(md->tmpfd, p->tmp,
				  O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
				  O_NOCTTY | O_CLOEXEC);
	struct stat st;
	int r, e;

	if (fd < 0)
		return -1;
	if (!p->anon && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return 0;
	}
	r = fsync(fd);
	e = errno;
	if (!p->anon)
		close(fd);
	errno = e;
	return r;
}

/* The files of one batch fsynced by a few threads at once: each fsync
 * of a file whose journal commit is already done still flushes the
 * disk's cache, and flushes asked for while one is under way are
 * merged into the next. */
struct sync_work {
	const struct mm_maildir *md;
	const struct mm_batch *b;
	unsigned next;          /* the next file to take (atomic) */
	int err;                /* the first errno (atomic), 0 */
};

static void *sync_worker(void *arg)
{
	struct sync_work *w = arg;
	unsigned i;

	while ((i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED)) <
	       w->b->n) {
		int zero = 0;

		if (sync_one(w->md, &w->b->p[i]) < 0)
			__atomic_compare_exchange_n(&w->err, &zero, errno, 0,
						    __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED);
	}
	return NULL;
}

/* Every file of the batch fsynced, and nothing else: writeback of all
 * of them started first (sync_file_range), then the fsyncs from up to
 * MM_SYNC_THREADS threads (this one among them). 0 or -1 (errno). */
static int sync_each_file(const struct mm_maildir *md,
			  const struct mm_batch *b)
{
	struct sync_work w = { md, b, 0, 0 };
	pthread_t th[MM_SYNC_THREADS - 1];
	unsigned k = 0, want = b->n / 8 + 1;

	for (unsigned i = 0; i < b->n; i++)
		if (b->p[i].anon)
			sync_file_range(b->p[i].fd, 0, 0,
					SYNC_FILE_RANGE_WRITE);
	if (want > MM_SYNC_THREADS)
		want = MM_SYNC_THREADS;
	while (k + 1 < want) {
		pthread_attr_t attr;
		int r;

		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		r = pthread_create(&th[k], &attr, sync_worker, &w);
		pthread_attr_destroy(&attr);
		if (r != 0)
			break; /* fewer helpers, the same work */
		k++;
	}
	sync_worker(&w);
	while (k > 0)
		pthread_join(th[--k], NULL);
	if (w.err) {
		errno = w.err;
		return -1;
	}
	return 0;
}

/* The number in the file path, or 0. */
static uint64_t read_number(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

/* syncfs() or an fsync of each file? syncfs() is one round trip for the
 * whole batch (and its maildirsize line), but it writes back every dirty
 * file of the file system, other processes' too. On ext4, which says how
 * much of it is dirty (its blocks waiting for delayed allocation), each
 * file is synced instead when that is MM_SYNC_FOREIGN more than this
 * batch and the next hold. Elsewhere the kernel does not say (only the
 * whole system's dirty page cache, other file systems' too), and on xfs
 * an fsync of each small file cost more than a syncfs() that waited for
 * another GB: syncfs() there. MIGRATEMAIL_SYNC=syncfs|files (read at
 * open: md->sync_how) makes either the rule, for tests and benchmarks. */
static int by_file(const struct mm_maildir *md, const struct mm_batch *b)
{
	uint64_t mine = 0;

	if (md->sync_how != MM_SYNC_AUTO)
		return md->sync_how == MM_SYNC_FILES;
	if (md->dirty_path[0] == '\0')
		return 0;
	for (unsigned i = 0; i < b->n; i++)
		mine += b->p[i].size;
	return read_number(md->dirty_path) * md->fs_bsize >
	       2 * mine + MM_SYNC_FOREIGN;
}

/* Make the batch's files durable: syncfs() of tmp/'s file system (the
 * unnamed O_TMPFILEs too), or each file (by_file(), and where syncfs()
 * is missing). b->by_file says which. 0 or -1 (errno). */
static int sync_files(const struct mm_maildir *md, struct mm_batch *b)
{
	b->by_file = by_file(md, b);
	if (!b->by_file) {
		if (syncfs(md->tmpfd) == 0)
			return 0;
		if (errno != ENOSYS)
			return -1;
		b->by_file = 1;
	}
	return sync_each_file(md, b);
}

/* Mode each, after the renames and the directory syncs: fsync the last
 * file moved, by its new name. A FUSE daemon that does not implement
 * fsyncdir has its directory fsyncs dropped by the kernel (they return
 * 0); the file's fsync reaches the daemon, and on a journalling file
 * system below (ext4, xfs) it commits the renames before it too. 0 or
 * -1 (errno); nothing of ours left to sync (a reader took the files
 * already) is 0. */
static int sync_last(const struct mm_maildir *md, const struct mm_batch *b)
{
	for (unsigned i = b->n; i-- > 0;) {
		const struct mm_pending *p = &b->p[i];
		struct mm_err err;
		int fd, e;

		if (p->err)
			continue;
		/* a server may have hard-linked it already: links are ok */
		fd = mm_fs_open_at(p->in_cur ? md->curfd : md->newfd, p->final,
				   MM_FS_FILE, 1, NULL, &err);
		if (fd < 0) {
			if (err.sys_errno == ENOENT)
				continue;
			errno = err.sys_errno ? err.sys_errno : EIO;
			return -1;
		}
		e = fsync(fd) < 0 ? errno : 0;
		close(fd);
		errno = e;
		return e ? -1 : 0;
	}
	return 0;
}

/* fsync new/ and cur/ as dirs says (MM_DIR_*). 0 or -1 (errno). */
static int sync_dirs(const struct mm_maildir *md, unsigned dirs)
{
	return ((dirs & MM_DIR_NEW) && fsync(md->newfd) < 0) ||
	       ((dirs & MM_DIR_CUR) && fsync(md->curfd) < 0) ? -1 : 0;
}

/* Sync (in mode batch), link or rename, sync the directories: system
 * calls only, on the batch's own files, so that it may run in a thread.
 *
 * In mode batch the directories are not synced after the batch's links:
 * the next batch's syncfs() commits them with its files (one journal
 * commit fewer a batch), and mm_maildir_flush() syncs what the last
 * batch made, before the run reports anything. The entries of earlier
 * batches (md->dirs_owed) are made durable here: by the syncfs(), or,
 * when the files were synced one by one (which promises nothing about
 * the directories), by fsyncs of their own. */
static void move_batch(const struct mm_maildir *md, struct mm_batch *b)
{
	b->sync_errno = b->dirs_errno = 0;
	b->dirs_made = b->dirs_done = 0;
	if (md->opts.fsync == MM_FSYNC_BATCH) {
		if (sync_files(md, b) < 0) {
			b->sync_errno = errno;
			return;
		}
		if (b->by_file && sync_dirs(md, md->dirs_owed) < 0)
			b->dirs_errno = errno;
		else
			b->dirs_done = md->dirs_owed;
	}
	for (unsigned i = 0; i < b->n; i++) {
		struct mm_pending *p = &b->p[i];

		p->err = place_file(md, p) < 0 ? errno : 0;
		if (p->err)
			continue;
		b->dirs_made |= p->in_cur ? MM_DIR_CUR : MM_DIR_NEW;
	}
	if (md->opts.fsync == MM_FSYNC_EACH &&
	    (sync_dirs(md, b->dirs_made) < 0 || sync_last(md, b) < 0))
		b->dirs_errno = errno;
}

/* The thread reads only md's descriptors and options, which do not
 * change while it runs, and writes only md->flight. */
static void *fly(void *arg)
{
	struct mm_maildir *md = arg;

	move_batch(md, &md->flight);
	return NULL;
}

/* Start md->flight's thread; 0, or -1 when there is none (do it in the
 * caller). */
static int take_off(struct mm_maildir *md)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int r;

	/* signals stay with the caller (Perl's handlers run there) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	r = pthread_create(&md->flight.thread, &attr, fly, md);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -1;
	md->flight.running = 1;
	return 0;
}

/* The accounts of a moved batch: what was delivered, what was lost (its
 * tmp/ file removed). err_r gets the first failure. */
static int settle(struct mm_maildir *md, struct mm_batch *b,
		  struct mm_err *err_r)
{
	unsigned first = md->nfail;
	int ret = 0;

	for (unsigned i = 0; i < b->n; i++) {
		struct mm_pending *p = &b->p[i];

		if (p->replace) {
			if (mm_maildir_settle_repair(md, b->sync_errno, p) < 0)
				ret = -1;
			continue;
		}
		if (b->sync_errno || p->err) {
			/* maildirsize counted it before the rename */
			mm_quota_note(md->quota, p->final, p->size, -1);
			/* not durable: nothing of it may become visible */
			if (b->sync_errno)
				mm_maildir_lost(md, p, b->sync_errno,
						"cannot sync", NULL);
			else
				mm_maildir_lost(md, p, p->err, "cannot move",
						p->in_cur ? " to cur/" : " to new/");
			ret = -1;
			continue;
		}
		mm_keyset_add(&md->present, p->key);
		md->st.delivered++;
		if (p->anon)
			md->st.linked++;
		md->st.bytes += p->size;
		if (p->in_cur)
			md->st.to_cur++;
		else
			md->st.to_new++;
	}
	if (b->by_file)
		md->st.batches_by_file++;
	b->by_file = 0;
	/* what it synced of earlier batches' entries, what it owes */
	md->dirs_owed &= ~b->dirs_done;
	if (md->opts.fsync == MM_FSYNC_BATCH)
		md->dirs_owed |= b->dirs_made;
	b->dirs_made = b->dirs_done = 0;
	b->n = 0;
	if (b->dirs_errno) {
		problem(md, NULL, b->dirs_errno, "cannot sync %s: %s",
			"the Maildir");
		ret = -1;
	}
	if (ret < 0 && err_r && md->nfail > first)
		*err_r = md->fail[first];
	return ret;
}

int mm_maildir_land(struct mm_maildir *md, struct mm_err *err_r)
{
	struct mm_batch *b = &md->flight;

	if (b->running) {
		pthread_join(b->thread, NULL);
		b->running = 0;
	}
	return b->n > 0 ? settle(md, b, err_r) : 0;
}

/* A maildirsize trouble: reported (msgno 0), never a reason to stop. */
static int quota_problem(struct mm_maildir *md, struct mm_err *err_r,
			 const struct mm_err *e)
{
	if (err_r)
		*err_r = *e;
	if (md->nfail < MM_FAIL_CAP(md))
		md->fail[md->nfail++] = *e;
	return -1;
}

void mm_maildir_quota_open(struct mm_maildir *md)
{
	struct mm_quota_opts qo;
	struct mm_err e;

	qo.chown = md->chown;
	qo.uid = md->uid;
	qo.gid = md->gid;
	qo.sync = md->opts.fsync != MM_FSYNC_NONE;
	if (mm_quota_open(md->dfd, &qo, &md->quota, &e) < 0)
		quota_problem(md, NULL, &e);
}

/* Maildir++ quota, before a batch becomes visible: its line goes into
 * maildirsize first, so that a kill between the two leaves the file
 * high (by this batch), never low; the next run's recount mends it
 * (mm_quota.h). In fsync mode batch the thread's syncfs() makes the line
 * durable with the batch's files; otherwise (and when a batch is synced
 * file by file) it is synced at the end (a power cut before then is also
 * mended by the recount). */
static int quota_before(struct mm_maildir *md, const struct mm_batch *b,
			struct mm_err *err_r)
{
	struct mm_err e;

	if (md->quota == NULL)
		return 0;
	for (unsigned i = 0; i < b->n; i++)
		mm_quota_note(md->quota, b->p[i].final, b->p[i].size, 1);
	return mm_quota_write(md->quota, &e) < 0 ? quota_problem(md, err_r, &e)
						 : 0;
}

int mm_maildir_publish(struct mm_maildir *md, struct mm_err *err_r)
{
	struct mm_batch *b = &md->flight;
	struct mm_pending *spare;
	struct mm_err e2;
	int ret;

	ret = mm_maildir_land(md, err_r);
	if (md->npend == 0)
		return ret;
	/* the batch written becomes the one in flight */
	spare = b->p;
	b->p = md->pend;
	b->n = md->npend;
	md->pend = spare;
	md->npend = 0;
	md->pend_bytes = 0;
	if (quota_before(md, b, ret < 0 ? &e2 : err_r) < 0)
		ret = -1;
	if (md->opts.fsync != MM_FSYNC_NONE) {
		md->st.batches++;
		if (take_off(md) == 0)
			return ret;
	}
	move_batch(md, b);
	if (settle(md, b, ret < 0 ? &e2 : err_r) < 0)
		ret = -1;
	return ret;
}

int mm_maildir_flush(struct mm_maildir *md, struct mm_err *err_r)
{
	struct mm_err e2, e3;
	int ret = mm_maildir_publish(md, err_r);

	if (mm_maildir_land(md, ret < 0 ? &e2 : err_r) < 0)
		ret = -1;
	/* the entries of the last batch (mode batch): durable now, before
	 * anything says they are there */
	if (md->dirs_owed) {
		if (sync_dirs(md, md->dirs_owed) < 0) {
			problem(md, ret < 0 ? &e2 : err_r, errno,
				"cannot sync %s: %s", "the Maildir");
			ret = -1;
		}
		md->dirs_owed = 0;
	}
	/* what was lost is taken back; the file is synced (and recounted
	 * when it has grown past the Maildir++ limit) */
	if (md->quota && mm_quota_finish(md->quota, &e3) < 0 &&
	    quota_problem(md, ret < 0 ? &e2 : err_r, &e3) < 0)
		ret = -1;
	return ret;
}
