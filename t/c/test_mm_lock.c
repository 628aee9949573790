/* test_mm_lock.c - the lock plans, the stale-dotlock rule and the signal
 * cleanup of src/mm_lock.c, on real files in a temporary directory. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mm_test.h"
#include "mm_lock.h"

static const struct {
	const char *spec;
	int ok, n, optional;
	enum mm_lock_kind k0, k1, k2;
} plans[] = {
	{ "auto", 1, 3, 1, MM_LOCK_DOTLOCK, MM_LOCK_FCNTL, MM_LOCK_FLOCK },
	{ "all", 1, 3, 0, MM_LOCK_DOTLOCK, MM_LOCK_FCNTL, MM_LOCK_FLOCK },
	{ "both", 1, 2, 0, MM_LOCK_DOTLOCK, MM_LOCK_FCNTL, 0 },
	{ "none", 1, 0, 0, 0, 0, 0 },
	{ "fcntl", 1, 1, 0, MM_LOCK_FCNTL, 0, 0 },
	{ "flock", 1, 1, 0, MM_LOCK_FLOCK, 0, 0 },
	{ "dotlock", 1, 1, 0, MM_LOCK_DOTLOCK, 0, 0 },
	{ "flock,dotlock", 1, 2, 0, MM_LOCK_FLOCK, MM_LOCK_DOTLOCK, 0 },
	{ "dotlock,fcntl,flock", 1, 3, 0, MM_LOCK_DOTLOCK, MM_LOCK_FCNTL, MM_LOCK_FLOCK },
	{ "", 0, 0, 0, 0, 0, 0 },
	{ "fcntl,", 0, 0, 0, 0, 0, 0 },
	{ "fcntl,fcntl", 0, 0, 0, 0, 0, 0 },
	{ "dotlock,auto", 0, 0, 0, 0, 0, 0 },
	{ "FCNTL", 0, 0, 0, 0, 0, 0 },
	{ "lockf", 0, 0, 0, 0, 0, 0 },
};

static char dir[] = "/tmp/test_mm_lock.XXXXXX";
static char spool[256], lockp[256];

static void put_lock(const char *content, long age)
{
	struct timespec ts[2];
	int fd;

	unlink(lockp);
	fd = open(lockp, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		abort();
	close(fd);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= age;
	ts[1] = ts[0];
	utimensat(AT_FDCWD, lockp, ts, 0);
}

/* A pid that no process has. */
static long dead_pid(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return (long)p;
}

static int try_dot(int fd, int stale, struct mm_err *err)
{
	struct mm_lock_plan plan;
	int id;

	mm_lock_plan_parse("dotlock", &plan, err);
	id = mm_lock_acquire(fd, spool, &plan, 0, stale, err);
	if (id >= 0)
		mm_lock_release(id);
	return id >= 0;
}

static void test_stale(int fd)
{
	char ours[32], buf[64];
	struct mm_err err;
	long gone = dead_pid();
	int n;

	/* table: content, age, stale, broken? */
	struct {
		const char *what;
		char content[40];
		long age;
		int broken;
	} t[] = {
		{ "empty, fresh", "", 5, 0 },
		{ "empty, older than stale", "", 400, 1 },
		{ "procmail's \"0\", fresh", "0", 5, 0 },
		{ "procmail's \"0\", old", "0", 400, 1 },
		{ "foreign dead pid, fresh", "", 5, 0 },
		{ "foreign dead pid, old", "", 400, 1 },
		{ "foreign live pid, old", "", 4000, 0 },
		{ "foreign dead pid with a host, fresh", "", 5, 0 },
		{ "ours, dead pid, fresh", "", 1, 1 },
		{ "ours, live pid", "", 5, 0 },
		{ "ours but another host's token, fresh", "", 5, 0 },
		{ "ours, its pid reused by a younger process", "", 4000, 1 },
	};
	size_t i;

	snprintf(t[4].content, sizeof(t[4].content), "%ld\n", gone);
	snprintf(t[5].content, sizeof(t[5].content), "%ld\n", gone);
	snprintf(t[6].content, sizeof(t[6].content), "%ld\n", 1L);
	snprintf(t[7].content, sizeof(t[7].content), "%ld:otherhost\n", gone);
	mm_lock_content(t[8].content, gone);
	mm_lock_content(t[9].content, 1L); /* init: alive, older than the lock */
	mm_lock_content(t[10].content, gone);
	t[10].content[strlen(t[10].content) - 2] ^= 1; /* not our token */
	mm_lock_content(t[11].content, (long)getpid());
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		put_lock(t[i].content, t[i].age);
		check(try_dot(fd, 300, &err) == t[i].broken, t[i].what,
		      t[i].content);
		if (!t[i].broken)
			check(strstr(err.text, "exists for more than 0 s") != NULL,
			      "busy lock: the error names it", err.text);
		check(access(lockp, F_OK) == (t[i].broken ? -1 : 0),
		      t[i].broken ? "broken lock and ours gone"
				  : "busy lock left alone", t[i].content);
	}
	unlink(lockp);

	/* our lock: "PID mTOKEN\n", at most 16 bytes even for a long pid */
	n = mm_lock_content(ours, 4194304L);
	check(n <= 16 && ours[n - 1] == '\n' && atoi(ours) == 4194304,
	      "our content fits procmail and liblockfile", ours);
	n = mm_lock_content(ours, 123456789L);
	check(n <= 16 && atoi(ours) == 123456789, "a 9-digit pid fits", ours);

	/* what we write while we hold it */
	{
		struct mm_lock_plan plan;
		int id, lfd;

		mm_lock_plan_parse("dotlock", &plan, &err);
		id = mm_lock_acquire(fd, spool, &plan, 0, 300, &err);
		lfd = open(lockp, O_RDONLY);
		n = lfd < 0 ? -1 : (int)read(lfd, buf, sizeof(buf) - 1);
		if (lfd >= 0)
			close(lfd);
		buf[n > 0 ? n : 0] = '\0';
		mm_lock_content(ours, (long)getpid());
		check(id >= 0 && !strcmp(buf, ours), "our dotlock holds our content", buf);
		mm_lock_release(id);
		check(access(lockp, F_OK) < 0, "released: gone", lockp);
	}

	/* a symlink or a directory is never removed */
	if (symlink("/etc/passwd", lockp) == 0) {
		check(!try_dot(fd, 0, &err), "a symlink lock blocks", err.text);
		check(strstr(err.text, "symbolic link") != NULL, "and says so", err.text);
		unlink(lockp);
	}
	if (mkdir(lockp, 0700) == 0) {
		check(!try_dot(fd, 0, &err), "a directory lock blocks", err.text);
		rmdir(lockp);
	}
}

/* flock held elsewhere: busy; a plan without flock does not see it. */
static void test_flock(void)
{
	struct mm_lock_plan plan;
	struct mm_err err;
	int other = open(spool, O_RDWR), fd = open(spool, O_RDONLY), id;

	flock(other, LOCK_EX);
	mm_lock_plan_parse("all", &plan, &err);
	id = mm_lock_acquire(fd, spool, &plan, 1, 300, &err);
	check(id < 0 && strstr(err.text, "flock") != NULL,
	      "an flock writer keeps us out", err.text);
	check(access(lockp, F_OK) < 0, "and our dotlock was let go", lockp);
	mm_lock_plan_parse("both", &plan, &err);
	id = mm_lock_acquire(fd, spool, &plan, 0, 300, &err);
	check(id >= 0, "fcntl and dotlock do not see flock", err.text);
	mm_lock_release(id);
	flock(other, LOCK_UN);
	mm_lock_plan_parse("all", &plan, &err);
	id = mm_lock_acquire(fd, spool, &plan, 0, 300, &err);
	check(id >= 0, "free again", err.text);
	mm_lock_release(id);
	close(other);
	close(fd);
}

/* The dotlock goes beside the very file being read, or nowhere. */
static void test_moved(void)
{
	struct mm_lock_plan plan;
	struct mm_err err;
	char other[300], link[300];
	int fd = open(spool, O_RDONLY), id;

	snprintf(other, sizeof(other), "%s/other", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	close(open(other, O_WRONLY | O_CREAT, 0600));
	mm_lock_plan_parse("dotlock", &plan, &err);
	if (symlink(spool, link) < 0)
		abort();
	id = mm_lock_acquire(fd, link, &plan, 0, 300, &err);
	check(id < 0 && strstr(err.text, "no longer the file being read"),
	      "a spool path that is a symlink gets no dotlock", err.text);
	rename(other, spool); /* the spool replaced after we opened it */
	id = mm_lock_acquire(fd, spool, &plan, 0, 300, &err);
	check(id < 0 && strstr(err.text, "no longer the file being read"),
	      "nor a spool replaced since it was opened", err.text);
	check(access(lockp, F_OK) < 0, "no dotlock made", lockp);
	mm_lock_plan_parse("fcntl,flock", &plan, &err);
	id = mm_lock_acquire(fd, spool, &plan, 0, 300, &err);
	check(id >= 0, "kernel locks are on the fd: taken", err.text);
	mm_lock_release(id);
	unlink(link);
	close(fd);
}

/* A long conversion's dotlock stays fresh; a fork's release leaves the
 * parent's lock alone. */
static void test_touch_fork(void)
{
	struct mm_lock_plan plan;
	struct mm_err err;
	struct timespec old[2], pause = { 2, 200 * 1000 * 1000 };
	struct stat st;
	int fd = open(spool, O_RDONLY), id, status;
	pid_t pid;

	mm_lock_touch_every(1);
	mm_lock_plan_parse("all", &plan, &err);
	id = mm_lock_acquire(fd, spool, &plan, 0, 300, &err);
	clock_gettime(CLOCK_REALTIME, &old[0]);
	old[0].tv_sec -= 1000;
	old[1] = old[0];
	utimensat(AT_FDCWD, lockp, old, 0);
	nanosleep(&pause, NULL);
	check(id >= 0 && stat(lockp, &st) == 0 && time(NULL) - st.st_mtime < 5,
	      "a held dotlock is touched", lockp);
	pid = fork();
	if (pid == 0) {
		mm_lock_release(id); /* the parent's: only forgotten */
		_exit(0);
	}
	waitpid(pid, &status, 0);
	{
		/* the flock is the open file's, shared with the fork */
		int other = open(spool, O_RDWR);

		check(WIFEXITED(status) && flock(other, LOCK_EX | LOCK_NB) < 0,
		      "a fork's release leaves the parent's flock", lockp);
		close(other);
	}
	check(access(lockp, F_OK) == 0, "and the dotlock", lockp);
	mm_lock_release(id);
	check(access(lockp, F_OK) < 0, "the parent's release removes it", lockp);
	mm_lock_touch_every(0);
	close(fd);
}

static volatile sig_atomic_t got;
static void note(int sig)
{
	got = sig;
}

/* A child takes the lock and is signalled; returns how it ended. */
static int signalled(int sig, void (*before)(int), int *lock_gone_r)
{
	int p[2], status;
	char c;
	pid_t pid;

	if (pipe(p) < 0)
		abort();
	pid = fork();
	if (pid == 0) {
		struct mm_lock_plan plan;
		struct mm_err err;
		int fd = open(spool, O_RDONLY);

		if (before)
			signal(sig, before);
		mm_lock_plan_parse("all", &plan, &err);
		sigset_t block, old;

		if (mm_lock_acquire(fd, spool, &plan, 0, 300, &err) < 0)
			_exit(3);
		/* blocked until sigsuspend(): a signal that came between the
		 * test of got and a pause() would leave the child waiting */
		sigemptyset(&block);
		sigaddset(&block, sig);
		sigprocmask(SIG_BLOCK, &block, &old);
		sigdelset(&old, sig);
		if (write(p[1], "x", 1) != 1)
			_exit(4);
		while (!got)
			sigsuspend(&old);
		/* a handler of ours ran: the dotlock is gone already */
		_exit(access(lockp, F_OK) < 0 ? 42 : 43);
	}
	close(p[1]);
	if (read(p[0], &c, 1) != 1)
		c = 0;
	close(p[0]);
	kill(pid, sig);
	waitpid(pid, &status, 0);
	*lock_gone_r = access(lockp, F_OK) < 0;
	unlink(lockp);
	return status;
}

static void test_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	size_t i;
	int gone, st;

	for (i = 0; i < 3; i++) {
		st = signalled(sigs[i], NULL, &gone);
		check(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i],
		      "default disposition: still ends the process",
		      strsignal(sigs[i]));
		check(gone, "the dotlock is removed", strsignal(sigs[i]));
	}
	st = signalled(SIGTERM, note, &gone);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 42,
	      "a previous handler is chained to", "SIGTERM");
	check(gone, "and the dotlock is gone", "SIGTERM");

	/* ignored: not caught, the process goes on holding its lock */
	{
		struct mm_lock_plan plan;
		struct mm_err err;
		struct sigaction sa;
		int fd = open(spool, O_RDONLY), id;

		signal(SIGHUP, SIG_IGN);
		mm_lock_plan_parse("dotlock", &plan, &err);
		id = mm_lock_acquire(fd, spool, &plan, 0, 300, &err);
		sigaction(SIGHUP, NULL, &sa);
		check(sa.sa_handler == SIG_IGN, "an ignored signal stays ignored", "SIGHUP");
		sigaction(SIGINT, NULL, &sa);
		check(sa.sa_handler != SIG_DFL, "SIGINT caught while held", "SIGINT");
		raise(SIGHUP);
		check(access(lockp, F_OK) == 0, "SIGHUP ignored: lock kept", lockp);
		mm_lock_release(id);
		sigaction(SIGINT, NULL, &sa);
		check(sa.sa_handler == SIG_DFL, "released: SIGINT as before", "SIGINT");
		signal(SIGHUP, SIG_DFL);
		close(fd);
	}
}

int main(void)
{
	struct mm_lock_plan plan;
	struct mm_err err;
	size_t i;
	int fd;

	/* Started under nohup or in the background, the test inherits
	 * SIGHUP or SIGINT ignored, which the lock rightly leaves ignored;
	 * the signal tests below expect the default, so set it. */
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);

	for (i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
		int r = mm_lock_plan_parse(plans[i].spec, &plan, &err);

		check((r == 0) == plans[i].ok, "plan parses or not", plans[i].spec);
		if (r == 0 && plans[i].ok)
			check(plan.n == plans[i].n &&
			      plan.dotlock_optional == plans[i].optional &&
			      (plan.n < 1 || plan.kind[0] == plans[i].k0) &&
			      (plan.n < 2 || plan.kind[1] == plans[i].k1) &&
			      (plan.n < 3 || plan.kind[2] == plans[i].k2),
			      "plan's locks in order", plans[i].spec);
	}
	if (!mkdtemp(dir))
		abort();
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	snprintf(lockp, sizeof(lockp), "%s/spool.lock", dir);
	fd = open(spool, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || write(fd, "From a\n\nx\n", 10) != 10)
		abort();
	close(fd);
	fd = open(spool, O_RDONLY);
	test_stale(fd);
	close(fd);
	test_flock();
	test_signals();
	test_moved();
	test_touch_fork();
	unlink(lockp);
	unlink(spool);
	rmdir(dir);
	return test_summary();
}
