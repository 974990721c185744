# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Parsing differentials (docs/security.md): where FHIR servers may read a
# request differently from the gateway, the gateway refuses it by rule with
# 400 request-invalid (or 403 where a scope rule closes the class), and the
# request never reaches the upstream.  Issue 12, findings 2-6 and 8; each
# test failed before the rules were added.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

use Smart::Conf qw(fhir_location bearer_request);

our $Loc = fhir_location('smart_explain on;',
                         'add_header X-Decision $smart_decision always;',
                         'add_header X-Reason $smart_reason always;');

# the decisions of before issue 14, whose includes the response check now
# proves instead
our $LocOff = fhir_location('smart_explain on;', 'smart_response_check off;',
                            'add_header X-Decision $smart_decision always;',
                            'add_header X-Reason $smart_reason always;');

sub token {
    my (%o) = @_;
    return Smart::Token::mint(exp => time() + 600, %o);
}

sub req { return bearer_request(@_) }

sub bundle {
    my ($type, @entries) = @_;
    return '{"resourceType":"Bundle","type":"' . $type . '","entry":['
         . join(',', @entries) . ']}';
}

our $Obs = '{"resourceType":"Observation","status":"final",'
         . '"code":{"text":"x"},"subject":{"reference":"Patient/p1"}}';
our $Patch = '{"resourceType":"Binary","contentType":'
           . '"application/json-patch+json","data":"W3sib3AiOiJyZXBsYWNl'
           . 'IiwicGF0aCI6Ii9zdGF0dXMiLCJ2YWx1ZSI6ImFtZW5kZWQifV0="}';

our $P  = token(scope => 'launch/patient patient/*.rs', patient => 'p1');
our $PW = token(scope => 'launch/patient patient/*.cruds', patient => 'p1');
our $Lab = token(scope => 'user/Observation.rs?category=http://terminology'
                        . '.hl7.org/CodeSystem/observation-category'
                        . '|laboratory user/Patient.rs');

run_tests();

__DATA__

=== TEST 1: finding 2: a batch _search entry with criteria in its resource
--- config eval: $::Loc
--- raw_request eval
[::req('POST', '/fhir/', $::P, ::bundle('batch',
    '{"request":{"method":"POST","url":"MedicationStatement/_search?patient=p1"},"resource":{}}')),
 ::req('POST', '/fhir/', $::P, ::bundle('batch',
    '{"request":{"method":"POST","url":"Observation/_search?patient=p1"},"resource":{"resourceType":"Parameters","parameter":[{"name":"patient","valueString":"p2"}]}}')),
 ::req('POST', '/fhir/', $::Lab, ::bundle('batch',
    '{"request":{"method":"POST","url":"Observation/_search?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory"},"resource":{"resourceType":"Parameters","parameter":[{"name":"category","valueString":"vital-signs"}]}}')),
 ::req('POST', '/fhir/', $::P, ::bundle('batch',
    '{"request":{"method":"GET","url":"Observation?patient=p1"},"resource":{"resourceType":"Observation"}}'))]
--- error_code eval
[400, 400, 400, 400]
--- response_body_like eval
[('"code":"request-invalid".*Bundle\.entry\[0\]') x 4]
--- upstream_requests: 0

=== TEST 2: finding 2: a POST _search entry without a resource is refused too (servers drop its url query); a GET entry is decided and allowed
--- config eval: $::Loc
--- raw_request eval
[::req('POST', '/fhir/', $::P, ::bundle('batch',
    '{"request":{"method":"POST","url":"Observation/_search?patient=p1"}}')),
 ::req('POST', '/fhir/', $::P, ::bundle('batch',
    '{"request":{"method":"GET","url":"Observation?patient=p1"}}'))]
--- error_code eval
[400, 200]
--- upstream_requests: 1

=== TEST 3: finding 3: a create's URL query is not criteria: refused under patient scopes
--- config eval: $::Loc
--- raw_request eval
[::req('POST', '/fhir/Observation?patient=p1', $::PW, $::Obs,
       'If-None-Exist: _id=obs-of-p2'),
 ::req('POST', '/fhir/Observation?patient=p1', $::PW, $::Obs)]
--- error_code eval
[400, 400]
--- response_body_like eval
[('"code":"request-invalid"') x 2]
--- upstream_requests: 0

=== TEST 4: finding 3: If-None-Exist with a '?', repeated, or naming another type
--- config eval: $::Loc
--- raw_request eval
[::req('POST', '/fhir/Observation', $::PW, $::Obs,
       'If-None-Exist: patient=p1&status=?_id=obs-of-p2'),
 ::req('POST', '/fhir/Observation', $::PW, $::Obs,
       'If-None-Exist: patient=p1', 'If-None-Exist: _id=obs-of-p2'),
 ::req('POST', '/fhir/Observation', $::PW, $::Obs,
       'If-None-Exist: Patient?_id=p1'),
 ::req('POST', '/fhir/Observation', $::PW, $::Obs,
       'If-None-Exist: patient=p1&_id=obs-of-p2%3F')]
--- error_code eval
[400, 400, 400, 400]
--- response_body_like eval
[('"code":"request-invalid"') x 4]
--- upstream_requests: 0

=== TEST 5: finding 3: If-None-Exist limited to the patient passes; the "Type?criteria" form is refused (servers read "Observation?patient" as a parameter name)
--- config eval: $::Loc
--- raw_request eval
[::req('POST', '/fhir/Observation', $::PW, $::Obs,
       'If-None-Exist: patient=p1&code=x'),
 ::req('POST', '/fhir/Observation', $::PW, $::Obs,
       'If-None-Exist: Observation?patient=p1&code=x')]
--- error_code eval
[200, 400]
--- upstream_requests: 1

=== TEST 6: finding 3: the same in bundle entries
--- config eval: $::Loc
--- raw_request eval
[::req('POST', '/fhir/', $::PW, ::bundle('transaction',
    qq({"request":{"method":"POST","url":"Observation?patient=p1","ifNoneExist":"_id=obs-of-p2"},"resource":$::Obs}))),
 ::req('POST', '/fhir/', $::PW, ::bundle('transaction',
    qq({"request":{"method":"POST","url":"Observation","ifNoneExist":"_id=obs-of-p2?&patient=p1"},"resource":$::Obs})))]
--- error_code eval
[400, 400]
--- response_body_like eval
[('"code":"request-invalid"') x 2]
--- upstream_requests: 0

=== TEST 7: finding 4: conditional PATCH, PUT, DELETE with a second '?'
--- config eval: $::Loc
--- raw_request eval
[::req('POST', '/fhir/', $::PW, ::bundle('transaction',
    qq({"request":{"method":"PATCH","url":"MedicationStatement?_id=ms-of-p2?&patient=p1"},"resource":$::Patch}))),
 ::req('PATCH', '/fhir/Observation?_id=obs-of-p2?&patient=p1', $::PW,
       '[{"op":"replace","path":"/status","value":"amended"}]'),
 ::req('PUT', '/fhir/Observation?_id=obs-of-p2%3F&patient=p1', $::PW,
       $::Obs),
 ::req('DELETE', '/fhir/Observation?_id=obs-of-p2?&patient=p1', $::PW)]
--- error_code eval
[400, 400, 400, 400]
--- response_body_like eval
[('"code":"request-invalid"') x 4]
--- upstream_requests: 0

=== TEST 8: finding 4: a raw '?' inside any query is refused, an encoded one in a search is not
--- config eval: $::Loc
--- raw_request eval
[::req('GET', '/fhir/Observation?patient=p1&code=a?b', $::P),
 ::req('GET', '/fhir/Observation?patient=p1&code=a%3Fb', $::P)]
--- error_code eval
[400, 200]
--- upstream_requests: 1

=== TEST 9: finding 5: :iterate includes under patient scopes
--- config eval: $::Loc
--- raw_request eval
[::req('GET', '/fhir/Patient?_id=p1&_include=Patient:organization&_revinclude:iterate=Patient:organization', $::P),
 ::req('GET', '/fhir/Observation?patient=p1&_include=Observation:performer&_revinclude:iterate=Observation:performer', $::P),
 ::req('GET', '/fhir/Patient/p1/Patient?_include=Patient:organization&_revinclude:iterate=Patient:organization', $::P)]
--- error_code eval
[403, 403, 403]
--- response_body_like eval
[('"code":"scope-insufficient"') x 3]
--- upstream_requests: 0

=== TEST 10: finding 6: system search includes follow the type-level rule (smart_response_check off; on, see TEST 15)
--- config eval: $::LocOff
--- raw_request eval
[::req('GET', '/fhir/?_type=Organization&_revinclude=Observation:performer', $::P),
 ::req('GET', '/fhir/?_type=Practitioner&_revinclude=Patient:general-practitioner', $::P),
 ::req('GET', '/fhir/?_type=Medication&_include=Medication:manufacturer', $::P)]
--- error_code eval
[403, 403, 200]
--- upstream_requests: 1

=== TEST 11: finding 8: _has and chains that reach a granular-restricted type
--- config eval: $::Loc
--- raw_request eval
[::req('GET', '/fhir/Patient?_has:Observation:patient:category=vital-signs', $::Lab),
 ::req('GET', '/fhir/Patient?_has:Observation:patient:code=x', ::token(scope => 'user/Patient.rs')),
 ::req('GET', '/fhir/Observation?subject.name=x', ::token(scope => 'user/Observation.rs')),
 ::req('GET', '/fhir/Patient?_has:Observation:patient:code=x', ::token(scope => 'user/Patient.rs user/Observation.rs'))]
--- error_code eval
[403, 403, 403, 200]
--- response_body_like eval
['"code":"scope-insufficient"', '"code":"scope-insufficient"',
 '"code":"scope-insufficient"', '"uri":"/fhir/Patient\?_has:Observation:patient:code=x"']
--- upstream_requests: 1

=== TEST 12: repeated headers and body framing the server may read differently
--- config eval: $::Loc
--- raw_request eval
["GET /fhir/Observation?patient=p1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer $::P\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\npatient=p2",
 "DELETE /fhir/Observation?patient=p1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer $::PW\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\na\r\n_id=obs-p2\r\n0\r\n\r\n",
 "POST /fhir/Observation/_search HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer $::P\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\npatient=p1",
 "POST /fhir/Observation HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer $::PW\r\nContent-Type: application/fhir+json\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd",
 "POST /fhir/Observation/_search HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer $::P\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Encoding: identity\r\nContent-Length: 10\r\n\r\npatient=p1"]
--- error_code eval
[400, 400, 400, 400, 200]
--- response_body_like eval
[('"code":"request-invalid"') x 4, '"uri":"/fhir/Observation/_search"']
--- upstream_requests: 1

=== TEST 13: parameters the gateway does not recognise, under patient and granular scopes
--- config eval: $::Loc
--- raw_request eval
[::req('GET', '/fhir/Observation?patient=p1&nosuch=1', $::P),
 ::req('GET', '/fhir/Observation?patient=p1&code:nosuchmod=x', $::P),
 ::req('GET', '/fhir/Patient/p1?_include=Patient:organization', $::P),
 ::req('GET', '/fhir/Observation?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory&_filter=code%20eq%20x', $::Lab),
 ::req('GET', '/fhir/Observation?patient=p1&code:text=x&_count=5', $::P),
 ::req('GET', '/fhir/Observation?nosuch=1', ::token(scope => 'user/Observation.rs'))]
--- error_code eval
[400, 400, 400, 400, 200, 200]
--- response_body_like eval
[('"code":"request-invalid"') x 4, '"uri":"/fhir/Observation\?patient=p1&code:text=x&_count=5"', '"uri":"/fhir/Observation\?nosuch=1"']
--- upstream_requests: 2

=== TEST 14: includes under a patient scope: only a _revinclude onto the patient along a compartment parameter is proven; Patient.link is no way in (smart_response_check off; on, see TEST 15)
--- config eval: $::LocOff
--- raw_request eval
[::req('GET', '/fhir/Observation?patient=p1&_include=Observation:has-member', $::P),
 ::req('GET', '/fhir/Patient?_id=p1&_revinclude=Observation:focus', $::P),
 ::req('GET', '/fhir/Patient?_id=p1&_revinclude=Patient:link', $::P),
 ::req('GET', '/fhir/Patient/p1/*', $::P),
 ::req('GET', '/fhir/Patient?_id=p1&_revinclude=Observation:subject', $::P),
 ::req('GET', '/fhir/Patient/p1/Patient', $::P)]
--- error_code eval
[403, 403, 403, 403, 200, 200]
--- response_body_like eval
[('"code":"scope-insufficient"') x 4,
 '"uri":"/fhir/Patient\?_id=p1&_revinclude=Observation:subject"',
 '"uri":"/fhir/Patient/p1/Patient\?_id=p1"']
--- upstream_requests: 2


=== TEST 15: issue 14: under smart_response_check on the includes of TESTS 10 and 14 are forwarded and their response checked (the echo's empty searchset is released); a target that may hold any resource is still refused
--- config eval: $::Loc
--- raw_request eval
[::req('GET', '/fhir/?_type=Organization&_revinclude=Observation:performer', $::P),
 ::req('GET', '/fhir/Observation?patient=p1&_include=Observation:has-member', $::P),
 ::req('GET', '/fhir/Patient?_id=p1&_revinclude=Observation:focus', $::P),
 ::req('GET', '/fhir/Patient?_id=p1&_revinclude=Patient:link', $::P),
 ::req('GET', '/fhir/Observation?patient=p1&_include=Observation:focus', $::P)]
--- error_code eval
[200, 200, 200, 200, 403]
--- response_body_like eval
[('"type":"searchset"') x 4, '"code":"scope-insufficient"']
--- upstream_requests: 4

=== TEST 16: a request body with a NUL byte between tokens (jansson skips it, other parsers refuse or stop there): refused by rule, a resource and a bundle alike
--- config eval: $::Loc
--- raw_request eval
[::req('POST', '/fhir/Observation', $::PW,
       '{"resourceType":"Observation","status":"final","valueInteger":1'
       . "\0" . ',"code":{"text":"x"},"subject":{"reference":"Patient/p1"}}'),
 ::req('PUT', '/fhir/Observation?patient=p1&code=x', $::PW,
       '{"resourceType":"Observation","status":"final","valueInteger":1'
       . "\0" . ',"code":{"text":"x"},"subject":{"reference":"Patient/p1"}}'),
 ::req('POST', '/fhir/', $::PW, ::bundle('transaction',
       '{"resource":{"resourceType":"Observation","status":"final",'
       . '"valueInteger":1' . "\0" . ',"code":{"text":"x"},'
       . '"subject":{"reference":"Patient/p1"}},'
       . '"request":{"method":"POST","url":"Observation"}}'))]
--- error_code eval
[400, 400, 400]
--- response_body_like eval
[('"code":"request-invalid"') x 3]
--- upstream_requests: 0
