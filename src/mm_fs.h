/* mm_fs.h - the one safe way to touch ground that users own, as root.
 *
 * MigrateMail runs as root over Maildirs, folder trees and spool
 * directories that ordinary users own and can change while we work.
 * Every open, create, chown and read there goes through these helpers:
 * relative to a directory descriptor we hold, never following a symlink
 * (O_NOFOLLOW), creating with O_EXCL, checking the type and link count
 * of what opened with fstat(), and setting owners on the descriptor
 * (fchown), never by name. A name that a user swaps between two of our
 * calls then changes nothing: either the call fails, or it acts on the
 * object we checked.
 *
 * Paths that the admin gives (a Maildir, a spool file or directory, a
 * folder tree) are walked component by component: a symlink on the way
 * is followed only when root (or we) own it, since no user can make
 * one of those; any other symlink is refused unless the caller trusts
 * the path (MM_FS_TRUST, the scripts' --trust-paths).
 *
 * All functions return a descriptor or 0 on success, -1 with err_r
 * filled on failure. Descriptors are O_CLOEXEC and owned by the caller.
 */
#ifndef MM_FS_H
#define MM_FS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "mm_err.h"

/* What a path or name must open as. */
enum mm_fs_kind {
	MM_FS_DIR = 1,      /* a directory */
	MM_FS_FILE = 2,     /* a regular file */
	MM_FS_INPUT = 3,    /* a regular file, a FIFO or a character device
			     * (an mbox the admin names: stdin-like inputs) */
};

/* Flags of mm_fs_open_path(). */
#define MM_FS_TRUST 1       /* follow any symlink on the path */
#define MM_FS_STRICT_LAST 2 /* the last component is never followed, not
			     * even when root owns it (a Maildir) */

/* Who gets what we create: chown is 0 when nothing is to be changed. */
struct mm_fs_owner {
	int chown;
	uid_t uid;
	gid_t gid;
};

/* Open path (absolute or relative to the working directory) as kind,
 * walking it one component at a time (see above). Files are opened
 * O_RDONLY without blocking on a FIFO's writer at open time (the
 * descriptor is made blocking again). *st_r (if not NULL) is the
 * fstat() of what opened. */
int mm_fs_open_path(const char *path, enum mm_fs_kind kind, int flags,
		    struct stat *st_r, struct mm_err *err_r);

/* Open the directory that holds path's last component, the way
 * mm_fs_open_path() does; that component is copied to name_r
 * (MM_FS_NAME_MAX bytes; never empty, never "." or ".."). */
#define MM_FS_NAME_MAX 256
int mm_fs_open_parent(const char *path, int flags, char *name_r,
		      struct mm_err *err_r);

/* Open name in dfd as kind, without following a symlink, without
 * blocking on a FIFO. A MM_FS_FILE must have one link (no hard link to
 * a file elsewhere) unless links_ok. */
int mm_fs_open_at(int dfd, const char *name, enum mm_fs_kind kind,
		  int links_ok, struct stat *st_r, struct mm_err *err_r);

/* Open the regular file name in dfd with oflags (O_RDONLY, or O_WRONLY
 * with O_APPEND, ...), never following a symlink, never blocking on a
 * FIFO, refused unless it has one link. Errors: ENOENT when missing;
 * ELOOP, EINVAL (not a regular file), ENXIO (a FIFO opened for writing)
 * or EMLINK (hard links) when refused. */
int mm_fs_open_file_at(int dfd, const char *name, int oflags,
		       struct stat *st_r, struct mm_err *err_r);

/* Open the relative path rel ("a/b/c") under dfd, every component with
 * O_NOFOLLOW, the last as kind (one link, for files). */
int mm_fs_open_under(int dfd, const char *rel, enum mm_fs_kind kind,
		     struct stat *st_r, struct mm_err *err_r);

/* Open directory name in dfd, creating it (mode) if missing and giving
 * what we created to own (fchown only when its owner differs). A directory that is there already is taken
 * as it is; one that appears between our mkdir and our open (someone
 * else's) is refused. *created_r (if not NULL) says whether we made
 * it. */
int mm_fs_mkdir_at(int dfd, const char *name, mode_t mode,
		   const struct mm_fs_owner *own, int *created_r,
		   struct mm_err *err_r);

/* Create the new regular file name in dfd (O_EXCL, O_NOFOLLOW, mode),
 * owned by own; O_WRONLY unless flags adds others (O_RDWR, O_APPEND). */
int mm_fs_create_at(int dfd, const char *name, mode_t mode, int flags,
		    const struct mm_fs_owner *own, struct mm_err *err_r);

/* Read the whole regular file name in dfd (one link, no symlink, at
 * most max bytes) into a malloc'd buffer (*buf_r, NUL-terminated,
 * *len_r bytes; the caller frees it). A missing file gives 0 with
 * *buf_r NULL. */
int mm_fs_read_at(int dfd, const char *name, size_t max, char **buf_r,
		  size_t *len_r, struct mm_err *err_r);

/* Replace (or create) name in dfd with data, atomically: written to
 * "<name>.mmtmp" (O_EXCL; a leftover of ours is removed first), owned
 * by own, mode 0600, fsynced, renamed over name, dfd fsynced. */
int mm_fs_replace_at(int dfd, const char *name, const void *data,
		     size_t len, const struct mm_fs_owner *own,
		     struct mm_err *err_r);

/* write(2) all of data to fd, again after EINTR. 0, or -1 (errno). */
int mm_fs_write_all(int fd, const void *data, size_t len);

/* The owner of what is created in the directory dfd, when we are root
 * and it is someone else's; chown 0 otherwise. */
void mm_fs_owner_of(int dfd, struct mm_fs_owner *own_r);

#endif
