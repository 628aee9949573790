/* mm_state.h - which messages of a Maildir this tool delivered, from
 * which source, and with what flags: the memory that lets a later pass
 * (--sync) re-flag and remove our own messages and never anyone else's.
 *
 * The file "migratemail-state" in the Maildir (each Maildir++ folder
 * has its own) is text, one line per message, a section per source:
 *
 *	migratemail-state 1
 *	source <name, %XX-escaped: bytes outside 0x21-0x7e and '%'>
 *	<key> <size> <digest> <src> <left> <base>
 *	...
 *
 * key: 16 hex digits, the message's Maildir key (mm_maildir_key(): the
 * reader's identity hash of its From_ line and headers, struct
 * mm_msg.hash, with its copy number), the same in every pass over an
 * mbox whose messages keep their headers; size: the bytes of its file;
 * digest: the digest of the bytes delivered into the file (mm_digest.h:
 * 64 bits, 16 hex digits; a later, stronger digest would be written
 * with a prefix, "name:hex"), or "-" when not known (a file of a pass
 * of an older version); when the mbox held other bytes under that key
 * at our last pass (the file was kept: see mm_sync.h, "changed"), the
 * digest of those follows after a '/': "<file's>/<mbox's>"; base: its file name up to ":2," (never changed by a pass, so
 * IMAP UIDs and POP3 UIDLs of it stay); src and left: flag tokens (see
 * struct mm_sflags), src what the mbox said at our last pass ("-": the
 * message had gone from the mbox, and the file was kept), left what we
 * left the file as ("-": it had gone from the Maildir, and was not
 * delivered again). Lines of other sources are kept as they are.
 *
 * The file is replaced as a whole at the end of a pass, atomically and
 * durably (mm_fs_replace_at(): "migratemail-state.mmtmp" created with
 * O_EXCL, owned by the Maildir's owner, fsynced, renamed over it, the
 * directory fsynced), after the messages it lists are durable.
 */
#ifndef MM_STATE_H
#define MM_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "mm_err.h"
#include "mm_fs.h"

#define MM_STATE_FILE "migratemail-state"

/* Where a message is and its info letters: new/ or cur/, ":2," or not,
 * the letters A-Z and a-z of the info (Maildir flags and Dovecot
 * keywords); or gone. */
struct mm_sflags {
	signed char where;      /* 0 new/, 1 cur/, -1 gone */
	unsigned char has_info; /* the name has ":2," */
	uint64_t letters;       /* bit 0-25 'A'-'Z', 26-51 'a'-'z' */
};

/* "new", "cur:2,FS", "new:2,S", "cur", "-". buf: MM_SFLAGS_MAX bytes. */
#define MM_SFLAGS_MAX 64
void mm_sflags_format(const struct mm_sflags *f, char *buf);
/* Parse a token: 0, or -1 if it is none. */
int mm_sflags_parse(const char *s, size_t len, struct mm_sflags *f_r);
/* Of a listed Maildir file, "new/NAME" or "cur/NAME". */
void mm_sflags_of_entry(const char *entry_name, struct mm_sflags *f_r);
/* Of the info string "FS" (NULL: no ":2," part), placed in cur/ or new/. */
void mm_sflags_of_info(int in_cur, const char *info, struct mm_sflags *f_r);
/* The info letters of f, sorted (ASCII order), NUL-terminated, into
 * buf (53 bytes). */
void mm_sflags_info(const struct mm_sflags *f, char *buf);
int mm_sflags_equal(const struct mm_sflags *a, const struct mm_sflags *b);

/* One message of ours. */
struct mm_state_rec {
	uint64_t key, size, digest;
	int has_digest;
	/* the mbox's bytes at our last pass, when not the file's */
	uint64_t src_digest;
	int has_src_digest;
	struct mm_sflags src, left;
	const char *base;       /* owned by the state it came from */
};

struct mm_state;

/* Read the state file of the Maildir dfd (a missing file is an empty
 * state) and take the records of source. A file that is not ours
 * (not a regular file with one link, a wrong first line, a line that
 * does not parse) is an error: nothing is synced from or written over
 * it. NULL on error. */
struct mm_state *mm_state_load(int dfd, const char *source,
			       struct mm_err *err_r);
void mm_state_free(struct mm_state *s);

/* The records of our source that the file had, sorted by key. */
size_t mm_state_count(const struct mm_state *s);
const struct mm_state_rec *mm_state_at(const struct mm_state *s, size_t i);
/* Our source's record of key, or NULL. */
const struct mm_state_rec *mm_state_find(const struct mm_state *s,
					 uint64_t key);
/* Does another source's section list key? */
int mm_state_claimed(const struct mm_state *s, uint64_t key);

/* Add a record of our source for the file to write (rec->base is
 * copied). 0, or -1 out of memory. */
int mm_state_put(struct mm_state *s, const struct mm_state_rec *rec,
		 struct mm_err *err_r);
/* How many records were put. */
size_t mm_state_put_count(const struct mm_state *s);
/* Would mm_state_save() write what the file says already (it was
 * there, and the records put are those read, field for field)? Then a
 * pass that changed nothing need not write nor sync it. 1 or 0. */
int mm_state_unchanged(struct mm_state *s);
/* Write the file: the other sources' sections as read, then ours with
 * the records put (none: our section is left out). 0 or -1. Nothing
 * can be put after. */
int mm_state_save(struct mm_state *s, int dfd, const struct mm_fs_owner *own,
		  struct mm_err *err_r);

#endif
