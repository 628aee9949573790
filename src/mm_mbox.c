/* mm_mbox.c - streaming mbox reader: buffer, message boundaries, body.
 * The header block is parsed in mm_mbox_hdr.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_find.h"
#include "mm_mbox_int.h"
#include "mm_mmdf.h"

static const char *const format_names[] = {
	"auto", "mboxo", "mboxrd", "mboxcl", "mboxcl2", "mmdf",
};

const char *mm_format_name(enum mm_format fmt)
{
	if ((unsigned)fmt < sizeof(format_names) / sizeof(format_names[0]))
		return format_names[fmt];
	return "unknown";
}

int mm_format_parse(const char *name, enum mm_format *fmt_r)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
		if (strcmp(name, format_names[i]) == 0) {
			*fmt_r = (enum mm_format)i;
			return 0;
		}
	}
	return -1;
}

struct mm_mbox *mm_mbox_new(int fd, const struct mm_mbox_opts *opts,
			    struct mm_err *err_r)
{
	struct mm_mbox *mb;
	struct stat st;

	mb = calloc(1, sizeof(*mb));
	if (mb == NULL) {
		mm_err_set(err_r, MM_E_NOMEM, errno, 0, 0, "out of memory");
		return NULL;
	}
	if (opts != NULL)
		mb->opts = *opts;
	if ((unsigned)mb->opts.format > MM_FMT_MMDF) {
		mm_err_set(err_r, MM_E_USAGE, 0, 0, 0, "unknown mbox format %d",
			   (int)mb->opts.format);
		free(mb);
		return NULL;
	}
	mb->cap_max = mb->opts.buf_max ? mb->opts.buf_max : MM_BUF_MAX_DEFAULT;
	if (mb->cap_max < 64 * 1024)
		mb->cap_max = 64 * 1024;
	mb->cap = mb->cap_max < MM_BUF_INIT ? mb->cap_max : MM_BUF_INIT;
	mb->buf = malloc(mb->cap);
	if (mb->buf == NULL) {
		mm_err_set(err_r, MM_E_NOMEM, errno, 0, 0, "out of memory");
		free(mb);
		return NULL;
	}
	mb->fd = fd;
	mb->format = mb->opts.format;
	snprintf(mb->format_reason, sizeof(mb->format_reason),
		 mb->format == MM_FMT_AUTO ? "%s: not decided yet" : "%s: as asked for",
		 mm_format_name(mb->format));
	/* Only a regular file can be peeked at with pread() to check where
	 * a Content-Length lands; pipes must fit it in the window. */
	mb->seekable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	mb->buf_off = (uint64_t)(mb->seekable ? lseek(fd, 0, SEEK_CUR) : 0);
	if (mb->buf_off == (uint64_t)-1)
		mb->buf_off = 0;
	mb->keep = UINT64_MAX;
	mb->state = MM_ST_BETWEEN;
	return mb;
}

void mm_mbox_free(struct mm_mbox *mb)
{
	if (mb == NULL)
		return;
	mm_spill_close(&mb->spill);
	free(mb->segs);
	free(mb->buf);
	free(mb);
}

long mm_mbox_fill(struct mm_mbox *mb, size_t need, struct mm_err *err_r)
{
	while (mb->end - mb->pos < need && !mb->eof) {
		if (mb->end == mb->cap) {
			uint64_t keep = mb->buf_off + mb->pos;
			size_t k;

			if (mb->keep < keep)
				keep = mb->keep;
			k = (size_t)(keep - mb->buf_off);
			if (k > 0) {
				memmove(mb->buf, mb->buf + k, mb->end - k);
				mb->buf_off += k;
				mb->pos -= k;
				mb->end -= k;
			} else if (mb->cap < mb->cap_max) {
				size_t ncap = mb->cap * 2;
				char *nbuf;

				if (ncap > mb->cap_max)
					ncap = mb->cap_max;
				nbuf = realloc(mb->buf, ncap);
				if (nbuf == NULL)
					return mm_err_set(err_r, MM_E_NOMEM, errno,
							  mb->msgno, mb->buf_off,
							  "out of memory");
				mb->buf = nbuf;
				mb->cap = ncap;
			} else {
				break; /* window full: caller copes */
			}
		}
		ssize_t n = mm_spill_read(&mb->spill, mb->fd,
					  mb->buf_off + mb->end,
					  mb->buf + mb->end, mb->cap - mb->end);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mm_err_set(err_r, MM_E_IO, errno, mb->msgno,
					  mb->buf_off + mb->end, "read failed: %s",
					  strerror(errno));
		}
		if (n == 0)
			mb->eof = 1;
		mb->end += (size_t)n;
	}
	return (long)(mb->end - mb->pos);
}

size_t mm_mbox_blank_at(const struct mm_mbox *mb, size_t i)
{
	if (i < mb->end && mb->buf[i] == '\n')
		return 1;
	if (i + 1 < mb->end && mb->buf[i] == '\r' && mb->buf[i + 1] == '\n')
		return 2;
	return 0;
}

void mm_mbox_warn(struct mm_mbox *mb, enum mm_code code, uint64_t offset,
		  const char *fmt, ...)
{
	struct mm_err *w;
	va_list ap;

	mb->msg.warnings |= 1u << (code - MM_W_NO_FROM);
	if (mb->warn_len == MM_WARN_QUEUE) {
		mb->warn_dropped++;
		return;
	}
	w = &mb->warnq[(mb->warn_head + mb->warn_len++) % MM_WARN_QUEUE];
	w->code = code;
	w->sys_errno = 0;
	w->msgno = mb->msgno;
	w->offset = offset;
	va_start(ap, fmt);
	vsnprintf(w->text, sizeof(w->text), fmt, ap);
	va_end(ap);
}

int mm_mbox_warning(struct mm_mbox *mb, struct mm_err *w_r)
{
	if (mb->warn_len == 0)
		return 0;
	*w_r = mb->warnq[mb->warn_head];
	mb->warn_head = (mb->warn_head + 1) % MM_WARN_QUEUE;
	mb->warn_len--;
	return 1;
}

unsigned long mm_mbox_warnings_dropped(const struct mm_mbox *mb)
{
	return mb->warn_dropped;
}

const struct mm_msg *mm_mbox_current(const struct mm_mbox *mb)
{
	return mb->msgno > 0 ? &mb->msg : NULL;
}

enum mm_format mm_mbox_format(const struct mm_mbox *mb)
{
	return mb->format;
}

const char *mm_mbox_format_reason(const struct mm_mbox *mb)
{
	return mb->format_reason;
}

uint64_t mm_mbox_offset(const struct mm_mbox *mb)
{
	return mb->buf_off + mb->pos;
}

/* Does the line at p (len bytes, without its newline) start a message? */
static int starts_message(const char *p, size_t len)
{
	return (len >= 5 && memcmp(p, "From ", 5) == 0) ||
	       (len >= 4 && memcmp(p, "\1\1\1\1", 4) == 0);
}

int mm_mbox_not_mbox(struct mm_mbox *mb, struct mm_err *why_r)
{
	const char *p, *end;
	char head[100];
	size_t n = 0, head_max = sizeof(head);
	uint64_t size;
	int blank = 1;
	struct mm_err *err_r = why_r;

	/* an mbox starts with its From_ line: known from its first bytes */
	if (mm_mbox_fill(mb, 5, err_r) < 0)
		return -1;
	if (starts_message(mb->buf + mb->pos, mb->end - mb->pos))
		return 0;
	if (mm_mbox_fill(mb, mb->cap_max, err_r) < 0)
		return -1;
	if (!mb->eof)
		return 0; /* the window is full: cannot tell */
	p = mb->buf + mb->pos;
	end = mb->buf + mb->end;
	size = (uint64_t)(end - p);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (starts_message(p, len))
			return 0;
		for (size_t i = 0; i < len && blank; i++)
			blank = p[i] == '\r';
		p = nl ? nl + 1 : end;
	}
	if (blank)
		return 0;
	/* its first bytes, to its first newline, printable (\xNN) */
	for (p = mb->buf + mb->pos; p < end && p < mb->buf + mb->pos + 24 &&
	     *p != '\n' && n + 5 < head_max; p++) {
		unsigned char c = (unsigned char)*p;

		if (c >= 0x20 && c <= 0x7e)
			head[n++] = (char)c;
		else
			n += (size_t)snprintf(head + n, head_max - n, "\\x%02x", c);
	}
	head[n] = '\0';
	mm_err_set(why_r, MM_E_FORMAT, 0, 0, 0, "not an mbox: no From_ line "
		   "(nor MMDF separator) in its %llu bytes, which start \"%s\": "
		   "nothing delivered (a compressed file? make it an mbox first)",
		   (unsigned long long)size, head);
	return 1;
}

uint64_t mm_mbox_spilled(const struct mm_mbox *mb, uint64_t *peak_r)
{
	if (peak_r != NULL)
		*peak_r = mb->spill.peak;
	return mb->spill.written;
}

/* Skip blank lines before the first From_ line: some tools leave one,
 * and a lone newline is no message worth keeping. Returns -1 on error. */
static int skip_leading_blanks(struct mm_mbox *mb, struct mm_err *err_r)
{
	uint64_t start = mb->buf_off + mb->pos;
	size_t bl;

	for (;;) {
		if (mm_mbox_fill(mb, MM_LOOK, err_r) < 0)
			return -1;
		bl = mm_mbox_blank_at(mb, mb->pos);
		if (bl == 0)
			break;
		mb->pos += bl;
	}
	if (mb->buf_off + mb->pos != start && mb->pos < mb->end)
		mm_mbox_warn(mb, MM_W_NO_FROM, start,
			     "%llu blank byte(s) before the first From_ line skipped",
			     (unsigned long long)(mb->buf_off + mb->pos - start));
	return 0;
}

void mm_mbox_msg_begin(struct mm_mbox *mb)
{
	memset(&mb->msg, 0, sizeof(mb->msg));
	mb->msgno++;
	mb->msg.msgno = mb->msgno;
	mb->msg.offset = mb->buf_off + mb->pos;
	mb->msg.content_length = -1;
	mb->keep = mb->msg.offset;
	mb->midline = 0;
	mb->cl_active = 0;
	mb->nul_seen = 0;
}

int mm_mbox_msg_open(struct mm_mbox *mb, const struct mm_from *from,
		     size_t flen, const struct mm_msg **msg_r,
		     struct mm_err *err_r)
{
	mb->msg.hash = mm_hash(MM_HASH_INIT, mb->buf + mb->pos, flen);
	if (flen > 0) {
		size_t slen = from->sender_len;

		mb->msg.has_from = 1;
		if (slen > MM_FROM_LINE_MAX)
			slen = MM_FROM_LINE_MAX;
		memcpy(mb->msg.sender, from->sender, slen);
		mb->msg.sender[slen] = '\0';
		if (from->dated &&
		    mm_from_time(from, mb->opts.tz_fixed, mb->opts.tz_off,
				 &mb->msg.from_time) == 0)
			mb->msg.has_from_time = 1;
		mb->pos += flen;
	}
	if (mm_mbox_headers(mb, err_r) < 0)
		return -1;
	*msg_r = &mb->msg;
	return 1;
}

int mm_mbox_next(struct mm_mbox *mb, const struct mm_msg **msg_r,
		 struct mm_err *err_r)
{
	struct mm_from from;
	size_t flen;

	while (mb->state == MM_ST_HEADERS || mb->state == MM_ST_BODY) {
		const char *d;
		size_t l;
		int r = mm_mbox_read(mb, &d, &l, err_r);

		if (r < 0)
			return -1;
	}
	if (mb->watch && mb->state == MM_ST_BETWEEN && mb->msgno > 0)
		mm_guess_watch_end(mb);
	if (mb->state == MM_ST_EOF)
		return 0;
	if (mb->msgno == 0) {
		if (skip_leading_blanks(mb, err_r) < 0)
			return -1;
		if (mb->format == MM_FMT_AUTO && mm_guess_format(mb, err_r) < 0)
			return -1;
	}
	if (mb->format == MM_FMT_MMDF)
		return mm_mmdf_next(mb, msg_r, err_r);
	if (mm_mbox_fill(mb, MM_LOOK, err_r) < 0)
		return -1;
	if (mb->pos == mb->end) {
		mb->state = MM_ST_EOF;
		return 0;
	}

	mm_mbox_msg_begin(mb);
	flen = mm_mbox_from_start(mb, &from);
	return mm_mbox_msg_open(mb, &from, flen, msg_r, err_r);
}

/* Is the line at buf[i] an mboxo-quoted From_ line (">From "), whose
 * '>' is dropped? limit: end of the message's bytes in the buffer. */
static int quote_at(const struct mm_mbox *mb, size_t i, size_t limit)
{
	return (mb->format == MM_FMT_MBOXO || mb->format == MM_FMT_MBOXCL) &&
	       limit - i >= 6 && memcmp(mb->buf + i, ">From ", 6) == 0;
}

/* At the end of a body limited by Content-Length, whose landing was
 * checked beforehand (mm_mbox_hdr.c): swallow the separator line. */
static void finish_clen(struct mm_mbox *mb)
{
	size_t bl = mm_mbox_blank_at(mb, mb->pos);
	size_t after = mb->pos + bl;

	if (bl > 0 && ((after == mb->end && mb->eof) ||
		       mm_mbox_from_at(mb, after, 1, NULL) > 0))
		mb->pos = after;
}

static void end_message(struct mm_mbox *mb)
{
	mb->msg.complete = 1;
	mb->msg.end_offset = mb->buf_off + mb->pos;
	mb->state = MM_ST_BETWEEN;
	mb->keep = UINT64_MAX;
}

static int yield(struct mm_mbox *mb, size_t start, size_t len,
		 const char **data_r, size_t *len_r)
{
	*data_r = mb->buf + start;
	*len_r = len;
	mb->msg.size += len;
	const char *z = mb->nul_seen ? NULL : memchr(*data_r, '\0', len);

	if (z != NULL) {
		mb->nul_seen = 1;
		mm_mbox_warn(mb, MM_W_NUL, mb->buf_off + (uint64_t)(z - mb->buf),
			     "message contains NUL bytes (kept)");
	}
	return 1;
}

/* Is the line at pos where the message ends? 1: yes, after a blank
 * separator line of *skip bytes that belongs to neither message; 2: yes,
 * at a From_ line without one; 0: no. */
static int boundary_at(struct mm_mbox *mb, size_t pos, size_t *skip)
{
	size_t bl = mm_mbox_blank_at(mb, pos);

	*skip = 0;
	if (bl > 0) {
		if ((pos + bl == mb->end && mb->eof) ||
		    mm_mbox_from_at(mb, pos + bl, 1, NULL) > 0) {
			*skip = bl;
			return 1;
		}
		return 0;
	}
	if (mb->buf[pos] == 'F' && mm_mbox_from_at(mb, pos, 0, NULL) > 0)
		return 2;
	return 0;
}

static int read_body(struct mm_mbox *mb, const char **data_r, size_t *len_r,
		     struct mm_err *err_r)
{
	for (;;) {
		size_t pos, run, limit, skip = 0;
		int ended = 0;

		if (mm_mbox_fill(mb, MM_LOOK, err_r) < 0)
			return -1;
		pos = run = mb->pos;
		limit = mb->end;
		if (mb->cl_active && mb->cl_limit - mb->buf_off < limit)
			limit = (size_t)(mb->cl_limit - mb->buf_off);
		for (;;) {
			if (mb->midline == MM_IN_GT_RUN) {
				/* mboxrd: a line of '>'s followed by "From "
				 * loses one '>'. The run can be longer than
				 * the window, so drop its LAST '>' (the same
				 * bytes) and never yield that one early. */
				while (pos < limit && mb->buf[pos] == '>')
					pos++;
				int more = limit == mb->end && !mb->eof;
				if ((pos == limit || limit - pos < 5) && more) {
					pos--;
					break;
				}
				if (limit - pos >= 5 &&
				    memcmp(mb->buf + pos, "From ", 5) == 0) {
					if (pos - 1 > run) {
						pos--;
						break; /* yield up to it first */
					}
					run = pos;
				}
				mb->midline = 1;
			}
			if (mb->midline) {
				/* to the next line that can matter: the
				 * others are part of the run as they are */
				size_t s = mm_find_line_start(mb->buf, pos, limit);

				if (s > limit) {
					pos = limit;
					break;
				}
				pos = s;
				mb->midline = 0;
			}
			if (pos == limit)
				break;
			if (!mb->eof && mb->end - pos < MM_LOOK)
				break;
			if (mb->format == MM_FMT_MMDF) {
				if ((ended = mm_mmdf_end_at(mb, pos, &skip)) != 0)
					break;
			} else if (!mb->cl_active &&
				   (ended = boundary_at(mb, pos, &skip)) != 0) {
				break;
			}
			if (mb->watch && mb->buf[pos] == '>')
				mm_guess_watch_line(mb, pos, limit);
			if (mb->format == MM_FMT_MBOXRD && mb->buf[pos] == '>') {
				mb->midline = MM_IN_GT_RUN;
				continue;
			}
			if (quote_at(mb, pos, limit)) {
				if (pos > run)
					break; /* yield the run, then the quote */
				run = ++pos;
			}
			mb->midline = 1;
		}
		mb->pos = pos;
		if (ended) {
			if (pos > run)
				return yield(mb, run, pos - run, data_r, len_r);
			if (ended == 2)
				mm_mbox_warn_no_separator(mb, pos);
			mb->pos += skip;
			end_message(mb);
			return 0;
		}
		if (mb->cl_active && mb->buf_off + pos == mb->cl_limit) {
			if (pos > run)
				return yield(mb, run, pos - run, data_r, len_r);
			if (mm_mbox_fill(mb, MM_LOOK, err_r) < 0)
				return -1;
			finish_clen(mb);
			end_message(mb);
			return 0;
		}
		if (pos > run)
			return yield(mb, run, pos - run, data_r, len_r);
		if (pos == mb->end && mb->eof) {
			if (mb->cl_active)
				mm_mbox_warn(mb, MM_W_TRUNCATED, mb->buf_off + pos,
					     "file ends %llu byte(s) before the "
					     "end Content-Length announced",
					     (unsigned long long)
					     (mb->cl_limit - mb->buf_off - pos));
			end_message(mb);
			return 0;
		}
	}
}

int mm_mbox_read(struct mm_mbox *mb, const char **data_r, size_t *len_r,
		 struct mm_err *err_r)
{
	while (mb->state == MM_ST_HEADERS) {
		if (mb->seg_i < mb->nsegs) {
			const struct mm_seg *s = &mb->segs[mb->seg_i++];

			if (s->end > s->start)
				return yield(mb, (size_t)(s->start - mb->buf_off),
					     (size_t)(s->end - s->start),
					     data_r, len_r);
			continue;
		}
		mb->keep = UINT64_MAX;
		if (mb->hdr_only) {
			end_message(mb);
			return 0;
		}
		mb->state = MM_ST_BODY;
	}
	if (mb->state == MM_ST_BODY)
		return read_body(mb, data_r, len_r, err_r);
	return 0;
}
