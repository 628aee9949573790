/* floor.c - the durable work of a batch alone, nothing else: N files of
 * SIZE bytes, each created as an O_TMPFILE of DIR/tmp, written and given
 * an mtime (futimens), kept open; every 256, made durable and linked
 * into DIR/new (linkat AT_EMPTY_PATH, as root, or /proc/self/fd/N) and
 * closed; new/ fsynced at the end. What mbox2vpopmail's default mode
 * does on ext4, without the mbox: its floor (bench/RESULTS.md).
 *
 *   floor nosync|syncfs|syncfs-dirs|files DIR N SIZE
 * nosync: no sync at all (the same work without durability); syncfs:
 * one syncfs() per batch; syncfs-dirs: and an fsync of new/ after each
 * batch's links; files: an fsync of each file instead of syncfs().
 * Prints the seconds spent in the syncs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int link_fd(int fd, int dirfd, const char *name)
{
	char proc[32];

	if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW);
}

int main(int argc, char **argv)
{
	const char *mode;
	int fds[BATCH], np = 0, d, tmpfd, newfd, n;
	size_t size;
	char *buf;
	double in_sync = 0;

	if (argc != 5)
		return fprintf(stderr, "usage: floor nosync|syncfs|syncfs-dirs|files DIR N SIZE\n"), 2;
	mode = argv[1];
	n = atoi(argv[3]);
	size = (size_t)atol(argv[4]);
	if ((buf = malloc(size ? size : 1)) == NULL)
		return perror("malloc"), 1;
	memset(buf, 'x', size);
	mkdir(argv[2], 0700);
	if ((d = open(argv[2], O_RDONLY | O_DIRECTORY)) < 0)
		return perror(argv[2]), 1;
	mkdirat(d, "tmp", 0700);
	mkdirat(d, "new", 0700);
	tmpfd = openat(d, "tmp", O_RDONLY | O_DIRECTORY);
	newfd = openat(d, "new", O_RDONLY | O_DIRECTORY);
	for (int i = 0; i <= n; i++) {
		if (np == BATCH || (i == n && np > 0)) {
			double t0 = now();

			if (!strcmp(mode, "files")) {
				for (int j = 0; j < np; j++)
					if (fsync(fds[j]) < 0)
						return perror("fsync"), 1;
			} else if (strcmp(mode, "nosync") && syncfs(tmpfd) < 0) {
				return perror("syncfs"), 1;
			}
			in_sync += now() - t0;
			for (int j = 0; j < np; j++) {
				char name[32];

				snprintf(name, sizeof(name), "%d.floor", i - np + j);
				if (link_fd(fds[j], newfd, name) < 0)
					return perror("linkat"), 1;
				close(fds[j]);
			}
			if (!strcmp(mode, "syncfs-dirs"))
				fsync(newfd);
			np = 0;
		}
		if (i == n)
			break;
		int fd = openat(tmpfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
		struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

		if (fd < 0 || write(fd, buf, size) != (ssize_t)size ||
		    futimens(fd, ts) < 0)
			return perror("create"), 1;
		fds[np++] = fd;
	}
	if (strcmp(mode, "nosync") && fsync(newfd) < 0)
		return perror("fsync new/"), 1;
	printf("%.3f s in syncs\n", in_sync);
	return 0;
}
