# --folders: a UW-IMAP/Pine ~/mail tree as Maildir++ folders, with the
# subscriptions carried over.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use lib 't/lib';
use MMMaildir qw(maildir_files slurp);
use MigrateMail::Folders qw(folder_name);

is(folder_name('sent-mail'), 'sent-mail', 'plain name');
is(folder_name('Jan.backup'), 'Jan_backup', 'a dot is not a hierarchy separator');
is(folder_name("Caf\xc3\xa9 & Co"), 'Caf&AOk- &- Co', 'UTF-8 and & in modified UTF-7');
is(folder_name("Caf\xe9"), 'Caf&AOk-', 'Latin-1 file name');
is(folder_name("\xe6\x97\xa5\xe6\x9c\xac"), '&ZeVnLA-', 'CJK');

my $dir = tempdir(CLEANUP => 1);
my $mail = "$dir/home/mail";
make_path("$mail/Archive/2001");
system('cp', 't/data/flags.mbox', "$mail/sent-mail") == 0 or die;
system('cp', 't/data/pseudo.mbox', "$mail/Archive/2001/Jan.backup") == 0 or die;
system('cp', 't/data/crlf.mbox', "$mail/Archive/Caf\xc3\xa9 & Co") == 0 or die;
system('cp', 't/data/crlf.mbox', "$mail/Jan_backup") == 0 or die;
system('cp', 't/data/crlf.mbox', "$mail/Jan.backup") == 0 or die;
symlink '/etc/passwd', "$mail/evil" or die;
open my $fh, '>', "$dir/home/.mailboxlist" or die;
# as UW and Pine write them: relative to the home, with ~/, absolute
print $fh "mail/sent-mail\nmail/Archive/2001/Jan.backup\nINBOX\nmail/gone\n~/mail/Jan_backup\n"
  . "/home/alice/mail/Archive/Caf\xc3\xa9 & Co\nmbox\n";
close $fh;
mkdir "$dir/md";
open my $old, '>', "$dir/md/courierimapsubscribed.keep" or die;
close $old;

my $out = `'$^X' -Mblib bin/mbox2vpopmail --maildir '$dir/md' --folders '$mail' examples/sample.mbox 2>'$dir/err'`;
my $err = slurp("$dir/err");
is($? >> 8, 0, 'exit 0');
my @lines = split /\n/, $out;
is(scalar @lines, 6, 'a summary line for the inbox and each folder');
like($lines[0], qr/^examples\/sample.mbox: 4 messages/, 'inbox first');
like($out, qr{^\Q$dir\E/md/sent-mail: 15 messages, \d+ bytes, 2 new, 13 cur}m, 'folder summary');
like($err, qr/^WARNING: \Q$mail\E\/evil: symlink, skipped$/m, 'symlink skipped');
my %folders = map { $_ => 1 } grep { -d "$dir/md/$_" && /^\./ } do { opendir my $d, "$dir/md"; readdir $d };
is_deeply([ sort keys %folders ],
	  [ sort '.', '..', '.sent-mail', '.Archive.2001.Jan_backup', '.Archive.Caf&AOk- &- Co', '.Jan_backup',
	    '.Jan_backup_2' ],
	  'Maildir++ folders, with the odd names mapped and a collision numbered');
for my $f (grep { !/^\.\.?$/ } keys %folders) {
	ok(-f "$dir/md/$f/maildirfolder", "$f has maildirfolder");
}
is(scalar keys %{ (maildir_files("$dir/md/.sent-mail"))[0] }, 15, 'messages in the folder');
is(slurp("$dir/md/subscriptions"), "sent-mail\nArchive.2001.Jan_backup\nJan_backup_2\nArchive.Caf&AOk- &- Co\n",
   "Dovecot's subscriptions (mail/, ~/mail/ and absolute names, to the file's folder; INBOX and mbox are no folder)");
is(slurp("$dir/md/courierimapsubscribed"),
   "INBOX.sent-mail\nINBOX.Archive.2001.Jan_backup\nINBOX.Jan_backup_2\nINBOX.Archive.Caf&AOk- &- Co\n",
   "Courier's courierimapsubscribed");
like($err, qr/^WARNING: \Q$dir\E\/home\/.mailboxlist: subscribed folder 'gone' not found, not subscribed$/m,
     'a subscription to a missing folder is reported');

# A second run adds nothing, subscriptions are not repeated.
$out = `'$^X' -Mblib bin/mbox2vpopmail --maildir '$dir/md' --folders '$mail' examples/sample.mbox 2>/dev/null`;
like($out, qr{^\Q$dir\E/md/sent-mail: 15 messages, 0 bytes, 0 new, 0 cur, 15 skipped}m, 're-run: nothing added');
is(slurp("$dir/md/subscriptions"), "sent-mail\nArchive.2001.Jan_backup\nJan_backup_2\nArchive.Caf&AOk- &- Co\n",
   'subscriptions not repeated');

# Folders only (no inbox file), with vpopmail.
my $vp = "$dir/vp";
make_path("$vp/bin", "$vp/domains/example.com/alice");
system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;
$out = `VPOPMAIL='$vp' '$^X' -Mblib bin/mbox2vpopmail --folders '$mail' alice\@example.com 2>/dev/null`;
is($? >> 8, 0, 'folders only: exit 0');
like($out, qr/^alice\@example.com: 0 messages/, 'empty inbox line');
ok(-f "$vp/domains/example.com/alice/Maildir/.sent-mail/maildirfolder", 'folders in the vpopmail Maildir');
done_testing;
