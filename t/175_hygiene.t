# Output hygiene: names with newlines and terminal escapes never split
# an ERROR line or reach the terminal; the JSON report is valid UTF-8
# whatever the bytes of file names; batch names vpopmail would refuse
# (upper case, a leading '-', ...) are refused, never lowercased, never
# given to vuserinfo; mbox-scan the same.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use JSON::PP ();
use lib 't/lib';
use MMMaildir qw(maildir_files slurp);
use MMRun qw(run_script spew);
use MigrateMail::Mbox2Vpopmail qw(json_text);
use MigrateMail::Vpopmail qw(user_dir);

my $dir = tempdir(CLEANUP => 1);
my $vp = "$dir/vpopmail";
make_path("$vp/bin", map { "$vp/domains/example.com/$_" } qw(mike mike2));
system('cp', 't/vpopmail/vuserinfo', "$vp/bin/vuserinfo.real") == 0 or die;
# vuserinfo that notes how it was called
spew("$vp/bin/vuserinfo", "#!/bin/sh\nprintf '%s\\n' \"\$*\" >> '$dir/calls'\n"
     . "exec '$vp/bin/vuserinfo.real' \"\$@\"\n", 0755);
# the directory lookups (the quota is asked with -q too)
sub calls { return [ grep { /^-d / } split /\n/, slurp("$dir/calls") ] }

my $spool = "$dir/spool";
mkdir $spool or die;
my %src = ("a\nERROR b" => 'examples/sample.mbox', "\e[31mred" => 'examples/sample.mbox',
	   "caf\xff" => 'examples/sample.mbox', "caf\xc3\xa9" => 'examples/sample.mbox',
	   '-rf' => 'examples/sample.mbox', 'Mike' => 't/data/flags.mbox',
	   'mike' => 'examples/sample.mbox', 'dash' => 'examples/sample.mbox',
	   ".hid\nden" => 'examples/sample.mbox');
system('cp', $src{$_}, "$spool/$_") == 0 or die for keys %src;
symlink '/etc/passwd', "$spool/link\e]0;title\a" or die;
spew("$dir/map", "dash -evil\n");

my $SUMMARY = qr/^.+?: \d+ messages, \d+ bytes, \d+ new, \d+ cur, \d+ skipped, \d+ failed, \d+ warnings, [\d.]+ s(, FAILED)?$/;

# Every line an ERROR/WARNING (stderr) or a summary (stdout), none with
# a control byte.
sub clean_output {
	my ($out, $err, $what) = @_;
	my @bad = grep { !/^(?:ERROR|WARNING): / || /[\x00-\x1f\x7f]/ } split /\n/, $err;
	is_deeply(\@bad, [], "$what: every stderr line starts with ERROR:/WARNING:, no control bytes");
	@bad = grep { !($_ =~ $SUMMARY || /^total: /) || /[\x00-\x1f\x7f]/ } split /\n/, $out;
	is_deeply(\@bad, [], "$what: every stdout line a summary line, no control bytes");
}

for my $jobs (1, 2) {
	unlink "$dir/calls";
	system('rm', '-rf', map { "$vp/domains/example.com/$_/Maildir" } qw(mike mike2));
	my ($out, $err, $st) = run_script('bin/mbox2vpopmail', '--domain', 'example.com', '--dir', $spool,
					  '--map', "$dir/map", '--jobs', $jobs, '--report', "$dir/report.json",
					  '--vpopmail-bin', "$vp/bin");
	is($st, 3, "--jobs $jobs: exit 3");
	clean_output($out, $err, "--jobs $jobs");
	my @errors = grep { /^ERROR/ } split /\n/, $err;
	is(scalar @errors, 8, "--jobs $jobs: eight mailboxes refused") or diag $err;
	like($err, qr/^ERROR: \Q$spool\E\/a\\x0aERROR b: 'a\\x0aERROR b' is not a user name vpopmail accepts \(characters outside \[a-z0-9._-\]\); name its user in --map$/m,
	     'a newline in a name: one ERROR line, shown as \x0a');
	like($err, qr/^ERROR: \Q$spool\E\/\\x1b\[31mred: /m, 'a terminal escape shown as \x1b');
	like($err, qr/^ERROR: \Q$spool\E\/-rf: '-rf' is not a user name vpopmail accepts \(starts with '-'/m,
	     "a leading '-' refused");
	for my $f (qw(Mike mike)) {
		like($err, qr/^ERROR: \Q$spool\E\/$f: the spool files 'Mike', 'mike' would all go to mike\@example\.com: nothing delivered for them; name each in --map \(one line per file\) to merge them, or map them to different users$/m,
		     "Mike and mike would share a Maildir: $f refused");
	}
	like($err, qr/^ERROR: \Q$spool\E\/dash: invalid address '-evil\@example.com': user or domain starts with '-'$/m,
	     "a mapped address starting with '-' refused");
	like($err, qr/^WARNING: \Q$spool\E\/\.hid\\x0aden: not a mailbox/m, 'the listing warning is escaped too');
	like($err, qr/^WARNING: \Q$spool\E\/link\\x1b\]0;title\\x07: not a regular file, skipped$/m, 'and the symlink');
	is_deeply(calls(), [], 'vuserinfo asked about nobody');
	ok(!-e "$vp/domains/example.com/mike/Maildir", "nothing delivered to mike");

	my $raw = slurp("$dir/report.json");
	my $rep = eval { JSON::PP->new->utf8->decode($raw) };
	ok($rep, "--jobs $jobs: the report is valid UTF-8 JSON") or diag $@;
	my %by = map { ($_->{source} => $_) } @{ $rep->{mailboxes} || [] };
	ok($by{"$spool/caf\\xff"}, 'a byte that is not UTF-8 is \xff in the report');
	like($by{"$spool/caf\\xff"}{errors}[0] // '', qr/^ERROR: \Q$spool\E\/caf\\xff: 'caf\\xff' is not/,
	     'and in its error line');
	ok($by{"$spool/caf\x{e9}"}, 'a UTF-8 name is kept as text');
	ok($by{"$spool/a\nERROR b"}, 'a newline is kept in the report (JSON escapes it)');
	is($rep->{totals}{mailboxes}, 8, 'report totals: eight mailboxes');
}

# --map keeps working for the names refused
spew("$dir/map", "Mike mike2\n-rf mike2\n");
unlink "$dir/calls";
system('rm', '-rf', map { "$vp/domains/example.com/$_/Maildir" } qw(mike mike2));
my ($out, $err, $st) = run_script('bin/mbox2vpopmail', '--domain', 'example.com', '--dir', $spool, '--map', "$dir/map",
				  '--vpopmail-bin', "$vp/bin");
like($out, qr/^mike2\@example.com: 15 messages/m, 'Mike mapped to mike2');
like($out, qr/^mike2\@example.com: 4 messages/m, '-rf mapped to mike2');
is_deeply([ sort @{ calls() } ], [ '-d dash@example.com', '-d mike2@example.com', '-d mike2@example.com',
				  '-d mike@example.com' ],
	  'vuserinfo asked about the mapped users');

# user_dir refuses an option-like user or domain before running anything
unlink "$dir/calls";
for my $addr ('-d@example.com', 'x@-example.com', '--help@example.com') {
	ok(!eval { user_dir("$vp/bin", $addr); 1 }, "user_dir('$addr') dies");
	like($@, qr/starts with '-'/, 'saying why');
}
ok(!-e "$dir/calls", 'vuserinfo never ran');

# the single-mailbox form: a missing file whose name has escapes
($out, $err, $st) = run_script('bin/mbox2vpopmail', '--maildir', "$dir/md", "$dir/no\e[2Jsuch\nfile");
is($st, 3, 'missing mbox: exit 3');
clean_output($out, $err, 'single mailbox');
like($err, qr/^ERROR: \Q$dir\E\/no\\x1b\[2Jsuch\\x0afile: cannot open mbox/m, 'its ERROR line escaped');

# json_text: numbers stay numbers, text stays text
is(JSON::PP->new->canonical->encode(json_text({ n => 3, s => 'x', u => "\xc3\xa9", b => "\xff\xc3\xa9\xfe" })),
   qq({"b":"\\\\xff\x{e9}\\\\xfe","n":3,"s":"x","u":"\x{e9}"}), 'json_text');

# mbox-scan: a file name and a sender with escapes
my $scan = spew("$dir/scan\e[2J\nme", "From evil\e[31m\@example.com Mon Jan  1 00:00:00 2001\nSubject: x\n\nx\n"
		. "\nFrom nowhere\e[1m\n\0\n");
($out, $err, $st) = run_script('bin/mbox-scan', $scan);
is($st, 0, 'mbox-scan: exit 0');
is(scalar(grep { /[\x00-\x09\x0b-\x1f\x7f]/ } $out, $err), 0, 'mbox-scan: no control bytes but line ends');
like($out, qr/evil\\x1b\[31m\@example\.com/, 'mbox-scan: the sender escaped');
like($out, qr/^\Q$dir\E\/scan\\x1b\[2J\\x0ame: 1 messages/m, 'mbox-scan: the summary line escaped');
like($err, qr/^WARNING: \Q$dir\E\/scan\\x1b\[2J\\x0ame: message 1/m, 'mbox-scan: a warning line escaped');
done_testing;
