# One writer per Maildir: two mbox2vpopmail runs into one Maildir
# (started together, and one a moment after the other) both complete,
# byte-exact; a run that finds the Maildir locked waits --lock-timeout
# seconds, then fails with one ERROR and changes nothing; a lock holder
# killed with SIGKILL leaves nothing held; batch mode with a --map that
# merges two spool files into one user, under --jobs 2, is exact every
# time (20 times).
use strict;
use warnings;
use Test::More;
use Fcntl qw(:flock);
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use Time::HiRes qw(time sleep);
use lib 't/lib';
use MMGen qw(gen_mbox);
use MMMaildir qw(maildir_files);
use MMRun qw(run_script slurp spew);
use MigrateMail qw(verify_maildir);

my $dir = tempdir(CLEANUP => 1);

# Two mboxes with no message in common: B is A with other subjects.
sub two_mboxes {
	my ($n, $a, $b) = @_;
	gen_mbox($a, n => $n);
	(my $other = slurp($a)) =~ s/^Subject: message /Subject: other message /mg;
	spew($b, $other);
}
two_mboxes(3000, "$dir/a.mbox", "$dir/b.mbox");

# Start mbox2vpopmail in the background; its output goes to files.
sub start {
	my ($tag, @args) = @_;
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$dir/$tag.out" or die;
		open STDERR, '>', "$dir/$tag.err" or die;
		exec $^X, '-Mblib', 'bin/mbox2vpopmail', @args or die "exec: $!";
	}
	return $pid;
}

sub finish {
	my ($pid, $tag) = @_;
	waitpid $pid, 0;
	return ($? >> 8, slurp("$dir/$tag.out"), slurp("$dir/$tag.err"));
}

# Exactly the messages of both mboxes, byte for byte, nothing else.
sub exact {
	my ($md, $what, @mboxes) = @_;
	my ($files, $tmp) = maildir_files($md);
	my $total = 0;
	for my $mb (@mboxes) {
		my $v = verify_maildir($mb, $md);
		$total += $v->{verified};
		is($v->{missing} + $v->{mismatched}, 0, "$what: every message of $mb there, byte-exact")
		  or diag join "\n", map { $_->{message} } @{ $v->{errors} }[0 .. 4];
	}
	is(scalar keys %$files, $total, "$what: nothing else in new/ and cur/ ($total)");
	is_deeply($tmp, [], "$what: tmp/ empty");
}

for my $delay (0, 0.3) {
	my $md = "$dir/Maildir-$delay";
	my $pa = start('a', '--maildir', $md, "$dir/a.mbox");
	sleep $delay;
	my $pb = start('b', '--maildir', $md, "$dir/b.mbox");
	my ($sa, $oa, $ea) = finish($pa, 'a');
	my ($sb, $ob, $eb) = finish($pb, 'b');
	my $what = $delay ? "second run ${delay}s after the first" : 'two runs started together';
	is($sa, 0, "$what: the first exits 0") or diag $ea;
	is($sb, 0, "$what: the second exits 0") or diag $eb;
	like($oa, qr/: 3000 messages, \d+ bytes, \d+ new, \d+ cur, 0 skipped, 0 failed/, "$what: A delivered all");
	like($ob, qr/: 3000 messages, \d+ bytes, \d+ new, \d+ cur, 0 skipped, 0 failed/, "$what: B delivered all");
	exact($md, $what, "$dir/a.mbox", "$dir/b.mbox");
}

# The Maildir locked by someone else (here this test, as the Maildir's
# owner could): wait --lock-timeout, one ERROR, nothing changed, not
# even "our leftovers" in tmp/ (they may be the holder's messages).
{
	my $md = "$dir/Maildir-held";
	my (undef, $e0, $s0) = run_script('bin/mbox2vpopmail', '--maildir', $md, 'examples/sample.mbox');
	is($s0, 0, 'a Maildir with mail') or diag $e0;
	spew("$md/tmp/mmtmp.in-the-making", "half a message\n");
	my %before = map { $_ => 1 } glob("$md/*/* $md/*");
	open my $lk, '<', $md or die "$md: $!";
	flock($lk, LOCK_EX | LOCK_NB) or die "flock: $!";
	my $t0 = time;
	my ($out, $err, $st) = run_script('bin/mbox2vpopmail', '--maildir', $md, '--lock-timeout', 1,
					  "$dir/a.mbox");
	my $took = time - $t0;
	is($st, 1, 'Maildir locked: exit 1');
	is(scalar(() = $err =~ /^ERROR/mg), 1, 'one ERROR line');
	like($err, qr/^ERROR: \Q$dir\E\/a.mbox: another run is writing into Maildir \Q$md\E \(waited 1 s for its lock; see --lock-timeout\)$/m,
	     'it names the Maildir and how long it waited');
	ok($took >= 1 && $took < 10, sprintf('it waited about 1 s (%.2f s)', $took));
	like($out, qr/, FAILED$/m, 'the summary says FAILED');
	is_deeply({ map { $_ => 1 } glob("$md/*/* $md/*") }, \%before, 'nothing in the Maildir changed');
	is(slurp("$md/tmp/mmtmp.in-the-making"), "half a message\n", "the holder's tmp/ file is untouched");
	close $lk;
	($out, $err, $st) = run_script('bin/mbox2vpopmail', '--maildir', $md, '--lock-timeout', 0,
				       'examples/sample.mbox');
	is($st, 0, 'released: the next run proceeds') or diag $err;
	ok(!-e "$md/tmp/mmtmp.in-the-making", 'and cleans tmp/ under the lock');
}

# A run holding the lock, killed with SIGKILL: the kernel releases the
# lock, the next run proceeds at once.
{
	my $md = "$dir/Maildir-killed";
	pipe my $r, my $w or die;
	my $pid = fork // die;
	if (!$pid) {
		close $w;
		open STDIN, '<&', $r or die;
		open STDOUT, '>', '/dev/null' or die;
		exec $^X, '-Mblib', 'bin/mbox2vpopmail', '--maildir', $md or die;
	}
	close $r;
	# some mail, then the pipe stays open: the run holds the Maildir
	print {$w} slurp('examples/sample.mbox');
	$w->flush;
	my $held;
	for (1 .. 200) {
		if (open my $lk, '<', $md) {
			last if ($held = !flock($lk, LOCK_EX | LOCK_NB));
			close $lk;
		}
		sleep 0.05;
	}
	ok($held, 'a run reading a pipe holds the Maildir lock');
	my ($out, $err, $st) = run_script('bin/mbox2vpopmail', '--maildir', $md, '--lock-timeout', 0,
					  'examples/sample.mbox');
	is($st, 1, 'while it lives, --lock-timeout 0 fails at once');
	like($err, qr/another run is writing into Maildir \Q$md\E \(waited 0 s/, 'with the ERROR');
	kill 'KILL', $pid;
	waitpid $pid, 0;
	close $w;
	my $t0 = time;
	($out, $err, $st) = run_script('bin/mbox2vpopmail', '--maildir', $md, '--lock-timeout', 0,
				       '--verify', 'examples/sample.mbox');
	is($st, 0, 'after kill -9: the next run proceeds at once (--lock-timeout 0)') or diag $err;
	like($out, qr/3 verified/, 'and the Maildir is complete');
	ok(time - $t0 < 10, 'without waiting');
}

# Batch: two spool files mapped to one user go one after the other
# (with --lock-timeout 0, running them at once would fail), 20 times.
{
	my $vp = "$dir/vpopmail";
	make_path("$vp/bin", map { "$vp/domains/example.com/$_" } qw(merged other));
	system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;
	my $spool = "$dir/spool";
	mkdir $spool;
	two_mboxes(300, "$spool/old1", "$spool/old2");
	gen_mbox("$spool/other", n => 100);
	spew("$dir/map", "old1 merged\nold2 merged\n");
	my $md = "$vp/domains/example.com/merged/Maildir";
	my ($ok, $bad) = (0, 0);
	for my $round (1 .. 20) {
		system('rm', '-rf', $md, "$vp/domains/example.com/other/Maildir");
		local $ENV{VPOPMAIL} = $vp;
		my ($out, $err, $st) = run_script('bin/mbox2vpopmail', '-d', 'example.com', '--dir', $spool,
						  '--map', "$dir/map", '--jobs', 2, '--lock-timeout', 0);
		my ($files, $tmp) = maildir_files($md);
		my $good = $st == 0 && $err eq '' && keys(%$files) == 600 && !@$tmp;
		for my $mb ("$spool/old1", "$spool/old2") {
			my $v = verify_maildir($mb, $md);
			$good &&= $v->{verified} == 300 && !$v->{missing} && !$v->{mismatched};
		}
		$good ? $ok++ : $bad++;
		diag "round $round: exit $st, " . scalar(keys %$files) . " files\n$err" unless $good;
	}
	is($ok, 20, 'batch merging two spool files into one user under --jobs 2: exact 20 times out of 20');
}

done_testing;
