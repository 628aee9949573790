# A re-run over a Maildir made before --old-pop3 existed: such a
# version named every message of a UW-served spool (X-UID, no X-UIDL) by
# the H form, as --old-pop3 none still does. The default (auto) now
# names such messages by UW's UIDL; the re-run must find each one under
# its earlier name (present, not delivered a second time), say so once,
# and count it in the forecast as a UIDL that changes.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();

my $dir = tempdir(CLEANUP => 1);
my $mbox = "$dir/uw.mbox";
open my $fh, '>', $mbox or die;
for my $i (1 .. 6) {
	printf {$fh} "From u\@example.com Mon Jan  1 00:00:%02d 2001\n%sX-UID: %d\nStatus: RO\nSubject: m%d\n\nbody %d\n\n",
	  $i, $i == 1 ? "X-IMAPbase: 1100000000 0000000010\n" : '', $i, $i, $i;
}
close $fh;

sub run {
	my @args = @_;
	my $out = `$^X -Mblib bin/mbox2vpopmail @args 2>&1`;
	return ($out, $? >> 8);
}
sub files {
	my ($md) = @_;
	return sort map { s{.*/}{}r } glob("$md/new/* $md/cur/*");
}

# the earlier version's Maildir, and a fresh one for comparison
my ($out, $rc) = run('--old-pop3', 'none', '--maildir', "$dir/Old", $mbox);
is($rc, 0, 'a Maildir named as before --old-pop3') or diag $out;
my @before = files("$dir/Old");
is(scalar @before, 6, 'six files');
ok(!grep({ !/^\d+\.H[0-9a-f]{16}\./ } @before), 'all named by the H form');
($out, $rc) = run('--maildir', "$dir/Fresh", $mbox);
is($rc, 0, 'a fresh conversion with the default');
ok(!grep({ /\.H[0-9a-f]{16}\./ } files("$dir/Fresh")), 'which names them by the old UIDLs');

# the re-run with the default over the earlier Maildir
($out, $rc) = run('-v', '--report', "$dir/r.json", '--maildir', "$dir/Old", $mbox);
is($rc, 0, 're-run with --old-pop3 auto') or diag $out;
like($out, qr/: 6 messages, 0 bytes, 0 new, 0 cur, 6 skipped, /, 'every message present, none delivered again');
is_deeply([ files("$dir/Old") ], \@before, 'the Maildir as it was');
my @w = $out =~ /^(WARNING: .*under the name an earlier version gave it.*)$/mg;
is(scalar @w, 1, 'said once') or diag $out;
like($w[0] // '', qr/message 1, offset 0: message 1 is in the Maildir under the name an earlier version gave it, not under the old server's UIDL 4190ab0000000001: kept there/,
     'naming the message and the UIDL it does not get');
my $r = JSON::PP->new->decode(do { local (@ARGV, $/) = "$dir/r.json"; <> });
my ($k) = map { $_->{keep} } @{ $r->{mailboxes} || [ $r ] };
is($k->{pop3_why}{earlier_name}, 6, 'the forecast counts them as changed UIDLs') or diag explain $r;
is($k->{pop3_kept}, 0, 'and none as kept');

# a message added on the old server since: named by its old UIDL
open $fh, '>>', $mbox or die;
print {$fh} "From u\@example.com Mon Jan  1 00:01:00 2001\nX-UID: 7\nSubject: m7\n\nbody 7\n\n";
close $fh;
($out, $rc) = run('--maildir', "$dir/Old", $mbox);
like($out, qr/: 7 messages, \d+ bytes, 0 new, 1 cur, 6 skipped, /, 'the new message delivered (to cur/: it has a UID), the others present') or diag $out;
ok(grep({ /^4190ab0000000007[:,]/ } files("$dir/Old")), 'under its old UIDL');
done_testing;
