# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Every 413 in a smart location is the typed request-too-large refusal of
# docs/errors.md, whichever limit fired: NGINX's client_max_body_size
# (checked on Content-Length before the access phase, and on chunked bodies
# while they are read) or smart_body_max (on Content-Length before reading,
# and on chunked bodies as soon as they pass it, before anything is written
# to a temporary file).  One audit record each, deny request-too-large.
# Invalid Content-Length values are still NGINX's own 400.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use Smart::Token qw(:all);
use Smart::Redis;

our $R = Smart::Redis->start;
$ENV{TEST_NGINX_REDIS_PORT} = $R->port;

our $Cid = 'test-cid-0413';
our $Msg = 'This is too much information to send at once, so it was not '
         . 'sent. Contact support if you need help.';

our $OO = '{"resourceType":"OperationOutcome","id":"' . $Cid . '",'
        . '"issue":[{"severity":"error","code":"too-long",'
        . '"details":{"coding":[{"system":"urn:smart-gateway:error",'
        . '"code":"request-too-large"}],"text":"' . $Msg . '"},'
        . '"diagnostics":"correlation-id=' . $Cid . '"}]}';

our $OO_XML = '<OperationOutcome xmlns="http://hl7.org/fhir">'
            . '<id value="' . $Cid . '"/><issue><severity value="error"/>'
            . '<code value="too-long"/><details><coding>'
            . '<system value="urn:smart-gateway:error"/>'
            . '<code value="request-too-large"/></coding>'
            . '<text value="' . $Msg . '"/></details>'
            . '<diagnostics value="correlation-id=' . $Cid . '"/></issue>'
            . '</OperationOutcome>';

our $Smart = <<'_EOC_';
        smart on;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        add_header X-Reason $smart_reason always;
        add_header X-Decision $smart_decision always;
_EOC_

# /fhir/: both limits at their 1m defaults; /big/: smart_body_max above
# client_max_body_size; /roomy/: client_max_body_size above smart_body_max;
# /small/: smart_body_max 4k (read buffer 8k); /plain/: no smart.
our $Config = <<"_EOC_";
    location /fhir/ {
        smart_fhir_base /fhir/;
$Smart
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location /big/ {
        smart_fhir_base /big/;
        smart_body_max 4m;
$Smart
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location /roomy/ {
        smart_fhir_base /roomy/;
        smart_body_max 1m;
        client_max_body_size 8m;
$Smart
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location /small/ {
        smart_fhir_base /small/;
        smart_body_max 4k;
        smart_errors off;
        smart_explain on;
$Smart
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location /plain/ {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location = /status { smart_status; }
_EOC_

our $Token = Smart::Token::mint(scope => 'user/*.cruds',
                                exp => time() + 600);

# A raw HTTP/1.1 request: $o{auth} (default on), $o{cl} a Content-Length
# (number or raw text), $o{chunks} an array of chunk payloads, $o{body}.
sub req {
    my ($line, %o) = @_;
    my @h = ("Host: localhost", "X-Correlation-ID: $Cid",
             "Content-Type: application/fhir+json");
    push @h, "Connection: " . ($o{conn} // 'close');
    push @h, "Authorization: Bearer $Token" unless exists $o{auth};
    push @h, @{ $o{headers} || [] };
    my $body = $o{body} // '';
    if ($o{chunks}) {
        push @h, "Transfer-Encoding: chunked";
        $body = join('', map { sprintf("%x\r\n%s\r\n", length, $_) }
                         @{ $o{chunks} }) . "0\r\n\r\n";
    } elsif (defined $o{cl}) {
        push @h, "Content-Length: $o{cl}";
    } elsif (length $body) {
        push @h, "Content-Length: " . length $body;
    }
    return "$line HTTP/1.1\r\n" . join('', map { "$_\r\n" } @h)
         . "\r\n$body";
}

sub obs {
    my ($n) = @_;
    my $s = '{"resourceType":"Observation","status":"final",'
          . '"code":{"text":"x"},"note":[{"text":"';
    return $s . ('x' x ($n - length($s) - 4)) . '"}]}';
}

sub typed_headers {
    my ($ct) = @_;
    $ct ||= 'application/fhir+json';
    return "Content-Type: $ct\nX-Correlation-ID: $Cid\n"
         . "Cache-Control: no-store\nX-Reason: request-too-large\n"
         . "X-Decision: deny\n";
}

# The record of each response: one per request, deny request-too-large.
sub check_records {
    my ($stream, $resps, $name) = @_;
    my @e = $::R->stream($stream);
    ::is(scalar @e, scalar @$resps, "$name - one record per request");
    for my $e (@e) {
        ::is($e->{cid}, $::Cid, "$name - cid");
        ::is($e->{decision}, 'deny', "$name - decision deny");
        ::is($e->{reason}, 'request-too-large', "$name - reason");
        ::is($e->{status}, '413', "$name - status 413");
        ::is($e->{outcome}, '4', "$name - outcome 4");
        ::is($e->{upstream_status}, '', "$name - nothing sent upstream");
    }
}

run_tests();

__DATA__

=== TEST 1: defaults: Content-Length above client_max_body_size (1m) gets the typed 413, not NGINX's HTML
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t1;
--- config eval: $::Config
--- raw_request eval
::req('POST /fhir/Observation', body => ::obs(2_000_000))
--- error_code: 413
--- response_headers eval
::typed_headers() . "Content-Length: " . length($::OO) . "\nConnection: close\n"
--- response_body eval: $::OO
--- upstream_requests: 0
--- stop_hook eval
sub { ::check_records('t1', @_) }
--- error_log
client intended to send too large body: 2000000 bytes
smart: request-too-large: NGINX answered 413 (client_max_body_size), correlation id "test-cid-0413"

=== TEST 2: the same without a token: the body limit is checked before the access phase
--- config eval: $::Config
--- raw_request eval
::req('POST /fhir/Observation', auth => 0, body => ::obs(1_100_000))
--- error_code: 413
--- response_headers eval
::typed_headers() . "!WWW-Authenticate\n"
--- response_body eval: $::OO
--- upstream_requests: 0

=== TEST 3: smart_body_max above client_max_body_size: NGINX's limit fires first, still typed
--- config eval: $::Config
--- raw_request eval
::req('POST /big/Observation', body => ::obs(2_000_000))
--- error_code: 413
--- response_headers eval: ::typed_headers()
--- response_body eval: $::OO
--- upstream_requests: 0
--- error_log
client intended to send too large body: 2000000 bytes

=== TEST 4: client_max_body_size above smart_body_max: the access phase refuses on Content-Length, keepalive kept
--- config eval: $::Config
--- raw_request eval
::req('POST /roomy/Observation', body => ::obs(2_000_000), conn => 'keep-alive')
--- error_code: 413
--- response_headers eval
::typed_headers() . "Connection: keep-alive\n"
--- response_body eval: $::OO
--- upstream_requests: 0
--- error_log
smart: request-too-large: request body above smart_body_max, correlation id "test-cid-0413"
--- no_error_log
client intended to send too large body
buffered to a temporary file

=== TEST 5: within both limits the body passes
--- config eval: $::Config
--- raw_request eval
::req('POST /roomy/Observation', body => ::obs(1_000_000))
--- error_code: 200
--- upstream_requests: 1

=== TEST 6: NGINX's 413 closes the connection even when the client asked for keepalive
--- config eval: $::Config
--- raw_request eval
::req('POST /fhir/Observation', body => ::obs(1_500_000), conn => 'keep-alive')
--- error_code: 413
--- response_headers
Connection: close
--- response_body eval: $::OO

=== TEST 7: Expect: 100-continue with an oversized Content-Length: no 100, the typed 413 at once
--- config eval: $::Config
--- raw_request eval
::req('POST /fhir/Observation', cl => 5_000_000,
      headers => ['Expect: 100-continue'])
--- error_code: 413
--- response_body eval: $::OO
--- upstream_requests: 0

=== TEST 8: the typed 413 in XML when the app asks for it
--- config eval: $::Config
--- raw_request eval
::req('POST /fhir/Observation', body => ::obs(1_100_000),
      headers => ['Accept: application/fhir+xml'])
--- error_code: 413
--- response_headers eval
::typed_headers('application/fhir+xml')
--- response_body eval: $::OO_XML

=== TEST 9: HEAD with an oversized Content-Length: typed headers, no body
--- config eval: $::Config
--- raw_request eval
::req('HEAD /fhir/Patient/1', cl => 2_000_000)
--- error_code: 413
--- response_headers eval
::typed_headers() . "Content-Length: " . length($::OO) . "\n"

=== TEST 10: a chunk announcing more than smart_body_max is refused before its data is read
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t10;
--- config eval: $::Config
--- raw_request eval
::req('POST /small/Observation', chunks => [::obs(5000)])
--- error_code: 413
--- response_headers eval
::typed_headers() . "X-Smart-Decision: deny request-too-large\n"
--- response_body eval: $::OO
--- upstream_requests: 0
--- stop_hook eval
sub { ::check_records('t10', @_) }
--- error_log
smart: request-too-large: request body above smart_body_max while reading, correlation id "test-cid-0413"
--- no_error_log
buffered to a temporary file
NGINX answered 413
[alert]

=== TEST 11: many small chunks passing smart_body_max: refused as soon as the total does
--- config eval: $::Config
--- raw_request eval
::req('POST /small/Observation',
      chunks => [unpack "(a100)*", ::obs(200_000)])
--- error_code: 413
--- response_body eval: $::OO
--- upstream_requests: 0
--- error_log
request body above smart_body_max while reading
--- no_error_log
buffered to a temporary file
[alert]

=== TEST 12: one-byte chunks: the framing fills the 8k read buffer first; refused instead of spilled to disk
--- config eval: $::Config
--- raw_request eval
::req('POST /small/Observation', chunks => [split //, ::obs(3000)])
--- error_code: 413
--- response_body eval: $::OO
--- upstream_requests: 0
--- error_log
request body does not fit in the read buffer (client_body_buffer_size)
--- no_error_log
buffered to a temporary file
[alert]

=== TEST 13: a chunked body within smart_body_max passes
--- config eval: $::Config
--- raw_request eval
::req('POST /small/Observation', chunks => [unpack "(a500)*", ::obs(4000)])
--- error_code: 200
--- upstream_requests: 1

=== TEST 14: chunked above client_max_body_size (1m) in a default location: NGINX's chunked limit, typed
--- config eval: $::Config
--- raw_request eval
::req('POST /fhir/Observation', chunks => [::obs(1_200_000)])
--- error_code: 413
--- response_headers eval: ::typed_headers()
--- response_body eval: $::OO
--- upstream_requests: 0
--- error_log
client intended to send too large chunked body
NGINX answered 413 (client_max_body_size)
--- no_error_log
buffered to a temporary file

=== TEST 15: chunked body on a DELETE: refused before it is read (a body on DELETE is a parsing differential, docs/security.md)
--- config eval: $::Config
--- raw_request eval
::req('DELETE /fhir/Patient/1', chunks => [('z' x 600_000) x 2])
--- error_code: 400
--- response_body_like: "code":"request-invalid"
--- upstream_requests: 0

=== TEST 16: a huge but valid Content-Length (10 GB): typed 413
--- config eval: $::Config
--- raw_request eval
::req('PUT /fhir/Observation/o1', cl => '10000000000')
--- error_code: 413
--- response_body eval: $::OO
--- error_log
client intended to send too large body: 10000000000 bytes

=== TEST 17: hostile Content-Length values are NGINX's 400, untouched
--- config eval: $::Config
--- raw_request eval
[::req('POST /fhir/Observation', cl => '99999999999999999999999'),
 ::req('POST /fhir/Observation', cl => '-1'),
 ::req('POST /fhir/Observation', cl => '12abc'),
 ::req('POST /fhir/Observation', chunks => ['x'],
       headers => ['Content-Length: 5'])]
--- error_code: 400
--- response_headers
Content-Type: text/html
!X-Correlation-ID
--- response_body_like: <center><h1>400 Bad Request</h1></center>
--- upstream_requests: 0
--- error_log
client sent invalid "Content-Length" header
client sent "Content-Length" and "Transfer-Encoding" headers at the same time

=== TEST 18: a location without smart keeps NGINX's plain 413
--- config eval: $::Config
--- raw_request eval
::req('POST /plain/Observation', body => ::obs(1_100_000))
--- error_code: 413
--- response_headers
Content-Type: text/html
!X-Correlation-ID
--- response_body_like: <center><h1>413 Request Entity Too Large</h1></center>

=== TEST 19: an upstream's own 413 is an upstream failure (smart_errors), allowed then typed
--- config eval: $::Config
--- upstream_config
    location = /fhir/Observation { return 413 'body limit of SecretServer/9'; }
--- raw_request eval
::req('POST /fhir/Observation', body => ::obs(1000))
--- error_code: 413
--- response_headers eval
"Content-Type: application/fhir+json\nX-Correlation-ID: $::Cid\n"
. "X-Reason: request-too-large\nX-Decision: allow\n"
--- response_body eval: $::OO
--- upstream_requests: 1

=== TEST 20: smart_status counts the refusals as deny request-too-large
--- config eval: $::Config
--- raw_request eval
[::req('POST /fhir/Observation', body => ::obs(1_100_000)),
 ::req('POST /small/Observation', chunks => [::obs(5000)]),
 ::req('POST /roomy/Observation', body => ::obs(1_100_000)),
 "GET /status HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"]
--- request_delay eval
[0, 0, 0, 0.5]
--- error_code eval
[413, 413, 413, 200]
--- response_body_like eval
["", "", "",
 qr/^smart_requests_total\{decision="allow",reason="ok"\} 0\n.*^smart_requests_total\{decision="deny",reason="request-too-large"\} 3\n.*^smart_requests_total\{decision="none",reason=""\} 0\n/ms]
