# XS glue for src/mm_fs.c and src/mm_folder.c: the safe, descriptor-based
# file-system layer for what users own. Included at the end of
# MigrateMail.xs. The Perl API over these is lib/MigrateMail/FS.pm;
# descriptors are plain integers there, owned by its objects.
#
# Failures return (undef, text, errno), successes what the C call gave.

#include <dirent.h>
#include "src/mm_fs.h"
#include "src/mm_folder.h"
#include "src/mm_quota.h"

MODULE = MigrateMail	PACKAGE = MigrateMail::FS

PROTOTYPES: DISABLE

void
_open_path(path, kind, trust)
	const char *path
	int kind
	int trust
    PREINIT:
	struct mm_err err;
	struct stat st;
	int fd;
    PPCODE:
	fd = mm_fs_open_path(path, (enum mm_fs_kind)kind,
			     trust ? MM_FS_TRUST : 0, &st, &err);
	if (fd < 0) {
		XPUSHs(&PL_sv_undef);
		mXPUSHs(newSVpv(err.text, 0));
		mXPUSHs(newSViv(err.sys_errno));
	} else {
		mXPUSHs(newSViv(fd));
		mXPUSHs(newSVuv((UV)st.st_uid));
		mXPUSHs(newSVuv((UV)st.st_gid));
		mXPUSHs(newSVuv((UV)st.st_size));
	}

void
_open_at(dfd, name, kind, under)
	int dfd
	const char *name
	int kind
	int under
    PREINIT:
	struct mm_err err;
	struct stat st;
	int fd;
    PPCODE:
	fd = under ? mm_fs_open_under(dfd, name, (enum mm_fs_kind)kind, &st, &err)
		   : mm_fs_open_at(dfd, name, (enum mm_fs_kind)kind, 0, &st, &err);
	if (fd < 0) {
		XPUSHs(&PL_sv_undef);
		mXPUSHs(newSVpv(err.text, 0));
		mXPUSHs(newSViv(err.sys_errno));
	} else {
		mXPUSHs(newSViv(fd));
		mXPUSHs(newSVuv((UV)st.st_uid));
		mXPUSHs(newSVuv((UV)st.st_gid));
		mXPUSHs(newSVuv((UV)st.st_size));
	}

void
_list(dfd)
	int dfd
    PREINIT:
	DIR *d;
	struct dirent *de;
	int fd;
    PPCODE:
	/* a copy of the descriptor, read from its start */
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		croak("ERROR: cannot read directory: %s", strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		AV *e;
		const char *type;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		type = S_ISREG(st.st_mode) ? "f" : S_ISDIR(st.st_mode) ? "d"
		     : S_ISLNK(st.st_mode) ? "l" : "o";
		e = newAV();
		av_push(e, newSVpv(de->d_name, 0));
		av_push(e, newSVpv(type, 1));
		av_push(e, newSVuv((UV)st.st_size));
		av_push(e, newSVuv((UV)st.st_nlink));
		av_push(e, newSVuv((UV)st.st_uid));
		mXPUSHs(newRV_noinc((SV *)e));
	}
	closedir(d);

void
_mkdir_at(dfd, name)
	int dfd
	const char *name
    PREINIT:
	struct mm_err err;
	struct mm_fs_owner own;
	int fd, made = 0;
    PPCODE:
	mm_fs_owner_of(dfd, &own);
	fd = mm_fs_mkdir_at(dfd, name, 0700, &own, &made, &err);
	if (fd < 0) {
		XPUSHs(&PL_sv_undef);
		mXPUSHs(newSVpv(err.text, 0));
		mXPUSHs(newSViv(err.sys_errno));
	} else {
		mXPUSHs(newSViv(fd));
		mXPUSHs(newSViv(made));
	}

void
_read_at(dfd, name, max)
	int dfd
	const char *name
	UV max
    PREINIT:
	struct mm_err err;
	char *buf;
	size_t len;
    PPCODE:
	if (mm_fs_read_at(dfd, name, (size_t)max, &buf, &len, &err) < 0) {
		XPUSHs(&PL_sv_undef);
		mXPUSHs(newSVpv(err.text, 0));
		mXPUSHs(newSViv(err.sys_errno));
	} else if (buf == NULL) {
		XPUSHs(&PL_sv_undef); /* no such file */
	} else {
		mXPUSHs(newSVpvn(buf, len));
		free(buf);
	}

SV *
_replace_at(dfd, name, data, owned)
	int dfd
	const char *name
	SV *data
	int owned
    PREINIT:
	struct mm_err err;
	struct mm_fs_owner own;
	STRLEN len;
	const char *p;
    CODE:
	p = SvPVbyte(data, len);
	if (owned)
		mm_fs_owner_of(dfd, &own);
	else
		memset(&own, 0, sizeof(own));
	RETVAL = mm_fs_replace_at(dfd, name, p, len, &own, &err) < 0
		 ? newSVpv(err.text, 0) : &PL_sv_undef;
    OUTPUT:
	RETVAL

void
_open_parent(path, trust)
	const char *path
	int trust
    PREINIT:
	struct mm_err err;
	char name[MM_FS_NAME_MAX];
	int fd;
    PPCODE:
	fd = mm_fs_open_parent(path, trust ? MM_FS_TRUST : 0, name, &err);
	if (fd < 0) {
		XPUSHs(&PL_sv_undef);
		mXPUSHs(newSVpv(err.text, 0));
		mXPUSHs(newSViv(err.sys_errno));
	} else {
		mXPUSHs(newSViv(fd));
		mXPUSHs(newSVpv(name, 0));
	}

SV *
_make_folder(dfd, name, do_sync)
	int dfd
	const char *name
	int do_sync
    PREINIT:
	struct mm_err err;
    CODE:
	memset(&err, 0, sizeof(err));
	RETVAL = mm_folder_make(dfd, name, do_sync, &err) < 0
		 ? newSVpv(err.text, 0) : &PL_sv_undef;
    OUTPUT:
	RETVAL

void
_close(fd)
	int fd
    CODE:
	close(fd);

void
_quota_usage(dfd)
	int dfd
    PREINIT:
	struct mm_err err;
	struct mm_quota_usage u;
    PPCODE:
	if (mm_quota_scan(dfd, &u, &err) < 0) {
		XPUSHs(&PL_sv_undef);
		mXPUSHs(newSVpv(err.text, 0));
	} else {
		mXPUSHs(newSVnv((NV)u.bytes));
		mXPUSHs(newSVnv((NV)u.count));
	}
