# Faults: a full disk, a file size limit, a conversion killed with
# SIGKILL. Nothing partial is ever visible and a re-run completes the
# Maildir with no duplicate.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);
use lib 't/lib';
use MMGen qw(gen_mbox);
use MMMaildir qw(maildir_files);
use MigrateMail qw(mbox_to_maildir verify_maildir);

my $dir = tempdir(CLEANUP => 1);

# Every file in new/ and cur/ complete, tmp/ empty, no duplicate.
sub check_consistent {
	my ($src, $md, $total, $what) = @_;
	my $v = verify_maildir($src, $md);
	my ($files, $tmp) = maildir_files($md);
	is($v->{mismatched}, 0, "$what: no partial or wrong file visible");
	is($v->{verified} + $v->{missing}, $total, "$what: every message accounted for");
	is(scalar keys %$files, $v->{verified}, "$what: no duplicate");
	is_deeply($tmp, [], "$what: nothing left in tmp/");
	return $v;
}

SKIP: {
	skip 'a small file system needs root (CI runs as root)', 20 if $> != 0;
	my @want = gen_mbox("$dir/full.mbox", n => 400);    # about 240 KB
	my $mnt = "$dir/small";
	mkdir $mnt;
	system('mount', '-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', $mnt) == 0
	  or BAIL_OUT('cannot mount a tmpfs (the tests need root with mount rights)');
	for my $mode (qw(batch each)) {
		my $md = "$mnt/Maildir-$mode";
		my $st = mbox_to_maildir("$dir/full.mbox", $md, fsync => $mode);
		like($st->{error}, qr/^ERROR: \Q$dir\E\/full.mbox: message \d+, offset \d+: cannot (?:write|sync) tmp\/\S+: No space left on device$/,
		     "disk full ($mode): ERROR naming message, offset and cause");
		check_consistent("$dir/full.mbox", $md, 400, "disk full ($mode)");
		system('rm', '-rf', $md);
	}
	my $cli = `'$^X' -Mblib bin/mbox2vpopmail --maildir '$mnt/Maildir-cli' '$dir/full.mbox' 2>&1`;
	is($? >> 8, 1, 'disk full: mbox2vpopmail exits 1');
	is(scalar(() = $cli =~ /^ERROR: .*No space left on device$/mg), 1, 'with exactly one ERROR line for it');
	like($cli, qr/, FAILED$/m, 'and its summary says FAILED');
	system('rm', '-rf', "$mnt/Maildir-cli");
	my $md = "$mnt/Maildir";
	my $st = mbox_to_maildir("$dir/full.mbox", $md);
	my $first = $st->{delivered};
	system('mount', '-o', 'remount,size=4m', $mnt) == 0 or die 'remount';
	$st = mbox_to_maildir("$dir/full.mbox", $md);
	is($st->{error}, undef, 'after freeing space: no error');
	is($first + $st->{delivered}, 400, 'the re-run delivers exactly the rest');
	my $v = check_consistent("$dir/full.mbox", $md, 400, 'after the re-run');
	is($v->{verified}, 400, 'all 400 there');
	system('umount', $mnt);
}

# A file size limit (RLIMIT_FSIZE) only stops the one big message.
{
	gen_mbox("$dir/big.mbox", n => 50, big => 300_000);
	my $md = "$dir/fsize";
	my $code = q{
		use MigrateMail qw(mbox_to_maildir);
		my $st = mbox_to_maildir($ARGV[0], $ARGV[1]);
		print join("\n", map { $_->{message} } @{ $st->{errors} }), "\n";
		print "delivered=$st->{delivered} failed=$st->{failed}\n";
	};
	my $out = `ulimit -f 100; '$^X' -Mblib -e '$code' '$dir/big.mbox' '$md' 2>&1`;
	like($out, qr/^ERROR: \Q$dir\E\/big.mbox: message 25, offset \d+: cannot write tmp\/\S+: File too large$/m,
	     'file size limit: ERROR for the big message');
	like($out, qr/^delivered=49 failed=1$/m, 'the others are delivered');
	check_consistent("$dir/big.mbox", $md, 50, 'file size limit');
	my $st = mbox_to_maildir("$dir/big.mbox", $md);
	is($st->{delivered}, 1, 'without the limit the re-run delivers it');
	is(verify_maildir("$dir/big.mbox", $md)->{verified}, 50, 'all 50 there');
}

# Killed with SIGKILL at some point, then run again: exact result.
{
	gen_mbox("$dir/kill.mbox", n => 5000);
	for my $delay (0.05, 0.3, 0.8) {
		my $md = "$dir/killed-$delay";
		my $pid = fork // die;
		if (!$pid) {
			mbox_to_maildir("$dir/kill.mbox", $md, fsync => 'batch', batch => 64);
			exit 0;
		}
		sleep $delay;
		kill 'KILL', $pid;
		waitpid $pid, 0;
		my ($files) = (-d "$md/new" ? maildir_files($md) : ({}));
		my $before = scalar keys %$files;
		my $st = mbox_to_maildir("$dir/kill.mbox", $md);
		is($st->{error}, undef, "killed after ${delay}s ($before delivered): re-run without error");
		is($st->{skipped_present} + $st->{delivered}, 5000, "killed after ${delay}s: present + delivered = all");
		my $v = check_consistent("$dir/kill.mbox", $md, 5000, "killed after ${delay}s");
		is($v->{verified}, 5000, "killed after ${delay}s: all 5000 there, byte-exact");
	}
}

done_testing;
