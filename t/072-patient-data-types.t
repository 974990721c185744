# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Patient data outside the R4 patient CompartmentDefinition (issue 12,
# finding 7): Device, Task, ... reference a Patient and are limited like
# compartment types; Binary and the other types tied to anyone by a
# reference to any resource are refused under patient scopes (7b).  Each
# request below reached the upstream before (Device?patient=<other> and
# Binary/<any id> were answered with another patient's data).

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

use Smart::Conf qw(fhir_location bearer_request);

our $Loc = fhir_location('add_header X-Reason $smart_reason always;');

sub get { return bearer_request('GET', $_[0], $_[1]) }

sub send_body {
    my ($method, $path, $token, $body) = @_;
    return bearer_request($method, $path, $token, $body);
}

our $P = Smart::Token::mint(exp => time() + 600,
                            scope => 'launch/patient patient/*.rs',
                            patient => 'p1');
our $U = Smart::Token::mint(exp => time() + 600, scope => 'user/*.rs');

run_tests();

__DATA__

=== TEST 1: Device of another patient, Binary by id: refused before the upstream; Device by id: checked on the response
The echo upstream answers the Device read with a search Bundle, which is
not the Device asked for: never released (t/090 has the Device cases).
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Device?patient=p2', $::P),
 ::get('/fhir/Device/d1', $::P),
 ::get('/fhir/Binary/b1', $::P),
 ::get('/fhir/Binary?_id=b1', $::P),
 ::get('/fhir/MessageHeader', $::P)]
--- error_code eval
[403, 502, 403, 403, 403]
--- response_headers eval
["X-Reason: patient-mismatch", "X-Reason: response-unverifiable",
 "X-Reason: scope-insufficient", "X-Reason: scope-insufficient",
 "X-Reason: scope-insufficient"]
--- upstream_requests: 1

=== TEST 2: a Device search is narrowed to the patient; the patient's own passes
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Device', $::P),
 ::get('/fhir/Device?patient=p1', $::P),
 ::get('/fhir/Task?patient=p1', $::P)]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
['"uri":"/fhir/Device\?patient=p1"', '"uri":"/fhir/Device\?patient=p1"',
 '"uri":"/fhir/Task\?patient=p1"']
--- upstream_requests: 3

=== TEST 3: user scopes read them by type, as before
--- config eval: $::Loc
--- raw_request eval
[::get('/fhir/Binary/b1', $::U), ::get('/fhir/Device/d1', $::U)]
--- error_code eval
[200, 200]
--- upstream_requests: 2

=== TEST 4: a stored Bundle (a document) is refused; a batch to the base is not
--- config eval: $::Loc
--- raw_request eval
my $w = Smart::Token::mint(exp => time() + 600,
                           scope => 'launch/patient patient/*.cruds',
                           patient => 'p1');
[::get('/fhir/Bundle/doc1', $::P),
 ::get('/fhir/Bundle?type=document', $::P),
 ::get('/fhir/Bundle/_history', $::P),
 ::get('/fhir/?_type=Bundle', $::P),
 ::send_body('POST', '/fhir/', $w,
    '{"resourceType":"Bundle","type":"batch","entry":[{"request":'
    . '{"method":"GET","url":"Observation?patient=p1"}}]}')]
--- error_code eval
[403, 403, 403, 403, 200]
--- response_headers eval
["X-Reason: scope-insufficient", "X-Reason: scope-insufficient",
 "X-Reason: scope-insufficient", "X-Reason: scope-insufficient",
 "X-Reason: ok"]
--- upstream_requests: 1

=== TEST 5: a Task write checks every Reference(Patient) element
--- config eval: $::Loc
--- raw_request eval
my $w = Smart::Token::mint(exp => time() + 600,
                           scope => 'launch/patient patient/*.cruds',
                           patient => 'p1');
[::send_body('POST', '/fhir/Task', $w,
    '{"resourceType":"Task","status":"draft","intent":"order",'
    . '"for":{"reference":"Patient/p1"},'
    . '"restriction":{"recipient":[{"reference":"Patient/p2"}]}}'),
 ::send_body('POST', '/fhir/Task', $w,
    '{"resourceType":"Task","status":"draft","intent":"order",'
    . '"for":{"reference":"Patient/p1"},'
    . '"restriction":{"recipient":[{"reference":"Patient/p1"}]}}')]
--- error_code eval
[403, 200]
--- response_headers eval
["X-Reason: patient-mismatch", "X-Reason: ok"]
--- upstream_requests: 1
