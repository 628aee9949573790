package MigrateMail::Mbox;

use strict;
use warnings;

use Carp qw(croak);
use MigrateMail ();
use MigrateMail::FS ();
use MigrateMail::Mbox::Message ();

our $VERSION = '0.01';

my %KNOWN = map { $_ => 1 } qw(format keep_headers timezone name buffer_max trust_paths);

sub new {
	my ($class, $src, %opt) = @_;

	for my $k (sort keys %opt) {
		croak "ERROR: MigrateMail::Mbox->new: unknown option '$k'"
		  unless $KNOWN{$k};
	}
	croak 'ERROR: MigrateMail::Mbox->new: no mbox given' unless defined $src;
	my ($fh, $name);
	if (ref $src eq 'GLOB' || ref \$src eq 'GLOB'
	    || (ref $src && eval { $src->can('fileno') })) {
		$fh   = $src;
		$name = $opt{name} // 'stdin';
	} else {
		$name = $opt{name} // $src;
		# never through a user's symlink or hard link (MigrateMail::FS)
		($fh) = eval { MigrateMail::FS::open_input($src, trust => $opt{trust_paths}) };
		croak "ERROR: $name: " . ($@ =~ s/\n\z//r) unless $fh;
	}
	my $fd = fileno $fh;
	croak "ERROR: $name: not a file handle with a file descriptor"
	  unless defined $fd && $fd >= 0;
	my ($fixed, $off) = _timezone($opt{timezone});
	my $reader = MigrateMail::Mbox::Reader->new(
		$fd, $opt{format} // 'auto', $opt{keep_headers} ? 1 : 0,
		$fixed, $off, $opt{buffer_max} // 0);
	return bless {
		reader   => $reader,
		fh       => $fh,
		name     => $name,
		serial   => 0,
		warnings => [],
	}, $class;
}

# undef or 'local': the process's local time (TZ); a fixed offset is
# handled in C; a zone name becomes the process's TZ.
sub _timezone {
	my ($tz) = @_;
	return (0, 0) if !defined $tz || $tz eq 'local';
	my $off = MigrateMail::tz_offset($tz);
	return (1, $off) if defined $off;
	croak "ERROR: unknown timezone '$tz' (use local, UTC, +hhmm or a zone name)"
	  unless $tz =~ m{\A[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*\z}
	  && -f "/usr/share/zoneinfo/$tz";
	require POSIX;
	$ENV{TZ} = $tz;
	POSIX::tzset();
	return (0, 0);
}

sub name   { $_[0]{name} }
sub format { $_[0]{reader}->format }
sub format_reason { $_[0]{reader}->format_reason }

sub next {
	my ($self) = @_;
	my $h = $self->{reader}->next($self->{name});
	$self->_collect;
	return undef unless $h;
	$h->{_mbox}   = $self;
	$h->{_serial} = ++$self->{serial};
	return bless $h, 'MigrateMail::Mbox::Message';
}

sub _collect {
	my ($self) = @_;
	for my $w ($self->{reader}->warnings) {
		$w->{message} = $w->{number}
		  ? "WARNING: $self->{name}: message $w->{number}, offset $w->{offset}: $w->{text}"
		  : "WARNING: $self->{name}: offset $w->{offset}: $w->{text}";
		push @{ $self->{warnings} }, $w;
	}
}

sub warnings {
	my ($self) = @_;
	$self->_collect;
	my @w = @{ $self->{warnings} };
	@{ $self->{warnings} } = ();
	return @w;
}

1;
__END__

=head1 NAME

MigrateMail::Mbox - streaming reader for every kind of mbox file

=head1 SYNOPSIS

  use MigrateMail::Mbox;

  my $mbox = MigrateMail::Mbox->new($path_or_fh, format => 'auto');
  while (my $msg = $mbox->next) {
      print $msg->number, ' ', $msg->sender, ' ', $msg->flags, "\n";
      my $bytes = $msg->content;          # or $msg->write_to($fh)
  }
  print STDERR "$_->{message}\n" for $mbox->warnings;

=head1 DESCRIPTION

Reads an mbox file, a pipe or standard input and yields its messages one
at a time. The parsing is done in C and memory stays bounded (a few MiB)
whatever the size of the file, of one message or of one line: a message's
bytes are only brought into Perl when asked for, and can be streamed to a
handle in chunks instead.

=head2 What a message's bytes are

The bytes stored after the message's From_ line, up to the blank line the
mbox writer put before the next From_ line (or the end of the file), with
the variant's From_ quoting undone, and without the mbox store's own
metadata headers (C<Status>, C<X-Status>, C<X-Keywords>, C<X-UID>,
C<X-IMAP>, C<X-IMAPbase>, C<Content-Length>), whose meaning moves into the
Maildir. Nothing else changes: CRLF line ends stay, a final newline is
never added or lost, a last message without one is kept as it is. The
C<keep_headers> option keeps every byte.

=head2 Message boundaries

A From_ line is C<From >, an envelope sender and a ctime-style date that
parses (with the variants real writers produce: space-padded day, missing
seconds, a zone before or after the year, C<remote from>). A body line
that merely begins with C<From > never starts a message. A
C<Content-Length> header (C<mboxcl>, C<mboxcl2>) is trusted only when it
ends exactly on a blank line and From_ line, or the end of the file; in a
regular file that is checked before the message is read, in a pipe when
it fits the read-ahead window (else after, with a warning if it was
wrong).

=head1 METHODS

=head2 $mbox = MigrateMail::Mbox->new($path_or_fh, %opt)

Opens the mbox (read-only; the source is never modified). A handle is
read through its file descriptor, from its current position; do not read
from it with Perl at the same time. Options:

=over

=item format => 'auto' | 'mboxo' | 'mboxrd' | 'mboxcl' | 'mboxcl2' | 'mmdf'

The mbox variant. C<auto> (default) decides from the whole file when it
is a regular file (a pre-scan at memory speed from the handle's
position to the end, so the decision is the same whatever
C<buffer_max> is), from its first MiB when it is a pipe:

=over

=item * a file that starts with a line of four Ctrl-A bytes is C<mmdf>;

=item * Content-Length is used when at least half of the messages have
one (each is then checked: one that does not land exactly on the next
message is a warning and ignored), or when one keeps a From_ line inside
its body from splitting the message (a writer that does not quote);
then an unquoted C<From > line inside such a body means C<mboxcl2>,
else C<< >From >> lines mean C<mboxcl> (quoted, as mutt writes), else
C<mboxcl2> (the same bytes either way);

=item * otherwise one or more C<< >>From >> lines mean C<mboxrd> (an
mboxrd writer makes them of every C<< >From >>; an mboxo writer leaves
them as a person wrote them), else C<mboxo>, which is what sendmail's
mail.local, procmail and UW-IMAP write (mboxo and mboxrd differ on
C<< >>From >> lines only).

=back

C<format_reason> (below) says which, from what and from how much. The
scan reads the whole file but in one case: a From_ line that only its
Content-Length keeps inside a body makes it C<mboxcl2> whatever follows,
so it stops there. A mailbox no single variant reads right (C<< >From >>
lines in messages without a Content-Length in an mboxcl2 file) gets a
C<format-guess> warning naming the message and offset. On a pipe the
variant is assumed from the first MiB (all of it if shorter, which then
gives the same as the file), and a later C<< >>From >> line while
reading as mboxo or mboxcl, a Content-Length that lands exactly while
reading as mboxo or mboxrd, or a C<< >From >> line in a message without
Content-Length while reading as mboxcl2, is a C<format-guess> warning
naming its message and offset (once each per mailbox): read such a
mailbox again with the C<format> the warning names, or from a file. An
explicit C<format> skips the scan (it costs a read of the file, at
about 3 GB/s when it is in the page cache).

C<mmdf>: each message between two lines of four Ctrl-A bytes
(C<\1\1\1\1>, LF or CRLF), as SCO and MMDF-era servers deliver; no
From_ line is needed (one right after the opening line is used) and
nothing is quoted, so nothing is unquoted. The metadata headers are
handled as in an mbox; dates come from the Date: header. A missing
closing line and bytes between messages are C<mmdf-separator> warnings;
those bytes are kept as a message of their own.

=item keep_headers => 1

Keep the mbox metadata headers in the message bytes.

=item timezone => 'local' | 'UTC' | '+hhmm' | 'Europe/Berlin'

The zone in which From_ line dates without a zone were written: the old
server's. Default: this process's local time. A zone name sets C<TZ> for
the whole process.

=item name => $display_name

The name used in warnings and errors (default: the path, or C<stdin>).

=item buffer_max => $bytes

The read-ahead window (default 4 MiB, minimum 64 KiB): the largest header
block examined whole, and how far ahead a Content-Length is checked in a
pipe.

=back

=head2 $msg = $mbox->next

The next message as a L<MigrateMail::Mbox::Message>, or undef at the end.
What was not read of the previous message is skipped. Croaks on a read
error.

=head2 $name = $mbox->format

The variant in use (after the first C<next> when it was C<auto>).

=head2 $text = $mbox->format_reason

Why that variant, one line: C<mboxo: as asked for>, or for C<auto> the
evidence and how much was looked at, e.g. C<<< mboxrd: no Content-Length, 12
'>>From ' lines (the first at offset 1234567), 40 '>From ' lines (whole
file, 4383826 bytes) >>>, or C<...
(assumed from the first 1048576 bytes of a pipe)>.

=head2 @warnings = $mbox->warnings

Warnings raised since the last call, oldest first, and forgets them.

=head1 WARNINGS

Odd input never stops the reader and nothing that could be a message is
dropped. Each warning is a hash reference: C<code>, C<number> (message
number, 0 before the first), C<offset> (byte offset in the source),
C<text>, and C<message>, the whole line:

  WARNING: mbox: message 3, offset 5120: message contains NUL bytes (kept)

Codes: C<no-from> (bytes before the first From_ line, kept as a message
of their own; blank lines there are skipped), C<nul> (NUL bytes),
C<bad-content-length> (a Content-Length that does not land on a message
boundary; ignored), C<truncated> (the file ends inside the header block
or before the end Content-Length announced), C<long-header> (a header
block longer than C<buffer_max>; the rest passed on unexamined),
C<no-separator> (a From_ line without the blank line before it),
C<format-guess> (C<auto> met evidence for another variant; see
C<format>), C<mmdf-separator> (an MMDF message without its closing line,
or bytes between MMDF messages, kept as a message of their own).

=head1 DIAGNOSTICS

=over

=item ERROR: NAME: cannot open mbox: REASON

=item ERROR: NAME: message N, offset X: read failed: REASON

=item ERROR: unknown mbox format 'F' (auto, mboxo, mboxrd, mboxcl, mboxcl2, mmdf)

=item ERROR: unknown timezone 'TZ' (use local, UTC, +hhmm or a zone name)

=back

=head1 SEE ALSO

L<MigrateMail>, L<MigrateMail::Mbox::Message>, RFC 4155.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
