# A Slurm job array (issue 18) on a one-node Slurm started here (Debian's
# slurm-wlm and munge: munged, slurmctld and slurmd on localhost with a
# minimal slurm.conf in a temporary directory, stopped at the end), one
# array task per shard, SLURM_ARRAY_TASK_ID passed with --shard. A spool
# of 210 generated mailboxes: the 4 tasks' merged reports equal one
# --dir run's, every Maildir is exact and the same as that run's, each
# mailbox was converted once; a task cancelled mid-way (scancel) and its
# retry list run as a second array ends exact too. As root: make
# test-engines.
use strict;
use warnings;
use Test::More;
use Cwd qw(getcwd);
use File::Temp qw(tempdir);
use POSIX ();
use Sys::Hostname qw(hostname);
use lib 'xt/engines', 't/lib';
use MMEngines qw(make_spool make_vpopmail check_tree tree_of m2v report_keys slurp spew wait_for);
use MMRun qw(need);

for ([ 'slurm-wlm', qw(/usr/sbin/slurmctld /usr/sbin/slurmd sbatch squeue scancel sinfo) ],
     [ 'munge', qw(/usr/sbin/munged munge) ]) {
	need(@$_) or BAIL_OUT("$_->[0] is needed");
}
plan skip_all => 'must run as root (slurmd, chown)' if $> != 0;

my $top = getcwd();
my $dir = tempdir('mm-slurm-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my $N = 210;
my $spool = "$dir/spool";
my $want = make_spool($spool, $N);
my @users = sort keys %$want;

my ($jobs, $err, $st) = m2v({}, '--domain', 'example.com', '--dir', $spool, '--list-jobs');
is($st, 0, '--list-jobs') or diag $err;
spew("$dir/jobs", $jobs);
my $ref = make_vpopmail("$dir/vp-ref", @users);
my $out;
($out, $err, $st) = m2v({ VPOPMAIL => $ref }, '-q', '--domain', 'example.com', '--dir', $spool,
			'--report', "$dir/ref.json");
is($st, 0, 'the single-machine --dir run') or diag $err;
my ($refsum) = (m2v({}, '--merge-reports', "$dir/ref.json"))[0] =~ /^(total: .*)$/m;

# a one-node Slurm: munged with a key of its own, slurmctld, slurmd
my $s = "$dir/slurm";
mkdir $s or die;
mkdir "$s/$_" or die for qw(state spool);
open my $rnd, '<:raw', '/dev/urandom' or die;
read $rnd, my $key, 1024;
spew("$s/munge.key", $key);
chmod 0400, "$s/munge.key";
(my $host = hostname()) =~ s/\..*//;
my $port = 16000 + $$ % 4000 * 2;
my $cpus = `nproc` + 0 || 1;
spew("$s/slurm.conf", <<"CONF");
ClusterName=mmtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=@{[ $port + 1 ]}
AuthType=auth/munge
AuthInfo=socket=$s/munge.socket
CredType=cred/munge
StateSaveLocation=$s/state
SlurmdSpoolDir=$s/spool
SlurmctldPidFile=$s/slurmctld.pid
SlurmdPidFile=$s/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmctldLogFile=$s/slurmctld.log
SlurmdLogFile=$s/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=mm Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
$ENV{SLURM_CONF} = "$s/slurm.conf";
my @daemons;
sub daemon {
	my ($log, @cmd) = @_;
	my $pid = fork // die;
	if (!$pid) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', $log;
		open STDERR, '>&', \*STDOUT;
		exec @cmd or POSIX::_exit(127);
	}
	unshift @daemons, $pid;
	return $pid;
}
END {
	for my $pid (@daemons) {
		kill 'TERM', $pid;
		waitpid $pid, 0;
	}
}
daemon("$s/munged.out", '/usr/sbin/munged', '-F', '-f', '-S', "$s/munge.socket", "--key-file=$s/munge.key",
       "--log-file=$s/munged.log", "--pid-file=$s/munged.pid", "--seed-file=$s/munged.seed");
ok(wait_for(10, sub { -S "$s/munge.socket" }), 'munged runs') or diag slurp("$s/munged.out");
daemon("$s/slurmctld.out", '/usr/sbin/slurmctld', '-D', '-i', '-f', "$s/slurm.conf");
daemon("$s/slurmd.out", '/usr/sbin/slurmd', '-D', '-f', "$s/slurm.conf");
ok(wait_for(30, sub { `sinfo -h -o %t 2>/dev/null` =~ /^idle/m }), 'the node is idle')
  or diag slurp("$s/slurmctld.log") . slurp("$s/slurmd.log");

# the command of an array task: its shard from SLURM_ARRAY_TASK_ID
sub task {
	my ($vp, $list, $n, $tag) = @_;
	return "cd $top && exec env VPOPMAIL=$vp $^X -Mblib bin/mbox2vpopmail --jobs-file $list "
	  . "--shard \$((SLURM_ARRAY_TASK_ID))/$n --report $dir/$tag\$SLURM_ARRAY_TASK_ID.json";
}
sub sbatch {
	my ($n, $tag, $wrap, @more) = @_;
	my $id = `sbatch --parsable --array=1-$n --output=$dir/out.$tag%a --error=$dir/err.$tag%a @more --wrap='$wrap'`;
	return $id =~ /^(\d+)/ ? $1 : undef;
}
sub gone { return `squeue -h -j $_[0] 2>/dev/null` eq '' }

# 1. four array tasks, one per shard
my $vpa = make_vpopmail("$dir/vp-a", @users);
my $id = sbatch(4, 'a', task($vpa, "$dir/jobs", 4, 'a'), '--wait');
ok($id, "sbatch --array=1-4 --wait: job $id") or diag slurp("$s/slurmctld.log");
is($? >> 8, 0, 'every task exit 0') or diag join '', map { slurp("$dir/err.a$_") } 1 .. 4;
my @ra = map { "$dir/a$_.json" } 1 .. 4;
my $keys = report_keys(@ra);
is(scalar keys %$keys, $N, 'the tasks\' reports hold every mailbox');
is(scalar(grep { $_ != 1 } values %$keys), 0, 'each exactly once');
($out, $err, $st) = m2v({}, '--merge-reports', '--jobs-file', "$dir/jobs", @ra);
is($st, 0, 'merged: exit 0') or diag $out;
my ($sum) = $out =~ /^(total: .*)$/m;
(my $sum0 = $sum // '') =~ s/ 0 missing,//;
is($sum0, $refsum, 'merged totals equal the single-machine run\'s');
my @bad = check_tree($vpa, $spool, $want);
is_deeply(\@bad, [], 'every mailbox exact (and the verifier agrees)');
is_deeply(tree_of($vpa, @users), tree_of($ref, @users), 'the same files as the single-machine run');

# 2. task 2 cancelled once it finished a mailbox; the retry list as a
# second array of two tasks
my $vpb = make_vpopmail("$dir/vp-b", @users);
$id = sbatch(4, 'b', task($vpb, "$dir/jobs", 4, 'b'));
ok($id, "sbatch --array=1-4: job $id");
my $seen = wait_for(120, sub { slurp("$dir/out.b2") =~ /^user\d+\@example.com: .*\n/m });
ok($seen && !-e "$dir/b2.json", 'task 2 is mid-way');
system('scancel', "${id}_2");
is($? >> 8, 0, "scancel ${id}_2");
ok(wait_for(120, sub { gone($id) }), 'the array is over');
ok(!-e "$dir/b2.json", 'the cancelled task wrote no report');
my @rb = map { "$dir/b$_.json" } 1, 3, 4;
($out, $err, $st) = m2v({}, '--merge-reports', '--jobs-file', "$dir/jobs", '--retry-list', "$dir/retry", @rb);
is($st, 1, 'merged without task 2: exit 1 (missing: a retry fixes it)');
my ($missing) = $out =~ /(\d+) missing/;
cmp_ok($missing // 0, '>', 0, ($missing // 0) . ' mailboxes missing');
my ($list2) = m2v({}, '--jobs-file', "$dir/jobs", '--shard', '2/4', '--list-jobs');
is_deeply([ sort split /\n/, slurp("$dir/retry") ], [ sort split /\n/, $list2 ], 'the retry list: task 2\'s mailboxes');
$id = sbatch(2, 'r', task($vpb, "$dir/retry", 2, 'r'), '--wait');
is($? >> 8, 0, "the retry list as an array of 2 (job $id): exit 0")
  or diag join '', map { slurp("$dir/err.r$_") } 1, 2;
($out, $err, $st) = m2v({}, '--merge-reports', '--jobs-file', "$dir/jobs", @rb, "$dir/r1.json", "$dir/r2.json");
is($st, 0, 'merged with the retry: exit 0') or diag $out;
like($out, qr/^total: $N mailboxes, 0 failed, 0 missing, /m, 'every mailbox, none failed or missing');
my ($msgs) = $out =~ /, (\d+) messages,/;
my ($refmsgs) = $refsum =~ /, (\d+) messages,/;
is($msgs, $refmsgs, 'merged messages equal the single-machine run\'s');
@bad = check_tree($vpb, $spool, $want);
is_deeply(\@bad, [], 'after the cancel and the retry: every mailbox exact');
is_deeply(tree_of($vpb, @users), tree_of($ref, @users), 'the same files as the single-machine run');

done_testing;
