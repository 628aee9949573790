# A low limit of open files (ulimit -n): the O_TMPFILEs of a batch stay
# open until the batch is synced and linked (up to two batches of 256),
# so batches are capped by RLIMIT_NOFILE, and where too few are left
# for a batch of 128, messages go through named files in tmp/ (closed
# at commit) as on file systems without O_TMPFILE. Every limit delivers
# everything, byte for byte, with nothing left in tmp/.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMGen qw(gen_mbox);
use MMMaildir qw(maildir_files);
use MMRun qw(slurp need);
use MigrateMail qw(verify_maildir);

my $dir = tempdir(CLEANUP => 1);
my $N = 1500;
gen_mbox("$dir/m.mbox", n => $N);
my $strace = need('strace', 'strace');
# O_TMPFILE wherever it works, not only where it is faster (ext4, tmpfs)
$ENV{MIGRATEMAIL_NO_TMPFILE} = 0;

# [ ulimit -n, fsync mode, how messages are placed: 'link' (O_TMPFILE)
#   or 'rename' (named files in tmp/), batches at least ]
my @cases = (
	[ 1024, 'batch', 'link',   int($N / 256) + 1 ],
	[ 400,  'batch', 'link',   int($N / 168) + 1 ],   # (400 - open - 48) / 2 a batch
	[ 200,  'batch', 'rename', int($N / 256) + 1 ],   # too few for 128: named, full batches
	[ 40,   'batch', 'rename', int($N / 256) + 1 ],
	[ 40,   'none',  'link',   0 ],                   # one file open at a time
);
for my $c (@cases) {
	my ($limit, $mode, $how, $batches) = @$c;
	my $what = "ulimit -n $limit, --fsync $mode";
	my $md = "$dir/md-$limit-$mode";
	my @cmd = ($^X, '-Mblib', 'bin/mbox2vpopmail', '-q', '--fsync', $mode, '--maildir', $md, "$dir/m.mbox");
	# under make test-asan: ASan's runtime for perl, not strace
	my $pre = $ENV{LD_PRELOAD};
	my @trace = $strace ? ('strace', ($pre ? ('-E', "LD_PRELOAD=$pre") : ()), '-f', '-y', '-qq',
				'-o', "$dir/trace", '-e', 'trace=linkat,renameat2,syncfs') : ();
	my $sh = "ulimit -n $limit && exec " . join(' ', map { "'$_'" } @trace, @cmd) . " 2>'$dir/err'";
	{
		local $ENV{LD_PRELOAD};
		delete $ENV{LD_PRELOAD} if $strace;
		system('sh', '-c', $sh);
	}
	is($? >> 8, 0, "$what: exit 0") or diag slurp("$dir/err");
	unlike(slurp("$dir/err"), qr/Too many open files/, "$what: never out of descriptors");
	my ($files, $tmp) = maildir_files($md);
	is(scalar keys %$files, $N, "$what: all $N delivered");
	is_deeply($tmp, [], "$what: nothing left in tmp/");
	is(verify_maildir("$dir/m.mbox", $md)->{verified}, $N, "$what: byte for byte");
	SKIP: {
		skip 'no strace', 2 unless $strace;
		my $t = slurp("$dir/trace");
		my $links = () = $t =~ /^\d+\s+linkat\(.*, "", \d+<[^>]*\/(?:new|cur)>, "(?!\.mmtmp)[^"]+", AT_EMPTY_PATH\) = 0$/mg;
		my $renames = () = $t =~ /^\d+\s+renameat2\(\d+<[^>]*\/tmp>, "(?!mmtmp\.probe)[^"]+", .*\) = 0$/mg;
		is($how eq 'link' ? "$links $renames" : "$renames $links", "$N 0",
		   "$what: " . ($how eq 'link' ? 'each an O_TMPFILE linked' : 'each a named file renamed'));
		my $syncs = () = $t =~ /^\d+\s+syncfs\(/mg;
		cmp_ok($syncs, '>=', $batches, "$what: $syncs syncs (batches capped by the limit: at least $batches)")
		  if $mode eq 'batch';
		ok(1, "$what: no sync") if $mode eq 'none';
	}
}

done_testing;
