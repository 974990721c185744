# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# nginx -t refuses incomplete or contradictory configuration, naming the
# directive (docs/directives.md).

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';

run_tests();

__DATA__

=== TEST 1: smart on without smart_issuer
--- config
    location /fhir/ {
        smart on;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
    }
--- must_die
--- error_log
"smart on" requires "smart_issuer"

=== TEST 2: smart on without smart_audience
--- config
    location /fhir/ {
        smart on;
        smart_issuer https://issuer.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
    }
--- must_die
--- error_log
"smart on" requires "smart_audience"

=== TEST 3: smart on without any key source
--- config
    location /fhir/ {
        smart on;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
    }
--- must_die
--- error_log
"smart on" requires a key source

=== TEST 4: smart on at server level is checked there too
--- config
    smart on;
    location /fhir/ {
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
    }
--- must_die
--- error_log
"smart on" requires "smart_issuer"

=== TEST 5: none can never be enabled
--- config
    location /fhir/ {
        smart_algorithms RS256 none;
    }
--- must_die
--- error_log
"smart_algorithms": "none" can never be enabled

=== TEST 6: unknown algorithm
--- config
    location /fhir/ {
        smart_algorithms RS256 PS256;
    }
--- must_die
--- error_log
"smart_algorithms": unknown algorithm "PS256"

=== TEST 7: HS algorithm without an HMAC secret
--- config
    location /fhir/ {
        smart on;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_algorithms RS256 HS256;
    }
--- must_die
--- error_log
an HS algorithm is usable only with "smart_hmac_secret_file"

=== TEST 8: HMAC secret mixed with public keys
--- config
    location /fhir/ {
        smart on;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_hmac_secret_file $TEST_NGINX_FIXTURES/hmac.secret;
    }
--- must_die
--- error_log
"smart_hmac_secret_file" cannot be combined with public keys

=== TEST 9: HMAC secret mixed with smart_jwks_request
--- config
    location /fhir/ {
        smart on;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_request /_jwks;
        smart_hmac_secret_file $TEST_NGINX_FIXTURES/hmac.secret;
    }
--- must_die
--- error_log
"smart_hmac_secret_file" cannot be combined with public keys

=== TEST 10: RS algorithms with only an HMAC secret
--- config
    location /fhir/ {
        smart on;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_hmac_secret_file $TEST_NGINX_FIXTURES/hmac.secret;
        smart_algorithms HS256 RS256;
    }
--- must_die
--- error_log
"smart_algorithms" lists RS/ES algorithms but the only key is "smart_hmac_secret_file"

=== TEST 11: a JWKS file that does not exist
--- config
    location /fhir/ {
        smart_jwks_file $TEST_NGINX_FIXTURES/no-such-jwks.json;
    }
--- must_die
--- error_log
no-such-jwks.json

=== TEST 12: a JWKS file that is not JSON
--- config
    location /fhir/ {
        smart_jwks_file $TEST_NGINX_FIXTURES/rsa-1.pub.pem;
    }
--- must_die
--- error_log
"smart_jwks_file"

=== TEST 13: a JWKS file without keys
--- config
    location /fhir/ {
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-empty.json;
    }
--- must_die
--- error_log
holds no usable signing key

=== TEST 14: a private key where a public key belongs
--- config
    location /fhir/ {
        smart_key_file $TEST_NGINX_FIXTURES/rsa-1.key.pem;
    }
--- must_die
--- error_log
"smart_key_file"

=== TEST 15: keys that cannot verify any allowed algorithm
--- config
    location /fhir/ {
        smart on;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_key_file $TEST_NGINX_FIXTURES/ec-256.pub.pem;
        smart_algorithms RS256;
    }
--- must_die
--- error_log
no key of this context can verify any algorithm in "smart_algorithms"

=== TEST 16: token cache zone too small
--- http_config
    smart_token_cache tiny 4k;
--- config
    location / { return 200; }
--- must_die
--- error_log
"smart_token_cache": zone "tiny" is too small

=== TEST 17: token cache only in http
--- config
    smart_token_cache tokens 1m;
--- must_die
--- error_log
"smart_token_cache" directive is not allowed here

=== TEST 18: smart_fhir_base must be a path
--- config
    location /fhir/ {
        smart_fhir_base fhir;
    }
--- must_die
--- error_log
takes a URI prefix starting with "/"

=== TEST 19: smart_jwks_request must name a location URI
--- config
    location /fhir/ {
        smart_jwks_request http://idp.example.test/jwks;
    }
--- must_die
--- error_log
takes the URI of a location starting with "/"

=== TEST 20: bad correlation header name
--- config
    location /fhir/ {
        smart_correlation_header "X Correlation";
    }
--- must_die
--- error_log
takes a header name of letters, digits

=== TEST 21: leeway above one hour
--- config
    location /fhir/ {
        smart_leeway 2h;
    }
--- must_die
--- error_log
"smart_leeway" takes a time of at most 1h

=== TEST 22: a complete configuration starts
--- http_config
    smart_token_cache tokens 1m;
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir;
        smart_issuer https://issuer.example.test https://issuer2.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_leeway 30s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
--- request
GET /fhir/metadata
--- error_code: 200
--- upstream_requests: 1

=== TEST 23: a duplicate kid across JWKS files of one context
--- config
    location /fhir/ {
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
    }
--- must_die
--- error_log
"smart_jwks_file"
