/* mm_maildir_change.c - what a sync pass does to files already in the
 * Maildir: new flags under the same base name, and removal of ours. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_fs.h"
#include "mm_maildir_int.h"

static int dir_of(const struct mm_maildir *md, int in_cur)
{
	return in_cur ? md->curfd : md->newfd;
}

static size_t base_len(const char *name)
{
	const char *info = strstr(name, ":2,");

	return info ? (size_t)(info - name) : strlen(name);
}

int mm_maildir_reflag(struct mm_maildir *md, int in_cur, const char *name,
		      int to_cur, const char *info, struct mm_err *err_r)
{
	char to[MM_NAME_MAX + 64];
	size_t bl = base_len(name);
	int linked;

	if (md->opts.readonly)
		return mm_err_set(err_r, MM_E_USAGE, EROFS, 0, 0,
				  "the Maildir was opened read-only");
	if (bl >= MM_NAME_MAX ||
	    snprintf(to, sizeof(to), "%.*s%s%s", (int)bl, name,
		     info ? ":2," : "", info ? info : "") >= (int)sizeof(to))
		return mm_err_set(err_r, MM_E_USAGE, ENAMETOOLONG, 0, 0,
				  "%s/%s: name too long", in_cur ? "cur" : "new",
				  name);
	if (in_cur == to_cur && strcmp(name, to) == 0)
		return 0;
	/* never over a file that is there: a base name is one message */
	if (mm_maildir_move(dir_of(md, in_cur), name, dir_of(md, to_cur), to,
			    md->link_only, &linked) < 0)
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
				  "cannot rename %s/%s to %s/%s: %s",
				  in_cur ? "cur" : "new", name,
				  to_cur ? "cur" : "new", to, strerror(errno));
	md->changes++;
	return 0;
}

int mm_maildir_remove(struct mm_maildir *md, int in_cur, const char *name,
		      uint64_t size, struct mm_err *err_r)
{
	const char *dir = in_cur ? "cur" : "new";
	char tmp[MM_NAME_MAX];
	struct stat st, st2;
	struct mm_err e;
	int fd, linked;

	if (md->opts.readonly)
		return mm_err_set(err_r, MM_E_USAGE, EROFS, 0, 0,
				  "the Maildir was opened read-only");
	fd = mm_fs_open_at(dir_of(md, in_cur), name, MM_FS_FILE, 1, &st, &e);
	if (fd < 0)
		return mm_err_set(err_r, e.code, e.sys_errno, 0, 0,
				  "%s/%s not removed: %s", dir, name, e.text);
	close(fd);
	if ((uint64_t)st.st_size != size)
		return mm_err_set(err_r, MM_E_FORMAT, 0, 0, 0, "%s/%s not "
				  "removed: it has %lld bytes, not the %" PRIu64
				  " we delivered", dir, name,
				  (long long)st.st_size, size);
	/* Moved aside into tmp/ (where a killed run's leftover is cleaned
	 * as ours) and checked there: what is unlinked is the file that
	 * was checked, even if the name was swapped in between. */
	snprintf(tmp, sizeof(tmp), "%sX%016llx.%ld", MM_TMP_PREFIX,
		 (unsigned long long)st.st_ino, (long)getpid());
	if (mm_maildir_move(dir_of(md, in_cur), name, md->tmpfd, tmp,
			    md->link_only, &linked) < 0)
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0, "%s/%s not "
				  "removed: cannot move it to tmp/: %s", dir,
				  name, strerror(errno));
	md->changes++; /* even if it is moved back: new/ or cur/ changed */
	if (fstatat(md->tmpfd, tmp, &st2, AT_SYMLINK_NOFOLLOW) < 0 ||
	    st2.st_dev != st.st_dev || st2.st_ino != st.st_ino ||
	    !S_ISREG(st2.st_mode)) {
		int back = mm_maildir_move(md->tmpfd, tmp, dir_of(md, in_cur),
					   name, md->link_only, &linked);

		return mm_err_set(err_r, MM_E_IO, 0, 0, 0, "%s/%s not removed: "
				  "it was replaced while we removed it%s", dir,
				  name, back < 0 ? " (what replaced it is in "
				  "tmp/ now)" : "");
	}
	if (unlinkat(md->tmpfd, tmp, 0) < 0)
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0, "%s/%s not "
				  "removed: %s", dir, name, strerror(errno));
	mm_quota_note(md->quota, name, size, -1);
	return 0;
}

int mm_maildir_changes_done(struct mm_maildir *md, struct mm_err *err_r)
{
	if (md->opts.readonly)
		return 0;
	/* nothing renamed or removed: nothing to sync (the deliveries were
	 * made durable by their batches) */
	if (md->changes > 0 && md->opts.fsync != MM_FSYNC_NONE &&
	    (fsync(md->newfd) < 0 || fsync(md->curfd) < 0 || fsync(md->tmpfd) < 0))
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
				  "cannot sync new/, cur/ or tmp/: %s",
				  strerror(errno));
	md->changes = 0;
	return md->quota ? mm_quota_finish(md->quota, err_r) : 0;
}

void mm_maildir_owner(const struct mm_maildir *md, struct mm_fs_owner *own_r)
{
	own_r->chown = md->chown;
	own_r->uid = md->uid;
	own_r->gid = md->gid;
}
