# A --sync pass removes only what it may: nothing when the mbox is cut
# short or cannot be read, nothing of another source, nothing through a
# state file that is not ours.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MMSync qw(msg mbox_text write_mbox ours state_lines);
use MMMaildir qw(quota_usage maildirsize_sum);

my $dir = tempdir(CLEANUP => 1);

sub mm {
	my (@args) = @_;
	return run_script('bin/mbox2vpopmail', @args);
}

# a mbox of 10, converted; then only the first 5, cut short
my $full = mbox_text(map { msg($_, status => 'RO') } 1 .. 10);
my $mbox = spew("$dir/alice", $full);
my $md = "$dir/Maildir";
my ($out, $err, $rc) = mm('--maildir', $md, $mbox);
is($rc, 0, 'first pass');
my $first = ours($md);
is(scalar keys %$first, 10, '10 messages');

my $cut = index($full, "From user6\@") - 4;    # inside the body of 5
spew($mbox, substr($full, 0, $cut));
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
is($rc, 3, 'a cut mbox: exit 3');
is($err, "ERROR: $mbox: nothing removed: the mbox does not end with a newline ($cut bytes): it looks cut short\n",
   'one ERROR saying nothing was removed and why');
is_deeply(ours($md), $first, 'nothing removed, nothing renamed');
is(scalar(state_lines($md)), 11, 'the state still lists all 10');

# cut inside a header block: the reader says it is truncated
$cut = index($full, "Subject: message 6");
spew($mbox, substr($full, 0, $cut));
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
is($rc, 3, 'cut in the headers: exit 3');
like($err, qr/^ERROR: \Q$mbox\E: nothing removed: the mbox looks cut short \(message 6, offset \d+: file ends inside the header block\)$/m,
     'nothing removed: the reader found it truncated');
is(scalar(grep { /^Subject: message [1-5]\n/m } values %{ ours($md) }), 5, 'the first 5 there');
is(scalar keys %{ ours($md) }, 11, 'and the 5 others (the cut message 6 added)');
unlink grep { slurp($_) !~ /^Subject: message \d+\n/m || slurp($_) =~ /^Subject: message 6\n\z/m } glob("$md/new/*");
spew($mbox, $full);
mm('--sync', '--maildir', $md, $mbox);

# an mbox that cannot be read changes nothing
($out, $err, $rc) = mm('--sync', '--maildir', $md, "$dir/missing");
is($rc, 3, 'a missing mbox: exit 3');
like($err, qr/^ERROR: .*missing/m, 'an ERROR');
is(scalar(state_lines($md)), 11, 'the state as it was');

# two sources in one Maildir: a sync of one never touches the other's
my $bob = spew("$dir/bob", mbox_text(map { msg($_, status => 'O') } 101 .. 105));
($out, $err, $rc) = mm('--maildir', $md, $bob);
is($rc, 0, 'a second source');
my @st = state_lines($md);
is(scalar(grep { /^source / } @st), 2, 'two sections');
spew($mbox, mbox_text(map { msg($_, status => 'RO') } 1 .. 3));
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
like($out, qr/ 7 removed, 0 conflicts, /, 'alice: 7 removed') or diag $err;
my $now = ours($md);
is(scalar(grep { /^Subject: message 10[1-5]\n/m } values %$now), 5, "bob's 5 untouched");
is(scalar keys %$now, 8, '3 of alice, 5 of bob');
# the same message in both: bob's copy is bob's
spew($bob, mbox_text(map { msg($_, status => 'O') } 101 .. 105));
($out, $err, $rc) = mm('--sync', '--maildir', $md, $bob);
like($out, qr/ 0 re-flagged, 0 removed, 0 conflicts, /, 'bob: nothing to do');

# a state file that is not ours: nothing done through it
my $keep = slurp("$md/migratemail-state");
spew("$md/migratemail-state", "hello\n");
spew($mbox, mbox_text(map { msg($_, status => 'RO') } 1 .. 2));
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
is($rc, 3, 'a state file of another kind: exit 3');
like($err, qr/^ERROR: \Q$mbox\E: migratemail-state: not a state file of this version/m, 'an ERROR naming it');
is(scalar keys %{ ours($md) }, 8, 'nothing removed');
is(slurp("$md/migratemail-state"), "hello\n", 'and it is left alone');
spew("$md/migratemail-state", $keep =~ s/^([0-9a-f]{16}) /$1  /mr);
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
like($err, qr/^ERROR: \Q$mbox\E: migratemail-state: line 3 is not one this tool writes: nothing synced; remove the file or fix the line$/m,
     'a line that does not parse: the ERROR names it');
unlink "$md/migratemail-state";
symlink "$dir/elsewhere", "$md/migratemail-state" or die;
spew("$dir/elsewhere", $keep);
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
is($rc, 3, 'a symlink as the state: exit 3');
like($err, qr/^ERROR: \Q$mbox\E: .*migratemail-state/m, 'refused');
ok(-l "$md/migratemail-state", 'the link left alone');
is(slurp("$dir/elsewhere"), $keep, 'what it points to untouched');
is(scalar keys %{ ours($md) }, 8, 'nothing removed');
unlink "$md/migratemail-state";
spew("$md/migratemail-state", $keep);

# a file of ours swapped for another between passes: not removed
my ($f3) = grep { $now->{$_} =~ /^Subject: message 3\n/m } keys %$now;
spew("$md/$f3", "not the message any more, and longer than it was before we came\n" x 3);
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
like($err, qr/^ERROR: \Q$mbox\E: \Q$f3\E not removed: it has \d+ bytes, not the \d+ we delivered$/m,
     'a file of another size is not removed') or diag $err;
ok(-e "$md/$f3", 'it is there');
# maildirsize follows the removals
my $qmd = "$dir/Quota";
spew("$dir/q.mbox", mbox_text(map { msg($_, status => 'RO') } 1 .. 20));
mm('--maildir', $qmd, "$dir/q.mbox");
spew("$qmd/maildirsize", "1000000S,1000C\n");
spew("$dir/q.mbox", mbox_text(map { msg($_, status => 'RO') } 1 .. 5));
($out, $err, $rc) = mm('--sync', '--maildir', $qmd, "$dir/q.mbox");
like($out, qr/ 15 removed, /, '15 removed') or diag $err;
my ($qb, $qc) = quota_usage($qmd);
is($qc, 5, '5 left');
is_deeply([ (maildirsize_sum($qmd))[0, 1] ], [ $qb, $qc ], 'maildirsize says what the Maildir holds');
done_testing;
