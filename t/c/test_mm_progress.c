/* test_mm_progress.c - the progress line (mm_progress.h): nothing before
 * MM_PROGRESS_MS have passed, then one line with the total and an ETA
 * (or without, for an unknown total), a name's escapes shown as \xNN,
 * the line erased at the end, nothing at all for fd < 0. */
#include <fcntl.h>
#include <time.h>

#include "mm_test.h"
#include "mm_progress.h"

/* What the pipe holds now (non-blocking), as a string. */
static const char *drain(int fd, char *buf, size_t len)
{
	ssize_t n = read(fd, buf, len - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void nap_past_interval(void)
{
	struct timespec t = { 0, (MM_PROGRESS_MS + 30) * 1000000L };

	nanosleep(&t, NULL);
}

int main(void)
{
	struct mm_progress p;
	char buf[512];
	int pfd[2];

	if (pipe(pfd) != 0 || fcntl(pfd[0], F_SETFL, O_NONBLOCK) != 0)
		return 1;

	mm_progress_init(&p, pfd[1], 4000000, "/spool/a\033[2Jb");
	check(strcmp(p.name, "/spool/a\\x1b[2Jb") == 0, "escape shown as \\x1b", p.name);
	mm_progress_tick(&p, 1000, 1);
	check(*drain(pfd[0], buf, sizeof(buf)) == '\0', "nothing before the interval", buf);
	nap_past_interval();
	mm_progress_tick(&p, 1000000, 10);
	drain(pfd[0], buf, sizeof(buf));
	check(strncmp(buf, "\r\033[K/spool/a\\x1b[2Jb: 1.0 of 4.0 MB (25%), 10 messages, ", 53) == 0,
	      "the line: bytes of the total, messages", buf);
	check(strstr(buf, " MB/s, ETA ") != NULL, "rate and ETA", buf);
	check(strchr(buf, '\n') == NULL, "no newline: rewritten in place", buf);
	mm_progress_tick(&p, 2000000, 20);
	check(*drain(pfd[0], buf, sizeof(buf)) == '\0', "not again at once", buf);
	mm_progress_end(&p);
	check(strcmp(drain(pfd[0], buf, sizeof(buf)), "\r\033[K") == 0, "erased at the end", buf);

	/* an unknown total (a pipe): no total, no ETA */
	mm_progress_init(&p, pfd[1], 0, "stdin");
	nap_past_interval();
	mm_progress_tick(&p, 3500000, 7);
	drain(pfd[0], buf, sizeof(buf));
	check(strncmp(buf, "\r\033[Kstdin: 3.5 MB, 7 messages, ", 30) == 0, "unknown total", buf);
	check(strstr(buf, "ETA") == NULL, "no ETA", buf);
	mm_progress_end(&p);
	drain(pfd[0], buf, sizeof(buf));

	/* a name longer than the line's room is cut, never overflows */
	memset(buf, 'n', 300);
	buf[300] = '\0';
	mm_progress_init(&p, pfd[1], 0, buf);
	check(strlen(p.name) < sizeof(p.name), "a long name cut", p.name);

	/* fd < 0: nothing, ever */
	mm_progress_init(&p, -1, 10, "x");
	nap_past_interval();
	mm_progress_tick(&p, 5, 1);
	mm_progress_end(&p);
	check(*drain(pfd[0], buf, sizeof(buf)) == '\0', "fd < 0 writes nothing", buf);

	return test_summary();
}
