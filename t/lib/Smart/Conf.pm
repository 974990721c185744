# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
package Smart::Conf;

# Shared pieces of t/ test files: the standard "smart on" FHIR location
# (issuer, audience and keys of t/fixtures, proxied to the echo upstream)
# and raw requests with a bearer token, so that each file states only what
# it tests.

use strict;
use warnings;

use Exporter 'import';

our @EXPORT_OK = qw(fhir_location bearer_request);

# The location, with extra directives (strings, each ending in ';') inside.
sub fhir_location {
    my (@extra) = @_;
    my $more = join '', map { "        $_\n" } @extra;

    return <<"_EOC_";
    location /fhir/ {
        smart on;
        smart_fhir_base /fhir/;
        smart_issuer https://issuer.example.test;
        smart_audience https://fhir.example.test;
        smart_jwks_file \$TEST_NGINX_FIXTURES/jwks-1.json;
$more        proxy_pass http://127.0.0.1:\$TEST_NGINX_UPSTREAM_PORT;
    }
_EOC_
}

# "METHOD path" with the token, extra header lines and an optional JSON
# body (Content-Type application/fhir+json, Content-Length).
sub bearer_request {
    my ($method, $path, $token, $body, @headers) = @_;
    my $r = "$method $path HTTP/1.1\r\nHost: localhost\r\n"
          . "Connection: close\r\nAuthorization: Bearer $token\r\n"
          . join('', map { "$_\r\n" } @headers);

    if (defined $body) {
        $r .= "Content-Type: application/fhir+json\r\n"
            . "Content-Length: " . length($body) . "\r\n";
    }

    return $r . "\r\n" . (defined $body ? $body : '');
}

1;
