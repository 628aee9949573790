/* mm_lock.c - dotlock, fcntl and flock locking of a spool file being
 * read, with a registry of held dotlocks that a signal handler removes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mm_lock.h"

#define LOCK_PATH_MAX 4096
#define SLOTS 16
#define LOCK_READ_MAX 64

/* One mm_lock_acquire() that holds its locks. The signal handler reads
 * held, owner, dot_live, dot, dev and ino: a slot is filled before held
 * is set, and changed only with the caught signals blocked. */
struct slot {
	volatile sig_atomic_t held;
	volatile sig_atomic_t dot_live; /* our dotlock is there */
	int counted;                    /* in n_dot_live */
	pid_t owner;
	int fd;
	int fcntl_held, flock_held;
	int dirfd;                      /* the spool's directory, or -1 */
	int lockfd;                     /* our dotlock, open; toucher_mu */
	dev_t dev;
	ino_t ino;
	char name[NAME_MAX + 1];        /* the dotlock's, in dirfd */
	char dot[LOCK_PATH_MAX];        /* its path, for messages */
};

static struct slot slots[SLOTS];
static int n_dot_live;

static const int caught[] = { SIGINT, SIGTERM, SIGHUP };
#define N_CAUGHT ((int)(sizeof(caught) / sizeof(caught[0])))
static struct sigaction prev_act[N_CAUGHT];
static volatile sig_atomic_t hooked[N_CAUGHT];

/* Order the slot's plain stores before the flag the handler reads. */
#define FENCE() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* The toucher: a thread that keeps our held dotlocks' mtime fresh, so
 * that MTAs which break a lock by its age alone (procmail after 1024 s,
 * mail.local after 300 s) do not break ours during a long conversion.
 * It runs while any mm_lock_acquire() holds a dotlock. */
static pthread_mutex_t toucher_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t toucher_cv = PTHREAD_COND_INITIALIZER;
static pthread_once_t toucher_once = PTHREAD_ONCE_INIT;
static pthread_t toucher;
static int toucher_on, toucher_stop;
static int touch_every = MM_LOCK_TOUCH_DEFAULT;

static void nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* ---- the plan ---- */

int mm_lock_plan_parse(const char *spec, struct mm_lock_plan *plan_r,
		       struct mm_err *err_r)
{
	static const char *const names[] = { NULL, "dotlock", "fcntl", "flock" };
	const char *p = spec;

	memset(plan_r, 0, sizeof(*plan_r));
	if (!strcmp(spec, "none"))
		return 0;
	if (!strcmp(spec, "auto") || !strcmp(spec, "all") ||
	    !strcmp(spec, "both")) {
		plan_r->kind[plan_r->n++] = MM_LOCK_DOTLOCK;
		plan_r->kind[plan_r->n++] = MM_LOCK_FCNTL;
		if (strcmp(spec, "both"))
			plan_r->kind[plan_r->n++] = MM_LOCK_FLOCK;
		plan_r->dotlock_optional = !strcmp(spec, "auto");
		return 0;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		int k, i;

		for (k = 1; k <= 3; k++)
			if (len == strlen(names[k]) && !strncmp(p, names[k], len))
				break;
		if (k > 3)
			return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
					  "unknown lock mode '%s' (auto, all, "
					  "both, none, or a list of dotlock, "
					  "fcntl, flock)", spec);
		for (i = 0; i < plan_r->n; i++)
			if (plan_r->kind[i] == (enum mm_lock_kind)k)
				return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
						  "lock mode '%s' names %s twice",
						  spec, names[k]);
		plan_r->kind[plan_r->n++] = (enum mm_lock_kind)k;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

/* ---- the signal handler ---- */

/* Remove every dotlock this process holds; async-signal-safe (getpid,
 * fstatat, unlinkat, sigaction, raise only). */
static void on_signal(int sig)
{
	int saved = errno, i;
	pid_t me = getpid();

	for (i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];
		struct stat st;

		if (!s->held || !s->dot_live || s->owner != me)
			continue;
		/* never remove a lock that replaced ours (one broke it) */
		if (fstatat(s->dirfd, s->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_dev == s->dev && st.st_ino == s->ino)
			unlinkat(s->dirfd, s->name, 0);
		s->dot_live = 0;
	}
	for (i = 0; i < N_CAUGHT; i++)
		if (caught[i] == sig && hooked[i]) {
			sigaction(sig, &prev_act[i], NULL);
			hooked[i] = 0;
		}
	/* blocked until we return; then it does what it did before us:
	 * the default action ends the process, a handler (Perl's) runs */
	raise(sig);
	errno = saved;
}

static void block_caught(sigset_t *old)
{
	sigset_t set;
	int i;

	sigemptyset(&set);
	for (i = 0; i < N_CAUGHT; i++)
		sigaddset(&set, caught[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

/* With the caught signals blocked. */
static void hook(void)
{
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < N_CAUGHT; i++)
		sigaddset(&sa.sa_mask, caught[i]);
	for (i = 0; i < N_CAUGHT; i++) {
		struct sigaction cur;

		if (hooked[i] || sigaction(caught[i], NULL, &cur) < 0)
			continue;
		/* an ignored signal ends nothing: leave it ignored */
		if (!(cur.sa_flags & SA_SIGINFO) &&
		    (cur.sa_handler == SIG_IGN || cur.sa_handler == on_signal))
			continue;
		if (sigaction(caught[i], &sa, &prev_act[i]) == 0)
			hooked[i] = 1;
	}
}

/* With the caught signals blocked. Puts back what was there, unless
 * someone (Perl's %SIG) has set a disposition of its own since. */
static void unhook(void)
{
	int i;

	for (i = 0; i < N_CAUGHT; i++) {
		struct sigaction cur;

		if (!hooked[i])
			continue;
		hooked[i] = 0;
		if (sigaction(caught[i], NULL, &cur) == 0 &&
		    !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == on_signal)
			sigaction(caught[i], &prev_act[i], NULL);
	}
}

/* ---- our dotlock's contents ---- */

/* A name for this host and pid namespace: a pid in a lock carrying it
 * can be checked with kill() here. */
static unsigned long long host_token(void)
{
	char host[256] = "";
	struct stat st;
	unsigned long long h = 1469598103934665603ULL; /* FNV-1a */
	const unsigned char *p;

	gethostname(host, sizeof(host) - 1);
	for (p = (const unsigned char *)host; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	if (stat("/proc/self/ns/pid", &st) == 0) {
		unsigned long long ns = (unsigned long long)st.st_ino;
		int i;

		for (i = 0; i < 8; i++, ns >>= 8)
			h = (h ^ (ns & 0xff)) * 1099511628211ULL;
	}
	return h;
}

int mm_lock_content(char *buf, long pid)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned long long h = host_token();
	char tok[7];
	int i, n;

	for (i = 0; i < 6; i++, h /= 36)
		tok[i] = digits[h % 36];
	tok[6] = '\0';
	n = snprintf(buf, 32, "%ld m%s\n", pid, tok);
	if (n > 16) /* a pid of more than 7 digits: keep within 16 bytes */
		n = snprintf(buf, 32, "%ld m%.*s\n", pid, 6 - (n - 16), tok);
	return n;
}

/* The pid a lock holds, liblockfile's way (atoi of its start), or 0. */
static long lock_pid(const char *buf)
{
	long pid = 0;

	while (*buf == ' ')
		buf++;
	for (; *buf >= '0' && *buf <= '9' && pid < 100000000L; buf++)
		pid = pid * 10 + (*buf - '0');
	return pid;
}

static int pid_dead(long pid)
{
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* A process with this pid that started after t cannot have made a lock
 * written at t: the pid was reused (after a reboot, say). Linux /proc. */
static int started_after(long pid, time_t t)
{
	char path[64], buf[1024];
	unsigned long long start = 0, btime = 0;
	long tck = sysconf(_SC_CLK_TCK);
	char *p;
	ssize_t n;
	int fd, field;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || tck <= 0)
		return 0;
	buf[n] = '\0';
	if (!(p = strrchr(buf, ')')))
		return 0;
	/* field 3 follows the ")"; starttime is field 22 */
	for (field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return 0;
	if (!(f = fopen("/proc/stat", "re")))
		return 0;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	if (!btime)
		return 0;
	return (long long)(btime + start / (unsigned long long)tck) >
	       (long long)t + 1;
}

/* ---- the dotlock ---- */

enum { J_GONE, J_BUSY, J_STALE };

/* What the existing lock is; st_r is what was judged, for the check
 * before unlinking. why_r says who holds a busy one. */
static int judge(const struct slot *s, int stale, struct stat *st_r,
		 char *why_r, size_t why_len)
{
	char buf[LOCK_READ_MAX + 1], ours[32];
	int fd = openat(s->dirfd, s->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
			O_CLOEXEC);
	long pid, age;
	ssize_t n;

	if (fd < 0) {
		if (errno == ENOENT)
			return J_GONE;
		snprintf(why_r, why_len, "%s", errno == ELOOP ?
			 "a symbolic link, never removed" : strerror(errno));
		return J_BUSY;
	}
	if (fstat(fd, st_r) < 0 || !S_ISREG(st_r->st_mode)) {
		close(fd);
		snprintf(why_r, why_len, "not a regular file, never removed");
		return J_BUSY;
	}
	n = read(fd, buf, LOCK_READ_MAX);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	pid = lock_pid(buf);
	age = (long)(time(NULL) - st_r->st_mtime);
	mm_lock_content(ours, pid);
	if (pid > 0 && st_r->st_uid == geteuid() && !strcmp(buf, ours)) {
		/* ours, from this host: its pid says all */
		if (pid_dead(pid) || started_after(pid, st_r->st_mtime))
			return J_STALE;
		snprintf(why_r, why_len, "held by process %ld of ours", pid);
		return J_BUSY;
	}
	if (age <= stale) {
		if (pid > 0)
			snprintf(why_r, why_len, "pid %ld, not ours, %ld s old; "
				 "stale after %d s", pid, age, stale);
		else
			snprintf(why_r, why_len, "no pid, %ld s old; stale "
				 "after %d s", age, stale);
		return J_BUSY;
	}
	if (pid > 0 && !pid_dead(pid)) {
		snprintf(why_r, why_len, "pid %ld, alive here, %ld s old", pid,
			 age);
		return J_BUSY;
	}
	return J_STALE;
}

/* Remove a stale lock, unless it changed since it was judged. Between
 * this fstatat and the unlinkat, another process can still remove the
 * stale lock and make a new one that we would then remove: that window
 * is two system calls wide, and needs a second breaker of the same lock
 * at the same moment. */
static void break_lock(const struct slot *s, const struct stat *judged)
{
	struct stat st;

	if (fstatat(s->dirfd, s->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == judged->st_dev &&
	    st.st_ino == judged->st_ino && st.st_size == judged->st_size &&
	    st.st_mtim.tv_sec == judged->st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == judged->st_mtim.tv_nsec &&
	    st.st_ctim.tv_sec == judged->st_ctim.tv_sec &&
	    st.st_ctim.tv_nsec == judged->st_ctim.tv_nsec)
		unlinkat(s->dirfd, s->name, 0);
}

enum { T_OK, T_BUSY, T_SKIP, T_ERR = -1 };

/* Make the dotlock appear with its contents: written and synced in an
 * unnamed file (O_TMPFILE) of the spool's directory, then linked in
 * under its name (EEXIST when it is taken), so that a kill -9 of ours
 * never leaves an empty lock, which only its age could break. Where
 * O_TMPFILE or /proc is missing, the lock is created with O_EXCL and
 * *written_r is 0: the caller writes it. The descriptor, or -1 (errno). */
static int create_lock(int dirfd, const char *name, const char *content,
		       int n, int *written_r)
{
	char proc[64];
	int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	int e;

	*written_r = 0;
	if (fd >= 0) {
		if (write(fd, content, (size_t)n) != n || fsync(fd) < 0)
			goto fail;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0) {
			*written_r = 1;
			return fd;
		}
		if (errno != ENOENT)
			goto fail; /* EEXIST: taken */
		close(fd);     /* no /proc */
	} else if (errno == EACCES || errno == EPERM || errno == EROFS) {
		return -1;
	}
	return openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		      O_NONBLOCK | O_CLOEXEC, 0644);
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* One try at the dotlock; on T_OK the slot holds it (registered). */
static int try_dotlock(struct slot *s, int optional, int stale, char *why,
		       size_t why_len, struct mm_err *err_r)
{
	int tries;

	for (tries = 0; tries < 4; tries++) {
		char content[32];
		struct stat st;
		sigset_t old;
		int fd, n, ok, e, written;

		/* no signal between creating the lock and registering it */
		block_caught(&old);
		n = mm_lock_content(content, (long)getpid());
		fd = create_lock(s->dirfd, s->name, content, n, &written);
		if (fd >= 0) {
			ok = (written || (write(fd, content, (size_t)n) == n &&
					  fsync(fd) == 0)) &&
			     fstat(fd, &st) == 0;
			e = errno;
			if (!ok) {
				close(fd);
				unlinkat(s->dirfd, s->name, 0);
				sigprocmask(SIG_SETMASK, &old, NULL);
				return mm_err_set(err_r, MM_E_IO, e, 0, 0,
						  "cannot write %s: %s", s->dot,
						  strerror(e));
			}
			s->dev = st.st_dev;
			s->ino = st.st_ino;
			pthread_mutex_lock(&toucher_mu);
			s->lockfd = fd;
			pthread_mutex_unlock(&toucher_mu);
			FENCE();
			s->dot_live = 1;
			s->counted = 1;
			n_dot_live++;
			hook(); /* again too: the handler may have unhooked one */
			sigprocmask(SIG_SETMASK, &old, NULL);
			return T_OK;
		}
		e = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (e != EEXIST) {
			if (optional && (e == EACCES || e == EPERM || e == EROFS))
				return T_SKIP;
			return mm_err_set(err_r, MM_E_IO, e, 0, 0,
					  "cannot create %s: %s", s->dot,
					  strerror(e));
		}
		switch (judge(s, stale, &st, why, why_len)) {
		case J_BUSY:
			return T_BUSY;
		case J_STALE:
			break_lock(s, &st);
			break;
		}
	}
	snprintf(why, why_len, "comes back each time it is removed");
	return T_BUSY;
}

static void drop_dotlock(struct slot *s)
{
	struct stat st;
	sigset_t old;
	int fd;

	pthread_mutex_lock(&toucher_mu);
	fd = s->lockfd;
	s->lockfd = -1;
	pthread_mutex_unlock(&toucher_mu);
	if (fd >= 0)
		close(fd);
	block_caught(&old);
	if (s->dot_live) {
		if (s->owner == getpid() &&
		    fstatat(s->dirfd, s->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_dev == s->dev && st.st_ino == s->ino)
			unlinkat(s->dirfd, s->name, 0);
		s->dot_live = 0;
	}
	if (s->counted) {
		s->counted = 0;
		if (--n_dot_live == 0)
			unhook();
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- kernel locks ---- */

static int try_fcntl(struct slot *s, char *why, size_t why_len,
		     struct mm_err *err_r)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(s->fd, F_SETLK, &fl) == 0) {
		s->fcntl_held = 1;
		return T_OK;
	}
	if (errno != EACCES && errno != EAGAIN && errno != EINTR)
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
				  "cannot lock: %s", strerror(errno));
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_RDLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(s->fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		snprintf(why, why_len, "locked by process %ld", (long)fl.l_pid);
	else
		snprintf(why, why_len, "still locked");
	return T_BUSY;
}

static int try_flock(struct slot *s, char *why, size_t why_len,
		     struct mm_err *err_r)
{
	if (flock(s->fd, LOCK_SH | LOCK_NB) == 0) {
		s->flock_held = 1;
		return T_OK;
	}
	if (errno != EWOULDBLOCK && errno != EINTR)
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
				  "cannot flock: %s", strerror(errno));
	snprintf(why, why_len, "flock(2)-locked by another process");
	return T_BUSY;
}

static void drop_kernel(struct slot *s)
{
	if (s->owner != getpid()) { /* a fork's: they are the parent's */
		s->flock_held = s->fcntl_held = 0;
		return;
	}
	if (s->flock_held)
		flock(s->fd, LOCK_UN);
	if (s->fcntl_held) {
		struct flock fl;

		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_UNLCK;
		fl.l_whence = SEEK_SET;
		fcntl(s->fd, F_SETLK, &fl);
	}
	s->flock_held = s->fcntl_held = 0;
}

/* ---- the toucher ---- */

static void *touch_loop(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&toucher_mu);
	while (!toucher_stop) {
		struct timespec t;
		int i;

		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += touch_every;
		if (pthread_cond_timedwait(&toucher_cv, &toucher_mu, &t) == 0 ||
		    toucher_stop)
			continue;
		for (i = 0; i < SLOTS; i++)
			if (slots[i].held && slots[i].lockfd >= 0)
				futimens(slots[i].lockfd, NULL);
	}
	pthread_mutex_unlock(&toucher_mu);
	return NULL;
}

/* A fork while the toucher holds its mutex must not leave the child
 * with a mutex nobody unlocks; the child has no toucher either. */
static void before_fork(void)
{
	pthread_mutex_lock(&toucher_mu);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&toucher_mu);
}

static void after_fork_child(void)
{
	toucher_on = 0;
	pthread_mutex_unlock(&toucher_mu);
}

static void at_fork(void)
{
	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

static void toucher_start(void)
{
	sigset_t all, old;

	if (toucher_on)
		return;
	pthread_once(&toucher_once, at_fork);
	toucher_stop = 0;
	/* signals go to the main thread, where the handler is meant */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	toucher_on = pthread_create(&toucher, NULL, touch_loop, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void toucher_stop_if_idle(void)
{
	int i;

	if (!toucher_on)
		return;
	for (i = 0; i < SLOTS; i++)
		if (slots[i].held && slots[i].lockfd >= 0)
			return;
	pthread_mutex_lock(&toucher_mu);
	toucher_stop = 1;
	pthread_cond_signal(&toucher_cv);
	pthread_mutex_unlock(&toucher_mu);
	pthread_join(toucher, NULL);
	toucher_on = 0;
}

void mm_lock_touch_every(int seconds)
{
	pthread_mutex_lock(&toucher_mu);
	touch_every = seconds > 0 ? seconds : MM_LOCK_TOUCH_DEFAULT;
	pthread_mutex_unlock(&toucher_mu);
}

/* ---- all of them ---- */

/* An inotify descriptor that becomes readable when a file of the
 * spool's directory is removed (the dotlock we wait for, most likely),
 * or -1: a busy mailbox is free only in the moment between two
 * deliveries, which polling alone tends to miss. */
static int watch_dir(int dirfd)
{
	char path[64];
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (in < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
	if (inotify_add_watch(in, path, IN_DELETE | IN_MOVED_FROM) < 0) {
		close(in);
		return -1;
	}
	return in;
}

/* Sleep ms, or less if the directory watch fires. */
static void wait_a_moment(int watch, long ms)
{
	struct pollfd pfd;
	char buf[4096];

	if (watch < 0) {
		nap(ms);
		return;
	}
	pfd.fd = watch;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)ms) > 0)
		while (read(watch, buf, sizeof(buf)) > 0)
			;
}

/* The spool's directory, where its dotlock lives, as s->dirfd; it must
 * hold the very file being read (fd), not another one put there since.
 * 0, 1 (optional and the directory cannot be opened), or -1. */
static int open_dir(struct slot *s, int fd, const char *path, int optional,
		    struct mm_err *err_r)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	char dir[LOCK_PATH_MAX];
	struct stat a, b;
	int e;

	if (!*base || strlen(base) + 5 >= sizeof(s->name))
		return mm_err_set(err_r, MM_E_USAGE, ENAMETOOLONG, 0, 0,
				  "path too long for a dotlock: %s", path);
	snprintf(s->name, sizeof(s->name), "%s.lock", base);
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
			 (int)(slash - path), path);
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		e = errno;
		if (optional && (e == EACCES || e == EPERM))
			return 1;
		return mm_err_set(err_r, MM_E_IO, e, 0, 0, "cannot open %s: %s",
				  dir, strerror(e));
	}
	if (fstatat(s->dirfd, base, &a, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fstat(fd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(s->dirfd);
		s->dirfd = -1;
		return mm_err_set(err_r, MM_E_IO, 0, 0, 0, "%s is no longer the "
				  "file being read (a symlink, or moved?): no "
				  "dotlock for it", path);
	}
	return 0;
}

int mm_lock_acquire(int fd, const char *path, const struct mm_lock_plan *plan,
		    int timeout, int stale, struct mm_err *err_r)
{
	time_t until = time(NULL) + (timeout > 0 ? timeout : 0);
	long pause = 10;
	struct slot *s = NULL;
	int id, id_dot, skip_dot = 0, watch = -1;

	for (id = 0; id < SLOTS; id++)
		if (!slots[id].held) {
			s = &slots[id];
			break;
		}
	if (!s)
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0,
				  "more than %d spool files locked at once",
				  SLOTS);
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->dirfd = -1;
	s->lockfd = -1;
	s->owner = getpid();
	if (snprintf(s->dot, sizeof(s->dot), "%s.lock", path) >=
	    (int)sizeof(s->dot))
		return mm_err_set(err_r, MM_E_USAGE, 0, 0, 0, "path too long");
	for (id_dot = 0; id_dot < plan->n; id_dot++)
		if (plan->kind[id_dot] == MM_LOCK_DOTLOCK) {
			skip_dot = open_dir(s, fd, path, plan->dotlock_optional,
					    err_r);
			if (skip_dot < 0)
				return -1;
		}
	FENCE();
	s->held = 1;
	for (;;) {
		char why[200] = "";
		int i, r = T_OK;
		enum mm_lock_kind busy = MM_LOCK_DOTLOCK;

		for (i = 0; i < plan->n && (r == T_OK || r == T_SKIP); i++) {
			busy = plan->kind[i];
			switch (busy) {
			case MM_LOCK_DOTLOCK:
				r = skip_dot ? T_SKIP
				    : try_dotlock(s, plan->dotlock_optional,
						  stale, why, sizeof(why), err_r);
				break;
			case MM_LOCK_FCNTL:
				r = try_fcntl(s, why, sizeof(why), err_r);
				break;
			case MM_LOCK_FLOCK:
				r = try_flock(s, why, sizeof(why), err_r);
				break;
			}
		}
		if (r == T_OK || r == T_SKIP) {
			if (watch >= 0)
				close(watch);
			if (s->lockfd >= 0)
				toucher_start();
			return id;
		}
		/* never wait for one lock while holding another */
		drop_kernel(s);
		drop_dotlock(s);
		if (r == T_ERR || time(NULL) >= until) {
			if (watch >= 0)
				close(watch);
			if (s->dirfd >= 0)
				close(s->dirfd);
			s->held = 0;
			if (r == T_ERR)
				return -1;
			if (busy == MM_LOCK_DOTLOCK)
				return mm_err_set(err_r, MM_E_IO, EAGAIN, 0, 0,
						  "%s exists for more than %d s "
						  "(%s)", s->dot, timeout, why);
			return mm_err_set(err_r, MM_E_IO, EAGAIN, 0, 0,
					  "%s for more than %d s", why,
					  timeout);
		}
		if (busy == MM_LOCK_DOTLOCK && watch < 0 && s->dirfd >= 0 &&
		    (watch = watch_dir(s->dirfd)) >= 0)
			continue; /* it may have gone before the watch began */
		wait_a_moment(watch, pause);
		if (pause < 80)
			pause *= 2;
	}
}

void mm_lock_release(int id)
{
	struct slot *s;

	if (id < 0 || id >= SLOTS || !slots[id].held)
		return;
	s = &slots[id];
	drop_kernel(s);
	drop_dotlock(s);
	s->held = 0;
	FENCE();
	if (s->dirfd >= 0)
		close(s->dirfd);
	s->dirfd = -1;
	toucher_stop_if_idle();
}
