# Status headers to flags, the UW-IMAP pseudo message, UIDs and UIDLs.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMFixture qw(read_mbox fixture);
use File::Temp qw(tempdir);
use MMMaildir qw(maildir_files);
use MigrateMail qw(mbox_to_maildir);

my %want = (    # subject => [flags, in_cur]
	'none'                   => [ '',      0 ],
	'new-old'                => [ '',      1 ],
	'seen'                   => [ 'S',     1 ],
	'seen-noold'             => [ 'S',     1 ],
	'answered'               => [ 'RS',    1 ],
	'flagged'                => [ 'F',     1 ],
	'deleted'                => [ 'ST',    1 ],
	'draft'                  => [ 'D',     1 ],
	'all'                    => [ 'DFRST', 1 ],
	'mozilla-read'           => [ 'S',     1 ],
	'mozilla-replied-marked' => [ 'FR',    1 ],
	'mozilla-expunged'       => [ 'T',     1 ],
	'mozilla-garbage'        => [ '',      0 ],
	'folded-status'          => [ 'S',     1 ],
	'lowercase-names'        => [ 'FS',    1 ],
);
my $r = read_mbox(fixture('flags.mbox'));
is(scalar @{ $r->{msgs} }, scalar keys %want, 'one message per combination');
for my $m (@{ $r->{msgs} }) {
	my ($subj) = $m->{content} =~ /^Subject: (\S+)/m;
	is($m->{flags}, $want{$subj}[0], "flags: $subj");
	is($m->{in_cur}, $want{$subj}[1], "in_cur: $subj");
	unlike($m->{content}, qr/^(?:x-)?status:/mi, "status headers removed: $subj");
	is($m->{content} =~ /^X-Mozilla-Status:/m ? 1 : 0, $subj =~ /mozilla/ ? 1 : 0,
	   "X-Mozilla-Status kept: $subj");
}

$r = read_mbox(fixture('pseudo.mbox'));
my ($p, $m1, $m2) = @{ $r->{msgs} };
ok($p->{is_pseudo}, 'pseudo message recognised');
is($p->{uidvalidity}, 1003923649, 'its UIDVALIDITY');
is($p->{uid_last}, 7, 'its last UID');
ok(!$m1->{is_pseudo}, 'real message is not pseudo');
is($m1->{uid}, 5, 'X-UID');
is($m1->{uidl}, '3b8f2c9d00000001', 'X-UIDL');
is($m1->{keywords}, '$Forwarded', 'X-Keywords');
is($m1->{flags}, 'RS', 'flags of message 2');
is($m1->{content}, "Subject: first real message\nX-UIDL: 3b8f2c9d00000001\n\nbody one\n",
   'X-UID, X-Keywords, Status removed; X-UIDL kept');
is($m2->{uid}, 7, 'second X-UID');
is($m2->{flags}, '', 'Status O: no flag');
ok($m2->{in_cur}, 'Status O: cur');
is($m1->{date}, undef, 'no Date: header');
is($p->{date}, 1003923649, 'Date: header parsed');

$r = read_mbox(fixture('imapbase.mbox'));
ok(!$r->{msgs}[0]{is_pseudo}, 'X-IMAPbase does not make a pseudo message');
is($r->{msgs}[0]{uidvalidity}, 1003923649, 'X-IMAPbase UIDVALIDITY');
is($r->{msgs}[0]{uid_last}, 2, 'X-IMAPbase last UID');
is($r->{msgs}[0]{content}, "Subject: no pseudo message, X-IMAPbase in the first one\n\nbody one\n",
   'X-IMAPbase, Status, X-UID, Content-Length removed');

$r = read_mbox(fixture('pseudo.mbox'), keep_headers => 1);
open my $fh, '<:raw', fixture('pseudo.mbox') or die;
my $all = do { local $/; <$fh> };
my @parts = split /^\n(?=From )/m, $all;
s/\A[^\n]*\n// for @parts;
$parts[-1] =~ s/\n\z//;
is_deeply([ map { $_->{content} } @{ $r->{msgs} } ], \@parts,
	  'keep_headers: every byte but From_ lines and separators');

# Status letters of every writer: GNU mailutils' "OAFRd", Python's D.
# Without X-Status, Status A, F, D, d count; with one (even empty),
# X-Status alone decides answered, flagged, deleted and draft.
sub want_letters {
	my ($status, $xstatus) = @_;
	my %f;
	$f{S} = 1 if $status =~ /R/;
	my ($src, %map) = defined $xstatus
	  ? ($xstatus, A => 'R', F => 'F', D => 'T', T => 'D')
	  : ($status, A => 'R', F => 'F', D => 'T', d => 'T');
	$f{ $map{$_} } = 1 for grep { $map{$_} } split //, $src;
	my $letters = join '', sort keys %f;
	return ($letters, $letters ne '' || $status =~ /[RO]/ ? 1 : 0);
}
$r = read_mbox(fixture('status-letters.mbox'));
is(scalar @{ $r->{msgs} }, 144, 'status-letters: 64 Status sets, 64 with X-Status, 16 X-Status sets');
is_deeply($r->{warnings}, [], 'status-letters: no warnings');
my %by_subject;
for my $m (@{ $r->{msgs} }) {
	my ($status, $x) = $m->{content} =~ /^Subject: status=(\S*)(?: xstatus=(\S*))?$/m
	  or die "no subject in $m->{content}";
	my ($letters, $cur) = want_letters($status, $x);
	my $what = "Status '$status'" . (defined $x ? ", X-Status '$x'" : '');
	is($m->{flags}, $letters, "$what: flags '$letters'");
	is($m->{in_cur} ? 1 : 0, $cur, "$what: " . ($cur ? 'cur' : 'new'));
	unlike($m->{content}, qr/^(?:x-)?status:/mi, "$what: headers removed");
	$by_subject{ ($m->{content} =~ /^(Subject: [^\n]*)/m)[0] } = [ $letters, $cur ];
}
is($r->{msgs}[1]{flags}, 'S', 'Status R: S');
is($r->{msgs}[63]{flags}, 'FRST', 'Status ROAFDd: FRST');
is($r->{msgs}[127]{flags}, 'S', 'Status ROAFDd with an empty X-Status: S only');
is($r->{msgs}[143]{flags}, 'DFRT', 'X-Status AFDT over Status OAFDd: DFRT');

# The same letters in the Maildir's names, and new/ versus cur/.
my $dir = tempdir(CLEANUP => 1);
my $st = mbox_to_maildir(fixture('status-letters.mbox'), "$dir/Maildir", host => 'h');
is($st->{delivered}, 144, 'status-letters: all delivered');
my ($files) = maildir_files("$dir/Maildir");
my %got = map { (($_->{content} =~ /^(Subject: [^\n]*)/m)[0] => [ $_->{info} // '', $_->{dir} eq 'cur' ? 1 : 0 ]) }
	  values %$files;
is_deeply(\%got, \%by_subject, 'status-letters: info letters and cur/ in the Maildir');
ok(!grep({ $_->{dir} eq 'new' && defined $_->{info} } values %$files), 'no info part in new/');

done_testing;
