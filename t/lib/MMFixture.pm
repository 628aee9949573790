package MMFixture;
# Helpers shared by the tests: read a whole mbox into plain hashes.
use strict;
use warnings;
use Exporter 'import';
use MigrateMail::Mbox;

our @EXPORT_OK = qw(read_mbox fixture);

sub fixture { return "t/data/$_[0]" }

# Every message of the mbox as a hash (metadata + content), and the
# warnings as their code names, in order.
sub read_mbox {
	my ($src, %opt) = @_;
	my $mbox = MigrateMail::Mbox->new($src, %opt);
	my @msgs;
	while (my $m = $mbox->next) {
		my $content = $m->content;
		my %h = map { $_ => $m->{$_} } grep { !/^_/ } keys %$m;
		$h{content} = $content;
		push @msgs, \%h;
	}
	my @w = $mbox->warnings;
	return { msgs => \@msgs, warnings => [ map { $_->{code} } @w ],
		 warning_lines => [ map { $_->{message} } @w ],
		 format => $mbox->format };
}

1;
