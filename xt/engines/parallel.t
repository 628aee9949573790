# GNU parallel over ssh (issue 18): two ssh "hosts" on loopback (two
# sshd of Debian's openssh-server on 127.0.0.1, two ports, key-only,
# run as root with a configuration of their own in a temporary
# directory, started and stopped here), each running shards of one job
# list into one shared target tree. A spool of 210 generated mailboxes:
# the 4 shards' merged reports equal one --dir run's, every Maildir is
# exact and the same as that run's, each mailbox was converted once; a
# shard killed mid-way (kill -9) and its retry list run again over both
# hosts ends exact too. As root: make test-engines.
use strict;
use warnings;
use Test::More;
use Cwd qw(getcwd);
use File::Temp qw(tempdir);
use POSIX ();
use lib 'xt/engines', 't/lib';
use MMEngines qw(make_spool make_vpopmail check_tree tree_of m2v report_keys slurp spew wait_for);
use MMRun qw(need);

for ([ 'openssh-server', '/usr/sbin/sshd' ], [ 'openssh-client', 'ssh', 'ssh-keygen' ], [ 'parallel', 'parallel' ]) {
	need(@$_) or BAIL_OUT("$_->[0] is needed");
}
plan skip_all => 'must run as root (sshd, chown)' if $> != 0;

my $top = getcwd();
my $dir = tempdir('mm-parallel-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my $N = 210;
my $spool = "$dir/spool";
my $want = make_spool($spool, $N);
my @users = sort keys %$want;

# the job list, and one --dir run on one machine as the reference
my ($jobs, $err, $st) = m2v({}, '--domain', 'example.com', '--dir', $spool, '--list-jobs');
is($st, 0, '--list-jobs') or diag $err;
spew("$dir/jobs", $jobs);
is(scalar(() = $jobs =~ /\n/g), $N, "$N jobs");
my $ref = make_vpopmail("$dir/vp-ref", @users);
my ($out);
($out, $err, $st) = m2v({ VPOPMAIL => $ref }, '-q', '--domain', 'example.com', '--dir', $spool,
			'--report', "$dir/ref.json");
is($st, 0, 'the single-machine --dir run') or diag $err;
my ($refsum) = (m2v({}, '--merge-reports', "$dir/ref.json"))[0] =~ /^(total: .*)$/m;

# two ssh hosts: sshd on two ports of 127.0.0.1, key-only
mkdir "$dir/ssh", 0700;
system('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', "$dir/ssh/host") == 0 or die;
system('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', "$dir/ssh/client") == 0 or die;
system('cp', "$dir/ssh/client.pub", "$dir/ssh/authorized_keys") == 0 or die;
-d '/run/sshd' or mkdir '/run/sshd', 0755 or die "/run/sshd: $!";
my (@sshd, @ports);
for my $h (1, 2) {
	my $port = 20000 + ($$ * 2 + $h) % 20000;
	spew("$dir/ssh/sshd$h.conf", <<"CONF");
Port $port
ListenAddress 127.0.0.1
HostKey $dir/ssh/host
AuthorizedKeysFile $dir/ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
PidFile $dir/ssh/sshd$h.pid
AcceptEnv LANG LC_*
CONF
	my $pid = fork // die;
	if (!$pid) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', "$dir/ssh/sshd$h.log";
		open STDERR, '>&', \*STDOUT;
		exec '/usr/sbin/sshd', '-D', '-e', '-f', "$dir/ssh/sshd$h.conf" or POSIX::_exit(127);
	}
	push @sshd, $pid;
	push @ports, $port;
}
END { kill 'TERM', @sshd if @sshd; waitpid $_, 0 for @sshd }
my @ssh = map { "ssh -p $_ -i $dir/ssh/client -o BatchMode=yes -o StrictHostKeyChecking=no "
		. "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR" } @ports;
for my $h (0, 1) {
	my $ok = wait_for(10, sub { system("$ssh[$h] root\@127.0.0.1 true 2>/dev/null") == 0 });
	ok($ok, "ssh host " . ($h + 1) . " (port $ports[$h]) answers, key-only") or diag slurp("$dir/ssh/sshd" . ($h + 1) . '.log');
}
is(system("ssh -p $ports[0] -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
	  . "-o PubkeyAuthentication=no root\@127.0.0.1 true 2>/dev/null") >> 8, 255, 'no login without the key');
my @login = map { ("--sshlogin", "2/$_ root\@127.0.0.1") } @ssh;

# the command each job runs on its host: in this tree, into the shared
# vpopmail tree; its pid in a file, its output in another
sub remote {
	my ($vp, $list, $shard, $tag) = @_;
	return "cd $top && echo \$\$ > $dir/pid.$tag && exec env VPOPMAIL=$vp $^X -Mblib bin/mbox2vpopmail "
	  . "--jobs-file $list --shard $shard --report $dir/$tag.json > $dir/out.$tag 2> $dir/err.$tag";
}

# 1. all four shards, over both hosts
my $vpa = make_vpopmail("$dir/vp-a", @users);
my $cmd = remote($vpa, "$dir/jobs", '{}/4', 'a{}');
system('parallel', '--will-cite', @login, '--joblog', "$dir/joblog-a", $cmd, ':::', 1 .. 4);
is($? >> 8, 0, 'parallel: four shards over two ssh hosts, all exit 0');
my %hosts = map { ((split /\t/)[1] => 1) } grep { !/^Seq/ } split /\n/, slurp("$dir/joblog-a");
is(scalar keys %hosts, 2, 'both hosts ran shards') or diag slurp("$dir/joblog-a");
my @ra = map { "$dir/a$_.json" } 1 .. 4;
my $keys = report_keys(@ra);
is(scalar keys %$keys, $N, 'the shards\' reports hold every mailbox');
is(scalar(grep { $_ != 1 } values %$keys), 0, 'each exactly once');
($out, $err, $st) = m2v({}, '--merge-reports', '--jobs-file', "$dir/jobs", @ra);
is($st, 0, 'merged: exit 0') or diag $out;
my ($sum) = $out =~ /^(total: .*)$/m;
(my $sum0 = $sum) =~ s/ 0 missing,//;
is($sum0, $refsum, 'merged totals equal the single-machine run\'s');
my @bad = check_tree($vpa, $spool, $want);
is_deeply(\@bad, [], 'every mailbox exact (and the verifier agrees)');
is_deeply(tree_of($vpa, @users), tree_of($ref, @users), 'the same files as the single-machine run');

# 2. shard 3 killed mid-way (kill -9 once it finished a mailbox), the
# others complete; the merge finds its mailboxes missing; the retry
# list, sharded over both hosts, completes the tree
my $vpb = make_vpopmail("$dir/vp-b", @users);
my $par = fork // die;
if (!$par) {
	open STDOUT, '>', "$dir/parallel-b.log";
	open STDERR, '>&', \*STDOUT;
	exec 'parallel', '--will-cite', @login, '--joblog', "$dir/joblog-b",
	  remote($vpb, "$dir/jobs", '{}/4', 'b{}'), ':::', 1 .. 4 or POSIX::_exit(127);
}
my $seen = wait_for(120, sub { slurp("$dir/out.b3") =~ /^user\d+\@example.com: .*\n/m });
my $victim = slurp("$dir/pid.b3") =~ /(\d+)/ ? $1 : 0;
ok($seen && $victim && kill('KILL', $victim), 'shard 3 killed after its first mailbox');
waitpid $par, 0;
isnt($? >> 8, 0, 'parallel reports a failed job');
ok(!-e "$dir/b3.json", 'the killed shard wrote no report');
my @rb = map { "$dir/b$_.json" } 1, 2, 4;
($out, $err, $st) = m2v({}, '--merge-reports', '--jobs-file', "$dir/jobs", '--retry-list', "$dir/retry", @rb);
is($st, 1, 'merged without shard 3: exit 1 (missing: a retry fixes it)');
my ($missing) = $out =~ /(\d+) missing/;
my $lines = () = slurp("$dir/retry") =~ /\n/g;
cmp_ok($missing, '>', 0, "$missing mailboxes missing");
is($lines, $missing, 'the retry list holds them');
my ($list3) = m2v({}, '--jobs-file', "$dir/jobs", '--shard', '3/4', '--list-jobs');
my @shard3 = grep { length } split /\n/, $list3;
is_deeply([ sort split /\n/, slurp("$dir/retry") ], [ sort @shard3 ], 'exactly shard 3\'s mailboxes')
  or diag "done by the killed shard: " . slurp("$dir/out.b3");
system('parallel', '--will-cite', @login, remote($vpb, "$dir/retry", '{}/2', 'r{}'), ':::', 1, 2);
is($? >> 8, 0, 'the retry list over both hosts: exit 0');
($out, $err, $st) = m2v({}, '--merge-reports', '--jobs-file', "$dir/jobs", @rb, "$dir/r1.json", "$dir/r2.json");
is($st, 0, 'merged with the retry: exit 0') or diag $out;
like($out, qr/^total: $N mailboxes, 0 failed, 0 missing, /m, 'every mailbox, none failed or missing');
my ($msgs) = $out =~ /, (\d+) messages,/;
my ($refmsgs) = $refsum =~ /, (\d+) messages,/;
is($msgs, $refmsgs, 'merged messages equal the single-machine run\'s');
@bad = check_tree($vpb, $spool, $want);
is_deeply(\@bad, [], 'after the kill and the retry: every mailbox exact');
is_deeply(tree_of($vpb, @users), tree_of($ref, @users), 'the same files as the single-machine run');

done_testing;
