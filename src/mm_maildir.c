/* mm_maildir.c - durable, idempotent, symlink-safe Maildir delivery.
 * Naming and listing are in mm_maildir_name.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "mm_fs.h"
#include "mm_fstype.h"
#include "mm_maildir_int.h"

const char *mm_fsync_name(enum mm_fsync mode)
{
	switch (mode) {
	case MM_FSYNC_AUTO: return "auto";
	case MM_FSYNC_BATCH: return "batch";
	case MM_FSYNC_EACH: return "each";
	case MM_FSYNC_NONE: return "none";
	}
	return "unknown";
}

int mm_fsync_parse(const char *name, enum mm_fsync *mode_r)
{
	static const enum mm_fsync modes[] = {
		MM_FSYNC_AUTO, MM_FSYNC_BATCH, MM_FSYNC_EACH, MM_FSYNC_NONE
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(name, mm_fsync_name(modes[i])) == 0) {
			*mode_r = modes[i];
			return 0;
		}
	}
	return -1;
}

static int sys_err(struct mm_err *err_r, const char *what, const char *name)
{
	int e = errno;

	return mm_err_set(err_r, MM_E_IO, e, 0, 0, "%s %s: %s", what, name,
			  strerror(e));
}

/* Open (creating if needed) subdirectory name of dfd, refusing links;
 * what we create belongs to the Maildir's owner. */
static int open_subdir(struct mm_maildir *md, int dfd, const char *name,
		       int *created, struct mm_err *err_r)
{
	struct mm_fs_owner own = { md->chown, md->uid, md->gid };
	int made = 0, fd;

	if (md->opts.readonly)
		return mm_fs_open_at(dfd, name, MM_FS_DIR, 0, NULL, err_r);
	fd = mm_fs_mkdir_at(dfd, name, 0700, &own, &made, err_r);
	*created |= made;
	return fd;
}

/* The Maildir itself: its path walked without following a user's
 * symlink, created (and given the parent's owner, when root) if
 * missing. A folder (opts.at_set) is one name in its Maildir. */
static int open_top(struct mm_maildir *md, const char *path,
		    struct mm_err *err_r)
{
	char name[MM_FS_NAME_MAX];
	struct mm_fs_owner own;
	int flags = md->opts.trust_paths ? MM_FS_TRUST : MM_FS_STRICT_LAST;
	int pfd, fd, made = 0;

	if (md->opts.at_set) {
		pfd = md->opts.at_fd;
		if (strlen(path) >= sizeof(name))
			return mm_err_set(err_r, MM_E_USAGE, ENAMETOOLONG, 0, 0,
					  "name too long: %.200s", path);
		strcpy(name, path);
	} else {
		fd = mm_fs_open_path(path, MM_FS_DIR, flags, NULL, err_r);
		if (fd < 0 && (err_r->sys_errno == ELOOP ||
			       err_r->sys_errno == ENOTDIR))
			return mm_err_set(err_r, MM_E_USAGE, err_r->sys_errno,
					  0, 0, "Maildir %s is a symlink or "
					  "not a directory: refused", path);
		if (fd < 0 && err_r->code == MM_E_IO &&
		    (err_r->sys_errno != ENOENT || md->opts.readonly))
			return mm_err_set(err_r, MM_E_IO, err_r->sys_errno, 0,
					  0, "cannot open Maildir %s: %s", path,
					  strerror(err_r->sys_errno));
		if (fd >= 0 || err_r->sys_errno != ENOENT || md->opts.readonly)
			return fd;
		pfd = mm_fs_open_parent(path, flags, name, err_r);
		if (pfd < 0 && err_r->code == MM_E_IO) {
			const char *slash = strrchr(path, '/');
			int plen = slash == NULL ? 1 : slash == path ? 1
					   : (int)(slash - path);

			return mm_err_set(err_r, MM_E_IO, err_r->sys_errno, 0,
					  0, "cannot create Maildir in %.*s: %s",
					  plen, slash ? path : ".",
					  strerror(err_r->sys_errno));
		}
		if (pfd < 0)
			return -1;
	}
	if (md->opts.readonly) {
		fd = mm_fs_open_at(pfd, name, MM_FS_DIR, 0, NULL, err_r);
	} else {
		mm_fs_owner_of(pfd, &own);
		if (md->opts.owner_given) {
			own.chown = md->chown;
			own.uid = md->opts.uid;
			own.gid = md->opts.gid;
		}
		fd = mm_fs_mkdir_at(pfd, name, 0700, &own, &made, err_r);
		if (fd >= 0 && made && md->opts.fsync != MM_FSYNC_NONE &&
		    fsync(pfd) < 0) {
			sys_err(err_r, "cannot sync the directory of", path);
			close(fd);
			fd = -1;
		}
	}
	if (!md->opts.at_set)
		close(pfd);
	return fd;
}

/* Where ext4 says how much of it is dirty (by_file() in
 * mm_maildir_sync.c): /sys/fs/ext4/<its block device>/delayed_allocation_
 * blocks, the device named by /sys/dev/block/MAJ:MIN. "" when it is not
 * ext4 or that cannot be found. */
static void find_dirty_counter(struct mm_maildir *md, const struct stat *st,
			       unsigned long magic)
{
	char link[64], target[256], path[sizeof(md->dirty_path)];
	const char *dev;
	struct statfs sf;
	ssize_t n;

	md->dirty_path[0] = '\0';
	if (magic != 0xEF53 || fstatfs(md->dfd, &sf) < 0)
		return;
	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st->st_dev),
		 minor(st->st_dev));
	if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
		return;
	target[n] = '\0';
	dev = strrchr(target, '/');
	dev = dev ? dev + 1 : target;
	if (snprintf(path, sizeof(path), "/sys/fs/ext4/%s/delayed_allocation_blocks",
		     dev) >= (int)sizeof(path) || access(path, R_OK) < 0)
		return;
	strcpy(md->dirty_path, path);
	md->fs_bsize = (uint64_t)sf.f_bsize;
}

/* Remove what a killed run of ours left in tmp/; leave other files. */
static int clean_tmp(struct mm_maildir *md, struct mm_err *err_r)
{
	DIR *d = mm_maildir_opendir(md->tmpfd);
	struct dirent *de;
	uint64_t key;

	if (d == NULL)
		return sys_err(err_r, "cannot read", "tmp/");
	while ((de = readdir(d)) != NULL) {
		if ((mm_maildir_name_key(de->d_name, &key) ||
		     strncmp(de->d_name, MM_TMP_PREFIX,
			     strlen(MM_TMP_PREFIX)) == 0) &&
		    unlinkat(md->tmpfd, de->d_name, 0) == 0)
			md->st.tmp_cleaned++;
	}
	closedir(d);
	return 0;
}

/* Learn which of our messages new/ and cur/ already hold, and which of
 * their files are damaged (mm_maildir_repair.c). */
static int load_present(struct mm_maildir *md, int dirfd, int in_cur,
			struct mm_err *err_r)
{
	DIR *d = mm_maildir_opendir(dirfd);
	struct dirent *de;

	if (d == NULL)
		return sys_err(err_r, "cannot read", in_cur ? "cur/" : "new/");
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (mm_maildir_note_file(md, dirfd, in_cur, de->d_name,
					 de->d_type) < 0) {
			closedir(d);
			return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0,
					  "out of memory");
		}
	}
	closedir(d);
	return 0;
}

struct mm_maildir *mm_maildir_open(const char *path,
				   const struct mm_maildir_opts *opts,
				   struct mm_err *err_r)
{
	struct mm_maildir *md = calloc(1, sizeof(*md));
	struct mm_err dummy;
	struct mm_fstype fs;
	struct stat st;
	int created = 0;

	if (err_r == NULL)
		err_r = &dummy;

	if (md == NULL) {
		mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
		return NULL;
	}
	md->dfd = md->tmpfd = md->newfd = md->curfd = md->cur_fd = -1;
	md->lockfd = -1;
	if (opts != NULL)
		md->opts = *opts;
	if (md->opts.batch_max == 0 || md->opts.batch_max > MM_BATCH_LIMIT)
		md->opts.batch_max = md->opts.batch_max ? MM_BATCH_LIMIT : 256;
	if (md->opts.batch_bytes == 0)
		md->opts.batch_bytes = UINT64_C(64) << 20;
	if (md->opts.max_size == 0)
		md->opts.max_size = MM_MAX_SIZE_DEFAULT;
	md->batch_cap = md->opts.batch_max;
	{
		const char *how = getenv("MIGRATEMAIL_SYNC");

		md->sync_how = how == NULL ? MM_SYNC_AUTO
			       : strcmp(how, "syncfs") == 0 ? MM_SYNC_FS
			       : strcmp(how, "files") == 0 ? MM_SYNC_FILES
			       : MM_SYNC_AUTO;
	}
	md->chown = geteuid() == 0;
	mm_maildir_set_host(md, md->opts.host);
	md->pend = calloc(md->opts.batch_max, sizeof(*md->pend));
	md->flight.p = calloc(md->opts.batch_max, sizeof(*md->flight.p));
	md->fail = calloc(MM_FAIL_CAP(md), sizeof(*md->fail));
	if (md->pend == NULL || md->flight.p == NULL || md->fail == NULL) {
		mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
		goto fail;
	}
	if ((md->dfd = open_top(md, path, err_r)) < 0)
		goto fail;
	/* one fstatfs() decides whether syncfs() can be trusted here */
	mm_fstype_of(md->dfd, &fs);
	md->opts.fsync = mm_fstype_mode(md->opts.fsync, &fs, &md->st.durable,
					md->st.durability,
					sizeof(md->st.durability));
	md->st.fsync = md->opts.fsync;
	if (fstat(md->dfd, &st) < 0) {
		sys_err(err_r, "cannot stat", path);
		goto fail;
	}
	find_dirty_counter(md, &st, fs.magic);
	md->fs_tmpfile = fs.tmpfile;
	md->uid = md->opts.owner_given ? md->opts.uid : st.st_uid;
	md->gid = md->opts.owner_given ? md->opts.gid : st.st_gid;
	/* files are born ours: a chown to ourselves would only cost an
	 * inode update per message */
	if (md->uid == geteuid() &&
	    (md->gid == getegid() || md->gid == (gid_t)-1))
		md->chown = 0;
	/* one writer: before anything in it is created or cleaned */
	if (!md->opts.readonly && mm_maildir_lock(md, path, err_r) < 0)
		goto fail;
	if ((md->tmpfd = open_subdir(md, md->dfd, "tmp", &created, err_r)) < 0 ||
	    (md->newfd = open_subdir(md, md->dfd, "new", &created, err_r)) < 0 ||
	    (md->curfd = open_subdir(md, md->dfd, "cur", &created, err_r)) < 0)
		goto fail;
	if (created && md->opts.fsync != MM_FSYNC_NONE && fsync(md->dfd) < 0) {
		sys_err(err_r, "cannot sync", path);
		goto fail;
	}
	if ((!md->opts.readonly && (clean_tmp(md, err_r) < 0 ||
				    mm_maildir_probe(md, path, err_r) < 0)) ||
	    load_present(md, md->newfd, 0, err_r) < 0 ||
	    load_present(md, md->curfd, 1, err_r) < 0)
		goto fail;
	mm_maildir_damaged_done(md);
	if (!md->opts.readonly)
		mm_maildir_quota_open(md);
	return md;
fail:
	mm_maildir_discard(md);
	return NULL;
}

void mm_maildir_discard(struct mm_maildir *md)
{
	if (md == NULL)
		return;
	mm_maildir_abort(md);
	/* what is in flight lands (its failures go unreported) */
	mm_maildir_land(md, NULL);
	for (unsigned i = 0; i < md->npend; i++) {
		struct mm_pending *p = &md->pend[i];

		/* an O_TMPFILE goes with its last descriptor */
		if (p->anon && p->fd >= 0)
			close(p->fd);
		else if (!p->anon)
			unlinkat(md->tmpfd, p->tmp, 0);
	}
	md->npend = 0;
	mm_maildir_unlock(md);
	if (md->dfd >= 0)
		close(md->dfd);
	if (md->tmpfd >= 0)
		close(md->tmpfd);
	if (md->newfd >= 0)
		close(md->newfd);
	if (md->curfd >= 0)
		close(md->curfd);
	mm_quota_free(md->quota);
	mm_keyset_free(&md->present);
	mm_maildir_damaged_free(md);
	free(md->pend);
	free(md->flight.p);
	free(md->fail);
	free(md);
}

int mm_maildir_close(struct mm_maildir *md, struct mm_err *err_r)
{
	int r = mm_maildir_flush(md, err_r);

	mm_maildir_discard(md);
	return r;
}

int mm_maildir_warning(struct mm_maildir *md, struct mm_err *w_r)
{
	if (!md->has_warning)
		return 0;
	*w_r = md->warning;
	md->has_warning = 0;
	return 1;
}

int mm_maildir_has(const struct mm_maildir *md, uint64_t key)
{
	return mm_keyset_has(&md->present, key);
}

const struct mm_maildir_stats *mm_maildir_stats(const struct mm_maildir *md)
{
	return &md->st;
}

int mm_maildir_fd(const struct mm_maildir *md)
{
	return md->dfd;
}

int mm_maildir_open_entry(const struct mm_maildir *md,
			  const struct mm_maildir_entry *e,
			  struct mm_err *err_r)
{
	int in_cur = strncmp(e->name, "cur/", 4) == 0;

	/* a server may have hard-linked a message into another folder */
	return mm_fs_open_at(in_cur ? md->curfd : md->newfd, e->name + 4,
			     MM_FS_FILE, 1, NULL, err_r);
}

/* Create the file of a message whose name will be base: an unnamed
 * O_TMPFILE in tmp/ where mm_maildir_probe() found that it works (not
 * for a repair, which replaces a file: renamed from tmp/<tmp>), else
 * tmp/<tmp>. tmp names it in messages either way. */
static int start(struct mm_maildir *md, const char *tmp, const char *base,
		 int plain, int repair, uint64_t key, unsigned long msgno,
		 uint64_t offset, struct mm_err *err_r)
{
	if (md->cur_fd >= 0)
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
				  "a message is already started");
	if (strlen(tmp) >= sizeof(md->cur_tmp) ||
	    strlen(base) >= sizeof(md->cur_base))
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0, "name too long");
	strcpy(md->cur_tmp, tmp);
	strcpy(md->cur_base, base);
	md->cur_plain = plain;
	md->cur_repair = 0;
	md->cur_key = key;
	md->cur_size = 0;
	md->cur_msgno = msgno;
	md->cur_offset = offset;
	md->cur_anon = md->create != MM_CREATE_NAMED && !repair;
	if (md->cur_anon) {
		md->cur_fd = openat(md->tmpfd, ".",
				    O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
		/* out of descriptors (taken by something else since open):
		 * the batches let go of theirs, and from now on messages
		 * are named files in tmp/, closed at commit (what they lose
		 * is reported through mm_maildir_failure()) */
		if (md->cur_fd < 0 && (errno == EMFILE || errno == ENFILE)) {
			mm_maildir_publish(md, NULL);
			mm_maildir_land(md, NULL);
			md->create = MM_CREATE_NAMED;
			md->batch_cap = md->opts.batch_max;
			md->cur_anon = 0;
		}
	}
	if (!md->cur_anon) {
		md->cur_fd = openat(md->tmpfd, md->cur_tmp,
				    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC, 0600);
	}
	if (md->cur_fd < 0)
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
				  "cannot create tmp/%s: %s", md->cur_tmp,
				  strerror(errno));
	return 0;
}

int mm_maildir_begin(struct mm_maildir *md, time_t name_time, uint64_t hash,
		     unsigned k, unsigned long msgno, uint64_t offset,
		     struct mm_err *err_r)
{
	char name[MM_NAME_MAX];

	mm_maildir_base_name(md, name_time, hash, k, name, sizeof(name));
	return start(md, name, name, 0, 0, mm_maildir_key(hash, k), msgno,
		     offset, err_r);
}

int mm_maildir_begin_named(struct mm_maildir *md, const char *base,
			   unsigned long msgno, uint64_t offset,
			   struct mm_err *err_r)
{
	char tmp[MM_NAME_MAX];

	if (!mm_maildir_name_ok(base))
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
				  "'%s' cannot be a Maildir file name", base);
	snprintf(tmp, sizeof(tmp), "%s%s", MM_TMP_PREFIX, base);
	return start(md, tmp, base, 1, 0,
		     mm_maildir_plain_key(base, strlen(base)), msgno, offset,
		     err_r);
}

int mm_maildir_begin_repair(struct mm_maildir *md, int in_cur,
			    const char *name, uint64_t key,
			    unsigned long msgno, uint64_t offset,
			    struct mm_err *err_r)
{
	char tmp[MM_NAME_MAX];

	if (strchr(name, '/') != NULL || name[0] == '\0' || name[0] == '.')
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
				  "'%.200s' cannot be a Maildir file name", name);
	/* one repair per key and run: the key makes the tmp/ name unique,
	 * and the prefix makes it a leftover of ours for clean_tmp() */
	snprintf(tmp, sizeof(tmp), "%sR%016llx", MM_TMP_PREFIX,
		 (unsigned long long)key);
	if (start(md, tmp, name, 1, 1, key, msgno, offset, err_r) < 0)
		return -1;
	md->cur_repair = 1;
	md->cur_repair_in_cur = in_cur;
	return 0;
}


/* Write out what is buffered for the current message. */
static int flush_buf(struct mm_maildir *md)
{
	size_t len = md->wlen;

	md->wlen = 0;
	return mm_fs_write_all(md->cur_fd, md->wbuf, len);
}

int mm_maildir_write(struct mm_maildir *md, const char *data, size_t len,
		     struct mm_err *err_r)
{
	/* checked before a byte is written: the tmp/ file never exceeds
	 * the limit, whatever arrives on a pipe */
	if (len > md->opts.max_size - md->cur_size)
		return mm_err_set(err_r, MM_E_TOOBIG, EFBIG, 0, 0,
				  "larger than the maximum message size of "
				  "%llu bytes (--max-message-size): not delivered",
				  (unsigned long long)md->opts.max_size);
	/* Small pieces (header segments, unquoted lines) are gathered so
	 * that a typical message costs one write(), not one per piece; a
	 * big one goes out as it is, without a copy. */
	while (len > 0) {
		size_t room = sizeof(md->wbuf) - md->wlen;
		size_t n = len < room ? len : room;

		if (md->wlen == 0 && len >= sizeof(md->wbuf)) {
			if (mm_fs_write_all(md->cur_fd, data, len) < 0)
				return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
						  "cannot write tmp/%s: %s",
						  md->cur_tmp, strerror(errno));
			md->cur_size += len;
			return 0;
		}
		memcpy(md->wbuf + md->wlen, data, n);
		md->wlen += n;
		md->cur_size += n;
		data += n;
		len -= n;
		if (md->wlen == sizeof(md->wbuf) && flush_buf(md) < 0)
			return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
					  "cannot write tmp/%s: %s", md->cur_tmp,
					  strerror(errno));
	}
	return 0;
}

void mm_maildir_abort(struct mm_maildir *md)
{
	if (md->cur_fd < 0)
		return;
	md->wlen = 0;
	close(md->cur_fd);
	md->cur_fd = -1;
	if (!md->cur_anon)
		unlinkat(md->tmpfd, md->cur_tmp, 0);
}

int mm_maildir_commit(struct mm_maildir *md, time_t mtime, int in_cur,
		      const char *info, struct mm_err *err_r)
{
	struct mm_pending *p = &md->pend[md->npend];
	struct timespec ts[2];
	int fd = md->cur_fd, bad, e;

	if (fd < 0)
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
				  "no message started");
	ts[0].tv_sec = ts[1].tv_sec = mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	memcpy(p->tmp, md->cur_tmp, sizeof(p->tmp));
	p->anon = md->cur_anon;
	p->fd = -1;
	p->msgno = md->cur_msgno;
	p->offset = md->cur_offset;
	if (flush_buf(md) < 0) {
		e = errno;
		md->wlen = 0;
		close(fd);
		md->cur_fd = -1;
		mm_maildir_lost(md, p, e, "cannot write", NULL);
		if (err_r)
			*err_r = md->fail[md->nfail - 1];
		return -1;
	}
	md->cur_fd = -1;
	bad = (md->chown && fchown(fd, md->uid, md->gid) < 0) ||
	      futimens(fd, ts) < 0 ||
	      (md->opts.fsync == MM_FSYNC_EACH && fsync(fd) < 0);
	e = errno;
	if (p->anon && !bad) {
		/* kept open: it has no name to be found by until linked */
		p->fd = fd;
	} else if (close(fd) < 0 && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		mm_maildir_lost(md, p, e, "cannot finish", NULL);
		if (err_r)
			*err_r = md->fail[md->nfail - 1];
		return -1;
	}
	p->err = 0;
	p->size = md->cur_size;
	p->key = md->cur_key;
	p->replace = 0;
	p->fixed[0] = '\0';
	if (md->cur_repair) {
		mm_maildir_repair_names(md, p);
		in_cur = p->in_cur;
	} else if (md->cur_plain) {
		snprintf(p->final, sizeof(p->final), "%s%s%s", md->cur_base,
			 in_cur ? ":2," : "", in_cur ? info : "");
	} else {
		snprintf(p->final, sizeof(p->final), "%s,S=%llu%s%s",
			 md->cur_base, (unsigned long long)md->cur_size,
			 in_cur ? ":2," : "", in_cur ? info : "");
	}
	p->in_cur = in_cur;
	md->npend++;
	md->pend_bytes += p->size;
	if (md->opts.fsync == MM_FSYNC_NONE ||
	    md->npend >= md->batch_cap ||
	    md->pend_bytes >= md->opts.batch_bytes)
		return mm_maildir_publish(md, err_r);
	return 0;
}
