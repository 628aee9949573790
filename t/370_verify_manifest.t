# --verify-manifest FILE: the Maildir against the manifest of an
# earlier pass, without the mbox: every file listed there, with its
# size and digest; what is missing or different is an ERROR with the
# message number and offset of the manifest; exit 0/1 as --verify; a
# file that is not a manifest of ours checks nothing.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use JSON::PP ();
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MMSync qw(msg mbox_text write_mbox ours);

my $dir = tempdir(CLEANUP => 1);
sub mm { return run_script('bin/mbox2vpopmail', @_) }
sub find_file {
	my ($files, $n) = @_;
	my ($f) = grep { $files->{$_} =~ /^Subject: message $n\n/m } keys %$files;
	return $f;
}
sub lines { return map { JSON::PP->new->decode($_) } split /\n/, slurp($_[0]) }

my ($mbox, $md, $mf) = ("$dir/alice", "$dir/Maildir", "$dir/pass1.jsonl");
write_mbox($mbox, map { msg($_, $_ % 2 ? (status => 'RO') : ()) } 1 .. 8);
my ($out, $err, $rc) = mm('--maildir', $md, '--manifest', $mf, $mbox);
is($rc, 0, 'a pass with a manifest') or diag $err;
($out, $err, $rc) = mm('--verify-manifest', $mf);
is($rc, 0, 'verify-manifest: exit 0') or diag $err;
like($out, qr/^\Q$mf\E: 8 files, 8 verified, 0 missing, 0 different, [0-9.]+ s$/, 'every file verified');
is($err, '', 'nothing to say');

# the new server changes flags and moves new/ to cur/: still verified
my $files = ours($md);
my $f2 = find_file($files, 2);
my $f2cur = $f2 =~ s{^new/(.*)}{cur/$1:2,S}r;
rename "$md/$f2", "$md/$f2cur" or die;
my $f3 = find_file($files, 3);
rename "$md/$f3", "$md/" . ($f3 =~ s/:2,S$/:2,FS/r) or die;
($out, $err, $rc) = mm('--verify-manifest', $mf);
is($rc, 0, 'flags changed on the new server: still exit 0') or diag $err;
like($out, qr/ 8 files, 8 verified, /, 'found by base name');

# damage: a byte flipped (same size), a file cut, a file gone
my $f4 = find_file($files, 4);
my $b4 = $files->{$f4};
substr($b4, 10, 1) = substr($b4, 10, 1) eq 'x' ? 'y' : 'x';
spew("$md/$f4", $b4);
my $f5 = find_file($files, 5);
spew("$md/$f5", substr($files->{$f5}, 0, 20));
my $f6 = find_file($files, 6);
unlink "$md/$f6" or die;
my %line = map { ($_->{number} => $_) } lines($mf);
my ($o4, $o5, $o6) = map { $line{$_}{offset} } 4 .. 6;
($out, $err, $rc) = mm('--verify-manifest', $mf);
is($rc, 1, 'damage: exit 1');
like($out, qr/^\Q$mf\E: 8 files, 5 verified, 1 missing, 2 different, [0-9.]+ s, FAILED$/, 'counted');
my @e = split /\n/, $err;
is(scalar @e, 3, 'three ERROR lines') or diag $err;
like($e[0], qr/^ERROR: \Q$mf\E: message 4, offset $o4 \(\Q$mbox\E\): \Q$f4\E in \Q$md\E: its bytes differ from those the manifest lists \(digest mm64:[0-9a-f]{16}, not :[0-9a-f]{16}\)$/,
     'a byte changed: found by the digest, with the message number and offset');
like($e[1], qr/^ERROR: \Q$mf\E: message 5, offset $o5 \(\Q$mbox\E\): \Q$f5\E in \Q$md\E: it has 20 bytes, the manifest says \d+$/,
     'a file cut short');
like($e[2], qr/^ERROR: \Q$mf\E: message 6, offset $o6 \(\Q$mbox\E\): \Q$f6\E in \Q$md\E: missing from the Maildir$/,
     'a file gone');
($out, $err, $rc) = mm('-q', '--verify-manifest', $mf);
is($out, '', '-q: no summary line');
is($rc, 1, 'the same exit status');

# --maildir: every line against another Maildir (here a good copy)
my $copy = "$dir/Copy";
mm('--maildir', $copy, $mbox);
($out, $err, $rc) = mm('--verify-manifest', $mf, '--maildir', $copy);
is($rc, 0, '--maildir: the lines against a good copy') or diag $err;
like($out, qr/ 8 files, 8 verified, /, 'all there');

# a --sync pass's manifest: re-flagged and removed lines
write_mbox($mbox, map { msg($_, status => 'RO') } 1 .. 3, 7, 8);
spew("$md/$f4", $files->{$f4});
spew("$md/$f5", $files->{$f5});
($out, $err, $rc) = mm('--sync', '--maildir', $md, '--manifest', "$dir/pass2.jsonl", $mbox);
my @l2 = lines("$dir/pass2.jsonl");
is_deeply([ sort map { $_->{action} } @l2 ], [ sort qw(present present conflict present re-flagged removed removed) ],
	  "the second manifest: present, a conflict, re-flagged, removed (6 was gone already)") or diag explain \@l2;
($out, $err, $rc) = mm('--verify-manifest', "$dir/pass2.jsonl");
is($rc, 0, 'a sync pass manifest verifies') or diag $err;
like($out, qr/ 5 files, 5 verified, 0 missing, 0 different, /, 'the five messages (removed files not checked)');

# a batch manifest: each line in its own Maildir
my $vp = "$dir/vpopmail";
make_path("$vp/bin", map { "$vp/domains/example.com/$_" } qw(ann ben));
system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;
make_path("$dir/spool");
write_mbox("$dir/spool/ann", map { msg($_) } 1 .. 4);
write_mbox("$dir/spool/ben", map { msg($_) } 11 .. 13);
($out, $err, $rc) = mm('--dir', "$dir/spool", '--domain', 'example.com', '--vpopmail-bin', "$vp/bin",
		       '--manifest', "$dir/batch.jsonl");
is($rc, 0, 'a batch with a manifest') or diag $err;
($out, $err, $rc) = mm('--verify-manifest', "$dir/batch.jsonl");
is($rc, 0, 'the batch manifest verifies') or diag $err;
like($out, qr/ 7 files, 7 verified, /, 'both Maildirs');
my $benmd = "$vp/domains/example.com/ben/Maildir";
unlink glob("$benmd/new/*") or die;
($out, $err, $rc) = mm('--verify-manifest', "$dir/batch.jsonl");
is($rc, 1, "ben's files gone: exit 1");
like($out, qr/ 7 files, 4 verified, 3 missing, /, "ben's 3 missing") or diag $err;
like($err, qr/^ERROR: \Q$dir\E\/batch\.jsonl: message 1, offset 0 \(\Q$dir\E\/spool\/ben\): new\/\S+ in \Q$benmd\E: missing from the Maildir$/m,
     'naming the source and the Maildir');

# not a manifest of ours: nothing checked
for my $case ([ 'the mbox', $mbox ], [ 'JSON of another shape', '{"a":1}' . "\n" ],
	      [ 'a line cut short', substr(slurp($mf), 0, 100) . "\n" ],
	      [ 'an unknown action', slurp($mf) =~ s/"action":"delivered"/"action":"eaten"/r ],
	      [ 'an empty file', '' ]) {
	my ($what, $text) = @$case;
	my $p = $text eq $mbox ? $mbox : spew("$dir/bad", $text);
	($out, $err, $rc) = mm('--verify-manifest', $p);
	is($rc, 1, "$what: exit 1");
	like($err, qr/^ERROR: \Q$p\E: (?:line 1 is not a line of a manifest of this tool \(mbox2vpopmail --manifest\): nothing checked|not a manifest of this tool \(mbox2vpopmail --manifest\): it is empty)$/,
	     "$what: one ERROR, not ours") or diag $err;
	is($out, '', "$what: no summary");
}
spew("$dir/bad", slurp($mf) =~ s/"digest":"mm64:/"digest":"sha256:/r);
($out, $err, $rc) = mm('--verify-manifest', "$dir/bad");
like($err, qr/^ERROR: \Q$dir\E\/bad: line 1: digest 'sha256:[0-9a-f]+' is not one this version knows/, 'a digest of another kind: refused');
is($rc, 1, 'exit 1');
spew("$dir/bad", slurp($mf) =~ s/"maildir":"[^"]*",//gr);
($out, $err, $rc) = mm('--verify-manifest', "$dir/bad");
like($err, qr/^ERROR: \Q$dir\E\/bad: line 1 names no Maildir \(a manifest of an older version\): give --maildir$/,
     'a line without its Maildir: asks for --maildir');
($out, $err, $rc) = mm('--verify-manifest', "$dir/bad", '--maildir', $copy);
is($rc, 0, 'which then checks it') or diag $err;
($out, $err, $rc) = mm('--verify-manifest', "$dir/nothing-here");
is($rc, 1, 'a missing manifest: exit 1');
like($err, qr/^ERROR: .*nothing-here/, 'an ERROR naming it');

# a Maildir symlinked by a user is not followed (the conversion's rule)
symlink $copy, "$dir/link" or die;
spew("$dir/bad", slurp($mf) =~ s/"maildir":"[^"]*"/"maildir":"$dir\/link"/gr);
($out, $err, $rc) = mm('--verify-manifest', "$dir/bad");
is($rc, 1, 'a Maildir that is a symlink: exit 1');
like($err, qr/^ERROR: .*the Maildir cannot be opened: /m, 'not opened') or diag $err;

# usage
($out, $err, $rc) = mm('--verify-manifest', $mf, $mbox);
is($rc, 2, 'with an mbox: usage error');
like($err, qr/^ERROR: --verify-manifest takes no mbox or address/m, 'saying so');
($out, $err, $rc) = mm('--verify-manifest', $mf, '--sync');
is($rc, 2, 'with --sync: usage error');
like($err, qr/^ERROR: --verify-manifest checks a Maildir against a manifest, without an mbox: not with --sync$/m, 'saying so');
done_testing;
