/* mm_mbox_hdr.c - the header block of an mbox message: the metadata the
 * mbox store keeps there, which of its bytes are passed on, and whether a
 * Content-Length can be trusted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mm_flags.h"
#include "mm_mbox_int.h"

static const struct {
	const char *name;
	size_t len;
	int stripped;   /* the mbox store's own, left out of the output */
} hdr_names[MM_H_COUNT] = {
	[MM_H_STATUS]    = { "status", 6, 1 },
	[MM_H_XSTATUS]   = { "x-status", 8, 1 },
	[MM_H_XMOZILLA]  = { "x-mozilla-status", 16, 0 },
	[MM_H_XKEYWORDS] = { "x-keywords", 10, 1 },
	[MM_H_XUID]      = { "x-uid", 5, 1 },
	[MM_H_XUIDL]     = { "x-uidl", 6, 0 },
	[MM_H_XIMAP]     = { "x-imap", 6, 1 },
	[MM_H_XIMAPBASE] = { "x-imapbase", 10, 1 },
	[MM_H_CLEN]      = { "content-length", 14, 1 },
	[MM_H_DATE]      = { "date", 4, 0 },
};

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int name_eq(const char *p, size_t n, const char *lname)
{
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)p[i]) != lname[i])
			return 0;
	return 1;
}

/* Length of "name" in a "name:" header line, 0 if the line is not one
 * (RFC 5322: printable ASCII except colon, at least one character). */
static size_t header_name_len(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] > ' ' && p[i] < 127 && p[i] != ':')
		i++;
	return i > 0 && i < n && p[i] == ':' ? i : 0;
}

static int classify(const char *p, size_t n)
{
	for (int id = 0; id < MM_H_COUNT; id++)
		if (hdr_names[id].len == n && name_eq(p, n, hdr_names[id].name))
			return id;
	return -1;
}

static int seg_add(struct mm_mbox *mb, uint64_t start, uint64_t end)
{
	if (end <= start)
		return 0;
	if (mb->nsegs == mb->segs_alloc) {
		size_t n = mb->segs_alloc ? mb->segs_alloc * 2 : 16;
		struct mm_seg *s = realloc(mb->segs, n * sizeof(*s));

		if (s == NULL)
			return -1;
		mb->segs = s;
		mb->segs_alloc = n;
	}
	mb->segs[mb->nsegs].start = start;
	mb->segs[mb->nsegs].end = end;
	mb->nsegs++;
	return 0;
}

/* Unfolded, trimmed value of a recorded header into out (size outsz). */
static size_t header_value(const struct mm_mbox *mb, int id, char *out,
			   size_t outsz)
{
	const struct mm_seg *h = &mb->hdr[id];
	const char *p = mb->buf + (h->start - mb->buf_off);
	size_t n = (size_t)(h->end - h->start), i = hdr_names[id].len + 1, o = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	for (; i < n && o + 1 < outsz; i++)
		out[o++] = (p[i] == '\r' || p[i] == '\n' || p[i] == '\t') ? ' ' : p[i];
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	return o;
}

/* Leading decimal number of s; -1 if none or too big for the limit. */
static int64_t parse_num(const char **s, int64_t limit)
{
	int64_t v = 0;
	const char *p = *s;

	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (limit - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*s = p;
	return v;
}

static void take_metadata(struct mm_mbox *mb)
{
	struct mm_msg *m = &mb->msg;
	char v[MM_KEYWORDS_MAX];
	const char *p;
	int64_t a, b;

	for (int id = 0; id < MM_H_COUNT; id++) {
		if (mb->hdr[id].end == mb->hdr[id].start)
			continue;
		size_t n = header_value(mb, id, v, sizeof(v));
		p = v;
		switch (id) {
		case MM_H_STATUS:
			mm_flags_status(v, n, mb->hdr[MM_H_XSTATUS].end !=
					      mb->hdr[MM_H_XSTATUS].start,
					&m->flags);
			break;
		case MM_H_XSTATUS: mm_flags_xstatus(v, n, &m->flags); break;
		case MM_H_XMOZILLA: mm_flags_mozilla(v, n, &m->flags); break;
		case MM_H_XKEYWORDS: memcpy(m->keywords, v, n + 1); break;
		case MM_H_XUIDL:
			if (n >= MM_UIDL_MAX)
				n = MM_UIDL_MAX - 1;
			memcpy(m->uidl, v, n);
			m->uidl[n] = '\0';
			break;
		case MM_H_XUID:
			a = parse_num(&p, UINT32_MAX);
			if (a > 0 && *p == '\0') {
				m->has_uid = 1;
				m->uid = (uint32_t)a;
			}
			break;
		case MM_H_XIMAP:
		case MM_H_XIMAPBASE:
			a = parse_num(&p, UINT32_MAX);
			b = a >= 0 ? parse_num(&p, UINT32_MAX) : -1;
			if (b >= 0 && !m->has_imapbase) {
				m->has_imapbase = 1;
				m->uidvalidity = (uint32_t)a;
				m->uid_last = (uint32_t)b;
			}
			/* UW-IMAP keeps folder data in a first message of
			 * its own, marked by X-IMAP (not X-IMAPbase). */
			if (id == MM_H_XIMAP && m->msgno == 1)
				m->is_pseudo = 1;
			break;
		case MM_H_CLEN:
			a = parse_num(&p, INT64_MAX / 2);
			if (a >= 0 && *p == '\0')
				m->content_length = a;
			break;
		case MM_H_DATE:
			if (mm_date_rfc5322(v, n, &m->date) == 0)
				m->has_date = 1;
			break;
		}
	}
}

int mm_clen_lands(const char *p, size_t n, int prev, int at_eof)
{
	size_t bl = 0;

	if (n == 0)
		return at_eof;
	if (p[0] == '\n')
		bl = 1;
	else if (n > 1 && p[0] == '\r' && p[1] == '\n')
		bl = 2;
	if (bl > 0)
		return (n == bl && at_eof) ||
		       mm_from_line_len(p + bl, n - bl, at_eof, NULL) > 0;
	return prev == '\n' && mm_from_line_len(p, n, at_eof, NULL) > 0;
}

/* 1: lands, 0: does not. In the window if it fits there (or the input
 * has ended in it), else by pread(): from the file, or from the spill
 * file a pipe is copied to as far as needed (mm_spill.h). */
static int check_clen(struct mm_mbox *mb, uint64_t target,
		      struct mm_err *err_r)
{
	uint64_t body = mb->buf_off + mb->pos;
	char tmp[MM_LOOK + 1];
	ssize_t n;

	if (target + MM_LOOK - mb->keep <= mb->cap_max || mb->eof) {
		long avail = mm_mbox_fill(mb, (size_t)(target - body) + MM_LOOK,
					  err_r);
		uint64_t endabs = mb->buf_off + mb->end;

		if (avail < 0)
			return -1;
		if (target > endabs)
			return 0;
		size_t t = (size_t)(target - mb->buf_off);
		int prev = target > body ? mb->buf[t - 1] : '\n';
		return mm_clen_lands(mb->buf + t, mb->end - t, prev, mb->eof);
	}
	if (mb->seekable) {
		n = pread(mb->fd, tmp, sizeof(tmp), (off_t)target - 1);
	} else {
		if (mm_spill_ensure(&mb->spill, mb->fd, mb->buf, mb->end,
				    mb->buf_off, target + MM_LOOK, mb->msgno,
				    mb->msg.offset, err_r) < 0)
			return -1;
		n = mm_spill_pread(&mb->spill, tmp, sizeof(tmp), target - 1);
	}
	if (n < 0)
		return mm_err_set(err_r, MM_E_IO, errno, mb->msgno, target,
				  "read failed: %s", strerror(errno));
	if (n == 0)
		return 0; /* the input is shorter than that */
	return mm_clen_lands(tmp + 1, (size_t)n - 1, tmp[0], (size_t)n < sizeof(tmp));
}

static int clen_format(const struct mm_mbox *mb)
{
	return mb->format == MM_FMT_MBOXCL || mb->format == MM_FMT_MBOXCL2;
}

static int use_clen(struct mm_mbox *mb, struct mm_err *err_r)
{
	int64_t cl = mb->msg.content_length;
	uint64_t target;
	int r;

	if (cl < 0 || !clen_format(mb))
		return 0;
	target = mb->buf_off + mb->pos + (uint64_t)cl;
	r = check_clen(mb, target, err_r);
	if (r == -1)
		return -1;
	if (r == 0) {
		mm_mbox_warn(mb, MM_W_BAD_CLEN, mb->msg.offset,
			     "Content-Length %lld does not end on a From_ line "
			     "or the end of the file; ignored", (long long)cl);
		return 0;
	}
	mb->cl_active = 1;
	mb->cl_limit = target;
	mb->msg.clen_used = 1;
	return 0;
}

int mm_mbox_headers(struct mm_mbox *mb, struct mm_err *err_r)
{
	uint64_t seg_start = mb->buf_off + mb->pos;
	int stripping = 0, rec = -1, seen_header = 0, in_meta = 0;
	size_t maybe_sep = 0;

	mb->nsegs = mb->seg_i = 0;
	mb->hdr_only = 0;
	memset(mb->hdr, 0, sizeof(mb->hdr));

	for (;;) {
		const char *nl = NULL;
		size_t lend, bl, nlen;
		long avail = mm_mbox_fill(mb, MM_LOOK, err_r);

		if (avail < 0)
			return -1;
		while ((nl = memchr(mb->buf + mb->pos, '\n',
				    mb->end - mb->pos)) == NULL && !mb->eof) {
			size_t have = mb->end - mb->pos;

			if (mm_mbox_fill(mb, have + 64 * 1024, err_r) < 0)
				return -1;
			if (mb->end - mb->pos == have)
				break; /* window full */
		}
		if (mb->pos == mb->end) {
			mm_mbox_warn(mb, MM_W_TRUNCATED, mb->buf_off + mb->pos,
				     "file ends inside the header block");
			mb->hdr_only = 1;
			break;
		}
		if (nl == NULL && !mb->eof) {
			mm_mbox_warn(mb, MM_W_LONG_HEADER, mb->buf_off + mb->pos,
				     "header block longer than %zu bytes: the rest "
				     "is passed on unexamined", mb->cap_max);
			break;
		}
		lend = nl ? (size_t)(nl - mb->buf) + 1 : mb->end;
		bl = mm_mbox_blank_at(mb, mb->pos);
		if (bl > 0) {
			size_t after = mb->pos + bl;

			if (mm_mbox_fill(mb, bl + MM_LOOK, err_r) < 0)
				return -1;
			after = mb->pos + bl;
			/* (MMDF: the line before the closing one is
			 * the message's own.) With a Content-Length, a
			 * From_-like line here is decided below, so it is
			 * looked at without a warning. */
			int has_clen = clen_format(mb) &&
				mb->hdr[MM_H_CLEN].end != mb->hdr[MM_H_CLEN].start;
			if (mb->format != MM_FMT_MMDF &&
			    ((after == mb->end && mb->eof) ||
			     (has_clen ? mm_from_line_len(mb->buf + after,
							  mb->end - after, mb->eof,
							  NULL)
				       : mm_mbox_from_at(mb, after, 1, NULL)) > 0)) {
				/* The blank line is the separator and there is
				 * no body - unless a Content-Length says the
				 * body starts with a From_ line: decided below. */
				if (!has_clen) {
					mb->hdr_only = 1;
					break;
				}
				maybe_sep = bl;
			}
			if (stripping) {
				/* the blank line after a removed header stays */
				seg_start = mb->buf_off + mb->pos;
				stripping = 0;
			}
			mb->pos = after;
			break;
		}
		if ((mb->buf[mb->pos] == ' ' || mb->buf[mb->pos] == '\t') &&
		    seen_header) {
			if (!in_meta)
				mb->msg.hash = mm_hash(mb->msg.hash,
						       mb->buf + mb->pos,
						       lend - mb->pos);
			if (rec >= 0)
				mb->hdr[rec].end = mb->buf_off + lend;
			mb->pos = lend;
			continue;
		}
		if (mb->format != MM_FMT_MMDF &&
		    mm_mbox_from_at(mb, mb->pos, 0, NULL) > 0) {
			mm_mbox_warn_no_separator(mb, mb->pos);
			mb->hdr_only = 1;
			break;
		}
		nlen = header_name_len(mb->buf + mb->pos, lend - mb->pos);
		if (nlen == 0)
			break; /* not a header: the body starts without a blank line */
		seen_header = 1;
		int id = classify(mb->buf + mb->pos, nlen);
		uint64_t here = mb->buf_off + mb->pos;
		rec = -1;
		if (id >= 0 && mb->hdr[id].end == mb->hdr[id].start) {
			mb->hdr[id].start = here;
			mb->hdr[id].end = mb->buf_off + lend;
			rec = id;
		}
		in_meta = id >= 0 && hdr_names[id].stripped;
		if (!in_meta)
			mb->msg.hash = mm_hash(mb->msg.hash, mb->buf + mb->pos,
					       lend - mb->pos);
		int strip = id >= 0 && hdr_names[id].stripped &&
			    !mb->opts.keep_headers && mb->nsegs < MM_HDR_SEGS_MAX;
		if (strip && !stripping) {
			if (seg_add(mb, seg_start, here) < 0)
				return mm_err_set(err_r, MM_E_NOMEM, errno, mb->msgno,
						  here, "out of memory");
			stripping = 1;
		} else if (!strip && stripping) {
			seg_start = here;
			stripping = 0;
		}
		mb->pos = lend;
	}
	take_metadata(mb);
	if (!mb->hdr_only) {
		if (use_clen(mb, err_r) < 0)
			return -1;
		if (maybe_sep && !mb->cl_active) {
			mb->hdr_only = 1;
			mb->pos -= maybe_sep;
		}
	}
	if (!stripping && seg_add(mb, seg_start, mb->buf_off + mb->pos) < 0)
		return mm_err_set(err_r, MM_E_NOMEM, errno, mb->msgno,
				  mb->msg.offset, "out of memory");
	if (mb->hdr_only) {
		/* pos sits on the separator (if any): skip it after yielding */
		size_t bl = mm_mbox_blank_at(mb, mb->pos);
		if (bl > 0 && mb->pos + bl <= mb->end)
			mb->pos += bl;
	}
	mb->body_off = mb->hdr_only ? 0 : mb->buf_off + mb->pos;
	mb->state = MM_ST_HEADERS;
	return 0;
}
