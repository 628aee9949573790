# The target vpopmail's limits (sendmail-list --vpopmail 5.4|5.6), the
# makeusers header, the inventory's spool size against --quota, the
# over-quota WARNING of mbox2vpopmail and batch files that would share a
# Maildir. The same against a real vpopmail: xt/vpopmail/e2e.t.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use JSON::PP ();
use lib 't/lib';
use MMRun qw(run_script slurp spew list_lines);
use MigrateMail;
use MigrateMail qw(password_hash);
use MigrateMail::SendmailList qw(makeusers_header quota_bytes);

my $tmp = tempdir(CLEANUP => 1);
my $h = password_hash('pw', method => '$6$');
my $n33 = 'n' x 33;
my $g54 = ('G' x 47) . "\xc3\xa9" . 'xyz,room';     # byte 48 cuts the e-acute
my %acc = (alice => [ 'Alice', $h ], $n33 => [ 'N', $h ], gecos => [ $g54, $h ],
	   longhash => [ 'L', '$6$' . ('a' x 16) . '$' . ('b' x 110) ]);
my $uid = 1000;
spew("$tmp/passwd", join '', map { "$_:x:" . $uid++ . ":100:$acc{$_}[0]:/home/$_:/bin/sh\n" } sort keys %acc);
spew("$tmp/shadow", join '', map { "$_:$acc{$_}[1]:19700:0:99999:7:::\n" } sort keys %acc);
my @FILES = ('--passwd', "$tmp/passwd", '--shadow', "$tmp/shadow");
sub sl { return run_script('bin/sendmail-list', '--domain', 'example.com', @_) }
sub names { return [ sort map { /(\S+)\@example\.com$/ ? $1 : () } list_lines($_[0]) ] }

# 5.4, the default: 32 characters, 48 bytes
my ($out, $err, $st) = sl(@FILES, '--gecos');
is($st, 1, '5.4: exit 1');
is_deeply(names($out), [qw(alice gecos)], '5.4: the 33-character name and the long hash left out');
like($err, qr/^ERROR: account '\Q$n33\E' \(\Q$tmp\E\/passwd line 4\): longer than 32 characters \(the limit of vpopmail 5\.4, MAX_PW_NAME\); not listed$/m,
     '5.4: the long name is an ERROR with the reason');
like($err, qr/^ERROR: account 'longhash' \(.*\): the password hash is longer than the 128 characters vpopmail 5\.4 stores \(MAX_PW_PASS\); not listed$/m,
     'a hash over 128 characters is an ERROR (vadduser would leave the user with no password)');
like($err, qr/^WARNING: account 'gecos' \(.*\): full name shortened to 48 bytes for vpopmail 5\.4: '${\ ('G' x 47)}'$/m,
     '5.4: the full name cut to 47 bytes, not inside the e-acute');
like($out, qr/^vadduser -c '${\ ('G' x 47)}' -e '\Q$h\E' gecos\@example\.com$/m, '... and listed so');
is(scalar(() = $err =~ /^ERROR/mg), 2, '5.4: two ERRORs');

# 5.6: 64 and 64
($out, $err, $st) = sl(@FILES, '--gecos', '--vpopmail', '5.6');
is_deeply(names($out), [ sort 'alice', 'gecos', $n33 ], '5.6: the 33-character name listed');
like($out, qr/^vadduser -c '${\ ('G' x 47)}\xc3\xa9xyz' -e /m, '5.6: the whole full name');
unlike($err, qr/WARNING/, '5.6: no shortening');

# the header, exactly
is(makeusers_header('5.4', 'example.com'),
   "# made by sendmail-list (MigrateMail $MigrateMail::VERSION) for vpopmail 5.4\n"
   . "# limits checked: user names up to 32 characters, full names up to 48 bytes\n"
   . "# run on the new server after 'vadddomain example.com': sh -x makeusers\n"
   . 'command -v vadduser >/dev/null 2>&1 || { echo "ERROR: vadduser not found: put '
   . "vpopmail's bin directory (e.g. /home/vpopmail/bin) on PATH\" >&2; exit 1; }\n",
   'the makeusers header');
like($out, qr/\A# made by sendmail-list .* for vpopmail 5\.6\n# limits checked: user names up to 64 characters, full names up to 64 bytes\n/,
     'the list starts with it');
spew("$tmp/makeusers", $out);
{
	local $ENV{PATH} = "$tmp/empty";
	my $o = `/bin/sh $tmp/makeusers 2>&1`;
	is($? >> 8, 1, 'without vadduser on PATH the list stops: exit 1');
	is($o, "ERROR: vadduser not found: put vpopmail's bin directory (e.g. /home/vpopmail/bin) on PATH\n",
	   '... with one clear line');
}
($out, $err, $st) = run_script('bin/sendmail-list', '--check', "$tmp/makeusers");
is($err, '', '--check passes over the header');
like($out, qr/^# checked 3 accounts: 3 ok/m, '--check: the three accounts');

# usage errors
($out, $err, $st) = sl(@FILES, '--vpopmail', '5.5');
is($st, 2, '--vpopmail 5.5: usage error');
is($err, "ERROR: unknown --vpopmail '5.5' (5.4 or 5.6)\n", '... saying which exist');
($out, $err, $st) = sl(@FILES, '--quota', '1' x 21);
is($st, 2, 'a quota of 21 characters: usage error');
like($err, qr/^ERROR: --quota '1{21}' is longer than the 20 characters vpopmail 5\.4 takes \(MAX_PW_QUOTA\)$/, '... MAX_PW_QUOTA');
my $d97 = ('d' x 93) . '.com';
($out, $err, $st) = run_script('bin/sendmail-list', '--domain', $d97, @FILES);
is($st, 2, 'a 97-character domain: usage error');
like($err, qr/^ERROR: the domain \Q$d97\E is longer than the 96 characters vpopmail 5\.4 takes \(MAX_PW_DOMAIN\)$/, '... MAX_PW_DOMAIN');
my $d80 = ('e' x 92) . '.com';   # 96: the longest vpopmail takes
($out, $err, $st) = run_script('bin/sendmail-list', '--domain', $d80, @FILES, '--vpopmail', '5.6');
like($err, qr/^ERROR: account '\Q$n33\E' .*: the user's directory would be longer than the 160 characters vpopmail 5\.6 stores \(MAX_PW_DIR\); not listed$/m,
     'a directory path over MAX_PW_DIR is an ERROR');
like($out, qr/ alice\@\Q$d80\E$/m, '... a shorter name still fits');

# the inventory: spool size against --quota
is(quota_bytes($_->[0]), $_->[1], "quota_bytes('$_->[0]')") for
  ([ '5000', 5000 ], [ '5000S', 5000 ], [ '5000000S,1000C', 5000000 ], [ '50M', 50 << 20 ],
   [ '2K', 2048 ], [ '50MB', 50 << 20 ], [ '1000C,3000S', 3000 ], [ 'NOQUOTA', undef ],
   [ '1000C', undef ], [ '5G', undef ], [ 'bogus', undef ]);
mkdir "$tmp/spool" or die;
spew("$tmp/spool/alice", 'x' x 3000);
spew("$tmp/spool/gecos", 'x' x 1000);
($out, $err, $st) = run_script('bin/sendmail-list', @FILES, '--format', 'csv', '--spool-dir', "$tmp/spool",
			       '--quota', '2K');
my @csv = split /\n/, $out;
is($csv[0], 'user,uid,gecos,scheme,spool_size,status,quota,over_quota', 'CSV: quota columns at the end');
like($out, qr/^"alice",1000,"Alice","sha512",3000,"ok",2048,1$/m, 'CSV: alice over the quota');
like($out, qr/^"gecos",1001,"G+\xc3\xa9xyz,room","sha512",1000,"ok",2048,0$/m, 'CSV: gecos under it');
like($out, qr/^"longhash",1002,"L","sha512",,"error: [^"]+",2048,$/m, 'CSV: no spool file: size and over_quota empty');
($out) = run_script('bin/sendmail-list', @FILES, '--format', 'json', '--spool-dir', "$tmp/spool",
		    '--quota', '2K');
my %j = map { $_->{user} => $_ } @{ JSON::PP->new->decode($out) };
is_deeply([ @{ $j{alice} }{qw(spool_size quota)} ], [ 3000, 2048 ], 'JSON: size and quota');
ok($j{alice}{over_quota} && !$j{gecos}{over_quota} && defined $j{gecos}{over_quota}, 'JSON: over_quota true/false');
ok(JSON::PP::is_bool($j{alice}{over_quota}), 'JSON: a boolean');
($out) = run_script('bin/sendmail-list', @FILES, '--format', 'json', '--spool-dir', "$tmp/spool");
%j = map { $_->{user} => $_ } @{ JSON::PP->new->decode($out) };
is_deeply([ $j{alice}{quota}, $j{alice}{over_quota} ], [ undef, undef ], 'JSON: no --quota, no verdict');

# mbox2vpopmail: over the quota of maildirsize is a WARNING, and in the report
my $md = "$tmp/Maildir";
make_path(map { "$md/$_" } qw(new cur tmp));
spew("$md/maildirsize", "500S,100C\n0 0\n");
($out, $err, $st) = run_script('bin/mbox2vpopmail', '--maildir', $md, '--report', "$tmp/r.json",
			       'examples/sample.mbox');
is($st, 0, 'over quota: exit 0 (a warning)');
is($err, "WARNING: $md: the Maildir holds 693 bytes, over the quota of 500 bytes: vpopmail will bounce "
   . "new mail for this user until the quota is raised (vmoduser -q)\n", 'the over-quota WARNING');
my $r = JSON::PP->new->decode(slurp("$tmp/r.json"));
is_deeply([ @{ $r->{mailboxes}[0] }{qw(quota maildir_size)} ], [ 500, 693 ], 'the report: quota and size');
spew("$md/maildirsize", "5000S\n0 0\n");
system('rm', '-rf', glob("$md/new/*"), glob("$md/cur/*"));
($out, $err, $st) = run_script('bin/mbox2vpopmail', '--maildir', $md, 'examples/sample.mbox');
is($err, '', 'under the quota: no warning');

# batch: files that would reach one user
my $vp = "$tmp/vpopmail";
make_path("$vp/bin", map { "$vp/domains/example.com/$_" } qw(mike kim));
system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;
my $spool = "$tmp/mboxes";
mkdir $spool or die;
system('cp', 'examples/sample.mbox', "$spool/$_") == 0 or die for qw(Mike mike kim Kim.old);
spew("$tmp/map", "Kim.old kim\n");
($out, $err, $st) = run_script('bin/mbox2vpopmail', '--dir', $spool, '--domain', 'example.com',
			       '--map', "$tmp/map", '--vpopmail-bin', "$vp/bin");
is($st, 3, 'batch collisions: exit 3');
for ([ qw(Mike mike) ], [ qw(Kim.old kim) ]) {
	my ($a, $b) = @$_;
	my $to = lc "$b\@example.com";
	like($err, qr/^ERROR: \Q$spool\E\/$_: the spool files '$a', '$b' would all go to $to: nothing delivered for them; name each in --map/m,
	     "$_ refused: '$a' and '$b' reach $to") for $a, $b;
}
ok(!-e "$vp/domains/example.com/$_/Maildir", "nothing delivered for $_") for qw(mike kim);
spew("$tmp/map", "Kim.old kim\nkim kim\n");
($out, $err, $st) = run_script('bin/mbox2vpopmail', '--dir', $spool, '--domain', 'example.com',
			       '--map', "$tmp/map", '--vpopmail-bin', "$vp/bin");
is(scalar(() = $out =~ /^kim\@example\.com: 4 messages/mg), 2, 'a merge the map names: both files go to kim');
unlike($err, qr/kim/, '... without an ERROR');
like($err, qr/'Mike', 'mike' would all go to/, 'Mike and mike still refused');
spew("$tmp/long", "x\n");
($out, $err, $st) = run_script('bin/mbox2vpopmail', '--dir', $spool, '--domain', 'example.com',
			       '--vpopmail', '4');
is($st, 2, 'mbox2vpopmail --vpopmail 4: usage error');
like($err, qr/^ERROR: unknown --vpopmail '4' \(5\.4 or 5\.6\)$/m, '... saying so');

done_testing;
