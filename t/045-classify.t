# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# The FHIR request is classified on the raw request target, after the token
# check: ambiguous URIs, method overrides, unknown resource types and bodies
# above smart_body_max are refused with typed 400/413 responses, and nothing
# reaches the upstream.

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
        smart_body_max 4k;
        add_header X-Resource $smart_resource always;
        add_header X-Interaction $smart_interaction always;
        add_header X-Reason $smart_reason always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_

our $Auth = "Authorization: Bearer " . Smart::Token::mint(
    scope => 'user/*.cruds', exp => time() + 600) . "\n";

sub raw {
    my ($line, @headers) = @_;
    my $body = '';
    if (@headers && ref $headers[-1] eq 'SCALAR') {
        $body = ${ pop @headers };
        push @headers, 'Content-Length: ' . length $body;
    }
    (my $auth = $::Auth) =~ s/\n//;
    return "$line HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
         . join('', map { "$_\r\n" } $auth, @headers) . "\r\n$body";
}

run_tests();

__DATA__

=== TEST 1: a read is classified and its variables set
--- config eval: $::Loc
--- more_headers eval: $::Auth
--- request
GET /fhir/Observation/obs-1
--- error_code: 200
--- response_headers
X-Resource: Observation
X-Interaction: read
X-Reason: ok
--- upstream_requests: 1

=== TEST 2: every interaction of the table in docs/scopes.md
--- config eval: $::Loc
--- raw_request eval
[::raw('GET /fhir/Patient/p1/_history/2'),
 ::raw('GET /fhir/Patient/p1/_history'),
 ::raw('GET /fhir/Observation?patient=p1&code=1234-5'),
 ::raw('GET /fhir/Patient/p1/Observation'),
 ::raw('DELETE /fhir/Observation/o1'),
 ::raw('GET /fhir/Patient/p1/$everything'),
 ::raw('HEAD /fhir/Patient/p1')]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- response_headers eval
["X-Interaction: vread", "X-Interaction: history-instance",
 "X-Interaction: search-type\nX-Resource: Observation",
 "X-Interaction: search-compartment\nX-Resource: Observation",
 "X-Interaction: delete", "X-Interaction: operation",
 "X-Interaction: read"]
--- upstream_requests: 7

=== TEST 3: writes carry their body to the upstream
--- config eval: $::Loc
--- raw_request eval
[::raw('POST /fhir/Observation', 'Content-Type: application/fhir+json',
       \'{"resourceType":"Observation","status":"final"}'),
 ::raw('PUT /fhir/Observation/o1', 'Content-Type: application/fhir+json',
       \'{"resourceType":"Observation","id":"o1","status":"final"}'),
 ::raw('POST /fhir/Observation/_search',
       'Content-Type: application/x-www-form-urlencoded',
       \'patient=p1&category=laboratory')]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Interaction: create", "X-Interaction: update",
 "X-Interaction: search-type"]
--- upstream_log_like eval
[qr/POST \/fhir\/Observation /, qr/PUT \/fhir\/Observation\/o1 /,
 qr/POST \/fhir\/Observation\/_search /]
--- upstream_requests: 3

=== TEST 4: ambiguous raw URIs are refused before anything else happens
--- config eval: $::Loc
--- raw_request eval
[::raw('GET /fhir/Patient%2Fp1'),
 ::raw('GET /fhir/Patient/%2e%2e/Observation'),
 ::raw('GET /fhir/Patient/p1%00'),
 ::raw('GET /fhir/Patient/p%251'),
 ::raw('GET /fhir/Patient/p1%5C..'),
 ::raw('GET /fhir/Patient/../Observation/o1'),
 ::raw('GET /fhir/Patient/./p1'),
 ::raw('GET /fhir/Patient//p1'),
 ::raw('GET /fhir/Patient/p1;jsessionid=1'),
 ::raw('GET /fhir/%50atient/p1')]
--- error_code eval
[(400) x 10]
--- response_body_like eval
# NGINX refuses an encoded NUL itself while parsing the request line, with
# its own 400, before any module runs
[('"code":"request-invalid"') x 2, '400 Bad Request',
 ('"code":"request-invalid"') x 7]
--- upstream_requests: 0

=== TEST 5: a method override header is refused
--- config eval: $::Loc
--- raw_request eval
[::raw('POST /fhir/Patient/p1', 'X-HTTP-Method-Override: DELETE',
       \'{}'),
 ::raw('GET /fhir/Patient/p1', 'X-HTTP-Method: DELETE'),
 ::raw('GET /fhir/Patient/p1?_method=DELETE')]
--- error_code eval
[400, 400, 400]
--- response_body_like eval
[('"code":"request-invalid"') x 3]
--- upstream_requests: 0

=== TEST 6: unknown resource types are refused
--- config eval: $::Loc
--- raw_request eval
[::raw('GET /fhir/Patients/p1'), ::raw('GET /fhir/observation?code=x'),
 ::raw('GET /fhir/?_type=Observation,Secret'),
 ::raw('GET /fhir/Observation?_include=Observation:subject:Nope')]
--- error_code eval
[400, 400, 400, 400]
--- upstream_requests: 0

=== TEST 7: a path outside smart_fhir_base is refused
--- config
    location / {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- more_headers eval: $::Auth
--- request
GET /admin/Patient/p1
--- error_code: 400
--- response_body_like: "code":"request-invalid"
--- upstream_requests: 0

=== TEST 8: a body above smart_body_max is refused as request-too-large
--- config eval: $::Loc
--- raw_request eval
[::raw('POST /fhir/Observation', 'Content-Type: application/fhir+json',
       \('{"resourceType":"Observation","note":"' . ('x' x 5000) . '"}')),
 "POST /fhir/Observation HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
 . $::Auth =~ s/\n/\r\n/r
 . "Content-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n"
 . sprintf("%x\r\n%s\r\n0\r\n\r\n", 5000, 'y' x 5000)]
--- error_code eval
[413, 413]
--- response_body_like eval
[('"code":"request-too-large"') x 2]
--- upstream_requests: 0

=== TEST 9: a chunked body within smart_body_max passes
--- config eval: $::Loc
--- raw_request eval
["POST /fhir/Observation HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
 . $::Auth =~ s/\n/\r\n/r
 . "Content-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n"
 . "10\r\n{\"resourceType\":\r\n10\r\n\"Observation\"}  \r\n0\r\n\r\n"]
--- error_code: 200
--- upstream_requests: 1

=== TEST 10: the base itself takes a batch or transaction
--- config eval: $::Loc
--- raw_request eval
[::raw('POST /fhir/', 'Content-Type: application/fhir+json',
       \'{"resourceType":"Bundle","type":"batch","entry":[]}')]
--- error_code: 200
--- response_headers
X-Interaction: batch
--- upstream_requests: 1

=== TEST 11: header names are matched in any case
--- config eval: $::Loc
--- raw_request eval
(my $t = $::Auth) =~ s/^Authorization: //; $t =~ s/\n//;
my $r = sub { "$_[0] HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
              . CORE::join('', map { "$_\r\n" } @_[1 .. $#_]) . "\r\n" };
[$r->('GET /fhir/Patient/p1', "AUTHORIZATION: $t"),
 $r->('GET /fhir/Patient/p1', "authorization: $t"),
 $r->('GET /fhir/Patient/p1', "authorization: $t", "AUTHORIZATION: $t"),
 $r->('GET /fhir/Patient/p1', "authorization: $t",
      'x-http-method-override: DELETE'),
 $r->('GET /fhir/Patient/p1', "authorization: $t", 'X-Http-Method: DELETE'),
 $r->('GET /fhir/Patient/p1', "authorization: $t",
      'X-METHOD-OVERRIDE: DELETE'),
 $r->('GET /fhir/Patient/p1', "authorization: $t",
      'x-correlation-id: case-test-0001')]
--- error_code eval
[200, 200, 401, 400, 400, 400, 200]
--- response_headers_like eval
["X-Reason: ^ok\$", "X-Reason: ^ok\$", "WWW-Authenticate: ^Bearer .*invalid_token",
 "X-Reason: ^request-invalid\$", "X-Reason: ^request-invalid\$",
 "X-Reason: ^request-invalid\$", "X-Correlation-ID: ^case-test-0001\$"]
--- upstream_requests: 3

=== TEST 12: [base] without the trailing slash is the base, not a 301
The pattern of every conf-example (t/050 checks they have it): `location =
/fhir` rewrites internally to the base, so a transaction POSTed to /fhir and
a system search GET /fhir?... keep their method, body and arguments.
--- config eval
"    location = /fhir {\n        rewrite ^ /fhir/ last;\n    }\n" . $::Loc
--- raw_request eval
[::raw('POST /fhir', 'Content-Type: application/fhir+json',
       \'{"resourceType":"Bundle","type":"transaction","entry":[]}'),
 ::raw('GET /fhir?_type=Patient&name=x')]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Interaction: transaction", "X-Interaction: search-system"]
--- upstream_requests: 2
--- upstream_log_like
^POST /fhir/ 
^GET /fhir/\?_type=Patient&name=x 
