package MigrateMail::Mbox2Vpopmail;

use strict;
use warnings;

use Getopt::Long qw(GetOptionsFromArray);
use Time::HiRes ();
use MigrateMail qw(mbox_to_maildir);
use MigrateMail::Accounts qw(printable);
use MigrateMail::Batch qw(spool_jobs run_jobs);
use MigrateMail::FS ();
use MigrateMail::Keep ();
use MigrateMail::Jobs ();
use MigrateMail::Mbox ();
use MigrateMail::Vpopmail qw(find_vpopmail_bin user_dir);

our $VERSION = '0.01';

use Exporter 'import';
our @EXPORT_OK = qw(main convert_one summary_line parse_size json_text);

my @OPTIONS = qw(domain|d=s dir=s map=s jobs|j=s maildir=s vpopmail-bin=s
  folders=s home=s homes=s report=s dry-run|n verbose|v quiet|q format=s keep-headers
  fsync=s verify repair timezone=s lock=s lock-timeout=i lock-stale=i max-message-size=s
  trust-paths vpopmail=s sync=s manifest=s verify-manifest=s old-pop3=s list-jobs jobs-file=s shard=s
  merge-reports retry-list=s progress! help|h man version);

# The options, for the test that the script's POD documents each one.
sub options { return @OPTIONS }

# Every line this script prints goes out through here: names in it
# (spool files, paths, mailboxes, folders, addresses) come from users,
# and a newline or a terminal escape in one must neither split an ERROR
# line nor reach the terminal.
sub say_line {
	my ($fh, $line) = @_;
	$line =~ s/\n\z//;
	print {$fh} printable($line), "\n";
	return;
}

# The script's whole run; returns the exit status (0, 1 a failure a retry
# may fix, 2 usage, 3 a failure that needs the admin first).
sub main {
	my (@args) = @_;
	my %opt;
	# a bare --sync is --sync=new-server-wins (an optional value would
	# take the next argument, an address or an mbox, for one)
	for (@args) {
		last if $_ eq '--';
		$_ = '--sync=new-server-wins' if $_ eq '--sync';
	}
	Getopt::Long::Configure(qw(bundling no_ignore_case));
	GetOptionsFromArray(\@args, \%opt, @OPTIONS) or return usage();
	return pod(1) if $opt{help};
	return pod(2) if $opt{man};
	if ($opt{version}) {
		print "mbox2vpopmail (MigrateMail) $MigrateMail::VERSION\n";
		return 0;
	}
	my $err = check_options(\%opt, \@args);
	return usage($err) if $err;
	return verify_manifest(\%opt) if defined $opt{'verify-manifest'};
	return merge_main(\%opt, @args) if $opt{'merge-reports'};

	# --homes: the tree of the users' old homes, root's as a --dir is
	if (defined $opt{homes}) {
		$opt{_homes} = eval {
			my $h = MigrateMail::FS::open_dir($opt{homes}, trust => $opt{'trust-paths'});
			MigrateMail::Batch::check_owner($h, 'homes directory') unless $opt{'trust-paths'};
			$h;
		};
		if (!$opt{_homes}) {
			say_line(\*STDERR, "ERROR: $@");
			return 3;
		}
	}
	my @jobs;
	if (defined $opt{dir}) {
		my $list = eval { spool_jobs($opt{dir}, $opt{domain}, $opt{map},
					     trust => $opt{'trust-paths'},
					     vpopmail => $opt{vpopmail}) };
		if (!$list) {
			say_line(\*STDERR, "ERROR: $@");
			return 3;
		}
		say_line(\*STDERR, "WARNING: $_") for @{ $list->{skipped} };
		@jobs = @{ $list->{jobs} };
	} elsif (defined $opt{'jobs-file'}) {
		my $list = eval { MigrateMail::Jobs::read_jobs_file($opt{'jobs-file'}) };
		if (!$list) {
			say_line(\*STDERR, "ERROR: $@");
			return 3;
		}
		@jobs = @$list;
	} else {
		my ($addr, $src) = classic_args(\%opt, @args);
		@jobs = ({ addr => $addr, src => $src // '-', name => $src // $addr // 'stdin' });
	}

	# a share of the list, the same on every host (MigrateMail::Jobs)
	@jobs = @{ MigrateMail::Jobs::shard_jobs(\@jobs, @opt{qw(_shard_k _shard_n)}) }
	  if defined $opt{shard};
	return list_jobs(\@jobs) if $opt{'list-jobs'};

	# a sync pass's plan looks at the Maildir: vpopmail is asked where
	if (!defined $opt{maildir} && (!$opt{'dry-run'} || $opt{sync})) {
		$opt{_bin} = eval { find_vpopmail_bin(bin => $opt{'vpopmail-bin'}) };
		if (!$opt{_bin}) {
			say_line(\*STDERR, "ERROR: $@");
			return 3;
		}
	}

	# the manifest: made before the jobs fork (they share it), whole
	# under its name once the run is done
	my $manifest;
	if (defined $opt{manifest}) {
		$manifest = eval { require MigrateMail::Sync; MigrateMail::Sync::open_manifest($opt{manifest}, trust => $opt{'trust-paths'}) };
		if (!$manifest) {
			say_line(\*STDERR, "ERROR: $@");
			return 3;
		}
		$opt{_manifest_fd} = $manifest->fd;
	}

	my $batch = defined $opt{dir} || defined $opt{'jobs-file'};
	$opt{_progress_one} = 1 if !$batch && ($opt{progress} // (!$opt{quiet} && -t STDERR));
	my $t0 = Time::HiRes::time();
	my @results = run_jobs(\@jobs, $opt{_jobs} // 1, sub { convert_one($_[0], \%opt) },
			       sub { report_one($_[0], \%opt) },
			       $batch && ($opt{progress} // (!$opt{quiet} && -t STDERR)));
	my $failed = grep { $_->{failed_mailbox} } @results;
	my $status = MigrateMail::Jobs::exit_status(map { $_->{failure} // 'admin' }
						    grep { $_->{failed_mailbox} } @results);
	if ($batch && !$opt{quiet}) {
		my %t = totals(\@results);
		printf "total: %d mailboxes, %d failed, %d messages, %d bytes, %d new, %d cur, "
		  . "%d skipped, %s%s%d failed messages, %.2f s\n", scalar @results, $failed,
		  @t{qw(messages bytes to_new to_cur skipped)},
		  $opt{sync} ? sync_counts(\%t, $opt{'dry-run'}) : '',
		  $t{repaired} ? "$t{repaired} repaired, " : '', $t{failed}, Time::HiRes::time() - $t0;
	}
	# the Dovecot setting that serves the UIDLs carried as file names
	my $kept = 0;
	$kept += $_->{keep}{pop3_kept} // 0 for grep { $_->{keep} } map { ($_, @{ $_->{folders} || [] }) } @results;
	say_line(\*STDOUT, MigrateMail::Keep::dovecot_hint($kept))
	  if $kept && $opt{'dry-run'} && !$opt{quiet};
	if ($manifest && !eval { $manifest->commit }) {
		say_line(\*STDERR, "ERROR: $@");
		$status ||= 1;
	}
	if (defined $opt{report}) {
		my $e = write_report($opt{report}, \@results, Time::HiRes::time() - $t0,
				     shard => $opt{shard}, status => $status);
		if ($e) {
			say_line(\*STDERR, "ERROR: $e");
			$status ||= 1;
		}
	}
	return $status;
}

# --list-jobs: the job list on standard output, largest first; a job
# that cannot run as it is (a name vpopmail refuses, files colliding)
# is an ERROR, left out of the list, and makes the status 3.
sub list_jobs {
	my ($jobs) = @_;
	my $bad = 0;
	for my $j (MigrateMail::Jobs::by_size_desc($jobs)) {
		if ($j->{error}) {
			say_line(\*STDERR, "ERROR: $j->{name}: $j->{error}");
			$bad++;
			next;
		}
		print MigrateMail::Jobs::job_line($j), "\n";
	}
	return $bad ? 3 : 0;
}

# --merge-reports FILE...: the totals of many runs' reports, the failed
# mailboxes, and with --retry-list a job list of them to run again.
sub merge_main {
	my ($opt, @files) = @_;
	my $jobs;
	if (defined $opt->{'jobs-file'}) {
		$jobs = eval { MigrateMail::Jobs::read_jobs_file($opt->{'jobs-file'}) };
		if (!$jobs) {
			say_line(\*STDERR, "ERROR: $@");
			return 3;
		}
	}
	my $m = eval { MigrateMail::Jobs::merge_reports(\@files, jobs => $jobs) };
	if (!$m) {
		say_line(\*STDERR, "ERROR: $@");
		return 3;
	}
	# a damaged report: said first; the others merged (its mailboxes
	# missing, so in the retry list), and the status 3
	say_line(\*STDERR, "ERROR: $_") for @{ $m->{bad} };
	my $t = $m->{totals};
	for my $r (@{ $m->{failed} }) {
		my ($first) = @{ $r->{errors} || [] };
		say_line(\*STDOUT, sprintf 'FAILED %s: %s (%s)%s', $r->{user} // $r->{mailbox},
			 $r->{source} // $r->{mailbox}, $r->{failure} // 'admin',
			 defined $first ? ": $first" : '');
	}
	say_line(\*STDOUT, sprintf 'MISSING %s: %s (no report has it)', $_->{addr}, $_->{src})
	  for @{ $m->{missing} };
	printf "total: %d mailboxes, %d failed, %s%d messages, %d bytes, %d new, %d cur, %d skipped, "
	  . "%s%d failed messages\n", $t->{mailboxes}, $t->{failed_mailboxes},
	  defined $t->{missing} ? "$t->{missing} missing, " : '', @{$t}{qw(messages bytes to_new to_cur skipped)},
	  $t->{repaired} ? "$t->{repaired} repaired, " : '', $t->{failed};
	if (defined $opt->{'retry-list'}) {
		my @retry = ((map { MigrateMail::Jobs::parse_job_line($_->{job}, 'report') }
			      grep { defined $_->{job} } @{ $m->{failed} }), @{ $m->{missing} });
		my $text = join '', map { MigrateMail::Jobs::job_line($_) . "\n" }
		  MigrateMail::Jobs::by_size_desc(\@retry);
		my $ok = eval { MigrateMail::FS::write_file($opt->{'retry-list'}, $text); 1 };
		if (!$ok) {
			say_line(\*STDERR, "ERROR: cannot write retry list $opt->{'retry-list'}: " . ($@ =~ s/\n\z//r));
			return 1;
		}
	}
	return MigrateMail::Jobs::exit_status((map { $_->{failure} // 'admin' } @{ $m->{failed} }),
					      @{ $m->{missing} } ? 'retry' : (), @{ $m->{bad} } ? 'admin' : ());
}

# --verify-manifest FILE: the Maildirs of an earlier pass against its
# manifest, without the mbox; exit 0 or 1 as --verify.
sub verify_manifest {
	my ($opt) = @_;
	my $t0 = Time::HiRes::time();
	my $path = $opt->{'verify-manifest'};
	my $r = eval { require MigrateMail::Sync; MigrateMail::Sync::verify_manifest($path, maildir => $opt->{maildir},
							   trust => $opt->{'trust-paths'}) };
	if (!$r) {
		say_line(\*STDERR, 'ERROR: ' . ($@ =~ s/\n\z//r));
		return 1;
	}
	say_line(\*STDERR, $_->{message}) for @{ $r->{errors} };
	say_line(\*STDOUT, sprintf '%s: %d files, %d verified, %d missing, %d different, %.2f s%s', $path,
		 @{$r}{qw(files verified missing different)}, Time::HiRes::time() - $t0,
		 @{ $r->{errors} } ? ', FAILED' : '') unless $opt->{quiet};
	return @{ $r->{errors} } ? 1 : 0;
}

my $ADDR = qr/\A[^\s\@\/]+\@[^\s\@\/]+\z/;

# user@domain and the mbox (undef: stdin); with --maildir the address is
# optional (an existing file named like one is the mbox).
sub classic_args {
	my ($opt, @args) = @_;
	my $addr;
	$addr = shift @args if @args && $args[0] =~ $ADDR
	  && !(defined $opt->{maildir} && @args == 1 && -e $args[0]);
	return ($addr, @args);
}

sub check_options {
	my ($opt, $args) = @_;
	if (defined $opt->{'verify-manifest'}) {
		my @not = grep { defined $opt->{$_} } qw(dir domain map folders sync manifest dry-run verify repair jobs
		  jobs-file list-jobs shard merge-reports);
		return "--verify-manifest checks a Maildir against a manifest, without an mbox: not with --$not[0]" if @not;
		return '--verify-manifest takes no mbox or address (give --maildir DIR to check the lines against it)'
		  if @$args;
		return undef;
	}
	if ($opt->{'merge-reports'}) {
		return '--merge-reports needs the report files' unless @$args;
		my @other = grep { defined $opt->{$_} } qw(dir maildir folders shard report manifest list-jobs);
		return "--merge-reports cannot be used with --$other[0]" if @other;
		return undef;
	}
	return '--retry-list goes with --merge-reports' if defined $opt->{'retry-list'};
	return '--dir and --jobs-file exclude each other' if defined $opt->{dir} && defined $opt->{'jobs-file'};
	return '--list-jobs needs --dir (or --jobs-file)'
	  if $opt->{'list-jobs'} && !defined $opt->{dir} && !defined $opt->{'jobs-file'};
	if (defined $opt->{shard}) {
		return '--shard needs --dir or --jobs-file' unless defined $opt->{dir} || defined $opt->{'jobs-file'};
		@$opt{qw(_shard_k _shard_n)} = MigrateMail::Jobs::parse_shard($opt->{shard})
		  or return "bad --shard '$opt->{shard}' (K/N with 1 <= K <= N, e.g. --shard \$((SLURM_ARRAY_TASK_ID))/4)";
	}
	if (defined $opt->{dir} || defined $opt->{'jobs-file'}) {
		my $o = defined $opt->{dir} ? '--dir' : '--jobs-file';
		return '--dir needs --domain (or a --map naming full addresses)'
		  if defined $opt->{dir} && !defined $opt->{domain} && !defined $opt->{map};
		return "$o takes no other arguments" if @$args;
		return "--maildir cannot be used with $o" if defined $opt->{maildir};
		return "--folders cannot be used with $o (give --homes DIR: each user's old home brings its mail/)"
		  if defined $opt->{folders};
		return "--home is for one mailbox: with $o, give --homes DIR (DIR/USER the home of each)"
		  if defined $opt->{home};
		return "--homes $opt->{homes} is not a directory" if defined $opt->{homes} && !-d $opt->{homes};
	} else {
		return '--homes goes with --dir or --jobs-file (for one mailbox, --home DIR)' if defined $opt->{homes};
		return "--home $opt->{home} is not a directory" if defined $opt->{home} && !-d $opt->{home};
		return "--folders $opt->{folders} is not a directory"
		  if defined $opt->{folders} && !-d $opt->{folders};
		my ($addr, @rest) = classic_args($opt, @$args);
		return 'give user@domain (or --maildir DIR) and optionally the mbox file'
		  if !defined $addr && !defined $opt->{maildir};
		return "'$rest[0]' is not an address user\@domain"
		  if !defined $addr && !defined $opt->{maildir};
		return 'too many arguments' if @rest > 1;
	}
	return "unknown --vpopmail '$opt->{vpopmail}' (5.4 or 5.6)"
	  if defined $opt->{vpopmail} && !MigrateMail::Accounts::vpopmail_limits($opt->{vpopmail});
	if (defined $opt->{jobs}) {
		return "bad --jobs '$opt->{jobs}' (a number, 1 or more, or auto)"
		  unless $opt->{jobs} =~ /\A(?:[0-9]+|auto)\z/ && $opt->{jobs} ne '0' && $opt->{jobs} !~ /\A0+\z/;
		$opt->{_jobs} = $opt->{jobs} eq 'auto' ? MigrateMail::Jobs::auto_jobs($opt->{fsync}) : 0 + $opt->{jobs};
	}
	for ([ format => qr/\A(?:auto|mboxo|mboxrd|mboxcl|mboxcl2|mmdf)\z/ ],
	     [ fsync => qr/\A(?:auto|batch|each|none)\z/ ],
	     [ sync => qr/\A(?:new-server-wins|source-wins)\z/ ],
	     [ 'old-pop3' => qr/\A(?:auto|uw|dovecot|qpopper|gnu|xuidl|none)\z/ ]) {
		my ($k, $re) = @$_;
		return "bad --$k '$opt->{$k}'" if defined $opt->{$k} && $opt->{$k} !~ $re;
	}
	if (defined $opt->{lock}) {
		my $e = MigrateMail::_lock_plan($opt->{lock});
		return "bad --lock: $e" if defined $e;
	}
	for my $k (qw(lock-timeout lock-stale)) {
		return "--$k must be 0 or more" if defined $opt->{$k} && $opt->{$k} < 0;
	}
	return '--quiet and --verbose exclude each other' if $opt->{quiet} && $opt->{verbose};
	return '--manifest says what a pass did: not with --dry-run' if defined $opt->{manifest} && $opt->{'dry-run'};
	if (defined $opt->{'max-message-size'}) {
		my $n = parse_size($opt->{'max-message-size'});
		return "bad --max-message-size '$opt->{'max-message-size'}' (bytes, or a number with K, M or G)"
		  unless $n;
		$opt->{_max_size} = $n;
	}
	return '--repair works with --verify (a plain re-run already repairs what sizes show)'
	  if $opt->{repair} && !$opt->{verify};
	return undef;
}

# "1000", "64K", "10M", "2G" (binary multiples) as bytes; undef unless
# it is a whole number of 1 byte or more.
sub parse_size {
	my ($s) = @_;
	my ($n, $unit) = ($s // '') =~ /\A([0-9]+)([KMG]?)\z/i or return undef;
	$n *= { '' => 1, K => 1 << 10, M => 1 << 20, G => 1 << 30 }->{ uc $unit };
	return $n >= 1 ? $n : undef;
}

# One mailbox: find its Maildir, convert (or count, with --dry-run).
sub convert_one {
	my ($job, $opt) = @_;
	my %r = (mailbox => $job->{name}, user => $job->{addr}, source => $job->{src},
		 defined $job->{size} ? (size => $job->{size}) : (), job_of($job));
	my $t0 = Time::HiRes::time();
	my $maildir = $opt->{maildir};
	if (!defined $maildir && (!$opt->{'dry-run'} || $opt->{sync})) {
		my $dir = eval { user_dir($opt->{_bin}, $job->{addr}) };
		if (!defined $dir) {
			chomp(my $e = $@);
			$r{errors} = ["ERROR: $job->{name}: $e"];
			$r{failed_mailbox} = 1;
			$r{failure} = 'admin';
			return \%r;
		}
		$maildir = "$dir/Maildir";
	}
	$r{maildir} = $maildir;
	my $home = defined $opt->{home} || $opt->{_homes} ? old_home($job, $maildir, $opt) : undef;
	# nothing without the home: the spool alone would take the UID lists
	return { %r, errors => $home->{errors}, failed_mailbox => 1, failure => 'admin' }
	  if $home && @{ $home->{errors} };
	if (defined $opt->{folders} || $home) {
		# UW-IMAP's INBOX was ~/mbox: its messages keep their UIDs, the
		# spool's mail (never numbered by UW) is numbered after them by
		# the new server, being in no UID list. The spool goes first: a
		# sync pass after a UW session moved spool mail into ~/mbox
		# removes the spool's copies before ~/mbox's pass delivers them
		# under their UIDL names (the other way round, ~/mbox's pass
		# would take the spool's files for its messages, then the
		# spool's pass remove them).
		my $mbox = $home && $home->{mbox};
		# with a folder tree or a home, the inbox comes only from a file given
		my $src = $job->{src} eq '-' ? '/dev/null' : $job;
		my $inbox = convert_mailbox($src, $maildir, $job->{name}, $opt,
					    $mbox ? (ignore_uids => 1, old_pop3 => 'none') : ());
		my @parts;
		if ($mbox) {
			my $t1 = Time::HiRes::time();
			# UW's ipop3d served it (Dovecot's mbox_snarf does the same
			# moves: --old-pop3 dovecot then)
			my $m = convert_mailbox($mbox, $maildir, $mbox->{src}, $opt,
						defined $opt->{'old-pop3'} ? () : (old_pop3 => 'uw'));
			@{$m}{qw(mailbox user source maildir folder)} = ($mbox->{src}, ($job->{addr} // $maildir) . '/mbox',
									 $mbox->{src}, $maildir, 'INBOX');
			$m->{elapsed} = Time::HiRes::time() - $t1;
			push @parts, $m;
		}
		$inbox->{$_} = $r{$_} for grep { exists $r{$_} } qw(mailbox user source maildir size job);
		if ($home) {
			unshift @{ $inbox->{$_} }, @{ $home->{$_} } for qw(notices warnings errors);
			$inbox->{failed_mailbox} ||= @{ $home->{errors} } ? 1 : 0;
		}
		push @{ $inbox->{notices} }, sprintf 'WARNING: %s: %d messages carry UID headers (X-UID, X-IMAP, '
		  . 'X-IMAPbase) although UW-IMAP served %s as INBOX and never numbered the spool\'s mail: '
		  . 'taken as not what clients saw; they get new UIDs and UIDLs after those of %s',
		  $job->{name}, $inbox->{uids_ignored}, $mbox->{src}, $mbox->{src}
		  if $mbox && $inbox->{uids_ignored};
		my $tree = defined $opt->{folders} ? $opt->{folders} : $home ? $home->{mail} : undef;
		$inbox->{folders} = [ @parts, defined $tree ? @{ convert_folders($job, $maildir, $opt, $tree, $home) } : () ];
		$inbox->{failed_mailbox} ||= grep { $_->{failed_mailbox} } @{ $inbox->{folders} };
		$inbox->{failure} = worst(map { $_->{failed_mailbox} ? $_->{failure} // 'admin' : () }
					  $inbox, @{ $inbox->{folders} });
		check_quota($inbox, $opt) unless $opt->{'dry-run'};
		$inbox->{elapsed} = Time::HiRes::time() - $t0;
		return $inbox;
	}
	my $res = convert_mailbox($job, $maildir, $job->{name}, $opt);
	$res->{$_} = $r{$_} for grep { exists $r{$_} } qw(mailbox user source maildir size job);
	check_quota($res, $opt) unless $opt->{'dry-run'};
	$res->{elapsed} = Time::HiRes::time() - $t0;
	return $res;
}

# The user's quota in bytes: what vuserinfo -q says (vpopmail's own
# record) for a vpopmail user, else the first line of maildirsize
# ("NS,MC") of a --maildir; undef for none.
sub user_quota {
	my ($md, $addr, $opt) = @_;
	return scalar eval { MigrateMail::Vpopmail::user_quota($opt->{_bin}, $addr) }
	  if defined $addr && defined $opt->{_bin} && !defined $opt->{maildir};
	my $def = eval { $md->read_file('maildirsize', 1 << 20) };
	return undef unless defined $def;
	my ($line) = split /\n/, $def;
	return $line =~ /(?:\A|,)([0-9]+)S(?:,|\z)/ ? 0 + $1 : undef;
}

# After a mailbox (and its folders): a Maildir that now holds more than
# the user's quota is a WARNING (vpopmail bounces the user's new mail
# from then on); the result gets quota and maildir_size (for a user
# with a quota).
sub check_quota {
	my ($r, $opt) = @_;
	return if $r->{failed_mailbox} && !$r->{delivered};
	my $md = eval { MigrateMail::FS::open_dir($r->{maildir}, trust => $opt->{'trust-paths'}) } or return;
	my $quota = user_quota($md, $r->{user}, $opt);
	return unless defined $quota;   # no quota: no need to count
	my ($bytes) = eval { $md->quota_usage };
	return unless defined $bytes;
	$r->{maildir_size} = $bytes;
	$r->{quota} = $quota;
	push @{ $r->{notices} }, sprintf 'WARNING: %s: the Maildir holds %d bytes, over the quota of '
	  . '%d bytes: vpopmail will bounce new mail for this user until the quota is raised '
	  . '(vmoduser -q)', $r->{user} // $r->{maildir}, $bytes, $quota
	  if defined $quota && $quota > 0 && $bytes > $quota;
	return;
}

# The user's home on the old server (--home DIR, or --homes DIR/USER,
# USER the spool file's name: the old login), held open as a
# MigrateMail::FS::Dir, with its ~/mbox and ~/mail (see
# MigrateMail::Folders::old_home). Returns { home, mbox, mail, notices,
# warnings, errors }: a --home that cannot be used is an error of the
# mailbox; a user without a home under --homes a warning (the spool
# alone is the INBOX then, as UW served it).
sub old_home {
	my ($job, $maildir, $opt) = @_;
	require MigrateMail::Folders;
	my $trust = $opt->{'trust-paths'};
	# the Maildir's owner (before the first run: its parent's, whose
	# owner the new Maildir gets)
	my $md_uid = !defined $maildir ? undef
	  : eval { MigrateMail::FS::open_dir($maildir, trust => $trust)->uid }
	  // eval { MigrateMail::FS::open_dir($maildir =~ m{\A(.*)/[^/]+/*\z} ? (length $1 ? $1 : '/') : '.',
					 trust => $trust)->uid };
	my %r = (notices => [], warnings => [], errors => []);
	if (defined $opt->{home}) {
		$r{home} = eval {
			my $h = MigrateMail::FS::open_dir($opt->{home}, trust => $trust);
			MigrateMail::Batch::check_owner($h, 'home directory', $md_uid) unless $trust;
			$h;
		};
		if (!$r{home}) {
			push @{ $r{errors} }, 'ERROR: ' . ($@ =~ s/\n\z//r);
			return \%r;
		}
	} else {
		my $user = defined $job->{file} ? $job->{file} : ($job->{src} =~ m{([^/]+)\z})[0];
		my $top = $opt->{_homes};
		my ($e) = defined $user && $user !~ /\A\./ ? grep { $_->[0] eq $user } $top->list : ();
		if (!$e) {
			push @{ $r{warnings} }, sprintf 'WARNING: %s: no home %s/%s: the spool alone is the INBOX',
			  $job->{name}, $top->path, $user // '?';
			return \%r;
		}
		$r{home} = $e->[1] eq 'd' ? eval { $top->subdir($user) } : undef;
		if (!$r{home}) {
			push @{ $r{notices} }, sprintf 'WARNING: %s/%s: %s: the spool alone is the INBOX', $top->path, $user,
			  $e->[1] eq 'd' ? 'cannot read: ' . ($@ =~ s/\n\z//r) : 'not a directory';
			return \%r;
		}
	}
	my $h = MigrateMail::Folders::old_home($r{home}, trust => $trust, owners => [ $md_uid // () ]);
	$r{$_} = $h->{$_} for qw(mbox mail);
	push @{ $r{notices} }, map { "WARNING: $_" } @{ $h->{notices} };
	push @{ $r{errors} }, map { "ERROR: $_" } @{ $h->{errors} };
	return \%r;
}

# Every mbox of the --folders tree into its Maildir++ folder, then the
# subscriptions. The tree and the Maildir are held open as directory
# descriptors (MigrateMail::FS): nothing below them is reached by a path
# that the user could swap while we work.
sub convert_folders {
	my ($job, $maildir, $opt, $tree, $home) = @_;
	$tree //= $opt->{folders};
	my $tname = ref $tree ? $tree->path : $tree;
	my $who = $job->{addr} // $maildir;
	my $trust = $opt->{'trust-paths'};
	my ($md, $list);
	# loaded here, not at start-up: a plain run has no folders
	require MigrateMail::Folders;
	my $ok = eval {
		$md = MigrateMail::FS::open_dir($maildir, trust => $trust) unless $opt->{'dry-run'};
		my $top = ref $tree ? $tree : MigrateMail::FS::open_dir($tree, trust => $trust);
		# a home's mail/ is the user's (the home was checked, and the
		# --homes tree is root's)
		MigrateMail::Batch::check_owner($top, 'folder directory', $md ? $md->uid : ())
		  unless $trust || ref $tree;
		$list = MigrateMail::Folders::folder_jobs($top, trust => $trust,
							  owners => [ $md ? $md->uid : () ]);
		1;
	};
	if (!$ok) {
		chomp(my $e = $@);
		return [ { mailbox => $tname, user => $who, source => $tname,
			   errors => [ "ERROR: $e" ], failed_mailbox => 1 } ];
	}
	my @res;
	for my $f (@{ $list->{jobs} }) {
		my $t0 = Time::HiRes::time();
		my $fdir = $opt->{'dry-run'} ? ($maildir // 'Maildir') . "/.$f->{name}" : "$maildir/.$f->{name}";
		my $made = $opt->{'dry-run'} || eval { MigrateMail::Folders::make_folder($md, $f->{name}) };
		my $r = $made ? convert_mailbox($f, $md ? ".$f->{name}" : $fdir, $f->{src}, $opt, at => $md)
		  : { errors => [ "ERROR: $f->{src}: " . ($@ =~ s/\n\z//r) ], failed_mailbox => 1 };
		@{$r}{qw(mailbox user source maildir folder)} = ($f->{src}, "$who/$f->{path}", $f->{src},
								 $fdir, $f->{name});
		$r->{elapsed} = Time::HiRes::time() - $t0;
		push @res, $r;
	}
	my %by_path = map { ($_->{path} => $_->{name}) } @{ $list->{jobs} };
	my ($subs, $from) = MigrateMail::Folders::read_subscriptions($list->{top}, $home ? (home => $home->{home}) : ());
	my @names;
	for my $s (@$subs) {
		if (defined $by_path{$s}) {
			push @names, $by_path{$s};
		} else {
			push @{ $res[0]{notices} }, "WARNING: $from: subscribed folder '$s' not found, not subscribed"
			  if @res;
		}
	}
	if (@names && !$opt->{'dry-run'}) {
		eval { MigrateMail::Folders::write_subscriptions($md, @names); 1 }
		  or push @{ $res[0]{errors} }, "ERROR: $maildir: $@" =~ s/\n\z//r;
	}
	if (@res) {
		push @{ $res[0]{notices} }, map { "WARNING: $_" } @{ $list->{skipped} };
		$_->{failed_mailbox} = @{ $_->{errors} || [] } ? 1 : 0 for @res;
	}
	return \@res;
}

# The mbox of a job as mbox_to_maildir takes it: a path the admin gave
# (opened there), stdin, or a handle opened through the directory
# descriptor of a --dir or --folders listing, with its path for locking.
sub _job_source {
	my ($src, $opt) = @_;
	return (\*STDIN) if !ref $src && $src eq '-';
	if (!ref $src) {
		my ($fh, undef, undef, $real) = MigrateMail::FS::open_input($src, trust => $opt->{'trust-paths'});
		return ($fh, lock_path => $real);
	}
	return _job_source($src->{src}, $opt) unless $src->{dir};
	my ($fh) = $src->{dir}->open_file($src->{file});
	return ($fh, lock_path => $src->{src});
}

# One mbox into one Maildir (or counted, with --dry-run). $srcname: a
# path, '-' or a job (see _job_source); %extra: more options of
# mbox_to_maildir (at => a folder's Maildir).
sub convert_mailbox {
	my ($srcname, $maildir, $name, $opt, %extra) = @_;
	my %r;
	my ($src, %from) = eval { _job_source($srcname, $opt) };
	if (!defined $src) {
		chomp(my $e = $@);
		return { errors => [ "ERROR: $name: $e" ], warnings => [], failed_mailbox => 1, failure => 'admin' };
	}
	my %o = (name => $name, %from, %extra);
	$o{$_} = $opt->{$_} for grep { defined $opt->{$_} } qw(format timezone fsync lock verify repair sync);
	$o{keep_headers} = 1 if $opt->{'keep-headers'};
	$o{old_pop3} = $opt->{'old-pop3'} if defined $opt->{'old-pop3'} && !defined $extra{old_pop3};
	$o{trust_paths} = 1 if $opt->{'trust-paths'};
	$o{lock_timeout} = $opt->{'lock-timeout'} if defined $opt->{'lock-timeout'};
	$o{lock_stale} = $opt->{'lock-stale'} if defined $opt->{'lock-stale'};
	$o{max_message_size} = $opt->{_max_size} if defined $opt->{_max_size};
	$o{manifest_fd} = $opt->{_manifest_fd} if defined $opt->{_manifest_fd};
	# one mailbox (not a batch, which has its own line) on a terminal
	$o{progress_fd} = fileno STDERR if $opt->{_progress_one};
	my $plan = $opt->{'dry-run'} && $opt->{sync};
	delete @o{qw(at lock_path trust_paths repair sync)} if $opt->{'dry-run'} && !$plan;
	delete @o{qw(verify repair)} if $plan;
	my $st = !$opt->{'dry-run'} ? mbox_to_maildir($src, $maildir, %o)
	  : $plan && (defined $extra{at} || -d $maildir) ? mbox_to_maildir($src, $maildir, %o, dry_run => 1)
	  : dry_run($src, \%o, $maildir);
	# the plan for a Maildir not made yet: every message added
	$st->{sync} //= { to_add => $st->{to_new} + $st->{to_cur}, map { $_ => 0 } qw(reflagged removed conflicts changed kept_deleted) }
	  if $plan && !$st->{error};
	$r{$_} = $st->{$_} for grep { exists $st->{$_} } qw(messages bytes to_new to_cur
	  skipped_pseudo skipped_present failed delivered verified missing mismatched
	  repaired uidvalidity uid_last format format_reason fsync durability verify_method spilled spill_peak sync keep
	  keywords_kept keywords_dropped keywords_messages in_place uids_ignored);
	# --fsync batch where syncfs() does not make it durable: allowed, said
	push @{ $r{notices} }, "WARNING: $name: durability $st->{durability}: a crash may lose "
	  . "messages reported delivered (without --fsync, mode each is used there)"
	  if ($st->{fsync} // '') eq 'batch' && !$st->{durable};
	$r{skipped} = ($st->{skipped_pseudo} // 0) + ($st->{skipped_present} // 0);
	$r{errors} = [ map { $_->{message} } @{ $st->{errors} || [] } ];
	# the error that stopped the run may be one of the listed ones
	unshift @{ $r{errors} }, $st->{error}
	  if $st->{error} && !grep { $_ eq $st->{error} } @{ $r{errors} };
	# about the target, not the input (delivering by link where
	# RENAME_NOREPLACE is missing): said without -v, once per Maildir
	# and what both servers changed, in a sync pass
	my %notice = (filesystem => 1, conflict => 1, changed => 1);
	my @fs = grep { $notice{ $_->{code} // '' } } @{ $st->{warnings} || [] };
	push @{ $r{notices} }, map { $_->{message} } @fs if @fs;
	$r{warnings} = [ map { $_->{message} }
			 grep { !$notice{ $_->{code} // '' } } @{ $st->{warnings} || [] } ];
	$r{failed_mailbox} = @{ $r{errors} } ? 1 : 0;
	# what a retry can do about it (MigrateMail::Jobs::classify); an
	# error whose class is not known waits for the admin
	$r{failure} = worst((map { $_->{class} // 'admin' } grep { defined } @{ $st->{errors} || [] }, $st->{fatal}),
			    $st->{error} && !$st->{fatal} ? 'admin' : ())
	  if $r{failed_mailbox};
	$r{failure} ||= 'admin' if $r{failed_mailbox};
	$r{verify} = 1 if $opt->{verify} && !$opt->{'dry-run'};
	$r{sync_mode} = $opt->{sync} if defined $opt->{sync};
	return \%r;
}

# The job line of a mailbox (MigrateMail::Jobs::job_line) for its
# result: what a --retry-list of --merge-reports is made of, byte for
# byte whatever the report's JSON makes of the names.
sub job_of {
	my ($job) = @_;
	return () unless defined $job->{addr} && defined $job->{src} && !ref $job->{src} && $job->{src} ne '-';
	return (job => MigrateMail::Jobs::job_line($job));
}

# The worse of the failure classes: 'admin' over 'retry'; undef for none.
sub worst {
	my %c = map { defined $_ ? ($_ => 1) : () } @_;
	return $c{admin} ? 'admin' : $c{retry} ? 'retry' : undef;
}

# --dry-run: read the mbox the same way, write nothing; a message over
# the size limit is the ERROR the real run would give.
sub dry_run {
	my ($src, $o, $maildir) = @_;
	my $max = $o->{max_message_size} // 2 << 30;
	my %st = (messages => 0, bytes => 0, to_new => 0, to_cur => 0, skipped_pseudo => 0,
		  skipped_present => 0, failed => 0, errors => [], warnings => []);
	my %mo = map { $_ => $o->{$_} } grep { defined $o->{$_} } qw(format timezone name keep_headers);
	# what the run would refuse (MigrateMail::Convert)
	require MigrateMail::Convert;
	my $why = MigrateMail::Convert::not_an_mbox($src, sysseek($src, 0, 1));
	if (defined $why) {
		$st{error} = "ERROR: " . ($o->{name} // 'stdin') . ": $why";
		return \%st;
	}
	my @kw;
	my $valid;
	my $ok = eval {
		my $mbox = MigrateMail::Mbox->new($src, %mo);
		# a pipe, as far as the reader's window holds it (a run refuses it)
		die 'ERROR: ' . ($o->{name} // 'stdin') . ": $why\n" if defined($why = $mbox->not_an_mbox);
		# the forecast: what clients keep (mm_oldpop3.c, as a run counts it)
		my $keep = MigrateMail::Keep->new($o->{old_pop3} // 'auto');
		# the keywords, against the Maildir's dovecot-keywords if it
		# has one (read only; 26 names per Maildir, as a run counts)
		my $kd = defined $maildir && -d $maildir
		  ? eval { MigrateMail::FS::open_dir($maildir, trust => $o->{trust_paths}) } : undef;
		my $kwc = MigrateMail::Keywords->new($kd ? $kd->fd : -1);
		while (my $m = $mbox->next) {
			my ($uid, $v) = @{$m}{qw(uid uidvalidity)};
			# a UW user's spool beside ~/mbox: its UID headers are
			# not what clients saw (mm_convert.c, ignore_uids)
			if ($o->{ignore_uids} && (defined $uid || defined $v)) {
				$st{uids_ignored}++;
				$uid = $v = undef;
			}
			my (undef, $w) = $keep->add($o->{ignore_uids} ? { %$m, uid => $uid, uidvalidity => $v } : $m);
			$valid ||= defined $v;
			push @kw, { code => 'uidl', message => sprintf 'WARNING: %s: message %d, offset %s: %s',
				    $o->{name}, $m->number, $m->offset, $w } if defined $w;
			$st{messages}++;
			if ($m->is_pseudo) {
				$st{skipped_pseudo}++;
				next;
			}
			if ($m->size > $max) {
				$st{failed}++;
				push @{ $st{errors} }, { class => 'admin', message => sprintf
				  'ERROR: %s: message %d, offset %s: larger than the maximum message size of %s bytes '
				  . '(--max-message-size): would not be delivered', $o->{name}, $m->number, $m->offset, $max };
				next;
			}
			$st{bytes} += $m->size;
			my ($letters, $dropped) = (0, 0);
			($letters, $dropped) = $kwc->add($m->{keywords}) if defined $m->{keywords} && length $m->{keywords};
			push @kw, { code => 'keywords', message => sprintf "WARNING: %s: message %d, offset %s: %d keyword(s) "
				    . "of X-Keywords '%.80s' dropped: not an IMAP atom, or beyond the 26 a Dovecot Maildir holds",
				    $o->{name}, $m->number, $m->offset, $dropped, $m->{keywords} } if $dropped;
			# as a run places it: a message whose UID is kept goes to
			# cur/ (Courier keeps the UIDs of cur/ only; mm_convert.c),
			# and one with keywords (their letters are in the info)
			$st{ $m->in_cur || (defined $uid && $valid) || $letters ? 'to_cur' : 'to_new' }++;
		}
		$st{warnings} = [ $mbox->warnings, @kw ];
		$st{keep} = $keep->result;
		%st = (%st, %{ $kwc->result });
		$st{format} = $mbox->format;
		$st{format_reason} = $mbox->format_reason;
		1;
	};
	($st{error} = $@) =~ s/(?: at \S+ line \d+\.?)?\n\z// unless $ok;
	return \%st;
}

sub summary_line {
	my ($r, $dry, $verbose) = @_;
	my $sy = $r->{sync_mode} && $r->{sync} ? $r->{sync} : undef;
	return sprintf "%s%s: %d messages, %d bytes, %d new, %d cur, %d skipped, %s%s%d failed, %d warnings, %s%s%s%s%.2f s%s",
	  $dry ? '(dry run) ' : '', $r->{user} // $r->{mailbox}, $r->{messages} // 0,
	  $r->{bytes} // 0, $r->{to_new} // 0, $r->{to_cur} // 0, $r->{skipped} // 0,
	  $sy ? sync_counts($sy, $dry) : '',
	  $r->{repaired} ? "$r->{repaired} repaired, " : '', $r->{failed} // 0, scalar @{ $r->{warnings} || [] },
	  defined $r->{verified} && $r->{verify}
	    ? "$r->{verified} verified" . (($r->{verify_method} // '') eq 'digest' ? ' by digest, ' : ', ') : '',
	  $verbose && defined $r->{format} ? "format $r->{format} (" . ($r->{format_reason} // '') . '), ' : '',
	  $verbose && defined $r->{durability} ? "durability $r->{durability}, " : '',
	  $verbose && $r->{spilled} ? "$r->{spilled} bytes of the pipe spilled to disk "
	    . "(at most $r->{spill_peak} at once) to check Content-Length, " : '',
	  $r->{elapsed} // 0, $r->{failed_mailbox} ? ', FAILED' : '';
}

# What a sync pass did (or, in a plan, would do), for a summary line
# and the total line: "[N to add, ]N re-flagged, N removed, N
# conflicts, [N changed, ]".
sub sync_counts {
	my ($sy, $dry) = @_;
	return sprintf '%s%d re-flagged, %d removed, %d conflicts, %s',
	  $dry ? ($sy->{to_add} // 0) . ' to add, ' : '', map({ $sy->{$_} // 0 } qw(reflagged removed conflicts)),
	  $sy->{changed} ? "$sy->{changed} changed, " : '';
}

# Called in the parent as each mailbox finishes.
sub report_one {
	my ($r, $opt) = @_;
	say_line(\*STDERR, $_) for @{ $r->{errors} || [] };
	# what was left out or not found: always said, unless --quiet
	say_line(\*STDERR, $_) for $opt->{quiet} ? () : @{ $r->{notices} || [] };
	if ($opt->{verbose}) {
		say_line(\*STDERR, $_) for @{ $r->{warnings} || [] };
	}
	say_line(\*STDOUT, summary_line($r, $opt->{"dry-run"}, $opt->{verbose})) unless $opt->{quiet};
	# what POP3 and IMAP clients will keep: the forecast, before cut-over
	say_line(\*STDOUT, MigrateMail::Keep::forecast_line($r->{user} // $r->{mailbox}, $r->{keep}))
	  if $r->{keep} && !$opt->{quiet} && $opt->{'dry-run'};
	say_line(\*STDOUT, MigrateMail::Keep::keywords_line($r->{user} // $r->{mailbox}, $r))
	  if ($r->{keywords_messages} || $r->{keywords_dropped}) && !$opt->{quiet} && $opt->{'dry-run'};
	report_one($_, $opt) for @{ $r->{folders} || [] };
	# flushed by turning autoflush on and back: STDOUT->flush would load
	# IO::File and what it uses (about 3 ms of a plain run's start-up)
	my $was = select STDOUT;
	my $af = $|;
	$| = 1;
	$| = $af;
	select $was;
}

# Counts summed over the mailboxes and their folders.
sub totals {
	my ($results) = @_;
	my %t = map { $_ => 0 } qw(messages bytes to_new to_cur skipped repaired failed);
	my @sync = qw(to_add reflagged removed conflicts changed kept_deleted);
	for my $r (map { ($_, @{ $_->{folders} || [] }) } @$results) {
		$t{$_} += $r->{$_} // 0 for keys %t;
		next unless $r->{sync_mode} && $r->{sync};
		$t{$_} += $r->{sync}{$_} // 0 for @sync;
	}
	return %t;
}

sub write_report {
	my ($path, $results, $elapsed, %o) = @_;
	my %t = (totals($results), mailboxes => scalar @$results,
		 failed_mailboxes => scalar(grep { $_->{failed_mailbox} } @$results),
		 elapsed => $elapsed);
	# finished: which of two reports of one mailbox is the later, for
	# --merge-reports
	# JSON::PP and Encode (json_text) are loaded only for a report: with
	# IO::Select they were a third of the start-up of a run without one
	require JSON::PP;
	my $json = JSON::PP->new->utf8->canonical->pretty->encode(json_text({
		version => $MigrateMail::VERSION, totals => \%t, mailboxes => $results,
		finished => Time::HiRes::time(), exit => $o{status} // 0,
		defined $o{shard} ? (shard => $o{shard}) : () }));
	# never through a link planted where the report goes
	eval { MigrateMail::FS::write_file($path, $json); 1 }
	  or return "cannot write report $path: " . ($@ =~ s/\n\z//r);
	return undef;
}

# A copy of a report's data whose strings JSON can carry as UTF-8 text:
# a string that is valid UTF-8 (file names on a UTF-8 system, ASCII) is
# decoded and kept as it is; in one that is not, each byte that is not
# part of a valid UTF-8 sequence becomes the four characters \xNN
# (lowercase hex), as printable() shows it.
sub json_text {
	my ($v) = @_;
	return { map { (json_text($_) => json_text($v->{$_})) } keys %$v } if ref $v eq 'HASH';
	return [ map { json_text($_) } @$v ] if ref $v eq 'ARRAY';
	return $v if ref $v || !defined $v;
	# look at a copy: matching would make a number a string in JSON
	my $s = $v;
	return $v if $s !~ /[^\x00-\x7f]/;
	# names are bytes, even when a worker's JSON brought them back as
	# (upgraded) characters; real wide characters are text already
	return $v unless utf8::downgrade($s, 1);
	require Encode;
	return Encode::decode('UTF-8', $s, sub { sprintf '\\x%02x', $_[0] });
}

sub usage {
	my ($err) = @_;
	say_line(\*STDERR, "ERROR: $err") if $err;
	require Pod::Usage;
	Pod::Usage::pod2usage(-exitval => 'NOEXIT', -verbose => 0, -output => \*STDERR,
			      -input => _script_pod());
	return 2;
}

sub pod {
	my ($verbose) = @_;
	require Pod::Usage;
	Pod::Usage::pod2usage(-exitval => 'NOEXIT', -verbose => $verbose, -output => \*STDOUT,
			      -input => _script_pod());
	return 0;
}

sub _script_pod { return $0 =~ /mbox2vpopmail$/ ? $0 : $INC{'MigrateMail/Mbox2Vpopmail.pm'} }

1;
__END__

=head1 NAME

MigrateMail::Mbox2Vpopmail - the logic behind the mbox2vpopmail script

=head1 SYNOPSIS

  use MigrateMail::Mbox2Vpopmail qw(main);
  exit main(@ARGV);

=head1 FUNCTIONS

=head2 $status = main(@args)

Runs mbox2vpopmail with these arguments (see L<mbox2vpopmail>) and
returns the exit status: 0 all converted, 1 something failed that a
retry may fix, 2 usage, 3 something failed that needs the admin first
(L<mbox2vpopmail/EXIT STATUS>).

=head2 $result = convert_one($job, \%opt)

Converts one mailbox: C<< { addr => 'user@domain', src => $path_or_dash,
name => $display_name } >>. Returns counts, C<errors> and C<warnings>
(lines), C<failed_mailbox>.

=head2 $line = summary_line($result, $dry_run, $verbose)

The one line printed per mailbox; with C<$verbose>, it also says which
fsync mode made the messages durable and why (C<durability batch
(syncfs on ext4)>; see L<mbox2vpopmail/DURABILITY>). It is printed, like
every line of the script, through L<MigrateMail::Accounts/printable>: bytes outside
printable ASCII as C<\xNN>.

=head2 $bytes = parse_size($text)

A B<--max-message-size> value: a whole number of bytes, or with a suffix
C<K>, C<M>, C<G> (binary multiples); undef unless it is 1 byte or more.

=head2 $copy = json_text($data)

A copy of C<$data> (hashes, arrays, scalars) that JSON can carry as
UTF-8 text, for the B<--report>: a string of bytes that is valid UTF-8
is decoded; in any other, each byte that is not part of a valid UTF-8
sequence becomes the four characters C<\xNN>. Numbers stay numbers.

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
