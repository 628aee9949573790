/* mm_maildir_sync.c - making delivered messages durable and visible:
 * batched syncs, no-replace renames, directory syncs, maildirsize lines
 * (written before the renames they count: see mm_quota.h).
 *
 * In fsync modes batch and each, a full batch is handed to a thread of
 * its own, which syncs the file system (batch; each synced every file
 * when it was committed), renames the batch's files and syncs the
 * directories, while the caller writes the next batch: the wait for the
 * disk overlaps the work of creating files. The thread makes only
 * system calls on its batch; what they did is accounted for by the
 * caller (settle()) when it waits for the thread, before the next
 * hand-off and in mm_maildir_flush(). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	unlinkat(md->tmpfd, p->tmp, 0);
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

/* tmp/NAME -> new/ or cur/, never replacing an existing file (the way
 * mm_maildir_probe() found to work at open), but for a repair. */
static int rename_file(const struct mm_maildir *md, struct mm_pending *p)
{
	int linked;

	if (p->replace) /* a repair: the one rename that may replace */
		return mm_maildir_rename_over(md, p);
	return mm_maildir_move(md->tmpfd, p->tmp,
			       p->in_cur ? md->curfd : md->newfd, p->final,
			       md->link_only, &linked);
}

/* One round trip for the whole batch: syncfs() writes back every file
 * of tmp/'s file system. Where it is missing, fsync each file. */
static int sync_files(const struct mm_maildir *md, const struct mm_batch *b)
{
	if (syncfs(md->tmpfd) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	for (unsigned i = 0; i < b->n; i++) {
		int fd = openat(md->tmpfd, b->p[i].tmp,
				O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0 || fsync(fd) < 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			errno = e;
			return -1;
		}
		close(fd);
	}
	return 0;
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

/* Sync (in mode batch), rename, sync the directories: system calls only,
 * on the batch's own files, so that it may run in a thread. */
static void move_batch(const struct mm_maildir *md, struct mm_batch *b)
{
	int new_dirty = 0, cur_dirty = 0;

	b->sync_errno = b->dirs_errno = 0;
	if (md->opts.fsync == MM_FSYNC_BATCH && sync_files(md, b) < 0) {
		b->sync_errno = errno;
		return;
	}
	for (unsigned i = 0; i < b->n; i++) {
		struct mm_pending *p = &b->p[i];

		p->err = rename_file(md, p) < 0 ? errno : 0;
		if (p->err)
			continue;
		if (p->in_cur)
			cur_dirty = 1;
		else
			new_dirty = 1;
	}
	if (md->opts.fsync != MM_FSYNC_NONE &&
	    ((new_dirty && fsync(md->newfd) < 0) ||
	     (cur_dirty && fsync(md->curfd) < 0)))
		b->dirs_errno = errno;
	else if (md->opts.fsync == MM_FSYNC_EACH && sync_last(md, b) < 0)
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
		md->st.bytes += p->size;
		if (p->in_cur)
			md->st.to_cur++;
		else
			md->st.to_new++;
	}
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
 * durable with the batch's files; otherwise it is synced at the end
 * (a power cut before then is also mended by the recount). */
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
	/* what was lost is taken back; the file is synced (and recounted
	 * when it has grown past the Maildir++ limit) */
	if (md->quota && mm_quota_finish(md->quota, &e3) < 0 &&
	    quota_problem(md, ret < 0 ? &e2 : err_r, &e3) < 0)
		ret = -1;
	return ret;
}
