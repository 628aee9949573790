package MigrateMail;

use strict;
use warnings;

our $VERSION = '0.01';

require XSLoader;
XSLoader::load('MigrateMail', $VERSION);

use Exporter 'import';
our @EXPORT_OK = qw(mbox_to_maildir verify_maildir parse_from_line
		    classify_from_line parse_date tz_offset
		    password_scheme password_verify password_hash
		    password_method);

# The functions live in modules loaded only when first called, so that
# "use MigrateMail" stays light for scripts that read mboxes only.
my %LAZY = (
	mbox_to_maildir => 'MigrateMail::Convert',
	verify_maildir  => 'MigrateMail::Convert',
	password_scheme => 'MigrateMail::Passwd',
	password_verify => 'MigrateMail::Passwd',
	password_hash   => 'MigrateMail::Passwd',
	password_method => 'MigrateMail::Passwd',
);
for my $name (keys %LAZY) {
	my $module = $LAZY{$name};
	(my $file = "$module.pm") =~ s{::}{/}g;
	no strict 'refs';
	*{$name} = sub {
		require $file;
		goto &{"${module}::$name"};
	};
}

1;
__END__

=head1 NAME

MigrateMail - move Unix mbox spools to Maildir, correctly and fast

=head1 SYNOPSIS

  use MigrateMail::Mbox;

  my $mbox = MigrateMail::Mbox->new('/var/spool/mail/alice');
  while (my $msg = $mbox->next) {
      next if $msg->is_pseudo;
      printf "%d %s %s %s\n", $msg->number, $msg->sender,
          scalar gmtime($msg->from_time), $msg->flags;
      $msg->write_to($fh);               # the message bytes, streamed
  }
  warn "$_->{message}\n" for $mbox->warnings;

  use MigrateMail qw(mbox_to_maildir verify_maildir);
  my $st = mbox_to_maildir('/var/spool/mail/alice', '/home/alice/Maildir');
  print "$st->{delivered} delivered, $st->{skipped_present} already there\n";
  print STDERR "$_->{message}\n" for @{ $st->{errors} };

  use MigrateMail qw(parse_from_line parse_date tz_offset);
  my $f = parse_from_line('From alice Mon Jan  1 12:00:00 2001');
  my $t = parse_date('Mon, 1 Jan 2001 12:00:00 +0100');   # 978346800

=head1 DESCRIPTION

MigrateMail moves a mail server's users and mail from the classic Unix
layout (system accounts, one mbox file per user in F</var/spool/mail>) to
Maildir servers such as qmail+vpopmail, Dovecot and Courier.

The work that touches every byte of mail is done in C: the mbox reader
(L<MigrateMail::Mbox>) streams any mbox variant with bounded memory,
finds message boundaries strictly, undoes From_ quoting and reads the
flags the old server kept in C<Status>, C<X-Status> and
C<X-Mozilla-Status> headers.

This module holds the XS bootstrap and a few small functions.

=head1 FUNCTIONS

Nothing is exported by default.

=head2 $stats = mbox_to_maildir($src, $maildir, %opt)

Converts one mbox (a path, or a handle read from its current position)
into the Maildir C<$maildir>, which is created (mode 0700, with tmp/,
new/ and cur/) if its parent exists. The whole loop runs in C: read,
split, unquote, write into tmp/, make durable, link or rename into new/
or cur/. On ext4 (and tmpfs), where that was measured faster, each
message is an unnamed file of tmp/ (O_TMPFILE), written, given its
owner and mtime and kept open until its batch is synced, then linked
into new/ or cur/ under its name (linkat(), which never replaces a
name): durable before it is visible, and a crash or kill leaves nothing
in tmp/. Elsewhere (xfs and btrfs, where it was slower; NFS, FUSE and
others without it or not measured), in fsync mode C<each>, for a
repair, or with too few open files to spare (batches are capped by
C<ulimit -n>) it is a file in tmp/ renamed after the sync. The
environment variable C<MIGRATEMAIL_NO_TMPFILE> (for tests) makes it
renamed files everywhere (C<1>) or O_TMPFILEs wherever they work
(C<0>).

Each message becomes one file: its bytes as L<MigrateMail::Mbox> gives
them, mode 0600, owned by the Maildir's owner (when run as root), its
mtime the From_ line date (else the Date: header), in cur/ with its
Maildir flags (C<:2,FRS>) when the old server had shown it to the user,
else in new/. Names are deterministic: converting the same mbox again
adds nothing, and a run that was killed completes when run again.
A message counts as there when new/ or cur/ holds a regular file of its
name (whatever its flags say now) of the size the name promises
(C<,S=SIZE>; a name without one, a UIDL, must not be empty): one stat()
per file of ours at open. A damaged file (empty, short, too long) gets
its message again, through tmp/, made durable, then renamed over it
under the same name (the one rename that replaces), counted in
C<repaired>. Symlinks, FIFOs and other non-files never count and are
never replaced; a damaged file beside a sound one of the same message
is left alone. Bytes are compared only by C<verify>. A
message with a usable X-UIDL header is named by it, so POP3 servers that
serve file names as UIDLs (qmail-pop3d, Dovecot with C<%f>) keep the old
UIDLs; the others are named C<TIME.HHASH.HOST,S=SIZE>. When the mbox has
a UIDVALIDITY (UW-IMAP X-IMAP or X-IMAPbase) and X-UIDs, and the Maildir
has no UID list yet, F<dovecot-uidlist> and F<courierimapuiddb> keep the
IMAP UIDs. They are written only by a run in which no message failed, so
that a list never has holes: after a kill or a failure, the run that
completes the mailbox writes them. A list that exists is the server's
and is left alone, unless it is still byte for byte what an earlier run
of ours wrote (its size and 64-bit digest are recorded in
F<migratemail-uidlists> in the Maildir): then a later complete run (a
B<--sync> cut-over) rewrites it with the mbox's current UIDs, so that
messages the old server numbered after the first pass keep their UIDs
and removed ones leave the list; the rewrite goes to a tmp name, renamed
over the list only if the name is still the file that was read (inode,
size, times), and counts in C<uid_lists_written>. Once Dovecot or
Courier changed a list (Dovecot adds a C<G> field or the files it
found) it is the server's for good. If the mbox's UIDVALIDITY is not
the list's (the old server renumbered), or a message the list lacks has
a UID below the list's next UID (which would renumber what a server may
have seen), the list is left alone with a WARNING. A list name that is not a regular file (a FIFO, a
symlink) is reported and left alone too. Nothing is ever written or
chowned through a symlink or a hard link; a Maildir, tmp/, new/ or cur/
that is a symlink is refused, and so is a symlink on the way to the
Maildir or the mbox that root does not own (see L<MigrateMail::FS>). An
mbox given by path must be a regular file with one link, a FIFO or a
character device. The source is never modified; a spool file given by
path is locked while it is read.

An existing F<maildirsize> (the Maildir++ quota file) is kept right, and
stays right whatever kills the runs: the line for a batch is appended
before its messages are renamed into new/ and cur/ (a kill leaves the
file high by at most that batch, never low), and every run starts by
recounting the Maildir and rewriting the file (the quota line and one line
of totals, through a temporary file and a rename) when its sum disagrees,
it has a line that is not "bytes count", or it is 5120 bytes or more. The
count follows vpopmail's: new/ and cur/ of the Maildir and of its
Maildir++ folders (F<.name/>) but F<.Trash>, leaving out messages flagged
deleted (C<T>), sizes from C<,S=> in the names, else the files' sizes.
When C<$maildir> is a folder (it has a F<maildirfolder> file) its
deliveries count in its parent's F<maildirsize>, if the parent has the
same owner. A F<maildirsize> that is not a regular file with one link (a
symlink, a hard link, a FIFO, a device) is reported (an error of the
Maildir, no message lost) and left alone; nothing blocks on it.

Options: C<format>, C<keep_headers>, C<timezone>, C<buffer_max> (as for
L<MigrateMail::Mbox/new>); C<fsync> (C<auto>, the default: every message
durable before it is visible, syncs batched with syncfs() where the file
system honours it (or, on ext4, an fsync of each file of the batch
while much else is dirty), else C<each>; C<batch>; C<each>: an fsync of every
file before its rename; C<none>; see L<mbox2vpopmail/DURABILITY>); C<batch>
(messages per batch, 256); C<uid>, C<gid> (owner of what is created,
instead of the Maildir's); C<host> (the host part of names); C<lock>
(how a spool file given by path is locked while it is read: C<auto>, the
default, is a dotlock where one can be created, then a shared fcntl lock,
then a shared flock; C<all> the three; C<both> dotlock and fcntl; C<none>;
or a comma-separated list of C<dotlock>, C<fcntl>, C<flock> in the order
to take them; none is waited for while another is held), C<lock_timeout>
(seconds to wait for them, and for another writer of the Maildir, see
L</ONE WRITER PER MAILDIR>; 30) and C<lock_stale> (seconds after which a
dotlock that is not ours may be broken, 1024, and only if the pid it
holds, if any, is gone; ours, C<PID mTOKEN\n> naming this host, is
broken at once when its process is gone, touched every minute while
held, and removed on SIGINT, SIGTERM and SIGHUP; see L<mbox2vpopmail/--lock-stale>); C<verify> (read the mbox again afterwards and check every
message byte for byte; an mbox that cannot be read again, a pipe, is
checked against the size and a 64-bit digest of each message taken as
it streamed by, see L<mbox2vpopmail/--verify>); C<repair> (with C<verify>: what differs or is
missing is delivered again, see C<verify_maildir> below; croaks without
C<verify>); C<old_pop3> (the old POP3 server whose UIDLs to keep:
C<auto>, the default, C<uw>, C<dovecot>, C<qpopper>, C<gnu>, C<xuidl>
or C<none>, see L<mbox2vpopmail/OLD POP3 SERVERS>; C<< uidl_names => 0 >>
is C<none>) and C<uid_lists> (on by default); C<ignore_uids> (take
no X-UID, X-IMAP or X-IMAPbase of this mbox as what clients saw: no
file named by a UID-based UIDL, no UID list, no message in F<cur/> for
its UID; for a UW-IMAP user's spool beside the F<~/mbox> UW served as
INBOX, see L<mbox2vpopmail/UW-IMAP HOMES>); C<max_message_size> (bytes, default 2 GiB: see below);
C<name> (for messages); C<trust_paths> (follow any symlink on
the paths, take an mbox with other hard links); C<at> (a
L<MigrateMail::FS> directory object: C<$maildir> is then one name in it,
as a Maildir++ folder C<.a.b> of that Maildir); C<lock_path> (when
C<$src> is a handle: the spool file's path, for its dotlock); C<sync>
(C<new-server-wins> or C<source-wins>: the cut-over pass, see
L</SYNC PASSES>); C<dry_run> (with C<sync>: count what the pass would
do, the Maildir opened read-only, nothing written); C<state> (0: do not
read or write the state file); C<manifest_fd> (a descriptor from
L<MigrateMail::Sync/open_manifest>: a JSON line per message is appended
to it).

Returns a hash reference: C<messages> (read, the pseudo message
included), C<delivered>, C<to_new>, C<to_cur>, C<bytes>,
C<skipped_pseudo>, C<skipped_present> (already in the Maildir),
C<linked> (of C<delivered>: made as O_TMPFILEs and linked, not renamed
from tmp/), C<batches> (synced batches) and C<batches_by_file> (of them,
those synced by an fsync of each file, not syncfs()),
C<repaired> (damaged files replaced; with C<verify> and C<repair> also
the messages that verification delivered again), C<failed>, C<tmp_cleaned> (leftovers of a killed run removed),
C<uidvalidity>, C<uid_last>, C<uid_lists_written>, C<pop3_list_written>
(1 when F<courierpop3dsizelist> was written: Courier's pop3d then serves
the file names, the old UIDLs, as UIDLs), C<uids_ignored> (with
C<ignore_uids>), C<format>,
C<format_reason> (why that variant, see
L<MigrateMail::Mbox/"$text = $mbox-E<gt>format_reason">),
C<fsync> (the mode used: C<batch>, C<each> or C<none>), C<durability>
(the mode and why: C<batch (syncfs on ext4)>, C<each (nfs: ...)>,
C<batch (asked; NOT durable on fuse: ...)>), C<durable> (1 when that mode
makes every message durable before it is visible there), with
C<verify> also C<verified>, C<missing>, C<mismatched> and
C<verify_method> (C<bytes>: the mbox was read again and compared byte
for byte; C<digest>: by digest, as above); C<in_place> (unless the
pass stopped: C<< { messages, bytes, new, cur } >>, the messages of
this mbox that the Maildir holds at the end of the pass, delivered by
it or by an earlier one, a killed one too; what B<--merge-reports>
counts, see L<mbox2vpopmail/MANY MACHINES>); C<spilled> and C<spill_peak>
(bytes of a pipe copied to a temporary file to check where a
Content-Length lands, and the most held at once, see
L<mbox2vpopmail/READING FROM A PIPE>); C<errors> and
C<warnings>: lists of C<< { number, offset, code, errno, text, message } >>
where C<message> is the whole C<ERROR: ...> or C<WARNING: ...> line;
C<error>: set when the run stopped early (the mbox could not be read, the
Maildir could not be opened, the disk is full), after what was complete
had been made durable and visible; or before anything was done, for
input that is not an mbox at all (bytes, but not one line starting
C<From > nor an MMDF separator: C<not an mbox: ...>, class C<admin>; a
file is read to its end to tell, a pipe as far as the reader's window
holds it; an empty file, or one of blank lines, is an mbox without
messages). Croaks only on misuse (an unknown
option or value).

A file size limit (RLIMIT_FSIZE) fails the one message that is too big
(SIGXFSZ is ignored during the call), not the run.

A message larger than C<max_message_size> bytes (default 2 GiB, 2**31)
is not delivered: it is an error of code C<too-big> for that message
("larger than the maximum message size of N bytes"), the rest of it is
read past, and the run goes on with the next message. The limit is
enforced as the bytes arrive, so its tmp/ file never grows beyond it
(a never-ending message on a pipe costs no more disk than that) and is
removed.

=head3 SYNC PASSES

Every call records in the Maildir's F<migratemail-state> which messages
it delivered from this source (the C<name>, else the mbox path, else
C<stdin>): their key, base name, size and the flags they were left with
(the format is in F<src/mm_state.h>). With C<sync>, the call then makes
the Maildir match the mbox for those messages only: what is missing is
delivered (but a message of ours deleted on the new server since the
last pass stays deleted), a message whose flags changed in the mbox has
its file renamed (only the C<:2,> part, or new/ to cur/: the base name,
so IMAP UIDs and POP3 UIDLs, stay), and once the whole mbox was read
without error, and it does not look cut short, the messages of ours it
no longer has are removed. Where the new server changed a message of
ours since the last pass (its flags, or deleted it), C<new-server-wins>
keeps that change and C<source-wins> applies the mbox's; each such
conflict is a warning of code C<conflict>. A message of ours whose
bytes in the mbox are no longer those of its file nor those of the last
pass (its body edited on the old server, or its Status lines with
C<keep_headers>; found by the digest of the delivered bytes that the
state records) is a warning of code C<changed>, once, and its file is
kept as it is in both modes (C<verify> with C<repair> takes the mbox's
bytes). Files the state does not
list for this source are never renamed or removed, but a file named for
a message of this mbox that no other source lists is taken as ours (a
pass killed before it wrote the state). The result has C<sync>: a hash
of C<reflagged>, C<removed>, C<conflicts>, C<kept_deleted>, C<changed>,
C<recorded> (messages the state lists for the source now),
C<state_written> (the state file says what this pass found: written,
or already so, as after a pass that changed nothing, which neither
writes nor syncs it) and, with C<dry_run>, C<to_add>. With C<verify>, a
message the pass kept deleted is not counted missing. See
L<mbox2vpopmail/CUT-OVER: SYNC PASSES>.

=head3 ONE WRITER PER MAILDIR

The Maildir is locked for the whole call, before anything in it is
created or its F<tmp/> cleaned of a killed run's leftovers: a second
call (another process, a batch worker, another admin's run) into the
same Maildir waits up to C<lock_timeout> seconds for the first to
finish, then stops with the C<error>

  ERROR: NAME: another run is writing into Maildir DIR (waited 30 s for its lock; see --lock-timeout)

having touched nothing. The lock is flock(2) on the Maildir's directory:
no file is created for it and the kernel drops it when the holder dies,
even by C<kill -9>. On NFS and SMB, where such a lock would not be seen
by other hosts, it is an fcntl lock on the file F<migratemail.lock> in
the Maildir (made when missing, left in place). A Maildir++ folder
(C<at>) is locked on its own. The Maildir's owner can take the same lock
on their own directory; a run then waits and fails as above, which is
what should happen to a Maildir someone else is writing.
C<verify_maildir> takes no lock: messages become visible whole and are
never replaced.

=head3 CHECKED AT OPEN

Before the first message, one empty file of ours (F<tmp/mmtmp.probe>;
F<new/.mmtmp.probe> and F<cur/.mmtmp.probe:2,>, which Maildir readers
skip) is created, moved into F<new/> and on into F<cur/> the way every
message is, and removed; run as root for a Maildir of another user, it
is chowned too. Then, on ext4, one empty O_TMPFILE of F<tmp/> is chowned, linked
into F<new/> as F<.mmtmp.probe> and linked once more (which must fail:
the name is taken) and removed; where any of that fails, messages are
files in tmp/ renamed, without a word (it is not an error). A target that cannot take the delivery protocol stops
the call at once with one C<error> naming the file system and what it
lacks, for example

  ERROR: NAME: Maildir DIR (fuse) cannot take deliveries: cannot rename without replacing and cannot hard-link, and ':' (the Maildir info separator) is not allowed in file names: Operation not permitted

(exfat or vfat through FUSE). Where renameat2(RENAME_NOREPLACE) is
missing but hard links work (NFS, most FUSE file systems), messages are
delivered by link and unlink, as qmail does, and C<warnings> says so
once, with the code C<filesystem>. The check costs about ten system
calls per Maildir. Directories are chowned only when their owner
differs, so a file system without owners (vfat) takes a Maildir that
needs none.

=head2 $stats = verify_maildir($src, $maildir, %opt)

Reads the mbox and checks that every message (but the UW-IMAP pseudo
message) is in the Maildir byte for byte, without changing anything.
Takes the options of C<mbox_to_maildir> that decide names and bytes
(C<format>, C<keep_headers>, C<timezone>, C<old_pop3>, C<uidl_names>). Returns the
same hash with C<verified>, C<missing> and C<mismatched>; each problem is
in C<errors>, naming the message number, its offset and the file. Of
several files of one message, a regular file of the size its name
promises is the one compared.

With C<< repair => 1 >> (and the writing options of C<mbox_to_maildir>:
C<fsync>, C<uid>, C<gid>, C<host>) it repairs what it finds: a message
whose file differs is delivered again over that file, under its name
but for a C<,S=> size that changed (the bytes before the first
difference are copied from the file, so a pipe is read once); a missing
one is delivered again. Both count in C<missing> or C<mismatched> and in
C<repaired>, and are noted in C<warnings>; only a repair that fails is an
error. This fixes a first run with the wrong C<format>.

=head2 $fields = parse_from_line($line)

Parses an mbox From_ line (with or without its newline) the way the reader
does. Returns undef when the line is not a valid From_ line, else a hash
reference with C<sender>, C<year>, C<mon> (1-12), C<day>, C<hour>,
C<min>, C<sec>, C<tz_offset> (seconds east of UTC, only when the line
names a zone) and C<time> (epoch seconds; local time of the process
unless the line names a zone).

=head2 $c = classify_from_line($line)

What the reader makes of a line that may start a message (see
L<MigrateMail::Mbox/Message boundaries>): a hash reference with C<class>
(C<strict>: a sender and a ctime date, as parse_from_line() accepts;
C<loose>: starts C<From > but has no such date; C<none>), C<why> (why it
is not strict: C<no date>, C<an RFC 822 date>, C<a date that does not
parse>, C<over 1024 bytes>, C<control characters>, ...), C<sender>, and
when a date was read C<time> and C<tz_offset> as for parse_from_line(),
and C<zone_unknown>, a zone name whose offset is not known (the date is
then read as if no zone were written).

=head2 $epoch = parse_date($value)

Parses the value of an RFC 5322 C<Date:> header (obsolete RFC 822 forms
included). Returns epoch seconds or undef.

=head2 $seconds = tz_offset($spec)

Parses a fixed timezone offset (C<UTC>, C<+0100>, C<-05:30>) into
seconds east of UTC, or undef.

=head1 PASSWORD HASHES

  use MigrateMail qw(password_scheme password_verify password_hash
                     password_method);
  my $info = password_scheme($hash_from_shadow);
  printf "%s, %s here\n", $info->{scheme},
      $info->{can_verify} ? 'verifiable' : 'NOT verifiable';
  my $ok  = password_verify($password, $hash);   # 1, 0, or undef
  my $new = password_hash($password);            # libxcrypt's default

The functions of L<MigrateMail::Passwd>, over libxcrypt, which
L<sendmail-list> uses to say whether the new server can check the old
server's hashes.

=head2 $info = password_scheme($hash)

Classifies a crypt() hash without hashing: a hash reference with
C<scheme> (C<des>, C<bsdi>, C<md5>, C<bcrypt>, C<bcrypt-2a>, C<bcrypt-2x>,
C<bcrypt-2y>, C<sha256>, C<sha512>, C<yescrypt>, C<gost-yescrypt>,
C<scrypt>, C<sunmd5>, C<sha1crypt>, C<nt>, C<locked>, C<empty>,
C<unknown>), C<well_formed>, C<support> (crypt_checksalt()'s answer),
C<can_verify> (this machine's crypt() can check it), C<legacy>, C<weak>
and C<note>. See L<MigrateMail::Passwd/password_scheme>.

=head2 $ok = password_verify($password, $hash)

1 if the password matches, 0 if not (always for empty and locked
hashes), undef if this machine cannot use the hash (C<$@> says why).
The comparison takes constant time.

=head2 $hash = password_hash($password, %opt)

A new hash with a random salt, by libxcrypt's preferred method unless
C<< method => '$6$' >> (or another prefix) is given; C<cost> sets the
method's cost.

=head2 $prefix = password_method()

The prefix of libxcrypt's preferred method (C<$y$> on Debian 12).

=head1 DIAGNOSTICS

Errors are croaked as one line that starts with C<ERROR:>, names the file,
the message number and the byte offset:

  ERROR: /var/spool/mail/bob: message 12, offset 48213: read failed: Input/output error

Troubles of the Maildir as a whole, which lose no message, have no
message number and do not stop the run; for the quota file and the UID
lists:

  ERROR: bob: cannot update maildirsize: it is a hard link (more than one name); left alone
  ERROR: bob: cannot update maildirsize: it is not a regular file; left alone
  ERROR: bob: cannot update maildirsize: its first line is no quota definition; left alone
  ERROR: bob: cannot write dovecot-uidlist: it is not a regular file; left alone

Warnings (odd input, nothing lost) are collected, see
L<MigrateMail::Mbox/WARNINGS>. A warning about the target rather than
the input has the code C<filesystem> (see L</CHECKED AT OPEN>).

=head1 SEE ALSO

L<MigrateMail::Mbox>, L<MigrateMail::Passwd>, L<sendmail-list>,
RFC 4155 (the application/mbox media type),
L<http://cr.yp.to/proto/maildir.html>.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
