package MMRun;
# Running the scripts in the tests: standard input from a file (or
# /dev/null), output and errors captured, exit status.
use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempdir);

our @EXPORT_OK = qw(run_script slurp spew need list_lines);

# The lines of a vadduser list after its header (the '# ' comment lines
# and the PATH check sendmail-list writes first).
sub list_lines {
	my ($out) = @_;
	my @l = split /\n/, $out;
	shift @l while @l && $l[0] =~ /\A# /;
	shift @l if @l && $l[0] =~ /\Acommand -v vadduser /;
	return @l;
}

# Are the commands there? If not, a failing test that says which Debian
# package brings them (.ci/run installs every one), and false: a test
# that needs a tool .ci/run can install fails without it, never skips.
sub need {
	my ($pkg, @cmds) = @_;
	my @missing = grep { system("command -v '$_' >/dev/null 2>&1") != 0 } @cmds;
	return 1 unless @missing;
	require Test::More;
	Test::More::fail("@missing not installed: apt-get install $pkg (as .ci/run does)");
	return 0;
}

# A file's bytes; '' when it does not exist.
sub slurp {
	my ($path) = @_;
	open my $fh, '<:raw', $path or return $!{ENOENT} ? '' : die "$path: $!";
	local $/;
	return scalar <$fh>;
}

sub spew {
	my ($path, $data, $mode) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $data;
	close $fh;
	chmod $mode, $path if defined $mode;
	return $path;
}

# run_script('bin/x', [{ stdin => FILE, umask => 077 },] @args)
#   -> (stdout, stderr, exit status)
# (pipe => FILE instead of stdin: standard input is a pipe fed from FILE)
sub run_script {
	my ($script, @args) = @_;
	my $o = ref $args[0] eq 'HASH' ? shift @args : {};
	my $dir = tempdir(CLEANUP => 1);
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		umask $o->{umask} if defined $o->{umask};
		if (defined $o->{pipe}) {
			open STDIN, '-|', 'cat', $o->{pipe} or die "cat: $!";
		} else {
			open STDIN, '<', $o->{stdin} // '/dev/null' or die;
		}
		open STDOUT, '>', "$dir/out" or die;
		open STDERR, '>', "$dir/err" or die;
		exec $^X, '-Mblib', $script, @args or die "exec: $!";
	}
	waitpid $pid, 0;
	return (slurp("$dir/out"), slurp("$dir/err"), $? >> 8);
}

1;
