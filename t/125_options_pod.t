# Every option mbox2vpopmail accepts is documented in the OPTIONS of
# its POD (--help and --man come from there), by each of its names.
use strict;
use warnings;
use Test::More;
use MigrateMail::Mbox2Vpopmail ();

open my $fh, '<', 'bin/mbox2vpopmail' or die "bin/mbox2vpopmail: $!";
my $pod = do { local $/; <$fh> };
my ($options) = $pod =~ /^=head1 OPTIONS\n(.*?)^=head1 /ms;
ok(defined $options, 'the POD has an OPTIONS section');
my %items = map { $_ => 1 } ($options // '') =~ /^=item (.*)$/mg;
my $items = join "\n", keys %items;

my @specs = MigrateMail::Mbox2Vpopmail::options();
cmp_ok(scalar @specs, '>', 10, 'the option list');
for my $spec (@specs) {
	(my $names = $spec) =~ s/[=:!+].*//;
	for my $name (split /\|/, $names) {
		my $flag = length $name == 1 ? "-$name" : "--$name";
		like($items, qr/B<\Q$flag\E>/, "$flag is in an =item of OPTIONS");
	}
}
done_testing;
