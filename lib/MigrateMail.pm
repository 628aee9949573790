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

sub mbox_to_maildir {
	require MigrateMail::Convert;
	return MigrateMail::Convert::mbox_to_maildir(@_);
}

sub verify_maildir {
	require MigrateMail::Convert;
	return MigrateMail::Convert::verify_maildir(@_);
}

sub password_scheme {
	require MigrateMail::Passwd;
	return MigrateMail::Passwd::password_scheme(@_);
}

sub password_verify {
	require MigrateMail::Passwd;
	return MigrateMail::Passwd::password_verify(@_);
}

sub password_hash {
	require MigrateMail::Passwd;
	return MigrateMail::Passwd::password_hash(@_);
}

sub password_method {
	require MigrateMail::Passwd;
	return MigrateMail::Passwd::password_method(@_);
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
