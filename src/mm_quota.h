/* mm_quota.h - the Maildir++ quota file (maildirsize), kept in line with
 * the Maildir across kills.
 *
 * maildirsize lives in the top Maildir. Its first line is the quota
 * definition ("10000000S,1000C"); each further line is "bytes count"
 * (either may be negative); the usage is the sum over those lines. The
 * usage covers the top Maildir and its Maildir++ folders (.name/). A
 * Maildir that holds a "maildirfolder" file is a folder: its quota file
 * is its parent's (when the parent has the folder's owner).
 *
 * What is counted follows vpopmail's recount (maildirquota.c, the same
 * in 5.4.33 and 5.6.13), so that our figures are the ones vpopmail's own
 * recalculation arrives at:
 *   - new/ and cur/ of the top, and of every entry of the top whose name
 *     starts with '.', except ".", ".." and ".Trash";
 *   - in them, every name not starting with '.', except messages whose
 *     info (after the first ":2,") has a T (deleted) flag;
 *   - the size is the number after the last ",S=" before the info, else
 *     the file's own size.
 * Where we differ, it is for safety as root: a folder, new/ or cur/ that
 * is a symlink is not followed (not counted), and a name without ",S="
 * counts only when it is a regular file.
 *
 * Deliveries into .Trash count nothing, as the recount leaves it out.
 *
 * Both ways of keeping the file right are used (mm_maildir_sync.c):
 *   (b) a batch's line is appended BEFORE its files are renamed into
 *       new/ and cur/, and a negative line takes back what was then
 *       lost: a kill can leave the file high (by at most one batch),
 *       never low, and high is the safe side for a quota (Courier and
 *       vpopmail recount on their own when a user is refused);
 *   (a) each run starts by recounting the Maildir and rewriting the
 *       file (quota line plus one line of totals, tmp + rename) when its
 *       sum disagrees, when it has a line that is not "bytes count", or
 *       when it is 5120 bytes or more (the Maildir++ rule); this mends
 *       what (b) cannot: a power cut before the line reached the disk,
 *       a run killed after its line and before its renames, files of
 *       older versions or other tools, and folder deliveries.
 * A recount is not written when maildirsize changed while we counted (a
 * server delivered or expunged meanwhile: all of them append to it); the
 * next run tries again.
 *
 * As root in a directory the user owns, maildirsize is opened with
 * O_NOFOLLOW|O_NONBLOCK and refused unless fstat says it is a regular
 * file with one link: a symlink, a hard link (perhaps to a file of
 * root's), a FIFO or a device is reported and left alone, and nothing
 * ever blocks on it. A rewrite goes through an O_EXCL file
 * (maildirsize.mmtmp) given to the Maildir's owner with fchown.
 */
#ifndef MM_QUOTA_H
#define MM_QUOTA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mm_err.h"

#define MM_QUOTA_REBUILD_SIZE 5120 /* Maildir++: rebuild from this size */

struct mm_quota_usage {
	int64_t bytes, count;
};

/* Parse the text of a maildirsize file (buf, len bytes, not NUL-
 * terminated). *def_len_r: the length of the quota definition (the first
 * line, without its newline). *u_r: the sum of the further lines.
 * *bad_r: how many further lines are not "bytes count" (optional sign,
 * digits, one or more blanks, optional sign, digits, optional further
 * fields as Courier allows; an empty last piece after the final newline
 * is not a line); they add nothing. Returns the number of lines summed,
 * or -1 when there is no complete first line (no quota definition). */
int mm_quota_parse(const char *buf, size_t len, size_t *def_len_r,
		   struct mm_quota_usage *u_r, unsigned *bad_r);

/* Does a file of new/ or cur/ named name count (vpopmail's rules, see
 * above)? Returns 0 if it does not count, 1 if it counts with the size in
 * *size_r (from ",S="), 2 if it counts with the file's own size (no
 * ",S=" in its name). */
int mm_quota_name(const char *name, uint64_t *size_r);

/* Count the usage of the Maildir++ tree whose top directory is topfd
 * (not closed). Returns 0, or -1 (err_r) when a directory could not be
 * read (a missing folder new/ or cur/ counts nothing). */
int mm_quota_scan(int topfd, struct mm_quota_usage *u_r, struct mm_err *err_r);

struct mm_quota_opts {
	int chown;      /* give a rewritten file to uid/gid (running as root) */
	uid_t uid;
	gid_t gid;
	int sync;       /* fsync what is written (not fsync mode none) */
};

/* The maildirsize of one run; NULL stands for "no quota file", and every
 * function below accepts it and does nothing. */
struct mm_quota;

/* Find the maildirsize for the Maildir dfd (not closed, not kept): its
 * own, or its parent's when dfd is a folder. Check and recount it (see
 * above). *q_r: the handle (free with mm_quota_free), or NULL when
 * there is no maildirsize or it was refused. Returns 0, or -1 (err_r: a
 * trouble of the Maildir, not of any message) when maildirsize was
 * refused (*q_r NULL) or a recount could not be written (*q_r still set:
 * appending goes on). */
int mm_quota_open(int dfd, const struct mm_quota_opts *opts,
		  struct mm_quota **q_r, struct mm_err *err_r);

/* Account for one file named name (its final name, info included) of
 * size bytes: added (sign 1) or taken back (sign -1). Files that do not
 * count (mm_quota_name) change nothing. Nothing is written yet. */
void mm_quota_note(struct mm_quota *q, const char *name, uint64_t size,
		   int sign);

/* Append one line for what was noted since the last call, if anything
 * (not synced: see mm_quota_finish). A file that is no longer a regular
 * file with one link is refused. After a failure (reported once, -1 and
 * err_r) nothing more is written in this run; the next run recounts. */
int mm_quota_write(struct mm_quota *q, struct mm_err *err_r);

/* End of a run: write what is noted, fsync the file (opts->sync), and
 * recount when the lines have made it 5120 bytes or more. Returns 0 or
 * -1 (err_r). May be called again (does nothing new). */
int mm_quota_finish(struct mm_quota *q, struct mm_err *err_r);

void mm_quota_free(struct mm_quota *q);

#endif
