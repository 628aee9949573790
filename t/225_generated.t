# Hashes made at test time with this machine's crypt(), one account per
# scheme libxcrypt can make, into passwd/shadow and master.passwd files in
# a temporary directory: every emitted line must verify the password,
# and --check on the list must find every hash verifiable.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMRun qw(run_script slurp spew list_lines);
use File::Temp qw(tempdir);

use MigrateMail qw(password_hash password_scheme password_verify);
use MigrateMail::SendmailList qw(parse_shell_words);

my $tmp = tempdir(CLEANUP => 1);
my $PW = 'correct horse battery staple';

sub run { return run_script('bin/sendmail-list', @_) }

my @methods = (
	[ des => '' ], [ bsdi => '_' ], [ md5 => '$1$' ], [ bcrypt => '$2b$' ],
	[ 'bcrypt-2a' => '$2a$' ], [ 'bcrypt-2y' => '$2y$' ], [ sha256 => '$5$' ],
	[ sha512 => '$6$' ], [ yescrypt => '$y$' ], [ 'gost-yescrypt' => '$gy$' ],
	[ scrypt => '$7$' ], [ sunmd5 => '$md5' ], [ sha1crypt => '$sha1$' ],
	[ nt => '$3$' ], [ preferred => undef ],
);
my (%scheme_of, @made);
my $uid = 3000;
open my $p, '>', "$tmp/passwd" or die;
open my $s, '>', "$tmp/shadow" or die;
open my $m, '>', "$tmp/master.passwd" or die;
for my $mt (@methods) {
	my ($name, $prefix) = @$mt;
	my $h = eval { password_hash($PW, method => $prefix) };
	unless (defined $h) {
		note("this libxcrypt cannot make $name hashes");
		next;
	}
	(my $user = "u-$name") =~ s/[^a-z0-9-]//g;
	$scheme_of{$user} = password_scheme($h)->{scheme};
	push @made, $user;
	print $p "$user:x:$uid:100:User $name,,,:/home/$user:/bin/sh\n";
	print $s "$user:$h:19700:0:99999:7:::\n";
	print $m "$user:$h:$uid:100::0:0:User $name:/home/$user:/bin/sh\n";
	$uid++;
}
close $_ for $p, $s, $m;
cmp_ok(scalar @made, '>=', 8, 'at least the common schemes can be made');

for my $src ([ '--passwd', "$tmp/passwd", '--shadow', "$tmp/shadow" ],
	     [ '--master-passwd', "$tmp/master.passwd" ]) {
	my ($out, $err, $st) = run('--domain', 'example.org', '--gecos', @$src);
	is($st, 0, "$src->[0]: exit 0");
	is($err, '', "$src->[0]: no messages");
	my @lines = list_lines($out);
	is(scalar @lines, scalar @made, "$src->[0]: one line per account");
	my $i = 0;
	for my $line (@lines) {
		my $w = parse_shell_words($line);
		my $user = $made[$i++];
		is_deeply([ @$w[0 .. 3], $w->[5], scalar @$w ],
			  [ 'vadduser', '-c', "User " . ($user =~ s/^u-//r), '-e',
			    "$user\@example.org", 6 ],
			  "$src->[0] $user: shape") or diag($line);
		is(password_scheme($w->[4])->{scheme}, $scheme_of{$user},
		   "$user: scheme $scheme_of{$user}");
		is(password_verify($PW, $w->[4]), 1, "$user: the hash verifies");
		is(password_verify("X$PW", $w->[4]), 0, "$user: a wrong password does not");
	}
	open my $fh, '>', "$tmp/list" or die;
	print $fh $out;
	close $fh;
	my ($cout, $cerr, $cst) = run('--check', "$tmp/list");
	is($cst, 0, "--check on the list: exit 0");
	my @c = split /\n/, $cout;
	is(scalar(grep /^(?:OK|WARNING): u-[a-z0-9-]+\@example\.org: [a-z0-9-]+: verifiable by this machine's crypt\(\)/, @c),
	   scalar @made, '--check: every hash verifiable here');
	like($c[-1], qr/^# checked ${\ scalar @made} accounts: \d+ ok, \d+ with warnings, 0 with errors$/,
	     '--check: summary');
	like($cout, qr/^WARNING: u-des\@example\.org: des: .*only the first 8 characters/m,
	     '--check: DES is weak') if $scheme_of{'u-des'};
}

done_testing;
