/* mm_date.c - parse the dates found in mbox files (see mm_date.h).
 *
 * Everything here works on counted byte ranges and ASCII only: mbox lines
 * are not NUL-terminated and the C library's ctype/strptime would make
 * the result depend on the locale of whoever runs the conversion.
 */
#include "mm_date.h"

#include <string.h>

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* lit is lowercase, so one side only needs folding. */
static int tok_eq(const char *t, size_t n, const char *lit)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lit[i] == '\0' || to_lower(t[i]) != lit[i])
			return 0;
	return lit[n] == '\0';
}

static const char *const wday_names[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday"
};

static const char *const mon_names[12] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"
};

/* From_ lines only ever carry the ctime abbreviations; Date: headers
 * written by hand-rolled mailers sometimes spell the names out. */
static int name_index(const char *t, size_t n, const char *const *tab,
		      int count, int allow_full)
{
	int i;

	for (i = 0; i < count; i++) {
		if (n == 3 && to_lower(t[0]) == tab[i][0] &&
		    to_lower(t[1]) == tab[i][1] && to_lower(t[2]) == tab[i][2])
			return i;
		if (allow_full && n > 3 && tok_eq(t, n, tab[i]))
			return i;
	}
	return -1;
}

/* The zone names real From_ lines and Date: headers carry (strftime's
 * %Z of the writing host, so tzdata's abbreviations plus a few older
 * ones). Where one name has several meanings the one mail has used most
 * is taken: CST, EST, AST are North American (RFC 822 lists CST and EST;
 * tzdata writes AST for the Atlantic zone), BST is British Summer Time.
 * IST (India +0530, Ireland +0100, Israel +0200) is too ambiguous to
 * guess: it is listed with MM_TZ_NONE and reported as ambiguous. */
static const struct {
	const char *name;
	int off;
} zone_tab[] = {
	{ "ut", 0 }, { "utc", 0 }, { "uct", 0 }, { "gmt", 0 }, { "z", 0 },
	{ "wet", 0 }, { "west", 3600 }, { "bst", 3600 },
	{ "cet", 3600 }, { "cest", 7200 }, { "met", 3600 }, { "mest", 7200 },
	{ "mez", 3600 }, { "mesz", 7200 }, { "wat", 3600 },
	{ "eet", 7200 }, { "eest", 10800 }, { "cat", 7200 }, { "sast", 7200 },
	{ "idt", 3 * 3600 }, { "msk", 3 * 3600 }, { "msd", 4 * 3600 },
	{ "eat", 3 * 3600 }, { "pkt", 5 * 3600 }, { "ict", 7 * 3600 },
	{ "wib", 7 * 3600 }, { "hkt", 8 * 3600 }, { "sgt", 8 * 3600 },
	{ "awst", 8 * 3600 }, { "jst", 9 * 3600 }, { "kst", 9 * 3600 },
	{ "acst", 9 * 3600 + 1800 }, { "acdt", 10 * 3600 + 1800 },
	{ "aest", 10 * 3600 }, { "aedt", 11 * 3600 },
	{ "nzst", 12 * 3600 }, { "nzdt", 13 * 3600 },
	{ "nst", -3 * 3600 - 1800 }, { "ndt", -2 * 3600 - 1800 },
	{ "ast", -4 * 3600 }, { "adt", -3 * 3600 },
	{ "est", -5 * 3600 }, { "edt", -4 * 3600 },
	{ "cst", -6 * 3600 }, { "cdt", -5 * 3600 },
	{ "mst", -7 * 3600 }, { "mdt", -6 * 3600 },
	{ "pst", -8 * 3600 }, { "pdt", -7 * 3600 },
	{ "akst", -9 * 3600 }, { "akdt", -8 * 3600 },
	{ "hst", -10 * 3600 }, { "hdt", -9 * 3600 },
	{ "ist", MM_TZ_NONE },
};

/* 0: known (*off_r set), 1: ambiguous, -1: not in the table. A name
 * with "DST" glued on ("WETDST", SunOS's TZ=WET0WETDST) is its base
 * zone plus an hour. */
static int zone_lookup(const char *t, size_t n, int *off_r)
{
	size_t i;

	for (i = 0; i < sizeof(zone_tab) / sizeof(zone_tab[0]); i++)
		if (tok_eq(t, n, zone_tab[i].name)) {
			*off_r = zone_tab[i].off;
			return *off_r == MM_TZ_NONE ? 1 : 0;
		}
	if (n > 3 && tok_eq(t + n - 3, 3, "dst")) {
		int r = zone_lookup(t, n - 3, off_r);

		if (r == 0)
			*off_r += 3600;
		return r;
	}
	return -1;
}

/* Reads the whole digit run so that "20011" can never pass as a year
 * followed by junk; the digit bound also rules out int overflow. */
static int digits(const char **pp, const char *end, int min, int max,
		  int *v_r)
{
	const char *p = *pp;
	int v = 0, n = 0;

	while (p < end && is_digit(*p)) {
		if (++n > max)
			return 0;
		v = v * 10 + (*p++ - '0');
	}
	if (n < min)
		return 0;
	*pp = p;
	*v_r = v;
	return 1;
}

/* sign + hhmm; larger hours are typos, not zones. */
static int numeric_zone(const char **pp, const char *end, int *off_r)
{
	const char *p = *pp;
	int v, sign;

	if (p == end || (*p != '+' && *p != '-'))
		return 0;
	sign = *p++ == '-' ? -1 : 1;
	if (!digits(&p, end, 4, 4, &v) || v / 100 > 23 || v % 100 > 59)
		return 0;
	*pp = p;
	*off_r = sign * (v / 100 * 3600 + v % 100 * 60);
	return 1;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
				     30, 31 };

	return m == 2 && leap(y) ? 29 : dim[m - 1];
}

static int valid_fields(int y, int mo, int d, int h, int mi, int s)
{
	return y >= 1 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 &&
	       d <= days_in_month(y, mo) && h >= 0 && h <= 23 && mi >= 0 &&
	       mi <= 59 && s >= 0 && s <= 60;
}

/* Howard Hinnant's days_from_civil, so we need neither timegm nor TZ. */
static long long days_from_civil(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int utc_time(int y, int mo, int d, int h, int mi, int s, int off,
		    time_t *t_r)
{
	long long v = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
		      s - (long long)off;

	/* A 32-bit time_t cannot hold every year we accept. */
	if ((long long)(time_t)v != v)
		return -1;
	*t_r = (time_t)v;
	return 0;
}

/* ctime pads the day with a space, so any run of spaces separates. */
static int next_tok(const char **pp, const char *end, const char **t,
		    size_t *n)
{
	const char *p = *pp;

	while (p < end && *p == ' ')
		p++;
	if (p == end)
		return 0;
	*t = p;
	while (p < end && *p != ' ')
		p++;
	*n = (size_t)(p - *t);
	*pp = p;
	return 1;
}

static int whole_num(const char *t, size_t n, int min, int max, int *v_r)
{
	const char *p = t;

	return digits(&p, t + n, min, max, v_r) && p == t + n;
}

static int is_upper_word(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (t[i] < 'A' || t[i] > 'Z')
			return 0;
	return 1;
}

/* Remember a zone name whose offset is not known, for the caller to
 * report; a numeric zone written as well makes it harmless. */
static void zone_word(struct mm_from *f, const char *t, size_t n, int r)
{
	f->zone_unknown = t;
	f->zone_unknown_len = n;
	f->zone_ambiguous = r == 1;
}

/* A zone token: "+hhmm", or a name of at most 6 letters (known ones in
 * any case, unknown ones in capitals, as strftime writes them: a
 * lowercase word is prose, not a zone). Old SunOS wrote "MET DST", so a
 * DST token after a name counts as part of it. Sets *off_r (MM_TZ_NONE
 * for an unknown name); *numeric_r tells which kind it was. */
static int zone_tok(const char *t, size_t n, const char **pp,
		    const char *end, struct mm_from *f, int *off_r,
		    int *numeric_r)
{
	const char *p = t, *q = *pp, *t2;
	size_t i, n2;
	int off, r;

	*numeric_r = 0;
	if (numeric_zone(&p, t + n, &off)) {
		if (p != t + n)
			return 0;
		*off_r = off;
		*numeric_r = 1;
		return 1;
	}
	if (n > 6)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_alpha(t[i]))
			return 0;
	r = zone_lookup(t, n, &off);
	if (r < 0 && !is_upper_word(t, n))
		return 0;
	if (next_tok(&q, end, &t2, &n2) && tok_eq(t2, n2, "dst")) {
		if (r == 0)
			off += 3600;
		*pp = q;
		n = (size_t)(t2 + n2 - t);
	}
	*off_r = r == 0 ? off : MM_TZ_NONE;
	if (r != 0)
		zone_word(f, t, n, r);
	return 1;
}

/* "Wdy Mon dd hh:mm[:ss] [zone] yyyy [zone] [remote from host]", which
 * must use up all of [p, end). Any 4-digit year: RFC 4155 sets no range,
 * and mail from before 1970 exists (as do writers that put the epoch's
 * last second of 1969 on a UTC host). One zone at most, except that a
 * name before the year may be followed by a numeric zone after it
 * ("UTC 1970 +0000"), which then wins. */
static int parse_ctime(const char *p, const char *end, int uucp,
		       struct mm_from *f)
{
	const char *t;
	size_t n;
	int i, numeric, zone_seen = 0, off;

	f->tz_off = MM_TZ_NONE;
	f->zone_unknown = NULL;
	f->zone_unknown_len = 0;
	f->zone_ambiguous = 0;
	if (!next_tok(&p, end, &t, &n) ||
	    name_index(t, n, wday_names, 7, 0) < 0)
		return -1;
	if (!next_tok(&p, end, &t, &n) ||
	    (i = name_index(t, n, mon_names, 12, 0)) < 0)
		return -1;
	f->mon = i + 1;
	if (!next_tok(&p, end, &t, &n) || !whole_num(t, n, 1, 2, &f->day))
		return -1;
	if (!next_tok(&p, end, &t, &n))
		return -1;
	{
		const char *q = t, *te = t + n;

		f->sec = 0;
		if (!digits(&q, te, 1, 2, &f->hour) || q == te ||
		    *q++ != ':' || !digits(&q, te, 2, 2, &f->min))
			return -1;
		if (q < te && (*q++ != ':' || !digits(&q, te, 2, 2, &f->sec)))
			return -1;
		if (q != te)
			return -1;
	}
	if (!next_tok(&p, end, &t, &n))
		return -1;
	if (!is_digit(t[0])) {
		if (!zone_tok(t, n, &p, end, f, &f->tz_off, &numeric) ||
		    !next_tok(&p, end, &t, &n))
			return -1;
		zone_seen = numeric ? 2 : 1;
	}
	if (!whole_num(t, n, 4, 4, &f->year))
		return -1;
	if (!next_tok(&p, end, &t, &n))
		goto done;
	if (zone_seen != 2 && !tok_eq(t, n, "remote") &&
	    zone_tok(t, n, &p, end, f, &off, &numeric) &&
	    (zone_seen == 0 || numeric)) {
		if (numeric) {
			f->zone_unknown = NULL;
			f->zone_ambiguous = 0;
		}
		f->tz_off = off;
		if (!next_tok(&p, end, &t, &n))
			goto done;
	}
	if (!uucp || !tok_eq(t, n, "remote") || !next_tok(&p, end, &t, &n) ||
	    !tok_eq(t, n, "from") || !next_tok(&p, end, &t, &n) ||
	    next_tok(&p, end, &t, &n))
		return -1;
done:
	if (f->tz_off != MM_TZ_NONE)
		f->zone_unknown = NULL;
	return valid_fields(f->year, f->mon, f->day, f->hour, f->min, f->sec)
		       ? 0 : -1;
}

int mm_from_parse(const char *line, size_t len, struct mm_from *from_r)
{
	struct mm_from f;
	size_t end, i, s;

	if (len > MM_FROM_LINE_MAX || len < 5 || memcmp(line, "From ", 5))
		return -1;
	end = len;
	if (line[end - 1] == '\r')
		end--;
	while (end > 5 && line[end - 1] == ' ')
		end--;
	/* The sender may contain spaces and even weekday names, but the date
	 * is anchored at the end of the line: the rightmost start that
	 * parses as a complete date gives the longest sender. */
	for (i = end; i-- > 5;) {
		if (!is_alpha(line[i]) || (i > 5 && line[i - 1] != ' '))
			continue;
		if (parse_ctime(line + i, line + end, 1, &f) < 0)
			continue;
		s = i > 5 ? i - 1 : 5;
		while (s > 5 && line[s - 1] == ' ')
			s--;
		f.sender = line + 5;
		f.sender_len = s - 5;
		f.dated = 1;
		*from_r = f;
		return 0;
	}
	return -1;
}

static int is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Comments nest and may be cut off by a truncated header; an open one
 * simply runs to the end of the value. */
static const char *skip_cfws(const char *p, const char *end)
{
	size_t depth = 0;

	while (p < end) {
		if (depth) {
			if (*p == '\\' && p + 1 < end)
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')')
				depth--;
			p++;
		} else if (*p == '(') {
			depth = 1;
			p++;
		} else if (is_ws(*p)) {
			p++;
		} else {
			break;
		}
	}
	return p;
}

static const char *alpha_end(const char *p, const char *end)
{
	while (p < end && is_alpha(*p))
		p++;
	return p;
}

/* An RFC 5322 date into f (sender untouched): tz_off is MM_TZ_NONE when
 * no zone or an unknown name was written (f->zone_unknown says which). */
static int parse_rfc(const char *p, const char *end, struct mm_from *f)
{
	const char *q;
	int mon, r;

	f->tz_off = MM_TZ_NONE;
	f->zone_unknown = NULL;
	f->zone_unknown_len = 0;
	f->zone_ambiguous = 0;
	f->sec = 0;
	p = skip_cfws(p, end);
	q = alpha_end(p, end);
	if (q > p) {
		if (name_index(p, (size_t)(q - p), wday_names, 7, 1) < 0)
			return -1;
		p = skip_cfws(q, end);
		if (p < end && *p == ',')
			p = skip_cfws(p + 1, end);
	}
	if (!digits(&p, end, 1, 2, &f->day))
		return -1;
	p = skip_cfws(p, end);
	q = alpha_end(p, end);
	if ((mon = name_index(p, (size_t)(q - p), mon_names, 12, 1)) < 0)
		return -1;
	f->mon = mon + 1;
	p = skip_cfws(q, end);
	q = p;
	if (!digits(&p, end, 2, 4, &f->year))
		return -1;
	/* RFC 5322 4.3: obsolete 2- and 3-digit years. */
	if (p - q == 2)
		f->year += f->year < 50 ? 2000 : 1900;
	else if (p - q == 3)
		f->year += 1900;
	p = skip_cfws(p, end);
	if (!digits(&p, end, 1, 2, &f->hour) || p == end || *p++ != ':' ||
	    !digits(&p, end, 2, 2, &f->min))
		return -1;
	if (p < end && *p == ':') {
		p++;
		if (!digits(&p, end, 2, 2, &f->sec))
			return -1;
	}
	p = skip_cfws(p, end);
	if (numeric_zone(&p, end, &f->tz_off)) {
		/* "-0500 EST" without the parentheses is common enough. */
		p = skip_cfws(p, end);
		q = alpha_end(p, end);
		if (q - p <= 6)
			p = skip_cfws(q, end);
	} else if ((q = alpha_end(p, end)) > p) {
		/* Longer unknown words are prose, not zone names. */
		if (q - p > 6)
			return -1;
		r = zone_lookup(p, (size_t)(q - p), &f->tz_off);
		if (r < 0 && q - p > 5)
			return -1;
		if (r != 0) {
			f->tz_off = MM_TZ_NONE;
			zone_word(f, p, (size_t)(q - p), r);
		}
		p = skip_cfws(q, end);
	}
	if (p != end ||
	    !valid_fields(f->year, f->mon, f->day, f->hour, f->min, f->sec))
		return -1;
	return 0;
}

int mm_date_rfc5322(const char *value, size_t len, time_t *t_r)
{
	const char *p = value, *end = value + len;
	struct mm_from f;

	if (len == 0)
		return -1;
	/* Unknown and military names mean "no real zone": UTC, as RFC 5322
	 * 4.3 says, and as for a missing zone. */
	if (parse_rfc(p, end, &f) == 0)
		return f.year < 1900 ? -1
				     : utc_time(f.year, f.mon, f.day, f.hour,
						f.min, f.sec,
						f.tz_off == MM_TZ_NONE ? 0
								       : f.tz_off,
						t_r);
	/* Some mailers put an asctime() string into Date:. */
	while (p < end && is_ws(*p))
		p++;
	while (end > p && is_ws(end[-1]))
		end--;
	if (p == end || parse_ctime(p, end, 0, &f) < 0)
		return -1;
	return utc_time(f.year, f.mon, f.day, f.hour, f.min, f.sec,
			f.tz_off == MM_TZ_NONE ? 0 : f.tz_off, t_r);
}

/* The loose reading of a "From " line that is not a strict one: the
 * first word is the sender, and an RFC 822 date (or its comma-less
 * cousin "Sun 24 Jan 2016 21:57:32") may follow it. */
static const char *parse_loose(const char *line, size_t end,
			       struct mm_from *f)
{
	size_t i = 5, s;
	int digit = 0;

	while (i < end && line[i] == ' ')
		i++;
	s = i;
	while (i < end && line[i] != ' ')
		i++;
	f->sender = line + s;
	f->sender_len = i - s;
	if (s < end && parse_rfc(line + s, line + end, f) == 0) {
		f->sender_len = 0;
		f->dated = 1;
		return "an RFC 822 date";
	}
	for (; i < end; i++) {
		digit |= is_digit(line[i]);
		if (line[i - 1] != ' ' || line[i] == ' ')
			continue;
		if (parse_rfc(line + i, line + end, f) == 0) {
			f->sender_len = i - s;
			while (f->sender_len > 0 && line[s + f->sender_len - 1] == ' ')
				f->sender_len--;
			f->dated = 1;
			return "an RFC 822 date";
		}
	}
	f->year = f->mon = f->day = f->hour = f->min = f->sec = 0;
	f->tz_off = MM_TZ_NONE;
	f->zone_unknown = NULL;
	return digit ? "a date that does not parse" : "no date";
}

enum mm_from_class mm_from_classify(const char *line, size_t len,
				    struct mm_from *from_r, const char **why_r)
{
	struct mm_from f;
	const char *why;
	size_t end = len;

	memset(&f, 0, sizeof(f));
	f.tz_off = MM_TZ_NONE;
	if (len < 5 || memcmp(line, "From ", 5) != 0) {
		why = "no \"From \" at the start";
	} else if (len > MM_FROM_LINE_MAX) {
		why = "over 1024 bytes";
	} else if (mm_from_parse(line, len, &f) == 0) {
		*from_r = f;
		*why_r = NULL;
		return MM_FROM_STRICT;
	} else {
		if (line[end - 1] == '\r')
			end--;
		while (end > 5 && line[end - 1] == ' ')
			end--;
		/* A From_ line is text: control bytes mean a binary or
		 * CR-only file whose "line" is really many. */
		for (size_t i = 5; i < end; i++)
			if (((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
			    line[i] == 0x7f) {
				*from_r = f;
				*why_r = "control characters";
				return MM_FROM_NONE;
			}
		memset(&f, 0, sizeof(f));
		f.tz_off = MM_TZ_NONE;
		why = parse_loose(line, end, &f);
		*from_r = f;
		*why_r = why;
		return MM_FROM_LOOSE;
	}
	*from_r = f;
	*why_r = why;
	return MM_FROM_NONE;
}

int mm_from_time(const struct mm_from *from, int fixed_off_valid,
		 int fixed_off, time_t *t_r)
{
	struct tm tm;
	time_t t;

	if (!valid_fields(from->year, from->mon, from->day, from->hour,
			  from->min, from->sec))
		return -1;
	if (from->tz_off != MM_TZ_NONE || fixed_off_valid)
		return utc_time(from->year, from->mon, from->day, from->hour,
				from->min, from->sec,
				from->tz_off != MM_TZ_NONE ? from->tz_off
							   : fixed_off,
				t_r);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = from->year - 1900;
	tm.tm_mon = from->mon - 1;
	tm.tm_mday = from->day;
	tm.tm_hour = from->hour;
	tm.tm_min = from->min;
	tm.tm_sec = from->sec;
	tm.tm_isdst = -1;
	/* (time_t)-1 is also a real second; mktime only fills tm_wday on
	 * success, so that tells the two apart. */
	tm.tm_wday = -1;
	t = mktime(&tm);
	if (t == (time_t)-1 && tm.tm_wday == -1)
		return -1;
	*t_r = t;
	return 0;
}

int mm_tz_parse_offset(const char *s, int *off_r)
{
	size_t n;
	const char *p;
	int hh, mm;

	if (!s)
		return -1;
	n = strlen(s);
	if (tok_eq(s, n, "utc") || tok_eq(s, n, "gmt") || tok_eq(s, n, "z")) {
		*off_r = 0;
		return 0;
	}
	if ((n != 5 && n != 6) || (s[0] != '+' && s[0] != '-'))
		return -1;
	p = s + 1;
	if (!digits(&p, s + 3, 2, 2, &hh))
		return -1;
	if (n == 6 && *p++ != ':')
		return -1;
	if (!digits(&p, s + n, 2, 2, &mm) || hh > 23 || mm > 59)
		return -1;
	*off_r = (s[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
	return 0;
}
