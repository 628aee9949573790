package MigrateMail::Folders;

use strict;
use warnings;

use Encode ();
use File::Basename qw(basename dirname);
use MIME::Base64 ();
use MigrateMail::FS ();

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(folder_jobs folder_name read_subscriptions
		    write_subscriptions make_folder old_home subscription_path);

# One component of a UW-IMAP/Pine folder path as a Maildir++ name part:
# "." is Maildir++'s hierarchy separator, so it becomes "_"; anything but
# printable ASCII is IMAP modified UTF-7 (RFC 3501 5.1.3), as Dovecot and
# Courier keep folder names on disk. File names that are not UTF-8 are
# taken as Latin-1.
sub folder_name {
	my ($part) = @_;
	my $text = eval { Encode::decode('UTF-8', $part, Encode::FB_CROAK | Encode::LEAVE_SRC) }
	  // Encode::decode('ISO-8859-1', $part);
	$text =~ tr/./_/;
	my $out = '';
	for my $run ($text =~ /([\x20-\x7e]+|[^\x20-\x7e]+)/g) {
		if ($run =~ /\A[\x20-\x7e]/) {
			$run =~ s/&/&-/g;
			$out .= $run;
		} else {
			my $b64 = MIME::Base64::encode_base64(Encode::encode('UTF-16BE', $run), '');
			$b64 =~ s/=+\z//;
			$b64 =~ tr{/}{,};
			$out .= "&$b64-";
		}
	}
	return $out;
}

# The mbox files under the folder tree $top (a MigrateMail::FS::Dir, or
# a path opened as one), recursively, and the Maildir++ folder each
# becomes: [ { src (display path), dir (the FS::Dir holding it), file,
# path (relative, "/"-separated), name ("a.b") } ], and reasons for
# what was skipped. Names that would collide get a numbered suffix. The
# tree is read through directory descriptors: a directory swapped for a
# symlink after it was listed is never followed, and a file that is not
# the tree owner's (or root's, or one of $o{owners}) is skipped: it may
# be another user's mail linked in before its other name went away.
sub folder_jobs {
	my ($top, %o) = @_;
	$top = MigrateMail::FS::open_dir($top, trust => $o{trust}) unless ref $top;
	my %mine = map { $_ => 1 } 0, $>, $top->uid, @{ $o{owners} || [] };
	my (@jobs, @skipped, %taken);
	my $walk;
	$walk = sub {
		my ($d, $rel, @names) = @_;
		for my $e ($d->list) {
			my ($f, $type, undef, undef, $uid) = @$e;
			my $r = length $rel ? "$rel/$f" : $f;
			my $path = $top->path . "/$r";
			if ($f =~ /^\./ || $f =~ /\.lock\z/) {
				push @skipped, "$path: hidden or lock file, not a folder, skipped";
			} elsif ($type eq 'l') {
				push @skipped, "$path: symlink, skipped";
			} elsif ($type eq 'd') {
				my $sub = eval { $d->subdir($f) };
				if (!$sub) {
					push @skipped, "$path: cannot read: " . ($@ =~ s/\n\z//r);
					next;
				}
				$walk->($sub, $r, @names, folder_name($f));
			} elsif ($type eq 'f' && !$mine{$uid} && !$o{trust}) {
				push @skipped, "$path: belongs to uid $uid, not to the folder tree's owner, skipped";
			} elsif ($type eq 'f') {
				my $name = join '.', @names, folder_name($f);
				my $base = $name;
				my $n = 1;
				$name = $base . '_' . ++$n while $taken{ lc $name };
				$taken{ lc $name } = 1;
				push @jobs, { src => $path, dir => $d, file => $f, path => $r, name => $name };
			} else {
				push @skipped, "$path: not a regular file, skipped";
			}
		}
	};
	$walk->($top, '');
	return { jobs => \@jobs, skipped => \@skipped, top => $top };
}

# A user's home on the old UW-IMAP server (a MigrateMail::FS::Dir):
# its ~/mbox, which UW's mbox driver served as INBOX (moving the
# spool's new mail into it at each session) when the file exists, and
# its ~/mail folder tree. Returns { home, mbox => { dir, file, src } or
# undef, mail => a Dir or undef, notices => [WARNING texts], errors }.
# ~/mbox is taken only as a regular file (one link: open_file checks it
# when it is opened) that belongs to the home's owner, root, or one of
# $o{owners}: anything else (another user's mail put there, a device,
# a symlink) is an error: the user's read mail is there, and the spool
# alone is not the INBOX.
sub old_home {
	my ($home, %o) = @_;
	my %r = (home => $home, notices => [], errors => []);
	my %mine = map { $_ => 1 } 0, $>, $home->uid, @{ $o{owners} || [] };
	my %ent = map { $_->[0] => $_ } $home->list;
	my $path = $home->path;
	if (my $e = $ent{mbox}) {
		my ($type, $links, $uid) = @{$e}[ 1, 3, 4 ];
		if ($type ne 'f') {
			push @{ $r{errors} }, "$path/mbox: not a regular file (UW-IMAP's INBOX): refused";
		} elsif ($links > 1 && !$o{trust}) {
			push @{ $r{errors} }, "$path/mbox: has other hard links (UW-IMAP's INBOX): refused "
			  . '(give --trust-paths if that is right)';
		} elsif (!$mine{$uid} && !$o{trust}) {
			push @{ $r{errors} }, "$path/mbox: belongs to uid $uid, not to the home's owner (UW-IMAP's INBOX): refused "
			  . '(give --trust-paths if that is right)';
		} else {
			$r{mbox} = { dir => $home, file => 'mbox', src => "$path/mbox" };
		}
	}
	if (my $e = $ent{mail}) {
		if ($e->[1] eq 'd') {
			$r{mail} = eval { $home->subdir('mail') };
			push @{ $r{notices} }, "$path/mail: cannot read: " . ($@ =~ s/\n\z//r) unless $r{mail};
		} else {
			push @{ $r{notices} }, "$path/mail: not a directory, no folders taken from it";
		}
	}
	return \%r;
}

# A line of .mailboxlist or .subscriptions as a path in the folder
# tree ("foo/bar"), '' for INBOX (UW's INBOX, and ~/mbox, which UW
# served as INBOX), or undef for a name outside the tree. UW writes
# names as the user gave them: relative to the home ("mail/foo", since
# the folder tree is ~/mail), with "~/" ("~/mail/foo"), absolute
# ("/home/alice/mail/foo"), or relative to the tree itself (Pine's
# folder collection: "foo"). $base: the tree's name in the home
# ("mail"); $homes: the home's paths on the old server that an
# absolute name may start with (e.g. "/home/alice").
sub subscription_path {
	my ($l, $base, @homes) = @_;
	return '' if uc $l eq 'INBOX';
	if ($l =~ m{\A/}) {
		my $in_home;
		for my $h (grep { defined && length } @homes) {
			(my $hh = $h) =~ s{/+\z}{};
			last if $in_home = $l =~ s{\A\Q$hh\E/}{};
		}
		# the old server's path of the home is not known: up to the tree
		return '' if !$in_home && $l =~ m{\A/(?:[^/]+/)*mbox\z};
		return undef unless $in_home || $l =~ s{\A/(?:.*?/)?\Q$base\E/}{$base/};
	} else {
		$l =~ s{\A~[^/]*/}{};
	}
	return '' if $l eq 'mbox';
	$l =~ s{\A\Q$base\E/}{};
	$l =~ s{/+\z}{};
	return undef if $l eq '' || $l =~ m{(?:\A|/)\.\.?(?:/|\z)};
	return $l;
}

# Create the Maildir++ folder's directory and its maildirfolder marker in
# the Maildir $md (a MigrateMail::FS::Dir); the folder's own tmp/ new/
# cur/ are made by the conversion. Owner: the Maildir's, when root.
# Returns the folder's name in $md (".a.b").
sub make_folder {
	my ($md, $name, $nosync) = @_;
	return $md->make_folder($name, $nosync);
}

# Subscribed folders of a UW-IMAP/Pine user: .mailboxlist (UW, Pine) or
# .subscriptions, in the folder directory or the home above it. Names
# are relative to the home ("mail/foo") or to the folder directory.
# Returns the list of relative paths ("foo/bar") and the file read. The
# files are the user's: read through the directory descriptors, only
# when they are regular files with a single link.
sub read_subscriptions {
	my ($top, %o) = @_;
	my @homes = @{ $o{homes} || [] };
	my $base = basename($top->path);
	my $home = $o{home} // eval { $top->subdir('..') };
	for my $d (grep { defined } $top, $home) {
		for my $f ('.mailboxlist', '.subscriptions') {
			my $data = eval { $d->read_file($f) };
			next unless defined $data;
			my @subs;
			for my $l (split /\n/, $data) {
				$l =~ s/\r\z//;
				next if $l eq '';
				my $p = subscription_path($l, $base, @homes);
				# INBOX (or ~/mbox, UW's INBOX) is subscribed anyway
				next if defined $p && $p eq '';
				push @subs, $p // $l;
			}
			my $where = $d == $top ? $top->path : dirname($top->path);
			return (\@subs, "$where/$f");
		}
	}
	return ([], undef);
}

# Add folder names (Maildir++ "a.b") to Courier's courierimapsubscribed
# ("INBOX.a.b") and Dovecot's subscriptions ("a.b") of the Maildir $md
# (a MigrateMail::FS::Dir), keeping what is there. Written atomically,
# mode 0600, the Maildir's owner, fsynced.
sub write_subscriptions {
	my ($md, @names) = @_;
	for my $file ([ 'courierimapsubscribed', 'INBOX.' ], [ 'subscriptions', '' ]) {
		my ($name, $prefix) = @$file;
		my $old = $md->read_file($name) // '';
		my @lines = split /\n/, $old;
		my %have = map { $_ => 1 } @lines;
		my @add = grep { !$have{$_}++ } map { "$prefix$_" } @names;
		next unless @add;
		$md->replace_file($name, join '', map { "$_\n" } @lines, @add);
	}
}

1;
__END__

=head1 NAME

MigrateMail::Folders - UW-IMAP/Pine mbox folder trees as Maildir++ folders

=head1 SYNOPSIS

  use MigrateMail::Folders qw(folder_jobs make_folder read_subscriptions
                              write_subscriptions folder_name);
  use MigrateMail::FS qw(open_dir);
  my $list = folder_jobs("$home/mail");
  my $md = open_dir("$home/Maildir");
  for my $job (@{ $list->{jobs} }) {
      my $name = make_folder($md, $job->{name});
      my ($fh) = $job->{dir}->open_file($job->{file});
      mbox_to_maildir($fh, $name, at => $md, lock_path => $job->{src});
  }

=head1 DESCRIPTION

A UW-IMAP or Pine user keeps folders as mbox files under F<~/mail>,
nested in directories. Each becomes a Maildir++ folder: F<~/mail/a/b>
is F<Maildir/.a.b/> with its F<maildirfolder> marker.

=head1 FUNCTIONS

=head2 $part = folder_name($file_name)

A path component as a Maildir++ name part: C<.> (the hierarchy
separator) becomes C<_>, C<&> becomes C<&->, and characters outside
printable ASCII are written in IMAP modified UTF-7 as Dovecot and Courier
keep them on disk. Names that are not UTF-8 are read as Latin-1.

=head2 $list = folder_jobs($dir, trust => 0, owners => [])

The mbox files under C<$dir> (a path or a L<MigrateMail::FS> directory
object): C<< { src, dir, file, path, name } >> each (C<dir> holds the
file C<file>; C<src> is its path, for messages), plus C<skipped>
reasons (hidden files, lock files, symlinks, devices) and C<top>. Two
files that would give the same folder name get C<_2>, C<_3> ... The
tree is read through directory descriptors, never following a symlink;
files that belong to neither the tree's owner, root, nor a uid of
C<owners> are skipped (unless C<trust>).

=head2 $name = make_folder($md, $name)

Creates F<.$name/> and its F<maildirfolder> in the Maildir C<$md> (a
L<MigrateMail::FS> directory object), never through a link, owned by
the Maildir's owner when run as root, synced. Returns C<.$name>, the
folder's name in C<$md> (give it to mbox_to_maildir with C<< at => $md >>).

=head2 ($paths, $file) = read_subscriptions($dir, home => $home, homes => [])

The subscribed folders from F<.mailboxlist> or F<.subscriptions> in
the folder tree C<$dir> (a directory object) or the home (C<home>, a
directory object; by default C<$dir>'s parent), as paths relative to
C<$dir> (see C<subscription_path>); INBOX is left out. Only regular
files with one link are read.

=head2 $path = subscription_path($line, $base, @old_homes)

A subscription as UW-IMAP or Pine wrote it (C<mail/foo>, C<~/mail/foo>,
C<~alice/mail/foo>, C</home/alice/mail/foo>, C<foo>) as a path in the
folder tree named C<$base> in the home (C<mail>): C<foo>. C<''> for
C<INBOX> and C<mbox> (UW's INBOX when F<~/mbox> exists); undef for a
name outside the tree. C<@old_homes>: the home's paths on the old
server, for absolute names that do not go through C<$base/>.

=head2 $home = old_home($dir, trust => 0, owners => [])

What a UW-IMAP home (a directory object) holds for the migration:
C<mbox> (F<~/mbox>, which UW served as INBOX: C<< { dir, file, src } >>,
or undef), C<mail> (F<~/mail>, a directory object, or undef),
C<notices> and C<errors> (a F<~/mbox> that is not a regular file, has
other hard links, or belongs to neither the home's owner, root nor one
of C<owners>). See L<mbox2vpopmail/UW-IMAP HOMES>.

=head2 write_subscriptions($md, @names)

Adds the folders to F<courierimapsubscribed> (C<INBOX.a.b>) and Dovecot's
F<subscriptions> (C<a.b>) of the Maildir C<$md>, keeping existing lines;
atomically, owned by the Maildir's owner, synced.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
