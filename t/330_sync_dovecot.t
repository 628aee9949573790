# A real Dovecot over a Maildir that a --sync pass re-flags: every
# message keeps its IMAP UID and POP3 UIDL, Dovecot shows the mbox's
# new flags, the messages deleted on the old server are gone, the
# UIDVALIDITY stays; Dovecot having moved new/ files to cur/ is no
# conflict.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use lib 't/lib';
use MMDovecot;
use MMRun qw(run_script);
use MMSync qw(msg write_mbox);

plan skip_all => 'Dovecot runs its mail processes as another user: needs root (CI runs as root)'
  if $> != 0;
-x '/usr/sbin/dovecot' or BAIL_OUT('dovecot is not installed: apt-get install dovecot-imapd dovecot-pop3d');

my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;
my ($uid, $gid) = (65534, 65534);
my $home = "$dir/home/alice";
make_path($home);
chown $uid, $gid, $home;
my $mbox = "$dir/alice.mbox";
write_mbox($mbox, map { msg($_, $_ <= 10 ? (status => 'RO') : ()) } 1 .. 20);
my ($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--maildir', "$home/Maildir", $mbox);
is($rc, 0, 'bulk pass') or diag $err;

my $dc = MMDovecot->new(dir => "$dir/dovecot", uid => $uid, gid => $gid,
			users => [ { name => 'alice', pass => 'secret', home => $home } ]);
END { $dc->stop if $dc }

# subject number => { uid, flags } over IMAP, and the UIDVALIDITY
sub imap_view {
	my $imap = $dc->imap('alice', 'secret');
	my ($st, $u) = $imap->cmd('SELECT INBOX');
	like($st, qr/^OK/, 'SELECT INBOX') or diag $dc->log;
	my ($uv) = join('', @$u) =~ /UIDVALIDITY (\d+)/;
	($st, $u) = $imap->cmd('UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
	like($st, qr/^OK/, 'UID FETCH');
	my %v;
	for my $r (@$u) {
		my ($n) = $r =~ /Subject: message (\d+)/ or next;
		my ($fuid) = $r =~ /\bUID (\d+)/;
		my ($fl) = $r =~ /FLAGS \(([^)]*)\)/;
		$v{$n} = { uid => $fuid, flags => join ' ', sort grep { $_ ne '\\Recent' } split ' ', $fl };
	}
	$imap->cmd('LOGOUT');
	return ($uv, \%v);
}

my ($uv1, $v1) = imap_view();
is(scalar keys %$v1, 20, 'Dovecot serves the 20');
is($v1->{3}{flags}, '\\Seen', 'a read one is \\Seen');
is($v1->{15}{flags}, '', 'an unread one has no flag');
my $uidl1 = $dc->pop3_uidl('alice', 'secret');
is(scalar keys %$uidl1, 20, '20 POP3 UIDLs');
opendir my $nd, "$home/Maildir/new" or die;
is(scalar(grep { !/^\./ } readdir $nd), 0, 'Dovecot moved new/ to cur/ (SELECT)');

# on the old server: 11-20 read, 2 flagged, 3 answered, 5-9 deleted
write_mbox($mbox, map { msg($_, status => 'RO', $_ == 2 ? (xstatus => 'F') : $_ == 3 ? (xstatus => 'A') : ()) }
	   grep { $_ < 5 || $_ > 9 } 1 .. 20);
($out, $err, $rc) = run_script('bin/mbox2vpopmail', '--sync', '--maildir', "$home/Maildir", $mbox);
is($rc, 0, 'the --sync pass') or diag $err;
like($out, qr/: 15 messages, 0 bytes, 0 new, 0 cur, 3 skipped, 12 re-flagged, 5 removed, 0 conflicts, 0 failed,/,
     'sync: 12 re-flagged, 5 removed, no conflict for what Dovecot moved');
is($err, '', 'nothing to warn about');

my ($uv2, $v2) = imap_view();
is($uv2, $uv1, 'the same UIDVALIDITY');
is_deeply([ sort { $a <=> $b } keys %$v2 ], [ 1 .. 4, 10 .. 20 ], '5-9 gone');
is_deeply({ map { $_ => $v2->{$_}{uid} } keys %$v2 }, { map { $_ => $v1->{$_}{uid} } keys %$v2 },
	  'every message keeps its IMAP UID');
is($v2->{2}{flags}, '\\Flagged \\Seen', '2 flagged');
is($v2->{3}{flags}, '\\Answered \\Seen', '3 answered');
is(scalar(grep { $v2->{$_}{flags} eq '\\Seen' } 1, 4, 10 .. 20), 13, 'the others \\Seen');
my $uidl2 = $dc->pop3_uidl('alice', 'secret');
my %by_uid1 = map { $v1->{$_}{uid} => $_ } keys %$v1;
# POP3 lists by UID order: the nth of the list is the nth UID
my @order1 = sort { $a <=> $b } map { $v1->{$_}{uid} } keys %$v1;
my %uidl_by_msg1 = map { $by_uid1{ $order1[$_ - 1] } => $uidl1->{$_} } keys %$uidl1;
my @order2 = sort { $a <=> $b } map { $v2->{$_}{uid} } keys %$v2;
my %by_uid2 = map { $v2->{$_}{uid} => $_ } keys %$v2;
my %uidl_by_msg2 = map { $by_uid2{ $order2[$_ - 1] } => $uidl2->{$_} } keys %$uidl2;
is_deeply(\%uidl_by_msg2, { map { $_ => $uidl_by_msg1{$_} } keys %$v2 }, 'every message keeps its POP3 UIDL');
done_testing;
