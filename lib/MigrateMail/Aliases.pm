package MigrateMail::Aliases;

# Pure Perl, for Perl 5.8.8 and later: the standalone sendmail-list
# packs this module (issue 17). Keep it to what 5.8 has.
use strict;
use warnings;

use Fcntl qw(O_RDONLY O_NOFOLLOW O_NONBLOCK);
use MigrateMail::Accounts qw(printable);

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(read_aliases read_forward split_targets target_kind);

# A .forward larger than this is not a forward file.
our $FORWARD_MAX = 65536;

# Split a list of targets on commas outside double quotes.
sub split_targets {
	my ($text) = @_;
	my @t;
	for my $part ($text =~ /((?:"[^"]*"?|[^,"])+)/g) {
		(my $t = $part) =~ s/\A\s+|\s+\z//g;
		push @t, $t if length $t;
	}
	return @t;
}

# What a sendmail alias or .forward target is: (kind, value). Kinds:
# pipe, file, include, error (vpopmail's valias cannot express them),
# local (a local name, value without a leading backslash), address
# (user@host), bad (anything else).
sub target_kind {
	my ($t) = @_;
	my $u = $t;
	$u = $1 if $u =~ /\A"(.*)"\z/s;
	return ('pipe', $u) if $u =~ /\A\|/;
	return ('file', $u) if $u =~ m{\A/};
	return ('include', $u) if $u =~ /\A:include:/i;
	return ('error', $u) if $u =~ /\Aerror:/i;
	my $copy = $u =~ s/\A\\//;
	return ('address', $u)
	  if $u =~ /\A[A-Za-z0-9._%+=-]+\@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+\z/;
	return ('local', $u, $copy) if $u =~ /\A[^\s@"'\\|\/:,;<>()\[\]]+\z/;
	return ('bad', $u);
}

# Entries of a sendmail aliases file: { name (lowercased, as sendmail
# compares them), targets => [...], where }. Continuation lines start
# with white space; '#' lines are comments.
sub read_aliases {
	my ($file, %o) = @_;
	my $report = $o{report} || sub { };
	open my $fh, '<:raw', $file
	  or die "ERROR: cannot open aliases file $file: $!\n";
	my (@logical, @out);
	while (defined(my $line = <$fh>)) {
		$line =~ s/\r?\n\z//;
		next if $line =~ /\A\s*#/;
		if ($line =~ /\A[ \t]/ && @logical) {
			next unless $line =~ /\S/;
			$logical[-1][1] .= ' ' . $line;
			next;
		}
		next unless $line =~ /\S/;
		push @logical, [ "$file line $.", $line ];
	}
	close $fh;
	my %seen;
	for my $l (@logical) {
		my ($where, $text) = @$l;
		unless ($text =~ /\A\s*("[^"]*"|[^:\s]+)\s*:\s*(.*)\z/s) {
			$report->('ERROR', "$where: not an alias ('name: "
				  . "targets'): '" . printable($text) . "'");
			next;
		}
		my ($name, $rhs) = (lc $1, $2);
		$name =~ s/\A"(.*)"\z/$1/s;
		if ($seen{$name}++) {
			$report->('WARNING', "$where: alias '" . printable($name)
				  . "' defined again; this entry ignored");
			next;
		}
		my @t = split_targets($rhs);
		unless (@t) {
			$report->('WARNING', "$where: alias '" . printable($name)
				  . "' has no targets; ignored");
			next;
		}
		push @out, { name => $name, targets => \@t, where => $where };
	}
	return \@out;
}

# The targets of an account's ~/.forward, read the way sendmail would
# trust it: no symlink, a regular file with one link, owned by the user
# (or root, or whoever runs this), not writable by group or others.
# Returns undef if there is none or it is not trusted (then reported).
sub read_forward {
	my ($acct, %o) = @_;
	my $report = $o{report} || sub { };
	my $home = $acct->{home};
	return unless defined $home && $home =~ m{\A/};
	(my $path = "$home/.forward") =~ s{/+}{/}g;
	my $who = "account '" . printable($acct->{name}) . "'";
	my $fh;
	unless (sysopen $fh, $path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) {
		return if $!{ENOENT} || $!{ENOTDIR};
		my $why = $!{ELOOP} || $!{EMLINK} ? 'it is a symbolic link' : "$!";
		$report->('WARNING', "$who: " . printable($path)
			  . " not read: $why (sendmail would not use it either)");
		return;
	}
	my @st = stat $fh;
	my $why;
	if (!@st || !-f _) {
		$why = 'not a regular file';
	} elsif ($st[3] != 1) {
		$why = "it has $st[3] hard links";
	} elsif ($st[4] != $acct->{uid} && $st[4] != 0 && $st[4] != $>) {
		$why = "owned by uid $st[4], not by the user";
	} elsif ($st[2] & 022) {
		$why = 'writable by group or others';
	} elsif ($st[7] > $FORWARD_MAX) {
		$why = "larger than $FORWARD_MAX bytes";
	}
	if ($why) {
		close $fh;
		$report->('WARNING', "$who: " . printable($path) . " not read: "
			  . "$why (sendmail would not trust it either)");
		return;
	}
	binmode $fh;
	my @t;
	while (defined(my $line = <$fh>)) {
		$line =~ s/\r?\n\z//;
		next if $line =~ /\A\s*(?:#|\z)/;
		push @t, split_targets($line);
	}
	close $fh;
	return { path => $path, targets => \@t };
}

1;
__END__

=head1 NAME

MigrateMail::Aliases - read sendmail aliases and .forward files

=head1 SYNOPSIS

  use MigrateMail::Aliases qw(read_aliases read_forward target_kind);

  for my $al (@{ read_aliases('/etc/aliases', report => $cb) }) {
      for my $t (@{ $al->{targets} }) {
          my ($kind, $value) = target_kind($t);
          print "$al->{name} -> $kind $value\n";
      }
  }
  my $fw = read_forward($account, report => $cb);   # undef if none

=head1 DESCRIPTION

The alias side of L<sendmail-list>, which turns aliases and forwards into
vpopmail C<valias> lines. Problems go to the C<report> callback as a
level and a text, as in L<MigrateMail::Accounts>.

=head1 FUNCTIONS

=head2 $aliases = read_aliases($file, report => $cb)

Entries of a sendmail F</etc/aliases>: a list of hash references with
C<name> (lowercased: sendmail compares alias names without case),
C<targets> and C<where>. Continuation lines (starting with white space)
and C<#> comments are understood; a line without C<name:>, a repeated
alias or one without targets is reported.

=head2 $forward = read_forward($account, report => $cb)

Reads F<~user/.forward> (the home from the account's passwd entry) as
root safely: opened without following a symlink, and only trusted if it
is a regular file with one link, owned by the user, root or the caller,
not writable by group or others, at most 64 KiB, as sendmail demands.
Returns C<< { path, targets } >>, or undef if there is none or it is not
trusted (reported as C<WARNING>).

=head2 @targets = split_targets($text)

Splits a target list on commas outside double quotes.

=head2 ($kind, $value, $backslash) = target_kind($target)

C<pipe> (C<"|cmd">), C<file> (C</path>), C<include> (C<:include:>),
C<error> (sendmail's C<error:> mailer): what vpopmail's valias cannot
express. C<address> (C<user@host>), C<local> (a local name; the third
value is true if it had a leading backslash, sendmail's "deliver here,
no more aliasing"), or C<bad>.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
