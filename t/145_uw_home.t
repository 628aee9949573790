# --home / --homes: a UW-IMAP user's ~/mbox (what UW served as INBOX,
# having moved the spool's mail into it) becomes INBOX with its UIDs,
# the spool's newer mail after it, ~/mail the folders, .mailboxlist's
# names (mail/, ~/, absolute) the subscriptions. The real servers'
# view of the result is checked in t/155_courier.t.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use JSON::PP ();
use lib 't/lib';
use MMMaildir qw(maildir_files slurp);
use MigrateMail::Folders qw(subscription_path);

# .mailboxlist lines as UW and Pine wrote them
my %sub = ('mail/foo' => 'foo', '~/mail/foo' => 'foo', '~alice/mail/a/b' => 'a/b', 'foo' => 'foo',
	   '/home/alice/mail/foo' => 'foo', '/export/home/alice/mail/a/b' => 'a/b',
	   '/home/alice/mail/mail/x' => 'mail/x', INBOX => '', inbox => '', mbox => '', '~/mbox' => '',
	   '/home/alice/mbox' => '', 'mail/' => undef, '/etc/passwd' => undef, 'mail/../x' => undef);
is(subscription_path($_, 'mail'), $sub{$_}, "subscription '$_'") for sort keys %sub;
is(subscription_path('/old/alice/x', 'mail', '/old/alice'), 'x', 'absolute, relative to the old home given');

my $dir = tempdir(CLEANUP => 1);
sub msg {
	my ($i, @h) = @_;
	return sprintf("From user%d\@example.com Mon Jan %2d 12:%02d:00 2001\n", $i % 3, 1 + $i % 28, $i % 60)
	  . join('', map { "$_\n" } @h, "Subject: message $i", "Message-ID: <$i\@example.com>") . "\nbody of $i\n\n";
}
sub spew {
	my ($path, @text) = @_;
	open my $fh, '>', $path or die "$path: $!";
	print $fh @text;
	close $fh;
}
my $PSEUDO = "From MAILER-DAEMON Mon Jan  1 12:00:00 2001\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
  . "X-IMAP: 1003923649 0000000020\nStatus: RO\n\nThis text is part of the internal format of your mail folder.\n\n";
# a home as UW-IMAP leaves it: ~/mbox numbered (X-IMAP, X-UID), read
# and unread; the spool with what arrived since the last session (one
# message with a stray X-UID of its sender's); ~/mail; .mailboxlist
sub home {
	my ($h) = @_;
	make_path("$h/mail/Archive");
	spew("$h/mbox", $PSEUDO, map { msg($_, 'X-UID: ' . ($_ * 2), $_ % 2 ? 'Status: RO' : ()) } 1 .. 6);
	spew("$h/mail/sent-mail", map { msg($_, 'Status: RO') } 20 .. 22);
	spew("$h/mail/Archive/old", map { msg($_, 'Status: RO') } 30 .. 31);
	spew("$h/.mailboxlist", "mail/sent-mail\n~/mail/Archive/old\nINBOX\nmbox\n/home/alice/mail/gone\n");
}
home("$dir/home/alice");
make_path("$dir/spool");
spew("$dir/spool/alice", map({ msg($_) } 7 .. 8), msg(9, 'X-UID: 3'));

sub run {
	my ($args) = @_;
	my $out = `'$^X' -Mblib bin/mbox2vpopmail $args 2>'$dir/err'`;
	return ($? >> 8, $out, slurp("$dir/err"));
}
my $md = "$dir/md";
my ($rc, $out, $err) = run("--maildir '$md' --home '$dir/home/alice' '$dir/spool/alice'");
is($rc, 0, 'exit 0') or diag $err;
like($out, qr{^\Q$dir\E/spool/alice: 3 messages, \d+ bytes, 3 new, 0 cur}m, "the spool's mail: new/");
like($out, qr{^\Q$md\E/mbox: 7 messages, \d+ bytes, 0 new, 6 cur, 1 skipped}m, '~/mbox: its own line, the pseudo message skipped');
unlike($err, qr/no X-UIDL header but UW-IMAP's UID headers/, 'a UW home: UW ipop3d, no guess');
like($err, qr{^WARNING: \Q$dir\E/spool/alice: 1 messages carry UID headers .* after those of \Q$dir\E/home/alice/mbox$}m,
     "the spool's stray X-UID: a WARNING");
my ($files) = maildir_files($md);
is_deeply([ sort grep { m{^cur/} } keys %$files ],
	  [ map { sprintf 'cur/3bd6a8c1%08x:2,%s', $_ * 2, $_ % 2 ? 'S' : '' } 1 .. 6 ],
	  "~/mbox's messages named by UW ipop3d's UIDLs, unread ones in cur/ too");
is(scalar(grep { m{^new/\d+\.H} } keys %$files), 3, "the spool's: new/, named as usual (not by the stray X-UID)");
my @list = split /\n/, slurp("$md/dovecot-uidlist");
is($list[0], '3 V1003923649 N21', "dovecot-uidlist: ~/mbox's UIDVALIDITY, the next UID after its last");
is_deeply([ map { (split ' ')[0] } @list[ 1 .. $#list ] ], [ map { $_ * 2 } 1 .. 6 ], "only ~/mbox's UIDs listed");
like(slurp("$md/courierimapuiddb"), qr/\A1 1003923649 21\n/, 'courierimapuiddb: the same');
is(slurp("$md/subscriptions"), "sent-mail\nArchive.old\n", 'subscriptions: mail/ and ~/mail/ prefixes mapped');
is(slurp("$md/courierimapsubscribed"), "INBOX.sent-mail\nINBOX.Archive.old\n", 'courierimapsubscribed');
like($err, qr{^WARNING: \Q$dir\E/home/alice/.mailboxlist: subscribed folder 'gone' not found}m, 'a missing one: a WARNING');
ok(-f "$md/.Archive.old/maildirfolder", "~/mail's folders come along");

($rc, $out) = run("--maildir '$md' --home '$dir/home/alice' '$dir/spool/alice'");
is($rc, 0, 're-run: exit 0');
like($out, qr{^\Q$md\E/mbox: 7 messages, 0 bytes, 0 new, 0 cur, 7 skipped}m, 're-run: nothing added from ~/mbox');
like($out, qr{^\Q$dir\E/spool/alice: 3 messages, 0 bytes, 0 new, 0 cur, 3 skipped}m, '... nor from the spool');

# the cut-over pass after a UW session moved the spool's mail into
# ~/mbox (numbered 21..23 there): the spool's copies are removed, ~/mbox
# delivers them under UW's UIDLs; nothing lost, nothing twice
make_path("$dir/snarf");
system('cp', '-a', "$dir/home/alice", "$dir/snarf/alice") == 0 or die;
system('cp', "$dir/spool/alice", "$dir/snarf/spool") == 0 or die;
is((run("--maildir '$dir/snarf/md' --home '$dir/snarf/alice' '$dir/snarf/spool'"))[0], 0, 'bulk pass: exit 0');
sub snarf {
	my ($h, $spool) = @_;
	my $sp = slurp($spool);
	my $u = 20;
	my $moved = join '', map { $u++; s/^X-UID: \d+\n//m; s/\n\n/\nX-UID: $u\nStatus: RO\n\n/; $_ } split /(?=^From )/m, $sp;
	(my $mb = slurp("$h/mbox")) =~ s/^X-IMAP: 1003923649 0000000020$/sprintf 'X-IMAP: 1003923649 %010d', $u/me;
	spew("$h/mbox", $mb, $moved);
	spew($spool, '');
}
snarf("$dir/snarf/alice", "$dir/snarf/spool");
($rc, $out, $err) = run("--sync --maildir '$dir/snarf/md' --home '$dir/snarf/alice' '$dir/snarf/spool'");
is($rc, 0, 'sync after a UW session: exit 0') or diag $err;
like($out, qr{snarf/spool: 0 messages, .* 3 removed}, "the spool's copies removed");
like($out, qr{snarf/md/mbox: 10 messages, \d+ bytes, 0 new, 3 cur, 7 skipped}, '... delivered from ~/mbox');
($files) = maildir_files("$dir/snarf/md");
is_deeply([ sort keys %$files ], [ map { sprintf 'cur/3bd6a8c1%08x:2,%s', $_, $_ > 20 || $_ % 4 == 2 ? 'S' : '' }
				    (map { $_ * 2 } 1 .. 6), 21 .. 23 ],
	  'INBOX: each message once, named by the UIDL UW served');

# the forecast: ~/mbox keeps all, the spool's mail was never numbered
($rc, $out) = run("-n --report '$dir/r.json' --maildir '$dir/none' --home '$dir/home/alice' '$dir/spool/alice'");
is($rc, 0, 'dry run: exit 0');
like($out, qr{/mbox: forecast: POP3 UIDLs: 6 of 6 kept, 0 will change .*IMAP UIDs: 6 of 6 kept}, "forecast of ~/mbox");
like($out, qr{spool/alice: 3 messages, \d+ bytes, 3 new, 0 cur}, 'the dry run places the spool as the run does');
my $rep = JSON::PP->new->decode(slurp("$dir/r.json"));
is($rep->{mailboxes}[0]{folders}[0]{folder}, 'INBOX', 'report: ~/mbox is part of INBOX');
is($rep->{mailboxes}[0]{uids_ignored}, 1, 'report: uids_ignored');
is($rep->{totals}{messages}, 15, 'report: totals over ~/mbox, the spool and the folders');

# a home without ~/mbox: UW served the spool itself, with its UIDs
make_path("$dir/home/carol");
spew("$dir/spool/carol", $PSEUDO, map { msg($_, 'X-UID: ' . $_) } 1 .. 2);
($rc, $out, $err) = run("--maildir '$dir/mdc' --home '$dir/home/carol' '$dir/spool/carol'");
is($rc, 0, 'no ~/mbox: exit 0') or diag $err;
like(slurp("$dir/mdc/dovecot-uidlist"), qr/\A3 V1003923649 N21\n1 /, "no ~/mbox: the spool's UIDs kept");

# batch: --homes DIR, DIR/USER for each spool file; a user without home
my $vp = "$dir/vp";
make_path("$vp/bin", map { "$vp/domains/example.com/$_" } qw(alice bob));
system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;
make_path("$dir/bspool");
system('cp', "$dir/spool/alice", "$dir/bspool/alice") == 0 or die;
system('cp', "$dir/spool/alice", "$dir/bspool/bob") == 0 or die;
$ENV{VPOPMAIL} = $vp;
($rc, $out, $err) = run("-v --domain example.com --dir '$dir/bspool' --homes '$dir/home'");
is($rc, 0, 'batch: exit 0') or diag $err;
my $amd = "$vp/domains/example.com/alice/Maildir";
like($out, qr{^alice\@example.com/mbox: 7 messages, \d+ bytes, 0 new, 6 cur}m, "batch: alice's ~/mbox");
is(slurp("$amd/subscriptions"), "sent-mail\nArchive.old\n", "batch: alice's subscriptions");
ok(-d "$amd/.sent-mail", "batch: alice's folders");
like($err, qr{^WARNING: \Q$dir\E/bspool/bob: no home \Q$dir\E/home/bob: the spool alone is the INBOX$}m,
     'batch: bob has no home (a warning)');
like($out, qr{^bob\@example.com: 3 messages, \d+ bytes, 3 new, 0 cur}m, "batch: bob's spool");
# a job list: the home is named by the spool file's name
($rc, $out) = run("--domain example.com --dir '$dir/bspool' --list-jobs");
spew("$dir/jobs", $out);
($rc, $out, $err) = run("-n --jobs-file '$dir/jobs' --homes '$dir/home'");
is($rc, 0, 'jobs file: exit 0') or diag $err;
like($out, qr{^\(dry run\) alice\@example.com/mbox: 7 messages}m, "jobs file: alice's ~/mbox");
delete $ENV{VPOPMAIL};

# usage
is((run("--dir '$dir/bspool' --domain example.com --home '$dir/home/alice'"))[0], 2, '--home with --dir: usage');
is((run("--maildir '$dir/x' --homes '$dir/home' '$dir/spool/alice'"))[0], 2, '--homes without --dir: usage');
is((run("--dir '$dir/bspool' --domain example.com --folders '$dir/home/alice/mail'"))[0], 2,
   '--folders with --dir: usage');

# safety: a ~/mbox that is a symlink or has another hard link is
# refused, and nothing is converted for that user (the spool alone
# would take the UID lists)
home("$dir/h2/sym");
rename "$dir/h2/sym/mbox", "$dir/h2/sym-mbox" or die;
symlink "$dir/h2/sym-mbox", "$dir/h2/sym/mbox" or die;
($rc, $out, $err) = run("--maildir '$dir/mds' --home '$dir/h2/sym' '$dir/spool/alice'");
is($rc, 3, 'symlinked ~/mbox: exit 3');
like($err, qr{^ERROR: \Q$dir\E/h2/sym/mbox: not a regular file \(UW-IMAP's INBOX\): refused$}m, '... an ERROR');
ok(!-e "$dir/mds", '... nothing delivered (no Maildir made)');
home("$dir/h2/hl");
link "$dir/h2/hl/mbox", "$dir/h2/hl-link" or die;
($rc, $out, $err) = run("--maildir '$dir/mdh' --home '$dir/h2/hl' '$dir/spool/alice'");
is($rc, 3, 'hard-linked ~/mbox: exit 3');
like($err, qr{^ERROR: \Q$dir\E/h2/hl/mbox: has other hard links}m, '... an ERROR');

SKIP: {
	skip 'ownership checks need root (CI runs as root)', 6 if $> != 0;
	# another user's file as ~/mbox
	home("$dir/h3/eve");
	system('chown', '-R', '65534:65534', "$dir/h3/eve") == 0 or die;
	chown 65533, 65533, "$dir/h3/eve/mbox";
	make_path("$dir/h3md");
	chown 65534, 65534, "$dir/h3md";
	($rc, $out, $err) = run("--maildir '$dir/h3md' --home '$dir/h3/eve' '$dir/spool/alice'");
	is($rc, 3, "another uid's ~/mbox: exit 3");
	like($err, qr{^ERROR: \Q$dir\E/h3/eve/mbox: belongs to uid 65533, not to the home's owner}m, '... an ERROR');
	# the first run: no Maildir yet, its parent the user's, as the home
	make_path("$dir/h4/parent");
	home("$dir/h4/home");
	system('chown', '-R', '65534:65534', "$dir/h4") == 0 or die;
	($rc, $out, $err) = run("--maildir '$dir/h4/parent/Maildir' --home '$dir/h4/home' '$dir/spool/alice'");
	is($rc, 0, "a home of the new Maildir's owner, before the Maildir exists: exit 0") or diag $err;
	is((stat "$dir/h4/parent/Maildir/cur")[4], 65534, '... the Maildir is the owner\'s');
	# a --homes tree a user owns
	chown 65534, 65534, "$dir/h3";
	$ENV{VPOPMAIL} = $vp;
	($rc, $out, $err) = run("--domain example.com --dir '$dir/bspool' --homes '$dir/h3'");
	delete $ENV{VPOPMAIL};
	is($rc, 3, "a user's --homes directory: exit 3");
	like($err, qr{^ERROR: the homes directory \Q$dir\E/h3 belongs to uid 65534}m, '... refused');
}
done_testing;
