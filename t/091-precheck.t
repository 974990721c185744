# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Writes by id under patient scopes, proven by a pre-read (issue 14;
# docs/scopes.md, "Writes by id: the pre-read"): before PUT, PATCH or
# DELETE of T/id goes upstream, the gateway reads T/id through
# smart_precheck_request and lets the write go on only when that record is
# the patient's, with If-Match set to the version it read.  The upstream
# below holds records of two patients; no write may reach another
# patient's record.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

use Smart::Conf qw(fhir_location bearer_request);

our $Pre = <<'_EOC_';
    location /_pre/ {
        internal;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/fhir/;
    }
_EOC_

our $Loc = fhir_location('add_header X-Reason $smart_reason always;',
                         'smart_precheck_request /_pre;') . $Pre;

our $W = Smart::Token::mint(exp => time() + 600,
                            scope => 'launch/patient patient/*.cruds',
                            patient => 'p1');

sub req { return bearer_request($_[0], $_[1], $W, @_[2 .. $#_]) }

# a JSON Patch: its own Content-Type, and only that one
sub patch {
    my ($path, $ops) = @_;
    return "PATCH $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
         . "Authorization: Bearer $W\r\n"
         . "Content-Type: application/json-patch+json\r\n"
         . "Content-Length: " . length($ops) . "\r\n\r\n$ops";
}

sub ms {
    my ($id, $patient) = @_;
    return '{"resourceType":"MedicationStatement","id":"' . $id . '",'
         . '"status":"active","subject":{"reference":"Patient/' . $patient
         . '"},"medicationCodeableConcept":{"text":"x"}}';
}

# GET answers the stored record (with its version); a write answers what
# it received: method and If-Match
sub record {
    my ($id, $patient, $get_status) = @_;
    my $stored = ms($id, $patient);
    $stored =~ s/"status"/"meta":{"versionId":"3"},"status"/;
    my $status = $get_status || 200;
    return <<"_EOC_";
        location = /fhir/MedicationStatement/$id {
            default_type application/fhir+json;
            if (\$request_method = GET) {
                add_header ETag 'W/"3"';
                return $status '$stored';
            }
            return 201 '{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"\$request_method if-match=\$http_if_match"}]}';
        }
_EOC_
}

# a record whose version comes from meta.versionId alone: no ETag, or an
# ETag that is a list (one tag is needed)
sub record_vid {
    my ($id, $vid, $etag) = @_;
    my $stored = ms($id, 'p1');
    $stored =~ s/"status"/"meta":{"versionId":"$vid"},"status"/;
    my $hdr = defined $etag ? "add_header ETag '$etag';" : '';
    return <<"_EOC_";
        location = /fhir/MedicationStatement/$id {
            default_type application/fhir+json;
            if (\$request_method = GET) {
                $hdr
                return 200 '$stored';
            }
            return 201 '{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"\$request_method if-match=\$http_if_match"}]}';
        }
_EOC_
}

our $Upstream = record_vid('ms-vid', '7') . record_vid('ms-vlist', '5', 'W/"1", W/"2"')
              . record_vid('ms-wvid', 'Wx1')
              . record_vid('ms-badvid', 'a b') . record_vid('ms-badtag', 'a b', 'x y')
              . record('ms-mine', 'p1') . record('ms-other', 'p2')
              . record('ms-gone', 'p1', 404) . record('ms-broken', 'p1', 500)
              . <<'_EOC_';
        location = /fhir/MedicationStatement/ms-xml {
            default_type application/fhir+xml;
            return 200 '<MedicationStatement xmlns="http://hl7.org/fhir"/>';
        }
_EOC_

# Binaries for bundles: b1 belongs to p1 (through its DocumentReference),
# b2 to p2; each answers with an ETag like any read
our $Binaries = <<'_EOC_';
        location ~ ^/fhir/Binary/(?<bid>b\d)$ {
            default_type application/fhir+json;
            add_header ETag 'W/"9"';
            set $doc d1;
            if ($bid = b2) { set $doc d2; }
            return 200 '{"resourceType":"Binary","id":"$bid","securityContext":{"reference":"DocumentReference/$doc"},"contentType":"text/plain"}';
        }
        location ~ ^/fhir/DocumentReference/(?<did>d\d)$ {
            default_type application/fhir+json;
            set $pat p1;
            if ($did = d2) { set $pat p2; }
            return 200 '{"resourceType":"DocumentReference","id":"$did","status":"current","subject":{"reference":"Patient/$pat"}}';
        }
_EOC_

sub get_entry { '{"request":{"method":"GET","url":"Binary/' . $_[0] . '"}}' }

# a transaction of entries; a DELETE entry of MedicationStatement/$id,
# with its own ifMatch when one is given
sub txn { '{"resourceType":"Bundle","type":"transaction","entry":['
          . join(',', @_) . ']}' }
sub del_entry {
    my ($id, $ifmatch) = @_;
    return '{"request":{"method":"DELETE","url":"MedicationStatement/'
         . $id . '"' . (defined $ifmatch ? ",\"ifMatch\":\"$ifmatch\"" : '')
         . '}}';
}

# the upstream's answer to a bundle: X-Body is the body it received
our $Echo = <<'_EOC_';
        location = /fhir/ {
            add_header X-Body $request_body always;
            proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/_echo;
        }
        location = /_echo {
            default_type application/fhir+json;
            return 200 '{"resourceType":"Bundle","type":"transaction-response"}';
        }
_EOC_

run_tests();

__DATA__

=== TEST 1: a write by id of the patient's own record goes on, guarded by the version read
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::req('PUT', '/fhir/MedicationStatement/ms-mine', ::ms('ms-mine', 'p1')),
 ::req('DELETE', '/fhir/MedicationStatement/ms-mine'),
 ::patch('/fhir/MedicationStatement/ms-mine',
         '[{"op":"replace","path":"/status","value":"stopped"}]')]
--- error_code eval
[201, 201, 201]
--- response_body_like eval
['PUT if-match=W/\\"3\\"', 'DELETE if-match=W/\\"3\\"',
 'PATCH if-match=W/\\"3\\"']
--- upstream_requests: 6

=== TEST 2: the client's own If-Match naming the version read goes on as the version read; another version is a conflict
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::req('DELETE', '/fhir/MedicationStatement/ms-mine', undef,
       'If-Match: "3"'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-mine', undef,
       'If-Match: 3'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-mine', undef,
       'If-Match: W/"2"')]
--- error_code eval
[201, 201, 409]
--- response_body_like eval
['DELETE if-match=W/\\"3\\"', 'DELETE if-match=W/\\"3\\"',
 '"code":"conflict"']
--- response_body_unlike eval
['if-match=\\"3', 'if-match=3', 'DELETE']
--- upstream_requests: 5

=== TEST 3: another patient's record is never written
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::req('PUT', '/fhir/MedicationStatement/ms-other', ::ms('ms-other', 'p1')),
 ::req('DELETE', '/fhir/MedicationStatement/ms-other'),
 ::patch('/fhir/MedicationStatement/ms-other',
         '[{"op":"replace","path":"/status","value":"stopped"}]')]
--- error_code eval
[403, 403, 403]
--- response_headers eval
["X-Reason: patient-mismatch", "X-Reason: patient-mismatch",
 "X-Reason: patient-mismatch"]
--- response_body_unlike eval
['p2', 'p2', 'p2']
--- upstream_log_like eval
[qr/GET \/fhir\/MedicationStatement\/ms-other auth="Bearer /]
--- upstream_requests: 3

=== TEST 4: a record that does not exist: PUT creates it, DELETE is not-found
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::req('PUT', '/fhir/MedicationStatement/ms-gone', ::ms('ms-gone', 'p1')),
 ::req('DELETE', '/fhir/MedicationStatement/ms-gone')]
--- error_code eval
[201, 404]
--- response_headers eval
["X-Reason: ok", "X-Reason: not-found"]
--- upstream_requests: 3

=== TEST 5: a pre-read that fails, cannot be checked, or gives a version the gateway cannot write as an entity-tag refuses the write, typed (never sent unpinned)
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::req('DELETE', '/fhir/MedicationStatement/ms-broken'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-xml'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-badvid'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-badtag')]
--- error_code eval
[503, 502, 502, 502]
--- response_headers eval
["X-Reason: data-unavailable", "X-Reason: response-unverifiable",
 "X-Reason: response-unverifiable", "X-Reason: response-unverifiable"]
--- upstream_requests: 4

=== TEST 6: without smart_precheck_request a write by id is refused up front
--- config eval: ::fhir_location('add_header X-Reason $smart_reason always;')
--- upstream_config eval: $::Upstream
--- raw_request eval
::req('DELETE', '/fhir/MedicationStatement/ms-mine')
--- error_code: 403
--- response_headers
X-Reason: scope-insufficient
--- upstream_requests: 0

=== TEST 7: a transaction's writes by id are each pre-read; one foreign refuses all
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::req('POST', '/fhir/',
    '{"resourceType":"Bundle","type":"transaction","entry":['
    . '{"request":{"method":"DELETE","url":"MedicationStatement/ms-mine"}},'
    . '{"request":{"method":"DELETE","url":"MedicationStatement/ms-other"}}]}')]
--- error_code eval
[403]
--- response_headers eval
["X-Reason: patient-mismatch"]
--- response_body_like eval
['"expression":\["Bundle.entry\[1\]"\]']
--- upstream_requests: 2

=== TEST 8: more writes by id than smart_precheck_max: refused before any pre-read
--- config eval: ::fhir_location('add_header X-Reason $smart_reason always;', 'smart_precheck_request /_pre;', 'smart_precheck_max 1;') . $::Pre
--- upstream_config eval: $::Upstream
--- raw_request eval
[::req('POST', '/fhir/',
    '{"resourceType":"Bundle","type":"transaction","entry":['
    . '{"request":{"method":"DELETE","url":"MedicationStatement/ms-mine"}},'
    . '{"request":{"method":"DELETE","url":"MedicationStatement/ms-gone"}}]}')]
--- error_code eval
[403]
--- response_headers eval
["X-Reason: scope-insufficient"]
--- upstream_requests: 0

=== TEST 9: conditional writes without the patient parameter are narrowed where the server reads their criteria
--- config eval: $::Loc
--- upstream_config
        location = /fhir/MedicationStatement {
            default_type application/fhir+json;
            return 201 '{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":"ine=$http_if_none_exist args=$args"}]}';
        }
--- raw_request eval
[::req('POST', '/fhir/MedicationStatement', ::ms('new', 'p1'),
       'If-None-Exist: identifier=urn:x|1'),
 ::req('PUT', '/fhir/MedicationStatement?identifier=urn:x|1',
       ::ms('new', 'p1'))]
--- error_code eval
[201, 201]
--- response_body_like eval
['ine=identifier=urn:x\|1&patient=p1 args="',
 'ine= args=identifier=urn:x\|1&patient=p1']

=== TEST 10: Binary by id: released only when its securityContext is the patient's
--- config eval: $::Loc
--- upstream_config
        location ~ ^/fhir/Binary/(?<bid>b\d)$ {
            default_type application/fhir+json;
            set $ctx "";
            if ($bid = b1) { set $ctx '"securityContext":{"reference":"DocumentReference/d1"},'; }
            if ($bid = b2) { set $ctx '"securityContext":{"reference":"DocumentReference/d2"},'; }
            if ($bid = b3) { set $ctx '"securityContext":{"reference":"Patient/p1"},'; }
            if ($bid = b5) { set $ctx '"securityContext":{"reference":"Patient/p2"},'; }
            if ($http_accept = "application/fhir+json") {
                return 200 '{"resourceType":"Binary","id":"$bid",$ctx"contentType":"text/plain"}';
            }
            return 200 'CONTENT-OF-$bid';
        }
        location = /fhir/DocumentReference/d1 {
            default_type application/fhir+json;
            return 200 '{"resourceType":"DocumentReference","id":"d1","status":"current","subject":{"reference":"Patient/p1"}}';
        }
        location = /fhir/DocumentReference/d2 {
            default_type application/fhir+json;
            return 200 '{"resourceType":"DocumentReference","id":"d2","status":"current","subject":{"reference":"Patient/p2"}}';
        }
--- raw_request eval
[::req('GET', '/fhir/Binary/b1'), ::req('GET', '/fhir/Binary/b3'),
 ::req('GET', '/fhir/Binary/b2'), ::req('GET', '/fhir/Binary/b5'),
 ::req('GET', '/fhir/Binary/b4')]
--- error_code eval
[200, 200, 403, 403, 403]
--- response_headers eval
["X-Reason: ok", "X-Reason: ok", "X-Reason: patient-mismatch",
 "X-Reason: patient-mismatch", "X-Reason: scope-insufficient"]
--- response_body_like eval
['^CONTENT-OF-b1$', '^CONTENT-OF-b3$', 'patient-mismatch',
 'patient-mismatch', 'scope-insufficient']
--- response_body_unlike eval
['p2', 'p2', 'CONTENT', 'CONTENT', 'CONTENT']

=== TEST 11: a pre-read that NGINX redirects (error_page) is no proof: typed refusal, no crash
--- config eval
::fhir_location('add_header X-Reason $smart_reason always;',
                'smart_precheck_request /_dead;')
. ::fhir_location('add_header X-Reason $smart_reason always;',
                  'smart_precheck_request /_fake;') =~ s{location /fhir/}{location /fhir2/}r =~ s{smart_fhir_base /fhir/;}{smart_fhir_base /fhir2/;}r
. <<'_EOC_';
    error_page 502 504 /50x.html;
    location = /50x.html {
        default_type application/fhir+json;
        return 200 '{"resourceType":"MedicationStatement","id":"ms-mine","status":"active","subject":{"reference":"Patient/p1"},"medicationCodeableConcept":{"text":"x"}}';
    }
    location /_dead/ {
        internal;
        proxy_pass http://127.0.0.1:1/fhir/;
    }
    location /_fake/ {
        internal;
        proxy_intercept_errors on;
        error_page 404 = /50x.html;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT/fhir/;
    }
_EOC_
--- upstream_config eval: $::Upstream
--- raw_request eval
[::req('DELETE', '/fhir/MedicationStatement/ms-mine'),
 ::req('DELETE', '/fhir2/MedicationStatement/ms-gone')]
--- error_code eval
[503, 503]
--- response_headers eval
["X-Reason: data-unavailable", "X-Reason: data-unavailable"]

=== TEST 12: "*" is replaced by the version read; a list keeps the client's guard; several If-Match lines are refused (by NGINX)
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::req('DELETE', '/fhir/MedicationStatement/ms-mine', undef, 'If-Match: *'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-mine', undef,
       'If-Match: W/"1", W/"3"'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-mine', undef,
       'If-Match: W/"1"', 'If-Match: W/"3"'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-mine', undef,
       'If-Match: W/"1", W/"2"'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-mine', undef,
       'If-Match: W/"1"', 'If-Match: W/"2"'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-mine', undef,
       'If-Match: *, W/"3"'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-mine', undef,
       'If-Match: W/"3", junk tag')]
--- error_code eval
[201, 201, 400, 409, 400, 409, 409]
--- response_body_like eval
['DELETE if-match=W/\"3\"', 'DELETE if-match=W/\"3\"',
 '', '"code":"conflict"', '', '"code":"conflict"', '"code":"conflict"']
--- response_body_unlike eval
['W/\"1', 'W/\"1', 'DELETE', 'DELETE', 'DELETE', 'DELETE', 'DELETE']
--- upstream_requests: 7


=== TEST 13: a transaction's entries are pinned to the versions read (entry.request.ifMatch)
--- config eval: $::Loc
--- upstream_config eval: $::Upstream . $::Echo
--- raw_request eval
[::req('POST', '/fhir/',
    '{"resourceType":"Bundle","type":"transaction","entry":['
    . '{"request":{"method":"DELETE","url":"MedicationStatement/ms-mine",'
    . '"ifMatch":"*"}},'
    . '{"request":{"method":"DELETE","url":"MedicationStatement/ms-mine"}},'
    . '{"resource":' . ::ms('ms-gone', 'p1') . ','
    . '"request":{"method":"PUT","url":"MedicationStatement/ms-gone"}}]}')]
--- error_code eval
[200]
--- response_headers eval
['X-Body: {"resourceType":"Bundle","type":"transaction","entry":['
 . '{"request":{"method":"DELETE","url":"MedicationStatement/ms-mine",'
 . '"ifMatch":"W/\\"3\\""}},'
 . '{"request":{"ifMatch":"W/\\"3\\"","method":"DELETE",'
 . '"url":"MedicationStatement/ms-mine"}},'
 . '{"resource":' . ::ms('ms-gone', 'p1') . ','
 . '"request":{"method":"PUT","url":"MedicationStatement/ms-gone"}}]}']
--- upstream_requests: 5

=== TEST 14: a transaction entry's ifMatch naming another version: conflict, named, nothing written
--- config eval: $::Loc
--- upstream_config eval: $::Upstream . $::Echo
--- raw_request eval
[::req('POST', '/fhir/',
    '{"resourceType":"Bundle","type":"transaction","entry":['
    . '{"request":{"method":"DELETE","url":"MedicationStatement/ms-mine",'
    . '"ifMatch":"W/\\"2\\""}}]}')]
--- error_code eval
[409]
--- response_body_like eval
['"expression":\["Bundle.entry\[0\]"\]']
--- upstream_requests: 1


=== TEST 15: without a usable ETag the write is pinned to meta.versionId
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::req('DELETE', '/fhir/MedicationStatement/ms-vid'),
 ::req('DELETE', '/fhir/MedicationStatement/ms-vlist')]
--- error_code eval
[201, 201]
--- response_body_like eval
['DELETE if-match=W/\\"7\\"', 'DELETE if-match=W/\\"5\\"']

=== TEST 16: a versionId that starts with W is a version like any other
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::req('DELETE', '/fhir/MedicationStatement/ms-wvid')]
--- error_code eval
[201]
--- response_body_like eval
['DELETE if-match=W/\\"Wx1\\"']

=== TEST 17: a transaction entry's own ifMatch: a list naming the version read, or another spelling of it, goes on as the version read
--- config eval: $::Loc
--- upstream_config eval: $::Upstream . $::Echo
--- raw_request eval
[::req('POST', '/fhir/', ::txn(::del_entry('ms-mine', 'W/\\"1\\", W/\\"3\\"'),
                               ::del_entry('ms-mine', '3'))),
 ::req('POST', '/fhir/', ::txn(::del_entry('ms-mine', 'W/\\"1\\", W/\\"2\\"')))]
--- error_code eval
[200, 409]
--- response_headers eval
['X-Body: ' . ::txn(::del_entry('ms-mine', 'W/\\"3\\"'),
                    ::del_entry('ms-mine', 'W/\\"3\\"')), '']
--- upstream_requests: 5


=== TEST 18: a Binary read in a bundle is proven, not pinned (a read has no version to guard); a refusal names its entry
--- config eval: $::Loc
--- upstream_config eval: $::Upstream . $::Binaries . $::Echo
--- raw_request eval
[::req('POST', '/fhir/', ::txn(::get_entry('b1'), ::del_entry('ms-mine'))),
 ::req('POST', '/fhir/', ::txn(::del_entry('ms-mine'), ::get_entry('b2')))]
--- error_code eval
[200, 403]
--- response_headers eval
['X-Body: {"resourceType":"Bundle","type":"transaction","entry":['
 . '{"request":{"method":"GET","url":"Binary/b1"}},'
 . '{"request":{"ifMatch":"W/\\"3\\"","method":"DELETE",'
 . '"url":"MedicationStatement/ms-mine"}}]}',
 'X-Reason: patient-mismatch']
--- response_body_like eval
['', '"expression":\[\"Bundle.entry\[1\]\"\]']
