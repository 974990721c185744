# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# The audit trail (docs/audit.md): one record per request in Redis
# with the correlation ID returned to the client; nothing lost while Redis
# is gone (spool, replayed exactly once); a Redis that never answers does
# not hold responses; smart_audit_required fails closed; smart_status.
#
# Each file-level Redis is private (t/lib/Smart/Redis.pm); blocks use their
# own stream key.  Checks on the stream run in --- stop_hook, after nginx
# stopped, so the worker's exit handler has flushed or spooled its queue.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use Smart::Token qw(:all);
use Smart::Redis;
use MIME::Base64 qw(decode_base64);
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(sleep);
use JSON::PP ();

our $R = Smart::Redis->start;
$ENV{TEST_NGINX_REDIS_PORT} = $R->port;
$ENV{TEST_NGINX_DEAD_PORT} = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, Proto => 'tcp');
    my $p = $s->sockport; close $s; $p;
};

our @Fields = qw(v ts cid tenant client_id iss sub fhir_user patient jti
                 method resource id interaction action query decision reason
                 status outcome upstream_status upstream_ms total_ms
                 remote_addr bytes_sent worker seq prev hash);

our $Loc = <<'_EOC_';
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_tenant "clinic-$server_port";
        add_header X-Tenant $smart_tenant always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
    location = /status { smart_status; }
_EOC_

sub bearer { "Authorization: Bearer " . Smart::Token::mint(@_) . "\n" }

# The canonical form of docs/audit.md, recomputed here.
sub canonical_hash {
    my ($e) = @_;
    my $c = '';
    for my $f (@Fields) {
        next if $f eq 'hash';
        my $v = defined $e->{$f} ? $e->{$f} : '';
        $c .= "$f=" . length($v) . ":$v\n";
    }
    return sha256_hex($c);
}

our $Export = $ENV{SMART_AUDIT_EXPORT} || 'build/tools/smart-audit-export';

sub run_export { my $out = `$Export @_ 2>&1`; return ($? >> 8, $out) }

sub cid_of { $_[0]{headers}{'x-correlation-id'}[0] }

# Every record exactly once, fields complete, chain intact, cids matching.
# $before: entries read before a restart (the test Redis keeps no data).
sub check_stream {
    my ($stream, $resps, $name, $before) = @_;
    my @e = (@{ $before || [] }, $R->stream($stream));
    is(scalar @e, scalar @$resps, "$name - one record per request");
    my %by_cid = map { $_->{cid} => $_ } @e;
    is(scalar keys %by_cid, scalar @e, "$name - no duplicate record");
    for my $i (0 .. $#$resps) {
        my $cid = cid_of($resps->[$i]);
        ok(defined $cid && $by_cid{$cid}, "$name - record for response $i")
            or next;
        my $rec = $by_cid{$cid};
        is(join(',', sort grep { $_ ne '_id' } keys %$rec),
           join(',', sort @Fields),
           "$name - exactly the fields of docs/audit.md ($i)");
        is($rec->{status}, $resps->[$i]{status}, "$name - status ($i)");
        is($rec->{hash}, canonical_hash($rec), "$name - hash ($i)");
    }
    my %chain;
    push @{ $chain{$_->{worker}} }, $_ for @e;
    for my $w (keys %chain) {
        my @c = sort { $a->{seq} <=> $b->{seq} } @{ $chain{$w} };
        for my $j (1 .. $#c) {
            is($c[$j]{seq}, $c[$j - 1]{seq} + 1, "$name - no gap ($w)");
            is($c[$j]{prev}, $c[$j - 1]{hash}, "$name - chained ($w)");
        }
    }
    return \%by_cid;
}

run_tests();

__DATA__

=== TEST 1: allowed, denied and upstream-error requests: one record each
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t1 maxlen=1000;
--- config eval: $::Loc
--- upstream_config
    location = /fhir/Medication/boom { return 502; }
--- more_headers eval
::bearer(sub => 'alice', client_id => 'app-1', patient => '123',
         fhirUser => 'Practitioner/9', scope => 'patient/*.rs')
--- request eval
["GET /fhir/Patient/123", "GET /fhir/Observation?patient=123&code=x",
 "GET /fhir/Medication/boom", "GET /fhir/Patient/123"]
--- error_code eval
[200, 200, 503, 200]
--- response_headers_like
X-Correlation-ID: ^[A-Za-z0-9._-]{8,128}$
X-Tenant: ^clinic-\d+$
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my $by = ::check_stream('t1', $r, $name);
    my $read = $by->{ ::cid_of($r->[0]) };
    ::is($read->{decision}, 'allow', "$name - decision");
    ::is($read->{reason}, 'ok', "$name - reason");
    ::is($read->{sub}, 'alice', "$name - sub");
    ::is($read->{client_id}, 'app-1', "$name - client_id");
    ::is($read->{patient}, '123', "$name - patient");
    ::is($read->{fhir_user}, 'Practitioner/9', "$name - fhir_user");
    ::is($read->{iss}, 'https://issuer.example.test', "$name - iss");
    ::is($read->{interaction}, 'read', "$name - interaction");
    ::is($read->{action}, 'R', "$name - action");
    ::is($read->{resource}, 'Patient', "$name - resource");
    ::is($read->{id}, '123', "$name - id");
    ::is($read->{outcome}, '0', "$name - outcome");
    ::is($read->{upstream_status}, '200', "$name - upstream status");
    ::like($read->{tenant}, qr/^clinic-\d+$/, "$name - tenant");
    ::like($read->{ts}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
         "$name - ts");
    ::is($read->{remote_addr}, '127.0.0.1', "$name - remote_addr");
    my $search = $by->{ ::cid_of($r->[1]) };
    ::is($search->{action}, 'E', "$name - search is E");
    ::is(::decode_base64($search->{query}), 'patient=123&code=x',
       "$name - query base64");
    my $boom = $by->{ ::cid_of($r->[2]) };
    ::is($boom->{upstream_status}, '502', "$name - upstream error recorded");
    ::is($boom->{outcome}, '8', "$name - outcome 8");
    SKIP: {
        Test::More::skip("$::Export not built", 8) unless -x $::Export;
        my $redis = "--redis 127.0.0.1:" . $::R->port . " --stream t1";
        my ($rc, $out) = ::run_export("$redis --verify");
        ::is($rc, 0, "$name - export --verify exit 0") or ::diag($out);
        ::like($out, qr/^4 records, 0 problems/m, "$name - verify summary");
        ($rc, $out) = ::run_export($redis);
        ::is($rc, 0, "$name - export exit 0");
        my @ev = map { JSON::PP::decode_json($_) } split /\n/, $out;
        ::is(scalar @ev, 4, "$name - one AuditEvent per record");
        my ($ae) = grep { $_->{action} eq 'R' && ($_->{outcome} // '') eq '0'
                          && grep({ ($_->{what}{identifier}{value} // '')
                                    eq ::cid_of($r->[0]) } @{ $_->{entity} })
                        } @ev;
        ::ok($ae, "$name - AuditEvent of the read");
        ::is($ae && $ae->{type}{code}, 'rest', "$name - type rest");
        ::is($ae && $ae->{subtype}[0]{code}, 'read', "$name - subtype read");
        ::is($ae && $ae->{agent}[1]{who}{reference}, 'Practitioner/9',
             "$name - user agent is the fhirUser");
    }
}
--- no_error_log
[alert]
audit record lost

=== TEST 2: denied requests are recorded with their reason
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t2;
--- config eval: $::Loc
--- more_headers eval
"X-Correlation-ID: client-supplied-0001\n"
. ::bearer(scope => 'patient/Observation.rs', patient => '123')
--- request eval
["GET /fhir/Patient/999", "GET /fhir/Patient/123"]
--- error_code eval
[403, 403]
--- response_headers
X-Correlation-ID: client-supplied-0001
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my @e = $::R->stream('t2');
    ::is(scalar @e, 2, "$name - two records");
    for my $e (@e) {
        ::is($e->{cid}, 'client-supplied-0001', "$name - client cid kept");
        ::is($e->{decision}, 'deny', "$name - deny");
        ::like($e->{reason}, qr/^(scope-insufficient|patient-mismatch)$/,
             "$name - reason");
        ::is($e->{outcome}, '4', "$name - outcome 4");
        ::is($e->{upstream_status}, '', "$name - no upstream");
    }
}
--- upstream_requests: 0

=== TEST 3: a request without a token is recorded too
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t3;
--- config eval: $::Loc
--- request
GET /fhir/Patient/123
--- error_code: 401
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my @e = $::R->stream('t3');
    ::is(scalar @e, 1, "$name - one record");
    ::is($e[0]{reason}, 'token-missing', "$name - reason");
    ::is($e[0]{cid}, ::cid_of($r->[0]), "$name - cid as returned");
    ::is($e[0]{sub}, '', "$name - no claims");
}

=== TEST 4: Redis stops mid-run: records spooled, replayed exactly once
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t4;
    smart_audit_spool $TEST_NGINX_SERVROOT/logs/spool;
--- config eval: $::Loc
--- more_headers eval
::bearer()
--- request eval
[map { "GET /fhir/Patient/123?_elements=n$_" } 0 .. 7]
--- request_hooks eval
[sub { sleep 0.5 }, undef, undef,
 sub {
     # records are written after the response: wait (bounded) until the
     # third has landed, so that the stop falls between two records
     for (1 .. 100) {
         @::Before = $::R->stream('t4');
         last if @::Before >= 3;
         sleep 0.05;
     }
     $::R->stop;
 },
 undef, undef, sub { $::R->restart }, undef]
--- request_delay eval
[0, 0, 0, 0, 0, 0, 0, 3]
--- wait: 1
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    ::is(scalar @::Before, 3, "$name - three records before the stop");
    ::check_stream('t4', $r, $name, \@::Before);
    my @left = glob("$ENV{TEST_NGINX_SERVROOT}/logs/spool.*");
    ::is("@left", '', "$name - spool files removed after replay");
}
--- error_log
replayed and removed
--- no_error_log
audit record lost

=== TEST 5: a Redis that accepts but never answers does not hold responses
--- http_config eval
"smart_audit_redis 127.0.0.1:" . ($::Silent = Smart::Redis->silent)->port
. " stream=t5;\n"
. "smart_audit_spool \$TEST_NGINX_SERVROOT/logs/spool;\n"
--- config eval: $::Loc
--- more_headers eval
::bearer()
--- request eval
[map { "GET /fhir/Patient/123?_elements=n$_" } 0 .. 5]
--- request_delay eval
[0.5, 0, 0, 0, 0.6, 0]
--- timeout: 1
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    $::Silent->stop_silent;
    my $n = 0;
    for my $f (glob("$ENV{TEST_NGINX_SERVROOT}/logs/spool.*")) {
        open my $fh, '<', $f or next;
        $n += () = <$fh>;
    }
    ::is($n, 6, "$name - every record is in the spool");
    SKIP: {
        Test::More::skip("$::Export not built", 3) unless -x $::Export;
        my ($f) = glob("$ENV{TEST_NGINX_SERVROOT}/logs/spool.*");
        my ($rc, $out) = ::run_export("--spool $f --verify");
        ::is($rc, 0, "$name - spool verifies") or ::diag($out);
        open my $in, '<', $f or die;
        my @l = <$in>;
        close $in;
        $l[2] =~ s/"status":"200"/"status":"404"/;
        splice @l, 4, 1;
        open my $o, '>', "$f.tampered" or die;
        print {$o} @l;
        close $o;
        ($rc, $out) = ::run_export("--spool $f.tampered --verify");
        ::is($rc, 1, "$name - tampered spool fails verification");
        ::like($out, qr/^altered .*seq=3\n(?s:.*)^gap .*seq=6 missing=1/m,
               "$name - altered record and gap reported") or ::diag($out);
        unlink "$f.tampered";
    }
}
--- no_error_log
audit record lost

=== TEST 6: smart_audit_required: Redis down and spool unwritable -> 503
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT stream=t6;
    smart_audit_spool /nonexistent-smart-dir/spool;
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_audit_required on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- more_headers eval
::bearer()
--- request
GET /fhir/Patient/123
--- error_code: 503
--- response_body_like: "code":"audit-unavailable"
--- response_headers_like
X-Correlation-ID: .
--- upstream_requests: 0
--- error_log
audit-unavailable
audit record lost

=== TEST 7: smart_audit_required with a writable spool serves the request
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_DEAD_PORT stream=t7;
    smart_audit_spool $TEST_NGINX_SERVROOT/logs/spool;
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_audit_required on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- more_headers eval
::bearer()
--- request
GET /fhir/Patient/123
--- upstream_requests: 1
--- no_error_log
audit-unavailable
audit record lost

=== TEST 8: smart_status: Prometheus counters summed over workers
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t8;
--- config eval: $::Loc
--- request eval
["GET /fhir/Patient/123", "GET /fhir/Patient/123", "GET /status"]
--- request_delay eval
[0.5, 0, 0.3]
--- error_code eval
[401, 401, 200]
--- response_headers_like eval
["", "", "Content-Type: ^text/plain"]
--- response_body_like eval
["", "", qr/smart_requests_total\{decision="deny",reason="token-missing"\} 2\n.*smart_audit_records_total\{result="sent"\} 2\n.*smart_audit_queue_depth 0\n.*smart_redis_connected 1\n/s]

=== TEST 9: smart_audit_required without a sink is refused
--- config
    location / { smart_audit_required on; }
--- must_die
--- error_log
"smart_audit_required" needs

=== TEST 10: smart_audit_redis with a bad parameter is refused
--- http_config
    smart_audit_redis 127.0.0.1:6379 maxlen=0;
--- config
--- must_die
--- error_log
invalid parameter "maxlen=0"

=== TEST 11: the FHIR server down: the record and $status show the 503 sent
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t11;
    log_format smart_st '$smart_correlation_id $status';
    access_log $TEST_NGINX_SERVROOT/logs/status.log smart_st;
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_DEAD_PORT;
    }
--- more_headers eval
::bearer(sub => 'alice', client_id => 'app-1', patient => '123',
         scope => 'patient/*.rs')
--- request eval
["GET /fhir/Patient/123", "GET /fhir/Observation?code=x"]
--- error_code eval
[503, 503]
--- response_body_like eval
[qr/"data-unavailable"/, qr/"data-unavailable"/]
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my $by = ::check_stream('t11', $r, $name);
    for my $resp (@$r) {
        my $rec = $by->{ ::cid_of($resp) } or next;
        ::is($rec->{reason}, 'data-unavailable', "$name - reason");
        ::is($rec->{upstream_status}, '502', "$name - NGINX's 502 kept");
    }
    my $log = "$ENV{TEST_NGINX_SERVROOT}/logs/status.log";
    open my $fh, '<', $log or return ::fail("$name - $log: $!");
    my @l = <$fh>;
    ::is(scalar(grep { / 503$/ } @l), 2, "$name - \$status is 503")
        or ::diag("@l");
}

=== TEST 12: public endpoints are recorded as capabilities, without claims
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t12;
--- config eval: $::Loc
--- request eval
["GET /fhir/metadata", "GET /fhir/.well-known/smart-configuration"]
--- error_code eval
[200, 200]
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my $by = ::check_stream('t12', $r, $name);
    for my $resp (@$r) {
        my $rec = $by->{ ::cid_of($resp) } or next;
        ::is($rec->{interaction}, 'capabilities', "$name - interaction");
        ::is($rec->{action}, 'R', "$name - action");
        ::is($rec->{decision}, 'allow', "$name - decision");
        ::is($rec->{client_id}, '', "$name - no claims");
    }
}
