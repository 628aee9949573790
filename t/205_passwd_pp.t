# The pure-Perl classifier (MigrateMail::PasswdPP, what sendmail-list
# lists with when there is no XS module) against the C one
# (src/mm_passwd.c through MigrateMail::Passwd): the same answers for
# every fixture hash, every scheme this libxcrypt makes, the C unit
# test's table, and thousands of damaged, locked and random strings.
use strict;
use warnings;
use Test::More;

use MigrateMail::Passwd ();
use MigrateMail::PasswdPP ();

my $D = 't/data/accounts';
my @hashes;

# every hash field of the fixtures
for my $f ([ 'shadow', 1 ], [ 'shadow.hostile', 1 ], [ 'master.passwd', 1 ],
	   [ 'passwd', 1 ], [ 'passwd.hostile', 1 ], [ 'passwd.forwards', 1 ]) {
	open my $fh, '<:raw', "$D/$f->[0]" or die "$f->[0]: $!";
	while (my $l = <$fh>) {
		chomp $l;
		next if $l =~ /\A\s*(?:#|\z)/;
		push @hashes, (split /:/, $l, -1)[ $f->[1] ];
	}
}
my $fixtures = @hashes;
ok($fixtures > 60, "$fixtures hashes from the fixtures");

# the cases of t/c/test_mm_passwd.c
open my $c, '<', 't/c/test_mm_passwd.c' or die $!;
my $csrc = do { local $/; <$c> };
my %def = $csrc =~ /^#define (\w+) ((?:"[^"]*"\s*(?:\\\n)?\s*)+)/mg;
for (values %def) { my $s = $_; $_ = join '', $s =~ /"([^"]*)"/g }
my ($table) = $csrc =~ /class_cases\[\] = \{(.*?)\n\};/s;
for my $row ($table =~ /^\t\{ (.*?),\s+\d+,\s+(?:MM_PW_\w+|U), /msg) {
	my $s = '';
	for my $part ($row =~ /("[^"]*"|\w+)/g) {
		$s .= $part =~ /\A"(.*)"\z/s ? $1 : $def{$part};
	}
	$s =~ s/\\0/\0/g;
	push @hashes, $s;
}
ok(@hashes - $fixtures >= 50, 'and the C unit test table');

# fresh hashes of every method this libxcrypt makes, at low and default cost
my @methods = ('', '_', '$1$', '$2a$', '$2b$', '$2y$', '$5$', '$6$', '$y$',
	       '$gy$', '$7$', '$md5', '$sha1$', '$3$');
my @fresh;
for my $m (@methods) {
	for my $cost (0, $m =~ /\A\$2/ ? 4 : $m eq '$7$' ? 6 : 0) {
		my $h = eval { MigrateMail::Passwd::password_hash('MigrateMe-2026',
						method => $m, cost => $cost) };
		push @fresh, $h if defined $h;
	}
}
ok(@fresh >= 20, scalar(@fresh) . ' fresh hashes');
push @hashes, @fresh;
for my $h (grep { /\A\$2b\$/ } @fresh) {
	push @hashes, map { "\$2$_$h" } '', 'x', 'a', 'y', 'z';
	(my $rest = $h) =~ s/\A\$2b\$\d\d\$//;
	push @hashes, map { sprintf "\$2b\$%02d\$%s", $_, $rest } 0 .. 40;
	push @hashes, "\$2b\$4\$$rest", "\$2b\$004\$$rest", "\$2b\$a4\$$rest";
	last;
}

# damaged copies of every well-formed hash so far
my @specials = ('$', ',', '=', '!', '*', ':', ' ', "\n", "\0", "\xe9", '_',
		'-', 'A', '.', '/', 'f', 'F', "'", '"');
my @base = grep { length($_) && length($_) < 200 } @hashes, @fresh;
for my $h (@base) {
	push @hashes, substr($h, 0, -1), "${h}a", "$h\$", "$h\n", substr($h, 1);
	push @hashes, "!$h", "!!$h", "*$h", "*LOCKED*$h", "*LK*$h", "!*$h",
	  "*LK*!$h", "**$h";
	for my $i (0 .. length($h) - 1) {
		my $s = $specials[ ($i * 7 + length $h) % @specials ];
		(my $m = $h) =~ s/\A(.{$i})./$1$s/s;
		push @hashes, $m;
	}
}

# edges: empty, short, locked forms, lengths around the 384-byte limit
push @hashes, '', '!', '!!', '*', '*NP*', '*LK*', '*LOCKED*', 'x', 'NP', '$',
  '$$', '$1$', '$md5', '$md5$', '$md5,', '$sha1$', '$3$', '$3$$', '_',
  '_J9..', '{CRYPT}x', "\0", 'ab', 'a' x 13, '$6$' . ('s' x 380) . '$' . ('h' x 86);
my $long_sha = '$6$rounds=5000$' . ('a' x 10);
for my $n (370 .. 390) {
	my $salt = 'b' x ($n - 3 - 1 - 86);
	push @hashes, '$6$' . $salt . '$' . ('h' x 86);
	push @hashes, '$sha1$' . ('1' x ($n - 6 - 1 - 28)) . '$' . ('c' x 28);
}

# random strings over the alphabets that matter
srand 17;
my @alpha = ('a' .. 'z', 'A' .. 'Z', '0' .. '9', '.', '/', '$', ',', '=', '!',
	     '*', '_');
my @pre = ('', '$1$', '$2b$', '$2b$05$', '$5$', '$6$', '$6$rounds=1000$',
	   '$y$', '$y$j9T$', '$gy$', '$7$', '$md5', '$md5$', '$md5,rounds=10$',
	   '$sha1$', '$3$$', '_', '!', '*');
for (1 .. 3000) {
	my $p = $pre[ rand @pre ];
	my $len = int rand 100;
	$len = 13 - length $p if rand() < 0.1;
	my $s = $p . join '', map { $alpha[ rand @alpha ] } 1 .. $len;
	push @hashes, $s;
	# a checksum of the right length after a '$'
	push @hashes, "$p" . join('', map { $alpha[ rand 64 ] } 1 .. 8) . '$'
	  . join('', map { $alpha[ rand 64 ] } 1 .. (22, 32, 43, 53, 86)[rand 5]);
}

my %support_pp = (ok => 'ok', legacy => 'ok', 'too-cheap' => 'ok',
		  invalid => 'invalid', disabled => 'invalid',
		  'not-asked' => 'not-asked');
my ($n, $bad, %schemes) = (0, 0);
my %seen;
for my $h (@hashes) {
	next if $seen{$h}++;
	$n++;
	my $x = MigrateMail::Passwd::password_scheme($h);
	my $p = MigrateMail::PasswdPP::password_scheme($h);
	my %want = %$x;
	delete $want{legacy};
	$want{support} = $support_pp{ $want{support} };
	$schemes{ $x->{scheme} . ($x->{well_formed} ? '' : ' (malformed)') }++;
	next if eq_hash($p, \%want);
	$bad++;
	if ($bad <= 10) {
		(my $show = $h) =~ s/([^\x21-\x7e])/sprintf '\\x%02x', ord $1/ge;
		diag("'$show': C " . join(', ', map { "$_=" . (defined $want{$_} ? $want{$_} : 'undef') } sort keys %want)
		     . "\n  Perl " . join(', ', map { "$_=" . (defined $p->{$_} ? $p->{$_} : 'undef') } sort keys %$p));
	}
}
is($bad, 0, "the same answers for $n distinct strings");
for my $s (qw(des bsdi md5 bcrypt bcrypt-2a bcrypt-2y bcrypt-2x bcrypt-2
	      sha256 sha512 yescrypt gost-yescrypt scrypt sunmd5 sha1crypt nt)) {
	# (a string is DES only by its shape)
	ok($schemes{$s} && ($s eq 'des' || $schemes{"$s (malformed)"}),
	   "$s: well-formed and malformed ones compared");
}
ok($schemes{'locked (malformed)'} && $schemes{'empty (malformed)'}
   && $schemes{'unknown (malformed)'},
   'locked, empty and unknown ones too');
note(join ', ', map { "$_: $schemes{$_}" } sort keys %schemes);

# what the C side cannot show: the probe does not take an account's cost
my $t0 = time;
my $slow = '$2b$31$' . substr($fresh[0] =~ /\A\$2b/ ? $fresh[0] : (grep { /\A\$2b\$/ } @fresh)[0], 7);
my $i = MigrateMail::PasswdPP::password_scheme($slow);
ok($i->{well_formed} && $i->{can_verify}, 'a bcrypt hash of cost 31 is classified')
  and ok(time - $t0 < 5, '... at once (the hash is never computed)');
ok(!eval { MigrateMail::PasswdPP::password_scheme(undef); 1 }, 'undef croaks');
ok(!eval { MigrateMail::PasswdPP::password_scheme("\x{263a}"); 1 },
   'wide characters croak');
my $up = "abgOeLfPimXQo";
utf8::upgrade($up);
is(MigrateMail::PasswdPP::password_scheme($up)->{scheme}, 'des',
   'an upgraded string of bytes is bytes');

done_testing;
