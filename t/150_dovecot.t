# A real Dovecot (Debian's dovecot-imapd and dovecot-pop3d) serves the
# Maildirs mbox2vpopmail wrote: every message's bytes, flags, INTERNALDATE,
# UIDVALIDITY and UIDs, POP3 UIDLs, folders and subscriptions, checked
# over IMAP and POP3 on loopback.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use Time::Local qw(timegm);
use lib 't/lib';
use MMDovecot;
use MMGen qw(gen_mbox);
use MigrateMail::Mbox;

plan skip_all => 'Dovecot runs its mail processes as another user: needs root (CI runs as root)'
  if $> != 0;
-x '/usr/sbin/dovecot' or BAIL_OUT('dovecot is not installed: apt-get install dovecot-imapd dovecot-pop3d');

my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;
my ($uid, $gid) = (65534, 65534);
my $home = "$dir/home/alice";
make_path("$home/mail/Archive/2001");
chown $uid, $gid, $home;
system('cp', 't/data/flags.mbox', "$home/mail/sent-mail") == 0 or die;
system('cp', 't/data/crlf.mbox', "$home/mail/Archive/2001/Jan.backup") == 0 or die;
gen_mbox("$home/mail/generated", n => 600);
open my $fh, '>', "$home/.mailboxlist" or die;
print $fh "mail/sent-mail\nmail/Archive/2001/Jan.backup\n";
close $fh;

my $out = `'$^X' -Mblib bin/mbox2vpopmail --maildir '$home/Maildir' --folders '$home/mail' t/data/pseudo.mbox 2>&1`;
is($? >> 8, 0, 'converted') or diag $out;

my $dc = MMDovecot->new(dir => "$dir/dovecot", uid => $uid, gid => $gid,
			users => [ { name => 'alice', pass => 'secret', home => $home } ]);
END { $dc->stop if $dc }

# What each message must look like, from our own reader (tested against
# the fixtures elsewhere): keyed by its bytes as IMAP sends them (CRLF).
sub expected {
	my ($path) = @_;
	my $mbox = MigrateMail::Mbox->new($path);
	my @m;
	while (my $m = $mbox->next) {
		next if $m->is_pseudo;
		my %e = (uid => $m->uid, uidl => $m->uidl, time => $m->from_time, flags => $m->flags,
			 keywords => $m->keywords);
		($e{bytes} = $m->content) =~ s/(?<!\r)\n/\r\n/g;
		push @m, \%e;
	}
	return @m;
}
my %IMAPFLAG = (S => '\\Seen', R => '\\Answered', F => '\\Flagged', T => '\\Deleted', D => '\\Draft');
my %MON = (Jan => 0, Feb => 1, Mar => 2, Apr => 3, May => 4, Jun => 5, Jul => 6, Aug => 7,
	   Sep => 8, Oct => 9, Nov => 10, Dec => 11);

my $imap = $dc->imap('alice', 'secret');
for my $box ([ 'INBOX', 't/data/pseudo.mbox' ], [ 'sent-mail', 't/data/flags.mbox' ],
	     [ 'Archive.2001.Jan_backup', 't/data/crlf.mbox' ], [ 'generated', "$home/mail/generated" ]) {
	my ($name, $src) = @$box;
	my @want = expected($src);
	my ($st, $u) = $imap->cmd(qq{SELECT "$name"});
	like($st, qr/^OK/, "$name: SELECT") or diag $dc->log;
	my ($exists) = join('', @$u) =~ /^\* (\d+) EXISTS/m;
	is($exists, scalar @want, "$name: message count");
	if ($name eq 'INBOX') {
		my ($uv) = join('', @$u) =~ /UIDVALIDITY (\d+)/;
		is($uv, 1003923649, 'INBOX: UIDVALIDITY from the X-IMAP header');
	}
	($st, $u) = $imap->cmd('UID FETCH 1:* (UID FLAGS INTERNALDATE BODY.PEEK[])');
	like($st, qr/^OK/, "$name: FETCH");
	# identical copies are identical for this check too
	my %by_bytes = map { ($_->{bytes} => $_) } @want;
	my ($ok_bytes, $ok_flags, $ok_date, $ok_uid) = (0, 0, 0, 0);
	my $kw_seen = 0;
	for my $r (@$u) {
		my ($fuid) = $r =~ /\bUID (\d+)/;
		my ($flags) = $r =~ /\bFLAGS \(([^)]*)\)/;
		my ($d, $mon, $y, $H, $M, $S, $zs, $zh, $zm) =
		  $r =~ /INTERNALDATE "\s?(\d+)-(\w+)-(\d+) (\d+):(\d+):(\d+) ([+-])(\d\d)(\d\d)"/;
		my ($n) = $r =~ /BODY\[\] \{(\d+)\}\r\n/;
		next unless defined $n;
		my $bytes = substr($r, $+[0], $n);
		my $w = $by_bytes{$bytes} or next;
		$ok_bytes++;
		my %got = map { $_ => 1 } grep { $_ ne '\\Recent' } split ' ', $flags;
		my %exp = map { $IMAPFLAG{$_} => 1 } split //, $w->{flags};
		# X-Keywords: keywords over IMAP (dovecot-keywords, info a-z)
		$exp{$_} = 1 for split /[ ,]+/, $w->{keywords} // '';
		$kw_seen++ if $got{'$Forwarded'};
		$ok_flags++ if join(',', sort keys %got) eq join(',', sort keys %exp);
		my $t = timegm($S, $M, $H, $d, $MON{$mon}, $y) - ($zs eq '-' ? -1 : 1) * ($zh * 3600 + $zm * 60);
		$ok_date++ if $t == $w->{time};
		$ok_uid++ if !defined $w->{uid} || $w->{uid} == $fuid;
	}
	is($ok_bytes, scalar @want, "$name: every message byte for byte (BODY.PEEK[])");
	is($ok_flags, scalar @want, "$name: flags and keywords");
	is($kw_seen, 1, 'INBOX: the keyword $Forwarded of X-Keywords shown') if $name eq 'INBOX';
	is($ok_date, scalar @want, "$name: INTERNALDATE is the From_ line date");
	is($ok_uid, scalar @want, "$name: UIDs from X-UID");
}

my ($st, $u) = $imap->cmd('LIST "" "*"');
my @list = map { /\* LIST \([^)]*\) "(.)" "?([^"\r\n]*)"?\r\n/ ? $2 : () } @$u;
ok((grep { $_ eq 'sent-mail' } @list) && (grep { $_ eq 'Archive.2001.Jan_backup' } @list),
   'LIST shows the folders') or diag explain \@list;
($st, $u) = $imap->cmd('LSUB "" "*"');
my @lsub = sort map { /\* LSUB \([^)]*\) "." "?([^"\r\n]*)"?\r\n/ ? $1 : () } @$u;
is_deeply(\@lsub, [ 'Archive.2001.Jan_backup', 'sent-mail' ], 'LSUB shows the subscriptions');
undef $imap;

my $uidl = $dc->pop3_uidl('alice', 'secret');
is_deeply([ sort values %$uidl ], [ '3b8f2c9d00000001', '3b8f2c9d00000002' ],
	  'POP3 UIDL gives the old X-UIDL values');
unlike($dc->log, qr/\b(?:Error|Panic|Fatal):/, 'nothing in the Dovecot log says Error');
$dc->stop;
done_testing;
