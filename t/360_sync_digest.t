# The digest of the delivered bytes in the state file: a message whose
# bytes changed in the mbox but not its key (its body edited on the old
# server, its Status lines with --keep-headers) is found, reported once
# as a WARNING (code changed), counted (summary, report, plan, batch
# total line), in the manifest, and its file is kept in both sync
# modes; --verify --repair then takes the mbox's bytes. A state file of
# an older version (digests "-") still loads, and gets them.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use JSON::PP ();
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MMSync qw(msg mbox_text write_mbox ours state_lines);
use MigrateMail::Sync qw(digest);

my $dir = tempdir(CLEANUP => 1);
sub mm { return run_script('bin/mbox2vpopmail', @_) }
sub find_file {
	my ($files, $n) = @_;
	my ($f) = grep { $files->{$_} =~ /^Subject: message $n\n/m } keys %$files;
	return $f;
}
sub json { return JSON::PP->new->decode(slurp($_[0])) }

my ($mbox, $md) = ("$dir/alice", "$dir/Maildir");
my @read = (status => 'RO');
write_mbox($mbox, map { msg($_, @read) } 1 .. 6);
my ($out, $err, $rc) = mm('--maildir', $md, $mbox);
is($rc, 0, 'bulk pass') or diag $err;
my $files = ours($md);
my %digest_of = map { (s/:2,.*//r =~ s{^(?:new|cur)/}{}r) => substr(digest($files->{$_}), 5) } keys %$files;
my @recs = grep { !/^source / } state_lines($md);
is(scalar @recs, 6, 'six records');
is_deeply({ map { (split / /)[5] => (split / /)[2] } @recs }, \%digest_of,
	  'each with the digest of the bytes of its file');

# on the old server: the body of 3 edited (its headers, so its key, the
# same); 5 read again (no change)
my $text = mbox_text(map { msg($_, @read) } 1 .. 6);
$text =~ s/Body of message 3\./Body of message 3, edited./ or die;
spew($mbox, $text);
my $f3 = find_file($files, 3);
my $ino3 = (stat "$md/$f3")[1];
($out, $err, $rc) = mm('-n', '--sync', '--maildir', $md, '--report', "$dir/plan.json", $mbox);
is($rc, 0, 'the plan');
like($out, qr/^\(dry run\) \Q$mbox\E: 6 messages, 0 bytes, 0 new, 0 cur, 6 skipped, 0 to add, 0 re-flagged, 0 removed, 0 conflicts, 1 changed, 0 failed, /,
     'the plan counts the changed message');
like($err, qr/^WARNING: \Q$mbox\E: message 3, offset \d+: \Q$f3\E: its bytes changed in the mbox \(\d+ bytes now, \d+ in the file; by digest\), not its key: the Maildir's copy kept \(--verify --repair takes the mbox's\)$/m,
     'and says which');
is(json("$dir/plan.json")->{mailboxes}[0]{sync}{changed}, 1, 'the plan in the report');
is_deeply(ours($md), $files, 'the plan changed nothing');

($out, $err, $rc) = mm('--sync', '--maildir', $md, '--report', "$dir/r.json", '--manifest', "$dir/m.jsonl", $mbox);
is($rc, 0, 'the sync pass: exit 0 (a warning)') or diag $err;
like($out, qr/ 0 re-flagged, 0 removed, 0 conflicts, 1 changed, 0 failed, 0 warnings, /, 'counted in the summary line');
my @w = grep { /WARNING/ } split /\n/, $err;
is(scalar @w, 1, 'one WARNING, without -v') or diag $err;
like($w[0], qr/^WARNING: \Q$mbox\E: message 3, offset \d+: \Q$f3\E: its bytes changed in the mbox/, 'message 3');
my $r = json("$dir/r.json");
is($r->{mailboxes}[0]{sync}{changed}, 1, 'in the report');
is($r->{totals}{changed}, 1, 'and its totals');
ok(grep({ $_ =~ /its bytes changed/ } @{ $r->{mailboxes}[0]{notices} || [] }), 'the report lists the warning');
my ($l3) = grep { $_->{number} == 3 } map { JSON::PP->new->decode($_) } split /\n/, slurp("$dir/m.jsonl");
is($l3->{action}, 'changed', 'the manifest says changed');
is($l3->{digest}, digest($files->{$f3}), 'with the digest of the file, which was kept');
is_deeply(ours($md), $files, 'nothing replaced');
is((stat "$md/$f3")[1], $ino3, 'the same file');
my ($rec3) = grep { !/^source / && (split / /)[5] eq ($f3 =~ s/:2,.*//r =~ s{^cur/}{}r) } state_lines($md);
like($rec3, qr/^[0-9a-f]{16} \d+ [0-9a-f]{16}\/[0-9a-f]{16} /, "the state: the file's digest, then the mbox's");

# said once: the next pass is silent (the state knows the mbox's bytes)
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
is($err, '', 'a third pass says nothing again');
like($out, qr/ 0 conflicts, 0 failed, /, 'counts nothing');

# --sync=source-wins keeps the file too (a sync pass never rewrites)
$text =~ s/Body of message 4\./Body of message 4, edited./ or die;
spew($mbox, $text);
($out, $err, $rc) = mm('--sync=source-wins', '--maildir', $md, $mbox);
like($out, qr/ 1 changed, /, 'source-wins: 4 changed') or diag $err;
like($err, qr/^WARNING: \Q$mbox\E: message 4, offset \d+: .*its bytes changed in the mbox/m, 'said');
is_deeply(ours($md), $files, 'and kept as it was');

# what the admin does: --verify --repair takes the mbox's bytes; the
# next sync pass finds the files as the mbox has them
($out, $err, $rc) = mm('--verify', '--repair', '--maildir', $md, $mbox);
is($rc, 0, '--verify --repair') or diag $err;
like($out, qr/ 2 repaired, /, 'repairs 3 and 4');
my $now = ours($md);
like($now->{ find_file($now, 3) }, qr/Body of message 3, edited\./, '3 has the new body');
isnt(find_file($now, 3), $f3, 'under a name with its new size');
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
is($err, '', 'a sync pass after the repair: nothing to say') or diag $err;
like($out, qr/ 0 re-flagged, 0 removed, 0 conflicts, 0 failed, /, 'nothing done');

# a file renamed by the repair (its ,S=) and gone from the mbox since
# the state last listed it: removed by the next sync pass
$text = mbox_text(map { msg($_, @read) } 1 .. 6);
$text =~ s/Body of message 2\./Body of message 2, longer now./ or die;
spew($mbox, $text);
mm('--sync', '--maildir', $md, $mbox);       # state: 2's old file
($out, $err, $rc) = mm('--verify', '--repair', '--maildir', $md, $mbox);
like($out, qr/ 3 repaired, /, 'repaired 2, 3 and 4 to these bytes') or diag $out, $err;
spew($mbox, mbox_text(map { msg($_, @read) } 1, 3 .. 6));
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
is($rc, 0, 'a sync pass once 2 is gone from the mbox') or diag $err;
like($out, qr/ 1 removed, /, 'removes its repaired file') or diag $err;
ok(!defined find_file(ours($md), 2), '2 is gone');
is(scalar keys %{ ours($md) }, 5, 'the others stay');

# --keep-headers: a re-flag on the old server changes the Status lines,
# so the bytes: re-flagged (renamed) and reported changed, not rewritten
my ($kmbox, $kmd) = ("$dir/kh", "$dir/KH");
write_mbox($kmbox, map { msg($_) } 1 .. 3);
mm('--keep-headers', '--maildir', $kmd, $kmbox);
my $kfiles = ours($kmd);
write_mbox($kmbox, msg(1), msg(2, @read), msg(3));
($out, $err, $rc) = mm('--keep-headers', '--sync', '--maildir', $kmd, $kmbox);
like($out, qr/ 1 re-flagged, 0 removed, 0 conflicts, 1 changed, /, 'keep-headers: re-flagged and changed') or diag $err;
my $k2 = find_file(ours($kmd), 2);
like($k2, qr{^cur/.*:2,S$}, 'renamed to the flags of the mbox');
is(ours($kmd)->{$k2}, $kfiles->{ find_file($kfiles, 2) }, 'its bytes as delivered (no Status line added)');

# an older version's state (digest "-"): loads, and gets the digests
my ($ombox, $omd) = ("$dir/old", "$dir/Old");
write_mbox($ombox, map { msg($_, @read) } 1 .. 4);
mm('--maildir', $omd, $ombox);
my $state = slurp("$omd/migratemail-state");
spew("$omd/migratemail-state", $state =~ s/^([0-9a-f]{16} \d+) [0-9a-f]{16} /$1 - /mgr);
my $ofiles = ours($omd);
$text = mbox_text(map { msg($_, @read) } 1 .. 4);
$text =~ s/Body of message 1\./Body of message 1, edited./ or die;
spew($ombox, $text);
($out, $err, $rc) = mm('--sync', '--maildir', $omd, $ombox);
is($rc, 0, 'a state without digests loads') or diag $err;
like($err, qr/^WARNING: \Q$ombox\E: message 1, offset 0: .*its bytes changed in the mbox/, 'the change found by reading the file');
like($out, qr/ 1 changed, /, 'counted');
my %odig = map { (s/:2,.*//r =~ s{^(?:new|cur)/}{}r) => substr(digest($ofiles->{$_}), 5) } keys %$ofiles;
my %got = map { (split / /)[5] => (split / /)[2] } grep { !/^source / } state_lines($omd);
my $o1 = find_file($ofiles, 1) =~ s/:2,.*//r =~ s{^cur/}{}r;
like(delete $got{$o1}, qr/^\Q$odig{$o1}\E\/[0-9a-f]{16}$/, "the state gets the file's digest (and for 1 the mbox's beside)");
delete $odig{$o1};
is_deeply(\%got, \%odig, 'and the digest of each other file');
done_testing;
