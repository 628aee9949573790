# Durability on the target as it is: batch (syncfs) where the file
# system honours it, each message an O_TMPFILE of tmp/ linked into new/
# or cur/ only after the sync (or, MIGRATEMAIL_NO_TMPFILE=1, a file in
# tmp/ renamed after it); an fsync of every file before its rename and
# of the directories after on FUSE (bindfs here; sshfs, mergerfs, rclone
# are the same kind), where syncfs() returns 0 and writes nothing.
# Traced with strace. And a disk that stops syncing (an LD_PRELOAD
# shim): an ERROR, exit 1, nothing visible that was not durable, and a
# re-run completes; with O_TMPFILE and without.
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
	local @ENV{ keys %{ $o{env} || {} } } = values %{ $o{env} || {} };
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
			  'trace=fsync,fdatasync,syncfs,rename,renameat,renameat2,linkat,write,utimensat',
			  $^X, '-Mblib', 'bin/mbox2vpopmail', @args or die;
		}
		waitpid $pid, 0;
		($out, $err, $st) = (slurp("$dir/out"), slurp("$dir/err"), $? >> 8);
	} else {
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

# The files moved into new/ or cur/, each with where it started: tmp/
# names renamed (renameat2 or, where the file system rejects
# RENAME_NOREPLACE, linkat and unlink), or O_TMPFILEs linked by their
# descriptor (tmp => "DIR/tmp/#INODE", how => 'fd'; strace -y names an
# unnamed file so); not the empty probe file that mm_maildir_open() moves
# through new/ and cur/ and removes before the first message (no mail,
# nothing to sync).
sub moves {
	my ($calls) = @_;
	my @m;
	for my $c (grep { $_->{ret} == 0 && $_->{call} =~ /^(?:renameat2|linkat)$/ } @$calls) {
		my ($from, $name, $to, $how);
		if (($from, $to, $name) = $c->{args} =~ /^\d+<([^>]*)>\(deleted\), "", \d+<([^>]*)>, "([^"]+)", AT_EMPTY_PATH$/) {
			$how = 'fd';
		} elsif ((my $fd, $to, $name) = $c->{args} =~ m{^AT_FDCWD<[^>]*>, "/proc/self/fd/(\d+)", \d+<([^>]*)>, "([^"]+)", AT_SYMLINK_FOLLOW$}) {
			# the descriptor's file, as the last write to it named it
			($from) = map { $_->{file} } grep { $_->{fd} && $_->{fd} == $fd && $_->{start} < $c->{start} }
			  reverse @$calls;
			$how = 'fd';
		} else {
			($from, $name, $to) = $c->{args} =~ /^\d+<([^>]*)>, "([^"]+)", \d+<([^>]*)>/ or next;
			$from = "$from/$name";
			$how = 'name';
		}
		next if $name =~ /\A\.?mmtmp\.probe/;
		next unless $to =~ m{/(?:new|cur)\z}; # not the mbox's dotlock
		push @m, { tmp => $from, name => $name, to => $to, how => $how, at => $c->{start}, end => $c->{end} };
	}
	return @m;
}

# Where each file was last written to or had its times set: file (tmp/
# path, or tmp/#INODE) -> position in the trace.
sub last_writes {
	my ($calls) = @_;
	my %w;
	for my $c (grep { $_->{call} =~ /^(?:write|utimensat)$/ } @$calls) {
		my ($fd, $file) = $c->{args} =~ /^(\d+)<([^>]*\/tmp\/[^>]*)>/ or next;
		@{$c}{qw(fd file)} = ($fd, $file);
		$w{$file} = $c->{end};
	}
	return \%w;
}

sub fsyncs { return grep { $_->{call} eq 'fsync' && $_->{ret} == 0 } @{ $_[0] } }

# --- the default on a local file system: batch, with syncfs ---------------
# $named: MIGRATEMAIL_NO_TMPFILE=1, files in tmp/ renamed (the way where
# the file system has no O_TMPFILE)
sub check_batch {
	my ($md, $fsname, $named) = @_;
	# (0: O_TMPFILE wherever it works, not only where it is faster)
	my ($out, $err, $st, $r, $calls) = convert($md, trace => $strace,
						    env => { MIGRATEMAIL_NO_TMPFILE => $named ? 1 : 0 });
	is($st, 0, "$fsname: exit 0") or diag $err;
	is($r->{fsync}, 'batch', "$fsname: the default is batch");
	like($r->{durability}, qr/^batch \(syncfs on \w+/, "$fsname: the report says why: $r->{durability}");
	like($out, qr/, durability batch \(syncfs on \w+[^)]*\), [\d.]+ s$/m, "$fsname: so does the summary with -v");
	SKIP: {
		skip 'no strace', 8 unless $strace;
		my @syncfs = grep { $_->{call} eq 'syncfs' && $_->{ret} == 0 } @$calls;
		ok(scalar(@syncfs), "$fsname: syncfs() called");
		is(scalar(grep { $_->{args} =~ m{^\d+<\Q$md\E/tmp/[^/>]+>} } fsyncs($calls)), 0,
		   "$fsname: no file fsynced one by one");
		my $written = last_writes($calls);
		my @m = moves($calls);
		is(scalar(@m), $N, "$fsname: every message moved");
		is(scalar(grep { $_->{how} eq ($named ? 'name' : 'fd') } @m), $N,
		   $named ? "$fsname: each renamed from its name in tmp/"
		   : "$fsname: each linked from its O_TMPFILE (no name in tmp/)");
		# durable before visible: a syncfs that began after the file's
		# last write and returned before its link or rename
		my @early = grep {
			my $m = $_;
			my $w = $written->{ $m->{tmp} } // 1e18;
			!grep { $_->{start} > $w && $_->{end} < $m->{at} } @syncfs
		} @m;
		is(scalar @early, 0, "$fsname: each made visible only after a syncfs that followed its last write")
		  or diag "not synced first: $early[0]{tmp} -> $early[0]{name}";
		my ($files, $tmp) = maildir_files($md);
		is(scalar(keys %$files) . ' ' . scalar(@$tmp), "$N 0", "$fsname: all there, tmp/ empty");
		# the entries: each batch's by the next batch's syncfs, the last
		# one's by fsyncs of new/ and cur/ before the run ends
		my $last = (sort { $a <=> $b } map { $_->{end} } @m)[-1] // 0;
		my %after = map { $_->{args} =~ m{^\d+<\Q$md\E/(new|cur)>} ? ($1 => 1) : () }
		  grep { $_->{start} > $last } fsyncs($calls);
		is(join(' ', sort keys %after), 'cur new', "$fsname: new/ and cur/ fsynced after the last link");
		my @between = grep { my $c = $_; $c->{end} < $last && grep { $_->{start} > $c->{start} } @syncfs } @m;
		ok(scalar(@between), "$fsname: the batches before it made durable by the next batch's syncfs");
	}
}

{
	my $magic = `stat -f -c %t '$dir' 2>/dev/null` // '';
	chomp $magic;
	SKIP: {
		skip "the test directory is on file system 0x$magic, not one known to honour syncfs", 24
		  unless $SYNCFS_OK{$magic};
		check_batch("$dir/local", "local (0x$magic)");
		check_batch("$dir/local-named", "local (0x$magic), MIGRATEMAIL_NO_TMPFILE=1", 1);
	}
}
SKIP: {
	skip 'mounting a tmpfs needs root', 24 if $> != 0;
	mkdir "$dir/tmpfs";
	skip 'cannot mount a tmpfs here', 24
	  if system('mount', '-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', "$dir/tmpfs") != 0;
	check_batch("$dir/tmpfs/Maildir", 'tmpfs');
	check_batch("$dir/tmpfs/Maildir2", 'tmpfs, MIGRATEMAIL_NO_TMPFILE=1', 1);
	system('umount', "$dir/tmpfs");
}

# --- much else dirty: each file of a batch fsynced, not syncfs() ------------
# (MIGRATEMAIL_SYNC=files makes it the rule; by default it is chosen when
# the system's dirty page cache is 64 MB beyond what the batch holds)
SKIP: {
	skip 'no strace', 4 unless $strace;
	my $md = "$dir/by-file";
	my ($out, $err, $st, $r, $calls) = convert($md, trace => 1,
						    env => { MIGRATEMAIL_SYNC => 'files', MIGRATEMAIL_NO_TMPFILE => 0 });
	is($st, 0, 'file by file: exit 0') or diag $err;
	is(scalar(grep { $_->{call} eq 'syncfs' } @$calls), 0, 'file by file: no syncfs()');
	my $written = last_writes($calls);
	my %synced;    # tmp/#INODE or tmp/NAME -> where its (last) fsync began and ended
	for my $c (fsyncs($calls)) {
		my ($p) = $c->{args} =~ m{^\d+<(\Q$md\E/tmp/[^>]*)>} or next;
		$synced{$p} = $c;
	}
	my @m = moves($calls);
	my @early = grep {
		my $c = $synced{ $_->{tmp} };
		!$c || $c->{start} < ($written->{ $_->{tmp} } // 1e18) || $c->{end} > $_->{at}
	} @m;
	is(scalar(@m) . ' ' . scalar(@early), "$N 0",
	   'file by file: each linked only after an fsync of it that followed its last write')
	  or diag "not synced first: $early[0]{tmp} -> $early[0]{name}";
}

# the choice itself, on ext4 (which says how much of it is dirty): with
# 160 MB of another file not yet written back beside the Maildir, the
# batches are synced file by file, not with a syncfs() that would write
# that file too
SKIP: {
	my $magic = `stat -f -c %t '$dir' 2>/dev/null` // '';
	chomp $magic;
	my $dev = (stat $dir)[0];
	my $sys = readlink(sprintf '/sys/dev/block/%d:%d', $dev >> 8 & 0xfff, ($dev & 0xff) | ($dev >> 12 & 0xfff00));
	$sys = defined $sys ? "/sys/fs/ext4/" . ($sys =~ m{([^/]+)\z})[0] . "/delayed_allocation_blocks" : '';
	skip "not ext4 with $sys", 3 unless $magic eq 'ef53' && -r $sys;
	open my $big, '>', "$dir/dirty" or die;
	print {$big} "\0" x (1 << 20) for 1 .. 160;
	close $big or die;
	my $st = do {
		local $ENV{MIGRATEMAIL_NO_TMPFILE} = 0;
		MigrateMail::mbox_to_maildir("$dir/m.mbox", "$dir/dirty-md");
	};
	unlink "$dir/dirty";
	is($st->{delivered}, $N, 'much else dirty on ext4: all delivered');
	cmp_ok($st->{batches_by_file}, '>=', 1, "much else dirty on ext4: synced file by file "
	       . "($st->{batches_by_file} of $st->{batches} batches)");
	is($st->{linked}, $N, 'much else dirty on ext4: each an O_TMPFILE linked');
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
	skip "cannot build the LD_PRELOAD shim: " . slurp("$dir/cc.err"), 4 * 9 + 3 unless $cc_ok;
	for my $case ([ 'syncfs', 'batch', 1 ], [ 'syncfs', 'batch', 1, 'named' ],
		      [ 'fsync', 'batch', 300, 'files' ], [ 'fsync', 'each', 300 ]) {
		my ($call, $mode, $after, $how) = @$case;
		my $named = ($how // '') eq 'named';
		my $what = $call . ($named ? ' (MIGRATEMAIL_NO_TMPFILE=1)' : $how ? ' (MIGRATEMAIL_SYNC=files)' : '');
		my $md = "$dir/sick-$call-$mode" . ($how ? "-$how" : '');
		my $log = "$md.synced";
		# keep ASan's runtime first when the suite runs under it
		my $pre = join ' ', grep { length } $ENV{LD_PRELOAD} // '', $shim;
		my ($out, $err, $st) = convert($md, args => [ '--fsync', $mode ],
					       env => { LD_PRELOAD => $pre, MM_SHIM_FAIL => $call,
							MM_SHIM_AFTER => $after, MM_SHIM_LOG => $log,
							MIGRATEMAIL_NO_TMPFILE => $named ? 1 : 0,
							MIGRATEMAIL_SYNC => ($how // '') eq 'files' ? 'files' : undef });
		is($st, 1, "$what fails after $after: exit 1");
		like($err, qr/^ERROR: .*Input\/output error$/m, "$what fails: an ERROR saying so");
		like($out, qr/, FAILED$/m, "$what fails: the summary says FAILED");
		# what the shim saw made durable: inode -> size at that sync
		# (a file keeps its inode through the rename or link)
		my %durable;
		for (split /\n/, slurp($log)) {
			my ($p, $size, $ino) = /^synced (.+) (\d+) \d+:(\d+)$/ or next;
			$durable{$ino} = $size if $p =~ m{^\Q$md\E/tmp/};
		}
		my ($files, $tmp) = maildir_files($md);
		my @visible = values %$files;
		ok(@visible > 0 && @visible < $N, "$what fails: some delivered before (" . scalar(@visible) . ')');
		my @not = grep {
			my $ino = (lstat "$md/$_->{dir}/$_->{name}")[1] // -1;
			!defined $durable{$ino} || $durable{$ino} != length $_->{content}
		} @visible;
		is(scalar @not, 0, "$what fails: nothing visible that was not synced whole")
		  or diag "not durable but visible: $not[0]{name}";
		is_deeply($tmp, [], "$what fails: tmp/ cleaned up");

		($out, $err, $st) = convert($md, args => [ '--fsync', $mode ]);
		is($st, 0, "$what fails, re-run on a good disk: exit 0") or diag $err;
		my $v = verify_maildir("$dir/m.mbox", $md);
		is($v->{verified}, $N, "$what fails, re-run: all $N there, byte for byte");
		is(scalar keys %{ (maildir_files($md))[0] }, $N, "$what fails, re-run: no duplicate");
	}

	# the syncs of the files work, the last one of new/ and cur/ does not
	# (in mode batch the last batch's entries are synced at the end): the
	# run does not say the messages are there (the lock, the Maildir's
	# parent and the Maildir are fsynced first, when it is created)
	my $md = "$dir/sick-dirs";
	my $pre = join ' ', grep { length } $ENV{LD_PRELOAD} // '', $shim;
	my ($out, $err, $st) = convert($md, env => { LD_PRELOAD => $pre, MM_SHIM_FAIL => 'fsync',
						     MM_SHIM_AFTER => 3, MM_SHIM_LOG => "$md.synced" });
	is($st, 1, 'the last directory fsync fails: exit 1');
	like($err, qr/^ERROR: .*cannot sync the Maildir: Input\/output error$/m, 'the last directory fsync fails: an ERROR says so');
	like($out, qr/, FAILED$/m, 'the last directory fsync fails: the summary says FAILED');
}

done_testing;
