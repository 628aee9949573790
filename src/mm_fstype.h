/* mm_fstype.h - what file system a Maildir is on, and which fsync mode
 * makes delivery durable there.
 *
 * Fsync mode batch writes a batch into tmp/ and makes it durable with one
 * syncfs(). That is only as good as the file system's ->sync_fs: local
 * ones with a journal or log commit it (ext2/3/4, xfs, btrfs, f2fs, jfs,
 * reiserfs, zfs; overlayfs syncs its upper file system), but FUSE passes
 * syncfs() to its daemon only for virtiofs, and NFS, CIFS/SMB do not
 * make a server commit anything: syncfs() returns 0 and nothing reached
 * a disk. Everything not known to honour syncfs() therefore gets mode
 * each (an fsync of every file before its rename, of the directories and
 * the last file moved after the renames).
 */
#ifndef MM_FSTYPE_H
#define MM_FSTYPE_H

#include <stddef.h>

#include "mm_maildir.h"

struct mm_fstype {
	unsigned long magic; /* f_type of fstatfs(); 0 when it failed */
	const char *name;    /* "ext4", "fuse", ...; "unknown" */
	int syncfs_ok;       /* syncfs() makes its files durable */
	const char *why;     /* the reason, for the report */
	int remote;          /* flock() on a directory there is a lock of
			      * this host only (NFS, SMB) */
	int tmpfile;         /* messages as O_TMPFILEs linked after the sync
			      * are faster there (measured: bench/RESULTS.md;
			      * mm_maildir_probe() checks that it works) */
};

/* The file system whose f_type is magic (0: could not be told). */
void mm_fstype_lookup(unsigned long magic, struct mm_fstype *t_r);

/* The file system of the open descriptor fd (one fstatfs()). Never
 * fails: a file system we cannot tell is "unknown", not syncfs_ok. */
void mm_fstype_of(int fd, struct mm_fstype *t_r);

/* The fsync mode to use when asked for `asked` (MM_FSYNC_AUTO: choose)
 * on file system t. Writes what is used and why into why_r (e.g.
 * "batch (syncfs on ext4)", "each (fuse: syncfs is not passed to the
 * daemon)", "none (asked)") and sets *durable_r to whether that mode
 * makes each message durable before it is visible there: 0 for none,
 * and for an asked batch where syncfs() does not do it. */
enum mm_fsync mm_fstype_mode(enum mm_fsync asked, const struct mm_fstype *t,
			     int *durable_r, char *why_r, size_t whysz);

#endif
