/* mm_guess.h - which mbox variant a file was written in (--format auto).
 * Internal to the reader (mm_mbox.c); not part of the API.
 *
 * The variants differ only on a few lines, so the decision rests on the
 * lines where reading them differently would give different bytes:
 *
 *  - '>>From ' lines (any number of '>'): an mboxrd writer makes one of
 *    every '>From ' of the message; an mboxo writer leaves them as they
 *    are, so there they only exist where a person wrote them. Reading
 *    mboxo and mboxrd differs on these lines only: one or more of them
 *    make it mboxrd, none make it mboxo (the same bytes either way).
 *  - Content-Length headers in header blocks. mboxcl/mboxcl2 writers
 *    put one in every message; other writers only pass on one that came
 *    with the mail. So Content-Length is used when at least half of the
 *    messages have one (the reader then checks each and warns about one
 *    that does not land exactly on the next message), or when one that
 *    lands keeps a From_ line inside its body from splitting the message
 *    (only a writer that does not quote, mboxcl2, leaves one there).
 *  - With Content-Length: an unquoted 'From ' line inside a body that
 *    one delimits means the writer does not quote (mboxcl2); else
 *    '>From ' lines mean mboxcl (quoted, as mutt writes); with neither,
 *    mboxcl2 (the same bytes either way).
 *  - MMDF: the file starts with a line of four Ctrl-A bytes.
 *
 * A regular file is scanned whole, from the reader's offset to its end
 * (pread in big chunks, memmem for 'From '; the header blocks are read
 * for Content-Length), so the decision does not depend on the buffer
 * size. A pipe cannot be scanned ahead: the decision comes from its first
 * MM_GUESS_BYTES (all of it if shorter), and the reader then watches the
 * rest (mm_guess_watch_*) and warns at the first line that contradicts
 * it. The decision can only be proved final before the end of the file
 * in one case (the half rule needs every message): a From_ line that
 * only its Content-Length keeps inside a body makes it mboxcl2 whatever
 * follows; the scan stops there and the reader watches the rest as for
 * a pipe (a '>From ' line in a message without Content-Length is the
 * mailbox no single variant reads right).
 */
#ifndef MM_GUESS_H
#define MM_GUESS_H

#include <stddef.h>
#include <stdint.h>

#include "mm_mbox.h"

#define MM_GUESS_BYTES (1024 * 1024) /* the sample of a pipe */

/* What a scan counted; offsets are absolute, UINT64_MAX when none. */
struct mm_guess_ev {
	unsigned long msgs;      /* messages (From_ lines that start one) */
	unsigned long cl_lands;  /* Content-Length that lands exactly on the
				  * next message (or the end of the file) */
	unsigned long cl_other;  /* Content-Length that does not */
	unsigned long cl_from;   /* From_ lines after a blank line inside
				  * bodies delimited by a landing one */
	unsigned long cl_unq;    /* unquoted 'From ' lines inside them */
	unsigned long q1, q2;    /* '>From ' and '>>From ' lines, all bodies */
	unsigned long q_nocl;    /* quoted lines in bodies without one */
	uint64_t first_q2, first_cl_from, first_q_nocl;
	unsigned long msg_q_nocl; /* the message of first_q_nocl */
	uint64_t bytes;          /* bytes scanned */
	int mmdf;                /* starts with a \1\1\1\1 line */
	int stopped;             /* the decision was final before the end */
};

/* The decision for the evidence (never MM_FMT_AUTO). */
enum mm_format mm_guess_decide(const struct mm_guess_ev *ev);

/* Decide the variant for the reader about to read its first message
 * (pos at its first byte): scans the file, or takes the sample of a
 * pipe (growing the window to hold it). Sets mb->format, the reason
 * text, the watch for a pipe, and queues a warning when the evidence is
 * mixed (a mailbox that no single variant reads right). -1 on a read
 * error. */
int mm_guess_format(struct mm_mbox *mb, struct mm_err *err_r);

/* The watch over a pipe read past its sample (mb->watch 1) or a file
 * past where the scan stopped (2). At a body line start
 * (buf[pos] == '>', MM_LOOK bytes or the end of file after it): */
void mm_guess_watch_line(struct mm_mbox *mb, size_t pos, size_t limit);
/* When a message has been read to its end (before the next one): */
void mm_guess_watch_end(struct mm_mbox *mb);

#endif
