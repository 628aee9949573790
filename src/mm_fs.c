/* mm_fs.c - the one safe way to touch ground that users own, as root. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_fs.h"

#define MAX_LINKS 40 /* symlinks followed on one path, as the kernel's */
#define WALK_MAX (2 * PATH_MAX)

static int sys_err(struct mm_err *err_r, int e, const char *what,
		   const char *name)
{
	return mm_err_set(err_r, MM_E_IO, e, 0, 0, "%s %s: %s", what, name,
			  strerror(e));
}

static int refuse(struct mm_err *err_r, int e, const char *name,
		  const char *why)
{
	return mm_err_set(err_r, MM_E_USAGE, e, 0, 0, "%s %s: refused", name,
			  why);
}

/* A symlink that no user could have made or changed: root's (or ours),
 * with one link (not a user's hard link to one of root's). */
static int link_trusted(int dfd, const char *name, int flags)
{
	struct stat st;

	if (flags & MM_FS_TRUST)
		return 1;
	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISLNK(st.st_mode) && st.st_nlink == 1 &&
	       (st.st_uid == 0 || st.st_uid == geteuid());
}

static int is_link(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISLNK(st.st_mode);
}

/* Check what opened as fd is of the kind asked for; fd is closed if
 * not. */
static int check_kind(int fd, enum mm_fs_kind kind, int links_ok,
		      const char *name, struct stat *st_r,
		      struct mm_err *err_r)
{
	struct stat st;
	int ok;

	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return sys_err(err_r, e, "cannot stat", name);
	}
	switch (kind) {
	case MM_FS_DIR:
		ok = S_ISDIR(st.st_mode);
		break;
	case MM_FS_FILE:
		ok = S_ISREG(st.st_mode);
		break;
	default:
		ok = S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) ||
		     S_ISCHR(st.st_mode);
		break;
	}
	if (!ok) {
		close(fd);
		return refuse(err_r, EINVAL, name,
			      kind == MM_FS_DIR ? "is not a directory"
						: "is not a regular file");
	}
	if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !links_ok) {
		close(fd);
		return refuse(err_r, EMLINK, name,
			      "has other hard links (it may be someone "
			      "else's file)");
	}
	if (!S_ISDIR(st.st_mode)) {
		/* opened without waiting for a FIFO's writer; reads block
		 * as usual */
		int fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	if (st_r)
		*st_r = st;
	return fd;
}

/* Open the last component name in dfd as kind; ELOOP when it is a
 * symlink. */
static int open_last(int dfd, const char *name, enum mm_fs_kind kind,
		     int follow)
{
	int fl = O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);

	if (kind == MM_FS_DIR)
		fl |= O_RDONLY | O_DIRECTORY;
	else
		fl |= O_RDONLY | O_NONBLOCK | O_NOCTTY;
	return openat(dfd, name, fl);
}

int mm_fs_open_at(int dfd, const char *name, enum mm_fs_kind kind,
		  int links_ok, struct stat *st_r, struct mm_err *err_r)
{
	int fd;

	if (strchr(name, '/') != NULL || name[0] == '\0')
		return mm_err_set(err_r, MM_E_USAGE, EINVAL, 0, 0,
				  "'%s' is not a plain file name", name);
	fd = open_last(dfd, name, kind, 0);
	if (fd < 0) {
		int e = errno;
		if (kind == MM_FS_DIR && (e == ELOOP || e == ENOTDIR))
			return refuse(err_r, e, name,
				      "is a symlink or not a directory");
		if (e == ELOOP && is_link(dfd, name))
			return refuse(err_r, e, name, "is a symlink");
		return sys_err(err_r, e, "cannot open", name);
	}
	return check_kind(fd, kind, links_ok, name, st_r, err_r);
}

int mm_fs_open_file_at(int dfd, const char *name, int oflags,
		       struct stat *st_r, struct mm_err *err_r)
{
	int fd;

	if (strchr(name, '/') != NULL || name[0] == '\0')
		return mm_err_set(err_r, MM_E_USAGE, EINVAL, 0, 0,
				  "'%s' is not a plain file name", name);
	fd = openat(dfd, name, oflags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
			       O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP && is_link(dfd, name))
			return refuse(err_r, e, name, "is a symlink");
		if (e == ENXIO)
			return refuse(err_r, e, name, "is not a regular file");
		return sys_err(err_r, e, "cannot open", name);
	}
	return check_kind(fd, MM_FS_FILE, 0, name, st_r, err_r);
}

/* The path walk. Components are taken from the front of buf (which is
 * rewritten as symlinks are expanded). want_parent: stop before the
 * last component and return its directory, with the component copied
 * to last (MM_FS_NAME_MAX bytes). */
static int walk(const char *path, enum mm_fs_kind kind, int flags,
		int want_parent, char *last, struct stat *st_r,
		struct mm_err *err_r)
{
	char *buf = malloc(WALK_MAX), *tmp = malloc(WALK_MAX);
	char *p;
	int cur = -1, links = 0, ret = -1;

	if (buf == NULL || tmp == NULL) {
		mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
		goto out;
	}
	if (strlen(path) >= PATH_MAX || path[0] == '\0') {
		mm_err_set(err_r, MM_E_USAGE, ENAMETOOLONG, 0, 0,
			   "bad path '%.200s'", path);
		goto out;
	}
	strcpy(buf, path);
	cur = open(path[0] == '/' ? "/" : ".",
		   O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0) {
		sys_err(err_r, errno, "cannot open", path[0] == '/' ? "/" : ".");
		goto out;
	}
	p = buf;
	for (;;) {
		char *comp;
		int final, fd;

		while (*p == '/')
			p++;
		comp = p;
		while (*p && *p != '/')
			p++;
		if (*p)
			*p++ = '\0';
		while (*p == '/')
			p++;
		final = *p == '\0';
		if (*comp == '\0' || (strcmp(comp, ".") == 0 && !final)) {
			if (final) {
				/* "/" or "dir/": the directory itself */
				if (want_parent) {
					mm_err_set(err_r, MM_E_USAGE, EINVAL,
						   0, 0, "'%.200s' names no "
						   "file", path);
					goto out;
				}
				fd = openat(cur, ".", O_RDONLY | O_DIRECTORY |
						      O_CLOEXEC);
				ret = fd < 0 ? sys_err(err_r, errno,
						       "cannot open", path)
					     : check_kind(fd, kind, 0, path,
							  st_r, err_r);
				goto out;
			}
			continue;
		}
		if (final && want_parent) {
			if (strlen(comp) >= MM_FS_NAME_MAX || strcmp(comp, ".") == 0 ||
			    strcmp(comp, "..") == 0) {
				mm_err_set(err_r, MM_E_USAGE, EINVAL, 0, 0,
					   "'%.200s' names no file", path);
				goto out;
			}
			strcpy(last, comp);
			ret = cur;
			cur = -1;
			goto out;
		}
		if (final)
			fd = open_last(cur, comp, kind, 0);
		else
			fd = openat(cur, comp, O_PATH | O_DIRECTORY |
					       O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && (errno == ELOOP || errno == ENOTDIR) &&
		    is_link(cur, comp)) {
			ssize_t n;

			if ((final && (flags & MM_FS_STRICT_LAST) &&
			     !(flags & MM_FS_TRUST)) ||
			    !link_trusted(cur, comp, flags)) {
				refuse(err_r, ELOOP, path,
				       "has a symlink that a user could "
				       "change on its way");
				goto out;
			}
			if (++links > MAX_LINKS) {
				sys_err(err_r, ELOOP, "cannot open", path);
				goto out;
			}
			n = readlinkat(cur, comp, tmp, PATH_MAX);
			if (n <= 0 || n >= PATH_MAX ||
			    (size_t)n + 1 + strlen(p) + 1 > WALK_MAX) {
				sys_err(err_r, n < 0 ? errno : ENAMETOOLONG,
					"cannot follow", path);
				goto out;
			}
			/* the link's text, then what was left of the path */
			tmp[n] = '/';
			strcpy(tmp + n + 1, p);
			strcpy(buf, tmp);
			p = buf;
			if (buf[0] == '/') {
				close(cur);
				cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (cur < 0) {
					sys_err(err_r, errno, "cannot open", "/");
					goto out;
				}
			}
			continue;
		}
		if (fd < 0) {
			int e = errno;
			if (e == ENOTDIR)
				refuse(err_r, e, path, "is not a directory");
			else
				mm_err_set(err_r, MM_E_IO, e, 0, 0,
					   "cannot open %s: %s", path,
					   strerror(e));
			goto out;
		}
		if (final) {
			ret = check_kind(fd, kind, (flags & MM_FS_TRUST) != 0,
					 path, st_r, err_r);
			goto out;
		}
		close(cur);
		cur = fd;
	}
out:
	if (cur >= 0)
		close(cur);
	free(buf);
	free(tmp);
	return ret;
}

int mm_fs_open_path(const char *path, enum mm_fs_kind kind, int flags,
		    struct stat *st_r, struct mm_err *err_r)
{
	return walk(path, kind, flags, 0, NULL, st_r, err_r);
}

int mm_fs_open_parent(const char *path, int flags, char *name_r,
		      struct mm_err *err_r)
{
	int fd = walk(path, MM_FS_DIR, flags, 1, name_r, NULL, err_r);
	int dfd, e;

	if (fd < 0)
		return -1;
	/* an O_PATH descriptor cannot be read or synced: reopen it */
	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	e = errno;
	close(fd);
	if (dfd < 0)
		return sys_err(err_r, e, "cannot open the directory of", path);
	return dfd;
}

int mm_fs_open_under(int dfd, const char *rel, enum mm_fs_kind kind,
		     struct stat *st_r, struct mm_err *err_r)
{
	char buf[PATH_MAX];
	char *p = buf, *slash;
	int cur = dfd, fd;

	if (strlen(rel) >= sizeof(buf))
		return mm_err_set(err_r, MM_E_USAGE, ENAMETOOLONG, 0, 0,
				  "path too long: %.200s", rel);
	strcpy(buf, rel);
	while ((slash = strchr(p, '/')) != NULL) {
		*slash = '\0';
		if (*p == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
			fd = -1;
			mm_err_set(err_r, MM_E_USAGE, EINVAL, 0, 0,
				   "bad relative path '%.200s'", rel);
		} else {
			fd = mm_fs_open_at(cur, p, MM_FS_DIR, 0, NULL, err_r);
		}
		if (cur != dfd)
			close(cur);
		if (fd < 0)
			return -1;
		cur = fd;
		p = slash + 1;
	}
	fd = strcmp(p, "..") == 0 || strcmp(p, ".") == 0
		     ? mm_err_set(err_r, MM_E_USAGE, EINVAL, 0, 0,
				  "bad relative path '%.200s'", rel)
		     : mm_fs_open_at(cur, p, kind, 0, st_r, err_r);
	if (cur != dfd)
		close(cur);
	return fd;
}

int mm_fs_mkdir_at(int dfd, const char *name, mode_t mode,
		   const struct mm_fs_owner *own, int *created_r,
		   struct mm_err *err_r)
{
	struct stat st;
	int made = 0, fd;

	if (mkdirat(dfd, name, mode) == 0)
		made = 1;
	else if (errno != EEXIST)
		return sys_err(err_r, errno, "cannot create", name);
	fd = mm_fs_open_at(dfd, name, MM_FS_DIR, 0, &st, err_r);
	if (fd < 0)
		return -1;
	if (made && geteuid() == 0 && st.st_uid != 0) {
		/* not the directory we made: swapped in by its owner */
		close(fd);
		return refuse(err_r, EEXIST, name,
			      "was replaced while it was being created");
	}
	/* only when it is not right already: a file system without chown
	 * (vfat, exfat) must still take a Maildir of root's, as root */
	if (made && own && own->chown &&
	    (st.st_uid != own->uid ||
	     (own->gid != (gid_t)-1 && st.st_gid != own->gid)) &&
	    fchown(fd, own->uid, own->gid) < 0) {
		int e = errno;
		close(fd);
		return sys_err(err_r, e, "cannot set the owner of", name);
	}
	if (created_r)
		*created_r = made;
	return fd;
}

int mm_fs_create_at(int dfd, const char *name, mode_t mode, int flags,
		    const struct mm_fs_owner *own, struct mm_err *err_r)
{
	int fd = openat(dfd, name, (flags ? flags : O_WRONLY) | O_CREAT |
				   O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0)
		return sys_err(err_r, errno, "cannot create", name);
	/* on the descriptor: the name may already point elsewhere */
	if (own && own->chown && fchown(fd, own->uid, own->gid) < 0) {
		int e = errno;
		close(fd);
		unlinkat(dfd, name, 0);
		return sys_err(err_r, e, "cannot set the owner of", name);
	}
	return fd;
}

int mm_fs_read_at(int dfd, const char *name, size_t max, char **buf_r,
		  size_t *len_r, struct mm_err *err_r)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	int fd;

	*buf_r = NULL;
	*len_r = 0;
	fd = mm_fs_open_at(dfd, name, MM_FS_FILE, 0, &st, err_r);
	if (fd < 0)
		return err_r && err_r->sys_errno == ENOENT ? 0 : -1;
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return refuse(err_r, EFBIG, name, "is too large");
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		close(fd);
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0,
				  "out of memory");
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			free(buf);
			return sys_err(err_r, e, "cannot read", name);
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			close(fd);
			free(buf);
			return refuse(err_r, EFBIG, name, "is too large");
		}
	}
	close(fd);
	buf[len] = '\0';
	*buf_r = buf;
	*len_r = len;
	return 0;
}

int mm_fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int mm_fs_replace_at(int dfd, const char *name, const void *data,
		     size_t len, const struct mm_fs_owner *own,
		     struct mm_err *err_r)
{
	char tmp[NAME_MAX + 1];
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.mmtmp", name) >= (int)sizeof(tmp))
		return mm_err_set(err_r, MM_E_USAGE, ENAMETOOLONG, 0, 0,
				  "name too long: %.200s", name);
	unlinkat(dfd, tmp, 0); /* a leftover of a killed run */
	fd = mm_fs_create_at(dfd, tmp, 0600, O_WRONLY, own, err_r);
	if (fd < 0)
		return -1;
	if (mm_fs_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlinkat(dfd, tmp, 0);
		return sys_err(err_r, e, "cannot write", tmp);
	}
	if (close(fd) < 0) {
		e = errno;
		unlinkat(dfd, tmp, 0);
		return sys_err(err_r, e, "cannot write", tmp);
	}
	/* a rename replaces a symlink planted at name, never follows it */
	if (renameat(dfd, tmp, dfd, name) < 0) {
		e = errno;
		unlinkat(dfd, tmp, 0);
		return sys_err(err_r, e, "cannot rename to", name);
	}
	if (fsync(dfd) < 0)
		return sys_err(err_r, errno, "cannot sync the directory of",
			       name);
	return 0;
}

void mm_fs_owner_of(int dfd, struct mm_fs_owner *own_r)
{
	struct stat st;

	memset(own_r, 0, sizeof(*own_r));
	if (geteuid() != 0 || fstat(dfd, &st) < 0)
		return;
	own_r->uid = st.st_uid;
	own_r->gid = st.st_gid;
	own_r->chown = st.st_uid != geteuid() || st.st_gid != getegid();
}
