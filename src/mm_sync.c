/* mm_sync.c - a pass that makes the Maildir match the mbox (mm_sync.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_digest.h"
#include "mm_flags.h"
#include "mm_fs.h"
#include "mm_keymap.h"
#include "mm_keyset.h"
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
	/* digests of the file's bytes and of the mbox's (mm_sync_bytes) */
	uint64_t fdig, mdig, msize;
	unsigned char has_fdig, has_mdig;
	unsigned char differs;  /* changed: the file kept (said now or before) */
};

/* A file the pass removed, for the manifest (after the messages). */
struct removed {
	uint64_t size, digest;
	int has_digest;
	size_t file;            /* offset in the text arena */
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
	struct mm_keymap lidx;  /* its index (see index_list()) */
	struct mm_keyset seen_keys; /* the keys of seen */
	struct seen *seen;
	size_t nseen, seen_cap;
	struct mm_sync_stats st;
	struct text text;
	struct removed *removed;
	size_t nremoved, removed_cap;
	int manifest_broken;
	unsigned long touched;  /* renames and removals tried */
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

/* An index of a listing: key -> 1 + the index of its first entry, so
 * that the lookups of a pass (several per message) are hashed, not
 * binary searches over a Maildir of 100,000 files. Left empty when out
 * of memory (lookups search then). */
static void index_list(const struct mm_maildir_list *l, struct mm_keymap *ix)
{
	memset(ix, 0, sizeof(*ix));
	for (size_t i = l->len; i-- > 0;)
		if (mm_keymap_set(ix, l->entries[i].key, (uint32_t)(i + 1)) < 0) {
			mm_keymap_free(ix);
			memset(ix, 0, sizeof(*ix));
			return;
		}
}

/* The first listed file of key, or NULL. */
static const struct mm_maildir_entry *
first_of(const struct mm_maildir_list *l, const struct mm_keymap *ix,
	 uint64_t key)
{
	const struct mm_maildir_entry *e;
	uint32_t i;

	if (ix && ix->len > 0) {
		i = mm_keymap_get(ix, key, 0);
		return i ? &l->entries[i - 1] : NULL;
	}
	if ((e = mm_maildir_list_find(l, key)) != NULL)
		while (e > l->entries && e[-1].key == key)
			e--;
	return e;
}

/* The listed file of key: the one named base (when given), else the
 * first listed (a key is the message's identity: a file of ours renamed
 * by a repair to its right ",S=" is still it); NULL if none. */
static const struct mm_maildir_entry *
entry_of(const struct mm_maildir_list *l, const struct mm_keymap *ix,
	 uint64_t key, const char *base)
{
	const struct mm_maildir_entry *e = first_of(l, ix, key), *end, *first;

	if (e == NULL || base == NULL || e + 1 == l->entries + l->len ||
	    e[1].key != key)
		return e; /* one file of key: it */
	end = l->entries + l->len;
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
	index_list(&sy->list, &sy->lidx);
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
	if (mm_keyset_add(&sy->seen_keys, key) < 0)
		return NULL;
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
	ent = entry_of(&sy->list, &sy->lidx, key, rec ? rec->base : NULL);
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
		return 2;
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
	if (!sy->opts.plan && ++sy->touched &&
	    mm_maildir_reflag(md, now.where, ent->name + 4, src.where,
			      src.has_info ? info : NULL, err_r) < 0)
		return -1;
	sy->st.reflagged++;
	sn->action = MM_ACT_REFLAGGED;
	return 1;
}

int mm_sync_wants_bytes(const struct mm_sync *sy)
{
	return sy->opts.mode != MM_SYNC_OFF;
}

void mm_sync_bytes(struct mm_sync *sy, uint64_t key, uint64_t digest,
		   uint64_t size, int delivered)
{
	struct seen *sn = sy->nseen ? &sy->seen[sy->nseen - 1] : NULL;

	if (sn == NULL || sn->key != key)
		return;
	sn->mdig = digest;
	sn->msize = size;
	sn->has_mdig = 1;
	if (delivered) {
		sn->fdig = digest;
		sn->has_fdig = 1;
	}
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

/* Is the file named base the record's file renamed by a repair (only
 * its ",S=" size differs, and the name ends there)? */
static int repaired_name(const char *name, const char *rec_base)
{
	size_t bl = base_len(name);
	const char *s1 = strstr(rec_base, ",S="), *s2;
	size_t pre = s1 ? (size_t)(s1 - rec_base) : 0;

	if (s1 == NULL || bl <= pre + 3 || memcmp(name, rec_base, pre + 3) != 0)
		return 0;
	s2 = name + pre + 3;
	for (size_t i = pre + 3; i < bl; i++)
		if (name[i] < '0' || name[i] > '9')
			return 0;
	for (s1 += 3; *s1; s1++)
		if (*s1 < '0' || *s1 > '9')
			return 0;
	return s2 < name + bl;
}

/* The record's size, or for its file renamed by a repair (see
 * repaired_name()) the size its name promises now. */
static uint64_t rec_file_size(const struct mm_state_rec *rec,
			      const struct mm_maildir_entry *ent)
{
	uint64_t size;

	if (!same_base(ent->name + 4, rec->base) &&
	    repaired_name(ent->name + 4, rec->base) &&
	    mm_maildir_name_size(ent->name + 4, &size))
		return size;
	return rec->size;
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
	const struct mm_maildir_entry *ent = entry_of(&sy->list, &sy->lidx,
						      rec->key, rec->base);
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
	if (!sy->opts.plan && ++sy->touched &&
	    mm_maildir_remove(md, ent->name[0] == 'c', ent->name + 4,
			      rec_file_size(rec, ent), &e) < 0) {
		note(sy, &e, 1);
		put(sy, rec); /* tried again by the next pass */
		return;
	}
	sy->st.removed++;
	if (sy->opts.manifest && !sy->opts.plan) {
		/* its line comes after the messages' (mm_sync_end) */
		struct removed *rm;

		if (sy->nremoved == sy->removed_cap) {
			size_t n = sy->removed_cap ? sy->removed_cap * 2 : 64;

			rm = realloc(sy->removed, n * sizeof(*rm));
			if (rm == NULL)
				return;
			sy->removed = rm;
			sy->removed_cap = n;
		}
		rm = &sy->removed[sy->nremoved];
		rm->file = text_add(sy, ent->name);
		if (rm->file == NO_TEXT)
			return;
		rm->size = rec_file_size(rec, ent);
		rm->has_digest = rec->has_digest && rm->size == rec->size;
		rm->digest = rec->digest;
		sy->nremoved++;
	}
}

static void manifest_removed(struct mm_sync *sy, const struct removed *rm)
{
	struct mm_manifest_line l;

	memset(&l, 0, sizeof(l));
	l.source = sy->opts.source;
	l.maildir = sy->opts.maildir_name;
	l.has_size = 1;
	l.size = rm->size;
	l.has_digest = rm->has_digest;
	l.digest = rm->digest;
	l.file = text_at(sy, rm->file);
	l.action = "removed";
	l.reason = "gone from the mbox";
	manifest_write(sy, &l);
}

/* What the file of a message the Maildir had holds, against the mbox's
 * bytes of now: sn->fdig, and in a sync pass "changed" (mm_sync.h). */
static void check_changed(struct mm_sync *sy, struct mm_maildir *md,
			  const struct mm_maildir_list *list,
			  const struct mm_keymap *ix, struct seen *sn,
			  int read_whole)
{
	const struct mm_state_rec *rec = mm_state_find(sy->state, sn->key);
	const struct mm_maildir_entry *ent;
	uint64_t fsize = 0, d;
	struct mm_err w;
	int fd, trusted;

	if (sn->has_fdig || sn->kept_gone ||
	    (rec == NULL && mm_state_claimed(sy->state, sn->key)))
		return;
	if ((ent = entry_of(list, ix, sn->key, rec ? rec->base : NULL)) == NULL ||
	    entry_size(md, ent, &fsize) < 0)
		return;
	/* the record speaks for the file it names, as it was left */
	trusted = rec && rec->has_digest && same_base(ent->name + 4, rec->base) &&
		  fsize == rec->size;
	if (trusted) {
		sn->fdig = rec->digest;
		sn->has_fdig = 1;
	}
	/* an mbox cut short proves nothing about its last message */
	if (sy->opts.mode == MM_SYNC_OFF || !sn->has_mdig || !read_whole)
		return;
	if (trusted && rec->digest == sn->mdig)
		return; /* the same bytes */
	if (trusted && rec->has_src_digest && rec->src_digest == sn->mdig) {
		sn->differs = 1; /* said by an earlier pass */
		return;
	}
	/* the record cannot say, or the mbox has other bytes: the file */
	if ((fd = mm_maildir_open_entry(md, ent, &w)) < 0)
		return;
	if (mm_digest_fd(fd, &d, &fsize) < 0) {
		close(fd);
		return;
	}
	close(fd);
	sn->fdig = d;
	sn->has_fdig = 1;
	if (d == sn->mdig && fsize == sn->msize)
		return; /* it holds the mbox's bytes (a repair made it) */
	sn->differs = 1;
	if (rec && rec->has_src_digest && rec->src_digest == sn->mdig)
		return;
	sy->st.changed++;
	mm_err_set(&w, MM_W_CHANGED, 0, sn->msgno, sn->offset, "%.90s: its "
		   "bytes changed in the mbox (%llu bytes now, %llu in the "
		   "file; by digest), not its key: the Maildir's copy kept "
		   "(--verify --repair takes the mbox's)", ent->name,
		   (unsigned long long)sn->msize, (unsigned long long)fsize);
	note(sy, &w, 0);
	if (sn->action == MM_ACT_NONE || sn->action == MM_ACT_PRESENT ||
	    sn->action == MM_ACT_REFLAGGED) {
		sn->action = MM_ACT_CHANGED;
		sn->reason = text_add(sy, w.text);
	}
}

/* The record of a message of this pass, from the files of now; its
 * file of now and that file's size (size_r), or NULL (not delivered,
 * or another source's). */
static const struct mm_maildir_entry *record(struct mm_sync *sy, struct mm_maildir *md,
		   const struct mm_maildir_list *now_list,
		   const struct mm_keymap *ix, const struct seen *sn,
		   uint64_t *size_r)
{
	const struct mm_state_rec *rec = mm_state_find(sy->state, sn->key);
	const struct mm_maildir_entry *ent;
	struct mm_state_rec r;
	char base[256];

	if (rec == NULL && mm_state_claimed(sy->state, sn->key))
		return NULL;
	ent = entry_of(now_list, ix, sn->key, rec ? rec->base : NULL);
	if (ent == NULL) {
		if (rec == NULL)
			return NULL; /* not delivered (failed) */
		r = *rec;
		if (sn->kept_gone) {
			r.left.where = -1;
			r.src = sn->src;
		}
		put(sy, &r);
		return NULL;
	}
	if (sy->opts.mode == MM_SYNC_OFF && rec && rec->left.where >= 0 &&
	    same_base(ent->name + 4, rec->base)) {
		r = *rec; /* an add-only pass changes no record */
		if (!r.has_digest && sn->has_fdig) {
			r.digest = sn->fdig;
			r.has_digest = 1;
		}
		put(sy, &r);
		*size_r = rec_file_size(rec, ent);
		return ent;
	}
	memset(&r, 0, sizeof(r));
	r.key = sn->key;
	if (entry_size(md, ent, &r.size) < 0)
		return NULL;
	if (sn->has_fdig) {
		r.digest = sn->fdig;
		r.has_digest = 1;
		if (sn->differs && sn->has_mdig && sn->mdig != sn->fdig) {
			r.src_digest = sn->mdig;
			r.has_src_digest = 1;
		} else if (!sn->has_mdig && rec && rec->has_src_digest &&
			   rec->has_digest && rec->digest == sn->fdig) {
			r.src_digest = rec->src_digest;
			r.has_src_digest = 1;
		}
	}
	mm_sflags_of_entry(ent->name, &r.left);
	r.src = rec ? sn->src : r.left;
	snprintf(base, sizeof(base), "%.*s", (int)base_len(ent->name + 4),
		 ent->name + 4);
	r.base = base;
	put(sy, &r);
	*size_r = r.size;
	return ent;
}

/* A message of this mbox that the Maildir holds at the end of the
 * pass, its file ent of size bytes: counted in the in_place figures
 * (mm_sync.h). */
static void count_in_place(struct mm_sync *sy,
			   const struct mm_maildir_entry *ent, uint64_t size)
{
	sy->st.in_place++;
	sy->st.in_place_bytes += size;
	if (strncmp(ent->name, "cur/", 4) == 0)
		sy->st.in_place_cur++;
	else
		sy->st.in_place_new++;
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
	/* mostly the last message; seen is in mbox order */
	sn = &sy->seen[sy->nseen - 1];
	if (sn->msgno != msgno)
		sn = bsearch(&probe, sy->seen, sy->nseen, sizeof(probe),
			     cmp_msgno);
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
	case MM_ACT_CHANGED: return "changed";
	case MM_ACT_NONE: break;
	}
	return has_file ? "present" : "failed";
}

/* The manifest's line of a message of this pass. */
static void manifest_msg(struct mm_sync *sy, struct mm_maildir *md,
			 const struct mm_maildir_list *now_list,
			 const struct mm_keymap *ix, const struct seen *sn)
{
	const struct mm_maildir_entry *ent = now_list
		? first_of(now_list, ix, sn->key) : NULL;
	struct mm_manifest_line l;
	char flags[MM_SFLAGS_MAX];

	memset(&l, 0, sizeof(l));
	l.source = sy->opts.source;
	l.maildir = sy->opts.maildir_name;
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
	l.has_digest = ent && sn->has_fdig;
	l.digest = sn->fdig;
	l.action = action_name(sn->action, ent != NULL);
	l.reason = text_at(sy, sn->reason);
	if (sn->action == MM_ACT_NONE && ent == NULL)
		l.reason = "not delivered: the pass stopped before it";
	manifest_write(sy, &l);
}

void mm_sync_end(struct mm_sync *sy, struct mm_maildir *md, int stopped,
		 int read_whole, struct mm_sync_stats *st_r)
{
	const struct mm_maildir_stats *ms = mm_maildir_stats(md);
	struct mm_maildir_list now_list, *now = NULL;
	struct mm_keymap now_idx, *nix = NULL;
	struct mm_fs_owner own;
	struct mm_err e;
	int may_remove = !stopped && read_whole &&
			 sy->opts.mode != MM_SYNC_OFF;
	int whole = read_whole && !stopped;

	/* a stopped pass removes nothing and writes no state: the next
	 * pass takes this one's files as ours */
	for (size_t i = 0; i < mm_state_count(sy->state) && (!stopped ||
							      sy->opts.plan); i++) {
		const struct mm_state_rec *rec = mm_state_at(sy->state, i);

		if (!mm_keyset_has(&sy->seen_keys, rec->key))
			gone_from_mbox(sy, md, rec, may_remove);
	}
	/* seen is in mbox order: the warnings and the manifest follow it */
	if (sy->opts.plan) {
		for (size_t i = 0; i < sy->nseen; i++)
			check_changed(sy, md, &sy->list, &sy->lidx, &sy->seen[i],
				      whole);
		goto out;
	}
	if (!stopped && mm_maildir_changes_done(md, &e) < 0)
		note(sy, &e, 1);
	/* the files of now: the listing of the start when the pass tried
	 * no rename nor removal and delivered nothing (a pass that found
	 * the mailbox as the state says lists it once) */
	if (sy->opts.mode != MM_SYNC_OFF && sy->touched == 0 &&
	    ms->delivered == 0 && ms->repaired == 0) {
		now = &sy->list;
		nix = &sy->lidx;
	} else if (mm_maildir_list(md, &now_list, &e) < 0) {
		note(sy, &e, 1);
	} else {
		now = &now_list;
		index_list(now, &now_idx);
		nix = &now_idx;
	}
	for (size_t i = 0; now && i < sy->nseen; i++)
		check_changed(sy, md, now, nix, &sy->seen[i], whole);
	if (now && !stopped) {
		for (size_t i = 0; i < sy->nseen; i++) {
			uint64_t size = 0;
			const struct mm_maildir_entry *ent =
				record(sy, md, now, nix, &sy->seen[i], &size);

			if (ent != NULL)
				count_in_place(sy, ent, size);
		}
		sy->st.has_in_place = 1;
		mm_maildir_owner(md, &own);
		/* a state that says what the file says already is not
		 * written (nor synced) again */
		if (mm_state_unchanged(sy->state) ||
		    mm_state_save(sy->state, mm_maildir_fd(md), &own, &e) == 0)
			sy->st.state_written = 1;
		else
			note(sy, &e, 1);
	}
	if (sy->opts.manifest) {
		for (size_t i = 0; i < sy->nseen; i++)
			manifest_msg(sy, md, now, nix, &sy->seen[i]);
		for (size_t i = 0; i < sy->nremoved; i++)
			manifest_removed(sy, &sy->removed[i]);
	}
	if (now == &now_list) {
		mm_maildir_list_free(&now_list);
		mm_keymap_free(&now_idx);
	}
out:
	sy->st.recorded = mm_state_put_count(sy->state);
	*st_r = sy->st;
	mm_maildir_list_free(&sy->list);
	mm_keymap_free(&sy->lidx);
	mm_keyset_free(&sy->seen_keys);
	mm_state_free(sy->state);
	free(sy->seen);
	free(sy->removed);
	free(sy->text.p);
	free(sy);
}
