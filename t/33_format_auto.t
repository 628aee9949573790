# --format auto decides from the whole file, whatever the buffer size:
# an mboxrd file whose first '>>From ' line lies past the first MiB (and
# past a 64 KiB window), mboxcl against mboxcl2, a mailbox no variant
# reads right, and a pipe, decided from its first MiB and watched after.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();
use lib 't/lib';
use MMFixture qw(read_mbox fixture);
use MMRun qw(run_script slurp spew);

my $dir = tempdir(CLEANUP => 1);

# An mboxrd spool of $n messages: every body has a quoted From line
# ('From ' written as '>From '), and from message $deep on every 16th
# also one that was '>From ' before the writer quoted it ('>>From ').
sub deep_mboxrd {
	my ($path, $n, $deep) = @_;
	my (@want, $data);
	for my $i (1 .. $n) {
		my $twice = $i >= $deep && $i % 16 == 0;
		my $body = "line\n" x 80 . ">From a body line of $i\n"
		  . ($twice ? ">>From quoted in $i\n" : '') . "end\n";
		$data .= "From u$i\@example.com Mon Jan  1 12:00:00 2001\nSubject: m $i\n\n$body\n";
		(my $c = "Subject: m $i\n\n$body") =~ s/^>(>*From )/$1/mg;
		push @want, $c;
	}
	spew($path, $data);
	return \@want;
}

sub contents { [ map { $_->{content} } @{ $_[0]{msgs} } ] }

# The file of the issue: the first '>>From ' at offset 1195010, 1.4 MiB
# into a 1.5 MB file; 37 messages carry one.
my $rd = "$dir/deep-rd.mbox";
my $want = deep_mboxrd($rd, 3000, 2416);
is(index(slurp($rd), "\n>>From "), 1195009, 'the first >>From line lies past the first MiB');
my $reason = "mboxrd: no Content-Length, 37 '>>From ' lines (the first at offset 1195010), "
  . "3000 '>From ' lines (whole file, 1485493 bytes)";
for my $buf (65536, 1 << 20, undef) {
	my $label = 'buffer_max ' . ($buf // 'default');
	my $r = read_mbox($rd, defined $buf ? (buffer_max => $buf) : ());
	is($r->{format}, 'mboxrd', "deep mboxrd, $label: mboxrd");
	is(scalar @{ $r->{msgs} }, 3000, "deep mboxrd, $label: 3000 messages");
	is_deeply(contents($r), $want, "deep mboxrd, $label: every message exact (37 lose one '>')");
	is_deeply($r->{warnings}, [], "deep mboxrd, $label: no warning");
	my $m = MigrateMail::Mbox->new($rd, defined $buf ? (buffer_max => $buf) : ());
	$m->next;
	is($m->format_reason, $reason, "deep mboxrd, $label: the reason");
}
like(contents(read_mbox($rd))->[2415], qr/^>From quoted in 2416$/m, 'message 2416: >>From read as >From');

# A pipe: decided from its first MiB (the same whatever buffer_max), then
# the first contradicting line is a WARNING naming message and offset.
for my $buf (65536, undef) {
	open my $fh, '-|', 'cat', $rd or die;
	my $r = read_mbox($fh, name => 'pipe', defined $buf ? (buffer_max => $buf) : ());
	my $label = 'buffer_max ' . ($buf // 'default');
	is($r->{format}, 'mboxo', "deep mboxrd on a pipe, $label: assumed mboxo");
	is(scalar @{ $r->{msgs} }, 3000, "deep mboxrd on a pipe, $label: 3000 messages");
	is_deeply($r->{warning_lines}, [
		"WARNING: pipe: message 2416, offset 1195010: a '>>From ' line (an mboxrd writer's quoting) "
		. 'while reading as mboxo, a variant assumed from the start of a pipe: if the mbox is '
		. 'mboxrd, read it again with --format mboxrd (or from a file)' ],
		  "deep mboxrd on a pipe, $label: the WARNING");
	my @diff = grep { contents($r)->[$_] ne $want->[$_] } 0 .. 2999;
	is(scalar @diff, 37, "deep mboxrd on a pipe, $label: the 37 messages the warning is about differ");
}
{
	open my $fh, '-|', 'cat', $rd or die;
	my $m = MigrateMail::Mbox->new($fh, buffer_max => 65536);
	$m->next;
	is($m->format_reason, "mboxo: no Content-Length, no '>>From ' line, 2120 '>From ' lines "
	   . '(assumed from the first 1048576 bytes of a pipe)', 'a pipe: the reason says what was assumed');
}

# A file that fits the pipe's sample: a pipe reads it as the path does,
# with a 64 KiB window too (the first '>>From ' is past 64 KiB).
my $small = "$dir/small-rd.mbox";
my $swant = deep_mboxrd($small, 600, 400);
ok(index(slurp($small), "\n>>From ") > 65536, 'small: the first >>From past 64 KiB');
for my $buf (65536, undef) {
	my $label = 'buffer_max ' . ($buf // 'default');
	open my $fh, '-|', 'cat', $small or die;
	my $p = read_mbox($fh, defined $buf ? (buffer_max => $buf) : ());
	my $f = read_mbox($small, defined $buf ? (buffer_max => $buf) : ());
	is($p->{format}, 'mboxrd', "small on a pipe, $label: mboxrd");
	is_deeply(contents($p), $swant, "small on a pipe, $label: every message exact");
	is_deeply(contents($f), $swant, "small by path, $label: the same");
	is_deeply($p->{warnings}, [], "small on a pipe, $label: no warning");
}
{
	open my $fh, '-|', 'cat', $small or die;
	my $m = MigrateMail::Mbox->new($fh);
	$m->next;
	like($m->format_reason, qr/^mboxrd: no Content-Length, 13 '>>From ' lines \(the first at offset \d+\), 600 '>From ' lines \(all 295\d+ bytes of a pipe\)$/,
	     'small on a pipe: the reason says the whole stream was seen');
}

# mboxcl2 (no quoting: a From_ line in a body, kept whole by its
# Content-Length) against mboxcl (mutt: every From line quoted).
my $r = read_mbox(fixture('mboxcl2.mbox'));
is($r->{format}, 'mboxcl2', 'mboxcl2.mbox: mboxcl2');
is_deeply(contents($r), [
	"Subject: cl2 one\n\nSolaris mail.local quotes nothing:\n\nFrom bob\@example.com Mon Jan  1 11:00:00 2001\n"
	. "is a body line, kept by Content-Length\n>From stays quoted\n",
	"Subject: cl2 two\n\nFrom the second body\n" ], 'mboxcl2.mbox: 2 messages, nothing unquoted');
is_deeply($r->{warnings}, [], 'mboxcl2.mbox: no warning');
$r = read_mbox(fixture('mboxcl.mbox'));
is($r->{format}, 'mboxcl', 'mboxcl.mbox: mboxcl');
is_deeply(contents($r), [
	"Subject: cl one\n\nmutt quotes every From line:\n\nFrom bob\@example.com Mon Jan  1 11:00:00 2001\n"
	. "From the desk\n>>From stays\n",
	"Subject: cl two\n\nFrom the second body\n" ], 'mboxcl.mbox: 2 messages, >From unquoted');
is_deeply($r->{warnings}, [], 'mboxcl.mbox: no warning');
{
	my $m = MigrateMail::Mbox->new(fixture('mboxcl2.mbox'));
	$m->next;
	is($m->format_reason, "mboxcl2: 1 of 1 messages with a Content-Length, 1 of them landing on the "
	   . "next message, 1 From_ lines inside them (the first at offset 133), 1 unquoted 'From ' "
	   . "lines in those bodies, no '>>From ' line, 1 '>From ' lines (decided from the first 238 "
	   . 'bytes of the file, whatever follows)', 'mboxcl2.mbox: the reason (the scan stops early)');
	$m = MigrateMail::Mbox->new(fixture('mboxcl.mbox'), format => 'mboxrd');
	$m->next;
	is($m->format_reason, 'mboxrd: as asked for', 'an explicit format: as asked for');
}

# A mailbox no variant reads right: mboxcl2 messages, then one appended
# by an mboxo writer without Content-Length.
my $mixed = "$dir/mixed.mbox";
spew($mixed, slurp(fixture('mboxcl2.mbox'))
     . "From dave\@example.com Wed Jan  3 12:00:00 2001\nSubject: mboxo\n\n>From quoted by mail.local\n\n");
$r = read_mbox($mixed);
is($r->{format}, 'mboxcl2', 'mixed: mboxcl2');
is(contents($r)->[2], "Subject: mboxo\n\n>From quoted by mail.local\n", 'mixed: the mboxo message as stored');
is_deeply($r->{warning_lines}, [
	"WARNING: $mixed: message 3, offset 408: a '>From ' line in a message without a Content-Length "
	. '(quoted by an mboxo writer?) while reading as mboxcl2, a variant decided from the start of '
	. 'the file: if the mbox is mboxcl, read it again with --format mboxcl' ],
	  'mixed: the WARNING names the message and offset');
# ... and when the scan sees it all (no From_ line kept in by a
# Content-Length: mboxcl2 by the half rule), the scan says it
my $mixed2 = "$dir/mixed2.mbox";
spew($mixed2, "From a\@example.com Mon Jan  1 12:00:00 2001\nContent-Length: 14\n\nFrom the desk\n\n"
     . "From b\@example.com Mon Jan  1 12:00:00 2001\nSubject: mboxo\n\n>From quoted\n\n");
$r = read_mbox($mixed2);
is($r->{format}, 'mboxcl2', 'mixed, 1 of 2 with Content-Length: mboxcl2');
is_deeply($r->{warning_lines}, [
	"WARNING: $mixed2: message 2, offset 139: --format auto: mboxcl2 (Content-Length), but 1 '>From ' "
	. "lines in messages without one are left quoted as mboxcl2 does; if they were quoted by the "
	. 'writer, use --format mboxcl' ], 'mixed, 1 of 2: the WARNING from the scan');

# The scan stops at a From_ line that only a Content-Length keeps in a
# body (mboxcl2 whatever follows); the rest is watched: the mboxo
# message after it is the same WARNING, from the reader.
my $stop = "$dir/stop.mbox";
spew($stop, slurp(fixture('mboxcl2.mbox')) . ("From e\@example.com Thu Jan  4 12:00:00 2001\nSubject: n\n\nx\n\n" x 3)
     . "From dave\@example.com Wed Jan  3 12:00:00 2001\nSubject: mboxo\n\n>From quoted by mail.local\n\n");
for my $how ('path', 'pipe') {
	my $src = $stop;
	if ($how eq 'pipe') {
		open my $fh, '-|', 'cat', $stop or die;
		$src = $fh;
	}
	my $m = MigrateMail::Mbox->new($src, name => 'mb');
	my @c;
	while (my $x = $m->next) {
		push @c, $x->content;
	}
	is($m->format, 'mboxcl2', "early stop ($how): mboxcl2");
	is($c[5], "Subject: mboxo\n\n>From quoted by mail.local\n", "early stop ($how): the last message as stored");
	is_deeply([ map { $_->{message} } $m->warnings ], [
		"WARNING: mb: message 6, offset 585: a '>From ' line in a message without a Content-Length "
		. '(quoted by an mboxo writer?) while reading as mboxcl2, a variant '
		. ($how eq 'pipe' ? 'assumed from the start of a pipe' : 'decided from the start of the file')
		. ': if the mbox is mboxcl, read it again with --format mboxcl'
		. ($how eq 'pipe' ? ' (or from a file)' : '') ], "early stop ($how): the WARNING");
	is($m->format_reason, "mboxcl2: 1 of 1 messages with a Content-Length, 1 of them landing on the next message, "
	   . "1 From_ lines inside them (the first at offset 133), 1 unquoted 'From ' lines in those bodies, "
	   . "no '>>From ' line, 1 '>From ' lines (decided from the first 238 bytes of the file, whatever follows)",
	   "early stop ($how): the reason") if $how eq 'path';
}

# A Content-Length that lands while a pipe is read as mboxo (after the
# sample): a WARNING (a path decides from the whole file: no warning).
my $late = "$dir/late-clen.mbox";
{
	my $data = '';
	$data .= "From a\@example.com Mon Jan  1 12:00:00 2001\nSubject: $_\n\n" . ("x" x 70 . "\n") x 20 . "\n"
	  for 1 .. 800;
	my $off = length $data;
	$data .= "From b\@example.com Mon Jan  1 12:00:00 2001\nSubject: cl\nContent-Length: 6\n\nshort\n\n";
	$data .= "From c\@example.com Mon Jan  1 12:00:00 2001\nSubject: last\n\nend\n";
	spew($late, $data);
	open my $fh, '-|', 'cat', $late or die;
	$r = read_mbox($fh, name => 'pipe');
	is($r->{format}, 'mboxo', 'late Content-Length on a pipe: mboxo');
	is(scalar @{ $r->{msgs} }, 802, 'late Content-Length on a pipe: 802 messages');
	my $t = $off + 44 + 12 + 18 + 1 + 6;
	is_deeply($r->{warning_lines}, [
		"WARNING: pipe: message 801, offset $t: a Content-Length that lands exactly on the next "
		. 'message while reading as mboxo, a variant assumed from the start of a pipe: if the mbox '
		. 'is mboxcl2, read it again with --format mboxcl2 (or from a file)' ],
		  'late Content-Length on a pipe: the WARNING');
	$r = read_mbox($late);
	is($r->{format}, 'mboxo', 'late Content-Length by path: mboxo (1 of 802 messages has one)');
	is_deeply($r->{warnings}, [], 'late Content-Length by path: no warning');
}

# The scripts: mbox-scan -v and mbox2vpopmail -v / --report
my ($out, $err, $st) = run_script('bin/mbox-scan', '-s', '-v', fixture('mboxcl.mbox'));
is($out, 't/data/mboxcl.mbox: 2 messages, 158 bytes, 1 new, 1 cur, 0 pseudo, 0 warnings (mboxcl: 2 of 2 '
   . "messages with a Content-Length, 2 of them landing on the next message, 1 '>>From ' lines (the "
   . "first at offset 187), 3 '>From ' lines (whole file, 308 bytes))\n", 'mbox-scan -v: the reason');
($out) = run_script('bin/mbox-scan', '-s', fixture('mboxcl.mbox'));
like($out, qr/ 0 warnings \(mboxcl\)\n\z/, 'mbox-scan: the variant only');
($out, $err, $st) = run_script('bin/mbox2vpopmail', '-v', '--maildir', "$dir/md", '--fsync', 'none',
			       '--report', "$dir/report.json", $rd);
is($st, 0, 'mbox2vpopmail: exit 0') or diag $err;
like($out, qr/^\Q$rd\E: 3000 messages, .* format mboxrd \(\Q$reason\E\), durability none/m,
     'mbox2vpopmail -v: the variant and why in the summary line');
my $rep = JSON::PP->new->decode(slurp("$dir/report.json"));
is($rep->{mailboxes}[0]{format}, 'mboxrd', 'report: format');
is($rep->{mailboxes}[0]{format_reason}, $reason, 'report: format_reason');

done_testing;
