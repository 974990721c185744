# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
package Smart::Load;

# Steady traffic for fault tests, and the audit stream checked by sequence.
#
#   my $l = Smart::Load->start(token => Smart::Token::mint());
#   # port: TEST_NGINX_SERVER_PORT, path: /fhir/Patient/123 by default
#   ... faults ...
#   my $n = $l->stop;      # responses received (any status)
#   my $c = Smart::Load::count(\@entries);
#   # { records, distinct, duplicates, missing, which, workers }
#   # (which: the missing records as "worker:seq")
#
# The client is a forked child sending one request per connection, about
# every $o{gap} s (default 2 ms), until stop() (SIGTERM: the request in
# flight is finished); it writes the number of responses to a file.
# count() groups the entries by their `worker` field: every worker's
# chain starts at seq 1, so a worker's missing records are the numbers
# from 1 to its highest seq that are not in the stream.

use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep);

sub start {
    my ($class, %o) = @_;
    my $self = bless { dir => tempdir(CLEANUP => 1) }, ref $class || $class;
    my $port = $o{port} || $ENV{TEST_NGINX_SERVER_PORT};
    my $req = "GET " . ($o{path} || '/fhir/Patient/123') . " HTTP/1.1\r\n"
            . "Host: localhost\r\nConnection: close\r\n"
            . (defined $o{token} ? "Authorization: Bearer $o{token}\r\n" : '')
            . "\r\n";
    my $gap = defined $o{gap} ? $o{gap} : 0.002;
    my $pid = fork;
    die "Smart::Load: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        my ($n, $stop) = (0, 0);
        local $SIG{TERM} = sub { $stop = 1 };
        until ($stop) {
            my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                          PeerPort => $port,
                                          Proto => 'tcp', Timeout => 5);
            if ($s) {
                print {$s} $req;
                local $/;
                my $resp = <$s>;
                $n++ if defined $resp && $resp =~ m{^HTTP/1\.\d \d{3}};
                close $s;
            }
            sleep $gap if $gap;
        }
        open my $fh, '>', "$self->{dir}/n" or POSIX::_exit(1);
        print {$fh} $n;
        close $fh;
        POSIX::_exit(0);
    }
    $self->{pid} = $pid;
    return $self;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return $self->{n};
    kill 'TERM', $pid;
    waitpid $pid, 0;
    open my $fh, '<', "$self->{dir}/n" or die "Smart::Load: no count\n";
    $self->{n} = <$fh> + 0;
    return $self->{n};
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    if (my $pid = delete $self->{pid}) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
}

sub count {
    my ($entries) = @_;
    my (%seen, %max);
    for my $e (@$entries) {
        my ($w, $s) = ($e->{worker} // '', $e->{seq} // 0);
        $seen{"$w:$s"}++;
        $max{$w} = $s if !defined $max{$w} || $s > $max{$w};
    }
    my @missing;
    for my $w (sort keys %max) {
        push @missing, map { "$w:$_" } grep { !$seen{"$w:$_"} } 1 .. $max{$w};
    }
    my $distinct = scalar keys %seen;
    return { records => scalar @$entries, distinct => $distinct,
             duplicates => scalar(@$entries) - $distinct,
             missing => scalar @missing, which => \@missing,
             workers => scalar keys %max };
}

1;
