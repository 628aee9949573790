# Courier-IMAP keeps every UID of a migrated mailbox, read or unread, and
# shows the keywords of X-Keywords (courierimapkeywords/BASE): the
# real imapd of Debian's courier-imap (t/lib/MMCourier.pm) serves the
# converted Maildir with the UIDVALIDITY and X-UIDs of the mbox. It drops
# the courierimapuiddb entries of new/ when it opens a mailbox (only
# cur/ is looked up, imapscanclient.c), so messages whose UID is kept
# go to cur/ without S: Courier and Dovecot show them unread. Then a
# UW-IMAP home (--home): ~/mbox's UIDs, the spool after them, the
# folders subscribed from .mailboxlist, and the POP3 UIDLs (Dovecot's,
# and Courier's pop3d: courierpop3dsizelist).
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use lib 't/lib';
use MMCourier;
use MMDovecot;

plan skip_all => 'runs the servers as another user: needs root (CI runs as root)' if $> != 0;
my $root = eval { MMCourier::root() } or BAIL_OUT("Courier-IMAP: $@");
-x '/usr/sbin/dovecot' or BAIL_OUT('dovecot is not installed: apt-get install dovecot-imapd dovecot-pop3d');

my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;
my ($uid, $gid) = (65534, 65534);

# UW style: the pseudo message, X-UIDs with gaps, read and unread, one
# message without X-UID (the server numbers it)
my %want;   # subject => [ uid, seen ]
my $mbox = "From MAILER-DAEMON Mon Jan  1 12:00:00 2001\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
  . "X-IMAP: 1003923649 0000000100\nStatus: RO\n\nThis text is part of the internal format of your mail folder.\n\n";
for my $i (1 .. 30) {
	my $read = $i % 3 == 0;
	my $xuid = $i == 17 ? undef : $i * 3;
	$want{"m$i"} = [ $xuid, $read ];
	# keywords on some, one of them on an unread message without X-UID
	my $kw = $i % 4 == 0 ? '$Forwarded Junk' : $i == 17 ? 'Work' : $i % 7 == 0 ? 'Junk' : undef;
	$want{"m$i"}[2] = join ' ', sort split ' ', $kw // '';
	$mbox .= sprintf("From a\@example.com Mon Jan %2d 12:00:00 2001\n", 1 + $i % 28) . "Subject: m$i\n"
	  . (defined $kw ? "X-Keywords: $kw\n" : '')
	  . (defined $xuid ? "X-UID: $xuid\n" : '') . ($read ? "Status: RO\n" : $i % 5 == 0 ? "Status: O\n" : '')
	  . "\nbody $i\n\n";
}
open my $fh, '>', "$dir/uw.mbox" or die;
print $fh $mbox;
close $fh;

sub convert {
	my ($home) = @_;
	make_path($home);
	my $out = `'$^X' -Mblib bin/mbox2vpopmail --maildir '$home/Maildir' '$dir/uw.mbox' 2>&1`;
	is($? >> 8, 0, 'converted') or diag $out;
	system('chown', '-R', "$uid:$gid", $home);
	return $out;
}
my $out = convert("$dir/c");
like($out, qr/31 messages, \d+ bytes, 0 new, 30 cur, 1 skipped/,
     'the messages with a UID kept go to cur/, unread ones too, and so does the one with a keyword');
my $dry = `'$^X' -Mblib bin/mbox2vpopmail -n --maildir '$dir/none' '$dir/uw.mbox' 2>&1`;
like($dry, qr/31 messages, \d+ bytes, 0 new, 30 cur, 1 skipped/, '--dry-run places them the same');
is(scalar(grep { /:2,\z/ } glob "$dir/c/Maildir/cur/*"), 12, 'the unread ones without keywords in cur/ have no flags (":2,")');

sub check {
	my ($what, $t, $box_uv) = @_;
	my ($uv) = $t =~ /UIDVALIDITY (\d+)/;
	is($uv, $box_uv, "$what: UIDVALIDITY of the X-IMAP header");
	my (%got, $n);
	for my $r (split /^(?=\* \d+ FETCH )/m, $t) {
		my ($f, $subj) = $r =~ /\A\* \d+ FETCH \((.*?)\r?\n.*?Subject: (m\d+)/s or next;
		my ($u) = $f =~ /UID (\d+)/;
		my ($flags) = $f =~ /FLAGS \(([^)]*)\)/;
		$got{$subj} = [ $u, ($flags // '') =~ /\\Seen/ ? 1 : 0,
				join ' ', sort grep { !/^\\/ } split ' ', $flags // '' ];
		$n++;
	}
	is($n, 30, "$what: 30 messages");
	my @uid_bad = grep { defined $want{$_}[0] && ($got{$_}[0] // 0) != $want{$_}[0] } sort keys %want;
	is_deeply(\@uid_bad, [], "$what: every X-UID kept, read or unread") or diag explain \%got;
	ok($got{m17}[0] > 100, "$what: the message without X-UID numbered after the last UID");
	my @seen_bad = grep { ($got{$_}[1] // -1) != ($want{$_}[1] ? 1 : 0) } sort keys %want;
	is_deeply(\@seen_bad, [], "$what: read ones \\Seen, unread ones not");
	my @kw_bad = grep { ($got{$_}[2] // '?') ne $want{$_}[2] } sort keys %want;
	is_deeply(\@kw_bad, [], "$what: the keywords of X-Keywords") or diag explain [ map { [ $_, $got{$_}[2] ] } @kw_bad ];
}

my @cmds = ('SELECT INBOX', 'FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
my $t = MMCourier::imap("$dir/c/Maildir", $uid, $gid, @cmds);
like($t, qr/^a0 OK/m, 'Courier: SELECT') or diag $t;
check('Courier', $t, 1003923649);
# a second session: nothing renumbered once Courier has moved new/
check('Courier, second session', MMCourier::imap("$dir/c/Maildir", $uid, $gid, @cmds), 1003923649);

# the same Maildir layout on Dovecot: unread stays unread
convert("$dir/d");
my $dc = MMDovecot->new(dir => "$dir/dovecot", uid => $uid, gid => $gid,
			users => [ { name => 'd', pass => 'p', home => "$dir/d" } ]);
END { $dc->stop if $dc }
my $imap = $dc->imap('d', 'p');
my ($st, $u) = $imap->cmd('SELECT INBOX');
like($st, qr/^OK/, 'Dovecot: SELECT');
my $sel = join '', @$u;
($st, $u) = $imap->cmd($cmds[1]);
check('Dovecot', $sel . join('', @$u), 1003923649);
undef $imap;
$dc->stop;

# A UW-IMAP home (--home, t/145_uw_home.t): ~/mbox numbered by UW
# (X-IMAP, X-UID), the spool's newer mail never numbered, ~/mail's
# folders and .mailboxlist with UW's mail/ and ~/mail/ prefixes. Both
# servers must show ~/mbox's UIDVALIDITY and UIDs, the spool's mail
# after them, the folders subscribed; Dovecot's POP3 UW ipop3d's UIDLs.
sub spew {
	my ($path, @text) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh @text;
	close $fh;
}
sub umsg {
	my ($subj, $day, @h) = @_;
	return sprintf("From a\@example.com Mon Jan %2d 12:00:00 2001\n", $day) . join('', map { "$_\n" } @h)
	  . "Subject: $subj\n\nbody of $subj\n\n";
}
my $h = "$dir/uwhome";
make_path("$h/mail/Archive");
spew("$h/mbox", "From MAILER-DAEMON Mon Jan  1 12:00:00 2001\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
       . "X-IMAP: 1003923649 0000000020\nStatus: RO\n\nThis text is part of the internal format of your mail folder.\n\n",
     map { umsg("u$_", $_, 'X-UID: ' . ($_ * 2), $_ % 2 ? 'Status: RO' : ()) } 1 .. 6);
spew("$dir/uwspool", map { umsg("s$_", $_) } 7 .. 8);
spew("$h/mail/sent-mail", map { umsg("f$_", $_, 'Status: RO') } 1 .. 2);
spew("$h/mail/Archive/old", umsg('a1', 3, 'Status: RO'));
spew("$h/.mailboxlist", "mail/sent-mail\n~/mail/Archive/old\nINBOX\n");
for my $who (qw(uwc uwd uwf)) {
	make_path("$dir/$who");
	my $o = `'$^X' -Mblib bin/mbox2vpopmail --maildir '$dir/$who/Maildir' --home '$h' '$dir/uwspool' 2>&1`;
	is($? >> 8, 0, "UW home into $who: converted") or diag $o;
	system('chown', '-R', "$uid:$gid", "$dir/$who");
}
my %uwant = ((map { ("u$_" => $_ * 2) } 1 .. 6));
sub uw_check {
	my ($what, $t) = @_;
	my ($uv) = $t =~ /UIDVALIDITY (\d+)/;
	is($uv, 1003923649, "$what: UIDVALIDITY of ~/mbox's X-IMAP");
	my %got;
	for my $r (split /^(?=\* \d+ FETCH )/m, $t) {
		my ($f, $subj) = $r =~ /\A\* \d+ FETCH \((.*?)\r?\n.*?Subject: (\w+)/s or next;
		($got{$subj}) = $f =~ /UID (\d+)/;
	}
	is_deeply({ map { ($_ => $got{$_}) } keys %uwant }, \%uwant, "$what: ~/mbox's UIDs kept");
	is_deeply([ sort { $a <=> $b } @got{qw(s7 s8)} ], [ 21, 22 ], "$what: the spool's mail numbered after them");
	# the subscribed folders (Courier lists their \Noselect parents too)
	my @lsub = sort $t =~ /^\* LSUB \((?![^)]*Noselect)[^)]*\) "\." "?([^"\r\n]+)"?\r$/mg;
	return \@lsub;
}
my @ucmds = ('SELECT INBOX', 'FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])', 'LSUB "" "*"');
$t = MMCourier::imap("$dir/uwc/Maildir", $uid, $gid, @ucmds);
is_deeply(uw_check('Courier, UW home', $t), [ 'INBOX.Archive.old', 'INBOX.sent-mail' ],
	  'Courier, UW home: the folders of .mailboxlist subscribed') or diag $t;
$dc = MMDovecot->new(dir => "$dir/dovecot-uw", uid => $uid, gid => $gid, users => [
	{ name => 'uwd', pass => 'p', home => "$dir/uwd", extra => 'userdb_pop3_uidl_format=%%08Xu%%08Xv' },
	{ name => 'uwf', pass => 'p', home => "$dir/uwf" } ]);
$imap = $dc->imap('uwd', 'p');
$t = join '', map { my ($s, $r) = $imap->cmd($_); (@$r, "$s\r\n") } @ucmds;
is_deeply(uw_check('Dovecot, UW home', $t), [ 'Archive.old', 'sent-mail' ],
	  'Dovecot, UW home: the folders of .mailboxlist subscribed') or diag $t;
undef $imap;
my @uw = map { sprintf '%08x%08x', 1003923649, $_ * 2 } 1 .. 6;
for my $who (qw(uwd uwf)) {
	my $ul = $dc->pop3_uidl($who, 'p');
	my @l = map { $ul->{$_} } sort { $a <=> $b } keys %$ul;
	is(scalar @l, 8, "Dovecot POP3 ($who): 8 messages in INBOX");
	is_deeply([ @l[ 0 .. 5 ] ], \@uw, "Dovecot POP3 ($who): ~/mbox's UIDLs are UW ipop3d's");
}
$dc->stop;

# Courier's pop3d numbers every message (UID<n>-<uidv>) unless its
# courierpop3dsizelist gives it UID 0: then it serves the file name, as
# qmail-pop3d does. Written with the UID lists: the UW home's INBOX
# serves UW's UIDLs for ~/mbox's messages (the spool's are numbered).
my ($cu) = MMCourier::pop3_uidl("$dir/uwc/Maildir", $uid, $gid);
my %cu = map { $_ => 1 } values %$cu;
is(scalar keys %$cu, 8, 'Courier POP3, UW home: 8 messages');
is(scalar(grep { $cu{$_} } @uw), 6, "Courier POP3, UW home: ~/mbox's UIDLs are UW ipop3d's");
is(scalar(grep { /^UID\d+-\d+\z/ } keys %cu), 2, "Courier POP3, UW home: the spool's numbered by Courier");
# a UW session moved the spool's mail into ~/mbox (X-UID 21, 22) before
# the cut-over pass: that pass adds them to the list, still ours (no
# Courier session yet), and Courier serves UW's UIDLs for all 8
system('cp', '-a', $h, "$dir/uwhome2") == 0 or die;
system('cp', "$dir/uwspool", "$dir/uwspool2") == 0 or die;
my $run2 = sub { `'$^X' -Mblib bin/mbox2vpopmail @_ --maildir '$dir/uws/Maildir' --home '$dir/uwhome2' '$dir/uwspool2' 2>&1` };
make_path("$dir/uws");
$out = $run2->();
is($? >> 8, 0, 'UW home, bulk pass') or diag $out;
(my $mb = do { local (@ARGV, $/) = "$dir/uwhome2/mbox"; <> }) =~ s/^X-IMAP: 1003923649 0000000020$/X-IMAP: 1003923649 0000000022/m;
my $moved = do { local (@ARGV, $/) = "$dir/uwspool2"; <> };
my $n = 20;
$moved =~ s/^(Subject: s\d+)$/$n++; "X-UID: $n\nStatus: RO\n$1"/mge;
spew("$dir/uwhome2/mbox", $mb, $moved);
spew("$dir/uwspool2", '');
$out = $run2->('--sync');
is($? >> 8, 0, 'UW home, cut-over pass after a UW session') or diag $out;
system('chown', '-R', "$uid:$gid", "$dir/uws");
($cu) = MMCourier::pop3_uidl("$dir/uws/Maildir", $uid, $gid);
is_deeply([ sort values %$cu ], [ sort @uw, map { sprintf '%08x%08x', 1003923649, $_ } 21, 22 ],
	  "Courier POP3: the moved messages too serve UW's UIDLs (the list extended while ours)");

# the sizes in the list are what Courier counts itself (CRLF line ends,
# a message without a final newline, 8-bit header bytes)
spew("$dir/sizes.mbox", "From MAILER-DAEMON Mon Jan  1 12:00:00 2001\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
       . "X-IMAP: 1003923649 0000000020\nStatus: RO\n\nThis text is part of the internal format of your mail folder.\n\n",
     umsg('plain', 1, 'X-UID: 1', 'Status: RO'),
     "From a\@example.com Mon Jan  2 12:00:00 2001\r\nX-UID: 2\r\nSubject: crlf\r\n\r\nline 1\r\nline 2\r\n\r\n",
     umsg("caf\xc3\xa9", 3, 'X-UID: 3'),
     umsg('unread-xuidl', 3, 'X-UIDL: abc123'),
     "From a\@example.com Mon Jan  4 12:00:00 2001\nX-UID: 4\nSubject: last\n\nno final newline");
make_path("$dir/sz");
$out = `'$^X' -Mblib bin/mbox2vpopmail --maildir '$dir/sz/Maildir' '$dir/sizes.mbox' 2>&1`;
is($? >> 8, 0, 'sizes: converted') or diag $out;
system('cp', '-a', "$dir/sz", "$dir/sz2") == 0 or die;
unlink "$dir/sz2/Maildir/courierpop3dsizelist" or die;
system('chown', '-R', "$uid:$gid", "$dir/sz", "$dir/sz2");
my ($u1, $s1) = MMCourier::pop3_uidl("$dir/sz/Maildir", $uid, $gid);
my ($u2, $s2) = MMCourier::pop3_uidl("$dir/sz2/Maildir", $uid, $gid);
is_deeply([ sort values %$u1 ], [ sort 'abc123', map { sprintf '%08x%08x', 1003923649, $_ } 1 .. 4 ],
	  "Courier POP3: UW's UIDLs and an X-UIDL of a message in new/ (the file names)");
is(scalar keys %$s1, 5, 'Courier POP3: 5 sizes listed');
is_deeply($s1, $s2, 'Courier POP3: the sizes listed are those Courier counts itself');
# and the 8-bit header flag: Courier wrote its own list in sz2
sub sizelist {
	open my $fh, '<', "$_[0]/Maildir/courierpop3dsizelist" or die "$_[0]: $!";
	<$fh>;
	return { map { my ($n, $sz, $f) = split ' '; (($n =~ /^([^:]+)/)[0] => join ' ', $sz, (split /:/, $f)[2]) } <$fh> };
}
is_deeply(sizelist("$dir/sz"), sizelist("$dir/sz2"), "courierpop3dsizelist: size and 8-bit flag as Courier's own");
like(join(' ', values %$u2), qr/^UID\d+-\d+(?: UID\d+-\d+){4}\z/, '... which numbers them without the list');
done_testing;
