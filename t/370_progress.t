# The progress line of one mailbox (mm_progress.c): on a terminal (a
# pty here) bytes of the total, messages, rate and ETA from the C loop,
# erased before the summary line; without a total on a pipe; never when
# standard error is a pipe or a file, unless --progress; never with
# --no-progress; a name's escapes never reach the terminal.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use IO::Pty ();
use POSIX ();
use lib 't/lib';
use MMRun qw(run_script slurp spew);

my $dir = tempdir(CLEANUP => 1);

# a mbox of many small messages, slow enough to write with --fsync each
# that the line (every 250 ms) shows more than once
my $one = slurp('t/data/flags.mbox');
my $mbox = "$dir/big\e[2J.mbox";
spew($mbox, $one x 360);    # 5400 messages
my $size = -s $mbox;

# Runs the script with standard error on a pty (and standard output
# to a file); returns (what the terminal got, stdout, status). $feed:
# a file fed into standard input through a pipe, a little at a time.
sub on_pty {
	my ($feed, @args) = @_;
	my $pty = IO::Pty->new;
	my ($rd, $wr);
	pipe $rd, $wr or die if defined $feed;
	my $pid = fork // die;
	if (!$pid) {
		POSIX::setsid();
		my $tty = $pty->slave;
		close $pty;
		open STDERR, '>&', $tty or die;
		open STDOUT, '>', "$dir/stdout" or die;
		if (defined $feed) {
			close $wr;
			open STDIN, '<&', $rd or die;
		} else {
			open STDIN, '<', '/dev/null' or die;
		}
		exec $^X, '-Mblib', 'bin/mbox2vpopmail', @args or POSIX::_exit(127);
	}
	$pty->close_slave;
	my $feeder;
	if (defined $feed) {
		close $rd;
		$feeder = fork // die;
		if (!$feeder) {
			close $pty;
			my $data = slurp($feed);
			$wr->autoflush(1);
			# the messages, a part every 50 ms: 2 s in all
			my $part = int(length($data) / 40) + 1;
			while (length $data) {
				print {$wr} substr($data, 0, $part, '');
				select undef, undef, undef, 0.05;
			}
			POSIX::_exit(0);
		}
		close $wr;
	}
	my $got = '';
	while (1) {
		my $n = sysread $pty, my $buf, 65536;
		last unless $n;
		$got .= $buf;
	}
	waitpid $pid, 0;
	my $st = $? >> 8;
	waitpid $feeder, 0 if $feeder;
	return ($got, slurp("$dir/stdout"), $st);
}

my $LINE = qr/\r\e\[K([^\r]*)/;
my ($tty, $out, $st) = on_pty(undef, '--fsync', 'each', '--maildir', "$dir/md1", $mbox);
is($st, 0, 'converted with stderr on a terminal') or diag $tty;
my @lines = $tty =~ /$LINE/g;
@lines = grep { length } @lines;
cmp_ok(scalar @lines, '>=', 1, 'progress lines on the terminal') or diag explain [ $tty ];
my $mb = sprintf '%.1f', $size / 1e6;
like($lines[0], qr{^\Q$dir\E/big\\x1b\[2J\.mbox: [\d.]+ of \Q$mb\E MB \(\d+%\), \d+ messages, [\d.]+ MB/s, ETA \d+:\d\d$},
     'bytes of the total, messages, rate, ETA; the escape shown as \x1b');
unlike($tty, qr/\e\[2J/, 'the name\'s escape never reached the terminal');
like($tty, qr/\r\e\[K\z/, 'the line erased at the end');
like($out, qr/: 5400 messages, \d+ bytes, .*[\d.]+ s$/, 'the summary line on stdout');
my @n = map { /, (\d+) messages,/ ? $1 : () } @lines;
is_deeply(\@n, [ sort { $a <=> $b } @n ], 'the message count only grows');

# standard input from a pipe: no total, no ETA
($tty, $out, $st) = on_pty($mbox, '--format', 'mboxo', '--fsync', 'none', '--maildir', "$dir/md2");
is($st, 0, 'from a pipe') or diag $tty;
@lines = grep { length } $tty =~ /$LINE/g;
cmp_ok(scalar @lines, '>=', 2, 'progress lines for a pipe');
like($lines[-1], qr{^stdin: [\d.]+ MB, \d+ messages, [\d.]+ MB/s$}, 'bytes, messages and rate, no total');

# --no-progress on a terminal: none
($tty, $out, $st) = on_pty(undef, '--no-progress', '--fsync', 'none', '--maildir', "$dir/md3", $mbox);
is($st, 0, '--no-progress');
unlike($tty, qr/MB\/s/, 'no progress line');

# stderr a pipe or a file: none, unless --progress
my ($o, $e, $s) = run_script('bin/mbox2vpopmail', '--fsync', 'none', '--maildir', "$dir/md4", $mbox);
is($s, 0, 'stderr not a terminal');
unlike($e, qr/MB\/s|\r/, 'no progress line in a log');
($o, $e, $s) = run_script('bin/mbox2vpopmail', '--progress', '--fsync', 'each', '--maildir', "$dir/md5", $mbox);
like($e, qr/\r\e\[K.*MB\/s/, '--progress: shown anyway');

done_testing;
