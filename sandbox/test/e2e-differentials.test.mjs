// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// Parsing differentials end to end (issue 12, docs/security.md): each
// request below was shown to reach another patient's data through the
// gateway.  For the reads, the FHIR server is first asked directly (the
// witness that it reads the request differently from the gateway's
// reading), then the gateway must refuse the same request before the
// upstream sees it.  The sandbox server is not changed to make this pass:
// it stands in for real servers.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { medicationStatement } from '../lib/lab.mjs';
import { startLab } from './lab-fixture.mjs';

let fixture;
let lab;
const t = {};

function bundle(type, entries) {
    return { resourceType: 'Bundle', type, entry: entries };
}

async function direct(method, path, body, headers = {}) {
    const res = await fetch(`${lab.env.UPSTREAM_URL}/${path}`, {
        method,
        headers: {
            Accept: 'application/fhir+json',
            ...(body ? { 'Content-Type': 'application/fhir+json' } : {}),
            ...headers,
        },
        body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: await res.json().catch(() => undefined) };
}

function patientsIn(searchset) {
    const refs = new Set();
    for (const e of searchset.entry || []) {
        const r = e.resource || {};
        const ref = (r.subject && r.subject.reference)
            || (r.patient && r.patient.reference);
        if (ref) refs.add(ref);
    }
    return refs;
}

async function refused(r, status, code) {
    assert.equal(r.status, status, `${r.method} ${r.url}: ${r.text}`);
    assert.equal(r.code, code);
    assert.deepEqual(await lab.upstreamSaw(r, { waitMs: 200 }), [],
        'the upstream never saw it');
}

before(async () => {
    fixture = await startLab('differentials');
    lab = fixture.lab;
    t.ana = (await lab.token('patient-app')).access_token;
    t.lee = (await lab.token('clinician-lab')).access_token;
    t.medrec = (await lab.token('medrec-app')).access_token;
    t.backend = (await lab.token('backend-service')).access_token;
});

after(async () => {
    if (fixture) await fixture.stop();
});

test('finding 2: a batch _search entry with its criteria in the resource', async () => {
    const b = bundle('batch', [{
        request: { method: 'POST', url: 'MedicationStatement/_search?patient=syn-0001' },
        resource: {},
    }]);

    // the witness: the server drops the url's query and searches everyone
    const w = await direct('POST', '', b);
    assert.equal(w.status, 200);
    const seen = patientsIn(w.body.entry[0].resource);
    assert.ok([...seen].some((p) => p !== 'Patient/syn-0001'),
        `the server read the entry differently: ${[...seen].join(' ')}`);

    await refused(await lab.fhir('POST', '', { token: t.ana, body: b }),
        400, 'request-invalid');

    // without a resource the server drops the url's query all the same
    // (no form body in a bundle): refused too
    const bare = bundle('batch', [{
        request: { method: 'POST', url: 'MedicationStatement/_search?patient=syn-0001' },
    }]);
    const w2 = await direct('POST', '', bare);
    assert.ok([...patientsIn(w2.body.entry[0].resource)]
        .some((p) => p !== 'Patient/syn-0001'));
    await refused(await lab.fhir('POST', '', { token: t.ana, body: bare }),
        400, 'request-invalid');

    // a GET entry is decided on its url and passes
    const ok = await lab.fhir('POST', '', {
        token: t.ana,
        body: bundle('batch', [{
            request: { method: 'GET', url: 'MedicationStatement?patient=syn-0001' },
        }]),
    });
    assert.equal(ok.status, 200, ok.text);
    for (const p of patientsIn(ok.body.entry[0].resource)) {
        assert.equal(p, 'Patient/syn-0001');
    }
});

test('finding 3: a conditional create whose criteria the server never reads', async () => {
    const other = await lab.fhir('GET', 'MedicationStatement?patient=syn-0002&_count=1',
        { token: t.backend });
    assert.equal(other.status, 200);
    const id = other.body.entry[0].resource.id;

    // the witness: If-None-Exist alone decides, the URL query is ignored
    const w = await direct('POST', 'MedicationStatement?patient=syn-0001',
        medicationStatement('syn-0001'), { 'If-None-Exist': `_id=${id}` });
    assert.equal(w.status, 200);
    assert.equal(w.body.id, id, 'the server returned the other patient\'s record');

    await refused(await lab.fhir('POST', 'MedicationStatement?patient=syn-0001', {
        token: t.medrec,
        body: medicationStatement('syn-0001'),
        headers: { 'If-None-Exist': `_id=${id}` },
    }), 400, 'request-invalid');

    await refused(await lab.fhir('POST', 'MedicationStatement', {
        token: t.medrec,
        body: medicationStatement('syn-0001'),
        headers: { 'If-None-Exist': `patient=syn-0001&status=?_id=${id}` },
    }), 400, 'request-invalid');

    await refused(await lab.fhir('POST', '', {
        token: t.medrec,
        body: bundle('transaction', [{
            request: { method: 'POST', url: 'MedicationStatement',
                       ifNoneExist: `_id=${id}?&patient=syn-0001` },
            resource: medicationStatement('syn-0001'),
        }]),
    }), 400, 'request-invalid');

    // a conditional create limited to the patient still works
    const ok = await lab.fhir('POST', 'MedicationStatement', {
        token: t.medrec,
        body: medicationStatement('syn-0001'),
        headers: { 'If-None-Exist': 'patient=syn-0001&status=unknown' },
    });
    assert.ok(ok.status === 200 || ok.status === 201, ok.text);
});

test('finding 4: a conditional patch with a second "?"', async () => {
    const other = await lab.fhir('GET', 'MedicationStatement?patient=syn-0002&_count=1',
        { token: t.backend });
    const id = other.body.entry[0].resource.id;
    const patch = Buffer.from(JSON.stringify(
        [{ op: 'replace', path: '/status', value: 'entered-in-error' }])).toString('base64');

    await refused(await lab.fhir('POST', '', {
        token: t.medrec,
        body: bundle('transaction', [{
            request: { method: 'PATCH', url: `MedicationStatement?_id=${id}?&patient=syn-0001` },
            resource: { resourceType: 'Binary', contentType: 'application/json-patch+json',
                        data: patch },
        }]),
    }), 400, 'request-invalid');

    const after = await lab.fhir('GET', `MedicationStatement/${id}`, { token: t.backend });
    assert.notEqual(after.body.status, 'entered-in-error', 'the record is unchanged');
});

test('finding 5: :iterate includes under a patient scope', async () => {
    for (const path of [
        'Patient?_id=syn-0001&_include=Patient:organization&_revinclude:iterate=Patient:organization',
        'Observation?patient=syn-0001&_include=Observation:performer&_revinclude:iterate=Observation:performer',
        'Patient/syn-0001/Patient?_include=Patient:organization&_revinclude:iterate=Patient:organization',
    ]) {
        await refused(await lab.fhir('GET', path, { token: t.ana }), 403, 'scope-insufficient');
    }
});

test('finding 6: a system search with _revinclude follows the type-level rule', async () => {
    // issue 14: forwarded, and every included record that is not the
    // patient's is withheld by the response check
    for (const path of [
        '?_type=Organization&_revinclude=Observation:performer',
        '?_type=Practitioner&_revinclude=Patient:general-practitioner',
    ]) {
        const r = await lab.fhir('GET', path, { token: t.ana });
        assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 300)}`);
        const others = (r.text.match(/Patient\/[A-Za-z0-9.-]+/g) || [])
            .filter((p) => p !== 'Patient/syn-0001');
        assert.deepEqual(others, [], `${path}: nothing of another patient`);
    }
});

test('finding 8: _has into a granular-restricted type is no existence probe', async () => {
    await refused(await lab.fhir('GET',
        'Patient?_has:Observation:patient:category=vital-signs', { token: t.lee }),
    403, 'scope-insufficient');

    // the clinician's own lab search still works
    const ok = await lab.fhir('GET', 'Observation?patient=syn-0001&category='
        + encodeURIComponent('http://terminology.hl7.org/CodeSystem/observation-category|laboratory'),
    { token: t.lee });
    assert.equal(ok.status, 200, ok.text);
});
