// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// What the tour and the end-to-end tests share: the running lab's
// addresses (lab.env, written by sandbox/lab up), tokens for the personas,
// requests through the gateway, and what the upstream saw.

import { readFileSync, existsSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { authorizationCode, clientCredentials, decodeJwt } from './smart-client.mjs';
import { loadSigningKeys, signJwt } from './keys.mjs';
import { auditRecords } from './redis.mjs';

const here = dirname(fileURLToPath(import.meta.url));

export const personas = JSON.parse(
    readFileSync(join(here, '..', 'personas.json'), 'utf8'));

export function persona(id) {
    const p = personas.personas.find((x) => x.id === id);
    if (p === undefined) throw new Error(`no persona ${id}`);
    return p;
}

export function loadLab(envFile) {
    if (!existsSync(envFile)) {
        throw new Error(`${envFile} not found: start the lab first (sandbox/lab up)`);
    }
    const env = {};
    for (const line of readFileSync(envFile, 'utf8').split('\n')) {
        const m = /^([A-Z_]+)=(.*)$/.exec(line);
        if (m) env[m[1]] = m[2];
    }
    return new Lab(env);
}

// A synthetic MedicationStatement for a patient (the write the tour and the
// tests make), tagged as test data like the seed.
export function medicationStatement(patient) {
    return {
        resourceType: 'MedicationStatement',
        status: 'active',
        medicationCodeableConcept: {
            coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
                code: '197361', display: 'Amlodipine 5 MG Oral Tablet' }],
        },
        subject: { reference: `Patient/${patient}` },
        meta: { tag: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
            code: 'HTEST', display: 'test health data' }] },
    };
}

// The body's catalogue code: OperationOutcome.issue[0].details.coding[].code,
// from the JSON body, or from the XML one the gateway sends a client that
// asked for XML (<system value="urn:smart-gateway:error"/><code value=.../>)
export function outcomeCode(body, text = '') {
    const coding = body?.issue?.[0]?.details?.coding || [];
    const code = coding.map((c) => c.code).find(Boolean);
    if (code || body !== undefined) return code;
    const m = /<system value="urn:smart-gateway:error"\/><code value="([^"]+)"\/>/
        .exec(text);
    return m ? m[1] : undefined;
}

export class Lab {
    constructor(env) {
        this.env = env;
        this.fhirBase = env.FHIR_BASE;
        this.issuer = env.ISSUER_URL;
        this.redisPort = Number(env.REDIS_PORT);
        this.requestLog = env.FHIR_REQUEST_LOG;
        this.tokens = new Map();
    }

    // Authorization code + PKCE for personas with a sign-in, client
    // credentials for the backend service (or when asked).
    async token(id, { grant } = {}) {
        const p = persona(id);
        const how = grant || (p.redirect_uris.length ? 'authorization_code' : 'client_credentials');
        const key = `${id}:${how}`;

        if (!this.tokens.has(key)) {
            const common = { issuer: this.issuer, audience: this.fhirBase, persona: p };
            const t = how === 'client_credentials'
                ? await clientCredentials(common)
                : await authorizationCode({
                    ...common,
                    login: p.login,
                    redirectUri: p.redirect_uris[0].replace('{app}', this.env.APP_URL),
                });
            this.tokens.set(key, t);
        }
        return this.tokens.get(key);
    }

    // A token the issuer's key signed, but expired ten minutes ago.
    expiredToken() {
        const [rs256] = loadSigningKeys(join(this.env.SMART_LAB_DIR, 'keys'));
        const now = Math.floor(Date.now() / 1000);
        return signJwt(rs256, {
            iss: this.issuer,
            aud: this.fhirBase,
            sub: 'ana',
            client_id: 'patient-app',
            scope: 'patient/*.rs',
            patient: 'syn-0001',
            jti: `expired-${now}`,
            iat: now - 900,
            exp: now - 600,
        });
    }

    // One request through the gateway; returns what an app would see.
    async fhir(method, path, { token, body, headers = {}, contentType } = {}) {
        const h = { Accept: 'application/fhir+json', ...headers };
        if (token) h.Authorization = `Bearer ${token}`;
        if (body !== undefined) {
            h['Content-Type'] = contentType || 'application/fhir+json';
        }
        const url = /^https?:/.test(path) ? path : `${this.fhirBase}/${path}`;
        const mark = this.logSize();
        const res = await fetch(url, {
            method,
            headers: h,
            body: body === undefined ? undefined
                : (typeof body === 'string' ? body : JSON.stringify(body)),
        });
        const text = await res.text();
        let json;
        try {
            json = JSON.parse(text);
        } catch {
            json = undefined;
        }
        return {
            method,
            url,
            status: res.status,
            headers: res.headers,
            cid: res.headers.get('x-correlation-id'),
            decision: res.headers.get('x-smart-decision'),
            body: json,
            text,
            code: outcomeCode(json, text),
            logMark: mark,
        };
    }

    logSize() {
        try {
            return statSync(this.requestLog).size;
        } catch {
            return 0;
        }
    }

    // The upstream requests logged since a response's mark (the FHIR server
    // writes a line per request, with the correlation ID it received).
    async upstreamSaw(res, { waitMs = 1000, min = 1 } = {}) {
        const deadline = Date.now() + waitMs;
        for (;;) {
            const lines = this.readLogFrom(res.logMark);
            // the gateway always sends the correlation ID upstream: a line
            // without it is not this response's request
            const mine = lines.filter((l) => !res.cid || l.cid === res.cid);
            if (mine.length >= min || Date.now() > deadline) return mine;
            await new Promise((r) => setTimeout(r, 50));
        }
    }

    readLogFrom(offset) {
        let fd;
        try {
            fd = openSync(this.requestLog, 'r');
        } catch {
            return [];
        }
        try {
            const size = statSync(this.requestLog).size;
            const buf = Buffer.alloc(Math.max(0, size - offset));
            readSync(fd, buf, 0, buf.length, offset);
            return buf.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
        } finally {
            closeSync(fd);
        }
    }

    // Audit records for these correlation IDs, waiting (bounded) until
    // each has landed: records are written after the response.
    async audit(cids, { waitMs = 3000 } = {}) {
        const want = new Set(cids);
        const deadline = Date.now() + waitMs;
        for (;;) {
            const records = (await auditRecords(this.redisPort))
                .filter((r) => want.has(r.fields.cid));
            const seen = new Set(records.map((r) => r.fields.cid));
            if ([...want].every((c) => seen.has(c)) || Date.now() > deadline) {
                return records;
            }
            await new Promise((r) => setTimeout(r, 100));
        }
    }
}

export { decodeJwt };
