# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Reconnecting while records wait (issue 15, item 6): Redis stops under
# load for long enough that the idle backoff reaches its cap (5 s), then
# comes back, three times; a worker with records waiting retries at most
# NGX_HTTP_SMART_REDIS_BACKOFF_URGENT (400 ms) apart, so the first record
# reaches Redis within 1.5 s of Redis starting again (before: up to 5 s,
# a round passed by chance about one time in three).  Then the spool
# drains and every record is in the stream (this Redis keeps its data
# across restarts: AOF, fsync always), none missing by the workers'
# sequence numbers; duplicates (a batch resent after a loss) are allowed.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use Smart::Token qw(:all);
use Smart::Redis;
use Smart::Load;
use Smart::Conf;
use Time::HiRes qw(sleep time);

our $R = Smart::Redis->start(args => ['--appendonly', 'yes',
                                      '--appendfsync', 'always']);
$ENV{TEST_NGINX_REDIS_PORT} = $R->port;

our $Outage = 6;            # s: the old backoff is at its cap by then
our $Bound = 1.5;           # s: Redis back -> first record in it

our $Loc = Smart::Conf::fhir_location();

sub xlen { my $n = eval { $R->cmd('XLEN', $_[0]) }; defined $n ? $n : -1 }

# Redis down for $Outage s under load, then back: seconds until a record
# arrives.
sub outage {
    my ($stream) = @_;
    $R->stop;
    sleep $Outage;
    my $t0 = time;          # counts Redis's own start too: conservative
    $R->restart;
    my $n0 = xlen($stream);
    while (time - $t0 < 10) {
        last if xlen($stream) > $n0;
        sleep 0.01;
    }
    return time - $t0;
}

# Every record of the load in the stream, waited for (bounded).
sub drained {
    my ($stream, $sent) = @_;
    my $c;
    my $deadline = time + 15;
    while (time < $deadline) {
        $c = Smart::Load::count([ $R->stream($stream) ]);
        last if $c->{distinct} >= $sent && $c->{missing} == 0;
        sleep 0.2;
    }
    return $c;
}

run_tests();

__DATA__

=== TEST 1: Redis back after a long outage under load: records within 1.5 s
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=r1;
    smart_audit_spool $TEST_NGINX_SERVROOT/logs/spool;
--- config eval: $::Loc
--- more_headers eval
"Authorization: Bearer " . Smart::Token::mint() . "\n"
--- request_hooks eval
[sub {
    my $load = Smart::Load->start(token => Smart::Token::mint());
    sleep 1;
    for my $round (1 .. 3) {
        my $t = ::outage('r1');
        ::diag(sprintf "round %d: first record %.3f s after Redis was back",
               $round, $t);
        ::cmp_ok($t, '<', $::Bound,
                 "round $round - a record within $::Bound s of Redis back");
        sleep 1;
    }
    my $sent = $load->stop;
    my $c = ::drained('r1', $sent);
    ::diag("$sent responses under load; stream: $c->{records} records, "
           . "$c->{distinct} distinct, $c->{duplicates} duplicates");
    ::cmp_ok($sent, '>', 500, 'the load ran');
    ::is($c->{missing}, 0, 'no record missing by seq');
    ::cmp_ok($c->{distinct}, '>=', $sent, 'a record per response');
    my @left = grep { -s } glob("$ENV{TEST_NGINX_SERVROOT}/logs/spool.*");
    ::is(scalar @left, 0, 'the spool drained') or ::diag("@left");
}]
--- request
GET /fhir/Patient/123
--- error_code: 200
--- timeout: 60
--- no_error_log
audit record lost
