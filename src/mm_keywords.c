/* mm_keywords.c - IMAP keywords into Dovecot's and Courier's stores. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_fs.h"
#include "mm_keywords.h"

#define KW_FILE "dovecot-keywords"
#define KW_NAME_MAX 128

/* An IMAP atom (RFC 3501): no space, control, ( ) { % * " \ ], nor a
 * system flag's leading backslash. */
static int atom_ok(const char *s, size_t n)
{
	if (n == 0 || n > KW_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || strchr("(){%*\"\\]", c))
			return 0;
	}
	return 1;
}

static int add_name(struct mm_keywords *k, const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d == NULL)
		return -1;
	memcpy(d, s, n);
	d[n] = '\0';
	k->names[k->n++] = d;
	return 0;
}

int mm_keywords_init(struct mm_keywords *k, int dfd, struct mm_err *err_r)
{
	char *buf, *p, *nl;
	size_t len;

	memset(k, 0, sizeof(*k));
	if (mm_fs_read_at(dfd, KW_FILE, 64 * 1024, &buf, &len, err_r) < 0)
		return -1;
	if (buf == NULL)
		return 0;
	/* "<index> <name>" lines; an index is the letter 'a' + index */
	for (p = buf; *p; p = nl ? nl + 1 : p + strlen(p)) {
		char *end;
		long idx;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (*p == '\0')
			continue;
		idx = strtol(p, &end, 10);
		if (end == p || *end != ' ' || idx < 0 || idx >= MM_KW_LETTERS ||
		    (size_t)idx != k->n || !atom_ok(end + 1, strlen(end + 1))) {
			mm_err_set(err_r, MM_E_FORMAT, 0, 0, 0,
				   "%s: line '%.60s' is not '<index> <keyword>' "
				   "in order: left alone, no keyword carried",
				   KW_FILE, p);
			free(buf);
			mm_keywords_free(k);
			return -1;
		}
		if (add_name(k, end + 1, strlen(end + 1)) < 0) {
			free(buf);
			return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0,
					  "out of memory");
		}
	}
	free(buf);
	return 0;
}

static int find(const struct mm_keywords *k, const char *s, size_t n)
{
	for (size_t i = 0; i < k->n; i++)
		if (strlen(k->names[i]) == n && memcmp(k->names[i], s, n) == 0)
			return (int)i;
	return -1;
}

int mm_keywords_letters(struct mm_keywords *k, const char *kw, char *out,
			unsigned *dropped_r)
{
	unsigned have = 0, dropped = 0; /* bit per letter */
	const char *p = kw;
	int n = 0;

	while (*p) {
		size_t len;
		int i;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		len = strcspn(p, " ,\t");
		if (len == 0)
			break;
		i = find(k, p, len);
		if (i < 0 && atom_ok(p, len) && k->n < MM_KW_LETTERS) {
			if (add_name(k, p, len) < 0)
				return -1;
			k->added = 1;
			i = (int)k->n - 1;
		}
		if (i < 0)
			dropped++;
		else if (!(have & (1u << i))) {
			have |= 1u << i;
			k->kept++;
		}
		p += len;
	}
	for (int i = 0; i < MM_KW_LETTERS; i++)
		if (have & (1u << i))
			out[n++] = (char)('a' + i);
	out[n] = '\0';
	k->dropped += dropped;
	if (n > 0)
		k->messages++;
	if (dropped_r)
		*dropped_r = dropped;
	return n;
}

int mm_keywords_write_dovecot(struct mm_keywords *k, int dfd,
			      struct mm_err *err_r)
{
	struct mm_fs_owner own;
	char *buf;
	size_t len = 0, cap = 16;
	int r;

	if (!k->added)
		return 0;
	for (size_t i = 0; i < k->n; i++)
		cap += strlen(k->names[i]) + 8;
	if ((buf = malloc(cap)) == NULL)
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
	for (size_t i = 0; i < k->n; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%zu %s\n", i,
					k->names[i]);
	mm_fs_owner_of(dfd, &own);
	r = mm_fs_replace_at(dfd, KW_FILE, buf, len, &own, err_r);
	free(buf);
	if (r < 0)
		return -1;
	k->added = 0;
	return 1;
}

int mm_keywords_write_courier(const struct mm_keywords *k, int dfd,
			      const char *base, size_t baselen,
			      const char *letters, struct mm_err *err_r)
{
	struct mm_fs_owner own;
	struct stat st;
	char name[256], *buf;
	size_t len = 0, cap = 1;
	int kfd, fd, created;

	if (*letters == '\0')
		return 0;
	if (baselen + 1 > sizeof(name))
		return 0;
	memcpy(name, base, baselen);
	name[baselen] = '\0';
	mm_fs_owner_of(dfd, &own);
	kfd = mm_fs_mkdir_at(dfd, "courierimapkeywords", 0700, &own, &created,
			     err_r);
	if (kfd < 0)
		return -1;
	/* Courier keeps them itself once it made its :list */
	if (fstatat(kfd, ":list", &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT) {
		close(kfd);
		return 0;
	}
	for (const char *l = letters; *l; l++)
		cap += strlen(k->names[*l - 'a']) + 1;
	if ((buf = malloc(cap)) == NULL) {
		close(kfd);
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0, "out of memory");
	}
	for (const char *l = letters; *l; l++)
		len += (size_t)snprintf(buf + len, cap - len, "%s\n",
					k->names[*l - 'a']);
	fd = mm_fs_create_at(kfd, name, 0600, 0, &own, err_r);
	if (fd < 0) {
		free(buf);
		close(kfd);
		if (err_r && err_r->sys_errno == EEXIST)
			return 0; /* there already: its own */
		return -1;
	}
	if (mm_fs_write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		int e = errno;

		close(fd);
		unlinkat(kfd, name, 0);
		free(buf);
		close(kfd);
		return mm_err_set(err_r, MM_E_IO, e, 0, 0,
				  "cannot write courierimapkeywords/%s: %s", name,
				  strerror(e));
	}
	close(fd);
	free(buf);
	fsync(kfd);
	close(kfd);
	return 1;
}

void mm_keywords_free(struct mm_keywords *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->names[i]);
	k->n = 0;
}
