/* mm_guess.c - the evidence for --format auto, and the decision (see
 * mm_guess.h for the rule and why). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_find.h"
#include "mm_guess.h"
#include "mm_mmdf.h"
#include "mm_mbox_int.h"

#define VIEW_CAP (256 * 1024) /* read into L2, searched there */
#define VIEW_BACK 64    /* bytes kept before a refill point, to look back */
#define NONE UINT64_MAX

/* Bytes of the mbox from the scan start to end: read with pread() in big
 * chunks from a file, or the reader's window for a pipe. */
struct view {
	int fd;            /* -1: the window only */
	char *buf;
	const char *p;     /* data of [off, off + len) */
	uint64_t off, len;
	uint64_t base;     /* where the scan started */
	uint64_t end;      /* end of the data to scan */
	int eof;           /* end is the end of the mbox */
	int failed;
	int err_errno;
	/* the From_ line where scan_body() found the next message, so that
	 * scan_message() does not parse it again: offset + 1, length */
	uint64_t next_at;
	size_t next_len;
};

/* Pointer to the byte at off, with *avail bytes after it: all the view
 * holds, at least need (fewer only at the end). When it must read, it
 * reads VIEW_CAP bytes, VIEW_BACK of them before off. */
static const char *at(struct view *v, uint64_t off, size_t need,
		      size_t *avail)
{
	if (off >= v->end) {
		*avail = 0;
		return NULL;
	}
	if (need > v->end - off)
		need = (size_t)(v->end - off);
	if ((off < v->off || off + need > v->off + v->len) && v->fd >= 0) {
		uint64_t start = off - v->base > VIEW_BACK ? off - VIEW_BACK : v->base;
		size_t got = 0, want = VIEW_CAP;

		if (want > v->end - start)
			want = (size_t)(v->end - start);
		while (got < want) {
			ssize_t n = pread(v->fd, v->buf + got, want - got,
					  (off_t)(start + got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				v->failed = 1;
				v->err_errno = errno;
			}
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		v->off = start;
		v->len = got;
		if (got < want) /* the file shrank, or a read error */
			v->end = start + got;
		v->p = v->buf;
	}
	if (off < v->off || off >= v->off + v->len) {
		*avail = 0;
		return NULL;
	}
	*avail = (size_t)(v->off + v->len - off);
	return v->p + (off - v->off);
}

static int at_end(const struct view *v, const char *p, size_t avail,
		  uint64_t off)
{
	(void)p;
	return v->eof && off + avail == v->end;
}

static void first(uint64_t *slot, uint64_t off)
{
	if (*slot == NONE)
		*slot = off;
}

/* Scan a body from lo to hi (NONE: to the next From_ line). in_cl: the
 * body is delimited by a landing Content-Length. Returns the offset
 * where the body ends (the next From_ line), or hi / the end. */
static uint64_t scan_body(struct view *v, uint64_t lo, uint64_t hi, int in_cl,
			  struct mm_guess_ev *ev)
{
	uint64_t pos = lo;

	for (;;) {
		size_t avail;
		/* all the view holds from pos (it reads when less than a
		 * From_ line's worth is left) */
		const char *p = at(v, pos, MM_LOOK + 8, &avail), *h;
		uint64_t lim = hi == NONE || hi - pos > avail ? avail : hi - pos;

		if (p == NULL || lim == 0)
			return hi == NONE ? v->end : hi;
		h = mm_find_from(p, (size_t)lim);
		if (h == NULL) {
			if (lim < avail || pos + lim >= v->end || lim <= 4)
				return hi == NONE ? pos + lim : hi;
			pos += lim - 4;
			continue;
		}
		uint64_t hoff = pos + (uint64_t)(h - p), ls = hoff;
		size_t ha;
		const char *hp = at(v, hoff, MM_LOOK, &ha);

		pos = hoff + 5;
		if (hp == NULL)
			continue;
		/* back over the '>'s to the line start (within the view) */
		while (ls > lo && ls > v->off && hp[-(ptrdiff_t)(hoff - ls) - 1] == '>')
			ls--;
		if (ls > lo && (ls == v->off || hp[-(ptrdiff_t)(hoff - ls) - 1] != '\n'))
			continue; /* not at a line start */
		uint64_t q = hoff - ls;
		if (q == 0) {
			size_t fl = mm_from_line_len(hp, ha, at_end(v, hp, ha, hoff), NULL);

			if (fl == 0) {
				if (in_cl)
					ev->cl_unq++;
				continue;
			}
			if (!in_cl && hoff > lo) {
				v->next_at = hoff + 1;
				v->next_len = fl;
				return hoff; /* the reader ends the message here */
			}
			if (in_cl) {
				ev->cl_unq++;
				ev->cl_from++;
				first(&ev->first_cl_from, hoff);
			}
			continue;
		}
		if (q == 1) {
			ev->q1++;
		} else {
			ev->q2++;
			first(&ev->first_q2, ls);
		}
		if (!in_cl && ev->q_nocl++ == 0) {
			ev->first_q_nocl = ls;
			ev->msg_q_nocl = ev->msgs;
		}
	}
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* A "Content-Length: N" line at p (n bytes): N; -2 when its value is
 * no length; -1 when it is another line. */
static int64_t clen_value(const char *p, size_t n)
{
	static const char name[] = "content-length:";
	size_t i;
	int64_t v = 0;

	if (n < sizeof(name))
		return -1;
	for (i = 0; i < sizeof(name) - 1; i++)
		if (lower((unsigned char)p[i]) != name[i])
			return -1;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == n || p[i] < '0' || p[i] > '9')
		return -2;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		if (v > INT64_MAX / 20)
			return -2;
		v = v * 10 + (p[i] - '0');
	}
	while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
		i++;
	return i < n && p[i] == '\n' ? v : -2;
}

/* One message from off: its From_ line, header block and body. Returns
 * the offset of the next message, v->end when the data ends. */
static uint64_t scan_message(struct view *v, uint64_t off,
			     struct mm_guess_ev *ev)
{
	size_t avail, fl;
	const char *p = at(v, off, MM_LOOK, &avail);
	int64_t cl = -1;
	uint64_t body;

	if (p == NULL)
		return v->end;
	ev->msgs++;
	fl = v->next_at == off + 1 ? v->next_len
		: mm_from_line_len(p, avail, at_end(v, p, avail, off), NULL);
	off += fl;
	for (;;) { /* the header block, line by line */
		const char *nl;
		size_t bl = 0;

		p = at(v, off, MM_LOOK, &avail);
		if (p == NULL)
			return v->end;
		if (p[0] == '\n')
			bl = 1;
		else if (avail > 1 && p[0] == '\r' && p[1] == '\n')
			bl = 2;
		if (bl > 0) {
			body = off + bl;
			break;
		}
		if (mm_from_line_len(p, avail, at_end(v, p, avail, off), NULL) > 0)
			return off; /* the reader starts a message here */
		nl = memchr(p, '\n', avail);
		if (p[0] != ' ' && p[0] != '\t' && memchr(p, ':', nl ? (size_t)(nl - p) : avail) == NULL) {
			body = off; /* not a header line: the body starts */
			break;
		}
		if (cl == -1 && nl != NULL)
			cl = clen_value(p, (size_t)(nl - p) + 1);
		while (nl == NULL) { /* a very long header line */
			off += avail;
			p = at(v, off, MM_LOOK, &avail);
			if (p == NULL)
				return v->end;
			nl = memchr(p, '\n', avail);
		}
		off += (uint64_t)(nl - p) + 1;
	}
	if (cl >= 0 && (uint64_t)cl <= v->end - body) {
		uint64_t t = body + (uint64_t)cl;
		int prev = '\n';

		if (t > body) {
			p = at(v, t - 1, MM_LOOK + 1, &avail);
			prev = p ? p[0] : 0;
			p = p ? p + 1 : NULL;
			avail = avail ? avail - 1 : 0;
		} else {
			p = at(v, t, MM_LOOK, &avail);
		}
		if (!v->eof && avail < MM_LOOK && t + avail == v->end)
			return v->end; /* a pipe's sample ends here: cannot tell */
		if ((p == NULL && v->eof && t == v->end) ||
		    (p != NULL && mm_clen_lands(p, avail, prev, at_end(v, p, avail, t)))) {
			ev->cl_lands++;
			scan_body(v, body, t, 1, ev);
			if (p != NULL && p[0] == '\n')
				t += 1;
			else if (p != NULL && avail > 1 && p[0] == '\r' && p[1] == '\n')
				t += 2;
			return t;
		}
	}
	if (cl != -1)
		ev->cl_other++; /* (also one whose value is no length) */
	return scan_body(v, body, NONE, 0, ev);
}

static void scan(struct view *v, struct mm_guess_ev *ev)
{
	uint64_t off = v->base;
	size_t avail;
	const char *p = at(v, off, MM_LOOK, &avail);

	memset(ev, 0, sizeof(*ev));
	ev->first_q2 = ev->first_cl_from = ev->first_q_nocl = NONE;
	if (p != NULL && mm_mmdf_sep_len(p, avail, at_end(v, p, avail, off))) {
		ev->mmdf = 1;
		return;
	}
	/* A From_ line that only a Content-Length keeps inside a body makes
	 * it mboxcl2 whatever follows (cl_from and cl_unq only grow): stop,
	 * the reader watches the rest for lines a single variant misreads. */
	while (off < v->end && !v->failed && ev->cl_from == 0)
		off = scan_message(v, off, ev);
	ev->stopped = off < v->end;
	ev->bytes = (ev->stopped ? off : v->end) - v->base;
}

static int uses_clen(const struct mm_guess_ev *ev)
{
	unsigned long cl = ev->cl_lands + ev->cl_other;

	return cl > 0 && (ev->cl_from > 0 || 2 * cl >= ev->msgs);
}

enum mm_format mm_guess_decide(const struct mm_guess_ev *ev)
{
	if (ev->mmdf)
		return MM_FMT_MMDF;
	if (uses_clen(ev))
		return ev->cl_unq > 0 || ev->q1 == 0 ? MM_FMT_MBOXCL2 : MM_FMT_MBOXCL;
	return ev->q2 > 0 ? MM_FMT_MBOXRD : MM_FMT_MBOXO;
}

/* "mboxrd: 12 '>>From ' lines (the first at offset 5000), ..." */
static void reason(char *out, size_t sz, enum mm_format fmt,
		   const struct mm_guess_ev *ev, const char *scope)
{
	size_t n;

	if (fmt == MM_FMT_MMDF) {
		snprintf(out, sz, "mmdf: starts with a line of four Ctrl-A bytes");
		return;
	}
	n = (size_t)snprintf(out, sz, "%s: ", mm_format_name(fmt));
#define ADD(...) do { if (n < sz) n += (size_t)snprintf(out + n, sz - n, __VA_ARGS__); } while (0)
	if (ev->cl_lands + ev->cl_other == 0)
		ADD("no Content-Length");
	else
		ADD("%lu of %lu messages with a Content-Length, %lu of them "
		    "landing on the next message", ev->cl_lands + ev->cl_other,
		    ev->msgs, ev->cl_lands);
	if (ev->cl_from > 0)
		ADD(", %lu From_ lines inside them (the first at offset %llu)",
		    ev->cl_from, (unsigned long long)ev->first_cl_from);
	if (uses_clen(ev) && ev->cl_unq > 0)
		ADD(", %lu unquoted 'From ' lines in those bodies", ev->cl_unq);
	if (ev->q2 > 0)
		ADD(", %lu '>>From ' lines (the first at offset %llu)", ev->q2,
		    (unsigned long long)ev->first_q2);
	else
		ADD(", no '>>From ' line");
	ADD(", %lu '>From ' lines (%s)", ev->q1, scope);
#undef ADD
}

/* The mailbox no single variant reads right: quoted lines in messages
 * without a Content-Length while none are unquoted. */
static void warn_mixed(struct mm_mbox *mb, enum mm_format fmt,
		       const struct mm_guess_ev *ev)
{
	if (fmt != MM_FMT_MBOXCL2 || ev->q_nocl == 0)
		return;
	mb->watch_seen |= 4; /* the watch need not say it again */
	mb->msgno = ev->msg_q_nocl; /* name the message it is in */
	mm_mbox_warn(mb, MM_W_FORMAT_GUESS, ev->first_q_nocl,
		     "--format auto: mboxcl2 (Content-Length), but %lu '>From ' "
		     "lines in messages without one are left quoted as mboxcl2 "
		     "does; if they were quoted by the writer, use --format mboxcl",
		     ev->q_nocl);
	mb->msgno = 0;
}

int mm_guess_format(struct mm_mbox *mb, struct mm_err *err_r)
{
	struct mm_guess_ev ev;
	struct view v;
	char scope[96];

	memset(&v, 0, sizeof(v));
	v.base = mb->buf_off + mb->pos;
	if (mb->seekable) {
		struct stat st;

		v.fd = mb->fd;
		v.eof = 1;
		v.buf = malloc(VIEW_CAP);
		if (v.buf == NULL)
			return mm_err_set(err_r, MM_E_NOMEM, errno, 0, v.base,
					  "out of memory");
		v.end = fstat(mb->fd, &st) == 0 && (uint64_t)st.st_size > v.base
			? (uint64_t)st.st_size : v.base;
		v.off = v.base;
		scan(&v, &ev);
		free(v.buf);
		if (v.failed)
			return mm_err_set(err_r, MM_E_IO, v.err_errno, 0, v.base,
					  "read failed: %s", strerror(v.err_errno));
		snprintf(scope, sizeof(scope), ev.stopped
			 ? "decided from the first %llu bytes of the file, whatever follows"
			 : "whole file, %llu bytes", (unsigned long long)ev.bytes);
		mb->watch = ev.stopped ? 2 : 0;
	} else {
		/* the same sample whatever the window: let it hold it */
		if (mb->cap_max < MM_GUESS_BYTES + MM_LOOK)
			mb->cap_max = MM_GUESS_BYTES + MM_LOOK;
		if (mm_mbox_fill(mb, MM_GUESS_BYTES, err_r) < 0)
			return -1;
		v.fd = -1;
		v.p = mb->buf + mb->pos;
		v.off = v.base;
		v.len = mb->end - mb->pos;
		if (v.len > MM_GUESS_BYTES)
			v.len = MM_GUESS_BYTES;
		v.end = v.off + v.len;
		v.eof = mb->eof && v.end == mb->buf_off + mb->end;
		scan(&v, &ev);
		mb->watch = !v.eof || ev.stopped;
		snprintf(scope, sizeof(scope), v.eof ? "all %llu bytes of a pipe"
			 : "assumed from the first %llu bytes of a pipe",
			 (unsigned long long)v.len);
	}
	mb->format = mm_guess_decide(&ev);
	reason(mb->format_reason, sizeof(mb->format_reason), mb->format, &ev,
	       scope);
	warn_mixed(mb, mb->format, &ev);
	return 0;
}

static void watch_warn(struct mm_mbox *mb, unsigned bit, uint64_t off,
		       const char *what, const char *fmt_hint)
{
	int pipe = mb->watch == 1;

	if (mb->watch_seen & bit)
		return;
	mb->watch_seen |= bit;
	mm_mbox_warn(mb, MM_W_FORMAT_GUESS, off,
		     "%s while reading as %s, a variant %s: if the mbox is %s, "
		     "read it again with --format %s%s", what,
		     mm_format_name(mb->format), pipe ? "assumed from the start "
		     "of a pipe" : "decided from the start of the file",
		     fmt_hint, fmt_hint, pipe ? " (or from a file)" : "");
}

void mm_guess_watch_line(struct mm_mbox *mb, size_t pos, size_t limit)
{
	size_t q = pos;

	if (mb->format == MM_FMT_MBOXRD || mb->format == MM_FMT_MMDF)
		return;
	while (q < limit && mb->buf[q] == '>')
		q++;
	if (limit - q < 5 || memcmp(mb->buf + q, "From ", 5) != 0)
		return;
	if (mb->format == MM_FMT_MBOXCL2) {
		if (!mb->cl_active)
			watch_warn(mb, 4, mb->buf_off + pos, "a '>From ' line in a "
				   "message without a Content-Length (quoted by "
				   "an mboxo writer?)", "mboxcl");
	} else if (q - pos >= 2) {
		watch_warn(mb, 1, mb->buf_off + pos,
			   "a '>>From ' line (an mboxrd writer's quoting)",
			   "mboxrd");
	}
}

void mm_guess_watch_end(struct mm_mbox *mb)
{
	const struct mm_msg *m = &mb->msg;
	uint64_t t, end = m->end_offset;

	if (m->content_length < 0 || mb->format == MM_FMT_MBOXCL ||
	    mb->format == MM_FMT_MBOXCL2 || mb->format == MM_FMT_MMDF ||
	    mb->body_off == 0 || m->content_length > (int64_t)(end - mb->body_off))
		return;
	t = mb->body_off + (uint64_t)m->content_length;
	/* lands exactly: on the separator blank line before the next one */
	if (t < mb->buf_off || end - t > 2)
		return;
	const char *p = mb->buf + (t - mb->buf_off);
	if ((end - t == 1 && p[0] == '\n') ||
	    (end - t == 2 && p[0] == '\r' && p[1] == '\n') || end == t)
		watch_warn(mb, 2, t, "a Content-Length that lands exactly on "
			   "the next message", "mboxcl2");
}
