/* test_mm_oldpop3.c - the UIDL each old POP3 server served, for a table
 * of messages under each --old-pop3 choice, and the forecast counts:
 * names that cannot be files, duplicates, missing headers, UIDs out of
 * order, the pseudo message giving only its UIDVALIDITY. */
#include "mm_test.h"
#include "mm_oldpop3.h"

#include <stdint.h>

/* one message: X-UID (0: none), X-UIDL ("" none), X-IMAP(base)
 * UIDVALIDITY (0: none), pseudo */
struct in {
	uint32_t uid;
	const char *uidl;
	uint32_t validity;
	int pseudo;
};

/* UW pseudo message, then X-UID 5 and 7 (one with X-UIDL), one without */
static const struct in uw[] = {
	{ 0, "", 1003923649, 1 },
	{ 5, "", 0, 0 },
	{ 7, "qp-7", 0, 0 },
	{ 0, "", 0, 0 },
};

static const struct {
	const char *scheme;
	const char *want[3];   /* the UIDLs of uw[1..3] */
	unsigned long kept, no_uidl;
} cases[] = {
	{ "uw", { "3bd6a8c100000005", "3bd6a8c100000007", "" }, 2, 1 },
	{ "dovecot", { "000000053bd6a8c1", "000000073bd6a8c1", "" }, 2, 1 },
	{ "qpopper", { "", "qp-7", "" }, 1, 2 },
	{ "gnu", { "", "qp-7", "" }, 1, 2 },
	{ "xuidl", { "", "qp-7", "" }, 1, 2 },
	{ "auto", { "3bd6a8c100000005", "qp-7", "" }, 2, 1 },
	{ "none", { "", "", "" }, 0, 3 },
};

static void fill(struct mm_msg *m, const struct in *in, unsigned long no)
{
	memset(m, 0, sizeof(*m));
	m->msgno = no;
	m->offset = no * 100;
	m->has_uid = in->uid != 0;
	m->uid = in->uid;
	snprintf(m->uidl, sizeof(m->uidl), "%s", in->uidl);
	m->has_imapbase = in->validity != 0;
	m->uidvalidity = in->validity;
	m->is_pseudo = in->pseudo;
}

/* add the messages; returns the number of warnings */
static int run(struct mm_keep *k, const struct in *ins, size_t n,
	       char got[][MM_UIDL_MAX], int *named)
{
	static struct mm_msg m;
	struct mm_err e;
	int warns = 0;

	for (size_t i = 0; i < n; i++) {
		fill(&m, &ins[i], i + 1);
		int r = mm_keep_add(k, &m, got[i], &named[i], &e);
		check(r >= 0, "mm_keep_add", ins[i].uidl);
		if (r > 0) {
			warns++;
			check(e.msgno == i + 1 && e.offset == (i + 1) * 100,
			      "a warning names its message", e.text);
		}
	}
	return warns;
}

int main(void)
{
	enum mm_old_pop3 s;
	struct mm_keep k;
	struct mm_keep_stats st;
	char got[8][MM_UIDL_MAX];
	int named[8];

	check(mm_old_pop3_parse("popa3d", &s) < 0, "unknown server refused", "popa3d");
	check(mm_old_pop3_parse("", &s) < 0, "empty refused", "");
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		check(mm_old_pop3_parse(cases[c].scheme, &s) == 0, "parse",
		      cases[c].scheme);
		mm_keep_init(&k, s);
		int w = run(&k, uw, 4, got, named);
		check(got[0][0] == '\0' && !named[0], "the pseudo message has none",
		      cases[c].scheme);
		for (int i = 0; i < 3; i++) {
			check(strcmp(got[i + 1], cases[c].want[i]) == 0, cases[c].scheme,
			      got[i + 1]);
			check(named[i + 1] == (cases[c].want[i][0] != '\0'),
			      "named when there is one", got[i + 1]);
		}
		/* auto warns once about taking the UID headers for UW's */
		check(w == (strcmp(cases[c].scheme, "auto") == 0), "warnings",
		      cases[c].scheme);
		mm_keep_result(&k, &st);
		check(st.messages == 3, "pseudo not counted", cases[c].scheme);
		check(st.pop3_kept == cases[c].kept, "kept", cases[c].scheme);
		check(st.pop3_no_uidl == cases[c].no_uidl, "no_uidl", cases[c].scheme);
		check(st.imap_kept == 2 && st.imap_no_uid == 1, "imap", cases[c].scheme);
		mm_keep_free(&k);
	}

	/* bad names and duplicates; no UIDVALIDITY: no UID kept */
	static const struct in x[] = {
		{ 1, "good", 0, 0 }, { 2, "bad/name", 0, 0 }, { 3, "good", 0, 0 },
		{ 4, ".dot", 0, 0 }, { 5, "a:b", 0, 0 }, { 6, "has space", 0, 0 },
		{ 7, "S,=1", 0, 0 },
	};
	mm_keep_init(&k, MM_OLDPOP3_XUIDL);
	check(run(&k, x, 7, got, named) == 6, "six warnings", NULL);
	mm_keep_result(&k, &st);
	check(st.pop3_kept == 1 && named[0] && !named[2], "the first 'good' named", NULL);
	check(st.pop3_duplicate == 1 && st.pop3_bad_name == 5, "why", NULL);
	check(st.imap_no_validity == 7 && st.imap_kept == 0, "no UIDVALIDITY", NULL);
	check(st.pop3_kept_dovecot == 1, "no UID list: no P field either", NULL);
	mm_keep_free(&k);

	/* the same with a UIDVALIDITY: the P field keeps all but the one
	 * with a space */
	static const struct in y[] = {
		{ 1, "good", 9, 0 }, { 2, "bad/name", 0, 0 }, { 3, "good", 0, 0 },
		{ 4, "has space", 0, 0 },
	};
	mm_keep_init(&k, MM_OLDPOP3_XUIDL);
	run(&k, y, 4, got, named);
	mm_keep_result(&k, &st);
	check(st.pop3_kept == 1 && st.pop3_kept_dovecot == 3, "Dovecot: P field", NULL);
	check(st.imap_kept == 4, "UIDs kept", NULL);
	check(!mm_keep_p_ok("has space") && mm_keep_p_ok("bad/name") &&
	      !mm_keep_p_ok(""), "P values", NULL);
	mm_keep_free(&k);

	/* UIDs not ascending: no list, no UID kept */
	static const struct in z[] = {
		{ 5, "", 9, 0 }, { 3, "", 0, 0 },
	};
	mm_keep_init(&k, MM_OLDPOP3_UW);
	run(&k, z, 2, got, named);
	mm_keep_result(&k, &st);
	check(st.imap_not_ascending == 2 && st.imap_kept == 0, "not ascending", NULL);
	check(st.pop3_kept == 2 && strcmp(got[1], "0000000900000003") == 0,
	      "UW UIDLs all the same", got[1]);
	mm_keep_free(&k);
	return test_summary();
}
