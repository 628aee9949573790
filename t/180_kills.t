# Counts and lists that survive kills: 30 random kill -9's of
# mbox2vpopmail during a conversion into a Maildir with a maildirsize,
# from an mbox with X-IMAPbase/X-UID headers, then one complete run.
# After every kill maildirsize is never below what the Maildir holds, a
# UID list, if there is one, is whole, every file in new/ and cur/ is
# whole (its bytes are the message its name says, of the size it
# promises), and tmp/ holds no file with a name (messages are O_TMPFILEs
# there until they are linked into new/ or cur/); after the complete run
# maildirsize is exactly what vpopmail's recount finds, the UID lists
# hold every message with its X-UID, and tmp/ is empty. In single mode
# (--maildir) and in batch mode (--dir with --jobs 2, through the
# vuserinfo stand-in); and in single mode with MIGRATEMAIL_NO_TMPFILE=1,
# the named files in tmp/ of file systems without O_TMPFILE (a kill
# leaves some, which the next run removes).
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);
use POSIX qw(WNOHANG);
use lib 't/lib';
use MMGen qw(gen_mbox);
use MMMaildir qw(slurp quota_usage maildirsize_sum);

my $N = $ENV{MM_KILL_MESSAGES} || 4000;
my $KILLS = $ENV{MM_KILLS} || 30;
my $QUOTA = "10000000S,1000C";
my $dir = tempdir(CLEANUP => 1);
# the default locks: our dotlock appears with its pid in it (O_TMPFILE,
# then a link), so a kill at any point leaves none that holds the next
# run up, and fcntl and flock locks go with the process
my @LOCK = ();

# The generated corpus with X-IMAPbase in the first message and an X-UID
# in each (the body's From_ lines are quoted, so every unquoted one is a
# separator).
my @want = gen_mbox("$dir/gen.mbox", n => $N);
{
	open my $in, '<:raw', "$dir/gen.mbox" or die;
	open my $out, '>:raw', "$dir/uids.mbox" or die;
	my $uid = 0;
	while (<$in>) {
		print $out $_;
		next unless /^From /;
		$uid++;
		print $out "X-IMAPbase: 1003923649 $N\n" if $uid == 1;
		print $out "X-UID: $uid\n";
	}
	close $out or die;
	is($uid, $N, "corpus: $N messages with X-UIDs");
}

# What a complete run delivers: "new/NAME" or "cur/NAME" -> its bytes
# (the same for every Maildir of a trial: one mbox).
my %ref;

# Start the script in a process group of its own (batch mode forks jobs).
sub start {
	my (@args) = @_;
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		setpgrp(0, 0);
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$dir/out" or die;
		open STDERR, '>', "$dir/err" or die;
		exec $^X, '-Mblib', 'bin/mbox2vpopmail', @args or die "exec: $!";
	}
	return $pid;
}

# How long a complete run takes, and one that finds everything present
# (start-up and reading the mbox), so that the kills can spread over the
# deliveries: each run is killed after half the start-up and a random
# share of what is left to deliver.
sub timing {
	my ($setup, $mds, @args) = @_;
	my @took;
	for (1, 2) {
		my $t = time;
		waitpid start(@args), 0;
		push @took, time - $t;
	}
	%ref = ();
	for my $sub (qw(new cur)) {
		opendir my $d, "$mds->[0]/$sub" or die "$mds->[0]/$sub: $! (" . slurp("$dir/err") . ")";
		$ref{"$sub/$_"} = slurp("$mds->[0]/$sub/$_") for grep { !/^\./ } readdir $d;
	}
	is(scalar keys %ref, $N, "the complete run delivers $N messages");
	$setup->();
	return @took;
}

# maildirsize and UID lists of one Maildir against its files.
sub lists_whole {
	my ($md, $only_present) = @_;
	return '' if $only_present && !grep { -e "$md/$_" } qw(dovecot-uidlist courierimapuiddb);
	my %files;
	for my $sub (qw(new cur)) {
		opendir my $d, "$md/$sub" or return "no $sub/";
		for (grep { !/^\./ } readdir $d) {
			my ($base) = /^([^:]*)/;
			$files{$base} = "$sub/$_";
		}
	}
	my @bad;
	for ([ 'dovecot-uidlist', qr/^3 V1003923649 N(\d+)$/, qr/^(\d+) (?:P\S+ )?:(\S+)$/ ],
	     [ 'courierimapuiddb', qr/^1 1003923649 (\d+)$/, qr/^(\d+) (\S+)$/ ]) {
		my ($file, $head, $line) = @$_;
		next if $only_present && !-e "$md/$file";
		my @l = split /\n/, slurp("$md/$file");
		my ($next) = (shift(@l) // '') =~ $head or do { push @bad, "$file: header"; next };
		push @bad, "$file: next UID $next" if $next != $N + 1;
		my %seen;
		for (@l) {
			my ($uid, $base) = /$line/ or do { push @bad, "$file: line '$_'"; next };
			$seen{$uid}++;
			my $f = $files{$base} or do { push @bad, "$file: $base not in the Maildir"; next };
			my $j = $uid % 50 == 0 ? $uid - 1 : $uid; # MMGen's copies
			push @bad, "$file: UID $uid is not message $j"
			  unless slurp("$md/$f") =~ /^Subject: message $j$/m;
		}
		my @missing = grep { !$seen{$_} } 1 .. $N;
		push @bad, "$file: " . @missing . " UIDs missing" if @missing;
		push @bad, "$file: " . (@l - keys %seen) . " UIDs twice" if @l != keys %seen;
	}
	return @bad ? join('; ', @bad) : '';
}

# Files in new/ and cur/ that are not what a complete run delivers under
# that name, and names left in tmp/.
sub half_written {
	my ($md) = @_;
	my ($bad, $tmp) = (0, 0);
	for my $sub (qw(new cur)) {
		opendir my $d, "$md/$sub" or next;
		for my $f (grep { !/^\./ } readdir $d) {
			my $want = $ref{"$sub/$f"};
			$bad++ if !defined $want || slurp("$md/$sub/$f") ne $want;
		}
	}
	opendir my $d, "$md/tmp" or return ($bad, 0);
	$tmp = grep { !/^\./ } readdir $d;
	return ($bad, $tmp);
}

sub delivered {
	my $n = 0;
	for my $md (@_) {
		for my $sub (qw(new cur)) {
			opendir my $d, "$md/$sub" or next;
			$n += grep { !/^\./ } readdir $d;
		}
	}
	return $n;
}

sub trial {
	my ($mode, $named, $setup, $mds, @args) = @_;
	# 0: O_TMPFILE wherever it works, not only where it is faster
	local $ENV{MIGRATEMAIL_NO_TMPFILE} = $named ? 1 : 0;
	$setup->();
	my ($full, $idle) = timing($setup, $mds, @args);
	my $work = $full > $idle ? $full - $idle : 0.1;
	my ($landed, $low, $high, $holes, $lowest, $half, $in_tmp) = (0, 0, 0, 0, 0, 0, 0);
	for my $k (1 .. $KILLS) {
		# a random share of what is left, so that the kills spread over
		# the whole conversion whatever the machine's speed today
		my $left = 1 - delivered(@$mds) / ($N * @$mds);
		my $pid = start(@args);
		sleep(0.5 * $idle + rand(2 * $work * $left / ($KILLS - $k + 1)));
		my $alive = waitpid($pid, WNOHANG) == 0;
		kill 'KILL', -$pid;
		waitpid $pid, 0;
		$landed++ if $alive;
		for my $md (@$mds) {
			my ($bytes, $count) = maildirsize_sum($md);
			my ($ub, $uc) = quota_usage($md);
			if ($count < $uc || $bytes < $ub) {
				$low++;
				$lowest = $uc - $count if $uc - $count > $lowest;
			}
			$high++ if $count > $uc;
			my ($bad, $tmp) = half_written($md);
			$half += $bad;
			$in_tmp++ if $tmp;
			my $why = lists_whole($md, 1);
			if ($why ne '') {
				diag "$mode: after kill $k: $why" unless $holes;
				$holes++;
			}
		}
	}
	diag sprintf "%s: %d kills, %d mid-run (a complete run takes %.2f s, %.2f s with "
	  . "nothing to do); maildirsize low %d times (by up to %d messages), high %d times "
	  . "(mended by the next run), UID lists with holes %d times, files left in tmp/ %d times",
	  $mode, $KILLS, $landed, $full, $idle, $low, $lowest, $high, $holes, $in_tmp;
	cmp_ok($landed, '>=', $KILLS / 3, "$mode: most kills land mid-run");
	is($low, 0, "$mode: after no kill is maildirsize below the Maildir"
	   . ($low ? " (by up to $lowest messages)" : ''));
	is($holes, 0, "$mode: no UID list with holes after any kill");
	is($half, 0, "$mode: nothing half-written visible after any kill");
	if ($named) {
		# killed between create and rename: the next open removes them
		# (what the test would see if O_TMPFILEs left anything)
		SKIP: {
			skip "$mode: only $landed kills mid-run", 1 if $landed < 5;
			cmp_ok($in_tmp, '>', 0, "$mode: some kills left named files in tmp/");
		}
	} else {
		is($in_tmp, 0, "$mode: no kill left a file in tmp/");
	}

	# the complete run
	waitpid(start(@args), 0);
	is($? >> 8, 0, "$mode: the final run succeeds") or diag slurp("$dir/err");
	for my $md (@$mds) {
		my ($bytes, $count, $def) = maildirsize_sum($md);
		my ($ub, $uc) = quota_usage($md);
		my $files = 0;
		for my $sub (qw(new cur)) {
			opendir my $d, "$md/$sub" or die;
			$files += grep { !/^\./ } readdir $d;
		}
		is($files, $N, "$mode: every message delivered once");
		my $deleted = grep { $_->{flags} =~ /T/ } @want;
		is($uc, $N - $deleted, "$mode: the recount leaves out the T-flagged");
		is($count, $uc, "$mode: maildirsize counts what the Maildir holds");
		is($bytes, $ub, "$mode: maildirsize sums the S= sizes");
		is($def, $QUOTA, "$mode: the quota line is kept");
		is(lists_whole($md), '', "$mode: the UID lists hold every message with its X-UID");
		is_deeply([ half_written($md) ], [ 0, 0 ], "$mode: every file whole, tmp/ empty");
	}
}

# Single mode.
my $single = "$dir/single";
my $single_setup = sub {
	system('rm', '-rf', $single);
	mkdir $single or die;
	open my $q, '>', "$single/maildirsize" or die;
	print $q "$QUOTA\n0 0\n";
	close $q;
};
trial('single', 0, $single_setup, [ $single ], @LOCK, '--maildir', $single, "$dir/uids.mbox");
trial('single, MIGRATEMAIL_NO_TMPFILE=1', 1, $single_setup, [ $single ], @LOCK, '--maildir', $single,
      "$dir/uids.mbox");

# Batch mode: two mailboxes, two jobs.
my $vp = "$dir/vpopmail";
my $spool = "$dir/spool";
make_path("$vp/bin", $spool);
system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;
system('cp', "$dir/uids.mbox", "$spool/$_") == 0 || die for qw(alice bob);
my @mds = map { "$vp/domains/example.com/$_/Maildir" } qw(alice bob);
$ENV{VPOPMAIL} = $vp;
trial('batch', 0, sub {
	system('rm', '-rf', "$vp/domains");
	for (@mds) {
		make_path($_);
		open my $q, '>', "$_/maildirsize" or die;
		print $q "$QUOTA\n0 0\n";
		close $q;
	}
}, \@mds, @LOCK, '--domain', 'example.com', '--dir', $spool, '--jobs', 2);

done_testing;
