# A --sync pass killed (kill -9) at any point, then run again, ends
# exact: the Maildir is what a fresh conversion of the changed mbox
# gives, nothing left in tmp/, the state whole.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);
use lib 't/lib';
use MMRun qw(run_script);
use MMSync qw(msg write_mbox ours state_lines);
use MigrateMail::Sync qw(digest);

my $N = $ENV{MM_KILL_MESSAGES} || 2000;
my $KILLS = $ENV{MM_KILLS} || 10;
my $dir = tempdir(CLEANUP => 1);
my $mbox = "$dir/alice";

write_mbox($mbox, map { msg($_, $_ % 2 ? (status => 'RO') : ()) } 1 .. $N);
my (undef, $err, $rc) = run_script('bin/mbox2vpopmail', '--maildir', "$dir/base", $mbox);
is($rc, 0, "bulk pass of $N") or diag $err;
# a third deleted, the unread read, one in ten flagged, 200 new
write_mbox($mbox, map { msg($_, status => 'RO', $_ % 10 ? () : (xstatus => 'F')) }
	   grep { $_ % 3 } 1 .. $N + 200);
(undef, $err, $rc) = run_script('bin/mbox2vpopmail', '--maildir', "$dir/fresh", $mbox);
is($rc, 0, 'the fresh conversion');
my $want = ours("$dir/fresh");

sub copy_base {
	my ($to) = @_;
	system('rm', '-rf', $to);
	system('cp', '-a', "$dir/base", $to) == 0 or die;
}

sub sync_cmd {
	my ($md) = @_;
	return ($^X, '-Mblib', 'bin/mbox2vpopmail', '-q', '--sync', '--maildir', $md, $mbox);
}

copy_base("$dir/whole");
my $t0 = time;
system(sync_cmd("$dir/whole")) == 0 or die 'sync';
my $took = time - $t0;
is_deeply(ours("$dir/whole"), $want, 'an uninterrupted sync pass: exact');

srand(15);
my $killed = 0;
for my $i (1 .. $KILLS) {
	my $md = "$dir/k$i";
	copy_base($md);
	# a second kill in some rounds: a killed pass killed again
	for my $round (1 .. ($i % 3 ? 1 : 2)) {
		my $pid = fork // die;
		if (!$pid) {
			open STDOUT, '>', '/dev/null';
			open STDERR, '>', '/dev/null';
			exec sync_cmd($md) or die;
		}
		sleep(rand($took * 1.1));
		$killed++ if kill 'KILL', $pid;
		waitpid $pid, 0;
	}
	system(sync_cmd($md)) == 0 or diag "round $i: the re-run failed";
	my $got = ours($md);
	is_deeply($got, $want, "kill round $i, then a re-run: exact");
	opendir my $t, "$md/tmp" or die;
	is_deeply([ grep { !/^\./ } readdir $t ], [], "round $i: tmp/ empty");
	is(scalar(state_lines($md)), 1 + scalar(keys %$want), "round $i: the state lists every message");
	# and the digest of each file's bytes (computed as they were
	# delivered, or read back for a file a killed pass left unlisted)
	my %dig = map { (s{^(?:new|cur)/}{}r =~ s/:2,.*//r => substr(digest($got->{$_}), 5)) } keys %$got;
	my %rec = map { ((split / /)[5] => (split / /)[2]) } grep { !/^source / } state_lines($md);
	is_deeply(\%rec, \%dig, "round $i: with the digest of each file");
	system('rm', '-rf', $md);
}
cmp_ok($killed, '>', 0, "killed $killed times");
done_testing;
