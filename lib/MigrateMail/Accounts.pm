package MigrateMail::Accounts;

# Pure Perl, for Perl 5.8.8 and later: the standalone sendmail-list
# packs this module (issue 17). Keep it to what 5.8 has.
use strict;
use warnings;

use Carp qw(croak);

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(read_passwd read_master_passwd read_getpwent
		    read_name_list select_accounts vpopmail_name_problem
		    full_name spool_size printable vpopmail_limits);

# vpopmail's limits, from vpopmail.h of each release (MAX_PW_NAME,
# MAX_PW_GECOS, MAX_PW_DOMAIN, MAX_PW_PASS, MAX_PW_QUOTA, MAX_PW_DIR)
# and what vpopmail.c's vadduser() and vauth_setpw() check against them.
# 5.4 is 5.4.33 (also 5.5.0), the classic release; 5.6 is 5.6.13.
our %VPOPMAIL_LIMITS = (
	'5.4' => { name => 32, gecos => 48, domain => 96, hash => 128,
		   quota => 20, dir => 160 },
	'5.6' => { name => 64, gecos => 64, domain => 96, hash => 128,
		   quota => 20, dir => 160 },
);
our $VPOPMAIL_DEFAULT = '5.4';   # the stricter: what old servers run

# The limits of a vpopmail version ('5.4', '5.6'; undef: the default),
# or undef for a version without a table.
sub vpopmail_limits {
	my ($v) = @_;
	return $VPOPMAIL_LIMITS{ defined $v ? $v : $VPOPMAIL_DEFAULT };
}

sub _limits {
	my ($v) = @_;
	my $l = vpopmail_limits($v);
	croak "no vpopmail limits for version '" . printable($v) . "'"
	  unless defined $l;
	return $l;
}

# Show any string safely in a one-line message: no terminal escapes,
# no line breaks from hostile account fields.
sub printable {
	my ($s) = @_;
	return '(undef)' unless defined $s;
	(my $p = $s) =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
	return $p;
}

sub _open_list {
	my ($file, $what) = @_;
	open my $fh, '<:raw', $file
	  or die "ERROR: cannot open $what file $file: $!\n";
	return $fh;
}

# Lines of a colon-separated account file, with their numbers; blank
# and comment lines left out, NIS "+"/"-" entries reported and left out.
sub _records {
	my ($file, $what, $nfields, $report) = @_;
	my $fh = _open_list($file, $what);
	my @rec;
	while (defined(my $line = <$fh>)) {
		$line =~ s/\r?\n\z//;
		next if $line =~ /\A\s*(?:#|\z)/;
		my $where = "$file line $.";
		if ($line =~ /\A[+-]/) {
			# not the whole line: in shadow it holds a hash
			$report->('WARNING', "$where: NIS compat entry '"
				  . printable((split /:/, $line)[0]) . "' ignored");
			next;
		}
		my @f = split /:/, $line, -1;
		if (@f != $nfields) {
			$report->('ERROR', "$where: expected $nfields "
				  . "colon-separated fields, found " . @f
				  . " in '" . printable($f[0]) . "...'; line ignored");
			next;
		}
		push @rec, [ $where, @f ];
	}
	close $fh;
	return \@rec;
}

# Build accounts from records, checking numbers and duplicates.
sub _accounts {
	my ($recs, $report, $build) = @_;
	my (@acc, %seen);
	for my $r (@$recs) {
		my $a = $build->(@$r);
		if ($a->{uid} !~ /\A[0-9]+\z/ || $a->{gid} !~ /\A[0-9]+\z/) {
			$report->('ERROR', "$a->{where}: account '"
				  . printable($a->{name}) . "' has a bad uid or "
				  . "gid; line ignored");
			next;
		}
		if ($seen{$a->{name}}++) {
			$report->('WARNING', "$a->{where}: account '"
				  . printable($a->{name}) . "' seen before; "
				  . "this entry ignored");
			next;
		}
		push @acc, $a;
	}
	return \@acc;
}

sub read_passwd {
	my ($file, %o) = @_;
	my $report = $o{report} || sub { };
	my $recs = _records($file, 'passwd', 7, $report);
	my %shadow;
	if (defined $o{shadow}) {
		my $srecs = _records($o{shadow}, 'shadow', 9, $report);
		for my $r (@$srecs) {
			$shadow{$r->[1]} = $r->[2]
			  unless defined $shadow{$r->[1]};
		}
	}
	return _accounts($recs, $report, sub {
		my ($where, $name, $pw, $uid, $gid, $gecos, $home, $shell) = @_;
		my $a = { name => $name, hash => $pw, uid => $uid, gid => $gid,
			  gecos => $gecos, home => $home, shell => $shell,
			  where => $where };
		if (defined $o{shadow}) {
			if (exists $shadow{$name}) {
				$a->{hash} = $shadow{$name};
			} elsif ($pw eq 'x') {
				$a->{no_shadow} = 1;
			}
		}
		return $a;
	});
}

sub read_master_passwd {
	my ($file, %o) = @_;
	my $report = $o{report} || sub { };
	my $recs = _records($file, 'master.passwd', 10, $report);
	return _accounts($recs, $report, sub {
		my ($where, $name, $pw, $uid, $gid, $class, $change, $expire,
		    $gecos, $home, $shell) = @_;
		return { name => $name, hash => $pw, uid => $uid, gid => $gid,
			 gecos => $gecos, home => $home, shell => $shell,
			 class => $class, where => $where };
	});
}

# The system's own accounts. getpwent is a code reference returning
# getpwent()'s list, for tests; by default Perl's getpwent(), which
# gives shadow (or master.passwd) hashes when run as root.
sub read_getpwent {
	my (%o) = @_;
	my $report = $o{report} || sub { };
	my $next = $o{getpwent};
	my @recs;
	unless ($next) {
		setpwent();
		$next = sub { return getpwent() };
	}
	my $n = 0;
	while (my @e = $next->()) {
		$n++;
		push @recs, [ "getpwent entry $n", @e[0, 1, 2, 3, 6, 7, 8] ];
	}
	endpwent() unless $o{getpwent};
	return _accounts(\@recs, $report, sub {
		my ($where, $name, $pw, $uid, $gid, $gecos, $home, $shell) = @_;
		return { name => $name, hash => _str($pw), uid => $uid,
			 gid => $gid, gecos => _str($gecos), home => _str($home),
			 shell => _str($shell), where => $where };
	});
}

sub _str { return defined $_[0] ? $_[0] : '' }

# User names from a file, one per line; '#' starts a comment.
sub read_name_list {
	my ($file) = @_;
	my $fh = _open_list($file, 'name list');
	my %names;
	while (defined(my $line = <$fh>)) {
		$line =~ s/#.*//s;
		$line =~ s/\A\s+|\s+\z//g;
		$names{$line} = $. if length $line;
	}
	close $fh;
	return \%names;
}

# Why vpopmail (of version $v, see vpopmail_limits) would refuse (or
# change) a name, or undef if it takes it.
sub vpopmail_name_problem {
	my ($name, $v) = @_;
	my $max = _limits($v)->{name};
	return 'empty name' if !defined $name || $name eq '';
	return 'one-character names are rejected by vpopmail'
	  if length $name == 1;
	return 'longer than ' . $max . ' characters (the limit of vpopmail '
	  . (defined $v ? $v : $VPOPMAIL_DEFAULT) . ', MAX_PW_NAME)'
	  if length $name > $max;
	return 'the name vpasswd is reserved by vpopmail' if $name eq 'vpasswd';
	return "vpopmail lowercases names (it would become '"
	  . printable(lc $name) . "')" if $name =~ /[A-Z]/ && $name !~ /[^A-Za-z0-9._-]/;
	return 'characters outside [a-z0-9._-]' if $name =~ /[^a-z0-9._-]/;
	return "starts with '-' (vadduser would take it for an option)"
	  if $name =~ /\A-/;
	return "starts with '.' (a hidden or parent directory)"
	  if $name =~ /\A\./;
	return;
}

sub _shell_matches {
	my ($shell, $list) = @_;
	(my $base = $shell) =~ s{.*/}{};
	for my $s (@$list) {
		return 1 if $s =~ m{/} ? $shell eq $s : $base eq $s;
	}
	return 0;
}

# The accounts the filters let through, in order. Filters: min_uid,
# max_uid, include and exclude (hashes of names), skip_shell (list of
# shells: a path, or a base name such as "nologin"), keep_locked.
# Skipped accounts are reported at level SKIP.
sub select_accounts {
	my ($accounts, %f) = @_;
	my $report = $f{report} || sub { };
	my (@out, %found);
	for my $a (@$accounts) {
		my $n = $a->{name};
		my $why;
		$found{$n} = 1;
		if ($f{exclude} && $f{exclude}{$n}) {
			$why = 'named in the --exclude file';
		} elsif ($f{include} && !$f{include}{$n}) {
			$why = 'not named in the --include file';
		} elsif (defined $f{min_uid} && $a->{uid} < $f{min_uid}) {
			$why = "uid $a->{uid} is below --min-uid $f{min_uid}";
		} elsif (defined $f{max_uid} && $a->{uid} > $f{max_uid}) {
			$why = "uid $a->{uid} is above --max-uid $f{max_uid}";
		} elsif ($f{skip_shell} && @{$f{skip_shell}}
			 && _shell_matches($a->{shell}, $f{skip_shell})) {
			$why = "shell $a->{shell} is skipped (--skip-shell)";
		} elsif (!$f{keep_locked} && $a->{hash} =~ /[!*]/) {
			$why = 'the password hash is locked (contains ! or *)';
		}
		if (defined $why) {
			$report->($f{include} && $f{include}{$n} ? 'WARNING' : 'SKIP',
				  "account '" . printable($n) . "' ($a->{where}): "
				  . ($f{include} && $f{include}{$n}
				     ? "named in the --include file but " : '')
				  . "skipped: $why");
			next;
		}
		push @out, $a;
	}
	if ($f{include}) {
		for my $n (sort { $f{include}{$a} <=> $f{include}{$b} }
			   grep { !$found{$_} } keys %{$f{include}}) {
			$report->('WARNING', "account '" . printable($n) . "' is "
				  . "named in the --include file but does not "
				  . 'exist');
		}
	}
	return \@out;
}

# The full name from a gecos field as vpopmail's -c takes it: the part
# before the first comma, no ':' or control characters, at most the
# gecos limit of vpopmail $v in bytes (cut on a UTF-8 character
# boundary). Returns (name, shortened?).
sub full_name {
	my ($gecos, $v) = @_;
	my $max = _limits($v)->{gecos};
	return ('', 0) unless defined $gecos;
	(my $s = $gecos) =~ s/,.*//s;
	$s =~ s/[\x00-\x1f\x7f:]/ /g;
	$s =~ s/\s+/ /g;
	$s =~ s/\A | \z//g;
	my $cut = 0;
	if (length $s > $max) {
		$s = substr $s, 0, $max;
		# don't leave half of a UTF-8 sequence at the end
		$s =~ s/[\xc0-\xff][\x80-\xbf]*\z// if _utf8_incomplete($s);
		$s =~ s/ \z//;
		$cut = 1;
	}
	return ($s, $cut);
}

sub _utf8_incomplete {
	my ($s) = @_;
	return 0 unless $s =~ /([\xc0-\xff])([\x80-\xbf]*)\z/;
	my ($lead, $cont) = (ord $1, length $2);
	my $need = $lead >= 0xf0 ? 3 : $lead >= 0xe0 ? 2 : 1;
	return $cont < $need;
}

# Size of the user's spool file DIR/NAME, or undef if there is none.
sub spool_size {
	my ($dir, $name) = @_;
	return if !defined $name || $name =~ m{/} || $name =~ /\A\.\.?\z/
	  || $name eq '';
	my @st = lstat "$dir/$name";
	return unless @st && -f _;
	return $st[7];
}

1;
__END__

=head1 NAME

MigrateMail::Accounts - read and filter the old server's accounts

=head1 SYNOPSIS

  use MigrateMail::Accounts qw(read_passwd select_accounts
                               vpopmail_name_problem);

  my $report = sub { my ($level, $text) = @_; warn "$level: $text\n" };
  my $all = read_passwd('copy/passwd', shadow => 'copy/shadow',
                        report => $report);
  my $sel = select_accounts($all, min_uid => 500, max_uid => 63999,
                            report => $report);
  for my $a (@$sel) {
      my $why = vpopmail_name_problem($a->{name});
      print "$a->{name}: ", $why // 'ok', "\n";
  }

=head1 DESCRIPTION

The account side of L<sendmail-list>. An account is a hash reference
with C<name>, C<hash> (the crypt() hash), C<uid>, C<gid>, C<gecos>,
C<home>, C<shell> and C<where> (file and line, for messages); C<no_shadow>
is set when the passwd entry says C<x> but the shadow file has no entry.
Problems are passed to the C<report> callback as a level (C<ERROR>,
C<WARNING>, C<SKIP>) and a text; a file that cannot be opened dies with
an C<ERROR:> message.

=head1 FUNCTIONS

=head2 $accounts = read_passwd($file, shadow => $shadow, report => $cb)

Reads a passwd file (7 fields) and, if given, a shadow file (9 fields)
whose hashes replace the passwd field, as Perl's getpwent() does for
root. Blank and C<#> lines are skipped, NIS C<+>/C<-> entries reported
and skipped, malformed lines and repeated names reported.

=head2 $accounts = read_master_passwd($file, report => $cb)

Reads a BSD master.passwd (10 fields: name, hash, uid, gid, class,
change, expire, gecos, home, shell).

=head2 $accounts = read_getpwent(report => $cb, getpwent => $code)

The system's accounts through Perl's getpwent() (shadow or master.passwd
hashes when run as root). C<getpwent> replaces getpwent() by a code
reference returning the same list, for tests.

=head2 $names = read_name_list($file)

Names from a file, one per line, C<#> comments allowed: a hash of name to
line number, for C<include> and C<exclude>.

=head2 $selected = select_accounts($accounts, %filters)

The accounts that pass all filters, in order: C<exclude> and C<include>
(hashes of names), C<min_uid>, C<max_uid>, C<skip_shell> (a list; an
entry with a C</> matches the shell path exactly, else its base name, so
C<nologin> matches F</usr/sbin/nologin>), and locked hashes (containing
C<!> or C<*>) unless C<keep_locked>. Each skipped account is reported at
level C<SKIP>, or C<WARNING> if the include file names it; names in the
include file that do not exist are reported as C<WARNING>.

=head2 $limits = vpopmail_limits($version)

The limits of vpopmail C<$version> (C<5.4> or C<5.6>; undef: C<5.4>, the
stricter) as a hash reference, or undef for any other version:

  limit                        5.4     5.6    vpopmail.h
  name   user name, chars      32      64     MAX_PW_NAME
  gecos  full name, bytes      48      64     MAX_PW_GECOS
  domain domain name, chars    96      96     MAX_PW_DOMAIN
  hash   password hash         128     128    MAX_PW_PASS
  quota  quota text            20      20     MAX_PW_QUOTA
  dir    user directory path   160     160    MAX_PW_DIR

from F<vpopmail.h> of vpopmail 5.4.33 and 5.6.13, which vadduser() and
vauth_setpw() in F<vpopmail.c> check (5.5.0 has the limits of 5.4.33).
MAX_PW_CLEAR_PASSWD (128) does not apply: with C<-e> no clear password
is given.

=head2 $why = vpopmail_name_problem($name, $version)

Why vpopmail C<$version> (see C<vpopmail_limits> above) would refuse or
change a name, or undef: one character, longer than its C<name> limit,
C<vpasswd>, upper case (vpopmail lowercases), characters outside
C<[a-z0-9._-]>, or a leading C<-> or C<.> (an option to vadduser, a
hidden or parent directory).

=head2 ($name, $shortened) = full_name($gecos, $version)

The full name for vpopmail's C<-c>: the gecos field up to the first
comma, C<:> and control characters replaced by spaces, at most the
C<gecos> limit of vpopmail C<$version> in bytes (48 for 5.4, 64 for 5.6;
cut on a UTF-8 character boundary).

=head2 $bytes = spool_size($dir, $name)

The size of the regular file F<$dir/$name> (not following a symlink), or
undef.

=head2 $text = printable($string)

The string with bytes outside printable ASCII shown as C<\xNN>, for
messages.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
