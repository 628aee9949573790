# maildirsize and the UID lists as a hostile mailbox owner might leave
# them: a FIFO (the run finishes, within a timeout, with an ERROR and the
# messages delivered), a hard link to another file (not appended to,
# reported), a device; a short maildirsize recounted; a folder's
# deliveries counted in its top's maildirsize, .Trash's not.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use POSIX qw(mkfifo);
use lib 't/lib';
use MMMaildir qw(maildir_files slurp quota_usage maildirsize_sum);
use MMRun qw(spew);

my $dir = tempdir(CLEANUP => 1);
my $QUOTA = "5000000S,1000C";

# mbox2vpopmail --maildir MD MBOX, killed if it takes over 60 s:
# (stdout, stderr, exit status, timed out).
sub run {
	my (@args) = @_;
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$dir/out" or die;
		open STDERR, '>', "$dir/err" or die;
		exec $^X, '-Mblib', 'bin/mbox2vpopmail', @args or die "exec: $!";
	}
	my $timed_out = 0;
	local $SIG{ALRM} = sub { $timed_out = 1; kill 'KILL', $pid };
	alarm 60;
	waitpid $pid, 0;
	alarm 0;
	return (slurp("$dir/out"), slurp("$dir/err"), $? >> 8, $timed_out);
}

sub new_maildir {
	my ($name, $quota) = @_;
	my $md = "$dir/$name";
	mkdir $md or die;
	spew("$md/maildirsize", $quota) if defined $quota;
	return $md;
}

my $MBOX = 't/data/imapbase.mbox';   # two messages, X-IMAPbase, X-UIDs

# A FIFO named maildirsize.
my $md = new_maildir('fifo-quota');
mkfifo("$md/maildirsize", 0600) or die "mkfifo: $!";
my ($out, $err, $st, $hung) = run('--maildir', $md, $MBOX);
ok(!$hung, 'FIFO maildirsize: the run does not hang');
like($err, qr/^ERROR: \Q$MBOX\E: cannot update maildirsize: it is not a regular file; left alone$/m,
     'FIFO maildirsize: a clear ERROR');
is(scalar keys %{ (maildir_files($md))[0] }, 2, 'FIFO maildirsize: the messages are delivered');
ok(-p "$md/maildirsize", 'FIFO maildirsize: left as it is');
ok(-s "$md/dovecot-uidlist", 'FIFO maildirsize: the UID lists are still written');

# A FIFO named dovecot-uidlist.
$md = new_maildir('fifo-uidlist', "$QUOTA\n0 0\n");
mkfifo("$md/dovecot-uidlist", 0600) or die "mkfifo: $!";
($out, $err, $st, $hung) = run('--maildir', $md, $MBOX);
ok(!$hung, 'FIFO dovecot-uidlist: the run does not hang');
like($err, qr/^ERROR: \Q$MBOX\E: cannot write dovecot-uidlist: it is not a regular file; left alone$/m,
     'FIFO dovecot-uidlist: a clear ERROR');
is(scalar keys %{ (maildir_files($md))[0] }, 2, 'FIFO dovecot-uidlist: the messages are delivered');
ok(-p "$md/dovecot-uidlist", 'FIFO dovecot-uidlist: left as it is');
like(slurp("$md/courierimapuiddb"), qr/\A1 1003923649 3\n1 \S+\n2 \S+\n\z/,
     'FIFO dovecot-uidlist: courierimapuiddb is still written');
is_deeply([ (maildirsize_sum($md))[0, 1] ], [ quota_usage($md) ], 'FIFO dovecot-uidlist: maildirsize counts them');

# A symlink named dovecot-uidlist is not a list either.
$md = new_maildir('link-uidlist');
spew("$dir/elsewhere", "precious\n");
symlink "$dir/elsewhere", "$md/dovecot-uidlist" or die;
($out, $err, $st, $hung) = run('--maildir', $md, $MBOX);
like($err, qr/^ERROR: \Q$MBOX\E: cannot write dovecot-uidlist: it is not a regular file; left alone$/m,
     'symlinked dovecot-uidlist: reported');
is(slurp("$dir/elsewhere"), "precious\n", 'symlinked dovecot-uidlist: its target untouched');

# A list a server wrote is left alone, silently.
$md = new_maildir('server-list');
spew("$md/dovecot-uidlist", "3 V1 N1 Gabc\n");
($out, $err, $st, $hung) = run('--maildir', $md, $MBOX);
is($st, 0, 'a server\'s dovecot-uidlist: exit 0') or diag $err;
is(slurp("$md/dovecot-uidlist"), "3 V1 N1 Gabc\n", 'a server\'s dovecot-uidlist: left alone');

# A run in which a message fails writes no UID list (it would have a
# hole for good); the re-run that delivers it writes the lists whole.
my $scratch = new_maildir('scratch');
run('--maildir', $scratch, $MBOX);
# (unread, with an X-UID: in cur/ without flags, see t/155_courier.t)
my ($second) = grep { m{^cur/[^:]*:2,$} } keys %{ (maildir_files($scratch))[0] };
ok($second, 'the second message goes to cur/, unread');
$md = new_maildir('failing', "$QUOTA\n0 0\n");
mkdir "$md/$_" for qw(tmp new cur);
symlink "$dir/nowhere", "$md/$second" or die;  # its name taken: it fails
($out, $err, $st) = run('--maildir', $md, $MBOX);
is($st, 3, 'a message failed: exit 3');
like($err, qr/^ERROR: \Q$MBOX\E: message 2, offset \d+: cannot move tmp\/\S+ to cur\/: File exists$/m,
     'a message failed: reported');
ok(!-e "$md/dovecot-uidlist" && !-e "$md/courierimapuiddb", 'a message failed: no UID lists');
is_deeply([ (maildirsize_sum($md))[0, 1] ], [ quota_usage($md) ], 'a message failed: maildirsize counts only the other');
unlink "$md/$second" or die;
($out, $err, $st) = run('--maildir', $md, $MBOX);
is($st, 0, 're-run: exit 0') or diag $err;
like(slurp("$md/dovecot-uidlist"), qr/\A3 V1003923649 N3\n1 (?:P\S+ )?:\S+\n2 (?:P\S+ )?:\S+\n\z/, 're-run: dovecot-uidlist whole');
like(slurp("$md/courierimapuiddb"), qr/\A1 1003923649 3\n1 \S+\n2 \S+\n\z/, 're-run: courierimapuiddb whole');
is_deeply([ (maildirsize_sum($md))[0, 1] ], [ quota_usage($md) ], 're-run: maildirsize counts both');

# maildirsize a hard link to another file.
$md = new_maildir('hardlink');
spew("$dir/victim", "$QUOTA\n0 0\n");
link "$dir/victim", "$md/maildirsize" or die "link: $!";
($out, $err, $st, $hung) = run('--maildir', $md, $MBOX);
ok(!$hung, 'hard link: finishes');
like($err, qr/^ERROR: \Q$MBOX\E: cannot update maildirsize: it is a hard link \(more than one name\); left alone$/m,
     'hard link: reported');
is(slurp("$dir/victim"), "$QUOTA\n0 0\n", 'hard link: not appended to');
is(scalar keys %{ (maildir_files($md))[0] }, 2, 'hard link: the messages are delivered');
is($st, 1, 'hard link: exit 1 (an ERROR was reported)');

SKIP: {
	skip 'a device node needs root', 3 if $> != 0;
	$md = new_maildir('device');
	my ($maj, $min) = do { my $r = (stat '/dev/null')[6]; ($r >> 8, $r & 0xff) };
	system('mknod', "$md/maildirsize", 'c', $maj, $min) == 0 or skip 'mknod failed', 3;
	($out, $err, $st, $hung) = run('--maildir', $md, $MBOX);
	ok(!$hung, 'device maildirsize: finishes');
	like($err, qr/^ERROR: \Q$MBOX\E: cannot update maildirsize: it is not a regular file; left alone$/m,
	     'device maildirsize: reported');
	ok(-c "$md/maildirsize", 'device maildirsize: left as it is');
}

# A short maildirsize (an older run killed) is recounted; the quota line
# and the permissions stay.
$md = new_maildir('short', "$QUOTA\n0 0\n");
chmod 0644, "$md/maildirsize";
($out, $err, $st) = run('--maildir', $md, 't/data/flags.mbox');
is($st, 0, 'short: first run') or diag $err;
spew("$md/maildirsize", "$QUOTA\n10 1\n");
chmod 0644, "$md/maildirsize";
($out, $err, $st) = run('--maildir', $md, 't/data/flags.mbox');
is($st, 0, 'short: re-run') or diag $err;
my ($bytes, $count, $def, $lines) = maildirsize_sum($md);
is_deeply([ $bytes, $count ], [ quota_usage($md) ], 'short: recounted to what the Maildir holds');
is($lines, 1, 'short: one line of totals');
is($def, $QUOTA, 'short: the quota line kept');
is((stat "$md/maildirsize")[2] & 07777, 0644, 'short: its permissions kept');
ok(!-e "$md/maildirsize.mmtmp", 'short: no temporary file left');

SKIP: {
	skip 'ownership needs root', 2 if $> != 0;
	$md = new_maildir('owned', "$QUOTA\n999 9\n");
	chown 1234, 2345, $md, "$md/maildirsize" or die;
	($out, $err, $st) = run('--maildir', $md, 't/data/flags.mbox');
	is_deeply([ (maildirsize_sum($md))[0, 1] ], [ quota_usage($md) ], 'root: recounted');
	is(join(':', (stat "$md/maildirsize")[4, 5]), '1234:2345', "root: the rewritten file is the Maildir owner's");
}

# Folders: deliveries into Maildir/.foo count in Maildir/maildirsize;
# deliveries into .Trash do not (vpopmail's recount leaves it out).
$md = new_maildir('tree', "$QUOTA\n0 0\n");
($out, $err, $st) = run('--maildir', $md, 'examples/sample.mbox');
for my $f (qw(.foo .Trash)) {
	mkdir "$md/$f" or die;
	spew("$md/$f/maildirfolder", '');
	($out, $err, $st) = run('--maildir', "$md/$f", 't/data/flags.mbox');
	is($st, 0, "folder $f: delivered") or diag $err;
	ok(!-e "$md/$f/maildirsize", "folder $f: no maildirsize of its own");
}
($bytes, $count) = maildirsize_sum($md);
my ($ub, $uc) = quota_usage($md);
my ($top) = quota_usage_of("$md");
is_deeply([ $bytes, $count ], [ $ub, $uc ], 'folders: the top maildirsize counts the top and .foo, not .Trash');
cmp_ok($uc, '>', $top, 'folders: .foo counted');
is(scalar(grep { /^-?\d+ -?\d+$/ } split /\n/, slurp("$md/maildirsize")), 3,
   'folders: appended to, not rewritten (it agreed)');

# What the top alone holds (new/ and cur/ of the top, vpopmail's rules).
sub quota_usage_of {
	my ($m) = @_;
	my $n = 0;
	for my $sub (qw(new cur)) {
		opendir my $d, "$m/$sub" or die;
		$n += grep { !/^\./ && !/:2,[A-Z]*T/ } readdir $d;
	}
	return $n;
}

done_testing;
