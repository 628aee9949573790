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
sub spilled { my @s = $_[0]{reader}->spilled; return wantarray ? @s : $s[0] }
sub format_reason { $_[0]{reader}->format_reason }
sub not_an_mbox { $_[0]{reader}->not_an_mbox }

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

A I<strict> From_ line is C<From >, an envelope sender (may be empty) and
a ctime-style date that parses, with the variants real writers produce:
space-padded day, missing seconds, any 4-digit year (1965; 1969, which
mblaze's C<mexport> writes on a UTC host; 2201), a zone before or after
the year (C<+0100>, or a name such as C<MET>, C<JST>, C<AEST>,
C<WETDST>, C<MET DST>; a name before the year with a numeric zone after
it, which wins), C<remote from host>. It always starts a message: no
writer leaves such a line unquoted in a body. When no blank line
precedes it, the message it ends gets a C<no-separator> warning.

A I<loose> From_-like line is any other line of text (at most 1024
bytes) that starts C<From >: no date at all (C<From >, C<From - > as
Netscape and Thunderbird write it, C<From foo@bar blah> from Python's
C<mailbox> when no time is set), an RFC 822 date (C<From daemon@x Sun,
11 Nov 2007 06:58:35 +0200>, or C<From - Sun 24 Jan 2016 21:57:32>), a
date that does not parse. Writers produce these, but so do people
("From here on, ...") and writers that quote only some body lines, so a
loose line starts a message only where the evidence says one starts:

=over

=item * as the first line of the file (after leading blank lines);

=item * after a blank line (the separator every writer puts before a
From_ line) I<and> before a header field line: a name that starts with a
letter and holds letters, digits and C<-> (at most 128), then C<:>.
That is the shape of a message; prose after a blank line is not;

=item * before a header field line with no blank line before it, as long
as no message of the file so far started at a strict From_ line: a file
of loose lines whose writer once left the separator out. Only what was
read before counts, so a pipe decides exactly as a path.

=back

Each loose line taken is a C<guessed-boundary> warning (C<message 2
starts at a From_ line with no date (guessed boundary: a blank line
before it, a header field after it)>). A From_-like line that is not
taken stays in the message, and is a C<from-like> warning when a blank
line precedes it, it carries a date, or a header field follows it
(C<From_-like line with no date kept inside message 1: no header field
follows it>); C<From > in the middle of a paragraph is ordinary text. So
C<grep WARNING> shows every place where a boundary was guessed or
refused. The date of a loose line, when it has one, is the message's
date like a strict line's.

A C<Content-Length> header (C<mboxcl>, C<mboxcl2>) is trusted only when
it ends exactly on a blank line and From_ line (strict, or loose with a
header field after it), or the end of the file; in a regular file that is
checked before the message is read, in a pipe when it fits the
read-ahead window (else after, with a warning if it was wrong). Inside a
body it bounds, no line is a boundary.

=head2 Zone names

Zone names in From_ dates are applied from a table of what writers
emit: C<UT>, C<UTC>, C<GMT>, C<Z>, C<WET>/C<WEST>, C<BST> (British
Summer Time), C<CET>/C<CEST>, C<MET>/C<MEST>, C<MEZ>/C<MESZ>, C<EET>/C<EEST>,
C<MSK>/C<MSD>, C<IDT>, C<SAST>, C<WAT>, C<CAT>, C<EAT>, C<PKT>, C<ICT>,
C<WIB>, C<HKT>, C<SGT>, C<AWST>, C<JST>, C<KST>, C<ACST>/C<ACDT>,
C<AEST>/C<AEDT>, C<NZST>/C<NZDT>, C<NST>/C<NDT>, C<AST>/C<ADT>
(Atlantic), C<EST>/C<EDT>, C<CST>/C<CDT> (US Central), C<MST>/C<MDT>,
C<PST>/C<PDT>, C<AKST>/C<AKDT>, C<HST>/C<HDT>; any of them with C<DST>
glued on (C<WETDST>) or as a second word (C<MET DST>) is an hour later.
C<IST> (India, Ireland or Israel) is ambiguous and not applied. A name
not in the table (in capitals, at most 6 letters) is accepted and the
date read as if no zone were written; the first such name in a mailbox
is an C<unknown-zone> warning.

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
block examined whole, and how far ahead a Content-Length is checked in
memory. A pipe splits exactly as the same file read by path: a farther
Content-Length is checked in an unlinked temporary file (mode 0600, in
C<$TMPDIR> or F</tmp>) that the stream is copied to as far as where it
lands, then read back; see C<spilled> below.

=back

=head2 $msg = $mbox->next

The next message as a L<MigrateMail::Mbox::Message>, or undef at the end.
What was not read of the previous message is skipped. Croaks on a read
error.

=head2 $name = $mbox->format

The variant in use (after the first C<next> when it was C<auto>).

=head2 ($bytes, $peak) = $mbox->spilled

Bytes of a pipe copied to temporary files so far to check where a
Content-Length lands, and the most disk space held at once (both 0 for
a file, and for a pipe whose Content-Length headers all land within
C<buffer_max>). In scalar context, C<$bytes>. When the temporary file
cannot be created or written (disk full), C<next> croaks with an
C<ERROR> that says so: the split is never made differently instead.

=head2 $text = $mbox->format_reason

Why that variant, one line: C<mboxo: as asked for>, or for C<auto> the
evidence and how much was looked at, e.g. C<<< mboxrd: no Content-Length, 12
'>>From ' lines (the first at offset 1234567), 40 '>From ' lines (whole
file, 4383826 bytes) >>>, or C<...
(assumed from the first 1048576 bytes of a pipe)>.

=head2 $why = $mbox->not_an_mbox

Before the first C<next>: why the input is no mbox at all (bytes, but
not one line starting C<From > nor an MMDF separator: C<not an mbox: no
From_ line (nor MMDF separator) in its N bytes, which start "...":
...>), or undef when it is one, or is larger than C<buffer_max> (a pipe
cannot be read to its end to tell). The reader itself still keeps such
bytes as one message, with the C<no-from> warning; B<mbox2vpopmail>
refuses them (exit 3).

=head2 @warnings = $mbox->warnings

Warnings raised since the last call, oldest first, and forgets them.

=head1 WARNINGS

Odd input never stops the reader and nothing that could be a message is
dropped. Each warning is a hash reference: C<code>, C<number> (message
number, 0 before the first), C<offset> (byte offset in the source),
C<text>, and C<message>, the whole line:

  WARNING: mbox: message 3, offset 5120: message contains NUL bytes (kept)

Codes: C<no-from> (bytes before the first From_ line, kept as a message
of their own, the warning naming a C<From > line there that cannot be a
From_ line and why; blank lines there are skipped), C<nul> (NUL bytes),
C<bad-content-length> (a Content-Length that does not land on a message
boundary; ignored), C<truncated> (the file ends inside the header block
or before the end Content-Length announced), C<long-header> (a header
block longer than C<buffer_max>; the rest passed on unexamined),
C<no-separator> (a message that ends at a From_ line without the blank
line before it), C<from-like> (a From_-like line kept inside a message,
and why), C<guessed-boundary> (a message that starts at a loose From_
line, and why), C<unknown-zone> (the first From_ date in the mailbox
with a zone name whose offset is not known; once per mailbox),
C<format-guess> (C<auto> met evidence for another variant; see
C<format>), C<mmdf-separator> (an MMDF message without its closing line,
or bytes between MMDF messages, kept as a message of their own).

=head1 DIAGNOSTICS

=over

=item ERROR: NAME: cannot open mbox: REASON

=item ERROR: NAME: message N, offset X: read failed: REASON

=item ERROR: NAME: message N, offset X: cannot write the temporary file in DIR that checks where Content-Length lands on this pipe (N bytes written): REASON

Reading a pipe needed disk space in C<$TMPDIR> (or F</tmp>) that was not
there; give the mbox by path, or point C<TMPDIR> at a larger file system.

=item ERROR: unknown mbox format 'F' (auto, mboxo, mboxrd, mboxcl, mboxcl2, mmdf)

=item ERROR: unknown timezone 'TZ' (use local, UTC, +hhmm or a zone name)

=back

=head1 SEE ALSO

L<MigrateMail>, L<MigrateMail::Mbox::Message>, RFC 4155.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
