/* mm_lock.h - lock a live mail spool file the way MTAs do, for reading.
 *
 * Delivery agents (mail.local, procmail, exim, postfix local) take an
 * fcntl() write lock on the spool file and/or create "<spool>.lock"
 * (a dotlock) while they append. Holding an fcntl read lock and the
 * dotlock keeps them out while the mbox is read; the mbox itself is never
 * written.
 */
#ifndef MM_LOCK_H
#define MM_LOCK_H

#include "mm_err.h"

/* Take an fcntl read lock on the whole of fd, waiting up to timeout
 * seconds. 0, or -1 (err_r: who holds it, or why it failed). */
int mm_lock_fcntl(int fd, int timeout, struct mm_err *err_r);

/* Create path.lock (O_EXCL, never through a symlink), waiting up to
 * timeout seconds. Our lock holds our pid; a lock older than stale
 * seconds, or holding the pid of a process that is gone, was left by a
 * dead process and is removed. On success dev_r and ino_r identify our lock
 * file for mm_lock_dotlock_release(). */
int mm_lock_dotlock(const char *path, int timeout, int stale,
		    unsigned long long *dev_r, unsigned long long *ino_r,
		    struct mm_err *err_r);

/* Remove path.lock if it is still the one we made. */
void mm_lock_dotlock_release(const char *path, unsigned long long dev,
			     unsigned long long ino);

#endif
