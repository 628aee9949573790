# The UID lists over a cut-over pass: a first pass writes dovecot-uidlist
# and courierimapuiddb from X-IMAPbase/X-UID; messages that arrive on
# the old server after it (numbered by it) and messages deleted there
# are in and out of the lists after a --sync pass, as long as each list
# is still byte for byte what we wrote (migratemail-uidlists). A list
# the server changed is left alone; so are both when the old server
# renumbered (a new UIDVALIDITY), with a WARNING.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MMSync qw(uid_mbox ours);
use MigrateMail qw(mbox_to_maildir);

my $dir = tempdir(CLEANUP => 1);
sub mm { return run_script('bin/mbox2vpopmail', @_) }
sub base { return $_[0] =~ s{^(?:new|cur)/}{}r =~ s/:2,.*//r }

# UID => base name of the message with that Message-ID.
sub expected {
	my ($md, @ids) = @_;
	my $f = ours($md);
	my %by;
	for my $k (keys %$f) {
		$by{$1} = base($k) if $f->{$k} =~ /^Message-ID: <(\d+)\@old\.example>$/m;
	}
	return map { [ $_, $by{$_} ] } @ids;
}

sub parse_dovecot {
	my ($t) = @_;
	my @l = split /\n/, $t;
	my ($head) = shift(@l) =~ /\A(3 V\d+ N\d+)\z/ or return;
	return ($head, map { /^(\d+) (?:P\S+ )?:(\S+)$/ ? [ $1, $2 ] : ['bad', $_] } @l);
}

sub parse_courier {
	my ($t) = @_;
	my @l = split /\n/, $t;
	my ($head) = shift(@l) =~ /\A(1 \d+ \d+)\z/ or return;
	return ($head, map { /^(\d+) (\S+)$/ ? [ $1, $2 ] : ['bad', $_] } @l);
}

my ($mbox, $md) = ("$dir/alice", "$dir/Maildir");
spew($mbox, uid_mbox(1100000000, 3, 1 .. 3));
my ($out, $err, $rc) = mm('--maildir', $md, $mbox);
is($rc, 0, 'pass 1') or diag $err;
my ($h, @l) = parse_dovecot(slurp("$md/dovecot-uidlist"));
is($h, '3 V1100000000 N4', 'pass 1: dovecot-uidlist header');
is_deeply(\@l, [ expected($md, 1 .. 3) ], 'pass 1: UIDs 1-3');
like(slurp("$md/migratemail-uidlists"),
     qr/\Amigratemail-uidlists 1\ndovecot-uidlist \d+ mm64:[0-9a-f]{16}\ncourierimapuiddb \d+ mm64:[0-9a-f]{16}\n\z/,
     'what was written is recorded');
is((stat "$md/migratemail-uidlists")[2] & 07777, 0600, 'the record is 0600');

# two messages arrive on the old server (UIDs 7, 8: 4-6 went to mail
# deleted there before the cut-over), message 2 is deleted
spew($mbox, uid_mbox(1100000000, 8, 1, 3, 7, 8));
($out, $err, $rc) = mm('--sync', '--maildir', $md, '--report', "$dir/r2.json", $mbox);
is($rc, 0, 'the cut-over pass') or diag $err;
like($out, qr/: 4 messages, \d+ bytes, 0 new, 2 cur, 2 skipped, 0 re-flagged, 1 removed, /, 'two added, one removed') or diag $out;
($h, @l) = parse_dovecot(slurp("$md/dovecot-uidlist"));
is($h, '3 V1100000000 N9', 'dovecot-uidlist: same UIDVALIDITY, next UID 9');
my @want = expected($md, 1, 3, 7, 8);
is(scalar(grep { defined $_->[1] } @want), 4, 'the four messages are there');
is_deeply(\@l, \@want, 'dovecot-uidlist: 1, 3, 7, 8 with their files');
($h, @l) = parse_courier(slurp("$md/courierimapuiddb"));
is($h, '1 1100000000 9', 'courierimapuiddb header');
is_deeply(\@l, \@want, 'courierimapuiddb: 1, 3, 7, 8 with their files');
ok(!-e "$md/dovecot-uidlist.mmtmp" && !-e "$md/courierimapuiddb.mmtmp", 'no tmp left');
is((stat "$md/dovecot-uidlist")[2] & 07777, 0600, 'still 0600');

# through the API, a later complete pass (no --sync) counts its rewrites
spew("$dir/bob", uid_mbox(1100000000, 2, 1, 2));
my $st = mbox_to_maildir("$dir/bob", "$dir/Bob");
is($st->{uid_lists_written}, 2, 'API pass 1: two lists');
spew("$dir/bob", uid_mbox(1100000000, 3, 1 .. 3));
$st = mbox_to_maildir("$dir/bob", "$dir/Bob");
is_deeply([ @{$st}{qw(delivered uid_lists_written)} ], [ 1, 2 ], 'API pass 2: one more message, both lists rewritten');
like(slurp("$dir/Bob/courierimapuiddb"), qr/\A1 1100000000 4\n1 \S+\n2 \S+\n3 \S+\n\z/, 'with it');
$st = mbox_to_maildir("$dir/bob", "$dir/Bob");
is($st->{uid_lists_written}, 0, 'API pass 3: nothing new, nothing written');

# the same pass again: the same lists, not written
my @ino = map { (stat "$md/$_")[1] } qw(dovecot-uidlist courierimapuiddb);
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
is($rc, 0, 'a pass with nothing new') or diag $err;
is_deeply([ map { (stat "$md/$_")[1] } qw(dovecot-uidlist courierimapuiddb) ], \@ino, 'lists not rewritten');

# the server touched them: Dovecot appended a line, Courier changed a byte
my $dl = slurp("$md/dovecot-uidlist") . "9 :1234567890.M1P1.new,S=10\n";
spew("$md/dovecot-uidlist", $dl);
(my $cl = slurp("$md/courierimapuiddb")) =~ s/\A1 1100000000 9/1 1100000000 10/;
spew("$md/courierimapuiddb", $cl);
spew($mbox, uid_mbox(1100000000, 9, 1, 3, 7, 8, 9));
($out, $err, $rc) = mm('--sync', '--maildir', $md, $mbox);
is($rc, 0, 'a pass after the server wrote the lists') or diag $err;
like($out, qr/: 5 messages, \d+ bytes, 0 new, 1 cur, 4 skipped, /, 'the message delivered');
is(slurp("$md/dovecot-uidlist"), $dl, 'dovecot-uidlist: the server\'s, left alone');
is(slurp("$md/courierimapuiddb"), $cl, 'courierimapuiddb: the server\'s, left alone');

# the old server renumbered: a new UIDVALIDITY, lists left alone
my $md2 = "$dir/Maildir2";
spew($mbox, uid_mbox(1100000000, 3, 1 .. 3));
($out, $err, $rc) = mm('--maildir', $md2, $mbox);
is($rc, 0, 'pass 1 of another') or diag $err;
my @keep = map { slurp("$md2/$_") } qw(dovecot-uidlist courierimapuiddb);
spew($mbox, uid_mbox(1200000000, 4, 1 .. 4));
($out, $err, $rc) = mm('--sync', '--maildir', $md2, '--report', "$dir/r3.json", $mbox);
is($rc, 0, 'a pass with a new UIDVALIDITY') or diag "$out$err";
like(slurp("$dir/r3.json"), qr/"WARNING: [^"]*UIDVALIDITY is 1200000000, dovecot-uidlist has 1100000000 .*left alone/m,
     'a WARNING says so');
is_deeply([ map { slurp("$md2/$_") } qw(dovecot-uidlist courierimapuiddb) ], \@keep, 'both lists left alone');

# a message the list lacks with a UID below its next one would renumber
# what a server may have seen: left alone, with a WARNING
my $md4 = "$dir/Maildir4";
spew($mbox, uid_mbox(1100000000, 5, 1, 5));
($out, $err, $rc) = mm('--maildir', $md4, $mbox);
is($rc, 0, 'pass 1 with UIDs 1 and 5') or diag $err;
@keep = map { slurp("$md4/$_") } qw(dovecot-uidlist courierimapuiddb);
spew($mbox, uid_mbox(1100000000, 5, 1, 3, 5));
($out, $err, $rc) = mm('--sync', '--maildir', $md4, '--report', "$dir/r4.json", $mbox);
is($rc, 0, 'a pass with a UID 3 now') or diag "$out$err";
like(slurp("$dir/r4.json"), qr/"WARNING: [^"]*dovecot-uidlist left alone: the mbox gives UID 3 to a message it does not list so, below its next UID 6"/,
     'a WARNING says so');
is_deeply([ map { slurp("$md4/$_") } qw(dovecot-uidlist courierimapuiddb) ], \@keep, 'both lists left alone');

# a list replaced by a symlink is no list: reported, not followed
my $md3 = "$dir/Maildir3";
spew($mbox, uid_mbox(1100000000, 3, 1 .. 3));
($out, $err, $rc) = mm('--maildir', $md3, $mbox);
spew("$dir/elsewhere", "precious\n");
unlink "$md3/dovecot-uidlist" or die;
symlink "$dir/elsewhere", "$md3/dovecot-uidlist" or die;
spew($mbox, uid_mbox(1100000000, 4, 1 .. 4));
($out, $err, $rc) = mm('--sync', '--maildir', $md3, $mbox);
like($err, qr/^ERROR: .*cannot write dovecot-uidlist: it is not a regular file; left alone$/m, 'a symlink: reported');
is(slurp("$dir/elsewhere"), "precious\n", 'its target untouched');
ok(-l "$md3/dovecot-uidlist", 'the link left as it is');
($h, @l) = parse_courier(slurp("$md3/courierimapuiddb"));
is(scalar(@l), 4, 'courierimapuiddb still rewritten, with the new message');
done_testing;
