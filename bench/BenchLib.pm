# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
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
# The build directory: make's BUILD (exported to the recipe when given on
# the command line, `make BUILD=build/bench bench`) or BENCH_BUILD; relative
# to the top.  The module is BENCH_MODULE when set, else the one of that
# build; the scripts' work directories are under it too, so that runs
# from different build directories do not share them.
our $Build  = $ENV{BENCH_BUILD} || $ENV{BUILD} || 'build';
$Build = "$Top/$Build" unless $Build =~ m{^/};
our $Module = $ENV{BENCH_MODULE}
           || "$Build/nginx/objs/ngx_http_smart_module.so";
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
    die "bench: $Module missing; run make module (BUILD=$Build)\n"
        if $o{module} && !-f $Module;
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
        die "bench: $name exited:\n" . `cat $dir/logs/error.log $dir/logs/stdout.log 2>/dev/null`
            if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    die "bench: $name did not start:\n" . `cat $dir/logs/error.log 2>/dev/null`;
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
# it received in X-Upstream-Args (used once to show the narrowing).  That
# answer (location /, and /fhir/Observation with any other query) is what
# A-G have always read.  The response-check variants read more realistic
# bodies, written once into $DIR/data and served as static files (NGINX's
# `return` text is limited by the configuration parser's 4 KiB buffer):
#
#   GET /fhir/Observation/obs1        a ~2 KB Observation of Patient/123 (H)
#   GET /fhir/Observation/obs-other   the same of Patient/456 (H's 403 check)
#   GET /fhir/Observation?patient=123 a 50-entry searchset of Patient/123 (I)
#   GET /fhir/Observation?patient=123&_tag=mixed
#                                     the same, its last entry Patient/456
#                                     (I's 403 check)
#   GET /fhir/MedicationStatement/ms1 the stored record of Patient/123,
#                                     ETag W/"3" (J's pre-read); PUT: 200
#                                     with the new version, ETag W/"4", the
#                                     X-Bench-If-Match it got (J's gateway
#                                     sends its If-Match so) echoed in
#                                     X-Upstream-If-Match
#   .../ms-other                      the same of Patient/456
sub upstream {
    my ($work) = @_;
    my $data = "$work/upstream/data";
    make_path($data);
    write_file("$data/obs1.json", observation('obs1', '123', 2));
    write_file("$data/obs-other.json", observation('obs-other', '456', 2));
    write_file("$data/searchset.json", searchset(50, '123'));
    write_file("$data/searchset-mixed.json", searchset(50, '123', '456'));
    write_file("$data/$_-put.json", medication_statement($_, '123', 3, 1))
        for qw(ms1 ms-other);
    my $loc_ms = '';
    for ([ 'ms1', '123' ], [ 'ms-other', '456' ]) {
        my ($id, $p) = @$_;
        my $stored = medication_statement($id, $p, 3);
        my $updated = medication_statement($id, $p, 4);
        $loc_ms .= <<"_M_";
        location = /fhir/MedicationStatement/$id {
            default_type application/fhir+json;
            if (\$request_method = GET) {
                add_header ETag 'W/"3"';
                return 200 '$stored';
            }
            add_header ETag 'W/"4"';
            add_header X-Upstream-If-Match "\$http_x_bench_if_match";
            return 200 '$updated';
        }
_M_
    }
    return start_nginx($work, 'upstream', <<'_U_' . $loc_ms . "    }\n");
    open_file_cache max=16 inactive=1h;
    open_file_cache_valid 1h;
    server {
        listen 127.0.0.1:$PORT;
        location / {
            default_type application/fhir+json;
            add_header X-Upstream-Args "$args";
            return 200 '{"resourceType":"Patient","id":"123","active":true}';
        }
        location = /fhir/Observation {
            if ($args = "patient=123") {
                rewrite ^ /_data/searchset.json last;
            }
            if ($args = "patient=123&_tag=mixed") {
                rewrite ^ /_data/searchset-mixed.json last;
            }
            default_type application/fhir+json;
            add_header X-Upstream-Args "$args";
            return 200 '{"resourceType":"Patient","id":"123","active":true}';
        }
        location = /fhir/Observation/obs1 {
            default_type application/fhir+json;
            alias $DIR/data/obs1.json;
        }
        location = /fhir/Observation/obs-other {
            default_type application/fhir+json;
            alias $DIR/data/obs-other.json;
        }
        location /_data/ {
            internal;
            default_type application/fhir+json;
            alias $DIR/data/;
        }
_U_
}

sub write_file {
    my ($file, $text) = @_;
    open my $fh, '>', $file or die "$file: $!";
    print $fh $text;
    close $fh or die "$file: $!";
}

# A realistic Observation of Patient/$patient as a FHIR server writes it
# (compact JSON): meta, identifier, category and code codings, subject,
# encounter, performer, valueQuantity, interpretation, referenceRange, a
# note and $ncomp components (blood pressure panel style): 1.5 KB with
# none, +0.37 KB per component (H's obs1: 2 components, 2.25 KB).
sub observation {
    my ($id, $patient, $ncomp, $n) = @_;
    $n //= 0;
    my @comp = (
        [ '8480-6', 'Systolic blood pressure', 120 + $n % 17, 'mm[Hg]' ],
        [ '8462-4', 'Diastolic blood pressure', 78 + $n % 11, 'mm[Hg]' ],
        [ '8867-4', 'Heart rate', 64 + $n % 23, '/min' ],
        [ '9279-1', 'Respiratory rate', 14 + $n % 5, '/min' ],
        [ '2708-6', 'Oxygen saturation in Arterial blood', 97 + $n % 3,
          '%' ],
    );
    my $comps = join ',', map {
        my ($code, $display, $v, $unit) = @{ $comp[$_ % @comp] };
        qq({"code":{"coding":[{"system":"http://loinc.org","code":"$code",)
      . qq("display":"$display"}],"text":"$display"},)
      . qq("valueQuantity":{"value":$v,"unit":"$unit",)
      . qq("system":"http://unitsofmeasure.org","code":"$unit"},)
      . qq("interpretation":[{"coding":[{"system":)
      . qq("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",)
      . qq("code":"N","display":"Normal"}]}]})
    } 0 .. $ncomp - 1;
    my $day = sprintf '2026-%02d-%02d', 1 + $n % 12, 1 + $n % 28;
    my $ver = 1 + $n % 4;
    return qq({"resourceType":"Observation","id":"$id",)
      . qq("meta":{"versionId":"$ver","lastUpdated":"${day}T09:30:12.418+00:00",)
      . qq("source":"#bench-lab-feed",)
      . qq("profile":["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},)
      . qq("identifier":[{"use":"official","system":)
      . qq("urn:oid:1.2.840.114350.1.13.861.1.7.6.798268.2000",)
      . qq("value":"OBS-$id-$n"}],)
      . qq("status":"final",)
      . qq("category":[{"coding":[{"system":)
      . qq("http://terminology.hl7.org/CodeSystem/observation-category",)
      . qq("code":"vital-signs","display":"Vital Signs"}],)
      . qq("text":"Vital Signs"}],)
      . qq("code":{"coding":[{"system":"http://loinc.org","code":"85354-9",)
      . qq("display":"Blood pressure panel with all children optional"}],)
      . qq("text":"Blood pressure"},)
      . qq("subject":{"reference":"Patient/$patient","display":"Bench Patient $patient"},)
      . qq("encounter":{"reference":"Encounter/enc-$n"},)
      . qq("effectiveDateTime":"${day}T09:12:00+00:00",)
      . qq("issued":"${day}T09:30:12.418+00:00",)
      . qq("performer":[{"reference":"Practitioner/prac-7","display":"Dr Bench"}],)
      . qq("valueQuantity":{"value":72,"unit":"beats/minute",)
      . qq("system":"http://unitsofmeasure.org","code":"/min"},)
      . qq("interpretation":[{"coding":[{"system":)
      . qq("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",)
      . qq("code":"N","display":"Normal"}],"text":"Normal"}],)
      . qq("note":[{"text":"Measured seated after five minutes of rest, left arm, adult cuff."}],)
      . qq("referenceRange":[{"low":{"value":60,"unit":"/min",)
      . qq("system":"http://unitsofmeasure.org","code":"/min"},)
      . qq("high":{"value":100,"unit":"/min",)
      . qq("system":"http://unitsofmeasure.org","code":"/min"},)
      . qq("text":"60-100 /min"}])
      . ($ncomp ? qq(,"component":[$comps]) : '') . '}';
}

# A searchset page of $n Observations of Patient/$patient (0 or 1
# component each: 1.5-1.9 KB per entry, ~90 KB for 50); with $last set,
# the last entry is that patient's instead.
sub searchset {
    my ($n, $patient, $last) = @_;
    my $base = 'https://fhir.example.test/fhir';
    my @e;
    for my $i (1 .. $n) {
        my $p = defined $last && $i == $n ? $last : $patient;
        push @e, qq({"fullUrl":"$base/Observation/obs-$i",)
            . qq("resource":) . observation("obs-$i", $p, $i % 2, $i)
            . qq(,"search":{"mode":"match"}});
    }
    return qq({"resourceType":"Bundle","id":"bench-page-1",)
      . qq("meta":{"lastUpdated":"2026-12-04T10:00:00.000+00:00"},)
      . qq("type":"searchset","total":$n,)
      . qq("link":[{"relation":"self","url":"$base/Observation?patient=$patient"},)
      . qq({"relation":"next","url":"$base/Observation?patient=$patient&_getpages=bench&_getpagesoffset=$n&_count=$n"}],)
      . qq("entry":[) . join(',', @e) . ']}';
}

# A stored MedicationStatement of Patient/$patient, version $ver (~0.9 KB);
# also the body J sends (version 3 without meta is what a client PUTs).
sub medication_statement {
    my ($id, $patient, $ver, $no_meta) = @_;
    my $meta = $no_meta ? ''
        : qq("meta":{"versionId":"$ver","lastUpdated":"2026-12-0${ver}T08:00:00.000+00:00"},);
    return qq({"resourceType":"MedicationStatement","id":"$id",$meta)
      . qq("identifier":[{"system":"urn:oid:1.2.840.114350.1.13.861.1.7.2.798268",)
      . qq("value":"MS-$id"}],)
      . qq("status":"active",)
      . qq("category":{"coding":[{"system":)
      . qq("http://terminology.hl7.org/CodeSystem/medication-statement-category",)
      . qq("code":"community","display":"Community"}]},)
      . qq("medicationCodeableConcept":{"coding":[{"system":)
      . qq("http://www.nlm.nih.gov/research/umls/rxnorm","code":"314076",)
      . qq("display":"lisinopril 10 MG Oral Tablet"}],)
      . qq("text":"lisinopril 10 MG Oral Tablet"},)
      . qq("subject":{"reference":"Patient/$patient","display":"Bench Patient $patient"},)
      . qq("effectivePeriod":{"start":"2026-06-01"},)
      . qq("dateAsserted":"2026-12-01",)
      . qq("informationSource":{"reference":"Patient/$patient"},)
      . qq("reasonCode":[{"coding":[{"system":"http://snomed.info/sct",)
      . qq("code":"38341003","display":"Hypertensive disorder"}]}],)
      . qq("dosage":[{"sequence":1,"text":"10 mg once daily by mouth",)
      . qq("timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"d"}},)
      . qq("route":{"coding":[{"system":"http://snomed.info/sct",)
      . qq("code":"26643006","display":"Oral route"}]},)
      . qq("doseAndRate":[{"doseQuantity":{"value":10,"unit":"mg",)
      . qq("system":"http://unitsofmeasure.org","code":"mg"}}]}]});
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
# location /fhir/; option server => text: more of the server{} block
# (e.g. the internal location of smart_precheck_request).
sub gateway {
    my ($work, $name, $up_port, $http_extra, $loc, %o) = @_;
    my $server = delete $o{server} // '';
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
$server
    }
_G_
}

# The response-check and pre-read variants (bench/run.pl, bench/perf.pl):
# H, I, J through their own gateways, the same requests through the plain
# proxy A as A2, A3, A4, their like-for-like counterparts.  scope: the
# token's (patient 123); body: a file of upstream()'s data directory.
our %Base = (H => 'A2', I => 'A3', J => 'A4');
our %Request = (
    A2 => { path => '/fhir/Observation/obs1', scope => 'patient/*.rs',
            checked => 'obs1.json' },
    A3 => { path => '/fhir/Observation?patient=123', scope => 'patient/*.rs',
            checked => 'searchset.json', paced_connections => 1 },
    A4 => { path => '/fhir/MedicationStatement/ms1', method => 'PUT',
            body => 'ms1-put.json', scope => 'patient/*.cruds' },
);
$Request{H} = $Request{A2};
$Request{I} = $Request{A3};
$Request{J} = $Request{A4};

# H: smart_response_check on (the default, written out), as B otherwise;
# I: smart_response_check all; J: smart_precheck_request through the
# internal location /_pre/ to the upstream's /fhir/.  check_conf(): the
# http-level text, location text and gateway() options of one of them.
sub check_gateway {
    my ($work, $v, $up_port) = @_;
    my ($http, $loc, %o) = check_conf($v);
    return gateway($work, $v, $up_port, $http, $loc, %o);
}

sub check_conf {
    my ($v) = @_;
    my $loc = smart_loc();
    my %o;
    if ($v eq 'H') {
        $loc .= "            smart_response_check on;\n";
    } elsif ($v eq 'I') {
        $loc .= "            smart_response_check all;\n";
    } elsif ($v eq 'J') {
        # NGINX (the bench upstream) answers 412 to any 200 of a request
        # with If-Match that its response's ETag does not match byte for
        # byte, and a `return` has no ETag when that is tested: the
        # If-Match the gateway adds goes to the upstream as
        # X-Bench-If-Match instead (echoed back, for the one-off check)
        $loc .= "            smart_precheck_request /_pre;\n"
              . "            proxy_set_header If-Match \"\";\n"
              . "            proxy_set_header X-Bench-If-Match "
              . "\$http_if_match;\n";
        $o{server} = <<'_P_';
        location /_pre/ {
            internal;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://fhir/fhir/;
        }
_P_
    } else {
        die "bench: no check variant $v\n";
    }
    return ('smart_token_cache tokens 10m;', $loc, %o);
}

# bench/check_speed.c built into BUILD/bench/check_speed (as the Makefile
# builds verify_speed) when missing or older than its sources.  Returns
# (path, note): path undef when there is none; note says why, or that an
# older binary is used because the sources in the tree do not build now.
sub check_speed_bin {
    my $bin = "$Build/bench/check_speed";
    my @src = ("$Top/bench/check_speed.c",
               sort glob("$Top/ngx_smart_module/smart_*.[ch]"));
    my $mtime = -e $bin ? (stat $bin)[9] : 0;
    return ($bin, '') unless grep { (stat $_)[9] > $mtime } @src;
    make_path("$Build/bench");
    my @c = grep { /\.c$/ } @src;
    my $out = `${\ ($ENV{CC} || 'cc')} -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -g -Wall -Wextra -Werror -I$Top/ngx_smart_module -o $bin.new @c -ljansson -lcrypto 2>&1`;
    if ($? == 0) {
        rename "$bin.new", $bin or die "bench: $bin: $!\n";
        return ($bin, '');
    }
    unlink "$bin.new";
    my $why = "bench/check_speed.c with the core sources in the tree does "
            . "not build now";
    return -x $bin ? ($bin, "$why; the binary built before is used")
                   : (undef, "$why:\n$out");
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
