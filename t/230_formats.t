# Output formats (Dovecot passwd-file, CSV and JSON inventories with spool
# sizes) and --check, on the old server (accounts) and on the new one
# (the list, or a Dovecot passwd-file).
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use File::Temp qw(tempdir);
use JSON::PP ();

use MigrateMail qw(password_verify password_hash);

my $D = 't/data/accounts';
my $PW = 'MigrateMe-2026';
my @FILES = ('--passwd', "$D/passwd", '--shadow', "$D/shadow");
my $tmp = tempdir(CLEANUP => 1);

sub run { return run_script('bin/sendmail-list', @_) }

# Dovecot passwd-file
my ($out, $err, $st) = run('--domain', 'example.com', @FILES, '--format', 'dovecot');
is($st, 1, 'dovecot: exit 1 (the same ERRORs)');
my @l = split /\n/, $out;
is(scalar @l, 21, 'dovecot: 21 lines');
my $bad = 0;
for (@l) {
	my @f = split /:/, $_, -1;
	$bad++ unless @f == 8 && $f[0] =~ /\A[a-z0-9._-]+\@example\.com\z/
	  && $f[1] =~ s/\A\{CRYPT\}// && password_verify($PW, $f[1])
	  && join('', @f[2 .. 7]) eq '';
}
is($bad, 0, 'dovecot: user@domain:{CRYPT}HASH::::::: and every hash verifies');
like($err, qr/^ERROR: account 'emptypw'/m, 'dovecot: ERROR lines too');
($out) = run('--domain', 'example.com', @FILES, '--format', 'dovecot', '--gecos',
	     '--quota', '50M');
like($out, qr/^desuser\@example\.com:\{CRYPT\}[^:]+:::Dee Ess:::userdb_quota_rule=\*:storage=50M$/m,
     'dovecot: gecos field and quota rule');
($out) = run('--domain', 'example.com', @FILES, '--format', 'dovecot', '--quota', '1000000');
like($out, qr/:::::userdb_quota_rule=\*:bytes=1000000$/m, 'dovecot: quota in bytes');
($out, $err) = run('--domain', 'example.com', @FILES, '--format', 'dovecot', '--quota', 'NOQUOTA');
like($out, qr/^uid500\@example\.com:\{CRYPT\}[^:]+::::::$/m, 'dovecot: NOQUOTA, no rule');
($out, $err) = run('--domain', 'example.com', @FILES, '--format', 'dovecot', '--quota', '5000S,100C');
like($err, qr/^WARNING: account 'uid500' .*--quota '5000S,100C' has no Dovecot equivalent/m,
     'dovecot: a quota it cannot express is a WARNING');

# Inventories: spool sizes from --spool-dir
mkdir "$tmp/spool";
spew("$tmp/spool/uid500", 'x' x 100);
spew("$tmp/spool/desuser", '');
symlink "$tmp/spool/uid500", "$tmp/spool/md5user" or die;
($out, $err, $st) = run(@FILES, '--format', 'csv', '--spool-dir', "$tmp/spool");
is($st, 1, 'csv: exit 1 (ERRORs)');
@l = split /\n/, $out;
is($l[0], 'user,uid,gecos,scheme,spool_size,status,quota,over_quota', 'csv: header');
is(scalar @l, 24, 'csv: header + 23 accounts (ERRORs included)');
is($l[1], '"uid500",500,"Lowest Listed","sha512",100,"ok",,', 'csv: a row with a spool');
like($out, qr/^"desuser",1001,"Dee Ess,Room 1,555-0101","des",0,"ok",,$/m, 'csv: empty spool is 0, commas quoted');
like($out, qr/^"md5user",1003,"Em Dee","md5",,"ok",,$/m, 'csv: a symlink is no spool');
like($out, qr/^"uid63999",63999,"Highest Listed","sha512",,"ok",,$/m, 'csv: no spool is empty');
like($out, qr/^"emptypw",1023,"Empty Password","empty",,"error: empty password hash: the account has no password",,$/m,
     'csv: status says the problem');
like($out, qr/^"noshadow",1026,"No Shadow Entry","none",,"error: /m, "csv: no hash: scheme none");
unlike($out, qr/\$6\$|\$y\$|\$1\$/, 'csv: no hashes in an inventory');
like($out, qr/^"yescryptuser",1010,"Yes Crypt","yescrypt",,"ok",,$/m, 'csv: scheme names');

# CSV quoting and spreadsheet formulas
my $h = password_hash($PW, method => '$6$');
spew("$tmp/passwd.csv", join '',
     "formula:$h:1000:100:=HYPERLINK(\"x\")|calc:/home/formula:/bin/sh\n",
     "plus:$h:1001:100:+1+1:/home/plus:/bin/sh\n",
     "minus:$h:1002:100:-2:/home/minus:/bin/sh\n",
     "at:$h:1003:100:\@SUM(1):/home/at:/bin/sh\n",
     "quote:$h:1004:100:Say \"hi\", then go:/home/quote:/bin/sh\n",
     "utf8:$h:1005:100:J\xc3\xbcrgen M\xc3\xbcller:/home/utf8:/bin/sh\n",
     "latin1:$h:1006:100:J\xfcrgen:/home/latin1:/bin/sh\n");
($out, $err, $st) = run('--passwd', "$tmp/passwd.csv", '--format', 'csv', '--spool-dir', "$tmp/spool");
is($st, 0, 'csv: exit 0');
like($out, qr/^"formula",1000,"'=HYPERLINK\(""x""\)\|calc",/m, 'csv: = gets a quote, " doubled');
like($out, qr/^"plus",1001,"'\+1\+1",/m, 'csv: + guarded');
like($out, qr/^"minus",1002,"'-2",/m, 'csv: - guarded');
like($out, qr/^"at",1003,"'\@SUM\(1\)",/m, 'csv: @ guarded');
like($out, qr/^"quote",1004,"Say ""hi"", then go",/m, 'csv: quotes and commas');

# JSON
($out, $err, $st) = run(@FILES, '--format', 'json', '--spool-dir', "$tmp/spool");
my $j = eval { JSON::PP->new->utf8->decode($out) };
ok(ref $j eq 'ARRAY', 'json: an array') or diag($@);
is(scalar @$j, 23, 'json: 23 records');
is_deeply($j->[0], { user => 'uid500', uid => 500, gecos => 'Lowest Listed',
		     scheme => 'sha512', spool_size => 100, status => 'ok',
		     quota => undef, over_quota => undef },
	  'json: a record');
my %j = map { $_->{user} => $_ } @$j;
ok(!defined $j{uid63999}{spool_size} && exists $j{uid63999}{spool_size},
   'json: no spool is null');
is($j{desuser}{spool_size}, 0, 'json: empty spool is 0');
like($out, qr/"uid" : 500,/, 'json: uid is a number');
like($j{emptypw}{status}, qr/^error: empty password hash/, 'json: status');
unlike($out, qr/\$6\$/, 'json: no hashes');
($out) = run('--passwd', "$tmp/passwd.csv", '--format', 'json');
$j = JSON::PP->new->utf8->decode($out);
%j = map { $_->{user} => $_ } @$j;
is($j{utf8}{gecos}, "J\x{fc}rgen M\x{fc}ller", 'json: UTF-8 gecos decoded');
is($j{latin1}{gecos}, "J\x{fc}rgen", 'json: other bytes taken as Latin-1');
is($j{formula}{gecos}, '=HYPERLINK("x")|calc', 'json: no formula guard needed');

# --check on the old server: per account scheme and verdict
($out, $err, $st) = run('--domain', 'example.com', @FILES, '--check', '--keep-locked');
is($st, 1, '--check: exit 1 when a hash is an ERROR');
like($out, qr/^OK: sha512user\@example\.com: sha512: verifiable by this machine's crypt\(\)$/m, '--check: OK');
like($out, qr/^WARNING: desuser\@example\.com: des: verifiable by this machine's crypt\(\), but weak: DES uses only the first 8 characters of the password/m,
     '--check: DES weak');
like($out, qr/^WARNING: md5user\@example\.com: md5: .*weak: MD5-crypt/m, '--check: MD5 weak');
like($out, qr/^WARNING: ntuser\@example\.com: nt: .*weak: NT hashes are unsalted MD4/m, '--check: NT weak');
like($out, qr/^WARNING: sha256user\@example\.com: sha256: .*legacy/m, '--check: legacy method');
like($out, qr/^WARNING: locked\@example\.com: locked: nobody can log in/m, '--check: locked');
like($out, qr/^ERROR: emptypw\@example\.com: empty: empty hash/m, '--check: empty is an ERROR');
like($out, qr/^ERROR: noshadow\@example\.com: none: /m, '--check: no hash is an ERROR');
like($out, qr/^# checked 26 accounts: 13 ok, 11 with warnings, 2 with errors\n\z/m, '--check: summary');

# --check on the new server: the list, and a Dovecot passwd-file
my $sha = password_hash($PW, method => '$6$');
my $des = password_hash($PW, method => '');
my $list = spew("$tmp/list", <<"EOF");
# made by sendmail-list
vadduser -c 'Ann O'\\''Neil' -q '50M' -e '$sha' ann\@example.com
vadduser -e '$des' dee\@example.com
vadduser -e '\$6\$broken' broken\@example.com
vadduser -e '' empty\@example.com
vadduser -e "$des" dq\@example.com
vadduser -e "$sha" shell\@example.com
valias -i 'ann\@example.com' postmaster\@example.com
vadduser clear\@example.com secret
vadduser nohash\@example.com
vadduser -e 'x' evil\@example.com; touch PWNED
something else
EOF
($out, $err, $st) = run('--check', $list);
is($st, 1, '--check LIST: exit 1');
my @c = split /\n/, $out;
is_deeply(\@c, [
	"OK: ann\@example.com: sha512: verifiable by this machine's crypt()",
	"WARNING: dee\@example.com: des: verifiable by this machine's crypt(), but weak: DES uses only the first 8 characters of the password; ask the user to change the password",
	"ERROR: broken\@example.com: sha512: damaged hash (wrong length or characters): no password can match it",
	"ERROR: empty\@example.com: empty: empty hash: the account has no password",
	"WARNING: dq\@example.com: des: verifiable by this machine's crypt(), but weak: DES uses only the first 8 characters of the password; ask the user to change the password",
	"WARNING: clear\@example.com: clear: a clear-text password in the list ($tmp/list line 9); vpopmail hashes it itself",
	"WARNING: nohash\@example.com: none: no -e hash ($tmp/list line 10); not checked",
	'# checked 7 accounts: 1 ok, 4 with warnings, 2 with errors',
], '--check LIST: one line per vadduser, valias ignored');
like($err, qr/^WARNING: \Q$tmp\E\/list line 7: not a vadduser, valias or passwd-file line; ignored$/m,
     '--check LIST: "\$6\$..." would be expanded by sh: not taken');
like($err, qr/^WARNING: \Q$tmp\E\/list line 11: not a vadduser/m,
     '--check LIST: a line with shell syntax is not taken');
like($err, qr/line 12: not a vadduser/, '--check LIST: nor another line');

my $dove = spew("$tmp/users", <<"EOF");
ann\@example.com:{CRYPT}${sha}:::Ann:::
bob\@example.com:{SHA512-CRYPT}${sha}::::::
carl\@example.com:${sha}::::::
dora\@example.com:{PLAIN}secret::::::
eve\@example.com:{CRYPT}*::::::
EOF
($out, $err, $st) = run({ stdin => $dove }, '--check', '-');
is($st, 0, '--check - (Dovecot passwd-file on stdin): exit 0');
is($out, join('', map "$_\n",
	"OK: ann\@example.com: sha512: verifiable by this machine's crypt()",
	"OK: bob\@example.com: sha512: verifiable by this machine's crypt()",
	"OK: carl\@example.com: sha512: verifiable by this machine's crypt()",
	"OK: dora\@example.com: {PLAIN}: not a crypt() hash; Dovecot checks it itself",
	"WARNING: eve\@example.com: locked: nobody can log in with a password to a locked account",
	'# checked 5 accounts: 4 ok, 1 with warnings, 0 with errors'),
   '--check: Dovecot schemes');
($out, $err, $st) = run('--check', "$tmp/nope");
is($st, 2, '--check: missing list: exit 2');
like($err, qr/^ERROR: cannot open list/, '... ERROR');
($out, $err, $st) = run('--check', '--format', 'csv', @FILES);
is($st, 2, '--check takes no --format');

done_testing;
