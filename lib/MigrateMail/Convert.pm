package MigrateMail::Convert;

use strict;
use warnings;

use Carp qw(croak);
use Fcntl qw(O_RDONLY SEEK_SET);
use Time::HiRes ();
use MigrateMail ();
use MigrateMail::FS ();
use MigrateMail::Jobs qw(classify);
use MigrateMail::Mbox ();

our $VERSION = '0.01';

my %KNOWN = map { $_ => 1 } qw(format keep_headers timezone buffer_max fsync
  uid gid host batch lock lock_timeout lock_stale verify name uidl_names old_pop3 uid_lists
  ignore_uids trust_paths at lock_path max_message_size repair sync state dry_run manifest_fd
  progress_fd);

# Convert one mbox into one Maildir; see MigrateMail's POD.
sub mbox_to_maildir {
	my ($src, $maildir, %opt) = @_;
	return _run($src, $maildir, 0, %opt);
}

sub verify_maildir {
	my ($src, $maildir, %opt) = @_;
	return _run($src, $maildir, 1, %opt);
}

sub _run {
	my ($src, $maildir, $verify_only, %opt) = @_;
	for my $k (sort keys %opt) {
		croak "ERROR: unknown option '$k'" unless $KNOWN{$k};
	}
	croak 'ERROR: no mbox given' unless defined $src;
	croak 'ERROR: no Maildir given' unless defined $maildir && length $maildir;
	croak "ERROR: option 'repair' needs 'verify' (a re-run repairs what sizes show)"
	  if $opt{repair} && !$verify_only && !$opt{verify};
	if (defined $opt{lock}) {
		my $e = MigrateMail::_lock_plan($opt{lock});
		croak "ERROR: $e" if defined $e;
	}
	for my $k (qw(lock_timeout lock_stale)) {
		croak "ERROR: $k must be a number of seconds"
		  if defined $opt{$k} && $opt{$k} !~ /\A[0-9]+\z/;
	}
	croak "ERROR: max_message_size must be a whole number of bytes, 1 or more"
	  if defined $opt{max_message_size}
	  && ($opt{max_message_size} !~ /\A[0-9]+\z/ || $opt{max_message_size} == 0);
	croak "ERROR: sync must be 'new-server-wins' or 'source-wins'"
	  if defined $opt{sync} && $opt{sync} !~ /\A(?:new-server-wins|source-wins)\z/;
	croak "ERROR: option 'sync' needs the state file (state => 0 turns it off)"
	  if $opt{sync} && defined $opt{state} && !$opt{state};
	croak "ERROR: option 'dry_run' needs 'sync' (a plan of a sync pass)"
	  if $opt{dry_run} && !$opt{sync};
	croak "ERROR: option 'sync' cannot be used with 'verify' of verify_maildir"
	  if $opt{sync} && $verify_only;
	my %c = map { $_ => $opt{$_} }
	  grep { defined $opt{$_} }
	  qw(format keep_headers buffer_max fsync uid gid host batch uidl_names old_pop3 uid_lists ignore_uids
	     trust_paths max_message_size repair);
	# the Maildir's lock waits as long as the spool file's
	$c{lock_timeout} = $opt{lock_timeout} // 30;
	# a folder: $maildir is one name in the directory object 'at'
	$c{at_fd} = ref $opt{at} ? $opt{at}->fd : $opt{at} if defined $opt{at};
	@c{qw(tz_fixed tz_off)} = MigrateMail::Mbox::_timezone($opt{timezone});

	my $t0 = Time::HiRes::time();
	my ($fh, $name, $path, $start, $open_err) = _open_source($src, \%opt);
	# every pass records in the Maildir's state which messages it
	# delivered from this source, under its name (MigrateMail::Sync)
	$c{state_source} = $name unless $verify_only || (defined $opt{state} && !$opt{state});
	$c{sync} = $opt{sync} if defined $opt{sync};
	# a sync pass's plan: the Maildir read-only, nothing changed
	$c{plan} = 1 if $opt{dry_run};
	# a line per message into the manifest (MigrateMail::Sync)
	if (defined $opt{manifest_fd} && !$verify_only) {
		$c{manifest_fd} = $opt{manifest_fd};
		# the Maildir as its lines name it (a folder's with its name)
		$c{manifest_maildir} = ref $opt{at} ? $opt{at}->path . "/$maildir" : $maildir;
	}
	my %stats;
	my $unlock = $open_err ? undef
	  : eval { _lock($fh, $path, $opt{lock}, $opt{lock_timeout} // 30,
			 $opt{lock_stale} // MigrateMail::_lock_stale_default()) };
	if (!$unlock) {
		# a lock that stayed busy: a retry may pass; an mbox that
		# cannot be opened (missing, refused): the admin's
		my $le = ref $@ eq 'HASH' && !$open_err ? $@ : undef;
		(my $e = $open_err // ($le ? $le->{text} : $@)) =~ s/ at \S+ line \d+\.?\n\z//;
		chomp $e;
		%stats = (fatal => { number => 0, offset => 0, text => $e,
				     class => $le ? classify($le->{code}, $le->{errno}) : 'admin' });
	} elsif (!$verify_only && defined(my $why = not_an_mbox($fh, $start))) {
		# nothing of it delivered: the admin looks at it first
		%stats = (fatal => { number => 0, offset => 0, text => $why, class => 'admin' });
		$unlock->();
	} else {
		# a file size limit must give EFBIG, not kill the process
		local $SIG{XFSZ} = 'IGNORE';
		# the zone of a From_ date without one is the local zone; with
		# TZ unset glibc's mktime() stats /etc/localtime for each
		# message (to see if it changed), named it is read once: the
		# same zone, 100,000 system calls fewer for 100,000 messages
		local $ENV{TZ} = ':/etc/localtime' if !defined $ENV{TZ} && -f '/etc/localtime';
		# an mbox that cannot be read again (a pipe) is verified
		# against a digest of each message taken as it streamed by
		my $digest = $opt{verify} && !$verify_only && !_rereadable($fh, $start);
		# a progress line on a terminal: of the bytes from where the
		# mbox is read, when they are known
		if (defined $opt{progress_fd} && !$verify_only) {
			$c{progress_fd} = $opt{progress_fd};
			$c{progress_total} = -s $fh > $start ? (-s _) - $start : 0
			  if -f $fh && defined $start && $start ne '';
			$c{progress_name} = $name;
		}
		$c{verify_digest} = 1 if $digest;
		my $ok = eval {
			%stats = %{ MigrateMail::_convert(fileno $fh, $maildir, \%c, $verify_only) };
			# refused before a byte was parsed (a pipe that is not an
			# mbox, mm_convert.c): no format was decided
			delete @stats{qw(format format_reason)}
			  if $stats{fatal} && !$stats{messages} && $stats{fatal}{text} =~ /\Anot an mbox: /;
			_verify_after(\%stats, $fh, $start, $maildir, \%c)
			  if $opt{verify} && !$verify_only && !$stats{fatal} && !$digest;
			1;
		};
		$stats{verify_method} = $digest ? 'digest' : 'bytes'
		  if $ok && ($opt{verify} || $verify_only) && !$stats{fatal};
		my $err = $@;
		$unlock->();
		die $err unless $ok;
	}
	$stats{name}    = $name;
	$stats{maildir} = $maildir;
	$stats{elapsed} = Time::HiRes::time() - $t0;
	# what each error says of a retry (MigrateMail::Jobs::classify)
	for my $e (grep { defined } @{ $stats{errors} || [] }, $stats{fatal}) {
		$e->{class} //= classify($e->{code}, $e->{errno});
	}
	for my $list (qw(errors warnings)) {
		my $kind = $list eq 'errors' ? 'ERROR' : 'WARNING';
		for my $e (@{ $stats{$list} ||= [] }) {
			$e->{message} = $e->{number}
			  ? "$kind: $name: message $e->{number}, offset $e->{offset}: $e->{text}"
			  : "$kind: $name: $e->{text}";
		}
	}
	if (my $f = $stats{fatal}) {
		$stats{error} = $f->{number}
		  ? "ERROR: $name: message $f->{number}, offset $f->{offset}: $f->{text}"
		  : $f->{text} =~ /^ERROR/ ? $f->{text} : "ERROR: $name: $f->{text}";
	}
	return \%stats;
}

# Why the mbox at $fh (a regular file, from $start) is not one at all,
# or undef: bytes, but not one line that starts "From " nor an MMDF
# separator anywhere. An empty file (or blank lines only) is a mailbox
# without mail. Read only while it does not look like one: an mbox
# starts with its From_ line, so that costs one read of 4 KiB; the
# rest of the file only for one that does not (garbage before the
# first From_ line). A pipe cannot be read twice: undef (the C core
# looks at it as far as its window holds it, mm_mbox_not_mbox()).
sub not_an_mbox {
	my ($fh, $start) = @_;
	return undef unless -f $fh && defined $start && $start ne '' && sysseek($fh, $start, SEEK_SET);
	my ($total, $carry, $head, $blank, $found, $n) = (0, "\n", undef, 1);
	while ($n = sysread $fh, my $buf, $total ? 1 << 20 : 4096) {
		$total += $n;
		$head //= $buf;
		$blank &&= $buf =~ /\A[\r\n]*\z/;
		my $text = $carry . $buf;
		if (index($text, "\nFrom ") >= 0 || index($text, "\n\x01\x01\x01\x01") >= 0) {
			$found = 1;
			last;
		}
		$carry = substr $text, -5;
	}
	# a read error is the converter's to report, as it is
	sysseek($fh, $start, SEEK_SET) or return undef;
	return undef if $found || $blank || !defined $n;
	($head = substr $head, 0, 24) =~ s/\n.*//s;
	$head =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
	return "not an mbox: no From_ line (nor MMDF separator) in its $total bytes, which start "
	  . "\"$head\": nothing delivered (a compressed file? make it an mbox first)";
}

sub _open_source {
	my ($src, $opt) = @_;
	my $name = $opt->{name};
	if (ref $src eq 'GLOB' || ref \$src eq 'GLOB'
	    || (ref $src && eval { $src->can('fileno') })) {
		my $fh = $src;
		croak 'ERROR: the mbox handle has no file descriptor'
		  unless defined fileno $fh && fileno $fh >= 0;
		my $start = sysseek($fh, 0, 1);
		# lock_path: where the handle was opened, for its dotlock
		return ($fh, $name // $opt->{lock_path} // 'stdin', $opt->{lock_path}, $start);
	}
	# never through a user's symlink or hard link, never blocking on a
	# FIFO at open (MigrateMail::FS)
	my ($fh, undef, undef, $real) = eval { MigrateMail::FS::open_input($src, trust => $opt->{trust_paths}) };
	return (undef, $name // $src, $src, 0, $@ =~ s/\n\z//r) unless $fh;
	return ($fh, $name // $src, $real, 0);
}

sub _verify_after {
	my ($stats, $fh, $start, $maildir, $c) = @_;
	my $v = _reread($fh, $start)
	  ? MigrateMail::_convert(fileno $fh, $maildir, $c, 1)
	  : { fatal => { number => 0, offset => 0,
			 text => 'cannot verify: the mbox is not a file that can be read again' } };
	$stats->{$_} = $v->{$_} for qw(verified missing mismatched);
	$stats->{repaired} += $v->{repaired} // 0;
	push @{ $stats->{errors} }, @{ $v->{errors} || [] };
	# the second read's warnings: only what the first did not say (the
	# repairs), not the mbox's oddities again
	my %seen = map { ("$_->{number} $_->{offset} $_->{text}" => 1) } @{ $stats->{warnings} || [] };
	push @{ $stats->{warnings} }, grep { !$seen{"$_->{number} $_->{offset} $_->{text}"} }
	  @{ $v->{warnings} || [] };
	$stats->{fatal} = $v->{fatal} if $v->{fatal};
}

# Can the mbox be read again from where it started (a regular file)?
sub _rereadable {
	my ($fh, $start) = @_;
	return defined $start && $start ne '' && -f $fh;
}

# Seek back to where the mbox started, for verification; false for pipes.
sub _reread {
	my ($fh, $start) = @_;
	return defined $start && $start ne '' && sysseek($fh, $start, SEEK_SET);
}

# Lock a spool file given by path the way MTAs do; returns the unlocker
# (also called when it goes out of scope), or dies with the reason.
sub _lock {
	my ($fh, $path, $mode, $timeout, $stale) = @_;
	$mode //= 'auto';
	# only a spool file is locked: not a pipe, a device, /dev/null
	return sub { } if $mode eq 'none' || !defined $path || !-f $fh;
	my ($id, $e, $code, $errno) = MigrateMail::_lock_acquire(fileno $fh, $path, $mode, $timeout, $stale);
	if (!defined $id) {
		my $what = $e =~ /\A\Q$path\E\.lock exists/ ? 'dotlock' : 'lock';
		die { text => "cannot $what mbox: $e", code => $code, errno => $errno };
	}
	my $done;
	return bless sub { MigrateMail::_lock_release($id) unless $done++ },
	  'MigrateMail::Convert::Unlock';
}

sub MigrateMail::Convert::Unlock::DESTROY { $_[0]->() }

1;
__END__

=head1 NAME

MigrateMail::Convert - the mbox to Maildir conversion behind MigrateMail

=head1 DESCRIPTION

Implements L<MigrateMail/mbox_to_maildir> and
L<MigrateMail/verify_maildir>; see there.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
