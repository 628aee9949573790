# Safe as root: symlinks are never followed or written through; files
# belong to the Maildir's owner; live spools are locked.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Fcntl qw(:flock F_SETLKW F_WRLCK SEEK_SET);
use lib 't/lib';
use MMMaildir qw(maildir_files slurp);
use MigrateMail qw(mbox_to_maildir);
use MigrateMail::Mbox;

my $dir = tempdir(CLEANUP => 1);
my $victim = "$dir/victim";
sub victim_ok { -d $victim ? !glob("$victim/*") : (-f $victim && slurp($victim) eq "precious\n") }
sub reset_victim {
	system('rm', '-rf', $victim);
	open my $fh, '>', $victim or die;
	print $fh "precious\n";
	close $fh;
}

# The names the sample's messages get, from their identity hashes.
my @names;
{
	my $mbox = MigrateMail::Mbox->new('examples/sample.mbox');
	while (my $m = $mbox->next) {
		push @names, $m->time . '.H' . $m->hash . '.h' unless $m->is_pseudo;
	}
}

reset_victim();
symlink $dir, "$dir/link-md" or die;
my $st = mbox_to_maildir('examples/sample.mbox', "$dir/link-md", host => 'h');
like($st->{error}, qr/Maildir \Q$dir\E\/link-md is a symlink or not a directory: refused/,
     'a Maildir that is a symlink is refused');

for my $sub (qw(tmp new cur)) {
	my $m = "$dir/md-$sub";
	mkdir $m;
	mkdir "$m/$_" for grep { $_ ne $sub } qw(tmp new cur);
	system('rm', '-rf', $victim);
	mkdir $victim;
	symlink $victim, "$m/$sub" or die;
	$st = mbox_to_maildir('examples/sample.mbox', $m, host => 'h');
	like($st->{error}, qr/$sub is a symlink or not a directory: refused/, "$sub/ as a symlink is refused");
	ok(victim_ok(), "nothing written through $sub/");
}

# A symlink planted in tmp/ under the exact name the next message gets.
reset_victim();
my $m = "$dir/md-plant-tmp";
mkdir $m;
mkdir "$m/$_" for qw(tmp new cur);
symlink $victim, "$m/tmp/$names[0]" or die;
$st = mbox_to_maildir('examples/sample.mbox', $m, host => 'h', lock => 'none', uidl_names => 0);
# our clean-up removes a leftover of ours first; plant it again later
ok(victim_ok(), 'a symlink named like a leftover is removed, never followed');
is($st->{delivered}, 3, 'and delivery goes on');

# A symlink planted in new/ under the final name (size known): refused.
reset_victim();
$m = "$dir/md-plant-new";
mkdir $m;
mkdir "$m/$_" for qw(tmp new cur);
my $dave = (grep { /^1004115901/ } @names)[0];
symlink $victim, "$m/new/$dave,S=194" or die;
$st = mbox_to_maildir('examples/sample.mbox', $m, host => 'h', lock => 'none', uidl_names => 0);
ok(victim_ok(), 'nothing written through a symlink planted in new/');
is($st->{delivered}, 2, 'the other messages are delivered');
is($st->{failed}, 1, 'that one is reported failed');
like($st->{errors}[0]{message}, qr/^ERROR: examples\/sample.mbox: message 4, offset 1137: cannot move tmp\/\S+ to new\/: File exists/,
     'with a clear ERROR');
is_deeply((maildir_files($m))[1], [], 'and nothing is left in tmp/');

# maildirsize as a symlink is not written through.
reset_victim();
$m = "$dir/md-quota-link";
mkdir $m;
symlink $victim, "$m/maildirsize" or die;
$st = mbox_to_maildir('examples/sample.mbox', $m, host => 'h', lock => 'none');
ok(victim_ok(), 'maildirsize symlink not written through');
is($st->{error}, undef, 'not a reason to stop');
is($st->{delivered}, 3, 'messages delivered');
like(join("\n", map { $_->{message} } @{ $st->{errors} }),
     qr/^ERROR: examples\/sample.mbox: cannot update maildirsize: Too many levels of symbolic links$/m,
     'but reported as an ERROR');

SKIP: {
	skip 'ownership and permissions need root (CI runs as root)', 6 if $> != 0;
	# Files belong to the Maildir's owner.
	$m = "$dir/md-owned";
	mkdir $m;
	chown 1234, 2345, $m or die;
	$st = mbox_to_maildir('examples/sample.mbox', $m, host => 'h');
	my ($files) = maildir_files($m);
	is_deeply([ sort keys %{ { map { ("$_->{uid}:$_->{gid}" => 1) } values %$files } } ],
		  ['1234:2345'], "root: files belong to the Maildir's owner");
	is(join(',', map { (stat "$m/$_")[4] } qw(tmp new cur)), '1234,1234,1234', 'and so do tmp/ new/ cur/');
	$m = "$dir/parent-owned";
	mkdir $m;
	chown 1234, 2345, $m or die;
	$st = mbox_to_maildir('examples/sample.mbox', "$m/Maildir", uid => 4321, gid => 5432);
	($files) = maildir_files("$m/Maildir");
	is((values %$files)[0]{uid}, 4321, 'uid option wins');

	# Permission denied, as an unprivileged user.
	$m = "$dir/md-root-only";
	mkdir $m, 0700;
	my $pid = open my $kid, '-|' // die;
	if (!$pid) {
		POSIX::setgid(65534);
		POSIX::setuid(65534);
		my $s = mbox_to_maildir('examples/sample.mbox', $m, lock => 'none');
		print $s->{error} // 'no error';
		exit 0;
	}
	my $out = do { local $/; <$kid> };
	close $kid;
	like($out, qr/^ERROR: examples\/sample.mbox: cannot open Maildir \Q$m\E: Permission denied/,
	     'permission denied: clear ERROR');

	# A read-only file system.
	my $ro = "$dir/ro";
	mkdir $ro;
	mkdir "$ro/Maildir";
	system('mount', '-t', 'tmpfs', '-o', 'size=1m,ro', 'tmpfs', "$ro/Maildir") == 0
	  or BAIL_OUT('cannot mount a tmpfs (the tests need root with mount rights)');
	$st = mbox_to_maildir('examples/sample.mbox', "$ro/Maildir");
	like($st->{error}, qr/cannot create tmp: Read-only file system/, 'read-only target: clear ERROR');
	system('umount', "$ro/Maildir");

	# fcntl lock held by a delivering MTA: we wait, then give up clearly.
	my $spool = "$dir/spool";
	mkdir $spool;
	system('cp', 'examples/sample.mbox', "$spool/alice") == 0 or die;
	pipe my $r, my $w or die;
	$pid = fork // die;
	if (!$pid) {
		open my $fh, '+<', "$spool/alice" or die;
		my $flock = pack('s s x4 q q i x4', F_WRLCK, SEEK_SET, 0, 0, 0);
		fcntl($fh, F_SETLKW, $flock) or die "lock: $!";
		close $w;
		sleep 10;
		exit 0;
	}
	close $w;
	my $ready = <$r>;    # the child holds the lock now
	$st = mbox_to_maildir("$spool/alice", "$dir/md-locked", lock => 'fcntl', lock_timeout => 1);
	like($st->{error}, qr/^ERROR: \Q$spool\E\/alice: cannot lock mbox: locked by process $pid/,
	     'fcntl lock held by another process: ERROR naming it');
	kill 'TERM', $pid;
	waitpid $pid, 0;
}

# Dotlock: an existing fresh lock blocks, a stale one is removed, ours
# is removed afterwards.
my $spool = "$dir/spool2";
mkdir $spool;
system('cp', 'examples/sample.mbox', "$spool/bob") == 0 or die;
open my $lk, '>', "$spool/bob.lock" or die;
close $lk;
$st = mbox_to_maildir("$spool/bob", "$dir/md-dot", lock => 'dotlock', lock_timeout => 1);
like($st->{error}, qr/cannot dotlock mbox: \Q$spool\E\/bob.lock exists for more than 1 s/, 'fresh dotlock blocks');
utime time - 3600, time - 3600, "$spool/bob.lock";
$st = mbox_to_maildir("$spool/bob", "$dir/md-dot", lock => 'both', lock_timeout => 1);
is($st->{error}, undef, 'stale dotlock removed');
is($st->{delivered}, 3, 'and the spool converted');
ok(!-e "$spool/bob.lock", 'our dotlock removed afterwards');
is(slurp("$spool/bob"), slurp('examples/sample.mbox'), 'the spool file is unchanged');

done_testing;
