package MMSync;
# Mailboxes that change between two passes, and Maildirs read back as
# what a user sees, for the sync tests (t/3xx_sync*.t).
use strict;
use warnings;
use Exporter 'import';

use MMRun qw(slurp spew);

our @EXPORT_OK = qw(msg mbox_text uid_mbox write_mbox ours state_lines);

# One message: { id => N, status => 'RO', xstatus => 'F' } (id names it).
sub msg {
	my ($id, %h) = @_;
	return { id => $id, %h };
}

# The mbox of a list of messages, in order: each with its own From_ line
# date, Message-ID and body, and its Status / X-Status when given.
sub mbox_text {
	my (@msgs) = @_;
	my $t = '';
	for my $m (@msgs) {
		my $n = $m->{id};
		my $day = 1 + $n % 28;
		$t .= sprintf "From user%d\@old.example Mon Mar %2d 10:%02d:%02d 2003\n", $n, $day,
		  $n % 60, ($n * 7) % 60;
		$t .= "From: User $n <user$n\@old.example>\nTo: alice\@example.com\n"
		  . "Subject: message $n\nMessage-ID: <$n\@old.example>\n";
		$t .= "Status: $m->{status}\n" if defined $m->{status};
		$t .= "X-Status: $m->{xstatus}\n" if defined $m->{xstatus};
		$t .= "\nBody of message $n.\n" . ("line $n\n" x ($n % 5)) . "\n";
	}
	return $t;
}

# The mbox of messages (ids), each X-UID its id, X-IMAPbase in the first
# with UIDVALIDITY $validity and the last UID $last, as UW writes them.
sub uid_mbox {
	my ($validity, $last, @ids) = @_;
	my $t = mbox_text(map { msg($_) } @ids);
	my $first = 1;
	$t =~ s/^(Message-ID: <(\d+)\@old\.example>\n)/$1 . ($first-- > 0 ? sprintf("X-IMAPbase: %d %010d\n", $validity, $last) : '') . "X-UID: $2\n"/mge;
	return $t;
}

sub write_mbox {
	my ($path, @msgs) = @_;
	return spew($path, mbox_text(@msgs));
}

# The files of a Maildir as "new/NAME" or "cur/NAME" => bytes, but those
# whose name matches $skip (foreign ones).
sub ours {
	my ($md, $skip) = @_;
	my %f;
	for my $sub (qw(new cur)) {
		opendir my $d, "$md/$sub" or die "$md/$sub: $!";
		for my $n (grep { !/^\./ } readdir $d) {
			next if defined $skip && $n =~ $skip;
			$f{"$sub/$n"} = slurp("$md/$sub/$n");
		}
	}
	return \%f;
}

# The lines of the state file, but its first.
sub state_lines {
	my ($md) = @_;
	my @l = split /\n/, slurp("$md/migratemail-state");
	shift @l;
	return @l;
}

1;
