/* mm_state.c - the state file of a Maildir: our messages per source. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mm_keymap.h"
#include "mm_keyset.h"
#include "mm_sortkey.h"
#include "mm_state.h"

#define HEADER "migratemail-state 1\n"
#define STATE_MAX ((size_t)1 << 30)

/* A growing list of records whose bases live in an arena (offsets
 * until the list is final, so the arena may move). */
struct recs {
	struct mm_state_rec *r;
	size_t len, cap;
	char *arena;
	size_t alen, acap;
	int done;               /* bases are pointers now, sorted */
};

struct mm_state {
	char *source;
	struct recs old, put;
	char *others;           /* other sources' sections, verbatim */
	size_t olen, ocap;
	struct mm_keyset claimed;
	struct mm_keymap idx;   /* key -> 1 + its index in old */
	int loaded;             /* the file was there */
};

static int letter_bit(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return 26 + c - 'a';
	return -1;
}

void mm_sflags_info(const struct mm_sflags *f, char *buf)
{
	size_t n = 0;

	for (int b = 0; b < 52; b++)
		if (f->letters & (UINT64_C(1) << b))
			buf[n++] = (char)(b < 26 ? 'A' + b : 'a' + b - 26);
	buf[n] = '\0';
}

void mm_sflags_format(const struct mm_sflags *f, char *buf)
{
	char info[53];

	if (f->where < 0) {
		strcpy(buf, "-");
		return;
	}
	mm_sflags_info(f, info);
	memcpy(buf, f->where ? "cur" : "new", 3);
	buf += 3;
	if (f->has_info) {
		memcpy(buf, ":2,", 3);
		buf += 3;
	}
	strcpy(buf, info); /* at most 52 letters: MM_SFLAGS_MAX holds them */
}

/* The pieces of a state line, written without printf (a line per
 * message, every pass). Each returns the end of what it wrote. */
static char *put_hex16(char *p, uint64_t v)
{
	for (int i = 15; i >= 0; i--, v >>= 4)
		p[i] = "0123456789abcdef"[v & 15];
	return p + 16;
}

static char *put_u64(char *p, uint64_t v)
{
	char t[20];
	int n = 0;

	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*p++ = t[--n];
	return p;
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return p + n;
}

static void info_letters(const char *s, size_t len, struct mm_sflags *f)
{
	for (size_t i = 0; i < len; i++) {
		int b = letter_bit((unsigned char)s[i]);

		if (b >= 0)
			f->letters |= UINT64_C(1) << b;
	}
}

int mm_sflags_parse(const char *s, size_t len, struct mm_sflags *f_r)
{
	memset(f_r, 0, sizeof(*f_r));
	if (len == 1 && s[0] == '-') {
		f_r->where = -1;
		return 0;
	}
	if (len < 3 || (memcmp(s, "new", 3) != 0 && memcmp(s, "cur", 3) != 0))
		return -1;
	f_r->where = s[0] == 'c';
	if (len == 3)
		return 0;
	if (len < 6 || memcmp(s + 3, ":2,", 3) != 0)
		return -1;
	f_r->has_info = 1;
	for (size_t i = 6; i < len; i++)
		if (letter_bit((unsigned char)s[i]) < 0)
			return -1;
	info_letters(s + 6, len - 6, f_r);
	return 0;
}

void mm_sflags_of_entry(const char *name, struct mm_sflags *f_r)
{
	const char *info = strstr(name + 4, ":2,");

	memset(f_r, 0, sizeof(*f_r));
	f_r->where = strncmp(name, "cur/", 4) == 0;
	if (info) {
		f_r->has_info = 1;
		info_letters(info + 3, strlen(info + 3), f_r);
	}
}

void mm_sflags_of_info(int in_cur, const char *info, struct mm_sflags *f_r)
{
	memset(f_r, 0, sizeof(*f_r));
	f_r->where = in_cur ? 1 : 0;
	if (info) {
		f_r->has_info = 1;
		info_letters(info, strlen(info), f_r);
	}
}

int mm_sflags_equal(const struct mm_sflags *a, const struct mm_sflags *b)
{
	if (a->where < 0 || b->where < 0)
		return a->where == b->where;
	return a->where == b->where && a->has_info == b->has_info &&
	       a->letters == b->letters;
}

/* Room for need bytes in the growing buffer *buf of *cap. 0 or -1. */
static int reserve(char **buf, size_t *cap, size_t need)
{
	size_t n = *cap ? *cap : 4096;
	char *b;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if ((b = realloc(*buf, n)) == NULL)
		return -1;
	*buf = b;
	*cap = n;
	return 0;
}

static int recs_add(struct recs *l, const struct mm_state_rec *rec,
		    const char *base, size_t blen)
{
	if (l->done)
		return -1; /* nothing is put once the file is written */
	if (l->len == l->cap) {
		size_t n = l->cap ? l->cap * 2 : 256;
		struct mm_state_rec *r = realloc(l->r, n * sizeof(*r));

		if (r == NULL)
			return -1;
		l->r = r;
		l->cap = n;
	}
	if (reserve(&l->arena, &l->acap, l->alen + blen + 1) < 0)
		return -1;
	l->r[l->len] = *rec;
	l->r[l->len].base = (const char *)(uintptr_t)l->alen;
	memcpy(l->arena + l->alen, base, blen);
	l->arena[l->alen + blen] = '\0';
	l->alen += blen + 1;
	l->len++;
	return 0;
}

static int cmp_rec(const void *a, const void *b)
{
	uint64_t x = ((const struct mm_state_rec *)a)->key;
	uint64_t y = ((const struct mm_state_rec *)b)->key;

	return x < y ? -1 : x > y;
}

/* Bases from offsets to pointers, records sorted by key. */
static void recs_done(struct recs *l)
{
	if (l->done)
		return;
	l->done = 1;
	size_t i;

	for (i = 0; i < l->len; i++)
		l->r[i].base = l->arena + (uintptr_t)l->r[i].base;
	/* a file we wrote is sorted already */
	for (i = 1; i < l->len && l->r[i - 1].key <= l->r[i].key; i++)
		;
	if (i < l->len &&
	    mm_sort_by_key(l->r, l->len, sizeof(*l->r),
			   offsetof(struct mm_state_rec, key)) < 0)
		qsort(l->r, l->len, sizeof(*l->r), cmp_rec); /* no memory */
}

static void recs_free(struct recs *l)
{
	free(l->r);
	free(l->arena);
	memset(l, 0, sizeof(*l));
}

/* The source name as the file writes it (%XX escapes); malloc'd. */
static char *escape(const char *s)
{
	char *out = malloc(strlen(s) * 3 + 1), *p = out;

	if (out == NULL)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || c == '%')
			p += sprintf(p, "%%%02X", c);
		else
			*p++ = (char)c;
	}
	*p = '\0';
	return out;
}

static int hex64(const char *s, size_t len, uint64_t *v_r)
{
	uint64_t v = 0;

	if (len != 16)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return -1;
		v = v << 4 | (uint64_t)d;
	}
	*v_r = v;
	return 0;
}

static int dec64(const char *s, size_t len, uint64_t *v_r)
{
	uint64_t v = 0;

	if (len == 0 || len > 19)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*v_r = v;
	return 0;
}

/* A base name a pass may act on: one file name, not hidden, no info. */
static int base_ok(const char *s, size_t len)
{
	if (len == 0 || len > 255 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || s[i] == ':' || (unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* One record line (without its newline): 0, or -1 if it does not parse. */
static int parse_rec(const char *line, size_t len, struct mm_state_rec *r,
		     const char **base_r, size_t *blen_r)
{
	const char *f[6];
	size_t fl[6], n = 0;
	const char *p = line, *end = line + len;

	memset(r, 0, sizeof(*r));
	while (n < 6 && p < end) {
		const char *sp = n < 5 ? memchr(p, ' ', (size_t)(end - p)) : NULL;

		f[n] = p;
		fl[n] = sp ? (size_t)(sp - p) : (size_t)(end - p);
		n++;
		p = sp ? sp + 1 : end;
	}
	if (n != 6 || hex64(f[0], fl[0], &r->key) < 0 ||
	    dec64(f[1], fl[1], &r->size) < 0 ||
	    mm_sflags_parse(f[3], fl[3], &r->src) < 0 ||
	    mm_sflags_parse(f[4], fl[4], &r->left) < 0 || !base_ok(f[5], fl[5]))
		return -1;
	if (!(fl[2] == 1 && f[2][0] == '-')) {
		if (hex64(f[2], fl[2] == 33 ? 16 : fl[2], &r->digest) < 0 ||
		    (fl[2] == 33 && (f[2][16] != '/' ||
				     hex64(f[2] + 17, 16, &r->src_digest) < 0)))
			return -1;
		r->has_digest = 1;
		r->has_src_digest = fl[2] == 33;
	}
	*base_r = f[5];
	*blen_r = fl[5];
	return 0;
}

static int others_add(struct mm_state *s, const char *line, size_t len)
{
	if (reserve(&s->others, &s->ocap, s->olen + len + 1) < 0)
		return -1;
	memcpy(s->others + s->olen, line, len);
	s->others[s->olen + len] = '\n';
	s->olen += len + 1;
	return 0;
}

static int parse(struct mm_state *s, const char *buf, size_t len,
		 struct mm_err *err_r)
{
	const char *p = buf, *end = buf + len;
	unsigned long lineno = 1;
	int mine = 0, in_section = 0;

	if (len < strlen(HEADER) || memcmp(buf, HEADER, strlen(HEADER)) != 0)
		return mm_err_set(err_r, MM_E_FORMAT, 0, 0, 0, "%s: not a state "
				  "file of this version (its first line is not "
				  "'migratemail-state 1'): remove it or move it "
				  "away", MM_STATE_FILE);
	p += strlen(HEADER);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct mm_state_rec r;
		const char *base;
		size_t blen;
		int bad = 0;

		lineno++;
		if (nl == NULL)
			bad = 1; /* a last line without newline: cut short */
		else if (ll > 7 && memcmp(p, "source ", 7) == 0) {
			mine = ll - 7 == strlen(s->source) &&
			       memcmp(p + 7, s->source, ll - 7) == 0;
			in_section = 1;
			if (!mine && others_add(s, p, ll) < 0)
				goto nomem;
		} else if (!in_section || parse_rec(p, ll, &r, &base, &blen) < 0)
			bad = 1;
		else if (mine ? recs_add(&s->old, &r, base, blen) < 0
			      : others_add(s, p, ll) < 0 ||
				mm_keyset_add(&s->claimed, r.key) < 0)
			goto nomem;
		if (bad)
			return mm_err_set(err_r, MM_E_FORMAT, 0, 0, 0, "%s: line %lu "
					  "is not one this tool writes: nothing "
					  "synced; remove the file or fix the "
					  "line", MM_STATE_FILE, lineno);
		p += ll + 1;
	}
	return 0;
nomem:
	return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
}

struct mm_state *mm_state_load(int dfd, const char *source,
			       struct mm_err *err_r)
{
	struct mm_state *s = calloc(1, sizeof(*s));
	char *buf = NULL;
	size_t len = 0;

	if (s == NULL || (s->source = escape(source)) == NULL) {
		free(s);
		mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
		return NULL;
	}
	if (mm_fs_read_at(dfd, MM_STATE_FILE, STATE_MAX, &buf, &len, err_r) < 0 ||
	    (buf && parse(s, buf, len, err_r) < 0)) {
		free(buf);
		mm_state_free(s);
		return NULL;
	}
	s->loaded = buf != NULL;
	free(buf);
	recs_done(&s->old);
	/* a lookup per message of the mbox, several times a pass: hashed */
	for (size_t i = 0; i < s->old.len; i++)
		if (mm_keymap_set(&s->idx, s->old.r[i].key, (uint32_t)(i + 1)) < 0) {
			mm_keymap_free(&s->idx);
			memset(&s->idx, 0, sizeof(s->idx));
			break; /* out of memory: bsearch then */
		}
	return s;
}

void mm_state_free(struct mm_state *s)
{
	if (s == NULL)
		return;
	recs_free(&s->old);
	recs_free(&s->put);
	mm_keyset_free(&s->claimed);
	mm_keymap_free(&s->idx);
	free(s->others);
	free(s->source);
	free(s);
}

size_t mm_state_count(const struct mm_state *s)
{
	return s->old.len;
}

const struct mm_state_rec *mm_state_at(const struct mm_state *s, size_t i)
{
	return &s->old.r[i];
}

const struct mm_state_rec *mm_state_find(const struct mm_state *s,
					 uint64_t key)
{
	struct mm_state_rec probe;
	uint32_t i;

	if (s->old.len == 0)
		return NULL;
	if (s->idx.len == s->old.len) {
		i = mm_keymap_get(&s->idx, key, 0);
		return i ? &s->old.r[i - 1] : NULL;
	}
	probe.key = key;
	return bsearch(&probe, s->old.r, s->old.len, sizeof(probe), cmp_rec);
}

int mm_state_claimed(const struct mm_state *s, uint64_t key)
{
	return mm_keyset_has(&s->claimed, key);
}

int mm_state_put(struct mm_state *s, const struct mm_state_rec *rec,
		 struct mm_err *err_r)
{
	if (recs_add(&s->put, rec, rec->base, strlen(rec->base)) < 0)
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
	return 0;
}

size_t mm_state_put_count(const struct mm_state *s)
{
	return s->put.len;
}

static int rec_equal(const struct mm_state_rec *a, const struct mm_state_rec *b)
{
	return a->key == b->key && a->size == b->size &&
	       a->has_digest == b->has_digest &&
	       (!a->has_digest || a->digest == b->digest) &&
	       a->has_src_digest == b->has_src_digest &&
	       (!a->has_src_digest || a->src_digest == b->src_digest) &&
	       mm_sflags_equal(&a->src, &b->src) &&
	       mm_sflags_equal(&a->left, &b->left) &&
	       strcmp(a->base, b->base) == 0;
}

int mm_state_unchanged(struct mm_state *s)
{
	if (!s->loaded || s->put.len != s->old.len)
		return 0;
	/* keys are unique in put: each one equal to the old record of its
	 * key is all of them (put's bases are arena offsets until done) */
	for (size_t i = 0; i < s->put.len; i++) {
		struct mm_state_rec r = s->put.r[i];
		const struct mm_state_rec *o = mm_state_find(s, r.key);

		if (!s->put.done)
			r.base = s->put.arena + (uintptr_t)r.base;
		if (o == NULL || !rec_equal(&r, o))
			return 0;
	}
	return 1;
}

int mm_state_save(struct mm_state *s, int dfd, const struct mm_fs_owner *own,
		  struct mm_err *err_r)
{
	size_t cap = strlen(HEADER) + s->olen + strlen(s->source) + 16, n;
	char *buf, *p;
	int r;

	recs_done(&s->put);
	cap += s->put.len * (16 + 20 + 33 + 2 * MM_SFLAGS_MAX + 8) + s->put.alen;
	if ((buf = malloc(cap)) == NULL)
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
	p = buf + sprintf(buf, "%s", HEADER);
	if (s->olen > 0) /* others is NULL when there are none */
		memcpy(p, s->others, s->olen);
	p += s->olen;
	if (s->put.len > 0)
		p += sprintf(p, "source %s\n", s->source);
	for (size_t i = 0; i < s->put.len; i++) {
		const struct mm_state_rec *r = &s->put.r[i];
		char src[MM_SFLAGS_MAX], left[MM_SFLAGS_MAX];

		/* "%016x %u DIGEST[/SRCDIGEST]|- SRC LEFT BASE\n" */
		mm_sflags_format(&r->src, src);
		mm_sflags_format(&r->left, left);
		p = put_hex16(p, r->key);
		*p++ = ' ';
		p = put_u64(p, r->size);
		*p++ = ' ';
		if (r->has_digest) {
			p = put_hex16(p, r->digest);
			if (r->has_src_digest && r->src_digest != r->digest) {
				*p++ = '/';
				p = put_hex16(p, r->src_digest);
			}
		} else {
			*p++ = '-';
		}
		*p++ = ' ';
		p = put_str(p, src);
		*p++ = ' ';
		p = put_str(p, left);
		*p++ = ' ';
		p = put_str(p, r->base);
		*p++ = '\n';
	}
	n = (size_t)(p - buf);
	r = mm_fs_replace_at(dfd, MM_STATE_FILE, buf, n, own, err_r);
	free(buf);
	return r;
}
