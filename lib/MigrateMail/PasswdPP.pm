package MigrateMail::PasswdPP;

# Pure Perl, for Perl 5.8.8 and later: sendmail-list lists accounts with
# it on an old server that has no compiler and no libxcrypt headers
# (issue 17). Keep it to what 5.8 has.
use strict;
use warnings;

use Carp qw(croak);

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(password_scheme crypt_takes);

# The table of src/mm_passwd.c, in the order of its enum mm_pw_scheme
# (prefixes are tried in this order): name, prefix, checksum length
# after the last '$', weak, note.
my @SCHEMES = (
	[ 'unknown', undef, 0, 0, undef ],
	[ 'empty', undef, 0, 1,
	  'an empty hash means no password: anyone could log in' ],
	[ 'locked', undef, 0, 0, undef ],
	[ 'des', undef, 0, 1,
	  'DES uses only the first 8 characters of the password' ],
	[ 'bsdi', '_', 0, 1,
	  'BSDi extended DES is DES-based and fast to brute-force' ],
	[ 'md5', '$1$', 22, 1, 'MD5-crypt is fast to brute-force' ],
	[ 'bcrypt-2', '$2$', 53, 1,
	  'original bcrypt ($2$) is obsolete and rarely supported' ],
	[ 'bcrypt-2a', '$2a$', 53, 0, undef ],
	[ 'bcrypt', '$2b$', 53, 0, undef ],
	[ 'bcrypt-2x', '$2x$', 53, 1,
	  '$2x$ marks hashes of the old crypt_blowfish 8-bit character bug' ],
	[ 'bcrypt-2y', '$2y$', 53, 0, undef ],
	[ 'sha256', '$5$', 43, 0, undef ],
	[ 'sha512', '$6$', 86, 0, undef ],
	[ 'yescrypt', '$y$', 43, 0, undef ],
	[ 'gost-yescrypt', '$gy$', 43, 0, undef ],
	[ 'scrypt', '$7$', 43, 0, undef ],
	[ 'sunmd5', '$md5', 22, 1, 'SunMD5 is MD5-based' ],
	[ 'sha1crypt', '$sha1$', 28, 0, undef ],
	[ 'nt', '$3$$', 32, 1,
	  'NT hashes are unsalted MD4: fast to brute-force' ],
);
my %SCHEME = map { $_->[0] => $_ } @SCHEMES;

# Longest hash mm_passwd.c accepts, NUL included (MM_PW_HASH_MAX).
my $HASH_MAX = 384;

my $B64 = 'a-zA-Z0-9./';

# Which scheme the bytes claim to be, by prefix alone (scheme_of()).
sub _scheme_of {
	my ($h) = @_;
	return 'empty' if $h eq '';
	return 'locked' if $h =~ /\A[!*]/;
	for my $d (@SCHEMES) {
		my $p = $d->[1];
		next unless defined $p;
		my $plen = length $p;
		# "$md5" must be followed by '$' or ',' ("$md5x" is not)
		return $d->[0] if length $h > $plen && substr($h, 0, $plen) eq $p
		  && ($d->[0] ne 'sunmd5' || substr($h, $plen, 1) =~ /[\$,]/);
	}
	# nothing else may look like DES: 'x' (shadowed) is not a hash
	return 'des' if $h =~ /\A[$B64]{13}\z/;
	return 'unknown';
}

# Does $h have the exact shape of a complete hash of scheme $s (shape_ok())?
sub _shape_ok {
	my ($s, $h) = @_;
	return 0 if $s eq 'unknown' || $s eq 'empty' || $s eq 'locked';
	return $h =~ /\A[$B64]{13}\z/ ? 1 : 0 if $s eq 'des';
	return $h =~ /\A_[$B64]{19}\z/s ? 1 : 0 if $s eq 'bsdi';
	return $h =~ /\A\$3\$\$[0-9a-f]{32}\z/ ? 1 : 0 if $s eq 'nt';
	my ($p, $sum) = @{ $SCHEME{$s} }[1, 2];
	my $plen = length $p;
	my $last = rindex($h, '$');   # the checksum follows the last '$'
	return 0 if $last < $plen || length($h) - $last - 1 != $sum;
	return 0 unless substr($h, $last + 1) =~ /\A[$B64]*\z/;
	return 0 unless substr($h, $plen, $last + 1 - $plen) =~ /\A[$B64\$,=]*\z/;
	if ($s =~ /\Abcrypt/) {
		# "$2b$" NN "$" then 22 salt + 31 hash characters
		return 0 unless length $h == $plen + 3 + $sum
		  && substr($h, $plen, 3) =~ /\A([0-3][0-9])\$\z/;
		return $1 >= 4 && $1 <= 31 ? 1 : 0;
	}
	return 1;
}

# A cheap setting of each scheme, to ask this machine's crypt() whether
# it takes the method at all (what crypt_checksalt() tells the C side).
my %PROBE = (
	des             => 'ab',
	bsdi            => '_/...sHmF',
	md5             => '$1$R3FyHHPt$',
	'bcrypt-2'      => '$2$04$U7ROuiVQ8tjVs.9On.D/d.',
	'bcrypt-2a'     => '$2a$04$U7ROuiVQ8tjVs.9On.D/d.',
	bcrypt          => '$2b$04$U7ROuiVQ8tjVs.9On.D/d.',
	'bcrypt-2x'     => '$2x$04$U7ROuiVQ8tjVs.9On.D/d.',
	'bcrypt-2y'     => '$2y$04$U7ROuiVQ8tjVs.9On.D/d.',
	sha256          => '$5$rounds=1000$LwxQVs4h24KaVSdh$',
	sha512          => '$6$rounds=1000$uQYAY5QjVfBviQsV$',
	yescrypt        => '$y$j75$p6wiXluAatQ0t2QtJ0KK./$',
	'gost-yescrypt' => '$gy$j75$0Pd3wkuZB1bZNhe3QAe.q.$',
	scrypt          => '$7$BU..../....OAt7n.I17CRLF46oHPLCW/$',
	sunmd5          => '$md5$abc$$',
	sha1crypt       => '$sha1$4$U0qT4AhERetJRRq1s08F$',
	nt              => '$3$$',
);
my %TAKES;

# Can this machine's crypt() make (and so check) hashes of scheme $s?
# Asked once per scheme, with a cheap setting: the account's own hash
# may carry a cost that takes hours. A crypt() that does not know a
# method fails (undef, "*0") or, as old glibc does, falls back to DES:
# only a well-formed hash of the same scheme counts.
sub crypt_takes {
	my ($s) = @_;
	return 0 unless defined $s && exists $PROBE{$s};
	unless (exists $TAKES{$s}) {
		my $r = crypt('MigrateMail probe', $PROBE{$s});
		$TAKES{$s} = defined $r && _scheme_of($r) eq $s
		  && _shape_ok($s, $r) ? 1 : 0;
	}
	return $TAKES{$s};
}

sub password_scheme {
	my ($hash) = @_;
	croak 'password_scheme: hash is undefined' unless defined $hash;
	my $h = $hash;
	croak 'password_scheme: wide character in the hash'
	  unless utf8::downgrade($h, 1);
	my %i = (scheme => 'unknown', well_formed => 0,
		 support => 'not-asked', can_verify => 0, weak => 0);
	return \%i if $h =~ /\0/;
	my $s = _scheme_of($h);
	my $d = $SCHEME{$s};
	$i{scheme} = $s;
	$i{weak} = $d->[3];
	$i{note} = $d->[4] if defined $d->[4];
	if ($s eq 'locked') {
		my $p = $h;
		# FreeBSD "*LOCKED*hash", Solaris "*LK*hash"; a bare "*",
		# "*NP*" has nothing behind it
		unless ($p =~ s/\A!+//) {
			$p = '' unless $p =~ s/\A\*LOCKED\*// || $p =~ s/\A\*LK\*//;
		}
		$i{locked_scheme} = $p =~ /\A[!*]/ ? 'unknown' : _scheme_of($p);
		return \%i;
	}
	$i{well_formed} = length $h < $HASH_MAX && _shape_ok($s, $h) ? 1 : 0;
	return \%i unless $i{well_formed};
	$i{can_verify} = crypt_takes($s);
	$i{support} = $i{can_verify} ? 'ok' : 'invalid';
	return \%i;
}

1;
__END__

=head1 NAME

MigrateMail::PasswdPP - classify crypt() hashes in pure Perl

=head1 SYNOPSIS

  use MigrateMail::PasswdPP qw(password_scheme);

  my $info = password_scheme($hash);
  print "$info->{scheme}\n";                  # sha512
  print "damaged\n" unless $info->{well_formed};
  print "cannot check it here\n" unless $info->{can_verify};

=head1 DESCRIPTION

The classification of L<MigrateMail::Passwd> without the XS module and
libxcrypt, for L<sendmail-list> on an old server that has only perl
(5.8.8 or later): the same scheme names, the same shape checks as
F<src/mm_passwd.c> (t/205_passwd_pp.t runs both over the fixtures and
thousands of generated and damaged hashes). It needs nothing but core
Perl.

=head1 FUNCTIONS

=head2 $info = password_scheme($hash)

The hash reference of L<MigrateMail::Passwd/password_scheme>, with the
same C<scheme>, C<locked_scheme>, C<well_formed>, C<can_verify>, C<weak>
and C<note>, but without C<legacy>, which only libxcrypt's
crypt_checksalt() knows. C<support> is C<ok> when C<can_verify>,
C<invalid> when this machine's crypt() does not take the method,
C<not-asked> for empty, locked, unknown and malformed hashes. Croaks
for an undefined hash or one with characters above 255.

=head2 $yes = crypt_takes($scheme)

1 if this machine's crypt() (Perl's built-in) makes well-formed hashes
of C<$scheme>; asked once per scheme with a cheap setting, never with
an account's hash, whose cost could take hours.

=head1 SEE ALSO

L<MigrateMail::Passwd>, L<sendmail-list>, crypt(3).

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
