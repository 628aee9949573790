package MMMaildir;
# Reading back a Maildir in the tests.
use strict;
use warnings;
use Exporter 'import';

use MMRun qw(slurp);

our @EXPORT_OK = qw(maildir_files slurp quota_usage maildirsize_sum);

# { "new/NAME" => { content, size, info, mtime, mode, uid, name } } of a
# Maildir, and the names left in tmp/.
sub maildir_files {
	my ($md) = @_;
	my %f;
	for my $sub (qw(new cur)) {
		opendir my $d, "$md/$sub" or die "$md/$sub: $!";
		for my $n (grep { !/^\./ } readdir $d) {
			my @st = lstat "$md/$sub/$n";
			my ($info) = $n =~ /:2,([A-Z]*)$/;
			my ($size) = $n =~ /,S=(\d+)/;
			$f{"$sub/$n"} = { content => slurp("$md/$sub/$n"), info => $info,
					  size => $size, mtime => $st[9], mode => $st[2] & 07777,
					  uid => $st[4], gid => $st[5], name => $n, dir => $sub,
					  is_file => -f _ && !-l "$md/$sub/$n" };
		}
	}
	opendir my $t, "$md/tmp" or die "$md/tmp: $!";
	my @tmp = grep { !/^\./ } readdir $t;
	return (\%f, \@tmp);
}

# What vpopmail's recount finds in a Maildir++ tree (src/mm_quota.h):
# new/ and cur/ of the top and of its folders but .Trash, leaving out
# T-flagged messages; sizes from ",S=", else the file's size.
# Returns (bytes, count).
sub quota_usage {
	my ($md) = @_;
	my ($bytes, $count) = (0, 0);
	opendir my $top, $md or die "$md: $!";
	my @dirs = ('', map { "/$_" } grep { /^\./ && !/^\.\.?$/ && $_ ne '.Trash' && -d "$md/$_" && !-l "$md/$_" }
		readdir $top);
	for my $f (@dirs) {
		for my $sub (qw(new cur)) {
			opendir my $d, "$md$f/$sub" or next;
			for my $n (grep { !/^\./ } readdir $d) {
				next if $n =~ /:2,[A-Z]*T/;
				my ($base) = $n =~ /^([^:]*)/;
				my ($size) = $base =~ /.*,S=(\d*)/;
				if (!defined $size) {
					next unless !-l "$md$f/$sub/$n" && -f _;
					$size = -s _;
				}
				$bytes += $size || 0;
				$count++;
			}
		}
	}
	return ($bytes, $count);
}

# maildirsize read back: (bytes, count, first line, number of lines).
sub maildirsize_sum {
	my ($md) = @_;
	my @l = split /\n/, slurp("$md/maildirsize");
	my $def = shift @l;
	my ($bytes, $count) = (0, 0);
	for (@l) {
		next unless /^(-?\d+) (-?\d+)$/;
		$bytes += $1;
		$count += $2;
	}
	return ($bytes, $count, $def, scalar @l);
}

1;
