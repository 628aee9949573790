/* mm_uidlist.h - keep the IMAP UIDs an mbox had (X-UID, X-IMAPbase) by
 * writing the UID lists of Dovecot (dovecot-uidlist) and Courier
 * (courierimapuiddb) for the Maildir, so clients keep their caches.
 */
#ifndef MM_UIDLIST_H
#define MM_UIDLIST_H

#include <stdint.h>

#include "mm_maildir.h"

struct mm_uid {
	uint64_t key;   /* the message's Maildir key */
	uint32_t uid;
	char *pop3;     /* the old POP3 UIDL (dovecot-uidlist's P), or NULL */
};

/* Write dovecot-uidlist and courierimapuiddb into the Maildir of md for
 * the n messages of uids (ascending UIDs), whose files are looked up in
 * new/ and cur/ by key. A list that exists already is the server's and
 * left alone, unless it is still ours: byte for byte what an earlier
 * pass wrote, by the size and digest recorded in migratemail-uidlists
 * (see mm_uidlist.c). Ours, it is rewritten with the current set (a
 * --sync pass adds what arrived, leaves out what was removed; same
 * bytes: not written), through a tmp name renamed over it only if the
 * name is still the file read (inode, size, times), unless its
 * UIDVALIDITY is not the mbox's, or it would get a message below its
 * next UID that it did not have (or a line below it changed): then it
 * is left alone with a warning (warn_r, *warned_r = 1: the first). Lists are looked at with O_NOFOLLOW
 * and O_NONBLOCK, and one that is not a regular file (a symlink, a
 * FIFO) is reported and left alone, the other list still written. Each
 * list is synced, then the directory, then the record. uid_next: the
 * UID the next message gets (never less than an existing list's).
 * Returns the number of lists written (0-2), or -1 on error (err_r: the
 * first). The caller writes them only once every message of the mbox
 * is in the Maildir (mm_convert.c). */
int mm_uidlist_write(struct mm_maildir *md, const struct mm_uid *uids,
		     size_t n, uint32_t uidvalidity, uint32_t uid_next,
		     struct mm_err *err_r, struct mm_err *warn_r,
		     int *warned_r);

/* Write Courier's POP3 list (courierpop3dsizelist) for the n messages
 * of keys (the mbox's, in its order; looked up in new/ and cur/), so
 * that Courier's pop3d serves each message's file name as its UIDL
 * (what qmail-pop3d serves: the old server's UIDL for the messages
 * named by it) instead of numbering them UID<n>-<uidv>: every entry has
 * UID 0, Courier's "version 0" UIDL, with the message's POP3 size
 * (bytes plus one per line end, as Courier counts) and its 8-bit
 * header flag. Each file is read once for that. A list that exists is
 * extended with the messages it lacks while it is ours (every UID 0:
 * Courier numbered nothing yet), replaced only if it is still what was
 * read; one Courier numbered messages in is left alone (the server's);
 * one that is not a regular file with one link is reported. Returns 1
 * written, 0 not, -1 on error (err_r). */
int mm_pop3list_write(struct mm_maildir *md, const uint64_t *keys,
		      size_t n, struct mm_err *err_r);

#endif
