package MigrateMail::Keep;

use strict;
use warnings;

use MigrateMail ();

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(forecast_line keywords_line dovecot_hint);

my %POP3_WHY = (no_uidl => 'no old UIDL', not_a_file_name => 'UIDL not a valid file name',
		duplicate_uidl => 'duplicate UIDL',
		earlier_name => 'in the Maildir under the name an earlier version gave it');
my %IMAP_WHY = (no_uid => 'no X-UID', no_uidvalidity => 'no UIDVALIDITY (X-IMAP/X-IMAPbase)',
		uids_not_ascending => 'X-UIDs not ascending');

sub _why {
	my ($h, $names) = @_;
	my @w = map { "$h->{$_} $names->{$_}" } grep { $h->{$_} } sort keys %$names;
	return @w ? ' (' . join(', ', @w) . ')' : '';
}

# "NAME: forecast: POP3 UIDLs ... IMAP UIDs ..." for a mailbox's counts
# ($keep: the 'keep' hash of mbox_to_maildir or of a Keep object).
sub forecast_line {
	my ($name, $k) = @_;
	my $n = $k->{messages} // 0;
	my $pop = $n - ($k->{pop3_kept} // 0);
	my $imap = $n - ($k->{imap_kept} // 0);
	return sprintf '%s: forecast: POP3 UIDLs: %d of %d kept, %d will change%s '
	  . '(qmail-pop3d, Courier, Dovecot with pop3_uidl_format = %%f; Dovecot %d kept); '
	  . 'IMAP UIDs: %d of %d kept, %d will change%s', $name, $k->{pop3_kept} // 0, $n, $pop,
	  _why($k->{pop3_why} || {}, \%POP3_WHY), $k->{pop3_kept_dovecot} // 0,
	  $k->{imap_kept} // 0, $n, $imap, _why($k->{imap_why} || {}, \%IMAP_WHY);
}

# "NAME: forecast: keywords: ..." for the keyword counts of a mailbox
# (keywords_kept, keywords_dropped, keywords_messages: of a dry run or
# of mbox_to_maildir).
sub keywords_line {
	my ($name, $r) = @_;
	return sprintf '%s: forecast: keywords: %d kept on %d messages, %d dropped%s', $name,
	  $r->{keywords_kept} // 0, $r->{keywords_messages} // 0, $r->{keywords_dropped} // 0,
	  $r->{keywords_dropped} ? ' (not IMAP atoms, or beyond the 26 names a Dovecot Maildir holds)' : '';
}

# What a Dovecot admin needs for the UIDLs carried as file names.
sub dovecot_hint {
	my ($kept) = @_;
	return "NOTE: $kept messages keep their old POP3 UIDL as their file name (and in dovecot-uidlist's P "
	  . 'field where they have an IMAP UID): qmail-pop3d serves file names as they are; for Dovecot set '
	  . '"pop3_uidl_format = %f" in dovecot.conf (the P field is served whatever that says)';
}

1;
__END__

=head1 NAME

MigrateMail::Keep - what clients keep: old POP3 UIDLs and IMAP UIDs

=head1 SYNOPSIS

  use MigrateMail::Keep qw(forecast_line);
  my $k = MigrateMail::Keep->new('auto');
  while (my $m = $mbox->next) {
      my ($uidl, $warning) = $k->add($m);
  }
  print forecast_line('alice', $k->result), "\n";

=head1 DESCRIPTION

The forecast of a B<--dry-run> (and of B<mbox-scan --summary>): how many
messages of a mailbox will keep their POP3 UIDL and their IMAP UID on
the new server, and why the others will not. The count is made in C
(F<src/mm_oldpop3.c>), the same one a conversion makes.

=head1 METHODS

=head2 $k = MigrateMail::Keep->new($old_pop3)

C<$old_pop3>: C<auto>, C<uw>, C<dovecot>, C<qpopper>, C<gnu>, C<xuidl> or
C<none> (see L<mbox2vpopmail/OLD POP3 SERVERS>); croaks on another.

=head2 ($uidl, $warning) = $k->add($message)

The next message of the mbox (a L<MigrateMail::Mbox::Message>, the
pseudo message too): the UIDL the old server served for it (undef if
none is known) and the text of a warning (undef if none).

=head2 $counts = $k->result

C<messages>, C<pop3_kept> (named by the old UIDL: qmail-pop3d, Courier,
Dovecot with C<pop3_uidl_format = %f>), C<pop3_kept_dovecot>,
C<imap_kept>, C<uidl_guessed>, and why the others are not kept:
C<pop3_why> (C<no_uidl>, C<not_a_file_name>, C<duplicate_uidl>,
C<earlier_name>: in the Maildir already, under the name a version
before B<--old-pop3> gave it, and kept so) and
C<imap_why> (C<no_uid>, C<no_uidvalidity>, C<uids_not_ascending>).

=head1 FUNCTIONS

=head2 $line = forecast_line($name, $counts)

=head2 $line = keywords_line($name, $counts)

C<NAME: forecast: keywords: N kept on M messages, D dropped>, from
C<keywords_kept>, C<keywords_messages> and C<keywords_dropped> (the
occurrences carried, the messages with one, those dropped: not an IMAP
atom, or beyond the 26 names Dovecot allows per Maildir).

=head2 $line = dovecot_hint($kept)

=head1 MigrateMail::Keywords

The keyword count of the same forecast, over F<src/mm_keywords.c> (the
count a conversion makes): C<< $kw = MigrateMail::Keywords->new($dirfd) >>
(the Maildir's directory descriptor, whose F<dovecot-keywords> names are
taken as they are, or -1 for a new Maildir); C<< ($letters, $dropped) =
$kw->add($x_keywords) >> per message; C<< $kw->result >>:
C<keywords_kept>, C<keywords_dropped>, C<keywords_messages>.

=head1 LICENSE

Same terms as Perl itself.

=cut
