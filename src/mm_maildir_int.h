/* mm_maildir_int.h - internals shared by the mm_maildir*.c files. */
#ifndef MM_MAILDIR_INT_H
#define MM_MAILDIR_INT_H

#include <dirent.h>

#include "mm_keyset.h"
#include "mm_maildir.h"

#define MM_BATCH_LIMIT 512   /* open files held by one batch, at most */
#define MM_NAME_MAX 256
#define MM_TMP_PREFIX "mmtmp." /* tmp/ names of named messages */
#define MM_FAIL_SPARE 4      /* failure records beyond one per message */

/* A message written to tmp/, waiting to be made durable and visible. */
struct mm_pending {
	int fd;
	int in_cur;
	unsigned long msgno;    /* where it came from, for error reports */
	uint64_t offset;
	uint64_t size, key;
	char tmp[MM_NAME_MAX];
	char final[MM_NAME_MAX + 64];
};

struct mm_maildir {
	struct mm_maildir_opts opts;
	int dfd, tmpfd, newfd, curfd;
	int chown;              /* running as root: give files to uid/gid */
	uid_t uid;
	gid_t gid;
	char host[65];
	struct mm_keyset present;

	struct mm_err *fail;    /* messages lost since last drained */
	unsigned nfail, fail_head;

	int cur_fd;             /* the message being written, or -1 */
	char cur_base[MM_NAME_MAX];
	int cur_plain;          /* name is cur_base alone, no ",S=" */
	unsigned long cur_msgno;
	uint64_t cur_offset;
	char cur_tmp[MM_NAME_MAX];
	uint64_t cur_size, cur_key;
	char wbuf[64 * 1024];   /* the current message's bytes not yet written */
	size_t wlen;

	struct mm_pending *pend;
	unsigned npend;
	uint64_t pend_bytes;
	uint64_t quota_bytes;   /* delivered, not yet added to maildirsize */
	unsigned long quota_count;

	struct mm_maildir_stats st;
};

void mm_maildir_set_host(struct mm_maildir *md, const char *host);
void mm_maildir_base_name(const struct mm_maildir *md, time_t t, uint64_t hash,
			  unsigned k, char *buf, size_t bufsz);
/* Read a directory we hold open, from its start (closedir() it). */
DIR *mm_maildir_opendir(int dirfd);
/* Rename what is pending now (fsync modes each and none). */
int mm_maildir_publish(struct mm_maildir *md, struct mm_err *err_r);
/* Record that pending message p is lost (errno e) and remove its file;
 * the text is "<what> tmp/NAME<to>: <reason>" (to: NULL or " to new/"). */
void mm_maildir_lost(struct mm_maildir *md, struct mm_pending *p, int e,
		     const char *what, const char *to);
/* Free md, removing uncommitted and pending files from tmp/. */
void mm_maildir_discard(struct mm_maildir *md);

#endif
