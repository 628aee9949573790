/* MigrateMail.xs - glue between Perl and the C core in src/.
 *
 * Each XSUB converts its arguments, calls one mm_* function and turns a
 * C error into a single croak. No mail logic lives here.
 */
#define PERL_NO_GET_CONTEXT
#include "EXTERN.h"
#include "perl.h"
#include "XSUB.h"
#include "ppport.h"

#include "src/mm_date.h"
#include "src/mm_flags.h"
#include "src/mm_mbox.h"
#include "src/mm_convert.h"
#include "src/mm_lock.h"
#include "src/mm_oldpop3.h"
#include "src/mm_keywords.h"

typedef struct mm_mbox *MigrateMail__Mbox__Reader;
typedef struct mm_keep *MigrateMail__Keep;
typedef struct mm_keywords *MigrateMail__Keywords;

/* Croak with the one error message format of the project. */
static void croak_err(pTHX_ const char *what, const struct mm_err *err)
{
	croak("ERROR: %s: message %lu, offset %llu: %s", what, err->msgno,
	      (unsigned long long)err->offset, err->text);
}

static void hv_store_iv(pTHX_ HV *hv, const char *key, IV v)
{
	(void)hv_store(hv, key, (I32)strlen(key), newSViv(v), 0);
}

static void hv_store_pv(pTHX_ HV *hv, const char *key, const char *v)
{
	(void)hv_store(hv, key, (I32)strlen(key), newSVpv(v, 0), 0);
}

static SV *msg_to_hv(pTHX_ const struct mm_msg *m)
{
	HV *hv = newHV();
	char letters[8];

	hv_store_iv(aTHX_ hv, "number", (IV)m->msgno);
	(void)hv_stores(hv, "offset", newSVuv((UV)m->offset));
	hv_store_iv(aTHX_ hv, "has_from", m->has_from);
	(void)hv_stores(hv, "sender", newSVpvn(m->sender, strlen(m->sender)));
	if (m->has_from_time)
		hv_store_iv(aTHX_ hv, "from_time", (IV)m->from_time);
	if (m->has_date)
		hv_store_iv(aTHX_ hv, "date", (IV)m->date);
	mm_flags_letters(m->flags, letters);
	hv_store_pv(aTHX_ hv, "flags", letters);
	hv_store_iv(aTHX_ hv, "in_cur", mm_flags_in_cur(m->flags));
	if (m->has_uid)
		(void)hv_stores(hv, "uid", newSVuv(m->uid));
	if (m->uidl[0])
		hv_store_pv(aTHX_ hv, "uidl", m->uidl);
	if (m->keywords[0])
		hv_store_pv(aTHX_ hv, "keywords", m->keywords);
	hv_store_iv(aTHX_ hv, "is_pseudo", m->is_pseudo);
	if (m->has_imapbase) {
		(void)hv_stores(hv, "uidvalidity", newSVuv(m->uidvalidity));
		(void)hv_stores(hv, "uid_last", newSVuv(m->uid_last));
	}
	if (m->content_length >= 0)
		(void)hv_stores(hv, "content_length",
				newSVuv((UV)m->content_length));
	hv_store_iv(aTHX_ hv, "clen_used", m->clen_used);
	{
		char hex[17];
		snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)m->hash);
		hv_store_pv(aTHX_ hv, "hash", hex);
	}
	return newRV_noinc((SV *)hv);
}

/* Fill a hash with the state only known once the content was read. */
static void msg_finish(pTHX_ HV *hv, const struct mm_msg *m)
{
	(void)hv_stores(hv, "size", newSVuv((UV)m->size));
	(void)hv_stores(hv, "end_offset", newSVuv((UV)m->end_offset));
	hv_store_iv(aTHX_ hv, "complete", m->complete);
}

static SV *issue_to_hv(pTHX_ const struct mm_err *e)
{
	HV *hv = newHV();

	hv_store_pv(aTHX_ hv, "code", mm_code_name(e->code));
	hv_store_iv(aTHX_ hv, "number", (IV)e->msgno);
	(void)hv_stores(hv, "offset", newSVuv((UV)e->offset));
	hv_store_iv(aTHX_ hv, "errno", e->sys_errno);
	hv_store_pv(aTHX_ hv, "text", e->text);
	return newRV_noinc((SV *)hv);
}

static SV *issues_to_av(pTHX_ const struct mm_issue_list *l)
{
	AV *av = newAV();

	for (size_t i = 0; i < l->len; i++)
		av_push(av, issue_to_hv(aTHX_ &l->items[i]));
	return newRV_noinc((SV *)av);
}

static SV *keep_to_hv(pTHX_ const struct mm_keep_stats *k)
{
	HV *hv = newHV(), *why = newHV();

	(void)hv_stores(hv, "messages", newSVuv(k->messages));
	(void)hv_stores(hv, "pop3_kept", newSVuv(k->pop3_kept));
	(void)hv_stores(hv, "pop3_kept_dovecot", newSVuv(k->pop3_kept_dovecot));
	(void)hv_stores(hv, "imap_kept", newSVuv(k->imap_kept));
	(void)hv_stores(hv, "uidl_guessed", newSViv(k->uidl_guessed));
	(void)hv_stores(why, "no_uidl", newSVuv(k->pop3_no_uidl));
	(void)hv_stores(why, "not_a_file_name", newSVuv(k->pop3_bad_name));
	(void)hv_stores(why, "duplicate_uidl", newSVuv(k->pop3_duplicate));
	(void)hv_stores(why, "earlier_name", newSVuv(k->pop3_earlier_name));
	(void)hv_stores(hv, "pop3_why", newRV_noinc((SV *)why));
	why = newHV();
	(void)hv_stores(why, "no_uid", newSVuv(k->imap_no_uid));
	(void)hv_stores(why, "no_uidvalidity", newSVuv(k->imap_no_validity));
	(void)hv_stores(why, "uids_not_ascending", newSVuv(k->imap_not_ascending));
	(void)hv_stores(hv, "imap_why", newRV_noinc((SV *)why));
	return newRV_noinc((SV *)hv);
}

static SV *stats_to_hv(pTHX_ const struct mm_convert_stats *st)
{
	HV *hv = newHV();

#define ST_UV(f) (void)hv_stores(hv, #f, newSVuv((UV)st->f))
	ST_UV(messages); ST_UV(delivered); ST_UV(to_new); ST_UV(to_cur);
	ST_UV(bytes); ST_UV(skipped_pseudo); ST_UV(skipped_present);
	ST_UV(failed); ST_UV(tmp_cleaned); ST_UV(verified); ST_UV(missing);
	ST_UV(mismatched); ST_UV(uid_lists_written); ST_UV(pop3_list_written); ST_UV(repaired);
	ST_UV(spilled); ST_UV(spill_peak); ST_UV(keywords_kept);
	ST_UV(keywords_dropped); ST_UV(keywords_messages); ST_UV(uids_ignored);
	ST_UV(linked); ST_UV(batches); ST_UV(batches_by_file);
#undef ST_UV
	(void)hv_stores(hv, "keep", keep_to_hv(aTHX_ &st->keep));
	if (st->has_imapbase) {
		(void)hv_stores(hv, "uidvalidity", newSVuv(st->uidvalidity));
		(void)hv_stores(hv, "uid_last", newSVuv(st->uid_last));
	}
	hv_store_pv(aTHX_ hv, "format", mm_format_name(st->format));
	if (st->format_reason[0] != '\0')
		hv_store_pv(aTHX_ hv, "format_reason", st->format_reason);
	if (st->durability[0] != '\0') { /* a Maildir was opened */
		hv_store_pv(aTHX_ hv, "fsync", mm_fsync_name(st->fsync));
		hv_store_pv(aTHX_ hv, "durability", st->durability);
		(void)hv_stores(hv, "durable", newSViv(st->durable));
	}
	if (st->sync.state_written || st->sync.recorded || st->sync.to_add ||
	    st->sync.reflagged || st->sync.removed || st->sync.conflicts ||
	    st->sync.changed) {
		HV *sy = newHV();

#define SY_UV(f) (void)hv_stores(sy, #f, newSVuv((UV)st->sync.f))
		SY_UV(reflagged); SY_UV(removed); SY_UV(conflicts);
		SY_UV(kept_deleted); SY_UV(recorded); SY_UV(state_written);
		SY_UV(to_add); SY_UV(changed);
#undef SY_UV
		(void)hv_stores(hv, "sync", newRV_noinc((SV *)sy));
	}
	if (st->sync.has_in_place) {
		HV *ip = newHV();

		(void)hv_stores(ip, "messages", newSVuv((UV)st->sync.in_place));
		(void)hv_stores(ip, "bytes", newSVuv((UV)st->sync.in_place_bytes));
		(void)hv_stores(ip, "new", newSVuv((UV)st->sync.in_place_new));
		(void)hv_stores(ip, "cur", newSVuv((UV)st->sync.in_place_cur));
		(void)hv_stores(hv, "in_place", newRV_noinc((SV *)ip));
	}
	(void)hv_stores(hv, "errors", issues_to_av(aTHX_ &st->errors));
	(void)hv_stores(hv, "warnings", issues_to_av(aTHX_ &st->warnings));
	(void)hv_stores(hv, "errors_dropped", newSVuv(st->errors.dropped));
	(void)hv_stores(hv, "warnings_dropped", newSVuv(st->warnings.dropped));
	return newRV_noinc((SV *)hv);
}

/* Option hash of the Perl layer (already checked there) to C options. */
static void opts_from_hv(pTHX_ HV *hv, struct mm_convert_opts *o)
{
	SV **v;

	memset(o, 0, sizeof(*o));
	if ((v = hv_fetchs(hv, "format", 0)) && SvOK(*v) &&
	    mm_format_parse(SvPV_nolen(*v), &o->mbox.format) < 0)
		croak("ERROR: unknown mbox format '%s' (auto, mboxo, mboxrd, "
		      "mboxcl, mboxcl2, mmdf)", SvPV_nolen(*v));
	if ((v = hv_fetchs(hv, "fsync", 0)) && SvOK(*v) &&
	    mm_fsync_parse(SvPV_nolen(*v), &o->maildir.fsync) < 0)
		croak("ERROR: unknown fsync mode '%s' (auto, batch, each, none)",
		      SvPV_nolen(*v));
	if ((v = hv_fetchs(hv, "keep_headers", 0)))
		o->mbox.keep_headers = SvTRUE(*v);
	if ((v = hv_fetchs(hv, "tz_fixed", 0)))
		o->mbox.tz_fixed = SvTRUE(*v);
	if ((v = hv_fetchs(hv, "tz_off", 0)))
		o->mbox.tz_off = (int)SvIV(*v);
	if ((v = hv_fetchs(hv, "buffer_max", 0)))
		o->mbox.buf_max = (size_t)SvUV(*v);
	if ((v = hv_fetchs(hv, "uid", 0)) && SvOK(*v)) {
		o->maildir.owner_given = 1;
		o->maildir.uid = (uid_t)SvUV(*v);
		v = hv_fetchs(hv, "gid", 0);
		o->maildir.gid = v && SvOK(*v) ? (gid_t)SvUV(*v) : (gid_t)-1;
	}
	if ((v = hv_fetchs(hv, "host", 0)) && SvOK(*v))
		o->maildir.host = SvPV_nolen(*v);
	if ((v = hv_fetchs(hv, "batch", 0)) && SvOK(*v))
		o->maildir.batch_max = (unsigned)SvUV(*v);
	if ((v = hv_fetchs(hv, "trust_paths", 0)))
		o->maildir.trust_paths = SvTRUE(*v);
	if ((v = hv_fetchs(hv, "lock_timeout", 0)) && SvOK(*v))
		o->maildir.lock_timeout = (int)SvIV(*v);
	if ((v = hv_fetchs(hv, "at_fd", 0)) && SvOK(*v)) {
		o->maildir.at_set = 1;
		o->maildir.at_fd = (int)SvIV(*v);
	}
	if ((v = hv_fetchs(hv, "max_message_size", 0)) && SvOK(*v))
		o->maildir.max_size = (uint64_t)SvUV(*v);
	if ((v = hv_fetchs(hv, "repair", 0)))
		o->repair = SvTRUE(*v);
	if ((v = hv_fetchs(hv, "progress_fd", 0)) && SvOK(*v))
		o->progress_fd = (int)SvIV(*v);
	if ((v = hv_fetchs(hv, "progress_total", 0)) && SvOK(*v))
		o->progress_total = (uint64_t)SvUV(*v);
	if ((v = hv_fetchs(hv, "progress_name", 0)) && SvOK(*v))
		o->progress_name = SvPVbyte_nolen(*v);
	if ((v = hv_fetchs(hv, "verify_digest", 0)))
		o->verify_digest = SvTRUE(*v);
	/* the source's name in the state file (its bytes, kept until the
	 * XSUB returns: the hash holds the SV) */
	if ((v = hv_fetchs(hv, "state_source", 0)) && SvOK(*v))
		o->sync.source = SvPVbyte_nolen(*v);
	if ((v = hv_fetchs(hv, "sync", 0)) && SvOK(*v)) {
		const char *m = SvPV_nolen(*v);

		if (strcmp(m, "off") == 0)
			o->sync.mode = MM_SYNC_OFF;
		else if (strcmp(m, "new-server-wins") == 0)
			o->sync.mode = MM_SYNC_TARGET_WINS;
		else if (strcmp(m, "source-wins") == 0)
			o->sync.mode = MM_SYNC_SOURCE_WINS;
		else
			croak("ERROR: unknown sync mode '%s' (new-server-wins, "
			      "source-wins)", m);
	}
	if ((v = hv_fetchs(hv, "plan", 0)))
		o->sync.plan = SvTRUE(*v);
	if ((v = hv_fetchs(hv, "manifest_fd", 0)) && SvOK(*v)) {
		o->sync.manifest = 1;
		o->sync.manifest_fd = (int)SvIV(*v);
	}
	if ((v = hv_fetchs(hv, "manifest_maildir", 0)) && SvOK(*v))
		o->sync.maildir_name = SvPVbyte_nolen(*v);
	o->old_pop3 = MM_OLDPOP3_AUTO;
	if ((v = hv_fetchs(hv, "old_pop3", 0)) && SvOK(*v) &&
	    mm_old_pop3_parse(SvPV_nolen(*v), &o->old_pop3) < 0)
		croak("ERROR: unknown old POP3 server '%s' (auto, uw, dovecot, "
		      "qpopper, gnu, xuidl, none)", SvPV_nolen(*v));
	if ((v = hv_fetchs(hv, "uidl_names", 0)) && !SvTRUE(*v))
		o->old_pop3 = MM_OLDPOP3_NONE;
	o->uid_lists = (v = hv_fetchs(hv, "uid_lists", 0)) ? SvTRUE(*v) : 1;
	o->ignore_uids = (v = hv_fetchs(hv, "ignore_uids", 0)) ? SvTRUE(*v) : 0;
}

MODULE = MigrateMail	PACKAGE = MigrateMail::Mbox::Reader

PROTOTYPES: DISABLE

MigrateMail::Mbox::Reader
new(class, fd, format, keep_headers, tz_fixed, tz_off, buf_max)
	const char *class
	int fd
	const char *format
	int keep_headers
	int tz_fixed
	int tz_off
	UV buf_max
    PREINIT:
	struct mm_mbox_opts opts;
	struct mm_err err;
    CODE:
	PERL_UNUSED_VAR(class);
	memset(&opts, 0, sizeof(opts));
	if (mm_format_parse(format, &opts.format) < 0)
		croak("ERROR: unknown mbox format '%s' (auto, mboxo, mboxrd, "
		      "mboxcl, mboxcl2, mmdf)", format);
	opts.keep_headers = keep_headers;
	opts.tz_fixed = tz_fixed;
	opts.tz_off = tz_off;
	opts.buf_max = (size_t)buf_max;
	RETVAL = mm_mbox_new(fd, &opts, &err);
	if (RETVAL == NULL)
		croak_err(aTHX_ "mbox", &err);
    OUTPUT:
	RETVAL

void
DESTROY(mb)
	MigrateMail::Mbox::Reader mb
    CODE:
	mm_mbox_free(mb);

SV *
next(mb, name)
	MigrateMail::Mbox::Reader mb
	const char *name
    PREINIT:
	const struct mm_msg *m;
	struct mm_err err;
	int r;
    CODE:
	r = mm_mbox_next(mb, &m, &err);
	if (r < 0)
		croak_err(aTHX_ name, &err);
	RETVAL = r == 0 ? &PL_sv_undef : msg_to_hv(aTHX_ m);
    OUTPUT:
	RETVAL

void
read_chunk(mb, name, hv)
	MigrateMail::Mbox::Reader mb
	const char *name
	HV *hv
    PREINIT:
	const char *data;
	size_t len;
	struct mm_err err;
	int r;
    PPCODE:
	r = mm_mbox_read(mb, &data, &len, &err);
	if (r < 0)
		croak_err(aTHX_ name, &err);
	if (r == 0) {
		msg_finish(aTHX_ hv, mm_mbox_current(mb));
		XSRETURN_UNDEF;
	}
	mXPUSHp(data, len);

SV *
read_all(mb, name, hv)
	MigrateMail::Mbox::Reader mb
	const char *name
	HV *hv
    PREINIT:
	const char *data;
	size_t len;
	struct mm_err err;
	int r;
    CODE:
	RETVAL = newSVpvn("", 0);
	while ((r = mm_mbox_read(mb, &data, &len, &err)) > 0)
		sv_catpvn(RETVAL, data, len);
	if (r < 0) {
		SvREFCNT_dec(RETVAL);
		croak_err(aTHX_ name, &err);
	}
	msg_finish(aTHX_ hv, mm_mbox_current(mb));
    OUTPUT:
	RETVAL

UV
write_to(mb, name, hv, fh)
	MigrateMail::Mbox::Reader mb
	const char *name
	HV *hv
	PerlIO *fh
    PREINIT:
	const char *data;
	size_t len;
	struct mm_err err;
	int r;
    CODE:
	RETVAL = 0;
	while ((r = mm_mbox_read(mb, &data, &len, &err)) > 0) {
		if (PerlIO_write(fh, data, len) != (SSize_t)len)
			croak("ERROR: %s: message %lu: write failed: %s", name,
			      mm_mbox_current(mb)->msgno, Strerror(errno));
		RETVAL += len;
	}
	if (r < 0)
		croak_err(aTHX_ name, &err);
	msg_finish(aTHX_ hv, mm_mbox_current(mb));
    OUTPUT:
	RETVAL

void
skip(mb, name, hv)
	MigrateMail::Mbox::Reader mb
	const char *name
	HV *hv
    PREINIT:
	const char *data;
	size_t len;
	struct mm_err err;
	int r;
    CODE:
	while ((r = mm_mbox_read(mb, &data, &len, &err)) > 0)
		;
	if (r < 0)
		croak_err(aTHX_ name, &err);
	msg_finish(aTHX_ hv, mm_mbox_current(mb));

void
warnings(mb)
	MigrateMail::Mbox::Reader mb
    PREINIT:
	struct mm_err w;
    PPCODE:
	while (mm_mbox_warning(mb, &w)) {
		HV *hv = newHV();
		hv_store_pv(aTHX_ hv, "code", mm_code_name(w.code));
		hv_store_iv(aTHX_ hv, "number", (IV)w.msgno);
		(void)hv_stores(hv, "offset", newSVuv((UV)w.offset));
		hv_store_pv(aTHX_ hv, "text", w.text);
		mXPUSHs(newRV_noinc((SV *)hv));
	}

const char *
format(mb)
	MigrateMail::Mbox::Reader mb
    CODE:
	RETVAL = mm_format_name(mm_mbox_format(mb));
    OUTPUT:
	RETVAL

SV *
not_an_mbox(mb)
	MigrateMail::Mbox::Reader mb
    PREINIT:
	struct mm_err why;
    CODE:
	/* before the first message: why it is no mbox, or undef (one, or
	 * cannot tell, or a read error the reader meets again) */
	RETVAL = mm_mbox_not_mbox(mb, &why) > 0 ? newSVpv(why.text, 0) : newSV(0);
    OUTPUT:
	RETVAL

const char *
format_reason(mb)
	MigrateMail::Mbox::Reader mb
    CODE:
	RETVAL = mm_mbox_format_reason(mb);
    OUTPUT:
	RETVAL

UV
warnings_dropped(mb)
	MigrateMail::Mbox::Reader mb
    CODE:
	RETVAL = mm_mbox_warnings_dropped(mb);
    OUTPUT:
	RETVAL

void
spilled(mb)
	MigrateMail::Mbox::Reader mb
    PREINIT:
	uint64_t written, peak;
    PPCODE:
	written = mm_mbox_spilled(mb, &peak);
	mXPUSHu((UV)written);
	mXPUSHu((UV)peak);

MODULE = MigrateMail	PACKAGE = MigrateMail

SV *
parse_from_line(line)
	SV *line
    PREINIT:
	STRLEN len;
	const char *p;
	struct mm_from from;
	time_t t;
	HV *hv;
    CODE:
	p = SvPVbyte(line, len);
	if (len > 0 && p[len - 1] == '\n')
		len--;
	if (mm_from_parse(p, len, &from) < 0)
		XSRETURN_UNDEF;
	hv = newHV();
	(void)hv_stores(hv, "sender", newSVpvn(from.sender, from.sender_len));
	hv_store_iv(aTHX_ hv, "year", from.year);
	hv_store_iv(aTHX_ hv, "mon", from.mon);
	hv_store_iv(aTHX_ hv, "day", from.day);
	hv_store_iv(aTHX_ hv, "hour", from.hour);
	hv_store_iv(aTHX_ hv, "min", from.min);
	hv_store_iv(aTHX_ hv, "sec", from.sec);
	if (from.tz_off != MM_TZ_NONE)
		hv_store_iv(aTHX_ hv, "tz_offset", from.tz_off);
	if (mm_from_time(&from, 0, 0, &t) == 0)
		hv_store_iv(aTHX_ hv, "time", (IV)t);
	RETVAL = newRV_noinc((SV *)hv);
    OUTPUT:
	RETVAL

SV *
classify_from_line(line)
	SV *line
    PREINIT:
	STRLEN len;
	const char *p, *why;
	struct mm_from from;
	enum mm_from_class cls;
	time_t t;
	HV *hv;
    CODE:
	p = SvPVbyte(line, len);
	if (len > 0 && p[len - 1] == '\n')
		len--;
	cls = mm_from_classify(p, len, &from, &why);
	hv = newHV();
	hv_store_pv(aTHX_ hv, "class", cls == MM_FROM_STRICT ? "strict"
		    : cls == MM_FROM_LOOSE ? "loose" : "none");
	if (why != NULL)
		hv_store_pv(aTHX_ hv, "why", why);
	if (cls != MM_FROM_NONE)
		(void)hv_stores(hv, "sender",
				newSVpvn(from.sender, from.sender_len));
	if (cls != MM_FROM_NONE && from.dated) {
		if (from.tz_off != MM_TZ_NONE)
			hv_store_iv(aTHX_ hv, "tz_offset", from.tz_off);
		if (mm_from_time(&from, 0, 0, &t) == 0)
			hv_store_iv(aTHX_ hv, "time", (IV)t);
	}
	if (cls != MM_FROM_NONE && from.zone_unknown != NULL)
		(void)hv_stores(hv, "zone_unknown",
				newSVpvn(from.zone_unknown,
					 from.zone_unknown_len));
	RETVAL = newRV_noinc((SV *)hv);
    OUTPUT:
	RETVAL

SV *
parse_date(value)
	SV *value
    PREINIT:
	STRLEN len;
	const char *p;
	time_t t;
    CODE:
	p = SvPVbyte(value, len);
	RETVAL = mm_date_rfc5322(p, len, &t) == 0 ? newSViv((IV)t)
						    : &PL_sv_undef;
    OUTPUT:
	RETVAL

SV *
tz_offset(spec)
	const char *spec
    PREINIT:
	int off;
    CODE:
	RETVAL = mm_tz_parse_offset(spec, &off) == 0 ? newSViv(off)
						     : &PL_sv_undef;
    OUTPUT:
	RETVAL

SV *
_convert(fd, maildir, opt, verify_only)
	int fd
	const char *maildir
	HV *opt
	int verify_only
    PREINIT:
	struct mm_convert_opts o;
	struct mm_convert_stats st;
	struct mm_err err;
	int r;
    CODE:
	opts_from_hv(aTHX_ opt, &o);
	memset(&err, 0, sizeof(err));
	r = verify_only ? mm_verify(fd, maildir, &o, &st, &err)
			: mm_convert(fd, maildir, &o, &st, &err);
	RETVAL = stats_to_hv(aTHX_ &st);
	if (r < 0)
		(void)hv_stores((HV *)SvRV(RETVAL), "fatal",
				issue_to_hv(aTHX_ &err));
	mm_convert_stats_free(&st);
    OUTPUT:
	RETVAL

SV *
_lock_plan(spec)
	const char *spec
    PREINIT:
	struct mm_lock_plan plan;
	struct mm_err err;
    CODE:
	RETVAL = mm_lock_plan_parse(spec, &plan, &err) < 0
		 ? newSVpv(err.text, 0) : &PL_sv_undef;
    OUTPUT:
	RETVAL

void
_lock_acquire(fd, path, spec, timeout, stale)
	int fd
	const char *path
	const char *spec
	int timeout
	int stale
    PREINIT:
	struct mm_lock_plan plan;
	struct mm_err err;
	int id;
    PPCODE:
	id = mm_lock_plan_parse(spec, &plan, &err) < 0 ? -1
	     : mm_lock_acquire(fd, path, &plan, timeout, stale, &err);
	if (id < 0) {
		XPUSHs(&PL_sv_undef);
		mXPUSHs(newSVpv(err.text, 0));
		mXPUSHs(newSVpv(mm_code_name(err.code), 0));
		mXPUSHs(newSViv(err.sys_errno));
	} else {
		mXPUSHs(newSViv(id));
	}

int
_lock_stale_default()
    CODE:
	RETVAL = MM_LOCK_STALE_DEFAULT;
    OUTPUT:
	RETVAL

void
_lock_release(id)
	int id
    CODE:
	mm_lock_release(id);

INCLUDE: xs/passwd.xsh
INCLUDE: xs/fs.xsh
INCLUDE: xs/sync.xsh
INCLUDE: xs/keep.xsh
