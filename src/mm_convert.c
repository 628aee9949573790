/* mm_convert.c - one mbox into one Maildir, and the proof it is there. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mm_convert.h"
#include "mm_progress.h"
#include "mm_digest.h"
#include "mm_flags.h"
#include "mm_keymap.h"
#include "mm_keyset.h"
#include "mm_keywords.h"
#include "mm_oldpop3.h"
#include "mm_uidlist.h"

/* What convert and verify share: the reader, and the copy numbers that
 * make identical messages' keys unique, in mbox order. */
struct walk {
	struct mm_mbox *mb;
	struct mm_keyset used;
	struct mm_keymap next_k; /* hash -> first copy number not known taken */
	struct mm_convert_stats *st;
	size_t max_listed;
	struct mm_keep keep;    /* old POP3 UIDLs, and the forecast */
	char uidl[MM_UIDL_MAX]; /* the current message's old UIDL, or "" */
	struct mm_keywords kw;  /* keywords (mm_convert() only, kw_on) */
	int kw_on;
	char kwl[MM_INFO_MAX];  /* the current message's keyword letters */
	struct kw_rec { uint64_t key; char *letters; } *kws;
	size_t nkws, kws_cap;   /* messages with keywords, for Courier */
	struct mm_uid *uids;    /* X-UID of every message, in mbox order */
	size_t nuids, uids_cap;
	int uids_usable;        /* ascending, as a UID list needs */
	uint64_t *pkeys;        /* every message's key, for Courier's POP3 */
	size_t npkeys, pkeys_cap; /* list (uid_lists, a UIDL scheme) */
	int pkeys_lost;         /* out of memory: no such list */
	int uid_lists;          /* opts uid_lists: UIDs are to be kept */
	int ignore_uids;        /* opts ignore_uids */
	int digesting;          /* opts verify_digest */
	struct mm_digest_list digests; /* what was read of each message */
	int digests_lost;       /* out of memory: some were not kept */
	struct mm_sync *sy;     /* the state, a sync (mm_sync.h), or NULL */
	const struct mm_maildir *md; /* the Maildir, once open */
	unsigned long hash_named; /* messages found under an H name instead
				   * of their old UIDL (under_hash_name()) */
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
	if (w->sy)
		mm_sync_outcome(w->sy, m->msgno, MM_ACT_FAILED, e->text);
}

static int walk_start(struct walk *w, int fd, const struct mm_convert_opts *o,
		      struct mm_convert_stats *st, struct mm_err *err_r)
{
	memset(st, 0, sizeof(*st));
	memset(w, 0, sizeof(*w));
	w->st = st;
	w->max_listed = o && o->max_listed ? o->max_listed : 1000;
	mm_keep_init(&w->keep, o ? o->old_pop3 : MM_OLDPOP3_NONE);
	w->uids_usable = 1;
	w->uid_lists = o ? o->uid_lists : 0;
	w->ignore_uids = o ? o->ignore_uids : 0;
	if (w->ignore_uids)
		w->uid_lists = 0;
	w->digesting = o ? o->verify_digest : 0;
	w->mb = mm_mbox_new(fd, o ? &o->mbox : NULL, err_r);
	return w->mb ? 0 : -1;
}

static void uids_free(struct walk *w)
{
	for (size_t i = 0; i < w->nuids; i++)
		free(w->uids[i].pop3);
	free(w->uids);
	w->uids = NULL;
	w->nuids = 0;
}

static void note_uid(struct walk *w, const struct mm_msg *m, uint64_t key)
{
	/* messages without X-UID are left to the server to number */
	if (!w->uids_usable || !m->has_uid)
		return;
	if (w->nuids > 0 && m->uid <= w->uids[w->nuids - 1].uid) {
		w->uids_usable = 0;
		uids_free(w);
		return;
	}
	if (w->nuids == w->uids_cap) {
		size_t n = w->uids_cap ? w->uids_cap * 2 : 1024;
		struct mm_uid *u = realloc(w->uids, n * sizeof(*u));

		if (u == NULL) {
			w->uids_usable = 0;
			uids_free(w);
			return;
		}
		w->uids = u;
		w->uids_cap = n;
	}
	w->uids[w->nuids].key = key;
	w->uids[w->nuids].uid = m->uid;
	/* Dovecot serves the old UIDL from dovecot-uidlist's P field */
	w->uids[w->nuids].pop3 = w->uidl[0] && mm_keep_p_ok(w->uidl)
					 ? strdup(w->uidl) : NULL;
	w->nuids++;
}

/* Every message's key, in mbox order, for courierpop3dsizelist. */
static void note_key(struct walk *w, uint64_t key)
{
	if (w->pkeys_lost || !w->uid_lists || w->keep.scheme == MM_OLDPOP3_NONE)
		return;
	if (w->npkeys == w->pkeys_cap) {
		size_t n = w->pkeys_cap ? w->pkeys_cap * 2 : 1024;
		uint64_t *k = realloc(w->pkeys, n * sizeof(*k));

		if (k == NULL) {
			w->pkeys_lost = 1;
			return;
		}
		w->pkeys = k;
		w->pkeys_cap = n;
	}
	w->pkeys[w->npkeys++] = key;
}

/* Next message that is mail (the pseudo message is counted and read for
 * its UIDVALIDITY only), with its name. 1, 0 at the end, -1 on error. */
/* The copy number the H form of m's name would have now. */
static unsigned next_copy(const struct walk *w, const struct mm_msg *m)
{
	unsigned k = mm_keymap_get(&w->next_k, m->hash, 0);

	while (mm_keyset_has(&w->used, mm_maildir_key(m->hash, k)))
		k++;
	return k;
}

/* Is message m, to be named by its old UIDL (key named), in the Maildir
 * under the H form of its name instead? A version before --old-pop3
 * named by the H form every message without an X-UIDL header (a UW- or
 * Dovecot-served spool), so a re-run over a Maildir it made would
 * otherwise deliver each such message a second time. That file is the
 * message: it stays, under its name (which qmail-pop3d and Courier
 * then serve as its UIDL; dovecot-uidlist's P field still carries the
 * old one). A WARNING says so, once per mailbox. */
static int under_hash_name(struct walk *w, const struct mm_msg *m,
			   uint64_t named)
{
	uint64_t key;
	struct mm_err we;

	if (w->md == NULL || mm_maildir_has(w->md, named) ||
	    mm_maildir_damaged(w->md, named) != NULL)
		return 0;
	key = mm_maildir_key(m->hash, next_copy(w, m));
	if (!mm_maildir_has(w->md, key) && mm_maildir_damaged(w->md, key) == NULL)
		return 0;
	if (w->hash_named++ == 0) {
		mm_err_set(&we, MM_W_UIDL, 0, m->msgno, m->offset,
			   "message %lu is in the Maildir under the name an "
			   "earlier version gave it, not under the old server's "
			   "UIDL %.70s: kept there, not delivered again (so are "
			   "the later ones like it); qmail-pop3d and Courier "
			   "serve that name as its UIDL: to keep the old UIDLs "
			   "there, convert into a fresh Maildir", m->msgno, w->uidl);
		list_add(&w->st->warnings, w->max_listed, &we);
	}
	return 1;
}

static int walk_next(struct walk *w, const struct mm_msg **m_r,
		     struct pick *p, struct mm_err *err_r)
{
	const struct mm_msg *m;
	struct mm_err we;
	int r, named = 0;

	for (;;) {
		r = mm_mbox_next(w->mb, &m, err_r);
		drain_warnings(w);
		if (r <= 0) {
			w->st->format = mm_mbox_format(w->mb);
			snprintf(w->st->format_reason, sizeof(w->st->format_reason),
				 "%s", mm_mbox_format_reason(w->mb));
			if (r < 0)
				err_r->code = MM_E_IO;
			return r;
		}
		w->st->messages++;
		if (w->ignore_uids && (m->has_uid || m->has_imapbase)) {
			/* the reader's message, as for MM_F_OLD below */
			w->st->uids_ignored++;
			((struct mm_msg *)m)->has_uid = 0;
			((struct mm_msg *)m)->has_imapbase = 0;
		}
		if ((r = mm_keep_add(&w->keep, m, w->uidl, &named, &we)) < 0) {
			*err_r = we;
			return -1;
		}
		if (r > 0)
			list_add(&w->st->warnings, w->max_listed, &we);
		/* Courier-IMAP keeps the courierimapuiddb entries of cur/
		 * only: on opening a mailbox it drops those of new/, then
		 * moves new/ into cur/ and numbers the files anew
		 * (imap/imapscanclient.c, do_imapscan_maildir2, steps 2-6).
		 * A message whose UID is kept therefore goes to cur/, with
		 * no S: unread for Dovecot, Courier and mail readers alike
		 * (qmail-pop3d serves both directories). The flag is set on
		 * the reader's message, so that delivery and a sync pass
		 * (mm_sync.c) place it alike. */
		if (w->uid_lists && m->has_uid && w->keep.has_validity &&
		    !m->is_pseudo)
			((struct mm_msg *)m)->flags |= MM_F_OLD;
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
	if (named) {
		p->key = mm_maildir_plain_key(w->uidl, strlen(w->uidl));
		p->named = !mm_keyset_has(&w->used, p->key) &&
			   !under_hash_name(w, m, p->key);
	}
	if (!p->named) {
		/* The least copy number whose key is free, as names have
		 * always had it; keys only ever join w->used, so every copy
		 * below next_k is taken and the search starts there: n
		 * identical messages cost O(n), not O(n^2). */
		p->k = next_copy(w, m);
		p->key = mm_maildir_key(m->hash, p->k);
	}
	if (mm_keyset_add(&w->used, p->key) < 0 ||
	    (!p->named && mm_keymap_set(&w->next_k, m->hash, p->k + 1) < 0))
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, m->msgno, m->offset,
				  "out of memory");
	note_uid(w, m, p->key);
	note_key(w, p->key);
	*m_r = m;
	return 1;
}

static void walk_end(struct walk *w)
{
	w->st->spilled = mm_mbox_spilled(w->mb, &w->st->spill_peak);
	mm_keep_result(&w->keep, &w->st->keep);
	/* kept under their earlier names, not the old UIDL */
	if (w->hash_named <= w->st->keep.pop3_kept) {
		w->st->keep.pop3_kept -= w->hash_named;
		w->st->keep.pop3_earlier_name = w->hash_named;
	}
	mm_mbox_free(w->mb);
	mm_keyset_free(&w->used);
	mm_keymap_free(&w->next_k);
	uids_free(w);
	free(w->pkeys);
	w->pkeys = NULL;
	mm_keep_free(&w->keep);
	mm_keywords_free(&w->kw);
	for (size_t i = 0; i < w->nkws; i++)
		free(w->kws[i].letters);
	free(w->kws);
	mm_digest_list_free(&w->digests);
}

/* Keep what was read of message m (verify_digest). */
static void digest_note(struct walk *w, const struct mm_msg *m, uint64_t key,
			const struct mm_digest *d)
{
	struct mm_digest_rec rec = {
		.key = key, .digest = mm_digest_final(d), .size = d->n,
		.msgno = m->msgno, .offset = m->offset,
	};

	if (mm_digest_list_add(&w->digests, &rec) < 0)
		w->digests_lost = 1;
}

/* Read the rest of the current message into its digest and keep it
 * (a message already in the Maildir): for verify_digest, and for a
 * sync pass to compare with its file. 0, or -1 if the mbox failed. */
static int digest_skip(struct walk *w, const struct mm_msg *m, uint64_t key,
		       struct mm_err *err_r)
{
	struct mm_digest d;
	const char *data;
	size_t len;
	int r;

	mm_digest_init(&d);
	while ((r = mm_mbox_read(w->mb, &data, &len, err_r)) > 0)
		mm_digest_add(&d, data, len);
	drain_warnings(w);
	if (r < 0)
		return -1;
	if (w->digesting)
		digest_note(w, m, key, &d);
	if (w->sy)
		mm_sync_bytes(w->sy, key, mm_digest_final(&d), d.n, 0);
	return 0;
}

/* Must the bytes of a message the Maildir has be read? */
static int wants_bytes(const struct walk *w)
{
	return w->digesting || (w->sy && mm_sync_wants_bytes(w->sy));
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
		if (w->sy)
			mm_sync_outcome(w->sy, e.msgno, MM_ACT_FAILED, e.text);
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

/* Write one message into tmp/ and commit it; over the damaged file dmg
 * when not NULL. 0, or 1 when dmg turned out right (an empty message in
 * an empty file named without ",S="), -1 on error, -2 if the mbox
 * failed. */
static int deliver(struct walk *w, struct mm_maildir *md,
		   const struct mm_msg *m, const struct pick *p,
		   const struct mm_maildir_damaged *dmg, struct mm_err *e)
{
	const char *data;
	size_t len;
	uint64_t total = 0;
	struct mm_digest dg;
	struct mm_err re;
	char info[MM_INFO_MAX];
	int r, wfail = 0;

	if (dmg)
		r = mm_maildir_begin_repair(md, dmg->in_cur, dmg->name, p->key,
					    m->msgno, m->offset, e);
	else if (p->named)
		r = mm_maildir_begin_named(md, w->uidl, m->msgno, m->offset, e);
	else
		r = mm_maildir_begin(md, msg_time(m, 0), m->hash, p->k,
				     m->msgno, m->offset, e);
	if (r < 0)
		return -1;
	/* after a write failure only a digest wants the rest; the state
	 * records the digest of what each file got (mm_sync.h) */
	mm_digest_init(&dg);
	while ((r = mm_mbox_read(w->mb, &data, &len, &re)) > 0) {
		total += len;
		if (w->digesting || w->sy)
			mm_digest_add(&dg, data, len);
		if (!wfail && mm_maildir_write(md, data, len, e) < 0) {
			wfail = 1;
			if (!w->digesting)
				break;
		}
	}
	drain_warnings(w);
	if (r < 0) {
		*e = re;
		mm_maildir_abort(md);
		return -2; /* the mbox itself failed */
	}
	if (w->digesting && r == 0)
		digest_note(w, m, p->key, &dg);
	if (wfail) {
		mm_maildir_abort(md);
		return -1;
	}
	if (w->sy)
		mm_sync_bytes(w->sy, p->key, mm_digest_final(&dg), dg.n, 1);
	if (dmg && !dmg->has_size && total == dmg->size) {
		mm_maildir_abort(md);
		return 1;
	}
	mm_flags_letters(m->flags, info);
	strcat(info, w->kwl); /* DFRST, then the keywords' a-z */
	/* what commit loses is reported through mm_maildir_failure() */
	mm_maildir_commit(md, msg_time(m, time(NULL)), mm_flags_in_cur(m->flags),
			  info, e);
	return 0;
}

static void check_digests(struct walk *w, struct mm_maildir *md);

/* The keyword letters of message m (w->kwl); a message with keywords
 * goes to cur/, where a Maildir name carries them. 0, -1 no memory. */
static int keywords_of(struct walk *w, const struct mm_msg *m, uint64_t key)
{
	unsigned dropped;
	struct mm_err e;
	int n;

	w->kwl[0] = '\0';
	if (!w->kw_on || !m->keywords[0])
		return 0;
	if ((n = mm_keywords_letters(&w->kw, m->keywords, w->kwl, &dropped)) < 0)
		return -1;
	if (dropped) {
		mm_err_set(&e, MM_W_KEYWORDS, 0, m->msgno, m->offset,
			   "%u keyword(s) of X-Keywords '%.80s' dropped: not an "
			   "IMAP atom, or beyond the 26 a Dovecot Maildir holds",
			   dropped, m->keywords);
		list_add(&w->st->warnings, w->max_listed, &e);
	}
	if (n == 0)
		return 0;
	((struct mm_msg *)m)->flags |= MM_F_OLD; /* see walk_next() */
	if (w->nkws == w->kws_cap) {
		size_t c = w->kws_cap ? w->kws_cap * 2 : 64;
		struct kw_rec *r = realloc(w->kws, c * sizeof(*r));

		if (r == NULL)
			return -1;
		w->kws = r;
		w->kws_cap = c;
	}
	if ((w->kws[w->nkws].letters = strdup(w->kwl)) == NULL)
		return -1;
	w->kws[w->nkws++].key = key;
	return 0;
}

/* After the pass: dovecot-keywords (the names of the letters), and
 * Courier's courierimapkeywords/BASE of each message with keywords. */
static void keywords_end(struct walk *w, struct mm_maildir *md)
{
	struct mm_maildir_list list;
	struct mm_err e;

	w->st->keywords_kept = w->kw.kept;
	w->st->keywords_dropped = w->kw.dropped;
	w->st->keywords_messages = w->kw.messages;
	if (mm_keywords_write_dovecot(&w->kw, mm_maildir_fd(md), &e) < 0)
		list_add(&w->st->errors, w->max_listed, &e);
	if (w->nkws == 0)
		return;
	if (mm_maildir_list(md, &list, &e) < 0) {
		list_add(&w->st->errors, w->max_listed, &e);
		return;
	}
	for (size_t i = 0; i < w->nkws; i++) {
		const struct mm_maildir_entry *ent =
			mm_maildir_list_find(&list, w->kws[i].key);
		const char *b, *colon;

		if (ent == NULL)
			continue; /* not delivered (reported elsewhere) */
		b = ent->name + 4; /* "cur/" */
		colon = strchr(b, ':');
		if (mm_keywords_write_courier(&w->kw, mm_maildir_fd(md), b,
					      colon ? (size_t)(colon - b) : strlen(b),
					      w->kws[i].letters, &e) < 0) {
			list_add(&w->st->errors, w->max_listed, &e);
			break;
		}
	}
	mm_maildir_list_free(&list);
}
/* A sync's warnings and errors, in the lists (errors of the Maildir,
 * not of a message: counted in no message's failure). */
static void sync_note(void *ctx, const struct mm_err *e, int is_error)
{
	struct walk *w = ctx;

	list_add(is_error ? &w->st->errors : &w->st->warnings, w->max_listed, e);
}

/* --dry-run of a sync pass: a message that would be delivered, counted
 * as delivered (its bytes read to learn its size). */
static void plan_deliver(struct walk *w, const struct mm_msg *m,
			 struct mm_convert_stats *st)
{
	const char *data;
	size_t len;
	struct mm_err e;

	while (mm_mbox_read(w->mb, &data, &len, &e) > 0)
		;
	drain_warnings(w);
	st->bytes += m->size;
	if (mm_flags_in_cur(m->flags))
		st->to_cur++;
	else
		st->to_new++;
}

int mm_convert(int src_fd, const char *maildir,
	       const struct mm_convert_opts *opts,
	       struct mm_convert_stats *st, struct mm_err *err_r)
{
	struct mm_maildir *md;
	struct mm_sync *sy = NULL;
	const struct mm_msg *m;
	struct walk w;
	struct mm_err e;
	struct pick p;
	const struct mm_maildir_damaged *dmg;
	struct mm_maildir_opts mo;
	int plan = opts && opts->sync.source && opts->sync.plan;
	struct mm_progress prog;
	int r, ret = 0;

	if (walk_start(&w, src_fd, opts, st, err_r) < 0)
		return -1;
	/* input that is no mbox at all: nothing of it delivered, no
	 * Maildir made (a path was read to its end by the caller; a pipe
	 * as far as the window holds it) */
	if (mm_mbox_not_mbox(w.mb, err_r) != 0) {
		walk_end(&w);
		return -1;
	}
	mm_progress_init(&prog, opts && opts->progress_fd > 0 ? opts->progress_fd : -1,
			 opts ? opts->progress_total : 0, opts ? opts->progress_name : NULL);
	memset(&mo, 0, sizeof(mo));
	if (opts)
		mo = opts->maildir;
	mo.readonly |= plan;
	md = mm_maildir_open(maildir, &mo, err_r);
	if (md == NULL) {
		walk_end(&w);
		return -1;
	}
	while (mm_maildir_warning(md, &e))
		list_add(&st->warnings, w.max_listed, &e);
	if (opts && opts->sync.source &&
	    (sy = mm_sync_begin(md, &opts->sync, sync_note, &w, err_r)) == NULL) {
		mm_maildir_close(md, &e);
		walk_end(&w);
		return -1;
	}
	w.sy = sy;
	w.md = md;
	/* (a plan too: its letters are part of the flags it compares) */
	if (mm_keywords_init(&w.kw, mm_maildir_fd(md), &e) == 0)
		w.kw_on = 1;
	else
		list_add(&st->warnings, w.max_listed, &e);
	while ((r = walk_next(&w, &m, &p, err_r)) > 0) {
		mm_progress_tick(&prog, mm_mbox_offset(w.mb), st->messages);
		if (keywords_of(&w, m, p.key) < 0) {
			mm_err_set(err_r, MM_E_NOMEM, ENOMEM, m->msgno, m->offset,
				   "out of memory");
			r = -1;
			break;
		}
		if (sy && (r = mm_sync_message(sy, md, m, p.key, w.kwl, &e)) != 0) {
			if (r < 0)
				msg_error(&w, m, &e);
			/* renamed: its file is there, its bytes are compared */
			if (r == 1 && wants_bytes(&w) &&
			    digest_skip(&w, m, p.key, err_r) < 0) {
				r = -1;
				break;
			}
			continue;
		}
		if (mm_maildir_has(md, p.key)) {
			st->skipped_present++;
			if (wants_bytes(&w) && digest_skip(&w, m, p.key, err_r) < 0) {
				r = -1;
				break;
			}
			if (sy)
				mm_sync_outcome(sy, m->msgno, MM_ACT_PRESENT, NULL);
			continue;
		}
		if (plan) {
			plan_deliver(&w, m, st);
			continue;
		}
		dmg = mm_maildir_damaged(md, p.key);
		r = deliver(&w, md, m, &p, dmg, &e);
		if (sy && r >= 0)
			mm_sync_outcome(sy, m->msgno, r == 1 ? MM_ACT_PRESENT :
					dmg ? MM_ACT_REPAIRED : MM_ACT_DELIVERED,
					NULL);
		if (r == 1) {
			st->skipped_present++;
			continue;
		}
		if (r == -2) {
			*err_r = e;
			if (sy)
				mm_sync_outcome(sy, m->msgno, MM_ACT_FAILED, e.text);
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
	mm_progress_end(&prog);
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
	 * writes it, finding the earlier runs' files by key. A later such
	 * run (a --sync cut-over) rewrites a list that is still byte for
	 * byte ours (mm_uidlist.h), so what arrived since keeps its UIDs.
	 * A Maildir-wide trouble (msgno 0: maildirsize, a directory sync)
	 * loses no message, and as names are deterministic a list stays
	 * right even for a file that must be delivered again. */
	if (!plan && ret == 0 && st->failed == 0 && opts && opts->uid_lists &&
	    st->has_imapbase && w.uids_usable && w.nuids > 0) {
		uint32_t next = st->uid_last + 1;

		if (w.uids[w.nuids - 1].uid >= next)
			next = w.uids[w.nuids - 1].uid + 1;
		struct mm_err we;
		int warned = 0;

		r = mm_uidlist_write(md, w.uids, w.nuids, st->uidvalidity, next,
				     &e, &we, &warned);
		if (warned)
			list_add(&st->warnings, w.max_listed, &we);
		if (r < 0)
			list_add(&st->errors, w.max_listed, &e);
		else
			st->uid_lists_written = r;
	}
	/* Courier's pop3d numbers every message (UID<n>-<uidv>) unless its
	 * courierpop3dsizelist says otherwise: written, like the UID lists,
	 * by the run that has the whole mbox, when messages are named by
	 * the old server's UIDL, so that Courier serves those names */
	if (!plan && ret == 0 && st->failed == 0 && opts && opts->uid_lists &&
	    !w.pkeys_lost && w.npkeys > 0 && w.keep.st.pop3_kept > 0) {
		r = mm_pop3list_write(md, w.pkeys, w.npkeys, &e);
		if (r < 0)
			list_add(&st->errors, w.max_listed, &e);
		else
			st->pop3_list_written = r;
	}
	if (w.kw_on && !plan)
		keywords_end(&w, md);
	if (ret == 0 && w.digesting)
		check_digests(&w, md);
	/* renames and removals only once the pass's messages are durable
	 * and visible; removals only after the whole mbox was read */
	if (sy) {
		int whole = ret == 0;

		if (whole && opts->sync.mode != MM_SYNC_OFF &&
		    !mm_sync_mbox_complete(src_fd, st->warnings.items,
					   st->warnings.len, &e)) {
			list_add(&st->errors, w.max_listed, &e);
			whole = 0;
		}
		mm_sync_end(sy, md, ret < 0, whole, &st->sync);
		if (plan)
			st->sync.to_add = st->to_new + st->to_cur;
	}
	const struct mm_maildir_stats *ms = mm_maildir_stats(md);
	if (!plan) {
		st->delivered = ms->delivered;
		st->to_new = ms->to_new;
		st->to_cur = ms->to_cur;
		st->bytes = ms->bytes;
	}
	st->tmp_cleaned = ms->tmp_cleaned;
	st->linked = ms->linked;
	st->batches = ms->batches;
	st->batches_by_file = ms->batches_by_file;
	st->fsync = ms->fsync;
	st->durable = ms->durable;
	memcpy(st->durability, ms->durability, sizeof(st->durability));
	st->repaired = ms->repaired;
	mm_maildir_close(md, &e);
	walk_end(&w);
	return ret;
}

/* A message of mm_verify() with repair that differs from its file,
 * re-delivered over it. */
struct fix {
	struct mm_maildir *md;  /* NULL: compare only */
	const struct mm_maildir_entry *ent;
	const struct mm_msg *m;
	uint64_t key;
	int state;              /* 0 not started, 1 writing, -1 failed (e) */
	struct mm_err e;
};

/* More bytes of the message being repaired (data may be NULL); the
 * first call starts the repair: the pos bytes before the difference,
 * equal in both, come from the file (buf: room to copy them). */
static void fix_more(struct fix *fx, int fd, uint64_t pos, char *buf,
		     size_t bufsz, const char *data, size_t len)
{
	uint64_t off = 0;

	if (fx == NULL || fx->md == NULL || fx->state < 0)
		return;
	if (fx->state == 0) {
		if (mm_maildir_begin_repair(fx->md, strncmp(fx->ent->name, "cur/",
							    4) == 0,
					    fx->ent->name + 4, fx->key,
					    fx->m->msgno, fx->m->offset,
					    &fx->e) < 0) {
			fx->state = -1;
			return;
		}
		fx->state = 1;
		while (off < pos) {
			size_t want = pos - off < bufsz ? (size_t)(pos - off)
							: bufsz;
			ssize_t n = pread(fd, buf, want, (off_t)off);

			if (n <= 0) {
				mm_err_set(&fx->e, MM_E_IO, n < 0 ? errno : 0,
					   0, 0, "cannot read it again: %s",
					   n < 0 ? strerror(errno)
						 : "it got shorter");
				goto fail;
			}
			if (mm_maildir_write(fx->md, buf, (size_t)n, &fx->e) < 0)
				goto fail;
			off += (uint64_t)n;
		}
	}
	if (len > 0 && mm_maildir_write(fx->md, data, len, &fx->e) < 0)
		goto fail;
	return;
fail:
	mm_maildir_abort(fx->md);
	fx->state = -1;
}

/* Compare the message's bytes with the file's; 0 equal, 1 different
 * (*diff_at: first difference within the message), -1 mbox error.
 * With fx, the message that differs is written to tmp/ as well (see
 * fix_more(); commit it when fx->state is 1). */
static int compare(struct walk *w, int fd, struct fix *fx, struct mm_err *e,
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
			size_t i = 0;

			if (n <= 0) {
				differ = 1;
				break;
			}
			if (memcmp(buf, data, (size_t)n) == 0)
				i = (size_t)n;
			else
				while (buf[i] == data[i])
					i++;
			pos += i;
			data += i;
			len -= i;
			if (i < (size_t)n)
				differ = 1;
		}
		if (differ)
			fix_more(fx, fd, pos, buf, sizeof(buf), data, len);
	}
	drain_warnings(w);
	if (r < 0) {
		if (fx && fx->state == 1)
			mm_maildir_abort(fx->md);
		return -1;
	}
	if (!differ && read(fd, buf, 1) != 0) {
		differ = 1; /* the file is longer */
		fix_more(fx, fd, pos, buf, sizeof(buf), NULL, 0);
	}
	*diff_at = pos;
	return differ;
}

/* The file of key to compare with, opened: of several, the first
 * regular file of the size its name promises, else the first regular
 * file. -1 (why filled) when none opens; *ent_r is NULL when none is
 * listed. */
static int open_best(const struct mm_maildir *md,
		     const struct mm_maildir_list *list, uint64_t key,
		     const struct mm_maildir_entry **ent_r, struct mm_err *why)
{
	const struct mm_maildir_entry *e = mm_maildir_list_find(list, key);
	const struct mm_maildir_entry *first = e, *last = e, *end;
	struct mm_err tmp;
	int best = -1;

	*ent_r = e;
	if (e == NULL)
		return -1;
	end = list->entries + list->len;
	while (first > list->entries && first[-1].key == key)
		first--;
	while (last + 1 < end && last[1].key == key)
		last++;
	if (first == last)
		return mm_maildir_open_entry(md, e, why);
	*ent_r = first;
	for (e = first; e <= last; e++) {
		int fd = mm_maildir_open_entry(md, e, e == first ? why : &tmp);
		uint64_t want;
		struct stat st;
		int sound;

		if (fd < 0)
			continue;
		sound = fstat(fd, &st) == 0 &&
			(mm_maildir_name_size(e->name + 4, &want)
			 ? (uint64_t)st.st_size == want : st.st_size > 0);
		if (best >= 0 && !sound) {
			close(fd);
			continue;
		}
		if (best >= 0)
			close(best);
		best = fd;
		*ent_r = e;
		if (sound)
			break;
	}
	return best;
}

/* Why a message has no file to compare with, into *e: none is listed
 * (ent NULL), or the one listed does not open (why). */
static void missing_why(const struct mm_maildir_entry *ent,
			const struct mm_err *why, struct mm_err *e)
{
	if (ent == NULL)
		mm_err_set(e, MM_E_FORMAT, 0, 0, 0, "missing from the Maildir");
	else
		mm_err_set(e, MM_E_IO, why->sys_errno, 0, 0, "%s (in %.3s/)",
			   why->text, ent->name);
}

/* verify_digest: each message's file in the Maildir against what was
 * read of it (see mm_convert_opts). */
static void check_digests(struct walk *w, struct mm_maildir *md)
{
	struct mm_maildir_list list;
	struct mm_err e, why;

	if (w->digests_lost) {
		mm_err_set(&e, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory: "
			   "not every message's digest was kept, those are "
			   "not verified");
		list_add(&w->st->errors, w->max_listed, &e);
	}
	if (mm_maildir_list(md, &list, &e) < 0) {
		list_add(&w->st->errors, w->max_listed, &e);
		return;
	}
	for (size_t i = 0; i < w->digests.len; i++) {
		const struct mm_digest_rec *rec = &w->digests.items[i];
		const struct mm_maildir_entry *ent;
		uint64_t digest, size;
		int fd = open_best(md, &list, rec->key, &ent, &why);

		if (fd < 0) {
			w->st->missing++;
			missing_why(ent, &why, &e);
		} else {
			int rr = mm_digest_fd(fd, &digest, &size);
			int en = errno;

			close(fd);
			if (rr == 0 && size == rec->size && digest == rec->digest) {
				w->st->verified++;
				continue;
			}
			w->st->mismatched++;
			if (rr < 0)
				mm_err_set(&e, MM_E_IO, en, 0, 0,
					   "%s cannot be read to verify it: %s",
					   ent->name, strerror(en));
			else
				mm_err_set(&e, MM_E_FORMAT, 0, 0, 0,
					   "%s differs from the message read from "
					   "the mbox (%llu bytes, the mbox's %llu; "
					   "compared by digest)", ent->name,
					   (unsigned long long)size,
					   (unsigned long long)rec->size);
		}
		e.msgno = rec->msgno;
		e.offset = rec->offset;
		list_add(&w->st->errors, w->max_listed, &e);
	}
	mm_maildir_list_free(&list);
}

/* A note about one message (a repair), in st->warnings. */
static void msg_note(struct walk *w, const struct mm_msg *m,
		     const struct mm_err *what, const char *done)
{
	struct mm_err n;

	mm_err_set(&n, what->code, what->sys_errno, m->msgno, m->offset,
		   "%.200s: %s", what->text, done);
	list_add(&w->st->warnings, w->max_listed, &n);
}

int mm_verify(int src_fd, const char *maildir,
	      const struct mm_convert_opts *opts,
	      struct mm_convert_stats *st, struct mm_err *err_r)
{
	struct mm_maildir_opts mo;
	struct mm_maildir_list list;
	struct mm_maildir *md;
	struct mm_state *kept;
	const struct mm_msg *m;
	struct walk w;
	struct mm_err e, why;
	struct pick p;
	int r, repair = opts && opts->repair;

	if (walk_start(&w, src_fd, opts, st, err_r) < 0)
		return -1;
	memset(&mo, 0, sizeof(mo));
	if (opts)
		mo = opts->maildir;
	mo.readonly = !repair;
	md = mm_maildir_open(maildir, &mo, err_r);
	if (md == NULL || mm_maildir_list(md, &list, err_r) < 0) {
		if (md)
			mm_maildir_close(md, &e);
		walk_end(&w);
		return -1;
	}
	/* after a sync pass: deleted on the new server is not missing */
	kept = mm_sync_verify_state(md, opts ? &opts->sync : NULL);
	w.md = md;
	while ((r = walk_next(&w, &m, &p, err_r)) > 0) {
		const struct mm_maildir_entry *ent;
		struct fix fx;
		uint64_t at = 0;
		int fd = open_best(md, &list, p.key, &ent, &why);

		if (fd < 0 && ent == NULL && mm_sync_kept_deleted(kept, p.key)) {
			st->sync.kept_deleted++;
			continue;
		}
		if (fd < 0) {
			st->missing++;
			missing_why(ent, &why, &e);
			if (!repair) {
				msg_error(&w, m, &e);
				continue;
			}
			msg_note(&w, m, &e, "delivered again");
			r = deliver(&w, md, m, &p, NULL, &e);
		} else {
			memset(&fx, 0, sizeof(fx));
			fx.md = repair ? md : NULL;
			fx.ent = ent;
			fx.m = m;
			fx.key = p.key;
			r = compare(&w, fd, &fx, &e, &at);
			close(fd);
			if (r < 0) {
				*err_r = e;
				break;
			}
			if (r == 0) {
				st->verified++;
				continue;
			}
			st->mismatched++;
			mm_err_set(&e, MM_E_FORMAT, 0, 0, 0,
				   "%s differs from the mbox at byte %llu of the "
				   "message", ent->name, (unsigned long long)at);
			if (!repair) {
				msg_error(&w, m, &e);
				continue;
			}
			if (fx.state < 0) {
				mm_err_set(&e, fx.e.code, fx.e.sys_errno, 0, 0,
					   "%.120s; not repaired: %.120s",
					   e.text, fx.e.text);
				r = -1;
			} else {
				msg_note(&w, m, &e, "delivered again over it");
				mm_maildir_commit(md, msg_time(m, time(NULL)), 0,
						  "", &e);
				r = 0;
			}
		}
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
	mm_maildir_list_free(&list);
	mm_sync_state_free(kept);
	if (repair) {
		const struct mm_maildir_stats *ms;

		/* what was complete becomes durable and visible */
		mm_maildir_flush(md, &e);
		if (drain_failures(&w, md, r < 0 ? &e : err_r) < 0)
			r = -1;
		ms = mm_maildir_stats(md);
		st->repaired = ms->repaired + ms->delivered;
	}
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
