# The boundary rule on what real writers produce (t/data/real-*.mbox, one
# fixture per class): loose From_-like lines (no date, "From - ", Python's
# "From foo@bar blah", RFC 822 dates, no comma), any year, zone names,
# and the warning for every guess and for every From_-like line kept
# inside a message. Read by path and through a pipe: the same result.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMFixture qw(read_mbox fixture);
use MMRun qw(run_script);

$ENV{TZ} = 'UTC';
require POSIX;
POSIX::tzset();

# name => [ [ content, sender, from_time (undef: none), flags ] ...,
#           [ warning lines without "WARNING: path: " ] ]
my $G = 'guessed boundary';
my $BH = "$G: a blank line before it, a header field after it";
my %want = (
	'real-dateless.mbox' => [
		[ [ "Subject: a\n\nx\n", '', undef, '' ],
		  [ "Subject: b\n\ny\n", '', undef, '' ] ],
		[ "message 1, offset 0: message 1 starts at a From_ line with no date ($G: the start of the file)",
		  "message 2, offset 21: message 2 starts at a From_ line with no date ($BH)" ] ],
	'real-netscape.mbox' => [
		[ [ "X-Mozilla-Status: 0001\nSubject: read one\n\nx\n", '-', undef, 'S' ],
		  [ "X-Mozilla-Status: 0000\nSubject: unread one\n\ny\n", '-', undef, '' ],
		  [ "Subject: no blank line before this one\n\nz\n", '-', undef, '' ],
		  [ "Subject: last\n\nw\n", '-', undef, '' ] ],
		[ "message 1, offset 0: message 1 starts at a From_ line with no date ($G: the start of the file)",
		  "message 2, offset 53: message 2 starts at a From_ line with no date ($BH)",
		  "message 3, offset 108: message 3 starts at a From_ line with no date ($BH)",
		  'message 3, offset 158: message 3 ends here without the blank separator line: the From_ line here starts message 4',
		  "message 4, offset 158: message 4 starts at a From_ line with no date ($G: no strict From_ line before it, a header field after it)" ] ],
	'real-python-nodate.mbox' => [
		[ [ "Subject: python mailbox without a time\n\nbody one\n", 'foo@bar', undef, '' ],
		  [ "Subject: second\n\nbody two\n", 'foo@bar', undef, '' ] ],
		[ "message 1, offset 0: message 1 starts at a From_ line with no date ($G: the start of the file)",
		  "message 2, offset 68: message 2 starts at a From_ line with no date ($BH)" ] ],
	'real-dateless-later.mbox' => [
		[ [ "Subject: strict\n\nbody\n", 'alice@example.com', 978350400, '' ],
		  [ "Subject: dateless after a strict one\n\nbody\n", '', undef, '' ],
		  [ "Subject: python style\n\nbody\nFrom - \nSubject: no blank line before it: kept inside\n\nend\n",
		    'foo@bar', undef, '' ] ],
		[ "message 2, offset 71: message 2 starts at a From_ line with no date ($BH)",
		  "message 3, offset 121: message 3 starts at a From_ line with no date ($BH)",
		  'message 3, offset 167: From_-like line with no date kept inside message 3: no blank line before it, in a file with strict From_ lines' ] ],
	'real-rfc822-from.mbox' => [
		[ [ "Subject: RFC 822 date in the From_ line\n\nx\n", 'daemon@example.org', 1194757115, '' ],
		  [ "Subject: second\n\ny\n", 'daemon@example.org', 1194850800, '' ] ],
		[ "message 1, offset 0: message 1 starts at a From_ line with an RFC 822 date ($G: the start of the file)",
		  "message 2, offset 100: message 2 starts at a From_ line with an RFC 822 date ($BH)" ] ],
	'real-nocomma.mbox' => [
		[ [ "Subject: weekday day month, no comma\n\nx\n", '-', 1453672652, '' ],
		  [ "Subject: second\n\ny\n", '-', 1453708800, '' ] ],
		[ "message 1, offset 0: message 1 starts at a From_ line with an RFC 822 date ($G: the start of the file)",
		  "message 2, offset 73: message 2 starts at a From_ line with an RFC 822 date ($BH)" ] ],
	'real-zone-numeric.mbox' => [
		[ [ "Subject: zone name before the year, numeric zone after it\n\nx\n", 'a@example.com', 123232, '' ],
		  [ "Subject: the numeric zone wins\n\ny\n", 'b@example.com', 123232 - 7200, '' ] ],
		[] ],
	'real-wetdst.mbox' => [
		[ [ "Subject: first\n\none\n", 'root@archive.example', 899712000, '' ],
		  [ "Subject: must not be merged\n\ntwo\n", 'root@archive.example', 899839983, '' ],
		  [ "Subject: third\n\nthree\n", 'root@archive.example', 899884800, '' ] ],
		[] ],
	'real-unknown-zone.mbox' => [
		[ [ "Subject: known zone\n\nx\n", 'a@example.jp', 978350400 - 9 * 3600, '' ],
		  [ "Subject: unknown zone\n\ny\n", 'b@example.com', 978350400, '' ],
		  [ "Subject: another unknown zone, not reported again\n\nz\n", 'c@example.com', 978350400, '' ],
		  [ "Subject: ambiguous zone\n\nw\n", 'd@example.in', 978350400, '' ] ],
		[ 'message 2, offset 71: From_ line date with the unknown zone name "XYZT": read as if no zone were written (reported once per mailbox)' ] ],
	'real-1969.mbox' => [
		[ map { [ "Subject: $_->[0]\n\n$_->[1]\n", 'nobody', -1, '' ] }
		  [ 'one', 1 ], [ 'two', 2 ], [ 'three', 3 ] ],
		[] ],
	'real-1965.mbox' => [
		[ [ "Subject: mail from 1965\n\nold\n", 'alice@example.com', -157723200, '' ],
		  [ "Subject: and from 2201\n\nnew\n", 'bob@example.com', 7289654400, '' ] ],
		[] ],
	'real-body-from.mbox' => [
		[ [ "Subject: prose\n\nThe plan is simple.\n\nFrom here on, everything is prose.\n"
		    . "This line is still the first message.\n\n"
		    . "From daemon\@example.org Sun, 11 Nov 2007 06:58:35 +0200\n"
		    . "not a header: a dated line inside a body\n", 'alice@example.com', 978350400, '' ],
		  [ "Subject: second\n\nbody\n", 'bob@example.com', 978436800, '' ] ],
		[ 'message 1, offset 85: From_-like line with no date kept inside message 1: no header field follows it',
		  'message 1, offset 159: From_-like line with an RFC 822 date kept inside message 1: no header field follows it' ] ],
);

sub summary {
	my ($r) = @_;
	return [ map { [ @$_{qw(content sender from_time flags)} ] } @{ $r->{msgs} } ];
}

for my $f (sort keys %want) {
	my $path = fixture($f);
	my ($msgs, $warn) = @{ $want{$f} };
	my $r = read_mbox($path);
	is(scalar @{ $r->{msgs} }, scalar @$msgs, "$f: message count");
	is_deeply(summary($r), $msgs, "$f: bytes, senders, dates, flags");
	is_deeply($r->{warning_lines}, [ map { "WARNING: $path: $_" } @$warn ], "$f: warnings");
	open my $pipe, '-|', 'cat', $path or die "cat: $!";
	my $p = read_mbox($pipe, name => $path);
	close $pipe;
	is_deeply(summary($p), $msgs, "$f: the same through a pipe");
	is_deeply($p->{warning_lines}, $r->{warning_lines}, "$f: the same warnings through a pipe");
}

# The example of the issue, on stdin of mbox-scan.
my $dir = File::Temp::tempdir(CLEANUP => 1);
my ($out, $err, $st) = run_script('bin/mbox-scan', { stdin => fixture('real-dateless.mbox') }, '--summary');
is($out, "stdin: 2 messages, 28 bytes, 2 new, 0 cur, 0 pseudo, 2 warnings (mboxo)\n", 'mbox-scan: 2 messages');
is($err, "WARNING: stdin: message 1, offset 0: message 1 starts at a From_ line with no date ($G: the start of the file)\n"
   . "WARNING: stdin: message 2, offset 21: message 2 starts at a From_ line with no date ($BH)\n",
   'mbox-scan: the guesses, one WARNING line each');

# mbox2vpopmail: every guess in its output too, and the Maildir right.
($out, $err, $st) = run_script('bin/mbox2vpopmail', { stdin => fixture('real-body-from.mbox') },
			       '-v', '--maildir', "$dir/md", '--timezone', 'UTC');
is($st, 0, 'mbox2vpopmail: exit 0');
like($out . $err, qr/^WARNING: stdin: message 1, offset 85: From_-like line with no date kept inside message 1: no header field follows it$/m,
     'mbox2vpopmail: the From_-like line kept inside is a WARNING');
like($out . $err, qr/stdin: 2 messages, \d+ bytes, 2 new, 0 cur/, 'mbox2vpopmail: 2 messages');

sub mbox_file {
	my ($name, $data) = @_;
	open my $fh, '>:raw', "$dir/$name" or die "$dir/$name: $!";
	print {$fh} $data;
	close $fh or die;
	return "$dir/$name";
}

# Ambiguous zone names are reported as such.
my $r = read_mbox(mbox_file('ist.mbox', "From a Mon Jan  1 12:00:00 IST 2001\nSubject: x\n\ny\n"), name => 'mbox');
is_deeply($r->{warning_lines},
	  [ 'WARNING: mbox: message 1, offset 0: From_ line date with the ambiguous zone name "IST": read as if no zone were written (reported once per mailbox)' ],
	  'ambiguous zone name reported');

# A "From " line that cannot be a From_ line at the start of the file: the
# no-From_-line warning says which line and why.
$r = read_mbox(mbox_file('long.mbox', 'From ' . ('x' x 1100) . "\nSubject: x\n\ny\n"), name => 'mbox');
is(scalar @{ $r->{msgs} }, 1, 'over-long From line: one message');
is(length $r->{msgs}[0]{content}, 1106 + 14, 'every byte kept in it');
is_deeply($r->{warning_lines},
	  [ 'WARNING: mbox: message 1, offset 0: no From_ line: the line here starts "From " but has over 1024 bytes; bytes kept as a message of their own' ],
	  'no From_ line names the rejected line and why');

# From_-like lines that cannot be From_ lines, after a blank line: kept
# inside, each reported once.
$r = read_mbox(mbox_file('odd.mbox', "From a Mon Jan  1 12:00:00 2001\nSubject: x\n\n"
			 . "From a\x01b\nSubject: y\n\nFrom " . ('x' x 1100) . "\nend\n"), name => 'mbox');
is(scalar @{ $r->{msgs} }, 1, 'control bytes, over-long line: one message');
is_deeply($r->{warning_lines},
	  [ 'WARNING: mbox: message 1, offset 44: From_-like line with control characters kept inside message 1: it cannot be a From_ line',
	    'WARNING: mbox: message 1, offset 65: From_-like line with over 1024 bytes kept inside message 1: it cannot be a From_ line' ],
	  'each reported once, with why');

done_testing;
