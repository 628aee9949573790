#!/usr/bin/perl
# A plain run loads only what it uses: Encode, JSON::PP, IO::Select,
# IO::File and the folder/sync modules cost a third of the start-up
# (issue 19) and are loaded by the code that needs them, when it runs.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);

my $tmp = tempdir(CLEANUP => 1);
my $mbox = "$tmp/in.mbox";
open my $fh, '>', $mbox or die;
print {$fh} "From a\@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nhi\n";
close $fh;

# the modules loaded when the script ends, one per line
sub loaded {
	my (@args) = @_;
	my $out = "$tmp/inc";
	local $ENV{MM_INC_OUT} = $out;
	my $rc = system($^X, '-Mblib', '-e',
			'END { open my $o, ">", $ENV{MM_INC_OUT} or die; print {$o} "$_\n" for sort keys %INC }'
			  . ' do "./bin/mbox2vpopmail"; die $@ if $@', '--', @args);
	is($rc, 0, "mbox2vpopmail @args[0 .. 1] ... ran");
	open my $in, '<', $out or return {};
	chomp(my @m = <$in>);
	return { map { $_ => 1 } @m };
}

my $lazy = qr{^(?:Encode|JSON/PP|IO/Select|IO/File|POSIX|MIME/Base64|Storable
		 |MigrateMail/Folders|MigrateMail/Sync)\.pm$}x;
my $plain = loaded('-q', '--maildir', "$tmp/md1", $mbox);
ok($plain->{'MigrateMail/Convert.pm'}, 'a plain run: the converter was loaded (the check sees %INC)');
is_deeply([ grep { /$lazy/ } sort keys %$plain ], [], 'a plain run loads none of the lazy modules');

my $rep = loaded('-q', '--report', "$tmp/report.json", '--maildir', "$tmp/md2", $mbox);
ok($rep->{'JSON/PP.pm'}, '--report loads JSON::PP when it writes the report');
ok(-s "$tmp/report.json", 'and the report was written');

done_testing();
