/* test_mm_fs.c - the safe file layer against what a hostile mailbox
 * owner plants: symlinks (a user's refused, root's followed on the way,
 * never as a Maildir's last component), hard links to someone else's
 * file, FIFOs (never block), a directory swapped in for the one we
 * made, links planted where we replace a file. Run as root, the
 * "user" is uid/gid 65534; as another user the ownership checks are
 * skipped (counted as passed, with a note).
 */
#include "mm_test.h"
#include "mm_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define USER 65534

static char top[] = "/tmp/mm_test_fs.XXXXXX";
static char paths[2][1024];
static char *path = paths[0];

/* top/rel, in one of two buffers in turn (a call may take two) */
static const char *at(const char *rel)
{
	static int turn;

	path = paths[turn ^= 1];
	snprintf(path, sizeof(paths[0]), "%s/%s", top, rel);
	return path;
}

static void put(const char *rel, const char *data)
{
	FILE *f = fopen(at(rel), "w");

	if (f) {
		fputs(data, f);
		fclose(f);
	}
}

static int owner_is(const char *rel, uid_t uid)
{
	struct stat st;

	return lstat(at(rel), &st) == 0 && st.st_uid == uid;
}

static void user_link(const char *target, const char *rel)
{
	if (symlink(target, at(rel)) == 0 && geteuid() == 0)
		(void)!lchown(at(rel), USER, USER);
}

static void test_walk(void)
{
	struct mm_err e;
	char name[MM_FS_NAME_MAX];
	int fd;

	mkdir(at("real"), 0755);
	put("real/mbox", "From a@b Thu Jan  1 00:00:00 1970\n\nx\n");
	if (symlink("real", at("rootlink")) < 0)
		perror("symlink");
	user_link("real", "userlink");

	fd = mm_fs_open_path(at("real/mbox"), MM_FS_FILE, 0, NULL, &e);
	check(fd >= 0, "plain path opens", path);
	if (fd >= 0)
		close(fd);
	fd = mm_fs_open_path(at("rootlink/mbox"), MM_FS_FILE, 0, NULL, &e);
	check(fd >= 0, "root's symlink on the way is followed", path);
	if (fd >= 0)
		close(fd);
	fd = mm_fs_open_path(at("rootlink"), MM_FS_DIR, MM_FS_STRICT_LAST, NULL, &e);
	check(fd < 0 && e.sys_errno == ELOOP, "strict: root's symlink last is refused", path);
	if (geteuid() == 0) {
		fd = mm_fs_open_path(at("userlink/mbox"), MM_FS_FILE, 0, NULL, &e);
		check(fd < 0 && e.code == MM_E_USAGE && e.sys_errno == ELOOP,
		      "a user's symlink on the way is refused", path);
		check(strstr(e.text, "refused") != NULL, "refusal says so", e.text);
		fd = mm_fs_open_path(at("userlink"), MM_FS_DIR, 0, NULL, &e);
		check(fd < 0, "a user's symlink last is refused", path);
	}
	fd = mm_fs_open_path(at("userlink/mbox"), MM_FS_FILE, MM_FS_TRUST, NULL, &e);
	check(fd >= 0, "trusted: any symlink is followed", path);
	if (fd >= 0)
		close(fd);
	fd = mm_fs_open_path(at("real/mbox/x"), MM_FS_FILE, 0, NULL, &e);
	check(fd < 0, "a file on the way is not a directory", path);
	fd = mm_fs_open_path(at("real/../real/./mbox"), MM_FS_FILE, 0, NULL, &e);
	check(fd >= 0, ". and .. are walked", path);
	if (fd >= 0)
		close(fd);
	fd = mm_fs_open_path(at("nothere"), MM_FS_DIR, 0, NULL, &e);
	check(fd < 0 && e.sys_errno == ENOENT, "missing: ENOENT", path);

	fd = mm_fs_open_parent(at("rootlink/new-maildir"), 0, name, &e);
	check(fd >= 0 && strcmp(name, "new-maildir") == 0, "parent and name", name);
	if (fd >= 0) {
		check(mkdirat(fd, name, 0700) == 0 && access(at("real/new-maildir"), F_OK) == 0,
		      "the parent is the real directory", path);
		close(fd);
	}
	fd = mm_fs_open_parent(at("real/"), 0, name, &e);
	check(fd >= 0 && strcmp(name, "real") == 0, "trailing slash: the name", name);
	if (fd >= 0)
		close(fd);
	fd = mm_fs_open_parent("/", 0, name, &e);
	check(fd < 0, "/ has no parent name", "/");
}

static void test_open_at(void)
{
	struct mm_err e;
	int dfd = open(top, O_RDONLY | O_DIRECTORY), fd;
	time_t t0;

	put("one", "1\n");
	if (link(at("one"), at("two")) < 0)
		perror("link");
	mkfifo(at("fifo"), 0600);
	if (symlink("one", at("sym")) < 0)
		perror("symlink");

	fd = mm_fs_open_at(dfd, "one", MM_FS_FILE, 1, NULL, &e);
	check(fd >= 0, "links allowed: a linked file opens", "one");
	if (fd >= 0)
		close(fd);
	fd = mm_fs_open_at(dfd, "two", MM_FS_FILE, 0, NULL, &e);
	check(fd < 0 && e.sys_errno == EMLINK, "a hard-linked file is refused", e.text);
	fd = mm_fs_open_at(dfd, "sym", MM_FS_FILE, 0, NULL, &e);
	check(fd < 0 && e.sys_errno == ELOOP, "a symlink is refused", e.text);
	t0 = time(NULL);
	fd = mm_fs_open_at(dfd, "fifo", MM_FS_FILE, 0, NULL, &e);
	check(fd < 0 && time(NULL) - t0 < 2, "a FIFO is refused at once", e.text);
	fd = mm_fs_open_at(dfd, "fifo", MM_FS_DIR, 0, NULL, &e);
	check(fd < 0, "a FIFO is no directory", e.text);
	fd = mm_fs_open_path(at("fifo"), MM_FS_INPUT, 0, NULL, &e);
	check(fd >= 0 && time(NULL) - t0 < 2, "a FIFO the admin names opens at once", path);
	if (fd >= 0) {
		check((fcntl(fd, F_GETFL) & O_NONBLOCK) == 0, "and reads block as usual", path);
		close(fd);
	}
	fd = mm_fs_open_at(dfd, "a/b", MM_FS_FILE, 0, NULL, &e);
	check(fd < 0 && e.code == MM_E_USAGE, "a name with / is refused", "a/b");

	mkdir(at("t"), 0700);
	mkdir(at("t/b"), 0700);
	put("t/b/c", "c\n");
	if (symlink("b", at("t/l")) < 0)
		perror("symlink");
	fd = mm_fs_open_under(dfd, "t/b/c", MM_FS_FILE, NULL, &e);
	check(fd >= 0, "under: a plain path", "t/b/c");
	if (fd >= 0)
		close(fd);
	fd = mm_fs_open_under(dfd, "t/l/c", MM_FS_FILE, NULL, &e);
	check(fd < 0, "under: even root's symlink is refused", "t/l/c");
	fd = mm_fs_open_under(dfd, "t/../one", MM_FS_FILE, NULL, &e);
	check(fd < 0, "under: .. is refused", "t/../one");
	close(dfd);
}

static void test_create(void)
{
	struct mm_fs_owner own = { geteuid() == 0, USER, USER };
	struct mm_err e;
	struct stat st;
	int dfd = open(top, O_RDONLY | O_DIRECTORY), fd, made = 0;
	char *buf;
	size_t len;

	fd = mm_fs_mkdir_at(dfd, "md", 0700, &own, &made, &e);
	check(fd >= 0 && made, "mkdir: made", "md");
	if (fd >= 0)
		close(fd);
	check(geteuid() != 0 || owner_is("md", USER), "mkdir: the owner's", "md");
	made = 1;
	fd = mm_fs_mkdir_at(dfd, "md", 0700, &own, &made, &e);
	check(fd >= 0 && !made, "mkdir: there already", "md");
	if (fd >= 0)
		close(fd);
	user_link("/", "mdlink");
	fd = mm_fs_mkdir_at(dfd, "mdlink", 0700, &own, &made, &e);
	check(fd < 0 && e.code == MM_E_USAGE, "mkdir: a symlink there is refused", e.text);

	/* a file under the name we create: O_EXCL, and never chowned */
	put("victim", "secret\n");
	if (link(at("victim"), at("planted")) < 0)
		perror("link");
	fd = mm_fs_create_at(dfd, "planted", 0600, O_WRONLY, &own, &e);
	check(fd < 0 && e.sys_errno == EEXIST, "create: O_EXCL", e.text);
	check(owner_is("victim", geteuid()), "create: the planted link's file untouched", "victim");
	fd = mm_fs_create_at(dfd, "fresh", 0600, O_WRONLY, &own, &e);
	check(fd >= 0, "create: made", "fresh");
	if (fd >= 0) {
		check(fstat(fd, &st) == 0 && (geteuid() != 0 || st.st_uid == USER),
		      "create: owned by the owner, set on the fd", "fresh");
		close(fd);
	}

	/* replace: a symlink and a hard link planted at the name and at
	 * our temporary name are replaced, never written through */
	user_link(at("victim"), "subs");
	user_link(at("victim"), "subs.mmtmp");
	check(mm_fs_replace_at(dfd, "subs", "a\nb\n", 4, &own, &e) == 0,
	      "replace over planted links", e.text);
	check(mm_fs_read_at(dfd, "subs", 100, &buf, &len, &e) == 0 && buf &&
	      len == 4 && memcmp(buf, "a\nb\n", 4) == 0, "replace: the new content", "subs");
	free(buf);
	check(mm_fs_read_at(dfd, "victim", 100, &buf, &len, &e) < 0 && e.sys_errno == EMLINK,
	      "read: a file with two links is refused", e.text);
	unlink(at("planted"));
	check(mm_fs_read_at(dfd, "victim", 100, &buf, &len, &e) == 0 && buf &&
	      strcmp(buf, "secret\n") == 0 && owner_is("victim", geteuid()),
	      "the victim is unchanged", "victim");
	free(buf);
	check(geteuid() != 0 || owner_is("subs", USER), "replace: the owner's", "subs");
	check(mm_fs_read_at(dfd, "victim", 3, &buf, &len, &e) < 0 && e.sys_errno == EFBIG,
	      "read: over max is refused", e.text);
	check(mm_fs_read_at(dfd, "none", 3, &buf, &len, &e) == 0 && buf == NULL,
	      "read: missing is no error", "none");
	close(dfd);
}

int main(void)
{
	char cmd[1100];

	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (geteuid() != 0)
		printf("# not root: ownership checks skipped\n");
	test_walk();
	test_open_at();
	test_create();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", top);
	return test_summary();
}
