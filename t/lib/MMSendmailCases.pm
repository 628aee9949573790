package MMSendmailCases;
# sendmail-list invocations whose stdout, stderr, exit status and -o file
# must be the same whatever way the script is run (the full build, the
# standalone file of make sendmail-list-standalone): every output format,
# the main filters, aliases and forwards, usage and input errors.
# setup_workdir() lays out the files they name, relative to a work
# directory the script runs in.
use strict;
use warnings;
use Exporter 'import';
use File::Copy qw(copy);
use File::Path qw(mkpath);

our @EXPORT_OK = qw(setup_workdir sendmail_cases);

sub _spew {
	my ($path, $data) = @_;
	open my $fh, '>', $path or die "$path: $!";
	binmode $fh;
	print $fh $data;
	close $fh or die "$path: $!";
}

# Copies of t/data/accounts under $dir/acc, a passwd whose homes hold
# the .forward fixtures (as root would trust them), a spool directory,
# gecos fields in every encoding, and a mailname file.
sub setup_workdir {
	my ($src, $dir) = @_;
	mkpath("$dir/acc");
	for my $f (qw(passwd shadow master.passwd passwd.hostile shadow.hostile
		      aliases include exclude)) {
		copy("$src/$f", "$dir/acc/$f") or die "copy $f: $!";
	}
	open my $in, '<', "$src/passwd.forwards" or die $!;
	my $fw = do { local $/; <$in> };
	close $in;
	$fw =~ s{HOME/}{$dir/home/}g;
	_spew("$dir/acc/passwd.forwards", $fw);
	for my $u (qw(john.doe mary-ann carol)) {
		mkpath("$dir/home/$u");
		copy("$src/home/$u/.forward", "$dir/home/$u/.forward") or die $!;
		chmod 0644, "$dir/home/$u/.forward";
	}
	mkpath("$dir/spool");
	my %spool = (uid500 => 100, desuser => 0, sha512user => 5000,
		     'john.doe' => 2048, utf8 => 10, ctl => 1);
	_spew("$dir/spool/$_", 'x' x $spool{$_}) for keys %spool;
	symlink '/etc/passwd', "$dir/spool/md5user";   # not a spool file
	my $h = '$6$cHuSUlOFTWSfD9JU$gBBPVmY3ul1FcPh6NasZyc0hvkcE.Bkf4J4IU32Ydnz8Nin/mg2NksNylJbJcGR7.fDIJhKFPEQoS.2KkDpN6/';
	_spew("$dir/acc/passwd.text", join '',
	      "formula:$h:1000:100:=HYPERLINK(\"x\")|calc:/home/formula:/bin/sh\n",
	      "quote:$h:1004:100:Say \"hi\", then go \\o/:/home/quote:/bin/sh\n",
	      "utf8:$h:1005:100:J\xc3\xbcrgen M\xc3\xbcller \xe2\x82\xac \xf0\x9f\x93\xa7:/home/utf8:/bin/sh\n",
	      "latin1:$h:1006:100:J\xfcrgen:/home/latin1:/bin/sh\n",
	      "ctl:$h:1007:100:tab\there\x01\x1b[0m\x7f,room 2:/home/ctl:/bin/sh\n",
	      "surrogate:$h:1008:100:\xed\xa0\x80 \xef\xbf\xbe \xc0\x80:/home/s:/bin/sh\n",
	      "bigid:$h:99999999999999999999:100:Big:/home/big:/bin/sh\n",
	      "long:$h:1009:100:" . ("\xc3\xa9" x 40) . ":/home/long:/bin/sh\n");
	_spew("$dir/mailname", "Mail.Example.NET.\n");
	_spew("$dir/badmailname", "not a domain\n");
	mkpath("$dir/out");
	return $dir;
}

# [ name, [ arguments ], output file (relative to the work dir) or undef ]
sub sendmail_cases {
	my @F = ('--passwd', 'acc/passwd', '--shadow', 'acc/shadow');
	my @H = ('--passwd', 'acc/passwd.hostile', '--shadow', 'acc/shadow.hostile');
	my @M = ('--master-passwd', 'acc/master.passwd');
	my @D = ('--domain', 'example.com');
	my @c = (
		[ 'default list', [ @D, @F ] ],
		[ 'verbose', [ @D, @F, '-v' ] ],
		[ 'gecos and quota', [ @D, @F, '--gecos', '-q', '50M' ] ],
		[ 'vpopmail 5.6', [ @D, @F, '--gecos', '--vpopmail', '5.6' ] ],
		[ 'no shadow', [ @D, '--passwd', 'acc/passwd' ] ],
		[ 'mailname', [ @F, '--mailname', 'mailname' ] ],
		[ 'bad mailname', [ @F, '--mailname', 'badmailname' ] ],
		[ 'master.passwd', [ '--domain', 'example.org', @M, '-v' ] ],
		[ 'master.passwd csv', [ @M, '--format', 'csv', '--spool-dir', 'spool' ] ],
		[ 'min/max uid', [ @D, @F, '--min-uid', '1005', '--max-uid', '1012', '-v' ] ],
		[ 'include', [ @D, @F, '--include', 'acc/include', '-v' ] ],
		[ 'exclude', [ @D, @F, '--exclude', 'acc/exclude' ] ],
		[ 'skip shells', [ @D, @F, '--skip-shell', 'nologin', '--skip-shell',
				   '/bin/false', '-v' ] ],
		[ 'skip shells, commas', [ @D, @F, '--skip-shell', 'nologin,false' ] ],
		[ 'keep locked', [ @D, @F, '--keep-locked', '-v' ] ],
		[ 'dovecot', [ @D, @F, '--format', 'dovecot', '--gecos', '-q', '50M' ] ],
		[ 'dovecot bytes', [ @D, @F, '-f', 'dovecot', '-q', '1000000' ] ],
		[ 'dovecot odd quota', [ @D, @F, '-f', 'dovecot', '-q', '5000000S,100C' ] ],
		[ 'csv', [ @F, '--format', 'csv', '--spool-dir', 'spool', '-q', '4K' ] ],
		[ 'json', [ @F, '--format', 'json', '--spool-dir', 'spool', '-q', '1000' ] ],
		[ 'json no quota', [ @F, '--format', 'json', '--spool-dir', 'spool' ] ],
		[ 'json text', [ '--passwd', 'acc/passwd.text', '--format', 'json',
				 '--spool-dir', 'spool', '-q', 'NOQUOTA' ] ],
		[ 'csv text', [ '--passwd', 'acc/passwd.text', '--format', 'csv' ] ],
		[ 'gecos text', [ @D, '--passwd', 'acc/passwd.text', '--gecos' ] ],
		[ 'json empty', [ @F, '--format', 'json', '--min-uid', '64000',
				  '--max-uid', '64000', '--exclude', 'acc/exclude' ] ],
		[ 'hostile', [ @D, @H, '--gecos', '-v' ] ],
		[ 'hostile 5.6', [ @D, @H, '--gecos', '--vpopmail', '5.6' ] ],
		[ 'hostile dovecot', [ @D, @H, '--gecos', '-f', 'dovecot' ] ],
		[ 'hostile csv', [ @H, '-f', 'csv' ] ],
		[ 'hostile json', [ @H, '-f', 'json' ] ],
		[ 'aliases', [ @D, @F, '--aliases', 'acc/aliases' ] ],
		[ 'forwards', [ @D, '--passwd', 'acc/passwd.forwards', '--forwards',
				'--aliases', 'acc/aliases', '--min-uid', '0' ] ],
		[ 'output file', [ @D, @F, '--gecos', '-o', 'out/makeusers' ],
		  'out/makeusers' ],
		[ 'output json', [ @F, '-f', 'json', '--output', 'out/inv.json' ],
		  'out/inv.json' ],
		[ 'output dir missing', [ @D, @F, '-o', 'nodir/makeusers' ] ],
		[ 'unknown format', [ @D, @F, '--format', 'xml' ] ],
		[ 'unknown vpopmail', [ @D, @F, '--vpopmail', '7' ] ],
		[ 'shadow alone', [ @D, '--shadow', 'acc/shadow' ] ],
		[ 'master and passwd', [ @D, @F, @M ] ],
		[ 'missing passwd', [ @D, '--passwd', 'acc/nosuch' ] ],
		[ 'missing shadow', [ @D, '--passwd', 'acc/passwd', '--shadow', 'acc/nosuch' ] ],
		[ 'missing include', [ @D, @F, '--include', 'acc/nosuch' ] ],
		[ 'missing aliases', [ @D, @F, '--aliases', 'acc/nosuch' ] ],
		[ 'bad min-uid', [ @D, @F, '--min-uid', 'abc' ] ],
		[ 'min above max', [ @D, @F, '--min-uid', '2000', '--max-uid', '1000' ] ],
		[ 'unknown option', [ @D, @F, '--bogus' ] ],
		[ 'file arguments', [ @D, @F, 'extra' ] ],
		[ 'bad domain', [ '--domain', 'not a domain', @F ] ],
		[ 'long domain', [ '--domain', ('a' x 90) . '.example.com', @F ] ],
		[ 'aliases csv', [ @F, '-f', 'csv', '--aliases', 'acc/aliases' ] ],
		[ 'bad quota', [ @D, @F, '-q', '5 G' ] ],
		[ 'long quota', [ @D, @F, '-q', '1' x 21 ] ],
		[ 'gecos csv', [ @F, '-f', 'csv', '--gecos' ] ],
		[ 'getpwent csv', [ '--format', 'csv', '--min-uid', '0' ] ],
		[ 'getpwent', [ @D, '--min-uid', '0', '--keep-locked' ] ],
		[ 'version', [ '--version' ] ],
		[ 'help', [ '--help' ] ],
		[ 'short help', [ '-h' ] ],
	);
	return @c;
}

1;
