# A Slurm job array (issue 18) on a one-node Slurm started here (Debian's
# slurm-wlm and munge: munged, slurmctld and slurmd on localhost with a
# minimal slurm.conf in a temporary directory, stopped at the end), one
# array task per shard, SLURM_ARRAY_TASK_ID passed with --shard. A spool
# of 210 generated mailboxes: the 4 tasks' merged reports equal one
# --dir run's, every Maildir is exact and the same as that run's, each
# mailbox was converted once; a task cancelled mid-way (scancel) and its
# retry list run as a second array ends exact too, and the merge of all
# the reports then gives the single run's total line, to the byte. As
# root: make test-engines.
use strict;
use warnings;
use Test::More;
use Cwd qw(getcwd);
use POSIX ();
use Sys::Hostname qw(hostname);
use lib 'xt/engines', 't/lib';
use MMEngines qw(fixture make_vpopmail check_pass check_killed check_retry slurp spew wait_for);
use MMRun qw(need);

for ([ 'slurm-wlm', qw(/usr/sbin/slurmctld /usr/sbin/slurmd sbatch squeue scancel sinfo) ],
     [ 'munge', qw(/usr/sbin/munged munge) ]) {
	need(@$_) or BAIL_OUT("$_->[0] is needed");
}
plan skip_all => 'must run as root (slurmd, chown)' if $> != 0;

my $top = getcwd();
my $N = 210;
my $fx = fixture('slurm', $N);
my ($dir, @users) = ($fx->{dir}, @{ $fx->{users} });

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
check_pass($fx, $vpa, map { "$dir/a$_.json" } 1 .. 4);

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
check_killed($fx, 2, 4, @rb);
$id = sbatch(2, 'r', task($vpb, "$dir/retry", 2, 'r'), '--wait');
is($? >> 8, 0, "the retry list as an array of 2 (job $id): exit 0")
  or diag join '', map { slurp("$dir/err.r$_") } 1, 2;
check_retry($fx, $vpb, @rb, "$dir/r1.json", "$dir/r2.json");

done_testing;
