package MigrateMail::FS;

use strict;
use warnings;

use Carp qw(croak);
use Cwd ();
use MigrateMail ();

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(open_dir open_input write_file);

# enum mm_fs_kind
my %KIND = (dir => 1, file => 2, input => 3);

# An error of the C layer as one line; refusals say what to do.
sub _fail {
	my ($text) = @_;
	$text .= ' (give --trust-paths if this path is the admin\'s own)'
	  if $text =~ /has a symlink that a user could change|has other hard links/;
	die "$text\n";
}

# A perl handle on a descriptor we own (closing it closes the fd).
sub _handle {
	my ($fd) = @_;
	open(my $fh, '<&=', $fd) or do {
		my $e = "$!";
		MigrateMail::FS::_close($fd);
		die "cannot use descriptor $fd: $e\n";
	};
	binmode $fh;
	return $fh;
}

# Open a directory the admin names (see mm_fs.h for the walk); dies
# with the reason.
sub open_dir {
	my ($path, %o) = @_;
	my ($fd, @rest) = _open_path($path, $KIND{dir}, $o{trust} ? 1 : 0);
	_fail($rest[0]) unless defined $fd;
	return MigrateMail::FS::Dir->_new($fd, $path, @rest[0, 1]);
}

# Open an mbox the admin names: a regular file with no other link, a
# FIFO or a character device; never through a user's symlink. Returns
# (handle, uid, size, real path); dies with the reason. The real path
# (symlinks resolved) is where the MTA takes its dotlock; the lock code
# checks that the name there is still the file opened.
sub open_input {
	my ($path, %o) = @_;
	my ($fd, @rest) = _open_path($path, $KIND{input}, $o{trust} ? 1 : 0);
	if (!defined $fd) {
		local $! = $rest[1];
		# the classic wording for the classic failures
		die "cannot open mbox: $!\n" if $rest[1] && $rest[0] =~ /^cannot open/;
		# callers name the mbox already
		(my $why = $rest[0]) =~ s/^\Q$path\E (?:is )?//;
		_fail($why);
	}
	return (_handle($fd), @rest[0, 2], Cwd::realpath($path) // $path);
}

# Write data to path atomically (a new file of mode 0600 beside it,
# fsynced, renamed over it), never through a planted link.
sub write_file {
	my ($path, $data, %o) = @_;
	my ($fd, $name, $errno) = _open_parent($path, $o{trust} ? 1 : 0);
	_fail($name) unless defined $fd;
	my $e = _replace_at($fd, $name, $data, 0);
	_close($fd);
	die "$e\n" if defined $e;
	return 1;
}

package MigrateMail::FS::Dir;

# A directory held open: every name below is opened relative to it.
sub _new {
	my ($class, $fd, $path, $uid, $gid) = @_;
	return bless { fd => $fd, path => $path, uid => $uid, gid => $gid }, $class;
}

sub fd   { $_[0]{fd} }
sub path { $_[0]{path} }
sub uid  { $_[0]{uid} }

sub DESTROY {
	my ($self) = @_;
	MigrateMail::FS::_close($self->{fd}) if defined $self->{fd};
}

# Entries but . and ..: [ name, type (f d l o), size, links, uid ] each,
# sorted by name; types from lstat, never following a link.
sub list {
	my ($self) = @_;
	return sort { $a->[0] cmp $b->[0] } MigrateMail::FS::_list($self->{fd});
}

# The subdirectory name (no symlink), as an object.
sub subdir {
	my ($self, $name) = @_;
	my ($fd, @rest) = MigrateMail::FS::_open_at($self->{fd}, $name, $KIND{dir}, 0);
	MigrateMail::FS::_fail("$self->{path}/$rest[0]") unless defined $fd;
	return MigrateMail::FS::Dir->_new($fd, "$self->{path}/$name", @rest[0, 1]);
}

# Make (if missing) and open the subdirectory name, owned by this
# directory's owner.
sub make_subdir {
	my ($self, $name) = @_;
	my ($fd, $made, $errno) = MigrateMail::FS::_mkdir_at($self->{fd}, $name);
	die "$self->{path}/$made\n" unless defined $fd;
	return MigrateMail::FS::Dir->_new($fd, "$self->{path}/$name");
}

# A regular file in it with one link, as a read handle: (fh, size).
sub open_file {
	my ($self, $name) = @_;
	my ($fd, @rest) = MigrateMail::FS::_open_at($self->{fd}, $name, $KIND{file}, 0);
	if (!defined $fd) {
		local $! = $rest[1];
		die "cannot open mbox: $!\n" if $rest[1] && $rest[0] =~ /^cannot open/;
		die "$self->{path}/$rest[0]\n";
	}
	return (MigrateMail::FS::_handle($fd), $rest[2]);
}

# The content of the regular file name (one link, at most $max bytes),
# or undef if there is none.
sub read_file {
	my ($self, $name, $max) = @_;
	my ($data, $err) = MigrateMail::FS::_read_at($self->{fd}, $name, $max // (1 << 20));
	die "$self->{path}/$err\n" if !defined $data && defined $err;
	return $data;
}

# What the Maildir++ tree of this Maildir holds as vpopmail counts it
# for its quota (mm_quota.h): (bytes, messages). Dies if unreadable.
sub quota_usage {
	my ($self) = @_;
	my ($bytes, $n) = MigrateMail::FS::_quota_usage($self->{fd});
	die "$self->{path}: $n\n" unless defined $bytes;
	return ($bytes, $n);
}

# Replace name with data atomically, owned by this directory's owner.
sub replace_file {
	my ($self, $name, $data) = @_;
	my $e = MigrateMail::FS::_replace_at($self->{fd}, $name, $data, 1);
	die "$self->{path}/$e\n" if defined $e;
	return 1;
}

# The Maildir++ folder name ("a.b") of this Maildir, with its
# maildirfolder marker; synced unless $nosync.
sub make_folder {
	my ($self, $name, $nosync) = @_;
	my $e = MigrateMail::FS::_make_folder($self->{fd}, $name, $nosync ? 0 : 1);
	die "$self->{path}/.$name: $e\n" if defined $e;
	return ".$name";
}

1;
__END__

=head1 NAME

MigrateMail::FS - the safe way to touch directories users own, as root

=head1 SYNOPSIS

  use MigrateMail::FS qw(open_dir open_input write_file);
  my $spool = open_dir('/var/spool/mail');
  for my $e ($spool->list) {
      next unless $e->[1] eq 'f';
      my ($fh) = $spool->open_file($e->[0]);
      ...
  }
  write_file('/root/report.json', $json);

=head1 DESCRIPTION

MigrateMail runs as root over Maildirs, folder trees and spool
directories that ordinary users own and may change while it works. This
module is the Perl face of F<src/mm_fs.c>: directories are held open as
descriptors, every name below them is opened relative to them without
following a symlink, files must be regular files with a single link,
FIFOs never block an open, and what is created is owned (by
descriptor, never by name) by the directory's owner.

Paths the admin gives are walked component by component: a symlink on
the way is followed only when root owns it (Debian's
F</var/spool/mail>, say); a symlink that a user could have made or
changed is refused, as is a file with other hard links, unless the
caller passes C<< trust => 1 >> (the scripts' B<--trust-paths>).

=head1 FUNCTIONS

=head2 $dir = open_dir($path, trust => 0)

A L</DIRECTORY OBJECTS> object for the directory C<$path>; dies with
the reason.

=head2 ($fh, $uid, $size, $real) = open_input($path, trust => 0)

A read handle on an mbox the admin names: a regular file, a FIFO or a
character device (such as F</dev/null>); C<$real> is its path with the
symlinks followed (where its dotlock belongs).

=head2 write_file($path, $data, trust => 0)

Writes C<$data> to C<$path> atomically (mode 0600 file beside it,
fsynced, renamed over C<$path>, directory fsynced), never through a
planted symlink.

=head1 DIRECTORY OBJECTS

C<fd>, C<path>, C<uid>; C<list> (C<[name, type, size, links, uid]> each, type
C<f>, C<d>, C<l> or C<o>); C<subdir($name)>; C<make_subdir($name)>;
C<open_file($name)> (handle and size); C<read_file($name, $max)>
(undef when missing); C<replace_file($name, $data)>;
C<make_folder($name)> (a Maildir++ folder with its F<maildirfolder>);
C<quota_usage> (bytes and messages of the Maildir++ tree as vpopmail
counts them for its quota: F<src/mm_quota.h>).
The descriptor is closed when the object goes.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
