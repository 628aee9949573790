package MMCourier;
# The real Courier-IMAP of Debian (courier-imap conflicts with
# dovecot-imapd as a package, so it is not installed): its .debs are
# fetched with apt-get download and unpacked with dpkg -x into a cache
# directory ($MM_COURIER_ROOT, default /var/cache/migratemail/courier;
# .ci/run fills it), and its imapd is run pre-authenticated on a pipe
# with MAILDIR set, as imaplogin would start it after a login.
use strict;
use warnings;
use File::Temp qw(tempdir);

our @DEBS = qw(courier-imap courier-pop courier-base courier-authlib libcourier-unicode4 libgamin0 libidn12);

sub root {
	my $root = $ENV{MM_COURIER_ROOT} // '/var/cache/migratemail/courier';
	my $pop3d = "$root/usr/lib/courier/courier/courierpop3d";
	return $root if -x "$root/usr/bin/imapd" && -x $pop3d;
	my $dl = tempdir(CLEANUP => 1);
	chmod 0755, $dl;   # apt's sandbox user writes there
	system("cd '$dl' && apt-get download @DEBS >/dev/null 2>&1") == 0
	  or die "apt-get download @DEBS failed (on Debian 12: apt-get update first)\n";
	system('mkdir', '-p', $root) == 0 or die "mkdir $root failed\n";
	for my $deb (glob "$dl/*.deb") {
		system('dpkg', '-x', $deb, $root) == 0 or die "dpkg -x $deb failed\n";
	}
	-x "$root/usr/bin/imapd" or die "no imapd in $root after unpacking\n";
	-x $pop3d or die "no courierpop3d in $root after unpacking\n";
	return $root;
}

# Run IMAP commands (without tags) against the Maildir $md as user
# $uid:$gid; returns the whole transcript.
sub imap {
	my ($md, $uid, $gid, @cmds) = @_;
	my $root = root();
	my $in = join '', map { "a$_ $cmds[$_]\r\n" } 0 .. $#cmds;
	$in .= "z LOGOUT\r\n";
	my $tmp = tempdir(CLEANUP => 1);
	open my $fh, '>', "$tmp/in" or die;
	print $fh $in;
	close $fh;
	chmod 0644, "$tmp/in";
	chmod 0755, $tmp;
	my $ld = "$root/usr/lib/x86_64-linux-gnu:$root/usr/lib";
	my $out = `cd '$md' && setpriv --reuid=$uid --regid=$gid --clear-groups env -i LD_LIBRARY_PATH='$ld' IMAP_KEYWORDS=1 AUTHENTICATED=test MAILDIR=. HOME='$md' '$root/usr/bin/imapd' . < '$tmp/in' 2>/dev/null`;
	return $out;
}

# Courier's pop3d (courier-pop's courierpop3d, what pop3login starts
# after a login) on the Maildir $md as user $uid:$gid: the UIDL list,
# { number => uidl }, and the LIST sizes, { number => octets }.
sub pop3_uidl {
	my ($md, $uid, $gid) = @_;
	my $root = root();
	my $tmp = tempdir(CLEANUP => 1);
	open my $fh, '>', "$tmp/in" or die;
	print $fh "UIDL\r\nLIST\r\nQUIT\r\n";
	close $fh;
	chmod 0644, "$tmp/in";
	chmod 0755, $tmp;
	my $ld = "$root/usr/lib/x86_64-linux-gnu:$root/usr/lib";
	my $out = `cd '$md' && setpriv --reuid=$uid --regid=$gid --clear-groups env -i LD_LIBRARY_PATH='$ld' AUTHENTICATED=test MAILDIR=. HOME='$md' '$root/usr/lib/courier/courier/courierpop3d' . < '$tmp/in' 2>/dev/null`;
	my ($uidl, $list) = $out =~ /\A\+OK[^\n]*\n\+OK\r\n(.*?)^\.\r\n\+OK[^\n]*\n(.*?)^\.\r\n/ms
	  or die "courierpop3d: unexpected answer:\n$out";
	return ({ $uidl =~ /^(\d+) (\S+)\r$/mg }, { $list =~ /^(\d+) (\d+)\r$/mg });
}

1;
