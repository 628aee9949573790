package MigrateMail::Sync;

use strict;
use warnings;

use JSON::PP ();
use MigrateMail ();
use MigrateMail::FS ();

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(open_manifest digest verify_manifest);

# The --manifest file of a run (src/mm_manifest.h): written as
# FILE.mmtmp, renamed to FILE by commit. Dies with the reason.
sub open_manifest {
	my ($path, %o) = @_;
	my ($h, $fd) = _manifest_create($path, $o{trust} ? 1 : 0);
	die "cannot write the manifest $path: $fd\n" unless defined $h;
	return bless { h => $h, fd => $fd, path => $path }, 'MigrateMail::Sync::Manifest';
}

# The fields of a line of ours (src/mm_manifest.h), in their order.
my @FIELDS = qw(source maildir number offset size digest flags uid uidl file action reason);
my %ACTIONS = map { $_ => 1 } qw(delivered present repaired re-flagged conflict kept-deleted changed removed failed);
# actions whose file was in the Maildir after the pass
my %HAS_FILE = map { $_ => 1 } qw(delivered present repaired re-flagged conflict changed);

# Check the Maildir(s) a manifest names (or maildir => DIR for every
# line) against it: see verify_manifest in the POD. Dies when the
# manifest cannot be read or is not one of ours (nothing checked).
sub verify_manifest {
	my ($path, %o) = @_;
	my ($fh) = eval { MigrateMail::FS::open_input($path, trust => $o{trust}) };
	die "cannot read the manifest $path: " . ($@ =~ s/^cannot open mbox: //r) unless $fh;
	my $json = JSON::PP->new;
	my %r = (files => 0, verified => 0, missing => 0, different => 0, errors => []);
	my (%check, @order);
	my $n = 0;
	my $ok = eval {
		while (defined(my $line = <$fh>)) {
			$n++;
			my $l = _manifest_line($json, $line)
			  // die "$path: line $n is not a line of a manifest of this tool (mbox2vpopmail --manifest): nothing checked\n";
			next unless $HAS_FILE{ $l->{action} } && defined $l->{file};
			my $md = $o{maildir} // $l->{maildir}
			  // die "$path: line $n names no Maildir (a manifest of an older version): give --maildir\n";
			my $h = $check{$md};
			if (!defined $h) {
				# a batch's lines come a mailbox at a time: few open at once
				while (@order >= 8) {
					my $old = delete $check{ shift @order };
					_check_free($old) if $old =~ /\A[0-9]+\z/;
				}
				my $e;
				($h, $e) = _check_open($md, $o{trust} ? 1 : 0);
				# its files are all missing then, each said
				$h //= "the Maildir cannot be opened: $e";
				$check{$md} = $h;
				push @order, $md;
			}
			my ($digest) = defined $l->{digest} ? $l->{digest} =~ /\Amm64:([0-9a-f]{16})\z/ : ();
			die "$path: line $n: digest '$l->{digest}' is not one this version knows (mm64:...): nothing more checked\n"
			  if defined $l->{digest} && !defined $digest;
			$r{files}++;
			my ($st, $found, $why) = $h =~ /\A[0-9]+\z/ ? _check_file($h, $l->{file}, $l->{size}, $digest)
			  : (1, '', $h);
			if ($st == 0) {
				$r{verified}++;
				next;
			}
			$r{ $st == 1 ? 'missing' : 'different' }++;
			push @{ $r{errors} }, { number => $l->{number}, offset => $l->{offset}, source => $l->{source},
						maildir => $md, file => $l->{file}, found => $found, text => $why,
						message => sprintf 'ERROR: %s: message %s, offset %s (%s): %s in %s%s: %s', $path,
						  $l->{number} // '-', $l->{offset} // '-', $l->{source} // '-', $l->{file}, $md,
						  length $found && $found ne $l->{file} ? " (now $found)" : '', $why };
		}
		1;
	};
	my $e = $@;
	_check_free($_) for grep { /\A[0-9]+\z/ } values %check;
	die $e unless $ok;
	die "$path: not a manifest of this tool (mbox2vpopmail --manifest): it is empty\n" unless $n;
	return \%r;
}

# A line of ours as a hash, or undef.
sub _manifest_line {
	my ($json, $line) = @_;
	my $l = eval { $json->decode($line) };
	return undef unless ref $l eq 'HASH' && $line =~ /\A\{"source":/;
	for my $k (@FIELDS) {
		return undef unless exists $l->{$k} || $k eq 'maildir';
	}
	return undef unless defined $l->{action} && $ACTIONS{ $l->{action} };
	return undef if defined $l->{file} && (!defined $l->{size} || $l->{size} !~ /\A[0-9]+\z/);
	return $l;
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

=head2 $r = verify_manifest($path, maildir => undef, trust => 0)

Checks, without the mbox, that every file a manifest of an earlier pass
lists as in the Maildir (the lines with a C<file> and the action
C<delivered>, C<present>, C<repaired>, C<re-flagged>, C<conflict> or
C<changed>) is there with the size and the digest the line gives. A
file is looked for by its base name in F<new/> or F<cur/> (the new
server may have changed its flags since), then by its key (a repair's
other C<,S=>). Each line names its Maildir; C<maildir> checks every
line against that one instead (a manifest of an older version, or a
Maildir moved since). Maildirs are opened read-only, as the conversion
opens them (no symlink on the path unless C<trust>); nothing is written.
Lines of removed files, and of messages with no file (C<kept-deleted>,
C<failed>), are not checked; a line without a digest has its size
checked only.

Returns C<< { files, verified, missing, different, errors } >>, each
error C<< { number, offset, source, maildir, file, found, text, message } >>
with C<message> the whole C<ERROR: ...> line naming the message number
and offset from the manifest. Dies (nothing checked) when the manifest
cannot be read, is not one of ours (a line that is not an object with
our fields and actions), names no Maildir and none was given, or a
Maildir cannot be opened.

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
