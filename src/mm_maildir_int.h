/* mm_maildir_int.h - internals shared by the mm_maildir*.c files. */
#ifndef MM_MAILDIR_INT_H
#define MM_MAILDIR_INT_H

#include <dirent.h>
#include <pthread.h>

#include "mm_keyset.h"
#include "mm_maildir.h"
#include "mm_quota.h"

#define MM_BATCH_LIMIT 512   /* messages in one batch, at most */
#define MM_NAME_MAX 256
#define MM_TMP_PREFIX "mmtmp." /* tmp/ names of named messages */
#define MM_FAIL_SPARE 4      /* failure records beyond one per message */
/* room for the failures of two batches: the one being settled and the
 * one being written */
#define MM_FAIL_CAP(md) (2 * (md)->opts.batch_max + MM_FAIL_SPARE)

/* How a message's file is made (mm_maildir_probe() decides at open). */
enum mm_create {
	MM_CREATE_NAMED = 0, /* tmp/NAME (O_EXCL), closed at commit, renamed */
	MM_CREATE_EMPTY,     /* O_TMPFILE in tmp/, kept open, linked with
			      * linkat(fd, "", AT_EMPTY_PATH) */
	MM_CREATE_PROC,      /* the same, linked through /proc/self/fd/N */
};

/* Open files a batch may hold (O_TMPFILE): the rest of RLIMIT_NOFILE
 * after what is open at mm_maildir_open() and this spare, halved for
 * the batch in flight and the one being written. Where that cuts a
 * batch below MM_FD_MIN: named files (closed at commit) instead, in
 * batches of batch_max: a sync per batch costs more than unnamed files save
 * (about 8 ms against 10 us a message on journaled ext4). */
#define MM_FD_SPARE 48
#define MM_FD_MIN 128

/* A batch is synced file by file (not syncfs) when its file system has
 * this much more dirty data than the batch and the next hold (ext4,
 * which counts it; elsewhere never), by at most MM_SYNC_THREADS threads
 * (mm_maildir_sync.c by_file()). */
#define MM_SYNC_FOREIGN (UINT64_C(64) << 20)
#define MM_SYNC_THREADS 8

enum mm_sync_how { MM_SYNC_AUTO = 0, MM_SYNC_FS, MM_SYNC_FILES };
#define MM_DIR_NEW 1u
#define MM_DIR_CUR 2u

/* A message written (to tmp/, or O_TMPFILE in it and left open),
 * waiting to be made durable and visible. */
struct mm_pending {
	int in_cur;
	int anon;               /* no name in tmp/: O_TMPFILE, linked by fd */
	int fd;                 /* anon: its descriptor until linked, or -1 */
	int err;                /* errno of its rename, once tried; else 0 */
	unsigned long msgno;    /* where it came from, for error reports */
	uint64_t offset;
	uint64_t size, key;
	char tmp[MM_NAME_MAX];
	char final[MM_NAME_MAX + 64];
	int replace;            /* final is a damaged file to replace */
	int fix_err;            /* errno of the rename to fixed, once tried */
	char fixed[MM_NAME_MAX + 64]; /* then its name with the right ,S=;
				       * "" when final has it already */
};

/* A batch on its way to new/ and cur/: synced, then renamed, then the
 * directories synced, by a thread of its own while the next batch is
 * written (mm_maildir_sync.c). */
struct mm_batch {
	struct mm_pending *p;   /* batch_max entries, n used */
	unsigned n;
	int sync_errno;         /* the sync failed: none of it may show */
	int dirs_errno;         /* syncing new/ or cur/ failed */
	int by_file;            /* synced file by file, not by syncfs() */
	unsigned dirs_made;     /* MM_DIR_NEW|MM_DIR_CUR: it linked or renamed
				 * into them (in mode batch, made durable
				 * by the next batch's sync or the flush) */
	unsigned dirs_done;     /* of md->dirs_owed when it took off: made
				 * durable by its sync */
	int running;            /* a thread works on it */
	pthread_t thread;
};

struct mm_maildir {
	struct mm_maildir_opts opts;
	int dfd, tmpfd, newfd, curfd;
	int lockfd;             /* the lock file's, on NFS and SMB; else -1 */
	int link_only;          /* no RENAME_NOREPLACE here: link+unlink */
	enum mm_create create;  /* how messages are made (a repair: named) */
	int fs_tmpfile;         /* the file system is one where O_TMPFILEs
				 * are faster (mm_fstype.h) */
	unsigned batch_cap;     /* messages per batch: opts.batch_max, or
				 * fewer when open files are scarce */
	enum mm_sync_how sync_how; /* MIGRATEMAIL_SYNC (tests, benchmarks) */
	/* ext4's count of its dirty blocks not yet allocated (delayed
	 * allocation): /sys/fs/ext4/<dev>/delayed_allocation_blocks, of
	 * fs_bsize bytes each; "" elsewhere */
	char dirty_path[96];
	uint64_t fs_bsize;
	struct mm_err warning;  /* about the target, said once */
	int has_warning;
	int chown;              /* running as root: give files to uid/gid */
	uid_t uid;
	gid_t gid;
	char host[65];
	struct mm_keyset present;
	unsigned long changes;  /* renames and removals of mm_maildir_change.c */

	struct mm_err *fail;    /* messages lost since last drained */
	unsigned nfail, fail_head;

	int cur_fd;             /* the message being written, or -1 */
	int cur_anon;           /* it is an O_TMPFILE (no name in tmp/) */
	char cur_base[MM_NAME_MAX];
	int cur_plain;          /* name is cur_base alone, no ",S=" */
	unsigned long cur_msgno;
	uint64_t cur_offset;
	char cur_tmp[MM_NAME_MAX];
	uint64_t cur_size, cur_key;
	int cur_repair;         /* replaces the damaged cur_base (repair) */
	int cur_repair_in_cur;
	char wbuf[64 * 1024];   /* the current message's bytes not yet written */
	size_t wlen;

	struct mm_pending *pend; /* the batch being written */
	unsigned npend;
	uint64_t pend_bytes;
	struct mm_batch flight; /* the one being synced and renamed */
	unsigned dirs_owed;     /* MM_DIR_*: entries made there by landed
				 * batches whose sync has not happened yet
				 * (mode batch; written only while no batch
				 * is in flight) */
	struct mm_quota *quota; /* maildirsize, or NULL (mm_quota.h) */

	struct mm_maildir_stats st;

	/* damaged files found at open, sorted by key (mm_maildir_repair.c) */
	struct mm_maildir_damaged *damaged;
	size_t ndamaged, damaged_cap;
};

void mm_maildir_set_host(struct mm_maildir *md, const char *host);
void mm_maildir_base_name(const struct mm_maildir *md, time_t t, uint64_t hash,
			  unsigned k, char *buf, size_t bufsz);
/* Read a directory we hold open, from its start (closedir() it). */
DIR *mm_maildir_opendir(int dirfd);
/* The batch being written is complete: make it durable and visible
 * (in the background in fsync modes batch and each). */
int mm_maildir_publish(struct mm_maildir *md, struct mm_err *err_r);
/* Wait for the batch in flight, if any, and settle its accounts. */
int mm_maildir_land(struct mm_maildir *md, struct mm_err *err_r);
/* Record that pending message p is lost (errno e) and remove its file;
 * the text is "<what> tmp/NAME<to>: <reason>" (to: NULL or " to new/"). */
void mm_maildir_lost(struct mm_maildir *md, struct mm_pending *p, int e,
		     const char *what, const char *to);
/* Find, check and recount maildirsize (md->quota); its trouble is
 * reported through mm_maildir_failure() with msgno 0. */
void mm_maildir_quota_open(struct mm_maildir *md);
/* Link the open unnamed file fd as dirfd/name, the way md->create says
 * (never replacing: EEXIST). 0 or -1 (errno). */
int mm_maildir_link_fd(enum mm_create how, int fd, int dirfd,
		       const char *name);
/* Move fromfd/from to tofd/to, never replacing a file that is there:
 * renameat2(RENAME_NOREPLACE), or where the file system lacks it (or
 * link_only) link and unlink, as qmail does. *linked_r: 0 renamed, 1
 * linked, -1 when linking was tried and failed. 0 or -1 (errno). */
int mm_maildir_move(int fromfd, const char *from, int tofd, const char *to,
		    int link_only, int *linked_r);

/* mm_maildir_lock.c: one writer per Maildir (see there). Take the
 * exclusive lock of the Maildir md->dfd (path: for messages), waiting
 * up to md->opts.lock_timeout seconds; released by mm_maildir_unlock()
 * and the close of md->dfd. 0 or -1. */
int mm_maildir_lock(struct mm_maildir *md, const char *path,
		    struct mm_err *err_r);
void mm_maildir_unlock(struct mm_maildir *md);
/* Check that tmp/ new/ cur/ can take the delivery protocol (create,
 * no-replace move, ':' in names, chown when needed), with one empty
 * file of ours; sets md->link_only and md->warning. Then, where the
 * mode fits (batch or none, renames without replacing, open files to
 * spare, md->fs_tmpfile or MIGRATEMAIL_NO_TMPFILE=0, not
 * MIGRATEMAIL_NO_TMPFILE=1), whether an O_TMPFILE of tmp/
 * can be given to the owner and linked into new/ without replacing a
 * name there: sets md->create and md->batch_cap. 0, or -1 with one
 * error naming the file system and what it lacks. */
int mm_maildir_probe(struct mm_maildir *md, const char *path,
		     struct mm_err *err_r);
/* The name of fd's file system type ("ext4", "nfs", ...; else in buf). */
const char *mm_maildir_fs_name(int fd, char *buf, size_t len);
/* mm_maildir_repair.c: sort out one entry of new/ or cur/ at open:
 * present, damaged, or neither (not a regular file). 0, or -1 out of
 * memory. */
int mm_maildir_note_file(struct mm_maildir *md, int dirfd, int in_cur,
			 const char *name, unsigned char d_type);
/* After both directories were read: sort the damaged files, drop those
 * whose key is present, keep one per key. */
void mm_maildir_damaged_done(struct mm_maildir *md);
void mm_maildir_damaged_free(struct mm_maildir *md);
/* Name the pending repair p: final, fixed and replace (at commit). */
void mm_maildir_repair_names(const struct mm_maildir *md,
			     struct mm_pending *p);
/* tmp/ -> the damaged file's name (replacing it), then to fixed when
 * set (never replacing; p->fix_err). System calls only (the batch
 * thread). */
int mm_maildir_rename_over(const struct mm_maildir *md, struct mm_pending *p);
/* The accounts of a moved repair (as settle() does for deliveries):
 * 0, or -1 when it was lost. */
int mm_maildir_settle_repair(struct mm_maildir *md, int sync_errno,
			     struct mm_pending *p);

/* Free md, removing uncommitted and pending files from tmp/. */
void mm_maildir_discard(struct mm_maildir *md);

#endif
