/* mm_flags.h - mbox status headers to Maildir flags.
 *
 * mbox writers record a message's state in headers: Status (R read,
 * O old), X-Status (A answered, F flagged, D deleted, T draft) and
 * Mozilla's X-Mozilla-Status (hex bits). Maildir records the same in the
 * "info" part of the file name (":2,DFRST") and in new/ versus cur/.
 *
 * Some writers keep everything in Status: GNU mailutils writes
 * "Status: OAFRd" (O seen by a client, A answered, F flagged, R read,
 * d deleted), and readers such as Python's mailbox take D (deleted),
 * F and A from it too. So Status A, F, D and d count as well - unless
 * the message has an X-Status header (even an empty one): the writer
 * that keeps X-Status (UW-IMAP, Dovecot, mutt, Pine) keeps answered,
 * flagged, deleted and draft there, and what it wrote there decides
 * those four flags; a stray letter in its Status is not one of them.
 * Status R and O always come from Status; X-Mozilla-Status adds its
 * bits to the result either way. Maildir letters: answered R, flagged
 * F, deleted T, draft D, read S; O or any flag puts a message in cur/.
 */
#ifndef MM_FLAGS_H
#define MM_FLAGS_H

#include <stddef.h>

enum mm_flag {
	MM_F_DRAFT   = 1 << 0,  /* D */
	MM_F_FLAGGED = 1 << 1,  /* F */
	MM_F_REPLIED = 1 << 2,  /* R */
	MM_F_SEEN    = 1 << 3,  /* S */
	MM_F_TRASHED = 1 << 4,  /* T */
	/* Not a Maildir letter: the message was seen by a client before
	 * (Status O or R), so it belongs in cur/, not new/. */
	MM_F_OLD     = 1 << 8,
};

/* The flags X-Status decides when a message has one (see above). */
#define MM_F_XSTATUS_DECIDES (MM_F_REPLIED | MM_F_FLAGGED | MM_F_TRASHED | \
			      MM_F_DRAFT)

/* Each adds the flags that one header's value means to *flags.
 * value/len is the unfolded header value, not NUL-terminated.
 * has_xstatus: the message has an X-Status header as well, so that
 * Status gives R and O only. */
void mm_flags_status(const char *value, size_t len, int has_xstatus,
		     unsigned *flags);
void mm_flags_xstatus(const char *value, size_t len, unsigned *flags);
void mm_flags_mozilla(const char *value, size_t len, unsigned *flags);

/* Write the Maildir info letters of flags, sorted as Maildir requires
 * ("DFRST" order), NUL-terminated, into buf (at least 6 bytes).
 * Returns the number of letters. */
size_t mm_flags_letters(unsigned flags, char *buf);

/* Non-zero when a message with these flags belongs in cur/. */
int mm_flags_in_cur(unsigned flags);

#endif
