/* mm_date.h - parse the dates found in mbox files.
 *
 * Pure C, no Perl. Two parsers: the From_ line that starts every mbox
 * message ("From sender Mon Jan  1 12:00:00 2001") and the RFC 5322 Date:
 * header used when a message has no usable From_ line date.
 */
#ifndef MM_DATE_H
#define MM_DATE_H

#include <stddef.h>
#include <time.h>

/* Longest From_ line considered; a longer line is never a From_ line. */
#define MM_FROM_LINE_MAX 1024

/* Sentinel for "no zone was written in the text". */
#define MM_TZ_NONE (-100000)

/* What a line that may start a message is (see mm_from_classify()). */
enum mm_from_class {
	MM_FROM_NONE = 0, /* no "From " at its start, or longer than the limit */
	MM_FROM_LOOSE,    /* "From " but no ctime date: From_-like */
	MM_FROM_STRICT,   /* "From ", a sender and a ctime date */
};

struct mm_from {
	/* Envelope sender: points into the line given to mm_from_parse(),
	 * so it lives as long as that buffer. May be empty (len 0). */
	const char *sender;
	size_t sender_len;
	/* Non-zero when the fields below hold a date (always for a strict
	 * line; for a loose one only when it carries an RFC 822 date). */
	int dated;
	/* Broken-down date as written: year (4 digits, e.g. 2001), month
	 * 1-12, day 1-31, hour 0-23, minute 0-59, second 0-60 (0 if missing). */
	int year, mon, day, hour, min, sec;
	/* Offset east of UTC in seconds when the line carries a numeric zone
	 * ("+0100", "-0500") or a known name ("UTC", "JST", "WETDST", "MET
	 * DST", ...); MM_TZ_NONE when it carries none (the classic case:
	 * local time) or only a name whose offset is not known. */
	int tz_off;
	/* A zone name was written but its offset is not known ("XYZ"), or
	 * is ambiguous (zone_ambiguous: "IST"), and no numeric zone was
	 * written beside it: the name, pointing into the line like sender;
	 * NULL otherwise. The reader reports it (once per mailbox). */
	const char *zone_unknown;
	size_t zone_unknown_len;
	int zone_ambiguous;
};

/* Parse one From_ line. line/len is the line WITHOUT its "\n" (a
 * trailing "\r" is tolerated and ignored). Returns 0 and fills from_r
 * when the line is a valid From_ line, -1 when it is not. Never reads
 * outside line[0..len).
 *
 * Valid (a STRICT From_ line): "From " (capital F, one space), an
 * envelope sender (possibly empty, possibly several words), then a
 * ctime-style date: weekday name, month name, day (space-padded,
 * zero-padded or plain), hh:mm[:ss], and any 4-digit year (1969 and
 * 1965 as well as 2201); a zone may stand before or after the year:
 * "+0100", or a name of at most 6 letters ("MET", "UTC", "JST",
 * "WETDST", also "MET DST"), known names in any case, unknown ones in
 * capitals (then reported through zone_unknown, not applied); a name
 * before the year may be followed by a numeric zone after it ("UTC 1970
 * +0000"); "remote from host" may follow. Weekday and month names are
 * the English three-letter ones, matched case-insensitively. Fields are
 * range-checked (Feb 31 rejected, hour 24 rejected). */
int mm_from_parse(const char *line, size_t len, struct mm_from *from_r);

/* Classify a line (without its "\n") that might start a message:
 * MM_FROM_STRICT as mm_from_parse() accepts it; MM_FROM_LOOSE for any
 * other line of at most MM_FROM_LINE_MAX bytes starting "From " (no
 * date, "From - ", "From foo@bar blah", an RFC 822 date such as "Sun,
 * 11 Nov 2007 06:58:35 +0200" or "Sun 24 Jan 2016 21:57:32", a ctime
 * date that does not parse); MM_FROM_NONE otherwise. from_r is filled
 * for STRICT and LOOSE (for LOOSE: the first word as sender, the date
 * when one parsed, dated saying so). *why_r is NULL for STRICT, else a
 * static noun phrase saying why the line is not strict ("no date", "an
 * RFC 822 date", "a date that does not parse", "over 1024 bytes",
 * ...), for warnings. */
enum mm_from_class mm_from_classify(const char *line, size_t len,
				    struct mm_from *from_r, const char **why_r);

/* Parse the value of an RFC 5322 Date: header (obsolete forms of RFC 822
 * included: 2-digit years, zone names, missing weekday, missing seconds,
 * comments). Returns 0 and sets *t_r to the epoch time, -1 if it does not
 * parse. A date without zone is taken as UTC. */
int mm_date_rfc5322(const char *value, size_t len, time_t *t_r);

/* Convert the broken-down From_ date to epoch seconds.
 * from->dated must be set. If the line carried a zone, that zone is used. Otherwise, if
 * fixed_off_valid is non-zero, the time is taken as fixed_off seconds
 * east of UTC; else it is local time of the process (mktime with the
 * TZ in force, DST guessed). Returns 0 on success, -1 if out of range. */
int mm_from_time(const struct mm_from *from, int fixed_off_valid,
		 int fixed_off, time_t *t_r);

/* Parse a timezone option: "UTC", "GMT", "Z", "+hhmm", "-hhmm",
 * "+hh:mm". Returns 0 and sets *off_r (seconds east of UTC), or -1. */
int mm_tz_parse_offset(const char *s, int *off_r);

#endif
