# Password hashes through libxcrypt (src/mm_passwd.c via XS): classify
# every scheme, verify round trips with hashes made here, refuse misuse.
use strict;
use warnings;
use Test::More;

use MigrateMail qw(password_scheme password_verify password_hash
		   password_method);
use MigrateMail::Passwd qw(scheme_prefix);

my $pw = 'MigrateMe-2026';

# Known-answer vectors (SHA-crypt specification, MD5-crypt, NT hash).
my @vectors = (
	[ 'Hello world!', '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1', 'sha512' ],
	[ 'Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5', 'sha256' ],
	[ 'password', '$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/', 'md5' ],
	[ 'password', '$3$$8846f7eaee8fb117ad06bdd830b7586c', 'nt' ],
);
for my $v (@vectors) {
	my ($p, $h, $scheme) = @$v;
	my $i = password_scheme($h);
	is($i->{scheme}, $scheme, "vector $scheme: scheme");
	ok($i->{well_formed}, "vector $scheme: well formed");
      SKIP: {
		skip "$scheme not verifiable by this libxcrypt", 2
		  unless $i->{can_verify};
		is(password_verify($p, $h), 1, "vector $scheme: verifies");
		is(password_verify("$p.", $h), 0, "vector $scheme: wrong password");
	}
}

# Every method this libxcrypt can make: hash, classify, verify.
my %methods = (
	des => '', bsdi => '_', md5 => '$1$', bcrypt => '$2b$',
	'bcrypt-2a' => '$2a$', 'bcrypt-2y' => '$2y$', sha256 => '$5$',
	sha512 => '$6$', yescrypt => '$y$', 'gost-yescrypt' => '$gy$',
	scrypt => '$7$', sunmd5 => '$md5', sha1crypt => '$sha1$', nt => '$3$',
);
for my $scheme (sort keys %methods) {
	my $h = eval { password_hash($pw, method => $methods{$scheme}) };
      SKIP: {
		skip "this libxcrypt cannot make $scheme hashes", 7 unless defined $h;
		my $i = password_scheme($h);
		is($i->{scheme}, $scheme, "$scheme: classified");
		ok($i->{well_formed} && $i->{can_verify}, "$scheme: verifiable here");
		is(password_verify($pw, $h), 1, "$scheme: round trip");
		is(password_verify('MigrateMe-2027', $h), $scheme eq 'des' ? 1 : 0,
		   "$scheme: other password" . ($scheme eq 'des' ? ' (DES: same first 8 chars)' : ''));
		is(password_verify('', $h), 0, "$scheme: empty password");
		is(scheme_prefix($scheme), $methods{$scheme}, "$scheme: prefix");
		is(!!$i->{weak}, !!($scheme =~ /\A(?:des|bsdi|md5|sunmd5|nt)\z/),
		   "$scheme: weak or not");
	}
}

my $des = password_hash('abcdefgh', method => '');
is(password_verify('abcdefghIJKLMNOP', $des), 1,
   'DES ignores everything after 8 characters');
like(password_scheme($des)->{note}, qr/first 8 characters/, 'and says so');

# The default method is libxcrypt's preferred one.
my $pref = password_method();
like($pref, qr/\A\$[a-z0-9]+\$?\z/, "preferred method $pref");
my $new = password_hash($pw);
is(substr($new, 0, length $pref), $pref, 'password_hash uses it');
is(password_verify($pw, $new), 1, 'and it verifies');
isnt(password_hash($pw), $new, 'random salt: two hashes differ');
like(password_hash($pw, method => '$2b$', cost => 4), qr/\A\$2b\$04\$/,
     'cost');

# Locked, empty, unknown: classified, never verified.
my $sha = password_hash($pw, method => '$6$');
my %special = (
	''                => [ 'empty' ],
	'!'               => [ 'locked', 'empty' ],
	'!!'              => [ 'locked', 'empty' ],
	'*'               => [ 'locked', 'empty' ],
	"!$sha"           => [ 'locked', 'sha512' ],
	"*LOCKED*$sha"    => [ 'locked', 'sha512' ],
	'x'               => [ 'unknown' ],
	'{CRYPT}abc'      => [ 'unknown' ],
);
for my $h (sort keys %special) {
	my ($scheme, $inner) = @{ $special{$h} };
	my $i = password_scheme($h);
	is($i->{scheme}, $scheme, "'$h' is $scheme");
	is($i->{locked_scheme}, $inner, "'$h' hides $inner") if $inner;
	ok(!$i->{can_verify}, "'$h' cannot be verified");
}
is(password_verify($pw, ''), 0, 'an empty hash never matches');
is(password_verify('', ''), 0, '... not even the empty password');
is(password_verify($pw, "!$sha"), 0, 'a locked hash never matches');
is(password_verify($pw, 'x'), undef, "'x' cannot be used");
like($@, qr/cannot use/, '... $@ says why');
is(password_verify($pw, substr($sha, 0, -1)), 0, 'a truncated hash never matches');
my $damaged = password_scheme(substr($sha, 0, -1));
ok(!$damaged->{well_formed} && !$damaged->{can_verify}, 'and is not well formed');
is(password_verify("a\0b", $sha), undef, 'NUL in the password: undef');
is(password_verify('p' x 512, $sha), undef, 'overlong password: undef');

# Misuse croaks.
ok(!eval { password_hash($pw, method => '$9$'); 1 }, 'unknown method croaks');
like($@, qr/^ERROR: cannot make a password hash/, '... with an ERROR message');
ok(!eval { password_hash($pw, cost => -1); 1 }, 'negative cost croaks');
ok(!eval { password_verify("\x{263a}", $sha); 1 }, 'wide characters croak');
ok(!eval { password_scheme(undef); 1 }, 'undef croaks');
is(scheme_prefix('locked'), undef, 'no prefix for locked');

done_testing;
