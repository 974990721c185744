# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Faults inside hiredis (tests/fault/hiredis_fail.c, preloaded): when the
# handshake cannot be sent from hiredis's connect callback (as on out of
# memory), the connection is dropped from a posted event, not under
# hiredis; the worker keeps serving, retries with backoff, and every record
# goes to the spool.  The driver fails any block whose nginx crashed or
# left a sanitizer report.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use Smart::Token qw(:all);
use Smart::Redis;
use Time::HiRes qw(sleep);

our $So = $ENV{SMART_FAULT_HIREDIS_SO} || 'build/fault/hiredis_fail.so';
die "t/062: $So is missing; build it with: make $So\n" unless -f $So;

$ENV{TEST_NGINX_PRELOAD} = $So =~ m{^/} ? $So : "$ENV{PWD}/$So";
$ENV{SMART_FAULT_HIREDIS} = 1;

our $R = Smart::Redis->start;
$ENV{TEST_NGINX_REDIS_PORT} = $R->port;

our $Loc = <<'_EOC_';
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file $TEST_NGINX_FIXTURES/jwks-1.json;
        proxy_pass http://127.0.0.1:$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_

sub cid_of { $_[0]{headers}{'x-correlation-id'}[0] }

run_tests();

__DATA__

=== TEST 1: the handshake cannot be sent: dropped safely, records spooled
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=f1;
    smart_audit_spool $TEST_NGINX_SERVROOT/logs/spool;
--- config eval: $::Loc
--- more_headers eval
"Authorization: Bearer " . Smart::Token::mint() . "\n"
--- request eval
["GET /fhir/Patient/123", "GET /fhir/Patient/123?_elements=again",
 "GET /fhir/Patient/123?_elements=third"]
--- request_delay eval
[0.3, 0.5, 0.5]
--- error_code eval
[200, 200, 200]
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    ::is(scalar($::R->stream('f1')), 0, "$name - nothing reached Redis");
    my $spooled = '';
    for my $f (glob("$ENV{TEST_NGINX_SERVROOT}/logs/spool.*")) {
        open my $fh, '<', $f or next;
        local $/;
        $spooled .= <$fh>;
    }
    for my $resp (@$r) {
        my $cid = ::cid_of($resp);
        ::ok(defined $cid && index($spooled, "\"cid\":\"$cid\"") >= 0,
             "$name - record of " . ($cid // '?') . " spooled");
    }
}
--- error_log
redis handshake could not be sent
--- no_error_log
audit record lost
