package MMEngines;
# What the engine tests (xt/engines/*.t) share: a spool of many
# generated mailboxes (mixed sizes, a few big, every message naming its
# mailbox), a vpopmail tree for them, the checks that a tree is exact,
# and running the script.
use strict;
use warnings;
use Exporter 'import';
use Digest::SHA qw(sha1_hex);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use JSON::PP ();
use Test::More ();
use MigrateMail qw(verify_maildir);

our @EXPORT_OK = qw(make_spool make_vpopmail check_tree tree_of m2v report_keys slurp spew
  wait_for fixture total_line check_pass check_killed check_retry);

sub slurp {
	my ($path) = @_;
	open my $fh, '<:raw', $path or return '';
	local $/;
	return scalar <$fh>;
}

sub spew {
	my ($path, $data) = @_;
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh $data;
	close $fh or die;
	return $path;
}

my @STATUS = ('', "Status: O\n", "Status: RO\n", "Status: RO\nX-Status: A\n",
	      "Status: O\nX-Status: F\n");

# $n mailboxes user001.. in $dir (at least 200): most of 1 to 40
# messages, every 50th big (1500 messages and a 1 MB one). Returns
# { user => [ { content, in_cur, flags } ] }, what each Maildir must
# hold.
sub make_spool {
	my ($dir, $n) = @_;
	make_path($dir);
	my %want;
	for my $u (1 .. $n) {
		my $user = sprintf 'user%03d', $u;
		my $count = $u % 50 == 0 ? 1500 : 1 + ($u * 37) % 40;
		open my $fh, '>:raw', "$dir/$user" or die;
		for my $i (1 .. $count) {
			my $t = 978350400 + $u * 86400 + $i * 60;
			my @tm = gmtime $t;
			my $status = $STATUS[($u + $i) % @STATUS];
			my $pad = ($u * 131 + $i * 17) % 3000;
			$pad = 1_000_000 if $u % 50 == 0 && $i == 700;
			my $content = "Subject: $user message $i\nMessage-ID: <$u.$i\@example.com>\n"
			  . "X-Mailbox: $user\n\nHello $user, this is $i.\n\nFrom the body, not a From_ line\n"
			  . ('x' x $pad) . "\n";
			(my $stored = $content) =~ s/^(From )/>$1/mg;
			my ($h, $b) = split /\n\n/, $stored, 2;
			printf $fh "From sender%d\@example.org %s %s %2d %02d:%02d:%02d %d\n%s\n%s\n%s\n",
			  $i % 9, (qw(Sun Mon Tue Wed Thu Fri Sat))[$tm[6]],
			  (qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec))[$tm[4]],
			  $tm[3], $tm[2], $tm[1], $tm[0], $tm[5] + 1900, $h, $status, $b;
			my %f;
			$f{S} = 1 if $status =~ /Status: R/;
			$f{R} = 1 if $status =~ /X-Status: A/;
			$f{F} = 1 if $status =~ /X-Status: F/;
			push @{ $want{$user} }, { content => $content, flags => join('', sort keys %f),
						  in_cur => $status ne '' ? 1 : 0 };
		}
		close $fh or die;
	}
	return \%want;
}

# A vpopmail tree whose vuserinfo (t/vpopmail/vuserinfo) knows the users.
sub make_vpopmail {
	my ($root, @users) = @_;
	make_path("$root/bin", map { "$root/domains/example.com/$_" } @users);
	system('cp', 't/vpopmail/vuserinfo', "$root/bin/") == 0 or die;
	return $root;
}

# Problems of a tree against what each Maildir must hold: every message
# there once, byte for byte, in new/ or cur/ with its flags, nothing
# else, nothing left in tmp/; and the project's verifier
# (verify_maildir: the mbox read again, compared byte for byte) finds
# every message. Returns the list of problems (empty: exact).
sub check_tree {
	my ($root, $spool, $want) = @_;
	my @bad;
	for my $user (sort keys %$want) {
		my $md = "$root/domains/example.com/$user/Maildir";
		my @have;
		for my $sub (qw(new cur)) {
			opendir my $d, "$md/$sub" or do { push @bad, "$user: no $sub/"; next };
			for my $f (grep { !/^\./ } readdir $d) {
				my ($info) = $f =~ /:2,([A-Z]*)\z/;
				push @have, join ' ', $sub, $info // '', sha1_hex(slurp("$md/$sub/$f"));
			}
		}
		my @exp = map { join ' ', $_->{in_cur} ? 'cur' : 'new', $_->{flags}, sha1_hex($_->{content}) }
		  @{ $want->{$user} };
		@have = sort @have;
		@exp = sort @exp;
		if ("@have" ne "@exp") {
			push @bad, sprintf '%s: %d files, %d expected, %s', $user, scalar @have, scalar @exp,
			  scalar(@have) == scalar(@exp) ? 'contents or flags differ' : 'not each once';
			next;
		}
		opendir my $t, "$md/tmp" or die;
		my @tmp = grep { !/^\./ } readdir $t;
		push @bad, "$user: tmp/ holds @tmp" if @tmp;
		my $v = verify_maildir("$spool/$user", $md);
		push @bad, "$user: the verifier: $v->{verified} verified, $v->{missing} missing, "
		  . "$v->{mismatched} different" if $v->{missing} || $v->{mismatched}
		  || $v->{verified} != @{ $want->{$user} };
	}
	return @bad;
}

# The names and bytes of every message file of a tree, by user: two
# runs that delivered the same made the same files.
sub tree_of {
	my ($root, @users) = @_;
	my %t;
	for my $user (@users) {
		my $md = "$root/domains/example.com/$user/Maildir";
		for my $sub (qw(new cur)) {
			opendir my $d, "$md/$sub" or next;
			$t{$user}{"$sub/$_"} = sha1_hex(slurp("$md/$sub/$_")) for grep { !/^\./ } readdir $d;
		}
	}
	return \%t;
}

# The script with these arguments and environment; (stdout, stderr, status).
sub m2v {
	my ($env, @args) = @_;
	my $pid = open my $out, '-|' // die;
	if (!$pid) {
		$ENV{$_} = $env->{$_} for keys %$env;
		open STDERR, '>', "/tmp/mm-engines-err.$$" or die;
		exec $^X, '-Mblib', 'bin/mbox2vpopmail', @args or die;
	}
	my $o = do { local $/; <$out> };
	close $out;
	my $st = $? >> 8;
	my $e = slurp("/tmp/mm-engines-err.$pid");
	unlink "/tmp/mm-engines-err.$pid";
	return ($o // '', $e, $st);
}

# The mailboxes of reports, each as "address<TAB>path" as many times as
# reports have it.
sub report_keys {
	my (@files) = @_;
	my %n;
	for my $f (@files) {
		my $r = JSON::PP->new->decode(slurp($f));
		$n{ join "\t", (split /\t/, $_->{job})[0, 1] }++ for @{ $r->{mailboxes} };
	}
	return \%n;
}

# What both engine tests start from: a temporary directory ($tag),
# a spool of $n generated mailboxes, its job list, and one --dir run on
# one machine into a vpopmail tree of its own, the reference. Returns
# { dir, spool, want, users, ref, refsum } (refsum: the total line of
# --merge-reports of that run's report).
sub fixture {
	my ($tag, $n) = @_;
	my $dir = tempdir("mm-$tag-XXXXXX", TMPDIR => 1, CLEANUP => 1);
	chmod 0755, $dir;
	my $spool = "$dir/spool";
	my $want = make_spool($spool, $n);
	my @users = sort keys %$want;
	my ($jobs, $err, $st) = m2v({}, '--domain', 'example.com', '--dir', $spool, '--list-jobs');
	Test::More::is($st, 0, '--list-jobs') or Test::More::diag($err);
	spew("$dir/jobs", $jobs);
	Test::More::is(scalar(() = $jobs =~ /\n/g), $n, "$n jobs");
	my $ref = make_vpopmail("$dir/vp-ref", @users);
	(undef, $err, $st) = m2v({ VPOPMAIL => $ref }, '-q', '--domain', 'example.com', '--dir', $spool,
				 '--report', "$dir/ref.json");
	Test::More::is($st, 0, 'the single-machine --dir run') or Test::More::diag($err);
	my $refsum = total_line("$dir/ref.json");
	Test::More::like($refsum, qr/\Atotal: $n mailboxes, 0 failed, [1-9]\d* messages, [1-9]\d* bytes, /,
			 "the single-machine run: $refsum");
	return { dir => $dir, spool => $spool, want => $want, users => \@users, ref => $ref,
		 refsum => $refsum };
}

# The total line of --merge-reports of these reports (with the job
# list of the fixture: its " 0 missing," taken out, so that it reads as
# the reference's), its output and its exit status.
sub total_line {
	my (@args) = @_;
	my ($out, $err, $st) = m2v({}, '--merge-reports', @args);
	my ($sum) = $out =~ /^(total: .*)$/m;
	($sum //= "no total line: $err") =~ s/ 0 missing,//;
	return wantarray ? ($sum, $out, $st) : $sum;
}

# A pass of all the shards into the tree $vp: their reports hold every
# mailbox exactly once, merged they give the reference's total line,
# every Maildir is exact and holds the reference's files.
sub check_pass {
	my ($fx, $vp, @reports) = @_;
	my $keys = report_keys(@reports);
	my $n = @{ $fx->{users} };
	Test::More::is(scalar keys %$keys, $n, 'the reports hold every mailbox');
	Test::More::is(scalar(grep { $_ != 1 } values %$keys), 0, 'each exactly once');
	my ($sum, $out, $st) = total_line('--jobs-file', "$fx->{dir}/jobs", @reports);
	Test::More::is($st, 0, 'merged: exit 0') or Test::More::diag($out);
	Test::More::is($sum, $fx->{refsum}, 'merged totals equal the single-machine run\'s');
	_same_tree($fx, $vp, 'every mailbox exact (and the verifier agrees)');
	return;
}

# After a shard was killed: the merge without it finds its mailboxes
# missing (exit 1), and the retry list ($fx->{dir}/retry) holds
# exactly those of shard $k of $n. Returns the reports of the others.
sub check_killed {
	my ($fx, $k, $n, @reports) = @_;
	my $dir = $fx->{dir};
	my ($out, $err, $st) = m2v({}, '--merge-reports', '--jobs-file', "$dir/jobs", '--retry-list',
				   "$dir/retry", @reports);
	Test::More::is($st, 1, "merged without shard $k: exit 1 (missing: a retry fixes it)");
	my ($missing) = $out =~ /(\d+) missing/;
	Test::More::cmp_ok($missing // 0, '>', 0, ($missing // 0) . ' mailboxes missing');
	my ($list) = m2v({}, '--jobs-file', "$dir/jobs", '--shard', "$k/$n", '--list-jobs');
	my @retry = sort split /\n/, slurp("$dir/retry");
	Test::More::is(scalar @retry, $missing // 0, 'the retry list holds them');
	Test::More::is_deeply(\@retry, [ sort grep { length } split /\n/, $list ],
			      "exactly shard $k\'s mailboxes");
	return;
}

# After the retry of the killed shard's list: the merge of every report
# (the killed shard's mailboxes counted once, with their latest
# result) gives the single-machine run's FULL total line (messages,
# bytes, new, cur, skipped: what is in place, whichever pass delivered
# it), and the tree is exact and the reference's.
sub check_retry {
	my ($fx, $vp, @reports) = @_;
	my $n = @{ $fx->{users} };
	my ($sum, $out, $st) = total_line('--jobs-file', "$fx->{dir}/jobs", @reports);
	Test::More::is($st, 0, 'merged with the retry: exit 0') or Test::More::diag($out);
	Test::More::like($out, qr/^total: $n mailboxes, 0 failed, 0 missing, /m,
			 'every mailbox, none failed or missing');
	Test::More::is($sum, $fx->{refsum}, 'merged totals (messages, bytes, new, cur, skipped) equal '
		       . 'the single-machine run\'s');
	_same_tree($fx, $vp, 'after the kill and the retry: every mailbox exact');
	return;
}

sub _same_tree {
	my ($fx, $vp, $what) = @_;
	my @bad = check_tree($vp, $fx->{spool}, $fx->{want});
	Test::More::is_deeply(\@bad, [], $what);
	Test::More::is_deeply(tree_of($vp, @{ $fx->{users} }), tree_of($fx->{ref}, @{ $fx->{users} }),
			      'the same files as the single-machine run');
	return;
}

# Wait until $cond->() is true, at most $secs; returns its last value.
sub wait_for {
	my ($secs, $cond) = @_;
	my $until = time + $secs;
	my $v;
	until (($v = $cond->()) || time > $until) {
		select undef, undef, undef, 0.05;
	}
	return $v;
}

1;
