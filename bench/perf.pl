#!/usr/bin/perl
# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# make bench-perf: where the worker's CPU goes under load, for a missed
# target's explanation.  Starts the upstream and one gateway (B: RS256,
# cached; BENCH_PERF_VARIANT=F: search + narrowing + audit to Redis; G: F
# with its Redis stopped after the worker connected; A: plain proxy; H, I,
# J: the response check of a read, of a 50-entry page (all), the pre-read
# of a PUT, and A2, A3, A4 their plain counterparts, as in bench/run.pl),
# runs
# wrk for BENCH_SECONDS (8), and records the worker with
# `perf record -p PID` for the middle 5 s; prints
# `perf report --sort dso,symbol` (top lines) and the share of each DSO.
#
# Then the system calls (and context switches, page faults) per request: a
# second wrk run of BENCH_SECONDS
# with `perf stat -e 'syscalls:sys_enter_*' -p PID` attached before wrk
# starts and detached after it ends, divided by the requests wrk counted
# (tracepoint counting, unlike strace, barely slows the worker down).
# BENCH_PERF_SYSCALLS=0 skips it, BENCH_PERF_RECORD=0 skips the profile.
# BENCH_PERF_SCOPE=SCOPES mints the token with those scopes (patient 123).
# For H and I, bench/check_speed's breakdown of the core's check on the
# same body is printed first.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use Time::HiRes qw(sleep);

use lib dirname(abs_path(__FILE__));
use BenchLib;

my $top     = $BenchLib::Top;
my $variant = $ENV{BENCH_PERF_VARIANT} || 'B';
my $seconds = $ENV{BENCH_SECONDS} || 8;
my $work    = "$BenchLib::Build/bench-perf";

END { BenchLib::stop_all() }
$SIG{INT} = $SIG{TERM} = sub { BenchLib::stop_all(); exit 1 };

remove_tree($work);
make_path($work);

my $up = BenchLib::upstream($work);
my $extra = 'smart_token_cache tokens 10m;';
my $path = '/fhir/Patient/123';
my $redis;
if ($variant eq 'F' || $variant eq 'G') {
    $redis = BenchLib::redis();
    $extra .= "\n    smart_audit_redis 127.0.0.1:${\ $redis->port} "
            . "stream=bench maxlen=100000;\n"
            . "    smart_audit_spool \$DIR/spool/audit;";
    $path = '/fhir/Observation?code=8867-4';
} elsif ($variant eq 'A') {
    $extra = '';
}
my $rq = $BenchLib::Request{$variant};
my $g;
if ($BenchLib::Base{$variant}) {
    $g = BenchLib::check_gateway($work, $variant, $up->{port});
} elsif ($rq) {
    $g = BenchLib::gateway($work, $variant, $up->{port}, '', '');
} else {
    $g = BenchLib::gateway($work, $variant, $up->{port}, $extra,
                           $variant eq 'A' ? '' : BenchLib::smart_loc());
}
my $worker = BenchLib::worker_pid($g->{pid});
# BENCH_PERF_SCOPE: the token's scope instead (e.g. user/*.rs on H: the
# same gateway and read, not checked, to separate the check's cost)
my $scope = $ENV{BENCH_PERF_SCOPE} || ($rq ? $rq->{scope} : undef);
my $rs = BenchLib::mint($scope ? (scope => $scope, patient => '123') : ());
my @req_args;
if ($rq) {
    $path = $rq->{path};
    @req_args = ('-H', 'Content-Type: application/fhir+json', '-s',
                 "$top/bench/body.lua") if $rq->{method};
}

if ($variant eq 'G') {
    # as in bench/run.pl: Redis goes away after the worker connected
    sleep 0.5;
    $redis->stop;
}

if ($variant eq 'H' || $variant eq 'I') {
    my ($bin, $note) = BenchLib::check_speed_bin();
    print "The core's check on this body (bench/check_speed):\n";
    print `$bin 2000 $up->{dir}/data/$rq->{checked}` if $bin;
    print "($note)\n" if $note;
    print "\n";
}

# user and system CPU seconds of a process so far
sub cpu_times {
    my $tck = `getconf CLK_TCK` + 0 || 100;
    open my $fh, '<', "/proc/$_[0]/stat" or die "/proc/$_[0]/stat: $!";
    my @f = split ' ', (<$fh> =~ s/^.*\)\s*//r);
    return ($f[11] / $tck, $f[12] / $tck);
}

sub start_wrk {
    my ($out) = @_;
    my $wrk = fork // die;
    if ($wrk == 0) {
        open STDOUT, '>', $out;
        exec 'timeout', $seconds + 30, 'wrk', '-t1', '-c32', "-d${seconds}s",
             '-H', "Authorization: Bearer $rs", @req_args,
             "http://127.0.0.1:$g->{port}$path",
             $rq && $rq->{method}
                 ? ('--', $rq->{method}, "$up->{dir}/data/$rq->{body}") : ();
        exit 127;
    }
    BenchLib::track($wrk);
    return $wrk;
}

if ($ENV{BENCH_PERF_RECORD} // 1) {
    my $wrk = start_wrk("$work/wrk.out");
    sleep 1;
    system("timeout 30 perf record -q -o $work/perf.data -p $worker "
           . "-- sleep 5 >/dev/null 2>&1");
    waitpid $wrk, 0;
    print `grep -E 'Requests/sec|Non-2xx' $work/wrk.out`;
    print "perf report --sort dso (variant $variant):\n";
    print `perf report -i $work/perf.data --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^\$' | head -12`;
    print "\nperf report --sort dso,symbol (top 40):\n";
    print `perf report -i $work/perf.data --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep -v '^\$' | head -40`;
}

if ($ENV{BENCH_PERF_SYSCALLS} // 1) {
    my $stat = fork // die;
    if ($stat == 0) {
        exec 'timeout', $seconds + 30, 'perf', 'stat', '-x', ',',
             '-o', "$work/syscalls.csv", '-e', 'syscalls:sys_enter_*',
             '-e', 'context-switches', '-e', 'page-faults',
             '-p', $worker, '--', 'sleep', $seconds + 1;
        exit 127;
    }
    BenchLib::track($stat);
    sleep 0.5;
    my @t0 = cpu_times($worker);
    my $wrk = start_wrk("$work/wrk-syscalls.out");
    waitpid $wrk, 0;
    my @t1 = cpu_times($worker);
    waitpid $stat, 0;
    my ($n) = `cat $work/wrk-syscalls.out` =~ /(\d+) requests in/;
    die "bench-perf: wrk made no requests\n" unless $n;
    my (%count, $total);
    open my $fh, '<', "$work/syscalls.csv" or die "$work/syscalls.csv: $!";
    while (<$fh>) {
        my ($v, undef, $ev) = split /,/;
        next unless defined $ev && $v =~ /^\d+$/ && $v > 0;
        if ($ev eq 'context-switches' || $ev eq 'page-faults') {
            $count{$ev} = $v;
            next;
        }
        $ev =~ s/^syscalls:sys_enter_//;
        $count{$ev} = $v;
        $total += $v;
    }
    printf "\nworker CPU per request (variant %s, %d requests): "
        . "user %.2f us, system %.2f us; context switches %.3f, "
        . "page faults %.3f\n",
        $variant, $n, ($t1[0] - $t0[0]) / $n * 1e6,
        ($t1[1] - $t0[1]) / $n * 1e6,
        (delete $count{'context-switches'} // 0) / $n,
        (delete $count{'page-faults'} // 0) / $n;
    printf "system calls per request: %.2f\n", ($total // 0) / $n;
    for my $ev (sort { $count{$b} <=> $count{$a} } keys %count) {
        last if $count{$ev} / $n < 0.001;
        printf "  %-16s %8.3f\n", $ev, $count{$ev} / $n;
    }
}
