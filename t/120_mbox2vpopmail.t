# mbox2vpopmail: classic and batch use, vpopmail lookup, ERROR lines,
# exit status, JSON report, dry run, --help from an installed copy.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use JSON::PP ();
use lib 't/lib';
use MMMaildir qw(maildir_files slurp);
use MMRun qw(run_script);

my $dir = tempdir(CLEANUP => 1);
my $vp = "$dir/vpopmail";
make_path("$vp/bin", map { "$vp/domains/example.com/$_" } qw(alice bob carol erin));
system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;

sub run {
	my ($stdin, @args) = @_;
	local $ENV{VPOPMAIL} = $vp;
	return run_script('bin/mbox2vpopmail', { stdin => $stdin }, @args);
}
my $SUMMARY = qr/^(\S+): (\d+) messages, (\d+) bytes, (\d+) new, (\d+) cur, (\d+) skipped, (\d+) failed, (\d+) warnings, [\d.]+ s(, FAILED)?$/;

# Classic: mbox2vpopmail user@domain < mbox
my ($out, $err, $st) = run('examples/sample.mbox', 'alice@example.com');
is($st, 0, 'classic from stdin: exit 0');
is($err, '', 'no errors');
like($out, qr/^alice\@example.com: 4 messages, 693 bytes, 1 new, 2 cur, 1 skipped, 0 failed, 0 warnings, [\d.]+ s$/,
     'summary line');
my $md = "$vp/domains/example.com/alice/Maildir";
my ($files) = maildir_files($md);
is(scalar keys %$files, 3, 'delivered into the Maildir vuserinfo names');

($out, $err, $st) = run(undef, 'alice@example.com', 'examples/sample.mbox');
is($st, 0, 'classic with a path: exit 0');
like($out, qr/^alice\@example.com: 4 messages, 0 bytes, 0 new, 0 cur, 4 skipped, 0 failed, 0 warnings/,
     'second run: everything already present');

($out, $err, $st) = run('examples/sample.mbox', 'nobody@example.com');
is($st, 3, 'unknown user: exit 3');
like($err, qr/^ERROR: nobody\@example.com: no such user nobody\@example.com in vpopmail$/m,
     'ERROR line for the unknown user');
like($out, qr/, FAILED$/, 'its summary says FAILED');

# --maildir, without vpopmail
mkdir "$dir/plain";
($out, $err, $st) = run(undef, '--maildir', "$dir/plain/Maildir", 'examples/sample.mbox');
is($st, 0, '--maildir: exit 0') or diag $err;
ok(-d "$dir/plain/Maildir/cur", 'Maildir created');
($out, $err, $st) = run('t/data/flags.mbox', '--maildir', "$dir/plain2", '--fsync', 'each', '--verify', '-v');
is($st, 0, '--maildir from stdin with --fsync each --verify');
like($out, qr/^stdin: 15 messages, \d+ bytes, 2 new, 13 cur, 0 skipped, 0 failed, 0 warnings, 15 verified, format mboxo \(mboxo: no Content-Length, no '>>From ' line, 0 '>From ' lines \(whole file, 1551 bytes\)\), durability each \(asked\), [\d.]+ s$/,
     'summary with the verification, and with -v the variant, the fsync mode and why');

# Usage errors
for my $bad ([], ['not-an-address'], ['a@b', 'x', 'y'], ['--dir', $dir], ['--jobs', 0, 'a@b'],
	     ['--format', 'mboxzz', 'a@b'], ['--bogus']) {
	($out, $err, $st) = run(undef, @$bad);
	is($st, 2, "usage error: @$bad");
}
like($err, qr/Usage:/, 'usage text on stderr');

# Batch: several users, an unknown one, an odd file name mapped, a lock
# file and a symlink skipped.
my $spool = "$dir/spool";
mkdir $spool;
system('cp', 'examples/sample.mbox', "$spool/alice") == 0 or die;
system('cp', 't/data/flags.mbox', "$spool/Bob Smith; rm -rf \$HOME") == 0 or die;
system('cp', 't/data/pseudo.mbox', "$spool/carol") == 0 or die;
system('cp', 't/data/crlf.mbox', "$spool/dave") == 0 or die;
system('cp', 't/data/body-from.mbox', "$spool/Erin") == 0 or die;
system('cp', 't/data/body-from.mbox', "$spool/x") == 0 or die;
open my $lk, '>', "$spool/.alice.swp" or die;
close $lk;
symlink '/etc/passwd', "$spool/mallory" or die;
open my $map, '>', "$dir/map" or die;
# names are never lowercased: Erin is mapped, as vpopmail would refuse it
print $map "# file user\nBob Smith; rm -rf \$HOME   bob\nErin erin\n";
close $map;
for my $jobs (1, 2) {
	system('rm', '-rf', map { "$vp/domains/example.com/$_/Maildir" } qw(alice bob carol erin));
	($out, $err, $st) = run(undef, '--domain', 'example.com', '--dir', $spool, '--map', "$dir/map",
				'--jobs', $jobs, '--report', "$dir/report-$jobs.json");
	is($st, 3, "batch --jobs $jobs: exit 3 (one unknown user)");
	my %sum = map { /$SUMMARY/ ? ($1 => [ $2, $4, $5, $6, $9 ]) : () } split /\n/, $out;
	is_deeply(\%sum, {
		'alice@example.com' => [ 4, 1, 2, 1, undef ],
		'bob@example.com'   => [ 15, 2, 13, 0, undef ],
		'carol@example.com' => [ 3, 0, 2, 1, undef ],
		'dave@example.com'  => [ 0, 0, 0, 0, ', FAILED' ],
		'erin@example.com'  => [ 2, 2, 0, 0, undef ],
		"$spool/x"          => [ 0, 0, 0, 0, ', FAILED' ],
	}, "batch --jobs $jobs: one summary line per mailbox");
	like($out, qr/^total: 6 mailboxes, 2 failed, 24 messages, \d+ bytes, 5 new, 17 cur, 2 skipped, 0 failed messages/m,
	     "batch --jobs $jobs: total line");
	like($err, qr/^ERROR: \Q$spool\E\/dave: no such user dave\@example.com in vpopmail$/m, 'unknown user: ERROR');
	like($err, qr/^ERROR: \Q$spool\E\/x: 'x' is not a user name vpopmail accepts \(one-character names are rejected by vpopmail\); name its user in --map$/m,
	     'one-character name: ERROR');
	like($err, qr/^WARNING: \Q$spool\E\/mallory: not a regular file, skipped$/m, 'symlink skipped');
	is(scalar grep({ /^ERROR/ } split /\n/, $err), 2, 'exactly two ERROR lines');
	is(scalar keys %{ (maildir_files("$vp/domains/example.com/bob/Maildir"))[0] }, 15,
	   'the odd file name was converted for its mapped user');
	my $rep = JSON::PP->new->decode(slurp("$dir/report-$jobs.json"));
	is($rep->{totals}{mailboxes}, 6, 'report: mailboxes');
	is($rep->{totals}{failed_mailboxes}, 2, 'report: failed mailboxes');
	is($rep->{totals}{messages}, 24, 'report: messages');
	my ($bob) = grep { ($_->{user} // '') eq 'bob@example.com' } @{ $rep->{mailboxes} };
	is($bob->{source}, "$spool/Bob Smith; rm -rf \$HOME", 'report: the odd file name, intact');
	is($bob->{to_cur}, 13, 'report: per mailbox counts');
}
ok(-d $ENV{HOME} || 1, 'nothing ran the file name');

# On a terminal, batch mode keeps a progress line on stderr (script(1),
# from Debian's essential bsdutils, gives it one); not in a pipe.
{
	local $ENV{VPOPMAIL} = $vp;
	system('rm', '-rf', map { "$vp/domains/example.com/$_/Maildir" } qw(alice bob carol erin));
	my $cmd = "'$^X' -Mblib bin/mbox2vpopmail -d example.com --dir '$spool' --map '$dir/map'";
	system('script', '-qec', $cmd, "$dir/typescript") ;
	my $tty = slurp("$dir/typescript");
	like($tty, qr/mailboxes 6\/6, [\d.]+ of [\d.]+ MB, [\d.]+ MB\/s, ETA \d+:\d\d/, 'progress on a terminal');
	($out, $err) = run(undef, '-d', 'example.com', '--dir', $spool, '--map', "$dir/map");
	unlike($err, qr/mailboxes \d+\/\d+/, 'no progress line when stderr is not a terminal');
}

# --dry-run writes nothing.
system('rm', '-rf', "$vp/domains/example.com/alice/Maildir");
($out, $err, $st) = run(undef, '--dry-run', 'alice@example.com', 'examples/sample.mbox');
is($st, 0, 'dry run: exit 0');
like($out, qr/^\(dry run\) alice\@example.com: 4 messages, 693 bytes, 1 new, 2 cur, 1 skipped/, 'dry run counts');
ok(!-e "$vp/domains/example.com/alice/Maildir", 'dry run wrote nothing');

# --quiet prints no summary; --version; --help from an installed copy.
($out, $err, $st) = run('examples/sample.mbox', '-q', 'alice@example.com');
is($out, '', '--quiet: no summary');
($out) = run(undef, '--version');
like($out, qr/^mbox2vpopmail \(MigrateMail\) \d+\.\d+$/, '--version');
my $inst = "$dir/inst";
system("make install DESTDIR='$inst' >/dev/null 2>&1") == 0 or die 'make install';
my ($script) = grep { -f } glob("$inst/usr/local/bin/mbox2vpopmail"), glob("$inst/*/bin/mbox2vpopmail"),
  glob("$inst/usr/bin/mbox2vpopmail");
ok($script, 'script installed');
my @libs = map { s/^/$inst/r } grep { m{^/} } @INC;
{
	local $ENV{PERL5LIB} = join ':', map { glob("$inst$_") } '/usr/local/lib/*/perl/*', '/usr/local/share/perl/*';
	my $help = `'$^X' '$script' --help 2>&1`;
	like($help, qr/Usage:.*mbox2vpopmail \[OPTIONS\] user\@domain \[MBOX\].*--maildir/s, '--help of the installed copy');
	my $man = `'$^X' '$script' --man 2>&1`;
	like($man, qr/EXIT STATUS/, '--man of the installed copy');
}
ok(glob("$inst/usr/local/man/man1/mbox2vpopmail.1*") || glob("$inst/usr/local/share/man/man1/mbox2vpopmail.1*"),
   'manual page installed');

done_testing;
