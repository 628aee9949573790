/* ceiling.c - the fastest thing that writes the same Maildir: mmap the
 * mbox, split it at From_ lines (a blank line, "From ", a line ending in
 * a year), write each message through tmp/ and rename it into new/. No
 * unquoting, no flags, no other checks: the floor of the work, for the
 * benchmark to compare against.
 *
 *   ceiling nosync|batch MBOX MAILDIR
 * batch: syncfs() every 256 messages before renaming them (the kernel
 * work of our default durable mode, done in line, not in a thread).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH 256

static int tmpfd, newfd;
static char names[BATCH][32];
static int npend;

static void flush(int sync)
{
	if (sync && npend && syncfs(tmpfd) < 0)
		perror("syncfs"), exit(1);
	for (int i = 0; i < npend; i++)
		if (renameat(tmpfd, names[i], newfd, names[i]) < 0)
			perror("rename"), exit(1);
	if (sync && npend)
		fsync(newfd);
	npend = 0;
}

/* The least check that tells a From_ line from a body line starting
 * with "From ": it ends with a ctime year. */
static int from_line(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	const char *e = nl ? nl : end;

	if (e > p && e[-1] == '\r')
		e--;
	return e - p > 10 && e[-5] == ' ' && (e[-4] == '1' || e[-4] == '2') &&
	       e[-3] >= '0' && e[-3] <= '9' && e[-2] >= '0' && e[-2] <= '9' &&
	       e[-1] >= '0' && e[-1] <= '9';
}

int main(int argc, char **argv)
{
	struct stat st;
	int fd, sync;
	const char *p, *end, *msg;
	long n = 0;

	if (argc != 4)
		return fprintf(stderr, "usage: ceiling nosync|batch MBOX MAILDIR\n"), 2;
	sync = strcmp(argv[1], "batch") == 0;
	fd = open(argv[2], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		return perror(argv[2]), 1;
	mkdir(argv[3], 0700);
	int dfd = open(argv[3], O_RDONLY | O_DIRECTORY);
	mkdirat(dfd, "tmp", 0700);
	mkdirat(dfd, "new", 0700);
	mkdirat(dfd, "cur", 0700);
	tmpfd = openat(dfd, "tmp", O_RDONLY | O_DIRECTORY);
	newfd = openat(dfd, "new", O_RDONLY | O_DIRECTORY);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return perror("mmap"), 1;
	end = p + st.st_size;
	madvise((void *)p, (size_t)st.st_size, MADV_SEQUENTIAL);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		msg = nl ? nl + 1 : end;          /* skip the From_ line */
		const char *q = msg, *next = end;
		while (q < end) {
			const char *f = memmem(q, (size_t)(end - q), "\n\nFrom ", 7);
			if (!f)
				break;
			if (from_line(f + 2, end)) {
				next = f + 2;
				break;
			}
			q = f + 2;
		}
		size_t len = (size_t)(next - msg);
		if (next != end)
			len -= 1;                /* the separator line */
		snprintf(names[npend], sizeof(names[0]), "%ld.ceiling", n++);
		int out = openat(tmpfd, names[npend], O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (out < 0 || write(out, msg, len) != (ssize_t)len)
			perror("write"), exit(1);
		close(out);
		if (++npend == BATCH || !sync)
			flush(sync);
		p = next;
	}
	flush(sync);
	printf("%ld messages\n", n);
	return 0;
}
