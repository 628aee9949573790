package MigrateMail::Folders;

use strict;
use warnings;

use Encode ();
use Fcntl qw(O_WRONLY O_CREAT O_EXCL O_NOFOLLOW);
use File::Basename qw(basename dirname);
use MIME::Base64 ();

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(folder_jobs folder_name read_subscriptions
		    write_subscriptions make_folder);

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

# The mbox files under $dir (recursively) and the Maildir++ folder each
# becomes: [ { src, path (relative, "/"-separated), name ("a.b") } ],
# and reasons for what was skipped. Names that would collide get a
# numbered suffix.
sub folder_jobs {
	my ($dir) = @_;
	my (@jobs, @skipped, %taken);
	my $walk;
	$walk = sub {
		my ($rel, @names) = @_;
		my $abs = length $rel ? "$dir/$rel" : $dir;
		opendir my $dh, $abs or do { push @skipped, "$abs: cannot read: $!"; return };
		for my $f (sort grep { $_ ne '.' && $_ ne '..' } readdir $dh) {
			my $r = length $rel ? "$rel/$f" : $f;
			my $path = "$dir/$r";
			if ($f =~ /^\./ || $f =~ /\.lock\z/) {
				push @skipped, "$path: hidden or lock file, not a folder, skipped";
				next;
			}
			lstat $path;
			if (-l _) {
				push @skipped, "$path: symlink, skipped";
			} elsif (-d _) {
				$walk->($r, @names, folder_name($f));
			} elsif (-f _) {
				my $name = join '.', @names, folder_name($f);
				my $base = $name;
				my $n = 1;
				$name = $base . '_' . ++$n while $taken{ lc $name };
				$taken{ lc $name } = 1;
				push @jobs, { src => $path, path => $r, name => $name };
			} else {
				push @skipped, "$path: not a regular file, skipped";
			}
		}
	};
	$walk->('');
	return { jobs => \@jobs, skipped => \@skipped };
}

# Create the Maildir++ folder's directory marker (the folder's Maildir is
# made by the conversion). Owner: the main Maildir's, when root.
sub make_folder {
	my ($maildir, $name) = @_;
	my $fdir = "$maildir/.$name";
	die "$fdir is a symlink: refused\n" if -l $fdir;
	my @owner = (stat $maildir)[4, 5];
	if (!-d $fdir) {
		mkdir $fdir, 0700 or die "cannot create $fdir: $!\n";
		chown @owner, $fdir if $> == 0;
	}
	my $marker = "$fdir/maildirfolder";
	if (!-e $marker && !-l $marker) {
		sysopen(my $fh, $marker, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)
		  or die "cannot create $marker: $!\n";
		close $fh;
		chown @owner, $marker if $> == 0;
	}
	return $fdir;
}

# Subscribed folders of a UW-IMAP/Pine user: .mailboxlist (UW, Pine) or
# .subscriptions, in the folder directory or the home above it. Names
# are relative to the home ("mail/foo") or to the folder directory.
# Returns the list of relative paths ("foo/bar") and the file read.
sub read_subscriptions {
	my ($dir) = @_;
	my $top = basename($dir);
	for my $f (map { ("$_/.mailboxlist", "$_/.subscriptions") } $dir, dirname($dir)) {
		next unless -f $f && !-l $f;
		open my $fh, '<', $f or next;
		my @subs;
		while (my $l = <$fh>) {
			chomp $l;
			$l =~ s/\r\z//;
			next if $l eq '' || uc $l eq 'INBOX';
			$l =~ s{\A~/}{};
			$l =~ s{\A\Q$top\E/}{};
			push @subs, $l;
		}
		return (\@subs, $f);
	}
	return ([], undef);
}

# Add folder names (Maildir++ "a.b") to Courier's courierimapsubscribed
# ("INBOX.a.b") and Dovecot's subscriptions ("a.b"), keeping what is
# there. Written atomically, mode 0600, the Maildir's owner.
sub write_subscriptions {
	my ($maildir, @names) = @_;
	my @owner = (stat $maildir)[4, 5];
	for my $file ([ 'courierimapsubscribed', 'INBOX.' ], [ 'subscriptions', '' ]) {
		my ($name, $prefix) = @$file;
		my $path = "$maildir/$name";
		die "$path is a symlink: refused\n" if -l $path;
		my (@lines, %have);
		if (open my $fh, '<', $path) {
			chomp(@lines = <$fh>);
			%have = map { $_ => 1 } @lines;
		}
		my @add = grep { !$have{$_}++ } map { "$prefix$_" } @names;
		next unless @add;
		my $tmp = "$path.mmtmp";
		unlink $tmp;
		sysopen(my $out, $tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600)
		  or die "cannot write $tmp: $!\n";
		print {$out} map { "$_\n" } @lines, @add;
		close $out or die "cannot write $tmp: $!\n";
		chown @owner, $tmp if $> == 0;
		rename $tmp, $path or die "cannot rename $tmp: $!\n";
	}
}

1;
__END__

=head1 NAME

MigrateMail::Folders - UW-IMAP/Pine mbox folder trees as Maildir++ folders

=head1 SYNOPSIS

  use MigrateMail::Folders qw(folder_jobs make_folder read_subscriptions
                              write_subscriptions folder_name);
  my $list = folder_jobs("$home/mail");
  for my $job (@{ $list->{jobs} }) {
      my $fdir = make_folder($maildir, $job->{name});
      mbox_to_maildir($job->{src}, $fdir);
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

=head2 $list = folder_jobs($dir)

The mbox files under C<$dir>: C<< { src, path, name } >> each, plus
C<skipped> reasons (hidden files, lock files, symlinks, devices). Two
files that would give the same folder name get C<_2>, C<_3> ...

=head2 $fdir = make_folder($maildir, $name)

Creates F<$maildir/.$name/> and its F<maildirfolder> (never through a
symlink; the Maildir's owner when run as root).

=head2 ($paths, $file) = read_subscriptions($dir)

The subscribed folders from F<.mailboxlist> or F<.subscriptions> in
C<$dir> or its parent (the home), as paths relative to C<$dir>.

=head2 write_subscriptions($maildir, @names)

Adds the folders to F<courierimapsubscribed> (C<INBOX.a.b>) and Dovecot's
F<subscriptions> (C<a.b>), keeping existing lines.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
