#!/usr/bin/perl
# make bench-perf: where the worker's CPU goes under load, for a missed
# target's explanation.  Starts the upstream and one gateway (B: RS256,
# cached; or BENCH_PERF_VARIANT=F: search + narrowing + audit to Redis),
# runs wrk for BENCH_SECONDS (8), and records the worker with
# `perf record -p PID` for the middle 5 s; prints
# `perf report --sort dso,symbol` (top lines) and the share of each DSO.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);

use lib dirname(abs_path(__FILE__));
use BenchLib;

my $top     = $BenchLib::Top;
my $variant = $ENV{BENCH_PERF_VARIANT} || 'B';
my $seconds = $ENV{BENCH_SECONDS} || 8;
my $work    = "$top/build/bench-perf";

END { BenchLib::stop_all() }
$SIG{INT} = $SIG{TERM} = sub { BenchLib::stop_all(); exit 1 };

remove_tree($work);
make_path($work);

my $up = BenchLib::upstream($work);
my $extra = 'smart_token_cache tokens 10m;';
my $path = '/fhir/Patient/123';
if ($variant eq 'F') {
    my $redis = BenchLib::redis();
    $extra .= "\n    smart_audit_redis 127.0.0.1:${\ $redis->port} "
            . "stream=bench maxlen=100000;\n"
            . "    smart_audit_spool \$DIR/spool/audit;";
    $path = '/fhir/Observation?code=8867-4';
} elsif ($variant eq 'A') {
    $extra = '';
}
my $g = BenchLib::gateway($work, $variant, $up->{port}, $extra,
                          $variant eq 'A' ? '' : BenchLib::smart_loc());
my $worker = BenchLib::worker_pid($g->{pid});
my $rs = BenchLib::mint();

my $wrk = fork // die;
if ($wrk == 0) {
    open STDOUT, '>', "$work/wrk.out";
    exec 'timeout', $seconds + 30, 'wrk', '-t1', '-c32', "-d${seconds}s",
         '-H', "Authorization: Bearer $rs", "http://127.0.0.1:$g->{port}$path";
    exit 127;
}
BenchLib::track($wrk);
sleep 1;
system("timeout 30 perf record -q -o $work/perf.data -p $worker -- sleep 5 "
       . ">/dev/null 2>&1");
waitpid $wrk, 0;
print `grep -E 'Requests/sec|Non-2xx' $work/wrk.out`;
print "perf report --sort dso (variant $variant):\n";
print `perf report -i $work/perf.data --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^\$' | head -12`;
print "\nperf report --sort dso,symbol (top 40):\n";
print `perf report -i $work/perf.data --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep -v '^\$' | head -40`;
