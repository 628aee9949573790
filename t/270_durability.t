# Durability on the target as it is: batch (syncfs) where the file
# system honours it, an fsync of every file before its rename and of the
# directories after on FUSE (bindfs here; sshfs, mergerfs, rclone are the
# same kind), where syncfs() returns 0 and writes nothing. Traced with
# strace. And a disk that stops syncing (an LD_PRELOAD shim): an ERROR,
# exit 1, nothing visible that was not durable, and a re-run completes.
use strict;
use warnings;
use Test::More;
use Config;
use Cwd qw(realpath);
use File::Temp qw(tempdir);
use JSON::PP ();
use lib 't/lib';
use MMGen qw(gen_mbox);
use MMMaildir qw(maildir_files);
use MMRun qw(run_script slurp need);
use MigrateMail qw(verify_maildir);

my $dir = realpath(tempdir(CLEANUP => 1));
my $N = 600;
gen_mbox("$dir/m.mbox", n => $N);

my $strace = need('strace', 'strace');

# The file systems where the default must stay batch (mm_fstype.c).
my %SYNCFS_OK = map { $_ => 1 } qw(ef53 58465342 9123683e f2f52010 3153464a 52654973
  2fc12fc1 794c7630 1021994 858458f6);

# mbox2vpopmail --maildir $md, under strace when asked; returns stdout,
# stderr, exit status, the report, and the traced calls in order:
# { pid, call, args, ret, start, end } (start/end: positions in the trace).
sub convert {
	my ($md, %o) = @_;
	my @args = ('--maildir', $md, '--report', "$dir/report.json", '-v', @{ $o{args} || [] },
		    "$dir/m.mbox");
	unlink "$dir/report.json", "$dir/trace";
	my ($out, $err, $st);
	if ($o{trace}) {
		my $pid = fork // die;
		if (!$pid) {
			open STDOUT, '>', "$dir/out" or die;
			open STDERR, '>', "$dir/err" or die;
			# under make test-asan: ASan's runtime for perl, not strace
			my $pre = delete $ENV{LD_PRELOAD};
			exec 'strace', ($pre ? ('-E', "LD_PRELOAD=$pre") : ()), '-f', '-y', '-qq', '-o', "$dir/trace", '-e',
			  'trace=fsync,fdatasync,syncfs,rename,renameat,renameat2,linkat',
			  $^X, '-Mblib', 'bin/mbox2vpopmail', @args or die;
		}
		waitpid $pid, 0;
		($out, $err, $st) = (slurp("$dir/out"), slurp("$dir/err"), $? >> 8);
	} else {
		local @ENV{ keys %{ $o{env} || {} } } = values %{ $o{env} || {} };
		($out, $err, $st) = run_script('bin/mbox2vpopmail', @args);
	}
	my $rep = -s "$dir/report.json" ? JSON::PP->new->decode(slurp("$dir/report.json")) : {};
	return ($out, $err, $st, $rep->{mailboxes}[0] || {}, $o{trace} ? parse_trace("$dir/trace") : []);
}

# strace -f splits a call that another thread interrupts into
# "call(args <unfinished ...>" and "<... call resumed>rest) = ret".
sub parse_trace {
	my ($path) = @_;
	my (@calls, %open);
	my $i = 0;
	for my $line (split /\n/, slurp($path)) {
		$i++;
		my ($pid, $rest) = $line =~ /^(\d+)\s+(.*)$/ or next;
		if ($rest =~ /^(\w+)\((.*) <unfinished \.\.\.>$/) {
			$open{$pid} = { pid => $pid, call => $1, args => $2, start => $i };
		} elsif ($rest =~ /^<\.\.\. (\w+) resumed>(.*)\)\s+= (-?\d+)/) {
			my $c = delete $open{$pid} or next;
			$c->{args} .= $2;
			@{$c}{qw(ret end)} = ($3, $i);
			push @calls, $c;
		} elsif ($rest =~ /^(\w+)\((.*)\)\s+= (-?\d+)/) {
			push @calls, { pid => $pid, call => $1, args => $2, ret => $3, start => $i, end => $i };
		}
	}
	return [ sort { $a->{start} <=> $b->{start} } @calls ];
}

# The tmp/ names moved into new/ or cur/ (renameat2 or, where the file
# system rejects RENAME_NOREPLACE, linkat), each with where it started;
# not the empty probe file that mm_maildir_open() moves through new/ and
# cur/ and removes before the first message (no mail, nothing to sync).
sub moves {
	my ($calls) = @_;
	my @m;
	for my $c (grep { $_->{ret} == 0 && $_->{call} =~ /^(?:renameat2|linkat)$/ } @$calls) {
		my ($from, $name, $to) = $c->{args} =~ /^\d+<([^>]*)>, "([^"]+)", \d+<([^>]*)>/ or next;
		next if $name =~ /\A\.?mmtmp\.probe/;
		push @m, { tmp => "$from/$name", to => $to, at => $c->{start}, end => $c->{end} };
	}
	return @m;
}

sub fsyncs { return grep { $_->{call} eq 'fsync' && $_->{ret} == 0 } @{ $_[0] } }

# --- the default on a local file system: batch, with syncfs ---------------
sub check_batch {
	my ($md, $fsname) = @_;
	my ($out, $err, $st, $r, $calls) = convert($md, trace => $strace);
	is($st, 0, "$fsname: exit 0") or diag $err;
	is($r->{fsync}, 'batch', "$fsname: the default is batch");
	like($r->{durability}, qr/^batch \(syncfs on \w+/, "$fsname: the report says why: $r->{durability}");
	like($out, qr/, durability batch \(syncfs on \w+[^)]*\), [\d.]+ s$/m, "$fsname: so does the summary with -v");
	SKIP: {
		skip 'no strace', 3 unless $strace;
		ok(scalar(grep { $_->{call} eq 'syncfs' && $_->{ret} == 0 } @$calls), "$fsname: syncfs() called");
		is(scalar(grep { $_->{args} =~ m{^\d+<\Q$md\E/tmp/[^/>]+>} } fsyncs($calls)), 0,
		   "$fsname: no file fsynced one by one");
		is(scalar(moves($calls)), $N, "$fsname: every message moved");
	}
}

{
	my $magic = `stat -f -c %t '$dir' 2>/dev/null` // '';
	chomp $magic;
	SKIP: {
		skip "the test directory is on file system 0x$magic, not one known to honour syncfs", 7
		  unless $SYNCFS_OK{$magic};
		check_batch("$dir/local", "local (0x$magic)");
	}
}
SKIP: {
	skip 'mounting a tmpfs needs root', 7 if $> != 0;
	mkdir "$dir/tmpfs";
	skip 'cannot mount a tmpfs here', 7
	  if system('mount', '-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', "$dir/tmpfs") != 0;
	check_batch("$dir/tmpfs/Maildir", 'tmpfs');
	system('umount', "$dir/tmpfs");
}

# --- FUSE: each file fsynced before its rename, then the directories ------
SKIP: {
	skip 'bindfs needs root', 13 if $> != 0;
	skip 'no /dev/fuse', 13 unless -c '/dev/fuse';
	skip 'no bindfs (Debian package bindfs)', 13 unless need('bindfs', 'bindfs');
	skip 'no strace', 13 unless $strace;
	my ($lower, $mnt) = ("$dir/lower", "$dir/fuse");
	mkdir $_ for $lower, $mnt;
	if (do { local $ENV{LD_PRELOAD}; delete $ENV{LD_PRELOAD}; system('bindfs', $lower, $mnt) } != 0) {
		fail('bindfs cannot mount here');
		skip 'bindfs cannot mount here', 13;
	}
	my $magic = `stat -f -c %t '$mnt'`;
	chomp $magic;
	is($magic, '65735546', 'bindfs is FUSE');

	my ($out, $err, $st, $r, $calls) = convert("$mnt/Maildir", trace => 1);
	is($st, 0, 'fuse: exit 0') or diag $err;
	is($r->{fsync}, 'each', 'fuse: mode each by default');
	is($r->{durability}, 'each (fuse: syncfs is not passed to the daemon)', 'fuse: the report says why');
	like($out, qr/, durability each \(fuse: syncfs is not passed to the daemon\), [\d.]+ s$/m,
	     'fuse: so does the summary with -v');
	my @moves = moves($calls);
	is(scalar @moves, $N, "fuse: $N messages moved");
	my %synced;    # tmp/ path -> where its fsync returned
	for my $c (fsyncs($calls)) {
		my ($p) = $c->{args} =~ /^\d+<([^>]*)>/ or next;
		$synced{$p} //= $c->{end};
	}
	my @bad = grep { !defined $synced{ $_->{tmp} } || $synced{ $_->{tmp} } > $_->{at} } @moves;
	is(scalar @bad, 0, 'fuse: every file fsynced before its rename')
	  or diag "not synced first: $bad[0]{tmp}";
	my $last = (sort { $a <=> $b } map { $_->{end} } @moves)[-1];
	my @after = grep { $_->{start} > $last } fsyncs($calls);
	ok(scalar(grep { $_->{args} =~ m{^\d+<\Q$mnt\E/Maildir/(?:new|cur)>} } @after),
	   'fuse: a directory fsync follows the last rename');
	# the kernel drops a directory fsync the daemon does not implement
	# (bindfs): the fsync of the last file moved is what reaches the disk
	ok(scalar(grep { $_->{args} =~ m{^\d+<\Q$mnt\E/Maildir/(?:new|cur)/[^>]+>} } @after),
	   'fuse: and an fsync of the last file moved, by its new name');
	is(scalar(grep { $_->{call} eq 'syncfs' } @$calls), 0, 'fuse: syncfs() is not relied on');
	my ($files) = maildir_files("$lower/Maildir");
	is(scalar keys %$files, $N, 'fuse: all there below the mount');

	# --fsync batch asked for: done, with a WARNING that it is not durable
	($out, $err, $st, $r) = convert("$mnt/Maildir2", args => [ '--fsync', 'batch' ]);
	is($st, 0, 'fuse, --fsync batch: allowed');
	like($err, qr/^WARNING: \Q$dir\E\/m\.mbox: durability batch \(asked; NOT durable on fuse: syncfs is not passed to the daemon\): a crash may lose messages/m,
	     'fuse, --fsync batch: a WARNING says it is not durable there');
	system('umount', $mnt) == 0 or system('fusermount', '-u', $mnt);
}

# --- a disk that stops syncing --------------------------------------------
my $shim = "$dir/shim_fail_sync.so";
my $cc_ok = !system("$Config{cc} -shared -fPIC -O1 -Wall -Wextra -Werror -o '$shim' t/c/shim_fail_sync.c -ldl 2>'$dir/cc.err'");
SKIP: {
	skip "cannot build the LD_PRELOAD shim: " . slurp("$dir/cc.err"), 2 * 9 unless $cc_ok;
	for my $case ([ 'syncfs', 'batch', 1 ], [ 'fsync', 'each', 300 ]) {
		my ($call, $mode, $after) = @$case;
		my $md = "$dir/sick-$call";
		my $log = "$dir/synced-$call";
		# keep ASan's runtime first when the suite runs under it
		my $pre = join ' ', grep { length } $ENV{LD_PRELOAD} // '', $shim;
		my ($out, $err, $st) = convert($md, args => [ '--fsync', $mode ],
					       env => { LD_PRELOAD => $pre, MM_SHIM_FAIL => $call,
							MM_SHIM_AFTER => $after, MM_SHIM_LOG => $log });
		is($st, 1, "$call fails after $after: exit 1");
		like($err, qr/^ERROR: .*Input\/output error$/m, "$call fails: an ERROR saying so");
		like($out, qr/, FAILED$/m, "$call fails: the summary says FAILED");
		# what the shim saw made durable: tmp/ name -> size at that sync
		my %durable;
		for (split /\n/, slurp($log)) {
			my ($p, $size) = /^synced (\S+) (\d+)$/ or next;
			$durable{$1} = $size if $p =~ m{^\Q$md\E/tmp/([^/]+)$};
		}
		my ($files, $tmp) = maildir_files($md);
		my @visible = values %$files;
		ok(@visible > 0 && @visible < $N, "$call fails: some delivered before (" . scalar(@visible) . ')');
		my @not = grep {
			my ($base) = $_->{name} =~ /^([^,:]+)/;
			!defined $durable{$base} || $durable{$base} != length $_->{content}
		} @visible;
		is(scalar @not, 0, "$call fails: nothing visible that was not synced whole")
		  or diag "not durable but visible: $not[0]{name}";
		is_deeply($tmp, [], "$call fails: tmp/ cleaned up");

		($out, $err, $st) = convert($md, args => [ '--fsync', $mode ]);
		is($st, 0, "$call fails, re-run on a good disk: exit 0") or diag $err;
		my $v = verify_maildir("$dir/m.mbox", $md);
		is($v->{verified}, $N, "$call fails, re-run: all $N there, byte for byte");
		is(scalar keys %{ (maildir_files($md))[0] }, $N, "$call fails, re-run: no duplicate");
	}
}

done_testing;
