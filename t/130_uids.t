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
is_deeply([ sort keys %$files ], [ 'cur/3b8f2c9d00000001:2,RSa', 'cur/3b8f2c9d00000002:2,' ],
	  'file names are the X-UIDL values, so POP3 UIDLs stay the same (a: its keyword)');
is(slurp("$md/dovecot-keywords"), "0 \$Forwarded\n", 'dovecot-keywords: letter a is $Forwarded');
is(slurp("$md/courierimapkeywords/3b8f2c9d00000001"), "\$Forwarded\n", "Courier's courierimapkeywords/BASE");
is_deeply([ @{$st}{qw(keywords_kept keywords_dropped keywords_messages)} ], [ 1, 0, 1 ], 'keywords counted');
is(slurp("$md/dovecot-uidlist"), "3 V1003923649 N8\n5 P3b8f2c9d00000001 :3b8f2c9d00000001\n"
   . "7 P3b8f2c9d00000002 :3b8f2c9d00000002\n",
   'dovecot-uidlist: UIDVALIDITY, next UID, X-UIDs, the old POP3 UIDLs (P)');
is(slurp("$md/courierimapuiddb"), "1 1003923649 8\n5 3b8f2c9d00000001\n7 3b8f2c9d00000002\n",
   'courierimapuiddb: the same in Courier\'s form');
is($st->{uid_lists_written}, 2, 'both lists written');
is((stat "$md/dovecot-uidlist")[2] & 07777, 0600, 'lists are 0600');

$st = mbox_to_maildir('t/data/pseudo.mbox', $md, verify => 1);
is_deeply([ @{$st}{qw(delivered skipped_present verified uid_lists_written)} ], [ 0, 2, 2, 0 ],
	  'second run: nothing added, lists left as they are');

# X-IMAPbase in the first message (no pseudo message).
$st = mbox_to_maildir('t/data/imapbase.mbox', "$dir/imapbase");
# auto: no X-UIDL, UW's UID headers: UW ipop3d's UIDLs, %08lx%08lx of
# UIDVALIDITY (1003923649 = 0x3bd6a8c1) and X-UID, with a warning
is(slurp("$dir/imapbase/dovecot-uidlist"), "3 V1003923649 N3\n1 P3bd6a8c100000001 :3bd6a8c100000001\n"
   . "2 P3bd6a8c100000002 :3bd6a8c100000002\n",
   'X-IMAPbase: UIDs kept; without X-UIDL the files are named by the UW UIDL');
is_deeply([ map { $_->{code} } @{ $st->{warnings} } ], [ 'uidl' ], 'the guess is a warning');
like($st->{warnings}[0]{message}, qr/message 1, offset 0: .*UW ipop3d.*--old-pop3 dovecot/, '... naming the message');
is_deeply($st->{keep}, { messages => 2, pop3_kept => 2, pop3_kept_dovecot => 2, imap_kept => 2, uidl_guessed => 1,
			 pop3_why => { no_uidl => 0, not_a_file_name => 0, duplicate_uidl => 0, earlier_name => 0 },
			 imap_why => { no_uid => 0, no_uidvalidity => 0, uids_not_ascending => 0 } },
	  'forecast: all kept');
$st = mbox_to_maildir('t/data/imapbase.mbox', "$dir/imapbase-dc", old_pop3 => 'dovecot');
is(slurp("$dir/imapbase-dc/dovecot-uidlist"), "3 V1003923649 N3\n1 P000000013bd6a8c1 :000000013bd6a8c1\n"
   . "2 P000000023bd6a8c1 :000000023bd6a8c1\n",
   "old_pop3 => 'dovecot': Dovecot's %08Xu%08Xv, UID first");
$st = mbox_to_maildir('t/data/imapbase.mbox', "$dir/imapbase-none", old_pop3 => 'none');
like(slurp("$dir/imapbase-none/dovecot-uidlist"), qr/\A3 V1003923649 N3\n1 :\d+\.H[0-9a-f]{16}\.[^\n]*,S=\d+\n2 :/,
     "old_pop3 => 'none': the usual names, no P");
is($st->{keep}{pop3_kept}, 0, '... none kept');
is($st->{keep}{pop3_why}{no_uidl}, 2, '... for want of a UIDL');

# An mbox without X-UIDs gets no lists: the server numbers the messages.
$st = mbox_to_maildir('examples/sample.mbox', "$dir/sample");
like(slurp("$dir/sample/dovecot-uidlist"),
     qr/\A3 V1003923649 N4\n1 P3bd6a9c200000001 :3bd6a9c200000001\n2 P3bd6a9c200000002 :3bd6a9c200000002\n\z/,
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
is_deeply([ map { "$_->{number}:$_->{code}" } grep { $_->{code} eq 'uidl' } @{ $st->{warnings} } ],
	  [ '2:uidl', '3:uidl', '4:uidl', '5:uidl', '6:uidl', '7:uidl' ], 'each one a warning naming the message');
like((grep { $_->{number} == 3 } @{ $st->{warnings} })[0]{message}, qr/message 3, offset \d+: .*'good-uidl-1' is an earlier message's/,
     '... the duplicate');
is_deeply($st->{keep}{pop3_why}, { no_uidl => 0, not_a_file_name => 5, duplicate_uidl => 1, earlier_name => 0 }, 'forecast: why not kept');
is($st->{keep}{pop3_kept}, 1, 'forecast: one kept');
is($st->{keep}{imap_why}{no_uidvalidity}, 7, 'no UIDVALIDITY: no UID kept');
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

# courierpop3dsizelist (Courier's pop3d serves the names of UID-0
# entries; t/155 runs it): written with the UID lists, extended while
# every UID is 0, left alone once Courier numbered a message, refused
# when it is a symlink
$st = mbox_to_maildir('t/data/pseudo.mbox', "$dir/pl");
is($st->{pop3_list_written}, 1, 'courierpop3dsizelist written');
like(slurp("$dir/pl/courierpop3dsizelist"),
     qr{\A/3 1 \d+\n3b8f2c9d00000001:2,RSa 67 0:0:0\n3b8f2c9d00000002:2, 68 0:0:0\n\z},
     '... UID 0 and the POP3 size (bytes and one per line end) of each message');
is(mbox_to_maildir('t/data/pseudo.mbox', "$dir/pl")->{pop3_list_written}, 0, 'a re-run: nothing to add');
for my $case ([ 'courier', "/3 5 1700000000\nother:2,S 10 4:1700000000:0\n" ], [ 'ours', "/3 1 1700000000\nother 10 0:0:0\n" ]) {
	my ($what, $text) = @$case;
	mkdir "$dir/pl-$what";
	mkdir "$dir/pl-$what/$_" for qw(tmp new cur);
	open my $pf, '>', "$dir/pl-$what/courierpop3dsizelist" or die;
	print $pf $text;
	close $pf;
	$st = mbox_to_maildir('t/data/pseudo.mbox', "$dir/pl-$what");
	if ($what eq 'courier') {
		is(slurp("$dir/pl-$what/courierpop3dsizelist"), $text, 'a list Courier numbered in: left alone');
	} else {
		is(slurp("$dir/pl-$what/courierpop3dsizelist"), $text . "3b8f2c9d00000001:2,RSa 67 0:0:0\n"
		   . "3b8f2c9d00000002:2, 68 0:0:0\n", 'a list still ours: extended, what it had kept');
	}
}
mkdir "$dir/pl-link";
mkdir "$dir/pl-link/$_" for qw(tmp new cur);
symlink '/etc/passwd', "$dir/pl-link/courierpop3dsizelist" or die;
$st = mbox_to_maildir('t/data/pseudo.mbox', "$dir/pl-link");
like(join("\n", map { $_->{message} } @{ $st->{errors} }), qr/cannot write courierpop3dsizelist: .*left alone/,
     'a symlink as courierpop3dsizelist: an error, left alone');
is(readlink "$dir/pl-link/courierpop3dsizelist", '/etc/passwd', '... the link untouched');

# More keywords than Dovecot's 26 per Maildir, and one that is no IMAP
# atom: the --dry-run forecast counts what the run then carries.
open my $kfh, '>', "$dir/kw.mbox" or die;
for my $i (1 .. 12) {
	my @kw = map { sprintf 'kw%02d', $_ } 3 * $i - 2 .. 3 * $i;   # 36 names in all
	push @kw, 'bad(x' if $i == 5;
	printf $kfh "From a\@example.com Mon Jan %2d 12:00:00 2001\nX-Keywords: %s\nSubject: k%d\n\nbody\n\n", $i,
	  join(' ', @kw), $i;
}
print $kfh "From a\@example.com Mon Jan 20 12:00:00 2001\nX-Keywords: bad(y\nSubject: only-bad\n\nbody\n\n";
close $kfh;
sub report {
	my ($args) = @_;
	my $out = `'$^X' -Mblib bin/mbox2vpopmail $args --report '$dir/kw.json' '$dir/kw.mbox' 2>&1`;
	open my $fh, '<', "$dir/kw.json" or die "no report: $out";
	local $/;
	return (JSON::PP->new->decode(scalar <$fh>)->{mailboxes}[0], $out);
}
require JSON::PP;
my ($dry, $dout) = report("-n --maildir '$dir/kwmd'");
my ($real) = report("--maildir '$dir/kwmd'");
is_deeply([ @{$real}{qw(keywords_kept keywords_dropped keywords_messages)} ], [ 26, 12, 9 ],
	  'run: 26 names kept, 10 beyond them and 2 no atoms dropped, 9 messages with a keyword');
is_deeply([ @{$dry}{qw(keywords_kept keywords_dropped keywords_messages to_cur to_new)} ],
	  [ @{$real}{qw(keywords_kept keywords_dropped keywords_messages to_cur to_new)} ],
	  '--dry-run: the same counts, the same placement');
like($dout, qr/kw\.mbox: forecast: keywords: 26 kept on 9 messages, 12 dropped \(not IMAP atoms, or beyond the 26/m,
     'the forecast line');
my ($again) = report("-n --maildir '$dir/kwmd'");
is($again->{keywords_dropped}, 12, "--dry-run over the Maildir: against its dovecot-keywords");

done_testing;
