# A From_ date without a zone is local time: with TZ unset, the zone of
# /etc/localtime; with TZ set, that zone. With TZ unset, glibc's mktime()
# stats /etc/localtime on every call (to see whether it changed); the
# conversion names it in TZ (":/etc/localtime", the same file) so that it
# is read once: checked here with strace (a handful of stats, not one a
# message). The zone of /etc/localtime is made America/New_York for the
# test in a mount namespace of its own (as root), so that summer, winter
# and the hours around both changes of 2020 are told apart from UTC.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMMaildir qw(maildir_files);
use MMRun qw(slurp spew need);

my $dir = tempdir(CLEANUP => 1);
my $ZONE = '/usr/share/zoneinfo/America/New_York';
plan skip_all => "no $ZONE" unless -f $ZONE;

# ctime dates, local time in New York: [ From_ date, epoch ]
my @dates = (
	[ 'Sat Jul  4 12:00:00 2020', 1593878400 ],    # EDT, UTC-4
	[ 'Sat Jan  4 12:00:00 2020', 1578157200 ],    # EST, UTC-5
	[ 'Sun Mar  8 01:59:59 2020', 1583650799 ],    # the last second of EST
	[ 'Sun Mar  8 03:00:00 2020', 1583650800 ],    # the first of EDT
	[ 'Sun Nov  1 00:59:59 2020', 1604206799 ],    # EDT, before the repeated hour
	[ 'Sun Nov  1 02:00:00 2020', 1604214000 ],    # EST, after it
);
my $N = 300;
{
	my $mbox = '';
	for my $i (1 .. $N) {
		my $d = $dates[ ($i - 1) % @dates ][0];
		$mbox .= "From a\@example.com $d\nSubject: m$i\n\nbody $i\n\n";
	}
	spew("$dir/m.mbox", $mbox);
}

# epoch of each message (by subject), from its file's mtime and name
sub times_of {
	my ($md) = @_;
	my ($files) = maildir_files($md);
	my %t;
	for my $f (values %$files) {
		my ($i) = $f->{content} =~ /^Subject: m(\d+)$/m or next;
		my ($name_t) = $f->{name} =~ /^(\d+)\./;
		$t{$i} = $name_t == $f->{mtime} ? $f->{mtime} : "name $name_t, mtime $f->{mtime}";
	}
	return \%t;
}
sub check_times {
	my ($what, $md, $offset) = @_;
	my $t = times_of($md);
	my @bad = grep { ($t->{$_} // 'none') ne $dates[ ($_ - 1) % @dates ][1] + $offset } 1 .. $N;
	is(scalar @bad, 0, "$what: every date converted (name and mtime)")
	  or diag "message $bad[0]: got " . ($t->{ $bad[0] } // 'none') . ', want '
	  . ($dates[ ($bad[0] - 1) % @dates ][1] + $offset);
}

# mbox2vpopmail in a shell command line (prefix: what runs it)
sub convert {
	my ($md, $prefix) = @_;
	my $cmd = "$prefix $^X -Mblib bin/mbox2vpopmail -q --fsync none --maildir '$md' '$dir/m.mbox'";
	system('sh', '-c', "$cmd 2>'$dir/err'");
	return $? >> 8;
}

# TZ set: that zone, or UTC
is(convert("$dir/set", "env TZ=America/New_York"), 0, 'TZ=America/New_York: exit 0') or diag slurp("$dir/err");
check_times('TZ=America/New_York', "$dir/set", 0);
is(convert("$dir/utc", "env TZ=UTC"), 0, 'TZ=UTC: exit 0');
# UTC: each date 4 or 5 hours earlier than in New York
my $t = times_of("$dir/utc");
is($t->{1}, 1593878400 - 4 * 3600, 'TZ=UTC: the summer date is UTC');
is($t->{2}, 1578157200 - 5 * 3600, 'TZ=UTC: the winter date is UTC');

SKIP: {
	skip 'a mount namespace (for /etc/localtime) needs root', 6 if $> != 0;
	skip 'no unshare(1)', 6 unless need('util-linux', 'unshare');
	# /etc/localtime is New York's in here (a bind mount over what it
	# names, seen by this command only)
	my $ns = "unshare -m sh -c 'mount --make-rprivate / && mount --bind $ZONE /etc/localtime && exec \"\$@\"' sh";
	is(convert("$dir/unset", "$ns env -u TZ"), 0, 'TZ unset: exit 0') or diag slurp("$dir/err");
	check_times('TZ unset, /etc/localtime America/New_York', "$dir/unset", 0);
	SKIP: {
		skip 'no strace', 4 unless need('strace', 'strace');
		# under make test-asan: ASan's runtime for perl, not strace
		my $pre = $ENV{LD_PRELOAD} ? "-E LD_PRELOAD='$ENV{LD_PRELOAD}'" : '';
		local $ENV{LD_PRELOAD};
		delete $ENV{LD_PRELOAD};
		is(convert("$dir/traced", "$ns env -u TZ strace $pre -f -qq -o '$dir/trace' -e trace=stat,lstat,newfstatat,statx"), 0,
		   'TZ unset, traced: exit 0') or diag slurp("$dir/err");
		check_times('TZ unset, traced', "$dir/traced", 0);
		my $stats = () = slurp("$dir/trace") =~ m{"/etc/localtime"}g;
		cmp_ok($stats, '<', 10, "TZ unset: /etc/localtime looked at $stats times for $N messages, not once a message");
		# and glibc would otherwise: mktime() from perl with TZ unset
		convert("$dir/x", "$ns env -u TZ strace -f -qq -o '$dir/trace2' -e trace=stat,lstat,newfstatat,statx $^X -MPOSIX -e 'mktime(0,0,12,1,0,120) for 1..$N; exit 1' #");
		my $plain = () = slurp("$dir/trace2") =~ m{"/etc/localtime"}g;
		cmp_ok($plain, '>=', $N, "(without it, glibc's mktime() stats it $plain times for $N calls)");
	}
}

done_testing;
