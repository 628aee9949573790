# --manifest: a JSON line per message of each pass and per removed file,
# saying what happened; whole under its name once the run is done;
# shared by the jobs of a batch.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use JSON::PP ();
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MMSync qw(msg mbox_text write_mbox ours);
use MigrateMail::Sync qw(digest);

my $dir = tempdir(CLEANUP => 1);
sub mm { return run_script('bin/mbox2vpopmail', @_) }
sub lines {
	my ($path) = @_;
	return map { JSON::PP->new->decode($_) } split /\n/, slurp($path);
}

my ($mbox, $md) = ("$dir/alice", "$dir/Maildir");
# 1-5; 3 is big (over --max-message-size 300 in the second pass)
my $text = mbox_text(map { msg($_, $_ == 2 ? (status => 'RO') : ()) } 1 .. 5);
$text =~ s/(Body of message 4\.\n)/$1 . ("x" x 400) . "\n"/e;
spew($mbox, $text);
my ($out, $err, $rc) = mm('--maildir', $md, '--manifest', "$dir/pass1.jsonl", $mbox);
is($rc, 0, 'first pass with a manifest') or diag $err;
my @l = lines("$dir/pass1.jsonl");
is(scalar @l, 5, 'a line per message');
is_deeply([ map { $_->{number} } @l ], [ 1 .. 5 ], 'in mbox order');
is_deeply([ map { $_->{action} } @l ], [ ('delivered') x 5 ], 'all delivered');
my $files = ours($md);
is_deeply([ sort map { $_->{file} } @l ], [ sort keys %$files ], 'naming the files');
is_deeply([ map { $_->{size} } @l ], [ map { length $files->{ $_->{file} } } @l ], 'with their sizes');
is_deeply([ map { $_->{flags} } @l ], [ 'new', 'cur:2,S', 'new', 'new', 'new' ], 'and the flags of the mbox');
is($l[0]{offset}, 0, 'message 1 at offset 0');
is($l[1]{offset}, index($text, "From user2\@"), 'message 2 at its offset');
is_deeply([ @{ $l[0] }{qw(source maildir uid uidl reason)} ], [ $mbox, $md, undef, undef, undef ],
	  'source and Maildir named; no uid, uidl, reason');
is_deeply([ map { $_->{digest} } @l ], [ map { digest($files->{ $_->{file} }) } @l ],
	  'the digest of each file\'s bytes');
like($l[0]{digest}, qr/^mm64:[0-9a-f]{16}$/, 'named mm64');
ok(!-e "$dir/pass1.jsonl.mmtmp", 'no temporary file left');
is((stat "$dir/pass1.jsonl")[2] & 07777, 0600, 'mode 0600');

# second pass: 1 read, 2 present, 3 deleted on the new server, 4 present
# (its body changed, its headers not), 5 gone; 6 new and over the limit
my ($f3) = grep { $files->{$_} =~ /^Subject: message 3\n/m } keys %$files;
unlink "$md/$f3" or die;
$text = mbox_text(map { msg($_, $_ <= 2 ? (status => 'RO') : ()) } 1 .. 4, 6);
$text =~ s/(Body of message 6\.\n)/$1 . ("y" x 400) . "\n"/e;
spew($mbox, $text);
($out, $err, $rc) = mm('--sync', '--maildir', $md, '--max-message-size', 300, '--manifest', "$dir/pass2.jsonl", $mbox);
is($rc, 3, 'second pass: exit 3 (message 6 too big)');
@l = lines("$dir/pass2.jsonl");
my $removed = pop @l;
my @msgs = @l;
is($removed->{action}, 'removed', 'the removed file last');
is_deeply([ @{$removed}{qw(number offset flags reason)} ], [ undef, undef, undef, 'gone from the mbox' ],
	  'with no place in the mbox');
like($removed->{file}, qr{^new/}, 'naming it');
my ($f5) = grep { $files->{$_} =~ /^Subject: message 5\n/m } keys %$files;
is_deeply([ @{$removed}{qw(file digest)} ], [ $f5, digest($files->{$f5}) ], 'with the digest of its bytes');
is_deeply([ map { "$_->{number} $_->{action}" } @msgs ],
	  [ '1 re-flagged', '2 present', '3 kept-deleted', '4 changed', '5 failed' ],
	  'each message before it, with what happened');
like($msgs[3]{reason}, qr/^new\/\S+: its bytes changed in the mbox \(\d+ bytes now, \d+ in the file; by digest\), not its key: the Maildir's copy kept/,
     'message 4: its body changed on the old server, its file kept');
my ($f4) = grep { $files->{$_} =~ /^Subject: message 4\n/m } keys %$files;
is_deeply([ @{ $msgs[3] }{qw(file digest)} ], [ $f4, digest($files->{$f4}) ], 'the digest of the file kept, not of the mbox');
is(ours($md)->{$f4}, $files->{$f4}, 'which is as it was');
like($err, qr/^WARNING: \Q$mbox\E: message 4, offset \d+: \Q$f4\E: its bytes changed in the mbox/m, 'a WARNING without -v');
like($out, qr/ 1 removed, 1 conflicts, 1 changed, 1 failed, /, 'counted in the summary line');
is($msgs[2]{digest}, undef, 'no digest without a file');
like($msgs[2]{reason}, qr/^deleted in the Maildir since the last pass, not delivered again: the new server's change wins \(kept\)$/,
     'the deletion on the new server says why');
is($msgs[2]{file}, undef, 'and has no file');
like($msgs[4]{reason}, qr/larger than the maximum message size of 300 bytes/, 'the failure says why') or diag explain $msgs[4];
is($msgs[4]{file}, undef, 'no file for it');
like($msgs[0]{file}, qr{^cur/.*:2,S$}, 'the re-flagged one under its new name');
is($msgs[0]{flags}, 'cur:2,S', 'with the flags of the mbox');

# a conflict
my $now = ours($md);
my ($f1) = grep { $now->{$_} =~ /^Subject: message 1\n/m } keys %$now;
rename "$md/$f1", "$md/" . ($f1 =~ s/:2,S$/:2,FS/r) or die;
($out, $err, $rc) = mm('--sync', '--maildir', $md, '--manifest', "$dir/pass3.jsonl", $mbox);
@l = lines("$dir/pass3.jsonl");
is($l[0]{action}, 'conflict', 'a conflict in the manifest');
like($l[0]{reason}, qr/flags changed in the Maildir since the last pass \(from cur:2,S to cur:2,FS\), the mbox has cur:2,S/,
     'saying what changed');
is($l[4]{action}, 'delivered', 'message 6 delivered without the limit');

# usage, and a manifest that cannot be written
($out, $err, $rc) = mm('-n', '--maildir', $md, '--manifest', "$dir/x", $mbox);
is($rc, 2, '--manifest with --dry-run: usage error');
like($err, qr/^ERROR: --manifest says what a pass did: not with --dry-run$/m, 'saying so');
($out, $err, $rc) = mm('--maildir', $md, '--manifest', "$dir/no/such/dir/m", $mbox);
is($rc, 3, 'a manifest in a missing directory: exit 3');
like($err, qr/^ERROR: cannot write the manifest \Q$dir\E\/no\/such\/dir\/m: /m, 'one ERROR');
is($out, '', 'and nothing converted');

# batch: two jobs share one manifest
my $vp = "$dir/vpopmail";
make_path("$vp/bin", map { "$vp/domains/example.com/$_" } qw(ann ben));
system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;
make_path("$dir/spool");
write_mbox("$dir/spool/ann", map { msg($_) } 1 .. 40);
write_mbox("$dir/spool/ben", map { msg($_) } 101 .. 150);
($out, $err, $rc) = mm('--dir', "$dir/spool", '--domain', 'example.com', '--vpopmail-bin', "$vp/bin",
		       '--jobs', 2, '--manifest', "$dir/batch.jsonl");
is($rc, 0, 'batch with a manifest') or diag $err;
@l = lines("$dir/batch.jsonl");
is(scalar @l, 90, 'every message of both, each line whole');
is(scalar(grep { $_->{source} eq "$dir/spool/ann" } @l), 40, "ann's 40");
is_deeply([ map { $_->{number} } grep { $_->{source} eq "$dir/spool/ben" } @l ], [ 1 .. 50 ], "ben's 50, in order");
done_testing;
