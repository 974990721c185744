# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# smart_status (docs/directives.md): requests are counted by the decision and
# reason of their audit record ($smart_decision, $smart_reason).  An
# upstream failure smart_errors typed is decision="allow" with its code
# (the gateway allowed the request, the upstream failed it), not
# "allow ok"; a refusal is decision="deny" with its code.  Two workers: the
# counters are the sum over both.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use Smart::Token qw(:all);
use Smart::Redis;

workers(2);

our $R = Smart::Redis->start;
$ENV{TEST_NGINX_REDIS_PORT} = $R->port;

our @Codes = qw(token-missing token-invalid token-expired scope-insufficient
                patient-context-missing patient-mismatch request-invalid
                request-too-large conflict rate-limited data-unavailable
                upstream-timeout write-outcome-unknown upstream-error
                not-found configuration-invalid audit-unavailable
                response-unverifiable format-unsupported
                claim-requirement-failed);

our $Smart = <<'_EOC_';
        smart on;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        add_header X-Reason $smart_reason always;
        add_header X-Decision $smart_decision always;
        proxy_read_timeout 500ms;
_EOC_

our $Config = <<"_EOC_";
    location /fhir/ {
        smart_fhir_base /fhir/;
$Smart
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location /raw/ {
        smart_fhir_base /raw/;
        smart_errors off;
$Smart
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location /down/ {
        smart_fhir_base /down/;
$Smart
        proxy_pass http://127.0.0.1:1;
    }

    location = /status { smart_status; }
_EOC_

our $Upstream = <<'_EOC_';
        location = /fhir/Patient/e500 { return 500 'trace'; }
        location = /fhir/Observation/o1 {
            if ($request_method = PUT) { return 500 'deadlock'; }
            return 200 '{"resourceType":"Observation","id":"o1"}';
        }
        location = /fhir/Patient/e502 { return 502 'lb'; }
        location = /fhir/Patient/e503 { return 503 'maintenance'; }
        location = /fhir/Patient/e504 { return 504 'slow'; }
        location = /fhir/Patient/e404 { return 404 'gone'; }
        location = /fhir/Patient/e409 { return 409 'changed'; }
        location = /fhir/Patient/e429 { return 429 'busy'; }
        location = /fhir/Patient/e400 { return 400 'bad'; }
        location = /fhir/Patient/hang {
            limit_rate 1;
            add_header X-Pad 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
            return 200 'late';
        }
        location = /raw/Patient/e500 { return 500 'trace'; }
_EOC_

our $Auth = "Authorization: Bearer "
          . Smart::Token::mint(scope => 'user/*.cruds', exp => time() + 600);

sub get {
    my ($uri, %o) = @_;
    my $m = $o{method} || 'GET';
    my @h = ("Host: localhost", "Connection: close");
    push @h, $Auth unless $o{noauth};
    my $body = $o{body} // '';
    push @h, "Content-Type: application/fhir+json",
             "Content-Length: " . length $body if length $body;
    return "$m $uri HTTP/1.1\r\n" . join('', map { "$_\r\n" } @h)
         . "\r\n$body";
}

our $Obs = '{"resourceType":"Observation","id":"o1","status":"final",'
         . '"code":{"text":"x"}}';

# request, expected status, decision, reason
our @Cases = (
    [get('/fhir/Patient/ok'),      200, 'allow', 'ok'],
    [get('/fhir/Patient/e500'),    502, 'allow', 'upstream-error'],
    [get('/fhir/Observation/o1', method => 'PUT', body => $Obs),
                                   504, 'allow', 'write-outcome-unknown'],
    [get('/fhir/Patient/e502'),    503, 'allow', 'data-unavailable'],
    [get('/fhir/Patient/e503'),    503, 'allow', 'data-unavailable'],
    [get('/fhir/Patient/e504'),    504, 'allow', 'upstream-timeout'],
    [get('/fhir/Patient/hang'),    504, 'allow', 'upstream-timeout'],
    [get('/fhir/Patient/e404'),    404, 'allow', 'not-found'],
    [get('/fhir/Patient/e409'),    409, 'allow', 'conflict'],
    [get('/fhir/Patient/e429'),    429, 'allow', 'rate-limited'],
    [get('/fhir/Patient/e400'),    400, 'allow', 'request-invalid'],
    [get('/down/Patient/1'),       503, 'allow', 'data-unavailable'],
    [get('/raw/Patient/e500'),     500, 'allow', 'ok'],
    [get('/fhir/Patient/1', noauth => 1),
                                   401, 'deny',  'token-missing'],
    [get('/fhir/Patient%2F1'),     400, 'deny',  'request-invalid'],
    [get('/fhir/Observation', method => 'POST',
         body => '{"resourceType":"Observation","note":"'
                 . ('x' x 1_100_000) . '"}'),
                                   413, 'deny',  'request-too-large'],
);

# The expected counter lines: every catalogue code for both decisions.
sub expected {
    my %n;
    $n{"$_->[2] $_->[3]"}++ for @Cases;
    my @l = ("allow ok");
    push @l, map { "allow $_" } @Codes;
    push @l, map { "deny $_" } @Codes;
    push @l, "deny other";
    my $s = '';
    for (@l) {
        my ($d, $r) = split / /;
        $s .= "smart_requests_total{decision=\"$d\",reason=\"$r\"} "
            . ($n{$_} // 0) . "\n";
    }
    return $s . "smart_requests_total{decision=\"none\",reason=\"\"} 0\n";
}

sub counters {
    my ($body) = @_;
    return join '', grep { /^smart_requests_total/ } split /^/m, $body;
}

run_tests();

__DATA__

=== TEST 1: counters follow the final reason: upstream failures are allow + their code
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=c1;
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- raw_request eval
[(map { $_->[0] } @::Cases),
 "GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"]
--- request_delay eval
[(0) x @::Cases, 1]
--- error_code eval
[(map { $_->[1] } @::Cases), 200]
--- response_headers eval
[(map { "X-Decision: $_->[2]\nX-Reason: $_->[3]" } @::Cases), "!X-Reason"]
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my $status = $r->[-1]{body};
    ::is(::counters($status), ::expected(), "$name - smart_requests_total");
    # the counters and the audit records say the same
    my @e = $::R->stream('c1');
    ::is(scalar @e, scalar @::Cases, "$name - one record per request");
    my %rec;
    $rec{"$_->{decision} $_->{reason}"}++ for @e;
    my %cnt;
    while ($status =~ /^smart_requests_total\{decision="(\w+)",reason="([\w-]*)"\} (\d+)$/mg) {
        $cnt{"$1 $2"} = $3 if $3;
    }
    ::is_deeply(\%cnt, \%rec, "$name - counters match the audit records");
}
--- no_error_log
[alert]
audit record lost

=== TEST 2: counters are kept in shared memory: a second status read sees the same sums
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Patient/e502'), ::get('/fhir/Patient/e502'),
 ::get('/fhir/Patient/e504'), ::get('/fhir/Patient/ok'),
 "GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
 "GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"]
--- request_delay eval
[0, 0, 0, 0, 0.5, 0]
--- error_code eval
[503, 503, 504, 200, 200, 200]
--- response_body_like eval
["", "", "", "",
 (qr/^smart_requests_total\{decision="allow",reason="ok"\} 1\n.*^smart_requests_total\{decision="allow",reason="data-unavailable"\} 2\n.*^smart_requests_total\{decision="allow",reason="upstream-timeout"\} 1\n.*^smart_requests_total\{decision="deny",reason="data-unavailable"\} 0\n.*^smart_requests_total\{decision="deny",reason="upstream-timeout"\} 0\n/ms) x 2]
