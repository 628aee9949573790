/* shim_fail_sync.c - an LD_PRELOAD library for t/270_durability.t: a
 * disk that stops syncing. Test code only; built by the test.
 *
 *   MM_SHIM_FAIL=syncfs|fsync|fdatasync  the call that fails
 *   MM_SHIM_AFTER=N            it succeeds N times, then every later call
 *                              fails with EIO (a dead disk stays dead)
 *   MM_SHIM_LOG=PATH           one line per file a successful fsync,
 *                              fdatasync or syncfs made durable:
 *                              "synced <path> <size> <dev>:<ino>" (for
 *                              syncfs, each file in the directory it was
 *                              given, tmp/, and each regular file of
 *                              that file system this process holds open:
 *                              the unnamed O_TMPFILEs of a batch)
 *
 * The test compares what is visible in new/ and cur/ afterwards with
 * what this log says was durable, by inode: a file keeps its inode when
 * it is renamed from tmp/ or linked from an O_TMPFILE.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long calls;

/* Lines "synced <path> <size>\n", gathered before a sync and written to
 * the log only when it succeeded. */
struct lines {
	char *buf;
	size_t len, cap;
};

static void add_line(struct lines *l, const char *path, const struct stat *st)
{
	char line[4096 + 256 + 96];
	int len = snprintf(line, sizeof(line), "synced %s %lld %llu:%llu\n",
			   path, (long long)st->st_size,
			   (unsigned long long)st->st_dev,
			   (unsigned long long)st->st_ino);

	if (len <= 0 || len >= (int)sizeof(line))
		return;
	if (l->len + (size_t)len > l->cap) {
		size_t cap = (l->cap + (size_t)len) * 2;
		char *b = realloc(l->buf, cap);

		if (b == NULL)
			return;
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->len, line, (size_t)len);
	l->len += (size_t)len;
}

static void write_lines(struct lines *l)
{
	const char *log = getenv("MM_SHIM_LOG");
	int fd;

	if (log != NULL && l->len > 0 &&
	    (fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		       0600)) >= 0) {
		/* one write of an O_APPEND file: two threads never mix */
		if (write(fd, l->buf, l->len) != (ssize_t)l->len)
			errno = EIO;
		close(fd);
	}
	free(l->buf);
}

static int fd_path(int fd, char *buf, size_t sz)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, sz - 1);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* What a sync of fd, if it succeeds, makes durable: the file's bytes
 * now, or (syncfs) those of every file in the directory now and of
 * every regular file of its file system open here. Taken before the
 * sync, so that nothing written after it counts. */
static void will_sync(int fd, int whole_fs, struct lines *l)
{
	char path[4096], file[4096 + 256 + 2];
	struct stat st, fst;
	struct dirent *de;
	dev_t dev;
	DIR *d;

	if (fd_path(fd, path, sizeof(path)) < 0 || fstat(fd, &st) < 0)
		return;
	if (!whole_fs || !S_ISDIR(st.st_mode)) {
		add_line(l, path, &st);
		return;
	}
	dev = st.st_dev;
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
			if (de->d_name[0] != '.' && stat(file, &fst) == 0)
				add_line(l, file, &fst);
		}
		closedir(d);
	}
	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		int n = atoi(de->d_name);

		if (de->d_name[0] != '.' && n != dirfd(d) &&
		    fstat(n, &fst) == 0 && S_ISREG(fst.st_mode) &&
		    fst.st_dev == dev && fd_path(n, file, sizeof(file)) == 0)
			add_line(l, file, &fst);
	}
	closedir(d);
}

/* 0: let the real call happen; -1: fail it with EIO. */
static int must_fail(const char *which)
{
	const char *fail = getenv("MM_SHIM_FAIL");
	const char *after = getenv("MM_SHIM_AFTER");

	if (fail == NULL || strcmp(fail, which) != 0)
		return 0;
	if (__atomic_fetch_add(&calls, 1, __ATOMIC_SEQ_CST) <
	    strtoul(after ? after : "0", NULL, 10))
		return 0;
	errno = EIO;
	return -1;
}

static int sync_call(const char *which, int fd, int whole_fs)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, which);
	struct lines l = { NULL, 0, 0 };
	int r, e;

	if (must_fail(which) < 0)
		return -1;
	will_sync(fd, whole_fs, &l);
	r = real(fd);
	e = errno;
	if (r == 0)
		write_lines(&l);
	else
		free(l.buf);
	errno = e;
	return r;
}

int fsync(int fd)
{
	return sync_call("fsync", fd, 0);
}

int fdatasync(int fd)
{
	return sync_call("fdatasync", fd, 0);
}

int syncfs(int fd)
{
	return sync_call("syncfs", fd, 1);
}
