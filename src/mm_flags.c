/* mm_flags.c - mbox status headers to Maildir flags. */
#include "mm_flags.h"

void mm_flags_status(const char *value, size_t len, int has_xstatus,
		     unsigned *flags)
{
	unsigned f = 0;

	for (size_t i = 0; i < len; i++) {
		switch (value[i]) {
		case 'R': f |= MM_F_SEEN | MM_F_OLD; break;
		case 'O': f |= MM_F_OLD; break;
		case 'A': f |= MM_F_REPLIED; break;
		case 'F': f |= MM_F_FLAGGED; break;
		case 'D': /* FALLTHROUGH */
		case 'd': f |= MM_F_TRASHED; break;
		}
	}
	if (has_xstatus)
		f &= ~MM_F_XSTATUS_DECIDES;
	*flags |= f;
}

void mm_flags_xstatus(const char *value, size_t len, unsigned *flags)
{
	for (size_t i = 0; i < len; i++) {
		switch (value[i]) {
		case 'A': *flags |= MM_F_REPLIED; break;
		case 'F': *flags |= MM_F_FLAGGED; break;
		case 'D': *flags |= MM_F_TRASHED; break;
		case 'T': *flags |= MM_F_DRAFT; break;
		}
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void mm_flags_mozilla(const char *value, size_t len, unsigned *flags)
{
	unsigned long bits = 0;
	size_t i = 0, digits = 0;

	while (i < len && (value[i] == ' ' || value[i] == '\t'))
		i++;
	/* Thunderbird writes exactly four hex digits ("0001"); anything
	 * else is not Mozilla's and is ignored rather than guessed at. */
	for (; i < len && hexval(value[i]) >= 0 && digits < 8; i++, digits++)
		bits = bits << 4 | (unsigned long)hexval(value[i]);
	if (digits == 0)
		return;
	while (i < len && (value[i] == ' ' || value[i] == '\t' ||
			   value[i] == '\r'))
		i++;
	if (i != len)
		return;
	if (bits & 0x1)
		*flags |= MM_F_SEEN;
	if (bits & 0x2)
		*flags |= MM_F_REPLIED;
	if (bits & 0x4)
		*flags |= MM_F_FLAGGED;
	if (bits & 0x8)
		*flags |= MM_F_TRASHED;
}

size_t mm_flags_letters(unsigned flags, char *buf)
{
	size_t n = 0;

	if (flags & MM_F_DRAFT)
		buf[n++] = 'D';
	if (flags & MM_F_FLAGGED)
		buf[n++] = 'F';
	if (flags & MM_F_REPLIED)
		buf[n++] = 'R';
	if (flags & MM_F_SEEN)
		buf[n++] = 'S';
	if (flags & MM_F_TRASHED)
		buf[n++] = 'T';
	buf[n] = '\0';
	return n;
}

int mm_flags_in_cur(unsigned flags)
{
	return (flags & (MM_F_OLD | MM_F_DRAFT | MM_F_FLAGGED | MM_F_REPLIED |
			 MM_F_SEEN | MM_F_TRASHED)) != 0;
}
