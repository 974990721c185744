// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// End to end: the lab (FHIR server, issuer, Redis, NGINX with the module)
// started for this file, tokens obtained from the issuer by client
// credentials and by authorization code + PKCE, and the gateway's decisions,
// narrowing (as the upstream received it), typed errors and audit records
// checked from the outside.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { decodeJwt, medicationStatement, persona } from '../lib/lab.mjs';
import { loadSigningKeys, signJwt } from '../lib/keys.mjs';
import { startLab } from './lab-fixture.mjs';

const top = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = promisify(execFile);

let fixture;
let lab;
const responses = [];   // every gateway response, for the audit checks
const tokens = {};

async function fhir(method, path, opts = {}) {
    const r = await lab.fhir(method, path, opts);
    responses.push({ r, opts });
    return r;
}

function claims(t) {
    return decodeJwt(t.access_token).payload;
}

function mint(payloadChanges, { alg = 'RS256' } = {}) {
    const keys = loadSigningKeys(join(fixture.dir, 'keys'));
    const key = keys.find((k) => k.alg === alg);
    const now = Math.floor(Date.now() / 1000);
    return signJwt(key, {
        iss: lab.issuer,
        aud: lab.fhirBase,
        sub: 'ana',
        client_id: 'patient-app',
        scope: 'patient/*.rs',
        patient: 'syn-0001',
        jti: `e2e-${now}-${Math.random()}`,
        iat: now,
        exp: now + 300,
        ...payloadChanges,
    });
}


before(async () => {
    fixture = await startLab('e2e');
    lab = fixture.lab;
});

after(async () => {
    if (fixture) await fixture.stop();
});

test('tokens: client credentials (ES256) and authorization code + PKCE (RS256)', async () => {
    tokens.backend = await lab.token('backend-service');
    tokens.medrecCC = await lab.token('medrec-app', { grant: 'client_credentials' });
    tokens.ana = await lab.token('patient-app');
    tokens.lee = await lab.token('clinician-lab');
    tokens.medrec = await lab.token('medrec-app');

    assert.equal(decodeJwt(tokens.backend.access_token).header.alg, 'ES256');
    assert.equal(claims(tokens.backend).scope, 'system/*.rs');
    assert.equal(claims(tokens.backend).patient, undefined);
    assert.equal(claims(tokens.medrecCC).patient, 'syn-0001');
    assert.equal(decodeJwt(tokens.ana.access_token).header.alg, 'RS256');
    assert.equal(claims(tokens.ana).patient, 'syn-0001');
    assert.equal(tokens.ana.patient, 'syn-0001', 'SMART launch context in the token response');
    assert.equal(claims(tokens.ana).aud, lab.fhirBase);
    assert.match(claims(tokens.lee).scope, /^user\/Observation\.rs\?category=/);
});

test('a public client cannot skip PKCE', async () => {
    const res = await fetch(`${lab.issuer}/auth?response_type=code&client_id=patient-app`
        + `&redirect_uri=${encodeURIComponent(`${lab.env.APP_URL}/patient-app/callback`)}`
        + '&scope=openid%20patient%2F*.rs', { redirect: 'manual' });
    const loc = new URL(res.headers.get('location'), lab.issuer);
    assert.equal(loc.searchParams.get('error'), 'invalid_request');
});

test('allowed read of the launch patient', async () => {
    const r = await fhir('GET', 'Patient/syn-0001', { token: tokens.ana.access_token });
    assert.equal(r.status, 200);
    assert.equal(r.body.id, 'syn-0001');
    assert.equal(r.decision, 'allow ok');
    assert.ok(r.headers.get('etag'), 'the FHIR server\'s ETag passes through');
});

test('a patient search is narrowed, and the upstream sees the added parameter', async () => {
    const r = await fhir('GET', 'Observation?category=laboratory&_count=50',
        { token: tokens.ana.access_token });
    assert.equal(r.status, 200);
    const seen = await lab.upstreamSaw(r);
    assert.equal(seen.length, 1);
    assert.match(seen[0].url, /^\/fhir\/Observation\?category=laboratory&_count=50&patient=syn-0001$/);
    assert.ok(r.body.entry.length > 0);
    for (const e of r.body.entry) {
        assert.equal(e.resource.subject.reference, 'Patient/syn-0001');
    }
});

test('a search that names the patient is forwarded unchanged', async () => {
    const r = await fhir('GET', 'Condition?patient=syn-0001', { token: tokens.ana.access_token });
    assert.equal(r.status, 200);
    const seen = await lab.upstreamSaw(r);
    assert.equal(seen[0].url, '/fhir/Condition?patient=syn-0001');
});

test('cross-patient read and search are refused before the upstream', async () => {
    for (const path of ['Patient/syn-0002', 'Observation?patient=syn-0002',
        'Observation?subject=Patient/syn-0002']) {
        const r = await fhir('GET', path, { token: tokens.ana.access_token });
        assert.equal(r.status, 403, path);
        assert.equal(r.code, 'patient-mismatch', path);
        assert.equal(r.body.id, r.cid, 'the OperationOutcome carries the correlation ID');
        assert.deepEqual(await lab.upstreamSaw(r, { waitMs: 200 }), [], path);
    }
});

test('reads by id under a patient scope: own records released, another patient\'s refused (response check)', async () => {
    const mine = await fhir('GET', 'Observation?patient=syn-0001&_count=3',
        { token: tokens.ana.access_token });
    assert.equal(mine.status, 200);
    const theirs = await fhir('GET', 'Observation?patient=syn-0002&_count=2',
        { token: tokens.backend.access_token });
    assert.equal(theirs.status, 200);
    assert.ok(mine.body.entry.length > 0 && theirs.body.entry.length > 0);

    for (const e of mine.body.entry) {
        const id = e.resource.id;
        const vid = e.resource.meta?.versionId;
        for (const path of [`Observation/${id}`, `Observation/${id}/_history`,
            ...(vid ? [`Observation/${id}/_history/${vid}`] : [])]) {
            const r = await fhir('GET', path, { token: tokens.ana.access_token });
            assert.equal(r.status, 200, `${path}: ${r.text}`);
            assert.match(r.text, /Patient\/syn-0001/, path);
            assert.doesNotMatch(r.text, /syn-0002/, path);
        }
        const enc = e.resource.encounter?.reference;
        if (enc) {
            const r = await fhir('GET', enc, { token: tokens.ana.access_token });
            assert.equal(r.status, 200, `${enc}: ${r.text}`);
            assert.equal(r.body.subject.reference, 'Patient/syn-0001');
        }
    }

    for (const e of theirs.body.entry) {
        const path = `Observation/${e.resource.id}`;
        const r = await fhir('GET', path, { token: tokens.ana.access_token });
        assert.equal(r.status, 403, path);
        assert.equal(r.code, 'patient-mismatch', path);
        assert.doesNotMatch(r.text, /syn-0002/, 'nothing of the other patient');
        assert.doesNotMatch(r.text, new RegExp(e.resource.id), 'not even the id');
        assert.equal(r.body.id, r.cid);
        // the upstream was asked (the check is on the response), for JSON
        const seen = await lab.upstreamSaw(r);
        assert.equal(seen.length, 1, path);
    }

    const xml = await fhir('GET', `Observation/${mine.body.entry[0].resource.id}?_format=xml`,
        { token: tokens.ana.access_token });
    assert.equal(xml.status, 406);
    assert.equal(xml.code, 'format-unsupported', xml.text);
    assert.match(xml.headers.get('content-type'), /fhir\+xml/,
        'the refusal in the format the client asked for');
    assert.deepEqual(await lab.upstreamSaw(xml, { waitMs: 200 }), [],
        'nothing went upstream');
});

test('a read-only token cannot write; the challenge names the scope', async () => {
    const r = await fhir('POST', 'MedicationStatement',
        { token: tokens.ana.access_token, body: medicationStatement('syn-0001') });
    assert.equal(r.status, 403);
    assert.equal(r.code, 'scope-insufficient');
    assert.match(r.headers.get('www-authenticate'),
        /error="insufficient_scope".*scope="[^"]*MedicationStatement[^"]*c/);
});

test('the medication app writes for its patient only; stale If-Match is a typed conflict', async () => {
    const created = [];
    for (const t of [tokens.medrec, tokens.medrecCC]) {
        const r = await fhir('POST', 'MedicationStatement',
            { token: t.access_token, body: medicationStatement('syn-0001') });
        assert.equal(r.status, 201);
        assert.match(r.headers.get('location'), /MedicationStatement\/[^/]+\/_history\//);
        created.push(r.body.id);
    }
    const denied = await fhir('POST', 'MedicationStatement',
        { token: tokens.medrec.access_token, body: medicationStatement('syn-0002') });
    assert.equal(denied.status, 403);
    assert.equal(denied.code, 'patient-mismatch');

    // a conditional update limited to the patient, with a stale version
    const id = created[0];
    const r = await fhir('PUT', `MedicationStatement?_id=${id}&patient=syn-0001`, {
        token: tokens.medrec.access_token,
        body: { ...medicationStatement('syn-0001'), id, status: 'stopped' },
        headers: { 'If-Match': 'W/"not-the-version"' },
    });
    assert.equal(r.status, 412, r.text);
    assert.equal(r.code, 'conflict');
});

test('the medication app writes its own record by id: create, read back, update, patch, delete (pre-read)', async () => {
    const t = tokens.medrec.access_token;
    const c = await fhir('POST', 'MedicationStatement', { token: t, body: medicationStatement('syn-0001') });
    assert.equal(c.status, 201, c.text);
    const id = c.body.id;
    const loc = c.headers.get('location');

    // read back, by id and by the Location the server gave (a vread)
    const back = await fhir('GET', `MedicationStatement/${id}`, { token: t });
    assert.equal(back.status, 200, back.text);
    assert.equal(back.body.subject.reference, 'Patient/syn-0001');
    const path = new URL(loc, `${lab.fhirBase}/`).pathname.replace(/^\/fhir\//, '');
    const vread = await fhir('GET', path, { token: t });
    assert.equal(vread.status, 200, `${path}: ${vread.text}`);

    // update by id: pre-read, then the write pinned to the version read
    const u = await fhir('PUT', `MedicationStatement/${id}`, { token: t,
        body: { ...medicationStatement('syn-0001'), id, status: 'completed' } });
    assert.ok(u.status === 200 || u.status === 201, u.text);
    const seen = await lab.upstreamSaw(u, { min: 2, waitMs: 3000 });
    assert.ok(seen.length >= 2, 'a pre-read, then the write');

    const again = await fhir('GET', `MedicationStatement/${id}`, { token: t });
    assert.equal(again.body.status, 'completed');

    // patch by id (JSON Patch): pre-read, then pinned to the version read
    const p = await fhir('PATCH', `MedicationStatement/${id}`, { token: t,
        contentType: 'application/json-patch+json',
        body: [{ op: 'replace', path: '/status', value: 'stopped' }] });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.status, 'stopped');
    assert.equal(p.body.subject.reference, 'Patient/syn-0001');
    assert.ok((await lab.upstreamSaw(p, { min: 2, waitMs: 3000 })).length >= 2,
        'a pre-read, then the patch');

    // a guard naming another version than the current one: refused before
    // the server, nothing written
    const stale = await fhir('PATCH', `MedicationStatement/${id}`, { token: t,
        refusedByGateway: true,
        contentType: 'application/json-patch+json',
        headers: { 'If-Match': `W/"${again.body.meta.versionId}"` },
        body: [{ op: 'replace', path: '/status', value: 'active' }] });
    assert.equal(stale.status, 409, stale.text);
    assert.equal(stale.code, 'conflict');
    const current = await fhir('GET', `MedicationStatement/${id}`, { token: t });
    assert.equal(current.body.status, 'stopped');

    // a transaction updating it by id: the entry is pre-read and pinned
    // (entry.request.ifMatch), and the server applies it
    const tx = await fhir('POST', '', { token: t, body: {
        resourceType: 'Bundle', type: 'transaction', entry: [{
            resource: { ...medicationStatement('syn-0001'), id, status: 'completed' },
            request: { method: 'PUT', url: `MedicationStatement/${id}` },
        }] } });
    assert.equal(tx.status, 200, tx.text);
    assert.match(tx.body.entry[0].response.status, /^200/);
    const afterTx = await fhir('GET', `MedicationStatement/${id}`, { token: t });
    assert.equal(afterTx.body.status, 'completed');
    assert.equal(Number(afterTx.body.meta.versionId),
                 Number(current.body.meta.versionId) + 1);

    // the same, POSTed to the base as the spec writes it, without the
    // trailing slash: it reaches the gateway as a POST (no 301 that a
    // client replays as GET) and the server applies it
    const bare = await fhir('POST', lab.fhirBase.replace(/\/+$/, ''), { token: t,
        body: {
            resourceType: 'Bundle', type: 'transaction', entry: [{
                resource: { ...medicationStatement('syn-0001'), id, status: 'on-hold' },
                request: { method: 'PUT', url: `MedicationStatement/${id}` },
            }] } });
    assert.equal(bare.status, 200, bare.text);
    assert.equal(bare.body.type, 'transaction-response');
    const afterBare = await fhir('GET', `MedicationStatement/${id}`, { token: t });
    assert.equal(afterBare.body.status, 'on-hold');

    // another patient's record: never written
    const other = await fhir('GET', 'MedicationStatement?patient=syn-0002&_count=1',
        { token: tokens.backend.access_token });
    assert.ok(other.body.entry?.length, 'the seed has another patient\'s statements');
    {
        const oid = other.body.entry[0].resource.id;
        for (const method of ['DELETE', 'PUT']) {
            const w = await fhir(method, `MedicationStatement/${oid}`, { token: t,
                body: method === 'PUT' ? { ...medicationStatement('syn-0001'), id: oid } : undefined });
            assert.equal(w.status, 403, `${method}: ${w.text}`);
            assert.equal(w.code, 'patient-mismatch');
        }
        const still = await fhir('GET', `MedicationStatement/${oid}`, { token: tokens.backend.access_token });
        assert.equal(still.status, 200, 'the other patient\'s record is still there');
        assert.equal(still.body.subject.reference, 'Patient/syn-0002');
    }

    // delete its own
    const d = await fhir('DELETE', `MedicationStatement/${id}`, { token: t });
    assert.ok(d.status === 200 || d.status === 204, d.text);
});

test('an invalid resource from the app comes back as a typed request-invalid', async () => {
    const bad = { ...medicationStatement('syn-0001'), status: 'not-a-status' };
    const r = await fhir('POST', 'MedicationStatement', { token: tokens.medrec.access_token, body: bad });
    assert.equal(r.status, 400);
    assert.equal(r.code, 'request-invalid');
    assert.doesNotMatch(r.text, /at [A-Za-z.]+ \(|node_modules|stack/i);
});

test('granular scopes: a clinician search is narrowed to laboratory results', async () => {
    const r = await fhir('GET', 'Observation?patient=syn-0002', { token: tokens.lee.access_token });
    assert.equal(r.status, 200);
    const seen = await lab.upstreamSaw(r);
    assert.match(seen[0].url, /[?&]category=http:\/\/terminology\.hl7\.org\/CodeSystem\/observation-category%7Claboratory(&|$)/);
    assert.ok(r.body.entry.length > 0);
    for (const e of r.body.entry) {
        assert.ok(e.resource.category.some((c) => c.coding.some((k) => k.code === 'laboratory')));
    }
    const vitals = await fhir('GET', 'Observation?patient=syn-0002&category=vital-signs',
        { token: tokens.lee.access_token });
    assert.equal(vitals.status, 403);
    assert.equal(vitals.code, 'scope-insufficient');
    const cond = await fhir('GET', 'Condition?patient=syn-0002', { token: tokens.lee.access_token });
    assert.equal(cond.status, 403);
});

test('a backend service pages through every patient via the gateway', async () => {
    let r = await fhir('GET', 'Patient?_count=7', { token: tokens.backend.access_token });
    assert.equal(r.status, 200);
    const total = r.body.total;
    const ids = r.body.entry.map((e) => e.resource.id);
    for (let pages = 0; pages < 50; pages++) {
        const next = r.body.link?.find((l) => l.relation === 'next')?.url;
        if (!next) break;
        assert.ok(next.startsWith(`${lab.fhirBase}/`), `next link ${next} points at the gateway`);
        r = await fhir('GET', next, { token: tokens.backend.access_token });
        assert.equal(r.status, 200);
        ids.push(...r.body.entry.map((e) => e.resource.id));
    }
    assert.ok(ids.includes('syn-0001') && ids.includes('syn-empty'));
    assert.equal(new Set(ids).size, ids.length, 'no patient twice');
    if (total !== undefined) assert.equal(ids.length, total);
    const w = await fhir('POST', 'Patient', { token: tokens.backend.access_token,
        body: { resourceType: 'Patient' } });
    assert.equal(w.status, 403, 'system/*.rs does not write');
});

test('token failures are typed 401s with a challenge', async () => {
    const cases = [
        ['missing', undefined, 'token-missing'],
        ['expired', lab.expiredToken(), 'token-expired'],
        ['wrong audience', mint({ aud: 'http://127.0.0.1:1/other' }), 'token-invalid'],
        ['wrong issuer', mint({ iss: 'http://127.0.0.1:1' }), 'token-invalid'],
        ['tampered', (() => {
            const t = tokens.ana.access_token.split('.');
            const p = claims(tokens.ana);
            p.patient = 'syn-0002';
            return `${t[0]}.${Buffer.from(JSON.stringify(p)).toString('base64url')}.${t[2]}`;
        })(), 'token-invalid'],
        ['alg none', (() => {
            const t = tokens.ana.access_token.split('.');
            return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${t[1]}.`;
        })(), 'token-invalid'],
    ];
    for (const [what, token, code] of cases) {
        const r = await fhir('GET', 'Patient/syn-0001', { token });
        assert.equal(r.status, 401, what);
        assert.equal(r.code, code, what);
        assert.match(r.headers.get('www-authenticate'), /^Bearer /, what);
    }
    // a token signed by the lab's ES256 key with a kid the JWKS serves
    const ok = await fhir('GET', 'Patient/syn-0001', { token: mint({}, { alg: 'ES256' }) });
    assert.equal(ok.status, 200);
});

test('upstream errors are typed: not found, and the FHIR server down', async () => {
    const nf = await fhir('GET', 'Patient/no-such-patient', { token: tokens.backend.access_token });
    assert.equal(nf.status, 404);
    assert.equal(nf.code, 'not-found');

    await fixture.cmd('stop-fhir');
    try {
        const r = await fhir('GET', 'Patient?_count=1', { token: tokens.backend.access_token });
        assert.equal(r.status, 503);
        assert.equal(r.code, 'data-unavailable');
        assert.equal(r.body.id, r.cid);
        assert.doesNotMatch(r.text, /nginx|refused|<html/i);
    } finally {
        await fixture.cmd('restart-fhir');
    }
    const back = await fhir('GET', 'Patient/syn-0001', { token: tokens.ana.access_token });
    assert.equal(back.status, 200);
});

test('every response left exactly one audit record that matches it', async () => {
    const cids = responses.map(({ r }) => r.cid);
    assert.equal(new Set(cids).size, cids.length, 'correlation IDs are unique');
    const records = await lab.audit(cids);
    for (const { r, opts } of responses) {
        const mine = records.filter((x) => x.fields.cid === r.cid);
        assert.equal(mine.length, 1, `one record for ${r.method} ${r.url}`);
        const f = mine[0].fields;
        assert.equal(f.status, String(r.status), r.url);
        assert.equal(f.method, r.method);
        assert.equal(f.tenant, 'sandbox');
        if (r.status === 401) {
            assert.equal(f.decision, 'deny');
            assert.equal(f.reason, r.code);
            assert.equal(f.client_id, '');
        } else if (r.status === 403 || r.status === 406 || opts.refusedByGateway) {
            assert.equal(f.decision, 'deny');
            assert.equal(f.reason, r.code);
        } else {
            assert.equal(f.decision, 'allow');
        }
        if (opts.token && r.status !== 401) {
            const c = decodeJwt(opts.token).payload;
            assert.equal(f.client_id, c.client_id);
            assert.equal(f.patient, c.patient || '');
            assert.equal(f.jti, c.jti);
        }
    }
    const exporter = join(top, 'build', 'tools', 'smart-audit-export');
    // the hash chains of the whole stream are intact (exit status 0)
    const { stdout } = await run(exporter, ['--redis', `127.0.0.1:${lab.redisPort}`,
        '--stream', 'smart:audit', '--verify']);
    const m = /^(\d+) records, 0 problems/m.exec(stdout);
    assert.ok(m, stdout);
    assert.ok(Number(m[1]) >= responses.length, stdout);
});

test('persona registrations match what the tour promises', () => {
    assert.equal(persona('patient-app').public, true);
    assert.match(persona('clinician-lab').scope, /user\/Observation\.rs\?category=.*laboratory/);
    assert.match(persona('medrec-app').scope, /patient\/MedicationStatement\.cruds/);
    assert.equal(persona('backend-service').scope, 'system/*.rs');
});
