# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Repeated audit failures do not flood the error log (issue 15 item 5;
# docs/audit.md, "Errors in the log"): the first refusal by Redis is
# logged whole, the rest as one count per interval, and refusals have
# their own counter, smart_audit_refused_total.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use Smart::Token qw(:all);
use Smart::Redis;
use Smart::Status qw(status_location metric worker_pid);

# a Redis that refuses every write: -OOM
our $R = Smart::Redis->start;
$R->cmd('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
$R->cmd('CONFIG', 'SET', 'maxmemory', 1);
$ENV{TEST_NGINX_REDIS_PORT} = $R->port;

our $Loc = status_location();

sub bearer { "Authorization: Bearer " . Smart::Token::mint(@_) . "\n" }

run_tests();

__DATA__

=== TEST 1: sixty records refused by Redis: one error line, then counts
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=f1;
    smart_audit_spool $TEST_NGINX_SERVROOT/logs/spool;
--- config eval: $::Loc
--- more_headers eval
::bearer()
--- request eval
[(map { "GET /fhir/Patient/123?_elements=n$_" } 0 .. 59), "GET /status"]
--- request_delay eval
[(0) x 60, 6]
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my $status = $r->[-1]{body};
    ::ok(::metric($status, 'smart_audit_refused_total') >= 60,
         "$name - every refusal counted") or ::diag($status);
    my ($sent, $spooled, $lost) = map {
        $status =~ /^smart_audit_records_total\{result="$_"\} (\d+)$/m
            ? $1 : -1 } qw(sent spooled lost);
    ::is($sent + $spooled + $lost, 60, "$name - sent + spooled + lost");
    open my $f, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/error.log" or die;
    my @log = <$f>;
    my $whole = grep { /redis refused (?:an|a replayed) audit record/ } @log;
    my $counts = grep { /redis refused audit records: \d+ more in the last 5 s/ }
                 @log;
    ::is($whole, 1, "$name - the refusal logged whole once");
    ::ok($counts >= 1, "$name - then as a count per interval");
}
--- no_error_log
[alert]
