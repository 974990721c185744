# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Requests NGINX accepts without the request header list it builds for
# HTTP/1.x (issue 12, finding 1), and the responses NGINX makes itself
# before a location is chosen (finding 10).
#
# - HTTP/0.9 ("GET /path" CRLF: no version, no headers, and no status line
#   or headers in the answer): r->headers_in.headers is never initialised.
#   A smart location refuses it as request-invalid (the body alone reaches
#   the client), never contacts the upstream, and neither the access phase
#   nor the audit record touches the list.  Also after an internal
#   redirect into a smart location and on a public endpoint.
# - Requests NGINX refuses while reading the request line (400, 414, 505)
#   or the headers (400, 494 sent as 400, 405 TRACE, 501) are answered in
#   the server's context: with "smart on" at server level they are typed
#   OperationOutcomes keeping NGINX's status, and the log phase (audit
#   record to a spool) runs on them without touching the missing list.
#   In a server whose smart contexts are only locations they stay NGINX's
#   plain pages.  Requests that end without a response
#   (client_header_timeout) still get their audit record.  The same
#   statuses made in a smart location before the access phase are typed.
# - Subrequests copy their parent's (possibly zeroed) list: the log phase
#   runs on them without touching it.
# - With server_tokens off nothing carries the NGINX version.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use JSON::PP;
use Smart::Token qw(:all);

our $Msg = 'The app sent a request that could not be processed. '
         . 'Contact support if this keeps happening.';
our $Big = 'This is too much information to send at once, so it was not '
         . 'sent. Contact support if you need help.';

# A typed OperationOutcome with a generated correlation ID and no
# "nginx/" anywhere in it.
sub oo_re {
    my ($code, $fhir, $text) = @_;
    $code ||= 'request-invalid';
    $fhir ||= 'invalid';
    $text ||= $Msg;
    return qr/\A(?!.*nginx\/)\{"resourceType":"OperationOutcome","id":"([0-9a-f]+-[0-9a-f]{8,})","issue":\[\{"severity":"error","code":"\Q$fhir\E","details":\{"coding":\[\{"system":"urn:smart-gateway:error","code":"\Q$code\E"\}\],"text":"\Q$text\E"\},"diagnostics":"correlation-id=\1"\}\]\}\z/s;
}

our $Smart = <<'_EOC_';
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
_EOC_

# smart on in locations only; /plain/ and /go are not smart.
our $Loc = <<"_EOC_";
    server_tokens off;
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
$Smart
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location /plain/ {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }

    location = /go {
        rewrite ^ /fhir/Patient/x last;
    }
_EOC_

# smart on for the whole server; limits small enough to trip.
our $Srv = <<"_EOC_";
    server_tokens off;
    large_client_header_buffers 4 1k;
    client_header_timeout 1s;
    smart on;
    smart_fhir_base /fhir/;
$Smart
    location /fhir/ {
        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_

our $Spool = "smart_audit_spool \$TEST_NGINX_SERVROOT/logs/spool;\n";

our $Token = Smart::Token::mint(scope => 'patient/*.rs', patient => '123',
                                exp => time() + 600);

sub h11 {
    my ($line, @h) = @_;
    return "$line HTTP/1.1\r\n" . join('', map { "$_\r\n" } @h) . "\r\n";
}

# The audit records in the spool, as hashes.
sub records {
    my @r;
    for my $f (sort glob("$ENV{TEST_NGINX_SERVROOT}/logs/spool.*")) {
        open my $fh, '<', $f or next;
        while (my $l = <$fh>) {
            my $j = eval { JSON::PP->new->decode($l) };
            push @r, $j if ref $j eq 'HASH';
        }
    }
    return @r;
}

# stop_hook: one record per request with these (status, decision, reason).
sub check_records {
    my (@want) = @_;
    return sub {
        my ($resps, $name) = @_;
        my @r = ::records();
        ::is(scalar @r, scalar @want, "$name - one audit record each");
        for my $i (0 .. $#want) {
            my ($st, $dec, $reason) = @{ $want[$i] };
            my $e = $r[$i] || {};
            ::is($e->{status}, $st, "$name - record $i status");
            ::is($e->{decision}, $dec, "$name - record $i decision");
            ::is($e->{reason}, $reason, "$name - record $i reason");
            ::is($e->{upstream_status} // '', '',
                 "$name - record $i: nothing sent upstream");
        }
    };
}

# stop_hook: the HTTP/0.9 answer is the typed body alone, no status line.
sub check_09 {
    my ($n) = @_;
    return sub {
        my ($resps, $name) = @_;
        ::is(scalar @$resps, $n, "$name - responses");
        for my $r (@$resps) {
            ::like($r->{raw} // '', ::oo_re(),
                   "$name - HTTP/0.9 gets the typed body, no status line");
        }
    };
}

run_tests();

__DATA__

=== TEST 1: HTTP/0.9 to a smart location: typed body only, no upstream, no crash
--- config eval: $::Loc
--- raw_request eval
"GET /fhir/Patient/x\r\n"
--- error_code: 0
--- upstream_requests: 0
--- stop_hook eval: ::check_09(1)
--- error_log
smart: request-invalid: HTTP/0.9 request

=== TEST 2: HTTP/0.9 to a public endpoint of a smart location: refused too
--- config eval: $::Loc
--- raw_request eval
["GET /fhir/metadata\r\n", "GET /fhir/.well-known/smart-configuration\r\n"]
--- error_code: 0
--- upstream_requests: 0
--- stop_hook eval: ::check_09(2)
--- error_log
smart: request-invalid: HTTP/0.9 request

=== TEST 3: HTTP/0.9 redirected internally into a smart location: refused
--- config eval: $::Loc
--- raw_request eval
"GET /go\r\n"
--- error_code: 0
--- upstream_requests: 0
--- stop_hook eval: ::check_09(1)
--- error_log
smart: request-invalid: HTTP/0.9 request

=== TEST 4: HTTP/0.9 outside smart locations is NGINX's business
--- config eval: $::Loc
--- raw_request eval
"GET /plain/Patient/x\r\n"
--- error_code: 0
--- upstream_requests: 1
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    ::like($r->[0]{raw}, qr/\A\{"resourceType":"Bundle"/,
           "$name - proxied body");
}

=== TEST 5: server-level smart on, audited: HTTP/0.9 refused and recorded
--- http_config eval: $::Spool
--- config eval: $::Srv
--- raw_request eval
"GET /fhir/Patient/x\r\n"
--- error_code: 0
--- upstream_requests: 0
--- stop_hook eval
sub {
    ::check_09(1)->(@_);
    ::check_records([400, 'deny', 'request-invalid'])->(@_);
}
--- error_log
smart: request-invalid: HTTP/0.9 request

=== TEST 6: server-level smart on: a malformed request line is a typed 400, recorded
--- http_config eval: $::Spool
--- config eval: $::Srv
--- raw_request eval
["GET /fhir/Patient/x HTTP/1.1 x\r\nHost: localhost\r\n\r\n",
 "G\@T /fhir/Patient/x HTTP/1.1\r\nHost: localhost\r\n\r\n"]
--- error_code: 400
--- response_headers
Content-Type: application/fhir+json
Cache-Control: no-store
Server: nginx
--- response_headers_like
X-Correlation-ID: ^[0-9a-f]+-[0-9a-f]{8,}$
--- response_body_like eval: ::oo_re()
--- upstream_requests: 0
--- stop_hook eval
::check_records(map { [400, 'deny', 'request-invalid'] } 1 .. 2)
--- error_log
client sent invalid request
client sent invalid method
smart: request-invalid: NGINX answered 400 before the module decided

=== TEST 7: server-level smart on: NGINX's own refusal of an HTTP/0.9 POST is the typed body alone
--- http_config eval: $::Spool
--- config eval: $::Srv
--- raw_request eval
"POST /fhir/Patient\r\n"
--- error_code: 0
--- upstream_requests: 0
--- stop_hook eval
sub {
    ::check_09(1)->(@_);
    ::check_records([400, 'deny', 'request-invalid'])->(@_);
}
--- error_log
client sent invalid method in HTTP/0.9 request

=== TEST 8: server-level smart on: a request line over large_client_header_buffers is a typed 414
--- http_config eval: $::Spool
--- config eval: $::Srv
--- raw_request eval
::h11('GET /fhir/Patient?name=' . ('a' x 2000), 'Host: localhost')
--- error_code: 414
--- response_headers
Content-Type: application/fhir+json
Cache-Control: no-store
Server: nginx
--- response_headers_like
X-Correlation-ID: ^[0-9a-f]+-[0-9a-f]{8,}$
--- response_body_like eval: ::oo_re('request-too-large', 'too-long', $::Big)
--- upstream_requests: 0
--- stop_hook eval
::check_records([414, 'deny', 'request-too-large'])
--- error_log
client sent too long URI

=== TEST 9: server-level smart on: HTTP/2.0 on an HTTP/1 port is a typed 505
--- http_config eval: $::Spool
--- config eval: $::Srv
--- raw_request eval
"GET /fhir/Patient/x HTTP/2.0\r\nHost: localhost\r\n\r\n"
--- error_code: 505
--- response_headers
Content-Type: application/fhir+json
Server: nginx
--- response_body_like eval: ::oo_re()
--- upstream_requests: 0
--- stop_hook eval
::check_records([505, 'deny', 'request-invalid'])

=== TEST 10: server-level smart on: NGINX's header-phase refusals are typed, status kept
--- http_config eval: $::Spool
--- config eval: $::Srv
--- raw_request eval
[::h11('GET /fhir/Patient/x', 'Connection: close'),
 ::h11('GET /fhir/Patient/x', 'Host: localhost', 'Host: other'),
 ::h11('TRACE /fhir/Patient/x', 'Host: localhost'),
 ::h11('POST /fhir/Observation', 'Host: localhost',
       'Transfer-Encoding: gzip'),
 ::h11('GET /fhir/Patient/x', 'Host: localhost',
       'X-Big: ' . ('b' x 2000)),
 ::h11('GET /fhir/Patient/x', 'Host: localhost',
       'X-Correlation-ID: client-cid-0001', 'Content-Length: x')]
--- error_code eval
[400, 400, 405, 501, 400, 400]
--- response_headers
Content-Type: application/fhir+json
Cache-Control: no-store
Server: nginx
--- response_headers_like eval
["X-Correlation-ID: ^[0-9a-f]+-[0-9a-f]{8,}\$",
 "X-Correlation-ID: ^[0-9a-f]+-[0-9a-f]{8,}\$",
 "X-Correlation-ID: ^[0-9a-f]+-[0-9a-f]{8,}\$",
 "X-Correlation-ID: ^[0-9a-f]+-[0-9a-f]{8,}\$",
 "X-Correlation-ID: ^[0-9a-f]+-[0-9a-f]{8,}\$",
 "X-Correlation-ID: ^client-cid-0001\$"]
--- response_body_like eval
[::oo_re(), ::oo_re(), ::oo_re(), ::oo_re(), ::oo_re(),
 qr/"id":"client-cid-0001".*"code":"request-invalid"/]
--- upstream_requests: 0
--- stop_hook eval
::check_records([400, 'deny', 'request-invalid'],
                [400, 'deny', 'request-invalid'],
                [405, 'deny', 'request-invalid'],
                [501, 'deny', 'request-invalid'],
                [400, 'deny', 'request-invalid'],
                [400, 'deny', 'request-invalid'])
--- error_log
client sent HTTP/1.1 request without "Host" header
client sent duplicate host header
client sent TRACE method
client sent unknown "Transfer-Encoding"
client sent too long header line
client sent invalid "Content-Length" header

=== TEST 11: server-level smart on: no response at all (request line or headers timed out), the record is still kept
--- http_config eval: $::Spool
--- config eval: $::Srv
--- raw_request eval
["GET /fhir/Patient/x", "GET /fhir/Patient/x HTTP/1.1\r\nHost: loc"]
--- timeout: 4
--- error_code: 0
--- upstream_requests: 0
--- stop_hook eval
::check_records([408, 'none', ''], [408, 'none', ''])
--- error_log
client timed out

=== TEST 12: smart only in locations: NGINX's early refusals stay plain, without the version
--- http_config eval: $::Spool
--- config eval: $::Loc
--- raw_request eval
["GET /fhir/Patient/x HTTP/1.1 x\r\nHost: localhost\r\n\r\n",
 ::h11('TRACE /fhir/Patient/x', 'Host: localhost'),
 ::h11('GET /fhir/Patient/x', 'Connection: close')]
--- error_code eval
[400, 405, 400]
--- response_headers
Content-Type: text/html
Server: nginx
!X-Correlation-ID
--- response_body_like eval
qr/\A(?!.*nginx\/).*<center>nginx<\/center>/s
--- upstream_requests: 0
--- stop_hook eval
::check_records()

=== TEST 13: server_tokens off: no version on typed refusals, allowed responses, upstream failures or NGINX's own pages
--- config eval
$::Loc . <<'_EOC_';
    location /down/ {
        smart on;
        smart_fhir_base /down/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        proxy_pass http://127.0.0.1:1;
    }
_EOC_
--- raw_request eval
[::h11('GET /fhir/Patient/123', 'Host: localhost', 'Connection: close'),
 ::h11('GET /fhir/Patient/123', 'Host: localhost', 'Connection: close',
       "Authorization: Bearer $::Token"),
 ::h11('GET /down/Patient/123', 'Host: localhost', 'Connection: close',
       "Authorization: Bearer $::Token"),
 ::h11('GET /fhir/Patient/%00', 'Host: localhost', 'Connection: close'),
 ::h11('GET /nothing-here', 'Host: localhost', 'Connection: close')]
--- error_code eval
[401, 200, 503, 400, 404]
--- response_headers
Server: nginx
--- response_body_like eval
qr/\A(?!.*nginx\/)/s
--- error_log
connect() failed

=== TEST 14: subrequests into a smart location share the parent's header list (zeroed for HTTP/0.9): logged without a crash
--- http_config eval: $::Spool
--- config eval
$::Loc . <<'_EOC_';
    location = /mirror {
        mirror /sub/Patient/x;
        mirror_request_body off;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }

    location /sub/ {
        smart on;
        smart_fhir_base /sub/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        log_subrequest on;
        return 204;
    }
_EOC_
--- raw_request eval
["GET /mirror\r\n",
 ::h11('GET /mirror', 'Host: localhost', 'Connection: close')]
--- error_code eval
[0, 200]
--- upstream_requests: 2
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    ::like($r->[0]{raw}, qr/\A\{"resourceType":"Bundle"/,
           "$name - HTTP/0.9 main request proxied");
    ::check_records()->(@_);
    my $log = do {
        local $/;
        open my $fh, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/access.log"
            or die $!;
        <$fh>;
    };
    # $request is the main request's line; 204 is the subrequest's
    my $n = () = $log =~ m{"GET /mirror HTTP/1\.1" 204 }g;
    ::is($n, 1, "$name - the HTTP/1.1 mirror subrequest was logged");
    my $n09 = () = $log =~ m{"GET /mirror" 204 }g;
    ::is($n09, 1, "$name - the HTTP/0.9 mirror subrequest was logged");
}

=== TEST 15: a rewrite-phase 405 in a smart location, before the access phase: typed, status kept
--- config eval
$::Loc . <<'_EOC_';
    location /ro/ {
        smart on;
        smart_fhir_base /ro/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        if ($request_method = DELETE) {
            return 405;
        }
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_
--- raw_request eval
::h11('DELETE /ro/Patient/123', 'Host: localhost', 'Connection: close')
--- error_code: 405
--- response_headers
Content-Type: application/fhir+json
Cache-Control: no-store
Server: nginx
--- response_body_like eval: ::oo_re()
--- upstream_requests: 0
--- error_log
smart: request-invalid: NGINX answered 405 before the module decided

=== TEST 16: an invalid chunked body the access phase reads: NGINX's 400, typed
--- config eval: $::Loc
--- raw_request eval
"POST /fhir/Observation HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Authorization: Bearer $::Token\r\nContent-Type: application/fhir+json\r\n"
. "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
--- error_code: 400
--- response_headers
Content-Type: application/fhir+json
Cache-Control: no-store
Server: nginx
--- response_body_like eval: ::oo_re()
--- upstream_requests: 0
--- error_log
client sent invalid chunked body
smart: request-invalid: NGINX answered 400 before the module decided
