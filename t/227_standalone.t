# The standalone sendmail-list (make sendmail-list-standalone, issue 17):
# packed by tools/pack-sendmail-list, copied alone into an empty
# directory and run by perl in a clean environment (env -i, no PERL5LIB,
# no blib, no lib/), it gives the full build's standard output, standard
# errors, exit status and -o file, byte for byte, for every case of
# t/lib/MMSendmailCases.pm (every format, the main filters, aliases and
# forwards, usage and input errors, --help, --man, --version); it loads
# nothing perl 5.8.8 lacks; --check says it needs the full install.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMRun qw(slurp spew);
use MMSendmailCases qw(setup_workdir sendmail_cases);
use Cwd qw(getcwd);
use File::Temp qw(tempdir);
use Module::CoreList ();

my $top = getcwd();
my $tmp = tempdir(CLEANUP => 1);
my $alone = "$tmp/alone";
mkdir $alone or die $!;
system($^X, 'tools/pack-sendmail-list', "$tmp/packed/sendmail-list") == 0
  or BAIL_OUT('tools/pack-sendmail-list failed');
system('cp', "$tmp/packed/sendmail-list", "$alone/sendmail-list") == 0 or die;
my $SA = "$alone/sendmail-list";
opendir my $dh, $alone or die;
is_deeply([ sort grep { !/\A\.\.?\z/ } readdir $dh ], ['sendmail-list'],
	  'one file, alone in its directory');
closedir $dh;
my $text = slurp($SA);
unlike($text, qr/^\s*use\s+MigrateMail(?:::Passwd)?\s*[;(]/m,
       'it does not load the XS module');
like($text, qr/^=head1 NAME\n\nsendmail-list - /m, "the script's POD is in it");
is(scalar(() = $text =~ /^=head1 /mg), scalar(() = slurp('bin/sendmail-list') =~ /^=head1 /mg),
   "... and only the script's POD (the modules' is left out)");

my $work = setup_workdir("$top/t/data/accounts", "$tmp/work");

# run one case in the work directory: (stdout, stderr, status, -o file, mode)
# (the full build keeps the sanitizers' variables of make test-asan,
# without which its XS module cannot load; the standalone file gets none)
my @KEEP = map { "$_=$ENV{$_}" } grep { defined $ENV{$_} }
  qw(LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS);
sub run_case {
	my ($cmd, $args, $file) = @_;
	my @env = $cmd->[0] eq 'perl' ? () : @KEEP;
	unlink "$work/$file" if defined $file;
	my $pid = fork;
	die "fork: $!" unless defined $pid;
	if (!$pid) {
		chdir $work or die;
		open STDIN, '<', '/dev/null' or die;
		open STDOUT, '>', "$tmp/out" or die;
		open STDERR, '>', "$tmp/err" or die;
		exec 'env', '-i', 'PATH=/usr/bin:/bin', @env, @$cmd, @$args or die;
	}
	waitpid $pid, 0;
	my @r = (slurp("$tmp/out"), slurp("$tmp/err"), $? >> 8);
	push @r, slurp("$work/$file"), sprintf('%o', (stat "$work/$file")[2] & 07777)
	  if defined $file;
	return \@r;
}

my @FULL = ($^X, "-I$top/blib/lib", "-I$top/blib/arch", "$top/bin/sendmail-list");
my @ALONE = ('perl', $SA);
my %status;
for my $c (sendmail_cases(), [ 'man page', [ '--man' ] ]) {
	my ($name, $args, $file) = @$c;
	my $full = run_case(\@FULL, $args, $file);
	my $sa = run_case(\@ALONE, $args, $file);
	$status{ $full->[2] }++;
	if (is_deeply($sa, $full, "$name: the same output, messages, exit status"
		      . (defined $file ? ', file and mode' : '') . " ($full->[2])")) {
		next;
	}
	for my $i (0 .. $#$full) {
		next if defined $sa->[$i] && $sa->[$i] eq $full->[$i];
		diag("part $i, full build:\n" . substr($full->[$i], 0, 800)
		     . "\nstandalone:\n" . substr(defined $sa->[$i] ? $sa->[$i] : '', 0, 800));
	}
}
ok($status{0} && $status{1} && $status{2}, 'cases with exit status 0, 1 and 2');

# the cases' expectations hold (so that the same output is not the same nothing)
my $r = run_case(\@ALONE, [ '--domain', 'example.com', '--passwd', 'acc/passwd',
			    '--shadow', 'acc/shadow', '-o', 'out/list' ], 'out/list');
like($r->[3], qr/^vadduser -e '\$6\$[^']+' uid500\@example\.com$/m, 'standalone: the list');
is($r->[4], '600', 'standalone: -o writes mode 0600');
$r = run_case(\@ALONE, [ '--passwd', 'acc/passwd', '--shadow', 'acc/shadow', '-f', 'json' ]);
like($r->[0], qr/\A\[\n   \{\n      "gecos" : "Lowest Listed",\n/, 'standalone: JSON');
$r = run_case(\@ALONE, [ '--man' ]);
like($r->[0], qr/EXAMPLES.*EXIT STATUS/s, 'standalone: --man, the whole page');
unlike($r->[0], qr/BEGIN \{|\$INC\{/, '... and no code');
$r = run_case(\@ALONE, [ '--version' ]);
require MigrateMail::SendmailList;
is($r->[0], "sendmail-list (MigrateMail) "
   . do { no warnings 'once'; $MigrateMail::SendmailList::DIST_VERSION } . "\n",
   'standalone: --version');

# --check needs the XS module, which a clean perl does not have
for my $args ([ '--check' ], [ '--check', 'acc/passwd' ],
	      [ '--check', '--passwd', 'acc/passwd', '--shadow', 'acc/shadow' ]) {
	$r = run_case(\@ALONE, $args);
	is_deeply([ @$r[0, 2] ], [ '', 2 ], "standalone @$args: nothing listed, exit 2");
	like($r->[1], qr/\AERROR: --check needs the full MigrateMail install \(its XS module, built with libxcrypt\)[^\n]*\n\z/,
	     '... one ERROR line: it needs the full install');
}
$r = run_case(\@FULL, [ '--check', '--passwd', 'acc/passwd', '--shadow', 'acc/shadow' ]);
like($r->[0], qr/^# checked \d+ accounts/m, 'the full build runs --check');

# what it uses is all in perl 5.8.8 (Module::CoreList), whatever this
# perl has: every module the file names (the packed ones aside; the XS
# module only for --check) ...
(my $code = $text) =~ s/^__END__\n.*//ms;
$code =~ s/^\s*#.*\n//mg;
my %named = map { $_ => 1 } $code =~ /\b(?:use|require)\s+([A-Z]\w*(?:::\w+)*)/g;
delete $named{$_} for qw(MigrateMail::Accounts MigrateMail::Aliases
			 MigrateMail::PasswdPP MigrateMail::Vpopmail
			 MigrateMail::SendmailList);
ok(delete $named{'MigrateMail::Passwd'}, 'the XS module is named (for --check)');
ok(keys %named >= 8, 'modules it uses: ' . join ' ', sort keys %named);
my @new = grep { !(Module::CoreList->first_release($_)
		   && Module::CoreList->first_release($_) <= 5.008008) } sort keys %named;
is("@new", '', 'all in perl 5.8.8');
ok(Module::CoreList::is_core($_, undef, 5.008008), "$_ is core in perl 5.8.8")
  for sort keys %named;
# ... and listing loads neither the XS nor what 5.8 lacks
mkdir "$tmp/inc" or die;
spew("$tmp/inc/MMListINC.pm", "package MMListINC;\nEND { print STDERR map { \"INC \$_\\n\" } sort keys %INC }\n1;\n");
my %loaded;
for my $args ([ '--domain', 'example.com', '--passwd', 'acc/passwd', '--shadow', 'acc/shadow',
		'--gecos', '--aliases', 'acc/aliases', '-o', 'out/x' ],
	      [ '--passwd', 'acc/passwd', '--shadow', 'acc/shadow', '-f', 'json', '--spool-dir', 'spool' ],
	      [ '--passwd', 'acc/passwd', '-f', 'csv', '--mailname', 'mailname' ],
	      [ '--master-passwd', 'acc/master.passwd', '-f', 'dovecot', '--mailname', 'nosuch' ],
	      [ '--domain', 'example.com', '--passwd', 'acc/passwd.forwards', '--forwards' ]) {
	$r = run_case([ 'perl', "-I$tmp/inc", '-MMMListINC', $SA ], $args);
	$loaded{$_} = 1 for $r->[1] =~ /^INC (\S+)$/mg;
}
ok($loaded{'Getopt/Long.pm'} && $loaded{'MigrateMail/SendmailList.pm'},
   scalar(keys %loaded) . ' modules loaded when listing');
# (this perl's Pod::Usage loads Encode; perl 5.8's did not)
is(join(' ', sort grep { m{\A(?:MigrateMail\.pm|MigrateMail/Passwd\.pm|JSON/|auto/MigrateMail)} } keys %loaded),
   '', 'not the XS module, nor JSON::PP');

# make's target writes the same file
unlink 'standalone/sendmail-list';
my $make = `make sendmail-list-standalone 2>&1`;
is($?, 0, 'make sendmail-list-standalone') or diag($make);
is(slurp('standalone/sendmail-list'), $text, '... writes the same file');
ok(-x 'standalone/sendmail-list', '... executable');

done_testing;
