# MigrateMail::Accounts: reading passwd/shadow, master.passwd and
# getpwent (faked: never the test machine's users), filters, vpopmail's
# name rules, full names, spool sizes.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);

use MigrateMail::Accounts qw(read_passwd read_master_passwd read_getpwent
			     read_name_list select_accounts
			     vpopmail_name_problem full_name spool_size vpopmail_limits
			     printable);

my $D = 't/data/accounts';
my @msgs;
my $report = sub { push @msgs, "$_[0]: $_[1]" };

# passwd + shadow
my $acc = read_passwd("$D/passwd", shadow => "$D/shadow", report => $report);
is(scalar @$acc, 30, 'every passwd entry read');
is_deeply(\@msgs, [], 'no complaints about the fixtures');
my %by = map { $_->{name} => $_ } @$acc;
like($by{sha512user}{hash}, qr/\A\$6\$/, 'hash taken from shadow');
is($by{root}{hash}, '*', 'root locked in shadow');
is($by{emptypw}{hash}, '', 'empty hash kept');
ok($by{noshadow}{no_shadow}, "'x' without a shadow entry is marked");
is_deeply([ @{ $by{desuser} }{qw(uid gid gecos home shell)} ],
	  [ 1001, 100, 'Dee Ess,Room 1,555-0101', '/home/desuser', '/bin/bash' ],
	  'fields');
like($by{desuser}{where}, qr{\Q$D\E/passwd line 7\z}, 'where');

my $plain = read_passwd("$D/passwd", report => $report);
is($plain->[6]{hash}, 'x', 'without --shadow the passwd field is the hash');

# master.passwd
my $m = read_master_passwd("$D/master.passwd", report => $report);
my %mby = map { $_->{name} => $_ } @$m;
is(scalar @$m, 29, 'master.passwd read');
is($mby{sha512user}{hash}, $by{sha512user}{hash}, 'same hash as shadow');
is($mby{nologin}{shell}, '/sbin/nologin', 'BSD shell');
is($mby{'mary-ann'}{gecos}, 'Mary-Ann Smith,Sales', 'gecos is field 8');

# Malformed files: reported, the rest read.
my $tmp = tempdir(CLEANUP => 1);
open my $fh, '>', "$tmp/passwd" or die;
print $fh "# comment\n\ngood:x:1000:100:Good:/home/good:/bin/sh\n",
  "short:x:1001:100\n", "+\n", '+@netgroup::::::' . "\n", "-baduser::::::\n",
  "baduid:x:abc:100::/:/bin/sh\n", "good:x:1002:100:Again:/:/bin/sh\n",
  "crlf:x:1003:100:Crlf:/home/crlf:/bin/sh\r\n";
close $fh;
@msgs = ();
my $bad = read_passwd("$tmp/passwd", report => $report);
is_deeply([ map { $_->{name} } @$bad ], [qw(good crlf)], 'good lines kept');
is($bad->[1]{shell}, '/bin/sh', 'CRLF line end stripped');
is(scalar(grep /^ERROR: .*line 4: expected 7 colon-separated fields/, @msgs), 1,
   'short line is an ERROR');
is(scalar(grep /^WARNING: .*NIS compat entry/, @msgs), 3, 'NIS entries warned');
ok((grep /^ERROR: .*'baduid' has a bad uid/, @msgs), 'bad uid is an ERROR');
ok((grep /^WARNING: .*'good' seen before/, @msgs), 'duplicate warned');
ok(!eval { read_passwd("$tmp/nope"); 1 }, 'missing file dies');
like($@, qr{^ERROR: cannot open passwd file \Q$tmp\E/nope}, '... with ERROR');

# shadow NIS lines must not show their hash in the message
open $fh, '>', "$tmp/shadow" or die;
print $fh "-secret:\$6\$SECRETHASH:1:0:99999:7:::\n";
close $fh;
@msgs = ();
read_passwd("$tmp/passwd", shadow => "$tmp/shadow", report => $report);
ok(!(grep /SECRETHASH/, @msgs), 'hashes never appear in messages');

# getpwent, faked
my @fake = (
	[ 'alice', '$6$x$y', 1000, 100, '', '', 'Alice', '/home/alice', '/bin/sh' ],
	[ '-e', 'hash', 1001, 100, '', '', 'Dash', '/home/dash', '/bin/sh' ],
	[ 'alice', 'again', 1002, 100, '', '', '', '/', '/bin/sh' ],
);
my @queue = @fake;
@msgs = ();
my $g = read_getpwent(report => $report, getpwent => sub { @{ shift(@queue) || [] } });
is_deeply([ map { $_->{name} } @$g ], [ 'alice', '-e' ], 'getpwent entries');
is($g->[0]{gecos}, 'Alice', 'getpwent gecos is field 6');
is($g->[1]{where}, 'getpwent entry 2', 'getpwent where');
ok((grep /'alice' seen before/, @msgs), 'getpwent duplicate warned');

# Filters
sub names { [ map { $_->{name} } @{ $_[0] } ] }
@msgs = ();
my $sel = select_accounts($acc, min_uid => 500, max_uid => 63999, report => $report);
is_deeply(names($sel), [qw(uid500 uid63999 desuser bsdiuser md5user bcryptuser
			   bcrypt2a bcrypt2y bcrypt2x sha256user sha512user
			   yescryptuser gostuser scryptuser sunmd5user sha1user
			   ntuser john.doe mary-ann emptypw nologin falseshell
			   noshadow)], 'default filters: uid 500..63999, not locked');
ok((grep /^SKIP: account 'uid499' .*uid 499 is below --min-uid 500/, @msgs), 'uid 499 skipped');
ok((grep /^SKIP: account 'uid64000' .*uid 64000 is above --max-uid 63999/, @msgs), 'uid 64000 skipped');
ok((grep /^SKIP: account 'locked' .*locked/, @msgs), 'locked skipped');
ok((grep /^SKIP: account 'never' /, @msgs) && (grep /^SKIP: account 'star' /, @msgs), '!! and * skipped');

$sel = select_accounts($acc, min_uid => 0, max_uid => 99999, keep_locked => 1);
is(scalar @$sel, 30, 'everything with open filters');
$sel = select_accounts($acc, min_uid => 499, max_uid => 499);
is_deeply(names($sel), ['uid499'], 'min = max = 499');
$sel = select_accounts($acc, min_uid => 64000, max_uid => 64000);
is_deeply(names($sel), ['uid64000'], 'min = max = 64000');

my $shells = select_accounts($acc, min_uid => 500, max_uid => 63999,
			     skip_shell => ['nologin', '/bin/false']);
ok(!(grep { $_->{name} =~ /\A(?:nologin|falseshell)\z/ } @$shells),
   '--skip-shell by base name and by path');
$shells = select_accounts($acc, min_uid => 500, max_uid => 63999,
			  skip_shell => ['/bin/nologin']);
ok((grep { $_->{name} eq 'nologin' } @$shells), 'a path must match exactly');

my $inc = read_name_list("$D/include");
is_deeply([ sort keys %$inc ], [qw(mary-ann nosuchuser root sha512user yescryptuser)],
	  'name list: comments and blanks ignored');
@msgs = ();
$sel = select_accounts($acc, min_uid => 500, max_uid => 63999, include => $inc,
		       report => $report);
is_deeply(names($sel), [qw(sha512user yescryptuser mary-ann)], '--include');
ok((grep /^WARNING: account 'root' .*named in the --include file but skipped: uid 0/, @msgs),
   'included but filtered: WARNING');
ok((grep /^WARNING: account 'nosuchuser' is named in the --include file but does not exist/, @msgs),
   'included but missing: WARNING');
$sel = select_accounts($acc, min_uid => 500, max_uid => 63999,
		       exclude => read_name_list("$D/exclude"));
ok(!(grep { $_->{name} =~ /\A(?:desuser|ntuser)\z/ } @$sel) && @$sel == 21,
   '--exclude');

# vpopmail's name rules
my %names = (
	alice => undef, 'john.doe' => undef, 'mary-ann' => undef, 'a_b' => undef,
	'ab' => undef, ('b' x 64) => undef, '0day' => undef,
	'' => qr/empty/, 'x' => qr/one-character/, ('a' x 65) => qr/longer than 64/,
	vpasswd => qr/reserved/, Alice => qr/lowercases.*'alice'/,
	'al ice' => qr/outside/, "o'brien" => qr/outside/, '$(id)' => qr/outside/,
	'a;b' => qr/outside/, "\xc3\xbcber" => qr/outside/, '-e' => qr/option/,
	'--help' => qr/option/, '..' => qr/hidden or parent/, '.x' => qr/hidden/,
	'A;b' => qr/outside/, 'a/b' => qr/outside/,
);
for my $n (sort keys %names) {
	my $why = vpopmail_name_problem($n, '5.6');
	if (defined $names{$n}) {
		like($why, $names{$n}, "name '" . printable($n) . "' refused");
	} else {
		is($why, undef, "name '$n' taken");
	}
}

# full names for -c
is_deeply([ full_name('John Doe,Room 1,555-0101') ], [ 'John Doe', 0 ], 'up to the first comma');
is_deeply([ full_name("Eve O'Hara") ], [ "Eve O'Hara", 0 ], 'quotes kept (they get quoted)');
is_deeply([ full_name("a\tb\x1bc") ], [ 'a b c', 0 ], 'control characters become spaces');
is_deeply([ full_name('  lots   of  space ') ], [ 'lots of space', 0 ], 'white space tidied');
is_deeply([ full_name('') ], [ '', 0 ], 'empty');
my ($fn, $cut) = full_name('W' x 100, '5.6');
is(length $fn, 64, 'cut to 64 bytes');
ok($cut, '... and says so');
($fn, $cut) = full_name(('x' x 63) . "\xc3\xbc" . 'z', '5.6');
is($fn, 'x' x 63, 'a UTF-8 character is not cut in half');
($fn) = full_name(('x' x 62) . "\xc3\xbc" . 'z', '5.6');
is($fn, ('x' x 62) . "\xc3\xbc", 'a whole one is kept');
($fn) = full_name(('x' x 62) . "\xe2\x82\xac" . 'z', '5.6');
is($fn, 'x' x 62, 'three-byte character not cut');
($fn) = full_name(('x' x 61) . "\xe2\x82\xac" . 'z', '5.6');
is($fn, ('x' x 61) . "\xe2\x82\xac", 'a whole three-byte one is kept');

# the limits of each vpopmail (vpopmail.h of 5.4.33 and 5.6.13)
is_deeply(vpopmail_limits('5.4'), { name => 32, gecos => 48, domain => 96,
				    hash => 128, quota => 20, dir => 160 }, 'limits of 5.4');
is_deeply(vpopmail_limits('5.6'), { name => 64, gecos => 64, domain => 96,
				    hash => 128, quota => 20, dir => 160 }, 'limits of 5.6');
is_deeply(vpopmail_limits(undef), vpopmail_limits('5.4'), 'the default is 5.4');
is(vpopmail_limits('5.5'), undef, 'no table for 5.5');
is(vpopmail_name_problem('c' x 32), undef, '32 characters: taken by 5.4');
is(vpopmail_name_problem('c' x 33),
   "longer than 32 characters (the limit of vpopmail 5.4, MAX_PW_NAME)", '33: refused by 5.4');
is(vpopmail_name_problem('c' x 33, '5.6'), undef, '... taken by 5.6');
like(vpopmail_name_problem('c' x 65, '5.6'), qr/longer than 64 .*vpopmail 5\.6/, '65: refused by 5.6');
($fn, $cut) = full_name('W' x 100);
is($fn, 'W' x 48, '5.4: cut to 48 bytes');
ok($cut, '... and says so');
is_deeply([ full_name('W' x 48) ], [ 'W' x 48, 0 ], '5.4: 48 bytes kept');
($fn) = full_name(('x' x 46) . "\xe2\x82\xac");
is($fn, 'x' x 46, '5.4: a three-byte character at byte 47 is not cut in half');
ok(!eval { vpopmail_name_problem('ab', '4.9'); 1 }, 'an unknown version croaks');

# spool sizes
mkdir "$tmp/spool";
open $fh, '>', "$tmp/spool/alice" or die;
print $fh 'x' x 1234;
close $fh;
open $fh, '>', "$tmp/spool/empty" or die;
close $fh;
symlink "$tmp/spool/alice", "$tmp/spool/link" or die;
mkdir "$tmp/spool/dir";
is(spool_size("$tmp/spool", 'alice'), 1234, 'spool size');
is(spool_size("$tmp/spool", 'empty'), 0, 'empty spool: 0');
is(spool_size("$tmp/spool", 'nobody'), undef, 'no spool: undef');
is(spool_size("$tmp/spool", 'link'), undef, 'a symlink is not followed');
is(spool_size("$tmp/spool", 'dir'), undef, 'a directory is not a spool');
is(spool_size("$tmp/spool", '../spool/alice'), undef, 'no paths in names');
is(spool_size("$tmp/spool", '..'), undef, 'not ..');

is(printable("a\x1b[31m\n\xff"), 'a\x1b[31m\x0a\xff', 'printable');

done_testing;
