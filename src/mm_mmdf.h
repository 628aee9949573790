/* mm_mmdf.h - MMDF mailboxes, read by the mbox reader (internal).
 *
 * MMDF (the SCO and MMDF-era servers' local delivery) needs no From_
 * line and no quoting: each message is enclosed in two lines of four
 * Ctrl-A bytes ("\1\1\1\1\n", or "\1\1\1\1\r\n"), one before and one
 * after it; a writer puts the two lines next to each other between
 * messages, some with blank lines between them. Nothing in a message is
 * changed to store it, so none of its bytes are unquoted or dropped but
 * the separator lines and blank lines between messages. A From_ line
 * right after the opening line (UW-IMAP, mutt and Python's mailbox
 * write one) gives the envelope sender and date; else the date comes
 * from the Date: header. Python's mailbox.MMDF also writes a newline
 * before each closing line and drops one when reading; MMDF itself and
 * mutt do not, so that line is kept as the message's own.
 *
 * Odd input is kept and reported (MM_W_MMDF): bytes between messages
 * that do not start with a separator line become a message of their own,
 * ending at the next separator line (taken as the next opening one); a
 * message the file ends in without its closing line is kept whole.
 */
#ifndef MM_MMDF_H
#define MM_MMDF_H

#include <stddef.h>

#include "mm_mbox.h"

/* Is there a line of four Ctrl-A bytes at p (n bytes, at_eof: nothing
 * after them)? Its length with the newline, 0 if not. */
size_t mm_mmdf_sep_len(const char *p, size_t n, int at_eof);

/* mm_mbox_next() for MMDF: the next message, its header block parsed.
 * 1, 0 at the end, -1 on a read error. */
int mm_mmdf_next(struct mm_mbox *mb, const struct mm_msg **msg_r,
		 struct mm_err *err_r);

/* Does the message end at the line at buf[pos]? 1 with *skip the bytes
 * of its closing line (0 when the message had no opening one: the line
 * opens the next message), 0 if not. */
int mm_mmdf_end_at(struct mm_mbox *mb, size_t pos, size_t *skip);

#endif
