# --verify with the mbox on a pipe: each message's file is checked
# against the size and digest of what streamed by (src/mm_digest.h),
# with the same counts as the byte-for-byte check of a path.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();
use lib 't/lib';
use MMMaildir qw(maildir_files);
use MMRun qw(run_script slurp spew);
use MigrateMail qw(mbox_to_maildir);

my $dir = tempdir(CLEANUP => 1);
my $sample = 'examples/sample.mbox';
my $M2V = 'bin/mbox2vpopmail';

sub report {
	my ($path) = @_;
	my $r = JSON::PP->new->decode(slurp($path));
	return $r->{mailboxes}[0] // $r->{results}[0] // $r;
}

# Delivered from a pipe and verified: exit 0, said how.
my ($out, $err, $st) = run_script($M2V, { pipe => $sample }, '--verify', '--maildir', "$dir/a",
				  '--report', "$dir/a.json");
is($st, 0, 'pipe --verify: exit 0') or diag $err;
is($err, '', 'pipe --verify: no ERROR');
like($out, qr/^stdin: 4 messages, 693 bytes, 1 new, 2 cur, 1 skipped, 0 failed, 0 warnings, 3 verified by digest, [\d.]+ s$/,
     'pipe --verify: 3 verified by digest, not FAILED');
my $json = slurp("$dir/a.json");
like($json, qr/"verify_method" : "digest"/, 'report: verify_method digest');
like($json, qr/"verified" : 3\b/, 'report: verified 3');
like($json, qr/"mismatched" : 0\b/, 'report: mismatched 0');
like($json, qr/"missing" : 0\b/, 'report: missing 0');

($out, $err, $st) = run_script($M2V, '--verify', '--maildir', "$dir/b", '--report', "$dir/b.json", $sample);
is($st, 0, 'path --verify: exit 0');
like($out, qr/, 0 warnings, 3 verified, [\d.]+ s$/, 'path --verify: 3 verified (bytes)');
like(slurp("$dir/b.json"), qr/"verify_method" : "bytes"/, 'report: verify_method bytes');

# Standard input from a file is read again, byte for byte.
($out, $err, $st) = run_script($M2V, { stdin => $sample }, '--verify', '--maildir', "$dir/c");
is($st, 0, 'stdin from a file --verify: exit 0');
like($out, qr/, 3 verified, /, 'stdin from a file: verified by reading it again');

# A damaged file (same size, one byte changed) and a short one (named by
# its UIDL, without ",S=", so sizes do not show it): found on the re-run
# from the pipe, as on the re-run from the path.
my ($files) = maildir_files("$dir/a");
my ($lunch) = grep { $files->{$_}{content} =~ /Lunch on Friday/ } sort keys %$files;
my ($other) = grep { $_ ne $lunch } sort keys %$files;
(my $bad = $files->{$lunch}{content}) =~ s/Lunch/Lynch/;
spew("$dir/a/$lunch", $bad, 0600);
spew("$dir/a/$other", substr($files->{$other}{content}, 0, 10), 0600);
system('cp', '-a', "$dir/a", "$dir/a2") == 0 or die;
($out, $err, $st) = run_script($M2V, { pipe => $sample }, '--verify', '--maildir', "$dir/a", '--report', "$dir/a.json");
is($st, 3, 'damaged: exit 3');
my $len = length $bad;
like($err, qr/^ERROR: stdin: message \d+, offset \d+: \Q$lunch\E differs from the message read from the mbox \($len bytes, the mbox's $len; compared by digest\)$/m,
     'damaged: an ERROR naming the file, by digest');
my $full = length $files->{$other}{content};
like($err, qr/^ERROR: stdin: message \d+, offset \d+: \Q$other\E differs from the message read from the mbox \(10 bytes, the mbox's $full; compared by digest\)$/m,
     'short: an ERROR naming the file, by digest');
is(() = $err =~ /^ERROR/mg, 2, 'two ERRORs');
like($out, qr/ 4 skipped, 0 failed, 0 warnings, 1 verified by digest, [\d.]+ s, FAILED$/, 'damaged: summary');
like(slurp("$dir/a.json"), qr/"mismatched" : 2\b/, 'report: mismatched 2');
($out, $err, $st) = run_script($M2V, '--verify', '--maildir', "$dir/a2", $sample);
is($st, 3, 'the path finds the same: exit 3');
like($err, qr/^ERROR: \Q$sample\E: message \d+, offset \d+: \Q$lunch\E differs from the mbox at byte \d+ of the message$/m,
     'the path: the same file');
is(() = $err =~ /^ERROR/mg, 2, 'the path: two ERRORs');
like($out, qr/ 4 skipped, 0 failed, 0 warnings, 1 verified, [\d.]+ s, FAILED$/, 'the path: the same counts');

# Not delivered (over --max-message-size): missing, on a pipe as by path.
for my $how (qw(pipe path)) {
	my @in = $how eq 'pipe' ? ({ pipe => $sample }) : ();
	($out, $err, $st) = run_script($M2V, @in, '--verify', '--max-message-size', '250',
				       '--maildir', "$dir/big-$how", $how eq 'path' ? $sample : ());
	is($st, 3, "$how: a message over the size limit: exit 3");
	my $name = $how eq 'pipe' ? 'stdin' : $sample;
	like($err, qr/^ERROR: \Q$name\E: message 2, offset 488: larger than the maximum message size of 250 bytes/m,
	     "$how: too big");
	like($err, qr/^ERROR: \Q$name\E: message 2, offset 488: missing from the Maildir$/m, "$how: then missing");
	is(() = $err =~ /^ERROR/mg, 2, "$how: two ERRORs");
	like($out, qr/ 1 failed, 0 warnings, 2 verified(?: by digest)?, /, "$how: 2 verified");
}

# The API: a pipe handle.
open my $fh, '-|', 'cat', $sample or die;
my $r = mbox_to_maildir($fh, "$dir/api", verify => 1);
is_deeply([ @{$r}{qw(delivered verified missing mismatched verify_method)} ], [ 3, 3, 0, 0, 'digest' ],
	  'API, pipe: verified by digest');
is_deeply($r->{errors}, [], 'API, pipe: no errors');
close $fh;
open $fh, '-|', 'cat', $sample or die;
$r = mbox_to_maildir($fh, "$dir/api", verify => 1);
is_deeply([ @{$r}{qw(delivered skipped_present verified verify_method)} ], [ 0, 3, 3, 'digest' ],
	  'API, pipe, re-run: the messages already there are verified too');
$r = mbox_to_maildir($sample, "$dir/api", verify => 1);
is_deeply([ @{$r}{qw(verified verify_method)} ], [ 3, 'bytes' ], 'API, path: verified by bytes');
$r = mbox_to_maildir($sample, "$dir/api");
ok(!exists $r->{verify_method}, 'API, no verify: no verify_method');

done_testing;
