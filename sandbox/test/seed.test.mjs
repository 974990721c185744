// Copyright (C) 2026 The ngx_smart_module authors
// SPDX-License-Identifier: BSD-2-Clause
// Tests for the synthetic FHIR data generator (sandbox/seed/).
// Run from the repository root: node --test sandbox/test/seed.test.mjs

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { parseSearchRequest } from '@medplum/core';
import { FhirRouter, MemoryRepository, makeSimpleRequest } from '@medplum/fhir-router';

import {
  generateSyntheticData, toTransactionBundle, FIXED_PATIENT_IDS, HTEST_TAG, DEFAULT_SEED, REFERENCE_DATE,
} from '../seed/generate.mjs';
import { loadR4Definitions, validate, createSeededRepository, searchResources, parseSearch } from '../seed/fhir-repo.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const GENERATE = join(HERE, '..', 'seed', 'generate.mjs');
const PERSONAS = JSON.parse(readFileSync(join(HERE, '..', 'personas.json'), 'utf8'));

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const SNOMED = 'http://snomed.info/sct';
const ICD10CM = 'http://hl7.org/fhir/sid/icd-10-cm';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';
const OBS_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const CLINICAL_TYPES = ['Encounter', 'Condition', 'AllergyIntolerance', 'MedicationRequest', 'MedicationStatement', 'Observation'];

const data = generateSyntheticData();
const byKey = new Map(data.map((r) => [`${r.resourceType}/${r.id}`, r]));
const get = (type, id) => byKey.get(`${type}/${id}`);

function patientOf(r) {
  const ref = r.resourceType === 'AllergyIntolerance' ? r.patient : r.subject;
  return ref?.reference;
}
function ofPatient(pid, type) {
  return data.filter((r) => r.resourceType === type && patientOf(r) === `Patient/${pid}`);
}
function hasCategory(r, code) {
  return r.category?.some((c) => c.coding?.some((x) => x.system === OBS_CATEGORY && x.code === code));
}
function loincOf(r) { return r.code?.coding?.find((c) => c.system === LOINC)?.code; }
function chartOf(pid) { return data.filter((r) => patientOf(r) === `Patient/${pid}`); }
function* references(value) {
  if (Array.isArray(value)) { for (const v of value) yield* references(v); return; }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string') yield v;
      else yield* references(v);
    }
  }
}
function cli(args) {
  return spawnSync(process.execPath, [GENERATE, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

describe('determinism', () => {
  test('same seed gives identical output', () => {
    assert.equal(JSON.stringify(generateSyntheticData()), JSON.stringify(data));
    assert.equal(JSON.stringify(generateSyntheticData({ seed: 42, patients: 10 })), JSON.stringify(generateSyntheticData({ seed: 42, patients: 10 })));
  });

  test('defaults are seed 20261128 and 24 numbered patients', () => {
    assert.equal(DEFAULT_SEED, 20261128);
    assert.equal(JSON.stringify(generateSyntheticData({ seed: 20261128, patients: 24 })), JSON.stringify(data));
  });

  test('a different seed changes generated patients but not the fixed ones', () => {
    const other = generateSyntheticData({ seed: 7 });
    const otherByKey = new Map(other.map((r) => [`${r.resourceType}/${r.id}`, r]));
    assert.notDeepEqual(otherByKey.get('Patient/syn-0003'), get('Patient', 'syn-0003'));
    assert.notEqual(JSON.stringify(other), JSON.stringify(data));
    for (const pid of Object.values(FIXED_PATIENT_IDS)) {
      assert.ok(otherByKey.has(`Patient/${pid}`), pid);
      const mine = JSON.stringify([get('Patient', pid), ...chartOf(pid)]);
      const theirs = JSON.stringify([otherByKey.get(`Patient/${pid}`), ...other.filter((r) => patientOf(r) === `Patient/${pid}`)]);
      assert.equal(theirs, mine, `${pid} must not depend on the seed`);
    }
    assert.deepEqual(otherByKey.get('Organization/org-sandbox'), get('Organization', 'org-sandbox'));
    assert.deepEqual(otherByKey.get('Practitioner/prac-0001'), get('Practitioner', 'prac-0001'));
  });

  test('asking for more patients keeps the existing ones unchanged', () => {
    const more = generateSyntheticData({ patients: 30 });
    const moreByKey = new Map(more.map((r) => [`${r.resourceType}/${r.id}`, r]));
    for (const r of data) assert.deepEqual(moreByKey.get(`${r.resourceType}/${r.id}`), r, `${r.resourceType}/${r.id}`);
    assert.ok(moreByKey.has('Patient/syn-0030'));
    assert.ok(!moreByKey.has('Patient/syn-0031'));
  });

  test('bad options throw', () => {
    assert.throws(() => generateSyntheticData({ patients: 1 }), RangeError);
    assert.throws(() => generateSyntheticData({ patients: 2.5 }), RangeError);
    assert.throws(() => generateSyntheticData({ seed: -1 }), RangeError);
    assert.throws(() => generateSyntheticData({ seed: 'x' }), RangeError);
  });

  test('the code reads neither the clock nor Math.random', () => {
    for (const file of [GENERATE, join(HERE, '..', 'seed', 'catalog.mjs')]) {
      const code = readFileSync(file, 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');
      assert.ok(!/Math\.random|Date\.now|new Date\(\s*\)|performance\.now/.test(code), file);
    }
  });
});

describe('size and shape', () => {
  test('default output is modest', () => {
    assert.ok(data.length > 500 && data.length < 3000, `${data.length} resources`);
    const patients = data.filter((r) => r.resourceType === 'Patient').map((r) => r.id);
    assert.equal(patients.length, 24 + 3);
    for (let n = 1; n <= 24; n++) assert.ok(patients.includes(`syn-${String(n).padStart(4, '0')}`));
  });

  test('ids are valid FHIR ids and unique per type', () => {
    const seen = new Set();
    for (const r of data) {
      assert.equal(typeof r.resourceType, 'string');
      assert.match(r.id, /^[A-Za-z0-9.-]{1,64}$/);
      const key = `${r.resourceType}/${r.id}`;
      assert.ok(!seen.has(key), `duplicate ${key}`);
      seen.add(key);
    }
  });

  test('every resource carries the HTEST tag', () => {
    for (const r of data) {
      assert.ok(r.meta?.tag?.some((t) => t.system === HTEST_TAG.system && t.code === 'HTEST' && t.display === 'test health data'), r.id);
    }
  });

  test('no clinical date lies after the reference date', () => {
    const dates = (o, path = '') => (Array.isArray(o) ? o.flatMap((v) => dates(v, path))
      : o && typeof o === 'object' ? Object.entries(o).flatMap(([k, v]) => dates(v, `${path}.${k}`))
        : typeof o === 'string' && /^\d{4}-\d{2}-\d{2}/.test(o) && !path.includes('validityPeriod') ? [o] : []);
    for (const r of data) for (const d of dates(r)) assert.ok(d.slice(0, 10) <= REFERENCE_DATE, `${r.id}: ${d}`);
  });

  test('periods run forwards', () => {
    for (const r of data) {
      for (const [a, b] of [[r.period?.start, r.period?.end], [r.effectivePeriod?.start, r.effectivePeriod?.end], [r.onsetDateTime, r.abatementDateTime]]) {
        if (a && b) assert.ok(a <= b, `${r.id}: ${a} > ${b}`);
      }
    }
  });
});

describe('validation', () => {
  before(() => loadR4Definitions());

  test('every resource passes @medplum/core validateResource', () => {
    const failures = [];
    for (const r of data) {
      try {
        const issues = validate(r).filter((i) => i.severity === 'error' || i.severity === 'fatal');
        if (issues.length) failures.push(`${r.resourceType}/${r.id}: ${JSON.stringify(issues)}`);
      } catch (err) {
        failures.push(`${r.resourceType}/${r.id}: ${err.message}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  test('the transaction bundle validates', () => {
    assert.doesNotThrow(() => validate(toTransactionBundle(data)));
  });

  // validateResource does not check terminology bindings, so check the
  // required ones we rely on here.
  test('required-binding codes are valid', () => {
    const allowed = {
      Observation: ['registered', 'preliminary', 'final', 'amended'],
      Encounter: ['planned', 'arrived', 'triaged', 'in-progress', 'onleave', 'finished', 'cancelled', 'entered-in-error', 'unknown'],
      MedicationStatement: ['active', 'completed', 'entered-in-error', 'intended', 'stopped', 'on-hold', 'unknown', 'not-taken'],
      MedicationRequest: ['active', 'on-hold', 'cancelled', 'completed', 'entered-in-error', 'stopped', 'draft', 'unknown'],
    };
    for (const r of data) {
      if (allowed[r.resourceType]) assert.ok(allowed[r.resourceType].includes(r.status), `${r.id}: status ${r.status}`);
      if (r.resourceType === 'MedicationRequest') assert.equal(r.intent, 'order');
      if (r.resourceType === 'Patient') assert.ok(['male', 'female', 'other', 'unknown'].includes(r.gender));
      if (r.resourceType === 'AllergyIntolerance') {
        if (r.criticality) assert.ok(['low', 'high', 'unable-to-assess'].includes(r.criticality), r.id);
        if (r.type) assert.ok(['allergy', 'intolerance'].includes(r.type), r.id);
        for (const c of r.category ?? []) assert.ok(['food', 'medication', 'environment', 'biologic'].includes(c), r.id);
        for (const x of r.reaction ?? []) if (x.severity) assert.ok(['mild', 'moderate', 'severe'].includes(x.severity), r.id);
      }
    }
  });
});

describe('references', () => {
  test('all references are relative and resolve within the set', () => {
    for (const r of data) {
      for (const ref of references(r)) {
        assert.match(ref, /^[A-Z][A-Za-z]+\/[A-Za-z0-9.-]{1,64}$/, `${r.id}: ${ref}`);
        assert.ok(byKey.has(ref), `${r.id} -> ${ref} does not resolve`);
      }
    }
  });

  test('clinical resources point at a Patient via subject/patient', () => {
    for (const r of data.filter((x) => CLINICAL_TYPES.includes(x.resourceType))) {
      const ref = patientOf(r);
      assert.ok(ref?.startsWith('Patient/'), `${r.id}`);
      assert.ok(byKey.has(ref), `${r.id} -> ${ref}`);
    }
  });

  test('encounters reference practitioners and the organisation', () => {
    const encounters = data.filter((r) => r.resourceType === 'Encounter');
    assert.ok(encounters.filter((e) => e.serviceProvider?.reference === 'Organization/org-sandbox').length > encounters.length * 0.9);
    assert.ok(encounters.filter((e) => e.participant?.[0]?.individual?.reference?.startsWith('Practitioner/prac-')).length > encounters.length * 0.8);
    assert.equal(get('Organization', 'org-sandbox')?.resourceType, 'Organization');
  });
});

describe('code systems', () => {
  test('observations: LOINC codes, UCUM quantities, category', () => {
    for (const o of data.filter((r) => r.resourceType === 'Observation')) {
      assert.ok(loincOf(o), `${o.id} has no LOINC code`);
      assert.ok(hasCategory(o, 'laboratory') || hasCategory(o, 'vital-signs'), o.id);
      const quantities = [o.valueQuantity, ...(o.component ?? []).map((c) => c.valueQuantity)].filter(Boolean);
      for (const q of quantities) {
        assert.equal(q.system, UCUM, o.id);
        assert.equal(typeof q.code, 'string', o.id);
        assert.equal(typeof q.value, 'number', o.id);
      }
      if (!o.component) assert.ok(o.valueQuantity || o.dataAbsentReason, `${o.id} has neither value nor dataAbsentReason`);
      assert.ok(!(o.valueQuantity && o.dataAbsentReason), o.id);
    }
  });

  test('medications are RxNorm-coded or text-only', () => {
    for (const m of data.filter((r) => r.resourceType === 'MedicationRequest' || r.resourceType === 'MedicationStatement')) {
      const codings = m.medicationCodeableConcept?.coding;
      if (codings) assert.ok(codings.every((c) => c.system === RXNORM && /^\d+$/.test(c.code)), m.id);
      else assert.ok(m.medicationCodeableConcept?.text, m.id);
    }
  });

  test('conditions are SNOMED CT coded (some with ICD-10-CM); allergies SNOMED CT', () => {
    const conditions = data.filter((r) => r.resourceType === 'Condition');
    const coded = conditions.filter((c) => c.code.coding);
    assert.ok(coded.every((c) => c.code.coding.some((x) => x.system === SNOMED)));
    assert.ok(coded.some((c) => c.code.coding.some((x) => x.system === ICD10CM)));
    assert.ok(coded.some((c) => !c.code.coding.some((x) => x.system === ICD10CM)));
    for (const a of data.filter((r) => r.resourceType === 'AllergyIntolerance' && r.code.coding)) {
      assert.ok(a.code.coding.every((x) => x.system === SNOMED), a.id);
    }
  });

  test('encounter classes come from v3-ActCode', () => {
    const classes = new Set();
    for (const e of data.filter((r) => r.resourceType === 'Encounter')) {
      assert.equal(e.class.system, ACT_CODE, e.id);
      classes.add(e.class.code);
    }
    assert.deepEqual([...classes].sort(), ['AMB', 'EMER', 'IMP', 'VR']);
  });

  test('identifiers use the sandbox MRN system or the HL7 example OID', () => {
    for (const p of data.filter((r) => r.resourceType === 'Patient')) {
      assert.ok(p.identifier.length > 0);
      for (const id of p.identifier) assert.ok(['https://sandbox.example.test/mrn', 'urn:oid:2.16.840.1.113883.19.5'].includes(id.system), p.id);
    }
  });

  test('every person has an obviously synthetic hyphenated surname', () => {
    for (const p of data.filter((r) => r.resourceType === 'Patient' || r.resourceType === 'Practitioner')) {
      assert.match(p.name[0].family, /^[A-Z][a-z]+-[A-Z][a-z]+$/, p.id);
    }
  });
});

describe('fixed demo ids', () => {
  test('syn-0001 is Ana Synthetic-Example (personas.json) with a complete record', () => {
    const p = get('Patient', 'syn-0001');
    assert.equal(`${p.name[0].given[0]} ${p.name[0].family}`, PERSONAS.accounts.ana.name);
    assert.equal(PERSONAS.accounts.ana.patient, 'syn-0001');
    assert.ok(p.birthDate && p.address && p.telecom);

    const ms = ofPatient('syn-0001', 'MedicationStatement');
    assert.equal(ms.length, 7);
    assert.ok(ms.filter((m) => m.status === 'active').length >= 3);
    assert.ok(ms.some((m) => m.status === 'stopped'));
    assert.ok(ms.some((m) => !m.medicationCodeableConcept.coding), 'a text-only medication');
    const mr = ofPatient('syn-0001', 'MedicationRequest');
    assert.equal(mr.length, 6);
    assert.equal(mr.filter((m) => m.status === 'active').length, 3);

    const allergies = ofPatient('syn-0001', 'AllergyIntolerance');
    assert.equal(allergies.length, 4);
    assert.ok(allergies.filter((a) => a.verificationStatus?.coding[0].code === 'confirmed').length >= 2);
    assert.ok(allergies.some((a) => a.verificationStatus?.coding[0].code === 'entered-in-error' && !a.clinicalStatus));
    for (const a of allergies.filter((x) => x.clinicalStatus)) assert.ok(a.verificationStatus && a.criticality, a.id);
    assert.ok(allergies.some((a) => a.reaction?.[0]?.manifestation?.length && a.reaction[0].severity));

    const obs = ofPatient('syn-0001', 'Observation');
    const labs = obs.filter((o) => hasCategory(o, 'laboratory'));
    const vitals = obs.filter((o) => hasCategory(o, 'vital-signs'));
    assert.equal(labs.length, 60);
    assert.equal(vitals.length, 66);
    const count = (list, code) => list.filter((o) => loincOf(o) === code).length;
    assert.equal(count(labs, '4548-4'), 4, 'HbA1c');
    assert.ok(count(labs, '2160-0') >= 4, 'creatinine');
    assert.ok(count(labs, '2823-3') >= 4, 'potassium');
    for (const cbc of ['6690-2', '718-7', '777-3']) assert.ok(count(labs, cbc) >= 3, cbc);
    for (const v of ['85354-9', '8867-4', '29463-7', '8302-2', '39156-5', '8310-5']) assert.ok(count(vitals, v) >= 3, v);
    const bp = vitals.find((o) => loincOf(o) === '85354-9');
    assert.deepEqual(bp.component.map((c) => c.code.coding[0].code), ['8480-6', '8462-4']);
    assert.equal(bp.valueQuantity, undefined);
    assert.ok(new Set(labs.map((o) => o.effectiveDateTime.slice(0, 10))).size >= 5, 'labs over several dates');
    assert.ok(new Set(vitals.map((o) => o.effectiveDateTime.slice(0, 10))).size >= 5, 'vitals over several dates');
    const flags = new Set(obs.flatMap((o) => o.interpretation?.map((i) => i.coding[0].code) ?? []));
    assert.ok(flags.has('H') && flags.has('L') && flags.has('HH'));
    assert.ok(labs.some((o) => o.dataAbsentReason && !o.valueQuantity), 'an observation with dataAbsentReason');

    const conditions = ofPatient('syn-0001', 'Condition');
    assert.equal(conditions.length, 7);
    const ckd = get('Condition', 'cond-0001-ckd3');
    assert.deepEqual(ckd.code.coding.map((c) => [c.system, c.code]), [[SNOMED, '433144002'], [ICD10CM, 'N18.4']], 'conflicting codings');
    assert.ok(conditions.some((c) => c.clinicalStatus?.coding[0].code === 'resolved' && c.abatementDateTime));

    const enc = ofPatient('syn-0001', 'Encounter');
    const byClass = (code) => enc.filter((e) => e.class.code === code).length;
    assert.deepEqual([byClass('AMB'), byClass('IMP'), byClass('EMER'), byClass('VR')], [6, 1, 1, 3]);
  });

  test('syn-0002 is a second complete patient', () => {
    const p = get('Patient', 'syn-0002');
    assert.ok(p.birthDate && p.address);
    assert.ok(ofPatient('syn-0002', 'MedicationStatement').length >= 3);
    assert.ok(ofPatient('syn-0002', 'MedicationRequest').length >= 3);
    assert.ok(ofPatient('syn-0002', 'AllergyIntolerance').some((a) => a.verificationStatus?.coding[0].code === 'refuted'));
    assert.ok(ofPatient('syn-0002', 'Observation').filter((o) => hasCategory(o, 'laboratory')).length >= 10);
    assert.ok(ofPatient('syn-0002', 'Condition').length >= 3);
    assert.deepEqual([...new Set(ofPatient('syn-0002', 'Encounter').map((e) => e.class.code))].sort(), ['AMB', 'EMER', 'IMP', 'VR']);
  });

  test('syn-deceased died, with a history before that', () => {
    const p = get('Patient', 'syn-deceased');
    assert.match(p.deceasedDateTime, /^\d{4}-\d{2}-\d{2}T/);
    const chart = chartOf('syn-deceased');
    assert.ok(chart.length > 20);
    for (const r of chart) {
      const when = r.effectiveDateTime ?? r.period?.start ?? r.authoredOn;
      if (when) assert.ok(when <= p.deceasedDateTime, `${r.id} after death`);
    }
    const lastStay = ofPatient('syn-deceased', 'Encounter').find((e) => e.class.code === 'IMP');
    assert.equal(lastStay.hospitalization.dischargeDisposition.coding[0].code, 'exp');
    assert.equal(lastStay.period.end, p.deceasedDateTime);
  });

  test('syn-empty has no other data at all', () => {
    assert.ok(get('Patient', 'syn-empty'));
    assert.equal(data.filter((r) => [...references(r)].includes('Patient/syn-empty')).length, 0);
  });

  test('syn-sparse has sparse demographics and a little loosely coded data', () => {
    const p = get('Patient', 'syn-sparse');
    assert.equal(p.birthDate, undefined);
    assert.equal(p.address, undefined);
    assert.equal(p.telecom, undefined);
    assert.equal(p.gender, 'unknown');
    const chart = chartOf('syn-sparse');
    assert.ok(chart.length >= 3 && chart.length <= 10);
    assert.ok(chart.some((r) => r.resourceType === 'Condition' && !r.code.coding && !r.verificationStatus));
    assert.ok(chart.some((r) => r.resourceType === 'MedicationStatement' && !r.medicationCodeableConcept.coding && !r.dosage));
  });

  test('practitioners and organisation', () => {
    const prac = get('Practitioner', 'prac-0001');
    assert.equal(`Dr. ${prac.name[0].given[0]} ${prac.name[0].family}`, PERSONAS.accounts['dr-lee'].name);
    assert.equal(PERSONAS.accounts['dr-lee'].fhirUser, 'Practitioner/prac-0001');
    assert.ok(get('Practitioner', 'prac-0008'));
    assert.equal(get('Organization', 'org-sandbox').name, 'Sandbox General Hospital (synthetic)');
  });

  test('odd-but-plausible cases exist somewhere in the set', () => {
    const allergyCodes = new Set(data.filter((r) => r.resourceType === 'AllergyIntolerance').map((a) => a.verificationStatus?.coding[0].code));
    assert.ok(allergyCodes.has('refuted') && allergyCodes.has('entered-in-error') && allergyCodes.has('unconfirmed'));
    assert.ok(data.some((r) => r.resourceType === 'AllergyIntolerance' && r.code.coding?.[0].code === '716186003'), 'no known allergy');
    assert.ok(data.some((r) => r.resourceType === 'Condition' && r.verificationStatus?.coding[0].code === 'provisional'));
    assert.ok(data.filter((r) => r.dataAbsentReason).length >= 2);
  });
});

describe('in-memory repository (@medplum/fhir-router MemoryRepository)', () => {
  let repo;
  before(async () => { repo = await createSeededRepository(data); });

  const expectSearch = async (url, expected, expectedCount) => {
    const found = await searchResources(repo, url);
    assert.deepEqual(found.map((r) => r.id).sort(), expected.map((r) => r.id).sort(), url);
    if (expectedCount !== undefined) assert.equal(found.length, expectedCount, url);
  };

  test('every resource loaded with its own id', async () => {
    for (const r of [data[0], get('Patient', 'syn-0001'), get('Observation', 'obs-0001-hba1c-3'), get('Patient', 'syn-empty')]) {
      const stored = await repo.readResource(r.resourceType, r.id);
      assert.equal(stored.id, r.id);
    }
    const all = await repo.searchResources(parseSearchRequest('Observation'));
    assert.equal(all.length, data.filter((r) => r.resourceType === 'Observation').length);
  });

  test('Observation?patient=syn-0001&category=laboratory', async () => {
    await expectSearch('Observation?patient=syn-0001&category=laboratory', ofPatient('syn-0001', 'Observation').filter((o) => hasCategory(o, 'laboratory')), 60);
  });

  test('Observation?subject=Patient/syn-0001', async () => {
    await expectSearch('Observation?subject=Patient/syn-0001', ofPatient('syn-0001', 'Observation'), 126);
  });

  test('Observation?patient=syn-0001&category=vital-signs and code=HbA1c', async () => {
    await expectSearch('Observation?patient=syn-0001&category=vital-signs', ofPatient('syn-0001', 'Observation').filter((o) => hasCategory(o, 'vital-signs')), 66);
    await expectSearch('Observation?patient=syn-0001&code=http://loinc.org|4548-4', ofPatient('syn-0001', 'Observation').filter((o) => loincOf(o) === '4548-4'), 4);
  });

  test('MedicationStatement / MedicationRequest / AllergyIntolerance / Condition for syn-0001', async () => {
    await expectSearch('MedicationStatement?patient=syn-0001', ofPatient('syn-0001', 'MedicationStatement'), 7);
    await expectSearch('MedicationStatement?patient=Patient/syn-0001&status=active', ofPatient('syn-0001', 'MedicationStatement').filter((m) => m.status === 'active'), 5);
    await expectSearch('MedicationRequest?patient=syn-0001&status=active', ofPatient('syn-0001', 'MedicationRequest').filter((m) => m.status === 'active'), 3);
    await expectSearch('AllergyIntolerance?patient=syn-0001', ofPatient('syn-0001', 'AllergyIntolerance'), 4);
    await expectSearch('Condition?patient=syn-0001', ofPatient('syn-0001', 'Condition'), 7);
  });

  test('Encounter?patient=syn-0001&class=...', async () => {
    const enc = ofPatient('syn-0001', 'Encounter');
    for (const [cls, n] of [['AMB', 6], ['IMP', 1], ['EMER', 1], ['VR', 3]]) {
      await expectSearch(`Encounter?patient=syn-0001&class=${cls}`, enc.filter((e) => e.class.code === cls), n);
    }
    await expectSearch(`Encounter?patient=syn-0001&class=${ACT_CODE}|IMP`, enc.filter((e) => e.class.code === 'IMP'), 1);
  });

  test('patient compartments are separate; syn-empty has nothing', async () => {
    await expectSearch('Observation?patient=syn-0002&category=laboratory', ofPatient('syn-0002', 'Observation').filter((o) => hasCategory(o, 'laboratory')));
    for (const type of CLINICAL_TYPES) assert.equal((await searchResources(repo, `${type}?patient=syn-empty`)).length, 0, type);
    const labs = await searchResources(repo, 'Observation?patient=syn-0001&category=laboratory');
    assert.ok(labs.every((o) => o.subject.reference === 'Patient/syn-0001'));
  });

  test('search normalisation: bare ids become typed references, patient becomes subject', () => {
    // MemoryRepository compares reference values as strings: a bare id alone matches nothing.
    assert.equal(parseSearchRequest('Observation?patient=syn-0001').filters[0].value, 'syn-0001');
    assert.deepEqual(parseSearch('Observation?patient=syn-0001').filters, [{ code: 'subject', operator: 'eq', value: 'Patient/syn-0001' }]);
    assert.deepEqual(parseSearch('AllergyIntolerance?patient=syn-0001').filters, [{ code: 'patient', operator: 'eq', value: 'Patient/syn-0001' }]);
    assert.equal(parseSearch('Observation?patient:missing=true').filters[0].value, 'true');
  });

  test('the same searches through FhirRouter.handleRequest', async () => {
    const router = new FhirRouter();
    const [outcome, bundle] = await router.handleRequest(makeSimpleRequest('GET', '/Observation?subject=Patient/syn-0001&category=laboratory'), repo);
    assert.equal(outcome.id, 'ok');
    assert.equal(bundle.entry.length, 60);
    const [, enc] = await router.handleRequest(makeSimpleRequest('GET', '/Encounter?patient=Patient/syn-0001&class=VR'), repo);
    assert.equal(enc.entry.length, 3);
    const [, pat] = await router.handleRequest(makeSimpleRequest('GET', '/Patient/syn-deceased'), repo);
    assert.ok(pat.deceasedDateTime);
  });

  test('the transaction bundle loads through FhirRouter too', async () => {
    const bundle = toTransactionBundle(data);
    const [outcome, response] = await new FhirRouter().handleRequest(makeSimpleRequest('POST', '/', bundle), new MemoryRepository());
    assert.equal(outcome.id, 'ok');
    assert.equal(response.entry.length, data.length);
    assert.ok(response.entry.every((e) => /^20[01]$/.test(e.response.status)));
  });
});

describe('toTransactionBundle', () => {
  test('one PUT entry per resource with Type/id urls', () => {
    const bundle = toTransactionBundle(data);
    assert.equal(bundle.resourceType, 'Bundle');
    assert.equal(bundle.type, 'transaction');
    assert.equal(bundle.entry.length, data.length);
    bundle.entry.forEach((e, i) => {
      assert.equal(e.resource, data[i]);
      assert.equal(e.request.method, 'PUT');
      assert.equal(e.request.url, `${data[i].resourceType}/${data[i].id}`);
      assert.equal(e.fullUrl, e.request.url);
    });
  });

  test('rejects non-resources', () => {
    assert.throws(() => toTransactionBundle('x'), TypeError);
    assert.throws(() => toTransactionBundle([{ resourceType: 'Patient' }]), TypeError);
  });
});

describe('CLI', () => {
  test('writes the default bundle to stdout, byte-identical across runs', () => {
    const a = cli([]);
    const b = cli(['--seed', String(DEFAULT_SEED), '--patients', '24']);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    assert.equal(a.stdout, b.stdout);
    assert.equal(a.stdout, JSON.stringify(toTransactionBundle(data), null, 2) + '\n');
  });

  test('--out writes a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seed-test-'));
    try {
      const out = join(dir, 'bundle.json');
      const r = cli(['--seed=7', '--patients=5', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '');
      const bundle = JSON.parse(readFileSync(out, 'utf8'));
      assert.equal(bundle.type, 'transaction');
      assert.equal(bundle.entry.filter((e) => e.resource.resourceType === 'Patient').length, 5 + 3);
      assert.equal(JSON.stringify(bundle), JSON.stringify(toTransactionBundle(generateSyntheticData({ seed: 7, patients: 5 }))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--help exits 0', () => {
    const r = cli(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /usage:/);
  });

  for (const args of [
    ['--seed', 'abc'], ['--seed', '-5'], ['--seed', '4294967296'], ['--seed'], ['--patients', '1'], ['--patients', '10000'],
    ['--patients', '2.5'], ['--bogus'], ['extra'], ['--out'], ['--out', ''], ['--seed', '1', '--seed', '2'], ['--patients', '--seed', '3'],
  ]) {
    test(`bad arguments exit 2: ${args.join(' ') || '(none)'}`, () => {
      const r = cli(args);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^generate\.mjs: .+\n/);
    });
  }

  test('an unwritable --out exits 1 with a message', () => {
    const r = cli(['--out', join(tmpdir(), 'no-such-dir-seed-test', 'x', 'bundle.json')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot write/);
  });
});
