# End to end against a REAL vpopmail and qmail, as built and installed by
# ../shared/vendor/build-vpopmail.sh (make test-vpopmail, .ci/run):
# MM_REAL_VPOPMAIL names the version installed (5.4.33 or 5.6.13).
# sendmail-list on passwd/shadow and master.passwd files with every hash
# scheme and hostile names -> vadddomain -> sh -x makeusers -> logins
# through vchkpw; mbox2vpopmail in classic and batch mode into the
# directories vuserinfo names; a real qmail-pop3d session; a message
# delivered afterwards through qmail-local and vdelivermail, and
# vpopmail's own recount of the quota. Wipes the domains it uses.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use File::Temp qw(tempdir);
use MMRun qw(run_script slurp spew list_lines);
use JSON::PP ();
use MigrateMail qw(password_hash);

my $V = $ENV{MM_REAL_VPOPMAIL} // '';
my $SERIES = $V =~ /\A5\.4\./ ? '5.4' : $V =~ /\A5\.6\./ ? '5.6' : undef;
unless ($SERIES) {
	fail('MM_REAL_VPOPMAIL must name the vpopmail installed by '
	     . 'build-vpopmail.sh (5.4.33 or 5.6.13): run make test-vpopmail');
	done_testing;
	exit;
}
my $BIN = '/home/vpopmail/bin';
my $QMAIL = '/var/qmail/bin';
$ENV{PATH} = "$BIN:$ENV{PATH}";
is($> , 0, 'run as root (vpopmail is)');
like(`vuserinfo -v 2>&1`, qr/version: \Q$V\E/, "vpopmail $V is installed");
ok(-x "$QMAIL/$_", "qmail's $_ is there") for qw(qmail-local qmail-popup qmail-pop3d);

my $DOM = 'e2e.example';
my $tmp = tempdir(CLEANUP => 1);
chmod 0700, $tmp;
system("vdeldomain $DOM >/dev/null 2>&1");

# --- accounts: one per hash scheme, and hostile ones ---
my %PW;           # name => password, for the accounts that must log in
my @schemes = ([ md5 => '$1$' ], [ sha256 => '$5$', 12345 ], [ sha512 => '$6$', 8000 ],
	       [ yescrypt => '$y$' ], [ gost => '$gy$' ], [ scrypt => '$7$' ],
	       [ bcrypt => '$2b$', 5 ], [ des => '' ]);
my (@passwd, @shadow, @master);
my $uid = 5000;
sub account {
	my ($name, $hash, $gecos) = @_;
	push @passwd, "$name:x:$uid:100:$gecos:/home/$name:/bin/sh";
	push @shadow, "$name:$hash:19700:0:99999:7:::";
	push @master, "$name:$hash:$uid:100::0:0:$gecos:/home/$name:/bin/sh";
	$uid++;
}
for my $s (@schemes) {
	my ($tag, $prefix, $cost) = @$s;
	my $pw = "pw $tag 1!";
	my $h = password_hash($pw, method => $prefix, defined $cost ? (cost => $cost) : ());
	like($h, $tag eq 'des' ? qr/\A[.\/0-9A-Za-z]{13}\z/ : qr/\A\Q$prefix\E/, "$tag hash made");
	like($h, qr/rounds=$cost\$/, "$tag hash with rounds") if $tag =~ /sha/;
	account("u-$tag", $h, "User \u$tag,Room 1");
	$PW{"u-$tag"} = $pw;
}
my $good = password_hash('pw good 2@', method => '$6$');
# 54 bytes; byte 48 is the first half of an e-acute
my $long_gecos = "J\xc3\xbcrgen " . ('Lang' x 9) . "abc\xc3\xa9 Lang";
account($_, $good, 'Someone') for qw(mike over a.b-c_d);
$PW{$_} = 'pw good 2@' for qw(mike over a.b-c_d);
account('longname', $good, $long_gecos);
$PW{longname} = 'pw good 2@';
my $n33 = 'n' x 33;            # 5.4 refuses it, 5.6 takes it
account($n33, $good, 'Long');
$PW{$n33} = 'pw good 2@' if $SERIES eq '5.6';
# never listed, whatever the version
my @REFUSED = ('Mike', 'x', 'z' x 65, "o'brien", '$(touch PWNED)', 'vpasswd', '.hidden',
	       'semi;colon');
account($_, $good, 'Bad') for @REFUSED;
account('locked', '!' . $good, 'Locked');
spew("$tmp/passwd", join('', map { "$_\n" } @passwd));
spew("$tmp/shadow", join('', map { "$_\n" } @shadow));
spew("$tmp/master.passwd", join('', map { "$_\n" } @master));

my @LISTED = sort keys %PW;
for my $src ([ '--passwd', "$tmp/passwd", '--shadow', "$tmp/shadow" ],
	     [ '--master-passwd', "$tmp/master.passwd" ]) {
	my ($out, $err, $st) = run_script('bin/sendmail-list', '--domain', $DOM, '--gecos',
					  '--quota', '100000000', '--vpopmail', $SERIES, @$src);
	is($st, 1, "$src->[0]: exit 1 (hostile names refused: sendmail-list's ERROR status)");
	my @names = sort map { /(\S+)\@\Q$DOM\E\z/ ? $1 : () } list_lines($out);
	is_deeply(\@names, \@LISTED, "$src->[0]: exactly the accounts vpopmail $SERIES takes");
	my @errs = grep { /^ERROR/ } split /\n/, $err;
	is(scalar @errs, @REFUSED + ($SERIES eq '5.4' ? 1 : 0), "$src->[0]: one ERROR per refused account")
	  or diag($err);
	like($err, qr/^ERROR: account '\Q$n33\E' .*longer than 32 characters/m, '33 characters: ERROR on 5.4')
	  if $SERIES eq '5.4';
	if ($SERIES eq '5.4') {
		like($err, qr/^WARNING: account 'longname' .*full name shortened to 48 bytes/m,
		     'a 54-byte full name is shortened for 5.4');
	} else {
		unlike($err, qr/longname/, 'a 54-byte full name fits 5.6');
	}
	spew("$tmp/makeusers", $out) if $src->[0] eq '--passwd';
}
like(slurp("$tmp/makeusers"), qr/\A# made by sendmail-list .* for vpopmail \Q$SERIES\E\n/,
     'makeusers: the header names the limits');

# --- the new server ---
{
	local $ENV{PATH} = '/usr/bin:/bin';
	my $o = `sh $tmp/makeusers 2>&1`;
	isnt($? >> 8, 0, 'makeusers stops when vpopmail is not on PATH');
	like($o, qr/\AERROR: vadduser not found: put vpopmail's bin directory/, '... saying so');
}
is(system("vadddomain $DOM 'Pm-e2e-123' >/dev/null"), 0, 'vadddomain');
my $trace = `sh -x $tmp/makeusers 2>&1`;
is($? >> 8, 0, 'sh -x makeusers: exit 0');
is_deeply([ grep { /error/i } split /\n/, $trace ], [], 'sh -x makeusers: no error line');
is(scalar(() = $trace =~ /^\+ vadduser /mg), scalar @LISTED, 'one vadduser per listed account');
ok(!-e 'PWNED', 'nothing injected');

# A program's output (both streams) and exit status, no shell.
sub cmd {
	my (@argv) = @_;
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if (!$pid) {
		open STDERR, '>&', \*STDOUT;
		exec { $argv[0] } @argv or exit 127;
	}
	my $o = do { local $/; <$fh> } // '';
	close $fh;
	return ($o, $? >> 8);
}

sub login {
	my ($addr, $pw) = @_;
	open my $p, '|-', "vchkpw /bin/true 3<&0" or die;
	print $p "$addr\0$pw\0\0";
	close $p;
	return $? == 0;
}
for my $u (@LISTED) {
	ok(login("$u\@$DOM", $PW{$u}), "$u logs in with the old password");
	# DES looks at 8 characters: change the first
	ok(!login("$u\@$DOM", "x$PW{$u}"), "$u: a wrong password is refused");
}
my @created = sort grep { !/\Apostmaster\z/ }
  map { (split /:/)[0] } split /\n/, slurp("/home/vpopmail/domains/$DOM/vpasswd");
is_deeply(\@created, \@LISTED, 'vpopmail has exactly the listed accounts');
for my $u (grep { !$PW{$_} } map { lc } @REFUSED, 'locked', $n33) {
	my ($o, $rc) = cmd('vuserinfo', '-d', "$u\@$DOM");
	isnt($rc, 0, "no account '$u'") or diag($o);
}
my ($gecos) = cmd('vuserinfo', '-c', "longname\@$DOM");
chomp $gecos;
is($gecos, substr($long_gecos, 0, $SERIES eq '5.4' ? 47 : 54), 'the full name as vpopmail keeps it');

# --- mail ---
# An mbox: X-UIDL on every message, read and unread, one deleted (T)
sub mbox {
	my ($who, $n, $pad) = @_;
	my $s = '';
	for my $i (1 .. $n) {
		my $flags = $i % 3 == 0 ? "Status: RO\nX-Status: D\n" : $i % 2 ? "Status: RO\n" : '';
		$s .= "From sender\@old.example Mon Nov  2 10:0$i:00 2026\n"
		  . "From: sender\@old.example\nTo: $who\nSubject: message $i\n"
		  . "X-UIDL: UID$i-$who\n$flags\n" . "line $i\n" x $pad . "\n";
	}
	return $s;
}
sub uidls { return [ sort $_[0] =~ /^X-UIDL: (\S+)$/mg ] }
sub maildir_of { chomp(my $d = `vuserinfo -d '$_[0]'`); return "$d/Maildir" }

my $classic = "$tmp/u-sha512.mbox";
spew($classic, mbox('u-sha512', 6, 3));
my ($out, $err, $st) = run_script('bin/mbox2vpopmail', "u-sha512\@$DOM", $classic);
is($st, 0, 'classic mbox2vpopmail: exit 0') or diag($err);
like($out, qr/^u-sha512\@\Q$DOM\E: 6 messages, \d+ bytes, 2 new, 4 cur, 0 skipped, 0 failed/m,
     'classic: the summary line');
my @classic = map { glob(maildir_of("u-sha512\@$DOM") . "/$_/*") } qw(new cur);
is(scalar @classic, 6, "classic: the six messages in the Maildir vuserinfo -d names");

my $spool = "$tmp/spool";
mkdir $spool, 0700 or die;
spew("$spool/u-md5", mbox('u-md5', 4, 2));
spew("$spool/mike", mbox('mike', 3, 2));
spew("$spool/Mike", mbox('Mike', 5, 2));
spew("$spool/over", mbox('over', 5, 200));     # about 8 KB, over a 2,000-byte quota
is(system("vmoduser -q 2000 over\@$DOM >/dev/null"), 0, 'quota of over: 2000 bytes');
($out, $err, $st) = run_script('bin/mbox2vpopmail', '--dir', $spool, '--domain', $DOM,
			       '--report', "$tmp/report.json");
is($st, 3, 'batch: exit 3 (the Mike/mike collision)');
for my $f (qw(Mike mike)) {
	like($err, qr/^ERROR: \Q$spool\E\/$f: the spool files 'Mike', 'mike' would all go to mike\@\Q$DOM\E/m,
	     "batch: $f is an ERROR");
}
my @mike = map { glob(maildir_of("mike\@$DOM") . "/$_/*") } qw(new cur);
is(scalar @mike, 0, 'nothing delivered for Mike or mike');
like($out, qr/^u-md5\@\Q$DOM\E: 4 messages, .* 0 failed/m, 'batch: u-md5 converted');
my ($over_size) = $err =~ /^WARNING: over\@\Q$DOM\E: the Maildir holds (\d+) bytes, over the quota of 2000 bytes/m;
ok($over_size && $over_size > 2000, 'an over-quota Maildir is a WARNING with user, size and quota') or diag($err);
my $report = JSON::PP->new->decode(slurp("$tmp/report.json"));
my ($ro) = grep { ($_->{user} // '') eq "over\@$DOM" } @{ $report->{mailboxes} };
is_deeply([ $ro->{quota}, $ro->{maildir_size} ], [ 2000, $over_size ], 'the report carries quota and size');

# ownership and modes of everything delivered
for my $u ("u-sha512\@$DOM", "u-md5\@$DOM", "over\@$DOM") {
	my $md = maildir_of($u);
	my @f = (glob("$md/new/*"), glob("$md/cur/*"), "$md/maildirsize");
	my @bad = grep { my @s = stat; $s[4] != 89 || $s[5] != 89 || ($s[2] & 07777) != 0600 } @f;
	is_deeply(\@bad, [], "$u: files vpopmail:vchkpw 0600");
	my @bd = grep { my @s = stat; $s[4] != 89 || ($s[2] & 07777) != 0700 } map { "$md/$_" } qw(new cur tmp);
	is_deeply(\@bd, [], "$u: new, cur, tmp vpopmail's, 0700");
}

# a real POP3 session: the UIDLs are the old X-UIDLs
sub pop3_uidls {
	my ($addr, $pw) = @_;
	my $o = `(printf 'USER $addr\\r\\nPASS $pw\\r\\n'; sleep 1; printf 'UIDL\\r\\nQUIT\\r\\n') | TCPREMOTEIP=127.0.0.1 $QMAIL/qmail-popup e2e.host $BIN/vchkpw $QMAIL/qmail-pop3d Maildir 2>&1`;
	my ($list) = $o =~ /\+OK\s*\r?\n((?:\d+ \S+\r?\n)*)\.\r?\n/;
	return ($o, [ sort map { (split)[1] } split /\r?\n/, $list // '' ]);
}
my ($pop, $got) = pop3_uidls("u-sha512\@$DOM", $PW{'u-sha512'});
is_deeply($got, uidls(slurp($classic)), 'qmail-pop3d serves the old X-UIDLs (classic)') or diag($pop);
($pop, $got) = pop3_uidls("u-md5\@$DOM", $PW{'u-md5'});
is_deeply($got, uidls(slurp("$spool/u-md5")), 'qmail-pop3d serves the old X-UIDLs (batch)') or diag($pop);

# A UW-IMAP-served spool: the pseudo message (X-IMAP), X-UIDs, no X-UIDL;
# UW ipop3d served printf("%08lx%08lx", UIDVALIDITY, UID). The forecast
# of --dry-run says what qmail-pop3d then serves.
my $uwbox = "$tmp/u-sha256.mbox";
spew($uwbox, "From MAILER-DAEMON Mon Nov  2 10:00:00 2026\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
       . "X-IMAP: 1761998400 0000000030\nStatus: RO\n\nThis text is part of the internal format of your mail folder.\n\n"
       . join '', map { "From sender\@old.example Mon Nov  2 10:0$_:00 2026\nSubject: uw $_\n"
			  . ($_ == 4 ? '' : 'X-UID: ' . ($_ * 3) . "\n") . ($_ % 2 ? "Status: RO\n" : '') . "\nline $_\n\n" } 1 .. 6);
($out, $err, $st) = run_script('bin/mbox2vpopmail', '--dry-run', "u-sha256\@$DOM", $uwbox);
like($out, qr/forecast: POP3 UIDLs: 5 of 6 kept, 1 will change \(1 no old UIDL\)/, 'UW spool: the forecast') or diag($out, $err);
($out, $err, $st) = run_script('bin/mbox2vpopmail', "u-sha256\@$DOM", $uwbox);
is($st, 0, 'UW spool converted') or diag($err);
($pop, $got) = pop3_uidls("u-sha256\@$DOM", $PW{'u-sha256'});
my %served = map { $_ => 1 } @$got;
my @uw = map { sprintf '%08x%08x', 1761998400, $_ * 3 } 1 .. 3, 5, 6;
is(scalar(@$got), 6, 'qmail-pop3d lists the 6 messages') or diag($pop);
is_deeply([ grep { $served{$_} } @uw ], \@uw, "qmail-pop3d serves the 5 UIDLs UW ipop3d served, as forecast") or diag($pop);

# a message delivered afterwards by qmail-local and vdelivermail, then
# vpopmail's own recount (it recounts when maildirsize is missing)
sub deliver {
	my ($user, $text) = @_;
	spew("$tmp/msg", $text);
	return system("setpriv --reuid=89 --regid=89 --clear-groups $QMAIL/qmail-local -- vpopmail "
		      . "/home/vpopmail/domains/$DOM $DOM-$user - $user $DOM sender\@old.example ./Maildir/ "
		      . "< $tmp/msg >/dev/null") >> 8;
}
sub quota_lines { return [ split /\n/, slurp("$_[0]/maildirsize") ] }
sub usage_of {
	my ($lines) = @_;
	my ($b, $c) = (0, 0);
	for (@$lines[1 .. $#$lines]) { my ($x, $y) = split; $b += $x; $c += $y }
	return "$b $c";
}
my $md = maildir_of("u-sha512\@$DOM");
my %pre = map { $_ => 1 } glob("$md/new/*"), glob("$md/cur/*");
@classic = keys %pre;
is(deliver('u-sha512', "From: a\@b.example\nSubject: after\n\nafter the migration\n"), 0,
   'a later delivery through qmail-local and vdelivermail');
my %before = map { $_ => 1 } @classic, glob("$md/cur/*");
my @after = grep { !$before{$_} } glob("$md/new/*"), glob("$md/cur/*");
is(scalar @after, 1, '... lands in the Maildir') or diag(`find $md`);
my $ours = usage_of(quota_lines($md));
unlink "$md/maildirsize" or die;
is(deliver('u-sha512', "From: a\@b.example\nSubject: recount\n\nx\n"), 0, 'another delivery');
my $re = quota_lines($md);
is($re->[0], '100000000S', "vpopmail rewrote maildirsize with the user's quota");
like($ours, qr/\A\d+ 5\z/, 'our count: 5 messages (the 6 migrated but the 2 flagged T, and the later one)');
is(join(' ', split ' ', $re->[1] // ''), $ours, "maildirsize equals vpopmail's own recount ($ours; the T-flagged left out)");

system("vdeldomain $DOM >/dev/null 2>&1");
done_testing;
