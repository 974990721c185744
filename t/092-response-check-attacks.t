# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Attacks on the response check (issue 14), from a security review of the
# first version: each block is a way another patient's record, or facts
# about it, could have reached a patient app through a checked read.  The
# upstream below is hostile; every answer must be typed and carry nothing
# of patient p2.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

use Smart::Conf qw(fhir_location bearer_request);

our $P = Smart::Token::mint(exp => time() + 600,
                            scope => 'launch/patient patient/*.rs',
                            patient => 'p1');
our $U = Smart::Token::mint(exp => time() + 600, scope => 'user/*.rs');

sub get { return bearer_request('GET', $_[0], $_[1], undef, @_[2 .. $#_]) }

our $Mine = '{"resourceType":"Observation","id":"mine","status":"final",'
          . '"code":{"text":"x"},"subject":{"reference":"Patient/p1"}}';
our $Theirs = '{"resourceType":"Observation","id":"o2","status":"final",'
            . '"code":{"text":"SECRET-P2"},'
            . '"subject":{"reference":"Patient/p2"}}';

our $Loc = fhir_location('add_header X-Reason $smart_reason always;')
         . <<"_EOC_";
    location /protected/ {
        internal;
        default_type application/fhir+json;
        return 200 '$Theirs';
    }
_EOC_

our $Upstream = <<"_EOC_";
        location = /fhir/Observation/mine {
            default_type application/fhir+json;
            add_header X-Upgrade-Seen "u=\$http_upgrade";
            add_header X-Cond-Seen "inm=\$http_if_none_match ims=\$http_if_modified_since range=\$http_range";
            return 200 '$Mine';
        }
        location = /fhir/Observation/accel {
            default_type application/fhir+json;
            add_header X-Accel-Redirect /protected/o2;
            return 200 '$Mine';
        }
        location = /fhir/Observation/gone {
            default_type application/fhir+json;
            return 404 '$Theirs';
        }
        location = /fhir/Observation/moved {
            default_type application/fhir+json;
            add_header Location /fhir/Observation/o2;
            return 302 '$Theirs';
        }
        location = /fhir/Observation/notmod {
            default_type application/fhir+json;
            add_header ETag 'W/"7"';
            add_header X-Secret SECRET-P2-HDR;
            return 304;
        }
        location = /fhir/Observation/deleted {
            default_type application/fhir+json;
            return 410 '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"deleted","details":{"text":"Observation/deleted of Patient/p2 Jane Roe SECRET-P2 was deleted"},"expression":["Observation.subject SECRET-P2"]}]}';
        }
        location = /fhir/Observation/oo {
            default_type application/fhir+json;
            return 200 '{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}],"contained":[$Theirs]}';
        }
        location = /fhir/Observation/abs {
            default_type application/fhir+json;
            return 200 '{"resourceType":"Observation","id":"abs","subject":{"reference":"http://other-ehr.example/fhir/Patient/p1"},"code":{"text":"SECRET-P2"}}';
        }
        location = /fhir/Observation/abs-own {
            default_type application/fhir+json;
            return 200 '{"resourceType":"Observation","id":"abs-own","subject":{"reference":"https://ehr.example/fhir/Patient/p1"}}';
        }
_EOC_

# Bodies written to files: a NUL byte cannot be written in nginx.conf.
use File::Temp ();
our $Files = File::Temp::tempdir(CLEANUP => 1);
sub ::put_file {
    my ($name, $text) = @_;
    open my $fh, '>', "$Files/$name" or die "$Files/$name: $!";
    binmode $fh;
    print $fh $text;
    close $fh;
}
::put_file('nul.json', '{"resourceType":"Observation","id":"nul",'
                       . '"valueInteger":1' . "\0" . ','
                       . '"code":{"text":"SECRET-P2"},'
                       . '"subject":{"reference":"Patient/p1"}}');
::put_file('big.json', '{"resourceType":"Observation","id":"big",'
                       . '"valueQuantity":{"value":'
                       . '123456789012345678901234567890.5e400},'
                       . '"component":[{"valueInteger":'
                       . '98765432109876543210987654321}],'
                       . '"subject":{"reference":"Patient/p1"}}');

# A search whose included Organization carries another patient's record
# in "contained" (found by a second reader: no one's data was released
# with whatever it contained).
our $Org = '{"resourceType":"Organization","id":"org1","name":"Lab",'
         . '"contained":[' . $Theirs . ']}';
our $SearchUpstream = <<"_EOC_";
        location = /fhir/Observation {
            default_type application/fhir+json;
            return 200 '{"resourceType":"Bundle","type":"searchset","entry":[{"resource":$Mine,"search":{"mode":"match"}},{"resource":$Org,"search":{"mode":"include"}}]}';
        }
_EOC_

our $FileUpstream = <<"_EOC_";
        location /fhir/Observation/ {
            default_type application/fhir+json;
            alias $Files/;
            try_files \$uri.json =404;
        }
_EOC_

run_tests();

__DATA__

=== TEST 1: X-Accel-Redirect from the upstream into another location: still checked
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
::get('/fhir/Observation/accel', $::P)
--- error_code: 403
--- response_body_like: "code":"patient-mismatch"
--- response_body_unlike: SECRET-P2

=== TEST 2: error_page into another location: still checked
--- config eval: ::fhir_location('add_header X-Reason $smart_reason always;', 'proxy_intercept_errors on;', 'error_page 404 = /protected/o2;') . $::Loc =~ s/^.*?(?=    location \/protected\/)//sr
--- upstream_config eval: $::Upstream
--- raw_request eval
::get('/fhir/Observation/gone', $::P)
--- error_code: 403
--- response_body_like: "code":"patient-mismatch"
--- response_body_unlike: SECRET-P2

=== TEST 3: a checked read never carries Upgrade, conditional or Range headers upstream
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
::get('/fhir/Observation/mine', $::P, 'Upgrade: websocket',
      'Connection: Upgrade', 'If-None-Match: W/"1"',
      'If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT',
      'Range: bytes=0-9')
--- error_code: 200
--- response_headers
X-Upgrade-Seen: u=
X-Cond-Seen: inm= ims= range=
--- response_body_like: "id":"mine"

=== TEST 4: a 3xx or a 304 on a checked read is never passed on with its body or headers
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/moved', $::P),
 ::get('/fhir/Observation/notmod', $::P)]
--- error_code eval
[502, 502]
--- response_headers eval
["X-Reason: response-unverifiable\n!X-Secret\n!Location",
 "X-Reason: response-unverifiable\n!X-Secret\n!ETag"]
--- response_body_unlike eval
['SECRET-P2', 'SECRET-P2']

=== TEST 5: upstream error bodies of a checked read are never copied, with smart_errors off too
--- config eval: ::fhir_location('add_header X-Reason $smart_reason always;', 'smart_errors off;')
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/gone', $::P),
 ::get('/fhir/Observation/deleted', $::P)]
--- error_code eval
[404, 410]
--- response_body_unlike eval
['SECRET-P2', 'SECRET-P2|Jane Roe']

=== TEST 6: the same with smart_errors on: the catalogue issue alone
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/deleted', $::P)]
--- error_code eval
[410]
--- response_headers eval
["X-Reason: not-found"]
--- response_body_unlike eval
['SECRET-P2|Jane Roe']

=== TEST 7: an OperationOutcome with contained resources answers no read
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
::get('/fhir/Observation/oo', $::P)
--- error_code: 502
--- response_body_unlike: SECRET-P2

=== TEST 8: the client's Host never names the FHIR base absolute references are read on
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
"GET /fhir/Observation/abs HTTP/1.1\r\nHost: other-ehr.example\r\nConnection: close\r\nAuthorization: Bearer $::P\r\n\r\n"
--- error_code: 403
--- response_body_unlike: SECRET-P2

=== TEST 9: smart_fhir_base_url: absolute references on the configured base prove it
--- config eval: ::fhir_location('add_header X-Reason $smart_reason always;', 'smart_fhir_base_url https://ehr.example/fhir;')
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/abs-own', $::P), ::get('/fhir/Observation/abs', $::P)]
--- error_code eval
[200, 403]

=== TEST 10: Range on a released response: the whole body, as its Content-Length says
--- config eval: ::fhir_location('add_header X-Reason $smart_reason always;', 'proxy_force_ranges on;')
--- upstream_config eval: $::Upstream
--- raw_request eval
::get('/fhir/Observation/mine', $::P, 'Range: bytes=0-9')
--- error_code: 200
--- response_body_like: ^\{"resourceType":"Observation".*"Patient/p1"\}\}$

=== TEST 11: HEAD and _elements/_summary on a checked read are refused before the upstream
--- config eval: $::Loc
--- upstream_config eval: $::Upstream
--- raw_request eval
[::bearer_request('HEAD', '/fhir/Observation/mine', $::P),
 ::get('/fhir/Observation/mine?_elements=code', $::P),
 ::get('/fhir/Observation/mine?_summary=text', $::P)]
--- error_code eval
[400, 400, 400]
--- upstream_requests: 0

=== TEST 12: a cached answer (proxy_cache, sendfile) of the patient's own record is released
--- http_config
    proxy_cache_path $TEST_NGINX_SERVROOT/cache keys_zone=smartc:1m;
--- config eval: ::fhir_location('add_header X-Reason $smart_reason always;', 'proxy_cache smartc;', 'proxy_cache_valid 200 1m;', 'sendfile on;')
--- upstream_config eval: $::Upstream
--- raw_request eval
[::get('/fhir/Observation/mine', $::U), ::get('/fhir/Observation/mine', $::P)]
--- error_code eval
[200, 200]
--- response_body_like eval
['"id":"mine"', '"id":"mine"']

=== TEST 13: gzip to the client still works on a released response
--- config eval: ::fhir_location('add_header X-Reason $smart_reason always;', 'gzip on;', 'gzip_types application/fhir+json;', 'gzip_min_length 1;')
--- upstream_config eval: $::Upstream
--- raw_request eval
::get('/fhir/Observation/mine', $::P, 'Accept-Encoding: gzip')
--- error_code: 200
--- response_headers
Content-Encoding: gzip
X-Reason: ok

=== TEST 14: an upstream that stalls mid-body: a typed refusal, nothing of the body
--- config eval: ::fhir_location('add_header X-Reason $smart_reason always;', 'proxy_read_timeout 500ms;')
--- upstream_config
        location = /fhir/Observation/slow {
            default_type application/fhir+json;
            limit_rate_after 200;
            limit_rate 1;
            return 200 '{"resourceType":"Observation","id":"slow","code":{"text":"SECRET-P2-SLOW"},"subject":{"reference":"Patient/p2"}}';
        }
--- raw_request eval
::get('/fhir/Observation/slow', $::P)
--- error_code: 502
--- response_headers
X-Reason: response-unverifiable
--- response_body_unlike: SECRET-P2
--- timeout: 10

=== TEST 15: a NUL byte between tokens: refused (jansson skipped it; no client parser does)
--- config eval: $::Loc
--- upstream_config eval: $::FileUpstream
--- raw_request eval
::get('/fhir/Observation/nul', $::P)
--- error_code: 502
--- response_headers
X-Reason: response-unverifiable
--- response_body_unlike: SECRET-P2

=== TEST 16: numbers beyond 64 bits or a double (a FHIR decimal may be longer): released as sent
--- config eval: $::Loc
--- upstream_config eval: $::FileUpstream
--- raw_request eval
::get('/fhir/Observation/big', $::P)
--- error_code: 200
--- response_headers
X-Reason: ok
--- response_body_like: "value":123456789012345678901234567890\.5e400\},"component":\[\{"valueInteger":98765432109876543210987654321\}\]


=== TEST 17: an included resource of no one's data carrying another patient's record in contained: withheld
--- config eval: $::Loc
--- upstream_config eval: $::SearchUpstream
--- raw_request eval
::get('/fhir/Observation?patient=p1&_include=Observation:performer', $::P)
--- error_code: 200
--- response_headers
X-Reason: ok
--- response_body_like: "id":"mine".*1 included resource was left out
--- response_body_unlike: SECRET-P2|Organization
