/* mm_lock.c - fcntl and dot locking of a spool file being read. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mm_lock.h"

static void nap(void)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

int mm_lock_fcntl(int fd, int timeout, struct mm_err *err_r)
{
	struct flock fl;
	time_t until = time(NULL) + timeout;

	for (;;) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_RDLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == 0)
			return 0;
		if (errno != EACCES && errno != EAGAIN && errno != EINTR)
			return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
					  "cannot lock: %s", strerror(errno));
		if (time(NULL) >= until) {
			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_RDLCK;
			fl.l_whence = SEEK_SET;
			if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
				return mm_err_set(err_r, MM_E_IO, EAGAIN, 0, 0,
						  "locked by process %ld for more "
						  "than %d s", (long)fl.l_pid,
						  timeout);
			return mm_err_set(err_r, MM_E_IO, EAGAIN, 0, 0,
					  "still locked after %d s", timeout);
		}
		nap();
	}
}

/* Lock files written with the holder's pid (ours, liblockfile's) can be
 * known stale at once when that process is gone. */
static int holder_dead(const char *lock)
{
	char buf[32];
	long pid;
	char *end;
	int fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	if (pid <= 0 || (*end != '\n' && *end != '\0'))
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int mm_lock_dotlock(const char *path, int timeout, int stale,
		    unsigned long long *dev_r, unsigned long long *ino_r,
		    struct mm_err *err_r)
{
	char lock[4096];
	time_t until = time(NULL) + timeout;
	struct stat st;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock))
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0, "path too long");
	for (;;) {
		int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC, 0600);
		if (fd >= 0) {
			char pid[32];
			int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
			int ok = write(fd, pid, (size_t)n) == n &&
				 fstat(fd, &st) == 0;
			close(fd);
			if (!ok) {
				unlink(lock);
				return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
						  "cannot stat %s: %s", lock,
						  strerror(errno));
			}
			*dev_r = (unsigned long long)st.st_dev;
			*ino_r = (unsigned long long)st.st_ino;
			return 0;
		}
		if (errno != EEXIST)
			return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
					  "cannot create %s: %s", lock,
					  strerror(errno));
		if (lstat(lock, &st) == 0 && S_ISREG(st.st_mode) &&
		    (time(NULL) - st.st_mtime > stale || holder_dead(lock))) {
			unlink(lock); /* left by a process that died */
			continue;
		}
		if (time(NULL) >= until)
			return mm_err_set(err_r, MM_E_IO, EAGAIN, 0, 0,
					  "%s exists for more than %d s", lock,
					  timeout);
		nap();
	}
}

void mm_lock_dotlock_release(const char *path, unsigned long long dev,
			     unsigned long long ino)
{
	char lock[4096];
	struct stat st;

	if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int)sizeof(lock))
		return;
	if (lstat(lock, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino)
		unlink(lock);
}
