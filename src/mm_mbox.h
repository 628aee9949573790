/* mm_mbox.h - streaming mbox reader.
 *
 * Reads an mbox from a file descriptor (regular file, pipe, socket) and
 * yields its messages one by one: metadata first, then the message bytes
 * in chunks. Memory stays bounded (a few MiB) whatever the size of the
 * file, of a message or of a line.
 *
 *	struct mm_mbox *mb = mm_mbox_new(fd, &opts, &err);
 *	const struct mm_msg *msg;
 *	while ((r = mm_mbox_next(mb, &msg, &err)) > 0)
 *		while ((r = mm_mbox_read(mb, &data, &len, &err)) > 0)
 *			write(out, data, len);
 *	mm_mbox_free(mb);
 *
 * The message bytes are the stored bytes minus the From_ line, minus the
 * blank separator line the mbox writer put after the message, with From_
 * quoting undone for the variant, and (unless keep_headers) minus the mbox
 * store's own metadata headers: Status, X-Status, X-Keywords, X-UID,
 * X-IMAP, X-IMAPbase, Content-Length. Nothing else changes: CRLF stays
 * CRLF, a final newline is never added or lost.
 *
 * A Content-Length (mboxcl, mboxcl2) is trusted only when the bytes it
 * counts end exactly on a From_ line or the end of the input; else it is
 * ignored, with a warning, and From_ lines decide. A pipe splits exactly
 * as the same bytes read by path: a landing near enough is checked in
 * the window; a farther one (a stale Content-Length in a message larger
 * than buf_max) is checked in a temporary file the stream is copied to as
 * far as the landing, then read back (mm_spill.h; mm_mbox_spilled() says
 * how much). Memory stays bounded; the disk holds those bytes meanwhile,
 * and a spill that cannot be written is an error, never another split.
 *
 * Odd but readable input gives warnings (see mm_mbox_warning()); nothing
 * that could be a message is dropped. Only I/O errors are errors.
 *
 * The boundary rule. A STRICT From_ line (mm_from_parse(): "From ", a
 * sender, a ctime date with any 4-digit year and any zone word) always
 * starts a message: no writer leaves such a line unquoted in a body, and
 * mboxo cannot tell one from a boundary anyway. Without a blank line
 * before it, the message it ends gets MM_W_NO_SEPARATOR.
 *
 * A LOOSE From_-like line (mm_from_classify(): "From " but no ctime date:
 * "From ", "From - " (Netscape, Thunderbird), "From foo@bar blah"
 * (Python's mailbox without a time), an RFC 822 date, a date that does
 * not parse) is written by real mbox writers, and just as well by people
 * ("From here on, ...") and by writers that quote only some body lines.
 * It starts a message only where the evidence says so:
 *   - as the first line of the file (after leading blank lines);
 *   - after a blank line (the separator) AND before a header field line
 *     (a letter, then letters, digits or '-', at most MM_HDR_NAME_MAX in
 *     all, then ':'): the shape of a message, not of prose;
 *   - before a header field line without a blank line before it, while
 *     no message of this file has started at a strict From_ line (a file
 *     of loose lines whose writer left a separator out). Decided from
 *     what was read before the line only, so a pipe decides as a path.
 * Each one taken is an MM_W_GUESS warning that names the reason. A
 * From_-like line not taken stays in its message, with an MM_W_FROM_LIKE
 * warning when it follows a blank line, carries a date or has a header
 * field after it (a "From " in mid-paragraph is ordinary text). Inside
 * a body bounded by a verified Content-Length nothing is a boundary.
 * A zone name the date parser does not know (or finds ambiguous, "IST")
 * is read as no zone, with one MM_W_ZONE warning per mailbox.
 */
#ifndef MM_MBOX_H
#define MM_MBOX_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mm_date.h"
#include "mm_err.h"

enum mm_format {
	MM_FMT_AUTO = 0, /* decide from the whole file (a pipe: its first MiB) */
	MM_FMT_MBOXO,    /* ">From " -> "From " (mail.local, procmail, UW) */
	MM_FMT_MBOXRD,   /* ">>From " -> ">From ": one '>' removed */
	MM_FMT_MBOXCL,   /* Content-Length + mboxo quoting */
	MM_FMT_MBOXCL2,  /* Content-Length, no quoting (Solaris) */
	MM_FMT_MMDF,     /* \1\1\1\1 lines around each message, no quoting */
};

/* Name of a format ("mboxo"...), and back; mm_format_parse returns -1
 * for an unknown name. */
const char *mm_format_name(enum mm_format fmt);
int mm_format_parse(const char *name, enum mm_format *fmt_r);

struct mm_mbox_opts {
	enum mm_format format;
	int keep_headers;   /* non-zero: keep every byte after the From_ line */
	int tz_fixed;       /* non-zero: From_ dates without zone are tz_off */
	int tz_off;         /* seconds east of UTC, when tz_fixed */
	size_t buf_max;     /* window limit in bytes; 0 = 4 MiB (minimum 64 KiB;
			     * a pipe read with MM_FMT_AUTO: 1 MiB + 2 KiB) */
};

#define MM_UIDL_MAX 256
#define MM_KEYWORDS_MAX 1024

/* One message's metadata. Owned by the reader; valid until the next
 * mm_mbox_next() or mm_mbox_free(). size and complete are updated by
 * mm_mbox_read(). */
struct mm_msg {
	unsigned long msgno;     /* 1-based, counts every message yielded */
	uint64_t offset;         /* offset of its From_ line (or first byte) */
	int has_from;            /* 0: bytes without a From_ line before them */
	int from_loose;          /* the From_ line is a loose one (a guess) */
	char sender[MM_FROM_LINE_MAX + 1]; /* envelope sender, NUL-terminated */
	int has_from_time;
	time_t from_time;        /* From_ line date as epoch seconds */
	int has_date;
	time_t date;             /* Date: header as epoch seconds */

	unsigned flags;          /* enum mm_flag bits */
	int has_uid;
	uint32_t uid;            /* X-UID */
	char uidl[MM_UIDL_MAX];  /* X-UIDL value, "" if none */
	char keywords[MM_KEYWORDS_MAX]; /* X-Keywords value, "" if none */

	int is_pseudo;           /* UW-IMAP "FOLDER INTERNAL DATA" message */
	int has_imapbase;        /* X-IMAP (pseudo) or X-IMAPbase seen */
	uint32_t uidvalidity;    /* from X-IMAP / X-IMAPbase */
	uint32_t uid_last;       /* last UID used; the next UID is one more */

	int64_t content_length;  /* Content-Length header, -1 if none */
	int clen_used;           /* boundary found by Content-Length */

	/* Identity of the message that survives changes of its Status
	 * headers: a hash of its From_ line and of its header lines other
	 * than the mbox store's own. Equal for identical copies. */
	uint64_t hash;

	uint64_t size;           /* bytes yielded so far; final when complete */
	int complete;            /* all bytes yielded (mm_mbox_read gave 0) */
	uint64_t end_offset;     /* offset just past it and its separator */
	unsigned warnings;       /* bit (1 << (code - MM_W_NO_FROM)) per kind */
};

struct mm_mbox;

/* Start reading fd (not closed by the reader; left positioned wherever
 * reading stopped). opts may be NULL for defaults. Returns NULL and fills
 * err_r on bad options or no memory. */
struct mm_mbox *mm_mbox_new(int fd, const struct mm_mbox_opts *opts,
			    struct mm_err *err_r);
void mm_mbox_free(struct mm_mbox *mb);

/* Advance to the next message, skipping what is left of the current one.
 * Returns 1 and points *msg_r at its metadata, 0 at the end of the mbox,
 * -1 on a read error (err_r filled). */
int mm_mbox_next(struct mm_mbox *mb, const struct mm_msg **msg_r,
		 struct mm_err *err_r);

/* Next chunk of the current message's bytes. Returns 1 with *data_r and
 * *len_r (len > 0) pointing into the reader's buffer, valid until the next
 * call on mb; 0 when the message is complete; -1 on a read error. */
int mm_mbox_read(struct mm_mbox *mb, const char **data_r, size_t *len_r,
		 struct mm_err *err_r);

/* The current message's metadata (as last returned by mm_mbox_next()),
 * or NULL before the first message. Same lifetime as there. */
const struct mm_msg *mm_mbox_current(const struct mm_mbox *mb);

/* Take the oldest pending warning into *w_r. Returns 1 if there was one,
 * 0 if none. At most 64 are queued; later ones are only counted. Drain
 * after mm_mbox_next()/mm_mbox_read() to keep them in order. */
int mm_mbox_warning(struct mm_mbox *mb, struct mm_err *w_r);
/* Warnings that did not fit in the queue, since the reader started. */
unsigned long mm_mbox_warnings_dropped(const struct mm_mbox *mb);

/* The variant in use: the one asked for, or the guess once mm_mbox_next()
 * has been called with MM_FMT_AUTO. */
enum mm_format mm_mbox_format(const struct mm_mbox *mb);

/* Why that variant, one line of text owned by the reader: "mboxo: as
 * asked for", or for MM_FMT_AUTO the evidence and how much was looked
 * at, e.g. "mboxrd: no Content-Length that lands on the next message,
 * 12 '>>From ' lines (the first at offset 1234567), 40 '>From ' lines
 * (whole file, 4383826 bytes)" or "... (assumed from the first 1048576
 * bytes of a pipe)". Before the first mm_mbox_next() with MM_FMT_AUTO:
 * "auto: not decided yet". The rule is in src/mm_guess.h: a regular
 * file is scanned whole from the reader's offset (the same decision
 * whatever buf_max is); a pipe is decided from its first 1 MiB (the
 * window grows to hold it) and a line read later that contradicts the
 * decision is a warning (MM_W_FORMAT_GUESS) naming its message and
 * offset. */
const char *mm_mbox_format_reason(const struct mm_mbox *mb);
#define MM_FORMAT_REASON_MAX 320 /* its size with the NUL */

/* Bytes consumed from fd so far that belong to yielded messages. */
uint64_t mm_mbox_offset(const struct mm_mbox *mb);

/* Before the first mm_mbox_next(): is the input no mbox at all? 1 when
 * it has bytes, not only blank lines, and not one line that starts
 * "From " nor an MMDF separator, as far as the window (buf_max) holds
 * it to its end: why_r says so (MM_E_FORMAT: "not an mbox: ... in its N
 * bytes, which start "...": ...", its first 24 bytes up to a newline,
 * bytes outside printable ASCII as \xNN); 0 when it is one (seen at
 * once when it starts with its From_ line), or is larger than the
 * window (cannot tell: its bytes are read as ever); -1 on a read error
 * (why_r). What it read stays in the window, for mm_mbox_next(). */
int mm_mbox_not_mbox(struct mm_mbox *mb, struct mm_err *why_r);

/* Bytes of a pipe copied to temporary files to check where a
 * Content-Length lands (see above), 0 for a file; *peak_r (if not
 * NULL): the most disk space held at once. */
uint64_t mm_mbox_spilled(const struct mm_mbox *mb, uint64_t *peak_r);

#endif
