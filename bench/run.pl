#!/usr/bin/perl
# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
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
# The response check and the pre-read (issue 14), each against the same
# request through the plain proxy A (A2, A3, A4: like-for-like bases; A's
# own request and answer are unchanged), bodies from BenchLib::upstream():
#   H  GET /fhir/Observation/obs1, a 2.25 KB Observation of Patient/123,
#      patient/*.rs token for 123, cache on, smart_response_check on (the
#      default): the response is held and checked before it is released.
#      Checked once with curl: 200 with the upstream's bytes, and
#      /fhir/Observation/obs-other (Patient/456) is 403.
#   I  GET /fhir/Observation?patient=123 (limited: not narrowed), a
#      50-entry searchset of ~90 KB, smart_response_check all: every entry
#      checked.  Checked once: 200 with the upstream's bytes, and the same
#      page with its last entry Patient/456 is 403.
#   J  PUT /fhir/MedicationStatement/ms1 with a body for Patient/123,
#      patient/*.cruds token, smart_precheck_request /_pre (an internal
#      location proxying to the upstream's /fhir/): the stored record is
#      read and checked before the write goes on with If-Match W/"3".
#      Checked once: 200 and the upstream saw If-Match W/"3", and a PUT of
#      ms-other (stored for Patient/456) is 403.  While the gateway refuses
#      the write (the policy for writes by id not merged yet: 403) or does
#      not start, J and A4 are skipped with a note on stderr.
# The extra table gives each one's ratio to its base and to A, the gateway
# worker's CPU per request and (H, I) per KiB of upstream body checked.
#
# Each round runs every variant twice: closed loop at saturation (wrk
# -c32, as fast as it answers: requests/s), then paced below saturation
# (bench/paced.lua: each of 8 connections waits 1-3 ms after a response
# before its next request, the same offered load for every variant; A3 and
# I on one connection, as 8 would saturate I's worker), where the latency
# is what a request costs rather than how long it queued.
#
# Environment: BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_CONNECTIONS (32),
# BENCH_PACED (1: the paced pass), BENCH_PACED_CONNECTIONS (8),
# BENCH_PACED_DELAY_MS (2), BENCH_CALLGRIND (1: append bench/callgrind.pl's
# summary); BUILD or BENCH_BUILD (build: the build directory, whose module,
# verify_speed and check_speed are used and where the work directory
# bench-run is), BENCH_MODULE (the module .so, overrides BUILD's).

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
my $work    = "$BenchLib::Build/bench-run";

END { BenchLib::stop_all() }
$SIG{INT} = $SIG{TERM} = sub { BenchLib::stop_all(); exit 1 };

die "bench: $BenchLib::Module missing; run make module\n"
    unless -f $BenchLib::Module;
# built now, not after the rounds: the tree may change meanwhile
my ($cspeed_bin, $cspeed_note) = BenchLib::check_speed_bin();
print STDERR "bench: $cspeed_note\n" if $cspeed_note;
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
    my $out = `timeout 120 wrk -t1 -c$c -d${seconds}s --latency @args '$url' @script_args 2>&1`;
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
my $data = "$up->{dir}/data";
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
$gw{$_} = BenchLib::check_gateway($work, $_, $up->{port}) for qw(H I);
my $j_skip = '';
$gw{J} = eval { BenchLib::check_gateway($work, 'J', $up->{port}) };
$j_skip = "the gateway did not start: "
        . (($@ =~ /(\[emerg\][^\n]*)/)[0] // $@) unless $gw{J};
delete $gw{J} unless $gw{J};
$gw{$_} = $gw{A} for qw(A2 A3 A4);
# G: its Redis goes away after the worker connected
sleep 0.5;
$redis_g->stop;

my $rs = BenchLib::mint();      # patient/*.rs, patient 123
my $ws = BenchLib::mint(scope => $BenchLib::Request{J}{scope},
                        patient => '123');
my $es = BenchLib::mint(alg => 'ES256');
BenchLib::write_tokens("$work/tokens.txt", 1000, 'cold');

my $read   = '/fhir/Patient/123';
my $search = '/fhir/Observation?code=8867-4';
my $auth   = "'Authorization: Bearer $rs'";

sub url { "http://127.0.0.1:$gw{$_[0]}{port}$_[1]" }

sub slurp {
    open my $fh, '<', $_[0] or die "$_[0]: $!";
    local $/;
    return scalar <$fh>;
}

# One request with curl: (status, response header, body).
sub curl {
    my ($url, $token, $method, $body_file) = @_;
    my @c = ('curl', '-s', '-o', "$work/curl.body", '-D', "$work/curl.head",
             '-w', '%{http_code}', '-H', "Authorization: Bearer $token");
    push @c, '-X', $method, '-H', 'Content-Type: application/fhir+json',
        '--data-binary', "\@$body_file" if $method;
    open my $fh, '-|', @c, $url or die "curl: $!";
    my $status = <$fh> // '';
    close $fh;
    return ($status, slurp("$work/curl.head"), slurp("$work/curl.body"));
}

sub reason { $_[0] =~ /"urn:smart-gateway:error","code":"([^"]+)"/ ? $1 : '-' }

# --- one-off checks: narrowing, records arriving, spool growing ----------
{
    my $h = `curl -s -o /dev/null -D - -H $auth '${\ url('E', $search)}'`;
    my ($args) = $h =~ /^X-Upstream-Args:\s*(\S*)\r?$/mi;
    die "bench: E not narrowed:\n$h" unless defined $args
        && $args =~ /(^|&)patient=123(&|$)/;
    print STDERR "check E: upstream saw ?$args (client sent ?code=8867-4)\n";
}

# H: released intact; a foreign Observation refused
{
    my $want = slurp("$data/obs1.json");
    for my $v (qw(A2 H)) {
        my ($st, undef, $b) = curl(url($v, $BenchLib::Request{$v}{path}), $rs);
        die "bench: $v: $st, " . length($b) . " bytes (want 200, "
            . length($want) . " bytes as the upstream sent)\n"
            unless $st eq '200' && $b eq $want;
    }
    my ($st, undef, $b) = curl(url('H', '/fhir/Observation/obs-other'), $rs);
    die "bench: H released another patient's Observation ($st)\n"
        unless $st eq '403' && $b !~ m{Patient/456};
    printf STDERR "check H: obs1 200, %d bytes as sent; obs-other "
        . "(Patient/456) %s %s\n", length($want), $st, reason($b);
}
# I: the whole page released intact; one foreign entry refuses it
{
    my $want = slurp("$data/searchset.json");
    for my $v (qw(A3 I)) {
        my ($st, undef, $b) = curl(url($v, $BenchLib::Request{$v}{path}), $rs);
        die "bench: $v: $st, " . length($b) . " bytes (want 200, "
            . length($want) . " bytes as the upstream sent)\n"
            unless $st eq '200' && $b eq $want;
    }
    my ($st, undef, $b) = curl(url('I', '/fhir/Observation?patient=123'
                                         . '&_tag=mixed'), $rs);
    die "bench: I released a page with another patient's entry ($st)\n"
        unless $st eq '403' && $b !~ m{Patient/456};
    printf STDERR "check I: 50-entry page 200, %d bytes as sent; the same "
        . "page with its last entry Patient/456 %s %s\n", length($want), $st,
        reason($b);
}
# J: the write goes on guarded by the version read; a foreign record is
# never written.  Not yet 200: skipped, not fatal.
if ($gw{J}) {
    my $path = $BenchLib::Request{J}{path};
    my ($st, $h, $b) = curl(url('J', $path), $ws, 'PUT',
                            "$data/$BenchLib::Request{J}{body}");
    my ($im) = $h =~ /^X-Upstream-If-Match:\s*(.*?)\r?$/mi;
    if ($st ne '200') {
        $j_skip = "PUT $path answered $st " . reason($b)
                . " (writes by id under patient scopes not allowed by this "
                . "build's policy yet?)";
    } elsif (($im // '') ne 'W/"3"') {
        die "bench: J: 200 but the upstream saw If-Match '"
            . ($im // '') . "', not the version pre-read (W/\"3\")\n";
    } else {
        my ($st2, undef, $b2) = curl(url('J', '/fhir/MedicationStatement/'
                                              . 'ms-other'), $ws, 'PUT',
                                     "$data/ms-other-put.json");
        die "bench: J wrote another patient's record ($st2)\n"
            unless $st2 eq '403';
        printf STDERR "check J: PUT ms1 200, upstream saw If-Match %s; PUT "
            . "ms-other (stored for Patient/456) %s %s\n", $im, $st2,
            reason($b2);
    }
}
if ($j_skip) {
    print STDERR "bench: J skipped (and A4): $j_skip\n";
    delete $gw{$_} for qw(J A4);
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

# variant => [path, Authorization header or undef, tokens file or undef,
#             method (other than GET) or undef, body file]
my %req = (
    A => [$read,   $auth],
    B => [$read,   $auth],
    C => [$read,   "'Authorization: Bearer $es'"],
    D => [$read,   undef, "$work/tokens.txt"],
    E => [$search, $auth],
    F => [$search, $auth],
    G => [$search, $auth],
);
for my $v (qw(A2 H A3 I A4 J)) {
    my $r = $BenchLib::Request{$v};
    my $t = $r->{scope} eq 'patient/*.rs' ? $rs : $ws;
    $req{$v} = [$r->{path}, "'Authorization: Bearer $t'", undef,
                $r->{method}, $r->{body} && "$data/$r->{body}"];
}

sub run_variant {
    my ($v, $is_paced) = @_;
    my ($path, $hdr, $tokens, $method, $body) = @{ $req{$v} };
    my @a = defined $hdr ? ('-H', $hdr) : ();
    push @a, '-H', "'Content-Type: application/fhir+json'" if $method;
    if ($is_paced) {
        push @a, '-s', "$top/bench/paced.lua", '--', $pdelay,
            defined $tokens ? $tokens : $method ? '-' : (),
            $method ? ($method, $body) : ();
    } elsif (defined $tokens) {
        push @a, '-s', "$top/bench/cycle.lua", '--', $tokens;
    } elsif ($method) {
        push @a, '-s', "$top/bench/body.lua", '--', $method, $body;
    }
    # I (and A3) paced on one connection: at 8 connections its ~1.4 ms of
    # gateway CPU per request would saturate the worker
    my $pc = ($BenchLib::Request{$v} || {})->{paced_connections} || $pconns;
    return wrk($is_paced ? $pc : $conns, url($v, $path), @a);
}

# BENCH_ONLY="A A2 H": only those variants (A is always run: the ratios
# are to it), for a longer look at a few
my %only = map { $_ => 1 } 'A', split /[\s,]+/, ($ENV{BENCH_ONLY} || '');
my @order = grep { $gw{$_} && (!$ENV{BENCH_ONLY} || $only{$_}) }
            qw(A B C D E F G A2 H A3 I A4 J);
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
    A2 => 'plain proxy, read of a 2.25 KB Observation',
    H => 'B + response check of that read',
    A3 => 'plain proxy, 50-entry searchset (~90 KB)',
    I => 'B + smart_response_check all on that search',
    A4 => 'plain proxy, PUT of a MedicationStatement',
    J => 'B + pre-read of that PUT (smart_precheck_request)',
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
    $ptable = "Paced below saturation (wrk -t1 -c$pconns (A3 and I: -c1), "
            . "a pause of 1 to "
            . (2 * $pdelay - 1) . " ms (mean $pdelay ms) "
            . "between a response and the next request on a connection, "
            . "medians; differences: median over rounds of the per-round "
            . "value):\n\n$ptable\n";
}

# H, I, J against their plain counterparts
my $ctable = '';
if (my @cv = grep { $BenchLib::Base{$_} } @order) {
    my @r = 0 .. $rounds - 1;
    $ctable = "Response check and pre-read, each against the same request "
            . "through the plain proxy (its base: A2, A3, A4); CPU: the "
            . "gateway worker's user + system time per request; per KiB: "
            . "of the upstream's body, which the gateway checks (H: the "
            . "Observation, I: the page)"
            . ($paced ? "; paced: median over rounds of the difference to "
                      . "the base in the paced pass" : '')
            . ":\n\n| variant | base | req/s | ratio to base | ratio to A "
            . "| CPU us/req | base CPU us/req | added CPU us/req "
            . "| body KiB | CPU us/KiB | added CPU us/KiB "
            . ($paced ? "| paced p50 - base ms | paced p99 - base ms " : '')
            . "|\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            . ($paced ? "---:|---:|" : '') . "\n";
    for my $v (@cv) {
        my $b = $BenchLib::Base{$v};
        my $f = $BenchLib::Request{$v}{checked};
        my $kib = $f ? (-s "$data/$f") / 1024 : 0;
        my $cpu = median(map { $_->{cpu} } @{ $res{$v} });
        my $add = median(map { $res{$v}[$_]{cpu} - $res{$b}[$_]{cpu} } @r);
        $ctable .= sprintf "| %s | %s | %.0f | %.3f | %.3f | %.1f | %.1f "
            . "| %+.1f | %s | %s | %s |", $v, $b,
            median(map { $_->{rps} } @{ $res{$v} }),
            median(map { $res{$v}[$_]{rps} / $res{$b}[$_]{rps} } @r),
            median(map { $res{$v}[$_]{rps} / $res{A}[$_]{rps} } @r),
            $cpu, median(map { $_->{cpu} } @{ $res{$b} }), $add,
            $kib ? sprintf('%.2f', $kib) : '-',
            $kib ? sprintf('%.2f', $cpu / $kib) : '-',
            $kib ? sprintf('%+.2f', $add / $kib) : '-';
        $ctable .= sprintf " %+.3f | %+.3f |",
            median(map { $pres{$v}[$_]{p50} - $pres{$b}[$_]{p50} } @r),
            median(map { $pres{$v}[$_]{p99} - $pres{$b}[$_]{p99} } @r)
            if $paced;
        $ctable .= "\n";
    }
    $ctable .= "\n";
}
$ctable .= "J skipped (and A4): $j_skip\n\n" if $j_skip;

my $vbin = "$BenchLib::Build/bench/verify_speed";
my $verify = -x $vbin ? `$vbin $BenchLib::Fix 2000 2>&1`
           : "$vbin not built (make BUILD=... bench builds it)\n";
my $cspeed = $cspeed_bin
    ? `$cspeed_bin 2000 $data/obs1.json $data/searchset.json 2>&1` : '';
$cspeed .= "($cspeed_note)\n" if $cspeed_note;

my $report = "wrk -t1 -c$conns -d${seconds}s, $rounds interleaved rounds, "
           . "medians (ratios and p99 differences: median over rounds of "
           . "the per-round value); one worker per NGINX.  \"all CPU\": "
           . "user + system CPU per request of the gateway's worker, the "
           . "upstream's worker, Redis (F) and wrk together; with both "
           . "cores saturated the ratio to A follows A's all-CPU / this."
           . "\n\n$table\n"
           . $ptable
           . $ctable
           . "Cold verification in the core (CPU time per token):\n\n"
           . "```\n$verify```\n\n"
           . "The response check in the core on H's and I's bodies "
           . "(bench/check_speed: CPU time, best of 5):\n\n"
           . "```\n$cspeed```\n";

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
