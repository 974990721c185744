# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
package Smart::Token;

# Token minting helpers for the t/ suite.
#
# mint() produces well-formed, correctly signed SMART access tokens from the
# committed fixture keys (t/fixtures).  The other helpers build hostile tokens
# byte by byte: unsigned, re-signed with the wrong key type, with a chosen
# header, with raw payload JSON, truncated or with a damaged signature.
#
# Claim options take undef to mean "leave this claim out":
#     mint(patient => undef)        # no patient claim at all
#     mint(scope => undef, scp => ['patient/*.rs'])

use strict;
use warnings;

use Carp qw(croak);
use Cwd qw(abs_path);
use Exporter 'import';
use File::Basename qw(dirname);
use Crypt::JWT qw(encode_jwt);
use Crypt::Mac::HMAC qw(hmac);
use Crypt::PK::ECC;
use Crypt::PK::RSA;
use JSON::PP;
use MIME::Base64 qw(encode_base64url decode_base64url);

our @EXPORT_OK = qw(
    mint forge_alg_none strip_signature hs256_with_pem with_header
    with_payload_json truncate_token tamper_signature tamper_payload
    decode_token sign_raw b64u fixture_dir fixture_path hmac_secret
    default_claims
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

our $ISSUER   = 'https://issuer.example.test';
our $AUDIENCE = 'https://fhir.example.test';

my $JSON = JSON::PP->new->canonical(1)->allow_nonref(1);

# Options that steer signing; everything else given to mint() is a claim.
my %SIGNING_OPT = map { $_ => 1 }
    qw(alg kid key header now lifetime secret);

my %DEFAULT_KEY = (
    RS256 => 'rsa-1', RS384 => 'rsa-1', RS512 => 'rsa-1',
    PS256 => 'rsa-1', PS384 => 'rsa-1', PS512 => 'rsa-1',
    ES256 => 'ec-256', ES384 => 'ec-384',
);

my %HASH = (256 => 'SHA256', 384 => 'SHA384', 512 => 'SHA512');

sub fixture_dir {
    return $ENV{TEST_NGINX_FIXTURES}
        if defined $ENV{TEST_NGINX_FIXTURES}
           && -d $ENV{TEST_NGINX_FIXTURES};
    return abs_path(dirname(__FILE__) . '/../../fixtures');
}

sub fixture_path {
    my ($name) = @_;
    my $path = fixture_dir() . "/$name";
    croak "no fixture $path" unless -e $path;
    return $path;
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or croak "$path: $!";
    local $/;
    my $data = <$fh>;
    close $fh;
    return $data;
}

# The HMAC secret exactly as the file holds it (the file has no trailing
# newline, so nothing needs stripping).
sub hmac_secret {
    return _slurp(fixture_path('hmac.secret'));
}

sub b64u {
    return encode_base64url($_[0]);
}

# Fixture key name ('rsa-1', 'ec-384', ...), a path to a PEM file, or a
# Crypt::PK::RSA / Crypt::PK::ECC object.
sub _private_key {
    my ($key, $alg) = @_;
    $key = $DEFAULT_KEY{$alg} if !defined $key;
    croak "no default key for alg $alg; pass key => ..." if !defined $key;
    return $key if ref $key;
    my $path = -e $key ? $key : fixture_path("$key.key.pem");
    return $alg =~ /^ES/ ? Crypt::PK::ECC->new($path)
                         : Crypt::PK::RSA->new($path);
}

sub default_claims {
    my (%o) = @_;
    my $now = defined $o{now} ? $o{now} : time;
    my $lifetime = defined $o{lifetime} ? $o{lifetime} : 300;
    return (
        iss       => $ISSUER,
        aud       => $AUDIENCE,
        sub       => 'test-user',
        client_id => 'test-app',
        scope     => 'patient/*.rs',
        patient   => '123',
        iat       => $now,
        exp       => $now + $lifetime,
        jti       => sprintf('jti-%d-%d-%06d', $$, $now, int(rand(1e6))),
    );
}

sub _claims {
    my (%o) = @_;
    my %c = default_claims(%o);
    for my $k (keys %o) {
        next if $SIGNING_OPT{$k};
        $c{$k} = $o{$k};
    }
    delete $c{$_} for grep { !defined $c{$_} } keys %c;
    return \%c;
}

# Signs "b64u(header).b64u(payload)" with ALG and returns the raw signature
# bytes.  KEY as for _private_key(); for HS* it is the secret itself
# (default: the fixture HMAC secret).
sub sign_raw {
    my ($alg, $key, $input) = @_;
    my ($family, $bits) = $alg =~ /^(RS|PS|ES|HS)(256|384|512)$/
        or croak "sign_raw: unsupported alg '$alg'";
    my $hash = $HASH{$bits};
    if ($family eq 'HS') {
        $key = hmac_secret() if !defined $key;
        return hmac($hash, $key, $input);
    }
    my $pk = _private_key($key, $alg);
    return $pk->sign_message_rfc7518($input, $hash) if $family eq 'ES';
    return $pk->sign_message($input, $hash, 'pss', $bits / 8)
        if $family eq 'PS';
    return $pk->sign_message($input, $hash, 'v1.5');
}

sub _encode_part {
    my ($part) = @_;
    return b64u(ref $part ? $JSON->encode($part) : $part);
}

# A correctly signed, well-formed token.
#   alg    (RS256) signing algorithm, also the header alg
#   key    fixture key name / PEM path / Crypt::PK object (default by alg:
#          RS* rsa-1, ES256 ec-256, ES384 ec-384); for HS*: the secret
#   kid    header kid (default: the fixture key name; none for HS*);
#          undef leaves it out
#   header hashref of extra header fields (undef values remove fields)
#   now, lifetime   base time and exp - iat (300)
#   anything else is a claim; undef removes a default claim
sub mint {
    my (%o) = @_;
    my $alg = defined $o{alg} ? $o{alg} : 'RS256';
    my $claims = _claims(%o);

    my %hdr = (typ => 'JWT');
    if (exists $o{kid}) {
        $hdr{kid} = $o{kid} if defined $o{kid};
    } elsif ($alg !~ /^HS/) {
        $hdr{kid} = ref $o{key} ? undef
                  : defined $o{key} ? ($o{key} =~ m{([^/]+?)(?:\.key)?\.pem$}
                                       ? $1 : $o{key})
                  : $DEFAULT_KEY{$alg};
        delete $hdr{kid} if !defined $hdr{kid};
    }
    if ($o{header}) {
        for my $k (keys %{ $o{header} }) {
            if (defined $o{header}{$k}) { $hdr{$k} = $o{header}{$k} }
            else                       { delete $hdr{$k} }
        }
    }
    delete $hdr{alg};

    my $key;
    if ($alg =~ /^HS/) {
        $key = defined $o{key} ? $o{key}
             : defined $o{secret} ? $o{secret} : hmac_secret();
    } else {
        $key = _private_key($o{key}, $alg);
    }
    return encode_jwt(
        payload       => $claims,
        alg           => $alg,
        key           => $key,
        extra_headers => \%hdr,
    );
}

# Unsigned token: {"alg":"none"} header, default claims (overridable as in
# mint), empty signature.  alg_value => 'None' / 'NONE' for case variants;
# sig => '...' to append something after the last dot anyway.
sub forge_alg_none {
    my (%o) = @_;
    my $alg = exists $o{alg_value} ? delete $o{alg_value} : 'none';
    my $sig = exists $o{sig} ? delete $o{sig} : '';
    my %hdr = (alg => $alg, typ => 'JWT');
    %hdr = (%hdr, %{ delete $o{header} }) if $o{header};
    delete $hdr{$_} for grep { !defined $hdr{$_} } keys %hdr;
    return _encode_part(\%hdr) . '.' . _encode_part(_claims(%o)) . ".$sig";
}

# "header.payload." — the signature removed, the separator kept unless
# keep_dot => 0.
sub strip_signature {
    my ($token, %o) = @_;
    my ($h, $p) = split /\./, $token, 3;
    my $keep = exists $o{keep_dot} ? $o{keep_dot} : 1;
    return "$h.$p" . ($keep ? '.' : '');
}

# Key-confusion attack: HS256 with the RSA public key PEM text (exactly the
# file bytes) as the HMAC secret, kid naming the RSA key.
#   key => 'rsa-1' (which public key), kid => (default same), claims as mint
sub hs256_with_pem {
    my (%o) = @_;
    my $name = defined $o{key} ? delete $o{key} : 'rsa-1';
    my $kid = exists $o{kid} ? delete $o{kid} : $name;
    my $pem = _slurp(fixture_path("$name.pub.pem"));
    my %hdr = (alg => 'HS256', typ => 'JWT');
    $hdr{kid} = $kid if defined $kid;
    my $input = _encode_part(\%hdr) . '.' . _encode_part(_claims(%o));
    return "$input." . b64u(hmac('SHA256', $pem, $input));
}

# A token whose header is exactly {alg => 'RS256', typ => 'JWT',
# kid => 'rsa-1', %h} (undef values remove fields), signed for real.
# Steering keys (not header fields):
#   -claims   hashref of claim overrides as for mint
#   -sign_alg algorithm actually used to sign (default: the header alg when
#             it is one sign_raw knows, else RS256)
#   -key      key for signing (as sign_raw)
#   -raw      raw header JSON text used instead of the hash (duplicate
#             members, odd whitespace, ...)
sub with_header {
    my (%h) = @_;
    my $claims = delete $h{-claims} || {};
    my $sign_alg = delete $h{-sign_alg};
    my $key = delete $h{-key};
    my $raw = delete $h{-raw};
    my %hdr = (alg => 'RS256', typ => 'JWT', kid => 'rsa-1', %h);
    delete $hdr{$_} for grep { !defined $hdr{$_} } keys %hdr;
    if (!defined $sign_alg) {
        $sign_alg = defined $hdr{alg}
                    && !ref $hdr{alg}
                    && $hdr{alg} =~ /^(RS|PS|ES|HS)(256|384|512)$/
                  ? $hdr{alg} : 'RS256';
    }
    my $input = _encode_part(defined $raw ? $raw : \%hdr) . '.'
              . _encode_part(_claims(%$claims));
    return "$input." . b64u(sign_raw($sign_alg, $key, $input));
}

# A correctly signed token whose payload is RAW (JSON text or any bytes),
# for duplicate claims, deep nesting, non-object payloads.
#   alg (RS256), key, kid (default by alg), header (extra fields)
sub with_payload_json {
    my ($raw, %o) = @_;
    croak 'with_payload_json: payload text required' if !defined $raw;
    my $alg = defined $o{alg} ? $o{alg} : 'RS256';
    my %hdr = (alg => $alg, typ => 'JWT');
    my $kid = exists $o{kid} ? $o{kid}
            : $alg =~ /^HS/ ? undef
            : defined $o{key} && !ref $o{key} ? $o{key}
            : $DEFAULT_KEY{$alg};
    $hdr{kid} = $kid if defined $kid;
    %hdr = (%hdr, %{ $o{header} }) if $o{header};
    delete $hdr{$_} for grep { !defined $hdr{$_} } keys %hdr;
    my $input = _encode_part(\%hdr) . '.' . b64u($raw);
    return "$input." . b64u(sign_raw($alg, $o{key}, $input));
}

# The token with its last DROP characters removed (default 8, i.e. inside
# the signature).
sub truncate_token {
    my ($token, $drop) = @_;
    $drop = 8 if !defined $drop;
    croak 'truncate_token: token shorter than drop' if $drop > length $token;
    return substr($token, 0, length($token) - $drop);
}

# Same header and payload, signature of the right length with one byte
# flipped (default: the first; at => N for another), still valid base64url.
sub tamper_signature {
    my ($token, %o) = @_;
    my ($h, $p, $s) = split /\./, $token, 3;
    my $sig = decode_base64url(defined $s ? $s : '');
    croak 'tamper_signature: token has no signature' if $sig eq '';
    my $at = defined $o{at} ? $o{at} : 0;
    substr($sig, $at, 1) = chr(ord(substr($sig, $at, 1)) ^ 0x01);
    return "$h.$p." . b64u($sig);
}

# Same header and signature, payload claims replaced (signature no longer
# matches).  Claims as for mint, applied over the token's own payload.
sub tamper_payload {
    my ($token, %claims) = @_;
    my ($h, $p, $s) = split /\./, $token, 3;
    my $payload = $JSON->decode(decode_base64url($p));
    for my $k (keys %claims) {
        if (defined $claims{$k}) { $payload->{$k} = $claims{$k} }
        else                     { delete $payload->{$k} }
    }
    return "$h." . _encode_part($payload) . '.' . (defined $s ? $s : '');
}

# (header hashref, payload hashref, signature bytes) without any checking.
sub decode_token {
    my ($token) = @_;
    my ($h, $p, $s) = split /\./, $token, 3;
    return (
        $JSON->decode(decode_base64url($h)),
        $JSON->decode(decode_base64url($p)),
        decode_base64url(defined $s ? $s : ''),
    );
}

1;
