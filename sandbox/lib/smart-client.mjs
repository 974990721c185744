// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// A scripted SMART client for the lab: gets access tokens from the sandbox
// issuer by client credentials, or by authorization code + PKCE with the
// sign-in and consent forms filled in as a person would.  Used by the tour
// and the end-to-end tests.

import { createHash, randomBytes } from 'node:crypto';

class CookieJar {
    constructor() { this.cookies = new Map(); }

    take(res) {
        for (const line of res.headers.getSetCookie()) {
            const [pair] = line.split(';');
            const eq = pair.indexOf('=');
            if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
        }
    }

    header() {
        return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
}

async function discover(issuer) {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    if (!res.ok) throw new Error(`issuer discovery: HTTP ${res.status}`);
    return res.json();
}

async function tokenRequest(meta, persona, form) {
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
    if (persona.public) {
        form.set('client_id', persona.client_id);
    } else {
        headers.Authorization = 'Basic ' + Buffer.from(
            `${encodeURIComponent(persona.client_id)}:${encodeURIComponent(persona.secret)}`)
            .toString('base64');
    }
    const res = await fetch(meta.token_endpoint, { method: 'POST', headers, body: form });
    const body = await res.json();
    if (!res.ok) {
        throw new Error(`token endpoint: HTTP ${res.status} ${body.error}: ${body.error_description}`);
    }
    return body;
}

export async function clientCredentials({ issuer, audience, persona, scope }) {
    const meta = await discover(issuer);
    const form = new URLSearchParams({
        grant_type: 'client_credentials',
        scope: scope || persona.scope.split(' ')
            .filter((s) => /^(patient|user|system)\//.test(s)).join(' '),
        resource: audience,
    });
    return tokenRequest(meta, persona, form);
}

// Follows redirects by hand (cookies, and to stop at the app's callback).
async function step(jar, url, init = {}) {
    const res = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: { ...(init.headers || {}), Cookie: jar.header() },
    });
    jar.take(res);
    return res;
}

// Plays the person at the browser: follows redirects (with cookies) and
// fills the issuer's sign-in and consent forms, until a redirect leaves for
// a URL that stopAt(url) accepts, which is returned unfollowed.
export async function browse(startUrl, { login, stopAt, jar = new CookieJar() }) {
    let res = await step(jar, startUrl);
    let here = new URL(startUrl);

    for (let hops = 0; hops < 16; hops++) {
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location) {
            const next = new URL(location, here);
            if (stopAt(next)) return next;
            res = await step(jar, next.href);
            here = next;
            continue;
        }
        if (res.status !== 200) {
            throw new Error(`authorization: HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
        }
        const html = await res.text();
        const action = /<form method="post" action="([^"]+)"/.exec(html);
        if (action === null) throw new Error('authorization: no form on the page');
        const form = /name="login"/.test(html)
            ? new URLSearchParams({ login, action: 'login' })
            : new URLSearchParams({ action: 'allow' });
        here = new URL(action[1], here);
        res = await step(jar, here.href, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: form,
        });
    }
    throw new Error('authorization: too many redirects');
}

export async function authorizationCode({ issuer, audience, persona, redirectUri, login, scope }) {
    const meta = await discover(issuer);
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const state = randomBytes(12).toString('base64url');
    const auth = new URL(meta.authorization_endpoint);

    auth.search = new URLSearchParams({
        response_type: 'code',
        client_id: persona.client_id,
        redirect_uri: redirectUri,
        scope: scope || persona.scope,
        state,
        aud: audience,
        resource: audience,
        code_challenge: challenge,
        code_challenge_method: 'S256',
    }).toString();

    const back = await browse(auth.href, {
        login,
        stopAt: (u) => u.href.startsWith(redirectUri),
    });
    const p = back.searchParams;
    if (p.get('error')) {
        throw new Error(`authorization: ${p.get('error')}: ${p.get('error_description')}`);
    }
    if (p.get('state') !== state) throw new Error('authorization: state mismatch');
    return tokenRequest(meta, persona, new URLSearchParams({
        grant_type: 'authorization_code',
        code: p.get('code'),
        redirect_uri: redirectUri,
        code_verifier: verifier,
        resource: audience,
    }));
}

export function decodeJwt(token) {
    const [h, p] = token.split('.');
    return {
        header: JSON.parse(Buffer.from(h, 'base64url')),
        payload: JSON.parse(Buffer.from(p, 'base64url')),
    };
}
