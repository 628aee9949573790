/* mm_convert.h - one mbox into one Maildir, and the proof it is there.
 *
 * The whole loop (read, split, unquote, write, sync, rename) runs here in
 * C. Message trouble is counted and listed in the statistics and the run
 * goes on; only trouble that would hit every later message as well (the
 * mbox cannot be read, the Maildir cannot be opened, the disk is full)
 * stops it, after what was complete has been made durable and visible.
 */
#ifndef MM_CONVERT_H
#define MM_CONVERT_H

#include "mm_maildir.h"
#include "mm_mbox.h"
#include "mm_oldpop3.h"
#include "mm_sync.h"

struct mm_convert_opts {
	struct mm_mbox_opts mbox;
	struct mm_maildir_opts maildir;
	size_t max_listed;   /* errors/warnings kept in the lists; 0: 1000 */
	/* The old POP3 server, whose UIDL of each message (mm_oldpop3.h)
	 * names its file (when it can be a file name and is unique), so
	 * POP3 servers that serve file names as UIDLs (qmail-pop3d,
	 * Dovecot with %f) keep them, and goes into dovecot-uidlist's P
	 * field. MM_OLDPOP3_NONE: no file is named by a UIDL. */
	enum mm_old_pop3 old_pop3;
	/* Write dovecot-uidlist and courierimapuiddb when the mbox has a
	 * UIDVALIDITY and ascending X-UIDs (messages without one are left
	 * for the server to number), and the Maildir has no such list yet;
	 * only from a run in which no message failed, so that a list never
	 * has holes: after a kill or a failure, the re-run that completes
	 * the mailbox writes it. */
	int uid_lists;
	/* Take no UID headers of this mbox (X-UID, X-IMAP, X-IMAPbase) as
	 * the IMAP state clients saw: a UW-IMAP user's spool beside the
	 * ~/mbox that UW served as INBOX (its mail was never numbered by
	 * UW; any such headers came from elsewhere). No message is named
	 * by a UID-based UIDL, none goes to cur/ for its UID, no UID list
	 * is written, and the forecast counts them as not kept. */
	int ignore_uids;
	/* mm_verify() only: re-deliver what is missing or differs (opens
	 * the Maildir to write; see there). */
	int repair;
	/* mm_convert() only, for an mbox that cannot be read again (a
	 * pipe): keep the size and digest of every message as it streams
	 * by (mm_digest.h) and, when the whole mbox was read, check the
	 * Maildir's file of each against them: counted in verified,
	 * missing, mismatched, each problem listed in errors (not counted
	 * as failed), as mm_verify() does by comparing bytes. */
	int verify_digest;
	/* mm_convert() only: record the source's messages in the state
	 * file, and with a sync mode make the Maildir match (mm_sync.h) */
	struct mm_sync_opts sync;
	/* mm_convert() only: > 0, a progress line on this fd (a
	 * terminal) a few times a second (mm_progress.h), for the
	 * progress_total bytes (0: unknown) of mailbox progress_name */
	int progress_fd;
	uint64_t progress_total;
	const char *progress_name;
};

struct mm_issue_list {
	struct mm_err *items; /* message number, offset, text of each */
	size_t len, cap;
	unsigned long dropped; /* beyond max_listed, only counted */
};

struct mm_convert_stats {
	unsigned long messages;        /* read from the mbox, pseudo included */
	unsigned long delivered, to_new, to_cur;
	uint64_t bytes;                /* bytes delivered */
	unsigned long skipped_pseudo;  /* UW-IMAP folder data, not mail */
	unsigned long skipped_present; /* already in the Maildir */
	unsigned long repaired;        /* damaged or wrong files replaced,
					* (verify) missing ones delivered */
	unsigned long failed;          /* messages not delivered by error */
	unsigned long tmp_cleaned;     /* leftovers of a killed run removed */
	unsigned long linked;          /* delivered as O_TMPFILEs linked by
					* descriptor (else renamed from tmp/) */
	unsigned long batches;         /* synced batches (fsync batch, each) */
	unsigned long batches_by_file; /* of them: each file fsynced, not
					* syncfs (much else was dirty) */
	enum mm_fsync fsync;           /* the fsync mode used */
	int durable;                   /* it makes messages durable there */
	char durability[160];          /* the mode and why (mm_fstype.h) */
	int has_imapbase;
	uint32_t uidvalidity, uid_last;
	enum mm_format format;         /* the variant used */
	char format_reason[MM_FORMAT_REASON_MAX]; /* and why (mm_mbox.h) */
	int uid_lists_written;         /* 0, 1 or 2 */
	int pop3_list_written;         /* courierpop3dsizelist: 0 or 1 */
	struct mm_keep_stats keep;     /* POP3 UIDLs and IMAP UIDs kept */
	unsigned long keywords_kept;   /* keyword occurrences carried */
	unsigned long keywords_dropped; /* not atoms, beyond 26 names */
	unsigned long keywords_messages; /* messages with a keyword */
	unsigned long uids_ignored;    /* opts ignore_uids: messages with an
					* X-UID, X-IMAP or X-IMAPbase taken
					* as none */
	uint64_t spilled, spill_peak;  /* a pipe's bytes copied to disk to
					* check Content-Length (mm_mbox.h) */
	/* verification only (mm_verify(), or verify_digest) */
	unsigned long verified, missing, mismatched;
	struct mm_sync_stats sync;     /* opts sync.source given */
	struct mm_issue_list errors;   /* per message: not delivered, wrong */
	struct mm_issue_list warnings; /* odd input, kept anyway */
};

/* Convert the mbox read from src_fd into the Maildir at maildir.
 * A message whose key a sound file holds is skipped (skipped_present);
 * one whose file is damaged (its size is not the one its name promises,
 * see mm_maildir_damaged()) is re-delivered over it (repaired); the
 * others are delivered. Bytes are not compared: mm_verify() does that.
 * st is zeroed first; free its lists with mm_convert_stats_free().
 * Returns 0 when the whole mbox was read (st->failed may still be > 0),
 * -1 when the run stopped early (err_r says why). */
int mm_convert(int src_fd, const char *maildir,
	       const struct mm_convert_opts *opts,
	       struct mm_convert_stats *st, struct mm_err *err_r);

/* Read the mbox again and check that every message (but the pseudo
 * message) is in the Maildir byte for byte. Counts verified, missing and
 * mismatched; each problem is listed in st->errors. Changes nothing,
 * unless opts->repair: then a message that differs is re-delivered over
 * its file (keeping its name, but for the ",S=" size) and one that is
 * missing is delivered, both counted as repaired and listed as warnings
 * (an ERROR only if the repair fails); a pipe is read once, the bytes
 * before the first difference are taken from the file. Of several
 * files of one key, a regular file of the promised size is compared.
 * Returns 0 when the check ran to the end, -1 if it could not. */
int mm_verify(int src_fd, const char *maildir,
	      const struct mm_convert_opts *opts,
	      struct mm_convert_stats *st, struct mm_err *err_r);

void mm_convert_stats_free(struct mm_convert_stats *st);

#endif
