/* mm_keywords.h - IMAP keywords (the X-Keywords header of UW-IMAP,
 * Dovecot and Pine mboxes) carried into the Maildir: for Dovecot as
 * letters a-z after the flags of the info (":2,Sab"), named in
 * dovecot-keywords ("0 $Forwarded" per line: letter a is keyword 0,
 * 26 at most per Maildir: Dovecot's limit); for Courier-IMAP as one file
 * per message in courierimapkeywords/ (BASE, a keyword per line), the
 * form its imapd writes on STORE and merges into courierimapkeywords/
 * :list when it opens the mailbox.
 */
#ifndef MM_KEYWORDS_H
#define MM_KEYWORDS_H

#include <stddef.h>
#include <stdint.h>

#include "mm_err.h"

#define MM_KW_LETTERS 26
/* the info letters of one message: flags (5) + keywords (26) + NUL */
#define MM_INFO_MAX 40

struct mm_keywords {
	char *names[MM_KW_LETTERS]; /* keyword of letter 'a' + i */
	size_t n;
	int added;                  /* names not in dovecot-keywords yet */
	unsigned long kept;         /* keyword occurrences carried */
	unsigned long dropped;      /* beyond 26 names, or not an atom */
	unsigned long messages;     /* messages with a keyword carried */
};

/* Start with dovecot-keywords of the Maildir dfd if there is one (a
 * regular file read without following a link: its letters are kept).
 * 0, or -1 (err_r) if it cannot be read or has no sense. */
int mm_keywords_init(struct mm_keywords *k, int dfd, struct mm_err *err_r);

/* The letters (sorted, NUL-terminated, at most 26) of the keywords in
 * the X-Keywords value kw (space- or comma-separated), into out
 * (MM_INFO_MAX). Names beyond the 26 letters, and words that are no
 * IMAP atom, are dropped and counted; *dropped_r (if not NULL): how
 * many of this message's. -1 out of memory, else the number of letters. */
int mm_keywords_letters(struct mm_keywords *k, const char *kw, char *out,
			unsigned *dropped_r);

/* Write dovecot-keywords into dfd when names were added (atomically,
 * owned by the Maildir's owner). 1 written, 0 nothing to write, -1. */
int mm_keywords_write_dovecot(struct mm_keywords *k, int dfd,
			      struct mm_err *err_r);

/* Courier: courierimapkeywords/BASE with the keywords of letters (a
 * message's letters as mm_keywords_letters() gave), unless Courier
 * keeps the keywords already (courierimapkeywords/:list exists: the
 * server's from then on) or the file is there. 1 written, 0 not, -1. */
int mm_keywords_write_courier(const struct mm_keywords *k, int dfd,
			      const char *base, size_t baselen,
			      const char *letters, struct mm_err *err_r);

void mm_keywords_free(struct mm_keywords *k);

#endif
