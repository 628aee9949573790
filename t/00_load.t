use strict;
use warnings;
use Test::More;

use_ok('MigrateMail');
use_ok('MigrateMail::Mbox');
use_ok('MigrateMail::Mbox::Message');
like($MigrateMail::VERSION, qr/^\d+\.\d+$/, 'version');
is($MigrateMail::Mbox::VERSION, $MigrateMail::VERSION, 'versions agree');
done_testing;
