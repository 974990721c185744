// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// The guided tour of the lab (make demo runs it after sandbox/lab up).
// Each step says what it shows, makes the request through the gateway as
// one of the personas, prints what came back, and checks it: the tour ends
// with a non-zero status if the gateway did not do what the step says.

import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadLab, decodeJwt, medicationStatement } from './lib/lab.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const lab = loadLab(process.argv[2] || join(here, '..', 'build', 'lab', 'lab.env'));
const color = process.stdout.isTTY && !process.env.NO_COLOR;
const bold = (s) => (color ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s) => (color ? `\x1b[2m${s}\x1b[0m` : s);
const cids = [];
let failures = 0;
let stepNo = 0;

function step(title, text) {
    stepNo += 1;
    const head = `── ${stepNo}. ${title} `;
    console.log(`\n${bold(head + '─'.repeat(Math.max(3, 76 - head.length)))}`);
    console.log(text.trim().split('\n').map((l) => `   ${l.trim()}`).join('\n'));
}

function show(res) {
    const u = new URL(res.url);
    console.log(`   ${res.method} ${u.pathname}${u.search}`);
    const parts = [`→ ${res.status}`];
    if (res.decision) parts.push(`X-Smart-Decision: ${res.decision}`);
    if (res.cid) parts.push(`X-Correlation-ID: ${res.cid}`);
    console.log(`   ${parts.join('   ')}`);
    const www = res.headers.get('www-authenticate');
    if (www) console.log(`   WWW-Authenticate: ${www}`);
    if (res.body?.resourceType === 'OperationOutcome') {
        const issue = res.body.issue?.[0] || {};
        console.log(`   OperationOutcome ${res.code || issue.code}: "${issue.details?.text || ''}"`);
    } else if (res.body?.resourceType === 'Bundle') {
        const n = res.body.entry?.length || 0;
        console.log(`   Bundle (${res.body.type}): ${n} entr${n === 1 ? 'y' : 'ies'}`
            + `${res.body.total !== undefined ? `, total ${res.body.total}` : ''}`);
    } else if (res.body?.resourceType) {
        console.log(`   ${res.body.resourceType}${res.body.id ? `/${res.body.id}`
            : res.body.fhirVersion ? ` (FHIR ${res.body.fhirVersion})` : ''}`);
    }
    if (res.cid) cids.push(res.cid);
}

function expect(cond, what) {
    if (cond) {
        console.log(`   ${dim('✓ ' + what)}`);
    } else {
        failures += 1;
        console.log(`   ✗ UNEXPECTED: ${what}`);
    }
}

async function showUpstream(res) {
    const seen = await lab.upstreamSaw(res);
    if (seen.length === 0) {
        console.log('   upstream received: nothing (the gateway answered alone)');
    }
    for (const l of seen) console.log(`   upstream received: ${l.method} ${l.url}`);
    return seen;
}

function labCommand(cmd) {
    execFileSync(join(here, 'lab'), [cmd], {
        env: { ...process.env, SMART_LAB_DIR: lab.env.SMART_LAB_DIR,
            SMART_LAB_PORT_BASE: lab.env.GATEWAY_PORT },
        stdio: ['ignore', 'ignore', 'inherit'],
    });
}

async function main() {
    console.log(bold('ngx_smart_module — a guided tour of the lab'));
    console.log(`Apps talk to the gateway at ${lab.fhirBase}; behind it runs the FHIR server
with synthetic patients.  Tokens come from the sandbox issuer ${lab.issuer}.`);

    step('Discovery needs no token', `
        An app starts from the FHIR base: the SMART configuration (served by
        the gateway) says where to get a token; /metadata is the server's
        CapabilityStatement.  Both are public.`);
    let r = await lab.fhir('GET', '.well-known/smart-configuration');
    show(r);
    expect(r.status === 200 && r.body?.token_endpoint === `${lab.issuer}/token`,
        'smart-configuration names the issuer\'s token endpoint');
    r = await lab.fhir('GET', 'metadata');
    show(r);
    expect(r.status === 200 && r.body?.resourceType === 'CapabilityStatement',
        'CapabilityStatement without a token');

    step('The patient app signs in', `
        Ana opens the patient-facing app.  It is a public client: it uses
        authorization code + PKCE, Ana signs in and allows the scopes, and the
        issuer returns a JWT access token carrying her patient id.`);
    const ana = await lab.token('patient-app');
    const anaClaims = decodeJwt(ana.access_token);
    console.log(`   token: ${anaClaims.header.alg} kid=${anaClaims.header.kid}`);
    console.log(`   scope="${anaClaims.payload.scope}" patient=${anaClaims.payload.patient}`);
    expect(anaClaims.payload.patient === 'syn-0001', 'launch context: patient syn-0001');

    step('An allowed read', `
        patient/*.rs lets the app read its own patient.`);
    r = await lab.fhir('GET', 'Patient/syn-0001', { token: ana.access_token });
    show(r);
    expect(r.status === 200 && r.body?.id === 'syn-0001', 'Patient/syn-0001 returned');

    step('A narrowed search', `
        The app asks for every laboratory Observation.  Its token reaches one
        patient only, so the gateway appends patient=syn-0001 before the
        request goes upstream: the app gets Ana's results and nobody else's.`);
    r = await lab.fhir('GET', 'Observation?category=laboratory', { token: ana.access_token });
    show(r);
    let seen = await showUpstream(r);
    expect(r.status === 200, 'search allowed');
    expect(seen.some((l) => /[?&]patient=syn-0001(&|$)/.test(l.url)),
        'the upstream received patient=syn-0001');
    expect(r.body?.entry?.length > 0 && r.body.entry.every((e) =>
        e.resource?.subject?.reference === 'Patient/syn-0001'), 'only Ana\'s Observations');

    step('A denied cross-patient read', `
        The same token asks for another patient's record.  The gateway
        refuses it itself; the FHIR server never sees the request.`);
    r = await lab.fhir('GET', 'Patient/syn-0002', { token: ana.access_token });
    show(r);
    seen = await showUpstream(r);
    expect(r.status === 403 && r.code === 'patient-mismatch', '403 patient-mismatch');
    expect(seen.length === 0, 'nothing reached the FHIR server');

    step('A denied write', `
        patient/*.rs is read and search only: the patient app may not record a
        medication.`);
    r = await lab.fhir('POST', 'MedicationStatement',
        { token: ana.access_token, body: medicationStatement('syn-0001') });
    show(r);
    expect(r.status === 403 && r.code === 'scope-insufficient', '403 scope-insufficient');

    step('The medication-reconciliation app writes', `
        This app holds patient/MedicationStatement.cruds for Ana (ES256 token).
        It may record her medication, and only hers: the gateway checks the
        subject in the body against the token's patient.`);
    const medrec = await lab.token('medrec-app');
    console.log(`   token: ${decodeJwt(medrec.access_token).header.alg}`
        + ` scope="${decodeJwt(medrec.access_token).payload.scope}"`);
    r = await lab.fhir('POST', 'MedicationStatement',
        { token: medrec.access_token, body: medicationStatement('syn-0001') });
    show(r);
    expect(r.status === 201, '201 Created for Ana');
    const location = r.headers.get('location');
    if (location) console.log(`   Location: ${location}`);
    r = await lab.fhir('POST', 'MedicationStatement',
        { token: medrec.access_token, body: medicationStatement('syn-0002') });
    show(r);
    expect(r.status === 403 && r.code === 'patient-mismatch',
        'a statement about another patient: 403 patient-mismatch');

    step('Granular scopes: a clinician\'s lab-only access', `
        The clinician app holds user/Observation.rs?category=...|laboratory and
        user/Patient.rs.  A search for a patient's Observations is narrowed to
        the laboratory category; vital signs stay out of reach.`);
    const lee = await lab.token('clinician-lab');
    r = await lab.fhir('GET', 'Observation?patient=syn-0002', { token: lee.access_token });
    show(r);
    seen = await showUpstream(r);
    expect(r.status === 200 && seen.some((l) => /category=.*laboratory/.test(decodeURIComponent(l.url))),
        'narrowed to category laboratory');
    expect(r.body?.entry?.length > 0 && r.body.entry.every((e) => (e.resource?.category || []).some((c) =>
        (c.coding || []).some((k) => k.code === 'laboratory'))), 'only laboratory results');
    r = await lab.fhir('GET', 'Condition?patient=syn-0002', { token: lee.access_token });
    show(r);
    expect(r.status === 403 && r.code === 'scope-insufficient', 'Condition: 403 scope-insufficient');

    step('A backend service pages through patients', `
        A system/*.rs client gets its token by client credentials (no user, no
        patient).  The FHIR server's paging links point at the gateway, so the
        next page goes through the same checks.`);
    const backend = await lab.token('backend-service');
    r = await lab.fhir('GET', 'Patient?_count=5', { token: backend.access_token });
    show(r);
    const next = r.body?.link?.find((l) => l.relation === 'next')?.url;
    console.log(`   next: ${next}`);
    expect(r.status === 200 && typeof next === 'string' && next.startsWith(lab.fhirBase),
        'the next link points at the gateway');
    if (next) {
        r = await lab.fhir('GET', next, { token: backend.access_token });
        show(r);
        expect(r.status === 200, 'second page through the gateway');
    }

    step('An expired token', `
        A token signed by the issuer's own key that expired ten minutes ago:
        refused with 401 and an RFC 6750 challenge the app can act on.`);
    r = await lab.fhir('GET', 'Patient/syn-0001', { token: lab.expiredToken() });
    show(r);
    expect(r.status === 401 && r.code === 'token-expired', '401 token-expired');

    step('No token at all', `
        The same request without a token.`);
    r = await lab.fhir('GET', 'Patient/syn-0001');
    show(r);
    expect(r.status === 401 && r.code === 'token-missing', '401 token-missing');

    step('The FHIR server goes down', `
        The lab stops the FHIR server.  The app gets a typed, clinician-safe
        OperationOutcome (data-unavailable, with the correlation ID), not a
        raw proxy error page.  Then the FHIR server is started again.`);
    labCommand('stop-fhir');
    r = await lab.fhir('GET', 'Observation?category=vital-signs', { token: ana.access_token });
    show(r);
    expect(r.status === 503 && r.code === 'data-unavailable', '503 data-unavailable');
    expect(!/nginx|ECONNREFUSED|<html/i.test(r.text), 'no server internals in the body');
    labCommand('restart-fhir');

    step('The audit trail', `
        Every request above left one record in the Redis stream smart:audit,
        keyed by the correlation ID the app received, in a hash chain per
        worker.  Read back now:`);
    const records = await lab.audit(cids);
    const byCid = new Map(records.map((x) => [x.fields.cid, x.fields]));
    const w = Math.max(14, ...cids.map((c) => c.length));
    console.log(`   ${'correlation id'.padEnd(w)} ${'client'.padEnd(16)} ${'method'.padEnd(6)} `
        + `${'resource'.padEnd(20)} ${'decision'.padEnd(8)} ${'reason'.padEnd(20)} status`);
    for (const c of cids) {
        const f = byCid.get(c);
        if (!f) {
            console.log(`   ${c.padEnd(w)} (no record)`);
            continue;
        }
        console.log(`   ${c.padEnd(w)} ${(f.client_id || '-').padEnd(16)} ${f.method.padEnd(6)} `
            + `${(f.resource || f.interaction || '-').padEnd(20)} ${f.decision.padEnd(8)} ${f.reason.padEnd(20)} ${f.status}`);
    }
    expect(cids.every((c) => byCid.has(c)), `one record for each of the ${cids.length} responses`);
    console.log(`   Export as FHIR AuditEvents: build/tools/smart-audit-export --redis 127.0.0.1:${lab.redisPort}`);
    console.log(`   Check the hash chains:      build/tools/smart-audit-export --redis 127.0.0.1:${lab.redisPort} --verify`);

    console.log(`\n${bold(failures === 0 ? 'Tour complete: every step behaved as described.'
        : `Tour complete with ${failures} unexpected result(s) — see ✗ above.`)}`);
    console.log(`The lab keeps running: try your own requests against ${lab.fhirBase}
(tokens: node sandbox/token.mjs <persona>), stop it with: make demo-stop`);
    process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((e) => {
    console.error(`tour: ${e.message}`);
    process.exitCode = 1;
});
