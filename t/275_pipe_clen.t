# A pipe splits exactly as the same file read by path, whatever
# Content-Length says: a stale one in a message larger than the
# read-ahead window is checked in a temporary file (src/mm_spill.h).
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMFixture qw(read_mbox);
use MMMaildir qw(maildir_files);
use MMRun qw(run_script slurp spew);
use MigrateMail::Mbox;

my $dir = tempdir(CLEANUP => 1);

# One small message, one of $size body bytes whose Content-Length is off
# by $delta, with a From_ line after a blank line and a ">From " line in
# its body, and a last small one. Returns the path.
sub clen_mbox {
	my ($name, $size, $delta, %o) = @_;
	my $line = join('', map { chr(97 + $_ % 26) } 0 .. 70) . "\n";
	my $body = ">From quoted in the big body\n"
	  . $line x int(($size - 200) / 72)
	  . "\nFrom inside\@example.com Mon Jan  1 11:00:00 2001\nSubject: inside\n\n"
	  . "the rest of the big body\n";
	my $cl = defined $o{clen} ? $o{clen} : length($body) + $delta;
	my $m = "From one\@example.com Mon Jan  1 10:00:00 2001\nSubject: one\n"
	  . "Content-Length: 9\n\nbody one\n\n"
	  . "From big\@example.com Mon Jan  1 10:01:00 2001\nSubject: big\n"
	  . "Content-Length: $cl\n\n$body\n";
	$m .= "From big2\@example.com Mon Jan  1 10:02:00 2001\nSubject: big2\n"
	  . "Content-Length: $cl\n\n$body\n" for 1 .. ($o{twice} ? 1 : 0);
	$m .= "From three\@example.com Mon Jan  1 10:03:00 2001\nSubject: three\n"
	  . "Content-Length: 11\n\nbody three\n";
	return wantarray ? (spew("$dir/$name.mbox", $m), $cl) : spew("$dir/$name.mbox", $m);
}

sub piped {
	my ($path, %opt) = @_;
	open my $fh, '-|', 'cat', $path or die "cat: $!";
	my $mbox = MigrateMail::Mbox->new($fh, %opt);
	my (@msgs, @w);
	while (my $m = $mbox->next) {
		my %h = map { $_ => $m->{$_} } grep { !/^_/ } keys %$m;
		$h{content} = $m->content;
		push @msgs, \%h;
	}
	@w = map { $_->{message} } $mbox->warnings;
	return ({ msgs => \@msgs, warning_lines => \@w, format => $mbox->format },
		[ $mbox->spilled ]);
}

sub by_path {
	my ($path, %opt) = @_;
	my $mbox = MigrateMail::Mbox->new($path, %opt);
	my @msgs;
	while (my $m = $mbox->next) {
		my %h = map { $_ => $m->{$_} } grep { !/^_/ } keys %$m;
		$h{content} = $m->content;
		push @msgs, \%h;
	}
	return ({ msgs => \@msgs, warning_lines => [ map { $_->{message} } $mbox->warnings ],
		  format => $mbox->format }, [ $mbox->spilled ]);
}

my $BIG = 5_400_000;    # larger than the default 4 MiB window
for my $case ([ 'short', -8, 4 ], [ 'long', 8, 4 ], [ 'exact', 0, 3 ]) {
	my ($what, $delta, $count) = @$case;
	for my $fmt (qw(mboxcl mboxcl2)) {
		for my $win (0, 65536) {
			my $size = $win ? 300_000 : $BIG;
			my ($path, $cl) = clen_mbox("$what-$fmt-$win", $size, $delta);
			my %opt = (format => $fmt, name => 'M', $win ? (buffer_max => $win) : ());
			my $t = "$what by $delta, $fmt, " . ($win ? "buffer_max $win" : 'default window');
			my ($p, $ps) = by_path($path, %opt);
			my ($q, $qs) = piped($path, %opt);
			is(scalar @{ $p->{msgs} }, $count, "$t: $count messages by path");
			is_deeply($q, $p, "$t: the pipe gives what the path gives (bytes, metadata, warnings)");
			is_deeply($ps, [ 0, 0 ], "$t: a file spills nothing");
			cmp_ok($qs->[0], '>', $size - ($win || 4 << 20), "$t: the pipe spilled the bytes past the window");
			my $big = $p->{msgs}[1];
			if ($delta == 0) {
				ok($big->{clen_used}, "$t: exact Content-Length used");
				like($big->{content}, qr/\nFrom inside\@example.com [^\n]*\nSubject: inside\n\nthe rest of the big body\n\z/,
				     "$t: the From_ line in the body stays in it");
				is_deeply($p->{warning_lines}, [], "$t: no warnings");
			} else {
				ok(!$big->{clen_used}, "$t: stale Content-Length not used");
				like($big->{content}, qr/\nabcdefghij[a-z]*\n\z/, "$t: the big message ends before the From_ line");
				is($p->{msgs}[2]{content}, "Subject: inside\n\nthe rest of the big body\n",
				   "$t: the From_ line after a blank line starts a message");
				is_deeply($p->{warning_lines},
					  [ "WARNING: M: message 2, offset 88: Content-Length $cl does not end on a From_ line or the end of the file; ignored" ],
					  "$t: one warning, the same on the pipe") or diag explain $p->{warning_lines};
			}
			my $first = $big->{content} =~ /^(>?From quoted[^\n]*)/m ? $1 : '';
			is($first, $fmt eq 'mboxcl' ? 'From quoted in the big body' : '>From quoted in the big body',
			   "$t: quoting of the variant");
		}
	}
}

# Two stale ones in a row (the spill file extended, then used up), and
# one far past the end of the input (spilled to the end).
for my $case ([ 'twice', -8, 6, twice => 1 ], [ 'beyond', 0, 4, clen => 10 ** 12 ]) {
	my ($what, $delta, $count, %o) = @$case;
	my $path = clen_mbox($what, 600_000, $delta, %o);
	my %opt = (format => 'mboxcl2', buffer_max => 65536, name => 'M');
	my ($p) = by_path($path, %opt);
	my ($q, $qs) = piped($path, %opt);
	is(scalar @{ $p->{msgs} }, $count, "$what: $count messages by path");
	is_deeply($q, $p, "$what: the pipe gives what the path gives");
	cmp_ok($qs->[0], '>=', 500_000, "$what: spilled");
}

# Disk trouble is an ERROR, never another split.
my $path = clen_mbox('err', $BIG, -8);
my $reader = q{
	$SIG{XFSZ} = 'IGNORE';
	my $mbox = MigrateMail::Mbox->new(\*STDIN, format => 'mboxcl2');
	my $n = 0;
	eval { $n++ while $mbox->next; 1 } or print "died after $n: $@";
	print "read $n\n";
};
for my $case ([ 'TMPDIR=/nonexistent-dir', qr{^died after 1: ERROR: stdin: message 2, offset 88: cannot create a temporary file in /nonexistent-dir to check where Content-Length lands on this pipe: No such file or directory at } ],
	      [ '(ulimit -f 2048; exec', qr{^died after 1: ERROR: stdin: message 2, offset 88: cannot write the temporary file in /tmp that checks where Content-Length lands on this pipe \(\d+ bytes written\): File too large at } ]) {
	my ($env, $want) = @$case;
	my $close = $env =~ /^\(/ ? ')' : '';
	my $out = `cat '$path' | $env $^X -Mblib -MMigrateMail::Mbox -e '$reader' 2>&1 $close`;
	like($out, $want, "$env: a clear ERROR");
	like($out, qr/^read 1$/m, "$env: no message made of the rest");
}

{
	local $ENV{TMPDIR} = '/nonexistent-dir';
	my ($o, $e, $st) = run_script('bin/mbox2vpopmail', { pipe => $path }, '--format', 'mboxcl2',
				      '--maildir', "$dir/md-err");
	is($st, 3, 'mbox2vpopmail, no room to spill: exit 3');
	is($e, "ERROR: stdin: message 2, offset 88: cannot create a temporary file in /nonexistent-dir "
	   . "to check where Content-Length lands on this pipe: No such file or directory\n", 'the ERROR line');
	like($o, qr/^stdin: 1 messages, 23 bytes, 1 new, 0 cur, 0 skipped, 0 failed, 0 warnings, [\d.]+ s, FAILED$/, 'the message before it delivered, FAILED');
}

# mbox2vpopmail: a pipe gives the Maildir the path gives; -v says what was spilled.
for my $fmt (qw(mboxcl2 auto)) {
	my (@md, @out);
	for my $how (qw(path pipe)) {
		my $md = "$dir/md-$fmt-$how";
		my ($o, $e, $st) = run_script('bin/mbox2vpopmail', $how eq 'pipe' ? { pipe => $path } : (),
					      '-v', '--format', $fmt, '--maildir', $md, $how eq 'path' ? $path : ());
		is($st, 0, "mbox2vpopmail $fmt from a $how: exit 0") or diag $e;
		s/\Q$path\E/stdin/g, s/[\d.]+ s$/T s/m for $o, $e;
		# why the variant was chosen says whether a file or a pipe was read
		s/(format \S+) \((?:[^()]|\([^()]*\))*\)/$1/ for $o;
		my ($files) = maildir_files($md);
		push @md, { map { ($_ => $files->{$_}{content}) } keys %$files };
		push @out, [ $o, $e ];
	}
	is(scalar keys %{ $md[0] }, 4, "$fmt: four messages by path");
	is_deeply($md[1], $md[0], "$fmt: same file names and bytes from a pipe");
	like($out[1][0], qr/, \d+ bytes of the pipe spilled to disk \(at most \d+ at once\) to check Content-Length, /,
	     "$fmt: -v says what the pipe spilled");
	(my $o1 = $out[1][0]) =~ s/\d+ bytes of the pipe spilled[^,]*, //;
	is($o1, $out[0][0], "$fmt: otherwise the same summary line");
	is($out[1][1], $out[0][1], "$fmt: the same warnings");
}

# Memory stays bounded: a 40 MB message with a stale Content-Length.
$path = clen_mbox('rss', 40_000_000, -8);
my $rss = `cat '$path' | $^X -Mblib -MMigrateMail::Mbox -e '
	open my \$null, ">", "/dev/null" or die;
	my \$mbox = MigrateMail::Mbox->new(\\*STDIN, format => "mboxcl2");
	my \$n = 0;
	while (my \$m = \$mbox->next) { \$n++; \$m->write_to(\$null) }
	open my \$st, "<", "/proc/self/status" or die;
	my (\$hwm) = join("", <\$st>) =~ /^VmHWM:\\s*(\\d+)/m;
	print "\$n \$hwm\n"'`;
my ($n, $hwm) = split ' ', $rss;
is($n, 4, '40 MB message: four messages from the pipe');
cmp_ok($hwm, '<', 30_000, "40 MB message: peak memory $hwm kB, far below the message");

done_testing;
