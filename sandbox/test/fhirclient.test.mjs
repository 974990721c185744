// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// Smoke test with the official SMART JavaScript client (fhirclient 2.6.3)
// as a real app would run it on a server: the app's /launch calls
// authorize() (discovery through the gateway's smart-configuration, PKCE),
// a scripted person signs in at the issuer, the callback calls ready() and
// the client reads the patient, pages through a search and resolves each
// Observation's Encounter by id, all through the gateway.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createRequire } from 'node:module';

import { browse } from '../lib/smart-client.mjs';
import { startLab } from './lab-fixture.mjs';

const require = createRequire(import.meta.url);
const smart = require('fhirclient');

let fixture;
let lab;
let app;

// fhirclient keeps its state in a server-side session; one user here.
function memoryStorage() {
    const m = new Map();
    return {
        get: async (k) => m.get(k),
        set: async (k, v) => { m.set(k, v); return v; },
        unset: async (k) => m.delete(k),
    };
}

function startApp(port, storage, results) {
    const server = http.createServer(async (req, res) => {
        const url = new URL(req.url, `http://127.0.0.1:${port}`);
        try {
            if (url.pathname === '/launch') {
                await smart(req, res, storage).authorize({
                    iss: lab.fhirBase,
                    clientId: 'patient-app',
                    scope: 'openid fhirUser launch/patient patient/*.rs',
                    redirectUri: `http://127.0.0.1:${port}/patient-app/callback`,
                    pkceMode: 'required',
                });
                return;
            }
            if (url.pathname === '/patient-app/callback') {
                const client = await smart(req, res, storage).ready();
                results.patientId = client.patient.id;
                results.patient = await client.patient.read();
                results.observations = await client.request(
                    'Observation?category=vital-signs&_count=4',
                    { pageLimit: 0, flat: true });
                results.pagesFollowed = true;
                // references followed by id: the gateway checks each
                // Encounter on the response (fhirclient tolerates 404,
                // not 403)
                results.resolved = await client.request(
                    'Observation?category=vital-signs&_count=4',
                    { pageLimit: 1, flat: true,
                      resolveReferences: ['encounter'] });
                res.writeHead(200, { 'Content-Type': 'text/plain' });
                res.end('done');
                return;
            }
            res.writeHead(404);
            res.end();
        } catch (e) {
            results.error = e;
            res.writeHead(500, { 'Content-Type': 'text/plain' });
            res.end(String(e.message));
        }
    });
    return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

before(async () => {
    fixture = await startLab('fhirclient');
    lab = fixture.lab;
});

after(async () => {
    if (app) app.close();
    if (fixture) await fixture.stop();
});

test('fhirclient: standalone launch, patient read and a paged search through the gateway', async () => {
    const results = {};
    const port = Number(new URL(lab.env.APP_URL).port);
    app = await startApp(port, memoryStorage(), results);

    // the person: opens the app, signs in as Ana, allows; the app's
    // callback then does its work before answering
    const end = await browse(`${lab.env.APP_URL}/launch`, {
        login: 'ana',
        stopAt: (u) => u.pathname === '/patient-app/callback',
    });
    const res = await fetch(end);
    const text = await res.text();
    if (results.error) throw results.error;
    assert.equal(res.status, 200, text);

    assert.equal(results.patientId, 'syn-0001');
    assert.equal(results.patient.resourceType, 'Patient');
    assert.equal(results.patient.id, 'syn-0001');
    assert.ok(results.observations.length > 4, 'more than one page was followed');
    for (const o of results.observations) {
        assert.equal(o.resourceType, 'Observation');
        assert.equal(o.subject.reference, 'Patient/syn-0001');
    }
    const withEncounter = results.resolved.filter((o) => o.encounter);
    assert.ok(withEncounter.length > 0, 'some Observations name an Encounter');
    for (const o of withEncounter) {
        assert.equal(o.encounter.resourceType, 'Encounter',
            'the reference was resolved through the gateway');
        assert.equal(o.encounter.subject.reference, 'Patient/syn-0001');
    }
    const ids = results.observations.map((o) => o.id);
    assert.equal(new Set(ids).size, ids.length, 'no Observation twice across pages');
});
