# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# smart_token_cache: verified tokens shared by the workers, scoped to the
# policy that verified them, and still refused once expired.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

our $Http = <<'_EOC_';
    smart_token_cache tokens 1m;
_EOC_

our $Srv = <<'_EOC_';
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_leeway 0;
        add_header X-Sub $smart_sub always;
        add_header X-Scope $smart_scope always;
        add_header X-Tenant $smart_claim_tenant always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }

    # same keys, another issuer: a token cached above is no hit here
    location /other/ {
        smart on;
        smart_fhir_base /other/;
        smart_issuer https://other-issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_

sub get_with {
    my ($token, $path) = @_;
    $path ||= '/fhir/Patient/123';
    return "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
         . "Authorization: Bearer $token\r\n\r\n";
}

our $Token = Smart::Token::mint(sub => 'carol', tenant => 'north',
                                scope => 'user/*.rs openid');

run_tests();

__DATA__

=== TEST 1: the second use of a token is a cache hit with the same identity
--- http_config eval: $::Http
--- config eval: $::Srv
--- raw_request eval
[::get_with($::Token), ::get_with($::Token)]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Sub: carol\nX-Scope: user/*.rs openid\nX-Tenant: north",
 "X-Sub: carol\nX-Scope: user/*.rs openid\nX-Tenant: north"]
--- error_log
smart: token cache hit
--- upstream_requests: 2

=== TEST 2: a cached token is refused once it has expired
--- http_config eval: $::Http
--- config eval: $::Srv
--- raw_request eval
my $t = Smart::Token::mint(exp => time() + 2, iat => time() - 1);
[::get_with($t), ::get_with($t), ::get_with($t)]
--- request_delay eval
[0, 0, 3]
--- error_code eval
[200, 200, 401]
--- response_body_like eval
['', '', '"code":"token-expired"']
--- upstream_requests: 2

=== TEST 3: a token cached under one policy is no hit under another
--- http_config eval: $::Http
--- config eval: $::Srv
--- raw_request eval
[::get_with($::Token), ::get_with($::Token, '/other/Patient/123'),
 ::get_with($::Token)]
--- error_code eval
[200, 401, 200]
--- response_body_like eval
['', '"code":"token-invalid"', '']
--- upstream_requests: 2

=== TEST 4: a tampered copy of a cached token is not a hit
--- http_config eval: $::Http
--- config eval: $::Srv
--- raw_request eval
[::get_with($::Token),
 ::get_with(Smart::Token::tamper_signature($::Token)),
 ::get_with(Smart::Token::tamper_payload($::Token, sub => 'root'))]
--- error_code eval
[200, 401, 401]
--- upstream_requests: 1

=== TEST 5: a full cache evicts and keeps serving
--- http_config
    smart_token_cache tokens 32k;
--- config eval: $::Srv
--- raw_request eval
[map { ::get_with(Smart::Token::mint(sub => "u$_", pad => 'x' x 1500)) }
 1 .. 40]
--- error_code eval
[(200) x 40]
--- upstream_requests: 40


=== TEST 6: smart_status counts cache hits and misses and JWKS fetches
--- http_config eval: $::Http
--- config eval
$::Srv . <<'_C_';
    location /jwks/ {
        smart on;
        smart_fhir_base /jwks/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_request /_jwks;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }

    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/idp/jwks-1.json;
    }

    location /idp/ {
        alias $TEST_NGINX_FIXTURES/;
    }

    location = /status {
        smart_status;
    }
_C_
--- raw_request eval
[::get_with($::Token), ::get_with($::Token), ::get_with($::Token),
 ::get_with(Smart::Token::mint(sub => 'dave'), '/jwks/Patient/123'),
 "GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_like eval
['', '', '', '',
 qr/smart_token_cache_total\{result="hit"\}[ ]2\n
    smart_token_cache_total\{result="miss"\}[ ]2\n.*
    smart_jwks_refresh_total\{result="ok"\}[ ]1\n
    smart_jwks_refresh_total\{result="failed"\}[ ]0\n/sx]
--- upstream_requests: 4
