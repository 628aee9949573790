/* mm_folder.c - Maildir++ folders of a Maildir, made safely as root. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm_folder.h"
#include "mm_fs.h"

int mm_folder_make(int dfd, const char *name, int do_sync,
		   struct mm_err *err_r)
{
	char dir[MM_FS_NAME_MAX];
	struct mm_fs_owner own;
	int made = 0, ffd, fd, ret = 0;

	if (name[0] == '\0' || name[0] == '.' || strchr(name, '/') != NULL ||
	    snprintf(dir, sizeof(dir), ".%s", name) >= (int)sizeof(dir))
		return mm_err_set(err_r, MM_E_USAGE, EINVAL, 0, 0,
				  "'%.200s' cannot be a folder name", name);
	mm_fs_owner_of(dfd, &own);
	ffd = mm_fs_mkdir_at(dfd, dir, 0700, &own, &made, err_r);
	if (ffd < 0)
		return -1;
	fd = mm_fs_create_at(ffd, "maildirfolder", 0600, O_WRONLY, &own, err_r);
	if (fd >= 0) {
		if (do_sync && fsync(fd) < 0)
			ret = mm_err_set(err_r, MM_E_IO, errno, 0, 0,
					 "cannot sync %s/maildirfolder: %s",
					 dir, strerror(errno));
		close(fd);
		made = 1;
	} else if (err_r->sys_errno == EEXIST) {
		/* there already: it must be a marker, not a link */
		fd = mm_fs_open_at(ffd, "maildirfolder", MM_FS_FILE, 0, NULL,
				   err_r);
		if (fd < 0)
			ret = -1;
		else
			close(fd);
	} else {
		ret = -1;
	}
	if (ret == 0 && made && do_sync && (fsync(ffd) < 0 || fsync(dfd) < 0))
		ret = mm_err_set(err_r, MM_E_IO, errno, 0, 0,
				 "cannot sync %s: %s", dir, strerror(errno));
	close(ffd);
	return ret;
}
