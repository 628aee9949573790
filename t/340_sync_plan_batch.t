# --dry-run --sync prints the plan of a sync pass (and the report has
# it) without changing anything; --sync in batch mode (--dir, --jobs)
# and over a --folders tree.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use JSON::PP ();
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MMSync qw(msg mbox_text write_mbox ours state_lines);

my $dir = tempdir(CLEANUP => 1);
sub mm { return run_script('bin/mbox2vpopmail', @_) }

# the plan
my ($mbox, $md) = ("$dir/alice", "$dir/Maildir");
write_mbox($mbox, map { msg($_) } 1 .. 12);
my ($out, $err, $rc) = mm('--maildir', $md, $mbox);
is($rc, 0, 'bulk pass');
write_mbox($mbox, map { msg($_, status => 'RO') } 1 .. 4, 9 .. 14);
my $first = ours($md);
my ($f9) = grep { $first->{$_} =~ /^Subject: message 9\n/m } keys %$first;
rename "$md/$f9", "$md/cur/" . ($f9 =~ s{^new/}{}r) . ':2,F' or die;
my $before = ours($md);
my $state = slurp("$md/migratemail-state");
my $mtime = (stat "$md/migratemail-state")[9];
($out, $err, $rc) = mm('-n', '--sync', '--maildir', $md, '--report', "$dir/plan.json", $mbox);
is($rc, 0, 'the plan');
like($out, qr/^\(dry run\) \Q$mbox\E: 10 messages, \d+ bytes, 0 new, 2 cur, 1 skipped, 2 to add, 7 re-flagged, 4 removed, 1 conflicts, 0 failed, 0 warnings, /,
     'the plan: 2 to add, 7 to re-flag, 4 to remove, 1 conflict');
like($err, qr/^WARNING: \Q$mbox\E: message 5, offset \d+: cur\/\S+:2,F: flags changed in the Maildir since the last pass \(from new to cur:2,F\), the mbox has cur:2,S: the new server's change wins \(kept\)$/,
     'the conflict is in the plan');
is_deeply(ours($md), $before, 'the plan changed no file');
is(slurp("$md/migratemail-state"), $state, 'nor the state');
is((stat "$md/migratemail-state")[9], $mtime, 'which was not written again');
my $plan = JSON::PP->new->decode(slurp("$dir/plan.json"));
is_deeply([ @{ $plan->{mailboxes}[0]{sync} }{qw(to_add reflagged removed conflicts)} ], [ 2, 7, 4, 1 ],
	  'the report has the plan');
is_deeply([ @{ $plan->{totals} }{qw(reflagged removed conflicts)} ], [ 7, 4, 1 ], 'and its totals');
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
like($out, qr/^\Q$mbox\E: 10 messages, \d+ bytes, 0 new, 2 cur, 1 skipped, 7 re-flagged, 4 removed, 1 conflicts, /,
     'the pass does what the plan said');
($out, $err, $rc) = mm('-n', '--sync', '--maildir', "$dir/none", $mbox);
like($out, qr/^\(dry run\) \Q$mbox\E: 10 messages, \d+ bytes, 0 new, 10 cur, 0 skipped, 10 to add, 0 re-flagged, 0 removed, 0 conflicts, /,
     'the plan for a Maildir not there yet: everything to add');
ok(!-e "$dir/none", 'which is not made');

# batch mode, two jobs at a time
my $vp = "$dir/vpopmail";
make_path("$vp/bin", map { "$vp/domains/example.com/$_" } qw(ann ben));
system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;
my $spool = "$dir/spool";
mkdir $spool or die;
write_mbox("$spool/ann", map { msg($_) } 1 .. 8);
write_mbox("$spool/ben", map { msg($_, status => 'RO') } 21 .. 30);
my @batch = ('--dir', $spool, '--domain', 'example.com', '--vpopmail-bin', "$vp/bin", '--jobs', 2);
($out, $err, $rc) = mm(@batch);
is($rc, 0, 'batch: bulk pass') or diag $err;
write_mbox("$spool/ann", map { msg($_, status => 'RO') } 1 .. 3);
write_mbox("$spool/ben", map { msg($_, status => 'RO') } 21 .. 31);
# the plan of the batch: its total line sums every count of the plans
($out, $err, $rc) = mm(@batch, '--sync', '-n', '--report', "$dir/bplan.json");
is($rc, 0, 'batch: the plan') or diag $err;
like($out, qr/^\(dry run\) ann\@example\.com: 3 messages, .* 0 to add, 3 re-flagged, 5 removed, 0 conflicts, /m, 'ann planned');
like($out, qr/^total: 2 mailboxes, 0 failed, 14 messages, \d+ bytes, 0 new, 1 cur, 10 skipped, 1 to add, 3 re-flagged, 5 removed, 0 conflicts, 0 failed messages, /m,
     'the total line of the plan sums to add as well') or diag $out;
is_deeply([ @{ JSON::PP->new->decode(slurp("$dir/bplan.json"))->{totals} }{qw(to_add reflagged removed conflicts changed kept_deleted)} ],
	  [ 1, 3, 5, 0, 0, 0 ], "the report's totals have every sync count");
($out, $err, $rc) = mm(@batch, '--sync');
is($rc, 0, 'batch: sync pass') or diag $err;
like($out, qr/^ann\@example\.com: 3 messages, 0 bytes, 0 new, 0 cur, 0 skipped, 3 re-flagged, 5 removed, 0 conflicts, /m, 'ann synced');
like($out, qr/^ben\@example\.com: 11 messages, \d+ bytes, 0 new, 1 cur, 10 skipped, 0 re-flagged, 0 removed, 0 conflicts, /m, 'ben synced');
like($out, qr/^total: 2 mailboxes, 0 failed, 14 messages, \d+ bytes, 0 new, 1 cur, 10 skipped, 3 re-flagged, 5 removed, 0 conflicts, 0 failed messages, /m,
     'the total line sums the sync');
# one message of ben edited on the old server, one of ann deleted on the
# new one: the total line sums changed, and the report kept_deleted
my $bentext = slurp("$spool/ben") =~ s/Body of message 25\./Body of message 25, edited./r;
spew("$spool/ben", $bentext);
my $annfiles = ours("$vp/domains/example.com/ann/Maildir");
my ($a2) = grep { $annfiles->{$_} =~ /^Subject: message 2\n/m } keys %$annfiles;
unlink "$vp/domains/example.com/ann/Maildir/$a2" or die;
($out, $err, $rc) = mm(@batch, '--sync', '--report', "$dir/b3.json");
like($out, qr/^total: 2 mailboxes, 0 failed, 14 messages, 0 bytes, 0 new, 0 cur, 13 skipped, 0 re-flagged, 0 removed, 1 conflicts, 1 changed, 0 failed messages, /m,
     'the total line sums the changed ones') or diag $out, $err;
is_deeply([ @{ JSON::PP->new->decode(slurp("$dir/b3.json"))->{totals} }{qw(conflicts changed kept_deleted)} ],
	  [ 1, 1, 1 ], 'and the report the kept-deleted one');
spew("$spool/ben", mbox_text(map { msg($_, status => 'RO') } 21 .. 31));
mm('--verify', '--repair', '--maildir', "$vp/domains/example.com/ben/Maildir", "$spool/ben");
mm(@batch, "--sync=source-wins");    # ann's 2 back
for my $u (qw(ann ben)) {
	my (undef, $e2) = mm('--maildir', "$dir/fresh-$u", "$spool/$u");
	is_deeply(ours("$vp/domains/example.com/$u/Maildir"), ours("$dir/fresh-$u"), "$u: as a fresh conversion");
	is((state_lines("$vp/domains/example.com/$u/Maildir"))[0], "source $spool/$u", "$u: the state names the spool file");
}

# the classic form: user@domain, the mbox on standard input
write_mbox("$dir/ann.in", map { msg($_) } 61 .. 66);
($out, $err, $rc) = run_script('bin/mbox2vpopmail', { stdin => "$dir/ann.in" }, '--vpopmail-bin', "$vp/bin",
			       'ann@example.com');
is($rc, 0, 'user@domain from stdin') or diag $err;
my $annmd = "$vp/domains/example.com/ann/Maildir";
is(scalar(grep { $_ eq 'source ann@example.com' } state_lines($annmd)), 1, 'the state names the address');
write_mbox("$dir/ann.in", map { msg($_, status => 'RO') } 61 .. 62);
($out, $err, $rc) = run_script('bin/mbox2vpopmail', { stdin => "$dir/ann.in" }, '--vpopmail-bin', "$vp/bin",
			       '--sync', 'ann@example.com');
like($out, qr/^ann\@example\.com: 2 messages, 0 bytes, 0 new, 0 cur, 0 skipped, 2 re-flagged, 4 removed, 0 conflicts, /,
     'a sync pass from stdin') or diag $err;
is(scalar(grep { /^Subject: message (?:[1-3]|6[12])\n/m } values %{ ours($annmd) }), 5,
   "the spool file's 3 and stdin's 2 are there");
is(scalar keys %{ ours($annmd) }, 5, 'and nothing else');

# a --folders tree: each folder's own state
my $home = "$dir/home";
make_path("$home/mail");
write_mbox("$home/mail/work", map { msg($_) } 41 .. 46);
write_mbox("$home/in", map { msg($_) } 51 .. 52);
($out, $err, $rc) = mm('--maildir', "$home/Maildir", '--folders', "$home/mail", "$home/in");
is($rc, 0, 'folders: bulk pass') or diag $err;
is((state_lines("$home/Maildir/.work"))[0], "source $home/mail/work", 'the folder has its own state');
write_mbox("$home/mail/work", map { msg($_, status => 'RO') } 41 .. 43);
($out, $err, $rc) = mm('--sync', '--maildir', "$home/Maildir", '--folders', "$home/mail", "$home/in");
is($rc, 0, 'folders: sync pass') or diag $err;
like($out, qr/^\Q$home\E\/Maildir\/work: 3 messages, 0 bytes, 0 new, 0 cur, 0 skipped, 3 re-flagged, 3 removed, 0 conflicts, /m,
     'the folder synced') or diag $out;
mm('--maildir', "$dir/fresh-work", "$home/mail/work");
is_deeply(ours("$home/Maildir/.work"), ours("$dir/fresh-work"), 'the folder as a fresh conversion');
is(scalar keys %{ ours("$home/Maildir") }, 2, 'the inbox as it was');
done_testing;
