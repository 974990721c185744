# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Redis Sentinel (issue 15, docs/audit.md "Sentinel and failover"): one
# master, one replica and three redis-sentinel processes (Debian's
# packages) on loopback; the gateway finds the master through the
# sentinels (smart_audit_redis sentinel=... master=...), skipping one that
# is down.  A failover is forced (SENTINEL failover) under load; then every
# record is in the new master's stream, none missing by the workers'
# sequence numbers (duplicates allowed, and counted).  As a hospital
# should, the master runs with min-replicas-to-write 1 (once its replica is
# promoted it refuses writes, -NOREPLICAS, instead of acknowledging records
# its demotion would throw away) and the gateway with wait=1 (a batch is
# acknowledged once a replica has it: without it, a record acknowledged
# just before the promotion was missing in one run of two).  -NOREPLICAS
# and -READONLY are taken as a failover: the records are sent again or
# spooled, the sentinels asked again.  Also: a master name no sentinel
# knows (records spooled), and the form's configuration errors.

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

our $M = Smart::Redis->start(args => ['--min-replicas-to-write', '1',
                                      '--min-replicas-max-lag', '10']);
our $S = Smart::Redis->start(args => ['--replicaof', '127.0.0.1', $M->port]);
our @Sent = map { Smart::Redis->sentinel(master => 'audit',
                                         master_port => $M->port) } 1 .. 3;

# a sentinel address where nothing listens, listed first
$ENV{TEST_NGINX_DEAD_PORT} = do {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1, Proto => 'tcp');
    my $p = $s->sockport; close $s; $p;
};
$ENV{TEST_NGINX_NEW_PORT} = $S->port;
$ENV{TEST_NGINX_MASTER_PORT} = $M->port;
$ENV{TEST_NGINX_SENTINELS} = join ',', "127.0.0.1:$ENV{TEST_NGINX_DEAD_PORT}",
                                       map { '127.0.0.1:' . $_->port } @Sent;

sub wait_for {
    my ($what, $secs, $cond) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        my $ok = eval { $cond->() };
        return 1 if $ok;
        sleep 0.1;
    }
    diag("t/064: $what not within $secs s");
    return 0;
}

# the replica in sync, known to every sentinel, the sentinels to each other
wait_for('replication', 10, sub {
    $S->cmd('INFO', 'replication') =~ /master_link_status:up/ })
    or die "t/064: no replication\n";
for my $s (@Sent) {
    wait_for('sentinel view', 15, sub {
        my $r = $s->cmd('SENTINEL', 'replicas', 'audit');
        my $o = $s->cmd('SENTINEL', 'sentinels', 'audit');
        @$r == 1 && "@{ $r->[0] }" !~ /disconnected|s_down/ && @$o == 2;
    }) or die "t/064: the sentinels do not see the replica and each other\n";
}

sub master_port {
    my $a = eval { $Sent[1]->cmd('SENTINEL', 'get-master-addr-by-name',
                                 'audit') };
    return ref $a ? $a->[1] : 0;
}

our $Loc = Smart::Conf::fhir_location();

sub bearer { "Authorization: Bearer " . Smart::Token::mint() . "\n" }

workers(2);
run_tests();

__DATA__

=== TEST 1: the master is found through the sentinels (the first is down)
--- http_config
    smart_audit_redis sentinel=$TEST_NGINX_SENTINELS master=audit stream=s1;
--- config eval: $::Loc
--- more_headers eval: ::bearer()
--- request_delay: 0.5
--- request
GET /fhir/Patient/123
--- error_code: 200
--- wait: 0.3
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my @e = $::M->stream('s1');
    ::is(scalar @e, 1, "$name - the record is on the master");
    ::is($e[0]{cid}, $r->[0]{headers}{'x-correlation-id'}[0],
         "$name - its correlation id");
}
--- error_log eval
[qr/redis sentinel 127\.0\.0\.1:\d+: master "audit" is at 127\.0\.0\.1:\d+/,
 qr/smart: redis 127\.0\.0\.1:\d+ connected/]
--- no_error_log
audit record lost
not the master

=== TEST 2: wait=1 on the direct form: each batch confirmed by WAIT, once
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_MASTER_PORT stream=w1 wait=1;
--- config eval: $::Loc
--- more_headers eval: ::bearer()
--- request eval
[("GET /fhir/Patient/123") x 5]
--- error_code eval
[(200) x 5]
--- wait: 0.3
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my @e = $::M->stream('w1');
    ::is(scalar @e, 5, "$name - five records, no duplicate");
    ::like($::M->cmd('INFO', 'commandstats'), qr/cmdstat_wait:calls=[1-9]/,
           "$name - WAIT was sent");
    ::is(scalar $::S->stream('w1'), 5, "$name - the replica has them");
}
--- no_error_log
replicas confirmed
audit record lost

=== TEST 3: a failover forced under load: every record in the new master
--- http_config
    smart_audit_redis sentinel=$TEST_NGINX_SENTINELS master=audit stream=s2
                      wait=1;
    smart_audit_spool $TEST_NGINX_SERVROOT/logs/spool;
--- config eval: $::Loc
--- more_headers eval: ::bearer()
--- request_hooks eval
[sub {
    my $load = Smart::Load->start(token => Smart::Token::mint());
    sleep 1.5;
    my $t0 = time;
    ::is($::Sent[0]->cmd('SENTINEL', 'failover', 'audit'), 'OK',
         'failover forced');
    ::wait_for('the new master', 20,
               sub { ::master_port() == $::S->port });
    ::diag(sprintf "sentinels name the new master %.2f s after the failover",
           time - $t0);
    # records reach the new master while the load goes on
    my $n0 = $::S->cmd('XLEN', 's2');
    ::wait_for('records on the new master', 15,
               sub { $::S->cmd('XLEN', 's2') > $n0 + 100 });
    ::diag(sprintf "records flow to the new master %.2f s after the failover",
           time - $t0);
    sleep 1;
    my $sent = $load->stop;
    my $c;
    ::wait_for('every record', 25, sub {
        $c = Smart::Load::count([ $::S->stream('s2') ]);
        $c->{distinct} >= $sent && $c->{missing} == 0;
    });
    ::diag("$sent responses under load; new master: $c->{records} records, "
           . "$c->{distinct} distinct, $c->{duplicates} duplicates, "
           . "$c->{missing} missing, $c->{workers} workers");
    ::cmp_ok($sent, '>', 300, 'the load ran');
    ::is($c->{missing}, 0, 'no record missing on the new master') or do {
        my %old = map { ("$_->{worker}:$_->{seq}" => 1) } $::M->stream('s2');
        ::diag("missing: $_" . ($old{$_} ? ' (acknowledged by the old master)'
                                          : '')) for @{ $c->{which} };
    };
    ::cmp_ok($c->{distinct}, '>=', $sent, 'a record per response');
}]
--- request
GET /fhir/Patient/123
--- error_code: 200
--- timeout: 60
--- error_log eval
[qr/cannot take writes|connection lost/,
 qr/master "audit" is at 127\.0\.0\.1:$ENV{TEST_NGINX_NEW_PORT}/]
--- no_error_log
audit record lost

=== TEST 4: a master name no sentinel knows: every sentinel asked, records spooled
--- http_config
    smart_audit_redis sentinel=$TEST_NGINX_SENTINELS master=nosuch stream=s3;
    smart_audit_spool $TEST_NGINX_SERVROOT/logs/spool;
--- config eval: $::Loc
--- more_headers eval: ::bearer()
--- request_delay: 0.3
--- request
GET /fhir/Patient/123
--- error_code: 200
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my $cid = $r->[0]{headers}{'x-correlation-id'}[0];
    my $spooled = '';
    for my $f (glob("$ENV{TEST_NGINX_SERVROOT}/logs/spool.*")) {
        open my $fh, '<', $f or next;
        local $/;
        $spooled .= <$fh>;
    }
    ::ok(index($spooled, "\"cid\":\"$cid\"") >= 0, "$name - record spooled");
    ::is(scalar $::M->stream('s3') + scalar $::S->stream('s3'), 0,
         "$name - nothing sent");
}
--- error_log eval
[map { qr/sentinel 127\.0\.0\.1:$_ does not name a master "nosuch"/ }
     map { $_->port } @::Sent]
--- no_error_log
audit record lost

=== TEST 5: sentinel= without master= is refused
--- http_config
    smart_audit_redis sentinel=127.0.0.1:26379;
--- config
--- must_die
--- error_log
needs both "sentinel=" and "master="

=== TEST 6: an address and sentinel= are refused together
--- http_config
    smart_audit_redis 127.0.0.1:6379 sentinel=127.0.0.1 master=m;
--- config
--- must_die
--- error_log
takes either HOST:PORT or "sentinel=" and "master="

=== TEST 7: an empty sentinel address is refused
--- http_config
    smart_audit_redis sentinel=127.0.0.1:26379,,127.0.0.2 master=m;
--- config
--- must_die
--- error_log
has an empty address in "sentinel="

=== TEST 8: more than 16 sentinels are refused
--- http_config eval
"smart_audit_redis sentinel=" . CORE::join(',', map { "127.0.0.1:$_" } 1 .. 17)
. " master=m;"
--- config
--- must_die
--- error_log
has too many sentinels (at most 16)

=== TEST 9: a master name with a control character is refused
--- http_config eval
"smart_audit_redis sentinel=127.0.0.1 \"master=a\x01b\";"
--- config
--- must_die
--- error_log
has an invalid "master=" name

=== TEST 10: wait= above 16 is refused
--- http_config
    smart_audit_redis 127.0.0.1:6379 wait=17;
--- config
--- must_die
--- error_log
invalid parameter "wait=17"
