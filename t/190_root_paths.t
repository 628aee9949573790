# As root over what users own: the paths mbox2vpopmail is given and the
# files it reads and writes there. A user's symlink, a hard link to
# someone else's file, a directory of another user, a FIFO: refused or
# skipped with an ERROR/WARNING, never followed, never blocking; a root
# symlink on the way (Debian's /var/spool/mail) and --trust-paths work.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MMMaildir qw(maildir_files);

plan skip_all => 'needs root (the checks are about what root must refuse)' if $> != 0;

my $M2V  = 'bin/mbox2vpopmail';
my $USER = 65534;     # the hostile mailbox owner
my $OTHER = 65533;    # another user
my $tmp  = tempdir(CLEANUP => 1);
chmod 0755, $tmp;
my $sample = 't/data/flags.mbox';

# a symlink the user owns
sub user_link {
	my ($target, $link) = @_;
	symlink $target, $link or die "$link: $!";
	system('chown', '-h', "$USER:$USER", $link) == 0 or die;
}

sub ndelivered {
	my ($md) = @_;
	return 0 unless -d "$md/new";
	my ($files) = maildir_files($md);
	return scalar keys %$files;
}

# --- a single spool path ---------------------------------------------
my $victim = "$tmp/alice-spool";
system('cp', $sample, $victim) == 0 or die;
chmod 0600, $victim;
make_path("$tmp/bob");
chown $USER, $USER, "$tmp/bob";
user_link($victim, "$tmp/bob/mbox");
my ($out, $err, $st) = run_script($M2V, '--maildir', "$tmp/md1", "$tmp/bob/mbox");
is($st, 3, "a user's symlink as the spool path: exit 3");
like($err, qr/^ERROR: \Q$tmp\E\/bob\/mbox: .*symlink.*refused.*--trust-paths/m,
     'ERROR: refused, and says how to allow it');
is(ndelivered("$tmp/md1"), 0, 'nothing of the victim delivered');
($out, $err, $st) = run_script($M2V, '--trust-paths', '--maildir', "$tmp/md1", "$tmp/bob/mbox");
is($st, 0, '--trust-paths follows it');
is(ndelivered("$tmp/md1"), 15, 'and delivers');

unlink "$tmp/bob/mbox";
link $victim, "$tmp/bob/mbox" or die;
($out, $err, $st) = run_script($M2V, '--maildir', "$tmp/md2", "$tmp/bob/mbox");
is($st, 3, 'a hard link to another file as the spool path: exit 3');
like($err, qr/^ERROR: .*has other hard links.*refused/m, 'ERROR: hard links refused');
is(ndelivered("$tmp/md2"), 0, 'nothing delivered');
unlink "$tmp/bob/mbox";

symlink 'alice-spool', "$tmp/rootlink" or die;
($out, $err, $st) = run_script($M2V, '--maildir', "$tmp/md3", "$tmp/rootlink");
is($st, 0, "root's own symlink is followed") or diag $err;
mkdir "$tmp/spooldir";
symlink 'spooldir', "$tmp/var-spool-mail" or die;
system('cp', $sample, "$tmp/spooldir/carol") == 0 or die;
($out, $err, $st) = run_script($M2V, '--maildir', "$tmp/md4", "$tmp/var-spool-mail/carol");
is($st, 0, "a root symlink on the way (/var/spool/mail -> /var/mail)") or diag $err;

# a FIFO named as the mbox is the admin's choice (like stdin): read
my $fifo = "$tmp/fifo";
system('mkfifo', $fifo) == 0 or die;
my $pid = fork // die;
if (!$pid) {
	open my $w, '>', $fifo or die;
	print $w slurp($sample);
	close $w;
	exit 0;
}
($out, $err, $st) = run_script($M2V, '--maildir', "$tmp/md5", $fifo);
waitpid $pid, 0;
is($st, 0, 'a FIFO given as the mbox is read') or diag $err;
is(ndelivered("$tmp/md5"), 15, 'all of it');

# --- the Maildir's path ----------------------------------------------
make_path("$tmp/home/bob");
chown $USER, $USER, "$tmp/home/bob";
make_path("$tmp/elsewhere");
user_link("$tmp/elsewhere", "$tmp/home/bob/Maildir");
($out, $err, $st) = run_script($M2V, '--maildir', "$tmp/home/bob/Maildir", $sample);
is($st, 3, 'a Maildir that is a symlink: exit 3');
like($err, qr/Maildir \Q$tmp\E\/home\/bob\/Maildir is a symlink or not a directory: refused/,
     'refused');
ok(!-e "$tmp/elsewhere/new", 'nothing made where it points');
unlink "$tmp/home/bob/Maildir";
user_link("$tmp/elsewhere", "$tmp/home/bob/mail");
($out, $err, $st) = run_script($M2V, '--maildir', "$tmp/home/bob/mail/Maildir", $sample);
is($st, 3, "a user's symlink on the Maildir's path: exit 3");
ok(!-e "$tmp/elsewhere/Maildir", 'nothing made where it points');

# --- --dir ------------------------------------------------------------
my $spool = "$tmp/spool";
mkdir $spool;
system('cp', $sample, "$spool/$_") == 0 or die for qw(dave erin);
link $victim, "$spool/frank" or die;
system('mkfifo', "$spool/gina") == 0 or die;
mkdir "$tmp/vpop";
# a stand-in vuserinfo for --dir: the Maildir of each user under vpop/
spew("$tmp/vuserinfo", "#!/bin/sh\nu=\${2%%\@*}; mkdir -p $tmp/vpop/\$u; echo $tmp/vpop/\$u\n", 0755);
my @batch = ('--vpopmail-bin', $tmp, '--domain', 'example.com', '--dir', $spool);
local $SIG{ALRM} = sub { die "timeout\n" };
alarm 60;
($out, $err, $st) = run_script($M2V, @batch);
alarm 0;
is($st, 3, '--dir with a hard link and a FIFO in it: exit 3 (one mailbox failed)');
like($err, qr/^ERROR: \Q$spool\E\/frank: .*hard links.*refused/m, 'the hard link is refused');
like($err, qr/^WARNING: \Q$spool\E\/gina: not a regular file, skipped$/m, 'the FIFO is skipped');
is(ndelivered("$tmp/vpop/$_/Maildir"), 15, "$_ delivered") for qw(dave erin);
ok(!-e "$tmp/vpop/frank/Maildir/new" || ndelivered("$tmp/vpop/frank/Maildir") == 0,
   'nothing of the hard-linked file delivered');

chown $USER, $USER, $spool;
($out, $err, $st) = run_script($M2V, @batch);
is($st, 3, "a spool directory of a user's: exit 3");
like($err, qr/^ERROR: the spool directory \Q$spool\E belongs to uid $USER, .*refused/m, 'refused');
unlink "$spool/frank", "$spool/gina";
($out, $err, $st) = run_script($M2V, '--trust-paths', @batch);
is($st, 0, '--trust-paths: taken') or diag $err;
chown 0, 0, $spool;
symlink 'spool', "$tmp/spool-link" or die;
($out, $err, $st) = run_script($M2V, @batch[0 .. 4], "$tmp/spool-link");
is($st, 0, "--dir through root's own symlink") or diag $err;

# --- --folders --------------------------------------------------------
my $home = "$tmp/home/hal";
make_path("$home/mail", "$home/Maildir", "$tmp/home/ivy/mail");
system('cp', $sample, "$tmp/home/ivy/mail/private") == 0 or die;
system('chown', '-R', "$USER:$USER", $home) == 0 or die;
system('chown', '-R', "$OTHER:$OTHER", "$tmp/home/ivy") == 0 or die;
user_link("$tmp/home/ivy/mail", "$home/folders");
($out, $err, $st) = run_script($M2V, '--maildir', "$home/Maildir", '--folders', "$home/folders");
is($st, 3, '--folders that is a user symlink: exit 3');
like($err, qr/^ERROR: .*\Q$home\E\/folders.*symlink.*refused/m, 'refused');
ok(!-e "$home/Maildir/.private", "the other user's folder is not converted");
($out, $err, $st) = run_script($M2V, '--maildir', "$home/Maildir", '--folders', "$tmp/home/ivy/mail");
is($st, 3, "--folders of another user: exit 3");
like($err, qr/^ERROR: the folder directory \Q$tmp\E\/home\/ivy\/mail belongs to uid $OTHER, .*refused/m,
     'refused');
ok(!-e "$home/Maildir/.private", 'not converted');

# a planted maildirfolder link, subscriptions as a link to a root-only
# file, a hard-linked .mailboxlist: nothing of them is used or changed
system('cp', $sample, "$home/mail/work") == 0 or die;
system('cp', $sample, "$home/mail/play") == 0 or die;
spew("$tmp/secret", "root-only-line\n", 0600);
mkdir "$home/Maildir/.play";
user_link("$tmp/secret", "$home/Maildir/.play/maildirfolder");
user_link("$tmp/secret", "$home/Maildir/subscriptions");
spew("$home/mail/.subscriptions", "work\nplay\n");
system('chown', '-R', "$USER:$USER", "$home/mail", "$home/Maildir/.play") == 0 or die;
link "$tmp/secret", "$home/mail/.mailboxlist" or die;   # read first, if it were read
($out, $err, $st) = run_script($M2V, '--maildir', "$home/Maildir", '--folders', "$home/mail");
is($st, 3, 'a planted maildirfolder: exit 3');
like($err, qr/^ERROR: \Q$home\E\/mail\/play: .*maildirfolder.*refused/m, 'that folder is refused');
is(ndelivered("$home/Maildir/.work"), 15, 'the other folder is delivered');
is(slurp("$tmp/secret"), "root-only-line\n", 'the root-only file is unchanged');
is((stat "$tmp/secret")[4], 0, 'and still root\'s');
like($err, qr/^ERROR: \Q$home\E\/Maildir: \Q$home\E\/Maildir\/subscriptions is a symlink: refused/m,
     'a planted subscriptions link is an ERROR');
ok(-l "$home/Maildir/subscriptions", 'and is left alone');
unlike(slurp("$home/Maildir/courierimapsubscribed"), qr/root-only/, 'no root-only line copied');
like(slurp("$home/Maildir/courierimapsubscribed"), qr/^INBOX\.work$/m,
     'the .subscriptions of the folder tree used (not the hard-linked .mailboxlist)');
is((stat "$home/Maildir/courierimapsubscribed")[4], $USER, "owned by the Maildir's owner");
is((stat "$home/Maildir/.work/maildirfolder")[4], $USER, 'maildirfolder too');

# another user's file in the tree (a link whose other name went away)
system('cp', $sample, "$home/mail/ivy-old") == 0 or die;
chown $OTHER, $OTHER, "$home/mail/ivy-old";
($out, $err, $st) = run_script($M2V, '--maildir', "$home/Maildir", '--folders', "$home/mail");
like($err, qr/^WARNING: \Q$home\E\/mail\/ivy-old: belongs to uid $OTHER, not to the folder tree's owner, skipped$/m,
     "another user's file in the tree is skipped");
ok(!-e "$home/Maildir/.ivy-old", 'and not converted');
unlink "$home/mail/ivy-old";

# --- --report and --verify -----------------------------------------
make_path("$tmp/reports");
chmod 01777, "$tmp/reports";
spew("$tmp/report-victim", "keep\n", 0600);
user_link("$tmp/report-victim", "$tmp/reports/r.json");
user_link("$tmp/report-victim", "$tmp/reports/r.json.mmtmp");
($out, $err, $st) = run_script($M2V, '--report', "$tmp/reports/r.json", '--maildir', "$tmp/md6", $sample);
is($st, 0, '--report over planted links: exit 0') or diag $err;
is(slurp("$tmp/report-victim"), "keep\n", 'nothing written through them');
ok(-f "$tmp/reports/r.json" && !-l "$tmp/reports/r.json", 'the report replaced the link');
is((stat "$tmp/reports/r.json")[2] & 07777, 0600, 'mode 0600');

my ($files) = maildir_files("$tmp/md6");
my ($one) = grep { m{^cur/} } sort keys %$files;
unlink "$tmp/md6/$one";
system('mkfifo', "$tmp/md6/$one") == 0 or die;
alarm 30;
($out, $err, $st) = eval { run_script($M2V, '--verify', '--maildir', "$tmp/md6", $sample) };
alarm 0;
ok(defined $st, '--verify with a FIFO in cur/ finishes');
is($st, 3, 'and fails');
like($err, qr/^ERROR: .*not a regular file: refused/m, 'naming the FIFO');

done_testing;
