#!/usr/bin/perl
# make bench: plain NGINX proxying against the gateway, on loopback, in
# interleaved rounds, as ratios within one round (the machine is noisy).
#
#   A plain proxy (the same request, token included, passed upstream)
#   B smart on, RS256, same token each request, token cache on
#   C as B with ES256
#   D as B with a different token on every request, token cache off: cold
#     verification of every token.  wrk cycles through 1000 pre-minted
#     tokens; with the cache on they would all be hits after the first
#     1000 requests (a run makes ~100k), and minting one token per request
#     (~1 ms of RSA signing each in Perl) for a whole run is not practical.
#     The cache miss + insert that a real cold request adds on top is in
#     the callgrind count (bench/callgrind.pl: cache on, unique tokens).
#   E as B plus a scope decision with narrowing: patient/*.rs token for
#     patient 123, GET /fhir/Observation?code=8867-4 -> upstream sees
#     code=8867-4&patient=123 (checked once with curl)
#   F as E plus the audit trail to the bench Redis (checked with XLEN)
#   G as F with its Redis stopped: records spooled (checked: spool grows)
#
# Each round runs every variant twice: closed loop at saturation (wrk
# -c32, as fast as it answers: requests/s), then paced below saturation
# (bench/paced.lua: each of 8 connections waits 1-3 ms after a response
# before its next request, the same offered load for every variant), where
# the latency is what a request costs rather than how long it queued.
#
# Environment: BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_CONNECTIONS (32),
# BENCH_PACED (1: the paced pass), BENCH_PACED_CONNECTIONS (8),
# BENCH_PACED_DELAY_MS (2), BENCH_CALLGRIND (1: append bench/callgrind.pl's
# summary).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);

use lib dirname(abs_path(__FILE__));
use BenchLib;

my $top     = $BenchLib::Top;
my $rounds  = $ENV{BENCH_ROUNDS} || 3;
my $seconds = $ENV{BENCH_SECONDS} || 10;
my $conns   = $ENV{BENCH_CONNECTIONS} || 32;
my $paced   = $ENV{BENCH_PACED} // 1;
my $pconns  = $ENV{BENCH_PACED_CONNECTIONS} || 8;
my $pdelay  = $ENV{BENCH_PACED_DELAY_MS} || 2;
my $work    = "$top/build/bench-run";

END { BenchLib::stop_all() }
$SIG{INT} = $SIG{TERM} = sub { BenchLib::stop_all(); exit 1 };

die "bench: $BenchLib::Module missing; run make module\n"
    unless -f $BenchLib::Module;
system('wrk --version >/dev/null 2>&1');
die "bench: wrk is not installed; run make deps\n" if $? == -1;

remove_tree($work);
make_path($work);

sub wrk {
    my ($c, $url, @args) = @_;
    my @script_args;
    for my $i (0 .. $#args) {
        if ($args[$i] eq '--') {
            @script_args = splice @args, $i;
            last;
        }
    }
    my $out = `timeout 120 wrk -t1 -c$c -d${seconds}s --latency @args $url @script_args 2>&1`;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    my %lat;
    while ($out =~ /^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$/mg) {
        my $v = $2 * ($3 eq 'us' ? 0.001 : $3 eq 's' ? 1000 : 1);
        $lat{$1} = $v;
    }
    my ($non2xx) = $out =~ /Non-2xx or 3xx responses:\s+(\d+)/;
    my ($n) = $out =~ /(\d+) requests in/;
    die "bench: wrk failed against $url:\n$out" unless $rps;
    die "bench: $non2xx non-2xx responses from $url\n" if $non2xx;
    return { rps => $rps, p50 => $lat{50}, p99 => $lat{99}, n => $n };
}

my $up = BenchLib::upstream($work);
my $redis_f = BenchLib::redis();
my $redis_g = BenchLib::redis();

my $smart = BenchLib::smart_loc();
my $cache = 'smart_token_cache tokens 10m;';
my %gw;
$gw{A} = BenchLib::gateway($work, 'A', $up->{port}, '', '');
$gw{B} = BenchLib::gateway($work, 'B', $up->{port}, $cache, $smart);
$gw{C} = BenchLib::gateway($work, 'C', $up->{port}, $cache, $smart);
$gw{D} = BenchLib::gateway($work, 'D', $up->{port}, '', $smart);
$gw{E} = BenchLib::gateway($work, 'E', $up->{port}, $cache, $smart);
for my $v (qw(F G)) {
    my $rp = ($v eq 'F' ? $redis_f : $redis_g)->port;
    $gw{$v} = BenchLib::gateway($work, $v, $up->{port}, <<"_A_", $smart);
    $cache
    smart_audit_redis 127.0.0.1:$rp stream=bench maxlen=100000;
    smart_audit_spool \$DIR/spool/audit;
_A_
}
# G: its Redis goes away after the worker connected
sleep 0.5;
$redis_g->stop;

my $rs = BenchLib::mint();
my $es = BenchLib::mint(alg => 'ES256');
BenchLib::write_tokens("$work/tokens.txt", 1000, 'cold');

my $read   = '/fhir/Patient/123';
my $search = '/fhir/Observation?code=8867-4';
my $auth   = "'Authorization: Bearer $rs'";

sub url { "http://127.0.0.1:$gw{$_[0]}{port}$_[1]" }

# --- one-off checks: narrowing, records arriving, spool growing ----------
{
    my $h = `curl -s -o /dev/null -D - -H $auth '${\ url('E', $search)}'`;
    my ($args) = $h =~ /^X-Upstream-Args:\s*(\S*)\r?$/mi;
    die "bench: E not narrowed:\n$h" unless defined $args
        && $args =~ /(^|&)patient=123(&|$)/;
    print STDERR "check E: upstream saw ?$args (client sent ?code=8867-4)\n";
}

my %worker = map { $_ => BenchLib::worker_pid($gw{$_}{pid}) } keys %gw;
my $up_worker = BenchLib::worker_pid($up->{pid});
my $tck = `getconf CLK_TCK` + 0 || 100;

# user + system CPU seconds of a process so far
sub cpu {
    open my $fh, '<', "/proc/$_[0]/stat" or die "/proc/$_[0]/stat: $!";
    my @f = split ' ', (<$fh> =~ s/^.*\)\s*//r);
    return ($f[11] + $f[12]) / $tck;
}

# CPU seconds of wrk (children of this process) so far
sub wrk_cpu {
    my (undef, undef, $cu, $cs) = times;
    return $cu + $cs;
}

# every process of the run that does work per request: the gateway's
# worker, the upstream's worker, F's Redis, and wrk
sub cpu_all {
    my ($v) = @_;
    return {
        gw    => cpu($worker{$v}),
        up    => cpu($up_worker),
        redis => $v eq 'F' ? cpu($redis_f->{pid}) : 0,
        wrk   => wrk_cpu(),
    };
}

sub cpu_per_req {
    my ($x, $c0, $c1) = @_;
    $x->{$_} = ($c1->{$_} - $c0->{$_}) / $x->{n} * 1e6
        for qw(gw up redis wrk);
    $x->{cpu} = $x->{gw};
    $x->{total} = $x->{gw} + $x->{up} + $x->{redis} + $x->{wrk};
}

# records ever added to the stream (XLEN stops at maxlen ~100000)
sub added {
    my $r = eval { $_[0]->cmd('XINFO', 'STREAM', 'bench') } or return 0;
    my %i = @$r;
    return $i{'entries-added'} // $i{length};
}

# variant => [path, Authorization header or undef, tokens file or undef]
my %req = (
    A => [$read,   $auth],
    B => [$read,   $auth],
    C => [$read,   "'Authorization: Bearer $es'"],
    D => [$read,   undef, "$work/tokens.txt"],
    E => [$search, $auth],
    F => [$search, $auth],
    G => [$search, $auth],
);

sub run_variant {
    my ($v, $is_paced) = @_;
    my ($path, $hdr, $tokens) = @{ $req{$v} };
    my @a = defined $hdr ? ('-H', $hdr) : ();
    if ($is_paced) {
        push @a, '-s', "$top/bench/paced.lua", '--', $pdelay,
            defined $tokens ? $tokens : ();
    } elsif (defined $tokens) {
        push @a, '-s', "$top/bench/cycle.lua", '--', $tokens;
    }
    return wrk($is_paced ? $pconns : $conns, url($v, $path), @a);
}

my @order = qw(A B C D E F G);
my (%res, %pres, %xlen, %spool);

for my $r (1 .. $rounds) {
    for my $v (@order) {
        my $x0 = $v eq 'F' ? added($redis_f) : 0;
        my $s0 = $v eq 'G' ? BenchLib::spool_bytes($gw{G}{dir}) : 0;
        my $c0 = cpu_all($v);
        my $x = run_variant($v, 0);
        cpu_per_req($x, $c0, cpu_all($v));
        push @{ $res{$v} }, $x;
        my $note = '';
        if ($v eq 'F') {
            sleep 0.3;
            my $x1 = added($redis_f);
            $note = sprintf " XLEN %d, records added %d -> %d (%d requests)",
                $redis_f->cmd('XLEN', 'bench'), $x0, $x1, $x->{n};
            die "bench: F records did not arrive\n" unless $x1 > $x0;
        }
        if ($v eq 'G') {
            my $s1 = BenchLib::spool_bytes($gw{G}{dir});
            $note = sprintf " spool %d -> %d bytes (%d requests)", $s0, $s1,
                $x->{n};
            die "bench: G spool did not grow\n" unless $s1 > $s0;
        }
        printf STDERR "round %d %s %9.0f req/s p50 %.3f ms p99 %.3f ms "
            . "CPU us/req: gateway %.1f upstream %.1f redis %.1f wrk %.1f"
            . "%s\n", $r, $v, $x->{rps}, $x->{p50}, $x->{p99}, $x->{gw},
            $x->{up}, $x->{redis}, $x->{wrk}, $note;
    }
    next unless $paced;
    for my $v (@order) {
        my $c0 = cpu_all($v);
        my $x = run_variant($v, 1);
        cpu_per_req($x, $c0, cpu_all($v));
        push @{ $pres{$v} }, $x;
        printf STDERR "round %d %s paced %7.0f req/s p50 %.3f ms "
            . "p99 %.3f ms CPU us/req: gateway %.1f upstream %.1f redis %.1f "
            . "wrk %.1f\n", $r, $v, $x->{rps}, $x->{p50}, $x->{p99},
            $x->{gw}, $x->{up}, $x->{redis}, $x->{wrk};
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
    D => 'smart on, RS256, new token each request (cold, cache off)',
    E => 'B + scope decision with narrowing (search)',
    F => 'E + audit to Redis',
    G => 'F with Redis stopped (spool)',
);

my $table = "| variant | req/s | p50 ms | p99 ms | ratio to A "
          . "| p99 - A p99 ms | gateway worker CPU us/req "
          . "| all CPU us/req | A's all CPU / this |\n"
          . "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
for my $v (@order) {
    my @ratio = map { $res{$v}[$_]{rps} / $res{A}[$_]{rps} } 0 .. $rounds - 1;
    my @dp99 = map { $res{$v}[$_]{p99} - $res{A}[$_]{p99} } 0 .. $rounds - 1;
    my @cr = map { $res{A}[$_]{total} / $res{$v}[$_]{total} }
             0 .. $rounds - 1;
    $table .= sprintf "| %s %s | %.0f | %.3f | %.3f | %.3f | %+.3f | %.1f "
        . "| %.1f | %.3f |\n", $v,
        $label{$v}, median(map { $_->{rps} } @{ $res{$v} }),
        median(map { $_->{p50} } @{ $res{$v} }),
        median(map { $_->{p99} } @{ $res{$v} }), median(@ratio),
        median(@dp99), median(map { $_->{cpu} } @{ $res{$v} }),
        median(map { $_->{total} } @{ $res{$v} }), median(@cr);
}

my $ptable = '';
if ($paced) {
    $ptable = "| variant | req/s | p50 ms | p99 ms | p50 - A p50 ms "
            . "| p99 - A p99 ms | gateway worker CPU us/req |\n"
            . "|---|---:|---:|---:|---:|---:|---:|\n";
    for my $v (@order) {
        my @d50 = map { $pres{$v}[$_]{p50} - $pres{A}[$_]{p50} }
                  0 .. $rounds - 1;
        my @d99 = map { $pres{$v}[$_]{p99} - $pres{A}[$_]{p99} }
                  0 .. $rounds - 1;
        $ptable .= sprintf "| %s %s | %.0f | %.3f | %.3f | %+.3f | %+.3f "
            . "| %.1f |\n", $v, $label{$v},
            median(map { $_->{rps} } @{ $pres{$v} }),
            median(map { $_->{p50} } @{ $pres{$v} }),
            median(map { $_->{p99} } @{ $pres{$v} }), median(@d50),
            median(@d99), median(map { $_->{cpu} } @{ $pres{$v} });
    }
    $ptable = "Paced below saturation (wrk -t1 -c$pconns, a pause of 1 to "
            . (2 * $pdelay - 1) . " ms (mean $pdelay ms) "
            . "between a response and the next request on a connection, "
            . "medians; differences: median over rounds of the per-round "
            . "value):\n\n$ptable\n";
}

my $verify = `$top/build/bench/verify_speed $BenchLib::Fix 2000 2>&1`;

my $report = "wrk -t1 -c$conns -d${seconds}s, $rounds interleaved rounds, "
           . "medians (ratios and p99 differences: median over rounds of "
           . "the per-round value); one worker per NGINX.  \"all CPU\": "
           . "user + system CPU per request of the gateway's worker, the "
           . "upstream's worker, Redis (F) and wrk together; with both "
           . "cores saturated the ratio to A follows A's all-CPU / this."
           . "\n\n$table\n"
           . $ptable
           . "Cold verification in the core (CPU time per token):\n\n"
           . "```\n$verify```\n";

print $report;

BenchLib::stop_all();

if ($ENV{BENCH_CALLGRIND} // 1) {
    my $cg = `perl $top/bench/callgrind.pl 2>&1`;
    die "bench: callgrind failed:\n$cg" if $?;
    $report .= "\n$cg";
    print "\n$cg";
}

open my $out, '>', "$work/report.md" or die $!;
print $out $report;
close $out;
