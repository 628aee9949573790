# Message boundaries, quoting and the bytes of each message, per fixture.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMFixture qw(read_mbox fixture);

$ENV{TZ} = 'UTC';
require POSIX;
POSIX::tzset();

my $r = read_mbox(fixture('body-from.mbox'));
is(scalar @{ $r->{msgs} }, 2, 'body From lines: two messages');
is($r->{format}, 'mboxo', 'guessed mboxo');
is($r->{msgs}[0]{content}, <<'EOT', 'quoted line unquoted, others untouched, separator gone');
Subject: quoted and unquoted body From lines
From: alice@example.com

A quoted line follows:
From the quoted line
An unquoted line that is no From_ line follows:
From here on, this is still the same message.
From nobody at all
Last line.
EOT
is($r->{msgs}[1]{content}, "Subject: second\n\nFrom  the first body line is not a From_ line either\n",
   'last message keeps its final newline (no separator at the end)');
is($r->{msgs}[0]{offset}, 0, 'offset of message 1');
is($r->{msgs}[1]{offset}, 288, 'offset of message 2');
is($r->{msgs}[0]{sender}, 'alice@example.com', 'sender');
is($r->{msgs}[1]{from_time}, 978436800, 'From_ date');
is($r->{msgs}[0]{size}, length $r->{msgs}[0]{content}, 'size is the output size');
is($r->{msgs}[0]{end_offset}, 288, 'end offset includes the separator');
# only the body line after a blank line is From_-like enough to report:
# "From " in mid-paragraph is ordinary text
is_deeply($r->{warning_lines},
	  [ 'WARNING: t/data/body-from.mbox: message 2, offset 351: From_-like line with no date kept inside message 2: no header field follows it' ],
	  'the From_-like first body line is reported, nothing else');

my %quoting = (
	mboxo   => ">From one\n>>From two\n>>>From three\n> From not quoted\n>From\nend\n",
	mboxcl  => ">From one\n>>From two\n>>>From three\n> From not quoted\n>From\nend\n",
	mboxrd  => "From one\n>From two\n>>From three\n> From not quoted\n>From\nend\n",
	mboxcl2 => ">From one\n>>From two\n>>>From three\n> From not quoted\n>From\nend\n",
);
$quoting{mboxo} =~ s/^>From one/From one/;
$quoting{mboxcl} =~ s/^>From one/From one/;
for my $fmt (sort keys %quoting) {
	my $q = read_mbox(fixture('quoting.mbox'), format => $fmt);
	is($q->{msgs}[0]{content}, "Subject: quoting\n\n$quoting{$fmt}", "quoting in $fmt");
}
is(read_mbox(fixture('quoting.mbox'))->{format}, 'mboxrd', '>>From guesses mboxrd');

$r = read_mbox(fixture('no-trailing-newline.mbox'));
is($r->{msgs}[0]{content}, "Subject: first\n\nbody one\n", 'separator removed');
is($r->{msgs}[1]{content}, "Subject: last, without final newline\n\nno newline here",
   'last message without final newline kept as it is');

$r = read_mbox(fixture('empty.mbox'));
is(scalar @{ $r->{msgs} }, 0, 'empty file: no message');
is_deeply($r->{warnings}, [], 'empty file: no warning');

$r = read_mbox(fixture('bad/garbage-before-from.mbox'));
is(scalar @{ $r->{msgs} }, 2, 'garbage kept as a message of its own');
ok(!$r->{msgs}[0]{has_from}, 'garbage message has no From_ line');
is($r->{msgs}[0]{content},
   "This is not an mbox header line.\nSome tool wrote this before the first From_ line.\n",
   'garbage bytes kept exactly, separator removed');
is($r->{msgs}[1]{content}, "Subject: real\n\nreal body\n", 'real message after it');
is_deeply($r->{warnings}, ['no-from'], 'garbage gives a no-from warning');
like($r->{warning_lines}[0], qr/^WARNING: t\/data\/bad\/garbage-before-from.mbox: message 1, offset 0: no From_ line/,
     'warning names file, message and offset');

$r = read_mbox(fixture('bad/blank-before-from.mbox'));
is(scalar @{ $r->{msgs} }, 1, 'leading blank lines are no message');
is($r->{msgs}[0]{content}, "Subject: after blank lines\n\nbody\n", 'message after blank lines');
is($r->{msgs}[0]{offset}, 2, 'its offset');
is_deeply($r->{warnings}, ['no-from'], 'skipped blank lines are reported');

$r = read_mbox(fixture('crlf.mbox'));
is(scalar @{ $r->{msgs} }, 2, 'CRLF: two messages');
is($r->{msgs}[0]{content}, "Subject: crlf one\r\n\r\nline one\r\nFrom quoted\r\n",
   'CRLF kept, Status removed, quoting undone, CRLF separator removed');
is($r->{msgs}[0]{flags}, 'S', 'CRLF: Status read');
is($r->{msgs}[1]{content}, "Subject: crlf two\r\n\r\nline two\r\n", 'CRLF: last message');
is($r->{msgs}[1]{from_time}, 978436800, 'CRLF: From_ date');

$r = read_mbox(fixture('from-dates.mbox'), timezone => 'UTC');
is(scalar @{ $r->{msgs} }, 10, 'From_ date variants: all are boundaries');
for my $m (@{ $r->{msgs} }) {
	my ($want, $what) = $m->{content} =~ /^Subject: (\d+) (.*)$/m;
	is($m->{from_time}, $want, "From_ date: $what");
}
$r = read_mbox(fixture('from-dates.mbox'), timezone => '+0200');
is($r->{msgs}[0]{from_time}, 978350400 - 7200, 'timezone option shifts dates without zone');
is($r->{msgs}[4]{from_time}, 978346800, 'but not dates that carry a zone');
$r = read_mbox(fixture('from-dates.mbox'), timezone => 'America/New_York');
is($r->{msgs}[0]{from_time}, 978350400 + 5 * 3600, 'named timezone');

done_testing;
