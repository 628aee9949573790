package MMMaildir;
# Reading back a Maildir in the tests.
use strict;
use warnings;
use Exporter 'import';

use MMRun qw(slurp);

our @EXPORT_OK = qw(maildir_files slurp);

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

1;
