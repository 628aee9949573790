/* mm_oldpop3.c - the old server's POP3 UIDLs, and what a mailbox keeps. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mm_maildir.h"
#include "mm_oldpop3.h"

int mm_old_pop3_parse(const char *s, enum mm_old_pop3 *r)
{
	static const struct {
		const char *name;
		enum mm_old_pop3 v;
	} t[] = {
		{ "auto", MM_OLDPOP3_AUTO },       { "none", MM_OLDPOP3_NONE },
		{ "uw", MM_OLDPOP3_UW },           { "dovecot", MM_OLDPOP3_DOVECOT },
		{ "qpopper", MM_OLDPOP3_XUIDL },   { "gnu", MM_OLDPOP3_XUIDL },
		{ "xuidl", MM_OLDPOP3_XUIDL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(s, t[i].name) == 0) {
			*r = t[i].v;
			return 0;
		}
	return -1;
}

void mm_keep_init(struct mm_keep *k, enum mm_old_pop3 scheme)
{
	memset(k, 0, sizeof(*k));
	k->scheme = scheme;
	k->ascending = 1;
}

void mm_keep_free(struct mm_keep *k)
{
	mm_keyset_free(&k->uidls);
}

/* A UIDL Dovecot can hold in a dovecot-uidlist P field: printable
 * ASCII without spaces, as RFC 1939 wants UIDLs anyway. */
int mm_keep_p_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

/* The UIDL the old server served for m into out; 0 if none is known
 * (*why_r: the pop3_* counter), 1 if found; *guess_r when auto took the
 * UID headers for UW's. */
static int old_uidl(struct mm_keep *k, const struct mm_msg *m, char *out,
		    unsigned long **why_r, int *guess_r)
{
	enum mm_old_pop3 s = k->scheme;

	*guess_r = 0;
	*why_r = &k->st.pop3_no_uidl;
	if (s == MM_OLDPOP3_NONE)
		return 0;
	if (s == MM_OLDPOP3_XUIDL || (s == MM_OLDPOP3_AUTO && m->uidl[0])) {
		if (!m->uidl[0])
			return 0;
		snprintf(out, MM_UIDL_MAX, "%s", m->uidl);
		return 1;
	}
	if (!m->has_uid || !k->has_validity)
		return 0;
	if (s == MM_OLDPOP3_DOVECOT)
		snprintf(out, MM_UIDL_MAX, "%08x%08x", (unsigned)m->uid,
			 (unsigned)k->validity);
	else
		snprintf(out, MM_UIDL_MAX, "%08x%08x", (unsigned)k->validity,
			 (unsigned)m->uid);
	*guess_r = s == MM_OLDPOP3_AUTO;
	return 1;
}

int mm_keep_add(struct mm_keep *k, const struct mm_msg *m, char *uidl_r,
		int *named_r, struct mm_err *warn_r)
{
	unsigned long *why;
	int guess, r, warn = 0;

	uidl_r[0] = '\0';
	*named_r = 0;
	if (m->has_imapbase && !k->has_validity) {
		k->has_validity = 1;
		k->validity = m->uidvalidity;
	}
	if (m->is_pseudo)
		return 0;
	k->st.messages++;
	/* IMAP: a UID list needs a UIDVALIDITY and ascending X-UIDs */
	if (m->has_uid) {
		if (k->with_uid > 0 && m->uid <= k->last_uid)
			k->ascending = 0;
		k->last_uid = m->uid;
		k->with_uid++;
	}
	if (!old_uidl(k, m, uidl_r, &why, &guess)) {
		(*why)++;
		return 0;
	}
	if (guess && !k->warned_guess) {
		k->warned_guess = 1;
		k->st.uidl_guessed = 1;
		mm_err_set(warn_r, MM_W_UIDL, 0, m->msgno, m->offset,
			   "no X-UIDL header but UW-IMAP's UID headers: the old "
			   "POP3 UIDLs are taken to be UW ipop3d's (UIDVALIDITY "
			   "and X-UID in hex, %s for this one); if the old server "
			   "ran Dovecot, give --old-pop3 dovecot", uidl_r);
		warn = 1;
	}
	if (!mm_maildir_name_ok(uidl_r)) {
		k->st.pop3_bad_name++;
		if (m->has_uid && mm_keep_p_ok(uidl_r))
			k->p_only++;
		if (!warn)
			mm_err_set(warn_r, MM_W_UIDL, 0, m->msgno, m->offset,
				   "its old POP3 UIDL '%.80s' cannot be a Maildir "
				   "file name (empty, over 70 bytes, or a '/', ':', "
				   "',', space or leading '.'): the file is named "
				   "otherwise, and qmail-pop3d and Courier serve a "
				   "new UIDL for it", uidl_r);
		return 1;
	}
	r = mm_keyset_add(&k->uidls,
			  mm_maildir_plain_key(uidl_r, strlen(uidl_r)));
	if (r < 0)
		return mm_err_set(warn_r, MM_E_NOMEM, ENOMEM, m->msgno,
				  m->offset, "out of memory");
	if (r == 0) {
		k->st.pop3_duplicate++;
		if (m->has_uid)
			k->p_only++;
		if (!warn)
			mm_err_set(warn_r, MM_W_UIDL, 0, m->msgno, m->offset,
				   "its old POP3 UIDL '%.80s' is an earlier "
				   "message's too: the file is named otherwise, "
				   "and qmail-pop3d and Courier serve a new UIDL for it", uidl_r);
		return 1;
	}
	*named_r = 1;
	k->st.pop3_kept++;
	return warn;
}

void mm_keep_result(const struct mm_keep *k, struct mm_keep_stats *st_r)
{
	*st_r = k->st;
	st_r->pop3_kept_dovecot = st_r->pop3_kept;
	if (!k->has_validity) {
		st_r->imap_no_validity = st_r->messages;
		return;
	}
	if (!k->ascending) {
		st_r->imap_not_ascending = st_r->messages;
		return;
	}
	st_r->imap_kept = k->with_uid;
	st_r->imap_no_uid = st_r->messages - k->with_uid;
	/* Dovecot serves the P field of a message in dovecot-uidlist */
	st_r->pop3_kept_dovecot += k->p_only;
}
