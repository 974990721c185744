# Copyright (C) 2026 The ngx_smart_module authors
# SPDX-License-Identifier: BSD-2-Clause
# Self-tests of Smart::Token and the fixtures: every token the helpers mint
# verifies (or, for the hostile ones, fails to verify) in Perl with
# Crypt::JWT against the committed JWKS and PEM files.  No nginx involved.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Test::More;

use Crypt::JWT qw(decode_jwt);
use Crypt::PK::ECC;
use Crypt::PK::RSA;
use JSON::PP;
use MIME::Base64 qw(decode_base64url);

use lib dirname(__FILE__) . '/lib';
use Smart::Token qw(:all);

my $fx = abs_path(dirname(__FILE__) . '/fixtures');
my $json = JSON::PP->new;

sub slurp {
    my ($p) = @_;
    open my $fh, '<:raw', $p or die "$p: $!";
    local $/;
    return scalar <$fh>;
}

my %jwks = map { $_ => $json->decode(slurp("$fx/jwks-$_.json")) }
           qw(1 2 empty);

sub verify {
    my ($token, %o) = @_;
    my $claims = eval {
        decode_jwt(
            token        => $token,
            accepted_alg => qr/^(?:RS|ES|PS)(?:256|384|512)$/,
            verify_iss   => $Smart::Token::ISSUER,
            # RFC 7519: aud is a string or an array of strings
            verify_aud   => sub {
                my ($aud) = @_;
                return grep { $_ eq $Smart::Token::AUDIENCE }
                            ref $aud ? @$aud : ($aud);
            },
            verify_exp   => 1,
            %o,
        );
    };
    return ($claims, $@);
}

sub pub {
    my ($name) = @_;
    my $class = $name =~ /^ec/ ? 'Crypt::PK::ECC' : 'Crypt::PK::RSA';
    return $class->new("$fx/$name.pub.pem");
}

# --- fixtures ---------------------------------------------------------------

is_deeply([map { $_->{kid} } @{ $jwks{1}{keys} }], [qw(rsa-1 ec-256 ec-384)],
          'jwks-1.json holds rsa-1, ec-256, ec-384');
is_deeply([map { $_->{kid} } @{ $jwks{2}{keys} }], [qw(rsa-1 rsa-2)],
          'jwks-2.json holds rsa-1, rsa-2');
is_deeply($jwks{empty}, { keys => [] }, 'jwks-empty.json is empty');

for my $set (1, 2) {
    for my $jwk (@{ $jwks{$set}{keys} }) {
        my $kid = $jwk->{kid};
        ok(!exists $jwk->{d} && !exists $jwk->{p},
           "jwks-$set $kid has no private members");
        my $class = $jwk->{kty} eq 'EC' ? 'Crypt::PK::ECC' : 'Crypt::PK::RSA';
        my $from_jwks = $class->new($jwk);
        is($from_jwks->export_key_jwk_thumbprint('SHA256'),
           pub($kid)->export_key_jwk_thumbprint('SHA256'),
           "jwks-$set $kid is the key in $kid.pub.pem");
    }
}

for my $name (qw(rsa-1 rsa-2 ec-256 ec-384)) {
    my $class = $name =~ /^ec/ ? 'Crypt::PK::ECC' : 'Crypt::PK::RSA';
    my $priv = $class->new("$fx/$name.key.pem");
    ok($priv->is_private, "$name.key.pem is a private key");
    is($priv->export_key_jwk_thumbprint('SHA256'),
       pub($name)->export_key_jwk_thumbprint('SHA256'),
       "$name.key.pem matches $name.pub.pem");
}
is(pub('rsa-1')->size * 8, 2048, 'rsa-1 is 2048 bits');
is(pub('ec-256')->key2hash->{curve_name}, 'secp256r1', 'ec-256 is P-256');
is(pub('ec-384')->key2hash->{curve_name}, 'secp384r1', 'ec-384 is P-384');
isnt(pub('rsa-1')->export_key_jwk_thumbprint('SHA256'),
     pub('rsa-2')->export_key_jwk_thumbprint('SHA256'),
     'rsa-1 and rsa-2 differ');

{
    my $secret = slurp("$fx/hmac.secret");
    cmp_ok(length $secret, '>=', 32, 'hmac.secret has 32+ bytes');
    unlike($secret, qr/\n/, 'hmac.secret has no newline');
    is($secret, hmac_secret(), 'hmac_secret() returns the file bytes');
}

{
    my $tmp = tempdir(CLEANUP => 1);
    my $out = `$^X $fx/make-jwks.pl $tmp 2>&1`;
    is($?, 0, 'make-jwks.pl runs') or diag($out);
    for my $f (qw(jwks-1.json jwks-2.json jwks-empty.json)) {
        is(slurp("$tmp/$f"), slurp("$fx/$f"),
           "make-jwks.pl reproduces $f byte for byte");
    }
}

# --- mint ---------------------------------------------------------------------

{
    my $t = mint();
    my ($c, $err) = verify($t, kid_keys => $jwks{1});
    ok($c, 'default token verifies with jwks-1') or diag($err);
    my ($h, $p) = decode_token($t);
    is($h->{alg}, 'RS256', 'default alg RS256');
    is($h->{kid}, 'rsa-1', 'default kid rsa-1');
    is($h->{typ}, 'JWT', 'typ JWT');
    is($p->{iss}, 'https://issuer.example.test', 'default iss');
    is($p->{aud}, 'https://fhir.example.test', 'default aud');
    is($p->{sub}, 'test-user', 'default sub');
    is($p->{client_id}, 'test-app', 'default client_id');
    is($p->{scope}, 'patient/*.rs', 'default scope');
    is($p->{patient}, '123', 'default patient');
    ok($p->{jti}, 'jti present');
    cmp_ok(abs($p->{exp} - time - 300), '<=', 5, 'exp is now + 300');
    cmp_ok(abs($p->{iat} - time), '<=', 5, 'iat is now');
    ok(!exists $p->{nbf}, 'no nbf by default');
    ($c) = verify($t, key => pub('rsa-1'));
    ok($c, 'default token verifies with rsa-1.pub.pem');
}

for my $case ([RS256 => 'rsa-1'], [RS384 => 'rsa-1'], [RS512 => 'rsa-1'],
              [PS256 => 'rsa-1'], [ES256 => 'ec-256'], [ES384 => 'ec-384'])
{
    my ($alg, $key) = @$case;
    my $t = mint(alg => $alg);
    my ($h) = decode_token($t);
    is($h->{kid}, $key, "$alg default key $key");
    my ($c, $err) = verify($t, kid_keys => $jwks{1});
    ok($c, "$alg token verifies with jwks-1") or diag($err);
    ($c, $err) = verify($t, key => pub($key));
    ok($c, "$alg token verifies with $key.pub.pem") or diag($err);
}

{
    my ($h, $p, $sig) = decode_token(mint(alg => 'ES256'));
    is(length $sig, 64, 'ES256 signature is raw r||s (64 bytes)');
    ($h, $p, $sig) = decode_token(mint(alg => 'ES384'));
    is(length $sig, 96, 'ES384 signature is raw r||s (96 bytes)');
}

{
    my $t = mint(key => 'rsa-2');
    my ($h) = decode_token($t);
    is($h->{kid}, 'rsa-2', 'key rsa-2 gives kid rsa-2');
    my ($c) = verify($t, kid_keys => $jwks{1});
    ok(!$c, 'rsa-2 token does not verify with jwks-1');
    ($c) = verify($t, kid_keys => $jwks{2});
    ok($c, 'rsa-2 token verifies with jwks-2 (rotation)');
    ($c) = verify(mint(), kid_keys => $jwks{empty});
    ok(!$c, 'nothing verifies with jwks-empty');
}

{
    my $t = mint(alg => 'HS256');
    my ($h) = decode_token($t);
    ok(!exists $h->{kid}, 'HS256 token has no kid by default');
    my ($c, $err) = verify($t, key => hmac_secret(), accepted_alg => 'HS256');
    ok($c, 'HS256 token verifies with hmac.secret') or diag($err);
    for my $alg (qw(HS384 HS512)) {
        ($c, $err) = verify(mint(alg => $alg), key => hmac_secret(),
                            accepted_alg => $alg);
        ok($c, "$alg token verifies with hmac.secret") or diag($err);
    }
}

{
    my $t = mint(patient => undef, scope => undef, scp => ['user/*.rs'],
                 fhirUser => 'Practitioner/9', kid => 'other',
                 header => { typ => 'at+jwt', x5u => undef });
    my ($h, $p) = decode_token($t);
    ok(!exists $p->{patient}, 'patient => undef drops the claim');
    ok(!exists $p->{scope}, 'scope => undef drops the claim');
    is_deeply($p->{scp}, ['user/*.rs'], 'extra array claim');
    is($p->{fhirUser}, 'Practitioner/9', 'extra string claim');
    is($h->{kid}, 'other', 'explicit kid');
    is($h->{typ}, 'at+jwt', 'header override');
    my ($c) = verify($t, key => pub('rsa-1'));
    ok($c, 'token with overrides still verifies with rsa-1');

    my $now = time - 1000;
    ($h, $p) = decode_token(mint(now => $now, lifetime => 10, nbf => $now));
    is($p->{exp}, $now + 10, 'now and lifetime set exp');
    is($p->{nbf}, $now, 'nbf as an extra claim');
    my ($c2, $err) = verify(mint(exp => time - 3600), key => pub('rsa-1'));
    ok(!$c2, 'expired token fails verification');
    like($err, qr/exp/i, 'and the reason is exp');
    ($c2) = verify(mint(aud => ['x', 'https://fhir.example.test']),
                   key => pub('rsa-1'));
    ok($c2, 'array aud containing the audience verifies');
    ($c2) = verify(mint(iss => 'https://evil.example.test'),
                   key => pub('rsa-1'));
    ok(!$c2, 'wrong iss fails verification');
}

# --- hostile tokens ---------------------------------------------------------

{
    my $t = forge_alg_none(patient => 'p-1');
    my ($h, $p, $sig) = decode_token($t);
    is($h->{alg}, 'none', 'alg none header');
    is($p->{patient}, 'p-1', 'alg none carries claims');
    is($sig, '', 'alg none has an empty signature');
    like($t, qr/\.$/, 'alg none token ends with a dot');
    my ($c) = verify($t, kid_keys => $jwks{1});
    ok(!$c, 'alg none does not verify');
    ($h) = decode_token(forge_alg_none(alg_value => 'NoNe'));
    is($h->{alg}, 'NoNe', 'alg none case variant');
}

{
    my $good = mint();
    my $t = strip_signature($good);
    my ($h, $p) = split /\./, $good;
    is($t, "$h.$p.", 'strip_signature keeps header.payload.');
    is(strip_signature($good, keep_dot => 0), "$h.$p", 'and can drop the dot');
    my ($c) = verify($t, kid_keys => $jwks{1});
    ok(!$c, 'stripped token does not verify');
}

{
    my $t = hs256_with_pem();
    my ($h) = decode_token($t);
    is($h->{alg}, 'HS256', 'key confusion token is HS256');
    is($h->{kid}, 'rsa-1', 'and names the RSA kid');
    my $pem = slurp("$fx/rsa-1.pub.pem");
    my ($c, $err) = verify($t, key => $pem, accepted_alg => 'HS256');
    ok($c, 'it is a valid HMAC over the exact PEM text') or diag($err);
    ($c) = verify($t, kid_keys => $jwks{1});
    ok(!$c, 'it does not verify as an RSA token');
    ($c) = verify(hs256_with_pem(key => 'rsa-2'), key => slurp("$fx/rsa-2.pub.pem"),
                  accepted_alg => 'HS256');
    ok($c, 'hs256_with_pem(key => rsa-2) uses rsa-2.pub.pem');
}

{
    my $t = with_header(kid => 'rsa-2');
    my ($h) = decode_token($t);
    is($h->{kid}, 'rsa-2', 'with_header sets kid');
    my ($c) = verify($t, kid_keys => $jwks{2});
    ok(!$c, 'kid rsa-2 signed by rsa-1 fails with jwks-2');
    ($c) = verify($t, key => pub('rsa-1'));
    ok($c, 'but the signature is a real rsa-1 signature');

    ($c) = verify(with_header(alg => 'ES256', kid => 'ec-256'),
                  kid_keys => $jwks{1});
    ok($c, 'with_header signs with the header alg when it can');

    $t = with_header(alg => 'RS256', kid => 'ec-256', -sign_alg => 'ES256');
    ($h) = decode_token($t);
    is($h->{alg}, 'RS256', 'alg/key mismatch: header says RS256');
    ($c) = verify($t, kid_keys => $jwks{1});
    ok(!$c, 'alg/key mismatch does not verify');

    $t = with_header(crit => ['exp'], jku => 'https://evil.example.test/jwks',
                     typ => undef, -claims => { patient => 'p-7' });
    my $p;
    ($h, $p) = decode_token($t);
    is_deeply($h->{crit}, ['exp'], 'with_header crit');
    is($h->{jku}, 'https://evil.example.test/jwks', 'with_header jku');
    ok(!exists $h->{typ}, 'with_header typ => undef drops typ');
    is($p->{patient}, 'p-7', 'with_header -claims');

    my $raw = '{"alg":"RS256","kid":"rsa-1","alg":"none"}';
    $t = with_header(-raw => $raw);
    my ($hb) = split /\./, $t;
    is(decode_base64url($hb), $raw, 'with_header -raw keeps the header bytes');
    my ($hp, $pp, $sp) = split /\./, $t;
    ok(pub('rsa-1')->verify_message(decode_base64url($sp), "$hp.$pp",
                                    'SHA256', 'v1.5'),
       'raw header token carries a valid RS256 signature');
}

{
    my $raw = '{"iss":"https://issuer.example.test","sub":"a","sub":"b",'
            . '"aud":"https://fhir.example.test","exp":' . (time + 300) . '}';
    my $t = with_payload_json($raw);
    my ($hb, $pb, $sb) = split /\./, $t;
    is(decode_base64url($pb), $raw, 'with_payload_json keeps payload bytes');
    ok(pub('rsa-1')->verify_message(decode_base64url($sb), "$hb.$pb",
                                    'SHA256', 'v1.5'),
       'with_payload_json signs with rsa-1');

    my $deep = '{"iss":' . ('[' x 2000) . (']' x 2000) . '}';
    $t = with_payload_json($deep, alg => 'ES384');
    ($hb, $pb, $sb) = split /\./, $t;
    is(decode_base64url($pb), $deep, 'deeply nested payload kept');
    is($json->decode(decode_base64url($hb))->{kid}, 'ec-384',
       'with_payload_json ES384 kid ec-384');
    ok(pub('ec-384')->verify_message_rfc7518(decode_base64url($sb),
                                             "$hb.$pb", 'SHA384'),
       'with_payload_json ES384 signature valid');

    $t = with_payload_json('{}', alg => 'HS256');
    ($hb, $pb, $sb) = split /\./, $t;
    ok(!exists $json->decode(decode_base64url($hb))->{kid},
       'with_payload_json HS256 has no kid');
}

{
    my $good = mint();
    my $t = truncate_token($good);
    is(length $t, length($good) - 8, 'truncate_token drops 8 characters');
    is(truncate_token($good, 100), substr($good, 0, length($good) - 100),
       'truncate_token drops N characters');
    my ($c) = verify($t, kid_keys => $jwks{1});
    ok(!$c, 'truncated token does not verify');

    $t = tamper_signature($good);
    isnt($t, $good, 'tampered token differs');
    is(length $t, length $good, 'tampered token has the same length');
    my (undef, undef, $s1) = decode_token($good);
    my (undef, undef, $s2) = decode_token($t);
    is(length $s2, length $s1, 'tampered signature has the same length');
    ($c) = verify($t, kid_keys => $jwks{1});
    ok(!$c, 'tampered signature does not verify');
    ($c) = verify(tamper_signature(mint(alg => 'ES256'), at => 40),
                  kid_keys => $jwks{1});
    ok(!$c, 'tampered ES256 signature does not verify');

    $t = tamper_payload($good, patient => 'someone-else', scope => undef);
    my (undef, $p) = decode_token($t);
    is($p->{patient}, 'someone-else', 'tamper_payload changes claims');
    ok(!exists $p->{scope}, 'tamper_payload can drop claims');
    ($c) = verify($t, kid_keys => $jwks{1});
    ok(!$c, 'tampered payload does not verify');
    ($c) = verify($good, kid_keys => $jwks{1});
    ok($c, 'the untouched original still verifies');
}

done_testing();
