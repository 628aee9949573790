/* mm_mbox_from.c - the boundary rule: which "From " lines start a message
 * (see mm_mbox.h for the rule and its reasons), and the warnings about
 * every From_-like line that does not, or that does on a guess. */
#include <string.h>

#include "mm_mbox_int.h"

/* What the line at p is, and the evidence after it. */
struct look {
	enum mm_from_class cls;
	size_t len;             /* with its newline; 0: none in reach */
	int from_like;          /* starts "From " (even when too long) */
	int header_next;        /* a header field line follows it */
	const char *why;        /* why it is not strict (NULL if it is) */
	struct mm_from from;
};

/* "name:" with a name as real header fields have them: a letter, then
 * letters, digits and '-' (RFC 5322 allows more, but prose such as
 * "NB: ..." or "10:30 meeting" should not pass for a header block). */
static int header_field_at(const char *p, size_t n)
{
	size_t i = 1;

	if (n < 2 || !((p[0] >= 'A' && p[0] <= 'Z') ||
		       (p[0] >= 'a' && p[0] <= 'z')))
		return 0;
	while (i < n && i <= MM_HDR_NAME_MAX &&
	       ((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ||
		(p[i] >= '0' && p[i] <= '9') || p[i] == '-'))
		i++;
	return i < n && i <= MM_HDR_NAME_MAX && p[i] == ':';
}

/* Classify the line at p (n bytes available, at_eof: nothing after). The
 * loose checks only run for lines that start "From " and fail the strict
 * parse, so the common path costs what it did. */
static void look_at(const char *p, size_t n, int at_eof, struct look *lk)
{
	size_t avail = n, len;
	const char *nl;

	lk->cls = MM_FROM_NONE;
	lk->len = 0;
	lk->header_next = 0;
	lk->why = NULL;
	lk->from.dated = 0;
	lk->from_like = n >= 5 && memcmp(p, "From ", 5) == 0;
	if (!lk->from_like)
		return;
	if (avail > MM_FROM_LINE_MAX + 1)
		avail = MM_FROM_LINE_MAX + 1;
	nl = memchr(p, '\n', avail);
	if (nl != NULL)
		len = (size_t)(nl - p);
	else if (at_eof && n <= MM_FROM_LINE_MAX)
		len = n; /* last line of the file, no newline */
	else {
		lk->why = "over 1024 bytes";
		return;
	}
	lk->cls = mm_from_classify(p, len, &lk->from, &lk->why);
	lk->len = nl != NULL ? len + 1 : len;
	if (lk->cls == MM_FROM_LOOSE)
		lk->header_next = header_field_at(p + lk->len, n - lk->len);
}

/* look_at() on buf[i], or what it said the last time it was asked
 * about that offset. A result only depends on the MM_LOOK - 2 bytes from
 * i (a separator's 2 are before them), or on all up to the end of file:
 * it is kept when it was computed from as many. Only lines that can
 * start a message are kept: the rest are asked about once. */
static void look_at_mb(struct mm_mbox *mb, size_t i, struct look *lk)
{
	const char *p = mb->buf + i;
	size_t n = mb->end - i;
	uint64_t at = mb->buf_off + i;

	if (mb->memo_at == at + 1) {
		lk->cls = mb->memo_cls;
		lk->len = mb->memo_len;
		lk->from_like = mb->memo_like;
		lk->header_next = mb->memo_hdr;
		lk->why = mb->memo_why;
		lk->from = mb->memo_from;
		if (lk->from.sender != NULL)
			lk->from.sender = p + mb->memo_sender;
		if (lk->from.zone_unknown != NULL)
			lk->from.zone_unknown = p + mb->memo_zone;
		return;
	}
	look_at(p, n, mb->eof, lk);
	if (lk->cls == MM_FROM_NONE || (n < MM_LOOK - 2 && !mb->eof))
		return;
	mb->memo_at = at + 1;
	mb->memo_cls = lk->cls;
	mb->memo_len = lk->len;
	mb->memo_like = lk->from_like;
	mb->memo_hdr = lk->header_next;
	mb->memo_why = lk->why;
	mb->memo_from = lk->from;
	mb->memo_sender = lk->from.sender ? (size_t)(lk->from.sender - p) : 0;
	mb->memo_zone = lk->from.zone_unknown
		? (size_t)(lk->from.zone_unknown - p) : 0;
}

size_t mm_from_line_len(const char *p, size_t n, int at_eof,
			struct mm_from *from_r)
{
	struct look lk;

	look_at(p, n, at_eof, &lk);
	if (lk.cls == MM_FROM_STRICT ||
	    (lk.cls == MM_FROM_LOOSE && lk.header_next)) {
		if (from_r != NULL)
			*from_r = lk.from;
		return lk.len;
	}
	return 0;
}

/* Why a From_-like line is not a boundary, as the end of a sentence. */
static const char *why_not(const struct look *lk)
{
	if (lk->cls != MM_FROM_LOOSE)
		return "it cannot be a From_ line";
	if (!lk->header_next)
		return "no header field follows it";
	return "no blank line before it, in a file with strict From_ lines";
}

static void note_rejected(struct mm_mbox *mb, size_t i, int after_blank,
			  const struct look *lk)
{
	uint64_t at = mb->buf_off + i;

	if (mb->noted_at == at + 1)
		return;
	/* A body line that merely starts "From " in mid-paragraph is
	 * ordinary text; one after a blank line, or with a date or a header
	 * field after it, is what other readers might split at. */
	if (!after_blank && !lk->from.dated && !lk->header_next)
		return;
	mb->noted_at = at + 1;
	mm_mbox_warn(mb, MM_W_FROM_LIKE, at,
		     "From_-like line with %s kept inside message %lu: %s",
		     lk->why, mb->msgno, why_not(lk));
}

size_t mm_mbox_from_at(struct mm_mbox *mb, size_t i, int after_blank,
		       struct mm_from *from_r)
{
	struct look lk;

	if (i >= mb->end || mb->buf[i] != 'F')
		return 0;
	look_at_mb(mb, i, &lk);
	if (lk.cls == MM_FROM_STRICT) {
		if (from_r != NULL)
			*from_r = lk.from;
		return lk.len;
	}
	if (lk.cls == MM_FROM_LOOSE && lk.header_next &&
	    (after_blank || !mb->strict_seen)) {
		mb->cut_at = mb->buf_off + i + 1;
		mb->cut_basis = after_blank
			? "a blank line before it, a header field after it"
			: "no strict From_ line before it, a header field "
			  "after it";
		if (from_r != NULL)
			*from_r = lk.from;
		return lk.len;
	}
	if (lk.from_like)
		note_rejected(mb, i, after_blank, &lk);
	return 0;
}

void mm_mbox_warn_no_separator(struct mm_mbox *mb, size_t i)
{
	mm_mbox_warn(mb, MM_W_NO_SEPARATOR, mb->buf_off + i,
		     "message %lu ends here without the blank separator line: "
		     "the From_ line here starts message %lu",
		     mb->msgno, mb->msgno + 1);
}

static void warn_zone(struct mm_mbox *mb, const struct mm_from *from)
{
	if (from->zone_unknown == NULL || mb->zone_warned)
		return;
	mb->zone_warned = 1;
	mm_mbox_warn(mb, MM_W_ZONE, mb->msg.offset,
		     "From_ line date with the %s zone name \"%.*s\": read as "
		     "if no zone were written (reported once per mailbox)",
		     from->zone_ambiguous ? "ambiguous" : "unknown",
		     (int)from->zone_unknown_len, from->zone_unknown);
}

size_t mm_mbox_from_start(struct mm_mbox *mb, struct mm_from *from_r)
{
	struct look lk;
	uint64_t at = mb->buf_off + mb->pos;

	look_at_mb(mb, mb->pos, &lk);
	if (lk.cls == MM_FROM_STRICT) {
		mb->strict_seen = 1;
	} else if (lk.cls == MM_FROM_LOOSE &&
		   (mb->msgno == 1 || mb->cut_at == at + 1)) {
		mb->msg.from_loose = 1;
		mm_mbox_warn(mb, MM_W_GUESS, at,
			     "message %lu starts at a From_ line with %s "
			     "(guessed boundary: %s)", mb->msgno, lk.why,
			     mb->msgno == 1 ? "the start of the file"
					    : mb->cut_basis);
	} else {
		mb->noted_at = at + 1;
		if (lk.from_like)
			mm_mbox_warn(mb, MM_W_NO_FROM, at,
				     "no From_ line: the line here starts "
				     "\"From \" but has %s; bytes kept as a "
				     "message of their own", lk.why);
		else
			mm_mbox_warn(mb, MM_W_NO_FROM, at,
				     "no From_ line: bytes kept as a message "
				     "of their own");
		return 0;
	}
	warn_zone(mb, &lk.from);
	*from_r = lk.from;
	return lk.len;
}
