/* mm_maildir_sync.c - making delivered messages durable and visible:
 * batched syncs, no-replace renames, directory syncs, maildirsize. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
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
	if (md->nfail < md->opts.batch_max + MM_FAIL_SPARE)
		md->fail[md->nfail++] = err_r ? *err_r : tmp;
	return -1;
}

void mm_maildir_lost(struct mm_maildir *md, struct mm_pending *p, int e,
		     const char *what, const char *to)
{
	unlinkat(md->tmpfd, p->tmp, 0);
	if (md->nfail >= md->opts.batch_max + MM_FAIL_SPARE)
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
static int rename_one(struct mm_maildir *md, struct mm_pending *p)
{
	int dirfd = p->in_cur ? md->curfd : md->newfd;
	int r = renameat2(md->tmpfd, p->tmp, dirfd, p->final, RENAME_NOREPLACE);

	if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
		/* file systems without RENAME_NOREPLACE: qmail's way */
		r = linkat(md->tmpfd, p->tmp, dirfd, p->final, 0);
		if (r == 0)
			unlinkat(md->tmpfd, p->tmp, 0);
	}
	if (r < 0) {
		mm_maildir_lost(md, p, errno, "cannot move",
				p->in_cur ? " to cur/" : " to new/");
		return -1;
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
	return 0;
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

static int sync_dirs(struct mm_maildir *md, int new_dirty, int cur_dirty,
		     struct mm_err *err_r)
{
	if ((new_dirty && fsync(md->newfd) < 0) ||
	    (cur_dirty && fsync(md->curfd) < 0))
		return problem(md, err_r, errno, "cannot sync %s: %s",
			       "the Maildir");
	return 0;
}

/* Rename every pending file; each failure is recorded, the others still
 * go. err_r gets the first failure. */
static int rename_pending(struct mm_maildir *md, struct mm_err *err_r)
{
	int ret = 0, new_dirty = 0, cur_dirty = 0;
	unsigned first_fail = md->nfail;
	struct mm_err e2;

	for (unsigned i = 0; i < md->npend; i++) {
		struct mm_pending *p = &md->pend[i];

		close(p->fd);
		if (rename_one(md, p) < 0) {
			if (ret == 0 && err_r)
				*err_r = md->fail[first_fail];
			ret = -1;
			continue;
		}
		if (p->in_cur)
			cur_dirty = 1;
		else
			new_dirty = 1;
	}
	md->npend = 0;
	md->pend_bytes = 0;
	if (md->opts.fsync != MM_FSYNC_NONE &&
	    sync_dirs(md, new_dirty, cur_dirty, ret < 0 ? &e2 : err_r) < 0)
		ret = -1;
	return ret;
}

int mm_maildir_publish(struct mm_maildir *md, struct mm_err *err_r)
{
	if (rename_pending(md, err_r) < 0)
		return -1;
	if (md->quota_count >= md->opts.batch_max)
		return update_quota(md, err_r);
	return 0;
}

/* One round trip for the whole batch: syncfs() writes back every file
 * of tmp/'s file system. Where it is missing, fsync each file. */
static int sync_batch(struct mm_maildir *md, struct mm_err *err_r)
{
	if (syncfs(md->tmpfd) == 0)
		return 0;
	if (errno != ENOSYS)
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
				  "cannot sync tmp/: %s", strerror(errno));
	for (unsigned i = 0; i < md->npend; i++)
		if (fsync(md->pend[i].fd) < 0)
			return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
					  "cannot sync tmp/%s: %s",
					  md->pend[i].tmp, strerror(errno));
	return 0;
}

int mm_maildir_flush(struct mm_maildir *md, struct mm_err *err_r)
{
	if (md->npend > 0) {
		md->st.batches++;
		if (md->opts.fsync == MM_FSYNC_BATCH && sync_batch(md, err_r) < 0) {
			/* not durable: nothing of it may become visible */
			for (unsigned i = 0; i < md->npend; i++) {
				close(md->pend[i].fd);
				mm_maildir_lost(md, &md->pend[i], err_r->sys_errno,
						"cannot sync", NULL);
			}
			md->npend = 0;
			md->pend_bytes = 0;
			return -1;
		}
		if (rename_pending(md, err_r) < 0)
			return -1;
	}
	return update_quota(md, err_r);
}
