# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# The module's header and body filters are in NGINX's filter chain: the
# correlation header on a proxied answer, an upstream failure turned into
# the typed OperationOutcome, and the JWKS body captured from a subrequest.
#
# Issue 12, finding 9: with ngx_module_type=HTTP a static (--add-module)
# build initialised the module before ngx_http_header_filter_module and
# ngx_http_write_filter_module, which reset the chain, so all three were
# silently lost there while the dynamic module worked.  make test-t-static
# runs this file against NGINX built with --add-module (TEST_NGINX_STATIC);
# it then also checks that the binary really has the module compiled in.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

our $Cid = 'filter-chain-0001';

if ($ENV{TEST_NGINX_STATIC}) {
    my $bin = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
    my $v = `"$bin" -V 2>&1`;
    like($v, qr/--add-module=\S+/,
         'static run: nginx -V shows the module added with --add-module');
    ok(!defined $ENV{TEST_NGINX_MODULE},
       'static run: no load_module of a dynamic module');
}

our $Smart = <<'_EOC_';
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
_EOC_

our $Files = <<"_EOC_";
    location /fhir/ {
$Smart
        smart_jwks_file \$TEST_NGINX_FIXTURES/jwks-1.json;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_

# the JWKS through a subrequest, as smart_jwks_request fetches it from an
# IdP: the body reaches the module only through its body filter
our $Subrequest = <<"_EOC_";
    location /fhir/ {
$Smart
        smart_jwks_request /_jwks;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location = /_jwks {
        internal;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_SERVER_PORT/idp/jwks.json;
        proxy_max_temp_file_size 0;
    }

    location = /idp/jwks.json {
        default_type application/json;
        alias \$TEST_NGINX_FIXTURES/jwks-1.json;
    }
_EOC_

sub auth {
    return "Authorization: Bearer "
         . Smart::Token::mint(scope => 'user/*.rs', @_) . "\n";
}

run_tests();

__DATA__

=== TEST 1: header filter: a proxied 200 carries the client's correlation ID
--- config eval: $::Files
--- more_headers eval
::auth() . "X-Correlation-ID: $::Cid"
--- request
GET /fhir/Patient/123
--- error_code: 200
--- response_headers eval
"X-Correlation-ID: $::Cid"
--- response_body_like: "uri":"/fhir/Patient/123"
--- upstream_requests: 1

=== TEST 2: header filter: without one, a generated correlation ID is returned
--- config eval: $::Files
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/123
--- error_code: 200
--- response_headers_like
X-Correlation-ID: ^[A-Za-z0-9._-]{8,128}$
--- upstream_requests: 1

=== TEST 3: header and body filters: an upstream 500 becomes the typed upstream-error
--- config eval: $::Files
--- upstream_config
        location = /fhir/Patient/e500 {
            default_type text/html;
            return 500 '<html><pre>java.lang.NullPointerException at com.ehr.SecretDao</pre></html>';
        }
--- more_headers eval
::auth() . "X-Correlation-ID: $::Cid"
--- request
GET /fhir/Patient/e500
--- error_code: 502
--- response_headers eval
"Content-Type: application/fhir+json\nX-Correlation-ID: $::Cid"
--- response_body_like eval
qr/^\{"resourceType":"OperationOutcome","id":"\Q$::Cid\E".*"code":"upstream-error"/
--- upstream_requests: 1

=== TEST 4: upstream body never reaches the client when the filters run
--- config eval: $::Files
--- upstream_config
        location = /fhir/Patient/e500 {
            default_type text/html;
            return 500 '<html><pre>java.lang.NullPointerException at com.ehr.SecretDao</pre></html>';
        }
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e500
--- error_code: 502
--- response_body_like eval
qr/^(?!.*NullPointerException)/s
--- upstream_requests: 1

=== TEST 5: body filter: the JWKS of a subrequest is captured and tokens verify
--- config eval: $::Subrequest
--- more_headers eval
::auth() . "X-Correlation-ID: $::Cid"
--- request
GET /fhir/Patient/123
--- error_code: 200
--- response_headers eval
"X-Correlation-ID: $::Cid"
--- response_body_like: "uri":"/fhir/Patient/123"
--- error_log
smart: JWKS from "/_jwks" loaded: 3 keys
--- upstream_requests: 1
