/* mm_fstype.c - the Maildir's file system and its fsync mode. */
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>

#include "mm_fstype.h"

/* f_type values (linux/magic.h, zfs). Where syncfs() is honoured, the
 * kernel's ->sync_fs commits the journal or log after writing back
 * every dirty inode of the file system. Fields: magic, name, syncfs_ok,
 * why, remote, tmpfile (mm_fstype.h). */
static const struct mm_fstype known[] = {
	{ 0xEF53, "ext4", 1, NULL, 0, 1 },     /* ext2 and ext3 share it */
	{ 0x58465342, "xfs", 1, NULL, 0, 0 },
	{ 0x9123683E, "btrfs", 1, NULL, 0, 0 },
	{ 0xF2F52010, "f2fs", 1, NULL, 0, 0 },
	{ 0x3153464A, "jfs", 1, NULL, 0, 0 },
	{ 0x52654973, "reiserfs", 1, NULL, 0, 0 },
	{ 0x2FC12FC1, "zfs", 1, NULL, 0, 0 },     /* zil_commit() */
	{ 0x794C7630, "overlayfs", 1,
	  "which syncs its upper file system", 0, 0 },
	/* nothing survives a reboot, whatever is synced: batch costs least */
	{ 0x01021994, "tmpfs", 1, "which keeps nothing across a reboot", 0, 1 },
	{ 0x858458F6, "ramfs", 1, "which keeps nothing across a reboot", 0, 1 },
	/* virtiofs is FUSE too, and would honour it; we cannot tell */
	{ 0x65735546, "fuse", 0, "syncfs is not passed to the daemon", 0, 0 },
	{ 0x6969, "nfs", 0,
	  "syncfs commits nothing on the server; durable only with a sync "
	  "export", 1, 0 },
	{ 0xFF534D42, "cifs", 0, "syncfs does not flush on the server", 1, 0 },
	{ 0xFE534D42, "smb2", 0, "syncfs does not flush on the server", 1, 0 },
	{ 0x517B, "smb", 0, "syncfs does not flush on the server", 1, 0 },
	{ 0x01021997, "9p", 0, "syncfs is not passed to the server", 0, 0 },
	/* named in messages only (mode each: no journal, or not known) */
	{ 0x4D44, "vfat/msdos", 0, NULL, 0, 0 },
	{ 0x2011BAB0, "exfat", 0, NULL, 0, 0 },
	{ 0x5346544E, "ntfs", 0, NULL, 0, 0 },
	{ 0x7366746E, "ntfs3", 0, NULL, 0, 0 },
	{ 0x00C36400, "ceph", 0, NULL, 0, 0 },
};

void mm_fstype_lookup(unsigned long magic, struct mm_fstype *t_r)
{
	memset(t_r, 0, sizeof(*t_r));
	t_r->magic = magic;
	t_r->name = "unknown";
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (known[i].magic == magic) {
			*t_r = known[i];
			return;
		}
	}
}

void mm_fstype_of(int fd, struct mm_fstype *t_r)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0) {
		mm_fstype_lookup(0, t_r);
		return;
	}
	/* f_type is a signed word: 0xFF534D42 is negative on 32 bits */
	mm_fstype_lookup((unsigned long)sf.f_type & 0xFFFFFFFFUL, t_r);
}

enum mm_fsync mm_fstype_mode(enum mm_fsync asked, const struct mm_fstype *t,
			     int *durable_r, char *why_r, size_t whysz)
{
	char doubt[96];

	if (t->syncfs_ok)
		doubt[0] = '\0';
	else if (t->why != NULL)
		snprintf(doubt, sizeof(doubt), "%s: %s", t->name, t->why);
	else if (t->magic != 0 && strcmp(t->name, "unknown") != 0)
		snprintf(doubt, sizeof(doubt), "%s: not known to honour syncfs",
			 t->name);
	else if (t->magic != 0)
		snprintf(doubt, sizeof(doubt), "unknown file system 0x%lx: not "
			 "known to honour syncfs", t->magic);
	else
		snprintf(doubt, sizeof(doubt), "cannot tell the file system: "
			 "not known to honour syncfs");

	switch (asked) {
	case MM_FSYNC_AUTO:
		break;
	case MM_FSYNC_BATCH:
		*durable_r = t->syncfs_ok;
		if (t->syncfs_ok)
			snprintf(why_r, whysz, "batch (asked)");
		else
			snprintf(why_r, whysz, "batch (asked; NOT durable on %s)",
				 doubt);
		return asked;
	case MM_FSYNC_EACH:
	case MM_FSYNC_NONE:
		*durable_r = asked == MM_FSYNC_EACH;
		snprintf(why_r, whysz, "%s (asked)", mm_fsync_name(asked));
		return asked;
	}
	*durable_r = 1;
	if (!t->syncfs_ok) {
		snprintf(why_r, whysz, "each (%s)", doubt);
		return MM_FSYNC_EACH;
	}
	snprintf(why_r, whysz, "batch (syncfs on %s%s%s)", t->name,
		 t->why ? ", " : "", t->why ? t->why : "");
	return MM_FSYNC_BATCH;
}
