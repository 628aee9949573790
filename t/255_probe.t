# Fail at once, clearly: on a target that cannot take the delivery
# protocol, one ERROR before the first message, naming the file system
# and what it lacks; where RENAME_NOREPLACE is missing but links work,
# one WARNING and a complete delivery. Real file systems through FUSE
# (Debian's exfat-fuse, fusefat and bindfs; exfat and vfat images made
# with exfatprogs and dosfstools): as root, skipped where missing.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use lib 't/lib';
use MMGen qw(gen_mbox);
use MMMaildir qw(maildir_files);
use MMRun qw(run_script need);

plan skip_all => 'mounting FUSE file systems needs root' if $> != 0;
my $dir = tempdir(CLEANUP => 1);
gen_mbox("$dir/big.mbox", n => 2000);


# What a run into a Maildir on $mnt says and leaves.
sub run_into {
	my ($mnt, @opt) = @_;
	my ($out, $err, $st) = run_script('bin/mbox2vpopmail', '--maildir', "$mnt/Maildir", @opt,
					  "$dir/big.mbox");
	my ($files, $tmp) = -d "$mnt/Maildir/new" ? maildir_files("$mnt/Maildir") : ({}, []);
	return ($out, $err, $st, $files, $tmp);
}

# A file system that cannot take Maildir deliveries: one ERROR at open.
sub refused {
	my ($what, $mnt, $lacks) = @_;
	my ($out, $err, $st, $files, $tmp) = run_into($mnt);
	is($st, 3, "$what: exit 3 (the target cannot take a Maildir: the admin first)");
	my @errors = $err =~ /^ERROR.*$/mg;
	is(scalar @errors, 1, "$what: exactly one ERROR line") or diag $err;
	like($errors[0] // '', qr/^ERROR: \Q$dir\E\/big.mbox: Maildir \Q$mnt\E\/Maildir \(fuse\) cannot take deliveries: $lacks: .+$/,
	     "$what: it names the Maildir, its file system and what it lacks");
	like($out, qr/: 0 messages, 0 bytes, 0 new, 0 cur, 0 skipped, 0 failed, 0 warnings, [\d.]+ s, FAILED$/,
	     "$what: before the first message");
	is(scalar keys %$files, 0, "$what: nothing delivered");
	is_deeply($tmp, [], "$what: nothing left in tmp/");
	my @hidden = grep { !m{/\.\.?$} } glob("'$mnt/Maildir'/{new,cur}/.*");
	is_deeply(\@hidden, [], "$what: nor in new/ or cur/");
}

my $NOMOVE = qr/cannot rename without replacing and cannot hard-link/;
my $NOCOLON = qr/':' \(the Maildir info separator\) is not allowed in file names/;

SKIP: {
	skip 'exfat-fuse, exfatprogs or losetup missing', 7
	  unless need('exfat-fuse exfatprogs mount', 'mount.exfat-fuse', 'mkfs.exfat', 'losetup');
	my ($img, $mnt) = ("$dir/exfat.img", "$dir/exfat");
	mkdir $mnt;
	system("truncate -s 16M '$img' && mkfs.exfat '$img' >/dev/null 2>&1") == 0 or die 'mkfs.exfat';
	chomp(my $loop = `losetup -f --show '$img'`);
	skip 'no loop device', 7 unless $loop =~ m{^/dev/loop};
	if (system('mount.exfat-fuse', '-o', 'quiet', $loop, $mnt) != 0) {
		system('losetup', '-d', $loop);
		fail('cannot mount exfat through FUSE');
		skip 'cannot mount exfat through FUSE', 7;
	}
	refused('exfat (FUSE)', $mnt, qr/$NOMOVE, and $NOCOLON/);
	system('umount', $mnt);
	system('losetup', '-d', $loop);
}

SKIP: {
	skip 'fusefat or mkfs.vfat missing', 7 unless need('fusefat dosfstools', 'fusefat', 'mkfs.vfat');
	my ($img, $mnt) = ("$dir/vfat.img", "$dir/vfat");
	mkdir $mnt;
	system("truncate -s 16M '$img' && mkfs.vfat '$img' >/dev/null 2>&1") == 0 or die 'mkfs.vfat';
	if (system("fusefat -o rw+ '$img' '$mnt' >/dev/null 2>&1") != 0) {
		fail('cannot mount vfat through FUSE');
		skip 'cannot mount vfat through FUSE', 7;
	}
	refused('vfat (FUSE)', $mnt, qr/$NOMOVE, and $NOCOLON/);
	system('umount', $mnt);
}

# bindfs passes links through but not RENAME_NOREPLACE: one WARNING
# (without -v), then every message delivered by link and unlink.
SKIP: {
	skip 'bindfs missing', 7 unless need('bindfs', 'bindfs');
	my ($src, $mnt) = ("$dir/bind-src", "$dir/bind");
	mkdir $_ for $src, $mnt;
	if (system('bindfs', $src, $mnt) != 0) {
		fail('cannot mount bindfs');
		skip 'cannot mount bindfs', 7;
	}
	my ($out, $err, $st, $files, $tmp) = run_into($mnt, '--verify');
	is($st, 0, 'bindfs: exit 0') or diag $err;
	my @warn = $err =~ /^WARNING.*$/mg;
	is(scalar @warn, 1, 'bindfs: exactly one WARNING, without -v') or diag $err;
	like($warn[0] // '', qr/^WARNING: \Q$dir\E\/big.mbox: Maildir \Q$mnt\E\/Maildir \(fuse\) cannot rename without replacing \(RENAME_NOREPLACE\): delivering by hard link and unlink instead, as qmail does$/,
	     'bindfs: it says how it delivers');
	like($out, qr/: 2000 messages, .* 0 failed, 0 warnings, 2000 verified/, 'bindfs: all delivered, byte-exact');
	is_deeply($tmp, [], 'bindfs: tmp/ empty');
	# the UID lists take the same way (they failed with EINVAL here)
	($out, $err, $st) = run_script('bin/mbox2vpopmail', '--maildir', "$mnt/Maildir2",
				       'examples/sample.mbox');
	is($st, 0, 'bindfs: a mailbox with UIDs: exit 0') or diag $err;
	ok(-s "$mnt/Maildir2/dovecot-uidlist" && -s "$mnt/Maildir2/courierimapuiddb",
	   'bindfs: its UID lists are written');
	system('umount', $mnt);
}

done_testing;
