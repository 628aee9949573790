# XS glue for src/mm_passwd.c (password hashes via libxcrypt).
# Included at the end of MigrateMail.xs. The Perl API over these is
# lib/MigrateMail/Passwd.pm; the leading underscore marks them internal.

#include "src/mm_passwd.h"

MODULE = MigrateMail	PACKAGE = MigrateMail::Passwd

PROTOTYPES: DISABLE

SV *
_classify(hash)
	SV *hash
    PREINIT:
	STRLEN len;
	const char *p;
	struct mm_pw_info info;
	struct mm_err err;
	HV *hv;
    CODE:
	p = SvPVbyte(hash, len);
	if (mm_pw_classify(p, len, &info, &err) < 0)
		croak("ERROR: %s", err.text);
	hv = newHV();
	(void)hv_stores(hv, "scheme",
			newSVpv(mm_pw_scheme_name(info.scheme), 0));
	if (info.scheme == MM_PW_LOCKED)
		(void)hv_stores(hv, "locked_scheme",
				newSVpv(mm_pw_scheme_name(info.locked_scheme),
					0));
	(void)hv_stores(hv, "well_formed", newSViv(info.well_formed));
	(void)hv_stores(hv, "support",
			newSVpv(mm_pw_support_name(info.support), 0));
	(void)hv_stores(hv, "can_verify", newSViv(info.can_verify));
	(void)hv_stores(hv, "legacy", newSViv(info.legacy));
	(void)hv_stores(hv, "weak", newSViv(info.weak));
	if (info.note)
		(void)hv_stores(hv, "note", newSVpv(info.note, 0));
	RETVAL = newRV_noinc((SV *)hv);
    OUTPUT:
	RETVAL

void
_verify(password, hash)
	SV *password
	SV *hash
    PREINIT:
	STRLEN pwlen, hlen;
	const char *pw, *h;
	struct mm_err err;
	int r;
    PPCODE:
	pw = SvPVbyte(password, pwlen);
	h = SvPVbyte(hash, hlen);
	r = mm_pw_verify(pw, pwlen, h, hlen, &err);
	if (r < 0) {
		XPUSHs(&PL_sv_undef);
		mXPUSHs(newSVpv(err.text, 0));
	} else {
		mXPUSHi(r);
	}

SV *
_new_hash(password, prefix, count)
	SV *password
	SV *prefix
	UV count
    PREINIT:
	STRLEN pwlen;
	const char *pw;
	char out[MM_PW_HASH_MAX];
	struct mm_err err;
	int n;
    CODE:
	pw = SvPVbyte(password, pwlen);
	n = mm_pw_hash(pw, pwlen, SvOK(prefix) ? SvPVbyte_nolen(prefix) : NULL,
		       (unsigned long)count, out, sizeof(out), &err);
	if (n < 0)
		croak("ERROR: cannot make a password hash: %s", err.text);
	RETVAL = newSVpvn(out, (STRLEN)n);
    OUTPUT:
	RETVAL

const char *
_preferred_method()
    CODE:
	RETVAL = mm_pw_preferred_method();
    OUTPUT:
	RETVAL

const char *
_scheme_prefix(name)
	const char *name
    PREINIT:
	enum mm_pw_scheme s;
    CODE:
	if (mm_pw_scheme_parse(name, &s) < 0 ||
	    (RETVAL = mm_pw_scheme_prefix(s)) == NULL)
		XSRETURN_UNDEF;
    OUTPUT:
	RETVAL
