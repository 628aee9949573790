/* mm_sync.c - a pass that makes the Maildir match the mbox (mm_sync.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_flags.h"
#include "mm_fs.h"
#include "mm_keywords.h"
#include "mm_manifest.h"
#include "mm_state.h"
#include "mm_sync.h"

#define NO_TEXT SIZE_MAX

/* A message of this pass's mbox. */
struct seen {
	uint64_t key;
	struct mm_sflags src;   /* what the mbox says */
	int kept_gone;          /* deleted on the new server, not delivered */
	/* for the manifest */
	unsigned long msgno;
	uint64_t offset;
	int has_uid;
	uint32_t uid;
	enum mm_sync_action action;
	size_t uidl, reason;    /* offsets in the text arena, or NO_TEXT */
};

/* Texts of the manifest (UIDLs, reasons). */
struct text {
	char *p;
	size_t len, cap;
};

struct mm_sync {
	struct mm_sync_opts opts;
	struct mm_state *state;
	struct mm_maildir_list list; /* the files when the pass started */
	struct seen *seen;
	size_t nseen, seen_cap;
	struct mm_sync_stats st;
	struct text text;
	int manifest_broken;
	mm_sync_note_fn *note;
	void *ctx;
};

static size_t base_len(const char *name)
{
	const char *info = strstr(name, ":2,");

	return info ? (size_t)(info - name) : strlen(name);
}

static int same_base(const char *name, const char *base)
{
	size_t bl = base_len(name);

	return bl == strlen(base) && memcmp(name, base, bl) == 0;
}

/* The listed file of key: the one named base (when given), else the
 * first listed (a key is the message's identity: a file of ours renamed
 * by a repair to its right ",S=" is still it); NULL if none. */
static const struct mm_maildir_entry *
entry_of(const struct mm_maildir_list *l, uint64_t key, const char *base)
{
	const struct mm_maildir_entry *e = mm_maildir_list_find(l, key), *end,
				      *first;

	if (e == NULL || base == NULL)
		return e;
	end = l->entries + l->len;
	while (e > l->entries && e[-1].key == key)
		e--;
	for (first = e; e < end && e->key == key; e++)
		if (same_base(e->name + 4, base))
			return e;
	return first;
}

static void note(struct mm_sync *sy, const struct mm_err *e, int is_error)
{
	if (sy->note)
		sy->note(sy->ctx, e, is_error);
}

static void manifest_write(struct mm_sync *sy, struct mm_manifest_line *l)
{
	struct mm_err e;

	if (sy->opts.manifest && !sy->manifest_broken &&
	    mm_manifest_write(sy->opts.manifest_fd, l, &e) < 0) {
		sy->manifest_broken = 1; /* said once */
		note(sy, &e, 1);
	}
}

struct mm_sync *mm_sync_begin(struct mm_maildir *md,
			      const struct mm_sync_opts *opts,
			      mm_sync_note_fn *note_fn, void *ctx,
			      struct mm_err *err_r)
{
	struct mm_sync *sy = calloc(1, sizeof(*sy));

	if (sy == NULL) {
		mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
		return NULL;
	}
	sy->opts = *opts;
	sy->note = note_fn;
	sy->ctx = ctx;
	sy->state = mm_state_load(mm_maildir_fd(md), opts->source, err_r);
	if (sy->state == NULL ||
	    (opts->mode != MM_SYNC_OFF &&
	     mm_maildir_list(md, &sy->list, err_r) < 0)) {
		mm_state_free(sy->state);
		free(sy);
		return NULL;
	}
	return sy;
}

/* Keep s (for the manifest): its offset, or NO_TEXT. */
static size_t text_add(struct mm_sync *sy, const char *s)
{
	struct text *t = &sy->text;
	size_t n = strlen(s) + 1, at = t->len;

	if (!sy->opts.manifest)
		return NO_TEXT;
	if (t->len + n > t->cap) {
		size_t c = t->cap ? t->cap * 2 : 65536;
		char *p;

		while (c < t->len + n)
			c *= 2;
		if ((p = realloc(t->p, c)) == NULL)
			return NO_TEXT;
		t->p = p;
		t->cap = c;
	}
	memcpy(t->p + at, s, n);
	t->len += n;
	return at;
}

static const char *text_at(const struct mm_sync *sy, size_t at)
{
	return at == NO_TEXT ? NULL : sy->text.p + at;
}

static struct seen *seen_add(struct mm_sync *sy, uint64_t key,
			     const struct mm_sflags *src,
			     const struct mm_msg *m)
{
	struct seen *sn;

	if (sy->nseen == sy->seen_cap) {
		size_t n = sy->seen_cap ? sy->seen_cap * 2 : 1024;
		struct seen *s = realloc(sy->seen, n * sizeof(*s));

		if (s == NULL)
			return NULL;
		sy->seen = s;
		sy->seen_cap = n;
	}
	sn = &sy->seen[sy->nseen++];
	memset(sn, 0, sizeof(*sn));
	sn->key = key;
	sn->src = *src;
	sn->msgno = m->msgno;
	sn->offset = m->offset;
	sn->has_uid = m->has_uid;
	sn->uid = m->uid;
	sn->uidl = m->uidl[0] ? text_add(sy, m->uidl) : NO_TEXT;
	sn->reason = NO_TEXT;
	return sn;
}

/* A message both servers changed: counted, and reported with who won
 * (and, for a message of the mbox, its outcome: sn). */
static void conflict(struct mm_sync *sy, const struct mm_msg *m,
		     struct seen *sn, const char *what)
{
	struct mm_err w;

	sy->st.conflicts++;
	mm_err_set(&w, MM_W_CONFLICT, 0, m ? m->msgno : 0, m ? m->offset : 0,
		   "%s: %s", what, sy->opts.mode == MM_SYNC_SOURCE_WINS
		   ? "the mbox wins (--sync=source-wins)"
		   : "the new server's change wins (kept)");
	note(sy, &w, 0);
	if (sn) {
		sn->action = MM_ACT_CONFLICT;
		sn->reason = text_add(sy, w.text);
	}
}

int mm_sync_message(struct mm_sync *sy, struct mm_maildir *md,
		    const struct mm_msg *m, uint64_t key, const char *kw_letters,
		    struct mm_err *err_r)
{
	const struct mm_state_rec *rec;
	const struct mm_maildir_entry *ent;
	struct mm_sflags src, now, base;
	char info[MM_INFO_MAX], s_src[MM_SFLAGS_MAX], s_now[MM_SFLAGS_MAX],
	     s_base[MM_SFLAGS_MAX];
	struct seen *sn;
	int in_cur = mm_flags_in_cur(m->flags);

	mm_flags_letters(m->flags, info);
	/* the keywords' letters (mm_keywords.h) are the mbox's too */
	if (kw_letters)
		strncat(info, kw_letters, sizeof(info) - strlen(info) - 1);
	mm_sflags_of_info(in_cur, in_cur ? info : NULL, &src);
	if ((sn = seen_add(sy, key, &src, m)) == NULL)
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0,
				  "out of memory");
	if (sy->opts.mode == MM_SYNC_OFF)
		return 0;
	rec = mm_state_find(sy->state, key);
	if (rec == NULL && mm_state_claimed(sy->state, key))
		return 0; /* another source's message: never touched */
	ent = entry_of(&sy->list, key, rec ? rec->base : NULL);
	if (!mm_maildir_has(md, key)) {
		/* missing (or damaged: repaired as without sync) */
		if (ent != NULL || rec == NULL ||
		    mm_maildir_damaged(md, key) != NULL ||
		    sy->opts.mode == MM_SYNC_SOURCE_WINS)
			return 0;
		sn->kept_gone = 1;
		sy->st.kept_deleted++;
		if (rec->left.where >= 0)
			conflict(sy, m, sn, "deleted in the Maildir since the "
				 "last pass, not delivered again");
		sn->action = MM_ACT_KEPT_DELETED;
		return 1;
	}
	if (ent == NULL)
		return 0;
	mm_sflags_of_entry(ent->name, &now);
	if (mm_sflags_equal(&now, &src))
		return 0;
	/* Three ways: what we left (base), the Maildir now, the mbox now.
	 * A file without a record is taken as ours, left as it is now. */
	base = rec && rec->left.where >= 0 ? rec->left : now;
	/* a file the server moved from new/ to cur/ (as Dovecot does when
	 * a mailbox is opened) is no change of the user's: letters count */
	if (now.letters != base.letters) {
		char what[400];

		mm_sflags_format(&base, s_base);
		mm_sflags_format(&now, s_now);
		mm_sflags_format(&src, s_src);
		snprintf(what, sizeof(what), "%.100s: flags changed in the "
			 "Maildir since the last pass (from %s to %s), the mbox "
			 "has %s", ent->name, s_base, s_now, s_src);
		conflict(sy, m, sn, what);
		if (sy->opts.mode != MM_SYNC_SOURCE_WINS)
			return 0;
	} else if (rec && rec->left.where >= 0 &&
		   mm_sflags_equal(&src, &rec->src) &&
		   sy->opts.mode != MM_SYNC_SOURCE_WINS) {
		/* the mbox has not changed since a pass that kept the new
		 * server's flags: they stay */
		return 0;
	}
	if (!sy->opts.plan &&
	    mm_maildir_reflag(md, now.where, ent->name + 4, src.where,
			      src.has_info ? info : NULL, err_r) < 0)
		return -1;
	sy->st.reflagged++;
	sn->action = MM_ACT_REFLAGGED;
	return 1;
}

static int cmp_seen(const void *a, const void *b)
{
	uint64_t x = ((const struct seen *)a)->key;
	uint64_t y = ((const struct seen *)b)->key;

	return x < y ? -1 : x > y;
}

static const struct seen *seen_find(const struct mm_sync *sy, uint64_t key)
{
	struct seen probe;

	if (sy->nseen == 0)
		return NULL;
	probe.key = key;
	return bsearch(&probe, sy->seen, sy->nseen, sizeof(probe), cmp_seen);
}

/* Size of a listed file: what its name promises, else its fstat(). */
static int entry_size(struct mm_maildir *md, const struct mm_maildir_entry *e,
		      uint64_t *size_r)
{
	struct mm_err err;
	struct stat st;
	int fd;

	if (mm_maildir_name_size(e->name + 4, size_r))
		return 0;
	if ((fd = mm_maildir_open_entry(md, e, &err)) < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	*size_r = (uint64_t)st.st_size;
	return 0;
}

static void put(struct mm_sync *sy, const struct mm_state_rec *r)
{
	struct mm_err e;

	if (mm_state_put(sy->state, r, &e) < 0)
		note(sy, &e, 1);
}

/* An old record of the source that the mbox no longer has. */
static void gone_from_mbox(struct mm_sync *sy, struct mm_maildir *md,
			   const struct mm_state_rec *rec, int may_remove)
{
	const struct mm_maildir_entry *ent = entry_of(&sy->list, rec->key,
						      rec->base);
	struct mm_state_rec r = *rec;
	struct mm_sflags now;
	struct mm_err e;
	char s_now[MM_SFLAGS_MAX], what[320];

	if (!may_remove) {
		put(sy, rec);
		return;
	}
	if (ent == NULL)
		return; /* gone from both: forgotten */
	mm_sflags_of_entry(ent->name, &now);
	if (rec->src.where < 0 && sy->opts.mode != MM_SYNC_SOURCE_WINS) {
		put(sy, rec); /* kept after a conflict: stays kept */
		return;
	}
	if (rec->left.where >= 0 && now.letters != rec->left.letters &&
	    sy->opts.mode != MM_SYNC_SOURCE_WINS) {
		mm_sflags_format(&now, s_now);
		snprintf(what, sizeof(what), "%.100s: gone from the mbox, but "
			 "its flags were changed in the Maildir since the last "
			 "pass (to %s)", ent->name, s_now);
		conflict(sy, NULL, NULL, what);
		r.src.where = -1;
		r.left = now;
		put(sy, &r);
		return;
	}
	if (!sy->opts.plan &&
	    mm_maildir_remove(md, ent->name[0] == 'c', ent->name + 4, rec->size,
			      &e) < 0) {
		note(sy, &e, 1);
		put(sy, rec); /* tried again by the next pass */
		return;
	}
	sy->st.removed++;
	if (sy->opts.manifest && !sy->opts.plan) {
		struct mm_manifest_line l;

		memset(&l, 0, sizeof(l));
		l.source = sy->opts.source;
		l.has_size = 1;
		l.size = rec->size;
		l.has_digest = rec->has_digest;
		l.digest = rec->digest;
		l.file = ent->name;
		l.action = "removed";
		l.reason = "gone from the mbox";
		manifest_write(sy, &l);
	}
}

/* The record of a message of this pass, from the files of now. */
static void record(struct mm_sync *sy, struct mm_maildir *md,
		   const struct mm_maildir_list *now_list, const struct seen *sn)
{
	const struct mm_state_rec *rec = mm_state_find(sy->state, sn->key);
	const struct mm_maildir_entry *ent;
	struct mm_state_rec r;
	char base[256];

	if (rec == NULL && mm_state_claimed(sy->state, sn->key))
		return;
	ent = entry_of(now_list, sn->key, rec ? rec->base : NULL);
	if (ent == NULL) {
		if (rec == NULL)
			return; /* not delivered (failed) */
		r = *rec;
		if (sn->kept_gone) {
			r.left.where = -1;
			r.src = sn->src;
		}
		put(sy, &r);
		return;
	}
	if (sy->opts.mode == MM_SYNC_OFF && rec && rec->left.where >= 0 &&
	    same_base(ent->name + 4, rec->base)) {
		put(sy, rec); /* an add-only pass changes no record */
		return;
	}
	memset(&r, 0, sizeof(r));
	r.key = sn->key;
	if (entry_size(md, ent, &r.size) < 0)
		return;
	mm_sflags_of_entry(ent->name, &r.left);
	r.src = rec ? sn->src : r.left;
	snprintf(base, sizeof(base), "%.*s", (int)base_len(ent->name + 4),
		 ent->name + 4);
	r.base = base;
	put(sy, &r);
}

struct mm_state *mm_sync_verify_state(struct mm_maildir *md,
				      const struct mm_sync_opts *o)
{
	struct mm_err e;

	if (o == NULL || o->source == NULL || o->mode != MM_SYNC_TARGET_WINS)
		return NULL;
	return mm_state_load(mm_maildir_fd(md), o->source, &e);
}

int mm_sync_kept_deleted(const struct mm_state *s, uint64_t key)
{
	const struct mm_state_rec *rec = s ? mm_state_find(s, key) : NULL;

	return rec && rec->left.where < 0;
}

void mm_sync_state_free(struct mm_state *s)
{
	mm_state_free(s);
}

int mm_sync_mbox_complete(int fd, const struct mm_err *warnings, size_t n,
			  struct mm_err *why_r)
{
	struct stat st;
	char c;

	for (size_t i = 0; i < n; i++)
		if (warnings[i].code == MM_W_TRUNCATED) {
			mm_err_set(why_r, MM_E_FORMAT, 0, 0, 0, "nothing removed: "
				   "the mbox looks cut short (message %lu, offset "
				   "%llu: %.120s)", warnings[i].msgno,
				   (unsigned long long)warnings[i].offset,
				   warnings[i].text);
			return 0;
		}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return 1;
	if (pread(fd, &c, 1, st.st_size - 1) != 1 || c != '\n') {
		mm_err_set(why_r, MM_E_FORMAT, 0, 0, (uint64_t)st.st_size,
			   "nothing removed: the mbox does not end with a "
			   "newline (%lld bytes): it looks cut short",
			   (long long)st.st_size);
		return 0;
	}
	return 1;
}

static int cmp_msgno(const void *a, const void *b)
{
	unsigned long x = ((const struct seen *)a)->msgno;
	unsigned long y = ((const struct seen *)b)->msgno;

	return x < y ? -1 : x > y;
}

void mm_sync_outcome(struct mm_sync *sy, unsigned long msgno,
		     enum mm_sync_action action, const char *reason)
{
	struct seen probe, *sn;

	if (sy->nseen == 0)
		return;
	probe.msgno = msgno;
	/* in mbox order until the end of the pass */
	sn = bsearch(&probe, sy->seen, sy->nseen, sizeof(probe), cmp_msgno);
	if (sn == NULL || (sn->action != MM_ACT_NONE && action != MM_ACT_FAILED))
		return;
	sn->action = action;
	sn->reason = reason ? text_add(sy, reason) : NO_TEXT;
}

static const char *action_name(enum mm_sync_action a, int has_file)
{
	switch (a) {
	case MM_ACT_DELIVERED: return "delivered";
	case MM_ACT_PRESENT: return "present";
	case MM_ACT_REPAIRED: return "repaired";
	case MM_ACT_REFLAGGED: return "re-flagged";
	case MM_ACT_CONFLICT: return "conflict";
	case MM_ACT_KEPT_DELETED: return "kept-deleted";
	case MM_ACT_FAILED: return "failed";
	case MM_ACT_NONE: break;
	}
	return has_file ? "present" : "failed";
}

/* The manifest's line of a message of this pass. */
static void manifest_msg(struct mm_sync *sy, struct mm_maildir *md,
			 const struct mm_maildir_list *now_list,
			 const struct seen *sn)
{
	const struct mm_maildir_entry *ent = now_list
		? mm_maildir_list_find(now_list, sn->key) : NULL;
	struct mm_manifest_line l;
	char flags[MM_SFLAGS_MAX];

	memset(&l, 0, sizeof(l));
	l.source = sy->opts.source;
	l.has_number = 1;
	l.number = sn->msgno;
	l.offset = sn->offset;
	if (ent && sn->action != MM_ACT_FAILED && sn->action != MM_ACT_KEPT_DELETED)
		l.has_size = entry_size(md, ent, &l.size) == 0;
	else
		ent = NULL;
	mm_sflags_format(&sn->src, flags);
	l.flags = flags;
	l.has_uid = sn->has_uid;
	l.uid = sn->uid;
	l.uidl = text_at(sy, sn->uidl);
	l.file = ent ? ent->name : NULL;
	l.action = action_name(sn->action, ent != NULL);
	l.reason = text_at(sy, sn->reason);
	if (sn->action == MM_ACT_NONE && ent == NULL)
		l.reason = "not delivered: the pass stopped before it";
	manifest_write(sy, &l);
}

void mm_sync_end(struct mm_sync *sy, struct mm_maildir *md, int stopped,
		 int read_whole, struct mm_sync_stats *st_r)
{
	struct mm_maildir_list now_list;
	struct mm_fs_owner own;
	struct mm_err e;
	int may_remove = !stopped && read_whole &&
			 sy->opts.mode != MM_SYNC_OFF;
	int listed = 0;

	if (sy->nseen > 1)
		qsort(sy->seen, sy->nseen, sizeof(*sy->seen), cmp_seen);
	/* a stopped pass removes nothing and writes no state: the next
	 * pass takes this one's files as ours */
	for (size_t i = 0; i < mm_state_count(sy->state) && (!stopped ||
							      sy->opts.plan); i++) {
		const struct mm_state_rec *rec = mm_state_at(sy->state, i);

		if (seen_find(sy, rec->key) == NULL)
			gone_from_mbox(sy, md, rec, may_remove);
	}
	if (sy->opts.plan)
		goto out;
	if (!stopped && mm_maildir_changes_done(md, &e) < 0)
		note(sy, &e, 1);
	if (mm_maildir_list(md, &now_list, &e) < 0)
		note(sy, &e, 1);
	else
		listed = 1;
	if (listed && !stopped) {
		for (size_t i = 0; i < sy->nseen; i++)
			record(sy, md, &now_list, &sy->seen[i]);
		mm_maildir_owner(md, &own);
		if (mm_state_save(sy->state, mm_maildir_fd(md), &own, &e) < 0)
			note(sy, &e, 1);
		else
			sy->st.state_written = 1;
	}
	if (sy->opts.manifest) {
		if (sy->nseen > 1)
			qsort(sy->seen, sy->nseen, sizeof(*sy->seen), cmp_msgno);
		for (size_t i = 0; i < sy->nseen; i++)
			manifest_msg(sy, md, listed ? &now_list : NULL,
				     &sy->seen[i]);
	}
	if (listed)
		mm_maildir_list_free(&now_list);
out:
	sy->st.recorded = mm_state_put_count(sy->state);
	*st_r = sy->st;
	mm_maildir_list_free(&sy->list);
	mm_state_free(sy->state);
	free(sy->seen);
	free(sy->text.p);
	free(sy);
}
