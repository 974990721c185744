# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Keys fetched from the IdP by subrequest (smart_jwks_request): first fetch,
# rotation picked up without a reload, failures answered 503
# configuration-invalid (never 401), last good key set kept.
#
# The "IdP" is a WebDAV location of the server under test: a test block
# PUTs the JWKS it wants published, then sends the requests.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

our $Srv = <<'_EOC_';
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_request /_jwks;
        smart_jwks_refresh 10m;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }

    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/idp/jwks.json;
        proxy_max_temp_file_size 0;
    }

    # the IdP's jwks_uri: read-only, and it refuses any credential, so a
    # fetch that carried the client's Authorization or Cookie would fail
    location /idp/ {
        root $TEST_NGINX_HTML_DIR;
        if ($http_authorization) {
            return 403;
        }
        if ($http_cookie) {
            return 403;
        }
    }

    location /idp-admin/ {
        alias $TEST_NGINX_HTML_DIR/idp/;
        dav_methods PUT;
        create_full_put_path on;
    }
_EOC_

sub fixture {
    my ($name) = @_;
    open my $fh, '<', Smart::Token::fixture_path($name) or die "$name: $!";
    local $/;
    return scalar <$fh>;
}

sub put_jwks {
    my ($body) = @_;
    return "PUT /idp-admin/jwks.json HTTP/1.1\r\nHost: localhost\r\n"
         . "Connection: close\r\nContent-Length: " . length($body)
         . "\r\n\r\n$body";
}

sub get_with {
    my ($token, $path) = @_;
    $path ||= '/fhir/Patient/123';
    return "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
         . "Authorization: Bearer $token\r\n\r\n";
}

run_tests();

__DATA__

=== TEST 1: first use fetches the JWKS, then tokens verify
--- config eval: $::Srv
--- raw_request eval
[::put_jwks(::fixture('jwks-1.json')),
 ::get_with(Smart::Token::mint()),
 ::get_with(Smart::Token::mint(alg => 'ES256'))]
--- error_code eval
[201, 200, 200]
--- error_log
smart: JWKS from "/_jwks" loaded: 3 keys
--- upstream_requests: 2

=== TEST 2: the client's credentials and cookies never travel to the IdP
--- config eval: $::Srv
--- raw_request eval
[::put_jwks(::fixture('jwks-1.json')),
 "GET /fhir/Patient/123 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
 . "Cookie: session=secret\r\n"
 . "Authorization: Bearer " . Smart::Token::mint() . "\r\n\r\n"]
--- error_code eval
[201, 200]
--- upstream_requests: 1

=== TEST 3: key rotation: a token signed by a newly published key is accepted without a reload
--- config eval: $::Srv
--- raw_request eval
[::put_jwks(::fixture('jwks-1.json')),
 ::get_with(Smart::Token::mint()),
 ::put_jwks(::fixture('jwks-2.json')),
 ::get_with(Smart::Token::mint(kid => 'rsa-2', key => 'rsa-2')),
 ::get_with(Smart::Token::mint())]
--- error_code eval
[201, 200, 204, 200, 200]
--- error_log eval
[qr/smart: JWKS from "\/_jwks" loaded: 3 keys/,
 qr/smart: JWKS from "\/_jwks" loaded: 2 keys/]
--- upstream_requests: 3

=== TEST 4: an unknown kid triggers at most one early refresh per 30 s
--- config eval: $::Srv
--- raw_request eval
[::put_jwks(::fixture('jwks-1.json')),
 ::get_with(Smart::Token::mint()),
 ::get_with(Smart::Token::mint(kid => 'nope-1', key => 'rsa-2')),
 ::put_jwks(::fixture('jwks-2.json')),
 ::get_with(Smart::Token::mint(kid => 'rsa-2', key => 'rsa-2'))]
--- error_code eval
[201, 200, 401, 204, 401]
--- response_body_like eval
['', '', '"code":"token-invalid"', '', '"code":"token-invalid"']
--- upstream_requests: 1

=== TEST 5: IdP unreachable at first use: 503 configuration-invalid, never 401
--- config
    location /fhir/ {
        smart on;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_request /_jwks;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }

    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:1/jwks.json;
    }
--- more_headers eval
"Authorization: Bearer " . Smart::Token::mint() . "\n"
--- request eval
["GET /fhir/Patient/123", "GET /fhir/Patient/123"]
--- error_code eval
[503, 503]
--- response_headers eval
["Content-Type: application/fhir+json\n!WWW-Authenticate",
 "Content-Type: application/fhir+json\n!WWW-Authenticate"]
--- response_body_like eval
['"code":"configuration-invalid"', '"code":"configuration-invalid"']
--- error_log
smart: JWKS from "/_jwks" refused: status 502
--- upstream_requests: 0

=== TEST 6: an empty JWKS at first use: 503 configuration-invalid
--- config eval: $::Srv
--- raw_request eval
[::put_jwks(::fixture('jwks-empty.json')),
 ::get_with(Smart::Token::mint())]
--- error_code eval
[201, 503]
--- response_body_like eval
['', '"code":"configuration-invalid"']
--- error_log
no usable signing key
--- upstream_requests: 0

=== TEST 7: a JWKS that is not JSON at first use: 503
--- config eval: $::Srv
--- raw_request eval
[::put_jwks('<html>502 Bad Gateway</html>'),
 ::get_with(Smart::Token::mint())]
--- error_code eval
[201, 503]
--- response_body_like eval
['', '"code":"configuration-invalid"']
--- upstream_requests: 0

=== TEST 8: a broken refresh keeps the last good key set
--- config eval: $::Srv
--- raw_request eval
[::put_jwks(::fixture('jwks-1.json')),
 ::get_with(Smart::Token::mint()),
 ::put_jwks('{"keys":'),
 ::get_with(Smart::Token::mint(kid => 'rsa-2', key => 'rsa-2')),
 ::get_with(Smart::Token::mint()),
 ::get_with(Smart::Token::mint(alg => 'ES384'))]
--- error_code eval
[201, 200, 204, 401, 200, 200]
--- error_log
keeping the last good key set
--- upstream_requests: 3

=== TEST 9: IdP answering 404: 503 configuration-invalid
--- config eval: $::Srv
--- request
GET /fhir/Patient/123
--- more_headers eval
"Authorization: Bearer " . Smart::Token::mint() . "\n"
--- error_code: 503
--- response_body_like: "code":"configuration-invalid"
--- error_log
refused: status 404
--- upstream_requests: 0

=== TEST 10: a JWKS with a private key is refused as a whole
--- config eval: $::Srv
--- raw_request eval
my $jwks = '{"keys":[{"kty":"EC","crv":"P-256","kid":"x",'
    . '"x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",'
    . '"y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",'
    . '"d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}]}';
[::put_jwks($jwks), ::get_with(Smart::Token::mint())]
--- error_code eval
[201, 503]
--- upstream_requests: 0

=== TEST 11: POST requests fetch the JWKS with GET and no body
--- config eval: $::Srv
--- raw_request eval
my $body = '{"resourceType":"Patient"}';
[::put_jwks(::fixture('jwks-1.json')),
 "POST /fhir/Patient HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
 . "Authorization: Bearer " . Smart::Token::mint(scope => 'user/*.cruds')
 . "\r\nContent-Type: application/fhir+json\r\n"
 . "Content-Length: " . length($body) . "\r\n\r\n$body"]
--- error_code eval
[201, 200]
--- upstream_requests: 1

=== TEST 12: the key set is refreshed in the background every smart_jwks_refresh
--- config
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_request /_jwks;
        smart_jwks_refresh 1s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }

    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/idp/jwks.json;
    }

    location /idp/ {
        root $TEST_NGINX_HTML_DIR;
    }

    location /idp-admin/ {
        alias $TEST_NGINX_HTML_DIR/idp/;
        dav_methods PUT;
        create_full_put_path on;
    }
--- raw_request eval
[::put_jwks(::fixture('jwks-1.json')),
 ::get_with(Smart::Token::mint(alg => 'ES256')),
 ::put_jwks(::fixture('jwks-2.json')),
 ::get_with(Smart::Token::mint(alg => 'ES256')),
 ::get_with(Smart::Token::mint(alg => 'ES256', exp => time() + 400))]
--- request_delay eval
[0, 0, 0, 1.5, 0.5]
--- error_code eval
[201, 200, 204, 200, 401]
--- error_log eval
[qr/smart: fetching JWKS from "\/_jwks" \(refresh\)/,
 qr/smart: JWKS from "\/_jwks" loaded: 2 keys/]
--- upstream_requests: 2

=== TEST 90: smart_status says when the key set was last loaded or refused, and the build
--- config eval: $::Srv . "    location = /status { smart_status; }\n"
--- raw_request eval
["GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
 ::put_jwks(::fixture('jwks-1.json')),
 ::get_with(Smart::Token::mint()),
 ::put_jwks('{"keys": "not a key set"}'),
 ::get_with(Smart::Token::mint(kid => 'unknown-kid')),
 "GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"]
--- error_code eval
[200, 201, 200, 204, 401, 200]
--- response_body_like eval
[qr/^smart_build_info\{version="\d+\.\d+\.\d+",nginx="1\.\d+\.\d+",openssl="[^"]+",jansson="[\d.]+"\}[ ]1$
.*^smart_worker_processes[ ]1$
.*^smart_jwks_last_refresh_timestamp_seconds\{result="ok"\}[ ]0$
.*^smart_jwks_last_refresh_timestamp_seconds\{result="failed"\}[ ]0$
.*^smart_jwks_age_seconds[ ]-1$/msx,
 '', '', '', '',
 qr/^smart_jwks_last_refresh_timestamp_seconds\{result="ok"\}[ ]1[7-9]\d{8}$
.*^smart_jwks_last_refresh_timestamp_seconds\{result="failed"\}[ ]1[7-9]\d{8}$
.*^smart_jwks_age_seconds[ ][0-2]$/msx]
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    # Prometheus's own checker, where installed (scripts/install-deps test)
    SKIP: {
        Test::More::skip('promtool not installed', 1) unless -x '/usr/bin/promtool';
        my $f = "$ENV{TEST_NGINX_SERVROOT}/status.prom";
        open my $o, '>', $f or die "$f: $!";
        print {$o} $r->[-1]{body};
        close $o;
        my $out = `/usr/bin/promtool check metrics < $f 2>&1`;
        Test::More::is($? >> 8, 0, "$name - promtool check metrics")
            or Test::More::diag($out);
    }
}

=== TEST 91: proxy_cache on the JWKS location: a cached key set (a file buffer) is read, not refused
--- http_config
    proxy_cache_path $TEST_NGINX_SERVROOT/jwks-cache keys_zone=jwks:1m;
    # Debian's nginx.conf: a cached answer then stays a file buffer
    sendfile on;
--- config eval
my $c = $::Srv;
$c =~ s{proxy_max_temp_file_size 0;}{proxy_cache jwks; proxy_cache_key jwks; proxy_cache_valid 200 10m;};
$c . "    location = /warm {\n"
   . "        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/idp/jwks.json;\n"
   . "        proxy_cache jwks; proxy_cache_key jwks; proxy_cache_valid 200 10m;\n"
   . "        add_header X-Cache \$upstream_cache_status always;\n"
   . "    }\n"
--- raw_request eval
[::put_jwks(::fixture('jwks-1.json')),
 "GET /warm HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
 "GET /warm HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
 ::get_with(Smart::Token::mint())]
--- error_code eval
[201, 200, 200, 200]
--- response_headers eval
['', 'X-Cache: MISS', 'X-Cache: HIT', '']
--- error_log
smart: JWKS from "/_jwks" loaded: 3 keys
--- no_error_log
file buffer
