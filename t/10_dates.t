# The From_ line and Date: parsers, through the Perl API.
use strict;
use warnings;
use Test::More;
use MigrateMail qw(parse_from_line classify_from_line parse_date tz_offset);

$ENV{TZ} = 'UTC';
require POSIX;
POSIX::tzset();

my @from = (
	[ 'From alice@example.com Mon Jan  1 12:00:00 2001', 'alice@example.com', 978350400 ],
	[ "From alice\@example.com Mon Jan  1 12:00:00 2001\n", 'alice@example.com', 978350400 ],
	[ "From alice\@example.com Mon Jan  1 12:00:00 2001\r\n", 'alice@example.com', 978350400 ],
	[ 'From a Mon Jan  1 12:00 2001', 'a', 978350400 ],
	[ 'From a Mon Jan  1 12:00:00 +0100 2001', 'a', 978346800 ],
	[ 'From a Mon Jan  1 12:00:00 2001 -0500', 'a', 978368400 ],
	[ 'From a Mon Jan  1 12:00:00 2001 remote from uunet', 'a', 978350400 ],
	[ 'From MAILER-DAEMON Fri Jul  8 12:08:34 2011', 'MAILER-DAEMON', 1310126914 ],
	[ 'From  Mon Jan  1 12:00:00 2001', '', 978350400 ],
	[ 'From "John Doe"@example.com Mon Jan  1 12:00:00 2001', '"John Doe"@example.com', 978350400 ],
	[ 'From nobody Wed Dec 31 23:59:59 1969', 'nobody', -1 ],
	[ 'From a Fri Jan  1 12:00:00 1965', 'a', -157723200 ],
	[ 'From root Tue Jul  7 20:33:03 1998 WETDST', 'root', 899839983 ],
	[ 'From a Fri Jan  2 10:13:52 UTC 1970 +0000', 'a', 123232 ],
	[ 'From a Mon Jan  1 12:00:00 JST 2001', 'a', 978318000 ],
);
for my $c (@from) {
	my $f = parse_from_line($c->[0]);
	(my $label = $c->[0]) =~ s/\r?\n\z//;
	ok($f, "From_ line: $label") or next;
	is($f->{sender}, $c->[1], '  sender');
	is($f->{time}, $c->[2], '  time');
}
is(parse_from_line('From a Mon Jan  1 12:00:00 MET 2001')->{tz_offset}, 3600,
   'zone name gives its offset');

for my $bad ('From here on, the text is body', 'From: alice@example.com',
	     'from alice Mon Jan  1 12:00:00 2001',
	     'From alice Mon Feb 30 12:00:00 2001',
	     'From alice Mon Jan  1 24:00:00 2001',
	     'From alice Mon Jan  1 12:00:00', '>From alice Mon Jan  1 12:00:00 2001',
	     'From alice Mon Jan  1 12:00:00 2001 trailing garbage words',
	     'From ' . ('x' x 1100) . ' Mon Jan  1 12:00:00 2001', '') {
	is(parse_from_line($bad), undef, "not a From_ line: " . substr($bad, 0, 60));
}

is_deeply(classify_from_line("From daemon\@x Sun, 11 Nov 2007 06:58:35 +0200\n"),
	  { class => 'loose', why => 'an RFC 822 date', sender => 'daemon@x',
	    time => 1194757115, tz_offset => 7200 }, 'classify: RFC 822 date');
is_deeply(classify_from_line('From - '), { class => 'loose', why => 'no date', sender => '-' },
	  'classify: Netscape');
is_deeply(classify_from_line('From a Mon Jan  1 12:00:00 2001 XYZ'),
	  { class => 'strict', sender => 'a', time => 978350400, zone_unknown => 'XYZ' },
	  'classify: strict, unknown zone reported');
is_deeply(classify_from_line('>From a Mon Jan  1 12:00:00 2001'),
	  { class => 'none', why => 'no "From " at the start' }, 'classify: none');

is(parse_date('Mon, 1 Jan 2001 12:00:00 +0100'), 978346800, 'RFC 5322 date');
is(parse_date('1 Jan 2001 12:00 -0500'), 978368400, 'no weekday, no seconds');
is(parse_date('Mon, 01 Jan 01 12:00:00 GMT'), 978350400, 'two-digit year');
is(parse_date("Mon, 1 Jan 2001\r\n 12:00:00 +0100 (CET)"), 978346800, 'folded, comment');
is(parse_date('yesterday'), undef, 'garbage date');

is(tz_offset('UTC'), 0, 'tz UTC');
is(tz_offset('+0130'), 5400, 'tz +0130');
is(tz_offset('-05:00'), -18000, 'tz -05:00');
is(tz_offset('Europe/Berlin'), undef, 'zone names are not fixed offsets');
done_testing;
