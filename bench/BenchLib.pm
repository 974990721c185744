package BenchLib;

# Shared helpers of bench/run.pl, bench/callgrind.pl and bench/rss.pl:
# loopback-only NGINX instances (one worker each), a private Redis
# (t/lib/Smart/Redis.pm), token files.  Every process started here is
# stopped by stop_all(), which the scripts call from END blocks and signal
# handlers, so nothing outlives a run, a failure or a Ctrl-C.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our $Top = abs_path(dirname(__FILE__) . '/..');
use lib;
lib->import("$Top/t/lib");
require Smart::Token;
require Smart::Redis;

our $Nginx  = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
our $Module = "$Top/build/nginx/objs/ngx_http_smart_module.so";
our $Fix    = "$Top/t/fixtures";

my @pids;       # processes to stop, in order
my @redis;      # Smart::Redis objects

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub redis {
    my $r = Smart::Redis->start;
    push @redis, $r;
    return $r;
}

sub track { push @pids, @_ }

sub stop_pid {
    my ($pid, $sig) = @_;
    return unless $pid;
    # the signal is re-sent every 2 s: under valgrind one that arrives
    # while the guest is busy is sometimes lost
    my $deadline = time + 20;
    my $next = 0;
    while (time < $deadline) {
        if (time >= $next) {
            kill $sig || 'QUIT', $pid;
            $next = time + 2;
        }
        return if waitpid($pid, WNOHANG) != 0;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

sub stop_all {
    local ($?, $!, $@);
    while (my $p = pop @pids) { stop_pid($p); }
    while (my $r = pop @redis) { eval { $r->stop }; }
}

# conf: the text of the http{} block after the common lines; $PORT is
# replaced by a free loopback port.  opts: module => 1, prefix => [cmd...]
# (e.g. valgrind), single => 1 (master_process off), wait => seconds.
sub start_nginx {
    my ($work, $name, $http, %o) = @_;
    my $dir = "$work/$name";
    make_path("$dir/logs", "$dir/conf", "$dir/tmp", "$dir/spool");
    my $port = free_port();
    my $load = $o{module} ? "load_module $Module;\n" : '';
    my $user = $> == 0 ? "user root;\n" : '';
    my $master = $o{single} ? 'off' : 'on';
    $http =~ s/\$PORT\b/$port/g;
    $http =~ s/\$DIR\b/$dir/g;
    open my $fh, '>', "$dir/conf/nginx.conf" or die $!;
    print $fh <<"_CONF_";
${load}${user}daemon off;
master_process $master;
worker_processes 1;
error_log $dir/logs/error.log warn;
pid $dir/logs/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 10000000;
$http
}
_CONF_
    close $fh;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', "$dir/logs/stdout.log";
        open STDERR, '>&', \*STDOUT;
        exec @{ $o{prefix} || [] }, $Nginx, '-p', "$dir/", '-c',
             "$dir/conf/nginx.conf";
        exit 127;
    }
    push @pids, $pid;
    my $deadline = time + ($o{wait} || 10);
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        return { port => $port, pid => $pid, dir => $dir } if $s;
        die "bench: $name exited:\n" . `cat $dir/logs/error.log $dir/logs/stdout.log`
            if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    die "bench: $name did not start:\n" . `cat $dir/logs/error.log`;
}

# The single worker of a master-process NGINX.
sub worker_pid {
    my ($master) = @_;
    for (1 .. 100) {
        my $c = `pgrep -P $master`;
        my @w = grep { /^\d+$/ } split /\s+/, $c;
        return $w[0] if @w == 1;
        sleep 0.05;
    }
    die "bench: no single worker under $master\n";
}

sub rss_kib {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or die "/proc/$pid/status: $!";
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)\s+kB/ }
    die "no VmRSS for $pid\n";
}

# The upstream: NGINX returning a small FHIR resource; it echoes the query
# it received in X-Upstream-Args (used once to show the narrowing).
sub upstream {
    my ($work) = @_;
    return start_nginx($work, 'upstream', <<'_U_');
    server {
        listen 127.0.0.1:$PORT;
        location / {
            default_type application/fhir+json;
            add_header X-Upstream-Args "$args";
            return 200 '{"resourceType":"Patient","id":"123","active":true}';
        }
    }
_U_
}

sub smart_loc {
    return <<"_S_";
            smart on;
            smart_fhir_base /fhir/;
            smart_issuer https://issuer.example.test;
            smart_audience https://fhir.example.test;
            smart_jwks_file $Fix/jwks-1.json;
_S_
}

# A gateway in front of the upstream; http_extra at http level, loc inside
# location /fhir/.
sub gateway {
    my ($work, $name, $up_port, $http_extra, $loc, %o) = @_;
    return start_nginx($work, $name, <<"_G_", module => 1, %o);
    upstream fhir { server 127.0.0.1:$up_port; keepalive 64; }
$http_extra
    server {
        listen 127.0.0.1:\$PORT;
        location /fhir/ {
$loc
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://fhir;
        }
    }
_G_
}

sub mint { Smart::Token::mint(exp => time() + 7200, @_) }

sub write_tokens {
    my ($file, $n, $prefix, %claims) = @_;
    open my $tf, '>', $file or die $!;
    print $tf mint(jti => "$prefix-$_", %claims), "\n" for 1 .. $n;
    close $tf;
}

sub spool_bytes {
    my ($dir) = @_;
    my $n = 0;
    $n += -s $_ for glob "$dir/spool/audit.*";
    return $n;
}

1;
