/* mm_maildir_sync.c - making delivered messages durable and visible:
 * batched syncs, no-replace renames, directory syncs, maildirsize.
 *
 * In fsync mode batch, a full batch is handed to a thread of its own,
 * which syncs the file system, renames the batch's files and syncs the
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

/* tmp/NAME -> new/ or cur/, never replacing an existing file. */
static int rename_file(const struct mm_maildir *md, struct mm_pending *p)
{
	int dirfd = p->in_cur ? md->curfd : md->newfd;
	int r;

	if (p->replace) /* a repair: the one rename that may replace */
		return mm_maildir_rename_over(md, p);
	r = renameat2(md->tmpfd, p->tmp, dirfd, p->final, RENAME_NOREPLACE);

	if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
		/* file systems without RENAME_NOREPLACE: qmail's way */
		r = linkat(md->tmpfd, p->tmp, dirfd, p->final, 0);
		if (r == 0)
			unlinkat(md->tmpfd, p->tmp, 0);
	}
	return r;
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
		md->quota_bytes += p->size;
		md->quota_count++;
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

/* Maildir++ quota: when maildirsize exists, add a line for what came. */
static int update_quota(struct mm_maildir *md, struct mm_err *err_r)
{
	char line[64];
	int fd, len;

	if (md->quota_count == 0)
		return 0;
	fd = openat(md->dfd, "maildirsize",
		    O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		md->quota_bytes = md->quota_count = 0;
		if (e == ENOENT)
			return 0;
		return problem(md, err_r, e, "cannot update %s: %s",
			       "maildirsize");
	}
	len = snprintf(line, sizeof(line), "%llu %lu\n",
		       (unsigned long long)md->quota_bytes, md->quota_count);
	if (write(fd, line, (size_t)len) != len ||
	    (md->opts.fsync != MM_FSYNC_NONE && fsync(fd) < 0)) {
		int e = errno;
		close(fd);
		md->quota_bytes = md->quota_count = 0;
		return problem(md, err_r, e, "cannot update %s: %s",
			       "maildirsize");
	}
	close(fd);
	md->quota_bytes = md->quota_count = 0;
	return 0;
}


int mm_maildir_publish(struct mm_maildir *md, struct mm_err *err_r)
{
	struct mm_batch *b = &md->flight;
	struct mm_pending *spare;
	struct mm_err e2;
	int ret;

	ret = mm_maildir_land(md, err_r);
	if (md->npend == 0)
		goto quota;
	/* the batch written becomes the one in flight */
	spare = b->p;
	b->p = md->pend;
	b->n = md->npend;
	md->pend = spare;
	md->npend = 0;
	md->pend_bytes = 0;
	if (md->opts.fsync == MM_FSYNC_BATCH) {
		md->st.batches++;
		if (take_off(md) == 0)
			goto quota;
	}
	move_batch(md, b);
	if (settle(md, b, ret < 0 ? &e2 : err_r) < 0)
		ret = -1;
quota:
	if (md->quota_count >= md->opts.batch_max &&
	    update_quota(md, ret < 0 ? &e2 : err_r) < 0)
		ret = -1;
	return ret;
}

int mm_maildir_flush(struct mm_maildir *md, struct mm_err *err_r)
{
	struct mm_err e2;
	int ret = mm_maildir_publish(md, err_r);

	if (mm_maildir_land(md, ret < 0 ? &e2 : err_r) < 0)
		ret = -1;
	if (update_quota(md, ret < 0 ? &e2 : err_r) < 0)
		ret = -1;
	return ret;
}
