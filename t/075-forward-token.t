# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# smart_forward_token (issue 16; docs/directives.md): whether the client's
# bearer token reaches the FHIR server.  On by default; off, neither the
# request nor the pre-read of a write by id carries Authorization
# upstream, and the token is still verified and its claims still used.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

use Smart::Conf qw(fhir_location bearer_request);

our $T = Smart::Token::mint(exp => time() + 600,
                            scope => 'launch/patient patient/*.cruds',
                            patient => 'p1');

sub req { return bearer_request($_[0], $_[1], $T, @_[2 .. $#_]) }

our $Pre = <<'_EOC_';
    location /_pre/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/fhir/;
    }
_EOC_

our $Upstream = <<'_EOC_';
        location = /fhir/Patient/p1 {
            default_type application/fhir+json;
            return 200 '{"resourceType":"Patient","id":"p1","text":{"status":"generated","div":"auth=$http_authorization"}}';
        }
        location = /fhir/MedicationStatement/ms1 {
            default_type application/fhir+json;
            if ($request_method = GET) {
                return 200 '{"resourceType":"MedicationStatement","id":"ms1","meta":{"versionId":"3"},"status":"active","subject":{"reference":"Patient/p1"},"medicationCodeableConcept":{"text":"x"}}';
            }
            return 201 '{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"auth=$http_authorization"}]}';
        }
_EOC_

run_tests();

__DATA__

=== TEST 1: by default the token reaches the FHIR server
--- config eval: ::fhir_location()
--- upstream_config eval: $::Upstream
--- raw_request eval
::req('GET', '/fhir/Patient/p1')
--- error_code: 200
--- response_body_like: auth=Bearer ey

=== TEST 2: smart_forward_token off: verified, used, not forwarded
--- config eval: ::fhir_location('smart_forward_token off;', 'add_header X-Patient $smart_patient always;')
--- upstream_config eval: $::Upstream
--- raw_request eval
::req('GET', '/fhir/Patient/p1')
--- error_code: 200
--- response_headers
X-Patient: p1
--- response_body_like: "div":"auth="\}
--- upstream_log_like eval
qr/GET \/fhir\/Patient\/p1 auth="-"/

=== TEST 3: off, a forged token is still refused
--- config eval: ::fhir_location('smart_forward_token off;')
--- upstream_config eval: $::Upstream
--- raw_request eval
::bearer_request('GET', '/fhir/Patient/p1', $::T . 'x')
--- error_code: 401
--- upstream_requests: 0

=== TEST 4: off, a write by id: neither the pre-read nor the write carries the token
--- config eval: ::fhir_location('smart_forward_token off;', 'smart_precheck_request /_pre;') . $::Pre
--- upstream_config eval: $::Upstream
--- raw_request eval
::req('DELETE', '/fhir/MedicationStatement/ms1')
--- error_code: 201
--- response_body_like: auth="
--- upstream_log_like eval
[qr/GET \/fhir\/MedicationStatement\/ms1 auth="-"/,
 qr/DELETE \/fhir\/MedicationStatement\/ms1 auth="-"/]
--- upstream_requests: 2

=== TEST 5: inherited from the server level, and turned on again in a location
--- config eval
"smart_forward_token off;\n" . ::fhir_location('smart_forward_token on;')
--- upstream_config eval: $::Upstream
--- raw_request eval
::req('GET', '/fhir/Patient/p1')
--- error_code: 200
--- response_body_like: auth=Bearer ey

=== TEST 6: a value other than on or off is a configuration error
--- config eval: ::fhir_location('smart_forward_token maybe;')
--- must_die

=== TEST 7: off, a public endpoint (metadata) does not pass a token on either
--- config eval: ::fhir_location('smart_forward_token off;')
--- upstream_config
        location = /fhir/metadata {
            default_type application/fhir+json;
            return 200 '{"resourceType":"CapabilityStatement","status":"active","kind":"instance","fhirVersion":"4.0.1","format":["json"],"date":"2026-01-01","publisher":"auth=$http_authorization"}';
        }
--- raw_request eval
::req('GET', '/fhir/metadata')
--- error_code: 200
--- response_body_like: "publisher":"auth="\}
