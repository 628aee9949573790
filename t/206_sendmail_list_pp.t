# sendmail-list without the XS module (issue 17): its modules load on
# core Perl alone, listing works from lib/ without a build, --check says
# it needs the full install; the hand-written JSON is JSON::PP's byte for
# byte; the version it prints is the distribution's.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMRun qw(slurp spew);
use File::Temp qw(tempdir);
use Encode ();
use JSON::PP ();

use MigrateMail ();
use MigrateMail::SendmailList ();

my $D = 't/data/accounts';
my $tmp = tempdir(CLEANUP => 1);
my @FILES = ('--passwd', "$D/passwd", '--shadow', "$D/shadow");

is($MigrateMail::SendmailList::DIST_VERSION, $MigrateMail::VERSION,
   "DIST_VERSION is lib/MigrateMail.pm's \$VERSION (bump both)");

# perl -Ilib, no blib: the XS cannot load
sub run_lib {
	my (@args) = @_;
	my $pid = fork;
	die "fork: $!" unless defined $pid;
	if (!$pid) {
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$tmp/out" or die;
		open STDERR, '>', "$tmp/err" or die;
		exec 'env', '-i', 'PATH=/usr/bin:/bin', $^X, '-Ilib', @args or die;
	}
	waitpid $pid, 0;
	return (slurp("$tmp/out"), slurp("$tmp/err"), $? >> 8);
}
sub run_full {
	my (@args) = @_;
	my $pid = fork;
	die "fork: $!" unless defined $pid;
	if (!$pid) {
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$tmp/out" or die;
		open STDERR, '>', "$tmp/err" or die;
		exec $^X, '-Mblib', @args or die;
	}
	waitpid $pid, 0;
	return (slurp("$tmp/out"), slurp("$tmp/err"), $? >> 8);
}

my ($out, $err, $st) = run_lib('-e', 'require MigrateMail; print "loaded\n"');
isnt($st, 0, 'from lib/ alone the XS module does not load (the premise)');
like($err, qr/Can't locate loadable object/, '... for want of its loadable object');

($out, $err, $st) = run_lib('-e', 'require MigrateMail::SendmailList;
	print join(",", sort grep { m{^(?:MigrateMail|JSON|Encode)} } keys %INC), "\n"');
is($st, 0, 'MigrateMail::SendmailList loads without it') or diag($err);
is($out, "MigrateMail/Accounts.pm,MigrateMail/Aliases.pm,MigrateMail/PasswdPP.pm,"
   . "MigrateMail/SendmailList.pm,MigrateMail/Vpopmail.pm\n",
   "... and not MigrateMail.pm (the XS), JSON::PP or Encode");

for my $case ([ '--domain', 'example.com', @FILES, '--gecos', '-q', '50M' ],
	      [ '--domain', 'example.com', '--master-passwd', "$D/master.passwd" ],
	      [ @FILES, '--format', 'json' ], [ @FILES, '--format', 'csv' ],
	      [ '--domain', 'example.com', @FILES, '-f', 'dovecot', '--gecos' ],
	      [ '--domain', 'example.com', @FILES, '--aliases', "$D/aliases" ],
	      [ '--domain', 'example.com', '--passwd', "$D/passwd.hostile",
		'--shadow', "$D/shadow.hostile", '--gecos' ]) {
	my @full = run_full('bin/sendmail-list', @$case);
	my @lib = run_lib('bin/sendmail-list', @$case);
	is_deeply(\@lib, \@full, "without the XS: @$case[-2, -1]: the same output, "
		  . "messages and exit status ($full[2])");
}
($out, $err, $st) = run_lib('bin/sendmail-list', '--domain', 'example.com', @FILES,
			    '-o', "$tmp/makeusers");
is(((stat "$tmp/makeusers")[2] || 0) & 07777, 0600, 'without the XS: -o writes mode 0600');
like(slurp("$tmp/makeusers"), qr/^vadduser -e '\$6\$/m, '... the list');

for my $args ([ '--check' ], [ '--check', @FILES ], [ '--check', "$tmp/makeusers" ]) {
	($out, $err, $st) = run_lib('bin/sendmail-list', @$args);
	is($st, 2, "without the XS: @$args: exit 2");
	is($out, '', '... nothing on standard output');
	is($err, "ERROR: --check needs the full MigrateMail install (its XS module, "
	   . 'built with libxcrypt), which this perl cannot load: run it where '
	   . 'MigrateMail is installed, typically on the new server '
	   . "(sendmail-list --check makeusers); listing needs nothing but perl\n",
	   '... and says it needs the full install');
}
($out, $err, $st) = run_full('bin/sendmail-list', '--check', "$tmp/makeusers");
like($out, qr/^OK: sha512user\@example\.com: sha512: /m, 'with the XS, --check works');

# Debian's system accounts start with _ (_apt): vpopmail takes them
($out, $err, $st) = run_full('bin/sendmail-list', '--domain', 'example.com',
	'--passwd', spew("$tmp/pw_", "_apt:\$1\$saltsalt\$qjXMvbEw8oaL.CzflDtaK/:1000:65534::/nonexistent:/usr/sbin/nologin\n"));
is($st, 0, 'a name starting with _ is listed') or diag($err);
like($out, qr/^vadduser -e '\$1\$saltsalt\$qjXMvbEw8oaL\.CzflDtaK\/' _apt\@example\.com$/m,
     '... as vadduser -e HASH _apt@domain');

# an inventory without --domain: no warnings about the missing domain
($out, $err, $st) = run_full('bin/sendmail-list', @FILES, '-f', 'csv');
is($err, "ERROR: account 'emptypw' ($D/passwd line 27): empty password hash: "
   . "the account has no password; not listed\nERROR: account 'noshadow' "
   . "($D/passwd line 30): the passwd entry says 'x' but the shadow file has "
   . "no entry for it; not listed\n", 'csv without --domain: only the ERRORs');

# The JSON encoder against JSON::PP, as the inventory used it before
sub text_pp {
	my ($bytes) = @_;
	return undef unless defined $bytes;
	my $copy = $bytes;
	my $s = eval { Encode::decode('UTF-8', $copy, Encode::FB_CROAK()) };
	return defined $s ? $s : $bytes;
}
sub json_pp {
	my ($rows) = @_;
	my @r = map {
		my $r = $_;
		+{ (map { $_ => text_pp($r->{$_}) } qw(user gecos scheme status)),
		   uid => 0 + $r->{uid},
		   (map { $_ => defined $r->{$_} ? 0 + $r->{$_} : undef }
		    qw(spool_size quota)),
		   over_quota => defined $r->{over_quota}
				 ? ($r->{over_quota} ? JSON::PP::true() : JSON::PP::false())
				 : undef };
	} @$rows;
	return JSON::PP->new->utf8->canonical->pretty->encode(\@r);
}
srand 206;
my @edge = ('', 'plain', "J\xc3\xbcrgen", "J\xfcrgen", "\xe2\x82\xac\xf0\x9f\x93\xa7",
	    "\xed\xa0\x80", "\xed\x9f\xbf", "\xef\xbf\xbe", "\xef\xbf\xbd", "\xef\xb7\x90",
	    "\xef\xb7\xaf", "\xef\xb7\xb0", "\xf0\x9f\xbf\xbe", "\xf4\x8f\xbf\xbf",
	    "\xf4\x8f\xbf\xbd", "\xf4\x90\x80\x80", "\xc0\x80", "\xc1\xbf", "\xc2\x80",
	    "\xe0\x80\x80", "\xe0\xa0\x80", "\xf0\x80\x80\x80", "\xf0\x90\x80\x80",
	    "\xf8\x88\x80\x80\x80", "\xc3", "\xc3\xbc\xc3", "\x80", "\xff\xfe",
	    join('', map { chr } 0 .. 0x7f), qq{"\\/\b\f\n\r\t}, "a\x00b");
my @strings = @edge;
for (1 .. 3000) {
	my $len = int rand 12;
	my $s = '';
	for (1 .. $len) {
		my $r = rand;
		$s .= $r < 0.4 ? chr(32 + int rand 95) : $r < 0.5 ? chr(int rand 32)
		    : $r < 0.7 ? chr(0x80 + int rand 0x80)
		    : do { my $c = int rand 0x110000; $c = 0x41 if $c >= 0xd800 && $c < 0xe000;
			   my $x = chr $c; utf8::encode($x); $x };
	}
	push @strings, $s;
}
my @rows;
for my $i (0 .. $#strings) {
	push @rows, { user => $strings[$i], gecos => $strings[-1 - $i],
		      scheme => $i % 3 ? 'sha512' : $strings[$i], status => $i % 2 ? 'ok' : "error: $strings[$i]",
		      uid => ($i * 7919) % 70000, spool_size => $i % 4 ? $i * 1000 : undef,
		      quota => $i % 5 ? 5242880 : undef,
		      over_quota => $i % 3 == 0 ? undef : $i % 3 == 1 ? 1 : 0 };
}
push @rows, { user => 'big', gecos => 'x', scheme => 'des', status => 'ok',
	      uid => '99999999999999999999', spool_size => 0, quota => 0, over_quota => 0 };
my $mine = MigrateMail::SendmailList::_json(\@rows);
my $ref = json_pp(\@rows);
ok($mine eq $ref, scalar(@rows) . ' records: the same bytes as JSON::PP')
  or do {
	my $i = 0;
	$i++ while $i < length $mine && substr($mine, $i, 1) eq substr($ref, $i, 1);
	diag('first difference at byte ' . $i . ': ' . substr($ref, $i - 40 < 0 ? 0 : $i - 40, 80));
  };
is(MigrateMail::SendmailList::_json([]), json_pp([]), 'no records: the same bytes');
my $bad = 0;
for my $s (@strings) {
	my $copy = $s;
	my $enc = defined eval { Encode::decode('UTF-8', $copy, Encode::FB_CROAK()) } ? 1 : 0;
	$bad++ if MigrateMail::SendmailList::_is_utf8($s) != $enc;
}
is($bad, 0, 'UTF-8 or not: the same verdict as Encode for ' . @strings . ' strings');

done_testing;
