/* fuzz_mbox.c - libFuzzer harness for the mbox reader.
 *
 * The first byte chooses the variant, keep_headers and whether the input
 * comes from a pipe or a regular (memfd) file; the rest is the mbox. Every
 * message is read in chunks and a few invariants are checked: no chunk is
 * empty, output never exceeds input, offsets only grow.
 *
 *   make fuzz FUZZ_SECONDS=60      (from the top directory)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mm_mbox.h"

static int input_fd(const uint8_t *data, size_t size, int use_pipe)
{
	int fds[2];

	/* A pipe holds 64 KiB without a reader; larger inputs use a file. */
	if (use_pipe && size <= 65536 && pipe(fds) == 0) {
		if (size > 0 && write(fds[1], data, size) != (ssize_t)size)
			abort();
		close(fds[1]);
		return fds[0];
	}
	int fd = memfd_create("fuzz", 0);
	if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t)size) ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_mbox_opts opts;
	struct mm_err err;
	const struct mm_msg *msg;
	uint64_t total = 0, last_off = 0;
	int fd, r;

	if (size < 1)
		return 0;
	memset(&opts, 0, sizeof(opts));
	opts.format = (enum mm_format)(data[0] % 6);
	opts.keep_headers = (data[0] >> 3) & 1;
	opts.buf_max = 64 * 1024;
	fd = input_fd(data + 1, size - 1, (data[0] >> 4) & 1);

	struct mm_mbox *mb = mm_mbox_new(fd, &opts, &err);
	if (mb == NULL)
		abort();
	while ((r = mm_mbox_next(mb, &msg, &err)) > 0) {
		const char *chunk;
		size_t len;

		if (msg->offset < last_off || msg->offset > size - 1)
			abort();
		last_off = msg->offset;
		while ((r = mm_mbox_read(mb, &chunk, &len, &err)) > 0) {
			if (len == 0)
				abort();
			total += len;
		}
		if (r < 0 || !msg->complete || msg->end_offset > size - 1)
			abort();
		while (mm_mbox_warning(mb, &err))
			;
	}
	if (r < 0 || total > size - 1)
		abort();
	mm_mbox_free(mb);
	close(fd);
	return 0;
}
