// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// Signing keys of the sandbox token issuer: PEM files on disk, turned into
// JWKs whose kid is the RFC 7638 thumbprint, so the issuer and the tour
// (which signs one deliberately expired token) agree on the kid.

import { createHash, createPrivateKey, sign as cryptoSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function thumbprint(jwk) {
    const members = jwk.kty === 'RSA'
        ? { e: jwk.e, kty: jwk.kty, n: jwk.n }
        : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
    return b64url(createHash('sha256').update(JSON.stringify(members)).digest());
}

function loadKey(file, alg) {
    const key = createPrivateKey(readFileSync(file));
    const jwk = key.export({ format: 'jwk' });
    jwk.alg = alg;
    jwk.use = 'sig';
    jwk.kid = thumbprint(jwk);
    return { alg, key, jwk };
}

// dir holds rs256.pem (RSA 2048) and es256.pem (EC P-256), made by
// sandbox/lab with openssl.
export function loadSigningKeys(dir) {
    return [
        loadKey(join(dir, 'rs256.pem'), 'RS256'),
        loadKey(join(dir, 'es256.pem'), 'ES256'),
    ];
}

// A compact JWS signed like the issuer signs its access tokens.
export function signJwt(signingKey, payload) {
    const header = { alg: signingKey.alg, kid: signingKey.jwk.kid, typ: 'at+jwt' };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
    const sig = signingKey.alg === 'RS256'
        ? cryptoSign('sha256', Buffer.from(input), signingKey.key)
        : cryptoSign('sha256', Buffer.from(input),
            { key: signingKey.key, dsaEncoding: 'ieee-p1363' });
    return `${input}.${b64url(sig)}`;
}
