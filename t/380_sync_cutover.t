# The issue's experiment as it is, and what the other tests leave out:
# a bulk pass, the user reads the 28 new messages and deletes 25 on the
# old server, a --sync pass: the Maildir is the one a fresh conversion
# of the changed mbox gives, file for file and byte for byte, with the
# first pass's base names, and each pass has a manifest that checks
# (--verify-manifest). A message the user moved into a folder on the new
# server is left there; the UID lists of the first pass stay valid over
# a re-flag pass.
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
sub lines { return map { JSON::PP->new->decode($_) } split /\n/, slurp($_[0]) }
sub base { return $_[0] =~ s{^(?:new|cur)/}{}r =~ s/:2,.*//r }

# 60 messages: 1-32 read, 33-60 new
my ($mbox, $md) = ("$dir/alice", "$dir/Maildir");
write_mbox($mbox, map { msg($_, $_ <= 32 ? (status => 'RO') : ()) } 1 .. 60);
my ($out, $err, $rc) = mm('--maildir', $md, '--manifest', "$dir/pass1.jsonl", $mbox);
is($rc, 0, 'bulk pass') or diag $err;
like($out, qr/: 60 messages, \d+ bytes, 28 new, 32 cur, /, '28 new, 32 cur');
my $pass1 = ours($md);
my %base1 = map { (base($_) => 1) } keys %$pass1;
my %ino1 = map { (base($_) => (stat "$md/$_")[1]) } keys %$pass1;

# the user reads the 28 new ones and deletes 25 (5-29) on the old server
write_mbox($mbox, map { msg($_, status => 'RO') } grep { $_ < 5 || $_ > 29 } 1 .. 60);
($out, $err, $rc) = mm('--sync', '--maildir', $md, '--manifest', "$dir/pass2.jsonl", $mbox);
is($rc, 0, 'the --sync pass') or diag $err;
is($err, '', 'nothing to warn about');
like($out, qr/: 35 messages, 0 bytes, 0 new, 0 cur, 7 skipped, 28 re-flagged, 25 removed, 0 conflicts, 0 failed, 0 warnings, /,
     '28 re-flagged, 25 removed');
($out, $err, $rc) = mm('--maildir', "$dir/Fresh", $mbox);
my $fresh = ours("$dir/Fresh");
my $got = ours($md);
is_deeply($got, $fresh, 'the Maildir is a fresh conversion of the changed mbox: same names, flags, bytes');
is(scalar(grep { !$base1{ base($_) } } keys %$got), 0, 'every surviving message keeps its base name of the first pass');
is(scalar(grep { (stat "$md/$_")[1] != $ino1{ base($_) } } keys %$got), 0, 'and its file (same inode)');
is(scalar(grep { /^new\// } keys %$got), 0, 'the 28 read ones in cur/');

# a manifest for each pass, and both check
my @l1 = lines("$dir/pass1.jsonl");
my @l2 = lines("$dir/pass2.jsonl");
is(scalar @l1, 60, 'pass 1: a line per message');
is(scalar(grep { $_->{action} eq 'delivered' } @l1), 60, 'all delivered');
is(scalar @l2, 35 + 25, 'pass 2: a line per message of the mbox, and per removed file');
my %act;
$act{ $_->{action} }++ for @l2;
is_deeply(\%act, { 're-flagged' => 28, present => 7, removed => 25 }, 'saying what happened');
is_deeply([ map { $_->{action} } @l2[35 .. 59] ], [ ('removed') x 25 ], 'the removed files last');
is_deeply([ sort map { $_->{file} } grep { $_->{action} ne 'removed' } @l2 ], [ sort keys %$got ],
	  'pass 2 names the files there now');
($out, $err, $rc) = mm('--verify-manifest', "$dir/pass2.jsonl");
is($rc, 0, 'the Maildir checks against the manifest of pass 2') or diag $err;
like($out, qr/ 35 files, 35 verified, 0 missing, 0 different, /, 'every file');
($out, $err, $rc) = mm('--verify-manifest', "$dir/pass1.jsonl");
is($rc, 1, 'against the manifest of pass 1: what the sync pass removed is missing');
like($out, qr/ 60 files, 35 verified, 25 missing, 0 different, /, 'the 25; the 28 re-flagged found by their base names');

# a message of ours the user moved into a folder on the new server (an
# IMAP MOVE keeps the name), then deleted on the old server: the folder's
# copy is not ours to remove (another Maildir), the inbox's is gone
# (kept deleted, not delivered again)
make_path("$md/.Archive/cur", "$md/.Archive/new", "$md/.Archive/tmp");
spew("$md/.Archive/maildirfolder", '');
my ($moved) = grep { $got->{$_} =~ /^Subject: message 3\n/m } keys %$got;
rename "$md/$moved", "$md/.Archive/$moved" or die;
write_mbox($mbox, map { msg($_, status => 'RO') } grep { $_ != 3 && ($_ < 5 || $_ > 29) } 1 .. 60);
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
like($out, qr/: 34 messages, 0 bytes, 0 new, 0 cur, 34 skipped, 0 re-flagged, 0 removed, 0 conflicts, /,
     'moved away, then gone from the mbox: nothing to remove, nothing to add') or diag $err;
is(slurp("$md/.Archive/$moved"), $got->{$moved}, 'the copy in the folder is untouched');
ok(!grep({ /^Subject: message 3\n/m } values %{ ours($md) }), 'and not delivered again into the inbox');

# UID lists of the first pass stay valid over a re-flag pass: every
# name they list is still there under its base name, the lists as they were
my $uidtext = mbox_text(map { msg($_) } 1 .. 6);
my $u = 0;
$uidtext =~ s/^(Message-ID: <\d+\@old\.example>\n)/$1 . 'X-UID: ' . ++$u . "\n" . ($u == 1 ? "X-IMAPbase: 1100000000 0000000010\n" : '')/mge;
spew("$dir/uids", $uidtext);
my $umd = "$dir/Uids";
($out, $err, $rc) = mm('--maildir', $umd, "$dir/uids");
is($rc, 0, 'a mailbox with IMAP UIDs') or diag $err;
my ($dl, $cl) = (slurp("$umd/dovecot-uidlist"), slurp("$umd/courierimapuiddb"));
like($dl, qr/\A3 V1100000000 N11\n1 (?:P\S+ )?:/, 'dovecot-uidlist written');
(my $uidtext2 = $uidtext) =~ s/^(Message-ID: <(\d+)\@old\.example>\n)/$1 . ($2 % 2 ? "Status: RO\n" : '')/mge;
spew("$dir/uids", $uidtext2);
($out, $err, $rc) = mm('--sync', '--maildir', $umd, "$dir/uids");
like($out, qr/ 3 re-flagged, 0 removed, /, 're-flag pass') or diag $err;
is(slurp("$umd/dovecot-uidlist"), $dl, 'dovecot-uidlist as it was');
is(slurp("$umd/courierimapuiddb"), $cl, 'courierimapuiddb as it was');
my %now = map { (base($_) => 1) } keys %{ ours($umd) };
my @listed = map { /^\d+ (?:P\S+ )?:?(\S+)$/ ? $1 : () } grep { !/^[13] V?\d+ N?\d+$/ } split /\n/, $dl;
is(scalar @listed, 6, 'six names in the list');
is(scalar(grep { $now{$_} } @listed), 6, 'each still names a file of the Maildir (base name kept)');
my @clisted = map { /^\d+ (\S+)$/ ? $1 : () } (split /\n/, $cl)[1 .. 6];
is(scalar(grep { $now{$_} } @clisted), 6, 'and so does each of courierimapuiddb');
done_testing;
