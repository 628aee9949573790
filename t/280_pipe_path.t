# Every mbox fixture (globbed, so fixtures added later are covered too)
# reads the same by path and through a pipe, in the reader and in
# mbox2vpopmail --maildir (a path versus standard input from a pipe),
# a file that is not an mbox at all too (refused both ways, t/360).
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMMaildir qw(maildir_files);
use MMRun qw(run_script);
use MigrateMail::Mbox;

my $dir = tempdir(CLEANUP => 1);
my @fixtures = sort(glob('t/data/*.mbox'), glob('t/data/*/*.mbox'));
cmp_ok(scalar @fixtures, '>=', 25, scalar(@fixtures) . ' fixtures');

sub read_all {
	my ($src, %opt) = @_;
	my $mbox = MigrateMail::Mbox->new($src, name => 'M', %opt);
	my @msgs;
	while (my $m = $mbox->next) {
		my %h = map { $_ => $m->{$_} } grep { !/^_/ } keys %$m;
		$h{content} = $m->content;
		push @msgs, \%h;
	}
	return { msgs => \@msgs, format => $mbox->format,
		 warnings => [ map { $_->{message} } $mbox->warnings ] };
}

for my $f (@fixtures) {
	for my $fmt (qw(auto mboxo mboxrd mboxcl mboxcl2)) {
		for my $win (0, 65536) {
			my %opt = (format => $fmt, $win ? (buffer_max => $win) : ());
			my $path = read_all($f, %opt);
			open my $fh, '-|', 'cat', $f or die "cat: $!";
			my $pipe = read_all($fh, %opt);
			is_deeply($pipe, $path, "$f, $fmt" . ($win ? ", buffer_max $win" : '')
				  . ': the pipe reads what the path reads');
		}
	}
}

# mbox2vpopmail: the same Maildir (names, bytes, new/cur), the same lines.
for my $f (@fixtures) {
	my (@md, @out);
	for my $how (qw(path pipe)) {
		(my $name = "$f-$how") =~ s{/}{_}g;
		my $md = "$dir/$name";
		my ($o, $e, $st) = run_script('bin/mbox2vpopmail', $how eq 'pipe' ? { pipe => $f } : (),
					      '-v', '--maildir', $md, $how eq 'path' ? $f : ());
		s/\Q$f\E/stdin/g, s/[\d.]+ s(?=(?:, FAILED)?$)/T s/m for $o, $e;
		# why the variant was chosen says whether a file or a pipe was read
		s/(format \S+) \((?:[^()]|\([^()]*\))*\)/$1/ for $o;
		my ($files) = -d "$md/cur" ? maildir_files($md) : ({});
		push @md, { map { ($_ => $files->{$_}{content}) } keys %$files };
		push @out, [ $o, $e, $st ];
	}
	is_deeply($md[1], $md[0], "$f: mbox2vpopmail from a pipe makes the Maildir a path makes");
	is_deeply($out[1], $out[0], "$f: the same summary, warnings and exit status");
}

done_testing;
