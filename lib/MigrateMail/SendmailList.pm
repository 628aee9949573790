package MigrateMail::SendmailList;

# Pure Perl, for Perl 5.8.8 and later: the standalone sendmail-list
# packs this module and lists accounts on an old server with no XS
# module (issue 17); only --check loads the XS, when it is asked for.
# Keep it to what 5.8 has: no //, no say, no JSON::PP (core since 5.14).
use strict;
use warnings;

use Carp qw(croak);
use Fcntl qw(O_WRONLY O_CREAT O_EXCL O_NOFOLLOW O_RDONLY);
use File::Basename qw(dirname basename);
use IO::Handle;
use MigrateMail::Accounts qw(read_passwd read_master_passwd read_getpwent
			     read_name_list select_accounts
			     vpopmail_name_problem full_name spool_size
			     printable vpopmail_limits);
use MigrateMail::Aliases qw(read_aliases read_forward target_kind);
use MigrateMail::PasswdPP qw(password_scheme);
use MigrateMail::Vpopmail qw(quota_bytes);

our $VERSION = '0.01';

# The distribution's version, the one lib/MigrateMail.pm holds: that
# module loads the XS, so it is not read here (t/206 checks they agree).
our $DIST_VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(run shell_quote parse_shell_words vadduser_line
		    valias_line dovecot_line find_domain write_atomic
		    check_hash makeusers_header quota_bytes);

our %DEFAULT = (
	'min-uid'   => 500,
	'max-uid'   => 63999,
	'spool-dir' => '/var/spool/mail',
	'mailname'  => '/etc/mailname',
	'format'    => 'vpopmail',
	'vpopmail'  => $MigrateMail::Accounts::VPOPMAIL_DEFAULT,
);

# The makeusers line that stops the script when vpopmail's programs are
# not on PATH (--check knows it and passes over it).
our $PATH_CHECK = 'command -v vadduser >/dev/null 2>&1 || { echo "ERROR: '
  . "vadduser not found: put vpopmail's bin directory (e.g. "
  . '/home/vpopmail/bin) on PATH" >&2; exit 1; }';

# The comment header of a vadduser list: what made it, for which
# vpopmail limits, then the PATH check.
sub makeusers_header {
	my ($version, $domain) = @_;
	my $l = vpopmail_limits($version);
	return "# made by sendmail-list (MigrateMail $DIST_VERSION) "
	  . "for vpopmail $version\n"
	  . "# limits checked: user names up to $l->{name} characters, full "
	  . "names up to $l->{gecos} bytes\n"
	  . "# run on the new server after 'vadddomain $domain': sh -x makeusers\n"
	  . "$PATH_CHECK\n";
}


my $DOMAIN_RE = qr/[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+/;
# vpopmail takes a leading _ (Debian's _apt), not - or .
my $ADDRESS_RE = qr/\A[a-z0-9_][a-z0-9._-]*\@$DOMAIN_RE\z/;

# One shell word whatever $s holds: inside single quotes nothing is
# special but the quote itself, which becomes '\''.
sub shell_quote {
	my ($s) = @_;
	croak 'shell_quote: undefined' unless defined $s;
	$s =~ s/'/'\\''/g;
	return "'$s'";
}

# The address is not quoted (vpopmail's usual shape), so it must be made
# of characters the shell takes literally; callers have checked the name
# with vpopmail_name_problem, this is the last line of defence.
sub _address {
	my ($name, $domain) = @_;
	my $a = "$name\@$domain";
	croak "refusing to emit unsafe address '" . printable($a) . "'"
	  unless $a =~ $ADDRESS_RE;
	return $a;
}

sub vadduser_line {
	my ($name, $domain, $hash, %o) = @_;
	my @w = ('vadduser');
	push @w, '-c', shell_quote($o{gecos})
	  if defined $o{gecos} && length $o{gecos};
	push @w, '-q', shell_quote($o{quota}) if defined $o{quota};
	push @w, '-e', shell_quote($hash), _address($name, $domain);
	return join(' ', @w) . "\n";
}

sub valias_line {
	my ($target, $name, $domain) = @_;
	return 'valias -i ' . shell_quote($target) . ' '
	  . _address($name, $domain) . "\n";
}

# Dovecot passwd-file: user:password:uid:gid:gecos:home:shell:extra.
sub dovecot_line {
	my ($name, $domain, $hash, %o) = @_;
	croak 'refusing a hash with a colon or line break in a passwd-file'
	  if $hash =~ /[:\n]/;
	my $gecos = defined $o{gecos} ? $o{gecos} : '';
	croak 'refusing a gecos with a colon or line break'
	  if $gecos =~ /[:\n]/;
	my $extra = defined $o{quota_rule}
	  ? "userdb_quota_rule=$o{quota_rule}" : '';
	return _address($name, $domain) . ":{CRYPT}${hash}:::${gecos}:::$extra\n";
}

# Dovecot's quota rule for a vpopmail-style quota, or undef.
sub _dovecot_quota {
	my ($q) = @_;
	return '*:bytes=' . $q if $q =~ /\A[0-9]+\z/;
	return '*:storage=' . uc($1) if $q =~ /\A([0-9]+[KMGT])B?\z/i;
	return;
}

# The mail domain: --domain, else the first line of /etc/mailname, else
# the host's domain. Returns (domain) or (undef, why).
sub find_domain {
	my (%o) = @_;
	my ($d, $from);
	if (defined $o{domain}) {
		($d, $from) = ($o{domain}, '--domain');
	} elsif (open my $fh, '<', $o{mailname}) {
		$d = <$fh>;
		$from = $o{mailname};
	} else {
		require Net::Domain;
		$d = Net::Domain::hostdomain();
		$from = "the host's domain";
	}
	$d = lc(defined $d ? $d : '');
	$d =~ s/\A\s+|\s+\z//g;
	$d =~ s/\.\z//;
	return (undef, "no usable mail domain from $from ('" . printable($d)
		. "'); give --domain") unless $d =~ /\A$DOMAIN_RE\z/;
	return ($d);
}

# Write $data to $path atomically: a new temporary file in the same
# directory (O_EXCL, O_NOFOLLOW, mode 0600 whatever the umask), synced,
# then renamed over $path. Dies with an ERROR message.
sub write_atomic {
	my ($path, $data) = @_;
	my ($dir, $base) = (dirname($path), basename($path));
	my ($fh, $tmp);
	for (1 .. 100) {
		$tmp = sprintf '%s/.%s.%d.%08x.tmp', $dir, $base, $$,
		  int rand 0xffffffff;
		last if sysopen $fh, $tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
		  0600;
		die "ERROR: cannot create a temporary file in $dir: $!\n"
		  unless $!{EEXIST};
		undef $fh;
	}
	die "ERROR: cannot create a temporary file in $dir\n" unless $fh;
	my $ok = eval {
		binmode $fh;
		chmod 0600, $fh or die "chmod: $!\n";
		my $off = 0;
		while ($off < length $data) {
			my $n = syswrite $fh, $data, 65536, $off;
			die "write: $!\n" unless defined $n;
			$off += $n;
		}
		$fh->sync or die "fsync: $!\n";
		close $fh or die "close: $!\n";
		rename $tmp, $path or die "rename: $!\n";
		1;
	};
	unless ($ok) {
		my $e = $@;
		chomp $e;
		unlink $tmp;
		die "ERROR: cannot write $path: $e\n";
	}
	if (sysopen my $dh, $dir, O_RDONLY) {   # make the rename durable
		$dh->sync;
		close $dh;
	}
	return 1;
}

# Split a line of the list the way sh would, for the plain commands this
# script writes: words, '...' and "..." quoting, backslashes, a comment.
# Returns the words, or undef if the line holds anything else (;, |,
# $(...), `...`, redirections, an open quote).
sub parse_shell_words {
	my ($s) = @_;
	my (@w, $cur);
	while (1) {
		if ($s =~ /\G[ \t]+/gc || $s =~ /\G\z/gc) {
			push @w, $cur if defined $cur;
			undef $cur;
			last if pos($s) == length $s;
			next;
		}
		if (!defined $cur && $s =~ /\G#/gc) {
			last;
		} elsif ($s =~ /\G'([^']*)'/gc) {
			$cur .= $1;
		} elsif ($s =~ /\G"((?:[^"\\\$`]|\\[\$`"\\])*)"/gc) {
			(my $d = $1) =~ s/\\([\$`"\\])/$1/g;
			$cur .= $d;
		} elsif ($s =~ /\G\\([^\n])/gc) {
			$cur .= $1;
		} elsif ($s =~ /\G([^\s'"\\;&|<>()`\$]+)/gc) {
			$cur .= $1;
		} else {
			return;
		}
	}
	return \@w;
}

our $XS_NEEDED = '--check needs the full MigrateMail install (its XS '
  . "module, built with libxcrypt), which this perl cannot load: run "
  . 'it where MigrateMail is installed, typically on the new server '
  . '(sendmail-list --check makeusers); listing needs nothing but perl';

# --check asks libxcrypt through the XS module, loaded only then: the
# listing works without it. Returns the XS password_scheme, or dies.
sub _xs_password_scheme {
	unless (defined &MigrateMail::Passwd::password_scheme) {
		eval { require MigrateMail::Passwd; 1 } or die "ERROR: $XS_NEEDED\n";
	}
	return \&MigrateMail::Passwd::password_scheme;
}

# Judge one hash for --check: (level, scheme, text).
sub check_hash {
	my ($hash) = @_;
	return ('ERROR', 'none', "no password hash: 'x' means it is kept in "
		. 'the shadow file; run as root or give --shadow')
	  if $hash eq 'x';
	my $i = _xs_password_scheme()->($hash);
	my $s = $i->{scheme};
	return ('WARNING', $s, 'nobody can log in with a password to a locked '
		. 'account')
	  if $s eq 'locked';
	return ('ERROR', $s, 'empty hash: the account has no password')
	  if $s eq 'empty';
	return ('ERROR', $s, 'unrecognised hash') if $s eq 'unknown';
	return ('ERROR', $s, 'damaged hash (wrong length or characters): '
		. 'no password can match it') unless $i->{well_formed};
	return ('ERROR', $s, "this machine's crypt() cannot verify it "
		. "(crypt_checksalt: $i->{support})") unless $i->{can_verify};
	return ('WARNING', $s, "verifiable by this machine's crypt(), but weak: "
		. "$i->{note}; ask the user to change the password")
	  if $i->{weak};
	return ('WARNING', $s, "verifiable by this machine's crypt(), but "
		. 'libxcrypt calls the method legacy; ask the user to change '
		. 'the password') if $i->{legacy};
	return ('OK', $s, "verifiable by this machine's crypt()");
}

# Why an account's hash cannot go into the list: (level, text) or ().
sub _hash_problem {
	my ($a, $i) = @_;
	return ('ERROR', "the passwd entry says 'x' but the shadow file has "
		. 'no entry for it') if $a->{no_shadow};
	return ('ERROR', "no password hash: 'x' means it is kept in the "
		. 'shadow file; run as root or give --shadow')
	  if $a->{hash} eq 'x';
	# files cannot hold these, getpwent() from NIS or LDAP can
	return ('ERROR', 'the password hash holds a colon or a control '
		. 'character') if $a->{hash} =~ /[:\x00-\x1f\x7f]/;
	return if $i->{scheme} eq 'locked';   # only here with --keep-locked
	return ('ERROR', 'empty password hash: the account has no password')
	  if $i->{scheme} eq 'empty';
	return ('ERROR', 'unrecognised password hash') if $i->{scheme} eq 'unknown';
	return ('ERROR', "damaged $i->{scheme} password hash (wrong length or "
		. 'characters)') unless $i->{well_formed};
	return ('WARNING', "this machine's crypt() cannot verify $i->{scheme} "
		. 'hashes; run sendmail-list --check on the new server')
	  unless $i->{can_verify};
	return;
}

sub _csv_field {
	my ($v) = @_;
	return '' unless defined $v;
	return $v if $v =~ /\A[0-9]+\z/;
	# a spreadsheet would run "=..." as a formula
	$v = "'$v" if $v =~ /\A[=+\-\@\t\r]/;
	$v =~ s/"/""/g;
	return qq{"$v"};
}

# Is $s strict UTF-8, as Encode's 'UTF-8' takes it: well formed, no
# overlong forms, surrogates, noncharacters or code points past 10FFFF?
sub _is_utf8 {
	my ($s) = @_;
	return 1 unless $s =~ /[\x80-\xff]/;
	(my $rest = $s) =~ s/[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}//g;
	return 0 if $rest =~ /[\x80-\xff]/;
	# U+FDD0..U+FDEF, and U+xFFFE and U+xFFFF of every plane; in
	# well-formed UTF-8 these bytes only start a sequence
	return 0 if $s =~ /\xef\xb7[\x90-\xaf]|\xef\xbf[\xbe\xbf]|[\xf0-\xf4][\x8f\x9f\xaf\xbf]\xbf[\xbe\xbf]/;
	return 1;
}

my %JSON_ESC = ('"' => '\\"', '\\' => '\\\\', "\n" => '\\n', "\r" => '\\r',
		"\t" => '\\t', "\f" => '\\f', "\x08" => '\\b');

# A JSON string of the bytes of $s: UTF-8 as it is, other bytes taken as
# Latin-1, escaped as JSON::PP escapes (", \, controls; not / or DEL).
sub _json_string {
	my ($s) = @_;
	return 'null' unless defined $s;
	$s =~ s/([\x80-\xff])/chr(0xc0 | ord($1) >> 6) . chr(0x80 | (ord($1) & 0x3f))/ge
	  unless _is_utf8($s);
	$s =~ s/([\x22\x5c\n\r\t\f\x08])/$JSON_ESC{$1}/g;
	$s =~ s/([\x00-\x1f])/sprintf '\\u%04x', ord $1/ge;
	return qq{"$s"};
}

sub _json_number {
	my ($v) = @_;
	return 'null' unless defined $v;
	my $n = 0 + $v;
	return "$n";
}

sub _usage_checks {
	my ($o, $args) = @_;
	my $f = $o->{format};
	return "unknown --vpopmail '" . printable($o->{vpopmail}) . "' (5.4 "
	  . 'or 5.6)' unless vpopmail_limits($o->{vpopmail});
	return "unknown --format '" . printable($f) . "' (vpopmail, dovecot, "
	  . 'csv, json)' unless $f =~ /\A(?:vpopmail|dovecot|csv|json)\z/;
	return '--shadow needs --passwd' if defined $o->{shadow}
	  && !defined $o->{passwd};
	return '--master-passwd cannot be combined with --passwd'
	  if defined $o->{'master-passwd'} && defined $o->{passwd};
	for my $k (qw(min-uid max-uid)) {
		return "--$k must be a number from 0 up"
		  unless $o->{$k} =~ /\A[0-9]+\z/;
	}
	return '--min-uid is above --max-uid'
	  if $o->{'min-uid'} > $o->{'max-uid'};
	return '--aliases and --forwards need --format vpopmail (and no --check)'
	  if (defined $o->{aliases} || $o->{forwards})
	  && ($f ne 'vpopmail' || $o->{check});
	return 'FILE arguments are only taken with --check' if @$args
	  && !$o->{check};
	return 'FILE arguments to --check exclude --passwd, --master-passwd'
	  if @$args && (defined $o->{passwd} || defined $o->{'master-passwd'});
	if (defined $o->{quota}) {
		return "--quota '" . printable($o->{quota}) . "' is not a quota "
		  . '(bytes, NOQUOTA, or vpopmail forms such as 50M, 5000000S)'
		  unless $o->{quota} =~ /\A[0-9A-Za-z,]{1,40}\z/;
		my $max = vpopmail_limits($o->{vpopmail})->{quota};
		return "--quota '$o->{quota}' is longer than the $max "
		  . "characters vpopmail $o->{vpopmail} takes (MAX_PW_QUOTA)"
		  if length $o->{quota} > $max;
		return '--quota is not used by --check' if $o->{check};
	}
	return '--gecos applies to --format vpopmail and dovecot'
	  if $o->{gecos} && $f ne 'vpopmail' && $f ne 'dovecot';
	return '--check takes no --format' if $o->{check} && $o->{format_given};
	return;
}

# The whole program: $opt as Getopt::Long fills it (option names as
# keys), $args the remaining arguments, output and messages to the two
# handles. Returns the exit status: 0 ok, 1 something reported as ERROR,
# 2 usage error.
sub run {
	my ($opt, $args, $out, $err) = @_;
	my %o = (%DEFAULT, %$opt);
	$o{format_given} = exists $opt->{format};
	$args ||= [];
	my %count = (ERROR => 0, WARNING => 0);
	my $report = sub {
		my ($level, $text) = @_;
		# --check's ERROR lines are output, not messages, but count
		return $count{$text}++ if $level eq 'TALLY';
		return if $level eq 'SKIP' && !$o{verbose};
		$count{$level}++;
		print {$err} "$level: $text\n";
	};
	if (defined(my $why = _usage_checks(\%o, $args))) {
		print {$err} "ERROR: $why\n";
		return 2;
	}
	if ($o{check} && !eval { _xs_password_scheme(); 1 }) {
		print {$err} $@;
		return 2;
	}
	my $domain;
	if ($o{check} ? !@$args
	    : $o{format} eq 'vpopmail' || $o{format} eq 'dovecot') {
		my $why;
		($domain, $why) = find_domain(domain => $o{domain},
					      mailname => $o{mailname});
		# --check only uses it to name the accounts
		unless (defined $domain || $o{check}) {
			print {$err} "ERROR: $why\n";
			return 2;
		}
		my $dmax = vpopmail_limits($o{vpopmail})->{domain};
		if (defined $domain && length $domain > $dmax) {
			print {$err} "ERROR: the domain $domain is longer than "
			  . "the $dmax characters vpopmail $o{vpopmail} takes "
			  . "(MAX_PW_DOMAIN)\n";
			return 2;
		}
	}

	my $text = eval {
		$o{check} && @$args
		  ? _check_lists(\%o, $args, $domain, $report)
		  : _from_accounts(\%o, $domain, $report);
	};
	unless (defined $text) {
		(my $e = $@) =~ s/\n\z//;
		$e = "ERROR: $e" unless $e =~ /\AERROR/;
		print {$err} "$e\n";
		return 2;
	}
	if (defined $o{output}) {
		unless (eval { write_atomic($o{output}, $text) }) {
			print {$err} $@;
			return 1;
		}
	} else {
		print {$out} $text or do {
			print {$err} "ERROR: cannot write to standard output: $!\n";
			return 1;
		};
	}
	return $count{ERROR} ? 1 : 0;
}

sub _load_accounts {
	my ($o, $report) = @_;
	if (defined $o->{'master-passwd'}) {
		return read_master_passwd($o->{'master-passwd'},
					  report => $report);
	}
	if (defined $o->{passwd}) {
		return read_passwd($o->{passwd}, shadow => $o->{shadow},
				   report => $report);
	}
	$report->('WARNING', 'not running as root: getpwent() gives no shadow '
		  . 'hashes, only x')
	  if $> != 0 && !$o->{getpwent};
	return read_getpwent(report => $report, getpwent => $o->{getpwent});
}

sub _from_accounts {
	my ($o, $domain, $report) = @_;
	my $all = _load_accounts($o, $report);
	my $sel = select_accounts($all,
		min_uid     => $o->{'min-uid'},
		max_uid     => $o->{'max-uid'},
		include     => defined $o->{include}
				 ? read_name_list($o->{include}) : undef,
		exclude     => defined $o->{exclude}
				 ? read_name_list($o->{exclude}) : undef,
		skip_shell  => [ map { split /,/ } @{ $o->{'skip-shell'} || [] } ],
		keep_locked => $o->{'keep-locked'},
		report      => $report);
	return _check_accounts($o, $sel, $domain, $report) if $o->{check};

	my $f = $o->{format};
	my (@rows, @listed, $text);
	$text = '';
	for my $a (@$sel) {
		my $who = "account '" . printable($a->{name}) . "' ($a->{where})";
		my $info = password_scheme($a->{hash});
		my $name_why = vpopmail_name_problem($a->{name}, $o->{vpopmail});
		$name_why = _target_problem($a, $domain, $o->{vpopmail})
		  unless defined $name_why;
		my ($level, $why) = defined $name_why ? ('ERROR', $name_why)
					: _hash_problem($a, $info);
		my $scheme = $a->{hash} eq 'x' || $a->{no_shadow} ? 'none'
			   : $info->{scheme};
		if ($level) {
			$report->($level, "$who: $why"
				  . ($level eq 'ERROR' ? '; not listed' : ''));
		}
		if ($f eq 'csv' || $f eq 'json') {
			push @rows, _row($o, $a, $scheme,
					 $level ? lc($level) . ": $why" : 'ok');
			next;
		}
		next if $level && $level eq 'ERROR';
		my %line;
		if ($o->{gecos}) {
			my ($fn, $cut) = full_name($a->{gecos}, $o->{vpopmail});
			$report->('WARNING', "$who: full name shortened to "
				  . vpopmail_limits($o->{vpopmail})->{gecos}
				  . " bytes for vpopmail $o->{vpopmail}: '"
				  . printable($fn) . "'") if $cut;
			$line{gecos} = $fn;
		}
		if ($f eq 'vpopmail') {
			$line{quota} = $o->{quota};
			$text .= vadduser_line($a->{name}, $domain, $a->{hash},
					       %line);
		} else {
			if (defined $o->{quota} && uc $o->{quota} ne 'NOQUOTA') {
				$line{quota_rule} = _dovecot_quota($o->{quota});
				$report->('WARNING', "$who: --quota '$o->{quota}' "
					  . 'has no Dovecot equivalent; left out')
				  unless defined $line{quota_rule};
			}
			$text .= dovecot_line($a->{name}, $domain, $a->{hash},
					      %line);
		}
		push @listed, $a;
	}
	return _csv(\@rows) if $f eq 'csv';
	return _json(\@rows) if $f eq 'json';
	if ($f eq 'vpopmail') {
		$text = makeusers_header($o->{vpopmail}, $domain) . $text;
		my %listed = map { $_->{name} => 1 } @listed;
		$text .= _forward_lines(\@listed, $domain, $report, $o->{vpopmail})
		  if $o->{forwards};
		$text .= _alias_lines($o->{aliases}, \%listed, $domain, $report,
				      $o->{vpopmail})
		  if defined $o->{aliases};
	}
	return $text;
}

# What else vpopmail $v would refuse for this account on domain $d
# (its name being fine): a hash longer than MAX_PW_PASS (vadduser would
# create the user, then fail to set the hash, leaving it with an empty
# password), a user directory path longer than MAX_PW_DIR (with the
# classic /home/vpopmail and room for a user hash directory).
sub _target_problem {
	my ($a, $d, $v) = @_;
	my $l = vpopmail_limits($v);
	return "the password hash is longer than the $l->{hash} characters "
	  . "vpopmail $v stores (MAX_PW_PASS)" if length $a->{hash} > $l->{hash};
	return unless defined $d;   # an inventory without --domain
	my $path = length("/home/vpopmail/domains/$d/") + 8 + length $a->{name};
	return "the user's directory would be longer than the $l->{dir} "
	  . "characters vpopmail $v stores (MAX_PW_DIR)"
	  if $path > $l->{dir};
	return;
}

# One inventory record; spool_size against the --quota given.
sub _row {
	my ($o, $a, $scheme, $status) = @_;
	my $size = spool_size($o->{'spool-dir'}, $a->{name});
	my $quota = quota_bytes($o->{quota});
	return { user => $a->{name}, uid => $a->{uid}, gecos => $a->{gecos},
		 scheme => $scheme, spool_size => $size, quota => $quota,
		 over_quota => defined $size && defined $quota
			       ? ($size > $quota ? 1 : 0) : undef,
		 status => $status };
}

sub _csv {
	my ($rows) = @_;
	my @k = qw(user uid gecos scheme spool_size status quota over_quota);
	return join '', join(',', @k) . "\n",
	  map { my $r = $_; join(',', map { _csv_field($r->{$_}) } @k) . "\n" }
	  @$rows;
}

# The inventory as JSON::PP->new->utf8->canonical->pretty wrote it
# (keys sorted, three-space indent, " : "), written by hand: JSON::PP is
# not in perl before 5.14 (t/206 checks the two agree byte for byte).
sub _json {
	my ($rows) = @_;
	return "[]\n" unless @$rows;
	my @objects;
	for my $r (@$rows) {
		my %v = ((map { $_ => _json_string($r->{$_}) }
			  qw(user gecos scheme status)),
			 (map { $_ => _json_number($r->{$_}) }
			  qw(uid spool_size quota)),
			 over_quota => !defined $r->{over_quota} ? 'null'
				       : $r->{over_quota} ? 'true' : 'false');
		push @objects, "   {\n" . join(",\n", map { qq{      "$_" : $v{$_}} }
						sort keys %v) . "\n   }";
	}
	return "[\n" . join(",\n", @objects) . "\n]\n";
}

# What valias cannot express, in words.
my %CANNOT = (
	pipe    => 'a pipe to a program',
	file    => 'delivery to a file',
	include => 'an :include: list',
	error   => "sendmail's error: mailer",
);

# The valias target for one alias or forward target, or undef (reported).
sub _valias_target {
	my ($t, $ctx, $domain, $known, $report, $version) = @_;
	my ($kind, $v) = target_kind($t);
	if ($kind eq 'bad') {
		$report->('ERROR', "$ctx: target '" . printable($t) . "' is not "
			  . 'an address this tool understands; not listed');
		return;
	}
	if ($CANNOT{$kind}) {
		$report->('ERROR', "$ctx: target '" . printable($t) . "' is "
			  . "$CANNOT{$kind}, which vpopmail's valias cannot "
			  . 'express; set it up by hand');
		return;
	}
	return $v if $kind eq 'address';
	if (defined(my $why = vpopmail_name_problem($v, $version))) {
		$report->('ERROR', "$ctx: local target '" . printable($t)
			  . "': $why; not listed");
		return;
	}
	$report->('WARNING', "$ctx: local target '" . printable($v) . "' is "
		  . 'neither a listed account nor an alias here')
	  unless $known->{$v};
	return "$v\@$domain";
}

sub _forward_lines {
	my ($listed, $domain, $report, $version) = @_;
	my %known = map { $_->{name} => 1 } @$listed;
	my $text = '';
	for my $a (@$listed) {
		my $fw = read_forward($a, report => $report) or next;
		my $ctx = "account '$a->{name}': " . printable($fw->{path});
		for my $t (@{ $fw->{targets} }) {
			my ($kind, $v) = target_kind($t);
			if ($kind eq 'local' && $v eq $a->{name}) {
				$report->('WARNING', "$ctx: '" . printable($t)
					  . "' keeps a copy in the mailbox, which "
					  . "valias cannot express: with the other "
					  . "targets as valias lines, $a->{name}\@"
					  . "${domain}'s mailbox gets nothing (use a "
					  . '.qmail file in the vpopmail user '
					  . 'directory instead)');
				next;
			}
			my $to = _valias_target($t, $ctx, $domain, \%known,
						$report, $version);
			$text .= valias_line($to, $a->{name}, $domain)
			  if defined $to;
		}
	}
	return $text;
}

sub _alias_lines {
	my ($file, $listed, $domain, $report, $version) = @_;
	my $aliases = read_aliases($file, report => $report);
	my %known = (%$listed, map { $_->{name} => 1 } @$aliases);
	my $text = '';
	for my $al (@$aliases) {
		my $ctx = "alias '" . printable($al->{name}) . "' ($al->{where})";
		if (defined(my $why = vpopmail_name_problem($al->{name}, $version))) {
			$report->('ERROR', "$ctx: $why; not listed");
			next;
		}
		for my $t (@{ $al->{targets} }) {
			my $to = _valias_target($t, $ctx, $domain, \%known,
						$report, $version);
			$text .= valias_line($to, $al->{name}, $domain)
			  if defined $to;
		}
	}
	return $text;
}

# --check lines: "LEVEL: who: scheme: text", then a summary comment.
sub _check_line {
	my ($n, $who, $hash, $report) = @_;
	my ($level, $scheme, $text) = check_hash($hash);
	$n->{$level}++;
	$report->('TALLY', $level) if $level eq 'ERROR';
	return "$level: $who: $scheme: $text\n";
}

sub _check_summary {
	my ($n) = @_;
	my $total = 0;
	$total += $_ for values %$n;
	return sprintf "# checked %d accounts: %d ok, %d with warnings, "
	  . "%d with errors\n", $total,
	  map { defined $n->{$_} ? $n->{$_} : 0 } qw(OK WARNING ERROR);
}

sub _check_accounts {
	my ($o, $sel, $domain, $report) = @_;
	my (%n, $text);
	$text = '';
	for my $a (@$sel) {
		my $why = vpopmail_name_problem($a->{name}, $o->{vpopmail});
		my $who = $domain && !defined $why
		  ? "$a->{name}\@$domain" : printable($a->{name});
		if (defined $why) {
			$report->('ERROR', "account '" . printable($a->{name})
				  . "' ($a->{where}): $why");
		}
		if ($a->{no_shadow}) {
			$n{ERROR}++;
			$report->('TALLY', 'ERROR');
			$text .= "ERROR: $who: none: the passwd entry says 'x' but "
			  . "the shadow file has no entry for it\n";
			next;
		}
		$text .= _check_line(\%n, $who, $a->{hash}, $report);
	}
	return $text . _check_summary(\%n);
}

sub _check_lists {
	my ($o, $files, $domain, $report) = @_;
	my (%n, $text);
	$text = '';
	for my $file (@$files) {
		my $fh;
		if ($file eq '-') {
			$fh = \*STDIN;
		} else {
			open $fh, '<:raw', $file
			  or die "ERROR: cannot open list $file: $!\n";
		}
		while (defined(my $line = <$fh>)) {
			$line =~ s/\r?\n\z//;
			next if $line =~ /\A\s*(?:#|\z)/ || $line eq $PATH_CHECK;
			my $where = ($file eq '-' ? 'stdin' : $file) . " line $.";
			my $w = parse_shell_words($line);
			if ($w && @$w && $w->[0] eq 'valias') {
				next;
			} elsif ($w && @$w && $w->[0] eq 'vadduser') {
				my (%opt, @pos);
				my @a = @$w[1 .. $#$w];
				while (@a) {
					my $x = shift @a;
					if ($x =~ /\A-([cdeq])\z/) {
						$opt{$1} = shift @a;
					} elsif ($x !~ /\A-[a-zA-Z]\z/) {
						push @pos, $x;
					}
				}
				my $who = printable(defined $pos[0] ? $pos[0]
						    : "($where)");
				if (defined $opt{e}) {
					$text .= _check_line(\%n, $who, $opt{e}, $report);
				} elsif (@pos > 1) {
					$n{WARNING}++;
					$text .= "WARNING: $who: clear: a clear-text "
					  . "password in the list ($where); vpopmail "
					  . "hashes it itself\n";
				} else {
					$n{WARNING}++;
					$text .= "WARNING: $who: none: no -e hash "
					  . "($where); not checked\n";
				}
			} elsif ($line =~ /\A([^:\s]+):([^:]*)/) {
				my ($who, $pw) = (printable($1), $2);
				if ($pw =~ /\A\{([^}]*)\}(.*)\z/s) {
					my ($sch, $h) = (uc $1, $2);
					if ($sch !~ /CRYPT\z/) {
						$n{OK}++;
						$text .= "OK: $who: {$sch}: not a "
						  . "crypt() hash; Dovecot checks it "
						  . "itself\n";
						next;
					}
					$pw = $h;
				}
				$text .= _check_line(\%n, $who, $pw, $report);
			} else {
				$report->('WARNING', "$where: not a vadduser, valias "
					  . 'or passwd-file line; ignored');
			}
		}
		close $fh unless $file eq '-';
	}
	return $text . _check_summary(\%n);
}

1;
__END__

=head1 NAME

MigrateMail::SendmailList - the logic behind sendmail-list

=head1 SYNOPSIS

  use MigrateMail::SendmailList qw(run shell_quote vadduser_line);

  my $status = run({ domain => 'example.com', passwd => 'passwd',
                     shadow => 'shadow' }, [], \*STDOUT, \*STDERR);

  print vadduser_line('alice', 'example.com', $hash,
                      gecos => "Alice O'Hara", quota => '50M');
  # vadduser -c 'Alice O'\''Hara' -q '50M' -e '$6$...' alice@example.com

=head1 DESCRIPTION

L<sendmail-list> is a short main over this module, so that tests reach
every part of it. See the script's documentation for the behaviour.

=head1 FUNCTIONS

=head2 $status = run(\%opt, \@args, $out, $err)

Runs the program: C<%opt> as Getopt::Long fills it from the script's
options (long names as keys, C<skip-shell> an array reference; a
C<getpwent> code reference replaces Perl's getpwent() for tests),
C<@args> the list files of C<--check>. The list goes to C<$out> (or the
C<output> file), messages to C<$err>. Returns the exit status: 0, 1 if
anything was reported as C<ERROR>, 2 on a usage error.

=head2 $word = shell_quote($string)

C<$string> as one single-quoted shell word, C<'> written as C<'\''>.
Whatever the string holds, sh sees exactly those bytes as one argument.

=head2 $words = parse_shell_words($line)

The words sh would see in a plain command line (quotes, backslashes, a
trailing comment), or undef if the line holds anything else: C<;>,
C<|>, C<&>, redirections, C<$>, backquotes or an open quote.

=head2 $line = vadduser_line($name, $domain, $hash, gecos => $g, quota => $q)

C<vadduser [-c 'GECOS'] [-q 'QUOTA'] -e 'HASH' name@domain>, every
value single-quoted; the address is left bare, as in vpopmail's usage,
and the function croaks unless it is made only of C<[a-z0-9._-]>, C<@>
and a domain name.

=head2 $line = valias_line($target, $name, $domain)

C<valias -i 'TARGET' name@domain>.

=head2 $line = dovecot_line($name, $domain, $hash, gecos => $g, quota_rule => $r)

A Dovecot passwd-file line,
C<name@domain:{CRYPT}HASH:::GECOS:::userdb_quota_rule=RULE>.

=head2 ($domain, $why) = find_domain(domain => $d, mailname => $file)

C<$d>, else the first line of C<$file>, else the host's domain
(Net::Domain), lowercased and checked; C<$why> says what is wrong when
C<$domain> is undef.

=head2 write_atomic($path, $data)

Writes a file atomically: a temporary file in the same directory
created with O_EXCL and O_NOFOLLOW and mode 0600 (whatever the umask),
synced, renamed over C<$path>, the directory synced. A symlink at
C<$path> is replaced, not followed. Dies with an C<ERROR:> message.

=head2 $text = makeusers_header($version, $domain)

The lines a vadduser list starts with: comments saying what made it and
for which vpopmail limits (L<MigrateMail::Accounts/vpopmail_limits>),
then a command that stops the list with an C<ERROR> line and exit
status 1 when vadduser is not on PATH.

=head2 $bytes = quota_bytes($quota)

L<MigrateMail::Vpopmail/quota_bytes>, for the inventory's C<quota>.

=head2 ($level, $scheme, $text) = check_hash($hash)

The C<--check> verdict on one hash: C<OK>, C<WARNING> (locked, weak or
legacy) or C<ERROR> (empty, unrecognised, damaged, not verifiable by
this machine's crypt()).

It asks libxcrypt through the XS module (L<MigrateMail::Passwd>), loaded
when first needed: everything else in this module is pure Perl and runs
without it. When it cannot be loaded, it dies with an C<ERROR:> saying
that C<--check> needs the full MigrateMail install.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
