# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# A worker killed with audit records in memory (issue 15 item 3;
# docs/audit.md, "Guarantees"): the worker NGINX respawns in its slot
# counts them lost (smart_audit_crash_lost_total), logs it once, and takes
# back the dead worker's gauges, so the counters balance: sent + spooled +
# lost = requests.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use Smart::Token qw(:all);
use Smart::Redis;
use Smart::Status qw(status_location metric worker_pid);
use Time::HiRes ();

our $R = Smart::Redis->start;
our $Export = $ENV{SMART_AUDIT_EXPORT} || 'build/tools/smart-audit-export';
$ENV{TEST_NGINX_REDIS_PORT} = $R->port;

our $Loc = status_location();

sub bearer { "Authorization: Bearer " . Smart::Token::mint(@_) . "\n" }


run_tests();

__DATA__

=== TEST 1: records in flight die with a SIGKILLed worker: counted lost (crash), counters balance
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=c1;
    smart_audit_spool $TEST_NGINX_SERVROOT/logs/spool;
--- config eval: $::Loc
--- more_headers eval
::bearer()
--- request eval
[(map { "GET /fhir/Patient/123?_elements=n$_" } 0 .. 9), "GET /status"]
--- request_hooks eval
[sub {
     # Redis holds every write for 3 s: the records wait in the worker
     Time::HiRes::sleep(0.5);
     $::R->cmd('CLIENT', 'PAUSE', 3000, 'WRITE');
 },
 (undef) x 9,
 sub {
     # within the 2 s reply timeout: kill the worker now
     Time::HiRes::sleep(0.2);
     kill 'KILL', ::worker_pid();
     # the new worker sends its gap marker once Redis takes writes again
     Time::HiRes::sleep(3.5);
 }]
--- worker_killed
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my $s = $r->[-1]{body};
    my $lost = ::metric($s, 'smart_audit_records_total\{result="lost"\}');
    my $crash = ::metric($s, 'smart_audit_crash_lost_total');
    my $sent = ::metric($s, 'smart_audit_records_total\{result="sent"\}');
    my $spooled = ::metric($s, 'smart_audit_records_total\{result="spooled"\}');
    ::ok($crash > 0, "$name - records died with the worker ($crash)")
        or ::diag($s);
    ::is($crash, $lost, "$name - every loss is the crash's");
    ::is($sent + $spooled + $lost, 11,
         "$name - sent + spooled + lost = requests + the gap marker");
    ::like($s, qr/^smart_redis_connected [01]$/m,
           "$name - the dead worker's gauge taken back");
    open my $f, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/error.log" or die;
    my $log = do { local $/; <$f> };
    ::like($log, qr/died with $crash audit record\(s\) in memory: counted lost \(crash\)/,
           "$name - logged once");
    my @gap = grep { ($_->{interaction} // '') eq 'audit-gap' }
              $::R->stream('c1');
    ::is(scalar @gap, 1, "$name - one gap marker in the stream");
    ::like($gap[0]{id} // '', qr/^[0-9a-f]{16}:1-10$/,
           "$name - it names the dead chain and its seq range");
    my $out = `$::Export --redis 127.0.0.1:$ENV{TEST_NGINX_REDIS_PORT} --stream c1 --verify 2>&1`;
    ::like($out, qr/^crash-gap lost=[0-9a-f]{16}:1-10 reason=crash /m,
           "$name - --verify reports the range") or ::diag($out);
    ::like($out, qr/ 0 problems, 0 unreadable, 1 crash gaps$/m,
           "$name - and counts it, not as a problem") or ::diag($out);
}
