# Every module and script has valid POD (the man pages come from it).
use strict;
use warnings;
use Test::More;
use Pod::Checker ();

my @files = (glob('lib/MigrateMail.pm'), glob('lib/MigrateMail/*.pm'), glob('lib/MigrateMail/*/*.pm'),
	     glob('bin/*'));
for my $f (@files) {
	my $c = Pod::Checker->new(-warnings => 1);
	open my $null, '>', '/dev/null' or die;
	$c->parse_from_file($f, $null);
	is($c->num_errors, 0, "$f: POD without errors");
	my $text = do { local (@ARGV, $/) = $f; <> };
	like($text, qr/^=head1 NAME\n\n\S/m, "$f: has a NAME section");
}
done_testing;
