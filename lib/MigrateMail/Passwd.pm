package MigrateMail::Passwd;

use strict;
use warnings;

use Carp qw(croak);
use MigrateMail ();    # loads the XS, which defines the _functions here

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(password_scheme password_verify password_hash
		    password_method scheme_prefix);

sub password_scheme {
	my ($hash) = @_;
	croak 'password_scheme: hash is undefined' unless defined $hash;
	return _classify($hash);
}

sub password_verify {
	my ($password, $hash) = @_;
	croak 'password_verify: password or hash is undefined'
	  unless defined $password && defined $hash;
	my ($r, $why) = _verify($password, $hash);
	$@ = $why // '';
	return $r;
}

sub password_hash {
	my ($password, %opt) = @_;
	croak 'password_hash: password is undefined' unless defined $password;
	my $count = $opt{cost} // 0;
	croak "password_hash: cost must be a non-negative integer"
	  unless $count =~ /\A[0-9]+\z/;
	return _new_hash($password, $opt{method}, $count);
}

sub password_method { return _preferred_method() }

sub scheme_prefix { return _scheme_prefix($_[0]) }

1;
__END__

=head1 NAME

MigrateMail::Passwd - classify, verify and make crypt() password hashes

=head1 SYNOPSIS

  use MigrateMail::Passwd qw(password_scheme password_verify
                             password_hash password_method);

  my $info = password_scheme('$6$saltstring$svn8UoSV...');
  print "$info->{scheme}\n";             # sha512
  print "cannot check it here\n" unless $info->{can_verify};
  print "weak: $info->{note}\n" if $info->{weak};

  my $ok = password_verify('Hello world!', $hash);  # 1, 0 or undef
  my $new = password_hash('s3cret');                # libxcrypt's default
  my $old = password_hash('s3cret', method => '$6$');
  print password_method(), "\n";                    # "$y$" on Debian 12

=head1 DESCRIPTION

The Perl side of F<src/mm_passwd.c>, which works through libxcrypt: the
same library with which vpopmail and Dovecot's C<{CRYPT}> scheme check
logins on the new server. All functions are also exported by
L<MigrateMail>. Strings are bytes; a password or hash with characters
above 255 croaks (encode it first).

=head1 FUNCTIONS

=head2 $info = password_scheme($hash)

Classifies a hash from passwd, shadow or master.passwd without hashing
anything (cheap). Returns a hash reference:

=over

=item scheme

One of C<des>, C<bsdi> (BSDi extended DES, C<_>), C<md5> (C<$1$>),
C<bcrypt> (C<$2b$>), C<bcrypt-2a>, C<bcrypt-2x>, C<bcrypt-2y>,
C<bcrypt-2> (the original C<$2$>), C<sha256> (C<$5$>), C<sha512>
(C<$6$>), C<yescrypt> (C<$y$>), C<gost-yescrypt> (C<$gy$>), C<scrypt>
(C<$7$>), C<sunmd5> (C<$md5>), C<sha1crypt> (C<$sha1$>), C<nt>
(C<$3$$>), C<locked> (starts with C<!> or C<*>), C<empty> (no password)
or C<unknown> (for instance C<x>, which means the hash is in the shadow
file).

=item locked_scheme

Only for C<locked>: the scheme of the hash behind the lock marks
(C<!$6$...> gives C<sha512>), or C<empty> when there is none (C<*>,
C<!!>).

=item well_formed

1 if the string has the exact shape of a complete hash of its scheme
(length, alphabet, cost range). A hash that is not well formed never
matches any password.

=item support

What this machine's crypt_checksalt() says: C<ok>, C<legacy>,
C<invalid> (unknown to or disabled in this libxcrypt), C<disabled>,
C<too-cheap>, or C<not-asked> (empty, locked or malformed hashes).

=item can_verify

1 if the hash is well formed and this machine's crypt() can check a
password against it.

=item legacy

1 if libxcrypt lists the method as legacy (DES, BSDi, MD5, SHA-256,
SunMD5, SHA1, NT, bcrypt-2x on Debian 12).

=item weak, note

C<weak> is 1 for schemes with a known weakness, and C<note> says which,
for instance I<DES uses only the first 8 characters of the password>.

=back

=head2 $ok = password_verify($password, $hash)

Checks a password against a hash with crypt_rn() and a constant-time
comparison. Returns 1 on a match, 0 on a mismatch (always 0 for empty and
locked hashes: they never match), and undef when this machine's crypt()
cannot use the hash or the password cannot be hashed (a NUL byte, over
511 bytes); then C<$@> says why. The time taken is the hash's own cost.

=head2 $hash = password_hash($password, %opt)

Makes a new hash with a random salt from the operating system. Options:
C<method>, the prefix of the method (C<$6$>, C<$2b$>, ...; default:
libxcrypt's preferred method, see C<password_method>; C<''> is DES,
don't); C<cost>, the method's cost parameter (default: the method's own
default). Croaks with an C<ERROR:> message for an unsupported method or
cost.

=head2 $prefix = password_method()

The prefix of libxcrypt's preferred method, which C<password_hash> uses
by default (C<$y$>, yescrypt, on Debian 12).

=head2 $prefix = scheme_prefix($scheme)

The method prefix that makes hashes of a scheme name returned by
C<password_scheme> (C<sha512> gives C<$6$>, C<des> gives C<''>), or
undef if there is none.

=head1 DIAGNOSTICS

=over

=item ERROR: cannot make a password hash: cannot make a salt for method '$9$' (count 0): Invalid argument

password_hash() was given a method or cost this libxcrypt does not
support.

=back

=head1 SEE ALSO

L<MigrateMail>, L<sendmail-list>, crypt(5), crypt_checksalt(3).

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
