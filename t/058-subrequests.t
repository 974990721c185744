# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Subrequests into a "smart on" location.  NGINX runs no access phase for
# subrequests, so auth_request, mirror or an SSI include pointed at a FHIR
# location reached the upstream without any token check; they are refused
# in the precontent phase.  The module's own JWKS fetch still works when it
# inherits "smart on" from the server.  Failed before the refusal was added
# (TESTs 1-2: the upstream saw the request).

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

use Smart::Conf qw(fhir_location);

our $Fhir = fhir_location();

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

run_tests();

__DATA__

=== TEST 1: auth_request into a smart location: refused, nothing upstream
--- config eval
$::Fhir . <<'_EOC_';
    location = /probe {
        auth_request /fhir/Patient/123;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_
--- request
GET /probe
--- error_code: 403
--- upstream_requests: 0
--- error_log
subrequest to "/fhir/Patient/123" refused

=== TEST 2: a mirror into a smart location is refused; the main request goes on
--- config eval
$::Fhir . <<'_EOC_';
    location /m/ {
        mirror /fhir/Patient/123;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_
--- request
GET /m/x
--- error_code: 200
--- upstream_requests: 1
--- error_log
subrequest to "/fhir/Patient/123" refused

=== TEST 3: the module's own JWKS fetch still runs where "smart on" is inherited
--- config
    smart on;
    smart_fhir_base /fhir/;
    smart_issuer https://issuer.example.test;
    smart_audience https://fhir.example.test;
    smart_jwks_request /_jwks;

    location /fhir/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }

    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/idp/jwks.json;
    }

    location /idp/ {
        smart off;
        root $TEST_NGINX_HTML_DIR;
    }

    location /idp-admin/ {
        smart off;
        alias $TEST_NGINX_HTML_DIR/idp/;
        dav_methods PUT;
        create_full_put_path on;
    }
--- raw_request eval
[::put_jwks(::fixture('jwks-1.json')),
 "GET /fhir/Patient/123 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
 . "Authorization: Bearer " . Smart::Token::mint() . "\r\n\r\n"]
--- error_code eval
[201, 200]
--- upstream_requests: 1
