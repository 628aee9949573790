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
use JSON::PP ();
use MigrateMail qw(verify_maildir);

our @EXPORT_OK = qw(make_spool make_vpopmail check_tree tree_of m2v report_keys slurp spew
  wait_for);

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
