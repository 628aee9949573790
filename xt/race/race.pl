#!/usr/bin/perl
# xt/race/race.pl - the race harness of issue 11: a hostile mailbox owner
# (xt/race/attacker.c, a real unprivileged process) swaps the entries the
# tool creates or opens for symlinks and hard links while the tool runs
# as root, and after every attempt the files outside her reach are
# checked. See xt/race/README.
#
#   make test-race [RACE_ATTEMPTS=N] [RACE_SECONDS=S] [RACE_POINTS='a1 c1']
#   perl -Mblib xt/race/race.pl          (as root, after make)
#
# Exit status: 0 no wins and every point contended; 1 a win somewhere;
# 2 a point where the attacker never got to swap anything (the harness
# tested nothing there: adapt it to the code) or the harness failed.
use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use File::Find ();
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use IPC::Open2 qw(open2);
use POSIX ();
use Time::HiRes qw(time);
use MigrateMail::Mbox2Vpopmail ();

$| = 1;
my $ATTEMPTS = $ENV{RACE_ATTEMPTS} || 1000;
my $SECONDS  = $ENV{RACE_SECONDS}  || 600;
my %ONLY     = map { $_ => 1 } split /[\s,]+/, $ENV{RACE_POINTS} // '';
my $HERE     = 'xt/race';
my $MAIN_PID = $$;

die "race.pl: run it as root (it races the tool as root runs it)\n" if $> != 0;
die "race.pl: run it from the distribution's top directory after make\n"
  unless -f "$HERE/attacker.c";

# ------------------------------------------------------------------
# Cleanup, whatever happens: the attacker and a running tool stopped,
# protected_hardlinks restored, users and directories removed.
my (@users_made, @groups_made, $base, $atk_pid, $tool_pid, $ph_orig, @notes);
my ($atk_in, $atk_out);
my $cleaned;
sub cleanup {
	return if $cleaned++ || $$ != $MAIN_PID;
	kill 'KILL', $tool_pid if $tool_pid;
	if ($atk_pid) {
		kill 'KILL', $atk_pid;
		waitpid $atk_pid, 0;
	}
	if (defined $ph_orig) {
		if (open my $fh, '>', '/proc/sys/fs/protected_hardlinks') {
			print {$fh} "$ph_orig\n";
			close $fh or warn "race.pl: cannot restore protected_hardlinks to $ph_orig: $!\n";
		} else {
			warn "race.pl: cannot restore protected_hardlinks to $ph_orig: $!\n";
		}
	}
	if (defined $base && -d $base) {
		if ($ENV{RACE_KEEP}) {
			print "race.pl: kept $base (RACE_KEEP)\n";
		} else {
			remove_tree($base);
		}
	}
	system('userdel', $_) for @users_made;
	system('groupdel', $_) for grep { getgrnam $_ } @groups_made;
}
END { my $rc = $?; cleanup(); $? = $rc; }
$SIG{$_} = sub { die "race.pl: interrupted by SIG$_[0]\n" } for qw(INT TERM HUP);

# ------------------------------------------------------------------
# Users: the attacker (owns the Maildir, home, folders, spool dir) and
# a victim (owns another mbox). Throwaway accounts when useradd works,
# else ids no account uses.
my %taken_id;
sub free_id {
	for my $id (61000 .. 64999) {
		return $id if !defined getpwuid($id) && !defined getgrgid($id) && !$taken_id{$id}++;
	}
	die "race.pl: no free uid\n";
}
sub make_user {
	my ($name) = @_;
	if (system("useradd --system --no-create-home --home-dir /nonexistent "
		   . "--shell /usr/sbin/nologin --user-group $name >/dev/null 2>&1") == 0) {
		push @users_made, $name;
		push @groups_made, $name;
		my @pw = getpwnam $name or die "race.pl: useradd made no $name\n";
		return @pw[2, 3];
	}
	my $id = free_id();
	push @notes, "no useradd: $name is the bare uid/gid $id";
	return ($id, $id);
}
my $tag = sprintf 'mmr%d', $$ % 100000;
my ($AU, $AG) = make_user("$tag-atk");
my ($VU, $VG) = make_user("$tag-vic");

# ------------------------------------------------------------------
# hard links to files one does not own: fs.protected_hardlinks = 0
my $HARD_OK = 1;
if (open my $fh, '<', '/proc/sys/fs/protected_hardlinks') {
	chomp(my $v = <$fh> // '');
	close $fh;
	if ($v ne '0') {
		my $w;
		if (open($w, '>', '/proc/sys/fs/protected_hardlinks') && print({$w} "0\n") && close($w)) {
			$ph_orig = $v;
			push @notes, "fs.protected_hardlinks was $v: set to 0 for the run, restored at the end";
		} else {
			$HARD_OK = 0;
			push @notes, "fs.protected_hardlinks is $v and cannot be changed: hard-link variants NOT run";
		}
	} else {
		push @notes, 'fs.protected_hardlinks is 0 on this host (left as it is)';
	}
} else {
	push @notes, 'no /proc/sys/fs/protected_hardlinks: hard links allowed as on old kernels';
}

# ------------------------------------------------------------------
# The ground. One file system (hard links), a base only root writes.
$base = tempdir('mm-race-XXXXXX', DIR => $ENV{RACE_DIR} // '/var/tmp');
chmod 0755, $base;
my $TOKEN   = sprintf '%08x%08x', int(rand 2**32), int(rand 2**32);
my $C       = "$base/canary/secret";          # root 0600 in a root 0711 dir
my $VS      = "$base/victim/spool";           # the victim's spool, 0600
my $VM      = "$base/victim/home/mail";       # the victim's folders, 0700
my $H       = "$base/home/atk";               # the attacker's home
my $M       = "$H/Maildir";
my $ROOTDIR = "$base/root";                   # the admin's copies, 0700
my $CANARY_TEXT = "f\ncanary-$TOKEN root-only secret\n";
my $VICTIM_MARK = "victim-$TOKEN";

sub spew {
	my ($path, $text, $mode, $uid, $gid) = @_;
	open my $fh, '>', $path or die "race.pl: cannot write $path: $!\n";
	print {$fh} $text;
	close $fh or die "race.pl: cannot write $path: $!\n";
	chmod $mode, $path;
	chown $uid, $gid, $path if defined $uid;
}
sub mkd {
	my ($path, $mode, $uid, $gid) = @_;
	mkdir $path or die "race.pl: cannot create $path: $!\n";
	chmod $mode, $path;
	chown $uid // 0, $gid // 0, $path;
}
sub mbox {
	my ($from, $subject, $mark) = @_;
	return "From $from Mon Jan  1 00:00:00 2001\nSubject: $subject\nX-MM-Race: $mark\n\n$mark\n\n";
}

mkd("$base/canary", 0711);
spew($C, $CANARY_TEXT, 0600, 0, 0);
mkd("$base/victim", 0755);
spew($VS, mbox('victim@race.invalid', 'victim spool', $VICTIM_MARK), 0600, $VU, $VG);
mkd("$base/victim/home", 0700, $VU, $VG);
mkd($VM, 0700, $VU, $VG);
spew("$VM/$_", mbox('victim@race.invalid', "victim folder $_", $VICTIM_MARK), 0600, $VU, $VG)
  for qw(f x);
mkd($ROOTDIR, 0700);
spew("$ROOTDIR/mbox1", mbox('admin@race.invalid', 'one', 'plain'), 0600);
spew("$ROOTDIR/mboxuid", "From a\@race.invalid Mon Jan  1 00:00:00 2001\n"
     . "X-IMAPbase: 1003923649 0000000002\nSubject: uid one\nX-UID: 1\n\none\n\n"
     . "From b\@race.invalid Mon Jan  1 00:00:01 2001\nSubject: uid two\nX-UID: 2\n\ntwo\n\n", 0600);
spew("$ROOTDIR/mboxuid2", "From a\@race.invalid Mon Jan  1 00:00:00 2001\n"
     . "X-IMAPbase: 1003923649 0000000003\nSubject: uid one\nX-UID: 1\n\none\n\n"
     . "From b\@race.invalid Mon Jan  1 00:00:01 2001\nSubject: uid two\nX-UID: 2\n\ntwo\n\n"
     . "From c\@race.invalid Mon Jan  1 00:00:02 2001\nSubject: uid three\nX-UID: 3\n\nthree\n\n", 0600);
spew("$ROOTDIR/mboxkw", "From k\@race.invalid Mon Jan  1 00:00:00 2001\n"
     . "Subject: keywords\nX-Keywords: \$Label1 Work\nStatus: RO\n\nkw\n\n", 0600);
spew("$ROOTDIR/mboxsync", '', 0600);
# one message for new/, one for cur/ (read, flagged): points m1, m2
spew("$ROOTDIR/mboxm", mbox('admin@race.invalid', 'to new', 'm-new')
     . "From admin\@race.invalid Mon Jan  1 00:00:01 2001\nStatus: RO\nX-Status: F\nSubject: to cur\n"
     . "X-MM-Race: m-cur\n\nm-cur\n\n", 0600);
mkd("$ROOTDIR/vpopmail", 0755);
mkd("$ROOTDIR/vpopmail/bin", 0755);
spew("$ROOTDIR/vpopmail/bin/vuserinfo", "#!/bin/sh\necho $H\n", 0755);
mkd("$base/home", 0755);

# What the attacker must never change, read or have delivered: path ->
# [uid, gid, mode, content].
my %PROTECTED = (
	$C              => [ 0,   0,   0600, $CANARY_TEXT ],
	$VS             => [ $VU, $VG, 0600, undef ],
	"$VM/f"         => [ $VU, $VG, 0600, undef ],
	"$VM/x"         => [ $VU, $VG, 0600, undef ],
);
for my $p (keys %PROTECTED) {
	open my $fh, '<', $p or die;
	local $/;
	$PROTECTED{$p}[3] = <$fh>;
}
my %DIRS = map { $_ => dir_state($_) } "$base/canary", "$base/victim", "$base/victim/home", $VM, $ROOTDIR;

sub dir_state {
	my ($d) = @_;
	opendir my $dh, $d or return "unreadable: $!";
	# names and types: a protected file's owner and mode are checked
	# on their own
	return join ' ', map { lstat "$d/$_"; $_ . (-l _ ? '@' : -d _ ? '/' : -f _ ? '' : '?') }
	  sort grep { !/\A\.\.?\z/ } readdir $dh;
}

# The attacker's home as it is before each attempt (then the point's
# own changes): everything hers.
sub reset_home {
	remove_tree($H) if -e $H || -l $H;
	mkd($H, 0755, $AU, $AG);
	mkd($M, 0700, $AU, $AG);
	mkd("$M/$_", 0700, $AU, $AG) for qw(tmp new cur);
	mkd("$H/mail", 0700, $AU, $AG);
	spew("$H/mail/f", mbox('mallory@race.invalid', 'my folder', 'mine'), 0600, $AU, $AG);
	mkd("$H/mail2", 0700, $AU, $AG);
	spew("$H/mail2/f", mbox('mallory@race.invalid', 'my folder', 'mine'), 0600, $AU, $AG);
	mkd("$H/mail2/sub", 0700, $AU, $AG);
	spew("$H/mail2/sub/x", mbox('mallory@race.invalid', 'my subfolder', 'mine'), 0600, $AU, $AG);
	mkd("$H/spool", 0755, $AU, $AG);
	spew("$H/spool/mallory", mbox('mallory@race.invalid', 'my spool', 'mine'), 0600, $AU, $AG);
	mkd("$H/reports", 0755, $AU, $AG);
}

# ------------------------------------------------------------------
# The creation points. Each variant: the kind of link, the attacker's
# rules (TRIGGER WDIR WNAME ACTION DIR NAME TARGET, see attacker.c).
my @ARGS_FOLDERS = ('--fsync', 'none', '--maildir', $M, '--folders', "$H/mail");
sub sym_hard {
	my (@rule) = @_;
	return ({ kind => 'sym', rules => [ [@rule] ] }, { kind => 'hard', rules => [ [@rule] ] });
}
# the file of ours in new/ that point s2's --sync pass removes
sub s2_name {
	opendir my $d, "$M/new" or die "race.pl: $M/new: $!\n";
	my ($n) = grep { !/\A\./ } readdir $d;
	return $n // die "race.pl: s2: nothing in new/\n";
}
# the names mboxm's messages get in new/ and cur/ (a run into a Maildir
# of the harness's, once; not in $ROOTDIR, whose entries are checked)
my %m_names;
sub m_name {
	my ($sub) = @_;
	if (!%m_names) {
		my $ref = "$base/mref";
		MigrateMail::Mbox2Vpopmail::main('-q', '--fsync', 'none', '--maildir', $ref, "$ROOTDIR/mboxm") == 0
		  or die "race.pl: m: the reference run failed\n";
		for my $s (qw(new cur)) {
			opendir my $d, "$ref/$s" or die "race.pl: $ref/$s: $!\n";
			($m_names{$s}) = grep { !/\A\./ } readdir $d;
			die "race.pl: m: nothing in $ref/$s\n" unless defined $m_names{$s};
		}
	}
	return $m_names{$sub};
}
sub m_variants {
	return (map {
		my $sub = $_;
		(sym_hard('arm', '-', '-', 'plant', "$M/$sub", sub { m_name($sub) }, $C),
		 sym_hard('create', "$M/$sub", '*', 'swap', "$M/$sub", '=', $C),
		 sym_hard('arm', '-', '-', 'flip', "$M/$sub", sub { m_name($sub) }, $C))
	} qw(new cur));
}
my @POINTS = (
	{ id => 'a1', what => 'Folders make_folder(): .f/ mkdir, chown by path',
	  args => \@ARGS_FOLDERS,
	  variants => [ sym_hard('create', $M, '.f', 'swap', $M, '.f', $C) ] },
	{ id => 'a2', what => 'Folders make_folder(): .f/maildirfolder, chown by path',
	  prep => sub { mkd("$M/.f", 0700, $AU, $AG) },
	  args => \@ARGS_FOLDERS,
	  variants => [ sym_hard('create', "$M/.f", 'maildirfolder', 'swap', "$M/.f", 'maildirfolder', $C) ] },
	{ id => 'b1', what => 'write_subscriptions(): courierimapsubscribed.mmtmp',
	  prep => sub { spew("$H/mail/.mailboxlist", "f\n", 0600, $AU, $AG) },
	  args => \@ARGS_FOLDERS,
	  variants => [ sym_hard('create', $M, 'courierimapsubscribed.mmtmp', 'swap', $M,
				 'courierimapsubscribed.mmtmp', $C) ] },
	{ id => 'b2', what => 'write_subscriptions(): subscriptions.mmtmp',
	  prep => sub { spew("$H/mail/.mailboxlist", "f\n", 0600, $AU, $AG) },
	  args => \@ARGS_FOLDERS,
	  variants => [ sym_hard('create', $M, 'subscriptions.mmtmp', 'swap', $M, 'subscriptions.mmtmp', $C) ] },
	{ id => 'c1', what => 'mm_uidlist.c: dovecot-uidlist.mmtmp, fchownat by name',
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mboxuid" ],
	  variants => [ sym_hard('create', $M, 'dovecot-uidlist.mmtmp', 'swap', $M, 'dovecot-uidlist.mmtmp', $C) ] },
	{ id => 'c2', what => 'mm_uidlist.c: courierimapuiddb.mmtmp, fchownat by name',
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mboxuid" ],
	  variants => [ sym_hard('create', $M, 'courierimapuiddb.mmtmp', 'swap', $M, 'courierimapuiddb.mmtmp', $C) ] },
	{ id => 'c3', what => 'mm_uidlist.c: courierpop3dsizelist.mmtmp, fchown on the descriptor',
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mboxuid" ],
	  variants => [ sym_hard('create', $M, 'courierpop3dsizelist.mmtmp', 'swap', $M, 'courierpop3dsizelist.mmtmp', $C) ] },
	# the UID lists' record, and a later pass rewriting lists still ours
	{ id => 'u1', what => 'mm_uidlist.c: migratemail-uidlists.mmtmp, swapped as it is made',
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mboxuid" ],
	  variants => [ sym_hard('create', $M, 'migratemail-uidlists.mmtmp', 'swap', $M,
				 'migratemail-uidlists.mmtmp', $C) ] },
	{ id => 'u2', what => 'mm_uidlist.c: a later pass rewriting dovecot-uidlist (ours): its .mmtmp swapped',
	  prep => sub {
		  MigrateMail::Mbox2Vpopmail::main('-q', '--fsync', 'none', '--maildir', $M,
						    "$ROOTDIR/mboxuid") == 0 or die "race.pl: u2 prep\n";
	  },
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mboxuid2" ],
	  variants => [ sym_hard('create', $M, 'dovecot-uidlist.mmtmp', 'swap', $M,
				 'dovecot-uidlist.mmtmp', $C) ] },
	# keywords (issue 16): Courier's directory of per-message keyword
	# files, one of its files, Dovecot's dovecot-keywords
	{ id => 'k1', what => 'mm_keywords.c: courierimapkeywords/ mkdirat, then files in it',
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mboxkw" ],
	  variants => [ { kind => 'sym', rules => [ [ 'create', $M, 'courierimapkeywords', 'swap', $M,
						      'courierimapkeywords', "$base/canary" ] ] } ] },
	{ id => 'k2', what => 'mm_keywords.c: courierimapkeywords/<message>, created then swapped',
	  prep => sub { mkd("$M/courierimapkeywords", 0700, $AU, $AG) },
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mboxkw" ],
	  variants => [ sym_hard('create', "$M/courierimapkeywords", '*', 'swap',
				 "$M/courierimapkeywords", '=', $C) ] },
	{ id => 'k3', what => 'mm_keywords.c: dovecot-keywords.mmtmp, swapped as it is made',
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mboxkw" ],
	  variants => [ sym_hard('create', $M, 'dovecot-keywords.mmtmp', 'swap', $M,
				 'dovecot-keywords.mmtmp', $C) ] },
	(map {
		my $sub = $_;
		{ id => { tmp => 'd1', new => 'd2', cur => 'd3' }->{$sub},
		  what => "mm_maildir.c open_subdir(): $sub/ mkdirat, fchownat by name",
		  prep => sub { rmdir "$M/$_" for qw(tmp new cur) },
		  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mbox1" ],
		  variants => [ sym_hard('create', $M, $sub, 'swap', $M, $sub, $C) ] }
	} qw(tmp new cur)),
	{ id => 'e', what => 'update_quota(): maildirsize a hard link (planted / on delivery)',
	  prep => sub { spew("$M/maildirsize", "1000000S\n", 0600, $AU, $AG) },
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mbox1" ],
	  variants => [
		{ kind => 'hard', rules => [ [ 'arm', '-', '-', 'plant', $M, 'maildirsize', $C ] ] },
		sym_hard('create', "$M/new", '*', 'swap', $M, 'maildirsize', $C) ] },
	{ id => 'f1', what => '--folders top directory a symlink to another user\'s folders',
	  args => [ '--fsync', 'none', '--maildir', $M, '--folders', "$H/mail3" ],
	  victim => 1,
	  variants => [ { kind => 'sym', rules => [ [ 'arm', '-', '-', 'plant', $H, 'mail3', $VM ] ] } ] },
	{ id => 'f2', what => '--folders: mbox / subfolder swapped between listing and open',
	  args => [ '--fsync', 'none', '--maildir', $M, '--folders', "$H/mail2" ],
	  victim => 1,
	  variants => [ sym_hard('closedir', "$H/mail2", '-', 'swap', "$H/mail2", 'f', $VS),
			{ kind => 'sym', rules => [ [ 'closedir', "$H/mail2", '-', 'swap', "$H/mail2", 'sub', $VM ] ] },
			# whatever the order of listing and opening
			sym_hard('arm', '-', '-', 'flip', "$H/mail2", 'f', $VS) ] },
	{ id => 'f3', what => 'batch --dir: spool file swapped between listing and open',
	  args => [ '--fsync', 'none', '--domain', 'race.invalid', '--dir', "$H/spool",
		    '--vpopmail-bin', "$ROOTDIR/vpopmail/bin" ],
	  victim => 1,
	  variants => [ sym_hard('closedir', "$H/spool", '-', 'swap', "$H/spool", 'mallory', $VS),
			sym_hard('arm', '-', '-', 'flip', "$H/spool", 'mallory', $VS) ] },
	{ id => 'f4', what => 'single mode: the spool path a link (planted / flipping)',
	  args => [ '--fsync', 'none', '--maildir', $M, "$H/spool/mallory" ],
	  victim => 1,
	  variants => [ sym_hard('arm', '-', '-', 'plant', "$H/spool", 'mallory', $VS),
			sym_hard('arm', '-', '-', 'flip', "$H/spool", 'mallory', $VS) ] },
	{ id => 'g', what => 'read_subscriptions(): .mailboxlist check-then-open',
	  prep => sub { spew("$H/mail/.mailboxlist", "f\n", 0600, $AU, $AG) },
	  args => \@ARGS_FOLDERS,
	  variants => [ sym_hard('close', "$H/mail", 'f', 'flip', "$H/mail", '.mailboxlist', $C),
			{ kind => 'hard', rules => [ [ 'arm', '-', '-', 'plant', "$H/mail", '.mailboxlist', $C ] ] } ] },
	# O_TMPFILEs linked wherever they work (MIGRATEMAIL_NO_TMPFILE=0), and
	# named files in tmp/ renamed (=1)
	{ id => 'm1', what => 'mm_maildir_sync.c: an O_TMPFILE linked into new/, cur/ (batch)',
	  env => { MIGRATEMAIL_NO_TMPFILE => 0 },
	  args => [ '--maildir', $M, "$ROOTDIR/mboxm" ],
	  variants => [ m_variants() ] },
	{ id => 'm2', what => 'mm_maildir_sync.c: an O_TMPFILE linked into new/, cur/ (none)',
	  env => { MIGRATEMAIL_NO_TMPFILE => 0 },
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mboxm" ],
	  variants => [ m_variants() ] },
	{ id => 'm3', what => 'mm_maildir_sync.c: tmp/NAME renamed into new/, cur/ (batch)',
	  env => { MIGRATEMAIL_NO_TMPFILE => 1 },
	  args => [ '--maildir', $M, "$ROOTDIR/mboxm" ],
	  variants => [ m_variants() ] },
	{ id => 's1', what => 'mm_state.c: migratemail-state.mmtmp swapped as it is made',
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mbox1" ],
	  variants => [ sym_hard('create', $M, 'migratemail-state.mmtmp', 'swap', $M,
				 'migratemail-state.mmtmp', $C) ] },
	{ id => 's2', what => '--sync removal: the file moved to tmp/ swapped, or flipping in new/',
	  # a pass delivers a message of mboxsync; the attempt's --sync
	  # pass, the mbox emptied, removes it
	  prep => sub {
		  spew("$ROOTDIR/mboxsync", mbox('admin@race.invalid', 'sync', 'sync'), 0600);
		  MigrateMail::Mbox2Vpopmail::main('-q', '--fsync', 'none', '--maildir', $M,
						    "$ROOTDIR/mboxsync") == 0 or die "race.pl: s2 prep\n";
		  spew("$ROOTDIR/mboxsync", '', 0600);
# one message for new/, one for cur/ (read, flagged): points m1, m2
spew("$ROOTDIR/mboxm", mbox('admin@race.invalid', 'to new', 'm-new')
     . "From admin\@race.invalid Mon Jan  1 00:00:01 2001\nStatus: RO\nX-Status: F\nSubject: to cur\n"
     . "X-MM-Race: m-cur\n\nm-cur\n\n", 0600);
	  },
	  args => [ '--fsync', 'none', '--sync', '--maildir', $M, "$ROOTDIR/mboxsync" ],
	  variants => [ sym_hard('create', "$M/tmp", '*', 'swap', "$M/tmp", '=', $C),
			sym_hard('arm', '-', '-', 'flip', "$M/new", \&s2_name, $C) ] },
	{ id => 's3', what => '--manifest FILE: FILE.mmtmp planted / swapped as it is made',
	  args => [ '--fsync', 'none', '--maildir', $M, "$ROOTDIR/mbox1", '--manifest', "$H/reports/m.jsonl" ],
	  variants => [ sym_hard('arm', '-', '-', 'plant', "$H/reports", 'm.jsonl.mmtmp', $C),
			sym_hard('create', "$H/reports", '*', 'swap', "$H/reports", '=', $C) ] },
	{ id => 'h', what => '--report FILE: FILE.tmp.PID planted / what it creates swapped',
	  args => [ '--fsync', 'none', '--maildir', $M, '/dev/null', '--report', "$H/reports/run.json" ],
	  variants => [ (map { { %$_, pids => 1 } } sym_hard('arm', '-', '-', 'pids', "$H/reports", 'run.json.tmp.', $C)),
			# whatever name the report is written under
			sym_hard('create', "$H/reports", '*', 'swap', "$H/reports", '=', $C) ] },
);
@POINTS = grep { $ONLY{ $_->{id} } } @POINTS if %ONLY;
die "race.pl: RACE_POINTS names no point\n" unless @POINTS;
for my $p (@POINTS) {
	$p->{variants} = [ grep { $_->{kind} ne 'hard' } @{ $p->{variants} } ] unless $HARD_OK;
}
@POINTS = grep { @{ $_->{variants} } } @POINTS;

# ------------------------------------------------------------------
# The attacker process.
my $ATK = "$HERE/attacker.bin";
if (!-x $ATK || -M $ATK > -M "$HERE/attacker.c") {
	system($ENV{CC} || 'cc', qw(-std=gnu99 -O2 -Wall -Wextra -o), $ATK, "$HERE/attacker.c") == 0
	  or die "race.pl: cannot build $ATK\n";
}
$atk_pid = open2($atk_out, $atk_in, $ATK, $AU, $AG, $ENV{RACE_SPIN} ? '--spin' : ());
sub atk_cmd {
	my ($cmd) = @_;
	print {$atk_in} "$cmd\n";
	$atk_in->flush;
	my $line = <$atk_out>;
	die "race.pl: the attacker died (after '$cmd')\n" unless defined $line;
	chomp $line;
	return $line;
}
{
	my $ready = <$atk_out> // die "race.pl: the attacker did not start\n";
	chomp $ready;
	die "race.pl: attacker: $ready\n" unless $ready =~ /\Aready uid=$AU euid=$AU gid=$AG mode=(\w+)/;
	push @notes, "attacker: uid $AU (no root: checked), reacting by $1";
}

# ------------------------------------------------------------------
# One run of the tool as root: mbox2vpopmail's main() in a fork of this
# process (modules already loaded: milliseconds, not a perl start-up).
my $LOG = "$base/tool.log";
sub run_tool {
	my (@args) = @_;
	my $pid = fork // die "race.pl: fork: $!\n";
	if (!$pid) {
		my $rc = 99;
		eval {
			open STDIN, '<', '/dev/null';
			open STDOUT, '>', $LOG or die;
			open STDERR, '>&', \*STDOUT or die;
			chdir $ROOTDIR;
			$rc = MigrateMail::Mbox2Vpopmail::main(@args);
			1;
		} or print STDERR "race.pl: the tool died: $@";
		STDOUT->flush;
		STDERR->flush;
		POSIX::_exit($rc);
	}
	$tool_pid = $pid;
	my $hung = 0;
	{
		local $SIG{ALRM} = sub { $hung = 1; kill 'KILL', $pid };
		alarm 30;
		waitpid $pid, 0;
		alarm 0;
	}
	my $status = $?;
	$tool_pid = undef;
	open my $fh, '<', $LOG or die;
	local $/;
	my $out = <$fh> // '';
	return ($pid, $status, $hung, $out);
}

# What changed outside her reach (or reached her): a list of findings.
sub check {
	my ($hard_made, $out) = @_;
	my @bad;
	my %ino;
	for my $p (sort keys %PROTECTED) {
		my ($uid, $gid, $mode, $text) = @{ $PROTECTED{$p} };
		my @s = lstat $p;
		if (!@s) {
			push @bad, "$p: gone";
			next;
		}
		$ino{"$s[0]:$s[1]"} = 1;
		push @bad, "$p: owner $uid:$gid became $s[4]:$s[5]" if $s[4] != $uid || $s[5] != $gid;
		push @bad, sprintf('%s: mode %04o became %04o', $p, $mode, $s[2] & 07777)
		  if ($s[2] & 07777) != $mode || !-f _;
		push @bad, "$p: $s[3] links, more than the attacker's $hard_made + 1"
		  if $s[3] > 1 + $hard_made;
		if (open my $fh, '<', $p) {
			local $/;
			my $now = <$fh> // '';
			push @bad, "$p: content changed (" . length($now) . ' bytes, sha256 '
			  . substr(sha256_hex($now), 0, 12) . ')' if $now ne $text;
		}
	}
	for my $d (sort keys %DIRS) {
		push @bad, "$d: entries changed" if dir_state($d) ne $DIRS{$d};
	}
	# the victim's mail or the canary's secret where the attacker reads
	# (her own links to them excepted: she made those)
	File::Find::find({ no_chdir => 1, wanted => sub {
		my @s = lstat $_;
		return unless @s && -f _ && !$ino{"$s[0]:$s[1]"};
		open my $fh, '<', $_ or return;
		local $/;
		my $t = <$fh> // '';
		push @bad, "$_: holds the victim's mail" if index($t, $VICTIM_MARK) >= 0;
		push @bad, "$_: holds the canary's secret" if index($t, "canary-$TOKEN") >= 0;
	} }, $H) if -d $H;
	push @bad, "the tool's output holds the canary's secret" if index($out, "canary-$TOKEN") >= 0;
	return @bad;
}

# Put the protected files back as they were, for the next attempt.
sub restore {
	for my $p (keys %PROTECTED) {
		my ($uid, $gid, $mode, $text) = @{ $PROTECTED{$p} };
		unlink $p if -l $p || (-e _ && !-f _);
		spew($p, $text, $mode, $uid, $gid);
	}
	# a directory that changed was reported; later attempts compare
	# with what it is now
	$DIRS{$_} = dir_state($_) for keys %DIRS;
}

# ------------------------------------------------------------------
my @table;
my $T0 = time;
printf "race harness: %d attempts per point (at most %d s each), points %s\n",
  $ATTEMPTS, $SECONDS, join ' ', map { $_->{id} } @POINTS;
print "  note: $_\n" for @notes;
for my $p (@POINTS) {
	my %r = (point => $p, attempts => 0, contended => 0, refused => 0, wins => 0,
		 hung => 0, by => {});
	my $t0 = time;
	for my $i (0 .. $ATTEMPTS - 1) {
		last if time - $t0 >= $SECONDS;
		my $v = $p->{variants}[ $i % @{ $p->{variants} } ];
		my $vname = "$v->{kind}:" . join '+', map { "$_->[0]/$_->[3]/" . (ref $_->[5] ? 'its-file' : $_->[5]) }
		  @{ $v->{rules} };
		reset_home();
		$p->{prep}->() if $p->{prep};
		for my $rule (@{ $v->{rules} }) {
			# a name only known once prep has run: a code ref
			my $ans = atk_cmd('rule ' . join ' ', map { ref eq 'CODE' ? $_->() : $_ } @$rule);
			die "race.pl: attacker: $ans\n" unless $ans eq 'ok';
		}
		my $ans = atk_cmd("arm $v->{kind}");
		print STDERR "DEBUG $ans\n" if $ENV{RACE_DEBUG};
		die "race.pl: $p->{id}: attacker: $ans\n" unless $ans eq 'armed';
		my ($pid, $status, $hung, $out) = do {
			# the point's environment (m1-m3: how messages are made)
			local @ENV{ keys %{ $p->{env} || {} } } = values %{ $p->{env} || {} };
			run_tool(@{ $p->{args} });
		};
		$ans = atk_cmd('disarm');
		print STDERR "DEBUG $p->{id} $vname: $ans\n" if $ENV{RACE_DEBUG};
		my ($fired, $swaps, $hard, $lo, $hi, $touched) =
		  $ans =~ /\Adone fired=(\d+) swaps=(\d+) hard=(\d+) pids=(\d+)-(\d+) touched=(\d+) /
		  or die "race.pl: attacker: $ans\n";
		my $contended = $v->{pids} ? ($pid >= $lo && $pid <= $hi && $touched > 0)
		  : ($fired > 0 && $swaps > 0);
		my @bad = check($hard, $out);
		my $by = $r{by}{$vname} //= { attempts => 0, contended => 0, wins => 0 };
		$r{attempts}++;
		$by->{attempts}++;
		$r{contended} += $contended ? 1 : 0;
		$by->{contended} += $contended ? 1 : 0;
		$r{refused}++ if $out =~ /^ERROR/m;
		$r{hung}++ if $hung;
		if (@bad) {
			$r{wins}++;
			$by->{wins}++;
			$r{example} //= [ $vname, @bad ];
			restore();
		}
	}
	$r{seconds} = time - $t0;
	push @table, \%r;
	printf "  %-3s %4d attempts, %4d contended, %4d wins, %4d with ERROR, %5.1f s  %s\n",
	  $p->{id}, @r{qw(attempts contended wins refused seconds)}, $p->{what};
}

# ------------------------------------------------------------------
print "\n";
printf "%-3s %-62s %8s %9s %5s  %s\n", qw(pt creation_point attempts contended wins by_variant(wins/contended/attempts));
my ($any_win, $untested, $short) = (0, 0, 0);
for my $r (@table) {
	my $p = $r->{point};
	my $by = join ', ', map { "$_ $r->{by}{$_}{wins}/$r->{by}{$_}{contended}/$r->{by}{$_}{attempts}" }
	  sort keys %{ $r->{by} };
	my $flag = $r->{wins} ? 'WON' : $r->{contended} ? 'held' : 'UNTESTED';
	printf "%-3s %-62s %8d %9d %5d  %s  [%s]%s%s\n", $p->{id}, $p->{what}, $r->{attempts},
	  $r->{contended}, $r->{wins}, $by, $flag, $r->{hung} ? " ($r->{hung} hung, killed)" : '',
	  $r->{attempts} < $ATTEMPTS ? " (stopped at the $SECONDS s cap, short of $ATTEMPTS)" : '';
	$short++ if $r->{attempts} < $ATTEMPTS;
	$any_win++ if $r->{wins};
	$untested++ if !$r->{contended};
}
print "\n";
for my $r (grep { $_->{example} } @table) {
	my ($v, @bad) = @{ $r->{example} };
	print "$r->{point}{id} first win ($v): ", join('; ', @bad[0 .. ($#bad > 2 ? 2 : $#bad)]), "\n";
}
printf "total %.1f s. %s\n", time - $T0,
  $any_win ? "FAIL: $any_win point(s) won by the attacker"
  : $untested ? "FAIL: $untested point(s) never contended: the harness tested nothing there"
  : 'PASS: no wins, every point contended'
  . ($short ? " ($short point(s) stopped at the time cap before $ATTEMPTS attempts)" : '');
cleanup();
exit($any_win ? 1 : $untested ? 2 : 0);
