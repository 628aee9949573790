# XS glue for src/mm_oldpop3.c: the forecast of a --dry-run and of
# mbox-scan, over the messages MigrateMail::Mbox yields (the same count
# mm_convert() keeps while it converts). Included at the end of
# MigrateMail.xs; the Perl API is MigrateMail::Keep.

MODULE = MigrateMail	PACKAGE = MigrateMail::Keep

PROTOTYPES: DISABLE

MigrateMail::Keep
new(class, scheme)
	const char *class
	const char *scheme
    PREINIT:
	enum mm_old_pop3 s;
    CODE:
	PERL_UNUSED_VAR(class);
	if (mm_old_pop3_parse(scheme, &s) < 0)
		croak("ERROR: unknown old POP3 server '%s' (auto, uw, dovecot, "
		      "qpopper, gnu, xuidl, none)", scheme);
	Newxz(RETVAL, 1, struct mm_keep);
	mm_keep_init(RETVAL, s);
    OUTPUT:
	RETVAL

# One message (a MigrateMail::Mbox::Message): returns its old UIDL and
# the text of a warning about it, each possibly not defined.
void
add(k, msg)
	MigrateMail::Keep k
	HV *msg
    PREINIT:
	struct mm_msg *m;
	struct mm_err e;
	char uidl[MM_UIDL_MAX];
	SV **v;
	int named, r;
    PPCODE:
	/* the reader's struct is large (From_ line, keywords): heap */
	Newxz(m, 1, struct mm_msg);
	if ((v = hv_fetchs(msg, "number", 0)))
		m->msgno = (unsigned long)SvUV(*v);
	if ((v = hv_fetchs(msg, "offset", 0)))
		m->offset = (uint64_t)SvUV(*v);
	if ((v = hv_fetchs(msg, "is_pseudo", 0)))
		m->is_pseudo = SvTRUE(*v);
	if ((v = hv_fetchs(msg, "uid", 0)) && SvOK(*v)) {
		m->has_uid = 1;
		m->uid = (uint32_t)SvUV(*v);
	}
	if ((v = hv_fetchs(msg, "uidl", 0)) && SvOK(*v))
		snprintf(m->uidl, sizeof(m->uidl), "%s", SvPVbyte_nolen(*v));
	if ((v = hv_fetchs(msg, "uidvalidity", 0)) && SvOK(*v)) {
		m->has_imapbase = 1;
		m->uidvalidity = (uint32_t)SvUV(*v);
	}
	r = mm_keep_add(k, m, uidl, &named, &e);
	Safefree(m);
	if (r < 0)
		croak("ERROR: %s", e.text);
	mXPUSHs(uidl[0] ? newSVpv(uidl, 0) : newSV(0));
	mXPUSHs(r > 0 ? newSVpv(e.text, 0) : newSV(0));

SV *
result(k)
	MigrateMail::Keep k
    PREINIT:
	struct mm_keep_stats st;
    CODE:
	mm_keep_result(k, &st);
	RETVAL = keep_to_hv(aTHX_ &st);
    OUTPUT:
	RETVAL

void
DESTROY(k)
	MigrateMail::Keep k
    CODE:
	mm_keep_free(k);
	Safefree(k);

# The keywords a --dry-run forecasts (mm_keywords.c, as a run counts
# them): X-Keywords values in mbox order, against the dovecot-keywords
# of the Maildir (a directory descriptor; -1: none, a new Maildir).

MODULE = MigrateMail	PACKAGE = MigrateMail::Keywords

PROTOTYPES: DISABLE

MigrateMail::Keywords
new(class, dfd = -1)
	const char *class
	int dfd
    PREINIT:
	struct mm_err e;
    CODE:
	PERL_UNUSED_VAR(class);
	Newxz(RETVAL, 1, struct mm_keywords);
	/* a dovecot-keywords that makes no sense: the run carries none
	 * (mm_convert.c); counted from scratch here all the same */
	if (dfd >= 0 && mm_keywords_init(RETVAL, dfd, &e) < 0)
		memset(RETVAL, 0, sizeof(*RETVAL));
    OUTPUT:
	RETVAL

# One message's X-Keywords value: (number of letters, number dropped).
void
add(k, kw)
	MigrateMail::Keywords k
	const char *kw
    PREINIT:
	char out[MM_INFO_MAX];
	unsigned dropped = 0;
	int n;
    PPCODE:
	if ((n = mm_keywords_letters(k, kw, out, &dropped)) < 0)
		croak("ERROR: out of memory");
	mXPUSHi(n);
	mXPUSHu(dropped);

SV *
result(k)
	MigrateMail::Keywords k
    PREINIT:
	HV *hv;
    CODE:
	hv = newHV();
	(void)hv_stores(hv, "keywords_kept", newSVuv(k->kept));
	(void)hv_stores(hv, "keywords_dropped", newSVuv(k->dropped));
	(void)hv_stores(hv, "keywords_messages", newSVuv(k->messages));
	RETVAL = newRV_noinc((SV *)hv);
    OUTPUT:
	RETVAL

void
DESTROY(k)
	MigrateMail::Keywords k
    CODE:
	mm_keywords_free(k);
	Safefree(k);
