#!perl
# Differential test: the C mbox reader against a deliberately simple
# pure-Perl reference implementation of the same semantics (see the POD
# of MigrateMail::Mbox and MigrateMail::Mbox::Message), on randomly
# generated mbox files (fixed seeds, so every run sees the same files).
#
# The reference slurps a file, splits it by the boundary rule (strict
# From_ lines always; loose "From " lines at the start of the file, or
# with a header field after them and either a blank line before them or
# no strict From_ line so far) and applies the rules line by line to the
# header block, with regexes to the body; the only things it borrows from
# the XS module are parse_from_line(), the oracle for "is this a valid
# From_ line date" (tested on its own elsewhere), classify_from_line() for
# the sender and date of a loose line, and parse_date() for Date:.
#
# Every file is read several ways: by path (default window and the
# smallest 64 KiB window), through a pipe, content taken with content(),
# read_chunk() loops and write_to() into an in-memory handle, skipped
# without being read, with keep_headers, and with format auto (the
# reference decides the variant the way src/mm_guess.h says).
use strict;
use warnings;

use File::Temp qw(tempdir);
use POSIX ();
use Test::More;

use MigrateMail ();
use MigrateMail::Mbox ();

my $T0  = time;
# MM_DIFF_KEEP=/some/dir keeps the generated files there (for debugging).
my $DIR = $ENV{MM_DIFF_KEEP}
  || tempdir('mm-diff-XXXXXX', TMPDIR => 1, CLEANUP => 1);
start_feeder();

# ---------------------------------------------------------------------
# Reference implementation
# ---------------------------------------------------------------------

my %STRIP = map { $_ => 1 }
  qw(status x-status x-keywords x-uid x-imap x-imapbase content-length);
my %TRACK = map { $_ => 1 }
  (keys %STRIP, qw(x-mozilla-status x-uidl date));

sub is_blank { $_[0] eq "\n" || $_[0] eq "\r\n" }

# A strict From_ line: at a line start, "From ", at most 1024 bytes
# without its "\n", and a date the C parser accepts.
sub is_from_line {
	my ($line) = @_;
	return 0 unless substr($line, 0, 5) eq 'From ';
	my $l = $line;
	chop $l if substr($l, -1) eq "\n";
	return 0 if length($l) > 1024;
	return defined MigrateMail::parse_from_line($l) ? 1 : 0;
}

# A loose one: "From ", at most 1024 bytes, text (no control bytes but
# tabs once a final "\r" and trailing spaces are left aside), not strict.
sub is_loose_line {
	my ($line) = @_;
	return 0 unless substr($line, 0, 5) eq 'From ' && !is_from_line($line);
	my $l = $line;
	chop $l if substr($l, -1) eq "\n";
	return 0 if length($l) > 1024;
	my $rest = substr $l, 5;
	$rest =~ s/\r\z//;
	$rest =~ s/ +\z//;
	return $rest =~ /[\x00-\x08\x0a-\x1f\x7f]/ ? 0 : 1;
}

# The unfolded value of a header as the C reader sees it: after "name:",
# leading blanks skipped, CR/LF/TAB as spaces, at most 1023 bytes,
# trailing spaces trimmed.
sub header_value {
	my ($name, $text) = @_;
	my $v = substr($text, length($name) + 1);
	$v =~ s/\A[ \t]+//;
	$v = substr($v, 0, 1023);
	$v =~ tr/\r\n\t/   /;
	$v =~ s/ +\z//;
	return $v;
}

# Leading decimal number (after spaces) no larger than 2**32-1, or undef;
# returns the number and the rest.
sub parse_u32 {
	my ($s) = @_;
	return unless $s =~ /\A *([0-9]+)(.*)\z/s;
	my ($d, $rest) = ($1, $2);
	$d =~ s/\A0+(?=[0-9])//;
	return if length($d) > 10 || $d > 4294967295;
	return ($d + 0, $rest);
}

# Message text (separator already removed) to content and metadata.
sub ref_message {
	my ($text, $fmt, $keep, $number) = @_;
	my ($seen, $strip, $cur, %first) = (0, 0, undef);
	my ($p, $n, $out) = (0, length $text, '');
	# the header block, line by line
	while ($p < $n) {
		my $e = index $text, "\n", $p;
		$e = $e < 0 ? $n : $e + 1;
		my $l = substr $text, $p, $e - $p;
		if (is_blank($l)) {
			$out .= $l;
			$p = $e;
			last;
		}
		if ($seen && $l =~ /\A[ \t]/) {
			$out .= $l unless $strip;
			$first{$cur} .= $l if defined $cur;
			$p = $e;
			next;
		}
		last unless $l =~ /\A([\x21-\x39\x3b-\x7e]+):/;
		my $name = lc $1;
		$seen = 1;
		$cur  = undef;
		if ($TRACK{$name} && !exists $first{$name}) {
			$first{$name} = $l;
			$cur = $name;
		}
		$strip = $STRIP{$name} && !$keep ? 1 : 0;
		$out .= $l unless $strip;
		$p = $e;
	}
	# the body: From_ quoting undone (a header line never starts with '>')
	my $body = substr $text, $p;
	if ($fmt eq 'mboxrd') {
		$body =~ s/^>(?=>*From )//mg;
	} elsif ($fmt ne 'mboxcl2') {
		$body =~ s/^>(?=From )//mg;
	}
	$out .= $body;

	my %v = map { $_ => header_value($_, $first{$_}) } keys %first;
	my %f;
	my $old = 0;
	# Status A, F, D, d count unless there is an X-Status, which then
	# alone decides answered, flagged, deleted, draft (src/mm_flags.h)
	my %smap = defined $v{'x-status'} ? () : (A => 'R', F => 'F', D => 'T', d => 'T');
	if (defined $v{status}) {
		for my $c (split //, $v{status}) {
			if ($c eq 'R') { $f{S} = 1; $old = 1 }
			elsif ($c eq 'O') { $old = 1 }
			elsif ($smap{$c}) { $f{ $smap{$c} } = 1 }
		}
	}
	if (defined $v{'x-status'}) {
		my %map = (A => 'R', F => 'F', D => 'T', T => 'D');
		$map{$_} and $f{ $map{$_} } = 1 for split //, $v{'x-status'};
	}
	if (defined $v{'x-mozilla-status'}
	    && $v{'x-mozilla-status'} =~ /\A([0-9a-fA-F]{1,8})[ \t\r]*\z/) {
		my $bits = hex $1;
		$f{S} = 1 if $bits & 1;
		$f{R} = 1 if $bits & 2;
		$f{F} = 1 if $bits & 4;
		$f{T} = 1 if $bits & 8;
	}
	my %m = (
		content   => $out,
		size      => length $out,
		flags     => join('', grep { $f{$_} } qw(D F R S T)),
		in_cur    => ($old || %f) ? 1 : 0,
		is_pseudo => (exists $first{'x-imap'} && $number == 1) ? 1 : 0,
	);
	if (defined $v{'x-uid'}) {
		my ($n, $rest) = parse_u32($v{'x-uid'});
		$m{uid} = $n if defined $n && $n > 0 && $rest eq '';
	}
	$m{keywords} = $v{'x-keywords'}
	  if defined $v{'x-keywords'} && $v{'x-keywords'} ne '';
	$m{uidl} = substr($v{'x-uidl'}, 0, 255)
	  if defined $v{'x-uidl'} && $v{'x-uidl'} ne '';
	for my $h ('x-imap', 'x-imapbase') {
		next if !defined $v{$h} || exists $m{uidvalidity};
		my ($a, $rest) = parse_u32($v{$h});
		next unless defined $a;
		my ($b) = parse_u32($rest);
		next unless defined $b;
		@m{qw(uidvalidity uid_last)} = ($a, $b);
	}
	if (defined $v{'content-length'}) {
		my ($n, $rest) = $v{'content-length'} =~ /\A *([0-9]+)(.*)\z/s;
		$m{content_length} = $n + 0
		  if defined $n && $rest eq '' && length($n) < 18;
	}
	$m{date} = MigrateMail::parse_date($v{date}) if defined $v{date};
	return \%m;
}

# Split a whole file into messages, line by line: leading blank lines
# are skipped; the first line starts a message (with it as From_ line if
# it is strict or loose); later a strict From_ line starts one, and so
# does a loose one with a header field line after it when a blank line
# precedes it or no message has started at a strict line yet. One blank
# line just before a From_ line or the end of the file is the separator.
sub ref_split {
	my ($data) = @_;
	my $start = $data =~ /\A(?:\r?\n)*/ ? $+[0] : 0;
	my (@cut, $strict_seen, $prev_blank);
	my $p = $start;
	while ($p < length $data) {
		my $e = index $data, "\n", $p;
		$e = $e < 0 ? length $data : $e + 1;
		my $l = substr $data, $p, $e - $p;
		my $strict = is_from_line($l);
		my $cut;
		if ($p == $start) {
			$cut = $strict || is_loose_line($l) ? 'from' : 'none';
		} elsif ($strict) {
			$cut = 'from';
		} elsif (is_loose_line($l)
			 && substr($data, $e, 130) =~ /\A[A-Za-z][A-Za-z0-9-]{0,127}:/
			 && ($prev_blank || !$strict_seen)) {
			$cut = 'from';
		}
		if ($cut) {
			push @cut, [ $p, $cut eq 'from' ? $l : undef ];
			$strict_seen = 1 if $strict;
		}
		$prev_blank = is_blank($l);
		$p = $e;
	}
	my @msgs;
	for my $k (0 .. $#cut) {
		my ($off, $l) = @{ $cut[$k] };
		my $end = $k < $#cut ? $cut[ $k + 1 ][0] : length $data;
		my $fl = defined $l ? length $l : 0;
		push @msgs, { offset => $off, from => $l,
			      text => substr($data, $off + $fl, $end - $off - $fl) };
	}
	for my $k (0 .. $#msgs) {
		my $m = $msgs[$k];
		$m->{end_offset} = $k < $#msgs ? $msgs[ $k + 1 ]{offset} : length $data;
		$m->{text} =~ s/(?:\A|(?<=\n))\r?\n\z//;
	}
	return \@msgs;
}

# Expected messages: list of hashes with every compared field.
sub ref_expect {
	my ($msgs, $fmt, $keep) = @_;
	my @exp;
	my $n = 0;
	for my $m (@$msgs) {
		$n++;
		my $e = ref_message($m->{text}, $fmt, $keep, $n);
		$e->{number}     = $n;
		$e->{offset}     = $m->{offset};
		$e->{end_offset} = $m->{end_offset};
		$e->{has_from}   = $m->{from} ? 1 : 0;
		$e->{sender}     = '';
		$e->{clen_used}  = $m->{clen_used} ? 1 : 0;
		if ($m->{from}) {
			(my $l = $m->{from}) =~ s/\n\z//;
			my $p = MigrateMail::classify_from_line($l);
			$e->{sender}    = $p->{sender};
			$e->{from_time} = $p->{time};
		}
		push @exp, $e;
	}
	return \@exp;
}

# The variant format => 'auto' picks (the rule of src/mm_guess.h, done
# the simple way): walk the messages, a body ending where its
# Content-Length lands or at the next From_ line, and count.
sub ref_guess {
	my ($data) = @_;
	my ($pos, $n, $cl_all, $cl_from, $cl_unq, $q1, $q2) = (0, (0) x 6);
	my $lands = sub {
		my ($t) = @_;
		return 1 if $t == length $data;
		my $rest = substr($data, $t);
		return 1 if $rest =~ /\A\r?\n\z/;
		return 1 if $rest =~ /\A\r?\n(From [^\n]*)/ && is_from_line("$1\n");
		return $t > 0 && substr($data, $t - 1, 1) eq "\n"
		  && $rest =~ /\A(From [^\n]*)/ && is_from_line("$1\n");
	};
	my $count = sub {
		my ($body, $in_cl) = @_;
		for my $l (split /\n/, $body) {
			if ($l =~ /\A(>+)From /) {
				length($1) == 1 ? $q1++ : $q2++;
			} elsif ($in_cl && $l =~ /\AFrom /) {
				$cl_unq++;
				$cl_from++ if is_from_line("$l\n");
			}
		}
	};
	MSG: while ($pos < length $data) {
		$n++;
		$pos += length $1 if substr($data, $pos, 1100) =~ /\A(From [^\n]*\n?)/
		  && is_from_line($1);
		my ($cl, $body);
		while (1) {
			my $nl = index($data, "\n", $pos);
			my $line = substr($data, $pos, $nl < 0 ? length($data) - $pos : $nl - $pos + 1);
			last MSG if $line eq '';
			if (is_blank($line)) { $body = $pos + length $line; last }
			next MSG if is_from_line($line);
			if ($line !~ /\A[ \t]/ && $line !~ /:/) { $body = $pos; last }
			$cl //= $line =~ /\Acontent-length:[ \t]*(\d+)[ \t\r]*\n\z/i ? $1 : -1
			  if $line =~ /\Acontent-length:/i;
			last MSG if $nl < 0;
			$pos = $nl + 1;
		}
		$cl_all++ if defined $cl;
		if (defined $cl && $cl >= 0 && $body + $cl <= length($data) && $lands->($body + $cl)) {
			$count->(substr($data, $body, $cl), 1);
			$pos = $body + $cl;
			$pos += length $1 if substr($data, $pos, 2) =~ /\A(\r?\n)/;
			next;
		}
		my $end = length $data;
		while ($data =~ /\n(From [^\n]*\n?)/g) {
			my $at = $-[1];
			next if $at <= $body;
			if (is_from_line($1)) { $end = $at; last }
		}
		pos($data) = undef;
		$count->(substr($data, $body, $end - $body), 0);
		$pos = $end;
	}
	return ($cl_all && ($cl_from || 2 * $cl_all >= $n))
	  ? ($cl_unq || !$q1 ? 'mboxcl2' : 'mboxcl')
	  : ($q2 ? 'mboxrd' : 'mboxo');
}

# The guess (a file is scanned whole; blank lines before the first
# message are skipped first).
sub stable_guess {
	my ($data) = @_;
	$data =~ s/\A(?:\r?\n)+//;
	return ref_guess($data);
}

# ---------------------------------------------------------------------
# Running the C reader and comparing
# ---------------------------------------------------------------------

my @FIELDS = qw(number offset has_from sender from_time date flags in_cur
  uid uidl keywords is_pseudo uidvalidity uid_last content_length clen_used);

my %MODES = (
	path      => { buf => 0 },
	path64k   => { buf => 65536 },
	pipe64k   => { buf => 65536, pipe => 1 },
	chunks    => { buf => 65536, pipe => 1, how => 'rotate' },
	chunksdef => { buf => 0, how => 'rotate' },
	skip      => { buf => 65536, how => 'skip' },
	keep      => { buf => 65536, keep => 1 },
	auto      => { buf => 65536, auto => 1 },
);
my @MODES = qw(path path64k pipe64k chunks chunksdef skip keep auto);

my %STATS = (files => 0, bytes => 0, messages => 0, runs => 0, checks => 0,
	     big => 0, nofrom => 0, loose => 0);

sub esc {
	my ($s) = @_;
	$s =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
	return $s;
}

sub first_diff {
	my ($a, $b) = @_;
	my $n = length($a) < length($b) ? length($a) : length($b);
	my $x = substr($a, 0, $n) ^ substr($b, 0, $n);
	return $x =~ /[^\0]/g ? pos($x) - 1 : $n;
}

sub describe_content_diff {
	my ($exp, $got) = @_;
	my $d  = first_diff($exp, $got);
	my $lo = $d > 30 ? $d - 30 : 0;
	return sprintf "content: length expected %d, got %d; first difference "
	  . "at byte %d\n    expected ...%s...\n    got      ...%s...",
	  length $exp, length $got, $d,
	  esc(substr($exp, $lo, 80)), esc(substr($got, $lo, 80));
}

sub same {
	my ($a, $b) = @_;
	return defined $a ? defined $b && $a eq $b : !defined $b;
}

# Pipes: a FIFO fed by a child forked at the start (forking the grown test
# process for every run would cost more than the reading), which writes
# each file it is told about in chunks of odd sizes, so that reads end
# anywhere.
my ($FIFO, $CTL, $FEEDER);

sub start_feeder {
	$FIFO = "$DIR/feed.fifo";
	unlink $FIFO;
	POSIX::mkfifo($FIFO, 0600) or die "mkfifo $FIFO: $!";
	pipe(my $r, my $w) or die "pipe: $!";
	$FEEDER = fork // die "fork: $!";
	if ($FEEDER) {
		close $r;
		$w->autoflush(1);
		$CTL = $w;
		return;
	}
	close $w;
	$SIG{PIPE} = 'IGNORE';
	my @sizes = (65536, 4093, 1027, 1029, 131072, 999, 8191, 300_000);
	my $i = 0;
	while (defined(my $file = <$r>)) {
		chomp $file;
		alarm 300;
		open my $out, '>:raw', $FIFO or last;
		if (open my $in, '<:raw', $file) {
			WRITE: while (read($in, my $buf, $sizes[ $i++ % @sizes ])) {
				my $off = 0;
				while ($off < length $buf) {
					my $w = syswrite $out, $buf, length($buf) - $off, $off;
					last WRITE unless defined $w;    # reader gone
					$off += $w;
				}
			}
		}
		close $out;
		alarm 0;
	}
	POSIX::_exit(0);    # no END blocks (Test::More) in the child
}

sub stop_feeder {
	close $CTL;
	waitpid $FEEDER, 0;
	unlink $FIFO;
}

sub pipe_from {
	my ($file) = @_;
	print {$CTL} "$file\n";
	local $SIG{ALRM} = sub { die "the feeder does not answer\n" };
	alarm 60;
	open my $fh, '<:raw', $FIFO or die "$FIFO: $!";
	alarm 0;
	return $fh;
}

# Read the file with the C reader in one mode and compare with $exp.
sub check_run {
	my ($file, $label, $fmt, $mode, $exp, $want_fmt) = @_;
	my $mo = $MODES{$mode};
	my %opt = (format => $fmt);
	$opt{buffer_max}   = $mo->{buf} if $mo->{buf};
	$opt{keep_headers} = 1 if $mo->{keep};
	my $fh = $mo->{pipe} ? pipe_from($file) : undef;
	my ($n, @fail, $got_fmt) = (0);
	$STATS{runs}++;
	my $ok = eval {
		my $mbox = MigrateMail::Mbox->new($fh // $file, %opt);
		while (my $m = $mbox->next) {
			$n++;
			my $e = $exp->[ $n - 1 ];
			if (!$e) {
				push @fail, "message $n at offset " . $m->offset
				  . ': not expected (the reference found '
				  . @$exp . ' messages)';
				last;
			}
			my @diff = compare_message($m, $e, $mo, $n);
			push @fail, join "\n  ", "message $n (offset $e->{offset}):", @diff
			  if @diff;
			$STATS{checks}++;
			last if @fail > 3;
		}
		$mbox->warnings;
		$got_fmt = $mbox->format;
		1;
	};
	push @fail, "the reader died: $@" unless $ok;
	push @fail, "$n messages read, the reference found " . @$exp
	  if $ok && @fail == 0 && $n != @$exp;
	ok(!@fail, "$label $mode: $n messages") or diag join "\n", @fail;
	is($got_fmt, $want_fmt, "$label $mode: format guessed")
	  if $want_fmt && $n > 0 && $ok;
	if ($fh) {
		local $SIG{PIPE} = 'IGNORE';
		1 while read $fh, my $rest, 65536;    # let the feeder finish
		close $fh;
	}
}

# Read one message the way the mode says; the list of differences from
# the expected one.
sub compare_message {
	my ($m, $e, $mo, $n) = @_;
	my @diff;
	my %g = map { $_ => $m->$_ } @FIELDS;
	my $how = $mo->{how} // 'content';
	$how = (qw(content chunk write))[ $n % 3 ] if $how eq 'rotate';
	my $content;
	if ($how eq 'content') {
		$content = $m->content;
	} elsif ($how eq 'chunk') {
		$content = '';
		while (defined(my $c = $m->read_chunk)) {
			push @diff, 'read_chunk returned an empty chunk' if $c eq '';
			$content .= $c;
		}
	} elsif ($how eq 'write') {
		$content = '';
		open my $out, '>:raw', \$content or die;
		my $w = $m->write_to($out);
		close $out;
		push @diff, "write_to returned $w, wrote " . length($content)
		  if $w != length $content;
	}
	# skip mode: every other message is skipped by asking its size, the
	# others by just going on to the next one
	if ($how ne 'skip' || $n % 2) {
		$g{size}       = $m->size;
		$g{end_offset} = $m->end_offset;
	}
	for my $k (@FIELDS, qw(size end_offset)) {
		next if $k =~ /\A(?:size|end_offset)\z/ && !exists $g{$k};
		push @diff, sprintf '%s: expected %s, got %s', $k,
		  map { defined $_ ? "'" . esc($_) . "'" : 'undef' } $e->{$k}, $g{$k}
		  unless same($e->{$k}, $g{$k});
	}
	push @diff, describe_content_diff($e->{content}, $content)
	  if defined $content && $content ne $e->{content};
	return @diff;
}

# Check one file (bytes $data, written to disk here) in every mode.
# $msgs: the message list, from ref_split() or from the generator.
sub check_file {
	my ($label, $data, $fmt, $msgs, @modes) = @_;
	@modes = @MODES unless @modes;
	my $file = "$DIR/$label.mbox";
	open my $fh, '>:raw', $file or die "$file: $!";
	print {$fh} $data;
	close $fh or die "$file: $!";
	$STATS{files}++;
	$STATS{bytes} += length $data;
	$msgs //= ref_split($data);
	$STATS{messages} += @$msgs;
	for my $m (@$msgs) {
		$STATS{big}++ if length $m->{text} >= 200_000;
		$STATS{nofrom}++ unless $m->{from};
		$STATS{loose}++ if $m->{from} && !is_from_line($m->{from});
	}
	my %exp;
	for my $mode (@modes) {
		my $mo = $MODES{$mode};
		my ($f, $keep) = ($fmt, $mo->{keep} ? 1 : 0);
		if ($mo->{auto}) {
			$f = stable_guess($data);
			next unless defined $f;
		}
		my $exp = $exp{"$f/$keep"} //= ref_expect($msgs, $f, $keep);
		if ($mo->{auto}) {
			check_run($file, $label, 'auto', $mode, $exp, $f);
		} else {
			check_run($file, $label, $fmt, $mode, $exp);
		}
	}
	unlink $file unless $ENV{MM_DIFF_KEEP};
}

# ---------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------

my @WDAY = qw(Sun Mon Tue Wed Thu Fri Sat);
my @MON  = qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec);
my @WORD = qw(the mail from server alice bob carol lorem ipsum dolor sit
  amet From from FROM Status: re: > >> foo bar baz qux 2001 12:00:00 Mon
  Jan x-uid subject hello world test message mbox quoting);

sub pick { $_[ int rand @_ ] }
sub chance { rand() < $_[0] }

sub rnd_words {
	my $n = 1 + int rand 12;
	return join ' ', map { pick(@WORD) } 1 .. $n;
}

sub rnd_addr {
	return pick(qw(alice bob carol MAILER-DAEMON root)) . '@'
	  . pick(qw(example.com example.org mx.example.net localhost));
}

sub rnd_date_part {
	my ($y, $mo, $d) = (1980 + int rand 50, int rand 12, 1 + int rand 28);
	my ($h, $mi, $s) = (int rand 24, int rand 60, int rand 60);
	my $day = chance(0.7) ? sprintf('%2d', $d)
	  : chance(0.5) ? sprintf('%02d', $d) : $d;
	my $time = chance(0.9) ? sprintf('%02d:%02d:%02d', $h, $mi, $s)
	  : sprintf('%02d:%02d', $h, $mi);
	my $date = pick(@WDAY) . " $MON[$mo] $day $time";
	$y = pick(1965, 1969, 2201, 1000 + int rand 9000) if chance(0.05);
	my $r = rand;
	return $r < 0.72 ? "$date $y"
	  : $r < 0.82 ? "$date $y " . pick('+0100', '-0500', '+0000')
	  : $r < 0.88 ? "$date " . pick('MET', 'UTC', 'EST') . " $y"
	  : $r < 0.94 ? "$date " . pick('UTC', 'MET DST', 'XYZ') . " $y "
	    . pick('+0000', '-0230', pick('WETDST', 'JST', 'AEDT', 'IST', 'QQQ'))
	  : "$date $y remote from " . pick(qw(uunet host));
}

# A valid From_ line (no line end); $len: exact length wanted, for lines
# around the 1024-byte limit (which may then be invalid: the oracle
# decides, the reference asks it).
sub rnd_from_line {
	my ($len) = @_;
	for (1 .. 100) {
		my $sender = chance(0.05) ? '' : chance(0.05)
		  ? rnd_addr() . ' ' . rnd_addr() : rnd_addr();
		my $date = rnd_date_part();
		my $line = "From $sender $date";
		if ($len) {
			my $pad = $len - length $line;
			next if $pad < 0;
			return 'From ' . ('s' x $pad) . "$sender $date";
		}
		return $line if MigrateMail::parse_from_line($line);
	}
	die 'cannot make a From_ line';
}

# A loose From_-like line (no line end): no date, Netscape's "From - ",
# Python's "From foo@bar blah", an RFC 822 date, one without comma, a
# ctime date that does not parse.
sub rnd_loose_line {
	return pick('From ', 'From - ', 'From  ', 'From foo@bar blah',
		    'From ' . rnd_addr(), 'From - ' . rnd_rfc_date(),
		    'From ' . rnd_addr() . ' ' . rnd_rfc_date(),
		    'From - Sun 24 Jan 2016 21:57:32',
		    'From x Mon Jan 32 12:00:00 2001', 'From here on, ' . rnd_words(),
		    "From a\x01b", 'From ' . ('l' x (1010 + int rand 30)));
}

sub rnd_rfc_date {
	return sprintf '%s, %d %s %d %02d:%02d:%02d %s', pick(@WDAY),
	  1 + int rand 28, pick(@MON), 1990 + int rand 40, int rand 24,
	  int rand 60, int rand 60, pick('+0100', '-0700', 'GMT', '+0000');
}

sub rnd_case {
	my ($name) = @_;
	return chance(0.8) ? $name : chance(0.5) ? lc $name : uc $name;
}

# Header lines (without line ends; continuation lines as separate lines).
sub rnd_headers {
	my ($g, $number) = @_;
	my @h;
	push @h, ['Return-Path: <' . rnd_addr() . '>'] if chance(0.5);
	push @h, ['Received: from ' . rnd_addr() . ' by mx',
		  "\tfor <" . rnd_addr() . '>; ' . rnd_rfc_date()] if chance(0.5);
	push @h, ['From: ' . rnd_addr()], ['To: ' . rnd_addr()];
	push @h, ['Subject: ' . rnd_words()] if chance(0.9);
	push @h, ['Date: ' . (chance(0.9) ? rnd_rfc_date() : 'not a date')]
	  if chance(0.8);
	push @h, ['Message-ID: <' . int(rand 1e9) . '@example.com>'] if chance(0.7);
	my $st = sub { pick('RO', 'O', 'R', '', 'U', 'OR', 'NRO', 'ROA', 'OFd', 'D') };
	push @h, [rnd_case('Status') . ': ' . $st->()] if chance(0.4);
	push @h, [rnd_case('Status') . ': ' . $st->()] if chance(0.05);
	push @h, ['Status: ' . pick('R', 'O'), ' ' . pick('O', 'R', 'X')]
	  if chance(0.03);
	push @h, [rnd_case('X-Status') . ': '
		  . join('', grep { chance(0.4) } qw(A F D T X))] if chance(0.3);
	push @h, ['X-Status:', "\t" . pick('A', 'F', 'D', 'T')] if chance(0.03);
	push @h, [rnd_case('X-Keywords') . ': '
		  . join(' ', grep { chance(0.4) } qw(NonJunk $Label1 Junk))]
	  if chance(0.3);
	push @h, ['X-Keywords: work', "\thome"] if chance(0.03);
	# values longer than the 1023 bytes the reader looks at
	push @h, ['X-Keywords: ' . join ' ', map { pick(qw(NonJunk Junk $Label1)) }
		  1 .. 120 + int rand 60] if chance(0.02);
	push @h, ['X-Status: ' . ('x' x (1010 + int rand 20)) . 'F'] if chance(0.02);
	push @h, ['X-UIDL: ' . ('u' x (250 + int rand 10))] if chance(0.02);
	push @h, [rnd_case('X-UID') . ': '
		  . pick(1 + int rand 100000, 0, 'abc', '4294967295', '4294967296',
			 '007', '12 34')] if chance(0.3);
	push @h, ['X-Mozilla-Status: '
		  . pick(sprintf('%04x', int rand 16), sprintf('%04X', int rand 16),
			 '0001', '8000', 'zz', '123456789', '00010001')]
	  if chance(0.2);
	push @h, ['X-Mozilla-Status2: 00000000'] if chance(0.1);
	push @h, ['X-UIDL: ' . join('', map { pick('a' .. 'z', 0 .. 9) } 1 .. 20)]
	  if chance(0.1);
	push @h, ['X-IMAPbase: ' . pick('1234567890 42', '1 2', 'x')] if chance(0.05);
	push @h, ['X-IMAP: 1111 22'] if $number == 1 && chance(0.3);
	push @h, ['X-Weird!#$%&*+-.^_`{|}~: v'] if chance(0.05);
	push @h, ['X-Empty:'] if chance(0.05);
	push @h, ['X-Long: ' . ('y' x (100 + int rand 2000))] if chance(0.05);
	push @h, ['X-Folded: a', ' b', "\tc", ' d'] if chance(0.1);
	@h = sort { rand() <=> 0.5 } @h if chance(0.7);
	# a line that is not a header ends the block early
	push @h, [pick('Status : RO', "X-\xe9t\xe9: RO", 'no colon here')]
	  if chance(0.03);
	return map { @$_ } @h;
}

sub long_line {
	my $n = 100_000 + int rand 200_000;
	my $unit = '~~ ' . rnd_words() . ' From x ' . ('z' x int rand 50) . ' ';
	my $l = $unit x (1 + int($n / length $unit));
	return substr($l, 0, $n);
}

# One body line as stored (no line end) for format $g->{fmt}.
sub body_line {
	my ($g) = @_;
	my $r = rand 100;
	return rnd_words() if $r < 50;
	return '' if $r < 62;
	return 'From ' . rnd_words() if $r < 65;
	if ($r < 71) {    # a real From_ line in the body: quoted
		my $f = rnd_from_line();
		return chance(0.04) && !$g->{strict} ? $f : ">$f";
	}
	return ('>' x (1 + int rand 3)) . 'From ' . rnd_words() if $r < 75;
	return ('>' x (1 + int rand 3)) . rnd_from_line() if $r < 78;
	return pick('>From', '>', '>>', '> From x', '>>From', '>From  ', '>Fro')
	  if $r < 80;
	return pick('Status: RO', 'X-Status: AF', 'X-UID: 5', 'Subject: x',
		    'X-Keywords: body') if $r < 83;
	return rnd_words() . "\0" . rnd_words() if $r < 85;
	return rnd_words() . "\r" if $r < 87;    # a CRLF line in an LF file
	return pick("\r", "\r\r", "x\ry") if $r < 88;
	return pick(' indented', "\tTabbed", ' ', "\t") if $r < 91;
	if ($r < 91.5) {    # loose From_ lines, some with a header after
		my $l = rnd_loose_line();
		$l = ">$l" if $g->{strict};
		return chance(0.5) ? $l : $l . $g->{eol} . pick('Subject: x',
			'X-Mozilla-Status: 0001', 'Received: from x', 'NB: y',
			'10:30 z', '-x: y', 'Subject x');
	}
	return pick('From', 'From ', 'From  ', 'FROM x Mon Jan  1 12:00:00 2001',
		    'from x Mon Jan  1 12:00:00 2001',
		    'From x Mon Jan 32 12:00:00 2001',
		    'From x Mon Feb 30 12:00:00 2001') if $r < 94;
	if ($r < 95) {    # From_ lines around the 1024-byte limit
		my $f = rnd_from_line(1020 + int rand 7);
		return chance(0.5) || $g->{strict} ? ">$f" : $f;
	}
	return ('>' x (1 + int rand 3)) . "\xff\xfe" . rnd_words() if $r < 97;
	return rnd_words() . ' ' . ('w' x int rand 3000);
}

# A pool of body blocks per format, to build big bodies fast.
my %POOL;
sub pool_block {
	my ($g) = @_;
	my $key = "$g->{fmt}/$g->{eol}";
	my $pool = $POOL{$key} //= [];
	if (@$pool < 48) {
		# no unquoted From_ lines: big messages stay whole
		local $g->{strict} = 1;
		my $b = '';
		while (length $b < 4096 + int rand 12288) {
			$b .= body_line($g) . $g->{eol};
		}
		push @$pool, $b;
		return $b;
	}
	return $pool->[ int rand @$pool ];
}

# One message as stored after its From_ line (no separator).
sub rnd_message_text {
	my ($g, $number) = @_;
	my $eol  = $g->{eol};
	my $kind = rand 100;
	return '' if $kind < 4;    # empty message
	my $text = join '', map { "$_$eol" } rnd_headers($g, $number);
	return $text if $kind < 8;    # headers only, no blank line
	if (chance(0.9)) {
		$text .= $eol;
	} else {
		# no blank line: the body starts at a line that is no header
		$text .= pick('Hello,', 'no blank line before this', '  ') . $eol;
	}
	if ($g->{big} && $kind >= 75) {
		my $size = 200_000 + int rand 2_800_000;
		my @parts;
		my $len = 0;
		while ($len < $size) {
			my $p = chance(0.9) ? pool_block($g)
			  : join '', map { body_line($g) . $eol } 1 .. 1 + int rand 5;
			push @parts, $p;
			$len += length $p;
		}
		$text .= join '', @parts;
	} else {
		my $n = int rand 30;
		$text .= body_line($g) . $eol for 1 .. $n;
		if ($g->{big} && $kind >= 60) {
			$text .= long_line() . $eol;
			$text .= body_line($g) . $eol for 1 .. int rand 5;
		}
	}
	$text .= $eol x (1 + int rand 2) if chance(0.1);    # blank lines at the end
	return $text;
}

# One random mbox file in format $fmt.
sub rnd_mbox {
	my ($fmt, %o) = @_;
	my $eol = chance(0.25) ? "\r\n" : "\n";
	my $g = { fmt => $fmt, eol => $eol, big => $o{big} };
	my $data = '';
	my $r = rand;
	if ($r < 0.1) {
		$data .= pick("\n", "\r\n", "\n\n", "\r\n\n") x (1 + int rand 3);
	}
	if ($r > 0.9) {    # bytes before the first From_ line
		$data .= body_line($g) . $eol for 1 .. 1 + int rand 4;
		$data .= $eol if chance(0.5);
	}
	my $n = $o{max} ? 1 + int rand $o{max} : 0;
	my $loose = chance(0.15) ? 1 : chance(0.3) ? 0.1 : 0;
	for my $i (1 .. $n) {
		my $from = chance($loose) ? rnd_loose_line()
		  : chance(0.03) ? rnd_from_line(1018 + int rand 9)
		  : rnd_from_line();
		my $text = rnd_message_text($g, $i + ($data ne '' ? 1 : 0));
		my $last = $i == $n;
		if ($last && chance(0.15)) {    # no final line end
			if ($text eq '') {
				$data .= $from;
				last;
			}
			$text =~ s/\r?\n\z//;
			$data .= "$from$eol$text";
			last;
		}
		$data .= "$from$eol$text";
		my $s = rand;
		next if $text eq '' && $s < 0.3;    # From_ right after From_
		$data .= $s < 0.05 ? '' : $s < 0.1 ? $eol x 2 : $eol;
	}
	$data .= pick("\n", "\r\n", $eol x 3, 'trailing garbage', '>From x')
	  if chance(0.05);
	return $data;
}

# ---------------------------------------------------------------------
# Content-Length files (mboxcl2): boundaries come from the generator,
# body lines include unquoted valid From_ lines that must not split.
# ---------------------------------------------------------------------

sub clen_body_line {
	my ($g) = @_;
	my $r = rand 100;
	return rnd_from_line() if $r < 15;
	return '' if $r < 30;
	return ('>' x (1 + int rand 2)) . rnd_from_line() if $r < 35;
	return body_line($g);
}

# An mboxcl2 file from message specs { from, eol, headers (lines with line
# ends), body, sep (what follows the body), at (where Content-Length goes
# among the headers) }; returns the bytes and the message list the
# reference is given (boundaries as the writer made them).
sub build_clen {
	my (@spec) = @_;
	my ($data, @msgs) = ('');
	for my $s (@spec) {
		my ($from, $eol, $body) = @$s{qw(from eol body)};
		my @h = @{ $s->{headers} };
		my $cl = ($s->{clname} // 'Content-Length') . ': ' . length($body)
		  . $eol;
		splice @h, $s->{at} // scalar(@h), 0, $cl;
		my $text = join('', @h) . $eol . $body;
		push @msgs, {
			offset    => length $data,
			from      => "$from$eol",
			text      => $text,
			clen_used => 1,
		};
		$data .= "$from$eol$text$s->{sep}";
	}
	$msgs[$_]{end_offset} = $_ < $#msgs ? $msgs[ $_ + 1 ]{offset} : length $data
	  for 0 .. $#msgs;
	return ($data, \@msgs);
}

sub rnd_clen_mbox {
	my (%o) = @_;
	my $eol = chance(0.25) ? "\r\n" : "\n";
	my $g = { fmt => 'mboxcl2', eol => $eol };
	my @spec;
	my $n = 1 + int rand $o{max};
	for my $i (1 .. $n) {
		my $from = rnd_from_line();
		my @h = map { "$_$eol" } rnd_headers($g, $i);
		# no stray "not a header" line: the block must end on the blank
		@h = grep { /\A[\x21-\x39\x3b-\x7e]+:/ || /\A[ \t]/ } @h;
		# The body does not start with a From_ line and is not empty
		# when no separator follows: the blank line ending the header
		# block would then look like the separator (fixed cases below).
		my $body = 'Hi' . $eol;
		if ($o{big} && chance(0.2)) {
			my $size = 200_000 + int rand 2_000_000;
			my @parts;
			my $len = 0;
			while ($len < $size) {
				my $p = join '', map { clen_body_line($g) . $eol }
				  1 .. 1 + int rand 200;
				push @parts, $p;
				$len += length $p;
			}
			$body .= join '', @parts;
		} elsif (chance(0.85)) {
			$body .= clen_body_line($g) . $eol for 1 .. int rand 25;
		} else {
			$body = '';
		}
		$body =~ s/\r?\n\z// if chance(0.05);
		$body .= "$eol$from$eol" if chance(0.1);    # ends in blank + From_
		# Content-Length anywhere, but not between a header and its
		# continuation lines
		my @at = grep { $_ == @h || $h[$_] !~ /\A[ \t]/ } 0 .. @h;
		push @spec, {
			from    => $from,
			eol     => $eol,
			headers => \@h,
			body    => $body,
			at      => $at[ int rand @at ],
			clname  => rnd_case('Content-Length'),
			sep     => ($i < $n || $body eq '' || chance(0.7)) ? $eol : '',
		};
	}
	return build_clen(@spec);
}

# ---------------------------------------------------------------------
# Fixed edge cases (compared with the reference too)
# ---------------------------------------------------------------------

my $F1 = 'From alice@example.com Mon Jan  1 12:00:00 2001';
my $F2 = 'From bob@example.com Tue Jan  2 12:00:00 2001';
my @FIXED = (
	'', "\n", "\n\r\n\n", "$F1", "$F1\n", "$F1\r\n", "\n$F1\n",
	"$F1\n\n", "$F1\n\n\n", "$F1\n\r\n", "$F1\n$F2\n", "$F1\n\n$F2",
	"$F1\nStatus: RO\n\n$F2\nX-Status: AF\n",
	"garbage\n$F1\nbody\n", "garbage\n\n$F1\nbody\n", "\n\ngarbage",
	"Status: R\nfoo\n\n$F1\n",
	"$F1\nSubject: x\n\nbody\n>From x\n>>From y\n\n$F2\nb\n",
	"$F1\nSubject: x\nStatus: O\n\n>$F2\n\n",
	"$F1\nSubject: x\n Status: O\nStatus: RO\n folded\nX-UID: 7\n\nbody",
	"$F1\nX-UID: 12\n\n$F2\nX-UID: 0012\n", "$F1\nSubject",
	"$F1\nStatus: RO", "$F1\n\nStatus: RO\n", "$F1\n \n$F2\n",
	"$F1\nSubject: a\nno header\nStatus: RO\n\n",
	"$F1\nSubject: a\r\n\r\nbody\r\n\r\n$F2\r\n\r\n",
	"$F1\n>From", "$F1\n>From ", "$F1\n\n>From ", "$F1\n\n>>From ",
	"$F1\n\nx\n\n\n", "$F1\n\n\r\n\r\n", "$F1\n\n\r", "$F1\n\n\r\n\r",
	"$F1\nX-IMAP: 1 2\n\n$F2\nX-IMAP: 3 4\n",
	"$F1\nX-Mozilla-Status: 000f\nStatus: O\n\n",
	"$F1\nFrom: a\n\n" . ("x" x 1030) . "\n",
	"$F1\n\n" . ('>' x 1500) . "From x\n",
	"$F1\n\n" . ('>' x 1500) . "$F2\n",
	"$F1\n\n" . ("\n" x 70000) . "$F2\n",
);

# Fill a file with lines up to offset $at (at least 100 bytes in), then
# append $tail.
sub fill_to {
	my ($head, $at, $tail) = @_;
	my $d = $head;
	while (length($d) < $at - 100) {
		$d .= 'filler ' . ('f' x (40 + length($d) % 37)) . "\n";
	}
	$d .= ('g' x ($at - length($d) - 1)) . "\n";
	return $d . $tail;
}
# The smallest window is 64 KiB: its first edge is at byte 65536. Put the
# interesting bytes on both sides of it: mboxrd quoting runs of '>' (the
# run can be longer than the lookahead), blank line + From_ line.
my @EDGE;
for my $run (1, 2, 3, 1100, 3000) {
	for my $d (-8 .. 2) {    # "From " starting at 65536 + $d
		push @EDGE, fill_to("$F1\n\n", 65536 + $d - $run,
				     ('>' x $run) . "From x\nend\n");
	}
	# the run at the end of the file
	push @EDGE, fill_to("$F1\n\n", 65536 - $run, ('>' x $run) . 'From ');
	push @EDGE, fill_to("$F1\n\n", 65536 - $run, ('>' x $run) . 'From');
}
for my $d (-1031 .. -1024, -10, -6, -5, -3 .. 2) {    # separator at 65536 + $d
	push @EDGE, fill_to("$F1\n\n", 65536 + $d, "\n$F2\nb\n");
	push @EDGE, fill_to("$F1\n\n", 65536 + $d, "\r\n$F2\r\nb\r\n");
	push @EDGE, fill_to("$F1\n\n", 65536 + $d, "$F2\nb\n");
	push @EDGE, fill_to("$F1\n\n", 65536 + $d, ">$F2\nb\n");
}

my $F3 = 'From carol@example.com Wed Jan  3 12:00:00 2001';

# Content-Length cases where the blank line ending the header block is
# followed by a From_ line or the end of the file.
sub clen_case {
	my ($eol, @m) = @_;
	return build_clen(map {
		{ from => $_->[0], eol => $eol, headers => [ map { "$_$eol" } @{ $_->[1] } ],
		  body => $_->[2] =~ s/\n/$eol/gr, sep => $_->[3] =~ s/\n/$eol/gr }
	} @m);
}
my @CLEN_FIXED = (
	# body starting with a From_ line (mboxcl2 does not quote it)
	[ 'body-starts-with-from', "\n",
	  [ $F1, ['Subject: a'], "$F3\nbody\n", "\n" ], [ $F2, ['Subject: b'], "b\n", "\n" ] ],
	[ 'body-starts-with-from-crlf', "\r\n",
	  [ $F1, ['Subject: a'], "$F3\nbody\n", "\n" ], [ $F2, ['Subject: b'], "b\n", "\n" ] ],
	[ 'body-is-a-from-line', "\n",
	  [ $F1, ['Subject: a'], "$F3\n", "\n" ], [ $F2, ['Subject: b'], "b\n", '' ] ],
	# empty body, no separator after it
	[ 'empty-body-at-eof', "\n", [ $F1, ['Subject: a'], '', '' ] ],
	[ 'empty-body-then-from', "\n",
	  [ $F1, ['Subject: a'], '', '' ], [ $F2, ['Subject: b'], "b\n", "\n" ] ],
	# the same with a separator: fine
	[ 'empty-body-sep', "\n",
	  [ $F1, ['Subject: a'], '', "\n" ], [ $F2, ['Subject: b'], '', "\n" ] ],
	[ 'body-blank-then-from', "\n",
	  [ $F1, ['Subject: a'], "\n$F3\nx\n", "\n" ], [ $F2, ['Subject: b'], "b", '' ] ],
	[ 'body-no-final-newline', "\n",
	  [ $F1, ['Subject: a'], "x\n\n$F3", "\n" ], [ $F2, ['Subject: b'], "b\n\n", "\n" ] ],
);

# ---------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------

for my $c (@CLEN_FIXED) {
	my ($name, $eol, @m) = @$c;
	my ($data, $msgs) = clen_case($eol, @m);
	check_file("clen-$name", $data, 'mboxcl2', $msgs);
}

my $fixed_n = 0;
for my $data (@FIXED, @EDGE) {
	$fixed_n++;
	# files that fit the default window whole only need the small one
	my @modes = length $data > 60000 ? qw(path64k pipe64k chunks skip) : ();
	for my $fmt (qw(mboxo mboxrd)) {
		check_file(sprintf('fixed%03d-%s', $fixed_n, $fmt), $data, $fmt,
			   undef, @modes);
	}
}

for my $seed (42, 7, 2024, 31337, 99, 1, 123456) {
	srand $seed;
	%POOL = ();
	for my $fmt (qw(mboxo mboxrd mboxcl mboxcl2)) {
		for my $k (1 .. 7) {
			my $big = $k == 7;
			my $data = rnd_mbox($fmt, max => $big ? 8 : 60, big => $big);
			check_file("s$seed-$fmt-$k", $data, $fmt);
		}
	}
	for my $k (1 .. 3) {
		my ($data, $msgs) = rnd_clen_mbox(max => $k == 3 ? 6 : 15,
						  big => $k == 3);
		check_file("s$seed-clen-$k", $data, 'mboxcl2', $msgs);
	}
}

note sprintf '%d files, %d bytes, %d messages (%d of 200 KB or more, '
  . '%d without From_ line, %d at a loose one), %d reader runs, %d message '
  . 'comparisons, %d s',
  @STATS{qw(files bytes messages big nofrom loose runs checks)}, time - $T0;

stop_feeder();
done_testing;
