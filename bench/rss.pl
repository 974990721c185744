#!/usr/bin/perl
# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# make bench-rss: the RSS of the single worker of configuration F (search
# with narrowing, token cache, audit to Redis) before and after 1,000,000
# requests (wrk -t1 -c32, in bounded chunks until the counted requests
# reach BENCH_RSS_REQUESTS), from /proc/PID/status.  "Before" is taken
# after a 20,000-request warm-up (pools, cache entry, Redis connection and
# buffers at their working size); the RSS right after start is shown too.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);

use lib dirname(abs_path(__FILE__));
use BenchLib;

my $top   = $BenchLib::Top;
my $work  = "$BenchLib::Build/bench-rss";
my $total = $ENV{BENCH_RSS_REQUESTS} || 1_000_000;

END { BenchLib::stop_all() }
$SIG{INT} = $SIG{TERM} = sub { BenchLib::stop_all(); exit 1 };

remove_tree($work);
make_path($work);

my $up = BenchLib::upstream($work);
my $redis = BenchLib::redis();
my $g = BenchLib::gateway($work, 'F', $up->{port}, <<"_A_",
    smart_token_cache tokens 10m;
    smart_audit_redis 127.0.0.1:${\ $redis->port} stream=bench maxlen=100000;
    smart_audit_spool \$DIR/spool/audit;
_A_
    BenchLib::smart_loc());
my $worker = BenchLib::worker_pid($g->{pid});
my $rs = BenchLib::mint();
my $url = "http://127.0.0.1:$g->{port}/fhir/Observation?code=8867-4";

sub wrk_n {
    my ($seconds) = @_;
    my $out = `timeout 120 wrk -t1 -c32 -d${seconds}s -H 'Authorization: Bearer $rs' $url 2>&1`;
    my ($n) = $out =~ /(\d+) requests in/;
    die "bench-rss: wrk failed:\n$out" unless $n;
    die "bench-rss: non-2xx responses:\n$out" if $out =~ /Non-2xx/;
    return $n;
}

system("curl -s -o /dev/null -H 'Authorization: Bearer $rs' '$url'");
my $rss0 = BenchLib::rss_kib($worker);

my $warm = 0;
$warm += wrk_n(2) while $warm < 20_000;
my $rss1 = BenchLib::rss_kib($worker);

my ($done, $t0) = (0, time);
while ($done < $total) {
    $done += wrk_n(10);
    printf STDERR "bench-rss: %d requests, worker RSS %d KiB\n", $done,
        BenchLib::rss_kib($worker);
}
my $rss2 = BenchLib::rss_kib($worker);
my $xlen = $redis->cmd('XLEN', 'bench');

printf "Worker RSS (configuration F, worker %d): %d KiB after start, "
     . "%d KiB after %d warm-up requests, %d KiB after %d more requests "
     . "(counted by wrk, %d s): growth %+d KiB (%+d KiB since start).  "
     . "Redis stream length %d (maxlen ~100000).\n",
     $worker, $rss0, $rss1, $warm, $rss2, $done, time - $t0,
     $rss2 - $rss1, $rss2 - $rss0, $xlen;
