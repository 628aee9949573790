package MigrateMail;

use strict;
use warnings;

our $VERSION = '0.01';

require XSLoader;
XSLoader::load('MigrateMail', $VERSION);

use Exporter 'import';
our @EXPORT_OK = qw(mbox_to_maildir verify_maildir parse_from_line
		    parse_date tz_offset
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
split, unquote, write into tmp/, make durable, rename into new/ or cur/.

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
IMAP UIDs. An existing F<maildirsize> is kept up to date. Nothing is ever
written or chowned through a symlink or a hard link; a Maildir, tmp/,
new/ or cur/ that is a symlink is refused, and so is a symlink on the
way to the Maildir or the mbox that root does not own (see
L<MigrateMail::FS>). An mbox given by path must be a regular file with
one link, a FIFO or a character device. The source is never modified; a
spool file given by path is locked while it is read.

Options: C<format>, C<keep_headers>, C<timezone>, C<buffer_max> (as for
L<MigrateMail::Mbox/new>); C<fsync> (C<batch>, the default: every message
durable before it is visible, syncs batched; C<each>; C<none>); C<batch>
(messages per batch, 256); C<uid>, C<gid> (owner of what is created,
instead of the Maildir's); C<host> (the host part of names); C<lock>
(C<auto>, C<fcntl>, C<dotlock>, C<both>, C<none>) and C<lock_timeout>
(seconds, 30); C<verify> (read the mbox again afterwards and check every
message byte for byte); C<repair> (with C<verify>: what differs or is
missing is delivered again, see C<verify_maildir> below; croaks without
C<verify>); C<uidl_names> and C<uid_lists> (both on by
default); C<name> (for messages); C<trust_paths> (follow any symlink on
the paths, take an mbox with other hard links); C<at> (a
L<MigrateMail::FS> directory object: C<$maildir> is then one name in it,
as a Maildir++ folder C<.a.b> of that Maildir); C<lock_path> (when
C<$src> is a handle: the spool file's path, for its dotlock).

Returns a hash reference: C<messages> (read, the pseudo message
included), C<delivered>, C<to_new>, C<to_cur>, C<bytes>,
C<skipped_pseudo>, C<skipped_present> (already in the Maildir),
C<repaired> (damaged files replaced; with C<verify> and C<repair> also
the messages that verification delivered again), C<failed>, C<tmp_cleaned> (leftovers of a killed run removed),
C<uidvalidity>, C<uid_last>, C<uid_lists_written>, C<format>, with
C<verify> also C<verified>, C<missing>, C<mismatched>; C<errors> and
C<warnings>: lists of C<< { number, offset, code, errno, text, message } >>
where C<message> is the whole C<ERROR: ...> or C<WARNING: ...> line;
C<error>: set when the run stopped early (the mbox could not be read, the
Maildir could not be opened, the disk is full), after what was complete
had been made durable and visible. Croaks only on misuse (an unknown
option or value).

A file size limit (RLIMIT_FSIZE) fails the one message that is too big
(SIGXFSZ is ignored during the call), not the run.

=head2 $stats = verify_maildir($src, $maildir, %opt)

Reads the mbox and checks that every message (but the UW-IMAP pseudo
message) is in the Maildir byte for byte, without changing anything.
Takes the options of C<mbox_to_maildir> that decide names and bytes
(C<format>, C<keep_headers>, C<timezone>, C<uidl_names>). Returns the
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

Warnings (odd input, nothing lost) are collected, see
L<MigrateMail::Mbox/WARNINGS>.

=head1 SEE ALSO

L<MigrateMail::Mbox>, L<MigrateMail::Passwd>, L<sendmail-list>,
RFC 4155 (the application/mbox media type),
L<http://cr.yp.to/proto/maildir.html>.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
