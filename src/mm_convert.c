/* mm_convert.c - one mbox into one Maildir, and the proof it is there. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mm_convert.h"
#include "mm_flags.h"
#include "mm_keymap.h"
#include "mm_keyset.h"
#include "mm_uidlist.h"

/* What convert and verify share: the reader, and the copy numbers that
 * make identical messages' keys unique, in mbox order. */
struct walk {
	struct mm_mbox *mb;
	struct mm_keyset used;
	struct mm_keymap next_k; /* hash -> first copy number not known taken */
	struct mm_convert_stats *st;
	size_t max_listed;
	int uidl_names;
	struct mm_uid *uids;    /* X-UID of every message, in mbox order */
	size_t nuids, uids_cap;
	int uids_usable;        /* ascending, as a UID list needs */
};

/* How one message is named in the Maildir. */
struct pick {
	unsigned k;             /* copy number, for the H form */
	int named;              /* named by its UIDL instead */
	uint64_t key;
};

static void list_add(struct mm_issue_list *l, size_t max,
		     const struct mm_err *e)
{
	if (l->len == max) {
		l->dropped++;
		return;
	}
	if (l->len == l->cap) {
		size_t n = l->cap ? l->cap * 2 : 16;
		struct mm_err *items = realloc(l->items, n * sizeof(*items));

		if (items == NULL) {
			l->dropped++;
			return;
		}
		l->items = items;
		l->cap = n;
	}
	l->items[l->len++] = *e;
}

static void drain_warnings(struct walk *w)
{
	struct mm_err e;

	while (mm_mbox_warning(w->mb, &e))
		list_add(&w->st->warnings, w->max_listed, &e);
}

/* An error about one message: counted as failed and listed. */
static void msg_error(struct walk *w, const struct mm_msg *m,
		      struct mm_err *e)
{
	e->msgno = m->msgno;
	e->offset = m->offset;
	w->st->failed++;
	list_add(&w->st->errors, w->max_listed, e);
}

static int walk_start(struct walk *w, int fd, const struct mm_convert_opts *o,
		      struct mm_convert_stats *st, struct mm_err *err_r)
{
	memset(st, 0, sizeof(*st));
	memset(w, 0, sizeof(*w));
	w->st = st;
	w->max_listed = o && o->max_listed ? o->max_listed : 1000;
	w->uidl_names = o ? o->uidl_names : 0;
	w->uids_usable = 1;
	w->mb = mm_mbox_new(fd, o ? &o->mbox : NULL, err_r);
	return w->mb ? 0 : -1;
}

static void note_uid(struct walk *w, const struct mm_msg *m, uint64_t key)
{
	/* messages without X-UID are left to the server to number */
	if (!w->uids_usable || !m->has_uid)
		return;
	if (w->nuids > 0 && m->uid <= w->uids[w->nuids - 1].uid) {
		w->uids_usable = 0;
		return;
	}
	if (w->nuids == w->uids_cap) {
		size_t n = w->uids_cap ? w->uids_cap * 2 : 1024;
		struct mm_uid *u = realloc(w->uids, n * sizeof(*u));

		if (u == NULL) {
			w->uids_usable = 0;
			return;
		}
		w->uids = u;
		w->uids_cap = n;
	}
	w->uids[w->nuids].key = key;
	w->uids[w->nuids].uid = m->uid;
	w->nuids++;
}

/* Next message that is mail (the pseudo message is counted and read for
 * its UIDVALIDITY only), with its name. 1, 0 at the end, -1 on error. */
static int walk_next(struct walk *w, const struct mm_msg **m_r,
		     struct pick *p, struct mm_err *err_r)
{
	const struct mm_msg *m;
	int r;

	for (;;) {
		r = mm_mbox_next(w->mb, &m, err_r);
		drain_warnings(w);
		if (r <= 0) {
			w->st->format = mm_mbox_format(w->mb);
			if (r < 0)
				err_r->code = MM_E_IO;
			return r;
		}
		w->st->messages++;
		if (m->has_imapbase && !w->st->has_imapbase) {
			w->st->has_imapbase = 1;
			w->st->uidvalidity = m->uidvalidity;
			w->st->uid_last = m->uid_last;
		}
		if (!m->is_pseudo)
			break;
		w->st->skipped_pseudo++;
	}
	memset(p, 0, sizeof(*p));
	if (w->uidl_names && mm_maildir_name_ok(m->uidl)) {
		p->key = mm_maildir_plain_key(m->uidl, strlen(m->uidl));
		p->named = !mm_keyset_has(&w->used, p->key);
	}
	if (!p->named) {
		/* The least copy number whose key is free, as names have
		 * always had it; keys only ever join w->used, so every copy
		 * below next_k is taken and the search starts there: n
		 * identical messages cost O(n), not O(n^2). */
		p->k = mm_keymap_get(&w->next_k, m->hash, 0);
		while (mm_keyset_has(&w->used, mm_maildir_key(m->hash, p->k)))
			p->k++;
		p->key = mm_maildir_key(m->hash, p->k);
	}
	if (mm_keyset_add(&w->used, p->key) < 0 ||
	    (!p->named && mm_keymap_set(&w->next_k, m->hash, p->k + 1) < 0))
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, m->msgno, m->offset,
				  "out of memory");
	note_uid(w, m, p->key);
	*m_r = m;
	return 1;
}

static void walk_end(struct walk *w)
{
	mm_mbox_free(w->mb);
	mm_keyset_free(&w->used);
	mm_keymap_free(&w->next_k);
	free(w->uids);
}

/* Errors that would hit every later message too stop the run; a file
 * size limit, a message over the size limit (the reader skips the rest
 * of it) or a name taken (a planted file) concern one message. */
static int is_fatal(const struct mm_err *e)
{
	if (e->code == MM_E_TOOBIG)
		return 0;
	return e->code != MM_E_IO ||
	       (e->sys_errno != EFBIG && e->sys_errno != EEXIST);
}

/* Messages the Maildir lost while making them durable and visible: each
 * counted and listed. Returns -1 (with *err_r) if one was fatal. */
static int drain_failures(struct walk *w, struct mm_maildir *md,
			  struct mm_err *err_r)
{
	struct mm_err e;
	int ret = 0;

	while (mm_maildir_failure(md, &e)) {
		list_add(&w->st->errors, w->max_listed, &e);
		if (e.msgno == 0)
			continue; /* no message lost: reported, not a stop */
		w->st->failed++;
		if (ret == 0 && is_fatal(&e)) {
			*err_r = e;
			ret = -1;
		}
	}
	return ret;
}

static time_t msg_time(const struct mm_msg *m, time_t fallback)
{
	return m->has_from_time ? m->from_time : m->has_date ? m->date : fallback;
}

/* Write one message into tmp/ and commit it. */
static int deliver(struct walk *w, struct mm_maildir *md,
		   const struct mm_msg *m, const struct pick *p,
		   struct mm_err *e)
{
	const char *data;
	size_t len;
	char info[8];
	int r;

	r = p->named ? mm_maildir_begin_named(md, m->uidl, m->msgno, m->offset, e)
		     : mm_maildir_begin(md, msg_time(m, 0), m->hash, p->k,
					m->msgno, m->offset, e);
	if (r < 0)
		return -1;
	while ((r = mm_mbox_read(w->mb, &data, &len, e)) > 0)
		if (mm_maildir_write(md, data, len, e) < 0)
			break;
	drain_warnings(w);
	if (r != 0) {
		mm_maildir_abort(md);
		return r < 0 ? -2 : -1; /* -2: the mbox itself failed */
	}
	mm_flags_letters(m->flags, info);
	/* what commit loses is reported through mm_maildir_failure() */
	mm_maildir_commit(md, msg_time(m, time(NULL)), mm_flags_in_cur(m->flags),
			  info, e);
	return 0;
}

int mm_convert(int src_fd, const char *maildir,
	       const struct mm_convert_opts *opts,
	       struct mm_convert_stats *st, struct mm_err *err_r)
{
	struct mm_maildir *md;
	const struct mm_msg *m;
	struct walk w;
	struct mm_err e;
	struct pick p;
	int r, ret = 0;

	if (walk_start(&w, src_fd, opts, st, err_r) < 0)
		return -1;
	md = mm_maildir_open(maildir, opts ? &opts->maildir : NULL, err_r);
	if (md == NULL) {
		walk_end(&w);
		return -1;
	}
	while (mm_maildir_warning(md, &e))
		list_add(&st->warnings, w.max_listed, &e);
	while ((r = walk_next(&w, &m, &p, err_r)) > 0) {
		if (mm_maildir_has(md, p.key)) {
			st->skipped_present++;
			continue;
		}
		r = deliver(&w, md, m, &p, &e);
		if (r == -2) {
			*err_r = e;
			break;
		}
		if (r == -1) {
			msg_error(&w, m, &e);
			if (is_fatal(&e)) {
				*err_r = e;
				break;
			}
		}
		if ((r = drain_failures(&w, md, err_r)) < 0)
			break;
	}
	if (r < 0)
		ret = -1;
	/* what was complete becomes durable and visible, even after a stop */
	mm_maildir_flush(md, &e);
	if (drain_failures(&w, md, ret < 0 ? &e : err_r) < 0)
		ret = -1;
	/* UID lists only from a run that has every message of the mbox in
	 * the Maildir (read to the end, none failed): a list exists once and
	 * is the server's from then on, so a list written with holes would
	 * keep them after the re-run that delivers the rest. A killed or
	 * failed run writes none; the re-run that completes the mailbox
	 * writes it, finding the earlier runs' files by key. (Extending an
	 * existing list instead would mean telling ours from the server's.)
	 * A Maildir-wide trouble (msgno 0: maildirsize, a directory sync)
	 * loses no message, and as names are deterministic a list stays
	 * right even for a file that must be delivered again. */
	if (ret == 0 && st->failed == 0 && opts && opts->uid_lists &&
	    st->has_imapbase && w.uids_usable && w.nuids > 0) {
		uint32_t next = st->uid_last + 1;

		if (w.uids[w.nuids - 1].uid >= next)
			next = w.uids[w.nuids - 1].uid + 1;
		r = mm_uidlist_write(md, w.uids, w.nuids, st->uidvalidity, next, &e);
		if (r < 0)
			list_add(&st->errors, w.max_listed, &e);
		else
			st->uid_lists_written = r;
	}
	const struct mm_maildir_stats *ms = mm_maildir_stats(md);
	st->delivered = ms->delivered;
	st->to_new = ms->to_new;
	st->to_cur = ms->to_cur;
	st->bytes = ms->bytes;
	st->tmp_cleaned = ms->tmp_cleaned;
	st->fsync = ms->fsync;
	st->durable = ms->durable;
	memcpy(st->durability, ms->durability, sizeof(st->durability));
	mm_maildir_close(md, &e);
	walk_end(&w);
	return ret;
}

/* Compare the message's bytes with the file's; 0 equal, 1 different
 * (e->offset: first difference within the message), -1 mbox error. */
static int compare(struct walk *w, int fd, struct mm_err *e,
		   uint64_t *diff_at)
{
	char buf[65536];
	const char *data;
	size_t len;
	uint64_t pos = 0;
	int r, differ = 0;

	while ((r = mm_mbox_read(w->mb, &data, &len, e)) > 0) {
		while (len > 0 && !differ) {
			size_t want = len < sizeof(buf) ? len : sizeof(buf);
			ssize_t n = read(fd, buf, want);

			if (n <= 0) {
				differ = 1;
				break;
			}
			if (memcmp(buf, data, (size_t)n) != 0) {
				size_t i = 0;
				while (buf[i] == data[i])
					i++;
				pos += i;
				differ = 1;
				break;
			}
			pos += (uint64_t)n;
			data += n;
			len -= (size_t)n;
		}
	}
	drain_warnings(w);
	if (r < 0)
		return -1;
	if (!differ && read(fd, buf, 1) != 0)
		differ = 1; /* the file is longer */
	*diff_at = pos;
	return differ;
}

int mm_verify(int src_fd, const char *maildir,
	      const struct mm_convert_opts *opts,
	      struct mm_convert_stats *st, struct mm_err *err_r)
{
	struct mm_maildir_opts mo;
	struct mm_maildir_list list;
	struct mm_maildir *md;
	const struct mm_msg *m;
	struct walk w;
	struct mm_err e, why;
	struct pick p;
	int r;

	if (walk_start(&w, src_fd, opts, st, err_r) < 0)
		return -1;
	memset(&mo, 0, sizeof(mo));
	if (opts)
		mo = opts->maildir;
	mo.readonly = 1;
	md = mm_maildir_open(maildir, &mo, err_r);
	if (md == NULL || mm_maildir_list(md, &list, err_r) < 0) {
		if (md)
			mm_maildir_close(md, &e);
		walk_end(&w);
		return -1;
	}
	while ((r = walk_next(&w, &m, &p, err_r)) > 0) {
		const struct mm_maildir_entry *ent =
			mm_maildir_list_find(&list, p.key);
		uint64_t at = 0;
		int fd;

		if (ent == NULL) {
			st->missing++;
			mm_err_set(&e, MM_E_FORMAT, 0, 0, 0,
				   "missing from the Maildir");
			msg_error(&w, m, &e);
			continue;
		}
		fd = mm_maildir_open_entry(md, ent, &why);
		if (fd < 0) {
			st->missing++;
			mm_err_set(&e, MM_E_IO, why.sys_errno, 0, 0,
				   "%s (in %.3s/)", why.text, ent->name);
			msg_error(&w, m, &e);
			continue;
		}
		r = compare(&w, fd, &e, &at);
		close(fd);
		if (r < 0) {
			*err_r = e;
			break;
		}
		if (r > 0) {
			st->mismatched++;
			mm_err_set(&e, MM_E_FORMAT, 0, 0, 0,
				   "%s differs from the mbox at byte %llu of the "
				   "message", ent->name, (unsigned long long)at);
			msg_error(&w, m, &e);
		} else {
			st->verified++;
		}
	}
	mm_maildir_list_free(&list);
	mm_maildir_close(md, &e);
	walk_end(&w);
	return r < 0 ? -1 : 0;
}

static void list_free(struct mm_issue_list *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}

void mm_convert_stats_free(struct mm_convert_stats *st)
{
	list_free(&st->errors);
	list_free(&st->warnings);
}
