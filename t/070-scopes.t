# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# SMART scopes in the access phase, end to end with real tokens
# (docs/scopes.md): allowed requests reach the upstream (narrowed where the rules
# say so, visible in the URI the upstream received), refused ones get 403
# with the needed scope and never reach it.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

our $Loc = <<'_EOC_';
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_explain on;
        add_header X-Decision $smart_decision always;
        add_header X-Reason $smart_reason always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_

sub token {
    my (%o) = @_;
    return Smart::Token::mint(exp => time() + 600, %o);
}

sub get {
    my ($path, $token, @headers) = @_;
    return "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
         . "Authorization: Bearer $token\r\n"
         . join('', map { "$_\r\n" } @headers) . "\r\n";
}

sub send_body {
    my ($method, $path, $token, $body, $ctype) = @_;
    $ctype ||= 'application/fhir+json';
    return "$method $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
         . "Authorization: Bearer $token\r\nContent-Type: $ctype\r\n"
         . "Content-Length: " . length($body) . "\r\n\r\n$body";
}

our $P = token(scope => 'launch/patient patient/*.rs', patient => 'p1');

run_tests();

__DATA__

=== TEST 1: patient scope reads its own patient
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Patient/p1', $::P)]
--- error_code: 200
--- response_headers
X-Decision: allow
X-Reason: ok
--- upstream_requests: 1

=== TEST 2: another patient's record: 403 patient-mismatch, nothing upstream
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Patient/p2', $::P)]
--- error_code: 403
--- response_headers
Content-Type: application/fhir+json
X-Decision: deny
X-Reason: patient-mismatch
--- response_headers_like
WWW-Authenticate: ^Bearer realm="https://fhir\.example\.test", error="insufficient_scope"
--- response_body_like: "code":"patient-mismatch".*"diagnostics":"correlation-id=
--- upstream_requests: 0

=== TEST 3: a search without the patient parameter is narrowed to the patient
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Observation?code=1234-5', $::P)]
--- error_code: 200
--- response_body_like: "uri":"/fhir/Observation\?code=1234-5&(patient|subject)=p1"
--- upstream_requests: 1

=== TEST 4: a search for another patient is refused
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Observation?patient=p2', $::P),
 ::get('/fhir/Observation?patient=p1,p2', $::P),
 ::get('/fhir/Observation?patient=Patient/p1&patient=p2', $::P)]
--- error_code eval
[403, 403, 403]
--- response_body_like eval
[('"code":"patient-mismatch"') x 3]
--- upstream_requests: 0

=== TEST 5: the patient's own search passes unchanged, in each form
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Observation?patient=p1', $::P),
 ::get('/fhir/Observation?subject=Patient/p1', $::P),
 ::get('/fhir/Patient/p1/Observation', $::P)]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"uri":"/fhir/Observation\?patient=p1"',
 '"uri":"/fhir/Observation\?subject=Patient/p1"',
 '"uri":"/fhir/Patient/p1/Observation"']
--- upstream_requests: 3

=== TEST 6: smart_patient_search deny refuses instead of narrowing
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_patient_search deny;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- raw_request eval
[::get('/fhir/Observation?code=1234-5', $::P)]
--- error_code: 403
--- upstream_requests: 0

=== TEST 7: patient scopes without a patient claim grant nothing
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Observation?patient=p1',
       ::token(scope => 'patient/*.rs', patient => undef))]
--- error_code: 403
--- response_body_like: "code":"patient-context-missing"
--- upstream_requests: 0

=== TEST 8: a write needs write letters: 403 with the scope asked for
--- config eval: $::Loc
--- raw_request eval
[::send_body('POST', '/fhir/Observation', $::P,
    '{"resourceType":"Observation","status":"final",'
    . '"subject":{"reference":"Patient/p1"}}')]
--- error_code: 403
--- response_headers_like
WWW-Authenticate: error="insufficient_scope", scope="patient/Observation\.c"
--- response_body_like: "code":"scope-insufficient"
--- upstream_requests: 0

=== TEST 9: a patient-scoped write with a foreign compartment reference is refused
--- config eval: $::Loc
--- raw_request eval
my $w = ::token(scope => 'patient/Observation.cruds', patient => 'p1');
[::send_body('POST', '/fhir/Observation', $w,
    '{"resourceType":"Observation","status":"final",'
    . '"subject":{"reference":"Patient/p1"}}'),
 ::send_body('POST', '/fhir/Observation', $w,
    '{"resourceType":"Observation","status":"final",'
    . '"subject":{"reference":"Patient/p2"}}'),
 ::send_body('POST', '/fhir/Observation', $w,
    '{"resourceType":"Condition","subject":{"reference":"Patient/p1"}}')]
--- error_code eval
[200, 403, 400]
--- upstream_requests: 1

=== TEST 10: user scopes allow by type
--- config eval: $::Loc
--- raw_request eval
my $u = ::token(scope => 'user/Observation.rs user/Patient.r',
                patient => undef);
[::get('/fhir/Observation?code=1234-5', $u), ::get('/fhir/Patient/p9', $u),
 ::get('/fhir/Condition?patient=p9', $u)]
--- error_code eval
[200, 200, 403]
--- response_body_like eval
['"uri":"/fhir/Observation\?code=1234-5"', '', '"code":"scope-insufficient"']
--- upstream_requests: 2

=== TEST 11: a granular scope narrows a search that omits its parameter
--- config eval: $::Loc
--- raw_request eval
my $g = ::token(scope => 'user/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory',
                patient => undef);
[::get('/fhir/Observation?code=1234-5', $g),
 ::get('/fhir/Observation?category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs', $g)]
--- error_code eval
[200, 403]
--- response_body_like eval
['"uri":"/fhir/Observation\?code=1234-5&category=', '"code":"scope-insufficient"']
--- upstream_requests: 1

=== TEST 12: a transaction with one denied entry is refused as a whole
--- config eval: $::Loc
--- raw_request eval
my $w = ::token(scope => 'patient/Observation.cruds', patient => 'p1');
[::send_body('POST', '/fhir/', $w, '{"resourceType":"Bundle","type":"transaction","entry":['
 . '{"resource":{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/p1"}},'
 . '"request":{"method":"POST","url":"Observation"}},'
 . '{"resource":{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/p2"}},'
 . '"request":{"method":"POST","url":"Observation"}}]}')]
--- error_code: 403
--- response_body_like: "expression":\["Bundle\.entry\[1\]"\]
--- upstream_requests: 0

=== TEST 13: operations: $everything on the patient, unknown operations denied
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Patient/p1/$everything', $::P),
 ::get('/fhir/Patient/p1/$frobnicate', $::P),
 ::get('/fhir/$export', $::P)]
--- error_code eval
[200, 403, 403]
--- upstream_requests: 1

=== TEST 14: smart_operation grants a configured operation
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_operation $lastn rs Observation;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- raw_request eval
my $u = ::token(scope => 'user/Observation.rs', patient => undef);
[::get('/fhir/Observation/$lastn?code=1234-5', $u)]
--- error_code: 200
--- upstream_requests: 1

=== TEST 15: chains, _has and _filter are refused under patient scopes
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Observation?patient=p1&subject.name=x', $::P),
 ::get('/fhir/Patient?_has:Observation:patient:code=1234-5', $::P),
 ::get('/fhir/Observation?patient=p1&_filter=code%20eq%20x', $::P)]
--- error_code eval
[403, 403, 403]
--- upstream_requests: 0

=== TEST 16: no scopes at all: scope-insufficient
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Observation?patient=p1', ::token(scope => 'openid fhirUser'))]
--- error_code: 403
--- response_body_like: "code":"scope-insufficient"
--- upstream_requests: 0

=== TEST 17: malformed scopes never fall back to a broader one
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Observation?patient=p1',
       ::token(scope => 'patient/Observation.sr patient/*.xyz', patient => 'p1'))]
--- error_code: 403
--- upstream_requests: 0

=== TEST 18: smart_operation refuses bad arguments at nginx -t
--- config
    location /fhir/ {
        smart_operation $lastn xyz Observation;
    }
--- must_die
--- error_log
"smart_operation"

=== TEST 19: after a rewrite the rewritten URI, which the upstream receives, is judged
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        rewrite ^/fhir/chart/(.*)$ /fhir/Patient/$1 break;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- raw_request eval
[::get('/fhir/chart/p1', $::P), ::get('/fhir/chart/p2', $::P)]
--- error_code eval
[200, 403]
--- response_body_like eval
['"uri":"/fhir/Patient/p1"', '"code":"patient-mismatch"']
--- upstream_requests: 1
