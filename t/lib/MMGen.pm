package MMGen;
# A deterministic mbox generator for the conversion tests: every variant,
# flags, body From_ lines that must be quoted, CRLF, identical copies.
use strict;
use warnings;
use Exporter 'import';

our @EXPORT_OK = qw(gen_mbox);

my @status = ('', "Status: O\n", "Status: RO\n", "Status: RO\nX-Status: A\n",
	      "Status: O\nX-Status: F\n", "X-Status: T\n", "Status: RO\nX-Status: D\n");

# gen_mbox($path, n => 3000, format => 'mboxo', crlf => 0, big => $bytes)
# writes the file and returns the list of expected messages:
# { content => bytes, flags => 'RS', in_cur => 0|1, time => epoch }.
sub gen_mbox {
	my ($path, %o) = @_;
	my $n = $o{n} // 1000;
	my $fmt = $o{format} // 'mboxo';
	my $eol = $o{crlf} ? "\r\n" : "\n";
	my @want;
	open my $fh, '>:raw', $path or die "$path: $!";
	for my $i (1 .. $n) {
		# every 50th message is an identical copy of the one before
		my $j = $i % 50 == 0 ? $i - 1 : $i;
		my $t = 978350400 + $j * 3600;
		my @tm = gmtime $t;
		my $from = sprintf "From user%d\@example.com %s %s %2d %02d:%02d:%02d %d",
		  $j % 7, (qw(Sun Mon Tue Wed Thu Fri Sat))[$tm[6]],
		  (qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec))[$tm[4]],
		  $tm[3], $tm[2], $tm[1], $tm[0], $tm[5] + 1900;
		my $status = $status[$j % @status];
		my @body = ("Hello $j,", '', "From the body of $j, not a From_ line",
			    ">From quoted once in $j", ">>From quoted twice",
			    ('x' x ($j * 37 % 700)), '');
		push @body, 'From user1@example.com Mon Jan  1 12:00:00 2001'
		  if $j % 3 == 0;    # a valid From_ line inside the body
		push @body, ('y' x 1000) x int($o{big} / 1000) if $o{big} && $i == int($n / 2);
		my $hdr = "Subject: message $j${eol}Message-ID: <$j\@example.com>$eol";
		my $content = $hdr . $eol . join($eol, @body) . $eol;
		my $stored_status = join '', map { "$_$eol" } split /\n/, $status;
		# what a correct writer stores, per variant
		my $stored = $content;
		if ($fmt eq 'mboxo' || $fmt eq 'mboxcl') {
			$stored =~ s/^(From )/>$1/mg;
			# mboxo cannot store ">From" lines faithfully: expect them unquoted
			(my $expect = $content) =~ s/^>(From )/$1/mg;
			$content = $expect;
		} elsif ($fmt eq 'mboxrd') {
			$stored =~ s/^(>*From )/>$1/mg;
		}
		my $cl = $fmt =~ /^mboxcl/ ? do {
			my ($h, $b) = split /\Q$eol$eol\E/, $stored, 2;
			"Content-Length: " . length($b) . $eol;
		} : '';
		my ($h, $b) = split /\Q$eol$eol\E/, $stored, 2;
		print $fh $from, $eol, $h, $eol, $stored_status, $cl, $eol, $b, $eol;
		my %f;
		$f{S} = 1 if $status =~ /Status: R/;
		$f{R} = 1 if $status =~ /X-Status: A/;
		$f{F} = 1 if $status =~ /X-Status: F/;
		$f{T} = 1 if $status =~ /X-Status: D/;
		$f{D} = 1 if $status =~ /X-Status: T/;
		push @want, { content => $content, time => $t,
			      flags => join('', sort keys %f),
			      in_cur => ($status ne '' ? 1 : 0) };
	}
	close $fh or die;
	return @want;
}

1;
