# What clients remember: POP3 UIDLs kept as file names, IMAP UIDs kept in
# dovecot-uidlist and courierimapuiddb.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMMaildir qw(maildir_files slurp);
use MigrateMail qw(mbox_to_maildir verify_maildir);

my $dir = tempdir(CLEANUP => 1);
my $md = "$dir/pseudo";
my $st = mbox_to_maildir('t/data/pseudo.mbox', $md);
is($st->{delivered}, 2, 'two messages (the pseudo message is not mail)');
my ($files, $tmp) = maildir_files($md);
is_deeply([ sort keys %$files ], [ 'cur/3b8f2c9d00000001:2,RS', 'cur/3b8f2c9d00000002:2,' ],
	  'file names are the X-UIDL values, so POP3 UIDLs stay the same');
is(slurp("$md/dovecot-uidlist"), "3 V1003923649 N8\n5 :3b8f2c9d00000001\n7 :3b8f2c9d00000002\n",
   'dovecot-uidlist: UIDVALIDITY, next UID, X-UIDs');
is(slurp("$md/courierimapuiddb"), "1 1003923649 8\n5 3b8f2c9d00000001\n7 3b8f2c9d00000002\n",
   'courierimapuiddb: the same in Courier\'s form');
is($st->{uid_lists_written}, 2, 'both lists written');
is((stat "$md/dovecot-uidlist")[2] & 07777, 0600, 'lists are 0600');

$st = mbox_to_maildir('t/data/pseudo.mbox', $md, verify => 1);
is_deeply([ @{$st}{qw(delivered skipped_present verified uid_lists_written)} ], [ 0, 2, 2, 0 ],
	  'second run: nothing added, lists left as they are');

# X-IMAPbase in the first message (no pseudo message).
$st = mbox_to_maildir('t/data/imapbase.mbox', "$dir/imapbase");
like(slurp("$dir/imapbase/dovecot-uidlist"), qr/\A3 V1003923649 N3\n1 :\d+\.H[0-9a-f]{16}\.[^\n]*,S=\d+\n2 :/,
     'X-IMAPbase: UIDs kept; names without X-UIDL have the usual form');

# An mbox without X-UIDs gets no lists: the server numbers the messages.
$st = mbox_to_maildir('examples/sample.mbox', "$dir/sample");
like(slurp("$dir/sample/dovecot-uidlist"), qr/\A3 V1003923649 N4\n1 :3bd6a9c200000001\n2 :3bd6a9c200000002\n\z/,
     'a message without X-UID is left out, for the server to number');
$st = mbox_to_maildir('t/data/flags.mbox', "$dir/flags");
ok(!-e "$dir/flags/dovecot-uidlist", 'no X-UID: no list');

# UIDLs that cannot be file names, and duplicates, fall back safely.
open my $fh, '>', "$dir/uidl.mbox" or die;
for ([ 1, 'good-uidl-1' ], [ 2, 'bad/uidl' ], [ 3, 'good-uidl-1' ], [ 4, '.hidden' ], [ 5, 'with:colon' ],
     [ 6, 'x' x 71 ], [ 7, 'with,S=1' ]) {
	print $fh "From a\@example.com Mon Jan  $_->[0] 12:00:00 2001\nX-UIDL: $_->[1]\nSubject: $_->[0]\n\nbody\n\n";
}
close $fh;
$st = mbox_to_maildir("$dir/uidl.mbox", "$dir/uidl", verify => 1);
is($st->{delivered}, 7, 'all seven delivered');
is($st->{verified}, 7, 'and verified');
my @names = sort map { s{^new/}{}r } keys %{ (maildir_files("$dir/uidl"))[0] };
is(scalar(grep { $_ eq 'good-uidl-1' } @names), 1, 'a usable UIDL is the name, once');
is(scalar(grep { /^\d+\.H[0-9a-f]{16}\./ } @names), 6, 'the others have the usual names');
$st = mbox_to_maildir("$dir/uidl.mbox", "$dir/uidl");
is($st->{skipped_present}, 7, 're-run: all present');

# A symlink planted in tmp/ under a UIDL name is removed, not followed.
open my $v, '>', "$dir/victim" or die;
print $v "precious\n";
close $v;
mkdir "$dir/plant";
mkdir "$dir/plant/$_" for qw(tmp new cur);
symlink "$dir/victim", "$dir/plant/tmp/mmtmp.3b8f2c9d00000001" or die;
$st = mbox_to_maildir('t/data/pseudo.mbox', "$dir/plant");
is(slurp("$dir/victim"), "precious\n", 'nothing written through it');
is($st->{delivered}, 2, 'delivery goes on');

# uidl_names => 0 keeps the usual names.
$st = mbox_to_maildir('t/data/pseudo.mbox', "$dir/nouidl", uidl_names => 0, uid_lists => 0);
($files) = maildir_files("$dir/nouidl");
is(scalar(grep { /H[0-9a-f]{16}/ } keys %$files), 2, 'uidl_names => 0: usual names');
ok(!-e "$dir/nouidl/dovecot-uidlist", 'uid_lists => 0: no list');

done_testing;
