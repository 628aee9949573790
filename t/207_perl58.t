# The standalone sendmail-list and the modules it packs run on perl
# 5.8.8 (issue 17): nothing here can run a 5.8 interpreter, so check it
# statically with Perl::MinimumVersion (Debian's
# libperl-minimumversion-perl, as .ci/run installs; perlver is its
# command), plus what it does not look for.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Perl::MinimumVersion;
use PPI;

my $tmp = tempdir(CLEANUP => 1);
system($^X, 'tools/pack-sendmail-list', "$tmp/sendmail-list") == 0
  or BAIL_OUT('tools/pack-sendmail-list failed');

my @files = ("$tmp/sendmail-list", 'bin/sendmail-list',
	     map { "lib/MigrateMail/$_.pm" } qw(Accounts Aliases PasswdPP Vpopmail
						SendmailList));
my $max = version->parse('5.8.8');
for my $f (@files) {
	my $pmv = Perl::MinimumVersion->new($f);
	ok($pmv, "$f parses") or next;
	my $v = $pmv->minimum_version;
	ok($v <= $max, "$f: Perl::MinimumVersion says perl $v (at most 5.8.8)");
	my $reason = $pmv->minimum_syntax_reason;
	diag("$f: " . $reason->rule . ' at line ' . $reason->element->location->[0])
	  if $reason && $reason->version > $max;
	my $out = `perlver --blame '$f' 2>&1`;
	is($?, 0, "perlver --blame $f runs");
	my ($said) = $out =~ /Version\s*:\s*([0-9.]+)/;
	ok(defined $said && version->parse($said) <= $max,
	   "perlver: $f needs " . (defined $said ? $said : '?'));
}

# What Perl::MinimumVersion does not catch, looked for in the code
my $doc = PPI::Document->new("$tmp/sendmail-list") or die PPI::Document->errstr;
$doc->prune('PPI::Token::Pod');
$doc->prune('PPI::Token::Comment');
my @bad;
for my $re (@{ $doc->find('PPI::Token::Regexp') || [] },
	    @{ $doc->find('PPI::Token::QuoteLike::Regexp') || [] }) {
	my $line = $re->location->[0];
	my %mod = $re->get_modifiers;
	push @bad, "line $line: s///r" if $mod{r};
	for my $m (qw(a d l u n p)) {
		push @bad, "line $line: /$m" if $mod{$m};
	}
	my $s = $re->content;
	push @bad, "line $line: named capture" if $s =~ /\(\?P?<[A-Za-z_]|\(\?'|\\k[<{']|\\g\{?[a-zA-Z-]/;
	push @bad, "line $line: \\K, \\h, \\v, \\R or \\N" if $s =~ /(?<!\\)\\[KhvRVHN]/;
	push @bad, "line $line: possessive quantifier or (?|" if $s =~ /[*+?}]\+|\(\?\|/;
}
for my $w (@{ $doc->find('PPI::Token::Word') || [] }) {
	my $n = $w->content;
	push @bad, 'line ' . $w->location->[0] . ": $n"
	  if $n =~ /\A(?:say|state|given|when|parent|feature|mro|__SUB__|fc)\z/
	  && !$w->parent->isa('PPI::Statement::Expression')
	  && !($w->snext_sibling && $w->snext_sibling->content eq '=>');
}
for my $m (@{ $doc->find('PPI::Token::Magic') || [] }, @{ $doc->find('PPI::Token::Symbol') || [] }) {
	push @bad, 'line ' . $m->location->[0] . ': ' . $m->content
	  if $m->content =~ /\A[%\$]\+\z|\A%-\z|\A\$\{\^(?:MATCH|PREMATCH|POSTMATCH|GLOBAL_PHASE)\}/;
}
for my $s (@{ $doc->find('PPI::Statement::Include') || [] }) {
	push @bad, 'line ' . $s->location->[0] . ': ' . $s->content
	  if $s->module =~ /\A(?:parent|feature|mro|JSON::PP|Encode|autodie|IO::Socket::IP|HTTP::Tiny)\z/;
}
# Getopt::Long of perl 5.8.8 is 2.35: GetOptions into a hash, no configuration
push @bad, 'Getopt::Long::Configure or :config'
  if $doc->serialize =~ /Getopt::Long::Configure|:config/;
is(join("\n", @bad), '', 'no regex, operator or module newer than perl 5.8 in the standalone file');

# and the checks can see what they look for
my $probe = PPI::Document->new(\'my $x = $a // 1; (my $y = $x) =~ s/a/b/r; $z =~ /(?<n>x)/;');
my $pv = Perl::MinimumVersion->new($probe);
ok($pv->minimum_version > $max, 'Perl::MinimumVersion sees // (' . $pv->minimum_version . ')');

done_testing;
