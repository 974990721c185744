# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# smart_errors: upstream failures, and failures NGINX produces in front of
# the upstream, become the typed OperationOutcome of docs/errors.md; the
# upstream's body and the headers that leak internals never reach the app;
# 2xx/3xx and smart_errors off pass through byte for byte.
#
# Requests carry a fixed correlation ID, so whole bodies are compared
# exactly: every field of the OperationOutcome, and nothing else.

use strict;
use warnings;

use lib 't/lib';
use File::Temp ();
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

our $Cid = 'test-cid-0001';
our $Contact = 'Call the service desk at x4357.';

# catalogue rows used here: FHIR code and message (docs/errors.md)
our %Row = (
    'request-invalid'   => ['invalid', 'The app sent a request that could not be processed. Contact support if this keeps happening.'],
    'request-too-large' => ['too-long', 'This is too much information to send at once, so it was not sent. Contact support if you need help.'],
    'conflict'          => ['conflict', 'This record changed in the EHR after the screen loaded. Reload to see the latest version.'],
    'rate-limited'      => ['throttled', 'The EHR is busy right now. Wait a moment, then try again.'],
    'data-unavailable'  => ['transient', 'This information is not available right now. Try again in a few minutes.'],
    'upstream-timeout'  => ['timeout', 'The EHR took too long to answer. Try again in a moment.'],
    'write-outcome-unknown' => ['timeout', 'We could not confirm your change was saved. Reload the record before trying again.'],
    'upstream-error'    => ['exception', 'Something went wrong on our side while loading this information. Contact support and give them the reference shown with this message.'],
    'not-found'         => ['not-found', 'This record could not be found. It may have been moved or removed.'],
);

# Large hostile upstream bodies live outside the html directory, which the
# driver empties before every block.
our $Big = File::Temp->newdir('smart-t040-XXXXXX', TMPDIR => 1);
{
    my $trace = "<html><body><pre>java.lang.NullPointerException: patient 4711\n"
              . ("\tat com.ehr.internal.SecretDao.load(SecretDao.java:42)\n" x 20000)
              . "</pre></body></html>\n";
    my $oo = '{"resourceType":"OperationOutcome","issue":[{"severity":"error",'
           . '"code":"not-found","diagnostics":"'
           . ('SECRET-STACK-FRAME ' x 60000) . '"}]}';
    for (['trace.html', $trace], ['big-oo.json', $oo]) {
        open my $fh, '>', "$Big/$_->[0]" or die "$Big/$_->[0]: $!";
        print {$fh} $_->[1];
        close $fh or die $!;
    }
    chmod 0755, "$Big";
    $ENV{TEST_NGINX_BIGDIR} = "$Big";
}

sub oo {
    my ($code, @extra) = @_;
    my ($fhir, $msg) = @{ $Row{$code} or die "no row $code" };
    my $s = '{"resourceType":"OperationOutcome","id":"' . $Cid . '",'
          . '"issue":[{"severity":"error","code":"' . $fhir . '",'
          . '"details":{"coding":[{"system":"urn:smart-gateway:error",'
          . '"code":"' . $code . '"}],"text":"' . "$msg $Contact" . '"},'
          . '"diagnostics":"correlation-id=' . $Cid . '"}';
    $s .= ",$_" for @extra;
    return $s . ']}';
}

sub oo_xml {
    my ($code, @extra) = @_;
    my ($fhir, $msg) = @{ $Row{$code} or die "no row $code" };
    my $s = '<OperationOutcome xmlns="http://hl7.org/fhir">'
          . '<id value="' . $Cid . '"/><issue><severity value="error"/>'
          . '<code value="' . $fhir . '"/><details><coding>'
          . '<system value="urn:smart-gateway:error"/>'
          . '<code value="' . $code . '"/></coding>'
          . '<text value="' . "$msg $Contact" . '"/></details>'
          . '<diagnostics value="correlation-id=' . $Cid . '"/></issue>';
    $s .= $_ for @extra;
    return $s . '</OperationOutcome>';
}

sub hdrs {
    my (%o) = @_;
    my $len = length($o{body});
    my $ct = $o{xml} ? 'application/fhir+xml' : 'application/fhir+json';
    return "Content-Type: $ct\nContent-Length: $len\n"
         . "X-Correlation-ID: $Cid\nCache-Control: no-store\n"
         . "X-Reason: $o{reason}\n"
         . "!X-Powered-By\n!X-AspNet-Version\n!X-AspNetMvc-Version\n"
         . "!X-Runtime\n!X-Debug-Token\n!X-Stack-Trace\n!Via\n!Set-Cookie\n"
         . "!Content-Encoding\n!Location\n!Last-Modified\n"
         . ($o{more} // '');
}

sub auth {
    my (%o) = @_;
    return "Authorization: Bearer "
         . Smart::Token::mint(scope => 'user/*.cruds', %o)
         . "\nX-Correlation-ID: $Cid\n";
}

# the headers a careless FHIR server sends with its errors
our $Leaky = <<'_EOC_';
            add_header X-Powered-By "PHP/5.4.0" always;
            add_header X-AspNet-Version "4.0.30319" always;
            add_header X-AspNetMvc-Version "5.2" always;
            add_header X-Runtime "0.123" always;
            add_header X-Debug-Token "dbg-secret" always;
            add_header X-Stack-Trace "at com.ehr.SecretDao" always;
            add_header Via "1.1 internal-lb.ehr.local" always;
            add_header Set-Cookie "JSESSIONID=secret" always;
            add_header Last-Modified "Tue, 01 Jan 2030 00:00:00 GMT" always;
_EOC_

our $Smart = <<'_EOC_';
        smart on;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        smart_error_contact "Call the service desk at x4357.";
        add_header X-Reason $smart_reason always;
        proxy_pass_header Server;
        proxy_http_version 1.1;
        proxy_read_timeout 500ms;
_EOC_

our $Config = <<"_EOC_";
    location /fhir/ {
        smart_fhir_base /fhir/;
$Smart
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location /raw/ {
        smart_fhir_base /raw/;
        smart_errors off;
$Smart
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location /down/ {
        smart_fhir_base /down/;
$Smart
        proxy_pass http://127.0.0.1:1;
    }

    location /tiny/ {
        smart_fhir_base /tiny/;
$Smart
        proxy_buffer_size 1k;
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location /plainproxy/ {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT/fhir/;
    }
_EOC_

our $Upstream = <<"_EOC_";
        location = /fhir/Patient/e500 {
            default_type text/html;
$Leaky
            return 500 '<html><pre>java.lang.NullPointerException at com.ehr.SecretDao.load(SecretDao.java:42) patient 4711</pre></html>';
        }
        location = /raw/Patient/e500 {
            default_type text/html;
            return 500 '<html><pre>java.lang.NullPointerException at com.ehr.SecretDao</pre></html>';
        }
        location = /fhir/Patient/e500big {
            error_page 500 /trace.html;
            return 500;
        }
        location = /trace.html {
            internal;
            default_type text/html;
            alias \$TEST_NGINX_BIGDIR/trace.html;
        }
        location = /fhir/Observation/o1 {
            default_type application/json;
$Leaky
            if (\$request_method = PUT) {
                return 500 '{"error":"ORA-00060: deadlock detected while waiting for resource"}';
            }
            return 200 '{"resourceType":"Observation","id":"o1"}';
        }
        location = /fhir/Patient/e502 {
            default_type text/plain;
            return 502 'Bad gateway from lb-7.internal.ehr.local';
        }
        location = /fhir/Observation {
            default_type text/plain;
            return 502 'Bad gateway from lb-7.internal.ehr.local';
        }
        location = /fhir/Patient/e503 {
            default_type text/plain;
            add_header Retry-After 120 always;
$Leaky
            return 503 'maintenance: db-primary.ehr.local down';
        }
        location = /fhir/Patient/e504 {
            default_type text/plain;
            return 504 'upstream upstream timed out: app-3.internal';
        }
        location = /fhir/Patient/e504w {
            default_type text/plain;
            return 504 'upstream upstream timed out: app-3.internal';
        }
        location = /fhir/Patient/e501 {
            default_type text/plain;
            return 501 'Not Implemented by SecretServer/9';
        }
        location = /fhir/Patient/e409 {
            default_type application/fhir+json;
            return 409 '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"conflict","diagnostics":"version 7 != 8 for patient 4711"}]}';
        }
        location = /fhir/Patient/e412 {
            default_type text/plain;
            add_header ETag 'W/"8"' always;
$Leaky
            return 412 'Precondition failed: version 8 (row lock held by user jdoe)';
        }
        location = /fhir/Patient/e429 {
            default_type text/plain;
            add_header Retry-After 30 always;
            return 429 'slow down, quota for client app-secret-id exceeded';
        }
        location = /fhir/Patient/e404oo {
            default_type application/fhir+json;
$Leaky
            return 404 '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","details":{"text":"Resource is not known","coding":[{"system":"urn:smart-gateway:error","code":"token-expired"}]},"diagnostics":"java.lang.IllegalStateException at com.ehr.Secret(Secret.java:42)","expression":["Patient.id","Patient.meta"],"location":["/f:Patient/f:id"]},{"severity":"catastrophic","code":"made-up","diagnostics":"SECRET"},"not an issue"]}';
        }
        location = /fhir/Patient/e404big {
            default_type application/fhir+json;
            error_page 404 /big-oo.json;
            return 404;
        }
        location = /big-oo.json {
            internal;
            default_type application/fhir+json;
            alias \$TEST_NGINX_BIGDIR/big-oo.json;
        }
        location = /fhir/Patient/e404chunked {
            default_type application/fhir+json;
            sub_filter_types *;
            sub_filter 'NEVER-MATCHES' 'x';
            return 404 '{"resourceType":"OperationOutcome","issue":[{"severity":"warning","code":"not-found","details":{"text":"Gone away"},"diagnostics":"SECRET-CHUNKED"}]}';
        }
        location = /fhir/Patient/e404xml {
            default_type application/fhir+xml;
            return 404 '<OperationOutcome xmlns="http://hl7.org/fhir"><issue><severity value="error"/><code value="not-found"/><diagnostics value="SECRET-XML"/></issue></OperationOutcome>';
        }
        location = /fhir/Patient/e410 {
            default_type text/html;
            return 410 '<html><body>Patient 4711 was deleted by jdoe</body></html>';
        }
        location = /fhir/Patient/e400 {
            default_type application/fhir+json;
            return 400 '{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid","details":{"text":"Unknown search parameter"},"diagnostics":"SQL: SELECT * FROM patient WHERE ssn=123-45-6789","expression":["Patient.foo"]}]}';
        }
        location = /fhir/Patient/e422 {
            default_type application/fhir+json;
            return 422 '{"resourceType":"OperationOutcome","issue":[{"severity":"error", "diagnostics":"SECRET-TRUNCATED';
        }
        location = /fhir/Patient/e401 {
            default_type text/plain;
            add_header WWW-Authenticate 'Bearer realm="ehr"' always;
            return 401 'token rejected by ehr: kid internal-key-3';
        }
        location = /fhir/Patient/ok {
            default_type application/fhir+json;
$Leaky
            return 200 '{"resourceType":"Patient","id":"ok"}';
        }
        location = /fhir/Patient/moved {
            return 302 http://elsewhere.example.test/fhir/Patient/ok;
        }
        location = /fhir/Patient/close {
            return 444;
        }
        location = /fhir/Observation/close {
            return 444;
        }
        location = /fhir/Patient/hang {
            limit_rate 1;
            add_header X-Pad 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
            return 200 'late';
        }
        location = /fhir/Observation/hang {
            limit_rate 1;
            add_header X-Pad 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
            return 200 'late';
        }
        location = /fhir/Observation/_search {
            limit_rate 1;
            add_header X-Pad 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
            return 200 'late';
        }
        location = /tiny/Patient/big {
            add_header X-Big 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' always;
            return 200 '{"resourceType":"Patient"}';
        }
_EOC_

sub obs { return '{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"}}' }

run_tests();

__DATA__

=== TEST 1: upstream 500 on a read: upstream-error 502, no trace, no leaky headers
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e500
--- error_code: 502
--- response_headers eval
::hdrs(reason => 'upstream-error', body => ::oo('upstream-error'))
--- response_headers_like
Server: ^nginx(/[0-9.]+)?$
--- response_body eval: ::oo('upstream-error')
--- upstream_requests: 1
--- error_log
smart: upstream-error: upstream status 500, request sent upstream, correlation id "test-cid-0001"

=== TEST 2: upstream 500 with a 1 MB HTML stack trace
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e500big
--- error_code: 502
--- response_headers eval
::hdrs(reason => 'upstream-error', body => ::oo('upstream-error'))
--- response_body eval: ::oo('upstream-error')

=== TEST 3: upstream 500 after a PUT: write-outcome-unknown 504
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth() . "Content-Type: application/fhir+json"
--- request eval
"PUT /fhir/Observation/o1\n" . ::obs()
--- error_code: 504
--- response_headers eval
::hdrs(reason => 'write-outcome-unknown', body => ::oo('write-outcome-unknown'))
--- response_body eval: ::oo('write-outcome-unknown')
--- upstream_requests: 1

=== TEST 4: upstream 502 on a read: data-unavailable 503
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e502
--- error_code: 503
--- response_headers eval
::hdrs(reason => 'data-unavailable', body => ::oo('data-unavailable'))
--- response_body eval: ::oo('data-unavailable')

=== TEST 5: upstream 502 after a POST create: write-outcome-unknown
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth() . "Content-Type: application/fhir+json"
--- request eval
"POST /fhir/Observation\n" . '{"resourceType":"Observation","status":"final","code":{"text":"x"}}'
--- error_code: 504
--- response_body eval: ::oo('write-outcome-unknown')

=== TEST 6: upstream 503 keeps Retry-After: data-unavailable
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e503
--- error_code: 503
--- response_headers eval
::hdrs(reason => 'data-unavailable', body => ::oo('data-unavailable'),
       more => "Retry-After: 120\n")
--- response_body eval: ::oo('data-unavailable')

=== TEST 7: upstream 504 on a read: upstream-timeout
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e504
--- error_code: 504
--- response_headers eval
::hdrs(reason => 'upstream-timeout', body => ::oo('upstream-timeout'))
--- response_body eval: ::oo('upstream-timeout')

=== TEST 8: upstream 504 after a DELETE: write-outcome-unknown
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
DELETE /fhir/Patient/e504w
--- error_code: 504
--- response_headers eval
::hdrs(reason => 'write-outcome-unknown', body => ::oo('write-outcome-unknown'))
--- response_body eval: ::oo('write-outcome-unknown')

=== TEST 9: other upstream 5xx (501): upstream-error 502
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e501
--- error_code: 502
--- response_body eval: ::oo('upstream-error')

=== TEST 10: upstream 409: conflict, status kept, upstream issues dropped
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e409
--- error_code: 409
--- response_headers eval
::hdrs(reason => 'conflict', body => ::oo('conflict'))
--- response_body eval: ::oo('conflict')

=== TEST 11: upstream 412 keeps ETag: conflict
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e412
--- error_code: 412
--- response_headers eval
::hdrs(reason => 'conflict', body => ::oo('conflict'), more => "ETag: W/\"8\"\n")
--- response_body eval: ::oo('conflict')

=== TEST 12: upstream 429 keeps Retry-After: rate-limited
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e429
--- error_code: 429
--- response_headers eval
::hdrs(reason => 'rate-limited', body => ::oo('rate-limited'),
       more => "Retry-After: 30\n")
--- response_body eval: ::oo('rate-limited')

=== TEST 13: upstream 404 OperationOutcome: not-found, its issues kept without diagnostics, coding or location
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e404oo
--- error_code: 404
--- response_headers eval
my $b = ::oo('not-found',
    '{"severity":"error","code":"not-found","details":{"text":"Resource is not known"},"expression":["Patient.id"]}',
    '{"severity":"error","code":"processing"}');
::hdrs(reason => 'not-found', body => $b)
--- response_body eval
::oo('not-found',
    '{"severity":"error","code":"not-found","details":{"text":"Resource is not known"},"expression":["Patient.id"]}',
    '{"severity":"error","code":"processing"}')

=== TEST 14: the same in XML (Accept: application/fhir+xml)
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth() . "Accept: application/fhir+xml"
--- request
GET /fhir/Patient/e404oo
--- error_code: 404
--- response_headers eval
my $b = ::oo_xml('not-found',
    '<issue><severity value="error"/><code value="not-found"/><details><text value="Resource is not known"/></details><expression value="Patient.id"/></issue>',
    '<issue><severity value="error"/><code value="processing"/></issue>');
::hdrs(reason => 'not-found', body => $b, xml => 1)
--- response_body eval
::oo_xml('not-found',
    '<issue><severity value="error"/><code value="not-found"/><details><text value="Resource is not known"/></details><expression value="Patient.id"/></issue>',
    '<issue><severity value="error"/><code value="processing"/></issue>')

=== TEST 15: upstream 404 with a 1 MB OperationOutcome: over the bound, catalogue issue only
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e404big
--- error_code: 404
--- response_headers eval
::hdrs(reason => 'not-found', body => ::oo('not-found'))
--- response_body eval: ::oo('not-found')

=== TEST 16: upstream 404 sent chunked: issues kept
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e404chunked
--- error_code: 404
--- response_body eval
::oo('not-found', '{"severity":"warning","code":"not-found","details":{"text":"Gone away"}}')

=== TEST 17: upstream 404 in XML: catalogue issue only
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e404xml
--- error_code: 404
--- response_body eval: ::oo('not-found')

=== TEST 18: upstream 410 HTML: not-found, status kept (_format=xml)
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e410?_format=xml
--- error_code: 410
--- response_headers eval
::hdrs(reason => 'not-found', body => ::oo_xml('not-found'), xml => 1)
--- response_body eval: ::oo_xml('not-found')

=== TEST 19: upstream 400 OperationOutcome: request-invalid 400, issue kept, SQL diagnostics dropped
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e400
--- error_code: 400
--- response_body eval
::oo('request-invalid', '{"severity":"error","code":"invalid","details":{"text":"Unknown search parameter"},"expression":["Patient.foo"]}')

=== TEST 20: upstream 422 with invalid JSON: request-invalid 422, catalogue issue only
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e422
--- error_code: 422
--- response_headers eval
::hdrs(reason => 'request-invalid', body => ::oo('request-invalid'))
--- response_body eval: ::oo('request-invalid')

=== TEST 21: other upstream 4xx (401): request-invalid, status and WWW-Authenticate kept
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/e401
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="ehr"
--- response_body eval: ::oo('request-invalid')

=== TEST 22: HEAD of an upstream 500: headers of the typed response, no body
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
HEAD /fhir/Patient/e500
--- error_code: 502
--- response_headers eval
::hdrs(reason => 'upstream-error', body => ::oo('upstream-error'))

=== TEST 23: upstream 2xx passes byte for byte, headers untouched
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/ok
--- error_code: 200
--- response_headers
Content-Type: application/fhir+json
X-Powered-By: PHP/5.4.0
X-Reason: ok
X-Correlation-ID: test-cid-0001
--- response_body chomp
{"resourceType":"Patient","id":"ok"}

=== TEST 24: upstream 3xx passes byte for byte
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/moved
--- error_code: 302
--- response_headers
Location: http://elsewhere.example.test/fhir/Patient/ok
--- response_body eval
"<html>\r\n<head><title>302 Found</title></head>\r\n<body>\r\n"
. "<center><h1>302 Found</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n"
. "</body>\r\n</html>\r\n"

=== TEST 25: smart_errors off: upstream 500 passes byte for byte
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /raw/Patient/e500
--- error_code: 500
--- response_headers
Content-Type: text/html
X-Correlation-ID: test-cid-0001
--- response_body chomp
<html><pre>java.lang.NullPointerException at com.ehr.SecretDao</pre></html>

=== TEST 26: connection refused (nothing listens on port 1), read: data-unavailable
--- config eval: $::Config
--- more_headers eval: ::auth()
--- request
GET /down/Patient/123
--- error_code: 503
--- response_headers eval
::hdrs(reason => 'data-unavailable', body => ::oo('data-unavailable'))
--- response_body eval: ::oo('data-unavailable')
--- error_log
smart: data-unavailable: gateway status 502, request not sent upstream

=== TEST 27: connection refused on a PUT: nothing was sent, data-unavailable
--- config eval: $::Config
--- more_headers eval: ::auth() . "Content-Type: application/fhir+json"
--- request eval
"PUT /down/Observation/o1\n" . ::obs()
--- error_code: 503
--- response_body eval: ::oo('data-unavailable')

=== TEST 28: upstream closes the connection (444) on a read: data-unavailable
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/close
--- error_code: 503
--- response_headers eval
::hdrs(reason => 'data-unavailable', body => ::oo('data-unavailable'))
--- response_body eval: ::oo('data-unavailable')
--- error_log
upstream prematurely closed connection
smart: data-unavailable: gateway status 502, request sent upstream

=== TEST 29: upstream closes the connection after a PUT: write-outcome-unknown
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth() . "Content-Type: application/fhir+json"
--- request eval
"PUT /fhir/Observation/close\n" . '{"resourceType":"Observation","id":"close","status":"final","code":{"text":"x"}}'
--- error_code: 504
--- response_headers eval
::hdrs(reason => 'write-outcome-unknown', body => ::oo('write-outcome-unknown'))
--- response_body eval: ::oo('write-outcome-unknown')

=== TEST 30: upstream hangs past proxy_read_timeout on a read: upstream-timeout
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /fhir/Patient/hang
--- error_code: 504
--- response_headers eval
::hdrs(reason => 'upstream-timeout', body => ::oo('upstream-timeout'))
--- response_body eval: ::oo('upstream-timeout')
--- error_log
upstream timed out
smart: upstream-timeout: gateway status 504, request sent upstream

=== TEST 31: upstream hangs after a PUT: write-outcome-unknown
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth() . "Content-Type: application/fhir+json"
--- request eval
"PUT /fhir/Observation/hang\n" . '{"resourceType":"Observation","id":"hang","status":"final","code":{"text":"x"}}'
--- error_code: 504
--- response_body eval: ::oo('write-outcome-unknown')

=== TEST 32: upstream hangs on POST _search (a read): upstream-timeout
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth() . "Content-Type: application/x-www-form-urlencoded"
--- request
POST /fhir/Observation/_search
code=1234-5
--- error_code: 504
--- response_body eval: ::oo('upstream-timeout')

=== TEST 33: malformed upstream reply (header too big) on a read: upstream-error
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers eval: ::auth()
--- request
GET /tiny/Patient/big
--- error_code: 502
--- response_headers eval
::hdrs(reason => 'upstream-error', body => ::oo('upstream-error'))
--- response_body eval: ::oo('upstream-error')
--- error_log
upstream sent too big header

=== TEST 34: a location without smart is not touched, even with a plain proxy_pass
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- request
GET /plainproxy/Patient/e500
--- error_code: 500
--- response_body_like: NullPointerException

=== TEST 35: token refusals are still the access phase's (no upstream request)
--- config eval: $::Config
--- upstream_config eval: $::Upstream
--- more_headers
X-Correlation-ID: test-cid-0001
--- request
GET /fhir/Patient/e500
--- error_code: 401
--- response_body_like: "code":"token-missing"
--- upstream_requests: 0

=== TEST 36: smart_errors takes on or off
--- config
    location / {
        smart_errors maybe;
    }
--- must_die
--- error_log
invalid value "maybe" in "smart_errors" directive
