/* mm_flags.h - mbox status headers to Maildir flags.
 *
 * mbox writers record a message's state in headers: Status (R read,
 * O old), X-Status (A answered, F flagged, D deleted, T draft) and
 * Mozilla's X-Mozilla-Status (hex bits). Maildir records the same in the
 * "info" part of the file name (":2,DFRST") and in new/ versus cur/.
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

/* Each adds the flags that one header's value means to *flags.
 * value/len is the unfolded header value, not NUL-terminated. */
void mm_flags_status(const char *value, size_t len, unsigned *flags);
void mm_flags_xstatus(const char *value, size_t len, unsigned *flags);
void mm_flags_mozilla(const char *value, size_t len, unsigned *flags);

/* Write the Maildir info letters of flags, sorted as Maildir requires
 * ("DFRST" order), NUL-terminated, into buf (at least 6 bytes).
 * Returns the number of letters. */
size_t mm_flags_letters(unsigned flags, char *buf);

/* Non-zero when a message with these flags belongs in cur/. */
int mm_flags_in_cur(unsigned flags);

#endif
