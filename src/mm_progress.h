/* mm_progress.h - a progress line for a person watching one big mailbox.
 *
 * Written from the conversion loop straight to a terminal's fd: bytes
 * read of the total (when known), messages, rate, ETA, a few times a
 * second. The cost per message is one read of CLOCK_MONOTONIC_COARSE
 * (a vDSO call, no system call) and a comparison; the line itself is
 * formatted and written at most every MM_PROGRESS_MS milliseconds.
 */
#ifndef MM_PROGRESS_H
#define MM_PROGRESS_H

#include <stdint.h>
#include <time.h>

#define MM_PROGRESS_MS 250

struct mm_progress {
	int fd;                /* where the line goes; < 0: nowhere */
	uint64_t total;        /* bytes to read; 0: unknown (a pipe) */
	struct timespec t0;    /* when it started */
	struct timespec next;  /* no line before this */
	int shown;             /* a line is on the terminal */
	char name[96];         /* the mailbox, printable ASCII only */
};

/* Start: fd the terminal (< 0 makes every call a no-op), total the
 * bytes of the mbox from where it is read (0 if unknown), name the
 * mailbox (bytes outside printable ASCII shown as \xNN, cut to fit). */
void mm_progress_init(struct mm_progress *p, int fd, uint64_t total,
		      const char *name);

/* After a message: done bytes of the mbox read so far, messages read.
 * Writes a line only when MM_PROGRESS_MS have passed since the last. */
void mm_progress_tick(struct mm_progress *p, uint64_t done,
		      unsigned long messages);

/* The end: erases the line (the summary line follows). */
void mm_progress_end(struct mm_progress *p);

#endif
