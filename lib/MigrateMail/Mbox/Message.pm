package MigrateMail::Mbox::Message;

use strict;
use warnings;

use Carp qw(croak);

our $VERSION = '0.01';

# Plain accessors of the metadata the C reader filled in.
for my $field (qw(number offset sender from_time date flags uid uidl
		  keywords uidvalidity uid_last content_length hash)) {
	no strict 'refs';
	*{$field} = sub { $_[0]{$field} };
}
sub has_from  { $_[0]{has_from} ? 1 : 0 }
sub in_cur    { $_[0]{in_cur} ? 1 : 0 }
sub is_pseudo { $_[0]{is_pseudo} ? 1 : 0 }
sub clen_used { $_[0]{clen_used} ? 1 : 0 }
sub time      { $_[0]{from_time} // $_[0]{date} }

# The content can be read once, while this is the mbox's current message.
sub _reader {
	my ($self, $what) = @_;
	my $mbox = $self->{_mbox};
	croak "ERROR: $mbox->{name}: message $self->{number}: content no "
	  . "longer available for $what (already read, or a later message "
	  . 'was taken)'
	  if $self->{complete} || $mbox->{serial} != $self->{_serial};
	return $mbox->{reader};
}

sub content {
	my ($self) = @_;
	my $r = $self->_reader('content');
	my $data = $r->read_all($self->{_mbox}{name}, $self);
	$self->{_mbox}->_collect;
	return $data;
}

sub write_to {
	my ($self, $fh) = @_;
	my $r = $self->_reader('write_to');
	my $n = $r->write_to($self->{_mbox}{name}, $self, $fh);
	$self->{_mbox}->_collect;
	return $n;
}

sub read_chunk {
	my ($self) = @_;
	return undef if $self->{complete};
	my $chunk = $self->_reader('read_chunk')->read_chunk($self->{_mbox}{name}, $self);
	$self->{_mbox}->_collect;
	return $chunk;
}

sub size {
	my ($self) = @_;
	return $self->{size} if $self->{complete};
	return undef if $self->{_mbox}{serial} != $self->{_serial};
	$self->{_mbox}{reader}->skip($self->{_mbox}{name}, $self);
	$self->{_mbox}->_collect;
	return $self->{size};
}

sub end_offset {
	my ($self) = @_;
	$self->size unless $self->{complete};
	return $self->{end_offset};
}

1;
__END__

=head1 NAME

MigrateMail::Mbox::Message - one message yielded by MigrateMail::Mbox

=head1 SYNOPSIS

  while (my $msg = $mbox->next) {
      next if $msg->is_pseudo;
      my $dir = $msg->in_cur ? 'cur' : 'new';
      my $info = $msg->flags;             # "FRS"
      $msg->write_to($out);               # streamed in chunks
      print $msg->size, "\n";
  }

=head1 DESCRIPTION

The metadata of a message is read from its From_ line and header block
when C<< $mbox->next >> returns it. Its bytes follow only when asked for,
once: with C<content>, C<write_to> or C<read_chunk>, while it is still the
mbox's current message.

=head1 METHODS

=head2 $n = $msg->number

1-based position in the mbox (the UW-IMAP pseudo message counts).

=head2 $off = $msg->offset

Byte offset of its From_ line in the source.

=head2 $bool = $msg->has_from

False for bytes that had no From_ line before them (garbage at the start
of a file, or after a Content-Length that did not land); they are kept
as a message of their own, with a warning.

=head2 $addr = $msg->sender

The envelope sender of the From_ line (may be empty).

=head2 $epoch = $msg->from_time, $msg->date, $msg->time

The From_ line date, the C<Date:> header, each undef when missing or
unparsable; C<time> is the first that exists.

=head2 $letters = $msg->flags

Maildir info letters in Maildir order (C<DFRST>): C<Status: R> gives S;
C<X-Status> A, F, D, T give R, F, T, D; C<X-Mozilla-Status> bits 0x1,
0x2, 0x4, 0x8 give S, R, F, T.

Writers that keep every flag in C<Status> (GNU mailutils writes
C<Status: OAFRd>; Python's mailbox reads D, F, A there too) are read as
meant: C<Status> A gives R, F gives F, D and d (mailutils' deleted)
give T. Where a message has an C<X-Status> header as well, even an empty
one, that header alone decides answered, flagged, deleted and draft (it
is where the writers that use it keep those four), and C<Status> gives
only R and O. C<X-Mozilla-Status> adds its bits either way.

=head2 $bool = $msg->in_cur

True when the message was seen by a mail client before (C<Status> O or
R) or carries a flag: it belongs in F<cur/>, not F<new/>.

=head2 $msg->uid, $msg->uidl, $msg->keywords

C<X-UID> (IMAP UID), C<X-UIDL> (POP3 UIDL) and C<X-Keywords>, or undef.

=head2 $bool = $msg->is_pseudo; $msg->uidvalidity; $msg->uid_last

True for the UW-IMAP/Pine "DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL
DATA" message (first message, C<X-IMAP> header), which is not mail.
C<uidvalidity> and C<uid_last> (the last UID given; the next is one more)
come from C<X-IMAP> or C<X-IMAPbase>.

=head2 $hex = $msg->hash

16 hex digits identifying the message across runs: a hash of its From_
line and of its header lines other than the mbox store's own, so it does
not change when only its Status headers do. Identical copies share it.

=head2 $msg->content_length, $msg->clen_used

The C<Content-Length> header, and whether it decided where the message
ends.

=head2 $bytes = $msg->content

The message's bytes (see L<MigrateMail::Mbox/What a message's bytes are>)
as one string. For a huge message prefer C<write_to>.

=head2 $n = $msg->write_to($fh)

Writes the bytes to a Perl handle in chunks (constant memory) and returns
how many were written. Croaks on a write error.

=head2 $chunk = $msg->read_chunk

The next chunk of the bytes, undef at the end.

=head2 $n = $msg->size; $msg->end_offset

The size of the bytes, and the source offset just past the message and
its separator. Known once the bytes were read; asked earlier, the bytes
are skipped (and are then no longer available).

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
