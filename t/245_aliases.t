# --aliases (sendmail /etc/aliases) and --forwards (~user/.forward) as
# valias lines; what valias cannot express is an ERROR or WARNING, never
# dropped silently; untrusted .forward files are not read.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMRun qw(run_script slurp spew list_lines);
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use POSIX qw(mkfifo);

use MigrateMail qw(password_hash);
use MigrateMail::Aliases qw(read_aliases split_targets target_kind);
use MigrateMail::SendmailList qw(parse_shell_words);

my $D = 't/data/accounts';
my $tmp = tempdir(CLEANUP => 1);
my @FILES = ('--passwd', "$D/passwd", '--shadow', "$D/shadow");

sub run { return run_script('bin/sendmail-list', @_) }

# target kinds
my %kinds = (
	'bob' => 'local', '\bob' => 'local', 'bob@example.org' => 'address',
	'"bob@example.org"' => 'address', '|/usr/bin/prog' => 'pipe',
	'"|/usr/bin/prog -x"' => 'pipe', '/var/mail/file' => 'file',
	':include:/etc/list' => 'include', ':INCLUDE:/etc/list' => 'include',
	'error:nouser gone' => 'error', 'john doe@x.org' => 'bad',
	'a@b' => 'bad', "x'\$(id)\@example.org" => 'bad', 'a<b>' => 'bad',
);
for my $t (sort keys %kinds) {
	is((target_kind($t))[0], $kinds{$t}, "target '$t' is $kinds{$t}");
}
is_deeply([ split_targets(' a, "b, c" ,d,, ') ], [ 'a', '"b, c"', 'd' ],
	  'split on commas outside quotes');

my @msgs;
my $al = read_aliases("$D/aliases", report => sub { push @msgs, "$_[0]: $_[1]" });
is_deeply([ map { $_->{name} } @$al ],
	  [qw(postmaster mailer-daemon webmaster info sales archive staff olduser
	      team keep x bad'alias weird evil dup)], 'alias names, lowercased');
is_deeply($al->[8]{targets}, [ 'john.doe', 'mary-ann', '"|/usr/bin/logger -t team"' ],
	  'continuation lines');

# The script
my ($out, $err, $st) = run('--domain', 'example.com', @FILES, '--exclude',
			   spew("$tmp/ex", "emptypw\nnoshadow\n"), '--aliases', "$D/aliases");
is($st, 1, '--aliases: exit 1 (targets valias cannot express)');
my @valias = grep /^valias/, split /\n/, $out;
is_deeply(\@valias, [
	"valias -i 'root\@example.com' postmaster\@example.com",
	"valias -i 'postmaster\@example.com' mailer-daemon\@example.com",
	"valias -i 'john.doe\@example.com' webmaster\@example.com",
	"valias -i 'sales\@other.example.org' webmaster\@example.com",
	"valias -i 'john.doe\@example.com' info\@example.com",
	"valias -i 'john.doe\@example.com' team\@example.com",
	"valias -i 'mary-ann\@example.com' team\@example.com",
	"valias -i 'mary-ann\@example.com' keep\@example.com",
	"valias -i 'john.doe\@example.com' dup\@example.com",
], 'valias -i TARGET alias@domain, one per target, after the vadduser lines');
is(scalar(grep /^vadduser/, split /\n/, $out), 21, 'the vadduser lines are still there');
like(join('', map { "$_\n" } list_lines($out)), qr/\A(?:vadduser[^\n]*\n)+(?:valias[^\n]*\n)+\z/, 'vadduser lines first');
for my $re (
	qr/^ERROR: alias 'sales' .*'"\|\/usr\/local\/bin\/ticket --queue sales"' is a pipe to a program, which vpopmail's valias cannot express; set it up by hand$/m,
	qr/^ERROR: alias 'archive' .*'\/var\/mail\/archive' is delivery to a file/m,
	qr/^ERROR: alias 'staff' .*':include:\/etc\/mail\/staff.list' is an :include: list/m,
	qr/^ERROR: alias 'olduser' .*sendmail's error: mailer/m,
	qr/^ERROR: alias 'team' .*'"\|\/usr\/bin\/logger -t team"' is a pipe/m,
	qr/^ERROR: alias 'x' .*one-character/m,
	qr/^ERROR: alias 'bad'alias' .*outside/m,
	qr/^ERROR: alias 'weird' .*'john doe\@example.org' is not an address/m,
	qr/^ERROR: alias 'evil' .*is not an address/m,
	qr/^ERROR: \Q$D\E\/aliases line 20: not an alias/m,
	qr/^WARNING: \Q$D\E\/aliases line 19: alias 'dup' defined again/m,
	qr/^WARNING: alias 'postmaster' .*local target 'root' is neither a listed account nor an alias here$/m,
) {
	like($err, $re, "reported: $re");
}
unlike($err, qr/mailer-daemon.*neither/, 'a target that is an alias is fine');
unlike($out, qr/PWNED|logger|ticket|archive|include/, 'nothing unexpressible emitted');

# Forwards: fixture homes copied to a temporary directory
my $home = "$tmp/home";
mkdir $home;
for my $u (qw(john.doe mary-ann carol)) {
	mkdir "$home/$u";
	copy("$D/home/$u/.forward", "$home/$u/.forward") or die;
	chmod 0644, "$home/$u/.forward";
}
my $secret = spew("$tmp/secret", "root\@evil.example\n", 0600);
for my $u (qw(linky groupw hard dir fifo none)) { mkdir "$home/$u" }
symlink $secret, "$home/linky/.forward" or die;
spew("$home/groupw/.forward", "g\@example.org\n", 0664);
chmod 0664, "$home/groupw/.forward";
spew("$home/hard/.forward", "h\@example.org\n", 0644);
link "$home/hard/.forward", "$tmp/hardlink" or die;
mkdir "$home/dir/.forward";
mkfifo("$home/fifo/.forward", 0644) or die;
my $h = password_hash('MigrateMe-2026', method => '$6$');
my $passwd = spew("$tmp/passwd", join '', map {
	my ($u, $uid, $hd) = @$_;
	"$u:$h:$uid:100:$u:$hd:/bin/sh\n";
} [ 'john.doe', 1016, "$home/john.doe" ], [ 'mary-ann', 1017, "$home/mary-ann" ],
  [ 'carol', 1018, "$home/carol/" ], [ 'linky', 1019, "$home/linky" ],
  [ 'groupw', 1020, "$home/groupw" ], [ 'hard', 1021, "$home/hard" ],
  [ 'dir', 1022, "$home/dir" ], [ 'fifo', 1023, "$home/fifo" ],
  [ 'none', 1024, "$home/none" ], [ 'relhome', 1025, 'home/relhome' ],
  [ 'sys', 100, "$home/carol" ]);

($out, $err, $st) = run('--domain', 'example.com', '--passwd', $passwd, '--forwards');
is($st, 1, '--forwards: exit 1 (targets valias cannot express)');
@valias = grep /^valias/, split /\n/, $out;
is_deeply(\@valias, [
	"valias -i 'john\@other.example.org' john.doe\@example.com",
	"valias -i 'mary\@example.net' mary-ann\@example.com",
	"valias -i 'carol\@example.net' carol\@example.com",
], '--forwards: one valias line per forward target');
like($err, qr/^WARNING: account 'john.doe': \Q$home\E\/john.doe\/.forward: '\\john.doe' keeps a copy in the mailbox, which valias cannot express/m,
     'a kept local copy is a WARNING');
like($err, qr/^ERROR: account 'mary-ann': .*'"\|\/usr\/bin\/procmail -t"' is a pipe to a program/m, '.forward pipe: ERROR');
like($err, qr/^ERROR: account 'mary-ann': .*'\/home\/mary-ann\/mbox' is delivery to a file/m, '.forward file: ERROR');
like($err, qr/^ERROR: account 'mary-ann': .*':include:\/etc\/mail\/list' is an :include: list/m, '.forward include: ERROR');
like($err, qr/^WARNING: account 'linky': .* not read: it is a symbolic link/m, 'symlinked .forward: not read');
unlike($out . $err, qr/evil\.example/, '... and its target never shows');
like($err, qr/^WARNING: account 'groupw': .* not read: writable by group or others/m, 'group-writable .forward: not read');
like($err, qr/^WARNING: account 'hard': .* not read: it has 2 hard links/m, 'hard-linked .forward: not read');
like($err, qr/^WARNING: account 'dir': .* not read: not a regular file/m, 'a directory: not read');
like($err, qr/^WARNING: account 'fifo': .* not read: not a regular file/m, 'a FIFO: not read (and no hang)');
unlike($err, qr/'none'|'relhome'|'sys'/, 'no .forward, a relative home, an unlisted account: nothing');
SKIP: {
	skip 'needs root to give a file to another user', 2 unless $> == 0;
	chown 4242, 4242, "$home/carol/.forward" or die;
	($out, $err) = run('--domain', 'example.com', '--passwd', $passwd, '--forwards');
	like($err, qr/^WARNING: account 'carol': .* not read: owned by uid 4242, not by the user/m,
	     '.forward owned by someone else: not read');
	unlike($out, qr/carol\@example\.net/, '... no valias line');
}

# the lines are plain commands
my $ok = 0;
for (grep /^valias/, split /\n/, $out) {
	my $w = parse_shell_words($_);
	$ok++ if $w && @$w == 4 && $w->[0] eq 'valias' && $w->[1] eq '-i';
}
is($ok, scalar(grep /^valias/, split /\n/, $out), 'every valias line is a plain command');

done_testing;
