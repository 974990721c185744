#!/usr/bin/env node
// Deterministic synthetic FHIR R4 patient data for the ngx_smart_module
// sandbox (SMART-on-FHIR gateway demo lab).
//
//   import { generateSyntheticData, toTransactionBundle } from './generate.mjs';
//   node sandbox/seed/generate.mjs [--seed N] [--patients N] [--out FILE]
//
// Nothing here reads the clock or Math.random: every date is an offset from
// REFERENCE_DATE and every random choice comes from a seeded mulberry32
// stream, so the same seed always gives byte-identical output. The fixed demo
// patients (syn-0001, syn-0002, syn-deceased, syn-empty, syn-sparse) are
// hand-written and do not depend on the seed at all; each generated patient
// syn-NNNN has its own stream derived from (seed, NNNN), so asking for more
// patients never changes the ones already there.

import { writeFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import {
  SYS, LABS, PANELS, VITALS, CONDITIONS, MEDS, ALLERGENS, NO_KNOWN_ALLERGY,
  ENCOUNTER_CLASSES, ENCOUNTER_TYPES, GIVEN_FEMALE, GIVEN_MALE, GIVEN_OTHER,
  SURNAME_PREFIX, SURNAME_SUFFIX, STREETS, CITIES,
} from './catalog.mjs';

export const REFERENCE_DATE = '2026-11-01';
export const DEFAULT_SEED = 20261128;
export const DEFAULT_PATIENTS = 24;
export const MIN_PATIENTS = 2;
export const MAX_PATIENTS = 9999;
export const ORGANIZATION_ID = 'org-sandbox';
export const PRACTITIONER_COUNT = 8;

export const HTEST_TAG = Object.freeze({ system: SYS.actReason, code: 'HTEST', display: 'test health data' });

export const FIXED_PATIENT_IDS = Object.freeze({
  main: 'syn-0001',
  second: 'syn-0002',
  deceased: 'syn-deceased',
  empty: 'syn-empty',
  sparse: 'syn-sparse',
});

// ---------------------------------------------------------------------------
// Seeded randomness (no transcendental functions, so results cannot drift
// between platforms).

function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fnv1a(str) {
  let h = 0x811c9dc5;
  for (let i = 0; i < str.length; i++) {
    h ^= str.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

class Rng {
  constructor(seed) { this.next = mulberry32(seed); }
  float() { return this.next(); }
  int(min, max) { return min + Math.floor(this.next() * (max - min + 1)); }
  chance(p) { return this.next() < p; }
  pick(list) { return list[Math.floor(this.next() * list.length)]; }
  // Approximately normal (Irwin-Hall, 4 uniforms), arithmetic only.
  normal(mean, sd) {
    const s = this.next() + this.next() + this.next() + this.next();
    return mean + sd * (s - 2) * 1.7320508075688772;
  }
  clampedNormal(mean, sd, lo, hi) { return Math.min(hi, Math.max(lo, this.normal(mean, sd))); }
  weighted(pairs) { // [[value, weight], ...]
    let total = 0;
    for (const [, w] of pairs) total += w;
    let r = this.next() * total;
    for (const [v, w] of pairs) { r -= w; if (r < 0) return v; }
    return pairs[pairs.length - 1][0];
  }
}

// ---------------------------------------------------------------------------
// Dates: everything is "days before REFERENCE_DATE" plus a time of day (UTC).

const REF_MS = Date.UTC(2026, 10, 1);
const DAY_MS = 86400000;
const HOUR_MS = 3600000;
const MIN_MS = 60000;

function at(daysAgo, hour = 9, minute = 0) { return REF_MS - daysAgo * DAY_MS + hour * HOUR_MS + minute * MIN_MS; }
function dateTime(ms) { return new Date(ms).toISOString().slice(0, 19) + 'Z'; }
function dateOnly(ms) { return new Date(ms).toISOString().slice(0, 10); }

// ---------------------------------------------------------------------------
// Small FHIR helpers.

const POW10 = [1, 10, 100, 1000];
function round(v, dp) { return Math.round(v * POW10[dp]) / POW10[dp]; }
function pad(n, w) { return String(n).padStart(w, '0'); }
function kebab(s) { return s.replace(/[A-Z]/g, (m) => '-' + m.toLowerCase()); }
// Id slug for a medication: the ingredient ("metforminEr500" -> "metformin").
const MED_SLUGS = { metforminEr500: 'metformin', insulin7030: 'insulin', omeprazoleOtc: 'omeprazole', fishOil: 'fish-oil', vitaminD: 'vitamin-d' };
function medSlug(key) { return MED_SLUGS[key] ?? kebab(key.replace(/\d+$/, '')); }
function meta() { return { tag: [{ ...HTEST_TAG }] }; }
function coding(system, code, display) { return display ? { system, code, display } : { system, code }; }
function cc(system, code, display, text) {
  const c = { coding: [coding(system, code, display)] };
  if (text) c.text = text;
  return c;
}
function ref(type, id, display) { const r = { reference: `${type}/${id}` }; if (display) r.display = display; return r; }
function quantity(value, unit, code) { return { value, unit, system: SYS.ucum, code }; }
function sct(pair, text) { return cc(SYS.snomed, pair[0], pair[1], text); }

const INTERPRETATION = { H: 'High', L: 'Low', HH: 'Critical high', LL: 'Critical low', N: 'Normal' };
const CONDITION_CLINICAL = { active: 'Active', recurrence: 'Recurrence', relapse: 'Relapse', inactive: 'Inactive', remission: 'Remission', resolved: 'Resolved' };
const CONDITION_VERIFICATION = { unconfirmed: 'Unconfirmed', provisional: 'Provisional', differential: 'Differential', confirmed: 'Confirmed', refuted: 'Refuted', 'entered-in-error': 'Entered in Error' };
const ALLERGY_CLINICAL = { active: 'Active', inactive: 'Inactive', resolved: 'Resolved' };
const ALLERGY_VERIFICATION = { unconfirmed: 'Unconfirmed', confirmed: 'Confirmed', refuted: 'Refuted', 'entered-in-error': 'Entered in Error' };
const DATA_ABSENT = { error: 'Error', 'not-performed': 'Not Performed', unknown: 'Unknown' };
const MS_CATEGORY = { inpatient: 'Inpatient', outpatient: 'Outpatient', community: 'Community', patientspecified: 'Patient Specified' };
const MR_CATEGORY = { inpatient: 'Inpatient', outpatient: 'Outpatient', community: 'Community', discharge: 'Discharge' };

function medicationConcept(med) {
  if (med.textOnly) return { text: med.text };
  return { coding: [coding(SYS.rxnorm, med.rxnorm, med.display)], text: med.text };
}

function dosageFor(med, { sig, omitStructure = false } = {}) {
  const d = { text: sig ?? med.sig };
  if (omitStructure || med.textOnly) return d;
  const repeat = { frequency: med.timing.frequency, period: med.timing.period };
  if (med.timing.periodMax) repeat.periodMax = med.timing.periodMax;
  repeat.periodUnit = med.timing.periodUnit;
  if (med.timing.boundsDays) repeat.boundsDuration = { value: med.timing.boundsDays, unit: 'days', system: SYS.ucum, code: 'd' };
  d.timing = { repeat };
  if (med.prn) d.asNeededBoolean = true;
  d.route = sct(med.route);
  d.doseAndRate = [{ doseQuantity: quantity(med.dose, med.form[0], med.form[1]) }];
  return d;
}

function rangeFor(def, sex) {
  if (Array.isArray(def.range)) return def.range;
  if (def.range) return def.range[sex === 'female' || sex === 'male' ? sex : 'other'];
  return null;
}

function interpret(value, range, crit) {
  if (value == null) return null;
  if (crit) {
    if (crit[0] != null && value < crit[0]) return 'LL';
    if (crit[1] != null && value > crit[1]) return 'HH';
  }
  if (range) {
    if (range[0] != null && value < range[0]) return 'L';
    if (range[1] != null && value > range[1]) return 'H';
  }
  return null;
}

// ---------------------------------------------------------------------------
// Shared organisation and practitioners.

const PRACTITIONERS = [
  { given: 'Jordan', family: 'Lee-Example', prefix: 'Dr.', gender: 'female', qual: 'MD', role: 'Internal medicine (primary care)' },
  { given: 'Priya', family: 'Raman-Example', prefix: 'Dr.', gender: 'female', qual: 'MD', role: 'Family medicine (primary care)' },
  { given: 'Samuel', family: 'Okafor-Example', prefix: 'Dr.', gender: 'male', qual: 'MD', role: 'Emergency medicine' },
  { given: 'Maria', family: 'Alvarez-Example', prefix: 'Dr.', gender: 'female', qual: 'MD', role: 'Hospital medicine' },
  { given: 'Wei', family: 'Chen-Example', prefix: 'Dr.', gender: 'male', qual: 'MD', role: 'Cardiology' },
  { given: 'Fatima', family: 'Haddad-Example', prefix: 'Dr.', gender: 'female', qual: 'MD', role: 'Endocrinology' },
  { given: 'Tomasz', family: 'Kowalski-Example', prefix: 'Dr.', gender: 'male', qual: 'MD', role: 'Pulmonology' },
  { given: 'Grace', family: 'Mensah-Example', prefix: null, gender: 'female', qual: 'NP', role: 'Nurse practitioner (primary care)' },
];
const PRAC = { pcp: 'prac-0001', fm: 'prac-0002', ed: 'prac-0003', hosp: 'prac-0004', cardio: 'prac-0005', endo: 'prac-0006', pulm: 'prac-0007', np: 'prac-0008' };

function practitionerId(i) { return `prac-${pad(i + 1, 4)}`; }

function buildOrganization() {
  return {
    resourceType: 'Organization',
    id: ORGANIZATION_ID,
    meta: meta(),
    identifier: [{ system: SYS.organizationId, value: 'SANDBOX-GH' }],
    active: true,
    type: [cc(SYS.organizationType, 'prov', 'Healthcare Provider')],
    name: 'Sandbox General Hospital (synthetic)',
    alias: ['SGH'],
    telecom: [{ system: 'phone', value: '555-0100', use: 'work' }],
    address: [{ use: 'work', line: ['1 Example Plaza'], city: 'Sampletown', state: 'MA', postalCode: '01901', country: 'US' }],
  };
}

function buildPractitioners() {
  return PRACTITIONERS.map((p, i) => {
    const id = practitionerId(i);
    const name = { use: 'official', family: p.family, given: [p.given] };
    if (p.prefix) name.prefix = [p.prefix];
    if (p.qual) name.suffix = [p.qual];
    return {
      resourceType: 'Practitioner',
      id,
      meta: meta(),
      identifier: [{ system: SYS.practitionerId, value: id.toUpperCase() }],
      active: true,
      name: [name],
      telecom: [{ system: 'email', value: `${p.given.toLowerCase()}.${p.family.toLowerCase()}@sandbox.example.test`, use: 'work' }],
      gender: p.gender,
      qualification: [{ code: { text: `${p.qual} (${p.role})` } }],
    };
  });
}

// ---------------------------------------------------------------------------
// Chart: collects one patient's resources and hands out deterministic ids.

class Chart {
  constructor(key, sex) {
    this.key = key; // "0001", "deceased", ...
    this.pid = `syn-${key}`;
    this.sex = sex;
    this.patient = null;
    this.encounters = [];
    this.conditions = [];
    this.allergies = [];
    this.requests = [];
    this.statements = [];
    this.observations = [];
    this.counters = new Map();
    this.slugs = new Set();
  }

  subject() { return ref('Patient', this.pid); }

  numbered(prefix, slug) {
    const k = `${prefix}-${slug}`;
    const n = (this.counters.get(k) ?? 0) + 1;
    this.counters.set(k, n);
    return `${prefix}-${this.key}-${slug}-${n}`;
  }

  unique(prefix, slug) {
    let id = `${prefix}-${this.key}-${slug}`;
    for (let n = 2; this.slugs.has(id); n++) id = `${prefix}-${this.key}-${slug}-${n}`;
    this.slugs.add(id);
    return id;
  }

  resources() {
    return [this.patient, ...this.encounters, ...this.conditions, ...this.allergies, ...this.requests, ...this.statements, ...this.observations];
  }

  // --- Encounter -----------------------------------------------------------
  encounter({ cls, start, end, type, practitioner, reason, status = 'finished', admitSource, discharge, omitParticipant = false, omitType = false, omitEnd = false, omitServiceProvider = false }) {
    const n = this.encounters.length + 1;
    const e = { resourceType: 'Encounter', id: `enc-${this.key}-${pad(n, 2)}`, meta: meta(), status };
    e.class = coding(SYS.actCode, cls, ENCOUNTER_CLASSES[cls]);
    if (!omitType) e.type = [sct(ENCOUNTER_TYPES[type])];
    e.subject = this.subject();
    if (practitioner && !omitParticipant) {
      e.participant = [{ type: [cc(SYS.participationType, 'ATND', 'attender')], individual: ref('Practitioner', practitioner) }];
    }
    e.period = { start: dateTime(start) };
    if (end != null && !omitEnd) e.period.end = dateTime(end);
    if (reason) e.reasonCode = [reasonConcept(reason)];
    if (admitSource || discharge) {
      e.hospitalization = {};
      if (admitSource) e.hospitalization.admitSource = cc(SYS.admitSource, admitSource[0], admitSource[1]);
      if (discharge) e.hospitalization.dischargeDisposition = cc(SYS.dischargeDisposition, discharge[0], discharge[1]);
    }
    if (!omitServiceProvider) e.serviceProvider = ref('Organization', ORGANIZATION_ID);
    this.encounters.push(e);
    return e;
  }

  // --- Condition -----------------------------------------------------------
  condition({ key, slug, clinical = 'active', verification = 'confirmed', category = 'problem-list-item', onset, abatement, recorded, encounter, recorder, icd = true, codeOverride, text, note, omitOnset = false }) {
    const def = CONDITIONS[key];
    const c = { resourceType: 'Condition', id: this.unique('cond', slug ?? kebab(key)), meta: meta() };
    if (clinical) c.clinicalStatus = cc(SYS.condClinical, clinical, CONDITION_CLINICAL[clinical]);
    if (verification) c.verificationStatus = cc(SYS.condVerification, verification, CONDITION_VERIFICATION[verification]);
    if (category) {
      c.category = [cc(SYS.condCategory, category, category === 'encounter-diagnosis' ? 'Encounter Diagnosis' : 'Problem List Item')];
    }
    if (codeOverride) {
      c.code = codeOverride;
    } else {
      c.code = { coding: [coding(SYS.snomed, def.snomed[0], def.snomed[1])] };
      if (icd) c.code.coding.push(coding(SYS.icd10cm, def.icd[0], def.icd[1]));
      c.code.text = text ?? def.text;
    }
    c.subject = this.subject();
    if (encounter) {
      c.encounter = ref('Encounter', encounter.id);
      (encounter.diagnosis ??= []).push({ condition: ref('Condition', c.id), rank: encounter.diagnosis.length + 1 });
    }
    if (onset != null && !omitOnset) c.onsetDateTime = dateTime(onset);
    if (abatement != null) c.abatementDateTime = dateTime(abatement);
    if (recorded != null) c.recordedDate = dateTime(recorded);
    if (recorder) c.recorder = ref('Practitioner', recorder);
    if (note) c.note = [{ text: note }];
    this.conditions.push(c);
    return c;
  }

  // --- AllergyIntolerance --------------------------------------------------
  allergy({ key, slug, clinical = 'active', verification = 'confirmed', criticality, severity, onset, onsetText, recorded, recorder, asserterPatient = false, note, reactions = true, reactionText, omitType = false, omitCategory = false, codeOverride, lastOccurrence }) {
    const def = ALLERGENS[key] ?? {};
    const a = { resourceType: 'AllergyIntolerance', id: this.unique('alg', slug ?? kebab(key)), meta: meta() };
    // FHIR ait-2: no clinicalStatus when the record is entered-in-error.
    if (clinical && verification !== 'entered-in-error') a.clinicalStatus = cc(SYS.allergyClinical, clinical, ALLERGY_CLINICAL[clinical]);
    if (verification) a.verificationStatus = cc(SYS.allergyVerification, verification, ALLERGY_VERIFICATION[verification]);
    if (!omitType && def.type) a.type = def.type;
    if (!omitCategory && def.category) a.category = [def.category];
    if (criticality) a.criticality = criticality;
    a.code = codeOverride ?? sct(def.code, def.text);
    a.patient = this.subject();
    if (onset != null) a.onsetDateTime = dateTime(onset);
    else if (onsetText) a.onsetString = onsetText;
    if (recorded != null) a.recordedDate = dateTime(recorded);
    if (recorder) a.recorder = ref('Practitioner', recorder);
    if (asserterPatient) a.asserter = this.subject();
    if (lastOccurrence != null) a.lastOccurrence = dateTime(lastOccurrence);
    if (note) a.note = [{ text: note }];
    if (reactions) {
      const r = { manifestation: def.reactions.map((m) => sct(m)) };
      if (reactionText) r.description = reactionText;
      if (severity) r.severity = severity;
      a.reaction = [r];
    }
    this.allergies.push(a);
    return a;
  }

  noKnownAllergies({ recorded, recorder }) {
    const a = { resourceType: 'AllergyIntolerance', id: this.unique('alg', 'nka'), meta: meta() };
    a.clinicalStatus = cc(SYS.allergyClinical, 'active', 'Active');
    a.verificationStatus = cc(SYS.allergyVerification, 'confirmed', 'Confirmed');
    a.code = sct(NO_KNOWN_ALLERGY, 'No known allergies');
    a.patient = this.subject();
    if (recorded != null) a.recordedDate = dateTime(recorded);
    if (recorder) a.recorder = ref('Practitioner', recorder);
    this.allergies.push(a);
    return a;
  }

  // --- MedicationRequest ---------------------------------------------------
  request({ med, slug, status = 'active', authored, encounter, requester, category = 'outpatient', reason, statusReason, refills, note }) {
    const def = MEDS[med];
    const r = { resourceType: 'MedicationRequest', id: this.numbered('mr', slug ?? medSlug(med)), meta: meta(), status };
    if (statusReason) r.statusReason = statusReason.coding ? statusReason : { text: statusReason };
    r.intent = 'order';
    if (category) r.category = [cc(SYS.medRequestCategory, category, MR_CATEGORY[category])];
    r.medicationCodeableConcept = medicationConcept(def);
    r.subject = this.subject();
    if (encounter) r.encounter = ref('Encounter', encounter.id);
    r.authoredOn = dateTime(authored);
    if (requester) r.requester = ref('Practitioner', requester);
    if (reason) r.reasonReference = [ref('Condition', reason.id)];
    if (note) r.note = [{ text: note }];
    r.dosageInstruction = [dosageFor(def)];
    if (!def.textOnly && def.supply) {
      const [qty, days] = def.supply;
      const form = def.supplyForm ?? def.form;
      r.dispenseRequest = {
        validityPeriod: { start: dateOnly(authored), end: dateOnly(authored + 365 * DAY_MS) },
        numberOfRepeatsAllowed: refills ?? 0,
        quantity: quantity(qty, form[0], form[1]),
        expectedSupplyDuration: { value: days, unit: 'days', system: SYS.ucum, code: 'd' },
      };
    }
    this.requests.push(r);
    return r;
  }

  // --- MedicationStatement -------------------------------------------------
  statement({ med, slug, medConcept, status = 'active', start, end, asserted, source = 'practitioner', sourceId, category = 'community', derivedFrom, reason, statusReason, sig, note, omitDosage = false, omitEffective = false, context }) {
    const def = MEDS[med] ?? { textOnly: true };
    const s = { resourceType: 'MedicationStatement', id: this.unique('ms', slug ?? medSlug(med)), meta: meta() };
    if (derivedFrom) s.derivedFrom = [ref('MedicationRequest', derivedFrom.id)];
    s.status = status;
    if (statusReason) s.statusReason = [statusReason.coding ? statusReason : { text: statusReason }];
    if (category) s.category = cc(SYS.medStatementCategory, category, MS_CATEGORY[category]);
    s.medicationCodeableConcept = medConcept ?? medicationConcept(def);
    s.subject = this.subject();
    if (context) s.context = ref('Encounter', context.id);
    if (!omitEffective && start != null) {
      s.effectivePeriod = { start: dateOnly(start) };
      if (end != null) s.effectivePeriod.end = dateOnly(end);
    }
    if (asserted != null) s.dateAsserted = dateTime(asserted);
    if (source === 'patient') s.informationSource = this.subject();
    else if (source === 'practitioner' && sourceId) s.informationSource = ref('Practitioner', sourceId);
    if (reason) s.reasonReference = [ref('Condition', reason.id)];
    if (note) s.note = [{ text: note }];
    if (!omitDosage) s.dosage = [dosageFor(def, { sig })];
    this.statements.push(s);
    return s;
  }

  // --- Observations --------------------------------------------------------
  observationBase(slug, category, code, encounter, when) {
    const o = { resourceType: 'Observation', id: this.numbered('obs', slug), meta: meta(), status: 'final' };
    o.category = [cc(SYS.obsCategory, category, category === 'laboratory' ? 'Laboratory' : 'Vital Signs')];
    o.code = code;
    o.subject = this.subject();
    if (encounter) o.encounter = ref('Encounter', encounter.id);
    if (when != null) o.effectiveDateTime = dateTime(when);
    return o;
  }

  lab(encounter, when, key, value, { absent, status, note, omitRange = false, omitInterpretation = false } = {}) {
    const def = LABS[key];
    const o = this.observationBase(key, 'laboratory', { coding: [coding(SYS.loinc, def.loinc, def.display)], text: def.text }, encounter, when);
    if (status) o.status = status;
    o.issued = new Date(when + 3 * HOUR_MS).toISOString().slice(0, 19) + 'Z';
    o.performer = [ref('Organization', ORGANIZATION_ID)];
    const range = rangeFor(def, this.sex);
    if (absent) {
      o.dataAbsentReason = cc(SYS.dataAbsent, absent.code, DATA_ABSENT[absent.code], absent.text);
    } else {
      const v = round(value, def.dp);
      o.valueQuantity = quantity(v, def.unit, def.ucum);
      const flag = interpret(v, range, def.crit);
      if (flag && !omitInterpretation) o.interpretation = [cc(SYS.interpretation, flag, INTERPRETATION[flag])];
    }
    if (note) o.note = [{ text: note }];
    if (range && !omitRange) {
      const rr = {};
      if (range[0] != null) rr.low = quantity(range[0], def.unit, def.ucum);
      if (range[1] != null) rr.high = quantity(range[1], def.unit, def.ucum);
      o.referenceRange = [rr];
    }
    this.observations.push(o);
    return o;
  }

  labs(encounter, when, values) {
    for (const [key, value] of Object.entries(values)) {
      if (value && typeof value === 'object') this.lab(encounter, when, key, null, { absent: value });
      else this.lab(encounter, when, key, value);
    }
  }

  vital(encounter, when, key, value) {
    const def = VITALS[key];
    const o = this.observationBase(key, 'vital-signs', { coding: [coding(SYS.loinc, def.loinc, def.display)], text: def.text }, encounter, when);
    const v = round(value, def.dp);
    o.valueQuantity = quantity(v, def.unit, def.ucum);
    const flag = interpret(v, def.range, null);
    if (flag) o.interpretation = [cc(SYS.interpretation, flag, INTERPRETATION[flag])];
    this.observations.push(o);
    return o;
  }

  bloodPressure(encounter, when, systolic, diastolic) {
    const o = this.observationBase('bp', 'vital-signs', { coding: [coding(SYS.loinc, VITALS.bp.loinc, VITALS.bp.display)], text: VITALS.bp.text }, encounter, when);
    o.component = [
      { code: cc(SYS.loinc, VITALS.systolic.loinc, VITALS.systolic.display), valueQuantity: quantity(Math.round(systolic), 'mmHg', 'mm[Hg]') },
      { code: cc(SYS.loinc, VITALS.diastolic.loinc, VITALS.diastolic.display), valueQuantity: quantity(Math.round(diastolic), 'mmHg', 'mm[Hg]') },
    ];
    this.observations.push(o);
    return o;
  }

  // v: { sys, dia, hr, rr, temp, spo2, weight, height } (any may be omitted)
  vitals(encounter, when, v) {
    if (v.sys != null) this.bloodPressure(encounter, when, v.sys, v.dia);
    if (v.hr != null) this.vital(encounter, when, 'hr', v.hr);
    if (v.rr != null) this.vital(encounter, when, 'rr', v.rr);
    if (v.temp != null) this.vital(encounter, when, 'temp', v.temp);
    if (v.spo2 != null) this.vital(encounter, when, 'spo2', v.spo2);
    if (v.weight != null) this.vital(encounter, when, 'weight', v.weight);
    if (v.height != null) this.vital(encounter, when, 'height', v.height);
    if (v.weight != null && v.height != null) {
      const w = round(v.weight, 1);
      const h = round(v.height, 1) / 100;
      this.vital(encounter, when, 'bmi', w / (h * h));
    }
  }
}

function reasonConcept(reason) {
  if (typeof reason === 'string') {
    const def = CONDITIONS[reason];
    return cc(SYS.snomed, def.snomed[0], def.snomed[1], def.text);
  }
  return reason; // a ready CodeableConcept (or text-only concept)
}

function patientResource({ id, mrn, oid, name, gender, birthDate, deceased, telecom, address, marital, language = 'en-US', gp, omitOrg = false }) {
  const p = { resourceType: 'Patient', id, meta: meta() };
  p.identifier = [{ use: 'usual', type: cc(SYS.identifierType, 'MR', 'Medical record number'), system: SYS.mrn, value: mrn }];
  if (oid) p.identifier.push({ use: 'secondary', system: SYS.exampleOid, value: oid });
  p.active = true;
  p.name = [name];
  if (telecom) p.telecom = telecom;
  p.gender = gender;
  if (birthDate) p.birthDate = birthDate;
  if (deceased != null) p.deceasedDateTime = dateTime(deceased);
  if (address) p.address = [address];
  if (marital) p.maritalStatus = cc(SYS.maritalStatus, marital[0], marital[1]);
  if (language) p.communication = [{ language: cc(SYS.bcp47, language, language === 'es' ? 'Spanish' : 'English (United States)'), preferred: true }];
  if (gp) p.generalPractitioner = [ref('Practitioner', gp)];
  if (!omitOrg) p.managingOrganization = ref('Organization', ORGANIZATION_ID);
  return p;
}

function fullName(given, family) {
  return { use: 'official', text: `${given} ${family}`, family, given: [given] };
}

// ---------------------------------------------------------------------------
// syn-0001 — Ana Synthetic-Example: the main demo patient.
//
// Story: type 2 diabetes, hypertension, hyperlipidaemia, CKD stage 3 (coded
// inconsistently: SNOMED stage 3 vs ICD-10-CM N18.4 stage 4). Admitted via
// the ED with hyperkalaemia on lisinopril + CKD; lisinopril stopped and
// amlodipine started. One potassium result came back hemolyzed (no value,
// dataAbsentReason). Penicillin and peanut allergies, an unconfirmed codeine
// intolerance and a latex entry marked entered-in-error.

function buildMainPatient() {
  const c = new Chart('0001', 'female');
  c.patient = patientResource({
    id: c.pid,
    mrn: 'SYN-000001',
    oid: '1000001',
    name: { ...fullName('Ana', 'Synthetic-Example'), prefix: ['Ms.'] },
    gender: 'female',
    birthDate: '1968-04-12',
    telecom: [
      { system: 'phone', value: '555-0101', use: 'home' },
      { system: 'phone', value: '555-0111', use: 'mobile', rank: 1 },
      { system: 'email', value: 'ana.synthetic-example@example.test' },
    ],
    address: { use: 'home', line: ['101 Example Street', 'Apt 4'], city: 'Sampletown', state: 'MA', postalCode: '01901', country: 'US' },
    marital: ['M', 'Married'],
    gp: PRAC.pcp,
  });

  const height = 165.0;
  // Encounters (days before the reference date).
  const e01 = c.encounter({ cls: 'AMB', type: 'problem', start: at(700, 10, 15), end: at(700, 10, 40), practitioner: PRAC.pcp, reason: 'bronchitis' });
  const e02 = c.encounter({ cls: 'AMB', type: 'checkup', start: at(640, 8, 30), end: at(640, 9, 10), practitioner: PRAC.pcp });
  const e03 = c.encounter({ cls: 'AMB', type: 'followup', start: at(540, 14, 0), end: at(540, 14, 25), practitioner: PRAC.pcp, reason: 't2dm' });
  const e04 = c.encounter({ cls: 'VR', type: 'telehealth', start: at(470, 16, 0), end: at(470, 16, 15), practitioner: PRAC.pcp, reason: { text: 'Medication review' } });
  const e05 = c.encounter({ cls: 'EMER', type: 'emergency', start: at(395, 13, 5), end: at(395, 18, 40), practitioner: PRAC.ed, reason: { text: 'Weakness and palpitations' } });
  const e06 = c.encounter({ cls: 'IMP', type: 'admission', start: at(395, 18, 40), end: at(392, 11, 0), practitioner: PRAC.hosp, reason: 'hyperkalemia', admitSource: ['emd', 'From accident/emergency department'], discharge: ['home', 'Home'] });
  const e07 = c.encounter({ cls: 'AMB', type: 'followup', start: at(380, 9, 0), end: at(380, 9, 30), practitioner: PRAC.pcp, reason: { text: 'Post-discharge follow-up' } });
  const e08 = c.encounter({ cls: 'VR', type: 'telehealth', start: at(300, 17, 30), end: at(300, 17, 45), practitioner: PRAC.pcp, reason: 'htn' });
  const e09 = c.encounter({ cls: 'AMB', type: 'checkup', start: at(200, 8, 45), end: at(200, 9, 30), practitioner: PRAC.pcp });
  const e10 = c.encounter({ cls: 'VR', type: 'telehealth', start: at(120, 12, 0), end: at(120, 12, 20), practitioner: PRAC.pcp, reason: { text: 'Heartburn' } });
  const e11 = c.encounter({ cls: 'AMB', type: 'followup', start: at(30, 10, 0), end: at(30, 10, 30), practitioner: PRAC.pcp, reason: 't2dm' });

  // Conditions.
  const t2dm = c.condition({ key: 't2dm', onset: at(2600), recorded: at(2600, 11), recorder: PRAC.pcp });
  const htn = c.condition({ key: 'htn', onset: at(3300), recorded: at(3300, 10), recorder: PRAC.pcp });
  const hld = c.condition({ key: 'hld', onset: at(2400), recorded: at(2400, 9), recorder: PRAC.pcp, icd: false });
  c.condition({
    key: 'ckd3', onset: at(640), recorded: at(640, 9, 5), recorder: PRAC.pcp, encounter: e02,
    // Conflicting codings: SNOMED says stage 3, the billing ICD-10-CM code says stage 4.
    codeOverride: {
      coding: [
        coding(SYS.snomed, '433144002', 'Chronic kidney disease stage 3 (disorder)'),
        coding(SYS.icd10cm, 'N18.4', 'Chronic kidney disease, stage 4 (severe)'),
      ],
      text: 'Chronic kidney disease',
    },
  });
  c.condition({ key: 'bronchitis', category: 'encounter-diagnosis', clinical: 'resolved', onset: at(703), abatement: at(680), recorded: at(700, 10, 30), encounter: e01, recorder: PRAC.pcp });
  const hyperK = c.condition({ key: 'hyperkalemia', category: 'encounter-diagnosis', clinical: 'resolved', onset: at(395, 13), abatement: at(388), recorded: at(395, 15), encounter: e05, recorder: PRAC.ed });
  e06.diagnosis = [{ condition: ref('Condition', hyperK.id), rank: 1 }];
  c.condition({ key: 'gerd', verification: 'provisional', onset: at(150), recorded: at(120, 12, 15), encounter: e10, recorder: PRAC.pcp, icd: false, note: 'Symptoms suggest reflux; trial of PPI. Confirm if symptoms persist.' });

  // Allergies.
  c.allergy({ key: 'penicillin', criticality: 'high', severity: 'severe', onsetText: 'Childhood', recorded: at(3300, 10, 10), recorder: PRAC.pcp, reactionText: 'Hives and lip swelling after amoxicillin' });
  c.allergy({ key: 'peanut', criticality: 'low', severity: 'mild', onsetText: 'Adolescence', recorded: at(2600, 11, 5), recorder: PRAC.pcp, reactionText: 'Itchy mouth' });
  c.allergy({ key: 'codeine', verification: 'unconfirmed', criticality: 'low', severity: 'mild', recorded: at(640, 8, 50), asserterPatient: true, reactionText: 'Nausea after cough syrup with codeine (patient report)' });
  c.allergy({ key: 'latex', verification: 'entered-in-error', recorded: at(540, 14, 10), recorder: PRAC.pcp, reactions: false, note: 'Entered on the wrong patient chart; see incident report.' });

  // Medication orders.
  const rxLisinopril = c.request({ med: 'lisinopril10', slug: 'lisinopril', status: 'stopped', authored: at(640, 9), encounter: e02, requester: PRAC.pcp, reason: htn, refills: 3, statusReason: { coding: [coding(SYS.snomed, '14140009', 'Hyperkalemia (disorder)')], text: 'Hyperkalemia' } });
  c.request({ med: 'metforminEr500', slug: 'metformin', status: 'completed', authored: at(540, 14, 10), encounter: e03, requester: PRAC.pcp, reason: t2dm, refills: 3 });
  c.request({ med: 'amlodipine5', slug: 'amlodipine', status: 'completed', category: 'discharge', authored: at(392, 10), encounter: e06, requester: PRAC.hosp, reason: htn, refills: 0 });
  const rxMetformin = c.request({ med: 'metforminEr500', slug: 'metformin', authored: at(200, 9, 15), encounter: e09, requester: PRAC.pcp, reason: t2dm, refills: 3 });
  const rxAmlodipine = c.request({ med: 'amlodipine5', slug: 'amlodipine', authored: at(200, 9, 16), encounter: e09, requester: PRAC.pcp, reason: htn, refills: 3 });
  const rxSimva = c.request({ med: 'simvastatin20', slug: 'simvastatin', authored: at(200, 9, 17), encounter: e09, requester: PRAC.pcp, reason: hld, refills: 3 });

  // Medication list (what the med-rec app reconciles).
  c.statement({ med: 'metforminEr500', slug: 'metformin', start: at(2590), asserted: at(30, 10, 10), sourceId: PRAC.pcp, derivedFrom: rxMetformin, reason: t2dm });
  c.statement({ med: 'amlodipine5', slug: 'amlodipine', start: at(392), asserted: at(30, 10, 10), sourceId: PRAC.pcp, derivedFrom: rxAmlodipine, reason: htn });
  c.statement({ med: 'simvastatin20', slug: 'simvastatin', start: at(2380), asserted: at(30, 10, 10), sourceId: PRAC.pcp, derivedFrom: rxSimva, reason: hld });
  c.statement({ med: 'lisinopril10', slug: 'lisinopril', status: 'stopped', start: at(3280), end: at(394), asserted: at(394, 9), sourceId: PRAC.hosp, derivedFrom: rxLisinopril, reason: htn, statusReason: { coding: [coding(SYS.snomed, '14140009', 'Hyperkalemia (disorder)')], text: 'Stopped for hyperkalemia' } });
  c.statement({ med: 'aspirin81', slug: 'aspirin', start: at(1800), asserted: at(30, 10, 10), source: 'patient', category: 'patientspecified' });
  c.statement({ med: 'omeprazoleOtc', slug: 'omeprazole', start: at(150), asserted: at(120, 12, 10), source: 'patient', category: 'patientspecified' });
  c.statement({ med: 'ibuprofen200', slug: 'ibuprofen', status: 'stopped', start: at(400), end: at(120), asserted: at(120, 12, 5), source: 'patient', category: 'patientspecified', statusReason: 'Advised to avoid NSAIDs because of chronic kidney disease', sig: 'Was taking 2 tablets 2-3 times a day for knee pain' });

  // Vital signs.
  c.vitals(e01, at(700, 10, 20), { sys: 138, dia: 86, hr: 92, rr: 20, temp: 38.1, spo2: 96, weight: 87.5, height });
  c.vitals(e02, at(640, 8, 35), { sys: 148, dia: 92, hr: 78, rr: 16, temp: 36.8, spo2: 98, weight: 86.9, height });
  c.vitals(e03, at(540, 14, 5), { sys: 146, dia: 90, hr: 76, rr: 16, temp: 36.7, spo2: 98, weight: 86.0, height });
  c.vitals(e05, at(395, 13, 15), { sys: 158, dia: 94, hr: 54, rr: 18, temp: 36.9, spo2: 97, weight: 85.2, height });
  c.vitals(e06, at(394, 8, 0), { sys: 150, dia: 90, hr: 62, rr: 16, temp: 36.8, spo2: 97 });
  c.vitals(e06, at(393, 8, 0), { sys: 142, dia: 86, hr: 70, rr: 16, temp: 36.6, spo2: 98 });
  c.vitals(e07, at(380, 9, 5), { sys: 138, dia: 86, hr: 72, rr: 16, temp: 36.7, spo2: 98, weight: 84.8, height });
  c.vitals(e09, at(200, 8, 50), { sys: 132, dia: 82, hr: 74, rr: 14, temp: 36.6, spo2: 98, weight: 83.1, height });
  c.vitals(e11, at(30, 10, 5), { sys: 128, dia: 78, hr: 71, rr: 14, temp: 36.7, spo2: 99, weight: 82.4, height });

  // Laboratory results.
  c.labs(e02, at(640, 8, 40), {
    hba1c: 8.4, sodium: 139, potassium: 4.6, glucose: 182, bun: 22, creatinine: 1.31, egfr: 46,
    wbc: 7.1, hemoglobin: 12.4, hematocrit: 37.5, platelets: 262,
    cholesterol: 214, ldl: 131, hdl: 44, triglycerides: 196, uacr: 48,
  });
  c.labs(e03, at(540, 14, 10), { hba1c: 7.9, potassium: 5.2, creatinine: 1.38, egfr: 43 });
  c.labs(e05, at(395, 13, 30), {
    sodium: 137, potassium: 6.1, glucose: 210, bun: 31, creatinine: 1.71, egfr: 33,
    wbc: 9.8, hemoglobin: 11.6, hematocrit: 35.1, platelets: 248,
  });
  c.labs(e06, at(394, 6, 0), { potassium: 5.3, creatinine: 1.55 });
  c.labs(e06, at(394, 18, 0), { potassium: { code: 'error', text: 'Specimen hemolyzed; recollect' } });
  c.labs(e06, at(393, 6, 0), { sodium: 139, potassium: 4.7, creatinine: 1.47, egfr: 38 });
  c.labs(e07, at(380, 9, 10), { sodium: 140, potassium: 4.8, glucose: 151, bun: 24, creatinine: 1.42, egfr: 41 });
  c.labs(e09, at(200, 8, 55), {
    hba1c: 7.2, cholesterol: 188, ldl: 104, hdl: 47, triglycerides: 170,
    wbc: 6.6, hemoglobin: 11.9, hematocrit: 36.2, platelets: 251, uacr: 36,
  });
  c.labs(e11, at(30, 10, 10), { hba1c: 6.9, sodium: 140, potassium: 4.5, glucose: 131, bun: 21, creatinine: 1.33, egfr: 45 });

  return c;
}

// ---------------------------------------------------------------------------
// syn-0002 — Marcus Sample-Example: second complete patient (used to show a
// denied cross-patient read). Asthma, hypothyroidism, depression in
// remission; a penicillin allergy that was refuted by an oral challenge
// (then treated with penicillin V), shellfish and grass pollen allergies.

function buildSecondPatient() {
  const c = new Chart('0002', 'male');
  c.patient = patientResource({
    id: c.pid,
    mrn: 'SYN-000002',
    oid: '1000002',
    name: fullName('Marcus', 'Sample-Example'),
    gender: 'male',
    birthDate: '1985-09-23',
    telecom: [{ system: 'phone', value: '555-0102', use: 'mobile' }, { system: 'email', value: 'marcus.sample-example@example.test' }],
    address: { use: 'home', line: ['22 Sample Avenue'], city: 'Exampleville', state: 'MA', postalCode: '01902', country: 'US' },
    marital: ['S', 'Never Married'],
    gp: PRAC.fm,
  });
  const height = 181.0;
  const e01 = c.encounter({ cls: 'AMB', type: 'checkup', start: at(600, 9, 0), end: at(600, 9, 40), practitioner: PRAC.fm });
  const e02 = c.encounter({ cls: 'EMER', type: 'emergency', start: at(420, 2, 10), end: at(420, 7, 30), practitioner: PRAC.ed, reason: 'asthmaExacerbation' });
  const e03 = c.encounter({ cls: 'IMP', type: 'admission', start: at(420, 7, 30), end: at(418, 12, 0), practitioner: PRAC.hosp, reason: 'asthmaExacerbation', admitSource: ['emd', 'From accident/emergency department'], discharge: ['home', 'Home'] });
  const e04 = c.encounter({ cls: 'VR', type: 'telehealth', start: at(300, 18, 0), end: at(300, 18, 20), practitioner: PRAC.fm, reason: 'depression' });
  const e05 = c.encounter({ cls: 'AMB', type: 'problem', start: at(262, 15, 0), end: at(262, 15, 20), practitioner: PRAC.np, reason: 'strep' });
  const e06 = c.encounter({ cls: 'AMB', type: 'problem', start: at(150, 11, 0), end: at(150, 11, 30), practitioner: PRAC.fm, reason: 'ankleSprain' });
  const e07 = c.encounter({ cls: 'AMB', type: 'checkup', start: at(90, 9, 0), end: at(90, 9, 40), practitioner: PRAC.fm });
  const e08 = c.encounter({ cls: 'VR', type: 'telehealth', start: at(20, 17, 0), end: at(20, 17, 15), practitioner: PRAC.fm, reason: 'asthma' });

  const asthma = c.condition({ key: 'asthma', onset: at(9000), recorded: at(2000, 10), recorder: PRAC.fm });
  const hypo = c.condition({ key: 'hypothyroid', onset: at(1500), recorded: at(1500, 10), recorder: PRAC.fm });
  const dep = c.condition({ key: 'depression', clinical: 'remission', onset: at(1100), recorded: at(1100, 10), recorder: PRAC.fm });
  const exac = c.condition({ key: 'asthmaExacerbation', slug: 'asthma-exacerbation', category: 'encounter-diagnosis', clinical: 'resolved', onset: at(421), abatement: at(410), recorded: at(420, 3), encounter: e02, recorder: PRAC.ed });
  e03.diagnosis = [{ condition: ref('Condition', exac.id), rank: 1 }];
  const strep = c.condition({ key: 'strep', category: 'encounter-diagnosis', clinical: 'resolved', onset: at(264), abatement: at(252), recorded: at(262, 15, 10), encounter: e05, recorder: PRAC.np });
  c.condition({ key: 'ankleSprain', slug: 'ankle-sprain', category: 'encounter-diagnosis', clinical: 'resolved', onset: at(151), abatement: at(115), recorded: at(150, 11, 15), encounter: e06, recorder: PRAC.fm });

  c.allergy({ key: 'shellfish', criticality: 'high', severity: 'moderate', onsetText: 'Age 20', recorded: at(2000, 10, 5), recorder: PRAC.fm, reactionText: 'Hives within an hour of eating shrimp' });
  c.allergy({ key: 'penicillin', clinical: 'inactive', verification: 'refuted', criticality: 'low', recorded: at(2000, 10, 6), recorder: PRAC.fm, reactions: false, note: 'Childhood "rash" history. Negative oral amoxicillin challenge; allergy label removed.', lastOccurrence: at(9500) });
  c.allergy({ key: 'grassPollen', criticality: 'low', severity: 'mild', onsetText: 'Childhood', recorded: at(600, 9, 20), asserterPatient: true });

  const rxFlut = c.request({ med: 'fluticasone', authored: at(90, 9, 30), encounter: e07, requester: PRAC.fm, reason: asthma, refills: 5 });
  const rxAlb = c.request({ med: 'albuterol', authored: at(90, 9, 31), encounter: e07, requester: PRAC.fm, reason: asthma, refills: 2 });
  const rxLevo = c.request({ med: 'levothyroxine75', authored: at(90, 9, 32), encounter: e07, requester: PRAC.fm, reason: hypo, refills: 3 });
  const rxSert = c.request({ med: 'sertraline100', status: 'stopped', authored: at(600, 9, 30), encounter: e01, requester: PRAC.fm, reason: dep, refills: 5, statusReason: 'Tapered off; depression in remission' });
  c.request({ med: 'prednisone5', status: 'completed', category: 'discharge', authored: at(418, 11), encounter: e03, requester: PRAC.hosp, reason: exac });
  c.request({ med: 'penicillinV250', status: 'completed', authored: at(262, 15, 15), encounter: e05, requester: PRAC.np, reason: strep });
  c.request({ med: 'ibuprofen200', status: 'completed', authored: at(150, 11, 20), encounter: e06, requester: PRAC.fm });

  c.statement({ med: 'fluticasone', start: at(2000), asserted: at(20, 17, 10), sourceId: PRAC.fm, derivedFrom: rxFlut, reason: asthma });
  c.statement({ med: 'albuterol', start: at(2000), asserted: at(20, 17, 10), sourceId: PRAC.fm, derivedFrom: rxAlb, reason: asthma });
  c.statement({ med: 'levothyroxine75', start: at(1500), asserted: at(20, 17, 10), sourceId: PRAC.fm, derivedFrom: rxLevo, reason: hypo });
  c.statement({ med: 'sertraline100', status: 'stopped', start: at(1100), end: at(300), asserted: at(300, 18, 10), sourceId: PRAC.fm, derivedFrom: rxSert, reason: dep, statusReason: 'Depression in remission; tapered off' });
  c.statement({ med: 'vitaminD', slug: 'vitamin-d', start: at(700), asserted: at(90, 9, 5), source: 'patient', category: 'patientspecified' });

  c.vitals(e01, at(600, 9, 5), { sys: 124, dia: 80, hr: 68, rr: 14, temp: 36.6, spo2: 99, weight: 84.0, height });
  c.vitals(e02, at(420, 2, 20), { sys: 136, dia: 84, hr: 118, rr: 26, temp: 37.1, spo2: 90, weight: 84.5, height });
  c.vitals(e03, at(419, 8, 0), { sys: 128, dia: 80, hr: 96, rr: 20, temp: 36.9, spo2: 94 });
  c.vitals(e05, at(262, 15, 5), { sys: 122, dia: 78, hr: 88, rr: 16, temp: 38.6, spo2: 98, weight: 83.2, height });
  c.vitals(e06, at(150, 11, 5), { sys: 126, dia: 82, hr: 74, rr: 14, temp: 36.7, spo2: 99, weight: 83.8, height });
  c.vitals(e07, at(90, 9, 5), { sys: 120, dia: 78, hr: 66, rr: 14, temp: 36.6, spo2: 99, weight: 83.0, height });

  c.labs(e01, at(600, 9, 15), { tsh: 5.8, sodium: 141, potassium: 4.1, glucose: 92, bun: 14, creatinine: 0.98, egfr: 90, wbc: 6.2, hemoglobin: 15.1, hematocrit: 44.8, platelets: 231, cholesterol: 196, ldl: 118, hdl: 49, triglycerides: 145 });
  c.labs(e02, at(420, 2, 40), { wbc: 11.8, hemoglobin: 15.4, hematocrit: 45.9, platelets: 288, sodium: 139, potassium: 3.4, glucose: 148, bun: 13, creatinine: 0.95, egfr: 92 });
  c.labs(e07, at(90, 9, 15), { tsh: 2.1, wbc: 5.9, hemoglobin: 15.0, hematocrit: 44.1, platelets: 240 });
  return c;
}

// ---------------------------------------------------------------------------
// syn-deceased — Walter Specimen-Example: died in hospital (deceasedDateTime)
// after an admission for pneumonia on a background of COPD, heart failure and
// atrial fibrillation. As in many real charts, his warfarin statement was
// never closed out after death. "No known allergies" is recorded explicitly.

function buildDeceasedPatient() {
  const c = new Chart('deceased', 'male');
  const death = at(410, 4, 35);
  c.patient = patientResource({
    id: c.pid,
    mrn: 'SYN-000900',
    oid: '1000900',
    name: fullName('Walter', 'Specimen-Example'),
    gender: 'male',
    birthDate: '1943-02-03',
    deceased: death,
    telecom: [{ system: 'phone', value: '555-0190', use: 'home' }],
    address: { use: 'home', line: ['9 Fixture Way'], city: 'Testburg', state: 'MA', postalCode: '01903', country: 'US' },
    marital: ['W', 'Widowed'],
    gp: PRAC.pcp,
  });
  const height = 172.0;
  const e01 = c.encounter({ cls: 'AMB', type: 'checkup', start: at(1000, 10, 0), end: at(1000, 10, 45), practitioner: PRAC.pcp });
  const e02 = c.encounter({ cls: 'AMB', type: 'followup', start: at(800, 11, 0), end: at(800, 11, 30), practitioner: PRAC.cardio, reason: 'afib' });
  const e03 = c.encounter({ cls: 'VR', type: 'telehealth', start: at(600, 15, 0), end: at(600, 15, 20), practitioner: PRAC.pcp, reason: 'hf' });
  const e04 = c.encounter({ cls: 'AMB', type: 'followup', start: at(500, 9, 30), end: at(500, 10, 0), practitioner: PRAC.pulm, reason: 'copd' });
  const e05 = c.encounter({ cls: 'EMER', type: 'emergency', start: at(418, 20, 10), end: at(418, 23, 50), practitioner: PRAC.ed, reason: { text: 'Shortness of breath and fever' } });
  const e06 = c.encounter({ cls: 'IMP', type: 'admission', start: at(418, 23, 50), end: death, practitioner: PRAC.hosp, reason: 'pneumonia', admitSource: ['emd', 'From accident/emergency department'], discharge: ['exp', 'Expired'] });

  const copd = c.condition({ key: 'copd', onset: at(4000), recorded: at(4000, 10), recorder: PRAC.pulm });
  const hf = c.condition({ key: 'hf', onset: at(1500), recorded: at(1500, 10), recorder: PRAC.cardio });
  const afib = c.condition({ key: 'afib', onset: at(1200), recorded: at(1200, 10), recorder: PRAC.cardio });
  c.condition({ key: 'htn', onset: at(7000), recorded: at(5000, 10), recorder: PRAC.pcp });
  const pna = c.condition({ key: 'pneumonia', category: 'encounter-diagnosis', onset: at(420), recorded: at(418, 21), encounter: e05, recorder: PRAC.ed });
  e06.diagnosis = [{ condition: ref('Condition', pna.id), rank: 1 }];

  c.noKnownAllergies({ recorded: at(1000, 10, 10), recorder: PRAC.pcp });

  const rxWarf = c.request({ med: 'warfarin5', status: 'stopped', authored: at(800, 11, 20), encounter: e02, requester: PRAC.cardio, reason: afib, refills: 11, statusReason: 'Patient deceased' });
  const rxFuro = c.request({ med: 'furosemide40', status: 'stopped', authored: at(800, 11, 21), encounter: e02, requester: PRAC.cardio, reason: hf, refills: 11, statusReason: 'Patient deceased' });
  const rxAlb = c.request({ med: 'albuterol', status: 'stopped', authored: at(500, 9, 50), encounter: e04, requester: PRAC.pulm, reason: copd, refills: 5, statusReason: 'Patient deceased' });
  c.request({ med: 'azithromycin250', status: 'stopped', category: 'inpatient', authored: at(418, 23, 55), encounter: e06, requester: PRAC.hosp, reason: pna, statusReason: 'Patient deceased' });

  // Never closed out after death (a real-world data-quality pattern).
  c.statement({ med: 'warfarin5', start: at(1200), asserted: at(500, 9, 40), sourceId: PRAC.pulm, derivedFrom: rxWarf, reason: afib });
  c.statement({ med: 'furosemide40', status: 'stopped', start: at(1500), end: death, asserted: at(409, 9), sourceId: PRAC.hosp, derivedFrom: rxFuro, reason: hf, statusReason: 'Patient deceased' });
  c.statement({ med: 'albuterol', status: 'stopped', start: at(4000), end: death, asserted: at(409, 9), sourceId: PRAC.hosp, derivedFrom: rxAlb, reason: copd, statusReason: 'Patient deceased' });

  c.vitals(e01, at(1000, 10, 5), { sys: 142, dia: 84, hr: 82, rr: 18, temp: 36.6, spo2: 94, weight: 78.0, height });
  c.vitals(e02, at(800, 11, 5), { sys: 136, dia: 80, hr: 96, rr: 18, temp: 36.7, spo2: 93, weight: 79.4, height });
  c.vitals(e04, at(500, 9, 35), { sys: 130, dia: 76, hr: 88, rr: 20, temp: 36.8, spo2: 92, weight: 76.1, height });
  c.vitals(e05, at(418, 20, 20), { sys: 102, dia: 58, hr: 124, rr: 30, temp: 39.1, spo2: 84, weight: 74.0, height });
  c.vitals(e06, at(417, 8, 0), { sys: 98, dia: 56, hr: 118, rr: 28, temp: 38.7, spo2: 88 });
  c.vitals(e06, at(413, 8, 0), { sys: 92, dia: 50, hr: 126, rr: 32, temp: 38.9, spo2: 85 });

  c.labs(e01, at(1000, 10, 15), { sodium: 138, potassium: 4.4, glucose: 104, bun: 24, creatinine: 1.21, egfr: 58, bnp: 310, wbc: 7.4, hemoglobin: 13.1, hematocrit: 39.6, platelets: 205 });
  c.labs(e02, at(800, 11, 10), { sodium: 137, potassium: 4.2, creatinine: 1.26, egfr: 55, bnp: 420 });
  c.labs(e05, at(418, 20, 40), { sodium: 131, potassium: 5.0, glucose: 156, bun: 44, creatinine: 1.89, egfr: 34, bnp: 1210, wbc: 18.6, hemoglobin: 11.8, hematocrit: 35.9, platelets: 142 });
  c.labs(e06, at(416, 6, 0), { sodium: 129, potassium: 5.4, bun: 58, creatinine: 2.41, egfr: 26, wbc: 22.3 });
  c.labs(e06, at(412, 6, 0), { sodium: 127, potassium: 5.9, bun: 71, creatinine: 3.05, egfr: 19, wbc: 24.9, hemoglobin: 10.6, hematocrit: 32.4, platelets: 98 });
  return c;
}

// ---------------------------------------------------------------------------
// syn-empty — a Patient with no other data at all.

function buildEmptyPatient() {
  const c = new Chart('empty', 'female');
  c.patient = patientResource({
    id: c.pid,
    mrn: 'SYN-000901',
    name: fullName('Eve', 'Empty-Example'),
    gender: 'female',
    birthDate: '1990-06-15',
    telecom: [{ system: 'phone', value: '555-0191', use: 'mobile' }],
    address: { use: 'home', line: ['5 Placeholder Court'], city: 'Synthfield', state: 'MA', postalCode: '01904', country: 'US' },
  });
  return c;
}

// ---------------------------------------------------------------------------
// syn-sparse — sparse demographics (no birthDate, address or telecom; gender
// unknown) and a little loosely-coded data with optional fields missing.

function buildSparsePatient() {
  const c = new Chart('sparse', 'unknown');
  c.patient = patientResource({
    id: c.pid,
    mrn: 'SYN-000902',
    name: { family: 'Sparse-Example' },
    gender: 'unknown',
    language: null,
    omitOrg: true,
  });
  const e01 = c.encounter({ cls: 'AMB', start: at(75, 13, 0), omitType: true, omitEnd: true, omitServiceProvider: true });
  // Free-text problem with no coding, no verificationStatus, category or onset.
  c.condition({ slug: 'back-pain', verification: null, category: null, codeOverride: { text: 'Back pain' } });
  // Free-text allergy: no coding, type, category, criticality or reactions.
  c.allergy({ slug: 'sulfa', verification: null, reactions: false, codeOverride: { text: 'Sulfa drugs' } });
  // Patient cannot name the drug: status unknown, no dosage, no dates.
  c.statement({ slug: 'unknown-bp-pill', medConcept: { text: 'Blood pressure pill (patient unsure of name)' }, status: 'unknown', category: null, source: 'patient', omitDosage: true });
  c.vital(e01, at(75, 13, 10), 'hr', 82);
  // Point-of-care glucose without encounter link, reference range or flag.
  c.lab(null, at(75, 13, 20), 'glucose', 118, { status: 'preliminary', omitRange: true, omitInterpretation: true });
  return c;
}

// ---------------------------------------------------------------------------
// Generated patients syn-0003 … syn-NNNN.

const CHRONIC_RULES = [
  // key, probability(age, sex)
  ['htn', (a) => (a >= 60 ? 0.5 : a >= 45 ? 0.3 : 0.08)],
  ['t2dm', (a) => (a >= 45 ? 0.22 : 0.05)],
  ['hld', (a) => (a >= 40 ? 0.35 : 0.08)],
  ['asthma', () => 0.1],
  ['hypothyroid', (a, s) => (s === 'female' ? 0.12 : 0.04)],
  ['depression', () => 0.14],
  ['gerd', () => 0.14],
  ['oaKnee', (a) => (a >= 55 ? 0.3 : 0.02)],
  ['obesity', () => 0.22],
  ['copd', (a) => (a >= 55 ? 0.1 : 0.01)],
  ['afib', (a) => (a >= 65 ? 0.14 : 0.01)],
  ['migraine', (a, s) => (a < 55 ? (s === 'female' ? 0.15 : 0.05) : 0.02)],
];

const CLASS_WEIGHTS = [['AMB', 62], ['VR', 20], ['EMER', 12], ['IMP', 6]];
const ALLERGY_POOL = ['penicillin', 'codeine', 'aspirin', 'ibuprofen', 'peanut', 'shellfish', 'eggs', 'latex', 'grassPollen', 'beeVenom'];

function buildGeneratedPatient(n, seed) {
  const rng = new Rng(fnv1a(`${seed >>> 0}:syn-${n}`));
  const key = pad(n, 4);
  const g = rng.float();
  const sex = g < 0.49 ? 'female' : g < 0.97 ? 'male' : 'other';
  const age = rng.int(19, 91);
  const c = new Chart(key, sex);
  const given = rng.pick(sex === 'female' ? GIVEN_FEMALE : sex === 'male' ? GIVEN_MALE : GIVEN_OTHER);
  const family = `${rng.pick(SURNAME_PREFIX)}-${rng.pick(SURNAME_SUFFIX)}`;
  const birthMs = REF_MS - Math.floor(age * 365.25 + rng.int(1, 360)) * DAY_MS;
  const [city, zip] = rng.pick(CITIES);
  const gp = rng.pick([PRAC.pcp, PRAC.fm, PRAC.np]);
  const spanish = rng.chance(0.12);
  const telecom = [{ system: 'phone', value: `555-01${pad(rng.int(20, 89), 2)}`, use: rng.chance(0.7) ? 'mobile' : 'home' }];
  if (rng.chance(0.6)) telecom.push({ system: 'email', value: `${given.toLowerCase()}.${family.toLowerCase()}@example.test` });
  const marital = age < 25 ? ['S', 'Never Married'] : rng.pick([['M', 'Married'], ['S', 'Never Married'], ['D', 'Divorced'], ['W', 'Widowed'], ['M', 'Married']]);
  c.patient = patientResource({
    id: c.pid,
    mrn: `SYN-${pad(n, 6)}`,
    oid: rng.chance(0.5) ? String(1000000 + n) : undefined,
    name: fullName(given, family),
    gender: sex,
    birthDate: dateOnly(birthMs),
    telecom,
    address: rng.chance(0.92) ? { use: 'home', line: [`${rng.int(2, 980)} ${rng.pick(STREETS)}`], city, state: 'MA', postalCode: zip, country: 'US' } : undefined,
    marital: rng.chance(0.85) ? marital : undefined,
    language: spanish ? 'es' : 'en-US',
    gp,
  });

  // --- problem list ---------------------------------------------------------
  const has = new Set();
  for (const [k, p] of CHRONIC_RULES) if (rng.chance(p(age, sex))) has.add(k);
  if (!has.has('t2dm') && age >= 35 && rng.chance(0.12)) has.add('prediabetes');
  if ((has.has('t2dm') || has.has('htn')) && age >= 60 && rng.chance(0.3)) has.add('ckd3');
  if (has.has('afib') && rng.chance(0.4)) has.add('hf');
  if (rng.chance(0.06)) has.add('anemia');

  // --- allergies ------------------------------------------------------------
  const allergyKeys = [];
  const nAllergies = rng.weighted([[0, 45], [1, 30], [2, 18], [3, 7]]);
  while (allergyKeys.length < nAllergies) {
    const k = rng.pick(ALLERGY_POOL);
    if (!allergyKeys.includes(k)) allergyKeys.push(k);
  }
  let penicillinAllergic = false;

  // --- encounters -----------------------------------------------------------
  const nEnc = rng.int(3, 7);
  const days = new Set();
  while (days.size < nEnc) days.add(rng.int(3, 1090));
  const plan = [...days].sort((a, b) => b - a).map((d, i) => ({ day: d, cls: i === 0 ? 'AMB' : rng.weighted(CLASS_WEIGHTS) }));
  // An IMP pick becomes an ED visit followed by an admission.
  // Chronic problems started before the first visit recorded here (onset in days ago).
  const adultYears = Math.max(1, age - 18);
  const chronic = new Map();
  for (const k of Object.keys(CONDITIONS)) {
    if (!has.has(k)) continue;
    chronic.set(k, { onsetDays: plan[0].day + rng.int(0, Math.min(adultYears, 20) * 365) });
  }
  const chronicKeys = [...chronic.keys()];

  // Baselines for vitals and labs.
  const height = sex === 'female' ? rng.normal(163, 6.5) : sex === 'male' ? rng.normal(177, 7) : rng.normal(170, 8);
  const bmi0 = has.has('obesity') ? rng.clampedNormal(34, 3, 30.5, 45) : rng.clampedNormal(25.5, 3, 18.5, 29.9);
  let weight = bmi0 * (height / 100) * (height / 100);
  const bp0 = has.has('htn') ? [rng.normal(142, 8), rng.normal(88, 5)] : [rng.normal(120, 8), rng.normal(77, 5)];
  const hr0 = has.has('afib') ? rng.normal(88, 8) : rng.normal(72, 6);
  const spo20 = has.has('copd') ? rng.normal(93, 1.2) : rng.normal(97.5, 0.8);
  const base = labBaselines(rng, has, sex, age);

  const conditionRes = new Map();
  const meds = [];
  let lastRoutine = null; // latest non-acute AMB/VR visit: where chronic meds are renewed

  for (let i = 0; i < plan.length; i++) {
    const { day, cls } = plan[i];
    const startHour = cls === 'EMER' || cls === 'IMP' ? rng.int(0, 23) : rng.int(8, 16);
    const start = at(day, startHour, rng.pick([0, 15, 30, 45]));
    weight += rng.normal(0, 0.8);

    if (cls === 'AMB' || cls === 'VR') {
      // Routine or problem-oriented visit.
      const acute = cls === 'AMB' && i > 0 && rng.chance(0.3) ? rng.pick(['strep', 'sinusitis', 'bronchitis', 'uti', 'ankleSprain']) : null;
      const reasonKey = acute ?? (chronicKeys.length && rng.chance(0.7) ? rng.pick(chronicKeys) : null);
      const type = cls === 'VR' ? 'telehealth' : acute ? 'problem' : i === 0 || rng.chance(0.4) ? 'checkup' : 'followup';
      const enc = c.encounter({
        cls, type, start, end: start + (cls === 'VR' ? 15 : rng.pick([20, 30, 40])) * MIN_MS,
        practitioner: acute && rng.chance(0.5) ? PRAC.np : gp,
        reason: reasonKey ?? undefined,
        omitParticipant: cls === 'VR' && rng.chance(0.15),
      });
      if (i === 0) {
        // First visit establishes the problem list, allergies and chronic meds.
        for (const [k, info] of chronic) {
          const clinical = k === 'depression' && rng.chance(0.3) ? 'remission' : 'active';
          const cond = c.condition({
            key: k, clinical,
            verification: rng.chance(0.1) ? null : (k === 'gerd' && rng.chance(0.4) ? 'provisional' : 'confirmed'),
            onset: at(info.onsetDays), omitOnset: rng.chance(0.1),
            recorded: Math.min(start + 20 * MIN_MS, at(info.onsetDays, 12)),
            recorder: gp, icd: rng.chance(0.7),
          });
          conditionRes.set(k, cond);
        }
        for (const ak of allergyKeys) {
          const roll = rng.float();
          const verification = roll < 0.72 ? 'confirmed' : roll < 0.86 ? 'unconfirmed' : roll < 0.94 ? 'refuted' : 'entered-in-error';
          const def = ALLERGENS[ak];
          const clinical = verification === 'refuted' ? 'inactive' : rng.chance(0.08) ? 'resolved' : 'active';
          if (ak === 'penicillin' && (verification === 'confirmed' || verification === 'unconfirmed') && clinical === 'active') penicillinAllergic = true;
          c.allergy({
            key: ak, clinical, verification,
            criticality: rng.chance(0.15) ? undefined : def.reactions.some((r) => r[0] === '39579001') ? 'high' : rng.pick(['low', 'low', 'high', 'unable-to-assess']),
            severity: rng.chance(0.2) ? undefined : rng.pick(['mild', 'moderate', 'severe']),
            onsetText: rng.chance(0.5) ? rng.pick(['Childhood', 'Adolescence', 'Adulthood']) : undefined,
            recorded: start + 10 * MIN_MS,
            recorder: rng.chance(0.8) ? gp : undefined,
            asserterPatient: rng.chance(0.3),
            reactions: verification !== 'entered-in-error' && rng.chance(0.85),
            note: verification === 'entered-in-error' ? 'Recorded in error.' : verification === 'refuted' ? 'Tolerated the substance since; label removed.' : undefined,
          });
        }
        if (allergyKeys.length === 0 && rng.chance(0.4)) c.noKnownAllergies({ recorded: start + 10 * MIN_MS, recorder: gp });
        for (const [k] of chronic) {
          for (const m of chronicMedsFor(k, rng)) {
            if (meds.some((x) => x.med === m.med)) continue; // e.g. albuterol for asthma and COPD
            // Started after onset, no later than this first visit.
            m.startDays = Math.max(day, chronic.get(k).onsetDays - rng.int(0, 60));
            meds.push(m);
          }
        }
        for (const m of meds) {
          if (!m.replacedBy) continue;
          // The old agent ran from the start until the switch; the new one from then on.
          const current = meds.find((x) => x.med === m.replacedBy);
          m.stopDays = day + Math.floor((m.startDays - day) / 2);
          current.startDays = m.stopDays;
        }
        if (rng.chance(0.3)) {
          const otc = rng.pick(['fishOil', 'vitaminD', 'turmeric', 'omeprazoleOtc']);
          if (!meds.some((x) => x.med === otc)) meds.push({ med: otc, cond: null, otc: true, startDays: day + rng.int(30, 700) });
        }
      }
      if (acute) {
        const d = CONDITIONS[acute];
        const abate = day - d.acute;
        const cond = c.condition({
          key: acute, category: 'encounter-diagnosis', clinical: abate > 0 ? 'resolved' : 'active',
          onset: at(day + rng.int(1, 4)), abatement: abate > 0 ? at(abate) : undefined,
          recorded: start + 15 * MIN_MS, encounter: enc, recorder: enc.participant ? enc.participant[0].individual.reference.slice(13) : undefined,
          icd: rng.chance(0.8),
        });
        acuteTreatment(c, rng, acute, enc, start, cond, penicillinAllergic);
      }
      if (cls === 'AMB') {
        const heightToday = rng.chance(0.2) ? undefined : height;
        c.vitals(enc, start + 5 * MIN_MS, {
          sys: bp0[0] + rng.normal(0, 6), dia: bp0[1] + rng.normal(0, 4), hr: hr0 + rng.normal(0, 5), rr: rng.int(12, 18),
          temp: acute === 'strep' || acute === 'bronchitis' ? rng.normal(38.2, 0.3) : rng.normal(36.7, 0.15),
          spo2: Math.min(100, spo20 + rng.normal(0, 0.6)), weight, height: heightToday,
        });
        if (!acute && rng.chance(0.75)) routineLabs(c, rng, enc, start + 12 * MIN_MS, has, base, age);
      }
      if (!acute) lastRoutine = { enc, start };
    } else {
      // EMER (possibly followed by an admission).
      const admitted = cls === 'IMP' || rng.chance(0.2);
      const acute = rng.pick(age >= 60 ? ['pneumonia', 'pneumonia', 'uti', 'bronchitis'] : ['ankleSprain', 'uti', 'bronchitis', 'pneumonia', 'sinusitis']);
      const edEnd = start + rng.int(3, 7) * HOUR_MS;
      const ed = c.encounter({ cls: 'EMER', type: 'emergency', start, end: edEnd, practitioner: PRAC.ed, reason: acute });
      const d = CONDITIONS[acute];
      const abate = day - d.acute;
      const cond = c.condition({
        key: acute, category: 'encounter-diagnosis', clinical: abate > 0 ? 'resolved' : 'active',
        onset: at(day + rng.int(1, 3)), abatement: abate > 0 ? at(abate) : undefined,
        recorded: start + 40 * MIN_MS, encounter: ed, recorder: PRAC.ed, icd: rng.chance(0.8),
      });
      const sick = acute === 'pneumonia' || acute === 'bronchitis';
      c.vitals(ed, start + 10 * MIN_MS, {
        sys: bp0[0] + rng.normal(4, 8), dia: bp0[1] + rng.normal(2, 5), hr: hr0 + (sick ? rng.normal(22, 6) : rng.normal(8, 5)), rr: sick ? rng.int(20, 28) : rng.int(14, 20),
        temp: sick ? rng.normal(38.6, 0.4) : rng.normal(36.9, 0.2), spo2: sick ? Math.min(100, spo20 - rng.normal(4, 1.5)) : spo20, weight,
      });
      acuteLabs(c, rng, ed, start + 30 * MIN_MS, base, acute, has);
      if (admitted) {
        const los = rng.int(2, 6);
        const imp = c.encounter({ cls: 'IMP', type: 'admission', start: edEnd, end: Math.min(edEnd + los * DAY_MS, at(1, 11)), practitioner: PRAC.hosp, reason: acute, admitSource: ['emd', 'From accident/emergency department'], discharge: rng.chance(0.85) ? ['home', 'Home'] : ['snf', 'Skilled nursing facility'] });
        imp.diagnosis = [{ condition: ref('Condition', cond.id), rank: 1 }];
        c.vitals(imp, edEnd + 10 * HOUR_MS, { sys: bp0[0] + rng.normal(0, 6), dia: bp0[1] + rng.normal(0, 4), hr: hr0 + rng.normal(8, 5), rr: rng.int(16, 22), temp: rng.normal(37.4, 0.3), spo2: Math.min(100, spo20 - rng.normal(1, 1)) });
        const when = edEnd + 12 * HOUR_MS;
        c.labs(imp, when, pick(base, rng, PANELS.bmp, { creatinine: 1.1, bun: 1.2 }));
        if (rng.chance(0.04)) c.lab(imp, when + 12 * HOUR_MS, 'potassium', null, { absent: { code: 'error', text: 'Specimen hemolyzed' } });
        acuteTreatment(c, rng, acute, imp, edEnd + HOUR_MS, cond, penicillinAllergic, 'inpatient');
      } else {
        acuteTreatment(c, rng, acute, ed, edEnd - 20 * MIN_MS, cond, penicillinAllergic);
      }
    }
  }

  // --- chronic medications: statements (+ current orders) -------------------
  const prescriber = lastRoutine; // the first visit is always a routine AMB visit
  for (const m of meds) {
    const def = MEDS[m.med];
    const cond = m.cond ? conditionRes.get(m.cond) : undefined;
    if (m.otc) {
      c.statement({ med: m.med, start: at(m.startDays), asserted: prescriber.start + 5 * MIN_MS, source: 'patient', category: 'patientspecified', omitEffective: rng.chance(0.3) });
      continue;
    }
    if (m.replacedBy) {
      // Historic agent, stopped in favour of the current one.
      c.statement({ med: m.med, status: 'stopped', start: at(m.startDays), end: at(m.stopDays), asserted: prescriber.start + 5 * MIN_MS, sourceId: gp, reason: cond, statusReason: m.why });
      continue;
    }
    const rx = c.request({ med: m.med, authored: prescriber.start + 15 * MIN_MS, encounter: prescriber.enc, requester: gp, reason: cond, refills: def.prn ? 2 : 3 });
    c.statement({ med: m.med, start: at(m.startDays), asserted: prescriber.start + 5 * MIN_MS, sourceId: gp, derivedFrom: rng.chance(0.8) ? rx : undefined, reason: cond });
  }

  return c;
}

function chronicMedsFor(k, rng) {
  const out = [];
  switch (k) {
    case 'htn': {
      const current = rng.pick(['lisinopril10', 'amlodipine5', 'hctz25']);
      out.push({ med: current, cond: k });
      if (rng.chance(0.25) && current !== 'lisinopril10') out.push({ med: 'lisinopril10', cond: k, replacedBy: current, why: rng.pick(['Dry cough (ACE inhibitor)', 'Blood pressure not at goal']) });
      break;
    }
    case 't2dm':
      out.push({ med: 'metforminEr500', cond: k });
      if (rng.chance(0.25)) out.push({ med: 'insulin7030', cond: k });
      break;
    case 'hld': out.push({ med: 'simvastatin20', cond: k }); break;
    case 'asthma': out.push({ med: 'fluticasone', cond: k }, { med: 'albuterol', cond: k }); break;
    case 'copd': out.push({ med: 'albuterol', cond: k }); break;
    case 'hypothyroid': out.push({ med: 'levothyroxine75', cond: k }); break;
    case 'depression': out.push({ med: 'sertraline100', cond: k }); break;
    case 'gerd': out.push({ med: 'omeprazoleOtc', cond: k }); break;
    case 'oaKnee': out.push({ med: rng.pick(['acetaminophen325', 'naproxen220', 'ibuprofen200']), cond: k }); break;
    case 'afib': out.push({ med: 'warfarin5', cond: k }); break;
    case 'hf': out.push({ med: 'furosemide40', cond: k }); break;
    default: break;
  }
  return out;
}

function acuteTreatment(c, rng, acute, enc, when, cond, penicillinAllergic, category = 'outpatient') {
  const requester = enc.participant ? enc.participant[0].individual.reference.slice(13) : undefined;
  let med = null;
  switch (acute) {
    case 'strep': med = penicillinAllergic ? 'azithromycin250' : 'penicillinV250'; break;
    case 'pneumonia': med = 'azithromycin250'; break;
    case 'uti': med = penicillinAllergic ? null : 'amoxicillin250'; break;
    case 'ankleSprain': med = 'ibuprofen200'; break;
    case 'bronchitis': case 'sinusitis': med = rng.chance(0.5) ? 'acetaminophen325' : null; break;
    default: break;
  }
  if (!med) return;
  const done = when < at(14);
  c.request({ med, status: done ? 'completed' : 'active', category, authored: when, encounter: enc, requester, reason: cond });
}

function labBaselines(rng, has, sex, age) {
  const ckd = has.has('ckd3');
  const creat = ckd ? rng.clampedNormal(1.6, 0.2, 1.2, 2.2) : sex === 'female' ? rng.clampedNormal(0.8, 0.12, 0.5, 1.1) : rng.clampedNormal(1.0, 0.14, 0.7, 1.3);
  const hgb = (sex === 'female' ? rng.normal(13.3, 0.8) : rng.normal(14.8, 0.9)) - (has.has('anemia') ? 2.2 : 0);
  return {
    hba1c: has.has('t2dm') ? rng.clampedNormal(7.6, 0.8, 6.3, 11.5) : has.has('prediabetes') ? rng.clampedNormal(6.0, 0.15, 5.7, 6.4) : rng.clampedNormal(5.3, 0.2, 4.6, 5.6),
    glucose: has.has('t2dm') ? rng.normal(158, 25) : has.has('prediabetes') ? rng.normal(108, 6) : rng.normal(89, 7),
    sodium: rng.normal(140, 1.5),
    potassium: rng.normal(ckd ? 4.7 : 4.2, 0.25),
    bun: ckd ? rng.normal(28, 4) : rng.normal(14, 3),
    creatinine: creat,
    egfr: null, // derived from creatinine at each draw
    wbc: rng.normal(7, 1.3),
    hemoglobin: hgb,
    hematocrit: null, // derived from hemoglobin
    platelets: rng.normal(250, 45),
    cholesterol: has.has('hld') ? rng.normal(225, 20) : rng.normal(180, 18),
    ldl: has.has('hld') ? rng.normal(142, 18) : rng.normal(100, 15),
    hdl: rng.normal(sex === 'female' ? 56 : 46, 8),
    triglycerides: has.has('hld') ? rng.normal(190, 40) : rng.normal(115, 25),
    tsh: has.has('hypothyroid') ? rng.clampedNormal(3.6, 2, 0.3, 11) : rng.clampedNormal(1.8, 0.6, 0.5, 3.8),
    bnp: has.has('hf') || has.has('afib') ? rng.clampedNormal(320, 120, 120, 900) : rng.clampedNormal(35, 15, 5, 90),
    uacr: has.has('t2dm') ? rng.clampedNormal(40, 30, 4, 300) : rng.clampedNormal(9, 5, 2, 28),
    _sex: sex,
    _age: age,
  };
}

const LAB_NOISE = { hba1c: 0.25, glucose: 0.12, sodium: 0.012, potassium: 0.05, bun: 0.12, creatinine: 0.06, wbc: 0.1, hemoglobin: 0.03, platelets: 0.08, cholesterol: 0.05, ldl: 0.07, hdl: 0.06, triglycerides: 0.12, tsh: 0.15, bnp: 0.2, uacr: 0.2 };

// Draw the given analytes from the baselines (multipliers adjust for illness).
function pick(base, rng, keys, factors = {}) {
  const out = {};
  let creat = null;
  let hgb = null;
  for (const k of keys) {
    if (k === 'egfr') {
      const cr = creat ?? base.creatinine;
      const f = base._sex === 'female' ? 0.82 : 1;
      out.egfr = Math.max(8, Math.min(120, (95 / cr) * f - (base._age - 40) * 0.35));
      continue;
    }
    if (k === 'hematocrit') {
      out.hematocrit = (hgb ?? base.hemoglobin) * 3 + rng.normal(0, 0.6);
      continue;
    }
    if (k === 'hba1c') {
      out.hba1c = Math.max(4.2, base.hba1c + rng.normal(0, LAB_NOISE.hba1c));
      continue;
    }
    const v = base[k] * (factors[k] ?? 1) * (1 + rng.normal(0, LAB_NOISE[k] ?? 0.05));
    out[k] = Math.max(0.05, v);
    if (k === 'creatinine') creat = round(out[k], 2);
    if (k === 'hemoglobin') hgb = out[k];
  }
  return out;
}

function routineLabs(c, rng, enc, when, has, base, age) {
  const draw = [];
  draw.push(...PANELS.bmp);
  if (rng.chance(0.5) || has.has('anemia')) draw.push(...PANELS.cbc);
  if (has.has('t2dm') || has.has('prediabetes')) draw.push('hba1c');
  if (has.has('hld') || (age >= 40 && rng.chance(0.3))) draw.push(...PANELS.lipid);
  if (has.has('hypothyroid')) draw.push('tsh');
  if (has.has('t2dm') && rng.chance(0.5)) draw.push('uacr');
  const values = pick(base, rng, draw);
  for (const [k, v] of Object.entries(values)) {
    if (rng.chance(0.015)) c.lab(enc, when, k, null, { absent: rng.pick([{ code: 'error', text: 'Specimen hemolyzed' }, { code: 'not-performed', text: 'Insufficient specimen' }]) });
    else c.lab(enc, when, k, v);
  }
}

function acuteLabs(c, rng, enc, when, base, acute, has) {
  if (acute === 'ankleSprain' || acute === 'sinusitis') return;
  const infection = acute === 'pneumonia' || acute === 'uti' || acute === 'bronchitis';
  const keys = [...PANELS.bmp, ...PANELS.cbc];
  if (has.has('hf') || has.has('afib')) keys.push('bnp');
  c.labs(enc, when, pick(base, rng, keys, infection ? { wbc: acute === 'pneumonia' ? 1.9 : 1.45, bun: 1.25, glucose: 1.15 } : {}));
}

// ---------------------------------------------------------------------------
// Public API.

function checkOptions(seed, patients) {
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer from 0 to 4294967295 (got ${seed})`);
  }
  if (!Number.isSafeInteger(patients) || patients < MIN_PATIENTS || patients > MAX_PATIENTS) {
    throw new RangeError(`patients must be an integer from ${MIN_PATIENTS} to ${MAX_PATIENTS} (got ${patients})`);
  }
}

/**
 * Generate the synthetic data set.
 * @param {{ seed?: number, patients?: number }} [options]
 *   seed: PRNG seed (integer 0..2^32-1) for the generated patients.
 *   patients: highest numbered patient (syn-0001 … syn-NNNN, 2..9999). The
 *     three special patients syn-deceased, syn-empty and syn-sparse are
 *     always added on top.
 * @returns {object[]} FHIR R4 resources (plain objects with resourceType and id).
 */
export function generateSyntheticData({ seed = DEFAULT_SEED, patients = DEFAULT_PATIENTS } = {}) {
  checkOptions(seed, patients);
  const out = [buildOrganization(), ...buildPractitioners()];
  const charts = [buildMainPatient(), buildSecondPatient()];
  for (let n = 3; n <= patients; n++) charts.push(buildGeneratedPatient(n, seed));
  charts.push(buildDeceasedPatient(), buildEmptyPatient(), buildSparsePatient());
  for (const chart of charts) out.push(...chart.resources());
  return out;
}

/**
 * Wrap resources in a FHIR transaction Bundle: one PUT per resource.
 * @param {object[]} resources
 * @returns {object} Bundle (type "transaction")
 */
export function toTransactionBundle(resources) {
  if (!Array.isArray(resources)) throw new TypeError('toTransactionBundle expects an array of resources');
  return {
    resourceType: 'Bundle',
    meta: meta(),
    type: 'transaction',
    entry: resources.map((r) => {
      if (!r || typeof r.resourceType !== 'string' || typeof r.id !== 'string') {
        throw new TypeError('every resource needs a resourceType and an id');
      }
      const url = `${r.resourceType}/${r.id}`;
      return { fullUrl: url, resource: r, request: { method: 'PUT', url } };
    }),
  };
}

// ---------------------------------------------------------------------------
// CLI.

const USAGE = `usage: node sandbox/seed/generate.mjs [--seed N] [--patients N] [--out FILE]

Writes a FHIR R4 transaction Bundle of deterministic synthetic patients as
pretty JSON to FILE (or stdout).

  --seed N      PRNG seed for generated patients, 0..4294967295 (default ${DEFAULT_SEED})
  --patients N  numbered patients syn-0001..syn-NNNN, ${MIN_PATIENTS}..${MAX_PATIENTS} (default ${DEFAULT_PATIENTS});
                syn-deceased, syn-empty and syn-sparse are always included
  --out FILE    write to FILE instead of stdout
  -h, --help    show this help
`;

class UsageError extends Error {}

function parseIntArg(name, value, min, max) {
  if (value === undefined || value === '') throw new UsageError(`${name} needs a value`);
  if (!/^\d+$/.test(value)) throw new UsageError(`${name} must be a non-negative integer, got "${value}"`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`${name} must be from ${min} to ${max}, got ${value}`);
  return n;
}

export function parseArgs(argv) {
  const opts = { seed: DEFAULT_SEED, patients: DEFAULT_PATIENTS, out: null, help: false };
  const seen = new Set();
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let value;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) { value = arg.slice(eq + 1); arg = arg.slice(0, eq); }
    if (arg === '-h' || arg === '--help') { opts.help = true; continue; }
    if (arg !== '--seed' && arg !== '--patients' && arg !== '--out') throw new UsageError(`unknown argument "${argv[i]}"`);
    if (seen.has(arg)) throw new UsageError(`${arg} given more than once`);
    seen.add(arg);
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      i++;
    }
    if (arg === '--seed') opts.seed = parseIntArg('--seed', value, 0, 0xffffffff);
    else if (arg === '--patients') opts.patients = parseIntArg('--patients', value, MIN_PATIENTS, MAX_PATIENTS);
    else {
      if (value === '') throw new UsageError('--out needs a file name');
      opts.out = value;
    }
  }
  return opts;
}

function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`generate.mjs: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (opts.help) { process.stdout.write(USAGE); return 0; }
  const bundle = toTransactionBundle(generateSyntheticData({ seed: opts.seed, patients: opts.patients }));
  const json = JSON.stringify(bundle, null, 2) + '\n';
  if (opts.out) {
    try {
      writeFileSync(opts.out, json);
    } catch (err) {
      process.stderr.write(`generate.mjs: cannot write ${opts.out}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`generate.mjs: wrote ${bundle.entry.length} resources to ${opts.out}\n`);
  } else {
    process.stdout.write(json);
  }
  return 0;
}

function invokedDirectly() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  process.exitCode = main(process.argv.slice(2));
}
