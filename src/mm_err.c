/* mm_err.c - filling struct mm_err. */
#include <stdio.h>
#include <string.h>

#include "mm_err.h"

int mm_err_set(struct mm_err *err_r, enum mm_code code, int sys_errno,
	       unsigned long msgno, uint64_t offset, const char *fmt, ...)
{
	va_list ap;

	if (err_r == NULL)
		return -1;
	err_r->code = code;
	err_r->sys_errno = sys_errno;
	err_r->msgno = msgno;
	err_r->offset = offset;
	va_start(ap, fmt);
	vsnprintf(err_r->text, sizeof(err_r->text), fmt, ap);
	va_end(ap);
	return -1;
}

const char *mm_code_name(enum mm_code code)
{
	switch (code) {
	case MM_OK: return "ok";
	case MM_E_IO: return "io";
	case MM_E_NOMEM: return "nomem";
	case MM_E_USAGE: return "usage";
	case MM_E_FORMAT: return "format";
	case MM_E_TOOBIG: return "too-big";
	case MM_W_NO_FROM: return "no-from";
	case MM_W_NUL: return "nul";
	case MM_W_BAD_CLEN: return "bad-content-length";
	case MM_W_TRUNCATED: return "truncated";
	case MM_W_LONG_HEADER: return "long-header";
	case MM_W_NO_SEPARATOR: return "no-separator";
	case MM_W_FROM_LIKE: return "from-like";
	case MM_W_GUESS: return "guessed-boundary";
	case MM_W_ZONE: return "unknown-zone";
	case MM_W_FORMAT_GUESS: return "format-guess";
	case MM_W_MMDF: return "mmdf-separator";
	case MM_W_KEYWORDS: return "keywords";
	case MM_W_UIDL: return "uidl";
	case MM_W_FILESYSTEM: return "filesystem";
	case MM_W_CONFLICT: return "conflict";
	case MM_W_CHANGED: return "changed";
	}
	return "unknown";
}
