/* mm_mmdf.c - MMDF boundaries for the mbox reader (see mm_mmdf.h). */
#include <string.h>

#include "mm_mbox_int.h"
#include "mm_mmdf.h"

size_t mm_mmdf_sep_len(const char *p, size_t n, int at_eof)
{
	if (n < 4 || memcmp(p, "\1\1\1\1", 4) != 0)
		return 0;
	if (n == 4)
		return at_eof ? 4 : 0;
	if (p[4] == '\n')
		return 5;
	if (n >= 6 && p[4] == '\r' && p[5] == '\n')
		return 6;
	return n == 5 && p[4] == '\r' && at_eof ? 5 : 0;
}

static size_t sep_at(const struct mm_mbox *mb, size_t i)
{
	return i < mb->end ? mm_mmdf_sep_len(mb->buf + i, mb->end - i, mb->eof) : 0;
}

int mm_mmdf_next(struct mm_mbox *mb, const struct mm_msg **msg_r,
		 struct mm_err *err_r)
{
	struct mm_from from;
	size_t bl, sl, flen;

	for (;;) { /* blank lines between messages are no one's */
		if (mm_mbox_fill(mb, MM_LOOK, err_r) < 0)
			return -1;
		if ((bl = mm_mbox_blank_at(mb, mb->pos)) == 0)
			break;
		mb->pos += bl;
	}
	if (mb->msgno > 0 && mb->mmdf_open && !mb->mmdf_closed) {
		mm_mbox_warn(mb, MM_W_MMDF, mb->buf_off + mb->pos,
			     "the file ends inside the message: its closing "
			     "\\1\\1\\1\\1 line is missing (kept whole)");
		mb->mmdf_open = 0;
	}
	sl = sep_at(mb, mb->pos);
	if (sl > 0 && mb->pos + sl == mb->end && mb->eof) {
		mm_mbox_warn(mb, MM_W_MMDF, mb->buf_off + mb->pos,
			     "a \\1\\1\\1\\1 line at the end of the file opens "
			     "no message (ignored)");
		mb->pos = mb->end;
	}
	if (mb->pos == mb->end) {
		mb->state = MM_ST_EOF;
		return 0;
	}
	mm_mbox_msg_begin(mb);
	mb->mmdf_open = sl > 0;
	mb->mmdf_closed = 0;
	if (sl == 0)
		mm_mbox_warn(mb, MM_W_MMDF, mb->msg.offset,
			     "bytes without a \\1\\1\\1\\1 line before them: "
			     "kept as a message of their own");
	mb->pos += sl;
	if (mm_mbox_fill(mb, MM_LOOK, err_r) < 0)
		return -1;
	flen = mm_mbox_from_at(mb, mb->pos, 1, &from);
	return mm_mbox_msg_open(mb, &from, flen, msg_r, err_r);
}

int mm_mmdf_end_at(struct mm_mbox *mb, size_t pos, size_t *skip)
{
	size_t sl = sep_at(mb, pos);

	if (sl == 0)
		return 0;
	*skip = mb->mmdf_open ? sl : 0;
	mb->mmdf_closed = mb->mmdf_open;
	return 1;
}
