package MigrateMail::Batch;

use strict;
use warnings;

use MigrateMail::FS ();
use MigrateMail::Jobs ();
use Time::HiRes ();
use MigrateMail::Accounts qw(vpopmail_name_problem);

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(spool_jobs read_map run_jobs check_owner);

# The mailboxes of a directory of copied spool files: one job per
# regular file, the user named by the file (or the map). Returns
# { jobs => [...], skipped => [reasons] }; dies if the directory cannot
# be read, or is not root's (or ours) and trust is not given. Each job
# holds the directory (a MigrateMail::FS::Dir) and the file's name in
# it, so that the file is opened later through the directory's
# descriptor, never by a path a user could swap meanwhile.
sub spool_jobs {
	my ($dir, $domain, $mapfile, %o) = @_;
	my $map = defined $mapfile ? read_map($mapfile, $domain) : {};
	my $d = MigrateMail::FS::open_dir($dir, trust => $o{trust});
	check_owner($d, 'spool directory') unless $o{trust};
	my (@jobs, @skipped);
	for my $e ($d->list) {
		my ($file, $type, $size, $links) = @$e;
		my $path = "$dir/$file";
		if ($file =~ /^\./ || $file =~ /\.lock\z/) {
			push @skipped, "$path: not a mailbox (lock or hidden file), skipped";
			next;
		}
		if ($type ne 'f') {
			push @skipped, "$path: not a regular file, skipped";
			next;
		}
		my %job = (src => $path, name => $path, size => $size, dir => $d, file => $file);
		my $addr = $map->{$file};
		if (!defined $addr) {
			# As sendmail-list refuses them: never lowercased here,
			# or "Mike" and "mike" would share one Maildir, and a
			# name starting with "-" would reach vuserinfo.
			my $user = $file;
			if (defined(my $why = vpopmail_name_problem($user, $o{vpopmail}))) {
				push @jobs, { %job, error => "'$file' is not a user name vpopmail accepts ($why); name its user in --map" };
				next;
			}
			if (!defined $domain) {
				push @jobs, { %job, error => "no user for '$file' in the map and no --domain" };
				next;
			}
			$addr = "$user\@$domain";
		}
		next if $addr eq '-';
		push @jobs, { %job, addr => $addr, mapped => 1 } if exists $map->{$file};
		push @jobs, { %job, addr => $addr } unless exists $map->{$file};
	}
	_collisions(\@jobs, $domain);
	return { jobs => \@jobs, skipped => \@skipped };
}

# Spool files that would reach one Maildir: vpopmail lowercases
# addresses, so "Mike" and "mike" are one user. Unless the map names
# every one of them (the admin merging on purpose), each of them fails
# (a name refused as it is counts by what vpopmail would make of it):
# one person's mail must never go to another by accident.
sub _collisions {
	my ($jobs, $domain) = @_;
	my %by;
	for my $j (@$jobs) {
		my $to = $j->{addr} // (defined $domain ? "$j->{file}\@$domain" : next);
		push @{ $by{ lc $to } }, $j;
	}
	for my $to (sort keys %by) {
		my $g = $by{$to};
		next if @$g < 2 || !grep { !$_->{mapped} } @$g;
		my $files = join ', ', map { "'$_'" } sort map { $_->{file} } @$g;
		$_->{error} = "the spool files $files would all go to $to: nothing delivered "
		  . 'for them; name each in --map (one line per file) to merge them, or map them '
		  . 'to different users' for @$g;
	}
	return;
}

# Refuse a directory the admin named that a user could fill with
# someone else's mail: it must be root's, ours, or one of @uids (the
# mailbox owner's).
sub check_owner {
	my ($d, $what, @uids) = @_;
	my $uid = $d->uid;
	return if $uid == 0 || $uid == $> || grep { defined && $_ == $uid } @uids;
	die "the $what " . $d->path . " belongs to uid $uid, not to root or the mailbox's owner: "
	  . "refused (give --trust-paths if that is right)\n";
}

# The map file: "FILE ADDRESS" per line ('#' comments); ADDRESS is
# user@domain, a user (then @DOMAIN), or "-" to leave the file out.
# FILE is everything up to the last run of whitespace.
sub read_map {
	my ($path, $domain) = @_;
	open my $fh, '<', $path or die "cannot read map $path: $!\n";
	my %map;
	while (my $line = <$fh>) {
		chomp $line;
		next if $line =~ /^\s*(?:#|$)/;
		my ($file, $addr) = $line =~ /\A\s*(.*?)\s+(\S+)\s*\z/
		  or die "$path line $.: expected 'FILE ADDRESS'\n";
		if ($addr ne '-' && $addr !~ /\@/) {
			die "$path line $.: '$addr' has no domain and there is no --domain\n"
			  unless defined $domain;
			$addr = "$addr\@$domain";
		}
		$map{$file} = $addr;
	}
	return \%map;
}

# Run $work->($job) for every job, $jobs at a time (forked workers), and
# $done->($result) in this process, in completion order. Returns the
# results in job order.
sub run_jobs {
	my ($jobs, $n, $work, $done, $progress) = @_;
	my $prog = $progress ? _progress($jobs) : undef;
	my $wrap = sub {
		my ($job) = @_;
		return { mailbox => $job->{name}, user => $job->{addr}, source => $job->{src},
			 defined $job->{size} ? (size => $job->{size}) : (),
			 errors => ["ERROR: $job->{name}: $job->{error}"], failed_mailbox => 1,
			 failure => 'admin', defined $job->{addr} ? (job => MigrateMail::Jobs::job_line($job)) : () }
		  if $job->{error};
		return $work->($job);
	};
	my @results;
	my $finish = sub {
		my ($i, $r) = @_;
		$results[$i] = $r;
		$prog->(undef) if $prog;
		$done->($r);
		$prog->($jobs->[$i]) if $prog;
	};
	if ($n <= 1 || @$jobs <= 1) {
		$finish->($_, $wrap->($jobs->[$_])) for 0 .. $#$jobs;
	} else {
		_in_workers($jobs, $n, $wrap, $finish);
	}
	$prog->('end') if $prog;
	return @results;
}

# The jobs as groups of indexes that must run one after the other: the
# jobs of one address (a --map merging two spool files into one user)
# write into one Maildir, so they go to one worker, in job order, and
# never wait for each other's Maildir lock.
sub _groups {
	my ($jobs) = @_;
	my (@groups, %of);
	for my $i (0 .. $#$jobs) {
		my $addr = $jobs->[$i]{addr};
		if (defined $addr && !$jobs->[$i]{error}) {
			my $g = $of{ lc $addr } //= do { push @groups, []; $groups[-1] };
			push @$g, $i;
		} else {
			push @groups, [$i];
		}
	}
	return @groups;
}

# Run $wrap on every job in $n forked workers, a group (_groups) at a
# time per worker; $finish->(index, result) in the parent as each job
# ends.
sub _in_workers {
	my ($jobs, $n, $wrap, $finish) = @_;
	# only with workers: a run of one job never loads them
	require IO::Select;
	require JSON::PP;
	my $json = JSON::PP->new->canonical;
	# the largest first: the longest job must not start last, when
	# the others are done and the workers idle
	my @groups = map { $_->[1] } sort { $b->[0] <=> $a->[0] || $a->[2] <=> $b->[2] }
	  map { my $g = $_; my $bytes = 0; $bytes += $jobs->[$_]{size} // 0 for @$g; [ $bytes, $g, $g->[0] ] }
	  _groups($jobs);
	my (%worker, @idle);
	my $sel = IO::Select->new;
	for (1 .. ($n < @groups ? $n : scalar @groups)) {
		pipe my $to_r, my $to_w or die "pipe: $!";
		pipe my $from_r, my $from_w or die "pipe: $!";
		my $pid = fork // die "fork: $!";
		if (!$pid) {
			close $to_w;
			close $from_r;
			# the other workers' pipes, inherited: holding them
			# open would keep those workers from seeing the end
			for my $w (values %worker) {
				close $w->{in};
				close $w->{out};
			}
			$from_w->autoflush(1);
			while (my $line = <$to_r>) {
				for my $i (split ' ', $line) {
					print {$from_w} "$i ", $json->encode($wrap->($jobs->[$i])), "\n";
				}
			}
			require POSIX;
			POSIX::_exit(0);
		}
		close $to_r;
		close $from_w;
		$to_w->autoflush(1);
		$worker{ fileno $from_r } = { pid => $pid, in => $to_w, out => $from_r };
		$sel->add($from_r);
		push @idle, fileno $from_r;
	}
	my ($next, $left) = (0, scalar @$jobs);
	while ($left > 0) {
		while (@idle && $next < @groups) {
			my $w = $worker{ shift @idle };
			my $g = $groups[ $next++ ];
			$w->{busy} = @$g;
			print { $w->{in} } "@$g\n";
		}
		for my $fh ($sel->can_read) {
			my $line = readline $fh;
			die "a worker died\n" unless defined $line;
			my ($i, $data) = split / /, $line, 2;
			$left--;
			$finish->($i, $json->decode($data));
			push @idle, fileno $fh unless --$worker{ fileno $fh }{busy};
		}
	}
	for my $w (values %worker) {
		close $w->{in};
		waitpid $w->{pid}, 0;
	}
	return;
}

# A one-line progress display on the terminal: called with undef to
# clear it before other output, a finished job to count it, 'end'.
sub _progress {
	my ($jobs) = @_;
	my $total = 0;
	$total += $_->{size} // 0 for @$jobs;
	my ($done, $bytes, $t0) = (0, 0, Time::HiRes::time());
	return sub {
		my ($job) = @_;
		if (!defined $job || $job eq 'end') {
			print STDERR "\r\e[K";
			return;
		}
		$done++;
		$bytes += $job->{size} // 0;
		my $el = Time::HiRes::time() - $t0 || 1e-6;
		my $rate = $bytes / $el;
		my $eta = $rate > 0 ? ($total - $bytes) / $rate : 0;
		printf STDERR "\r\e[Kmailboxes %d/%d, %.1f of %.1f MB, %.1f MB/s, ETA %d:%02d",
		  $done, scalar @$jobs, $bytes / 1e6, $total / 1e6, $rate / 1e6,
		  int($eta / 60), int($eta) % 60;
	};
}

1;
__END__

=head1 NAME

MigrateMail::Batch - many mailboxes: spool directories, maps, workers

=head1 SYNOPSIS

  use MigrateMail::Batch qw(spool_jobs run_jobs);
  my $list = spool_jobs('/root/mailboxes', 'example.com', $mapfile);
  my @results = run_jobs($list->{jobs}, 2, \&work, \&report);

=head1 FUNCTIONS

=head2 $list = spool_jobs($dir, $domain, $mapfile, trust => $t, vpopmail => $v)

One job per regular file of C<$dir> (copied spool files). The file name
is the user unless the map names one. Lock files, hidden files, symlinks
and directories are skipped with a reason. A file name that is not a
user name vpopmail accepts as it is (the rules of
L<MigrateMail::Accounts/vpopmail_name_problem>, as sendmail-list applies
them: upper case, one character, C<vpasswd>, a leading C<-> or C<.>,
characters outside C<[a-z0-9._-]>) becomes a job that fails with an
ERROR saying to name its user in the map: names are never lowercased,
so C<Mike> and C<mike> can never end up in one Maildir. The name limits
are those of vpopmail C<$v> (C<5.4>, the default, or C<5.6>; see
L<MigrateMail::Accounts/vpopmail_limits>). Files that would reach the
same user (compared as vpopmail does, without case: C<Mike> and C<mike>,
or a map line sending a file to the user another file is named after)
all fail with an ERROR naming them and the address, unless the map
names every one of them (a merge on purpose). Any file name is handled: no shell is ever involved.

=head2 $map = read_map($path, $domain)

Reads lines of C<FILE ADDRESS>. C<ADDRESS> is C<user@domain>, a bare
user (C<@$domain> is added) or C<-> to leave the file out; C<FILE> is
everything before the last blank, so it may hold spaces.

=head2 @results = run_jobs(\@jobs, $n, $work, $done, $progress)

Runs C<< $work->($job) >> for each job in C<$n> forked workers (results
travel back as JSON) and C<< $done->($result) >> in the calling process
as each finishes. Jobs for the same address (C<addr>, compared without
case: a map that merges two spool files into one user) run one after the
other in one worker, in the order given, since they write into one
Maildir; the others run in parallel, the largest (by C<size>, the
bytes of a group) started first. With C<$progress>, a one-line display of mailboxes,
megabytes, rate and ETA is kept on standard error.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
