# Cost and size limits: identical copies keep the names they always had
# (numbered _1, _2 ... in mbox order, found again by a re-run), and
# --max-message-size / max_message_size: a bigger message is an ERROR
# for that message alone, the others are delivered, no tmp/ file stays,
# and the tmp/ file never grows beyond the limit, even from a pipe.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMMaildir qw(maildir_files slurp);
use MMRun qw(run_script spew);
use MigrateMail qw(mbox_to_maildir verify_maildir);
use MigrateMail::Mbox2Vpopmail qw(parse_size);

my $dir = tempdir(CLEANUP => 1);

# Copy numbers: five identical messages between two others.
my $same = "From x\@example.com Mon Jan  1 00:00:00 2001\nSubject: same\n\nbody\n\n";
my $mbox = spew("$dir/same.mbox",
		"From a\@example.com Mon Jan  1 00:00:00 2001\nSubject: a\n\na\n\n"
		. $same x 3
		. "From b\@example.com Mon Jan  1 00:00:00 2001\nSubject: b\n\nb\n\n"
		. $same x 2);
my $st = mbox_to_maildir($mbox, "$dir/same", fsync => 'none', host => 'h');
is($st->{delivered}, 7, 'seven delivered');
my ($files) = maildir_files("$dir/same");
my %hashes;
for my $n (map { $_->{name} } values %$files) {
	my ($h, $k) = $n =~ /\.H([0-9a-f]{16})(?:_(\d+))?\.h,S=/ or next;
	push @{ $hashes{$h} }, $k // 0;
}
my @copies = grep { @$_ > 1 } values %hashes;
is(scalar @copies, 1, 'one hash with copies');
is_deeply([ sort { $a <=> $b } @{ $copies[0] || [] } ], [ 0 .. 4 ],
	  'the copies are numbered 0 (no suffix), _1 .. _4');
$st = mbox_to_maildir($mbox, "$dir/same", fsync => 'none', host => 'h');
is($st->{delivered}, 0, 're-run: nothing delivered');
is($st->{skipped_present}, 7, 're-run: every copy found again');
is(verify_maildir($mbox, "$dir/same")->{verified}, 7, 'verify: all seven');

# sizes of the script option
is(parse_size('1000'), 1000, 'plain bytes');
is(parse_size('64K'), 65536, 'K is 1024');
is(parse_size('10m'), 10 << 20, 'M, either case');
is(parse_size('2G'), 2 << 30, 'G');
is(parse_size($_), undef, "'$_' refused") for ('', '0', '-1', '1.5M', '2T', '1 K', 'big');

# --max-message-size over a fixture: message 2 (offset 129) is ~2.7 KB.
my $fix = 't/data/big-message.mbox';
my ($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--maildir', "$dir/big",
				  '--max-message-size', '1000', $fix);
is($rc, 3, 'a message too big: exit 3');
like($err, qr/^ERROR: \Q$fix\E: message 2, offset 129: larger than the maximum message size of 1000 bytes \(--max-message-size\): not delivered$/m,
     'ERROR naming file, message number and offset');
is(scalar(() = $err =~ /^ERROR/mg), 1, 'one ERROR line');
like($out, qr/^\Q$fix\E: 3 messages, \d+ bytes, 1 new, 1 cur, 0 skipped, 1 failed, /m, 'the others delivered');
my ($big, $tmp) = maildir_files("$dir/big");
is(scalar keys %$big, 2, 'two messages in the Maildir');
is_deeply($tmp, [], 'no tmp/ file left');
ok(!grep({ $_->{content} =~ /quick brown fox/ } values %$big), 'not the big one');
my $v = verify_maildir($fix, "$dir/big");
is($v->{verified}, 2, 'verify: the other two are there byte for byte');
is($v->{missing}, 1, 'verify: the big one is missing, nothing else');

# a dry run forecasts it
($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--dry-run', '--max-message-size', '1000', 'a@example.com', $fix);
is($rc, 3, 'dry run: exit 3');
like($err, qr/^ERROR: \Q$fix\E: message 2, offset 129: larger than the maximum message size of 1000 bytes \(--max-message-size\): would not be delivered$/m,
     'dry run: the same ERROR');
like($out, qr/^\(dry run\) a\@example.com: 3 messages, \d+ bytes, 1 new, 1 cur, 0 skipped, 1 failed/m, 'dry run: counts');

# the same with a suffix, through the API, and a re-run without the limit
($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--maildir', "$dir/big", '--max-message-size', '2K', $fix);
is($rc, 3, '2K: still too big');
like($out, qr/: 3 messages, 0 bytes, 0 new, 0 cur, 2 skipped, 1 failed/, '2K: the others already there');
$st = mbox_to_maildir($fix, "$dir/big", max_message_size => 4096);
is($st->{delivered}, 1, 'max_message_size 4096: the big one delivered now');
is($st->{failed}, 0, 'nothing failed');
ok(!eval { mbox_to_maildir($fix, "$dir/x", max_message_size => $_); 1 }, "max_message_size '$_' croaks")
  for ('0', '1K', '-5');
for my $bad ('0', '12X', '') {
	(undef, $err, $rc) = run_script('bin/mbox2vpopmail', '--maildir', "$dir/x", '--max-message-size', $bad, $fix);
	is($rc, 2, "--max-message-size '$bad': usage error");
	like($err, qr/^ERROR: bad --max-message-size/m, "'$bad': said why");
}

# From a pipe, a message without end (NUL bytes and no newline, as cat
# /dev/zero gives) followed by a normal one. With ulimit -f at 1100 KiB
# the writer fails with EFBIG ("cannot write") if its tmp/ file ever
# grows beyond the 1 MiB limit by more than the buffer; it must stop at
# the limit, then read past the rest and deliver the next message.
my $gen = spew("$dir/gen.pl", <<'PERL');
binmode STDOUT;
print "From z\@example.com Mon Jan  1 00:00:00 2001\nSubject: zeros\n\n";
my $zeros = "\0" x 65536;
print $zeros for 1 .. 160;     # 10 MiB
print "\n\nFrom y\@example.com Mon Jan  1 00:00:00 2001\nSubject: after\n\nafter the zeros\n";
PERL
# (bash: its ulimit -f counts KiB; dash's counts 512-byte blocks)
my $script = "ulimit -f 1100; '$^X' '$gen' | '$^X' -Mblib bin/mbox2vpopmail --maildir '$dir/pipe' "
  . "--max-message-size 1M --fsync none 2>'$dir/pipe.err'";
open my $sh, '-|', 'bash', '-c', $script or die "bash: $!";
$out = do { local $/; <$sh> };
close $sh;
is($? >> 8, 3, 'pipe: exit 3');
$err = slurp("$dir/pipe.err");
like($err, qr/^ERROR: stdin: message 1, offset 0: larger than the maximum message size of 1048576 bytes/m,
     'pipe: the endless message is an ERROR for itself');
unlike($err, qr/cannot write|File too large/, 'pipe: the tmp/ file never grew beyond the limit');
like($out, qr/^stdin: 2 messages, \d+ bytes, 1 new, 0 cur, 0 skipped, 1 failed/m, 'pipe: the next one delivered');
($big, $tmp) = maildir_files("$dir/pipe");
is_deeply([ map { $_->{content} } values %$big ], ["Subject: after\n\nafter the zeros\n"], 'pipe: its bytes');
is_deeply($tmp, [], 'pipe: no tmp/ file left');

done_testing;
