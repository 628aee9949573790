package MigrateMail::Vpopmail;

# Pure Perl, for Perl 5.8.8 and later: the standalone sendmail-list
# packs this module for quota_bytes (issue 17). Keep it to what 5.8 has.
use strict;
use warnings;

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(find_vpopmail_bin user_dir user_quota quota_bytes);

# Where vpopmail's programs are: --vpopmail-bin, else $VPOPMAIL/bin
# (VPOPMAIL naming vpopmail's home), else ~vpopmail/bin. Dies if none.
sub find_vpopmail_bin {
	my (%opt) = @_;
	my @try;
	push @try, $opt{bin} if defined $opt{bin};
	push @try, "$ENV{VPOPMAIL}/bin" if !@try && defined $ENV{VPOPMAIL} && length $ENV{VPOPMAIL};
	if (!@try) {
		my $home = (getpwnam 'vpopmail')[7];
		push @try, "$home/bin" if defined $home;
	}
	for my $d (@try) {
		return $d if -x "$d/vuserinfo";
	}
	die @try ? "no vuserinfo in $try[0] (use --vpopmail-bin DIR)\n"
		 : "vpopmail not found: no vpopmail user, VPOPMAIL unset (use --vpopmail-bin DIR)\n";
}

# The user's directory as vpopmail reports it ("vuserinfo -d"), never
# computed here: vpopmail may hash its directories. Dies with the reason.
sub user_dir { return _vuserinfo('-d', @_) }

# A quota in bytes as vpopmail reads it (format_maildirquota() in
# vpopmail.c): comma-separated parts, one ending in C a message count,
# the other a size, with an optional trailing S, then B, then K (1024)
# or M (1048576). undef for NOQUOTA, no size, or anything else (vpopmail
# would take "5G" for 5 bytes).
sub quota_bytes {
	my ($q) = @_;
	return undef if !defined $q || uc $q eq 'NOQUOTA';
	my $size;
	for my $p (split /,/, $q, -1) {
		next if $p =~ /\A[0-9]+C\z/;
		my ($n, $u) = $p =~ /\A([0-9]+)([KkMm]?)[Bb]?[Ss]?\z/ or return undef;
		$size = $n * ($u =~ /m/i ? 1 << 20 : $u =~ /k/i ? 1 << 10 : 1);
	}
	return $size;
}

# The user's quota in bytes as "vuserinfo -q" gives it, undef for none.
sub user_quota { return quota_bytes(_vuserinfo('-q', @_)) }

sub _vuserinfo {
	my ($flag, $bin, $addr) = @_;
	die "invalid address '$addr'\n" unless $addr =~ /\A[^\s\@]+\@[^\s\@]+\z/;
	# vuserinfo would take it for an option
	die "invalid address '$addr': user or domain starts with '-'\n"
	  if $addr =~ /\A-|\@-/;
	my $pid = open(my $out, '-|');
	die "cannot run vuserinfo: $!\n" unless defined $pid;
	if (!$pid) {
		open STDERR, '>&', \*STDOUT;
		{ no warnings 'exec'; exec { "$bin/vuserinfo" } 'vuserinfo', $flag, $addr; }
		print "cannot run $bin/vuserinfo: $!\n";
		require POSIX;
		POSIX::_exit(127);
	}
	my $text = do { local $/; <$out> };
	$text = '' unless defined $text;
	close $out;
	my $status = $? >> 8;
	my $line = (split /\n/, $text)[0];
	$line = '' unless defined $line;
	chomp $line;
	die "no such user $addr in vpopmail\n" if $status == 255 || $line =~ /^no such user/i;
	die "vuserinfo $flag $addr failed (exit $status): $line\n" if $status != 0;
	return $line if $flag ne '-d';
	die "vuserinfo -d $addr gave no directory: '$line'\n" unless $line =~ m{\A/};
	return $line;
}

1;
__END__

=head1 NAME

MigrateMail::Vpopmail - ask vpopmail where a user's mail lives

=head1 SYNOPSIS

  use MigrateMail::Vpopmail qw(find_vpopmail_bin user_dir);
  my $bin = find_vpopmail_bin(bin => $opt{'vpopmail-bin'});
  my $maildir = user_dir($bin, 'alice@example.com') . '/Maildir';

=head1 FUNCTIONS

=head2 $dir = find_vpopmail_bin(bin => $dir)

The directory holding vpopmail's programs: the one given, else
C<$VPOPMAIL/bin>, else F<~vpopmail/bin>. Dies when it has no
F<vuserinfo>.

=head2 $dir = user_dir($bin, $address)

Runs C<vuserinfo -d ADDRESS> (no shell involved) and returns the user's
directory. An address whose user or domain starts with C<-> dies before
vuserinfo is run (it would read it as an option). vpopmail prints C<no such user> on standard output and exits
255 for an unknown user: that dies with C<no such user ADDRESS in
vpopmail>; any other failure dies with the exit status and what
vuserinfo said. The path is never computed here, as vpopmail may hash
its directories.

=head2 $bytes = user_quota($bin, $address)

The user's quota as C<vuserinfo -q ADDRESS> gives it, in bytes (see
quota_bytes), or undef for C<NOQUOTA>. Dies as user_dir() does.

=head2 $bytes = quota_bytes($quota)

A vpopmail quota (C<5000000>, C<5000000S>, C<5000000S,1000C>, C<50M>,
C<50MB>, C<2K>) in bytes as vpopmail's format_maildirquota() reads it,
or undef for C<NOQUOTA>, a count alone, or what it does not read as a
size.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
