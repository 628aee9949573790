# Bad input: warned about with file, message and offset; nothing lost.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMFixture qw(read_mbox fixture);

my $r = read_mbox(fixture('bad/nul.mbox'));
is(scalar @{ $r->{msgs} }, 2, 'NUL: both messages');
is($r->{msgs}[0]{content}, "Subject: nul\n\nbefore\0after\n", 'NUL byte kept');
is_deeply($r->{warnings}, ['nul'], 'NUL reported once');
like($r->{warning_lines}[0], qr/message 1, offset 68: message contains NUL bytes/, 'at its offset');

$r = read_mbox(fixture('bad/truncated-headers.mbox'));
is(scalar @{ $r->{msgs} }, 2, 'truncated: both messages');
is($r->{msgs}[1]{content}, 'Subject: truncated in the hea', 'truncated message kept as it is');
is_deeply($r->{warnings}, ['truncated'], 'truncation reported');
like($r->{warning_lines}[0], qr/message 2, offset \d+: file ends inside the header block/, 'with message number');

$r = read_mbox(fixture('bad/no-separator.mbox'));
is(scalar @{ $r->{msgs} }, 2, 'no separator: still two messages');
is($r->{msgs}[0]{content}, "Subject: one\n\nbody one\n", 'first message keeps its last line');
is_deeply($r->{warnings}, ['no-separator'], 'missing separator reported');

$r = read_mbox(fixture('bad/binary.mbox'));
my @from = do { open my $fh, '<:raw', fixture('bad/binary.mbox'); local $/; <$fh> } =~ /^From /mg;
is(scalar @{ $r->{msgs} }, scalar @from, 'binary: no split inside random bytes');
is($r->{msgs}[0]{size}, length($r->{msgs}[0]{content}), 'binary: size');
is($r->{msgs}[-1]{content}, "Subject: after binary\n\nok\n", 'binary: message after it intact');

# A header block bigger than the window is passed on, not lost.
my $dir = tempdir(CLEANUP => 1);
my $hdrs = join '', map { "X-Filler-$_: " . ('h' x 100) . "\n" } 1 .. 1000;
open my $out, '>:raw', "$dir/long-header.mbox" or die;
print $out "From a\@example.com Mon Jan  1 12:00:00 2001\n", $hdrs, "Status: RO\n\nbody\n";
close $out;
$r = read_mbox("$dir/long-header.mbox", buffer_max => 65536);
is($r->{msgs}[0]{content}, "${hdrs}Status: RO\n\nbody\n", 'long header block kept whole');
is_deeply($r->{warnings}, ['long-header'], 'long header block reported');

# A header line of several MB, and a file that is one huge line.
open $out, '>:raw', "$dir/huge-line.mbox" or die;
print $out "From a\@example.com Mon Jan  1 12:00:00 2001\nX-Huge: ", 'z' x (6 << 20), "\n\nbody\n";
close $out;
$r = read_mbox("$dir/huge-line.mbox");
is(length $r->{msgs}[0]{content}, 8 + (6 << 20) + 7, 'huge header line kept');
is_deeply($r->{warnings}, ['long-header'], 'huge header line reported');
open $out, '>:raw', "$dir/one-line.mbox" or die;
print $out 'q' x (5 << 20);
close $out;
$r = read_mbox("$dir/one-line.mbox");
is(scalar @{ $r->{msgs} }, 1, 'a file without any From_ line is one message');
is(length $r->{msgs}[0]{content}, 5 << 20, 'all of it');

# Found by the fuzzer: a Content-Length too big for any integer.
for my $fmt (qw(mboxcl2 mboxo)) {
	$r = read_mbox(fixture('bad/fuzz-clen-overflow.mbox'), format => $fmt);
	is($r->{msgs}[0]{content_length}, undef, "$fmt: overflowing Content-Length ignored");
	# the sixth starts at a loose From_ line ("From a0:00 MET 2001")
	# after a blank line with a header field after it
	is(scalar @{ $r->{msgs} }, 6, "$fmt: messages still found by From_ lines");
}

# Errors: a missing file, a bad option, a directory.
ok(!eval { MigrateMail::Mbox->new("$dir/missing"); 1 }, 'missing file croaks');
like($@, qr{^ERROR: \Q$dir\E/missing: cannot open mbox: No such file}, 'naming the file');
ok(!eval { MigrateMail::Mbox->new(fixture('empty.mbox'), format => 'mboxzz'); 1 }, 'bad format croaks');
like($@, qr/^ERROR: unknown mbox format 'mboxzz'/, 'naming it');
ok(!eval { MigrateMail::Mbox->new(fixture('empty.mbox'), colour => 1); 1 }, 'unknown option croaks');
ok(!eval { MigrateMail::Mbox->new(fixture('empty.mbox'), timezone => 'Mars/Base'); 1 }, 'bad timezone croaks');
ok(!eval { my $m = MigrateMail::Mbox->new($dir); $m->next; 1 }, 'a directory croaks');
like($@, qr/^ERROR: \Q$dir\E: not a regular file: refused/, 'with the reason, at open');

done_testing;
