# Many machines: --list-jobs (largest first, odd names encoded and back),
# --jobs-file FILE|-, --shard K/N (deterministic, byte-balanced, each
# mailbox once, one address in one shard), --report per shard and
# --merge-reports (totals as one run's, FAILED and MISSING lines,
# --retry-list), --jobs N starting the largest first, --jobs auto.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use JSON::PP ();
use List::Util qw(shuffle sum max min);
use lib 't/lib';
use MMRun qw(run_script slurp spew);
use MMMaildir qw(maildir_files);
use MigrateMail::Jobs qw(encode_field decode_field job_line parse_job_line shard_jobs
  parse_shard by_size_desc);
use MigrateMail::Batch qw(run_jobs);

my $dir = tempdir(CLEANUP => 1);
my $vp = "$dir/vpopmail";
my @users = map { "user$_" } 1 .. 12;
make_path("$vp/bin", map { "$vp/domains/example.com/$_" } @users, 'odd', 'latin', 'dave');
system('cp', 't/vpopmail/vuserinfo', "$vp/bin/") == 0 or die;
sub run {
	local $ENV{VPOPMAIL} = $vp;
	return run_script('bin/mbox2vpopmail', @_);
}

# the encoding of fields
for my $s ("plain", "a b\tc\nd%e", "caf\xe9", "\e[2J", "100%", "x\r") {
	my $e = encode_field($s);
	unlike($e, qr/[^\x21-\x7e]/, 'encoded: printable ASCII, no space');
	is(decode_field($e), $s, 'and back byte for byte');
}
is(encode_field("a b%"), 'a%20b%25', 'space and % encoded');
my $j = parse_job_line("a\@b.c\t/x/caf%E9\t12\n", 'test');
is_deeply([ @$j{qw(addr src size)} ], [ 'a@b.c', "/x/caf\xe9", 12 ], 'a line parsed');
ok(!eval { parse_job_line("a\@b\t/x", 'list line 3'); 1 }, 'a short line refused');
like($@, qr/^list line 3: expected ADDRESS/, 'naming the line');
ok(!eval { parse_job_line("ab\t/x\t1", 'l'); 1 }, 'a line without an address refused');
is_deeply([ parse_shard('2/4') ], [ 2, 4 ], '2/4');
ok(!parse_shard($_), "'$_' refused") for qw(0/4 5/4 4 a/b 1/0);

# shards: each job once, the same from any order, balanced by bytes,
# one address together
my @list = map { { addr => "u$_\@x", src => "/s/u$_", size => int(1000 * 1.5**($_ % 17)) + $_ } } 1 .. 300;
push @list, { addr => 'U7@x', src => '/s/U7', size => 5 };   # one address with u7
for my $n (1, 2, 3, 4, 7) {
	my (%seen, @bytes);
	for my $k (1 .. $n) {
		my $mine = shard_jobs(\@list, $k, $n);
		my $again = shard_jobs([ shuffle @list ], $k, $n);
		is_deeply([ map { $_->{src} } @$again ], [ map { $_->{src} } @$mine ],
			  "shard $k/$n: the same from a shuffled list") if $k == 1;
		$seen{ $_->{src} }++ for @$mine;
		push @bytes, sum(0, map { $_->{size} } @$mine);
		my %addr = map { (lc $_->{addr} => 1) } @$mine;
		ok(!($addr{'u7@x'} xor grep { $_->{src} eq '/s/U7' } @$mine), "shard $k/$n: u7 and U7 together");
	}
	is(scalar keys %seen, scalar @list, "$n shards: every job in one");
	ok(!grep({ $_ != 1 } values %seen), "$n shards: none twice");
	my $biggest = max(map { $_->{size} } @list);
	cmp_ok(max(@bytes) - min(@bytes), '<=', $biggest, "$n shards: within the largest job of each other");
}

# a spool: sizes vary, odd names mapped
my $spool = "$dir/spool";
mkdir $spool;
my $msg = slurp('examples/sample.mbox');
my %size;
for my $i (1 .. 12) {
	spew("$spool/user$i", $msg x ($i % 5 + 1));
	$size{"user$i"} = length($msg) * ($i % 5 + 1);
}
my $odd = "a b\tc%d";
spew("$spool/$odd", $msg);
spew("$spool/caf\xe9", $msg x 2);
spew("$dir/map", "$odd odd\ncaf\xe9 latin\n");
my ($out, $err, $st) = run('--domain', 'example.com', '--dir', $spool, '--map', "$dir/map", '--list-jobs');
is($st, 0, '--list-jobs: 0') or diag $err;
is($err, '', 'nothing on stderr');
my @lines = split /\n/, $out;
is(scalar @lines, 14, 'a line per mailbox');
my @jobs = map { parse_job_line($_, 'out') } @lines;
is_deeply([ map { $_->{size} } @jobs ], [ sort { $b <=> $a } map { $_->{size} } @jobs ], 'largest first');
my %by = map { ($_->{addr} => $_) } @jobs;
is($by{'odd@example.com'}{src}, "$spool/$odd", 'the odd name decodes back');
is($by{'latin@example.com'}{src}, "$spool/caf\xe9", 'the Latin-1 name decodes back');
is($by{'user3@example.com'}{size}, -s "$spool/user3", 'bytes: the file size');
like($out, qr/^odd\@example.com\t\Q$spool\E\/a%20b%09c%25d\t\d+$/m, 'the odd name encoded');
spew("$dir/jobs", $out);

# --shard with --list-jobs: the lists of the shards make the whole
my @parts;
for my $k (1 .. 3) {
	($out, $err, $st) = run('--jobs-file', "$dir/jobs", '--shard', "$k/3", '--list-jobs');
	is($st, 0, "--list-jobs --shard $k/3");
	push @parts, split /\n/, $out;
}
is_deeply([ sort @parts ], [ sort @lines ], 'the shards\' lists: every job once');

# a name vpopmail refuses: an ERROR, left out, 3
spew("$spool/Dave", $msg);
($out, $err, $st) = run('--domain', 'example.com', '--dir', $spool, '--map', "$dir/map", '--list-jobs');
is($st, 3, 'a refused name: --list-jobs exits 3');
like($err, qr{^ERROR: \Q$spool\E/Dave: 'Dave' is not a user name vpopmail accepts}m, 'its ERROR line');
is(scalar(split /\n/, $out), 14, 'the others listed');
unlink "$spool/Dave";

# --jobs-file: a bad line
spew("$dir/bad", "# comment\n\nuser1\@example.com\t$spool/user1\n");
($out, $err, $st) = run('--jobs-file', "$dir/bad");
is($st, 3, 'a bad job list: 3');
like($err, qr/^ERROR: \Q$dir\E\/bad line 3: expected ADDRESS/m, 'naming the line');
($out, $err, $st) = run({ stdin => "$dir/jobs" }, '--jobs-file', '-', '--list-jobs');
is($out, slurp("$dir/jobs"), '--jobs-file - --list-jobs: the same list again');

# the single-machine run, as reference, into its own tree
my $vp1 = "$dir/vp1";
system('cp', '-a', $vp, $vp1) == 0 or die;
{
	local $ENV{VPOPMAIL} = $vp1;
	($out, $err, $st) = run_script('bin/mbox2vpopmail', '--domain', 'example.com', '--dir', $spool,
				       '--map', "$dir/map", '--report', "$dir/one.json");
}
is($st, 0, 'one --dir run: 0') or diag $err;
my $one = JSON::PP->new->decode(slurp("$dir/one.json"));

# three shards, one from stdin, each with its report
for my $k (1 .. 3) {
	($out, $err, $st) = run($k == 2 ? { stdin => "$dir/jobs" } : (), '--jobs-file', $k == 2 ? '-' : "$dir/jobs",
				'--shard', "$k/3", '--report', "$dir/s$k.json", '--jobs', 2);
	is($st, 0, "shard $k/3: 0") or diag $err;
	like($out, qr/^total: \d+ mailboxes/m, "shard $k/3: a total line");
}
($out, $err, $st) = run('--merge-reports', map { "$dir/s$_.json" } 1 .. 3);
is($st, 0, '--merge-reports: 0') or diag $err;
my %tot;
$tot{$2} //= $1 while $out =~ /(\d+) (mailboxes|failed|messages|bytes|new|cur|skipped)\b/g;
is($tot{mailboxes}, 14, 'merged: 14 mailboxes');
is($tot{$_}, $one->{totals}{ { mailboxes => 'mailboxes', messages => 'messages',
	bytes => 'bytes', new => 'to_new', cur => 'to_cur', skipped => 'skipped' }->{$_} },
   "merged $_ equal one run's") for qw(mailboxes messages bytes new cur skipped);
for my $u (@users, 'odd', 'latin') {
	my ($a) = maildir_files("$vp/domains/example.com/$u/Maildir");
	my ($b) = maildir_files("$vp1/domains/example.com/$u/Maildir");
	is_deeply($a, $b, "$u: the shards' Maildir is the one run's");
}

# a failed and a missing mailbox: FAILED, MISSING, the retry list
rename "$vp/domains/example.com/user5", "$dir/user5.away" or die;
($out, $err, $st) = run('--jobs-file', "$dir/jobs", '--shard', '1/1', '--report', "$dir/again.json");
is($st, 3, 'user5 unknown now: 3');
like($err, qr/^ERROR: \Q$spool\E\/user5: no such user/m, 'the ERROR names the mailbox');
my $rep = JSON::PP->new->decode(slurp("$dir/again.json"));
is($rep->{shard}, '1/1', 'the report names its shard');
# a report without latin (as if its task was killed before it wrote it)
$rep->{mailboxes} = [ grep { $_->{user} ne 'latin@example.com' } @{ $rep->{mailboxes} } ];
spew("$dir/cut.json", JSON::PP->new->encode($rep));
($out, $err, $st) = run('--merge-reports', '--jobs-file', "$dir/jobs", '--retry-list', "$dir/retry",
			"$dir/cut.json");
is($st, 3, 'merged with an admin failure: 3');
like($out, qr{^FAILED user5\@example.com: \Q$spool\E/user5 \(admin\): ERROR: }m, 'the FAILED line');
like($out, qr{^MISSING latin\@example.com: \Q$spool\E/caf\\xe9 \(no report has it\)$}m, 'the MISSING line');
like($out, qr/^total: 13 mailboxes, 1 failed, 1 missing, /m, 'the totals');
is(slurp("$dir/retry"), join('', map { job_line($_) . "\n" } by_size_desc([ $by{'user5@example.com'},
	$by{'latin@example.com'} ])), 'the retry list: user5 and latin, byte for byte');
rename "$dir/user5.away", "$vp/domains/example.com/user5" or die;
($out, $err, $st) = run('--jobs-file', "$dir/retry", '--report', "$dir/retry.json");
is($st, 0, 'the retry run: 0') or diag $err;
($out, $err, $st) = run('--merge-reports', '--jobs-file', "$dir/jobs", "$dir/cut.json", "$dir/retry.json");
is($st, 0, 'merged with the retry: 0');
like($out, qr/^total: 14 mailboxes, 0 failed, 0 missing, /m, 'the latest result of each counts');
($out, $err, $st) = run('--merge-reports', '--jobs-file', "$dir/jobs", "$dir/retry.json", "$dir/cut.json");
is($st, 0, 'whatever the order given: by the time each was written');
# a damaged report (cut short; a run writes its report whole or not at
# all, so this is not what a killed task leaves): an ERROR naming it,
# the others merged, its mailboxes missing and in the retry list, 3
my $whole = slurp("$dir/s3.json");
spew("$dir/s3-cut.json", substr $whole, 0, length($whole) / 2);
($out, $err, $st) = run('--merge-reports', '--jobs-file', "$dir/jobs", '--retry-list', "$dir/retry3",
			"$dir/s1.json", "$dir/s2.json", "$dir/s3-cut.json");
is($st, 3, 'a truncated report: 3 (the admin looks at it)');
like($err, qr/^ERROR: \Q$dir\E\/s3-cut.json: not a report of mbox2vpopmail, or damaged \(\d+ bytes: .+\): left out$/m,
     'an ERROR naming it');
my $n3 = scalar @{ JSON::PP->new->decode($whole)->{mailboxes} };
like($out, qr/^total: @{[ 14 - $n3 ]} mailboxes, 0 failed, $n3 missing, /m, 'the others merged; its mailboxes missing');
my ($list3) = run('--jobs-file', "$dir/jobs", '--shard', '3/3', '--list-jobs');
is_deeply([ sort split /\n/, slurp("$dir/retry3") ], [ sort split /\n/, $list3 ],
	  'the retry list: shard 3\'s mailboxes');
($out, $err, $st) = run('--merge-reports', "$dir/one.json", "$dir/s3-cut.json");
is($st, 3, 'every mailbox done, but a damaged report given: 3');
like($out, qr/^total: 14 mailboxes, 0 failed, /m, 'with the totals of the others');
($out, $err, $st) = run('--merge-reports', "$dir/one.json", "$dir/no-such.json");
is($st, 3, 'a report that cannot be read: 3');
like($err, qr/^ERROR: cannot read report \Q$dir\E\/no-such.json: No such file/m, 'saying so');
($out, $err, $st) = run('--merge-reports', "$dir/jobs");
is($st, 3, 'a file that is not a report: 3');
like($err, qr/^ERROR: \Q$dir\E\/jobs: not a report/m, 'saying so');
($out, $err, $st) = run('--merge-reports');
is($st, 2, '--merge-reports without files: usage');
($out, $err, $st) = run('--retry-list', "$dir/x", '--jobs-file', "$dir/jobs");
is($st, 2, '--retry-list without --merge-reports: usage');

# --jobs 2 starts the largest first, whatever the list's order
my $log = "$dir/started";
my @small_first = map { { name => "j$_", src => "/j$_", addr => "j$_\@x", size => $_ } } 1, 2, 3, 1000, 999;
run_jobs(\@small_first, 2, sub {
	open my $fh, '>>', $log or die;
	print $fh "$_[0]{size}\n";
	close $fh;
	select undef, undef, undef, 0.2;
	return { mailbox => $_[0]{name} };
}, sub { });
my @started = split /\n/, slurp($log);
is_deeply([ sort { $a <=> $b } @started[0, 1] ], [ 999, 1000 ], '--jobs 2: the two largest started first');
is(scalar @started, 5, 'and every job ran');

# what is in place: a pass over a mailbox an earlier pass of the same
# mbox had half delivered (as a killed task leaves it) reports in_place,
# and its merged totals are those of one clean pass, line for line
{
	my $ip = "$dir/inplace";
	mkdir $ip;
	my @m = split /(?=^From )/m, slurp('t/data/flags.mbox');
	cmp_ok(scalar @m, '>=', 4, scalar(@m) . ' messages');
	spew("$ip/mbox", join '', @m[0 .. 1]);
	($out, $err, $st) = run('--maildir', "$ip/md", "$ip/mbox", '--report', "$ip/r1.json");
	is($st, 0, 'a first pass over 2 messages') or diag $err;
	spew("$ip/mbox", join '', @m);
	($out, $err, $st) = run('--maildir', "$ip/md", "$ip/mbox", '--report', "$ip/r2.json");
	is($st, 0, 'the second pass over all') or diag $err;
	like($out, qr/, 2 skipped, /, 'its summary line: the 2 of the first pass skipped, as ever');
	($out, $err, $st) = run('--maildir', "$ip/clean", "$ip/mbox", '--report', "$ip/clean.json");
	my $clean = JSON::PP->new->decode(slurp("$ip/clean.json"))->{mailboxes}[0];
	my $second = JSON::PP->new->decode(slurp("$ip/r2.json"))->{mailboxes}[0];
	is_deeply($second->{in_place}, { messages => scalar @m, bytes => $clean->{bytes}, new => $clean->{to_new},
					 cur => $clean->{to_cur} }, 'in_place: every message, as one clean pass delivers them');
	is_deeply($clean->{in_place}, { messages => scalar @m, bytes => $clean->{bytes}, new => $clean->{to_new},
					cur => $clean->{to_cur} }, 'in a clean pass: what it delivered');
	my ($a) = run('--merge-reports', "$ip/clean.json");
	my ($b) = run('--merge-reports', "$ip/r1.json", "$ip/r2.json");
	my ($c) = run('--merge-reports', "$ip/r2.json", "$ip/r1.json");
	like($a, qr/^total: 1 mailboxes, 0 failed, ${\ scalar @m} messages, $clean->{bytes} bytes, /m, 'the clean pass merged');
	is($b, $a, 'the two passes merged: the same total line (the latest by finished, its in_place)');
	is($c, $a, 'in any order');
}

# engines interleave many processes' output: with --jobs 2 (and -v,
# for every WARNING), each line of standard error names its mailbox
my $mixed = "$dir/mixed";
mkdir $mixed;
spew("$mixed/user1", slurp('examples/sample.mbox'));
spew("$mixed/user2", "garbage before\n\n" . slurp('examples/sample.mbox') . "From nowhere\n");
spew("$mixed/user3", "not an mbox\n");
spew("$mixed/nobody", slurp('examples/sample.mbox'));
spew("$mixed/.hidden", '');
spew("$mixed/user4.lock", '');
($out, $err, $st) = run('-v', '--jobs', 2, '--domain', 'example.com', '--dir', $mixed);
is($st, 3, 'a mixed batch: 3');
my @errs = split /\n/, $err;
cmp_ok(scalar @errs, '>=', 4, scalar(@errs) . ' lines on standard error');
my @nameless = grep { !m{^(?:ERROR|WARNING): \Q$mixed\E/(?:user[1-4]|nobody|\.hidden|user4\.lock)[:,\s]} } @errs;
is_deeply(\@nameless, [], 'each names its spool file');
like($err, qr/^$_/m, "a line of $_") for map { "(?:ERROR|WARNING): \Q$mixed\E/$_" } qw(user2 user3 nobody);

($out, $err, $st) = run('--jobs', 'auto', '--jobs-file', "$dir/jobs", '-q');
is($st, 0, '--jobs auto') or diag $err;
is(MigrateMail::Jobs::cores(), `nproc` + 0, 'the cores nproc counts');
is(MigrateMail::Jobs::auto_jobs(undef), `nproc` + 1, 'auto: one job more than cores (the default: syncs)');
is(MigrateMail::Jobs::auto_jobs('batch'), `nproc` + 1, 'auto, --fsync batch: one more');
is(MigrateMail::Jobs::auto_jobs('each'), `nproc` + 1, 'auto, --fsync each: one more');
is(MigrateMail::Jobs::auto_jobs('none'), `nproc` + 0, 'auto, --fsync none: one per core');

done_testing;
