# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# smart_require (issue 16; docs/directives.md): conditions on a verified
# token's claims, evaluated in the access phase after the signature and
# before the scopes, refused with 403 claim-requirement-failed.  Hostile
# claim values (absent, empty, "0", arrays, objects, long, non-ASCII,
# injection-looking) never satisfy a condition they should not;
# $smart_claim_NAME reads arrays and nested claims in a bounded form.

use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket 'no_plan';
use Smart::Token qw(:all);

use Smart::Conf qw(fhir_location);

sub req {
    my (%claims) = @_;
    my $t = Smart::Token::mint(exp => time() + 600,
                               scope => 'system/*.rs', %claims);
    return "GET /fhir/Patient/p1 HTTP/1.1\r\nHost: localhost\r\n"
         . "Connection: close\r\nAuthorization: Bearer $t\r\n\r\n";
}

our $Up = <<'_EOC_';
        location /fhir/ {
            default_type application/fhir+json;
            return 200 '{"resourceType":"Patient","id":"p1"}';
        }
_EOC_

our $Reason = 'add_header X-Reason $smart_reason always;';

run_tests();

__DATA__

=== TEST 1: a claim that must be present: hostile values never pass
--- config eval: ::fhir_location($::Reason, 'smart_require $smart_claim_tenant;')
--- upstream_config eval: $::Up
--- raw_request eval
[::req(tenant => 'north'), ::req(), ::req(tenant => ''), ::req(tenant => '0'),
 ::req(tenant => ['north']), ::req(tenant => { a => 'north' }),
 ::req(tenant => JSON::PP::false()), ::req(tenant => 0),
 ::req(tenant => "\x{e4}rzte"), ::req(tenant => '0; rm -rf /'),
 ::req(tenant => 'x' x 4000), ::req(tenant => '00')]
--- error_code eval
[200, 403, 403, 403, 200, 403, 403, 403, 200, 200, 200, 200]
--- response_headers eval
["X-Reason: ok", "X-Reason: claim-requirement-failed",
 "X-Reason: claim-requirement-failed", "X-Reason: claim-requirement-failed",
 "X-Reason: ok", "X-Reason: claim-requirement-failed",
 "X-Reason: claim-requirement-failed", "X-Reason: claim-requirement-failed",
 "X-Reason: ok", "X-Reason: ok", "X-Reason: ok", "X-Reason: ok"]
--- upstream_requests: 6
--- error_log
smart_require value 1 of 1 is empty or 0

=== TEST 2: through a map: only the listed clients pass
--- http_config
    map $smart_claim_client_id $smart_client_ok {
        app-a    1;
        default  0;
    }
--- config eval: ::fhir_location($::Reason, 'smart_require $smart_client_ok;')
--- upstream_config eval: $::Up
--- raw_request eval
[::req(client_id => 'app-a'), ::req(client_id => 'app-b'),
 ::req(client_id => 'app-a ')]
--- error_code eval
[200, 403, 403]
--- response_body_like eval
['"id":"p1"', '"code":"claim-requirement-failed"',
 '"code":"claim-requirement-failed"']

=== TEST 3: several values, in one directive or two: all must hold
--- config eval: ::fhir_location($::Reason, 'smart_require $smart_claim_tenant;', 'smart_require $smart_claim_site $smart_claim_sub;')
--- upstream_config eval: $::Up
--- raw_request eval
[::req(tenant => 't', site => 's'), ::req(tenant => 't'),
 ::req(site => 's'), ::req(tenant => 't', site => 's', sub => undef)]
--- error_code eval
[200, 403, 403, 403]
--- error_log
smart_require value 2 of 3 is empty or 0

=== TEST 4: inherited from the server level; a location's own replace them
--- config eval
"smart_require \$smart_claim_tenant;\n"
. ::fhir_location($::Reason)
. "location /other/ { smart on; smart_fhir_base /other/;"
. " smart_issuer https://issuer.example.test;"
. " smart_audience https://fhir.example.test;"
. " smart_jwks_file \$TEST_NGINX_FIXTURES/jwks-1.json;"
. " smart_require \$smart_claim_site;"
. " proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT/fhir/; }"
--- upstream_config eval: $::Up
--- raw_request eval
[::req(), ::req(tenant => 't'),
 do { my $r = ::req(tenant => 't'); $r =~ s{/fhir/}{/other/}; $r },
 do { my $r = ::req(site => 's'); $r =~ s{/fhir/}{/other/}; $r }]
--- error_code eval
[403, 200, 403, 200]

=== TEST 5: the signature comes first: a forged token is 401, not 403
--- config eval: ::fhir_location($::Reason, 'smart_require $smart_claim_tenant;')
--- upstream_config eval: $::Up
--- raw_request eval
do { my $r = ::req(tenant => 't'); $r =~ s/(Bearer \S+)/$1x/; $r }
--- error_code: 401
--- upstream_requests: 0

=== TEST 6: a value without a variable would hold for every token or none
--- config eval: ::fhir_location('smart_require on;')
--- must_die

=== TEST 7: arrays joined with commas, nested names with "__", hostile values empty
--- config eval: ::fhir_location('add_header X-Roles "[$smart_claim_roles]" always;', 'add_header X-Country "[$smart_claim_address__country]" always;', 'add_header X-Verified "[$smart_claim_email_verified]" always;', 'add_header X-Bad "[$smart_claim_bad]" always;', 'add_header X-Deep "[$smart_claim_a__b__c__d__e]" always;')
--- upstream_config eval: $::Up
--- raw_request eval
::req(roles => ['nurse', 'admin', 3], address => { country => 'DE' },
      email_verified => JSON::PP::true(), bad => "x\r\nSet-Cookie: y=1",
      a => { b => { c => { d => { e => 'too deep' } } } })
--- error_code: 200
--- response_headers
X-Roles: [nurse,admin,3]
X-Country: [DE]
X-Verified: [1]
X-Bad: []
X-Deep: []
!Set-Cookie
