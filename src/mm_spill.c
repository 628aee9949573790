/* mm_spill.c - the part of a pipe that must be looked at ahead of time. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_spill.h"

#define SPILL_CHUNK (64 * 1024)

static const char *spill_dir(void)
{
	const char *d = getenv("TMPDIR");

	return d != NULL && d[0] != '\0' ? d : "/tmp";
}

/* An unnamed file in dir, 0600: O_TMPFILE where the file system has it,
 * else a mkstemp() name removed at once. -1 with errno. */
static int spill_create(const char *dir)
{
	char path[PATH_MAX];
	int fd;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return -1;
#endif
	if (snprintf(path, sizeof(path), "%s/mm-spill-XXXXXX", dir) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC); /* O_EXCL, mode 0600 */
	if (fd < 0)
		return -1;
	if (unlink(path) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int put(struct mm_spill *sp, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = pwrite(sp->fd, p, n, (off_t)(sp->end - sp->base));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		sp->end += (uint64_t)w;
		sp->written += (uint64_t)w;
	}
	if (sp->end - sp->base > sp->peak)
		sp->peak = sp->end - sp->base;
	return 0;
}

ssize_t mm_spill_read(struct mm_spill *sp, int src_fd, uint64_t off,
		      char *buf, size_t n)
{
	if (sp->open && off < sp->end) {
		if (n > sp->end - off)
			n = (size_t)(sp->end - off);
		return mm_spill_pread(sp, buf, n, off);
	}
	if (sp->open)
		mm_spill_close(sp); /* used up: its disk space goes back */
	if (sp->src_eof)
		return 0;
	return read(src_fd, buf, n);
}

int mm_spill_ensure(struct mm_spill *sp, int src_fd, const char *have,
		    size_t hlen, uint64_t hoff, uint64_t upto,
		    unsigned long msgno, uint64_t offset, struct mm_err *err_r)
{
	const char *dir = spill_dir();
	char chunk[SPILL_CHUNK];

	if (!sp->open) {
		sp->fd = spill_create(dir);
		if (sp->fd < 0)
			return mm_err_set(err_r, MM_E_IO, errno, msgno, offset,
					  "cannot create a temporary file in %.100s "
					  "to check where Content-Length lands on "
					  "this pipe: %s", dir, strerror(errno));
		sp->open = 1;
		sp->base = sp->end = hoff;
		if (put(sp, have, hlen) < 0)
			goto write_failed;
	}
	while (sp->end < upto && !sp->src_eof) {
		uint64_t want = upto - sp->end;
		ssize_t n = read(src_fd, chunk, want < sizeof(chunk)
						? (size_t)want : sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return mm_err_set(err_r, MM_E_IO, errno, msgno, sp->end,
					  "read failed: %s", strerror(errno));
		if (n == 0)
			sp->src_eof = 1;
		else if (put(sp, chunk, (size_t)n) < 0)
			goto write_failed;
	}
	return 0;
write_failed:
	return mm_err_set(err_r, MM_E_IO, errno, msgno, offset,
			  "cannot write the temporary file in %.100s that checks "
			  "where Content-Length lands on this pipe (%llu bytes "
			  "written): %s", dir,
			  (unsigned long long)(sp->end - sp->base), strerror(errno));
}

ssize_t mm_spill_pread(const struct mm_spill *sp, char *buf, size_t n,
		       uint64_t off)
{
	size_t got = 0;

	if (off >= sp->end)
		return 0;
	if (n > sp->end - off)
		n = (size_t)(sp->end - off);
	while (got < n) {
		ssize_t r = pread(sp->fd, buf + got, n - got,
				  (off_t)(off + got - sp->base));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break; /* cannot happen: the file is ours */
		got += (size_t)r;
	}
	return (ssize_t)got;
}

void mm_spill_close(struct mm_spill *sp)
{
	if (sp->open)
		close(sp->fd);
	sp->open = 0;
	sp->fd = -1;
}
