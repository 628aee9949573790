# The malformed-input corpus, t/data/bad/: each file gives the warnings
# t/data/bad/expected.txt says, and nothing is lost: every byte of every
# message kept reaches the Maildir (proved by verification); but a file
# without any From_ line is not an mbox: converting it is refused.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMFixture qw(read_mbox);
use MigrateMail qw(mbox_to_maildir);

my $dir = tempdir(CLEANUP => 1);
open my $fh, '<', 't/data/bad/expected.txt' or die;
my %want;
while (<$fh>) {
	next if /^\s*(?:#|$)/;
	my ($file, $n, $codes) = split;
	$want{$file} = [ $n, $codes eq '-' ? [] : [ split /,/, $codes ] ];
}
opendir my $d, 't/data/bad' or die;
my @files = sort grep { /\.mbox$/ } readdir $d;
is_deeply(\@files, [ sort keys %want ], 'every file of the corpus has its expectation');
for my $f (@files) {
	my $path = "t/data/bad/$f";
	my $r = read_mbox($path);
	is(scalar @{ $r->{msgs} }, $want{$f}[0], "$f: messages kept");
	is_deeply($r->{warnings}, $want{$f}[1], "$f: warnings");
	like($_, qr/^WARNING: \Q$path\E: (?:message \d+, )?offset \d+: \S/, "$f: warning names file and offset")
	  for @{ $r->{warning_lines} };
	my $st = mbox_to_maildir($path, "$dir/$f", verify => 1, lock => 'none');
	if ($f eq 'no-from-at-all.mbox') {
		# not an mbox at all: refused, nothing delivered (exit 3 of
		# mbox2vpopmail, t/360)
		like($st->{error}, qr/^ERROR: \Q$path\E: not an mbox: no From_ line/, "$f: refused");
		is($st->{fatal}{class}, 'admin', "$f: for the admin");
		ok(!-e "$dir/$f", "$f: no Maildir made");
		next;
	}
	is($st->{error}, undef, "$f: converted without error");
	is($st->{verified}, $want{$f}[0], "$f: every message in the Maildir, byte for byte");
}
done_testing;
