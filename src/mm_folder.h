/* mm_folder.h - Maildir++ folders of a Maildir, made safely as root.
 *
 * A folder "a.b" is the directory ".a.b/" of the Maildir, marked by an
 * empty "maildirfolder" file; its tmp/ new/ cur/ are made when
 * mm_maildir_open() opens it (opts.at_set/at_fd: the Maildir's fd).
 * Everything goes through mm_fs.h: owned by the Maildir's owner,
 * never through a link, synced before success is reported.
 */
#ifndef MM_FOLDER_H
#define MM_FOLDER_H

#include "mm_err.h"

/* Make (or check) folder name ("a.b", no leading dot) in the Maildir
 * whose directory is dfd, with its maildirfolder; with do_sync, the new
 * entries are fsynced. 0 or -1. */
int mm_folder_make(int dfd, const char *name, int do_sync,
		   struct mm_err *err_r);

#endif
