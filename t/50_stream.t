# Streaming: big messages, long lines, pipes and stdin, chunked reading.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Digest::MD5 qw(md5_hex);
use lib 't/lib';
use MMFixture qw(read_mbox fixture);

my $dir = tempdir(CLEANUP => 1);
my $from1 = "From alice\@example.com Mon Jan  1 12:00:00 2001\n";
my $from2 = "From bob\@example.com Tue Jan  2 12:00:00 2001\n";

# A 6 MB message of 1000-byte lines, with quoted From_ lines scattered,
# and one 5 MB line without any newline in a second message.
my $body = '';
for my $i (1 .. 6000) {
	$body .= $i % 997 == 0 ? ">From line $i Mon Jan  1 12:00:00 2001\n"
				: sprintf("%-999s\n", "line $i");
}
(my $want1 = "Subject: big\n\n$body") =~ s/^>From /From /mg;
my $long = 'x' x (5 * 1024 * 1024);
my $path = "$dir/big.mbox";
open my $out, '>:raw', $path or die $!;
print $out $from1, "Subject: big\n\n", $body, "\n", $from2, "Subject: long line\n\n", $long, "\n\n";
close $out;
my $want2 = "Subject: long line\n\n$long\n";

for my $case ([ 'path', sub { $path } ], [ 'pipe', sub { open my $fh, '-|', 'cat', $path or die; $fh } ]) {
	for my $bufmax (0, 65536) {
		my $what = "$case->[0], buffer_max $bufmax";
		my $mbox = MigrateMail::Mbox->new($case->[1]->(), buffer_max => $bufmax);
		my $m = $mbox->next;
		my ($n, $got, $max) = (0, '', 0);
		while (defined(my $c = $m->read_chunk)) {
			$n++;
			$max = length $c if length $c > $max;
			$got .= $c;
		}
		is(md5_hex($got), md5_hex($want1), "$what: big message bytes");
		is($m->size, length $want1, "$what: size");
		cmp_ok($n, '>', 1, "$what: came in several chunks");
		cmp_ok($max, '<=', 4 * 1024 * 1024, "$what: no chunk bigger than the window");
		$m = $mbox->next;
		open my $mem, '>:raw', \my $buf or die;
		my $written = $m->write_to($mem);
		close $mem;
		is($written, length $want2, "$what: write_to count");
		ok($buf eq $want2, "$what: 5 MB line streamed exactly");
		is($mbox->next, undef, "$what: end");
		is_deeply([ map { $_->{code} } $mbox->warnings ], [], "$what: no warnings");
	}
}

# Standard input, as "mbox2vpopmail user < mboxfile" reads it.
{
	open my $save, '<&', \*STDIN or die;
	open STDIN, '<', fixture('body-from.mbox') or die;
	my $r = read_mbox(\*STDIN);
	open STDIN, '<&', $save or die;
	is(scalar @{ $r->{msgs} }, 2, 'stdin: two messages');
	is($r->{msgs}[1]{content}, "Subject: second\n\nFrom  the first body line is not a From_ line either\n",
	   'stdin: bytes');
}

# Content is there once, while the message is current.
{
	my $mbox = MigrateMail::Mbox->new(fixture('body-from.mbox'));
	my $m1 = $mbox->next;
	is($m1->size, 238, 'size before content skips the content');
	ok(!eval { $m1->content; 1 }, 'content after size croaks');
	like($@, qr/^ERROR: t\/data\/body-from.mbox: message 1: content no longer available/, 'with a clear error');
	my $m2 = $mbox->next;
	ok(!eval { $m1->write_to(\*STDERR); 1 }, 'an earlier message cannot be read');
	is(length $m2->content, $m2->size, 'current message reads');
}

done_testing;
