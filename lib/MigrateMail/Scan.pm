package MigrateMail::Scan;

use strict;
use warnings;

use POSIX qw(strftime);
use MigrateMail::Accounts qw(printable);
use MigrateMail::Keep ();
use MigrateMail::Mbox;

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(scan_mbox);

# List the messages of one mbox on $out; warnings and errors on $err.
# Returns a hash of counts; {error} is set if the mbox could not be read.
sub scan_mbox {
	my ($src, $out, $err, %opt) = @_;
	my %st = (messages => 0, bytes => 0, new => 0, cur => 0, pseudo => 0,
		  warnings => 0);
	my $quiet = delete $opt{summary_only};
	my $scheme = delete $opt{old_pop3};
	my $ok = eval {
		my $mbox = MigrateMail::Mbox->new($src, %opt);
		# --old-pop3: each message's old UIDL, and the forecast
		my $keep = defined $scheme ? MigrateMail::Keep->new($scheme) : undef;
		while (my $m = $mbox->next) {
			my ($uidl, $kw) = $keep ? $keep->add($m) : ();
			my $size = $m->size;
			my $where = $m->is_pseudo ? 'pseudo' : $m->in_cur ? 'cur' : 'new';
			$st{messages}++;
			$st{bytes} += $size;
			$st{$where}++;
			my $t = $m->time;
			printf {$out} "%6d %12s %10d %-6s %-5s %-20s %s\n", $m->number,
			  $m->offset, $size, $where, $m->flags || '-',
			  defined $t ? strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $t) : '-',
			  ($m->has_from ? printable($m->sender) : '(no From_ line)')
			  . ($keep ? ' UIDL ' . printable($uidl // '-') : '')
			  unless $quiet;
			if (defined $kw) {
				$st{warnings}++;
				print {$err} printable(sprintf 'WARNING: %s: message %d, offset %s: %s',
						       $mbox->name, $m->number, $m->offset, $kw), "\n";
			}
			for my $w ($mbox->warnings) {
				$st{warnings}++;
				print {$err} printable($w->{message}), "\n";
			}
		}
		for my $w ($mbox->warnings) {
			$st{warnings}++;
			print {$err} printable($w->{message}), "\n";
		}
		$st{format} = $mbox->format;
		$st{format_reason} = $mbox->format_reason;
		$st{name} = $mbox->name;
		$st{keep} = $keep->result if $keep;
		1;
	};
	if (!$ok) {
		(my $e = $@) =~ s/ at \S+ line \d+\.?\n\z//;
		chomp $e;
		print {$err} printable($e), "\n";
		$st{error} = $e;
	}
	return \%st;
}

1;
__END__

=head1 NAME

MigrateMail::Scan - list the messages of an mbox (behind mbox-scan)

=head1 SYNOPSIS

  use MigrateMail::Scan qw(scan_mbox);
  my $st = scan_mbox('/var/spool/mail/alice', \*STDOUT, \*STDERR);
  die $st->{error} if $st->{error};

=head1 FUNCTIONS

=head2 $stats = scan_mbox($path_or_fh, $out, $err, %opt)

Prints one line per message on C<$out>: number, offset, size, where it
would go (C<new>, C<cur>, or C<pseudo> for the UW-IMAP folder data),
Maildir flags, date (From_ line, else C<Date:>) in UTC, envelope sender.
Warnings and an error (lines starting with C<WARNING> and C<ERROR>) go to
C<$err>. File names and senders in these lines are shown with
L<MigrateMail::Accounts/printable>: a byte outside printable ASCII is
C<\xNN>, so no name splits a line or sends escapes to the terminal.
Options are those of L<MigrateMail::Mbox/new>, plus
C<summary_only> and C<old_pop3> (see L<MigrateMail::Keep>: each line
ends with the message's old UIDL, and C<keep> holds the forecast).
Returns counts: C<messages>, C<bytes>, C<new>, C<cur>,
C<pseudo>, C<warnings>, C<format>, C<format_reason> (why that variant,
see L<MigrateMail::Mbox/format_reason>), and C<error> if reading failed.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
