/* mm_spill.h - the part of a pipe that must be looked at ahead of time.
 *
 * A Content-Length is trusted only when it lands on a From_ line or the
 * end of the input. In a file the landing is checked with pread(); on a
 * pipe it can be checked in the reader's window only when it is near.
 * For a farther one the reader copies the stream, from its window on, to
 * an unlinked temporary file as far as the landing (or the end of the
 * input), checks the landing there with pread(), then reads on from that
 * file and, once it is used up (the file is closed, its disk space freed),
 * from the pipe again. So a pipe splits exactly as the same bytes given
 * by path would, in bounded memory, at the price of disk space for the
 * bytes between the window and the landing.
 *
 * The file is made with O_TMPFILE (no name ever exists), else mkstemp()
 * and an immediate unlink(), mode 0600, in $TMPDIR or /tmp.
 */
#ifndef MM_SPILL_H
#define MM_SPILL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mm_err.h"

/* Zero it to start: no file. */
struct mm_spill {
	int open;            /* the file exists */
	int fd;
	uint64_t base, end;  /* stream offsets it holds: [base, end) */
	int src_eof;         /* the pipe has no more bytes after end */
	uint64_t written;    /* bytes written to spill files, in all */
	uint64_t peak;       /* largest file, in bytes */
};

/* Read the stream at offset off (the stream's next unread offset: the
 * reader never skips or goes back) into buf: from the file while it
 * holds off, else from src_fd (the file, used up, is closed first).
 * Like read(): bytes read, 0 at the end of the stream, -1 with errno. */
ssize_t mm_spill_read(struct mm_spill *sp, int src_fd, uint64_t off,
		      char *buf, size_t n);

/* Make the file hold the stream up to offset upto (or to its end, if it
 * ends before). When no file is open one is made and given the bytes the
 * reader already has, have (hlen bytes from offset hoff, ending at the
 * stream's next unread offset). msgno/offset name the message in
 * err_r. 0, or -1 (err_r: cannot create or write the file, or read the
 * pipe). */
int mm_spill_ensure(struct mm_spill *sp, int src_fd, const char *have,
		    size_t hlen, uint64_t hoff, uint64_t upto,
		    unsigned long msgno, uint64_t offset, struct mm_err *err_r);

/* pread() from the file at stream offset off (>= sp->base): bytes read,
 * fewer than n only at the end of the stream; -1 with errno. */
ssize_t mm_spill_pread(const struct mm_spill *sp, char *buf, size_t n,
		       uint64_t off);

/* Close the file, if open. written and peak stay. */
void mm_spill_close(struct mm_spill *sp);

#endif
