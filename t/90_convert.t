# mbox_to_maildir: byte-exact files, flags, new/cur, names, modes, mtimes;
# idempotent re-runs; verification.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMGen qw(gen_mbox);
use MMMaildir qw(maildir_files slurp quota_usage maildirsize_sum);
use MigrateMail qw(mbox_to_maildir verify_maildir);

$ENV{TZ} = 'UTC';
require POSIX;
POSIX::tzset();
my $dir = tempdir(CLEANUP => 1);

# The sample: one pseudo message, two seen, one new.
my $md = "$dir/sample/Maildir";
mkdir "$dir/sample";
# (uidl_names => 0: the UIDL naming has tests of its own, t/130_uids.t)
my $st = mbox_to_maildir('examples/sample.mbox', $md, host => 'testhost', uidl_names => 0);
is($st->{error}, undef, 'sample: no error');
is_deeply([ @{$st}{qw(messages delivered to_new to_cur skipped_pseudo failed)} ],
	  [ 4, 3, 1, 2, 1, 0 ], 'sample: counts');
is($st->{uidvalidity}, 1003923649, 'UIDVALIDITY of the pseudo message');
my ($files, $tmp) = maildir_files($md);
is(scalar keys %$files, 3, 'three files');
is_deeply($tmp, [], 'tmp/ empty');
my ($alice) = grep { $_->{content} =~ /Lunch on Friday/ } values %$files;
is($alice->{dir}, 'cur', 'seen message in cur/');
is($alice->{info}, 'RS', 'answered and seen: :2,RS');
like($alice->{name}, qr/^1003930860\.H[0-9a-f]{16}\.testhost,S=275:2,RS$/, 'name: time, hash, host, size, info');
is($alice->{size}, length $alice->{content}, 'S= is the exact size');
is($alice->{mtime}, 1003930860, 'mtime is the From_ line date');
is($alice->{mode}, 0600, 'file mode 0600');
unlike($alice->{content}, qr/^(?:Status|X-Status|X-UID):/m, 'mbox store headers gone');
like($alice->{content}, qr/^From what I remember/m, 'body From line unquoted');
my ($dave) = grep { $_->{content} =~ /never opened/ } values %$files;
is($dave->{dir}, 'new', 'unseen message in new/');
like($dave->{name}, qr/^\d+\.H[0-9a-f]{16}\.testhost,S=\d+$/, 'no info part in new/');
my ($carol) = grep { $_->{content} =~ /Quarterly/ } values %$files;
like($carol->{name}, qr/:2,$/, 'Status: O: cur/ with empty info');
is((stat "$md/$_")[2] & 07777, 0700, "$_/ created 0700") for qw(tmp new cur);
is((stat $md)[2] & 07777, 0700, 'Maildir created 0700');

# Idempotent: nothing added, whatever happened to the names since.
my ($oldname) = grep { /Quarterly/ ? 0 : 1 } ();
rename "$md/new/$dave->{name}", "$md/cur/$dave->{name}:2,S" or die;
$st = mbox_to_maildir('examples/sample.mbox', $md, host => 'otherhost', uidl_names => 0);
is_deeply([ @{$st}{qw(delivered skipped_present failed)} ], [ 0, 3, 0 ],
	  're-run adds nothing, even after a client moved and flagged a message');
is(scalar keys %{ (maildir_files($md))[0] }, 3, 'still three files');

# Every variant, thousands of messages, byte-exact.
for my $case ([ 'mboxo', 0, 20000 ], [ 'mboxrd' ], [ 'mboxcl' ], [ 'mboxcl2' ], [ 'mboxo', 1 ]) {
	my ($fmt, $crlf, $n) = @$case;
	$n //= 2000;
	my $what = $fmt . ($crlf ? ' CRLF' : '');
	my $src = "$dir/gen-$fmt-" . ($crlf ? 'crlf' : 'lf') . '.mbox';
	my @want = gen_mbox($src, n => $n, format => $fmt, crlf => $crlf);
	my $m = "$dir/md-$fmt-" . ($crlf ? 'crlf' : 'lf');
	$st = mbox_to_maildir($src, $m, format => $fmt, host => 'h');
	is($st->{error}, undef, "$what: no error");
	is($st->{delivered}, $n, "$what: $n delivered (identical copies too)");
	($files, $tmp) = maildir_files($m);
	my %by_time;
	push @{ $by_time{ $_->{mtime} } }, $_ for values %$files;
	my ($bad, $checked) = (0, 0);
	for my $w (@want) {
		my $cands = $by_time{ $w->{time} } || [];
		my ($f) = grep { $_->{content} eq $w->{content} } @$cands;
		if (!$f || ($f->{info} // '') ne $w->{flags}
		    || ($f->{dir} eq 'cur') != $w->{in_cur} || $f->{size} != length $f->{content}) {
			$bad++;
			diag("$what: expected message at $w->{time} (flags $w->{flags}) not found as expected")
			  if $bad < 3;
		}
		$checked++;
	}
	is($bad, 0, "$what: all $checked messages byte-exact with flags and placement");
	my $v = verify_maildir($src, $m, format => $fmt);
	is_deeply([ @{$v}{qw(verified missing mismatched)} ], [ $n, 0, 0 ], "$what: verify_maildir");
	$st = mbox_to_maildir($src, $m, format => $fmt, host => 'h', verify => 1);
	is_deeply([ @{$st}{qw(delivered skipped_present verified)} ], [ 0, $n, $n ],
		  "$what: second run: everything already present, verified");
}

# Without a From_ line the Date: header gives the date; without both, now.
open my $nf, '>:raw', "$dir/nofrom.mbox" or die;
print $nf "Date: Mon, 1 Jan 2001 12:00:00 +0100\nSubject: no From_ line\n\nbody\n\n",
  "From a\@example.com Mon Jan  1 12:00:00 2001\nSubject: dated\n\nbody\n";
close $nf;
mbox_to_maildir("$dir/nofrom.mbox", "$dir/md-nofrom", host => 'h');
my ($nofrom) = grep { $_->{content} =~ /no From_ line/ } values %{ (maildir_files("$dir/md-nofrom"))[0] };
is($nofrom->{mtime}, 978346800, 'no From_ line: mtime from the Date: header');
like($nofrom->{name}, qr/^978346800\.H/, 'and the name too');
open $nf, '>:raw', "$dir/nodate.mbox" or die;
# (before a From_ line: a file without any is not an mbox, t/360)
print $nf "Subject: neither From_ line nor Date\n\nbody\n\n",
  "From a\@example.com Mon Jan  1 12:00:00 2001\nSubject: dated\n\nbody\n";
close $nf;
mbox_to_maildir("$dir/nodate.mbox", "$dir/md-nodate", host => 'h');
my ($nodate) = grep { $_->{content} =~ /neither/ } values %{ (maildir_files("$dir/md-nodate"))[0] };
cmp_ok(abs($nodate->{mtime} - time), '<', 60, 'no date at all: mtime is now');
like($nodate->{name}, qr/^0\.H[0-9a-f]{16}\.h,S=/, 'and the name is still deterministic');

# Verification notices a changed or missing file.
($files) = maildir_files($md);
my @names = sort keys %$files;
open my $fh, '>>:raw', "$md/$names[0]" or die;
print $fh "tampered\n";
close $fh;
unlink "$md/$names[1]" or die;
my $v = verify_maildir('examples/sample.mbox', $md, uidl_names => 0);
is_deeply([ @{$v}{qw(verified missing mismatched)} ], [ 1, 1, 1 ], 'verify finds changes');
like(join("\n", map { $_->{message} } @{ $v->{errors} }),
     qr/^ERROR: examples\/sample.mbox: message \d, offset \d+: (?:new|cur)\/\S+ differs from the mbox at byte \d+/m,
     'mismatch named with message and offset');

# Every fsync mode gives the same Maildir; maildirsize is kept up to date.
my @want = gen_mbox("$dir/modes.mbox", n => 300);
my %names;
for my $mode (qw(batch each none)) {
	my $m = "$dir/mode-$mode";
	mkdir $m;
	open my $q, '>', "$m/maildirsize" or die;
	print $q "10000000S\n0 0\n";
	close $q;
	$st = mbox_to_maildir("$dir/modes.mbox", $m, fsync => $mode, batch => 7, host => 'h');
	is($st->{delivered}, 300, "fsync=$mode: delivered");
	$names{$mode} = join ',', sort map { s/^\w+\///r } keys %{ (maildir_files($m))[0] };
	my ($bytes, $count, $def) = maildirsize_sum($m);
	my ($ubytes, $ucount) = quota_usage($m);
	my $deleted = grep { $_->{flags} =~ /T/ } @want;
	ok($deleted > 0, "fsync=$mode: some messages are flagged deleted");
	is($count, 300 - $deleted, "fsync=$mode: maildirsize counts every message but the T-flagged (as vpopmail)");
	is($ucount, $count, "fsync=$mode: which is what a recount finds");
	is($bytes, $ubytes, "fsync=$mode: maildirsize counts every byte a recount finds");
	is($def, '10000000S', "fsync=$mode: the quota definition is kept");
}
is($names{each}, $names{batch}, 'fsync=each: same names');
is($names{none}, $names{batch}, 'fsync=none: same names');

# Leftovers of a killed run are removed from tmp/, others are not.
my $m = "$dir/leftovers";
mkdir $m;
mkdir "$m/$_" for qw(tmp new cur);
for my $n ('1000.H0123456789abcdef.h', '1000.H0123456789abcdef_2.otherhost', 'foreign.delivery') {
	open my $t, '>', "$m/tmp/$n" or die;
	close $t;
}
$st = mbox_to_maildir('examples/sample.mbox', $m);
is($st->{tmp_cleaned}, 2, 'our two leftovers removed');
is_deeply((maildir_files($m))[1], ['foreign.delivery'], 'a foreign tmp/ file is left alone');

# Argument errors.
ok(!eval { mbox_to_maildir('examples/sample.mbox', $m, fsync => 'sometimes'); 1 }, 'bad fsync mode croaks');
like($@, qr/^ERROR: unknown fsync mode 'sometimes'/, 'naming it');
ok(!eval { mbox_to_maildir('examples/sample.mbox', $m, colour => 1); 1 }, 'unknown option croaks');
$st = mbox_to_maildir("$dir/no-such.mbox", $m);
like($st->{error}, qr{^ERROR: \Q$dir\E/no-such.mbox: cannot open mbox: No such file}, 'missing mbox: ERROR');
$st = mbox_to_maildir('examples/sample.mbox', "$dir/no/such/dir/Maildir");
like($st->{error}, qr{^ERROR: examples/sample.mbox: cannot create Maildir in \Q$dir\E/no/such/dir: No such file},
     'missing parent directory: ERROR');

done_testing;
