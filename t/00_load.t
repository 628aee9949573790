use strict;
use warnings;
use Test::More;

use_ok('MigrateMail');
use_ok('MigrateMail::Mbox');
use_ok('MigrateMail::Mbox::Message');
use_ok($_) for qw(MigrateMail::Convert MigrateMail::Batch MigrateMail::Folders
		  MigrateMail::Vpopmail MigrateMail::Mbox2Vpopmail MigrateMail::Passwd
		  MigrateMail::SendmailList MigrateMail::Scan);
like($MigrateMail::VERSION, qr/^\d+\.\d+$/, 'version');
is($MigrateMail::Mbox::VERSION, $MigrateMail::VERSION, 'versions agree');
done_testing;
