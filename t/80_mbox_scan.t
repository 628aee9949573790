# The mbox-scan script: output, warnings, exit status.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use MMRun qw(run_script);

sub run {
	my ($stdin, @args) = @_;
	return run_script('bin/mbox-scan', { stdin => $stdin }, @args);
}

my ($out, $err, $st) = run(undef, '--timezone', 'UTC', 't/data/pseudo.mbox');
is($st, 0, 'exit 0');
is($err, '', 'no warnings');
like($out, qr/^\s+1\s+0\s+413 pseudo S\s+2001-10-24T13:40:49Z MAILER-DAEMON$/m, 'pseudo message line');
like($out, qr/^\s+2\s+515\s+63 cur\s+RS\s+2001-10-24T13:41:00Z alice\@example.com$/m, 'message line');
like($out, qr{^t/data/pseudo.mbox: 3 messages, 540 bytes, 0 new, 2 cur, 1 pseudo, 0 warnings \(mboxo\)$}m,
     'summary');

($out, $err, $st) = run('t/data/bad/garbage-before-from.mbox', '--summary');
is($st, 0, 'warnings do not fail');
like($err, qr/^WARNING: stdin: message 1, offset 0: no From_ line/m, 'warning from stdin');
is($out, "stdin: 2 messages, 108 bytes, 2 new, 0 cur, 0 pseudo, 1 warnings (mboxo)\n", 'summary only');

($out, $err, $st) = run(undef, 't/data/flags.mbox', 't/data/no-such.mbox');
is($st, 1, 'an unreadable mbox gives exit 1');
like($err, qr{^ERROR: t/data/no-such.mbox: cannot open mbox: No such file or directory$}m, 'ERROR line');
like($out, qr{^t/data/flags.mbox: 15 messages}m, 'the other mbox is still scanned');

# --old-pop3: the old UIDL on each line, the forecast after the summary
($out, $err, $st) = run(undef, '--old-pop3', 'auto', 't/data/imapbase.mbox');
is($st, 0, '--old-pop3: exit 0');
like($out, qr/^\s+1\s+0\s+\d+ cur .* alice\@example\.com UIDL 3bd6a8c100000001$/m, 'the UW UIDL of message 1');
like($out, qr{^t/data/imapbase.mbox: forecast: POP3 UIDLs: 2 of 2 kept, 0 will change .*IMAP UIDs: 2 of 2 kept}m,
     'the forecast line');
like($err, qr{^WARNING: t/data/imapbase.mbox: message 1, offset 0: no X-UIDL header but UW-IMAP's}m, 'the guess: a warning');
($out, $err, $st) = run(undef, '-s', '--old-pop3', 'none', 't/data/pseudo.mbox');
like($out, qr/forecast: POP3 UIDLs: 0 of 2 kept, 2 will change \(2 no old UIDL\)/, "'none' keeps none");
($out, $err, $st) = run(undef, '--old-pop3', 'popa3d', 't/data/pseudo.mbox');
is($st, 2, 'an unknown server: a usage error, exit 2');
like($err, qr/^ERROR: unknown old POP3 server 'popa3d' \(auto, uw, dovecot, qpopper, gnu, xuidl, none\)$/m,
     '... naming it');
is($out, '', '... before any mbox is read');
($out, $err, $st) = run(undef, '--format', 'mbox', 't/data/pseudo.mbox');
is($st, 2, 'an unknown --format: exit 2');
like($err, qr/^ERROR: unknown mbox format 'mbox'/m, '... naming it');

($out, $err, $st) = run(undef, '--no-such-option');
is($st, 2, 'usage error gives exit 2');
($out, $err, $st) = run(undef, '--help');
is($st, 0, '--help exits 0');
like($out, qr/Usage:.*mbox-scan \[--format FMT\]/s, '--help shows the synopsis');
($out, $err, $st) = run(undef, '--version');
like($out, qr/^mbox-scan \(MigrateMail\) \d+\.\d+$/, '--version');
done_testing;
