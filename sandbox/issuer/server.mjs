// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// Sandbox SMART token issuer: oidc-provider issuing JWT access tokens for
// one resource (the gateway's FHIR base) to the personas of
// sandbox/personas.json.  Loopback only; the lab is not a deployment.
//
//   node sandbox/issuer/server.mjs --port N --issuer URL --audience URL
//        --keys DIR [--personas FILE] [--app URL] [--ttl SECONDS]

import http from 'node:http';
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

import { loadSigningKeys } from '../lib/keys.mjs';
import { MemoryAdapter } from './adapter.mjs';
import { loginPage, consentPage, escapeHtml } from './pages.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function usage(msg) {
    process.stderr.write(`issuer: ${msg}\nusage: node sandbox/issuer/server.mjs `
        + '--port N --issuer URL --audience URL --keys DIR '
        + '[--personas FILE] [--app URL] [--ttl SECONDS]\n');
    process.exit(2);
}

function options() {
    let v;
    try {
        ({ values: v } = parseArgs({
            options: {
                port: { type: 'string' },
                issuer: { type: 'string' },
                audience: { type: 'string' },
                keys: { type: 'string' },
                personas: { type: 'string', default: join(here, '..', 'personas.json') },
                app: { type: 'string', default: 'http://127.0.0.1:18083' },
                ttl: { type: 'string', default: '300' },
            },
        }));
    } catch (e) {
        usage(e.message);
    }
    for (const k of ['port', 'issuer', 'audience', 'keys']) {
        if (v[k] === undefined) usage(`--${k} is required`);
    }
    const port = Number(v.port);
    const ttl = Number(v.ttl);
    if (!Number.isInteger(port) || port < 1 || port > 65535) usage('bad --port');
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86400) usage('bad --ttl');
    return { ...v, port, ttl };
}

const OIDC_SCOPES = ['openid', 'fhirUser', 'launch', 'launch/patient',
    'offline_access', 'online_access'];

function isResourceScope(s) {
    return /^(patient|user|system)\//.test(s);
}

export function buildProvider(opt, personas) {
    const keys = loadSigningKeys(opt.keys);
    const byClient = new Map(personas.personas.map((p) => [p.client_id, p]));

    // The one resource server: every persona's resource scopes.
    const resourceScopes = [...new Set(personas.personas
        .flatMap((p) => p.scope.split(' ')).filter(isResourceScope))];

    const clients = personas.personas.map((p) => ({
        client_id: p.client_id,
        client_name: p.title,
        ...(p.public
            ? { token_endpoint_auth_method: 'none' }
            : { client_secret: p.secret, token_endpoint_auth_method: 'client_secret_basic' }),
        grant_types: p.public ? ['authorization_code']
            : (p.redirect_uris.length ? ['authorization_code', 'client_credentials']
                : ['client_credentials']),
        response_types: p.redirect_uris.length ? ['code'] : [],
        redirect_uris: p.redirect_uris.map((u) => u.replace('{app}', opt.app)),
        scope: p.scope,
    }));

    function launchPatient(token) {
        const scope = String(token.scope || '');
        if (!scope.split(' ').some((s) => s.startsWith('patient/'))) {
            return undefined;
        }
        if (token.accountId) {
            return personas.accounts[token.accountId]?.patient;
        }
        // client_credentials carries no user: the sandbox gives a
        // patient-scoped client its registered launch patient.
        return byClient.get(token.clientId)?.launch_patient;
    }

    const provider = new Provider(opt.issuer, {
        adapter: MemoryAdapter,
        clients,
        jwks: { keys: keys.map((k) => k.jwk) },
        scopes: [...OIDC_SCOPES, ...resourceScopes],
        claims: {
            openid: ['sub'],
            fhirUser: ['fhirUser'],
            profile: ['name'],
        },
        findAccount: async (ctx, id) => {
            const account = personas.accounts[id];
            if (account === undefined) return undefined;
            return {
                accountId: id,
                claims: async () => ({ sub: id, name: account.name, fhirUser: account.fhirUser }),
            };
        },
        features: {
            devInteractions: { enabled: false },
            clientCredentials: { enabled: true },
            introspection: { enabled: false },
            revocation: { enabled: false },
            resourceIndicators: {
                enabled: true,
                defaultResource: async () => opt.audience,
                useGrantedResource: async () => true,
                getResourceServerInfo: async (ctx, indicator, client) => {
                    if (indicator !== opt.audience) {
                        throw new Provider.errors.InvalidTarget(
                            `unknown resource; this issuer serves ${opt.audience}`);
                    }
                    const alg = byClient.get(client.clientId)?.alg || 'RS256';
                    return {
                        scope: resourceScopes.join(' '),
                        audience: opt.audience,
                        accessTokenTTL: opt.ttl,
                        accessTokenFormat: 'jwt',
                        jwt: { sign: { alg } },
                    };
                },
            },
        },
        extraTokenClaims: async (ctx, token) => {
            const patient = launchPatient(token);
            const claims = {};
            if (patient !== undefined) claims.patient = patient;
            const account = token.accountId && personas.accounts[token.accountId];
            if (account?.fhirUser) claims.fhirUser = account.fhirUser;
            return claims;
        },
        pkce: { required: () => true },
        ttl: {
            AccessToken: opt.ttl,
            ClientCredentials: opt.ttl,
            AuthorizationCode: 60,
            Interaction: 600,
            Session: 3600,
            Grant: 3600,
            IdToken: opt.ttl,
        },
        interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
        cookies: { keys: ['sandbox-cookie-key-not-a-secret'] },
        renderError: async (ctx, out) => {
            ctx.type = 'html';
            ctx.body = `<!doctype html><title>error</title><h1>${escapeHtml(out.error)}</h1>`
                + `<p>${escapeHtml(out.error_description || '')}</p>`;
        },
    });
    provider.proxy = false;

    // SMART apps read the launch context from the token response.
    provider.use(async (ctx, next) => {
        await next();
        if (ctx.path === '/token' && ctx.status === 200 && ctx.body
            && typeof ctx.body.access_token === 'string') {
            try {
                const payload = JSON.parse(Buffer.from(
                    ctx.body.access_token.split('.')[1], 'base64url'));
                if (payload.patient) ctx.body.patient = payload.patient;
            } catch {
                /* opaque token: nothing to add */
            }
        }
    });

    return { provider, keys };
}

async function readForm(req) {
    const chunks = [];
    let size = 0;
    for await (const c of req) {
        size += c.length;
        if (size > 16384) throw new Error('form too large');
        chunks.push(c);
    }
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// Login and consent pages: the lab's stand-in for a hospital's login.
async function interaction(provider, personas, req, res, uid) {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction mismatch');
    const { prompt, params } = details;
    const client = await provider.Client.find(params.client_id);

    if (req.method === 'GET') {
        res.setHeader('Content-Type', 'text/html; charset=utf-8');
        res.setHeader('Cache-Control', 'no-store');
        res.end(prompt.name === 'login'
            ? loginPage(uid, client, personas.accounts)
            : consentPage(uid, client, params, prompt.details));
        return;
    }

    const form = await readForm(req);
    if (form.get('action') === 'deny') {
        await provider.interactionFinished(req, res, {
            error: 'access_denied', error_description: 'the user declined',
        }, { mergeWithLastSubmission: false });
        return;
    }
    if (prompt.name === 'login') {
        const login = form.get('login');
        if (!Object.hasOwn(personas.accounts, login || '')) {
            res.statusCode = 400;
            res.setHeader('Content-Type', 'text/html; charset=utf-8');
            res.end(loginPage(uid, client, personas.accounts, 'unknown account'));
            return;
        }
        await provider.interactionFinished(req, res,
            { login: { accountId: login } }, { mergeWithLastSubmission: false });
        return;
    }
    // consent: grant what was asked, within the client's registration
    const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const d = prompt.details;
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    if (d.missingResourceScopes) {
        for (const [indicator, scope] of Object.entries(d.missingResourceScopes)) {
            grant.addResourceScope(indicator, scope.join(' '));
        }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res,
        { consent: { grantId } }, { mergeWithLastSubmission: true });
}

export function createServer(opt, personas) {
    const { provider } = buildProvider(opt, personas);
    const callback = provider.callback();

    return http.createServer((req, res) => {
        const url = new URL(req.url, 'http://localhost');
        const m = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);

        if (url.pathname === '/healthz') {
            res.setHeader('Content-Type', 'application/json');
            res.end('{"status":"ok"}');
            return;
        }
        if (m && (req.method === 'GET' || req.method === 'POST')) {
            interaction(provider, personas, req, res, m[1]).catch((err) => {
                if (!res.headersSent) {
                    res.statusCode = 400;
                    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
                }
                res.end(`interaction failed: ${err.message}\n`);
            });
            return;
        }
        callback(req, res);
    });
}

// run as a program (also through a symlinked or space-containing path,
// which import.meta.url spells differently from argv[1])
function invokedDirectly() {
    try {
        return process.argv[1] !== undefined
            && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
    } catch {
        return false;
    }
}

if (invokedDirectly()) {
    const opt = options();
    const personas = JSON.parse(readFileSync(opt.personas, 'utf8'));
    const server = createServer(opt, personas);
    server.listen(opt.port, '127.0.0.1', () => {
        process.stdout.write(`issuer ${opt.issuer} listening on 127.0.0.1:${opt.port}\n`);
    });
    const stop = () => server.close(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}
