# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# The audit spool's ownership and accounting (issue 15; docs/audit.md,
# "Spool"): a spool file belongs to the worker holding its lock, not to
# whatever process has the pid in its name now; a replay saves its
# position as batches are acknowledged, so a worker killed mid-replay
# repeats nothing acknowledged; a write cut short by a full disk counts
# its record lost once, not again when the replay meets the half line.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use Smart::Token qw(:all);
use Smart::Redis;
use Smart::Status qw(status_location metric worker_pid);
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep);
use JSON::PP ();

our $R = Smart::Redis->start;
$ENV{TEST_NGINX_REDIS_PORT} = $R->port;
our $Dir = tempdir(CLEANUP => 1);
$ENV{TEST_NGINX_SPOOL_DIR} = $Dir;

# TEST 3's spool: a tmpfs of 16 KiB, which 40 records overflow (root only)
mkdir "$Dir/small" or die "$Dir/small: $!";
our $Small = $> == 0
    && system('mount', '-t', 'tmpfs', '-o', 'size=16k', 'tmpfs',
              "$Dir/small") == 0;
END { system('umount', "$Dir/small") if $Small }

our @Fields = qw(v ts cid tenant client_id iss sub fhir_user patient jti
                 method resource id interaction action query decision reason
                 status outcome upstream_status upstream_ms total_ms
                 remote_addr bytes_sent worker seq prev hash);

our $Loc = status_location();

sub bearer { "Authorization: Bearer " . Smart::Token::mint(@_) . "\n" }

# n record lines as a dead worker's spool would hold them (cids tag-0..)
sub lines {
    my ($tag, $n) = @_;
    my $json = JSON::PP->new->canonical;
    my $out = '';
    for my $i (0 .. $n - 1) {
        my %r = map { $_ => '' } @Fields;
        @r{qw(v cid seq worker decision status method)}
            = ("1", "$tag-$i", "" . ($i + 1), "w-$tag", 'allow', '200', 'GET');
        $out .= $json->encode(\%r) . "\n";
    }
    return $out;
}

# written whole under another name first: a worker may adopt it at once
sub put {
    my ($name, $text) = @_;
    open my $f, '>', "$Dir/tmp" or die "$Dir/tmp: $!";
    print {$f} $text;
    close $f;
    rename "$Dir/tmp", "$Dir/$name" or die "$Dir/$name: $!";
}

# cid => how many times it is in the stream
sub counts {
    my ($stream) = @_;
    my %n;
    $n{ $_->{cid} }++ for $R->stream($stream);
    return \%n;
}


sub records {
    my ($text, $result) = @_;
    return metric($text, "smart_audit_records_total\\{result=\"$result\"\\}");
}

run_tests();

__DATA__

=== TEST 1: spool files named with the pid of a live process are adopted and replayed
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t1;
    smart_audit_spool $TEST_NGINX_SPOOL_DIR/spool;
--- config eval: $::Loc
--- more_headers eval
::bearer()
--- request eval
["GET /fhir/Patient/123", "GET /fhir/Patient/123"]
--- request_hooks eval
[sub {
     # pid 1 and this test's own pid are alive: neither holds the files
     ::put('spool.1', ::lines('init', 5));
     ::put("spool.$$.000003", ::lines('self', 5));
     ::put("spool.$$.000004\@" . length(::lines('part', 2)),
           ::lines('part', 4));
 }, undef]
--- request_delay eval
[0, 6]
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    my $n = ::counts('t1');
    for my $tag ('init', 'self') {
        ::is(scalar(grep { $n->{"$tag-$_"} && $n->{"$tag-$_"} == 1 } 0 .. 4),
             5, "$name - $tag: every record replayed once");
    }
    ::ok(!$n->{'part-0'} && !$n->{'part-1'} && $n->{'part-2'}
         && $n->{'part-3'}, "$name - a file's acknowledged lines are skipped");
    my @left = glob("$::Dir/spool.*");
    ::is("@left", '', "$name - no file left");
}
--- error_log
replayed and removed

=== TEST 2: a worker killed mid-replay: the adopter repeats nothing acknowledged
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t2;
    smart_audit_spool $TEST_NGINX_SPOOL_DIR/spool;
--- config eval: $::Loc
--- more_headers eval
::bearer()
--- request eval
["GET /fhir/Patient/123", "GET /fhir/Patient/123"]
--- request_hooks eval
[sub {
     # Redis refuses writes (-OOM) part way through the replay: the
     # acknowledged lines are those before the refusal
     my ($used) = $::R->cmd('INFO', 'memory') =~ /used_memory:(\d+)/;
     $::R->cmd('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
     $::R->cmd('CONFIG', 'SET', 'maxmemory', $used + 100_000);
     ::put('spool.9999999', ::lines('big', 3000));
     my $before = 0;
     for (1 .. 150) {
         Time::HiRes::sleep(0.1);
         my $now = scalar(() = $::R->stream('t2'));
         last if $now > 0 && $now == $before;
         $before = $now;
     }
     $::Partial = $before;
     kill 'KILL', ::worker_pid();
     Time::HiRes::sleep(0.3);
     $::R->cmd('CONFIG', 'SET', 'maxmemory', 0);
 }, undef]
--- request_delay eval
[0, 6]
--- worker_killed
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    ::ok($::Partial > 0 && $::Partial < 3000,
         "$name - the kill fell mid-replay ($::Partial sent)");
    my $n = ::counts('t2');
    my @once = grep { ($n->{"big-$_"} || 0) == 1 } 0 .. 2999;
    my @dup = grep { ($n->{"big-$_"} || 0) > 1 } 0 .. 2999;
    ::is(scalar @once, 3000, "$name - every record replayed once");
    ::is(scalar @dup, 0, "$name - no duplicate");
    my @left = glob("$::Dir/spool.*");
    ::is("@left", '', "$name - no file left");
}

=== TEST 3: a full disk cuts a line short: its record is counted lost once
--- http_config
    smart_audit_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT stream=t3;
    smart_audit_spool $TEST_NGINX_SPOOL_DIR/small/spool;
--- config eval: $::Loc
--- more_headers eval
::bearer()
--- request eval
[(map { "GET /fhir/Patient/123?_elements=n$_" } 0 .. 39), "GET /status", "GET /status"]
--- request_hooks eval
[sub { $::R->stop },
 (undef) x 39,
 sub { Time::HiRes::sleep(0.5) },
 sub {
     my ($i, $resps) = @_;
     # the disk was full: room again, and Redis back, for the replay
     $::First = $resps->[-1]{body};
     system('mount', '-o', 'remount,size=4m', "$::Dir/small") if $::Small;
     $::R->restart;
     sleep 7;
 }]
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    SKIP: {
        Test::More::skip('needs root to mount a small tmpfs', 4)
            unless $::Small;
        my $last = $r->[-1]{body};
        my ($sent, $spooled, $lost, $replayed) =
            map { ::records($last, $_) } qw(sent spooled lost replayed);
        ::ok($lost > 0, "$name - records lost to the full disk ($lost)");
        ::is(::records($::First, 'lost'), $lost,
             "$name - the replay counted no loss again") or ::diag($last);
        ::is($sent + $spooled + $lost, 40,
             "$name - sent + spooled + lost = requests") or ::diag($last);
        ::is($replayed, $spooled, "$name - every spooled record replayed");
    }
}
