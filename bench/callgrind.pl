#!/usr/bin/perl
# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# make bench-callgrind: instructions per request of the module's
# access-phase handler (and, in the last row, of the audit module's
# handlers), counted by valgrind --tool=callgrind, which is deterministic.
#
# NGINX runs with master_process off (one process) under callgrind with
# --toggle-collect on the handlers, so only their instructions (callees
# included: OpenSSL, jansson, the core) are counted.  Each case runs twice,
# with N1 and N2 requests on one keep-alive connection, and reports
# (Ir(N2) - Ir(N1)) / (N2 - N1): start-up, first-use and connection costs
# cancel out.
#
#   cached RS256   GET /fhir/Patient/123, the same token (cache on: a hit)
#   cold RS256     a new token on every request (cache on: miss + verify
#                  + insert)
#   bundle x20     POST /fhir/ transaction Bundle of 20 Observation creates
#                  for the token's patient (patient/Observation.cruds,
#                  cached token).  The body is sent 0.25 s after the
#                  headers: the module then reads it from the event loop
#                  and the access handler runs twice, unnested (a nested
#                  call would toggle callgrind's collection off inside it).
#   audit          the F request (search + narrowing, audit to Redis):
#                  ngx_http_smart_access_handler + ngx_http_smart_audit_access
#                  + ngx_http_smart_audit_log + the posted flush events
#                  (ngx_http_smart_redis_flush_handler: the socket write;
#                  ngx_http_smart_spool_handler: the spool write).
#                  Reading Redis' replies is not counted here.
#   spool          the same with nothing listening on the Redis port: every
#                  record goes to the spool (G)
#   wA2 wH wA3 wI wA4 wJ
#                  whole worker of bench/run.pl's response-check and
#                  pre-read variants and their plain counterparts (H: a
#                  checked read of a 2.25 KB Observation; I: a 50-entry
#                  page under smart_response_check all; J: a PUT after a
#                  pre-read), with the inclusive instructions per request
#                  of json_loadb (jansson's tree), smart_response_check,
#                  smart_policy_decide, ngx_http_smart_precheck, malloc
#                  and free in an extra table (callgrind_annotate)
#   wA wB wF wG    "whole worker": no toggle, every instruction of the
#                  process per request (NGINX itself, the proxying, the
#                  reply parsing), for A (smart off), B, F and G
#
# BENCH_CG_ONLY=REGEX limits the run to the cases whose short name matches
# (e.g. BENCH_CG_ONLY='cached|wB').

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use Time::HiRes qw(sleep);

use lib dirname(abs_path(__FILE__));
use BenchLib;

my $top  = $BenchLib::Top;
my $work = "$BenchLib::Build/bench-callgrind";

END { BenchLib::stop_all() }
$SIG{INT} = $SIG{TERM} = sub { BenchLib::stop_all(); exit 1 };

remove_tree($work);
make_path($work);

my $up = BenchLib::upstream($work);
my $redis = BenchLib::redis();
my $smart = BenchLib::smart_loc();
my $cache = 'smart_token_cache tokens 10m;';

my $rs = BenchLib::mint();
my $obs = BenchLib::mint(scope => 'patient/Observation.cruds');

my $entry = '{"resource":{"resourceType":"Observation","status":"final",'
          . '"code":{"text":"heart rate"},"subject":{"reference":'
          . '"Patient/123"},"valueQuantity":{"value":72,"unit":"/min"}},'
          . '"request":{"method":"POST","url":"Observation"}}';
my $bundle = '{"resourceType":"Bundle","type":"transaction","entry":['
           . join(',', ($entry) x 20) . ']}';

sub request {
    my ($method, $path, $token, $body) = @_;
    my $h = "$method $path HTTP/1.1\r\nHost: localhost\r\n"
          . "Authorization: Bearer $token\r\n";
    $h .= "Content-Type: application/fhir+json\r\n"
        . "Content-Length: " . length($body) . "\r\n" if defined $body;
    return ["$h\r\n", $body];
}

sub send_all {
    my ($port, $reqs) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 60) or die "connect: $!";
    $s->autoflush(1);
    for my $rq (@$reqs) {
        print {$s} $rq->[0];
        if (defined $rq->[1]) {
            sleep 0.25;
            print {$s} $rq->[1];
        }
        my $status = <$s>;
        die "bench-callgrind: no response\n" unless defined $status;
        die "bench-callgrind: $status" unless $status =~ m{^HTTP/1\.1 2};
        my $len = 0;
        while (my $l = <$s>) {
            last if $l eq "\r\n";
            $len = $1 if $l =~ /^Content-Length:\s*(\d+)/i;
            die "bench-callgrind: chunked\n" if $l =~ /^Transfer-Encoding/i;
        }
        my $buf = '';
        read($s, $buf, $len) == $len or die "short body\n" if $len;
    }
    close $s;
}

# functions whose inclusive cost the whole-worker cases of H, I, J report
my @incl = qw(json_loadb smart_response_check smart_policy_decide
              ngx_http_smart_precheck malloc free);
my %incl;       # case => N => function => inclusive Ir; case => n => [N1, N2]

sub inclusive {
    my ($out) = @_;
    my %v;
    for (`callgrind_annotate --inclusive=yes --threshold=100 $out 2>/dev/null`) {
        my ($ir, $fn) = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?\S*?:(\w+)\s/
            or next;
        next unless grep { $_ eq $fn } @incl;
        $ir =~ tr/,//d;
        # a function may be listed twice (with and without its source
        # file): the larger is the whole
        $v{$fn} = $ir if $ir > ($v{$fn} // 0);
    }
    return \%v;
}

# o: server => more of the gateway's server{} block, incl => 1: report
# the inclusive costs of @incl
sub run_case {
    my ($name, $n, $reqs_of, $toggles, $http_extra, $loc, $o) = @_;
    $o ||= {};
    my $out = "$work/$name-$n.out";
    my @prefix = ('valgrind', '--tool=callgrind', "--callgrind-out-file=$out",
                  (map { "--toggle-collect=$_" } @$toggles));
    my $g = BenchLib::gateway($work, "$name-$n", $up->{port},
                              $http_extra, $loc // $smart, single => 1,
                              prefix => \@prefix, wait => 60,
                              server => $o->{server} // '');
    send_all($g->{port}, $reqs_of->($n));
    my $t0 = Time::HiRes::time();
    sleep 0.5;
    BenchLib::stop_pid($g->{pid}, 'QUIT');
    printf STDERR "stop %.1fs\n", Time::HiRes::time() - $t0 if $ENV{BENCH_DEBUG};
    $incl{$name}{$n} = inclusive($out) if $o->{incl};
    open my $fh, '<', $out or die "$out: $!";
    while (<$fh>) {
        return $1 if /^(?:summary|totals):\s+(\d+)/;
    }
    die "bench-callgrind: no totals in $out\n";
}

my $access = ['ngx_http_smart_access_handler'];
my $audit_toggles = [ @$access, 'ngx_http_smart_audit_access',
                      'ngx_http_smart_audit_log',
                      'ngx_http_smart_redis_flush_handler',
                      'ngx_http_smart_spool_handler' ];
my $audit = "$cache\n    smart_audit_redis 127.0.0.1:${\ $redis->port} "
          . "stream=cg maxlen=100000;\n    smart_audit_spool \$DIR/spool/audit;";
# G: nothing listens on the Redis port, every record goes to the spool
my $dead = BenchLib::free_port();
my $spool = "$cache\n    smart_audit_redis 127.0.0.1:$dead "
          . "stream=cg maxlen=100000;\n    smart_audit_spool \$DIR/spool/audit;";
my $whole = [];
my $cold_n = 0;

# H, I, J (bench/run.pl) and their plain counterparts A2, A3, A4
my %check;
for my $v (qw(H I J)) {
    my ($http, $loc, %o) = BenchLib::check_conf($v);
    $check{$v} = [ $http, $loc, { %o, incl => 1 } ];
}
my $get = sub {
    my ($v) = @_;
    my $rq = $BenchLib::Request{$v};
    my $t = BenchLib::mint(scope => $rq->{scope}, patient => '123');
    my $body;
    if ($rq->{body}) {
        open my $fh, '<', "$up->{dir}/data/$rq->{body}" or die $!;
        local $/;
        $body = <$fh>;
    }
    return sub { [ map { request($rq->{method} || 'GET', $rq->{path}, $t,
                                 $body) } 1 .. $_[0] ] };
};

my @cases = (
    [ 'cached RS256', 'cached', 10, 210, $access, $cache,
      sub { [ map { request('GET', '/fhir/Patient/123', $rs) } 1 .. $_[0] ] } ],
    [ 'cold RS256 (cache on, new token each request)', 'cold', 10, 110,
      $access, $cache,
      sub { [ map { request('GET', '/fhir/Patient/123',
                            BenchLib::mint(jti => 'cg-' . $cold_n++)) }
              1 .. $_[0] ] } ],
    [ 'transaction bundle, 20 entries', 'bundle', 5, 45, $access, $cache,
      sub { [ map { request('POST', '/fhir/', $obs, $bundle) } 1 .. $_[0] ] } ],
    [ 'F: search + narrowing + audit (access + audit handlers)', 'audit',
      10, 210, $audit_toggles, $audit,
      sub { [ map { request('GET', '/fhir/Observation?code=8867-4', $rs) }
              1 .. $_[0] ] } ],
    [ 'G: F with Redis down, spooling (access + audit handlers)', 'spool',
      10, 210, $audit_toggles, $spool,
      sub { [ map { request('GET', '/fhir/Observation?code=8867-4', $rs) }
              1 .. $_[0] ] } ],
    [ 'whole worker, A2: plain proxy, 2.25 KB Observation read', 'wA2', 10,
      110, $whole, '', $get->('A2'), '', { incl => 1 } ],
    [ 'whole worker, H: A2 with the response check', 'wH', 10, 110, $whole,
      $check{H}[0], $get->('H'), $check{H}[1], $check{H}[2] ],
    [ 'whole worker, A3: plain proxy, 50-entry page (~90 KB)', 'wA3', 5, 25,
      $whole, '', $get->('A3'), '', { incl => 1 } ],
    [ 'whole worker, I: A3 with smart_response_check all', 'wI', 5, 25,
      $whole, $check{I}[0], $get->('I'), $check{I}[1], $check{I}[2] ],
    [ 'whole worker, A4: plain proxy, PUT of a MedicationStatement', 'wA4',
      5, 25, $whole, '', $get->('A4'), '', { incl => 1 } ],
    [ 'whole worker, J: A4 after a pre-read', 'wJ', 5, 25, $whole,
      $check{J}[0], $get->('J'), $check{J}[1], $check{J}[2] ],
    [ 'whole worker, A: plain proxy', 'wA', 10, 210, $whole, '',
      sub { [ map { request('GET', '/fhir/Patient/123', $rs) } 1 .. $_[0] ] },
      '' ],
    [ 'whole worker, B: cached RS256', 'wB', 10, 210, $whole, $cache,
      sub { [ map { request('GET', '/fhir/Patient/123', $rs) } 1 .. $_[0] ] } ],
    [ 'whole worker, F: search + narrowing + audit', 'wF', 10, 210, $whole,
      $audit,
      sub { [ map { request('GET', '/fhir/Observation?code=8867-4', $rs) }
              1 .. $_[0] ] } ],
    [ 'whole worker, G: F with Redis down, spooling', 'wG', 10, 210, $whole,
      $spool,
      sub { [ map { request('GET', '/fhir/Observation?code=8867-4', $rs) }
              1 .. $_[0] ] } ],
);

my $report = "Instructions per request (valgrind --tool=callgrind, "
           . "(Ir(N2) - Ir(N1)) / (N2 - N1)):\n\n"
           . "| case | N1 | N2 | instructions / request |\n"
           . "|---|---:|---:|---:|\n";
for my $c (@cases) {
    my ($label, $name, $n1, $n2, $toggles, $extra, $reqs, $loc, $o) = @$c;
    next if defined $ENV{BENCH_CG_ONLY}
            && $name !~ /^(?:$ENV{BENCH_CG_ONLY})$/;
    my $i1 = run_case($name, $n1, $reqs, $toggles, $extra, $loc, $o);
    my $i2 = run_case($name, $n2, $reqs, $toggles, $extra, $loc, $o);
    $incl{$name}{n} = [$n1, $n2] if $incl{$name};
    my $per = ($i2 - $i1) / ($n2 - $n1);
    printf STDERR "%s: Ir(%d) = %d, Ir(%d) = %d\n", $name, $n1, $i1, $n2, $i2;
    $report .= sprintf "| %s | %d | %d | %.0f |\n", $label, $n1, $n2, $per;
}
if (my @w = grep { $incl{$_} } map { $_->[1] } @cases) {
    $report .= "\nInclusive instructions per request of some functions in "
             . "the whole-worker cases of H, I, J and their counterparts "
             . "(callgrind_annotate --inclusive=yes; malloc and free: "
             . "every caller's, NGINX's and jansson's):\n\n"
             . "| case | " . join(' | ', @incl) . " |\n"
             . "|---|" . ('---:|' x @incl) . "\n";
    for my $w (@w) {
        my ($n1, $n2) = @{ $incl{$w}{n} };
        $report .= "| $w | " . join(' | ', map {
            sprintf '%.0f', (($incl{$w}{$n2}{$_} // 0)
                             - ($incl{$w}{$n1}{$_} // 0)) / ($n2 - $n1)
        } @incl) . " |\n";
    }
}
print $report;
