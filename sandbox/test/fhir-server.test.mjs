// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// The sandbox FHIR server (sandbox/fhir/server.mjs) as the gateway sees it:
// started as a child process on a free port with a small committed seed
// (fixtures/fhir-server-bundle.json: 3 patients, 32 Observations
// (laboratory / vital-signs), 3 MedicationStatements), then driven over HTTP.
//
//   cd /work/main && node --test sandbox/test/fhir-server.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const serverJs = join(here, '..', 'fhir', 'server.mjs');
const fixture = join(here, 'fixtures', 'fhir-server-bundle.json');
const seeded = JSON.parse(readFileSync(fixture, 'utf8')).entry.map((e) => e.resource);

const LAB = 'http://terminology.hl7.org/CodeSystem/observation-category|laboratory';
const GATEWAY = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'gateway.example:8443' };
const STACK = /at [A-Za-z.<>]+ \(|node_modules|stack|\.m?js:\d+/i;

let work;
let child;
let base;              // http://127.0.0.1:PORT/fhir
let port;
let requestLog;
let exited;
const errorTexts = [];  // every 4xx/5xx body, checked for stack traces at the end

function startServer(args) {
    const p = spawn(process.execPath, [serverJs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    const exit = new Promise((resolve) => p.on('exit', (code, signal) => resolve({ code, signal, out, err })));
    const listening = new Promise((resolve, reject) => {
        const check = () => {
            const m = /listening on http:\/\/127\.0\.0\.1:(\d+)(\S*)/.exec(out);
            if (m) resolve({ port: Number(m[1]), path: m[2] });
        };
        p.stdout.on('data', check);
        exit.then(({ code }) => reject(new Error(`server exited (${code}) before listening:\n${out}\n${err}`)));
    });
    listening.catch(() => {});      // only an error for callers that wait for it
    return { process: p, exit, listening, output: () => ({ out, err }) };
}

async function http(method, path, { headers = {}, body, json = true } = {}) {
    const url = /^https?:/.test(path) ? path : `${base}/${path}`;
    const h = { ...headers };
    let payload = body;
    if (body !== undefined && typeof body !== 'string') {
        payload = JSON.stringify(body);
        h['Content-Type'] ??= 'application/fhir+json';
    }
    const res = await fetch(url, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed;
    if (json && text) {
        try {
            parsed = JSON.parse(text);
        } catch {
            parsed = undefined;
        }
    }
    if (res.status >= 400) errorTexts.push(`${method} ${path}: ${text}`);
    return { status: res.status, headers: res.headers, text, body: parsed };
}

function assertOutcome(r, status, what) {
    assert.equal(r.status, status, `${what}: ${r.text}`);
    assert.equal(r.body?.resourceType, 'OperationOutcome', what);
    assert.ok(r.body.issue.length > 0, what);
    assert.equal(r.body.issue[0].severity, 'error', what);
    assert.match(r.headers.get('content-type'), /^application\/fhir\+json; charset=utf-8$/, what);
    assert.doesNotMatch(r.text, STACK, what);
}

const ids = (bundle) => (bundle.entry ?? []).filter((e) => e.search?.mode !== 'outcome').map((e) => e.resource.id);
const expected = (pred) => seeded.filter(pred).map((r) => r.id).sort();
const isLab = (r) => r.category?.some((c) => c.coding?.some((k) => k.code === 'laboratory'));

before(async () => {
    work = mkdtempSync(join(tmpdir(), 'fhir-server-test-'));
    requestLog = join(work, 'requests.ndjson');
    const s = startServer(['--port', '0', '--seed', fixture, '--request-log', requestLog,
        '--max-body-bytes', '200000', '--quiet']);
    child = s.process;
    exited = s.exit;
    const where = await s.listening;
    port = where.port;
    assert.equal(where.path, '/fhir');
    base = `http://127.0.0.1:${port}/fhir`;
});

after(async () => {
    if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
    }
    if (work) rmSync(work, { recursive: true, force: true });
});

describe('readiness and capabilities', () => {
    test('healthz reports the seeded resources', async () => {
        const r = await http('GET', `http://127.0.0.1:${port}/healthz`);
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, { status: 'ok', resources: seeded.length });
    });

    test('metadata is an R4 CapabilityStatement with types, interactions and search params', async () => {
        const r = await http('GET', 'metadata', { headers: GATEWAY });
        assert.equal(r.status, 200);
        assert.match(r.headers.get('content-type'), /^application\/fhir\+json; charset=utf-8$/);
        const cs = r.body;
        assert.equal(cs.resourceType, 'CapabilityStatement');
        assert.equal(cs.fhirVersion, '4.0.1');
        assert.ok(cs.format.includes('json'));
        assert.equal(cs.kind, 'instance');
        assert.equal(cs.implementation.url, 'https://gateway.example:8443/fhir');
        const rest = cs.rest[0];
        assert.equal(rest.mode, 'server');
        assert.ok(rest.interaction.some((i) => i.code === 'transaction'));
        const obs = rest.resource.find((x) => x.type === 'Observation');
        for (const code of ['read', 'vread', 'update', 'patch', 'delete', 'create', 'search-type', 'history-instance']) {
            assert.ok(obs.interaction.some((i) => i.code === code), code);
        }
        const params = obs.searchParam.map((p) => p.name);
        for (const p of ['_id', 'patient', 'subject', 'category', 'code', 'date']) assert.ok(params.includes(p), p);
        assert.ok(!params.includes('value-quantity'), 'quantity search is not offered');
        assert.ok(rest.resource.some((x) => x.type === 'MedicationStatement'));
        assert.equal(rest.security, undefined, 'SMART security is the gateway\'s business');
    });
});

describe('read', () => {
    test('read returns the resource with ETag and Last-Modified; If-None-Match gives 304', async () => {
        const r = await http('GET', 'Patient/fx-alice');
        assert.equal(r.status, 200);
        assert.equal(r.body.id, 'fx-alice');
        assert.equal(r.body.meta.versionId, '1');
        assert.equal(r.headers.get('etag'), 'W/"1"');
        assert.equal(r.headers.get('last-modified'), new Date(r.body.meta.lastUpdated).toUTCString());
        assert.match(r.headers.get('content-type'), /^application\/fhir\+json; charset=utf-8$/);
        const nm = await http('GET', 'Patient/fx-alice', { headers: { 'If-None-Match': 'W/"1"' } });
        assert.equal(nm.status, 304);
        assert.equal(nm.text, '');
        const other = await http('GET', 'Patient/fx-alice', { headers: { 'If-None-Match': 'W/"9"' } });
        assert.equal(other.status, 200);
    });

    test('vread', async () => {
        const r = await http('GET', 'Observation/fx-obs-alice-lab-01/_history/1');
        assert.equal(r.status, 200);
        assert.equal(r.body.meta.versionId, '1');
        assertOutcome(await http('GET', 'Observation/fx-obs-alice-lab-01/_history/7'), 404, 'unknown version');
    });

    test('unknown id is a 404 OperationOutcome; unknown type and bad ids are 400', async () => {
        const r = await http('GET', 'Patient/no-such-patient');
        assertOutcome(r, 404, 'unknown id');
        assert.equal(r.body.issue[0].code, 'not-found');
        assertOutcome(await http('GET', 'Foo/1'), 400, 'unknown type');
        assertOutcome(await http('GET', 'Patient/bad%20id'), 400, 'bad id');
        assertOutcome(await http('GET', 'nothing/here/at/all/really'), 400, 'unknown type path');
    });
});

describe('search', () => {
    test('patient=<id>, patient=Patient/<id> and subject=Patient/<id> find the same', async () => {
        const want = expected((r) => r.resourceType === 'Observation' && r.subject?.reference === 'Patient/fx-alice');
        assert.equal(want.length, 25);
        for (const q of ['patient=fx-alice', 'patient=Patient/fx-alice', 'subject=Patient/fx-alice',
            'subject=fx-alice', 'subject:Patient=fx-alice']) {
            const r = await http('GET', `Observation?${q}&_count=100`);
            assert.equal(r.status, 200, q);
            assert.equal(r.body.resourceType, 'Bundle');
            assert.equal(r.body.type, 'searchset');
            assert.equal(r.body.total, 25, q);
            assert.deepEqual(ids(r.body).sort(), want, q);
            for (const e of r.body.entry) {
                assert.equal(e.search.mode, 'match');
                assert.equal(e.fullUrl, `${base}/Observation/${e.resource.id}`);
            }
        }
        const ms = await http('GET', 'MedicationStatement?patient=fx-alice');
        assert.deepEqual(ids(ms.body).sort(), ['fx-ms-alice-lisinopril', 'fx-ms-alice-metformin']);
        const none = await http('GET', 'Observation?patient=fx-carol');
        assert.equal(none.status, 200);
        assert.equal(none.body.total, 0);
        assert.equal(none.body.entry, undefined);
    });

    test('category= by code and by system|code, combined with patient', async () => {
        const labs = expected((r) => r.resourceType === 'Observation' && isLab(r));
        const byCode = await http('GET', 'Observation?category=laboratory&_count=100');
        assert.deepEqual(ids(byCode.body).sort(), labs);
        const bySystem = await http('GET', `Observation?category=${encodeURIComponent(LAB)}&_count=100`);
        assert.deepEqual(ids(bySystem.body).sort(), labs);
        // what the gateway sends for a patient-scoped app: its parameters, then patient=
        const narrowed = await http('GET', 'Observation?category=laboratory&_count=50&patient=fx-bob');
        assert.deepEqual(ids(narrowed.body).sort(),
            expected((r) => r.resourceType === 'Observation' && isLab(r) && r.subject.reference === 'Patient/fx-bob'));
        const vitals = await http('GET', 'Observation?patient=fx-bob&category=vital-signs');
        assert.equal(vitals.body.total, 3);
    });

    test('_id', async () => {
        const r = await http('GET', 'Observation?_id=fx-obs-alice-lab-03,fx-obs-bob-vs-01');
        assert.deepEqual(ids(r.body).sort(), ['fx-obs-alice-lab-03', 'fx-obs-bob-vs-01']);
        const both = await http('GET', 'Observation?_id=fx-obs-alice-lab-03&patient=fx-bob');
        assert.equal(both.body.total, 0, '_id and patient are both applied');
    });

    test('_count paging: following next links to the end, links built from the forwarded host', async () => {
        let r = await http('GET', 'Observation?patient=fx-alice&_count=10', { headers: GATEWAY });
        assert.equal(r.status, 200);
        assert.equal(r.body.total, 25);
        const got = [...ids(r.body)];
        const self = r.body.link.find((l) => l.relation === 'self').url;
        assert.equal(self, 'https://gateway.example:8443/fhir/Observation?patient=fx-alice&_count=10');
        let pages = 1;
        for (;;) {
            for (const l of r.body.link) {
                assert.ok(l.url.startsWith('https://gateway.example:8443/fhir/Observation?'), l.url);
            }
            const next = r.body.link.find((l) => l.relation === 'next')?.url;
            if (!next) break;
            assert.match(next, /[?&]patient=fx-alice(&|$)/, 'next repeats the search');
            // the gateway forwards the link's path and query upstream
            const u = new URL(next);
            r = await http('GET', `${base}${u.pathname.slice('/fhir'.length)}${u.search}`, { headers: GATEWAY });
            assert.equal(r.status, 200);
            assert.ok(r.body.link.some((l) => l.relation === 'previous'));
            assert.ok(r.body.link.some((l) => l.relation === 'first'));
            got.push(...ids(r.body));
            pages++;
        }
        assert.equal(pages, 3);
        assert.equal(got.length, 25);
        assert.equal(new Set(got).size, 25, 'nothing twice');
        assert.deepEqual([...got].sort(),
            expected((r2) => r2.resourceType === 'Observation' && r2.subject.reference === 'Patient/fx-alice'));
    });

    test('links fall back to the Host header; default page size 20, _count capped at 100', async () => {
        const r = await http('GET', 'Observation');
        assert.equal(r.body.total, 32);
        assert.equal(r.body.entry.length, 20);
        assert.match(r.body.link.find((l) => l.relation === 'next').url,
            new RegExp(`^http://127\\.0\\.0\\.1:${port}/fhir/Observation\\?_count=20&_offset=20$`));
        const big = await http('GET', 'Observation?_count=5000');
        assert.equal(big.body.entry.length, 32);
        assert.match(big.body.link.find((l) => l.relation === 'self').url, /_count=100/);
        assertOutcome(await http('GET', 'Observation?_count=ten'), 400, 'bad _count');
        const count = await http('GET', 'Observation?_summary=count');
        assert.equal(count.body.total, 32);
        assert.equal(count.body.entry, undefined);
    });

    test('POST _search: form body and URL parameters combined', async () => {
        const r = await http('POST', 'Observation/_search?category=laboratory', {
            headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...GATEWAY },
            body: 'patient=fx-alice&_count=5',
        });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.body.total, 12);
        assert.equal(r.body.entry.length, 5);
        for (const e of r.body.entry) {
            assert.ok(isLab(e.resource));
            assert.equal(e.resource.subject.reference, 'Patient/fx-alice');
        }
        const next = r.body.link.find((l) => l.relation === 'next').url;
        assert.equal(next, 'https://gateway.example:8443/fhir/Observation?category=laboratory&patient=fx-alice&_count=5&_offset=5');
        const notForm = await http('POST', 'Observation/_search', { body: { patient: 'fx-alice' } });
        assertOutcome(notForm, 415, 'JSON body on _search');
    });

    test('unknown or unsupported parameters are refused, not ignored', async () => {
        assertOutcome(await http('GET', 'Observation?patient=fx-alice&colour=blue'), 400, 'unknown parameter');
        assertOutcome(await http('GET', 'Observation?value-quantity=gt5'), 400, 'quantity parameter');
        assertOutcome(await http('GET', 'Observation?subject.name=Alice'), 400, 'chain');
        assertOutcome(await http('GET', 'Observation?patient='), 400, 'empty value');
        const lenient = await http('GET', 'Observation?patient=fx-bob&colour=blue',
            { headers: { Prefer: 'handling=lenient' } });
        assert.equal(lenient.status, 200);
        assert.equal(lenient.body.total, 7);
        assert.ok(lenient.body.entry.some((e) => e.search.mode === 'outcome'));
    });

    test('_include, _revinclude and compartment search', async () => {
        const inc = await http('GET', 'MedicationStatement?patient=fx-bob&_include=MedicationStatement:subject');
        assert.deepEqual(inc.body.entry.map((e) => `${e.search.mode}:${e.resource.resourceType}/${e.resource.id}`),
            ['match:MedicationStatement/fx-ms-bob-albuterol', 'include:Patient/fx-bob']);
        const rev = await http('GET', 'Patient?_id=fx-bob&_revinclude=MedicationStatement:subject');
        assert.equal(rev.body.total, 1);
        assert.equal(rev.body.entry.filter((e) => e.search.mode === 'include').length, 1);
        const comp = await http('GET', 'Patient/fx-bob/Observation?category=laboratory');
        assert.equal(comp.status, 200);
        assert.equal(comp.body.total, 4);
    });
});

describe('writes', () => {
    const medStatement = (patient) => ({
        resourceType: 'MedicationStatement',
        status: 'active',
        medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197361' }] },
        subject: { reference: `Patient/${patient}` },
    });
    let created;

    test('create: 201 with Location, ETag and Last-Modified; the server assigns the id', async () => {
        const r = await http('POST', 'MedicationStatement', {
            headers: GATEWAY,
            body: { ...medStatement('fx-alice'), id: 'fx-alice', meta: { versionId: '99' } },
        });
        assert.equal(r.status, 201, r.text);
        created = r.body;
        assert.notEqual(created.id, 'fx-alice');
        assert.equal(created.meta.versionId, '1');
        assert.equal(r.headers.get('location'),
            `https://gateway.example:8443/fhir/MedicationStatement/${created.id}/_history/1`);
        assert.equal(r.headers.get('etag'), 'W/"1"');
        assert.ok(r.headers.get('last-modified'));
        const back = await http('GET', `MedicationStatement/${created.id}`);
        assert.equal(back.status, 200);
        assert.equal((await http('GET', 'Patient/fx-alice')).status, 200, 'the patient is untouched');
        const search = await http('GET', 'MedicationStatement?patient=fx-alice');
        assert.equal(search.body.total, 3);
    });

    test('update with a matching If-Match: 200 and the next version; stale If-Match: 412', async () => {
        const put = await http('PUT', `MedicationStatement/${created.id}`, {
            headers: { 'If-Match': 'W/"1"' },
            body: { ...medStatement('fx-alice'), id: created.id, status: 'completed' },
        });
        assert.equal(put.status, 200, put.text);
        assert.equal(put.body.status, 'completed');
        assert.equal(put.headers.get('etag'), 'W/"2"');
        assert.match(put.headers.get('location'), new RegExp(`/MedicationStatement/${created.id}/_history/2$`));

        const stale = await http('PUT', `MedicationStatement/${created.id}`, {
            headers: { 'If-Match': 'W/"1"' },
            body: { ...medStatement('fx-alice'), id: created.id, status: 'stopped' },
        });
        assertOutcome(stale, 412, 'stale If-Match');
        // a conditional update limited to the patient (what the gateway forwards)
        const cond = await http('PUT', `MedicationStatement?_id=${created.id}&patient=fx-alice`, {
            headers: { 'If-Match': 'W/"not-the-version"' },
            body: { ...medStatement('fx-alice'), id: created.id, status: 'stopped' },
        });
        assertOutcome(cond, 412, 'stale If-Match on a conditional update');
        const condOk = await http('PUT', `MedicationStatement?_id=${created.id}&patient=fx-alice`, {
            headers: { 'If-Match': 'W/"2"' },
            body: { ...medStatement('fx-alice'), id: created.id, status: 'stopped' },
        });
        assert.equal(condOk.status, 200, condOk.text);
        assert.equal(condOk.headers.get('etag'), 'W/"3"');
        const still = await http('GET', `MedicationStatement/${created.id}`);
        assert.equal(still.body.status, 'stopped');
    });

    test('update as create is 201', async () => {
        const r = await http('PUT', 'Patient/fx-new', { body: { resourceType: 'Patient', id: 'fx-new', active: false } });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.headers.get('etag'), 'W/"1"');
    });

    test('patch (JSON Patch) with If-Match', async () => {
        const ok = await http('PATCH', 'Patient/fx-new', {
            headers: { 'Content-Type': 'application/json-patch+json', 'If-Match': 'W/"1"' },
            body: JSON.stringify([{ op: 'replace', path: '/active', value: true }]),
        });
        assert.equal(ok.status, 200, ok.text);
        assert.equal(ok.body.active, true);
        assert.equal(ok.headers.get('etag'), 'W/"2"');
        const stale = await http('PATCH', 'Patient/fx-new', {
            headers: { 'Content-Type': 'application/json-patch+json', 'If-Match': 'W/"1"' },
            body: JSON.stringify([{ op: 'replace', path: '/active', value: false }]),
        });
        assertOutcome(stale, 412, 'stale patch');
        const badResult = await http('PATCH', 'Patient/fx-new', {
            headers: { 'Content-Type': 'application/json-patch+json' },
            body: JSON.stringify([{ op: 'add', path: '/gender', value: 'robot' }]),
        });
        assertOutcome(badResult, 400, 'patch producing an invalid resource');
    });

    test('delete, then read is 410 Gone and history shows the delete', async () => {
        assertOutcome(await http('DELETE', 'Patient/fx-new', { headers: { 'If-Match': 'W/"1"' } }), 412, 'stale delete');
        const del = await http('DELETE', 'Patient/fx-new', { headers: { 'If-Match': 'W/"2"' } });
        assert.equal(del.status, 200);
        assert.equal(del.body.resourceType, 'OperationOutcome');
        const gone = await http('GET', 'Patient/fx-new');
        assertOutcome(gone, 410, 'deleted');
        const hist = await http('GET', 'Patient/fx-new/_history');
        assert.equal(hist.status, 200);
        assert.equal(hist.body.type, 'history');
        assert.deepEqual(hist.body.entry.map((e) => e.request.method), ['DELETE', 'PUT', 'POST']);
    });

    test('invalid resources and bodies are 400 OperationOutcomes', async () => {
        const cases = [
            ['invalid code', 'POST', 'MedicationStatement', { ...medStatement('fx-alice'), status: 'not-a-status' }],
            ['unknown property', 'POST', 'Patient', { resourceType: 'Patient', colour: 'blue' }],
            ['bad date', 'POST', 'Patient', { resourceType: 'Patient', birthDate: '31/12/1990' }],
            ['missing required element', 'POST', 'Observation', { resourceType: 'Observation', code: { text: 'x' } }],
            ['unknown resource type', 'POST', 'Patient', { resourceType: 'Foo' }],
            ['resourceType does not match the URL', 'POST', 'MedicationStatement', { resourceType: 'Patient' }],
            ['id does not match the URL', 'PUT', 'Patient/fx-alice', { resourceType: 'Patient', id: 'fx-bob' }],
            ['no id on update', 'PUT', 'Patient/fx-alice', { resourceType: 'Patient' }],
            ['not JSON', 'POST', 'Patient', '{"resourceType": "Patient",'],
            ['JSON but not an object', 'POST', 'Patient', '[1, 2]'],
            ['patch changing the id', 'PATCH', 'Patient/fx-bob', '[{"op":"replace","path":"/id","value":"x"}]'],
        ];
        for (const [what, method, path, body] of cases) {
            const headers = { 'Content-Type': method === 'PATCH' ? 'application/json-patch+json' : 'application/fhir+json' };
            const r = await http(method, path, { body, headers });
            assertOutcome(r, 400, what);
        }
        const unknownTypeUrl = await http('POST', 'Foo', { body: { resourceType: 'Foo' } });
        assertOutcome(unknownTypeUrl, 400, 'unknown type in the URL');
        const xml = await http('POST', 'Patient', { headers: { 'Content-Type': 'application/fhir+xml' }, body: '<Patient/>' });
        assertOutcome(xml, 415, 'XML body');
    });

    test('a body over the limit is 413', async () => {
        const r = await http('POST', 'Patient', {
            body: { resourceType: 'Patient', name: [{ text: 'x'.repeat(300000) }] },
        });
        assertOutcome(r, 413, 'too large');
    });

    test('transaction: all or nothing; batch: entry by entry', async () => {
        const before = (await http('GET', `http://127.0.0.1:${port}/healthz`)).body.resources;
        const tx = await http('POST', '', {
            body: {
                resourceType: 'Bundle',
                type: 'transaction',
                entry: [
                    { resource: { resourceType: 'Patient', active: true }, request: { method: 'POST', url: 'Patient' } },
                    { resource: { resourceType: 'Patient', id: 'fx-carol', gender: 'robot' },
                        request: { method: 'PUT', url: 'Patient/fx-carol' } },
                ],
            },
        });
        assertOutcome(tx, 400, 'failed transaction');
        assert.equal((await http('GET', `http://127.0.0.1:${port}/healthz`)).body.resources, before, 'rolled back');
        const batch = await http('POST', '', {
            body: {
                resourceType: 'Bundle',
                type: 'batch',
                entry: [
                    { request: { method: 'GET', url: 'Patient/fx-bob' } },
                    { request: { method: 'GET', url: 'Patient/nobody' } },
                ],
            },
        });
        assert.equal(batch.status, 200);
        assert.equal(batch.body.type, 'batch-response');
        assert.deepEqual(batch.body.entry.map((e) => e.response.status), ['200 OK', '404 Not Found']);
    });

    test('unsupported methods and operations', async () => {
        const r = await http('POST', 'Patient/fx-alice', { body: { resourceType: 'Patient' } });
        assertOutcome(r, 405, 'POST on an instance');
        assert.match(r.headers.get('allow'), /GET/);
        assertOutcome(await http('OPTIONS', 'Patient'), 405, 'OPTIONS');
        assertOutcome(await http('DELETE', ''), 405, 'DELETE on the base');
        assertOutcome(await http('GET', 'Patient/fx-alice/$validate'), 400, 'unknown operation');
        assertOutcome(await http('GET', 'Patient/fx-alice', { headers: { Accept: 'application/fhir+xml' } }), 406, 'XML');
    });
});

describe('request log and errors', () => {
    test('one NDJSON line per request, with the URL as received and the correlation id', async () => {
        const url = '/fhir/Observation?category=laboratory&_count=50&patient=fx-alice';
        const r = await http('GET', `http://127.0.0.1:${port}${url}`, { headers: { 'X-Correlation-ID': 'test-cid-1' } });
        assert.equal(r.status, 200);
        let line;
        for (let i = 0; i < 50 && !line; i++) {
            line = readFileSync(requestLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l))
                .find((l) => l.cid === 'test-cid-1');
            if (!line) await new Promise((res) => setTimeout(res, 20));
        }
        assert.ok(line, 'the request was logged');
        assert.equal(line.method, 'GET');
        assert.equal(line.url, url);
        assert.equal(line.status, 200);
        assert.ok(!Number.isNaN(Date.parse(line.t)));
        const all = readFileSync(requestLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
        assert.ok(all.some((l) => l.url === '/fhir/Patient/no-such-patient' && l.status === 404));
        assert.ok(all.some((l) => l.method === 'POST' && l.url === '/fhir/Observation/_search?category=laboratory'));
        assert.ok(!all.some((l) => l.url === '/healthz'), 'the readiness probe is not logged');
    });

    test('no stack traces in any error response', () => {
        assert.ok(errorTexts.length > 20);
        for (const t of errorTexts) assert.doesNotMatch(t, STACK, t);
    });
});

describe('seed failures and shutdown', () => {
    test('a bad seed entry stops the server with the entry and the reason', async () => {
        const bad = join(work, 'bad-seed.json');
        writeFileSync(bad, JSON.stringify({
            resourceType: 'Bundle',
            type: 'collection',
            entry: [
                { resource: { resourceType: 'Patient', id: 'ok-1' } },
                { resource: { resourceType: 'Observation', id: 'obs-bad', status: 'sort-of', code: { text: 'x' } } },
            ],
        }));
        const s = startServer(['--port', '0', '--seed', bad]);
        const { code, err } = await s.exit;
        assert.equal(code, 1);
        assert.match(err, /entry 1 \(Observation\/obs-bad\)/);
        assert.match(err, /sort-of/);
    });

    test('SIGTERM shuts the server down cleanly', async () => {
        child.kill('SIGTERM');
        const { code } = await exited;
        assert.equal(code, 0);
    });
});
