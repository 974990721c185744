# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
package Smart::Redis;

# A private redis-server for t/ tests, and a tiny RESP client.
#
#   my $r = Smart::Redis->start;          # free loopback port, waits for PING
#   $r->port; $r->cmd('XLEN', 'smart:audit');
#   my @e = $r->stream('smart:audit');    # [{ _id => ..., field => value }]
#   $r->stop; $r->restart;                # restart: same port
#   my $s = Smart::Redis->silent;         # accepts and reads, never answers
#   my $r2 = Smart::Redis->start(args => ['--replicaof', '127.0.0.1', $p]);
#   my $s1 = Smart::Redis->sentinel(master => 'm', master_port => $p);
#
# redis-server runs in the foreground of a forked child
# (--daemonize no --save '' --appendonly no --bind 127.0.0.1), in its own
# temporary directory; stop() sends SIGTERM and reaps it.

use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

my $Server = $ENV{SMART_REDIS_SERVER} || 'redis-server';

sub _free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 1, ReuseAddr => 1)
        or die "Smart::Redis: no free port: $!\n";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub start {
    my ($class, %o) = @_;
    my $self = bless { port => $o{port} || _free_port(),
                       args => $o{args} || [],
                       dir => tempdir(CLEANUP => 1) }, ref $class || $class;
    $self->_spawn;
    return $self;
}

# A redis-sentinel (Debian's package) monitoring 127.0.0.1:master_port as
# master (quorum 2 by default), with short timeouts for tests.
sub sentinel {
    my ($class, %o) = @_;
    my $dir = tempdir(CLEANUP => 1);
    my $name = $o{master} || 'mymaster';
    open my $fh, '>', "$dir/sentinel.conf"
        or die "Smart::Redis: sentinel.conf: $!\n";
    print {$fh} "sentinel monitor $name 127.0.0.1 $o{master_port} "
              . ($o{quorum} || 2) . "\n"
              . "sentinel down-after-milliseconds $name "
              . ($o{down_after} || 1000) . "\n"
              . "sentinel failover-timeout $name "
              . ($o{failover_timeout} || 10000) . "\n";
    close $fh;
    my $self = bless { port => $o{port} || _free_port(), dir => $dir,
                       sentinel => 1 }, ref $class || $class;
    $self->_spawn;
    return $self;
}

sub port { $_[0]{port} }

sub _spawn {
    my ($self) = @_;
    my $pid = fork;
    die "Smart::Redis: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', "$self->{dir}/redis.log";
        open STDERR, '>&', \*STDOUT;
        chdir $self->{dir};
        if ($self->{sentinel}) {
            exec $ENV{SMART_REDIS_SENTINEL} || 'redis-sentinel',
                 "$self->{dir}/sentinel.conf", '--port', $self->{port},
                 '--bind', '127.0.0.1', '--daemonize', 'no',
                 '--dir', $self->{dir};
            exit 127;
        }
        exec $Server, '--port', $self->{port}, '--bind', '127.0.0.1',
             '--save', '', '--appendonly', 'no', '--daemonize', 'no',
             '--dir', $self->{dir}, @{ $self->{args} };
        exit 127;
    }
    $self->{pid} = $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        my $r = eval { $self->cmd('PING') };
        return 1 if defined $r && $r eq 'PONG';
        die "Smart::Redis: redis-server exited\n"
            if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    die "Smart::Redis: redis-server on port $self->{port} never answered\n";
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        return 1 if waitpid($pid, WNOHANG) == $pid;
        sleep 0.02;
    }
    kill 'KILL', $pid;
    waitpid $pid, 0;
    return 1;
}

sub restart {
    my ($self) = @_;
    $self->stop;
    $self->_spawn;
    return $self;
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    $self->stop if $self->{pid};
    if (my $l = delete $self->{listener}) {
        kill 'KILL', $l;
        waitpid $l, 0;
    }
}

# --- RESP -----------------------------------------------------------------

sub cmd {
    my ($self, @args) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port}, Proto => 'tcp',
                                  Timeout => 5)
        or die "Smart::Redis: connect $self->{port}: $!\n";
    my $req = '*' . scalar(@args) . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;
    print {$s} $req;
    my $reply = _read_reply($s);
    close $s;
    return $reply;
}

sub _line {
    my ($s) = @_;
    my $l = <$s>;
    die "Smart::Redis: connection closed\n" unless defined $l;
    $l =~ s/\r\n\z//;
    return $l;
}

sub _read_reply {
    my ($s) = @_;
    my $l = _line($s);
    my ($t, $rest) = (substr($l, 0, 1), substr($l, 1));
    return $rest if $t eq '+' || $t eq ':';
    die "Smart::Redis: error reply: $rest\n" if $t eq '-';
    if ($t eq '$') {
        return undef if $rest < 0;
        my $buf = '';
        while (length $buf < $rest + 2) {
            my $n = read $s, $buf, $rest + 2 - length $buf, length $buf;
            die "Smart::Redis: short bulk\n" unless $n;
        }
        return substr $buf, 0, $rest;
    }
    if ($t eq '*') {
        return undef if $rest < 0;
        return [ map { _read_reply($s) } 1 .. $rest ];
    }
    die "Smart::Redis: bad reply '$l'\n";
}

# Every entry of a stream: hashes of its fields plus _id.
sub stream {
    my ($self, $key) = @_;
    my $r = $self->cmd('XRANGE', $key, '-', '+');
    my @out;
    for my $e (@$r) {
        my %h = (_id => $e->[0], @{ $e->[1] });
        push @out, \%h;
    }
    return @out;
}

# --- a Redis that accepts and reads but never answers ---------------------

sub silent {
    my ($class) = @_;
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', Listen => 16,
                                  ReuseAddr => 1)
        or die "Smart::Redis: listen: $!\n";
    my $self = bless { port => $l->sockport }, ref $class || $class;
    my $pid = fork;
    die "Smart::Redis: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        my @keep;
        while (my $c = $l->accept) {
            push @keep, $c;
            my $child = fork;
            if (defined $child && $child == 0) {
                my $buf;
                1 while sysread $c, $buf, 65536;
                POSIX::_exit(0);
            }
        }
        POSIX::_exit(0);
    }
    close $l;
    $self->{listener} = $pid;
    return $self;
}

sub stop_silent {
    my ($self) = @_;
    my $pid = delete $self->{listener} or return;
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

1;
