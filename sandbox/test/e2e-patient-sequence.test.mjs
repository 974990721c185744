// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// A US Core single-patient sequence through the gateway (issue 14), as a
// patient app makes it: search each type by patient, read, vread and
// _history each result, follow each reference, _revinclude Provenance.
// The same requests are made by a backend service (system/*.rs) as the
// witness of what the FHIR server holds.  Every request the server answers
// with the patient's own data must succeed for the patient app; no answer
// to the patient app may carry another patient's reference.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { startLab } from './lab-fixture.mjs';

const PATIENT = 'syn-0001';
const TYPES = ['AllergyIntolerance', 'CarePlan', 'CareTeam', 'Condition',
    'Device', 'DiagnosticReport', 'DocumentReference', 'Encounter', 'Goal',
    'Immunization', 'MedicationRequest', 'MedicationStatement', 'Observation',
    'Procedure', 'ServiceRequest'];

let fixture;
let lab;
const t = {};
const tally = { legit: 0, refused: [], foreign: [] };

before(async () => {
    fixture = await startLab('patient-sequence');
    lab = fixture.lab;
    t.ana = (await lab.token('patient-app')).access_token;
    t.backend = (await lab.token('backend-service')).access_token;
});

after(async () => {
    if (fixture) await fixture.stop();
});

// Every "Type/id" reference string in a resource, relative ones only.
function references(v, out = new Set()) {
    if (Array.isArray(v)) {
        for (const x of v) references(x, out);
    } else if (v && typeof v === 'object') {
        if (typeof v.reference === 'string'
            && /^[A-Z][A-Za-z]+\/[A-Za-z0-9.-]{1,64}$/.test(v.reference)) {
            out.add(v.reference);
        }
        for (const k of Object.keys(v)) references(v[k], out);
    }
    return out;
}

// Another patient named anywhere in a response body.
function foreignPatients(text) {
    const m = text.match(/Patient\/[A-Za-z0-9.-]+/g) || [];
    return m.filter((r) => r !== `Patient/${PATIENT}`);
}

// One request made by both: the witness decides whether it is legitimate
// (the server answers with this patient's own data), the app must then
// get it, and never anything of another patient.
async function both(path, { own }) {
    const w = await lab.fhir('GET', path, { token: t.backend });
    const a = await lab.fhir('GET', path, { token: t.ana });
    if (a.status === 200) {
        const f = foreignPatients(a.text);
        if (f.length) tally.foreign.push(`${path}: ${f.slice(0, 3).join(' ')}`);
    }
    if (w.status === 200 && own(w)) {
        tally.legit++;
        if (a.status !== 200) tally.refused.push(`${path}: ${a.status} ${a.code}`);
    }
    return { w, a };
}

function ownResource(r) {
    const refs = references(r.body);
    const patients = [...refs].filter((x) => x.startsWith('Patient/'));
    return r.body?.resourceType === 'Patient' ? r.body.id === PATIENT
        : patients.length === 0 || patients.includes(`Patient/${PATIENT}`);
}

function ownBundle(r) {
    return (r.body?.entry || []).every((e) => !e.resource
        || foreignPatients(JSON.stringify(e.resource)).length === 0);
}

test('a patient app\'s US Core sequence: nothing legitimate refused, nothing foreign released', async () => {
    const followed = new Set();

    for (const type of TYPES) {
        const s = await both(`${type}?patient=${PATIENT}&_count=5`, { own: ownBundle });
        for (const e of s.w.body?.entry || []) {
            const res = e.resource;
            if (!res?.id) continue;
            const id = `${res.resourceType}/${res.id}`;
            await both(id, { own: ownResource });
            if (res.meta?.versionId) {
                await both(`${id}/_history/${res.meta.versionId}`, { own: ownResource });
            }
            await both(`${id}/_history`, { own: ownBundle });
            for (const ref of references(res)) {
                if (followed.has(ref) || ref.startsWith('Patient/')) continue;
                followed.add(ref);
                await both(ref, { own: ownResource });
            }
        }
        await both(`${type}?patient=${PATIENT}&_count=5&_revinclude=Provenance:target`,
            { own: ownBundle });
    }
    await both(`Patient/${PATIENT}`, { own: ownResource });

    console.log(`legitimate requests: ${tally.legit}, refused: ${tally.refused.length}, `
        + `foreign releases: ${tally.foreign.length}`);
    assert.ok(tally.legit > 50, `the sequence made ${tally.legit} legitimate requests`);
    assert.deepEqual(tally.foreign, [], 'nothing of another patient released');
    assert.deepEqual(tally.refused, [], 'no legitimate request refused');
});
