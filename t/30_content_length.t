# Content-Length (mboxcl, mboxcl2): trusted only when it lands exactly.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMFixture qw(read_mbox fixture);

for my $fmt ('auto', 'mboxcl2') {
	my $r = read_mbox(fixture('clen-good.mbox'), format => $fmt);
	is($r->{format}, 'mboxcl2', "$fmt: variant") ;
	is(scalar @{ $r->{msgs} }, 3, "$fmt: a From_ line inside a Content-Length body does not split");
	is($r->{msgs}[0]{content}, "Subject: contains a From_ line\n\nForwarded mailbox:\n"
	   . "From carol\@example.com Wed Jan  3 12:00:00 2001\nstill the first message\n",
	   "$fmt: body kept whole, Content-Length header removed");
	is($r->{msgs}[0]{content_length}, 91, "$fmt: content_length");
	ok($r->{msgs}[0]{clen_used}, "$fmt: boundary found by Content-Length");
	is($r->{msgs}[1]{content}, "Subject: body without final newline\n\nno final newline",
	   "$fmt: body without final newline stays without");
	is($r->{msgs}[2]{content}, "Subject: empty body\n\n", "$fmt: Content-Length 0");
	is_deeply($r->{warnings}, [], "$fmt: no warnings");
}

# mboxo ignores Content-Length: the From_ line in the body splits.
my $r = read_mbox(fixture('clen-good.mbox'), format => 'mboxo');
is(scalar @{ $r->{msgs} }, 4, 'mboxo: Content-Length ignored, From_ line splits');
is($r->{msgs}[0]{content}, "Subject: contains a From_ line\n\nForwarded mailbox:\n",
   'mboxo: first part');

$r = read_mbox(fixture('clen-good.mbox'), format => 'mboxcl2', keep_headers => 1);
like($r->{msgs}[0]{content}, qr/^Content-Length: 91\n/, 'keep_headers keeps Content-Length');

$r = read_mbox(fixture('bad/clen-lying.mbox'), format => 'mboxcl2');
is(scalar @{ $r->{msgs} }, 2, 'lying Content-Length: From_ lines decide');
is($r->{msgs}[0]{content}, "Subject: Content-Length too short\n\nshort body\nsecond line\n",
   'too short: whole message kept');
ok(!$r->{msgs}[0]{clen_used}, 'too short: not used');
is($r->{msgs}[1]{content}, "Subject: Content-Length beyond the end\n\nbody two\n",
   'beyond the end: message kept');
is_deeply($r->{warnings}, [ 'bad-content-length', 'bad-content-length' ], 'both reported');
like($r->{warning_lines}[0], qr/message 1, offset 0: Content-Length 5 does not end/, 'warning text');

# Through a pipe the landing is checked in the read-ahead window.
open my $fh, '-|', 'cat', fixture('clen-good.mbox') or die $!;
$r = read_mbox($fh, format => 'mboxcl2', name => 'pipe');
is(scalar @{ $r->{msgs} }, 3, 'pipe: Content-Length checked in the window');
is_deeply($r->{warnings}, [], 'pipe: no warnings');
open $fh, '-|', 'cat', fixture('bad/clen-lying.mbox') or die $!;
$r = read_mbox($fh, format => 'mboxcl2', name => 'pipe');
is(scalar @{ $r->{msgs} }, 2, 'pipe: lying Content-Length ignored');
is_deeply($r->{warnings}, [ 'bad-content-length', 'bad-content-length' ], 'pipe: reported');

done_testing;
