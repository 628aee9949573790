# Presence means the right content. A Maildir damaged three ways (an
# empty file, a short one, one of the right size with the wrong bytes):
# a plain re-run repairs the first two and says so, --verify finds the
# third, --verify --repair fixes it, then --verify passes; repaired files
# keep their names (the user's flags). A first run with the wrong
# --format, fixed by --verify --repair with the right one. Planted
# FIFOs, symlinks, hard links and second copies break nothing.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();
use POSIX qw(mkfifo);
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MMMaildir qw(maildir_files);
use MigrateMail qw(mbox_to_maildir verify_maildir);
use MigrateMail::Mbox;

my $M2V  = 'bin/mbox2vpopmail';
my $MBOX = 't/data/repair.mbox';
my $dir  = tempdir(CLEANUP => 1);
$SIG{ALRM} = sub { die "timed out\n" };

# The messages' bytes by subject, as an mboxo reader gives them (the
# file is mboxo: "From " lines quoted, ">From " ones left alone).
my %want;
{
	my $mb = MigrateMail::Mbox->new($MBOX, format => 'mboxo');
	while (my $m = $mb->next) {
		my $c = $m->content;
		$want{ ($c =~ /^Subject: (\w+)/m)[0] } = $c;
	}
}
is(scalar keys %want, 5, 'the fixture has five messages');

# "new/NAME" by subject.
sub names {
	my ($md) = @_;
	my ($files) = maildir_files($md);
	my %n;
	for my $k (keys %$files) {
		my ($s) = $files->{$k}{content} =~ /^Subject: (\w+)/m;
		$n{$s // "?$k"} = $k;
	}
	return \%n;
}

sub m2v {
	my (@args) = @_;
	local $SIG{ALRM} = sub { die "timed out\n" };
	alarm 60;
	my @r = eval { run_script($M2V, @args) };
	alarm 0;
	return @r ? @r : ('', "timed out: $@", -1);
}

# --- damaged three ways ------------------------------------------------
my $md = "$dir/md";
my ($out, $err, $st) = m2v('--format', 'mboxo', '--maildir', $md, $MBOX);
is($st, 0, 'first run') or diag $err;
like($out, qr/: 5 messages, \d+ bytes, 2 new, 3 cur, 0 skipped, 0 failed/, '5 delivered');
my $n = names($md);
my ($files) = maildir_files($md);
my %mtime = map { ($_ => $files->{ $n->{$_} }{mtime}) } keys %$n;
like($n->{$_}, qr/,S=\d+(?::2,|\z)/, "$_: its name promises a size") for sort keys %$n;
if ($> == 0) {
	# a user's Maildir: what repairs create is theirs
	system('chown', '-R', '65534:65534', $md) == 0 or die;
}

# one (in cur/, its flags changed by the user since): emptied
(my $one = $n->{one}) =~ s/:2,S\z/:2,FS/ or die $n->{one};
rename "$md/$n->{one}", "$md/$one" or die;
truncate "$md/$one", 0 or die;
# four: short
truncate "$md/$n->{four}", 40 or die;
# five: the right size, the wrong bytes
(my $bad = $want{five}) =~ tr/a-z/A-Z/;
spew("$md/$n->{five}", $bad);
is(-s "$md/$n->{five}", length $want{five}, 'five: same size, other bytes');

($out, $err, $st) = m2v('--format', 'mboxo', '--maildir', $md, '--report', "$dir/r1.json", $MBOX);
is($st, 0, 'a plain re-run: exit 0') or diag $err;
like($out, qr/: 5 messages, 0 bytes, 0 new, 0 cur, 3 skipped, 2 repaired, 0 failed, 0 warnings/,
     'repairs the empty and the short file and says so');
my $rep = JSON::PP->new->decode(slurp("$dir/r1.json"));
is($rep->{mailboxes}[0]{repaired}, 2, 'the JSON report counts them per mailbox');
is($rep->{totals}{repaired}, 2, 'and in the totals');
my $tmp;
($files, $tmp) = maildir_files($md);
is(scalar keys %$files, 5, 'still five files');
is_deeply($tmp, [], 'nothing left in tmp/');
is($files->{$one}{content}, $want{one}, 'one repaired');
is($files->{$one}{info}, 'FS', 'under its name, with the flags it has now');
is($files->{ $n->{four} }{content}, $want{four}, 'four repaired, same name');
is($files->{ $n->{five} }{content}, $bad, 'five untouched: names and sizes say nothing of bytes');
is($files->{$one}{mtime}, $mtime{one}, 'a repair has the mtime of a delivery');
is($files->{$one}{mode}, 0600, 'and its mode');
if ($> == 0) {
	is($files->{$one}{uid}, 65534, "and it is the Maildir owner's");
	is($files->{ $n->{four} }{gid}, 65534, 'group too');
}

($out, $err, $st) = m2v('--format', 'mboxo', '--maildir', $md, $MBOX);
is($st, 0, 'another re-run');
like($out, qr/: 5 messages, 0 bytes, 0 new, 0 cur, 5 skipped, 0 failed/, 'nothing to repair now');
unlike($out, qr/repaired/, 'and the summary does not speak of repairs');

my $five_mtime = (stat "$md/$n->{five}")[9];
($out, $err, $st) = m2v('--verify', '--format', 'mboxo', '--maildir', $md, $MBOX);
is($st, 3, '--verify: exit 3');
like($err, qr/^ERROR: \Q$MBOX\E: message 5, offset \d+: \Q$n->{five}\E differs from the mbox at byte 1 of the message$/m,
     'it names the file that differs');
like($out, qr/4 verified/, 'the others verified');
is(slurp("$md/$n->{five}"), $bad, '--verify alone changes nothing');
is((stat "$md/$n->{five}")[9], $five_mtime, 'not even the mtime');

($out, $err, $st) = m2v('--verify', '--repair', '-v', '--format', 'mboxo', '--maildir', $md,
			'--report', "$dir/r2.json", $MBOX);
is($st, 0, '--verify --repair: exit 0') or diag $err;
like($out, qr/5 skipped, 1 repaired, 0 failed, 1 warnings, 4 verified/, 'one repaired');
like($err, qr/^WARNING: \Q$MBOX\E: message 5, offset \d+: \Q$n->{five}\E differs from the mbox at byte 1 of the message: delivered again over it$/m,
     'said with -v');
unlike($err, qr/ERROR/, 'no ERROR');
is(slurp("$md/$n->{five}"), $want{five}, 'five repaired, under its name');
is(JSON::PP->new->decode(slurp("$dir/r2.json"))->{totals}{repaired}, 1, 'in the report');
($files, $tmp) = maildir_files($md);
is(scalar keys %$files, 5, 'still five files');
is_deeply($tmp, [], 'nothing in tmp/');

($out, $err, $st) = m2v('--verify', '--format', 'mboxo', '--maildir', $md, $MBOX);
is($st, 0, 'then --verify passes') or diag $err;
like($out, qr/5 verified/, 'all five');
is_deeply(names($md), { %$n, one => $one }, 'every file kept its name');

# the functions
ok(!eval { mbox_to_maildir($MBOX, $md, repair => 1); 1 }, 'repair without verify croaks');
like($@, qr/^ERROR: option 'repair' needs 'verify'/, 'saying so');
my $v = verify_maildir($MBOX, $md, format => 'mboxo');
is_deeply([ @{$v}{qw(verified missing mismatched repaired)} ], [ 5, 0, 0, 0 ], 'verify_maildir: all there');

# missing, and repaired from a pipe (read once: the bytes before the
# difference come from the file)
unlink "$md/$n->{two}" or die;
spew("$md/$n->{five}", $bad);
open my $pipe, '-|', 'cat', $MBOX or die;
$v = verify_maildir($pipe, $md, format => 'mboxo', repair => 1);
close $pipe;
is_deeply([ @{$v}{qw(verified missing mismatched repaired)} ], [ 3, 1, 1, 2 ],
	  'verify_maildir(repair): one missing, one different, both repaired, from a pipe');
is_deeply($v->{errors}, [], 'no errors');
like(join("\n", map { $_->{message} } @{ $v->{warnings} }),
     qr/message 2, offset \d+: missing from the Maildir: delivered again/, 'the missing one noted');
is(slurp("$md/$n->{two}"), $want{two}, 'two back, under its name');
is(slurp("$md/$n->{five}"), $want{five}, 'five right again');
$v = verify_maildir($MBOX, $md, format => 'mboxo');
is($v->{verified}, 5, 'all verified');

# a difference after the first 64 KiB, and a file longer than its
# message, from a pipe
{
	my $big = "$dir/big.mbox";
	my $body = join '', map { sprintf "line %06d of a long message\n", $_ } 1 .. 5000;
	spew($big, "From a\@b Mon Jan  1 12:00:00 2001\nSubject: big\n\n$body\n"
		 . "From a\@b Mon Jan  1 12:00:01 2001\nSubject: small\n\nsmall\n");
	my $bmd = "$dir/big-md";
	mbox_to_maildir($big, $bmd);
	my $bn = names($bmd);
	my $f = slurp("$bmd/$bn->{big}");
	substr($f, 100_000, 4) = 'XXXX';
	spew("$bmd/$bn->{big}", $f);
	spew("$bmd/$bn->{small}", "Subject: small\n\nsmall\nand more\n");
	open my $p, '-|', 'cat', $big or die;
	$v = verify_maildir($p, $bmd, repair => 1);
	close $p;
	is_deeply([ @{$v}{qw(verified mismatched repaired)} ], [ 0, 2, 2 ], 'big and long: repaired');
	like($v->{warnings}[0]{text}, qr/differs from the mbox at byte 100000 of the message/, 'where it differed');
	is(slurp("$bmd/$bn->{big}"), "Subject: big\n\n$body", 'the big one is right');
	is(slurp("$bmd/$bn->{small}"), "Subject: small\n\nsmall\n", 'the long one too');
	is(verify_maildir($big, $bmd)->{verified}, 2, 'verified');
}

# --- the wrong --format ---------------------------------------------
my $md2 = "$dir/md2";
($out, $err, $st) = m2v('--format', 'mboxrd', '--maildir', $md2, $MBOX);
is($st, 0, 'first run with the wrong --format');
my $n2 = names($md2);
isnt(slurp("$md2/$n2->{three}"), $want{three}, "three lost a '>'");
($out, $err, $st) = m2v('--format', 'mboxo', '--maildir', $md2, $MBOX);
like($out, qr/5 skipped, 0 failed/, 'a re-run with the right one sees names and sizes: all there');
($out, $err, $st) = m2v('--verify', '--format', 'mboxo', '--maildir', $md2, $MBOX);
is($st, 3, '--verify: exit 3');
like($err, qr/\Q$n2->{three}\E differs from the mbox at byte \d+/, 'three differs');
($out, $err, $st) = m2v('--verify', '--repair', '--format', 'mboxo', '--maildir', $md2, $MBOX);
is($st, 0, '--verify --repair with the right --format: exit 0') or diag $err;
like($out, qr/1 repaired/, 'one repaired');
my $n2b = names($md2);
is(slurp("$md2/$n2b->{three}"), $want{three}, 'three is right');
(my $renamed = $n2->{three}) =~ s/,S=\d+/',S=' . length $want{three}/e;
is($n2b->{three}, $renamed, 'its name is the same but for the size it promises');
is_deeply([ map { $n2b->{$_} } qw(one two four five) ], [ map { $n2->{$_} } qw(one two four five) ],
	  'the others kept theirs');
($out, $err, $st) = m2v('--verify', '--format', 'mboxo', '--maildir', $md2, $MBOX);
is($st, 0, 'then --verify passes') or diag $err;
($out, $err, $st) = m2v('--format', 'mboxo', '--maildir', $md2, $MBOX);
like($out, qr/5 skipped, 0 failed/, 'and a re-run has nothing to repair');

# --- --repair alone ---------------------------------------------------
($out, $err, $st) = m2v('--repair', '--maildir', $md2, $MBOX);
is($st, 2, '--repair without --verify: usage error');
like($err, qr/^ERROR: --repair works with --verify/, 'saying so');

# --- planted files ----------------------------------------------------
my $md3 = "$dir/md3";
($out, $err, $st) = m2v('--format', 'mboxo', '--maildir', $md3, $MBOX);
is($st, 0, 'first run');
my $n3 = names($md3);
my $victim = spew("$dir/victim", "precious\n");
my $victim2 = spew("$dir/victim2", "precious\n");
# two: a FIFO under its name; four: a symlink to a short file; one: a
# hard link to a file of another size
unlink "$md3/$n3->{two}", "$md3/$n3->{four}", "$md3/$n3->{one}" or die;
mkfifo("$md3/$n3->{two}", 0600) or die;
symlink $victim, "$md3/$n3->{four}" or die;
link $victim2, "$md3/$n3->{one}" or die;
# three: empty, and an empty second copy (another host's name) in new/;
# five: sound, and an empty second copy in new/
(my $base3 = $n3->{three}) =~ s{^cur/(.*?)\.[^.]*(,S=\d+):2,.*}{$1.otherhost$2} or die;
truncate "$md3/$n3->{three}", 0 or die;
spew("$md3/new/$base3", '');
(my $base5 = $n3->{five}) =~ s{^cur/(.*?)\.[^.]*(,S=\d+):2,.*}{$1.otherhost$2} or die;
spew("$md3/new/$base5", '');

($out, $err, $st) = m2v('--format', 'mboxo', '--maildir', $md3, $MBOX);
isnt($st, -1, 'a re-run over a FIFO finishes') or diag $err;
is($st, 3, 'exit 3: two names are taken by what is not a file');
like($out, qr/0 new, 0 cur, 1 skipped, 2 repaired, 2 failed/, 'one and three repaired, five present');
like($err, qr/^ERROR: .*message 2, offset \d+: cannot move .*File exists$/m, 'the FIFO is an ERROR');
like($err, qr/^ERROR: .*message 4, offset \d+: cannot move .*File exists$/m, 'the symlink too');
is(slurp($victim), "precious\n", 'nothing written through the symlink');
is(slurp($victim2), "precious\n", 'nor through the hard link');
ok(-p "$md3/$n3->{two}", 'the FIFO is left as it is');
ok(-l "$md3/$n3->{four}", 'the symlink too');
is(slurp("$md3/$n3->{one}"), $want{one}, 'the hard link was replaced by the message');
my @three = grep { length } map { slurp($_) } "$md3/$n3->{three}", "$md3/new/$base3";
is_deeply(\@three, [ $want{three} ], 'of the two empty copies of three, one is repaired');
is(slurp("$md3/new/$base5"), '', 'an empty copy beside a sound one is left alone');
opendir my $td, "$md3/tmp" or die;
is_deeply([ grep { !/^\./ } readdir $td ], [], 'nothing in tmp/');

($out, $err, $st) = m2v('--verify', '--repair', '--format', 'mboxo', '--maildir', $md3, $MBOX);
isnt($st, -1, '--verify --repair over a FIFO finishes') or diag $err;
is($st, 3, 'exit 3');
like($err, qr/^ERROR: .*message 2, offset \d+: cannot move .*File exists$/m, 'the FIFO is still an ERROR');
is(slurp($victim), "precious\n", 'nothing written through the symlink');
ok(-p "$md3/$n3->{two}" && -l "$md3/$n3->{four}", 'FIFO and symlink left as they are');
like($out, qr/3 verified/, 'the three sound ones verified');

done_testing;
