# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Token verification in the access phase: what passes, and every way a
# token is refused (docs/directives.md, docs/errors.md).  Refusals must
# never reach the upstream: each one checks --- upstream_requests: 0.

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
        add_header X-Sub $smart_sub always;
        add_header X-Client $smart_client_id always;
        add_header X-Patient $smart_patient always;
        add_header X-Scope $smart_scope always;
        add_header X-Reason $smart_reason always;
        add_header X-Decision $smart_decision always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_

# the same checks with the PEM key (no kid, so any RS algorithm)
our $PemLoc = <<'_EOC_';
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_key_file $TEST_NGINX_FIXTURES/rsa-1.pub.pem;
        smart_explain on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_

our $HmacLoc = <<'_EOC_';
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_hmac_secret_file $TEST_NGINX_FIXTURES/hmac.secret;
        smart_explain on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_

sub bearer { return "Authorization: Bearer $_[0]\n" }

run_tests();

__DATA__

=== TEST 1: valid RS256 token reaches the upstream with its identity
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(sub => 'alice', client_id => 'app-1',
                            patient => 'p-9', scope => ['patient/*.rs', 'openid']))
--- request
GET /fhir/Patient/p-9
--- error_code: 200
--- response_headers
X-Smart-Decision: allow ok
X-Sub: alice
X-Client: app-1
X-Patient: p-9
X-Scope: patient/*.rs openid
X-Reason: ok
X-Decision: allow
--- response_body_like: "uri":"/fhir/Patient/p-9"
--- upstream_requests: 1

=== TEST 2: valid ES256 token
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(alg => 'ES256'))
--- request
GET /fhir/Observation?patient=123
--- error_code: 200
--- upstream_requests: 1

=== TEST 3: valid ES384 token
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(alg => 'ES384'))
--- request
GET /fhir/Observation?patient=123
--- error_code: 200
--- upstream_requests: 1

=== TEST 4: valid RS384 token against a PEM key (no kid)
--- config eval: $::PemLoc
--- more_headers eval
::bearer(Smart::Token::mint(alg => 'RS384', kid => undef))
--- request
GET /fhir/Patient/123
--- error_code: 200
--- upstream_requests: 1

=== TEST 5: valid RS512 token against a PEM key
--- config eval: $::PemLoc
--- more_headers eval
::bearer(Smart::Token::mint(alg => 'RS512', kid => undef))
--- request
GET /fhir/Patient/123
--- error_code: 200
--- upstream_requests: 1

=== TEST 6: valid HS256 token against the sandbox secret
--- config eval: $::HmacLoc
--- more_headers eval
::bearer(Smart::Token::mint(alg => 'HS256'))
--- request
GET /fhir/Patient/123
--- error_code: 200
--- upstream_requests: 1

=== TEST 7: no token: token-missing, challenge without error
--- config eval: $::Loc
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="https://fhir.example.test"
Content-Type: application/fhir+json
Cache-Control: no-store
X-Smart-Decision: deny token-missing
X-Decision: deny
X-Reason: token-missing
--- response_headers_like
X-Correlation-ID: ^[0-9a-f]{24}-[0-9a-f]{8,}$
--- response_body_like: "code":"token-missing"
--- upstream_requests: 0

=== TEST 8: another scheme is no bearer token
--- config eval: $::Loc
--- more_headers
Authorization: Basic YWxpY2U6c2VjcmV0
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-missing"
--- upstream_requests: 0

=== TEST 9: expired token: token-expired
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(exp => time() - 3600, iat => time() - 7200))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_headers_like
WWW-Authenticate: ^Bearer realm="https://fhir.example.test", error="invalid_token"
--- response_body_like: "code":"token-expired"
--- upstream_requests: 0

=== TEST 10: expired within the leeway still passes
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(exp => time() - 20, iat => time() - 600))
--- request
GET /fhir/Patient/123
--- error_code: 200
--- upstream_requests: 1

=== TEST 11: not yet valid (nbf)
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(nbf => time() + 3600, exp => time() + 7200))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 12: issued in the future (iat)
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(iat => time() + 3600, exp => time() + 7200))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 13: wrong issuer
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(iss => 'https://evil.example.test'))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 14: wrong audience
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(aud => 'https://other-fhir.example.test'))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 15: audience array with one accepted value
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(aud => ['https://a.example.test',
                                    'https://fhir.example.test']))
--- request
GET /fhir/Patient/123
--- error_code: 200
--- upstream_requests: 1

=== TEST 16: missing exp
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(exp => undef))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 17: bad signature (one bit flipped)
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::tamper_signature(Smart::Token::mint()))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 18: payload changed after signing
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::tamper_payload(Smart::Token::mint(), sub => 'mallory'))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 19: signature stripped
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::strip_signature(Smart::Token::mint()))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 20: alg none with an empty signature
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::forge_alg_none())
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 21: alg none carrying a real RS256 signature
--- config eval: $::Loc
--- more_headers eval
my $t = Smart::Token::mint();
my ($h, $p, $s) = split /\./, $t;
my $none = Smart::Token::forge_alg_none();
my ($nh) = split /\./, $none;
::bearer("$nh.$p.$s")
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 22: the RSA public key used as an HS256 secret (algorithm confusion)
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::hs256_with_pem())
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 23: algorithm confusion against a PEM-only context
--- config eval: $::PemLoc
--- more_headers eval
::bearer(Smart::Token::hs256_with_pem(kid => undef))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 24: unknown kid
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(kid => 'rsa-2', key => 'rsa-2'))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 25: kid with path characters
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(kid => '../../../etc/passwd'))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 26: truncated token
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::truncate_token(Smart::Token::mint(), 20))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 27: token cut after the header
--- config eval: $::Loc
--- more_headers eval
my ($h) = split /\./, Smart::Token::mint();
::bearer($h)
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 28: standard-base64 characters in a segment
--- config eval: $::Loc
--- more_headers eval
my $t = Smart::Token::mint();
my ($h, $p, $s) = split /\./, $t;
substr($p, 5, 1) = '+';
::bearer("$h.$p.$s")
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 29: characters outside b64token
--- config eval: $::Loc
--- more_headers eval
::bearer('abc.d*f.ghi')
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 30: header that is not a JSON object
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::with_header(-raw => '["RS256"]'))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 31: payload that is not a JSON object
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::with_payload_json('[1,2,3]'))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 32: deeply nested payload JSON
--- config eval: $::Loc
--- more_headers eval
my $exp = time() + 300;
::bearer(Smart::Token::with_payload_json(
    '{"iss":"https://issuer.example.test","aud":"https://fhir.example.test",'
    . qq{"exp":$exp,"x":} . ('[' x 2000) . (']' x 2000) . '}'))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 33: duplicate claims
--- config eval: $::Loc
--- more_headers eval
my $exp = time() + 300;
::bearer(Smart::Token::with_payload_json(
    '{"iss":"https://issuer.example.test","aud":"https://fhir.example.test",'
    . qq{"sub":"alice","sub":"admin","exp":$exp}))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 34: oversized token (more than 16 KiB)
--- config eval: "large_client_header_buffers 4 64k;\n" . $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(padding => 'x' x 17000))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- error_log
bearer token too long
--- upstream_requests: 0

=== TEST 35: two Authorization headers
--- config eval: $::Loc
--- more_headers eval
my $t = Smart::Token::mint();
::bearer($t) . ::bearer($t)
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_headers
Content-Type: application/fhir+json
--- response_headers_like
X-Correlation-ID: ^[0-9a-f]{24}-[0-9a-f]{8,}$
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 36: lowercase "bearer" scheme is the same scheme (RFC 7235)
--- config eval: $::Loc
--- more_headers eval
"Authorization: bearer " . Smart::Token::mint() . "\n"
--- request
GET /fhir/Patient/123
--- error_code: 200
--- upstream_requests: 1

=== TEST 37: lowercase "bearer" with a forged token is still refused
--- config eval: $::Loc
--- more_headers eval
"Authorization: bearer " . Smart::Token::forge_alg_none() . "\n"
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 38: empty bearer token
--- config eval: $::Loc
--- more_headers
Authorization: Bearer
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-(invalid|missing)"
--- upstream_requests: 0

=== TEST 39: two space-separated tokens
--- config eval: $::Loc
--- more_headers eval
my $t = Smart::Token::mint();
"Authorization: Bearer $t $t\n"
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 40: token in the query string is refused
--- config eval: $::Loc
--- request eval
"GET /fhir/Patient/123?access_token=" . Smart::Token::mint()
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 41: token in the query string next to a valid header
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint())
--- request eval
"GET /fhir/Patient/123?access_token=" . Smart::Token::mint()
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 42: crit header
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(header => { crit => ['exp'] }))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 43: a jku header pointing elsewhere adds no key
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(kid => 'rsa-2', key => 'rsa-2',
    header => { jku => 'https://evil.example.test/jwks.json' }))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 44: metadata and the SMART configuration need no token
--- config eval: $::Loc
--- request eval
["GET /fhir/metadata", "GET /fhir/.well-known/smart-configuration",
 "HEAD /fhir/metadata"]
--- error_code eval
[200, 200, 200]
--- upstream_requests: 3

=== TEST 45: public endpoints are matched on the raw path only
--- config eval: $::Loc
--- request eval
["GET /fhir/%6Detadata", "POST /fhir/metadata",
 "GET /fhir/metadata/x", "GET /fhir/Metadata"]
--- error_code eval
[401, 401, 401, 401]
--- upstream_requests: 0

=== TEST 46: a well-formed correlation ID is kept and sent upstream
--- config eval: $::Loc
--- more_headers eval
"X-Correlation-ID: ticket-4711.abc_DEF\n" . ::bearer(Smart::Token::mint())
--- request
GET /fhir/Patient/123
--- error_code: 200
--- response_headers
X-Correlation-ID: ticket-4711.abc_DEF
--- response_body_like: "cid":"ticket-4711\.abc_DEF"
--- upstream_requests: 1

=== TEST 47: a malformed correlation ID is replaced, upstream sees the new one
--- config eval: $::Loc
--- more_headers eval
"X-Correlation-ID: short\n" . ::bearer(Smart::Token::mint())
--- request
GET /fhir/Patient/123
--- error_code: 200
--- response_headers_like
X-Correlation-ID: ^[0-9a-f]{24}-[0-9a-f]{8,}$
--- response_body_like: "cid":"[0-9a-f]{24}-[0-9a-f]{8,}"
--- upstream_requests: 1

=== TEST 48: the refusal carries the correlation ID in id and diagnostics
--- config eval: $::Loc
--- more_headers
X-Correlation-ID: support-case-000123
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_headers
X-Correlation-ID: support-case-000123
--- response_body_like: ^\{"resourceType":"OperationOutcome","id":"support-case-000123",.*"diagnostics":"correlation-id=support-case-000123"
--- upstream_requests: 0

=== TEST 49: the refusal is XML when the client asks for FHIR XML
--- config eval: $::Loc
--- more_headers
Accept: application/fhir+xml
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_headers
Content-Type: application/fhir+xml
--- response_body_like: ^<OperationOutcome xmlns="http://hl7.org/fhir"><id value="[^"]+"/>.*<code value="token-missing"/>
--- upstream_requests: 0

=== TEST 50: after a refused alg none token, a forged token is still refused
--- config eval: $::Loc
--- raw_request eval
[map { "GET /fhir/Patient/123 HTTP/1.1\r\nHost: localhost\r\n"
       . "Connection: close\r\nAuthorization: Bearer $_\r\n\r\n" }
 Smart::Token::forge_alg_none(),
 Smart::Token::tamper_payload(Smart::Token::mint(), sub => 'root'),
 Smart::Token::with_header(alg => 'none', kid => undef),
 Smart::Token::mint()]
--- error_code eval
[401, 401, 401, 200]
--- response_body_like eval
['"code":"token-invalid"', '"code":"token-invalid"', '"code":"token-invalid"',
 '"uri":"/fhir/Patient/123"']
--- upstream_requests: 1

=== TEST 51: $smart_claim_NAME exposes top-level string and number claims
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        add_header X-Tenant $smart_claim_tenant;
        add_header X-Level $smart_claim_level;
        add_header X-Obj "[$smart_claim_obj]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- more_headers eval
::bearer(Smart::Token::mint(tenant => 'north', level => 3, obj => { a => 1 }))
--- request
GET /fhir/Patient/123
--- error_code: 200
--- response_headers
X-Tenant: north
X-Level: 3
X-Obj: []

=== TEST 52: patient claim name is configurable, numeric values become text
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_patient_claim patient_id;
        smart_scope_claim scp;
        add_header X-Patient $smart_patient;
        add_header X-Scope $smart_scope;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- more_headers eval
::bearer(Smart::Token::mint(patient => 'ignored', patient_id => 4711,
                            scope => undef, scp => ['user/*.rs', 'openid']))
--- request
GET /fhir/Patient/123
--- error_code: 200
--- response_headers
X-Patient: 4711
X-Scope: user/*.rs openid

=== TEST 53: scp is read when the scope claim is absent
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(scope => undef, scp => 'patient/Observation.rs'))
--- request
GET /fhir/Observation?patient=123
--- error_code: 200
--- response_headers
X-Scope: patient/Observation.rs

=== TEST 54: smart_error_contact is appended to the message
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_error_contact "Call the service desk at x4357.";
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "text":"[^"]+ Call the service desk at x4357\."
--- upstream_requests: 0

=== TEST 55: a token of the wrong algorithm for its kid (ES256 header, RSA key)
--- config eval: $::Loc
--- more_headers eval
::bearer(Smart::Token::mint(alg => 'ES256', kid => 'rsa-1'))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 56: an algorithm outside smart_algorithms is refused before any key
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_algorithms ES256;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- more_headers eval
::bearer(Smart::Token::mint(alg => 'RS256'))
--- request
GET /fhir/Patient/123
--- error_code: 401
--- response_body_like: "code":"token-invalid"
--- upstream_requests: 0

=== TEST 57: smart off passes everything untouched
--- config
    location /fhir/ {
        smart off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /fhir/Patient/123
--- error_code: 200
--- response_headers
!X-Correlation-ID
--- upstream_requests: 1
