/* test_mm_date.c - table-driven tests for src/mm_date.c.
 *
 * Every input is copied into a malloc'd buffer of exactly its length, so
 * under ASan or valgrind a parser that peeks past the end (the lines are
 * not NUL-terminated) is caught rather than reading the literal's NUL.
 */
#include "mm_test.h"
#include "mm_date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NONE MM_TZ_NONE
#define H 3600

struct from_case {
	const char *in;
	int ok;
	const char *sender;
	int year, mon, day, hour, min, sec, tz_off;
};

static const struct from_case from_cases[] = {
	{ "From alice@example.com Mon Jan  1 12:00:00 2001", 1,
	  "alice@example.com", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice@example.com Mon Jan 01 12:00:00 2001", 1,
	  "alice@example.com", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice@example.com Mon Jan 1 12:00:00 2001", 1,
	  "alice@example.com", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice@example.com Mon Jan  1 12:00 2001", 1,
	  "alice@example.com", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From bob Tue Feb 29 23:59:59 2000", 1,
	  "bob", 2000, 2, 29, 23, 59, 59, NONE },
	{ "From alice Mon Jan  1 12:00:00 MET 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, H },
	{ "From alice Mon Jan  1 12:00:00 MEST 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, 2 * H },
	{ "From alice Mon Jan  1 12:00:00 CET 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, H },
	{ "From alice Mon Jan  1 12:00:00 CEST 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, 2 * H },
	{ "From alice Mon Jan  1 12:00:00 UTC 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 GMT 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 UT 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 EST 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, -5 * H },
	{ "From alice Mon Jan  1 12:00:00 EDT 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, -4 * H },
	{ "From alice Mon Jan  1 12:00:00 CST 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, -6 * H },
	{ "From alice Mon Jan  1 12:00:00 CDT 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, -5 * H },
	{ "From alice Mon Jan  1 12:00:00 MST 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, -7 * H },
	{ "From alice Mon Jan  1 12:00:00 MDT 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, -6 * H },
	{ "From alice Mon Jan  1 12:00:00 PST 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, -8 * H },
	{ "From alice Mon Jan  1 12:00:00 PDT 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, -7 * H },
	{ "From alice Mon Jan  1 12:00:00 XYZ 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice Mon Jan  1 12:00:00 MET DST 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, 2 * H },
	{ "From alice Mon Jan  1 12:00:00 +0100 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, H },
	{ "From alice Mon Jan  1 12:00:00 2001 +0100", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, H },
	{ "From alice Mon Jan  1 12:00:00 2001 -0530", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, -(5 * H + 30 * 60) },
	{ "From alice Mon Jan  1 12:00:00 2001 EST", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, -5 * H },
	{ "From alice Mon Jan  1 12:00:00 2001 remote from uunet", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice Mon Jan  1 12:00:00 2001 +0100 remote from uunet", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, H },
	{ "From MAILER-DAEMON Fri Jul  8 12:08:34 2011", 1,
	  "MAILER-DAEMON", 2011, 7, 8, 12, 8, 34, NONE },
	{ "From  Mon Jan  1 12:00:00 2001", 1,
	  "", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From Mon Jan  1 12:00:00 2001", 1,
	  "", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From \"John Doe\"@example.com Mon Jan  1 12:00:00 2001", 1,
	  "\"John Doe\"@example.com", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice@example.com mon jan  1 12:00:00 2001", 1,
	  "alice@example.com", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice@example.com MON JAN  1 12:00:00 2001", 1,
	  "alice@example.com", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From Mon Mon Jan  1 12:00:00 2001", 1,
	  "Mon", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From a Mon Jan 1 12:00:00 2001 Tue Feb  2 13:00:00 2002", 1,
	  "a Mon Jan 1 12:00:00 2001", 2002, 2, 2, 13, 0, 0, NONE },
	{ "From alice  Mon Jan  1 12:00:00 2001", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice Mon Jan  1 12:00:00 2001\r", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice Mon Jan  1 12:00:00 2001   ", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice Mon Jan  1 12:00:00 2001  \r", 1,
	  "alice", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice Sun Dec 31 23:59:60 2199", 1,
	  "alice", 2199, 12, 31, 23, 59, 60, NONE },
	{ "From alice Thu Jan  1 00:00:00 1970", 1,
	  "alice", 1970, 1, 1, 0, 0, 0, NONE },
	{ "From alice Wed Jan  1 12:00:00 2001", 1, /* wrong weekday */
	  "alice", 2001, 1, 1, 12, 0, 0, NONE },

	{ "From here on, the text is body", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From: alice@example.com", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "from alice Mon Jan  1 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan 32 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Feb 30 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Thu Feb 29 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 24:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:60:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:61 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Xyz Jan  1 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Foo  1 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	/* any 4-digit year, any zone word the table knows (long forms too) */
	{ "From nobody Wed Dec 31 23:59:59 1969", 1,
	  "nobody", 1969, 12, 31, 23, 59, 59, NONE },
	{ "From alice Fri Jan  1 12:00:00 1965", 1,
	  "alice", 1965, 1, 1, 12, 0, 0, NONE },
	{ "From alice Sat Jan  1 00:00:00 2201", 1,
	  "alice", 2201, 1, 1, 0, 0, 0, NONE },
	{ "From alice Mon Jan  1 12:00:00 1000", 1,
	  "alice", 1000, 1, 1, 12, 0, 0, NONE },
	{ "From root Tue Jul  7 20:33:03 1998 WETDST", 1,
	  "root", 1998, 7, 7, 20, 33, 3, H },
	{ "From root Tue Jul  7 20:33:03 METDST 1998", 1,
	  "root", 1998, 7, 7, 20, 33, 3, 2 * H },
	{ "From root Tue Jul  7 20:33:03 WET DST 1998", 1,
	  "root", 1998, 7, 7, 20, 33, 3, H },
	{ "From a Fri Jan  2 10:13:52 UTC 1970 +0000", 1,
	  "a", 1970, 1, 2, 10, 13, 52, 0 },
	{ "From a Fri Jan  2 10:13:52 MET 1970 +0200", 1,
	  "a", 1970, 1, 2, 10, 13, 52, 2 * H },
	{ "From a Fri Jan  2 10:13:52 XYZ 1970 -0100", 1,
	  "a", 1970, 1, 2, 10, 13, 52, -H },
	{ "From a Mon Jan  1 12:00:00 JST 2001", 1,
	  "a", 2001, 1, 1, 12, 0, 0, 9 * H },
	{ "From a Mon Jan  1 12:00:00 KST 2001", 1,
	  "a", 2001, 1, 1, 12, 0, 0, 9 * H },
	{ "From a Mon Jan  1 12:00:00 2001 AEST", 1,
	  "a", 2001, 1, 1, 12, 0, 0, 10 * H },
	{ "From a Mon Jan  1 12:00:00 2001 AEDT", 1,
	  "a", 2001, 1, 1, 12, 0, 0, 11 * H },
	{ "From a Mon Jan  1 12:00:00 2001 ACST", 1,
	  "a", 2001, 1, 1, 12, 0, 0, 9 * H + 1800 },
	{ "From a Mon Jan  1 12:00:00 MSK 2001", 1,
	  "a", 2001, 1, 1, 12, 0, 0, 3 * H },
	{ "From a Mon Jan  1 12:00:00 NZST 2001", 1,
	  "a", 2001, 1, 1, 12, 0, 0, 12 * H },
	{ "From a Mon Jan  1 12:00:00 HST 2001", 1,
	  "a", 2001, 1, 1, 12, 0, 0, -10 * H },
	{ "From a Mon Jan  1 12:00:00 AKST 2001", 1,
	  "a", 2001, 1, 1, 12, 0, 0, -9 * H },
	{ "From a Mon Jan  1 12:00:00 NST 2001", 1,
	  "a", 2001, 1, 1, 12, 0, 0, -3 * H - 1800 },
	{ "From a Mon Jan  1 12:00:00 BST 2001", 1,
	  "a", 2001, 1, 1, 12, 0, 0, H },
	{ "From a Mon Jan  1 12:00:00 mest 2001", 1,
	  "a", 2001, 1, 1, 12, 0, 0, 2 * H },
	{ "From a Mon Jan  1 12:00:00 IST 2001", 1, /* ambiguous */
	  "a", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From a Mon Jan  1 12:00:00 2001 QWERTY", 1, /* unknown, 6 letters */
	  "a", 2001, 1, 1, 12, 0, 0, NONE },
	{ "From alice Mon Jan  1 12:00:00 2001 trailing", 0,
	  0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 2001 words", 0, /* lowercase: prose */
	  0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 2001 QWERTYU", 0,
	  0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 MET 2001 EST", 0,
	  0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 0000", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 2001 trailing garbage words", 0,
	  0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 2001 remote from", 0,
	  0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 2001 remote from a b", 0,
	  0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 +0100 2001 +0100", 0,
	  0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 2001 +2500", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 2001 +01", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From ", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From   ", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 20011", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 12:00:00 01", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ " From alice Mon Jan  1 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ ">From alice Mon Jan  1 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan  1 1:2:3 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Mon Jan 001 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice Monday Jan  1 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From alice\tMon Jan  1 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
	{ "From aliceMon Jan  1 12:00:00 2001", 0, 0, 0, 0, 0, 0, 0, 0, 0 },
};

static void run_from_case(const struct from_case *c, const char *in,
			  size_t len)
{
	char *buf = dup_exact(in, len);
	struct mm_from f;
	int r = mm_from_parse(buf, len, &f);

	if (!c->ok) {
		check(r == -1, "mm_from_parse should reject", c->in);
	} else if (r != 0) {
		check(0, "mm_from_parse should accept", c->in);
	} else {
		check(f.sender == buf + 5, "sender points into line", c->in);
		check(f.sender_len == strlen(c->sender) &&
			      memcmp(f.sender, c->sender, f.sender_len) == 0,
		      "sender", c->in);
		check(f.year == c->year && f.mon == c->mon && f.day == c->day,
		      "date fields", c->in);
		check(f.hour == c->hour && f.min == c->min && f.sec == c->sec,
		      "time fields", c->in);
		check(f.tz_off == c->tz_off, "tz_off", c->in);
	}
	free(buf);
}

/* Every prefix of every case: exercises all the ways a parser can run
 * off the end of a line; only the absence of ASan reports matters. */
static void fuzz_prefixes(const char *in)
{
	size_t len = strlen(in), k;
	struct mm_from f;
	time_t t;

	for (k = 0; k <= len; k++) {
		char *buf = dup_exact(in, k);

		(void)mm_from_parse(buf, k, &f);
		(void)mm_date_rfc5322(buf, k, &t);
		free(buf);
	}
}

static void test_from_parse(void)
{
	const char *tail = " Mon Jan  1 12:00:00 2001";
	char line[2001];
	size_t i, tl = strlen(tail);
	size_t lens[] = { MM_FROM_LINE_MAX, MM_FROM_LINE_MAX + 1, 2000 };

	for (i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++) {
		run_from_case(&from_cases[i], from_cases[i].in,
			      strlen(from_cases[i].in));
		fuzz_prefixes(from_cases[i].in);
	}
	/* A long sender is fine up to the limit, and never beyond it. */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct from_case c = { "long line", lens[i] <= MM_FROM_LINE_MAX,
				       0, 2001, 1, 1, 12, 0, 0, NONE };
		char *sender = line + 5;
		size_t sl = lens[i] - 5 - tl;

		memcpy(line, "From ", 5);
		memset(sender, 'a', sl);
		memcpy(sender + sl, tail, tl);
		line[lens[i]] = '\0';
		c.sender = strndup(sender, sl);
		run_from_case(&c, line, lens[i]);
		free((char *)c.sender);
	}
}

struct class_case {
	const char *in;
	enum mm_from_class cls;
	const char *why;        /* NULL for strict */
	const char *sender;
	int dated, year, mon, day, hour, min, sec, tz_off;
	const char *zone;       /* zone_unknown, or NULL */
	int ambiguous;
};

static const struct class_case class_cases[] = {
	{ "From alice Mon Jan  1 12:00:00 2001", MM_FROM_STRICT, NULL,
	  "alice", 1, 2001, 1, 1, 12, 0, 0, NONE, NULL, 0 },
	{ "From alice Mon Jan  1 12:00:00 XYZ 2001", MM_FROM_STRICT, NULL,
	  "alice", 1, 2001, 1, 1, 12, 0, 0, NONE, "XYZ", 0 },
	{ "From alice Mon Jan  1 12:00:00 2001 IST", MM_FROM_STRICT, NULL,
	  "alice", 1, 2001, 1, 1, 12, 0, 0, NONE, "IST", 1 },
	{ "From alice Mon Jan  1 12:00:00 XYZ DST 2001", MM_FROM_STRICT, NULL,
	  "alice", 1, 2001, 1, 1, 12, 0, 0, NONE, "XYZ DST", 0 },
	{ "From alice Mon Jan  1 12:00:00 XYZ 2001 +0100", MM_FROM_STRICT,
	  NULL, "alice", 1, 2001, 1, 1, 12, 0, 0, H, NULL, 0 },
	{ "From ", MM_FROM_LOOSE, "no date", "", 0, 0, 0, 0, 0, 0, 0, NONE,
	  NULL, 0 },
	{ "From - ", MM_FROM_LOOSE, "no date", "-", 0, 0, 0, 0, 0, 0, 0, NONE,
	  NULL, 0 },
	{ "From foo@bar blah", MM_FROM_LOOSE, "no date", "foo@bar", 0, 0, 0,
	  0, 0, 0, 0, NONE, NULL, 0 },
	{ "From \r", MM_FROM_LOOSE, "no date", "", 0, 0, 0, 0, 0, 0, 0, NONE,
	  NULL, 0 },
	{ "From daemon@x Sun, 11 Nov 2007 06:58:35 +0200", MM_FROM_LOOSE,
	  "an RFC 822 date", "daemon@x", 1, 2007, 11, 11, 6, 58, 35, 2 * H,
	  NULL, 0 },
	{ "From Sun, 11 Nov 2007 06:58:35 +0200", MM_FROM_LOOSE,
	  "an RFC 822 date", "", 1, 2007, 11, 11, 6, 58, 35, 2 * H, NULL, 0 },
	{ "From - Sun 24 Jan 2016 21:57:32", MM_FROM_LOOSE, "an RFC 822 date",
	  "-", 1, 2016, 1, 24, 21, 57, 32, NONE, NULL, 0 },
	{ "From a b 24 Jan 2016 21:57:32 JST", MM_FROM_LOOSE,
	  "an RFC 822 date", "a b", 1, 2016, 1, 24, 21, 57, 32, 9 * H, NULL,
	  0 },
	{ "From a 24 Jan 2016 21:57:32 ZZZ", MM_FROM_LOOSE, "an RFC 822 date",
	  "a", 1, 2016, 1, 24, 21, 57, 32, NONE, "ZZZ", 0 },
	{ "From alice Mon Jan 32 12:00:00 2001", MM_FROM_LOOSE,
	  "a date that does not parse", "alice", 0, 0, 0, 0, 0, 0, 0, NONE,
	  NULL, 0 },
	{ "From here on, the text is body", MM_FROM_LOOSE, "no date", "here",
	  0, 0, 0, 0, 0, 0, 0, NONE, NULL, 0 },
	{ "From a\rSubject: x\r", MM_FROM_NONE, "control characters", NULL,
	  0, 0, 0, 0, 0, 0, 0, NONE, NULL, 0 },
	{ "From", MM_FROM_NONE, "no \"From \" at the start", NULL, 0, 0, 0, 0,
	  0, 0, 0, NONE, NULL, 0 },
	{ ">From a Mon Jan  1 12:00:00 2001", MM_FROM_NONE,
	  "no \"From \" at the start", NULL, 0, 0, 0, 0, 0, 0, 0, NONE, NULL,
	  0 },
};

static void test_classify(void)
{
	for (size_t i = 0; i < sizeof(class_cases) / sizeof(class_cases[0]);
	     i++) {
		const struct class_case *c = &class_cases[i];
		size_t len = strlen(c->in);
		char *buf = dup_exact(c->in, len);
		struct mm_from f;
		const char *why = "unset";
		enum mm_from_class r = mm_from_classify(buf, len, &f, &why);

		check(r == c->cls, "class", c->in);
		check(c->why ? why != NULL && strcmp(why, c->why) == 0
			     : why == NULL, "why", c->in);
		if (r == c->cls && r != MM_FROM_NONE) {
			check(f.sender_len == strlen(c->sender) &&
				      memcmp(f.sender, c->sender,
					     f.sender_len) == 0,
			      "sender", c->in);
			check(f.dated == c->dated, "dated", c->in);
			check(!c->dated ||
				      (f.year == c->year && f.mon == c->mon &&
				       f.day == c->day && f.hour == c->hour &&
				       f.min == c->min && f.sec == c->sec),
			      "date fields", c->in);
			check(f.tz_off == c->tz_off, "tz_off", c->in);
			check(c->zone ? f.zone_unknown != NULL &&
					      f.zone_unknown_len ==
						      strlen(c->zone) &&
					      memcmp(f.zone_unknown, c->zone,
						     f.zone_unknown_len) == 0 &&
					      f.zone_ambiguous == c->ambiguous
				      : f.zone_unknown == NULL,
			      "zone_unknown", c->in);
		}
		for (size_t k = 0; k <= len; k++) /* prefixes, for ASan */
			(void)mm_from_classify(buf, k, &f, &why);
		free(buf);
	}
}

struct rfc_case {
	const char *in;
	int ok;
	long long t;
};

/* Epochs cross-checked with GNU date -u -d ... +%s. */
static const struct rfc_case rfc_cases[] = {
	{ "Mon, 1 Jan 2001 12:00:00 +0100", 1, 978346800 },
	{ "Mon, 1 Jan 2001 12:00:00 JST", 1, 978318000 },
	{ "Mon, 1 Jan 2001 12:00:00 WETDST", 1, 978346800 },
	{ "Mon, 1 Jan 2001 12:00:00 IST", 1, 978350400 }, /* ambiguous: UTC */
	{ "1 Jan 2001 12:00 -0500", 1, 978368400 },
	{ "Mon, 01 Jan 01 12:00:00 GMT", 1, 978350400 },
	{ "Mon, 1 Jan 2001 12:00:00 +0100 (CET)", 1, 978346800 },
	{ "  Mon,  1 Jan 2001 12:00:00 EST", 1, 978368400 },
	{ "Mon, 1 Jan 2001 12:00:00", 1, 978350400 },
	{ "Mon, 1 Jan 2001 12:00:00 +0100\r\n", 1, 978346800 },
	{ "Mon, 1 Jan 2001\r\n\t12:00:00 +0100", 1, 978346800 },
	{ "\tMon, 1 Jan 2001 12:00:00 +0100  ", 1, 978346800 },
	{ "Mon, 1 Jan 2001 12:00:00 -0000", 1, 978350400 },
	{ "Mon, 1 Jan 2001 12:00:00 UT", 1, 978350400 },
	{ "Mon, 1 Jan 2001 12:00:00 PDT", 1, 978375600 },
	{ "Mon, 1 Jan 2001 12:00:00 XYZ", 1, 978350400 },
	{ "Mon, 1 Jan 2001 12:00:00 A", 1, 978350400 },
	{ "Mon, 1 Jan 2001 12:00:00 -0500 EST", 1, 978368400 },
	{ "Mon, 1 Jan 2001 12:00:00 +0100 (CET (nested \\) q))", 1,
	  978346800 },
	{ "Mon, 1 Jan 2001 12:00:00 +0100 (truncated", 1, 978346800 },
	{ "(c) Mon, (c) 1 Jan 2001 12:00:00 +0100", 1, 978346800 },
	{ "Mon 1 Jan 2001 12:00:00 +0100", 1, 978346800 },
	{ "mon, 1 jan 2001 12:00:00 +0100", 1, 978346800 },
	{ "Monday, 1 January 2001 12:00:00 +0100", 1, 978346800 },
	{ "Thu, 01 Jan 1970 00:00:00 +0000", 1, 0 },
	{ "Fri, 13 Feb 2009 23:31:30 +0000", 1, 1234567890 },
	{ "Sun, 9 Sep 2001 01:46:40 +0000", 1, 1000000000 },
	{ "Tue, 29 Feb 2000 23:59:59 +0000", 1, 951868799 },
	{ "Sun, 1 Jan 50 00:00:00 GMT", 1, -631152000 },
	{ "Sat, 1 Jan 49 12:00:00 GMT", 1, 2493115200LL },
	{ "Mon, 1 Jan 101 12:00:00 GMT", 1, 978350400 },
	{ "Mon, 1 Jan 2001 12:00:60 +0000", 1, 978350460 },
	{ "Mon Jan  1 12:00:00 2001", 1, 978350400 },
	{ "Mon Jan  1 12:00:00 2001 +0100", 1, 978346800 },
	{ " Mon Jan  1 12:00:00 CET 2001\r\n", 1, 978346800 },

	{ "yesterday", 0, 0 },
	{ "", 0, 0 },
	{ "   \r\n", 0, 0 },
	{ "Mon, 45 Jan 2001 12:00:00 +0100", 0, 0 },
	{ "Mon, 29 Feb 2001 12:00:00 +0100", 0, 0 },
	{ "Mon, 1 Foo 2001 12:00:00 +0100", 0, 0 },
	{ "Xyz, 1 Jan 2001 12:00:00 +0100", 0, 0 },
	{ "Mon, 1 Jan 2001", 0, 0 },
	{ "Mon, 1 Jan 2001 12", 0, 0 },
	{ "Mon, 1 Jan 2001 12:", 0, 0 },
	{ "Mon, 1 Jan 2001 12:0", 0, 0 },
	{ "Mon, 1 Jan 2001 12:00:", 0, 0 },
	{ "Mon, 1 Jan 2001 24:00:00 +0000", 0, 0 },
	{ "Mon, 1 Jan 2001 12:00:00 +01", 0, 0 },
	{ "Mon, 1 Jan 2001 12:00:00 +2500", 0, 0 },
	{ "Mon, 1 Jan 2001 12:00:00 +0160", 0, 0 },
	{ "Mon, 1 Jan 2001 12:00:00 +0100 garbage words", 0, 0 },
	{ "Mon, 1 Jan 2001 12:00:00 Europe", 0, 0 },
	{ "Mon, 1 Jan 1899 12:00:00 +0000", 0, 0 },
	{ "Mon, 1 Jan 20011 12:00:00 +0000", 0, 0 },
	{ "Mon, 1 Jan 1 12:00:00 +0000", 0, 0 },
	{ "Mon, 123 Jan 2001 12:00:00 +0000", 0, 0 },
	{ "Mon,", 0, 0 },
};

static void test_rfc5322(void)
{
	size_t i;

	for (i = 0; i < sizeof(rfc_cases) / sizeof(rfc_cases[0]); i++) {
		const struct rfc_case *c = &rfc_cases[i];
		size_t len = strlen(c->in);
		char *buf = dup_exact(c->in, len);
		time_t t = 12345;
		int r = mm_date_rfc5322(buf, len, &t);

		if (!c->ok)
			check(r == -1, "mm_date_rfc5322 should reject", c->in);
		else if (r != 0)
			check(0, "mm_date_rfc5322 should accept", c->in);
		else
			check((long long)t == c->t, "mm_date_rfc5322 epoch",
			      c->in);
		fuzz_prefixes(c->in);
		free(buf);
	}
}

struct time_case {
	const char *what;
	struct mm_from f;
	int fixed_valid, fixed;
	int ok;
	long long t;
};

#define D(y, mo, d, h, mi, s, z) { .dated = 1, .year = y, .mon = mo, .day = d, \
				    .hour = h, .min = mi, .sec = s, .tz_off = z }

static const struct time_case utc_cases[] = {
	{ "zone +0100", D(2001, 1, 1, 12, 0, 0, H), 0, 0, 1, 978346800 },
	{ "zone wins over fixed", D(2001, 1, 1, 12, 0, 0, 0), 1, H, 1,
	  978350400 },
	{ "fixed -0500", D(2001, 1, 1, 12, 0, 0, NONE), 1, -5 * H, 1,
	  978368400 },
	{ "fixed 0", D(1970, 1, 1, 0, 0, 0, NONE), 1, 0, 1, 0 },
	{ "epoch minus one", D(1970, 1, 1, 0, 59, 59, H), 0, 0, 1, -1 },
	{ "leap second", D(2001, 1, 1, 12, 0, 60, 0), 0, 0, 1, 978350460 },
	{ "last year", D(2199, 12, 31, 23, 59, 59, 0), 0, 0, 1,
	  7258118399LL },
	{ "leap day", D(2000, 2, 29, 23, 59, 59, 0), 0, 0, 1, 951868799 },
	{ "1969, last second", D(1969, 12, 31, 23, 59, 59, NONE), 1, 0, 1, -1 },
	{ "1965", D(1965, 1, 1, 12, 0, 0, 0), 0, 0, 1, -157723200 },
	{ "1965 local, TZ=UTC", D(1965, 1, 1, 12, 0, 0, NONE), 0, 0, 1,
	  -157723200 },
	{ "2201", D(2201, 1, 1, 0, 0, 0, 0), 0, 0, 1, 7289654400LL },
	{ "local, TZ=UTC", D(2001, 1, 1, 12, 0, 0, NONE), 0, 0, 1, 978350400 },
	{ "bad month", D(2001, 13, 1, 12, 0, 0, 0), 0, 0, 0, 0 },
	{ "bad day", D(2001, 2, 29, 12, 0, 0, 0), 0, 0, 0, 0 },
	{ "day 0", D(2001, 1, 0, 12, 0, 0, NONE), 0, 0, 0, 0 },
	{ "bad hour", D(2001, 1, 1, 24, 0, 0, NONE), 1, 0, 0, 0 },
};

static const struct time_case berlin_cases[] = {
	{ "Berlin winter", D(2001, 1, 1, 12, 0, 0, NONE), 0, 0, 1, 978346800 },
	{ "Berlin summer", D(2001, 7, 1, 12, 0, 0, NONE), 0, 0, 1, 993981600 },
	{ "Berlin fixed", D(2001, 7, 1, 12, 0, 0, NONE), 1, 0, 1, 993988800 },
};

static void run_time_cases(const struct time_case *cs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		time_t t = 12345;
		int r = mm_from_time(&cs[i].f, cs[i].fixed_valid, cs[i].fixed,
				     &t);

		if (!cs[i].ok)
			check(r == -1, "mm_from_time should fail", cs[i].what);
		else
			check(r == 0 && (long long)t == cs[i].t,
			      "mm_from_time", cs[i].what);
	}
}

static void test_from_time(void)
{
	const char *line = "From a Sun Jul  1 12:00:00 2001";
	struct mm_from f;
	time_t t = 0;

	setenv("TZ", "UTC", 1);
	tzset();
	run_time_cases(utc_cases, sizeof(utc_cases) / sizeof(utc_cases[0]));
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0) {
		printf("# no Europe/Berlin zoneinfo, skipping DST tests\n");
		return;
	}
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	run_time_cases(berlin_cases,
		       sizeof(berlin_cases) / sizeof(berlin_cases[0]));
	/* End to end: a classic From_ line is local time, DST included. */
	check(mm_from_parse(line, strlen(line), &f) == 0 &&
		      mm_from_time(&f, 0, 0, &t) == 0 && t == 993981600,
	      "parse + mm_from_time in Berlin", line);
	setenv("TZ", "UTC", 1);
	tzset();
}

struct tz_case {
	const char *in;
	int ok, off;
};

static const struct tz_case tz_cases[] = {
	{ "UTC", 1, 0 },	{ "GMT", 1, 0 },	{ "Z", 1, 0 },
	{ "utc", 1, 0 },	{ "+0100", 1, H },	{ "-0500", 1, -5 * H },
	{ "-0530", 1, -19800 }, { "+05:30", 1, 19800 }, { "+0000", 1, 0 },
	{ "-00:00", 1, 0 },	{ "+2359", 1, 86340 },	{ "-2359", 1, -86340 },
	{ "+2500", 0, 0 },	{ "+2400", 0, 0 },	{ "+0160", 0, 0 },
	{ "abc", 0, 0 },	{ "", 0, 0 },		{ "+01", 0, 0 },
	{ "+01:0", 0, 0 },	{ "0100", 0, 0 },	{ "+01000", 0, 0 },
	{ " +0100", 0, 0 },	{ "+0100 ", 0, 0 },	{ "+1:00", 0, 0 },
	{ "UTC+1", 0, 0 },	{ "+01-00", 0, 0 },	{ "+0a00", 0, 0 },
	{ "EST", 0, 0 },	{ "UT", 0, 0 },		{ "+", 0, 0 },
};

static void test_tz_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(tz_cases) / sizeof(tz_cases[0]); i++) {
		int off = 12345;
		int r = mm_tz_parse_offset(tz_cases[i].in, &off);

		if (!tz_cases[i].ok)
			check(r == -1 && off == 12345,
			      "mm_tz_parse_offset should reject",
			      tz_cases[i].in);
		else
			check(r == 0 && off == tz_cases[i].off,
			      "mm_tz_parse_offset", tz_cases[i].in);
	}
}

int main(void)
{
	test_from_parse();
	test_classify();
	test_rfc5322();
	test_from_time();
	test_tz_parse();
	return test_summary();
}
