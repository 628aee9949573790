/* mm_uidlist.c - Dovecot's and Courier's UID lists for a new Maildir. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mm_digest.h"
#include "mm_fs.h"
#include "mm_keyset.h"
#include "mm_maildir_int.h"
#include "mm_uidlist.h"

/* "cur/NAME:2,FS" -> "NAME" (the base both lists record). */
static const char *base_of(const char *name, size_t *len_r)
{
	const char *b = strchr(name, '/');
	const char *colon;

	b = b ? b + 1 : name;
	colon = strchr(b, ':');
	*len_r = colon ? (size_t)(colon - b) : strlen(b);
	return b;
}

/* What we know of the lists we wrote: migratemail-uidlists in the
 * Maildir, "migratemail-uidlists 1" then "<list> <size> mm64:<digest>"
 * per list, the size and digest (mm_digest.h) of the bytes we wrote.
 * A list whose bytes are still those is ours, and a later pass may
 * rewrite it; any change by the server (Dovecot adds a G<guid> or the
 * files it found, Courier rewrites its own layout) makes it the
 * server's for good. A record file that is missing or does not parse
 * knows no list: every list is then the server's. */
#define MM_UIDREC_FILE "migratemail-uidlists"
#define MM_UIDREC_HEAD "migratemail-uidlists 1\n"
#define MM_UIDLIST_MAX ((size_t)256 << 20)

static const char *const list_names[2] = { "dovecot-uidlist",
					   "courierimapuiddb" };

struct uidrec {
	uint64_t size, digest;
	int have;
};

static void uidrec_read(int dfd, struct uidrec rec[2])
{
	struct mm_err e;
	char *buf = NULL, *p, *nl;
	size_t len = 0;

	memset(rec, 0, 2 * sizeof(*rec));
	if (mm_fs_read_at(dfd, MM_UIDREC_FILE, 1 << 16, &buf, &len, &e) < 0 ||
	    buf == NULL)
		return;
	if (len < sizeof(MM_UIDREC_HEAD) - 1 ||
	    memcmp(buf, MM_UIDREC_HEAD, sizeof(MM_UIDREC_HEAD) - 1) != 0) {
		free(buf);
		return;
	}
	for (p = buf + sizeof(MM_UIDREC_HEAD) - 1; (nl = strchr(p, '\n'));
	     p = nl + 1) {
		char name[32], hex[17];
		unsigned long long size;
		int used = 0;

		*nl = '\0';
		if (sscanf(p, "%31s %llu mm64:%16[0-9a-f]%n", name, &size, hex,
			   &used) != 3 || p[used] != '\0' || strlen(hex) != 16)
			continue;
		for (int i = 0; i < 2; i++)
			if (strcmp(name, list_names[i]) == 0) {
				rec[i].size = size;
				rec[i].digest = strtoull(hex, NULL, 16);
				rec[i].have = 1;
			}
	}
	free(buf);
}

static int uidrec_write(int dfd, const struct uidrec rec[2],
			struct mm_err *err_r)
{
	struct mm_fs_owner own;
	char buf[256];
	size_t n = 0;

	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", MM_UIDREC_HEAD);
	for (int i = 0; i < 2; i++)
		if (rec[i].have)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n,
					      "%s %llu mm64:%016llx\n",
					      list_names[i],
					      (unsigned long long)rec[i].size,
					      (unsigned long long)rec[i].digest);
	mm_fs_owner_of(dfd, &own);
	return mm_fs_replace_at(dfd, MM_UIDREC_FILE, buf, n, &own, err_r);
}

static uint64_t digest_of(const void *p, size_t len)
{
	struct mm_digest d;

	mm_digest_init(&d);
	mm_digest_add(&d, p, len);
	return mm_digest_final(&d);
}

/* The text of one list. 0, or -1 out of memory. */
static int format_list(int dovecot, const struct mm_uid *uids, size_t n,
		       const struct mm_maildir_list *list, uint32_t validity,
		       uint32_t next, char **buf_r, size_t *len_r)
{
	FILE *f = open_memstream(buf_r, len_r);

	if (f == NULL)
		return -1;
	if (dovecot)
		fprintf(f, "3 V%u N%u\n", validity, next);
	else
		fprintf(f, "1 %u %u\n", validity, next);
	for (size_t i = 0; i < n; i++) {
		const struct mm_maildir_entry *e =
			mm_maildir_list_find(list, uids[i].key);
		size_t len;
		const char *b;

		if (e == NULL)
			continue; /* not delivered (reported elsewhere) */
		b = base_of(e->name, &len);
		/* Dovecot's P extension: the POP3 UIDL it serves for the
		 * message whatever pop3_uidl_format says */
		if (dovecot && uids[i].pop3)
			fprintf(f, "%u P%s :%.*s\n", uids[i].uid, uids[i].pop3,
				(int)len, b);
		else
			fprintf(f, dovecot ? "%u :%.*s\n" : "%u %.*s\n",
				uids[i].uid, (int)len, b);
	}
	if (ferror(f)) {
		fclose(f);
		free(*buf_r);
		*buf_r = NULL;
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* Read all of the regular file fd (at most max bytes). 0, or -1. */
static int read_all(int fd, size_t size, char **buf_r)
{
	char *buf = malloc(size + 1);
	size_t got = 0;

	if (buf == NULL)
		return -1;
	while (got <= size) {
		ssize_t r = read(fd, buf + got, size + 1 - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (r == 0 && got != size)) {
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	if (got != size) { /* it grew while read: not what was stat'ed */
		free(buf);
		return -1;
	}
	*buf_r = buf;
	return 0;
}

/* Does the new text of a list of ours only add UIDs at or above the
 * old one's next UID (next) and keep each line below it as it was (or
 * drop it)? Both list their UIDs ascending after the header line. A
 * server that read the old list (its index, its caches) then sees
 * nothing renumbered. 0 if so, or the first UID that is not. */
static unsigned long only_added(const char *old, size_t oldlen,
				const char *text, size_t textlen,
				unsigned long next)
{
	const char *oe = old + oldlen, *te = text + textlen;
	const char *o = memchr(old, '\n', oldlen), *t = memchr(text, '\n', textlen);

	if (o == NULL || t == NULL)
		return 1;
	for (o++, t++; t < te;) {
		const char *tn = memchr(t, '\n', (size_t)(te - t));
		unsigned long tu = strtoul(t, NULL, 10);

		if (tn == NULL)
			return tu ? tu : 1;
		if (tu < next) {
			/* find the old line of that UID */
			for (;;) {
				const char *on;
				unsigned long ou;

				if (o >= oe)
					return tu;
				on = memchr(o, '\n', (size_t)(oe - o));
				if (on == NULL)
					return tu;
				ou = strtoul(o, NULL, 10);
				if (ou < tu) {
					o = on + 1;
					continue;
				}
				if (ou != tu || on - o != tn - t ||
				    memcmp(o, t, (size_t)(tn - t)) != 0)
					return tu;
				o = on + 1;
				break;
			}
		}
		t = tn + 1;
	}
	return 0;
}

/* The same file, unchanged: inode, size, times. */
static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size && a->st_nlink == b->st_nlink &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Write one list atomically: a new one by a tmp name and a rename
 * without replacing; an existing one only while it is ours (rec: the
 * bytes we wrote last), by a tmp name renamed over it. rec is updated
 * to what was written. 1 written, 0 not, -1 error (err_r); a changed
 * UIDVALIDITY is a warning (warn_r, *warned_r = 1). */
static int write_list(int dfd, int which, const struct mm_uid *uids,
		      size_t n, const struct mm_maildir_list *list,
		      uint32_t validity, uint32_t next, struct uidrec *rec,
		      struct mm_err *err_r, struct mm_err *warn_r,
		      int *warned_r)
{
	const char *file = list_names[which];
	int dovecot = which == 0;
	char tmp[64], *old = NULL, *text = NULL;
	size_t textlen = 0;
	struct mm_fs_owner own;
	struct stat st, now;
	int fd, linked, ofd = -1;
	unsigned long next_old = 0;

	/* an existing list is the server's unless it is still, byte for
	 * byte, what we wrote. Looked at without following a link or
	 * blocking on a FIFO; what is no list at all is reported (and
	 * left alone too). */
	ofd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (ofd >= 0 || errno != ENOENT) {
		int e = errno, reg = ofd >= 0 && fstat(ofd, &st) == 0 &&
				     S_ISREG(st.st_mode);
		unsigned ov = 0, on = 0;

		if (!reg) {
			if (ofd >= 0)
				close(ofd);
			return mm_err_set(err_r, MM_E_IO, ofd >= 0 ? 0 : e, 0, 0,
					  "cannot write %s: %s; left alone", file,
					  ofd >= 0 || e == ELOOP || e == ENXIO
						  ? "it is not a regular file"
						  : strerror(e));
		}
		if (!rec->have || st.st_nlink != 1 ||
		    (uint64_t)st.st_size != rec->size ||
		    (size_t)st.st_size > MM_UIDLIST_MAX ||
		    read_all(ofd, (size_t)st.st_size, &old) < 0 ||
		    digest_of(old, (size_t)st.st_size) != rec->digest) {
			/* the server's (or not known to be ours) */
			free(old);
			close(ofd);
			return 0;
		}
		old[st.st_size] = '\0';
		if ((dovecot ? sscanf(old, "3 V%u N%u\n", &ov, &on)
			     : sscanf(old, "1 %u %u\n", &ov, &on)) != 2) {
			free(old);
			close(ofd);
			return 0;
		}
		if (ov != validity) {
			free(old);
			close(ofd);
			if (warn_r && !*warned_r) {
				mm_err_set(warn_r, MM_E_IO, 0, 0, 0,
					   "the mbox's UIDVALIDITY is %u, %s has "
					   "%u (the old server renumbered its "
					   "messages): the UID lists are left "
					   "alone", validity, file, ov);
				*warned_r = 1;
			}
			return 0;
		}
		/* the next UID never goes back */
		next_old = on;
		if (on > next)
			next = on;
	}
	if (format_list(dovecot, uids, n, list, validity, next, &text,
			&textlen) < 0) {
		free(old);
		if (ofd >= 0)
			close(ofd);
		return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0,
				  "out of memory");
	}
	if (old && (size_t)st.st_size == textlen &&
	    memcmp(old, text, textlen) == 0) {
		/* the same list: nothing to write */
		free(old);
		free(text);
		close(ofd);
		return 0;
	}
	if (old) {
		unsigned long bad = only_added(old, (size_t)st.st_size, text,
					       textlen, next_old);

		if (bad) {
			free(old);
			free(text);
			close(ofd);
			if (warn_r && !*warned_r) {
				mm_err_set(warn_r, MM_E_IO, 0, 0, 0,
					   "%s left alone: the mbox gives UID "
					   "%lu to a message it does not list "
					   "so, below its next UID %lu",
					   file, bad, next_old);
				*warned_r = 1;
			}
			return 0;
		}
	}
	free(old);
	snprintf(tmp, sizeof(tmp), "%s.mmtmp", file);
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	/* the lists belong to the Maildir's owner, like the messages: set
	 * on the descriptor, as the name may already be a link elsewhere */
	mm_fs_owner_of(dfd, &own);
	if (fd < 0 || mm_fs_write_all(fd, text, textlen) < 0 ||
	    (own.chown && fchown(fd, own.uid, own.gid) < 0) || fsync(fd) < 0) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
			unlinkat(dfd, tmp, 0);
		}
		free(text);
		if (ofd >= 0)
			close(ofd);
		return mm_err_set(err_r, MM_E_IO, e, 0, 0, "cannot write %s: %s",
				  file, strerror(e));
	}
	close(fd);
	if (ofd >= 0) {
		/* replaced only if the name is still the file we read: the
		 * same inode, size and times as the descriptor we read it
		 * by, looked at again right before the rename. A server
		 * writing it between that look and the rename (a window of
		 * two system calls, as for courierpop3dsizelist) would lose
		 * that write: the files it had numbered then get new UIDs
		 * from it. Our rewrite only adds UIDs at or above those of
		 * our earlier list and drops removed files, so a server that
		 * read our list unchanged (Courier keeps its UIDs in
		 * courierimapuiddb alone; Dovecot rewrites the list, adding
		 * its G field, when it first opens it, making it its own)
		 * sees a consistent list. */
		struct stat cur;
		int same = fstat(ofd, &cur) == 0 && same_file(&cur, &st) &&
			   fstatat(dfd, file, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
			   S_ISREG(now.st_mode) && same_file(&now, &st);

		close(ofd);
		if (!same || renameat(dfd, tmp, dfd, file) < 0) {
			int e = errno;
			unlinkat(dfd, tmp, 0);
			free(text);
			if (!same)
				return 0; /* the server's now */
			return mm_err_set(err_r, MM_E_IO, e, 0, 0,
					  "cannot write %s: %s", file, strerror(e));
		}
	} else if (mm_maildir_move(dfd, tmp, dfd, file, 0, &linked) < 0) {
		/* the writer's no-replace move: by link where
		 * RENAME_NOREPLACE is missing (FUSE, NFS) */
		int e = errno;
		unlinkat(dfd, tmp, 0);
		free(text);
		if (e == EEXIST)
			return 0; /* the server made one meanwhile: its own */
		return mm_err_set(err_r, MM_E_IO, e, 0, 0, "cannot write %s: %s",
				  file, strerror(e));
	}
	rec->size = textlen;
	rec->digest = digest_of(text, textlen);
	rec->have = 1;
	free(text);
	return 1;
}

int mm_uidlist_write(struct mm_maildir *md, const struct mm_uid *uids,
		     size_t n, uint32_t uidvalidity, uint32_t uid_next,
		     struct mm_err *err_r, struct mm_err *warn_r,
		     int *warned_r)
{
	struct mm_maildir_list list;
	struct uidrec rec[2];
	struct mm_err e2;
	int dfd = mm_maildir_fd(md), a, b;

	*warned_r = 0;
	if (mm_maildir_list(md, &list, err_r) < 0)
		return -1;
	uidrec_read(dfd, rec);
	a = write_list(dfd, 0, uids, n, &list, uidvalidity, uid_next, &rec[0],
		       err_r, warn_r, warned_r);
	/* one list refused is no reason to leave out the other */
	b = write_list(dfd, 1, uids, n, &list, uidvalidity, uid_next, &rec[1],
		       a < 0 ? &e2 : err_r, warn_r, warned_r);
	mm_maildir_list_free(&list);
	/* the renames are durable before the run reports success */
	if ((a > 0 || b > 0) && fsync(dfd) < 0 && a >= 0 && b >= 0)
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
				  "cannot sync the Maildir: %s", strerror(errno));
	/* then what we wrote is recorded (a stop before: the lists are
	 * the server's, left alone by later passes, as before) */
	if ((a > 0 || b > 0) &&
	    uidrec_write(dfd, rec, a < 0 || b < 0 ? &e2 : err_r) < 0 &&
	    a >= 0 && b >= 0)
		return -1;
	if (a < 0 || b < 0)
		return -1;
	return a + b;
}

/* POP3's octets of a message file (Courier counts CRLF line ends: the
 * bytes and one more per LF, pop3dserver.c calcsize()) and whether its
 * header has 8-bit bytes (its isutf8 flag). 0, or -1 (err_r). */
static int pop3_size(int fd, unsigned long *size_r, int *utf8_r,
		     struct mm_err *err_r)
{
	char buf[65536];
	unsigned long bytes = 0, lf = 0;
	int in_header = 1, last = '\n', utf8 = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
					  "cannot read a message: %s",
					  strerror(errno));
		}
		for (ssize_t i = 0; i < n; i++) {
			int c = (unsigned char)buf[i];

			if (c == '\n') {
				lf++;
				if (last == '\n')
					in_header = 0;
			} else if (in_header && c >= 0x80) {
				utf8 = 1;
			}
			/* a CR before LF does not end the header line early */
			if (c != '\r')
				last = c;
		}
		bytes += (unsigned long)n;
	}
	*size_r = bytes + lf;
	*utf8_r = utf8;
	return 0;
}

/* The existing courierpop3dsizelist text (len bytes) as ours to
 * extend: a header "/3 ..." (or /2) and entries all with UID 0, that
 * is, Courier has numbered nothing yet. Their base names go to have. 1
 * ours, 0 Courier's, -1 out of memory. */
static int pop3list_ours(const char *buf, size_t len, struct mm_keyset *have)
{
	const char *end = buf + len, *line, *nl;

	if (len < 3 || buf[0] != '/' || (buf[1] != '3' && buf[1] != '2') ||
	    buf[2] != ' ' || (nl = memchr(buf, '\n', len)) == NULL)
		return 0;
	for (line = nl + 1; line < end; line = nl + 1) {
		const char *sp, *name_end, *colon;

		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			return 0; /* cut short: not ours to extend */
		/* "NAME SIZE UID:UIDV[:UTF8]": the UID after the last space */
		for (sp = nl; sp > line && sp[-1] != ' '; sp--)
			;
		if (sp == line || nl - sp < 2 || sp[0] != '0' || sp[1] != ':')
			return 0;
		name_end = memchr(line, ' ', (size_t)(nl - line));
		colon = memchr(line, ':', (size_t)(name_end - line));
		if (mm_keyset_add(have, mm_maildir_plain_key(line,
				  (size_t)((colon ? colon : name_end) - line))) < 0)
			return -1;
	}
	return 1;
}

int mm_pop3list_write(struct mm_maildir *md, const uint64_t *keys,
		      size_t n, struct mm_err *err_r)
{
	static const char file[] = "courierpop3dsizelist";
	struct mm_maildir_list list;
	struct mm_keyset have;
	struct mm_fs_owner own;
	char tmp[64], *old = NULL, *again = NULL;
	size_t oldlen = 0, againlen = 0, added = 0;
	int dfd = mm_maildir_fd(md), fd, r = 0, o;
	FILE *f;

	memset(&have, 0, sizeof(have));
	/* an existing list is the server's once Courier numbered a message
	 * in it; until then it is ours (every UID 0), and extended with
	 * the messages it lacks (a later pass's, another source's) */
	if (mm_fs_read_at(dfd, file, 256u << 20, &old, &oldlen, err_r) < 0) {
		char why[sizeof(err_r->text) + 8];
		size_t fl = strlen(file);

		/* "courierpop3dsizelist is a symlink: ..." -> "it is ..." */
		snprintf(why, sizeof(why), "%s%s",
			 strncmp(err_r->text, file, fl) == 0 && err_r->text[fl] == ' ' ? "it" : "",
			 strncmp(err_r->text, file, fl) == 0 && err_r->text[fl] == ' ' ? err_r->text + fl : err_r->text);
		return mm_err_set(err_r, MM_E_IO, err_r->sys_errno, 0, 0,
				  "cannot write %s: %s; left alone", file, why);
	}
	if (old && (o = pop3list_ours(old, oldlen, &have)) <= 0) {
		free(old);
		mm_keyset_free(&have);
		if (o < 0)
			return mm_err_set(err_r, MM_E_NOMEM, ENOMEM, 0, 0,
					  "out of memory");
		return 0;
	}
	if (mm_maildir_list(md, &list, err_r) < 0) {
		free(old);
		mm_keyset_free(&have);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.mmtmp", file);
	unlinkat(dfd, tmp, 0);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		free(old);
		mm_keyset_free(&have);
		mm_maildir_list_free(&list);
		return mm_err_set(err_r, MM_E_IO, e, 0, 0, "cannot write %s: %s",
				  file, strerror(e));
	}
	/* version 3: "/3 NEXTUID UIDVALIDITY", then "NAME SIZE UID:UIDV:UTF8"
	 * per message. UID 0 is Courier's "version 0" UIDL: the file name
	 * up to the ':' (pop3dserver.c print_uidl()), which is the old
	 * POP3 UIDL for the messages named by it; the messages this list
	 * leaves out are numbered by Courier (UID<n>-<uidv>) */
	if (old)
		fwrite(old, 1, oldlen, f);
	else
		fprintf(f, "/3 1 %lu\n", (unsigned long)time(NULL));
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct mm_maildir_entry *e =
			mm_maildir_list_find(&list, keys[i]);
		unsigned long size;
		const char *b;
		size_t blen;
		int mfd, utf8;

		if (e == NULL)
			continue; /* not delivered (reported elsewhere) */
		b = base_of(e->name, &blen);
		if (mm_keyset_has(&have, mm_maildir_plain_key(b, blen)))
			continue;
		if ((mfd = mm_maildir_open_entry(md, e, err_r)) < 0) {
			r = -1;
			break;
		}
		r = pop3_size(mfd, &size, &utf8, err_r);
		close(mfd);
		/* a file of new/ is listed by the name Courier's pop3d gives
		 * it when it moves it into cur/ (maildir_getnew(): NAME:2,),
		 * which it compares up to the ':' and beyond on one side only */
		if (r == 0) {
			fprintf(f, "%s%s %lu 0:0:%d\n", e->name + 4,
				strncmp(e->name, "new/", 4) == 0 &&
					strchr(e->name, ':') == NULL ? ":2," : "",
				size, utf8);
			added++;
		}
	}
	mm_maildir_list_free(&list);
	mm_keyset_free(&have);
	mm_fs_owner_of(dfd, &own);
	if (r < 0 || added == 0 || fflush(f) != 0 ||
	    (own.chown && fchown(fd, own.uid, own.gid) < 0) || fsync(fd) < 0) {
		int e = errno;
		fclose(f);
		unlinkat(dfd, tmp, 0);
		free(old);
		if (r < 0)
			return -1;
		if (added == 0)
			return 0;
		return mm_err_set(err_r, MM_E_IO, e, 0, 0, "cannot write %s: %s",
				  file, strerror(e));
	}
	fclose(f);
	if (old) {
		/* replaced only if it is still what was read: a Courier
		 * session meanwhile makes it its own (a window of a few
		 * system calls remains) */
		struct mm_err e2;
		int same = mm_fs_read_at(dfd, file, 256u << 20, &again, &againlen, &e2) == 0 &&
			   again && againlen == oldlen && memcmp(again, old, oldlen) == 0;

		free(again);
		free(old);
		if (!same || renameat(dfd, tmp, dfd, file) < 0) {
			int e = errno;
			unlinkat(dfd, tmp, 0);
			if (!same)
				return 0;
			return mm_err_set(err_r, MM_E_IO, e, 0, 0,
					  "cannot write %s: %s", file, strerror(e));
		}
	} else {
		int linked;

		if (mm_maildir_move(dfd, tmp, dfd, file, 0, &linked) < 0) {
			int e = errno;
			unlinkat(dfd, tmp, 0);
			if (e == EEXIST)
				return 0;
			return mm_err_set(err_r, MM_E_IO, e, 0, 0,
					  "cannot write %s: %s", file, strerror(e));
		}
	}
	if (fsync(dfd) < 0)
		return mm_err_set(err_r, MM_E_IO, errno, 0, 0,
				  "cannot sync the Maildir: %s", strerror(errno));
	return 1;
}
