# GNU parallel over ssh (issue 18): two ssh "hosts" on loopback (two
# sshd of Debian's openssh-server on 127.0.0.1, two ports, key-only,
# run as root with a configuration of their own in a temporary
# directory, started and stopped here), each running shards of one job
# list into one shared target tree. A spool of 210 generated mailboxes:
# the 4 shards' merged reports equal one --dir run's, every Maildir is
# exact and the same as that run's, each mailbox was converted once; a
# shard killed mid-way (kill -9) and its retry list run again over both
# hosts ends exact too, and the merge of all the reports then gives the
# single run's total line, to the byte. sshd runs with UsePAM yes, host
# 2 with root's password locked ('!') in a mount namespace of its own:
# a key still logs in. As root: make test-engines.
use strict;
use warnings;
use Test::More;
use Cwd qw(getcwd);
use POSIX ();
use lib 'xt/engines', 't/lib';
use MMEngines qw(fixture make_vpopmail check_pass check_killed check_retry slurp spew wait_for);
use MMRun qw(need);

for ([ 'openssh-server', '/usr/sbin/sshd' ], [ 'openssh-client', 'ssh', 'ssh-keygen' ], [ 'parallel', 'parallel' ]) {
	need(@$_) or BAIL_OUT("$_->[0] is needed");
}
plan skip_all => 'must run as root (sshd, chown)' if $> != 0;

my $top = getcwd();
my $N = 210;
my $fx = fixture('parallel', $N);
my ($dir, @users) = ($fx->{dir}, @{ $fx->{users} });

# two ssh hosts: sshd on two ports of 127.0.0.1, key-only
mkdir "$dir/ssh", 0700;
system('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', "$dir/ssh/host") == 0 or die;
system('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', "$dir/ssh/client") == 0 or die;
system('cp', "$dir/ssh/client.pub", "$dir/ssh/authorized_keys") == 0 or die;
-d '/run/sshd' or mkdir '/run/sshd', 0755 or die "/run/sshd: $!";
# UsePAM yes: without PAM, sshd refuses an account whose password is
# locked ('!', as root's is on many machines) even to a key; Debian's
# PAM stack for sshd does not. Host 2 proves it where this machine
# allows a mount namespace: there root's shadow line is locked (a
# shadow of that one line bound over /etc/shadow in the namespace
# only; the machine's is not touched).
my $locked = system('unshare -m true 2>/dev/null') == 0;
spew("$dir/ssh/shadow", "root:!:20000:0:99999:7:::\n") if $locked;
chmod 0600, "$dir/ssh/shadow";
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
UsePAM yes
StrictModes no
PidFile $dir/ssh/sshd$h.pid
AcceptEnv LANG LC_*
CONF
	my @cmd = ('/usr/sbin/sshd', '-D', '-e', '-f', "$dir/ssh/sshd$h.conf");
	@cmd = ('unshare', '-m', 'sh', '-c', 'mount --bind "$0" /etc/shadow && grep "^root:!:" /etc/shadow >&2 && exec "$@"',
		"$dir/ssh/shadow", @cmd) if $h == 2 && $locked;
	my $pid = fork // die;
	if (!$pid) {
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', "$dir/ssh/sshd$h.log";
		open STDERR, '>&', \*STDOUT;
		exec @cmd or POSIX::_exit(127);
	}
	push @sshd, $pid;
	push @ports, $port;
}
END { kill 'TERM', @sshd if @sshd; waitpid $_, 0 for @sshd }
my @ssh = map { "ssh -p $_ -i $dir/ssh/client -o BatchMode=yes -o StrictHostKeyChecking=no "
		. "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR" } @ports;
for my $h (0, 1) {
	my $ok = wait_for(10, sub { system("$ssh[$h] root\@127.0.0.1 true 2>/dev/null") == 0 });
	ok($ok, "ssh host " . ($h + 1) . " (port $ports[$h]) answers, key-only"
	   . ($h == 1 && $locked ? ', root\'s password locked (!) there' : ''))
	  or diag slurp("$dir/ssh/sshd" . ($h + 1) . '.log');
}
diag 'no mount namespace here (unshare -m): host 2 runs with this machine\'s shadow' unless $locked;
like(slurp("$dir/ssh/sshd2.log"), qr/^root:!:/m, 'host 2 saw root locked') if $locked;
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
check_pass($fx, $vpa, map { "$dir/a$_.json" } 1 .. 4);

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
check_killed($fx, 3, 4, @rb);
system('parallel', '--will-cite', @login, remote($vpb, "$dir/retry", '{}/2', 'r{}'), ':::', 1, 2);
is($? >> 8, 0, 'the retry list over both hosts: exit 0');
check_retry($fx, $vpb, @rb, "$dir/r1.json", "$dir/r2.json");

done_testing;
