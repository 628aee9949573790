# Hostile account fields: names vpopmail would refuse or a shell would
# run are ERRORs, never commands; gecos and hashes are quoted. Proved by
# running the emitted list with sh against stub vadduser/valias programs
# that record their argv, and checking that nothing else ran.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMRun qw(run_script slurp spew list_lines);
use Cwd qw(getcwd);
use File::Find qw(find);
use File::Temp qw(tempdir);

use MigrateMail qw(password_verify password_hash);
use MigrateMail::Accounts qw(full_name);
use MigrateMail::SendmailList qw(shell_quote parse_shell_words);

my $D = 't/data/accounts';
my $PW = 'MigrateMe-2026';
my $tmp = tempdir(CLEANUP => 1);
my $top = getcwd();

sub run { return run_script('bin/sendmail-list', @_) }

# Stubs that record their argv (NUL-separated), in a directory put first
# in PATH; a canary "touch" would still be found after them.
my $stubs = "$tmp/stubs";
mkdir $stubs or die;
for my $prog (qw(vadduser valias)) {
	spew("$stubs/$prog", "#!/bin/sh\nprintf '%s\\0' CALL \"\${0##*/}\" \"\$@\" >> \"\$LOG\"\n", 0755);
}

# Run a list with a shell in an empty directory; the calls it made, its
# xtrace, and every file that appeared.
sub run_list {
	my ($shell, $list) = @_;
	my $dir = tempdir(DIR => $tmp);
	spew("$dir.list", $list);
	unlink "$tmp/log";
	my $pid = fork // die;
	if (!$pid) {
		chdir $dir or die;
		$ENV{LOG} = "$tmp/log";
		$ENV{PATH} = "$stubs:$ENV{PATH}";
		open STDOUT, '>', "$tmp/sh.out" or die;
		open STDERR, '>', "$tmp/trace" or die;
		exec $shell, '-x', "$dir.list" or die;
	}
	waitpid $pid, 0;
	my $status = $? >> 8;
	my @calls;
	for my $tok (split /\0/, slurp("$tmp/log")) {
		if ($tok eq 'CALL') { push @calls, [] } else { push @{ $calls[-1] }, $tok }
	}
	my @files;
	find(sub { push @files, $File::Find::name if $_ ne '.' }, $dir);
	return { status => $status, calls => \@calls, files => \@files,
		 trace => slurp("$tmp/trace"), out => slurp("$tmp/sh.out") };
}

# The hostile fixtures: what they hold
my (%gecos, %hash);
for (split /\n/, slurp("$D/passwd.hostile")) {
	my @f = split /:/, $_, -1;
	$gecos{ $f[0] } = $f[4];
}
for (split /\n/, slurp("$D/shadow.hostile")) {
	my @f = split /:/, $_, -1;
	$hash{ $f[0] } = $f[1];
}
my @GOOD = ('b' x 64, qw(carol eve mallory nina oscar peggy trudy victor walter zoe));

my ($out, $err, $st) = run('--domain', 'example.com', '--passwd', "$D/passwd.hostile",
			   '--shadow', "$D/shadow.hostile", '--gecos', '--vpopmail', '5.6');
is($st, 1, 'hostile fixtures: exit 1');
my @lines = list_lines($out);
is(scalar @lines, scalar @GOOD, 'only the good names are listed');
my @errs = grep /^ERROR/, split /\n/, $err;
my @bad_names = grep { my $n = $_; !grep { $_ eq $n } @GOOD } keys %hash;
# '-e' and '--help' start with '-': NIS compat lines in a file, WARNINGs
is(scalar @errs, scalar(@bad_names) - 2, 'every other hostile account is an ERROR');
like($err, qr/^WARNING: .* NIS compat entry '-e' ignored$/m, "'-e' line: NIS entry");
for my $re (qr/'o'brien'.*outside/, qr/'\$\(touch PWNED\)'.*outside/,
	    qr/'`touch PWNED`'.*outside/, qr/'\.\.'.*parent/, qr/'Root'.*lowercases/,
	    qr/'vpasswd'.*reserved/, qr/'x'.*one-character/, qr/'a{65}'.*longer/,
	    qr/'esc\\x1b\[31mred'/, qr/'tab\\x09name'/, qr/'home\/\.\.\/\.\.\/etc'/,
	    qr/'hash1'.*damaged sha512/, qr/'hash2'.*unrecognised/,
	    qr/'hash3'.*unrecognised/, qr/'hash4'.*damaged/) {
	ok((grep /^ERROR: account $re/, @errs), "ERROR: $re");
}
unlike($err, qr/\x1b/, 'no terminal escape reaches stderr');
for my $l (@lines) {
	my $w = parse_shell_words($l);
	ok($w && $w->[0] eq 'vadduser' && $w->[-1] =~ /\A[a-z0-9._-]+\@example\.com\z/,
	   "plain command: " . substr($l, 0, 40));
}

# Run it: the stubs must see exactly the fixture's bytes, nothing may run
for my $shell (grep { -x } '/bin/sh', '/bin/bash', '/bin/dash') {
	my $r = run_list($shell, $out);
	is($r->{status}, 0, "$shell: the list runs");
	is_deeply($r->{files}, [], "$shell: no file created (no PWNED)");
	is(scalar @{ $r->{calls} }, scalar @GOOD, "$shell: one vadduser call per line");
	my @want = map {
		my ($fn) = full_name($gecos{$_}, "5.6");
		[ 'vadduser', '-c', $fn, '-e', $hash{$_}, "$_\@example.com" ];
	} @GOOD;
	is_deeply($r->{calls}, \@want, "$shell: argv exactly the account's fields");
	my @trace = grep { length } split /\n/, $r->{trace};
	is(scalar(grep { !/^\+ vadduser / && !/^\+ command -v vadduser\z/ } @trace), 0, "$shell: xtrace shows only vadduser")
	  or diag($r->{trace});
	is($r->{out}, '', "$shell: nothing on stdout");
}
is(password_verify($PW, $hash{eve}), 1, 'the quoted hashes are the real ones');

# getpwent (NIS, LDAP) can hand out what files cannot: newlines, colons
my $h = password_hash($PW, method => '$6$');
my @fake = (
	[ "evil\nvadduser -e x root", $h, 1000, 100, '', '', 'Evil', '/', '/bin/sh' ],
	[ 'gecosnl', $h, 1001, 100, '', '', "Line1\nvadduser -e x root\@example.com", '/', '/bin/sh' ],
	[ 'hashnl', "$h\ntouch PWNED", 1002, 100, '', '', 'H', '/', '/bin/sh' ],
	[ 'hashcolon', "!$h:x", 1003, 100, '', '', 'H', '/', '/bin/sh' ],
	[ '-e', $h, 1004, 100, '', '', 'Dash', '/', '/bin/sh' ],
	[ '--help', $h, 1005, 100, '', '', 'Dash', '/', '/bin/sh' ],
	[ 'lockedevil', "!'; touch PWNED; '", 1006, 100, '', '', "it's", '/', '/bin/sh' ],
	[ 'fine', $h, 1007, 100, '', '', "Fine \x01Person", '/', '/bin/sh' ],
);
for my $format (qw(vpopmail dovecot)) {
	my @q = @fake;
	open my $o, '>', \my $sout or die;
	open my $e, '>', \my $serr or die;
	my $rc = MigrateMail::SendmailList::run(
		{ domain => 'example.com', gecos => 1, 'keep-locked' => 1,
		  format => $format, getpwent => sub { @{ shift(@q) || [] } } },
		[], $o, $e);
	is($rc, 1, "getpwent $format: exit 1");
	like($serr, qr/^ERROR: account 'evil\\x0avadduser -e x root' .*outside/m,
	     "$format: newline in a name is shown escaped, an ERROR");
	like($serr, qr/^ERROR: account 'hashnl' .*colon or a control character/m,
	     "$format: newline in a hash: ERROR");
	like($serr, qr/^ERROR: account 'hashcolon' .*colon/m, "$format: colon in a hash: ERROR");
	like($serr, qr/^ERROR: account '-e' .*option/m, "$format: '-e' is an ERROR");
	like($serr, qr/^ERROR: account '--help' .*option/m, "$format: '--help' is an ERROR");
	is(scalar(() = $serr =~ /\n/g), 5, "$format: one stderr line per ERROR");
	my @l = list_lines($sout);
	is(scalar @l, 3, "$format: three accounts listed");
	next unless $format eq 'vpopmail';
	like($l[0], qr/^vadduser -c 'Line1 vadduser -e x root\@example\.com' -e '\Q$h\E' gecosnl\@example\.com$/,
	     'a newline in the gecos becomes a space');
	my $r = run_list('/bin/sh', $sout);
	is_deeply($r->{files}, [], 'getpwent list: nothing created');
	is_deeply($r->{calls}, [
		[ 'vadduser', '-c', 'Line1 vadduser -e x root@example.com', '-e', $h, 'gecosnl@example.com' ],
		[ 'vadduser', '-c', "it's", '-e', "!'; touch PWNED; '", 'lockedevil@example.com' ],
		[ 'vadduser', '-c', 'Fine Person', '-e', $h, 'fine@example.com' ],
	], 'getpwent list: argv exactly as meant (a locked hostile hash stays one word)');
}

# shell_quote on random bytes: sh must see exactly the bytes
srand(20261128);
my @strings = ("'", "''", "\\'", "'\\''", '$(touch PWNED)', '`touch PWNED`',
	       "a\nb", "\\", '"', '$HOME', '!!', '*', '~', '#x', ' ', '');
for (1 .. 300) {
	push @strings, join '', map { chr(1 + int rand 255) } 1 .. int rand 40;
}
my $script = join '', map { 'printf "%s\0" ' . shell_quote($_) . "\n" } @strings;
my $r = run_list('/bin/sh', $script);
is($r->{out}, join('', map { "$_\0" } @strings), 'shell_quote: sh sees exactly the bytes of 316 strings');
is_deeply($r->{files}, [], 'shell_quote: nothing ran');
my $rt = 0;
for my $s (@strings) {
	next if $s =~ /\n/;
	my $w = parse_shell_words('cmd ' . shell_quote($s));
	$rt++ if $w && @$w == 2 && $w->[1] eq $s;
}
is($rt, scalar(grep { !/\n/ } @strings), 'parse_shell_words reads back shell_quote');

# the last line of defence: no unsafe address is ever formatted
ok(!eval { MigrateMail::SendmailList::vadduser_line("a'b", 'example.com', 'h'); 1 },
   'vadduser_line refuses an unsafe name');
ok(!eval { MigrateMail::SendmailList::valias_line('t', 'ok', 'ex ample.com'); 1 },
   'valias_line refuses an unsafe domain');
ok(!eval { MigrateMail::SendmailList::dovecot_line('ok', 'example.com', 'a:b'); 1 },
   'dovecot_line refuses a colon');

done_testing;
