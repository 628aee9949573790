# MMDF mailboxes: messages between lines of four Ctrl-A bytes, nothing
# quoted; recognised by --format auto; a missing closing line and bytes
# between messages are warnings, never lost bytes.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMFixture qw(read_mbox fixture);
use MMRun qw(run_script slurp spew);
use MigrateMail qw(mbox_to_maildir);

my $dir = tempdir(CLEANUP => 1);

sub summary {
	my ($r) = @_;
	return [ map { [ @$_{qw(content flags in_cur offset end_offset has_from sender)},
			 $_->{from_time} // $_->{date} // '-' ] } @{ $r->{msgs} } ];
}

my %want = (
	'mmdf.mbox' => [
		[ "Return-Path: <alice\@example.com>\nFrom: Alice <alice\@example.com>\n"
		  . "Date: Mon, 1 Jan 2001 12:00:00 +0000\nSubject: one\n\nFrom the body: MMDF quotes "
		  . "nothing\n>From stays as it is\n\nFrom bob\@example.com Mon Jan  1 12:00:00 2001\n"
		  . "is a body line too\n", 'RS', 1, 0, 271, 0, '', 978350400 ],
		[ "Date: Tue, 2 Jan 2001 09:00:00 +0100\nSubject: two\n\nsecond\n", '', 0, 271, 387, 1,
		  'carol@example.com', 978422400 ],
		[ "Subject: three, no blank line before the closing one\n", '', 1, 388, 461, 0, '', '-' ],
	],
	'mmdf-crlf.mbox' => [
		[ "Subject: crlf one\r\nDate: Wed, 3 Jan 2001 10:00:00 +0000\r\n\r\nbody one\r\n\r\n",
		  '', 0, 0, 83, 0, '', 978516000 ],
		[ "Subject: crlf two\r\n\r\nbody two\r\n", '', 0, 83, 126, 0, '', '-' ],
	],
	'mmdf-unclosed.mbox' => [
		[ "Subject: closed\n\nfine\n", '', 0, 0, 32, 0, '', '-' ],
		[ "bytes between messages\n", '', 0, 32, 55, 0, '', '-' ],
		[ "Subject: never closed\n\nthe file ends here\n", '', 0, 55, 102, 0, '', '-' ],
	],
);
my %warn = (
	'mmdf-unclosed.mbox' => [
		'message 2, offset 32: bytes without a \1\1\1\1 line before them: kept as a message of their own',
		'message 3, offset 102: the file ends inside the message: its closing \1\1\1\1 line is '
		. 'missing (kept whole)' ],
);
for my $f (sort keys %want) {
	my $path = fixture($f);
	for my $how ('auto', 'mmdf', 'pipe') {
		my ($src, %o) = ($path, name => 'mb');
		if ($how eq 'pipe') {
			open my $fh, '-|', 'cat', $path or die;
			$src = $fh;
		}
		$o{format} = 'mmdf' if $how eq 'mmdf';
		my $r = read_mbox($src, %o);
		is($r->{format}, 'mmdf', "$f ($how): mmdf");
		is_deeply(summary($r), $want{$f}, "$f ($how): messages, bytes, flags, offsets, dates");
		is_deeply($r->{warning_lines}, [ map { "WARNING: mb: $_" } @{ $warn{$f} || [] } ],
			  "$f ($how): warnings");
	}
	my $st = mbox_to_maildir($path, "$dir/$f", verify => 1, lock => 'none', fsync => 'none');
	is($st->{error}, undef, "$f: converted");
	is($st->{verified}, scalar @{ $want{$f} }, "$f: every message in the Maildir, byte for byte");
	is($st->{format}, 'mmdf', "$f: the report says mmdf");
	is($st->{format_reason}, 'mmdf: starts with a line of four Ctrl-A bytes', "$f: and why");
}

# Blank lines before the first separator are skipped as in an mbox.
my $lead = spew("$dir/lead.mmdf", "\n\1\1\1\1\nSubject: a\n\nx\n\1\1\1\1\n");
my $r = read_mbox($lead);
is($r->{format}, 'mmdf', 'blank line first: still mmdf');
is_deeply([ map { $_->{content} } @{ $r->{msgs} } ], [ "Subject: a\n\nx\n" ], 'blank line first: the message');
is_deeply($r->{warnings}, ['no-from'], 'blank line first: said');

# A lone separator at the end opens nothing; an empty file has nothing.
$r = read_mbox(spew("$dir/trail.mmdf", "\1\1\1\1\nSubject: a\n\nx\n\1\1\1\1\n\1\1\1\1\n"));
is(scalar @{ $r->{msgs} }, 1, 'trailing separator: 1 message');
is_deeply($r->{warning_lines}, [ "WARNING: $dir/trail.mmdf: message 1, offset 24: a \\1\\1\\1\\1 line at the "
				 . 'end of the file opens no message (ignored)' ], 'trailing separator: said');

# An mbox read as MMDF on purpose: one message, said, nothing lost.
$r = read_mbox(fixture('quoting.mbox'), format => 'mmdf');
is(scalar @{ $r->{msgs} }, 1, 'an mbox as mmdf: one message');
is("From alice\@example.com Mon Jan  1 12:00:00 2001\n" . $r->{msgs}[0]{content}, slurp(fixture('quoting.mbox')),
   'an mbox as mmdf: every byte but its From_ line, nothing unquoted');
is($r->{msgs}[0]{sender}, 'alice@example.com', 'an mbox as mmdf: the From_ line as envelope');
is_deeply($r->{warnings}, ['mmdf-separator'], 'an mbox as mmdf: said');

# The scripts take --format mmdf
my ($out, $err, $st) = run_script('bin/mbox-scan', '-s', '--format', 'mmdf', fixture('mmdf.mbox'));
is($out, "t/data/mmdf.mbox: 3 messages, 349 bytes, 1 new, 2 cur, 0 pseudo, 0 warnings (mmdf)\n",
   'mbox-scan --format mmdf');
($out, $err, $st) = run_script('bin/mbox2vpopmail', '--format', 'mmdf', '--maildir', "$dir/md",
			       '--fsync', 'none', fixture('mmdf-crlf.mbox'));
is($st, 0, 'mbox2vpopmail --format mmdf: exit 0') or diag $err;
like($out, qr/: 2 messages, 102 bytes, 2 new, 0 cur,/, 'mbox2vpopmail --format mmdf: 2 messages');
($out, $err, $st) = run_script('bin/mbox2vpopmail', '--format', 'mmdfx', '--maildir', "$dir/md",
			       fixture('mmdf-crlf.mbox'));
like($err, qr/^ERROR: bad --format 'mmdfx'/m, 'a bad --format is refused');

done_testing;
