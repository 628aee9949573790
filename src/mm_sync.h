/* mm_sync.h - a pass that makes the Maildir match the mbox again (the
 * cut-over pass, --sync), touching only the messages this tool
 * delivered from that source.
 *
 * Every pass of mm_convert() with a source name records, in the state
 * file of the Maildir (mm_state.h), the messages of that source that
 * the Maildir holds: their key, base name, size and the flags we left.
 * A sync pass (mode not MM_SYNC_OFF) then, for each message of the mbox:
 *
 *   - not in the Maildir: delivered, as any pass does; but one that
 *     the state lists and that is gone from the Maildir was deleted on
 *     the new server: it stays deleted (a conflict, reported once),
 *     unless MM_SYNC_SOURCE_WINS;
 *   - in the Maildir: when its flags there are still the ones we left
 *     and the mbox says others, its file is renamed to the mbox's flags
 *     (new/ -> cur/, or another ":2," part), keeping its base name, so
 *     Dovecot's and Courier's UIDs and the POP3 UIDL stay; when they
 *     were changed on the new server, that change wins (a conflict,
 *     reported), unless MM_SYNC_SOURCE_WINS.
 *
 * And once the whole mbox was read without error (never after a read
 * error or a truncated read: nothing is removed then), each message of
 * the source's state that the mbox no longer has is removed from the
 * Maildir if its file is the one we left (same base name, size, and
 * flags; one whose flags were changed on the new server is kept and
 * reported, unless MM_SYNC_SOURCE_WINS). A file the state does not list
 * for this source is never renamed nor removed, with one exception
 * that keeps a killed pass safe: a file named with the key of a message
 * of this mbox that no other source's state lists is taken as ours (a
 * pass killed before it wrote the state delivered it, or a pass of an
 * older version did), with its flags of now as the ones we left.
 *
 * Crash safety: removals happen after the pass's messages are durable
 * and visible; new/, cur/ and tmp/ are synced; the state is
 * written last (atomically). A pass killed at any point leaves a state
 * that at worst lists files already gone (dropped by the next pass) or
 * misses files delivered since (taken as ours by the next pass, above),
 * so running it again ends exact.
 *
 * Identity is the key (the From_ line and headers but the mbox store's
 * own, see mm_mbox.h) and the size; the bytes are told by a digest
 * (mm_digest.h: 64 bits, it finds damage, not forgery). Each file we
 * deliver has the digest of its bytes recorded in the state, computed
 * as they are written; in a sync pass each message of the mbox that
 * the Maildir has is digested as it is read (no second read of the
 * mbox) and compared with the record. A message whose bytes are not
 * those of its file, and not those the mbox had at our last pass, is
 * "changed" (its body was edited on the old server, or with
 * keep_headers its Status lines changed with its flags): a warning
 * (MM_W_CHANGED, once: the state then records the mbox's digest
 * beside the file's), counted, in the manifest; the file is kept as
 * it is in both modes: a sync pass renames and removes, it never
 * rewrites a message (which would change its ",S=", so its name, IMAP
 * UID and POP3 UIDL); --verify --repair takes the mbox's bytes. The
 * file itself is read only when the record cannot say (no digest: a
 * pass of an older version or a killed one; another name or size: a
 * repair) or the digests differ (a repair keeps the size sometimes).
 */
#ifndef MM_SYNC_H
#define MM_SYNC_H

#include <stdint.h>

#include "mm_err.h"
#include "mm_maildir.h"
#include "mm_mbox.h"

enum mm_sync_mode {
	MM_SYNC_OFF = 0,        /* add only (the state is still recorded) */
	MM_SYNC_TARGET_WINS,    /* --sync: the new server's changes win */
	MM_SYNC_SOURCE_WINS,    /* --sync=source-wins */
};

struct mm_sync_opts {
	const char *source;     /* the mbox's name in the state; NULL: no
				 * state read or written, no sync */
	enum mm_sync_mode mode;
	/* --dry-run: count what the pass would do (the Maildir opened
	 * read-only), change nothing, write no state */
	int plan;
	/* --manifest: a line per message and per removed file is written
	 * to manifest_fd (mm_manifest.h) at the end of the pass */
	int manifest;
	int manifest_fd;
	const char *maildir_name; /* the Maildir as the manifest names it */
};

/* What happened to a message, for the manifest. */
enum mm_sync_action {
	MM_ACT_NONE = 0,
	MM_ACT_DELIVERED,
	MM_ACT_PRESENT,
	MM_ACT_REPAIRED,
	MM_ACT_REFLAGGED,
	MM_ACT_CONFLICT,        /* changed on both servers: reason */
	MM_ACT_KEPT_DELETED,
	MM_ACT_FAILED,          /* reason */
	MM_ACT_CHANGED,         /* its bytes changed in the mbox: reason */
};

struct mm_sync_stats {
	unsigned long reflagged;  /* renamed to the mbox's flags */
	unsigned long removed;    /* gone from the mbox, removed */
	unsigned long conflicts;  /* changed on both sides (reported) */
	unsigned long kept_deleted; /* deleted on the new server, kept so */
	unsigned long changed;    /* bytes changed in the mbox, file kept */
	unsigned long recorded;   /* messages the state lists for source */
	unsigned long to_add;     /* plan: messages that would be delivered */
	int state_written;
	/* the messages of this mbox the Maildir holds at the end of the
	 * pass, delivered by it or by an earlier pass (a killed one too),
	 * their bytes and where they are: what a merge of a killed pass
	 * and its retry counts, so that it says what one whole pass would
	 * (has_in_place: counted, only by a pass that did not stop) */
	int has_in_place;
	unsigned long in_place, in_place_new, in_place_cur;
	uint64_t in_place_bytes;
};

struct mm_sync;
struct mm_state;

/* Called with each warning (a conflict; is_error 0) and each error (a
 * file that could not be renamed or removed, the state that could not
 * be written; is_error 1) of the sync. */
typedef void mm_sync_note_fn(void *ctx, const struct mm_err *e, int is_error);

/* Start: read the state of md and list its files. NULL on error (the
 * state file is not ours: nothing may be done). */
struct mm_sync *mm_sync_begin(struct mm_maildir *md,
			      const struct mm_sync_opts *opts,
			      mm_sync_note_fn *note, void *ctx,
			      struct mm_err *err_r);

/* Message m of the mbox, with Maildir key: 1 when the sync took care
 * of it (renamed: its file is there), 2 (kept deleted: it is not):
 * either way it is not to be delivered; 0 when the pass goes on as
 * without sync (deliver it, or count it present); -1 (err_r: about
 * this message, not fatal) when a rename failed. In a plan, renames
 * are counted, not done. kw_letters (or NULL): the letters of its
 * keywords (mm_keywords.h), part of its flags. */
int mm_sync_message(struct mm_sync *sy, struct mm_maildir *md,
		    const struct mm_msg *m, uint64_t key, const char *kw_letters,
		    struct mm_err *err_r);

/* Must the bytes of a message the Maildir has be read and digested
 * (mm_sync_bytes(..., 0))? In a sync pass, yes; an add-only pass
 * compares nothing. */
int mm_sync_wants_bytes(const struct mm_sync *sy);

/* The bytes of the last message given to mm_sync_message() (key) were
 * read: their digest and size. delivered: they went into a file of
 * this pass (delivered or repaired); else the Maildir had the message
 * and it is compared at the end of the pass (see "changed" above). */
void mm_sync_bytes(struct mm_sync *sy, uint64_t key, uint64_t digest,
		   uint64_t size, int delivered);

/* Tell what became of message msgno (the last one given to
 * mm_sync_message() or an earlier one): a failure replaces any other
 * outcome, other outcomes do not replace what the sync itself did. */
void mm_sync_outcome(struct mm_sync *sy, unsigned long msgno,
		     enum mm_sync_action action, const char *reason);

/* For mm_verify() after a sync pass that let the new server win: the
 * state of o->source in md, to tell a message the user deleted on the
 * new server (and the pass kept deleted) from one that is missing.
 * NULL when there is none (o NULL, no source, source-wins, no file).
 * Free with mm_sync_state_free(). */
struct mm_state *mm_sync_verify_state(struct mm_maildir *md,
				      const struct mm_sync_opts *o);
/* Was key deleted on the new server and kept so? (s may be NULL.) */
int mm_sync_kept_deleted(const struct mm_state *s, uint64_t key);
void mm_sync_state_free(struct mm_state *s);

/* Was the mbox read to its real end? Not when a reader warning said
 * it was cut short (MM_W_TRUNCATED among the n warnings), nor when fd
 * is a regular file whose last byte is not a newline (a copy cut
 * inside a message; an empty file is complete). On a pipe, a cut
 * inside a body cannot be seen. 1, or 0 with why_r filled. */
int mm_sync_mbox_complete(int fd, const struct mm_err *warnings, size_t n,
			  struct mm_err *why_r);

/* End of the pass, after every message is durable and visible:
 * removals (only when read_whole), then the state file. A pass that
 * stopped (a fatal error: the disk is full, the mbox unreadable)
 * removes nothing and writes no state: the next pass takes the files
 * it delivered as ours (see above). A plan counts the removals it
 * would make and writes nothing. Frees sy; counts in st_r. */
void mm_sync_end(struct mm_sync *sy, struct mm_maildir *md, int stopped,
		 int read_whole, struct mm_sync_stats *st_r);

#endif
