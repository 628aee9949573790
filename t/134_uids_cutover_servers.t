# The UID lists over a cut-over pass, as the real servers show them:
# pass 1 over an mbox with UIDs 1-3, then two messages arrive on the old
# server (UIDs 7, 8: 4-6 went to mail deleted there before the cut-over,
# so a server numbering them itself would give 4, 5) and message 2 is
# deleted there; after the --sync pass, Dovecot IMAP (Debian's) and
# Courier-IMAP (Debian's, unpacked, pre-authenticated) both show UIDs
# 1, 3, 7, 8 for those messages and
# the old UIDVALIDITY. Once Dovecot has opened the Maildir, a later pass
# leaves a list Dovecot changed alone, and the UIDs stay consistent.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MMSync qw(uid_mbox);
use MMDovecot;
use MMCourier;

plan skip_all => 'runs the servers as another user: needs root (CI runs as root)' if $> != 0;
-x '/usr/sbin/dovecot' or BAIL_OUT('dovecot is not installed: apt-get install dovecot-imapd dovecot-pop3d');
eval { MMCourier::root() } or BAIL_OUT("Courier-IMAP: $@");

my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;
my ($uid, $gid) = (65534, 65534);
my $home = "$dir/home/alice";
make_path($home);
chown $uid, $gid, $home;
my ($mbox, $md) = ("$dir/alice.mbox", "$home/Maildir");
sub mm { return run_script('bin/mbox2vpopmail', @_) }

# "Message-ID number => UID" and the UIDVALIDITY from a transcript of
# SELECT and UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]).
sub uids_of {
	my ($t) = @_;
	my ($uv) = $t =~ /UIDVALIDITY (\d+)/;
	my %u;
	while ($t =~ /\* \d+ FETCH \((.*?)\r\n\r\n/sg) {
		my $r = $1;
		my ($u) = $r =~ /\bUID (\d+)/;
		my ($id) = $r =~ /Message-ID: <(\d+)\@old\.example>/i;
		$u{$id} = $u if defined $id && defined $u;
	}
	return ($uv, \%u);
}
my $FETCH = 'UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])';

spew($mbox, uid_mbox(1100000000, 3, 1 .. 3));
my ($out, $err, $rc) = mm('--maildir', $md, $mbox);
is($rc, 0, 'pass 1') or diag $err;
spew($mbox, uid_mbox(1100000000, 8, 1, 3, 7, 8));
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
is($rc, 0, 'the cut-over pass') or diag $err;
like($out, qr/ 2 skipped, 0 re-flagged, 1 removed, /, 'two added, one removed') or diag $out;
my $want = { 1 => 1, 3 => 3, 7 => 7, 8 => 8 };

# Courier first (it reads courierimapuiddb; dovecot-uidlist is not its)
my $t = MMCourier::imap($md, $uid, $gid, 'SELECT INBOX', $FETCH);
my ($uv, $u) = uids_of($t);
is($uv, 1100000000, 'Courier: the old UIDVALIDITY');
is_deeply($u, $want, 'Courier: UIDs 1, 3, 7, 8 after the cut-over') or diag $t;

my $dc = MMDovecot->new(dir => "$dir/dovecot", uid => $uid, gid => $gid,
			users => [ { name => 'alice', pass => 'secret', home => $home } ]);
END { $dc->stop if $dc }
my $imap = $dc->imap('alice', 'secret');
my ($st, $r) = $imap->cmd('SELECT INBOX');
like($st, qr/^OK/, 'Dovecot: SELECT') or diag $dc->log;
($uv) = join('', @$r) =~ /UIDVALIDITY (\d+)/;
is($uv, 1100000000, 'Dovecot: the old UIDVALIDITY');
($st, $r) = $imap->cmd($FETCH);
(undef, $u) = uids_of(join '', @$r);
is_deeply($u, $want, 'Dovecot: UIDs 1, 3, 7, 8 after the cut-over') or diag explain $r;
undef $imap;
$dc->stop;
undef $dc;

# Dovecot has opened it (and may have rewritten dovecot-uidlist: then it
# is its own); a message 9 arrives on the old server, another pass
my $dl = slurp("$md/dovecot-uidlist");
my $record = slurp("$md/migratemail-uidlists");
spew($mbox, uid_mbox(1100000000, 9, 1, 3, 7, 8, 9));
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
is($rc, 0, 'a pass after Dovecot opened the Maildir') or diag $err;
my $ours = $dl =~ /\A3 V1100000000 N9\n(?:\d+ (?:P\S+ )?:\S+\n){4}\z/;
if ($ours) {
	note 'Dovecot left dovecot-uidlist as we wrote it: still ours, rewritten';
	like(slurp("$md/dovecot-uidlist"), qr/\A3 V1100000000 N10\n/, 'rewritten with message 9');
} else {
	is(slurp("$md/dovecot-uidlist"), $dl, 'dovecot-uidlist, changed by Dovecot, left alone');
}
$dc = MMDovecot->new(dir => "$dir/dovecot2", uid => $uid, gid => $gid,
		     users => [ { name => 'alice', pass => 'secret', home => $home } ]);
$imap = $dc->imap('alice', 'secret');
($st, $r) = $imap->cmd('SELECT INBOX');
($uv) = join('', @$r) =~ /UIDVALIDITY (\d+)/;
is($uv, 1100000000, 'Dovecot: UIDVALIDITY still the old one');
($st, $r) = $imap->cmd($FETCH);
(undef, $u) = uids_of(join '', @$r);
my $nine = delete $u->{9};
is_deeply($u, $want, 'Dovecot: 1, 3, 7, 8 kept');
ok(defined $nine && $nine >= 9, 'message 9 numbered after them') or diag explain $r;
undef $imap;
unlike($dc->log, qr/\b(?:Error|Panic|Fatal):/, 'nothing in the Dovecot log says Error') or diag $dc->log;
$dc->stop;
done_testing;
