/* mm_lock.h - lock a live mail spool file the way MTAs do, for reading.
 *
 * Delivery agents take some of three locks while they append to a spool
 * file: a dotlock ("<spool>.lock", created with O_EXCL), an fcntl() write
 * lock and a flock(2) lock. procmail and sendmail's mail.local take the
 * dotlock first, then the fcntl lock; Dovecot and mutt can be set to use
 * flock alone. On Linux, fcntl and flock locks are independent of each
 * other, so a reader that wants to keep every writer out takes each lock
 * a writer might use: the dotlock, an F_RDLCK and a LOCK_SH. The mbox
 * itself is never written.
 *
 * The locks of a plan are taken in its order, and none is waited for
 * while another is held: when one is busy, those already taken are let
 * go and the whole set is tried again after a pause. So no writer, in
 * whatever order it takes its locks, can deadlock with us.
 *
 * Dotlocks we hold are kept in a small process-wide registry; while one
 * is held, SIGINT, SIGTERM and SIGHUP (unless ignored) are caught by a
 * handler that removes them, restores the previous disposition and
 * raises the signal again, so an interrupted run never leaves a lock
 * behind that blocks the MTA. While one is held, a thread of this module
 * touches them every MM_LOCK_TOUCH_DEFAULT seconds, so that MTAs that
 * break a lock by its age alone leave a long conversion's lock alone.
 */
#ifndef MM_LOCK_H
#define MM_LOCK_H

#include "mm_err.h"

enum mm_lock_kind {
	MM_LOCK_DOTLOCK = 1,
	MM_LOCK_FCNTL,
	MM_LOCK_FLOCK,
};

/* Which locks to take, in which order. */
struct mm_lock_plan {
	int n;                      /* 0: take none */
	enum mm_lock_kind kind[3];
	int dotlock_optional;       /* skip the dotlock where it cannot be
				       created (EACCES, EPERM, EROFS) */
};

/* The default age, in seconds, after which a dotlock that is not ours
 * may be broken (when its pid, if it holds one, is dead here too):
 * procmail's default LOCKTIMEOUT, the longest of the MTAs'. */
#define MM_LOCK_STALE_DEFAULT 1024

/* How often, in seconds, the dotlocks we hold get a fresh mtime. */
#define MM_LOCK_TOUCH_DEFAULT 60

/* Parse a --lock value: auto, none, both, all, or a comma-separated list
 * of dotlock, fcntl and flock (each at most once; taken in that order).
 * auto is "dotlock,fcntl,flock" with the dotlock optional; both is
 * "dotlock,fcntl"; all is "dotlock,fcntl,flock". 0, or -1 (err_r says
 * what is wrong, MM_E_USAGE). */
int mm_lock_plan_parse(const char *spec, struct mm_lock_plan *plan_r,
		       struct mm_err *err_r);

/* Take the locks of plan on the spool file open for reading as fd, at
 * path (the dotlock is path + ".lock"), waiting up to timeout seconds
 * (0: one try). A dotlock that is not ours is broken only when it is
 * older than stale seconds and, if it holds a pid, that pid is dead on
 * this host; one written by this tool on this host (and pid namespace)
 * whose process is gone is broken at once. Returns a lock id (>= 0) for
 * mm_lock_release(), or -1 (err_r: which lock is busy and who holds it,
 * or why it failed). path is copied; fd must stay open until released
 * (and no other fd of this process on the same file may be closed
 * meanwhile: that drops the fcntl lock, as POSIX has it). */
int mm_lock_acquire(int fd, const char *path, const struct mm_lock_plan *plan,
		    int timeout, int stale, struct mm_err *err_r);

/* Let go of what mm_lock_acquire() took: the kernel locks, then the
 * dotlock if it is still the one we made. In a process forked while the
 * lock was held, it only forgets it: the locks belong to the parent. */
void mm_lock_release(int id);

/* Change how often held dotlocks are touched (0: the default); for the
 * tests. Takes effect from the next touch. */
void mm_lock_touch_every(int seconds);

/* The bytes our dotlocks hold: "PID mTOKEN\n", at most 16 bytes (the
 * most procmail reads before it will break a lock; liblockfile reads the
 * pid with atoi()). TOKEN names this host and pid namespace. buf must
 * hold 32 bytes; returns the length. */
int mm_lock_content(char *buf, long pid);

#endif
