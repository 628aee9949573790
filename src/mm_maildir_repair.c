/* mm_maildir_repair.c - presence means the right content.
 *
 * At open, a file of new/ or cur/ counts as present only when it can
 * hold its message: one of our H names whose size is the ",S=" the
 * name promises, or a name without ",S=" (a UIDL kept as the name) that
 * is not empty. The others are "damaged" (a power cut on a file system
 * that lost data, a truncated copy, ": > new/NAME"); their message is
 * re-delivered through tmp/ and renamed over them, keeping their name,
 * since the user's flags on the new server may be in its info part.
 *
 * Names that cannot be ours (not of the H form and holding a ',', which
 * no UIDL name of ours has: the server's own deliveries) are not
 * stat()ed, so the check costs one fstatat per file that can be ours,
 * and nothing on a first run into an empty Maildir.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_maildir_int.h"

int mm_maildir_name_size(const char *name, uint64_t *size_r)
{
	const char *end = strstr(name, ":2,");
	const char *p = name;
	uint64_t v = 0;

	if (end == NULL)
		end = name + strlen(name);
	for (;;) {
		p = strstr(p, ",S=");
		if (p == NULL || p >= end)
			return 0;
		p += 3;
		if (*p >= '0' && *p <= '9')
			break;
	}
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return 0; /* no file is that big: promises nothing */
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p < end && *p != ',')
		return 0;
	*size_r = v;
	return 1;
}

static int add_damaged(struct mm_maildir *md, uint64_t key, int in_cur,
		       const char *name, uint64_t size, int has_size)
{
	struct mm_maildir_damaged *d;

	if (md->ndamaged == md->damaged_cap) {
		size_t n = md->damaged_cap ? md->damaged_cap * 2 : 16;
		void *a = realloc(md->damaged, n * sizeof(*md->damaged));

		if (a == NULL)
			return -1;
		md->damaged = a;
		md->damaged_cap = n;
	}
	d = &md->damaged[md->ndamaged];
	if ((d->name = strdup(name)) == NULL)
		return -1;
	d->key = key;
	d->size = size;
	d->in_cur = in_cur;
	d->has_size = has_size;
	md->ndamaged++;
	return 0;
}

int mm_maildir_note_file(struct mm_maildir *md, int dirfd, int in_cur,
			 const char *name, unsigned char d_type)
{
	uint64_t key, promised = 0;
	int has_size = 0, check = !md->opts.readonly;
	struct stat st;

	if (mm_maildir_name_key(name, &key)) {
		has_size = mm_maildir_name_size(name, &promised);
	} else {
		const char *colon = strchr(name, ':');
		size_t len = colon ? (size_t)(colon - name) : strlen(name);

		key = mm_maildir_plain_key(name, len);
		if (memchr(name, ',', len) != NULL)
			check = 0; /* not a UIDL name: never one of ours */
	}
	if (d_type != DT_REG && d_type != DT_UNKNOWN)
		return 0; /* a planted symlink or FIFO delivers nothing */
	if (!check && d_type == DT_REG)
		return mm_keyset_add(&md->present, key) < 0 ? -1 : 0;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0; /* gone since readdir, or not a regular file */
	if (!check || (has_size ? (uint64_t)st.st_size == promised
				: st.st_size > 0))
		return mm_keyset_add(&md->present, key) < 0 ? -1 : 0;
	return add_damaged(md, key, in_cur, name, (uint64_t)st.st_size,
			   has_size);
}

static int cmp_damaged(const void *a, const void *b)
{
	const struct mm_maildir_damaged *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->in_cur != y->in_cur)
		return x->in_cur - y->in_cur; /* new/ first */
	return strcmp(x->name, y->name);
}

void mm_maildir_damaged_done(struct mm_maildir *md)
{
	size_t i, n = 0;

	if (md->ndamaged == 0)
		return;
	qsort(md->damaged, md->ndamaged, sizeof(*md->damaged), cmp_damaged);
	for (i = 0; i < md->ndamaged; i++) {
		struct mm_maildir_damaged *d = &md->damaged[i];

		/* a sound copy exists, or another damaged file of the key
		 * comes first: left as it is */
		if (mm_keyset_has(&md->present, d->key) ||
		    (n > 0 && md->damaged[n - 1].key == d->key)) {
			free(d->name);
			continue;
		}
		md->damaged[n++] = *d;
	}
	md->ndamaged = n;
}

void mm_maildir_damaged_free(struct mm_maildir *md)
{
	for (size_t i = 0; i < md->ndamaged; i++)
		free(md->damaged[i].name);
	free(md->damaged);
	md->damaged = NULL;
	md->ndamaged = md->damaged_cap = 0;
}

const struct mm_maildir_damaged *mm_maildir_damaged(const struct mm_maildir *md,
						    uint64_t key)
{
	size_t lo = 0, hi = md->ndamaged;

	if (mm_keyset_has(&md->present, key))
		return NULL; /* repaired (or delivered) since open */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (md->damaged[mid].key == key)
			return &md->damaged[mid];
		if (md->damaged[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void mm_maildir_repair_names(const struct mm_maildir *md,
			     struct mm_pending *p)
{
	const char *name = md->cur_base, *s, *e;
	uint64_t promised;

	p->replace = 1;
	p->fix_err = 0;
	p->in_cur = md->cur_repair_in_cur;
	snprintf(p->final, sizeof(p->final), "%s", name);
	p->fixed[0] = '\0';
	if (!mm_maildir_name_size(name, &promised) || promised == p->size)
		return;
	/* the same name with the size of what it now holds */
	for (s = strstr(name, ",S="); s[3] < '0' || s[3] > '9';
	     s = strstr(s + 3, ",S="))
		;
	s += 3;
	e = s;
	while (*e >= '0' && *e <= '9')
		e++;
	snprintf(p->fixed, sizeof(p->fixed), "%.*s%llu%s", (int)(s - name),
		 name, (unsigned long long)p->size, e);
}

int mm_maildir_rename_over(const struct mm_maildir *md, struct mm_pending *p)
{
	int dirfd = p->in_cur ? md->curfd : md->newfd;
	int r;

	/* rename() replaces the name, whatever it is now: nothing is
	 * written through a symlink swapped in, a hard link's other names
	 * keep their file, and a directory there makes it fail */
	if (renameat(md->tmpfd, p->tmp, dirfd, p->final) < 0)
		return -1;
	p->fix_err = 0;
	if (p->fixed[0] == '\0')
		return 0;
	/* a crash before this leaves the right bytes under a name whose
	 * size is wrong: damaged again, repaired again by the next run */
	r = renameat2(dirfd, p->final, dirfd, p->fixed, RENAME_NOREPLACE);
	if (r < 0 && (errno == EINVAL || errno == ENOSYS)) {
		r = linkat(dirfd, p->final, dirfd, p->fixed, 0);
		if (r == 0)
			unlinkat(dirfd, p->final, 0);
	}
	if (r < 0)
		p->fix_err = errno;
	return 0;
}

int mm_maildir_settle_repair(struct mm_maildir *md, int sync_errno,
			     struct mm_pending *p)
{
	const char *dir = p->in_cur ? "cur/" : "new/";
	char to[MM_NAME_MAX + 16];
	unsigned before = md->nfail;
	struct mm_err *e;

	if (sync_errno || p->err) {
		/* not durable, or not moved: the damaged file stays */
		snprintf(to, sizeof(to), " over %s%.200s", dir, p->final);
		mm_maildir_lost(md, p, sync_errno ? sync_errno : p->err,
				sync_errno ? "cannot sync" : "cannot move", to);
		/* a directory swapped in for the damaged file takes the name
		 * of one message, as a planted file does (EEXIST): that is
		 * no reason to stop the run */
		if (!sync_errno && md->nfail > before &&
		    (p->err == EISDIR || p->err == ENOTEMPTY ||
		     p->err == ENOTDIR || p->err == EBUSY))
			md->fail[md->nfail - 1].sys_errno = EEXIST;
		return -1;
	}
	mm_keyset_add(&md->present, p->key);
	if (p->fix_err == 0) {
		md->st.repaired++;
		return 0;
	}
	/* the bytes are right, the name's size is not: the next run sees
	 * it damaged and tries again */
	if (md->nfail >= MM_FAIL_CAP(md))
		return -1;
	e = &md->fail[md->nfail++];
	mm_err_set(e, MM_E_IO, p->fix_err, p->msgno, p->offset,
		   "repaired %s%.100s but cannot rename it to %s%.100s: %s",
		   dir, p->final, dir, p->fixed, strerror(p->fix_err));
	return -1;
}
