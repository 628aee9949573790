# XS glue for src/mm_manifest.c: the --manifest file of a run. Included
# at the end of MigrateMail.xs; the Perl API is MigrateMail::Sync. The
# handle is a plain integer there, owned by its object.
#
# Failures return (undef, text), successes what the C call gave.

#include "src/mm_digest.h"
#include "src/mm_manifest.h"

MODULE = MigrateMail	PACKAGE = MigrateMail::Sync

PROTOTYPES: DISABLE

void
_manifest_create(path, trust)
	const char *path
	int trust
    PREINIT:
	struct mm_err err;
	struct mm_manifest *mf;
    PPCODE:
	mf = mm_manifest_create(path, trust, &err);
	if (mf == NULL) {
		XPUSHs(&PL_sv_undef);
		mXPUSHs(newSVpv(err.text, 0));
	} else {
		mXPUSHs(newSViv(PTR2IV(mf)));
		mXPUSHs(newSViv(mm_manifest_fd(mf)));
	}

SV *
_manifest_commit(h)
	IV h
    PREINIT:
	struct mm_err err;
    CODE:
	RETVAL = mm_manifest_commit(INT2PTR(struct mm_manifest *, h), &err) < 0
		 ? newSVpv(err.text, 0) : &PL_sv_undef;
    OUTPUT:
	RETVAL

void
_manifest_free(h)
	IV h
    CODE:
	mm_manifest_free(INT2PTR(struct mm_manifest *, h));

SV *
digest(bytes)
	SV *bytes
    PREINIT:
	struct mm_digest d;
	STRLEN len;
	const char *p;
	char out[40];
    CODE:
	p = SvPVbyte(bytes, len);
	mm_digest_init(&d);
	mm_digest_add(&d, p, len);
	snprintf(out, sizeof(out), MM_DIGEST_NAME ":%016llx",
		 (unsigned long long)mm_digest_final(&d));
	RETVAL = newSVpv(out, 0);
    OUTPUT:
	RETVAL

void
_check_open(maildir, trust)
	const char *maildir
	int trust
    PREINIT:
	struct mm_err err;
	struct mm_manifest_check *c;
    PPCODE:
	c = mm_manifest_check_open(maildir, trust, &err);
	if (c == NULL) {
		XPUSHs(&PL_sv_undef);
		mXPUSHs(newSVpv(err.text, 0));
	} else {
		mXPUSHs(newSViv(PTR2IV(c)));
	}

void
_check_file(h, file, size, digest)
	IV h
	const char *file
	UV size
	SV *digest
    PREINIT:
	struct mm_err err;
	char found[512];
	uint64_t d = 0;
	int r;
    PPCODE:
	if (SvOK(digest))
		d = (uint64_t)strtoull(SvPV_nolen(digest), NULL, 16);
	r = mm_manifest_check_file(INT2PTR(struct mm_manifest_check *, h), file,
				   (uint64_t)size, SvOK(digest), d, found,
				   sizeof(found), &err);
	mXPUSHs(newSViv(r));
	mXPUSHs(newSVpv(found, 0));
	mXPUSHs(newSVpv(r ? err.text : "", 0));

void
_check_free(h)
	IV h
    CODE:
	mm_manifest_check_free(INT2PTR(struct mm_manifest_check *, h));
