/* mm_err.h - the one error record every mm_* function fills.
 *
 * A C function of MigrateMail never aborts or prints: it returns a
 * negative status and describes the trouble here; the caller (the XS
 * layer, a test, a fuzzer) decides what to do with it.
 */
#ifndef MM_ERR_H
#define MM_ERR_H

#include <stdint.h>
#include <stdarg.h>

enum mm_code {
	MM_OK = 0,
	MM_E_IO,          /* read/write/open failed; sys_errno says why */
	MM_E_NOMEM,       /* allocation failed */
	MM_E_USAGE,       /* caller broke a contract (bad option, wrong state) */
	MM_E_FORMAT,      /* input is not what it claims to be */
	MM_E_TOOBIG,      /* a message over the size limit: not delivered */

	/* Warnings: the data was kept, but something about it is odd. */
	MM_W_NO_FROM = 100, /* bytes without a From_ line before them */
	MM_W_NUL,           /* message contains NUL bytes */
	MM_W_BAD_CLEN,      /* Content-Length does not land on a From_ line */
	MM_W_TRUNCATED,     /* file ends inside headers or before Content-Length */
	MM_W_LONG_HEADER,   /* header block too long to inspect whole */
	MM_W_NO_SEPARATOR,  /* From_ line not preceded by a blank line */
	MM_W_FROM_LIKE,     /* a From_-like line kept inside a message */
	MM_W_GUESS,         /* a message starts at a loose From_ line */
	MM_W_ZONE,          /* a From_ date's zone name is unknown */
	MM_W_FORMAT_GUESS,  /* --format auto: evidence for another variant */
	MM_W_MMDF,          /* MMDF: a \1\1\1\1 line missing, bytes between */
	MM_W_KEYWORDS = 140, /* keywords that cannot be carried */
	MM_W_UIDL = 150,    /* an old POP3 UIDL that cannot be kept, or guessed */
	MM_W_FILESYSTEM = 200, /* the target works, but not as it should */
	MM_W_CONFLICT = 210, /* a sync pass: both servers changed a message */
	MM_W_CHANGED,        /* a sync pass: a message's bytes changed in the
			      * mbox, not its key (the Maildir's copy kept) */
};

struct mm_err {
	enum mm_code code;
	int sys_errno;          /* errno of the failing call, or 0 */
	unsigned long msgno;    /* 1-based message number, 0 if none */
	uint64_t offset;        /* byte offset in the source, if relevant */
	char text[256];         /* human readable, no trailing newline */
};

/* Fill err_r (if not NULL) and return -1, so callers can write
 * "return mm_err_set(err_r, ...);". */
int mm_err_set(struct mm_err *err_r, enum mm_code code, int sys_errno,
	       unsigned long msgno, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* Stable short name of a code ("io", "no-from", ...), for reports. */
const char *mm_code_name(enum mm_code code);

#endif
