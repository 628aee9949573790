# Locks as the MTA takes them: a real procmail appending while we
# convert (no stall, no half message), a writer that uses flock(2) alone,
# the stale-dotlock rule, and our dotlock removed on SIGINT/SIGTERM/SIGHUP
# (in batch workers too).
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use Fcntl qw(:flock);
use POSIX qw(WIFSIGNALED WTERMSIG WIFEXITED);
use Time::HiRes qw(time sleep);
use lib 't/lib';
use MMRun qw(run_script slurp spew need);
use MMMaildir qw(maildir_files);
use MMGen qw(gen_mbox);

# how long a wait may last before it counts as a stall (the lock timeout
# a deadlock would wait is 30 s)
my $STALL = 20;

my $dir = tempdir(CLEANUP => 1);

sub convert {
	my (@args) = @_;
	my $t0 = time;
	my ($out, $err, $st) = run_script('bin/mbox2vpopmail', @args);
	return ($out, $err, $st, time - $t0);
}

# The script in the background (its own process group with $pgrp):
# returns its pid.
sub start {
	my ($o, @args) = @_;
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		setpgrp(0, 0) if $o->{pgrp};
		# a test run started with nohup or in the background inherits
		# ignored SIGHUP/SIGINT, which the tool rightly leaves ignored
		$SIG{$_} = 'DEFAULT' for qw(INT HUP TERM);
		local $ENV{VPOPMAIL} = $o->{vpopmail} if $o->{vpopmail};
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$dir/bg.out" or die;
		open STDERR, '>', "$dir/bg.err" or die;
		exec $^X, '-Mblib', 'bin/mbox2vpopmail', @args or die "exec: $!";
	}
	return $pid;
}

sub wait_for {
	my ($cond, $secs) = @_;
	my $until = time + $secs;
	while (time < $until) {
		return 1 if $cond->();
		sleep 0.005;
	}
	return $cond->();
}

# A zombie (not yet reaped by init) is not alive.
sub alive {
	my ($pid) = @_;
	my $stat = slurp("/proc/$pid/stat");
	return $stat ne '' && $stat !~ /\) Z /;
}

sub contents {
	my ($md) = @_;
	return -d "$md/new" ? map { $_->{content} } values %{ (maildir_files($md))[0] } : ();
}

sub ncontents { my @c = contents(@_); return scalar @c }

# A message as procmail gets it (From_ line first) and as the Maildir
# must hold it (without).
sub message {
	my ($i, $lines) = @_;
	my $head = "From sender\@example.com Mon Jan  1 12:00:00 2001\n";
	my $m = "Return-Path: <sender\@example.com>\nSubject: message $i\n"
	  . "Message-ID: <m$i\@example.com>\n\n"
	  . join('', map { "line $_ of message $i " . ('x' x 60) . "\n" } 1 .. $lines)
	  . "end of message $i\n";
	return ($head . $m, $m);
}

# ---- a real procmail appending while we convert ----
# Twice: a ":0:" recipe (spool.lock, then an fcntl lock, as procmail
# delivers to a mailbox), and a global LOCKFILE with a pause before the
# append, which widens the moment between procmail's dotlock and its
# fcntl lock that a loaded machine gives anyway: a reader that takes the
# fcntl lock first and then waits for the dotlock deadlocks with it there
# until its lock timeout.
my ($pm) = grep { -x } map { "$_/procmail" } split /:/, $ENV{PATH};
#
# The last field is the gap between two conversions: with the pause,
# back-to-back conversions (each up to 2 s under ASan on a loaded
# machine) could starve procmail's once-a-second polls of the dotlock
# for 24 s, a matter of fairness, not a stall (both made progress); a
# gap longer than LOCKSLEEP gives every poll its chance, as the passes
# of a real migration are not back to back either.
for my $v ([ 'procmail :0:', 60, ":0:\nSPOOL\n", 0 ],
	   [ 'procmail LOCKFILE, pause, append', 25,
	     "LOCKFILE=SPOOL.lock\nPAUSE=`sleep 0.3`\n:0\nSPOOL\n", 1.2 ]) {
	my ($name, $n, $recipe, $gap) = @$v;
	SKIP: {
	skip 'procmail is not installed (Debian package procmail)', 9 unless $pm || !need('procmail', 'procmail');
	my $pd = "$dir/pm" . ($n);
	mkdir $pd or die;
	my $spool = "$pd/spool";
	my $md = "$pd/Maildir";
	# procmail polls a busy dotlock every LOCKSLEEP s (8 by default)
	spew("$pd/rc", "LOGFILE=$pd/log\nLOCKSLEEP=1\n" . $recipe =~ s/SPOOL/$spool/gr, 0600);
	my (%want, @in);
	for my $i (1 .. $n) {
		my ($in, $m) = message($i, 50 + ($i * 997) % 3000);
		push @in, $in;
		$want{$m} = $i;
	}
	my $deliver = sub {
		my ($i) = @_;
		my $t0 = time;
		open my $p, '|-', $pm, '-p', '-m', "$pd/rc" or die "procmail: $!";
		print $p $in[$i - 1];
		close $p;
		return (time - $t0, $?);
	};
	$deliver->($_) for 1 .. 5;
	pipe my $r, my $w or die;
	my $writer = fork // die;
	if (!$writer) {
		close $r;
		for my $i (6 .. $n) {
			my ($t, $st) = $deliver->($i);
			printf {$w} "%d %.3f %d\n", $i, $t, $st;
		}
		POSIX::_exit(0);
	}
	close $w;
	my ($runs, $torn, $failed, $slowest) = (0, 0, 0, 0);
	while (waitpid($writer, POSIX::WNOHANG()) == 0) {
		my (undef, $err, $st, $t) = convert('--maildir', $md, $spool);
		$runs++;
		$failed++, diag("$name: run $runs: exit $st: $err") if $st != 0;
		$slowest = $t if $t > $slowest;
		$torn += grep { !exists $want{$_} } contents($md);
		sleep $gap if $gap;
	}
	my @deliveries = map { [ split ] } <$r>;
	my ($pm_slowest) = sort { $b <=> $a } map { $_->[1] } @deliveries;
	my $pm_failed = grep { $_->[2] != 0 } @deliveries;
	my (undef, $err, $st) = convert('--maildir', $md, $spool);
	my @got = contents($md);
	note(sprintf "%s: %d deliveries, slowest %.2f s; %d conversions meanwhile, slowest %.2f s",
		     $name, scalar @deliveries, $pm_slowest, $runs, $slowest);
	cmp_ok($runs, '>=', 3, "$name: conversions ran while procmail delivered");
	is($failed, 0, "$name: every conversion meanwhile succeeded (no lock timeout)");
	# A stall is a wait for the 30 s lock timeout; a normal wait behind
	# a conversion is a few seconds, up to 11 under ASan on a loaded
	# 2-core machine (with the gap above): 20 s tells the two apart.
	cmp_ok($slowest, '<', $STALL, "$name: no conversion stalled (a deadlock waits the 30 s lock timeout)");
	is($pm_failed, 0, "$name: every procmail delivery succeeded");
	cmp_ok($pm_slowest, '<', $STALL, "$name: no procmail delivery stalled");
	unlike(slurp("$pd/log"), qr/Lock failure|Forcing lock|Kernel-lock/i,
	       "$name: procmail never failed on a lock nor broke one");
	is($torn, 0, "$name: no half message ever in the Maildir");
	is($st, 0, "$name: the re-run afterwards: exit 0");
	is_deeply([ sort { $a <=> $b } map { $want{$_} // 0 } @got ], [ 1 .. $n ],
		  "$name: and every message procmail appended is there once, byte for byte");
	}
}

# ---- a writer that uses flock(2) alone ----
{
	my $fd = "$dir/fl";
	mkdir $fd or die;
	my $spool = "$fd/spool";
	my ($in1, $m1) = message(1, 5);
	my ($in2, $m2) = message(2, 2000);
	spew($spool, "$in1\n");
	my $cut = int(length($in2) / 2);
	pipe my $r, my $w or die;
	my $pid = fork // die;
	if (!$pid) {
		close $r;
		open my $fh, '>>', $spool or die;
		flock($fh, LOCK_EX) or die;
		syswrite $fh, substr($in2, 0, $cut);
		close $w;    # half written
		sleep 4;
		syswrite $fh, substr($in2, $cut) . "\n";
		flock($fh, LOCK_UN);
		POSIX::_exit(0);
	}
	close $w;
	my $ready = <$r>;
	my $t0 = time;
	my (undef, $err, $st) = convert('--maildir', "$fd/md1", '--lock', 'flock',
				       '--lock-timeout', 1, $spool);
	is($st, 1, 'flock held by a writer, --lock flock: exit 1 after the timeout');
	like($err, qr/^ERROR: \Q$spool\E: cannot lock mbox: flock\(2\)-locked by another process for more than 1 s/m,
	     'the ERROR says what holds it');
	is(ncontents("$fd/md1"), 0, 'nothing delivered');
	(undef, $err, $st) = convert('--maildir', "$fd/md2", '--lock', 'dotlock,fcntl', $spool);
	ok(grep({ $_ eq substr($m2, 0, $cut - length("From sender\@example.com Mon Jan  1 12:00:00 2001\n")) }
		contents("$fd/md2")),
	   'without flock the half-written message is read (what flock prevents)');
	my $t;
	(undef, $err, $st, $t) = convert('--maildir', "$fd/md3", '--lock-timeout', 20, $spool);
	waitpid $pid, 0;
	is($st, 0, 'default locks (auto includes flock): waits for the writer, exit 0');
	cmp_ok(time - $t0, '>=', 3.5, 'it waited until the writer let go');
	is_deeply([ sort(contents("$fd/md3")) ], [ sort($m1, $m2) ],
		  'and delivered the whole message, never the half one');
}

# ---- the stale-dotlock rule ----
{
	my $sd = "$dir/st";
	mkdir $sd or die;
	my $spool = "$sd/spool";
	my $lock = "$spool.lock";
	system('cp', 'examples/sample.mbox', $spool) == 0 or die;
	my $dead = fork // die;
	POSIX::_exit(0) unless $dead;
	waitpid $dead, 0;    # a pid no process has here

	my $case = sub {
		my ($what, $content, $age, $broken, @opt) = @_;
		spew($lock, $content);
		system('touch', '-d', "$age seconds ago", $lock) == 0 or die;
		my $md = "$sd/md-" . ($what =~ s/\W+/-/gr);
		my (undef, $err, $st) = convert('--maildir', $md, '--lock-timeout', 1, @opt, $spool);
		if ($broken) {
			is($st, 0, "$what: broken, exit 0") or diag($err);
			ok(!-e $lock, "$what: no lock left");
			is(ncontents($md), 3, "$what: converted");
		} else {
			is($st, 1, "$what: not broken, exit 1");
			like($err, qr/^ERROR: \Q$spool\E: cannot dotlock mbox: \Q$lock\E exists for more than 1 s/m,
			     "$what: the ERROR names the lock");
			is(slurp($lock), $content, "$what: the lock is left as it was");
			is(ncontents($md), 0, "$what: nothing delivered");
		}
		unlink $lock;
	};
	$case->('foreign lock, dead pid, fresh', "$dead\n", 2, 0);
	$case->('foreign lock, dead pid, older than the default 1024 s', "$dead\n", 1100, 1);
	$case->('foreign lock, dead pid, 10 min old (younger than 1024 s)', "$dead\n", 600, 0);
	$case->('foreign lock, dead pid, 10 min old, --lock-stale 300', "$dead\n", 600, 1,
		'--lock-stale', 300);
	$case->('Dovecot-style pid:host lock, dead pid, fresh', "$dead:otherhost\n", 2, 0);
	$case->('foreign lock, pid alive here, old', "1\n", 5000, 0);
	$case->('empty lock (procmail, mail.local), fresh', '', 2, 0);
	$case->("procmail's \"0\" lock, fresh", '0', 2, 0);
	$case->('empty lock, older than the stale age', '', 1100, 1);

	# our own lock, left by a kill -9: the re-run goes ahead at once
	my $ks = "$dir/kill9";
	mkdir $ks or die;
	gen_mbox("$ks/spool", n => 10000);
	my $pid = start({}, '--maildir', "$ks/md", "$ks/spool");
	ok(wait_for(sub { -s "$ks/spool.lock" }, 20), 'kill -9: the run holds its dotlock');
	kill 'KILL', $pid;
	waitpid $pid, 0;
	like(slurp("$ks/spool.lock"), qr/\A$pid m[0-9a-z]{6}\n\z/,
	     'kill -9 leaves our lock behind: "PID mTOKEN\n", 16 bytes at most');
	cmp_ok(length(slurp("$ks/spool.lock")), '<=', 16, 'short enough for procmail to break when old');
	my ($out, $err, $st) = convert('--maildir', "$ks/md", '--lock-timeout', 1, "$ks/spool");
	is($st, 0, 'kill -9: the re-run breaks our own lock at once (fresh, --lock-timeout 1)') or diag($err);
	like($out, qr/10000 messages/, 'and completes the Maildir');
	ok(!-e "$ks/spool.lock", 'and leaves no lock');
}

# ---- signals ----
{
	my $gd = "$dir/sig";
	mkdir $gd or die;
	gen_mbox("$gd/spool", n => 10000);
	my %SIGNO = (INT => POSIX::SIGINT(), TERM => POSIX::SIGTERM(), HUP => POSIX::SIGHUP());
	for my $sig (qw(INT TERM HUP)) {
		my $pid = start({}, '--maildir', "$gd/md-$sig", "$gd/spool");
		my $held = wait_for(sub { -e "$gd/spool.lock" }, 20);
		kill $sig, $pid;
		waitpid $pid, 0;
		my $status = $?;
		ok($held, "SIG$sig: the run held the dotlock");
		ok(WIFSIGNALED($status) && WTERMSIG($status) == $SIGNO{$sig},
		   "SIG$sig: the run ends by the signal, as before");
		ok(!-e "$gd/spool.lock", "SIG$sig: no dotlock left behind");
	}
	my ($out, $err, $st) = convert('--maildir', "$gd/md-INT", '--lock-timeout', 1, "$gd/spool");
	is($st, 0, 'after SIGINT, a re-run goes ahead at once');
	like($out, qr/10000 messages/, 'and completes the Maildir');

	# batch mode: each forked worker removes its own lock
	my $vp = "$gd/vpopmail";
	make_path("$vp/bin", map { "$vp/domains/example.com/$_" } qw(alice bob));
	system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;
	mkdir "$gd/spools" or die;
	system('cp', "$gd/spool", "$gd/spools/$_") == 0 or die for qw(alice bob);
	my $pid = start({ pgrp => 1, vpopmail => $vp }, '--domain', 'example.com',
		     '--dir', "$gd/spools", '--jobs', 2);
	# a lock file is made first and its pid written just after: wait for both
	my $both = wait_for(sub { !grep { slurp("$gd/spools/$_.lock") !~ /^\d+/ } qw(alice bob) }, 30);
	my @workers = map { slurp("$gd/spools/$_.lock") =~ /^(\d+)/ ? $1 : () } qw(alice bob);
	kill 'INT', -$pid;    # ^C: the whole process group
	waitpid $pid, 0;
	ok($both, 'batch --jobs 2: both workers hold a dotlock');
	is(scalar(@workers), 2, 'held by two processes');
	isnt($workers[0] // 0, $workers[1] // 0, 'two different ones');
	ok(wait_for(sub { !grep { alive($_) } @workers }, 10), 'SIGINT ends the workers');
	ok(!-e "$gd/spools/alice.lock" && !-e "$gd/spools/bob.lock",
	   'and each removed its own dotlock');
}

done_testing;
