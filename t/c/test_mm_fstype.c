/* test_mm_fstype.c - which fsync mode each file system gets, and what
 * the report says about it (src/mm_fstype.c). */
#include "mm_test.h"
#include "mm_fstype.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct mode_case {
	unsigned long magic;
	enum mm_fsync asked, used;
	int durable;
	const char *why;
};

static const struct mode_case cases[] = {
	/* the default: batch only where syncfs() is honoured */
	{ 0xEF53, MM_FSYNC_AUTO, MM_FSYNC_BATCH, 1, "batch (syncfs on ext4)" },
	{ 0x58465342, MM_FSYNC_AUTO, MM_FSYNC_BATCH, 1, "batch (syncfs on xfs)" },
	{ 0x9123683E, MM_FSYNC_AUTO, MM_FSYNC_BATCH, 1, "batch (syncfs on btrfs)" },
	{ 0xF2F52010, MM_FSYNC_AUTO, MM_FSYNC_BATCH, 1, "batch (syncfs on f2fs)" },
	{ 0x3153464A, MM_FSYNC_AUTO, MM_FSYNC_BATCH, 1, "batch (syncfs on jfs)" },
	{ 0x52654973, MM_FSYNC_AUTO, MM_FSYNC_BATCH, 1,
	  "batch (syncfs on reiserfs)" },
	{ 0x2FC12FC1, MM_FSYNC_AUTO, MM_FSYNC_BATCH, 1, "batch (syncfs on zfs)" },
	{ 0x794C7630, MM_FSYNC_AUTO, MM_FSYNC_BATCH, 1,
	  "batch (syncfs on overlayfs, which syncs its upper file system)" },
	{ 0x01021994, MM_FSYNC_AUTO, MM_FSYNC_BATCH, 1,
	  "batch (syncfs on tmpfs, which keeps nothing across a reboot)" },
	{ 0x65735546, MM_FSYNC_AUTO, MM_FSYNC_EACH, 1,
	  "each (fuse: syncfs is not passed to the daemon)" },
	{ 0x6969, MM_FSYNC_AUTO, MM_FSYNC_EACH, 1,
	  "each (nfs: syncfs commits nothing on the server; durable only "
	  "with a sync export)" },
	{ 0xFF534D42, MM_FSYNC_AUTO, MM_FSYNC_EACH, 1,
	  "each (cifs: syncfs does not flush on the server)" },
	{ 0xFE534D42, MM_FSYNC_AUTO, MM_FSYNC_EACH, 1,
	  "each (smb2: syncfs does not flush on the server)" },
	{ 0x4D44, MM_FSYNC_AUTO, MM_FSYNC_EACH, 1,
	  "each (vfat/msdos: not known to honour syncfs)" },
	{ 0x1234, MM_FSYNC_AUTO, MM_FSYNC_EACH, 1,
	  "each (unknown file system 0x1234: not known to honour syncfs)" },
	{ 0, MM_FSYNC_AUTO, MM_FSYNC_EACH, 1,
	  "each (cannot tell the file system: not known to honour syncfs)" },
	/* --fsync given: used as it is, and said whether it is durable */
	{ 0xEF53, MM_FSYNC_BATCH, MM_FSYNC_BATCH, 1, "batch (asked)" },
	{ 0x65735546, MM_FSYNC_BATCH, MM_FSYNC_BATCH, 0,
	  "batch (asked; NOT durable on fuse: syncfs is not passed to the "
	  "daemon)" },
	{ 0xEF53, MM_FSYNC_EACH, MM_FSYNC_EACH, 1, "each (asked)" },
	{ 0x65735546, MM_FSYNC_EACH, MM_FSYNC_EACH, 1, "each (asked)" },
	{ 0xEF53, MM_FSYNC_NONE, MM_FSYNC_NONE, 0, "none (asked)" },
	{ 0x6969, MM_FSYNC_NONE, MM_FSYNC_NONE, 0, "none (asked)" },
};

static void test_modes(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct mode_case *c = &cases[i];
		struct mm_fstype t;
		char why[160];
		int durable = -1;
		enum mm_fsync used;

		mm_fstype_lookup(c->magic, &t);
		used = mm_fstype_mode(c->asked, &t, &durable, why, sizeof(why));
		check(used == c->used, "mode used", c->why);
		check(durable == c->durable, "durable", c->why);
		check(strcmp(why, c->why) == 0, "reason", why);
	}
}

/* A real descriptor: this directory is on some file system, whose name
 * is never empty; a closed descriptor is "unknown", never batch. */
static void test_fd(void)
{
	struct mm_fstype t;
	char why[160];
	int durable, fd = open(".", O_RDONLY | O_DIRECTORY);

	mm_fstype_of(fd, &t);
	check(t.magic != 0 && t.name[0] != '\0', "fstatfs of .", t.name);
	close(fd);
	mm_fstype_of(fd, &t);
	check(t.magic == 0 && !t.syncfs_ok, "closed descriptor", t.name);
	check(mm_fstype_mode(MM_FSYNC_AUTO, &t, &durable, why, sizeof(why)) ==
	      MM_FSYNC_EACH, "closed descriptor: each", why);
	/* the text always fits, cut if it must */
	mm_fstype_lookup(0x6969, &t);
	mm_fstype_mode(MM_FSYNC_AUTO, &t, &durable, why, 8);
	check(strcmp(why, "each (n") == 0, "cut to size", why);
}

/* O_TMPFILE where it was measured faster than named files in tmp/:
 * ext4 (and tmpfs, ramfs); not xfs, btrfs (slower), nor the rest (not
 * measured, or no O_TMPFILE). */
static void test_tmpfile(void)
{
	static const struct {
		unsigned long magic;
		int tmpfile;
	} want[] = {
		{ 0xEF53, 1 }, { 0x01021994, 1 }, { 0x858458F6, 1 },
		{ 0x58465342, 0 }, { 0x9123683E, 0 }, { 0x6969, 0 },
		{ 0x65735546, 0 }, { 0x12345678, 0 }, { 0, 0 },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct mm_fstype t;
		char what[64];

		mm_fstype_lookup(want[i].magic, &t);
		snprintf(what, sizeof(what), "%s (0x%lx)", t.name, want[i].magic);
		check(t.tmpfile == want[i].tmpfile,
		      want[i].tmpfile ? "O_TMPFILE" : "named files in tmp/", what);
	}
}

int main(void)
{
	test_modes();
	test_tmpfile();
	test_fd();
	check(mm_fsync_name(MM_FSYNC_AUTO)[0] == 'a', "auto has a name", NULL);
	{
		enum mm_fsync m = MM_FSYNC_NONE;
		check(mm_fsync_parse("auto", &m) == 0 && m == MM_FSYNC_AUTO,
		      "auto parses", "auto");
		check(mm_fsync_parse("sometimes", &m) < 0, "bad mode", "sometimes");
	}
	return test_summary();
}
