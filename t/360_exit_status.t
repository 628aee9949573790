# mbox2vpopmail's exit status says what a failure needs: 0 all in
# place, 1 a retry may fix it (a lock that stayed busy, the disk full:
# t/110), 3 the admin first (an unknown user, a missing, refused or
# non-mbox input, a collision, a message too big), 2 usage; the
# --report says it per mailbox (failure), and 3 wins over 1.
use strict;
use warnings;
use Test::More;
use Fcntl qw(:flock O_RDONLY);
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use JSON::PP ();
use POSIX ();
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MigrateMail::Jobs qw(classify exit_status);

my $dir = tempdir(CLEANUP => 1);
my $vp = "$dir/vpopmail";
make_path("$vp/bin", map { "$vp/domains/example.com/$_" } qw(alice bob carol));
system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;

sub run {
	local $ENV{VPOPMAIL} = $vp;
	return run_script('bin/mbox2vpopmail', @_);
}
sub report { return JSON::PP->new->decode(slurp($_[0])) }

# the classes of the C core's errors
is(classify('io', POSIX::ENOSPC()), 'retry', 'ENOSPC: retry');
is(classify('io', POSIX::EIO()), 'retry', 'EIO: retry');
is(classify('io', POSIX::EAGAIN()), 'retry', 'EAGAIN (a lock timeout): retry');
is(classify('io', 0), 'retry', 'an I/O error without errno: retry');
is(classify('nomem', 0), 'retry', 'no memory: retry');
is(classify('io', POSIX::EACCES()), 'admin', 'EACCES: admin');
is(classify('io', POSIX::EROFS()), 'admin', 'EROFS: admin');
is(classify('io', POSIX::EEXIST()), 'admin', 'EEXIST (a name taken): admin');
is(classify('io', POSIX::ELOOP()), 'admin', 'ELOOP (a symlink refused): admin');
is(classify($_, 0), 'admin', "$_: admin") for qw(format usage too-big);
is(classify(undef, undef), 'admin', 'no code (not from an I/O call): admin');
is(exit_status(), 0, 'no failure: 0');
is(exit_status(undef, 'retry', 'retry'), 1, 'retries only: 1');
is(exit_status('retry', 'admin', 'retry'), 3, 'one admin among retries: 3');

# 0
my ($out, $err, $st) = run({ stdin => 'examples/sample.mbox' }, 'alice@example.com');
is($st, 0, 'all in place: 0') or diag $err;

# 1: the spool file's dotlock held by a live process (this one)
my $spool = "$dir/spool";
mkdir $spool;
system('cp', 'examples/sample.mbox', "$spool/bob") == 0 or die;
system('cp', 't/data/flags.mbox', "$spool/carol") == 0 or die;
spew("$spool/bob.lock", "$$\n");
($out, $err, $st) = run('--lock-timeout', 1, '--report', "$dir/r1.json", 'bob@example.com', "$spool/bob");
is($st, 1, 'a spool dotlock that stays busy: 1');
like($err, qr{^ERROR: \Q$spool\E/bob: cannot dotlock mbox: .*exists for more than 1 s}m, 'its ERROR line');
is(report("$dir/r1.json")->{mailboxes}[0]{failure}, 'retry', 'the report: failure retry');
is(report("$dir/r1.json")->{exit}, 1, 'the report: exit 1');
unlink "$spool/bob.lock";

# 1: another run holds the Maildir's lock
my $md = "$vp/domains/example.com/bob/Maildir";
($out, $err, $st) = run('bob@example.com', "$spool/bob");
is($st, 0, 'bob converted') or diag $err;
sysopen my $mdfh, $md, O_RDONLY or die "$md: $!";
flock $mdfh, LOCK_EX or die;
($out, $err, $st) = run('--lock-timeout', 0, 'bob@example.com', "$spool/bob");
is($st, 1, 'the Maildir locked by another run: 1');
like($err, qr/^ERROR: .*another run is writing into Maildir/m, 'its ERROR line');

# ... in a batch with an unknown user (3 wins), then without
spew("$spool/nobody", slurp('examples/sample.mbox'));
($out, $err, $st) = run('--lock-timeout', 0, '--domain', 'example.com', '--dir', $spool,
			'--report', "$dir/r2.json");
is($st, 3, 'a busy Maildir and an unknown user: 3');
my %f = map { ($_->{user} => $_->{failure}) } grep { $_->{failed_mailbox} } @{ report("$dir/r2.json")->{mailboxes} };
is_deeply(\%f, { 'bob@example.com' => 'retry', 'nobody@example.com' => 'admin' }, 'the report: each failure classed');
unlink "$spool/nobody";
($out, $err, $st) = run('--lock-timeout', 0, '--domain', 'example.com', '--dir', $spool);
is($st, 1, 'a batch whose only failure is the busy Maildir: 1');
like($err, qr/^ERROR: \Q$spool\E\/bob: /m, 'the ERROR names the mailbox');
close $mdfh;
($out, $err, $st) = run('--domain', 'example.com', '--dir', $spool);
is($st, 0, 'the retry: 0') or diag $err;

# 3: what needs the admin
($out, $err, $st) = run({ stdin => 'examples/sample.mbox' }, 'nobody@example.com');
is($st, 3, 'an unknown vpopmail user: 3');
($out, $err, $st) = run('--maildir', "$dir/md", "$dir/no-such-file");
is($st, 3, 'a missing mbox: 3');
like($err, qr/^ERROR: \Q$dir\E\/no-such-file: /m, 'its ERROR line');
chmod 0, "$spool/carol";
mkdir "$dir/sub";
($out, $err, $st) = run('--maildir', "$dir/md", "$dir/sub");
is($st, 3, 'a directory as the mbox: 3');
symlink "$spool/carol", "$dir/link" or die;
system('chown', '-h', 'nobody', "$dir/link");
($out, $err, $st) = run('--maildir', "$dir/md", "$dir/link");
is($st, 3, "a user's symlink as the mbox: 3");
($out, $err, $st) = run('--maildir', "$dir/md2", '--max-message-size', '100', 'examples/sample.mbox');
is($st, 3, 'a message over --max-message-size: 3');
like($err, qr/larger than the maximum message size/, 'its ERROR line');
my $col = "$dir/col";
mkdir $col;
spew("$col/$_", slurp('examples/sample.mbox')) for qw(Alice alice);
($out, $err, $st) = run('--domain', 'example.com', '--dir', $col);
is($st, 3, 'a name collision: 3');
like($err, qr/would all go to alice\@example.com/, 'its ERROR line');
# a Maildir whose name is taken by what is not a directory
spew("$dir/notdir", "x\n");
($out, $err, $st) = run('--maildir', "$dir/notdir", 'examples/sample.mbox');
is($st, 3, 'a Maildir path that is a file: 3');

# 3: input that is not an mbox (bytes, not one From_ line), by path, on
# standard input redirected from the file, in a batch (where the other
# mailboxes are converted); nothing of it delivered. An empty spool
# file, or one of blank lines, is a user without mail: 0.
spew("$dir/not-mbox", "Subject: a message without its From_ line\n\nhello\n");
($out, $err, $st) = run('--maildir', "$dir/md-nm", "$dir/not-mbox");
is($st, 3, 'a file with no From_ line: 3');
like($err, qr/^ERROR: \Q$dir\E\/not-mbox: not an mbox: no From_ line \(nor MMDF separator\) in its 49 bytes, which start "Subject: /m,
     'its ERROR line names the file, its size and its start');
ok(!-e "$dir/md-nm/new" || !glob("$dir/md-nm/new/*"), 'nothing delivered');
($out, $err, $st) = run({ stdin => "$dir/not-mbox" }, 'alice@example.com');
is($st, 3, 'the same on standard input: 3');
like($err, qr/^ERROR: alice\@example.com: not an mbox: /m, 'naming the mailbox');
($out, $err, $st) = run({ pipe => "$dir/not-mbox" }, '--maildir', "$dir/md-nm");
is($st, 3, 'the same from a pipe (as far as the reader\'s window holds it): 3');
like($err, qr/^ERROR: stdin: not an mbox: no From_ line \(nor MMDF separator\) in its 49 bytes, which start "Subject: a message witho": nothing delivered/m,
     'the same ERROR line');
ok(!-e "$dir/md-nm", 'no Maildir made');
($out, $err, $st) = run('-n', '--maildir', "$dir/md-nm", "$dir/not-mbox");
is($st, 3, 'the same in a dry run: 3');
($out, $err, $st) = run({ pipe => "$dir/not-mbox" }, '-n', '--maildir', "$dir/md-nm");
is($st, 3, 'and in a dry run from a pipe: 3');
like($err, qr/^ERROR: stdin: not an mbox: /m, 'its ERROR line');
my $nm = "$dir/nm-spool";
mkdir $nm;
spew("$nm/alice", slurp("$dir/not-mbox"));
spew("$nm/bob", slurp('examples/sample.mbox'));
spew("$nm/carol", '');
($out, $err, $st) = run('--domain', 'example.com', '--dir', $nm, '--report', "$dir/r-nm.json");
is($st, 3, 'a batch with a non-mbox spool file: 3');
like($err, qr/^ERROR: \Q$nm\E\/alice: not an mbox: /m, 'the ERROR names the spool file');
%f = map { ($_->{user} => $_->{failure} // 'ok') } @{ report("$dir/r-nm.json")->{mailboxes} };
is_deeply(\%f, { 'alice@example.com' => 'admin', 'bob@example.com' => 'ok', 'carol@example.com' => 'ok' },
	  'the others converted; the empty one is a user without mail');
for my $empty ('', "\n\n") {
	spew("$dir/empty", $empty);
	($out, $err, $st) = run('--maildir', "$dir/md-empty", "$dir/empty");
	is($st, 0, 'an empty spool file' . ($empty ? ' (blank lines)' : '') . ': 0') or diag $err;
}
# (2 MB of them: the From_ line is found past the first reads)
spew("$dir/garbage-first", ("garbage\n" x 262144) . "\n" . slurp('examples/sample.mbox'));
($out, $err, $st) = run('-v', '--maildir', "$dir/md-gf", "$dir/garbage-first");
is($st, 0, '2 MB before the first From_ line: still an mbox, 0 (their WARNING)') or diag $err;
like($err, qr/^WARNING: .*no From_ line: bytes kept as a message of their own/m, 'the WARNING (-v)');

# 2: usage
($out, $err, $st) = run('--jobs', 'lots', 'a@b');
is($st, 2, 'a bad --jobs: 2');
($out, $err, $st) = run('--shard', '5/4', '--jobs-file', '-');
is($st, 2, 'a bad --shard: 2');
like($err, qr/SLURM_ARRAY_TASK_ID/, 'saying how to pass a task number');

done_testing;
