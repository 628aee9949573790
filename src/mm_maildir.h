/* mm_maildir.h - durable, idempotent, symlink-safe Maildir delivery.
 *
 * A message is written into tmp/, made durable, then linked or renamed
 * into new/ or cur/ without ever replacing an existing file, so a reader
 * never sees a partial message. Where O_TMPFILE is faster (ext4, tmpfs:
 * mm_fstype.h) and works (mm_maildir_probe(); fsync mode batch or none),
 * the file in tmp/ has no name: it is kept open until its batch is synced and linked by
 * its descriptor (linkat(), EEXIST when the name is taken), so a crash
 * leaves nothing in tmp/; else it is tmp/<name>, renamed. Names are
 * deterministic for a given source message:
 *
 *	<time>.H<16 hex digits>[_<k>].<host>,S=<size>[:2,<flags>]
 *
 * where the hex digits are the message's identity hash (struct mm_msg)
 * and k counts identical copies in the same mbox; or exactly the name
 * given to mm_maildir_begin_named() (a POP3 UIDL to keep), plus the info
 * part. Delivering the same mbox twice therefore adds nothing:
 * mm_maildir_has() knows the keys of the files already in new/ and cur/
 * (whatever the flags or the host part of their names say now).
 *
 * In fsync modes batch and each, a full batch is synced and renamed by
 * a thread of its own (all signals blocked, no other state touched)
 * while the next batch is written; the next hand-off, mm_maildir_flush() and
 * mm_maildir_close() wait for it. Its losses are reported then.
 *
 * Everything is opened relative to directory descriptors with O_NOFOLLOW,
 * files with O_CREAT|O_EXCL (or O_TMPFILE: no name at all), owners set
 * on descriptors (mm_fs.h): a
 * symlink or hard link planted in the Maildir is never written or
 * chowned through, and a Maildir, tmp/, new/ or cur/ that is a symlink
 * is refused.
 */
#ifndef MM_MAILDIR_H
#define MM_MAILDIR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mm_err.h"

enum mm_fsync {
	MM_FSYNC_AUTO = 0,  /* batch where the file system honours syncfs(),
			     * else each (mm_fstype.h) */
	MM_FSYNC_BATCH,     /* sync a batch of files at once, then link or
			     * rename them; their entries are committed by
			     * the next batch's sync, the last batch's by
			     * fsyncs of new/ and cur/ in mm_maildir_flush() */
	MM_FSYNC_EACH,      /* fsync every file before its rename; after a
			     * batch of renames, new/, cur/ and the last
			     * file moved */
	MM_FSYNC_NONE,      /* leave it to the kernel (fast, not crash-safe) */
};

const char *mm_fsync_name(enum mm_fsync mode);
int mm_fsync_parse(const char *name, enum mm_fsync *mode_r);

struct mm_maildir_opts {
	enum mm_fsync fsync;
	int owner_given;     /* use uid/gid below instead of the Maildir's */
	uid_t uid;
	gid_t gid;
	const char *host;    /* host part of names; NULL: this host's name */
	unsigned batch_max;  /* messages per batch; 0: 256 */
	uint64_t batch_bytes;/* bytes per batch; 0: 64 MiB */
	int readonly;        /* only look: create and clean nothing */
	int trust_paths;     /* follow user-owned symlinks on the path */
	int at_set;          /* path is one name in the directory at_fd */
	int at_fd;           /* (a Maildir++ folder in its Maildir) */
	/* Bytes one message may have; 0: MM_MAX_SIZE_DEFAULT. A message
	 * that grows beyond it fails in mm_maildir_write() with
	 * MM_E_TOOBIG before its tmp/ file does. */
	uint64_t max_size;
	int lock_timeout;    /* seconds to wait for another writer's lock
			      * on the Maildir (0: fail at once, <0: wait
			      * as long as it takes) */
};

#define MM_MAX_SIZE_DEFAULT (UINT64_C(2) << 30) /* 2 GiB */

struct mm_maildir_stats {
	unsigned long delivered, to_new, to_cur;
	unsigned long linked;      /* of delivered: O_TMPFILEs linked by
				    * descriptor, not renamed from tmp/ */
	uint64_t bytes;
	unsigned long tmp_cleaned; /* leftovers of a killed run removed */
	unsigned long batches;
	enum mm_fsync fsync;       /* the mode used (never AUTO) */
	int durable;               /* it makes messages durable here */
	char durability[160];      /* mode and why: "batch (syncfs on ext4)" */
	unsigned long repaired;    /* damaged files replaced (not delivered) */
	unsigned long batches_by_file; /* of batches: synced file by file
				    * (much else dirty), not by syncfs() */
};

struct mm_maildir;

/* Open (and create, with its tmp/ new/ cur/, mode 0700) the Maildir at
 * path. The parent of path must exist. The path is walked as
 * mm_fs_open_path() does: a symlink on it is refused unless root owns
 * it (or opts->trust_paths). Run as root, what is created
 * belongs to the owner of the Maildir (or of its parent when it is
 * created), or to opts->uid/gid. Removes our own leftovers from tmp/ and
 * reads the identities present in new/ and cur/. Unless readonly, finds
 * the Maildir++ quota file (its own maildirsize, or its parent's for a
 * folder), recounts it and keeps it right while delivering (mm_quota.h);
 * its trouble is reported by mm_maildir_failure() (msgno 0). NULL on
 * error. Chooses the fsync mode from opts->fsync and the file system
 * (mm_fstype_mode(); the stats say which and why).
 *
 * Unless opts->readonly, the Maildir is locked for the writer first
 * (flock on its directory; a lock file on NFS and SMB; see
 * mm_maildir_lock.c), waiting up to opts->lock_timeout seconds for
 * another run's writer, and tmp/ is cleaned only then. Before the first
 * message, one empty file of ours goes tmp/ -> new/ -> cur/ (with
 * ":2,") and away: a target that cannot take the delivery protocol
 * fails here, with one error naming its file system and what it lacks.
 * Directories created are chowned only when their owner differs. */
struct mm_maildir *mm_maildir_open(const char *path,
				   const struct mm_maildir_opts *opts,
				   struct mm_err *err_r);

/* A warning about the target found at open (e.g. no RENAME_NOREPLACE:
 * delivering by link and unlink), once: 1 and *w_r filled, else 0. */
int mm_maildir_warning(struct mm_maildir *md, struct mm_err *w_r);

/* Deliver what is pending and release everything. Returns 0, or -1 if
 * the last batch could not be made durable and visible (err_r filled;
 * its files are removed from tmp/). The handle is freed either way, so
 * to learn which messages were lost, call mm_maildir_flush() and drain
 * mm_maildir_failure() first. */
int mm_maildir_close(struct mm_maildir *md, struct mm_err *err_r);

/* The key of message identity hash with copy number k. */
uint64_t mm_maildir_key(uint64_t hash, unsigned k);

/* Was a message with this key in new/ or cur/ when opened (or delivered
 * since)? Only a sound file counts (see mm_maildir_damaged()). */
int mm_maildir_has(const struct mm_maildir *md, uint64_t key);

/* A file in new/ or cur/ that holds a key but not the message: one of
 * our H names whose size is not the ",S=" the name promises, or a name
 * without ",S=" (a UIDL) that is empty. Found at open (one fstatat per
 * file that can be ours, none in readonly mode); regular files only: a
 * symlink, FIFO or other non-file never counts as present nor damaged.
 * A key with a sound file is present, and its damaged copies are left
 * alone; of several damaged files of one key, one (the first by name)
 * is repaired and the others are left alone. */
struct mm_maildir_damaged {
	uint64_t key;
	uint64_t size;      /* its size at open */
	int in_cur;         /* in cur/, else new/ */
	int has_size;       /* its name promises a size (",S=") */
	char *name;         /* its name in new/ or cur/, owned by md */
};

/* The damaged file of key, when no sound file holds key; else NULL.
 * Valid as long as md. */
const struct mm_maildir_damaged *mm_maildir_damaged(const struct mm_maildir *md,
						    uint64_t key);

/* Start a message: creates its file in tmp/. msgno and offset say where
 * it came from, for error reports. Returns 0 or -1. */
int mm_maildir_begin(struct mm_maildir *md, time_t name_time, uint64_t hash,
		     unsigned k, unsigned long msgno, uint64_t offset,
		     struct mm_err *err_r);
/* Start a message whose file name is exactly base (plus the info part in
 * cur/; no ",S="), e.g. a POP3 UIDL to keep. base must pass
 * mm_maildir_name_ok(). Its key is mm_maildir_plain_key(base). */
int mm_maildir_begin_named(struct mm_maildir *md, const char *base,
			   unsigned long msgno, uint64_t offset,
			   struct mm_err *err_r);

/* Start re-delivering the message of key over the damaged file name
 * in cur/ (in_cur) or new/: written to tmp/ and made durable as any
 * message, then mm_maildir_commit() renames it over that file, keeping
 * its name (the info part may hold the user's flags of now; commit's
 * in_cur and info are ignored), and when the name's ",S=" is not the
 * new size, renames it once more to the name with the right size
 * (never replacing). Counted in stats as repaired, not delivered;
 * maildirsize is left as it is. */
int mm_maildir_begin_repair(struct mm_maildir *md, int in_cur,
			    const char *name, uint64_t key,
			    unsigned long msgno, uint64_t offset,
			    struct mm_err *err_r);

/* The size a file name promises (",S=<digits>" before any ":2,"):
 * 1 and *size_r set, 0 if it promises none. */
int mm_maildir_name_size(const char *name, uint64_t *size_r);

/* Can s be a Maildir file name of its own: 1-70 printable ASCII
 * characters (a POP3 UIDL's alphabet), none of "/:,", not starting
 * with "."? */
int mm_maildir_name_ok(const char *s);

/* The key of a file named base (up to its ":2," part), for names that
 * are not of our H form. */
uint64_t mm_maildir_plain_key(const char *base, size_t len);

/* The key of any file name in new/ or cur/: ours (H form) or plain. */
void mm_maildir_any_key(const char *name, uint64_t *key_r);

/* Append bytes to the started message. When the message would grow
 * beyond opts.max_size, nothing of data is written and it fails with
 * MM_E_TOOBIG: the tmp/ file never holds more than the limit; give the
 * message up with mm_maildir_abort(). */
int mm_maildir_write(struct mm_maildir *md, const char *data, size_t len,
		     struct mm_err *err_r);
/* Finish it: mtime, owner, then (per fsync mode, possibly later in a
 * batch) durable and renamed into cur/ with ":2,<info>" when in_cur,
 * else new/. info: Maildir flag letters in order, "" for none. */
int mm_maildir_commit(struct mm_maildir *md, time_t mtime, int in_cur,
		      const char *info, struct mm_err *err_r);
/* Give up the started message: its tmp/ file is removed. */
void mm_maildir_abort(struct mm_maildir *md);

/* Make every committed message durable and visible now, its directory
 * entry too. */
int mm_maildir_flush(struct mm_maildir *md, struct mm_err *err_r);

/* Committed messages can still be lost when their batch is made durable
 * and visible (mm_maildir_commit, _flush, _close return -1 then). Each
 * such message is reported once, with its msgno and offset; trouble of
 * the Maildir as a whole (maildirsize, syncing a directory) has msgno 0.
 * Returns 1 and fills *e_r, 0 when there is none left. */
int mm_maildir_failure(struct mm_maildir *md, struct mm_err *e_r);

const struct mm_maildir_stats *mm_maildir_stats(const struct mm_maildir *md);

/* The files present in new/ and cur/, sorted by key, for verification
 * and UID lists: name is "new/..." or "cur/...". */
struct mm_maildir_entry {
	uint64_t key;
	char *name;
};
struct mm_maildir_list {
	struct mm_maildir_entry *entries;
	size_t len;
	char *arena;
};
int mm_maildir_list(struct mm_maildir *md, struct mm_maildir_list *list_r,
		    struct mm_err *err_r);
/* Open a listed file for reading (through the descriptors of new/ and
 * cur/ held since mm_maildir_open(), never a symlink, never blocking
 * on a FIFO, regular files only). Returns the descriptor or -1. */
int mm_maildir_open_entry(const struct mm_maildir *md,
			  const struct mm_maildir_entry *e,
			  struct mm_err *err_r);
/* The entry with key, or NULL. */
const struct mm_maildir_entry *
mm_maildir_list_find(const struct mm_maildir_list *list, uint64_t key);
void mm_maildir_list_free(struct mm_maildir_list *list);

/* Parse one of our names: 1 and *key_r set, 0 if not one of ours. */
int mm_maildir_name_key(const char *name, uint64_t *key_r);

/* mm_maildir_change.c: a sync pass on files that are there (mm_sync.h).
 * Rename name in cur/ (in_cur) or new/ to the same base name in cur/
 * (to_cur) or new/ with ":2,<info>" (info NULL: no info part), never
 * replacing a file: the base name, so IMAP UIDs and POP3 UIDLs, stay.
 * 0 or -1. */
int mm_maildir_reflag(struct mm_maildir *md, int in_cur, const char *name,
		      int to_cur, const char *info, struct mm_err *err_r);
/* Remove name in cur/ or new/ if it is a regular file of size bytes:
 * moved to tmp/, checked to be the file that was checked (a name
 * swapped in between is moved back), then unlinked; maildirsize is
 * noted. 0 or -1 (nothing removed). */
int mm_maildir_remove(struct mm_maildir *md, int in_cur, const char *name,
		      uint64_t size, struct mm_err *err_r);
/* After renames and removals: fsync new/, cur/ and tmp/ (unless fsync
 * mode none, or none was made) and the maildirsize lines. 0 or -1. */
int mm_maildir_changes_done(struct mm_maildir *md, struct mm_err *err_r);
/* Who owns what md creates (for files beside the messages). */
struct mm_fs_owner;
void mm_maildir_owner(const struct mm_maildir *md, struct mm_fs_owner *own_r);

/* Directory descriptor of the Maildir itself (for openat), owned by md. */
int mm_maildir_fd(const struct mm_maildir *md);

#endif
