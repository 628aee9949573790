/* mm_maildir_name.c - the names of our Maildir files, and finding them. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mm_maildir_int.h"
#include "mm_sortkey.h"

uint64_t mm_maildir_key(uint64_t hash, unsigned k)
{
	/* k = 0 keeps the hash itself; copies get well-spread variants */
	return hash ^ ((uint64_t)k * UINT64_C(0x9e3779b97f4a7c15));
}

void mm_maildir_set_host(struct mm_maildir *md, const char *host)
{
	char buf[256];
	size_t i;

	if (host == NULL) {
		if (gethostname(buf, sizeof(buf)) < 0)
			strcpy(buf, "localhost");
		buf[sizeof(buf) - 1] = '\0';
		host = buf;
	}
	/* Maildir names must not hold '/' or ':'; ',' starts our fields */
	for (i = 0; host[i] && i < sizeof(md->host) - 1; i++) {
		char c = host[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
		md->host[i] = ok ? c : '_';
	}
	md->host[i] = '\0';
	if (i == 0)
		strcpy(md->host, "localhost");
}

void mm_maildir_base_name(const struct mm_maildir *md, time_t t, uint64_t hash,
			  unsigned k, char *buf, size_t bufsz)
{
	char kbuf[16] = "";

	if (k > 0)
		snprintf(kbuf, sizeof(kbuf), "_%u", k);
	snprintf(buf, bufsz, "%lld.H%016llx%s.%s", (long long)(t < 0 ? 0 : t),
		 (unsigned long long)hash, kbuf, md->host);
}

int mm_maildir_name_key(const char *name, uint64_t *key_r)
{
	const char *p = name;
	uint64_t hash = 0;
	unsigned long k = 0;
	int i;

	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p[0] != '.' || p[1] != 'H')
		return 0;
	p += 2;
	for (i = 0; i < 16; i++, p++) {
		int v = (*p >= '0' && *p <= '9') ? *p - '0' :
			(*p >= 'a' && *p <= 'f') ? *p - 'a' + 10 : -1;
		if (v < 0)
			return 0;
		hash = hash << 4 | (uint64_t)v;
	}
	if (*p == '_') {
		p++;
		if (*p < '1' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9' && k < 100000000)
			k = k * 10 + (unsigned long)(*p++ - '0');
	}
	if (*p != '.')
		return 0;
	*key_r = mm_maildir_key(hash, (unsigned)k);
	return 1;
}

int mm_maildir_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 70 || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '/' || s[i] == ':' ||
		    s[i] == ',')
			return 0;
	return 1;
}

uint64_t mm_maildir_plain_key(const char *base, size_t len)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)base[i]) * UINT64_C(1099511628211);
	/* keep plain names' keys apart from the H form's hashes */
	return h ^ UINT64_C(0x5bd1e9955bd1e995);
}

void mm_maildir_any_key(const char *name, uint64_t *key_r)
{
	const char *colon;

	if (mm_maildir_name_key(name, key_r))
		return;
	colon = strchr(name, ':');
	*key_r = mm_maildir_plain_key(name, colon ? (size_t)(colon - name)
						  : strlen(name));
}

DIR *mm_maildir_opendir(int dirfd)
{
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	rewinddir(d); /* a dup()ed descriptor shares its position */
	return d;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct mm_maildir_entry *x = a, *y = b;

	return x->key < y->key ? -1 : x->key > y->key;
}

/* Append dir's names of ours to list (growing entries and arena). */
static int list_dir(int dirfd, const char *prefix, struct mm_maildir_list *l,
		    size_t *cap, size_t *alen, size_t *acap)
{
	DIR *d = mm_maildir_opendir(dirfd);
	struct dirent *de;
	uint64_t key;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t need = strlen(prefix) + strlen(de->d_name) + 1;

		if (de->d_name[0] == '.')
			continue;
		mm_maildir_any_key(de->d_name, &key);
		if (l->len == *cap) {
			size_t n = *cap ? *cap * 2 : 256;
			void *e = realloc(l->entries, n * sizeof(*l->entries));
			if (e == NULL)
				goto nomem;
			l->entries = e;
			*cap = n;
		}
		if (*alen + need > *acap) {
			size_t n = (*acap + need) * 2;
			char *a = realloc(l->arena, n);
			if (a == NULL)
				goto nomem;
			l->arena = a;
			*acap = n;
		}
		snprintf(l->arena + *alen, need, "%s%s", prefix, de->d_name);
		l->entries[l->len].key = key;
		/* an offset for now: the arena may still move */
		l->entries[l->len].name = (char *)(uintptr_t)*alen;
		l->len++;
		*alen += need;
	}
	closedir(d);
	return 0;
nomem:
	closedir(d);
	errno = ENOMEM;
	return -1;
}

int mm_maildir_list(struct mm_maildir *md, struct mm_maildir_list *list_r,
		    struct mm_err *err_r)
{
	size_t cap = 0, alen = 0, acap = 0;

	memset(list_r, 0, sizeof(*list_r));
	if (list_dir(md->newfd, "new/", list_r, &cap, &alen, &acap) < 0 ||
	    list_dir(md->curfd, "cur/", list_r, &cap, &alen, &acap) < 0) {
		int e = errno;
		mm_maildir_list_free(list_r);
		return mm_err_set(err_r, MM_E_IO, e, 0, 0,
				  "cannot list the Maildir: %s", strerror(e));
	}
	for (size_t i = 0; i < list_r->len; i++)
		list_r->entries[i].name = list_r->arena +
					  (uintptr_t)list_r->entries[i].name;
	/* an empty Maildir has no entries array: qsort(NULL, 0) is UB */
	if (list_r->len > 1 &&
	    mm_sort_by_key(list_r->entries, list_r->len,
			   sizeof(*list_r->entries),
			   offsetof(struct mm_maildir_entry, key)) < 0)
		qsort(list_r->entries, list_r->len, sizeof(*list_r->entries),
		      cmp_entry); /* no memory for the fast one */
	return 0;
}

const struct mm_maildir_entry *
mm_maildir_list_find(const struct mm_maildir_list *list, uint64_t key)
{
	struct mm_maildir_entry probe = { key, NULL };

	if (list->len == 0)
		return NULL;
	return bsearch(&probe, list->entries, list->len,
		       sizeof(*list->entries), cmp_entry);
}

void mm_maildir_list_free(struct mm_maildir_list *list)
{
	free(list->entries);
	free(list->arena);
	memset(list, 0, sizeof(*list));
}
