/* mm_mbox_int.h - internals shared by mm_mbox.c and mm_mbox_hdr.c.
 * Not part of the API. */
#ifndef MM_MBOX_INT_H
#define MM_MBOX_INT_H

#include "mm_guess.h"
#include "mm_mbox.h"
#include "mm_spill.h"

/* Longest field name that counts as "a header field follows" after a
 * loose From_ line (see mm_mbox.h). */
#define MM_HDR_NAME_MAX 128
/* Lookahead needed at a line start to decide everything about it:
 * a blank line ("\r\n"), a whole From_ line after it and the field
 * name ("name:") of the line after that. */
#define MM_LOOK (2 + MM_FROM_LINE_MAX + 2 + MM_HDR_NAME_MAX + 1)
#define MM_BUF_INIT (256 * 1024)
#define MM_BUF_MAX_DEFAULT (4 * 1024 * 1024)
#define MM_WARN_QUEUE 64
#define MM_HDR_SEGS_MAX 4096

enum mm_hdr_id {
	MM_H_STATUS, MM_H_XSTATUS, MM_H_XMOZILLA, MM_H_XKEYWORDS, MM_H_XUID,
	MM_H_XUIDL, MM_H_XIMAP, MM_H_XIMAPBASE, MM_H_CLEN, MM_H_DATE,
	MM_H_COUNT
};

struct mm_seg {
	uint64_t start, end;    /* absolute offsets, end exclusive */
};

enum mm_state {
	MM_ST_BETWEEN,  /* current message complete (or none yet) */
	MM_ST_HEADERS,  /* yielding the kept header segments */
	MM_ST_BODY,     /* yielding body bytes */
	MM_ST_EOF,
};

struct mm_mbox {
	int fd;
	struct mm_mbox_opts opts;
	enum mm_format format;
	int seekable;
	int eof;                /* read() returned 0 */
	struct mm_spill spill;  /* a pipe's bytes read ahead to disk */

	char *buf;
	size_t cap, cap_max;
	size_t pos, end;        /* parse position and end of valid data */
	uint64_t buf_off;       /* file offset of buf[0] */
	uint64_t keep;          /* earliest offset that must stay buffered */

	enum mm_state state;
	int midline;            /* pos is inside a line, not at its start */
#define MM_IN_GT_RUN 2          /* ... inside the '>'s that start a line */
	int cl_active;          /* body ends at cl_limit, not at a From_ */
	uint64_t cl_limit;
	int nul_seen;
	int hdr_only;           /* message ends with its header block */

	struct mm_seg *segs;    /* kept header bytes, yielded before the body */
	size_t nsegs, segs_alloc, seg_i;
	struct mm_seg hdr[MM_H_COUNT]; /* whole header line(s), start==end: none */

	struct mm_msg msg;
	unsigned long msgno;
	uint64_t body_off;      /* where the current body starts, 0: none */

	char format_reason[MM_FORMAT_REASON_MAX]; /* mm_mbox_format_reason() */
	int watch;              /* reading past the evidence (mm_guess.h) */
	unsigned watch_seen;    /* the contradictions already warned about */
	int mmdf_open, mmdf_closed; /* the message's \1\1\1\1 lines seen */

	/* The boundary rule (mm_mbox.c) */
	int strict_seen;        /* a message started at a strict From_ line */
	uint64_t cut_at;        /* offset + 1 of the last loose From_ line */
	const char *cut_basis;  /* ... taken as a boundary, and why */
	uint64_t noted_at;      /* offset + 1 of the last From_-like line warned */
	int zone_warned;        /* an unknown zone name was reported */
	/* The last From_-like line classified (mm_mbox_from.c), so the line
	 * that ends a message is not parsed again when the next one starts
	 * there: its offset + 1 (0: none), the result, with the pointers of
	 * from as offsets from the line start (the buffer may move). */
	uint64_t memo_at;
	struct mm_from memo_from;
	enum mm_from_class memo_cls;
	size_t memo_len, memo_sender, memo_zone;
	int memo_like, memo_hdr;
	const char *memo_why;

	struct mm_err warnq[MM_WARN_QUEUE];
	size_t warn_head, warn_len;
	unsigned long warn_dropped;
};

/* FNV-1a, 64 bits: the message identity hash (see struct mm_msg). */
#define MM_HASH_INIT UINT64_C(14695981039346656037)
static inline uint64_t mm_hash(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * UINT64_C(1099511628211);
	return h;
}

/* Make at least need bytes available from pos (fewer only at end of
 * file or when the window is full). Returns bytes available, -1 on error.
 * May move the buffer contents: recompute pointers afterwards. */
long mm_mbox_fill(struct mm_mbox *mb, size_t need, struct mm_err *err_r);

/* Length of the From_ line at p (n bytes available; at_eof: nothing
 * follows them) including its newline, 0 if not a From_ line. Without
 * the reader's context: a strict From_ line, or a loose one that a
 * header field line follows (what a Content-Length landing there, or a
 * blank line before it, makes a boundary). */
size_t mm_from_line_len(const char *p, size_t n, int at_eof,
			struct mm_from *from_r);

/* Does a message start at buf[i], by the boundary rule of mm_mbox.h?
 * after_blank: a blank line (the separator) ends just before i. Needs
 * MM_LOOK bytes of lookahead (or end of file). Fills *from_r when not
 * NULL and returns the line length including its newline; 0 if no
 * message starts there, after queueing a warning when the line was
 * From_-like (once per line, however often it is asked about). */
size_t mm_mbox_from_at(struct mm_mbox *mb, size_t i, int after_blank,
		       struct mm_from *from_r);

/* The From_ line of the message that starts at pos, by the boundary
 * rule: its length (0: none, the bytes form a message without one),
 * *from_r filled; queues the warnings about it (a guessed boundary, no
 * From_ line, an unknown zone name). Needs MM_LOOK bytes at pos. */
size_t mm_mbox_from_start(struct mm_mbox *mb, struct mm_from *from_r);

/* Warn that the current message ends at buf[i] without the blank line
 * before the From_ line there. */
void mm_mbox_warn_no_separator(struct mm_mbox *mb, size_t i);

/* Length of a blank line ("\n" or "\r\n") at buf[i], 0 if none. */
size_t mm_mbox_blank_at(const struct mm_mbox *mb, size_t i);

/* Queue a warning about the current message. */
void mm_mbox_warn(struct mm_mbox *mb, enum mm_code code, uint64_t offset,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Start the next message at pos: number, offset, fresh metadata. */
void mm_mbox_msg_begin(struct mm_mbox *mb);

/* Open the current message at pos: its identity hash starts with the
 * From_ line (flen bytes at pos, parsed into *from; flen 0: none),
 * which gives the envelope sender and date and is stepped over; then
 * its header block is parsed. Returns 1 with *msg_r set, -1 on a read
 * error. */
int mm_mbox_msg_open(struct mm_mbox *mb, const struct mm_from *from,
		     size_t flen, const struct mm_msg **msg_r,
		     struct mm_err *err_r);

/* Parse the header block that starts at pos (after the From_ line):
 * fills mb->segs, mb->hdr, the message metadata, and leaves pos at the
 * first body byte with state set. Returns 0, or -1 on a read error. */
int mm_mbox_headers(struct mm_mbox *mb, struct mm_err *err_r);

/* Does a Content-Length ending at p land on a message boundary?
 * prev: the byte before p; n bytes known at p; at_eof: none after them. */
int mm_clen_lands(const char *p, size_t n, int prev, int at_eof);

#endif
