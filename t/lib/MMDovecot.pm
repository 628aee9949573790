package MMDovecot;
# A throwaway Dovecot (Debian's dovecot-imapd/-pop3d) on loopback for the
# tests: own configuration, base and state directories under a temporary
# directory, unprivileged ports, mail processes as an unprivileged user.
use strict;
use warnings;
use IO::Socket::INET;
use Time::HiRes qw(sleep);

sub new {
	my ($class, %o) = @_;
	my $dir = $o{dir};
	my $self = bless { dir => $dir, uid => $o{uid}, gid => $o{gid} }, $class;
	for my $try (1 .. 20) {
		my $base = 20000 + int(rand(20000));
		next unless _free($base) && _free($base + 1);
		@{$self}{qw(imap pop3)} = ($base, $base + 1);
		last;
	}
	mkdir $dir;
	chmod 0755, $dir;
	mkdir "$dir/$_" for qw(run state);
	open my $pw, '>', "$dir/passwd" or die "$dir/passwd: $!";
	for my $u (@{ $o{users} }) {
		# user:{PLAIN}pass:uid:gid::home::extra (userdb_SETTING=value
		# fields override settings for that user: mail, pop3_uidl_format)
		print $pw "$u->{name}:{PLAIN}$u->{pass}:$o{uid}:$o{gid}::$u->{home}"
		  . (defined $u->{extra} ? "::$u->{extra}" : '') . "\n";
	}
	close $pw;
	open my $c, '>', "$dir/dovecot.conf" or die "$dir/dovecot.conf: $!";
	print $c <<"CONF";
base_dir = $dir/run
state_dir = $dir/state
log_path = $dir/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
first_valid_uid = 1
mail_uid = $o{uid}
mail_gid = $o{gid}
pop3_uidl_format = %f
default_internal_user = dovecot
default_login_user = dovenull
passdb {
  driver = passwd-file
  args = $dir/passwd
}
userdb {
  driver = passwd-file
  args = $dir/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $self->{imap}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $self->{pop3}
  }
  inet_listener pop3s {
    port = 0
  }
}
service anvil {
  chroot =
}
@{[ $o{conf} // '' ]}
service imap-login {
  chroot =
}
service pop3-login {
  chroot =
}
CONF
	close $c;
	system('dovecot', '-c', "$dir/dovecot.conf") == 0
	  or die "dovecot did not start: " . _log($dir);
	$self->{started} = 1;
	for (1 .. 100) {
		return $self if !_free($self->{imap}) && !_free($self->{pop3});
		sleep 0.1;
	}
	die "dovecot is not listening: " . _log($dir);
}

sub _free {
	my ($port) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1);
	return !$s;
}

sub _log {
	my ($dir) = @_;
	open my $fh, '<', "$dir/dovecot.log" or return '(no log)';
	local $/;
	return scalar <$fh>;
}

sub log { _log($_[0]{dir}) }

sub stop {
	my ($self) = @_;
	return unless delete $self->{started};
	system('doveadm', '-c', "$self->{dir}/dovecot.conf", 'stop');
}

sub DESTROY { $_[0]->stop }

# IMAP: connect and log in; returns a client.
sub imap {
	my ($self, $user, $pass) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{imap}, Timeout => 10)
	  or die "imap connect: $!";
	my $c = bless { s => $s, tag => 0 }, 'MMDovecot::IMAP';
	my $greet = <$s>;
	die "no IMAP greeting" unless $greet =~ /^\* OK/;
	my ($st) = $c->cmd(qq{LOGIN "$user" "$pass"});
	die "IMAP login failed: $st" unless $st =~ /^OK/;
	return $c;
}

# POP3: log in, return (UIDL map number => uidl, message count).
sub pop3_uidl {
	my ($self, $user, $pass) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{pop3}, Timeout => 10)
	  or die "pop3 connect: $!";
	my $l = <$s>;
	print $s "USER $user\r\n";
	$l = <$s>;
	print $s "PASS $pass\r\n";
	$l = <$s>;
	die "POP3 login failed: $l" unless $l =~ /^\+OK/;
	print $s "UIDL\r\n";
	$l = <$s>;
	my %uidl;
	while (defined($l = <$s>) && $l ne ".\r\n") {
		my ($n, $u) = $l =~ /^(\d+) (\S+)\r\n/ or next;
		$uidl{$n} = $u;
	}
	print $s "QUIT\r\n";
	return \%uidl;
}

package MMDovecot::IMAP;

# Send a command; returns (tagged status text, [untagged responses]),
# each response a string with literals inlined as {n}\r\n<bytes>.
sub cmd {
	my ($c, $command) = @_;
	my $tag = 'a' . ++$c->{tag};
	my $s = $c->{s};
	print $s "$tag $command\r\n";
	my @untagged;
	while (defined(my $line = <$s>)) {
		while ($line =~ /\{(\d+)\}\r\n\z/) {
			my $n = $1;
			my $buf = '';
			while (length $buf < $n) {
				my $got = read($s, $buf, $n - length $buf, length $buf);
				die "IMAP connection closed" unless $got;
			}
			my $rest = <$s>;
			$line .= $buf . $rest;
		}
		if ($line =~ /^\Q$tag\E (.*)\r\n\z/s) {
			return ($1, \@untagged);
		}
		push @untagged, $line;
	}
	die "IMAP connection closed";
}

sub DESTROY {
	my ($c) = @_;
	my $s = $c->{s} or return;
	print $s "z LOGOUT\r\n";
}

1;
