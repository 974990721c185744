# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Key sets fetched by subrequest are shared by the workers (issue 16;
# docs/directives.md, smart_jwks_request): the worker that loads a key set
# publishes it, the others take it instead of asking the IdP, and a
# periodic refresh is made by one worker at a time.  Two workers here; the
# IdP logs every fetch.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use Smart::Token qw(:all);

workers(2);

our $Srv = <<'_EOC_';
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_request /_jwks;
        smart_jwks_refresh 2s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }

    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/idp/jwks.json;
    }

    location /idp/ {
        root $TEST_NGINX_HTML_DIR;
        access_log $TEST_NGINX_SERVROOT/logs/idp.log;
    }

    location /idp-admin/ {
        alias $TEST_NGINX_HTML_DIR/idp/;
        dav_methods PUT;
        create_full_put_path on;
    }
_EOC_

sub put_jwks {
    open my $fh, '<', Smart::Token::fixture_path('jwks-1.json') or die $!;
    my $body = do { local $/; <$fh> };
    return "PUT /idp-admin/jwks.json HTTP/1.1\r\nHost: localhost\r\n"
         . "Connection: close\r\nContent-Length: " . length($body)
         . "\r\n\r\n$body";
}

sub get {
    return "GET /fhir/Patient/123 HTTP/1.1\r\nHost: localhost\r\n"
         . "Connection: close\r\nAuthorization: Bearer "
         . Smart::Token::mint() . "\r\n\r\n";
}

sub fetches {
    open my $f, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/idp.log" or return 0;
    return scalar(grep { m{GET /idp/jwks\.json} } <$f>);
}

run_tests();

__DATA__

=== TEST 1: two workers, one fetch: the other worker takes the key set; a refresh is made once
--- config eval: $::Srv
--- raw_request eval
[::put_jwks(), map { ::get() } 1 .. 40]
--- request_delay eval
[0, 0, (0.02) x 19, 2.5, (0.02) x 19]
--- error_code eval
[201, (200) x 40]
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    open my $f, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/error.log" or die;
    my $log = do { local $/; <$f> };
    ::ok($log =~ /taken from another worker/,
         "$name - a worker took the key set another loaded");
    ::is(::fetches(), 2, "$name - the IdP was asked once, and once for the refresh")
        or ::diag($log =~ /(.*JWKS.*)/g);
}
