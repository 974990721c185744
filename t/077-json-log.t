# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# The JSON access log of docs/operations.md ("A JSON access log"): the
# log_format block is taken from the document itself, configured as it is,
# and every line it writes must parse as JSON with the documented fields,
# whatever the token's claims hold (quotes, backslashes, control
# characters, non-ASCII).

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Test::More;
use Smart::Token qw(:all);
use JSON::PP ();

use Smart::Conf qw(fhir_location);

# the ```nginx block of docs/operations.md that defines smart_json
our $Format = do {
    open my $f, '<', 'docs/operations.md' or die "docs/operations.md: $!";
    my $doc = do { local $/; <$f> };
    my ($block) = $doc =~ /```nginx\n(log_format smart_json .*?)```/s
        or die "no log_format smart_json block in docs/operations.md\n";
    $block =~ s{^access_log .*\n}{}m;
    $block;
};

sub req {
    my (%claims) = @_;
    my $t = Smart::Token::mint(exp => time() + 600, scope => 'system/*.rs',
                               %claims);
    return "GET /fhir/Patient/p1 HTTP/1.1\r\nHost: localhost\r\n"
         . "Connection: close\r\nAuthorization: Bearer $t\r\n\r\n";
}

run_tests();

__DATA__

=== TEST 1: every line is JSON with the documented fields, hostile claims included
--- http_config eval: $::Format
--- config eval
::fhir_location('access_log $TEST_NGINX_SERVROOT/logs/smart.log smart_json;',
                'smart_tenant "north";')
--- raw_request eval
[::req(sub => 'ana'), ::req(sub => "q\"uote\\back\x01ctl\x{e4}", fhirUser => '</x>'),
 "GET /fhir/Patient/p1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"]
--- error_code eval
[200, 200, 401]
--- stop_hook eval
sub {
    my ($r, $name) = @_;
    open my $f, '<', "$ENV{TEST_NGINX_SERVROOT}/logs/smart.log" or die $!;
    my @lines = <$f>;
    ::is(scalar @lines, 3, "$name - one line per request");
    my @e = map { eval { JSON::PP->new->utf8->decode($_) } } @lines;
    ::is(scalar(grep { ref $_ eq 'HASH' } @e), 3, "$name - every line is JSON")
        or ::diag(@lines);
    ::is_deeply([sort keys %{ $e[0] }],
                [sort qw(time remote_addr method uri status bytes_sent
                         request_time upstream_status upstream_time cid
                         decision reason interaction resource client_id sub
                         patient fhir_user jti tenant)],
                "$name - the documented fields");
    ::is($e[0]{sub}, 'ana', "$name - sub");
    ::is($e[0]{tenant}, 'north', "$name - tenant");
    ::is($e[0]{decision}, 'allow', "$name - decision");
    ::like($e[0]{cid}, qr/^[0-9a-f]+-[0-9a-f]+$/, "$name - correlation id");
    ::is($e[1]{sub}, "q\"uote\\back\x01ctl\x{e4}", "$name - hostile sub read back");
    ::is($e[1]{fhir_user}, '</x>', "$name - fhirUser");
    ::is($e[2]{reason}, 'token-missing', "$name - a refusal's reason");
    ::is($e[2]{decision}, 'deny', "$name - a refusal's decision");
}
