/* mm_manifest.c - the per-message manifest (mm_manifest.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mm_digest.h"
#include "mm_fs.h"
#include "mm_maildir.h"
#include "mm_manifest.h"

struct mm_manifest {
	int dfd, fd;
	pid_t pid;
	char name[MM_FS_NAME_MAX];
	char tmp[MM_FS_NAME_MAX + 8];
};

struct mm_manifest *mm_manifest_create(const char *path, int trust,
				       struct mm_err *err_r)
{
	struct mm_manifest *mf = calloc(1, sizeof(*mf));
	struct mm_fs_owner own = { 0, 0, 0 };

	if (mf == NULL) {
		mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
		return NULL;
	}
	mf->fd = -1;
	mf->dfd = mm_fs_open_parent(path, trust ? MM_FS_TRUST : 0, mf->name,
				    err_r);
	if (mf->dfd < 0) {
		free(mf);
		return NULL;
	}
	if (snprintf(mf->tmp, sizeof(mf->tmp), "%s.mmtmp", mf->name) >=
	    (int)sizeof(mf->tmp)) {
		mm_err_set(err_r, MM_E_USAGE, ENAMETOOLONG, 0, 0,
			   "name too long: %.200s", path);
		goto fail;
	}
	unlinkat(mf->dfd, mf->tmp, 0); /* a leftover of a killed run */
	mf->fd = mm_fs_create_at(mf->dfd, mf->tmp, 0600, O_WRONLY | O_APPEND,
				 &own, err_r);
	if (mf->fd < 0)
		goto fail;
	mf->pid = getpid();
	return mf;
fail:
	close(mf->dfd);
	free(mf);
	return NULL;
}

int mm_manifest_fd(const struct mm_manifest *mf)
{
	return mf->fd;
}

int mm_manifest_commit(struct mm_manifest *mf, struct mm_err *err_r)
{
	int ret = 0;

	if (fsync(mf->fd) < 0 || renameat(mf->dfd, mf->tmp, mf->dfd,
					  mf->name) < 0 || fsync(mf->dfd) < 0)
		ret = mm_err_set(err_r, MM_E_IO, errno, 0, 0, "cannot write the "
				 "manifest %s: %s", mf->name, strerror(errno));
	else
		mf->pid = 0; /* nothing to remove any more */
	return ret;
}

void mm_manifest_free(struct mm_manifest *mf)
{
	if (mf == NULL)
		return;
	if (mf->pid == getpid())
		unlinkat(mf->dfd, mf->tmp, 0);
	close(mf->fd);
	close(mf->dfd);
	free(mf);
}

/* A growing line. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap * 2 : 512;
		char *p;

		while (c < b->len + n + 1)
			c *= 2;
		if ((p = realloc(b->p, c)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = c;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), else 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
		   : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;

	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

static void str(struct buf *b, const char *key, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t n;
	char esc[16];

	puts_(b, key);
	if (v == NULL) {
		puts_(b, "null");
		return;
	}
	puts_(b, "\"");
	for (n = strlen(v); n > 0;) {
		size_t u = *s >= 0x80 ? utf8_len(s, n) : 0;

		if (u > 0) {
			put(b, (const char *)s, u);
		} else if (*s == '"' || *s == '\\') {
			snprintf(esc, sizeof(esc), "\\%c", *s);
			puts_(b, esc);
			u = 1;
		} else if (*s < 0x20 || *s == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *s);
			puts_(b, esc);
			u = 1;
		} else if (*s >= 0x80) {
			snprintf(esc, sizeof(esc), "\\\\x%02x", *s);
			puts_(b, esc);
			u = 1;
		} else {
			put(b, (const char *)s, 1);
			u = 1;
		}
		s += u;
		n -= u;
	}
	puts_(b, "\"");
}

static void num(struct buf *b, const char *key, int has, uint64_t v)
{
	char d[24];

	puts_(b, key);
	if (!has) {
		puts_(b, "null");
		return;
	}
	snprintf(d, sizeof(d), "%" PRIu64, v);
	puts_(b, d);
}

int mm_manifest_write(int fd, const struct mm_manifest_line *l,
		      struct mm_err *err_r)
{
	struct buf b = { NULL, 0, 0, 0 };
	char dig[24];
	int ret = 0;

	str(&b, "{\"source\":", l->source);
	str(&b, ",\"maildir\":", l->maildir);
	num(&b, ",\"number\":", l->has_number, l->number);
	num(&b, ",\"offset\":", l->has_number, l->offset);
	num(&b, ",\"size\":", l->has_size, l->size);
	snprintf(dig, sizeof(dig), MM_DIGEST_NAME ":%016" PRIx64, l->digest);
	str(&b, ",\"digest\":", l->has_digest ? dig : NULL);
	str(&b, ",\"flags\":", l->flags);
	num(&b, ",\"uid\":", l->has_uid, l->uid);
	str(&b, ",\"uidl\":", l->uidl);
	str(&b, ",\"file\":", l->file);
	str(&b, ",\"action\":", l->action);
	str(&b, ",\"reason\":", l->reason);
	puts_(&b, "}\n");
	if (b.oom)
		ret = mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
	else if (mm_fs_write_all(fd, b.p, b.len) < 0)
		ret = mm_err_set(err_r, MM_E_IO, errno, 0, 0, "cannot write the "
				 "manifest: %s", strerror(errno));
	free(b.p);
	return ret;
}

struct mm_manifest_check {
	struct mm_maildir *md;
	struct mm_maildir_list list;
};

struct mm_manifest_check *mm_manifest_check_open(const char *maildir,
						 int trust,
						 struct mm_err *err_r)
{
	struct mm_manifest_check *c = calloc(1, sizeof(*c));
	struct mm_maildir_opts o;
	struct mm_err e;

	if (c == NULL) {
		mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
		return NULL;
	}
	memset(&o, 0, sizeof(o));
	o.readonly = 1;
	o.trust_paths = trust;
	if ((c->md = mm_maildir_open(maildir, &o, err_r)) == NULL) {
		free(c);
		return NULL;
	}
	if (mm_maildir_list(c->md, &c->list, err_r) < 0) {
		mm_maildir_close(c->md, &e);
		free(c);
		return NULL;
	}
	return c;
}

static size_t base_len(const char *name)
{
	const char *info = strstr(name, ":2,");

	return info ? (size_t)(info - name) : strlen(name);
}

int mm_manifest_check_file(struct mm_manifest_check *c, const char *file,
			   uint64_t size, int has_digest, uint64_t digest,
			   char *found_r, size_t found_len,
			   struct mm_err *why_r)
{
	const struct mm_maildir_entry *e, *end, *best = NULL;
	uint64_t key, d, n;
	size_t bl;
	int fd;

	found_r[0] = '\0';
	if (strncmp(file, "new/", 4) != 0 && strncmp(file, "cur/", 4) != 0)
		return mm_err_set(why_r, MM_E_FORMAT, 0, 0, 0, "not a file of "
				  "new/ or cur/"), 2;
	mm_maildir_any_key(file + 4, &key);
	bl = base_len(file + 4);
	if ((e = mm_maildir_list_find(&c->list, key)) != NULL) {
		end = c->list.entries + c->list.len;
		while (e > c->list.entries && e[-1].key == key)
			e--;
		for (best = e; e < end && e->key == key; e++)
			if (base_len(e->name + 4) == bl &&
			    memcmp(e->name + 4, file + 4, bl) == 0) {
				best = e;
				break;
			}
	}
	if (best == NULL) {
		mm_err_set(why_r, MM_E_FORMAT, 0, 0, 0, "missing from the Maildir");
		return 1;
	}
	snprintf(found_r, found_len, "%s", best->name);
	if ((fd = mm_maildir_open_entry(c->md, best, why_r)) < 0)
		return 2;
	if (mm_digest_fd(fd, &d, &n) < 0) {
		int en = errno;

		close(fd);
		mm_err_set(why_r, MM_E_IO, en, 0, 0, "cannot be read: %s",
			   strerror(en));
		return 2;
	}
	close(fd);
	if (n != size)
		return mm_err_set(why_r, MM_E_FORMAT, 0, 0, 0, "it has %llu "
				  "bytes, the manifest says %llu",
				  (unsigned long long)n,
				  (unsigned long long)size), 2;
	if (has_digest && d != digest)
		return mm_err_set(why_r, MM_E_FORMAT, 0, 0, 0, "its bytes differ "
				  "from those the manifest lists (digest "
				  MM_DIGEST_NAME ":%016llx, not :%016llx)",
				  (unsigned long long)d,
				  (unsigned long long)digest), 2;
	return 0;
}

void mm_manifest_check_free(struct mm_manifest_check *c)
{
	struct mm_err e;

	if (c == NULL)
		return;
	mm_maildir_list_free(&c->list);
	mm_maildir_close(c->md, &e);
	free(c);
}
