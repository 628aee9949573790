package MigrateMail::Sync;

use strict;
use warnings;

use MigrateMail ();

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(open_manifest digest);

# The --manifest file of a run (src/mm_manifest.h): written as
# FILE.mmtmp, renamed to FILE by commit. Dies with the reason.
sub open_manifest {
	my ($path, %o) = @_;
	my ($h, $fd) = _manifest_create($path, $o{trust} ? 1 : 0);
	die "cannot write the manifest $path: $fd\n" unless defined $h;
	return bless { h => $h, fd => $fd, path => $path }, 'MigrateMail::Sync::Manifest';
}

package MigrateMail::Sync::Manifest;

sub fd { $_[0]{fd} }

sub commit {
	my ($self) = @_;
	my $e = MigrateMail::Sync::_manifest_commit($self->{h});
	die "cannot write the manifest $self->{path}: $e\n" if defined $e;
	return 1;
}

# In the process that made it, an uncommitted manifest is removed; a
# forked job only closes its copy of the descriptor.
sub DESTROY {
	my ($self) = @_;
	MigrateMail::Sync::_manifest_free(delete $self->{h}) if defined $self->{h};
}

1;
__END__

=head1 NAME

MigrateMail::Sync - the per-message manifest of a conversion run

=head1 SYNOPSIS

  use MigrateMail::Sync qw(open_manifest);
  my $mf = open_manifest('/root/pass2.manifest');
  mbox_to_maildir($mbox, $maildir, manifest_fd => $mf->fd, sync => 'new-server-wins');
  $mf->commit;

=head1 DESCRIPTION

Every pass of L<MigrateMail/mbox_to_maildir> records the messages it
delivered from a source in the Maildir's state file
(F<migratemail-state>), and with the option C<sync> makes the Maildir
match the mbox, touching only those messages; see L<mbox2vpopmail/CUT-OVER:
SYNC PASSES> and F<src/mm_sync.h>. This module gives the manifest of
such passes: one JSON line per message (F<src/mm_manifest.h> lists the
fields).

=head1 FUNCTIONS

=head2 $mf = open_manifest($path, trust => 0)

Creates F<$path.mmtmp> (never through a symlink; a leftover of a killed
run is removed first), to be renamed to C<$path> by C<< $mf->commit >>.
Dies with the reason. C<< $mf->fd >> is the descriptor to give
L<MigrateMail/mbox_to_maildir> as C<manifest_fd>; lines are appended
with one write each, so forked jobs can share it. An object destroyed
without a commit removes its file (in the process that made it).

=head2 $d = digest($bytes)

The digest the state file and the manifest give of a message's bytes,
as the manifest writes it: C<mm64:> and 16 hex digits (the 64-bit
digest of F<src/mm_digest.h>; it finds damage, not forgery).

=head1 DIAGNOSTICS

=over

=item cannot write the manifest PATH: REASON

The manifest could not be created, or synced and renamed at the end.

=back

=head1 SEE ALSO

L<mbox2vpopmail>, L<MigrateMail>

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
