# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# The response check (issue 14; docs/scopes.md, "Checked on the response"):
# under patient scopes a read by id of a compartment type is forwarded and
# its response released only when the record is the patient's.  The
# upstream below is hostile: it answers reads with other patients' records,
# compressed, XML or oversized bodies.  Nothing of another patient's may
# reach the client in any of them.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

use Smart::Conf qw(fhir_location bearer_request);

our $Loc = fhir_location('add_header X-Reason $smart_reason always;',
                         'smart_fhir_base_url https://ehr.example/fhir/;');

sub get { return bearer_request('GET', $_[0], $_[1], undef, @_[2 .. $#_]) }

our $P = Smart::Token::mint(exp => time() + 600,
                            scope => 'launch/patient patient/*.rs',
                            patient => 'p1');
our $U = Smart::Token::mint(exp => time() + 600, scope => 'user/*.rs');
our $Lab = Smart::Token::mint(exp => time() + 600,
    scope => 'user/Observation.rs?category=http://terminology.hl7.org/'
           . 'CodeSystem/observation-category|laboratory');
our $PLab = Smart::Token::mint(exp => time() + 600, patient => 'p1',
    scope => 'launch/patient patient/Observation.rs?category=http://'
           . 'terminology.hl7.org/CodeSystem/observation-category|laboratory');

sub obs_cat {
    my ($id, $patient, $code) = @_;
    return '{"resourceType":"Observation","id":"' . $id . '",'
         . '"category":[{"coding":[{"system":"http://terminology.hl7.org/'
         . 'CodeSystem/observation-category","code":"' . $code . '"}]}],'
         . '"subject":{"reference":"Patient/' . $patient . '"}}';
}

sub res {
    my ($type, $id, $path, $patient) = @_;
    my $ref = qq{{"reference":"Patient/$patient"}};
    my @p = split /\./, $path;
    my $v = $ref;
    $v = qq{{"$_":$v}} for reverse @p[1 .. $#p];
    return qq{{"resourceType":"$type","id":"$id","$p[0]":$v}};
}

sub upstream_json {
    my ($uri, $body, @extra) = @_;
    my $more = join '', map { "            $_\n" } @extra;
    $body =~ s/'/\\'/g;
    return <<"_EOC_";
        location = $uri {
            default_type application/fhir+json;
$more            return 200 '$body';
        }
_EOC_
}

our $Upstream = join '',
    upstream_json('/fhir/Observation/o-mine',
                  res('Observation', 'o-mine', 'subject', 'p1')),
    upstream_json('/fhir/Observation/o-other',
                  res('Observation', 'o-other', 'subject', 'p2')),
    upstream_json('/fhir/Observation/o-abs',
                  '{"resourceType":"Observation","id":"o-abs","subject":'
                  . '{"reference":"https://ehr.example/fhir/Patient/p1"}}'),
    upstream_json('/fhir/Observation/o-ident',
                  '{"resourceType":"Observation","id":"o-ident","subject":'
                  . '{"identifier":{"value":"p1"}}}'),
    upstream_json('/fhir/Observation/o-hdr',
                  '{"resourceType":"Observation","id":"o-hdr","subject":'
                  . '{"reference":"Patient/p1"},"note":[{"text":'
                  . '"$http_accept|$http_accept_encoding"}]}'),
    upstream_json('/fhir/Encounter/e-other',
                  res('Encounter', 'e-other', 'subject', 'p2')),
    upstream_json('/fhir/Encounter/e-mine/_history/2',
                  res('Encounter', 'e-mine', 'subject', 'p1')),
    upstream_json('/fhir/Patient/p2',
                  '{"resourceType":"Patient","id":"p2"}'),
    upstream_json('/fhir/Observation/o-swap',
                  res('Condition', 'o-swap', 'subject', 'p1')),
    upstream_json('/fhir/Observation/o-gzip',
                  res('Observation', 'o-gzip', 'subject', 'p1'),
                  'add_header Content-Encoding gzip;'),
    upstream_json('/fhir/Observation/o-big',
                  res('Observation', 'o-big', 'subject', 'p1') . (' ' x 3000)),
    upstream_json('/fhir/Observation/o-broken',
                  '{"resourceType":"Observation","id":"o-broken",'),
    upstream_json('/fhir/Observation/o-dup',
                  '{"resourceType":"Observation","id":"o-dup","subject":'
                  . '{"reference":"Patient/p1"},"subject":'
                  . '{"reference":"Patient/p2"}}'),
    upstream_json('/fhir/Observation/o-oo',
                  '{"resourceType":"OperationOutcome","issue":[]}'),
    upstream_json('/fhir/Observation/lab-mine', obs_cat('lab-mine', 'p1',
                                                        'laboratory')),
    upstream_json('/fhir/Observation/lab-other', obs_cat('lab-other', 'p2',
                                                         'laboratory')),
    upstream_json('/fhir/Observation/vit-mine', obs_cat('vit-mine', 'p1',
                                                        'vital-signs')),
    upstream_json('/fhir/Device/d-mine',
                  res('Device', 'd-mine', 'patient', 'p1')),
    upstream_json('/fhir/Device/d-other',
                  res('Device', 'd-other', 'patient', 'p2')),
    <<'_EOC_';
        location = /fhir/Observation/o-xml {
            default_type application/fhir+xml;
            return 200 '<Observation xmlns="http://hl7.org/fhir"><id value="o-xml"/><subject><reference value="Patient/p2"/></subject></Observation>';
        }
        location = /fhir/Observation/o-history-mixed/_history {
            default_type application/fhir+json;
            return 200 '{"resourceType":"Bundle","type":"history","entry":[{"resource":{"resourceType":"Observation","id":"o-history-mixed","subject":{"reference":"Patient/p1"}}},{"resource":{"resourceType":"Observation","id":"o-history-mixed","subject":{"reference":"Patient/p2"}}}]}';
        }
        location = /fhir/Observation/o-history/_history {
            default_type application/fhir+json;
            return 200 '{"resourceType":"Bundle","type":"history","entry":[{"resource":{"resourceType":"Observation","id":"o-history","subject":{"reference":"Patient/p1"}}},{"resource":{"resourceType":"Observation","id":"o-history","subject":{"reference":"Patient/p1"}}}]}';
        }
        location = /fhir/Observation/o-404 {
            default_type application/fhir+json;
            return 404 '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Observation/o-404 of Patient/p2 is gone"}]}';
        }
_EOC_

run_tests();

__DATA__

=== TEST 1: the patient's own record by id is released as the server sent it
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/o-mine', $::P),
 ::get('/fhir/Observation/o-abs', $::P),
 ::get('/fhir/Encounter/e-mine/_history/2', $::P),
 ::get('/fhir/Observation/o-history/_history', $::P),
 ::get('/fhir/Device/d-mine', $::P)]
--- error_code eval
[200, 200, 200, 200, 200]
--- response_body_like eval
['"id":"o-mine"', '"id":"o-abs"', '"id":"e-mine"', '"type":"history"',
 '"id":"d-mine"']
--- response_headers eval
["X-Reason: ok", "X-Reason: ok", "X-Reason: ok", "X-Reason: ok",
 "X-Reason: ok"]
--- upstream_requests: 5

=== TEST 2: another patient's record never leaves the gateway
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/o-other', $::P),
 ::get('/fhir/Encounter/e-other', $::P),
 ::get('/fhir/Observation/o-history-mixed/_history', $::P),
 ::get('/fhir/Observation/o-ident', $::P),
 ::get('/fhir/Observation/o-swap', $::P),
 ::get('/fhir/Device/d-other', $::P),
 ::get('/fhir/Observation/o-dup', $::P)]
--- error_code eval
[403, 403, 403, 403, 502, 403, 502]
--- response_headers eval
["X-Reason: patient-mismatch", "X-Reason: patient-mismatch",
 "X-Reason: patient-mismatch", "X-Reason: patient-mismatch",
 "X-Reason: response-unverifiable", "X-Reason: patient-mismatch",
 "X-Reason: response-unverifiable"]
--- response_body_unlike eval
['p2|o-other', 'p2|e-other', 'p2', 'o-ident', 'Condition', 'p2|d-other',
 'p2']
--- upstream_requests: 7

=== TEST 3: the upstream is asked for identity-encoded FHIR JSON
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
::get('/fhir/Observation/o-hdr', $::P, 'Accept: application/json',
      'Accept-Encoding: gzip, br')
--- error_code: 200
--- response_body_like: "text":"application/fhir\+json\|identity"

=== TEST 4: responses the gateway cannot check are refused, typed
--- config eval: ::fhir_location('add_header X-Reason $smart_reason always;', 'smart_response_check_max 2k;')
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/o-gzip', $::P),
 ::get('/fhir/Observation/o-xml', $::P),
 ::get('/fhir/Observation/o-big', $::P),
 ::get('/fhir/Observation/o-broken', $::P)]
--- error_code eval
[502, 502, 502, 502]
--- response_headers eval
["X-Reason: response-unverifiable", "X-Reason: response-unverifiable",
 "X-Reason: response-unverifiable", "X-Reason: response-unverifiable"]
--- response_body_like eval
['"code":"response-unverifiable"', '"code":"response-unverifiable"',
 '"code":"response-unverifiable"', '"code":"response-unverifiable"']
--- response_body_unlike eval
['o-gzip', 'p2', 'o-big', 'o-broken']

=== TEST 5: a client that asks for XML on a checked read: typed 406, nothing sent upstream
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/o-mine?_format=xml', $::P),
 ::get('/fhir/Observation/o-mine', $::P, 'Accept: application/fhir+xml')]
--- error_code eval
[406, 406]
--- response_headers eval
["X-Reason: format-unsupported", "X-Reason: format-unsupported"]
--- upstream_requests: 0

=== TEST 6: upstream failures keep their typed rows; an OperationOutcome is no answer to a read
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/o-404', $::P),
 ::get('/fhir/Observation/o-oo', $::P)]
--- error_code eval
[404, 502]
--- response_headers eval
["X-Reason: not-found", "X-Reason: response-unverifiable"]
--- response_body_unlike eval
['p2', 'p2']

=== TEST 7: smart_response_check off restores the refusal before the upstream
--- config eval: ::fhir_location('add_header X-Reason $smart_reason always;', 'smart_response_check off;')
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/o-mine', $::P)]
--- error_code eval
[403]
--- response_headers eval
["X-Reason: scope-insufficient"]
--- upstream_requests: 0

=== TEST 8: user scopes are not checked on the response (the server's own policy applies)
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/o-other', $::U),
 ::get('/fhir/Patient/p2', $::U)]
--- error_code eval
[200, 200]
--- response_body_like eval
['"id":"o-other"', '"id":"p2"']

=== TEST 9: Patient/P of another patient is still refused before the upstream
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Patient/p2', $::P)]
--- error_code eval
[403]
--- response_headers eval
["X-Reason: patient-mismatch"]
--- upstream_requests: 0

=== TEST 10: granular scopes: a read by id is released only inside the restriction
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/lab-mine', $::Lab),
 ::get('/fhir/Observation/lab-other', $::Lab),
 ::get('/fhir/Observation/vit-mine', $::Lab),
 ::get('/fhir/Observation/lab-mine', $::PLab),
 ::get('/fhir/Observation/lab-other', $::PLab),
 ::get('/fhir/Observation/vit-mine', $::PLab)]
--- error_code eval
[200, 200, 403, 200, 403, 403]
--- response_headers eval
["X-Reason: ok", "X-Reason: ok", "X-Reason: scope-insufficient",
 "X-Reason: ok", "X-Reason: patient-mismatch",
 "X-Reason: scope-insufficient"]
--- response_body_unlike eval
['vital-signs', 'vital-signs', 'vital-signs|vit-mine', 'vital-signs',
 'p2|lab-other', 'vital-signs|vit-mine']
--- upstream_requests: 6
