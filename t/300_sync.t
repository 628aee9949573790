# The cut-over experiment: a bulk pass, then the user reads 28 new
# messages and deletes 25 on the old server, flags, answers, marks one
# unread again, new mail arrives, mail reaches the new Maildir by other
# ways, the user changes a message there; the --sync pass leaves the
# Maildir exactly as a fresh conversion of the changed mbox, with the
# same base names, nothing foreign touched, the conflicts reported.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MMSync qw(msg write_mbox ours state_lines);
use MigrateMail qw(verify_maildir);

my $dir = tempdir(CLEANUP => 1);
my ($mbox, $md, $fresh) = ("$dir/alice", "$dir/Maildir", "$dir/Fresh");

# before: 1-32 read (5 flagged, 6 answered), 33-60 unread
my %before = map { $_ => { status => $_ <= 32 ? 'RO' : undef } } 1 .. 60;
$before{5}{xstatus} = 'F';
$before{6}{xstatus} = 'A';
write_mbox($mbox, map { msg($_, %{ $before{$_} }) } 1 .. 60);
my ($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--maildir', $md, $mbox);
is($rc, 0, 'bulk pass') or diag $err;
like($out, qr/^\Q$mbox\E: 60 messages, \d+ bytes, 28 new, 32 cur, 0 skipped, 0 failed, 0 warnings, /,
     'bulk pass: 28 new, 32 cur');
my $pass1 = ours($md);
my @recs = state_lines($md);
is(scalar @recs, 61, 'the state: the source and one line per message');
is($recs[0], "source $mbox", 'under the mbox name');
like($_, qr/^[0-9a-f]{16} \d+ [0-9a-f]{16} (?:new|cur:2,[A-Z]*) (?:new|cur:2,[A-Z]*) [^ :\/]+$/,
     'a record line, with the digest of the delivered bytes') for @recs[1 .. 3];
is(scalar(grep { / new new / } @recs), 28, 'the unread ones recorded as in new/');
is((stat "$md/migratemail-state")[2] & 07777, 0600, 'the state file is mode 0600');

# on the old server: 33-60 read, 8-32 deleted (25), 2 flagged, 3
# answered, 4 back to unread (O), 7 back to new (no Status); 61-63 arrive
my %after = %before;
$after{$_} = { status => 'RO' } for 33 .. 60;
$after{2} = { status => 'RO', xstatus => 'F' };
$after{3} = { status => 'RO', xstatus => 'A' };
$after{4} = { status => 'O' };
$after{7} = {};
$after{$_} = {} for 61 .. 63;
my @ids = (1 .. 7, 33 .. 63);
write_mbox($mbox, map { msg($_, %{ $after{$_} }) } @ids);

# on the new server: mail by other ways, and the user at work
spew("$md/new/1700000000.M1P2.newhost,S=6", "hello\n");
spew("$md/cur/1700000001.M2P3.newhost:2,S", "read\n");
my @foreign = ("new/1700000000.M1P2.newhost,S=6", "cur/1700000001.M2P3.newhost:2,S");
my %finode = map { $_ => (stat "$md/$_")[1] } @foreign;
my ($f1) = grep { $pass1->{$_} =~ /^Subject: message 1\n/m } keys %$pass1;
my ($f33) = grep { $pass1->{$_} =~ /^Subject: message 33\n/m } keys %$pass1;
my ($f40) = grep { $pass1->{$_} =~ /^Subject: message 40\n/m } keys %$pass1;
(my $f1_new = $f1) =~ s/:2,S$/:2,FS/;
rename "$md/$f1", "$md/$f1_new" or die;          # flagged there: a conflict
(my $f33_new = $f33) =~ s{^new/(.*)}{cur/$1:2,S};
rename "$md/$f33", "$md/$f33_new" or die;        # read on both: agrees
unlink "$md/$f40" or die;                        # deleted there: a conflict
my %inode = map { my $f = $_; $f => (stat "$md/$f")[1] } grep { -e "$md/$_" } keys %$pass1;

# a pass without --sync only adds (on a copy)
system('cp', '-a', $md, "$md.plain") == 0 or die;
($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--maildir', "$md.plain", $mbox);
is($rc, 0, 'a pass without --sync');
like($out, qr/: 38 messages, \d+ bytes, 3 new, 1 cur, 34 skipped, 0 failed,/,
     'adds only the 3 new ones and message 40 (deleted on the new server)');
is(scalar(grep { !/newhost/ } keys %{ ours("$md.plain") }), 60 + 3, 'nothing removed without --sync');
is(scalar(grep { $pass1->{$_} } keys %{ ours("$md.plain") }), 60 - 3, 'nothing re-flagged (1, 33, 40 were changed by hand)');

($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--sync', '--maildir', $md, $mbox);
is($rc, 0, 'the --sync pass') or diag $err;
like($out, qr/^\Q$mbox\E: 38 messages, \d+ bytes, 3 new, 0 cur, 4 skipped, 30 re-flagged, 25 removed, 2 conflicts, 0 failed, 0 warnings, /,
     'sync: 3 added, 30 re-flagged, 25 removed, 2 conflicts');
my @w = sort split /\n/, $err;
is(scalar @w, 2, 'two WARNING lines') or diag $err;
like($w[0], qr/^WARNING: \Q$mbox\E: message 1, offset 0: \Q$f1_new\E: flags changed in the Maildir since the last pass \(from cur:2,S to cur:2,FS\), the mbox has cur:2,S: the new server's change wins \(kept\)$/,
     'the flag conflict, with the flags of each side');
like($w[1], qr/^WARNING: \Q$mbox\E: message 15, offset \d+: deleted in the Maildir since the last pass, not delivered again: the new server's change wins \(kept\)$/,
     'the deletion on the new server');

# what a fresh conversion of the changed mbox gives
($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--maildir', $fresh, $mbox);
is($rc, 0, 'a fresh conversion');
my $want = ours($fresh);
my ($w1) = grep { $want->{$_} =~ /^Subject: message 1\n/m } keys %$want;
my ($w40) = grep { $want->{$_} =~ /^Subject: message 40\n/m } keys %$want;
$want->{$f1_new} = delete $want->{$w1};
delete $want->{$w40};
my $got = ours($md, qr/newhost/);
is_deeply([ sort keys %$got ], [ sort keys %$want ], 'the same names as a fresh conversion (the two conflicts aside)');
is_deeply($got, $want, 'and the same bytes');
my %base1 = map { s{^(?:new|cur)/}{}r =~ s/:2,.*//r => 1 } keys %$pass1;
is(scalar(grep { !$base1{ s{^(?:new|cur)/}{}r =~ s/:2,.*//r } } keys %$got), 3,
   'every survivor keeps its base name (only the 3 new ones are new)');
my @rewritten = grep {
	my $f = $_;
	my ($old) = grep { (s/:2,.*//r =~ s{^(?:new|cur)/}{}r) eq ($f =~ s/:2,.*//r =~ s{^(?:new|cur)/}{}r) } keys %inode;
	$old && (stat "$md/$f")[1] != $inode{$old};
} keys %$got;
is_deeply(\@rewritten, [], 'renamed, never rewritten (same inodes)');
for my $f (@foreign) {
	ok(-e "$md/$f", "foreign $f untouched");
	is((stat "$md/$f")[1], $finode{$f}, "foreign $f: same inode");
}
is(slurp("$md/$foreign[0]"), "hello\n", 'foreign bytes kept');
@recs = state_lines($md);
is(scalar @recs, 1 + 38, 'the state lists the 38 messages of the mbox');
is(scalar(grep { / cur:2,S - [^ ]+$/ } @recs), 1, 'message 40 recorded as deleted on the new server');

# a third pass changes nothing and reports nothing again
my $before3 = ours($md);
my @st_ino = (stat "$md/migratemail-state")[1, 9];
my $st_text = slurp("$md/migratemail-state");
($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--sync', '--maildir', $md, $mbox);
is_deeply([ (stat "$md/migratemail-state")[1, 9] ], \@st_ino, 'the state, which would say the same, is not written again');
is(slurp("$md/migratemail-state"), $st_text, 'and says the same');
like($out, qr/: 38 messages, 0 bytes, 0 new, 0 cur, 37 skipped, 0 re-flagged, 0 removed, 0 conflicts, 0 failed,/,
     'a third pass: nothing to do');
is($err, '', 'and no conflict said twice');
is_deeply(ours($md), $before3, 'the Maildir as it was');

# --verify after a sync pass: message 40, deleted on the new server and
# kept so, is not missing
($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--sync', '--verify', '--maildir', $md, $mbox);
is($rc, 0, '--sync --verify: exit 0') or diag $err;
like($out, qr/ 0 failed, 0 warnings, 37 verified, /, 'the 37 there verified');
is($err, '', 'message 40 not reported missing');
my $v = verify_maildir($mbox, $md);
is_deeply([ @{$v}{qw(verified missing)} ], [ 37, 1 ], 'verify_maildir alone (no sync) finds message 40 missing');
like($v->{errors}[0]{message}, qr/^ERROR: \Q$mbox\E: message 15, offset \d+: missing from the Maildir$/,
     'saying so');

# --sync=source-wins: the mbox's flags and message 40 come back
($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--sync=source-wins', '--maildir', $md, $mbox);
like($out, qr/: 38 messages, \d+ bytes, 0 new, 1 cur, 36 skipped, 1 re-flagged, 0 removed, 0 conflicts, 0 failed,/,
     'source-wins: message 1 re-flagged, message 40 delivered again');
$want = ours($fresh);
is_deeply(ours($md, qr/newhost/), $want, 'now exactly a fresh conversion');

# usage
($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--sync=both', '--maildir', $md, $mbox);
is($rc, 2, 'an unknown --sync mode is a usage error');
like($err, qr/^ERROR: bad --sync 'both'$/m, 'saying so');
done_testing;
