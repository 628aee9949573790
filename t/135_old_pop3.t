# --old-pop3: the UIDLs the old POP3 server served are the ones the new
# one serves. Against a real Dovecot (Debian's dovecot-pop3d): serving
# the mbox as the old server (Dovecot-style; X-UIDL via
# pop3_reuse_xuidl, as qpopper and GNU pop3d serve it), and serving the
# converted Maildir with its default pop3_uidl_format (the P field of
# dovecot-uidlist) and with %f (the file names qmail-pop3d serves too).
# UW ipop3d is not packaged any more: its formula (ipop3d.c) is checked
# on the UIDLs the new server serves. The forecast of --dry-run must
# count what the servers then show.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use File::Copy qw(copy);
use JSON::PP ();
use lib 't/lib';
use MMDovecot;

plan skip_all => 'Dovecot runs its mail processes as another user: needs root (CI runs as root)'
  if $> != 0;
-x '/usr/sbin/dovecot' or BAIL_OUT('dovecot is not installed: apt-get install dovecot-imapd dovecot-pop3d');

my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;
my ($uid, $gid) = (65534, 65534);
my %home;
for my $u (qw(olddc oldx uw_d uw_f dc_d dc_f x_d x_f)) {
	$home{$u} = "$dir/home/$u";
	make_path($home{$u});
	chown $uid, $gid, $home{$u};
}

sub msg {
	my ($i, @hdr) = @_;
	return sprintf("From user%d\@example.com Mon Jan %2d 12:%02d:00 2001\n", $i % 3, 1 + $i % 28, $i % 60)
	  . join('', map { "$_\n" } @hdr, "Subject: message $i", "Message-ID: <$i\@example.com>")
	  . "\nbody of $i\n\n";
}
sub spew {
	my ($path, $text) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh $text;
	close $fh;
	chown $uid, $gid, $path;
}

# The Dovecot-style spool: plain mail, numbered by Dovecot itself.
spew("$home{olddc}/inbox", join '', map { msg($_, $_ % 2 ? 'Status: RO' : ()) } 1 .. 12);
# qpopper/GNU style: X-UIDL headers, one not a file name, one twice,
# one message without.
spew("$home{oldx}/inbox", join '', map {
	msg($_, $_ == 4 ? 'X-UIDL: has:colon' : $_ == 6 ? sprintf('X-UIDL: %032x', 2 * 7919)
	    : $_ == 8 ? () : sprintf('X-UIDL: %032x', $_ * 7919))
} 1 .. 9);
# UW style: the pseudo message (X-IMAP), X-UIDs, no X-UIDL; one message
# UW never numbered
my $uw = "$dir/uw.mbox";
spew($uw, "From MAILER-DAEMON Mon Jan  1 12:00:00 2001\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
	  . "X-IMAP: 1003923649 0000000020\nStatus: RO\n\nThis text is part of the internal format of your mail folder.\n\n"
	  . join '', map { msg($_, $_ == 5 ? () : "X-UID: " . ($_ * 2), $_ % 2 ? 'Status: RO' : ()) } 1 .. 8);

my $mbox = 'mbox:~/mail:INBOX=~/inbox';
my $dc = MMDovecot->new(dir => "$dir/dovecot", uid => $uid, gid => $gid,
			conf => "mbox_lazy_writes = no\n",
			users => [
			  { name => 'olddc', pass => 'p', home => $home{olddc},
			    extra => "userdb_mail=$mbox userdb_pop3_uidl_format=%%08Xu%%08Xv" },
			  { name => 'oldx', pass => 'p', home => $home{oldx},
			    extra => "userdb_mail=$mbox userdb_pop3_reuse_xuidl=yes userdb_pop3_uidl_format=%%08Xu%%08Xv" },
			  map { { name => $_, pass => 'p', home => $home{$_},
				  /_d\z/ ? (extra => 'userdb_pop3_uidl_format=%%08Xu%%08Xv') : () } }
			  qw(uw_d uw_f dc_d dc_f x_d x_f) ]);
END { $dc->stop if $dc }
sub dlog { diag $dc->log }

sub uidls { my $u = $dc->pop3_uidl($_[0], 'p'); return [ map { $u->{$_} } sort { $a <=> $b } keys %$u ] }
# how many of the old list the new one serves (a multiset)
sub kept {
	my ($old, $new) = @_;
	my %n;
	$n{$_}++ for @$new;
	return scalar grep { ($n{$_} //= 0)-- > 0 } @$old;
}
sub convert {
	my ($user, $src, @opt) = @_;
	my $out = `'$^X' -Mblib bin/mbox2vpopmail @opt --maildir '$home{$user}/Maildir' '$src' 2>&1`;
	is($? >> 8, 0, "$user: converted") or diag $out;
	system('chown', '-R', "$uid:$gid", "$home{$user}/Maildir");
	return $out;
}
sub forecast {
	my ($src, @opt) = @_;
	my $out = `'$^X' -Mblib bin/mbox2vpopmail -n -v @opt --report '$dir/r.json' --maildir '$dir/none' '$src' 2>&1`;
	is($? >> 8, 0, "dry run of $src") or diag $out;
	open my $fh, '<', "$dir/r.json" or die;
	local $/;
	return (JSON::PP->new->decode(scalar <$fh>)->{mailboxes}[0]{keep}, $out);
}

# Dovecot-style: Dovecot on the mbox is the old server; it writes its
# UID headers into the mbox (mbox_lazy_writes = no) as it serves it.
my $old = uidls('olddc');
is(scalar @$old, 12, 'old Dovecot serves 12 UIDLs');
$dc->stop;
copy("$home{olddc}/inbox", "$dir/dc.mbox") or die;
like(do { local (@ARGV, $/) = "$dir/dc.mbox"; <> }, qr/^X-IMAPbase: (\d+)/m, 'Dovecot wrote X-IMAPbase into the mbox');
my ($uv) = do { local (@ARGV, $/) = "$dir/dc.mbox"; <> } =~ /^X-IMAPbase: (\d+)/m;
is_deeply($old, [ map { sprintf '%08x%08x', $_, $uv } 1 .. 12 ], "Dovecot's default format is printf('%08x%08x', uid, uidvalidity)");
my ($fc, $fout) = forecast("$dir/dc.mbox", '--old-pop3', 'dovecot');
like($fout, qr/forecast: POP3 UIDLs: 12 of 12 kept, 0 will change .*IMAP UIDs: 12 of 12 kept/, 'forecast: all kept');
convert($_, "$dir/dc.mbox", '--old-pop3', 'dovecot') for qw(dc_d dc_f);
$dc = MMDovecot->new(dir => "$dir/dovecot2", uid => $uid, gid => $gid, users => [
	  map { { name => $_, pass => 'p', home => $home{$_},
		  /_d\z/ ? (extra => 'userdb_pop3_uidl_format=%%08Xu%%08Xv') : () } } qw(uw_d uw_f dc_d dc_f x_d x_f) ]);
is_deeply(uidls('dc_d'), $old, 'Dovecot-style: the new Dovecot serves the old UIDLs (P field, default format)');
is_deeply(uidls('dc_f'), $old, 'Dovecot-style: ... and with pop3_uidl_format = %f (file names)');
is(kept($old, uidls('dc_f')), $fc->{pop3_kept}, 'the forecast counted what the server shows');

# UW style: the formula of UW ipop3d.c on the mbox's headers
my @uw = ((map { sprintf '%08x%08x', 1003923649, $_ * 2 } 1 .. 4), (map { sprintf '%08x%08x', 1003923649, $_ * 2 } 6 .. 8));
($fc, $fout) = forecast($uw);
like($fout, qr/WARNING: .*message 2, offset \d+: no X-UIDL header but UW-IMAP's UID headers/, 'auto guesses UW: a warning');
like($fout, qr/POP3 UIDLs: 7 of 8 kept, 1 will change \(1 no old UIDL\).*IMAP UIDs: 7 of 8 kept, 1 will change \(1 no X-UID\)/,
     'forecast: 7 of 8');
convert($_, $uw) for qw(uw_d uw_f);
for my $u (qw(uw_d uw_f)) {
	my $new = uidls($u);
	is(scalar @$new, 8, "$u: 8 messages");
	is(kept(\@uw, $new), 7, "$u: the 7 UIDLs UW served are served again");
	is(kept(\@uw, $new), $fc->{pop3_kept}, "$u: as the forecast said");
}

# X-UIDL: what Dovecot with pop3_reuse_xuidl (qpopper, GNU pop3d) served.
# The spool as qpopper leaves it has no UID headers: the file names
# alone carry the UIDLs, as for qmail-pop3d. Dovecot adds UID headers as
# it serves it: converted so, the P field keeps the rest for Dovecot.
copy("$home{oldx}/inbox", "$dir/x.mbox") or die;
$dc->stop;
$dc = MMDovecot->new(dir => "$dir/dovecot3", uid => $uid, gid => $gid, users => [
	  { name => 'oldx', pass => 'p', home => $home{oldx},
	    extra => "userdb_mail=$mbox userdb_pop3_reuse_xuidl=yes userdb_pop3_uidl_format=%%08Xu%%08Xv" } ]);
$old = uidls('oldx');
is(scalar @$old, 9, 'old server: 9 UIDLs');
$dc->stop;
copy("$home{oldx}/inbox", "$dir/x-uid.mbox") or die;
($fc, $fout) = forecast("$dir/x.mbox", '--old-pop3', 'qpopper');
like($fout, qr/POP3 UIDLs: 6 of 9 kept, 3 will change \((?=.*1 UIDL not a valid file name)(?=.*1 duplicate UIDL)(?=.*1 no old UIDL)/,
     'forecast: 6 of 9, and why');
like($fout, qr/message 4, offset \d+: its old POP3 UIDL 'has:colon' cannot be a Maildir file name/, 'the bad name: a warning');
like($fout, qr/message 6, offset \d+: its old POP3 UIDL '0+3dde' is an earlier message's/, 'the duplicate: a warning');
my ($fc2) = forecast("$dir/x-uid.mbox", '--old-pop3', 'gnu');
is($fc2->{pop3_kept_dovecot}, 8, 'with UID headers: Dovecot keeps 8 (the P field)');
convert('x_f', "$dir/x.mbox", '--old-pop3', 'qpopper');
convert('x_d', "$dir/x-uid.mbox", '--old-pop3', 'gnu');
$dc = MMDovecot->new(dir => "$dir/dovecot4", uid => $uid, gid => $gid, users => [
	  { name => 'x_f', pass => 'p', home => $home{x_f} },
	  { name => 'x_d', pass => 'p', home => $home{x_d}, extra => 'userdb_pop3_uidl_format=%%08Xu%%08Xv' } ]);
my $new = uidls('x_f');
ok(!-e "$home{x_f}/Maildir/dovecot-uidlist.mmtmp" && !grep(/ P/, do { local (@ARGV) = "$home{x_f}/Maildir/dovecot-uidlist"; <> }),
   'no X-UID: no P field written');
# the duplicate's second copy is served as a new UIDL: 6 distinct kept
is(kept($old, $new), 6, 'X-UIDL: the new Dovecot (%f) serves the 6 that can be file names, once each');
is(kept($old, $new), $fc->{pop3_kept}, '... as the forecast said');
# the 8 of the forecast, and message 8: the old server (Dovecot) served
# its own %08Xu%08Xv for it, the new one computes the same over the UIDs
# kept
is(kept($old, uidls('x_d')), $fc2->{pop3_kept_dovecot} + 1,
   'X-UIDL and X-UID: Dovecot (default format) serves the 8 of the forecast, and its own for the 9th');

done_testing;
