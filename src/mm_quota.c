/* mm_quota.c - maildirsize: parsing, vpopmail's recount, safe appends
 * and atomic rewrites (the rules are in mm_quota.h). */
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
#include <unistd.h>

#include "mm_fs.h"
#include "mm_quota.h"

#define QUOTA_FILE "maildirsize"
#define QUOTA_TMP "maildirsize.mmtmp"
#define QUOTA_READ_MAX (1024 * 1024) /* beyond this, recount anyway */
#define QUOTA_DEF_MAX 1024

struct mm_quota {
	struct mm_quota_opts opts;
	int topfd;              /* the directory holding maildirsize */
	int64_t bytes, count;   /* noted, not yet appended */
	int dirty;              /* appended since the last fsync */
	int appended;           /* appended in this run */
	int broken;             /* a write failed: write no more */
	int uncounted;          /* delivering into .Trash: counts nothing */
};

/* Parse a decimal integer with an optional sign; p advances. */
static int parse_num(const char **p, const char *end, int64_t *v_r)
{
	const char *s = *p;
	int neg = 0;
	int64_t v = 0;

	if (s < end && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	if (s == end || *s < '0' || *s > '9')
		return -1;
	while (s < end && *s >= '0' && *s <= '9') {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s++ - '0');
	}
	*v_r = neg ? -v : v;
	*p = s;
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* One "bytes count" line (without its newline). */
static int parse_line(const char *s, const char *end, int64_t *b_r,
		      int64_t *c_r)
{
	if (parse_num(&s, end, b_r) < 0 || s == end || !is_blank(*s))
		return -1;
	while (s < end && is_blank(*s))
		s++;
	if (parse_num(&s, end, c_r) < 0)
		return -1;
	while (s < end && is_blank(*s))
		s++;
	return s == end ? 0 : -1;
}

int mm_quota_parse(const char *buf, size_t len, size_t *def_len_r,
		   struct mm_quota_usage *u_r, unsigned *bad_r)
{
	const char *p, *end = buf + len, *nl;
	int lines = 0;

	u_r->bytes = u_r->count = 0;
	*bad_r = 0;
	nl = len ? memchr(buf, '\n', len) : NULL;
	if (nl == NULL)
		return -1;
	*def_len_r = (size_t)(nl - buf);
	for (p = nl + 1; p < end; p = nl + 1) {
		int64_t b, c;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end; /* a last line without its newline */
		if (parse_line(p, nl, &b, &c) < 0) {
			(*bad_r)++;
		} else {
			u_r->bytes += b;
			u_r->count += c;
			lines++;
		}
		if (nl == end)
			break;
	}
	return lines;
}

int mm_quota_name(const char *name, uint64_t *size_r)
{
	const char *info = strstr(name, ":2,");
	const char *end = strchr(name, ':');
	const char *s;

	/* vpopmail's patch: messages marked deleted do not count; only
	 * the upper-case letters right after the first ":2," are flags */
	if (info != NULL)
		for (s = info + 3; *s >= 'A' && *s <= 'Z'; s++)
			if (*s == 'T')
				return 0;
	if (end == NULL)
		end = name + strlen(name);
	/* the last ",S=" before the info part */
	for (s = end; s >= name; s--) {
		if (s[0] == ',' && s[1] == 'S' && s[2] == '=') {
			uint64_t v = 0;

			for (s += 3; *s >= '0' && *s <= '9'; s++)
				v = v * 10 + (uint64_t)(*s - '0');
			*size_r = v;
			return 1;
		}
		if (s == name)
			break;
	}
	return 2;
}

static int sys_err(struct mm_err *err_r, const char *what, const char *name)
{
	int e = errno;

	return mm_err_set(err_r, MM_E_IO, e, 0, 0, "%s %s: %s", what, name,
			  strerror(e));
}

/* Count new/ or cur/ (name) of dirfd; missing counts nothing. */
static int count_dir(int dirfd, const char *name, struct mm_quota_usage *u,
		     struct mm_err *err_r)
{
	int fd = openat(dirfd, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP
			       ? 0 : sys_err(err_r, "cannot read", name);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return sys_err(err_r, "cannot read", name);
	}
	while ((de = readdir(d)) != NULL) {
		uint64_t size = 0;
		struct stat st;
		int r;

		if (de->d_name[0] == '.')
			continue;
		r = mm_quota_name(de->d_name, &size);
		if (r == 0)
			continue;
		if (r == 2) {
			if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			size = (uint64_t)st.st_size;
		}
		u->bytes += (int64_t)size;
		u->count++;
	}
	closedir(d);
	return 0;
}

static int count_maildir(int dirfd, struct mm_quota_usage *u,
			 struct mm_err *err_r)
{
	return count_dir(dirfd, "new", u, err_r) < 0 ||
	       count_dir(dirfd, "cur", u, err_r) < 0 ? -1 : 0;
}

int mm_quota_scan(int topfd, struct mm_quota_usage *u_r, struct mm_err *err_r)
{
	struct dirent *de;
	DIR *d;
	int fd;

	u_r->bytes = u_r->count = 0;
	if (count_maildir(topfd, u_r, err_r) < 0)
		return -1;
	fd = openat(topfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return sys_err(err_r, "cannot read", "the Maildir");
	}
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		int sub;

		if (n[0] != '.' || strcmp(n, ".") == 0 ||
		    strcmp(n, "..") == 0 || strcmp(n, ".Trash") == 0)
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		sub = openat(fd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				    O_CLOEXEC);
		if (sub < 0)
			continue; /* not a folder, or a symlink */
		if (count_maildir(sub, u_r, err_r) < 0) {
			close(sub);
			closedir(d);
			return -1;
		}
		close(sub);
	}
	closedir(d);
	return 0;
}

/* Open maildirsize of dirfd without following a link or blocking on a
 * FIFO; refuse anything but a regular file with one link (mm_fs.h).
 * -2 when there is none. */
static int open_file(int dirfd, int flags, struct stat *st_r,
		     struct mm_err *err_r)
{
	struct mm_err e;
	int fd = mm_fs_open_file_at(dirfd, QUOTA_FILE, flags, st_r, &e);

	if (fd >= 0)
		return fd;
	switch (e.sys_errno) {
	case ENOENT:
		return -2;
	case EMLINK:
		return mm_err_set(err_r, MM_E_IO, 0, 0, 0,
				  "cannot update maildirsize: it is a hard "
				  "link (more than one name); left alone");
	case EINVAL: case ENXIO:
		return mm_err_set(err_r, MM_E_IO, e.sys_errno, 0, 0,
				  "cannot update maildirsize: it is not a "
				  "regular file; left alone");
	default:
		return mm_err_set(err_r, MM_E_IO, e.sys_errno, 0, 0,
				  "cannot update %s: %s", QUOTA_FILE,
				  strerror(e.sys_errno));
	}
}

/* Read the file: *buf_r (malloc'd, free it), *len_r. A file larger than
 * QUOTA_READ_MAX is read only that far (*whole_r 0). */
static int read_file(int fd, char **buf_r, size_t *len_r, int *whole_r,
		     struct mm_err *err_r)
{
	size_t cap = 8192, len = 0;
	char *buf = malloc(cap);

	if (buf == NULL)
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0,
				  "out of memory");
	*whole_r = 1;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap >= QUOTA_READ_MAX) {
				*whole_r = 0;
				break;
			}
			nb = realloc(buf, cap * 2);
			if (nb == NULL) {
				free(buf);
				return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0,
						  0, "out of memory");
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return sys_err(err_r, "cannot read", QUOTA_FILE);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*buf_r = buf;
	*len_r = len;
	return 0;
}


/* Replace maildirsize by the quota line and one line of totals: an
 * O_EXCL file of the owner's, synced, renamed over it, the directory
 * synced. mode: the old file's permissions. */
static int rewrite(struct mm_quota *q, const char *def, size_t def_len,
		   const struct mm_quota_usage *u, mode_t mode,
		   struct mm_err *err_r)
{
	char line[64];
	int fd, len;

	len = snprintf(line, sizeof(line), "%lld %lld\n", (long long)u->bytes,
		       (long long)u->count);
	unlinkat(q->topfd, QUOTA_TMP, 0); /* what a killed run left */
	fd = openat(q->topfd, QUOTA_TMP,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return sys_err(err_r, "cannot rewrite", QUOTA_FILE);
	if ((q->opts.chown && fchown(fd, q->opts.uid, q->opts.gid) < 0) ||
	    fchmod(fd, mode & 0644) < 0 ||
	    mm_fs_write_all(fd, def, def_len) < 0 || mm_fs_write_all(fd, "\n", 1) < 0 ||
	    mm_fs_write_all(fd, line, (size_t)len) < 0 ||
	    (q->opts.sync && fsync(fd) < 0)) {
		sys_err(err_r, "cannot rewrite", QUOTA_FILE);
		close(fd);
		unlinkat(q->topfd, QUOTA_TMP, 0);
		return -1;
	}
	if (close(fd) < 0 ||
	    renameat(q->topfd, QUOTA_TMP, q->topfd, QUOTA_FILE) < 0) {
		sys_err(err_r, "cannot rewrite", QUOTA_FILE);
		unlinkat(q->topfd, QUOTA_TMP, 0);
		return -1;
	}
	if (q->opts.sync && fsync(q->topfd) < 0)
		return sys_err(err_r, "cannot sync the Maildir after rewriting",
			       QUOTA_FILE);
	q->dirty = 0;
	q->appended = 0;
	return 0;
}

/* What reconcile() returns besides 0. */
#define R_REFUSED -1   /* refused or unreadable (err_r): leave it alone */
#define R_NONE -2      /* there is no maildirsize */
#define R_UNWRITTEN -3 /* the recount could not be written (err_r) */

/* Recount and rewrite maildirsize if it disagrees (or is big or has bad
 * lines). 0 or one of R_*. */
static int reconcile(struct mm_quota *q, struct mm_err *err_r)
{
	struct mm_quota_usage sum, real;
	struct stat st, st2;
	size_t len = 0, def_len;
	unsigned bad;
	char *buf = NULL;
	int fd, whole, r;

	if ((fd = open_file(q->topfd, O_RDONLY, &st, err_r)) < 0)
		return fd == -2 ? R_NONE : R_REFUSED;
	if (read_file(fd, &buf, &len, &whole, err_r) < 0) {
		close(fd);
		return R_REFUSED;
	}
	if (mm_quota_parse(buf, len, &def_len, &sum, &bad) < 0 ||
	    def_len > QUOTA_DEF_MAX) {
		free(buf);
		close(fd);
		mm_err_set(err_r, MM_E_FORMAT, 0, 0, 0,
			   "cannot update maildirsize: its first line is no "
			   "quota definition; left alone");
		return R_REFUSED;
	}
	if (mm_quota_scan(q->topfd, &real, err_r) < 0) {
		free(buf);
		close(fd);
		return R_UNWRITTEN;
	}
	r = 0;
	if (!whole || bad > 0 || st.st_size >= MM_QUOTA_REBUILD_SIZE ||
	    sum.bytes != real.bytes || sum.count != real.count) {
		/* not when a server wrote to it while we counted */
		if (fstat(fd, &st2) == 0 && st2.st_size == st.st_size &&
		    st2.st_mtim.tv_sec == st.st_mtim.tv_sec &&
		    st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec &&
		    fstatat(q->topfd, QUOTA_FILE, &st2, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st2.st_ino == st.st_ino && st2.st_dev == st.st_dev)
			r = rewrite(q, buf, def_len, &real, st.st_mode, err_r) < 0
				    ? R_UNWRITTEN : 0;
	}
	free(buf);
	close(fd);
	return r;
}

/* Is folder (stat st) the top's ".Trash"? */
static int is_trash(int topfd, const struct stat *st)
{
	struct stat t;

	return fstatat(topfd, ".Trash", &t, AT_SYMLINK_NOFOLLOW) == 0 &&
	       t.st_dev == st->st_dev && t.st_ino == st->st_ino;
}

int mm_quota_open(int dfd, const struct mm_quota_opts *opts,
		  struct mm_quota **q_r, struct mm_err *err_r)
{
	struct mm_quota *q;
	struct stat st, top;
	int r;

	*q_r = NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0,
				  "out of memory");
	q->opts = *opts;
	if (fstatat(dfd, "maildirfolder", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* a Maildir++ folder: the quota is its top's, when the top
		 * is the same owner's (never a file of somebody else's) */
		q->topfd = openat(dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (q->topfd >= 0 &&
		    (fstat(dfd, &st) < 0 || fstat(q->topfd, &top) < 0 ||
		     st.st_uid != top.st_uid)) {
			close(q->topfd);
			q->topfd = -1;
			errno = ENOENT;
		} else if (q->topfd >= 0) {
			q->uncounted = is_trash(q->topfd, &st);
		}
	} else {
		q->topfd = dup(dfd);
	}
	if (q->topfd < 0) {
		r = errno == ENOENT ? 0
				    : sys_err(err_r, "cannot open", "the Maildir");
		free(q);
		return r;
	}
	r = reconcile(q, err_r);
	if (r == R_NONE || r == R_REFUSED) {
		/* no quota work in this run */
		mm_quota_free(q);
		return r == R_NONE ? 0 : -1;
	}
	*q_r = q; /* appending goes on even if the recount was not written */
	return r == 0 ? 0 : -1;
}

void mm_quota_note(struct mm_quota *q, const char *name, uint64_t size,
		   int sign)
{
	uint64_t s;
	int r;

	if (q == NULL || q->uncounted || (r = mm_quota_name(name, &s)) == 0)
		return;
	/* a ",S=" of ours is the size; another's is what vpopmail reads */
	if (r == 1)
		size = s;
	q->bytes += sign * (int64_t)size;
	q->count += sign;
}

/* Open the maildirsize this run found at open again: that it is gone
 * now is an error too. Any error stops the quota work of the run. */
static int open_again(struct mm_quota *q, int flags, struct stat *st_r,
		      struct mm_err *err_r)
{
	int fd = open_file(q->topfd, flags, st_r, err_r);

	if (fd == -2)
		mm_err_set(err_r, MM_E_IO, ENOENT, 0, 0,
			   "cannot update maildirsize: it was removed during "
			   "the run");
	if (fd < 0) {
		q->broken = 1;
		return -1;
	}
	return fd;
}

int mm_quota_write(struct mm_quota *q, struct mm_err *err_r)
{
	struct stat st;
	char line[64];
	int fd, len;

	if (q == NULL || q->broken || (q->bytes == 0 && q->count == 0))
		return 0;
	len = snprintf(line, sizeof(line), "%lld %lld\n", (long long)q->bytes,
		       (long long)q->count);
	q->bytes = q->count = 0;
	fd = open_again(q, O_WRONLY | O_APPEND, &st, err_r);
	if (fd < 0)
		return -1;
	if (mm_fs_write_all(fd, line, (size_t)len) < 0) {
		sys_err(err_r, "cannot update", QUOTA_FILE);
		close(fd);
		q->broken = 1;
		return -1;
	}
	close(fd);
	q->dirty = q->appended = 1;
	return 0;
}

int mm_quota_finish(struct mm_quota *q, struct mm_err *err_r)
{
	struct stat st;
	int fd;

	if (q == NULL || mm_quota_write(q, err_r) < 0)
		return q ? -1 : 0;
	if (q->broken || !q->dirty)
		return 0;
	fd = open_again(q, O_RDONLY, &st, err_r);
	if (fd < 0)
		return -1;
	if (q->opts.sync && fsync(fd) < 0) {
		sys_err(err_r, "cannot sync", QUOTA_FILE);
		close(fd);
		q->broken = 1;
		return -1;
	}
	close(fd);
	q->dirty = 0;
	/* one line per batch (per message, out of fsync mode batch) adds
	 * up: past the Maildir++ limit, recount into one line */
	if (q->appended && st.st_size >= MM_QUOTA_REBUILD_SIZE) {
		int r = reconcile(q, err_r);

		if (r < 0) {
			q->broken = 1;
			return r == R_NONE ? 0 : -1;
		}
	}
	return 0;
}

void mm_quota_free(struct mm_quota *q)
{
	if (q == NULL)
		return;
	if (q->topfd >= 0)
		close(q->topfd);
	free(q);
}
