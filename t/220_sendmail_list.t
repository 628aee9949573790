# bin/sendmail-list, run as a script: the vpopmail list, its filters,
# the domain, -o, usage errors and exit codes. Accounts come from the
# fixture files in t/data/accounts (or a faked getpwent), never from the
# test machine.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMRun qw(run_script slurp spew list_lines);
use File::Temp qw(tempdir);

use MigrateMail qw(password_scheme password_verify);
use MigrateMail::SendmailList qw(parse_shell_words);

my $D = 't/data/accounts';
my $PW = 'MigrateMe-2026';
my $tmp = tempdir(CLEANUP => 1);

sub run { return run_script('bin/sendmail-list', @_) }

my @FILES = ('--passwd', "$D/passwd", '--shadow', "$D/shadow");
my @LISTED = qw(uid500 uid63999 desuser bsdiuser md5user bcryptuser bcrypt2a
		bcrypt2y bcrypt2x sha256user sha512user yescryptuser gostuser
		scryptuser sunmd5user sha1user ntuser john.doe mary-ann nologin
		falseshell);

# The lines as (name, hash, options), checked for shape on the way.
sub parse_list {
	my ($out, $label) = @_;
	my @r;
	for my $line (list_lines($out)) {
		my $w = parse_shell_words($line);
		unless ($w && $w->[0] eq 'vadduser' && $w->[-3] eq '-e'
			&& $w->[-1] =~ /\A([a-z0-9._-]+)\@example\.com\z/) {
			fail("$label: odd line '$line'");
			next;
		}
		push @r, { name => $1, hash => $w->[-2], words => $w, line => $line };
	}
	return @r;
}

sub verifies_all {
	my ($rows, $label) = @_;
	my $bad = 0;
	for my $r (@$rows) {
		my $i = password_scheme($r->{hash});
		next unless $i->{can_verify};   # a WARNING said so
		next if $i->{scheme} eq 'locked';
		$bad++, diag("$r->{name}: hash does not verify")
		  unless (password_verify($PW, $r->{hash}) // 0) == 1;
	}
	is($bad, 0, "$label: every emitted hash verifies the known password");
}

# The default list
my ($out, $err, $st) = run('--domain', 'example.com', @FILES);
is($st, 1, 'exit 1: some accounts are ERRORs');
my @rows = parse_list($out, 'default');
is_deeply([ map { $_->{name} } @rows ], \@LISTED,
	  'the accounts with uid 500..63999 and unlocked hashes, in order');
like($rows[0]{line}, qr/\Avadduser -e '\$6\$[^']+' uid500\@example\.com\z/,
     "vpopmail's shape: vadduser -e 'HASH' user\@domain");
verifies_all(\@rows, 'default');
my @errors = grep /^ERROR/, split /\n/, $err;
is(scalar @errors, 2, 'two ERROR lines');
like($errors[0], qr/^ERROR: account 'emptypw' \(\Q$D\E\/passwd line 27\): empty password hash.*; not listed$/,
     'empty hash: ERROR');
like($errors[1], qr/^ERROR: account 'noshadow' .*the shadow file has no entry/,
     "'x' without shadow entry: ERROR");
unlike($err, qr/\$6\$|\$y\$/, 'no hash in the messages');

# Filters that leave no ERROR: exit 0, nothing on stderr
open my $fh, '>', "$tmp/exclude" or die;
print $fh "emptypw\nnoshadow\n";
close $fh;
($out, $err, $st) = run('--domain', 'example.com', @FILES, '--exclude', "$tmp/exclude");
is($st, 0, 'exit 0 without ERRORs');
is($err, '', 'nothing on stderr');
my @ex = parse_list($out, 'exclude');
is(scalar @ex, 21, 'same 21 accounts');

# master.passwd gives the same lines (the fixture has the same hashes)
my ($mout, $merr, $mst) = run('--domain', 'example.com', '--master-passwd',
			      "$D/master.passwd", '--exclude', "$tmp/exclude");
is($mst, 0, '--master-passwd: exit 0');
is($mout, $out, '--master-passwd: same list');

# uid edges
($out) = run('--domain', 'example.com', @FILES, '--min-uid', 499, '--max-uid', 64000);
my %n = map { $_->{name} => 1 } parse_list($out, 'edges');
ok($n{uid499} && $n{uid64000} && $n{uid500} && $n{uid63999}, 'wider bounds take 499 and 64000');
($out) = run('--domain', 'example.com', @FILES, '--min-uid', 501, '--max-uid', 63998);
%n = map { $_->{name} => 1 } parse_list($out, 'edges');
ok(!$n{uid500} && !$n{uid63999} && $n{desuser}, 'narrower bounds drop 500 and 63999');

# --keep-locked
($out, $err) = run('--domain', 'example.com', @FILES, '--keep-locked');
my %h = map { $_->{name} => $_->{hash} } parse_list($out, 'locked');
like($h{locked}, qr/\A!\$6\$/, '--keep-locked: locked hash kept as it is');
is($h{star}, '*', "--keep-locked: '*'");
is($h{never}, '!!', "--keep-locked: '!!'");
is(password_verify($PW, $h{locked}), 0, 'a kept locked hash does not verify');

# --skip-shell, --include, --verbose
($out, $err) = run('--domain', 'example.com', @FILES, '--skip-shell', 'nologin',
		   '--skip-shell', '/bin/false', '--verbose');
%n = map { $_->{name} => 1 } parse_list($out, 'shells');
ok(!$n{nologin} && !$n{falseshell} && $n{desuser}, '--skip-shell (name and path)');
like($err, qr/^SKIP: account 'nologin' .*shell \/usr\/sbin\/nologin is skipped/m, '--verbose says why');
like($err, qr/^SKIP: account 'root' .*uid 0 is below --min-uid 500$/m, '... for uids too');
($out, $err) = run('--domain', 'example.com', @FILES, '--skip-shell', 'nologin,false');
%n = map { $_->{name} => 1 } parse_list($out, 'shells');
ok(!$n{nologin} && !$n{falseshell}, '--skip-shell with a comma list');
unlike($err, qr/^SKIP/m, 'no SKIP lines without --verbose');
($out, $err, $st) = run('--domain', 'example.com', @FILES, '--include', "$D/include");
is_deeply([ map { $_->{name} } parse_list($out, 'include') ],
	  [qw(sha512user yescryptuser mary-ann)], '--include');
like($err, qr/^WARNING: account 'nosuchuser' is named in the --include file but does not exist$/m,
     '--include: missing name warned');
is($st, 0, 'WARNINGs alone: exit 0');

# --gecos, --quota
($out) = run('--domain', 'example.com', @FILES, '--gecos', '--quota', '50M');
my %line = map { $_->{name} => $_ } parse_list($out, 'gecos');
is($line{desuser}{line},
   "vadduser -c 'Dee Ess' -q '50M' -e '$line{desuser}{hash}' desuser\@example.com",
   '--gecos --quota: vadduser -c GECOS -q QUOTA -e HASH address');
is_deeply([ @{ $line{'mary-ann'}{words} }[1, 2] ], [ '-c', 'Mary-Ann Smith' ],
	  'full name up to the first comma');

# the domain
($out, $err, $st) = run('--domain', 'Example.COM', @FILES, '--exclude', "$tmp/exclude");
like($out, qr/ uid500\@example\.com$/m, '--domain is lowercased');
open $fh, '>', "$tmp/mailname" or die;
print $fh "Mail.Example.Com.\n";
close $fh;
($out, $err, $st) = run('--mailname', "$tmp/mailname", @FILES, '--exclude', "$tmp/exclude");
like($out, qr/ uid500\@mail\.example\.com$/m, 'domain from the mailname file');
is($st, 0, '... exit 0');
open $fh, '>', "$tmp/badname" or die;
print $fh "bad domain; rm -rf /\n";
close $fh;
($out, $err, $st) = run('--mailname', "$tmp/badname", @FILES);
is($st, 2, 'unusable mailname: exit 2');
like($err, qr/^ERROR: no usable mail domain from \Q$tmp\E\/badname .*give --domain$/m, '... ERROR');
is($out, '', '... and no list');
($out, $err, $st) = run('--domain', 'exa mple.com', @FILES);
is($st, 2, 'bad --domain: exit 2');
($out, $err, $st) = run('--domain', "example.com'\$(id)", @FILES);
is($st, 2, 'hostile --domain: exit 2');

# getpwent (faked through the module: never the machine's own users)
{
	my @fake = (
		[ 'alice', $line{sha512user}{hash}, 1000, 100, '', '', 'Alice,,,', '/home/alice', '/bin/bash' ],
		[ 'bob', 'x', 1001, 100, '', '', 'Bob', '/home/bob', '/bin/bash' ],
		[ 'daemon', '*', 1, 1, '', '', 'daemon', '/', '/usr/sbin/nologin' ],
	);
	open my $o, '>', \my $sout or die;
	open my $e, '>', \my $serr or die;
	my $rc = MigrateMail::SendmailList::run(
		{ domain => 'example.com', gecos => 1,
		  getpwent => sub { @{ shift(@fake) || [] } } }, [], $o, $e);
	is($rc, 1, 'getpwent: exit 1');
	is(join('', map { "$_\n" } list_lines($sout)), "vadduser -c 'Alice' -e '$line{sha512user}{hash}' alice\@example.com\n",
	   'getpwent: the list');
	like($serr, qr/^ERROR: account 'bob' \(getpwent entry 2\): no password hash: 'x' .*run as root/m,
	     "getpwent: 'x' (not root) is an ERROR");
}

# A well-formed hash this machine's crypt() cannot verify (the original
# OpenBSD bcrypt, "$2$"): listed with a WARNING, the new server may know it
{
	my $old = '$2$05$abcdefghijklmnopqrstuuhKF09ZYWwH2zP/0fwE1X8e/Q1YNx/hO';
	my @fake = ([ 'olduser', $old, 1000, 100, '', '', 'Old', '/', '/bin/sh' ]);
	open my $o, '>', \my $sout or die;
	open my $e, '>', \my $serr or die;
	my $rc = MigrateMail::SendmailList::run(
		{ domain => 'example.com', getpwent => sub { @{ shift(@fake) || [] } } },
		[], $o, $e);
	SKIP: {
		skip 'this libxcrypt verifies $2$ hashes', 4
		  if password_scheme($old)->{can_verify};
		is($rc, 0, 'unverifiable here: exit 0');
		is(join('', map { "$_\n" } list_lines($sout)), "vadduser -e '$old' olduser\@example.com\n", '... still listed');
		like($serr, qr/^WARNING: account 'olduser' .*cannot verify bcrypt-2 hashes; run sendmail-list --check on the new server$/,
		     '... with a WARNING');
		my $list = "$tmp/oldlist";
		open my $fh, '>', $list or die;
		print $fh $sout;
		close $fh;
		my ($cout, $cerr, $cst) = run('--check', $list);
		like($cout, qr/^ERROR: olduser\@example\.com: bcrypt-2: this machine's crypt\(\) cannot verify it \(crypt_checksalt: invalid\)$/m,
		     '--check on such a list: ERROR');
	}
}

# -o: atomic, mode 0600 whatever the umask, symlinks not followed
my $list = "$tmp/makeusers";
($out, $err, $st) = run({ umask => 0 }, '--domain', 'example.com', @FILES,
			'--exclude', "$tmp/exclude", '-o', $list);
is($st, 0, '-o: exit 0');
is($out, '', '-o: nothing on stdout');
is((stat $list)[2] & 07777, 0600, '-o: mode 0600 even with umask 0');
my ($stdout_list) = run('--domain', 'example.com', @FILES, '--exclude', "$tmp/exclude");
is(slurp($list), $stdout_list, '-o: same content as stdout');
opendir my $dh, $tmp or die;
is_deeply([ grep /\.tmp\z/, readdir $dh ], [], '-o: no temporary file left');
closedir $dh;
chmod 0644, $list;
run({ umask => 077 }, '--domain', 'example.com', @FILES, '--exclude', "$tmp/exclude", '-o', $list);
is((stat $list)[2] & 07777, 0600, '-o: an existing file is replaced with mode 0600');
open $fh, '>', "$tmp/victim" or die;
print $fh "precious\n";
close $fh;
symlink "$tmp/victim", "$tmp/link" or die;
($out, $err, $st) = run('--domain', 'example.com', @FILES, '--exclude', "$tmp/exclude",
			'-o', "$tmp/link");
is($st, 0, '-o onto a symlink: exit 0');
ok(!-l "$tmp/link" && -f "$tmp/link", '-o: the symlink is replaced by the file');
is(slurp("$tmp/victim"), "precious\n", '-o: its target is untouched');
($out, $err, $st) = run('--domain', 'example.com', @FILES, '-o', "$tmp/no/such/dir/list");
is($st, 1, '-o into a missing directory: exit 1');
like($err, qr/^ERROR: cannot create a temporary file in \Q$tmp\E\/no\/such\/dir: /m, '... ERROR');

# usage errors: exit 2
my @usage = (
	[ [ '--no-such-option' ], qr/Unknown option/ ],
	[ [ '--format', 'xml' ], qr/^ERROR: unknown --format 'xml'/ ],
	[ [ '--shadow', "$D/shadow" ], qr/^ERROR: --shadow needs --passwd/ ],
	[ [ @FILES, '--master-passwd', "$D/master.passwd" ], qr/cannot be combined/ ],
	[ [ @FILES, '--min-uid', 600, '--max-uid', 500 ], qr/above --max-uid/ ],
	[ [ @FILES, '--min-uid', -1 ], qr/--min-uid must be a number/ ],
	[ [ @FILES, 'extra' ], qr/only taken with --check/ ],
	[ [ @FILES, '--quota', '5 0' ], qr/is not a quota/ ],
	[ [ '--check', '--quota', '50M' ], qr/--quota is not used by --check/ ],
	[ [ @FILES, '--format', 'csv', '--aliases', "$D/aliases" ], qr/need --format vpopmail/ ],
	[ [ @FILES, '--check', '--forwards' ], qr/need --format vpopmail/ ],
	[ [ '--passwd', "$tmp/nope" ], qr/^ERROR: cannot open passwd file/ ],
	[ [ @FILES, '--include', "$tmp/nope" ], qr/^ERROR: cannot open name list file/ ],
);
for my $u (@usage) {
	($out, $err, $st) = run('--domain', 'example.com', @{ $u->[0] });
	is($st, 2, "usage error exits 2: @{ $u->[0] }");
	like($err, $u->[1], '... and says why');
	is($out, '', '... no list');
}

# --help, --man, --version
($out, $err, $st) = run('--help');
is($st, 0, '--help exits 0');
like($out, qr/Usage:\s+sendmail-list \[--domain DOMAIN\]/, '--help: synopsis');
like($out, qr/--skip-shell SHELL/, '--help: options');
($out, $err, $st) = run('--man');
is($st, 0, '--man exits 0');
like($out, qr/EXAMPLES.*EXIT STATUS/s, '--man: the whole page');
($out, $err, $st) = run('--version');
like($out, qr/^sendmail-list \(MigrateMail\) \d+\.\d+$/, '--version');

done_testing;
