/* mm_oldpop3.h - the POP3 UIDL each message had on the old server, and
 * the forecast of which messages keep their POP3 UIDL and IMAP UID.
 *
 * The old POP3 daemon decided the UIDL (see bin/mbox2vpopmail, OLD POP3
 * SERVERS, for each formula and where it comes from):
 *   uw       UW ipop3d: printf("%08lx%08lx", UIDVALIDITY, UID), the
 *            UIDVALIDITY of X-IMAP/X-IMAPbase and the message's X-UID
 *   dovecot  Dovecot's default pop3_uidl_format %08Xu%08Xv over the same
 *            headers: printf("%08x%08x", UID, UIDVALIDITY)
 *   xuidl    the X-UIDL header qpopper and GNU pop3d keep in the mbox
 *   auto     X-UIDL where a message has one, else the uw form
 * Carried to the target by naming the file by it (qmail-pop3d and
 * Dovecot's %f serve the base name) and in dovecot-uidlist's P field.
 */
#ifndef MM_OLDPOP3_H
#define MM_OLDPOP3_H

#include <stdint.h>

#include "mm_err.h"
#include "mm_keyset.h"
#include "mm_mbox.h"

enum mm_old_pop3 {
	MM_OLDPOP3_AUTO = 0, /* the default */
	MM_OLDPOP3_NONE,
	MM_OLDPOP3_UW,
	MM_OLDPOP3_DOVECOT,
	MM_OLDPOP3_XUIDL,    /* qpopper, gnu, xuidl */
};

/* "auto", "none", "uw", "dovecot", "qpopper", "gnu", "xuidl": 0, else
 * -1. */
int mm_old_pop3_parse(const char *s, enum mm_old_pop3 *r);

/* What a mailbox keeps, counted over its messages (the pseudo message
 * aside). pop3_*: POP3 UIDLs; imap_*: IMAP UIDs. */
struct mm_keep_stats {
	unsigned long messages;
	/* named by the old UIDL: qmail-pop3d, Courier and Dovecot with
	 * pop3_uidl_format = %f serve it */
	unsigned long pop3_kept;
	/* kept by Dovecot: named so, or in dovecot-uidlist's P field */
	unsigned long pop3_kept_dovecot;
	/* why not: the old server gave none we can know (no X-UIDL; no
	 * X-UID or UIDVALIDITY for the uw/dovecot forms), it cannot be a
	 * file name, an earlier message had the same one */
	unsigned long pop3_no_uidl, pop3_bad_name, pop3_duplicate;
	/* ... or the Maildir has the message under the name an earlier
	 * version gave it (mm_convert.c, under_hash_name()) */
	unsigned long pop3_earlier_name;
	/* UIDs kept in dovecot-uidlist and courierimapuiddb */
	unsigned long imap_kept;
	/* why not: no X-UID, no UIDVALIDITY (X-IMAP/X-IMAPbase) in the
	 * mbox, X-UIDs not ascending (then no list: every UID is new) */
	unsigned long imap_no_uid, imap_no_validity, imap_not_ascending;
	int uidl_guessed;     /* auto took UID headers for UW's */
};

/* The running state over one mbox. */
struct mm_keep {
	enum mm_old_pop3 scheme;
	int has_validity;
	uint32_t validity;
	struct mm_keyset uidls;   /* mm_maildir_plain_key() of UIDLs seen */
	int ascending;
	uint32_t last_uid;
	unsigned long with_uid;   /* messages with an X-UID */
	unsigned long p_only;     /* with an X-UID and a UIDL not named by */
	int warned_guess;
	struct mm_keep_stats st;
};

void mm_keep_init(struct mm_keep *k, enum mm_old_pop3 scheme);

/* Message m, in mbox order (the pseudo message too: only its
 * UIDVALIDITY is taken). uidl_r (MM_UIDL_MAX bytes): the UIDL the old
 * server served, "" if none is known; *named_r: 1 if the file is to be
 * named by it (a valid Maildir name, and the first message with it).
 * Returns 1 when there is a warning for this message in warn_r (a
 * UIDL that cannot be a name or is a duplicate; the first guess of
 * auto), 0 if not, -1 out of memory. */
int mm_keep_add(struct mm_keep *k, const struct mm_msg *m, char *uidl_r,
		int *named_r, struct mm_err *warn_r);

/* 1 if uidl can be a dovecot-uidlist P field (no space, printable). */
int mm_keep_p_ok(const char *uidl);

/* The counts, once every message was added. */
void mm_keep_result(const struct mm_keep *k, struct mm_keep_stats *st_r);

void mm_keep_free(struct mm_keep *k);

#endif
