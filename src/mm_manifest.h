/* mm_manifest.h - the per-message manifest of a pass (--manifest FILE):
 * one JSON object per line, for every message of each mbox converted,
 * and for every file a sync pass removed:
 *
 *	{"source":"/var/spool/mail/alice","maildir":"/home/alice/Maildir",
 *	 "number":12,"offset":40960,"size":2311,
 *	 "digest":"mm64:9c1f0e4b7a2d3e51","flags":"cur:2,RS","uid":7,
 *	 "uidl":"3bd6a9c200000007","file":"cur/1046...,S=2311:2,RS",
 *	 "action":"re-flagged","reason":null}
 *
 * maildir: the Maildir as the run was given it (a folder's with its
 * ".name"); number and offset: where the message is in the mbox (null
 * for a removed file); size: the bytes of its file (null without one);
 * digest: of the bytes of its file as delivered, "mm64:" and 16 hex
 * digits (mm_digest.h: finds damage, not forgery; a stronger digest
 * would have another prefix), null when not known (no file, or one of
 * a pass of an older version in a pass without sync);
 * flags: what the mbox says (new/ or cur/ and the info); uid, uidl:
 * its X-UID and X-UIDL, null if none; file: its name in the Maildir
 * now (or the removed one's); action: delivered, present, repaired,
 * re-flagged, conflict (changed on both servers, see reason),
 * kept-deleted (deleted on the new server, not delivered again),
 * removed, changed (its bytes in the mbox are no longer those of its
 * file, which was kept: see mm_sync.h), or failed (with the reason).
 * The lines of removed files come after those of the messages. Strings are UTF-8: a byte
 * that is not part of valid UTF-8 is written as the text \xNN.
 *
 * The file is written as "<FILE>.mmtmp" (created with O_EXCL, never
 * through a symlink, mode 0600) and renamed over FILE when the run
 * ends, so a manifest that exists is whole. Each line is one write(2)
 * with O_APPEND, so the jobs of a batch (forked: they inherit the
 * descriptor) can share it.
 */
#ifndef MM_MANIFEST_H
#define MM_MANIFEST_H

#include <stdint.h>
#include <sys/types.h>

#include "mm_err.h"

struct mm_manifest;

/* Create "<path>.mmtmp" (a leftover of a killed run of ours removed
 * first), the path walked as mm_fs_open_path() does (trust: follow
 * any symlink on it). NULL on error. */
struct mm_manifest *mm_manifest_create(const char *path, int trust,
				       struct mm_err *err_r);
/* Its descriptor (for mm_sync_opts.manifest_fd). */
int mm_manifest_fd(const struct mm_manifest *mf);
/* Sync it and rename it to path (then free the handle). 0 or -1. */
int mm_manifest_commit(struct mm_manifest *mf, struct mm_err *err_r);
/* Free it; in the process that created it, the temporary file is
 * removed (a forked job's exit leaves it alone). */
void mm_manifest_free(struct mm_manifest *mf);

/* One line. Strings may be NULL (null in JSON); has_* say whether the
 * numbers are known. */
struct mm_manifest_line {
	const char *source;
	const char *maildir;
	int has_number;
	unsigned long number;
	uint64_t offset;
	int has_size;
	uint64_t size;
	int has_digest;
	uint64_t digest;
	const char *flags;
	int has_uid;
	uint32_t uid;
	const char *uidl;
	const char *file;
	const char *action;
	const char *reason;
};

/* Write line to fd in one write(2). 0, or -1 (err_r). */
int mm_manifest_write(int fd, const struct mm_manifest_line *l,
		      struct mm_err *err_r);

/* Checking a Maildir against the lines of a manifest of an earlier
 * pass, without the mbox (--verify-manifest): the Maildir opened
 * read-only (mm_maildir_open(): no symlink on the path unless trust,
 * nothing created, no lock) and listed once. NULL on error. */
struct mm_manifest_check;
struct mm_manifest_check *mm_manifest_check_open(const char *maildir,
						 int trust,
						 struct mm_err *err_r);
/* The file of a line ("new/NAME" or "cur/NAME"), found by its base
 * name in new/ or cur/ (the new server may have changed its flags, or
 * moved it to cur/), else by its key (a repair's other ",S="): opened
 * as mm_maildir_open_entry() does and compared with size and, when
 * has_digest, digest (mm_digest.h). 0: there and the same; 1: missing
 * (why_r); 2: different or unreadable (why_r); found_r gets its name
 * now ("" when missing). */
int mm_manifest_check_file(struct mm_manifest_check *c, const char *file,
			   uint64_t size, int has_digest, uint64_t digest,
			   char *found_r, size_t found_len,
			   struct mm_err *why_r);
void mm_manifest_check_free(struct mm_manifest_check *c);

#endif
