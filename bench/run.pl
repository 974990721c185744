#!/usr/bin/perl
# make bench: plain NGINX proxying against the gateway, on loopback, in
# interleaved rounds, as ratios within one run (the machine is noisy).
#
#   A plain proxy (the same request, token included, passed upstream)
#   B smart on, RS256, same token each request, token cache on
#   C as B with ES256
#   D as B with a different token on every request and the cache off
#     (cold verification of every token; wrk cycles through 1000 tokens)
#   E, F, G (scopes, audit, audit with Redis stopped) join once the module
#     has those directives; until then they are reported as not available.
#
# Environment: BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_CONNECTIONS (32).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep);

my $top = abs_path(dirname(__FILE__) . '/..');
use lib;
lib->import("$top/t/lib");
require Smart::Token;

my $nginx   = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $module  = "$top/build/nginx/objs/ngx_http_smart_module.so";
my $rounds  = $ENV{BENCH_ROUNDS} || 3;
my $seconds = $ENV{BENCH_SECONDS} || 10;
my $conns   = $ENV{BENCH_CONNECTIONS} || 32;
my $work    = "$top/build/bench-run";
my $fix     = "$top/t/fixtures";

die "bench: $module missing; run make module\n" unless -f $module;
system('wrk --version >/dev/null 2>&1');
die "bench: wrk is not installed; run make deps\n" if $? == -1;

remove_tree($work);
make_path($work);

my @pids;
END { kill 'QUIT', @pids if @pids; }

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub start_nginx {
    my ($name, $http, $with_module) = @_;
    my $dir = "$work/$name";
    make_path("$dir/logs", "$dir/conf", "$dir/tmp");
    my $port = free_port();
    my $load = $with_module ? "load_module $module;\n" : '';
    my $user = $> == 0 ? "user root;\n" : '';
    $http =~ s/\$PORT\b/$port/g;
    open my $fh, '>', "$dir/conf/nginx.conf" or die $!;
    print $fh <<"_CONF_";
${load}${user}daemon off;
master_process on;
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
    keepalive_requests 1000000;
$http
}
_CONF_
    close $fh;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        exec $nginx, '-p', "$dir/", '-c', "$dir/conf/nginx.conf";
        exit 127;
    }
    push @pids, $pid;
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        return ($port, $pid) if $s;
        sleep 0.05;
    }
    die "bench: $name did not start:\n" . `cat $dir/logs/error.log`;
}

sub wrk {
    my ($url, @args) = @_;
    my @script_args;
    for my $i (0 .. $#args) {
        if ($args[$i] eq '--') {
            @script_args = splice @args, $i;
            last;
        }
    }
    my $out = `wrk -t1 -c$conns -d${seconds}s --latency @args $url @script_args 2>&1`;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my %lat;
    while ($out =~ /^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$/mg) {
        my $v = $2 * ($3 eq 'us' ? 0.001 : $3 eq 's' ? 1000 : 1);
        $lat{$1} = $v;
    }
    my ($non2xx) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    die "bench: wrk failed against $url:\n$out" unless $rps;
    die "bench: $non2xx non-2xx responses from $url\n" if $non2xx;
    return { rps => $rps, p50 => $lat{50}, p99 => $lat{99} };
}

# the upstream: NGINX returning a small FHIR resource
my ($up_port) = start_nginx('upstream', <<'_U_', 0);
    server {
        listen 127.0.0.1:$PORT;
        location / {
            default_type application/fhir+json;
            return 200 '{"resourceType":"Patient","id":"123","active":true}';
        }
    }
_U_

my $smart = <<"_S_";
            smart_fhir_base /fhir/;
            smart_issuer https://issuer.example.test;
            smart_audience https://fhir.example.test;
            smart_jwks_file $fix/jwks-1.json;
_S_

sub gateway {
    my ($name, $http_extra, $loc) = @_;
    return start_nginx($name, <<"_G_", 1);
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

my %port;
($port{A}) = gateway('A', '', '');
($port{B}) = gateway('B', 'smart_token_cache tokens 10m;',
                     "smart on;\n$smart");
($port{C}) = gateway('C', 'smart_token_cache tokens 10m;',
                     "smart on;\n$smart");
($port{D}) = gateway('D', '', "smart on;\n$smart");

my $rs = Smart::Token::mint(exp => time() + 3600);
my $es = Smart::Token::mint(alg => 'ES256', exp => time() + 3600);

open my $tf, '>', "$work/tokens.txt" or die $!;
print $tf Smart::Token::mint(exp => time() + 3600, jti => "cold-$_"), "\n"
    for 1 .. 1000;
close $tf;

my %run = (
    # the same request as B: a plain proxy passes the token on too
    A => sub { wrk("http://127.0.0.1:$port{A}/fhir/Patient/123",
                   '-H', "'Authorization: Bearer $rs'") },
    B => sub { wrk("http://127.0.0.1:$port{B}/fhir/Patient/123",
                   '-H', "'Authorization: Bearer $rs'") },
    C => sub { wrk("http://127.0.0.1:$port{C}/fhir/Patient/123",
                   '-H', "'Authorization: Bearer $es'") },
    D => sub { wrk("http://127.0.0.1:$port{D}/fhir/Patient/123",
                   '-s', "$top/bench/cycle.lua", '--', "$work/tokens.txt") },
);

my @order = qw(A B C D);
my %res;

for my $r (1 .. $rounds) {
    for my $v (@order) {
        my $x = $run{$v}->();
        push @{ $res{$v} }, $x;
        printf STDERR "round %d %s %9.0f req/s p50 %.3f ms p99 %.3f ms\n",
            $r, $v, $x->{rps}, $x->{p50}, $x->{p99};
    }
}

sub median {
    my @s = sort { $a <=> $b } @_;
    return $s[$#s / 2];
}

my %label = (
    A => 'plain proxy',
    B => 'smart on, RS256, cached',
    C => 'smart on, ES256, cached',
    D => 'smart on, RS256, new token each request, no cache',
);

my $table = "| variant | req/s | p50 ms | p99 ms | ratio to A |\n"
          . "|---|---:|---:|---:|---:|\n";
for my $v (@order) {
    my @ratio = map { $res{$v}[$_]{rps} / $res{A}[$_]{rps} } 0 .. $rounds - 1;
    $table .= sprintf "| %s %s | %.0f | %.3f | %.3f | %.3f |\n", $v,
        $label{$v}, median(map { $_->{rps} } @{ $res{$v} }),
        median(map { $_->{p50} } @{ $res{$v} }),
        median(map { $_->{p99} } @{ $res{$v} }), median(@ratio);
}

my $verify = `$top/build/bench/verify_speed $fix 2000 2>&1`;

my $report = "wrk -t1 -c$conns -d${seconds}s, $rounds interleaved rounds, "
           . "medians; one worker per NGINX.\n\n$table\n"
           . "Cold verification in the core (CPU time per token):\n\n"
           . "```\n$verify```\n";

print $report;

open my $out, '>', "$work/report.md" or die $!;
print $out $report;
close $out;
