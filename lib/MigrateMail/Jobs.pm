package MigrateMail::Jobs;

use strict;
use warnings;

use Errno ();

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(classify exit_status encode_field decode_field job_line
  parse_job_line read_jobs_file shard_jobs parse_shard by_size_desc cores auto_jobs
  merge_reports in_place_counts);

# errno values after which running the same job again, as it is, cannot
# succeed: a permission, a path, a name, a file system that lacks what
# a Maildir needs. Anything else (EIO, ENOSPC, EDQUOT, EAGAIN from a
# lock timeout, ESTALE, ENOMEM, ...) may pass on a retry.
my %ADMIN_ERRNO = map { $_ => 1 } grep { defined }
  map { my $f = Errno->can($_); $f ? $f->() : undef }
  qw(EACCES EPERM EROFS ELOOP ENOENT ENOTDIR EISDIR EEXIST EMLINK EXDEV
     ENAMETOOLONG EINVAL EFBIG ENXIO ENODEV EOPNOTSUPP ENOTSUP ENOSYS
     ESPIPE ENOTBLK ETXTBSY);

# The class of one error of the C core (its mm_code_name and errno):
# 'retry' or 'admin'.
sub classify {
	my ($code, $errno) = @_;
	# an error without a code was not an I/O call's: ours, the admin's
	return 'admin' unless defined $code;
	return 'retry' if $code eq 'nomem';
	return 'admin' unless $code eq 'io';
	return $errno && $ADMIN_ERRNO{$errno} ? 'admin' : 'retry';
}

# The exit status for a list of classes ('retry', 'admin', undef for a
# success): one failure that needs the admin makes it 3, as a retry
# alone would not finish the run.
sub exit_status {
	my %seen = map { defined $_ ? ($_ => 1) : () } @_;
	return 3 if $seen{admin};
	return 2 if $seen{usage};
	return 1 if keys %seen;
	return 0;
}

# A job list field: every byte outside printable ASCII, the space and
# '%' become %XX (uppercase hex), so a name holding a tab, a newline,
# a terminal escape or Latin-1 bytes stays one field of one line and
# comes back byte for byte.
sub encode_field {
	my ($s) = @_;
	utf8::encode($s) if utf8::is_utf8($s);
	$s =~ s/([^\x21-\x24\x26-\x7e])/sprintf '%%%02X', ord $1/ge;
	return $s;
}

sub decode_field {
	my ($s) = @_;
	$s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
	return $s;
}

# One line of a job list (without the newline): address, spool path,
# bytes, tab-separated.
sub job_line {
	my ($job) = @_;
	return join "\t", encode_field($job->{addr}), encode_field($job->{src}), $job->{size} // 0;
}

my $ADDR = qr/\A[^\s\@\/]+\@[^\s\@\/]+\z/;

# A job from one line of a job list; dies naming the line if it is not
# one.
sub parse_job_line {
	my ($line, $where) = @_;
	$line =~ s/\r?\n\z//;
	my @f = split /\t/, $line, -1;
	die "$where: expected ADDRESS<tab>PATH<tab>BYTES\n"
	  unless @f == 3 && length $f[0] && length $f[1] && $f[2] =~ /\A[0-9]+\z/;
	my ($addr, $src) = (decode_field($f[0]), decode_field($f[1]));
	die "$where: '" . $f[0] . "' is not an address user\@domain\n" unless $addr =~ $ADDR;
	return { addr => $addr, src => $src, name => $src, size => 0 + $f[2] };
}

# The jobs of a job list file ('-': standard input); blank lines and
# '#' comments are skipped. Dies on a line that is not a job.
sub read_jobs_file {
	my ($path) = @_;
	my $fh;
	if ($path eq '-') {
		$fh = \*STDIN;
	} else {
		open $fh, '<:raw', $path or die "cannot read job list $path: $!\n";
	}
	binmode $fh;
	my @jobs;
	while (my $line = <$fh>) {
		next if $line =~ /\A\s*(?:#.*)?\r?\n?\z/;
		push @jobs, parse_job_line($line, ($path eq '-' ? 'stdin' : $path) . " line $.");
	}
	return \@jobs;
}

# Largest first; ties by address, then path, so the order is the same
# on every host.
sub by_size_desc {
	my ($jobs) = @_;
	return sort { ($b->{size} // 0) <=> ($a->{size} // 0) || ($a->{addr} // '') cmp ($b->{addr} // '')
		      || $a->{src} cmp $b->{src} } @$jobs;
}

# "K/N" with 1 <= K <= N; (K, N) or undef.
sub parse_shard {
	my ($s) = @_;
	my ($k, $n) = ($s // '') =~ m{\A([0-9]+)/([0-9]+)\z} or return;
	return if $n < 1 || $k < 1 || $k > $n;
	return (0 + $k, 0 + $n);
}

# Shard K of N of a job list: the jobs of one address (compared without
# case) stay together, since they write into one Maildir; the groups,
# largest first, go each to the shard with the fewest bytes so far (the
# lowest number on a tie). The assignment depends only on the list's
# contents, not its order, so every host computes the same one, and
# every job is in exactly one shard. Returns the jobs of shard K,
# largest group first.
sub shard_jobs {
	my ($jobs, $k, $n) = @_;
	my %group;
	for my $j (@$jobs) {
		push @{ $group{ lc($j->{addr} // "\0$j->{src}") } }, $j;
	}
	my @g = map { my @m = sort { $a->{src} cmp $b->{src} } @{ $group{$_} };
		      my $bytes = 0;
		      $bytes += $_->{size} // 0 for @m;
		      [ $_, $bytes, \@m ] } keys %group;
	@g = sort { $b->[1] <=> $a->[1] || $a->[0] cmp $b->[0] } @g;
	# a binary heap of [bytes, shard]: n log N, for 10^5 jobs on 10^3 shards
	my @heap = map { [ 0, $_ ] } 1 .. $n;
	my $less = sub { $_[0][0] < $_[1][0] || ($_[0][0] == $_[1][0] && $_[0][1] < $_[1][1]) };
	my @mine;
	for my $g (@g) {
		my $top = $heap[0];
		push @mine, @{ $g->[2] } if $top->[1] == $k;
		$top->[0] += $g->[1];
		# sift the root down
		my $i = 0;
		while (1) {
			my ($l, $r, $m) = (2 * $i + 1, 2 * $i + 2, $i);
			$m = $l if $l < @heap && $less->($heap[$l], $heap[$m]);
			$m = $r if $r < @heap && $less->($heap[$r], $heap[$m]);
			last if $m == $i;
			@heap[ $i, $m ] = @heap[ $m, $i ];
			$i = $m;
		}
	}
	return \@mine;
}

# The number of cores this process may run on (nproc), at least 1.
sub cores {
	my $n = `nproc 2>/dev/null`;
	return $1 if defined $n && $n =~ /\A\s*([0-9]+)/ && $1 > 0;
	if (open my $fh, '<', '/proc/cpuinfo') {
		my $c = grep { /^processor\s*:/ } <$fh>;
		return $c if $c;
	}
	return 1;
}

# How many jobs --jobs auto runs: one per core, and one more where the
# messages are synced (any --fsync but none): each job's writer waits
# for its syncs, and the extra job keeps the cores busy meanwhile. On 2
# cores, ext4 and xfs, 3 jobs were 1.08 to 1.20 times as fast as 2
# (bench/RESULTS.md, issue 19, third part).
sub auto_jobs {
	my ($fsync) = @_;
	return cores() + (defined $fsync && $fsync eq 'none' ? 0 : 1);
}

# The reports of many runs (--report files: a batch, a shard, one
# mailbox) as one: the last result of each mailbox (by the report's end
# time, then the order given), totals over those, the failed ones, and,
# given the job list they came from, the jobs no report has a result
# for (a task killed before it wrote its report). A file that is not a
# report (unreadable, truncated, not JSON) is left out and said in bad.
# Returns { totals, failed => [results], missing => [jobs],
# results => [...], bad => [messages] }.
sub merge_reports {
	my ($files, %o) = @_;
	require JSON::PP; # only to merge reports: not at start-up
	my $json = JSON::PP->new->utf8;
	my (@reports, %last, @bad);
	# a report is written whole or not at all (replaced atomically):
	# one that cannot be read or parsed was damaged or is another
	# file; said, and left out (its mailboxes are then missing)
	for my $i (0 .. $#$files) {
		my $f = $files->[$i];
		my $fh;
		if (!open $fh, '<:raw', $f) {
			push @bad, "cannot read report $f: $!";
			next;
		}
		my $text = do { local $/; <$fh> };
		my $rep = eval { $json->decode($text) };
		if (!(ref $rep eq 'HASH' && ref $rep->{mailboxes} eq 'ARRAY')) {
			(my $why = $@ || 'JSON, but not a report') =~ s/ at \S+ line \d+\.?\n\z//;
			push @bad, "$f: not a report of mbox2vpopmail, or damaged (" . length($text)
			  . " bytes: $why): left out";
			next;
		}
		push @reports, [ $rep->{finished} // 0, $i, $rep ];
	}
	for my $r (sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] } @reports) {
		for my $m (@{ $r->[2]{mailboxes} }) {
			my $key = _key_of($m);
			delete $last{$key};   # keep the latest last in order
			$last{$key} = $m;
		}
	}
	my @results = map { $last{$_} } sort keys %last;
	my %t = map { $_ => 0 } qw(mailboxes failed_mailboxes messages bytes to_new to_cur skipped
				   repaired failed);
	for my $r (@results) {
		$t{mailboxes}++;
		$t{failed_mailboxes}++ if $r->{failed_mailbox};
		for my $x ($r, @{ $r->{folders} || [] }) {
			my %c = in_place_counts($x);
			$t{$_} += $c{$_} for keys %c;
		}
	}
	my @missing;
	if ($o{jobs}) {
		@missing = grep { !$last{ _key($_->{addr}, $_->{src}) } } @{ $o{jobs} };
		$t{missing} = scalar @missing;
	}
	return { totals => \%t, failed => [ grep { $_->{failed_mailbox} } @results ],
		 missing => \@missing, results => \@results, bad => \@bad };
}

# The counts of one result (a mailbox or a folder) as a merge adds
# them: what is in place. A pass that found messages an earlier pass
# of the same mbox had delivered (a pass killed before its report, a
# run before) counts them as in place, with their bytes and new/cur,
# not as skipped (in_place, from the C core's state pass); so a killed
# pass and its retry count what one whole pass does. A result without
# in_place (a pass that stopped, a dry run) counts what it delivered.
sub in_place_counts {
	my ($x) = @_;
	my %c = map { $_ => $x->{$_} // 0 } qw(messages bytes to_new to_cur skipped repaired failed);
	my $ip = $x->{in_place};
	return %c unless ref $ip eq 'HASH';
	my $earlier = ($ip->{messages} // 0) - $c{to_new} - $c{to_cur};
	$earlier = 0 if $earlier < 0;
	$c{bytes} = $ip->{bytes} // 0;
	$c{to_new} = $ip->{new} // 0;
	$c{to_cur} = $ip->{cur} // 0;
	$c{skipped} = $c{skipped} > $earlier ? $c{skipped} - $earlier : 0;
	return %c;
}

# A mailbox by its address (without case) and its spool path; for a
# result, as its job line has them (the bytes of the name, whatever
# the report's JSON made of them).
sub _key {
	my ($addr, $src) = @_;
	return lc($addr // '') . "\t" . encode_field($src // '');
}

sub _key_of {
	my ($m) = @_;
	if (defined $m->{job}) {
		my ($addr, $src) = split /\t/, $m->{job};
		return lc(decode_field($addr)) . "\t$src";
	}
	return _key($m->{user}, $m->{source} // $m->{mailbox});
}

1;
__END__

=head1 NAME

MigrateMail::Jobs - job lists, shards, exit classes and merged reports for many machines

=head1 SYNOPSIS

  use MigrateMail::Jobs qw(job_line read_jobs_file shard_jobs classify);
  print job_line($_), "\n" for @jobs;
  my $jobs = read_jobs_file('jobs.txt');
  my $mine = shard_jobs($jobs, 2, 4);

=head1 DESCRIPTION

What B<mbox2vpopmail> needs to be one job of an engine that spreads
thousands of mailboxes over many hosts (GNU parallel, Slurm arrays,
Kubernetes indexed Jobs): see L<mbox2vpopmail/MANY MACHINES>.

=head1 FUNCTIONS

=head2 $class = classify($code, $errno)

The class of an error of the C core, by its code (C<io>, C<format>,
C<usage>, C<too-big>, C<nomem>) and errno: C<retry> for what running
the job again may fix (an I/O error, the disk or quota full, a lock
that stayed busy, memory), C<admin> for what needs someone first (a
permission, a refused path or link, a name taken, a file system that
cannot take a Maildir, input that is not an mbox, a message over the
size limit).

=head2 $status = exit_status(@classes)

0 for none, 1 when the worst is C<retry>, 3 when one is C<admin>.

=head2 $text = encode_field($bytes); $bytes = decode_field($text)

A job list field: bytes outside C<!> to C<~>, and C<%>, as C<%XX>.

=head2 $line = job_line($job); $job = parse_job_line($line, $where)

C<ADDRESS TAB PATH TAB BYTES>, fields encoded as C<encode_field> does.

=head2 $jobs = read_jobs_file($path)

The jobs of a list (C<-> for standard input); C<#> comments and blank
lines are skipped; dies naming the line that is not a job.

=head2 @sorted = by_size_desc(\@jobs)

Largest first, then by address and path.

=head2 ($k, $n) = parse_shard("K/N")

The numbers of a B<--shard> value, 1 <= K <= N; the empty list for
anything else.

=head2 $mine = shard_jobs(\@jobs, $k, $n)

Shard C<$k> of C<$n>: the jobs of one address together, groups largest
first each to the shard with the fewest bytes so far. Depends only on
the jobs, not their order: every host computes the same assignment.

=head2 $n = cores()

The number of cores this process may run on, as B<nproc> counts them
(else F</proc/cpuinfo>), at least 1.

=head2 $n = auto_jobs($fsync)

What B<--jobs auto> runs for that B<--fsync> mode: C<cores()>, plus one
unless C<$fsync> is C<none> (a job waiting for its syncs leaves its
core to the extra one).

=head2 $merged = merge_reports(\@files, jobs => \@jobs)

C<totals>, C<failed>, C<missing> (jobs no report has), C<results>, and
C<bad>: a message for each file that could not be read or is not a
report (truncated, not JSON), left out of the merge.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
