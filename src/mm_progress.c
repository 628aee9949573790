/* mm_progress.c - the progress line of one mailbox (mm_progress.h). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mm_progress.h"

static void now(struct timespec *t)
{
#ifdef CLOCK_MONOTONIC_COARSE
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, t) == 0)
		return;
#endif
	clock_gettime(CLOCK_MONOTONIC, t);
}

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void later(struct timespec *t, long ms)
{
	t->tv_nsec += ms * 1000000L;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

void mm_progress_init(struct mm_progress *p, int fd, uint64_t total,
		      const char *name)
{
	size_t o = 0;

	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->total = total;
	now(&p->t0);
	p->next = p->t0;
	later(&p->next, MM_PROGRESS_MS);
	/* a name holding an escape must not reach the terminal */
	for (const unsigned char *s = (const unsigned char *)(name ? name : "");
	     *s && o + 5 < sizeof(p->name); s++) {
		if (*s >= 0x20 && *s < 0x7f)
			p->name[o++] = (char)*s;
		else
			o += (size_t)snprintf(p->name + o, sizeof(p->name) - o,
					      "\\x%02x", *s);
	}
	p->name[o] = '\0';
}

void mm_progress_tick(struct mm_progress *p, uint64_t done,
		      unsigned long messages)
{
	struct timespec t;
	char line[256];
	double el, rate;
	int n;

	if (p->fd < 0)
		return;
	now(&t);
	if (t.tv_sec < p->next.tv_sec ||
	    (t.tv_sec == p->next.tv_sec && t.tv_nsec < p->next.tv_nsec))
		return;
	p->next = t;
	later(&p->next, MM_PROGRESS_MS);
	el = secs(&p->t0, &t);
	rate = el > 0 ? (double)done / el : 0;
	if (p->total > 0) {
		uint64_t left = p->total > done ? p->total - done : 0;
		long eta = rate > 0 ? (long)((double)left / rate) : 0;

		n = snprintf(line, sizeof(line), "\r\033[K%s: %.1f of %.1f MB "
			     "(%d%%), %lu messages, %.1f MB/s, ETA %ld:%02ld",
			     p->name, (double)done / 1e6, (double)p->total / 1e6,
			     (int)(100.0 * (double)done / (double)p->total),
			     messages, rate / 1e6, eta / 60, eta % 60);
	} else {
		n = snprintf(line, sizeof(line), "\r\033[K%s: %.1f MB, %lu "
			     "messages, %.1f MB/s", p->name, (double)done / 1e6,
			     messages, rate / 1e6);
	}
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	/* a terminal that does not take it is not worth an error */
	if (n > 0 && write(p->fd, line, (size_t)n) == n)
		p->shown = 1;
}

void mm_progress_end(struct mm_progress *p)
{
	if (p->fd >= 0 && p->shown && write(p->fd, "\r\033[K", 4) < 0)
		p->shown = 0;
	p->shown = 0;
}
